"""Monte Carlo runs beyond one process: chunks on dask workers, streamed into a Zarr store.

The draws of a design are split into chunks of ``chunk_size`` rows. Each chunk
is drawn (:meth:`~schemerisk.uncertainty.sampling.Design.rows` regenerates any
row range from the seed), projected by the one compiled kernel and written
straight into its own region of a Zarr store by whoever computed it -- a dask
worker process or, without a cluster, this process. The client only ever holds
a chunk number (or, for ``keep="summary"``, a chunk's small summary), never
the cube.

Resuming
--------
After a chunk's data are written, a marker file
``<store>/_schemerisk_chunks/<chunk>`` records it; a run that is killed part
way keeps its finished chunks, and running it again computes only the chunks
without a marker. The store's attribute ``schemerisk_complete`` is 0 until
every chunk is done, then 1 (:func:`schemerisk.io.open_dataset` refuses a store
with 0). A store is reused only when its provenance (scenario and
distributions sha256, horizon, seed, sampler, number of draws, kept outputs,
chunk size, versions of schemerisk, numpy, scipy and numba) matches the
run's; otherwise it is refused unless ``overwrite``.

Summary runs keep their running :class:`~schemerisk.uncertainty.summary.StreamingSummary`
and the list of chunks it contains in ``<store>/_schemerisk_summary.npz``,
saved (atomically) every ``checkpoint_seconds``; the merge is exact, so a
resumed summary equals an uninterrupted one.

The cube is bitwise identical to :func:`~schemerisk.uncertainty.montecarlo.simulate`'s
for the same seed: the same rows, the same kernel, the same per-draw
arithmetic, whatever the chunk size or the number of workers.

Workers must see the store's path (one machine, or a shared file system).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
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

from schemerisk.io import COMPLETE_ATTR, atomic_path
from schemerisk.model.kernel import run_kernel
from schemerisk.model.results import (
    DRAW,
    add_memoranda,
    blocks_to_dataset,
    kept_positions,
    output_slices,
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
    ds = ds.assign(_input_variables(space, theta))
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
    diffs = [
        f"{k}: store has {existing.get(k)!r}, this run {wanted.get(k)!r}"
        for k in (*PROVENANCE_KEYS, CHUNK_SIZE)
        if (k in existing or k in wanted) and str(existing.get(k)) != str(wanted.get(k))
    ]
    if diffs:
        raise StoreMismatchError(
            f"{store}: the store belongs to a different run ({'; '.join(diffs)}); "
            "use another output path, or --overwrite to replace it"
        )


def _open_existing(job: ChunkJob, store: Path, overwrite: bool) -> bool:
    """Prepare ``store`` for the run; True when it already holds (part of) this run."""
    if not store.exists():
        return False
    if overwrite:
        shutil.rmtree(store) if store.is_dir() else store.unlink()
        return False
    try:
        attrs = store_attrs(store)
    except Exception as exc:  # not a Zarr store at all
        raise StoreMismatchError(
            f"{store}: exists and is not a Zarr store ({exc}); use --overwrite to replace it"
        ) from None
    if COMPLETE not in attrs:
        raise StoreMismatchError(
            f"{store}: exists and was not written by a resumable run (no '{COMPLETE}' "
            "attribute); use --overwrite to replace it"
        )
    check_provenance(attrs, job.provenance(), store)
    return True


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
    template.to_zarr(store, mode="w", compute=False, zarr_format=2, consolidated=True)
    (store / DONE_DIR).mkdir()


def _mark_complete(store: Path) -> None:
    import zarr

    group = zarr.open_group(str(store), mode="r+", zarr_format=2, use_consolidated=False)
    group.attrs[COMPLETE] = 1
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*not recognized as a component", category=UserWarning
        )
        zarr.consolidate_metadata(str(store))
    shutil.rmtree(store / DONE_DIR)  # every chunk is in: the markers have served


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
    xr.Dataset(attrs={**job.provenance(), COMPLETE: 0}).to_zarr(
        store, mode="w", zarr_format=2, consolidated=True
    )


@contextlib.contextmanager
def _client_for(
    scheduler: str | None, workers: int | None
) -> Iterator[Any]:  # pragma: no cover - thin
    if scheduler is None and workers is None:
        yield None
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    with _started_without_ctrl_c():
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
    with cluster, Client(cluster) as client:
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
    scheduler: str | None = None, workers: int | None = None
) -> contextlib.AbstractContextManager[Any]:
    """A dask client: to an existing scheduler, or to a new local cluster of worker processes.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running dask-distributed scheduler (``tcp://host:8786``).
    workers : int, optional
        Start a local cluster of this many worker processes (one thread each).

    Returns
    -------
    context manager
        Yields a :class:`distributed.Client`, or None when neither is given.
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    return _client_for(scheduler, workers)


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
    path = Path(store) if store is not None else None
    if path is None and not job.summary:
        raise ValueError("a cube run needs a store")
    resumed = path is not None and _open_existing(job, path, overwrite)
    done: set[int] = set()
    summary = StreamingSummary(job.space.inputs.dims.n_years)
    if path is not None and resumed:
        attrs = store_attrs(path)
        if int(attrs[COMPLETE]) == 1:
            return RunReport(path, job.n_chunks, job.n_chunks, 0, None)
        if job.summary:
            if (path / SUMMARY_STATE).exists():
                with np.load(path / SUMMARY_STATE) as state:
                    done = {int(i) for i in state["done"]}
                    summary = StreamingSummary.from_state(dict(state))
        else:
            done = _done_chunks(path)
    elif path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        (_create_summary_store if job.summary else _create_cube_store)(job, path)
    missing = [i for i in range(job.n_chunks) if i not in done]
    already = len(done)
    target = str(path) if path is not None else None
    last_save = time.monotonic()
    computed = 0

    def take(chunk: int, result: int | ChunkSummary) -> None:
        nonlocal last_save, computed
        computed += 1
        if isinstance(result, ChunkSummary):
            summary.add(result)
            done.add(chunk)
            if path is not None and time.monotonic() - last_save >= checkpoint_seconds:
                _save_state(path, summary, done)
                last_save = time.monotonic()

    remaining = sum(job.bounds(i)[1] - job.bounds(i)[0] for i in missing)
    try:
        with _progress(remaining, progress, "projecting") as bar:
            if client is None:
                for i in missing:
                    take(i, compute_chunk(i, job, target))
                    bar.update(job.bounds(i)[1] - job.bounds(i)[0])
            else:
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
        if job.summary and path is not None and computed and len(done) < job.n_chunks:
            _save_state(path, summary, done)  # keep what was done, whatever stopped the run
    if path is not None:
        if job.summary:
            _finish_summary(job, path, summary)
        else:
            left = set(range(job.n_chunks)) - _done_chunks(path)
            if left:
                raise RuntimeError(f"{path}: chunks {sorted(left)[:10]} were not written")
            _mark_complete(path)
    return RunReport(path, job.n_chunks, already, computed, summary if job.summary else None)


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
    ds = summary_dataset(job, summary)
    ds.attrs[COMPLETE] = 1
    with atomic_path(path, directory=True) as work:
        ds.to_zarr(work, mode="w", zarr_format=2, consolidated=True)


__all__ = [
    "COMPLETE",
    "ChunkJob",
    "RunReport",
    "StoreMismatchError",
    "WarmKernel",
    "compute_chunk",
    "connect",
    "make_job",
    "run_to_store",
    "summary_dataset",
]
