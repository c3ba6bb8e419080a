"""The self-contained HTML report and its CSV tables (reports/html.py).

One small study is run per module; the page is parsed by a strict HTML5 parser, searched
for anything that would reach the network, and its numbers are compared with figures
computed here from the study's own cube. A headless Chromium loads the file and takes a
screenshot (skipped when Chromium is not installed; CI installs it).
"""

from __future__ import annotations

import base64
import importlib.metadata
import re
import subprocess
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
from schemerisk.reports import html as report_html
from schemerisk.reports.html import key_messages, render_html, write_report, write_tables

NAME = "hai_phong_1993_1997"
N, N_SOBOL, SEED = 2000, 256, 1
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM = Path("/usr/bin/chromium")
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
    for el in main:
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
        "url(",
    ):
        assert needle not in lowered, needle
    assert "<script" not in lowered  # nothing to run either


def test_every_image_is_an_embedded_png(tree: ET.Element) -> None:
    imgs = list(tree.iter("img"))
    assert len(imgs) == 7  # 4 fan charts, 2 Sobol' bar charts, indices over the years
    for img in imgs:
        src = img.get("src", "")
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.removeprefix("data:image/png;base64,"), validate=True)
        assert data.startswith(PNG_MAGIC)
        assert len(data) > 5000
        assert img.get("alt")


# --- contents -------------------------------------------------------------------------------


def test_page_has_every_section(tree: ET.Element, study: Study) -> None:
    ids = [h.get("id") for h in tree.iter("h2")]
    assert ids == list(SECTIONS)
    title = tree.find(".//title")
    assert title is not None and title.text == f"Deficit risk: {study.scenario.title}"
    assert len(_find_all(_section(tree, "outlook"), "img")) == 4
    assert len(_find_all(_section(tree, "drivers"), "img")) == 3


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
    plan = {r[0]: r[1:] for r in _rows(tables[1])}
    assert plan["Balance (million VND)"] == [f"{v / 1e6:,.1f}" for v in det.balance.values]
    assert plan["Premium revenue (million VND)"] == [
        f"{v / 1e6:,.1f}" for v in det.premium_revenue.values
    ]


def test_risk_table_has_the_numbers_of_the_risk_report(tree: ET.Element, study: Study) -> None:
    (table,) = _find_all(_section(tree, "risk"), "table")
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
        assert row[4] == f"{-bal[bal[:, i] < 0, i].mean() / 1e6:,.1f}"
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
    rows = _rows(table)
    assert [r[0] for r in rows] == [e.name for e in study.space.entries]
    assert [r[1] for r in rows] == [e.slot.path for e in study.space.entries]


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
    target.write_text("the old report", encoding="utf-8")

    def half_then_fail(self: Path, data: str, encoding: str | None = None) -> int:
        with open(self, "w", encoding=encoding) as fh:
            fh.write(data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        write_report(study, target)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "the old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # no partial file left


def test_write_tables_writes_five_csv_files(study: Study, tmp_path: Path) -> None:
    written = write_tables(study, tmp_path / "tables")
    names = sorted(p.name for p in written)
    assert names == sorted(
        [
            "deficit_risk.csv",
            "balance_quantiles.csv",
            "sobol_indices.csv",
            "priorities.csv",
            "uncertain_inputs.csv",
        ]
    )
    assert sorted(p.name for p in (tmp_path / "tables").iterdir()) == names
    risk = pd.read_csv(tmp_path / "tables" / "deficit_risk.csv", index_col="year")
    bal = study.cube.balance.transpose("draw", "year").values
    np.testing.assert_allclose(risk.p_deficit.values, (bal < 0).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(
        risk.required_premium_multiplier.values,
        study.risk.table.required_premium_multiplier.values,
        rtol=1e-12,
    )
    q = pd.read_csv(tmp_path / "tables" / "balance_quantiles.csv", index_col="year")
    assert list(q.columns) == ["p05", "p20", "p35", "p50", "p65", "p80", "p95"]
    np.testing.assert_allclose(q.p50.values, np.median(bal, axis=0), rtol=1e-12)
    np.testing.assert_allclose(q.p05.values, np.quantile(bal, 0.05, axis=0), rtol=1e-12)
    sob = pd.read_csv(tmp_path / "tables" / "sobol_indices.csv")
    groups = len(study.space.groups())
    assert len(sob) == 3 * groups * 5
    assert {"output", "input", "year", "S1", "S1_conf", "ST", "ST_conf"} <= set(sob.columns)
    pri = pd.read_csv(tmp_path / "tables" / "priorities.csv")
    assert len(pri) == groups * 5 and {"kind", "rank", "evppi"} <= set(pri.columns)
    inputs = pd.read_csv(tmp_path / "tables" / "uncertain_inputs.csv")
    assert list(inputs.entry) == [e.name for e in study.space.entries]


# --- a real browser -------------------------------------------------------------------------


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="headless Chromium is not installed at /usr/bin/chromium"
)
def test_chromium_renders_the_page(page: str, study: Study, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text(page, encoding="utf-8")
    shot = tmp_path / "shot.png"
    proc = _chromium(
        [
            "--virtual-time-budget=5000",
            f"--screenshot={shot}",
            "--window-size=1200,4000",
            target.as_uri(),
        ],
        tmp_path / "profile-shot",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.exists()
    data = shot.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 50_000
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1200, 4000)
        assert len(im.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 100  # not a blank page
    page_errors = [
        line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line
    ]
    assert page_errors == []

    dom = _chromium(["--dump-dom", target.as_uri()], tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    title = f"<title>Deficit risk: {study.scenario.title}".replace("&", "&amp;")
    assert title in dom.stdout
    assert dom.stdout.count("<h2 id=") == len(SECTIONS)
    assert not [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


#: measures the layout in the browser (added to a copy of the page by the test, not by the report):
#: how many lines the first cell of each row of the risk and inputs tables takes, and whether
#: anything sticks out of <main>
_MEASURE = """<script>
const out = [];
for (const id of ['risk', 'inputs']) {
  const table = document.querySelector('#' + id + ' ~ table');
  for (const td of table.querySelectorAll('tbody td:first-child')) {
    const range = document.createRange();
    range.selectNodeContents(td);
    out.push(id + ':' + td.textContent + ':' + range.getClientRects().length);
  }
}
const main = document.querySelector('main');
document.body.setAttribute('data-lines', out.join(' '));
document.body.setAttribute('data-overflow', String(main.scrollWidth - main.clientWidth));
</script></body>"""


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="headless Chromium is not installed at /usr/bin/chromium"
)
def test_chromium_keeps_years_and_entry_names_on_one_line(page: str, tmp_path: Path) -> None:
    target = tmp_path / "measured.html"
    target.write_text(page.replace("</body>", _MEASURE), encoding="utf-8")
    dom = _chromium(
        ["--window-size=1200,4000", "--dump-dom", target.as_uri()], tmp_path / "profile-measure"
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    lines = re.search(r'data-lines="([^"]*)"', dom.stdout)
    overflow = re.search(r'data-overflow="(-?\d+)"', dom.stdout)
    assert lines is not None and overflow is not None
    cells = [item.rsplit(":", 1) for item in lines.group(1).split(" ")]
    assert len([c for c in cells if c[0].startswith("risk:")]) == 5
    assert int(overflow.group(1)) <= 0  # nothing sticks out of the page
    wrapped = [name for name, count in cells if int(count) != 1]
    assert wrapped == [], wrapped
