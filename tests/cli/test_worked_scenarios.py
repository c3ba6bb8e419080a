"""The worked scenarios of issue 6 and their distributions files, through the command line.

Each scenario in ``scenarios/`` that exercises the policy levers (Khanh Hoa's
coverage targets, a mountain province's capitation, the Lao NHI merger)
validates, projects with the new results sections, and runs through
``simulate`` and ``report`` with its matching file in ``distributions/``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from schemerisk.model import project
from schemerisk.scenario import load_scenario
from tests.support import CliRun

ROOT = Path(__file__).resolve().parents[2]
WORKED = ("khanh_hoa_2020_2030", "mountain_province_pro_poor", "lao_nhi_merger_2017")


def scenario_file(name: str) -> Path:
    return ROOT / "scenarios" / f"{name}.yaml"


def distributions_file(name: str) -> Path:
    return ROOT / "distributions" / f"{name}.yaml"


@pytest.mark.parametrize("name", WORKED)
def test_files_exist_and_say_they_are_illustrative(name: str) -> None:
    for path in (scenario_file(name), distributions_file(name)):
        assert path.is_file(), path
        assert "ILLUSTRATIVE" in path.read_text(encoding="utf-8"), path


@pytest.mark.parametrize("name", WORKED)
def test_validates(name: str, cli: Callable[..., CliRun]) -> None:
    run = cli("validate", scenario_file(name))
    assert run.code == 0, run.text
    assert "valid scenario" in run.out


@pytest.mark.parametrize("name", WORKED)
def test_project_prints_the_new_sections(name: str, cli: Callable[..., CliRun]) -> None:
    run = cli("project", scenario_file(name))
    assert run.code == 0, run.text
    for section in ("7. The scheme", "10. Who pays the premiums", "11. Payments to providers"):
        assert section in run.out, section


@pytest.mark.parametrize("name", WORKED)
def test_simulate(name: str, cli: Callable[..., CliRun]) -> None:
    run = cli(
        "simulate", scenario_file(name), distributions_file(name), "-n", "500", "--no-progress"
    )
    assert run.code == 0, run.text
    assert "P(deficit)" in run.out


@pytest.mark.parametrize("name", WORKED)
def test_report(name: str, cli: Callable[..., CliRun], tmp_path: Path) -> None:
    out = tmp_path / f"{name}.html"
    run = cli(
        "report",
        scenario_file(name),
        distributions_file(name),
        "-o",
        out,
        "-n",
        "300",
        "-N",
        "32",
        "--max-base-samples",
        "32",
        "--no-progress",
    )
    assert run.code == 0, run.text
    assert out.is_file() and out.stat().st_size > 10_000


# ---------------------------------------------------------------- what each scenario shows


def test_khanh_hoa_reaches_its_coverage_targets() -> None:
    ds = project(scenario_file("khanh_hoa_2020_2030"))
    np.testing.assert_allclose(ds.coverage.sel(year=[2020, 2025, 2030]), [0.87, 0.95, 0.98])
    # state-paid groups pay nothing themselves; the state pays a large part of the premiums
    assert (ds.premium_revenue_from_government > 0).all()
    np.testing.assert_array_equal(ds.premium_revenue_from_donors, 0.0)
    # roughly balanced: a small surplus every year
    share = (ds.balance / ds.premium_revenue).values
    assert (share > 0).all() and (share < 0.10).all()


def test_mountain_province_pays_commune_stations_by_capitation() -> None:
    sc = load_scenario(scenario_file("mountain_province_pro_poor"))
    ds = project(sc)
    assert ds.tier_payment_method.sel(tier="commune").item() == "capitation"
    # 60,000 VND per member (all have outpatient cover) in 2022 prices, plus the 5 % x 70 % bonus
    cap = 60_000 * ds.domestic_price_index / 100 * ds.members.sum("category")
    np.testing.assert_allclose(
        ds.health_care_payments_by_method.sel(payment_method="capitation"), cap, rtol=1e-12
    )
    np.testing.assert_allclose(
        ds.health_care_payments_by_tier.sel(tier="commune"), cap * (1 + 0.05 * 0.7), rtol=1e-12
    )


def test_lao_merger_hands_the_poor_over_from_donors_to_the_state() -> None:
    ds = project(scenario_file("lao_nhi_merger_2017"))
    donors = ds.premium_revenue_from_donors
    assert float(donors.sel(year=2017)) > 0
    np.testing.assert_array_equal(donors.sel(year=[2025, 2026, 2027]), 0.0)
    assert float(ds.health_care_payments_by_method.sel(payment_method="per_case").min()) > 0
    # the informal sector's premium is paid by the state: members pay only formal contributions
    np.testing.assert_allclose(ds.premium_revenue_from_members, ds.contribution_revenue, rtol=1e-12)


@pytest.mark.parametrize("name", ["khanh_hoa_2020_2030", "mountain_province_pro_poor"])
def test_project_over_another_horizon(name: str, cli: Callable[..., CliRun]) -> None:
    run = cli("project", scenario_file(name), "--horizon", "12")
    assert run.code == 0, run.text
