"""Charts of a Monte Carlo cube: fan charts of the balance, revenue and expenditure,
membership and premiums, Sobol' sensitivity charts, a dashboard, and PNG export.

Fan charts follow the Bank of England's style: equal-probability central bands
(90 %, 60 % and 30 % of the outcomes by default) shaded darker towards the
centre, the median line, and on top the deterministic projection (dashed black)
and the zero line when the outcomes straddle it. Quantiles are taken with
xarray along ``draw`` for all years at once.

Every chart takes an optional ``ax`` and draws into it; without one it makes a
new figure with ``plt.subplots``. Nothing else here touches pyplot's global
state: :func:`dashboard` builds a :class:`matplotlib.figure.Figure` directly,
so a report can make any number of them without closing them. Everything works
with the non-interactive Agg backend.

User text (scenario titles, category labels, input names) is drawn literally:
every public chart runs with ``text.parse_math`` off (:func:`_literal_text`),
so a ``$`` is a dollar sign, never the start of mathtext that could fail to
parse. Projections with no finite value (an overflow) are left out of the
bands and counted in a note on the chart, never drawn as if they were known.
"""

from __future__ import annotations

import base64
import difflib
import enum
import functools
import io
import itertools
import re
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib import colors as mcolors
from matplotlib import rcParams
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend_handler import HandlerTuple
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, Formatter, MaxNLocator, StrMethodFormatter
from matplotlib.transforms import ScaledTranslation

DRAW = "draw"
YEAR = "year"
CATEGORY = "category"
QUANTILE = "quantile"

#: the default equal-probability bands: 90 %, 60 % and 30 % of outcomes
DEFAULT_BANDS: tuple[tuple[float, float], ...] = ((0.05, 0.95), (0.20, 0.80), (0.35, 0.65))
#: the one band of the charts that show several series on one axis
OUTER_BAND: tuple[tuple[float, float], ...] = ((0.05, 0.95),)

FAN_COLOR = "#1f5fa8"
REVENUE_COLOR = "#1f5fa8"
EXPENDITURE_COLOR = "#c2451e"
#: Okabe & Ito's colour-blind-safe palette (yellow left out: unreadable on white)
CATEGORY_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
S1_COLOR = "#9ecae1"
ST_COLOR = "#1f5fa8"

#: opacity of the outermost and of the innermost band layer; bands in between are spaced evenly
_BAND_ALPHA_OUTER = 0.2
_BAND_ALPHA_INNER = 0.45
#: opacity of the band of each of several series sharing one axis
_BAND_ALPHA_SHARED = 0.16
#: amounts are shown in the smallest scale that keeps them below this
_MOST_SHOWN = 1e5
#: wrap legend entries and input names at this many characters
_WRAP = 34


class Scale(enum.Enum):
    """A power of a thousand that amounts are shown in, and its name on the axis."""

    UNITS = (1.0, "")
    THOUSANDS = (1e3, "thousands")
    MILLIONS = (1e6, "millions")
    BILLIONS = (1e9, "billions")

    @property
    def factor(self) -> float:
        """What one unit of the axis is worth [amount]."""
        return float(self.value[0])

    @property
    def words(self) -> str:
        """The plural word for the scale ("millions"); empty for units."""
        return str(self.value[1])

    def label(self, noun: str) -> str:
        """Axis label, e.g. ``"millions of VND"``; ``noun`` alone for units."""
        if not self.words:
            return noun
        return f"{self.words} of {noun}" if noun else self.words


def as_scale(scale: Scale | str) -> Scale:
    """The :class:`Scale` named by ``scale`` (``"millions"`` or ``Scale.MILLIONS``).

    Raises
    ------
    ValueError
        For a name that is not a scale.
    """
    if isinstance(scale, Scale):
        return scale
    key = str(scale).strip().upper()
    if key not in Scale.__members__:
        valid = [s.name.lower() for s in Scale]
        raise ValueError(f"unknown scale {scale!r}; valid: {valid}")
    return Scale[key]


def choose_scale(values: np.ndarray | xr.DataArray | Sequence[float]) -> Scale:
    """The smallest scale in which the largest magnitude of ``values`` has at most five digits.

    Amounts of a scheme then read as analysts write them: a balance of
    -9.8e9 VND and a revenue of 2.1e10 VND both in millions (-9,800 and
    21,000), a premium of 116,000 VND in thousands (116), a membership of
    600,000 in thousands.

    Parameters
    ----------
    values : array-like
        The amounts to be shown (NaN ignored).

    Returns
    -------
    Scale
    """
    arr = np.abs(np.asarray(values, dtype=float))
    arr = arr[np.isfinite(arr)]
    biggest = float(arr.max()) if arr.size else 0.0
    by_size = sorted(Scale, key=lambda s: s.factor)
    for scale in by_size:
        if biggest / scale.factor < _MOST_SHOWN:
            return scale
    return by_size[-1]


