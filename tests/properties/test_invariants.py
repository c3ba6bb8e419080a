"""Invariants of the projection on random valid scenarios (Hypothesis).

Each property holds for every scenario the format allows: the structure of
financing adds up to the cost of services (Carrin, Ron & Murray 1993,
Section 3.5, Figure 1), nothing that counts people, services or money paid
goes negative, premium revenue responds the right way to premiums, the
scheme's accounts close (Annex I.3), the horizon only cuts or extends the
projection, and the compiled kernel agrees with the naive transcription of
the model in ``tests/oracle.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemerisk.model import project
from schemerisk.scenario import Scenario, VolumeBasis, YearPath, load_scenario
from schemerisk.scenario.types import CoverageRule
from tests.oracle import BY_CATEGORY, BY_SERVICE, YEARLY, assert_agrees_with_oracle
from tests.properties.strategies import lever_scenarios, scenarios

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    database=None,  # keep the working tree clean; failures print their reproducing example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

RTOL = 1e-9


def money_scale(ds: xr.Dataset) -> float:
    """The size of the year's largest money flows, for absolute tolerances."""
    flows = [
        ds[v] for v in ("premium_revenue", "total_expenditure", "patient_cost", "government_cost")
    ]
    return max(1.0, *(float(abs(f).max()) for f in flows))


def close(actual: np.ndarray, expected: np.ndarray, scale: float, what: str) -> None:
    """Assert agreement to RTOL, with an absolute floor a small fraction of ``scale``."""
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=1e-10 * scale, err_msg=what)


def with_path_value(path: YearPath, t: int, value: float) -> YearPath:
    """The path with year ``t`` set to ``value`` (written year by year)."""
    vals = list(path.values)
    vals[t] = value
    return YearPath(tuple(vals), given_values=True)


def with_category(sc: Scenario, c: int, **changes: YearPath) -> Scenario:
    """The scenario with some paths of category ``c`` replaced."""
    cats = list(sc.categories)
    cats[c] = dataclasses.replace(cats[c], **changes)
    return dataclasses.replace(sc, categories=tuple(cats))


# ---------------------------------------------------------------- accounting identities


def check_financing_identity(ds: xr.Dataset) -> None:
    """User fees + co-payments + insurance payments + government = total cost (Section 3.5).

    With capitation, per-case payment or bonuses (extensions) the scheme pays
    providers more or less than the patient cost of the services; the
    difference is the provider margin (0 under the paper's fee-for-service).
    """
    sources = ds.user_fees + ds.copayments + ds.health_care_payments + ds.government_financing
    cost = ds.patient_cost + ds.government_cost
    if "provider_margin" in ds:
        cost = cost + ds.provider_margin
    close(sources.values, cost.values, money_scale(ds), "financing identity")


def check_scheme_accounts(ds: xr.Dataset) -> None:
    """B = HIR - C and C = CHS + AC (Annex I.3); revenue by source and category adds up."""
    scale = money_scale(ds)
    close(ds.balance.values, (ds.premium_revenue - ds.total_expenditure).values, scale, "balance")
    close(
        ds.total_expenditure.values,
        (ds.health_care_payments + ds.admin_expenditure).values,
        scale,
        "total expenditure",
    )
    close(
        ds.premium_revenue.values,
        (ds.flat_premium_revenue + ds.contribution_revenue).values,
        scale,
        "revenue by kind of premium",
    )
    close(
        ds.premium_revenue.values,
        ds.premium_revenue_by_category.sum("category").values,
        scale,
        "revenue by category",
    )


def check_populations(ds: xr.Dataset) -> None:
    """Categories partition the population; members never exceed it (Annex I)."""
    pop_scale = float(ds.total_population.max())
    close(ds.population.sum("category").values, ds.total_population.values, pop_scale, "population")
    assert (ds.members <= ds.population * (1 + 1e-12)).all()
    assert (ds.exempted_members <= ds.members * (1 + 1e-12)).all()


@PROPERTY
@given(scenarios)
def test_accounting_identities(sc: Scenario) -> None:
    """The financing identity, the scheme's accounts and the population all add up."""
    ds = project(sc)
    check_financing_identity(ds)
    check_scheme_accounts(ds)
    check_populations(ds)


# ---------------------------------------------------------------- signs


