"""A first run says that the model is being compiled (issue 13's start-up work).

On an empty numba cache the kernel compiles for about a minute before any
progress bar appears; a user at a terminal saw nothing in that time. A
compilation that takes longer than ``COMPILE_NOTICE_AFTER_S`` now prints one
line, then how long it took; a quick one (a load from the cache) prints
nothing. The slow compilation is a stand-in that sleeps, so the test does not
compile the kernel.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from schemerisk.model import kernel


class SlowDispatcher:
    """Looks like a numba dispatcher to ``_compiled_call``; compiling takes ``seconds``."""

    __name__ = "slow_stand_in"

    def __init__(self, seconds: float, name: str = "slow_stand_in") -> None:
        self.__name__ = name
        self.seconds = seconds
        self.calls = 0

    def typeof_pyval(self, value: Any) -> str:
        return type(value).__name__ + str(np.shape(value))

    def compile(self, signature: tuple[str, ...]) -> None:
        time.sleep(self.seconds)

    def __call__(self, *args: Any) -> None:
        self.calls += 1


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernel, "COMPILE_NOTICE_AFTER_S", 0.2)
    monkeypatch.setattr(kernel, "_noticed", [])
    monkeypatch.setattr(kernel, "_ready", set())


def test_a_slow_compilation_is_announced_once_with_its_time(
    fresh: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(kernel, "compile_notice", True)
    slow = SlowDispatcher(0.6)
    kernel._compiled_call(slow, (np.zeros(3),))
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("preparing the model's compiled code for this computer")
    assert err[1].startswith("the compiled model is ready (")
    assert len(err) == 2 and slow.calls == 1
    another = SlowDispatcher(0.6, name="another")
    kernel._compiled_call(another, (np.zeros(4),))  # another slow one: said once only
    assert capsys.readouterr().err == "" and another.calls == 1
    kernel._compiled_call(slow, (np.zeros(3),))  # compiled already: straight to the call
    assert slow.calls == 2


@pytest.mark.parametrize(
    ("setting", "seconds"), [(True, 0.0), (False, 0.6), (None, 0.6)], ids=["quick", "off", "pipe"]
)
def test_nothing_is_said_when_quick_switched_off_or_not_at_a_terminal(
    fresh: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setting: bool | None,
    seconds: float,
) -> None:
    """A load from the cache is quick; ``--no-progress`` sets False; None follows isatty."""
    monkeypatch.setattr(kernel, "compile_notice", setting)
    kernel._compiled_call(SlowDispatcher(seconds), (np.zeros(3),))
    assert capsys.readouterr().err == ""  # (pytest's captured stderr is not a terminal)


def test_no_progress_switches_it_off_and_the_default_follows_the_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Set from the command line before the command runs (here it stops at a missing file)."""
    from schemerisk.cli import main

    missing = ["risk", "no_such_scenario.yaml", "hai_phong_1993_1997", "-n", "400"]
    assert main([*missing, "--no-progress"]) == 2
    assert kernel.compile_notice is False
    assert main(missing) == 2
    assert kernel.compile_notice is None
    assert "no_such_scenario.yaml" in capsys.readouterr().err
