"""Non-finite projections in the statistics: counted, left out, never counted as "no deficit".

Every count is checked against an independent one (``np.isfinite`` on the cube,
or brute force on a hand-made cube); the streaming summary against the
in-memory report on the same draws; the culprit measure against SciPy's
two-sample Kolmogorov-Smirnov test.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from schemerisk.analysis.risk import (
    RISK_OUTPUTS,
    deficit_risk,
    deficit_risk_by_chunks,
    expected_shortfall,
)
from schemerisk.uncertainty.nonfinite import (
    count_dataset,
    count_nonfinite,
    failure_suspects,
    horizon_counts,
    ks_distance,
    probability_bounds,
)

YEARS = np.arange(2020, 2025)


def _cube(seed: int = 3, n: int = 400) -> xr.Dataset:
    """A hand-made cube of the risk outputs, with NaN and +-inf balances in known places."""
    rng = np.random.default_rng(seed)
    shape = (n, YEARS.size)
    flat = rng.uniform(50.0, 100.0, shape)
    contrib = rng.uniform(0.0, 50.0, shape)
    expenditure = rng.uniform(80.0, 170.0, shape)
    revenue = flat + contrib
    balance = revenue - expenditure
    balance[:40, 0] = np.nan  # unknown in the first year only: 40 draws
    balance[40:50, :] = np.inf  # unknown every year: 10 draws
    balance[50:55, 3] = -np.inf  # an overflowing deficit is unknown too, not a known deficit
    reserve = np.cumsum(np.where(np.isfinite(balance), balance, np.nan), axis=1)
    dims = ("draw", "year")
    return xr.Dataset(
        {
            "balance": (dims, balance, {"units": "VND/yr"}),
            "premium_revenue": (dims, revenue),
            "flat_premium_revenue": (dims, flat),
            "contribution_revenue": (dims, contrib),
            "total_expenditure": (dims, expenditure),
            "reserve": (dims, reserve),
        },
        coords={"draw": np.arange(n), "year": YEARS},
        attrs={"currency": "VND", "reserve_fund": 1},
    )


def test_counts_are_the_isfinite_counts_by_output_and_year() -> None:
    cube = _cube()
    counts = count_dataset(cube, RISK_OUTPUTS)
    for v in RISK_OUTPUTS:
        expected = (~np.isfinite(cube[v].values)).sum(axis=0)
        np.testing.assert_array_equal(counts.sel(output=v).values, expected)
    # the hand-placed unknowns: 40 NaN + 10 inf in the first year, 10 inf + 5 -inf in the fourth
    np.testing.assert_array_equal(counts.sel(output="balance").values, [50, 10, 10, 15, 10])
    # counts of chunks add up to the count of the whole (the merge of the streaming summary)
    bal = cube.balance.values
    np.testing.assert_array_equal(
        count_nonfinite(bal[:123]) + count_nonfinite(bal[123:]), count_nonfinite(bal)
    )


def test_unknown_draws_are_left_out_never_counted_as_safe() -> None:
    cube = _cube()
    report = deficit_risk(cube)
    bal = cube.balance.values
    known = np.isfinite(bal)
    n_known = known.sum(axis=0)
    n_def = ((bal < 0) & known).sum(axis=0)
    t = report.table
    np.testing.assert_array_equal(t.n_unknown.values, (~known).sum(axis=0))
    np.testing.assert_allclose(t.p_deficit.values, n_def / n_known, rtol=1e-15)
    # the naive count, which takes the NaN as "no deficit" and -inf as a known deficit, differs
    naive = (bal < 0).mean(axis=0)
    assert not np.allclose(naive, t.p_deficit.values)
    # over the horizon: a known deficit in some year counts; no known deficit but an unknown year
    # is unknown; brute force, draw by draw
    any_known_def = [bool(((bal[d] < 0) & known[d]).any()) for d in range(bal.shape[0])]
    unknown_any = [not any_known_def[d] and not known[d].all() for d in range(bal.shape[0])]
    assert report.n_unknown_any == sum(unknown_any)
    assert float(report.p_any_deficit.p) == pytest.approx(
        sum(any_known_def) / (bal.shape[0] - sum(unknown_any)), rel=1e-15
    )
    assert not report.trustworthy  # 50 of 400 unknown in the first year: 12.5 % > 1 %
    data = report.to_json_dict()
    assert data["n_unknown"] == {
        str(y): int(c) for y, c in zip(YEARS, (~known).sum(0), strict=True)
    }
    assert data["trustworthy"] is False
    lo, hi = data["p_deficit_bounds_all_draws"]["2020"]
    u = (~known[:, 0]).mean()
    # bounds over all draws: every unknown draw safe, or every one in deficit
    assert lo == pytest.approx(n_def[0] / bal.shape[0], rel=1e-12)
    assert hi == pytest.approx((n_def[0] + u * bal.shape[0]) / bal.shape[0], rel=1e-12)


def test_shortfall_and_multiplier_use_only_the_known_draws() -> None:
    cube = _cube()
    report = deficit_risk(cube)
    known = np.isfinite(cube.balance.values)
    # the same statistics on the known draws alone, year by year, from a cube without them
    for i, y in enumerate(YEARS):
        sub = cube.isel(year=[i], draw=np.flatnonzero(known[:, i]))
        ref = deficit_risk(sub)
        for name in ("expected_deficit", "expected_shortfall", "required_premium_multiplier"):
            assert float(report.table[name].sel(year=y)) == pytest.approx(
                float(ref.table[name].sel(year=y)), rel=1e-12
            ), name
    # an expected shortfall with NaN losses equals the one of the finite losses
    loss = xr.DataArray(np.array([5.0, np.nan, 1.0, 3.0, np.nan, 2.0]), dims="draw")
    alone = xr.DataArray(np.array([5.0, 1.0, 3.0, 2.0]), dims="draw")
    assert float(expected_shortfall(loss, 0.5)) == float(expected_shortfall(alone, 0.5)) == 4.0


def test_streaming_summary_gives_the_in_memory_counts_and_probabilities() -> None:
    cube = _cube()
    memory = deficit_risk(cube)
    chunks = deficit_risk_by_chunks(cube, draws_per_chunk=97)
    np.testing.assert_array_equal(chunks.table.n_unknown.values, memory.table.n_unknown.values)
    np.testing.assert_array_equal(chunks.nonfinite.values, memory.nonfinite.values)
    # exact counts on both sides: the probabilities agree to rounding
    for name in ("p_deficit", "p_deficit_lower", "p_deficit_upper", "p_reserve_negative"):
        np.testing.assert_allclose(chunks.table[name], memory.table[name], rtol=1e-14)
    assert chunks.n_unknown_any == memory.n_unknown_any
    assert float(chunks.p_any_deficit.p) == pytest.approx(float(memory.p_any_deficit.p))
    assert float(chunks.p_ruin.p) == pytest.approx(float(memory.p_ruin.p))
    # the multiplier within the sketch's relative accuracy (0.001, summary module docstring)
    np.testing.assert_allclose(
        chunks.table.required_premium_multiplier,
        memory.table.required_premium_multiplier,
        rtol=1e-3,
    )


def test_a_year_without_any_known_draw_is_unknown_not_zero() -> None:
    cube = _cube()
    cube["balance"][:, 2] = np.nan
    report = deficit_risk(cube)
    assert np.isnan(float(report.table.p_deficit.sel(year=2022)))
    assert int(report.table.n_unknown.sel(year=2022)) == cube.sizes["draw"]


def test_horizon_counts_by_brute_force() -> None:
    rng = np.random.default_rng(5)
    known = rng.uniform(size=(300, 4)) > 0.1
    event = (rng.uniform(size=(300, 4)) > 0.8) & known
    n_event, n_unknown = horizon_counts(event, known)
    assert n_event == sum(bool(event[d].any()) for d in range(300))
    assert n_unknown == sum((not event[d].any()) and (not known[d].all()) for d in range(300))
    assert probability_bounds(0.5, 0.2) == (0.4, 0.6000000000000001)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ks_distance_is_scipys_two_sample_statistic(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=57)
    b = rng.normal(0.4, 1.3, size=211)
    b[:5] = a[:5]  # ties across the samples
    assert ks_distance(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-15)


def test_suspects_name_the_one_input_that_overflows() -> None:
    rng = np.random.default_rng(11)
    n = 2000
    culprit = rng.lognormal(0.0, 3.0, n)
    inputs = {
        "noise_a": rng.uniform(size=n),
        "noise_b": rng.normal(size=(n, 5)),  # a per-year input
        "culprit": culprit,
    }
    failed = culprit > np.quantile(culprit, 0.9)  # only the culprit's largest draws fail
    found = failure_suspects(inputs, failed)
    assert found[0].name == "culprit"
    assert found[0].distance == pytest.approx(1.0)
    # unrelated inputs: distances of sampling noise only (KS 1 % critical value, about
    # 1.63 sqrt(1/200 + 1/1800), is 0.12; their largest over 5 years stays near it)
    assert all(s.distance < 0.2 for s in found[1:])
    # a culprit that fails at both ends (e.g. a normal with a huge sd) is still found
    two_sided = rng.normal(size=n)
    failed = np.abs(two_sided) > 1.8
    found = failure_suspects({"x": rng.normal(size=n), "two_sided": two_sided}, failed)
    assert found[0].name == "two_sided"
    assert failure_suspects(inputs, np.zeros(n, bool)) == []
