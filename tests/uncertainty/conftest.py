"""Shared fixtures for the uncertainty-layer tests: the built-in Hai Phong 1993-1997
scenario (Annex II), its compiled inputs, and writers of distributions and scenario files."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemerisk.model import ModelInputs, compile_inputs
from schemerisk.scenario import Scenario, load_scenario, resolve_scenario
from schemerisk.uncertainty.space import ParameterSpace, parse_space
from tests.support import yaml_writer

SCENARIO = "hai_phong_1993_1997"


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    """The built-in Hai Phong 1993-1997 scenario."""
    return load_scenario(SCENARIO)


@pytest.fixture(scope="session")
def inputs(scenario: Scenario) -> ModelInputs:
    """Its compiled inputs."""
    return compile_inputs(scenario)


@pytest.fixture
def space_of(scenario: Scenario, inputs: ModelInputs) -> Callable[[str], ParameterSpace]:
    """Parse a distributions YAML text against the built-in scenario."""

    def parse(text: str) -> ParameterSpace:
        return parse_space(text, scenario, "<test>", inputs)

    return parse


@pytest.fixture
def scenario_doc() -> dict[str, Any]:
    """A fresh, freely editable dictionary of the built-in scenario."""
    text = resolve_scenario(SCENARIO).read_text(encoding="utf-8")
    return copy.deepcopy(yaml.safe_load(text))


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[..., Path]:
    """Write a dictionary (or raw text) as ``tmp_path/<name>.yaml``."""
    return yaml_writer(tmp_path, "distributions")
