"""Instructions, cache misses and branch mispredictions per projection of the kernel (issue 13).

What bounds the kernel's speed, measured where this virtual machine gives no
hardware counters (``perf stat`` reports cycles and instructions as "not
supported"): valgrind's callgrind executes the kernel on a simulated CPU and
counts every instruction it retires, every data read and write, the first-level
and last-level cache misses of a cache like this machine's, and the
conditional branches and their mispredictions. The counts are exact for the
code run (not sampled) and do not depend on the load of the machine.

Each version (this checkout, and ``--baseline REV``, the revision before
issue 13 by default, extracted with ``git archive``) runs in a fresh child
under ``valgrind --tool=callgrind --instr-atstart=no``: instrumentation is
switched on (``callgrind_control -i on``) only around one ``run_kernel`` call,
after the kernel has been loaded and run once, on one numba thread (each
version's numba cache is filled natively first). The call
projects scenario B extended to ten years with ``theta`` of shape (draws, 0),
as ``bench_kernel.py``'s table 1 does. Two calls of different sizes are
counted and their difference is divided by the difference in draws, so what
does not grow with the draws (the Python around the call) cancels out.

Then the same children, without valgrind, time the call on one thread
(``time.thread_time``, best of 5 calls of 50,000 draws, median of alternating
rounds), which turns the counts into instructions retired per nanosecond and,
at the clock ``/proc/cpuinfo`` reports, instructions per cycle.

Usage (from the repository root; needs valgrind, ``apt-get install valgrind``)::

    python benchmarks/count_kernel.py                 # ~10 min: counts, then 3 timing rounds
    python benchmarks/count_kernel.py --rounds 5      # more timing rounds
    python benchmarks/count_kernel.py --baseline REV  # another revision to compare with
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import _machine
from bench_kernel import BASELINE, CHILD, HORIZON, ROOT, SCENARIO, child

#: draws of the two counted calls (their difference is what is counted)
SMALL, LARGE = 400, 4400

COUNTED = """
import sys
import numpy as np
from schemerisk.model.kernel import run_kernel
from schemerisk.model.layout import compile_inputs
from schemerisk.scenario import load_scenario
inputs = compile_inputs(load_scenario({scenario!r}).with_horizon({horizon}))
theta = np.zeros(({draws}, 0))
out = run_kernel(inputs, theta)  # load the kernel, touch the output's pages
run_kernel(inputs, theta, out=out)
print("ready", flush=True)
sys.stdin.readline()
run_kernel(inputs, theta, out=out)  # the counted call
print("done", flush=True)
sys.stdin.readline()
# where each compiled function the names file lists was loaded (for the per-function table)
import json, re
from numba.core.registry import cpu_target
engine = cpu_target.target_context.codegen()._engine._ee
found = {{}}
for name in open({names!r}).read().split():
    address = engine.get_function_address(name)
    short = re.match(r"_ZN10schemerisk(?:5model6kernel|9equations)\\d+(\\w+?)B\\d", name)
    if address and short:
        found[hex(address)] = short.group(1)
