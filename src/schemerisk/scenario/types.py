"""Frozen, typed scenario objects: what a scenario file becomes once it is validated.

Generated from catalogue.py by ``python -m schemerisk.codegen``; do not edit. Every block of the
model's input sheet (Carrin, Ron & Murray 1993, Sheet A; ``shared/spec/MODEL.md``
section 2) has a class here, one field per input of :mod:`schemerisk.catalogue`
(its ``attr``); the methods and the per-year path type are hand-written in
:mod:`schemerisk.scenario.base`. Nothing downstream sees the raw YAML: the parser in
:mod:`schemerisk.scenario.parse` builds these and rejects anything it does not
understand.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemerisk.scenario.base import (
    AMOUNT_RULES,
    COST_TYPES,
    DEPENDANTS,
    FARMERS,
    AdminBasis,
    CategoryMethods,
    CoverageRule,
    Level,
    LinearPath,
    Payer,
    PaymentMethod,
    ScenarioMethods,
    VolumeBasis,
    YearPath,
)


@dataclass(frozen=True, kw_only=True)
class Scenario(ScenarioMethods):
    """A complete, validated scenario: every input of one projection.

    Build one with :func:`schemerisk.load_scenario`.
    """

    #: short name (the file's name when the file gives none)
    name: str
    #: Title shown on reports [text]
    title: str
    #: Currency of every amount (e.g. VND) [text]
    currency: str
    #: First year of the projection (year 0) [year]
    base_year: int
    #: Years projected after the base year [years]
    horizon: int
    #: Sources and assumptions, one text or a list [text]
    notes: tuple[str, ...] = ()
    demography: Demography
    economy: Economy
    categories: tuple[Category, ...]
    services: tuple[Service, ...]
    #: Hospital admissions per person per year, for services given per_admission [admissions per
    #: person-year]
    admission_rate: float | None
    #: Multiplier on the use of services by the insured [multiplier]
    insured_utilisation_loading: float
    rate_targets: tuple[RateTarget, ...]
    administration: tuple[AdminItem, ...]
    #: (extension) reserve fund; None = no reserve (the paper)
    reserve: Reserve | None = None
    coverage_target: CoverageTarget | None = None
    provider_payment: tuple[TierPayment, ...] = ()
    #: where it was read from
    source: str = "<memory>"
    #: SHA-256 of the file's text
    sha256: str = ""
    #: (extension) per-case payment by service
    case_rates: tuple[float, ...] = ()
    #: how years past the scenario's own were filled (see :meth:`with_horizon`); "" for none
    extension: str = ""
    #: year index from which amounts in current prices are indexed to each projection's own domestic
    #: price index (the first year past the scenario's own under ``amounts="real"``); 0 for none
    #: (see :meth:`with_horizon`)
    indexed_from: int = 0


@dataclass(frozen=True, kw_only=True)
class Demography:
    """Demography block (MODEL.md 2.1)."""

    #: Population in the base year (P0) [persons]
    population: float
    #: Annual population growth (g_t); the base year's value is not used [per year]
    growth_rate: YearPath
    #: Share of dependants (children) in the population (d_t) [share]
    dependant_share: YearPath


@dataclass(frozen=True, kw_only=True)
class Economy:
    """Economy block (MODEL.md 2.2)."""

    #: Annual domestic inflation (dp_t); the base year's value is not used [per year]
    domestic_inflation: YearPath
    #: Annual inflation of imports in US$ terms (ep_t); the base year's value is not used [per year]
    external_inflation: YearPath
    #: Local currency per US$ (EXR_t); under parity only the base year's [LCU per US$]
    exchange_rate: YearPath
    #: Whether the exchange rate follows the inflation differential (the PPP switch) [choice]
    purchasing_power_parity: bool
    #: (extension) Annual departure from parity; needs purchasing_power_parity [per year]
    real_depreciation: YearPath | None = None


@dataclass(frozen=True, kw_only=True)
class Category(CategoryMethods):
    """A population category (MODEL.md 2.3-2.4)."""

    #: its key in the file
    name: str
    #: Name of the category on reports [text]
    label: str
    #: Share of the adult population in this category (s_kt); None for dependants [share]
    adult_share: YearPath | None
    #: Average annual income in the base year (INC_k0) [LCU per year]
    income: float
    #: Annual nominal income growth (ig_kt) [per year]
    income_growth: YearPath
    #: Contribution as a share of income (hicr_kt) [share]
    contribution_rate: YearPath
    #: Flat premium per person per year, current prices (PRF_t, PRDP_t) [LCU per year]
    flat_premium: YearPath
    #: Share of the category insured (m_it) [share]
    insured_share: YearPath
    #: Whether the contract covers outpatient care (inpatient care always is) [choice]
    outpatient_cover: bool
    #: Share of the insured exempted from contributions and co-payments (e_it) [share]
    exempt_share: YearPath
    #: (extension) Share of the uninsured whose user fees the state pays [share]
    user_fee_exempt_share: YearPath
    subsidies: tuple[PremiumSubsidy, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PremiumSubsidy:
    """(extension) Part of the premium of a category paid by the state or a donor (issue 6).

    Per paying member and year the payer pays ``min(premium, share x premium + amount)``;
    unlike an exemption, the premium is still paid in full, by someone else.
    """

    #: who pays
    payer: Payer
    #: share of the premium paid [share]
    share: YearPath
    #: fixed amount per member paid, current prices [LCU per year]
    amount: YearPath


@dataclass(frozen=True, kw_only=True)
class Service:
    """A health service (MODEL.md 1, 2.5-2.7)."""

    #: its key in the file
    name: str
    #: Name of the service on reports [text]
    label: str
    #: Level of care: inpatient or outpatient [choice]
    level: Level
    #: Facility tier (e.g. province, district, commune); groups payments by tier [text]
    tier: str
    #: What one service is (admission, day, visit) [text]
    unit: str
    volume: Volume
    #: Base-year patient cost per service (pc_j0); or give base_year_cost [LCU]
    patient_cost: float | None
    #: Base-year government cost per service (gc_j0) [LCU]
    government_cost: float | None
    #: the four cost types, COST_TYPES order; None when the file gives patient_cost and
    #: government_cost
    base_year_cost: tuple[CostComponent, ...] | None
    #: Share of imported inputs in the patient cost (a_j) [share]
    patient_import_share: float
    #: Share of imported inputs in the government cost (b_j) [share]
    government_import_share: float
    patient_cost_target: Target | None
    government_cost_target: Target | None
    #: Share of the patient cost an insured, non-exempted patient pays (cop_j) [share]
    copayment_rate: float
    #: (extension) Payment per case, base-year prices, for a tier paid per case [LCU]
    case_rate: float | None = None


@dataclass(frozen=True, kw_only=True)
class Volume:
    """How the base-year volume of a service is given (MODEL.md 2.6)."""

    #: which of the file's forms gives the volume
    basis: VolumeBasis
    #: the count, the rate per person, or the share of admissions (see ``basis``)
    amount: float
    #: Days (or services) per admission, with per_admission [services per admission]
    length_of_stay: float = 1.0
    #: share of the count by category; None: split by population
    split: tuple[float, ...] | None = None
    #: use relative to the average, by category; None: the average
    relative_use: tuple[float, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class CostComponent:
    """Base-year cost of one cost type for a service (MODEL.md 2.6)."""

    #: Base-year total cost of the service by cost type (COST_jc) [LCU per year]
    total: float
    #: Government's share of the cost type (gs_jc) [share]
    government_share: float


@dataclass(frozen=True, kw_only=True)
class Target:
    """A target for a unit cost or a service rate (MODEL.md 2.7-2.8, Annex I.1)."""

    #: the target (absolute), or a multiplier on the base value when ``is_ratio``
    value: float
    #: Years after the base year before the move starts [years]
    delay: int
    #: Year the target is reached [year]
    arrival: int
    #: whether ``value`` is a multiplier on the base value
    is_ratio: bool


@dataclass(frozen=True, kw_only=True)
class RateTarget:
    """A target service rate for some categories (MODEL.md 2.8)."""

    #: The service whose rate moves to a target [text]
    service: str
    #: The categories whose rate moves (every category when absent) [names]
    categories: tuple[str, ...]
    target: Target


@dataclass(frozen=True, kw_only=True)
class AdminItem:
    """An administrative expenditure item (MODEL.md 2.9)."""

    #: its key in the file
    name: str
    #: the amount, the share of payments or the amount per member (see ``basis``)
    value: float
    #: how the item is set
    basis: AdminBasis
    #: Annual real growth of the constant-price amount [per year]
    real_growth: YearPath


@dataclass(frozen=True, kw_only=True)
class Reserve:
    """(extension) A reserve fund carried from year to year (UNCERTAINTY.md section 4).

    ``R_t = R_{t-1} (1 + i_t) + B_t`` with ``R_{-1}`` the initial reserve.
    """

    #: (extension) Reserve at the start of the base year (negative for a debt) [LCU]
    initial: float
    #: (extension) Nominal interest earned on the reserve [per year]
    interest_rate: YearPath


@dataclass(frozen=True, kw_only=True)
class CoverageTarget:
    """(extension) A target share of the whole population insured, by year (issue 6)."""

    #: (extension) Target share of the whole population insured [share]
    population_share: YearPath
    #: (extension) How the target is spread over categories [choice]
    rule: CoverageRule
    #: (extension) Categories whose insured shares move to meet the target [names]
    categories: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class TierPayment:
    """(extension) The payment method of one facility tier, and an optional performance bonus."""

    #: the facility tier
    tier: str
    #: (extension) How the tier's providers are paid [choice]
    method: PaymentMethod
    #: (extension) Amount per insured member per year, base-year prices [LCU per year]
    capitation: YearPath
    #: (extension) Bonus as a share of payments to the tier [share]
    bonus_share: YearPath
    #: (extension) Share of the tier's facilities meeting their targets [share]
    bonus_achievement: YearPath


__all__ = [
    "AMOUNT_RULES",
    "COST_TYPES",
    "DEPENDANTS",
    "FARMERS",
    "AdminBasis",
    "AdminItem",
    "Category",
    "CategoryMethods",
    "CostComponent",
    "CoverageRule",
    "CoverageTarget",
    "Demography",
    "Economy",
    "Level",
    "LinearPath",
    "Payer",
    "PaymentMethod",
    "PremiumSubsidy",
    "RateTarget",
    "Reserve",
    "Scenario",
    "ScenarioMethods",
    "Service",
    "Target",
    "TierPayment",
    "Volume",
    "VolumeBasis",
    "YearPath",
]
