"""Fixtures shared by every test folder: runners of the ``schemerisk`` command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import CliRun, run_cli, run_console


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliRun]:
    """Run ``schemerisk.cli.main`` in-process and capture what it printed."""

    def run(*args: str | Path) -> CliRun:
        return run_cli(capsys, *args)

    return run


@pytest.fixture
def console() -> Callable[..., CliRun]:
    """Run ``python -m schemerisk.cli`` in a fresh interpreter, as a user would."""
    return run_console
