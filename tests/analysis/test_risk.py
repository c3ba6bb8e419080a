"""Deficit risk from a Monte Carlo cube (UNCERTAINTY.md section 4), checked against numbers
computed here from the cube's own draws: counts of negative balances, scipy's Wilson
interval, hand-made loss vectors, the break-even multiplier applied draw by draw and the
model re-run with scaled premiums, and a reserve fund carried forward by hand.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from schemerisk.analysis.risk import (
    DEFICIT_SIZES,
    deficit_risk,
    expected_shortfall,
    format_risk,
    probability,
    required_multiplier,
    wilson_interval,
)
from schemerisk.cli import main
from schemerisk.io import write_dataset
from schemerisk.scenario import load_scenario, resolve_scenario
from schemerisk.scenario.types import Scenario, YearPath
from schemerisk.uncertainty.montecarlo import simulate

NAME = "hai_phong_1993_1997"
N_DRAWS = 2000
SEED = 11
#: a draw exactly at break-even has a balance of zero up to rounding: count a deficit only
#: below this share of revenue when checking a multiplier by applying it
ROUNDING = 1e-9


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(NAME)


@pytest.fixture(scope="module")
def cube(scenario: Scenario) -> xr.Dataset:
    return simulate(scenario, NAME, N_DRAWS, seed=SEED, progress=False)


@pytest.fixture(scope="module")
def arrays(cube: xr.Dataset) -> dict[str, np.ndarray]:
    """The cube's variables as plain (draw, year) arrays, for counting by hand."""
    return {
        v: cube[v].transpose("draw", "year").values
        for v in (
            "balance",
            "premium_revenue",
            "flat_premium_revenue",
            "contribution_revenue",
            "total_expenditure",
        )
    }


@pytest.fixture(scope="module")
def report(cube: xr.Dataset):  # type: ignore[no-untyped-def]
    return deficit_risk(cube)


# --- probabilities -------------------------------------------------------------------------


def test_p_deficit_is_the_share_of_draws_with_a_negative_balance(report, arrays) -> None:  # type: ignore[no-untyped-def]
    bal = arrays["balance"]
    count = (bal < 0).sum(axis=0)
    p = count / bal.shape[0]
    assert 0.05 < p.min() and p.max() < 0.95  # a non-trivial case: the test can fail
    np.testing.assert_array_equal(report.table.p_deficit.values, p)
    np.testing.assert_allclose(
        report.table.p_deficit_se.values, np.sqrt(p * (1 - p) / bal.shape[0]), rtol=1e-12
    )
    for t, k in enumerate(count):
        ci = stats.binomtest(int(k), bal.shape[0]).proportion_ci(method="wilson")
        assert report.table.p_deficit_lower.values[t] == pytest.approx(ci.low, abs=1e-12)
        assert report.table.p_deficit_upper.values[t] == pytest.approx(ci.high, abs=1e-12)


def test_p_any_deficit_is_the_share_of_draws_with_at_least_one_deficit(report, arrays) -> None:  # type: ignore[no-untyped-def]
    bal = arrays["balance"]
    k = int(np.any(bal < 0, axis=1).sum())
    n = bal.shape[0]
    assert float(report.p_any_deficit.p) == k / n
    assert float(report.p_any_deficit.p) >= float(report.table.p_deficit.max())
    ci = stats.binomtest(k, n).proportion_ci(method="wilson")
    assert float(report.p_any_deficit.lower) == pytest.approx(ci.low, abs=1e-12)
    assert float(report.p_any_deficit.upper) == pytest.approx(ci.high, abs=1e-12)
    assert report.n_draws == n


@pytest.mark.parametrize("n", [1, 2, 7, 30, 100, 401, 2000])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_interval_agrees_with_scipy(n: int, confidence: float) -> None:
    ks = np.unique(np.r_[0, 1, 2, np.linspace(0, n, 25).round().astype(int), n - 1, n].clip(0, n))
    lo, hi = wilson_interval(xr.DataArray(ks, dims="case"), n, confidence)
    for i, k in enumerate(ks):
        ci = stats.binomtest(int(k), n).proportion_ci(confidence_level=confidence, method="wilson")
        assert lo.values[i] == pytest.approx(ci.low, abs=1e-12), (k, n)
        assert hi.values[i] == pytest.approx(ci.high, abs=1e-12), (k, n)
    assert lo.values[0] == pytest.approx(0.0, abs=1e-15)  # k = 0
    assert hi.values[-1] == pytest.approx(1.0, abs=1e-15)  # k = n


