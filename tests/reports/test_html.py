"""The self-contained HTML report and its CSV tables (reports/html.py).

One small study is run per module; the page is parsed by a strict HTML5 parser, searched
for anything that would reach the network, and its numbers are compared with figures
computed here from the study's own cube. A headless Chromium loads the page in test_browser.py.
"""

from __future__ import annotations

import base64
import importlib.metadata
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import html5lib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from schemerisk import __version__
from schemerisk.analysis.study import Study, run_study
from schemerisk.model import project
from schemerisk.output import GENERATOR, OutputError
from schemerisk.reports import html as report_html
from schemerisk.reports.html import (
    TABLE_COLUMNS,
    key_messages,
    render_html,
    write_report,
    write_tables,
)

NAME = "hai_phong_1993_1997"
N, N_SOBOL, SEED = 2000, 256, 1
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SECTIONS = ("scenario", "outlook", "risk", "drivers", "priorities", "inputs", "provenance")


@pytest.fixture(scope="module")
def study() -> Study:
    return run_study(n=N, n_sobol=N_SOBOL, n_sobol_max=N_SOBOL, seed=SEED, progress=False)


@pytest.fixture(scope="module")
def page(study: Study) -> str:
    return render_html(study)


@pytest.fixture(scope="module")
def tree(page: str) -> ET.Element:
    return html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False)


def _text(el: ET.Element) -> str:
    return re.sub(r"\s+", " ", "".join(el.itertext())).strip()


def _section(tree: ET.Element, ident: str) -> list[ET.Element]:
    """The elements of ``<main>`` from ``<h2 id=ident>`` up to the next ``<h2>``."""
    main = tree.find(".//main")
    assert main is not None
    out: list[ET.Element] = []
    inside = False
    # a section printed on landscape pages sits in a <div class="landscape">, its heading too
    flat = [c for el in main for c in (el if el.get("class") == "landscape" else [el])]
    for el in flat:
        if el.tag == "h2":
            inside = el.get("id") == ident
            continue
        if inside:
            out.append(el)
    assert out, f"no section {ident!r}"
    return out


def _find_all(elements: list[ET.Element], tag: str) -> list[ET.Element]:
    return [found for el in elements for found in el.iter(tag)]  # iter() includes el itself


def _rows(table: ET.Element) -> list[list[str]]:
    return [[_text(td) for td in tr.findall("td")] for tr in table.iter("tr") if tr.findall("td")]


# --- validity and self-containment --------------------------------------------------------


def test_page_is_valid_html5(page: str) -> None:
    parser = html5lib.HTMLParser(strict=True)
    parser.parse(page)  # raises ParseError on the first error
    assert parser.errors == []
    assert page.startswith("<!DOCTYPE html>")


def test_page_makes_no_external_reference(page: str) -> None:
    lowered = page.lower()
    for needle in (
        'src="http',
        "src='http",
        'href="http',
        "<link",
        "<script src",
        "@import",
    ):
        assert needle not in lowered, needle
    # the inline charts point at their own clip paths (url(#...)), never at a file or a site
    assert re.findall(r"url\((?!#)", lowered) == []
    # one script runs, the premium slider's, inline; the other holds its data (JSON)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)
    assert [attrs for attrs, _ in scripts] == [' type="application/json" id="whatif-data"', ""]
    code = scripts[1][1]
    for needle in ("fetch(", "XMLHttpRequest", "http", "import(", "eval("):  # no network, no code
        assert needle not in code.replace("http://www.w3.org/2000/svg", ""), needle


#: the charts of the page, by section: fan charts (balance, balance/revenue, revenue and
#: expenditure, membership, premiums); P(deficit); tornado and Sobol' charts
FIGURES = {
    "outlook": [
        "balance_fan",
        "balance_share_fan",
        "revenue_expenditure_fan",
        "membership_fan",
        "premiums",
    ],
    "risk": ["p_deficit"],
    "drivers": ["tornado", "sobol_balance", "sobol_deficit", "sobol_over_years"],
}


def _svg_tag(el: ET.Element, name: str) -> bool:
    return el.tag == name or el.tag.endswith("}" + name)


