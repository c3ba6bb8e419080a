"""Sampling designs and the map from the unit cube to drawn input values.

A design is a matrix of points in the unit cube, one row per projection and one
column per drawn value. :func:`unit_design` makes it (plain Monte Carlo, Latin
hypercube, scrambled Sobol' or SALib's Saltelli design), from one integer seed
through numpy's ``SeedSequence``. :func:`to_values` maps rows of it to input
values: normal scores, the Gaussian copula within each correlation block, the
AR(1) recursion over years, then each marginal's inverse CDF (scipy.stats).

Every step works row by row in a fixed order (no BLAS reductions), so the same
seed gives bitwise-identical values whatever the chunk size or thread count.
"""

from __future__ import annotations

import enum
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from schemerisk.uncertainty.space import ParameterSpace, Time

#: draws per independently seeded Monte Carlo block (a constant: changing it changes the draws)
MC_BLOCK = 4096
#: unit-cube points are kept this far from 0 and 1 so that normal scores stay finite
_EPS = 2.0**-53
#: the bounds of a normal score taken directly (a normal or lognormal input with a copula or
#: an AR(1) path): those of the probabilities, ``[_EPS, 1 - _EPS]``
_SCORE_LO, _SCORE_HI = float(special.ndtri(_EPS)), float(special.ndtri(1.0 - _EPS))
#: fewest rows a thread of :func:`to_values` takes
_MIN_SHARE = 1024


class Sampler(enum.Enum):
    """Sampling designs."""

    MC = "mc"  #: plain Monte Carlo
    LHS = "lhs"  #: Latin hypercube (scipy.stats.qmc)
    SOBOL = "sobol"  #: scrambled Sobol' sequence (scipy.stats.qmc)
    SALTELLI = "saltelli"  #: Saltelli's design for Sobol' indices (SALib)


