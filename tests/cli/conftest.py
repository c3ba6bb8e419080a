"""Shared fixtures for the command-line tests: the built-in scenario as text and as a
dictionary, a writer of modified copies, and runners of the ``schemerisk`` command."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemerisk.cli import main
from schemerisk.scenario import resolve_scenario

BUILTIN = "hai_phong_1993_1997"


@dataclass(frozen=True)
class CliRun:
    """What one run of the command line returned and printed."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


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

    def write(doc: dict[str, Any] | str, name: str = "scenario") -> Path:
        path = tmp_path / f"{name}.yaml"
        text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliRun]:
    """Run ``schemerisk.cli.main`` in-process and capture what it printed."""

    def run(*args: str | Path) -> CliRun:
        capsys.readouterr()  # drop anything printed before
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse rejects a bad option this way (exit code 2)
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run


def _run_console(*args: str | Path, cwd: Path | None = None) -> CliRun:
    proc = subprocess.run(
        [sys.executable, "-m", "schemerisk.cli", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


def _line_of(text: str, needle: str, start: int = 1) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if number >= start and needle in line:
            return number
    raise AssertionError(f"{needle!r} not found in the scenario text")


@pytest.fixture
def console() -> Callable[..., CliRun]:
    """Run ``python -m schemerisk.cli`` in a fresh interpreter, as a user would."""
    return _run_console


@pytest.fixture
def line_of() -> Callable[..., int]:
    """1-based number of the first line (at or after ``start``) of a text containing a string."""
    return _line_of
