"""The financing identity with every policy lever of issue 6 on (property test).

Random valid scenarios from :mod:`tests.properties.strategies`, with premium
subsidies from the state and from donors (shares and amounts), every tier
paid by fee-for-service, capitation or a flat rate per case, performance
bonuses, and a whole-population coverage target under either rule. In every
year:

* Figure 1 of Carrin, Ron & Murray (1993), Section 3.5: user fees +
  co-payments + insurance payments + government financing = patient cost +
  government cost, where the insurance payments are those of fee-for-service,
  i.e. the scheme's payments less the provider margin;
* premium revenue = what members pay + what the state pays + what donors pay;
* payments by tier and payments by method each add up to the scheme's payments;
* members never exceed the population of their category.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from schemerisk.model import project
from schemerisk.scenario import parse_scenario
from tests.properties.strategies import paths, reals, scenario_documents


@st.composite
def documents_with_levers(draw: st.DrawFn) -> dict[str, Any]:
    """A random scenario with every lever switched on somewhere."""
    doc = draw(scenario_documents())
    base_year = doc["base_year"]
    n = doc.get("horizon", 10) + 1

    def path(lo: float, hi: float) -> Any:
        return draw(paths(lo, hi, base_year, n))[0]

    # premium subsidies: the state, a donor, or both, by share and/or amount
    for cat in doc["categories"].values():
        subs = []
        for payer in draw(
            st.sampled_from((("government",), ("donor",), ("government", "donor"), ()))
        ):
            sub: dict[str, Any] = {"payer": payer}
            kind = draw(st.sampled_from(("share", "amount", "both")))
            if kind in ("share", "both"):
                sub["share"] = path(0.0, 1.0)
            if kind in ("amount", "both"):
                sub["amount"] = path(0.0, 1e5)
            subs.append(sub)
        if len(subs) == 1 and draw(st.booleans()):
            cat["premium_subsidy"] = subs[0]
        elif subs:
            cat["premium_subsidy"] = subs

    # provider payment by named tier
    tiers = sorted({s["tier"] for s in doc["services"].values() if "tier" in s})
    payment: dict[str, Any] = {}
    for tier in tiers:
        method = draw(st.sampled_from(("fee_for_service", "capitation", "per_case")))
        entry: dict[str, Any] = {"method": method}
        if method == "capitation":
            entry["capitation"] = path(0.0, 1e5)
        if method == "per_case":
            for svc in doc["services"].values():
                if svc.get("tier") == tier:
                    svc["case_rate"] = draw(reals(0.0, 1e5))
        if draw(st.booleans()):
            bonus: dict[str, Any] = {"share": path(0.0, 0.3)}
            if draw(st.booleans()):
                bonus["achievement"] = path(0.0, 1.0)
            entry["performance_bonus"] = bonus
        payment[tier] = entry
    if payment:
        doc["provider_payment"] = payment
    # case rates on services of other tiers are allowed and unused
    for svc in doc["services"].values():
        if "case_rate" not in svc and draw(st.booleans()):
            svc["case_rate"] = draw(reals(0.0, 1e5))

    # a whole-population coverage target
    target: dict[str, Any] = {"rule": draw(st.sampled_from(("close_gap_evenly", "same_share")))}
    if n > 1 and draw(st.booleans()):
        years = draw(
            st.lists(st.integers(1, n - 1), min_size=1, max_size=3, unique=True).map(sorted)
        )
        target["population_share"] = {
            "base": draw(reals(0.0, 1.0)),
            "targets": {base_year + y: draw(reals(0.0, 1.0)) for y in years},
        }
    else:
        target["population_share"] = path(0.0, 1.0)
    names = list(doc["categories"])
    if draw(st.booleans()):
        target["categories"] = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    doc["coverage_target"] = target
    return doc


def _close(a: np.ndarray, b: np.ndarray, scale: np.ndarray) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=float(1e-9 * np.max(scale) + 1e-9))


@settings(
    max_examples=40,
    deadline=None,
    database=None,  # keep the working tree clean; failures print their reproducing example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(documents_with_levers())
def test_financing_identity_with_every_lever(doc: dict[str, Any]) -> None:
    sc = parse_scenario(yaml.safe_dump(doc, sort_keys=False), source="<hypothesis>")
    ds = project(sc)
    # a base-year cost total over a vanishing base-year volume (e.g. 1e-308 services)
    # overflows the unit cost; that degenerate input says nothing about the levers
    assume(np.isfinite(ds.unit_patient_cost.values).all())
    assume(np.isfinite(ds.unit_government_cost.values).all())
    payments = ds.health_care_payments.values
    margin = ds.provider_margin.values
    fee_for_service = payments - margin
    lhs = (
        ds.user_fees.values
        + ds.copayments.values
        + fee_for_service
        + ds.government_financing.values
    )
    rhs = ds.patient_cost.values + ds.government_cost.values
    _close(lhs, rhs, np.abs(rhs) + np.abs(payments) + np.abs(margin))

    revenue = ds.premium_revenue.values
    parts = (
        ds.premium_revenue_from_members.values
        + ds.premium_revenue_from_government.values
        + ds.premium_revenue_from_donors.values
    )
    _close(parts, revenue, np.abs(revenue))
    assert (ds.premium_revenue_from_government.values >= 0).all()
    assert (ds.premium_revenue_from_donors.values >= 0).all()
    assert (ds.premium_revenue_from_members.values >= -1e-9 * (1 + np.abs(revenue))).all()

    _close(ds.health_care_payments_by_tier.sum("tier").values, payments, np.abs(payments))
    _close(
        ds.health_care_payments_by_method.sum("payment_method").values, payments, np.abs(payments)
    )

    members, population = ds.members.values, ds.population.values
    assert (members <= population * (1 + 1e-12) + 1e-9).all()
    assert (members >= 0).all()
    np.testing.assert_allclose(ds.balance, revenue - ds.total_expenditure.values, rtol=1e-12)
