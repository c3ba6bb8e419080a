"""Mapping design rows to drawn inputs, and the deficit-risk tables: compiled against NumPy.

Two measures on Hai Phong 1993-1997's distributions (47 columns: two AR(1) paths in a
copula block, a per-year exchange rate and 13 PERT inputs, the last two with table-based
inverse CDFs), each the median of alternating rounds, with the machine and its load
average:

1. ``to_values`` (the compiled map) against ``to_values_numpy`` (the map as first
   written, NumPy and SciPy on whole columns) on the same rows: one thread, and two
   (the NumPy map on half the rows in each of two threads, where its loops meet on
   the GIL; the compiled map with ``threads=2``, as ``run_design`` calls it); the two
   must give the same values bit for bit, which the script checks;
2. ``deficit_risk`` (compiled passes) against the xarray definition it replaced
   (the reference of ``tests/analysis/test_risk_numpy_path.py``), on one cube of the
   risk outputs; the tables must be equal bit for bit, which the script checks.

Usage::

    python benchmarks/bench_sampling.py              # 65,536 rows, 10^6 draws for the tables
    python benchmarks/bench_sampling.py --quick      # 8,192 rows, 10^5 draws
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests: the xarray reference
sys.path.insert(0, str(Path(__file__).resolve().parent))  # _machine

import numpy as np
from tests.analysis.test_risk_numpy_path import _xarray_tables

from _machine import load_average, machine, machine_lines, median_seconds
from schemerisk.analysis.risk import RISK_OUTPUTS, _plain_tables
from schemerisk.uncertainty.montecarlo import bind_space, run_design
from schemerisk.uncertainty.sampling import to_values, to_values_numpy, unit_design

NAME = "hai_phong_1993_1997"


def _shared(mapper: Callable[..., np.ndarray], space, rows: np.ndarray, threads: int) -> None:  # type: ignore[no-untyped-def]
    """The rows split between ``threads`` Python threads, each mapping its share."""
    cuts = np.linspace(0, rows.shape[0], threads + 1).astype(int)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda i: mapper(space, rows[cuts[i] : cuts[i + 1]]), range(threads)))


def sampling(n: int, rounds: int) -> None:
    """Print the map's timings, one and two threads, both versions."""
    space = bind_space(NAME, NAME, horizon=10)
    rows = unit_design(space, n, 0).rows(0, n)
    fast, reference = to_values(space, rows), to_values_numpy(space, rows)  # warm, and checked
    same = np.array_equal(fast.view(np.int64), reference.view(np.int64))
    print(f"\n1. Mapping {n:,} design rows of {space.n_columns} columns to drawn inputs")
    print(f"   (the same values bit for bit: {'yes' if same else 'NO'})")
    print(f"  {'version':40}{'1 thread s':>12}{'2 threads s':>13}{'us/row (1)':>12}")
    for label, one_thread, two_threads in (
        (
            "to_values_numpy (NumPy, SciPy ufuncs)",
            lambda: to_values_numpy(space, rows),
            lambda: _shared(to_values_numpy, space, rows, 2),  # half the rows each
        ),
        (
            "to_values (compiled, no GIL)",
            lambda: to_values(space, rows),
            lambda: to_values(space, rows, 2),  # its compiled steps shared, as run_design does
        ),
    ):
        one = median_seconds(one_thread, rounds)
        two = median_seconds(two_threads, rounds)
        print(f"  {label:40}{one:12.3f}{two:13.3f}{1e6 * one / n:12.2f}")


def tables(n: int, rounds: int) -> None:
    """Print the risk tables' timings, both versions, on one cube."""
    space = bind_space(NAME, NAME, horizon=10)
    cube = run_design(
        space, unit_design(space, n, 0), keep=RISK_OUTPUTS, progress=False, inputs=False
    )
    cube = cube[list(RISK_OUTPUTS)]
    args = (0.05, "all-premiums", 0.95, 0.95)
    fast, reference = _plain_tables(cube, *args), _xarray_tables(cube, *args)
    assert fast is not None
    same = all(
        np.array_equal(fast[0][v].values, reference[0][v].values, equal_nan=True)
        for v in reference[0].data_vars
    )
    years = cube.sizes["year"]
    print(f"\n2. The deficit-risk tables of {n:,} draws x {years} years")
    print(f"   (the same tables bit for bit: {'yes' if same else 'NO'})")
    print(f"  {'version':40}{'seconds':>12}")
    for label, run in (
        ("xarray definition (the test's reference)", lambda: _xarray_tables(cube, *args)),
        ("deficit_risk's compiled passes", lambda: _plain_tables(cube, *args)),
    ):
        print(f"  {label:40}{median_seconds(run, rounds):12.3f}")


def main() -> None:
    """Run both measures and print them with the machine and its load."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=65_536, help="design rows mapped (65536)")
    ap.add_argument("--draws", type=int, default=1_000_000, help="draws of the tables (10^6)")
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds, median (5)")
    ap.add_argument("--quick", action="store_true", help="8,192 rows, 10^5 draws, 2 rounds")
    args = ap.parse_args()
    rows, draws, rounds = (
        (8_192, 100_000, 2) if args.quick else (args.rows, args.draws, args.rounds)
    )
    m = machine()
    sampling(rows, rounds)
    tables(draws, rounds)
    m["load_end"] = load_average()
    print()
    print("\n".join(machine_lines(m)))


if __name__ == "__main__":
    main()
