"""Helpers shared by the tests of bad inputs (``test_inputs_*.py``): the built-in files as
text and as dictionaries, the command-line runners of ``tests/support.py`` under the names
these tests use, and a snapshot of a folder to show that a refused command wrote nothing
and left other files alone."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from schemerisk.scenario import resolve_scenario
from schemerisk.scenario.builtin import resolve_builtin
from tests.support import CliRun as Run
from tests.support import run_cli as run_cli  # the test_inputs_* files import them from here
from tests.support import run_console as run_console

BUILTIN = "hai_phong_1993_1997"
SCENARIO_TEXT = resolve_scenario(BUILTIN).read_text(encoding="utf-8")
DISTRIBUTIONS_TEXT = resolve_builtin(BUILTIN, "distributions").read_text(encoding="utf-8")
#: A file that belongs to the user, next to the inputs: it must come through every run untouched.
UNRELATED = ("thesis.txt", b"chapter 1\n")


def scenario_doc() -> dict[str, Any]:
    """A fresh, editable dictionary of the built-in scenario."""
    return copy.deepcopy(yaml.safe_load(SCENARIO_TEXT))


def distributions_doc() -> dict[str, Any]:
    """A fresh, editable dictionary of the built-in distributions file."""
    return copy.deepcopy(yaml.safe_load(DISTRIBUTIONS_TEXT))


def dump(doc: dict[str, Any]) -> str:
    """YAML text of a dictionary, keys in their order."""
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` (relative) with a file's bytes (None for a folder)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def assert_clear_error(run: Run, *phrases: str, code: int = 2) -> None:
    """One message, no traceback, the exit code for bad input, and every phrase in it."""
    assert run.code == code, run.text
    assert "Traceback" not in run.text, run.text
    for phrase in phrases:
        assert phrase in run.err, f"{phrase!r} not in:\n{run.err}"
