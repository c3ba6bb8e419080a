"""What bounds ``risk -n 10^6 --horizon 10`` (issue 13's target: 3 s), measured stage by stage.

The command's work splits into stages that run on one core (start-up and
imports, loading the scenario and binding its distributions, the tables) and
the run itself, whose parts share the cores: drawing the inputs
(``to_values``), projecting them (``run_kernel``) and touching the output's
memory for the first time. Whatever the overlap, a run cannot take less wall
time than its CPU seconds divided by the cores, so::

    least wall time = one-core stages + the run's CPU seconds / cores

This script measures every term in fresh child processes (median over
``--rounds``) and prints the bound beside the command's own wall time, and
what it would be if the kernel took no time at all.

* **start-up**: ``python -c pass`` (the interpreter alone, ``time.perf_counter``
  around the child).
* **stages**: one child does what ``schemerisk risk`` does, in its order,
  timing each stage with ``time.perf_counter`` and the process's user + system
  CPU seconds (``resource.getrusage``, all threads): the imports, the scenario
  and distributions with the screening projection (numba imported and the
  kernel loaded from its cache here), the run (``run_design`` as the command
  calls it), the tables (``deficit_risk`` and ``format_risk``).
* **the run's parts**: then, in the same child, the run's parts apart, chunk
  by chunk as the run does them: ``to_values`` on every numba thread, and
  ``run_kernel`` into an output already touched. What the run's CPU seconds
  hold beyond these two is mostly the first touch of its output: on this
  virtual machine, memory touched for the first time costs system time (the
  host backs guest memory lazily), more or less from one run to the next.
* **command**: ``schemerisk risk ... -n 10^6 --horizon 10 --no-progress`` under
  ``/usr/bin/time``.

Usage (from the repository root)::

    python benchmarks/bound_risk.py               # 3 rounds, about 2 min
    python benchmarks/bound_risk.py --rounds 5
    python benchmarks/bound_risk.py --draws 100000 --rounds 1   # smoke
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _machine
from bench_commands import run_once

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIO = "hai_phong_1993_1997"
HORIZON = 10
TARGET_S = 3.0

#: one child: the command's stages in its order, then the run's parts apart
STAGES = """
import json, resource, time

def now():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), ru.ru_utime + ru.ru_stime, ru.ru_stime

marks = [("start", now())]
def mark(name):
    marks.append((name, now()))

from schemerisk import cli
from schemerisk.analysis.risk import RISK_OUTPUTS, deficit_risk, format_risk
from schemerisk.uncertainty.montecarlo import DEFAULT_CHUNK, kept_positions, run_design
from schemerisk.uncertainty.sampling import to_values, unit_design
mark("imports")
sc, space = cli._bound_space({scenario!r}, {scenario!r}, {horizon}, "real")
design = unit_design(space, {draws}, 0, "mc")
mark("scenario, distributions, screening")
cube = run_design(space, design, keep=RISK_OUTPUTS, progress=False, memoranda=False,
                  inputs=False)
mark("run")
names = [v for v in RISK_OUTPUTS if v in cube]
report = deficit_risk(cube[names].load(), level=0.05, adjust="all-premiums")
text = format_risk(report)
mark("tables")

import numba
import numpy as np
from schemerisk.model.kernel import run_kernel

threads = numba.get_num_threads()
positions, _ = kept_positions(space.inputs, list(RISK_OUTPUTS))
out = np.empty(({draws}, positions.size))
out.fill(0.0)  # touched here: the kernel's figure below leaves the first touch out
parts = {{"sampling": [0.0, 0.0], "kernel": [0.0, 0.0]}}
for start in range(0, {draws}, DEFAULT_CHUNK):
    stop = min(start + DEFAULT_CHUNK, {draws})
    a = now()
    theta = to_values(space, design.rows(start, stop), threads)
    b = now()
    run_kernel(space.inputs, theta, space.modifications, out=out[start:stop], keep=positions)
    c = now()
    for key, (x, y) in (("sampling", (a, b)), ("kernel", (b, c))):
        parts[key][0] += y[0] - x[0]
        parts[key][1] += y[1] - x[1]
stages = {{}}
for (_, before), (name, after) in zip(marks, marks[1:]):
    stages[name] = [after[0] - before[0], after[1] - before[1], after[2] - before[2]]
print(json.dumps({{"stages": stages, "parts": parts, "threads": threads,
                  "kept": int(positions.size), "p_deficit_last": float(report.table.p_deficit[-1])}}))
