"""Timings of ``schemerisk priorities`` and ``schemerisk report`` (issue 10).

Run from the repository root::

    python benchmarks/bench_priorities.py           # N from 1024 (doubling to at most 8192)
    python benchmarks/bench_priorities.py --quick   # N = 128, no doubling (smoke test)

Both commands go through one code path
(:func:`schemerisk.analysis.study.priority_study`): the Saltelli design grows by
doubling N until the quoted Sobol' indices are precise, then the value of
information (regression EVPPI with bootstrap standard errors) and the
protection figures. Each case is timed once, after a warm-up that compiles the
kernel; the table gives the wall time, the N reached and the projections run.
The load average is printed before and after: other work slows every figure.
Timings are measured here, never asserted in the tests.
"""

from __future__ import annotations

import argparse
import time

import _machine
from schemerisk.analysis.study import priority_study, run_study
from schemerisk.model import compile_inputs
from schemerisk.scenario import load_scenario
from schemerisk.uncertainty.montecarlo import simulate
from schemerisk.uncertainty.space import load_space

NAME = "hai_phong_1993_1997"


def main() -> None:
    """Time the priorities and the report, and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 128, no doubling")
    args = ap.parse_args()
    n_start, n_max = (128, 128) if args.quick else (1024, 8192)
    print("\n".join(_machine.machine_lines(_machine.machine())))
    sc = load_scenario(NAME)
    space = load_space(NAME, sc, compile_inputs(sc))
    simulate(sc, space, 100, progress=False)  # compile the kernel
    rows = []
    t0 = time.perf_counter()
    ps = priority_study(space, 1, n_start=n_start, n_max=n_max, progress=False)
    rows.append(
        ("priorities", time.perf_counter() - t0, ps.sobol.n_base, ps.sobol.cube.sizes["draw"])
    )
    t0 = time.perf_counter()
    study = run_study(
        sc, space, n=20_000, n_sobol=n_start, n_sobol_max=n_max, seed=0, progress=False
    )
    rows.append(
        (
            "report (study)",
            time.perf_counter() - t0,
            study.sobol.n_base,
            study.sobol.cube.sizes["draw"] + 20_000,
        )
    )
    print(f"\n{'command':<18}{'seconds':>10}{'N reached':>12}{'projections':>14}")
    for name, sec, n, runs in rows:
        print(f"{name:<18}{sec:>10.1f}{n:>12,}{runs:>14,}")
    print(f"\nload average at the end: {_machine.load_average()}")


if __name__ == "__main__":
    main()
