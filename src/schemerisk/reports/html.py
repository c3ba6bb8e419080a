"""The deficit-risk report: one self-contained HTML page (figures embedded), and its tables as CSV.

The page needs no other file and no network: figures are PNG data URIs and the
style sheet is inline. It is valid HTML5 (checked by a strict parser in the tests).
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from schemerisk.analysis.sensitivity import OUTPUT_LABELS
from schemerisk.analysis.study import Study
from schemerisk.io import atomic_path
from schemerisk.reports import charts

_CSS = """
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; color: #1b1b1b; margin: 0; background: #f5f6f8; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; color: #123e6b; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 2px solid #1f5fa8; padding-bottom: 4px; color: #123e6b; }
h3 { font-size: 1.05em; margin-top: 1.2em; }
p.lead { font-size: 1.05em; color: #444; }
.key { background: #eef4fb; border-left: 5px solid #1f5fa8; padding: 10px 16px; margin: 16px 0; }
.key li { margin: 6px 0; }
.warn { background: #fff6e5; border-left: 5px solid #d08a00; padding: 8px 14px; margin: 12px 0; font-size: 0.92em; }
table { border-collapse: collapse; margin: 10px 0 16px; font-size: 0.9em; }
.wide { overflow-x: auto; }
.wide table { width: 100%; table-layout: fixed; }
td { overflow-wrap: anywhere; }
td:first-child { overflow-wrap: normal; white-space: nowrap; }
th, td { border: 1px solid #cfd6de; padding: 4px 8px; text-align: right; }
th { background: #e8eef5; }
td.l, th.l { text-align: left; }
figure { margin: 12px 0 20px; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e7ec; }
figcaption { font-size: 0.88em; color: #555; margin-top: 4px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.small { font-size: 0.85em; color: #555; }
code { font-size: 0.92em; }
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _table(header: Sequence[str], rows: Iterable[Sequence[object]], left: int = 1) -> str:
    head = "".join(
        f'<th class="l">{_e(h)}</th>' if i < left else f"<th>{_e(h)}</th>"
        for i, h in enumerate(header)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="l">{_e(c)}</td>' if i < left else f"<td>{_e(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(fig: Figure, caption: str, alt: str) -> str:
    uri = charts.figure_to_data_uri(fig)  # a bare Figure: no pyplot state to close
    return (
        f'<figure><img src="{uri}" alt="{_e(alt)}"><figcaption>{_e(caption)}</figcaption></figure>'
    )


def _axes_figure(draw: object, figsize: tuple[float, float] = (7.5, 4.6)) -> Figure:
    fig = Figure(figsize=figsize)
    ax = fig.add_subplot()
    draw(ax)  # type: ignore[operator]
    fig.tight_layout()
    return fig


def _millions(x: float) -> str:
    return f"{x / 1e6:,.1f}" if np.isfinite(x) else "-"


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
        f"The chance of at least one deficit between {int(years[0])} and {last} is {float(pa.p):.0%}.",
        f"In the worst 5 % of outcomes the {last} deficit averages {_millions(es)} million {cur} "
        f"({float(t.expected_shortfall_share.sel(year=last)):.0%} of premium revenue).",
        f"To keep the chance of a deficit in {last} at or below {study.risk.level:.0%}, all premiums would "
        f"have to be {k:.2f} times the plan.",
    ]
    if study.risk.p_ruin is not None and study.scenario.reserve is not None:
        msgs.append(
            f"The chance that the reserve fund runs out in some year is {float(study.risk.p_ruin.p):.0%}."
        )
    top = study.priorities.sentences(last, top=1)
    if top:
        sentence = top[0].split(". ", 1)[1]  # drop the rank number
        msgs.append("Data to collect first: " + sentence[0].lower() + sentence[1:])
    if study.protection is not None:
        from schemerisk.analysis.priorities import protection_sentence

        msgs.append(protection_sentence(study.protection, last))
    return msgs


def _scenario_summary(study: Study) -> str:
    sc, det = study.scenario, study.deterministic
    y0, y1 = int(det.year.values[0]), int(det.year.values[-1])
    rows = []
    for c in sc.categories:
        m = det.members.sel(category=c.name)
        prem = det.premium.sel(category=c.name)
        rows.append(
            (
                c.label,
                f"{float(det.population.sel(category=c.name, year=y0)):,.0f}",
                f"{c.insured_share.values[0]:.1%} / {c.insured_share.values[-1]:.1%}",
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
    )
    bal = _table(
        ["", *[str(int(y)) for y in det.year.values]],
        [
            [
                f"Premium revenue (million {sc.currency})",
                *[_millions(v) for v in det.premium_revenue.values],
            ],
            [
                f"Total expenditure (million {sc.currency})",
                *[_millions(v) for v in det.total_expenditure.values],
            ],
            [f"Balance (million {sc.currency})", *[_millions(v) for v in det.balance.values]],
        ],
    )
    return (
        f"<p>{_e(sc.title or sc.name)}: base year {sc.base_year}, projected to {y1}; population "
        f"{sc.demography.population:,.0f}; {len(sc.categories)} population categories; {len(sc.services)} health "
        f"services. Amounts in {_e(sc.currency)}.</p>{cats}<h3>The plan, every assumption at its base value</h3>{bal}"
    )


def _risk_table(study: Study) -> str:
    t = study.risk.table
    cur = study.scenario.currency
    rows = []
    for y in t.year.values:
        r = t.sel(year=y)
        rows.append(
            (
                int(y),
                f"{float(r.p_deficit):.1%}",
                f"{float(r.p_deficit_se):.2%}",
                f"{float(r.p_deficit_lower):.1%} to {float(r.p_deficit_upper):.1%}",
                _millions(float(r.expected_deficit)),
                _millions(float(r.expected_shortfall)),
                f"{float(r.expected_shortfall_share):.1%}",
                f"{float(r.required_premium_multiplier):.3f}",
            )
        )
    return _table(
        [
            "Year",
            "P(deficit)",
            "Monte Carlo s.e.",
            "Wilson 95 % interval",
            f"Expected deficit if any (M {cur})",
            f"Expected shortfall 95 % (M {cur})",
            "ES as % of revenue",
            f"Premium multiplier for P <= {study.risk.level:.0%}",
        ],
        rows,
    )


def _inputs_table(study: Study) -> str:
    rows = [
        (
            e.name,
            e.slot.path,
            e.apply.value,
            e.time.value + (f" (persistence {e.persistence:g})" if e.persistence else ""),
            e.marginal.describe(),
            e.note,
        )
        for e in study.space.entries
    ]
    return _table(
        ["Entry", "Scenario input", "Applied as", "In time", "Distribution", "Source / rationale"],
        rows,
        6,
    )


def _priorities_section(study: Study) -> str:
    pri = study.priorities
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
            f"{study.sobol.indices.attrs.get('n_runs'):,} projections, seed {int(c.get('seed', 0)) + 1}",
        ),
        ("Generated", _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        *[
            (f"Version of {k.removeprefix('version_')}", v)
            for k, v in c.items()
            if str(k).startswith("version_")
        ],
    ]
    return _table(["", ""], rows, 2)


def render_html(study: Study) -> str:
    """Render a study as one self-contained HTML5 page.

    Parameters
    ----------
    study : Study
        From :func:`~schemerisk.analysis.study.run_study`.

    Returns
    -------
    str
        The page.
    """
    sc, cube, det = study.scenario, study.cube, study.deterministic
    last = int(cube.year.values[-1])
    fig_balance = _figure(
        _axes_figure(lambda ax: charts.fan_chart(cube, "balance", ax=ax, deterministic=det)),
        "Balance of the scheme: the shaded bands hold 30 %, 60 % and 90 % of the projections; the line is the "
        "median, the dashed line the plan with every assumption at its base value.",
        "Fan chart of the scheme's balance by year",
    )
    fig_revexp = _figure(
        _axes_figure(lambda ax: charts.revenue_expenditure_chart(cube, ax=ax, deterministic=det)),
        "Premium revenue against total expenditure.",
        "Fan chart of revenue and expenditure",
    )
    fig_members = _figure(
        _axes_figure(lambda ax: charts.membership_chart(cube, ax=ax, deterministic=det)),
        "Total membership.",
        "Fan chart of membership",
    )
    fig_prem = _figure(
        _axes_figure(lambda ax: charts.premiums_chart(cube, ax=ax)),
        "Premium per person by category (median and 90 % band).",
        "Premiums by category",
    )
    ind = study.sobol.indices
    fig_sobol = _figure(
        _axes_figure(
            lambda ax: charts.sobol_chart(ind, output="balance", year=last, ax=ax), (8.0, 5.2)
        ),
        f"Sobol' indices for the {last} balance, with 95 % bootstrap intervals.",
        "Bar chart of Sobol' indices",
    )
    fig_sobol_def = _figure(
        _axes_figure(
            lambda ax: charts.sobol_chart(ind, output="deficit", year=last, ax=ax), (8.0, 5.2)
        ),
        f"Sobol' indices for the {last} deficit indicator.",
        "Bar chart of Sobol' indices for the deficit",
    )
    fig_years = _figure(
        _axes_figure(lambda ax: charts.sobol_over_years_chart(ind, output="balance", ax=ax)),
        "Total-order indices for the balance, year by year: which assumptions matter more as time goes on.",
        "Line chart of Sobol' indices over the years",
    )
    warn = "".join(f'<div class="warn">{_e(w)}</div>' for w in study.warnings)
    messages = "".join(f"<li>{_e(m)}</li>" for m in key_messages(study))
    title = f"Deficit risk: {sc.title or sc.name}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}</style>
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
<div class="grid">{fig_revexp}{fig_members}</div>
{fig_prem}
<h2 id="risk">3. Probability and size of deficits</h2>
{_risk_table(study)}
<p>The premium multiplier scales every premium (flat premiums and contribution rates) by the same factor; it is
computed exactly from the projections, since revenue is proportional to premiums. At least one deficit over the
horizon: {float(study.risk.p_any_deficit.p):.1%} (95 % interval {float(study.risk.p_any_deficit.lower):.1%} to
{float(study.risk.p_any_deficit.upper):.1%}).</p>
<h2 id="drivers">4. What drives the risk</h2>
{warn}
<div class="grid">{fig_sobol}{fig_sobol_def}</div>
{fig_years}
<h2 id="priorities">5. Which data to collect first</h2>
{_priorities_section(study)}
<h2 id="inputs">6. The uncertain assumptions</h2>
{_inputs_table(study)}
<h2 id="provenance">7. Provenance</h2>
{_provenance(study)}
<p class="small">Made with schemerisk. Outputs named {_e(", ".join(OUTPUT_LABELS.values()))} are analysed.</p>
</main>
</body>
</html>
"""


def write_tables(study: Study, directory: str | Path) -> list[Path]:
    """Write the report's tables as CSV files into ``directory``.

    Parameters
    ----------
    study : Study
        The study.
    directory : str or Path
        Folder to write into (created if needed).

    Returns
    -------
    list of Path
        The files written: ``deficit_risk.csv``, ``balance_quantiles.csv``,
        ``sobol_indices.csv``, ``priorities.csv`` and ``uncertain_inputs.csv``.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    q = study.cube.balance.quantile([0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95], dim="draw")
    frames = {
        "deficit_risk.csv": study.risk.table.to_dataframe(),
        "balance_quantiles.csv": q.to_pandas().T.rename(columns=lambda p: f"p{round(100 * p):02d}"),
        "sobol_indices.csv": study.sobol.indices[["S1", "S1_conf", "ST", "ST_conf"]].to_dataframe(),
        "priorities.csv": study.priorities.table.to_dataframe(),
        "uncertain_inputs.csv": pd.DataFrame(
            [
                {
                    "entry": e.name,
                    "target": e.slot.path,
                    "apply": e.apply.value,
                    "time": e.time.value,
                    "distribution": e.marginal.describe(),
                    "note": e.note,
                }
                for e in study.space.entries
            ]
        ).set_index("entry"),
    }
    written = []
    for name, frame in frames.items():
        with atomic_path(d / name) as work:
            frame.to_csv(work)
        written.append(d / name)
    return written


def write_report(study: Study, path: str | Path) -> Path:
    """Write the HTML report atomically (a failed run leaves no half-written page).

    Parameters
    ----------
    study : Study
        The study.
    path : str or Path
        The ``.html`` file.

    Returns
    -------
    Path
        The path written.
    """
    page = render_html(study)
    target = Path(path)
    with atomic_path(target) as work:
        work.write_text(page, encoding="utf-8")
    return target
