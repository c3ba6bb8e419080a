"""The report's one live control: a premium-multiplier slider that redraws P(deficit) by year.

The page carries, for every projection (or the first ``K`` of them when the page would
otherwise be too big) and every year, the balance as planned ``B`` and the premium revenue
``S``, as little-endian float64 in base64. With every premium (flat premiums and
contribution rates, the premiums the report's required multiplier scales: ``schemerisk risk
--adjust all-premiums``) multiplied by ``M``, a projection's balance is ``B + (M - 1) S``
(:mod:`schemerisk.analysis.whatif`): exact, because revenue is proportional to premiums and
no expenditure depends on them. The script evaluates that expression in double precision in
the same order as numpy, so its counts equal ``schemerisk risk ... --premium-multiplier M``
on the same projections draw for draw. A projection whose balance at ``M`` is not finite is
unknown that year and never counted as safe (:mod:`schemerisk.uncertainty.nonfinite`).

The script is inline (no external file: the report works offline) and the page shows the
table at ``M = 1`` without it.
"""

from __future__ import annotations

import base64
import html
import json
import math

import numpy as np
import xarray as xr

from schemerisk.analysis.risk import wilson_interval
from schemerisk.analysis.solver import Adjust, adjusted_revenue
from schemerisk.analysis.study import Study
from schemerisk.analysis.whatif import deficit_counts

#: most bytes of per-draw data the page carries (before base64, which adds a third); past this
#: only the first draws are embedded (a random subsample of independent Monte Carlo draws)
MAX_EMBEDDED_BYTES = 3_000_000
#: the premiums the slider scales: those of the report's required multiplier
SLIDER_ADJUST = Adjust.ALL_PREMIUMS
#: z of a two-sided 95 % interval, the Wilson intervals of the report (scipy.stats.norm.ppf(0.975))
_Z95 = 1.959963984540054

#: the slider's style, added to the report's style sheet
SLIDER_CSS = """
.whatif { border: 1px solid #cfd6de; padding: 10px 14px; margin: 14px 0; break-inside: avoid; }
.whatif .controls { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 14px; }
.whatif input[type=range] { flex: 1 1 260px; min-width: 160px; max-width: 520px; }
.whatif input[type=number] { width: 6em; }
.whatif svg { width: 100%; max-width: 760px; height: auto; display: block; }
@media print { .whatif input { display: none; } }
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f8").tobytes()).decode("ascii")


def embedded_draws(n_draws: int, n_years: int, limit: int = MAX_EMBEDDED_BYTES) -> int:
    """How many draws the page carries: all, or as many as ``limit`` bytes hold (two float64 a year).

    Parameters
    ----------
    n_draws, n_years : int
        Size of the Monte Carlo cube.
    limit : int
        Most bytes of data before base64.

    Returns
    -------
    int
        ``K``, at least 1.
    """
    return max(1, min(n_draws, limit // (16 * max(n_years, 1))))


def _rows(years: np.ndarray, deficits: np.ndarray, known: np.ndarray, n: int) -> str:
    """The table's rows, as the script writes them (same words and rounding)."""
    lo, hi = wilson_interval(
        xr.DataArray(deficits.astype(float)), xr.DataArray(known.astype(float))
    )
    out = []
    for i, y in enumerate(years):
        k, d = int(known[i]), int(deficits[i])
        if k == 0:
            cells = ["unknown", "-", "-"]
        else:
            p = d / k
            cells = [
                f"{p:.1%}",
                f"{math.sqrt(p * (1 - p) / k):.2%}",
                f"{float(lo[i]):.1%} to {float(hi[i]):.1%}",
            ]
        out.append(
            f'<tr data-year="{int(y)}" data-deficits="{d}" data-known="{k}"><td class="l">{int(y)}'
            f"</td>{''.join(f'<td>{c}</td>' for c in cells)}<td>{n - k:,}</td></tr>"
        )
    return "".join(out)


