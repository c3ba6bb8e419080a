"""Shared fixtures for the command-line tests: the built-in scenario as text and as a
dictionary and a writer of modified copies (the runners ``cli`` and ``console`` of the
``schemerisk`` command are in ``tests/conftest.py``)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemerisk.scenario import resolve_scenario
from tests.support import yaml_writer

BUILTIN = "hai_phong_1993_1997"


@pytest.fixture(scope="session")
def base_text() -> str:
    """The text of the built-in Hai Phong 1993-1997 scenario (Annex II)."""
    return resolve_scenario(BUILTIN).read_text(encoding="utf-8")


@pytest.fixture
def base_doc(base_text: str) -> dict[str, Any]:
    """A fresh, freely editable dictionary of the built-in scenario."""
    return copy.deepcopy(yaml.safe_load(base_text))


@pytest.fixture
def write_doc(tmp_path: Path) -> Callable[..., Path]:
    """Write a scenario dictionary (or raw text) to ``tmp_path/<name>.yaml``."""
    return yaml_writer(tmp_path, "scenario")


def _line_of(text: str, needle: str, start: int = 1) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if number >= start and needle in line:
            return number
    raise AssertionError(f"{needle!r} not found in the scenario text")


@pytest.fixture
def line_of() -> Callable[..., int]:
    """1-based number of the first line (at or after ``start``) of a text containing a string."""
    return _line_of
