"""Charts: the artists drawn carry the cube's numbers, labels are readable, export works."""

from __future__ import annotations

import base64

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from schemerisk.reports import charts
from schemerisk.reports.charts import Scale, ScaledFormatter

PNG_MAGIC = b"\x89PNG"


def line(ax: Axes, gid: str) -> Line2D:
    """The one line of ``ax`` with this gid."""
    found = [ln for ln in ax.get_lines() if ln.get_gid() == gid]
    assert len(found) == 1, f"{len(found)} lines with gid {gid!r}"
    return found[0]


def bands(ax: Axes) -> list[PolyCollection]:
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [" ".join(t.get_text().split()) for t in legend.get_texts()]


def polygon_y_range(pc: PolyCollection) -> tuple[float, float]:
    ys = np.concatenate([p.vertices[:, 1] for p in pc.get_paths()])
    return float(ys.min()), float(ys.max())


# --------------------------------------------------------------------------- scale and ticks


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2.5e9, Scale.MILLIONS),
        (-9.8e9, Scale.MILLIONS),
        (2.1e10, Scale.MILLIONS),
        (1.4e11, Scale.BILLIONS),
        (1e16, Scale.BILLIONS),
        (116_000.0, Scale.THOUSANDS),
        (99_000.0, Scale.UNITS),
        (0.0, Scale.UNITS),
    ],
)
def test_choose_scale_keeps_at_most_five_digits(value: float, expected: Scale) -> None:
    assert charts.choose_scale([0.0, value, np.nan]) is expected


def test_formatter_shows_millions_with_thousands_separators() -> None:
    fmt = ScaledFormatter("millions")
    assert fmt(2.5e9) == "2,500"
    assert fmt(0.0) == "0"
    assert fmt(-4e9) == "\u22124,000"


def test_formatter_takes_the_decimals_the_ticks_need() -> None:
    fmt = ScaledFormatter(Scale.THOUSANDS)
    fmt.set_locs([10_000.0, 12_500.0, 15_000.0])
    assert [fmt(v) for v in (10_000.0, 12_500.0, 15_000.0)] == ["10.0", "12.5", "15.0"]
    fmt.set_locs([0.0, 20_000.0, 40_000.0])
    assert fmt(40_000.0) == "40"


def test_unknown_scale_is_named() -> None:
    with pytest.raises(ValueError, match="unknown scale 'lakhs'"):
        charts.as_scale("lakhs")


# --------------------------------------------------------------------------- fan chart


def test_fan_chart_draws_three_bands_darker_towards_the_centre(cube: xr.Dataset) -> None:
    ax = charts.fan_chart(cube, "balance")
    polys = bands(ax)
    assert len(polys) == 3
    alphas = [pc.get_alpha() for pc in polys]  # drawn widest first
    assert all(a is not None for a in alphas)
    assert alphas == sorted(alphas) and len(set(alphas)) == 3
    q = cube.balance.quantile([0.05, 0.20, 0.35, 0.65, 0.80, 0.95], dim="draw")
    for pc, (lo, hi) in zip(polys, charts.DEFAULT_BANDS, strict=True):
        assert pc.get_gid() == f"fan:band:{lo:g}-{hi:g}"
        ymin, ymax = polygon_y_range(pc)
        assert ymin == pytest.approx(float(q.sel(quantile=lo).min()))
        assert ymax == pytest.approx(float(q.sel(quantile=hi).max()))


def test_fan_chart_median_and_deterministic_lines_carry_the_numbers(
    cube: xr.Dataset, det: xr.Dataset
) -> None:
    ax = charts.fan_chart(cube, "balance", deterministic=det)
    median = line(ax, "median")
    np.testing.assert_allclose(median.get_xdata(), cube.year.values)
    np.testing.assert_allclose(median.get_ydata(), cube.balance.median("draw").values)
    dline = line(ax, "deterministic")
    np.testing.assert_allclose(dline.get_ydata(), det.balance.values)
    assert dline.get_linestyle() == "--" and dline.get_color() == "black"
    assert dline.get_zorder() > median.get_zorder() > max(pc.get_zorder() for pc in bands(ax))


def test_fan_chart_draws_zero_on_top_when_the_range_crosses_it(cube: xr.Dataset) -> None:
    ax = charts.fan_chart(cube, "balance")
    zero = line(ax, "zero")
    assert set(zero.get_ydata()) == {0.0}
    assert zero.get_zorder() > line(ax, "median").get_zorder()
    revenue = charts.fan_chart(cube, "premium_revenue")
    assert not [ln for ln in revenue.get_lines() if ln.get_gid() == "zero"]


