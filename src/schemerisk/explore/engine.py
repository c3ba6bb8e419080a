"""The what-if engine behind ``schemerisk explore``: fixed uniforms, and only what a control changes.

The uniforms of the Monte Carlo design are drawn once (common random numbers), so a change
of a control shows its effect, not new noise. What each control costs:

* the flat-premium and contribution-rate multipliers: nothing is re-run. Revenue is
  proportional to premiums and no expenditure depends on them, so each projection's balance
  is ``B + (M_f - 1) F + (M_c - 1) R`` (:mod:`schemerisk.analysis.whatif`), ``F`` and ``R``
  the revenue of flat premiums and of contributions;
* the centre and spread of an uncertain input, and the coverage target: the same uniforms
  are mapped again to input values (:func:`~schemerisk.uncertainty.sampling.to_values`,
  copulas and AR(1) paths included) and the model's kernel projects them again
  (:func:`~schemerisk.uncertainty.montecarlo.run_design`).

The centre and spread of an input act on its drawn value ``x`` as a location-scale change
about the median ``m`` of its distribution: ``x' = c + s (x - m)``, ``c`` the new centre
(``m`` as given) and ``s`` the spread factor (1 as given). For the location-scale families
(normal, uniform, triangular, PERT, beta on an interval) this is the same family with its
location moved to ``c`` and its scale multiplied by ``s``. Whether drawn values outside the
input's range are clipped follows the distributions file (``clip``), as in any run.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from schemerisk.analysis.risk import RISK_OUTPUTS
from schemerisk.analysis.whatif import check_multiplier, scaled_balance
from schemerisk.model import compile_inputs
from schemerisk.scenario.types import CoverageTarget, Scenario, YearPath
from schemerisk.uncertainty.montecarlo import bind_space, run_design
from schemerisk.uncertainty.sampling import unit_design
from schemerisk.uncertainty.space import Entry, ParameterSpace, load_space

#: the fan chart's quantiles: bands holding 30 %, 60 % and 90 % of the projections, and the median
FAN_QUANTILES = (0.05, 0.20, 0.35, 0.50, 0.65, 0.80, 0.95)
#: outputs the engine keeps from each run
KEEP = RISK_OUTPUTS
#: the outputs the views are computed from
SCALED = (
    "balance",
    "premium_revenue",
    "flat_premium_revenue",
    "contribution_revenue",
    "total_expenditure",
)


class Moved:
    """A marginal moved about its median: ``ppf'(u) = c + s (ppf(u) - m)``.

    Parameters
    ----------
    base : Marginal
        The distribution as given.
    centre : float
        ``c``, the new median.
    spread : float
        ``s``, the factor on the distance from the median (at least 0).
    """

    def __init__(self, base: Any, centre: float, spread: float) -> None:
        self.base = base
        self.family = base.family
        self.params = dict(base.params)
        self.median = float(base.exact_ppf(np.array([0.5]))[0])
        self.centre = float(centre)
        self.spread = float(spread)

    def _move(self, x: np.ndarray) -> np.ndarray:
        return self.centre + self.spread * (x - self.median)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF of the moved distribution (the base's numerical inverse, moved)."""
        return self._move(self.base.ppf(u))

    def exact_ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF from the base's exact inverse, moved."""
        return self._move(self.base.exact_ppf(u))

    def describe(self) -> str:
        """The base's description, with the move."""
        return f"{self.base.describe()}, centred on {self.centre:g}, spread x {self.spread:g}"


