"""One catalogue of a scenario's inputs: each input declared once.

Every input a scenario file may give is one :class:`Entry` of :data:`CATALOGUE`,
in the order of the model's input sheet (Carrin, Ron & Murray 1993, Sheet A;
``shared/spec/MODEL.md`` section 2), and names:

- its key path in the file, with ``"*"`` standing for a name (a category, a
  service, a cost type, an administrative item, a facility tier) or the index
  of a list item (``service_rate_targets``); a premium subsidy's path names its
  payer (``categories.*.premium_subsidy.government.share``), which the file
  writes as ``premium_subsidy: {payer: government, share: ...}``;
- the dimensions it varies along, its unit and its one :class:`Domain` (the
  values it may take and the words messages use for them);
- its default when absent (or :data:`REQUIRED`, or :data:`NOT_GIVEN` when its
  absence turns the feature off);
- how a file writes it (:class:`Read`): one number, a per-year path, one
  number per category, a choice among words, ...;
- its field in the kernel's flat input vector (a :class:`~schemerisk.model.layout.In`
  name), whether a distributions file may draw it (its target) and the target's
  default kind (data the scheme can collect, or an environment it can only
  prepare for);
- its Sheet A block, a short label and a one-line description.

The parser's allowed keys and range checks, the layout's field dimensions and
the uncertainty targets' domains and kinds are derived from it at import (the
pattern of pandas' options registry, ``pandas/core/config_init.py``: one
declaration, every use derived). The typed scenario classes
(``scenario/types.py``) and the kernel's ``In`` enum (from :data:`LAYOUT`) are
written from it as code by ``python -m schemerisk.codegen``, so that mypy and
numba see them; ``tests/test_codegen.py`` fails until they are regenerated.
This module imports nothing from the rest of the package, so that every stage
may import it.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------------------------------------
# dimensions (the kernel's layout names them the same)
YEAR, CATEGORY, SERVICE, COST_TYPE, ADMIN_ITEM, TIER = (
    "year",
    "category",
    "service",
    "cost_type",
    "admin_item",
    "tier",
)
#: a list item (``service_rate_targets``): one per target given
RATE_TARGET_ITEM = "rate_target"
#: the four cost types of Sheet A block 6, in model order
COST_TYPES = ("salaries", "maintenance", "pharmaceuticals", "other")
#: the two categories the model imposes (MODEL.md section 1)
DEPENDANTS = "dependants"
FARMERS = "farmers"

#: the Sheet A blocks, in sheet order: the paper's (MODEL.md section 2) grouped as the
#: workbook shows them, with "scenario" first for the file's name, years and currency
BLOCKS = (
    "scenario",
    "demography",
    "economy",
    "categories",
    "services",
    "costs",
    "premiums",
    "co-payments",
    "administration",
    "levers",
)

# ---------------------------------------------------------------------------------------------
# limits on years (what a file may ask of the machine; see scenario.parse)
#: Longest projection, in years after the base year: two centuries. Beyond it the compounding of
#: any rate is meaningless and the arrays grow without purpose (a horizon of 10^20 years ran out
#: of memory).
MAX_HORIZON = 200
#: Calendar years accepted as a base year.
YEARS = (1900, 2200)
#: Years accepted as the arrival of a target (a path may reach its target after the horizon).
ARRIVALS = (YEARS[0], YEARS[1] + 5 * MAX_HORIZON)
#: Years of delay before a move to a target starts.
DELAYS = (0, 5 * MAX_HORIZON)


@dataclass(frozen=True)
class Domain:
    """The values an input may take, and the words a message uses for them.

    The one range type of the package: the parser checks a file's values with it,
    the uncertainty layer checks that a distribution cannot leave it, the Excel
    template turns it into a cell's data validation.

    Parameters
    ----------
    lo : float or None
        Smallest allowed value; None for no lower bound.
    hi : float or None
        Largest allowed value; None for no upper bound.
    what : str
        What is expected, as messages say it, e.g. "a share between 0 and 1".
    lo_open : bool
        Whether ``lo`` itself is excluded: (lo, hi] instead of [lo, hi].
    percent : bool
        Whether the value is a rate or a share, which may also be written with an explicit
        percent sign: ``"15 %"`` means 0.15.
    plain_hi : float or None
        A rate written as a plain number above this is taken for a whole percentage typed by
        mistake (``15`` for 15 %): an error that shows it as a percentage and suggests the
        fraction. The same value written with a percent sign (``"1500 %"``) is accepted, so a
        value that is conceivable (hyperinflation) can still be given on purpose.
    unit : str
        How a percentage of this kind reads in messages: ``"%"`` or ``"%/yr"``.
    hi_open : bool
        Whether ``hi`` itself is excluded.
    integer : bool
        Whether only whole numbers are allowed (years, years of delay).
    choices : tuple of str or None
        The words allowed, for an input that is a choice; None for a number.
    """

    lo: float | None = None
    hi: float | None = None
    what: str = "a number"
    lo_open: bool = False
    percent: bool = False
    plain_hi: float | None = None
    unit: str = "%"
    hi_open: bool = False
    integer: bool = False
    choices: tuple[str, ...] | None = None

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies within the range (NaN never does; an infinity only without
        that bound)."""
        if isinstance(value, float) and math.isnan(value):
            return False
        if self.lo is not None and (value < self.lo or (self.lo_open and value == self.lo)):
            return False
        return self.hi is None or value < self.hi or (value == self.hi and not self.hi_open)

    def bounds(self) -> tuple[float, float, bool, str]:
        """``(lo, hi, lo_open, what)`` with infinite bounds for missing ones.

        Returns
        -------
        tuple
            The form the uncertainty layer's range checks and clipping take.
        """
        lo = -math.inf if self.lo is None else float(self.lo)
        hi = math.inf if self.hi is None else float(self.hi)
        return (lo, hi, self.lo_open, self.what)


