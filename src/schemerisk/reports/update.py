"""The report's section on observations: what the observed years change (``schemerisk report --observed``).

The section is built here, apart from the rest of the page, from an
:class:`~schemerisk.analysis.update.Update`: the method and effective sample
size, the observations against the projections, each input's posterior
against its prior (table and small histograms), the updated fan chart of the
balance from the last observed year with the observations drawn, the updated
deficit risk and premium multiplier, and what is still worth collecting.
"""

from __future__ import annotations

import html
import math

import numpy as np
from matplotlib.figure import Figure

from schemerisk.analysis.update import (
    Update,
    fan_quantiles,
    input_table,
    observation_fit,
    priorities_table,
    risk_table,
    weighted_quantile,
)
from schemerisk.model.results import DRAW
from schemerisk.reports import charts

PRIOR_COLOR = "#9aa5b1"
POSTERIOR_COLOR = "#1f5fa8"
OBSERVED_COLOR = "#c0392b"


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _num(x: float, digits: int = 4) -> str:
    if not np.isfinite(x):
        return "-" if np.isnan(x) else ("no finite value" if x > 0 else "-inf")
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.{digits}g}"


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(
        f'<th class="l">{_e(h)}</th>' if i == 0 else f"<th>{_e(h)}</th>"
        for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="l">{_e(c)}</td>' if i == 0 else f"<td>{_e(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(fig: Figure, caption: str, alt: str) -> str:
    uri = charts.figure_to_data_uri(fig)
    return (
        f'<figure><img src="{uri}" alt="{_e(alt)}"><figcaption>{_e(caption)}</figcaption></figure>'
    )


def prior_posterior_figure(result: Update, max_panels: int = 20) -> Figure:
    """Small histograms of each input: prior (grey) against posterior (blue, weighted).

    Inputs drawn once per projection get a panel each; for inputs drawn every
    year, the years whose 90 % range the observations narrowed by 10 % or
    more. At most ``max_panels`` panels, the most narrowed first.
    """
    tab = input_table(result)
    scalar = {e.name for e in result.space.entries if not e.is_series}
    keep = tab[tab.entry.isin(scalar) | (tab.narrowing >= 0.1)]
    keep = keep.sort_values("narrowing", ascending=False, kind="stable").head(max_panels)
    ncols = 4
    nrows = max(1, math.ceil(len(keep) / ncols))
    fig = Figure(figsize=(10.0, 1.9 * nrows + 0.4))
    n = result.prior.sizes[DRAW]
    for i, r in enumerate(keep.itertuples()):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        label = str(r.input)
        year = label.rsplit(", ", 1)[1] if r.entry not in scalar else None
        da_p = result.prior[f"input_{r.entry}"]
        da_q = result.posterior[f"input_{r.entry}"]
        if year is not None:
            da_p, da_q = da_p.sel(year=int(year)), da_q.sel(year=int(year))
        xp, xq = np.asarray(da_p.values, float), np.asarray(da_q.values, float)
        lo, hi = np.nanmin(xp), np.nanmax(xp)
        bins = list(np.linspace(lo, hi, 41)) if hi > lo else 10
        ax.hist(
            xp,
            bins=bins,
            weights=np.full(n, 1.0 / n),
            color=PRIOR_COLOR,
            alpha=0.6,
            histtype="stepfilled",
        )
        ax.hist(
            xq,
            bins=bins,
            weights=result.weights,
            color=POSTERIOR_COLOR,
            alpha=0.7,
            histtype="stepfilled",
        )
        if len(label) > 38:  # shorten the name, keep the year
            name, _, tail = label.rpartition(", ") if year is not None else (label, "", "")
            room = 36 - (len(tail) + 2 if tail else 0)
            label = name[:room] + "..." + (f", {tail}" if tail else "")
        ax.set_title(label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def updated_fan_figure(result: Update, var: str = "balance") -> Figure:
    """The fan chart of ``var`` from the last observed year, before and after the observations.

    The posterior's 50 % and 90 % bands and median from the last observed year
    on; the prior's 90 % band as dashed lines over every year; observations of
    ``var`` (if any) as points with +/- 2 sd bars.
    """
    prior, post = fan_quantiles(result, var)
    years = np.asarray(post["year"].values)
    last = result.observations.last_year
    on = years >= last
    fig = Figure(figsize=(7.5, 4.4))
    ax = fig.add_subplot()
    values = [prior.values, post.values]
    sc = charts.choose_scale(np.concatenate([np.ravel(v) for v in values]))
    f = sc.factor
    x = years.astype(float)
    ax.fill_between(
        x[on], post.sel(quantile=0.05).values[on] / f, post.sel(quantile=0.95).values[on] / f,
        color=POSTERIOR_COLOR, alpha=0.2, linewidth=0, label="after: 90 % of projections",
    )  # fmt: skip
    ax.fill_between(
        x[on], post.sel(quantile=0.25).values[on] / f, post.sel(quantile=0.75).values[on] / f,
        color=POSTERIOR_COLOR, alpha=0.35, linewidth=0, label="after: 50 %",
    )  # fmt: skip
    ax.plot(
        x[on], post.sel(quantile=0.5).values[on] / f, color=POSTERIOR_COLOR, linewidth=2,
        label="after: median",
    )  # fmt: skip
    for q, lab in ((0.05, "before: 90 % range"), (0.95, None)):
        ax.plot(
            x, prior.sel(quantile=q).values / f, color=PRIOR_COLOR, linestyle="--", linewidth=1.2,
            label=lab,
        )  # fmt: skip
    obs = [o for o in result.observations.items if o.output == var and o.category is None]
    if obs:
        ax.errorbar(
            [o.year for o in obs], [o.value / f for o in obs], yerr=[2 * o.sd / f for o in obs],
            fmt="o", color=OBSERVED_COLOR, capsize=3, label="observed (+/- 2 sd)",
        )  # fmt: skip
    ax.axvline(last, color="black", linewidth=0.8, linestyle=":")
    if np.nanmin(prior.values) < 0 < np.nanmax(prior.values):
        ax.axhline(0.0, color="black", linewidth=1.0)
    ax.set_xticks(x)
    ax.set_xticklabels([str(int(y)) for y in years])
    units = str(result.posterior[var].attrs.get("units", "")).replace(
        "{currency}", str(result.posterior.attrs.get("currency", ""))
    )
    ax.set_ylabel(f"{var.replace('_', ' ')} ({sc.words + ' ' if sc.words else ''}{units})")
    ax.set_title(f"{var.replace('_', ' ').capitalize()}: updated with the years to {last}")
    ax.legend(fontsize="small", frameon=False, loc="best")
    fig.tight_layout()
    return fig


def observed_outputs_figure(result: Update) -> Figure:
    """One panel per observed series: the prior's and posterior's 90 % ranges and the observations."""
    series: dict[tuple[str, str | None, str | None], list] = {}
    for o in result.observations.items:
        series.setdefault((o.output, o.category, o.service), []).append(o)
    ncols = min(3, len(series))
    nrows = math.ceil(len(series) / ncols)
    fig = Figure(figsize=(3.4 * ncols, 2.6 * nrows + 0.3))
    n = result.prior.sizes[DRAW]
    for i, ((name, cat, svc), obs) in enumerate(series.items()):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        sel = {k: v for k, v in (("category", cat), ("service", svc)) if v is not None}
        years = np.asarray(result.posterior["year"].values, dtype=float)
        for cube, w, color, lab in (
            (result.prior, np.full(n, 1.0 / n), PRIOR_COLOR, "before"),
            (result.posterior, result.weights, POSTERIOR_COLOR, "after"),
        ):
            da = cube[name].sel(sel).transpose(DRAW, "year")
            q = weighted_quantile(da.values, w, (0.05, 0.5, 0.95))
            ax.fill_between(years, q[0], q[2], color=color, alpha=0.3, linewidth=0, label=lab)
            ax.plot(years, q[1], color=color, linewidth=1.2)
        ax.errorbar(
            [o.year for o in obs], [o.value for o in obs], yerr=[2 * o.sd for o in obs],
            fmt="o", color=OBSERVED_COLOR, capsize=2, markersize=4, label="observed",
        )  # fmt: skip
        title = name.replace("_", " ") + (f" ({', '.join(sel.values())})" if sel else "")
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xticks(years)
        ax.set_xticklabels([str(int(y)) for y in years], rotation=45)
        if i == 0:
            ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def update_section(result: Update, level: float = 0.05, number: str = "") -> str:
    """The HTML section "Updated with what the scheme has observed".

    Parameters
    ----------
    result : Update
        From :func:`~schemerisk.analysis.update.update`.
    level : float
        Target probability of deficit of the premium multiplier.
    number : str
        Section number to print before the title (e.g. ``"8."``).

    Returns
    -------
    str
        An HTML fragment: a ``<h2 id="update">`` heading and its content.
    """
    fit = observation_fit(result)
    fit_rows = [
        [
            label, int(r.line), _num(r.observed), _num(r.sd), _num(r.prior_median),
            _num(r.posterior_median), f"{_num(r.posterior_p05)} to {_num(r.posterior_p95)}",
        ]
        for label, r in fit.iterrows()
    ]  # fmt: skip
    inputs = input_table(result)
    input_rows = [
        [
            r.input, _num(r.prior_median), f"{_num(r.prior_p05)} to {_num(r.prior_p95)}",
            _num(r.posterior_median), f"{_num(r.posterior_p05)} to {_num(r.posterior_p95)}",
            f"{r.narrowing:.0%}" if np.isfinite(r.narrowing) else "-",
        ]
        for r in inputs.itertuples()
    ]  # fmt: skip
    risk = risk_table(result, level)
    risk_rows = [
        [
            int(y), f"{r.prior_p_deficit:.1%} (± {r.prior_se:.1%})",
            f"{r.posterior_p_deficit:.1%} (± {r.posterior_se:.1%})",
            _num(r.prior_multiplier), _num(r.posterior_multiplier),
        ]
        for y, r in risk.iterrows()
    ]  # fmt: skip
    pri = priorities_table(result)
    cur = str(result.posterior.attrs.get("currency", ""))
    pri_rows = [
        [
            r.input, _num(r.prior_evppi / 1e6),
            f"{_num(r.posterior_evppi / 1e6)} (± {_num(r.posterior_evppi_se / 1e6)})",
            f"{r.prior_S1:.1%}", f"{r.posterior_S1:.1%}",
        ]
        for r in pri.itertuples()
    ]  # fmt: skip
    last_year = int(result.posterior["year"].values[-1])
    notes = "".join(f'<div class="warn">{_e(n)}</div>' for n in result.notes)
    se_note = (
        "the ± figures are Monte Carlo standard errors, sqrt(p (1 - p) / ESS)"
        if result.method == "importance sampling"
        else "the ± figures are Monte Carlo standard errors with N in place of the ESS: the "
        "re-drawn projections are correlated through resampling, so they understate the error"
    )
    return f"""<h2 id="update">{_e(number + " " if number else "")}Updated with what the scheme has observed</h2>
<p>{_e(result.describe())}</p>
{notes}
<p>Each projection is weighted by how well it reproduces the observations (a normal error with the
standard deviation the file gives), so assumptions that contradict what was observed lose weight.</p>
<h3>The observations against the projections</h3>
{_table(["Observation", "Line", "Observed", "Error (sd)", "Before: median", "After: median", "After: 5-95 %"], fit_rows)}
{_figure(observed_outputs_figure(result), "Observed outputs: 90 % of the projections before (grey) and after (blue) the update, medians as lines; observations with +/- 2 sd.", "Observed outputs against the projections")}
<h3>The outlook from {result.observations.last_year}</h3>
{_figure(updated_fan_figure(result), "Balance of the scheme after the update: 50 % and 90 % of the weighted projections from the last observed year; dashed: the 90 % range before the update.", "Updated fan chart of the balance")}
<h3>Deficit risk, before and after</h3>
{_table(["Year", "P(deficit) before", "P(deficit) after", f"Premium multiplier before (P(deficit) {level:.0%})", "after"], risk_rows)}
<p class="small">A projection whose balance is undefined counts as a deficit; {_e(se_note)}.</p>
<h3>The uncertain assumptions, before and after</h3>
{_figure(prior_posterior_figure(result), "Prior (grey) and posterior (blue) of each assumption drawn once, and of the yearly ones the observations narrowed.", "Histograms of the assumptions before and after the update")}
{_table(["Assumption", "Before: median", "Before: 5-95 %", "After: median", "After: 5-95 %", "Range narrowed by"], input_rows)}
<h3>What is still worth collecting</h3>
<p>What knowing each assumption exactly would save, on average, in setting the {last_year} premium
(EVPPI, million {_e(cur)}; each {_e(cur)} of deficit costs 2 {_e(cur)}, each {_e(cur)} of surplus 1),
before and after the observations: after, the projections keep their weights (regressions fitted
with them, the ± a bootstrap standard error that resamples projections with their weights). Beside
it, the share of the variance of the {last_year} balance that learning the assumption would remove
(first-order index, weighted, estimated from the projections by binning).</p>
{_table(["Assumption", "EVPPI before", "EVPPI after", "Variance share before", "after"], pri_rows)}
"""
