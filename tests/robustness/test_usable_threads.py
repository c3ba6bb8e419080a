"""How many threads a run may use: the cores of the process's affinity, not of the machine."""

from __future__ import annotations

import os

import pytest

from schemerisk.resources import usable_threads


def test_threads_follow_the_affinity_and_numba_s_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # a large host ...
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert usable_threads() == 2  # ... of which this process may use two cores
    monkeypatch.setenv("NUMBA_NUM_THREADS", "3")
    assert usable_threads() == 3
    monkeypatch.setenv("NUMBA_NUM_THREADS", "none")  # not a number: the affinity again
    assert usable_threads() == 2
