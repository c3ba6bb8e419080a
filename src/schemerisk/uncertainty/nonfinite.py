"""Non-finite projections: count them, judge whether results can be trusted, find the culprit inputs.

A projection whose amounts overflow the largest double (about 1.8e308) becomes
``inf``, and ``inf - inf`` or ``0 * inf`` then give NaN. Such a projection has
no known balance: it is **unknown**, never "no deficit" (a NaN compares false
with zero, so a naive ``balance < 0`` would count it as safe).

The rule used everywhere (risk report, printed tables, charts, HTML report):

* a (draw, year) whose balance is not finite is *unknown*; probabilities are
  estimated over the draws whose value is known that year, and the unknown
  count and share are shown next to them. Over the horizon, a draw with a
  known deficit in some year counts as "at least one deficit" whatever its
  other years; a draw without a known deficit but with an unknown year is
  unknown. From the figures shown, the probability over *all* draws lies
  between ``p (1 - u)`` (no unknown draw in deficit) and ``p (1 - u) + u``
  (every one), ``u`` the unknown share (see :func:`probability_bounds`);
* when more than :data:`UNKNOWN_SHARE_LIMIT` of the draws are unknown in any
  year, the results are not trustworthy: the command line says so, names the
  inputs most associated with the failures (:func:`failure_suspects`) and
  exits with :data:`EXIT_UNTRUSTWORTHY`.

Why estimates over the known draws and not only bounds: the bounds are
uninformative as soon as ``u`` is large, while the estimate over known draws
with its unknown share shown is what every later figure (expected deficits,
shortfalls, the premium multiplier) can consistently be computed from. The
bounds are printed alongside when there are unknowns, so no reader has to
assume the unknown draws are safe.

The counts are one statistic with two users: :func:`count_nonfinite` is the
chunk statistic (integer counts, merged by addition) that both the in-memory
risk report and the streaming summary of ``--keep summary`` and chunked runs
call (:mod:`schemerisk.uncertainty.summary`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

if TYPE_CHECKING:
    from schemerisk.uncertainty.space import ParameterSpace

#: largest share of draws without a finite balance, in any year, for results to be trusted
UNKNOWN_SHARE_LIMIT = 0.01
#: exit code of a command whose results are not trustworthy (too many non-finite projections)
EXIT_UNTRUSTWORTHY = 3

DRAW = "draw"
YEAR = "year"
OUTPUT = "output"


def finite(da: xr.DataArray) -> xr.DataArray:
    """Where ``da`` is finite (neither NaN nor +-inf), as a boolean DataArray.

    Parameters
    ----------
    da : xarray.DataArray
        Values.

    Returns
    -------
    xarray.DataArray
        bool, same dims.
    """
    return xr.apply_ufunc(np.isfinite, da)


def count_nonfinite(values: np.ndarray) -> np.ndarray:
    """Number of non-finite (NaN or +-inf) values of each year: the chunk statistic.

    Counts are integers, so chunks merge exactly by addition, in any order.

    Parameters
    ----------
    values : numpy.ndarray
        Shape (draws, years).

    Returns
    -------
    numpy.ndarray
        int64, shape (years,).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        return (~np.isfinite(values)).sum(axis=0).astype(np.int64)
    from schemerisk.analysis._tally import nonfinite_counts  # compiled: numba only when counting

    return nonfinite_counts(values)  # one pass, no (draws x years) boolean temporary


def horizon_counts(event: np.ndarray, known: np.ndarray) -> tuple[int, int]:
    """Draws with a known event in some year, and draws whose answer over the horizon is unknown.

    A draw with the event in a year where its value is known counts as having
    it; a draw without it in any known year but with an unknown year is unknown.

    Parameters
    ----------
    event : numpy.ndarray
        bool, (draws, years): the event (e.g. a deficit), already False where unknown.
    known : numpy.ndarray
        bool, (draws, years): whether the value is finite.

    Returns
    -------
    n_event, n_unknown : int
        The two counts.
    """
    has = event.any(axis=1)
    unknown = ~has & ~known.all(axis=1)
    return int(has.sum()), int(unknown.sum())


def count_dataset(ds: xr.Dataset, outputs: Sequence[str]) -> xr.DataArray:
    """:func:`count_nonfinite` of each output of a cube, as a DataArray (output, year).

    Parameters
    ----------
    ds : xarray.Dataset
        A cube whose ``outputs`` have dims (draw, year).
    outputs : sequence of str
        The outputs to count (those absent from ``ds`` are left out).

    Returns
    -------
    xarray.DataArray
        int64 counts of draws with a non-finite value, dims (output, year).
    """
    names = [v for v in outputs if v in ds]
    counts = np.stack([count_nonfinite(ds[v].transpose(DRAW, YEAR).values) for v in names]).reshape(
        len(names), ds.sizes[YEAR]
    )
    return xr.DataArray(
        counts,
        dims=(OUTPUT, YEAR),
        coords={OUTPUT: names, YEAR: ds[YEAR].values},
        name="n_nonfinite",
        attrs={"long_name": "Draws with a non-finite value (overflow or 0/0)", "units": "draws"},
    )


