"""The one way the tests run the command line: in-process (``schemerisk.cli.main``, with
what it printed) or in a fresh interpreter (``python -m schemerisk.cli``, as a user runs
it). The fixtures ``cli`` and ``console`` of ``tests/conftest.py`` wrap these."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemerisk.cli import main


@dataclass(frozen=True)
class CliRun:
    """What one run of the command line returned and printed."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """Everything printed, standard output then standard error."""
        return self.out + self.err


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> CliRun:
    """Run ``schemerisk.cli.main`` in-process; argparse's exit becomes the exit code."""
    capsys.readouterr()  # drop anything printed before
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse refuses an option this way (code 2)
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return CliRun(code, captured.out, captured.err)


def run_console(*args: str | Path, cwd: Path | None = None, timeout: float = 300) -> CliRun:
    """Run ``python -m schemerisk.cli`` in a fresh interpreter, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "schemerisk.cli", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


def yaml_writer(folder: Path, default_name: str) -> Callable[..., Path]:
    """A writer of a dictionary (or raw text) as ``folder/<name>.yaml``, keys in their order."""

    def write(doc: dict[str, Any] | str, name: str = default_name) -> Path:
        path = folder / f"{name}.yaml"
        text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write