@pytest.mark.parametrize("p", [0.02, 0.3, 0.7])
def test_wilson_interval_covers_the_true_probability(p: float) -> None:
    n, reps = 400, 2000
    rng = np.random.default_rng(20240 + int(1000 * p))
    k = rng.binomial(n, p, reps)
    lo, hi = wilson_interval(xr.DataArray(k, dims="rep"), n)
    covered = (lo.values <= p) & (p <= hi.values)
    assert 0.93 <= covered.mean() <= 0.97
    # the exact coverage (binomial probabilities of the k whose interval holds p)
    grid = np.arange(n + 1)
    glo, ghi = wilson_interval(xr.DataArray(grid, dims="k"), n)
    exact = stats.binom.pmf(grid, n, p)[(glo.values <= p) & (p <= ghi.values)].sum()
    assert 0.93 <= exact <= 0.97


def test_probability_of_an_event_along_any_dimension() -> None:
    event = xr.DataArray(
        np.array([[True, False], [True, True], [False, False], [True, False]]),
        dims=("draw", "year"),
    )
    res = probability(event)
    np.testing.assert_allclose(res.p.values, [0.75, 0.25])
    np.testing.assert_allclose(res.se.values, np.sqrt([0.75 * 0.25 / 4, 0.25 * 0.75 / 4]))


# --- size of the shortfall ---------------------------------------------------------------


def _es_by_hand(loss: np.ndarray, level: float) -> float:
    """Mean of the worst (1 - level) n losses, the boundary loss counted fractionally."""
    srt = np.sort(loss)[::-1]
    tail = (1 - level) * loss.size
    whole = int(np.floor(tail + 1e-9))
    frac = tail - whole
    total = srt[:whole].sum() + (frac * srt[whole] if frac > 1e-9 else 0.0)
    return float(total / tail)


def test_expected_shortfall_of_1_to_100_is_the_mean_of_the_top_five() -> None:
    loss = np.random.default_rng(0).permutation(np.arange(1.0, 101.0))
    es = expected_shortfall(xr.DataArray(loss, dims="draw"), 0.95)
    assert float(es) == pytest.approx(np.mean([96, 97, 98, 99, 100]), rel=1e-12)


@pytest.mark.parametrize(
    ("n", "level", "expected"),
    [
        (30, 0.95, (30 + 0.5 * 29) / 1.5),  # tail of 1.5 draws
        (25, 0.90, (25 + 24 + 0.5 * 23) / 2.5),  # tail of 2.5 draws
        (40, 0.99, 40.0),  # tail of 0.4 draws: the worst one alone
        (7, 0.5, (7 + 6 + 5 + 0.5 * 4) / 3.5),
    ],
)
def test_expected_shortfall_weights_the_boundary_draw(
    n: int, level: float, expected: float
) -> None:
    loss = np.random.default_rng(n).permutation(np.arange(1.0, n + 1.0))
    es = expected_shortfall(xr.DataArray(loss, dims="draw"), level)
    assert float(es) == pytest.approx(expected, rel=1e-12)


def test_expected_shortfall_works_per_year_whatever_the_dimension_order() -> None:
    rng = np.random.default_rng(5)
    loss = rng.gamma(2.0, 3.0, size=(4, 333))
    es = expected_shortfall(xr.DataArray(loss, dims=("year", "draw")), 0.95)
    assert es.dims == ("year",)
    np.testing.assert_allclose(es.values, [_es_by_hand(row, 0.95) for row in loss], rtol=1e-12)


def test_report_shortfall_and_expected_deficit_by_hand(report, arrays) -> None:  # type: ignore[no-untyped-def]
    bal, rev = arrays["balance"], arrays["premium_revenue"]
    loss = np.maximum(-bal, 0.0)
    share = loss / rev
    for t in range(bal.shape[1]):
        # over all draws, a surplus counting as zero deficit
        assert report.table.expected_deficit.values[t] == pytest.approx(
            loss[:, t].sum() / bal.shape[0], rel=1e-12
        )
        assert report.table.expected_deficit_share.values[t] == pytest.approx(
            share[:, t].sum() / bal.shape[0], rel=1e-12
        )
        assert report.table.expected_shortfall.values[t] == pytest.approx(
            _es_by_hand(loss[:, t], 0.95), rel=1e-12
        )
        assert report.table.expected_shortfall_share.values[t] == pytest.approx(
            _es_by_hand(share[:, t], 0.95), rel=1e-12
        )
    # the worst 5 % average more than the typical deficit
    assert np.all(report.table.expected_shortfall.values > report.table.expected_deficit.values)


