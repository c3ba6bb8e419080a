"""The deficit-risk report: one self-contained HTML page (figures embedded), and its tables as CSV.

The page needs no other file and no network: figures are PNG data URIs and the
style sheet is inline. It is valid HTML5 (checked by a strict parser in the tests).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from schemerisk.analysis.risk import DEFICIT_SIZES, unknown_lines
from schemerisk.analysis.sensitivity import OUTPUT_LABELS
from schemerisk.analysis.study import Study
from schemerisk.output import GENERATOR, reserve
from schemerisk.reports import charts
from schemerisk.reports.assumptions import (
    assumptions,
    density_svg,
    number,
    off_plan_sentence,
    plan_text,
)
from schemerisk.reports.whatif import SLIDER_CSS, premium_slider

_CSS = """
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; color: #1b1b1b; margin: 0; background: #f5f6f8; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; box-sizing: border-box; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; color: #123e6b; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 2px solid #1f5fa8; padding-bottom: 4px; color: #123e6b; }
h3 { font-size: 1.05em; margin-top: 1.2em; }
p.lead { font-size: 1.05em; color: #444; }
.key { background: #eef4fb; border-left: 5px solid #1f5fa8; padding: 10px 16px; margin: 16px 0; }
.key li { margin: 6px 0; }
.warn { background: #fff6e5; border-left: 5px solid #d08a00; padding: 8px 14px; margin: 12px 0; font-size: 0.92em; }
.note { background: #f3f6f0; border-left: 5px solid #5a8a3a; padding: 6px 14px; }
.flag { color: #a33a00; font-weight: bold; }
svg.dist { display: block; }
.box { overflow-x: auto; max-width: 100%; margin: 10px 0 16px; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #cfd6de; padding: 4px 8px; text-align: right; }
td { white-space: nowrap; font-variant-numeric: tabular-nums; }
th { background: #e8eef5; vertical-align: bottom; }
td.l, th.l { text-align: left; }
td.t { white-space: normal; min-width: 12em; overflow-wrap: anywhere; }
tr.input td { border-bottom: none; }
.nw { white-space: nowrap; }
tr.source td { border-top: none; font-size: 0.88em; color: #555; padding-top: 0; }
figure { margin: 12px 0 20px; }
figure img, figure svg { max-width: 100%; height: auto; border: 1px solid #e3e7ec; }
figcaption { font-size: 0.88em; color: #555; margin-top: 4px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.grid > figure { min-width: 0; }
.small { font-size: 0.85em; color: #555; }
code { font-size: 0.92em; }
@media (max-width: 900px) {
  main { padding: 16px 14px 32px; }
  .grid { grid-template-columns: 1fr; }
}
@page { size: A4 portrait; margin: 14mm 12mm; }
@page wide { size: A4 landscape; margin: 12mm; }
@media print {
  body { background: #fff; font-size: 10pt; }
  main { max-width: none; padding: 0; }
  .box { overflow: visible; }
  .landscape { page: wide; }
  table { font-size: 8.5pt; }
  h2, h3 { break-after: avoid; }
  figure, tr, tbody.pair, .key, .warn, .note { break-inside: avoid; }
  a.download { display: none; }
}
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    left: int = 1,
    wrap: Sequence[int] = (),
) -> str:
    """An HTML table in a box that scrolls sideways when the table is wider than the page.

    The first ``left`` columns are left-aligned; only the columns in ``wrap`` (text: notes,
    sources) may break across lines, so a number is never split.
    """

    def cls(i: int) -> str:
        names = (["l"] if i < left or i in wrap else []) + (["t"] if i in wrap else [])
        return f' class="{" ".join(names)}"' if names else ""

    head = "".join(f"<th{cls(i)}>{_e(h)}</th>" for i, h in enumerate(header))
    body = []
    for row in rows:
        cells = "".join(f"<td{cls(i)}>{_e(c)}</td>" for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="box">{table}</div>'  # a wide table scrolls inside its box


def _figure(fig: Figure, caption: str, alt: str, name: str) -> str:
    """A figure as inline SVG (crisp in print, its text selectable) with a link to download it.

    ``name`` is the chart's file name (without ``.svg``) and, unique on the page, the prefix of
    the SVG's ids.
    """
    svg = charts.figure_to_svg(fig, name)  # a bare Figure: no pyplot state to close
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_e(alt)}" ', 1)
    standalone = '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n' + svg
    href = "data:image/svg+xml;base64," + base64.b64encode(standalone.encode("utf-8")).decode()
    return (
        f'<figure id="fig-{_e(name)}">{svg}<figcaption>{_e(caption)} '
        f'<a class="download" download="{_e(name)}.svg" href="{href}">Download (SVG)</a>'
        "</figcaption></figure>"
    )


def _axes_figure(draw: object, figsize: tuple[float, float] = (7.5, 4.6)) -> Figure:
    fig = Figure(figsize=figsize)
    ax = fig.add_subplot()
    draw(ax)  # type: ignore[operator]
    fig.tight_layout()
    return fig


def _millions(x: float) -> str:
    return f"{x / 1e6:,.1f}" if np.isfinite(x) else "-"


def _percent(x: float) -> str:
    return f"{x:.1%}" if np.isfinite(x) else "-"


def key_messages(study: Study) -> list[str]:
    """The report's headline findings in plain words."""
    t = study.risk.table
    years = t.year.values
    last = int(years[-1])
    cur = study.scenario.currency
    p_last = float(t.p_deficit.sel(year=last))
    lo, hi = float(t.p_deficit_lower.sel(year=last)), float(t.p_deficit_upper.sel(year=last))
    pa = study.risk.p_any_deficit
    k = float(t.required_premium_multiplier.sel(year=last))
    es = float(t.expected_shortfall.sel(year=last))
    det = float(study.deterministic.balance.sel(year=last))
    msgs = [
        f"With every assumption at its planned value the balance in {last} is {_millions(det)} million {cur}; "
        f"under the uncertainty described, the chance of a deficit in {last} is {p_last:.0%} "
        f"(95 % interval {lo:.0%} to {hi:.0%}).",
    ]
    # why the fan and the plan disagree, right after the sentence that shows they do
    off = off_plan_sentence(
        study.deterministic, study.cube, assumptions(study.space), study.scenario.currency
    )
    if off:
        msgs.append(off)
    msgs += [
        f"The chance of at least one deficit between {int(years[0])} and {last} is {float(pa.p):.0%}.",
        f"In the worst 5 % of outcomes the {last} deficit averages {_millions(es)} million {cur}, "
        f"a surplus counting as zero ({float(t.expected_shortfall_share.sel(year=last)):.0%} of "
        f"premium revenue); over all outcomes it averages "
        f"{_millions(float(t.expected_deficit.sel(year=last)))} million {cur}.",
        f"To keep the chance of a deficit in {last} at or below {study.risk.level:.0%}, all premiums would "
        f"have to be {k:.2f} times the plan.",
    ]
    # projections without a finite balance are unknown, never "no deficit": said first
    msgs[:0] = unknown_lines(study.risk)[:2]
    if study.risk.p_ruin is not None and study.scenario.reserve is not None:
        msgs.append(
            f"The chance that the reserve fund runs out in some year is {float(study.risk.p_ruin.p):.0%}."
        )
    top = study.priorities.sentences(last, top=1) if study.priorities is not None else []
    if top:
        sentence = top[0].split(". ", 1)[1]  # drop the rank number
        msgs.append("Data to collect first: " + sentence[0].lower() + sentence[1:])
    if study.protection is not None:
        from schemerisk.analysis.priorities import protection_sentence

        msgs.append(protection_sentence(study.protection, last))
    return msgs


def _scenario_summary(study: Study) -> str:
    """The scenario's categories and the plan's projection: every number read off the projection.

    Shares, members and premiums are what the model used (after any coverage target), not the
    scenario file's inputs; the plan's table has years as rows, so a long horizon makes it longer,
    never wider.
    """
    sc, det = study.scenario, study.deterministic
    years = [int(y) for y in det.year.values]
    y0, y1 = years[0], years[-1]
    rows = []
    for c in sc.categories:
        at = {"category": c.name}
        share = det.insured_share.sel(at)
        m = det.members.sel(at)
        prem = det.premium.sel(at)
        rows.append(
            (
                c.label,
                f"{float(det.population.sel(at).sel(year=y0)):,.0f}",
                f"{float(share.sel(year=y0)):.1%} / {float(share.sel(year=y1)):.1%}",
                f"{float(m.sel(year=y0)):,.0f} / {float(m.sel(year=y1)):,.0f}",
                f"{float(prem.sel(year=y0)):,.0f} / {float(prem.sel(year=y1)):,.0f}",
                "yes" if c.outpatient_cover else "inpatient only",
            )
        )
    cats = _table(
        [
            "Category",
            f"Population {y0}",
            f"Insured share {y0} / {y1}",
            f"Members {y0} / {y1}",
            f"Premium per person {y0} / {y1} ({sc.currency})",
            "Outpatient cover",
        ],
        rows,
        wrap=(0,),
    )
    cur = sc.currency
    bal = _table(
        [
            "Year",
            "Members (thousands)",
            f"Premium revenue (M {cur})",
            f"Total expenditure (M {cur})",
            f"Balance (M {cur})",
            "Balance, % of revenue",
        ],
        [
            (
                str(y),
                f"{float(det.total_members.sel(year=y)) / 1e3:,.1f}",
                _millions(float(det.premium_revenue.sel(year=y))),
                _millions(float(det.total_expenditure.sel(year=y))),
                _millions(float(det.balance.sel(year=y))),
                _percent(float(det.balance_share_of_revenue.sel(year=y))),
            )
            for y in years
        ],
    )
    population = float(det.total_population.sel(year=y0))
    extension = f'<p class="note" id="extension">{_e(sc.extension)}</p>' if sc.extension else ""
    return (
        f"<p>{_e(sc.title or sc.name)}: base year {sc.base_year}, projected to {y1}; population "
        f"{population:,.0f} in {y0}; {len(sc.categories)} population categories; {len(sc.services)} health "
        f"services. Amounts in {_e(cur)}; insured shares, members and premiums are the model's own "
        f"(after any coverage target).</p>{extension}{cats}<h3>The plan, every assumption at its base value</h3>{bal}"
    )


def _risk_table(study: Study) -> str:
    t = study.risk.table
    cur = study.scenario.currency
    unknown = "n_unknown" in t and bool(t["n_unknown"].any())
    rows = []
    for y in t.year.values:
        r = t.sel(year=y)
        rows.append(
            (
                int(y),
                f"{float(r.p_deficit):.1%}" if np.isfinite(float(r.p_deficit)) else "unknown",
                f"{float(r.p_deficit_se):.2%}",
                f"{float(r.p_deficit_lower):.1%} to {float(r.p_deficit_upper):.1%}",
                _millions(float(r.expected_deficit)),
                _millions(float(r.expected_shortfall)),
                _percent(float(r.expected_shortfall_share)),
                f"{float(r.required_premium_multiplier):.3f}",
                *([f"{int(r.n_unknown):,}"] if unknown else []),
            )
        )
    return _table(
        [
            "Year",
            "P(deficit)",
            "Monte Carlo s.e.",
            "Wilson 95 % interval",
            f"Expected deficit (M {cur})",
            f"Worst-5 % average (M {cur})",
            "Worst-5 % average, % of revenue",
            f"Premium multiplier for P <= {study.risk.level:.0%}",
            *(["Unknown: projections with no finite balance"] if unknown else []),
        ],
        rows,
    ) + "".join(f'<p class="small">{_e(d)}</p>' for d in DEFICIT_SIZES.values())


#: how an input is drawn over the years, as the report says it (the distributions file's ``time``)
_IN_TIME = {
    "once": "Drawn once for the whole projection",
    "each_year": "Drawn afresh each year",
    "ar1": "Drawn each year as an AR(1) path",
}


def _inputs_table(study: Study) -> str:
    """What was assumed: each input's plan against its distribution, in the user's units."""
    rows = assumptions(study.space)
    head = [
        "Input (scenario entry)",
        "Plan",
        "5 %",
        "Mode or median",
        "95 %",
        "Distribution (plan marked)",
        "Plan in the central 90 %?",
    ]
    body = []
    for a in rows:
        e = a.entry
        flag = (
            f'<span class="flag">no ({a.plan_percentile:.0%} point)</span>'
            if a.outside
            else f"yes ({a.plan_percentile:.0%} point)"
        )
        cells = [
            f'<td class="l t"><span class="nw">{_e(e.name)}</span><br>'
            f'<code class="small">{_e(e.slot.path)}</code></td>',
            f"<td>{_e(plan_text(a))}</td>",
            f"<td>{_e(number(a.p05))}</td>",
            f"<td>{_e(number(a.centre))} ({a.centre_kind})</td>",
            f"<td>{_e(number(a.p95))}</td>",
            f'<td class="l">{density_svg(a)}</td>',
            f'<td class="l">{flag}</td>',
        ]
        # how it is drawn over the years and its source, under its input across the table
        below = _IN_TIME[e.time.value] + (
            f" (persistence {e.persistence:g})" if e.persistence else ""
        )
        if e.note:
            below += f". Source / rationale: {e.note}"
        pair = (
            f'<tr class="input">{"".join(cells)}</tr><tr class="source">'
            f'<td class="l t" colspan="{len(head)}">{_e(below)}</td></tr>'
        )
        body.append(f'<tbody class="pair">{pair}</tbody>')  # printed on one page
    th = "".join(
        f'<th class="l">{_e(h)}</th>' if i in (0, 5, 6) else f"<th>{_e(h)}</th>"
        for i, h in enumerate(head)
    )
    n_out = sum(a.outside for a in rows)
    return (
        f"<p>Each uncertain input: the plan's value (for a multiplier or a shift of the plan, 1 or "
        f"0), and the distribution as the 5th percentile, the mode as written (PERT, triangular) "
        f"or the median, and the 95th percentile, in the units of the distributions file. In the "
        f"plots the shaded band is the central 90 % and the vertical line the plan's value. "
        f"{n_out} of {len(rows)} plans lie outside the central 90 % of their distribution.</p>"
        f'<div class="box"><table><thead><tr>{th}</tr></thead>{"".join(body)}</table></div>'
    )


def _priorities_section(study: Study) -> str:
    pri = study.priorities
    if pri is None:  # not computed: the warning of section 4 says why
        return "<p>Not computed: see the warning in section 4.</p>"
    last = int(pri.table.year.values[-1])
    t = pri.table.sel(year=last)
    cur = study.scenario.currency
    from schemerisk.analysis.priorities import shown_index

    def row(name: str, rank: object) -> tuple[object, ...]:
        r = t.sel(input=name)
        s1, st, note = shown_index(float(r.S1_balance), float(r.ST_balance))
        flag = " (noise)" if note else ""
        return (
            rank,
            name,
            f"{_millions(float(r.evppi))} +- {_millions(float(r.evppi_se))}",
            f"{s1:.3f}{flag}",
            f"{st:.3f}{flag}",
            f"{min(max(float(r.ST_deficit), 0.0), 1.0):.3f}",
        )

    header = [
        "Rank",
        "Input",
        f"EVPPI (M {cur}) +- s.e.",
        "S1 balance",
        "ST balance",
        "ST deficit",
    ]
    sentences = "".join(f"<li>{_e(s.split('. ', 1)[1])}</li>" for s in pri.sentences(last, top=5))
    env = "".join(f"<li>{_e(s)}</li>" for s in pri.environment_sentences(last))
    evpi = float(pri.voi.table.evpi.sel(year=last))
    protection = ""
    if study.protection is not None:
        from schemerisk.analysis.priorities import protection_sentence

        protection = f"<p>{_e(protection_sentence(study.protection, last))}</p>"
    return (
        f"<p>Ranked by what learning each input exactly would be worth for setting the {last} premium "
        f"multiplier (EVPPI, in {_e(cur)}); only data the scheme can collect are ranked. Loss function: "
        f"{_e(pri.voi.decision.describe(cur))}. Removing all the uncertainty about the {last} premium "
        f"decision would be worth about {_millions(evpi)} million {_e(cur)} (the expected value of "
        f"perfect information).</p>"
        f"<ol>{sentences}</ol>"
        + _table(header, [row(n, int(t["rank"].sel(input=n))) for n in pri.ranking(last)], 2)
        + "<h3>The environment: what the scheme can only prepare for</h3>"
        + f"<ul>{env}</ul>{protection}"
        + _table(header, [row(n, "-") for n in pri.environment(last)], 2)
        + '<p class="small">S1: the expected share of the variance of the balance that learning the input '
        "exactly would remove; ST: the share it is involved in at all (Sobol' indices, Saltelli design, "
        f"N = {pri.n_base}). Estimates outside 0 &lt;= S1 &lt;= ST &lt;= 1 are sampling noise: they are "
        "shown clipped and marked. EVPPI: expected value of partial perfect information for setting the "
        "premium (Strong, Oakley &amp; Brennan 2014), with its bootstrap standard error.</p>"
    )


def _provenance(study: Study) -> str:
    c = study.cube.attrs
    rows = [
        ("Scenario", f"{study.scenario.name} ({study.scenario.source})"),
        ("Scenario SHA-256", study.scenario.sha256),
        ("Distributions", study.space.source),
        ("Distributions SHA-256", study.space.sha256),
        ("Seed", c.get("seed")),
        ("Monte Carlo", f"{c.get('n_draws'):,} draws, sampler {c.get('sampler')}"),
        (
            "Sobol' analysis",
            f"Saltelli design, N = {study.sobol.n_base}, "
            f"{study.sobol.indices.attrs.get('n_runs'):,} projections, seed {int(c.get('seed', 0)) + 1}"
            if study.sobol is not None
            else "not computed (projections without a finite balance)",
        ),
        ("Generated", _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        *[
            (f"Version of {k.removeprefix('version_')}", v)
            for k, v in c.items()
            if str(k).startswith("version_")
        ],
    ]
    return _table(["", ""], rows, 1, wrap=(1,))


def _sobol_figures(ind: xr.Dataset, last: int) -> tuple[str, str, str]:
    """The Sobol' charts of the report: balance and deficit in the last year, balance over the years."""
    fig_sobol = _figure(
        _axes_figure(
            lambda ax: charts.sobol_chart(ind, output="balance", year=last, ax=ax), (8.0, 5.2)
        ),
        f"Sobol' indices for the {last} balance, with 95 % bootstrap intervals.",
        "Bar chart of Sobol' indices",
        "sobol_balance",
    )
    fig_sobol_def = _figure(
        _axes_figure(
            lambda ax: charts.sobol_chart(ind, output="deficit", year=last, ax=ax), (8.0, 5.2)
        ),
        f"Sobol' indices for the {last} deficit indicator.",
        "Bar chart of Sobol' indices for the deficit",
        "sobol_deficit",
    )
    fig_years = _figure(
        _axes_figure(lambda ax: charts.sobol_over_years_chart(ind, output="balance", ax=ax)),
        "Total-order indices for the balance, year by year: which assumptions matter more as time goes on.",
        "Line chart of Sobol' indices over the years",
        "sobol_over_years",
    )
    return fig_sobol, fig_sobol_def, fig_years


def render_html(study: Study, update: Any = None) -> str:
    """Render a study as one self-contained HTML5 page.

    Parameters
    ----------
    study : Study
        From :func:`~schemerisk.analysis.study.run_study`.
    update : Update, optional
        From :func:`~schemerisk.analysis.update.update`: adds the section on
        what the observed years change (:mod:`schemerisk.reports.update`).

    Returns
    -------
    str
        The page.
    """
    sc, cube, det = study.scenario, study.cube, study.deterministic
    last = int(cube.year.values[-1])
    share = (100 * cube.balance_share_of_revenue).assign_attrs(
        long_name="Balance as a share of premium revenue", units="%"
    )
    det_share = (100 * det.balance_share_of_revenue).rename("balance_share_of_revenue")
    fig_balance = _figure(
        _axes_figure(lambda ax: charts.fan_chart(cube, "balance", ax=ax, deterministic=det)),
        "Balance of the scheme: the shaded bands hold 30 %, 60 % and 90 % of the projections; the line is the "
        "median, the dashed line the plan with every assumption at its base value.",
        "Fan chart of the scheme's balance by year",
        "balance_fan",
    )
    fig_share = _figure(
        _axes_figure(
            lambda ax: charts.fan_chart(
                cube,
                share.rename("balance_share_of_revenue"),
                ax=ax,
                deterministic=det_share,
                scale="units",
            )
        ),
        "Balance as a percentage of premium revenue: how far premiums would have to move to close "
        "the gap, comparable across years and schemes.",
        "Fan chart of the balance as a share of premium revenue",
        "balance_share_fan",
    )
    fig_revexp = _figure(
        _axes_figure(lambda ax: charts.revenue_expenditure_chart(cube, ax=ax, deterministic=det)),
        "Premium revenue against total expenditure.",
        "Fan chart of revenue and expenditure",
        "revenue_expenditure_fan",
    )
    fig_members = _figure(
        _axes_figure(lambda ax: charts.membership_chart(cube, ax=ax, deterministic=det)),
        "Total membership.",
        "Fan chart of membership",
        "membership_fan",
    )
    fig_prem = _figure(
        _axes_figure(lambda ax: charts.premiums_chart(cube, ax=ax)),
        "Premium per person by category (median and 90 % band).",
        "Premiums by category",
        "premiums",
    )
    fig_p = _figure(
        _axes_figure(lambda ax: charts.p_deficit_chart(study.risk.table, ax=ax), (7.5, 3.8)),
        "Probability of a deficit each year; the band is its 95 % (Wilson) interval from the "
        "Monte Carlo error.",
        "Line chart of the probability of a deficit by year",
        "p_deficit",
    )
    fig_tornado = ""
    if study.tornado is not None:
        labels = {e.name: e.label or e.name.replace("_", " ") for e in study.space.entries}
        fig_tornado = _figure(
            _axes_figure(
                lambda ax: charts.tornado_chart(study.tornado, last, ax=ax, labels=labels),
                (8.0, 5.6),
            ),
            f"The {last} balance computed with the model with each input at its 5th and 95th "
            "percentile and every other input at its median; the vertical line is every input at "
            "its median. Correlations between inputs are not imposed here.",
            f"Tornado diagram of the {last} balance",
            "tornado",
        )
    fig_sobol = fig_sobol_def = fig_years = ""  # no indices when projections are unknown
    if study.sobol is not None:
        fig_sobol, fig_sobol_def, fig_years = _sobol_figures(study.sobol.indices, last)
    warn = "".join(f'<div class="warn">{_e(w)}</div>' for w in study.warnings)
    messages = "".join(f"<li>{_e(m)}</li>" for m in key_messages(study))
    title = f"Deficit risk: {sc.title or sc.name}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{GENERATOR}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}{SLIDER_CSS}</style>
</head>
<body>
<main>
<h1>{_e(title)}</h1>
<p class="lead">How likely is the scheme to run a deficit, how large could it be, and which assumption should be
pinned down first? {cube.sizes["draw"]:,} projections of the scheme under uncertain assumptions, with the WHO
cost-sharing and health insurance premium simulation model (Carrin, Ron &amp; Murray 1993).</p>
<div class="key"><strong>Key findings</strong><ul>{messages}</ul></div>
<h2 id="scenario">1. The scenario</h2>
{_scenario_summary(study)}
<h2 id="outlook">2. The outlook: fan charts</h2>
{fig_balance}
{fig_share}
<div class="grid">{fig_revexp}{fig_members}</div>
{fig_prem}
<h2 id="risk">3. Probability and size of deficits</h2>
{_risk_table(study)}
<p>The premium multiplier scales every premium (flat premiums and contribution rates) by the same factor; it is
computed exactly from the projections, since revenue is proportional to premiums. At least one deficit over the
horizon: {float(study.risk.p_any_deficit.p):.1%} (95 % interval {float(study.risk.p_any_deficit.lower):.1%} to
{float(study.risk.p_any_deficit.upper):.1%}).</p>
{fig_p}
{premium_slider(study)}
<h2 id="drivers">4. What drives the risk</h2>
{fig_tornado}
{warn}
{fig_sobol}{fig_sobol_def}
{fig_years}
<h2 id="priorities">5. Which data to collect first</h2>
{_priorities_section(study)}
<div class="landscape">
<h2 id="inputs">6. What was assumed</h2>
{_inputs_table(study)}
</div>
{_update_html(study, update)}<h2 id="provenance">7. Provenance</h2>
{_provenance(study)}
<p class="small">Made with schemerisk. Outputs named {_e(", ".join(OUTPUT_LABELS.values()))} are analysed.</p>
</main>
</body>
</html>
"""


def _update_html(study: Study, update: Any) -> str:
    if update is None:
        return ""
    from schemerisk.reports.update import update_section

    level = float(study.risk.table.required_premium_multiplier.attrs.get("level", 0.05))
    return update_section(update, level) + "\n"


#: the files written by :func:`write_tables`
TABLE_FILES = (
    "deficit_risk.csv",
    "balance_quantiles.csv",
    "sobol_indices.csv",
    "priorities.csv",
    "uncertain_inputs.csv",
)


def _labels(studies: Sequence[Study]) -> list[str]:
    """One short label per study: the scenario's name, with the distributions' where it repeats."""
    names = [st.scenario.name for st in studies]
    return [
        f"{n} ({Path(st.space.source).stem})" if names.count(n) > 1 else n
        for n, st in zip(names, studies, strict=True)
    ]


def render_comparison(studies: Sequence[Study]) -> str:
    """Several studies on one page: overlaid fan charts and the risk tables side by side.

    Parameters
    ----------
    studies : sequence of Study
        From :func:`~schemerisk.analysis.study.run_study`, one per scenario (two or more).

    Returns
    -------
    str
        A self-contained HTML5 page.
    """
    if len(studies) < 2:
        raise ValueError("a comparison needs at least two studies")
    labels = _labels(studies)
    currencies = {st.scenario.currency for st in studies}
    cubes = dict(zip(labels, (st.cube for st in studies), strict=True))
    shares = {
        k: c.assign(
            balance_share_pct=(100 * c.balance_share_of_revenue).assign_attrs(
                long_name="Balance as a share of premium revenue", units="%"
            )
        )
        for k, c in cubes.items()
    }
    figs = []
    if len(currencies) == 1:
        figs.append(
            _figure(
                _axes_figure(lambda ax: charts.comparison_fan_chart(cubes, "balance", ax=ax)),
                "Balance of each scheme: median and the band holding 90 % of the projections.",
                "Overlaid fan charts of the balance",
                "compare_balance",
            )
        )
    figs.append(
        _figure(
            _axes_figure(
                lambda ax: charts.comparison_fan_chart(shares, "balance_share_pct", ax=ax)
            ),
            "Balance as a percentage of premium revenue (comparable across currencies): median and "
            "90 % band.",
            "Overlaid fan charts of the balance as a share of revenue",
            "compare_balance_share",
        )
    )

    def p_lines(ax: object) -> None:
        colours = itertools.cycle(charts.CATEGORY_COLORS)
        for label, st, colour in zip(labels, studies, colours, strict=False):
            charts.p_deficit_chart(st.risk.table, ax=ax, label=label, color=colour)  # type: ignore[arg-type]

    figs.append(
        _figure(
            _axes_figure(p_lines),
            "Probability of a deficit each year, with its 95 % interval.",
            "Probability of a deficit by year, each scenario",
            "compare_p_deficit",
        )
    )
    years = sorted({int(y) for st in studies for y in st.risk.table.year.values})
    head = ["Year"]
    for label, st in zip(labels, studies, strict=True):
        cur = st.scenario.currency
        head += [
            f"{label}: P(deficit)",
            f"{label}: Expected deficit (M {cur})",
            f"{label}: Worst-5 % average (M {cur})",
        ]
    rows = []
    for y in years:
        row: list[object] = [y]
        for st in studies:
            t = st.risk.table
            if y in t.year.values:
                r = t.sel(year=y)
                row += [
                    f"{float(r.p_deficit):.1%}",
                    _millions(float(r.expected_deficit)),
                    _millions(float(r.expected_shortfall)),
                ]
            else:
                row += ["", "", ""]
        rows.append(row)
    findings = "".join(
        f"<li><strong>{_e(label)}</strong>: {_e(key_messages(st)[0])}</li>"
        for label, st in zip(labels, studies, strict=True)
    )
    scen = _table(
        ["Label", "Scenario", "Years", "Draws", "Distributions", "Horizon"],
        [
            (
                label,
                st.scenario.title or st.scenario.name,
                f"{int(st.cube.year.values[0])}-{int(st.cube.year.values[-1])}",
                f"{st.cube.sizes['draw']:,}",
                st.space.source,
                st.scenario.extension or "the scenario's own",
            )
            for label, st in zip(labels, studies, strict=True)
        ],
        wrap=(1, 4, 5),
    )
    note = (
        ""
        if len(currencies) == 1
        else '<p class="note">The schemes count in different currencies ('
        + _e(", ".join(sorted(currencies)))
        + "): their balances are compared as shares of premium revenue only.</p>"
    )
    title = "Deficit risk: " + " vs ".join(labels)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{GENERATOR}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<h1>{_e(title)}</h1>
<p class="lead">{len(studies)} scenarios under their uncertain assumptions, side by side, with the WHO
cost-sharing and health insurance premium simulation model (Carrin, Ron &amp; Murray 1993).</p>
<div class="key"><strong>Key findings</strong><ul>{findings}</ul></div>
<h2 id="scenarios">1. The scenarios</h2>
{scen}{note}
<h2 id="outlook">2. The outlook, overlaid</h2>
{"".join(figs)}
<div class="landscape">
<h2 id="risk">3. Probability and size of deficits, side by side</h2>
{_table(head, rows)}
{"".join(f'<p class="small">{_e(d)}</p>' for d in DEFICIT_SIZES.values())}
<p class="small">Made with schemerisk; each scenario's own report (schemerisk report SCENARIO
DISTRIBUTIONS) has its drivers, priorities and assumptions.</p>
</div>
</main>
</body>
</html>
"""


def write_comparison(
    studies: Sequence[Study], path: str | Path, *, overwrite: bool = False
) -> Path:
    """Write the comparison page through the one writer (see :func:`write_report`).

    Parameters
    ----------
    studies : sequence of Study
        The studies.
    path : str or Path
        The ``.html`` file.
    overwrite : bool
        Replace a page written by an earlier run.

    Returns
    -------
    Path
        The path written.
    """
    with reserve(path, "html", overwrite=overwrite) as res:
        res.write_text(render_comparison(studies))
    return Path(path)


#: the columns of the CSV tables: name -> (unit, definition). ``{cur}`` is the scenario's currency.
#: Headers read ``name [unit]``; the names are stable (scripts may rely on them).
TABLE_COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "deficit_risk.csv": {
        "year": ("", "projection year"),
        "n_unknown": (
            "draws",
            "projections without a finite balance: unknown, left out of the other columns",
        ),
        "p_deficit": (
            "1",
            "probability of a deficit (share of the projections with a finite balance that have balance < 0)",
        ),
        "p_deficit_se": ("1", "its Monte Carlo standard error, sqrt(p (1 - p) / n)"),
        "p_deficit_lower": ("1", "Wilson 95 % interval, lower bound"),
        "p_deficit_upper": ("1", "Wilson 95 % interval, upper bound"),
        "expected_deficit": ("{cur}/yr", DEFICIT_SIZES["expected_deficit"]),
        "expected_deficit_share": ("1", "expected deficit as a share of premium revenue"),
        "expected_shortfall": ("{cur}/yr", DEFICIT_SIZES["expected_shortfall"]),
        "expected_shortfall_share": ("1", "worst-5 % average as a share of premium revenue"),
        "required_premium_multiplier": (
            "1",
            "multiplier on all premiums that keeps P(deficit) at the level",
        ),
        "p_reserve_negative": (
            "1",
            "probability that the reserve fund is below zero (with a reserve)",
        ),
    },
    "balance_quantiles.csv": {
        "year": ("", "projection year"),
        **{
            f"p{q:02d}": ("{cur}/yr", f"{q}th percentile of the balance")
            for q in (5, 20, 35, 50, 65, 80, 95)
        },
    },
    "sobol_indices.csv": {
        "output": ("", "balance, balance_share (of revenue) or deficit (indicator)"),
        "input": ("", "the uncertain input (a group of correlated inputs is one)"),
        "year": ("", "projection year"),
        "S1": ("1", "first-order Sobol' index"),
        "S1_conf": ("1", "half-width of its 95 % bootstrap interval"),
        "ST": ("1", "total-order Sobol' index"),
        "ST_conf": ("1", "half-width of its 95 % bootstrap interval"),
    },
    "priorities.csv": {
        "input": ("", "the uncertain input"),
        "year": ("", "projection year of the premium decision"),
        "S1_balance": ("1", "first-order index for the balance"),
        "S1_balance_conf": ("1", "half-width of its 95 % bootstrap interval"),
        "ST_balance": ("1", "total-order index for the balance"),
        "ST_balance_conf": ("1", "half-width of its 95 % bootstrap interval"),
        "ST_deficit": ("1", "total-order index for the deficit indicator"),
        "evppi": ("{cur}", "expected value of partial perfect information for setting the premium"),
        "evppi_se": (
            "{cur}",
            "its standard error (bootstrap over draws, refitting the regression)",
        ),
        "kind": ("", "data (a scheme can collect it) or environment (it can only prepare for it)"),
        "rank": (
            "",
            "priority among the data inputs by EVPPI (1 = collect first; 0 = environment)",
        ),
    },
    "uncertain_inputs.csv": {
        "entry": ("", "the entry of the distributions file"),
        "target": ("", "the scenario input it changes"),
        "apply": ("", "replace, scale or shift"),
        "time": ("", "once, each_year or ar1"),
        "plan": ("as written", "the plan's value (1 for a multiplier, 0 for a shift)"),
        "p05": ("as written", "the distribution's 5th percentile"),
        "centre": ("as written", "its mode as written (PERT, triangular) or its median"),
        "centre_kind": ("", "mode or median"),
        "p95": ("as written", "the distribution's 95th percentile"),
        "plan_percentile": ("1", "the distribution's CDF at the plan's value"),
        "plan_in_central_90": ("", "whether the plan lies within the 5th to 95th percentiles"),
        "distribution": ("", "the fitted distribution (family and parameters)"),
        "note": ("", "the user's source or rationale"),
    },
}
#: the table ``schemerisk sensitivity --second-order --csv`` adds (the report computes no S2),
#: documented as the report's are
SECOND_ORDER_COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "sobol_second_order.csv": {
        "output": TABLE_COLUMNS["sobol_indices.csv"]["output"],
        "input": ("", "the first input of the pair (in the distributions file's order)"),
        "input_2": ("", "the second input of the pair"),
        "year": TABLE_COLUMNS["sobol_indices.csv"]["year"],
        "S2": ("1", "second-order Sobol' index: the share due to the pair's interaction alone"),
        "S2_conf": TABLE_COLUMNS["sobol_indices.csv"]["S1_conf"],
    },
}
#: decimals kept in the CSV files: whole currency units, six decimals for shares
_DECIMALS = {"{cur}/yr": 0, "{cur}": 0, "1": 6}


def _sig(x: float) -> float:
    """``x`` to six significant figures (a value as the user wrote it, without float noise)."""
    return float(f"{x:.6g}")


def _with_units(frame: pd.DataFrame, name: str, currency: str) -> pd.DataFrame:
    """``frame`` (index reset) with ``name [unit]`` headers and numbers rounded to what they mean."""
    frame = frame.reset_index()
    spec = {**TABLE_COLUMNS, **SECOND_ORDER_COLUMNS}[name]
    out = {}
    for col in frame.columns:
        # a column not yet in TABLE_COLUMNS keeps its bare name (the tests ask for its entry)
        unit = spec.get(col, ("", ""))[0]
        values = frame[col]
        if unit in _DECIMALS and pd.api.types.is_float_dtype(values):
            values = values.round(_DECIMALS[unit])
        out[f"{col} [{unit.format(cur=currency)}]" if unit else col] = values
    return pd.DataFrame(out)


def _sobol_frame(indices: xr.Dataset) -> pd.DataFrame:
    return indices[["S1", "S1_conf", "ST", "ST_conf"]].to_dataframe()


def sobol_frames(indices: xr.Dataset, currency: str) -> dict[str, pd.DataFrame]:
    """The Sobol' tables of ``schemerisk sensitivity --csv``, as the report writes its own.

    Parameters
    ----------
    indices : xarray.Dataset
        :attr:`schemerisk.analysis.sensitivity.SobolResult.indices`.
    currency : str
        The scenario's currency (for the headers' units).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``sobol_indices.csv``, in the report's format, and with second-order indices
        ``sobol_second_order.csv``: one row per pair of inputs (the first before the
        second in the file's order), output and year.
    """
    frames = {"sobol_indices.csv": _sobol_frame(indices)}
    if "S2" in indices:
        pairs = indices[["S2", "S2_conf"]].to_dataframe().dropna(subset=["S2"])
        frames["sobol_second_order.csv"] = pairs
    return {name: _with_units(frame, name, currency) for name, frame in frames.items()}


def table_frames(study: Study) -> dict[str, pd.DataFrame]:
    """The report's tables, by the CSV file name each is written to.

    Every header is ``name [unit]`` (plain ``name`` for years, labels and text); the names and
    their meaning are in :data:`TABLE_COLUMNS` (and the README). Amounts are rounded to whole
    currency units, shares and probabilities to six decimals.

    Parameters
    ----------
    study : Study
        The study.

    Returns
    -------
    dict of str to pandas.DataFrame
        :data:`TABLE_FILES`, in that order; ``sobol_indices.csv`` and ``priorities.csv``
        are left out when the study has unknown projections (see
        :class:`~schemerisk.analysis.study.Study`).
    """
    cur = study.scenario.currency
    q = study.cube.balance.quantile([0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95], dim="draw")
    rows = assumptions(study.space)
    frames = {
        "deficit_risk.csv": study.risk.table.to_dataframe(),
        "balance_quantiles.csv": q.to_pandas().T.rename(columns=lambda p: f"p{round(100 * p):02d}"),
        **(
            {
                "sobol_indices.csv": _sobol_frame(study.sobol.indices),
                "priorities.csv": study.priorities.table.to_dataframe(),
            }
            if study.sobol is not None and study.priorities is not None
            else {}
        ),
        "uncertain_inputs.csv": pd.DataFrame(
            [
                {
                    "entry": a.entry.name,
                    "target": a.entry.slot.path,
                    "apply": a.entry.apply.value,
                    "time": a.entry.time.value,
                    "plan": _sig(a.plan),
                    "p05": _sig(a.p05),
                    "centre": _sig(a.centre),
                    "centre_kind": a.centre_kind,
                    "p95": _sig(a.p95),
                    "plan_percentile": round(a.plan_percentile, 6),
                    "plan_in_central_90": not a.outside,
                    "distribution": a.entry.marginal.describe(),
                    "note": a.entry.note,
                }
                for a in rows
            ]
        ).set_index("entry"),
    }
    return {name: _with_units(frame, name, cur) for name, frame in frames.items()}


def write_tables(study: Study, directory: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Write the report's tables as CSV files into ``directory``, through the one writer.

    Text cells that a spreadsheet would run as a formula are escaped
    (:func:`schemerisk.output.escape_formulas`).

    Parameters
    ----------
    study : Study
        The study.
    directory : str or Path
        Folder to write into (created if needed).
    overwrite : bool
        Replace tables written by an earlier run.

    Returns
    -------
    list of Path
        The files written: ``deficit_risk.csv``, ``balance_quantiles.csv``,
        ``sobol_indices.csv``, ``priorities.csv`` and ``uncertain_inputs.csv``.
    """
    with reserve(
        directory, "tables", overwrite=overwrite, option="--csv", tables=list(TABLE_FILES)
    ) as res:
        return res.write_tables(table_frames(study), index=False)


def write_report(
    study: Study, path: str | Path, update: Any = None, *, overwrite: bool = False
) -> Path:
    """Write the HTML report through the one writer (a failed run leaves no half-written page).

    Parameters
    ----------
    study : Study
        The study.
    path : str or Path
        The ``.html`` file.
    update : Update, optional
        Observations to report on (see :func:`render_html`).
    overwrite : bool
        Replace a report written by an earlier run.

    Returns
    -------
    Path
        The path written.
    """
    page = render_html(study) if update is None else render_html(study, update)
    with reserve(path, "html", overwrite=overwrite) as res:
        res.write_text(page)
    return Path(path)
