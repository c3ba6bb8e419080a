"""Table-based inverse CDFs (``pert``, ``beta``, ``truncated_normal`` draws), with a checked bound.

The inverse ``x(u) = F^{-1}(u)`` is interpolated between nodes ``x_i`` where the
CDF ``u_i = F(x_i)`` and the density ``f(x_i)`` are computed exactly
(``scipy.special.betainc`` for the beta family, ``ndtr`` for the truncated
normal), by the cubic Hermite polynomial with values ``x_i``,
``x_{i+1}`` and slopes ``dx/du = 1 / f`` at the two ends: the method of
Hörmann & Leydold (2003), "Continuous random variate generation by fast
numerical inversion", ACM TOMACS 13(4), 347-362 (UNU.RAN's HINV, which SciPy's
``NumericalInverseHermite`` wraps). Where the density is 0 at an end (a beta shape
parameter above 1) the piece is linear. Only bounded supports and densities are
covered: a beta with a shape parameter below 1, a gamma or a truncated normal
open on one side keep SciPy's inverse.

The intervals are made by bisection in ``x``: an interval is kept when, at a
quarter, half and three quarters of its probability, ``|F(x(u)) - u|`` is at
most :data:`BUILD_U_ERROR` (a hundredth of the bound the draws promise,
:data:`~schemerisk.uncertainty.families.INVERSION_U_ERROR`, the margin SciPy's
inverse is built with) and its cubic is
monotone by Fritsch & Carlson's (1980) sufficient condition ``alpha^2 + beta^2
<= 9`` (SIAM J. Numer. Anal. 17(2), 238-246); otherwise it is split in two. The
tests check the bound on dense grids and in the tails for many shapes.

Unlike SciPy's object, the table is plain arrays: the compiled map of
:func:`~schemerisk.uncertainty.sampling.to_values` evaluates it row by row in
every thread without the GIL (:func:`~schemerisk.uncertainty._unitmap.table_value_at`,
in that module so that numba's cache, which watches a function's own file,
sees a change to it), and :meth:`InverseTable.ppf` evaluates it on arrays with
the same operations, so both give the same bits.
Building one takes a few milliseconds (SciPy's, checked on a grid of 65,550
probabilities, about 35 ms).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special

#: largest ``|F(x(u)) - u|`` at an interval's test points when the table is built
BUILD_U_ERROR = 1e-12
#: intervals to start from (equal in ``x``), and the most bisections of one
_START, _DEPTH = 64, 48
_TEST_POINTS = np.array([0.25, 0.5, 0.75])


class InverseTable:
    """A beta distribution's inverse CDF as a table of cubic pieces (see the module).

    Attributes
    ----------
    nodes : numpy.ndarray
        (n + 1,) the probabilities ``u_i`` at the nodes, non-decreasing, 0 first and 1 last.
    width : numpy.ndarray
        (n,) ``u_{i+1} - u_i``.
    coef : numpy.ndarray
        (n, 4) each piece's cubic in ``s = (u - u_i) / width_i``, lowest power first, in
        the distribution's units.
    guide : numpy.ndarray
        (n,) int64: the piece of probability ``j / n``, where a search starts.
    lo, hi : float
        The support: every value is clipped to it.
    """

    def __init__(self, nodes: np.ndarray, coef: np.ndarray, lo: float, hi: float) -> None:
        self.nodes = nodes
        self.width = np.diff(nodes)
        self.coef = coef
        n = self.width.size
        self.guide = np.maximum(
            np.searchsorted(nodes, np.arange(n) / n, side="right") - 1, 0
        ).astype(np.int64)
        self.lo, self.hi = lo, hi

    @property
    def pieces(self) -> int:
        """Number of cubic pieces."""
        return int(self.width.size)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """The table's inverse CDF of ``u``, with the operations of the compiled map's.

        Those of :func:`~schemerisk.uncertainty._unitmap.table_value_at`, on arrays.

        Parameters
        ----------
        u : numpy.ndarray
            Probabilities in [0, 1] (NaN gives NaN).

        Returns
        -------
        numpy.ndarray
            Values, same shape, clipped to the support.
        """
        u = np.asarray(u, dtype=np.float64)
        n = self.width.size
        i = np.clip(np.searchsorted(self.nodes, u, side="right") - 1, 0, n - 1)
        d = self.width[i]
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.where(d > 0.0, (u - self.nodes[i]) / np.where(d > 0.0, d, 1.0), 0.0)
        s = np.where(np.isnan(u), np.nan, s)
        c = self.coef[i]
        x = c[..., 0] + s * (c[..., 1] + s * (c[..., 2] + s * c[..., 3]))
        return np.clip(x, self.lo, self.hi)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``nodes, width, coef, guide``: what :func:`~schemerisk.uncertainty._unitmap.table_value_at` reads."""
        return self.nodes, self.width, self.coef, self.guide


