"""The equations of the WHO cost-sharing and premium simulation model, one function each.

Every function here implements one equation of Carrin, Ron & Murray (1993),
*Towards a Framework for Health Insurance Development in Hai Phong, Viet Nam*,
WHO/ICO/MESD.12, Annex I (restated in ``shared/spec/MODEL.md`` section 3).
They are small, pure and compiled with numba so that the one kernel in
:mod:`schemerisk.model.kernel` can call them for millions of draws; they are
equally callable from Python (the scenario parser uses :func:`target_progress`).

Units are given in brackets: [LCU] local currency units, [persons], [1/yr].
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

#: every formula of this module, by name (the kernel compiles them; tests run them plain)
FORMULAS: dict[str, Callable[..., Any]] = {}


def select(condition: Any, if_true: Any, if_false: Any) -> Any:
    """``if_true`` where ``condition`` holds, else ``if_false``, elementwise.

    Plain Python: :func:`numpy.where` (a float for scalars, so that the
    scenario parser gets numbers). Compiled: a branch. Both values are
    evaluated either way, so a formula written with ``select`` keeps every
    division's denominator non-zero itself (see :func:`target_progress`).
    """
    chosen = np.where(condition, if_true, if_false)
    return chosen[()] if chosen.ndim == 0 else chosen


def formula(fn: F) -> F:
    """Register ``fn`` as a formula: plain Python on scalars and arrays, compiled in kernels.

    pvlib's ``spa.py`` habit: one source runs with and without numba. Called
    from Python, ``fn`` is the plain function and works elementwise on numpy
    arrays (a leading axis of draws, as in ``benchmarks/numpy_model.py``).
    Once :func:`register_with_numba` has run (the kernel module runs it), a
    numba kernel that calls ``fn`` compiles ``fn`` itself for the argument
    types, and so on for the formulas it calls. Importing this module does not
    import numba.
    """
    FORMULAS[fn.__name__] = fn
    return fn


_registered: list[bool] = []


def register_with_numba() -> None:
    """Let numba compile calls to :func:`select` and to every formula (idempotent).

    Each formula becomes a numba ``overload`` whose implementation is the
    formula itself, compiled with ``error_model="numpy"`` (a division by zero
    gives inf or NaN, as numpy does, instead of raising).
    """
    if _registered:
        return
    from numba.extending import overload

    def select_typer(condition: Any, if_true: Any, if_false: Any) -> Callable[..., Any]:
        def branch(condition: Any, if_true: Any, if_false: Any) -> Any:
            return if_true if condition else if_false

        return branch

    overload(select)(select_typer)
    for fn in FORMULAS.values():
        overload(fn, jit_options={"error_model": "numpy"})(_typer_for(fn))
    _registered.append(True)


def _typer_for(fn: Callable[..., Any]) -> Callable[..., Any]:
    """numba's typing function for ``fn``: ``fn`` itself is the implementation for any types."""

    @functools.wraps(fn)  # numba checks that the typing function has fn's signature
    def typer(*args: Any) -> Callable[..., Any]:
        return fn

    return typer


@formula
def target_progress(year: float, start_year: float, arrival_year: float) -> float:
    """Fraction of the way from the base value to the target reached in ``year`` [-].

    Carrin, Ron & Murray (1993), Annex I.1 ("moving towards a target"): the value
    stays at its base level up to and including the starting year
    ``st = base year + delay``, moves by equal steps of ``(target - v_st) / (ar - st)``
    in each year ``st < y <= ar`` and stays at the target after the arrival year.
    The closed form is ``clip((y - st) / (ar - st), 0, 1)``. Paper's example: base
    1992, two years of delay, arrival 1997 gives 0, 0, 0, 1/3, 2/3, 1 for 1992-1997.

    Parameters
    ----------
    year : float
        The year being projected [yr].
    start_year : float
        Base year plus the years of delay [yr].
    arrival_year : float
        Year in which the target is reached [yr]; must be after ``start_year``.

    Returns
    -------
    float
        Share of the gap closed by ``year`` [-], in [0, 1].
    """
    # the steps are taken only when start < year < arrival, so the span is then positive
    span = select(arrival_year > start_year, arrival_year - start_year, 1.0)
    steps = (year - start_year) / span  # Annex I.1: equal steps
    # Annex I.1: the base value up to the start, the target from the arrival year on
    return select(year <= start_year, 0.0, select(year >= arrival_year, 1.0, steps))


