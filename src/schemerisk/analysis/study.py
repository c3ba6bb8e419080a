"""A whole deficit-risk study in one call: projection, Monte Carlo, risk, Sobol' indices, priorities.

This is what ``schemerisk report`` runs; its result holds everything a report shows.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from schemerisk.analysis.priorities import Priorities, indexed_premium_risk, rank_priorities
from schemerisk.analysis.risk import RiskReport, deficit_risk
from schemerisk.analysis.sensitivity import (
    NEGLIGIBLE,
    RELATIVE_WIDTH_LIMIT,
    PrecisionWarning,
    SobolResult,
    analyse_design,
)
from schemerisk.analysis.voi import PremiumDecision
from schemerisk.model.kernel import run_kernel
from schemerisk.model.results import DEFAULT_KEEP, add_memoranda, rows_to_dataset
from schemerisk.scenario.types import Scenario
from schemerisk.uncertainty.montecarlo import Run, bind_space, run_design
from schemerisk.uncertainty.sampling import Design, Sampler, unit_design
from schemerisk.uncertainty.space import ParameterSpace

#: Sobol' base sample size to start from, and the most the doubling may reach
N_SOBOL_START = 1024
N_SOBOL_MAX = 8192
#: an index decides the ranking's words when it is at least this; its 95 % half-width must then be
#: within 10 % of it (sensitivity.RELATIVE_WIDTH_LIMIT) or this absolute width, whichever larger
ABSOLUTE_WIDTH = 0.02
#: outputs kept by the priorities run: the defaults, and incomes for premiums indexed to wages
PRIORITY_KEEP = (*DEFAULT_KEEP, "income")

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
    protection : xarray.Dataset
        P(deficit) with flat premiums as planned and indexed to prices or wages.
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
    protection: xr.Dataset | None = None


@dataclass(frozen=True)
class PriorityStudy:
    """What ``schemerisk priorities`` prints and the report's priorities section shows.

    Attributes
    ----------
    sobol : SobolResult
        Sobol' indices at the base sample size reached.
    priorities : Priorities
        The ranking.
    protection : xarray.Dataset
        P(deficit) with flat premiums as planned, indexed to prices, to wages.
    warnings : tuple of str
        Our warnings about the design and the precision reached.
    sizes : tuple of int
        The base sample sizes N tried, in order (the last is the one used).
    """

    sobol: SobolResult
    priorities: Priorities
    protection: xr.Dataset
    warnings: tuple[str, ...]
    sizes: tuple[int, ...]


def deciding_imprecise(indices: xr.Dataset) -> list[str]:
    """The balance's S1 and ST that the sentences quote and whose interval is still too wide.

    An index of at least 0.01 (sensitivity.NEGLIGIBLE) needs a 95 % half-width
    within 10 % of its value or 0.02, whichever is larger.
    """
    out = []
    bal = indices.sel(output="balance")
    for key in ("S1", "ST"):
        v, c = bal[key], bal[f"{key}_conf"]
        bad = (abs(v) >= NEGLIGIBLE) & (
            c > (RELATIVE_WIDTH_LIMIT * abs(v)).clip(min=ABSOLUTE_WIDTH)
        )
        for i, y in zip(*np.nonzero(bad.transpose("input", "year").values), strict=True):
            out.append(
                f"{key} of '{bal.input.values[i]}' in {int(bal.year.values[y])}: "
                f"{float(v.isel(input=i, year=y)):.3f} +- {float(c.isel(input=i, year=y)):.3f}"
            )
    return out


def _saltelli_rows(space: ParameterSpace, n_start: int, n_max: int) -> int:
    """Rows of the largest Saltelli design doubling from ``n_start`` can reach: N (G + 2)."""
    n = n_start
    while 2 * n <= n_max:
        n *= 2
    return n * (len(space.groups()) + 2)


def sobol_until_precise(
    space: ParameterSpace,
    seed: int,
    *,
    n_start: int = N_SOBOL_START,
    n_max: int = N_SOBOL_MAX,
    threads: int | None = None,
    progress: bool | None = None,
) -> tuple[SobolResult, tuple[int, ...], list[str]]:
    """Sobol' indices, doubling the Saltelli base sample until the quoted ones are precise.

    The base points come from one scrambled Sobol' sequence: the design for 2N
    begins with the design for N (checked), so each doubling projects only the
    new N (G + 2) rows. It stops when every index :func:`deciding_imprecise` checks
    is precise, or when doubling would pass ``n_max``.

    Returns
    -------
    tuple
        The result at the N reached, the sizes tried, and our warnings.
    """
    if n_start < 2 or n_max < n_start:
        raise ValueError(f"need 2 <= N start <= N max, got {n_start} and {n_max}")
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        design = unit_design(space, n_start, seed, Sampler.SALTELLI)
    notes += [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    # room for the largest design doubling may reach: each doubling adds its rows after these
    run = Run(space, PRIORITY_KEEP, capacity=_saltelli_rows(space, n_start, n_max))
    run.extend(design, threads=threads, progress=progress)
    cube = run.cube(design)
    sizes = [n_start]
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PrecisionWarning)  # judged below, on the quoted indices
            res = analyse_design(space, design, cube)
        wide = deciding_imprecise(res.indices)
        n = design.saltelli_n
        if not wide or 2 * n > n_max:
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            bigger = unit_design(space, 2 * n, seed, Sampler.SALTELLI)
        assert bigger.matrix is not None and design.matrix is not None
        if not np.array_equal(bigger.matrix[: design.n_rows], design.matrix):
            raise RuntimeError("the Saltelli design for 2N does not extend the design for N")
        new_rows = Design(
            Sampler.SALTELLI,
            seed,
            bigger.n_rows - design.n_rows,
            space.n_columns,
            bigger.matrix[design.n_rows :],
            2 * n,
        )
        run.extend(new_rows, threads=threads, progress=progress)
        cube = run.cube(bigger)
        design = bigger
        sizes.append(2 * n)
    if wide:
        notes.append(
            f"{len(wide)} of the Sobol' indices quoted are still imprecise at N = {design.saltelli_n} "
            f"(the most allowed, --max-base-samples {n_max}), e.g. {wide[0]}; read them as rough"
        )
    return res, tuple(sizes), notes


def priority_study(
    space: ParameterSpace,
    seed: int,
    decision: PremiumDecision | None = None,
    *,
    n_start: int = N_SOBOL_START,
    n_max: int = N_SOBOL_MAX,
    threads: int | None = None,
    progress: bool | None = None,
    years: Sequence[int] | None = None,
) -> PriorityStudy:
    """Which data to collect first: the one code path of ``schemerisk priorities`` and ``report``.

    Parameters
    ----------
    space : ParameterSpace
        The uncertain inputs, bound to their scenario.
    seed : int
        Seed of the Saltelli design and the value-of-information bootstrap.
    decision : PremiumDecision, optional
        The loss function.
    n_start, n_max : int
        Sobol' base sample size to start from and the most doubling may reach.
    threads, progress
        As for :func:`~schemerisk.uncertainty.montecarlo.run_design`.
    years : sequence of int, optional
        The years of the ranking (default every year; see :func:`rank_priorities`).
        The Sobol' indices and the protection cover every year whatever it is.

    Returns
    -------
    PriorityStudy
        Indices, ranking, protection and warnings; the same seed gives the same answer.
    """
    sobol, sizes, notes = sobol_until_precise(
        space, seed, n_start=n_start, n_max=n_max, threads=threads, progress=progress
    )
    pri = rank_priorities(sobol, space, decision, seed=seed, threads=threads, years=years)
    planned = add_memoranda(
        rows_to_dataset(space.scenario, space.inputs, run_kernel(space.inputs), draw_dim=False)
    )
    base = sobol.cube.isel(draw=sobol.base_rows())
    protection = indexed_premium_risk(base, planned)
    return PriorityStudy(sobol, pri, protection, tuple(notes), sizes)


def run_study(
    scenario: Scenario | str | Path = DEFAULT_SCENARIO,
    distributions: ParameterSpace | str | Path = DEFAULT_DISTRIBUTIONS,
    *,
    n: int = 20_000,
    n_sobol: int = N_SOBOL_START,
    n_sobol_max: int = N_SOBOL_MAX,
    seed: int = 0,
    sampler: Sampler | str = Sampler.MC,
    horizon: int | None = None,
    level: float = 0.05,
    decision: PremiumDecision | None = None,
    threads: int | None = None,
    progress: bool | None = None,
    priority_years: Sequence[int] | None = None,
) -> Study:
    """Run the whole study a report needs.

    Parameters
    ----------
    scenario, distributions
        Files, built-in names or objects (default: the built-in Hai Phong 1993-1997 pair).
    n : int
        Monte Carlo draws for the risk figures and fan charts.
    n_sobol, n_sobol_max : int
        Base sample size of the Saltelli design to start from, and the most
        doubling may reach (:func:`sobol_until_precise`).
    seed : int
        The one seed (the Saltelli design uses ``seed + 1``, so the two samples are
        independent; ``schemerisk priorities --seed S`` gives the same ranking as a
        report with ``--seed S``).
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
    priority_years : sequence of int, optional
        The years of the data-collection ranking (default every year; the page
        shows the last, the tables and the workbook every year).

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
    ps = priority_study(
        space,
        seed + 1,
        decision,
        n_start=n_sobol,
        n_max=n_sobol_max,
        threads=threads,
        progress=progress,
        years=priority_years,
    )
    return Study(
        sc,
        space,
        deterministic,
        cube,
        risk,
        ps.sobol,
        ps.priorities,
        ps.warnings,
        tornado=tornado(space, level=0.05),
        protection=ps.protection,
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