def test_fan_chart_axes_read_years_and_millions(cube: xr.Dataset) -> None:
    ax = charts.fan_chart(cube, "balance")
    np.testing.assert_array_equal(ax.get_xticks(), cube.year.values)
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(y) for y in cube.year.values]
    formatter = ax.yaxis.get_major_formatter()
    assert isinstance(formatter, ScaledFormatter) and formatter.scale is Scale.MILLIONS
    assert formatter(2.5e9) == "2,500"
    assert ax.get_ylabel() == "millions of VND"
    assert ax.get_xlabel() == "Year"
    assert ax.get_title() == "Balance of the scheme"


def test_fan_chart_legend_names_the_bands(cube: xr.Dataset, det: xr.Dataset) -> None:
    ax = charts.fan_chart(cube, "balance", deterministic=det)
    texts = legend_texts(ax)
    for expected in (
        "90 % of outcomes",
        "60 % of outcomes",
        "30 % of outcomes",
        "Median",
        "Deterministic projection",
    ):
        assert expected in texts


def test_fan_chart_accepts_a_selected_data_array_and_options(cube: xr.Dataset) -> None:
    _, given = plt.subplots()
    farmers = cube.premium.sel(category="industrial")
    ax = charts.fan_chart(
        cube,
        farmers,
        ax=given,
        bands=((0.1, 0.9),),
        color="#aa3300",
        scale="units",
        title="Premium, industrial workers",
    )
    assert ax is given
    assert len(bands(ax)) == 1
    np.testing.assert_allclose(line(ax, "median").get_ydata(), farmers.median("draw").values)
    assert ax.get_title() == "Premium, industrial workers"
    assert ax.get_ylabel() == "VND"
    assert "80 % of outcomes" in legend_texts(ax)


def test_fan_chart_refuses_a_category_dimension(cube: xr.Dataset) -> None:
    with pytest.raises(ValueError, match=r"'category' dimension.*select one category"):
        charts.fan_chart(cube, "premium")
    with pytest.raises(ValueError, match="select one category"):
        charts.fan_chart(cube, cube["members"])


def test_fan_chart_refuses_a_projection_without_draws(det: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="no 'draw' dimension"):
        charts.fan_chart(det, "balance")


def test_fan_chart_suggests_the_nearest_variable(cube: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="did you mean 'balance'"):
        charts.fan_chart(cube, "balanse")


def test_fan_chart_refuses_a_deterministic_run_with_draws(cube: xr.Dataset) -> None:
    with pytest.raises(ValueError, match=r"deterministic projection .* 'draw' dimension"):
        charts.fan_chart(cube, "balance", deterministic=cube)


@pytest.mark.parametrize(
    "bad",
    [
        ((0.05, 0.95), (0.01, 0.90)),  # not nested
        ((0.6, 0.9),),  # not central
        (),
    ],
)
def test_fan_chart_refuses_bands_that_are_not_nested_central_intervals(
    cube: xr.Dataset, bad: tuple[tuple[float, float], ...]
) -> None:
    with pytest.raises(ValueError, match="band"):
        charts.fan_chart(cube, "balance", bands=bad)


# --------------------------------------------------------------------------- other fans


def test_revenue_expenditure_chart_shows_both_medians_bands_and_projections(
    cube: xr.Dataset, det: xr.Dataset
) -> None:
    ax = charts.revenue_expenditure_chart(cube, deterministic=det)
    assert len(bands(ax)) == 2
    for name in ("premium_revenue", "total_expenditure"):
        np.testing.assert_allclose(
            line(ax, f"median:{name}").get_ydata(), cube[name].median("draw").values
        )
        np.testing.assert_allclose(line(ax, f"deterministic:{name}").get_ydata(), det[name].values)
    rev, exp = (line(ax, f"median:{n}") for n in ("premium_revenue", "total_expenditure"))
    assert rev.get_color() != exp.get_color()
    texts = legend_texts(ax)
    assert {"Premium revenue", "Total expenditure", "Deterministic projection"} <= set(texts)
    assert ax.get_title() == "Revenue and expenditure"
    assert ax.get_ylabel().endswith("of VND")


def test_membership_chart_uses_total_members_or_sums_categories(
    cube: xr.Dataset, det: xr.Dataset
) -> None:
    ax = charts.membership_chart(cube, deterministic=det)
    expected = cube.total_members.median("draw").values
    np.testing.assert_allclose(line(ax, "median").get_ydata(), expected)
    np.testing.assert_allclose(line(ax, "deterministic").get_ydata(), det.total_members.values)
    assert ax.get_ylabel() == "thousands of members"
    assert ax.get_title() == "Membership"
    without = cube.drop_vars("total_members")
    ax2 = charts.membership_chart(without)
    np.testing.assert_allclose(line(ax2, "median").get_ydata(), expected)