@formula
def value_on_target_path(
    base: float, target: float, year: float, start_year: float, arrival_year: float
) -> float:
    """Value in ``year`` of a quantity moving from ``base`` to ``target`` [same unit].

    Carrin, Ron & Murray (1993), Annex I.1; see :func:`target_progress`.

    Parameters
    ----------
    base : float
        Value up to and including the starting year.
    target : float
        Value from the arrival year on.
    year, start_year, arrival_year : float
        As in :func:`target_progress` [yr].

    Returns
    -------
    float
        The value in ``year``.
    """
    return base + (target - base) * target_progress(year, start_year, arrival_year)  # Annex I.1


@formula
def grown(previous: float, rate: float) -> float:
    """A quantity one year on at a growth rate: ``x_t = x_{t-1} (1 + g_t)``.

    Used for population (Carrin et al. 1993, Annex I, population), nominal
    incomes (Section 3.4.3), price indices (Section 3.4.2) and the real growth
    of administrative costs (Section 3.4.9).

    Parameters
    ----------
    previous : float
        Value in the previous year.
    rate : float
        Growth rate this year [1/yr].

    Returns
    -------
    float
        Value this year.
    """
    return previous * (1.0 + rate)  # Carrin et al. 1993, Annex I: x_t = x_{t-1}(1+g_t)


@formula
def indexed_amount(last_amount: float, price_ratio: float) -> float:
    """An amount in current prices past the scenario's last year, kept at its real value [LCU/yr].

    (extension) schemerisk's declared rule for extending the horizon (issue 11,
    part 5; README "Longer than the scenario"): a flat premium or a fixed
    subsidy amount in a year ``t`` past the last given year ``L`` is
    ``v_t = v_L * DPI_t / DPI_L``, where ``DPI_t / DPI_L = prod_{s=L+1..t} (1 + dp_s)``
    is the ratio of the projection's own domestic price index (Carrin et al.
    1993, Section 3.4.2), built with :func:`grown` from 1 in year ``L``. Under
    uncertainty each projection uses its own drawn inflation path.

    Parameters
    ----------
    last_amount : float
        The amount in the scenario's last given year ``L`` [LCU/yr].
    price_ratio : float
        ``DPI_t / DPI_L`` [-].

    Returns
    -------
    float
        The amount in year ``t`` [LCU/yr].
    """
    return last_amount * price_ratio  # v_t = v_L DPI_t / DPI_L


@formula
def exchange_rate_ppp(
    previous: float, domestic_inflation: float, external_inflation: float, real_depreciation: float
) -> float:
    """Exchange rate by purchasing-power parity [LCU/US$].

    Carrin, Ron & Murray (1993), Section 3.4.2 (PPP switch = 1):
    ``EXR_t = EXR_{t-1} (1 + dp_t) / (1 + ep_t)``; **(extension)** times
    ``(1 + rd_t)`` for a real depreciation ``rd_t`` beyond parity (0 in the paper).

    Parameters
    ----------
    previous : float
        Exchange rate in the previous year [LCU/US$].
    domestic_inflation, external_inflation : float
        Inflation this year at home and in the exporting countries [1/yr].
    real_depreciation : float
        Departure from parity this year [1/yr]; 0 reproduces the paper.

    Returns
    -------
    float
        Exchange rate this year [LCU/US$].
    """
    parity = previous * (1.0 + domestic_inflation) / (1.0 + external_inflation)  # Section 3.4.2
    return parity * (1.0 + real_depreciation)  # extension: 0 in the paper


@formula
def current_price(
    constant_price: float,
    import_share: float,
    domestic_price_index: float,
    external_price_index: float,
    exchange_rate_index: float,
) -> float:
    """A unit cost in current prices from its constant-price value [LCU].

    Carrin, Ron & Murray (1993), Annex I.2: the domestic part ``(1 - a) pc`` is
    inflated by the domestic price index, the imported part ``a pc`` by the
    external price index and the exchange-rate index:
    ``PC_t = (1-a) pc_t DPI_t/100 + a pc_t EPI_t/100 EXRI_t/100``.

    Parameters
    ----------
    constant_price : float
        Unit cost in base-year prices [LCU].
    import_share : float
        Share of imported inputs in that cost [-].
    domestic_price_index, external_price_index, exchange_rate_index : float
        Indices, base year = 100 [-].

    Returns
    -------
    float
        Unit cost in current prices [LCU].
    """
    domestic = (1.0 - import_share) * constant_price * domestic_price_index / 100.0
    imported = import_share * constant_price * external_price_index / 100.0
    return domestic + imported * exchange_rate_index / 100.0  # Annex I.2


