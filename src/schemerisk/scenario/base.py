"""The hand-written parts of the typed scenario: per-year paths, the choice enums, and the
methods of the scenario classes.

The scenario classes themselves (:mod:`schemerisk.scenario.types`) are generated from the
catalogue of inputs (:mod:`schemerisk.catalogue`) by ``python -m schemerisk.codegen``; what is
not one field per input lives here: the per-year path type (:class:`YearPath`), the enums a
choice or a file's form becomes, and the behaviour of :class:`~schemerisk.scenario.types.Scenario`
and :class:`~schemerisk.scenario.types.Category` (the mixins they derive from).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

import numpy as np

from schemerisk.catalogue import COST_TYPES as COST_TYPES
from schemerisk.catalogue import DEPENDANTS as DEPENDANTS
from schemerisk.catalogue import FARMERS as FARMERS
from schemerisk.equations import grown, indexed_amount, value_on_target_path

if TYPE_CHECKING:
    from schemerisk.scenario.types import Category, Scenario


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


class Payer(enum.Enum):
    """Who pays (part of) a member's premium besides the member."""

    GOVERNMENT = "government"
    DONOR = "donor"


class PaymentMethod(enum.IntEnum):
    """How the scheme pays providers of a facility tier (paper section 2.2.4); kernel code in brackets."""

    FEE_FOR_SERVICE = 0  #: the paper's: the patient cost of each service, less co-payments
    CAPITATION = 1  #: an amount per insured member per year, whatever the use
    PER_CASE = 2  #: a flat amount per case, by service type


class CoverageRule(enum.IntEnum):
    """How a whole-population coverage target is spread over categories (kernel code in brackets)."""

    NONE = 0
    CLOSE_GAP_EVENLY = 1  #: every category's uninsured share shrinks by the same proportion
    SAME_SHARE = 2  #: every category is insured at the target share


class CategoryMethods:
    """What a :class:`~schemerisk.scenario.types.Category` does besides holding its inputs."""

    __slots__ = ()

    @property
    def is_adult(self) -> bool:
        """True for every category but the dependants."""
        return cast("Category", self).name != DEPENDANTS


class ScenarioMethods:
    """What a :class:`~schemerisk.scenario.types.Scenario` does besides holding its inputs."""

    __slots__ = ()

    def _extension_note(self, horizon: int, amounts: str) -> str:
        """The sentence that states how the years past the scenario's own were filled."""
        sc = cast("Scenario", self)
        if horizon <= sc.horizon:
            return sc.extension if horizon == sc.horizon else ""
        first, last = sc.base_year + sc.horizon + 1, sc.base_year + horizon
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
        sc = cast("Scenario", self)
        return np.arange(sc.base_year, sc.base_year + sc.horizon + 1)

    @property
    def category_names(self) -> tuple[str, ...]:
        """Category names in model order (dependants, farmers, then the rest)."""
        sc = cast("Scenario", self)
        return tuple(c.name for c in sc.categories)

    @property
    def service_names(self) -> tuple[str, ...]:
        """Service names in file order."""
        sc = cast("Scenario", self)
        return tuple(s.name for s in sc.services)

    @property
    def tiers(self) -> tuple[str, ...]:
        """Facility tiers of the services, in order of first appearance ("" where none is given)."""
        sc = cast("Scenario", self)
        return tuple(dict.fromkeys(s.tier for s in sc.services))

    def category(self, name: str) -> Category:
        """Return the category called ``name``."""
        sc = cast("Scenario", self)
        return next(c for c in sc.categories if c.name == name)

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
        sc = cast("Scenario", self)
        if amounts not in AMOUNT_RULES:
            raise ValueError(f"amounts must be one of {', '.join(AMOUNT_RULES)}, not {amounts!r}")
        n = horizon + 1
        own = sc.horizon + 1  # years the scenario itself gives
        prices = np.ones(n)
        if amounts == "real" and n > own:
            dp = sc.economy.domestic_inflation.extended(sc.base_year, n).array()
            for t in range(own, n):
                prices[t] = grown(prices[t - 1], dp[t])
        # the kernel redoes the indexation with each projection's own price index, from the
        # first year past the scenario's own (an earlier extension's first year, if any)
        if amounts == "real" and n > own:
            indexed_from = sc.indexed_from or own
        else:
            indexed_from = sc.indexed_from if amounts == "real" and n > sc.indexed_from else 0

        def ext(p: YearPath) -> YearPath:
            return p.extended(sc.base_year, n)

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

        d, e = sc.demography, sc.economy
        return replace(
            sc,
            horizon=horizon,
            extension=sc._extension_note(horizon, amounts),
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
            categories=tuple(ext_cat(c) for c in sc.categories),
            administration=tuple(
                replace(a, real_growth=ext(a.real_growth)) for a in sc.administration
            ),
            reserve=None
            if sc.reserve is None
            else replace(sc.reserve, interest_rate=ext(sc.reserve.interest_rate)),
            provider_payment=tuple(
                replace(
                    tp,
                    capitation=ext(tp.capitation),
                    bonus_share=ext(tp.bonus_share),
                    bonus_achievement=ext(tp.bonus_achievement),
                )
                for tp in sc.provider_payment
            ),
            coverage_target=None
            if sc.coverage_target is None
            else replace(
                sc.coverage_target, population_share=ext(sc.coverage_target.population_share)
            ),
        )
