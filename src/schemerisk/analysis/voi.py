"""What pinning down an assumption is worth: expected value of (partial) perfect information.

The decision
------------
Each year the scheme sets its premiums: a multiplier ``k`` on the premiums as
planned (``k = 1``: the plan). Revenue is linear in premiums, so with premiums
scaled by ``k`` the balance of a projection is ``B(k) = B + (k - 1) R``, with
``B`` the balance of the plan and ``R`` the revenue of the premiums scaled.
Setting ``k`` wrongly costs

* ``deficit_cost`` per unit of currency of deficit (``max(0, -B(k))``): the
  deficit must be covered by emergency transfers, borrowing or arrears to
  providers; default 2, because a unit of deficit costs more than the unit;
* ``surplus_cost`` per unit of surplus (``max(0, B(k))``): members paid more
  than the scheme needed; default 1, the money itself.

The loss is ``L(k) = deficit_cost * deficit + surplus_cost * surplus`` and the
net benefit ``NB = -L``. With ``K = 1 - B / R`` the projection's break-even
multiplier, ``L(k) = R * rho(K - k)`` with the "pinball" function
``rho(u) = deficit_cost * max(u, 0) + surplus_cost * max(-u, 0)``. Hence, exactly
and without any grid of decisions:

* with perfect information the scheme sets ``k = K`` and loses nothing
  (a projection whose scaled premiums raise nothing, ``R = 0``, keeps its loss
  whatever ``k``);
* under today's information the expected loss ``mean_i R_i rho(K_i - k)`` is
  convex and piecewise linear in ``k``; its minimiser is the quantile at level
  ``deficit_cost / (deficit_cost + surplus_cost)`` of the break-evens weighted
  by revenue (Koenker 2005, *Quantile Regression*, Section 1.3: the weighted
  check-function minimiser);
* EVPI = today's minimal expected loss less the expected loss with perfect
  information.

EVPPI by nonparametric regression
---------------------------------
``EVPPI(phi) = E_phi[max_k E[NB(k) | phi]] - max_k E[NB(k)]`` (Strong, Oakley &
Brennan 2014, Med Decis Making 34:311-326): the conditional expectations are
estimated by regressing the sample's net benefits on the inputs ``phi``,
``E[NB(k) | phi] ~ g_k(phi)``. Here the regression is a linear smoother (its
basis and ridge penalty chosen once, by generalised cross-validation, from the
net benefits of a few decisions), so that ``g_k(phi) = x(phi) . beta(k)`` with
``beta(k) = A NB(k)`` for a fixed matrix ``A``. The basis is built from
scikit-learn's ``SplineTransformer`` (cubic B-splines, knots at quantiles), the
penalty chosen by its ``RidgeCV`` (efficient leave-one-out, i.e. GCV), the
linear part left unpenalised (:class:`_Basis`):

* one input of one value per projection: a penalised cubic regression spline,
  its number of knots (10, 20 or 40) chosen by cross-validation too;
* two inputs: a tensor-product spline (Strong et al. use a tensor-product GAM
  for a few inputs);
* three or more (a group with a per-year input, whose values up to the year of
  the balance enter, the model being causal): additive splines plus the
  pairwise products of the inputs.

A Gaussian process (Strong et al.'s choice for many inputs) was tried first:
fitted on a subsample affordable at its cubic cost (200 draws), its marginal
likelihood often settled on an interpolating or a wiggly fit, and the EVPPI of
weak inputs came out several times the nested Monte Carlo reference; the
splines use every draw.

As ``NB_i(k) = -R_i rho(K_i - k)``, ``beta(k)`` is piecewise linear in ``k``
with breaks at the break-evens ``K_i``, so ``g_k(phi)`` is maximised at one of
them: the conditional optimum is found exactly, over every break-even (a
branch-and-bound search over blocks of them keeps this affordable), not on a
grid. The standard error is the standard deviation of the estimate over
bootstrap resamples of the draws, each refitting the regression (basis and
penalty kept) and today's decision: it includes the regression's error, not
only the Monte Carlo error of a mean. A resample enters the refit as count
weights on the draws (the very normal equations of its rows with their
repeats), so the basis is built once per input and year.

:func:`evppi_nested` computes the same quantity by brute force (two nested
Monte Carlo loops on the model itself), as an independent check.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from schemerisk.analysis.solver import Adjust, adjusted_revenue, adjusted_revenue_name
from schemerisk.resources import usable_threads

if TYPE_CHECKING:
    from schemerisk.uncertainty.space import ParameterSpace

DRAW = "draw"
DEFAULT_DEFICIT_COST = 2.0
DEFAULT_SURPLUS_COST = 1.0
#: knots of the regression spline of one input
N_KNOTS = 10
#: the fewest draws per knot when more knots are tried for one input
DRAWS_PER_KNOT = 50
#: knots of each input's spline in the tensor product of a pair of inputs
GROUP_KNOTS = 6
#: knots of each feature's spline in the additive basis of three or more features
PATH_KNOTS = 4
#: bootstrap resamples for the standard error of an EVPPI
BOOTSTRAP = 10
#: draws at which the conditional optimum is searched (a random subset of larger samples: the
#: EVPPI is a mean over draws, and the bootstrap sees the extra sampling error)
EVALUATION_DRAWS = 512
#: break-evens per block of the exact search for the conditional optimum
_BLOCK = 64


@dataclass(frozen=True)
class PremiumDecision:
    """The premium-setting decision and what a wrong premium costs.

    Attributes
    ----------
    deficit_cost : float
        Loss per unit of currency of deficit (above 0).
    surplus_cost : float
        Loss per unit of currency of surplus, i.e. over-set premiums (above 0).
    adjust : Adjust
        Which premiums the multiplier scales.
    """

    deficit_cost: float = DEFAULT_DEFICIT_COST
    surplus_cost: float = DEFAULT_SURPLUS_COST
    adjust: Adjust = Adjust.ALL_PREMIUMS

    def __post_init__(self) -> None:
        object.__setattr__(self, "adjust", Adjust(self.adjust))  # accept "all-premiums" too
        for name in ("deficit_cost", "surplus_cost"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ValueError(
                    f"{name.replace('_', '-')} must be a number above 0 (the loss per unit of "
                    f"currency of {name.split('_')[0]}), got {v!r}"
                )

    @property
    def level(self) -> float:
        """``deficit_cost / (deficit_cost + surplus_cost)``: the best premium's chance of no deficit."""
        return self.deficit_cost / (self.deficit_cost + self.surplus_cost)

    def describe(self, currency: str) -> str:
        """The loss function in words."""
        return (
            f"each {currency} of deficit costs {self.deficit_cost:g} {currency} (emergency financing, arrears), "
            f"each {currency} of surplus costs members {self.surplus_cost:g} {currency}; the premium multiplier "
            f"scales {self.adjust.value.replace('-', ' ')}"
        )

    def loss(self, balance: np.ndarray) -> np.ndarray:
        """The loss of a balance: ``deficit_cost * deficit + surplus_cost * surplus``."""
        return self.deficit_cost * np.maximum(-balance, 0.0) + self.surplus_cost * np.maximum(
            balance, 0.0
        )


