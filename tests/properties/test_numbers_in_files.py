"""Numbers as people write them in scenario files.

PyYAML follows YAML 1.1, where ``4.0e9`` (an exponent without a sign) is a
string, not a number; YAML 1.2 and every spreadsheet read it as 4 x 10^9.
A scenario file should accept both.
"""

from __future__ import annotations

import pytest

from schemerisk.scenario import parse_scenario

DOC = """
base_year: 2000
horizon: 0
demography: {{population: {population}}}
economy: {{exchange_rate: {{rate: 1}}}}
categories:
  dependants: {{}}
  farmers: {{adult_share: 1}}
services:
  visit: {{level: outpatient, volume: {{rate_per_person: 1}}, patient_cost: 1}}
"""


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("1500000", 1.5e6),
        ("1500000.0", 1.5e6),
        ("1.5e+6", 1.5e6),
        ("1.5E+6", 1.5e6),
        ("15/10", 1.5),
    ],
)
def test_numbers_yaml_1_1_reads(written: str, value: float) -> None:
    sc = parse_scenario(DOC.format(population=written))
    assert sc.demography.population == value


@pytest.mark.parametrize("written", ["1.5e6", "1.5E6", "15e5", "1.5e06"])
def test_exponent_without_sign_is_a_number(written: str) -> None:
    sc = parse_scenario(DOC.format(population=written))
    assert sc.demography.population == float(written)
