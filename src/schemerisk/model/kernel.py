"""The one compiled kernel: every Sheet C result for many draws at once.

Carrin, Ron & Murray (1993), Annex I, for each draw of the inputs. The
deterministic projection, the Monte Carlo and the equilibrium solver all call
:func:`run_kernel`; there is no second implementation of the equations.

The kernel reads a base input vector laid out by :mod:`schemerisk.model.layout`
and, per draw, applies a list of *modifications* (replace, scale or shift
one position by a drawn value, or move the target of a linear path) before
projecting. A projection is a flat list of named stages (in :func:`_project_draws`, and
their lane versions in :func:`_project_block`):
indexed amounts (only when the horizon was extended), population, prices, membership and premiums, base-year rates and costs,
services and costs, payments by tier, administration, balance and reserve.
Every formula a stage uses is a function of :mod:`schemerisk.equations`.

How the hot loop is kept lean (issue 13):

* draws are projected in blocks, one per thread; a block allocates its
  scratch arrays once and reuses them for each of its draws;
* stages index the flat input vector and output row with offsets: no array
  views, no allocations per draw;
* sums are kept in local variables and each output is written once;
* stages of levers that are off in a draw (no coverage target, no premium
  subsidy, no target path, fee-for-service only) take a shorter path with the
  same results, bit for bit;
* draws go in blocks of :data:`LANES` side by side whose stages LLVM turns
  into vector instructions, each lane doing the scalar stage's arithmetic in
  the same order (see the section on lanes); a block whose draws disagree on
  a switch, and the last few draws, take the scalar stages;
* within a lane block, the hot loops hold the LANES values of each quantity as
  a tuple: read together, combined by each formula lane by lane
  (:func:`_lanewise`), sums carried in registers and written once;
* a thread fills its lane buffer with the base inputs once, and between
  blocks sets back only what a block changes (:func:`_restore_lanes`).

Kernels take arrays and scalars only and fill preallocated output rows;
:func:`run_kernel` is the checked public wrapper.

The kernel functions are written once and run two ways. Declared with
:func:`_kernel`, each stays a plain Python function of this module, and
:func:`compiled_kernels` builds numba's versions on first need. A run of fewer
draws than a lane block, in a process that has not compiled the kernel, takes
the plain functions (``project``: no numba import, nothing compiled); every
other run takes numba's. Both do the same floating-point operations in the
same order, so they give the same bits (``tests/model/test_interpreted.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from schemerisk import equations as _equations
from schemerisk.equations import (
    admin_cost_current,
    adult_category_population,
    amount_for,
    balance,
    base_service_rate,
    contribution_revenue,
    copayments_paid,
    cost_of_services,
    current_price,
    dependant_population,
    exchange_rate_index,
    exchange_rate_ppp,
    fees_paid,
    grown,
    indexed_amount,
    insured_shares_for_target,
    insured_use_rate,
    paying_members,
    per_case_payment,
    performance_bonus,
    premium_per_person,
    premium_subsidy,
    provider_margin,
    reserve_carried,
    scheme_payment_per_member,
    services_used,
    share_of,
    total_expenditure,
    uninsured_services,
    unit_cost_from_totals,
    value_on_path,
)
from schemerisk.model import layout as _layout
from schemerisk.model.layout import INPUT_DIMS, OUTPUT_DIMS, In, ModelInputs, Out, offsets

#: modification modes: the drawn value replaces, multiplies or is added to the input
REPLACE, SCALE, SHIFT = 0, 1, 2
#: modification kinds: one position, or the target of a linear path (see apply_modifications)
ELEMENT, PATH_TARGET = 0, 1

_ADMIN_AMOUNT, _ADMIN_SHARE, _ADMIN_SHARE_EVERY_YEAR, _ADMIN_PER_MEMBER = 0, 1, 2, 3
_FEE_FOR_SERVICE, _CAPITATION, _PER_CASE = 0, 1, 2

#: compile options of every kernel function: cached, releases the GIL, numpy's
#: division semantics (formulas evaluate both sides of a select; no fastmath)
_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}

#: every kernel function of this module, by name, with its numba compile options
_KERNELS: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {}

#: numba's dispatchers of :data:`_KERNELS`, once built (see :func:`compiled_kernels`)
_COMPILED: dict[str, Any] = {}

_BUILDING = threading.Lock()

#: the loop of draws run in parallel: ``range`` in Python, numba's ``prange`` once compiled
prange = range


def _kernel(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a kernel function, compiled by numba with ``options`` when first needed.

    The function itself stays plain Python, so that importing this module does
    not import numba (0.7 s) and one projection can run without compiling
    anything (see :func:`run_kernel`). :func:`compiled_kernels` builds numba's
    versions, which call each other, on first use.
    """

    def declare(fn: Callable[..., Any]) -> Any:
        _KERNELS[fn.__name__] = (fn, options)
        return fn

    return declare


# ---------------------------------------------------------------- modifications


@_kernel(cache=True, inline="always")
def _modified(mode: int, value: float, x: float) -> float:
    if mode == REPLACE:
        return x
    if mode == SCALE:
        return value * x
    return value + x


@_kernel(**_OPTIONS)
def _modify(
    p: np.ndarray,
    theta: np.ndarray,
    d: int,
    column: np.ndarray,
    position: np.ndarray,
    mode: np.ndarray,
    kind: np.ndarray,
    weight: np.ndarray,
    reference: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    stride: int = 1,
    lane: int = 0,
) -> None:
    """Apply the drawn values of row ``d`` of ``theta`` to ``p`` (see :func:`apply_modifications`).

    Input ``i`` is ``p[i * stride + lane]``: a vector of its own (the defaults), or
    lane ``lane`` of a lane buffer (``stride`` :data:`LANES`).
    """
    for k in range(column.shape[0]):
        x = theta[d, column[k]]
        i = position[k] * stride + lane
        if kind[k] == ELEMENT:
            p[i] = _modified(mode[k], p[i], x)
        else:
            ref = reference[k]
            p[i] += weight[k] * (_modified(mode[k], ref, x) - ref)
        p[i] = min(max(p[i], lower[k]), upper[k])


