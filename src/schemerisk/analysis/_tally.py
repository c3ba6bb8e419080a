"""Compiled passes over (draws x outputs) arrays: the deficit-risk tables
(:func:`schemerisk.analysis.risk.deficit_risk`) and the standardised outputs of the
Sobol' estimators (:func:`schemerisk.analysis.sensitivity.sobol_indices`).

Each pass reads a (draws x years) output once, draw after draw, and keeps its
sums in the order NumPy's ``sum(axis=0)`` of a C-ordered array adds them (one
draw after the other, for every year at once), so the sums and means are the
same bit for bit as the array expressions they replace; no ``fastmath``.
They write no (draws x years) temporaries: on a run of 10^6 draws over 11
years the array expressions made about ten of 88 MB each.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def sign_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Known and negative draws by year, and the same questions over the whole horizon.

    A value is known when it is finite (neither NaN nor +-inf). A draw is
    negative over the horizon when it is negative in some known year; it is
    unknown over the horizon when it is negative in no known year and has an
    unknown year (:func:`schemerisk.uncertainty.nonfinite.horizon_counts`).

    Parameters
    ----------
    values : numpy.ndarray
        (draws, years) a balance or a reserve.

    Returns
    -------
    known : numpy.ndarray
        int64 (years,): draws with a finite value.
    negative : numpy.ndarray
        int64 (years,): draws with a finite value below zero.
    any_negative : int
        Draws negative in some known year.
    unknown_over_horizon : int
        Draws negative in no known year, with a year unknown.
    """
    n, years = values.shape
    known = np.zeros(years, dtype=np.int64)
    negative = np.zeros(years, dtype=np.int64)
    any_negative = 0
    unknown = 0
    for d in range(n):
        has = False
        all_known = True
        for y in range(years):
            v = values[d, y]
            if np.isfinite(v):
                known[y] += 1
                if v < 0.0:
                    negative[y] += 1
                    has = True
            else:
                all_known = False
        if has:
            any_negative += 1
        elif not all_known:
            unknown += 1
    return known, negative, any_negative, unknown


@njit(cache=True, nogil=True, error_model="numpy")
def nonfinite_counts(values: np.ndarray) -> np.ndarray:
    """Non-finite (NaN or +-inf) values of each year, in one pass without a temporary.

    What :func:`schemerisk.uncertainty.nonfinite.count_nonfinite` computes for the
    risk tables and the streaming summaries.

    Parameters
    ----------
    values : numpy.ndarray
        (draws, years), any strides.

    Returns
    -------
    numpy.ndarray
        int64 (years,).
    """
    n, years = values.shape
    counts = np.zeros(years, dtype=np.int64)
    for d in range(n):
        for y in range(years):
            if not np.isfinite(values[d, y]):
                counts[y] += 1
    return counts


@njit(cache=True, nogil=True, error_model="numpy")
def _loss_and_share(b: float, r: float) -> tuple[float, float]:
    """A known draw's deficit (a surplus as zero) and the deficit's share of premium revenue.

    The share is NaN-free: a deficit against no (or an unknown) revenue is +inf,
    no deficit against none is 0, as the report defines it.
    """
    loss = -b
    if not loss > 0.0:  # np.clip(-b, 0.0, None): 0 for a surplus
        loss = 0.0 if loss < 0.0 else loss
    share = loss / r if r != 0.0 else np.nan
    if np.isnan(share):
        share = np.inf if loss > 0.0 else 0.0
    return loss, share