@PROPERTY
@given(scenarios)
def test_quantities_are_non_negative(sc: Scenario) -> None:
    """Populations, members, services, costs and every payment are >= 0."""
    check_non_negative(project(sc))


def check_non_negative(ds: xr.Dataset) -> None:
    """Every count of people or services, every cost and every payment is finite and >= 0."""
    for name in (
        "total_population",
        "population",
        "members",
        "exempted_members",
        "paying_members",
        "services",
        "unit_patient_cost",
        "unit_government_cost",
        "patient_cost",
        "government_cost",
        "total_cost_constant",
        "health_care_payments",
        "admin_expenditure",
        "premium_revenue",
        "copayments",
        "user_fees",
        "government_financing",
        "domestic_price_index",
        "external_price_index",
        "exchange_rate",
    ):
        values = ds[name].values
        assert np.all(np.isfinite(values)), name
        assert np.all(values >= 0.0), f"{name} has negative values: {values.min()}"


# ---------------------------------------------------------------- monotone responses


@PROPERTY
@given(scenarios, st.data())
def test_revenue_rises_with_flat_premium(sc: Scenario, data: st.DataObject) -> None:
    """Raising one category's flat premium in one year raises that year's revenue only."""
    c = data.draw(st.integers(0, len(sc.categories) - 1), label="category")
    t = data.draw(st.integers(0, sc.horizon), label="year index")
    delta = data.draw(st.floats(1.0, 1e4), label="increase")
    cat = sc.categories[c]
    raised = with_category(
        sc, c, flat_premium=with_path_value(cat.flat_premium, t, cat.flat_premium.values[t] + delta)
    )
    _check_revenue_response(project(sc), project(raised), c, t, delta)


@PROPERTY
@given(scenarios, st.data())
def test_revenue_rises_with_contribution_rate(sc: Scenario, data: st.DataObject) -> None:
    """Raising one category's contribution rate in one year never lowers revenue.

    It raises it strictly when the category has income and paying members.
    """
    c = data.draw(st.integers(0, len(sc.categories) - 1), label="category")
    t = data.draw(st.integers(0, sc.horizon), label="year index")
    cat = sc.categories[c]
    rate = cat.contribution_rate.values[t]
    new_rate = data.draw(st.floats(rate, 1.0), label="new rate")
    raised = with_category(
        sc, c, contribution_rate=with_path_value(cat.contribution_rate, t, new_rate)
    )
    base = project(sc)
    income = float(base.income.isel(year=t, category=c))
    _check_revenue_response(base, project(raised), c, t, (new_rate - rate) * income)


def _check_revenue_response(
    base: xr.Dataset, raised: xr.Dataset, c: int, t: int, per_payer: float
) -> None:
    """Revenue in year t rises by ``per_payer`` x paying members; nothing else moves."""
    before, after = base.premium_revenue.values, raised.premium_revenue.values
    assert after[t] >= before[t]
    payers = float(base.paying_members.isel(year=t, category=c))
    if payers > 0 and per_payer * payers > 1e-9 * abs(before[t]):
        assert after[t] > before[t]
        np.testing.assert_allclose(
            after[t] - before[t], per_payer * payers, rtol=1e-6, atol=1e-13 * abs(before[t])
        )
    others = np.arange(before.size) != t
    np.testing.assert_array_equal(after[others], before[others])
    for name in ("total_expenditure", "health_care_payments", "user_fees", "members", "services"):
        np.testing.assert_array_equal(raised[name].values, base[name].values, err_msg=name)


# ---------------------------------------------------------------- the base year reproduces the inputs


@PROPERTY
@given(scenarios)
def test_base_year_count_is_reproduced(sc: Scenario) -> None:
    """A service given as a count is used that many times in the base year (MODEL.md 2.6).

    Holds when the insured use services like everyone else (loading 1, the paper's case).
    """
    sc = dataclasses.replace(sc, insured_utilisation_loading=1.0)
    ds = project(sc)
    for svc in sc.services:
        if svc.volume.basis is VolumeBasis.COUNT:
            used = float(ds.services.sel(service=svc.name).isel(year=0))
            np.testing.assert_allclose(used, svc.volume.amount, rtol=RTOL, err_msg=svc.name)


# ---------------------------------------------------------------- horizon


