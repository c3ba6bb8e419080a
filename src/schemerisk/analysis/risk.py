"""Deficit risk from a Monte Carlo cube: how likely a deficit is, how large, and the premium that prevents it.

Every function takes and returns xarray objects and works along ``year`` (and
any other dimension) at once. UNCERTAINTY.md section 4.

A draw whose balance is not finite in a year (an overflow, or 0/0) is
*unknown* that year: never counted as "no deficit". Probabilities, expected
deficits, shortfalls and the multiplier are estimated over the known draws,
and the report carries how many were unknown (see
:mod:`schemerisk.uncertainty.nonfinite` for the rule and why).
"""

from __future__ import annotations

import json
import math
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from schemerisk.analysis.solver import Adjust, adjusted_revenue_name, equilibrium_multiplier
from schemerisk.uncertainty.nonfinite import (
    UNKNOWN_SHARE_LIMIT,
    Suspect,
    count_nonfinite,
    describe_counts,
    finite,
    probability_bounds,
)

DRAW = "draw"
#: the outputs :func:`deficit_risk` reads: a run for the risk report need keep no others
RISK_OUTPUTS: tuple[str, ...] = (
    "balance",
    "premium_revenue",
    "flat_premium_revenue",
    "contribution_revenue",
    "total_expenditure",
    "reserve",
)

#: the sizes of a deficit, each defined in one line; the CLI, the report and the CSV/JSON files
#: all quote these. With a surplus counting as a zero deficit, 0 <= expected deficit <= worst-5 %
#: average <= the largest deficit, whatever P(deficit) (a mean is at most the mean of its top 5 %).
DEFICIT_SIZES: dict[str, str] = {
    "expected_deficit": "Expected deficit: the mean deficit over all projections, a surplus counting "
    "as zero deficit.",
    "expected_shortfall": "Worst-5 % average (expected shortfall, ES 95 %): the mean deficit over the "
    "worst 5 % of projections, a surplus counting as zero deficit.",
}


def wilson_interval(
    successes: xr.DataArray, n: int | xr.DataArray, confidence: float = 0.95
) -> tuple[xr.DataArray, xr.DataArray]:
    """Wilson score interval for a binomial proportion, for every element at once.

    Wilson E.B. (1927), "Probable inference, the law of succession, and
    statistical inference", JASA 22:209-212. It keeps its coverage near the
    nominal level for probabilities near 0 or 1, where the normal interval fails.
    (scipy's ``binomtest(...).proportion_ci(method="wilson")`` gives the same
    numbers one proportion at a time; the tests check the two agree.)

    Parameters
    ----------
    successes : xarray.DataArray
        Counts of draws with the event.
    n : int or xarray.DataArray
        Number of draws (of known draws, by year).
    confidence : float
        Confidence level.

    Returns
    -------
    lower, upper : xarray.DataArray
        Interval bounds.
    """
    from scipy.special import ndtri  # here: ``project`` reads RISK_OUTPUTS without scipy (0.3 s)

    z = float(ndtri(0.5 + confidence / 2.0))  # the normal quantile, without scipy.stats
    with np.errstate(invalid="ignore", divide="ignore"):  # n = 0 (no known draw): NaN
        return _wilson(successes, n, z)


def _wilson(
    successes: xr.DataArray, n: int | xr.DataArray, z: float
) -> tuple[xr.DataArray, xr.DataArray]:
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half).clip(0.0, 1.0), (centre + half).clip(0.0, 1.0)


def probability(event: xr.DataArray, confidence: float = 0.95) -> xr.Dataset:
    """Probability of an event across draws, with its Monte Carlo standard error and Wilson interval.

    Parameters
    ----------
    event : xarray.DataArray
        Boolean, with a ``draw`` dimension.
    confidence : float
        Level of the interval.

    Returns
    -------
    xarray.Dataset
        ``p``, ``se`` (sqrt(p (1-p) / n)), ``lower`` and ``upper``.
    """
    return counted_probability(event.sum(DRAW), event.sizes[DRAW], confidence)


def counted_probability(
    count: xr.DataArray, n: int | xr.DataArray, confidence: float = 0.95
) -> xr.Dataset:
    """Probability from a count of draws with an event, with its standard error and Wilson interval.

    Parameters
    ----------
    count : xarray.DataArray
        Draws with the event.
    n : int or xarray.DataArray
        Number of draws (the known ones, by year; where none is known, NaN).
    confidence : float
        Level of the interval.

    Returns
    -------
    xarray.Dataset
        ``p``, ``se`` (sqrt(p (1-p) / n)), ``lower`` and ``upper``.
    """
    known = xr.DataArray(n).astype(np.float64)
    known = known.where(known > 0)  # no known draw: every figure NaN (unknown)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = count / known
        lower, upper = wilson_interval(count, known, confidence)
        se = np.sqrt(p * (1 - p) / known)
    return xr.Dataset({"p": p, "se": se, "lower": lower, "upper": upper})


