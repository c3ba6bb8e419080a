"""The compiled part of :func:`schemerisk.uncertainty.sampling.to_values`: design rows to probabilities.

For each row it clips the unit values, takes normal scores where a copula or an
AR(1) path needs them, correlates them, runs the AR(1) recursions and evaluates
the closed-form inverse CDFs (normal, uniform, fixed; the lognormal up to its
``exp``). A normal or lognormal column with a score takes its value from the
score itself (``F^{-1}(Phi(z))`` is ``mean + sd z``, ``median exp(sigma z)``);
the other scores are mapped back to probabilities first (``ndtr``). Every value takes the
same operations in the same order as the array version (:func:`~schemerisk.uncertainty.sampling.to_values_numpy`),
with SciPy's own ``ndtri`` and ``ndtr`` (the ``scipy.special.cython_special``
functions, the same code as the ufuncs) and no ``fastmath``, so the values are
the same bit for bit (tested). It runs without the GIL, row by row, with no
temporary arrays; with the steps that stay in NumPy and SciPy, the whole map
costs 1.2-1.4x less CPU than the array version (``benchmarks/bench_sampling.py``).

The table-based inverse CDFs (:mod:`schemerisk.uncertainty._inverse`: the
``pert``, ``beta`` and bounded ``truncated_normal`` draws) are evaluated here too.
What stays in NumPy and SciPy, on contiguous columns: the lognormal's ``exp``
(NumPy's vectorised ``exp`` may round differently from the C library's), SciPy's
numerical inverse CDFs (the gamma, and the shapes no table covers) and the
discrete ones.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit
from numba.extending import get_cython_function_address

#: how a column's probability becomes its value in the compiled pass
PASS, NORMAL, LOGNORMAL, UNIFORM, FIXED, TABLE = 0, 1, 2, 3, 4, 5

_DOUBLE_FUNCTION = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)


def _special(name: str) -> Any:
    return _DOUBLE_FUNCTION(get_cython_function_address("scipy.special.cython_special", name))


def scipy_functions() -> tuple[Any, Any] | None:
    """SciPy's ``ndtri`` and real ``ndtr`` as C functions, or None if this SciPy names them otherwise.

    They are handed to the compiled pass as arguments (not globals), so numba
    can cache it: the addresses change from process to process.
    """
    try:
        # cython_special's fused ndtr: 0 is the complex version, 1 the real one
        ndtri, ndtr = _special("ndtri"), _special("__pyx_fuse_1ndtr")
    except (ValueError, KeyError, ImportError, AttributeError):  # pragma: no cover - other SciPy
        return None
    from scipy import special

    probe = np.array([1e-300, 1e-10, 0.025, 0.5, 0.975, 1.0 - 2.0**-53])
    same = all(ndtri(p) == special.ndtri(p) for p in probe) and all(
        ndtr(z) == special.ndtr(z) for z in (-38.0, -1.96, 0.0, 0.3, 8.5)
    )
    return (ndtri, ndtr) if same else None  # pragma: no branch


@dataclass(frozen=True)
class Plan:
    """What the compiled pass does to each column of a design row (from a bound space).

    Attributes
    ----------
    normal : numpy.ndarray
        bool (columns,): the column goes through a normal score (a copula or an AR(1) path).
    kind, a, b : numpy.ndarray
        (columns,): :data:`PASS`, :data:`NORMAL` (``ndtri(q) a + b``), :data:`LOGNORMAL`
        (``a ndtri(q)``, the ``exp`` and ``b`` applied after), :data:`UNIFORM`
        (``q a + b``), :data:`FIXED` (``a``) or :data:`TABLE` (the inverse CDF table
        ``table[c]``, its values within ``[a, b]``).
    table : numpy.ndarray
        int64 (columns,): a :data:`TABLE` column's table (-1 for the others).
    t_nodes, t_width, t_coef, t_guide : numpy.ndarray
        The tables (:class:`~schemerisk.uncertainty._inverse.InverseTable`) one after
        the other: table ``k``'s nodes start at ``t_node_start[k]``, its pieces (widths,
        cubics and guide) at ``t_piece_start[k]`` and end before ``t_piece_start[k + 1]``.
    t_node_start, t_piece_start : numpy.ndarray
        int64 (tables + 1,) offsets.
    block_offsets, block_members : numpy.ndarray
        Copula blocks: block ``i``'s members' first columns are
        ``block_members[block_offsets[i]:block_offsets[i + 1]]``.
    block_width : numpy.ndarray
        Columns of each member of a block (1, or one per year).
    factors, innovations : numpy.ndarray
        (blocks, m, m): each block's copula factor, and its factor for the
        innovations after the first year (the same factor when it has none).
    ar_start, ar_width, ar_phi, ar_scale : numpy.ndarray
        AR(1) paths: first column, years, persistence and ``sqrt(1 - phi^2)``.
    """

    normal: np.ndarray
    kind: np.ndarray
    a: np.ndarray
    b: np.ndarray
    block_offsets: np.ndarray
    block_members: np.ndarray
    block_width: np.ndarray
    factors: np.ndarray
    innovations: np.ndarray
    ar_start: np.ndarray
    ar_width: np.ndarray
    ar_phi: np.ndarray
    ar_scale: np.ndarray
    table: np.ndarray
    t_nodes: np.ndarray
    t_width: np.ndarray
    t_coef: np.ndarray
    t_guide: np.ndarray
    t_node_start: np.ndarray
    t_piece_start: np.ndarray

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The arrays in the order :func:`map_rows` takes them."""
        return (
            self.normal,
            self.kind,
            self.a,
            self.b,
            self.block_offsets,
            self.block_members,
            self.block_width,
            self.factors,
            self.innovations,
            self.ar_start,
            self.ar_width,
            self.ar_phi,
            self.ar_scale,
            self.table,
            self.t_nodes,
            self.t_width,
            self.t_coef,
            self.t_guide,
            self.t_node_start,
            self.t_piece_start,
        )