class _Sentinel:
    """A marker default, shown by its name."""

    def __init__(self, name: str, meaning: str) -> None:
        self.name = name
        self.meaning = meaning

    def __repr__(self) -> str:
        return self.name


#: the input must be given (where its enclosing block is given)
REQUIRED: Any = _Sentinel("REQUIRED", "required")
#: the input may be left out; leaving it out turns its feature off (or another form is used)
NOT_GIVEN: Any = _Sentinel("NOT_GIVEN", "optional: absent turns it off")
#: absent, the input takes the name of its category or service
SAME_AS_NAME: Any = _Sentinel("SAME_AS_NAME", "the key's name")
#: absent, the input lists every category
ALL_CATEGORIES: Any = _Sentinel("ALL_CATEGORIES", "every category")


class Read(enum.StrEnum):
    """How a scenario file writes an input."""

    SCALAR = "scalar"  #: one number
    PATH = "per-year path"  #: a number, a list of yearly values, a move to a target, or targets by year
    PER_CATEGORY = "per-category"  #: a mapping of category names to numbers
    CHOICE = "choice"  #: one word among the domain's choices
    FLAG = "flag"  #: true or false
    INTEGER = "integer"  #: a whole number
    TEXT = "text"  #: free text
    TEXTS = "texts"  #: one text or a list of texts
    NAMES = "names"  #: a list of category names


class Kind(enum.Enum):
    """Whether a scheme can pin an uncertain input down, or only prepare for it."""

    DATA = "data"  #: data the scheme can collect: utilisation, unit costs, uptake, compliance, ...
    ENVIRONMENT = "environment"  #: conditions it can only prepare for: inflation, wages, ...


@dataclass(frozen=True)
class Entry:
    """One input of a scenario file.

    Attributes
    ----------
    path : tuple of str
        Key path in the file; ``"*"`` stands for a name or list index (one per named dimension).
    block : str
        Sheet A block (one of :data:`BLOCKS`).
    label : str
        Short human label.
    description : str
        One line saying what it is (the comment of its workbook cell).
    unit : str
        Its unit: "share", "per year", "LCU" (the scenario's currency), "persons", ...
    dims : tuple of str
        Dimensions it varies along, ordered (``year`` first for a per-year path).
    domain : Domain
        The values it may take.
    default : object
        Its value when absent; :data:`REQUIRED`, :data:`NOT_GIVEN`, :data:`SAME_AS_NAME` or
        :data:`ALL_CATEGORIES` where no plain value says it.
    read : Read
        How a file writes it.
    field : str or None
        Its field in the kernel's input vector (an ``In`` member name); None if the kernel
        does not read it.
    target : str or None
        The target name (readable path pattern) under which a distributions file may draw it;
        None when it is never uncertain.
    kind : str or None
        The target's default kind, "data" or "environment" (None without a target).
    attr : str
        Where the parsed value sits in the typed :class:`~schemerisk.scenario.types.Scenario`,
        as a dotted attribute path (``"*"`` for an item of a tuple); the key path where the
        names agree.
    """

    path: tuple[str, ...]
    block: str
    label: str
    description: str
    unit: str
    dims: tuple[str, ...]
    domain: Domain
    default: Any
    read: Read
    field: str | None = None
    target: str | None = None
    kind: str | None = None
    attr: str = ""

    @property
    def key(self) -> str:
        """The path written with dots (``categories.*.insured_share``)."""
        return ".".join(self.path)

    @property
    def name(self) -> str:
        """The last key of the path."""
        return self.path[-1]

    @property
    def value_when_absent(self) -> Any:
        """The default as a value: None where a marker (:data:`REQUIRED`, ...) stands."""
        return None if isinstance(self.default, _Sentinel) else self.default


