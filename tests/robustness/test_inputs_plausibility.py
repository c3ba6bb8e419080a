"""Rates written as whole percentages, and the explicit percent form (issue 12, finding 6).

``domestic_inflation: 15`` passed validation and gave a price index of 6,553,600 by 1997.
Now a plain number above a rate's plausible bound is an error that shows it as a percentage
and suggests the fraction; the same value written with a percent sign is accepted on purpose;
``15 %`` means 0.15 for every rate and share, and only there.
"""

from __future__ import annotations

import numpy as np
import pytest

from schemerisk.errors import ScenarioError
from schemerisk.model import project
from schemerisk.scenario.parse import parse_scenario
from tests.robustness.inputs_support import SCENARIO_TEXT, dump, scenario_doc


def _with(old: str, new: str) -> str:
    assert old in SCENARIO_TEXT, old
    return SCENARIO_TEXT.replace(old, new, 1)


def _problems(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="s.yaml")
    return info.value.render()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "domestic_inflation: 0.15",
            "domestic_inflation: 15",
            "economy.domestic_inflation (line 20): 15 is 1,500 %/yr; did you mean 0.15?",
        ),
        (
            "external_inflation: 0.05",
            "external_inflation: 5",
            "economy.external_inflation (line 21): 5 is 500 %/yr; did you mean 0.05?",
        ),
        (
            "growth_rate: 0.022",
            "growth_rate: 2.2",
            "demography.growth_rate (line 16): 2.2 is 220 %/yr; did you mean 0.022?",
        ),
        (
            "growth_rate: 0.022",
            "growth_rate: 0.15",  # above the population's bound of 10 %/yr, below other rates'
            "demography.growth_rate (line 16): 0.15 is 15 %/yr; did you mean 0.0015?",
        ),
        (
            "admission_rate: 0.08",
            "admission_rate: 8",
            "admission_rate (line 28): 8 is 800 % of the population a year; did you mean 0.08?",
        ),
        (
            "income_growth: 0.15                                # Table 3: nominal",
            "income_growth: 15                                # Table 3: nominal",
            "categories.government_admin.income_growth (line 46): 15 is 1,500 %/yr",
        ),
        (
            "dependant_share: 0.39",
            "dependant_share: 39",
            "demography.dependant_share (line 17): 39 is out of range: expected a share between "
            "0 and 1; 39 would be 3,900 %: did you mean 0.39?",
        ),
    ],
)
def test_a_whole_percentage_typed_as_a_rate_is_an_error_with_the_fraction(
    old: str, new: str, expected: str
) -> None:
    message = _problems(_with(old, new))
    assert expected in message
    assert "1 problem" in message


def test_the_message_says_how_to_mean_it() -> None:
    message = _problems(_with("domestic_inflation: 0.15", "domestic_inflation: 15"))
    assert "to mean 1,500 %/yr, write '1500 %'" in message


def test_a_yearly_list_reports_each_year_written_as_a_percentage() -> None:
    doc = scenario_doc()
    doc["economy"]["domestic_inflation"] = [0.15, 15, 0.15, 12, 0.15]
    message = _problems(dump(doc))
    assert "economy.domestic_inflation[1]" in message
    assert "economy.domestic_inflation[3]" in message
    assert "12 is 1,200 %/yr; did you mean 0.12?" in message
    assert "economy.domestic_inflation[0]" not in message


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("domestic_inflation: 0.15", "domestic_inflation: 15 %"),
        ("domestic_inflation: 0.15", "domestic_inflation: 15%"),
        ("domestic_inflation: 0.15", "domestic_inflation: '15 %'"),
        ("growth_rate: 0.022", "growth_rate: 2.2 %"),
        ("admission_rate: 0.08", "admission_rate: 8 %"),
        ("dependant_share: 0.39", "dependant_share: 39 %"),
    ],
)
def test_a_percent_sign_means_a_hundredth(old: str, new: str) -> None:
    """The projection with "15 %" is the projection with 0.15, year by year."""
    plain = project(parse_scenario(SCENARIO_TEXT))
    with_percent = project(parse_scenario(_with(old, new)))
    for name in ("balance", "premium_revenue", "total_expenditure"):
        # the same inputs to the last bit (15/100 is the double nearest 0.15), so identical results
        np.testing.assert_array_equal(with_percent[name].values, plain[name].values)


def test_a_percent_sign_accepts_what_a_plain_number_may_not() -> None:
    """Hyperinflation is conceivable: written with its sign it is taken as meant."""
    sc = parse_scenario(_with("domestic_inflation: 0.15", "domestic_inflation: 1500 %"))
    assert sc.economy.domestic_inflation.values == (15.0,) * 5


def test_percentages_in_a_yearly_list() -> None:
    doc = scenario_doc()
    doc["categories"]["dependants"]["insured_share"] = ["10 %", "15 %", "20 %", "25 %", "30 %"]
    sc = parse_scenario(dump(doc))
    dependants = next(c for c in sc.categories if c.name == "dependants")
    assert dependants.insured_share.values == (0.10, 0.15, 0.20, 0.25, 0.30)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # a percent sign only where a rate or share is expected
        (
            "population: 1500000",
            "population: 15 %",
            "demography.population (line 15): expected a base-year population of 0 or more "
            "persons, got '15 %'",
        ),
        # an explicit percentage outside a share's range is reported as written
        (
            "dependant_share: 0.39",
            "dependant_share: 139 %",
            "demography.dependant_share (line 17): 139 % is out of range: expected a share",
        ),
        (
            "domestic_inflation: 0.15",
            "domestic_inflation: fifteen %",
            "economy.domestic_inflation (line 20): expected an inflation rate above -1 (e.g. 0.15 "
            "for 15 %/yr), got 'fifteen %' (a percentage is a number followed by %, e.g. 15 %)",
        ),
    ],
)
def test_percentages_that_are_refused(old: str, new: str, expected: str) -> None:
    assert expected in _problems(_with(old, new))


def test_rates_within_their_bounds_pass_unchanged() -> None:
    """The built-in scenarios' rates (inflation 15 %/yr, growth 2.2 %/yr) raise nothing."""
    sc = parse_scenario(
        _with("domestic_inflation: 0.15", "domestic_inflation: 0.95")  # 95 %/yr: high, plausible
    )
    assert sc.economy.domestic_inflation.values[0] == 0.95
