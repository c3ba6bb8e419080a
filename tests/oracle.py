"""A deliberately naive second transcription of the model, for testing the kernel.

This follows ``shared/spec/MODEL.md`` section 3 (Carrin, Ron & Murray 1993,
Annex I) line by line in plain Python: loops over years, dicts keyed by
category and service name, and the "moving towards a target" rule written as
the paper's recursion (``v_y = v_{y-1} + step``) rather than the package's
closed form. It reads nothing from the package but the typed
:class:`~schemerisk.scenario.Scenario`: it does not import
``schemerisk.equations`` or ``schemerisk.model``, so an error in either
cannot hide itself here.

Speed does not matter; clarity and independence do.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from schemerisk.scenario import AdminBasis, Level, Scenario, VolumeBasis
from schemerisk.scenario.types import Target, YearPath

DEPENDANTS = "dependants"


def moving_to_target(
    base: float, target: float, base_year: int, delay: int, arrival: int, n: int
) -> list[float]:
    """Annex I.1 as the paper writes it: a recursion over the years.

    st = base year + delay; if st < y <= ar: v_y = v_{y-1} + (target - v_st) / (ar - st),
    otherwise v_y = v_{y-1}; v at the base year is ``base``.
    """
    start = base_year + delay
    values = []
    v = base
    v_start = base
    for t in range(n):
        year = base_year + t
        if t > 0 and start < year <= arrival:
            v = v + (target - v_start) / (arrival - start)
        if year <= start:
            v_start = v
        values.append(v)
    return values


def through_milestones(points: list[tuple[int, float]], base_year: int, n: int) -> list[float]:
    """(extension) Straight lines through (year, value) points, constant after the last."""
    values = []
    for t in range(n):
        year = base_year + t
        value = points[-1][1]
        for (y0, v0), (y1, v1) in itertools.pairwise(points):
            if y0 <= year <= y1:
                value = v0 + (v1 - v0) * (year - y0) / (y1 - y0)
                break
        values.append(value)
    return values


def yearly(path: YearPath, base_year: int, n: int) -> list[float]:
    """The yearly values of a path; a path written as targets is recomputed here."""
    if path.linear is not None:
        lin = path.linear
        return moving_to_target(lin.base, lin.target, base_year, lin.delay, lin.arrival, n)
    milestones = getattr(path, "milestones", None)
    if milestones is not None:
        return through_milestones(list(milestones), base_year, n)
    return [float(v) for v in path.values]


def project_oracle(sc: Scenario) -> dict[str, object]:
    """Project ``sc`` the slow way.

    Returns
    -------
    dict
        Per-year arrays (length T + 1) for ``balance``, ``premium_revenue``,
        ``health_care_payments``, ``admin_expenditure``, ``total_expenditure``,
        ``user_fees``, ``copayments``, ``government_financing``,
        ``patient_cost``, ``government_cost``, ``total_population``,
        ``domestic_price_index``, ``external_price_index``, ``exchange_rate``;
        and dicts of per-year arrays ``population``, ``members``,
        ``exempted_members``, ``premium`` (by category) and ``services``,
        ``unit_patient_cost``, ``unit_government_cost`` (by service).
    """
    y0 = sc.base_year
    n = sc.horizon + 1
    cats = [c.name for c in sc.categories]
    svcs = [s.name for s in sc.services]

    def path(p: YearPath) -> list[float]:
        return yearly(p, y0, n)

    # ---------------- economy (MODEL.md 2.2)
    dp = path(sc.economy.domestic_inflation)
    ep = path(sc.economy.external_inflation)
    exr_given = path(sc.economy.exchange_rate)
    rd_path = getattr(sc.economy, "real_depreciation", None)  # (extension) departure from PPP
    rd = [0.0] * n if rd_path is None else path(rd_path)
    DPI, EPI, EXR = [100.0], [100.0], [exr_given[0]]
    for t in range(1, n):
        DPI.append(DPI[-1] * (1 + dp[t]))
        EPI.append(EPI[-1] * (1 + ep[t]))
        if sc.economy.purchasing_power_parity:
            EXR.append(EXR[-1] * (1 + dp[t]) / (1 + ep[t]) * (1 + rd[t]))
        else:
            EXR.append(exr_given[t])
    EXRI = [100 * EXR[t] / EXR[0] for t in range(n)]

    # ---------------- population (Annex I)
    g = path(sc.demography.growth_rate)
    d = path(sc.demography.dependant_share)
    POP = [sc.demography.population]
    for t in range(1, n):
        POP.append(POP[-1] * (1 + g[t]))
    pop: dict[str, list[float]] = {}
    for cat in sc.categories:
        if cat.name == DEPENDANTS:
            pop[cat.name] = [d[t] * POP[t] for t in range(n)]
        else:
            s = path(cat.adult_share)  # type: ignore[arg-type]
            pop[cat.name] = [s[t] * (POP[t] - d[t] * POP[t]) for t in range(n)]

    # ---------------- membership, incomes, premiums (Annex I, I.3)
    M, POPE, POPM, INC, PREM = {}, {}, {}, {}, {}
    for cat in sc.categories:
        m = path(cat.insured_share)
        e = path(cat.exempt_share)
        ig = path(cat.income_growth)
        hicr = path(cat.contribution_rate)
        flat = path(cat.flat_premium)
        M[cat.name] = [m[t] * pop[cat.name][t] for t in range(n)]
        POPE[cat.name] = [e[t] * M[cat.name][t] for t in range(n)]
        POPM[cat.name] = [M[cat.name][t] - POPE[cat.name][t] for t in range(n)]
        inc = [cat.income]
        for t in range(1, n):
            inc.append(inc[-1] * (1 + ig[t]))
        INC[cat.name] = inc
        PREM[cat.name] = [flat[t] + hicr[t] * inc[t] for t in range(n)]
    HIR = [sum(PREM[c][t] * POPM[c][t] for c in cats) for t in range(n)]

    # ---------------- base-year service rates HSU_ij0 and volumes N_j0 (MODEL.md 2.6)
    HSU0: dict[tuple[str, str], float] = {}
    N0: dict[str, float] = {}
    for svc in sc.services:
        vol = svc.volume
        for i, c in enumerate(cats):
            rel = 1.0 if vol.relative_use is None else vol.relative_use[i]
            if vol.basis == VolumeBasis.COUNT:
                if vol.split is None:
                    # in proportion to population: N_ij0 / POP_i0 = N_j0 / POP_0 for every
                    # category, also one that has no people in the base year
                    HSU0[c, svc.name] = vol.amount / POP[0] if POP[0] > 0 else 0.0
                else:
                    n_ij = vol.amount * vol.split[i]
                    HSU0[c, svc.name] = n_ij / pop[c][0] if pop[c][0] > 0 else 0.0
            elif vol.basis == VolumeBasis.RATE_PER_PERSON:
                HSU0[c, svc.name] = vol.amount * rel
            else:
                HSU0[c, svc.name] = sc.admission_rate * vol.amount * vol.length_of_stay * rel
        if vol.basis == VolumeBasis.COUNT:
            N0[svc.name] = vol.amount
        else:
            N0[svc.name] = sum(HSU0[c, svc.name] * pop[c][0] for c in cats)

    # ---------------- base-year unit costs (MODEL.md 2.6)
    pc0, gc0 = {}, {}
    for svc in sc.services:
        if svc.base_year_cost is not None:
            if N0[svc.name] > 0:
                pc0[svc.name] = (
                    sum((1 - k.government_share) * k.total for k in svc.base_year_cost)
                    / N0[svc.name]
                )
                gc0[svc.name] = (
                    sum(k.government_share * k.total for k in svc.base_year_cost) / N0[svc.name]
                )
            else:
                pc0[svc.name] = gc0[svc.name] = 0.0
        else:
            pc0[svc.name] = svc.patient_cost or 0.0
            gc0[svc.name] = svc.government_cost or 0.0

    def target_path(base: float, target: Target | None) -> list[float]:
        if target is None:
            return [base] * n
        goal = target.value * base if target.is_ratio else target.value
        return moving_to_target(base, goal, y0, target.delay, target.arrival, n)

    # constant-price unit costs (MODEL.md 2.7) and service rates (2.8)
    pc_const = {s.name: target_path(pc0[s.name], s.patient_cost_target) for s in sc.services}
    gc_const = {s.name: target_path(gc0[s.name], s.government_cost_target) for s in sc.services}
    rate_target = {}
    for rt in sc.rate_targets:  # the later of two targets for one cell wins
        for c in rt.categories:
            rate_target[c, rt.service] = rt.target
    HSU = {key: target_path(HSU0[key], rate_target.get(key)) for key in HSU0}

    # current prices (Annex I.2)
    def current(const: float, imports: float, t: int) -> float:
        domestic = (1 - imports) * const * DPI[t] / 100
        imported = imports * const * EPI[t] / 100 * EXRI[t] / 100
        return domestic + imported

    PC = {
        s.name: [current(pc_const[s.name][t], s.patient_import_share, t) for t in range(n)]
        for s in sc.services
    }
    GC = {
        s.name: [current(gc_const[s.name][t], s.government_import_share, t) for t in range(n)]
        for s in sc.services
    }

    # ---------------- services, scheme payments, direct payments (Annex I.3, Section 3.5)
    L = sc.insured_utilisation_loading
    zeros = [0.0] * n
    CHS, COP, FEES, GOV = list(zeros), list(zeros), list(zeros), list(zeros)
    PCOST, GCOST = list(zeros), list(zeros)
    N = {s: list(zeros) for s in svcs}
    for t in range(n):
        for cat in sc.categories:
            c = cat.name
            fee_exempt = path(cat.user_fee_exempt_share)[t]
            uninsured = pop[c][t] - M[c][t]
            for svc in sc.services:
                j = svc.name
                hsu = HSU[c, j][t]
                used_uninsured = hsu * uninsured
                used_insured = L * hsu * M[c][t]
                n_ij = used_uninsured + used_insured
                N[j][t] += n_ij
                PCOST[t] += n_ij * PC[j][t]
                GCOST[t] += n_ij * GC[j][t]
                GOV[t] += n_ij * GC[j][t]  # government pays GC for every service
                covered = svc.level == Level.INPATIENT or cat.outpatient_cover
                if covered:
                    cop = svc.copayment_rate
                    cost_per_member = L * hsu * PC[j][t]
                    # paying members pay the co-payment; the exempted pay nothing
                    CHS[t] += (1 - cop) * cost_per_member * POPM[c][t]
                    CHS[t] += cost_per_member * POPE[c][t]
                    COP[t] += cop * cost_per_member * POPM[c][t]
                    fees = used_uninsured * PC[j][t]
                else:
                    fees = n_ij * PC[j][t]
                FEES[t] += (1 - fee_exempt) * fees
                GOV[t] += fee_exempt * fees

    # ---------------- administrative expenditure (MODEL.md 2.9, Annex I.2)
    AC = list(zeros)
    members_total = [sum(M[c][t] for c in cats) for t in range(n)]
    for item in sc.administration:
        growth = path(item.real_growth)
        if item.basis == AdminBasis.SHARE_OF_PAYMENTS_EVERY_YEAR:
            for t in range(n):
                AC[t] += item.value * CHS[t]
            continue
        if item.basis == AdminBasis.SHARE_OF_PAYMENTS:
            real = item.value * CHS[0]  # base year: current = constant prices
        else:
            real = item.value
        for t in range(n):
            if t > 0:
                real = real * (1 + growth[t])
            amount = real * members_total[t] if item.basis == AdminBasis.PER_MEMBER else real
            AC[t] += amount * DPI[t] / 100

    C = [CHS[t] + AC[t] for t in range(n)]
    B = [HIR[t] - C[t] for t in range(n)]

    def arr(x: list[float]) -> np.ndarray:
        return np.array(x, dtype=float)

    return {
        "domestic_price_index": arr(DPI),
        "external_price_index": arr(EPI),
        "exchange_rate": arr(EXR),
        "total_population": arr(POP),
        "balance": arr(B),
        "premium_revenue": arr(HIR),
        "health_care_payments": arr(CHS),
        "admin_expenditure": arr(AC),
        "total_expenditure": arr(C),
        "user_fees": arr(FEES),
        "copayments": arr(COP),
        "government_financing": arr(GOV),
        "patient_cost": arr(PCOST),
        "government_cost": arr(GCOST),
        "population": {c: arr(pop[c]) for c in cats},
        "members": {c: arr(M[c]) for c in cats},
        "exempted_members": {c: arr(POPE[c]) for c in cats},
        "premium": {c: arr(PREM[c]) for c in cats},
        "services": {s: arr(N[s]) for s in svcs},
        "unit_patient_cost": {s: arr(PC[s]) for s in svcs},
        "unit_government_cost": {s: arr(GC[s]) for s in svcs},
    }


YEARLY = (
    "domestic_price_index",
    "external_price_index",
    "exchange_rate",
    "total_population",
    "balance",
    "premium_revenue",
    "health_care_payments",
    "admin_expenditure",
    "total_expenditure",
    "user_fees",
    "copayments",
    "government_financing",
    "patient_cost",
    "government_cost",
)
BY_CATEGORY = ("population", "members", "exempted_members", "premium")
BY_SERVICE = ("services", "unit_patient_cost", "unit_government_cost")


def assert_agrees_with_oracle(ds: Any, sc: Scenario, rtol: float = 1e-9) -> None:
    """Assert that a projection ``ds`` of ``sc`` equals the oracle's, year by year.

    Relative tolerance ``rtol``; the absolute floor is 1e-10 of the largest
    money flow (the balance is a difference of large flows) or of the largest
    value of the variable.
    """
    expected = project_oracle(sc)
    flows = ("premium_revenue", "total_expenditure", "patient_cost", "government_cost")
    money = max(1.0, *(float(np.abs(expected[v]).max()) for v in flows))

    def check(actual: np.ndarray, want: np.ndarray, scale: float, what: str) -> None:
        np.testing.assert_allclose(actual, want, rtol=rtol, atol=1e-10 * scale, err_msg=what)

    for name in YEARLY:
        scale = float(np.max(expected[name])) if name == "total_population" else money
        if name.endswith("index") or name == "exchange_rate":
            scale = float(np.max(expected[name]))
        check(ds[name].values, expected[name], scale, name)
    for name in BY_CATEGORY:
        scale = 1.0 + max(float(np.abs(v).max()) for v in expected[name].values())
        for cat in sc.category_names:
            check(ds[name].sel(category=cat).values, expected[name][cat], scale, f"{name}[{cat}]")
    for name in BY_SERVICE:
        scale = 1.0 + max(float(np.abs(v).max()) for v in expected[name].values())
        for svc in sc.service_names:
            check(ds[name].sel(service=svc).values, expected[name][svc], scale, f"{name}[{svc}]")