@pytest.mark.parametrize("n_deficits", [0, 1, 7, 19, 20, 21, 150])
def test_deficit_sizes_never_contradict_each_other(n_deficits: int) -> None:
    # 400 draws, 20 of them in the worst 5 %: fewer, as many and more deficits than that; the
    # issue's case (Lao 2017) is a P(deficit) below 5 %, where a mean over the deficits alone
    # exceeded the worst-5 % average
    rng = np.random.default_rng(n_deficits)
    n, years = 400, 3
    bal = rng.uniform(1.0, 50.0, size=(n, years))
    bal[:n_deficits] = -rng.lognormal(3.0, 1.0, size=(n_deficits, years))
    bal = rng.permuted(bal, axis=0)
    rev = rng.uniform(80.0, 120.0, size=(n, years))
    cube = xr.Dataset(
        {"balance": (("draw", "year"), bal), "premium_revenue": (("draw", "year"), rev)},
        coords={"year": [2017, 2018, 2019]},
    )
    t = deficit_risk(cube).table
    for y in range(years):
        loss = np.maximum(-bal[:, y], 0.0)
        worst = np.sort(loss)[::-1][:20]  # the worst 5 % of 400 draws, surpluses as zero
        assert float(t.p_deficit[y]) == n_deficits / n
        assert float(t.expected_deficit[y]) == pytest.approx(loss.mean(), rel=1e-12, abs=0.0)
        assert float(t.expected_shortfall[y]) == pytest.approx(worst.mean(), rel=1e-12, abs=0.0)
        assert float(t.expected_deficit[y]) <= float(t.expected_shortfall[y]) <= loss.max()
        share = loss / rev[:, y]
        assert float(t.expected_deficit_share[y]) == pytest.approx(share.mean(), rel=1e-12)
        assert float(t.expected_shortfall_share[y]) == pytest.approx(
            np.sort(share)[::-1][:20].mean(), rel=1e-12
        )
    if n_deficits == 0:  # no deficit at all: both sizes are zero, not missing
        assert np.all(t.expected_deficit.values == 0.0)
        assert np.all(t.expected_shortfall.values == 0.0)


def test_deficit_sizes_are_defined_once_for_every_output(report) -> None:  # type: ignore[no-untyped-def]
    text = format_risk(report)
    doc = report.to_json_dict()
    for key, definition in DEFICIT_SIZES.items():
        assert definition in text
        assert doc["definitions"][key] == definition
    assert "a surplus counting as zero deficit" in report.table.expected_deficit.attrs["long_name"]


# --- the premium that prevents deficits --------------------------------------------------


@pytest.mark.parametrize("level", [0.01, 0.05, 0.2])
@pytest.mark.parametrize(
    ("adjust", "revenue"),
    [
        ("all-premiums", "premium_revenue"),
        ("flat-premiums", "flat_premium_revenue"),
        ("contribution-rates", "contribution_revenue"),
    ],
)
def test_required_multiplier_is_the_smallest_that_meets_the_level(
    cube: xr.Dataset, arrays: dict[str, np.ndarray], level: float, adjust: str, revenue: str
) -> None:
    k = required_multiplier(cube, level, adjust).values
    bal, scaled, total = arrays["balance"], arrays[revenue], arrays["premium_revenue"]
    for t in range(bal.shape[1]):
        if not np.isfinite(k[t]):  # not achievable by these premiums alone
            continue
        at_k = bal[:, t] + (k[t] - 1.0) * scaled[:, t]
        below = bal[:, t] + (k[t] - 1e-6 - 1.0) * scaled[:, t]
        assert np.mean(at_k < -ROUNDING * total[:, t]) <= level, (t, k[t])
        assert np.mean(below < 0) > level, (t, k[t])


