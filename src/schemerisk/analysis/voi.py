"""What pinning down an assumption is worth: expected value of (partial) perfect information.

The decision
------------
Each year the scheme sets its premiums: a multiplier ``k`` on all premiums as
planned (``k = 1``: the plan). With premiums scaled by ``k`` the balance is
``B(k) = B(1) + (k - 1) R`` (revenue is linear in premiums; ``R`` is the revenue
of the premiums scaled). Setting ``k`` wrongly costs:

* ``deficit_cost`` per unit of currency of deficit (``max(0, -B(k))``): the
  deficit must be covered by emergency government transfers, borrowing or
  arrears to providers; default 2, because a unit of deficit costs more than
  the unit itself;
* ``surplus_cost`` per unit of surplus (``max(0, B(k))``): members paid more
  than the scheme needed; default 1, the money itself.

The loss is ``L(k, theta) = deficit_cost * deficit + surplus_cost * surplus``,
and the net benefit ``NB = -L``. Under today's uncertainty the best multiplier
minimises the expected loss; with perfect information about every input, each
projection's own break-even ``k`` would be chosen and the loss would be zero.

* EVPI = E[max_k NB(k, theta)] - max_k E[NB(k, theta)]: the expected loss of
  the best decision today, i.e. what removing all uncertainty is worth.
* EVPPI(phi) = E_phi[max_k E[NB(k, theta) | phi]] - max_k E[NB(k, theta)]:
  what learning the inputs ``phi`` exactly is worth.

Estimation follows the regression approach of Strong, Oakley & Brennan (2014,
Med Decis Making 34:311-326): the conditional expectations ``E[NB(k) | phi]`` are
estimated from the Monte Carlo sample by nonparametric regression on ``phi``,
here additive regression splines (cubic B-splines with knots at quantiles of
each input: a GAM without penalty). The net benefit depends on the inputs only
through the year's balance B and adjusted revenue R, and it has a kink where
the balance crosses zero, which an additive fit of NB itself smooths away (for a
group of several inputs it would recover only about half the value). So the
smooth quantities B and R are regressed on ``phi`` instead, and
``E[NB(k) | phi]`` is then computed exactly from the decision's structure,
averaging the loss over the regression residuals (taken as independent of
``phi``): ``-mean_m L(B^(phi) + e_m + (k - 1)(R^(phi) + u_m))``. With ``k0``
today's best decision, ``EVPPI = mean_n [max_k g_k(phi_n) - g_k0(phi_n)]``; each
term is non-negative, and its standard error is the Monte Carlo error of that
mean (the regression's own estimation error is not included).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.interpolate import BSpline

from schemerisk.analysis.solver import Adjust, adjusted_revenue

DRAW = "draw"
DEFAULT_DEFICIT_COST = 2.0
DEFAULT_SURPLUS_COST = 1.0


@dataclass(frozen=True)
class PremiumDecision:
    """The premium-setting decision and what a wrong premium costs.

    Attributes
    ----------
    deficit_cost : float
        Loss per unit of currency of deficit.
    surplus_cost : float
        Loss per unit of currency of surplus (over-set premiums).
    adjust : Adjust
        Which premiums the multiplier scales.
    n_decisions : int
        Multipliers on the grid searched.
    """

    deficit_cost: float = DEFAULT_DEFICIT_COST
    surplus_cost: float = DEFAULT_SURPLUS_COST
    adjust: Adjust = Adjust.ALL_PREMIUMS
    n_decisions: int = 121

    def __post_init__(self) -> None:
        object.__setattr__(self, "adjust", Adjust(self.adjust))  # accept "all-premiums" too
        if (
            self.deficit_cost < 0
            or self.surplus_cost < 0
            or self.deficit_cost + self.surplus_cost == 0
        ):
            raise ValueError("deficit_cost and surplus_cost must be 0 or more, not both 0")
        if self.n_decisions < 3:
            raise ValueError("n_decisions must be at least 3")

    def describe(self, currency: str) -> str:
        """The loss function in words."""
        return (
            f"each {currency} of deficit costs {self.deficit_cost:g} {currency} (emergency financing, arrears), "
            f"each {currency} of surplus costs members {self.surplus_cost:g} {currency}; the premium multiplier "
            f"scales {self.adjust.value.replace('-', ' ')}"
        )


def net_benefit(cube: xr.Dataset, decision: PremiumDecision) -> tuple[np.ndarray, np.ndarray]:
    """Net benefit of every premium multiplier on a grid, for every draw and year.

    Parameters
    ----------
    cube : xarray.Dataset
        Cube with ``balance`` and the revenue variables.
    decision : PremiumDecision
        The loss function.

    Returns
    -------
    nb : numpy.ndarray
        Shape (draws, years, decisions): ``-loss``.
    grid : numpy.ndarray
        Shape (years, decisions): the multipliers searched, per year.
    """
    bal = cube["balance"].transpose(DRAW, "year").values
    rev = adjusted_revenue(cube, decision.adjust).transpose(DRAW, "year").values
    with np.errstate(divide="ignore", invalid="ignore"):
        breakeven = np.where(rev > 0, 1.0 - bal / rev, np.nan)
    lo = np.nanquantile(breakeven, 0.001, axis=0)
    hi = np.nanquantile(breakeven, 0.999, axis=0)
    lo, hi = np.minimum(lo, 1.0), np.maximum(hi, 1.0)
    grid = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, decision.n_decisions)[None, :]
    b = bal[:, :, None] + (grid[None, :, :] - 1.0) * rev[:, :, None]
    loss = decision.deficit_cost * np.maximum(-b, 0.0) + decision.surplus_cost * np.maximum(b, 0.0)
    return -loss, grid


def spline_basis(x: np.ndarray, n_knots: int = 6, degree: int = 3) -> np.ndarray:
    """Cubic B-spline basis of one input, knots at its quantiles (for the regression of Strong et al.).

    Parameters
    ----------
    x : numpy.ndarray
        The input's draws.
    n_knots : int
        Interior knots (fewer when the input takes few distinct values).
    degree : int
        Spline degree.

    Returns
    -------
    numpy.ndarray
        Shape (draws, basis functions); empty when ``x`` is constant.
    """
    lo, hi = float(np.min(x)), float(np.max(x))
    if hi <= lo:
        return np.empty((x.shape[0], 0))
    distinct = np.unique(x)
    if distinct.size <= degree + 1:  # a discrete input: one indicator per value
        return (x[:, None] == distinct[None, 1:]).astype(np.float64)
    inner = np.unique(np.quantile(x, np.linspace(0, 1, n_knots + 2)[1:-1]))
    inner = inner[(inner > lo) & (inner < hi)]
    knots = np.r_[[lo] * (degree + 1), inner, [hi] * (degree + 1)]
    return BSpline.design_matrix(np.clip(x, lo, hi), knots, degree).toarray()


def _fitted(features: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares fit of every column of ``y`` on an intercept and ``features``."""
    x = np.column_stack([np.ones(features.shape[0]), features])
    # normal equations: the p x p system is tiny (p = 1 + basis functions), so solving it is cheap
    # and avoids an SVD of the (draws x p) matrix; lstsq on it handles a rank-deficient basis
    coef, *_ = np.linalg.lstsq(x.T @ x, x.T @ y, rcond=None)
    fit: np.ndarray = x @ coef
    return fit


