"""The equilibrium solver (Carrin, Ron & Murray 1993, Section 3.4.11), on Hai Phong 1993-1997.

The multiplier is checked against one computed here from the projection's own
building blocks (paying members x flat premium, paying members x rate x income:
MODEL.md section 3, Revenue), not from the revenue variables the solver uses.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
import yaml

from schemerisk.analysis.solver import Adjust, solve_equilibrium
from schemerisk.cli import main
from schemerisk.model import project
from schemerisk.scenario import load_scenario, resolve_scenario
from schemerisk.scenario.types import Scenario

NAME = "hai_phong_1993_1997"
FLAT = ("dependants", "farmers")  # the categories that pay a flat premium in this scenario
RATED = ("government_admin", "industrial", "retired_government")  # pay a share of income


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(NAME)


@pytest.fixture(scope="module")
def base(scenario: Scenario) -> xr.Dataset:
    return project(scenario)


def _flat_path(sc: Scenario, cat: str) -> np.ndarray:
    return np.array(next(c for c in sc.categories if c.name == cat).flat_premium.values)


def _rate_path(sc: Scenario, cat: str) -> np.ndarray:
    return np.array(next(c for c in sc.categories if c.name == cat).contribution_rate.values)


def _revenues(sc: Scenario, ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Flat-premium and contribution revenue per year, from the scenario and paying members."""
    paying = ds["paying_members"]
    income = ds["income"]
    flat = np.zeros(ds.sizes["year"])
    contrib = np.zeros(ds.sizes["year"])
    for c in sc.categories:
        pm = paying.sel(category=c.name).values
        flat += np.array(c.flat_premium.values) * pm
        contrib += np.array(c.contribution_rate.values) * income.sel(category=c.name).values * pm
    return flat, contrib


def test_scenario_is_as_assumed(scenario: Scenario, base: xr.Dataset) -> None:
    """The split between flat and rated categories these tests rely on (Table 3)."""
    for cat in FLAT:
        assert _flat_path(scenario, cat).min() > 0
        assert _rate_path(scenario, cat).max() == 0
    for cat in RATED:
        assert _flat_path(scenario, cat).max() == 0
        assert _rate_path(scenario, cat).min() > 0
    flat, contrib = _revenues(scenario, base)
    np.testing.assert_allclose(flat + contrib, base["premium_revenue"].values, rtol=1e-12)
    # Annex II is already near equilibrium (|B| < 1 % of revenue), with a small surplus
    assert (base["balance"].values > 0).all()


@pytest.mark.parametrize("adjust", list(Adjust), ids=[a.value for a in Adjust])
def test_balance_is_zero_every_year(adjust: Adjust, scenario: Scenario, base: xr.Dataset) -> None:
    sol = solve_equilibrium(scenario, adjust)
    res = sol.result

    revenue = res["premium_revenue"].values
    assert (np.abs(res["balance"].values) < 1e-6 * revenue).all()
    np.testing.assert_allclose(revenue, res["total_expenditure"].values, rtol=1e-12)
    # premiums do not change what the scheme spends (MODEL.md section 3)
    np.testing.assert_allclose(
        res["total_expenditure"].values, base["total_expenditure"].values, rtol=1e-12
    )
    assert sol.adjust is adjust
    assert list(sol.multiplier.year.values) == list(base.year.values)


@pytest.mark.parametrize("adjust", list(Adjust), ids=[a.value for a in Adjust])
def test_multiplier_from_first_principles(
    adjust: Adjust, scenario: Scenario, base: xr.Dataset
) -> None:
    flat, contrib = _revenues(scenario, base)
    adjusted = {
        Adjust.FLAT_PREMIUMS: flat,
        Adjust.CONTRIBUTION_RATES: contrib,
        Adjust.ALL_PREMIUMS: flat + contrib,
    }[adjust]
    fixed = flat + contrib - adjusted
    expected = (base["total_expenditure"].values - fixed) / adjusted

    sol = solve_equilibrium(NAME, adjust)

    np.testing.assert_allclose(sol.multiplier.values, expected, rtol=1e-12)
    # a surplus every year in Annex II, so every multiplier is a (small) cut
    assert ((sol.multiplier.values < 1) & (sol.multiplier.values > 0.9)).all()


