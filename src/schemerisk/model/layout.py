"""The flat layout of the kernel's inputs and outputs.

The kernel reads every numeric input of a projection from one float64 vector
and writes every result into one float64 row per draw. This module names the
fields of both, gives their shapes, and turns a :class:`Scenario` into the
input vector. Addressing every input by position is what lets the uncertainty
layer change any input of any draw without copying the rest.

The input fields are the kernel's compiled contract: :class:`In` is written
into this file from the catalogue's ``LAYOUT`` (:mod:`schemerisk.catalogue`) by
``python -m schemerisk.codegen``, as code, so that numba and mypy see its
members. Each field's dimensions come from the catalogue too: the entry whose
``field`` it is, or :data:`~schemerisk.catalogue.DERIVED_FIELDS` for a field
that records which form a file used.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from schemerisk.catalogue import (
    ADMIN_ITEM,
    CATALOGUE,
    CATEGORY,
    COST_TYPE,
    DERIVED_FIELDS,
    SERVICE,
    TIER,
    YEAR,
    Entry,
    Read,
)
from schemerisk.scenario.types import (
    COST_TYPES,
    Level,
    Payer,
    Scenario,
    Target,
    VolumeBasis,
    YearPath,
)

PAYMENT_METHOD = "payment_method"
#: the ways the scheme's health care payments are made, in the order of the payment_method dimension
PAYMENT_METHODS = ("fee_for_service", "capitation", "per_case", "performance_bonus")


# --- generated from catalogue.py by `python -m schemerisk.codegen`: do not edit from here ---
class In(enum.IntEnum):
    """Input fields of the kernel, in vector order (the catalogue's ``LAYOUT``)."""

    #: demography.population
    POPULATION0 = 0
    #: admission_rate
    ADMISSION_RATE = 1
    #: insured_utilisation_loading
    INSURED_LOADING = 2
    #: economy.exchange_rate.purchasing_power_parity
    PPP = 3
    #: demography.growth_rate
    GROWTH_RATE = 4
    #: demography.dependant_share
    DEPENDANT_SHARE = 5
    #: economy.domestic_inflation
    DOMESTIC_INFLATION = 6
    #: economy.external_inflation
    EXTERNAL_INFLATION = 7
    #: economy.exchange_rate.rate
    EXCHANGE_RATE = 8
    #: economy.exchange_rate.real_depreciation
    REAL_DEPRECIATION = 9
    #: categories.*.adult_share
    ADULT_SHARE = 10
    #: categories.*.income_growth
    INCOME_GROWTH = 11
    #: categories.*.contribution_rate
    CONTRIBUTION_RATE = 12
    #: categories.*.flat_premium
    FLAT_PREMIUM = 13
    #: categories.*.insured_share
    INSURED_SHARE = 14
    #: categories.*.exempt_share
    EXEMPT_SHARE = 15
    #: categories.*.user_fee_exempt_share
    USER_FEE_EXEMPT_SHARE = 16
    #: categories.*.income
    INCOME0 = 17
    #: categories.*.outpatient_cover
    OUTPATIENT_COVER = 18
    #: services.*.level
    INPATIENT = 19
    #: which of count, rate_per_person, per_admission gives the volume
    VOLUME_BASIS = 20
    #: services.*.volume.count, services.*.volume.rate_per_person, services.*.volume.per_admission
    VOLUME_AMOUNT = 21
    #: services.*.volume.length_of_stay
    LENGTH_OF_STAY = 22
    #: whether the count is split by population (no split given)
    SPLIT_BY_POPULATION = 23
    #: whether costs are given by cost type (base_year_cost)
    COST_BY_TYPE = 24
    #: services.*.patient_cost
    PATIENT_COST0 = 25
    #: services.*.government_cost
    GOVERNMENT_COST0 = 26
    #: services.*.copayment_rate
    COPAYMENT_RATE = 27
    #: services.*.patient_import_share
    PATIENT_IMPORT_SHARE = 28
    #: services.*.government_import_share
    GOVERNMENT_IMPORT_SHARE = 29
    #: services.*.patient_cost_target.target, services.*.patient_cost_target.ratio
    PC_TARGET = 30
    #: whether the patient cost target is a ratio
    PC_TARGET_IS_RATIO = 31
    #: services.*.patient_cost_target.delay
    PC_TARGET_DELAY = 32
    #: services.*.patient_cost_target.arrival
    PC_TARGET_ARRIVAL = 33
    #: services.*.government_cost_target.target, services.*.government_cost_target.ratio
    GC_TARGET = 34
    #: whether the government cost target is a ratio
    GC_TARGET_IS_RATIO = 35
    #: services.*.government_cost_target.delay
    GC_TARGET_DELAY = 36
    #: services.*.government_cost_target.arrival
    GC_TARGET_ARRIVAL = 37
    #: services.*.base_year_cost.*.total
    COST_TOTAL = 38
    #: services.*.base_year_cost.*.government_share
    COST_GOVERNMENT_SHARE = 39
    #: services.*.volume.split
    SPLIT = 40
    #: services.*.volume.relative_use
    RELATIVE_USE = 41
    #: service_rate_targets.*.target, service_rate_targets.*.ratio
    RATE_TARGET = 42
    #: whether the service rate target is a ratio
    RATE_TARGET_IS_RATIO = 43
    #: service_rate_targets.*.delay
    RATE_TARGET_DELAY = 44
    #: service_rate_targets.*.arrival
    RATE_TARGET_ARRIVAL = 45
    #: which of amount, share_of_payments (every_year), per_member
    ADMIN_BASIS = 46
    #: administration.*.amount, administration.*.share_of_payments, administration.*.per_member
    ADMIN_VALUE = 47
    #: administration.*.real_growth
    ADMIN_REAL_GROWTH = 48
    #: reserve.initial
    RESERVE_INITIAL = 49
    #: reserve.interest_rate
    RESERVE_INTEREST = 50
    #: categories.*.premium_subsidy.government.share
    SUBSIDY_GOV_SHARE = 51
    #: categories.*.premium_subsidy.government.amount
    SUBSIDY_GOV_AMOUNT = 52
    #: categories.*.premium_subsidy.donor.share
    SUBSIDY_DONOR_SHARE = 53
    #: categories.*.premium_subsidy.donor.amount
    SUBSIDY_DONOR_AMOUNT = 54
    #: coverage_target.rule
    COVERAGE_RULE = 55
    #: coverage_target.population_share
    COVERAGE_TARGET = 56
    #: coverage_target.categories
    COVERAGE_APPLIES = 57
    #: services.*.tier
    SERVICE_TIER = 58
    #: services.*.case_rate
    CASE_RATE = 59
    #: provider_payment.*.method
    TIER_METHOD = 60
    #: provider_payment.*.capitation
    CAPITATION_RATE = 61
    #: provider_payment.*.performance_bonus.share
    BONUS_SHARE = 62
    #: provider_payment.*.performance_bonus.achievement
    BONUS_ACHIEVEMENT = 63
    #: year from which the flat premium follows the projection's own prices (extended horizon)
    FLAT_PREMIUM_INDEXED_FROM = 64
    #: year from which the government subsidy amount follows the projection's own prices
    SUBSIDY_GOV_AMOUNT_INDEXED_FROM = 65
    #: year from which the donor subsidy amount follows the projection's own prices
    SUBSIDY_DONOR_AMOUNT_INDEXED_FROM = 66


# --- end of generated code ---


def _input_dims() -> dict[In, tuple[str, ...]]:
    """The dimensions of each input field, from the catalogue, in vector order."""
    dims = {name: d for name, (d, _) in DERIVED_FIELDS.items()}
    for e in CATALOGUE:
        if e.field is not None and dims.setdefault(e.field, e.dims) != e.dims:
            raise TypeError(
                f"catalogue: {e.key} fills In.{e.field} with dims {e.dims}, another entry with "
                f"{dims[e.field]}"
            )
    missing = [f.name for f in In if f.name not in dims]
    if missing:
        raise TypeError(
            f"In.{', In.'.join(missing)}: no catalogue entry fills it and DERIVED_FIELDS does "
            "not declare it; declare its dims in schemerisk/catalogue.py"
        )
    return {f: dims[f.name] for f in In}


INPUT_DIMS: dict[In, tuple[str, ...]] = _input_dims()


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


_Y = (YEAR,)
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


#: the tuples of the typed scenario whose items are the positions along a dimension
_ITEMS_ALONG = {
    "categories": CATEGORY,
    "services": SERVICE,
    "administration": ADMIN_ITEM,
    "base_year_cost": COST_TYPE,
}


def _values_at(obj: Any, attr: tuple[str, ...], idx: tuple[int, ...] = ()) -> Iterator[Any]:
    """``(index, value)`` for each item an attribute path with ``*`` reaches; None parts end it."""
    if obj is None:
        return
    if not attr:
        yield idx, obj
        return
    head, rest = attr[0], attr[1:]
    if head == "*":
        for i, item in enumerate(obj):
            yield from _values_at(item, rest, (*idx, i))
    else:
        yield from _values_at(getattr(obj, head), rest, idx)


#: the dimension a value itself runs along, by how a file writes it: a per-year path's years,
#: one number per category's categories
_OWN_AXIS = {Read.PATH: YEAR, Read.PER_CATEGORY: CATEGORY}


def _plain(e: Entry) -> bool:
    """Whether the catalogue entry's value goes into its field as it is, at the position its
    items give: every ``*`` of its attribute path runs along one of its dims, in order, after
    the axis the value itself runs along (a path's years, a per-category value's categories)."""
    if e.field is None:
        return False
    parts = e.attr.split(".")
    along = [_ITEMS_ALONG.get(parts[i - 1]) for i, p in enumerate(parts) if p == "*"]
    own = e.dims[:1] if e.dims[:1] == (_OWN_AXIS.get(e.read),) else ()
    return along == list(e.dims[len(own) :])


#: the entries :func:`_fill` copies as they are (numbers, switches, per-year paths and
#: per-category values)
PLAIN_ENTRIES: tuple[Entry, ...] = tuple(e for e in CATALOGUE if _plain(e))


def _fill(inputs: ModelInputs, sc: Scenario) -> None:
    f = inputs.field
    # fields whose absence is not 0: no target, the average use, every facility meeting its target
    for absent_is_nan in (In.PC_TARGET, In.GC_TARGET, In.RATE_TARGET):
        f(absent_is_nan)[...] = math.nan
    f(In.RELATIVE_USE)[...] = 1.0
    f(In.BONUS_ACHIEVEMENT)[...] = 1.0
    for e in PLAIN_ENTRIES:  # numbers, switches, paths and per-category values
        assert e.field is not None
        field = f(In[e.field])
        for idx, value in _values_at(sc, tuple(e.attr.split("."))):
            if isinstance(value, YearPath):
                field[(slice(None), *idx)] = value.array()
            elif isinstance(value, tuple):  # one number per category
                field[(slice(None), *idx)] = value
            elif isinstance(value, bool | int | float):
                field[idx] = float(value)
            # anything else is the form a file used, a choice or a name: filled below
    # what a file's form, choices and names become: codes, switches and cells
    for s, svc in enumerate(sc.services):
        v = svc.volume
        f(In.INPATIENT)[s] = float(svc.level is Level.INPATIENT)
        f(In.VOLUME_BASIS)[s] = float(v.basis)
        f(In.SPLIT_BY_POPULATION)[s] = float(v.split is None)
        f(In.COST_BY_TYPE)[s] = float(svc.base_year_cost is not None)
        for flag, tgt in (
            (In.PC_TARGET_IS_RATIO, svc.patient_cost_target),
            (In.GC_TARGET_IS_RATIO, svc.government_cost_target),
        ):
            if tgt is not None:
                f(flag)[s] = float(tgt.is_ratio)
    cats, svcs = sc.category_names, sc.service_names
    rate = (In.RATE_TARGET, In.RATE_TARGET_IS_RATIO, In.RATE_TARGET_DELAY, In.RATE_TARGET_ARRIVAL)
    for rt in sc.rate_targets:  # a later target for the same category and service wins
        for cname in rt.categories:
            _set_target(inputs, rate, (cats.index(cname), svcs.index(rt.service)), rt.target)
    for a, item in enumerate(sc.administration):
        f(In.ADMIN_BASIS)[a] = float(item.basis)
    _fill_levers(inputs, sc)


def _fill_levers(inputs: ModelInputs, sc: Scenario) -> None:
    """(extension) Premium subsidies by payer, coverage categories and payment by tier (issue 6)."""
    f = inputs.field
    for c, cat in enumerate(sc.categories):
        for sub in cat.subsidies:
            gov = sub.payer is Payer.GOVERNMENT
            f(In.SUBSIDY_GOV_SHARE if gov else In.SUBSIDY_DONOR_SHARE)[:, c] = sub.share.array()
            f(In.SUBSIDY_GOV_AMOUNT if gov else In.SUBSIDY_DONOR_AMOUNT)[:, c] = sub.amount.array()
    ct = sc.coverage_target
    if ct is not None:
        f(In.COVERAGE_APPLIES)[:] = [float(c.name in ct.categories) for c in sc.categories]
    tiers = sc.tiers
    for s, svc in enumerate(sc.services):
        f(In.SERVICE_TIER)[s] = float(tiers.index(svc.tier))
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
