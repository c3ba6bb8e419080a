"""Bad workbooks (issue 14 part 5) and the Observed sheet (issue 15): each is refused with one
clear message naming the sheet and cell, exit code 2, and nothing written."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from schemerisk.analysis.update import ObservationsError, read_observations, reference_projection
from schemerisk.cli import main
from schemerisk.scenario.workbook import SHEET_A, write_workbook
from schemerisk.uncertainty.montecarlo import bind_space

NAME = "hai_phong_1993_1997"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wb") / "t.xlsx"
    assert main(["template", NAME, "-o", str(out)]) == 0
    return out


def _cell_of(ws: openpyxl.worksheet.worksheet.Worksheet, key: str, column: str) -> str:
    header = [c.value for c in ws[4]]
    for r in range(5, ws.max_row + 1):
        if ws.cell(r, header.index("Key") + 1).value == key:
            return ws.cell(r, header.index(column) + 1).coordinate
    raise AssertionError(key)


def _refused(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run a command that would write; check exit 2, one message, nothing written."""
    capsys.readouterr()
    out = tmp_path / "out.nc"
    code = main(["project", str(path), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert not out.exists()
    assert err.startswith(f"error: {path}") and "Traceback" not in err
    return err


def _edited(template: Path, tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    wb = openpyxl.load_workbook(template)
    edit(wb)
    path = tmp_path / "edited.xlsx"
    wb.save(path)
    return path


def test_a_value_out_of_range_is_reported_at_its_cell(
    template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "categories.government_admin.insured_share"
    ws = openpyxl.load_workbook(template)[SHEET_A]
    at = _cell_of(ws, key, "Value")

    def edit(wb):  # type: ignore[no-untyped-def]
        wb[SHEET_A][at] = 1.3

    err = _refused(_edited(template, tmp_path, edit), tmp_path, capsys)
    assert f"{SHEET_A}!{at} ({key})" in err and "1.3" in err and "between 0 and 1" in err


def test_text_in_a_number_cell_and_a_yearly_value(
    template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = openpyxl.load_workbook(template)[SHEET_A]
    income = _cell_of(ws, "categories.industrial.income", "Value")
    premium_1995 = _cell_of(ws, "categories.farmers.flat_premium", 1995)

    def edit(wb):  # type: ignore[no-untyped-def]
        wb[SHEET_A][income] = "about a million"
        wb[SHEET_A][premium_1995] = "n/a"

    err = _refused(_edited(template, tmp_path, edit), tmp_path, capsys)
    assert f"{SHEET_A}!{income} (categories.industrial.income)" in err
    assert f"{SHEET_A}!{premium_1995} (categories.farmers.flat_premium[2])" in err


def test_a_missing_sheet(template: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = _edited(template, tmp_path, lambda wb: wb.remove(wb[SHEET_A]))
    err = _refused(path, tmp_path, capsys)
    assert f"missing sheet '{SHEET_A}'" in err


def test_merged_cells_in_the_data_area(template: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = _edited(template, tmp_path, lambda wb: wb[SHEET_A].merge_cells("C8:E8"))
    err = _refused(path, tmp_path, capsys)
    assert f"{SHEET_A}!C8:E8: merged cells" in err


def test_formulas_without_a_saved_value_and_with_an_error(
    template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = openpyxl.load_workbook(template)[SHEET_A]
    at = _cell_of(ws, "demography.population", "Value")

    def edit(wb):  # type: ignore[no-untyped-def]
        wb[SHEET_A][at] = "=1/0"

    path = _edited(template, tmp_path, edit)  # openpyxl saves no value for a formula
    err = _refused(path, tmp_path, capsys)
    assert f"{SHEET_A}!{at}: the formula =1/0 has no saved value" in err
    assert "LibreOffice" in err
    # the value Excel would have saved for it: the error #DIV/0!
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet, n = re.subn(
        rf'<c r="{at}"><f>1/0</f><v\s*/?>(</v>)?</c>',
        f'<c r="{at}" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
        sheet,
    )
    assert n == 1
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    err = _refused(path, tmp_path, capsys)
    assert f"{SHEET_A}!{at}: the cell's formula evaluates to the error #DIV/0!" in err


CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("locked.xlsx", CFB + bytes(500) + "EncryptionInfo".encode("utf-16-le") + bytes(64),
         "encrypted"),
        ("old.xls", CFB + bytes(1000), "old-format Excel 97-2003"),
        ("text.xlsx", b"year,output\n", "not an Excel workbook"),
    ],
)  # fmt: skip
def test_encrypted_old_and_foreign_files(
    name: str, content: bytes, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert says in _refused(path, tmp_path, capsys)


def test_macro_enabled_workbooks_are_refused(
    template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.xlsm"
    path.write_bytes(template.read_bytes())
    assert "macro-enabled workbooks (.xlsm) are refused" in _refused(path, tmp_path, capsys)


def test_a_file_schemerisk_did_not_write_is_never_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    theirs = tmp_path / "theirs.xlsx"
    wb = openpyxl.Workbook()
    wb.properties.creator = "an analyst"
    wb.save(theirs)
    before = theirs.read_bytes()
    assert main(["template", "-o", str(theirs), "--overwrite"]) == 2
    assert theirs.read_bytes() == before and "not" in capsys.readouterr().err


def test_the_observed_sheet_reads_like_the_csv(template: Path, tmp_path: Path) -> None:
    reference = reference_projection(bind_space(NAME, NAME))
    rows = [
        ("year", "output", "value", "rel_sd", "category", "service"),
        (1993, "members", 27500, 0.03, "farmers", None),
        (1994, "services", 1.5e6, 0.05, None, "consultation_commune"),
    ]
    csv = tmp_path / "o.csv"
    csv.write_text("\n".join(",".join("" if v is None else str(v) for v in r) for r in rows))
    wb = openpyxl.load_workbook(template)
    ws = wb["Observed"]
    for r in rows[1:]:
        ws.append(list(r))
    path = tmp_path / "o.xlsx"
    wb.save(path)
    a, b = read_observations(csv, reference), read_observations(path, reference)
    assert a.items == b.items
    ws["C3"] = "lots"
    ws["A2"] = 2050
    wb.save(path)
    with pytest.raises(ObservationsError) as info:
        read_observations(path, reference)
    message = str(info.value)
    assert "Observed!C3: 'lots' is not a finite number" in message
    assert "Observed!A2: 2050 is outside the projection's horizon" in message


def test_write_workbook_keeps_text_as_text(tmp_path: Path) -> None:
    """A label that looks like a formula is written as text, never run by the spreadsheet."""
    doc = {"name": "x", "title": '=HYPERLINK("http://x")', "base_year": 2000}
    path = tmp_path / "x.xlsx"
    write_workbook(path, doc, None)
    ws = openpyxl.load_workbook(path)[SHEET_A]
    cells = [c for row in ws.iter_rows() for c in row if c.value == doc["title"]]
    assert cells and all(c.data_type == "s" for c in cells)