def expected_shortfall(loss: xr.DataArray, level: float = 0.95) -> xr.DataArray:
    """Expected shortfall: the mean of the worst ``1 - level`` of losses.

    Computed from the empirical distribution (Acerbi & Tasche 2002): the mean
    of losses at or above the ``level`` quantile, with the boundary draw weighted
    so that exactly ``(1 - level) n`` draws count. NaN losses (unknown draws)
    are left out: ``n`` is then the number of known draws of each year.

    Parameters
    ----------
    loss : xarray.DataArray
        Losses (deficits as positive numbers), with a ``draw`` dimension.
    level : float
        Confidence level (0.95 averages the worst 5 %).

    Returns
    -------
    xarray.DataArray
        The expected shortfall, without the ``draw`` dimension.
    """

    def es(values: np.ndarray) -> np.ndarray:
        rows = values.reshape(-1, values.shape[-1])
        out = np.empty(rows.shape[0])
        for r, row in enumerate(rows):
            out[r] = _shortfall_of_row(row, level)
        return out.reshape(values.shape[:-1])

    return xr.apply_ufunc(es, loss, input_core_dims=[[DRAW]], keep_attrs=False)


def _shortfall_of_row(values: np.ndarray, level: float, scratch: Any = None) -> float:
    """The expected shortfall of one row of losses (NaN: unknown), as :func:`expected_shortfall`.

    Sorted in descending order (unknown draws last), each draw weighs 1 until
    the tail of ``(1 - level) n`` draws is full, the boundary draw the fraction
    left, the others 0. Only the ``ceil(tail)`` largest losses have a weight, so
    they alone are found (``np.partition``, linear time) and sorted; their terms
    are summed in a row of the full length padded with zeros, which gives the
    same pairwise summation, bit for bit, as weighting the whole sorted row.

    ``scratch``, a :class:`ShortfallScratch` of the row's length, holds the
    working copies: a caller with many rows reuses one (on this virtual machine
    fresh arrays cost more in page faults than the partition itself).
    """
    n = values.shape[-1]
    own = scratch if scratch is not None and scratch.size == n else ShortfallScratch(n)
    unknown = np.isnan(values, out=own.unknown)
    tail = (1.0 - level) * (n - int(np.count_nonzero(unknown)))
    m = min(n, math.ceil(tail)) if tail > 0 else 0  # the draws i < tail weigh more than 0
    terms = own.terms  # zeros, but for the first terms of a previous row (set back below)
    if m:
        work = own.work
        np.copyto(work, values)
        np.copyto(work, -np.inf, where=unknown)
        work.partition(n - m)
        top = work[n - m :]
        terms[:m] = np.clip(tail - np.arange(m), 0.0, 1.0) * -np.sort(-top)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = float(terms.sum() / tail)
    terms[:m] = 0.0
    return result


