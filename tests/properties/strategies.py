"""Hypothesis strategies for random, valid scenario files.

:func:`scenario_documents` draws a scenario as the Python structure a YAML
file would hold (so it goes through the real parser), covering every feature
of the scenario format: paths written as constants, year-by-year lists or
moves to a target (Carrin, Ron & Murray 1993, Annex I.1); PPP (with the
real-depreciation extension) or a given exchange rate; two to six categories
with adult shares summing to one every year; one to six services with volumes
as counts (split by population or by given shares), rates per person or
shares of admissions (with relative use), costs per service or by the four
cost types with government shares, import shares, co-payments, unit-cost and
service-rate targets; exemptions, outpatient cover, user-fee exemptions, the
insured's utilisation loading and every basis of administrative expenditure.

Values stay in realistic ranges; the point is to exercise the equations, not
the validator.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

from schemerisk.scenario import Scenario, parse_scenario

COST_TYPES = ("salaries", "maintenance", "pharmaceuticals", "other")
EXTRA_ADULTS = ("government_admin", "industrial", "retired_government", "traders")


def reals(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Finite floats in [lo, hi]; magnitudes below 1e-9 become 0.

    Inputs like a relative use of 1e-300 are not realistic, and only test
    that dividing a cost by a vanishing volume overflows.
    """
    floats = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    if lo <= 0.0 <= hi:
        return floats.map(lambda x: 0.0 if abs(x) < 1e-9 else x)
    return floats


def _target_value(base: float, target: float, year: int, start: int, arrival: int) -> float:
    """Annex I.1 in closed form, to know the yearly values of a drawn path."""
    if year <= start:
        return base
    if year >= arrival:
        return target
    return base + (target - base) * (year - start) / (arrival - start)


def _through_milestones(base: float, points: dict[int, float], base_year: int, year: int) -> float:
    """A milestone path's value in ``year``: straight lines from the base year, then the last value."""
    prev_year, prev = base_year, base
    for y, v in sorted(points.items()):
        if year <= y:
            return prev + (v - prev) * (year - prev_year) / (y - prev_year)
        prev_year, prev = y, v
    return prev


@st.composite
def paths(
    draw: st.DrawFn, lo: float, hi: float, base_year: int, n_years: int
) -> tuple[Any, list[float]]:
    """A per-year path: the YAML node, and its yearly values.

    The node is a constant, a list of ``n_years`` values or a move to a target
    ``{base, target, arrival, delay}``.
    """
    form = draw(st.sampled_from(("constant", "list", "target", "milestones")))
    if form == "constant":
        v = draw(reals(lo, hi))
        return v, [v] * n_years
    if form == "list":
        vals = draw(st.lists(reals(lo, hi), min_size=n_years, max_size=n_years))
        return vals, list(vals)
    if form == "milestones":  # (extension) straight lines through targets by year
        base = draw(reals(lo, hi))
        years = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True))
        points = {base_year + dy: draw(reals(lo, hi)) for dy in sorted(years)}
        node = {"base": base, "targets": points}
        return node, [
            _through_milestones(base, points, base_year, base_year + t) for t in range(n_years)
        ]
    base, target = draw(reals(lo, hi)), draw(reals(lo, hi))
    delay = draw(st.integers(0, 3))
    arrival = base_year + delay + draw(st.integers(1, 6))
    node: dict[str, Any] = {"base": base, "target": target, "arrival": arrival}
    if delay or draw(st.booleans()):
        node["delay"] = delay
    start = base_year + delay
    return node, [
        _target_value(base, target, base_year + t, start, arrival) for t in range(n_years)
    ]


@st.composite
def targets(draw: st.DrawFn, hi: float, base_year: int) -> dict[str, Any]:
    """A unit-cost or service-rate target: ``target`` or ``ratio``, ``delay``, ``arrival``."""
    delay = draw(st.integers(0, 3))
    node: dict[str, Any] = {}
    if draw(st.booleans()):
        node["target"] = draw(reals(0.0, hi))
    else:
        node["ratio"] = draw(reals(0.0, 3.0))
    if delay or draw(st.booleans()):
        node["delay"] = delay
    node["arrival"] = base_year + delay + draw(st.integers(1, 6))
    return node


