"""What was assumed: each uncertain input's planned value against the distribution the user gave.

For every entry of a distributions file the report shows the plan's value (the scenario's own,
or 1 for a multiplier and 0 for a shift), the distribution in the user's own units as its 5th
percentile, centre (the mode the user wrote for a PERT or triangular distribution, else the
median) and 95th percentile, a small density plot with the plan's value marked, and a flag when
the plan's value lies outside the central 90 %. When such inputs pull the projections away from
the plan, :func:`off_plan_sentence` says so in one sentence for the key findings.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import xarray as xr

from schemerisk.uncertainty.space import Apply, Entry, ParameterSpace

#: the central interval shown and flagged
CENTRAL = (0.05, 0.95)
#: the plan's outcome is "away from the fan" when fewer than this share of the projections lie
#: on one side of it (it is outside the central half of the outcomes)
_OFF_CENTRE = 0.25


@dataclass(frozen=True)
class Assumption:
    """One uncertain input as the report shows it.

    Attributes
    ----------
    entry : Entry
        The entry of the distributions file.
    plan_low, plan_high : float
        The smallest and largest planned value the entry changes (equal for one value),
        in the units the distribution is written in (1 for a multiplier, 0 for a shift).
    plan : float
        The planned value compared with the distribution: the median of the planned values.
    p05, centre, p95 : float
        The distribution's 5th percentile, centre and 95th percentile.
    centre_kind : str
        ``"mode"`` (PERT, triangular: the mode as written) or ``"median"``.
    plan_percentile : float
        The distribution's CDF at the plan's value.
    """

    entry: Entry
    plan_low: float
    plan_high: float
    plan: float
    p05: float
    centre: float
    centre_kind: str
    p95: float
    plan_percentile: float

    @property
    def outside(self) -> bool:
        """True when the plan's value lies outside the central 90 % of the distribution."""
        return bool(self.plan < self.p05 or self.plan > self.p95)

    @property
    def name(self) -> str:
        """Readable name: the entry's label, else its name."""
        return self.entry.label or self.entry.name.replace("_", " ")


def assumptions(space: ParameterSpace) -> list[Assumption]:
    """Each entry of ``space`` with its planned value and its distribution's percentiles.

    Parameters
    ----------
    space : ParameterSpace
        A bound space (its scenario gives the planned values).

    Returns
    -------
    list of Assumption
        In the order of the distributions file.
    """
    out = []
    for e in space.entries:
        if e.apply is Apply.SCALE:
            planned = np.array([1.0])
        elif e.apply is Apply.SHIFT:
            planned = np.array([0.0])
        else:
            planned = np.asarray(space.inputs.vector[e.slot.positions], dtype=float).ravel()
        m = e.marginal
        p05, median, p95 = (float(x) for x in m.exact_ppf(np.array([0.05, 0.5, 0.95])))
        if "mode" in m.params:
            centre, kind = float(m.params["mode"]), "mode"
        else:
            centre, kind = median, "median"
        plan = float(np.median(planned))
        out.append(
            Assumption(
                e,
                float(planned.min()),
                float(planned.max()),
                plan,
                p05,
                centre,
                kind,
                p95,
                float(m.cdf(np.array([plan]))[0]),
            )
        )
    return out


def number(x: float) -> str:
    """A value as the user would write it: three significant figures, thousands separated."""
    if not np.isfinite(x):
        return "-"
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def plan_text(a: Assumption) -> str:
    """The planned value(s) as shown: ``"x1 (multiplier)"``, ``"0.08"`` or ``"0.1 to 0.3"``."""
    if a.entry.apply is Apply.SCALE:
        return "x1 (multiplier)"
    if a.entry.apply is Apply.SHIFT:
        return "+0 (shift)"
    if a.plan_low == a.plan_high:
        return number(a.plan)
    return f"{number(a.plan_low)} to {number(a.plan_high)}"


