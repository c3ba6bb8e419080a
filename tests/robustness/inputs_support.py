"""Helpers shared by the tests of bad inputs (``test_inputs_*.py``): the built-in files as
text and as dictionaries, an in-process runner of the command line, and a snapshot of a
folder to show that a refused command wrote nothing and left other files alone."""

from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemerisk.cli import main
from schemerisk.scenario import resolve_scenario
from schemerisk.scenario.builtin import resolve_builtin

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


@dataclass(frozen=True)
class Run:
    """What one run of the command line returned and printed."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> Run:
    """Run ``schemerisk.cli.main`` in-process; argparse's exit becomes the exit code."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse refuses an option this way (code 2)
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def run_console(*args: str | Path, cwd: Path) -> Run:
    """Run ``python -m schemerisk.cli`` in a fresh interpreter, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "schemerisk.cli", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


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