@formula
def premium_per_person(flat_premium: float, contribution_rate: float, income: float) -> float:
    """Premium paid per paying member of a category [LCU/yr].

    Carrin, Ron & Murray (1993), Section 3.4.4 and Annex I.3: a flat premium
    (dependants, farmers) or a contribution rate times average income (wage
    categories). A category may have both; the paper uses one or the other.

    Parameters
    ----------
    flat_premium : float
        Flat nominal premium per person [LCU/yr].
    contribution_rate : float
        Share of income paid as a contribution [-].
    income : float
        Average nominal income per person [LCU/yr].

    Returns
    -------
    float
        Premium per paying member [LCU/yr].
    """
    return flat_premium + contribution_rate * income  # Annex I.3, HIR terms


@formula
def scheme_payment_per_member(
    use_per_member: float,
    unit_patient_cost: float,
    copayment_rate: float,
    paying_members: float,
    exempted_members: float,
) -> float:
    """Insurance payments for one covered service and one category [LCU/yr].

    Carrin, Ron & Murray (1993), Annex I.3, CHS:
    ``(1 - cop_j) HSU_ij PC_j POPM_i + HSU_ij PC_j POPE_i``. Exempted members
    pay no co-payment, so the scheme pays their full patient cost.

    Parameters
    ----------
    use_per_member : float
        Services per insured person per year [1/yr].
    unit_patient_cost : float
        Patient cost per service, current prices [LCU].
    copayment_rate : float
        Share of the patient cost a paying member pays at the facility [-].
    paying_members, exempted_members : float
        Members who pay premiums, and those exempted [persons].

    Returns
    -------
    float
        Health care payments by the scheme [LCU/yr].
    """
    per_member = use_per_member * unit_patient_cost
    return (1.0 - copayment_rate) * per_member * paying_members + per_member * exempted_members


@formula
def admin_cost_current(constant_price_amount: float, domestic_price_index: float) -> float:
    """Administrative expenditure in current prices [LCU/yr].

    Carrin, Ron & Murray (1993), Annex I.2: ``AC_t = ac_t DPI_t / 100``; admin
    costs have no imported inputs.

    Parameters
    ----------
    constant_price_amount : float
        Administrative cost in base-year prices [LCU/yr].
    domestic_price_index : float
        Domestic price index, base year = 100 [-].

    Returns
    -------
    float
        Administrative cost in current prices [LCU/yr].
    """
    return constant_price_amount * domestic_price_index / 100.0  # Annex I.2


@formula
def adult_category_population(
    population: float, dependant_share: float, adult_share: float
) -> float:
    """Persons in an adult category [persons].

    Carrin, Ron & Murray (1993), Annex I, population: ``AD_t = POP_t - DEP_t``
    with ``DEP_t = d_t POP_t``, and ``POPAD_kt = s_kt AD_t``.

    Parameters
    ----------
    population : float
        Total population [persons].
    dependant_share : float
        Share of dependants in the population, d_t [-].
    adult_share : float
        The category's share of the adult population, s_kt [-].

    Returns
    -------
    float
        Persons in the category [persons].
    """
    dependants = dependant_share * population  # Annex I: DEP_t = d_t POP_t
    return adult_share * (population - dependants)  # Annex I: POPAD_kt = s_kt (POP_t - DEP_t)