@dataclass(frozen=True)
class Design:
    """A unit-cube design that can hand out any range of its rows.

    For Monte Carlo the rows are generated on demand, block by block, so a
    design of 10^8 rows costs no memory until asked for; the other samplers
    keep the whole (n x columns) matrix.
    """

    sampler: Sampler
    seed: int
    n_rows: int
    n_columns: int
    matrix: np.ndarray | None = None
    saltelli_n: int = 0
    second_order: bool = False

    def rows(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """Rows ``start`` to ``stop`` (exclusive) of the design.

        Parameters
        ----------
        start, stop : int
            The rows.
        out : numpy.ndarray, optional
            C-ordered float64 (stop - start, columns): where a Monte Carlo design
            writes its rows (a run reuses one buffer chunk after chunk); a design
            with a matrix returns a view of it.

        Returns
        -------
        numpy.ndarray
            The rows.
        """
        if not 0 <= start <= stop <= self.n_rows:
            raise IndexError(f"rows {start}:{stop} outside a design of {self.n_rows}")
        if self.matrix is not None:
            return self.matrix[start:stop]
        shape = (stop - start, self.n_columns)
        if out is None:
            out = np.empty(shape)
        elif out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-ordered float64 array of shape {shape}")
        if stop == start:
            return out
        for b in range(start // MC_BLOCK, (stop - 1) // MC_BLOCK + 1):
            lo, hi = max(start, b * MC_BLOCK), min(stop, (b + 1) * MC_BLOCK)
            if hi - lo == MC_BLOCK:  # a whole block: drawn in place
                _mc_block(self.seed, b, self.n_columns, out[lo - start : hi - start])
            else:
                block = _mc_block(self.seed, b, self.n_columns)
                out[lo - start : hi - start] = block[lo - b * MC_BLOCK : hi - b * MC_BLOCK]
        return out


def _mc_block(seed: int, block: int, n_columns: int, out: np.ndarray | None = None) -> np.ndarray:
    """Block ``block`` of a Monte Carlo design: its own stream, filled row after row (into ``out``)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))
    if out is not None:
        return rng.random(out=out)
    return rng.random((MC_BLOCK, n_columns))


def unit_design(
    space: ParameterSpace,
    n: int,
    seed: int,
    sampler: Sampler | str = Sampler.MC,
    *,
    second_order: bool = False,
) -> Design:
    """Make a unit-cube design for ``space``.

    Parameters
    ----------
    space : ParameterSpace
        The uncertain inputs (it says how many columns a row has).
    n : int
        Number of projections; for the Saltelli design, the base sample size N
        (the design has N (2G + 2) rows with second-order indices, N (G + 2) without,
        G being the number of entries).
    seed : int
        The one seed; the same seed gives the same design.
    sampler : Sampler or str
        ``mc``, ``lhs``, ``sobol`` or ``saltelli``.
    second_order : bool
        Saltelli only: make the design for second-order indices too.

    Returns
    -------
    Design
        The design.
    """
    sampler = Sampler(sampler)
    k = space.n_columns
    if n < 1:
        raise ValueError(f"the number of draws must be at least 1, got {n}")
    if sampler is Sampler.MC:
        return Design(sampler, seed, n, k)
    from scipy.stats import qmc  # here: a Monte Carlo run needs no scipy.stats (0.3 s)

    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    if sampler is Sampler.LHS:
        return Design(sampler, seed, n, k, qmc.LatinHypercube(d=k, rng=rng).random(n))
    if n & (n - 1):  # both remaining designs rest on a Sobol' sequence
        warnings.warn(
            f"Sobol' points keep their balance only for a power of two; {n} is not "
            f"(nearest: {2 ** round(np.log2(n))})",
            stacklevel=2,
        )
    if sampler is Sampler.SOBOL:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the same warning from scipy
            return Design(sampler, seed, n, k, qmc.Sobol(d=k, scramble=True, rng=rng).random(n))
    seed32 = int(np.random.SeedSequence(seed).generate_state(1)[0])
    matrix = saltelli_matrix(space.column_groups(), n, seed32, second_order)
    return Design(sampler, seed, matrix.shape[0], k, matrix, n, second_order)


def saltelli_matrix(groups: list[str], n: int, seed: int, second_order: bool) -> np.ndarray:
    """The Saltelli design of SALib's ``sobol.sample`` for grouped columns, built with arrays.

    The same matrix as ``SALib.sample.sobol.sample(problem, n, calc_second_order=...,
    seed=seed)`` with ``problem["groups"] = groups`` (tested to be identical), laid
    out for ``SALib.analyze.sobol``: for each base point, the row of A, the G rows
    AB_g (A with group g's columns from B), with second order the G rows BA_g,
    then the row of B (Saltelli 2002; Saltelli et al. 2010). SALib fills it one
    element at a time in Python, which takes seconds at N = 2^14; this takes
    milliseconds.

    Parameters
    ----------
    groups : list of str
        The group of each column, in column order.
    n : int
        Base sample size N.
    seed : int
        Seed of the scrambled Sobol' base sequence (as SALib's ``seed``).
    second_order : bool
        Include the BA rows.

    Returns
    -------
    numpy.ndarray
        Shape (N (2G + 2), k) with second order, (N (G + 2), k) without.
    """
    k = len(groups)
    names = list(dict.fromkeys(groups))
    with warnings.catch_warnings():
        # scipy warns when N is not a power of two; unit_design gives our own warning
        warnings.simplefilter("ignore", UserWarning)
        from scipy.stats import qmc  # here: a Monte Carlo run needs no scipy.stats (0.3 s)

        base = qmc.Sobol(d=2 * k, scramble=True, seed=seed).random(n)
    a, b = base[:, :k], base[:, k:]
    g = len(names)
    # each base point's rows, written in place (no (N, G, k) temporaries): A, the G rows AB_g
    # (A with group g's columns from B), with second order the G rows BA_g, then B
    out = np.empty((n, 2 * g + 2 if second_order else g + 2, k))
    out[:, 0] = a
    out[:, 1 : g + 1] = a[:, None, :]
    if second_order:
        out[:, g + 1 : 2 * g + 1] = b[:, None, :]
    for i, name in enumerate(names):
        cols = np.flatnonzero([c == name for c in groups])
        out[:, 1 + i, cols] = b[:, cols]
        if second_order:
            out[:, g + 1 + i, cols] = a[:, cols]
    out[:, -1] = b
    return out.reshape(-1, k)


def salib_problem(space: ParameterSpace) -> dict[str, object]:
    """SALib's problem definition for the unit cube of ``space``, grouped by entry.

    A whole per-year path (an AR(1) inflation series, say) is one group, so it
    gets one Sobol' index.
    """
    groups = space.column_groups()
    return {
        "num_vars": space.n_columns,
        "names": [f"{g}[{i}]" for i, g in enumerate(groups)],
        "bounds": [[0.0, 1.0]] * space.n_columns,
        "groups": groups,
    }


def to_values(
    space: ParameterSpace, unit: np.ndarray, threads: int = 1, out: np.ndarray | None = None
) -> np.ndarray:
    """Map unit-cube rows to drawn input values (the ``theta`` the kernel takes).

    Normal scores, the Gaussian copula within each correlation block, the AR(1)
    recursion over years, then each marginal's inverse CDF: the steps of
    :func:`to_values_numpy`, with the same values bit for bit, the first ones
    compiled (:mod:`schemerisk.uncertainty._unitmap`: no temporaries, no GIL) with
    the table-based inverse CDFs, and SciPy's numerical inverse CDFs (the shapes
    no table covers) on contiguous columns.

    Parameters
    ----------
    space : ParameterSpace
        The uncertain inputs.
    unit : numpy.ndarray
        Design rows, shape (rows, columns), in [0, 1].
    threads : int
        Threads that share the compiled steps, row by row (the values do not depend on it).
    out : numpy.ndarray, optional
        C-ordered float64 array of ``unit``'s shape to write the values to (a run
        reuses one buffer chunk after chunk).

    Returns
    -------
    numpy.ndarray
        Drawn values, same shape (``out`` when given).
    """
    unit = np.ascontiguousarray(unit, dtype=np.float64)
    if out is not None and (
        out.shape != unit.shape or out.dtype != np.float64 or not out.flags.c_contiguous
    ):
        raise ValueError(f"out must be a C-ordered float64 array of shape {unit.shape}")
    compiled = _compiled_map()
    if compiled is None or unit.ndim != 2 or unit.shape[1] != space.n_columns:
        values = to_values_numpy(space, unit)
        if out is None:
            return values
        out[...] = values
        return out
    from schemerisk.uncertainty import _unitmap

    plan, post = _plan_of(space)
    if out is None:
        out = np.empty_like(unit)
    n = unit.shape[0]
    parts = max(1, min(threads, n // _MIN_SHARE))
    cuts = [n * i // parts for i in range(parts + 1)]

    def part(i: int) -> None:
        lo, hi = cuts[i], cuts[i + 1]
        _unitmap.map_rows(
            *compiled, unit[lo:hi], out[lo:hi], _EPS, _SCORE_LO, _SCORE_HI, *plan.arrays()
        )

    if parts == 1:
        part(0)
    else:
        with ThreadPoolExecutor(max_workers=parts) as pool:
            list(pool.map(part, range(parts)))
    for cols, kind, marginal, scale, loc in post:
        if kind != "lognormal":
            out[:, cols] = marginal.ppf(np.ascontiguousarray(out[:, cols]))
            continue
        # exp(a z) scale + loc on a contiguous copy (NumPy's vectorised exp), in place in a
        # scratch the thread keeps: the same operations as exp(block) * scale + loc
        block = _scratch(n, cols.stop - cols.start)
        np.copyto(block, out[:, cols])
        with np.errstate(over="ignore"):  # an overflowing draw is inf, counted downstream
            np.exp(block, out=block)
            block *= scale
            block += loc
        out[:, cols] = block
    return out


_SCRATCH = threading.local()


def _scratch(rows: int, columns: int) -> np.ndarray:
    """A (rows, columns) float64 array this thread keeps from one call to the next (grown as needed)."""
    have = getattr(_SCRATCH, "array", None)
    if have is None or have.size < rows * columns:
        have = _SCRATCH.array = np.empty(rows * columns)
    return have[: rows * columns].reshape(rows, columns)


_COMPILED: list[Any] = []


def _compiled_map() -> tuple[Any, Any] | None:
    """SciPy's ``ndtri`` and ``ndtr`` for the compiled map, found once (None: use NumPy)."""
    if not _COMPILED:
        from schemerisk.uncertainty import _unitmap

        _COMPILED.append(_unitmap.scipy_functions())
    return _COMPILED[0]


