"""The equilibrium solver: premiums that bring the scheme's balance to zero, year by year.

Carrin, Ron & Murray (1993), Section 3.4.11, adjusted premiums by hand until the
scheme was "in financial equilibrium". Revenue is linear in premiums and no
expenditure depends on them, so the multiplier is found exactly:
``k_t = (C_t - R_fixed_t) / R_adjusted_t`` where ``R_adjusted`` is the revenue
from the premiums being adjusted and ``R_fixed`` the rest.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import xarray as xr

from schemerisk.model.project import as_scenario, project
from schemerisk.scenario.types import Category, Scenario, YearPath


class Adjust(enum.Enum):
    """Which premiums the solver scales."""

    FLAT_PREMIUMS = "flat-premiums"  #: flat premiums (dependants, farmers, ...)
    CONTRIBUTION_RATES = "contribution-rates"  #: income-related contribution rates
    ALL_PREMIUMS = "all-premiums"  #: both together, by the same multiplier


def adjusted_revenue_name(adjust: Adjust | str) -> str:
    """The output holding the revenue of the premiums ``adjust`` scales.

    Parameters
    ----------
    adjust : Adjust or str
        Which premiums are scaled.

    Returns
    -------
    str
        ``flat_premium_revenue``, ``contribution_revenue`` or ``premium_revenue``.
    """
    return {
        Adjust.FLAT_PREMIUMS: "flat_premium_revenue",
        Adjust.CONTRIBUTION_RATES: "contribution_revenue",
        Adjust.ALL_PREMIUMS: "premium_revenue",
    }[Adjust(adjust)]


def adjusted_revenue(ds: xr.Dataset, adjust: Adjust) -> xr.DataArray:
    """Revenue from the premiums that ``adjust`` scales [currency/yr].

    Parameters
    ----------
    ds : xarray.Dataset
        A result with ``flat_premium_revenue``, ``contribution_revenue`` and ``premium_revenue``.
    adjust : Adjust
        Which premiums are scaled.

    Returns
    -------
    xarray.DataArray
        The part of revenue proportional to the multiplier.
    """
    return ds[adjusted_revenue_name(adjust)]


def equilibrium_multiplier(
    ds: xr.Dataset, adjust: Adjust, target_balance: xr.DataArray | float = 0.0
) -> xr.DataArray:
    """Multiplier on the chosen premiums that makes the balance equal ``target_balance``.

    Works on any result, with or without a ``draw`` dimension, every year at once.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection result.
    adjust : Adjust
        Which premiums are scaled.
    target_balance : float or xarray.DataArray
        The balance wanted [currency/yr]; 0 for equilibrium.

    Returns
    -------
    xarray.DataArray
        ``k_t``; NaN where the adjusted premiums raise no revenue.
    """
    scaled = adjusted_revenue(ds, adjust)
    fixed = ds["premium_revenue"] - scaled
    k = (ds["total_expenditure"] + target_balance - fixed) / scaled.where(scaled != 0)
    return k.rename("premium_multiplier").assign_attrs(
        long_name=f"Multiplier on {adjust.value.replace('-', ' ')} that balances the scheme",
        units="1",
    )


@dataclass(frozen=True)
class Solution:
    """Result of :func:`solve_equilibrium`.

    Attributes
    ----------
    adjust : Adjust
        What was scaled.
    multiplier : xarray.DataArray
        The multiplier per year.
    scenario : Scenario
        The scenario with the adjusted premiums.
    result : xarray.Dataset
        The projection of the adjusted scenario (balance zero every year).
    """

    adjust: Adjust
    multiplier: xr.DataArray
    scenario: Scenario
    result: xr.Dataset


def _scaled(path: YearPath, k: np.ndarray) -> YearPath:
    return YearPath(
        tuple(float(v * m) for v, m in zip(path.values, k, strict=True)), given_values=True
    )


def _adjust_category(cat: Category, adjust: Adjust, k: np.ndarray) -> Category:
    flat = adjust in (Adjust.FLAT_PREMIUMS, Adjust.ALL_PREMIUMS)
    rate = adjust in (Adjust.CONTRIBUTION_RATES, Adjust.ALL_PREMIUMS)
    return replace(
        cat,
        flat_premium=_scaled(cat.flat_premium, k) if flat else cat.flat_premium,
        contribution_rate=_scaled(cat.contribution_rate, k) if rate else cat.contribution_rate,
    )


def solve_equilibrium(
    scenario: Scenario | str | Path, adjust: Adjust | str = Adjust.FLAT_PREMIUMS
) -> Solution:
    """Find, year by year, the premiums that bring the scheme's balance to zero.

    Carrin, Ron & Murray (1993), Section 3.4.11, solved exactly: revenue is
    linear in premiums, so one projection gives the multiplier and a second
    confirms it.

    Parameters
    ----------
    scenario : Scenario, str or Path
        The scenario, a file, or a built-in name.
    adjust : Adjust or str
        ``"flat-premiums"``, ``"contribution-rates"`` or ``"all-premiums"``.

    Returns
    -------
    Solution
        Multipliers, the adjusted scenario and its projection.

    Raises
    ------
    ValueError
        When the chosen premiums raise no revenue in some year (nothing to scale),
        or an adjusted contribution rate would exceed 1.
    """
    adjust = Adjust(adjust)
    sc = as_scenario(scenario)
    base = project(sc)
    k = equilibrium_multiplier(base, adjust)
    bad = k.year.values[~np.isfinite(k.values)]
    if bad.size:
        raise ValueError(
            f"cannot balance {sc.name} by adjusting {adjust.value}: they raise no revenue in "
            f"{', '.join(str(y) for y in bad)}"
        )
    kv = k.values.astype(float)
    negative = k.year.values[kv < 0]
    if negative.size:
        raise ValueError(
            f"cannot balance {sc.name} by adjusting {adjust.value}: the other revenue already exceeds "
            f"expenditure in {', '.join(str(y) for y in negative)}, so the premiums would have to be negative; "
            "adjust the other premiums (e.g. --adjust contribution-rates or all-premiums)"
        )
    cats = tuple(_adjust_category(c, adjust, kv) for c in sc.categories)
    too_high = [c.name for c in cats if max(c.contribution_rate.values) > 1.0]
    if too_high:
        raise ValueError(
            f"balancing {sc.name} would need contribution rates above 100 % of income for {', '.join(too_high)}"
        )
    # the solved premiums are given year by year: none is indexed past the scenario's years
    adjusted = replace(
        sc, categories=cats, name=f"{sc.name} (equilibrium, {adjust.value})", indexed_from=0
    )
    return Solution(adjust, k, adjusted, project(adjusted))
