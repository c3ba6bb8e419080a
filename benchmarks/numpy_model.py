"""The projection in plain numpy, built from the plain-Python functions of equations.py.

A peer for the benchmarks (issue 13): the same stages as the compiled kernel
(:mod:`schemerisk.model.kernel`), with every formula taken from
:mod:`schemerisk.equations` called *uncompiled* on numpy arrays that hold one
value per draw. Loops over years, categories and services stay in Python;
each step works on all draws at once. A switch that the kernel tests once per
draw (an integer code, a coverage rule, a payment method) becomes an
elementwise choice (:func:`schemerisk.equations.select`), so draws that
differ in every switch are projected together.

tests/model/test_vectorised_reference.py holds it to the kernel, bit for bit:
both evaluate the same formulas in the same order without fastmath. It is a
benchmark peer, not a second implementation: it has no formula of its own.

Run from the repository root, ``benchmarks/bench_kernel.py`` imports it.
"""

from __future__ import annotations

import numpy as np

from schemerisk import equations as eq
from schemerisk.model.kernel import ELEMENT, REPLACE, SCALE, Modifications, output_offsets
from schemerisk.model.layout import In, ModelInputs, Out

_ADMIN_AMOUNT, _ADMIN_SHARE_EVERY_YEAR, _ADMIN_PER_MEMBER = 0, 2, 3
_FEE_FOR_SERVICE, _CAPITATION, _PER_CASE = 0, 1, 2


def apply_modifications_numpy(
    vector: np.ndarray, theta: np.ndarray, mods: Modifications
) -> np.ndarray:
    """Every draw's input vector at once: shape (draws, inputs) (see ``apply_modifications``)."""
    p = np.repeat(vector[None, :], theta.shape[0], axis=0)
    for k in range(len(mods)):
        x, i, mode = theta[:, mods.column[k]], mods.position[k], mods.mode[k]
        if mods.kind[k] == ELEMENT:
            old = p[:, i]
        else:
            old = np.full(theta.shape[0], mods.reference[k])
        new = x if mode == REPLACE else (old * x if mode == SCALE else old + x)
        if mods.kind[k] == ELEMENT:
            p[:, i] = new
        else:
            p[:, i] += mods.weight[k] * (new - mods.reference[k])
        p[:, i] = np.minimum(np.maximum(p[:, i], mods.lower[k]), mods.upper[k])
    return p


def project_numpy(
    inputs: ModelInputs,
    theta: np.ndarray | None = None,
    modifications: Modifications | None = None,
) -> np.ndarray:
    """Project every draw with numpy: the kernel's output rows, shape (draws, row length).

    Parameters
    ----------
    inputs : ModelInputs
        The base inputs.
    theta : numpy.ndarray, optional
        Sampled values, shape (draws, columns); default one draw, no columns.
    modifications : Modifications, optional
        How the columns of ``theta`` change the inputs; default none.

    Returns
    -------
    numpy.ndarray
        The output rows, laid out as :func:`~schemerisk.model.kernel.run_kernel`'s.
    """
    mods = modifications if modifications is not None else Modifications()
    theta = np.zeros((1, 0)) if theta is None else np.asarray(theta, dtype=np.float64)
    if theta.ndim != 2:
        raise ValueError(f"theta must be 2-D (draws, columns), got shape {theta.shape}")
    if len(mods) and mods.column.max() >= theta.shape[1]:
        raise ValueError("a modification refers to a column theta does not have")
    p = apply_modifications_numpy(inputs.vector, theta, mods)
    ooff = output_offsets(inputs)
    o = np.zeros((theta.shape[0], int(ooff[-1])))
    with np.errstate(all="ignore"):  # both sides of every select are evaluated
        _Projection(inputs, p, o, ooff).run()
    return o