def premium_slider(study: Study) -> str:
    """The slider section: controls, a chart and a table redrawn in the browser, and its data.

    Parameters
    ----------
    study : Study
        The report's study; its cube must have ``balance`` and ``premium_revenue``.

    Returns
    -------
    str
        HTML: the section and an inline ``<script>`` (the style is :data:`SLIDER_CSS`).
    """
    cube = study.cube
    bal = cube["balance"].transpose("draw", "year").values
    rev = adjusted_revenue(cube, SLIDER_ADJUST).transpose("draw", "year").values
    n_all, n_years = bal.shape
    k = embedded_draws(n_all, n_years)
    bal, rev = np.asarray(bal[:k], dtype=np.float64), np.asarray(rev[:k], dtype=np.float64)
    years = cube.year.values
    deficits, known = deficit_counts(bal, rev, 1.0)
    req = study.risk.table["required_premium_multiplier"].values
    finite_req = req[np.isfinite(req)]
    top = max(2.0, math.ceil(10 * 1.2 * float(finite_req.max())) / 10 if finite_req.size else 2.0)
    nbytes = 2 * bal.size * 8
    size = f"{nbytes / 1e6:.2f} MB" if nbytes >= 1e5 else f"{nbytes / 1e3:.0f} kB"
    if k < n_all:
        sample = (
            f"To keep the page small it carries the first {k:,} of the {n_all:,} projections (a "
            f"random subsample of independent draws): at M = 1 its figures may differ from the "
            f"table above by Monte Carlo error, a standard error of at most "
            f"0.5 / &radic;{k:,} = {0.5 / math.sqrt(k):.2%} (the Monte Carlo s.e. column gives each year's)."
        )
    else:
        sample = f"It uses all {n_all:,} projections: at M = 1 it repeats the table above."
    last = int(years[-1])
    hint = (
        f" The required multiplier of the table above for {last} is {float(req[-1]):.3f}: at that "
        f"value P(deficit) in {last} is at most {study.risk.level:.0%}."
        if np.isfinite(req[-1])
        else ""
    )
    meta = {
        "years": [int(y) for y in years],
        "draws": k,
        "z": _Z95,
        "balance": _b64(bal),
        "revenue": _b64(rev),
    }
    data = json.dumps(meta).replace("</", "<\\/")
    return f"""<section class="whatif" id="whatif" aria-labelledby="whatif-title">
<h3 id="whatif-title">What if premiums were different? (live)</h3>
<p>Move the slider: every premium, flat premiums and income-related contribution rates alike, is multiplied
by M (1 = as planned; the same premiums as the required multiplier above and as
<code>schemerisk risk --adjust all-premiums --premium-multiplier M</code>). Each projection's balance
becomes its planned balance + (M &minus; 1) &times; its premium revenue: exact, because revenue is
proportional to premiums and no expenditure depends on them, so nothing is re-run.{hint}
A projection whose balance is not finite is unknown, never counted as safe.</p>
<div class="controls">
<label for="whatif-range">Premium multiplier M</label>
<input type="range" id="whatif-range" min="0" max="{top:g}" step="0.01" value="1">
<input type="number" id="whatif-number" min="0" step="any" value="1" aria-label="Premium multiplier M">
<output id="whatif-value" for="whatif-range">M = 1.00</output>
</div>
<svg id="whatif-chart" viewBox="0 0 720 250" role="img"
 aria-label="Probability of a deficit by year with premiums multiplied by M, and as planned"></svg>
<div class="box"><table id="whatif-table"><thead><tr><th class="l">Year</th><th>P(deficit)</th>
<th>Monte Carlo s.e.</th><th>Wilson 95 % interval</th><th>Unknown projections</th></tr></thead>
<tbody>{_rows(years, deficits, known, k)}</tbody></table></div>
<p class="small">{sample} The page carries each projection's balance and premium revenue for
every year as 8-byte numbers: {size} of data.</p>
<script type="application/json" id="whatif-data">{data}</script>
</section>
<script>{_SCRIPT}</script>
"""


