"""Results as an Excel workbook, for analysts who work in spreadsheets.

The workbook reuses the tables the rest of schemerisk already defines, so it
cannot drift from them:

* **Sheet C** -- the rows of :func:`schemerisk.reports.tables.sheet_c_sections`
  (the paper's Sheet C, MODEL.md section 4), years as columns, in full units
  (the printed tables divide by ``--scale``; a spreadsheet formats instead).
* **Balance fan**, **Deficit risk**, **Sobol indices**, **Priorities** -- the
  columns, units and meanings of :data:`schemerisk.reports.html.TABLE_COLUMNS`
  (the report's CSV tables), written at full precision.
* **About** -- scenario, distributions, seed, number of projections, the
  schemerisk version, the deficit-size definitions
  (:data:`schemerisk.analysis.risk.DEFICIT_SIZES`) and what every column means.

A value that is not finite (an overflow, or 0/0; see
:mod:`schemerisk.uncertainty.nonfinite`) is written as the text ``unknown``,
never as a number, and the charts leave a gap there; the deficit table always
carries the count of unknown projections, so an unknown year never reads as a
safe one.

Write a workbook through :meth:`schemerisk.output.Reservation.write_workbook`,
which marks it as a schemerisk result (document properties creator
``schemerisk``, subject ``results``).
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from schemerisk import __version__
from schemerisk.analysis.risk import DEFICIT_SIZES, counted_probability
from schemerisk.reports.tables import sheet_c_sections
from schemerisk.uncertainty.nonfinite import finite

if TYPE_CHECKING:
    from schemerisk.analysis.risk import RiskReport
    from schemerisk.analysis.study import Study
    from schemerisk.scenario.types import Scenario
    from schemerisk.uncertainty.space import ParameterSpace

#: the balance quantiles of the fan chart (as the HTML report's fan and balance_quantiles.csv)
FAN_LEVELS: tuple[float, ...] = (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95)
#: what a non-finite value is written as: never a number, never read as "no deficit"
UNKNOWN = "unknown"
#: the row of every table's header (row 1: the title, row 2: a note); data start below it
HEADER_ROW = 3
#: sheet names, in the order they appear
SHEETS = {
    "about": "About",
    "sheet_c": "Sheet C",
    "fan": "Balance fan",
    "risk": "Deficit risk",
    "sobol": "Sobol indices",
    "priorities": "Priorities",
}
#: what each sheet holds (the About sheet and the README list these)
SHEET_NOTES = {
    "about": "what was run: scenario, distributions, seed, number of projections, version, "
    "definitions",
    "sheet_c": "the deterministic projection laid out as the paper's Sheet C, years as columns",
    "fan": "percentiles of the balance by year (the fan chart), with a native chart",
    "risk": "P(deficit) by year with its 95 % interval, the unknown projections, deficit sizes "
    "and the required premium multiplier, with a native chart",
    "sobol": "Sobol' indices of the balance, its share of revenue and the deficit indicator",
    "priorities": "which data to collect first: Sobol' indices and EVPPI per input and year",
}
#: Excel number formats
PERCENT = "0.0%"
PERCENT_FINE = "0.00%"
COUNT = "#,##0"
INDEX = "#,##0.00"
RATIO = "0.000"
TEXT = "General"


def amount_format(currency: str) -> str:
    """Excel number format of an amount: thousands separators and the scenario's currency.

    Parameters
    ----------
    currency : str
        The scenario's currency (e.g. ``VND``); double quotes are dropped.

    Returns
    -------
    str
        E.g. ``#,##0 "VND"``.
    """
    return f'#,##0 "{currency.replace(chr(34), "")}"'


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, unit (as shown in the header), format and meaning."""

    name: str
    unit: str
    number_format: str
    description: str

    @property
    def header(self) -> str:
        """``name [unit]``, or the bare name for years, labels and text."""
        return f"{self.name} [{self.unit}]" if self.unit else self.name


def _is_share(name: str) -> bool:
    return name.startswith("p_") or name.endswith("_share") or name in ("plan_percentile", "p_ruin")