def _cubic(
    x0: np.ndarray,
    x1: np.ndarray,
    width: np.ndarray,
    f0: np.ndarray,
    f1: np.ndarray,
    scale: float,
    tol: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Hermite cubics of pieces (lowest power first) and whether each is monotone (Fritsch & Carlson).

    A piece is linear where the density is 0 at an end, and where its probability
    is at most ``tol``: a monotone piece keeps every value in ``[x0, x1]``, so its
    error ``|F(x(u)) - u|`` is at most its probability (in the far tails a piece
    can hold a single representable probability).
    """
    step = x1 - x0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        m0 = width * scale / f0  # dx/ds = (du/ds) (dx/du) = width * scale / f
        m1 = width * scale / f1
        linear = ~((f0 > 0.0) & (f1 > 0.0) & np.isfinite(m0) & np.isfinite(m1) & (width > tol))
        m0 = np.where(linear, step, m0)
        m1 = np.where(linear, step, m1)
        alpha = np.where(step > 0.0, m0 / step, 0.0)
        beta = np.where(step > 0.0, m1 / step, 0.0)
    monotone = alpha * alpha + beta * beta <= 9.0
    coef = np.stack([x0, m0, 3.0 * step - 2.0 * m0 - m1, m0 + m1 - 2.0 * step], axis=-1)
    return coef, monotone


def build_beta_table(
    a: float, b: float, lo: float, hi: float, tol: float = BUILD_U_ERROR
) -> InverseTable | None:
    """The inverse CDF of a beta(``a``, ``b``) on [``lo``, ``hi``] (``pert``, ``beta``) as a checked table.

    Parameters
    ----------
    a, b : float
        Shape parameters; both must be at least 1 (a bounded density), else None.
    lo, hi : float
        The support.
    tol : float
        Largest ``|F(x(u)) - u|`` at each piece's test points.

    Returns
    -------
    InverseTable or None
        None when the shape is not covered, or as :func:`build_table`.
    """
    if not (a >= 1.0 and b >= 1.0):
        return None
    log_norm = float(special.betaln(a, b))

    def cdf(t: np.ndarray) -> np.ndarray:
        return np.asarray(special.betainc(a, b, t), dtype=np.float64)

    def density(t: np.ndarray) -> np.ndarray:  # of the standard beta, on [0, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.exp(special.xlogy(a - 1.0, t) + special.xlog1py(b - 1.0, -t) - log_norm)

    return build_table(cdf, density, lo, hi, tol)


def build_truncated_normal_table(
    mean: float, sd: float, lo: float, hi: float, tol: float = BUILD_U_ERROR
) -> InverseTable | None:
    """The inverse CDF of a normal(``mean``, ``sd``) truncated to [``lo``, ``hi``] as a checked table.

    ``F(x) = (Phi(z) - Phi(z_lo)) / (Phi(z_hi) - Phi(z_lo))`` with ``z = (x - mean) / sd``,
    taken from the lower tail of the normal where the interval lies above the mean
    (``Phi(-z)``), so that no difference of two numbers near 1 loses digits.

    Parameters
    ----------
    mean, sd : float
        The normal's parameters.
    lo, hi : float
        The truncation: both finite, else None.
    tol : float
        As :func:`build_table`.

    Returns
    -------
    InverseTable or None
        As :func:`build_table`.
    """
    if not (sd > 0.0 and np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        return None
    zl, zh = (lo - mean) / sd, (hi - mean) / sd
    mass = normal_mass(zl, zh)
    if not mass > 0.0:
        return None
    upper = zl > 0.0  # as normal_mass: above the mean, from Phi(-z)
    pl = float(special.ndtr(-zl) if upper else special.ndtr(zl))
    scale = hi - lo

    def cdf(t: np.ndarray) -> np.ndarray:
        z = (lo + scale * t - mean) / sd
        p = (pl - special.ndtr(-z)) if upper else (special.ndtr(z) - pl)
        return np.clip(np.asarray(p, dtype=np.float64) / mass, 0.0, 1.0)

    def density(t: np.ndarray) -> np.ndarray:  # dF/dt
        z = (lo + scale * t - mean) / sd
        return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) * (scale / sd) / mass

    return build_table(cdf, density, lo, hi, tol)


def normal_mass(z_lo: float, z_hi: float) -> float:
    """The standard normal's probability between ``z_lo`` and ``z_hi`` (``z_lo < z_hi``).

    ``Phi(z_hi) - Phi(z_lo)``, taken from the lower tail (``Phi(-z_lo) - Phi(-z_hi)``)
    when the interval lies above 0, so that no difference of two numbers near 1
    loses digits; 0 where it underflows.

    Parameters
    ----------
    z_lo, z_hi : float
        The bounds, in standard deviations from the mean (infinite allowed).

    Returns
    -------
    float
        The probability.
    """
    if z_lo > 0.0:
        return float(special.ndtr(-z_lo) - special.ndtr(-z_hi))
    return float(special.ndtr(z_hi) - special.ndtr(z_lo))


def build_table(
    cdf: Callable[[np.ndarray], np.ndarray],
    density: Callable[[np.ndarray], np.ndarray],
    lo: float,
    hi: float,
    tol: float = BUILD_U_ERROR,
) -> InverseTable | None:
    """A checked table of the inverse of a CDF on [``lo``, ``hi``] (see the module).

    Parameters
    ----------
    cdf, density : callable
        The CDF and its derivative as functions of ``t = (x - lo) / (hi - lo)`` on
        [0, 1], on arrays: ``cdf(0) = 0``, ``cdf(1) = 1``.
    lo, hi : float
        The support, finite.
    tol : float
        Largest ``|F(x(u)) - u|`` at each piece's test points.

    Returns
    -------
    InverseTable or None
        None when the support is not finite or a piece still misses ``tol`` after
        :data:`_DEPTH` bisections (the caller then uses another inverse).
    """
    if not (hi > lo and np.isfinite(lo) and np.isfinite(hi)):
        return None
    scale = hi - lo
    t = np.linspace(0.0, 1.0, _START + 1)
    u, f = cdf(t), density(t)
    u[0], u[-1] = 0.0, 1.0
    t0, t1, u0, u1, f0, f1 = t[:-1], t[1:], u[:-1], u[1:], f[:-1], f[1:]
    kept: list[np.ndarray] = []
    for _ in range(_DEPTH):
        width = np.maximum(u1 - u0, 0.0)
        coef, monotone = _cubic(lo + scale * t0, lo + scale * t1, width, f0, f1, scale, tol)
        # the values at the test points, evaluated as InverseTable.ppf does, and their CDF
        probe = u0[:, None] + _TEST_POINTS * width[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.where(width[:, None] > 0.0, (probe - u0[:, None]) / width[:, None], 0.0)
        c = coef[:, None, :]
        x = c[..., 0] + s * (c[..., 1] + s * (c[..., 2] + s * c[..., 3]))
        x = np.clip(x, lo, hi)
        error = np.abs(cdf(np.clip((x - lo) / scale, 0.0, 1.0)) - probe)
        bad = (width > 0.0) & ~((error.max(axis=1) <= tol) & monotone)
        kept.append(np.stack([t0[~bad], u0[~bad], f0[~bad]], axis=1))
        if not bad.any():
            break
        # split the pieces that missed: the CDF and density at their midpoints
        t0, t1, u0, u1, f0, f1 = t0[bad], t1[bad], u0[bad], u1[bad], f0[bad], f1[bad]
        tm = 0.5 * (t0 + t1)
        um, fm = cdf(tm), density(tm)
        t0, t1 = np.concatenate([t0, tm]), np.concatenate([tm, t1])
        u0, u1 = np.concatenate([u0, um]), np.concatenate([um, u1])
        f0, f1 = np.concatenate([f0, fm]), np.concatenate([fm, f1])
    else:
        return None
    starts = np.concatenate(kept)
    starts = starts[np.argsort(starts[:, 0], kind="stable")]
    tn = np.concatenate([starts[:, 0], [1.0]])
    un = np.maximum.accumulate(np.concatenate([starts[:, 1], [1.0]]))
    fn = np.concatenate([starts[:, 2], density(np.array([1.0]))])
    width = np.diff(un)
    coef, _ = _cubic(lo + scale * tn[:-1], lo + scale * tn[1:], width, fn[:-1], fn[1:], scale, tol)
    return InverseTable(un, coef, float(lo), float(hi))