# ---------------------------------------------------------------------------------------------
# domains that several inputs share; a domain used once is written at its entry.
# Rates and shares are fractions (0.15 is 15 %) and may also be written "15 %". A plain number
# above a rate's plain_hi is an error that suggests the fraction; the thresholds, per kind:
# - a share is at most 1 anyway: 15 is out of range, and the message suggests 0.15;
# - inflation, income and cost growth, interest: above 1 (100 %/yr). Rates that high occur only
#   in hyperinflation, and a whole percentage (15 for 15 %) is far the likelier reading;
#   write "150 %" to mean it;
# - population growth: above 0.1 (10 %/yr). National populations grow at most a few % a year;
#   only brief bursts of immigration go beyond 10 %/yr (write them with '%'). 2.2 for
#   2.2 %/yr is the likelier reading;
# - admission rate: above 1 admission per person per year. National rates are a fraction of
#   that (7.13 % in Hai Phong, Carrin, Ron & Murray 1993; below about 0.3 in OECD countries'
#   hospital discharge statistics); 8 for 8 % is the likelier reading.
SHARE = Domain(0.0, 1.0, "a share between 0 and 1", percent=True)
GROWTH = Domain(
    -1.0, None, "a growth rate above -1", lo_open=True, percent=True, plain_hi=1.0, unit="%/yr"
)
INFLATION = Domain(
    -1.0,
    None,
    "an inflation rate above -1 (e.g. 0.15 for 15 %/yr)",
    lo_open=True,
    percent=True,
    plain_hi=1.0,
    unit="%/yr",
)
POPULATION_GROWTH = Domain(
    -1.0,
    None,
    "a growth rate above -1 (e.g. 0.022 for 2.2 %/yr)",
    lo_open=True,
    percent=True,
    plain_hi=0.1,
    unit="%/yr",
)
ADMISSION_RATE = Domain(
    0.0,
    None,
    "admissions per person per year, 0 or more (e.g. 0.0713 for 7.13 % of the population)",
    percent=True,
    plain_hi=1.0,
    unit="% of the population a year",
)
INTEREST = Domain(
    -1.0, None, "an interest rate above -1", lo_open=True, percent=True, plain_hi=1.0, unit="%/yr"
)
COST_PER_SERVICE = Domain(0.0, None, "a cost of 0 or more per service")
UNIT_COST = Domain(0.0, None, "a unit cost of 0 or more")
AMOUNT_PER_MEMBER = Domain(0.0, None, "an amount per member per year of 0 or more")
MULTIPLIER = Domain(0.0, None, "a non-negative multiplier")
SERVICE_RATE = Domain(0.0, None, "a service rate of 0 or more")
DELAY = Domain(DELAYS[0], DELAYS[1], "years of delay", integer=True)
ARRIVAL = Domain(ARRIVALS[0], ARRIVALS[1], "an arrival year", integer=True)
FLAG = Domain(0.0, 1.0, "true or false", choices=("true", "false"))
TEXT = Domain(what="text")
NAMES = Domain(what="a list of category names")
LEVELS = ("inpatient", "outpatient")
PAYMENT_METHODS = ("fee_for_service", "capitation", "per_case")
COVERAGE_RULES = ("close_gap_evenly", "same_share")
PAYERS = ("government", "donor")

_DATA, _ENV = Kind.DATA.value, Kind.ENVIRONMENT.value
_Y, _C, _S, _YC = (YEAR,), (CATEGORY,), (SERVICE,), (YEAR, CATEGORY)


def _choice(words: tuple[str, ...], what: str) -> Domain:
    return Domain(what=what, choices=words)


def _e(
    key: str,
    block: str,
    label: str,
    description: str,
    unit: str,
    dims: tuple[str, ...],
    domain: Domain,
    default: Any,
    read: Read,
    field: str | None = None,
    kind: str | None = None,
    target: str | None = None,
    attr: str | None = None,
) -> Entry:
    """Declare one entry; ``kind`` given makes it a target (named by its path unless ``target``);
    ``attr`` is its place in the typed scenario where that differs from its key path."""
    path = tuple(key.split("."))
    if kind is not None and target is None:
        target = key
    return Entry(
        path,
        block,
        label,
        description,
        unit,
        dims,
        domain,
        default,
        read,
        field,
        target,
        kind,
        attr or key,
    )


_PC, _GC = "services.*.patient_cost_target", "services.*.government_cost_target"
_PAY = "provider_payment.*"
_SUB = "categories.*.premium_subsidy"

