"""The Observed sheet of a workbook: the observations of ``schemerisk update``.

Its columns are those of the long CSV (:func:`schemerisk.analysis.update.read_observations`):
``year, output, value, rel_sd`` (or ``sd``) and optional ``category, service``, with the
header in row 1. The sheet's rows are read as the CSV's lines, so the one reader checks
both, and each problem is then put at its cell: ``Observed!C5: ...``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from schemerisk.errors import InputError, Problem
from schemerisk.scenario.workbook import OBSERVED, WorkbookError, open_workbook


def _text(value: object) -> str:
    """A cell as the CSV would hold it: whole-number floats without '.0' (a year of 2021.0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value).strip()


def observed_rows(path: Path) -> tuple[list[list[str]], Callable[[str, int | None], str]]:
    """The Observed sheet's rows as text, and a function naming the cell of a column and row.

    Parameters
    ----------
    path : Path
        The workbook.

    Returns
    -------
    tuple
        The rows (the header first, every row as wide as the header), and
        ``cell(column name, row number) -> "Observed!C5"``.

    Raises
    ------
    WorkbookError
        A missing sheet, merged cells, a formula without a usable value (each at its cell).
    """
    sheets = open_workbook(path)
    ws = sheets.sheet(OBSERVED)
    problems: list[Problem] = []
    width = 0
    for c in range(1, ws.max_column + 1):
        if ws.cell(1, c).value is not None:
            width = c
    sheets.merged(ws, 1, max(width, 1), problems)
    rows = [
        [_text(sheets.value(ws, r, c, problems)) for c in range(1, width + 1)]
        for r in range(1, ws.max_row + 1)
    ]
    if problems:
        raise WorkbookError(str(path), problems, kind="observations workbook")
    header = rows[0] if rows else []

    def cell(column: str, row: int | None) -> str:
        letter = ""
        if column in header:
            letter = ws.cell(1, header.index(column) + 1).column_letter
        if row is None:
            return OBSERVED
        return f"{OBSERVED}!{letter or 'A'}{row}" if letter else f"{OBSERVED}!row {row}"

    return rows, cell


def readdress_rows(exc: InputError, cell: Callable[[str, int | None], str]) -> InputError:
    """The CSV reader's error with each problem at its cell of the Observed sheet.

    Parameters
    ----------
    exc : InputError
        Problems naming a column (``column 'value'``) and a line (the sheet's row).
    cell : callable
        From :func:`observed_rows`.

    Returns
    -------
    InputError
        The same kind of error, each problem's place written ``Observed!C5``.
    """
    problems = []
    for p in exc.problems:
        m = re.fullmatch(r"column '([^']*)'", p.path)
        where = cell(m.group(1) if m else "", p.line)
        problems.append(Problem(where, p.message))
    return type(exc)(exc.source, problems)
