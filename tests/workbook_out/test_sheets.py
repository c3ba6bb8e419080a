"""The results workbook read back with openpyxl, every cell compared with what it was made from.

Numbers are compared to a relative 1e-15: openpyxl writes a float as ``"%.16g" % value``
(openpyxl/compat/strings.py), 16 significant digits, so a cell read back is within half a
unit of the 16th digit (relative 5e-16) of the value written; text must match exactly. The figures
the workbook computes itself (fan quantiles, P(deficit) and its interval) are checked against
numpy and scipy on the same draws, not against the code that wrote them.
"""

from __future__ import annotations

import zipfile
from xml.etree import ElementTree

import numpy as np
import openpyxl
import pytest
import xarray as xr
from openpyxl.utils import get_column_letter
from scipy import stats

from schemerisk import __version__
from schemerisk.analysis.risk import DEFICIT_SIZES, RISK_OUTPUTS, deficit_risk
from schemerisk.analysis.study import Study
from schemerisk.reports.html import TABLE_COLUMNS
from schemerisk.reports.tables import sheet_c_sections
from schemerisk.workbook.results import (
    FAN_LEVELS,
    HEADER_ROW,
    SHEETS,
    UNKNOWN,
    Provenance,
    amount_format,
    priorities_workbook,
    project_workbook,
    risk_workbook,
    sensitivity_workbook,
    simulate_workbook,
    study_workbook,
)

FIRST = HEADER_ROW + 1


def header(ws) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.value for c in ws[HEADER_ROW] if c.value is not None]


def column_of(ws, name: str) -> int:  # type: ignore[no-untyped-def]
    """1-based column whose header is ``name`` or ``name [unit]`` (the first, i.e. the table's)."""
    for cell in ws[HEADER_ROW]:
        if cell.value is not None and str(cell.value).split(" [")[0] == name:
            return cell.column
    raise AssertionError(f"no column {name} in {header(ws)}")


def table_values(ws, name: str, n: int) -> list[object]:  # type: ignore[no-untyped-def]
    col = column_of(ws, name)
    return [ws.cell(row=FIRST + i, column=col).value for i in range(n)]


#: 16 significant digits written (see the module's docstring)
REL = 1e-15


def expected_cell(v: float) -> object:
    """What a cell holds for ``v``: the number (to 16 digits), or 'unknown' when not finite."""
    return pytest.approx(float(v), rel=REL) if np.isfinite(v) else UNKNOWN


# --- Sheet C -----------------------------------------------------------------------------------


def test_sheet_c_every_cell_is_the_projection(det, scenario, save) -> None:  # type: ignore[no-untyped-def]
    wb = save(project_workbook(det, Provenance.of("test", scenario)))
    assert wb.sheetnames == [SHEETS["about"], SHEETS["sheet_c"]]
    ws = wb[SHEETS["sheet_c"]]
    # each year's header over its column of numbers (right), as LibreOffice showed it was not
    assert {ws.cell(row=HEADER_ROW, column=c).alignment.horizontal for c in (3, 4)} == {"right"}
    years = [int(y) for y in det.year.values]
    assert [int(v) for v in header(ws)[1:]] == years  # 'unit', then the years
    assert ws.freeze_panes == "C4"  # the header rows, the labels and the units stay in view
    # the sheet, top to bottom: section titles (no unit) and rows (a unit), as the sections say
    laid_out = [
        (ws.cell(row=r, column=1).value, r, ws.cell(row=r, column=2).value is not None)
        for r in range(FIRST, ws.max_row + 1)
        if ws.cell(row=r, column=1).value is not None
    ]
    wanted = [
        (item.title if is_title else item.label, item, is_title)
        for section in sheet_c_sections(det)
        for is_title, item in [(True, section), *((False, row) for row in section.rows)]
    ]
    assert [(lab, not t) for lab, _, t in wanted] == [(lab, u) for lab, _, u in laid_out]
    checked = 0
    cur = scenario.currency
    for (_, item, is_title), (_, r, _) in zip(wanted, laid_out, strict=True):
        if is_title:
            continue
        row = item
        got = [ws.cell(row=r, column=3 + j) for j in range(len(years))]
        assert [c.value for c in got] == [expected_cell(v) for v in row.values(det)], row.label
        fmt = got[0].number_format
        unit = ws.cell(row=r, column=2).value
        if row.kind == "percent":
            assert fmt == "0.00%" and unit == "%"
        elif row.kind == "amount":
            assert fmt == f'#,##0 "{cur}"' and unit == f"{cur}/yr"
        elif row.kind in ("people", "count"):
            assert fmt == "#,##0"
        checked += 1
    assert checked > 40  # every row of the eleven sections, not a few


