"""The report in a real browser: Debian's headless Chromium, driven by Playwright.

At 1400 and 800 px wide the page must not be wider than the window (a wide table scrolls inside
its own box), no number may be split across lines, and the page logs no error. Printed to PDF,
every page is A4, the uncertain assumptions on landscape pages. The study runs over eleven years
(Hai Phong extended to 2003), the case where numbers used to be split.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from schemerisk.analysis.study import Study, run_study
from schemerisk.reports.html import render_comparison, render_html

CHROMIUM = Path("/usr/bin/chromium")
#: the launch arguments of a sandbox without network, GPU or first-run chores
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: A4 in PDF points (210 x 297 mm at 72 points per inch); Chromium rounds to a few hundredths
A4 = (595.28, 841.89)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="headless Chromium is not installed at /usr/bin/chromium"
)

#: measures the page in the browser: widths, and every table cell except free-text ones whose
#: text takes more than one line
_MEASURE = """() => {
  const split = [];
  for (const td of document.querySelectorAll('td:not(.t), th')) {
    if (td.tagName === 'TH') continue;
    const range = document.createRange();
    range.selectNodeContents(td);
    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    if (lines.size > 1) split.push(td.textContent);
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    split: split,
    tables: document.querySelectorAll('table').length,
    charts: [...document.querySelectorAll('figure > svg')].filter(
      e => e.getBoundingClientRect().width > 200).length,
  };
}"""


@pytest.fixture(scope="module")
def studies() -> list[Study]:
    """Hai Phong extended to 2003 (eleven years), and over its own five years."""
    return [
        run_study(n=1000, n_sobol=32, n_sobol_max=32, seed=2, horizon=10, progress=False),
        run_study(n=400, n_sobol=16, n_sobol_max=16, seed=3, progress=False),
    ]


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory, studies: list[Study]) -> Path:
    target = tmp_path_factory.mktemp("browser") / "report.html"
    target.write_text(render_html(studies[0]), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def compare_file(tmp_path_factory: pytest.TempPathFactory, studies: list[Study]) -> Path:
    target = tmp_path_factory.mktemp("browser") / "compare.html"
    target.write_text(render_comparison(studies), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser: Any, page_file: Path, width: int) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    return page, errors


@pytest.mark.parametrize("which", ["report", "comparison"])
@pytest.mark.parametrize("width", [1400, 800])
def test_the_page_fits_the_window_and_splits_no_number(
    browser: Any, page_file: Path, compare_file: Path, width: int, which: str
) -> None:
    page, errors = _open(browser, page_file if which == "report" else compare_file, width)
    got = page.evaluate(_MEASURE)
    page.close()
    assert got["tables"] >= (5 if which == "report" else 2)
    assert got["charts"] >= (10 if which == "report" else 3)  # the charts are drawn (inline SVG)
    assert got["innerWidth"] == width
    assert got["scrollWidth"] <= got["innerWidth"], got  # nothing sticks out of the window
    assert got["split"] == [], got["split"]
    assert errors == []


def test_printed_on_a4_with_landscape_pages_for_the_wide_section(
    browser: Any, page_file: Path
) -> None:
    page, errors = _open(browser, page_file, 1400)
    page.emulate_media(media="print")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    page.close()
    assert errors == []
    assert pdf.startswith(b"%PDF")
    boxes = [
        (float(w), float(h)) for w, h in re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    ]
    assert len(boxes) >= 3
    portrait = [b for b in boxes if b == pytest.approx(A4, abs=0.5)]
    landscape = [b for b in boxes if b == pytest.approx(A4[::-1], abs=0.5)]
    assert len(portrait) + len(landscape) == len(boxes), boxes  # every page is A4
    assert portrait and landscape


def test_comparison_puts_each_scenarios_risk_side_by_side(
    studies: list[Study], compare_file: Path
) -> None:
    import html5lib

    tree = html5lib.parse(
        compare_file.read_text(encoding="utf-8"), treebuilder="etree", namespaceHTMLElements=False
    )
    (table,) = [
        t for div in tree.iter("div") if div.get("class") == "landscape" for t in div.iter("table")
    ]
    head = ["".join(th.itertext()) for th in table.iter("th")]
    assert head[1] == "hai_phong_1993_1997 (hai_phong_1993_1997): P(deficit)"
    rows = [["".join(td.itertext()) for td in tr.iter("td")] for tr in table.iter("tr")][1:]
    assert [r[0] for r in rows] == [str(y) for y in range(1993, 2004)]
    for k, st in enumerate(studies):
        bal = st.cube.balance.transpose("draw", "year").values
        for i, y in enumerate(st.cube.year.values):
            row = rows[int(y) - 1993]
            assert row[1 + 3 * k] == f"{np.mean(bal[:, i] < 0):.1%}"
            assert row[2 + 3 * k] == f"{np.maximum(-bal[:, i], 0).mean() / 1e6:,.1f}"
    assert rows[-1][4:] == ["", "", ""]  # the five-year study stops in 1997
    ids = [f.get("id") for f in tree.iter("figure")]
    assert ids == ["fig-compare_balance", "fig-compare_balance_share", "fig-compare_p_deficit"]
