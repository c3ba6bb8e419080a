"""Policy levers of issue 6 against hand-computed small cases.

Premium subsidies (the state or a donor pays part of the premium), provider
payment methods by tier (capitation, a flat rate per case, performance
bonuses: Carrin, Ron & Murray 1993, section 2.2.4), whole-population coverage
targets with their distribution rules and milestone paths; and, with every
lever at its default, bit-for-bit the paper's Hai Phong projection.

The small scenario below is simple enough to compute by hand: 1,000 persons,
no growth, 40 % dependants (400) and one adult category (farmers, 600);
domestic inflation 10 %/yr, so DPI = 100, 110, 121; no imported inputs.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import xarray as xr
import yaml

from schemerisk.model import project
from schemerisk.scenario import YearPath, parse_scenario
from schemerisk.scenario.builtin import resolve_scenario

DPI = np.array([100.0, 110.0, 121.0])
YEARS = [2000, 2001, 2002]

SMALL: dict[str, Any] = {
    "name": "small",
    "currency": "LCU",
    "base_year": 2000,
    "horizon": 2,
    "demography": {"population": 1000, "growth_rate": 0.0, "dependant_share": 0.4},
    "economy": {
        "domestic_inflation": 0.10,
        "external_inflation": 0.0,
        "exchange_rate": {"rate": 1.0, "purchasing_power_parity": True},
    },
    "categories": {
        # 400 persons, 200 insured, none exempted
        "dependants": {"flat_premium": 100, "insured_share": 0.5, "outpatient_cover": True},
        # 600 persons, 300 insured, 60 exempted, 240 paying; inpatient cover only
        "farmers": {
            "adult_share": 1.0,
            "flat_premium": 200,
            "insured_share": 0.5,
            "exempt_share": 0.2,
            "outpatient_cover": False,
        },
    },
    "services": {
        "visit": {
            "level": "outpatient",
            "tier": "commune",
            "patient_cost": 10,
            "copayment_rate": 0.2,
            "volume": {"rate_per_person": 2.0},
        },
        "admission": {
            "level": "inpatient",
            "tier": "district",
            "patient_cost": 500,
            "copayment_rate": 0.1,
            "volume": {"rate_per_person": 0.1},
        },
    },
    "administration": {"admin": {"share_of_payments": 0.05, "every_year": True}},
}
DEP_MEMBERS, FARM_MEMBERS, FARM_PAYING, FARM_EXEMPT = 200.0, 300.0, 240.0, 60.0


def doc(**changes: Any) -> dict[str, Any]:
    """A fresh copy of the small scenario with top-level keys replaced or added."""
    d = copy.deepcopy(SMALL)
    d.update(changes)
    return d


def run(d: dict[str, Any]) -> xr.Dataset:
    return project(parse_scenario(yaml.safe_dump(d, sort_keys=False), source="<test>"))


def with_subsidy(subsidy: Any, category: str = "farmers") -> dict[str, Any]:
    d = doc()
    d["categories"][category]["premium_subsidy"] = subsidy
    return d


# ---------------------------------------------------------------- premium subsidies


def test_small_case_by_hand() -> None:
    """The hand figures the other tests rest on."""
    ds = run(doc())
    np.testing.assert_allclose(ds.domestic_price_index, DPI, rtol=1e-14)
    np.testing.assert_allclose(ds.members.sel(category="dependants"), DEP_MEMBERS, rtol=1e-14)
    np.testing.assert_allclose(ds.members.sel(category="farmers"), FARM_MEMBERS, rtol=1e-14)
    np.testing.assert_allclose(ds.paying_members.sel(category="farmers"), FARM_PAYING, rtol=1e-14)
    # revenue: 100 x 200 + 200 x 240 = 68,000 a year, all from members
    np.testing.assert_allclose(ds.premium_revenue, 68_000.0, rtol=1e-14)
    np.testing.assert_array_equal(ds.premium_revenue_from_members, ds.premium_revenue)
    np.testing.assert_array_equal(ds.premium_revenue_from_government, 0.0)
    np.testing.assert_array_equal(ds.premium_revenue_from_donors, 0.0)


def test_government_share_moves_revenue_and_keeps_the_total() -> None:
    plain = run(doc())
    sub = run(with_subsidy({"payer": "government", "share": 0.3}))
    np.testing.assert_array_equal(sub.premium_revenue, plain.premium_revenue)
    np.testing.assert_array_equal(sub.balance, plain.balance)
    # 0.3 x 200 x 240 paying farmers = 14,400 (exempted members pay nothing, and no one for them)
    np.testing.assert_allclose(sub.premium_revenue_from_government, 14_400.0, rtol=1e-14)
    np.testing.assert_allclose(sub.premium_revenue_from_members, 68_000.0 - 14_400.0, rtol=1e-14)
    np.testing.assert_array_equal(sub.premium_revenue_from_donors, 0.0)


def test_subsidy_path_by_year() -> None:
    sub = run(with_subsidy({"payer": "government", "share": [0.0, 0.5, 1.0]}))
    np.testing.assert_allclose(
        sub.premium_revenue_from_government, [0.0, 24_000.0, 48_000.0], rtol=1e-14
    )


def test_donor_pays_after_the_government() -> None:
    """The state pays 70 %; a donor offering 50 % can only pay the 30 % left."""
    sub = run(
        with_subsidy([{"payer": "government", "share": 0.7}, {"payer": "donor", "share": 0.5}])
    )
    np.testing.assert_allclose(sub.premium_revenue_from_government, 0.7 * 200 * 240, rtol=1e-14)
    np.testing.assert_allclose(sub.premium_revenue_from_donors, 0.3 * 200 * 240, rtol=1e-12)
    # the farmers pay nothing: only the dependants' 20,000 comes from members
    np.testing.assert_allclose(sub.premium_revenue_from_members, 20_000.0, rtol=1e-12)
    np.testing.assert_array_equal(sub.premium_revenue, run(doc()).premium_revenue)


def test_donor_alone_and_share_plus_amount() -> None:
    sub = run(with_subsidy({"payer": "donor", "share": 0.25, "amount": 30}))
    # 0.25 x 200 + 30 = 80 per paying farmer
    np.testing.assert_allclose(sub.premium_revenue_from_donors, 80.0 * 240, rtol=1e-14)
    np.testing.assert_array_equal(sub.premium_revenue_from_government, 0.0)


def test_amount_is_capped_at_the_premium() -> None:
    sub = run(with_subsidy({"payer": "government", "amount": 500}))
    np.testing.assert_allclose(sub.premium_revenue_from_government, 200.0 * 240, rtol=1e-14)
    np.testing.assert_allclose(sub.premium_revenue_from_members, 20_000.0, rtol=1e-14)
    # and a donor behind a full state subsidy pays nothing
    both = run(
        with_subsidy([{"payer": "government", "amount": 500}, {"payer": "donor", "share": 1.0}])
    )
    np.testing.assert_array_equal(both.premium_revenue_from_donors, 0.0)


def test_subsidy_on_a_contribution_rate_category() -> None:
    d = doc()
    d["categories"]["workers"] = {
        "adult_share": 0.5,
        "income": 10_000,
        "income_growth": 0.0,
        "contribution_rate": 0.03,
        "insured_share": 1.0,
        "premium_subsidy": {"payer": "government", "share": 0.5},
    }
    d["categories"]["farmers"]["adult_share"] = 0.5
    ds = run(d)
    # 300 workers x 0.03 x 10,000 = 90,000; half from the state
    np.testing.assert_allclose(ds.premium_revenue_from_government, 45_000.0, rtol=1e-14)
    np.testing.assert_allclose(
        ds.premium_revenue,
        ds.premium_revenue_from_members + ds.premium_revenue_from_government,
        rtol=1e-14,
    )


# ---------------------------------------------------------------- provider payment


def with_payment(payment: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return doc(provider_payment=payment, **changes)


def test_capitation_is_rate_times_members_covered_for_the_tier() -> None:
    """The commune tier holds an outpatient service: only the dependants (200) have
    outpatient cover. Capitation 5 a member in base-year prices, x DPI / 100."""
    ds = run(with_payment({"commune": {"method": "capitation", "capitation": 5}}))
    expected = 5.0 * DPI / 100 * DEP_MEMBERS
    np.testing.assert_allclose(
        ds.health_care_payments_by_tier.sel(tier="commune"), expected, rtol=1e-14
    )
    np.testing.assert_allclose(
        ds.health_care_payments_by_method.sel(payment_method="capitation"), expected, rtol=1e-14
    )
    assert ds.tier_payment_method.sel(tier="commune").item() == "capitation"


def test_capitation_counts_every_member_once_outpatient_cover_is_given() -> None:
    d = with_payment({"commune": {"method": "capitation", "capitation": 5}})
    d["categories"]["farmers"]["outpatient_cover"] = True
    ds = run(d)
    np.testing.assert_allclose(
        ds.health_care_payments_by_tier.sel(tier="commune"),
        5.0 * DPI / 100 * (DEP_MEMBERS + FARM_MEMBERS),
        rtol=1e-14,
    )


def test_capitation_does_not_depend_on_use() -> None:
    d1 = with_payment(
        {
            "commune": {
                "method": "capitation",
                "capitation": {"base": 5, "target": 8, "arrival": 2002},
            }
        }
    )
    d2 = copy.deepcopy(d1)
    for svc in d2["services"].values():
        svc["volume"]["rate_per_person"] *= 2
    a, b = run(d1), run(d2)
    cap_a = a.health_care_payments_by_tier.sel(tier="commune")
    np.testing.assert_array_equal(cap_a, b.health_care_payments_by_tier.sel(tier="commune"))
    np.testing.assert_allclose(cap_a, np.array([5.0, 6.5, 8.0]) * DPI / 100 * 200, rtol=1e-14)
    # the fee-for-service district tier does double
    np.testing.assert_allclose(
        b.health_care_payments_by_tier.sel(tier="district"),
        2 * a.health_care_payments_by_tier.sel(tier="district"),
        rtol=1e-14,
    )


def test_flat_rate_per_case() -> None:
    """District admissions paid 300 a case (base-year prices): 0.1 admissions per
    member, 500 members (inpatient care is always covered): 50 cases a year."""
    d = with_payment({"district": {"method": "per_case"}})
    d["services"]["admission"]["case_rate"] = 300
    ds = run(d)
    expected = 300.0 * DPI / 100 * 0.1 * (DEP_MEMBERS + FARM_MEMBERS)
    np.testing.assert_allclose(
        ds.health_care_payments_by_tier.sel(tier="district"), expected, rtol=1e-14
    )
    np.testing.assert_allclose(
        ds.health_care_payments_by_method.sel(payment_method="per_case"), expected, rtol=1e-14
    )
    # co-payments are those of fee-for-service: 10 % of 500 x DPI/100 for 0.1 x 240 paying
    # farmers and 0.1 x 200 dependants, plus 20 % of the dependants' visits at 10 x DPI/100
    copay = (0.1 * 500 * 0.1 * (240 + 200) + 0.2 * 10 * 2.0 * 200) * DPI / 100
    np.testing.assert_allclose(ds.copayments, copay, rtol=1e-13)
    np.testing.assert_allclose(ds.copayments, run(doc()).copayments, rtol=1e-14)


def test_per_case_with_utilisation_loading() -> None:
    d = with_payment({"district": {"method": "per_case"}}, insured_utilisation_loading=1.5)
    d["services"]["admission"]["case_rate"] = 300
    ds = run(d)
    expected = 300.0 * DPI / 100 * 0.1 * 1.5 * 500
    np.testing.assert_allclose(
        ds.health_care_payments_by_tier.sel(tier="district"), expected, rtol=1e-14
    )


def ffs_district() -> np.ndarray:
    """Fee-for-service payments to the district tier, by hand: 0.1 admissions at
    500 x DPI/100; 90 % for the 440 paying members, 100 % for the 60 exempted."""
    return 0.1 * 500 * DPI / 100 * (0.9 * (200 + 240) + 60)


def test_fee_for_service_by_hand() -> None:
    ds = run(doc())
    np.testing.assert_allclose(
        ds.health_care_payments_by_tier.sel(tier="district"), ffs_district(), rtol=1e-14
    )
    # commune visits: 2 x 10 x DPI/100 x 0.8 x 200 dependants
    np.testing.assert_allclose(
        ds.health_care_payments_by_tier.sel(tier="commune"), 3200 * DPI / 100, rtol=1e-14
    )
    np.testing.assert_array_equal(ds.provider_margin, 0.0)


@pytest.mark.parametrize(
    "payment",
    [
        {
            "commune": {
                "method": "capitation",
                "capitation": 5,
                "performance_bonus": {"share": 0.1, "achievement": 0.5},
            }
        },
        {
            "district": {
                "method": "fee_for_service",
                "performance_bonus": {"share": 0.04, "achievement": 0.75},
            }
        },
        {"district": {"method": "per_case", "performance_bonus": {"share": 0.2}}},
    ],
    ids=["capitation", "fee_for_service", "per_case_full_achievement"],
)
def test_performance_bonus_is_share_x_achievement_x_payments(payment: dict[str, Any]) -> None:
    tier = next(iter(payment))
    bonus = payment[tier].pop("performance_bonus")
    d0 = with_payment(copy.deepcopy(payment))
    d0["services"]["admission"]["case_rate"] = 300
    payment[tier]["performance_bonus"] = bonus
    d1 = with_payment(payment)
    d1["services"]["admission"]["case_rate"] = 300
    without, with_ = run(d0), run(d1)
    base = without.health_care_payments_by_tier.sel(tier=tier)
    expected_bonus = bonus["share"] * bonus.get("achievement", 1.0) * base
    np.testing.assert_allclose(
        with_.health_care_payments_by_method.sel(payment_method="performance_bonus"),
        expected_bonus,
        rtol=1e-14,
    )
    np.testing.assert_allclose(
        with_.health_care_payments_by_tier.sel(tier=tier), base + expected_bonus, rtol=1e-14
    )
    np.testing.assert_allclose(
        with_.health_care_payments, without.health_care_payments + expected_bonus, rtol=1e-14
    )
    np.testing.assert_allclose(
        with_.provider_margin, without.provider_margin + expected_bonus, rtol=1e-12, atol=1e-9
    )


def test_provider_margin_is_payments_less_fee_for_service_equivalent() -> None:
    d = with_payment(
        {
            "commune": {
                "method": "capitation",
                "capitation": 5,
                "performance_bonus": {"share": 0.1, "achievement": 0.5},
            },
            "district": {"method": "per_case", "performance_bonus": {"share": 0.05}},
        }
    )
    d["services"]["admission"]["case_rate"] = 300
    ffs = run(doc())
    ds = run(d)
    np.testing.assert_allclose(
        ds.provider_margin, ds.health_care_payments - ffs.health_care_payments, rtol=1e-12
    )
    # by hand, per tier: capitation 5 x 200 x 1.05 against 3,200 of visits; per case
    # 300 x 50 x 1.05 against the fee-for-service figure
    margin = (5 * 200 * 1.05 - 3200) * DPI / 100 + 300 * 50 * 1.05 * DPI / 100 - ffs_district()
    np.testing.assert_allclose(ds.provider_margin, margin, rtol=1e-12)
    # the payments by tier and by method both add up to the scheme's payments
    np.testing.assert_allclose(
        ds.health_care_payments_by_tier.sum("tier"), ds.health_care_payments, rtol=1e-14
    )
    np.testing.assert_allclose(
        ds.health_care_payments_by_method.sum("payment_method"),
        ds.health_care_payments,
        rtol=1e-14,
    )
    # user fees and co-payments are those of fee-for-service
    np.testing.assert_array_equal(ds.user_fees, ffs.user_fees)
    np.testing.assert_allclose(ds.copayments, ffs.copayments, rtol=1e-14)


def test_capitation_leaves_admin_as_share_of_the_new_payments() -> None:
    ds = run(with_payment({"commune": {"method": "capitation", "capitation": 5}}))
    np.testing.assert_allclose(ds.admin_expenditure, 0.05 * ds.health_care_payments, rtol=1e-14)


# ---------------------------------------------------------------- coverage targets


def coverage_doc(share: Any, rule: str, categories: list[str] | None = None) -> dict[str, Any]:
    d = doc()
    d["categories"]["farmers"]["insured_share"] = 0.3
    d["categories"]["dependants"]["insured_share"] = 0.6
    d["categories"]["workers"] = {
        "adult_share": 0.25,
        "income": 10_000,
        "contribution_rate": 0.03,
        "insured_share": 0.9,
    }
    d["categories"]["farmers"]["adult_share"] = 0.75
    target: dict[str, Any] = {"population_share": share, "rule": rule}
    if categories is not None:
        target["categories"] = categories
    d["coverage_target"] = target
    return d


#: planned base-year coverage is (240 + 135 + 135) / 1,000 = 51 %; close_gap_evenly only
#: closes gaps (it never lowers a share below its base-year plan), so start above it
PATH = {"base": 0.55, "targets": {2001: 0.6, 2002: 0.75}}


def test_close_gap_evenly_meets_the_target_every_year() -> None:
    ds = run(coverage_doc(PATH, "close_gap_evenly"))
    np.testing.assert_allclose(ds.coverage, [0.55, 0.6, 0.75], rtol=1e-13)
    # each category's uninsured share shrinks by the same factor from its base-year plan
    planned = {"dependants": 0.6, "farmers": 0.3, "workers": 0.9}
    ratios = np.array(
        [(1 - ds.insured_share.sel(category=c).values) / (1 - m0) for c, m0 in planned.items()]
    )
    np.testing.assert_allclose(ratios, np.broadcast_to(ratios[0], ratios.shape), rtol=1e-12)


def test_close_gap_evenly_by_hand() -> None:
    """Population 400 / 450 / 150; planned 0.6 / 0.3 / 0.9; 75 % of 1,000 insured.
    Uninsured gap 160 + 315 + 15 = 490; needed members 750: f = (1000 - 750) / 490."""
    ds = run(coverage_doc(0.75, "close_gap_evenly"))
    f = 250.0 / 490.0
    for c, m0 in {"dependants": 0.6, "farmers": 0.3, "workers": 0.9}.items():
        np.testing.assert_allclose(ds.insured_share.sel(category=c), 1 - (1 - m0) * f, rtol=1e-13)


def test_same_share_meets_the_target_with_one_share() -> None:
    ds = run(coverage_doc(PATH, "same_share"))
    np.testing.assert_allclose(ds.coverage, [0.55, 0.6, 0.75], rtol=1e-13)
    shares = ds.insured_share.values
    np.testing.assert_allclose(shares, shares[:, :1] * np.ones_like(shares), rtol=1e-13)
    np.testing.assert_allclose(shares[:, 0], [0.55, 0.6, 0.75], rtol=1e-13)


def test_categories_not_listed_keep_their_planned_shares() -> None:
    for rule in ("close_gap_evenly", "same_share"):
        ds = run(coverage_doc(PATH, rule, categories=["dependants", "farmers"]))
        np.testing.assert_allclose(ds.insured_share.sel(category="workers"), 0.9, rtol=1e-14)
        np.testing.assert_allclose(ds.coverage, [0.55, 0.6, 0.75], rtol=1e-13)
        if rule == "same_share":
            # (target x 1,000 - 135 workers) / 850 persons in the moving categories
            expected = (np.array([550.0, 600.0, 750.0]) - 135.0) / 850.0
            for c in ("dependants", "farmers"):
                np.testing.assert_allclose(ds.insured_share.sel(category=c), expected, rtol=1e-13)


def test_close_gap_evenly_never_lowers_the_planned_shares() -> None:
    """A target below the planned coverage (51 %) leaves the plan as it is."""
    ds = run(coverage_doc(0.45, "close_gap_evenly"))
    np.testing.assert_allclose(ds.coverage, 0.51, rtol=1e-13)
    np.testing.assert_allclose(ds.insured_share.sel(category="farmers"), 0.3, rtol=1e-14)


def test_unreachable_target_stops_at_full_cover() -> None:
    """Only the dependants (40 % of the population) move; a 95 % target cannot be met."""
    ds = run(coverage_doc(0.95, "same_share", categories=["dependants"]))
    np.testing.assert_allclose(ds.insured_share.sel(category="dependants"), 1.0, rtol=1e-14)
    np.testing.assert_allclose(ds.coverage, (400 + 0.3 * 450 + 0.9 * 150) / 1000, rtol=1e-13)


def test_coverage_target_with_growth_and_members_within_population() -> None:
    d = coverage_doc({"base": 0.55, "targets": {2002: 0.95}}, "close_gap_evenly")
    d["demography"]["growth_rate"] = 0.03
    d["demography"]["dependant_share"] = [0.4, 0.38, 0.36]
    ds = run(d)
    np.testing.assert_allclose(ds.coverage, [0.55, 0.75, 0.95], rtol=1e-13)
    assert bool((ds.members <= ds.population * (1 + 1e-12)).all())


def test_milestone_path_values_by_hand() -> None:
    p = YearPath.from_milestones(0.87, ((2025, 0.95), (2030, 0.98)), 2020, 13)
    expected = [
        0.87, 0.886, 0.902, 0.918, 0.934, 0.95,
        0.956, 0.962, 0.968, 0.974, 0.98, 0.98, 0.98,
    ]  # fmt: skip
    np.testing.assert_allclose(p.array(), expected, rtol=1e-14)
    # the same through the parser
    text = """