#: every input of a scenario file, declared once, in Sheet A order
# fmt: off
CATALOGUE: tuple[Entry, ...] = (
    # -- the scenario ----------------------------------------------------------------------
    _e("name", "scenario", "Name", "Short name of the scenario (the file's name when absent)",
       "text", (), TEXT, NOT_GIVEN, Read.TEXT),
    _e("title", "scenario", "Title", "Title shown on reports", "text", (), TEXT, "", Read.TEXT),
    _e("currency", "scenario", "Currency", "Currency of every amount (e.g. VND)", "text", (),
       TEXT, "LCU", Read.TEXT),
    _e("base_year", "scenario", "Base year", "First year of the projection (year 0)", "year", (),
       Domain(YEARS[0], YEARS[1], "a base year", integer=True), REQUIRED, Read.INTEGER),
    _e("horizon", "scenario", "Horizon", "Years projected after the base year", "years", (),
       Domain(0, MAX_HORIZON, "a number of years after the base year", integer=True), 10,
       Read.INTEGER),
    _e("notes", "scenario", "Notes", "Sources and assumptions, one text or a list", "text", (),
       TEXT, NOT_GIVEN, Read.TEXTS),
    # -- 1. demography ---------------------------------------------------------------------
    _e("demography.population", "demography", "Population", "Population in the base year (P0)",
       "persons", (), Domain(0.0, None, "a base-year population of 0 or more persons"), REQUIRED,
       Read.SCALAR, "POPULATION0", _DATA),
    _e("demography.growth_rate", "demography", "Population growth",
       "Annual population growth (g_t); the base year's value is not used", "per year", _Y,
       POPULATION_GROWTH, 0.0, Read.PATH, "GROWTH_RATE", _ENV),
    _e("demography.dependant_share", "demography", "Dependants' share",
       "Share of dependants (children) in the population (d_t)", "share", _Y, SHARE, 0.0,
       Read.PATH, "DEPENDANT_SHARE", _DATA),
    # -- 2. economy ------------------------------------------------------------------------
    _e("economy.domestic_inflation", "economy", "Domestic inflation",
       "Annual domestic inflation (dp_t); the base year's value is not used", "per year", _Y,
       INFLATION, 0.0, Read.PATH, "DOMESTIC_INFLATION", _ENV),
    _e("economy.external_inflation", "economy", "External inflation",
       "Annual inflation of imports in US$ terms (ep_t); the base year's value is not used",
       "per year", _Y, INFLATION, 0.0, Read.PATH, "EXTERNAL_INFLATION", _ENV),
    _e("economy.exchange_rate.rate", "economy", "Exchange rate",
       "Local currency per US$ (EXR_t); under parity only the base year's", "LCU per US$", _Y,
       Domain(0.0, None, "an exchange rate above 0 (local currency per US$)", lo_open=True),
       REQUIRED, Read.PATH, "EXCHANGE_RATE", _ENV,
       attr="economy.exchange_rate"),
    _e("economy.exchange_rate.purchasing_power_parity", "economy", "Purchasing-power parity",
       "Whether the exchange rate follows the inflation differential (the PPP switch)", "choice",
       (), FLAG, False, Read.FLAG, "PPP",
       attr="economy.purchasing_power_parity"),
    _e("economy.exchange_rate.real_depreciation", "economy", "Real depreciation",
       "(extension) Annual departure from parity; needs purchasing_power_parity", "per year", _Y,
       Domain(-1.0, None, "a rate above -1 (0.05: the local currency loses 5 % a year beyond "
              "parity)", lo_open=True, percent=True, plain_hi=1.0, unit="%/yr"),
       NOT_GIVEN, Read.PATH, "REAL_DEPRECIATION", _ENV,
       attr="economy.real_depreciation"),
    # -- 3. labour force and income (categories) -------------------------------------------
    _e("categories.*.label", "categories", "Label", "Name of the category on reports", "text", _C,
       TEXT, SAME_AS_NAME, Read.TEXT),
    _e("categories.*.adult_share", "categories", "Share of adults",
       "Share of the adult population in this category (s_kt; not for dependants)", "share",
       _YC, SHARE, REQUIRED, Read.PATH, "ADULT_SHARE"),
    _e("categories.*.income", "categories", "Income",
       "Average annual income in the base year (INC_k0)", "LCU per year", _C,
       Domain(0.0, None, "an average annual income of 0 or more"), 0.0, Read.SCALAR, "INCOME0",
       _DATA),
    _e("categories.*.income_growth", "categories", "Income growth",
       "Annual nominal income growth (ig_kt)", "per year", _YC, GROWTH, 0.0, Read.PATH,
       "INCOME_GROWTH", _ENV),
    # -- 6. services and their base-year volume --------------------------------------------
    _e("services.*.label", "services", "Label", "Name of the service on reports", "text", _S,
       TEXT, SAME_AS_NAME, Read.TEXT),
    _e("services.*.level", "services", "Level", "Level of care: inpatient or outpatient",
       "choice", _S, _choice(LEVELS, "'inpatient' or 'outpatient'"), REQUIRED, Read.CHOICE,
       "INPATIENT"),
    _e("services.*.tier", "services", "Facility tier",
       "Facility tier (e.g. province, district, commune); groups payments by tier", "text", _S,
       TEXT, "", Read.TEXT, "SERVICE_TIER"),
    _e("services.*.unit", "services", "Unit", "What one service is (admission, day, visit)",
       "text", _S, TEXT, "service", Read.TEXT),
    _e("services.*.volume.count", "services", "Services in the base year",
       "Number of services in the base year (N_j0); one of count, rate_per_person, per_admission",
       "services", _S, Domain(0.0, None, "a number of services of 0 or more"), NOT_GIVEN,
       Read.SCALAR, "VOLUME_AMOUNT", _DATA,
       attr="services.*.volume.amount"),
    _e("services.*.volume.rate_per_person", "services", "Services per person",
       "Services per person per year in the base year (HSU_j0)", "services per person-year", _S,
       Domain(0.0, None, "services per person per year, 0 or more"), NOT_GIVEN, Read.SCALAR,
       "VOLUME_AMOUNT", _DATA,
       attr="services.*.volume.amount"),
    _e("services.*.volume.per_admission", "services", "Share of admissions",
       "Share of hospital admissions that are this service (needs admission_rate)", "share", _S,
       Domain(0.0, 1.0, "a share of admissions between 0 and 1", percent=True), NOT_GIVEN,
       Read.SCALAR, "VOLUME_AMOUNT", _DATA,
       attr="services.*.volume.amount"),
    _e("services.*.volume.length_of_stay", "services", "Length of stay",
       "Days (or services) per admission, with per_admission", "services per admission", _S,
       Domain(0.0, None, "days (or services) per admission, 0 or more"), 1.0, Read.SCALAR,
       "LENGTH_OF_STAY", _DATA),
    _e("services.*.volume.split", "services", "Split of the count",
       "Share of the base-year count by category, with count (or the word population)", "share",
       (CATEGORY, SERVICE), SHARE, "population", Read.PER_CATEGORY, "SPLIT"),
    _e("services.*.volume.relative_use", "services", "Relative use",
       "Use by category relative to the average, with a rate", "multiplier",
       (CATEGORY, SERVICE), Domain(0.0, None, "a multiplier of 0 or more"), 1.0,
       Read.PER_CATEGORY, "RELATIVE_USE"),
    _e("admission_rate", "services", "Admission rate",
       "Hospital admissions per person per year, for services given per_admission",
       "admissions per person-year", (), ADMISSION_RATE, NOT_GIVEN, Read.SCALAR,
       "ADMISSION_RATE", _DATA),
    _e("insured_utilisation_loading", "services", "Insured utilisation loading",
       "Multiplier on the use of services by the insured", "multiplier", (),
       Domain(0.0, None, "a multiplier on the use of services by the insured, above 0",
              lo_open=True), 1.0, Read.SCALAR, "INSURED_LOADING", _DATA),
    # -- 8. targets for service rates --------------------------------------------------------
    _e("service_rate_targets.*.service", "services", "Service",
       "The service whose rate moves to a target", "text", (RATE_TARGET_ITEM,), TEXT, REQUIRED,
       Read.TEXT,
       attr="rate_targets.*.service"),
    _e("service_rate_targets.*.categories", "services", "Categories",
       "The categories whose rate moves (every category when absent)", "names",
       (RATE_TARGET_ITEM,), NAMES, ALL_CATEGORIES, Read.NAMES,
       attr="rate_targets.*.categories"),
    _e("service_rate_targets.*.target", "services", "Target service rate",
       "Target services per person per year; or give ratio", "services per person-year",
       (CATEGORY, SERVICE), SERVICE_RATE, NOT_GIVEN, Read.SCALAR, "RATE_TARGET", _DATA,
       "service_rate_targets[*].target",
       attr="rate_targets.*.target.value"),
    _e("service_rate_targets.*.ratio", "services", "Target ratio",
       "Target as a multiple of the base-year rate; or give target", "multiplier",
       (CATEGORY, SERVICE), SERVICE_RATE, NOT_GIVEN, Read.SCALAR, "RATE_TARGET", _DATA,
       "service_rate_targets[*].ratio",
       attr="rate_targets.*.target.value"),
    _e("service_rate_targets.*.delay", "services", "Delay", "Years after the base year before "
       "the move starts", "years", (CATEGORY, SERVICE), DELAY, 0, Read.INTEGER,
       "RATE_TARGET_DELAY", _DATA, "service_rate_targets[*].delay",
       attr="rate_targets.*.target.delay"),
    _e("service_rate_targets.*.arrival", "services", "Arrival year",
       "Year the target is reached", "year", (CATEGORY, SERVICE), ARRIVAL, REQUIRED,
       Read.INTEGER, "RATE_TARGET_ARRIVAL", _DATA, "service_rate_targets[*].arrival",
       attr="rate_targets.*.target.arrival"),
    # -- 6-7. costs ------------------------------------------------------------------------
    _e("services.*.patient_cost", "costs", "Patient cost",
       "Base-year patient cost per service (pc_j0); or give base_year_cost", "LCU", _S,
       COST_PER_SERVICE, 0.0, Read.SCALAR, "PATIENT_COST0", _DATA),
    _e("services.*.government_cost", "costs", "Government cost",
       "Base-year government cost per service (gc_j0)", "LCU", _S, COST_PER_SERVICE, 0.0,
       Read.SCALAR, "GOVERNMENT_COST0", _DATA),
    _e("services.*.base_year_cost.*.total", "costs", "Total cost by cost type",
       "Base-year total cost of the service by cost type (COST_jc)", "LCU per year",
       (SERVICE, COST_TYPE), Domain(0.0, None, "a total cost of 0 or more"), 0.0, Read.SCALAR,
       "COST_TOTAL", _DATA),
    _e("services.*.base_year_cost.*.government_share", "costs", "Government share",
       "Government's share of the cost type (gs_jc)", "share", (SERVICE, COST_TYPE), SHARE, 0.0,
       Read.SCALAR, "COST_GOVERNMENT_SHARE", _DATA),
    _e("services.*.patient_import_share", "costs", "Imported share of patient cost",
       "Share of imported inputs in the patient cost (a_j)", "share", _S, SHARE, 0.0,
       Read.SCALAR, "PATIENT_IMPORT_SHARE", _DATA),
    _e("services.*.government_import_share", "costs", "Imported share of government cost",
       "Share of imported inputs in the government cost (b_j)", "share", _S, SHARE, 0.0,
       Read.SCALAR, "GOVERNMENT_IMPORT_SHARE", _DATA),
    _e(f"{_PC}.target", "costs", "Patient cost target",
       "Target patient cost per service, constant prices; or give ratio", "LCU", _S, UNIT_COST,
       NOT_GIVEN, Read.SCALAR, "PC_TARGET", _DATA,
       attr="services.*.patient_cost_target.value"),
    _e(f"{_PC}.ratio", "costs", "Patient cost target ratio",
       "Target as a multiple of the base-year patient cost; or give target", "multiplier", _S,
       MULTIPLIER, NOT_GIVEN, Read.SCALAR, "PC_TARGET", _DATA,
       attr="services.*.patient_cost_target.value"),
    _e(f"{_PC}.delay", "costs", "Delay", "Years after the base year before the move starts",
       "years", _S, DELAY, 0, Read.INTEGER, "PC_TARGET_DELAY", _DATA),
    _e(f"{_PC}.arrival", "costs", "Arrival year", "Year the patient cost target is reached",
       "year", _S, ARRIVAL, REQUIRED, Read.INTEGER, "PC_TARGET_ARRIVAL", _DATA),
    _e(f"{_GC}.target", "costs", "Government cost target",
       "Target government cost per service, constant prices; or give ratio", "LCU", _S,
       UNIT_COST, NOT_GIVEN, Read.SCALAR, "GC_TARGET", _DATA,
       attr="services.*.government_cost_target.value"),
    _e(f"{_GC}.ratio", "costs", "Government cost target ratio",
       "Target as a multiple of the base-year government cost; or give target", "multiplier",
       _S, MULTIPLIER, NOT_GIVEN, Read.SCALAR, "GC_TARGET", _DATA,
       attr="services.*.government_cost_target.value"),
    _e(f"{_GC}.delay", "costs", "Delay", "Years after the base year before the move starts",
       "years", _S, DELAY, 0, Read.INTEGER, "GC_TARGET_DELAY", _DATA),
    _e(f"{_GC}.arrival", "costs", "Arrival year", "Year the government cost target is reached",
       "year", _S, ARRIVAL, REQUIRED, Read.INTEGER, "GC_TARGET_ARRIVAL", _DATA),
    # -- 4. contributions and membership ---------------------------------------------------
    _e("categories.*.contribution_rate", "premiums", "Contribution rate",
       "Contribution as a share of income (hicr_kt)", "share", _YC,
       Domain(0.0, 1.0, "a share of income between 0 and 1", percent=True), 0.0, Read.PATH,
       "CONTRIBUTION_RATE", _DATA),
    _e("categories.*.flat_premium", "premiums", "Flat premium",
       "Flat premium per person per year, current prices (PRF_t, PRDP_t)", "LCU per year", _YC,
       Domain(0.0, None, "a premium of 0 or more per person per year"), 0.0, Read.PATH,
       "FLAT_PREMIUM", _DATA),
    _e("categories.*.insured_share", "premiums", "Insured share",
       "Share of the category insured (m_it)", "share", _YC, SHARE, 0.0, Read.PATH,
       "INSURED_SHARE", _DATA),
    _e("categories.*.outpatient_cover", "premiums", "Outpatient cover",
       "Whether the contract covers outpatient care (inpatient care always is)", "choice", _C,
       FLAG, True, Read.FLAG, "OUTPATIENT_COVER"),
    _e("categories.*.exempt_share", "premiums", "Exempt share",
       "Share of the insured exempted from contributions and co-payments (e_it)", "share", _YC,
       SHARE, 0.0, Read.PATH, "EXEMPT_SHARE", _DATA),
    # -- 5. co-payments --------------------------------------------------------------------
    _e("services.*.copayment_rate", "co-payments", "Co-payment rate",
       "Share of the patient cost an insured, non-exempted patient pays (cop_j)", "share", _S,
       SHARE, 0.0, Read.SCALAR, "COPAYMENT_RATE", _DATA),
    _e("categories.*.user_fee_exempt_share", "co-payments", "User-fee exempt share",
       "(extension) Share of the uninsured whose user fees the state pays", "share", _YC, SHARE,
       0.0, Read.PATH, "USER_FEE_EXEMPT_SHARE", _DATA),
    # -- 9. administration -----------------------------------------------------------------
    _e("administration.*.amount", "administration", "Amount",
       "Base-year amount; one of amount, share_of_payments, per_member", "LCU per year",
       (ADMIN_ITEM,), Domain(0.0, None, "an amount of 0 or more"), NOT_GIVEN, Read.SCALAR,
       "ADMIN_VALUE", _DATA,
       attr="administration.*.value"),
    _e("administration.*.share_of_payments", "administration", "Share of payments",
       "Share of the scheme's health care payments (base year, or every year)", "share",
       (ADMIN_ITEM,), SHARE, NOT_GIVEN, Read.SCALAR, "ADMIN_VALUE", _DATA,
       attr="administration.*.value"),
    _e("administration.*.per_member", "administration", "Per member",
       "(extension) Amount per member per year, base-year prices", "LCU per year",
       (ADMIN_ITEM,), Domain(0.0, None, "an amount of 0 or more"), NOT_GIVEN, Read.SCALAR,
       "ADMIN_VALUE", _DATA,
       attr="administration.*.value"),
    _e("administration.*.every_year", "administration", "Share every year",
       "With share_of_payments: the share holds every year, not only the base year", "choice",
       (ADMIN_ITEM,), FLAG, False, Read.FLAG,
       attr="administration.*.basis"),
    _e("administration.*.real_growth", "administration", "Real growth",
       "Annual real growth of the constant-price amount", "per year", (YEAR, ADMIN_ITEM), GROWTH,
       0.0, Read.PATH, "ADMIN_REAL_GROWTH", _DATA),
    # -- levers (extensions) ---------------------------------------------------------------
    _e("reserve.initial", "levers", "Initial reserve",
       "(extension) Reserve at the start of the base year (negative for a debt)", "LCU", (),
       Domain(None, None, "an amount (negative for a debt)"), 0.0, Read.SCALAR,
       "RESERVE_INITIAL", _DATA),
    _e("reserve.interest_rate", "levers", "Interest on the reserve",
       "(extension) Nominal interest earned on the reserve", "per year", _Y, INTEREST, 0.0,
       Read.PATH, "RESERVE_INTEREST", _ENV),
    _e(f"{_SUB}.government.share", "levers", "Government subsidy: share",
       "(extension) Share of the premium the government pays", "share", _YC,
       Domain(0.0, 1.0, "a share of the premium between 0 and 1", percent=True), 0.0, Read.PATH,
       "SUBSIDY_GOV_SHARE", _DATA,
       attr="categories.*.subsidies.*.share"),
    _e(f"{_SUB}.government.amount", "levers", "Government subsidy: amount",
       "(extension) Fixed amount per member the government pays, current prices",
       "LCU per year", _YC, AMOUNT_PER_MEMBER, 0.0, Read.PATH, "SUBSIDY_GOV_AMOUNT", _DATA,
       attr="categories.*.subsidies.*.amount"),
    _e(f"{_SUB}.donor.share", "levers", "Donor subsidy: share",
       "(extension) Share of the premium a donor pays", "share", _YC,
       Domain(0.0, 1.0, "a share of the premium between 0 and 1", percent=True), 0.0, Read.PATH,
       "SUBSIDY_DONOR_SHARE", _DATA,
       attr="categories.*.subsidies.*.share"),
    _e(f"{_SUB}.donor.amount", "levers", "Donor subsidy: amount",
       "(extension) Fixed amount per member a donor pays, current prices", "LCU per year", _YC,
       AMOUNT_PER_MEMBER, 0.0, Read.PATH, "SUBSIDY_DONOR_AMOUNT", _DATA,
       attr="categories.*.subsidies.*.amount"),
    _e("coverage_target.population_share", "levers", "Coverage target",
       "(extension) Target share of the whole population insured", "share", _Y,
       Domain(0.0, 1.0, "a share of the population between 0 and 1", percent=True), REQUIRED,
       Read.PATH, "COVERAGE_TARGET", _DATA),
    _e("coverage_target.rule", "levers", "Coverage rule",
       "(extension) How the target is spread over categories", "choice", (),
       _choice(COVERAGE_RULES, "one of " + ", ".join(COVERAGE_RULES)), "close_gap_evenly",
       Read.CHOICE, "COVERAGE_RULE"),
    _e("coverage_target.categories", "levers", "Coverage categories",
       "(extension) Categories whose insured shares move to meet the target", "names", _C, NAMES,
       ALL_CATEGORIES, Read.NAMES, "COVERAGE_APPLIES"),
    _e(f"{_PAY}.method", "levers", "Payment method",
       "(extension) How the tier's providers are paid", "choice", (TIER,),
       _choice(PAYMENT_METHODS, "one of " + ", ".join(PAYMENT_METHODS)), "fee_for_service",
       Read.CHOICE, "TIER_METHOD"),
    _e(f"{_PAY}.capitation", "levers", "Capitation",
       "(extension) Amount per insured member per year, base-year prices", "LCU per year",
       (YEAR, TIER), AMOUNT_PER_MEMBER, 0.0, Read.PATH, "CAPITATION_RATE", _DATA),
    _e(f"{_PAY}.performance_bonus.share", "levers", "Performance bonus",
       "(extension) Bonus as a share of payments to the tier", "share", (YEAR, TIER),
       Domain(0.0, 1.0, "a share of payments between 0 and 1", percent=True), 0.0, Read.PATH,
       "BONUS_SHARE", _DATA,
       attr="provider_payment.*.bonus_share"),
    _e(f"{_PAY}.performance_bonus.achievement", "levers", "Bonus achievement",
       "(extension) Share of the tier's facilities meeting their targets", "share",
       (YEAR, TIER), Domain(0.0, 1.0, "a share of facilities between 0 and 1", percent=True),
       1.0, Read.PATH, "BONUS_ACHIEVEMENT", _DATA,
       attr="provider_payment.*.bonus_achievement"),
    _e("services.*.case_rate", "levers", "Case rate",
       "(extension) Payment per case, base-year prices, for a tier paid per case", "LCU", _S,
       Domain(0.0, None, "a payment per case of 0 or more"), NOT_GIVEN, Read.SCALAR,
       "CASE_RATE", _DATA),
)
# fmt: on

