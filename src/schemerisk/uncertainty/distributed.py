"""Monte Carlo runs beyond one process: chunks on dask workers, streamed into a Zarr store.

The draws of a design are split into chunks of ``chunk_size`` rows. Each chunk
is drawn (:meth:`~schemerisk.uncertainty.sampling.Design.rows` regenerates any
row range from the seed), projected by the one compiled kernel and written
straight into its own region of a Zarr store by whoever computed it -- a dask
worker process or, without a cluster, this process. The client only ever holds
a chunk number (or, for ``keep="summary"``, a chunk's small summary), never
the cube.

Writing and resuming
--------------------
The store is written through the rules of :mod:`schemerisk.output`: the
destination is checked and locked before any work (a second writer is
refused), and until every chunk is in, the store lives under the name
``<store>.partial`` -- plain xarray cannot mistake it for a finished store, as
the finished name does not exist yet. When the last chunk is written the
partial store is renamed onto ``<store>`` (swapped with an older result under
``overwrite``), so an interruption leaves the old store or the new one.

After a chunk's data are written, a marker file
``<store>.partial/_schemerisk_chunks/<chunk>`` records it; a run that is killed
part way keeps its finished chunks, and running it again computes only the
chunks without a marker. The attribute ``schemerisk_complete`` is 0 until every
chunk is done, then 1 (:func:`schemerisk.io.open_dataset` refuses a store with
0). A store is reused only when its provenance (scenario and distributions
sha256, horizon, seed, sampler, number of draws, kept outputs, chunk size,
versions of schemerisk, numpy, scipy and numba) matches the run's; otherwise it
is refused unless ``overwrite`` -- and even then only a schemerisk store is
replaced, never a folder of anything else.

Paths are made absolute on the client, and before any chunk every worker
writes a probe file into the partial store that the client must then see: a
cluster whose workers write somewhere else (another working folder, another
machine's disk) is refused with a message.

Summary runs keep their running :class:`~schemerisk.uncertainty.summary.StreamingSummary`
and the list of chunks it contains in ``<store>/_schemerisk_summary.npz``,
saved (atomically) every ``checkpoint_seconds``; the merge is exact, so a
resumed summary equals an uninterrupted one.

The cube is bitwise identical to :func:`~schemerisk.uncertainty.montecarlo.simulate`'s
for the same seed: the same rows, the same kernel, the same per-draw
arithmetic, whatever the chunk size or the number of workers.

Workers must see the store's path (one machine, or a shared file system).

Without ``dashboard=True`` a local cluster opens no dashboard: its scheduler's
HTTP server (which dask always starts) listens on a random port of 127.0.0.1
and serves only ``/health``; with it, the dashboard listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from distributed.diagnostics.plugin import WorkerPlugin

from schemerisk.io import COMPLETE_ATTR
from schemerisk.model.kernel import run_kernel
from schemerisk.model.results import (
    DRAW,
    add_memoranda,
    blocks_to_dataset,
    kept_positions,
    output_slices,
)
from schemerisk.output import (
    STAMP,
    OutputError,
    check_destination,
    clean_leftovers,
    hold_lock,
    is_ours,
    make_aside,
    partial_store,
    swap_into_place,
)
from schemerisk.uncertainty.montecarlo import (
    DEFAULT_CHUNK,
    _input_variables,
    _keep_names,
    _progress,
    _provenance,
    numba_threads,
)
from schemerisk.uncertainty.sampling import Design, to_values
from schemerisk.uncertainty.space import ParameterSpace
from schemerisk.uncertainty.summary import (
    SUMMARY_OUTPUTS,
    ChunkSummary,
    LogBins,
    StreamingSummary,
    summarise_chunk,
)

#: store attribute: 1 when every chunk is written, 0 before
COMPLETE = COMPLETE_ATTR
#: store attribute: draws per chunk (a resumed run must use the same)
CHUNK_SIZE = "schemerisk_chunk_size"
#: folder of per-chunk markers inside a cube store
DONE_DIR = "_schemerisk_chunks"
#: running state of a summary run inside its store
SUMMARY_STATE = "_schemerisk_summary.npz"
#: the value of ``kept_outputs`` for a summary run
SUMMARY = "summary"
#: provenance attributes that must match for a store to be resumed
PROVENANCE_KEYS = (
    "scenario",
    "scenario_sha256",
    "horizon",
    "distributions_sha256",
    "seed",
    "sampler",
    "n_draws",
    "kept_outputs",
    "saltelli_n",
    "saltelli_second_order",
    "summary_relative_accuracy",
    "summary_adjust",
    # the libraries that shape the numbers: a resumed run must not mix their versions
    "version_schemerisk",
    "version_numpy",
    "version_scipy",
    "version_numba",
)


class StoreMismatchError(ValueError):
    """A store exists at the target but belongs to a different run."""


@dataclass(frozen=True)
class ChunkJob:
    """Everything a worker needs to compute any chunk of a run (sent to each worker once).

    Attributes
    ----------
    space : ParameterSpace
        The uncertain inputs, bound to their scenario.
    design : Design
        The unit-cube design.
    keep : tuple of str
        Outputs kept in the cube; empty for a summary run.
    chunk_size : int
        Draws per chunk.
    threads : int or None
        Numba threads per chunk (None: all).
    bins : LogBins
        Sketch bins of a summary run.
    adjust : str
        Premiums scaled by the break-even multiplier of a summary run.
    before_chunk : callable, optional
        Called with the chunk number before the chunk is computed (progress
        hooks, fault injection in tests).
    """

    space: ParameterSpace
    design: Design
    keep: tuple[str, ...]
    chunk_size: int = DEFAULT_CHUNK
    threads: int | None = 1
    bins: LogBins = field(default_factory=LogBins)
    adjust: str = "all-premiums"
    before_chunk: Callable[[int], None] | None = None

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {self.chunk_size}")

    @property
    def summary(self) -> bool:
        """True for a summary run (``keep="summary"``)."""
        return not self.keep

    @property
    def n_chunks(self) -> int:
        """Number of chunks."""
        return -(-self.design.n_rows // self.chunk_size)

    def bounds(self, chunk: int) -> tuple[int, int]:
        """First and one-past-last draw of a chunk."""
        start = chunk * self.chunk_size
        return start, min(start + self.chunk_size, self.design.n_rows)

    def provenance(self) -> dict[str, Any]:
        """Attributes of the store: the cube's provenance and the chunking."""
        sc = self.space.scenario
        attrs: dict[str, Any] = {
            "scenario": sc.name,
            "scenario_sha256": sc.sha256,
            "horizon": sc.horizon,
        }
        attrs.update(_provenance(self.space, self.design, list(self.keep) or [SUMMARY]))
        if self.summary:
            attrs["summary_relative_accuracy"] = self.bins.relative_accuracy
            attrs["summary_adjust"] = self.adjust
        attrs[CHUNK_SIZE] = self.chunk_size
        return attrs


