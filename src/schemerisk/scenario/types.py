"""Frozen, typed scenario objects: what a scenario file becomes once it is validated.

Every block of the model's input sheet (Carrin, Ron & Murray 1993, Sheet A;
``shared/spec/MODEL.md`` section 2) has a class here. Nothing downstream sees
the raw YAML: the parser in :mod:`schemerisk.scenario.parse` builds these and
rejects anything it does not understand.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

import numpy as np

from schemerisk.catalogue import COST_TYPES as COST_TYPES
from schemerisk.catalogue import DEPENDANTS as DEPENDANTS
from schemerisk.catalogue import FARMERS as FARMERS
from schemerisk.equations import grown, indexed_amount, value_on_target_path


class Level(enum.Enum):
    """Level of care of a health service."""

    INPATIENT = "inpatient"
    OUTPATIENT = "outpatient"


class VolumeBasis(enum.IntEnum):
    """How a service's base-year volume is given (kernel code in brackets)."""

    COUNT = 0  #: number of services in the base year, split over categories
    RATE_PER_PERSON = 1  #: services per person per year
    PER_ADMISSION = 2  #: admission rate x share of admissions x length of stay


class AdminBasis(enum.IntEnum):
    """How an administrative expenditure item is set (kernel code in brackets)."""

    AMOUNT = 0  #: base-year amount, then real growth
    SHARE_OF_PAYMENTS = 1  #: base-year share of health care payments, then real growth
    SHARE_OF_PAYMENTS_EVERY_YEAR = 2  #: share of health care payments, every year
    PER_MEMBER = 3  #: amount per member (base-year prices), real growth on the rate


@dataclass(frozen=True)
class LinearPath:
    """A per-year path written as a move from a base value to a target.

    Follows Carrin, Ron & Murray (1993), Annex I.1: constant up to and including
    ``base_year + delay``, equal steps to ``target`` in the arrival year.
    """

    base: float
    target: float
    arrival: int
    delay: int = 0


#: how amounts in current prices go on past a scenario's last year (:meth:`Scenario.with_horizon`)
AMOUNT_RULES: tuple[str, ...] = ("real", "nominal")


@dataclass(frozen=True)
class YearPath:
    """A per-year input: one value for each year t = 0..T.

    Attributes
    ----------
    values : tuple of float
        One value per year, base year first.
    linear : LinearPath or None
        The source form when the path was written as a move to a target.
    given_values : bool
        True when the file listed the values year by year.
    """

    values: tuple[float, ...]
    linear: LinearPath | None = None
    given_values: bool = False
    milestones: tuple[tuple[int, float], ...] | None = None

    @classmethod
    def constant(cls, value: float, n_years: int) -> YearPath:
        """Return a path holding ``value`` in each of ``n_years`` years."""
        return cls(tuple(float(value) for _ in range(n_years)))

    @classmethod
    def from_linear(cls, linear: LinearPath, base_year: int, n_years: int) -> YearPath:
        """Expand a move to a target (Annex I.1) into yearly values."""
        start = base_year + linear.delay
        values = tuple(
            float(
                value_on_target_path(
                    linear.base, linear.target, base_year + t, start, linear.arrival
                )
            )
            for t in range(n_years)
        )
        return cls(values, linear=linear)

    @classmethod
    def from_milestones(
        cls, base: float, milestones: tuple[tuple[int, float], ...], base_year: int, n_years: int
    ) -> YearPath:
        """(extension) A path through targets by year: straight lines from the base-year
        value to each target in turn, then constant after the last (e.g. 95 % insured by
        2025 and 98 % by 2030)."""
        years = np.array([base_year, *[y for y, _ in milestones]], dtype=float)
        vals = np.array([base, *[v for _, v in milestones]], dtype=float)
        grid = base_year + np.arange(n_years, dtype=float)
        return cls(
            tuple(float(v) for v in np.interp(grid, years, vals)),
            milestones=((base_year, base), *milestones),
        )

    def array(self) -> np.ndarray:
        """Return the values as a float64 array of length T + 1."""
        return np.asarray(self.values, dtype=np.float64)

    def extended(self, base_year: int, n_years: int) -> YearPath:
        """Return the path over a longer (or shorter) horizon.

        A path written as a target is recomputed; a constant or a list of
        values holds its last value in the added years.
        """
        if self.linear is not None:
            return YearPath.from_linear(self.linear, base_year, n_years)
        if self.milestones is not None:
            (_, base), *rest = self.milestones
            return YearPath.from_milestones(base, tuple(rest), base_year, n_years)
        vals = list(self.values[:n_years])
        vals += [self.values[-1]] * (n_years - len(vals))
        return YearPath(tuple(vals), given_values=self.given_values)


