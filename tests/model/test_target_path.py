"""Moving towards a target (Carrin, Ron & Murray 1993, Annex I.1), and horizons.

The paper's worked example: base year 1992, two years of delay, arrival in
1997. The value keeps its base level in 1992, 1993 and 1994 (the starting
year), closes a third of the gap in each of 1995, 1996 and 1997, and then
stays at the target.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from schemerisk.equations import target_progress, value_on_target_path
from schemerisk.model import project
from schemerisk.scenario import Scenario, YearPath, parse_scenario

BASE_YEAR, DELAY, ARRIVAL = 1992, 2, 1997
YEARS = list(range(1992, 2000))  # horizon 7
BASE, TARGET = 300.0, 600.0
#: base, base, base, +1/3 of the gap, +2/3, target, target, target
EXPECTED = [300.0, 300.0, 300.0, 400.0, 500.0, 600.0, 600.0, 600.0]
PROGRESS = [0.0, 0.0, 0.0, 1 / 3, 2 / 3, 1.0, 1.0, 1.0]


def test_target_progress_paper_example() -> None:
    start = BASE_YEAR + DELAY
    got = [target_progress(y, start, ARRIVAL) for y in YEARS]
    np.testing.assert_allclose(got, PROGRESS, rtol=1e-15, atol=0)


@pytest.mark.parametrize(
    ("base", "target"), [(BASE, TARGET), (TARGET, BASE), (5.0, 5.0), (0.0, 1.0)]
)
def test_value_on_target_path_paper_example(base: float, target: float) -> None:
    start = BASE_YEAR + DELAY
    got = [value_on_target_path(base, target, y, start, ARRIVAL) for y in YEARS]
    expected = [base + (target - base) * p for p in PROGRESS]
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-15)
    assert got[:3] == [base] * 3  # unchanged up to and including the starting year
    assert got[5:] == [target] * 3  # exactly the target from the arrival year on


def test_value_on_target_path_equal_steps() -> None:
    """The value moves by equal steps of (target - v_st) / (ar - st) (Annex I.1)."""
    start = BASE_YEAR + DELAY
    got = np.array([value_on_target_path(BASE, TARGET, y, start, ARRIVAL) for y in YEARS])
    steps = np.diff(got)
    np.testing.assert_allclose(steps, [0, 0, 100, 100, 100, 0, 0], atol=1e-9)


def scenario_yaml(service_extra: str = "", farmers_premium: str = "0", horizon: int = 7) -> str:
    """A one-service scenario with base year 1992 and no inflation."""
    return f"""
name: target_path
base_year: {BASE_YEAR}
horizon: {horizon}
demography: {{population: 1000, growth_rate: 0.01, dependant_share: 0.4}}
economy:
  domestic_inflation: 0
  external_inflation: 0
  exchange_rate: {{rate: 100}}
categories:
  dependants: {{insured_share: 0.5, flat_premium: 10}}
  farmers: {{adult_share: 1, insured_share: 0.5, flat_premium: {farmers_premium}}}
services:
  consultation:
    level: outpatient
    tier: district
    volume: {{rate_per_person: 1.5}}
    patient_cost: {BASE}
    government_cost: {BASE}
    patient_import_share: 0.3
{service_extra}
"""


@pytest.mark.parametrize(
    "target",
    [
        f"{{target: {TARGET}, delay: {DELAY}, arrival: {ARRIVAL}}}",
        f"{{ratio: 2, delay: {DELAY}, arrival: {ARRIVAL}}}",
    ],
)
@pytest.mark.parametrize("which", ["patient_cost", "government_cost"])
def test_unit_cost_target_end_to_end(which: str, target: str) -> None:
    """A unit-cost target moves the projected unit cost along the paper's example."""
    sc = parse_scenario(scenario_yaml(f"    {which}_target: {target}"))
    ds = project(sc)
    assert list(ds.year.values) == YEARS
    moved = "unit_patient_cost" if which == "patient_cost" else "unit_government_cost"
    still = "unit_government_cost" if which == "patient_cost" else "unit_patient_cost"
    np.testing.assert_allclose(ds[moved].sel(service="consultation").values, EXPECTED, rtol=1e-12)
    np.testing.assert_allclose(ds[still].sel(service="consultation").values, [BASE] * 8, rtol=1e-12)


def test_service_rate_target_end_to_end() -> None:
    """A service-rate target moves services per person the same way (MODEL.md 2.8)."""
    text = scenario_yaml() + (
        "service_rate_targets:\n"
        f"  - {{service: consultation, target: 3.0, delay: {DELAY}, arrival: {ARRIVAL}}}\n"
    )
    ds = project(parse_scenario(text))
    per_person = (ds.services.sel(service="consultation") / ds.total_population).values
    np.testing.assert_allclose(per_person, [1.5 * v / BASE for v in EXPECTED], rtol=1e-12)


def test_linear_path_in_yaml_follows_the_example() -> None:
    """A path written {base, target, arrival, delay} expands to the same sequence."""
    premium = f"{{base: {BASE}, target: {TARGET}, arrival: {ARRIVAL}, delay: {DELAY}}}"
    sc = parse_scenario(scenario_yaml(farmers_premium=premium))
    path = sc.category("farmers").flat_premium
    np.testing.assert_allclose(path.values, EXPECTED, rtol=1e-12)
    ds = project(sc)
    np.testing.assert_allclose(ds.premium.sel(category="farmers").values, EXPECTED, rtol=1e-12)


def test_linear_path_without_delay() -> None:
    """With no delay the value first moves in the year after the base year."""
    sc = parse_scenario(scenario_yaml(farmers_premium="{base: 0, target: 30, arrival: 1995}"))
    np.testing.assert_allclose(
        sc.category("farmers").flat_premium.values, [0, 10, 20, 30, 30, 30, 30, 30], rtol=1e-12
    )


