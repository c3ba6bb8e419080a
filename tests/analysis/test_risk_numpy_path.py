"""The numpy path of deficit_risk gives the xarray path's numbers bit for bit (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from schemerisk.analysis.risk import (
    DRAW,
    RISK_OUTPUTS,
    _multiplier_needs,
    _plain_tables,
    _shortfall_of_row,
    counted_probability,
    deficit_risk,
    expected_shortfall,
    required_multiplier,
)
from schemerisk.uncertainty.montecarlo import simulate
from schemerisk.uncertainty.nonfinite import count_dataset, finite, horizon_counts


def _xarray_tables(cube, level, adjust, shortfall_level, confidence):  # type: ignore[no-untyped-def]
    """The reference: deficit_risk's tables as xarray computed them before the numpy path."""
    bal, rev = cube["balance"], cube["premium_revenue"]
    known = finite(bal)  # a draw without a finite balance is unknown, not "no deficit"
    n_known = known.sum(DRAW)
    deficit = (bal < 0) & known
    per_year = counted_probability(deficit.sum(DRAW), n_known, confidence)
    loss = (-bal).clip(min=0.0).where(known)
    share = (loss / rev.where(rev != 0)).fillna(np.where(loss > 0, np.inf, 0.0)).where(known)
    nonfinite = count_dataset(cube, RISK_OUTPUTS)
    table = xr.Dataset(
        {
            "n_unknown": nonfinite.sel(output="balance", drop=True),
            "p_deficit": per_year.p,
            "p_deficit_se": per_year.se,
            "p_deficit_lower": per_year.lower,
            "p_deficit_upper": per_year.upper,
            # over all draws, a surplus as zero: never more than the worst-5 % average
            "expected_deficit": loss.mean(DRAW),
            "expected_deficit_share": share.mean(DRAW),
            "expected_shortfall": expected_shortfall(loss, shortfall_level),
            "expected_shortfall_share": expected_shortfall(share, shortfall_level),
        }
    )
    if all(v in cube for v in _multiplier_needs(adjust)):
        table["required_premium_multiplier"] = required_multiplier(cube, level, adjust)
    else:
        table["required_premium_multiplier"] = xr.full_like(table.p_deficit, np.nan)
    p_ruin = None
    # ruin needs a reserve fund; without one, "reserve" is just the cumulated balance
    if "reserve" in cube and int(cube.attrs.get("reserve_fund", 0)):
        known_reserve = finite(cube["reserve"])
        negative = (cube["reserve"] < 0) & known_reserve
        table["p_reserve_negative"] = negative.sum(DRAW) / known_reserve.sum(DRAW).where(
            known_reserve.any(DRAW)
        )
        p_ruin = _over_horizon(negative, known_reserve, confidence)[0]
    p_any, n_unknown_any = _over_horizon(deficit, known, confidence)
    return table, p_ruin, p_any, n_unknown_any, nonfinite


@pytest.fixture(scope="module")
def cubes() -> list[xr.Dataset]:
    out = []
    name = "hai_phong_1993_1997"
    for reserve_fund in (0, 1):
        cube = simulate(name, name, 2000, seed=11 + reserve_fund, keep=RISK_OUTPUTS)
        cube = cube[list(RISK_OUTPUTS)].load()
        # unknown draws of every kind: NaN and +-inf in the balance, a zero and a NaN revenue,
        # an infinite expenditure, a year with a NaN reserve
        bal = cube["balance"].values
        bal[:40, 0] = np.nan
        bal[40:45, 1] = np.inf
        bal[45:50, 2] = -np.inf
        cube["premium_revenue"].values[50:60, 1] = 0.0
        cube["premium_revenue"].values[60:65, 2] = np.nan
        cube["total_expenditure"].values[65:70] = np.inf
        cube["reserve"].values[70:90, -1] = np.nan
        # the second cube as if the scheme had a reserve fund: the probability of ruin is computed
        cube.attrs["reserve_fund"] = reserve_fund
        out.append(cube)
    return out


@pytest.mark.parametrize("adjust", ["all-premiums", "flat-premiums", "contribution-rates"])
@pytest.mark.parametrize("level", [0.05, 0.3])
def test_numpy_path_equals_xarray_path_bitwise(cubes, adjust, level) -> None:
    for cube in cubes:
        fast = _plain_tables(cube, level, adjust, 0.95, 0.95)
        slow = _xarray_tables(cube, level, adjust, 0.95, 0.95)
        assert fast is not None
        table, p_ruin, p_any, n_unknown_any, nonfinite = fast
        assert set(table.data_vars) == set(slow[0].data_vars)
        for v in table.data_vars:  # same operations in the same order: equal to the last bit
            np.testing.assert_array_equal(table[v].values, slow[0][v].values, err_msg=v)
            np.testing.assert_array_equal(table[v].year.values, slow[0][v].year.values)
        for a, b in ((p_any, slow[2]), (p_ruin, slow[1])):
            if b is None:
                assert a is None
                continue
            for k in ("p", "se", "lower", "upper"):
                assert float(a[k]) == float(b[k]) or (np.isnan(a[k]) and np.isnan(b[k]))
        assert n_unknown_any == slow[3]
        np.testing.assert_array_equal(nonfinite.values, slow[4].values)
        assert list(nonfinite.output.values) == list(slow[4].output.values)


