"""The flat layout of the kernel's inputs and outputs.

The kernel reads every numeric input of a projection from one float64 vector
and writes every result into one float64 row per draw. This module names the
fields of both, gives their shapes, and turns a :class:`Scenario` into the
input vector. Addressing every input by position is what lets the uncertainty
layer change any input of any draw without copying the rest.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

from schemerisk.scenario.types import (
    COST_TYPES,
    Level,
    Payer,
    Scenario,
    Target,
    VolumeBasis,
    YearPath,
)

YEAR, CATEGORY, SERVICE, COST_TYPE, ADMIN_ITEM = (
    "year",
    "category",
    "service",
    "cost_type",
    "admin_item",
)
TIER, PAYMENT_METHOD = "tier", "payment_method"
#: the ways the scheme's health care payments are made, in the order of the payment_method dimension
PAYMENT_METHODS = ("fee_for_service", "capitation", "per_case", "performance_bonus")


class In(enum.IntEnum):
    """Input fields of the kernel, in vector order."""

    POPULATION0 = 0
    ADMISSION_RATE = enum.auto()
    INSURED_LOADING = enum.auto()
    PPP = enum.auto()
    GROWTH_RATE = enum.auto()
    DEPENDANT_SHARE = enum.auto()
    DOMESTIC_INFLATION = enum.auto()
    EXTERNAL_INFLATION = enum.auto()
    EXCHANGE_RATE = enum.auto()
    REAL_DEPRECIATION = enum.auto()
    ADULT_SHARE = enum.auto()
    INCOME_GROWTH = enum.auto()
    CONTRIBUTION_RATE = enum.auto()
    FLAT_PREMIUM = enum.auto()
    INSURED_SHARE = enum.auto()
    EXEMPT_SHARE = enum.auto()
    USER_FEE_EXEMPT_SHARE = enum.auto()
    INCOME0 = enum.auto()
    OUTPATIENT_COVER = enum.auto()
    INPATIENT = enum.auto()
    VOLUME_BASIS = enum.auto()
    VOLUME_AMOUNT = enum.auto()
    LENGTH_OF_STAY = enum.auto()
    SPLIT_BY_POPULATION = enum.auto()
    COST_BY_TYPE = enum.auto()
    PATIENT_COST0 = enum.auto()
    GOVERNMENT_COST0 = enum.auto()
    COPAYMENT_RATE = enum.auto()
    PATIENT_IMPORT_SHARE = enum.auto()
    GOVERNMENT_IMPORT_SHARE = enum.auto()
    PC_TARGET = enum.auto()
    PC_TARGET_IS_RATIO = enum.auto()
    PC_TARGET_DELAY = enum.auto()
    PC_TARGET_ARRIVAL = enum.auto()
    GC_TARGET = enum.auto()
    GC_TARGET_IS_RATIO = enum.auto()
    GC_TARGET_DELAY = enum.auto()
    GC_TARGET_ARRIVAL = enum.auto()
    COST_TOTAL = enum.auto()
    COST_GOVERNMENT_SHARE = enum.auto()
    SPLIT = enum.auto()
    RELATIVE_USE = enum.auto()
    RATE_TARGET = enum.auto()
    RATE_TARGET_IS_RATIO = enum.auto()
    RATE_TARGET_DELAY = enum.auto()
    RATE_TARGET_ARRIVAL = enum.auto()
    ADMIN_BASIS = enum.auto()
    ADMIN_VALUE = enum.auto()
    ADMIN_REAL_GROWTH = enum.auto()
    RESERVE_INITIAL = enum.auto()
    RESERVE_INTEREST = enum.auto()
    SUBSIDY_GOV_SHARE = enum.auto()
    SUBSIDY_GOV_AMOUNT = enum.auto()
    SUBSIDY_DONOR_SHARE = enum.auto()
    SUBSIDY_DONOR_AMOUNT = enum.auto()
    COVERAGE_RULE = enum.auto()
    COVERAGE_TARGET = enum.auto()
    COVERAGE_APPLIES = enum.auto()
    SERVICE_TIER = enum.auto()
    CASE_RATE = enum.auto()
    TIER_METHOD = enum.auto()
    CAPITATION_RATE = enum.auto()
    BONUS_SHARE = enum.auto()
    BONUS_ACHIEVEMENT = enum.auto()
    #: (extension) year index from which the amount is indexed to the projection's own
    #: domestic price index (Scenario.indexed_from; 0: not indexed)
    FLAT_PREMIUM_INDEXED_FROM = enum.auto()
    SUBSIDY_GOV_AMOUNT_INDEXED_FROM = enum.auto()
    SUBSIDY_DONOR_AMOUNT_INDEXED_FROM = enum.auto()


_Y, _C, _S = (YEAR,), (CATEGORY,), (SERVICE,)
INPUT_DIMS: dict[In, tuple[str, ...]] = {
    In.POPULATION0: (),
    In.ADMISSION_RATE: (),
    In.INSURED_LOADING: (),
    In.PPP: (),
    In.GROWTH_RATE: _Y,
    In.DEPENDANT_SHARE: _Y,
    In.DOMESTIC_INFLATION: _Y,
    In.EXTERNAL_INFLATION: _Y,
    In.EXCHANGE_RATE: _Y,
    In.REAL_DEPRECIATION: _Y,
    **{
        f: (YEAR, CATEGORY)
        for f in (
            In.ADULT_SHARE,
            In.INCOME_GROWTH,
            In.CONTRIBUTION_RATE,
            In.FLAT_PREMIUM,
            In.INSURED_SHARE,
            In.EXEMPT_SHARE,
            In.USER_FEE_EXEMPT_SHARE,
        )
    },
    In.INCOME0: _C,
    In.OUTPATIENT_COVER: _C,
    **{
        f: _S
        for f in (
            In.INPATIENT,
            In.VOLUME_BASIS,
            In.VOLUME_AMOUNT,
            In.LENGTH_OF_STAY,
            In.SPLIT_BY_POPULATION,
            In.COST_BY_TYPE,
            In.PATIENT_COST0,
            In.GOVERNMENT_COST0,
            In.COPAYMENT_RATE,
            In.PATIENT_IMPORT_SHARE,
            In.GOVERNMENT_IMPORT_SHARE,
            In.PC_TARGET,
            In.PC_TARGET_IS_RATIO,
            In.PC_TARGET_DELAY,
            In.PC_TARGET_ARRIVAL,
            In.GC_TARGET,
            In.GC_TARGET_IS_RATIO,
            In.GC_TARGET_DELAY,
            In.GC_TARGET_ARRIVAL,
        )
    },
    In.COST_TOTAL: (SERVICE, COST_TYPE),
    In.COST_GOVERNMENT_SHARE: (SERVICE, COST_TYPE),
    **{
        f: (CATEGORY, SERVICE)
        for f in (
            In.SPLIT,
            In.RELATIVE_USE,
            In.RATE_TARGET,
            In.RATE_TARGET_IS_RATIO,
            In.RATE_TARGET_DELAY,
            In.RATE_TARGET_ARRIVAL,
        )
    },
    In.ADMIN_BASIS: (ADMIN_ITEM,),
    In.ADMIN_VALUE: (ADMIN_ITEM,),
    In.ADMIN_REAL_GROWTH: (YEAR, ADMIN_ITEM),
    In.RESERVE_INITIAL: (),
    In.RESERVE_INTEREST: _Y,
    In.SUBSIDY_GOV_SHARE: (YEAR, CATEGORY),
    In.SUBSIDY_GOV_AMOUNT: (YEAR, CATEGORY),
    In.SUBSIDY_DONOR_SHARE: (YEAR, CATEGORY),
    In.SUBSIDY_DONOR_AMOUNT: (YEAR, CATEGORY),
    In.COVERAGE_RULE: (),
    In.COVERAGE_TARGET: _Y,
    In.COVERAGE_APPLIES: _C,
    In.SERVICE_TIER: _S,
    In.CASE_RATE: _S,
    In.TIER_METHOD: (TIER,),
    In.CAPITATION_RATE: (YEAR, TIER),
    In.BONUS_SHARE: (YEAR, TIER),
    In.BONUS_ACHIEVEMENT: (YEAR, TIER),
    In.FLAT_PREMIUM_INDEXED_FROM: _C,
    In.SUBSIDY_GOV_AMOUNT_INDEXED_FROM: _C,
    In.SUBSIDY_DONOR_AMOUNT_INDEXED_FROM: _C,
}


class Out(enum.IntEnum):
    """Output fields of the kernel, in row order."""

    DOMESTIC_PRICE_INDEX = 0
    EXTERNAL_PRICE_INDEX = enum.auto()
    EXCHANGE_RATE = enum.auto()
    TOTAL_POPULATION = enum.auto()
    PATIENT_COST = enum.auto()
    GOVERNMENT_COST = enum.auto()
    TOTAL_COST_CONSTANT = enum.auto()
    HEALTH_CARE_PAYMENTS = enum.auto()
    ADMIN_EXPENDITURE = enum.auto()
    TOTAL_EXPENDITURE = enum.auto()
    PREMIUM_REVENUE = enum.auto()
    FLAT_PREMIUM_REVENUE = enum.auto()
    CONTRIBUTION_REVENUE = enum.auto()
    BALANCE = enum.auto()
    COPAYMENTS = enum.auto()
    USER_FEES = enum.auto()
    GOVERNMENT_FINANCING = enum.auto()
    RESERVE = enum.auto()
    PREMIUM_FROM_MEMBERS = enum.auto()
    PREMIUM_FROM_GOVERNMENT = enum.auto()
    PREMIUM_FROM_DONORS = enum.auto()
    PROVIDER_MARGIN = enum.auto()
    POPULATION = enum.auto()
    MEMBERS = enum.auto()
    EXEMPTED_MEMBERS = enum.auto()
    INCOME = enum.auto()
    PREMIUM = enum.auto()
    CATEGORY_REVENUE = enum.auto()
    SERVICES = enum.auto()
    UNIT_PATIENT_COST = enum.auto()
    UNIT_GOVERNMENT_COST = enum.auto()
    PAYMENTS_BY_TIER = enum.auto()
    PAYMENTS_BY_METHOD = enum.auto()


OUTPUT_DIMS: dict[Out, tuple[str, ...]] = {
    **{f: _Y for f in Out if f < Out.POPULATION},
    **{
        f: (YEAR, CATEGORY)
        for f in (
            Out.POPULATION,
            Out.MEMBERS,
            Out.EXEMPTED_MEMBERS,
            Out.INCOME,
            Out.PREMIUM,
            Out.CATEGORY_REVENUE,
        )
    },
    **{f: (YEAR, SERVICE) for f in (Out.SERVICES, Out.UNIT_PATIENT_COST, Out.UNIT_GOVERNMENT_COST)},
    Out.PAYMENTS_BY_TIER: (YEAR, TIER),
    Out.PAYMENTS_BY_METHOD: (YEAR, PAYMENT_METHOD),
}


@dataclass(frozen=True)
class Dims:
    """Sizes of the model's dimensions for one scenario."""

    n_years: int
    n_categories: int
    n_services: int
    n_admin: int
    n_tiers: int = 1

    def size(self, dim: str) -> int:
        """Return the length of dimension ``dim``."""
        return {
            YEAR: self.n_years,
            CATEGORY: self.n_categories,
            SERVICE: self.n_services,
            COST_TYPE: len(COST_TYPES),
            ADMIN_ITEM: self.n_admin,
            TIER: self.n_tiers,
            PAYMENT_METHOD: len(PAYMENT_METHODS),
        }[dim]

    def shape(self, dims: tuple[str, ...]) -> tuple[int, ...]:
        """Return the shape of a field with dimensions ``dims``."""
        return tuple(self.size(d) for d in dims)