def column(table: str, name: str, currency: str) -> Column:
    """The column ``name`` of a report table, from :data:`~schemerisk.reports.html.TABLE_COLUMNS`.

    Parameters
    ----------
    table : str
        The CSV file name the table has in the report (``deficit_risk.csv``, ...).
    name : str
        The column.
    currency : str
        The scenario's currency.

    Returns
    -------
    Column
        Probabilities and shares formatted as percentages (header unit ``%``),
        amounts with thousands separators and the currency, counts of draws
        with thousands separators, indices with three decimals.
    """
    from schemerisk.reports.html import TABLE_COLUMNS

    unit, description = TABLE_COLUMNS[table].get(name, ("", ""))
    if "{cur}" in unit:
        return Column(name, unit.format(cur=currency), amount_format(currency), description)
    if unit == "1":
        if _is_share(name):
            fmt = PERCENT_FINE if name.endswith("_se") else PERCENT
            return Column(name, "%", fmt, description)
        return Column(name, "1", RATIO, description)
    if unit == "draws":
        return Column(name, unit, COUNT, description)
    return Column(name, unit, "0" if name == "year" else TEXT, description)


def _plain(value: Any) -> Any:
    """A cell value: Python scalars; a non-finite number becomes :data:`UNKNOWN`."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return value if np.isfinite(value) else UNKNOWN
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))  # control characters a cell cannot hold


def _put(ws: Worksheet, row: int, col: int, value: Any, number_format: str = TEXT) -> None:
    """Write one cell; text is always text (a label starting with '=' is not run as a formula)."""
    cell = ws.cell(row=row, column=col)
    value = _plain(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would store '=...' as a formula
    elif number_format != TEXT:
        cell.number_format = number_format


def _title(ws: Worksheet, title: str, note: str) -> None:
    _put(ws, 1, 1, title)
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    _put(ws, 2, 1, note)
    ws.cell(row=2, column=1).font = Font(italic=True)


def _header(ws: Worksheet, headers: Sequence[str]) -> None:
    for j, text in enumerate(headers, start=1):
        _put(ws, HEADER_ROW, j, text)
        cell = ws.cell(row=HEADER_ROW, column=j)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")


def _shown(value: Any, number_format: str) -> str:
    """About the text Excel shows for ``value`` in ``number_format`` (to size the column)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    if number_format.startswith("#,##0 "):  # an amount with its currency
        return f"{value:,.0f}{number_format[5:]}"
    shown = {
        PERCENT: f"{value:.1%}",
        PERCENT_FINE: f"{value:.2%}",
        COUNT: f"{value:,.0f}",
        INDEX: f"{value:,.2f}",
        RATIO: f"{value:.3f}",
        "0": f"{value:.0f}",
    }
    return shown.get(number_format, f"{value:.6g}")