@dataclass(frozen=True)
class Demography:
    """Demography block (MODEL.md 2.1)."""

    population: float  #: base-year population P0 [persons]
    growth_rate: YearPath  #: annual population growth g_t [1/yr]; year 0 unused
    dependant_share: YearPath  #: share of dependants in the population d_t [-]


@dataclass(frozen=True)
class Economy:
    """Economy block (MODEL.md 2.2)."""

    domestic_inflation: YearPath  #: dp_t [1/yr]; year 0 unused
    external_inflation: YearPath  #: ep_t, in US$ terms [1/yr]; year 0 unused
    exchange_rate: YearPath  #: EXR_t [LCU/US$]; only year 0 used under PPP
    purchasing_power_parity: bool  #: the paper's PPP switch
    real_depreciation: YearPath | None = None  #: (extension) departure from PPP each year [1/yr]


class Payer(enum.Enum):
    """Who pays (part of) a member's premium besides the member."""

    GOVERNMENT = "government"
    DONOR = "donor"


@dataclass(frozen=True)
class PremiumSubsidy:
    """(extension) Part of the premium of a category paid by the state or a donor (issue 6).

    Per paying member and year the payer pays ``min(premium, share x premium + amount)``;
    unlike an exemption, the premium is still paid in full, by someone else.
    """

    payer: Payer
    share: YearPath  #: share of the premium paid [-]
    amount: YearPath  #: fixed amount per member paid [LCU/yr, current prices]


class PaymentMethod(enum.IntEnum):
    """How the scheme pays providers of a facility tier (paper section 2.2.4); kernel code in brackets."""

    FEE_FOR_SERVICE = 0  #: the paper's: the patient cost of each service, less co-payments
    CAPITATION = 1  #: an amount per insured member per year, whatever the use
    PER_CASE = 2  #: a flat amount per case, by service type


@dataclass(frozen=True)
class TierPayment:
    """(extension) The payment method of one facility tier, and an optional performance bonus."""

    tier: str
    method: PaymentMethod
    capitation: YearPath  #: per insured member per year, base-year prices [LCU]
    bonus_share: YearPath  #: bonus as a share of payments to the tier [-]
    bonus_achievement: YearPath  #: share of the tier's facilities meeting their targets [-]


class CoverageRule(enum.IntEnum):
    """How a whole-population coverage target is spread over categories (kernel code in brackets)."""

    NONE = 0
    CLOSE_GAP_EVENLY = 1  #: every category's uninsured share shrinks by the same proportion
    SAME_SHARE = 2  #: every category is insured at the target share


@dataclass(frozen=True)
class CoverageTarget:
    """(extension) A target share of the whole population insured, by year (issue 6)."""

    population_share: YearPath  #: share of the population insured [-]
    rule: CoverageRule
    categories: tuple[str, ...]  #: categories whose insured shares move to meet it


@dataclass(frozen=True)
class Category:
    """A population category (MODEL.md 2.3-2.4)."""

    name: str
    label: str
    adult_share: YearPath | None  #: s_kt, share of the adult population; None for dependants
    income: float  #: INC_k0, base-year average income [LCU/yr]
    income_growth: YearPath  #: ig_kt, nominal income growth [1/yr]
    contribution_rate: YearPath  #: hicr_kt, share of income [-]
    flat_premium: YearPath  #: PRF_t / PRDP_t, flat premium per person [LCU/yr]
    insured_share: YearPath  #: m_it [-]
    outpatient_cover: bool  #: whether the contract covers outpatient care
    exempt_share: YearPath  #: e_it, share of members exempted from contributions [-]
    user_fee_exempt_share: YearPath  #: (extension) share whose user fees the state pays [-]
    subsidies: tuple[PremiumSubsidy, ...] = ()  #: (extension) premiums paid by the state or a donor

    @property
    def is_adult(self) -> bool:
        """True for every category but the dependants."""
        return self.name != DEPENDANTS


@dataclass(frozen=True)
class CostComponent:
    """Base-year cost of one cost type for a service (MODEL.md 2.6)."""

    total: float  #: COST_jc [LCU/yr]
    government_share: float  #: gs_jc [-]


@dataclass(frozen=True)
class Target:
    """A target for a unit cost or a service rate (MODEL.md 2.7-2.8, Annex I.1)."""

    value: float  #: the target (absolute), or a multiplier on the base value when ``is_ratio``
    is_ratio: bool
    delay: int  #: years of delay after the base year
    arrival: int  #: year the target is reached


