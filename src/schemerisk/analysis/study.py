"""A whole deficit-risk study in one call: projection, Monte Carlo, risk, Sobol' indices, priorities.

This is what ``schemerisk report`` runs; its result holds everything a report shows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from schemerisk.analysis.priorities import Priorities, rank_priorities
from schemerisk.analysis.risk import RiskReport, deficit_risk
from schemerisk.analysis.sensitivity import PrecisionWarning, SobolResult, analyse_design
from schemerisk.analysis.voi import PremiumDecision
from schemerisk.model.kernel import run_kernel
from schemerisk.model.results import add_memoranda, rows_to_dataset
from schemerisk.scenario.types import Scenario
from schemerisk.uncertainty.montecarlo import bind_space, run_design
from schemerisk.uncertainty.sampling import Sampler, unit_design
from schemerisk.uncertainty.space import ParameterSpace

DEFAULT_SCENARIO = "hai_phong_1993_1997"
DEFAULT_DISTRIBUTIONS = "hai_phong_1993_1997"


@dataclass(frozen=True)
class Study:
    """Everything a deficit-risk report shows.

    Attributes
    ----------
    scenario : Scenario
        The scenario.
    space : ParameterSpace
        Its uncertain inputs.
    deterministic : xarray.Dataset
        The projection with every input at its base value.
    cube : xarray.Dataset
        The Monte Carlo cube.
    risk : RiskReport
        Deficit risk from the cube.
    sobol : SobolResult or None
        Sobol' indices from a Saltelli design; None when some Monte Carlo
        projections have no finite balance (the indices and the value of
        information need every projection; a warning says so).
    priorities : Priorities or None
        The data-collection ranking; None as ``sobol``.
    warnings : tuple of str
        Warnings raised on the way (e.g. imprecise indices).
    tornado : xarray.Dataset, optional
        The balance with each input at its 5th and 95th percentile, the others at their
        medians (:func:`tornado`).
    """

    scenario: Scenario
    space: ParameterSpace
    deterministic: xr.Dataset
    cube: xr.Dataset
    risk: RiskReport
    sobol: SobolResult | None
    priorities: Priorities | None
    warnings: tuple[str, ...]
    tornado: xr.Dataset | None = None


def run_study(
    scenario: Scenario | str | Path = DEFAULT_SCENARIO,
    distributions: ParameterSpace | str | Path = DEFAULT_DISTRIBUTIONS,
    *,
    n: int = 20_000,
    n_sobol: int = 4096,
    seed: int = 0,
    sampler: Sampler | str = Sampler.MC,
    horizon: int | None = None,
    level: float = 0.05,
    decision: PremiumDecision | None = None,
    threads: int | None = None,
    progress: bool | None = None,
) -> Study:
    """Run the whole study a report needs.

    Parameters
    ----------
    scenario, distributions
        Files, built-in names or objects (default: the built-in Hai Phong 1993-1997 pair).
    n : int
        Monte Carlo draws for the risk figures and fan charts.
    n_sobol : int
        Base sample size of the Saltelli design for the Sobol' indices.
    seed : int
        The one seed (the Saltelli design uses ``seed + 1``, so the two samples are independent).
    sampler : Sampler or str
        Design of the Monte Carlo run (``mc``, ``lhs`` or ``sobol``).
    horizon : int, optional
        Years after the base year instead of the scenario's own.
    level : float
        Target probability of deficit for the required premium multiplier.
    decision : PremiumDecision, optional
        Loss function of the value of information.
    threads, progress
        As for :func:`~schemerisk.uncertainty.montecarlo.run_design`.

    Returns
    -------
    Study
        Everything the report shows.
    """
    space = bind_space(scenario, distributions, horizon)
    sc = space.scenario
    deterministic = add_memoranda(
        rows_to_dataset(sc, space.inputs, run_kernel(space.inputs), draw_dim=False)
    )
    cube = run_design(
        space, unit_design(space, n, seed, sampler), threads=threads, progress=progress
    )
    risk = deficit_risk(cube, level=level)
    n_unknown = int(risk.table["n_unknown"].max())
    if n_unknown:
        # unknown projections have no place in a variance decomposition: rather than guess, skip it
        return Study(
            sc,
            space,
            deterministic,
            cube,
            risk,
            None,
            None,
            (
                f"Sobol' indices and the value of information were not computed: {n_unknown:,} of "
                f"{n:,} projections have no finite balance in some year (an amount overflowed), "
                "and both need every projection. Fix the inputs that overflow (see the risk "
                "section) and run the report again.",
            ),
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PrecisionWarning)
        design = unit_design(space, n_sobol, seed + 1, Sampler.SALTELLI)
        saltelli_cube = run_design(space, design, threads=threads, progress=progress)
        sobol = analyse_design(space, design, saltelli_cube)
    # our warnings about the design (imprecise indices, an N that is not a power of two)
    notes = tuple(str(w.message) for w in caught if issubclass(w.category, UserWarning))
    priorities = rank_priorities(sobol, space, decision)
    return Study(
        sc, space, deterministic, cube, risk, sobol, priorities, notes, tornado(space, level=0.05)
    )


def tornado(space: ParameterSpace, *, level: float = 0.05) -> xr.Dataset:
    """The balance with each uncertain input at a low and a high percentile, the others at their medians.

    One projection has every input at its median; then, for each entry in turn, one
    projection with that entry at its ``level`` percentile and one at its ``1 - level``
    percentile (a per-year entry at that percentile in every year, a persistent path), every
    other entry at its median. Correlations are not imposed: each bar moves one input alone,
    the one-way sensitivity analysis of a tornado diagram (e.g. Briggs, Claxton & Sculpher 2006,
    *Decision Modelling for Health Economic Evaluation*, ch. 4). Computed with the model
    itself, so a bar is a difference of two projections in currency.

    Parameters
    ----------
    space : ParameterSpace
        The bound uncertain inputs.
    level : float
        The low percentile (0.05: the 5th and the 95th).

    Returns
    -------
    xarray.Dataset
        ``balance_low`` and ``balance_high`` (input, year), ``balance_median`` (year), and
        ``value_low``, ``value_high`` (input): the input's values at the two percentiles.
    """
    entries = space.entries
    k = space.n_columns
    theta = np.empty((1 + 2 * len(entries), k))
    low = np.empty(len(entries))
    high = np.empty(len(entries))
    for e in entries:
        theta[:, space.columns[e.name]] = float(e.marginal.exact_ppf(np.array([0.5]))[0])
    for i, e in enumerate(entries):
        cols = space.columns[e.name]
        low[i], high[i] = (float(v) for v in e.marginal.exact_ppf(np.array([level, 1 - level])))
        theta[1 + 2 * i, cols] = low[i]
        theta[2 + 2 * i, cols] = high[i]
    rows = run_kernel(space.inputs, theta, space.modifications)
    bal = rows_to_dataset(space.scenario, space.inputs, rows, keep=["balance"], draw_dim=True)[
        "balance"
    ].transpose("draw", "year")
    names = [e.name for e in entries]
    years = bal.year.values
    return xr.Dataset(
        {
            "balance_median": ("year", bal.values[0]),
            "balance_low": (("input", "year"), bal.values[1::2]),
            "balance_high": (("input", "year"), bal.values[2::2]),
            "value_low": ("input", low),
            "value_high": ("input", high),
        },
        coords={"input": names, "year": years},
        attrs={"level": level, "currency": space.scenario.currency},
    )