def probability_bounds(p_known: float, unknown_share: float) -> tuple[float, float]:
    """Bounds on a probability over all draws, from its estimate over the known draws.

    ``p_known`` of the known ``1 - u`` of draws have the event; the unknown
    ``u`` may all have it or none: ``[p (1 - u), p (1 - u) + u]``.

    Parameters
    ----------
    p_known : float
        Probability among the draws whose value is known (NaN when none is: then [0, 1]).
    unknown_share : float
        Share ``u`` of draws whose value is unknown.

    Returns
    -------
    lower, upper : float
        The bounds.
    """
    known = 1.0 - unknown_share
    base = 0.0 if not np.isfinite(p_known) else p_known * known
    return base, base + unknown_share


def describe_counts(counts: xr.DataArray, n_draws: int, top: int = 8) -> list[str]:
    """One line per output with non-finite values: the years and how many draws.

    Parameters
    ----------
    counts : xarray.DataArray
        From :func:`count_dataset` (or a summary's ``n_nonfinite``), dims (output, year).
    n_draws : int
        Draws in the run.
    top : int
        At most this many outputs are listed.

    Returns
    -------
    list of str
        E.g. ``"balance: 1,000 of 2,000 draws in 1993, 1994; 1,200 in 1995"``.
    """
    lines = []
    for out in counts[OUTPUT].values:
        row = counts.sel({OUTPUT: out}).values
        years = counts[YEAR].values
        if not row.any():
            continue
        groups: dict[int, list[str]] = {}
        for y, c in zip(years, row, strict=True):
            if c:
                groups.setdefault(int(c), []).append(str(int(y)))
        parts = [f"{c:,} in {_years_text(ys)}" for c, ys in groups.items()]
        lines.append(f"{out}: {'; '.join(parts)} (of {n_draws:,} draws)")
    if len(lines) > top:
        lines = [*lines[:top], f"... and {len(lines) - top} more outputs"]
    return lines


