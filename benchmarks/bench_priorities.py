"""Timings of ``schemerisk priorities`` and ``schemerisk report`` (issues 10 and 13).

Run from the repository root::

    python benchmarks/bench_priorities.py                     # this tree, 3 runs of each command
    python benchmarks/bench_priorities.py --before ad28bd2    # and main before the faster EVPPI
    python benchmarks/bench_priorities.py --quick             # one run, N = 128 (smoke test)

Each command runs as the user runs it (``python -m schemerisk.cli ...`` in a
fresh process, defaults, built-in Hai Phong 1993-1997 pair), after one warm-up
run that fills numba's cache, and the table gives the median wall time of the
runs, the CPU time of the process (user + system) and the load average before
and after: other work on the machine slows every figure. ``--before REV``
extracts ``REV`` with ``git archive`` into a temporary folder and times it the
same way, side by side. Then the value of information alone, in this process,
on the 4,096 Saltelli base rows ``report`` gives it, with one thread and with
one per core. Timings are measured here, never asserted in the tests.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _machine

NAME = "hai_phong_1993_1997"
ROOT = Path(__file__).resolve().parents[1]
#: quiet-machine figures of main ad28bd2 (2026-11-30, load below 1.3, warm numba cache)
QUIET_BEFORE = {"report": 35.5}


def _commands(out: Path, quick: bool) -> dict[str, list[str]]:
    small = ["-N", "128", "--max-base-samples", "128"] if quick else []
    return {
        "priorities": ["priorities", NAME, NAME, "--json", "--no-progress", *small],
        "report": ["report", NAME, NAME, "-o", str(out / "r.html"), "--overwrite", "--no-progress"]
        + (["-n", "2000", *small] if quick else []),
    }


def _run(src: Path, args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one ``python -m schemerisk.cli`` run on the package in ``src``."""
    env = _machine.child_env(src)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "schemerisk.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 3):  # 3: finished with a warning about the results
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _time_tree(label: str, src: Path, repeat: int, quick: bool) -> list[tuple[str, ...]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in _commands(Path(tmp), quick).items():
            _run(src, args)  # warm-up: numba's cache
            load0 = _machine.load_average()
            runs = [_run(src, args) for _ in range(repeat)]
            load1 = _machine.load_average()
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            rows.append((label, name, f"{wall:.1f}", f"{cpu:.1f}", f"{load0} -> {load1}"))
    return rows


def _voi_alone() -> list[tuple[str, float, float]]:
    """The value of information alone on the report's base rows, one thread and one per core."""
    from schemerisk.analysis.priorities import VOI_DRAWS
    from schemerisk.analysis.study import sobol_until_precise
    from schemerisk.analysis.voi import value_of_information
    from schemerisk.model import compile_inputs
    from schemerisk.scenario import load_scenario
    from schemerisk.uncertainty.space import load_space

    sc = load_scenario(NAME)
    space = load_space(NAME, sc, compile_inputs(sc))
    sobol, _, _ = sobol_until_precise(space, 1, progress=False)
    base = sobol.cube.isel(draw=sobol.base_rows()[:VOI_DRAWS])
    out = []
    for threads in (1, os.cpu_count() or 1):
        value_of_information(base, space.groups(), seed=1, bootstrap=0, threads=threads)  # warm
        t0, c0 = time.perf_counter(), time.process_time()
        value_of_information(base, space.groups(), seed=1, threads=threads)
        out.append((f"{threads} thread(s)", time.perf_counter() - t0, time.process_time() - c0))
    return out


def main() -> None:
    """Time the commands (and the tree ``--before``), then the value of information alone."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each command (median)")
    ap.add_argument("--before", metavar="REV", help="also time this git revision (e.g. ad28bd2)")
    ap.add_argument("--quick", action="store_true", help="one run, N = 128, 2,000 draws")
    args = ap.parse_args()
    repeat = 1 if args.quick else args.repeat
    machine = _machine.machine()
    rows = _time_tree("this tree", ROOT / "src", repeat, args.quick)
    if args.before:
        with tempfile.TemporaryDirectory() as tmp:
            _machine.extract_revision(args.before, Path(tmp))
            rows += _time_tree(args.before, Path(tmp) / "src", repeat, args.quick)
    print(f"\n{'tree':<12}{'command':<12}{'wall s':>8}{'CPU s':>8}  load average (1 min)")
    for tree, name, wall, cpu, load in rows:
        print(f"{tree:<12}{name:<12}{wall:>8}{cpu:>8}  {load}")
    if not args.before:
        print(f"main ad28bd2 on a quiet machine (quoted): report {QUIET_BEFORE['report']} s wall")
    if not args.quick:
        print("\nvalue of information alone (report's 4,096 base rows, 10 bootstrap refits):")
        for label, wall, cpu in _voi_alone():
            print(f"  {label:<14}{wall:>7.1f} s wall {cpu:>7.1f} s CPU of this process")
    machine["load_end"] = _machine.load_average()
    print("\n" + "\n".join(_machine.machine_lines(machine)))


if __name__ == "__main__":
    main()
