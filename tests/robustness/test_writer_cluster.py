"""Distributed destinations and security: relative or unreachable paths on a cluster, an
unreachable scheduler, workers that write elsewhere, and no dashboard unless asked."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from schemerisk.cli import main
from schemerisk.output import OutputError
from schemerisk.uncertainty.distributed import (
    WAIT_FOR_WORKERS_S,
    SchedulerUnreachableError,
    check_workers_see,
    connect,
)

SC = "hai_phong_1993_1997"


def test_relative_output_with_a_scheduler_is_refused_before_connecting(capsys) -> None:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    code = main(
        ["simulate", SC, SC, "-n", "10", "--scheduler", "tcp://127.0.0.1:1", "-o", "rel.zarr"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert "-o rel.zarr" in err and "absolute path" in err
    assert time.monotonic() - t0 < 60  # no connection was tried (it would wait 5 s)
    assert not Path("rel.zarr").exists()


def test_an_unreachable_scheduler_is_a_quick_message(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    with pytest.raises(SchedulerUnreachableError, match=r"--scheduler tcp://127\.0\.0\.1:1") as e:
        with connect("tcp://127.0.0.1:1"):
            pass
    # the client's connect timeout is 5 s; 20 s leaves room for a loaded machine
    assert time.monotonic() - t0 < 20
    assert "no dask scheduler answered" in str(e.value)
    code = main(
        [
            "simulate",
            SC,
            SC,
            "-n",
            "10",
            "--scheduler",
            "tcp://127.0.0.1:1",
            "-o",
            str(tmp_path / "c.zarr"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "--scheduler" in err
    assert list(tmp_path.iterdir()) == []


class _ElsewhereClient:
    """A stand-in cluster whose workers write their probe on another machine's disk."""

    def run(self, fn, folder, token, on_error="raise"):  # type: ignore[no-untyped-def]
        return {
            "tcp://10.0.0.2:1234": (True, f".schemerisk-probe-{token}-other-1"),  # not here
            "tcp://10.0.0.3:1234": (False, "FileNotFoundError: No such file or directory"),
        }


class _SameDiskClient:
    """A stand-in cluster whose one worker runs the probe in this process."""

    def run(self, fn, folder, token, on_error="raise"):  # type: ignore[no-untyped-def]
        return {"tcp://127.0.0.1:1": fn(folder, token)}


def test_workers_that_write_elsewhere_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="do not write where this machine reads") as e:
        check_workers_see(_ElsewhereClient(), tmp_path, tmp_path / "c.zarr")
    assert "10.0.0.2" in str(e.value) and "10.0.0.3" in str(e.value)
    check_workers_see(_SameDiskClient(), tmp_path, tmp_path / "c.zarr")
    assert list(tmp_path.iterdir()) == []  # the probe was removed


class _RestartingClient:
    """A stand-in cluster whose workers are being restarted: none answers the first probe."""

    def __init__(self, comes_back: bool) -> None:
        self.comes_back = comes_back
        self.waited: list[tuple[int, float]] = []
        self.workers: dict[str, object] = {}

    def run(self, fn, folder, token, on_error="raise"):  # type: ignore[no-untyped-def]
        return {w: fn(folder, token) for w in self.workers}

    def wait_for_workers(self, n: int, timeout: float) -> None:
        self.waited.append((n, timeout))
        if not self.comes_back:
            raise TimeoutError("no worker")
        self.workers = {"tcp://127.0.0.1:2": None}


def test_a_cluster_restarting_its_workers_is_waited_for_not_refused(tmp_path: Path) -> None:
    back = _RestartingClient(comes_back=True)
    check_workers_see(back, tmp_path, tmp_path / "c.zarr")
    assert back.waited == [(1, WAIT_FOR_WORKERS_S)]
    assert list(tmp_path.iterdir()) == []
    gone = _RestartingClient(comes_back=False)
    with pytest.raises(OutputError, match=f"no workers for {WAIT_FOR_WORKERS_S} s"):
        check_workers_see(gone, tmp_path, tmp_path / "c.zarr")


LISTENERS = """
import sys, time, psutil
proc = psutil.Process(int(sys.argv[1]))
seen = set()
deadline = time.monotonic() + 300
def alive():
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
while alive() and time.monotonic() < deadline:
    try:
        procs = [proc, *proc.children(recursive=True)]
        for p in procs:
            for c in p.net_connections(kind="inet"):
                if c.status == psutil.CONN_LISTEN:
                    seen.add((c.laddr.ip, c.laddr.port))
    except psutil.Error:
        pass
    time.sleep(0.2)
print(sorted(seen))
"""


def test_a_local_cluster_opens_no_dashboard(tmp_path: Path) -> None:
    """During a --workers 2 run nothing listens on 8787, nor anywhere but 127.0.0.1."""
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "schemerisk.cli",
            "simulate",
            SC,
            SC,
            "-n",
            "2000",
            "--chunk-size",
            "500",
            "--workers",
            "2",
            "--no-progress",
            "-o",
            str(tmp_path / "c.zarr"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watch = subprocess.run(
        [sys.executable, "-c", LISTENERS, str(run.pid)], capture_output=True, text=True
    )
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert "Traceback" not in err
    seen = eval(watch.stdout)  # a list of (ip, port) printed by the watcher
    assert seen, watch.stderr  # the scheduler and workers did listen (on their comm ports)
    assert all(ip == "127.0.0.1" for ip, _ in seen), seen
    assert all(port != 8787 for _, port in seen), seen
    print("listening during the run:", seen)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.zarr"]