def test_every_chart_is_inline_svg_with_selectable_text_and_a_download_link(
    tree: ET.Element,
) -> None:
    for ident, names in FIGURES.items():
        figures = _find_all(_section(tree, ident), "figure")
        assert [f.get("id") for f in figures] == [f"fig-{n}" for n in names]
        for fig, name in zip(figures, names, strict=True):
            (svg,) = [el for el in fig if _svg_tag(el, "svg")]
            assert svg.get("aria-label")
            texts = ["".join(t.itertext()) for t in svg.iter() if _svg_tag(t, "text")]
            assert sum(len(t.strip()) > 0 for t in texts) >= 5, name  # axis labels as text
            (link,) = fig.iter("a")
            assert link.get("download") == f"{name}.svg"
            href = link.get("href", "")
            assert href.startswith("data:image/svg+xml;base64,")
            data = base64.b64decode(href.split(",", 1)[1], validate=True).decode("utf-8")
            assert data.startswith("<?xml") and "<svg" in data
            ET.fromstring(data)  # the downloaded file is well-formed XML on its own
    # ids are unique on the page (the charts do not share clip paths)
    ids = [el.get("id") for el in tree.iter() if el.get("id")]
    assert len(ids) == len(set(ids))
    assert not list(tree.iter("img"))


def test_tornado_is_the_model_run_one_input_at_a_time(study: Study) -> None:
    from schemerisk.uncertainty.montecarlo import run_design
    from schemerisk.uncertainty.sampling import Design, Sampler

    t = study.tornado
    assert t is not None
    space = study.space
    # an input alone in its column and drawn once: the design row with u = 0.05 in its column
    # and 0.5 elsewhere is the same projection, made through the Monte Carlo path
    name = "admission_rate"
    assert all(name not in b.entries for b in space.correlations)
    rows = np.full((3, space.n_columns), 0.5)
    rows[1, space.columns[name]] = 0.05
    rows[2, space.columns[name]] = 0.95
    cube = run_design(
        space, Design(Sampler.LHS, 0, 3, space.n_columns, rows), keep=["balance"], progress=False
    )
    bal = cube.balance.transpose("draw", "year").values
    np.testing.assert_allclose(t.balance_median.values, bal[0], rtol=1e-9)
    np.testing.assert_allclose(t.balance_low.sel(input=name).values, bal[1], rtol=1e-9)
    np.testing.assert_allclose(t.balance_high.sel(input=name).values, bal[2], rtol=1e-9)
    assert list(t.input.values) == [e.name for e in space.entries]


# --- contents -------------------------------------------------------------------------------


def test_page_has_every_section(tree: ET.Element, study: Study) -> None:
    ids = [h.get("id") for h in tree.iter("h2")]
    assert ids == list(SECTIONS)
    title = tree.find(".//title")
    assert title is not None and title.text == f"Deficit risk: {study.scenario.title}"
    assert len(_find_all(_section(tree, "outlook"), "figure")) == 5
    assert len(_find_all(_section(tree, "drivers"), "figure")) == 4


def test_key_findings(tree: ET.Element, study: Study) -> None:
    key = tree.find(".//div[@class='key']")
    assert key is not None
    items = [_text(li) for li in key.iter("li")]
    assert items == [re.sub(r"\s+", " ", m) for m in key_messages(study)]
    k = float(study.risk.table.required_premium_multiplier.sel(year=1997))
    assert any(f"would have to be {k:.2f} times the plan" in i for i in items)
    bal = study.cube.balance.sel(year=1997).values
    assert any(f"the chance of a deficit in 1997 is {np.mean(bal < 0):.0%}" in i for i in items)


def test_scenario_summary_shows_the_deterministic_projection(
    tree: ET.Element, study: Study
) -> None:
    sec = _section(tree, "scenario")
    tables = _find_all(sec, "table")
    assert len(tables) == 2
    cats = _rows(tables[0])
    assert [r[0] for r in cats] == [c.label for c in study.scenario.categories]
    det = project(NAME)
    plan = _rows(tables[1])  # years as rows (test_report_numbers checks every cell)
    assert [r[0] for r in plan] == [str(int(y)) for y in det.year.values]
    assert [r[4] for r in plan] == [f"{v / 1e6:,.1f}" for v in det.balance.values]
    assert [r[2] for r in plan] == [f"{v / 1e6:,.1f}" for v in det.premium_revenue.values]