_PLANS: dict[int, tuple[ParameterSpace, Any, list[Any]]] = {}


def _plan_of(space: ParameterSpace) -> tuple[Any, list[Any]]:
    """The compiled map's plan for ``space``, and what NumPy and SciPy do after it, column by column."""
    known = _PLANS.get(id(space))
    if known is not None and known[0] is space:
        return known[1], known[2]
    from schemerisk.uncertainty import _unitmap
    from schemerisk.uncertainty._inverse import InverseTable
    from schemerisk.uncertainty.families import Marginal, closed_form, prepare_inverses

    # the numerical inverse CDFs, built and checked two (or more) at a time
    prepare_inverses([e.marginal for e in space.entries], os.cpu_count() or 1)
    k = space.n_columns
    normal = np.zeros(k, dtype=np.bool_)
    kind = np.full(k, _unitmap.PASS, dtype=np.int64)
    a, b = np.zeros(k), np.zeros(k)
    codes = {"normal": _unitmap.NORMAL, "lognormal": _unitmap.LOGNORMAL}
    codes.update(uniform=_unitmap.UNIFORM, fixed=_unitmap.FIXED)
    needs_normal = {e.name for e in space.entries if e.time is Time.AR1}
    for block in space.correlations:
        needs_normal.update(block.entries)
    post: list[Any] = []
    tables: list[InverseTable] = []
    table = np.full(k, -1, dtype=np.int64)
    for e in space.entries:
        cols = np.asarray(space.columns[e.name], dtype=np.int64)
        normal[cols] = e.name in needs_normal
        form = closed_form(e.marginal)
        inverse = e.marginal._fast_inverse() if isinstance(e.marginal, Marginal) else None
        if form is None and isinstance(inverse, InverseTable):  # evaluated in the compiled map
            kind[cols], table[cols] = _unitmap.TABLE, len(tables)
            a[cols], b[cols] = e.marginal.support()  # Marginal.ppf's clip
            tables.append(inverse)
            continue
        if form is None:
            post.append((slice(int(cols[0]), int(cols[-1]) + 1), "ppf", e.marginal, 1.0, 0.0))
            continue
        name, shape, scale, loc = form
        kind[cols] = codes[name]
        if name == "lognormal":  # a = sigma; the exp, scale (the median) and loc after
            a[cols] = shape
            post.append((slice(int(cols[0]), int(cols[-1]) + 1), name, e.marginal, scale, loc))
        elif name == "fixed":
            a[cols] = shape
        else:
            a[cols], b[cols] = scale, loc
    m = max((len(blk.entries) for blk in space.correlations), default=1)
    blocks = space.correlations
    factors = np.zeros((len(blocks), m, m))
    innovations = np.zeros((len(blocks), m, m))
    members, offsets, width = [], [0], []
    for i, blk in enumerate(blocks):
        size = len(blk.entries)
        factors[i, :size, :size] = blk.factor
        innov = blk.factor if blk.innovation_factor is None else blk.innovation_factor
        innovations[i, :size, :size] = innov
        members += [int(space.columns[name][0]) for name in blk.entries]
        offsets.append(len(members))
        width.append(len(space.columns[blk.entries[0]]))
    paths = [e for e in space.entries if e.time is Time.AR1]
    plan = _unitmap.Plan(
        normal=normal,
        kind=kind,
        a=a,
        b=b,
        block_offsets=np.asarray(offsets, dtype=np.int64),
        block_members=np.asarray(members, dtype=np.int64),
        block_width=np.asarray(width, dtype=np.int64),
        factors=factors,
        innovations=innovations,
        ar_start=np.asarray([int(space.columns[e.name][0]) for e in paths], dtype=np.int64),
        ar_width=np.asarray([len(space.columns[e.name]) for e in paths], dtype=np.int64),
        ar_phi=np.asarray([e.persistence for e in paths], dtype=np.float64),
        ar_scale=np.asarray([np.sqrt(1.0 - e.persistence * e.persistence) for e in paths]),
        table=table,
        t_nodes=np.concatenate([t.nodes for t in tables] or [np.zeros(0)]),
        t_width=np.concatenate([t.width for t in tables] or [np.zeros(0)]),
        t_coef=np.concatenate([t.coef for t in tables] or [np.zeros((0, 4))]),
        t_guide=np.concatenate([t.guide for t in tables] or [np.zeros(0, dtype=np.int64)]),
        t_node_start=np.cumsum([0] + [t.nodes.size for t in tables], dtype=np.int64),
        t_piece_start=np.cumsum([0] + [t.pieces for t in tables], dtype=np.int64),
    )
    if len(_PLANS) > 64:  # spaces come and go (the explorer, the tests): keep the newest
        _PLANS.clear()
    _PLANS[id(space)] = (space, plan, post)
    return plan, post


