"""What every benchmark script reports about the machine it ran on.

Shared by ``bench_kernel.py`` and ``bench_montecarlo.py`` (each run as a script
from this folder, so ``import _machine`` finds this file).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np


def cpuinfo(field: str) -> str | None:
    """The first CPU's ``field`` in /proc/cpuinfo (e.g. ``"model name"``), if the system says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or what :mod:`platform` knows)."""
    return cpuinfo("model name") or platform.processor() or platform.machine() or "unknown"


def load_average() -> float | None:
    """The 1-minute load average: other work on the machine skews every figure."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def total_memory_gb() -> float | None:
    """Physical memory in GB, when the system says."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * size / 1e9, 1)


def machine(**versions: str) -> dict[str, Any]:
    """A description of the machine and the software versions (``versions`` adds more)."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "numba_threads": int(numba.config.NUMBA_NUM_THREADS),  # type: ignore[attr-defined]
        "threading_layer": None,  # known after the first parallel call
        "memory_gb": total_memory_gb(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        **versions,
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_start": load_average(),
        "load_end": None,  # filled in at the end
    }


def machine_lines(m: dict[str, Any], libraries: tuple[str, ...] = ("numpy", "numba")) -> list[str]:
    """The "Machine" block that heads every printed report."""
    names = " / ".join(libraries)
    return [
        "Machine",
        f"  CPU              {m['cpu']}",
        f"  cores            {m['cores']} (os.cpu_count)",
        f"  numba threads    {m['numba_threads']} (threading layer: {m['threading_layer']})",
        f"  memory           {m['memory_gb']} GB",
        f"  python           {m['python']}",
        f"  {names:<16} {' / '.join(str(m[lib]) for lib in libraries)}",
        f"  platform         {m['platform']}",
        f"  date             {m['date']}",
        f"  load average     {m['load_start']} at start, {m['load_end']} at end (1 min)",
    ]


def threads_label(t: int, m: dict[str, Any]) -> str:
    """``"2 (all)"`` when ``t`` is every numba thread, else ``"1"``."""
    return f"{t} (all)" if t == m["numba_threads"] else str(t)


#: the repository this folder belongs to
REPOSITORY = Path(__file__).resolve().parents[1]


def child_env(src: Path, **extra: str) -> dict[str, str]:
    """The environment of a benchmark's child interpreter running the package in ``src``.

    ``PYTHONPATH`` is ``src``, and Python's bytecode cache is on, as it is for
    an installed package (pip compiles it at install time): an environment
    that sets ``PYTHONDONTWRITEBYTECODE`` would have every run compile the
    package's ~60 modules from source again (about 0.1 s a process).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra, "PYTHONPATH": str(src)}


def extract_revision(revision: str, into: Path) -> Path:
    """``src``, ``scenarios`` and ``distributions`` of git ``revision`` unpacked under ``into``.

    Returns ``into``, the root of the unpacked tree (run it with ``PYTHONPATH=into/src``).
    """
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "revision.tar"
    with archive.open("wb") as f:
        subprocess.run(
            [
                "git",
                "-C",
                str(REPOSITORY),
                "archive",
                revision,
                "src",
                "scenarios",
                "distributions",
            ],
            stdout=f,
            check=True,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()
    return into


def median_seconds(run: Callable[[], object], rounds: int) -> float:
    """Median wall seconds of ``rounds`` calls of ``run`` (``time.perf_counter``).

    Parameters
    ----------
    run : callable
        What to time, called with no argument.
    rounds : int
        Calls.

    Returns
    -------
    float
        The median, in seconds.
    """
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