class _Projection:
    """The kernel's stages on arrays of draws: ``p`` (draws, inputs) into ``o`` (draws, outputs)."""

    def __init__(self, inputs: ModelInputs, p: np.ndarray, o: np.ndarray, ooff: np.ndarray):
        d = inputs.dims
        self.T, self.C, self.S, self.A, self.K = (
            d.n_years,
            d.n_categories,
            d.n_services,
            d.n_admin,
            d.n_tiers,
        )
        self.base_year = inputs.base_year
        self.off, self.p, self.o, self.ooff = inputs.offsets, p, o, ooff
        self.draws = np.arange(p.shape[0])

    def inp(self, f: In, i: int = 0) -> np.ndarray:
        """Input ``f`` at flat position ``i`` of the field, for every draw."""
        return self.p[:, self.off[f] + i]

    def out(self, f: Out, i: int = 0) -> np.ndarray:
        """Output ``f`` at flat position ``i`` (a view to write into)."""
        return self.o[:, self.ooff[f] + i]

    def put(self, f: Out, i: int, value: np.ndarray) -> None:
        self.o[:, self.ooff[f] + i] = value

    def run(self) -> None:
        self.indexed_amounts()
        self.population()
        self.prices()
        self.membership_and_premiums()
        self.base_year_rates_and_costs()
        self.services_and_costs()
        self.payments_by_tier()
        self.administration()
        self.balance_and_reserve()

    def indexed_amounts(self) -> None:
        """Amounts past the scenario's own years at each draw's own prices (kernel.indexed_amounts)."""
        T, C = self.T, self.C
        pairs = (
            (In.FLAT_PREMIUM, In.FLAT_PREMIUM_INDEXED_FROM),
            (In.SUBSIDY_GOV_AMOUNT, In.SUBSIDY_GOV_AMOUNT_INDEXED_FROM),
            (In.SUBSIDY_DONOR_AMOUNT, In.SUBSIDY_DONOR_AMOUNT_INDEXED_FROM),
        )
        for amount, start in pairs:
            for c in range(C):
                k = np.trunc(self.inp(start, c))
                active = (k > 0) & (k < T)
                if not active.any():
                    continue
                last_year = np.where(active, k - 1, 0).astype(np.int64)
                last = self.p[self.draws, self.off[amount] + last_year * C + c]
                ratio = np.ones(self.p.shape[0])
                for t in range(1, T):
                    on = active & (t >= k)
                    ratio = np.where(on, eq.grown(ratio, self.inp(In.DOMESTIC_INFLATION, t)), 1.0)
                    i = self.off[amount] + t * C + c
                    self.p[:, i] = np.where(on, eq.indexed_amount(last, ratio), self.p[:, i])

    def population(self) -> None:
        total = self.inp(In.POPULATION0)
        for t in range(self.T):
            if t > 0:
                total = eq.grown(total, self.inp(In.GROWTH_RATE, t))
            self.put(Out.TOTAL_POPULATION, t, total)
            d = self.inp(In.DEPENDANT_SHARE, t)
            for c in range(self.C):
                i = t * self.C + c
                if c == 0:
                    self.put(Out.POPULATION, i, eq.dependant_population(total, d))
                else:
                    adults = eq.adult_category_population(total, d, self.inp(In.ADULT_SHARE, i))
                    self.put(Out.POPULATION, i, adults)

    def prices(self) -> None:
        dpi = np.full(self.p.shape[0], 100.0)
        epi = dpi.copy()
        exr = self.inp(In.EXCHANGE_RATE)
        ppp = self.inp(In.PPP) > 0.5
        self.put(Out.DOMESTIC_PRICE_INDEX, 0, dpi)
        self.put(Out.EXTERNAL_PRICE_INDEX, 0, epi)
        self.put(Out.EXCHANGE_RATE, 0, exr)
        for t in range(1, self.T):
            dp, ep = self.inp(In.DOMESTIC_INFLATION, t), self.inp(In.EXTERNAL_INFLATION, t)
            dpi, epi = eq.grown(dpi, dp), eq.grown(epi, ep)
            parity = eq.exchange_rate_ppp(exr, dp, ep, self.inp(In.REAL_DEPRECIATION, t))
            exr = eq.select(ppp, parity, self.inp(In.EXCHANGE_RATE, t))
            self.put(Out.DOMESTIC_PRICE_INDEX, t, dpi)
            self.put(Out.EXTERNAL_PRICE_INDEX, t, epi)
            self.put(Out.EXCHANGE_RATE, t, exr)

    def membership_and_premiums(self) -> None:
        T, C = self.T, self.C
        rule = np.trunc(self.inp(In.COVERAGE_RULE))
        applies = np.stack([self.inp(In.COVERAGE_APPLIES, c) for c in range(C)])
        base_shares = np.stack([self.inp(In.INSURED_SHARE, c) for c in range(C)])
        shares = np.empty_like(base_shares)
        for t in range(T):
            planned = np.stack([self.inp(In.INSURED_SHARE, t * C + c) for c in range(C)])
            people = np.stack([self.out(Out.POPULATION, t * C + c) for c in range(C)])
            target = self.inp(In.COVERAGE_TARGET, t)
            eq.insured_shares_for_target(
                rule, target, applies, base_shares, planned, people, shares
            )
            totals = [0.0] * 6  # revenue, flat, contributions, members, government, donors
            for c in range(C):
                i = t * C + c
                if t == 0:
                    income = self.inp(In.INCOME0, c)
                else:
                    income = eq.grown(self.out(Out.INCOME, i - C), self.inp(In.INCOME_GROWTH, i))
                members = eq.share_of(shares[c], self.out(Out.POPULATION, i))
                exempted = eq.share_of(self.inp(In.EXEMPT_SHARE, i), members)
                flat, rate = self.inp(In.FLAT_PREMIUM, i), self.inp(In.CONTRIBUTION_RATE, i)
                premium = eq.premium_per_person(flat, rate, income)
                paying = eq.paying_members(members, exempted)
                cat_revenue = eq.amount_for(premium, paying)
                for f, v in (
                    (Out.INCOME, income),
                    (Out.MEMBERS, members),
                    (Out.EXEMPTED_MEMBERS, exempted),
                    (Out.PREMIUM, premium),
                    (Out.CATEGORY_REVENUE, cat_revenue),
                ):
                    self.put(f, i, v)
                by_gov = eq.premium_subsidy(
                    premium,
                    self.inp(In.SUBSIDY_GOV_SHARE, i),
                    self.inp(In.SUBSIDY_GOV_AMOUNT, i),
                    0.0,
                )
                by_donor = eq.premium_subsidy(
                    premium,
                    self.inp(In.SUBSIDY_DONOR_SHARE, i),
                    self.inp(In.SUBSIDY_DONOR_AMOUNT, i),
                    by_gov,
                )
                totals[0] = totals[0] + cat_revenue
                totals[1] = totals[1] + eq.amount_for(flat, paying)
                totals[2] = totals[2] + eq.contribution_revenue(rate, income, paying)
                totals[3] = totals[3] + eq.amount_for(premium - by_gov - by_donor, paying)
                totals[4] = totals[4] + eq.amount_for(by_gov, paying)
                totals[5] = totals[5] + eq.amount_for(by_donor, paying)
            for f, v in zip(
                (
                    Out.PREMIUM_REVENUE,
                    Out.FLAT_PREMIUM_REVENUE,
                    Out.CONTRIBUTION_REVENUE,
                    Out.PREMIUM_FROM_MEMBERS,
                    Out.PREMIUM_FROM_GOVERNMENT,
                    Out.PREMIUM_FROM_DONORS,
                ),
                totals,
                strict=True,
            ):
                self.put(f, t, v)

    def base_year_rates_and_costs(self) -> None:
        C, S = self.C, self.S
        self.hsu0 = np.empty((C, S, self.p.shape[0]))
        self.pc0 = np.empty((S, self.p.shape[0]))
        self.gc0 = np.empty((S, self.p.shape[0]))
        total0 = self.out(Out.TOTAL_POPULATION, 0)
        for s in range(S):
            volume0: np.ndarray | float = 0.0
            for c in range(C):
                rate = eq.base_service_rate(
                    np.trunc(self.inp(In.VOLUME_BASIS, s)),
                    self.inp(In.VOLUME_AMOUNT, s),
                    self.inp(In.LENGTH_OF_STAY, s),
                    self.inp(In.ADMISSION_RATE),
                    self.inp(In.RELATIVE_USE, c * S + s),
                    self.inp(In.SPLIT_BY_POPULATION, s) > 0.5,
                    self.inp(In.SPLIT, c * S + s),
                    self.out(Out.POPULATION, c),
                    total0,
                )
                self.hsu0[c, s] = rate
                volume0 = volume0 + eq.amount_for(rate, self.out(Out.POPULATION, c))
            patient: np.ndarray | float = 0.0
            government: np.ndarray | float = 0.0
            for k in range(4):
                total = self.inp(In.COST_TOTAL, 4 * s + k)
                gs = self.inp(In.COST_GOVERNMENT_SHARE, 4 * s + k)
                patient = patient + eq.unit_cost_from_totals(total, 1.0 - gs, volume0)
                government = government + eq.unit_cost_from_totals(total, gs, volume0)
            by_type = self.inp(In.COST_BY_TYPE, s) > 0.5
            self.pc0[s] = eq.select(by_type, patient, self.inp(In.PATIENT_COST0, s))
            self.gc0[s] = eq.select(by_type, government, self.inp(In.GOVERNMENT_COST0, s))

    def _on_path(self, base: np.ndarray, fields: tuple[In, In, In, In], i: int, year: float):
        value, ratio, delay, arrival = (self.inp(f, i) for f in fields)
        return eq.value_on_path(base, value, ratio, delay, arrival, year, self.base_year)

    def _indices(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dpi = self.out(Out.DOMESTIC_PRICE_INDEX, t)
        epi = self.out(Out.EXTERNAL_PRICE_INDEX, t)
        exri = eq.exchange_rate_index(self.out(Out.EXCHANGE_RATE, t), self.out(Out.EXCHANGE_RATE))
        return dpi, epi, exri

    def services_and_costs(self) -> None:
        T, C, S = self.T, self.C, self.S
        self.rates = np.empty((T, S, C, self.p.shape[0]))
        self.used = np.empty_like(self.rates)
        loading = self.inp(In.INSURED_LOADING)
        pc_target = (In.PC_TARGET, In.PC_TARGET_IS_RATIO, In.PC_TARGET_DELAY, In.PC_TARGET_ARRIVAL)
        gc_target = (In.GC_TARGET, In.GC_TARGET_IS_RATIO, In.GC_TARGET_DELAY, In.GC_TARGET_ARRIVAL)
        rate_target = (
            In.RATE_TARGET,
            In.RATE_TARGET_IS_RATIO,
            In.RATE_TARGET_DELAY,
            In.RATE_TARGET_ARRIVAL,
        )
        for t in range(T):
            year = float(self.base_year + t)
            dpi, epi, exri = self._indices(t)
            totals: list[np.ndarray | float] = [0.0, 0.0, 0.0]
            for s in range(S):
                pc_const = self._on_path(self.pc0[s], pc_target, s, year)
                gc_const = self._on_path(self.gc0[s], gc_target, s, year)
                unit_pc = eq.current_price(
                    pc_const, self.inp(In.PATIENT_IMPORT_SHARE, s), dpi, epi, exri
                )
                unit_gc = eq.current_price(
                    gc_const, self.inp(In.GOVERNMENT_IMPORT_SHARE, s), dpi, epi, exri
                )
                self.put(Out.UNIT_PATIENT_COST, t * S + s, unit_pc)
                self.put(Out.UNIT_GOVERNMENT_COST, t * S + s, unit_gc)
                services: np.ndarray | float = 0.0
                for c in range(C):
                    rate = self._on_path(self.hsu0[c, s], rate_target, c * S + s, year)
                    n = eq.services_used(
                        rate,
                        self.out(Out.POPULATION, t * C + c),
                        self.out(Out.MEMBERS, t * C + c),
                        loading,
                    )
                    self.rates[t, s, c], self.used[t, s, c] = rate, n
                    services = services + n
                    totals[0] = totals[0] + eq.cost_of_services(n, unit_pc)
                    totals[1] = totals[1] + eq.cost_of_services(n, unit_gc)
                    totals[2] = totals[2] + eq.cost_of_services(n, pc_const + gc_const)
                self.put(Out.SERVICES, t * S + s, services)
            self.put(Out.PATIENT_COST, t, totals[0])
            self.put(Out.GOVERNMENT_COST, t, totals[1])
            self.put(Out.TOTAL_COST_CONSTANT, t, totals[2])

    def payments_by_tier(self) -> None:
        T, C, S, K = self.T, self.C, self.S, self.K
        loading = self.inp(In.INSURED_LOADING)
        tier_of = [np.trunc(self.inp(In.SERVICE_TIER, s)).astype(np.int64) for s in range(S)]
        methods = self.p[:, self.off[In.TIER_METHOD] : self.off[In.TIER_METHOD] + K]
        method_of_tier = [np.trunc(methods[:, k]) for k in range(K)]
        covered = [
            [
                (self.inp(In.INPATIENT, s) > 0.5) | (self.inp(In.OUTPATIENT_COVER, c) > 0.5)
                for s in range(S)
            ]
            for c in range(C)
        ]
        for t in range(T):
            dpi, epi, exri = self._indices(t)
            tier_ffs: list[np.ndarray | float] = [0.0] * K
            tier_paid: list[np.ndarray | float] = [0.0] * K
            by_method: list[np.ndarray | float] = [0.0] * 4
            copayments: np.ndarray | float = 0.0
            user_fees: np.ndarray | float = 0.0
            gov_financing: np.ndarray | float = 0.0
            for s in range(S):
                unit_pc = self.out(Out.UNIT_PATIENT_COST, t * S + s)
                unit_gc = self.out(Out.UNIT_GOVERNMENT_COST, t * S + s)
                method = np.trunc(methods[self.draws, tier_of[s]])
                cop = self.inp(In.COPAYMENT_RATE, s)
                case_rate = eq.current_price(self.inp(In.CASE_RATE, s), 0.0, dpi, epi, exri)
                for c in range(C):
                    j = t * C + c
                    n, rate = self.used[t, s, c], self.rates[t, s, c]
                    gov_financing = gov_financing + eq.cost_of_services(n, unit_gc)
                    members = self.out(Out.MEMBERS, j)
                    exempted = self.out(Out.EXEMPTED_MEMBERS, j)
                    use = eq.insured_use_rate(rate, loading)
                    n_uninsured = eq.uninsured_services(rate, self.out(Out.POPULATION, j), members)
                    paying = eq.paying_members(members, exempted)
                    cov = covered[c][s]
                    ffs = eq.scheme_payment_per_member(use, unit_pc, cop, paying, exempted)
                    paid_case = eq.per_case_payment(case_rate, use, members)
                    is_ffs, is_case = (
                        cov & (method == _FEE_FOR_SERVICE),
                        cov & (method == _PER_CASE),
                    )
                    for k in range(K):
                        here = tier_of[s] == k
                        tier_ffs[k] = tier_ffs[k] + eq.select(cov & here, ffs, 0.0)
                        paid = eq.select(
                            is_ffs & here, ffs, eq.select(is_case & here, paid_case, 0.0)
                        )
                        tier_paid[k] = tier_paid[k] + paid
                    by_method[0] = by_method[0] + eq.select(is_ffs, ffs, 0.0)
                    by_method[2] = by_method[2] + eq.select(is_case, paid_case, 0.0)
                    copay = eq.copayments_paid(cop, use, unit_pc, paying)
                    copayments = copayments + eq.select(cov, copay, 0.0)
                    gross = eq.select(
                        cov,
                        eq.cost_of_services(n_uninsured, unit_pc),
                        eq.cost_of_services(n, unit_pc),
                    )
                    fe = self.inp(In.USER_FEE_EXEMPT_SHARE, j)
                    user_fees = user_fees + eq.fees_paid(fe, gross)
                    gov_financing = gov_financing + eq.share_of(fe, gross)
            payments: np.ndarray | float = 0.0
            margin: np.ndarray | float = 0.0
            for k in range(K):
                method = method_of_tier[k]
                capitated: np.ndarray | float = 0.0
                for c in range(C):
                    anywhere = np.zeros(self.p.shape[0], dtype=bool)
                    for s in range(S):
                        anywhere |= (tier_of[s] == k) & covered[c][s]
                    members = self.out(Out.MEMBERS, t * C + c)
                    capitated = capitated + eq.select(anywhere, members, 0.0)
                cap_rate = eq.current_price(
                    self.inp(In.CAPITATION_RATE, t * K + k), 0.0, dpi, epi, exri
                )
                paid = eq.select(method == _CAPITATION, eq.amount_for(cap_rate, capitated), 0.0)
                tier_paid[k] = tier_paid[k] + paid
                by_method[1] = by_method[1] + paid
                bonus = eq.performance_bonus(
                    self.inp(In.BONUS_SHARE, t * K + k),
                    self.inp(In.BONUS_ACHIEVEMENT, t * K + k),
                    tier_paid[k],
                )
                beyond = eq.provider_margin(tier_paid[k], bonus, tier_ffs[k])
                margin = margin + eq.select(method == _FEE_FOR_SERVICE, bonus, beyond)
                tier_paid[k] = tier_paid[k] + bonus
                by_method[3] = by_method[3] + bonus
                payments = payments + tier_paid[k]
                self.put(Out.PAYMENTS_BY_TIER, t * K + k, tier_paid[k])
            for m in range(4):
                self.put(Out.PAYMENTS_BY_METHOD, 4 * t + m, by_method[m])
            self.put(Out.HEALTH_CARE_PAYMENTS, t, payments)
            self.put(Out.PROVIDER_MARGIN, t, margin)
            self.put(Out.COPAYMENTS, t, copayments)
            self.put(Out.USER_FEES, t, user_fees)
            self.put(Out.GOVERNMENT_FINANCING, t, gov_financing)

    def administration(self) -> None:
        T, C, A = self.T, self.C, self.A
        real: list[np.ndarray] = [np.zeros(self.p.shape[0]) for _ in range(A)]
        for t in range(T):
            members_total: np.ndarray | float = 0.0
            for c in range(C):
                members_total = members_total + self.out(Out.MEMBERS, t * C + c)
            payments = self.out(Out.HEALTH_CARE_PAYMENTS, t)
            admin: np.ndarray | float = 0.0
            for a in range(A):
                basis, value = np.trunc(self.inp(In.ADMIN_BASIS, a)), self.inp(In.ADMIN_VALUE, a)
                if t == 0:
                    fixed = (basis == _ADMIN_AMOUNT) | (basis == _ADMIN_PER_MEMBER)
                    share = eq.share_of(value, self.out(Out.HEALTH_CARE_PAYMENTS, 0))
                    real[a] = eq.select(fixed, value, share)
                else:
                    real[a] = eq.grown(real[a], self.inp(In.ADMIN_REAL_GROWTH, t * A + a))
                per_member = eq.amount_for(real[a], members_total)
                amount = eq.select(basis == _ADMIN_PER_MEMBER, per_member, real[a])
                current = eq.admin_cost_current(amount, self.out(Out.DOMESTIC_PRICE_INDEX, t))
                every_year = eq.share_of(value, payments)
                admin = admin + eq.select(basis == _ADMIN_SHARE_EVERY_YEAR, every_year, current)
            self.put(Out.ADMIN_EXPENDITURE, t, admin)

    def balance_and_reserve(self) -> None:
        reserve = self.inp(In.RESERVE_INITIAL)
        for t in range(self.T):
            expenditure = eq.total_expenditure(
                self.out(Out.HEALTH_CARE_PAYMENTS, t), self.out(Out.ADMIN_EXPENDITURE, t)
            )
            b = eq.balance(self.out(Out.PREMIUM_REVENUE, t), expenditure)
            reserve = eq.reserve_carried(reserve, self.inp(In.RESERVE_INTEREST, t), b)
            self.put(Out.TOTAL_EXPENDITURE, t, expenditure)
            self.put(Out.BALANCE, t, b)
            self.put(Out.RESERVE, t, reserve)