def test_risk_table_has_the_numbers_of_the_risk_report(tree: ET.Element, study: Study) -> None:
    table, slider = _find_all(_section(tree, "risk"), "table")  # the risk table, the slider's
    assert slider.get("id") == "whatif-table"
    rows = _rows(table)
    bal = study.cube.balance.transpose("draw", "year").values
    t = study.risk.table
    assert [r[0] for r in rows] == [str(int(y)) for y in t.year.values]
    for i, row in enumerate(rows):
        k = int((bal[:, i] < 0).sum())
        p = k / bal.shape[0]
        ci = stats.binomtest(k, bal.shape[0]).proportion_ci(method="wilson")
        assert row[1] == f"{p:.1%}"
        assert row[2] == f"{np.sqrt(p * (1 - p) / bal.shape[0]):.2%}"
        assert row[3] == f"{ci.low:.1%} to {ci.high:.1%}"
        assert row[4] == f"{float(t.expected_deficit[i]) / 1e6:,.1f}"
        assert row[4] == f"{np.maximum(-bal[:, i], 0).mean() / 1e6:,.1f}"  # surplus as zero
        assert row[5] == f"{float(t.expected_shortfall[i]) / 1e6:,.1f}"
        assert row[6] == f"{float(t.expected_shortfall_share[i]):.1%}"
        assert row[7] == f"{float(t.required_premium_multiplier[i]):.3f}"
    text = " ".join(_text(e) for e in _section(tree, "risk"))
    assert f"{np.any(bal < 0, axis=1).mean():.1%}" in text  # at least one deficit


def test_drivers_section_warns_about_imprecise_indices(tree: ET.Element, study: Study) -> None:
    assert study.warnings  # N = 256 is too small for 10 % intervals
    warns = [e for e in _section(tree, "drivers") if e.get("class") == "warn"]
    assert [_text(w) for w in warns] == [re.sub(r"\s+", " ", w) for w in study.warnings]


def test_priorities_section_has_the_ranking_sentences(tree: ET.Element, study: Study) -> None:
    sec = _section(tree, "priorities")
    items = [_text(li) for li in _find_all(sec, "li")]
    expected = [s.split(". ", 1)[1] for s in study.priorities.sentences(1997, top=5)]
    expected += study.priorities.environment_sentences(1997)
    assert items == expected
    assert all("Learning" in i and "million VND" in i for i in items[:5])
    data, env = _find_all(sec, "table")
    assert [r[1] for r in _rows(data)] == study.priorities.ranking(1997)
    assert [r[1] for r in _rows(env)] == study.priorities.environment(1997)
    evpi = float(study.priorities.voi.table.evpi.sel(year=1997)) / 1e6
    assert f"worth about {evpi:,.1f} million VND" in " ".join(_text(e) for e in sec)


def test_inputs_section_lists_every_uncertain_input(tree: ET.Element, study: Study) -> None:
    (table,) = _find_all(_section(tree, "inputs"), "table")
    firsts = [tr.findall("td")[0] for tr in table.iter("tr") if tr.get("class") == "input"]
    assert [_text(td.find("span")) for td in firsts] == [e.name for e in study.space.entries]
    assert [_text(td.find("code")) for td in firsts] == [e.slot.path for e in study.space.entries]