@dataclass(frozen=True)
class Settings:
    """The controls of the app.

    Attributes
    ----------
    flat_premiums, contribution_rates : float
        Multipliers on every flat premium and every contribution rate (1 = as planned).
    coverage_target : float or None
        Share of the population insured by the last year, for a scenario with a
        coverage target (reached along a straight line from the first year's target);
        None keeps the scenario's.
    centre, spread : mapping
        Entry name -> new median, and -> spread factor; an entry not named is as given.
    level : float
        Target P(deficit) of the required premium multiplier.
    """

    flat_premiums: float = 1.0
    contribution_rates: float = 1.0
    coverage_target: float | None = None
    centre: Mapping[str, float] = field(default_factory=dict)
    spread: Mapping[str, float] = field(default_factory=dict)
    level: float = 0.05

    def model_key(self) -> tuple[Any, ...]:
        """What needs a re-run of the kernel when it changes (everything but the multipliers)."""
        return (
            self.coverage_target,
            tuple(sorted(self.centre.items())),
            tuple(sorted(self.spread.items())),
        )


@dataclass(frozen=True)
class View:
    """What the app shows for one setting of the controls.

    Attributes
    ----------
    years : numpy.ndarray
        The years.
    fan : numpy.ndarray
        Balance quantiles :data:`FAN_QUANTILES`, shape (quantile, year) [currency/yr].
    deficits, known : numpy.ndarray
        Draws in deficit, and with a finite balance, by year.
    p_deficit : numpy.ndarray
        ``deficits / known`` (NaN where no draw is known).
    required : numpy.ndarray
        Multiplier on every premium, on top of the current ones, that keeps P(deficit)
        at or below the level, by year.
    n : int
        Projections.
    rerun : bool
        Whether the kernel ran for this view.
    seconds : float
        Time to compute it.
    """

    years: np.ndarray
    fan: np.ndarray
    deficits: np.ndarray
    known: np.ndarray
    p_deficit: np.ndarray
    required: np.ndarray
    n: int
    rerun: bool
    seconds: float


