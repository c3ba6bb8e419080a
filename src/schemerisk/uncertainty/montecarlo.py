"""The Monte Carlo run: the one kernel over many draws, chunk by chunk, into an xarray cube.

Memory grows with draws x (drawn values + kept outputs): the kernel fills one
chunk of full output rows at a time, and only the outputs the user keeps are
copied out of it.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import xarray as xr

from schemerisk import __version__
from schemerisk.model.kernel import run_kernel
from schemerisk.model.layout import compile_inputs
from schemerisk.model.project import as_scenario
from schemerisk.model.results import (
    DEFAULT_KEEP,
    DRAW,
    add_memoranda,
    blocks_to_dataset,
    kept_positions,
)
from schemerisk.scenario.types import Scenario
from schemerisk.uncertainty.sampling import Design, Sampler, to_values, unit_design
from schemerisk.uncertainty.space import ParameterSpace, load_space

DEFAULT_CHUNK = 16_384


@contextlib.contextmanager
def numba_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` numba threads (all available when None)."""
    if threads is None:
        yield
        return
    most = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    if not 1 <= threads <= most:
        raise ValueError(f"threads must be between 1 and {most}, got {threads}")
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(before)


class _NoProgress:
    """Stands in for a progress bar when none is shown (tqdm is then not even imported)."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        """Do nothing."""


def _progress(total: int, enabled: bool | None, desc: str):  # type: ignore[no-untyped-def]
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show:
        return _NoProgress()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="draws", unit_scale=True, file=sys.stderr)


@dataclass(frozen=True)
class RunSettings:
    """How a Monte Carlo run was made (kept as provenance in the cube)."""

    n: int
    seed: int
    sampler: Sampler
    keep: tuple[str, ...]


def package_versions() -> dict[str, str]:
    """Versions of schemerisk and the libraries that shape its numbers."""
    out = {"schemerisk": __version__}
    for pkg in ("numpy", "numba", "scipy", "xarray", "SALib"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover
            out[pkg] = "not installed"
    return out


def run_design(
    space: ParameterSpace,
    design: Design,
    *,
    keep: Iterable[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    threads: int | None = None,
    progress: bool | None = None,
    memoranda: bool = True,
    inputs: bool = True,
) -> xr.Dataset:
    """Project every row of a design and return the cube.

    Parameters
    ----------
    space : ParameterSpace
        The uncertain inputs, bound to their scenario.
    design : Design
        Unit-cube design from :func:`~schemerisk.uncertainty.sampling.unit_design`.
    keep : iterable of str, optional
        Output variables to keep (default :data:`DEFAULT_KEEP`; ``"all"`` keeps everything).
    chunk_size : int
        Draws projected at once; the results do not depend on it.
    threads : int, optional
        Numba threads; the results do not depend on it.
    progress : bool, optional
        Show a progress bar (default: when the terminal is interactive).
    memoranda : bool
        Add the memoranda computed from the kept outputs
        (:func:`~schemerisk.model.results.add_memoranda`); a caller that reads
        none of them (``schemerisk risk`` without ``-o``) saves their time and memory.
    inputs : bool
        Keep every drawn input as ``input_<entry>``. A caller that reads none of
        them saves draws x columns floats (376 MB for 10^6 draws of Hai Phong's
        47 columns); :func:`drawn_inputs` makes them again, the same bit for bit,
        if they are wanted after all.

    Returns
    -------
    xarray.Dataset
        The cube: kept outputs with a leading ``draw`` dimension, every drawn
        input as ``input_<entry>`` (with ``inputs``), and provenance attributes.
    """
    run = Run(space, keep, capacity=design.n_rows, inputs=inputs)
    run.extend(design, chunk_size=chunk_size, threads=threads, progress=progress)
    return run.cube(design, memoranda=memoranda)


class Run:
    """A Monte Carlo run that grows: designs projected one after another into the same arrays.

    :func:`run_design` is one :meth:`extend` and one :meth:`cube`. A caller that
    adds rows to a design (the Sobol' doubling of
    :func:`~schemerisk.analysis.study.sobol_until_precise`) extends the run with the
    new rows only, and each :meth:`cube` is a view of the rows so far: nothing
    is copied or concatenated. With a ``capacity`` large enough for the last
    design, the arrays are made once (untouched rows cost no memory); past it
    they are made anew, twice as large, and the rows so far copied over.

    Parameters
    ----------
    space : ParameterSpace
        The uncertain inputs, bound to their scenario.
    keep : iterable of str, optional
        Outputs to keep, as :func:`run_design`'s ``keep``.
    capacity : int
        Rows to make room for at first.
    inputs : bool
        Keep the drawn inputs, as :func:`run_design`'s ``inputs``.
    """

    def __init__(
        self,
        space: ParameterSpace,
        keep: Iterable[str] | None = None,
        *,
        capacity: int = 0,
        inputs: bool = True,
    ) -> None:
        self.space = space
        self.names = _keep_names(keep)
        self.positions, self.where = kept_positions(space.inputs, self.names)
        self.n = 0
        # The kernel writes only the kept outputs, straight into one (rows, kept) array; each
        # variable of a cube is a view of its columns. The drawn values are kept input by input
        # (one row of `drawn` per column), so each input_<entry> variable is a view too.
        self.values = np.empty((max(capacity, 0), self.positions.size))
        self.drawn = np.empty((space.n_columns, max(capacity, 0))) if inputs else None

    def _room(self, rows: int) -> None:
        if self.n + rows <= self.values.shape[0]:
            return
        size = max(self.n + rows, 2 * self.values.shape[0])
        values = np.empty((size, self.positions.size))
        values[: self.n] = self.values[: self.n]
        self.values = values
        if self.drawn is not None:
            drawn = np.empty((self.space.n_columns, size))
            drawn[:, : self.n] = self.drawn[:, : self.n]
            self.drawn = drawn

    def extend(
        self,
        design: Design,
        *,
        chunk_size: int = DEFAULT_CHUNK,
        threads: int | None = None,
        progress: bool | None = None,
    ) -> None:
        """Project every row of ``design`` after the rows so far.

        Parameters
        ----------
        design : Design
            The rows to add.
        chunk_size, threads, progress
            As :func:`run_design`'s.
        """
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
        self._room(design.n_rows)
        at = self.n
        drawn = None if self.drawn is None else self.drawn[:, at : at + design.n_rows]
        with numba_threads(threads), _progress(design.n_rows, progress, "projecting") as bar:
            for start, stop, theta in _drawn_chunks(self.space, design, chunk_size, drawn):
                run_kernel(
                    self.space.inputs,
                    theta,
                    self.space.modifications,
                    out=self.values[at + start : at + stop],
                    keep=self.positions,
                )
                bar.update(stop - start)
        self.n += design.n_rows

    def cube(self, design: Design, *, memoranda: bool = True) -> xr.Dataset:
        """The cube of the rows so far (views of the run's arrays, not copies).

        Parameters
        ----------
        design : Design
            The design the rows so far make up, for the provenance attributes.
        memoranda : bool
            As :func:`run_design`'s.

        Returns
        -------
        xarray.Dataset
            As :func:`run_design` returns.
        """
        if design.n_rows != self.n:
            raise ValueError(f"the design has {design.n_rows} rows, the run {self.n}")
        values = self.values[: self.n]
        kept = {name: values[:, sl] for name, sl in self.where.items()}
        space = self.space
        ds = blocks_to_dataset(space.scenario, space.inputs, kept, draw_dim=True)
        if memoranda:
            ds = add_memoranda(ds)
        if self.drawn is not None:
            ds = ds.assign(_input_variables(space, self.drawn[:, : self.n]))
        ds = ds.assign_coords({DRAW: np.arange(self.n)})
        ds.attrs.update(_provenance(space, design, self.names))
        return ds


def _drawn_chunks(
    space: ParameterSpace, design: Design, chunk_size: int, drawn: np.ndarray | None = None
) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(start, stop, theta)`` for each chunk of the design: its rows as drawn input values.

    The next chunk is drawn (:func:`~schemerisk.uncertainty.sampling.to_values`, its
    compiled steps shared by as many threads as numba has) while the caller works
    on this one: the kernel releases the GIL. With ``drawn``, the values are also
    copied there, one row per column, in the same thread. The values depend on
    neither. Two sets of buffers take turns, so a chunk's ``theta`` is overwritten
    once the caller asks for the chunk after next: use it before asking for the
    next one (fresh arrays each chunk cost this virtual machine more in page faults
    than the sampling itself, about 0.8 CPU s on 10^6 draws).
    """
    threads = numba.get_num_threads()
    starts = range(0, design.n_rows, chunk_size)
    if not starts:  # a design of no rows: nothing to draw
        return
    # two buffers of each: the chunk the caller works on, and the next one being drawn
    size = (min(chunk_size, design.n_rows), space.n_columns)
    units, thetas = [np.empty(size) for _ in range(2)], [np.empty(size) for _ in range(2)]

    def draw(i: int) -> np.ndarray:
        start = starts[i]
        stop = min(start + chunk_size, design.n_rows)
        rows = design.rows(start, stop, out=units[i % 2][: stop - start])
        theta = to_values(space, rows, threads, out=thetas[i % 2][: stop - start])
        if drawn is not None:  # kept input by input: one row of `drawn` per column
            drawn[:, start:stop] = theta.T
        return theta

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(draw, 0)
        for i, start in enumerate(starts):
            theta = pending.result()
            if i + 1 < len(starts):  # into the other buffers: the caller is done with them
                pending = pool.submit(draw, i + 1)
            yield start, min(start + chunk_size, design.n_rows), theta


def drawn_inputs(
    space: ParameterSpace, design: Design, chunk_size: int = DEFAULT_CHUNK
) -> dict[str, xr.Variable]:
    """The ``input_<entry>`` variables of a run of ``design``, made again without projecting.

    The same values bit for bit as :func:`run_design` keeps with ``inputs=True``:
    the design hands out the same rows and they are mapped the same way.

    Parameters
    ----------
    space : ParameterSpace
        The uncertain inputs.
    design : Design
        The run's design.
    chunk_size : int
        Draws mapped at once.

    Returns
    -------
    dict of str to xarray.Variable
        ``input_<entry>`` -> the drawn values, (draw,) or (draw, year).
    """
    drawn = np.empty((space.n_columns, design.n_rows))
    for _ in _drawn_chunks(space, design, chunk_size, drawn):
        pass
    return _input_variables(space, drawn)


def _keep_names(keep: Iterable[str] | str | None) -> list[str]:
    from schemerisk.model.results import VARIABLE_FIELDS

    if keep is None:
        return list(DEFAULT_KEEP)
    if isinstance(keep, str):
        keep = [keep]
    names = list(keep)
    if names == ["all"]:
        return list(VARIABLE_FIELDS)
    return names


def _input_variables(space: ParameterSpace, drawn: np.ndarray) -> dict[str, xr.Variable]:
    """The ``input_<entry>`` variables: views of ``drawn`` (columns x draws), not copies."""
    out = {}
    for e in space.entries:
        cols = space.columns[e.name]  # consecutive columns
        attrs = {
            "long_name": f"Drawn value for {e.slot.path}",
            "target": e.slot.path,
            "apply": e.apply.value,
            "time": e.time.value,
            "path": e.path_mode.value if e.slot.is_path else "",
            "distribution": e.marginal.describe(),
            "note": e.note,
        }
        if e.is_series:
            rows = drawn[int(cols[0]) : int(cols[-1]) + 1]
            out[f"input_{e.name}"] = xr.Variable((DRAW, "year"), rows.T, attrs)
        else:
            out[f"input_{e.name}"] = xr.Variable((DRAW,), drawn[int(cols[0])], attrs)
    return out


def _provenance(space: ParameterSpace, design: Design, names: list[str]) -> dict[str, str | int]:
    attrs: dict[str, str | int] = {
        "distributions_file": space.source,
        "distributions_sha256": space.sha256,
        "seed": design.seed,
        "sampler": design.sampler.value,
        "n_draws": design.n_rows,
        "kept_outputs": " ".join(names),
        "reserve_fund": int(space.scenario.reserve is not None),
    }
    if design.sampler is Sampler.SALTELLI:
        attrs["saltelli_n"] = design.saltelli_n
        attrs["saltelli_second_order"] = int(design.second_order)
    for pkg, ver in package_versions().items():
        attrs[f"version_{pkg}"] = ver
    return attrs


def bind_space(
    scenario: Scenario | str | Path,
    distributions: ParameterSpace | str | Path,
    horizon: int | None = None,
) -> ParameterSpace:
    """The uncertain inputs bound to their scenario: a space as given, or loaded for the scenario.

    Parameters
    ----------
    scenario : Scenario, str or Path
        The scenario (ignored when ``distributions`` is already a bound space).
    distributions : ParameterSpace, str or Path
        A bound space, a distributions file or a built-in name.
    horizon : int, optional
        Years after the base year instead of the scenario's own (when loading).

    Returns
    -------
    ParameterSpace
        The bound space.
    """
    if isinstance(distributions, ParameterSpace):
        return distributions
    sc = as_scenario(scenario)
    if horizon is not None:
        sc = sc.with_horizon(horizon)
    return load_space(distributions, sc, compile_inputs(sc))


def simulate(
    scenario: Scenario | str | Path,
    distributions: ParameterSpace | str | Path,
    n: int,
    *,
    seed: int = 0,
    sampler: Sampler | str = Sampler.MC,
    keep: Iterable[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    threads: int | None = None,
    progress: bool | None = None,
    horizon: int | None = None,
) -> xr.Dataset:
    """Run a Monte Carlo study of a scenario under uncertain inputs.

    Parameters
    ----------
    scenario : Scenario, str or Path
        The scenario (file, built-in name or object).
    distributions : ParameterSpace, str or Path
        The distributions file (or built-in name), or a space already bound to ``scenario``.
    n : int
        Number of projections.
    seed : int
        The one seed: the same seed gives bitwise-identical results whatever
        ``chunk_size`` and ``threads``.
    sampler : Sampler or str
        ``mc``, ``lhs`` or ``sobol`` (``saltelli`` is for :mod:`schemerisk.analysis.sensitivity`).
    keep : iterable of str, optional
        Outputs to keep; see :func:`run_design`.
    chunk_size, threads, progress
        See :func:`run_design`.
    horizon : int, optional
        Project this many years after the base year instead of the scenario's own.

    Returns
    -------
    xarray.Dataset
        The cube.

    Examples
    --------
    >>> cube = simulate("hai_phong_1993_1997", "hai_phong_1993_1997", 1000, seed=1)
    >>> float((cube.balance < 0).mean("draw").sel(year=1997))  # doctest: +SKIP
    0.41
    """
    space = bind_space(scenario, distributions, horizon)
    design = unit_design(space, n, seed, sampler)
    return run_design(
        space, design, keep=keep, chunk_size=chunk_size, threads=threads, progress=progress
    )


def balance_summary(cube: xr.Dataset) -> xr.Dataset:
    """Median and 5-95 % range of the balance by year, and the share of draws in deficit.

    A draw whose balance is not finite is unknown: left out of the quantiles
    and of the share in deficit, and counted in ``n_unknown`` (see
    :mod:`schemerisk.uncertainty.nonfinite`).

    Parameters
    ----------
    cube : xarray.Dataset
        A Monte Carlo cube with ``balance``.

    Returns
    -------
    xarray.Dataset
        ``p05``, ``median``, ``p95``, ``p_deficit`` (over the draws with a
        finite balance) and ``n_unknown`` by year.
    """
    from schemerisk.uncertainty.nonfinite import count_dataset, finite

    bal = cube["balance"]
    known = finite(bal)
    q = bal.where(known).quantile([0.05, 0.5, 0.95], dim=DRAW, skipna=True)
    n_known = known.sum(DRAW)
    return xr.Dataset(
        {
            "p05": q.sel(quantile=0.05, drop=True),
            "median": q.sel(quantile=0.5, drop=True),
            "p95": q.sel(quantile=0.95, drop=True),
            "p_deficit": ((bal < 0) & known).sum(DRAW) / n_known.where(n_known > 0),
            "n_unknown": count_dataset(cube, ["balance"]).sel(output="balance", drop=True),
        }
    )
