"""Past the scenario's own years, currency amounts follow each draw's own prices (issue 11, part 5).

Brute force: for a few draws, the draw's drawn inflation and wage-growth paths
are written into the scenario itself, the scenario is extended by
:meth:`Scenario.with_horizon` (plain Python, the rule's reference) and
projected alone; the draw's row of the Monte Carlo cube must be the same, bit
for bit. The indexation is the same arithmetic in both (``grown`` then
``indexed_amount``, in the same order), and every other input of the draw is
the value written into the scenario, so no rounding can differ: any difference
is an error, not noise.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from schemerisk.analysis.solver import solve_equilibrium
from schemerisk.model import project
from schemerisk.scenario import load_scenario
from schemerisk.scenario.types import YearPath
from schemerisk.uncertainty.montecarlo import bind_space, run_design
from schemerisk.uncertainty.sampling import unit_design

HORIZON = 10  # 1993-2003: 1998-2003 extend the 1993-1997 scenario

PRICES_AND_WAGES = """\
scenario: hai_phong_1993_1997
inputs:
  domestic_inflation:
    target: economy.domestic_inflation
    apply: replace
    time: ar1
    persistence: 0.6
    distribution: {family: lognormal, p05: 0.06, p95: 0.45}
  wage_growth:
    target: categories.*.income_growth
    apply: replace
    time: ar1
    persistence: 0.6
    distribution: {family: lognormal, p05: 0.05, p95: 0.42}
"""


def _cube(tmp_path: Path, extend: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "prices_and_wages.yaml"
    path.write_text(PRICES_AND_WAGES, encoding="utf-8")
    sc = load_scenario("hai_phong_1993_1997").with_horizon(HORIZON, amounts=extend)
    space = bind_space(sc, path)
    design = unit_design(space, 6, 11, "mc")
    return run_design(space, design, keep=["balance", "premium", "domestic_price_index"])


def _brute_force(cube, d: int, extend: str):  # type: ignore[no-untyped-def]
    """The scenario with draw ``d``'s paths written in, extended and projected alone."""
    sc = load_scenario("hai_phong_1993_1997")
    dp = tuple(float(v) for v in cube.input_domestic_inflation.values[d])
    wages = tuple(float(v) for v in cube.input_wage_growth.values[d])
    assert len(dp) == len(wages) == HORIZON + 1
    drawn = dataclasses.replace(
        sc,
        economy=dataclasses.replace(sc.economy, domestic_inflation=YearPath(dp)),
        categories=tuple(
            dataclasses.replace(c, income_growth=YearPath(wages)) for c in sc.categories
        ),
    )
    extended = drawn.with_horizon(HORIZON, amounts=extend)
    return extended, project(extended)


@pytest.mark.parametrize("extend", ["real", "nominal"])
def test_each_draw_equals_its_scenario_extended_alone(tmp_path: Path, extend: str) -> None:
    cube = _cube(tmp_path, extend)
    flat = [
        i
        for i, c in enumerate(load_scenario("hai_phong_1993_1997").categories)
        if c.flat_premium.values[-1] > 0
    ]
    assert flat, "no flat premium to index"
    for d in range(cube.sizes["draw"]):
        extended, alone = _brute_force(cube, d, extend)
        np.testing.assert_array_equal(cube.balance.values[d], alone.balance.values)
        # the premiums the draw paid are the ones the rule wrote into the scenario
        prem = cube.premium.sel(draw=d).transpose("year", "category").values
        for i in flat:
            np.testing.assert_array_equal(prem[:, i], extended.categories[i].flat_premium.values)


def test_indexed_premiums_keep_their_real_value_in_every_draw(tmp_path: Path) -> None:
    cube = _cube(tmp_path, "real")
    sc = load_scenario("hai_phong_1993_1997")
    own = sc.horizon + 1
    i = next(k for k, c in enumerate(sc.categories) if c.flat_premium.values[-1] > 0)
    prem = cube.premium.isel(category=i).transpose("draw", "year").values
    dpi = cube.domestic_price_index.transpose("draw", "year").values
    real = prem[:, own - 1 :] / dpi[:, own - 1 :]
    # the kernel's index (from 100) and the rule's ratio (from 1) are rounded differently:
    # a few ulps over six products, far below 1e-12
    np.testing.assert_allclose(real, real[:, :1] * np.ones_like(real), rtol=1e-12)
    # the draws' price paths differ, so their premiums in 2003 do too (the plan's index would not)
    assert np.unique(prem[:, -1]).size == prem.shape[0]


def test_nominal_extension_holds_the_last_amount_in_every_draw(tmp_path: Path) -> None:
    cube = _cube(tmp_path, "nominal")
    sc = load_scenario("hai_phong_1993_1997")
    own = sc.horizon + 1
    prem = cube.premium.transpose("draw", "year", "category").values
    np.testing.assert_array_equal(prem[:, own:, 0], np.repeat(prem[:, own - 1 : own, 0], 6, 1))


def test_indexed_from_marks_only_extended_scenarios() -> None:
    sc = load_scenario("hai_phong_1993_1997")
    assert sc.indexed_from == 0
    assert sc.with_horizon(10).indexed_from == sc.horizon + 1
    assert sc.with_horizon(10, amounts="nominal").indexed_from == 0
    assert sc.with_horizon(3).indexed_from == 0
    # a second extension keeps the first year past the scenario's own
    assert sc.with_horizon(10).with_horizon(12).indexed_from == sc.horizon + 1
    assert sc.with_horizon(10).with_horizon(4).indexed_from == 0


def test_solved_premiums_are_not_indexed_again() -> None:
    # the solver writes a premium for every year: the kernel must not overwrite the added years
    sol = solve_equilibrium(load_scenario("hai_phong_1993_1997").with_horizon(8))
    assert sol.scenario.indexed_from == 0
    # balance zero every year; 1e-6 of revenue allows the multiplier's rounding
    rev = np.abs(sol.result.premium_revenue.values)
    assert np.all(np.abs(sol.result.balance.values) <= 1e-6 * rev)