def offsets(
    fields: dict[In, tuple[str, ...]] | dict[Out, tuple[str, ...]], dims: Dims
) -> np.ndarray:
    """Start of each field in the flat vector, plus the total length at the end.

    Parameters
    ----------
    fields : dict
        Field -> dimension names, in vector order.
    dims : Dims
        Sizes of the dimensions.

    Returns
    -------
    numpy.ndarray
        int64 array of length ``len(fields) + 1``.
    """
    sizes = [int(np.prod(dims.shape(d))) for d in fields.values()]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


@dataclass(frozen=True)
class ModelInputs:
    """A scenario as the kernel sees it: one flat vector and its layout.

    Attributes
    ----------
    vector : numpy.ndarray
        Every numeric input, float64.
    offsets : numpy.ndarray
        Start of each :class:`In` field in ``vector`` (length ``len(In) + 1``).
    dims : Dims
        Sizes of the dimensions.
    base_year : int
        The base year.
    """

    vector: np.ndarray
    offsets: np.ndarray
    dims: Dims
    base_year: int

    def field(self, f: In) -> np.ndarray:
        """Return a view of field ``f`` with its natural shape."""
        a, b = self.offsets[f], self.offsets[f + 1]
        return self.vector[a:b].reshape(self.dims.shape(INPUT_DIMS[f]))

    def index(self, f: In) -> np.ndarray:
        """Return the positions of field ``f`` in ``vector``, shaped like the field."""
        a, b = self.offsets[f], self.offsets[f + 1]
        return np.arange(a, b).reshape(self.dims.shape(INPUT_DIMS[f]))