@formula
def base_service_rate(
    basis: int,
    amount: float,
    length_of_stay: float,
    admission_rate: float,
    relative_use: float,
    split_by_population: bool,
    split: float,
    category_population: float,
    total_population: float,
) -> float:
    """Base-year services per person in a category, HSU_ij0 [1/yr].

    Carrin, Ron & Murray (1993), Section 3.4.6: ``HSU_ij0 = N_ij0 / POP_i0``.
    A count ``N_j0`` is split over categories in proportion to population
    (Hai Phong) or by given shares; a rate is given per person directly; an
    inpatient service may be given per admission (admission rate x share of
    admissions x length of stay, as Table 3 describes Hai Phong's volumes).

    Parameters
    ----------
    basis : int
        0 count, 1 rate per person, 2 per admission (:class:`VolumeBasis`).
    amount : float
        The count [services/yr], the rate [1/yr] or the share of admissions [-].
    length_of_stay : float
        Services per admission (days for an inpatient day) [-].
    admission_rate : float
        Admissions per person per year [1/yr].
    relative_use : float
        The category's use relative to the given rate [-].
    split_by_population : bool
        For a count: split in proportion to population.
    split : float
        For a count: the category's share of it [-].
    category_population, total_population : float
        Base-year persons in the category and in all [persons].

    Returns
    -------
    float
        Services per person per year in the base year [1/yr].
    """
    has_people = total_population > 0.0
    per_person = amount / select(has_people, total_population, 1.0)
    by_population = select(has_people, per_person, 0.0)
    empty = category_population <= 0.0
    by_split = amount * split / select(empty, 1.0, category_population)  # Section 3.4.6
    count = select(split_by_population, by_population, select(empty, 0.0, by_split))
    rate = amount * relative_use
    per_admission = admission_rate * amount * length_of_stay * relative_use  # Table 3
    return select(basis == 0, count, select(basis == 1, rate, per_admission))


@formula
def services_used(rate: float, population: float, members: float, insured_loading: float) -> float:
    """Number of services used by a category [services/yr].

    Carrin, Ron & Murray (1993), Annex I: ``N_ijt = HSU_ijt POP_it``. With the
    (extension) utilisation loading of the insured, members use
    ``loading x HSU``: ``N = HSU (POP - M) + loading HSU M`` (Section 2.2.5
    reports admissions of 8 % for the insured against 7.13 % overall).

    Parameters
    ----------
    rate : float
        Services per person per year, HSU_ijt [1/yr].
    population, members : float
        Persons in the category, and insured among them [persons].
    insured_loading : float
        Use by the insured relative to the non-insured [-]; 1 in the paper.

    Returns
    -------
    float
        Services used [services/yr].
    """
    return rate * (population - members) + rate * insured_loading * members  # Annex I: N = HSU POP


@formula
def unit_cost_from_totals(total: float, share: float, volume: float) -> float:
    """Base-year cost per service from a total cost and a share of it [LCU].

    Carrin, Ron & Murray (1993), Section 3.4.6: average government cost
    ``gc_j0 = sum_c gs_jc COST_jc / N_j0`` and patient cost
    ``pc_j0 = sum_c (1 - gs_jc) COST_jc / N_j0``; this is one term.

    Parameters
    ----------
    total : float
        Total base-year cost of one cost type [LCU/yr].
    share : float
        The part of it borne by the payer in question [-].
    volume : float
        Base-year number of services, N_j0 [services/yr].

    Returns
    -------
    float
        The term's contribution to the unit cost [LCU].
    """
    none = volume <= 0.0
    return select(none, 0.0, share * total / select(none, 1.0, volume))  # Section 3.4.6


@formula
def reserve_carried(opening: float, interest_rate: float, balance: float) -> float:
    """Reserve fund at the end of a year [LCU].

    **(extension)**, UNCERTAINTY.md section 4: ``R_t = R_{t-1} (1 + i_t) + B_t``;
    the 1993 model has no reserve (initial reserve and interest 0 give the
    cumulated balance).

    Parameters
    ----------
    opening : float
        Reserve at the start of the year [LCU].
    interest_rate : float
        Interest earned on it during the year [1/yr].
    balance : float
        The scheme's balance this year [LCU/yr].

    Returns
    -------
    float
        Reserve at the end of the year [LCU]; below 0 means the scheme is ruined.
    """
    return opening * (1.0 + interest_rate) + balance


@formula
def premium_subsidy(premium: float, share: float, amount: float, already_paid: float) -> float:
    """Part of a member's premium paid by the state or a donor [LCU/yr].

    **(extension)**, issue 6: the payer pays ``share x premium + amount``, but
    never more than what is left of the premium after earlier payers.

    Parameters
    ----------
    premium : float
        The premium per member [LCU/yr].
    share : float
        Share of the premium the payer pays [-].
    amount : float
        Fixed amount per member the payer pays [LCU/yr].
    already_paid : float
        What other payers already pay of this premium [LCU/yr].

    Returns
    -------
    float
        What this payer pays per member [LCU/yr].
    """
    return np.minimum(np.maximum(premium - already_paid, 0.0), share * premium + amount)


