"""The report's premium slider and ``schemerisk risk --premium-multiplier``.

The slider is checked in headless Chromium against the command line on the same projections
(identical counts); the shortcut ``B + (M - 1) S`` both use is checked against the model re-run
with the premiums in the scenario multiplied (an independent route to the same balances).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from schemerisk.analysis.risk import RISK_OUTPUTS, deficit_risk
from schemerisk.analysis.study import Study
from schemerisk.analysis.whatif import deficit_counts, scale_categories, scale_premiums
from schemerisk.analysis.whatif import parse_multiplier as check
from schemerisk.cli import main
from schemerisk.model import compile_inputs
from schemerisk.model.kernel import run_kernel
from schemerisk.model.results import add_memoranda, rows_to_dataset
from schemerisk.reports.html import render_html
from schemerisk.reports.whatif import embedded_draws
from schemerisk.uncertainty.montecarlo import bind_space, run_design
from schemerisk.uncertainty.sampling import unit_design
from schemerisk.uncertainty.space import load_space
from tests.support import open_tab

SCENARIO = "hai_phong_1993_1997"
N, SEED, HORIZON = 600, 5, 6


@pytest.fixture(scope="module")
def study() -> Study:
    """The study a report of ``-n 600 --seed 5 --horizon 6`` would show, without its Sobol' part."""
    space = bind_space(SCENARIO, SCENARIO, HORIZON)
    sc = space.scenario
    det = add_memoranda(rows_to_dataset(sc, space.inputs, run_kernel(space.inputs), draw_dim=False))
    cube = run_design(space, unit_design(space, N, SEED), progress=False)
    return Study(sc, space, det, cube, deficit_risk(cube), None, None, ())