def test_premiums_chart_has_a_median_and_band_per_category(cube: xr.Dataset) -> None:
    ax = charts.premiums_chart(cube)
    cats = [str(c) for c in cube.category.values]
    assert len(bands(ax)) == len(cats)
    for cat in cats:
        np.testing.assert_allclose(
            line(ax, f"median:{cat}").get_ydata(),
            cube.premium.sel(category=cat).median("draw").values,
        )
    texts = legend_texts(ax)
    assert texts == [str(label) for label in cube.category_label.values]
    assert ax.get_ylabel() == "thousands of VND per member per year"


# --------------------------------------------------------------------------- Sobol' charts


def bar_container(ax: Axes, prefix: str) -> BarContainer:
    found = [
        c for c in ax.containers if isinstance(c, BarContainer) and c.get_label().startswith(prefix)
    ]
    assert len(found) == 1
    return found[0]


def test_sobol_chart_bar_lengths_are_the_indices_sorted_by_total_order(
    indices: xr.Dataset,
) -> None:
    ax = charts.sobol_chart(indices)
    last = indices.sel(output="balance", year=1997)
    order = np.argsort(-last.ST.values)
    st = bar_container(ax, "Total-order (ST)")
    s1 = bar_container(ax, "First-order (S1)")
    np.testing.assert_allclose([p.get_width() for p in st.patches], last.ST.values[order])
    np.testing.assert_allclose([p.get_width() for p in s1.patches], last.S1.values[order])
    # the largest total-order index sits at the top
    tops = [p.get_y() for p in st.patches]
    assert tops == sorted(tops, reverse=True)
    ticks = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])  # top first
    labels = [" ".join(t.get_text().split()) for t in ticks]
    assert labels == [str(v) for v in last.input.values[order]]
    assert ax.get_title() == "What drives the uncertainty of the balance, 1997"


def test_sobol_chart_error_bars_are_the_confidence_half_widths(indices: xr.Dataset) -> None:
    ax = charts.sobol_chart(indices, output="balance", year=1995)
    sel = indices.sel(output="balance", year=1995)
    order = np.argsort(-sel.ST.values)
    st = bar_container(ax, "Total-order (ST)")
    assert st.errorbar is not None
    (segments,) = st.errorbar.lines[2]
    half = [abs(seg[1][0] - seg[0][0]) / 2 for seg in segments.get_segments()]
    np.testing.assert_allclose(half, sel.ST_conf.values[order])
    assert ax.get_title().endswith("1995")


def test_sobol_chart_top_and_errors(indices: xr.Dataset) -> None:
    ax = charts.sobol_chart(indices, top=2)
    assert len(bar_container(ax, "Total-order").patches) == 2
    with pytest.raises(ValueError, match="did you mean 'balance'"):
        charts.sobol_chart(indices, output="balanse")
    with pytest.raises(ValueError, match="no year 2001"):
        charts.sobol_chart(indices, year=2001)


def test_sobol_over_years_chart_follows_the_top_inputs(indices: xr.Dataset) -> None:
    ax = charts.sobol_over_years_chart(indices, top=2)
    sel = indices.sel(output="balance")
    top = [str(v) for v in sel.input.values[np.argsort(-sel.ST.isel(year=-1).values)[:2]]]
    assert [ln.get_gid() for ln in ax.get_lines()] == [f"ST:{name}" for name in top]
    for name in top:
        np.testing.assert_allclose(
            line(ax, f"ST:{name}").get_ydata(), sel.ST.sel(input=name).values
        )
    ax1 = charts.sobol_over_years_chart(indices, index="S1", output="balance_share_of_revenue")
    assert ax1.get_ylabel() == "First-order Sobol' index (S1)"
    with pytest.raises(ValueError, match="index must be one of"):
        charts.sobol_over_years_chart(indices, index="S2")


def test_sobol_charts_show_identifiers_as_words(indices: xr.Dataset) -> None:
    named = indices.assign_coords(input=["admission_rate", "a + b_c", "x", "y_z", "Already fine"])
    ax = charts.sobol_chart(named)
    labels = {t.get_text() for t in ax.get_yticklabels()}
    assert labels == {"Admission rate", "A + b c", "x", "Y z", "Already fine"}
    ax2 = charts.sobol_over_years_chart(named, top=1)
    assert legend_texts(ax2) == ["Admission rate"]
    assert ax2.get_lines()[0].get_gid() == "ST:admission_rate"