def weighted_quantile(values: np.ndarray, weights: np.ndarray, level: float) -> float:
    """The smallest ``v`` with at least ``level`` of the weight at or below it.

    It minimises ``sum_i w_i rho(v_i - k)`` over ``k`` for the check function
    ``rho`` with slopes ``level`` and ``1 - level`` (Koenker 2005, Section 1.3).

    Parameters
    ----------
    values, weights : numpy.ndarray
        Values and their non-negative weights (not all 0).
    level : float
        In (0, 1).

    Returns
    -------
    float
        The weighted quantile.
    """
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    j = int(np.searchsorted(cum, level * cum[-1], side="left"))
    return float(values[order][min(j, len(values) - 1)])


def _year_arrays(cube: xr.Dataset, adjust: Adjust) -> tuple[np.ndarray, np.ndarray]:
    """Balance and scaled revenue as (draws, years) arrays."""
    bal = cube["balance"].transpose(DRAW, "year").values.astype(np.float64)
    rev = adjusted_revenue(cube, adjust).transpose(DRAW, "year").values.astype(np.float64)
    return bal, rev


def _breakeven(bal: np.ndarray, rev: np.ndarray) -> np.ndarray:
    """Break-even multiplier ``1 - B / R`` (0 where the scaled premiums raise nothing)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rev > 0, 1.0 - bal / np.where(rev > 0, rev, 1.0), 0.0)


def best_decision(
    bal: np.ndarray,
    rev: np.ndarray,
    decision: PremiumDecision,
    weights: np.ndarray | None = None,
) -> float:
    """Today's best premium multiplier for one year: the revenue-weighted break-even quantile.

    Parameters
    ----------
    bal, rev : numpy.ndarray
        Balance of the plan and revenue of the scaled premiums, one value per draw.
    decision : PremiumDecision
        The loss function.
    weights : numpy.ndarray, optional
        Draw weights (e.g. posterior importance weights); default equal.

    Returns
    -------
    float
        The multiplier minimising the sample's (weighted) mean loss (1 when no draw's scaled
        premiums raise anything: the multiplier then changes nothing).
    """
    w = np.where(rev > 0, rev, 0.0)
    if weights is not None:
        w = w * weights
    if not np.any(w > 0):
        return 1.0
    return weighted_quantile(_breakeven(bal, rev), w, decision.level)


def _check_finite(cube: xr.Dataset, bal: np.ndarray, rev: np.ndarray) -> None:
    bad = ~(np.isfinite(bal) & np.isfinite(rev))
    if np.any(bad):
        years = sorted({int(y) for y in cube.year.values[np.nonzero(bad)[1]]})
        raise ValueError(
            f"{int(bad.any(axis=1).sum())} draws have a non-finite balance or revenue "
            f"(years {', '.join(map(str, years))}); the value of information needs finite projections"
        )
    if np.any(rev < 0):
        raise ValueError("the scaled premiums raise negative revenue in some draws")


# --------------------------------------------------------------------------- regression


def _features(cube: xr.Dataset, members: Sequence[str], t: int) -> np.ndarray:
    """The inputs of a group that can affect year ``t``: scalars, and series up to ``t``."""
    cols = []
    for m in members:
        da = cube[f"input_{m}"]
        if "year" in da.dims:
            cols.append(da.transpose(DRAW, "year").values[:, : t + 1])
        else:
            cols.append(da.values.reshape(-1, 1))
    x = np.column_stack(cols).astype(np.float64)
    varying = np.ptp(x, axis=0) > 0
    return x[:, varying]


@dataclass(frozen=True)
class _Basis:
    """The regression basis of a group's features, fitted once (knots at the sample's quantiles).

    One transformer per feature: scikit-learn's ``SplineTransformer`` (cubic
    B-splines, knots at quantiles) or, for a feature of at most 4 values, its
    ``OneHotEncoder``. Both are partitions of unity. One feature: its basis. Two
    features: the tensor product of their bases (every product of a column of
    one and a column of the other), which holds every interaction a smooth
    surface needs (Wood 2017, *Generalized Additive Models*, 2nd ed., ch.
    5). More features (a per-year path, or a path and another input): their
    bases side by side (an additive model) plus the products of every pair of
    standardised features (linear-by-linear interactions), since a tensor
    product of many bases has too many columns for the sample.

    Each standardised feature also enters linearly. Its column has unit
    variance, the B-splines' much less, so the ridge penalty costs a straight
    line less than a curve (the spirit of Ruppert, Wand & Carroll 2003,
    *Semiparametric Regression*, ch. 3, where the linear part is not
    penalised at all). Leaving it wholly unpenalised was tried: with a weak
    input and a noisy net benefit (the last years, where inflation dominates)
    the unshrunk noise then lifted the EVPPI of the admission rate to 2.5 times
    the nested reference on 3,000 draws.
    """

    parts: tuple[object, ...]
    centre: np.ndarray
    scale: np.ndarray

    def transform(self, x: np.ndarray) -> np.ndarray:
        """The basis matrix of the rows of ``x``: (rows, columns)."""
        z = (x - self.centre) / self.scale
        cols = [p.transform(x[:, [j]]) for j, p in enumerate(self.parts)]  # type: ignore[attr-defined]
        if len(cols) == 1:
            smooth = np.asarray(cols[0], dtype=np.float64)
        elif len(cols) == 2:
            a, b = cols
            smooth = (a[:, :, None] * b[:, None, :]).reshape(x.shape[0], -1)
        else:
            i, j = np.triu_indices(x.shape[1], k=1)
            smooth = np.column_stack([*cols, z[:, i] * z[:, j]])
        return np.column_stack([z, smooth])


def _fit_basis(x: np.ndarray, n_knots: int) -> _Basis:
    """Fit the basis transformers of :class:`_Basis` on the features ``x`` (draws, features)."""
    from sklearn.preprocessing import OneHotEncoder, SplineTransformer

    d = x.shape[1]
    knots = n_knots if d == 1 else GROUP_KNOTS if d == 2 else PATH_KNOTS
    parts: list[object] = []
    for j in range(d):
        col = x[:, [j]]
        distinct = np.unique(col).size
        if distinct <= 4:  # a discrete input: one indicator per value
            parts.append(OneHotEncoder(sparse_output=False).fit(col))
        else:
            parts.append(
                SplineTransformer(
                    n_knots=int(min(knots, distinct - 1)),
                    degree=3,
                    knots="quantile",
                    extrapolation="constant",
                ).fit(col)
            )
    scale = np.std(x, axis=0)
    return _Basis(tuple(parts), x.mean(axis=0), np.where(scale > 0, scale, 1.0))


def _loo_squared_errors(
    xb: np.ndarray, y: np.ndarray, weights: np.ndarray | None, alphas: np.ndarray
) -> np.ndarray:
    """Squared leave-one-out errors of ``Ridge(alpha, fit_intercept=True)``, every penalty at once.

    The arithmetic of scikit-learn's ``RidgeCV(gcv_mode="svd")``
    (``_RidgeGCV._solve_svd_design_matrix_long``, checked against it in the
    tests), for all penalties in one matrix product instead of one pass each:
    the basis and the targets are centred on their weighted means and scaled by
    the square roots of the weights ``sw``; with ``U S V'`` the thin singular
    value decomposition of the basis and ``m = alpha / (s^2 + alpha) - 1``, the
    leave-one-out error is ``c / d`` with ``c = U diag(m) U'y + y`` and
    ``d = diag(U diag(m) U') + 1 - (U diag(m) U' sw^1/2 + sw^1/2) sw^1/2 / sum(sw)``
    (the last term for the unpenalised intercept; Golub, Heath & Wahba 1979,
    *Technometrics* 21:215-223, for the leave-one-out identity of a linear smoother).

    Returns
    -------
    numpy.ndarray
        (draws, penalties, targets): as ``RidgeCV(store_cv_results=True).cv_results_``,
        with its last two axes swapped.
    """
    n = xb.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    x = xb - np.average(xb, axis=0, weights=w)
    yc = y - np.average(y, axis=0, weights=w)
    root = np.sqrt(w)
    x = x * root[:, None]
    yc = yc * root[:, None]
    u, sv, _ = np.linalg.svd(x, full_matrices=False)
    m = alphas[:, None] / (sv**2 + alphas[:, None]) - 1.0  # (penalties, p)
    uty = u.T @ yc  # (p, targets)
    p, k = uty.shape
    c = (u @ (m.T[:, :, None] * uty[:, None, :]).reshape(p, -1)).reshape(n, alphas.size, k)
    c += yc[:, None, :]
    d = (u**2) @ m.T + 1.0  # (n, penalties)
    d -= (u @ (m * (u.T @ root)[None, :]).T + root[:, None]) * root[:, None] / (root @ root)
    c /= d[:, :, None]
    c **= 2
    return c


def _ridge_spline(
    x: np.ndarray, targets: np.ndarray, n_knots: int, weights: np.ndarray | None = None
) -> tuple[_Basis, float]:
    """Basis and ridge penalty of the regression spline of one year's targets (:func:`_ridge_spline_years`)."""
    return _ridge_spline_years(x, [targets], n_knots, weights)[0]


