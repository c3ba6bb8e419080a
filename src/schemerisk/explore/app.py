"""``schemerisk explore``: a local what-if web app (Dash), bound to 127.0.0.1.

The analyst moves the premium level (flat premiums and contribution rates, each by a
multiplier, and each category's premiums by its own multiplier), the coverage target and the centre and spread of each uncertain input; the
balance fan chart, P(deficit) by year and the required premium multiplier follow. The
numbers come from :class:`~schemerisk.explore.engine.Explorer`: the same uniforms throughout,
and the model re-run only when a control other than a multiplier changes.

Dash (Plotly) serves its own JavaScript from the package, so the app works offline.
"""

from __future__ import annotations

import threading
import time
import webbrowser
from typing import Any

import numpy as np

from schemerisk.explore.engine import FAN_QUANTILES, Explorer, Settings, View

#: what the app is, for the page's title
TITLE = "schemerisk explore"
_BLUE = "#1f5fa8"
_CARD = {
    "border": "1px solid #cfd6de",
    "padding": "8px 12px",
    "borderRadius": "4px",
    "background": "#fff",
    "minWidth": "0",
}


def _dash() -> Any:
    try:
        import dash
    except ImportError as exc:  # pragma: no cover - the message is tested through the CLI
        raise ImportError(
            "schemerisk explore needs Dash: pip install 'schemerisk[explore]' (or pip install dash)"
        ) from exc
    return dash


def _fmt_p(p: float) -> str:
    return f"{p:.1%}" if np.isfinite(p) else "unknown"


