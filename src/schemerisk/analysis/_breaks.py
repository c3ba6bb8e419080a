"""Compiled loops of the exact search for the conditional optimum (:mod:`schemerisk.analysis.voi`).

Imported only when a value of information is computed, so that ``import
schemerisk.analysis.voi`` stays light. No ``fastmath``: every sum runs in the
order written, as NumPy's ``cumsum`` does.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def breaks_and_slopes(
    a: np.ndarray,
    ks: np.ndarray,
    const: np.ndarray,
    cd: float,
    cs: float,
    starts: np.ndarray,
    ends: np.ndarray,
    at_t: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    k0: float,
    j0: int,
    beta0: np.ndarray,
) -> None:
    """``beta`` at every break and at today's decision, and the range of its slopes by segment.

    With ``s1_j = sum_{i < j} a_i`` and ``s2_j = sum_{i < j} a_i ks_i`` (prefix sums
    over the sorted break-evens; ``a_i`` a training draw's coefficient vector times
    its scaled revenue) and ``t1``, ``t2`` their totals, ``beta`` at break ``j`` is
    ``ks_j (cd t1 - (cd + cs) s1_j) - (cd t2 - (cd + cs) s2_j) + const``, and its
    slope between breaks ``j`` and ``j + 1`` is ``cd t1 - (cd + cs) s1_{j+1}``.

    Parameters
    ----------
    a : numpy.ndarray
        (m, q) coefficient vectors times revenue, in increasing order of break-even.
    ks : numpy.ndarray
        (m,) the sorted break-evens.
    const : numpy.ndarray
        (q,) the coefficients' sum over the fixed net benefits.
    cd, cs : float
        Deficit and surplus costs.
    starts, ends : numpy.ndarray
        The first and last break of each segment (a segment's last break is the next's first).
    at_t : numpy.ndarray
        (q, m) output: ``beta`` at each break, one column per break.
    lo, hi : numpy.ndarray
        (segments, q) output: the least and greatest slope vector (element-wise) of the
        stretches between a segment's breaks (the stretch after its break when it has one).
    k0, j0 : float, int
        Today's multiplier, and the number of break-evens below it.
    beta0 : numpy.ndarray
        (q,) output: ``beta`` at ``k0``.
    """
    m, q = a.shape
    t1 = np.zeros(q)
    t2 = np.zeros(q)
    for j in range(m):
        for c in range(q):
            t1[c] += a[j, c]
            t2[c] += a[j, c] * ks[j]
    s1 = np.zeros(q)
    s2 = np.zeros(q)
    slope = np.empty(q)
    segment = 0
    for j in range(m + 1):
        if j == j0:
            for c in range(q):
                beta0[c] = (
                    k0 * (cd * t1[c] - (cd + cs) * s1[c]) - (cd * t2[c] - (cd + cs) * s2[c])
                ) + const[c]
        if j == m:
            break
        for c in range(q):
            at_t[c, j] = (
                ks[j] * (cd * t1[c] - (cd + cs) * s1[c]) - (cd * t2[c] - (cd + cs) * s2[c])
            ) + const[c]
        for c in range(q):
            s1[c] += a[j, c]
            s2[c] += a[j, c] * ks[j]
        # the slope just after break j, on the stretch to break j + 1
        for c in range(q):
            slope[c] = cd * t1[c] - (cd + cs) * s1[c]
        while segment < starts.size and j >= max(ends[segment], starts[segment] + 1):
            segment += 1
        if segment < starts.size and j >= starts[segment]:
            first = j == starts[segment]
            for c in range(q):
                if first or slope[c] < lo[segment, c]:
                    lo[segment, c] = slope[c]
                if first or slope[c] > hi[segment, c]:
                    hi[segment, c] = slope[c]


@njit(cache=True, nogil=True, error_model="numpy")
def search_segments(
    rows: np.ndarray,
    at_t: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    searched: np.ndarray,
    best: np.ndarray,
) -> None:
    """Raise ``best[n]`` to ``max_j rows_n . beta_j`` over the breaks of each segment searched for n.

    ``searched`` is (rows, segments); each product is summed in the order of the
    columns, break by break in one vectorisable loop over the segment's breaks.
    """
    n_rows, q = rows.shape
    longest = 1
    for b in range(starts.size):
        longest = max(longest, ends[b] - starts[b] + 1)
    acc = np.empty(longest)
    for n in range(n_rows):
        for b in range(starts.size):
            if not searched[n, b]:
                continue
            s = starts[b]
            size = ends[b] - s + 1
            for j in range(size):
                acc[j] = 0.0
            for c in range(q):
                rc = rows[n, c]
                for j in range(size):
                    acc[j] += rc * at_t[c, s + j]
            for j in range(size):
                if acc[j] > best[n]:
                    best[n] = acc[j]