def _ridge_spline_years(
    x: np.ndarray,
    targets: Sequence[np.ndarray],
    n_knots: int,
    weights: np.ndarray | None = None,
) -> list[tuple[_Basis, float]]:
    """Basis and ridge penalty of the regression spline, both by generalised cross-validation.

    The penalty is chosen as scikit-learn's ``RidgeCV`` chooses it, by efficient
    leave-one-out cross-validation over a grid (:func:`_loo_squared_errors`), for
    the net benefits of a few decisions at once (each scaled to unit variance). For one input the number of knots is chosen
    by the same cross-validated error among ``n_knots``, twice and four times as
    many (at most one knot per ``DRAWS_PER_KNOT`` draws), by the one-standard-error
    rule: a sharp kink needs close knots, a noisy relation does not.

    ``targets`` holds one (draws, decisions) array per year whose features are
    ``x`` (an input of one value per projection is the same in every year). The
    years share one decomposition per basis, and the leave-one-out errors of all
    their targets are computed together, column by column. Each year's penalty and
    knots are then chosen from the errors of its own targets alone, as a ``RidgeCV``
    fit on them alone chooses: the penalty with the smallest mean squared error over
    draws and targets, the first of equals (scikit-learn's ``_RidgeGCV.fit`` keeps
    a later penalty only when its score is strictly better).

    Returns
    -------
    list of (_Basis, float)
        Per year, the basis and the penalty chosen.
    """
    scaled = []
    for tg in targets:
        scale = np.std(tg, axis=0)
        scaled.append(tg / np.where(scale > 0, scale, 1.0))
    y = np.column_stack(scaled)
    bounds = np.cumsum([0] + [s.shape[1] for s in scaled])
    n = x.shape[0]
    alphas = np.logspace(-6, 4, 21) * n / 100.0
    options = [n_knots]
    if x.shape[1] == 1:
        options += [k for k in (2 * n_knots, 4 * n_knots) if k * DRAWS_PER_KNOT <= n]
    fits: list[list[tuple[float, float, _Basis, float]]] = [[] for _ in targets]
    for knots in options:
        basis = _fit_basis(x, knots)
        errors = _loo_squared_errors(basis.transform(x), y, weights, alphas)  # (n, alphas, y)
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            mine = errors[:, :, lo:hi]
            at = int(np.argmin(mine.mean(axis=(0, 2))))  # the first of equal scores, as RidgeCV
            # each draw's leave-one-out squared error at the chosen penalty, over the targets
            per_draw = mine[:, at, :].mean(axis=1)
            se = float(np.std(per_draw, ddof=1) / np.sqrt(per_draw.size))
            fits[i].append((float(per_draw.mean()), se, basis, float(alphas[at])))
    # the one-standard-error rule (Hastie, Tibshirani & Friedman 2009, *The Elements of
    # Statistical Learning*, 2nd ed., Section 7.10): the fewest knots whose cross-validated error
    # is within one standard error of the best. More knots follow a sharp kink; on a noisy,
    # heavy-tailed net benefit they would only fit its noise, which the EVPPI's maximum over
    # decisions turns into value
    out = []
    for year_fits in fits:
        best = min(year_fits, key=lambda f: f[0])
        chosen = next(f for f in year_fits if f[0] <= best[0] + best[1])
        out.append((chosen[2], chosen[3]))
    return out