def _widths(ws: Worksheet, first: int = 16, rest: int = 12, most: int = 60) -> None:
    """Column widths from what is shown (capped at ``most``), at least ``first`` or ``rest``.

    A header wraps, so only its longest word counts; titles and notes in rows 1-2 overflow.
    """
    for j, cells in enumerate(ws.iter_cols(min_row=HEADER_ROW), start=1):
        longest = 0
        for cell in cells:
            if cell.value is None:
                continue
            if cell.row == HEADER_ROW:
                text = max(str(cell.value).split(), key=len, default="")
            else:
                text = _shown(cell.value, cell.number_format)
            longest = max(longest, len(text))
        ws.column_dimensions[get_column_letter(j)].width = min(
            most, max(first if j == 1 else rest, longest + 3)
        )
    # the header row as tall as its most wrapped header (15 points a line), so that it does not
    # run up over the note above it
    lines = 1
    for cell in ws[HEADER_ROW]:
        if cell.value is not None:
            w = ws.column_dimensions[get_column_letter(cell.column)].width or rest
            lines = max(lines, -(-len(str(cell.value)) // max(1, int(w) - 1)))
    ws.row_dimensions[HEADER_ROW].height = 15 * lines


def write_frame(
    ws: Worksheet, title: str, note: str, frame: pd.DataFrame, columns: Sequence[Column]
) -> int:
    """Write a table under a title: header row :data:`HEADER_ROW`, frozen with the first column.

    Parameters
    ----------
    ws : openpyxl worksheet
        An empty sheet.
    title, note : str
        Rows 1 and 2.
    frame : pandas.DataFrame
        The rows (index ignored); one column per :class:`Column`, by name.
    columns : sequence of Column
        What to write, in order.

    Returns
    -------
    int
        The number of data rows.
    """
    _title(ws, title, note)
    _header(ws, [c.header for c in columns])
    for j, c in enumerate(columns, start=1):  # a number's header over it, on the right
        if c.number_format != TEXT or pd.api.types.is_numeric_dtype(frame[c.name]):
            ws.cell(row=HEADER_ROW, column=j).alignment = Alignment(
                wrap_text=True, vertical="bottom", horizontal="right"
            )
    for i, row in enumerate(frame[[c.name for c in columns]].itertuples(index=False)):
        for j, (c, value) in enumerate(zip(columns, row, strict=True), start=1):
            _put(ws, HEADER_ROW + 1 + i, j, value, c.number_format)
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=2)
    return len(frame)


def _table_columns(table: str, names: Iterable[str], currency: str) -> list[Column]:
    """The columns of ``names`` in the order of TABLE_COLUMNS (then any others)."""
    from schemerisk.reports.html import TABLE_COLUMNS

    names = list(names)
    ordered = [n for n in TABLE_COLUMNS[table] if n in names]
    return [column(table, n, currency) for n in ordered + [n for n in names if n not in ordered]]


def _chart_block(
    ws: Worksheet,
    first_col: int,
    years: Sequence[int],
    series: Mapping[str, np.ndarray],
    number_format: str,
) -> tuple[Reference, list[Reference]]:
    """The numbers a chart plots, beside the table: non-finite values left blank (a gap).

    Excel plots a text cell as zero; the table's ``unknown`` cells must not be drawn
    as a zero balance or a zero probability, so the charts read this block instead.
    """
    _put(ws, 1, first_col, "Chart data (an unknown value is left blank: a gap)")
    ws.cell(row=1, column=first_col).font = Font(italic=True, color="808080")
    _put(ws, HEADER_ROW, first_col, "year")
    for i, y in enumerate(years):
        _put(ws, HEADER_ROW + 1 + i, first_col, int(y), "0")
    refs = []
    for k, (name, values) in enumerate(series.items(), start=1):
        col = first_col + k
        _put(ws, HEADER_ROW, col, name)
        for i, v in enumerate(np.asarray(values, dtype=float)):
            if np.isfinite(v):
                _put(ws, HEADER_ROW + 1 + i, col, float(v), number_format)
        refs.append(Reference(ws, min_col=col, min_row=HEADER_ROW, max_row=HEADER_ROW + len(years)))
    for c in range(first_col, first_col + len(series) + 1):
        ws.column_dimensions[get_column_letter(c)].width = 16
    cats = Reference(ws, min_col=first_col, min_row=HEADER_ROW + 1, max_row=HEADER_ROW + len(years))
    return cats, refs


#: rows a chart of :func:`_line_chart` covers below its anchor (10 cm at Excel's 0.53 cm a row)
CHART_ROWS = 20


def _line_chart(
    title: str, y_title: str, y_format: str, cats: Reference, refs: Sequence[Reference]
) -> LineChart:
    chart = LineChart()
    chart.title = title
    chart.y_axis.title = y_title
    chart.x_axis.title = "Year"
    chart.y_axis.number_format = y_format
    for ref in refs:
        chart.add_data(ref, titles_from_data=True)
    chart.set_categories(cats)
    chart.display_blanks = "gap"
    chart.x_axis.delete = False  # openpyxl 3.1 otherwise hides the axes in recent Excel
    chart.y_axis.delete = False
    # the years along the bottom, not where the value axis crosses 0 (amid a balance's lines)
    chart.x_axis.tickLblPos = "low"
    chart.width, chart.height = 20, 10
    return chart


def _dashed(chart: LineChart, series: Sequence[int], colour: str = "7F7F7F") -> None:
    """Draw the chart's ``series`` (by position) as thin dashed lines: bounds, not estimates."""
    for i in series:
        line = chart.series[i].graphicalProperties.line
        line.solidFill = colour
        line.dashStyle = "dash"
        line.width = 12700  # 1 pt, in EMU


def _print_setup(ws: Worksheet, columns: int | None = None, rows: int | None = None) -> None:
    """Print the sheet one page wide (as many pages down as it needs), landscape when wide.

    Without it a wide table, or the About sheet's long text column, is cut into pages of a
    column or two each. ``columns`` and ``rows`` limit the print to the table and its chart
    (the chart's own data block, beside the table, is left out).
    """
    columns = columns or ws.max_column
    if rows is not None:
        ws.print_area = f"A1:{get_column_letter(columns)}{rows}"
    width = sum(
        ws.column_dimensions[get_column_letter(j)].width or 9  # 9: Excel's default width
        for j in range(1, columns + 1)
    )
    ws.page_setup.orientation = "landscape" if width > 100 else "portrait"  # A4: ~100 wide
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"  # the header on every printed page
    ws.page_setup.fitToHeight = 0  # as many pages down as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True


# --- what is computed for the sheets ---------------------------------------------------------


def fan_quantiles(balance: xr.DataArray, levels: Sequence[float] = FAN_LEVELS) -> xr.DataArray:
    """Percentiles of the balance by year over the projections with a finite balance.

    Parameters
    ----------
    balance : xarray.DataArray
        The balance, dims (draw, year).
    levels : sequence of float
        The quantile levels (default :data:`FAN_LEVELS`).

    Returns
    -------
    xarray.DataArray
        Dims (quantile, year); NaN in a year where no projection is finite.
    """
    with warnings.catch_warnings():  # a year without a finite projection is NaN: unknown
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        return balance.where(finite(balance)).quantile(list(levels), dim="draw", skipna=True)


def deficit_probability(balance: xr.DataArray) -> xr.Dataset:
    """P(deficit) by year with its standard error, Wilson 95 % interval and the unknown count.

    As :func:`schemerisk.uncertainty.montecarlo.balance_summary`: over the projections
    with a finite balance; the others are counted in ``n_unknown`` (UNCERTAINTY.md
    section 4; the interval is Wilson's, :func:`schemerisk.analysis.risk.wilson_interval`).

    Parameters
    ----------
    balance : xarray.DataArray
        The balance, dims (draw, year).

    Returns
    -------
    xarray.Dataset
        ``n_unknown``, ``p_deficit``, ``p_deficit_se``, ``p_deficit_lower``,
        ``p_deficit_upper`` by year, named as in the risk report's table.
    """
    known = finite(balance)
    pr = counted_probability(((balance < 0) & known).sum("draw"), known.sum("draw"))
    return xr.Dataset(
        {
            "n_unknown": (~known).sum("draw").astype(np.int64),
            "p_deficit": pr.p,
            "p_deficit_se": pr.se,
            "p_deficit_lower": pr.lower,
            "p_deficit_upper": pr.upper,
        }
    )


# --- the workbook ----------------------------------------------------------------------------


@dataclass
class Provenance:
    """What was run, for the About sheet.

    Attributes
    ----------
    command : str
        The command and what it does, e.g. ``"schemerisk risk"``.
    attrs : mapping
        The attributes of a result that identify its scenario
        (:func:`schemerisk.model.results.scenario_attrs`: ``scenario``, ``title``,
        ``scenario_file``, ``base_year``, ``horizon``, ``currency``); a cube's own
        attributes will do. :meth:`of` makes them from a scenario.
    space : ParameterSpace, optional
        The distributions, when the command drew projections.
    seed : int, optional
    n_draws : int, optional
        Monte Carlo projections.
    sampler : str, optional
    n_base : int, optional
        The Sobol' base sample size N.
    notes : list of str
        Further lines (the source cube, the level of the required multiplier, ...).
    """

    command: str
    attrs: Mapping[str, Any]
    space: ParameterSpace | None = None
    seed: int | None = None
    n_draws: int | None = None
    sampler: str | None = None
    n_base: int | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, command: str, scenario: Scenario, **kwargs: Any) -> Provenance:
        """The provenance of a run of ``scenario`` (keywords as the attributes above).

        Parameters
        ----------
        command : str
            The command.
        scenario : Scenario
            The scenario run.
        **kwargs
            ``space``, ``seed``, ``n_draws``, ``sampler``, ``n_base``, ``notes``.

        Returns
        -------
        Provenance
        """
        from schemerisk.model.results import scenario_attrs

        return cls(command, scenario_attrs(scenario), **kwargs)

    @property
    def currency(self) -> str:
        """The scenario's currency (``LCU`` when the attributes do not say)."""
        return str(self.attrs.get("currency", "LCU"))