@njit(cache=True, nogil=True, error_model="numpy")
def _clip(x: float, eps: float) -> float:
    """``np.clip(x, eps, 1 - eps)``."""
    x = eps if x < eps else x
    hi = 1.0 - eps
    return hi if x > hi else x


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def table_value_at(
    u: float,
    nodes: np.ndarray,
    width: np.ndarray,
    coef: np.ndarray,
    guide: np.ndarray,
    node0: int,
    piece0: int,
    n: int,
    lo: float,
    hi: float,
) -> float:
    """A probability's value from an inverse CDF table, as :meth:`~schemerisk.uncertainty._inverse.InverseTable.ppf`.

    The piece is the last ``i`` with ``nodes[i] <= u`` (NumPy's
    ``searchsorted(nodes, u, "right") - 1``, kept within the pieces), found from
    the guide entry of ``u`` by a short scan. The compiled map keeps its tables
    one after the other in the same arrays (:class:`Plan`): the table is the one
    whose nodes start at ``node0`` and ``n`` pieces at ``piece0`` (offsets, not
    views, so no array is made per value).

    Parameters
    ----------
    u : float
        Probability.
    nodes, width, coef, guide : numpy.ndarray
        The tables' arrays.
    node0, piece0, n : int
        Where the table's nodes and pieces start, and its pieces.
    lo, hi : float
        The support.

    Returns
    -------
    float
        The value, clipped to ``[lo, hi]``; NaN for a NaN probability.
    """
    j = int(u * n) if u > 0.0 else 0  # 0 for a NaN too
    i = guide[piece0 + (j if j < n else n - 1)]
    while i + 1 < n and nodes[node0 + i + 1] <= u:
        i += 1
    while i > 0 and nodes[node0 + i] > u:
        i -= 1
    w = width[piece0 + i]
    s = (u - nodes[node0 + i]) / w if w > 0.0 else 0.0
    k = piece0 + i
    x = coef[k, 0] + s * (coef[k, 1] + s * (coef[k, 2] + s * coef[k, 3]))
    x = lo if x < lo else x
    x = hi if x > hi else x
    # NaN for a NaN probability, selected at the end: an early return costs 4x the time
    return x if u == u else u