def make_job(
    space: ParameterSpace,
    design: Design,
    *,
    keep: Iterable[str] | str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    threads: int | None = 1,
    relative_accuracy: float = 1e-3,
    adjust: str = "all-premiums",
    before_chunk: Callable[[int], None] | None = None,
) -> ChunkJob:
    """Describe a chunked run.

    Parameters
    ----------
    space : ParameterSpace
        The uncertain inputs, bound to their scenario.
    design : Design
        From :func:`~schemerisk.uncertainty.sampling.unit_design`.
    keep : iterable of str or "summary", optional
        Outputs to keep (default :data:`~schemerisk.model.results.DEFAULT_KEEP`,
        ``"all"`` for every output), or ``"summary"`` for streaming summaries only.
    chunk_size : int
        Draws per chunk (and per Zarr chunk along ``draw``).
    threads : int, optional
        Numba threads per chunk; 1 suits one dask thread per core.
    relative_accuracy : float
        Summary runs: ``alpha`` of the quantile sketch.
    adjust : str
        Summary runs: premiums scaled by the required premium multiplier.
    before_chunk : callable, optional
        Called on the worker with the chunk number before each chunk.

    Returns
    -------
    ChunkJob
        The job.
    """
    if keep == SUMMARY or (
        not isinstance(keep, str) and keep is not None and list(keep) == [SUMMARY]
    ):
        names: tuple[str, ...] = ()
        output_slices(space.inputs, SUMMARY_OUTPUTS)
    else:
        names = tuple(_keep_names(keep))
        output_slices(space.inputs, names)  # checks the names
    return ChunkJob(
        space,
        design,
        names,
        chunk_size,
        threads,
        LogBins(relative_accuracy),
        adjust,
        before_chunk,
    )


