"""The one way the tests run the command line: in-process (``schemerisk.cli.main``, with
what it printed) or in a fresh interpreter (``python -m schemerisk.cli``, as a user runs
it). The fixtures ``cli`` and ``console`` of ``tests/conftest.py`` wrap these. Also the
browser tests' set-up: Debian's Chromium (the fixture ``browser``), a tab that records its
console errors, and ``schemerisk explore`` served from a child process (the benchmark
``benchmarks/bench_explore.py`` uses the same)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
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


#: Debian's Chromium, which Playwright drives (its own browser download is not reachable)
CHROMIUM = Path("/usr/bin/chromium")
#: the launch arguments of a sandbox without network, GPU or first-run chores
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def open_tab(browser: Any, url: str, width: int, height: int = 1000) -> tuple[Any, list[str]]:
    """A new tab at ``url``, ``width`` pixels wide, and the list its console errors go to."""
    tab = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(url)
    return tab, errors


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def explore_server(*args: str, timeout: float = 180) -> Iterator[str]:
    """``schemerisk explore ARGS --port P --no-browser`` in a child process, until the block ends.

    Yields the app's address once it answers; the source tree's ``src`` comes first on the
    child's path, so the app is the code under test. Raises RuntimeError with the end of the
    child's standard error when it exits or does not answer within ``timeout`` seconds (the
    first start compiles the kernel, slow on a loaded machine).
    """
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1] / "src"), *sys.path])
    command = [sys.executable, "-m", "schemerisk.cli", "explore", *args]
    command += ["--port", str(port), "--no-browser"]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(url, timeout=5).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        err.seek(0)
                        tail = err.read().decode(errors="replace")[-2000:]
                        raise RuntimeError(f"schemerisk explore did not start: {tail}") from None
                    time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)