@njit(cache=True, nogil=True, error_model="numpy")
def map_rows(
    ndtri: Any,
    ndtr: Any,
    unit: np.ndarray,
    out: np.ndarray,
    eps: float,
    score_lo: float,
    score_hi: float,
    normal: np.ndarray,
    kind: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    block_offsets: np.ndarray,
    block_members: np.ndarray,
    block_width: np.ndarray,
    factors: np.ndarray,
    innovations: np.ndarray,
    ar_start: np.ndarray,
    ar_width: np.ndarray,
    ar_phi: np.ndarray,
    ar_scale: np.ndarray,
    table: np.ndarray,
    t_nodes: np.ndarray,
    t_width: np.ndarray,
    t_coef: np.ndarray,
    t_guide: np.ndarray,
    t_node_start: np.ndarray,
    t_piece_start: np.ndarray,
) -> None:
    """Map design rows to probabilities and closed-form values, row by row (see the module).

    ``z_0 = e_0``, ``z_t = phi z_{t-1} + sqrt(1 - phi^2) e_t`` for an AR(1) path;
    ``z'_i = sum_j L_ij z_j`` within a copula block, year by year (UNCERTAINTY.md).

    Parameters
    ----------
    ndtri, ndtr : function pointer
        SciPy's functions (:func:`scipy_functions`).
    unit : numpy.ndarray
        (rows, columns) design rows in [0, 1].
    out : numpy.ndarray
        (rows, columns) output: each column as its :class:`Plan` kind says.
    eps : float
        Probabilities are clipped to ``[eps, 1 - eps]``.
    score_lo, score_hi : float
        ``ndtri(eps)`` and ``ndtri(1 - eps)``: the bounds of a normal score that a
        normal or lognormal column takes directly.
    normal, kind, a, b, block_offsets, block_members, block_width, factors, innovations,
    ar_start, ar_width, ar_phi, ar_scale, table, t_nodes, t_width, t_coef, t_guide,
    t_node_start, t_piece_start : numpy.ndarray
        The :class:`Plan`.
    """
    rows, k = unit.shape
    z = np.empty(k)
    zs = np.empty(max(factors.shape[1], 1))
    for r in range(rows):
        for c in range(k):
            u = _clip(unit[r, c], eps)
            out[r, c] = u
            if normal[c]:
                z[c] = ndtri(u)
        for blk in range(block_offsets.size - 1):
            lo, hi = block_offsets[blk], block_offsets[blk + 1]
            for t in range(block_width[blk]):
                f = factors[blk] if t == 0 else innovations[blk]
                for j in range(hi - lo):
                    zs[j] = z[block_members[lo + j] + t]
                for i in range(hi - lo):
                    acc = 0.0
                    for j in range(hi - lo):
                        acc += f[i, j] * zs[j]
                    z[block_members[lo + i] + t] = acc
        for p in range(ar_start.size):
            s = ar_start[p]
            for t in range(1, ar_width[p]):
                z[s + t] = ar_phi[p] * z[s + t - 1] + ar_scale[p] * z[s + t]
        for c in range(k):
            how = kind[c]
            if normal[c] and (how == NORMAL or how == LOGNORMAL):
                # F^-1(Phi(z)) is mean + sd z for the normal and exp(sigma z) median for the
                # lognormal: from the score itself, with its bounds those of the probabilities
                s = score_lo if z[c] < score_lo else z[c]
                s = score_hi if s > score_hi else s
                out[r, c] = s * a[c] + b[c] if how == NORMAL else a[c] * s
                continue
            q = _clip(ndtr(z[c]), eps) if normal[c] else out[r, c]
            if how == NORMAL:
                out[r, c] = ndtri(q) * a[c] + b[c]
            elif how == LOGNORMAL:
                out[r, c] = a[c] * ndtri(q)
            elif how == UNIFORM:
                out[r, c] = q * a[c] + b[c]
            elif how == FIXED:
                out[r, c] = a[c]
            else:  # PASS, and TABLE's probability (its value below)
                out[r, c] = q
    # the table columns one after the other, so that a table stays in the cache
    for c in range(k):
        if kind[c] == TABLE:
            t = table[c]
            p0 = t_piece_start[t]
            n = t_piece_start[t + 1] - p0
            n0 = t_node_start[t]
            for r in range(rows):
                out[r, c] = table_value_at(
                    out[r, c], t_nodes, t_width, t_coef, t_guide, n0, p0, n, a[c], b[c]
                )
