"""The kernel's projection written once more, vectorised with numpy over the draws.

A reference for benchmarking, not used by the product: the package has one
implementation of the model, the compiled kernel in
:mod:`schemerisk.model.kernel` (numba, one draw at a time, ``prange`` over the
draws). GitHub issue: "compare the kernel ... with an equivalent
numpy-vectorised implementation". This module is that implementation, so that
the benchmark can say what numba buys over plain numpy, and
``tests/model/test_vectorised_reference.py`` checks that the two agree.

It computes the same equations (Carrin, Ron & Murray 1993, Annex I, and the
package's extensions) as :func:`~schemerisk.model.kernel.project_one`, in the
same order and in the same sections, so that a reader can put the two side by
side. The differences are in form only:

* every quantity carries a leading draws axis: a scalar of ``project_one`` is
  an array of shape (draws,), a (year, category) field one of shape
  (draws, years, categories). Python loops remain over years, categories,
  services, admin items and tiers (a handful each, and the years are a
  recursion), never over draws;
* each branch of the kernel becomes :func:`numpy.where` over the draws, since
  every input, integer codes included (volume basis, payment method, admin
  basis, coverage rule, tier of a service...), may differ from draw to draw;
* sums are accumulated term by term in the kernel's order (not with
  ``numpy.sum``, whose pairwise summation rounds differently), and each
  expression keeps the kernel's order of operations, so the results agree with
  the kernel bit for bit on IEEE-754 hardware (numba compiles without fastmath);
* the (draws x inputs) and (draws x outputs) matrices are stored draws-first
  in memory (Fortran order), so that every input or output value is a
  contiguous vector over the draws; the rows are returned in C order, as
  ``run_kernel`` returns them.

Memory is the price: the whole (draws x inputs) matrix, the (draws x outputs)
result and a few (draws,) temporaries at once, where the kernel holds one
input vector per thread and writes into a preallocated output.
"""

from __future__ import annotations

import numpy as np

from schemerisk.model.kernel import ELEMENT, REPLACE, SCALE, SHIFT, Modifications
from schemerisk.model.layout import INPUT_DIMS, OUTPUT_DIMS, In, ModelInputs, Out, offsets
from schemerisk.scenario.types import AdminBasis, CoverageRule, PaymentMethod, VolumeBasis

_N_COST_TYPES = 4  # salaries, maintenance, pharmaceuticals, other (Section 3.4.6)
#: columns of the payment_method output dimension (layout.PAYMENT_METHODS)
_BY_FFS, _BY_CAPITATION, _BY_CASE, _BY_BONUS = 0, 1, 2, 3


# ---------------------------------------------------------------- numba's min and max