name: m
base_year: 2020
horizon: 12
demography: {population: 1000}
economy: {exchange_rate: {rate: 1}}
categories:
  dependants: {flat_premium: 1}
  farmers: {adult_share: 1, flat_premium: 1}
services:
  v: {level: outpatient, patient_cost: 1, volume: {rate_per_person: 1}}
coverage_target:
  population_share: {base: 0.87, targets: {2025: 0.95, 2030: 0.98}}
"""
    sc = parse_scenario(text)
    assert sc.coverage_target is not None
    np.testing.assert_allclose(sc.coverage_target.population_share.array(), expected, rtol=1e-14)
    np.testing.assert_allclose(project(sc).coverage, expected, rtol=1e-13)


def test_milestone_path_on_any_path_input() -> None:
    d = doc()
    d["categories"]["farmers"]["insured_share"] = {"base": 0.2, "targets": {2002: 0.6}}
    ds = run(d)
    np.testing.assert_allclose(
        ds.insured_share.sel(category="farmers"), [0.2, 0.4, 0.6], rtol=1e-14
    )


# ---------------------------------------------------------------- horizons


@pytest.mark.parametrize("horizon", [1, 4])
def test_levers_follow_a_changed_horizon(horizon: int) -> None:
    d = with_payment(
        {"commune": {"method": "capitation", "capitation": 5, "performance_bonus": {"share": 0.1}}}
    )
    d["coverage_target"] = {"population_share": {"base": 0.5, "targets": {2002: 0.7}}}
    sc = parse_scenario(yaml.safe_dump(d))
    ds = project(sc, horizon=horizon)
    assert ds.sizes["year"] == horizon + 1
    np.testing.assert_allclose(ds.coverage, [0.5, 0.6, 0.7, 0.7, 0.7][: horizon + 1], rtol=1e-13)


# ---------------------------------------------------------------- every lever off


def _assert_identical(a: xr.Dataset, b: xr.Dataset) -> None:
    assert sorted(a.data_vars) == sorted(b.data_vars)
    for name in a.data_vars:
        x, y = a[name].values, b[name].values
        assert x.dtype == y.dtype, name
        same = np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" else np.array_equal(x, y)
        assert same, f"{name} differs"
    for name in a.coords:
        assert np.array_equal(a[name].values, b[name].values), name


def test_every_lever_off_reproduces_hai_phong_bitwise() -> None:
    text = resolve_scenario("hai_phong_1993_1997").read_text(encoding="utf-8")
    d = yaml.safe_load(text)
    d["provider_payment"] = {
        "city_provincial": {"method": "fee_for_service"},
        "district": {"method": "fee_for_service", "performance_bonus": {"share": 0.0}},
        "commune": {"method": "fee_for_service"},
    }
    for name in ("farmers", "dependants"):
        d["categories"][name]["premium_subsidy"] = [
            {"payer": "government", "share": 0.0, "amount": 0.0},
            {"payer": "donor", "share": 0.0},
        ]
    explicit = project(parse_scenario(yaml.safe_dump(d, sort_keys=False)))
    _assert_identical(project("hai_phong_1993_1997"), explicit)
    np.testing.assert_array_equal(explicit.premium_revenue_from_members, explicit.premium_revenue)
    np.testing.assert_array_equal(explicit.provider_margin, 0.0)


def test_hai_phong_payments_by_tier_and_method() -> None:
    ds = project("hai_phong_1993_1997")
    np.testing.assert_allclose(
        ds.health_care_payments_by_method.sel(payment_method="fee_for_service"),
        ds.health_care_payments,
        rtol=1e-14,
    )
    np.testing.assert_allclose(
        ds.health_care_payments_by_tier.sum("tier"), ds.health_care_payments, rtol=1e-14
    )
