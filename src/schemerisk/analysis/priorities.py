"""Which data to collect first: the value of information in currency, with the Sobol' indices beside it.

Every uncertain input is either **data** the scheme can collect (utilisation,
unit costs, uptake, compliance, the insured's relative use, ...) or an
**environment** it can only prepare for (inflation, wage growth, the exchange
rate, population growth); see :class:`~schemerisk.uncertainty.targets.InputKind`.
A group of entries (a correlated block) is data when any of its entries is.

"Data to collect first" ranks the data inputs by their EVPPI for setting the
premium, in currency (Strong, Oakley & Brennan 2014): what learning the input
exactly would save, on average, through a better premium. The Sobol' indices say
how much of the variance of the balance it drives: the first-order index S1 is
the expected share of the variance removed by learning the input exactly; the
total-order index ST the share in which it is involved at all (Saltelli et al.
2008, *Global Sensitivity Analysis: The Primer*, Sections 4.3 and 4.6).
Environment inputs are reported separately, with how much of the risk they
carry (:mod:`schemerisk.analysis.protection` says what protects against it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from schemerisk.analysis.sensitivity import SobolResult
from schemerisk.analysis.voi import (
    BOOTSTRAP,
    PremiumDecision,
    ValueOfInformation,
    value_of_information,
)
from schemerisk.uncertainty.space import ParameterSpace
from schemerisk.uncertainty.targets import InputKind

_UNITS = {1.0: "", 1e3: " thousand", 1e6: " million", 1e9: " billion"}
#: draws of the Saltelli design's A and B rows the value of information is computed from: its
#: cost grows with the draws times the bootstrap resamples; its standard errors say what the
#: cap costs in precision
VOI_DRAWS = 4096


def group_kind(members: tuple[str, ...], space: ParameterSpace) -> InputKind:
    """Data when any member of the group is data; environment otherwise."""
    kinds = {space.entry(m).kind for m in members}
    return InputKind.DATA if InputKind.DATA in kinds else InputKind.ENVIRONMENT


#: how far an index may leave 0 <= S1 <= ST <= 1 by floating-point rounding alone (an input
#: with no effect gets indices of 1e-17 or so, in either order): not called sampling noise
ROUNDING = 1e-12


def shown_index(s1: float, st: float) -> tuple[float, float, str]:
    """S1 and ST as printed, in [0, 1] with S1 <= ST, and a note when the estimates were not.

    Estimates can leave [0, 1], or put S1 above ST, by sampling error only: the
    printed values are clipped, and the note says so, with the raw estimates.
    """
    st_c = min(max(st, 0.0), 1.0)
    s1_c = min(max(s1, 0.0), st_c)
    if (s1_c, st_c) == (s1, st):
        return s1, st, ""
    if max(abs(s1 - s1_c), abs(st - st_c)) <= ROUNDING:  # e.g. S1 = 1e-17 > ST = 1e-32: both 0
        return s1_c, st_c, ""
    for digits in (2, 3, 4, 6, 17):  # the fewest significant figures that still show why
        a, b = f"{s1:.{digits}g}", f"{st:.{digits}g}"
        if not 0.0 <= float(a) <= float(b) <= 1.0:
            break
    return (
        s1_c,
        st_c,
        f"estimates S1 = {a}, ST = {b} fall outside 0 <= S1 <= ST <= 1 by sampling noise only",
    )


@dataclass(frozen=True)
class Priorities:
    """The data-collection ranking: the result of :func:`rank_priorities`.

    Attributes
    ----------
    table : xarray.Dataset
        By input and year: ``S1_balance``, ``S1_balance_conf``, ``ST_balance``,
        ``ST_balance_conf``, ``ST_deficit``, ``evppi``, ``evppi_se``; ``kind``
        (input: data or environment) and ``rank`` (input, year: 1 = collect
        first, among data inputs by EVPPI; 0 for environment inputs).
    voi : ValueOfInformation
        EVPI and EVPPI details.
    labels : dict
        Input -> readable label.
    currency : str
        Currency of the amounts.
    n_base : int
        The Sobol' base sample size N the indices came from.
    """

    table: xr.Dataset
    voi: ValueOfInformation
    labels: dict[str, str]
    currency: str
    n_base: int = 0

    def _year(self, year: int | None) -> int:
        return int(self.table.year.values[-1]) if year is None else int(year)

    def ranking(self, year: int | None = None) -> list[str]:
        """Data inputs in order of priority for ``year`` (default the last year): EVPPI, largest first."""
        t = self.table.sel(year=self._year(year))
        data = [
            (int(t["rank"].sel(input=i)), str(i))
            for i in t.input.values
            if str(t.kind.sel(input=i).values) == InputKind.DATA.value
        ]
        return [name for _, name in sorted(data)]

    def environment(self, year: int | None = None) -> list[str]:
        """Environment inputs for ``year``, by the share of variance they are involved in (ST)."""
        t = self.table.sel(year=self._year(year))
        env = [
            str(i)
            for i in t.input.values
            if str(t.kind.sel(input=i).values) == InputKind.ENVIRONMENT.value
        ]
        return sorted(env, key=lambda i: -float(t.ST_balance.sel(input=i)))

    def _worth(self, row: xr.Dataset, y: int, scale: float) -> str:
        unit = _UNITS.get(scale, f" x {scale:g}")
        d = self.voi.decision
        return (
            f"for setting the {y} premium multiplier, where each {self.currency} of deficit costs "
            f"{d.deficit_cost:g} {self.currency} and each {self.currency} of surplus {d.surplus_cost:g}, "
            f"knowing it exactly would lower the expected loss by about {float(row.evppi) / scale:,.1f}"
            f"{unit} {self.currency} (+- {float(row.evppi_se) / scale:,.1f}{unit}, one standard error)"
        )

    def sentences(self, year: int | None = None, top: int = 5, scale: float = 1e6) -> list[str]:
        """The data ranking in plain words, one sentence per input, most valuable first.

        Parameters
        ----------
        year : int, optional
            Year of the decision (default the last year).
        top : int
            How many inputs.
        scale : float
            Divide amounts by this (1e6: millions).

        Returns
        -------
        list of str
            E.g. "1. Learning the admission rate exactly would remove about 4 % of
            the variance of the 1997 balance; it is involved in about 6 % of it; for
            setting the 1997 premium multiplier, where each VND of deficit costs
            2 VND and each VND of surplus 1, knowing it exactly would lower the
            expected loss by about 28.5 million VND (+- 6.1 million, one standard error)."
        """
        y = self._year(year)
        t = self.table.sel(year=y)
        out = []
        for rank, name in enumerate(self.ranking(y)[:top], start=1):
            row = t.sel(input=name)
            s1, st, note = shown_index(float(row.S1_balance), float(row.ST_balance))
            label = self.labels.get(name, name)
            noise = f" ({note})" if note else ""
            out.append(
                f"{rank}. Learning {label} exactly would remove about {s1:.0%} of the variance of the "
                f"{y} balance; it is involved in about {st:.0%} of it{noise}; {self._worth(row, y, scale)}."
            )
        return out

    def environment_sentences(self, year: int | None = None, scale: float = 1e6) -> list[str]:
        """What each environment input carries of the risk, in plain words."""
        y = self._year(year)
        t = self.table.sel(year=y)
        out = []
        for name in self.environment(y):
            row = t.sel(input=name)
            s1, st, note = shown_index(float(row.S1_balance), float(row.ST_balance))
            noise = f" ({note})" if note else ""
            out.append(
                f"{self.labels.get(name, name)[:1].upper()}{self.labels.get(name, name)[1:]} cannot be "
                f"collected, only prepared for: it is involved in about {st:.0%} of the variance of the {y} "
                f"balance, and knowing it in advance would remove about {s1:.0%}{noise}; {self._worth(row, y, scale)}."
            )
        return out

    def to_json(self) -> str:
        """The full ranking, every input and year, as JSON."""
        d = self.voi.decision
        doc: dict[str, object] = {
            "currency": self.currency,
            "decision": {
                "deficit_cost": d.deficit_cost,
                "surplus_cost": d.surplus_cost,
                "adjust": d.adjust.value,
                "loss": d.describe(self.currency),
            },
            "sobol_base_samples": self.n_base,
            "evppi_method": str(self.voi.table.attrs.get("method", "")),
            "years": {},
        }
        years: dict[str, object] = {}
        for y in self.table.year.values:
            t = self.table.sel(year=y)
            rows = []
            for name in [*self.ranking(int(y)), *self.environment(int(y))]:
                r = t.sel(input=name)
                s1, st, note = shown_index(float(r.S1_balance), float(r.ST_balance))
                rows.append(
                    {
                        "input": name,
                        "label": self.labels.get(name, name),
                        "kind": str(r.kind.values),
                        "rank": int(r["rank"]) or None,
                        "S1": float(r.S1_balance),
                        "S1_conf": float(r.S1_balance_conf),
                        "ST": float(r.ST_balance),
                        "ST_conf": float(r.ST_balance_conf),
                        "S1_shown": s1,
                        "ST_shown": st,
                        "noise_note": note or None,
                        "ST_deficit": float(r.ST_deficit),
                        "evppi": float(r.evppi),
                        "evppi_se": float(r.evppi_se),
                    }
                )
            years[str(int(y))] = {
                "evpi": float(self.voi.table.evpi.sel(year=y)),
                "best_multiplier": float(self.voi.table.best_multiplier.sel(year=y)),
                "inputs": rows,
            }
        doc["years"] = years
        return json.dumps(doc, indent=2)


def _label(group: str, space: ParameterSpace) -> str:
    """A readable name for a group of entries: their labels, or their names in words."""
    parts = []
    for name in group.split(" + "):
        e = next((e for e in space.entries if e.name == name), None)
        parts.append(e.label if e is not None and e.label else "the " + name.replace("_", " "))
    return " together with ".join(parts)


def rank_priorities(
    sobol: SobolResult,
    space: ParameterSpace,
    decision: PremiumDecision | None = None,
    *,
    seed: int = 0,
    max_draws: int = VOI_DRAWS,
    bootstrap: int = BOOTSTRAP,
    threads: int | None = None,
    years: Sequence[int] | None = None,
) -> Priorities:
    """Rank the uncertain data inputs by what learning them would be worth for setting the premium.

    Parameters
    ----------
    sobol : SobolResult
        Sobol' indices and the Saltelli-design cube (from
        :func:`~schemerisk.analysis.sensitivity.sobol_analysis`).
    space : ParameterSpace
        The uncertain inputs (for groups, kinds and labels).
    decision : PremiumDecision, optional
        The premium-setting loss function for the value of information.
    seed : int
        Seed of the value-of-information bootstrap.
    max_draws : int
        The most draws the value of information uses: the A and B rows of the
        first ``max_draws / 2`` points of the design's Sobol' sequence (a
        prefix of ``2^m`` points of a Sobol' sequence is balanced, a stride
        through it is not: Owen 2023, *Practical Quasi-Monte Carlo Integration*).
    bootstrap : int
        Bootstrap resamples of the EVPPI standard errors (0: none, NaN).
    threads : int, optional
        Threads of the value of information (default one per core); the answer does not
        depend on them.
    years : sequence of int, optional
        The years of the ranking (default every year of the cube). The EVPPI of
        each year is computed on its own, so a year's ranking is the same bit for
        bit whichever other years are ranked with it (tested); one year is about
        half the work of five. ``schemerisk priorities`` and ``report`` rank only
        the year they show when they write no JSON, table or workbook.

    Returns
    -------
    Priorities
        The ranking by input and year (the years asked for).
    """
    rows = np.asarray(sobol.base_rows())  # the A and B rows: an unstructured sample of 2N
    if rows.size > max_draws:
        rows = rows[:max_draws]  # sorted: A and B of the first points, in pairs
    base = sobol.cube.isel(draw=rows)
    groups = space.groups()
    voi = value_of_information(
        base, groups, decision, seed=seed, bootstrap=bootstrap, threads=threads, years=years
    )
    ind = sobol.indices
    if years is not None:  # the other years' EVPPI were not computed: not in the ranking
        wanted = [int(y) for y in years]
        voi = ValueOfInformation(voi.table.sel(year=wanted), voi.decision)
        ind = ind.sel(year=wanted)
    table = xr.Dataset(
        {
            "S1_balance": ind.S1.sel(output="balance", drop=True),
            "S1_balance_conf": ind.S1_conf.sel(output="balance", drop=True),
            "ST_balance": ind.ST.sel(output="balance", drop=True),
            "ST_balance_conf": ind.ST_conf.sel(output="balance", drop=True),
            "ST_deficit": ind.ST.sel(output="deficit", drop=True),
            "evppi": voi.table.evppi,
            "evppi_se": voi.table.evppi_se,
        }
    )
    kinds = [group_kind(members, space).value for members in groups.values()]
    table["kind"] = ("input", kinds)
    is_data = np.array([k == InputKind.DATA.value for k in kinds])
    ranks = np.zeros(table.evppi.shape, dtype=np.int64)  # (input, year)
    for t in range(ranks.shape[1]):
        value = np.where(is_data, table.evppi.values[:, t], -np.inf)
        order = np.argsort(-value, kind="stable")
        for r, i in enumerate(order[: int(is_data.sum())], start=1):
            ranks[i, t] = r
    table["rank"] = (("input", "year"), ranks)
    table["rank"].attrs["long_name"] = (
        "Priority among the data inputs, by EVPPI (1 = collect first; 0 = environment)"
    )
    labels = {g: _label(g, space) for g in groups}
    return Priorities(
        table, voi, labels, str(sobol.cube.attrs.get("currency", "")), int(sobol.n_base)
    )


def indexed_premium_risk(cube: xr.Dataset, planned: xr.Dataset) -> xr.Dataset:
    """P(deficit) by year with the plan's flat premiums, and with them indexed to prices or wages.

    Indexing keeps the flat premiums at their planned real value: each year they
    are scaled by the realised price index over the planned one (the model's
    ``domestic_price_index``), or by the realised average income over the
    planned one (``income``, weighted by the plan's members and incomes).
    Revenue is linear in premiums, so the balance with indexed premiums is
    ``balance + (f - 1) * flat_premium_revenue`` exactly (as the equilibrium
    solver uses; Carrin, Ron & Murray 1993, Section 3.4.11). Income-related
    contributions follow wages already.

    Parameters
    ----------
    cube : xarray.Dataset
        Projections with ``balance``, ``flat_premium_revenue``,
        ``domestic_price_index`` and (for wages) ``income``.
    planned : xarray.Dataset
        The deterministic projection (every input at its base value).

    Returns
    -------
    xarray.Dataset
        ``p_deficit_plan``, ``p_deficit_prices`` and, when incomes were kept,
        ``p_deficit_wages``, by year; non-finite balances count as deficits.
    """

    def p(balance: xr.DataArray) -> xr.DataArray:
        # a non-finite balance is never counted as safe
        return (~(balance >= 0)).mean("draw")

    out = {"p_deficit_plan": p(cube.balance)}
    flat = cube.flat_premium_revenue
    f_price = cube.domestic_price_index / planned.domestic_price_index
    out["p_deficit_prices"] = p(cube.balance + (f_price - 1.0) * flat)
    if "income" in cube and "income" in planned:
        w = (planned.members * planned.income).isel(year=0)
        ratio = cube.income / planned.income.where(planned.income > 0)
        f_wage = (ratio * w).sum("category") / w.sum("category")
        out["p_deficit_wages"] = p(cube.balance + (f_wage - 1.0) * flat)
    ds = xr.Dataset(out)
    ds["p_deficit_plan"].attrs["long_name"] = "P(deficit), flat premiums as planned"
    ds["p_deficit_prices"].attrs["long_name"] = "P(deficit), flat premiums indexed to prices"
    if "p_deficit_wages" in ds:
        ds["p_deficit_wages"].attrs["long_name"] = "P(deficit), flat premiums indexed to wages"
    return ds


def protection_sentence(protection: xr.Dataset, year: int) -> str:
    """What indexing the flat premiums would do to the chance of a deficit, in words.

    Parameters
    ----------
    protection : xarray.Dataset
        From :func:`indexed_premium_risk`.
    year : int
        The year.

    Returns
    -------
    str
        One sentence.
    """
    p = protection.sel(year=year)
    parts = [f"{float(p.p_deficit_prices):.0%} with flat premiums indexed to prices"]
    if "p_deficit_wages" in p:
        parts.append(f"{float(p.p_deficit_wages):.0%} indexed to wages")
    return (
        f"Protection against the environment: the chance of a deficit in {year} is "
        f"{float(p.p_deficit_plan):.0%} with flat premiums as planned, " + " and ".join(parts) + "."
    )