#: layout fields that no single entry fills: which of an input's forms a file used
DERIVED_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "VOLUME_BASIS": (_S, "which of count, rate_per_person, per_admission gives the volume"),
    "SPLIT_BY_POPULATION": (_S, "whether the count is split by population (no split given)"),
    "COST_BY_TYPE": (_S, "whether costs are given by cost type (base_year_cost)"),
    "PC_TARGET_IS_RATIO": (_S, "whether the patient cost target is a ratio"),
    "GC_TARGET_IS_RATIO": (_S, "whether the government cost target is a ratio"),
    "RATE_TARGET_IS_RATIO": ((CATEGORY, SERVICE), "whether the service rate target is a ratio"),
    "ADMIN_BASIS": ((ADMIN_ITEM,), "which of amount, share_of_payments (every_year), per_member"),
    "FLAT_PREMIUM_INDEXED_FROM": (
        (CATEGORY,),
        "year from which the flat premium follows the projection's own prices (extended horizon)",
    ),
    "SUBSIDY_GOV_AMOUNT_INDEXED_FROM": (
        (CATEGORY,),
        "year from which the government subsidy amount follows the projection's own prices",
    ),
    "SUBSIDY_DONOR_AMOUNT_INDEXED_FROM": (
        (CATEGORY,),
        "year from which the donor subsidy amount follows the projection's own prices",
    ),
}

