"""``-o X.xlsx`` and ``report --xlsx`` on the command line, and the destination rules for workbooks:
a workbook is replaced only with --overwrite and only when schemerisk wrote it as results."""

from __future__ import annotations

import os
from pathlib import Path

import openpyxl
import pytest

from schemerisk.cli import main
from schemerisk.output import workbook_marked, write_dataset
from schemerisk.workbook.results import HEADER_ROW, SHEETS

from .conftest import SCENARIO

FIRST = HEADER_ROW + 1


def run(capsys, *argv: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def users_workbook(path: Path, creator: str = "A. Analyst", subject: str = "") -> bytes:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "my own premium calculations"
    wb.properties.creator = creator
    wb.properties.subject = subject
    wb.save(path)
    return path.read_bytes()


# --- recognising our workbooks ----------------------------------------------------------------


def test_workbook_marked_by_creator_and_subject(tmp_path: Path) -> None:
    users_workbook(tmp_path / "user.xlsx")
    users_workbook(tmp_path / "template.xlsx", "schemerisk", "scenario")
    users_workbook(tmp_path / "ours.xlsx", "schemerisk", "results")
    (tmp_path / "text.xlsx").write_text("not a zip package", encoding="utf-8")
    assert not workbook_marked(tmp_path / "user.xlsx")
    assert not workbook_marked(tmp_path / "template.xlsx")  # a template is not a result
    assert workbook_marked(tmp_path / "template.xlsx", "scenario")
    assert workbook_marked(tmp_path / "ours.xlsx")
    assert not workbook_marked(tmp_path / "text.xlsx")
    assert not workbook_marked(tmp_path / "missing.xlsx")


@pytest.mark.parametrize(
    ("creator", "subject"),
    [("A. Analyst", ""), ("schemerisk", "scenario"), ("someone", "results")],
)
@pytest.mark.parametrize("overwrite", [False, True])
def test_a_users_workbook_is_never_replaced(
    capsys, tmp_path: Path, creator: str, subject: str, overwrite: bool
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "hp.xlsx"
    before = users_workbook(path, creator, subject)
    code, text = run(
        capsys, "project", SCENARIO, "-o", str(path), *(["--overwrite"] if overwrite else [])
    )
    assert code == 2 and str(path) in text
    if (creator, subject) == ("schemerisk", "scenario"):  # ours, but a template: said so
        assert "is a schemerisk scenario workbook (a template), not a results workbook" in text
    else:
        assert "was not written by schemerisk" in text
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["hp.xlsx"]  # nothing left beside it


def test_project_writes_sheet_c_and_overwrite_replaces_only_ours(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "hp.xlsx"
    code, text = run(capsys, "project", SCENARIO, "-o", str(path))
    assert code == 0, text
    assert f"wrote {path}" in text  # as for the .nc, .zarr and .csv outputs
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [SHEETS["about"], SHEETS["sheet_c"]]
    assert workbook_marked(path)
    inode = path.stat().st_ino
    code, text = run(capsys, "project", SCENARIO, "-o", str(path))
    assert code == 2 and "--overwrite" in text
    assert path.stat().st_ino == inode
    code, text = run(capsys, "project", SCENARIO, "-o", str(path), "--overwrite")
    assert code == 0, text
    assert path.stat().st_ino != inode  # a new file swapped into place
    assert sorted(os.listdir(tmp_path)) == ["hp.xlsx"]


def test_simulate_writes_the_summaries_not_the_cube(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sim.xlsx"
    code, text = run(
        capsys, "simulate", SCENARIO, SCENARIO, "-n", "64", "--no-progress", "-o", str(path)
    )
    assert code == 0, text
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [SHEETS[k] for k in ("about", "fan", "risk")]
    about = {r[0].value: r[1].value for r in wb[SHEETS["about"]].iter_rows(max_col=2)}
    assert about["Projections (N)"] == 64 and about["Seed"] == 0
    assert wb[SHEETS["risk"]].max_row < 30  # five years and a chart, not 64 draws


def test_risk_of_a_cube_to_a_workbook(capsys, tmp_path: Path, cube, report) -> None:  # type: ignore[no-untyped-def]
    store = write_dataset(cube, tmp_path / "cube.nc")
    path = tmp_path / "risk.xlsx"
    code, text = run(capsys, "risk", str(store), "-o", str(path))
    assert code == 0, text
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEETS["risk"]]
    heads = [c.value for c in ws[HEADER_ROW]]
    col = heads.index("p_deficit [%]") + 1
    got = [ws.cell(row=FIRST + i, column=col).value for i in range(cube.sizes["year"])]
    # the same cube, read back from netCDF: the same report to 16 digits
    assert got == pytest.approx(report.table.p_deficit.values.tolist(), rel=1e-15)
    about = {r[0].value: r[1].value for r in wb[SHEETS["about"]].iter_rows(max_col=2)}
    assert about["Seed"] == 7 and about["Projections (N)"] == cube.sizes["draw"]
    assert SHEETS["fan"] in wb.sheetnames


def test_sensitivity_writes_the_indices(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.xlsx"
    code, text = run(
        capsys, "sensitivity", SCENARIO, SCENARIO, "-N", "8", "--no-progress", "-o", str(path)
    )
    assert code == 0, text
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [SHEETS["about"], SHEETS["sobol"]]
    ws = wb[SHEETS["sobol"]]
    outputs = {ws.cell(row=r, column=1).value for r in range(FIRST, ws.max_row + 1)}
    assert {"balance", "deficit"} <= outputs


@pytest.mark.parametrize(
    "argv",
    [
        ["sensitivity", SCENARIO, SCENARIO, "-o", "{d}/s.csv"],
        ["priorities", SCENARIO, SCENARIO, "-o", "{d}/p.nc"],
        ["report", "-o", "{d}/r.html", "--xlsx", "{d}/r.csv"],
        ["report", SCENARIO, SCENARIO, "--distributions", SCENARIO, "-o", "{d}/r.html",
         "--xlsx", "{d}/r.xlsx"],
        ["project", SCENARIO, "-o", "{d}/p.xls"],
    ],
)  # fmt: skip
def test_bad_workbook_destinations_are_refused_before_work(capsys, tmp_path: Path, argv) -> None:  # type: ignore[no-untyped-def]
    code, text = run(capsys, *(a.format(d=tmp_path) for a in argv))
    assert code == 2
    assert ".xlsx" in text and "Traceback" not in text
    assert os.listdir(tmp_path) == []


def test_report_writes_the_study_workbook(
    capsys, tmp_path: Path, monkeypatch, cube, report, space, scenario, det
) -> None:  # type: ignore[no-untyped-def]
    """The report's wiring, with a study made beforehand (the study itself is tested elsewhere)."""
    import schemerisk.analysis.study as study_module
    import schemerisk.reports.html as html
    from schemerisk.output import GENERATOR

    study = study_module.Study(scenario, space, det, cube, report, None, None, ())
    seen = {}

    def fake_run_study(sc, sp, **kwargs):  # type: ignore[no-untyped-def]
        seen.update(kwargs)
        return study

    monkeypatch.setattr(study_module, "run_study", fake_run_study)
    monkeypatch.setattr(
        html, "render_html", lambda st, updated: f"<html><head>{GENERATOR}</head></html>"
    )
    monkeypatch.setattr(html, "key_messages", lambda st: [])
    path = tmp_path / "hp.xlsx"
    code, text = run(
        capsys, "report", "-n", "400", "--seed", "7", "-o", str(tmp_path / "hp.html"),
        "--xlsx", str(path), "--no-progress",
    )  # fmt: skip
    assert code == 0, text
    assert seen["seed"] == 7 and seen["n"] == 400
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [SHEETS[k] for k in ("about", "sheet_c", "fan", "risk")]
    assert workbook_marked(path)
    about = {r[0].value: r[1].value for r in wb[SHEETS["about"]].iter_rows(max_col=2)}
    assert about["Seed"] == 7 and about["Projections (N)"] == 400


def test_a_cube_is_not_written_into_a_workbook(tmp_path: Path, cube) -> None:  # type: ignore[no-untyped-def]
    from schemerisk.output import OutputError

    with pytest.raises(OutputError, match=r"\.nc, \.zarr or \.csv"):
        write_dataset(cube, tmp_path / "cube.xlsx")
    assert os.listdir(tmp_path) == []


def test_risk_of_a_scenario_lists_its_distributions(capsys, tmp_path: Path, space) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "risk.xlsx"
    code, text = run(
        capsys, "risk", SCENARIO, SCENARIO, "-n", "64", "--no-progress", "-o", str(path)
    )
    assert code == 0, text
    assert not (tmp_path / "risk.nc").exists() and os.listdir(tmp_path) == ["risk.xlsx"]
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [SHEETS[k] for k in ("about", "fan", "risk")]
    names = {r[0].value for r in wb[SHEETS["about"]].iter_rows(max_col=1)}
    assert {e.name for e in space.entries} <= names


def test_a_template_never_replaces_results_and_says_why(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "r.xlsx"
    code, text = run(capsys, "project", SCENARIO, "-o", str(path))
    assert code == 0, text
    before = path.read_bytes()
    code, text = run(capsys, "template", "-o", str(path), "--overwrite")
    assert code == 2
    assert "is a schemerisk results workbook, not a scenario workbook (a template)" in text
    assert "not written by schemerisk" not in text
    assert path.read_bytes() == before