def to_values_numpy(space: ParameterSpace, unit: np.ndarray) -> np.ndarray:
    """Map unit-cube rows to drawn input values with NumPy and SciPy arrays: :func:`to_values`' reference.

    The map as first written, step by step on whole columns; :func:`to_values`
    gives the same values bit for bit (tested), and falls back to this when
    SciPy's C functions cannot be found.

    Parameters
    ----------
    space : ParameterSpace
        The uncertain inputs.
    unit : numpy.ndarray
        Design rows, shape (rows, columns), in [0, 1].

    Returns
    -------
    numpy.ndarray
        Drawn values, same shape.
    """
    from schemerisk.uncertainty.families import closed_form

    u = np.clip(np.asarray(unit, dtype=np.float64), _EPS, 1.0 - _EPS)
    needs_normal = {e.name for e in space.entries if e.time is Time.AR1}
    for block in space.correlations:
        needs_normal.update(block.entries)
    z: dict[str, np.ndarray] = {
        name: special.ndtri(u[:, space.columns[name]]) for name in needs_normal
    }
    for block in space.correlations:
        _impose_copula(block.factor, block.innovation_factor, [z[name] for name in block.entries])
    for e in space.entries:
        if e.time is Time.AR1:
            _ar1_in_place(z[e.name], e.persistence)
    out = np.empty_like(u)
    for e in space.entries:
        cols = space.columns[e.name]
        form = closed_form(e.marginal) if e.name in z else None
        if form is not None and form[0] in ("normal", "lognormal"):
            # F^-1(Phi(z)) from the score itself: mean + sd z, or median exp(sigma z)
            _, shape, scale, loc = form
            s = np.clip(z[e.name], _SCORE_LO, _SCORE_HI)
            with np.errstate(over="ignore"):
                out[:, cols] = (s if form[0] == "normal" else np.exp(shape * s)) * scale + loc
            continue
        uu = special.ndtr(z[e.name]) if e.name in z else u[:, cols]
        with np.errstate(over="ignore"):  # an overflowing draw is inf, counted as such downstream
            out[:, cols] = e.marginal.ppf(np.clip(uu, _EPS, 1.0 - _EPS))
    return out


