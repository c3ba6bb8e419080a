"""Expected value of (partial) perfect information for setting the premium (voi.py).

Checked for the properties any EVPPI must have (non-negative, at most EVPI, never lower
for a larger group, about zero for an input the output ignores), on synthetic cubes where
the answer is known, and for the best decision against a brute-force search written here.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from schemerisk.analysis.solver import Adjust
from schemerisk.analysis.voi import PremiumDecision, net_benefit, spline_basis, value_of_information
from schemerisk.uncertainty.montecarlo import simulate

NAME = "hai_phong_1993_1997"
N_DRAWS = 3000


@pytest.fixture(scope="module")
def cube() -> xr.Dataset:
    """A Monte Carlo cube of the scheme, plus an input ``noise`` the model never saw."""
    c = simulate(NAME, NAME, N_DRAWS, seed=7, progress=False)
    c["input_noise"] = ("draw", np.random.default_rng(1).normal(size=N_DRAWS))
    return c


def _entries(cube: xr.Dataset) -> list[str]:
    return [str(v).removeprefix("input_") for v in cube.data_vars if str(v).startswith("input_")]


PAIRS = {
    "admission_rate + insured_use": ("admission_rate", "insured_use"),
    "domestic_inflation + wage_growth": ("domestic_inflation", "wage_growth"),
    "voluntary_uptake_farmers + voluntary_uptake_dependants": (
        "voluntary_uptake_farmers",
        "voluntary_uptake_dependants",
    ),
    "district_inpatient_day_cost + district_consultations": (
        "district_inpatient_day_cost",
        "district_consultations",
    ),
}


@pytest.fixture(scope="module")
def voi(cube: xr.Dataset) -> xr.Dataset:
    groups: dict[str, tuple[str, ...]] = {e: (e,) for e in _entries(cube)}
    groups.update(PAIRS)
    groups["everything"] = tuple(e for e in _entries(cube) if e != "noise")
    return value_of_information(cube, groups).table


def test_table_layout(voi: xr.Dataset, cube: xr.Dataset) -> None:
    assert voi.evppi.dims == ("input", "year")
    for v in ("evpi", "evpi_se", "best_multiplier", "expected_loss"):
        assert voi[v].dims == ("year",)
    assert voi.attrs["n_draws"] == N_DRAWS
    assert voi.attrs["currency"] == "VND"
    # one group per entry by default
    default = value_of_information(cube.isel(draw=slice(0, 300)))
    assert list(default.table.input.values) == _entries(cube)


def test_evppi_is_non_negative_and_at_most_evpi(voi: xr.Dataset) -> None:
    assert np.all(voi.evpi.values > 0)
    assert np.all(voi.evppi.values >= 0.0)
    slack = 2.0 * (voi.evppi_se + voi.evpi_se)
    assert bool((voi.evppi <= voi.evpi + slack).all())


def test_evppi_never_falls_when_an_input_joins_the_group(voi: xr.Dataset) -> None:
    for pair, members in PAIRS.items():
        for m in members:
            slack = 2.0 * (voi.evppi_se.sel(input=pair) + voi.evppi_se.sel(input=m))
            assert bool((voi.evppi.sel(input=pair) >= voi.evppi.sel(input=m) - slack).all()), (
                pair,
                m,
            )
    everything = voi.evppi.sel(input="everything")
    for pair in PAIRS:
        slack = 2.0 * (voi.evppi_se.sel(input="everything") + voi.evppi_se.sel(input=pair))
        assert bool((everything >= voi.evppi.sel(input=pair) - slack).all()), pair


def test_an_input_the_model_ignores_is_worth_about_nothing(voi: xr.Dataset) -> None:
    share = voi.evppi.sel(input="noise") / voi.evpi
    assert bool((share < 0.02).all()), share.values
    # ... while an input that matters is worth far more
    assert bool((voi.evppi.sel(input="insured_use") > 5 * voi.evppi.sel(input="noise")).all())


def test_base_year_inflation_is_worth_little_in_the_base_year(voi: xr.Dataset) -> None:
    """1993 inflation is not used by the model; its 1993 worth is regression noise only."""
    early = float(voi.evppi.sel(input="domestic_inflation", year=1993) / voi.evpi.sel(year=1993))
    late = float(voi.evppi.sel(input="domestic_inflation", year=1997) / voi.evpi.sel(year=1997))
    assert early < 0.03 < 0.1 < late


def test_evppi_of_all_inputs_is_about_evpi(voi: xr.Dataset) -> None:
    ratio = voi.evppi.sel(input="everything") / voi.evpi
    np.testing.assert_allclose(ratio.values, 1.0, atol=0.10)


def _synthetic(n: int = 4000, seed: int = 3) -> xr.Dataset:
    """Balance known exactly from the inputs: year 2000 from x alone, 2001 from x and z."""
    rng = np.random.default_rng(seed)
    x, z, noise = rng.uniform(size=n), rng.normal(size=n), rng.normal(size=n)
    bal = np.column_stack([100.0 * (x - 0.4), 100.0 * (x - 0.4) + 30.0 * z])
    return xr.Dataset(
        {
            "balance": (("draw", "year"), bal),
            "premium_revenue": (("draw", "year"), np.full((n, 2), 100.0)),
            "input_x": ("draw", x),
            "input_z": ("draw", z),
            "input_noise": ("draw", noise),
        },
        coords={"year": [2000, 2001]},
        attrs={"currency": "LCU"},
    )


def test_evppi_of_the_one_input_that_matters_is_about_evpi() -> None:
    t = value_of_information(_synthetic(), {"x": ("x",), "noise": ("noise",)}).table
    assert float(t.evppi.sel(input="x", year=2000) / t.evpi.sel(year=2000)) == pytest.approx(
        1.0, abs=0.10
    )
    assert float(t.evppi.sel(input="noise", year=2000) / t.evpi.sel(year=2000)) < 0.02


def test_evppi_of_two_inputs_that_fix_the_balance_is_about_evpi() -> None:
    t = value_of_information(_synthetic(), {"x + z": ("x", "z")}).table
    ratio = float(t.evppi.sel(input="x + z", year=2001) / t.evpi.sel(year=2001))
    assert ratio == pytest.approx(1.0, abs=0.10)


# --- the decision today -------------------------------------------------------------------


def _expected_loss(
    bal: np.ndarray, rev: np.ndarray, k: np.ndarray, d: PremiumDecision
) -> np.ndarray:
    """Mean loss over draws of each multiplier in ``k`` (one year)."""
    b = bal[:, None] + (k[None, :] - 1.0) * rev[:, None]
    return (d.deficit_cost * np.maximum(-b, 0) + d.surplus_cost * np.maximum(b, 0)).mean(axis=0)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][np.searchsorted(cum, q)])


@pytest.mark.parametrize(("deficit_cost", "surplus_cost"), [(2.0, 1.0), (1.0, 1.0), (5.0, 1.0)])
def test_best_multiplier_minimises_the_expected_loss(
    cube: xr.Dataset, deficit_cost: float, surplus_cost: float
) -> None:
    d = PremiumDecision(deficit_cost, surplus_cost)
    cube = cube.isel(draw=slice(0, 1500))
    t = value_of_information(cube, {"admission_rate": ("admission_rate",)}, d).table
    bal = cube.balance.transpose("draw", "year").values
    rev = cube.premium_revenue.transpose("draw", "year").values
    breakeven = 1.0 - bal / rev
    for i in range(bal.shape[1]):
        lo = min(np.quantile(breakeven[:, i], 0.001), 1.0)
        hi = max(np.quantile(breakeven[:, i], 0.999), 1.0)
        step = (hi - lo) / (d.n_decisions - 1)
        fine = np.linspace(lo, hi, 2001)  # 16 times finer than the decision grid
        losses = _expected_loss(bal[:, i], rev[:, i], fine, d)
        k_best = float(t.best_multiplier[i])
        at_best = _expected_loss(bal[:, i], rev[:, i], np.array([k_best]), d)[0]
        assert float(t.expected_loss[i]) == pytest.approx(at_best, rel=1e-9)
        assert abs(k_best - fine[np.argmin(losses)]) <= step * 1.0001
        # within one grid step of the optimum the loss cannot rise by more than step * E[R] * cost
        assert at_best - losses.min() <= step * rev[:, i].mean() * max(deficit_cost, surplus_cost)
        # the optimum is the revenue-weighted quantile of the break-even multipliers at
        # deficit_cost / (deficit_cost + surplus_cost)
        q = _weighted_quantile(
            breakeven[:, i], rev[:, i], deficit_cost / (deficit_cost + surplus_cost)
        )
        assert abs(k_best - q) <= step * 1.0001
        # today's best decision loses what perfect information would save, give or take the grid
        assert float(t.evpi[i]) == pytest.approx(at_best, rel=0.05)


def test_equal_costs_set_the_median_balance_to_zero() -> None:
    cube = _synthetic()
    t = value_of_information(cube, decision=PremiumDecision(1.0, 1.0)).table
    bal = cube.balance.values
    for i in range(2):
        lo = min(np.quantile(1 - bal[:, i] / 100, 0.001), 1.0)
        hi = max(np.quantile(1 - bal[:, i] / 100, 0.999), 1.0)
        step = (hi - lo) / 120
        k = float(t.best_multiplier[i])
        assert k == pytest.approx(1.0 - np.median(bal[:, i]) / 100.0, abs=step)
        assert abs(np.median(bal[:, i] + (k - 1.0) * 100.0)) <= step * 100.0


def test_net_benefit_grid_holds_the_plan_and_the_break_evens(cube: xr.Dataset) -> None:
    nb, grid = net_benefit(cube, PremiumDecision(n_decisions=31))
    assert nb.shape == (N_DRAWS, 5, 31) and grid.shape == (5, 31)
    assert np.all(nb <= 0)
    assert np.all(grid[:, 0] <= 1.0) and np.all(grid[:, -1] >= 1.0)
    assert np.all(np.diff(grid, axis=1) > 0)
    # the plan's net benefit is minus the loss of the planned premiums
    bal = cube.balance.transpose("draw", "year").values
    loss_at_plan = 2.0 * np.maximum(-bal, 0) + np.maximum(bal, 0)
    for i in range(5):
        j = np.argmin(np.abs(grid[i] - 1.0))
        k = grid[i, j]
        b = bal[:, i] + (k - 1.0) * cube.premium_revenue.values[:, i]
        np.testing.assert_allclose(
            -nb[:, i, j], 2.0 * np.maximum(-b, 0) + np.maximum(b, 0), rtol=1e-12
        )
    assert loss_at_plan.mean() > 0


def test_flat_premium_decision_scales_only_flat_premium_revenue(cube: xr.Dataset) -> None:
    d = PremiumDecision(adjust=Adjust.FLAT_PREMIUMS, n_decisions=11)
    nb, grid = net_benefit(cube, d)
    bal = cube.balance.transpose("draw", "year").values
    flat = cube.flat_premium_revenue.transpose("draw", "year").values
    b = bal[:, 2, None] + (grid[None, 2, :] - 1.0) * flat[:, 2, None]
    np.testing.assert_allclose(-nb[:, 2, :], 2.0 * np.maximum(-b, 0) + np.maximum(b, 0), rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"deficit_cost": -1.0},
        {"surplus_cost": -0.5},
        {"deficit_cost": 0.0, "surplus_cost": 0.0},
        {"n_decisions": 2},
    ],
)
def test_bad_decisions_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PremiumDecision(**kwargs)  # type: ignore[arg-type]


def test_spline_basis() -> None:
    x = np.random.default_rng(0).uniform(2.0, 5.0, 500)
    basis = spline_basis(x, n_knots=6)
    assert basis.shape == (500, 6 + 3 + 1)  # interior knots + degree + 1
    np.testing.assert_allclose(basis.sum(axis=1), 1.0, atol=1e-12)  # a partition of unity
    assert np.all(basis >= -1e-15)
    assert spline_basis(np.full(10, 3.0)).shape == (10, 0)  # a constant input explains nothing
    discrete = np.array([1.0, 2.0, 3.0, 1.0, 2.0])
    np.testing.assert_array_equal(spline_basis(discrete), [[0, 0], [1, 0], [0, 1], [0, 0], [1, 0]])
