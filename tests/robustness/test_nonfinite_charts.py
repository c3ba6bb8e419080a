"""Charts with non-finite projections and with "$" in user text."""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from schemerisk.reports import charts  # every chart here draws on a bare Figure: no pyplot

YEARS = np.arange(2020, 2026)


def _cube(n: int = 300) -> xr.Dataset:
    rng = np.random.default_rng(8)
    dims = ("draw", "year")
    balance = rng.normal(0.0, 1e9, (n, YEARS.size))
    balance[:17, 2] = np.nan  # 17 draws unknown in one year
    balance[17:20, :] = np.inf  # 3 more unknown every year
    premium = rng.uniform(1e4, 3e4, (n, YEARS.size, 2))
    return xr.Dataset(
        {
            "balance": (dims, balance, {"units": "VND/yr", "long_name": "Balance"}),
            "premium": (("draw", "year", "category"), premium, {"units": "VND/yr"}),
        },
        coords={
            "draw": np.arange(n),
            "year": YEARS,
            "category": ["a", "b"],
            "category_label": ("category", [r"Pays $\frac{x}$", "5 $ a month"]),
        },
        attrs={"title": r"Scheme in $ and $\frac{x}$"},
    )


def test_fan_chart_leaves_unknown_draws_out_and_says_how_many() -> None:
    cube = _cube()
    ax = charts.fan_chart(cube, "balance", ax=Figure().add_subplot())
    notes = [t for t in ax.texts if t.get_gid() == "unknown"]
    unknown = int((~np.isfinite(cube.balance.values)).any(axis=1).sum())  # 20, counted by numpy
    assert unknown == 20
    assert len(notes) == 1 and notes[0].get_text().startswith(f"{unknown} of 300 projections")
    median = next(ln for ln in ax.get_lines() if ln.get_gid() == "median")
    finite_median = [np.median(col[np.isfinite(col)]) for col in cube.balance.values.T]
    np.testing.assert_allclose(median.get_ydata(), finite_median, rtol=1e-12)
    # without unknowns, no note
    clean = cube.assign(balance=cube.balance.fillna(0.0).where(np.isfinite(cube.balance), 0.0))
    ax = charts.fan_chart(clean, "balance", ax=Figure().add_subplot())
    assert not [t for t in ax.texts if t.get_gid() == "unknown"]


def test_dollar_signs_in_labels_and_titles_are_drawn_literally() -> None:
    fig = Figure()
    ax = charts.premiums_chart(_cube(), ax=fig.add_subplot())
    ax.set_title(r"$\frac{x}$")  # after the chart: the export alone must still cope
    png = charts.figure_to_png_bytes(fig)  # mathtext would raise a ParseSyntaxException
    assert png.startswith(b"\x89PNG")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert r"Pays $\frac{x}$" in legend
    assert not any(t.get_parse_math() for t in ax.get_legend().get_texts())
    fig = Figure()
    ax = charts.fan_chart(_cube(), "balance", ax=fig.add_subplot(), title=r"In $\frac{x}$ VND")
    fig.tight_layout()  # lays the text out (as the report does) before any export
    assert ax.get_title() == r"In $\frac{x}$ VND"
    assert charts.figure_to_png_bytes(fig).startswith(b"\x89PNG")