#: the kernel's input fields in vector order: each entry's ``field`` and each of
#: :data:`DERIVED_FIELDS`, once. The kernel addresses the vector through the ``In`` enum that
#: ``python -m schemerisk.codegen`` writes from this list, so a new field goes at the END (every
#: other field keeps its position).
LAYOUT: tuple[str, ...] = (
    "POPULATION0",
    "ADMISSION_RATE",
    "INSURED_LOADING",
    "PPP",
    "GROWTH_RATE",
    "DEPENDANT_SHARE",
    "DOMESTIC_INFLATION",
    "EXTERNAL_INFLATION",
    "EXCHANGE_RATE",
    "REAL_DEPRECIATION",
    "ADULT_SHARE",
    "INCOME_GROWTH",
    "CONTRIBUTION_RATE",
    "FLAT_PREMIUM",
    "INSURED_SHARE",
    "EXEMPT_SHARE",
    "USER_FEE_EXEMPT_SHARE",
    "INCOME0",
    "OUTPATIENT_COVER",
    "INPATIENT",
    "VOLUME_BASIS",
    "VOLUME_AMOUNT",
    "LENGTH_OF_STAY",
    "SPLIT_BY_POPULATION",
    "COST_BY_TYPE",
    "PATIENT_COST0",
    "GOVERNMENT_COST0",
    "COPAYMENT_RATE",
    "PATIENT_IMPORT_SHARE",
    "GOVERNMENT_IMPORT_SHARE",
    "PC_TARGET",
    "PC_TARGET_IS_RATIO",
    "PC_TARGET_DELAY",
    "PC_TARGET_ARRIVAL",
    "GC_TARGET",
    "GC_TARGET_IS_RATIO",
    "GC_TARGET_DELAY",
    "GC_TARGET_ARRIVAL",
    "COST_TOTAL",
    "COST_GOVERNMENT_SHARE",
    "SPLIT",
    "RELATIVE_USE",
    "RATE_TARGET",
    "RATE_TARGET_IS_RATIO",
    "RATE_TARGET_DELAY",
    "RATE_TARGET_ARRIVAL",
    "ADMIN_BASIS",
    "ADMIN_VALUE",
    "ADMIN_REAL_GROWTH",
    "RESERVE_INITIAL",
    "RESERVE_INTEREST",
    "SUBSIDY_GOV_SHARE",
    "SUBSIDY_GOV_AMOUNT",
    "SUBSIDY_DONOR_SHARE",
    "SUBSIDY_DONOR_AMOUNT",
    "COVERAGE_RULE",
    "COVERAGE_TARGET",
    "COVERAGE_APPLIES",
    "SERVICE_TIER",
    "CASE_RATE",
    "TIER_METHOD",
    "CAPITATION_RATE",
    "BONUS_SHARE",
    "BONUS_ACHIEVEMENT",
    "FLAT_PREMIUM_INDEXED_FROM",
    "SUBSIDY_GOV_AMOUNT_INDEXED_FROM",
    "SUBSIDY_DONOR_AMOUNT_INDEXED_FROM",
)