@st.composite
def shares_summing_to_one(draw: st.DrawFn, n: int) -> list[float]:
    """``n`` non-negative shares that sum to 1 (the last takes the rest)."""
    raw = [draw(reals(0.0, 1.0)) for _ in range(n - 1)]
    total = sum(raw)
    if total > 1.0:
        raw = [r / total for r in raw]
    last = max(0.0, 1.0 - sum(raw))
    return [*raw, last]


@st.composite
def scenario_documents(draw: st.DrawFn, levers: bool = False) -> dict[str, Any]:
    """A valid scenario file, as the mapping ``yaml.safe_load`` would return.

    With ``levers`` it also draws the policy-lever extensions (premium
    subsidies, provider payment by tier with case rates and bonuses, a
    whole-population coverage target) and a reserve fund.
    """
    base_year = draw(st.integers(1980, 2020))
    horizon = draw(st.integers(0, 8))
    n = horizon + 1

    def path(lo: float, hi: float) -> Any:
        return draw(paths(lo, hi, base_year, n))[0]

    def maybe(mapping: dict[str, Any], key: str, value: Any) -> None:
        """Write ``key`` or leave it to its default (the value is drawn either way)."""
        if draw(st.booleans()):
            mapping[key] = value

    doc: dict[str, Any] = {"name": "random", "base_year": base_year, "horizon": horizon}

    # ---- demography and economy
    demography: dict[str, Any] = {"population": draw(reals(1e3, 1e7))}
    maybe(demography, "growth_rate", path(-0.05, 0.1))
    dep_node, dep_values = draw(paths(0.0, 1.0, base_year, n))
    if draw(st.booleans()):
        demography["dependant_share"] = dep_node
    else:
        dep_values = [0.0] * n
    doc["demography"] = demography

    economy: dict[str, Any] = {}
    rate: dict[str, Any]
    maybe(economy, "domestic_inflation", path(-0.05, 1.0))
    maybe(economy, "external_inflation", path(-0.05, 0.3))
    if draw(st.booleans()):
        rate = {"rate": draw(reals(0.01, 1e5)), "purchasing_power_parity": True}
        maybe(rate, "real_depreciation", path(-0.1, 0.3))  # (extension) departure from PPP
        economy["exchange_rate"] = rate
    else:
        rate = {"rate": path(0.01, 1e5)}
        maybe(rate, "purchasing_power_parity", False)
        economy["exchange_rate"] = rate
    doc["economy"] = economy

    # ---- categories: dependants, farmers and up to four more adult categories
    extra = draw(st.lists(st.sampled_from(EXTRA_ADULTS), max_size=4, unique=True))
    names = ["dependants", "farmers", *extra]
    adult_values = [[0.0] * n for _ in names]
    other_nodes = {}
    for k, name in enumerate(extra, start=2):
        # other adult shares in [0, 1/(number of others)], so farmers take the rest
        node, vals = draw(paths(0.0, 1.0 / len(extra), base_year, n))
        other_nodes[name], adult_values[k] = node, vals
    farmer_vals = [
        max(0.0, 1.0 - sum(adult_values[k][t] for k in range(2, len(names)))) for t in range(n)
    ]
    all_constant = all(not isinstance(node, list | dict) for node in other_nodes.values())
    farmer_node: Any = farmer_vals[0] if all_constant else farmer_vals
    adult_values[1] = farmer_vals
    # a count can be split only onto categories that exist in the base year: the
    # services of a category without people have no defined rate (see
    # tests/model/test_kernel.py::test_count_split_onto_empty_category_is_rejected)
    d0 = dep_values[0]
    populated = [
        name
        for k, name in enumerate(names)
        if (d0 if k == 0 else adult_values[k][0] * (1.0 - d0)) * demography["population"] > 1e-3
    ]

    categories: dict[str, Any] = {}
    for name in draw(st.permutations(names)):  # the parser puts dependants and farmers first
        cat: dict[str, Any] = {}
        maybe(cat, "label", f"Category {name}")
        if name == "farmers":
            cat["adult_share"] = farmer_node
        elif name != "dependants":
            cat["adult_share"] = other_nodes[name]
        if name != "dependants" or draw(st.booleans()):
            maybe(cat, "income", draw(reals(0.0, 5e6)))
        maybe(cat, "income_growth", path(-0.05, 0.5))
        maybe(cat, "contribution_rate", path(0.0, 0.1))
        maybe(cat, "flat_premium", path(0.0, 1e5))
        maybe(cat, "insured_share", path(0.0, 1.0))
        maybe(cat, "outpatient_cover", draw(st.booleans()))
        maybe(cat, "exempt_share", path(0.0, 1.0))
        maybe(cat, "user_fee_exempt_share", path(0.0, 1.0))
        if levers and draw(st.booleans()):
            subsidies = []
            for payer in draw(
                st.lists(st.sampled_from(("government", "donor")), unique=True, min_size=1)
            ):
                sub: dict[str, Any] = {"payer": payer}
                parts = draw(st.sampled_from((("share",), ("amount",), ("share", "amount"))))
                if "share" in parts:
                    sub["share"] = path(0.0, 1.0)
                if "amount" in parts:
                    sub["amount"] = path(0.0, 1e5)
                subsidies.append(sub)
            cat["premium_subsidy"] = subsidies[0] if len(subsidies) == 1 else subsidies
        categories[name] = cat
    doc["categories"] = categories

    # ---- services
    n_services = draw(st.integers(1, 6))
    services: dict[str, Any] = {}
    needs_admissions = False
    for j in range(n_services):
        svc: dict[str, Any] = {"level": draw(st.sampled_from(("inpatient", "outpatient")))}
        tier = draw(st.sampled_from(("city_provincial", "district", "commune")))
        if levers or draw(st.booleans()):
            svc["tier"] = tier
        maybe(svc, "unit", "service")
        by_type = draw(st.booleans())
        basis = draw(st.sampled_from(("count", "rate_per_person", "per_admission")))
        volume: dict[str, Any] = {}
        if basis == "count":
            volume["count"] = draw(reals(1.0 if by_type else 0.0, 1e6))
            split = draw(st.sampled_from(("omit", "population", "shares")))
            if split == "population":
                volume["split"] = "population"
            elif split == "shares":
                chosen = draw(st.lists(st.sampled_from(populated), min_size=1, unique=True))
                volume["split"] = dict(
                    zip(chosen, draw(shares_summing_to_one(len(chosen))), strict=True)
                )
        else:
            if basis == "rate_per_person":
                volume["rate_per_person"] = draw(reals(0.0, 5.0))
            else:
                needs_admissions = True
                volume["per_admission"] = draw(reals(0.0, 1.0))
                maybe(volume, "length_of_stay", draw(reals(0.0, 20.0)))
            if draw(st.booleans()):
                chosen = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
                volume["relative_use"] = {c: draw(reals(0.0, 3.0)) for c in chosen}
        svc["volume"] = volume
        if by_type:
            cost: dict[str, Any] = {}
            for ct in draw(st.lists(st.sampled_from(COST_TYPES), unique=True)):
                item: dict[str, Any] = {"total": draw(reals(0.0, 1e10))}
                maybe(item, "government_share", draw(reals(0.0, 1.0)))
                cost[ct] = item
            svc["base_year_cost"] = cost
        else:
            maybe(svc, "patient_cost", draw(reals(0.0, 1e5)))
            if "patient_cost" not in svc or draw(st.booleans()):
                svc["government_cost"] = draw(reals(0.0, 1e5))
        maybe(svc, "copayment_rate", draw(reals(0.0, 1.0)))
        maybe(svc, "patient_import_share", draw(reals(0.0, 1.0)))
        maybe(svc, "government_import_share", draw(reals(0.0, 1.0)))
        maybe(svc, "patient_cost_target", draw(targets(1e5, base_year)))
        maybe(svc, "government_cost_target", draw(targets(1e5, base_year)))
        services[f"service_{j}"] = svc
    doc["services"] = services
    if levers:
        doc.update(draw(policy_levers(services, names, base_year, n)))
    if needs_admissions or draw(st.booleans()):
        doc["admission_rate"] = draw(reals(0.0, 0.3))
    maybe(doc, "insured_utilisation_loading", draw(reals(0.5, 2.0)))

    # ---- service-rate targets
    rate_targets = []
    for _ in range(draw(st.integers(0, 3))):
        rt: dict[str, Any] = {"service": draw(st.sampled_from(sorted(services)))}
        who = draw(st.sampled_from(("all", "one", "some")))
        if who == "one":
            rt["categories"] = draw(st.sampled_from(names))
        elif who == "some":
            rt["categories"] = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
        rt.update(draw(targets(5.0, base_year)))
        rate_targets.append(rt)
    if rate_targets or draw(st.booleans()):
        doc["service_rate_targets"] = rate_targets

    # ---- administration
    admin: dict[str, Any] = {}
    for a in range(draw(st.integers(0, 3))):
        kind = draw(
            st.sampled_from(("amount", "share_of_payments", "share_every_year", "per_member"))
        )
        item = {}
        if kind == "amount":
            item["amount"] = draw(reals(0.0, 1e9))
        elif kind == "per_member":
            item["per_member"] = draw(reals(0.0, 1e4))
        else:
            item["share_of_payments"] = draw(reals(0.0, 0.3))
            if kind == "share_every_year":
                item["every_year"] = True
            else:
                maybe(item, "every_year", False)
        maybe(item, "real_growth", path(-0.05, 0.1))
        admin[f"admin_{a}"] = item
    if admin or draw(st.booleans()):
        doc["administration"] = admin
    return doc