_SCRIPT = r"""
(function () {
  "use strict";
  var meta = JSON.parse(document.getElementById("whatif-data").textContent);
  function decode(b64) {
    var bin = atob(b64), n = bin.length / 8, view = new DataView(new ArrayBuffer(bin.length));
    for (var i = 0; i < bin.length; i++) view.setUint8(i, bin.charCodeAt(i));
    var out = new Float64Array(n);
    for (var j = 0; j < n; j++) out[j] = view.getFloat64(8 * j, true);
    return out;
  }
  var B = decode(meta.balance), S = decode(meta.revenue), Y = meta.years.length, N = meta.draws;
  var z = meta.z;
  function counts(m) {
    var def = new Array(Y).fill(0), known = new Array(Y).fill(0), f = m - 1.0;
    for (var d = 0; d < N; d++) {
      for (var y = 0; y < Y; y++) {
        var b = B[d * Y + y] + f * S[d * Y + y];
        if (Number.isFinite(b)) { known[y]++; if (b < 0) def[y]++; }
      }
    }
    return {def: def, known: known};
  }
  function wilson(x, n) {
    var p = x / n, c = (p + z * z / (2 * n)) / (1 + z * z / n);
    var h = z / (1 + z * z / n) * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n));
    return [Math.min(Math.max(c - h, 0), 1), Math.min(Math.max(c + h, 0), 1)];
  }
  function pct(x, digits) { return (100 * x).toFixed(digits) + "%"; }
  var SVG = "http://www.w3.org/2000/svg", chart = document.getElementById("whatif-chart");
  var L = 58, R = 700, T = 14, Bot = 210;
  function px(i) { return Y > 1 ? L + (R - L) * i / (Y - 1) : (L + R) / 2; }
  function py(p) { return Bot - (Bot - T) * p; }
  function el(name, attrs, text) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    chart.appendChild(e);
    return e;
  }
  function line(c, cls, colour, dash) {
    var pts = [];
    for (var i = 0; i < Y; i++) if (c.known[i] > 0) pts.push(px(i) + "," + py(c.def[i] / c.known[i]));
    var a = {points: pts.join(" "), fill: "none", stroke: colour, "stroke-width": 2, "class": cls};
    if (dash) a["stroke-dasharray"] = "6 4";
    el("polyline", a);
    for (var j = 0; j < Y; j++) if (c.known[j] > 0 && !dash)
      el("circle", {cx: px(j), cy: py(c.def[j] / c.known[j]), r: 3.5, fill: colour});
  }
  var planned = counts(1.0);
  function draw(m, c) {
    while (chart.firstChild) chart.removeChild(chart.firstChild);
    for (var g = 0; g <= 4; g++) {
      el("line", {x1: L, x2: R, y1: py(g / 4), y2: py(g / 4), stroke: "#e3e7ec"});
      el("text", {x: L - 6, y: py(g / 4) + 4, "text-anchor": "end", "font-size": 12}, (25 * g) + "%");
    }
    var step = Math.max(1, Math.ceil(Y / 12));
    for (var i = 0; i < Y; i += step)
      el("text", {x: px(i), y: Bot + 18, "text-anchor": "middle", "font-size": 12}, meta.years[i]);
    var band = [], back = [];
    for (var j = 0; j < Y; j++) if (c.known[j] > 0) {
      var w = wilson(c.def[j], c.known[j]);
      band.push(px(j) + "," + py(w[1])); back.unshift(px(j) + "," + py(w[0]));
    }
    el("polygon", {points: band.concat(back).join(" "), fill: "#1f5fa8", "fill-opacity": 0.2});
    line(planned, "planned", "#777", true);
    line(c, "scaled", "#1f5fa8", false);
    el("text", {x: L + 8, y: T + 30, "font-size": 12, fill: "#1f5fa8"},
       "premiums \u00d7 " + m.toFixed(2) + " (band: Wilson 95 % interval)");
    el("text", {x: L + 8, y: T + 46, "font-size": 12, fill: "#777"}, "as planned (dashed)");
    el("text", {x: 14, y: (T + Bot) / 2, "font-size": 12, "text-anchor": "middle",
                transform: "rotate(-90 14 " + (T + Bot) / 2 + ")"}, "P(deficit)");
  }
  function table(c) {
    var rows = [];
    for (var i = 0; i < Y; i++) {
      var k = c.known[i], d = c.def[i], cells;
      if (k === 0) cells = ["unknown", "-", "-"];
      else {
        var p = d / k, w = wilson(d, k);
        cells = [pct(p, 1), pct(Math.sqrt(p * (1 - p) / k), 2), pct(w[0], 1) + " to " + pct(w[1], 1)];
      }
      rows.push('<tr data-year="' + meta.years[i] + '" data-deficits="' + d + '" data-known="' + k +
        '"><td class="l">' + meta.years[i] + "</td><td>" + cells.join("</td><td>") + "</td><td>" +
        (N - k).toLocaleString("en-US") + "</td></tr>");
    }
    document.querySelector("#whatif-table tbody").innerHTML = rows.join("");
  }
  var range = document.getElementById("whatif-range"), num = document.getElementById("whatif-number");
  var shown = document.getElementById("whatif-value");
  function update(text, from) {
    var m = parseFloat(text);
    if (!Number.isFinite(m) || m < 0) return;
    if (from !== range) range.value = String(m);
    if (from !== num) num.value = text;
    shown.textContent = "M = " + m.toFixed(2);
    var c = counts(m);
    draw(m, c);
    table(c);
    document.getElementById("whatif").setAttribute("data-multiplier", text);
  }
  range.addEventListener("input", function () { update(range.value, range); });
  num.addEventListener("input", function () { update(num.value, num); });
  update("1", null);
})();
"""