class ScaledFormatter(Formatter):
    """Tick labels in a :class:`Scale` with thousands separators: 2.5e9 -> ``"2,500"`` (millions).

    Every tick label has the fewest decimals that show all the ticks exactly
    (12.5 and 15.0 read "12.5" and "15.0", never "12" and "15").
    """

    def __init__(self, scale: Scale | str) -> None:
        self.scale = as_scale(scale)
        self._ticks = np.empty(0)

    def set_locs(self, locs: list[float]) -> None:
        """Remember the tick locations, from which the decimals are chosen."""
        super().set_locs(locs)
        self._ticks = np.asarray(locs, dtype=float)

    def _decimals(self) -> int | None:
        """The fewest decimals that show every tick exactly (None before ticks are set)."""
        values = self._ticks / self.scale.factor
        values = values[np.isfinite(values)]
        if values.size == 0:
            return None
        tolerance = 1e-9 * max(1.0, float(np.abs(values).max()))
        for decimals in range(7):
            if np.allclose(np.round(values, decimals), values, rtol=0.0, atol=tolerance):
                return decimals
        return 6

    def __call__(self, x: float, pos: int | None = None) -> str:
        """The label of the tick at ``x`` [amount]."""
        v = x / self.scale.factor
        decimals = self._decimals()
        if decimals is None:
            text = f"{v:,.0f}" if abs(v) >= 1e5 else f"{v:,.6g}"
        else:
            text = f"{v:,.{decimals}f}"
        if text.lstrip("-").strip("0.,") == "":
            text = text.lstrip("-")  # no "-0"
        if rcParams["axes.unicode_minus"]:
            text = text.replace("-", "\u2212")
        return text


# --------------------------------------------------------------------------- helpers

_P = ParamSpec("_P")
_R = TypeVar("_R")
#: the style every chart is drawn in: text is literal (no mathtext from a "$" in a label)
_CHART_STYLE: dict[Any, Any] = {"text.parse_math": False}


def _literal_text(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a chart (or an export) with :data:`_CHART_STYLE`: a ``$`` in user text is a dollar sign.

    Text objects take ``text.parse_math`` when they are made, so every public
    chart and the export (where tick labels are made) run inside it; the texts
    the axes had before (title, axis labels) are then set literal too.
    """

    @functools.wraps(func)
    def literal(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with plt.rc_context(_CHART_STYLE):
            result = func(*args, **kwargs)
        fig = result if isinstance(result, Figure) else getattr(result, "figure", None)
        if isinstance(fig, Figure):
            _texts_literal(fig)
        return result

    return literal


def _texts_literal(fig: Figure) -> None:
    """Set every text of the figure not to parse mathtext."""
    for text in fig.findobj(Text):
        text.set_parse_math(False)


def _note_unknown(ax: Axes, *arrays: xr.DataArray) -> None:
    """Say on the chart how many projections have no finite value (left out of the bands)."""
    from schemerisk.uncertainty.nonfinite import finite

    for da in arrays:
        other = [d for d in da.dims if d != DRAW]
        unknown = int((~finite(da)).any(other).sum()) if other else 0
        if unknown:
            ax.text(
                0.99,
                0.98,
                f"{unknown:,} of {da.sizes[DRAW]:,} projections not finite: left out",
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize="x-small",
                color="#a00000",
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#a00000"},
                zorder=10,
                gid="unknown",
            )
            return


def _new_axes(ax: Axes | None, figsize: tuple[float, float] = (8.0, 5.0)) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def _variable(ds: xr.Dataset, var: str | xr.DataArray) -> xr.DataArray:
    """The named variable of ``ds`` (or ``var`` itself), with a helpful error when misspelt."""
    if isinstance(var, xr.DataArray):
        return var
    if var not in ds.data_vars:
        names = [str(n) for n in ds.data_vars]
        near = difflib.get_close_matches(var, names, n=3)
        hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
        raise ValueError(f"the result has no variable {var!r}{hint} (variables: {sorted(names)})")
    return ds[var]


def _check_fan_dims(da: xr.DataArray, what: str) -> None:
    if DRAW not in da.dims:
        raise ValueError(
            f"{what} has no {DRAW!r} dimension (dims {da.dims}); a fan chart needs a "
            "Monte Carlo cube from schemerisk.uncertainty.montecarlo.simulate"
        )
    if YEAR not in da.dims:
        raise ValueError(f"{what} has no {YEAR!r} dimension (dims {da.dims})")
    if CATEGORY in da.dims:
        cats = [str(c) for c in da[CATEGORY].values] if CATEGORY in da.coords else []
        example = cats[0] if cats else "..."
        raise ValueError(
            f"{what} has a {CATEGORY!r} dimension ({len(cats)} categories: {cats}); a fan "
            f"chart shows one series: select one category, e.g. "
            f"ds[{da.name!r}].sel(category={example!r}), or sum over them with "
            f".sum('category')"
        )
    extra = [d for d in da.dims if d not in (DRAW, YEAR)]
    if extra:
        raise ValueError(
            f"{what} has dimension(s) {extra} besides {DRAW!r} and {YEAR!r}; select or "
            "sum over them first"
        )


def _deterministic_series(
    deterministic: xr.DataArray | xr.Dataset | None, name: str | None, what: str
) -> xr.DataArray | None:
    if deterministic is None:
        return None
    if isinstance(deterministic, xr.Dataset):
        if name is None or name not in deterministic.data_vars:
            raise ValueError(
                f"the deterministic projection has no variable {name!r} to draw with {what}"
            )
        det = deterministic[name]
    else:
        det = deterministic
    if DRAW in det.dims:
        raise ValueError(
            f"the deterministic projection of {what} has a {DRAW!r} dimension; pass the "
            "result of schemerisk.model.project (one projection, no draws)"
        )
    if det.dims != (YEAR,):
        raise ValueError(
            f"the deterministic projection of {what} must have the one dimension "
            f"{YEAR!r}, not {det.dims}"
        )
    return det


def _noun(da: xr.DataArray) -> str:
    """What the amounts count, from the units: "VND" for "VND/yr", "persons"; empty for shares."""
    units = str(da.attrs.get("units", ""))
    if units in ("", "1"):
        return ""
    return units.split("/")[0].strip()


def _title_of(da: xr.DataArray) -> str:
    long_name = str(da.attrs.get("long_name", ""))
    if long_name:
        return long_name.split(" (")[0]
    return str(da.name or "").replace("_", " ").capitalize()


def _band_alphas(n: int) -> np.ndarray:
    """Opacity of each nested band layer, outermost first, increasing towards the centre."""
    if n == 1:
        return np.array([0.3])
    return np.linspace(_BAND_ALPHA_OUTER, _BAND_ALPHA_INNER, n)


def _sorted_bands(bands: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Bands widest first; checked to be nested, central intervals within (0, 1)."""
    out = sorted(((float(lo), float(hi)) for lo, hi in bands), key=lambda b: b[0])
    if not out:
        raise ValueError("bands must hold at least one (lower, upper) pair of probabilities")
    for lo, hi in out:
        if not 0.0 < lo < 0.5 < hi < 1.0:
            raise ValueError(
                f"band ({lo}, {hi}) must be a central interval: 0 < lower < 0.5 < upper < 1"
            )
    for (lo1, hi1), (lo2, hi2) in itertools.pairwise(out):
        if not (lo1 < lo2 and hi2 < hi1):
            raise ValueError(f"bands must be nested: ({lo2}, {hi2}) is not inside ({lo1}, {hi1})")
    return out


def band_label(lower: float, upper: float) -> str:
    """Legend text of a band, e.g. ``"90 % of outcomes"`` for (0.05, 0.95)."""
    return f"{round((upper - lower) * 100):g} % of outcomes"


def _darker(color: str, amount: float = 0.3) -> tuple[float, float, float]:
    r, g, b = mcolors.to_rgb(color)
    return (r * (1 - amount), g * (1 - amount), b * (1 - amount))


def _format_year_axis(ax: Axes, years: np.ndarray) -> None:
    years = np.asarray(years)
    if years.size <= 15:
        ax.xaxis.set_major_locator(FixedLocator([float(y) for y in years]))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:.0f}"))
    if years.size > 1:
        ax.set_xlim(float(years.min()), float(years.max()))
    ax.set_xlabel("Year")