@dataclass(frozen=True)
class Volume:
    """How the base-year volume of a service is given (MODEL.md 2.6)."""

    basis: VolumeBasis
    amount: float  #: the count, the rate per person, or the share of admissions
    length_of_stay: float = 1.0  #: services per admission (PER_ADMISSION only)
    split: tuple[float, ...] | None = None  #: share of the count by category; None = population
    relative_use: tuple[float, ...] | None = None  #: use relative to the average, by category


@dataclass(frozen=True)
class Service:
    """A health service (MODEL.md 1, 2.5-2.7)."""

    name: str
    label: str
    level: Level
    tier: str
    unit: str
    volume: Volume
    patient_cost: float | None  #: pc_j0, base-year patient cost per service [LCU]
    government_cost: float | None  #: gc_j0 [LCU]
    base_year_cost: tuple[CostComponent, ...] | None  #: the four cost types, COST_TYPES order
    copayment_rate: float  #: cop_j [-]
    patient_import_share: float  #: a_j [-]
    government_import_share: float  #: b_j [-]
    patient_cost_target: Target | None
    government_cost_target: Target | None
    case_rate: float | None = None  #: (extension) flat payment per case, base-year prices [LCU]


@dataclass(frozen=True)
class RateTarget:
    """A target service rate for some categories (MODEL.md 2.8)."""

    service: str
    categories: tuple[str, ...]
    target: Target


@dataclass(frozen=True)
class AdminItem:
    """An administrative expenditure item (MODEL.md 2.9)."""

    name: str
    basis: AdminBasis
    value: float
    real_growth: YearPath  #: real growth of the constant-price amount [1/yr]


@dataclass(frozen=True)
class Reserve:
    """(extension) A reserve fund carried from year to year (UNCERTAINTY.md section 4).

    ``R_t = R_{t-1} (1 + i_t) + B_t`` with ``R_{-1}`` the initial reserve.
    """

    initial: float  #: reserve at the start of the base year [LCU]
    interest_rate: YearPath  #: nominal interest earned on the reserve [1/yr]


