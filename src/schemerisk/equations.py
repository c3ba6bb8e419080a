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

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
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
    if year <= start_year:
        return 0.0
    if year >= arrival_year:  # Annex I.1: the target holds after the arrival year
        return 1.0
    return (year - start_year) / (arrival_year - start_year)  # Annex I.1: equal steps


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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
    if basis == 0:
        if split_by_population:
            return amount / total_population if total_population > 0.0 else 0.0
        if category_population <= 0.0:
            return 0.0
        return amount * split / category_population  # Section 3.4.6: N_ij0 / POP_i0
    if basis == 1:
        return amount * relative_use
    return (
        admission_rate * amount * length_of_stay * relative_use
    )  # Table 3: admissions x share x stay


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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
    if volume <= 0.0:
        return 0.0
    return share * total / volume  # Section 3.4.6


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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
    return min(max(premium - already_paid, 0.0), share * premium + amount)


@njit(cache=True)
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
        total += population[i]
        out[i] = planned[i]  # kept unless the category moves (also when none can move)
        if rule == 0 or applies[i] < 0.5:
            fixed_members += planned[i] * population[i]
        else:
            moving_pop += population[i]
            moving_gap += (1.0 - base_shares[i]) * population[i]
    if rule == 0 or moving_pop <= 0.0:
        return
    needed = target * total - fixed_members  # members the moving categories must supply
    if rule == 1:
        f = (moving_pop - needed) / moving_gap if moving_gap > 0.0 else 0.0
        f = min(max(f, 0.0), 1.0)
        for i in range(out.shape[0]):
            if applies[i] >= 0.5:
                out[i] = 1.0 - (1.0 - base_shares[i]) * f
    else:
        share = min(max(needed / moving_pop, 0.0), 1.0)
        for i in range(out.shape[0]):
            if applies[i] >= 0.5:
                out[i] = share