def scenario_dims(scenario: Scenario) -> Dims:
    """Return the dimension sizes of ``scenario``."""
    return Dims(
        n_years=scenario.horizon + 1,
        n_categories=len(scenario.categories),
        n_services=len(scenario.services),
        n_admin=len(scenario.administration),
        n_tiers=len(scenario.tiers),
    )


def compile_inputs(scenario: Scenario) -> ModelInputs:
    """Lay a scenario's inputs out as the kernel's flat input vector.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.

    Returns
    -------
    ModelInputs
        The vector, its offsets and the dimension sizes.
    """
    dims = scenario_dims(scenario)
    off = offsets(INPUT_DIMS, dims)
    inputs = ModelInputs(np.zeros(int(off[-1])), off, dims, scenario.base_year)
    _fill(inputs, scenario)
    _fill_indexed_from(inputs, scenario)
    return inputs


def _set_target(
    inputs: ModelInputs, fields: tuple[In, In, In, In], idx: tuple[int, ...], t: Target | None
) -> None:
    value, is_ratio, delay, arrival = (inputs.field(f) for f in fields)
    if t is None:
        value[idx] = math.nan
        return
    value[idx], is_ratio[idx] = t.value, float(t.is_ratio)
    delay[idx], arrival[idx] = t.delay, t.arrival