def test_sheet_c_balance_row_matches_the_papers_identity(det, scenario, save) -> None:  # type: ignore[no-untyped-def]
    """Independent of the row definitions: balance = premium revenue - total expenditure."""
    ws = save(project_workbook(det, Provenance.of("test", scenario)))[SHEETS["sheet_c"]]
    by_label = {ws.cell(row=r, column=1).value: r for r in range(ws.max_row, FIRST - 1, -1)}
    n = det.sizes["year"]

    def row(label: str) -> np.ndarray:
        return np.array([ws.cell(row=by_label[label], column=3 + j).value for j in range(n)])

    # rounding of the projection's own sums only: relative 1e-9
    np.testing.assert_allclose(
        row("Balance"),
        row("Total revenue from premiums") - row("Total expenditure"),
        rtol=1e-9,
        atol=1e-3,
    )


# --- simulate: fan and P(deficit) --------------------------------------------------------------


def test_fan_quantiles_are_numpys_on_the_same_draws(cube, scenario, save) -> None:  # type: ignore[no-untyped-def]
    wb = save(simulate_workbook(cube, Provenance.of("test", scenario, n_draws=cube.sizes["draw"])))
    ws = wb[SHEETS["fan"]]
    bal = cube.balance.transpose("draw", "year").values
    n = bal.shape[1]
    assert table_values(ws, "year", n) == [int(y) for y in cube.year.values]
    for q in FAN_LEVELS:
        name = f"p{round(100 * q):02d}"
        want = np.quantile(bal, q, axis=0)  # every draw is finite here; linear interpolation
        got = np.array(table_values(ws, name, n), dtype=float)
        np.testing.assert_allclose(got, want, rtol=1e-12)  # the same interpolation, two codes
        assert f"{name} [{scenario.currency}/yr]" in header(ws)
        cell = ws.cell(row=FIRST, column=column_of(ws, name))
        assert cell.number_format == amount_format(scenario.currency)
    assert ws.freeze_panes == "B4"
    assert len(ws._charts) == 1


def test_p_deficit_and_wilson_interval_against_scipy(cube, scenario, save) -> None:  # type: ignore[no-untyped-def]
    ws = save(simulate_workbook(cube, Provenance.of("test", scenario)))[SHEETS["risk"]]
    bal = cube.balance.transpose("draw", "year").values
    n_draws, n = bal.shape
    k = (bal < 0).sum(axis=0)
    assert table_values(ws, "p_deficit", n) == pytest.approx(k / n_draws, rel=1e-12)
    for j in range(n):
        ci = stats.binomtest(int(k[j]), n_draws).proportion_ci(0.95, method="wilson")
        lo = ws.cell(row=FIRST + j, column=column_of(ws, "p_deficit_lower")).value
        hi = ws.cell(row=FIRST + j, column=column_of(ws, "p_deficit_upper")).value
        assert (lo, hi) == pytest.approx((ci.low, ci.high), rel=1e-9)  # two codes, one formula
    assert table_values(ws, "n_unknown", n) == [0] * n
    assert "p_deficit [%]" in header(ws)
    assert ws.cell(row=FIRST, column=column_of(ws, "p_deficit")).number_format == "0.0%"
    assert len(ws._charts) == 1