@dataclass(frozen=True)
class _Smoother:
    """A fitted linear smoother: fitted values at the evaluation draws ``= rows @ (coef_t.T @ y[train])``.

    ``rows`` (evaluation draws, q) holds the intercept column first; ``coef_t`` is
    (training draws, q), one coefficient vector per training draw.
    """

    rows: np.ndarray
    coef_t: np.ndarray
    train: np.ndarray


def _smoother(
    xb: np.ndarray, alpha: float, weights: np.ndarray, train: np.ndarray, evaluate: np.ndarray
) -> _Smoother:
    """Coefficient operator of sklearn's ``Ridge(alpha, fit_intercept=True)`` on the basis ``xb``.

    ``Ridge`` with sample weights ``w`` centres the basis and the response on
    their weighted means and leaves the intercept unpenalised: fitted
    ``= mean_w(y) + (x - mean_w(xb)) (Xc' W Xc + alpha I)^-1 Xc' W y``.
    Trained on the draws ``train`` with their ``weights``, evaluated at the
    draws ``evaluate`` (rows ``[1, x - mean_w(xb)]``). A bootstrap resample enters
    as count weights: a draw drawn ``c`` times weighs ``c`` times its own weight,
    which gives the very normal equations of the resample's rows with their repeats.
    """
    xt = xb[train]
    w = weights[train]
    total = w.sum()
    mu = (w @ xt) / total
    xc = xt - mu
    xw = xc * w[:, None]
    gram = xc.T @ xw
    gram[np.diag_indices_from(gram)] += alpha
    op = np.linalg.solve(gram, xw.T)  # (p, training draws)
    coef_t = np.column_stack([w / total, op.T])
    rows = np.column_stack([np.ones(len(evaluate)), xb[evaluate] - mu])
    return _Smoother(rows, coef_t, train)