def _fill(inputs: ModelInputs, sc: Scenario) -> None:
    f = inputs.field
    f(In.POPULATION0)[...] = sc.demography.population
    f(In.ADMISSION_RATE)[...] = sc.admission_rate if sc.admission_rate is not None else 0.0
    f(In.INSURED_LOADING)[...] = sc.insured_utilisation_loading
    f(In.PPP)[...] = float(sc.economy.purchasing_power_parity)
    f(In.GROWTH_RATE)[:] = sc.demography.growth_rate.array()
    f(In.DEPENDANT_SHARE)[:] = sc.demography.dependant_share.array()
    f(In.DOMESTIC_INFLATION)[:] = sc.economy.domestic_inflation.array()
    f(In.EXTERNAL_INFLATION)[:] = sc.economy.external_inflation.array()
    f(In.EXCHANGE_RATE)[:] = sc.economy.exchange_rate.array()
    if sc.economy.real_depreciation is not None:
        f(In.REAL_DEPRECIATION)[:] = sc.economy.real_depreciation.array()
    for c, cat in enumerate(sc.categories):
        if cat.adult_share is not None:
            f(In.ADULT_SHARE)[:, c] = cat.adult_share.array()
        f(In.INCOME_GROWTH)[:, c] = cat.income_growth.array()
        f(In.CONTRIBUTION_RATE)[:, c] = cat.contribution_rate.array()
        f(In.FLAT_PREMIUM)[:, c] = cat.flat_premium.array()
        f(In.INSURED_SHARE)[:, c] = cat.insured_share.array()
        f(In.EXEMPT_SHARE)[:, c] = cat.exempt_share.array()
        f(In.USER_FEE_EXEMPT_SHARE)[:, c] = cat.user_fee_exempt_share.array()
        f(In.INCOME0)[c] = cat.income
        f(In.OUTPATIENT_COVER)[c] = float(cat.outpatient_cover)
    f(In.RELATIVE_USE)[...] = 1.0
    f(In.RATE_TARGET)[...] = math.nan
    for s, svc in enumerate(sc.services):
        v = svc.volume
        f(In.INPATIENT)[s] = float(svc.level is Level.INPATIENT)
        f(In.VOLUME_BASIS)[s] = float(v.basis)
        f(In.VOLUME_AMOUNT)[s] = v.amount
        f(In.LENGTH_OF_STAY)[s] = v.length_of_stay
        f(In.SPLIT_BY_POPULATION)[s] = float(v.split is None)
        if v.split is not None:
            f(In.SPLIT)[:, s] = v.split
        if v.relative_use is not None:
            f(In.RELATIVE_USE)[:, s] = v.relative_use
        f(In.COST_BY_TYPE)[s] = float(svc.base_year_cost is not None)
        if svc.base_year_cost is not None:
            f(In.COST_TOTAL)[s, :] = [c.total for c in svc.base_year_cost]
            f(In.COST_GOVERNMENT_SHARE)[s, :] = [c.government_share for c in svc.base_year_cost]
        f(In.PATIENT_COST0)[s] = svc.patient_cost or 0.0
        f(In.GOVERNMENT_COST0)[s] = svc.government_cost or 0.0
        f(In.COPAYMENT_RATE)[s] = svc.copayment_rate
        f(In.PATIENT_IMPORT_SHARE)[s] = svc.patient_import_share
        f(In.GOVERNMENT_IMPORT_SHARE)[s] = svc.government_import_share
        pc = (In.PC_TARGET, In.PC_TARGET_IS_RATIO, In.PC_TARGET_DELAY, In.PC_TARGET_ARRIVAL)
        gc = (In.GC_TARGET, In.GC_TARGET_IS_RATIO, In.GC_TARGET_DELAY, In.GC_TARGET_ARRIVAL)
        _set_target(inputs, pc, (s,), svc.patient_cost_target)
        _set_target(inputs, gc, (s,), svc.government_cost_target)
    cats, svcs = sc.category_names, sc.service_names
    rate = (In.RATE_TARGET, In.RATE_TARGET_IS_RATIO, In.RATE_TARGET_DELAY, In.RATE_TARGET_ARRIVAL)
    for rt in sc.rate_targets:  # a later target for the same category and service wins
        for cname in rt.categories:
            _set_target(inputs, rate, (cats.index(cname), svcs.index(rt.service)), rt.target)
    for a, item in enumerate(sc.administration):
        f(In.ADMIN_BASIS)[a] = float(item.basis)
        f(In.ADMIN_VALUE)[a] = item.value
        f(In.ADMIN_REAL_GROWTH)[:, a] = item.real_growth.array()
    if sc.reserve is not None:
        f(In.RESERVE_INITIAL)[...] = sc.reserve.initial
        f(In.RESERVE_INTEREST)[:] = sc.reserve.interest_rate.array()
    _fill_levers(inputs, sc)