def test_unknown_projections_are_never_shown_as_safe(cube, scenario, save) -> None:  # type: ignore[no-untyped-def]
    bal = cube.balance.transpose("draw", "year").values.copy()
    bal[:25, 1] = np.inf  # 25 overflowed projections in the second year
    bal[:, 2] = np.nan  # no finite projection at all in the third year
    broken = cube.assign(balance=(("draw", "year"), bal))
    wb = save(simulate_workbook(broken, Provenance.of("test", scenario)))
    ws = wb[SHEETS["risk"]]
    n = bal.shape[1]
    n_draws = bal.shape[0]
    assert table_values(ws, "n_unknown", n) == [0, 25, n_draws, 0, 0]
    p = table_values(ws, "p_deficit", n)
    assert p[1] == pytest.approx(float((bal[25:, 1] < 0).mean()), rel=1e-12)  # over known only
    assert p[2] == UNKNOWN
    for name in ("p_deficit_lower", "p_deficit_upper", "p_deficit_se"):
        assert table_values(ws, name, n)[2] == UNKNOWN
    # the chart reads its own block, where the unknown year is blank (a gap), never 0
    block = [c.column for c in ws[HEADER_ROW] if c.value == "p_deficit"]
    assert len(block) == 1
    assert ws.cell(row=FIRST + 2, column=block[0]).value is None
    assert ws.cell(row=FIRST + 1, column=block[0]).value == pytest.approx(p[1])
    fan = wb[SHEETS["fan"]]
    assert all(v == UNKNOWN for v in (fan.cell(row=FIRST + 2, column=c).value for c in range(2, 9)))


# --- risk ---------------------------------------------------------------------------------------


def test_risk_table_every_column_and_units(report, cube, scenario, save) -> None:  # type: ignore[no-untyped-def]
    wb = save(risk_workbook(report, Provenance.of("test", scenario), cube))
    ws = wb[SHEETS["risk"]]
    t = report.table
    n = t.sizes["year"]
    cur = scenario.currency
    for name in t.data_vars:
        assert table_values(ws, str(name), n) == [expected_cell(v) for v in t[name].values], name
        unit = TABLE_COLUMNS["deficit_risk.csv"][str(name)][0]
        h = next(h for h in header(ws) if h.split(" [")[0] == name)
        if "{cur}" in unit:
            assert h == f"{name} [{unit.format(cur=cur)}]"
            assert ws.cell(row=FIRST, column=column_of(ws, str(name))).number_format == (
                amount_format(cur)
            )
    assert "required_premium_multiplier [1]" in header(ws)
    labels = {ws.cell(row=r, column=1).value: r for r in range(1, ws.max_row + 1)}
    r = labels["P(at least one deficit over the horizon)"]
    got = [ws.cell(row=r, column=c).value for c in (2, 3, 4)]
    want = [float(report.p_any_deficit[k]) for k in ("p", "lower", "upper")]
    assert got == pytest.approx(want, rel=REL)
    assert [s for s in wb.sheetnames] == [SHEETS[k] for k in ("about", "fan", "risk")]


