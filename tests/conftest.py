"""Fixtures shared by every test folder: runners of the ``schemerisk`` command line, and
Debian's Chromium driven by Playwright for the browser tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import CHROMIUM, CHROMIUM_ARGS, CliRun, run_cli, run_console


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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's, at :data:`tests.support.CHROMIUM`), one per test module.

    Per module, not per session: Playwright's synchronous API holds an event loop while it
    runs, which the asyncio code of other modules' tests (dask's) must not meet.

    A missing Chromium fails the test rather than skipping it: the browser tests are what shows
    the pages work.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests need Debian's Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()