@formula
def insured_shares_for_target(
    rule: int,
    target: float,
    applies: np.ndarray,
    base_shares: np.ndarray,
    planned: np.ndarray,
    population: np.ndarray,
    out: np.ndarray,
) -> None:
    """Insured share of each category that meets a whole-population coverage target.

    **(extension)**, issue 6. Categories outside the target keep their planned
    shares; those inside move so that members / population equals ``target``:

    * rule 1, close the gap evenly: every category's uninsured share shrinks by
      the same factor f, ``m_i = 1 - (1 - m_i0) f``, where m_i0 is its base-year share;
    * rule 2, same share: every category in the target is insured at the same share.

    Where the target cannot be met (or is already exceeded by the fixed
    categories) the shares stop at 0 or 1; the reported coverage then shows it.

    Parameters
    ----------
    rule : int
        1 close the gap evenly, 2 same share (0: no target, planned shares kept).
    target : float
        Share of the whole population to insure [-].
    applies : numpy.ndarray
        1 for categories whose shares move, 0 otherwise.
    base_shares, planned : numpy.ndarray
        Base-year insured shares, and this year's planned shares [-].
    population : numpy.ndarray
        Persons in each category this year.
    out : numpy.ndarray
        Insured share of each category (filled) [-].
    """
    fixed_members, moving_pop, moving_gap = 0.0, 0.0, 0.0
    total = 0.0
    for i in range(out.shape[0]):
        moves = (rule != 0) & (applies[i] >= 0.5)
        total += population[i]
        fixed_members += select(moves, 0.0, planned[i] * population[i])
        moving_pop += select(moves, population[i], 0.0)
        moving_gap += select(moves, (1.0 - base_shares[i]) * population[i], 0.0)
    needed = target * total - fixed_members  # members the moving categories must supply
    # rule 1: the uninsured shares shrink by one factor f
    has_gap = moving_gap > 0.0
    f = select(has_gap, (moving_pop - needed) / select(has_gap, moving_gap, 1.0), 0.0)
    f = np.minimum(np.maximum(f, 0.0), 1.0)
    # rule 2: one share for every moving category
    can_move = moving_pop > 0.0
    same = np.minimum(np.maximum(needed / select(can_move, moving_pop, 1.0), 0.0), 1.0)
    for i in range(out.shape[0]):
        moved = select(rule == 1, 1.0 - (1.0 - base_shares[i]) * f, same)
        out[i] = select((rule != 0) & (applies[i] >= 0.5) & can_move, moved, planned[i])


# ---------------------------------------------------------------- Sheet C, term by term
# Each line of the kernel's stages that is a formula of the paper calls one of these.


@formula
def value_on_path(
    base: Any, target: Any, is_ratio: Any, delay: Any, arrival_year: Any, year: Any, base_year: Any
) -> Any:
    """A unit cost or service rate on its path to a target, or its base value [same unit].

    Carrin, Ron & Murray (1993), Annex I.1: the target is reached in
    ``arrival_year`` after ``delay`` years at the base value; a target given as
    a ratio is that multiple of the base value. A NaN target means none.

    Parameters
    ----------
    base : float
        Base-year value.
    target : float
        Target value, or ratio to the base value; NaN for no target.
    is_ratio : float
        Above 0.5 when ``target`` is a ratio.
    delay : float
        Years at the base value after the base year [yr].
    arrival_year, year, base_year : float
        Year of arrival, year projected, base year [yr].

    Returns
    -------
    float
        The value in ``year``.
    """
    goal = select(is_ratio > 0.5, target * base, target)
    moved = value_on_target_path(base, goal, year, base_year + delay, arrival_year)  # Annex I.1
    return select(np.isnan(target), base, moved)


@formula
def exchange_rate_index(exchange_rate: Any, base_exchange_rate: Any) -> Any:
    """Exchange-rate index, base year = 100 [-].

    Carrin, Ron & Murray (1993), Section 3.4.2: ``EXRI_t = 100 EXR_t / EXR_0``.

    Parameters
    ----------
    exchange_rate, base_exchange_rate : float
        This year's and the base year's exchange rates [LCU/US$].

    Returns
    -------
    float
        The index [-].
    """
    return 100.0 * exchange_rate / base_exchange_rate  # Section 3.4.2