@st.composite
def policy_levers(
    draw: st.DrawFn, services: dict[str, Any], names: list[str], base_year: int, n: int
) -> dict[str, Any]:
    """(extension) Provider payment by tier, a coverage target and a reserve.

    Per-case tiers need a ``case_rate`` on each of their services, which is
    added to ``services`` in place.
    """

    def path(lo: float, hi: float) -> Any:
        return draw(paths(lo, hi, base_year, n))[0]

    out: dict[str, Any] = {}
    tiers = sorted({svc["tier"] for svc in services.values()})
    payment: dict[str, Any] = {}
    for tier in draw(st.lists(st.sampled_from(tiers), unique=True)):
        method = draw(st.sampled_from(("fee_for_service", "capitation", "per_case")))
        item: dict[str, Any] = {"method": method}
        if method == "capitation":
            item["capitation"] = path(0.0, 1e5)
        elif method == "per_case":
            for svc in services.values():
                if svc["tier"] == tier:
                    svc["case_rate"] = draw(reals(0.0, 1e5))
        if draw(st.booleans()):
            bonus: dict[str, Any] = {"share": path(0.0, 0.3)}
            if draw(st.booleans()):
                bonus["achievement"] = path(0.0, 1.0)
            item["performance_bonus"] = bonus
        payment[tier] = item
    if payment:
        out["provider_payment"] = payment
    if draw(st.booleans()):
        target: dict[str, Any] = {"population_share": path(0.0, 1.0)}
        if draw(st.booleans()):
            target["rule"] = draw(st.sampled_from(("close_gap_evenly", "same_share")))
        if draw(st.booleans()):
            target["categories"] = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
        out["coverage_target"] = target
    if draw(st.booleans()):
        reserve: dict[str, Any] = {"initial": draw(reals(-1e9, 1e9))}
        if draw(st.booleans()):
            reserve["interest_rate"] = path(-0.05, 0.2)
        out["reserve"] = reserve
    return out


def to_scenario(doc: dict[str, Any]) -> Scenario:
    """Dump a drawn document to YAML and parse it as a scenario file would be."""
    return parse_scenario(yaml.safe_dump(doc, sort_keys=False), source="<hypothesis>")


#: valid scenarios, through YAML and the real parser
scenarios = scenario_documents().map(to_scenario)
#: the same with the policy levers and the reserve fund (extensions)
lever_scenarios = scenario_documents(levers=True).map(to_scenario)