_BY_KEY = {e.key: e for e in CATALOGUE}


def entry(path: tuple[str, ...] | str) -> Entry:
    """The entry at a key path.

    Parameters
    ----------
    path : tuple of str or str
        ``("categories", "*", "insured_share")`` or ``"categories.*.insured_share"``.

    Returns
    -------
    Entry
        Its declaration.

    Raises
    ------
    KeyError
        When no entry has that path.
    """
    key = path if isinstance(path, str) else ".".join(path)
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no input '{key}' in the catalogue") from None


def by_block() -> dict[str, list[Entry]]:
    """The entries of each Sheet A block, blocks and entries in sheet order.

    Returns
    -------
    dict
        Block name -> its entries (every block of :data:`BLOCKS`, even one left empty).
    """
    out: dict[str, list[Entry]] = {b: [] for b in BLOCKS}
    for e in CATALOGUE:
        out[e.block].append(e)
    return out


def keys_under(prefix: tuple[str, ...] | str) -> tuple[str, ...]:
    """The keys a file may write directly under ``prefix``, in catalogue order.

    Parameters
    ----------
    prefix : tuple of str or str
        A key path, e.g. ``("categories", "*")``; ``()`` for the top of the file.

    Returns
    -------
    tuple of str
        Each next key once, in the order of first declaration.
    """
    pre = tuple(prefix.split(".")) if isinstance(prefix, str) and prefix else tuple(prefix)
    n = len(pre)
    return tuple(
        dict.fromkeys(e.path[n] for e in CATALOGUE if len(e.path) > n and e.path[:n] == pre)
    )


__all__ = [
    "BLOCKS",
    "CATALOGUE",
    "DERIVED_FIELDS",
    "LAYOUT",
    "NOT_GIVEN",
    "REQUIRED",
    "Domain",
    "Entry",
    "Kind",
    "Read",
    "by_block",
    "entry",
    "keys_under",
]
