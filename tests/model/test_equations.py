"""Each equation of Carrin, Ron & Murray (1993), Annex I, on numbers worked by hand."""

from __future__ import annotations

import pytest

from schemerisk import equations as eq

COUNT, RATE, PER_ADMISSION = 0, 1, 2


def test_grown() -> None:
    """x_t = x_{t-1} (1 + g_t): Hai Phong's 1.5 million at 2.2 %/yr."""
    assert eq.grown(1_500_000.0, 0.022) == pytest.approx(1_533_000.0, rel=1e-15)
    assert eq.grown(100.0, 0.0) == 100.0
    assert eq.grown(100.0, -0.05) == pytest.approx(95.0, rel=1e-15)


def test_exchange_rate_ppp() -> None:
    """Section 3.4.2: 10,500 VND/US$ with 15 % at home and 5 % abroad."""
    assert eq.exchange_rate_ppp(10_500.0, 0.15, 0.05, 0.0) == pytest.approx(11_500.0, rel=1e-15)
    assert eq.exchange_rate_ppp(10_500.0, 0.05, 0.05, 0.0) == pytest.approx(10_500.0, rel=1e-15)
    # (extension) a real depreciation of 10 % beyond parity
    assert eq.exchange_rate_ppp(10_500.0, 0.15, 0.05, 0.1) == pytest.approx(12_650.0, rel=1e-15)


def test_current_price() -> None:
    """Annex I.2: (1-a) pc DPI/100 + a pc EPI/100 EXRI/100."""
    # 1000 with 40 % imported; DPI 115, EPI 105, EXRI 110
    expected = 600 * 1.15 + 400 * 1.05 * 1.10
    assert eq.current_price(1000.0, 0.4, 115.0, 105.0, 110.0) == pytest.approx(expected, rel=1e-15)
    assert eq.current_price(1000.0, 0.0, 115.0, 999.0, 999.0) == pytest.approx(1150.0, rel=1e-15)
    assert eq.current_price(1000.0, 1.0, 999.0, 105.0, 110.0) == pytest.approx(1155.0, rel=1e-15)


def test_premium_per_person() -> None:
    """Annex I.3: flat premium + contribution rate x income."""
    assert eq.premium_per_person(11_000.0, 0.0, 0.0) == 11_000.0
    assert eq.premium_per_person(0.0, 0.03, 800_000.0) == pytest.approx(24_000.0, rel=1e-15)
    assert eq.premium_per_person(100.0, 0.03, 800_000.0) == pytest.approx(24_100.0, rel=1e-15)


def test_scheme_payment_per_member() -> None:
    """Annex I.3, CHS: paying members pay the co-payment, the exempted pay nothing."""
    # 0.5 services per member at 2000; 20 % co-payment; 900 paying, 100 exempted
    expected = 0.8 * 0.5 * 2000 * 900 + 0.5 * 2000 * 100
    assert eq.scheme_payment_per_member(0.5, 2000.0, 0.2, 900.0, 100.0) == pytest.approx(
        expected, rel=1e-15
    )
    assert eq.scheme_payment_per_member(0.5, 2000.0, 1.0, 900.0, 0.0) == 0.0


def test_admin_cost_current() -> None:
    assert eq.admin_cost_current(1e6, 132.25) == pytest.approx(1.3225e6, rel=1e-15)


def test_adult_category_population() -> None:
    """POPAD = s (POP - d POP): Hai Phong's 1.5 million, 39 % dependants, farmers 755/915."""
    farmers = eq.adult_category_population(1_500_000.0, 0.39, 755 / 915)
    assert farmers == pytest.approx(755_000.0, rel=1e-12)
    assert eq.adult_category_population(1000.0, 1.0, 0.5) == 0.0


def test_base_service_rate_count() -> None:
    """Section 3.4.6: HSU_ij0 = N_ij0 / POP_i0."""
    # split in proportion to population: everyone has count / total population
    assert eq.base_service_rate(
        COUNT, 300.0, 1.0, 0.0, 1.0, True, 0.0, 250.0, 1000.0
    ) == pytest.approx(0.3)
    # split by given shares: 40 % of 300 services used by 200 people
    assert eq.base_service_rate(
        COUNT, 300.0, 1.0, 0.0, 1.0, False, 0.4, 200.0, 1000.0
    ) == pytest.approx(0.6)


def test_base_service_rate_rate_and_admissions() -> None:
    """A rate per person, and admissions x share of admissions x length of stay (Table 3)."""
    assert eq.base_service_rate(RATE, 1.12, 1.0, 0.0, 1.5, False, 0.0, 1.0, 1.0) == pytest.approx(
        1.68
    )
    # Hai Phong: 8 % admitted, 14 % of them to city hospitals for 16 days
    hsu = eq.base_service_rate(PER_ADMISSION, 0.14, 16.0, 0.08, 1.0, False, 0.0, 1.0, 1.0)
    assert hsu == pytest.approx(0.08 * 0.14 * 16, rel=1e-15)
    assert eq.base_service_rate(
        PER_ADMISSION, 0.14, 16.0, 0.08, 0.5, False, 0.0, 1.0, 1.0
    ) == pytest.approx(hsu / 2, rel=1e-15)


def test_services_used() -> None:
    """N = HSU POP; with a loading, members use loading x HSU."""
    assert eq.services_used(0.5, 1000.0, 200.0, 1.0) == pytest.approx(500.0, rel=1e-15)
    assert eq.services_used(0.5, 1000.0, 200.0, 1.2) == pytest.approx(
        0.5 * 800 + 0.6 * 200, rel=1e-15
    )


def test_unit_cost_from_totals() -> None:
    """Section 3.4.6: gc_j0 = gs COST / N_j0, pc_j0 = (1 - gs) COST / N_j0."""
    assert eq.unit_cost_from_totals(1e6, 0.6, 500.0) == pytest.approx(1200.0, rel=1e-15)
    assert eq.unit_cost_from_totals(1e6, 0.4, 500.0) == pytest.approx(800.0, rel=1e-15)
    assert eq.unit_cost_from_totals(1e6, 0.4, 0.0) == 0.0


def test_coverage_target_with_no_one_to_move_keeps_the_planned_shares() -> None:
    """Every share is written even when the moving categories have no population.

    The kernel reuses one scratch array for the shares year after year; a share
    left unwritten would carry last year's value (or uninitialised memory).
    """
    import numpy as np

    out = np.full(3, np.nan)
    planned = np.array([0.4, 0.5, 0.6])
    eq.insured_shares_for_target(
        1,
        0.9,
        np.array([0.0, 1.0, 1.0]),  # the target moves categories 1 and 2 ...
        np.array([0.3, 0.4, 0.5]),
        planned,
        np.array([1000.0, 0.0, 0.0]),  # ... which have nobody in them
        out,
    )
    np.testing.assert_array_equal(out, planned)