def _cli_counts(capsys: pytest.CaptureFixture[str], multiplier: float | str) -> tuple[list, list]:
    """Deficits and known draws by year from ``schemerisk risk --premium-multiplier --json``."""
    code = main(
        [
            "risk",
            SCENARIO,
            SCENARIO,
            "-n",
            str(N),
            "--seed",
            str(SEED),
            "--horizon",
            str(HORIZON),
            "--premium-multiplier",
            str(multiplier),
            "--json",
            "--no-progress",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    expected = multiplier if isinstance(multiplier, float) else check(multiplier)
    assert code == 0 and out["premium_multiplier"] == expected
    known = [N - out["n_unknown"][y] for y in sorted(out["p_deficit"])]
    # p = deficits / known exactly; rounding the product recovers the integer count
    deficits = [
        round(out["p_deficit"][y] * k) for y, k in zip(sorted(out["p_deficit"]), known, strict=True)
    ]
    return deficits, known


def test_scaled_premiums_equal_a_rerun_with_the_scenario_premiums_multiplied(study: Study) -> None:
    m = 1.37
    scaled = dataclasses.replace(
        study.scenario,
        categories=tuple(
            dataclasses.replace(
                c,
                # the same form of path (given values), so years past the scenario's own
                # are still indexed to each projection's prices
                flat_premium=dataclasses.replace(
                    c.flat_premium, values=tuple(m * v for v in c.flat_premium.values)
                ),
                contribution_rate=dataclasses.replace(
                    c.contribution_rate, values=tuple(m * v for v in c.contribution_rate.values)
                ),
            )
            for c in study.scenario.categories
        ),
    )
    space = load_space(SCENARIO, scaled, compile_inputs(scaled))
    rerun = run_design(space, unit_design(space, N, SEED), keep=RISK_OUTPUTS, progress=False)
    short = scale_premiums(study.cube, m)
    # the same sums in another order: agreement to rounding, 1e-9 of the revenue
    tol = 1e-9 * float(abs(rerun["premium_revenue"]).max())
    for v in ("balance", "premium_revenue", "flat_premium_revenue", "contribution_revenue"):
        np.testing.assert_allclose(short[v].values, rerun[v].values, rtol=0, atol=tol)
    assert not (abs(rerun["balance"]) < 1e3 * tol).any()  # so no deficit can flip by rounding
    assert (deficit_risk(short).table.p_deficit == deficit_risk(rerun).table.p_deficit).all()
    assert m != 1 and "reserve" not in short


def _with_categories_scaled(study: Study, multipliers: dict[str, float]) -> xr.Dataset:
    """The model re-run with the premiums of the named categories multiplied in the scenario."""

    def scaled(path, m):  # type: ignore[no-untyped-def]
        # the same form of path (given values): years past the scenario's own stay indexed
        return dataclasses.replace(path, values=tuple(m * v for v in path.values))

    sc = dataclasses.replace(
        study.scenario,
        categories=tuple(
            dataclasses.replace(
                c,
                flat_premium=scaled(c.flat_premium, multipliers[c.name]),
                contribution_rate=scaled(c.contribution_rate, multipliers[c.name]),
            )
            if c.name in multipliers
            else c
            for c in study.scenario.categories
        ),
    )
    space = load_space(SCENARIO, sc, compile_inputs(sc))
    return run_design(space, unit_design(space, N, SEED), progress=False)


#: a category paying a flat premium and one paying a contribution rate (Hai Phong's)
BY_CATEGORY = {"farmers": 1.3, "industrial": 0.7}


def test_premiums_by_category_equal_a_rerun_with_those_categories_scaled(study: Study) -> None:
    rerun = _with_categories_scaled(study, BY_CATEGORY)
    short = scale_categories(study.cube, BY_CATEGORY)
    # the same sums in another order: agreement to rounding, 1e-9 of the revenue
    tol = 1e-9 * float(abs(rerun["premium_revenue"]).max())
    for v in ("balance", "premium_revenue", "premium_revenue_by_category"):
        np.testing.assert_allclose(short[v].values, rerun[v].values, rtol=0, atol=tol)
    assert not (abs(rerun["balance"]) < 1e3 * tol).any()  # so no deficit can flip by rounding
    assert (deficit_risk(short).table.p_deficit == deficit_risk(rerun).table.p_deficit).all()
    # the categories moved the risk, and not as the same multiplier on every premium would
    assert (deficit_risk(short).table.p_deficit != study.risk.table.p_deficit).any()
    assert "flat_premium_revenue" not in short and "reserve" not in short


def test_the_cli_takes_multipliers_by_category(
    study: Study, capsys: pytest.CaptureFixture[str]
) -> None:
    text = ",".join(f"{c}={m!r}" for c, m in BY_CATEGORY.items())
    deficits, known = _cli_counts(capsys, text)
    rerun = _with_categories_scaled(study, BY_CATEGORY)
    bal = rerun["balance"].transpose("draw", "year").values
    assert deficits == (bal < 0).sum(axis=0).tolist() and known == [N] * bal.shape[1]
    for bad, says in (
        ("farmer=1.2", "no category farmer; its categories: dependants, farmers"),
        ("farmers=1.2,farmers=1.3", "category 'farmers' is given twice"),
        ("farmers=-1", "farmers: the premium multiplier must be a finite number of 0 or more"),
        ("farmers", "expected a number M or per category NAME=M"),
        ("farmers=1.2,=3", "'=3' is not NAME=M"),
    ):
        code = main(["risk", SCENARIO, SCENARIO, "-n", "10", "--premium-multiplier", bad])
        err = capsys.readouterr().err
        assert code == 2 and "--premium-multiplier" in err and says in err, (bad, err)
    code = main(
        ["risk", SCENARIO, SCENARIO, "-n", "10", "--adjust", "flat-premiums",
         "--premium-multiplier", "farmers=1.2"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "cannot go with --adjust flat-premiums" in err
    # a cube named where a scenario goes: said as such, not read as a scenario file
    code = main(["risk", "x.nc", SCENARIO, "-n", "10", "--premium-multiplier", "farmers=1.2"])
    err = capsys.readouterr().err
    assert code == 2 and "give either a cube alone, or a scenario and its distributions" in err


def test_the_multiplier_at_one_changes_nothing_and_bad_values_are_refused(study: Study) -> None:
    same = scale_premiums(study.cube, 1.0)
    xr.testing.assert_identical(same["balance"], study.cube["balance"])
    for bad in (-0.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite number of 0 or more"):
            scale_premiums(study.cube, bad)


def test_the_cli_refuses_a_bad_multiplier_before_any_work(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["risk", SCENARIO, SCENARIO, "-n", "10", "--premium-multiplier", "-2"])
    err = capsys.readouterr().err
    assert code == 2 and "--premium-multiplier" in err and "got -2" in err


def test_unknown_draws_are_never_counted_safe() -> None:
    b = np.array([[-1.0, np.nan, 5.0], [2.0, 3.0, np.inf]])
    s = np.array([[1.0, 1.0, 1.0], [1.0, np.nan, 1.0]])
    deficits, known = deficit_counts(b, s, 0.5)
    # draw 0: -1.5, unknown, 4.5; draw 1: 1.5, unknown (0.5 - 1) * NaN, inf (unknown)
    assert deficits.tolist() == [1, 0, 0] and known.tolist() == [2, 0, 1]


def test_a_big_study_embeds_a_prefix_within_the_limit() -> None:
    assert embedded_draws(1000, 5) == 1000
    k = embedded_draws(10**6, 30)
    assert 16 * 30 * k <= 3_000_000 < 16 * 30 * (k + 1)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, study: Study) -> Path:
    target = tmp_path_factory.mktemp("whatif") / "report.html"
    target.write_text(render_html(study), encoding="utf-8")
    return target


_READ = """() => [...document.querySelectorAll('#whatif-table tbody tr')].map(
  r => [Number(r.dataset.year), Number(r.dataset.deficits), Number(r.dataset.known),
        r.cells[1].textContent])"""


@pytest.mark.parametrize("width", [1400, 800])
def test_the_slider_gives_the_clis_counts(
    browser: Any, page: Path, study: Study, capsys: pytest.CaptureFixture[str], width: int
) -> None:
    tab, errors = open_tab(browser, page.as_uri(), width, 900)
    at_one = tab.evaluate(_READ)
    # at M = 1 the slider repeats the report's own table (all draws are embedded)
    t = study.risk.table
    assert [r[0] for r in at_one] == [int(y) for y in t.year.values]
    assert [r[1] / r[2] for r in at_one] == pytest.approx(t.p_deficit.values, abs=0)
    m = 1.23 if width == 1400 else 0.85
    tab.fill("#whatif-number", repr(m))  # fires 'input', as typing does
    rows = tab.evaluate(_READ)
    slider = tab.eval_on_selector("#whatif-range", "e => Number(e.value)")
    scroll = tab.evaluate("document.documentElement.scrollWidth")
    tab.close()
    deficits, known = _cli_counts(capsys, m)
    assert [r[1] for r in rows] == deficits and [r[2] for r in rows] == known
    assert rows != at_one  # the multiplier moved the figures
    assert slider == m and scroll <= width and errors == []