# --------------------------------------------------------------------------- dashboard, export


def test_dashboard_has_four_panels_or_six_with_indices(
    cube: xr.Dataset, det: xr.Dataset, indices: xr.Dataset
) -> None:
    before = plt.get_fignums()
    fig = charts.dashboard(cube, deterministic=det)
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == [
        "Balance of the scheme",
        "Revenue and expenditure",
        "Membership",
        "Premium per paying member",
    ]
    fig6 = charts.dashboard(cube, deterministic=det, indices=indices)
    assert len(fig6.axes) == 6
    assert plt.get_fignums() == before  # not registered with pyplot
    assert PNG_MAGIC == charts.figure_to_png_bytes(fig6, dpi=50)[:4]


def test_png_export_and_data_uri(cube: xr.Dataset, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fig = charts.fan_chart(cube, "balance").figure
    assert isinstance(fig, Figure)
    png = charts.figure_to_png_bytes(fig)
    assert png.startswith(PNG_MAGIC)
    uri = charts.figure_to_data_uri(fig)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).startswith(PNG_MAGIC)
    (tmp_path / "balance.png").write_bytes(png)
    assert (tmp_path / "balance.png").stat().st_size > 10_000


# --------------------------------------------------------------------------- report charts


def test_p_deficit_chart_draws_the_probability_and_its_interval(cube: xr.Dataset) -> None:
    from schemerisk.analysis.risk import deficit_risk

    table = deficit_risk(cube).table
    ax = charts.p_deficit_chart(table)
    got = line(ax, "p_deficit")
    bal = cube.balance.transpose("draw", "year").values
    np.testing.assert_allclose(got.get_ydata(), 100 * (bal < 0).mean(axis=0), rtol=1e-12)
    (band,) = [c for c in ax.collections if c.get_gid() == "p_deficit:interval"]
    lo, hi = polygon_y_range(band)
    assert lo == pytest.approx(100 * float(table.p_deficit_lower.min()))
    assert hi == pytest.approx(100 * float(table.p_deficit_upper.max()))


def test_tornado_chart_bars_run_from_the_median_to_each_end_widest_on_top() -> None:
    t = xr.Dataset(
        {
            "balance_median": ("year", [10.0e6]),
            "balance_low": (("input", "year"), [[12.0e6], [4.0e6], [9.0e6]]),
            "balance_high": (("input", "year"), [[8.0e6], [20.0e6], [10.5e6]]),
        },
        coords={"input": ["a", "b", "c"], "year": [2000]},
        attrs={"level": 0.05, "currency": "VND"},
    )
    ax = charts.tornado_chart(t, 2000)
    bars = {p.get_gid(): p for p in ax.patches if p.get_gid()}
    assert bars["tornado:low:b"].get_x() == pytest.approx(10e6)
    assert bars["tornado:low:b"].get_width() == pytest.approx(-6e6)
    assert bars["tornado:high:b"].get_width() == pytest.approx(10e6)
    # rows from the bottom: c (1.5 M wide), a (4 M), b (16 M) on top
    assert [bars[f"tornado:high:{n}"].get_y() + 0.35 for n in "cab"] == pytest.approx([0, 1, 2])
    assert "thousands of VND" in ax.get_xlabel()  # 20,000 thousands: at most five digits


def test_comparison_fan_chart_has_one_median_per_scenario(cube: xr.Dataset) -> None:
    other = cube.assign(balance=cube.balance * 2)
    ax = charts.comparison_fan_chart({"A": cube, "B": other})
    np.testing.assert_allclose(line(ax, "median:A").get_ydata(), cube.balance.median("draw"))
    np.testing.assert_allclose(line(ax, "median:B").get_ydata(), other.balance.median("draw"))


def test_svg_keeps_text_as_text_and_ids_unique(cube: xr.Dataset) -> None:
    import xml.etree.ElementTree as ET

    fig = Figure()
    charts.fan_chart(cube, "balance", ax=fig.add_subplot())
    svg = charts.figure_to_svg(fig, "f1")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    texts = ["".join(t.itertext()) for t in root.iter(f"{ns}text")]
    assert "Year" in texts and "1995" in texts  # selectable text, not glyph paths
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert ids and len(ids) == len(set(ids)) and all(i.startswith("f1-") for i in ids)
    refs = [r for el in root.iter() for r in [el.get("clip-path")] if r]
    assert refs and all(r.startswith("url(#f1-") for r in refs)