def _figures(ex: Explorer, v: View, planned: View) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fan chart and the P(deficit) chart as plain Plotly figure dicts.

    Plain dicts rather than ``plotly.graph_objects``: building and validating those took about
    a hundred milliseconds a change, half the latency budget.
    """
    cur = ex.scenario.currency
    years = [int(y) for y in v.years]
    step = max(1, -(-len(years) // 12))  # at most a dozen year labels
    xaxis = {"dtick": step, "tickformat": "d", "range": [years[0] - 0.3, years[-1] + 0.3]}
    q = (v.fan / 1e6).tolist()
    data: list[dict[str, Any]] = []
    for lo, hi, alpha in ((0, 6, 0.18), (1, 5, 0.28), (2, 4, 0.4)):
        line = {"width": 0}
        data.append({"x": years, "y": q[hi], "mode": "lines", "line": line, "showlegend": False})
        data.append(
            {
                "x": years,
                "y": q[lo],
                "mode": "lines",
                "line": line,
                "fill": "tonexty",
                "fillcolor": f"rgba(31,95,168,{alpha})",
                "name": f"{round(100 * (FAN_QUANTILES[hi] - FAN_QUANTILES[lo]))} % of projections",
            }
        )
    data.append(
        {"x": years, "y": q[3], "mode": "lines", "line": {"color": _BLUE}, "name": "median"}
    )
    data.append(
        {
            "x": years,
            "y": (planned.fan[3] / 1e6).tolist(),
            "mode": "lines",
            "line": {"color": "#777", "dash": "dash"},
            "name": "median, as planned",
        }
    )
    zero = {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "y0": 0,
        "y1": 0,
        "line": {"color": "#a33a00", "width": 1},
    }
    common = {"margin": {"l": 60, "r": 10, "t": 40, "b": 40}, "xaxis": xaxis}
    legend = {"orientation": "h", "y": -0.2}
    fan = {
        "data": data,
        "layout": {
            **common,
            "title": {"text": "Balance of the scheme"},
            "yaxis": {"title": {"text": f"M {cur} per year"}},
            "shapes": [zero],
            "height": 340,
            "legend": legend,
        },
    }
    pdef = {
        "data": [
            {
                "x": years,
                "y": (100 * planned.p_deficit).tolist(),
                "mode": "lines",
                "line": {"color": "#777", "dash": "dash"},
                "name": "as planned",
            },
            {
                "x": years,
                "y": (100 * v.p_deficit).tolist(),
                "mode": "lines+markers",
                "line": {"color": _BLUE},
                "name": "with these settings",
            },
        ],
        "layout": {
            **common,
            "title": {"text": "Probability of a deficit"},
            "yaxis": {"title": {"text": "%"}, "range": [0, 100]},
            "height": 300,
            "legend": legend,
        },
    }
    return fan, pdef


def _table(ex: Explorer, v: View) -> Any:
    html = _dash().html
    cell = {"padding": "3px 8px", "borderBottom": "1px solid #cfd6de", "textAlign": "right"}
    head = html.Tr(
        [
            html.Th(h, style=cell)
            for h in (
                "Year",
                "P(deficit)",
                "Unknown projections",
                f"Premium x for P <= {Settings().level:.0%}",
            )
        ]
    )
    rows = []
    for i, y in enumerate(v.years):
        rows.append(
            html.Tr(
                [
                    html.Td(str(int(y)), style=cell),
                    html.Td(_fmt_p(float(v.p_deficit[i])), className="p", style=cell),
                    html.Td(f"{v.n - int(v.known[i]):,}", style=cell),
                    html.Td(
                        f"{float(v.required[i]):.3f}" if np.isfinite(v.required[i]) else "-",
                        style=cell,
                    ),
                ],
                **{
                    "data-year": str(int(y)),
                    "data-deficits": str(int(v.deficits[i])),
                    "data-known": str(int(v.known[i])),
                },
            )
        )
    return html.Table(
        [html.Thead(head), html.Tbody(rows)],
        id="p-table",
        style={"borderCollapse": "collapse", "fontVariantNumeric": "tabular-nums"},
    )


def build_app(ex: Explorer) -> Any:
    """The Dash app of an explorer.

    Parameters
    ----------
    ex : Explorer
        The fixed design and its model.

    Returns
    -------
    dash.Dash
        The app (run it with ``app.run(host="127.0.0.1", port=...)``).
    """
    dash = _dash()
    from dash import ALL, Input, Output, State, dcc, html
    from dash.exceptions import PreventUpdate

    lock = threading.Lock()  # the server is threaded; the explorer keeps one run at a time
    planned = ex.view(Settings())
    app = dash.Dash(__name__, title=TITLE)
    sc = ex.scenario

    def multiplier(name: str, label: str, note: str) -> Any:
        return html.Div(
            [
                html.Label(label, htmlFor=f"{name}-number", style={"fontWeight": "bold"}),
                html.Div(
                    [
                        html.Div(
                            dcc.Slider(
                                0,
                                3,
                                0.01,
                                value=1,
                                id=f"{name}-slider",
                                marks={0: "0", 1: "1", 2: "2", 3: "3"},
                                updatemode="drag",
                                allow_direct_input=False,  # the number box beside it
                            ),
                            style={"flex": "1 1 200px"},
                        ),
                        dcc.Input(
                            id=f"{name}-number",
                            type="number",
                            min=0,
                            step="any",
                            value=1,
                            style={"width": "6em"},
                        ),
                    ],
                    style={"display": "flex", "alignItems": "center", "gap": "8px"},
                ),
                html.Div(note, style={"fontSize": "0.85em", "color": "#555"}),
            ],
            style={"marginBottom": "10px"},
        )

    ct = ex.coverage_path()
    coverage = html.Div(
        [
            html.Label(
                "Coverage target: share of the population insured by the last year",
                htmlFor="coverage",
                style={"fontWeight": "bold"},
            ),
            dcc.Input(
                id="coverage",
                type="number",
                min=0,
                max=1,
                step=0.01,
                value=None if ct is None else float(ct.population_share.values[-1]),
                disabled=ct is None,
                debounce=True,
                style={"width": "6em", "marginLeft": "8px"},
            ),
            html.Div(
                "This scenario has no coverage target (its insured shares are set by category)."
                if ct is None
                else "Reached on a straight line from the first year's target; the model is re-run.",
                style={"fontSize": "0.85em", "color": "#555"},
            ),
        ],
        style={"marginBottom": "10px"},
    )

    def box(kind: str, name: str, value: float, width: str, **limits: Any) -> Any:
        """A number box sending its value on Enter or on leaving it (one change, one run)."""
        return dcc.Input(
            id={"type": kind, "index": name},
            type="number",
            value=value,
            debounce=True,
            style={"width": width},
            **limits,
        )

    inputs = [
        html.Tr(
            [
                html.Td(e.label or e.name.replace("_", " ")),
                # six digits beside Dash's - and + buttons
                html.Td(
                    box("centre", e.name, float(f"{ex.median(e.name):.6g}"), "12em", step="any")
                ),
                html.Td(box("spread", e.name, 1, "5em", min=0, step=0.1)),
            ]
        )
        for e in ex.entries
    ]
    by_category = html.Details(
        [
            html.Summary("Premiums by category"),
            html.P(
                "Each category's premiums (flat premium and contribution rate) as planned times "
                "this; no re-run. The changes in revenue add up: with flat premiums x 1.2 and "
                "farmers x 1.1, farmers pay their planned premiums plus 20 % of their flat "
                "premium plus 10 % of their whole premium (as schemerisk risk "
                "--premium-multiplier farmers=1.1 when the multipliers above are 1).",
                style={"fontSize": "0.85em", "color": "#555"},
            ),
            html.Table(
                [
                    html.Thead(html.Tr([html.Th("Category"), html.Th("Premiums x")])),
                    html.Tbody(
                        [
                            html.Tr(
                                [
                                    html.Td(c.label or c.name.replace("_", " ")),
                                    html.Td(box("category", c.name, 1, "6em", min=0, step=0.01)),
                                ]
                            )
                            for c in sc.categories
                        ]
                    ),
                ]
            ),
        ],
        open=False,
        style={"marginBottom": "10px"},
    )
    controls = html.Div(
        [
            html.H2("Assumptions", style={"fontSize": "1.1em"}),
            multiplier(
                "flat",
                "Flat premiums x",
                "Every flat premium (all categories) times this; no re-run: revenue is "
                "proportional to premiums (as solve --adjust flat-premiums).",
            ),
            multiplier(
                "rates",
                "Contribution rates x",
                "Every income-related contribution rate times this; no re-run (as solve "
                "--adjust contribution-rates).",
            ),
            by_category,
            coverage,
            html.Details(
                [
                    html.Summary("Centre (median) and spread of each uncertain input"),
                    html.P(
                        "A drawn value x becomes centre + spread x (x - median): the same "
                        "random numbers, mapped again; the model is re-run.",
                        style={"fontSize": "0.85em", "color": "#555"},
                    ),
                    html.Table(
                        [
                            html.Thead(
                                html.Tr([html.Th("Input"), html.Th("Centre"), html.Th("Spread")])
                            ),
                            html.Tbody(inputs),
                        ]
                    ),
                ],
                open=False,
            ),
        ],
        style=_CARD,
    )
    fan, pdef = _figures(ex, planned, planned)
    outputs = html.Div(
        [
            html.Div(id="status", style={"fontSize": "0.85em", "color": "#555"}),
            dcc.Graph(id="fan", figure=fan, config={"displaylogo": False}),
            dcc.Graph(id="pdef", figure=pdef, config={"displaylogo": False}),
            html.Div(_table(ex, planned), id="table", style={"overflowX": "auto"}),
            html.P(
                "A projection whose balance is not finite is unknown: left out of P(deficit), "
                "never counted as safe. The premium multiplier scales every premium (flat and "
                "contribution rates) on top of the settings above.",
                style={"fontSize": "0.85em", "color": "#555"},
            ),
        ],
        style=_CARD,
    )
    app.layout = html.Div(
        [
            html.H1(f"What if? {sc.title or sc.name}", style={"fontSize": "1.4em"}),
            html.P(
                f"{ex.n:,} projections with fixed random numbers (common random numbers): a "
                "change shows its effect, not new noise. Amounts in millions of "
                f"{sc.currency}.",
            ),
            html.Div(
                [controls, outputs],
                style={
                    "display": "grid",
                    "gridTemplateColumns": "repeat(auto-fit, minmax(min(100%, 560px), 1fr))",
                    "gap": "12px",
                },
            ),
        ],
        style={
            "fontFamily": "DejaVu Sans, Arial, sans-serif",
            "maxWidth": "1400px",
            "margin": "0 auto",
            "padding": "8px 12px",
            "background": "#f5f6f8",
        },
    )

    for name in ("flat", "rates"):
        # the slider and its number box show the same value; kept in step in the page itself,
        # so a moved slider costs one request to the server (the figures), not two
        app.clientside_callback(
            """function(slider, number) {
                const ctx = window.dash_clientside.callback_context;
                const fromSlider = ctx.triggered.length &&
                    ctx.triggered[0].prop_id.endsWith('-slider.value');
                const value = fromSlider ? slider : number;
                if (value === null || value === undefined) {
                    throw window.dash_clientside.PreventUpdate;
                }
                return [value, value];
            }""",
            Output(f"{name}-slider", "value"),
            Output(f"{name}-number", "value"),
            Input(f"{name}-slider", "value"),
            Input(f"{name}-number", "value"),
            prevent_initial_call=True,
        )

    @app.callback(
        Output("fan", "figure"),
        Output("pdef", "figure"),
        Output("table", "children"),
        Output("status", "children"),
        Input("flat-number", "value"),
        Input("rates-number", "value"),
        Input("coverage", "value"),
        Input({"type": "centre", "index": ALL}, "value"),
        Input({"type": "spread", "index": ALL}, "value"),
        Input({"type": "category", "index": ALL}, "value"),
        State({"type": "centre", "index": ALL}, "id"),
        State({"type": "category", "index": ALL}, "id"),
        prevent_initial_call=True,
    )
    def update(
        flat: Any,
        rates: Any,
        cov: Any,
        centres: list[Any],
        spreads: list[Any],
        cats: list[Any],
        ids: list[Any],
        cat_ids: list[Any],
    ) -> tuple[Any, Any, Any, str]:
        start = time.perf_counter()
        if flat is None or rates is None or any(m is None for m in cats):
            raise PreventUpdate
        names = [i["index"] for i in ids]
        centre = {
            n: float(c)
            for n, c in zip(names, centres, strict=True)
            if c is not None and float(c) != float(f"{ex.median(n):.6g}")
        }
        spread = {
            n: float(s) for n, s in zip(names, spreads, strict=True) if s is not None and s != 1
        }
        covered = (
            None
            if ct is None or cov is None or float(cov) == float(ct.population_share.values[-1])
            else float(cov)
        )
        categories = {
            i["index"]: float(m) for i, m in zip(cat_ids, cats, strict=True) if float(m) != 1.0
        }
        settings = Settings(
            float(flat), float(rates), covered, centre, spread, categories=categories
        )
        try:
            with lock:
                v = ex.view(settings)
        except ValueError as exc:
            return dash.no_update, dash.no_update, dash.no_update, f"Not updated: {exc}"
        f, p = _figures(ex, v, planned)
        table = _table(ex, v)
        ms = {k: f"{1000 * t:.0f}" for k, t in v.steps.items()}
        how = (
            f"model re-run on the same random numbers: inputs {ms['inputs']} ms, kernel "
            f"{ms['kernel']} ms"
            if v.rerun
            else "no re-run"
        )
        total = 1000 * (time.perf_counter() - start)
        return f, p, table, f"Updated in {total:.0f} ms ({how}; views {ms['views']} ms)."

    return app


def serve(ex: Explorer, port: int = 8050, open_browser: bool = True) -> None:
    """Run the app on 127.0.0.1 until interrupted, opening the browser unless told not to.

    Parameters
    ----------
    ex : Explorer
        The fixed design.
    port : int
        The local port.
    open_browser : bool
        Open the default browser at the app's address.
    """
    app = build_app(ex)
    url = f"http://127.0.0.1:{port}/"
    print(f"schemerisk explore: {url} (Ctrl+C to stop)", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    app.run(host="127.0.0.1", port=port, debug=False)
