"""The one compiled kernel: every Sheet C result for many draws at once.

Carrin, Ron & Murray (1993), Annex I, for each draw of the inputs. The
deterministic projection, the Monte Carlo and the equilibrium solver all call
:func:`project_draws`; there is no second implementation of the equations.

The kernel reads a base input vector laid out by :mod:`schemerisk.model.layout`
and, per draw, applies a list of *modifications* (replace, scale or shift
one position by a drawn value, or move the target of a linear path) before
projecting. Kernels take arrays and scalars only and fill preallocated
output rows; :func:`run_kernel` is the checked public wrapper.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit, prange

from schemerisk import equations as _equations
from schemerisk.equations import (
    admin_cost_current,
    adult_category_population,
    base_service_rate,
    current_price,
    exchange_rate_ppp,
    grown,
    insured_shares_for_target,
    premium_per_person,
    premium_subsidy,
    reserve_carried,
    scheme_payment_per_member,
    services_used,
    unit_cost_from_totals,
    value_on_target_path,
)
from schemerisk.model import layout as _layout
from schemerisk.model.layout import INPUT_DIMS, OUTPUT_DIMS, In, ModelInputs, Out, offsets

#: modification modes: the drawn value replaces, multiplies or is added to the input
REPLACE, SCALE, SHIFT = 0, 1, 2
#: modification kinds: one position, or the target of a linear path (see apply_modifications)
ELEMENT, PATH_TARGET = 0, 1

_ADMIN_AMOUNT, _ADMIN_SHARE, _ADMIN_SHARE_EVERY_YEAR, _ADMIN_PER_MEMBER = 0, 1, 2, 3
_FEE_FOR_SERVICE, _CAPITATION, _PER_CASE = 0, 1, 2


@njit(cache=True, inline="always")
def _modified(mode: int, value: float, x: float) -> float:
    if mode == REPLACE:
        return x
    if mode == SCALE:
        return value * x
    return value + x


@njit(cache=True)
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
    for k in range(column.shape[0]):
        x = theta[column[k]]
        i = position[k]
        if kind[k] == ELEMENT:
            p[i] = _modified(mode[k], p[i], x)
        else:
            ref = reference[k]
            p[i] += weight[k] * (_modified(mode[k], ref, x) - ref)
        p[i] = min(max(p[i], lower[k]), upper[k])


@njit(cache=True, inline="always")
def _seg(p: np.ndarray, off: np.ndarray, f: int) -> np.ndarray:
    return p[off[f] : off[f + 1]]


@njit(cache=True, inline="always")
def _seg2(p: np.ndarray, off: np.ndarray, f: int, n: int, m: int) -> np.ndarray:
    return p[off[f] : off[f + 1]].reshape((n, m))


@njit(cache=True, inline="always")
def _on_path(
    base: float,
    target: float,
    is_ratio: float,
    delay: float,
    arrival: float,
    year: float,
    base_year: float,
) -> float:
    """A unit cost or service rate on its target path (Annex I.1); NaN target = none."""
    if math.isnan(target):
        return base
    goal = target * base if is_ratio > 0.5 else target
    return value_on_target_path(base, goal, year, base_year + delay, arrival)


@njit(cache=True)
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

    Carrin, Ron & Murray (1993), Annex I, in the order of Sheet B: economy,
    population, membership and premiums, service rates and unit costs,
    scheme expenditure and revenue, and the structure of financing.

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
    T, C, S, A = n_years, n_cat, n_svc, n_admin
    # ---- inputs
    pop0 = p[off[In.POPULATION0]]
    admission_rate = p[off[In.ADMISSION_RATE]]
    loading = p[off[In.INSURED_LOADING]]
    ppp = p[off[In.PPP]] > 0.5
    growth = _seg(p, off, In.GROWTH_RATE)
    dep_share = _seg(p, off, In.DEPENDANT_SHARE)
    dp = _seg(p, off, In.DOMESTIC_INFLATION)
    ep = _seg(p, off, In.EXTERNAL_INFLATION)
    exr_path = _seg(p, off, In.EXCHANGE_RATE)
    real_dep = _seg(p, off, In.REAL_DEPRECIATION)
    adult_share = _seg2(p, off, In.ADULT_SHARE, T, C)
    income_growth = _seg2(p, off, In.INCOME_GROWTH, T, C)
    contribution_rate = _seg2(p, off, In.CONTRIBUTION_RATE, T, C)
    flat = _seg2(p, off, In.FLAT_PREMIUM, T, C)
    insured_share = _seg2(p, off, In.INSURED_SHARE, T, C)
    exempt_share = _seg2(p, off, In.EXEMPT_SHARE, T, C)
    fee_exempt = _seg2(p, off, In.USER_FEE_EXEMPT_SHARE, T, C)
    income0 = _seg(p, off, In.INCOME0)
    op_cover = _seg(p, off, In.OUTPATIENT_COVER)
    inpatient = _seg(p, off, In.INPATIENT)
    vbasis = _seg(p, off, In.VOLUME_BASIS)
    vamount = _seg(p, off, In.VOLUME_AMOUNT)
    los = _seg(p, off, In.LENGTH_OF_STAY)
    by_pop = _seg(p, off, In.SPLIT_BY_POPULATION)
    by_type = _seg(p, off, In.COST_BY_TYPE)
    pc0_in = _seg(p, off, In.PATIENT_COST0)
    gc0_in = _seg(p, off, In.GOVERNMENT_COST0)
    cop = _seg(p, off, In.COPAYMENT_RATE)
    a_imp = _seg(p, off, In.PATIENT_IMPORT_SHARE)
    b_imp = _seg(p, off, In.GOVERNMENT_IMPORT_SHARE)
    pct, pct_r = _seg(p, off, In.PC_TARGET), _seg(p, off, In.PC_TARGET_IS_RATIO)
    pct_d, pct_a = _seg(p, off, In.PC_TARGET_DELAY), _seg(p, off, In.PC_TARGET_ARRIVAL)
    gct, gct_r = _seg(p, off, In.GC_TARGET), _seg(p, off, In.GC_TARGET_IS_RATIO)
    gct_d, gct_a = _seg(p, off, In.GC_TARGET_DELAY), _seg(p, off, In.GC_TARGET_ARRIVAL)
    cost_total = _seg2(p, off, In.COST_TOTAL, S, 4)
    cost_gs = _seg2(p, off, In.COST_GOVERNMENT_SHARE, S, 4)
    split = _seg2(p, off, In.SPLIT, C, S)
    rel = _seg2(p, off, In.RELATIVE_USE, C, S)
    rt, rt_r = _seg2(p, off, In.RATE_TARGET, C, S), _seg2(p, off, In.RATE_TARGET_IS_RATIO, C, S)
    rt_d, rt_a = (
        _seg2(p, off, In.RATE_TARGET_DELAY, C, S),
        _seg2(p, off, In.RATE_TARGET_ARRIVAL, C, S),
    )
    admin_basis = _seg(p, off, In.ADMIN_BASIS)
    admin_value = _seg(p, off, In.ADMIN_VALUE)
    admin_growth = _seg2(p, off, In.ADMIN_REAL_GROWTH, T, A)
    reserve0 = p[off[In.RESERVE_INITIAL]]
    interest = _seg(p, off, In.RESERVE_INTEREST)
    n_tiers = off[In.TIER_METHOD + 1] - off[In.TIER_METHOD]
    sub_gs = _seg2(p, off, In.SUBSIDY_GOV_SHARE, T, C)
    sub_ga = _seg2(p, off, In.SUBSIDY_GOV_AMOUNT, T, C)
    sub_ds = _seg2(p, off, In.SUBSIDY_DONOR_SHARE, T, C)
    sub_da = _seg2(p, off, In.SUBSIDY_DONOR_AMOUNT, T, C)
    cov_rule = int(p[off[In.COVERAGE_RULE]])
    cov_target = _seg(p, off, In.COVERAGE_TARGET)
    cov_applies = _seg(p, off, In.COVERAGE_APPLIES)
    tier_of = _seg(p, off, In.SERVICE_TIER)
    case_rate = _seg(p, off, In.CASE_RATE)
    tier_method = _seg(p, off, In.TIER_METHOD)
    cap_rate = _seg2(p, off, In.CAPITATION_RATE, T, n_tiers)
    bonus_share = _seg2(p, off, In.BONUS_SHARE, T, n_tiers)
    bonus_achieved = _seg2(p, off, In.BONUS_ACHIEVEMENT, T, n_tiers)

    # ---- outputs
    dpi = _seg(o, ooff, Out.DOMESTIC_PRICE_INDEX)
    epi = _seg(o, ooff, Out.EXTERNAL_PRICE_INDEX)
    exr = _seg(o, ooff, Out.EXCHANGE_RATE)
    pop_total = _seg(o, ooff, Out.TOTAL_POPULATION)
    patient_cost = _seg(o, ooff, Out.PATIENT_COST)
    government_cost = _seg(o, ooff, Out.GOVERNMENT_COST)
    cost_constant = _seg(o, ooff, Out.TOTAL_COST_CONSTANT)
    payments = _seg(o, ooff, Out.HEALTH_CARE_PAYMENTS)
    admin = _seg(o, ooff, Out.ADMIN_EXPENDITURE)
    expenditure = _seg(o, ooff, Out.TOTAL_EXPENDITURE)
    revenue = _seg(o, ooff, Out.PREMIUM_REVENUE)
    flat_revenue = _seg(o, ooff, Out.FLAT_PREMIUM_REVENUE)
    contribution_revenue = _seg(o, ooff, Out.CONTRIBUTION_REVENUE)
    balance = _seg(o, ooff, Out.BALANCE)
    copayments = _seg(o, ooff, Out.COPAYMENTS)
    user_fees = _seg(o, ooff, Out.USER_FEES)
    gov_financing = _seg(o, ooff, Out.GOVERNMENT_FINANCING)
    reserve = _seg(o, ooff, Out.RESERVE)
    from_members = _seg(o, ooff, Out.PREMIUM_FROM_MEMBERS)
    from_government = _seg(o, ooff, Out.PREMIUM_FROM_GOVERNMENT)
    from_donors = _seg(o, ooff, Out.PREMIUM_FROM_DONORS)
    provider_margin = _seg(o, ooff, Out.PROVIDER_MARGIN)
    by_tier = _seg2(o, ooff, Out.PAYMENTS_BY_TIER, T, n_tiers)
    by_method = _seg2(o, ooff, Out.PAYMENTS_BY_METHOD, T, 4)
    pop = _seg2(o, ooff, Out.POPULATION, T, C)
    members = _seg2(o, ooff, Out.MEMBERS, T, C)
    exempted = _seg2(o, ooff, Out.EXEMPTED_MEMBERS, T, C)
    income = _seg2(o, ooff, Out.INCOME, T, C)
    premium = _seg2(o, ooff, Out.PREMIUM, T, C)
    cat_revenue = _seg2(o, ooff, Out.CATEGORY_REVENUE, T, C)
    services = _seg2(o, ooff, Out.SERVICES, T, S)
    unit_pc = _seg2(o, ooff, Out.UNIT_PATIENT_COST, T, S)
    unit_gc = _seg2(o, ooff, Out.UNIT_GOVERNMENT_COST, T, S)
    o[:] = 0.0

    # ---- economy (Section 3.4.2): price indices and exchange rate
    for t in range(T):
        if t == 0:
            dpi[0], epi[0], exr[0] = 100.0, 100.0, exr_path[0]
        else:
            dpi[t] = grown(dpi[t - 1], dp[t])
            epi[t] = grown(epi[t - 1], ep[t])
            exr[t] = (
                exchange_rate_ppp(exr[t - 1], dp[t], ep[t], real_dep[t]) if ppp else exr_path[t]
            )

    # ---- population (Annex I), membership, incomes (Section 3.4.3) and premium revenue
    shares = np.empty(C)
    for t in range(T):
        pop_total[t] = pop0 if t == 0 else grown(pop_total[t - 1], growth[t])
        for c in range(C):
            if c == 0:  # dependants come first in model order
                pop[t, c] = dep_share[t] * pop_total[t]  # Annex I: DEP_t = d_t POP_t
            else:
                pop[t, c] = adult_category_population(pop_total[t], dep_share[t], adult_share[t, c])
        # (extension) a whole-population coverage target moves the insured shares
        insured_shares_for_target(
            cov_rule, cov_target[t], cov_applies, insured_share[0], insured_share[t], pop[t], shares
        )
        for c in range(C):
            income[t, c] = income0[c] if t == 0 else grown(income[t - 1, c], income_growth[t, c])
            members[t, c] = shares[c] * pop[t, c]  # Annex I: M_it = m_it POP_it
            exempted[t, c] = exempt_share[t, c] * members[t, c]  # Annex I: POPE_it = e_it M_it
            premium[t, c] = premium_per_person(flat[t, c], contribution_rate[t, c], income[t, c])
            paying = members[t, c] - exempted[t, c]  # Annex I: POPM_it = M_it - POPE_it
            cat_revenue[t, c] = premium[t, c] * paying  # Annex I.3: HIR terms
            flat_revenue[t] += flat[t, c] * paying
            contribution_revenue[t] += contribution_rate[t, c] * income[t, c] * paying
            revenue[t] += cat_revenue[t, c]
            # (extension) who pays the premium: the state, a donor, the member
            by_gov = premium_subsidy(premium[t, c], sub_gs[t, c], sub_ga[t, c], 0.0)
            by_donor = premium_subsidy(premium[t, c], sub_ds[t, c], sub_da[t, c], by_gov)
            from_government[t] += by_gov * paying
            from_donors[t] += by_donor * paying
            from_members[t] += (premium[t, c] - by_gov - by_donor) * paying

    # ---- base-year service rates and unit costs (Section 3.4.6)
    hsu0 = np.empty((C, S))
    pc0 = np.empty(S)
    gc0 = np.empty(S)
    for s in range(S):
        volume0 = 0.0
        for c in range(C):
            hsu0[c, s] = base_service_rate(
                int(vbasis[s]),
                vamount[s],
                los[s],
                admission_rate,
                rel[c, s],
                by_pop[s] > 0.5,
                split[c, s],
                pop[0, c],
                pop_total[0],
            )
            volume0 += hsu0[c, s] * pop[0, c]  # N_j0 = sum_i HSU_ij0 POP_i0
        if by_type[s] > 0.5:
            pc0[s], gc0[s] = 0.0, 0.0
            for k in range(4):
                pc0[s] += unit_cost_from_totals(cost_total[s, k], 1.0 - cost_gs[s, k], volume0)
                gc0[s] += unit_cost_from_totals(cost_total[s, k], cost_gs[s, k], volume0)
        else:
            pc0[s], gc0[s] = pc0_in[s], gc0_in[s]

    # ---- services, costs, scheme payments and financing, year by year (Annex I.2-I.3)
    admin_real = np.zeros(A)
    ffs_by_tier = np.zeros(n_tiers)
    for t in range(T):
        year = float(base_year + t)
        exri = 100.0 * exr[t] / exr[0]  # Section 3.4.2: EXRI_t = 100 EXR_t / EXR_0
        members_total = 0.0
        ffs_by_tier[:] = 0.0  # what fee-for-service would have paid (for the provider margin)
        for c in range(C):
            members_total += members[t, c]
        for s in range(S):
            pc_const = _on_path(pc0[s], pct[s], pct_r[s], pct_d[s], pct_a[s], year, base_year)
            gc_const = _on_path(gc0[s], gct[s], gct_r[s], gct_d[s], gct_a[s], year, base_year)
            unit_pc[t, s] = current_price(pc_const, a_imp[s], dpi[t], epi[t], exri)  # Annex I.2
            unit_gc[t, s] = current_price(gc_const, b_imp[s], dpi[t], epi[t], exri)  # Annex I.2
            for c in range(C):
                hsu = _on_path(
                    hsu0[c, s], rt[c, s], rt_r[c, s], rt_d[c, s], rt_a[c, s], year, base_year
                )
                n = services_used(hsu, pop[t, c], members[t, c], loading)
                services[t, s] += n
                patient_cost[t] += n * unit_pc[t, s]
                government_cost[t] += n * unit_gc[t, s]
                cost_constant[t] += n * (pc_const + gc_const)
                gov_financing[t] += (
                    n * unit_gc[t, s]
                )  # Figure 1: government pays GC for every service
                use_per_member = hsu * loading
                n_uninsured = hsu * (pop[t, c] - members[t, c])
                covered = inpatient[s] > 0.5 or op_cover[c] > 0.5
                paying = members[t, c] - exempted[t, c]
                if covered:
                    ffs = scheme_payment_per_member(
                        use_per_member, unit_pc[t, s], cop[s], paying, exempted[t, c]
                    )  # Annex I.3: CHS
                    k = int(tier_of[s])
                    ffs_by_tier[k] += ffs
                    method = int(tier_method[k])
                    if method == _FEE_FOR_SERVICE:
                        by_tier[t, k] += ffs
                        by_method[t, 0] += ffs
                    elif method == _PER_CASE:  # (extension) a flat amount per insured case
                        rate = current_price(
                            case_rate[s], 0.0, dpi[t], epi[t], exri
                        )  # base-year prices
                        paid = rate * use_per_member * members[t, c]
                        by_tier[t, k] += paid
                        by_method[t, 2] += paid
                    copayments[t] += cop[s] * use_per_member * unit_pc[t, s] * paying  # Section 3.5
                    gross_fees = n_uninsured * unit_pc[t, s]
                else:
                    gross_fees = (
                        n * unit_pc[t, s]
                    )  # the insured pay in full for what is not covered
                user_fees[t] += (1.0 - fee_exempt[t, c]) * gross_fees  # Section 3.5
                gov_financing[t] += fee_exempt[t, c] * gross_fees  # Figure 1 box e (extension)
        # (extension) capitation and performance bonuses, tier by tier (paper section 2.2.4)
        for k in range(n_tiers):
            if int(tier_method[k]) == _CAPITATION:
                capitated = 0.0  # members covered for at least one of the tier's services
                for c in range(C):
                    for s in range(S):
                        if int(tier_of[s]) == k and (inpatient[s] > 0.5 or op_cover[c] > 0.5):
                            capitated += members[t, c]
                            break
                rate = current_price(cap_rate[t, k], 0.0, dpi[t], epi[t], exri)  # base-year prices
                paid = rate * capitated
                by_tier[t, k] += paid
                by_method[t, 1] += paid
            bonus = bonus_share[t, k] * bonus_achieved[t, k] * by_tier[t, k]
            if int(tier_method[k]) == _FEE_FOR_SERVICE:
                provider_margin[t] += bonus  # exactly 0 for the paper's fee-for-service
            else:
                provider_margin[t] += by_tier[t, k] + bonus - ffs_by_tier[k]
            by_tier[t, k] += bonus
            by_method[t, 3] += bonus
            payments[t] += by_tier[t, k]
        # administrative expenditure (Section 3.4.9, Annex I.2)
        for a in range(A):
            basis = int(admin_basis[a])
            if basis == _ADMIN_SHARE_EVERY_YEAR:
                admin[t] += admin_value[a] * payments[t]
                continue
            if t == 0:
                if basis == _ADMIN_AMOUNT or basis == _ADMIN_PER_MEMBER:
                    admin_real[a] = admin_value[a]
                else:  # share of base-year payments; DPI_0 = 100, so current = constant prices
                    admin_real[a] = admin_value[a] * payments[0]
            else:
                admin_real[a] = grown(admin_real[a], admin_growth[t, a])
            amount = admin_real[a] * members_total if basis == _ADMIN_PER_MEMBER else admin_real[a]
            admin[t] += admin_cost_current(amount, dpi[t])
        expenditure[t] = payments[t] + admin[t]  # Annex I.3: C_t = CHS_t + AC_t
        balance[t] = revenue[t] - expenditure[t]  # Annex I.3: B_t = HIR_t - C_t
        opening = reserve0 if t == 0 else reserve[t - 1]
        reserve[t] = reserve_carried(opening, interest[t], balance[t])  # extension


@njit(cache=True, parallel=True, nogil=True)
def _project_draws(
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
) -> None:
    full = keep.shape[0] == 0
    for d in prange(out.shape[0]):
        p = base.copy()
        apply_modifications(
            p, theta[d], column, position, mode, kind, weight, reference, lower, upper
        )
        if full:
            project_one(p, off, n_years, n_cat, n_svc, n_admin, base_year, out[d], ooff)
        else:  # project into a scratch row and keep only the chosen positions
            row = np.empty(ooff[-1])
            project_one(p, off, n_years, n_cat, n_svc, n_admin, base_year, row, ooff)
            for j in range(keep.shape[0]):
                out[d, j] = row[keep[j]]


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


def output_offsets(inputs: ModelInputs) -> np.ndarray:
    """Offsets of the output row for the dimensions of ``inputs``."""
    return offsets(OUTPUT_DIMS, inputs.dims)


def run_kernel(
    inputs: ModelInputs,
    theta: np.ndarray | None = None,
    modifications: Modifications | None = None,
    out: np.ndarray | None = None,
    keep: np.ndarray | None = None,
) -> np.ndarray:
    """Project every draw: the checked wrapper around the compiled kernel.

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
    picks = np.zeros(0, dtype=np.int64) if keep is None else np.asarray(keep, dtype=np.int64)
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
    _project_draws(
        inputs.vector,
        inputs.offsets,
        d.n_years,
        d.n_categories,
        d.n_services,
        d.n_admin,
        inputs.base_year,
        theta,
        mods.column,
        mods.position,
        mods.mode,
        mods.kind,
        mods.weight,
        mods.reference,
        mods.lower,
        mods.upper,
        out,
        ooff,
        picks,
    )
    return out


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
    return [
        f
        for f in globals().values()
        if getattr(f, "_cache", None) is not None
        and getattr(getattr(f, "py_func", None), "__module__", "") == __name__
    ]


refresh_stale_cache(
    _cached_dispatchers(),
    [Path(_equations.__file__), Path(_layout.__file__)],
)

__all__ = [
    "ELEMENT",
    "INPUT_DIMS",
    "PATH_TARGET",
    "REPLACE",
    "SCALE",
    "SHIFT",
    "Modifications",
    "apply_modifications",
    "output_offsets",
    "project_one",
    "refresh_stale_cache",
    "run_kernel",
]
