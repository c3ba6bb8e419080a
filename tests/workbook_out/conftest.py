"""Fixtures for the Excel-out tests: one small Monte Carlo cube of the built-in scenario, its
deterministic projection and risk report, and a reader of the workbooks written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
import xarray as xr

from schemerisk.analysis.risk import RISK_OUTPUTS, RiskReport, deficit_risk
from schemerisk.model import project
from schemerisk.output import reserve
from schemerisk.scenario import load_scenario
from schemerisk.scenario.types import Scenario
from schemerisk.uncertainty.montecarlo import bind_space, run_design
from schemerisk.uncertainty.sampling import unit_design
from schemerisk.uncertainty.space import ParameterSpace

SCENARIO = "hai_phong_1993_1997"
#: enough projections for every year to have deficits and surpluses, few enough to be quick
N_DRAWS = 400


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    return load_scenario(SCENARIO)


@pytest.fixture(scope="session")
def space(scenario: Scenario) -> ParameterSpace:
    return bind_space(scenario, SCENARIO)


@pytest.fixture(scope="session")
def det(scenario: Scenario) -> xr.Dataset:
    return project(scenario)


@pytest.fixture(scope="session")
def cube(space: ParameterSpace) -> xr.Dataset:
    design = unit_design(space, N_DRAWS, 7, "mc")
    return run_design(space, design, keep=RISK_OUTPUTS, progress=False)


@pytest.fixture(scope="session")
def report(cube: xr.Dataset) -> RiskReport:
    return deficit_risk(cube)


@pytest.fixture
def save(tmp_path: Path) -> Callable[[openpyxl.Workbook, str], openpyxl.Workbook]:
    """Write a workbook through the one writer, then read it back as a user's program would."""

    def run(wb: openpyxl.Workbook, name: str = "results.xlsx") -> openpyxl.Workbook:
        target = tmp_path / name
        with reserve(target) as res:
            res.write_workbook(wb)
        return openpyxl.load_workbook(target)

    return run