@formula
def dependant_population(population: Any, dependant_share: Any) -> Any:
    """Dependants in the population [persons].

    Carrin, Ron & Murray (1993), Annex I, population: ``DEP_t = d_t POP_t``.

    Parameters
    ----------
    population : float
        Total population [persons].
    dependant_share : float
        Share of dependants, d_t [-].

    Returns
    -------
    float
        Dependants [persons].
    """
    return dependant_share * population  # Annex I: DEP_t = d_t POP_t


@formula
def share_of(share: Any, persons: Any) -> Any:
    """A share of a group of persons [persons].

    Carrin, Ron & Murray (1993), Annex I: members ``M_it = m_it POP_it`` (insured
    share of a category) and exempted members ``POPE_it = e_it M_it``.

    Parameters
    ----------
    share : float
        The share [-].
    persons : float
        The group [persons].

    Returns
    -------
    float
        Persons in the share [persons].
    """
    return share * persons  # Annex I: M = m POP, POPE = e M


@formula
def paying_members(members: Any, exempted: Any) -> Any:
    """Members who pay premiums [persons].

    Carrin, Ron & Murray (1993), Annex I: ``POPM_it = M_it - POPE_it``.

    Parameters
    ----------
    members, exempted : float
        Members of a category, and those exempted from premiums [persons].

    Returns
    -------
    float
        Paying members [persons].
    """
    return members - exempted  # Annex I: POPM = M - POPE


@formula
def amount_for(amount_per_person: Any, persons: Any) -> Any:
    """An amount per person times persons [LCU/yr].

    Carrin, Ron & Murray (1993), Annex I.3: a category's premium revenue is the
    premium times paying members (HIR terms); the same product gives flat
    premium revenue, subsidies per member and payments per member.

    Parameters
    ----------
    amount_per_person : float
        Amount per person [LCU/yr].
    persons : float
        Persons [persons].

    Returns
    -------
    float
        The total [LCU/yr].
    """
    return amount_per_person * persons  # Annex I.3: HIR terms


@formula
def contribution_revenue(contribution_rate: Any, income: Any, paying: Any) -> Any:
    """Revenue from income-related contributions of a category [LCU/yr].

    Carrin, Ron & Murray (1993), Section 3.4.4 and Annex I.3: ``c_it Y_it POPM_it``.

    Parameters
    ----------
    contribution_rate : float
        Share of income paid [-].
    income : float
        Average nominal income [LCU/yr].
    paying : float
        Paying members [persons].

    Returns
    -------
    float
        Contribution revenue [LCU/yr].
    """
    return contribution_rate * income * paying  # Annex I.3


@formula
def cost_of_services(services: Any, unit_cost: Any) -> Any:
    """Cost of a number of services at a unit cost [LCU/yr].

    Carrin, Ron & Murray (1993), Annex I.2: patient costs ``N_ijt PC_jt``,
    government costs ``N_ijt GC_jt`` and, at constant prices, ``N_ijt (pc + gc)``.

    Parameters
    ----------
    services : float
        Services [services/yr].
    unit_cost : float
        Cost per service [LCU].

    Returns
    -------
    float
        The cost [LCU/yr].
    """
    return services * unit_cost  # Annex I.2


@formula
def insured_use_rate(rate: Any, insured_loading: Any) -> Any:
    """Services per insured person [1/yr].

    Carrin, Ron & Murray (1993), Annex I.3 uses ``HSU_ijt`` for members;
    **(extension)** the insured use ``loading x HSU`` (1 in the paper).

    Parameters
    ----------
    rate : float
        Services per person, HSU_ijt [1/yr].
    insured_loading : float
        Use by the insured relative to the non-insured [-].

    Returns
    -------
    float
        Services per member [1/yr].
    """
    return rate * insured_loading  # extension: 1 in the paper


