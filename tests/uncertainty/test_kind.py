"""Data or environment: each target's default kind, the ``kind:`` override and its errors."""

from __future__ import annotations

import pytest

from schemerisk.model import compile_inputs
from schemerisk.scenario import load_scenario
from schemerisk.uncertainty.space import DistributionsError, load_space, parse_space
from schemerisk.uncertainty.targets import InputKind, default_kind

NAME = "hai_phong_1993_1997"


@pytest.fixture(scope="module")
def scenario():  # type: ignore[no-untyped-def]
    return load_scenario(NAME)


def test_builtin_entries_get_the_kind_of_their_target(scenario) -> None:  # type: ignore[no-untyped-def]
    space = load_space(NAME, scenario, compile_inputs(scenario))
    env = {e.name for e in space.entries if e.kind is InputKind.ENVIRONMENT}
    # the paper's economy and demography: what a scheme cannot measure in advance
    assert env == {
        "domestic_inflation",
        "wage_growth",
        "external_inflation",
        "real_depreciation",
        "population_growth",
    }


def test_default_kind_of_paths() -> None:
    assert default_kind(["economy.domestic_inflation"]) is InputKind.ENVIRONMENT
    assert default_kind(["categories.farmers.income_growth"]) is InputKind.ENVIRONMENT
    assert default_kind(["admission_rate"]) is InputKind.DATA
    assert default_kind(["categories.farmers.income"]) is InputKind.DATA
    # a wildcard mixing both is data: the scheme can collect part of it
    assert default_kind(["demography.growth_rate", "admission_rate"]) is InputKind.DATA


TEXT = """
inputs:
  wages:
    target: categories.*.income_growth
    kind: {kind}
    distribution: {{family: uniform, low: 0.05, high: 0.2}}
"""


def test_kind_can_be_overridden(scenario) -> None:  # type: ignore[no-untyped-def]
    space = parse_space(TEXT.format(kind="data"), scenario)
    assert space.entry("wages").kind is InputKind.DATA
    space = parse_space(TEXT.format(kind="environment"), scenario)
    assert space.entry("wages").kind is InputKind.ENVIRONMENT


def test_a_bad_kind_is_refused_naming_the_entry(scenario) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DistributionsError) as info:
        parse_space(TEXT.format(kind="dat"), scenario, "mine.yaml")
    msg = info.value.render()
    assert "mine.yaml" in msg and "inputs.wages.kind" in msg
    assert "expected one of data, environment" in msg and "did you mean 'data'" in msg