# ---------------------------------------------------------------- Scenario.with_horizon


def all_year_paths(obj: object, where: str = "scenario") -> list[tuple[str, YearPath]]:
    """Every YearPath inside a scenario, with where it is."""
    found: list[tuple[str, YearPath]] = []
    if isinstance(obj, YearPath):
        return [(where, obj)]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            found += all_year_paths(getattr(obj, f.name), f"{where}.{f.name}")
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj):
            found += all_year_paths(item, f"{where}[{i}]")
    return found


def short_scenario() -> Scenario:
    """Horizon 3 (1992-1995): a target path, a list, and constants."""
    premium = f"{{base: {BASE}, target: {TARGET}, arrival: {ARRIVAL}, delay: {DELAY}}}"
    text = scenario_yaml(farmers_premium=premium, horizon=3).replace(
        "domestic_inflation: 0", "domestic_inflation: [0, 0.1, 0.2, 0.3]"
    )
    return parse_scenario(text)


def test_with_horizon_recomputes_targets_and_holds_lists() -> None:
    sc = short_scenario()
    np.testing.assert_allclose(sc.category("farmers").flat_premium.values, EXPECTED[:4], rtol=1e-12)
    long = sc.with_horizon(7)
    assert long.horizon == 7
    assert list(long.years) == YEARS
    # a path written as a target is recomputed: it keeps moving after the old horizon
    np.testing.assert_allclose(long.category("farmers").flat_premium.values, EXPECTED, rtol=1e-12)
    # a year-by-year list holds its last value
    assert long.economy.domestic_inflation.values == (0, 0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3)
    # a constant stays constant
    assert long.demography.growth_rate.values == (0.01,) * 8
    assert long.category("dependants").insured_share.values == (0.5,) * 8


def test_with_horizon_shortens() -> None:
    sc = short_scenario().with_horizon(1)
    assert list(sc.years) == [1992, 1993]
    assert sc.economy.domestic_inflation.values == (0, 0.1)
    assert sc.category("farmers").flat_premium.values == (BASE, BASE)


@pytest.mark.parametrize("horizon", [0, 1, 3, 7, 15])
def test_with_horizon_extends_every_path(horizon: int) -> None:
    """No per-year input is left at the old length."""
    sc = short_scenario()
    sc = dataclasses.replace(
        sc,
        administration=parse_scenario(
            scenario_yaml(horizon=3)
            + "administration:\n  staff: {amount: 5, real_growth: [0, 0.1, 0.1, 0.2]}\n"
        ).administration,
    )
    paths = all_year_paths(sc.with_horizon(horizon))
    assert len(paths) == 19  # 5 economy and demography, 6 + 7 by category, 1 admin
    for where, path in paths:
        assert len(path.values) == horizon + 1, where


def test_project_with_horizon_equals_a_longer_file() -> None:
    """``project(sc, horizon=7)`` equals the same file written with horizon 7."""
    premium = f"{{base: {BASE}, target: {TARGET}, arrival: {ARRIVAL}, delay: {DELAY}}}"
    short = parse_scenario(scenario_yaml(farmers_premium=premium, horizon=3))
    long = parse_scenario(scenario_yaml(farmers_premium=premium, horizon=7))
    a, b = project(short, horizon=7), project(long)
    for name in ("balance", "premium_revenue", "services", "members", "unit_patient_cost"):
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_milestone_path_is_extended() -> None:
    """(extension) A path through targets by year is recomputed over a longer horizon."""
    text = scenario_yaml(horizon=3).replace(
        "dependants: {insured_share: 0.5,",
        "dependants: {insured_share: {base: 0.5, targets: {1994: 0.6, 1996: 0.9}},",
    )
    sc = parse_scenario(text)
    np.testing.assert_allclose(
        sc.category("dependants").insured_share.values, [0.5, 0.55, 0.6, 0.75]
    )
    long = sc.with_horizon(7).category("dependants").insured_share.values
    np.testing.assert_allclose(long, [0.5, 0.55, 0.6, 0.75, 0.9, 0.9, 0.9, 0.9])


#: extension blocks holding per-year paths, written for horizon 3
EXTENSION_BLOCKS = {
    "premium_subsidy": "",  # inside a category, see below
    "reserve": "reserve: {initial: 100, interest_rate: [0.05, 0.05, 0.06, 0.06]}\n",
    "provider_payment": (
        "provider_payment:\n"
        "  district: {method: capitation, capitation: [2, 2, 3, 3], performance_bonus: {share: 0.1}}\n"
    ),
    "coverage_target": "coverage_target: {population_share: [0.5, 0.6, 0.7, 0.8]}\n",
}


@pytest.mark.parametrize(
    "block",
    [
        "premium_subsidy",
        "reserve",
        "provider_payment",
        "coverage_target",
    ],
)
@pytest.mark.parametrize("horizon", [1, 7])
def test_with_horizon_extends_extension_blocks(block: str, horizon: int) -> None:
    """Every per-year path of the extension blocks follows the new horizon too."""
    text = scenario_yaml(horizon=3) + EXTENSION_BLOCKS[block]
    if block == "premium_subsidy":
        text = text.replace(
            "flat_premium: 10}",
            "flat_premium: 10, premium_subsidy: {payer: donor, share: [0.1, 0.2, 0.3, 0.4]}}",
        )
    sc = parse_scenario(text)
    field = "subsidies" if block == "premium_subsidy" else block
    assert any(f".{field}" in where for where, _ in all_year_paths(sc))
    for where, path in all_year_paths(sc.with_horizon(horizon)):
        assert len(path.values) == horizon + 1, where
    assert project(sc, horizon=horizon).sizes["year"] == horizon + 1