@_kernel(**_OPTIONS)
def apply_modifications(
    p: np.ndarray,
    theta: np.ndarray,
    column: np.ndarray,
    position: np.ndarray,
    mode: np.ndarray,
    kind: np.ndarray,
    weight: np.ndarray,
    reference: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> None:
    """Apply one draw's sampled values to an input vector, in place.

    Row ``k`` of the modification table takes the drawn value
    ``x = theta[column[k]]`` and changes input ``p[position[k]]``:

    * kind ``ELEMENT``: ``p = mode(p, x)`` (replace, scale or shift);
    * kind ``PATH_TARGET``: the position lies on a path written as a move to
      a target ``reference[k]``, a fraction ``weight[k]`` of the way there
      (Annex I.1); the target becomes ``mode(reference, x)`` and the value
      moves with it: ``p += weight * (mode(reference, x) - reference)``.

    The result is then clipped to ``[lower[k], upper[k]]`` (infinite bounds
    when the entry does not ask for clipping).

    Parameters
    ----------
    p : numpy.ndarray
        Input vector (modified in place).
    theta : numpy.ndarray
        The draw's sampled values, one per column.
    column, position, mode, kind : numpy.ndarray
        int64 arrays, one row per modification.
    weight, reference : numpy.ndarray
        float64 arrays, used by PATH_TARGET rows.
    lower, upper : numpy.ndarray
        float64 clipping bounds, one per row.
    """
    row = np.ascontiguousarray(theta).reshape((1, theta.shape[0]))
    _modify(p, row, 0, column, position, mode, kind, weight, reference, lower, upper)


# ---------------------------------------------------------------- stages
# Each stage reads the flat input vector ``p`` at the offsets ``off`` of its
# fields and writes output row ``o`` from position ``ob`` at the offsets
# ``ooff``: indices, never array views, so the loop over draws makes none.


@_kernel(**_OPTIONS)
def indexed_amounts(p: np.ndarray, off: np.ndarray, n_years: int, n_cat: int) -> None:
    """Amounts in current prices past the scenario's own years, at this projection's prices.

    (extension) The declared rule for extending the horizon (issue 11, part 5):
    a flat premium or fixed subsidy amount of category ``c`` indexed from year
    ``k = p[<field>_INDEXED_FROM + c] > 0`` is, in each year ``t >= k``,
    ``v_t = v_(k-1) DPI_t / DPI_(k-1)`` with this projection's own (drawn)
    domestic inflation (:func:`~schemerisk.equations.indexed_amount`). The same
    arithmetic as :meth:`Scenario.with_horizon`, so a projection at the plan's
    inflation reproduces the extended scenario bit for bit. Changes ``p`` in place;
    nothing to do for an unextended scenario (every ``k`` is 0).
    """
    dp = off[In.DOMESTIC_INFLATION]
    for field in range(3):
        if field == 0:
            amount, start = off[In.FLAT_PREMIUM], off[In.FLAT_PREMIUM_INDEXED_FROM]
        elif field == 1:
            amount, start = off[In.SUBSIDY_GOV_AMOUNT], off[In.SUBSIDY_GOV_AMOUNT_INDEXED_FROM]
        else:
            amount = off[In.SUBSIDY_DONOR_AMOUNT]
            start = off[In.SUBSIDY_DONOR_AMOUNT_INDEXED_FROM]
        for c in range(n_cat):
            k = int(p[start + c])
            if k <= 0 or k >= n_years:
                continue
            last = p[amount + (k - 1) * n_cat + c]
            ratio = 1.0  # DPI_t / DPI_(k-1)
            for t in range(k, n_years):
                ratio = grown(ratio, p[dp + t])
                p[amount + t * n_cat + c] = indexed_amount(last, ratio)


@_kernel(**_OPTIONS)
def population(
    p: np.ndarray,
    off: np.ndarray,
    n_years: int,
    n_cat: int,
    o: np.ndarray,
    ob: int,
    ooff: np.ndarray,
) -> None:
    """Total population and persons by category (Annex I, population)."""
    growth, dep_share = off[In.GROWTH_RATE], off[In.DEPENDANT_SHARE]
    adult_share = off[In.ADULT_SHARE]
    o_total, o_pop = ob + ooff[Out.TOTAL_POPULATION], ob + ooff[Out.POPULATION]
    total = p[off[In.POPULATION0]]
    for t in range(n_years):
        if t > 0:
            total = grown(total, p[growth + t])
        o[o_total + t] = total
        d = p[dep_share + t]
        for c in range(n_cat):
            i = t * n_cat + c
            if c == 0:  # dependants come first in model order
                o[o_pop + i] = dependant_population(total, d)
            else:
                o[o_pop + i] = adult_category_population(total, d, p[adult_share + i])


@_kernel(**_OPTIONS)
def prices(
    p: np.ndarray, off: np.ndarray, n_years: int, o: np.ndarray, ob: int, ooff: np.ndarray
) -> None:
    """Domestic and external price indices and the exchange rate (Section 3.4.2)."""
    dp, ep = off[In.DOMESTIC_INFLATION], off[In.EXTERNAL_INFLATION]
    path, real_dep = off[In.EXCHANGE_RATE], off[In.REAL_DEPRECIATION]
    ppp = p[off[In.PPP]] > 0.5
    o_dpi, o_epi = ob + ooff[Out.DOMESTIC_PRICE_INDEX], ob + ooff[Out.EXTERNAL_PRICE_INDEX]
    o_exr = ob + ooff[Out.EXCHANGE_RATE]
    dpi, epi, exr = 100.0, 100.0, p[path]
    o[o_dpi], o[o_epi], o[o_exr] = dpi, epi, exr
    for t in range(1, n_years):
        dpi = grown(dpi, p[dp + t])
        epi = grown(epi, p[ep + t])
        if ppp:
            exr = exchange_rate_ppp(exr, p[dp + t], p[ep + t], p[real_dep + t])
        else:
            exr = p[path + t]
        o[o_dpi + t], o[o_epi + t], o[o_exr + t] = dpi, epi, exr


@_kernel(**_OPTIONS)
def membership_and_premiums(
    p: np.ndarray,
    off: np.ndarray,
    n_years: int,
    n_cat: int,
    o: np.ndarray,
    ob: int,
    ooff: np.ndarray,
    shares: np.ndarray,
    base_shares: np.ndarray,
    planned: np.ndarray,
    people: np.ndarray,
    applies: np.ndarray,
) -> None:
    """Members, exempted, incomes, premiums and who pays them (Annex I, I.3; Section 3.4.3-4)."""
    C = n_cat
    insured, exempt = off[In.INSURED_SHARE], off[In.EXEMPT_SHARE]
    income0, income_growth = off[In.INCOME0], off[In.INCOME_GROWTH]
    flat_premium, contribution_rate = off[In.FLAT_PREMIUM], off[In.CONTRIBUTION_RATE]
    gov_share, gov_amount = off[In.SUBSIDY_GOV_SHARE], off[In.SUBSIDY_GOV_AMOUNT]
    donor_share, donor_amount = off[In.SUBSIDY_DONOR_SHARE], off[In.SUBSIDY_DONOR_AMOUNT]
    o_pop, o_members = ob + ooff[Out.POPULATION], ob + ooff[Out.MEMBERS]
    o_exempted, o_income = ob + ooff[Out.EXEMPTED_MEMBERS], ob + ooff[Out.INCOME]
    o_premium, o_cat_revenue = ob + ooff[Out.PREMIUM], ob + ooff[Out.CATEGORY_REVENUE]
    rule = int(p[off[In.COVERAGE_RULE]])
    if rule != 0:  # (extension) a whole-population coverage target moves the insured shares
        for c in range(C):
            applies[c] = p[off[In.COVERAGE_APPLIES] + c]
            base_shares[c] = p[insured + c]
    subsidised = False  # (extension) premium subsidies: none is the paper's case
    for i in range(n_years * C):
        if p[gov_share + i] != 0.0 or p[gov_amount + i] != 0.0:
            subsidised = True
        if p[donor_share + i] != 0.0 or p[donor_amount + i] != 0.0:
            subsidised = True
    for t in range(n_years):
        row = t * C
        if rule != 0:
            for c in range(C):
                planned[c] = p[insured + row + c]
                people[c] = o[o_pop + row + c]
            target = p[off[In.COVERAGE_TARGET] + t]
            insured_shares_for_target(rule, target, applies, base_shares, planned, people, shares)
        else:
            for c in range(C):
                shares[c] = p[insured + row + c]
        revenue, flat_revenue, contributions = 0.0, 0.0, 0.0
        from_members, from_government, from_donors = 0.0, 0.0, 0.0
        for c in range(C):
            i = row + c
            if t == 0:
                income = p[income0 + c]
            else:
                income = grown(o[o_income + i - C], p[income_growth + i])
            members = share_of(shares[c], o[o_pop + i])  # Annex I: M_it = m_it POP_it
            exempted = share_of(p[exempt + i], members)  # Annex I: POPE_it = e_it M_it
            flat, rate = p[flat_premium + i], p[contribution_rate + i]
            premium = premium_per_person(flat, rate, income)
            paying = paying_members(members, exempted)  # Annex I: POPM_it = M_it - POPE_it
            cat_revenue = amount_for(premium, paying)  # Annex I.3: HIR terms
            o[o_income + i], o[o_members + i], o[o_exempted + i] = income, members, exempted
            o[o_premium + i], o[o_cat_revenue + i] = premium, cat_revenue
            flat_revenue += amount_for(flat, paying)
            contributions += contribution_revenue(rate, income, paying)
            revenue += cat_revenue
            if subsidised:  # (extension) who pays the premium: the state, a donor, the member
                by_gov = premium_subsidy(premium, p[gov_share + i], p[gov_amount + i], 0.0)
                by_donor = premium_subsidy(premium, p[donor_share + i], p[donor_amount + i], by_gov)
                from_government += amount_for(by_gov, paying)
                from_donors += amount_for(by_donor, paying)
                from_members += amount_for(premium - by_gov - by_donor, paying)
            else:
                from_members += amount_for(premium, paying)
        o[ob + ooff[Out.PREMIUM_REVENUE] + t] = revenue
        o[ob + ooff[Out.FLAT_PREMIUM_REVENUE] + t] = flat_revenue
        o[ob + ooff[Out.CONTRIBUTION_REVENUE] + t] = contributions
        o[ob + ooff[Out.PREMIUM_FROM_MEMBERS] + t] = from_members
        o[ob + ooff[Out.PREMIUM_FROM_GOVERNMENT] + t] = from_government
        o[ob + ooff[Out.PREMIUM_FROM_DONORS] + t] = from_donors


@_kernel(**_OPTIONS)
def base_year_rates_and_costs(
    p: np.ndarray,
    off: np.ndarray,
    n_cat: int,
    n_svc: int,
    o: np.ndarray,
    ob: int,
    ooff: np.ndarray,
    hsu0: np.ndarray,
    pc0: np.ndarray,
    gc0: np.ndarray,
) -> None:
    """Base-year services per person and unit costs (Section 3.4.6): fills ``hsu0``, ``pc0``, ``gc0``."""
    C, S = n_cat, n_svc
    admission_rate = p[off[In.ADMISSION_RATE]]
    basis, amount = off[In.VOLUME_BASIS], off[In.VOLUME_AMOUNT]
    stay, by_population = off[In.LENGTH_OF_STAY], off[In.SPLIT_BY_POPULATION]
    relative_use, split = off[In.RELATIVE_USE], off[In.SPLIT]
    cost_total, cost_gov_share = off[In.COST_TOTAL], off[In.COST_GOVERNMENT_SHARE]
    o_pop = ob + ooff[Out.POPULATION]
    total0 = o[ob + ooff[Out.TOTAL_POPULATION]]
    for s in range(S):
        volume0 = 0.0
        for c in range(C):
            rate = base_service_rate(
                int(p[basis + s]),
                p[amount + s],
                p[stay + s],
                admission_rate,
                p[relative_use + c * S + s],
                p[by_population + s] > 0.5,
                p[split + c * S + s],
                o[o_pop + c],
                total0,
            )
            hsu0[c * S + s] = rate
            volume0 += amount_for(rate, o[o_pop + c])  # N_j0 = sum_i HSU_ij0 POP_i0
        if p[off[In.COST_BY_TYPE] + s] > 0.5:
            patient, government = 0.0, 0.0
            for k in range(4):
                total, gs = p[cost_total + 4 * s + k], p[cost_gov_share + 4 * s + k]
                patient += unit_cost_from_totals(total, 1.0 - gs, volume0)
                government += unit_cost_from_totals(total, gs, volume0)
            pc0[s], gc0[s] = patient, government
        else:
            pc0[s], gc0[s] = p[off[In.PATIENT_COST0] + s], p[off[In.GOVERNMENT_COST0] + s]


@_kernel(**_OPTIONS)
def services_and_costs(
    p: np.ndarray,
    off: np.ndarray,
    n_years: int,
    n_cat: int,
    n_svc: int,
    base_year: int,
    o: np.ndarray,
    ob: int,
    ooff: np.ndarray,
    hsu0: np.ndarray,
    pc0: np.ndarray,
    gc0: np.ndarray,
    used: np.ndarray,
    rates: np.ndarray,
) -> None:
    """Services used, unit costs in current prices and total costs (Annex I.1-I.2).

    Fills ``rates`` (services per person) and ``used`` (services), indexed
    ``(year, service, category)``, for :func:`payments_by_tier`.
    """
    C, S = n_cat, n_svc
    loading = p[off[In.INSURED_LOADING]]
    a_imp, b_imp = off[In.PATIENT_IMPORT_SHARE], off[In.GOVERNMENT_IMPORT_SHARE]
    pct, pct_r = off[In.PC_TARGET], off[In.PC_TARGET_IS_RATIO]
    pct_d, pct_a = off[In.PC_TARGET_DELAY], off[In.PC_TARGET_ARRIVAL]
    gct, gct_r = off[In.GC_TARGET], off[In.GC_TARGET_IS_RATIO]
    gct_d, gct_a = off[In.GC_TARGET_DELAY], off[In.GC_TARGET_ARRIVAL]
    rt, rt_r = off[In.RATE_TARGET], off[In.RATE_TARGET_IS_RATIO]
    rt_d, rt_a = off[In.RATE_TARGET_DELAY], off[In.RATE_TARGET_ARRIVAL]
    o_pop, o_members = ob + ooff[Out.POPULATION], ob + ooff[Out.MEMBERS]
    o_exr = ob + ooff[Out.EXCHANGE_RATE]
    o_upc, o_ugc = ob + ooff[Out.UNIT_PATIENT_COST], ob + ooff[Out.UNIT_GOVERNMENT_COST]
    o_services = ob + ooff[Out.SERVICES]
    for t in range(n_years):
        year = float(base_year + t)
        dpi = o[ob + ooff[Out.DOMESTIC_PRICE_INDEX] + t]
        epi = o[ob + ooff[Out.EXTERNAL_PRICE_INDEX] + t]
        exri = exchange_rate_index(o[o_exr + t], o[o_exr])
        patient_cost, government_cost, cost_constant = 0.0, 0.0, 0.0
        for s in range(S):
            pc_const, gc_const = pc0[s], gc0[s]
            if not np.isnan(p[pct + s]):  # (extension) a unit-cost target (Annex I.1)
                pc_const = value_on_path(
                    pc0[s], p[pct + s], p[pct_r + s], p[pct_d + s], p[pct_a + s], year, base_year
                )
            if not np.isnan(p[gct + s]):
                gc_const = value_on_path(
                    gc0[s], p[gct + s], p[gct_r + s], p[gct_d + s], p[gct_a + s], year, base_year
                )
            unit_pc = current_price(pc_const, p[a_imp + s], dpi, epi, exri)  # Annex I.2
            unit_gc = current_price(gc_const, p[b_imp + s], dpi, epi, exri)  # Annex I.2
            o[o_upc + t * S + s], o[o_ugc + t * S + s] = unit_pc, unit_gc
            services = 0.0
            for c in range(C):
                j = c * S + s
                rate = hsu0[j]
                if not np.isnan(p[rt + j]):  # a service-rate target (Annex I.1)
                    rate = value_on_path(
                        hsu0[j], p[rt + j], p[rt_r + j], p[rt_d + j], p[rt_a + j], year, base_year
                    )
                k = t * C + c
                n = services_used(rate, o[o_pop + k], o[o_members + k], loading)  # Annex I
                i = (t * S + s) * C + c
                rates[i], used[i] = rate, n
                services += n
                patient_cost += cost_of_services(n, unit_pc)
                government_cost += cost_of_services(n, unit_gc)
                cost_constant += cost_of_services(n, pc_const + gc_const)
            o[o_services + t * S + s] = services
        o[ob + ooff[Out.PATIENT_COST] + t] = patient_cost
        o[ob + ooff[Out.GOVERNMENT_COST] + t] = government_cost
        o[ob + ooff[Out.TOTAL_COST_CONSTANT] + t] = cost_constant


@_kernel(**_OPTIONS)
def payments_by_tier(
    p: np.ndarray,
    off: np.ndarray,
    n_years: int,
    n_cat: int,
    n_svc: int,
    n_tiers: int,
    o: np.ndarray,
    ob: int,
    ooff: np.ndarray,
    used: np.ndarray,
    rates: np.ndarray,
    tier_ffs: np.ndarray,
    tier_paid: np.ndarray,
) -> None:
    """Scheme payments by tier and method, co-payments, user fees and government financing.

    Carrin, Ron & Murray (1993), Annex I.3 (CHS), Section 3.5 and Figure 1;
    **(extension)** capitation, per-case payment and performance bonuses by
    tier (paper section 2.2.4, issue 6).
    """
    C, S, K = n_cat, n_svc, n_tiers
    loading = p[off[In.INSURED_LOADING]]
    inpatient, cover = off[In.INPATIENT], off[In.OUTPATIENT_COVER]
    copayment, fee_exempt = off[In.COPAYMENT_RATE], off[In.USER_FEE_EXEMPT_SHARE]
    tier_of, method_of = off[In.SERVICE_TIER], off[In.TIER_METHOD]
    case_rate, capitation = off[In.CASE_RATE], off[In.CAPITATION_RATE]
    bonus_share, bonus_achieved = off[In.BONUS_SHARE], off[In.BONUS_ACHIEVEMENT]
    o_pop, o_members = ob + ooff[Out.POPULATION], ob + ooff[Out.MEMBERS]
    o_exempted, o_exr = ob + ooff[Out.EXEMPTED_MEMBERS], ob + ooff[Out.EXCHANGE_RATE]
    o_upc, o_ugc = ob + ooff[Out.UNIT_PATIENT_COST], ob + ooff[Out.UNIT_GOVERNMENT_COST]
    o_by_tier, o_by_method = ob + ooff[Out.PAYMENTS_BY_TIER], ob + ooff[Out.PAYMENTS_BY_METHOD]
    for t in range(n_years):
        dpi = o[ob + ooff[Out.DOMESTIC_PRICE_INDEX] + t]
        epi = o[ob + ooff[Out.EXTERNAL_PRICE_INDEX] + t]
        exri = exchange_rate_index(o[o_exr + t], o[o_exr])
        for k in range(K):
            tier_ffs[k], tier_paid[k] = 0.0, 0.0  # tier_ffs: what fee-for-service would pay
        fee_for_service, capitated_pay, per_case, bonuses = 0.0, 0.0, 0.0, 0.0
        copayments, user_fees, gov_financing = 0.0, 0.0, 0.0
        for s in range(S):
            unit_pc, unit_gc = o[o_upc + t * S + s], o[o_ugc + t * S + s]
            in_patient = p[inpatient + s] > 0.5
            k = int(p[tier_of + s])
            method = int(p[method_of + k])
            cop = p[copayment + s]
            for c in range(C):
                i = (t * S + s) * C + c
                j = t * C + c
                n, rate = used[i], rates[i]
                gov_financing += cost_of_services(n, unit_gc)  # Figure 1: the state pays GC
                members, exempted = o[o_members + j], o[o_exempted + j]
                use_per_member = insured_use_rate(rate, loading)
                n_uninsured = uninsured_services(rate, o[o_pop + j], members)
                paying = paying_members(members, exempted)
                if in_patient or p[cover + c] > 0.5:
                    ffs = scheme_payment_per_member(
                        use_per_member, unit_pc, cop, paying, exempted
                    )  # Annex I.3: CHS
                    tier_ffs[k] += ffs
                    if method == _FEE_FOR_SERVICE:
                        tier_paid[k] += ffs
                        fee_for_service += ffs
                    elif method == _PER_CASE:  # (extension) a flat amount per insured case
                        rate_now = current_price(p[case_rate + s], 0.0, dpi, epi, exri)
                        paid = per_case_payment(rate_now, use_per_member, members)
                        tier_paid[k] += paid
                        per_case += paid
                    copayments += copayments_paid(cop, use_per_member, unit_pc, paying)
                    gross_fees = cost_of_services(n_uninsured, unit_pc)
                else:  # the insured pay in full for what is not covered
                    gross_fees = cost_of_services(n, unit_pc)
                fe = p[fee_exempt + j]
                user_fees += fees_paid(fe, gross_fees)  # Section 3.5
                gov_financing += share_of(fe, gross_fees)  # Figure 1 box e (extension)
        payments, margin = 0.0, 0.0
        for k in range(K):
            method = int(p[method_of + k])
            if method == _CAPITATION:  # (extension) members covered for one of the tier's services
                capitated = 0.0
                for c in range(C):
                    for s in range(S):
                        if int(p[tier_of + s]) == k and (
                            p[inpatient + s] > 0.5 or p[cover + c] > 0.5
                        ):
                            capitated += o[o_members + t * C + c]
                            break
                rate_now = current_price(p[capitation + t * K + k], 0.0, dpi, epi, exri)
                paid = amount_for(rate_now, capitated)
                tier_paid[k] += paid
                capitated_pay += paid
            bonus = performance_bonus(
                p[bonus_share + t * K + k], p[bonus_achieved + t * K + k], tier_paid[k]
            )
            if method == _FEE_FOR_SERVICE:
                margin += bonus  # exactly 0 for the paper's fee-for-service
            else:
                margin += provider_margin(tier_paid[k], bonus, tier_ffs[k])
            tier_paid[k] += bonus
            bonuses += bonus
            payments += tier_paid[k]
            o[o_by_tier + t * K + k] = tier_paid[k]
        o[o_by_method + 4 * t] = fee_for_service
        o[o_by_method + 4 * t + 1] = capitated_pay
        o[o_by_method + 4 * t + 2] = per_case
        o[o_by_method + 4 * t + 3] = bonuses
        o[ob + ooff[Out.HEALTH_CARE_PAYMENTS] + t] = payments
        o[ob + ooff[Out.PROVIDER_MARGIN] + t] = margin
        o[ob + ooff[Out.COPAYMENTS] + t] = copayments
        o[ob + ooff[Out.USER_FEES] + t] = user_fees
        o[ob + ooff[Out.GOVERNMENT_FINANCING] + t] = gov_financing


@_kernel(**_OPTIONS)
def administration(
    p: np.ndarray,
    off: np.ndarray,
    n_years: int,
    n_cat: int,
    n_admin: int,
    o: np.ndarray,
    ob: int,
    ooff: np.ndarray,
    admin_real: np.ndarray,
) -> None:
    """Administrative expenditure (Section 3.4.9, Annex I.2); ``admin_real`` is scratch."""
    A = n_admin
    basis_of, value_of = off[In.ADMIN_BASIS], off[In.ADMIN_VALUE]
    real_growth = off[In.ADMIN_REAL_GROWTH]
    o_members, o_payments = ob + ooff[Out.MEMBERS], ob + ooff[Out.HEALTH_CARE_PAYMENTS]
    o_dpi = ob + ooff[Out.DOMESTIC_PRICE_INDEX]
    for t in range(n_years):
        members_total = 0.0
        for c in range(n_cat):
            members_total += o[o_members + t * n_cat + c]
        admin = 0.0
        for a in range(A):
            basis, value = int(p[basis_of + a]), p[value_of + a]
            if basis == _ADMIN_SHARE_EVERY_YEAR:
                admin += share_of(value, o[o_payments + t])
                continue
            if t == 0:
                if basis == _ADMIN_AMOUNT or basis == _ADMIN_PER_MEMBER:
                    admin_real[a] = value
                else:  # share of base-year payments; DPI_0 = 100, so current = constant prices
                    admin_real[a] = share_of(value, o[o_payments])
            else:
                admin_real[a] = grown(admin_real[a], p[real_growth + t * A + a])
            if basis == _ADMIN_PER_MEMBER:
                amount = amount_for(admin_real[a], members_total)
            else:
                amount = admin_real[a]
            admin += admin_cost_current(amount, o[o_dpi + t])
        o[ob + ooff[Out.ADMIN_EXPENDITURE] + t] = admin


@_kernel(**_OPTIONS)
def balance_and_reserve(
    p: np.ndarray, off: np.ndarray, n_years: int, o: np.ndarray, ob: int, ooff: np.ndarray
) -> None:
    """Total expenditure, balance (Annex I.3) and the reserve fund (extension)."""
    interest = off[In.RESERVE_INTEREST]
    reserve = p[off[In.RESERVE_INITIAL]]
    for t in range(n_years):
        expenditure = total_expenditure(
            o[ob + ooff[Out.HEALTH_CARE_PAYMENTS] + t], o[ob + ooff[Out.ADMIN_EXPENDITURE] + t]
        )  # Annex I.3: C_t = CHS_t + AC_t
        b = balance(o[ob + ooff[Out.PREMIUM_REVENUE] + t], expenditure)  # B_t = HIR_t - C_t
        reserve = reserve_carried(reserve, p[interest + t], b)  # extension
        o[ob + ooff[Out.TOTAL_EXPENDITURE] + t] = expenditure
        o[ob + ooff[Out.BALANCE] + t] = b
        o[ob + ooff[Out.RESERVE] + t] = reserve


# ---------------------------------------------------------------- lanes: blocks of LANES draws
# The same stages for LANES draws at once (issue 13, "SIMD-friendly blocks").
# Every array holds the LANES draws of one value side by side: input ``i`` of
# lane ``l`` is ``P[i * LANES + l]``, output ``j`` is ``O[j * LANES + l]``. Each
# stage's innermost loop runs over the lanes, so LLVM turns it into vector
# instructions (AVX2: 4 doubles). Each lane performs exactly the operations of
# the scalar stage above, in the same order (IEEE arithmetic is elementwise, so
# the results are the same bits); sums over categories or services stay in the
# scalar order within each lane. The lanes' indices are unsigned: numba then
# emits no negative-index wraparound, which would otherwise stop LLVM from
# seeing consecutive addresses. Control flow that depends on an input (a
# switch, a tier, a payment method) is read from lane 0: the block runs here
# only when every lane agrees on every switch (see ``_lanes_agree``).

#: draws projected side by side in one lane block (4 doubles fill an AVX2 register)
LANES = 4


@_kernel(cache=True, inline="always")
def _ix(i: int) -> Any:
    """Index of lane 0 of value ``i`` in a lane array (unsigned: no wraparound)."""
    return np.uint64(i) * np.uint64(LANES)


# A lane block's values as tuples of LANES floats. Read together (:func:`_get`), combined
# lane by lane and written together (:func:`_put`), each lane's arithmetic is a separate
# scalar expression that no store to the lane array comes between: LLVM's SLP vectoriser
# then packs the LANES expressions into vector instructions, and sums carried in tuples
# stay in registers. The functions are written out for LANES (one expression per lane),
# from one template, and inlined where they are called.


def _written_out(
    name: str, params: list[str], body: str, doc: str, statement: bool = False
) -> Callable[..., Any]:
    """Declare kernel function ``name(params)``: ``body`` written out for each lane.

    ``body`` is one lane's expression, with ``{k}`` for the lane and ``{u}``
    for it as an unsigned index; the function returns the tuple of the LANES
    expressions, or with ``statement`` runs them one after another.
    """
    lanes = [body.format(k=k, u=f"np.uint64({k})") for k in range(LANES)]
    if statement:
        code = "\n    ".join(lanes)
    else:
        code = f"return ({', '.join(lanes)},)"
    source = f"def {name}({', '.join(params)}):\n    {code}\n"
    scope: dict[str, Any] = {}
    exec(compile(source, __file__, "exec"), globals(), scope)  # our own template, above
    fn = scope[name]
    fn.__doc__ = doc
    globals()[name] = _kernel(cache=True, inline="always")(fn)
    return fn


_get = _written_out("_get", ["W", "i"], "W[i + {u}]", "The LANES values of ``W`` from ``i``.")
_put = _written_out(
    "_put", ["W", "i", "v"], "W[i + {u}] = v[{k}]", "Write the LANES values ``v`` to ``W``.", True
)
_plus = _written_out("_plus", ["a", "b"], "a[{k}] + b[{k}]", "Lane by lane ``a + b``.")
#: the tuple of LANES zeros
_ZERO = (0.0,) * LANES
#: no lane set (see :func:`_any_set`)
_NONE_SET = (False,) * LANES
_any_set = _written_out(
    "_any_set",
    ["already", "a", "b", "c", "d"],
    "already[{k}] | (a[{k}] != 0.0) | (b[{k}] != 0.0) | (c[{k}] != 0.0) | (d[{k}] != 0.0)",
    "Lane by lane: set ``already``, or any of ``a`` to ``d`` not zero.",
)


def _lanewise(formula: Callable[..., Any]) -> Callable[..., Any]:
    """``formula`` of :mod:`schemerisk.equations` lane by lane: each argument a tuple of LANES values."""
    params = list(inspect.signature(formula).parameters)
    one_lane = f"{formula.__name__}({', '.join(f'{p}[{{k}}]' for p in params)})"
    name = f"_{formula.__name__}_lanes"
    return _written_out(name, params, one_lane, f":func:`{formula.__name__}` lane by lane.")


_services_used_lanes = _lanewise(services_used)
_cost_of_services_lanes = _lanewise(cost_of_services)
_insured_use_rate_lanes = _lanewise(insured_use_rate)
_uninsured_services_lanes = _lanewise(uninsured_services)
_paying_members_lanes = _lanewise(paying_members)
_scheme_payment_per_member_lanes = _lanewise(scheme_payment_per_member)
_copayments_paid_lanes = _lanewise(copayments_paid)
_fees_paid_lanes = _lanewise(fees_paid)
_share_of_lanes = _lanewise(share_of)
_grown_lanes = _lanewise(grown)
_admin_cost_current_lanes = _lanewise(admin_cost_current)
_dependant_population_lanes = _lanewise(dependant_population)
_adult_category_population_lanes = _lanewise(adult_category_population)
_premium_per_person_lanes = _lanewise(premium_per_person)
_amount_for_lanes = _lanewise(amount_for)
_contribution_revenue_lanes = _lanewise(contribution_revenue)


@_kernel(**_OPTIONS)
def _lanes_agree(P: np.ndarray, position: np.ndarray, switch: np.ndarray) -> bool:
    """True when every lane holds the same value at every modified switch position.

    Lanes start from the same base vector, so only modified positions can
    differ. A switch (``switch[i]`` 1: an integer code, a yes/no or the
    index a year starts from) must be equal in all lanes, or NaN in all.
    """
    for k in range(position.shape[0]):
        i = position[k]
        if switch[i] == 0:
            continue
        first = P[_ix(i)]
        for lane in range(1, LANES):
            x = P[_ix(i) + np.uint64(lane)]
            if not (x == first or (np.isnan(x) and np.isnan(first))):
                return False
    return True


@_kernel(**_OPTIONS)
def _restore_lanes(P: np.ndarray, base: np.ndarray, position: np.ndarray, off: np.ndarray) -> None:
    """Set back to ``base`` every input of ``P`` that a lane block may have changed.

    Those are the modified positions (``position``) and the amounts
    :func:`indexed_amounts_lanes` writes over (flat premiums and the state's and
    donors' subsidy amounts, every year and category). Every other input of a
    lane block is still its base value: the stages write only outputs and scratch.
    """
    for k in range(position.shape[0]):
        i = position[k]
        b = base[i]
        for lane in range(LANES):
            P[_ix(i) + np.uint64(lane)] = b
    for field in range(3):
        if field == 0:
            first, stop = off[In.FLAT_PREMIUM], off[In.FLAT_PREMIUM + 1]
        elif field == 1:
            first, stop = off[In.SUBSIDY_GOV_AMOUNT], off[In.SUBSIDY_GOV_AMOUNT + 1]
        else:
            first, stop = off[In.SUBSIDY_DONOR_AMOUNT], off[In.SUBSIDY_DONOR_AMOUNT + 1]
        for i in range(first, stop):
            b = base[i]
            for lane in range(LANES):
                P[_ix(i) + np.uint64(lane)] = b


@_kernel(**_OPTIONS)
def _fill_lanes(
    P: np.ndarray,
    base: np.ndarray,
    theta: np.ndarray,
    d: int,
    column: np.ndarray,
    position: np.ndarray,
    mode: np.ndarray,
    kind: np.ndarray,
    weight: np.ndarray,
    reference: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> None:
    """Lane ``lane`` of ``P`` becomes the input vector of draw ``d + lane`` (see :func:`_modify`)."""
    for i in range(base.shape[0]):
        b = base[i]
        for lane in range(LANES):
            P[_ix(i) + np.uint64(lane)] = b
    _modify_lanes(P, theta, d, column, position, mode, kind, weight, reference, lower, upper)


@_kernel(**_OPTIONS)
def _modify_lanes(
    P: np.ndarray,
    theta: np.ndarray,
    d: int,
    column: np.ndarray,
    position: np.ndarray,
    mode: np.ndarray,
    kind: np.ndarray,
    weight: np.ndarray,
    reference: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> None:
    """Apply draw ``d + lane``'s modifications to lane ``lane`` of ``P`` (see :func:`_modify`)."""
    for lane in range(LANES):
        _modify(
            P, theta, d + lane, column, position, mode, kind, weight, reference, lower, upper,
            LANES, lane,
        )  # fmt: skip


@_kernel(**_OPTIONS)
def indexed_amounts_lanes(
    W: np.ndarray, off: np.ndarray, n_years: int, n_cat: int, r0: int
) -> None:
    """:func:`indexed_amounts` for a lane block; value ``r0`` of ``W`` is scratch."""
    i_r = _ix(r0)
    dp = off[In.DOMESTIC_INFLATION]
    for field in range(3):
        if field == 0:
            amount, start = off[In.FLAT_PREMIUM], off[In.FLAT_PREMIUM_INDEXED_FROM]
        elif field == 1:
            amount, start = off[In.SUBSIDY_GOV_AMOUNT], off[In.SUBSIDY_GOV_AMOUNT_INDEXED_FROM]
        else:
            amount = off[In.SUBSIDY_DONOR_AMOUNT]
            start = off[In.SUBSIDY_DONOR_AMOUNT_INDEXED_FROM]
        for c in range(n_cat):
            k = int(W[_ix(start + c)])
            if k <= 0 or k >= n_years:
                continue
            last = _ix(amount + (k - 1) * n_cat + c)
            for lane in range(LANES):
                W[i_r + np.uint64(lane)] = 1.0  # DPI_t / DPI_(k-1)
            for t in range(k, n_years):
                i_dp, i_v = _ix(dp + t), _ix(amount + t * n_cat + c)
                for lane in range(LANES):
                    u = np.uint64(lane)
                    W[i_r + u] = grown(W[i_r + u], W[i_dp + u])
                    W[i_v + u] = indexed_amount(W[last + u], W[i_r + u])


@_kernel(**_OPTIONS)
def population_lanes(
    W: np.ndarray, off: np.ndarray, n_years: int, n_cat: int, ooff: np.ndarray
) -> None:
    """:func:`population` for a lane block."""
    growth, dep_share = off[In.GROWTH_RATE], off[In.DEPENDANT_SHARE]
    adult_share = off[In.ADULT_SHARE]
    o_total, o_pop = ooff[Out.TOTAL_POPULATION], ooff[Out.POPULATION]
    total = _get(W, _ix(off[In.POPULATION0]))
    for t in range(n_years):
        if t > 0:
            total = _grown_lanes(total, _get(W, _ix(growth + t)))
        _put(W, _ix(o_total + t), total)
        dependants = _get(W, _ix(dep_share + t))
        _put(W, _ix(o_pop + t * n_cat), _dependant_population_lanes(total, dependants))
        for c in range(1, n_cat):
            i = t * n_cat + c
            adults = _adult_category_population_lanes(
                total, dependants, _get(W, _ix(adult_share + i))
            )
            _put(W, _ix(o_pop + i), adults)


@_kernel(**_OPTIONS)
def prices_lanes(W: np.ndarray, off: np.ndarray, n_years: int, ooff: np.ndarray) -> None:
    """:func:`prices` for a lane block."""
    dp, ep = off[In.DOMESTIC_INFLATION], off[In.EXTERNAL_INFLATION]
    path, real_dep = off[In.EXCHANGE_RATE], off[In.REAL_DEPRECIATION]
    ppp = W[_ix(off[In.PPP])] > 0.5
    o_dpi, o_epi = ooff[Out.DOMESTIC_PRICE_INDEX], ooff[Out.EXTERNAL_PRICE_INDEX]
    o_exr = ooff[Out.EXCHANGE_RATE]
    step = np.uint64(LANES)
    for lane in range(LANES):
        u = np.uint64(lane)
        W[_ix(o_dpi) + u], W[_ix(o_epi) + u] = 100.0, 100.0
        W[_ix(o_exr) + u] = W[_ix(path) + u]
    for t in range(1, n_years):
        i_dpi, i_epi, i_exr = _ix(o_dpi + t), _ix(o_epi + t), _ix(o_exr + t)
        i_dp, i_ep = _ix(dp + t), _ix(ep + t)
        for lane in range(LANES):
            u = np.uint64(lane)
            W[i_dpi + u] = grown(W[i_dpi - step + u], W[i_dp + u])
            W[i_epi + u] = grown(W[i_epi - step + u], W[i_ep + u])
        if ppp:
            i_rd = _ix(real_dep + t)
            for lane in range(LANES):
                u = np.uint64(lane)
                W[i_exr + u] = exchange_rate_ppp(
                    W[i_exr - step + u], W[i_dp + u], W[i_ep + u], W[i_rd + u]
                )
        else:
            i_path = _ix(path + t)
            for lane in range(LANES):
                u = np.uint64(lane)
                W[i_exr + u] = W[i_path + u]


@_kernel(**_OPTIONS)
def membership_and_premiums_lanes(
    W: np.ndarray,
    off: np.ndarray,
    n_years: int,
    n_cat: int,
    ooff: np.ndarray,
    sh0: int,
    acc0: int,
    flag0: int,
    shares: np.ndarray,
    base_shares: np.ndarray,
    planned: np.ndarray,
    people: np.ndarray,
    applies: np.ndarray,
) -> None:
    """:func:`membership_and_premiums` for a lane block.

    From value ``sh0`` of ``W`` on: the year's insured shares (one per
    category); from ``acc0``: the year's sums (6); at ``flag0``: whether a
    lane's premiums are subsidised. The arrays are scratch of one lane for
    :func:`~schemerisk.equations.insured_shares_for_target`.
    """
    C = n_cat
    insured, exempt = off[In.INSURED_SHARE], off[In.EXEMPT_SHARE]
    income0, income_growth = off[In.INCOME0], off[In.INCOME_GROWTH]
    flat_premium, contribution_rate = off[In.FLAT_PREMIUM], off[In.CONTRIBUTION_RATE]
    gov_share, gov_amount = off[In.SUBSIDY_GOV_SHARE], off[In.SUBSIDY_GOV_AMOUNT]
    donor_share, donor_amount = off[In.SUBSIDY_DONOR_SHARE], off[In.SUBSIDY_DONOR_AMOUNT]
    o_pop, o_members = ooff[Out.POPULATION], ooff[Out.MEMBERS]
    o_exempted, o_income = ooff[Out.EXEMPTED_MEMBERS], ooff[Out.INCOME]
    o_premium, o_cat_revenue = ooff[Out.PREMIUM], ooff[Out.CATEGORY_REVENUE]
    rule = int(W[_ix(off[In.COVERAGE_RULE])])
    # (extension) premium subsidies, lane by lane: none is the paper's case
    subsidised = _NONE_SET
    for i in range(n_years * C):
        subsidised = _any_set(
            subsidised,
            _get(W, _ix(gov_share + i)),
            _get(W, _ix(gov_amount + i)),
            _get(W, _ix(donor_share + i)),
            _get(W, _ix(donor_amount + i)),
        )
    any_subsidy = False
    for lane in range(LANES):
        W[_ix(flag0) + np.uint64(lane)] = 1.0 if subsidised[lane] else 0.0
        any_subsidy = any_subsidy or subsidised[lane]
    a_rev = _ix(acc0)  # the year's sums by who pays (with subsidies): from acc0 + 3
    a_members, a_gov, a_donors = _ix(acc0 + 3), _ix(acc0 + 4), _ix(acc0 + 5)
    for t in range(n_years):
        row = t * C
        if rule != 0:
            for lane in range(LANES):
                u = np.uint64(lane)
                for c in range(C):
                    applies[c] = W[_ix(off[In.COVERAGE_APPLIES] + c) + u]
                    base_shares[c] = W[_ix(insured + c) + u]
                    planned[c] = W[_ix(insured + row + c) + u]
                    people[c] = W[_ix(o_pop + row + c) + u]
                target = W[_ix(off[In.COVERAGE_TARGET] + t) + u]
                insured_shares_for_target(
                    rule, target, applies, base_shares, planned, people, shares
                )
                for c in range(C):
                    W[_ix(sh0 + c) + u] = shares[c]
        else:
            for c in range(C):
                i_sh, i_ins = _ix(sh0 + c), _ix(insured + row + c)
                for lane in range(LANES):
                    u = np.uint64(lane)
                    W[i_sh + u] = W[i_ins + u]
        for j in range(6 * LANES):
            W[a_rev + np.uint64(j)] = 0.0
        revenue, flat_revenue, contributions, from_members = _ZERO, _ZERO, _ZERO, _ZERO
        for c in range(C):
            i = row + c
            i_income = _ix(o_income + i)
            if t == 0:
                income = _get(W, _ix(income0 + c))
            else:
                income = _grown_lanes(
                    _get(W, _ix(o_income + i - C)), _get(W, _ix(income_growth + i))
                )
            _put(W, i_income, income)
            i_members, i_exempted = _ix(o_members + i), _ix(o_exempted + i)
            i_premium = _ix(o_premium + i)
            # Annex I: M_it = m_it POP_it, POPE_it = e_it M_it, POPM_it = M_it - POPE_it
            members = _share_of_lanes(_get(W, _ix(sh0 + c)), _get(W, _ix(o_pop + i)))
            exempted = _share_of_lanes(_get(W, _ix(exempt + i)), members)
            flat, rate = _get(W, _ix(flat_premium + i)), _get(W, _ix(contribution_rate + i))
            premium = _premium_per_person_lanes(flat, rate, income)
            paying = _paying_members_lanes(members, exempted)
            category_revenue = _amount_for_lanes(premium, paying)  # Annex I.3: HIR terms
            _put(W, i_members, members)
            _put(W, i_exempted, exempted)
            _put(W, i_premium, premium)
            _put(W, _ix(o_cat_revenue + i), category_revenue)
            flat_revenue = _plus(flat_revenue, _amount_for_lanes(flat, paying))
            contributions = _plus(contributions, _contribution_revenue_lanes(rate, income, paying))
            revenue = _plus(revenue, category_revenue)
            if any_subsidy:  # (extension) who pays the premium: the state, a donor, the member
                i_gs, i_ga = _ix(gov_share + i), _ix(gov_amount + i)
                i_ds, i_da = _ix(donor_share + i), _ix(donor_amount + i)
                for lane in range(LANES):
                    u = np.uint64(lane)
                    premium_now = W[i_premium + u]
                    paying_now = paying_members(W[i_members + u], W[i_exempted + u])
                    if W[_ix(flag0) + u] != 0.0:
                        by_gov = premium_subsidy(premium_now, W[i_gs + u], W[i_ga + u], 0.0)
                        by_donor = premium_subsidy(premium_now, W[i_ds + u], W[i_da + u], by_gov)
                        W[a_gov + u] += amount_for(by_gov, paying_now)
                        W[a_donors + u] += amount_for(by_donor, paying_now)
                        W[a_members + u] += amount_for(premium_now - by_gov - by_donor, paying_now)
                    else:
                        W[a_members + u] += amount_for(premium_now, paying_now)
            else:
                from_members = _plus(from_members, _amount_for_lanes(premium, paying))
        _put(W, _ix(ooff[Out.PREMIUM_REVENUE] + t), revenue)
        _put(W, _ix(ooff[Out.FLAT_PREMIUM_REVENUE] + t), flat_revenue)
        _put(W, _ix(ooff[Out.CONTRIBUTION_REVENUE] + t), contributions)
        if any_subsidy:
            from_members = _get(W, a_members)
        _put(W, _ix(ooff[Out.PREMIUM_FROM_MEMBERS] + t), from_members)
        _put(W, _ix(ooff[Out.PREMIUM_FROM_GOVERNMENT] + t), _get(W, a_gov))
        _put(W, _ix(ooff[Out.PREMIUM_FROM_DONORS] + t), _get(W, a_donors))


@_kernel(**_OPTIONS)
def base_year_rates_and_costs_lanes(
    W: np.ndarray,
    off: np.ndarray,
    n_cat: int,
    n_svc: int,
    ooff: np.ndarray,
    hsu0: int,
    pc0: int,
    gc0: int,
    acc0: int,
) -> None:
    """:func:`base_year_rates_and_costs` for a lane block.

    Fills the values of ``W`` from ``hsu0`` (categories x services), ``pc0``
    and ``gc0`` (services); 3 values from ``acc0`` are scratch.
    """
    C, S = n_cat, n_svc
    i_adm = _ix(off[In.ADMISSION_RATE])
    basis, amount = off[In.VOLUME_BASIS], off[In.VOLUME_AMOUNT]
    stay, by_population = off[In.LENGTH_OF_STAY], off[In.SPLIT_BY_POPULATION]
    relative_use, split = off[In.RELATIVE_USE], off[In.SPLIT]
    cost_total, cost_gov_share = off[In.COST_TOTAL], off[In.COST_GOVERNMENT_SHARE]
    o_pop = ooff[Out.POPULATION]
    i_total0 = _ix(ooff[Out.TOTAL_POPULATION])
    a_volume, a_patient, a_government = _ix(acc0), _ix(acc0 + 1), _ix(acc0 + 2)
    for s in range(S):
        i_basis, i_amount, i_stay = _ix(basis + s), _ix(amount + s), _ix(stay + s)
        i_by_pop = _ix(by_population + s)
        for lane in range(LANES):
            W[a_volume + np.uint64(lane)] = 0.0
        for c in range(C):
            i_rel, i_split = _ix(relative_use + c * S + s), _ix(split + c * S + s)
            i_pop, i_hsu = _ix(o_pop + c), _ix(hsu0 + c * S + s)
            for lane in range(LANES):
                u = np.uint64(lane)
                rate = base_service_rate(
                    int(W[i_basis + u]),
                    W[i_amount + u],
                    W[i_stay + u],
                    W[i_adm + u],
                    W[i_rel + u],
                    W[i_by_pop + u] > 0.5,
                    W[i_split + u],
                    W[i_pop + u],
                    W[i_total0 + u],
                )
                W[i_hsu + u] = rate
                W[a_volume + u] += amount_for(rate, W[i_pop + u])  # N_j0 = sum_i HSU_ij0 POP_i0
        i_pc0, i_gc0 = _ix(pc0 + s), _ix(gc0 + s)
        if W[_ix(off[In.COST_BY_TYPE] + s)] > 0.5:
            for lane in range(LANES):
                u = np.uint64(lane)
                W[a_patient + u], W[a_government + u] = 0.0, 0.0
            for k in range(4):
                i_t, i_gs = _ix(cost_total + 4 * s + k), _ix(cost_gov_share + 4 * s + k)
                for lane in range(LANES):
                    u = np.uint64(lane)
                    total, gs, volume0 = W[i_t + u], W[i_gs + u], W[a_volume + u]
                    W[a_patient + u] += unit_cost_from_totals(total, 1.0 - gs, volume0)
                    W[a_government + u] += unit_cost_from_totals(total, gs, volume0)
            for lane in range(LANES):
                u = np.uint64(lane)
                W[i_pc0 + u], W[i_gc0 + u] = W[a_patient + u], W[a_government + u]
        else:
            i_pc, i_gc = _ix(off[In.PATIENT_COST0] + s), _ix(off[In.GOVERNMENT_COST0] + s)
            for lane in range(LANES):
                u = np.uint64(lane)
                W[i_pc0 + u], W[i_gc0 + u] = W[i_pc + u], W[i_gc + u]


@_kernel(**_OPTIONS)
def _any_lane_set(W: np.ndarray, i: int) -> bool:
    """True when some lane of input ``i`` is not NaN (a target is set)."""
    for lane in range(LANES):
        if not np.isnan(W[_ix(i) + np.uint64(lane)]):
            return True
    return False


@_kernel(**_OPTIONS)
def services_and_costs_lanes(
    W: np.ndarray,
    off: np.ndarray,
    n_years: int,
    n_cat: int,
    n_svc: int,
    base_year: int,
    ooff: np.ndarray,
    hsu0: int,
    pc0: int,
    gc0: int,
    used: int,
    rates: int,
    acc0: int,
    has_target: np.ndarray,
) -> None:
    """:func:`services_and_costs` for a lane block.

    Reads the base-year values of ``W`` from ``hsu0``, ``pc0``, ``gc0``;
    fills the rates and services per (year, service, category) from
    ``rates`` and ``used``; 7 values from ``acc0`` are scratch, and
    ``has_target`` (``S + S + C S`` flags) notes which unit-cost and
    service-rate targets are set in some lane.
    """
    C, S = n_cat, n_svc
    i_loading = _ix(off[In.INSURED_LOADING])
    a_imp, b_imp = off[In.PATIENT_IMPORT_SHARE], off[In.GOVERNMENT_IMPORT_SHARE]
    pct, pct_r = off[In.PC_TARGET], off[In.PC_TARGET_IS_RATIO]
    pct_d, pct_a = off[In.PC_TARGET_DELAY], off[In.PC_TARGET_ARRIVAL]
    gct, gct_r = off[In.GC_TARGET], off[In.GC_TARGET_IS_RATIO]
    gct_d, gct_a = off[In.GC_TARGET_DELAY], off[In.GC_TARGET_ARRIVAL]
    rt, rt_r = off[In.RATE_TARGET], off[In.RATE_TARGET_IS_RATIO]
    rt_d, rt_a = off[In.RATE_TARGET_DELAY], off[In.RATE_TARGET_ARRIVAL]
    o_pop, o_members = ooff[Out.POPULATION], ooff[Out.MEMBERS]
    o_exr = ooff[Out.EXCHANGE_RATE]
    o_upc, o_ugc = ooff[Out.UNIT_PATIENT_COST], ooff[Out.UNIT_GOVERNMENT_COST]
    o_services = ooff[Out.SERVICES]
    for s in range(S):
        has_target[s] = _any_lane_set(W, pct + s)
        has_target[S + s] = _any_lane_set(W, gct + s)
    for j in range(C * S):
        has_target[2 * S + j] = _any_lane_set(W, rt + j)
    a_exri, a_pc, a_gc = _ix(acc0 + 4), _ix(acc0 + 5), _ix(acc0 + 6)
    i_exr0 = _ix(o_exr)
    for t in range(n_years):
        year = float(base_year + t)
        i_dpi = _ix(ooff[Out.DOMESTIC_PRICE_INDEX] + t)
        i_epi = _ix(ooff[Out.EXTERNAL_PRICE_INDEX] + t)
        i_exr = _ix(o_exr + t)
        for lane in range(LANES):
            u = np.uint64(lane)
            W[a_exri + u] = exchange_rate_index(W[i_exr + u], W[i_exr0 + u])
        patient = government = constant = _ZERO
        for s in range(S):
            i_pc0, i_gc0 = _ix(pc0 + s), _ix(gc0 + s)
            for lane in range(LANES):
                u = np.uint64(lane)
                W[a_pc + u], W[a_gc + u] = W[i_pc0 + u], W[i_gc0 + u]
            if has_target[s]:  # (extension) a unit-cost target (Annex I.1)
                for lane in range(LANES):
                    u = np.uint64(lane)
                    if not np.isnan(W[_ix(pct + s) + u]):
                        W[a_pc + u] = value_on_path(
                            W[i_pc0 + u], W[_ix(pct + s) + u], W[_ix(pct_r + s) + u],
                            W[_ix(pct_d + s) + u], W[_ix(pct_a + s) + u], year, base_year,
                        )  # fmt: skip
            if has_target[S + s]:
                for lane in range(LANES):
                    u = np.uint64(lane)
                    if not np.isnan(W[_ix(gct + s) + u]):
                        W[a_gc + u] = value_on_path(
                            W[i_gc0 + u], W[_ix(gct + s) + u], W[_ix(gct_r + s) + u],
                            W[_ix(gct_d + s) + u], W[_ix(gct_a + s) + u], year, base_year,
                        )  # fmt: skip
            i_a, i_b = _ix(a_imp + s), _ix(b_imp + s)
            i_upc, i_ugc = _ix(o_upc + t * S + s), _ix(o_ugc + t * S + s)
            for lane in range(LANES):
                u = np.uint64(lane)
                dpi, epi, exri = W[i_dpi + u], W[i_epi + u], W[a_exri + u]
                W[i_upc + u] = current_price(W[a_pc + u], W[i_a + u], dpi, epi, exri)
                W[i_ugc + u] = current_price(W[a_gc + u], W[i_b + u], dpi, epi, exri)
            upc, ugc = _get(W, i_upc), _get(W, i_ugc)
            pc_gc = _plus(_get(W, a_pc), _get(W, a_gc))
            services = _ZERO
            for c in range(C):
                j = c * S + s
                i_hsu = _ix(hsu0 + j)
                k = t * C + c
                i_pop, i_members = _ix(o_pop + k), _ix(o_members + k)
                i, i_n = _ix(rates + (t * S + s) * C + c), _ix(used + (t * S + s) * C + c)
                if has_target[2 * S + j]:  # a service-rate target (Annex I.1)
                    for lane in range(LANES):
                        u = np.uint64(lane)
                        W[i + u] = W[i_hsu + u]
                        if not np.isnan(W[_ix(rt + j) + u]):
                            W[i + u] = value_on_path(
                                W[i_hsu + u], W[_ix(rt + j) + u], W[_ix(rt_r + j) + u],
                                W[_ix(rt_d + j) + u], W[_ix(rt_a + j) + u], year, base_year,
                            )  # fmt: skip
                else:
                    for lane in range(LANES):
                        u = np.uint64(lane)
                        W[i + u] = W[i_hsu + u]
                n = _services_used_lanes(
                    _get(W, i), _get(W, i_pop), _get(W, i_members), _get(W, i_loading)
                )
                _put(W, i_n, n)
                services = _plus(services, n)
                patient = _plus(patient, _cost_of_services_lanes(n, upc))
                government = _plus(government, _cost_of_services_lanes(n, ugc))
                constant = _plus(constant, _cost_of_services_lanes(n, pc_gc))
            _put(W, _ix(o_services + t * S + s), services)
        _put(W, _ix(ooff[Out.PATIENT_COST] + t), patient)
        _put(W, _ix(ooff[Out.GOVERNMENT_COST] + t), government)
        _put(W, _ix(ooff[Out.TOTAL_COST_CONSTANT] + t), constant)


@_kernel(**_OPTIONS)
def payments_by_tier_lanes(
    W: np.ndarray,
    off: np.ndarray,
    n_years: int,
    n_cat: int,
    n_svc: int,
    n_tiers: int,
    ooff: np.ndarray,
    used: int,
    rates: int,
    tier_ffs: int,
    tier_paid: int,
    acc0: int,
) -> None:
    """:func:`payments_by_tier` for a lane block.

    Reads the services and rates of ``W`` from ``used`` and ``rates``; values
    from ``tier_ffs`` and ``tier_paid`` (one per tier) and 13 from ``acc0``
    are scratch.
    """
    C, S, K = n_cat, n_svc, n_tiers
    i_loading = _ix(off[In.INSURED_LOADING])
    inpatient, cover = off[In.INPATIENT], off[In.OUTPATIENT_COVER]
    copayment, fee_exempt = off[In.COPAYMENT_RATE], off[In.USER_FEE_EXEMPT_SHARE]
    tier_of, method_of = off[In.SERVICE_TIER], off[In.TIER_METHOD]
    case_rate, capitation = off[In.CASE_RATE], off[In.CAPITATION_RATE]
    bonus_share, bonus_achieved = off[In.BONUS_SHARE], off[In.BONUS_ACHIEVEMENT]
    o_pop, o_members = ooff[Out.POPULATION], ooff[Out.MEMBERS]
    o_exempted, o_exr = ooff[Out.EXEMPTED_MEMBERS], ooff[Out.EXCHANGE_RATE]
    o_upc, o_ugc = ooff[Out.UNIT_PATIENT_COST], ooff[Out.UNIT_GOVERNMENT_COST]
    o_by_tier, o_by_method = ooff[Out.PAYMENTS_BY_TIER], ooff[Out.PAYMENTS_BY_METHOD]
    a_ffs, a_cap, a_case, a_bonus = _ix(acc0), _ix(acc0 + 1), _ix(acc0 + 2), _ix(acc0 + 3)
    a_cop, a_fees, a_gov, a_exri = _ix(acc0 + 4), _ix(acc0 + 5), _ix(acc0 + 6), _ix(acc0 + 7)
    a_pay, a_margin, a_capitated = _ix(acc0 + 8), _ix(acc0 + 9), _ix(acc0 + 10)
    a_use_now = _ix(acc0 + 12)  # this service's, per category
    i_ffs0, i_paid0 = _ix(tier_ffs), _ix(tier_paid)
    i_exr0 = _ix(o_exr)
    for t in range(n_years):
        i_dpi = _ix(ooff[Out.DOMESTIC_PRICE_INDEX] + t)
        i_epi = _ix(ooff[Out.EXTERNAL_PRICE_INDEX] + t)
        i_exr = _ix(o_exr + t)
        for j in range(K * LANES):  # tier_ffs: what fee-for-service would pay
            W[i_ffs0 + np.uint64(j)], W[i_paid0 + np.uint64(j)] = 0.0, 0.0
        for j in range(7 * LANES):
            W[a_ffs + np.uint64(j)] = 0.0
        for lane in range(LANES):
            u = np.uint64(lane)
            W[a_exri + u] = exchange_rate_index(W[i_exr + u], W[i_exr0 + u])
        loading = _get(W, i_loading)
        copay, fees, government, ffs_paid = _ZERO, _ZERO, _ZERO, _ZERO
        for s in range(S):
            i_upc, i_ugc = _ix(o_upc + t * S + s), _ix(o_ugc + t * S + s)
            unit_pc, unit_gc = _get(W, i_upc), _get(W, i_ugc)
            in_patient = W[_ix(inpatient + s)] > 0.5
            k = int(W[_ix(tier_of + s)])
            method = int(W[_ix(method_of + k)])
            cop = _get(W, _ix(copayment + s))
            i_case = _ix(case_rate + s)
            i_ffs, i_paid = _ix(tier_ffs + k), _ix(tier_paid + k)
            # the tier's rows: what fee-for-service would pay, and what is paid (summed in
            # the order of the categories, in registers while this service lasts)
            tier_ffs_now, tier_paid_now = _get(W, i_ffs), _get(W, i_paid)
            for c in range(C):
                i, i_n = _ix(rates + (t * S + s) * C + c), _ix(used + (t * S + s) * C + c)
                j = t * C + c
                n = _get(W, i_n)
                gc = _cost_of_services_lanes(n, unit_gc)  # Figure 1: GC
                fe = _get(W, _ix(fee_exempt + j))
                if in_patient or W[_ix(cover + c)] > 0.5:
                    # the lanes as tuples (read together, summed in registers), each lane
                    # in the scalar stage's order
                    rate, members = _get(W, i), _get(W, _ix(o_members + j))
                    exempted = _get(W, _ix(o_exempted + j))
                    use_per_member = _insured_use_rate_lanes(rate, loading)
                    n_uninsured = _uninsured_services_lanes(rate, _get(W, _ix(o_pop + j)), members)
                    paying = _paying_members_lanes(members, exempted)
                    ffs = _scheme_payment_per_member_lanes(
                        use_per_member, unit_pc, cop, paying, exempted
                    )  # Annex I.3: CHS
                    gross_fees = _cost_of_services_lanes(n_uninsured, unit_pc)
                    copay = _plus(
                        copay, _copayments_paid_lanes(cop, use_per_member, unit_pc, paying)
                    )
                    fees = _plus(fees, _fees_paid_lanes(fe, gross_fees))  # Section 3.5
                    # GC, then the fees of the exempted (Figure 1 box e, extension)
                    government = _plus(_plus(government, gc), _share_of_lanes(fe, gross_fees))
                    tier_ffs_now = _plus(tier_ffs_now, ffs)
                    if method == _FEE_FOR_SERVICE:
                        tier_paid_now = _plus(tier_paid_now, ffs)
                        ffs_paid = _plus(ffs_paid, ffs)
                    elif method == _PER_CASE:  # (extension) a flat amount per insured case
                        _put(W, a_use_now, use_per_member)
                        _put(W, i_paid, tier_paid_now)
                        i_members = _ix(o_members + j)
                        for lane in range(LANES):
                            u = np.uint64(lane)
                            rate_now = current_price(
                                W[i_case + u], 0.0, W[i_dpi + u], W[i_epi + u], W[a_exri + u]
                            )
                            paid = per_case_payment(rate_now, W[a_use_now + u], W[i_members + u])
                            W[i_paid + u] += paid
                            W[a_case + u] += paid
                        tier_paid_now = _get(W, i_paid)
                else:  # the insured pay in full for what is not covered
                    gross_fees = _cost_of_services_lanes(n, unit_pc)
                    fees = _plus(fees, _fees_paid_lanes(fe, gross_fees))  # Section 3.5
                    # GC, then the fees of the exempted (Figure 1 box e, extension)
                    government = _plus(_plus(government, gc), _share_of_lanes(fe, gross_fees))
            _put(W, i_ffs, tier_ffs_now)
            _put(W, i_paid, tier_paid_now)
        _put(W, a_cop, copay)
        _put(W, a_fees, fees)
        _put(W, a_gov, government)
        _put(W, a_ffs, ffs_paid)
        for lane in range(LANES):
            u = np.uint64(lane)
            W[a_pay + u], W[a_margin + u] = 0.0, 0.0
        for k in range(K):
            method = int(W[_ix(method_of + k)])
            i_k, i_kf = _ix(tier_paid + k), _ix(tier_ffs + k)
            if method == _CAPITATION:  # (extension) members covered for one of the tier's services
                for lane in range(LANES):
                    W[a_capitated + np.uint64(lane)] = 0.0
                for c in range(C):
                    for s in range(S):
                        if int(W[_ix(tier_of + s)]) == k and (
                            W[_ix(inpatient + s)] > 0.5 or W[_ix(cover + c)] > 0.5
                        ):
                            i_members = _ix(o_members + t * C + c)
                            for lane in range(LANES):
                                u = np.uint64(lane)
                                W[a_capitated + u] += W[i_members + u]
                            break
                i_cap = _ix(capitation + t * K + k)
                for lane in range(LANES):
                    u = np.uint64(lane)
                    rate_now = current_price(
                        W[i_cap + u], 0.0, W[i_dpi + u], W[i_epi + u], W[a_exri + u]
                    )
                    paid = amount_for(rate_now, W[a_capitated + u])
                    W[i_k + u] += paid
                    W[a_cap + u] += paid
            i_bs, i_ba = _ix(bonus_share + t * K + k), _ix(bonus_achieved + t * K + k)
            i_tier = _ix(o_by_tier + t * K + k)
            for lane in range(LANES):
                u = np.uint64(lane)
                bonus = performance_bonus(W[i_bs + u], W[i_ba + u], W[i_k + u])
                if method == _FEE_FOR_SERVICE:
                    W[a_margin + u] += bonus  # exactly 0 for the paper's fee-for-service
                else:
                    W[a_margin + u] += provider_margin(W[i_k + u], bonus, W[i_kf + u])
                W[i_k + u] += bonus
                W[a_bonus + u] += bonus
                W[a_pay + u] += W[i_k + u]
                W[i_tier + u] = W[i_k + u]
        i_m = _ix(o_by_method + 4 * t)
        step = np.uint64(LANES)
        i_hcp = _ix(ooff[Out.HEALTH_CARE_PAYMENTS] + t)
        i_pm = _ix(ooff[Out.PROVIDER_MARGIN] + t)
        i_co = _ix(ooff[Out.COPAYMENTS] + t)
        i_uf = _ix(ooff[Out.USER_FEES] + t)
        i_gf = _ix(ooff[Out.GOVERNMENT_FINANCING] + t)
        for lane in range(LANES):
            u = np.uint64(lane)
            W[i_m + u] = W[a_ffs + u]
            W[i_m + step + u] = W[a_cap + u]
            W[i_m + 2 * step + u] = W[a_case + u]
            W[i_m + 3 * step + u] = W[a_bonus + u]
            W[i_hcp + u] = W[a_pay + u]
            W[i_pm + u] = W[a_margin + u]
            W[i_co + u] = W[a_cop + u]
            W[i_uf + u] = W[a_fees + u]
            W[i_gf + u] = W[a_gov + u]


@_kernel(**_OPTIONS)
def administration_lanes(
    W: np.ndarray,
    off: np.ndarray,
    n_years: int,
    n_cat: int,
    n_admin: int,
    ooff: np.ndarray,
    admin_real: int,
    acc0: int,
) -> None:
    """:func:`administration` for a lane block.

    Values of ``W`` from ``admin_real`` (one per item) and 2 from ``acc0`` are scratch.
    """
    A = n_admin
    basis_of, value_of = off[In.ADMIN_BASIS], off[In.ADMIN_VALUE]
    real_growth = off[In.ADMIN_REAL_GROWTH]
    o_members, o_payments = ooff[Out.MEMBERS], ooff[Out.HEALTH_CARE_PAYMENTS]
    o_dpi = ooff[Out.DOMESTIC_PRICE_INDEX]
    for t in range(n_years):
        members = _ZERO
        for c in range(n_cat):
            members = _plus(members, _get(W, _ix(o_members + t * n_cat + c)))
        payments, dpi = _get(W, _ix(o_payments + t)), _get(W, _ix(o_dpi + t))
        admin = _ZERO
        for a in range(A):
            basis = int(W[_ix(basis_of + a)])
            i_a = _ix(admin_real + a)
            value = _get(W, _ix(value_of + a))
            if basis == _ADMIN_SHARE_EVERY_YEAR:
                admin = _plus(admin, _share_of_lanes(value, payments))
                continue
            if t == 0:
                if basis == _ADMIN_AMOUNT or basis == _ADMIN_PER_MEMBER:
                    real = value
                else:  # share of base-year payments; DPI_0 = 100, so current = constant prices
                    real = _share_of_lanes(value, _get(W, _ix(o_payments)))
            else:
                real = _grown_lanes(_get(W, i_a), _get(W, _ix(real_growth + t * A + a)))
            _put(W, i_a, real)
            if basis == _ADMIN_PER_MEMBER:
                real = _amount_for_lanes(real, members)
            admin = _plus(admin, _admin_cost_current_lanes(real, dpi))
        _put(W, _ix(ooff[Out.ADMIN_EXPENDITURE] + t), admin)


@_kernel(**_OPTIONS)
def balance_and_reserve_lanes(
    W: np.ndarray, off: np.ndarray, n_years: int, ooff: np.ndarray
) -> None:
    """:func:`balance_and_reserve` for a lane block."""
    interest = off[In.RESERVE_INTEREST]
    i_reserve0 = _ix(off[In.RESERVE_INITIAL])
    step = np.uint64(LANES)
    for t in range(n_years):
        i_hcp = _ix(ooff[Out.HEALTH_CARE_PAYMENTS] + t)
        i_adm = _ix(ooff[Out.ADMIN_EXPENDITURE] + t)
        i_rev = _ix(ooff[Out.PREMIUM_REVENUE] + t)
        i_exp = _ix(ooff[Out.TOTAL_EXPENDITURE] + t)
        i_bal = _ix(ooff[Out.BALANCE] + t)
        i_res = _ix(ooff[Out.RESERVE] + t)
        i_int = _ix(interest + t)
        for lane in range(LANES):
            u = np.uint64(lane)
            expenditure = total_expenditure(W[i_hcp + u], W[i_adm + u])  # C_t = CHS_t + AC_t
            b = balance(W[i_rev + u], expenditure)  # B_t = HIR_t - C_t
            opening = W[i_reserve0 + u] if t == 0 else W[i_res - step + u]
            W[i_exp + u] = expenditure
            W[i_bal + u] = b
            W[i_res + u] = reserve_carried(opening, W[i_int + u], b)  # extension


# ---------------------------------------------------------------- blocks of draws


@_kernel(**_OPTIONS)
def _scalar_scratch(
    n_inputs: int, T: int, C: int, S: int, K: int, A: int
) -> tuple[np.ndarray, ...]:
    """The scratch arrays of the scalar stages, for :func:`_project_draws`.

    In order: the input vector; shares, base shares, planned shares, people and
    applies (by category); base-year use (category x service), public and
    government unit costs (by service); use and rates (year x service x
    category); real administration; fee-for-service and paid by tier.
    """
    return (
        np.empty(n_inputs), np.empty(C), np.empty(C), np.empty(C), np.empty(C), np.empty(C),
        np.empty(C * S), np.empty(S), np.empty(S), np.empty(T * S * C), np.empty(T * S * C),
        np.empty(A), np.empty(K), np.empty(K),
    )  # fmt: skip


@_kernel(**_OPTIONS)
def _project_draws(
    base: np.ndarray,
    off: np.ndarray,
    T: int,
    C: int,
    S: int,
    K: int,
    A: int,
    base_year: int,
    theta: np.ndarray,
    column: np.ndarray,
    position: np.ndarray,
    mode: np.ndarray,
    kind: np.ndarray,
    weight: np.ndarray,
    reference: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    out: np.ndarray,
    ooff: np.ndarray,
    keep: np.ndarray,
    start: int,
    stop: int,
    o: np.ndarray,
    scratch: tuple[np.ndarray, ...],
) -> None:
    """Project draws ``start`` to ``stop - 1`` one at a time: the scalar stages in order.

    Each stage writes its outputs at ``o[ob:]``: ``o`` is the flat ``out`` when
    the whole row is kept (``keep`` empty), else a scratch row whose positions
    ``keep`` are then copied to the draw's row of ``out``. ``scratch`` is
    :func:`_scalar_scratch`'s arrays, which each stage overwrites before reading.
    """
    p, shares, base_shares, planned, people, applies = scratch[:6]
    hsu0, pc0, gc0, used, rates, admin_real, tier_ffs, tier_paid = scratch[6:]
    n_inputs, row_length = base.shape[0], ooff[-1]
    full = keep.shape[0] == 0
    for d in range(start, stop):
        for i in range(n_inputs):
            p[i] = base[i]
        _modify(p, theta, d, column, position, mode, kind, weight, reference, lower, upper)
        ob = d * row_length if full else 0
        # one projection, Carrin, Ron & Murray (1993), Annex I, stage by stage
        indexed_amounts(p, off, T, C)  # (extension) only past the scenario's own years
        population(p, off, T, C, o, ob, ooff)
        prices(p, off, T, o, ob, ooff)
        membership_and_premiums(
            p, off, T, C, o, ob, ooff, shares, base_shares, planned, people, applies
        )
        base_year_rates_and_costs(p, off, C, S, o, ob, ooff, hsu0, pc0, gc0)
        services_and_costs(p, off, T, C, S, base_year, o, ob, ooff, hsu0, pc0, gc0, used, rates)
        payments_by_tier(p, off, T, C, S, K, o, ob, ooff, used, rates, tier_ffs, tier_paid)
        administration(p, off, T, C, A, o, ob, ooff, admin_real)
        balance_and_reserve(p, off, T, o, ob, ooff)
        if not full:  # keep only the chosen positions
            for j in range(keep.shape[0]):
                out[d, j] = o[keep[j]]


@_kernel(**_OPTIONS)
def _project_scalar(
    base: np.ndarray,
    off: np.ndarray,
    n_years: int,
    n_cat: int,
    n_svc: int,
    n_admin: int,
    base_year: int,
    theta: np.ndarray,
    column: np.ndarray,
    position: np.ndarray,
    mode: np.ndarray,
    kind: np.ndarray,
    weight: np.ndarray,
    reference: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    out: np.ndarray,
    ooff: np.ndarray,
    keep: np.ndarray,
    switch: np.ndarray,
    start: int,
    stop: int,
) -> None:
    """Project draws ``start`` to ``stop - 1`` one at a time, without the lane stages.

    The arguments and results of :func:`_project_block`, for fewer draws than
    a lane block holds (``project``'s one draw): compiling only the scalar
    stages keeps a first ``schemerisk project`` on an empty numba cache from
    also compiling the lane stages it would never run. ``switch`` is unused.
    """
    T, C, S, A = n_years, n_cat, n_svc, n_admin
    K = off[In.TIER_METHOD + 1] - off[In.TIER_METHOD]
    n_inputs, row_length = base.shape[0], ooff[-1]
    o = out.reshape(out.size) if keep.shape[0] == 0 else np.empty(row_length)
    _project_draws(
        base, off, T, C, S, K, A, base_year, theta, column, position, mode, kind, weight,
        reference, lower, upper, out, ooff, keep, start, stop, o,
        _scalar_scratch(n_inputs, T, C, S, K, A),
    )  # fmt: skip


@_kernel(**_OPTIONS)
def _project_block(
    base: np.ndarray,
    off: np.ndarray,
    n_years: int,
    n_cat: int,
    n_svc: int,
    n_admin: int,
    base_year: int,
    theta: np.ndarray,
    column: np.ndarray,
    position: np.ndarray,
    mode: np.ndarray,
    kind: np.ndarray,
    weight: np.ndarray,
    reference: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    out: np.ndarray,
    ooff: np.ndarray,
    keep: np.ndarray,
    switch: np.ndarray,
    start: int,
    stop: int,
) -> None:
    """Project draws ``start`` to ``stop - 1`` with scratch allocated once for them all.

    Draws go by blocks of :data:`LANES`: a block whose draws agree on every
    switch (``switch``: 1 at the positions of :data:`SWITCHES`) is projected by
    the lane stages in the buffer ``W``, then each lane's row is copied to its
    draw's row of ``out`` (or only the positions ``keep``). Otherwise, and for
    the last draws, each draw is projected alone: the stages in order, each
    writing its outputs at ``o[ob:]`` (the draw's row of ``out``, or a scratch
    row when only the positions ``keep`` are kept). Arrays made here are
    scratch that each stage overwrites before reading.
    """
    T, C, S, A = n_years, n_cat, n_svc, n_admin
    K = off[In.TIER_METHOD + 1] - off[In.TIER_METHOD]
    n_inputs, row_length = base.shape[0], ooff[-1]
    scratch = _scalar_scratch(n_inputs, T, C, S, K, A)
    shares, base_shares, planned, people, applies = scratch[1:6]  # the lane stages' too
    full = keep.shape[0] == 0
    flat_out = out.reshape(out.size)
    o = flat_out if full else np.empty(row_length)
    # a lane block keeps every value of its LANES draws side by side in one buffer
    # (one array, so that LLVM can tell its lanes apart; see the section on lanes):
    # the inputs, the output row, then scratch
    o0 = n_inputs
    sh0 = o0 + row_length
    acc0 = sh0 + C
    flag0 = acc0 + 13
    hsu0_l = flag0 + 1
    pc0_l = hsu0_l + C * S
    gc0_l = pc0_l + S
    used_l = gc0_l + S
    rates_l = used_l + T * S * C
    admin_l = rates_l + T * S * C
    ffs_l = admin_l + A
    paid_l = ffs_l + K
    n_lane_values = paid_l + K
    W = np.empty(n_lane_values * LANES if stop - start >= LANES else 0)
    ooff_w = ooff + o0  # output offsets within W
    has_target = np.empty(2 * S + C * S, dtype=np.bool_)
    g = start
    filled = False  # the lane buffer holds the base inputs, but for what a block changes
    while g < stop:
        m = min(LANES, stop - g)
        in_lanes = False
        if m == LANES:  # a lane block when its draws agree on every switch
            if filled:
                _restore_lanes(W, base, position, off)
                _modify_lanes(
                    W, theta, g, column, position, mode, kind, weight, reference, lower, upper
                )
            else:
                _fill_lanes(
                    W, base, theta, g, column, position, mode, kind, weight, reference, lower,
                    upper,
                )  # fmt: skip
                filled = True
            in_lanes = _lanes_agree(W, position, switch)
        if in_lanes:
            # LANES projections at once, Carrin, Ron & Murray (1993), Annex I, stage by stage
            indexed_amounts_lanes(W, off, T, C, flag0)  # (extension) past the scenario's years
            population_lanes(W, off, T, C, ooff_w)
            prices_lanes(W, off, T, ooff_w)
            membership_and_premiums_lanes(
                W, off, T, C, ooff_w, sh0, acc0, flag0, shares, base_shares, planned, people,
                applies,
            )  # fmt: skip
            base_year_rates_and_costs_lanes(W, off, C, S, ooff_w, hsu0_l, pc0_l, gc0_l, acc0)
            services_and_costs_lanes(
                W, off, T, C, S, base_year, ooff_w, hsu0_l, pc0_l, gc0_l, used_l, rates_l,
                acc0, has_target,
            )  # fmt: skip
            payments_by_tier_lanes(W, off, T, C, S, K, ooff_w, used_l, rates_l, ffs_l, paid_l, acc0)
            administration_lanes(W, off, T, C, A, ooff_w, admin_l, acc0)
            balance_and_reserve_lanes(W, off, T, ooff_w)
            if full:  # each lane's row into its draw's row of out
                for lane in range(LANES):
                    row, first = np.uint64((g + lane) * row_length), _ix(o0) + np.uint64(lane)
                    for j in range(row_length):
                        flat_out[row + np.uint64(j)] = W[first + _ix(j)]
            else:  # only the chosen positions
                for j in range(keep.shape[0]):
                    for lane in range(LANES):
                        out[g + lane, j] = W[_ix(o0 + keep[j]) + np.uint64(lane)]
            g += LANES
            continue
        _project_draws(
            base, off, T, C, S, K, A, base_year, theta, column, position, mode, kind, weight,
            reference, lower, upper, out, ooff, keep, g, g + m, o, scratch,
        )  # fmt: skip
        g += m


@_kernel(cache=True, nogil=True, error_model="numpy", parallel=True)
def _project_parallel(args: tuple[Any, ...], n: int, n_blocks: int) -> None:
    """Project ``n`` draws, ``n_blocks`` blocks of consecutive draws in parallel.

    ``args`` are the arguments of :func:`_project_block` before ``start`` and
    ``stop``, passed on unchanged.
    """
    for b in prange(n_blocks):
        _project_block(*args, b * n // n_blocks, (b + 1) * n // n_blocks)


def compiled_kernels() -> dict[str, Any]:
    """numba's compiled versions of every kernel function, by name (built once per process).

    Each is compiled from the same source as the plain-Python function (a copy
    of it whose module namespace holds the compiled versions of the others, and
    numba's ``prange``), with the options given to :func:`_kernel`; numba
    compiles or loads it from its cache on first call. The plain functions of
    this module are left as they are. Building them imports numba and lets it
    compile the formulas of :mod:`schemerisk.equations`.

    Returns
    -------
    dict
        numba dispatchers by function name.
    """
    if _COMPILED:  # (every compiled run asks: no lock once built)
        return _COMPILED
    with _BUILDING:  # two threads' first runs build them once
        if _COMPILED:
            return _COMPILED
        import numba

        _equations.register_with_numba()
        namespace = dict(globals())
        namespace["prange"] = numba.prange
        built = {}
        for name, (fn, options) in _KERNELS.items():
            twin = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__)
            twin.__qualname__, twin.__doc__ = fn.__qualname__, fn.__doc__
            built[name] = namespace[name] = numba.njit(**options)(twin)
        _COMPILED.update(built)
    return _COMPILED


@_kernel(**_OPTIONS)
def project_one(
    p: np.ndarray,
    off: np.ndarray,
    n_years: int,
    n_cat: int,
    n_svc: int,
    n_admin: int,
    base_year: int,
    o: np.ndarray,
    ooff: np.ndarray,
) -> None:
    """Project one draw: fill the output row ``o`` from the input vector ``p``.

    Carrin, Ron & Murray (1993), Annex I, stage by stage (see :func:`_project_draws`).
    This is the plain-Python function; ``compiled_kernels()["project_one"]`` is
    numba's (both give the same bits).

    Parameters
    ----------
    p : numpy.ndarray
        Input vector laid out by :data:`~schemerisk.model.layout.INPUT_DIMS`.
    off : numpy.ndarray
        Its field offsets.
    n_years, n_cat, n_svc, n_admin : int
        Dimension sizes.
    base_year : int
        The base year.
    o : numpy.ndarray
        Output row laid out by :data:`~schemerisk.model.layout.OUTPUT_DIMS` (filled).
    ooff : numpy.ndarray
        Its field offsets.
    """
    out = o.reshape((1, o.shape[0]))
    no_columns = np.empty((1, 0))
    none_i, none_f = np.empty(0, dtype=np.int64), np.empty(0)
    _project_scalar(
        p, off, n_years, n_cat, n_svc, n_admin, base_year, no_columns,
        none_i, none_i, none_i, none_i, none_f, none_f, none_f, none_f,
        out, ooff, none_i, none_i, 0, 1,
    )  # fmt: skip


class Modifications:
    """A table of how drawn values change the inputs (see :func:`apply_modifications`).

    Parameters
    ----------
    column, position, mode, kind : array-like of int
        One entry per modification.
    weight, reference : array-like of float
        Used by PATH_TARGET rows; anything for ELEMENT rows.
    lower, upper : array-like of float, optional
        Clipping bounds per row; default no clipping.
    """

    def __init__(
        self,
        column: np.ndarray | list[int] = (),  # type: ignore[assignment]
        position: np.ndarray | list[int] = (),  # type: ignore[assignment]
        mode: np.ndarray | list[int] = (),  # type: ignore[assignment]
        kind: np.ndarray | list[int] = (),  # type: ignore[assignment]
        weight: np.ndarray | list[float] = (),  # type: ignore[assignment]
        reference: np.ndarray | list[float] = (),  # type: ignore[assignment]
        lower: np.ndarray | list[float] | None = None,
        upper: np.ndarray | list[float] | None = None,
    ) -> None:
        self.column = np.ascontiguousarray(column, dtype=np.int64)
        self.position = np.ascontiguousarray(position, dtype=np.int64)
        self.mode = np.ascontiguousarray(mode, dtype=np.int64)
        self.kind = np.ascontiguousarray(kind, dtype=np.int64)
        self.weight = np.ascontiguousarray(weight, dtype=np.float64)
        self.reference = np.ascontiguousarray(reference, dtype=np.float64)
        n = self.column.shape[0]
        self.lower = (
            np.full(n, -np.inf) if lower is None else np.ascontiguousarray(lower, dtype=np.float64)
        )
        self.upper = (
            np.full(n, np.inf) if upper is None else np.ascontiguousarray(upper, dtype=np.float64)
        )
        for name in ("position", "mode", "kind", "weight", "reference", "lower", "upper"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"modification table: '{name}' must have {n} entries")

    def __len__(self) -> int:
        return int(self.column.shape[0])


#: inputs whose value decides the control flow of a projection (a switch, an
#: integer code, a tier, the year an amount is indexed from): a lane block
#: needs every lane to agree on them (see :func:`_lanes_agree`)
SWITCHES = (
    In.PPP,
    In.COVERAGE_RULE,
    In.COST_BY_TYPE,
    In.INPATIENT,
    In.OUTPATIENT_COVER,
    In.SERVICE_TIER,
    In.TIER_METHOD,
    In.ADMIN_BASIS,
    In.FLAT_PREMIUM_INDEXED_FROM,
    In.SUBSIDY_GOV_AMOUNT_INDEXED_FROM,
    In.SUBSIDY_DONOR_AMOUNT_INDEXED_FROM,
)


def switch_positions(inputs: ModelInputs) -> np.ndarray:
    """1 at the positions of the input vector that hold a switch (:data:`SWITCHES`), else 0.

    Parameters
    ----------
    inputs : ModelInputs
        The base inputs.

    Returns
    -------
    numpy.ndarray
        int64, one entry per position of ``inputs.vector``.
    """
    mask = np.zeros(int(inputs.offsets[-1]), dtype=np.int64)
    for field in SWITCHES:
        mask[int(inputs.offsets[field]) : int(inputs.offsets[field + 1])] = 1
    return mask


def output_offsets(inputs: ModelInputs) -> np.ndarray:
    """Offsets of the output row for the dimensions of ``inputs``."""
    return offsets(OUTPUT_DIMS, inputs.dims)


def run_kernel(
    inputs: ModelInputs,
    theta: np.ndarray | None = None,
    modifications: Modifications | None = None,
    out: np.ndarray | None = None,
    keep: np.ndarray | None = None,
    *,
    compiled: bool | None = None,
) -> np.ndarray:
    """Project every draw: the checked wrapper around the compiled kernel.

    Fewer draws than :data:`LANES` (``project``, the base run of a study) are
    projected by the kernel's own functions run as plain Python, unless this
    process has compiled the kernel already: 5 to 30 ms a projection (5 years
    to 40), where
    compiling takes about 17 s and loading the compiled kernel from numba's
    cache, with importing numba, about 1 s. Plain Python and numba give the same
    numbers bit for bit (``tests/model/test_interpreted.py``: the same
    arithmetic on numpy's float64 in the same order, no fastmath). Where Python
    raises and numba carries on (an integer code that is NaN or infinite, which
    a checked scenario never has), the draws are projected again by the
    compiled kernel.

    Parameters
    ----------
    inputs : ModelInputs
        The base inputs (from :func:`~schemerisk.model.layout.compile_inputs`).
    theta : numpy.ndarray, optional
        Sampled values, shape (draws, columns). Default: one draw, no columns.
    modifications : Modifications, optional
        How the columns of ``theta`` change the inputs. Default: none.
    out : numpy.ndarray, optional
        Preallocated output, shape (draws, row length) or (draws, len(keep));
        allocated if omitted.
    keep : numpy.ndarray, optional
        Positions of the output row to keep, in the order wanted (e.g. from
        :func:`~schemerisk.model.results.output_slices`); default the whole row.
        Each draw is then projected into a scratch row and only these positions
        are written, so the full rows are never stored.

    Returns
    -------
    numpy.ndarray
        Output rows, shape (draws, row length), laid out by :data:`OUTPUT_DIMS`,
        or (draws, len(keep)) with ``keep``.

    Other Parameters
    ----------------
    compiled : bool, optional
        True: always numba's kernel; False: the plain-Python stages whatever the
        number of draws (slow; for tests); default as described above.
    """
    mods = modifications if modifications is not None else Modifications()
    if theta is None:
        theta = np.zeros((1, 0))
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    if theta.ndim != 2:
        raise ValueError(f"theta must be 2-D (draws, columns), got shape {theta.shape}")
    if len(mods) and (mods.column.max() >= theta.shape[1] or mods.column.min() < 0):
        raise ValueError("a modification refers to a column theta does not have")
    n_inputs = int(inputs.offsets[-1])
    if len(mods) and (mods.position.max() >= n_inputs or mods.position.min() < 0):
        raise ValueError("a modification refers to an input position outside the vector")
    ooff = output_offsets(inputs)
    picks = np.zeros(0, dtype=np.int64) if keep is None else np.ascontiguousarray(keep, np.int64)
    if picks.ndim != 1 or (picks.size and (picks.min() < 0 or picks.max() >= ooff[-1])):
        raise ValueError(f"keep must be positions in an output row of length {int(ooff[-1])}")
    if keep is not None and picks.size == 0:
        raise ValueError("keep must name at least one position")
    shape = (theta.shape[0], int(ooff[-1]) if keep is None else int(picks.size))
    if out is None:
        out = np.empty(shape)
    elif out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float64 array of shape {shape}")
    d = inputs.dims
    # the same argument types on every call (contiguous float64 and int64 arrays,
    # Python ints): the compiled kernels are typed on their first call only
    vector = np.ascontiguousarray(inputs.vector, dtype=np.float64)
    offs = np.ascontiguousarray(inputs.offsets, dtype=np.int64)
    sizes = (int(d.n_years), int(d.n_categories), int(d.n_services), int(d.n_admin))
    args = (
        vector, offs, *sizes, int(inputs.base_year), theta, mods.column, mods.position,
        mods.mode, mods.kind, mods.weight, mods.reference, mods.lower, mods.upper, out, ooff,
        picks, switch_positions(inputs),
    )  # fmt: skip
    if compiled is None:
        compiled = shape[0] >= LANES or bool(_COMPILED)
    if not compiled and _interpreted(args, shape[0]):
        return out
    from numba import get_num_threads

    kernels = compiled_kernels()
    check_kernel_cache()  # once per process: no kernel compiled from older equations is loaded
    # one block of consecutive draws per thread, each large enough for a lane block
    n_blocks = min(get_num_threads(), max(1, shape[0] // LANES))
    if shape[0] < LANES:  # too few draws for a lane block: the scalar stages alone
        _compiled_call(kernels["_project_scalar"], (*args, 0, shape[0]), slp=False)
    elif n_blocks <= 1:  # one thread, or draws for one: no parallel region to compile
        _compiled_call(kernels["_project_block"], (*args, 0, shape[0]))
    else:  # one block of consecutive draws per thread
        _compiled_call(kernels["_project_parallel"], (args, shape[0], n_blocks))
    return out


def _interpreted(args: tuple[Any, ...], n: int) -> bool:
    """Project ``n`` draws with the scalar stages run as plain Python; False if Python raised.

    numpy's floating-point warnings are silenced, as numba gives no warning for
    the same inf or NaN. Python raises where numba carries on when a code read
    with ``int()`` is NaN or infinite (ValueError, OverflowError): the caller then
    projects the draws with the compiled kernel. Anything else (an IndexError
    from a tier outside the tiers, where numba would write out of bounds) is
    raised.
    """
    with np.errstate(all="ignore"):
        try:
            _project_scalar(*args, 0, n)
        except (ArithmeticError, ValueError):
            return False
    return True


#: seconds a compilation (or a load from numba's cache) may take before :func:`_compile_notice` speaks
COMPILE_NOTICE_AFTER_S = 2.0

#: whether a slow compilation is announced on standard error: None when it is a
#: terminal (as the progress bars), True always, False never (``--no-progress``)
compile_notice: bool | None = None

_noticed: list[bool] = []  # a notice was printed in this process


@contextlib.contextmanager
def _compile_notice() -> Iterator[None]:
    """Say on standard error that the model is being compiled, if that takes a while.

    On an empty cache numba compiles the kernel for this computer: about a
    minute on 2 cores, during which nothing else would be printed. If the
    enclosed step takes more than :data:`COMPILE_NOTICE_AFTER_S`, one line says
    what is happening and, when it ends, how long it took; once per process.
    A load from the cache is quicker and says nothing.
    """
    show = sys.stderr.isatty() if compile_notice is None else compile_notice
    if not show or _noticed:
        yield
        return
    start = time.perf_counter()

    def speak() -> None:
        _noticed.append(True)
        _say(
            "preparing the model's compiled code for this computer: the first run "
            "only, about a minute; later runs reuse it ..."
        )

    timer = threading.Timer(COMPILE_NOTICE_AFTER_S, speak)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        if _noticed:
            _say(f"the compiled model is ready ({time.perf_counter() - start:.0f} s)")


def _say(line: str) -> None:
    """Print ``line`` on standard error above any progress bar that is showing."""
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr)


#: names of the kernels this process has compiled or loaded (:func:`run_kernel`
#: passes the same argument types every time: contiguous float64 and int64 arrays)
_ready: set[str] = set()


def _compiled_call(kernel: Any, args: tuple[Any, ...], *, slp: bool = True) -> None:
    """Call ``kernel(*args)``, compiling it (or loading it) first, with LLVM's SLP vectoriser on.

    The first call compiles or loads the kernel for its argument types under
    :func:`_compile_notice` (a slow one is announced); later calls go straight
    to it, without typing the arguments again (about 0.2 ms a call).

    The lane blocks (see the section on lanes) are straight-line groups of
    LANES identical scalar operations; LLVM's superword-level parallelism
    (SLP) vectoriser turns each group into one vector instruction. numba turns
    that vectoriser off by default since numba 0.57 (numba PR 8852, after
    LLVM miscompilations, numba issues 8705 and 8681); it stays off for every
    other function in the process: it is switched on only while this kernel is
    compiled (or loaded from the cache), under numba's global compiler lock so
    that no other compilation sees it. ``slp=False`` (the scalar stages alone)
    leaves it off. The tests compare the lane blocks with the scalar path
    (which is not vectorised) bit for bit.
    """
    compile_ = getattr(kernel, "compile", None)
    if compile_ is None or kernel.__name__ in _ready:  # NUMBA_DISABLE_JIT, or done already
        kernel(*args)
        return
    signature = tuple(kernel.typeof_pyval(a) for a in args)
    from numba.core import config as _numba_config
    from numba.core.compiler_lock import global_compiler_lock

    with _compile_notice(), global_compiler_lock:
        saved = _numba_config.SLP_VECTORIZE  # type: ignore[attr-defined]
        _numba_config.SLP_VECTORIZE = int(slp)  # type: ignore[attr-defined]
        try:
            compile_(signature)
        finally:
            _numba_config.SLP_VECTORIZE = saved  # type: ignore[attr-defined]
    _ready.add(kernel.__name__)
    kernel(*args)


#: where numba keeps its note of the sources the cached kernels were compiled from
_DEPENDENCY_MARKER = "schemerisk-kernel-dependencies.sha256"


def refresh_stale_cache(
    dispatchers: list[Any], sources: list[Path], marker_dir: Path | None = None
) -> bool:
    """Drop cached kernels compiled from other versions of the modules they depend on.

    numba keys a cached function on its own source file only, so a kernel
    compiled before ``equations.py`` or ``layout.py`` changed would be loaded
    unchanged (numba issue #1833). This keeps a SHA-256 of those files beside the
    cache and flushes the kernels' cache when it differs. Installed copies never
    see it happen; a developer editing an equation does.

    Parameters
    ----------
    dispatchers : list
        numba dispatchers compiled with ``cache=True``.
    sources : list of Path
        The files they depend on besides their own.
    marker_dir : Path, optional
        Where to keep the SHA-256 (default: the dispatchers' cache directory).

    Returns
    -------
    bool
        True when the cache was flushed.
    """
    if not dispatchers:  # numba's JIT disabled (NUMBA_DISABLE_JIT): nothing is cached
        return False
    digest = hashlib.sha256()
    for src in sources:
        digest.update(src.read_bytes())
    want = digest.hexdigest()
    try:
        where = marker_dir or Path(dispatchers[0]._cache.cache_path)
        marker = where / _DEPENDENCY_MARKER
        if marker.is_file() and marker.read_text(encoding="ascii").strip() == want:
            return False
        for d in dispatchers:
            d._cache.flush()
        where.mkdir(parents=True, exist_ok=True)
        marker.write_text(want + "\n", encoding="ascii")
    except (OSError, AttributeError):  # a read-only cache, or none: nothing stale can load
        return False
    return True


def _cached_dispatchers() -> list[Any]:
    return [f for f in compiled_kernels().values() if getattr(f, "_cache", None) is not None]


#: every file the compiled kernels are built from (numba itself watches only each function's own)
KERNEL_SOURCES = (Path(__file__), Path(_equations.__file__), Path(_layout.__file__))

_cache_checked: list[bool] = []


def check_kernel_cache(*, force: bool = False) -> bool:
    """Flush numba's cached kernels if a file they are built from changed.

    An explicit step, not a side effect of importing this module:
    :func:`run_kernel` takes it once per process, before its first call loads
    or compiles a kernel. It compares a SHA-256 of :data:`KERNEL_SOURCES`
    (the kernel, its equations and its layout) with the one noted when the
    cache was written (see :func:`refresh_stale_cache`).

    Parameters
    ----------
    force : bool
        Check again even if this process has checked already.

    Returns
    -------
    bool
        True when the cache was flushed.
    """
    if _cache_checked and not force:
        return False
    _cache_checked.append(True)
    return refresh_stale_cache(_cached_dispatchers(), list(KERNEL_SOURCES))


__all__ = [
    "ELEMENT",
    "INPUT_DIMS",
    "KERNEL_SOURCES",
    "PATH_TARGET",
    "REPLACE",
    "SCALE",
    "SHIFT",
    "Modifications",
    "apply_modifications",
    "check_kernel_cache",
    "compiled_kernels",
    "output_offsets",
    "project_one",
    "refresh_stale_cache",
    "run_kernel",
]