def _min(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """Python's (and numba's) ``min(a, b)``: ``a`` unless ``b < a``, so a NaN ``b`` is ignored."""
    return np.where(b < a, b, a)


def _max(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """Python's (and numba's) ``max(a, b)``: ``a`` unless ``b > a``, so a NaN ``b`` is ignored."""
    return np.where(b > a, b, a)


def _add_where(total: np.ndarray, value: np.ndarray, where: np.ndarray) -> None:
    """``total += value`` in the draws where ``where`` holds (the kernel's ``if``), in place."""
    np.add(total, value, out=total, where=where)


def _code(x: np.ndarray) -> np.ndarray:
    """An integer code stored as a float, truncated as the kernel's ``int(x)`` does."""
    return x.astype(np.int64)


# ---------------------------------------------------------------- the equations, over draws
# One function per function of schemerisk.equations, with the same order of operations.


def target_progress(year: float, start_year: np.ndarray, arrival_year: np.ndarray) -> np.ndarray:
    """Share of the gap to a target closed by ``year`` [-] (Annex I.1), per draw."""
    moving = (year - start_year) / (arrival_year - start_year)  # Annex I.1: equal steps
    return np.where(year <= start_year, 0.0, np.where(year >= arrival_year, 1.0, moving))


def value_on_target_path(
    base: np.ndarray,
    target: np.ndarray,
    year: float,
    start_year: np.ndarray,
    arrival_year: np.ndarray,
) -> np.ndarray:
    """Value in ``year`` of a quantity moving from ``base`` to ``target`` (Annex I.1)."""
    return base + (target - base) * target_progress(year, start_year, arrival_year)


def on_path(
    base: np.ndarray,
    target: np.ndarray,
    is_ratio: np.ndarray,
    delay: np.ndarray,
    arrival: np.ndarray,
    year: float,
    base_year: int,
) -> np.ndarray:
    """A unit cost or service rate on its target path (Annex I.1); a NaN target means none.

    Parameters
    ----------
    base : numpy.ndarray
        Base-year value, shape (draws,).
    target, is_ratio, delay, arrival : numpy.ndarray
        The target (a value, or a ratio to ``base`` where ``is_ratio > 0.5``),
        years of delay and arrival year, shape (draws,).
    year : float
        The year projected.
    base_year : int
        The base year.

    Returns
    -------
    numpy.ndarray
        The value in ``year``, shape (draws,).
    """
    goal = np.where(is_ratio > 0.5, target * base, target)
    moved = value_on_target_path(base, goal, year, base_year + delay, arrival)
    return np.where(np.isnan(target), base, moved)


def grown(previous: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """``x_t = x_{t-1} (1 + g_t)`` (Annex I; Sections 3.4.2, 3.4.3, 3.4.9)."""
    return previous * (1.0 + rate)


def exchange_rate_ppp(
    previous: np.ndarray,
    domestic_inflation: np.ndarray,
    external_inflation: np.ndarray,
    real_depreciation: np.ndarray,
) -> np.ndarray:
    """Exchange rate by purchasing-power parity, times the (extension) real depreciation."""
    parity = previous * (1.0 + domestic_inflation) / (1.0 + external_inflation)  # Section 3.4.2
    return parity * (1.0 + real_depreciation)


def current_price(
    constant_price: np.ndarray,
    import_share: np.ndarray | float,
    domestic_price_index: np.ndarray,
    external_price_index: np.ndarray,
    exchange_rate_index: np.ndarray,
) -> np.ndarray:
    """A unit cost in current prices: domestic part by DPI, imported by EPI x EXRI (Annex I.2)."""
    domestic = (1.0 - import_share) * constant_price * domestic_price_index / 100.0
    imported = import_share * constant_price * external_price_index / 100.0
    return domestic + imported * exchange_rate_index / 100.0


def premium_per_person(
    flat_premium: np.ndarray, contribution_rate: np.ndarray, income: np.ndarray
) -> np.ndarray:
    """Premium per paying member: flat premium plus rate x income (Annex I.3, HIR terms)."""
    return flat_premium + contribution_rate * income


def scheme_payment_per_member(
    use_per_member: np.ndarray,
    unit_patient_cost: np.ndarray,
    copayment_rate: np.ndarray,
    paying_members: np.ndarray,
    exempted_members: np.ndarray,
) -> np.ndarray:
    """Fee-for-service payments for one covered service and category (Annex I.3, CHS)."""
    per_member = use_per_member * unit_patient_cost
    return (1.0 - copayment_rate) * per_member * paying_members + per_member * exempted_members


def admin_cost_current(constant_price_amount: np.ndarray, dpi: np.ndarray) -> np.ndarray:
    """Administrative expenditure in current prices, ``AC_t = ac_t DPI_t / 100`` (Annex I.2)."""
    return constant_price_amount * dpi / 100.0


def adult_category_population(
    population: np.ndarray, dependant_share: np.ndarray, adult_share: np.ndarray
) -> np.ndarray:
    """Persons in an adult category, ``POPAD_kt = s_kt (POP_t - d_t POP_t)`` (Annex I)."""
    dependants = dependant_share * population
    return adult_share * (population - dependants)


def base_service_rate(
    basis: np.ndarray,
    amount: np.ndarray,
    length_of_stay: np.ndarray,
    admission_rate: np.ndarray,
    relative_use: np.ndarray,
    split_by_population: np.ndarray,
    split: np.ndarray,
    category_population: np.ndarray,
    total_population: np.ndarray,
) -> np.ndarray:
    """Base-year services per person in a category, HSU_ij0 (Section 3.4.6; Table 3).

    A count split by population or by given shares (``N_ij0 / POP_i0``), a rate
    per person, or admissions x share of admissions x length of stay; every
    argument has shape (draws,) (``basis`` int, ``split_by_population`` bool).
    """
    by_population = np.where(total_population > 0.0, amount / total_population, 0.0)
    by_split = np.where(category_population <= 0.0, 0.0, amount * split / category_population)
    count = np.where(split_by_population, by_population, by_split)
    per_person = amount * relative_use
    per_admission = admission_rate * amount * length_of_stay * relative_use
    return np.where(
        basis == VolumeBasis.COUNT,
        count,
        np.where(basis == VolumeBasis.RATE_PER_PERSON, per_person, per_admission),
    )


def services_used(
    rate: np.ndarray, population: np.ndarray, members: np.ndarray, insured_loading: np.ndarray
) -> np.ndarray:
    """Services used, ``N = HSU (POP - M) + loading HSU M`` (Annex I; loading: extension)."""
    return rate * (population - members) + rate * insured_loading * members


def unit_cost_from_totals(total: np.ndarray, share: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """One cost type's term of a base-year unit cost, ``share COST / N_j0`` (Section 3.4.6)."""
    return np.where(volume <= 0.0, 0.0, share * total / volume)


def reserve_carried(
    opening: np.ndarray, interest_rate: np.ndarray, balance: np.ndarray
) -> np.ndarray:
    """(extension) Reserve at the end of a year, ``R_t = R_{t-1} (1 + i_t) + B_t``."""
    return opening * (1.0 + interest_rate) + balance


def premium_subsidy(
    premium: np.ndarray,
    share: np.ndarray,
    amount: np.ndarray,
    already_paid: np.ndarray | float,
) -> np.ndarray:
    """(extension) What the state or a donor pays of a premium, capped by what is left."""
    return _min(_max(premium - already_paid, 0.0), share * premium + amount)


def insured_shares_for_target(
    rule: np.ndarray,
    target: np.ndarray,
    applies: np.ndarray,
    base_shares: np.ndarray,
    planned: np.ndarray,
    population: np.ndarray,
) -> np.ndarray:
    """(extension) Insured shares that meet a whole-population coverage target.

    :func:`schemerisk.equations.insured_shares_for_target` for every draw at
    once: rule 0 keeps the planned shares; otherwise the categories it
    ``applies`` to move, evenly closing their gap (rule 1) or to one common
    share (any other rule), clipped to [0, 1]. Where the moving categories
    have no population, every category keeps its planned share.

    Parameters
    ----------
    rule : numpy.ndarray
        int codes, shape (draws,).
    target : numpy.ndarray
        Share of the whole population to insure, shape (draws,).
    applies, base_shares, planned, population : numpy.ndarray
        Shape (draws, categories).

    Returns
    -------
    numpy.ndarray
        Insured share of each category, shape (draws, categories).
    """
    draws, n_cat = planned.shape
    no_rule = rule == CoverageRule.NONE
    shares = planned.copy()
    fixed_members = np.zeros(draws)
    moving_pop = np.zeros(draws)
    moving_gap = np.zeros(draws)
    total = np.zeros(draws)
    for i in range(n_cat):
        total += population[:, i]
        fixed = no_rule | (applies[:, i] < 0.5)
        _add_where(fixed_members, planned[:, i] * population[:, i], fixed)
        _add_where(moving_pop, population[:, i], ~fixed)
        _add_where(moving_gap, (1.0 - base_shares[:, i]) * population[:, i], ~fixed)
    moves = ~(no_rule | (moving_pop <= 0.0))  # the kernel returns early otherwise
    needed = target * total - fixed_members  # members the moving categories must supply
    factor = np.where(moving_gap > 0.0, (moving_pop - needed) / moving_gap, 0.0)
    factor = _min(_max(factor, 0.0), 1.0)
    same_share = _min(_max(needed / moving_pop, 0.0), 1.0)
    for i in range(n_cat):
        evenly = 1.0 - (1.0 - base_shares[:, i]) * factor
        moved = np.where(rule == CoverageRule.CLOSE_GAP_EVENLY, evenly, same_share)
        shares[:, i] = np.where(moves & (applies[:, i] >= 0.5), moved, shares[:, i])
    return shares


# ---------------------------------------------------------------- modifications


def _modified(mode: int, value: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The kernel's ``_modified``: the drawn value replaces, multiplies or is added to ``value``."""
    if mode == REPLACE:
        return x
    if mode == SCALE:
        return value * x
    return value + x


def apply_modifications_vectorised(
    base: np.ndarray, theta: np.ndarray, modifications: Modifications
) -> np.ndarray:
    """Every draw's input vector: the base vector changed by that draw's values.

    :func:`schemerisk.model.kernel.apply_modifications` for all draws at once.
    Row ``k`` of the table takes ``x = theta[:, column[k]]`` and changes input
    ``position[k]``: ELEMENT rows replace, scale or shift it by ``x``;
    PATH_TARGET rows add ``weight * (mode(reference, x) - reference)``; the
    result is clipped to ``[lower, upper]``. Rows that change the same
    position apply in table order: first every position's first row, then
    every position's second row, and so on; within one such round the positions
    differ, and rows of the same kind and mode change all theirs in one step.

    Parameters
    ----------
    base : numpy.ndarray
        The base input vector, shape (inputs,).
    theta : numpy.ndarray
        Sampled values, shape (draws, columns).
    modifications : Modifications
        How the columns of ``theta`` change the inputs.

    Returns
    -------
    numpy.ndarray
        Input vectors, shape (draws, inputs), stored draws-first (Fortran order).
    """
    m = modifications
    p = np.empty((theta.shape[0], base.shape[0]), order="F")
    p[...] = base
    n = len(m)
    if n == 0:
        return p
    theta = np.asfortranarray(theta)
    # rank of each row among the rows that change the same position, in table order
    order = np.argsort(m.position, kind="stable")
    rows = np.arange(n)
    first = np.ones(n, dtype=bool)
    first[1:] = m.position[order][1:] != m.position[order][:-1]
    rank = np.empty(n, dtype=np.int64)
    rank[order] = rows - np.maximum.accumulate(np.where(first, rows, 0))
    # as in the kernel: a mode other than REPLACE and SCALE shifts; a kind other than ELEMENT
    # moves the target of a path
    mode = np.where((m.mode == REPLACE) | (m.mode == SCALE), m.mode, SHIFT)
    element_row = m.kind == ELEMENT
    for r in range(int(rank.max()) + 1):
        for element in (True, False):
            for how in (REPLACE, SCALE, SHIFT):
                k = np.flatnonzero((rank == r) & (element_row == element) & (mode == how))
                if k.size == 0:
                    continue
                i, x = m.position[k], theta[:, m.column[k]]
                if element:
                    changed = _modified(how, p[:, i], x)
                else:  # the target of the path moves, and the value with it
                    ref = m.reference[k]
                    changed = p[:, i] + m.weight[k] * (_modified(how, ref, x) - ref)
                p[:, i] = _min(_max(changed, m.lower[k]), m.upper[k])
    return p


# ---------------------------------------------------------------- projection


def project_matrix(p: np.ndarray, inputs: ModelInputs) -> np.ndarray:
    """Project every draw: the output rows from the input vectors, vectorised over draws.

    :func:`schemerisk.model.kernel.project_one` with a leading draws axis,
    section by section: economy, population, membership and premiums, service
    rates and unit costs, scheme expenditure and revenue, and the structure of
    financing.

    Parameters
    ----------
    p : numpy.ndarray
        Input vectors laid out by :data:`~schemerisk.model.layout.INPUT_DIMS`,
        shape (draws, inputs).
    inputs : ModelInputs
        Their layout (offsets, dimension sizes and base year).

    Returns
    -------
    numpy.ndarray
        Output rows laid out by :data:`~schemerisk.model.layout.OUTPUT_DIMS`,
        shape (draws, row length), stored draws-first (Fortran order).
    """
    dims, off, base_year = inputs.dims, inputs.offsets, inputs.base_year
    T, C, S, A, K = dims.n_years, dims.n_categories, dims.n_services, dims.n_admin, dims.n_tiers
    D = p.shape[0]
    ooff = offsets(OUTPUT_DIMS, dims)
    o = np.zeros((D, int(ooff[-1])), order="F")

    def field(f: In) -> np.ndarray:  # a view of input f for every draw: (draws, *dims of f)
        return p[:, off[f] : off[f + 1]].reshape((D, *dims.shape(INPUT_DIMS[f])))

    def result(f: Out) -> np.ndarray:  # a writable view of output f: (draws, *dims of f)
        return o[:, ooff[f] : ooff[f + 1]].reshape((D, *dims.shape(OUTPUT_DIMS[f])))

    # ---- inputs
    pop0 = field(In.POPULATION0)
    admission_rate = field(In.ADMISSION_RATE)
    loading = field(In.INSURED_LOADING)
    ppp = field(In.PPP) > 0.5
    growth = field(In.GROWTH_RATE)
    dep_share = field(In.DEPENDANT_SHARE)
    dp = field(In.DOMESTIC_INFLATION)
    ep = field(In.EXTERNAL_INFLATION)
    exr_path = field(In.EXCHANGE_RATE)
    real_dep = field(In.REAL_DEPRECIATION)
    adult_share = field(In.ADULT_SHARE)
    income_growth = field(In.INCOME_GROWTH)
    contribution_rate = field(In.CONTRIBUTION_RATE)
    flat = field(In.FLAT_PREMIUM)
    insured_share = field(In.INSURED_SHARE)
    exempt_share = field(In.EXEMPT_SHARE)
    fee_exempt = field(In.USER_FEE_EXEMPT_SHARE)
    income0 = field(In.INCOME0)
    op_cover = field(In.OUTPATIENT_COVER)
    inpatient = field(In.INPATIENT)
    vbasis = _code(field(In.VOLUME_BASIS))
    vamount = field(In.VOLUME_AMOUNT)
    los = field(In.LENGTH_OF_STAY)
    by_pop = field(In.SPLIT_BY_POPULATION) > 0.5
    by_type = field(In.COST_BY_TYPE) > 0.5
    pc0_in = field(In.PATIENT_COST0)
    gc0_in = field(In.GOVERNMENT_COST0)
    cop = field(In.COPAYMENT_RATE)
    a_imp = field(In.PATIENT_IMPORT_SHARE)
    b_imp = field(In.GOVERNMENT_IMPORT_SHARE)
    pct, pct_r = field(In.PC_TARGET), field(In.PC_TARGET_IS_RATIO)
    pct_d, pct_a = field(In.PC_TARGET_DELAY), field(In.PC_TARGET_ARRIVAL)
    gct, gct_r = field(In.GC_TARGET), field(In.GC_TARGET_IS_RATIO)
    gct_d, gct_a = field(In.GC_TARGET_DELAY), field(In.GC_TARGET_ARRIVAL)
    cost_total = field(In.COST_TOTAL)
    cost_gs = field(In.COST_GOVERNMENT_SHARE)
    split = field(In.SPLIT)
    rel = field(In.RELATIVE_USE)
    rt, rt_r = field(In.RATE_TARGET), field(In.RATE_TARGET_IS_RATIO)
    rt_d, rt_a = field(In.RATE_TARGET_DELAY), field(In.RATE_TARGET_ARRIVAL)
    admin_basis = _code(field(In.ADMIN_BASIS))
    admin_value = field(In.ADMIN_VALUE)
    admin_growth = field(In.ADMIN_REAL_GROWTH)
    reserve0 = field(In.RESERVE_INITIAL)
    interest = field(In.RESERVE_INTEREST)
    sub_gs = field(In.SUBSIDY_GOV_SHARE)
    sub_ga = field(In.SUBSIDY_GOV_AMOUNT)
    sub_ds = field(In.SUBSIDY_DONOR_SHARE)
    sub_da = field(In.SUBSIDY_DONOR_AMOUNT)
    cov_rule = _code(field(In.COVERAGE_RULE))
    cov_target = field(In.COVERAGE_TARGET)
    cov_applies = field(In.COVERAGE_APPLIES)
    tier_of = _code(field(In.SERVICE_TIER))
    case_rate = field(In.CASE_RATE)
    tier_method = _code(field(In.TIER_METHOD))
    cap_rate = field(In.CAPITATION_RATE)
    bonus_share = field(In.BONUS_SHARE)
    bonus_achieved = field(In.BONUS_ACHIEVEMENT)

    # ---- outputs (views into o, which starts at zero as in the kernel)
    dpi = result(Out.DOMESTIC_PRICE_INDEX)
    epi = result(Out.EXTERNAL_PRICE_INDEX)
    exr = result(Out.EXCHANGE_RATE)
    pop_total = result(Out.TOTAL_POPULATION)
    patient_cost = result(Out.PATIENT_COST)
    government_cost = result(Out.GOVERNMENT_COST)
    cost_constant = result(Out.TOTAL_COST_CONSTANT)
    payments = result(Out.HEALTH_CARE_PAYMENTS)
    admin = result(Out.ADMIN_EXPENDITURE)
    expenditure = result(Out.TOTAL_EXPENDITURE)
    revenue = result(Out.PREMIUM_REVENUE)
    flat_revenue = result(Out.FLAT_PREMIUM_REVENUE)
    contribution_revenue = result(Out.CONTRIBUTION_REVENUE)
    balance = result(Out.BALANCE)
    copayments = result(Out.COPAYMENTS)
    user_fees = result(Out.USER_FEES)
    gov_financing = result(Out.GOVERNMENT_FINANCING)
    reserve = result(Out.RESERVE)
    from_members = result(Out.PREMIUM_FROM_MEMBERS)
    from_government = result(Out.PREMIUM_FROM_GOVERNMENT)
    from_donors = result(Out.PREMIUM_FROM_DONORS)
    provider_margin = result(Out.PROVIDER_MARGIN)
    by_tier = result(Out.PAYMENTS_BY_TIER)
    by_method = result(Out.PAYMENTS_BY_METHOD)
    pop = result(Out.POPULATION)
    members = result(Out.MEMBERS)
    exempted = result(Out.EXEMPTED_MEMBERS)
    income = result(Out.INCOME)
    premium = result(Out.PREMIUM)
    cat_revenue = result(Out.CATEGORY_REVENUE)
    services = result(Out.SERVICES)
    unit_pc = result(Out.UNIT_PATIENT_COST)
    unit_gc = result(Out.UNIT_GOVERNMENT_COST)

    # ---- economy (Section 3.4.2): price indices and exchange rate
    for t in range(T):
        if t == 0:
            dpi[:, 0], epi[:, 0], exr[:, 0] = 100.0, 100.0, exr_path[:, 0]
        else:
            dpi[:, t] = grown(dpi[:, t - 1], dp[:, t])
            epi[:, t] = grown(epi[:, t - 1], ep[:, t])
            parity = exchange_rate_ppp(exr[:, t - 1], dp[:, t], ep[:, t], real_dep[:, t])
            exr[:, t] = np.where(ppp, parity, exr_path[:, t])

    # ---- population (Annex I), membership, incomes (Section 3.4.3) and premium revenue
    for t in range(T):
        pop_total[:, t] = pop0 if t == 0 else grown(pop_total[:, t - 1], growth[:, t])
        for c in range(C):
            if c == 0:  # dependants come first in model order
                pop[:, t, c] = dep_share[:, t] * pop_total[:, t]  # Annex I: DEP_t = d_t POP_t
            else:
                pop[:, t, c] = adult_category_population(
                    pop_total[:, t], dep_share[:, t], adult_share[:, t, c]
                )
        # (extension) a whole-population coverage target moves the insured shares
        shares = insured_shares_for_target(
            cov_rule,
            cov_target[:, t],
            cov_applies,
            insured_share[:, 0],
            insured_share[:, t],
            pop[:, t],
        )
        for c in range(C):
            if t == 0:
                income[:, t, c] = income0[:, c]
            else:
                income[:, t, c] = grown(income[:, t - 1, c], income_growth[:, t, c])
            members[:, t, c] = shares[:, c] * pop[:, t, c]  # Annex I: M_it = m_it POP_it
            exempted[:, t, c] = exempt_share[:, t, c] * members[:, t, c]  # POPE_it = e_it M_it
            premium[:, t, c] = premium_per_person(
                flat[:, t, c], contribution_rate[:, t, c], income[:, t, c]
            )
            paying = members[:, t, c] - exempted[:, t, c]  # Annex I: POPM_it = M_it - POPE_it
            cat_revenue[:, t, c] = premium[:, t, c] * paying  # Annex I.3: HIR terms
            flat_revenue[:, t] += flat[:, t, c] * paying
            contribution_revenue[:, t] += contribution_rate[:, t, c] * income[:, t, c] * paying
            revenue[:, t] += cat_revenue[:, t, c]
            # (extension) who pays the premium: the state, a donor, the member
            by_gov = premium_subsidy(premium[:, t, c], sub_gs[:, t, c], sub_ga[:, t, c], 0.0)
            by_donor = premium_subsidy(premium[:, t, c], sub_ds[:, t, c], sub_da[:, t, c], by_gov)
            from_government[:, t] += by_gov * paying
            from_donors[:, t] += by_donor * paying
            from_members[:, t] += (premium[:, t, c] - by_gov - by_donor) * paying

    # ---- base-year service rates and unit costs (Section 3.4.6)
    hsu0 = np.empty((D, C, S), order="F")
    pc0 = np.empty((D, S), order="F")
    gc0 = np.empty((D, S), order="F")
    for s in range(S):
        volume0 = np.zeros(D)
        for c in range(C):
            hsu0[:, c, s] = base_service_rate(
                vbasis[:, s],
                vamount[:, s],
                los[:, s],
                admission_rate,
                rel[:, c, s],
                by_pop[:, s],
                split[:, c, s],
                pop[:, 0, c],
                pop_total[:, 0],
            )
            volume0 += hsu0[:, c, s] * pop[:, 0, c]  # N_j0 = sum_i HSU_ij0 POP_i0
        pc_by_type, gc_by_type = np.zeros(D), np.zeros(D)
        for k in range(_N_COST_TYPES):
            total, gov_share = cost_total[:, s, k], cost_gs[:, s, k]
            pc_by_type += unit_cost_from_totals(total, 1.0 - gov_share, volume0)
            gc_by_type += unit_cost_from_totals(total, gov_share, volume0)
        pc0[:, s] = np.where(by_type[:, s], pc_by_type, pc0_in[:, s])
        gc0[:, s] = np.where(by_type[:, s], gc_by_type, gc0_in[:, s])

    # ---- services, costs, scheme payments and financing, year by year (Annex I.2-I.3)
    admin_real = np.zeros((D, A), order="F")
    for t in range(T):
        year = float(base_year + t)
        exri = 100.0 * exr[:, t] / exr[:, 0]  # Section 3.4.2: EXRI_t = 100 EXR_t / EXR_0
        members_total = np.zeros(D)
        ffs_by_tier = np.zeros(
            (D, K), order="F"
        )  # what fee-for-service would have paid (provider margin)
        for c in range(C):
            members_total += members[:, t, c]
        for s in range(S):
            pc_const = on_path(
                pc0[:, s], pct[:, s], pct_r[:, s], pct_d[:, s], pct_a[:, s], year, base_year
            )
            gc_const = on_path(
                gc0[:, s], gct[:, s], gct_r[:, s], gct_d[:, s], gct_a[:, s], year, base_year
            )
            unit_pc[:, t, s] = current_price(pc_const, a_imp[:, s], dpi[:, t], epi[:, t], exri)
            unit_gc[:, t, s] = current_price(gc_const, b_imp[:, s], dpi[:, t], epi[:, t], exri)
            # (extension) a flat amount per insured case, in base-year prices
            case_price = current_price(case_rate[:, s], 0.0, dpi[:, t], epi[:, t], exri)
            for c in range(C):
                hsu = on_path(
                    hsu0[:, c, s],
                    rt[:, c, s],
                    rt_r[:, c, s],
                    rt_d[:, c, s],
                    rt_a[:, c, s],
                    year,
                    base_year,
                )
                n = services_used(hsu, pop[:, t, c], members[:, t, c], loading)
                services[:, t, s] += n
                patient_cost[:, t] += n * unit_pc[:, t, s]
                government_cost[:, t] += n * unit_gc[:, t, s]
                cost_constant[:, t] += n * (pc_const + gc_const)
                gov_financing[:, t] += n * unit_gc[:, t, s]  # Figure 1: government pays GC
                use_per_member = hsu * loading
                n_uninsured = hsu * (pop[:, t, c] - members[:, t, c])
                covered = (inpatient[:, s] > 0.5) | (op_cover[:, c] > 0.5)
                paying = members[:, t, c] - exempted[:, t, c]
                # the covered services: paid by the method of the service's tier
                ffs = scheme_payment_per_member(
                    use_per_member, unit_pc[:, t, s], cop[:, s], paying, exempted[:, t, c]
                )  # Annex I.3: CHS
                per_case = case_price * use_per_member * members[:, t, c]
                for k in range(K):
                    in_tier = covered & (tier_of[:, s] == k)
                    _add_where(ffs_by_tier[:, k], ffs, in_tier)
                    fee_for_service = in_tier & (tier_method[:, k] == PaymentMethod.FEE_FOR_SERVICE)
                    _add_where(by_tier[:, t, k], ffs, fee_for_service)
                    _add_where(by_method[:, t, _BY_FFS], ffs, fee_for_service)
                    by_case = in_tier & (tier_method[:, k] == PaymentMethod.PER_CASE)
                    _add_where(by_tier[:, t, k], per_case, by_case)
                    _add_where(by_method[:, t, _BY_CASE], per_case, by_case)
                copay = cop[:, s] * use_per_member * unit_pc[:, t, s] * paying  # Section 3.5
                _add_where(copayments[:, t], copay, covered)
                # the uninsured pay in full; the insured too for what is not covered
                gross_fees = np.where(covered, n_uninsured, n) * unit_pc[:, t, s]
                user_fees[:, t] += (1.0 - fee_exempt[:, t, c]) * gross_fees  # Section 3.5
                gov_financing[:, t] += fee_exempt[:, t, c] * gross_fees  # Figure 1 box e
        # (extension) capitation and performance bonuses, tier by tier (paper section 2.2.4)
        for k in range(K):
            capitation = tier_method[:, k] == PaymentMethod.CAPITATION
            capitated = np.zeros(D)  # members covered for at least one of the tier's services
            for c in range(C):
                covered_in_tier = np.zeros(D, dtype=bool)
                for s in range(S):
                    covered = (inpatient[:, s] > 0.5) | (op_cover[:, c] > 0.5)
                    covered_in_tier |= (tier_of[:, s] == k) & covered
                _add_where(capitated, members[:, t, c], covered_in_tier)
            rate = current_price(cap_rate[:, t, k], 0.0, dpi[:, t], epi[:, t], exri)
            paid = rate * capitated
            _add_where(by_tier[:, t, k], paid, capitation)
            _add_where(by_method[:, t, _BY_CAPITATION], paid, capitation)
            bonus = bonus_share[:, t, k] * bonus_achieved[:, t, k] * by_tier[:, t, k]
            provider_margin[:, t] += np.where(
                tier_method[:, k] == PaymentMethod.FEE_FOR_SERVICE,
                bonus,  # exactly 0 for the paper's fee-for-service
                by_tier[:, t, k] + bonus - ffs_by_tier[:, k],
            )
            by_tier[:, t, k] += bonus
            by_method[:, t, _BY_BONUS] += bonus
            payments[:, t] += by_tier[:, t, k]
        # administrative expenditure (Section 3.4.9, Annex I.2)
        for a in range(A):
            basis = admin_basis[:, a]
            every_year = basis == AdminBasis.SHARE_OF_PAYMENTS_EVERY_YEAR
            if t == 0:
                amount_given = (basis == AdminBasis.AMOUNT) | (basis == AdminBasis.PER_MEMBER)
                # a share of base-year payments; DPI_0 = 100, so current = constant prices
                real = np.where(amount_given, admin_value[:, a], admin_value[:, a] * payments[:, 0])
            else:
                real = grown(admin_real[:, a], admin_growth[:, t, a])
            admin_real[:, a] = np.where(every_year, admin_real[:, a], real)  # kernel: `continue`
            per_member = basis == AdminBasis.PER_MEMBER
            amount = np.where(per_member, admin_real[:, a] * members_total, admin_real[:, a])
            admin[:, t] += np.where(
                every_year,
                admin_value[:, a] * payments[:, t],
                admin_cost_current(amount, dpi[:, t]),
            )
        expenditure[:, t] = payments[:, t] + admin[:, t]  # Annex I.3: C_t = CHS_t + AC_t
        balance[:, t] = revenue[:, t] - expenditure[:, t]  # Annex I.3: B_t = HIR_t - C_t
        opening = reserve0 if t == 0 else reserve[:, t - 1]
        reserve[:, t] = reserve_carried(opening, interest[:, t], balance[:, t])  # extension
    return o


def project_vectorised(
    inputs: ModelInputs,
    theta: np.ndarray | None = None,
    modifications: Modifications | None = None,
) -> np.ndarray:
    """Project every draw with numpy: the vectorised equivalent of ``run_kernel``.

    The same arguments and result as :func:`schemerisk.model.kernel.run_kernel`
    (without ``out`` and ``keep``): the modifications are applied to a
    (draws x inputs) matrix (:func:`apply_modifications_vectorised`), then the
    model is projected for all draws at once (:func:`project_matrix`).

    Parameters
    ----------
    inputs : ModelInputs
        The base inputs (from :func:`~schemerisk.model.layout.compile_inputs`).
    theta : numpy.ndarray, optional
        Sampled values, shape (draws, columns). Default: one draw, no columns.
    modifications : Modifications, optional
        How the columns of ``theta`` change the inputs. Default: none.

    Returns
    -------
    numpy.ndarray
        Output rows, shape (draws, row length), laid out by
        :data:`~schemerisk.model.layout.OUTPUT_DIMS`: the kernel's layout.

    Raises
    ------
    ValueError
        If ``theta`` is not 2-D, or a modification names a column or an input
        position that does not exist.
    """
    mods = modifications if modifications is not None else Modifications()
    theta = np.zeros((1, 0)) if theta is None else np.asarray(theta, dtype=np.float64)
    if theta.ndim != 2:
        raise ValueError(f"theta must be 2-D (draws, columns), got shape {theta.shape}")
    if len(mods) and (mods.column.min() < 0 or mods.column.max() >= theta.shape[1]):
        raise ValueError("a modification refers to a column theta does not have")
    n_inputs = int(inputs.offsets[-1])
    if len(mods) and (mods.position.min() < 0 or mods.position.max() >= n_inputs):
        raise ValueError("a modification refers to an input position outside the vector")
    with np.errstate(all="ignore"):  # as the kernel: no warnings, inf and NaN carried through
        rows = project_matrix(apply_modifications_vectorised(inputs.vector, theta, mods), inputs)
    return np.ascontiguousarray(rows)  # C order, as run_kernel returns them (inputs freed by now)


__all__ = ["apply_modifications_vectorised", "project_matrix", "project_vectorised"]