@njit(cache=True, nogil=True, error_model="numpy")
def loss_sums(balance: np.ndarray, revenue: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums by year, over the draws with a finite balance, of the deficit and of its share of revenue.

    Divided by the known draws they are the expected deficit and the expected
    deficit's share; an unknown draw adds 0.0, as NumPy's ``nanmean`` replaces
    its NaN.

    Parameters
    ----------
    balance, revenue : numpy.ndarray
        (draws, years) the balance and the premium revenue.

    Returns
    -------
    loss, share : numpy.ndarray
        (years,) the two sums.
    """
    n, years = balance.shape
    loss_sum = np.zeros(years)
    share_sum = np.zeros(years)
    for d in range(n):
        for y in range(years):
            b = balance[d, y]
            if np.isfinite(b):
                loss, share = _loss_and_share(b, revenue[d, y])
                loss_sum[y] += loss
                share_sum[y] += share
            else:
                loss_sum[y] += 0.0
                share_sum[y] += 0.0
    return loss_sum, share_sum


@njit(cache=True, nogil=True, error_model="numpy")
def year_columns(
    balance: np.ndarray,
    revenue: np.ndarray,
    expenditure: np.ndarray,
    scaled: np.ndarray,
    year: int,
    with_multiplier: bool,
    loss: np.ndarray,
    share: np.ndarray,
    multiplier: np.ndarray,
) -> int:
    """One year's deficits, deficit shares and break-even premium multipliers, as contiguous columns.

    ``loss`` and ``share`` get every draw (NaN where the balance is unknown);
    ``multiplier`` gets the known draws' break-even multipliers
    ``(C - (R - R_scaled)) / R_scaled`` one after the other (+inf where the
    scaled revenue is 0 or the ratio is NaN: such a draw cannot be balanced),
    as :func:`~schemerisk.analysis.solver.equilibrium_multiplier` defines them.

    Parameters
    ----------
    balance, revenue, expenditure, scaled : numpy.ndarray
        (draws, years) the balance, premium revenue, total expenditure and the
        revenue the multiplier scales.
    year : int
        Column to take.
    with_multiplier : bool
        Fill ``multiplier`` (else it is left alone).
    loss, share, multiplier : numpy.ndarray
        (draws,) outputs.

    Returns
    -------
    int
        How many multipliers were written.
    """
    n = balance.shape[0]
    m = 0
    for d in range(n):
        b = balance[d, year]
        if np.isfinite(b):
            r = revenue[d, year]
            loss[d], share[d] = _loss_and_share(b, r)
            if with_multiplier:
                s = scaled[d, year]
                k = (expenditure[d, year] + 0.0 - (r - s)) / (s if s != 0.0 else np.nan)
                multiplier[m] = np.inf if np.isnan(k) else k
                m += 1
        else:
            loss[d] = np.nan
            share[d] = np.nan
    return m


@njit(cache=True, nogil=True, error_model="numpy")
def standardise(y: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Each column centred on its mean and divided by its standard deviation (1 where it is 0).

    ``(y - y.mean(axis=0)) / sd`` with ``sd = y.std(axis=0)``, NumPy's
    population standard deviation, computed as NumPy computes it for a
    C-ordered array of two columns or more (sums draw after draw; the mean, then
    the mean of the squared deviations, then its square root), so the same values
    bit for bit, without NumPy's two (rows x columns) temporaries.

    Parameters
    ----------
    y : numpy.ndarray
        (rows, columns).
    out : numpy.ndarray
        (rows, columns) output: the standardised values (it may be ``y`` itself).

    Returns
    -------
    numpy.ndarray
        (columns,) the standard deviations.
    """
    n, k = y.shape
    mean = np.zeros(k)
    for i in range(n):
        for c in range(k):
            mean[c] += y[i, c]
    for c in range(k):
        mean[c] = mean[c] / n
    square = np.zeros(k)
    for i in range(n):
        for c in range(k):
            d = y[i, c] - mean[c]
            square[c] += d * d
    sd = np.empty(k)
    scale = np.empty(k)
    for c in range(k):
        sd[c] = np.sqrt(square[c] / n)
        scale[c] = sd[c] if sd[c] > 0.0 else 1.0
    for i in range(n):
        for c in range(k):
            out[i, c] = (y[i, c] - mean[c]) / scale[c]
    return sd


@njit(cache=True, nogil=True, error_model="numpy")
def sobol_outputs(balance: np.ndarray, revenue: np.ndarray, out: np.ndarray) -> None:
    """The outputs the Sobol' indices explain, in one pass: balance, its share of revenue, deficit.

    ``out[:, 0]`` the balance; ``out[:, 1]`` the balance over premium revenue, 0
    where the revenue is 0 or the ratio is NaN (an unknown balance or revenue);
    ``out[:, 2]`` 1 for a deficit (a balance below 0), else 0
    (:func:`~schemerisk.analysis.sensitivity.model_outputs`).

    Parameters
    ----------
    balance, revenue : numpy.ndarray
        (draws, years).
    out : numpy.ndarray
        (draws, 3, years) output.
    """
    n, years = balance.shape
    for d in range(n):
        for y in range(years):
            b = balance[d, y]
            r = revenue[d, y]
            share = b / r
            out[d, 0, y] = b
            out[d, 1, y] = 0.0 if r == 0.0 or np.isnan(share) else share
            out[d, 2, y] = 1.0 if b < 0.0 else 0.0