class ShortfallScratch:
    """Working arrays of :func:`_shortfall_of_row` for rows of ``size`` values, reused row after row.

    Parameters
    ----------
    size : int
        The rows' length.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.unknown = np.empty(size, dtype=bool)
        self.work = np.empty(size)
        self.terms = np.zeros(size)


def inverted_cdf_quantile(values: np.ndarray, q: float) -> float:
    """NumPy's ``quantile(values, q, method="inverted_cdf")`` of NaN-free values, by one partition.

    The inverted empirical CDF (Hyndman & Fan 1996, definition 1) takes the
    order statistic of index ``ceil(n q) - 1``, which NumPy computes as the
    floor of ``n q - 1``, or the next one when ``n q - 1`` is not a whole number;
    the same index here, so the same value. ``values`` is partitioned in place
    (its order is lost), with none of NumPy's copies and checks: about 3 ms
    instead of 10 ms for 10^6 values.

    Parameters
    ----------
    values : numpy.ndarray
        One-dimensional, at least one value, no NaN (inf is allowed).
    q : float
        Probability in [0, 1].

    Returns
    -------
    float
        The quantile.
    """
    n = values.size
    index = n * q - 1.0
    below = math.floor(index)
    at = below if index - below == 0.0 else below + 1
    at = min(max(at, 0), n - 1)
    values.partition(at)
    return float(values[at])


def _multiplier_needs(adjust: Adjust | str) -> tuple[str, str, str]:
    """The outputs :func:`required_multiplier` reads: all revenue, the scaled part, the cost.

    The scaled part is :func:`~schemerisk.analysis.solver.adjusted_revenue_name`'s. A cube
    whose premiums were scaled by category keeps no flat/contribution split, and needs
    none for ``all-premiums``.
    """
    return ("premium_revenue", adjusted_revenue_name(adjust), "total_expenditure")


def required_multiplier(
    cube: xr.Dataset, level: float = 0.05, adjust: Adjust | str = Adjust.ALL_PREMIUMS
) -> xr.DataArray:
    """Multiplier on premiums that brings the probability of deficit down to ``level``, each year.

    Revenue is linear in premiums, so every draw has an exact break-even
    multiplier ``k_d = (C_d - R_fixed,d) / R_adjusted,d`` (the equilibrium
    solver, :func:`~schemerisk.analysis.solver.equilibrium_multiplier`); a
    multiplier ``k`` leaves draw ``d`` in deficit exactly when ``k < k_d``.
    The answer is the smallest ``k`` with at most ``level`` of draws above it:
    the ``1 - level`` quantile of ``k_d`` by the inverted empirical CDF.

    Parameters
    ----------
    cube : xarray.Dataset
        Monte Carlo cube with ``flat_premium_revenue``, ``contribution_revenue``,
        ``premium_revenue`` and ``total_expenditure``.
    level : float
        Largest acceptable probability of deficit.
    adjust : Adjust or str
        Which premiums are scaled.

    Returns
    -------
    xarray.DataArray
        Multiplier by year (1 = premiums as planned).
    """
    k = equilibrium_multiplier(cube, Adjust(adjust))
    # a draw whose adjusted premiums raise nothing cannot be balanced: count it as needing +inf;
    # a draw with no finite balance is unknown (NaN), left out of the quantile
    k = xr.where(finite(cube["balance"]), k.fillna(np.inf), np.nan)
    with warnings.catch_warnings():  # a year with no known draw: NaN, said by the report
        warnings.simplefilter("ignore", RuntimeWarning)
        q = k.quantile(1.0 - level, dim=DRAW, method="inverted_cdf", skipna=True)
    q = q.drop_vars("quantile")
    # the boundary draw breaks even exactly at q: a hair above keeps rounding in a re-run of the
    # model with premiums scaled by q from putting it a few units below zero
    q = q + 1e-12 * abs(q)
    return q.rename("required_premium_multiplier").assign_attrs(
        long_name=f"Premium multiplier that keeps P(deficit) <= {level:g}",
        units="1",
        level=level,
        adjust=Adjust(adjust).value,
    )


@dataclass(frozen=True)
class RiskReport:
    """Deficit risk of a scheme, every year: the result of :func:`deficit_risk`.

    Attributes
    ----------
    table : xarray.Dataset
        By year: ``p_deficit`` with ``p_deficit_se``, ``p_deficit_lower``,
        ``p_deficit_upper``; ``expected_deficit`` (over all draws, a surplus as zero) and
        ``expected_deficit_share`` (of revenue); ``expected_shortfall`` and
        ``expected_shortfall_share`` (95 %); ``required_premium_multiplier``;
        and, with a reserve, ``p_reserve_negative``.
    p_any_deficit : xarray.Dataset
        Probability of at least one deficit over the horizon (``p``, ``se``, ``lower``, ``upper``).
    p_ruin : xarray.Dataset or None
        Probability that the reserve falls below zero in any year, when the cube has ``reserve``.
    n_draws, level, currency : int, float, str
        Provenance.
    approximate : str
        Empty for a report from a cube; from a streaming summary, which figures
        are approximate and within what bound.
    nonfinite : xarray.DataArray or None
        Draws with a non-finite value of each of :data:`RISK_OUTPUTS`, dims
        (output, year). The table's ``n_unknown`` is its ``balance`` row: those
        draws are unknown that year, left out of every figure of the year.
    n_unknown_any : int
        Draws without a known deficit but with an unknown year: left out of
        ``p_any_deficit``.
    suspects : tuple of Suspect
        The inputs most associated with the unknown draws (filled in by the
        caller, who has the drawn inputs; see
        :func:`~schemerisk.uncertainty.nonfinite.cube_suspects`).
    """

    table: xr.Dataset
    p_any_deficit: xr.Dataset
    p_ruin: xr.Dataset | None
    n_draws: int
    level: float
    currency: str
    approximate: str = ""
    nonfinite: xr.DataArray | None = None
    n_unknown_any: int = 0
    suspects: tuple[Suspect, ...] = ()

    @property
    def unknown_share(self) -> float:
        """Largest share, over the years, of draws with no finite balance."""
        if "n_unknown" not in self.table or self.n_draws == 0:
            return 0.0
        return float(self.table["n_unknown"].max()) / self.n_draws

    @property
    def trustworthy(self) -> bool:
        """Whether the unknown share stays within :data:`UNKNOWN_SHARE_LIMIT` in every year."""
        return self.unknown_share <= UNKNOWN_SHARE_LIMIT

    def to_json_dict(self) -> dict[str, Any]:
        """The report as plain data (keys ``p_deficit``, ``p_any_deficit``, ``expected_shortfall``,
        ``required_premium_multiplier``, ...), years as string keys."""
        years = [str(int(y)) for y in self.table.year.values]

        def per_year(name: str) -> dict[str, float | None]:
            vals = self.table[name].values
            return {
                y: (None if not np.isfinite(v) else float(v))
                for y, v in zip(years, vals, strict=True)
            }

        def scalar(ds: xr.Dataset) -> dict[str, float | None]:
            return {k: _finite_or_none(float(ds[k])) for k in ("p", "se", "lower", "upper")}

        out: dict[str, Any] = {
            "n_draws": self.n_draws,
            "currency": self.currency,
            "p_deficit": per_year("p_deficit"),
            "p_deficit_se": per_year("p_deficit_se"),
            "p_deficit_interval_95": {
                y: [_finite_or_none(float(lo)), _finite_or_none(float(hi))]
                for y, lo, hi in zip(
                    years,
                    self.table.p_deficit_lower.values,
                    self.table.p_deficit_upper.values,
                    strict=True,
                )
            },
            "p_any_deficit": scalar(self.p_any_deficit),
            "expected_deficit": per_year("expected_deficit"),
            "expected_deficit_share_of_revenue": per_year("expected_deficit_share"),
            "expected_shortfall": per_year("expected_shortfall"),
            "expected_shortfall_share_of_revenue": per_year("expected_shortfall_share"),
            "required_premium_multiplier": per_year("required_premium_multiplier"),
            "required_premium_multiplier_level": self.level,
            "definitions": dict(DEFICIT_SIZES),
            "units": {
                "p_deficit": "1",
                "expected_deficit": f"{self.currency}/yr",
                "expected_deficit_share_of_revenue": "1",
                "expected_shortfall": f"{self.currency}/yr",
                "expected_shortfall_share_of_revenue": "1",
                "required_premium_multiplier": "1",
            },
        }
        if self.p_ruin is not None:
            out["p_ruin"] = scalar(self.p_ruin)
        if self.approximate:
            out["approximate"] = self.approximate
        out.update(self._unknown_json(years))
        return out

    def _unknown_json(self, years: list[str]) -> dict[str, Any]:
        """The unknown (non-finite) draws, as plain data."""
        n_unknown = (
            self.table["n_unknown"].values
            if "n_unknown" in self.table
            else np.zeros(len(years), dtype=np.int64)
        )
        bounds = {}
        for y, p, u in zip(years, self.table.p_deficit.values, n_unknown, strict=True):
            lo, hi = probability_bounds(float(p), int(u) / self.n_draws)
            bounds[y] = [lo, hi]
        out: dict[str, Any] = {
            "n_unknown": {y: int(u) for y, u in zip(years, n_unknown, strict=True)},
            "p_deficit_bounds_all_draws": bounds,
            "n_unknown_any_deficit": self.n_unknown_any,
            "unknown_share": self.unknown_share,
            "unknown_share_limit": UNKNOWN_SHARE_LIMIT,
            "trustworthy": self.trustworthy,
            "note": "p_deficit is over the draws with a finite balance; n_unknown draws had none "
            "and are not counted as safe; p_deficit_bounds_all_draws holds P(deficit) over all "
            "draws if none or all of the unknown ones were in deficit",
        }
        if self.nonfinite is not None:
            out["nonfinite_by_output"] = {
                str(o): {
                    y: int(c)
                    for y, c in zip(years, self.nonfinite.sel(output=o).values, strict=True)
                }
                for o in self.nonfinite.output.values
            }
        out["suspects"] = [
            {
                "input": s.name,
                "ks_distance": s.distance,
                "median_failed": s.failed_median,
                "median_finite": s.finite_median,
            }
            for s in self.suspects
        ]
        return out

    def to_json(self) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_json_dict(), indent=2)


def deficit_risk(
    cube: xr.Dataset,
    *,
    level: float = 0.05,
    adjust: Adjust | str = Adjust.ALL_PREMIUMS,
    shortfall_level: float = 0.95,
    confidence: float = 0.95,
) -> RiskReport:
    """Probability, size and prevention of deficits, from a Monte Carlo cube.

    Parameters
    ----------
    cube : xarray.Dataset
        A cube from :func:`~schemerisk.uncertainty.montecarlo.simulate` (needs
        ``balance``, ``premium_revenue``; for the multiplier also
        ``flat_premium_revenue``, ``contribution_revenue``, ``total_expenditure``).
    level : float
        Target probability of deficit for the required premium multiplier.
    adjust : Adjust or str
        Which premiums the multiplier scales.
    shortfall_level : float
        Level of the expected shortfall (0.95: mean of the worst 5 % of deficits).
    confidence : float
        Level of the Wilson intervals.

    Returns
    -------
    RiskReport
        Tables by year and over the horizon.
    """
    if DRAW not in cube.dims:
        raise ValueError("deficit_risk needs a Monte Carlo cube with a 'draw' dimension")
    parts = _plain_tables(cube, level, adjust, shortfall_level, confidence)
    if parts is None:
        raise ValueError(
            "deficit_risk needs 'balance' and 'premium_revenue' in the cube, and every one of "
            f"its outputs ({', '.join(RISK_OUTPUTS)}) with exactly the dimensions (draw, year)"
        )
    table, p_ruin, p_any, n_unknown_any, nonfinite = parts
    units = cube["balance"].attrs.get("units", "")
    for v, long_name, unit in (
        ("n_unknown", "Draws with no finite balance (unknown, left out of the figures)", "draws"),
        ("p_deficit", "Probability of a deficit, among the draws with a finite balance", "1"),
        ("p_deficit_se", "Monte Carlo standard error of the probability of a deficit", "1"),
        ("p_deficit_lower", f"Wilson {confidence:.0%} interval, lower bound", "1"),
        ("p_deficit_upper", f"Wilson {confidence:.0%} interval, upper bound", "1"),
        ("expected_deficit", DEFICIT_SIZES["expected_deficit"], units),
        (
            "expected_deficit_share",
            "Expected deficit as a share of premium revenue, over all projections",
            "1",
        ),
        (
            "expected_shortfall",
            f"Expected shortfall ({shortfall_level:.0%}): the mean deficit over the worst "
            f"{1 - shortfall_level:.0%} of projections, a surplus counting as zero deficit",
            units,
        ),
        (
            "expected_shortfall_share",
            f"Expected shortfall ({shortfall_level:.0%}) as a share of revenue",
            "1",
        ),
    ):
        table[v].attrs.update(long_name=long_name, units=unit)
    return RiskReport(
        table=table,
        p_any_deficit=p_any,
        p_ruin=p_ruin,
        n_draws=int(cube.sizes[DRAW]),
        level=level,
        currency=str(cube.attrs.get("currency", "")),
        nonfinite=nonfinite,
        n_unknown_any=n_unknown_any,
    )


def _plain_tables(  # type: ignore[no-untyped-def]
    cube: xr.Dataset, level: float, adjust, shortfall_level: float, confidence: float
):
    """The tables of :func:`deficit_risk` from compiled passes, when every output is (draw, year).

    The same operations as the xarray reference of ``tests/analysis/test_risk_numpy_path.py``
    (what this function replaced), with the sums in the same order, so the same
    numbers bit for bit (tested). The balance's counts and the deficit sums come
    from compiled passes (:mod:`schemerisk.analysis._tally`), the other outputs'
    non-finite counts from the chunk statistic every summary uses (also compiled,
    :func:`~schemerisk.uncertainty.nonfinite.count_nonfinite`); the order
    statistics (the worst-5 % average and the multiplier's quantile) from each
    year's contiguous columns, two years at a time, with no (draws x years)
    float temporary. None when an output has other dimensions.
    """
    from schemerisk.analysis import _tally

    names = [v for v in RISK_OUTPUTS if v in cube]
    if any(set(cube[v].dims) != {DRAW, "year"} for v in names) or "balance" not in names:
        return None
    if "premium_revenue" not in names:
        return None

    def array(name: str) -> np.ndarray:  # a view (no copy) of the run's (draws, kept) array
        return np.asarray(cube[name].transpose(DRAW, "year").values, dtype=np.float64)

    year = cube["year"]

    def by_year(values: np.ndarray) -> xr.DataArray:
        return xr.DataArray(values, dims=("year",), coords={"year": year})

    bal, rev = array("balance"), array("premium_revenue")
    n_draws = bal.shape[0]
    with_multiplier = all(v in cube for v in _multiplier_needs(adjust))
    expenditure = array("total_expenditure") if with_multiplier else bal
    scaled = array(_multiplier_needs(adjust)[1]) if with_multiplier else bal
    years = bal.shape[1]
    es_loss, es_share, quantile = (np.full(years, np.nan) for _ in range(3))
    scratch = threading.local()  # a worker's three columns, reused year after year

    def one_year(y: int) -> None:
        if not hasattr(scratch, "columns"):
            scratch.columns = (np.empty(n_draws), np.empty(n_draws), np.empty(n_draws))
            scratch.shortfall = ShortfallScratch(n_draws)
        loss, share, k = scratch.columns
        m = _tally.year_columns(bal, rev, expenditure, scaled, y, with_multiplier, loss, share, k)
        es_loss[y] = _shortfall_of_row(loss, shortfall_level, scratch.shortfall)
        es_share[y] = _shortfall_of_row(share, shortfall_level, scratch.shortfall)
        if m:  # a year with no known draw: NaN, said by the report
            quantile[y] = inverted_cdf_quantile(k[:m], 1.0 - level)

    # the compiled passes and NumPy's partition release the GIL: two at once, the whole-array
    # passes beside the years
    with ThreadPoolExecutor(max_workers=2) as pool:
        signs = pool.submit(_tally.sign_counts, bal)  # unknown: no finite balance, not "no deficit"
        sums = pool.submit(_tally.loss_sums, bal, rev)
        counted = {v: pool.submit(count_nonfinite, array(v)) for v in names if v != "balance"}
        list(pool.map(one_year, range(years)))
    n_known, n_deficit, n_event, n_unknown_any = signs.result()
    per_year = counted_probability(by_year(n_deficit), by_year(n_known), confidence)
    counts = {v: n_draws - n_known if v == "balance" else counted[v].result() for v in names}
    nonfinite = xr.DataArray(
        np.stack([counts[v].astype(np.int64) for v in names]),
        dims=("output", "year"),
        coords={"output": names, "year": year.values},
        name="n_nonfinite",
        attrs={"long_name": "Draws with a non-finite value (overflow or 0/0)", "units": "draws"},
    )
    loss_sum, share_sum = sums.result()
    with np.errstate(invalid="ignore", divide="ignore"):  # a year with no known draw: NaN
        mean_loss, mean_share = loss_sum / n_known, share_sum / n_known
    table = xr.Dataset(
        {
            "n_unknown": nonfinite.sel(output="balance", drop=True),
            "p_deficit": per_year.p,
            "p_deficit_se": per_year.se,
            "p_deficit_lower": per_year.lower,
            "p_deficit_upper": per_year.upper,
            # over all draws, a surplus as zero: never more than the worst-5 % average
            "expected_deficit": by_year(mean_loss),
            "expected_deficit_share": by_year(mean_share),
            "expected_shortfall": by_year(es_loss),
            "expected_shortfall_share": by_year(es_share),
        }
    )
    if with_multiplier:
        table["required_premium_multiplier"] = _multiplier_table(quantile, level, adjust, by_year)
    else:
        table["required_premium_multiplier"] = xr.full_like(table.p_deficit, np.nan)
    p_ruin = None
    # ruin needs a reserve fund; without one, "reserve" is just the cumulated balance
    if "reserve" in cube and int(cube.attrs.get("reserve_fund", 0)):
        answered, negative, n_ruin, n_unknown_ruin = _tally.sign_counts(array("reserve"))
        with np.errstate(invalid="ignore", divide="ignore"):
            table["p_reserve_negative"] = by_year(
                negative / np.where(answered > 0, answered, np.nan)
            )
        p_ruin = counted_probability(xr.DataArray(n_ruin), n_draws - n_unknown_ruin, confidence)
    p_any = counted_probability(xr.DataArray(n_event), n_draws - n_unknown_any, confidence)
    return table, p_ruin, p_any, n_unknown_any, nonfinite


def _multiplier_table(q: np.ndarray, level: float, adjust, by_year) -> xr.DataArray:  # type: ignore[no-untyped-def]
    """:func:`required_multiplier` from each year's quantile of the break-even multipliers (NaN: none known)."""
    q = q + 1e-12 * abs(q)
    return (
        by_year(q)
        .rename("required_premium_multiplier")
        .assign_attrs(
            long_name=f"Premium multiplier that keeps P(deficit) <= {level:g}",
            units="1",
            level=level,
            adjust=Adjust(adjust).value,
        )
    )


#: what the premium multiplier scales, by ``--adjust`` (the rest stays as planned)
_SCALED = {
    Adjust.ALL_PREMIUMS.value: "all premiums",
    Adjust.FLAT_PREMIUMS.value: "the flat premiums (contributions as planned)",
    Adjust.CONTRIBUTION_RATES.value: "the contribution rates (flat premiums as planned)",
}


def _scaled_premiums(table: xr.Dataset) -> str:
    """The premiums the table's multiplier scales, in words (all premiums unless it says otherwise)."""
    adjust = table["required_premium_multiplier"].attrs.get("adjust", Adjust.ALL_PREMIUMS.value)
    return _SCALED.get(str(adjust), "all premiums")


def format_risk(report: RiskReport, scale: float = 1e6) -> str:
    """The risk report as readable text tables.

    Parameters
    ----------
    report : RiskReport
        From :func:`deficit_risk`.
    scale : float
        Divide amounts by this (1e6: millions).

    Returns
    -------
    str
        The tables.
    """
    t = report.table
    unit = {1.0: "", 1e3: "thousands of ", 1e6: "millions of ", 1e9: "billions of "}.get(
        scale, f"{scale:g} "
    )
    cur = report.currency
    n_unknown = t["n_unknown"].values if "n_unknown" in t else np.zeros(t.sizes["year"], int)
    unknowns = bool(n_unknown.any())
    lines = [
        f"Deficit risk from {report.n_draws:,} projections",
        "",
        f"{'year':>6}{'P(deficit)':>12}{'95 % interval':>18}{'exp. deficit':>15}{'worst 5 %':>14}"
        f"{'% rev.':>11}{'premium x':>11}" + (f"{'unknown':>11}" if unknowns else ""),
    ]
    for i, y in enumerate(t.year.values):
        lo, hi = float(t.p_deficit_lower[i]), float(t.p_deficit_upper[i])
        ed = float(t.expected_deficit[i]) / scale
        es = float(t.expected_shortfall[i]) / scale
        es_share = float(t.expected_shortfall_share[i])
        k = float(t.required_premium_multiplier[i])
        lines.append(
            f"{int(y):>6}{_pct(float(t.p_deficit[i])):>12}{f'{_pct(lo)} - {_pct(hi)}':>18}"
            f"{_amount(ed):>15}{_amount(es):>14}{_pct(es_share):>11}{_amount(k, '.3f'):>11}"
            + (f"{int(n_unknown[i]):>11,}" if unknowns else "")
        )
    pa = report.p_any_deficit
    lines += [
        "",
        f"Amounts in {unit}{cur}.",
        *DEFICIT_SIZES.values(),
        f"Premium x: multiplier on {_scaled_premiums(t)} that keeps P(deficit) at or below "
        f"{report.level:.0%} that year.",
        f"P(at least one deficit over the horizon) = {_pct(float(pa.p))} "
        f"(95 % interval {_pct(float(pa.lower))} - {_pct(float(pa.upper))})",
    ]
    if report.p_ruin is not None:
        pr = report.p_ruin
        lines.append(
            f"P(ruin: the reserve falls below zero in some year) = {float(pr.p):.1%} "
            f"(95 % interval {float(pr.lower):.1%} - {float(pr.upper):.1%})"
        )
    if report.approximate:
        lines.append(report.approximate)
    if unknowns:
        lines += ["", *unknown_lines(report)]
    return "\n".join(lines)


def _finite_or_none(x: float) -> float | None:
    """JSON has no NaN: an unknown figure is null."""
    return x if np.isfinite(x) else None


def _pct(x: float) -> str:
    if not np.isfinite(x):
        return "unknown" if np.isnan(x) else f"{x}"
    return f"{x:.1%}" if abs(x) < 1e6 else f"{100 * x:.3g}%"


def _amount(x: float, spec: str = ",.1f") -> str:
    """An amount for a fixed-width column: absurdly large ones (an overflow's neighbours) as 1.2e+300."""
    return format(x, spec) if not np.isfinite(x) or abs(x) < 1e12 else f"{x:.3g}"


def unknown_lines(report: RiskReport) -> list[str]:
    """What the report says about its unknown (non-finite) draws: counts, bounds, suspects.

    Parameters
    ----------
    report : RiskReport
        A report with unknown draws.

    Returns
    -------
    list of str
        Empty when every draw's balance is finite.
    """
    t = report.table
    if "n_unknown" not in t or not t["n_unknown"].values.any():
        return []
    n = report.n_draws
    worst = int(np.argmax(t["n_unknown"].values))
    year = int(t.year.values[worst])
    u = int(t["n_unknown"].values[worst])
    lo, hi = probability_bounds(float(t.p_deficit.values[worst]), u / n)
    lines = [
        f"Unknown: {u:,} of {n:,} projections ({u / n:.1%}) have no finite balance in {year} "
        "(an amount overflowed, or 0/0): they are not counted as 'no deficit'. P(deficit) and the "
        "other figures are over the projections with a finite balance; over all projections, "
        f"P(deficit) in {year} lies between {lo:.1%} (no unknown one in deficit) and {hi:.1%} "
        "(every one).",
    ]
    if report.n_unknown_any:
        lines.append(
            f"{report.n_unknown_any:,} projections without a known deficit have an unknown year: "
            "they are left out of P(at least one deficit)."
        )
    if report.nonfinite is not None:
        lines.append("Non-finite values, draws by output and year:")
        lines += [f"  {line}" for line in describe_counts(report.nonfinite, n)]
    if report.suspects:
        lines.append(
            "Inputs most associated with the non-finite projections (Kolmogorov-Smirnov distance "
            "between their values in failed and in finite projections: 0 alike, 1 no overlap):"
        )
        lines += [f"  {s.describe()}" for s in report.suspects]
    return lines


def deficit_risk_by_chunks(
    cube: xr.Dataset,
    *,
    level: float = 0.05,
    adjust: Adjust | str = Adjust.ALL_PREMIUMS,
    draws_per_chunk: int = 65_536,
    relative_accuracy: float = 1e-3,
    confidence: float = 0.95,
) -> RiskReport:
    """:func:`deficit_risk` for a cube too large for memory, read a chunk of draws at a time.

    Each chunk of the (lazily opened) cube goes through the streaming summary
    of ``simulate --keep summary`` (:mod:`schemerisk.uncertainty.summary`), so
    memory holds one chunk's :data:`RISK_OUTPUTS` and the summary, whatever the
    number of draws. Probabilities and expected deficits are exact; expected
    shortfalls and the multiplier are within ``relative_accuracy``.

    Parameters
    ----------
    cube : xarray.Dataset
        A cube with every variable of :data:`RISK_OUTPUTS` (opened lazily).
    level, adjust, confidence
        As for :func:`deficit_risk`.
    draws_per_chunk : int
        Draws read at once.
    relative_accuracy : float
        Relative error bound of the quantile sketches.

    Returns
    -------
    RiskReport
        With ``approximate`` saying which figures are within the bound.
    """
    from schemerisk.uncertainty.summary import LogBins, StreamingSummary, summarise_chunk

    missing = [v for v in RISK_OUTPUTS if v not in cube]
    if missing:
        raise ValueError(f"reading a cube by chunks needs {', '.join(missing)} in it")
    adjust = Adjust(adjust).value
    n = int(cube.sizes[DRAW])
    running = StreamingSummary(int(cube.sizes["year"]), LogBins(relative_accuracy))
    for start in range(0, n, draws_per_chunk):
        piece = cube[list(RISK_OUTPUTS)].isel({DRAW: slice(start, start + draws_per_chunk)})
        running.add(summarise_chunk(piece.load(), running.bins, adjust))
    units = str(cube["balance"].attrs.get("units", ""))
    summary = running.to_dataset(cube["year"].values, level=level, currency=units.split("/")[0])
    summary.attrs.update(summary_adjust=adjust, reserve_fund=int(cube.attrs.get("reserve_fund", 0)))
    return risk_from_summary(summary, level=level, adjust=adjust, confidence=confidence)


def risk_from_summary(
    summary: xr.Dataset,
    *,
    level: float | None = None,
    adjust: Adjust | str | None = None,
    confidence: float = 0.95,
) -> RiskReport:
    """The risk report of a run kept as streaming summaries (``simulate --keep summary``).

    Probabilities come from the summary's exact counts, expected deficits from
    its exact sums; expected shortfalls and the premium multiplier from its
    quantile sketches, within the relative bound the summary records (see
    :mod:`schemerisk.uncertainty.summary`).

    Parameters
    ----------
    summary : xarray.Dataset
        A complete summary store.
    level : float, optional
        Target probability of deficit for the multiplier (default the one the
        summary was made with; another level is read off the stored sketch).
    adjust : Adjust or str, optional
        Which premiums the multiplier scales; it must be the summary's own.
    confidence : float
        Level of the Wilson intervals.

    Returns
    -------
    RiskReport
        As :func:`deficit_risk` gives for the full cube.

    Raises
    ------
    ValueError
        When ``adjust`` is not the one the summary was made with.
    """
    from schemerisk.uncertainty.summary import sketch_quantile

    attrs = summary.attrs
    made_for = str(attrs.get("summary_adjust", Adjust.ALL_PREMIUMS.value))
    if adjust is not None and Adjust(adjust).value != made_for:
        raise ValueError(
            f"this summary holds the multiplier on {made_for.replace('-', ' ')}, not on "
            f"{Adjust(adjust).value.replace('-', ' ')} (a summary keeps one multiplier); for "
            f"--adjust {Adjust(adjust).value}, run 'schemerisk risk SCENARIO DISTRIBUTIONS "
            f"--adjust {Adjust(adjust).value}', or risk on a cube of draws (simulate -o CUBE.nc), "
            f"or leave --adjust out"
        )
    n = int(attrs["n_draws"])
    stored_level = float(attrs["required_premium_multiplier_level"])
    level = stored_level if level is None else level
    nonfinite = summary["n_nonfinite"].load() if "n_nonfinite" in summary else None
    n_unknown = (
        nonfinite.sel(output="balance", drop=True)
        if nonfinite is not None
        else xr.zeros_like(summary["n_deficit"])
    )
    per_year = counted_probability(summary["n_deficit"], n - n_unknown, confidence)
    table = xr.Dataset(
        {
            "n_unknown": n_unknown,
            "p_deficit": per_year.p,
            "p_deficit_se": per_year.se,
            "p_deficit_lower": per_year.lower,
            "p_deficit_upper": per_year.upper,
            **{
                v: summary[v]
                for v in (
                    "expected_deficit",
                    "expected_deficit_share",
                    "expected_shortfall",
                    "expected_shortfall_share",
                )
            },
        }
    )
    if level == stored_level:
        table["required_premium_multiplier"] = summary["required_premium_multiplier"]
    else:
        counts = summary["sketch_break_even_multiplier"].transpose("year", "bin").values
        k = sketch_quantile(counts, summary["bin_value"].values, np.array([1.0 - level]))[0]
        table["required_premium_multiplier"] = ("year", k)
    p_ruin = None

    def unknown(name: str) -> int:  # a store from before unknowns were counted has none
        return int(summary[name].values) if name in summary else 0

    if int(attrs.get("reserve_fund", 0)):
        table["p_reserve_negative"] = summary["p_reserve_negative"]
        p_ruin = counted_probability(summary["n_ruin"], n - unknown("n_ruin_unknown"), confidence)
    units = str(summary["expected_deficit"].attrs.get("units", ""))
    n_unknown_any = unknown("n_any_deficit_unknown")
    return RiskReport(
        table=table.load(),
        p_any_deficit=counted_probability(
            summary["n_any_deficit"], n - n_unknown_any, confidence
        ).load(),
        p_ruin=None if p_ruin is None else p_ruin.load(),
        n_draws=n,
        level=level,
        currency=units.split("/")[0],
        approximate=(
            "From a streaming summary: probabilities and expected deficits are exact; expected "
            "shortfalls and the premium multiplier are within a relative "
            f"{float(attrs['summary_relative_accuracy']):g} (quantile sketch)."
        ),
        nonfinite=nonfinite,
        n_unknown_any=n_unknown_any,
    )
