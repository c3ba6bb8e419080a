"""CSV output is safe to open in a spreadsheet: text that would run as a formula is
escaped with a leading single quote (OWASP, CSV injection); numbers stay numbers."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from schemerisk.output import escape_formulas, reserve, write_dataset

#: OWASP's trigger characters: = + - @, tab, carriage return (and null, ASVS 1.2.10)
HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\0x"]


def test_text_cells_are_escaped_and_numbers_are_not() -> None:
    frame = pd.DataFrame(
        {"label": [*HOSTILE, "farmers", "a=b"], "value": np.linspace(-4.5, 3.5, 9)},
        index=pd.Index([f"-{i}" for i in range(9)], name="entry"),
    )
    out = escape_formulas(frame)
    assert list(out["label"][:7]) == ["'" + h for h in HOSTILE]
    assert list(out["label"][7:]) == ["farmers", "a=b"]  # only the first character matters
    assert out["value"].dtype == float and out["value"].iloc[0] == -4.5  # still a number
    assert list(out.index) == [f"'-{i}" for i in range(9)]  # index labels are user text too
    assert list(frame["label"]) == [*HOSTILE, "farmers", "a=b"]  # the input is not changed


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_tables_and_long_csv_on_disk(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {"note": ["=cmd|' /C calc'!A0", "ok"], "p_deficit": [-0.25, 0.5]},
        index=pd.Index(["@input", "plain"], name="entry"),
    )
    with reserve(tmp_path / "t", "tables", option="--csv") as res:
        (path,) = res.write_tables({"uncertain_inputs.csv": table})
    rows = _rows(path)
    assert rows[0] == ["entry", "note", "p_deficit"]
    assert rows[1] == ["'@input", "'=cmd|' /C calc'!A0", "-0.25"]  # the number is unquoted
    assert rows[2] == ["plain", "ok", "0.5"]
    assert '"-0.25"' not in path.read_text()

    ds = xr.Dataset(
        {"balance": (("category",), [-1.5, 2.0])},
        coords={"category": ["=1+1", "farmers"]},
    )
    write_dataset(ds, tmp_path / "r.csv")
    rows = _rows(tmp_path / "r.csv")
    assert rows[0] == ["variable", "category", "value", "units"]
    assert rows[1] == ["balance", "'=1+1", "-1.5", ""]
    assert rows[2] == ["balance", "farmers", "2.0", ""]