def test_required_multiplier_is_infinite_when_the_premiums_raise_nothing() -> None:
    bal = np.array([[-1.0], [2.0], [-3.0], [1.0]])
    cube = xr.Dataset(
        {
            "balance": (("draw", "year"), bal),
            "premium_revenue": (("draw", "year"), np.array([[0.0], [5.0], [3.0], [4.0]])),
            "flat_premium_revenue": (("draw", "year"), np.array([[0.0], [5.0], [3.0], [4.0]])),
            "contribution_revenue": (("draw", "year"), np.zeros((4, 1))),
            "total_expenditure": (("draw", "year"), np.array([[1.0], [3.0], [6.0], [3.0]])),
        },
        coords={"year": [2000]},
    )
    assert np.isinf(float(required_multiplier(cube, 0.05).squeeze()))
    # 3 of 4 draws can be balanced; allowing 25 % in deficit leaves the worst of them: k = 6/3
    assert float(required_multiplier(cube, 0.25).squeeze()) == pytest.approx(2.0)


def _scaled_premiums(sc: Scenario, k: np.ndarray) -> Scenario:
    """The scenario with every premium (flat and rate) multiplied by k_t in year t."""

    def scale(path: YearPath) -> YearPath:
        return YearPath(
            tuple(v * m for v, m in zip(path.values, k, strict=True)), given_values=True
        )

    cats = tuple(
        dataclasses.replace(
            c, flat_premium=scale(c.flat_premium), contribution_rate=scale(c.contribution_rate)
        )
        for c in sc.categories
    )
    return dataclasses.replace(sc, categories=cats)


def test_required_multiplier_keeps_the_rerun_model_within_the_level(scenario: Scenario) -> None:
    n, seed, level = 600, 3, 0.05
    base = simulate(scenario, NAME, n, seed=seed, progress=False)
    k = deficit_risk(base, level=level).table.required_premium_multiplier.values
    assert np.all(k > 1.0)  # this scheme needs more than its planned premiums
    rerun = simulate(_scaled_premiums(scenario, k), NAME, n, seed=seed, progress=False)
    np.testing.assert_array_equal(
        rerun.input_admission_rate.values, base.input_admission_rate.values
    )
    bal, rev = rerun.balance.values, rerun.premium_revenue.values
    assert np.all((bal < -ROUNDING * rev).mean(axis=0) <= level)
    lower = simulate(_scaled_premiums(scenario, k - 1e-6), NAME, n, seed=seed, progress=False)
    assert np.all((lower.balance.values < 0).mean(axis=0) > level)


def test_required_multiplier_rerun_counts_strict_deficits(scenario: Scenario) -> None:
    n, seed = 500, 3
    base = simulate(scenario, NAME, n, seed=seed, progress=False)
    worst = []
    for level in (0.02, 0.05, 0.1, 0.25):
        k = deficit_risk(base, level=level).table.required_premium_multiplier.values
        rerun = simulate(_scaled_premiums(scenario, k), NAME, n, seed=seed, progress=False)
        worst.append(float((rerun.balance.values < 0).mean(axis=0).max()) - level)
    assert max(worst) <= 0.0, worst


# --- reserve fund and ruin ---------------------------------------------------------------

RESERVE = 1.5e9
INTEREST = [0.04, 0.05, 0.06, 0.07, 0.08]