"""


def _python(code: str) -> dict[str, Any]:
    env = _machine.child_env(ROOT / "src")
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if res.returncode != 0:
        raise SystemExit(f"a child failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _started() -> dict[str, float]:
    """Wall seconds of ``python -c pass``: the interpreter's own start-up and exit."""
    env = _machine.child_env(ROOT / "src")
    begin = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=env, cwd=ROOT, check=True)
    return {"wall": time.perf_counter() - begin}


def main(argv: list[str] | None = None) -> int:
    """Measure each term of the bound and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds (median taken)")
    ap.add_argument("--draws", type=int, default=1_000_000, help="projections (-n)")
    ap.add_argument("--json", type=Path, help="write every round's figures here")
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.draws < 1:
        ap.error("--rounds and --draws must be at least 1")
    m = _machine.machine()
    command = [
        *("risk", SCENARIO, SCENARIO, "-n", str(args.draws), "--horizon", str(HORIZON)),
        "--no-progress",
    ]
    stages_code = STAGES.format(scenario=SCENARIO, horizon=HORIZON, draws=args.draws)
    _python(stages_code)  # warm numba's cache and the bytecode
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bound_risk_") as tmp:
        scratch = Path(tmp)
        for r in range(args.rounds):
            staged = _python(stages_code)
            start = _started()
            cmd = run_once(ROOT, command, {}, scratch)  # as bench_commands.py times it
            if cmd.pop("returncode") != 0:
                raise SystemExit(f"schemerisk {' '.join(command)} failed: {cmd['stderr_tail']}")
            cmd.pop("stdout")
            rounds.append({"stages": staged, "start": start, "command": cmd})
            print(
                f"  round {r + 1}: command {cmd['wall_s']:.2f} s wall, "
                f"load {_machine.load_average()}",
                file=sys.stderr,
            )
    m["load_end"] = _machine.load_average()
    cores = min(os.cpu_count() or 1, rounds[0]["stages"]["threads"])

    def med(get: Any) -> float:
        return statistics.median(get(r) for r in rounds)

    one_core = [("interpreter start-up", med(lambda r: r["start"]["wall"]))]
    for name in rounds[0]["stages"]["stages"]:
        if name != "run":
            one_core.append((name, med(lambda r, n=name: r["stages"]["stages"][n][0])))
    run_wall = med(lambda r: r["stages"]["stages"]["run"][0])
    run_cpu = med(lambda r: r["stages"]["stages"]["run"][1])
    sampling = med(lambda r: r["stages"]["parts"]["sampling"][1])
    kernel_cpu = med(lambda r: r["stages"]["parts"]["kernel"][1])
    shared = [
        ("drawing the inputs (to_values)", sampling),
        ("projecting them (run_kernel)", kernel_cpu),
        ("the rest: first touch of the output, hand-over", run_cpu - sampling - kernel_cpu),
    ]
    serial = sum(s for _, s in one_core)
    bound = serial + run_cpu / cores
    bound_free = serial + (run_cpu - kernel_cpu) / cores

    print("\n".join(_machine.machine_lines(m)))
    print(
        f"\nrisk {SCENARIO} {SCENARIO} -n {args.draws:,} --horizon {HORIZON}: medians of "
        f"{args.rounds} rounds, fresh processes; {rounds[0]['stages']['kept']} output columns "
        f"kept ({args.draws * rounds[0]['stages']['kept'] * 8 / 2**20:,.0f} MB)"
    )
    print(f"\n  {'on one core':<50}{'wall s':>8}")
    for name, s in one_core:
        print(f"  {name:<50}{s:>8.2f}")
    print(f"  {'sum':<50}{serial:>8.2f}")
    print(f"\n  {'shared by the cores: the run':<50}{'CPU s':>8}")
    for name, c in shared:
        print(f"  {name:<50}{c:>8.2f}")
    print(f"  {'the run (its wall time: ' + format(run_wall, '.2f') + ' s)':<50}{run_cpu:>8.2f}")
    print(f"\n  {'least wall time: one core + shared / ' + str(cores):<50}{bound:>8.2f}")
    print(f"  {'the same, the kernel taking no time at all':<50}{bound_free:>8.2f}")
    print(f"  {'the command (/usr/bin/time)':<50}{med(lambda r: r['command']['wall_s']):>8.2f}")
    print(f"  {'target':<50}{TARGET_S:>8.2f}")
    print(
        f"\n  the one-core stages alone leave {TARGET_S - serial:.2f} s for the run, which "
        f"needs at least {run_cpu / cores:.2f} s ({run_cpu:.2f} CPU s on {cores} cores)"
    )
    if args.json:
        args.json.write_text(json.dumps({"machine": m, "rounds": rounds}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
