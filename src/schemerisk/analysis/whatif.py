"""Premiums scaled by a multiplier, without re-running the model: the what-if of the report and ``explore``.

Premium revenue is proportional to the premiums and no expenditure depends on them
(Carrin, Ron & Murray 1993, Annex I.3: ``B_t = HIR_t - C_t``; the equilibrium solver,
:mod:`schemerisk.analysis.solver`, rests on the same fact). So with the premiums that
``adjust`` names scaled by ``M``, every projection's balance is

    B_t(M) = B_t + (M - 1) S_t,

``B_t`` the balance as planned and ``S_t`` the revenue of the scaled premiums
(:func:`~schemerisk.analysis.solver.adjusted_revenue`). The static report's slider
(:mod:`schemerisk.reports.whatif`), ``schemerisk risk --premium-multiplier`` and the
``explore`` app all evaluate this one expression, in double precision and in this order, so
their deficit counts agree draw for draw. A draw whose ``B_t(M)`` is not finite is unknown
that year, never counted as safe (:mod:`schemerisk.uncertainty.nonfinite`).
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import xarray as xr

from schemerisk.analysis.solver import Adjust, adjusted_revenue

#: the revenue series each choice of ``adjust`` scales, as named in a cube
SCALED_OUTPUTS: dict[Adjust, tuple[str, ...]] = {
    Adjust.FLAT_PREMIUMS: ("flat_premium_revenue",),
    Adjust.CONTRIBUTION_RATES: ("contribution_revenue",),
    Adjust.ALL_PREMIUMS: ("flat_premium_revenue", "contribution_revenue"),
}

_Array = TypeVar("_Array", np.ndarray, xr.DataArray)

#: outputs dropped from a scaled cube (M != 1)
_DROPPED = ("reserve", "admin_share_of_revenue", "in_equilibrium")


def check_multiplier(multiplier: float) -> float:
    """A premium multiplier, checked: finite and at least 0.

    Parameters
    ----------
    multiplier : float
        The factor on premiums (1 = as planned).

    Returns
    -------
    float
        The multiplier.

    Raises
    ------
    ValueError
        When it is negative or not finite.
    """
    m = float(multiplier)
    if not np.isfinite(m) or m < 0.0:
        raise ValueError(f"the premium multiplier must be a finite number of 0 or more, got {m:g}")
    return m


def scaled_balance(balance: _Array, scaled: _Array, multiplier: float) -> _Array:
    """The balance with the scaled premiums multiplied by ``multiplier``: ``B + (M - 1) S``.

    Parameters
    ----------
    balance : numpy.ndarray or xarray.DataArray
        Balance as planned [currency/yr].
    scaled : numpy.ndarray or xarray.DataArray
        Revenue of the premiums being scaled, same shape [currency/yr].
    multiplier : float
        ``M`` (1 = as planned).

    Returns
    -------
    numpy.ndarray or xarray.DataArray
        ``B(M)``; exactly ``balance`` at ``M = 1`` wherever ``scaled`` is finite.
    """
    return balance + (multiplier - 1.0) * scaled


def deficit_counts(
    balance: np.ndarray, scaled: np.ndarray, multiplier: float
) -> tuple[np.ndarray, np.ndarray]:
    """Draws in deficit and draws known, by year, with premiums scaled by ``multiplier``.

    Parameters
    ----------
    balance, scaled : numpy.ndarray
        (draw, year) arrays as for :func:`scaled_balance`.
    multiplier : float
        ``M``.

    Returns
    -------
    deficits, known : numpy.ndarray
        Integer counts by year: draws with a finite ``B(M) < 0``, and draws with a finite ``B(M)``.
    """
    b = scaled_balance(balance, scaled, multiplier)
    known = np.isfinite(b)
    return (known & (b < 0)).sum(axis=0), known.sum(axis=0)


def scale_premiums(
    cube: xr.Dataset, multiplier: float, adjust: Adjust | str = Adjust.ALL_PREMIUMS
) -> xr.Dataset:
    """A Monte Carlo cube as if the premiums ``adjust`` names were multiplied by ``multiplier``.

    ``balance``, ``premium_revenue`` and the scaled revenue series change; expenditure
    and every other output stay as they are (no expenditure depends on premiums).
    ``balance_share_of_revenue`` is recomputed; ``reserve`` is dropped, since the reserve
    earns interest at a rate the cube does not hold (re-run the model with the premiums
    changed for the probability of ruin), and so are the premium-dependent memoranda
    ``admin_share_of_revenue`` and ``in_equilibrium``.

    Parameters
    ----------
    cube : xarray.Dataset
        A cube with ``balance``, ``premium_revenue`` and the revenue series of ``adjust``.
    multiplier : float
        ``M`` (1 = as planned).
    adjust : Adjust or str
        Which premiums are scaled (as ``schemerisk risk --adjust``).

    Returns
    -------
    xarray.Dataset
        The scaled cube, its attribute ``premium_multiplier`` set.
    """
    m = check_multiplier(multiplier)
    adj = Adjust(adjust)
    s = adjusted_revenue(cube, adj)
    out = cube.copy()
    out["balance"] = scaled_balance(cube["balance"], s, m).assign_attrs(cube["balance"].attrs)
    delta = (m - 1.0) * s
    out["premium_revenue"] = (cube["premium_revenue"] + delta).assign_attrs(
        cube["premium_revenue"].attrs
    )
    for name in SCALED_OUTPUTS[adj]:
        if name in cube:
            out[name] = (m * cube[name]).assign_attrs(cube[name].attrs)
    if "balance_share_of_revenue" in cube:
        rev = out["premium_revenue"]
        out["balance_share_of_revenue"] = (out["balance"] / rev.where(rev != 0)).assign_attrs(
            cube["balance_share_of_revenue"].attrs
        )
    if m != 1.0:  # outputs that the cube alone cannot scale
        out = out.drop_vars([v for v in _DROPPED if v in out])
    out.attrs.update(premium_multiplier=m, premium_multiplier_adjusts=adj.value)
    return out