def _years_text(years: list[str]) -> str:
    if len(years) > 2 and [int(y) for y in years] == list(range(int(years[0]), int(years[-1]) + 1)):
        return f"{years[0]}-{years[-1]}"
    return ", ".join(years)


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between two empirical CDFs.

    ``D = max_x |F_a(x) - F_b(x)|`` (Kolmogorov 1933; Smirnov 1939): 0 when the
    two samples are alike, 1 when they do not overlap. NaN values are left out;
    infinite ones are the largest (smallest) values, as they are what an
    overflowing input draws. (The tests check it against ``scipy.stats.ks_2samp``.)

    Parameters
    ----------
    a, b : numpy.ndarray
        The two samples.

    Returns
    -------
    float
        ``D`` in [0, 1]; NaN when either sample is empty.
    """
    a = np.sort(a[~np.isnan(a)])
    b = np.sort(b[~np.isnan(b)])
    if a.size == 0 or b.size == 0:
        return float("nan")
    at = np.concatenate([a, b])
    fa = np.searchsorted(a, at, side="right") / a.size
    fb = np.searchsorted(b, at, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


@dataclass(frozen=True)
class Suspect:
    """An input whose drawn values differ between failed and finite projections.

    Attributes
    ----------
    name : str
        The distributions file's entry (``input_<name>`` in the cube).
    distance : float
        Kolmogorov-Smirnov distance between its values in the failed and in
        the finite projections (for a per-year input, its largest over the years).
    failed_median, finite_median : float
        Median of its values in each group (of the year with the largest distance).
    """

    name: str
    distance: float
    failed_median: float
    finite_median: float

    def describe(self) -> str:
        """One line: the name, the distance, and the two medians."""
        return (
            f"{self.name}: KS distance {self.distance:.2f} (median {self.failed_median:.4g} in "
            f"failed projections, {self.finite_median:.4g} in finite ones)"
        )


def failure_suspects(
    inputs: Mapping[str, np.ndarray], failed: np.ndarray, top: int = 3
) -> list[Suspect]:
    """The inputs most associated with non-finite projections, most suspect first.

    For each drawn input, the Kolmogorov-Smirnov distance between its values in
    the failed draws and in the finite ones (:func:`ks_distance`): an input that
    makes the projection overflow when it is large (or small, or both) has
    values in the failed draws unlike those in the finite ones, so its
    distance is near 1; an input unrelated to the failures has a distance near
    0 (of order ``sqrt(1/n_failed + 1/n_finite)`` from sampling alone). Being
    rank-based, it is unaffected by the input's scale or by huge values.

    Parameters
    ----------
    inputs : mapping of str to numpy.ndarray
        Entry name -> drawn values, (draws,) or (draws, years).
    failed : numpy.ndarray
        bool (draws,): the draws with a non-finite balance in some year.
    top : int
        How many to return.

    Returns
    -------
    list of Suspect
        Largest distance first; empty when no draw (or every draw) failed.
    """
    failed = np.asarray(failed, dtype=bool)
    if not failed.any() or failed.all():
        return []
    out = []
    for name, values in inputs.items():
        cols = np.asarray(values, dtype=np.float64).reshape(failed.size, -1)
        best = None
        for c in range(cols.shape[1]):
            d = ks_distance(cols[failed, c], cols[~failed, c])
            if np.isfinite(d) and (best is None or d > best[0]):
                best = (d, c)
        if best is None:
            continue
        d, c = best
        out.append(
            Suspect(
                name,
                d,
                float(np.nanmedian(cols[failed, c])),
                float(np.nanmedian(cols[~failed, c])),
            )
        )
    out.sort(key=lambda s: -s.distance)
    return out[:top]


def cube_suspects(
    cube: xr.Dataset, top: int = 3, years: Sequence[int] | None = None
) -> list[Suspect] | None:
    """:func:`failure_suspects` for a cube: its ``input_*`` variables against its failed draws.

    Parameters
    ----------
    cube : xarray.Dataset
        A Monte Carlo cube with ``balance`` (it is read whole) and ``input_*`` variables.
    top : int
        How many to return.
    years : sequence of int, optional
        A draw has failed when its balance is not finite in one of these years
        (default: in any year). Every year of a per-year input is compared either way.

    Returns
    -------
    list of Suspect or None
        None when the cube keeps no drawn inputs.
    """
    names = [str(v) for v in cube.data_vars if str(v).startswith("input_")]
    if not names:
        return None
    bal_da = cube["balance"] if years is None else cube["balance"].sel({YEAR: list(years)})
    bal = bal_da.transpose(DRAW, YEAR).values
    failed = ~np.isfinite(bal).all(axis=1)
    inputs = {
        v.removeprefix("input_"): np.asarray(cube[v].transpose(DRAW, ...).values) for v in names
    }
    return failure_suspects(inputs, failed, top)


@dataclass(frozen=True)
class Screening:
    """Which outputs are non-finite in the two projections checked before a Monte Carlo run.

    Attributes
    ----------
    base : dict
        Output -> years where it is not finite, with every input at its base value.
    medians : dict
        The same with every uncertain input at its median.
    """

    base: dict[str, list[int]]
    medians: dict[str, list[int]]

    @property
    def refuse(self) -> bool:
        """Whether to refuse the run: the projection at the medians has no finite balance.

        The Monte Carlo is centred on it; when even it overflows, (nearly) every
        draw would, and the run would spend its time on unknowns.
        """
        return "balance" in self.medians

    def message(self) -> str:
        """What is not finite, in which projection and years."""

        def listing(found: dict[str, list[int]]) -> str:
            by_years: dict[tuple[int, ...], list[str]] = {}
            for name, years in found.items():
                by_years.setdefault(tuple(years), []).append(name)
            return "; ".join(
                f"{', '.join(names)} in {_years_text([str(y) for y in years])}"
                for years, names in by_years.items()
            )

        parts = []
        if self.base:
            parts.append(f"with every input at its base value: {listing(self.base)}")
        if self.medians:
            parts.append(f"with every uncertain input at its median: {listing(self.medians)}")
        return (
            "the projection is not finite (an amount overflows past 1.8e308, or 0/0) "
            + "; ".join(parts)
        )


def screen_projections(space: ParameterSpace, outputs: Sequence[str]) -> Screening:
    """Project the scenario at its base values and at the medians of its uncertain inputs.

    Two projections cost next to nothing and catch the inputs that make every
    draw non-finite (e.g. ``population: 1e308``) before any Monte Carlo work.

    Parameters
    ----------
    space : ParameterSpace
        The uncertain inputs bound to their scenario.
    outputs : sequence of str
        Outputs to check, by year (e.g. :data:`~schemerisk.analysis.risk.RISK_OUTPUTS`).

    Returns
    -------
    Screening
        The non-finite outputs and years of each projection.
    """
    from schemerisk.model.kernel import run_kernel
    from schemerisk.model.results import kept_positions
    from schemerisk.uncertainty.sampling import to_values

    positions, where = kept_positions(space.inputs, outputs)
    years = np.asarray(space.scenario.years)
    base = run_kernel(space.inputs, keep=positions)
    theta = to_values(space, np.full((1, space.n_columns), 0.5))
    medians = run_kernel(space.inputs, theta, space.modifications, keep=positions)

    def found(row: np.ndarray) -> dict[str, list[int]]:
        out = {}
        for name, sl in where.items():
            bad = ~np.isfinite(row[sl])
            if bad.any() and bad.size == years.size:
                out[name] = [int(y) for y in years[bad]]
        return out

    with np.errstate(all="ignore"):
        return Screening(found(base[0]), found(medians[0]))