def test_what_was_assumed_shows_the_plan_against_the_distribution_as_written(
    tree: ET.Element, study: Study
) -> None:
    (table,) = _find_all(_section(tree, "inputs"), "table")
    trs = [tr for tr in table.iter("tr") if tr.findall("td")]
    rows: dict[str, list[str]] = {}
    for tr, after in zip(trs, [*trs[1:], None], strict=True):
        if tr.get("class") != "input":
            continue
        first = tr.findall("td")[0]
        name, path = _text(first.find("span")), _text(first.find("code"))
        entry = next(e for e in study.space.entries if e.name == name)
        assert path == entry.slot.path  # the scenario entry under the input's name
        # how it is drawn over time and its source in the row below, across the table
        assert after is not None and after.get("class") == "source"
        below = _text(after)
        assert below.startswith(
            {
                "once": "Drawn once",
                "each_year": "Drawn afresh each year",
                "ar1": "Drawn each year as an AR(1)",
            }[entry.time.value]
        )
        assert (f"(persistence {entry.persistence:g})" in below) == (entry.time.value == "ar1")
        if entry.note:
            assert below.endswith(" ".join(f"Source / rationale: {entry.note}".split()))
        rows[name] = [name, *[_text(td) for td in tr.findall("td")[1:]]]
    # the distributions file writes domestic inflation as {lognormal, p05: 0.06, p95: 0.45}
    # against the scenario's 15 %/yr, and the admission rate as a PERT (0.065, 0.0713, 0.085)
    # against the scenario's 0.08: the user's own numbers, not the fitted parameters
    assert rows["domestic_inflation"][1:5] == ["0.15", "0.06", "0.164 (median)", "0.45"]
    assert rows["admission_rate"][1] == "0.08"
    assert rows["admission_rate"][3] == "0.0713 (mode)"
    pert = stats.beta(1 + 4 * (0.0713 - 0.065) / 0.02, 1 + 4 * (0.085 - 0.0713) / 0.02)
    assert rows["admission_rate"][2] == f"{0.065 + 0.02 * pert.ppf(0.05):.3g}"
    assert rows["admission_rate"][4] == f"{0.065 + 0.02 * pert.ppf(0.95):.3g}"
    assert rows["admission_rate"][6] == "no (97% point)"  # 0.08 > p95 = 0.0790
    assert rows["domestic_inflation"][6].startswith("yes")
    # voluntary uptake multiplies the plan's shares: plan x1, PERT (0.25, 0.5, 1)
    assert rows["voluntary_uptake_farmers"][1] == "x1 (multiplier)"
    assert rows["voluntary_uptake_farmers"][6].startswith("no")
    # the printed percentiles are those of the draws (2000 draws: the share below the 5 %
    # point has s.d. 0.5 %; +-2.5 % covers that and rounding to three figures)
    for e in study.space.entries:
        col = study.cube[f"input_{e.name}"].values.ravel()
        for k, p in ((2, 0.05), (4, 0.95)):
            assert abs(np.mean(col <= float(rows[e.name][k].replace(",", ""))) - p) < 0.025, e.name
    # every row has its small plot, with the plan marked by a line
    svgs = [svg for svg in table.iter() if svg.tag.endswith("svg")]
    assert len(svgs) == len(study.space.entries)
    assert all(any(el.tag.endswith("line") for el in svg.iter()) for svg in svgs)


def test_key_findings_say_why_the_fan_is_away_from_the_plan(tree: ET.Element, study: Study) -> None:
    key = tree.find(".//div[@class='key']")
    assert key is not None
    items = [_text(li) for li in key.iter("li")]
    bal = study.cube.balance.sel(year=1997).values
    plan = float(study.deterministic.balance.sel(year=1997))
    assert plan > 0 > np.median(bal)  # the plan in surplus, most projections in deficit
    (why,) = [i for i in items if "not centred on the plan" in i]
    assert f"lies above {np.mean(bal < plan):.0%} of the projections" in why
    assert "how much more the insured use services (plan 1, mode 1.12)" in why


def test_provenance_gives_seed_n_and_versions(tree: ET.Element, study: Study) -> None:
    (table,) = _find_all(_section(tree, "provenance"), "table")
    prov = {r[0]: r[1] for r in _rows(table)}
    assert prov["Seed"] == str(SEED)
    assert prov["Monte Carlo"] == f"{N:,} draws, sampler mc"
    assert f"N = {N_SOBOL}" in prov["Sobol' analysis"]
    assert f"seed {SEED + 1}" in prov["Sobol' analysis"]
    assert prov["Scenario SHA-256"] == study.scenario.sha256
    assert prov["Distributions SHA-256"] == study.space.sha256
    assert prov["Version of schemerisk"] == __version__
    for pkg in ("numpy", "scipy", "xarray", "SALib", "numba"):
        assert prov[f"Version of {pkg}"] == importlib.metadata.version(pkg)


# --- files ----------------------------------------------------------------------------------


def test_write_report_writes_the_page(
    study: Study, page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_html, "render_html", lambda s: page)
    target = tmp_path / "sub" / "report.html"
    assert write_report(study, target) == target
    assert target.read_text(encoding="utf-8") == page
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]