def _conditional_optimum_gain(
    rows: np.ndarray,
    coef_t: np.ndarray,
    ks: np.ndarray,
    r: np.ndarray,
    c: np.ndarray,
    k0: float,
    decision: PremiumDecision,
) -> np.ndarray:
    """Per-draw ``max_k g_k(phi_n) - g_k0(phi_n)``, the maximum found exactly over every break-even.

    ``coef_t`` holds the training draws' coefficient vectors in the order of their
    break-evens ``ks`` (sorted), ``r`` their scaled revenue, ``c`` their fixed net
    benefit (the loss of a draw whose scaled premiums raise nothing).
    ``NB_i(k) = -R_i rho(K_i - k) + c_i``, so ``beta(k) = sum_i coef_i NB_i(k)`` is
    piecewise linear in ``k`` with breaks at the sorted ``K_i``: prefix sums give it
    at every break (:func:`schemerisk.analysis._breaks.breaks_and_slopes`), and
    ``g_k(phi_n) = rows_n . beta(k)``.
    """
    from schemerisk.analysis._breaks import breaks_and_slopes

    cd, cs = decision.deficit_cost, decision.surplus_cost
    a = coef_t * r[:, None]  # (m, q)
    m, q = a.shape
    const = coef_t.T @ c  # (q,)
    starts, ends = _segments(m)
    at_t = np.empty((q, m))
    lo = np.empty((starts.size, q))
    hi = np.empty((starts.size, q))
    # and beta at today's decision, with j0 training break-evens below it
    j0 = int(np.searchsorted(ks, k0, side="left"))
    beta0 = np.empty(q)
    breaks_and_slopes(a, ks, const, cd, cs, starts, ends, at_t, lo, hi, k0, j0, beta0)
    g0 = rows @ beta0
    best = np.maximum(_max_over_breaks(rows, ks, at_t, lo, hi), g0)
    return best - g0


def _segments(m: int) -> tuple[np.ndarray, np.ndarray]:
    """First and last break of each segment of ``_BLOCK`` breaks (consecutive segments share one)."""
    starts = np.arange(0, m - 1, _BLOCK) if m > 1 else np.array([0])
    return starts, np.minimum(starts + _BLOCK, m - 1)


