"""Which data to collect first: Sobol' indices and the value of information, combined and said in words.

The ranking score of an input (a group of entries) in a year is the mean of its
shares of three totals: its total-order Sobol' index for the balance, its
total-order index for the deficit indicator, and its EVPPI for setting the
premium. The first two say how much of the uncertainty it drives; the third
what resolving it is worth in currency. Each share is the input's value
divided by the sum over inputs, so the three count equally.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import stats

from schemerisk.analysis.sensitivity import SobolResult
from schemerisk.analysis.voi import PremiumDecision, ValueOfInformation, value_of_information
from schemerisk.uncertainty.space import ParameterSpace


@dataclass(frozen=True)
class Priorities:
    """The data-collection ranking: the result of :func:`rank_priorities`.

    Attributes
    ----------
    table : xarray.Dataset
        By input and year: ``S1_balance``, ``ST_balance``, ``ST_deficit``,
        ``evppi``, ``evppi_se``, ``score`` and ``rank`` (1 = collect first).
    voi : ValueOfInformation
        EVPI and EVPPI details.
    labels : dict
        Input -> readable label.
    currency : str
        Currency of the amounts.
    """

    table: xr.Dataset
    voi: ValueOfInformation
    labels: dict[str, str]
    currency: str

    def ranking(self, year: int | None = None) -> list[str]:
        """Inputs in order of priority for ``year`` (default the last year)."""
        t = self.table.sel(year=self._year(year))
        return [str(i) for i in t.input.values[np.argsort(t["rank"].values)]]

    def _year(self, year: int | None) -> int:
        return int(self.table.year.values[-1]) if year is None else int(year)

    def sentences(self, year: int | None = None, top: int = 5, scale: float = 1e6) -> list[str]:
        """The ranking in plain words, one sentence per input, most important first.

        Parameters
        ----------
        year : int, optional
            Year of the balance (default the last year).
        top : int
            How many inputs.
        scale : float
            Divide amounts by this (1e6: millions).

        Returns
        -------
        list of str
            E.g. "Pinning down the admission rate would remove about 41 % of the
            variance of the 1997 balance and is worth about 35 million VND in
            better premium setting."
        """
        y = self._year(year)
        t = self.table.sel(year=y)
        unit = {1.0: "", 1e3: " thousand", 1e6: " million", 1e9: " billion"}.get(
            scale, f" x {scale:g}"
        )
        out = []
        for rank, name in enumerate(self.ranking(y)[:top], start=1):
            row = t.sel(input=name)
            # estimates can stray outside [0, 1] by sampling error; a share of variance cannot
            # S1 <= ST <= 1 in theory; sampling error can break that order, so report the
            # conservative reading of the variance removed
            st = min(max(float(row.ST_balance), 0.0), 1.0)
            s1 = min(max(float(row.S1_balance), 0.0), st)
            worth = float(row.evppi) / scale
            inter = (
                f" (and it is involved in about {st:.0%} through its interactions with other assumptions)"
                if st - s1 >= 0.05
                else ""
            )
            out.append(
                f"{rank}. Pinning down {self.labels.get(name, name)} would remove about {s1:.0%} of the "
                f"variance of the {y} balance{inter} and is worth about {worth:,.1f}{unit} {self.currency} "
                f"in better premium setting."
            )
        return out


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
) -> Priorities:
    """Rank the uncertain inputs by what pinning them down would do for the scheme.

    Parameters
    ----------
    sobol : SobolResult
        Sobol' indices and the Saltelli-design cube (from
        :func:`~schemerisk.analysis.sensitivity.sobol_analysis`).
    space : ParameterSpace
        The uncertain inputs (for groups and labels).
    decision : PremiumDecision, optional
        The premium-setting loss function for the value of information.

    Returns
    -------
    Priorities
        The ranking by input and year.
    """
    base = sobol.cube.isel(draw=sobol.base_rows())  # the A and B rows: an unstructured sample of 2N
    voi = value_of_information(base, space.groups(), decision)
    ind = sobol.indices
    table = xr.Dataset(
        {
            "S1_balance": ind.S1.sel(output="balance", drop=True),
            "ST_balance": ind.ST.sel(output="balance", drop=True),
            "ST_deficit": ind.ST.sel(output="deficit", drop=True),
            "evppi": voi.table.evppi,
            "evppi_se": voi.table.evppi_se,
        }
    )

    def share(da: xr.DataArray) -> xr.DataArray:
        pos = da.clip(min=0.0)
        total = pos.sum("input")
        return (pos / total.where(total > 0)).fillna(0.0)

    table["score"] = (share(table.ST_balance) + share(table.ST_deficit) + share(table.evppi)) / 3.0
    table["rank"] = xr.apply_ufunc(
        lambda v: stats.rankdata(-v, method="ordinal", axis=-1),
        table["score"],
        input_core_dims=[["input"]],
        output_core_dims=[["input"]],
    ).transpose(*table["score"].dims)
    table["score"].attrs["long_name"] = (
        "Priority score: mean share of ST (balance), ST (deficit) and EVPPI"
    )
    labels = {g: _label(g, space) for g in space.groups()}
    return Priorities(table, voi, labels, str(sobol.cube.attrs.get("currency", "")))