def _fill_levers(inputs: ModelInputs, sc: Scenario) -> None:
    """(extension) Premium subsidies, coverage targets and provider payment methods (issue 6)."""
    f = inputs.field
    for c, cat in enumerate(sc.categories):
        for sub in cat.subsidies:
            gov = sub.payer is Payer.GOVERNMENT
            f(In.SUBSIDY_GOV_SHARE if gov else In.SUBSIDY_DONOR_SHARE)[:, c] = sub.share.array()
            f(In.SUBSIDY_GOV_AMOUNT if gov else In.SUBSIDY_DONOR_AMOUNT)[:, c] = sub.amount.array()
    ct = sc.coverage_target
    if ct is not None:
        f(In.COVERAGE_RULE)[...] = float(ct.rule)
        f(In.COVERAGE_TARGET)[:] = ct.population_share.array()
        f(In.COVERAGE_APPLIES)[:] = [float(c.name in ct.categories) for c in sc.categories]
    tiers = sc.tiers
    for s, svc in enumerate(sc.services):
        f(In.SERVICE_TIER)[s] = float(tiers.index(svc.tier))
        f(In.CASE_RATE)[s] = svc.case_rate if svc.case_rate is not None else 0.0
    f(In.BONUS_ACHIEVEMENT)[...] = 1.0
    for tp in sc.provider_payment:
        k = tiers.index(tp.tier)
        f(In.TIER_METHOD)[k] = float(tp.method)
        f(In.CAPITATION_RATE)[:, k] = tp.capitation.array()
        f(In.BONUS_SHARE)[:, k] = tp.bonus_share.array()
        f(In.BONUS_ACHIEVEMENT)[:, k] = tp.bonus_achievement.array()


def _indexed_from(sc: Scenario, path: YearPath) -> float:
    """The year the kernel indexes ``path`` from (0: not indexed); see Scenario.with_horizon."""
    follows_its_own_rule = path.linear is not None or bool(path.milestones)
    return 0.0 if follows_its_own_rule else float(sc.indexed_from)


def _fill_indexed_from(inputs: ModelInputs, sc: Scenario) -> None:
    """(extension) Amounts in current prices indexed past the scenario's own years (issue 11)."""
    if sc.indexed_from == 0:
        return
    f = inputs.field
    for c, cat in enumerate(sc.categories):
        f(In.FLAT_PREMIUM_INDEXED_FROM)[c] = _indexed_from(sc, cat.flat_premium)
        for sub in cat.subsidies:
            gov = sub.payer is Payer.GOVERNMENT
            field = (
                In.SUBSIDY_GOV_AMOUNT_INDEXED_FROM if gov else In.SUBSIDY_DONOR_AMOUNT_INDEXED_FROM
            )
            f(field)[c] = _indexed_from(sc, sub.amount)


__all__ = [
    "INPUT_DIMS",
    "OUTPUT_DIMS",
    "Dims",
    "In",
    "ModelInputs",
    "Out",
    "VolumeBasis",
    "compile_inputs",
    "offsets",
    "scenario_dims",
]