print(json.dumps(found), flush=True)
"""

#: callgrind's events, in the order it lists them, and what each is
EVENTS = {
    "Ir": "instructions retired",
    "Dr": "data reads",
    "Dw": "data writes",
    "D1mr": "first-level data cache read misses",
    "D1mw": "first-level data cache write misses",
    "DLmr": "last-level cache read misses",
    "DLmw": "last-level cache write misses",
    "Bc": "conditional branches",
    "Bcm": "conditional branches mispredicted",
}


def compiled_names(src: Path, into: Path) -> Path:
    """A file of the symbols defined in the numba cache files of ``src`` (by ``nm``)."""
    import pickle

    names: set[str] = set()
    obj = into / "object.o"
    for cache in sorted(src.glob("schemerisk/**/__pycache__/*.nbc")):
        try:
            library = pickle.loads(cache.read_bytes())[0]  # (name, kind, payload)
        except Exception:  # a cache file another numba wrote: not listed
            continue
        if library[1] != "object":
            continue
        obj.write_bytes(library[2][0])
        listing = subprocess.run(
            ["nm", "--defined-only", str(obj)], capture_output=True, text=True, check=False
        ).stdout
        for line in listing.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "Tt" and parts[2].startswith("_ZN10schemerisk"):
                names.add(parts[2])
    path = into / "names.txt"
    path.write_text("\n".join(sorted(names)))
    return path


def by_function(out: Path, where: dict[str, str]) -> dict[str, int]:
    """Instructions of each compiled function in a callgrind output file, named where known."""
    listing = subprocess.run(
        ["callgrind_annotate", "--inclusive=no", "--threshold=100", str(out)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    named = {int(a, 16): n for a, n in where.items()}
    costs: dict[str, int] = {}
    for line in listing.splitlines():
        found = re.match(r"\s*([\d,]+) .*?(0x[0-9a-f]+)", line)
        if found:
            address = int(found.group(2), 16)
            name = named.get(address, f"(compiled code at {found.group(2)})")
            costs[name] = costs.get(name, 0) + int(found.group(1).replace(",", ""))
    return costs


def counted(src: Path, draws: int, scratch: Path, names: Path) -> dict[str, Any]:
    """Callgrind's event counts for one ``run_kernel`` call of ``draws`` draws with ``src``.

    Also ``"functions"``: the instructions of each compiled function in the call.
    """
    log = scratch / f"callgrind-{draws}.log"
    out = scratch / f"callgrind-{draws}.out"
    code = COUNTED.format(scenario=SCENARIO, horizon=HORIZON, draws=draws, names=str(names))
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--cache-sim=yes",
        "--branch-sim=yes",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-c",
        code,
    ]
    env = _machine.child_env(src, NUMBA_NUM_THREADS="1")
    with log.open("w") as err:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env, text=True
        )
        assert proc.stdin is not None and proc.stdout is not None
        for line, switch in (("ready", "on"), ("done", "off")):
            got = proc.stdout.readline().strip()
            if got != line:
                proc.kill()
                raise RuntimeError(f"the counted child said {got!r}; see {log}")
            subprocess.run(
                ["callgrind_control", "-i", switch, str(proc.pid)], check=True, capture_output=True
            )
            proc.stdin.write("\n")
            proc.stdin.flush()
        where = json.loads(proc.stdout.readline())
        proc.wait()
    events: list[str] = []
    values: list[int] = []
    for text in log.read_text().splitlines():
        if "Events    :" in text:
            events = text.split(":", 1)[1].split()
        if "Collected :" in text:
            values = [int(x) for x in text.split(":", 1)[1].split()]
    if not events or len(events) != len(values):
        raise RuntimeError(f"no event counts in {log}:\n{log.read_text()[-2000:]}")
    counts: dict[str, Any] = dict(zip(events, values, strict=True))
    counts["functions"] = by_function(out, where)
    return counts


def per_projection(src: Path, scratch: Path) -> dict[str, Any]:
    """Each event per projection: (counts of LARGE draws - counts of SMALL) / (LARGE - SMALL).

    ``"functions"``: each compiled function's instructions per projection in
    the LARGE call (what does not grow with the draws is under 1 % of it).
    """
    names = compiled_names(src, scratch)
    small, large = counted(src, SMALL, scratch, names), counted(src, LARGE, scratch, names)
    per: dict[str, Any] = {k: (large[k] - small[k]) / (LARGE - SMALL) for k in EVENTS if k in large}
    per["functions"] = {n: c / LARGE for n, c in large["functions"].items()}
    return per


def clock_ghz() -> float | None:
    """The clock /proc/cpuinfo reports for the first CPU, in GHz (a VM's may be nominal)."""
    mhz = _machine.cpuinfo("cpu mhz")
    try:
        return float(mhz) / 1000 if mhz else None
    except ValueError:
        return None


def main(argv: list[str] | None = None) -> int:
    """Count, time and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default=BASELINE, help="revision to compare with (git archive)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating timing rounds (median)")
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("error: valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    m = _machine.machine()
    m["threading_layer"] = "none: one thread counted and timed"
    with tempfile.TemporaryDirectory(prefix="count_kernel_") as tmp:
        tmp_path = Path(tmp)
        versions = {
            "baseline": _machine.extract_revision(args.baseline, tmp_path / "baseline") / "src",
            "this": ROOT / "src",
        }
        warm = CHILD.format(draws=1000, repeats=1, scenario=SCENARIO, horizon=HORIZON)
        counts = {}
        for name, src in versions.items():
            child(src, warm)  # compile (or load) natively: numba would compile under valgrind
            print(f"  counting {name} (a few minutes under valgrind)", file=sys.stderr)
            counts[name] = per_projection(src, tmp_path)
        timing = CHILD.format(draws=50_000, repeats=5, scenario=SCENARIO, horizon=HORIZON)
        cpu_us: dict[str, list[float]] = {name: [] for name in versions}
        for r in range(args.rounds):
            order = list(versions) if r % 2 == 0 else list(versions)[::-1]
            for name in order:
                cpu_us[name].append(child(versions[name], timing)["cpu_us"])
                print(f"  round {r + 1} {name}: {cpu_us[name][-1]:.3f} us", file=sys.stderr)
    m["load_end"] = _machine.load_average()
    ghz = clock_ghz()
    print("\n".join(_machine.machine_lines(m)))
    print(f"  clock            {ghz} GHz (/proc/cpuinfo)")
    print(
        f"\nPer projection: scenario B at horizon {HORIZON}, theta (draws, 0), one thread; "
        f"callgrind counts ({LARGE:,} - {SMALL:,} draws), this checkout against {args.baseline}"
    )
    print(f"  {'event':<44}{'baseline':>12}{'this':>12}{'ratio':>9}")
    for key, label in EVENTS.items():
        if key in counts["this"]:
            b, t = round(counts["baseline"][key]), round(counts["this"][key])
            ratio = f"{b / t:.2f}x" if t else "-"
            print(f"  {label + ' (' + key + ')':<44}{b:>12,}{t:>12,}{ratio:>9}")
    med = {name: statistics.median(v) for name, v in cpu_us.items()}
    print(
        f"  {'CPU microseconds (1 thread, median of ' + str(args.rounds) + ')':<44}"
        f"{med['baseline']:>12.3f}{med['this']:>12.3f}{med['baseline'] / med['this']:>8.2f}x"
    )
    ipns = {name: counts[name]["Ir"] / (1000 * med[name]) for name in versions}
    print(
        f"  {'instructions per nanosecond':<44}{ipns['baseline']:>12.2f}{ipns['this']:>12.2f}"
        f"{ipns['this'] / ipns['baseline']:>8.2f}x"
    )
    if ghz:
        print(
            f"  {'instructions per cycle at ' + f'{ghz:.2f} GHz':<44}"
            f"{ipns['baseline'] / ghz:>12.2f}{ipns['this'] / ghz:>12.2f}"
        )
    for name in versions:
        funcs = sorted(counts[name]["functions"].items(), key=lambda x: -x[1])
        print(f"\n  {name}: instructions per projection in each compiled function (the largest)")
        for fn, ir in funcs[:10]:
            print(f"    {fn:<52}{ir:>10,.0f}")
        rest = counts[name]["Ir"] - sum(ir for _, ir in funcs)
        print(f"    {'all other code (numba runtime, libm, Python)':<52}{max(rest, 0):>10,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