class ResultsWorkbook:
    """Builds the results workbook sheet by sheet; :meth:`build` returns it with About first.

    Parameters
    ----------
    provenance : Provenance
        What was run.
    """

    def __init__(self, provenance: Provenance) -> None:
        self.provenance = provenance
        self.currency = provenance.currency
        self.wb = Workbook()
        self.wb.remove(self.wb.active)
        self._tables: dict[str, list[Column]] = {}
        self._print: dict[str, tuple[int, int]] = {}  # sheet -> printed columns, rows

    def _sheet(self, key: str) -> Worksheet:
        return self.wb.create_sheet(SHEETS[key])

    def sheet_c(self, ds: xr.Dataset) -> None:
        """The deterministic projection as the paper's Sheet C (rows of :func:`sheet_c_sections`).

        Parameters
        ----------
        ds : xarray.Dataset
            A deterministic projection with memoranda.
        """
        ws = self._sheet("sheet_c")
        cur = self.currency
        units = {
            "amount": (f"{cur}/yr", amount_format(cur)),
            "people": ("persons", COUNT),
            "count": ("services/yr", COUNT),
            "unit": (f"{cur} per person/yr", amount_format(cur)),
            "index": ("index", INDEX),
            "percent": ("%", PERCENT_FINE),
        }
        years = [int(y) for y in ds.year.values]
        _title(
            ws,
            f"Sheet C: {ds.attrs.get('title', self.provenance.attrs.get('title', ''))}",
            f"The deterministic projection (the plan, no uncertainty), in full units; amounts in "
            f"{cur}. 'unknown': not finite (an overflow, or 0/0).",
        )
        _header(ws, ["", "unit", *(str(y) for y in years)])
        for j in range(3, 3 + len(years)):  # each year over its column of numbers
            ws.cell(row=HEADER_ROW, column=j).alignment = Alignment(horizontal="right")
        row = HEADER_ROW
        for section in sheet_c_sections(ds):
            row += 2 if row > HEADER_ROW else 1
            _put(ws, row, 1, section.title)
            ws.cell(row=row, column=1).font = Font(bold=True)
            for r in section.rows:
                row += 1
                unit, fmt = units[r.kind]
                _put(ws, row, 1, r.label)
                _put(ws, row, 2, unit)
                for j, v in enumerate(r.values(ds), start=3):
                    _put(ws, row, j, float(v), fmt)
        ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=3)
        _widths(ws, first=30)

    def fan(self, quantiles: xr.DataArray) -> None:
        """The balance percentiles by year (columns ``p05`` ... ``p95``) and a fan chart.

        Parameters
        ----------
        quantiles : xarray.DataArray
            From :func:`fan_quantiles`: dims (quantile, year).
        """
        ws = self._sheet("fan")
        years = [int(y) for y in quantiles.year.values]
        frame = pd.DataFrame(
            {"year": years}
            | {
                f"p{round(100 * float(q)):02d}": quantiles.sel(quantile=q).values
                for q in quantiles["quantile"].values
            }
        )
        cols = _table_columns("balance_quantiles.csv", frame.columns, self.currency)
        self._tables[SHEETS["fan"]] = cols
        n = write_frame(
            ws,
            "Balance of the scheme: percentiles by year (the fan chart)",
            f"Over the projections with a finite balance; amounts in {self.currency} per year. "
            "p50 is the median; 90 % of projections lie between p05 and p95.",
            frame,
            cols,
        )
        _widths(ws)
        first = len(cols) + 2
        series = {c.name: frame[c.name].to_numpy() for c in cols[1:]}
        cats, refs = _chart_block(ws, first, frame["year"].tolist(), series, "#,##0")
        values = np.concatenate([np.ravel(v) for v in series.values()])
        values = np.abs(values[np.isfinite(values)])
        if (
            values.size and values.max() >= 1e7
        ):  # the axis in millions: ',,' divides by 10^6 as shown
            title, axis = f"Balance (million {self.currency}/yr)", "#,##0,,;-#,##0,,;0"
        else:  # a small scheme: in millions its axis would read 0 throughout
            title, axis = f"Balance ({self.currency}/yr)", "#,##0;-#,##0;0"
        chart = _line_chart("Balance of the scheme: percentiles", title, axis, cats, refs)
        ws.add_chart(chart, ws.cell(row=HEADER_ROW + n + 3, column=1).coordinate)
        self._print[ws.title] = (len(cols), HEADER_ROW + n + 3 + CHART_ROWS)

    def risk(
        self,
        table: xr.Dataset,
        horizon: Mapping[str, xr.Dataset | None] | None = None,
        n_draws: int | None = None,
    ) -> None:
        """P(deficit) by year with its interval and the unknown count, deficit sizes, and a chart.

        Parameters
        ----------
        table : xarray.Dataset
            A risk report's ``table`` (or :func:`deficit_probability`), by year; it
            must carry ``n_unknown``.
        horizon : mapping, optional
            Figures over the whole horizon (``p``, ``lower``, ``upper``), by label.
        n_draws : int, optional
            The projections per year, quoted in the note.
        """
        if "n_unknown" not in table:
            raise ValueError("the deficit table must carry n_unknown (unknown projections)")
        ws = self._sheet("risk")
        frame = table.to_dataframe().reset_index()
        cols = _table_columns("deficit_risk.csv", frame.columns, self.currency)
        self._tables[SHEETS["risk"]] = cols
        of = f" of {n_draws:,} projections per year" if n_draws else ""
        n = write_frame(
            ws,
            "Deficit risk by year",
            f"P(deficit) over the projections with a finite balance{of}; n_unknown counts the "
            "others, which are left out and never counted as 'no deficit'.",
            frame,
            cols,
        )
        _widths(ws)
        row = HEADER_ROW + n + 2
        for label, ds in (horizon or {}).items():
            if ds is None:
                continue
            _put(ws, row, 1, label)
            ws.cell(row=row, column=1).font = Font(bold=True)
            # a label longer than the year column wraps (the next cells hold its figures)
            ws.cell(row=row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
            ws.row_dimensions[row].height = 15 * -(-len(label) // 14)
            for j, key in enumerate(("p", "lower", "upper"), start=2):
                _put(ws, row, j, float(ds[key]), PERCENT)
            row += 1
        if horizon:
            _put(ws, row, 1, "(probability, then its Wilson 95 % interval, lower and upper)")
            row += 1
        series = {
            c: frame[c].to_numpy()
            for c in ("p_deficit", "p_deficit_lower", "p_deficit_upper")
            if c in frame
        }
        cats, refs = _chart_block(ws, len(cols) + 2, frame["year"].tolist(), series, PERCENT)
        chart = _line_chart(
            "P(deficit) by year, with its 95 % interval", "P(deficit)", "0%", cats, refs
        )
        _dashed(chart, [i for i, c in enumerate(series) if c != "p_deficit"])
        ws.add_chart(chart, ws.cell(row=row + 2, column=1).coordinate)
        self._print[ws.title] = (len(cols), row + 2 + CHART_ROWS)

    def sobol(self, indices: xr.Dataset) -> None:
        """Sobol' indices with their bootstrap half-widths, one row per output, input and year.

        Parameters
        ----------
        indices : xarray.Dataset
            ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` by (output, input, year).
        """
        ws = self._sheet("sobol")
        frame = indices[["S1", "S1_conf", "ST", "ST_conf"]].to_dataframe().reset_index()
        frame = frame[["output", "input", "year", "S1", "S1_conf", "ST", "ST_conf"]]
        cols = _table_columns("sobol_indices.csv", frame.columns, self.currency)
        self._tables[SHEETS["sobol"]] = cols
        write_frame(
            ws,
            "Sobol' indices",
            "The share of the variance of each output due to each input: alone (S1) and with "
            "its interactions (ST); _conf is the half-width of the 95 % bootstrap interval.",
            frame,
            cols,
        )
        _widths(ws)

    def priorities(self, table: xr.Dataset) -> None:
        """The data-collection ranking by input and year (rank 1 = collect first).

        Parameters
        ----------
        table : xarray.Dataset
            :attr:`schemerisk.analysis.priorities.Priorities.table`.
        """
        ws = self._sheet("priorities")
        frame = table.to_dataframe().reset_index()
        # by year: the data inputs by rank (1 first), then the environment (rank 0)
        frame = frame.assign(_env=frame["rank"] == 0)
        frame = frame.sort_values(["year", "_env", "rank", "input"], kind="stable")
        frame = frame.drop(columns="_env")
        cols = _table_columns("priorities.csv", frame.columns, self.currency)
        self._tables[SHEETS["priorities"]] = cols
        write_frame(
            ws,
            "Which data to collect first",
            f"EVPPI in {self.currency}: what knowing the input exactly is worth for setting the "
            "premium; rank 1 = collect first among the data inputs, 0 = environment.",
            frame,
            cols,
        )
        _widths(ws)

    def _about(self) -> None:
        p = self.provenance
        a = p.attrs
        ws = self.wb.create_sheet(SHEETS["about"], 0)
        _title(ws, "schemerisk results", f"Written by schemerisk {__version__} ({p.command}).")
        _header(ws, ["item", "value"])
        name, title = str(a.get("scenario", "")), str(a.get("title", ""))
        rows: list[tuple[str, Any]] = [
            ("Scenario", f"{name}: {title}" if title and title != name else name),
            ("Scenario file", a.get("scenario_file")),
        ]
        if "base_year" in a and "horizon" in a:
            first = int(a["base_year"])
            rows.append(("Years", f"{first}-{first + int(a['horizon'])}"))
        rows.append(("Currency", p.currency))
        if p.space is not None:
            rows += [
                ("Distributions", p.space.source),
                ("Uncertain inputs", len(p.space.entries)),
            ]
        for label, value in (
            ("Distributions", None if p.space is not None else a.get("distributions_file")),
            ("Seed", p.seed),
            ("Projections (N)", p.n_draws),
            ("Sampler", p.sampler),
            ("Sobol' base sample size N", p.n_base),
        ):
            if value is not None:
                rows.append((label, value))
        rows += [("Note", note) for note in p.notes]
        rows += [
            ("schemerisk version", __version__),
            ("Written (UTC)", _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M")),
            (
                "Unknown",
                "a projection with no finite balance in a year (an amount overflowed, or 0/0) is "
                "unknown: left out of that year's figures and counted, never as 'no deficit'",
            ),
            *((f"Definition: {k}", v) for k, v in DEFICIT_SIZES.items()),
        ]
        r = HEADER_ROW
        for label, value in rows:
            if value is None:
                continue
            r += 1
            _put(ws, r, 1, label)
            _put(ws, r, 2, value, COUNT if isinstance(value, int) else TEXT)
        r += 2
        _put(ws, r, 1, "Sheets")
        ws.cell(row=r, column=1).font = Font(bold=True)
        for key, name in SHEETS.items():
            if name in self.wb.sheetnames:
                r += 1
                _put(ws, r, 1, name)
                _put(ws, r, 2, SHEET_NOTES[key])
        if p.space is not None:
            r = self._distributions(ws, r + 2, p.space)
        for sheet, cols in self._tables.items():
            r += 2
            _put(ws, r, 1, f"Columns of '{sheet}'")
            ws.cell(row=r, column=1).font = Font(bold=True)
            for c in cols:
                if c.description:
                    r += 1
                    _put(ws, r, 1, c.header)
                    _put(ws, r, 2, c.description)
        ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)
        ws.column_dimensions["A"].width = 34
        ws.column_dimensions["B"].width = 100
        for col in "CDEFG":
            ws.column_dimensions[col].width = 14
        for row in ws.iter_rows(min_row=HEADER_ROW + 1, max_col=2):
            row[1].alignment = Alignment(wrap_text=True, vertical="top")

    def _distributions(self, ws: Worksheet, r: int, space: ParameterSpace) -> int:
        from schemerisk.reports.assumptions import assumptions

        _put(ws, r, 1, "Distributions of the uncertain inputs")
        ws.cell(row=r, column=1).font = Font(bold=True)
        r += 1
        heads = ["entry", "distribution (family and parameters)", "p05", "centre", "p95", "plan"]
        for j, h in enumerate(heads, start=1):
            _put(ws, r, j, h)
            ws.cell(row=r, column=j).font = Font(italic=True)
        for a in assumptions(space):
            r += 1
            _put(ws, r, 1, a.entry.name)
            _put(ws, r, 2, f"{a.entry.slot.path}: {a.entry.marginal.describe()}")
            for j, v in enumerate((a.p05, a.centre, a.p95, a.plan), start=3):
                _put(ws, r, j, float(v), "#,##0.####")
        return r

    def build(self) -> Workbook:
        """The workbook, the About sheet first (it lists the sheets and columns written).

        Returns
        -------
        openpyxl.Workbook
            Write it with :meth:`schemerisk.output.Reservation.write_workbook`.
        """
        self._about()
        for ws in self.wb.worksheets:
            _print_setup(ws, *self._print.get(ws.title, (None, None)))
        self.wb.active = 0
        return self.wb


def project_workbook(ds: xr.Dataset, provenance: Provenance) -> Workbook:
    """``schemerisk project -o X.xlsx``: About and Sheet C.

    Parameters
    ----------
    ds : xarray.Dataset
        The deterministic projection.
    provenance : Provenance
        What was run.

    Returns
    -------
    openpyxl.Workbook
    """
    book = ResultsWorkbook(provenance)
    book.sheet_c(ds)
    return book.build()


def simulate_workbook(cube: xr.Dataset, provenance: Provenance) -> Workbook:
    """``schemerisk simulate -o X.xlsx``: the summaries of the cube, not the cube.

    Parameters
    ----------
    cube : xarray.Dataset
        The Monte Carlo cube (with ``balance``).
    provenance : Provenance
        What was run.

    Returns
    -------
    openpyxl.Workbook
        About, the balance fan (:func:`fan_quantiles`) and P(deficit) by year
        (:func:`deficit_probability`).
    """
    book = ResultsWorkbook(provenance)
    book.fan(fan_quantiles(cube["balance"]))
    book.risk(deficit_probability(cube["balance"]), n_draws=int(cube.sizes["draw"]))
    return book.build()


def risk_workbook(
    report: RiskReport, provenance: Provenance, cube: xr.Dataset | None = None
) -> Workbook:
    """``schemerisk risk ... -o X.xlsx``: the risk report's table, and the fan when draws are kept.

    Parameters
    ----------
    report : RiskReport
        The report :func:`schemerisk.analysis.risk.deficit_risk` (or a summary) made.
    provenance : Provenance
        What was run.
    cube : xarray.Dataset, optional
        The cube with its draws (not a streaming summary): adds the balance fan.

    Returns
    -------
    openpyxl.Workbook
    """
    book = ResultsWorkbook(provenance)
    if cube is not None and "draw" in cube.dims and "balance" in cube:
        book.fan(fan_quantiles(cube["balance"].load()))
    book.risk(report.table, _horizon(report), report.n_draws)
    return book.build()


def _horizon(report: RiskReport) -> dict[str, xr.Dataset | None]:
    return {
        "P(at least one deficit over the horizon)": report.p_any_deficit,
        "P(the reserve falls below zero in some year)": report.p_ruin,
    }


def sensitivity_workbook(indices: xr.Dataset, provenance: Provenance) -> Workbook:
    """``schemerisk sensitivity -o X.xlsx``: About and the Sobol' indices.

    Parameters
    ----------
    indices : xarray.Dataset
        :attr:`schemerisk.analysis.sensitivity.SobolResult.indices`.
    provenance : Provenance
        What was run.

    Returns
    -------
    openpyxl.Workbook
    """
    book = ResultsWorkbook(provenance)
    book.sobol(indices)
    return book.build()


def priorities_workbook(indices: xr.Dataset, table: xr.Dataset, provenance: Provenance) -> Workbook:
    """``schemerisk priorities -o X.xlsx``: About, the Sobol' indices and the ranking.

    Parameters
    ----------
    indices : xarray.Dataset
        The Sobol' indices the ranking used.
    table : xarray.Dataset
        :attr:`schemerisk.analysis.priorities.Priorities.table`.
    provenance : Provenance
        What was run.

    Returns
    -------
    openpyxl.Workbook
    """
    book = ResultsWorkbook(provenance)
    book.sobol(indices)
    book.priorities(table)
    return book.build()


def study_workbook(study: Study, provenance: Provenance) -> Workbook:
    """Every sheet of a report's study: Sheet C, fan, risk, and Sobol' indices and priorities.

    Parameters
    ----------
    study : Study
        The study :func:`schemerisk.analysis.study.run_study` made.
    provenance : Provenance
        What was run.

    Returns
    -------
    openpyxl.Workbook
        The workbook (Sobol' indices and priorities are left out, as in the report's
        CSV tables, when the study has unknown projections).
    """
    book = ResultsWorkbook(provenance)
    book.sheet_c(study.deterministic)
    book.fan(fan_quantiles(study.cube["balance"]))
    book.risk(study.risk.table, _horizon(study.risk), study.risk.n_draws)
    if study.sobol is not None:
        book.sobol(study.sobol.indices)
    if study.priorities is not None:
        book.priorities(study.priorities.table)
    return book.build()


__all__ = [
    "FAN_LEVELS",
    "SHEETS",
    "UNKNOWN",
    "Column",
    "Provenance",
    "ResultsWorkbook",
    "amount_format",
    "column",
    "deficit_probability",
    "fan_quantiles",
    "priorities_workbook",
    "project_workbook",
    "risk_workbook",
    "sensitivity_workbook",
    "simulate_workbook",
    "study_workbook",
    "write_frame",
]
