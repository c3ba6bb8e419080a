"""Kernel output rows as an xarray Dataset: the contract between the model and the rest.

Variable names here are public: later stages (risk, sensitivity, reports) and
users' own code rely on them. Monetary amounts are in currency units (VND for
Hai Phong), not thousands; people in persons.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from schemerisk import __version__
from schemerisk.model.layout import (
    CATEGORY,
    OUTPUT_DIMS,
    PAYMENT_METHOD,
    PAYMENT_METHODS,
    SERVICE,
    TIER,
    YEAR,
    ModelInputs,
    Out,
    offsets,
)
from schemerisk.scenario.types import Scenario


class _DaskOnlyOnceImported:
    """xarray's record of dask as a duck-array module, without importing dask.

    xarray (``namedarray.pycompat``) imports dask to ask whether new data is a
    dask array, which adds ~1 s of imports to ``schemerisk project``. Data can
    only be a dask array once ``dask.array`` has been imported, so the answer
    is the same when the type is looked up in :data:`sys.modules`; the module
    and its version are imported when asked for, as before.
    """

    @property
    def type(self) -> tuple[type, ...]:
        array = sys.modules.get("dask.array")
        return (array.Array,) if array is not None and hasattr(array, "Array") else ()

    @property
    def module(self) -> Any:
        return self._record().module

    @property
    def version(self) -> Any:
        return self._record().version

    @property
    def available(self) -> bool:
        return importlib.util.find_spec("dask") is not None

    def _record(self) -> Any:
        from xarray.namedarray.pycompat import DuckArrayModule

        return DuckArrayModule("dask")


def _ask_xarray_not_to_import_dask() -> None:
    """Let xarray look for dask arrays without importing dask (issue 13: start-up).

    Installs :class:`_DaskOnlyOnceImported` unless xarray has looked dask up
    already, and answers xarray's "is this a dask collection?" with False
    until dask is imported (nothing can be one before). Both are private
    parts of xarray: with another xarray, nothing is changed.
    """
    try:
        from xarray.namedarray import pycompat, utils
    except ImportError:  # another xarray: it imports dask as it wishes
        return
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    if isinstance(cache, dict) and "dask" not in cache:
        cache["dask"] = _DaskOnlyOnceImported()
    asks = getattr(utils, "is_dask_collection", None)
    if callable(asks) and not getattr(asks, "_schemerisk_lazy", False):

        def is_dask_collection(x: object) -> bool:
            return "dask" in sys.modules and bool(asks(x))

        is_dask_collection._schemerisk_lazy = True  # type: ignore[attr-defined]
        utils.is_dask_collection = is_dask_collection  # type: ignore[assignment]


_ask_xarray_not_to_import_dask()

DRAW = "draw"
CURRENCY = "{currency}"
CURRENCY_PER_YEAR = "{currency}/yr"


@dataclass(frozen=True)
class VariableInfo:
    """Name, long name and units of a result variable."""

    name: str
    long_name: str
    units: str


#: every kernel output, with its public name, long name and units
OUTPUT_VARIABLES: dict[Out, VariableInfo] = {
    Out.DOMESTIC_PRICE_INDEX: VariableInfo(
        "domestic_price_index", "Domestic price index (base year = 100)", "1"
    ),
    Out.EXTERNAL_PRICE_INDEX: VariableInfo(
        "external_price_index", "External price index, US$ terms (base year = 100)", "1"
    ),
    Out.EXCHANGE_RATE: VariableInfo("exchange_rate", "Exchange rate", "{currency}/US$"),
    Out.TOTAL_POPULATION: VariableInfo("total_population", "Total population", "persons"),
    Out.PATIENT_COST: VariableInfo(
        "patient_cost",
        "Patient cost of all services, all patients (current prices)",
        CURRENCY_PER_YEAR,
    ),
    Out.GOVERNMENT_COST: VariableInfo(
        "government_cost",
        "Government cost of all services, all patients (current prices)",
        CURRENCY_PER_YEAR,
    ),
    Out.TOTAL_COST_CONSTANT: VariableInfo(
        "total_cost_constant",
        "Total cost of all services (constant base-year prices)",
        CURRENCY_PER_YEAR,
    ),
    Out.HEALTH_CARE_PAYMENTS: VariableInfo(
        "health_care_payments", "Health care payments by the scheme", CURRENCY_PER_YEAR
    ),
    Out.ADMIN_EXPENDITURE: VariableInfo(
        "admin_expenditure", "Administrative expenditure of the scheme", CURRENCY_PER_YEAR
    ),
    Out.TOTAL_EXPENDITURE: VariableInfo(
        "total_expenditure", "Total expenditure of the scheme", CURRENCY_PER_YEAR
    ),
    Out.PREMIUM_REVENUE: VariableInfo(
        "premium_revenue", "Revenue from premiums", CURRENCY_PER_YEAR
    ),
    Out.FLAT_PREMIUM_REVENUE: VariableInfo(
        "flat_premium_revenue", "Revenue from flat premiums", CURRENCY_PER_YEAR
    ),
    Out.CONTRIBUTION_REVENUE: VariableInfo(
        "contribution_revenue", "Revenue from income-related contributions", CURRENCY_PER_YEAR
    ),
    Out.BALANCE: VariableInfo(
        "balance", "Balance of the scheme (revenue - expenditure)", CURRENCY_PER_YEAR
    ),
    Out.COPAYMENTS: VariableInfo("copayments", "Co-payments by the insured", CURRENCY_PER_YEAR),
    Out.USER_FEES: VariableInfo(
        "user_fees",
        "User fees (non-insured, and insured for services not covered)",
        CURRENCY_PER_YEAR,
    ),
    Out.GOVERNMENT_FINANCING: VariableInfo(
        "government_financing", "Government financing of health services", CURRENCY_PER_YEAR
    ),
    Out.RESERVE: VariableInfo(
        "reserve",
        "Reserve fund at the end of the year (initial reserve + balances + interest)",
        CURRENCY,
    ),
    Out.PREMIUM_FROM_MEMBERS: VariableInfo(
        "premium_revenue_from_members",
        "Premium revenue paid by members themselves",
        CURRENCY_PER_YEAR,
    ),
    Out.PREMIUM_FROM_GOVERNMENT: VariableInfo(
        "premium_revenue_from_government",
        "Premium revenue paid by the state (premium subsidies)",
        CURRENCY_PER_YEAR,
    ),
    Out.PREMIUM_FROM_DONORS: VariableInfo(
        "premium_revenue_from_donors",
        "Premium revenue paid by donors (premium subsidies)",
        CURRENCY_PER_YEAR,
    ),
    Out.PROVIDER_MARGIN: VariableInfo(
        "provider_margin",
        "Health care payments minus what fee-for-service would have paid (capitation, case rates, bonuses)",
        CURRENCY_PER_YEAR,
    ),
    Out.PAYMENTS_BY_TIER: VariableInfo(
        "health_care_payments_by_tier", "Health care payments by facility tier", CURRENCY_PER_YEAR
    ),
    Out.PAYMENTS_BY_METHOD: VariableInfo(
        "health_care_payments_by_method",
        "Health care payments by provider payment method",
        CURRENCY_PER_YEAR,
    ),
    Out.POPULATION: VariableInfo("population", "Population by category", "persons"),
    Out.MEMBERS: VariableInfo("members", "Members (insured persons) by category", "persons"),
    Out.EXEMPTED_MEMBERS: VariableInfo(
        "exempted_members", "Members exempted from contributions by category", "persons"
    ),
    Out.INCOME: VariableInfo("income", "Average nominal income per person", CURRENCY_PER_YEAR),
    Out.PREMIUM: VariableInfo("premium", "Premium per paying member", CURRENCY_PER_YEAR),
    Out.CATEGORY_REVENUE: VariableInfo(
        "premium_revenue_by_category", "Revenue from premiums by category", CURRENCY_PER_YEAR
    ),
    Out.SERVICES: VariableInfo("services", "Number of services, all patients", "services/yr"),
    Out.UNIT_PATIENT_COST: VariableInfo(
        "unit_patient_cost", "Patient cost per service (current prices)", CURRENCY
    ),
    Out.UNIT_GOVERNMENT_COST: VariableInfo(
        "unit_government_cost", "Government cost per service (current prices)", CURRENCY
    ),
}

#: public name -> kernel output field
VARIABLE_FIELDS: dict[str, Out] = {info.name: f for f, info in OUTPUT_VARIABLES.items()}

#: the default outputs kept by a Monte Carlo run: every scheme-level variable and
#: the per-category members, premiums and revenue
DEFAULT_KEEP: tuple[str, ...] = tuple(
    [OUTPUT_VARIABLES[f].name for f in Out if OUTPUT_DIMS[f] == (YEAR,)]
    + ["members", "premium", "premium_revenue_by_category"]
)


def coordinates(scenario: Scenario) -> dict[str, xr.DataArray]:
    """Coordinates of a result: years, categories and services with their labels.

    Parameters
    ----------
    scenario : Scenario
        The scenario projected.

    Returns
    -------
    dict
        Coordinate arrays for ``year``, ``category`` and ``service`` and their labels.
    """
    cats, svcs = scenario.categories, scenario.services
    return {
        YEAR: xr.DataArray(scenario.years, dims=YEAR, attrs={"long_name": "Year", "units": "yr"}),
        CATEGORY: xr.DataArray(
            [c.name for c in cats], dims=CATEGORY, attrs={"long_name": "Population category"}
        ),
        "category_label": xr.DataArray([c.label for c in cats], dims=CATEGORY),
        SERVICE: xr.DataArray(
            [s.name for s in svcs], dims=SERVICE, attrs={"long_name": "Health service"}
        ),
        "service_label": xr.DataArray([s.label for s in svcs], dims=SERVICE),
        "service_level": xr.DataArray([s.level.value for s in svcs], dims=SERVICE),
        "service_tier": xr.DataArray([s.tier for s in svcs], dims=SERVICE),
        TIER: xr.DataArray(
            [t or "unspecified" for t in scenario.tiers],
            dims=TIER,
            attrs={"long_name": "Facility tier"},
        ),
        "tier_payment_method": xr.DataArray(
            [_tier_method(scenario, t) for t in scenario.tiers], dims=TIER
        ),
        PAYMENT_METHOD: xr.DataArray(
            list(PAYMENT_METHODS),
            dims=PAYMENT_METHOD,
            attrs={"long_name": "Provider payment method"},
        ),
    }


def _tier_method(scenario: Scenario, tier: str) -> str:
    for tp in scenario.provider_payment:
        if tp.tier == tier:
            return tp.method.name.lower()
    return "fee_for_service"


def scenario_attrs(scenario: Scenario) -> dict[str, str | int]:
    """Dataset attributes that identify the scenario and the package version."""
    return {
        "title": scenario.title or scenario.name,
        "scenario": scenario.name,
        "scenario_file": scenario.source,
        "scenario_sha256": scenario.sha256,
        "currency": scenario.currency,
        "base_year": scenario.base_year,
        "horizon": scenario.horizon,
        "schemerisk_version": __version__,
        "model": "WHO cost-sharing and health insurance premium simulation model "
        "(Carrin, Ron & Murray 1993, WHO/ICO/MESD.12), version 2.1 equations",
    }


def output_slices(
    inputs: ModelInputs, names: Iterable[str]
) -> list[tuple[str, slice, tuple[str, ...]]]:
    """Where each named output sits in a kernel output row.

    Parameters
    ----------
    inputs : ModelInputs
        Compiled inputs (for the dimension sizes).
    names : iterable of str
        Public variable names (see :data:`OUTPUT_VARIABLES`).

    Returns
    -------
    list of (name, slice of the row, dimension names)

    Raises
    ------
    ValueError
        For a name that is not an output variable.
    """
    names = list(names)
    unknown = [n for n in names if n not in VARIABLE_FIELDS]
    if unknown:
        raise ValueError(f"unknown output variable(s) {unknown}; valid: {sorted(VARIABLE_FIELDS)}")
    ooff = offsets(OUTPUT_DIMS, inputs.dims)
    out = []
    for name in names:
        f = VARIABLE_FIELDS[name]
        out.append((name, slice(int(ooff[f]), int(ooff[f + 1])), OUTPUT_DIMS[f]))
    return out


def kept_positions(
    inputs: ModelInputs, names: Iterable[str]
) -> tuple[np.ndarray, dict[str, slice]]:
    """Positions of the named outputs in a kernel row, and where each lands in the kept row.

    The kernel's ``keep`` argument (:func:`~schemerisk.model.kernel.run_kernel`)
    takes the positions; the kept row is the named outputs one after another.

    Parameters
    ----------
    inputs : ModelInputs
        Compiled inputs (for the dimension sizes).
    names : iterable of str
        Public variable names (see :data:`OUTPUT_VARIABLES`).

    Returns
    -------
    positions : numpy.ndarray
        int64 positions in the full row, in kept order.
    where : dict
        Variable name -> slice of the kept row.
    """
    parts, where, at = [], {}, 0
    for name, sl, _ in output_slices(inputs, names):
        parts.append(np.arange(sl.start, sl.stop, dtype=np.int64))
        where[name] = slice(at, at + sl.stop - sl.start)
        at += sl.stop - sl.start
    return (np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)), where


def blocks_to_dataset(
    scenario: Scenario, inputs: ModelInputs, blocks: dict[str, np.ndarray], draw_dim: bool = True
) -> xr.Dataset:
    """Assemble output blocks into a Dataset with units, long names and provenance.

    Parameters
    ----------
    scenario : Scenario
        The scenario projected.
    inputs : ModelInputs
        Its compiled inputs.
    blocks : dict
        Variable name -> array of shape (draws, row-slice length).
    draw_dim : bool
        Keep a leading ``draw`` dimension; if False each block must hold one draw.

    Returns
    -------
    xarray.Dataset
        One variable per block.
    """
    data_vars = {}
    for name, block in blocks.items():
        f = VARIABLE_FIELDS[name]
        dims = OUTPUT_DIMS[f]
        shaped = block.reshape((block.shape[0], *inputs.dims.shape(dims)))
        info = OUTPUT_VARIABLES[f]
        attrs = {
            "long_name": info.long_name,
            "units": info.units.format(currency=scenario.currency),
        }
        if draw_dim:
            data_vars[name] = xr.Variable((DRAW, *dims), shaped, attrs)
        else:
            if shaped.shape[0] != 1:
                raise ValueError("draw_dim=False needs exactly one draw")
            data_vars[name] = xr.Variable(dims, shaped[0], attrs)
    return xr.Dataset(data_vars, coords=coordinates(scenario), attrs=scenario_attrs(scenario))


def rows_to_dataset(
    scenario: Scenario,
    inputs: ModelInputs,
    rows: np.ndarray,
    keep: Iterable[str] | None = None,
    draw_dim: bool = True,
) -> xr.Dataset:
    """Turn kernel output rows into a Dataset.

    Parameters
    ----------
    scenario : Scenario
        The scenario projected.
    inputs : ModelInputs
        Its compiled inputs (for the dimension sizes).
    rows : numpy.ndarray
        Output rows, shape (draws, row length).
    keep : iterable of str, optional
        Names of the variables to include; default all.
    draw_dim : bool
        Keep a leading ``draw`` dimension; if False, ``rows`` must hold one draw.

    Returns
    -------
    xarray.Dataset
        One variable per kept output, with units and long names.
    """
    names = list(VARIABLE_FIELDS) if keep is None else list(keep)
    blocks = {name: rows[:, sl].copy() for name, sl, _ in output_slices(inputs, names)}
    return blocks_to_dataset(scenario, inputs, blocks, draw_dim)


def add_memoranda(ds: xr.Dataset) -> xr.Dataset:
    """Add the derived Sheet C rows: totals, memoranda and the structure of financing.

    Carrin, Ron & Murray (1993), Section 4 and Annex II: total membership,
    members exempted as a share of the insured, health care payments per
    insured, administrative expenditure as a share of premium revenue, total
    cost in current prices and each source's share of it, and whether the
    scheme is in financial equilibrium (|balance| < 1 % of revenue).

    Parameters
    ----------
    ds : xarray.Dataset
        A result with at least the variables these rows are computed from.

    Returns
    -------
    xarray.Dataset
        The same with the derived variables added (where their inputs exist).
    """
    derived: dict[str, xr.DataArray] = {}  # added at once: one merge, not one per row
    cur = ds["balance"].attrs.get("units", "") if "balance" in ds else ""

    def put(name: str, value: xr.DataArray, long_name: str, units: str) -> None:
        derived[name] = value.assign_attrs(long_name=long_name, units=units)

    def over(num: xr.DataArray, den: xr.DataArray, valid: xr.DataArray) -> xr.DataArray:
        # The mask goes on the denominator (often the smaller array): NaN where not valid.
        return num / den.where(valid)

    def total_of(name: str) -> xr.DataArray:
        return ds[name].sum(CATEGORY, skipna=False)

    members_total = total_of("members") if "members" in ds else None
    if members_total is not None:
        put("total_members", members_total, "Total membership", "persons")
    if members_total is not None and "population" in ds:
        pop = ds["population"]
        put(
            "insured_share",
            over(ds["members"], pop, pop > 0),
            "Insured share of each category",
            "1",
        )
        total = total_of("population")
        put(
            "coverage",
            over(members_total, total, total > 0),
            "Coverage: share of the whole population insured",
            "1",
        )
    if members_total is not None and "exempted_members" in ds:
        exempt = total_of("exempted_members")
        put("total_exempted_members", exempt, "Members exempted from contributions", "persons")
        put(
            "exempted_share",
            over(exempt, members_total, members_total > 0),
            "Members exempted as a share of the insured",
            "1",
        )
        put(
            "paying_members",
            ds["members"] - ds["exempted_members"],
            "Paying members by category",
            "persons",
        )
    if "health_care_payments" in ds and members_total is not None:
        put(
            "health_care_payments_per_member",
            over(ds["health_care_payments"], members_total, members_total > 0),
            "Health care payments per insured person",
            cur.replace("/yr", "/person/yr"),
        )
    if "admin_expenditure" in ds and "premium_revenue" in ds:
        rev = ds["premium_revenue"]
        put(
            "admin_share_of_revenue",
            over(ds["admin_expenditure"], rev, rev != 0),
            "Administrative expenditure as a share of premium revenue",
            "1",
        )
    if "balance" in ds and "premium_revenue" in ds:
        rev = ds["premium_revenue"]
        put(
            "balance_share_of_revenue",
            over(ds["balance"], rev, rev != 0),
            "Balance as a share of premium revenue",
            "1",
        )
        put(
            "in_equilibrium",
            abs(ds["balance"]) < 0.01 * abs(rev),
            "Financial equilibrium: |balance| < 1 % of premium revenue (Section 3.4.11)",
            "1",
        )
    parts = ("user_fees", "copayments", "health_care_payments", "government_financing")
    if "patient_cost" in ds and "government_cost" in ds:
        total = ds["patient_cost"] + ds["government_cost"]
        put("total_cost", total, "Total cost of all services (current prices)", cur)
        if all(p in ds for p in parts):
            valid = total > 0
            for p in parts:
                put(
                    f"{p}_share",
                    over(ds[p], total, valid),
                    f"Share of {p.replace('_', ' ')} in the total cost of services",
                    "1",
                )
    return ds.assign(derived)