@dataclass(frozen=True)
class Scenario:
    """A complete, validated scenario: every input of one projection.

    Build one with :func:`schemerisk.load_scenario`.
    """

    name: str
    title: str
    currency: str
    base_year: int
    horizon: int
    demography: Demography
    economy: Economy
    admission_rate: float | None
    insured_utilisation_loading: float
    categories: tuple[Category, ...]
    services: tuple[Service, ...]
    rate_targets: tuple[RateTarget, ...]
    administration: tuple[AdminItem, ...]
    source: str = "<memory>"
    sha256: str = ""
    notes: tuple[str, ...] = field(default=())
    reserve: Reserve | None = None  #: (extension) reserve fund; None = no reserve (the paper)
    provider_payment: tuple[TierPayment, ...] = ()  #: (extension) payment methods by tier
    coverage_target: CoverageTarget | None = None  #: (extension) whole-population coverage target
    case_rates: tuple[
        float, ...
    ] = ()  #: (extension) per-case payment by service (base-year prices)
    #: how years past the scenario's own were filled (see :meth:`with_horizon`); "" for none
    extension: str = ""
    #: year index from which amounts in current prices are indexed to each projection's own
    #: domestic price index (the first year past the scenario's own under ``amounts="real"``);
    #: 0 for none (see :meth:`with_horizon`)
    indexed_from: int = 0

    def _extension_note(self, horizon: int, amounts: str) -> str:
        """The sentence that states how the years past the scenario's own were filled."""
        if horizon <= self.horizon:
            return self.extension if horizon == self.horizon else ""
        first, last = self.base_year + self.horizon + 1, self.base_year + horizon
        years = f"{first}-{last}" if last > first else str(first)
        held = (
            f"shares and rates hold their {first - 1} values (paths written as targets follow them)"
        )
        if amounts == "real":
            how = (
                "flat premiums and subsidy amounts indexed to domestic prices (each projection's "
                f"own inflation path), {held}"
            )
        else:
            how = f"flat premiums and subsidy amounts held at their {first - 1} nominal values, {held}"
        return f"{years} extend the scenario: {how}."

    @property
    def years(self) -> np.ndarray:
        """The projection years, base year first."""
        return np.arange(self.base_year, self.base_year + self.horizon + 1)

    @property
    def category_names(self) -> tuple[str, ...]:
        """Category names in model order (dependants, farmers, then the rest)."""
        return tuple(c.name for c in self.categories)

    @property
    def service_names(self) -> tuple[str, ...]:
        """Service names in file order."""
        return tuple(s.name for s in self.services)

    @property
    def tiers(self) -> tuple[str, ...]:
        """Facility tiers of the services, in order of first appearance ("" where none is given)."""
        return tuple(dict.fromkeys(s.tier for s in self.services))

    def category(self, name: str) -> Category:
        """Return the category called ``name``."""
        return next(c for c in self.categories if c.name == name)

    def with_horizon(self, horizon: int, *, amounts: str = "real") -> Scenario:
        """Return the scenario over ``horizon`` years after the base year.

        The rule for years past the scenario's own last year: paths written as
        targets are recomputed (they hold their target after arrival, as the same
        file with a longer horizon would); otherwise shares, rates and amounts in
        base-year prices (capitation) hold their last value, and amounts in current
        prices -- flat premiums and the fixed amounts of premium subsidies, given
        as a constant or year by year -- keep their real value: they grow with the domestic
        price index, ``v_t = v_(t-1) (1 + dp_t)``
        (:func:`~schemerisk.equations.indexed_amount`). The values stored here follow the
        scenario's own inflation path; :attr:`indexed_from` tells the kernel to redo the
        indexation with each projection's own (drawn) inflation. Incomes need no rule: they grow at
        the (held) nominal income growth rate. With ``amounts="nominal"`` those
        amounts instead hold their last nominal value, as the 1993 model's own
        horizon does. The rule applied is stated in :attr:`extension`.

        Parameters
        ----------
        horizon : int
            Years after the base year.
        amounts : {"real", "nominal"}
            How amounts in current prices go on past the scenario's last year.

        Returns
        -------
        Scenario
            The scenario over the new horizon.
        """
        if amounts not in AMOUNT_RULES:
            raise ValueError(f"amounts must be one of {', '.join(AMOUNT_RULES)}, not {amounts!r}")
        n = horizon + 1
        own = self.horizon + 1  # years the scenario itself gives
        prices = np.ones(n)
        if amounts == "real" and n > own:
            dp = self.economy.domestic_inflation.extended(self.base_year, n).array()
            for t in range(own, n):
                prices[t] = grown(prices[t - 1], dp[t])
        # the kernel redoes the indexation with each projection's own price index, from the
        # first year past the scenario's own (an earlier extension's first year, if any)
        if amounts == "real" and n > own:
            indexed_from = self.indexed_from or own
        else:
            indexed_from = self.indexed_from if amounts == "real" and n > self.indexed_from else 0

        def ext(p: YearPath) -> YearPath:
            return p.extended(self.base_year, n)

        def ext_amount(p: YearPath) -> YearPath:
            q = ext(p)
            # a path written as a target gives every year itself (it holds its target after
            # arrival, as the same file with a longer horizon would): only constants and
            # year-by-year lists end with the scenario's last year
            if amounts == "nominal" or n <= own or p.linear is not None or p.milestones:
                return q
            v = q.array()
            for t in range(own, n):
                v[t] = indexed_amount(float(v[own - 1]), float(prices[t]))
            return YearPath(tuple(float(x) for x in v), given_values=True)

        def ext_cat(c: Category) -> Category:
            return replace(
                c,
                adult_share=None if c.adult_share is None else ext(c.adult_share),
                income_growth=ext(c.income_growth),
                contribution_rate=ext(c.contribution_rate),
                flat_premium=ext_amount(c.flat_premium),
                insured_share=ext(c.insured_share),
                exempt_share=ext(c.exempt_share),
                user_fee_exempt_share=ext(c.user_fee_exempt_share),
                subsidies=tuple(
                    replace(sub, share=ext(sub.share), amount=ext_amount(sub.amount))
                    for sub in c.subsidies
                ),
            )

        d, e = self.demography, self.economy
        return replace(
            self,
            horizon=horizon,
            extension=self._extension_note(horizon, amounts),
            indexed_from=indexed_from,
            demography=replace(
                d, growth_rate=ext(d.growth_rate), dependant_share=ext(d.dependant_share)
            ),
            economy=replace(
                e,
                domestic_inflation=ext(e.domestic_inflation),
                external_inflation=ext(e.external_inflation),
                exchange_rate=ext(e.exchange_rate),
                real_depreciation=None if e.real_depreciation is None else ext(e.real_depreciation),
            ),
            categories=tuple(ext_cat(c) for c in self.categories),
            administration=tuple(
                replace(a, real_growth=ext(a.real_growth)) for a in self.administration
            ),
            reserve=None
            if self.reserve is None
            else replace(self.reserve, interest_rate=ext(self.reserve.interest_rate)),
            provider_payment=tuple(
                replace(
                    tp,
                    capitation=ext(tp.capitation),
                    bonus_share=ext(tp.bonus_share),
                    bonus_achievement=ext(tp.bonus_achievement),
                )
                for tp in self.provider_payment
            ),
            coverage_target=None
            if self.coverage_target is None
            else replace(
                self.coverage_target, population_share=ext(self.coverage_target.population_share)
            ),
        )