class Explorer:
    """The fixed design of a scenario and its distributions, and the views of each setting.

    Parameters
    ----------
    scenario, distributions
        As for ``schemerisk risk`` (files or built-in names), or a scenario and its bound
        space (:func:`~schemerisk.uncertainty.montecarlo.bind_space`).
    n : int
        Projections (20,000 by default).
    seed : int
        Seed of the design: the same as ``schemerisk risk --seed`` gives the same draws.
    horizon : int, optional
        Years after the base year instead of the scenario's own.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path,
        distributions: ParameterSpace | str | Path,
        *,
        n: int = 20_000,
        seed: int = 0,
        horizon: int | None = None,
    ) -> None:
        self.distributions = distributions
        self.space = bind_space(scenario, distributions, horizon)
        self.n = int(n)
        self.design = unit_design(self.space, self.n, seed)
        self._key: tuple[Any, ...] | None = None
        self._cube: xr.Dataset | None = None
        self._arrays: dict[str, np.ndarray] | None = None

    @property
    def scenario(self) -> Scenario:
        """The scenario as loaded."""
        return self.space.scenario

    @property
    def entries(self) -> tuple[Entry, ...]:
        """The uncertain inputs, in file order."""
        return self.space.entries

    def median(self, name: str) -> float:
        """The median of an uncertain input's distribution as given."""
        return float(self.space.entry(name).marginal.exact_ppf(np.array([0.5]))[0])

    def coverage_path(self) -> CoverageTarget | None:
        """The scenario's coverage target, if it has one."""
        return self.scenario.coverage_target

    def _space_for(self, s: Settings) -> ParameterSpace:
        space = self.space
        if s.coverage_target is not None:
            ct = self.coverage_path()
            if ct is None:
                raise ValueError(f"{self.scenario.name} has no coverage target to move")
            if not 0.0 <= s.coverage_target <= 1.0:
                raise ValueError(
                    f"the coverage target must be between 0 and 1, got {s.coverage_target:g}"
                )
            years = len(ct.population_share.values)
            first = float(ct.population_share.values[0])
            path = tuple(np.linspace(first, s.coverage_target, years).tolist())
            sc = dataclasses.replace(
                self.scenario,
                coverage_target=dataclasses.replace(
                    ct, population_share=YearPath(path, given_values=True)
                ),
            )
            space = load_space(self.space.source, sc, compile_inputs(sc))
        entries = []
        for e in space.entries:
            c, k = s.centre.get(e.name), s.spread.get(e.name)
            if c is None and k is None:
                entries.append(e)
                continue
            if k is not None and not (np.isfinite(k) and k >= 0):
                raise ValueError(f"the spread of '{e.name}' must be 0 or more, got {k:g}")
            centre = self.median(e.name) if c is None else float(c)
            moved = Moved(e.marginal, centre, 1.0 if k is None else float(k))
            entries.append(dataclasses.replace(e, marginal=moved))  # type: ignore[arg-type]
        return dataclasses.replace(space, entries=tuple(entries))

    def cube(self, s: Settings) -> tuple[xr.Dataset, bool]:
        """The projections at the model settings of ``s`` (premiums as planned), and whether it re-ran."""
        key = s.model_key()
        if self._cube is None or key != self._key:
            full = run_design(self._space_for(s), self.design, keep=KEEP, progress=False)
            self._cube = full[list(SCALED)].load()  # the drawn inputs and memoranda not needed
            self._key = key
            return self._cube, True
        return self._cube, False

    def view(self, s: Settings) -> View:
        """Everything the app shows at the settings ``s``.

        The multipliers act on numpy arrays held from the last run, with the operations of
        :func:`~schemerisk.analysis.whatif.scale_premiums` in its order (so the balances are
        those of ``schemerisk risk --premium-multiplier`` bit for bit), and the required
        multiplier is :func:`~schemerisk.analysis.risk.required_multiplier`'s rule on them
        (checked equal in the tests): xarray's alignment would cost more than the sums.

        Parameters
        ----------
        s : Settings
            The controls.

        Returns
        -------
        View
            The fan chart, P(deficit) and the required multiplier.
        """
        start = time.perf_counter()
        mf, mc = check_multiplier(s.flat_premiums), check_multiplier(s.contribution_rates)
        cube, rerun = self.cube(s)
        if rerun or self._arrays is None:
            self._arrays = {v: cube[v].transpose("draw", "year").values for v in SCALED}
        a = self._arrays
        bal = scaled_balance(
            scaled_balance(a["balance"], a["flat_premium_revenue"], mf),
            a["contribution_revenue"],
            mc,
        )
        rev = a["premium_revenue"] + (mf - 1.0) * a["flat_premium_revenue"]
        rev = rev + (mc - 1.0) * a["contribution_revenue"]
        known = np.isfinite(bal)
        deficits, n_known = (known & (bal < 0)).sum(axis=0), known.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a year with no known draw: NaN
            p = deficits / np.where(n_known > 0, n_known, np.nan)
            fan = np.nanquantile(np.where(known, bal, np.nan), FAN_QUANTILES, axis=0)
            required = _required(bal, rev, a["total_expenditure"], s.level)
        return View(
            years=cube.year.values,
            fan=fan,
            deficits=deficits,
            known=n_known,
            p_deficit=p,
            required=required,
            n=self.n,
            rerun=rerun,
            seconds=time.perf_counter() - start,
        )


def _required(bal: np.ndarray, rev: np.ndarray, cost: np.ndarray, level: float) -> np.ndarray:
    """:func:`~schemerisk.analysis.risk.required_multiplier` on every premium, on numpy arrays.

    Each draw breaks even at ``k_d = C_d / R_d`` (all premiums scaled: nothing fixed); a draw
    whose premiums raise nothing needs +inf, an unknown draw is left out; the answer is the
    ``1 - level`` quantile by the inverted empirical CDF, a hair above (as there).
    """
    k = (cost - (rev - rev)) / np.where(rev != 0, rev, np.nan)
    k = np.where(np.isnan(k), np.inf, k)
    k = np.where(np.isfinite(bal), k, np.nan)
    q = np.nanquantile(k, 1.0 - level, axis=0, method="inverted_cdf")
    return np.asarray(q + 1e-12 * abs(q), dtype=float)