def test_reserve_fund_cube_takes_the_ruin_branch(cubes) -> None:
    report = deficit_risk(cubes[1])
    assert report.p_ruin is not None and "p_reserve_negative" in report.table


def test_year_major_cube_gives_the_same_report(cubes) -> None:
    cube = cubes[1]
    flipped = cube.transpose("year", "draw")
    a, b = deficit_risk(cube), deficit_risk(flipped)
    for v in a.table.data_vars:
        np.testing.assert_array_equal(a.table[v].values, b.table[v].values, err_msg=v)
    assert float(a.p_any_deficit.p) == float(b.p_any_deficit.p)


@pytest.mark.parametrize("n", [1, 7, 20, 1001])
@pytest.mark.parametrize("level", [0.95, 0.5, 0.999])
def test_shortfall_of_row_equals_the_full_sort(n, level) -> None:
    """Brute force: every draw sorted, weighted 1 until the tail is full, the boundary draw the rest."""
    rng = np.random.default_rng(n)
    row = rng.lognormal(size=n) * (rng.random(n) < 0.6)
    row[rng.random(n) < 0.1] = np.nan
    known = row[~np.isnan(row)]
    tail = (1.0 - level) * known.size
    srt = np.sort(known)[::-1]
    total, left = 0.0, tail
    for x in srt:  # sequential, so compared within rounding (1e-12 relative: sums of <= 1001 terms)
        w = min(1.0, max(left, 0.0))
        total += w * x
        left -= 1.0
    expected = total / tail if tail > 0 else np.nan
    got = _shortfall_of_row(row, level)
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected, rel=1e-12)


def test_a_reused_shortfall_scratch_gives_the_bits_of_fresh_arrays() -> None:
    """Rows of different tails one after the other in one scratch: each as if alone."""
    from schemerisk.analysis.risk import ShortfallScratch

    rng = np.random.default_rng(5)
    n = 5000
    scratch = ShortfallScratch(n)
    for level, share_nan in [(0.5, 0.0), (0.95, 0.3), (0.999, 0.0), (0.9, 0.9), (0.95, 1.0)]:
        row = rng.lognormal(size=n) * (rng.random(n) < 0.6)
        row[rng.random(n) < share_nan] = np.nan
        alone = _shortfall_of_row(row.copy(), level)
        again = _shortfall_of_row(row, level, scratch)
        assert np.float64(again).view(np.int64) == np.float64(alone).view(np.int64)
        assert not scratch.terms.any()  # set back to zeros for the next row


def _over_horizon(
    event: xr.DataArray, known: xr.DataArray, confidence: float
) -> tuple[xr.Dataset, int]:
    """Probability of the event in at least one year, over the draws whose answer is known."""
    dims = (DRAW, "year")
    n_event, n_unknown = horizon_counts(
        event.transpose(*dims).values, known.transpose(*dims).values
    )
    n_answered = event.sizes[DRAW] - n_unknown
    return counted_probability(xr.DataArray(n_event), n_answered, confidence), n_unknown


def test_nonfinite_counts_equal_numpys_count() -> None:
    """The chunk statistic (one compiled pass, what the risk tables and the summaries count)
    equals NumPy's ``(~isfinite).sum(axis=0)`` on a strided (draws, years) view like the
    run's columns, with NaN, +inf and -inf."""
    from schemerisk.uncertainty.nonfinite import count_nonfinite

    rng = np.random.default_rng(11)
    wide = rng.normal(size=(5_000, 30))
    for value in (np.nan, np.inf, -np.inf):
        wide[rng.random(wide.shape) < 0.03] = value
    view = wide[:, 7:18]  # (draws, years) columns of a wider run, not contiguous
    counts = count_nonfinite(view)
    assert counts.dtype == np.int64 and counts.sum() > 0
    np.testing.assert_array_equal(counts, (~np.isfinite(view)).sum(axis=0))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 20, 1000, 12_345])
@pytest.mark.parametrize("q", [0.0, 0.05, 1 / 3, 0.5, 0.95, 0.999, 1.0])
def test_one_partition_gives_numpys_inverted_cdf_quantile(n: int, q: float) -> None:
    from schemerisk.analysis.risk import inverted_cdf_quantile

    rng = np.random.default_rng(n)
    values = rng.normal(size=n)
    values[rng.random(n) < 0.1] = np.inf  # draws that no premium can balance
    values[: n // 3] = values[0]  # ties
    want = np.quantile(values, q, method="inverted_cdf")
    got = inverted_cdf_quantile(values.copy(), q)
    assert np.float64(got).view(np.int64) == np.float64(want).view(np.int64)
