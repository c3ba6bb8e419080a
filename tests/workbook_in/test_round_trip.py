"""Workbooks as scenarios (issue 14 part 1): the template is Sheet A derived from the catalogue,
and YAML -> xlsx -> YAML gives bitwise-identical projections and Monte Carlo runs on every
built-in scenario."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pytest
import xarray as xr
import yaml

from schemerisk.catalogue import BLOCKS, CATALOGUE
from schemerisk.cli import main
from schemerisk.model import project
from schemerisk.scenario.builtin import builtin_names, resolve_builtin
from schemerisk.scenario.parse import load_scenario
from schemerisk.scenario.workbook import SHEET_A, match_entry
from schemerisk.uncertainty.montecarlo import simulate

SCENARIOS = builtin_names("scenarios")
DISTRIBUTIONS = set(builtin_names("distributions"))


def _identical(a: xr.Dataset, b: xr.Dataset) -> None:
    assert sorted(a.data_vars) == sorted(b.data_vars)
    for v in a.data_vars:  # bitwise: the same inputs must give the same floats
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v, strict=True)


@pytest.mark.parametrize("name", SCENARIOS)
def test_yaml_to_workbook_and_back_projects_identically(name: str, tmp_path: Path) -> None:
    xlsx, back, back_d = tmp_path / f"{name}.xlsx", tmp_path / "back.yaml", tmp_path / "d.yaml"
    dist = ["--distributions", name] if name in DISTRIBUTIONS else []
    assert main(["convert", name, str(xlsx), *dist]) == 0
    assert (
        main(["convert", str(xlsx), str(back), *(["--distributions", str(back_d)] if dist else [])])
        == 0
    )
    reference = project(load_scenario(name))
    _identical(reference, project(load_scenario(xlsx)))
    _identical(reference, project(load_scenario(back)))
    if dist:  # the Distributions and Correlations sheets: the same draws, bit for bit
        yaml_run = simulate(name, name, 64, seed=3)
        _identical(yaml_run, simulate(xlsx, xlsx, 64, seed=3))
        _identical(yaml_run, simulate(back, back_d, 64, seed=3))
        original = yaml.safe_load(resolve_builtin(name, "distributions").read_text())
        again = yaml.safe_load(back_d.read_text())
        assert again["inputs"] == original["inputs"]
        assert again.get("correlations") == original.get("correlations")


def test_sheet_a_rows_follow_the_catalogue(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    assert main(["template", "khanh_hoa_2020_2030", "-o", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [SHEET_A, "Distributions", "Correlations", "Observed"]
    assert (wb.properties.creator, wb.properties.subject) == ("schemerisk", "scenario")
    ws = wb[SHEET_A]
    header = [c.value for c in ws[4]]
    key_col = header.index("Key") + 1
    # the year columns are the projection's years, 2020-2030
    assert [h for h in header if isinstance(h, int)] == list(range(2020, 2031))
    order, blocks = [], []
    for r in range(5, ws.max_row + 1):
        key = ws.cell(r, key_col).value
        if key is None:
            blocks.append(ws.cell(r, 1).value)
            continue
        e = match_entry(tuple(key.split(".")))
        assert e is not None, key  # every row is an input of the catalogue
        order.append(CATALOGUE.index(e))
        assert ws.cell(r, 2).value == e.unit
        assert ws.cell(r, header.index("Comment") + 1).value.startswith(e.description)
    assert order == sorted(order)  # in Sheet A (catalogue) order
    assert [b.split(". ")[-1].lower() for b in blocks] == [b for b in BLOCKS]
    # every input of the catalogue without a name to fill in has its row
    keys = {ws.cell(r, key_col).value for r in range(5, ws.max_row + 1)}
    assert {e.key for e in CATALOGUE if "*" not in e.path} <= keys
    # shares are validated between 0 and 1, choices from their list
    rules = {(dv.type, dv.formula1, dv.formula2) for dv in ws.data_validations.dataValidation}
    assert ("decimal", "0", "1") in rules
    assert ("list", '"close_gap_evenly,same_share"', None) in rules
    # the Distributions sheet holds the built-in distributions, one row per entry
    d = wb["Distributions"]
    names = [d.cell(r, 1).value for r in range(6, d.max_row + 1)]
    expected = yaml.safe_load(resolve_builtin("khanh_hoa_2020_2030", "distributions").read_text())
    assert names == list(expected["inputs"])


def test_a_workbook_runs_the_risk_command_like_its_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "hp.xlsx"
    assert main(["template", "-o", str(out)]) == 0  # default: hai_phong_1993_1997
    capsys.readouterr()
    assert main(["risk", "hai_phong_1993_1997", "hai_phong_1993_1997", "-n", "500"]) == 0
    from_yaml = capsys.readouterr().out
    assert main(["risk", str(out), "-n", "500"]) == 0  # its own Distributions sheet
    from_xlsx = capsys.readouterr().out
    strip = lambda s: s.split("\n", 1)[1]  # noqa: E731 - the first line names the source
    assert strip(from_yaml) == strip(from_xlsx)