@pytest.mark.parametrize("adjust", list(Adjust), ids=[a.value for a in Adjust])
def test_only_the_chosen_premiums_change(
    adjust: Adjust, scenario: Scenario, base: xr.Dataset
) -> None:
    sol = solve_equilibrium(scenario, adjust)
    k = sol.multiplier.values
    flat_scaled = adjust in (Adjust.FLAT_PREMIUMS, Adjust.ALL_PREMIUMS)
    rates_scaled = adjust in (Adjust.CONTRIBUTION_RATES, Adjust.ALL_PREMIUMS)

    for cat in (*FLAT, *RATED):
        f_before, f_after = _flat_path(scenario, cat), _flat_path(sol.scenario, cat)
        r_before, r_after = _rate_path(scenario, cat), _rate_path(sol.scenario, cat)
        np.testing.assert_allclose(f_after, f_before * k if flat_scaled else f_before, rtol=1e-14)
        if not flat_scaled:
            assert tuple(f_after) == tuple(f_before), cat
        np.testing.assert_allclose(r_after, r_before * k if rates_scaled else r_before, rtol=1e-14)
        if not rates_scaled:
            assert tuple(r_after) == tuple(r_before), cat

        # and the premium per person in the projection of the adjusted scenario
        scaled = flat_scaled if cat in FLAT else rates_scaled
        p_before = base["premium"].sel(category=cat).values
        p_after = sol.result["premium"].sel(category=cat).values
        np.testing.assert_allclose(p_after, p_before * k if scaled else p_before, rtol=1e-12)

    # nothing else in the scenario moves
    untouched = ("insured_share", "income_growth", "exempt_share", "adult_share")
    for before, after in zip(scenario.categories, sol.scenario.categories, strict=True):
        for attr in untouched:
            assert getattr(after, attr) == getattr(before, attr), (before.name, attr)
    assert sol.scenario.services == scenario.services
    assert adjust.value in sol.scenario.name


def test_adjust_accepts_the_cli_words(scenario: Scenario) -> None:
    by_word = solve_equilibrium(scenario, "contribution-rates")
    by_enum = solve_equilibrium(scenario, Adjust.CONTRIBUTION_RATES)
    xr.testing.assert_identical(by_word.multiplier, by_enum.multiplier)
    with pytest.raises(ValueError, match="flat"):
        solve_equilibrium(scenario, "flat")


# --- the command line -------------------------------------------------------------------


def _row(out: str, label: str, after: str) -> list[str]:
    """The values of the first row called ``label`` after the line ``after``."""
    lines = out.splitlines()
    start = lines.index(after)
    for line in lines[start:]:
        if line.startswith(label + "  "):
            return line[len(label) :].split()
    raise AssertionError(f"no row {label!r} after {after!r}")


def test_cli_solve_contribution_rates(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "solved.nc"

    code = main(["solve", NAME, "--adjust", "contribution-rates", "-o", str(out_file)])

    assert code == 0
    out = capsys.readouterr().out
    section = "The scheme with adjusted premiums"
    assert _row(out, "Balance", section) == ["0"] * 5
    revenue = _row(out, "Total revenue from premiums", section)
    expenditure = _row(out, "Total expenditure", section)
    assert revenue == expenditure and len(revenue) == 5

    sol = solve_equilibrium(NAME, "contribution-rates")
    multipliers = _row(out, "Multiplier", "Multiplier on contribution rates")
    assert multipliers == [f"{k:,.2f}" for k in sol.multiplier.values]
    # flat premiums are printed unchanged: 5,000 VND for a dependant in 1993 (Table 3)
    assert _row(out, "Dependants (children under 16)", "Adjusted premium per person")[0] == "5,000"

    saved = xr.open_dataset(out_file)
    try:
        np.testing.assert_allclose(saved["premium_multiplier"].values, sol.multiplier.values)
        assert (np.abs(saved["balance"].values) < 1e-6 * saved["premium_revenue"].values).all()
    finally:
        saved.close()


# --- nothing to scale ---------------------------------------------------------------------


@pytest.fixture
def no_flat_premiums(tmp_path: Path) -> Path:
    doc: dict[str, Any] = copy.deepcopy(yaml.safe_load(resolve_scenario(NAME).read_text()))
    for cat in FLAT:
        doc["categories"][cat]["flat_premium"] = 0
    path = tmp_path / "no_flat_premiums.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_no_flat_premiums_cannot_be_scaled(no_flat_premiums: Path) -> None:
    with pytest.raises(ValueError, match=r"raise no revenue in 1993, 1994, 1995, 1996, 1997"):
        solve_equilibrium(no_flat_premiums, Adjust.FLAT_PREMIUMS)
    # the contribution rates can still balance it
    sol = solve_equilibrium(no_flat_premiums, Adjust.CONTRIBUTION_RATES)
    assert (sol.multiplier.values > 1).all()


def test_cli_no_flat_premiums(no_flat_premiums: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["solve", str(no_flat_premiums), "--adjust", "flat-premiums"])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith(
        "error: cannot balance hai_phong_1993_1997 by adjusting flat-premiums"
    )
    assert "raise no revenue in 1993, 1994, 1995, 1996, 1997" in captured.err
    assert "Traceback" not in captured.err


def test_cli_rates_above_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A contribution rate scaled past 100 % of income is refused, not printed."""
    doc: dict[str, Any] = copy.deepcopy(yaml.safe_load(resolve_scenario(NAME).read_text()))
    for cat in FLAT:
        doc["categories"][cat]["flat_premium"] = 0
    for cat in RATED:
        # 1,000 VND a year: the 160,000 workers earn 1.6e8 VND in all in 1993, far less
        # than the scheme's 5.5e9 VND of expenditure, so no rate up to 100 % can balance it
        doc["categories"][cat]["income"] = 1000
    path = tmp_path / "tiny_incomes.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))

    code = main(["solve", str(path), "--adjust", "contribution-rates"])

    captured = capsys.readouterr()
    assert code == 2
    assert "contribution rates above 100 % of income" in captured.err
    assert all(cat in captured.err for cat in RATED)
