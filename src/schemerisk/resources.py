"""Will a run fit in memory? An estimate made before any work starts.

A Monte Carlo run held in memory stores, for every projection, the drawn inputs
twice (the design's values and their copy in the cube) and every kept output.
The estimate below counts those arrays, 8 bytes a number, with a margin for the
derived variables and copies made while the cube is assembled and written. It is
compared with the memory the operating system says is available now, so that
``-n 1000000000000`` is refused at once with advice, instead of running out of
memory after minutes (or hours) of work.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Bytes of one number in the arrays of a run (float64).
NUMBER_BYTES = 8
#: Margin on the arrays counted: derived variables (memoranda), the cube's own
#: copies, a netCDF write. Measured peak resident memory of ``schemerisk simulate
#: hai_phong_1993_1997 hai_phong_1993_1997 -o cube.nc`` (GNU time, 2026-11-30):
#: 766 MB with ``-n 200000`` (counted arrays 389 MB) and 2.13 GB with ``-n 20000
#: --horizon 200`` (arrays 1.39 GB): the arrays times 1.4-1.5 plus about 210 MB
#: for the interpreter and libraries. A factor of 2 plus :data:`BASE` covers both.
MARGIN = 2.0
#: Bytes taken by the interpreter and the libraries before any array.
BASE = 256 * 2**20


@dataclass(frozen=True)
class MemoryEstimate:
    """How much memory a run needs, and how much there is.

    Attributes
    ----------
    needed : int
        Estimated peak in bytes.
    available : int or None
        Bytes available now (None when the system does not say).
    """

    needed: int
    available: int | None

    @property
    def fits(self) -> bool:
        """Whether the run fits (True when the available memory is not known)."""
        return self.available is None or self.needed <= self.available

    def describe(self) -> str:
        """The two figures in words, e.g. "about 75 GB, and 20 GB is available"."""
        have = "" if self.available is None else f", and {_gb(self.available)} is available"
        return f"about {_gb(self.needed)}{have}"


def available_memory() -> int | None:
    """Bytes of memory available to a new process now.

    Read from ``MemAvailable`` in ``/proc/meminfo`` (Linux: free memory plus the
    page cache that can be reclaimed, see ``man 5 proc``); elsewhere from
    ``psutil.virtual_memory().available`` when psutil is installed (it comes
    with dask's distributed scheduler); otherwise None.

    Returns
    -------
    int or None
        Bytes, or None when unknown.
    """
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the file gives kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # psutil missing or unable to tell: no check rather than a false refusal
        return None


def run_bytes(rows: int, columns: int, outputs: int, design_matrix: bool) -> int:
    """Estimated peak bytes of a run of ``rows`` projections held in memory.

    Parameters
    ----------
    rows : int
        Projections (rows of the design).
    columns : int
        Drawn values per projection (columns of the design).
    outputs : int
        Numbers kept per projection (every kept output, over years, categories, services).
    design_matrix : bool
        Whether the design is a matrix made up front (Latin hypercube, Sobol',
        Saltelli) rather than drawn chunk by chunk (plain Monte Carlo).

    Returns
    -------
    int
        Bytes.
    """
    per_row = 2 * columns + outputs + (columns if design_matrix else 0)
    return BASE + math.ceil(MARGIN * NUMBER_BYTES * rows * per_row)


def kept_numbers(inputs, names: Iterable[str] | None) -> int:  # type: ignore[no-untyped-def]
    """Numbers per projection that the outputs ``names`` hold (None: the default outputs).

    Parameters
    ----------
    inputs : ModelInputs
        The compiled inputs (for the sizes of the dimensions).
    names : iterable of str or None
        Output variables; ``["all"]`` for every one, None for the default set.

    Returns
    -------
    int
        Numbers per projection.
    """
    from schemerisk.model.results import DEFAULT_KEEP, VARIABLE_FIELDS, kept_positions

    chosen = list(DEFAULT_KEEP) if names is None else list(names)
    if chosen in (["all"], ["summary"]):  # a summary run projects whole rows, chunk by chunk
        chosen = list(VARIABLE_FIELDS)
    positions, _ = kept_positions(inputs, chosen)
    return int(positions.size)


def estimate(rows: int, columns: int, outputs: int, design_matrix: bool) -> MemoryEstimate:
    """Estimate a run (see :func:`run_bytes`) against the memory available now.

    Parameters
    ----------
    rows, columns, outputs, design_matrix
        As for :func:`run_bytes`.

    Returns
    -------
    MemoryEstimate
        Needed and available bytes.
    """
    return MemoryEstimate(run_bytes(rows, columns, outputs, design_matrix), available_memory())


def _gb(n: int) -> str:
    return f"{n / 1e9:,.1f} GB" if n < 1e11 else f"{n / 1e9:,.0f} GB"


def usable_threads() -> int:
    """The most threads numba may use: NUMBA_NUM_THREADS, else the cores this process may run on.

    The same rule as numba's own default (``numba.core.config``), without importing numba:
    the cores of the process's CPU affinity (a container limited to 2 CPUs of a 64-core
    host gets 2), not every core of the machine.

    Returns
    -------
    int
        At least 1.
    """
    env = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