def density_svg(a: Assumption, width: int = 170, height: int = 40) -> str:
    """A small inline SVG of the distribution's density, its central 90 % shaded, the plan marked.

    The density is the CDF's slope on 80 bins, so discrete and continuous families are drawn
    alike; the x-range covers the 0.1 % to 99.9 % points and the plan's value.
    """
    m = a.entry.marginal
    lo, hi = (float(x) for x in m.exact_ppf(np.array([0.001, 0.999])))
    lo, hi = min(lo, a.plan), max(hi, a.plan)
    if not hi > lo:
        lo, hi = lo - 0.5 * (abs(lo) or 1.0), hi + 0.5 * (abs(hi) or 1.0)
    pad = 0.04 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    edges = np.linspace(lo, hi, 81)
    dens = np.diff(m.cdf(edges))
    top = float(dens.max()) or 1.0
    base = height - 4.0

    def x(v: float) -> float:
        return 2.0 + (width - 4.0) * (v - lo) / (hi - lo)

    mids = 0.5 * (edges[:-1] + edges[1:])
    pts = " ".join(
        f"{x(v):.1f},{base - (base - 4.0) * d / top:.1f}" for v, d in zip(mids, dens, strict=True)
    )
    curve = f"M{x(lo):.1f},{base:.1f} L{pts} L{x(hi):.1f},{base:.1f} Z"
    band = (
        f'<rect x="{x(a.p05):.1f}" y="2" width="{max(x(a.p95) - x(a.p05), 0.5):.1f}" '
        f'height="{base - 2.0:.1f}" fill="#dce8f5"/>'
    )
    colour = "#c2451e" if a.outside else "#1b1b1b"
    title = (
        f"{a.name}: 5 % {number(a.p05)}, {a.centre_kind} {number(a.centre)}, 95 % "
        f"{number(a.p95)}; plan {plan_text(a)}"
    )
    return (
        f'<svg class="dist" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"><title>{html.escape(title)}</title>{band}'
        f'<path d="{curve}" fill="#9ecae1" stroke="#1f5fa8" stroke-width="1"/>'
        f'<line x1="0" y1="{base:.1f}" x2="{width}" y2="{base:.1f}" stroke="#888" stroke-width="0.6"/>'
        f'<line x1="{x(a.plan):.1f}" y1="1" x2="{x(a.plan):.1f}" y2="{height - 1}" stroke="{colour}" '
        f'stroke-width="2"/></svg>'
    )


def off_plan_sentence(
    deterministic: xr.Dataset, cube: xr.Dataset, rows: list[Assumption], currency: str
) -> str | None:
    """One sentence for the key findings when the projections are centred away from the plan.

    It is written when the plan's balance in the last year lies outside the central half of
    the projected balances, or on the other side of zero from their median, and names the
    inputs whose planned value is furthest into a tail of its distribution (those outside the
    central 90 % first).

    Parameters
    ----------
    deterministic : xarray.Dataset
        The plan's projection.
    cube : xarray.Dataset
        The Monte Carlo cube (``balance``).
    rows : list of Assumption
        From :func:`assumptions`.
    currency : str
        For the amounts.

    Returns
    -------
    str or None
        The sentence, or None when the plan sits within the fan.
    """
    last = int(cube.year.values[-1])
    bal = cube.balance.sel(year=last).values
    bal = bal[np.isfinite(bal)]
    if bal.size == 0:
        return None
    plan = float(deterministic.balance.sel(year=last))
    below = float(np.mean(bal < plan))
    median = float(np.median(bal))
    other_side = (plan >= 0) != (median >= 0)
    if _OFF_CENTRE <= below <= 1 - _OFF_CENTRE and not other_side:
        return None
    tails = sorted(
        (a for a in rows if a.outside or abs(a.plan_percentile - 0.5) >= 0.5 - _OFF_CENTRE),
        key=lambda a: (not a.outside, -abs(a.plan_percentile - 0.5)),
    )[:3]
    if not tails:
        return None
    named = "; ".join(
        f"{a.name} (plan {plan_text(a)}, {a.centre_kind} {number(a.centre)})" for a in tails
    )
    return (
        f"The plan's {last} balance ({plan / 1e6:,.1f} million {currency}) lies above "
        f"{below:.0%} of the projections (their median {median / 1e6:,.1f} million): the "
        f"uncertain inputs are not centred on the plan's values, notably {named}."
    )