def test_charts_are_native_line_charts_over_the_table(report, cube, scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from schemerisk.output import reserve

    path = tmp_path / "r.xlsx"
    with reserve(path) as res:
        res.write_workbook(risk_workbook(report, Provenance.of("test", scenario), cube))
    with zipfile.ZipFile(path) as zf:
        charts = sorted(n for n in zf.namelist() if n.startswith("xl/charts/chart"))
        xml = [zf.read(n).decode() for n in charts]
    assert len(charts) == 2  # the fan and P(deficit)
    ns = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
    refs = []
    for text in xml:
        root = ElementTree.fromstring(text)
        assert root.find(f".//{ns}lineChart") is not None
        assert root.find(f".//{ns}dispBlanksAs").get("val") == "gap"
        refs.append([f.text for f in root.iter(f"{ns}f") if f.text and "$" in f.text])
    wb = openpyxl.load_workbook(path)
    # P(deficit): three series (p, lower, upper), each the table's column, copied beside it
    risk = wb[SHEETS["risk"]]
    n = report.table.sizes["year"]
    values = next(r for r in refs if "Deficit risk" in r[0])
    assert len(values) == 6  # categories and values of three series
    for ref, name in zip(
        values[1::2], ("p_deficit", "p_deficit_lower", "p_deficit_upper"), strict=True
    ):
        cells = [c.value for row in risk[ref.split("!")[1].replace("$", "")] for c in row]
        assert cells == table_values(risk, name, n)
    fan_refs = next(r for r in refs if "Balance fan" in r[0])
    assert len(fan_refs) == 2 * len(FAN_LEVELS)


# --- Sobol' indices and priorities ------------------------------------------------------------


@pytest.fixture(scope="module")
def indices() -> xr.Dataset:
    rng = np.random.default_rng(3)
    shape = (2, 3, 5)
    coords = {
        "output": ["balance", "deficit"],
        "input": ["Admission rate", "=cmd|' /C calc'!A0", "Inflation"],  # a hostile label
        "year": np.arange(1993, 1998),
    }
    dims = ("output", "input", "year")
    st = rng.uniform(0.1, 0.9, shape)
    return xr.Dataset(
        {
            "S1": (dims, 0.7 * st),
            "S1_conf": (dims, rng.uniform(0.0, 0.05, shape)),
            "ST": (dims, st),
            "ST_conf": (dims, rng.uniform(0.0, 0.05, shape)),
        },
        coords=coords,
    )


@pytest.fixture(scope="module")
def priorities(indices: xr.Dataset) -> xr.Dataset:
    b = indices.sel(output="balance", drop=True)
    evppi = xr.DataArray([[5e6, 7e6, 9e6, 1e7, 2e7]] * 3, dims=("input", "year")) * [[1], [2], [0]]
    return xr.Dataset(
        {
            "S1_balance": b.S1,
            "S1_balance_conf": b.S1_conf,
            "ST_balance": b.ST,
            "ST_balance_conf": b.ST_conf,
            "ST_deficit": indices.ST.sel(output="deficit", drop=True),
            "evppi": evppi,
            "evppi_se": evppi / 10,
            "kind": ("input", ["data", "data", "environment"]),
            "rank": (("input", "year"), np.array([[2] * 5, [1] * 5, [0] * 5])),
        },
        coords={"input": indices.input, "year": indices.year},
    )


def test_sobol_sheet_every_cell(indices, scenario, save) -> None:  # type: ignore[no-untyped-def]
    ws = save(sensitivity_workbook(indices, Provenance.of("test", scenario)))[SHEETS["sobol"]]
    assert header(ws) == [
        "output",
        "input",
        "year",
        "S1 [1]",
        "S1_conf [1]",
        "ST [1]",
        "ST_conf [1]",
    ]
    seen = 0
    for r in range(FIRST, ws.max_row + 1):
        out, inp, year, *vals = [ws.cell(row=r, column=c).value for c in range(1, 8)]
        sel = indices.sel(output=out, input=inp, year=year)
        assert vals == pytest.approx(
            [float(sel[v]) for v in ("S1", "S1_conf", "ST", "ST_conf")], rel=REL
        )
        assert ws.cell(row=r, column=2).data_type == "s"  # a label is never run as a formula
        seen += 1
    assert seen == indices.S1.size


def test_priorities_sheet_every_cell(indices, priorities, scenario, save) -> None:  # type: ignore[no-untyped-def]
    wb = save(priorities_workbook(indices, priorities, Provenance.of("test", scenario)))
    ws = wb[SHEETS["priorities"]]
    names = [h.split(" [")[0] for h in header(ws)]
    assert set(names) == set(priorities.data_vars) | {"input", "year"}
    assert f"evppi [{scenario.currency}]" in header(ws)
    seen = 0
    for r in range(FIRST, ws.max_row + 1):
        row = dict(zip(names, [ws.cell(row=r, column=c).value for c in range(1, 12)], strict=True))
        sel = priorities.sel(input=row["input"], year=row["year"])
        for name in priorities.data_vars:
            want = sel[name].item()
            assert row[name] == (want if isinstance(want, str) else pytest.approx(want, rel=REL))
        seen += 1
    assert seen == priorities.evppi.size
    first_year = [ws.cell(row=r, column=1).value for r in range(FIRST, FIRST + 3)]
    # rank 1, then 2, then the environment (rank 0)
    assert first_year == ["=cmd|' /C calc'!A0", "Admission rate", "Inflation"]
    assert wb.sheetnames == [SHEETS[k] for k in ("about", "sobol", "priorities")]


# --- About and the report ---------------------------------------------------------------------


def test_about_sheet_says_what_was_run(cube, report, space, scenario, det, save) -> None:  # type: ignore[no-untyped-def]
    study = Study(scenario, space, det, cube, report, None, None, ())
    prov = Provenance.of("schemerisk report", scenario, space=space, seed=7, n_draws=400)
    wb = save(study_workbook(study, prov))
    assert wb.sheetnames == [SHEETS[k] for k in ("about", "sheet_c", "fan", "risk")]
    assert wb.active.title == SHEETS["about"]
    about = wb[SHEETS["about"]]
    cells = {
        about.cell(row=r, column=1).value: about.cell(row=r, column=2).value
        for r in range(1, about.max_row + 1)
    }
    assert cells["Seed"] == 7 and cells["Projections (N)"] == 400
    assert cells["schemerisk version"] == __version__
    assert cells["Currency"] == scenario.currency
    assert cells["Distributions"] == space.source
    for key, text in DEFICIT_SIZES.items():
        assert cells[f"Definition: {key}"] == text
    for entry in space.entries:
        assert entry.name in cells  # the distributions table, one row per entry
    for name in ("p_deficit [%]", "n_unknown [draws]", "p50 [VND/yr]"):
        assert cells[name]  # every column is explained
    assert about.freeze_panes == "A4"
    props = wb.properties
    assert (props.creator, props.subject) == ("schemerisk", "results")


def test_risk_without_the_draws_has_no_fan(report, scenario, save) -> None:  # type: ignore[no-untyped-def]
    """From a streaming summary there are no draws to take percentiles of: no fan sheet."""
    wb = save(risk_workbook(report, Provenance.of("test", scenario), None))
    assert wb.sheetnames == [SHEETS["about"], SHEETS["risk"]]


def test_text_a_cell_cannot_hold_is_cleaned_not_fatal(scenario, save) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    from schemerisk.workbook.results import Column, write_frame

    wb = openpyxl.Workbook()
    frame = pd.DataFrame({"note": ["bell\x07 rings", "=1+1"], "x": [1.5, np.nan]})
    cols = [Column("note", "", "General", ""), Column("x", "1", "0.000", "")]
    write_frame(wb.active, "t", "n", frame, cols)
    ws = save(wb).active
    assert [ws.cell(row=r, column=1).value for r in (FIRST, FIRST + 1)] == ["bell rings", "=1+1"]
    assert ws.cell(row=FIRST + 1, column=1).data_type == "s"
    assert ws.cell(row=FIRST + 1, column=2).value == UNKNOWN


def test_charts_and_pages_read_as_a_user_sees_them(report, cube, scenario, save) -> None:  # type: ignore[no-untyped-def]
    """What the LibreOffice rendering showed wrong: years drawn where the balance axis crosses
    zero (amid the lines), balances in full units on the axis, a chart's own data block
    printed, and wide sheets cut into pages a column or two wide."""
    wb = save(risk_workbook(report, Provenance.of("test", scenario), cube))
    fan, risk = wb[SHEETS["fan"]], wb[SHEETS["risk"]]
    for ws in (fan, risk):
        (chart,) = ws._charts
        assert chart.x_axis.tickLblPos == "low"
        assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
        # the print area ends at the table's last column, one blank column before the chart's
        # data block (its second 'year' header): the block is not printed
        block = [c.column for c in ws[HEADER_ROW] if c.value == "year"][-1]
        assert block > 2 and ws.print_area is not None
        assert f"!$A$1:${get_column_letter(block - 2)}$" in ws.print_area
    assert ",," in fan._charts[0].y_axis.number_format.formatCode  # in millions
    assert "million" in str(fan._charts[0].y_axis.title.tx.rich.p[0].r[0].t)
    # a scheme a millionth the size (balances under 10^7): its axis in millions would read 0
    small = cube.copy()
    for v in RISK_OUTPUTS:
        if v in small:
            small[v] = cube[v] * 1e-6
    wb_small = save(
        risk_workbook(deficit_risk(small), Provenance.of("test", scenario), small), "small.xlsx"
    )
    (axis,) = wb_small[SHEETS["fan"]]._charts
    assert ",," not in axis.y_axis.number_format.formatCode
    assert "million" not in str(axis.y_axis.title.tx.rich.p[0].r[0].t)
    (chart,) = risk._charts
    assert [s.graphicalProperties.line.prstDash for s in chart.series] == ["solid", "dash", "dash"]
    assert wb[SHEETS["about"]].page_setup.orientation == "landscape"
    # the header on every printed page; a number's header right-aligned over its numbers
    assert f"${HEADER_ROW}:${HEADER_ROW}" in str(risk.print_title_rows)
    at = [(c.value, c.alignment.horizontal) for c in risk[HEADER_ROW] if c.value is not None]
    assert at[0] == ("year", "right") and ("p_deficit [%]", "right") in at