def test_write_report_leaves_nothing_when_rendering_fails(
    study: Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(s: Study) -> str:
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(report_html, "render_html", fail)
    target = tmp_path / "report.html"
    with pytest.raises(RuntimeError, match="rendering failed"):
        write_report(study, target)
    assert list(tmp_path.iterdir()) == []
    target.write_text("the old report", encoding="utf-8")
    with pytest.raises(RuntimeError):
        write_report(study, target)
    assert target.read_text(encoding="utf-8") == "the old report"


def test_write_report_leaves_the_old_page_when_writing_fails(
    study: Study, page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_html, "render_html", lambda s: page)
    target = tmp_path / "report.html"
    old = f"{GENERATOR}the old report"  # a page of an earlier run: --overwrite may replace it
    target.write_text(old, encoding="utf-8")

    def half_then_fail(self: Path, data: str, encoding: str | None = None) -> int:
        with open(self, "w", encoding=encoding) as fh:
            fh.write(data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", half_then_fail)
    with pytest.raises(OutputError, match="disk full"):  # the writer names the destination
        write_report(study, target, overwrite=True)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # no partial file left


def test_write_tables_writes_five_csv_files(study: Study, tmp_path: Path) -> None:
    written = write_tables(study, tmp_path / "tables")
    names = sorted(p.name for p in written)
    assert names == sorted(TABLE_COLUMNS)
    assert sorted(p.name for p in (tmp_path / "tables").iterdir()) == names
    for name in names:  # every header is a documented name, with its unit in brackets
        frame = pd.read_csv(tmp_path / "tables" / name)
        for header in frame.columns:
            col, _, unit = header.partition(" [")
            assert col in TABLE_COLUMNS[name], f"{name}: undocumented column {col!r}"
            want = TABLE_COLUMNS[name][col][0].format(cur="VND")
            assert unit.rstrip("]") == want, header
    risk = pd.read_csv(tmp_path / "tables" / "deficit_risk.csv", index_col="year")
    bal = study.cube.balance.transpose("draw", "year").values
    # rounded to six decimals (shares) and whole VND (amounts)
    np.testing.assert_allclose(risk["p_deficit [1]"].values, (bal < 0).mean(axis=0), atol=5e-7)
    np.testing.assert_allclose(
        risk["expected_deficit [VND/yr]"].values, np.maximum(-bal, 0).mean(axis=0), atol=0.5
    )
    np.testing.assert_allclose(
        risk["required_premium_multiplier [1]"].values,
        study.risk.table.required_premium_multiplier.values,
        atol=5e-7,
    )
    text = (tmp_path / "tables" / "deficit_risk.csv").read_text()
    assert not re.search(r"\d\.\d{7,}", text)  # no 17-digit floats
    q = pd.read_csv(tmp_path / "tables" / "balance_quantiles.csv", index_col="year")
    assert list(q.columns) == [f"p{p:02d} [VND/yr]" for p in (5, 20, 35, 50, 65, 80, 95)]
    np.testing.assert_allclose(q["p50 [VND/yr]"].values, np.median(bal, axis=0), atol=0.5)
    np.testing.assert_allclose(q["p05 [VND/yr]"].values, np.quantile(bal, 0.05, axis=0), atol=0.5)
    sob = pd.read_csv(tmp_path / "tables" / "sobol_indices.csv")
    groups = len(study.space.groups())
    assert len(sob) == 3 * groups * 5
    assert {"output", "input", "year", "S1 [1]", "ST [1]"} <= set(sob.columns)
    pri = pd.read_csv(tmp_path / "tables" / "priorities.csv")
    assert len(pri) == groups * 5 and {"kind", "rank", "evppi [VND]"} <= set(pri.columns)
    inputs = pd.read_csv(tmp_path / "tables" / "uncertain_inputs.csv")
    assert list(inputs.entry) == [e.name for e in study.space.entries]
    row = inputs.set_index("entry").loc["domestic_inflation"]
    assert (row["plan [as written]"], row["p05 [as written]"], row["p95 [as written]"]) == (
        0.15,
        0.06,
        0.45,
    )  # the file's own numbers


def test_readme_documents_every_csv_column() -> None:
    from schemerisk.reports.html import SECOND_ORDER_COLUMNS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for name, columns in {**TABLE_COLUMNS, **SECOND_ORDER_COLUMNS}.items():
        (row,) = [line for line in readme.splitlines() if line.startswith(f"| `{name}` ")]
        for col, (unit, _) in columns.items():
            shown = f"`{col}`" + (f" [{unit.replace('{cur}', 'CUR')}]" if unit else "")
            assert shown in row, (name, col)
