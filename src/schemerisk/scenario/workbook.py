"""A scenario as an Excel workbook: Sheet A of inputs, Distributions, Correlations, Observed.

The workbook is laid out like the input sheet of the 1993 model (Carrin, Ron & Murray
1993, Sheet A; ``shared/spec/MODEL.md`` section 2): one block per part of the model, one
row per input with its unit and a comment, per-year paths in year columns. Its rows are
derived from :data:`schemerisk.catalogue.CATALOGUE`, in catalogue order.

Reading builds the same nested mapping the YAML loader gives (so the one parser checks it)
and a map from each key path to its cell, so that every problem the parser finds is
reported at its cell: ``Sheet A!C14 (categories.farmers.insured_share): ...``.

The Distributions sheet holds one row per uncertain input (entry, target, family, p05 /
mode / p95 or other parameters, time structure, kind, ...), the Correlations sheet one
square matrix per correlation block, the Observed sheet the observations of
``schemerisk update`` (read by :mod:`schemerisk.scenario.observed_workbook`).

Workbooks with macros (``.xlsm``) are refused, as are encrypted workbooks and the old
binary ``.xls`` format; formulas are accepted where Excel or LibreOffice saved their value.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from schemerisk.catalogue import BLOCKS, CATALOGUE, Entry, Read, by_block
from schemerisk.errors import InputError, Problem

if TYPE_CHECKING:
    from schemerisk.scenario.types import Scenario

SHEET_A = "Sheet A"
DISTRIBUTIONS = "Distributions"
CORRELATIONS = "Correlations"
OBSERVED = "Observed"
#: the marks of a workbook written by schemerisk (document properties)
CREATOR = "schemerisk"
SUBJECT = "scenario"
#: first line of a YAML file written by ``schemerisk convert`` (how output.py knows it)
YAML_MARK = "# written by schemerisk"
#: header cells of Sheet A
H_INPUT, H_UNIT, H_VALUE, H_COMMENT, H_KEY = "Input", "Unit", "Value", "Comment", "Key"
#: columns of the Distributions sheet; p05/mode/p95 are the usual parameters, any other goes
#: in "parameters" as ``name: value, ...``
DIST_COLUMNS = (
    "entry",
    "target",
    "family",
    "p05",
    "mode",
    "p95",
    "parameters",
    "time",
    "persistence",
    "path",
    "kind",
    "apply",
    "clip",
    "label",
    "note",
)
_DIST_PARAMS = ("p05", "mode", "p95")
_ENTRY_KEYS = ("time", "persistence", "path", "kind", "apply", "clip", "label", "note")
#: the signature of an OLE compound file (CFB): old .xls, and encrypted .xlsx
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
#: Sheet A's rows above the header: a title and a line of help
_HEADER_ROW = 4
#: largest workbook read (bytes): a scenario is a few kilobytes
MAX_BYTES = 20 * 2**20


class WorkbookError(InputError):
    """A workbook that cannot be read as a scenario; every problem names its sheet and cell."""

    def __init__(self, source: str, problems: list[Problem], kind: str = "workbook") -> None:
        super().__init__(source, problems, kind=kind)


# --- which entry a concrete key path is -------------------------------------------------------


def match_entry(path: tuple[str, ...]) -> Entry | None:
    """The catalogue entry a concrete key path is an instance of (``"*"`` matches any name).

    Parameters
    ----------
    path : tuple of str
        E.g. ``("categories", "farmers", "insured_share")``.

    Returns
    -------
    Entry or None
        None when no entry matches.
    """
    for e in CATALOGUE:
        if len(e.path) == len(path) and all(
            p in ("*", k) for p, k in zip(e.path, path, strict=True)
        ):
            return e
    return None


def flatten(doc: Mapping[str, Any]) -> list[tuple[tuple[str, ...], Any]]:
    """The leaves of a scenario mapping, one per input given, as (key path, value).

    A premium subsidy ``{payer: government, share: 0.5}`` becomes the leaf
    ``categories.*.premium_subsidy.government.share``, as the catalogue declares it; the
    items of ``service_rate_targets`` are numbered from 0.

    Parameters
    ----------
    doc : mapping
        A scenario as the YAML loader gives it.

    Returns
    -------
    list of (tuple of str, object)
        In the mapping's order.
    """
    out: list[tuple[tuple[str, ...], Any]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if path and match_entry(path) is not None:
            out.append((path, node))
        elif path and path[-1] == "premium_subsidy":
            for item in node if isinstance(node, list) else [node]:
                if not isinstance(item, Mapping):
                    out.append((path, node))
                    return
                payer = str(item.get("payer", "government"))
                for k, v in item.items():
                    if k != "payer":
                        out.append(((*path, payer, str(k)), v))
        elif isinstance(node, Mapping) and node:
            for k, v in node.items():
                walk(v, (*path, str(k)))
        elif path == ("service_rate_targets",) and isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, (*path, str(i)))
        else:  # not an input the catalogue knows: kept, so that the parser names it
            out.append((path, node))

    walk(doc, ())
    return out


def unflatten(leaves: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    """The scenario mapping of its leaves (the inverse of :func:`flatten`).

    Parameters
    ----------
    leaves : list of (tuple of str, object)
        Key paths and values.

    Returns
    -------
    dict
        The nested mapping the parser reads.
    """
    doc: dict[str, Any] = {}
    subsidies: dict[tuple[str, ...], dict[str, dict[str, Any]]] = {}
    for path, value in leaves:
        if len(path) >= 3 and path[-3] == "premium_subsidy":
            subsidies.setdefault(path[:-2], {}).setdefault(path[-2], {})[path[-1]] = value
            continue
        node = doc
        for k in path[:-1]:
            node = node.setdefault(k, {})
        node[path[-1]] = value
    for path, by_payer in subsidies.items():
        node = doc
        for k in path[:-1]:
            node = node.setdefault(k, {})
        items = [{"payer": p, **vals} for p, vals in by_payer.items()]
        node[path[-1]] = items[0] if len(items) == 1 else items
    targets = doc.get("service_rate_targets")
    if isinstance(targets, dict) and all(k.isdigit() for k in targets):
        doc["service_rate_targets"] = [targets[k] for k in sorted(targets, key=int)]
    return doc


# --- writing ----------------------------------------------------------------------------------


def plain(node: Any) -> Any:
    """A parsed YAML document as plain dicts and lists (the loader's mappings remember lines).

    Parameters
    ----------
    node : object
        A document or part of one.

    Returns
    -------
    object
        The same values, in built-in containers.
    """
    if isinstance(node, Mapping):
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


def _flow(value: Any) -> str:
    """A mapping or list as one line of YAML, for one cell."""
    return str(
        yaml.safe_dump(plain(value), default_flow_style=True, width=math.inf, sort_keys=False)
    )[:-1].removesuffix("\n...")


def _put(cell: Any, value: Any) -> None:
    """Write a plain value to a cell; text is always text (never run as a formula)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def _names(doc: Mapping[str, Any], key: str) -> list[str]:
    node = doc.get(key)
    return [str(k) for k in node] if isinstance(node, Mapping) else []


def _absent_rows(e: Entry, doc: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """Key paths to show empty for an input not given: by category or service, or plain."""
    stars = [i for i, k in enumerate(e.path) if k == "*"]
    if not stars:
        return [e.path]
    if len(stars) == 1 and stars[0] == 1 and e.path[0] in ("categories", "services"):
        return [(e.path[0], n, *e.path[2:]) for n in _names(doc, e.path[0])]
    return []


def _default_text(e: Entry) -> str:
    d = e.default
    if hasattr(d, "meaning"):
        return str(d.meaning)
    return "true" if d is True else "false" if d is False else str(d)


def write_workbook(
    path: Path,
    doc: Mapping[str, Any],
    dists: Mapping[str, Any] | None = None,
    *,
    observed: bool = True,
) -> None:
    """Write a scenario (and its distributions) as a workbook at ``path``.

    Parameters
    ----------
    path : Path
        The file to write (the caller has checked and reserved the destination).
    doc : mapping
        The scenario as the YAML loader gives it.
    dists : mapping, optional
        The distributions file as the YAML loader gives it; without it the Distributions
        and Correlations sheets have their headers only.
    observed : bool
        Whether to add an empty Observed sheet (for ``schemerisk update``).
    """
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    wb.properties.creator = CREATOR
    wb.properties.subject = SUBJECT
    ws = wb.active
    assert ws is not None
    ws.title = SHEET_A
    bold = Font(bold=True)
    grey = Font(color="808080")
    block_fill = PatternFill("solid", fgColor="DDEBF7")

    base = doc.get("base_year")
    horizon = doc.get("horizon", 10)
    leaves = flatten(doc)
    n_years = max(
        [int(horizon) + 1 if isinstance(horizon, int) else 1]
        + [len(v) for _, v in leaves if isinstance(v, list)]
    )
    value_col = 3
    first_year = value_col + 1
    comment_col = first_year + n_years
    key_col = comment_col + 1
    title = doc.get("title") or doc.get("name") or "scenario"
    _put(ws.cell(1, 1), f"Sheet A: the inputs of {title}")
    ws.cell(1, 1).font = Font(bold=True, size=14)
    _put(
        ws.cell(2, 1),
        "One row per input. A per-year path: one number in Value (every year), or one number "
        "per year in the year columns. Rates and shares are fractions (0.15 or 15 %). Leave a "
        "cell empty for the default (in the comment). The Key column is what schemerisk reads.",
    )
    headers = [H_INPUT, H_UNIT, H_VALUE]
    for c, h in enumerate(headers, start=1):
        _put(ws.cell(_HEADER_ROW, c), h)
    for i in range(n_years):
        year = int(base) + i if isinstance(base, int) else i
        ws.cell(_HEADER_ROW, first_year + i).value = year
    _put(ws.cell(_HEADER_ROW, comment_col), H_COMMENT)
    _put(ws.cell(_HEADER_ROW, key_col), H_KEY)
    for c in range(1, key_col + 1):
        ws.cell(_HEADER_ROW, c).font = bold

    given = {p: v for p, v in leaves}
    validations: dict[str, DataValidation] = {}

    def validate(e: Entry, ref: str) -> None:
        dom = e.domain
        if dom.choices is not None:
            key = "list:" + ",".join(dom.choices)
            if key not in validations:
                validations[key] = DataValidation(
                    type="list", formula1='"' + ",".join(dom.choices) + '"', allow_blank=True
                )
        elif dom.percent and dom.lo == 0.0 and dom.hi == 1.0:
            key = "share"
            if key not in validations:
                validations[key] = DataValidation(
                    type="decimal", operator="between", formula1="0", formula2="1",
                    allow_blank=True, errorTitle="A share", error="A share between 0 and 1 "
                    "(0.15 for 15 %)", showErrorMessage=True,
                )  # fmt: skip
        else:
            return
        validations[key].add(ref)

    row = _HEADER_ROW + 1
    shown: set[tuple[str, ...]] = set()
    blocks = by_block()
    for number, block in enumerate(BLOCKS):
        rows: list[tuple[Entry | None, tuple[str, ...], Any, bool]] = []
        for decl in blocks[block]:
            paths = [p for p, _ in leaves if match_entry(p) is decl]
            for p in paths:
                rows.append((decl, p, given[p], True))
            if not paths:
                rows.extend((decl, p, None, False) for p in _absent_rows(decl, doc))
        if block == BLOCKS[-1]:  # inputs the catalogue does not know: kept for the parser
            rows.extend((None, p, v, True) for p, v in leaves if match_entry(p) is None)
        if not rows:
            continue
        _put(ws.cell(row, 1), f"{number}. {block.capitalize()}" if number else "Scenario")
        for c in range(1, key_col + 1):
            ws.cell(row, c).fill = block_fill
            ws.cell(row, c).font = bold
        row += 1
        for e, p, value, present in rows:
            if p in shown:
                continue
            shown.add(p)
            names = [k for k, pat in zip(p, e.path, strict=True) if pat == "*"] if e else []
            label = (e.label if e else p[-1]) + (f" ({', '.join(names)})" if names else "")
            _put(ws.cell(row, 1), label)
            _put(ws.cell(row, 2), e.unit if e else "")
            comment = e.description if e else "not an input schemerisk knows"
            if e is not None and not present:
                comment += f"; default: {_default_text(e)}"
            _put(ws.cell(row, comment_col), comment)
            ws.cell(row, comment_col).font = grey
            _put(ws.cell(row, key_col), ".".join(p))
            ws.cell(row, key_col).font = grey
            yearly = e is not None and e.read is Read.PATH
            if isinstance(value, list) and (yearly or all(_plain(v) for v in value)):
                for i, v in enumerate(value):
                    _put(ws.cell(row, first_year + i), v)
                    if e is not None:
                        validate(e, ws.cell(row, first_year + i).coordinate)
            else:
                if isinstance(value, list | Mapping):
                    value = _flow(value)
                elif isinstance(value, bool) and e is not None and e.domain.choices:
                    value = "true" if value else "false"
                _put(ws.cell(row, value_col), value)
                if e is not None:
                    validate(e, ws.cell(row, value_col).coordinate)
                    if yearly:  # a path may be given year by year too
                        last = get_column_letter(first_year + n_years - 1)
                        validate(e, f"{get_column_letter(first_year)}{row}:{last}{row}")
            if e is not None and not present and e.domain.choices is None:
                ws.cell(row, value_col).comment = Comment(f"default: {_default_text(e)}", CREATOR)
            row += 1
    for dv in validations.values():
        ws.add_data_validation(dv)
    ws.freeze_panes = ws.cell(_HEADER_ROW + 1, value_col)
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 18
    ws.column_dimensions[get_column_letter(value_col)].width = 14
    ws.column_dimensions[get_column_letter(comment_col)].width = 60
    ws.column_dimensions[get_column_letter(key_col)].width = 45

    _write_distributions(wb, dists or {})
    if observed:
        from schemerisk.analysis.update import ERROR_COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS

        obs = wb.create_sheet(OBSERVED)
        for c, h in enumerate((*REQUIRED_COLUMNS, ERROR_COLUMNS[0], *OPTIONAL_COLUMNS), 1):
            _put(obs.cell(1, c), h)
            obs.cell(1, c).font = bold
        obs.freeze_panes = "A2"
    wb.save(path)


def _plain(v: Any) -> bool:
    return isinstance(v, int | float | str) and not isinstance(v, bool)


def _write_distributions(wb: Any, dists: Mapping[str, Any]) -> None:
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    from schemerisk.uncertainty.families import FAMILIES
    from schemerisk.uncertainty.space import Apply, InputKind, PathMode, Time

    bold = Font(bold=True)
    ws = wb.create_sheet(DISTRIBUTIONS)
    for r, key in enumerate(("scenario", "title", "notes"), start=1):
        _put(ws.cell(r, 1), key)
        ws.cell(r, 1).font = bold
        if key in dists:
            v = dists[key]
            _put(ws.cell(r, 2), _flow(v) if isinstance(v, list | Mapping) else v)
    header = 5
    for c, h in enumerate(DIST_COLUMNS, start=1):
        _put(ws.cell(header, c), h)
        ws.cell(header, c).font = bold
    col = {h: i for i, h in enumerate(DIST_COLUMNS, start=1)}
    inputs = dists.get("inputs") or {}
    row = header + 1
    for name, spec in inputs.items():
        _put(ws.cell(row, col["entry"]), str(name))
        spec = dict(spec) if isinstance(spec, Mapping) else {}
        if "target" in spec:
            _put(ws.cell(row, col["target"]), spec["target"])
        dist = spec.get("distribution")
        if isinstance(dist, Mapping):
            rest = {k: v for k, v in dist.items() if k != "family" and k not in _DIST_PARAMS}
            if "family" in dist:
                _put(ws.cell(row, col["family"]), dist["family"])
            for k in _DIST_PARAMS:
                if k in dist:
                    _put(ws.cell(row, col[k]), dist[k])
            if rest:
                _put(ws.cell(row, col["parameters"]), _flow(rest)[1:-1])
        for k in _ENTRY_KEYS:
            if k in spec:
                v = spec[k]
                _put(ws.cell(row, col[k]), _flow(v) if isinstance(v, list | Mapping) else v)
        row += 1
    last = max(row, header + 200)
    for name, words in (
        ("family", tuple(FAMILIES)),
        ("time", tuple(t.value for t in Time)),
        ("path", tuple(p.value for p in PathMode)),
        ("kind", tuple(k.value for k in InputKind)),
        ("apply", tuple(a.value for a in Apply)),
    ):
        dv = DataValidation(type="list", formula1='"' + ",".join(words) + '"', allow_blank=True)
        letter = ws.cell(header, col[name]).column_letter
        dv.add(f"{letter}{header + 1}:{letter}{last}")
        ws.add_data_validation(dv)
    ws.freeze_panes = ws.cell(header + 1, 2)
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 40

    cs = wb.create_sheet(CORRELATIONS)
    _put(cs.cell(1, 1), "One block per correlation matrix: a 'block' row, then the matrix with")
    _put(cs.cell(2, 1), "the entries' names along its first row and column (Spearman ranks).")
    row = 4
    blocks = dists.get("correlations") or []
    for b, block in enumerate(blocks if isinstance(blocks, list) else [blocks], start=1):
        _put(cs.cell(row, 1), "block")
        cs.cell(row, 1).font = bold
        cs.cell(row, 2).value = b
        names = list(block.get("entries") or [])
        for i, n in enumerate(names):
            _put(cs.cell(row + 1, 2 + i), n)
            _put(cs.cell(row + 2 + i, 1), n)
            cs.cell(row + 1, 2 + i).font = bold
            cs.cell(row + 2 + i, 1).font = bold
        for i, line in enumerate(block.get("matrix") or []):
            for j, v in enumerate(line):
                _put(cs.cell(row + 2 + i, 2 + j), v)
        row += len(names) + 3
    cs.column_dimensions["A"].width = 28


# --- reading ----------------------------------------------------------------------------------


def check_container(path: Path) -> None:
    """Refuse, with one message, what is not an .xlsx workbook openpyxl can read safely.

    An encrypted workbook is an OLE compound file holding an ``EncryptionInfo`` stream
    ([MS-OFFCRYPTO] 2.3.4); an old binary workbook (.xls) is a compound file without it;
    a macro-enabled workbook carries ``xl/vbaProject.bin``.

    Parameters
    ----------
    path : Path
        The file.

    Raises
    ------
    WorkbookError
        Naming the file and what to do.
    """
    source = str(path)

    def refuse(message: str) -> WorkbookError:
        return WorkbookError(source, [Problem("(the file)", message)])

    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
            data = head + fh.read() if head == _CFB_MAGIC and size <= MAX_BYTES else head
    except OSError as exc:
        raise refuse(f"the file cannot be read: {exc.strerror or exc}") from None
    if size > MAX_BYTES:
        raise refuse(f"{size / 2**20:.0f} MiB is too large for a scenario workbook")
    if head == _CFB_MAGIC:
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise refuse(
                "the workbook is encrypted (password-protected): remove the password in Excel "
                "(File > Info > Protect Workbook > Encrypt with Password, empty) or LibreOffice "
                "(File > Save As, without a password) and save it again as .xlsx"
            )
        raise refuse(
            "this is an old-format Excel 97-2003 workbook (.xls): open it in Excel or "
            "LibreOffice and save it as an Excel workbook (.xlsx)"
        )
    if head[:4] != _ZIP_MAGIC:
        raise refuse("not an Excel workbook (.xlsx): expected a zip-based Office Open XML file")
    if path.suffix.lower() == ".xlsm":
        raise refuse(
            "macro-enabled workbooks (.xlsm) are refused: schemerisk runs no macros; save it as "
            "an Excel workbook (.xlsx)"
        )
    try:
        with zipfile.ZipFile(path) as zf:
            if any(n.lower().endswith("vbaproject.bin") for n in zf.namelist()):
                raise refuse(
                    "the workbook contains macros, which schemerisk refuses (it runs none): save "
                    "it as an Excel workbook (.xlsx) without macros"
                )
    except zipfile.BadZipFile:
        raise refuse("not a readable .xlsx workbook (a damaged zip file)") from None


def is_workbook(path: str | Path) -> bool:
    """Whether ``path`` names a workbook (by its suffix: .xlsx, .xlsm, .xls)."""
    return Path(path).suffix.lower() in (".xlsx", ".xlsm", ".xls")


class _Sheets:
    """A workbook opened twice: with formulas, and with the values Excel saved for them."""

    def __init__(self, path: Path) -> None:
        from openpyxl import load_workbook

        check_container(path)
        self.source = str(path)
        try:
            self.formulas = load_workbook(path, data_only=False)
            self.values = load_workbook(path, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise WorkbookError(
                self.source, [Problem("(the file)", f"not a readable .xlsx workbook: {exc}")]
            ) from None

    def sheet(self, name: str, required: bool = True) -> Any:
        if name in self.values.sheetnames:
            return self.values[name]
        if not required:
            return None
        raise WorkbookError(
            self.source,
            [
                Problem(
                    name,
                    f"missing sheet '{name}' (sheets: {', '.join(self.values.sheetnames)}); "
                    "start from `schemerisk template -o FILE.xlsx`",
                )
            ],
        )

    def value(self, ws: Any, row: int, col: int, problems: list[Problem]) -> Any:
        """A cell's value, or None with a problem for a formula without a usable value."""
        cell = ws.cell(row, col)
        ref = f"{ws.title}!{cell.coordinate}"
        formula = self.formulas[ws.title].cell(row, col)
        if formula.data_type == "f":
            if cell.value is None:
                problems.append(
                    Problem(
                        ref,
                        f"the formula {formula.value} has no saved value: open the workbook in "
                        "Excel or LibreOffice and save it, so that its values are stored",
                    )
                )
                return None
        if cell.data_type == "e":
            problems.append(Problem(ref, f"the cell's formula evaluates to the error {cell.value}"))
            return None
        value = cell.value
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
        return value

    def merged(self, ws: Any, first_row: int, last_col: int, problems: list[Problem]) -> None:
        for rng in ws.merged_cells.ranges:
            if rng.max_row >= first_row and rng.min_col <= last_col:
                problems.append(
                    Problem(
                        f"{ws.title}!{rng.coord}",
                        "merged cells in the data area: unmerge them (one value per cell)",
                    )
                )


def _parse_text(value: Any) -> Any:
    """A cell's text that is a YAML list or mapping (a path's move to a target, names)."""
    if isinstance(value, str) and value[:1] in "[{":
        return yaml.safe_load(value)
    return value


def read_sheet_a(sheets: _Sheets) -> tuple[dict[str, Any], dict[str, str]]:
    """Sheet A as the scenario mapping, and each key path's cell.

    Parameters
    ----------
    sheets : _Sheets
        The opened workbook.

    Returns
    -------
    tuple of (dict, dict)
        The mapping the parser reads, and ``key path (with [i] for a year) -> "Sheet A!C14"``.

    Raises
    ------
    WorkbookError
        A missing sheet or header, merged cells in the data area, a formula without a
        usable value, a value without a key, a key given twice.
    """
    ws = sheets.sheet(SHEET_A)
    problems: list[Problem] = []
    header_row = None
    for r in range(1, min(ws.max_row, 20) + 1):
        if any(ws.cell(r, c).value == H_KEY for c in range(1, ws.max_column + 1)):
            header_row = r
            break
    if header_row is None:
        raise WorkbookError(
            sheets.source,
            [Problem(f"{SHEET_A}!A{_HEADER_ROW}", f"no header row with a '{H_KEY}' column")],
        )
    heads = {c: ws.cell(header_row, c).value for c in range(1, ws.max_column + 1)}
    key_col = next(c for c, h in heads.items() if h == H_KEY)
    value_col = next((c for c, h in heads.items() if h == H_VALUE), None)
    if value_col is None:
        raise WorkbookError(
            sheets.source,
            [Problem(f"{SHEET_A}!{ws.cell(header_row, 1).coordinate}", "no 'Value' column")],
        )
    year_cols = [
        c
        for c, h in heads.items()
        if isinstance(h, int) and not isinstance(h, bool) and c > value_col
    ]
    sheets.merged(ws, header_row + 1, key_col, problems)
    leaves: list[tuple[tuple[str, ...], Any]] = []
    cells: dict[str, str] = {}
    for r in range(header_row + 1, ws.max_row + 1):
        key = sheets.value(ws, r, key_col, problems)
        value = sheets.value(ws, r, value_col, problems)
        yearly = [sheets.value(ws, r, c, problems) for c in year_cols]
        ref = f"{SHEET_A}!{ws.cell(r, value_col).coordinate}"
        if key is None:
            if value is not None or any(v is not None for v in yearly):
                problems.append(
                    Problem(ref, f"a value without a key: the {H_KEY} column says which input")
                )
            continue
        key = str(key)
        if key in cells:
            problems.append(Problem(ref, f"'{key}' is given twice (also at {cells[key]})"))
            continue
        given = [i for i, v in enumerate(yearly) if v is not None]
        if value is not None and given:
            problems.append(Problem(ref, f"{key}: give one Value or one value per year, not both"))
            continue
        if given:
            last = given[-1]
            gaps = [i for i in range(last + 1) if yearly[i] is None]
            if gaps:
                at = ws.cell(r, year_cols[gaps[0]]).coordinate
                problems.append(
                    Problem(f"{SHEET_A}!{at}", f"{key}: a year is empty inside the yearly values")
                )
                continue
            cells[key] = f"{SHEET_A}!{ws.cell(r, year_cols[0]).coordinate}"
            for i in range(last + 1):
                cells[f"{key}[{i}]"] = f"{SHEET_A}!{ws.cell(r, year_cols[i]).coordinate}"
            leaves.append((tuple(key.split(".")), yearly[: last + 1]))
        elif value is not None:
            cells[key] = ref
            try:
                parsed = _parse_text(value)
            except yaml.YAMLError:
                problems.append(Problem(ref, f"{key}: cannot read {value!r} as a list or mapping"))
                continue
            leaves.append((tuple(key.split(".")), _flag(key, parsed)))
    if problems:
        raise WorkbookError(sheets.source, problems)
    return unflatten(leaves), cells


def _flag(key: str, value: Any) -> Any:
    """``"true"``/``"false"`` chosen from a list are the YAML booleans for a switch."""
    e = match_entry(tuple(key.split(".")))
    if e is not None and e.read is Read.FLAG and isinstance(value, str):
        return {"true": True, "false": False}.get(value.lower(), value)
    return value


def read_distributions(sheets: _Sheets) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The Distributions and Correlations sheets as a distributions mapping (None if empty).

    Parameters
    ----------
    sheets : _Sheets
        The opened workbook.

    Returns
    -------
    tuple of (dict or None, dict)
        The mapping the distributions parser reads, and each key path's cell.
    """
    ws = sheets.sheet(DISTRIBUTIONS, required=False)
    if ws is None:
        return None, {}
    problems: list[Problem] = []
    top: dict[str, Any] = {}
    cells: dict[str, str] = {}
    header_row = None
    for r in range(1, min(ws.max_row, 20) + 1):
        a = sheets.value(ws, r, 1, problems)
        if a == "entry":
            header_row = r
            break
        if a in ("scenario", "title", "notes"):
            v = sheets.value(ws, r, 2, problems)
            if v is not None:
                top[a] = _parse_text(v) if a == "notes" else v
                cells[a] = f"{DISTRIBUTIONS}!B{r}"
    if header_row is None:
        raise WorkbookError(
            sheets.source, [Problem(f"{DISTRIBUTIONS}!A1", "no header row starting with 'entry'")]
        )
    heads = {
        c: str(ws.cell(header_row, c).value)
        for c in range(1, ws.max_column + 1)
        if ws.cell(header_row, c).value is not None
    }
    for c, h in heads.items():
        if h not in DIST_COLUMNS:
            problems.append(
                Problem(
                    f"{DISTRIBUTIONS}!{ws.cell(header_row, c).coordinate}",
                    f"unknown column '{h}' (columns: {', '.join(DIST_COLUMNS)})",
                )
            )
    sheets.merged(ws, header_row + 1, max(heads, default=1), problems)
    inputs: dict[str, Any] = {}
    for r in range(header_row + 1, ws.max_row + 1):
        row = {h: sheets.value(ws, r, c, problems) for c, h in heads.items()}
        if all(v is None for v in row.values()):
            continue
        name = row.get("entry")
        ref = f"{DISTRIBUTIONS}!A{r}"
        if name is None:
            problems.append(Problem(ref, "a row without an entry name"))
            continue
        name = str(name)
        if name in inputs:
            problems.append(Problem(ref, f"entry '{name}' is given twice"))
            continue
        spec: dict[str, Any] = {}
        cols = {h: c for c, h in heads.items()}
        p = f"inputs.{name}"
        cells[p] = ref
        if row.get("target") is not None:
            spec["target"] = row["target"]
            cells[f"{p}.target"] = f"{DISTRIBUTIONS}!{ws.cell(r, cols['target']).coordinate}"
        dist: dict[str, Any] = {}
        if row.get("family") is not None:
            dist["family"] = row["family"]
        for k in _DIST_PARAMS:
            if row.get(k) is not None:
                dist[k] = row[k]
                cells[f"{p}.distribution.{k}"] = f"{DISTRIBUTIONS}!{ws.cell(r, cols[k]).coordinate}"
        if row.get("parameters") is not None:
            at = f"{DISTRIBUTIONS}!{ws.cell(r, cols['parameters']).coordinate}"
            try:
                extra = yaml.safe_load("{" + str(row["parameters"]) + "}")
            except yaml.YAMLError:
                problems.append(
                    Problem(at, "cannot read the parameters: write them as 'low: 0.1, high: 0.3'")
                )
                continue
            for k in extra:
                cells[f"{p}.distribution.{k}"] = at
            dist.update(extra)
        if dist:
            spec["distribution"] = dist
            cells[f"{p}.distribution"] = f"{DISTRIBUTIONS}!{ws.cell(r, cols['family']).coordinate}"
        for k in _ENTRY_KEYS:
            if row.get(k) is not None:
                spec[k] = _parse_text(row[k]) if k == "note" else row[k]
                cells[f"{p}.{k}"] = f"{DISTRIBUTIONS}!{ws.cell(r, cols[k]).coordinate}"
        inputs[name] = spec
    correlations = _read_correlations(sheets, problems, cells)
    if problems:
        raise WorkbookError(sheets.source, problems, kind="distributions workbook")
    if not inputs:
        return None, cells
    top["inputs"] = inputs
    if correlations:
        top["correlations"] = correlations
    return top, cells


def _read_correlations(
    sheets: _Sheets, problems: list[Problem], cells: dict[str, str]
) -> list[dict[str, Any]]:
    ws = sheets.sheet(CORRELATIONS, required=False)
    if ws is None:
        return []
    sheets.merged(ws, 4, ws.max_column, problems)
    out: list[dict[str, Any]] = []
    r = 1
    while r <= ws.max_row:
        if sheets.value(ws, r, 1, problems) != "block":
            r += 1
            continue
        p = f"correlations[{len(out)}]"
        cells[p] = f"{CORRELATIONS}!A{r}"
        names = []
        c = 2
        while (v := sheets.value(ws, r + 1, c, problems)) is not None:
            names.append(str(v))
            c += 1
        cells[f"{p}.entries"] = f"{CORRELATIONS}!B{r + 1}"
        cells[f"{p}.matrix"] = f"{CORRELATIONS}!B{r + 2}"
        matrix = []
        for i in range(len(names)):
            line = [sheets.value(ws, r + 2 + i, 2 + j, problems) for j in range(len(names))]
            for j, v in enumerate(line):
                if v is None or isinstance(v, str | bool):
                    at = ws.cell(r + 2 + i, 2 + j).coordinate
                    problems.append(
                        Problem(f"{CORRELATIONS}!{at}", f"expected a correlation, got {v!r}")
                    )
            matrix.append(line)
        out.append({"entries": names, "matrix": matrix})
        r += len(names) + 2
    return out


def _where(path: str, cells: Mapping[str, str]) -> str | None:
    """The cell of a problem's key path: itself, or the nearest key above or below it."""
    probe = path
    while probe:
        if probe in cells:
            return cells[probe]
        cut = max(probe.rfind("."), probe.rfind("["))
        if cut <= 0:
            break
        probe = probe[:cut]
    below = [c for k, c in cells.items() if k.startswith(path + ".")] if path else []
    return below[0] if below else None


def readdress(exc: InputError, source: str, cells: Mapping[str, str], sheet: str) -> InputError:
    """The parser's error with each problem at its cell (``Sheet A!C14 (key): message``).

    Parameters
    ----------
    exc : InputError
        The parser's error (its problems name key paths).
    source : str
        The workbook.
    cells : mapping
        Key path -> cell, from the reader.
    sheet : str
        Where a problem without a cell is put.

    Returns
    -------
    InputError
        Naming the workbook and the cells.
    """
    problems = []
    for p in exc.problems:
        at = _where(p.path, cells)
        where = f"{at or sheet} ({p.path})" if p.path else (at or sheet)
        problems.append(Problem(where, p.message))
    return InputError(source, problems, kind=f"{exc.kind} workbook")


def yaml_document(doc: Mapping[str, Any], origin: str) -> str:
    """A scenario or distributions mapping as a YAML file, marked as written by schemerisk.

    Parameters
    ----------
    doc : mapping
        The mapping (from :func:`read_documents`).
    origin : str
        Said on the first line, after the mark.

    Returns
    -------
    str
        The file's text; its first line starts with :data:`YAML_MARK`.
    """
    return f"{YAML_MARK}: {origin}\n" + _yaml_text(doc)


def _yaml_text(doc: Mapping[str, Any]) -> str:
    return str(yaml.safe_dump(plain(doc), sort_keys=False, allow_unicode=True, width=100))


def open_workbook(path: str | Path) -> _Sheets:
    """Open a workbook after checking its container (see :func:`check_container`)."""
    return _Sheets(Path(path))


def scenario_from_workbook(path: str | Path) -> Scenario:
    """Load and validate the scenario of a workbook's Sheet A.

    Parameters
    ----------
    path : str or Path
        The .xlsx file.

    Returns
    -------
    Scenario
        As :func:`schemerisk.scenario.parse.parse_scenario` gives it.

    Raises
    ------
    InputError
        Every problem found, each at its sheet and cell.
    """
    from schemerisk.scenario.parse import parse_scenario

    p = Path(path)
    sheets = open_workbook(p)
    doc, cells = read_sheet_a(sheets)
    try:
        return parse_scenario(_yaml_text(doc), source=str(p), default_name=p.stem)
    except InputError as exc:
        raise readdress(exc, str(p), cells, SHEET_A) from None


def distributions_text(path: str | Path) -> tuple[str, dict[str, str]]:
    """The Distributions sheet of a workbook as distributions YAML text, and its cells.

    Parameters
    ----------
    path : str or Path
        The .xlsx file.

    Returns
    -------
    tuple of (str, dict)
        The text the distributions parser reads, and key path -> cell.

    Raises
    ------
    InputError
        When the workbook has no uncertain inputs, or a sheet is malformed.
    """
    p = Path(path)
    dists, cells = read_distributions(open_workbook(p))
    if dists is None:
        raise WorkbookError(
            str(p),
            [
                Problem(
                    DISTRIBUTIONS,
                    "the Distributions sheet lists no uncertain inputs: fill it, or give a "
                    "distributions file",
                )
            ],
            kind="distributions workbook",
        )
    return _yaml_text(dists), cells


def read_documents(path: str | Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A workbook's scenario and distributions as the mappings their YAML files hold.

    Parameters
    ----------
    path : str or Path
        The .xlsx file.

    Returns
    -------
    tuple of (dict, dict or None)
        The scenario, and the distributions (None when the sheet lists none).
    """
    sheets = open_workbook(Path(path))
    doc, _ = read_sheet_a(sheets)
    dists, _ = read_distributions(sheets)
    return doc, dists


__all__ = [
    "CORRELATIONS",
    "DISTRIBUTIONS",
    "OBSERVED",
    "SHEET_A",
    "WorkbookError",
    "check_container",
    "distributions_text",
    "flatten",
    "is_workbook",
    "match_entry",
    "read_documents",
    "scenario_from_workbook",
    "unflatten",
    "write_workbook",
]