def _fitted_balance_and_revenue(
    features: np.ndarray, bal: np.ndarray, rev: np.ndarray, expenditure: np.ndarray, log_ok: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Regression predictions of the balance and the adjusted revenue from a group's inputs.

    Revenue and expenditure are products (prices x members x unit costs), so when
    both are positive they are fitted in logs, where products become sums that
    an additive spline model can follow; otherwise the balance and revenue are
    fitted directly.
    """
    n_years = bal.shape[1]
    if log_ok:
        fitted = _fitted(features, np.log(np.column_stack([rev, expenditure])))
        r_hat, c_hat = np.exp(fitted[:, :n_years]), np.exp(fitted[:, n_years:])
        return r_hat - c_hat, r_hat
    fitted = _fitted(features, np.column_stack([bal, rev]))
    return fitted[:, :n_years], fitted[:, n_years:]


def _conditional_net_benefit(
    fitted_balance: np.ndarray,
    fitted_revenue: np.ndarray,
    res_balance: np.ndarray,
    res_revenue: np.ndarray,
    grid: np.ndarray,
    decision: PremiumDecision,
) -> np.ndarray:
    """``E[NB(k) | phi]`` for every draw and decision of one year, averaging over residuals.

    For a decision k the balance is ``a_n + r_m`` with ``a_n = B^_n + (k-1) R^_n``
    and residual ``r_m = e_m + (k-1) u_m``; the expected deficit and surplus
    follow from the sorted residuals and their running sums.

    Returns
    -------
    numpy.ndarray
        Shape (draws, decisions).
    """
    n, m = fitted_balance.shape[0], res_balance.shape[0]
    out = np.empty((n, grid.shape[0]))
    for j, k in enumerate(grid):
        a = fitted_balance + (k - 1.0) * fitted_revenue
        r = np.sort(res_balance + (k - 1.0) * res_revenue)
        below = np.concatenate([[0.0], np.cumsum(r)])  # sum of the i smallest residuals
        i = np.searchsorted(r, -a)  # residuals with a + r < 0: a deficit
        deficit = (-a * i - below[i]) / m
        surplus = (a * (m - i) + (below[-1] - below[i])) / m
        out[:, j] = -(decision.deficit_cost * deficit + decision.surplus_cost * surplus)
    return out


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


def value_of_information(
    cube: xr.Dataset,
    groups: Mapping[str, Sequence[str]] | None = None,
    decision: PremiumDecision | None = None,
    *,
    n_knots: int = 6,
    max_residuals: int = 4096,
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
        Interior knots per input of the regression spline.
    max_residuals : int
        Regression residuals averaged over for each draw (a subset of large samples).

    Returns
    -------
    ValueOfInformation
        The table and the decision.
    """
    decision = decision or PremiumDecision()
    entries = [str(v).removeprefix("input_") for v in cube.data_vars if str(v).startswith("input_")]
    groups = {e: (e,) for e in entries} if groups is None else groups
    nb, grid = net_benefit(cube, decision)
    n, n_years, n_dec = nb.shape
    bal = cube["balance"].transpose(DRAW, "year").values
    rev = adjusted_revenue(cube, decision.adjust).transpose(DRAW, "year").values
    expenditure = rev - bal  # what the adjusted revenue must cover (expenditure less other revenue)
    # revenue and expenditure are products of prices, members and unit costs: additive in logs
    log_ok = bool(np.all(rev > 0) and np.all(expenditure > 0))
    # residuals averaged over: every draw, or an evenly spaced subset of large samples
    residual_rows = np.linspace(0, n - 1, min(n, max_residuals)).round().astype(np.int64)
    mean_nb = nb.mean(axis=0)  # (years, decisions)
    best = mean_nb.argmax(axis=1)  # today's best decision per year
    years = np.arange(n_years)
    # EVPI: perfect information about everything
    gain_all = nb.max(axis=2) - nb[:, years, best]
    evpi, evpi_se = gain_all.mean(axis=0), gain_all.std(axis=0, ddof=1) / np.sqrt(n)
    evppi = np.zeros((len(groups), n_years))
    evppi_se = np.zeros_like(evppi)
    bases: dict[str, np.ndarray] = {}
    for g, members in enumerate(groups.values()):
        cols = []
        for m in members:
            if m not in bases:
                da = cube[f"input_{m}"]
                vals = da.transpose(DRAW, ...).values.reshape(n, -1)
                bases[m] = np.column_stack(
                    [spline_basis(vals[:, j], n_knots) for j in range(vals.shape[1])]
                )
            cols.append(bases[m])
        features = np.column_stack(cols) if cols else np.empty((n, 0))
        if features.shape[1] == 0:
            continue
        fb, fr = _fitted_balance_and_revenue(features, bal, rev, expenditure, log_ok)
        eb, er = (bal - fb)[residual_rows], (rev - fr)[residual_rows]
        g_nb = np.empty((n, n_years, n_dec))
        for t in range(n_years):  # per year; every draw and decision at once
            g_nb[:, t] = _conditional_net_benefit(
                fb[:, t], fr[:, t], eb[:, t], er[:, t], grid[t], decision
            )
        gain = g_nb.max(axis=2) - g_nb[:, years, best]
        evppi[g] = gain.mean(axis=0)
        evppi_se[g] = gain.std(axis=0, ddof=1) / np.sqrt(n)
    cur = str(cube.attrs.get("currency", ""))
    year_coord = cube.year.values
    table = xr.Dataset(
        {
            "evppi": (("input", "year"), evppi),
            "evppi_se": (("input", "year"), evppi_se),
            "evpi": ("year", evpi),
            "evpi_se": ("year", evpi_se),
            "best_multiplier": ("year", grid[years, best]),
            "expected_loss": ("year", -mean_nb[years, best]),
        },
        coords={"input": list(groups), "year": year_coord},
        attrs={"currency": cur, "loss_function": decision.describe(cur), "n_draws": n},
    )
    table["evppi"].attrs.update(
        long_name="Expected value of partial perfect information", units=cur
    )
    table["evpi"].attrs.update(long_name="Expected value of perfect information", units=cur)
    table["best_multiplier"].attrs.update(
        long_name="Premium multiplier minimising the expected loss today"
    )
    return ValueOfInformation(table, decision)