@formula
def uninsured_services(rate: Any, population: Any, members: Any) -> Any:
    """Services used by the non-insured of a category [services/yr].

    Carrin, Ron & Murray (1993), Annex I: ``HSU_ijt (POP_it - M_it)``.

    Parameters
    ----------
    rate : float
        Services per person, HSU_ijt [1/yr].
    population, members : float
        Persons in the category, and insured among them [persons].

    Returns
    -------
    float
        Services [services/yr].
    """
    return rate * (population - members)  # Annex I


@formula
def copayments_paid(
    copayment_rate: Any, use_per_member: Any, unit_patient_cost: Any, paying: Any
) -> Any:
    """Co-payments paid by the paying members for one service [LCU/yr].

    Carrin, Ron & Murray (1993), Section 3.5: ``cop_j HSU_ij PC_j POPM_i``.

    Parameters
    ----------
    copayment_rate : float
        Share of the patient cost paid at the facility [-].
    use_per_member : float
        Services per member [1/yr].
    unit_patient_cost : float
        Patient cost per service [LCU].
    paying : float
        Paying members [persons].

    Returns
    -------
    float
        Co-payments [LCU/yr].
    """
    return copayment_rate * use_per_member * unit_patient_cost * paying  # Section 3.5


@formula
def fees_paid(exempt_share: Any, gross_fees: Any) -> Any:
    """User fees paid by patients [LCU/yr].

    Carrin, Ron & Murray (1993), Section 3.5: the non-insured (and the insured
    for what is not covered) pay the patient cost; **(extension)** a share
    ``fe`` of them is exempted and paid by the government (Figure 1, box e).

    Parameters
    ----------
    exempt_share : float
        Share of fees exempted [-].
    gross_fees : float
        Fees before exemption [LCU/yr].

    Returns
    -------
    float
        Fees paid [LCU/yr].
    """
    return (1.0 - exempt_share) * gross_fees  # Section 3.5


@formula
def per_case_payment(case_rate: Any, use_per_member: Any, members: Any) -> Any:
    """**(extension)** Payment of a flat amount per insured case [LCU/yr].

    Carrin, Ron & Murray (1993), section 2.2.4 discusses payment methods; issue 6.

    Parameters
    ----------
    case_rate : float
        Amount per case, current prices [LCU].
    use_per_member : float
        Cases per member [1/yr].
    members : float
        Members [persons].

    Returns
    -------
    float
        Payments [LCU/yr].
    """
    return case_rate * use_per_member * members


@formula
def performance_bonus(bonus_share: Any, achievement: Any, payments: Any) -> Any:
    """**(extension)** Performance bonus paid to a tier [LCU/yr].

    Issue 6: ``share x achievement x payments`` of the tier.

    Parameters
    ----------
    bonus_share : float
        Bonus as a share of the tier's payments [-].
    achievement : float
        Share of the bonus earned [-].
    payments : float
        The tier's payments before the bonus [LCU/yr].

    Returns
    -------
    float
        The bonus [LCU/yr].
    """
    return bonus_share * achievement * payments


@formula
def provider_margin(paid: Any, bonus: Any, fee_for_service: Any) -> Any:
    """**(extension)** What a tier is paid beyond fee-for-service [LCU/yr].

    Issue 6: payments plus bonus minus what fee-for-service would have paid.

    Parameters
    ----------
    paid, bonus, fee_for_service : float
        The tier's payments, its bonus, and its fee-for-service equivalent [LCU/yr].

    Returns
    -------
    float
        The margin [LCU/yr].
    """
    return paid + bonus - fee_for_service


@formula
def total_expenditure(payments: Any, admin: Any) -> Any:
    """Total expenditure of the scheme [LCU/yr].

    Carrin, Ron & Murray (1993), Annex I.3: ``C_t = CHS_t + AC_t``.

    Parameters
    ----------
    payments, admin : float
        Health care payments and administrative cost [LCU/yr].

    Returns
    -------
    float
        Expenditure [LCU/yr].
    """
    return payments + admin  # Annex I.3


@formula
def balance(revenue: Any, expenditure: Any) -> Any:
    """Balance of the scheme [LCU/yr].

    Carrin, Ron & Murray (1993), Annex I.3: ``B_t = HIR_t - C_t``.

    Parameters
    ----------
    revenue, expenditure : float
        Premium revenue and total expenditure [LCU/yr].

    Returns
    -------
    float
        Balance [LCU/yr]; below 0 is a deficit.
    """
    return revenue - expenditure  # Annex I.3
