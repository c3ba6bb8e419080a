"""Scenario files: typed inputs of the model and their validation."""

from schemerisk.scenario.builtin import builtin_names, resolve_scenario
from schemerisk.scenario.parse import load_scenario, parse_scenario
from schemerisk.scenario.types import (
    AdminBasis,
    AdminItem,
    Category,
    Level,
    RateTarget,
    Scenario,
    Service,
    Target,
    VolumeBasis,
    YearPath,
)

__all__ = [
    "AdminBasis",
    "AdminItem",
    "Category",
    "Level",
    "RateTarget",
    "Scenario",
    "Service",
    "Target",
    "VolumeBasis",
    "YearPath",
    "builtin_names",
    "load_scenario",
    "parse_scenario",
    "resolve_scenario",
]