def _project(
    job: ChunkJob, start: int, stop: int, names: Sequence[str]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Draw and project one chunk, keeping only the named outputs (views of one array)."""
    space = job.space
    theta = to_values(space, job.design.rows(start, stop))
    positions, where = kept_positions(space.inputs, names)
    out = np.empty((stop - start, positions.size))
    with numba_threads(job.threads):
        run_kernel(space.inputs, theta, space.modifications, out=out, keep=positions)
    return theta, {name: out[:, sl] for name, sl in where.items()}


def cube_piece(job: ChunkJob, start: int, stop: int) -> xr.Dataset:
    """The cube for draws ``start`` to ``stop`` (exclusive), exactly as :func:`run_design` makes it.

    Parameters
    ----------
    job : ChunkJob
        The run.
    start, stop : int
        Draw range.

    Returns
    -------
    xarray.Dataset
        Kept outputs, memoranda and drawn inputs, with the ``draw`` coordinate.
    """
    space = job.space
    theta, kept = _project(job, start, stop, job.keep)
    ds = blocks_to_dataset(space.scenario, space.inputs, kept, draw_dim=True)
    ds = add_memoranda(ds)
    ds = ds.assign(_input_variables(space, theta.T))  # columns x draws
    return ds.assign_coords({DRAW: np.arange(start, stop)})


def summary_piece(job: ChunkJob, start: int, stop: int) -> ChunkSummary:
    """The streaming summary of draws ``start`` to ``stop`` (exclusive).

    Parameters
    ----------
    job : ChunkJob
        A summary run.
    start, stop : int
        Draw range.

    Returns
    -------
    ChunkSummary
        Small: sparse histograms, sums and counts.
    """
    space = job.space
    _, blocks = _project(job, start, stop, SUMMARY_OUTPUTS)
    ds = blocks_to_dataset(space.scenario, space.inputs, blocks, draw_dim=True)
    return summarise_chunk(ds, job.bins, job.adjust)


def compute_chunk(chunk: int, job: ChunkJob, store: str | None) -> int | ChunkSummary:
    """Compute one chunk: write its region of the cube store and its marker, or summarise it.

    Runs on a dask worker (or in this process). Writing the data before the
    marker means a chunk killed half-way is simply computed again.

    Parameters
    ----------
    chunk : int
        Chunk number.
    job : ChunkJob
        The run.
    store : str or None
        The Zarr store (cube runs; None only for summary runs without a store).

    Returns
    -------
    int or ChunkSummary
        The number of draws written, or the chunk's summary.
    """
    if job.before_chunk is not None:
        job.before_chunk(chunk)
    start, stop = job.bounds(chunk)
    if job.summary:
        return summary_piece(job, start, stop)
    if store is None:
        raise ValueError("a cube run needs a store")
    piece = cube_piece(job, start, stop)
    drop = [v for v in piece.variables if DRAW not in piece[v].dims]
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*not recognized as a component", category=UserWarning
        )
        piece.drop_vars(drop).to_zarr(
            store, region={DRAW: slice(start, stop)}, mode="r+", zarr_format=2, consolidated=False
        )
    marker = Path(store) / DONE_DIR / str(chunk)
    marker.write_bytes(b"")
    return stop - start


class WarmKernel(WorkerPlugin):
    """Dask worker plugin: load the compiled kernel once per worker process, before any chunk.

    numba's ``cache=True`` kernels are compiled once and then loaded from the
    cache by each process; this projects one draw at worker start so that the
    cost is paid once per worker, not inside the first chunk's timing.

    Parameters
    ----------
    job : ChunkJob
        The run (one of its draws is projected).
    """

    name = "schemerisk-warm-kernel"

    def __init__(self, job: ChunkJob) -> None:
        self.job = job

    def setup(self, worker: Any) -> None:
        """Project draw 0 on ``worker`` (this also builds the numerical inverse CDFs)."""
        _project(self.job, 0, 1, self.job.keep or SUMMARY_OUTPUTS)


@dataclass(frozen=True)
class RunReport:
    """What :func:`run_to_store` did.

    Attributes
    ----------
    store : Path or None
        The store written.
    n_chunks : int
        Chunks in the run.
    already_done : int
        Chunks found finished in the store.
    computed : int
        Chunks computed by this call.
    summary : StreamingSummary or None
        The summary of a summary run.
    """

    store: Path | None
    n_chunks: int
    already_done: int
    computed: int
    summary: StreamingSummary | None = None


def store_attrs(store: str | Path) -> dict[str, Any]:
    """Attributes of a Zarr store's root group (without loading any data).

    Parameters
    ----------
    store : str or Path
        The store.

    Returns
    -------
    dict
        The attributes.
    """
    import zarr

    return dict(zarr.open_group(str(store), mode="r").attrs)


def provenance_diffs(existing: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """The provenance attributes that differ between a store and a run, one line each.

    Parameters
    ----------
    existing : dict
        The store's attributes.
    wanted : dict
        The run's (:meth:`ChunkJob.provenance`).

    Returns
    -------
    list of str
        ``"key: store has X, this run Y"`` for each difference.
    """
    return [
        f"{k}: store has {existing.get(k)!r}, this run {wanted.get(k)!r}"
        for k in (*PROVENANCE_KEYS, CHUNK_SIZE)
        if (k in existing or k in wanted) and str(existing.get(k)) != str(wanted.get(k))
    ]


def check_provenance(existing: dict[str, Any], wanted: dict[str, Any], store: Path) -> None:
    """Refuse a store made by a different run.

    Parameters
    ----------
    existing : dict
        The store's attributes.
    wanted : dict
        The run's (:meth:`ChunkJob.provenance`).
    store : Path
        For the message.

    Raises
    ------
    StoreMismatchError
        Naming every attribute that differs.
    """
    diffs = provenance_diffs(existing, wanted)
    if diffs:
        raise StoreMismatchError(
            f"{store}: the store belongs to a different run ({'; '.join(diffs)}); "
            "use another output path, or --overwrite to replace it"
        )


def _zattrs(store: Path) -> dict[str, Any]:
    """The root attributes of a Zarr (format 2) store, read without zarr or its metadata cache."""
    return dict(json.loads((store / ".zattrs").read_text(encoding="utf-8")))


def _prepare(job: ChunkJob, final: Path, overwrite: bool) -> tuple[Path, str]:
    """Decide where the run writes; call it holding the lock of ``final``.

    Returns the store to write (``final`` itself when already complete, else
    ``final.partial``) and what it holds: ``"complete"``, ``"finished"`` (every
    chunk in, not yet renamed), ``"resume"`` or ``"new"``.
    """
    partial = partial_store(final)
    wanted = job.provenance()
    if final.exists():  # check_destination made sure it is a schemerisk store
        attrs = _zattrs(final)
        if COMPLETE not in attrs:
            if not overwrite:
                raise StoreMismatchError(
                    f"{final}: exists and was not written by a chunked run (no '{COMPLETE}' "
                    "attribute); use --overwrite to replace it, or another output path"
                )
        else:
            try:
                check_provenance(attrs, wanted, final)
                same = True
            except StoreMismatchError:
                if not overwrite:
                    raise
                same = False
            if same and int(attrs[COMPLETE]) == 1:
                if os.path.lexists(partial) and is_ours(partial, "zarr"):
                    shutil.rmtree(partial)  # left by a run killed after its rename
                return final, "complete"
            if same and not os.path.lexists(partial):
                os.rename(final, partial)  # an unfinished store of an earlier version
    if os.path.lexists(partial):
        if partial.is_symlink() or not is_ours(partial, "zarr"):
            raise StoreMismatchError(
                f"{partial}: exists and was not written by schemerisk; it is never replaced or "
                "deleted: move it away, or choose another output path"
            )
        attrs = _zattrs(partial)
        diffs = provenance_diffs(attrs, wanted)
        if not diffs:
            return partial, "finished" if int(attrs.get(COMPLETE, 0)) == 1 else "resume"
        if not overwrite:
            raise StoreMismatchError(
                f"{partial}: an unfinished store of another run is there ({'; '.join(diffs)}); "
                "run that command again to finish it, or add --overwrite to discard it"
            )
        shutil.rmtree(partial)  # ours (stamped), and we hold the lock
    clean_leftovers(partial)
    aside = make_aside(partial)
    try:
        work = aside / partial.name
        (_create_summary_store if job.summary else _create_cube_store)(job, work)
        os.rename(work, partial)  # a store appears whole, or not at all
    finally:
        shutil.rmtree(aside, ignore_errors=True)
    return partial, "new"


def _create_cube_store(job: ChunkJob, store: Path) -> None:
    import dask.array as da

    one = cube_piece(job, 0, 1)
    n = job.design.n_rows
    data_vars = {}
    for name, var in one.data_vars.items():
        shape = (n, *var.shape[1:])
        chunks = (job.chunk_size, *var.shape[1:])
        data_vars[name] = xr.Variable(
            var.dims, da.zeros(shape, dtype=var.dtype, chunks=chunks), var.attrs
        )
    coords = {k: v.variable for k, v in one.coords.items() if k != DRAW}
    coords[DRAW] = xr.Variable((DRAW,), np.arange(n))
    template = xr.Dataset(data_vars, coords=coords, attrs=one.attrs)
    template.attrs.update(job.provenance())
    template.attrs[COMPLETE] = 0
    template.attrs[STAMP] = _stamp()
    template.to_zarr(store, mode="w", compute=False, zarr_format=2, consolidated=True)
    (store / DONE_DIR).mkdir()


def _stamp() -> str:
    from schemerisk import __version__

    return f"schemerisk {__version__}"


def _mark_complete(store: Path) -> None:
    """Set the complete flag and consolidate; safe to repeat after an interruption."""
    import zarr

    group = zarr.open_group(str(store), mode="r+", zarr_format=2, use_consolidated=False)
    group.attrs[COMPLETE] = 1
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*not recognized as a component", category=UserWarning
        )
        zarr.consolidate_metadata(str(store))
    shutil.rmtree(store / DONE_DIR, ignore_errors=True)  # every chunk is in: markers served


def _done_chunks(store: Path) -> set[int]:
    folder = store / DONE_DIR
    return {int(p.name) for p in folder.iterdir() if p.name.isdigit()} if folder.exists() else set()


def _save_state(store: Path, summary: StreamingSummary, done: set[int]) -> None:
    fd, tmp = tempfile.mkstemp(dir=store, suffix=".npz.partial")
    os.close(fd)
    with open(tmp, "wb") as fh:
        arrays: dict[str, Any] = {"done": np.array(sorted(done), dtype=np.int64), **summary.state()}
        np.savez_compressed(fh, **arrays)
    os.replace(tmp, store / SUMMARY_STATE)


def _create_summary_store(job: ChunkJob, store: Path) -> None:
    xr.Dataset(attrs={**job.provenance(), COMPLETE: 0, STAMP: _stamp()}).to_zarr(
        store, mode="w", zarr_format=2, consolidated=True
    )


#: seconds to wait for a scheduler given with ``scheduler=`` before giving up
CONNECT_TIMEOUT = 5.0


class SchedulerUnreachableError(ValueError):
    """The dask scheduler given cannot be reached."""


#: the only HTTP route of a cluster started without a dashboard
_QUIET_HTTP = {
    "distributed.scheduler.http.routes": ["distributed.http.health"],
    "distributed.worker.http.routes": ["distributed.http.health"],
}


@contextlib.contextmanager
def _client_for(
    scheduler: str | None, workers: int | None, dashboard: bool = False
) -> Iterator[Any]:  # pragma: no cover - thin
    if scheduler is None and workers is None:
        yield None
        return
    import dask

    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise SchedulerUnreachableError(
                f"--scheduler {scheduler}: no dask scheduler answered within "
                f"{CONNECT_TIMEOUT:g} s ({type(exc).__name__}); check the address (e.g. "
                "tcp://host:8786) and that the scheduler is running and reachable"
            ) from None
        except ValueError as exc:
            raise SchedulerUnreachableError(
                f"--scheduler {scheduler}: not a dask scheduler address ({exc}); e.g. "
                "tcp://host:8786"
            ) from None
        except Exception as exc:  # something else answered: e.g. an HTTP server
            raise SchedulerUnreachableError(
                f"--scheduler {scheduler}: something answered there, but not a dask scheduler "
                f"({type(exc).__name__}); check the address and port (the scheduler's, usually "
                "8786, not its dashboard's)"
            ) from None
        with client:
            yield client
        return
    # dask always starts an HTTP server on the scheduler (port 8787 by default, even with
    # dashboard_address=None): bind it to a random port of 127.0.0.1 and, without
    # --dashboard, serve nothing but /health there and on the workers
    config = {} if dashboard else _QUIET_HTTP
    with dask.config.set(config), _started_without_ctrl_c():
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0" if dashboard else None,
            scheduler_kwargs={"dashboard": dashboard, "dashboard_address": "127.0.0.1:0"},
        )
    with cluster, Client(cluster) as client:
        if dashboard:
            print(f"dask dashboard (this machine only): {client.dashboard_link}", file=sys.stderr)
        yield client


@contextlib.contextmanager
def _started_without_ctrl_c() -> Iterator[None]:
    """Start processes that ignore Ctrl-C: it reaches the whole process group in a terminal.

    The client then handles the interruption alone (it keeps the finished chunks,
    says so and closes the cluster), instead of every worker and nanny printing a
    KeyboardInterrupt traceback. Child processes inherit an ignored SIGINT.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def connect(
    scheduler: str | None = None, workers: int | None = None, dashboard: bool = False
) -> contextlib.AbstractContextManager[Any]:
    """A dask client: to an existing scheduler, or to a new local cluster of worker processes.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running dask-distributed scheduler (``tcp://host:8786``).
    workers : int, optional
        Start a local cluster of this many worker processes (one thread each).
    dashboard : bool
        Local cluster: open dask's dashboard, on 127.0.0.1 only (default: none).

    Returns
    -------
    context manager
        Yields a :class:`distributed.Client`, or None when neither is given.

    Raises
    ------
    SchedulerUnreachableError
        When ``scheduler`` does not answer within :data:`CONNECT_TIMEOUT` seconds
        (raised on entering the context).
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    return _client_for(scheduler, workers, dashboard)


def run_to_store(
    job: ChunkJob,
    store: str | Path | None,
    *,
    client: Any = None,
    overwrite: bool = False,
    progress: bool | None = None,
    checkpoint_seconds: float = 30.0,
) -> RunReport:
    """Run every missing chunk of ``job`` into ``store``, on a dask cluster or in this process.

    Parameters
    ----------
    job : ChunkJob
        The run (:func:`make_job`).
    store : str or Path or None
        The Zarr store (a folder). None only for a summary run kept in memory.
    client : distributed.Client, optional
        Where to compute; None computes the chunks here, one after another.
    overwrite : bool
        Replace a store of a different run (or any file) at ``store``.
    progress : bool, optional
        Show a progress bar (default: when the terminal is interactive).
    checkpoint_seconds : float
        Summary runs: save the running summary at most this often (and at the end).

    Returns
    -------
    RunReport
        Chunks found done and computed, and the summary of a summary run.

    Raises
    ------
    StoreMismatchError
        When ``store`` holds a different run and ``overwrite`` is False.
    """
    if store is None:
        if not job.summary:
            raise ValueError("a cube run needs a store")
        summary = StreamingSummary(job.space.inputs.dims.n_years)
        computed = _compute(job, None, set(), summary, client, progress, checkpoint_seconds)
        return RunReport(None, job.n_chunks, 0, computed, summary)
    final = check_destination(store, "zarr", overwrite=overwrite, existing_ok=True)
    created = not final.parent.exists()
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        with hold_lock(final):
            clean_leftovers(final)
            return _run_locked(job, final, client, overwrite, progress, checkpoint_seconds)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                final.parent.rmdir()  # only if empty: the folder this call made
        raise


def _run_locked(
    job: ChunkJob,
    final: Path,
    client: Any,
    overwrite: bool,
    progress: bool | None,
    checkpoint_seconds: float,
) -> RunReport:
    """:func:`run_to_store` holding the lock of ``final``."""
    work, state = _prepare(job, final, overwrite)
    if state == "complete":
        return RunReport(final, job.n_chunks, job.n_chunks, 0, None)
    done: set[int] = set()
    summary = StreamingSummary(job.space.inputs.dims.n_years)
    if state == "finished":
        done = set(range(job.n_chunks))
    elif job.summary and (work / SUMMARY_STATE).exists():
        with np.load(work / SUMMARY_STATE) as saved:
            done = {int(i) for i in saved["done"]}
            summary = StreamingSummary.from_state(dict(saved))
    elif not job.summary:
        done = _done_chunks(work)
    if client is not None and len(done) < job.n_chunks:
        try:
            check_workers_see(client, work, final)
        except OutputError:
            if state == "new":
                shutil.rmtree(work)  # made by this call a moment ago, and empty of results
            raise
    already = len(done)
    computed = _compute(job, work, done, summary, client, progress, checkpoint_seconds)
    if job.summary:
        _finish_summary(job, final, summary)
        shutil.rmtree(work)  # its state is in the finished store now
    else:
        left = set(range(job.n_chunks)) - _done_chunks(work)
        if left and state != "finished":
            raise RuntimeError(f"{work}: chunks {sorted(left)[:10]} were not written")
        _mark_complete(work)
        _put_in_place(work, final)
    return RunReport(final, job.n_chunks, already, computed, summary if job.summary else None)


def _put_in_place(work: Path, final: Path) -> None:
    """Move a finished store onto ``final``, swapping with an older one (old or new, never half)."""
    aside = make_aside(final)
    try:
        moved = aside / final.name
        os.rename(work, moved)
        swap_into_place(moved, final, aside)
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def _compute(
    job: ChunkJob,
    work: Path | None,
    done: set[int],
    summary: StreamingSummary,
    client: Any,
    progress: bool | None,
    checkpoint_seconds: float,
) -> int:
    """Compute every chunk not in ``done`` (updated) into ``work``; the number computed."""
    missing = [i for i in range(job.n_chunks) if i not in done]
    target = str(work) if work is not None else None
    last_save = time.monotonic()
    computed = 0

    def take(chunk: int, result: int | ChunkSummary) -> None:
        nonlocal last_save, computed
        computed += 1
        if isinstance(result, ChunkSummary):
            summary.add(result)
            done.add(chunk)
            if work is not None and time.monotonic() - last_save >= checkpoint_seconds:
                _save_state(work, summary, done)
                last_save = time.monotonic()

    remaining = sum(job.bounds(i)[1] - job.bounds(i)[0] for i in missing)
    try:
        with _progress(remaining, progress, "projecting") as bar:
            if client is None:
                for i in missing:
                    take(i, compute_chunk(i, job, target))
                    bar.update(job.bounds(i)[1] - job.bounds(i)[0])
            elif missing:
                from distributed import as_completed

                client.register_plugin(WarmKernel(job), name=WarmKernel.name)
                # a task, not scattered data: if every worker holding it dies it is recomputed
                shared = client.submit(_same, job, pure=False)
                futures = client.map(compute_chunk, missing, job=shared, store=target, pure=False)
                index = {f.key: i for f, i in zip(futures, missing, strict=True)}
                for fut in as_completed(futures):
                    i = index[fut.key]
                    take(i, fut.result())
                    fut.release()
                    bar.update(job.bounds(i)[1] - job.bounds(i)[0])
    finally:
        if job.summary and work is not None and computed and len(done) < job.n_chunks:
            _save_state(work, summary, done)  # keep what was done, whatever stopped the run
    return computed


WAIT_FOR_WORKERS_S = 60
"""How long a run waits for a cluster with no live worker to get one."""


def _probe(folder: str, token: str) -> tuple[bool, str]:
    """On a worker: create a probe file in ``folder``; (True, its name) or (False, why not)."""
    name = f".schemerisk-probe-{token}-{socket.gethostname()}-{os.getpid()}"
    try:
        with open(os.path.join(folder, name), "x", encoding="ascii") as fh:
            fh.write("probe\n")
    except OSError as exc:
        return False, f"{type(exc).__name__}: {exc.strerror or exc}"
    return True, name


def check_workers_see(client: Any, folder: Path, final: Path) -> None:
    """Refuse a cluster whose workers do not write where this process reads.

    Every worker creates a probe file in ``folder``; this process must then see
    each one (same path, same file system). The probes are removed.

    Parameters
    ----------
    client : distributed.Client
        The cluster.
    folder : Path
        An existing folder of the run (absolute).
    final : Path
        The store, for the message.

    Raises
    ------
    OutputError
        Naming the workers that could not write there or whose files this
        process cannot see.
    """
    token = secrets.token_hex(8)
    answers = client.run(_probe, str(folder), token, on_error="return")
    waited_in_vain = False
    if not any(isinstance(a, tuple) for a in answers.values()):
        # No live worker this instant: a cluster still starting, or nannies restarting
        # workers that died. Wait for one before calling the cluster empty.
        try:
            client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
        except TimeoutError:
            waited_in_vain = True
        else:
            answers = client.run(_probe, str(folder), token, on_error="return")
    problems = []
    for worker, answer in sorted(answers.items()):
        if isinstance(answer, BaseException):
            continue  # a worker that left the cluster: it will get no chunks
        ok, what = answer
        if not ok:
            problems.append(f"worker {worker} cannot write there ({what})")
        elif not (folder / what).exists():
            problems.append(
                f"worker {worker} wrote its probe elsewhere: it does not share this file system"
            )
    for probe in folder.glob(f".schemerisk-probe-{token}-*"):
        probe.unlink()
    if waited_in_vain:
        problems.append(f"the scheduler has had no workers for {WAIT_FOR_WORKERS_S} s")
    elif not any(isinstance(a, tuple) for a in answers.values()):
        problems.append("every worker left the cluster while it was asked to write a probe file")
    if problems:
        raise OutputError(
            f"-o {final}: the dask workers do not write where this machine reads: "
            f"{'; '.join(problems)}. Give -o an absolute path on a file system that this machine "
            "and every worker share"
        )


def _same(job: ChunkJob) -> ChunkJob:
    return job


def summary_dataset(job: ChunkJob, summary: StreamingSummary, level: float = 0.05) -> xr.Dataset:
    """The summary of a finished run as a Dataset with the run's provenance.

    Parameters
    ----------
    job : ChunkJob
        The summary run.
    summary : StreamingSummary
        Its merged summary.
    level : float
        Target probability of deficit of the required premium multiplier.

    Returns
    -------
    xarray.Dataset
        See :meth:`StreamingSummary.to_dataset`.
    """
    sc = job.space.scenario
    ds = summary.to_dataset(np.asarray(sc.years), level=level, currency=sc.currency)
    ds.attrs.update(job.provenance())
    return ds


def _finish_summary(job: ChunkJob, path: Path, summary: StreamingSummary) -> None:
    """Write the finished summary aside and swap it onto ``path`` (whose lock is held)."""
    from schemerisk.output import write_aside

    ds = summary_dataset(job, summary)
    ds.attrs[COMPLETE] = 1
    ds.attrs[STAMP] = _stamp()

    def write(p: Path) -> None:
        ds.to_zarr(p, mode="w", zarr_format=2, consolidated=True)

    write_aside(path, write)


__all__ = [
    "COMPLETE",
    "WAIT_FOR_WORKERS_S",
    "ChunkJob",
    "RunReport",
    "SchedulerUnreachableError",
    "StoreMismatchError",
    "WarmKernel",
    "check_workers_see",
    "compute_chunk",
    "connect",
    "make_job",
    "run_to_store",
    "summary_dataset",
]
