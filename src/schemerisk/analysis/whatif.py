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


#: the cube variable holding each category's premium revenue, (draw, year, category)
BY_CATEGORY = "premium_revenue_by_category"


def parse_multiplier(text: str) -> float | dict[str, float]:
    """``--premium-multiplier``: one multiplier ``M``, or per category ``name=M,name=M``.

    Parameters
    ----------
    text : str
        ``"1.2"``, or ``"farmers=1.2,dependants=0.9"`` (spaces around the parts are ignored).

    Returns
    -------
    float or dict
        The multiplier, or category name -> multiplier, each checked by
        :func:`check_multiplier`.

    Raises
    ------
    ValueError
        Naming the part that is not a number, not ``name=M``, or repeated.
    """
    if "=" not in text:
        try:
            number = float(text)
        except ValueError:
            raise ValueError(
                f"expected a number M or per category NAME=M,NAME=M, got '{text}'"
            ) from None
        return check_multiplier(number)
    out: dict[str, float] = {}
    for part in text.split(","):
        name, eq, value = (x.strip() for x in part.partition("="))
        if not eq or not name:
            raise ValueError(f"'{part.strip()}' is not NAME=M (e.g. farmers=1.2)")
        if name in out:
            raise ValueError(f"category '{name}' is given twice")
        try:
            out[name] = check_multiplier(float(value))
        except ValueError as exc:
            raise ValueError(
                f"{name}: {exc}"
                if "multiplier" in str(exc)
                else f"{name}: '{value}' is not a number"
            ) from None
    return out


def scale_categories(cube: xr.Dataset, multipliers: dict[str, float]) -> xr.Dataset:
    """A Monte Carlo cube as if each named category's premiums were multiplied by its ``M_c``.

    All of a category's premiums scale (flat premium and contribution rate), so its premium
    revenue ``S_c`` (``premium_revenue_by_category``) scales, and every projection's balance is
    ``B_t + sum_c (M_c - 1) S_{c,t}``, the categories taken in the cube's order (Carrin, Ron &
    Murray 1993, Annex I.3: ``HIR_t`` is the sum over categories of premium x paying members;
    no expenditure depends on premiums). ``premium_revenue`` gets the same terms;
    ``flat_premium_revenue`` and ``contribution_revenue`` are dropped (the cube does not split
    a category's revenue between the two), with the outputs :func:`scale_premiums` drops.

    Parameters
    ----------
    cube : xarray.Dataset
        A cube with ``balance``, ``premium_revenue`` and ``premium_revenue_by_category``.
    multipliers : dict
        Category name -> ``M_c`` (a category not named: 1).

    Returns
    -------
    xarray.Dataset
        The scaled cube, its attribute ``premium_multiplier`` set to ``name=M,...``.

    Raises
    ------
    ValueError
        When a name is not one of the cube's categories, or the cube lacks the revenue by
        category.
    """
    if BY_CATEGORY not in cube:
        raise ValueError(
            f"per-category multipliers need '{BY_CATEGORY}' in the cube (kept by default by "
            "schemerisk simulate; not with --keep lists that leave it out)"
        )
    names = [str(c) for c in cube[BY_CATEGORY]["category"].values]
    unknown = [c for c in multipliers if c not in names]
    if unknown:
        raise ValueError(f"no category {', '.join(unknown)}; the categories are {', '.join(names)}")
    checked = {c: check_multiplier(m) for c, m in multipliers.items()}
    out = cube.copy()
    bal, rev = cube["balance"], cube["premium_revenue"]
    scaled = cube[BY_CATEGORY]
    for c in names:  # the cube's order, as the explore app
        m = checked.get(c, 1.0)
        if m == 1.0:
            continue
        s_c = cube[BY_CATEGORY].sel(category=c, drop=True)
        bal = scaled_balance(bal, s_c, m)
        rev = rev + (m - 1.0) * s_c
        scaled = xr.where(scaled["category"] == c, m * scaled, scaled)
    out["balance"] = bal.transpose(*cube["balance"].dims).assign_attrs(cube["balance"].attrs)
    out["premium_revenue"] = rev.transpose(*cube["premium_revenue"].dims).assign_attrs(
        cube["premium_revenue"].attrs
    )
    out[BY_CATEGORY] = scaled.transpose(*cube[BY_CATEGORY].dims).assign_attrs(
        cube[BY_CATEGORY].attrs
    )
    if "balance_share_of_revenue" in cube:
        out["balance_share_of_revenue"] = (
            out["balance"] / out["premium_revenue"].where(out["premium_revenue"] != 0)
        ).assign_attrs(cube["balance_share_of_revenue"].attrs)
    dropped = ("flat_premium_revenue", "contribution_revenue", *_DROPPED)
    if any(m != 1.0 for m in checked.values()):
        out = out.drop_vars([v for v in dropped if v in out])
    label = ",".join(f"{c}={checked[c]:g}" for c in names if c in checked)
    out.attrs.update(premium_multiplier=label, premium_multiplier_adjusts="by-category")
    return out
