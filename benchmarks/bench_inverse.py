"""The table-based inverse CDFs against SciPy's numerical inverse, on Hai Phong's distributions.

For each bounded distribution of ``distributions/hai_phong_1993_1997.yaml`` with a
numerical inverse (13 PERT inputs and the truncated-normal real depreciation), side
by side on the same probabilities:

* **build**: ``uncertainty/_inverse.py``'s table (checked piece by piece as it is
  built) against SciPy's ``NumericalInverseHermite`` with ``u_resolution = 1e-12``
  followed by the check schemerisk runs on it, ``|F(x) - u|`` on a grid of 65,550
  probabilities (``families.scipy_inverse``, the inverse of the shapes no table
  covers); milliseconds, the median of ``--rounds`` builds;
* **evaluate**: nanoseconds a value on 10^6 random probabilities, one thread: the
  table compiled (``_unitmap.table_value_at`` in a numba loop, as the compiled map
  calls it), the table in NumPy (``InverseTable.ppf``) and SciPy's ``ppf``;
* **error**: the largest ``|F(x(u)) - u|`` of each on those probabilities, with
  SciPy's exact beta and truncated-normal CDFs (the bound the draws promise:
  ``families.INVERSION_U_ERROR`` = 1e-10).

Usage (from the repository root)::

    python benchmarks/bench_inverse.py              # 5 rounds
    python benchmarks/bench_inverse.py --rounds 1   # smoke
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from numba import njit

from _machine import load_average, machine, machine_lines, median_seconds
from schemerisk.uncertainty import _inverse, families
from schemerisk.uncertainty._unitmap import table_value_at
from schemerisk.uncertainty.montecarlo import bind_space

SCENARIO = "hai_phong_1993_1997"


@njit(cache=True, nogil=True)
def _compiled(u: np.ndarray, out: np.ndarray, *table: Any) -> None:
    nodes, width, coef, guide, lo, hi = table
    n = width.size
    for r in range(u.size):
        out[r] = table_value_at(u[r], nodes, width, coef, guide, 0, 0, n, lo, hi)


def main(argv: list[str] | None = None) -> int:
    """Build, evaluate and check both inverses of each distribution; print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="builds and evaluations (median)")
    args = ap.parse_args(argv)
    m = machine()
    space = bind_space(SCENARIO, SCENARIO, horizon=10)
    u = np.random.default_rng(2026).random(1_000_000)
    out = np.empty_like(u)
    rows = []
    for e in space.entries:
        mg = e.marginal
        table = mg._fast_inverse()
        if not isinstance(table, _inverse.InverseTable):
            continue
        build_ours = median_seconds(lambda mg=mg: families._build_inverse(mg), args.rounds)
        scipy_inverse = families.scipy_inverse(mg)
        build_scipy = median_seconds(lambda mg=mg: families.scipy_inverse(mg), args.rounds)
        arrays = (*table.arrays(), table.lo, table.hi)
        _compiled(u[:10], out[:10], *arrays)  # compiled (or loaded) before the timing
        ns = 1e9 / u.size
        compiled = median_seconds(lambda a=arrays: _compiled(u, out, *a), args.rounds) * ns
        numpy_ppf = median_seconds(lambda t=table: t.ppf(u), args.rounds) * ns
        scipy_ppf = median_seconds(lambda s=scipy_inverse: s.ppf(u), args.rounds) * ns
        with np.errstate(all="ignore"):
            err_ours = float(np.abs(mg._dist.cdf(table.ppf(u)) - u).max())
            err_scipy = float(np.abs(mg._dist.cdf(np.asarray(scipy_inverse.ppf(u))) - u).max())
        rows.append(
            (e.name, mg.describe(), table.pieces, scipy_inverse.intervals, build_ours,
             build_scipy, compiled, numpy_ppf, scipy_ppf, err_ours, err_scipy)
        )  # fmt: skip
    m["load_end"] = load_average()
    print("\n".join(machine_lines(m)))
    print(
        f"\nInverse CDFs of {SCENARIO}'s bounded distributions: medians of {args.rounds} rounds, "
        "one thread; build in ms, evaluation in ns a value on 10^6 probabilities, "
        "error = max |F(x(u)) - u|"
    )
    head = (
        f"  {'input':<34}{'pieces':>7}{'SciPy':>7}{'build':>7}{'SciPy':>7}"
        f"{'compiled':>9}{'NumPy':>7}{'SciPy':>7}{'error':>10}{'SciPy':>10}"
    )
    print(head)
    for name, _, pieces, intervals, bo, bs, c, n, s, eo, es in rows:
        print(
            f"  {name:<34}{pieces:>7}{intervals:>7}{bo * 1e3:>7.1f}{bs * 1e3:>7.1f}"
            f"{c:>9.1f}{n:>7.1f}{s:>7.1f}{eo:>10.1e}{es:>10.1e}"
        )
    total = [sum(r[i] for r in rows) for i in (4, 5)]
    print(
        f"\n  all {len(rows)} built: {total[0] * 1e3:.0f} ms (tables) against "
        f"{total[1] * 1e3:.0f} ms (SciPy's, with the grid check), one thread"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