@pytest.fixture(scope="module")
def reserve_cube(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    text = resolve_scenario(NAME).read_text(encoding="utf-8")
    text += f"\nreserve:\n  initial: {RESERVE:.0f}\n  interest_rate: {INTEREST}\n"
    path = tmp_path_factory.mktemp("reserve") / "with_reserve.yaml"
    path.write_text(text, encoding="utf-8")
    return simulate(path, NAME, 1000, seed=4, progress=False)


def test_reserve_is_the_balance_carried_forward_with_interest(reserve_cube: xr.Dataset) -> None:
    bal = reserve_cube.balance.transpose("draw", "year").values
    expected = np.empty_like(bal)
    opening = np.full(bal.shape[0], RESERVE)
    for t in range(bal.shape[1]):
        opening = opening * (1.0 + INTEREST[t]) + bal[:, t]
        expected[:, t] = opening
    np.testing.assert_allclose(
        reserve_cube.reserve.transpose("draw", "year").values, expected, rtol=1e-12, atol=1e-3
    )


def test_probability_of_ruin_is_the_share_of_draws_whose_reserve_goes_negative(
    reserve_cube: xr.Dataset,
) -> None:
    rep = deficit_risk(reserve_cube)
    res = reserve_cube.reserve.transpose("draw", "year").values
    ruined = np.any(res < 0, axis=1)
    assert 0.05 < ruined.mean() < 0.95  # non-trivial
    assert rep.p_ruin is not None
    assert float(rep.p_ruin.p) == ruined.mean()
    ci = stats.binomtest(int(ruined.sum()), ruined.size).proportion_ci(method="wilson")
    assert float(rep.p_ruin.lower) == pytest.approx(ci.low, abs=1e-12)
    np.testing.assert_array_equal(rep.table.p_reserve_negative.values, (res < 0).mean(axis=0))
    # a reserve of 1.5 billion VND absorbs some deficits: ruin is rarer than any deficit
    assert float(rep.p_ruin.p) < float(rep.p_any_deficit.p)
    assert "P(ruin" in format_risk(rep)
    assert rep.to_json_dict()["p_ruin"]["p"] == ruined.mean()


def test_ruin_from_a_streaming_summary_equals_ruin_from_the_cube(
    reserve_cube: xr.Dataset,
) -> None:
    from schemerisk.analysis.risk import risk_from_summary
    from schemerisk.uncertainty.distributed import make_job, run_to_store, summary_dataset
    from schemerisk.uncertainty.montecarlo import bind_space
    from schemerisk.uncertainty.sampling import unit_design

    space = bind_space(reserve_cube.attrs["scenario_file"], NAME)
    job = make_job(space, unit_design(space, 1000, 4), keep="summary", chunk_size=300)
    summary = summary_dataset(job, run_to_store(job, None, progress=False).summary)
    got, full = risk_from_summary(summary), deficit_risk(reserve_cube)
    assert got.p_ruin is not None and full.p_ruin is not None
    for k in ("p", "se", "lower", "upper"):
        assert float(got.p_ruin[k]) == pytest.approx(float(full.p_ruin[k]), rel=1e-12)
    np.testing.assert_array_equal(got.table.p_reserve_negative, full.table.p_reserve_negative)
    assert "P(ruin" in format_risk(got)


def test_no_ruin_without_a_reserve_fund(report, cube: xr.Dataset) -> None:  # type: ignore[no-untyped-def]
    """Without a reserve block the cube's ``reserve`` is only the cumulated balance: no ruin."""
    assert "reserve" in cube
    assert report.p_ruin is None
    assert "p_reserve_negative" not in report.table
    assert "p_ruin" not in report.to_json_dict()
    assert "P(ruin" not in format_risk(report)


# --- JSON ----------------------------------------------------------------------------------


def test_risk_command_prints_json(
    cube: xr.Dataset,
    arrays: dict[str, np.ndarray],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_dataset(cube, tmp_path / "cube.nc")
    capsys.readouterr()
    assert main(["risk", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("p_deficit", "p_any_deficit", "expected_shortfall", "required_premium_multiplier"):
        assert key in doc
    years = [str(int(y)) for y in cube.year.values]
    assert list(doc["p_deficit"]) == years
    counted = (arrays["balance"] < 0).mean(axis=0)
    assert [doc["p_deficit"][y] for y in years] == pytest.approx(counted, abs=1e-15)
    assert doc["p_any_deficit"]["p"] == pytest.approx(np.any(arrays["balance"] < 0, axis=1).mean())
    assert set(doc["p_any_deficit"]) == {"p", "se", "lower", "upper"}
    assert list(doc["expected_shortfall"]) == years
    assert all(doc["required_premium_multiplier"][y] > 1.0 for y in years)
    assert doc["n_draws"] == N_DRAWS


def test_risk_from_a_scenario_prints_only_json_on_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["risk", NAME, NAME, "-n", "300", "--json", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)  # nothing but the JSON
    assert doc["n_draws"] == 300
    assert doc["units"]["expected_deficit"] == "VND/yr"
    assert doc["definitions"] == DEFICIT_SIZES
    assert "300 projections" in err  # the note went to stderr


def test_risk_command_prints_tables(
    cube: xr.Dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_dataset(cube, tmp_path / "cube.nc")
    capsys.readouterr()
    assert main(["risk", str(path), "--level", "0.1"]) == 0
    out = capsys.readouterr().out
    assert f"Deficit risk from {N_DRAWS:,} projections" in out
    assert "P(at least one deficit over the horizon)" in out
    assert "at or below 10%" in out