def _impose_copula(
    factor: np.ndarray, innovation_factor: np.ndarray | None, normals: list[np.ndarray]
) -> None:
    """Correlate the normal scores of a block's entries, column by column (year by year), in place.

    ``z'_i = sum_j L_ij z_j`` with ``L L' = R``, summed in a fixed order. For
    per-year entries, columns after the first are AR(1) innovations and use the
    innovation factor (see :func:`~schemerisk.uncertainty.space._innovation_factor`).
    """
    m = len(normals)
    for c in range(normals[0].shape[1]):
        lf = factor if (c == 0 or innovation_factor is None) else innovation_factor
        zs = [normals[j][:, c].copy() for j in range(m)]
        for i in range(m):
            acc = np.zeros_like(zs[0])
            for j in range(m):
                acc += lf[i, j] * zs[j]
            normals[i][:, c] = acc


def _ar1_in_place(z: np.ndarray, phi: float) -> None:
    """Turn independent standard normal innovations into a stationary AR(1) series, in place.

    ``z_0 = e_0``, ``z_t = phi z_{t-1} + sqrt(1 - phi^2) e_t``: every year's score is
    standard normal, and the correlation between years t and t+h is phi^h.
    """
    scale = np.sqrt(1.0 - phi * phi)
    for t in range(1, z.shape[1]):
        z[:, t] = phi * z[:, t - 1] + scale * z[:, t]


def sample_values(
    space: ParameterSpace, n: int, seed: int, sampler: Sampler | str = Sampler.MC
) -> np.ndarray:
    """Draw ``n`` rows of input values: :func:`unit_design` then :func:`to_values`.

    Parameters
    ----------
    space : ParameterSpace
        The uncertain inputs.
    n : int
        Number of projections.
    seed : int
        The seed.
    sampler : Sampler or str
        The design.

    Returns
    -------
    numpy.ndarray
        Shape (n, space.n_columns).
    """
    design = unit_design(space, n, seed, sampler)
    return to_values(space, design.rows(0, design.n_rows))