def _format_amount_axis(ax: Axes, scale: Scale, label: str) -> None:
    ax.yaxis.set_major_formatter(ScaledFormatter(scale))
    ax.set_ylabel(label)
    ax.grid(True, axis="y", color="0.85", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _quantiles(da: xr.DataArray, probs: Sequence[float]) -> xr.DataArray:
    """Quantiles along ``draw`` for every year at once (one xarray call), of the finite values."""
    from schemerisk.uncertainty.nonfinite import finite

    return da.where(finite(da)).quantile(list(probs), dim=DRAW, skipna=True)


def _at(q: xr.DataArray, p: float) -> np.ndarray:
    return np.asarray(q.sel({QUANTILE: p}, method="nearest").values, dtype=float)


def _draw_bands(
    ax: Axes,
    x: np.ndarray,
    q: xr.DataArray,
    bands: list[tuple[float, float]],
    color: str,
    gid: str,
    *,
    outlined: bool = False,
) -> list[Patch]:
    """Nested bands widest first, each layer more opaque; returns legend patches, widest first.

    The bands overlap, so the centre is the sum of all layers; each legend patch
    shows the opacity the band's visible ring actually has. ``outlined`` (for
    several series on one axis) makes the fill lighter and edges each band with
    thin lines, so that overlapping bands stay legible.
    """
    alphas = _BAND_ALPHA_SHARED * np.ones(len(bands)) if outlined else _band_alphas(len(bands))
    seen = 1.0 - np.cumprod(1.0 - alphas)  # opacity of each ring as it appears
    handles = []
    for (lo, hi), alpha, shown in zip(bands, alphas, seen, strict=True):
        lower, upper = _at(q, lo), _at(q, hi)
        ax.fill_between(
            x,
            lower,
            upper,
            facecolor=color,
            alpha=float(alpha),
            linewidth=0,
            zorder=2,
            gid=f"{gid}:band:{lo:g}-{hi:g}",
        )
        if outlined:
            for edge in (lower, upper):
                ax.plot(x, edge, color=color, linewidth=0.8, alpha=0.8, zorder=3)
        handles.append(
            Patch(
                facecolor=mcolors.to_rgba(color, float(shown)),
                edgecolor=color if outlined else "none",
                linewidth=0.8,
                label=band_label(lo, hi),
            )
        )
    return handles


def _legend_below(ax: Axes, bands: Sequence[Artist], lines: Sequence[Artist]) -> None:
    """A frameless legend under the x axis, where it hides no outcome.

    The bands make the first row (innermost first) and the lines the second,
    one column per band: legends fill column by column, hence the interleaving.
    """
    size = FontProperties(size=rcParams["xtick.labelsize"]).get_size_in_points()
    label = FontProperties(size=rcParams["axes.labelsize"]).get_size_in_points()
    drop = (
        rcParams["xtick.major.size"]
        + rcParams["xtick.major.pad"]
        + 1.3 * size
        + rcParams["axes.labelpad"]
        + 1.3 * label
    ) / 72.0  # [inches]
    ncol = max(1, len(bands))
    items: list[Artist] = []
    for i, band in enumerate(bands):
        items.append(band)
        if i < len(lines):
            items.append(lines[i])
    items += list(lines[len(bands) :])
    transform = ax.transAxes + ScaledTranslation(0.0, -drop, ax.figure.dpi_scale_trans)
    ax.legend(
        handles=items,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        bbox_transform=transform,
        ncol=ncol,
        fontsize="small",
        frameon=False,
        handlelength=1.8,
        columnspacing=1.5,
    )


def _draw_zero_line(ax: Axes, *arrays: np.ndarray | None) -> None:
    values = np.concatenate([np.ravel(a) for a in arrays if a is not None])
    values = values[np.isfinite(values)]
    if values.size and values.min() < 0 < values.max():
        ax.axhline(0.0, color="black", linewidth=1.0, zorder=6, gid="zero")


# --------------------------------------------------------------------------- fan charts


@_literal_text
def fan_chart(
    ds: xr.Dataset,
    var: str | xr.DataArray,
    *,
    ax: Axes | None = None,
    deterministic: xr.DataArray | xr.Dataset | None = None,
    bands: Sequence[tuple[float, float]] = DEFAULT_BANDS,
    color: str = FAN_COLOR,
    scale: Scale | str | None = None,
    title: str | None = None,
) -> Axes:
    """Fan chart of one variable over the years (Bank of England style).

    Equal-probability central bands, darker towards the centre, the median
    line, and on top the deterministic projection (dashed black) and a zero
    line when the outcomes cross zero.

    Parameters
    ----------
    ds : xarray.Dataset
        A Monte Carlo cube (from :func:`~schemerisk.uncertainty.montecarlo.simulate`).
    var : str or xarray.DataArray
        Name of a variable of ``ds`` with dims (``draw``, ``year``), or such a
        DataArray (e.g. ``cube.premium.sel(category="farmers")``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure when omitted.
    deterministic : xarray.DataArray or xarray.Dataset, optional
        The deterministic projection (:func:`schemerisk.model.project`): the
        same variable by year, without ``draw``.
    bands : sequence of (lower, upper)
        Nested central probability intervals, e.g. ``(0.05, 0.95)`` for 90 %
        of outcomes.
    color : str
        Colour of the bands and (darker) of the median line.
    scale : Scale or str, optional
        ``"units"``, ``"thousands"``, ``"millions"`` or ``"billions"``;
        chosen from the magnitude of the values when omitted.
    title : str, optional
        Title; default the variable's long name in plain words.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn into. The median line, deterministic line and zero
        line carry the gids ``"median"``, ``"deterministic"`` and ``"zero"``.

    Raises
    ------
    ValueError
        When the variable is missing, has no ``draw`` or ``year`` dimension,
        or has a ``category`` (or other) dimension left to select.
    """
    da = _variable(ds, var)
    what = repr(da.name) if da.name is not None else "the variable"
    _check_fan_dims(da, what)
    band_list = _sorted_bands(bands)
    det = _deterministic_series(deterministic, str(da.name) if da.name is not None else None, what)
    ax = _new_axes(ax)

    probs = sorted({p for band in band_list for p in band} | {0.5})
    q = _quantiles(da, probs)
    years = np.asarray(q[YEAR].values)
    x = years.astype(float)
    band_handles = _draw_bands(ax, x, q, band_list, color, "fan")
    median = _at(q, 0.5)
    (median_line,) = ax.plot(
        x, median, color=_darker(color), linewidth=2.0, zorder=4, gid="median", label="Median"
    )
    lines: list[Artist] = [median_line]
    det_values = None
    if det is not None:
        det_values = np.asarray(det.values, dtype=float)
        (det_line,) = ax.plot(
            np.asarray(det[YEAR].values, dtype=float),
            det_values,
            color="black",
            linestyle="--",
            linewidth=1.6,
            zorder=5,
            gid="deterministic",
            label="Deterministic projection",
        )
        lines.append(det_line)
    _draw_zero_line(ax, _at(q, band_list[0][0]), _at(q, band_list[0][1]), median, det_values)

    shown = [_at(q, band_list[0][0]), _at(q, band_list[0][1])]
    if det_values is not None:
        shown.append(det_values)
    sc = choose_scale(np.concatenate(shown)) if scale is None else as_scale(scale)
    _format_year_axis(ax, years)
    _format_amount_axis(ax, sc, sc.label(_noun(da)))
    ax.set_title(title if title is not None else _title_of(da))
    _legend_below(ax, list(reversed(band_handles)), lines)
    _note_unknown(ax, da)
    return ax


@_literal_text
def revenue_expenditure_chart(
    ds: xr.Dataset,
    *,
    ax: Axes | None = None,
    deterministic: xr.Dataset | None = None,
    scale: Scale | str | None = None,
) -> Axes:
    """Premium revenue and total expenditure on one axis: median and 90 % band of each.

    Parameters
    ----------
    ds : xarray.Dataset
        A Monte Carlo cube with ``premium_revenue`` and ``total_expenditure``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure when omitted.
    deterministic : xarray.Dataset, optional
        The deterministic projection; both its series are drawn dashed black.
    scale : Scale or str, optional
        Scale of the amounts; chosen from their magnitude when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes; median lines carry the gids ``"median:premium_revenue"`` and
        ``"median:total_expenditure"``, deterministic lines ``"deterministic:<name>"``.
    """
    series = (
        ("premium_revenue", "Premium revenue", REVENUE_COLOR),
        ("total_expenditure", "Total expenditure", EXPENDITURE_COLOR),
    )
    arrays = {name: _variable(ds, name) for name, _, _ in series}
    for name, da in arrays.items():
        _check_fan_dims(da, repr(name))
    dets = {name: _deterministic_series(deterministic, name, repr(name)) for name, _, _ in series}
    ax = _new_axes(ax)

    (lo, hi) = OUTER_BAND[0]
    handles: list[Artist | tuple[Artist, ...]] = []
    labels: list[str] = []
    shown: list[np.ndarray] = []
    years = np.asarray(ds[YEAR].values)
    for name, label, color in series:
        q = _quantiles(arrays[name], (lo, 0.5, hi))
        x = np.asarray(q[YEAR].values, dtype=float)
        (patch,) = _draw_bands(ax, x, q, list(OUTER_BAND), color, name, outlined=True)
        (line,) = ax.plot(
            x, _at(q, 0.5), color=_darker(color), linewidth=2.0, zorder=4, gid=f"median:{name}"
        )
        handles.append((patch, line))
        labels.append(label)
        shown += [_at(q, lo), _at(q, hi)]
    det_line = None
    for name, _, _ in series:
        det = dets[name]
        if det is None:
            continue
        (det_line,) = ax.plot(
            np.asarray(det[YEAR].values, dtype=float),
            np.asarray(det.values, dtype=float),
            color="black",
            linestyle="--",
            linewidth=1.4,
            zorder=5,
            gid=f"deterministic:{name}",
        )
        shown.append(np.asarray(det.values, dtype=float))
    if det_line is not None:
        handles.append(det_line)
        labels.append("Deterministic projection")

    sc = choose_scale(np.concatenate(shown)) if scale is None else as_scale(scale)
    _format_year_axis(ax, years)
    _format_amount_axis(ax, sc, sc.label(_noun(arrays["premium_revenue"])))
    ax.set_title("Revenue and expenditure")
    _note_unknown(ax, *arrays.values())
    ax.legend(
        handles,
        labels,
        handler_map={tuple: HandlerTuple(ndivide=1)},
        title=f"Median and {band_label(lo, hi)}",
        title_fontsize="small",
        loc="upper left",
        fontsize="small",
        framealpha=0.9,
    )
    return ax


def _total_members(ds: xr.Dataset) -> xr.DataArray:
    if "total_members" in ds.data_vars:
        return ds["total_members"]
    if "members" in ds.data_vars:
        return (
            ds["members"]
            .sum(CATEGORY)
            .rename("total_members")
            .assign_attrs(long_name="Total membership", units="persons")
        )
    raise ValueError("the result has neither 'total_members' nor 'members'")


@_literal_text
def membership_chart(
    ds: xr.Dataset,
    *,
    ax: Axes | None = None,
    deterministic: xr.Dataset | None = None,
) -> Axes:
    """Fan chart of total membership (``total_members``, or ``members`` summed over categories).

    Parameters
    ----------
    ds : xarray.Dataset
        A Monte Carlo cube.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure when omitted.
    deterministic : xarray.Dataset, optional
        The deterministic projection.

    Returns
    -------
    matplotlib.axes.Axes
    """
    members = _total_members(ds)
    det = _total_members(deterministic) if deterministic is not None else None
    ax = fan_chart(ds, members, ax=ax, deterministic=det, color="#2b7a4b", title="Membership")
    sc = ax.yaxis.get_major_formatter()
    if isinstance(sc, ScaledFormatter):
        ax.set_ylabel(sc.scale.label("members"))
    return ax


@_literal_text
def premiums_chart(
    ds: xr.Dataset,
    *,
    ax: Axes | None = None,
    scale: Scale | str | None = None,
) -> Axes:
    """Premium per paying member by category: median line and 90 % band of each.

    Parameters
    ----------
    ds : xarray.Dataset
        A Monte Carlo cube with ``premium`` (draw, year, category).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure when omitted.
    scale : Scale or str, optional
        Scale of the amounts; chosen from their magnitude when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes; the median line of each category carries the gid
        ``"median:<category>"``.
    """
    da = _variable(ds, "premium")
    if DRAW not in da.dims or CATEGORY not in da.dims or YEAR not in da.dims:
        raise ValueError(f"'premium' must have dims (draw, year, category), not {da.dims}")
    ax = _new_axes(ax)
    lo, hi = OUTER_BAND[0]
    q = _quantiles(da, (lo, 0.5, hi))  # (quantile, year, category), all years at once
    years = np.asarray(q[YEAR].values)
    x = years.astype(float)
    has_labels = "category_label" in da.coords
    handles: list[tuple[Artist, ...]] = []
    labels: list[str] = []
    for i, cat in enumerate(da[CATEGORY].values):
        color = CATEGORY_COLORS[i % len(CATEGORY_COLORS)]
        qc = q.sel({CATEGORY: cat})
        (patch,) = _draw_bands(ax, x, qc, list(OUTER_BAND), color, f"premium:{cat}", outlined=True)
        (line,) = ax.plot(
            x,
            _at(qc, 0.5),
            color=color,
            linewidth=2.0,
            marker="o",
            markersize=3.5,
            zorder=4,
            gid=f"median:{cat}",
        )
        text = str(da["category_label"].sel({CATEGORY: cat}).values) if has_labels else str(cat)
        handles.append((patch, line))
        labels.append(textwrap.fill(text, _WRAP))
    sc = (
        choose_scale(np.concatenate([_at(q, lo).ravel(), _at(q, hi).ravel()]))
        if scale is None
        else as_scale(scale)
    )
    _format_year_axis(ax, years)
    _format_amount_axis(ax, sc, f"{sc.label(_noun(da))} per member per year")
    ax.set_title(_title_of(da))
    ax.set_ylim(bottom=0)
    _note_unknown(ax, da)
    ax.legend(
        handles,
        labels,
        handler_map={tuple: HandlerTuple(ndivide=1)},
        title=f"Median and {band_label(lo, hi)}",
        title_fontsize="small",
        loc="upper left",
        fontsize="x-small",
        framealpha=0.9,
    )
    return ax


# --------------------------------------------------------------------------- Sobol' indices


def _sobol_slice(indices: xr.Dataset, output: str, needed: Sequence[str]) -> xr.Dataset:
    missing = [v for v in needed if v not in indices.data_vars]
    if missing:
        raise ValueError(
            f"the indices have no variable(s) {missing}; expected S1, S1_conf, ST, ST_conf"
        )
    if "output" in indices.dims:
        outputs = [str(o) for o in indices["output"].values]
        if output not in outputs:
            near = difflib.get_close_matches(output, outputs, n=3)
            hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
            raise ValueError(f"the indices have no output {output!r}{hint} (outputs: {outputs})")
        return indices.sel(output=output)
    return indices


def _words(output: str) -> str:
    return output.replace("_", " ")


def readable_input_name(name: object) -> str:
    """An input's name as a label: ``"admission_rate"`` -> ``"Admission rate"``.

    Names that are already readable (no underscores) are left as they are.
    """
    text = str(name)
    if "_" not in text:
        return text
    text = text.replace("_", " ")
    return text[:1].upper() + text[1:]


@_literal_text
def sobol_chart(
    indices: xr.Dataset,
    *,
    output: str = "balance",
    year: int | None = None,
    ax: Axes | None = None,
    top: int | None = None,
) -> Axes:
    """Horizontal bars of the first-order and total-order Sobol' indices of each input.

    Inputs are sorted by their total-order index, the largest at the top; the
    error bars are the 95 % confidence intervals.

    Parameters
    ----------
    indices : xarray.Dataset
        Dims (``output``, ``input``, ``year``); variables ``S1``, ``S1_conf``,
        ``ST``, ``ST_conf`` (the ``_conf`` are half-widths of 95 % intervals);
        the ``input`` coordinate holds the input names (identifiers such as
        ``admission_rate`` are shown as "Admission rate").
    output : str
        The output whose variance is apportioned.
    year : int, optional
        The year; default the last.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure when omitted.
    top : int, optional
        Show only this many inputs (largest total-order index first).

    Returns
    -------
    matplotlib.axes.Axes
        The axes; the bar containers (``ax.containers``) are labelled
        ``"Total-order (ST)..."`` and ``"First-order (S1)..."``, and their bars
        carry the gids ``"ST"`` and ``"S1"``.
    """
    sub = _sobol_slice(indices, output, ("S1", "S1_conf", "ST", "ST_conf"))
    if YEAR in sub.dims:
        years = [int(y) for y in sub[YEAR].values]
        chosen = years[-1] if year is None else int(year)
        if chosen not in years:
            raise ValueError(f"the indices have no year {chosen} (years: {years})")
        sub = sub.sel({YEAR: chosen})
        when = f", {chosen}"
    else:
        when = ""
    order = np.argsort(-np.nan_to_num(np.asarray(sub["ST"].values, dtype=float), nan=-np.inf))
    if top is not None:
        order = order[:top]
    sub = sub.isel(input=order)
    ax = _new_axes(ax, figsize=(8.0, 0.5 * len(order) + 2.0))

    n = len(order)
    y = np.arange(n)[::-1].astype(float)  # largest at the top
    height = 0.38
    ax.barh(
        y + height / 2,
        np.asarray(sub["ST"].values, dtype=float),
        height=height,
        xerr=np.asarray(sub["ST_conf"].values, dtype=float),
        color=ST_COLOR,
        error_kw={"ecolor": "0.25", "capsize": 3, "elinewidth": 1.0},
        label="Total-order (ST): alone and with interactions",
        gid="ST",
    )
    ax.barh(
        y - height / 2,
        np.asarray(sub["S1"].values, dtype=float),
        height=height,
        xerr=np.asarray(sub["S1_conf"].values, dtype=float),
        color=S1_COLOR,
        error_kw={"ecolor": "0.25", "capsize": 3, "elinewidth": 1.0},
        label="First-order (S1): alone",
        gid="S1",
    )
    names = [textwrap.fill(readable_input_name(v), _WRAP) for v in sub["input"].values]
    ax.set_yticks(y, names)
    ax.tick_params(axis="y", labelsize="small", length=0)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel(f"Sobol' index: share of the variance of the {_words(output)}")
    ax.xaxis.grid(True, color="0.85", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_title(f"What drives the uncertainty of the {_words(output)}{when}")
    ax.legend(loc="lower right", fontsize="small", framealpha=0.9)
    return ax


@_literal_text
def sobol_over_years_chart(
    indices: xr.Dataset,
    *,
    output: str = "balance",
    index: str = "ST",
    ax: Axes | None = None,
    top: int = 6,
) -> Axes:
    """One Sobol' index of each input over the years, with its 95 % interval shaded.

    Parameters
    ----------
    indices : xarray.Dataset
        As for :func:`sobol_chart`, with a ``year`` dimension.
    output : str
        The output whose variance is apportioned.
    index : str
        ``"ST"`` (total-order) or ``"S1"`` (first-order).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure when omitted.
    top : int
        Show the inputs with the largest index in the last year.

    Returns
    -------
    matplotlib.axes.Axes
        The axes; each input's line carries the gid ``"<index>:<input>"``.
    """
    names = {"ST": "Total-order", "S1": "First-order"}
    if index not in names:
        raise ValueError(f"index must be one of {sorted(names)}, not {index!r}")
    sub = _sobol_slice(indices, output, (index, f"{index}_conf"))
    if YEAR not in sub.dims:
        raise ValueError(f"the indices have no {YEAR!r} dimension to draw over")
    last = np.nan_to_num(np.asarray(sub[index].isel({YEAR: -1}).values, dtype=float), nan=-np.inf)
    order = np.argsort(-last)[:top]
    sub = sub.isel(input=order)
    ax = _new_axes(ax)
    years = np.asarray(sub[YEAR].values)
    x = years.astype(float)
    for i, name in enumerate(sub["input"].values):
        color = CATEGORY_COLORS[i % len(CATEGORY_COLORS)]
        values = np.asarray(sub[index].sel(input=name).values, dtype=float)
        conf = np.asarray(sub[f"{index}_conf"].sel(input=name).values, dtype=float)
        ax.fill_between(x, values - conf, values + conf, color=color, alpha=0.12, linewidth=0)
        ax.plot(
            x,
            values,
            color=color,
            linewidth=2.0,
            marker="o",
            markersize=3.5,
            label=textwrap.fill(readable_input_name(name), _WRAP),
            gid=f"{index}:{name}",
        )
    _format_year_axis(ax, years)
    ax.set_ylabel(f"{names[index]} Sobol' index ({index})")
    ax.set_ylim(bottom=0)
    ax.grid(True, axis="y", color="0.85", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"What drives the {_words(output)}, year by year")
    ax.legend(loc="best", fontsize="x-small", framealpha=0.9)
    return ax


# --------------------------------------------------------------------------- dashboard and export


@_literal_text
def dashboard(
    ds: xr.Dataset,
    *,
    deterministic: xr.Dataset | None = None,
    indices: xr.Dataset | None = None,
) -> Figure:
    """One figure with the balance, revenue and expenditure, membership and premiums.

    With Sobol' indices, a third column adds what drives the balance in the
    last year and year by year.

    Parameters
    ----------
    ds : xarray.Dataset
        A Monte Carlo cube.
    deterministic : xarray.Dataset, optional
        The deterministic projection, drawn on the balance, revenue and
        expenditure and membership charts.
    indices : xarray.Dataset, optional
        Sobol' indices as for :func:`sobol_chart`, with the output ``balance``
        (the ten most influential inputs are shown).

    Returns
    -------
    matplotlib.figure.Figure
        A figure not registered with pyplot (save it or show it in a notebook;
        it needs no closing).
    """
    ncols = 3 if indices is not None else 2
    fig = Figure(figsize=(6.6 * ncols, 10.0), layout="constrained")
    axes = fig.subplots(2, ncols)
    fan_chart(ds, "balance", ax=axes[0, 0], deterministic=deterministic)
    revenue_expenditure_chart(ds, ax=axes[0, 1], deterministic=deterministic)
    membership_chart(ds, ax=axes[1, 0], deterministic=deterministic)
    premiums_chart(ds, ax=axes[1, 1])
    if indices is not None:
        sobol_chart(indices, output="balance", ax=axes[0, 2], top=10)
        sobol_over_years_chart(indices, output="balance", ax=axes[1, 2])
    title = str(ds.attrs.get("title", ds.attrs.get("scenario", "")))
    n = ds.sizes.get(DRAW)
    if n:
        title = f"{title}\n{n:,} Monte Carlo projections" if title else f"{n:,} projections"
    if title:
        fig.suptitle(title, fontsize="large")
    return fig


@_literal_text
def figure_to_png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes, every text drawn literally (a ``$`` is a dollar sign).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (its texts are set not to parse mathtext).
    dpi : int
        Resolution [dots per inch].

    Returns
    -------
    bytes
        The PNG file's content.
    """
    _texts_literal(fig)  # also text added to the charts after they were drawn
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def figure_to_data_uri(fig: Figure, dpi: int = 110) -> str:
    """The figure as a ``data:image/png;base64,...`` URI, to embed in a self-contained HTML page.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    dpi : int
        Resolution [dots per inch].

    Returns
    -------
    str
        The data URI.
    """
    encoded = base64.b64encode(figure_to_png_bytes(fig, dpi=dpi)).decode("ascii")
    return f"data:image/png;base64,{encoded}"


# --------------------------------------------------------------------------- report charts


def p_deficit_chart(
    table: xr.Dataset, *, ax: Axes | None = None, label: str = "", color: str = FAN_COLOR
) -> Axes:
    """The probability of a deficit by year, with its Wilson interval as a band.

    Parameters
    ----------
    table : xarray.Dataset
        A risk table (:attr:`~schemerisk.analysis.risk.RiskReport.table`) with ``p_deficit``,
        ``p_deficit_lower`` and ``p_deficit_upper`` by year.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    label : str
        Legend label of the line (several scenarios on one axis).
    color : str
        Colour of the line and its band.

    Returns
    -------
    matplotlib.axes.Axes
        The line has gid ``"p_deficit"``, the band ``"p_deficit:interval"``.
    """
    ax = _new_axes(ax)
    years = np.asarray(table[YEAR].values)
    x = years.astype(float)
    ax.fill_between(
        x,
        100 * table.p_deficit_lower.values,
        100 * table.p_deficit_upper.values,
        color=color,
        alpha=0.25,
        linewidth=0,
        gid="p_deficit:interval",
    )
    ax.plot(
        x,
        100 * table.p_deficit.values,
        marker="o",
        linewidth=2.0,
        color=color,
        gid="p_deficit",
        label=label or "P(deficit)",
    )
    _format_year_axis(ax, years)
    ax.set_ylim(0, 100)
    ax.set_ylabel("Probability of a deficit (%)")
    ax.grid(True, axis="y", color="0.85", linewidth=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title("Chance of a deficit, with its 95 % interval")
    if label:
        ax.legend(loc="upper left", frameon=False)
    return ax


def tornado_chart(
    tornado: xr.Dataset,
    year: int,
    *,
    ax: Axes | None = None,
    labels: dict[str, str] | None = None,
    top: int = 12,
) -> Axes:
    """A tornado diagram in currency: the balance in ``year`` with each input at its low and high
    percentile, the others at their medians, widest bar on top.

    Parameters
    ----------
    tornado : xarray.Dataset
        From :func:`~schemerisk.analysis.study.tornado`.
    year : int
        The decision year.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    labels : dict, optional
        Readable names of the inputs.
    top : int
        Show the ``top`` widest bars.

    Returns
    -------
    matplotlib.axes.Axes
        Bars have gids ``"tornado:low:<input>"`` and ``"tornado:high:<input>"``.
    """
    ax = _new_axes(ax)
    t = tornado.sel({YEAR: year})
    mid = float(t.balance_median)
    lo, hi = t.balance_low.values, t.balance_high.values
    order = np.argsort(-np.abs(hi - lo), kind="stable")[:top][::-1]
    names = [str(n) for n in tornado.input.values]
    level = float(tornado.attrs.get("level", 0.05))
    sc = choose_scale(np.concatenate([lo, hi, [mid]]))
    for row, i in enumerate(order):
        for value, kind, colour in ((lo[i], "low", "#9ecae1"), (hi[i], "high", "#c2451e")):
            ax.barh(
                row,
                value - mid,
                left=mid,
                color=colour,
                height=0.7,
                gid=f"tornado:{kind}:{names[i]}",
            )
    ax.axvline(mid, color="black", linewidth=1.2)
    ax.set_yticks(range(len(order)))
    readable = labels or {}
    ax.set_yticklabels(
        [textwrap.fill(readable.get(names[i], readable_input_name(names[i])), _WRAP) for i in order]
    )
    ax.xaxis.set_major_formatter(ScaledFormatter(sc))
    cur = str(tornado.attrs.get("currency", ""))
    ax.set_xlabel(f"Balance in {year} ({sc.label(cur)})")
    ax.grid(True, axis="x", color="0.85", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(
        handles=[
            Patch(color="#9ecae1", label=f"input at its {100 * level:g}th percentile"),
            Patch(color="#c2451e", label=f"input at its {100 * (1 - level):g}th percentile"),
        ],
        loc="lower right",
        frameon=False,
        fontsize="small",
    )
    ax.set_title(f"Balance in {year}, one input at a time")
    return ax


def comparison_fan_chart(
    cubes: dict[str, xr.Dataset], var: str = "balance", *, ax: Axes | None = None
) -> Axes:
    """Several scenarios' fans on one axis: each one's 90 % band and median line.

    Parameters
    ----------
    cubes : dict
        Monte Carlo cubes by scenario label.
    var : str
        The variable to show.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.axes.Axes
        Median lines have gids ``"median:<label>"``.
    """
    ax = _new_axes(ax)
    shown = []
    years_all: list[float] = []
    for (label, cube), colour in zip(cubes.items(), itertools.cycle(CATEGORY_COLORS), strict=False):
        da = _variable(cube, var)
        q = _quantiles(da, [0.05, 0.5, 0.95])
        years = np.asarray(q[YEAR].values, dtype=float)
        years_all += list(years)
        ax.fill_between(
            years, _at(q, 0.05), _at(q, 0.95), color=colour, alpha=_BAND_ALPHA_SHARED, linewidth=0
        )
        ax.plot(
            years,
            _at(q, 0.5),
            color=colour,
            linewidth=2.0,
            gid=f"median:{label}",
            label=textwrap.fill(f"{label}: median and 90 % of outcomes", 60),
        )
        shown += [_at(q, 0.05), _at(q, 0.95)]
    sc = choose_scale(np.concatenate(shown))
    _format_year_axis(ax, np.unique(np.asarray(years_all, dtype=int)))
    first = next(iter(cubes.values()))
    _format_amount_axis(ax, sc, sc.label(_noun(_variable(first, var))))
    _draw_zero_line(ax, *shown)
    ax.set_title(_title_of(_variable(first, var)))
    ax.legend(loc="lower left", frameon=False, fontsize="small")
    return ax


def figure_to_svg(fig: Figure, prefix: str) -> str:
    """The figure as an SVG element to put inline in an HTML page (text kept as text).

    Text is written as ``<text>`` (``svg.fonttype = "none"``), so it stays selectable and
    searchable, and prints crisp at any size. Every ``id`` is prefixed with ``prefix`` so that
    several figures on one page do not share clip paths.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    prefix : str
        A prefix unique on the page (letters, digits, ``-``).

    Returns
    -------
    str
        The ``<svg>...</svg>`` element, without XML declaration or doctype.
    """
    buffer = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": prefix}):
        fig.savefig(buffer, format="svg", facecolor="white", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    seen: dict[str, int] = {}

    def unique(match: re.Match[str]) -> str:
        # a gid given to several artists (the bars of one series) would repeat an id
        ident = match.group(1)
        seen[ident] = seen.get(ident, 0) + 1
        suffix = f"-{seen[ident]}" if seen[ident] > 1 else ""
        return f'id="{prefix}-{ident}{suffix}"'

    text = re.sub(r'\bid="([^"]+)"', unique, text)
    text = text.replace("url(#", f"url(#{prefix}-").replace('href="#', f'href="#{prefix}-')
    return text
