"""Every number in the report's tables is the model's own: each cell of the scenario and risk
tables is checked against a projection made here and against the Monte Carlo draws, for every
worked scenario that ships with distributions.

The figures are recomputed independently of the report's code: insured shares as members over
population of the deterministic projection, probabilities and deficit sizes by brute force on the
cube's balances.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import html5lib
import numpy as np
import pytest
import xarray as xr

from schemerisk.analysis.study import Study, run_study
from schemerisk.model import project
from schemerisk.reports import html as report_html
from schemerisk.reports.html import render_html
from schemerisk.scenario import Scenario, load_scenario
from schemerisk.scenario.builtin import builtin_names

#: every built-in scenario that has a built-in distributions file of the same name
WORKED = sorted(set(builtin_names("scenarios")) & set(builtin_names("distributions")))
N, N_SOBOL, SEED = 400, 16, 3


def test_every_worked_scenario_is_covered() -> None:
    # the four worked examples with distributions; hai_phong_1993 has none (no report to make)
    assert len(WORKED) >= 4 and "khanh_hoa_2020_2030" in WORKED


#: (scenario, horizon): every worked scenario over its own years, and Hai Phong extended past them
CASES = [(name, None) for name in WORKED] + [("hai_phong_1993_1997", 8)]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-{c[1] or 'own'}")
def made(request: pytest.FixtureRequest) -> tuple[Scenario, Study, ET.Element]:
    name, horizon = request.param
    study = run_study(
        name,
        name,
        n=N,
        n_sobol=N_SOBOL,
        n_sobol_max=N_SOBOL,
        seed=SEED,
        horizon=horizon,
        progress=False,
    )
    with pytest.MonkeyPatch.context() as mp:
        # the tables are under test here: skip drawing the charts (test_html.py checks those)
        mp.setattr(report_html, "_axes_figure", lambda *args: None)
        mp.setattr(report_html, "_figure", lambda *args: "")
        page = render_html(study)
    tree = html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False)
    sc = load_scenario(name)
    return (sc if horizon is None else sc.with_horizon(horizon)), study, tree


def _text(el: ET.Element) -> str:
    return re.sub(r"\s+", " ", "".join(el.itertext())).strip()


def section_tables(tree: ET.Element, ident: str) -> list[ET.Element]:
    """The tables of ``<main>`` between ``<h2 id=ident>`` and the next ``<h2>``."""
    main = tree.find(".//main")
    assert main is not None
    out: list[ET.Element] = []
    inside = False
    for el in main:
        if el.tag == "h2":
            inside = el.get("id") == ident
            continue
        if inside:
            out += list(el.iter("table"))
    return out


def read_table(table: ET.Element) -> tuple[list[str], list[list[str]]]:
    """The header cells and the body rows of a table, as text."""
    head = [_text(th) for th in table.iter("th") if th in next(iter(table.iter("tr")))]
    rows = [[_text(td) for td in tr.findall("td")] for tr in table.iter("tr") if tr.findall("td")]
    return head, rows


def fmt_millions(x: float) -> str:
    return f"{x / 1e6:,.1f}"


def test_scenario_tables_are_the_projection(made: tuple[Scenario, Study, ET.Element]) -> None:
    sc, _study, tree = made
    det = project(sc)  # a projection made here, not the study's
    years = [int(y) for y in det.year.values]
    y0, y1 = years[0], years[-1]
    cats, plan = section_tables(tree, "scenario")[:2]
    head, rows = read_table(cats)
    assert head[:4] == [
        "Category",
        f"Population {y0}",
        f"Insured share {y0} / {y1}",
        f"Members {y0} / {y1}",
    ]
    assert len(rows) == det.sizes["category"]
    for row, c in zip(rows, det.category.values, strict=True):
        pop = det.population.sel(category=c)
        mem = det.members.sel(category=c)
        share = mem / pop  # the share the model used, whatever the file or a target said
        prem = det.premium.sel(category=c)
        assert row[1] == f"{float(pop.sel(year=y0)):,.0f}"
        assert row[2] == f"{float(share.sel(year=y0)):.1%} / {float(share.sel(year=y1)):.1%}"
        assert row[3] == f"{float(mem.sel(year=y0)):,.0f} / {float(mem.sel(year=y1)):,.0f}"
        assert row[4] == f"{float(prem.sel(year=y0)):,.0f} / {float(prem.sel(year=y1)):,.0f}"
    head, rows = read_table(plan)
    assert head[0] == "Year"
    assert [r[0] for r in rows] == [str(y) for y in years]
    revenue = det.premium_revenue.values
    spent = det.total_expenditure.values
    for i, row in enumerate(rows):
        assert row[1] == f"{float(det.members.sum('category')[i]) / 1e3:,.1f}"
        assert row[2] == fmt_millions(revenue[i])
        assert row[3] == fmt_millions(spent[i])
        assert row[4] == fmt_millions(revenue[i] - spent[i])
        assert row[5] == f"{(revenue[i] - spent[i]) / revenue[i]:.1%}"


def test_khanh_hoa_shows_the_shares_after_the_coverage_target() -> None:
    # the example: the file says 72 % for household members; the target lifts it
    det = project("khanh_hoa_2020_2030")
    share = det.members / det.population
    hh = [
        c
        for c in det.category.values
        if "household" in str(det.category_label.sel(category=c)).lower()
    ]
    assert hh, "no household category in Khanh Hoa"
    got = share.sel(category=hh[0])
    assert float(got[0]) == pytest.approx(0.756, abs=5e-4)  # rounding of the 75.6 %
    assert float(got[-1]) == pytest.approx(0.962, abs=5e-4)


def _risk_by_brute_force(cube: xr.Dataset, t: int) -> dict[str, float]:
    bal = cube.balance.transpose("draw", "year").values[:, t]
    rev = cube.premium_revenue.transpose("draw", "year").values[:, t]
    n = bal.size
    loss = np.sort(np.maximum(-bal, 0.0))[::-1]
    tail = 0.05 * n  # 20 draws at N = 400: a whole number, no boundary weight
    es = loss[: round(tail)].sum() / tail
    share = np.sort(np.maximum(-bal, 0.0) / rev)[::-1]
    return {
        "p": float(np.mean(bal < 0)),
        "mean_deficit": float(np.maximum(-bal, 0.0).mean()),
        "es": float(es),
        "es_share": float(share[: round(tail)].sum() / tail),
    }


def test_risk_table_is_the_draws(made: tuple[Scenario, Study, ET.Element]) -> None:
    _, study, tree = made
    table, slider = section_tables(tree, "risk")  # the risk table, then the premium slider's
    assert slider.get("id") == "whatif-table"
    head, rows = read_table(table)
    years = [int(y) for y in study.cube.year.values]
    assert [r[0] for r in rows] == [str(y) for y in years]
    col = {h.split(" (")[0]: i for i, h in enumerate(head)}
    for t, row in enumerate(rows):
        want = _risk_by_brute_force(study.cube, t)
        assert row[col["P(deficit)"]] == f"{want['p']:.1%}"
        assert row[col["Expected deficit"]] == fmt_millions(want["mean_deficit"])
        assert row[col["Worst-5 % average"]] == fmt_millions(want["es"])
        assert row[col["Worst-5 % average, % of revenue"]] == f"{want['es_share']:.1%}"


def test_the_report_states_how_the_horizon_was_extended(
    made: tuple[Scenario, Study, ET.Element],
) -> None:
    sc, _study, tree = made
    notes = [_text(p) for p in tree.iter("p") if p.get("id") == "extension"]
    if sc.extension:
        assert notes == [
            "1998-2001 extend the scenario: flat premiums and subsidy amounts indexed "
            "to domestic prices (each projection's own inflation path), shares and rates hold their "
            "1997 values (paths written as targets follow them)."
        ]
    else:
        assert notes == []