def _max_over_breaks(
    rows: np.ndarray, ks: np.ndarray, at_t: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """``max_j rows_n . at_t[:, j]`` for every n, exactly, by branch and bound over segments.

    ``g(k) = rows_n . beta(k)`` is linear between breaks. On a segment of
    ``_BLOCK`` breaks from ``k_a`` to ``k_b``, with slopes bounded by
    ``rows . mid +- |rows| . half`` (centre and half-range of the segment's
    slope vectors, from their element-wise range ``lo``, ``hi``),
    ``g <= min(g(k_a) + (k_b - k_a) max(smax, 0), g(k_b) + (k_b - k_a) max(-smin, 0))``.
    Only segments whose bound reaches the best value at a segment end are searched
    break by break (:func:`schemerisk.analysis._breaks.search_segments`).
    """
    from schemerisk.analysis._breaks import search_segments

    starts, ends = _segments(at_t.shape[1])
    mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    width = ks[ends] - ks[starts]
    ga, gb = rows @ at_t[:, starts], rows @ at_t[:, ends]  # (n, segments)
    lower = np.maximum(ga.max(axis=1), gb.max(axis=1))
    centre, spread = rows @ mid.T, np.abs(rows) @ half.T
    upper = np.minimum(
        ga + width * np.maximum(centre + spread, 0.0),
        gb + width * np.maximum(spread - centre, 0.0),
    )
    # rounding: a segment within a relative 1e-9 of the best is searched too
    tol = 1e-9 * (np.abs(lower) + 1.0)
    searched = upper > (lower + tol)[:, None]
    best = lower.copy()
    search_segments(np.ascontiguousarray(rows), at_t, starts, ends, searched, best)
    return best


# --------------------------------------------------------------------------- the estimates


@dataclass(frozen=True)
class ValueOfInformation:
    """EVPI and EVPPI by year: the result of :func:`value_of_information`.

    Attributes
    ----------
    table : xarray.Dataset
        ``evppi`` and ``evppi_se`` (input, year); ``evpi``, ``evpi_se``,
        ``best_multiplier`` (today's best premium multiplier) and
        ``expected_loss`` (its expected loss, = EVPI) by year.
    decision : PremiumDecision
        The loss function.
    """

    table: xr.Dataset
    decision: PremiumDecision


@dataclass(frozen=True)
class _Replicate:
    """The sample, or one bootstrap resample of it, as the regressions see it.

    Attributes
    ----------
    weights : numpy.ndarray
        Each draw's weight times the number of times the resample holds it (0: not held).
    train : numpy.ndarray
        The draws held, in increasing order.
    order : list of numpy.ndarray
        Per year, the positions in ``train`` in increasing order of break-even (stable).
    evaluate : numpy.ndarray
        The evaluation draws (repeats included): evenly spaced positions of the
        sorted resample, at most ``EVALUATION_DRAWS``.
    eval_weights : numpy.ndarray
        Their weights.
    k0 : numpy.ndarray
        Today's best multiplier by year, on this resample.
    """

    weights: np.ndarray
    train: np.ndarray
    order: list[np.ndarray]
    evaluate: np.ndarray
    eval_weights: np.ndarray
    k0: np.ndarray


def _replicate(
    rows: np.ndarray,
    w_all: np.ndarray,
    n_eval: int,
    bal: np.ndarray,
    rev: np.ndarray,
    k_all: np.ndarray,
    decision: PremiumDecision,
) -> _Replicate:
    """The :class:`_Replicate` of the sorted draw indices ``rows`` (a resample, or every draw)."""
    counts = np.bincount(rows, minlength=w_all.size)
    train = np.flatnonzero(counts)
    # evenly spaced evaluation draws: rows are sorted, the draws themselves unordered
    positions = np.linspace(0, len(rows) - 1, min(len(rows), n_eval)).round().astype(np.int64)
    evaluate = rows[positions]
    n_years = bal.shape[1]
    k0 = np.array(
        [best_decision(bal[rows, t], rev[rows, t], decision, w_all[rows]) for t in range(n_years)]
    )
    order = [np.argsort(k_all[train, t], kind="stable") for t in range(n_years)]
    return _Replicate(counts * w_all, train, order, evaluate, w_all[evaluate], k0)


def _same_features(
    cube: xr.Dataset, members: Sequence[str], years: Sequence[int]
) -> list[tuple[np.ndarray, list[int]]]:
    """The group's features (:func:`_features`) by year, years of identical features together.

    An input of one value per projection has the same features every year; a
    per-year input gains a column a year. Years without a varying feature are left out.
    """
    out: list[tuple[np.ndarray, list[int]]] = []
    for t in years:
        x = _features(cube, members, t)
        if x.shape[1] == 0:
            continue
        if out and out[-1][0].shape == x.shape and np.array_equal(out[-1][0], x):
            out[-1][1].append(t)
        else:
            out.append((x, [t]))
    return out


def _workers(threads: int | None) -> int:
    """Threads for the groups: ``threads``, or one per core this process may use."""
    if threads is None:
        return usable_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a whole number of at least 1, got {threads!r}")
    return threads


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Hold the BLAS library to one thread (threadpoolctl): the groups run side by side instead.

    BLAS threads that wait for cores taken by other threads spin: on a loaded
    machine the value of information took four times the CPU with them.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def check_groups(
    cube: xr.Dataset, groups: Mapping[str, Sequence[str]], source: str = "groups"
) -> None:
    """Refuse a group that names an input the cube does not hold, before any work.

    Raises
    ------
    ValueError
        Naming the group, the unknown input and the inputs available.
    """
    from schemerisk.errors import suggest

    entries = [str(v).removeprefix("input_") for v in cube.data_vars if str(v).startswith("input_")]
    for g, members in groups.items():
        if isinstance(members, str):
            raise ValueError(
                f"{source}: group '{g}' must list input names, not the string {members!r}"
            )
        if not members:
            raise ValueError(f"{source}: group '{g}' names no input")
        for m in members:
            if m not in entries:
                raise ValueError(
                    f"{source}: group '{g}' names an unknown input '{m}'{suggest(str(m), entries)} "
                    f"(inputs: {', '.join(entries)})"
                )


def value_of_information(
    cube: xr.Dataset,
    groups: Mapping[str, Sequence[str]] | None = None,
    decision: PremiumDecision | None = None,
    *,
    n_knots: int = N_KNOTS,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
    weights: np.ndarray | None = None,
    years: Sequence[int] | None = None,
    threads: int | None = None,
) -> ValueOfInformation:
    """EVPI and EVPPI of each input (or group of inputs) for setting the premium, every year.

    Parameters
    ----------
    cube : xarray.Dataset
        A Monte Carlo cube with ``input_*`` variables (any sampler but Saltelli
        cross rows: pass only the A and B rows of a Saltelli design).
    groups : mapping, optional
        Group name -> entry names (without ``input_``); default one group per entry.
    decision : PremiumDecision, optional
        The loss function; default deficit cost 2, surplus cost 1, all premiums.
    n_knots : int
        Knots of the one-input regression spline.
    bootstrap : int
        Bootstrap resamples for the standard errors (0: none, standard errors NaN).
    seed : int
        Seed of the subsample and the bootstrap.
    weights : numpy.ndarray, optional
        One non-negative weight per draw, e.g. the posterior importance
        weights of ``schemerisk update``: every expectation is then weighted
        (today's decision is the weighted break-even quantile, the regressions
        are fitted with these sample weights, the gains averaged with them), and
        the bootstrap resamples draws with their weights, so its standard error
        covers the weights' own sampling error.
    years : sequence of int, optional
        The years whose EVPPI is wanted (the others are NaN); default every year.
        EVPI and today's decision are computed for every year.
    threads : int, optional
        Groups computed at once, each on one thread (default: one per core). The
        linear algebra library is held to one thread of its own meanwhile, and
        the answer does not depend on the number of threads.

    Returns
    -------
    ValueOfInformation
        The table and the decision.
    """
    decision = decision or PremiumDecision()
    workers = _workers(threads)
    entries = [str(v).removeprefix("input_") for v in cube.data_vars if str(v).startswith("input_")]
    groups = {e: (e,) for e in entries} if groups is None else dict(groups)
    check_groups(cube, groups)
    all_years = [int(y) for y in cube.year.values]
    wanted = set(all_years) if years is None else {int(y) for y in years}
    if not wanted <= set(all_years):
        raise ValueError(
            f"years {sorted(wanted - set(all_years))} are outside the projection "
            f"({all_years[0]}-{all_years[-1]})"
        )
    bal, rev = _year_arrays(cube, decision.adjust)
    _check_finite(cube, bal, rev)
    n, n_years = bal.shape
    w_all = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w_all.shape != (n,) or not np.all(np.isfinite(w_all)) or np.any(w_all < 0):
        raise ValueError(f"weights must be {n} finite numbers at or above 0, one per draw")
    if not w_all.sum() > 0:
        raise ValueError("weights: every draw has weight 0")
    w_all = w_all / w_all.mean()
    k_all = _breakeven(bal, rev)
    fixed = np.where(rev > 0, 0.0, -decision.loss(bal))  # NB of draws the multiplier cannot change
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    resamples = [np.sort(rng.integers(n, size=n)) for _ in range(bootstrap)]

    best = np.array([best_decision(bal[:, t], rev[:, t], decision, w_all) for t in range(n_years)])
    loss_today = decision.loss(bal + (best[None, :] - 1.0) * rev)
    loss_perfect = np.where(rev > 0, 0.0, decision.loss(bal))
    gain_all = loss_today - loss_perfect
    n_eval = min(n, EVALUATION_DRAWS)
    evpi = np.average(gain_all, axis=0, weights=w_all)
    # the ratio estimator's standard error (equal weights: the usual sd / sqrt(n))
    evpi_se = (
        np.sqrt(np.sum((w_all[:, None] * (gain_all - evpi)) ** 2, axis=0) * n / (n - 1))
        / w_all.sum()
    )

    evppi = np.zeros((len(groups), n_years))
    evppi_se = np.full_like(evppi, np.nan if bootstrap < 2 else 0.0)
    skipped = [t for t in range(n_years) if all_years[t] not in wanted]
    evppi[:, skipped] = np.nan
    evppi_se[:, skipped] = np.nan
    targets = {}
    for t in range(n_years):
        if t in skipped:
            continue
        qs = np.quantile(k_all[:, t], [0.1, 0.3, 0.5, 0.7, 0.9])
        at_qs = -decision.loss(bal[:, t, None] + (qs[None, :] - 1.0) * rev[:, t, None])
        targets[t] = np.column_stack([-loss_today[:, t], at_qs])
    # the sample itself, then (for a standard error) each bootstrap resample
    replicates = [np.arange(n)] + (resamples if bootstrap >= 2 else [])
    reps = [_replicate(rows, w_all, n_eval, bal, rev, k_all, decision) for rows in replicates]
    wanted_t = [t for t in range(n_years) if t in targets]

    def one_group(members: Sequence[str]) -> list[tuple[int, float, float]]:
        """(year, EVPPI, standard error) of one group, every wanted year."""
        out = []
        for x, ts in _same_features(cube, members, wanted_t):
            fits = _ridge_spline_years(x, [targets[t] for t in ts], n_knots, w_all)
            bases: dict[int, np.ndarray] = {}
            smoothers: dict[tuple[int, float, int], _Smoother] = {}
            for t, (basis, alpha) in zip(ts, fits, strict=True):
                if id(basis) not in bases:
                    bases[id(basis)] = basis.transform(x)
                xb = bases[id(basis)]
                estimates = []
                for b, rep in enumerate(reps):
                    key = (id(basis), alpha, b)  # a year with the same basis and penalty reuses it
                    if key not in smoothers:
                        smoothers[key] = _smoother(xb, alpha, rep.weights, rep.train, rep.evaluate)
                    sm = smoothers[key]
                    perm = rep.order[t]
                    tr = rep.train[perm]
                    gain = _conditional_optimum_gain(
                        sm.rows,
                        sm.coef_t[perm],
                        k_all[tr, t],
                        rev[tr, t],
                        fixed[tr, t],
                        rep.k0[t],
                        decision,
                    )
                    estimates.append(float(np.average(gain, weights=rep.eval_weights)))
                se = float(np.std(estimates[1:], ddof=1)) if bootstrap >= 2 else np.nan
                out.append((t, estimates[0], se))
        return out

    members_list = list(groups.values())
    # the groups with a per-year input (the costliest: a path of features) first, for balance
    order = sorted(
        range(len(members_list)),
        key=lambda g: -sum("year" in cube[f"input_{m}"].dims for m in members_list[g]),
    )
    with _one_blas_thread(), ThreadPoolExecutor(max_workers=workers) as pool:
        cells = pool.map(lambda g: one_group(members_list[g]), order)
        results = dict(zip(order, cells, strict=True))
    for g, done in results.items():
        for t, est, se in done:
            evppi[g, t] = est
            if bootstrap >= 2:
                evppi_se[g, t] = se
    cur = str(cube.attrs.get("currency", ""))
    table = xr.Dataset(
        {
            "evppi": (("input", "year"), evppi),
            "evppi_se": (("input", "year"), evppi_se),
            "evpi": ("year", evpi),
            "evpi_se": ("year", evpi_se),
            "best_multiplier": ("year", best),
            "expected_loss": ("year", np.average(loss_today, axis=0, weights=w_all)),
        },
        coords={"input": list(groups), "year": cube.year.values},
        attrs={
            "currency": cur,
            "loss_function": decision.describe(cur),
            "n_draws": n,
            "bootstrap": bootstrap,
            "weighted": int(weights is not None),
            "method": "Strong, Oakley & Brennan (2014) regression: penalised regression spline (one "
            "input), tensor-product spline (two), additive splines with pairwise products (more); "
            "conditional optimum exact",
        },
    )
    table["evppi"].attrs.update(
        long_name="Expected value of partial perfect information", units=cur
    )
    table["evppi_se"].attrs.update(
        long_name="Bootstrap standard error of the EVPPI (regression refitted)", units=cur
    )
    table["evpi"].attrs.update(long_name="Expected value of perfect information", units=cur)
    table["best_multiplier"].attrs.update(
        long_name="Premium multiplier minimising the expected loss today"
    )
    return ValueOfInformation(table, decision)


# --------------------------------------------------------------------------- nested Monte Carlo


def _space_with_entries_first(space: ParameterSpace, members: Sequence[str]) -> ParameterSpace:
    """The same space with ``members`` first in their correlation blocks.

    The copula factor is a Cholesky factor, lower triangular: with the members
    first, their drawn values depend only on their own design columns, and the
    other entries of the block are drawn from their conditional distribution
    given them. Reordering a block changes the factor, not the joint law.
    """
    from schemerisk.uncertainty.space import CorrelationBlock

    blocks = []
    for blk in space.correlations:
        inside = [e for e in blk.entries if e in members]
        if not inside or list(blk.entries[: len(inside)]) == inside:
            blocks.append(blk)
            continue
        order = [blk.entries.index(e) for e in inside] + [
            i for i, e in enumerate(blk.entries) if e not in members
        ]
        pearson = blk.factor @ blk.factor.T
        new_factor = np.linalg.cholesky(pearson[np.ix_(order, order)])
        innov = None
        if blk.innovation_factor is not None:
            c = blk.innovation_factor @ blk.innovation_factor.T
            innov = np.linalg.cholesky(c[np.ix_(order, order)])
        blocks.append(
            CorrelationBlock(
                tuple(blk.entries[i] for i in order),
                blk.rank[np.ix_(order, order)],
                new_factor,
                innov,
            )
        )
    return replace(space, correlations=tuple(blocks))


def evppi_nested(
    space: ParameterSpace,
    members: Sequence[str],
    decision: PremiumDecision | None = None,
    *,
    n_outer: int = 100,
    n_inner: int = 500,
    n_today: int = 20_000,
    seed: int = 0,
) -> xr.Dataset:
    """EVPPI of a group of entries by brute-force nested Monte Carlo on the model itself.

    For each of ``n_outer`` draws of the group's inputs, the model runs
    ``n_inner`` times with every other input drawn anew from its distribution
    conditional on them (copula blocks reordered so that conditioning is exact;
    a per-year path is fixed whole); the conditional optimum and its loss are
    exact weighted quantiles (module docstring). Today's decision comes from a
    separate sample of ``n_today`` projections. Every outer draw has its own
    inner draws, so the outer terms are independent and their standard error
    is the reference's Monte Carlo error (shared inner draws would hide part of it).

    This is the reference the regression estimator is checked against: it
    uses no regression at all. The inner optimum found on the same draws it is
    judged on overstates the gain (by order 1/n_inner); the optimum of each half
    of the inner draws judged on the other half understates it. Both are
    returned; ``evppi`` is their mean.

    Parameters
    ----------
    space : ParameterSpace
        The uncertain inputs, bound to their scenario.
    members : sequence of str
        The entries whose value would be learnt.
    decision : PremiumDecision, optional
        The loss function.
    n_outer, n_inner, n_today : int
        Outer draws, inner draws per outer draw, draws for today's decision.
    seed : int
        The seed.

    Returns
    -------
    xarray.Dataset
        ``evppi`` and ``evppi_se`` (Monte Carlo error over the outer draws) by
        year, and the two bracketing estimates ``evppi_in_sample`` and
        ``evppi_cross_fitted``.
    """
    from schemerisk.uncertainty.montecarlo import run_design
    from schemerisk.uncertainty.sampling import Design, Sampler, unit_design

    decision = decision or PremiumDecision()
    names = [e.name for e in space.entries]
    unknown = [m for m in members if m not in names]
    if unknown:
        raise ValueError(f"unknown input '{unknown[0]}' (inputs: {', '.join(names)})")
    sp = _space_with_entries_first(space, members)
    keep = ["balance", adjusted_revenue_name(decision.adjust)]
    today = run_design(sp, unit_design(sp, n_today, seed + 1), keep=keep, progress=False)
    bal_t, rev_t = _year_arrays(today, decision.adjust)
    k0 = np.array(
        [best_decision(bal_t[:, t], rev_t[:, t], decision) for t in range(bal_t.shape[1])]
    )
    cols = np.concatenate([sp.columns[m] for m in members])
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    outer = rng.random((n_outer, cols.size))
    matrix = rng.random((n_outer, n_inner, sp.n_columns))  # fresh inner draws for every outer one
    matrix[:, :, cols] = outer[:, None, :]
    matrix = matrix.reshape(n_outer * n_inner, sp.n_columns)
    design = Design(Sampler.MC, seed, matrix.shape[0], sp.n_columns, matrix)
    cube = run_design(sp, design, keep=keep, progress=False)
    bal, rev = _year_arrays(cube, decision.adjust)
    n_years = bal.shape[1]
    bal = bal.reshape(n_outer, n_inner, n_years)
    rev = rev.reshape(n_outer, n_inner, n_years)
    half = n_inner // 2
    in_sample = np.empty((n_outer, n_years))
    cross = np.empty((n_outer, n_years))
    for o in range(n_outer):
        for t in range(n_years):
            b, r = bal[o, :, t], rev[o, :, t]
            at_k0 = decision.loss(b + (k0[t] - 1.0) * r)
            kk = best_decision(b, r, decision)
            in_sample[o, t] = at_k0.mean() - decision.loss(b + (kk - 1.0) * r).mean()
            # the optimum of each half judged on the other half
            parts = (slice(0, half), slice(half, None))
            gains = []
            for fit_on, judge_on in (parts, parts[::-1]):
                kh = best_decision(b[fit_on], r[fit_on], decision)
                lost = decision.loss(b[judge_on] + (kh - 1.0) * r[judge_on]).mean()
                gains.append(at_k0[judge_on].mean() - lost)
            cross[o, t] = 0.5 * (gains[0] + gains[1])
    gain = 0.5 * (in_sample + cross)
    return xr.Dataset(
        {
            "evppi": ("year", gain.mean(axis=0)),
            "evppi_se": ("year", gain.std(axis=0, ddof=1) / np.sqrt(n_outer)),
            "evppi_in_sample": ("year", in_sample.mean(axis=0)),
            "evppi_cross_fitted": ("year", cross.mean(axis=0)),
        },
        coords={"year": cube.year.values},
        attrs={"n_outer": n_outer, "n_inner": n_inner, "members": " + ".join(members)},
    )