@PROPERTY
@given(scenarios, st.integers(0, 10))
def test_horizon_only_cuts_or_extends(sc: Scenario, horizon: int) -> None:
    """Projecting over another horizon leaves the years both runs share unchanged."""
    ds = project(sc)
    other = project(sc, horizon=horizon)
    assert other.sizes["year"] == horizon + 1
    shared = min(horizon, sc.horizon) + 1
    for name in YEARLY + BY_CATEGORY + BY_SERVICE:
        np.testing.assert_array_equal(
            other[name].isel(year=slice(0, shared)).values,
            ds[name].isel(year=slice(0, shared)).values,
            err_msg=name,
        )


# ---------------------------------------------------------------- the oracle


@PROPERTY
@given(scenarios)
def test_kernel_agrees_with_oracle(sc: Scenario) -> None:
    """The compiled kernel and the naive oracle agree on random scenarios."""
    assert_agrees_with_oracle(project(sc), sc)


@pytest.mark.parametrize("name", ["hai_phong_1993", "hai_phong_1993_1997"])
def test_kernel_agrees_with_oracle_on_hai_phong(name: str) -> None:
    """... and on the paper's two Hai Phong scenarios, over their horizon and beyond."""
    sc = load_scenario(name)
    assert_agrees_with_oracle(project(sc), sc)
    assert_agrees_with_oracle(project(sc, horizon=12), sc.with_horizon(12))


# ---------------------------------------------------------------- policy levers (extensions)


def check_payments_by_tier_and_method(ds: xr.Dataset) -> None:
    """Payments to providers split by tier and by payment method add up to the total."""
    scale = money_scale(ds)
    for name in ("health_care_payments_by_tier", "health_care_payments_by_method"):
        split = ds[name]
        (other,) = set(split.dims) - {"year"}
        close(ds.health_care_payments.values, split.sum(other).values, scale, name)


def check_premium_sources(ds: xr.Dataset) -> None:
    """Members, the state and donors pay the premiums between them, each a part >= 0."""
    parts = [ds[f"premium_revenue_from_{p}"] for p in ("members", "government", "donors")]
    close(sum(parts).values, ds.premium_revenue.values, money_scale(ds), "premium sources")
    for part in parts:
        assert (part >= 0).all(), part.name


def check_reserve(ds: xr.Dataset, sc: Scenario) -> None:
    """The reserve fund: R_t = R_{t-1} (1 + i_t) + B_t, R_{-1} the initial reserve."""
    if sc.reserve is None:
        return
    opening, rate = sc.reserve.initial, sc.reserve.interest_rate.values
    for t in range(sc.horizon + 1):
        expected = opening * (1 + rate[t]) + float(ds.balance[t])
        floor = 1e-10 * max(money_scale(ds), abs(opening) * (1 + abs(rate[t])))
        np.testing.assert_allclose(float(ds.reserve[t]), expected, rtol=RTOL, atol=floor)
        opening = float(ds.reserve[t])


def check_coverage_target(ds: xr.Dataset, sc: Scenario) -> None:
    """A coverage target over every category is met whenever its rule can meet it."""
    target = sc.coverage_target
    if target is None or set(target.categories) != set(sc.category_names):
        return
    coverage = (ds.members.sum("category") / ds.total_population).values
    base_shares = np.array([c.insured_share.values[0] for c in sc.categories])
    for t in range(sc.horizon + 1):
        want = target.population_share.values[t]
        if target.rule is CoverageRule.CLOSE_GAP_EVENLY:
            # every uninsured share shrinks by one factor in [0, 1]: coverage cannot fall
            # below what the base-year shares give this year's population
            pop = ds.population.isel(year=t).values
            want = max(want, float(base_shares @ pop) / float(pop.sum()))
        np.testing.assert_allclose(coverage[t], want, rtol=1e-9, atol=1e-12, err_msg=f"t={t}")


@PROPERTY
@given(lever_scenarios)
def test_policy_levers_keep_the_accounts(sc: Scenario) -> None:
    """Premium subsidies, provider payment by tier, coverage targets and a reserve fund
    (extensions) keep every identity, and their own."""
    ds = project(sc)
    check_financing_identity(ds)
    check_scheme_accounts(ds)
    check_populations(ds)
    check_non_negative(ds)
    check_payments_by_tier_and_method(ds)
    check_premium_sources(ds)
    check_reserve(ds, sc)
    check_coverage_target(ds, sc)
