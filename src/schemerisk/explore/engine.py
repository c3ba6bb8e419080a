"""The what-if engine behind ``schemerisk explore``: fixed uniforms, and only what a control changes.

The uniforms of the Monte Carlo design are drawn once (common random numbers), so a change
of a control shows its effect, not new noise. What each control costs:

* the premium multipliers (flat premiums, contribution rates, and each category's premiums):
  nothing is re-run. Revenue is proportional to premiums and no expenditure depends on them, so
  each projection's balance is ``B + (M_f - 1) F + (M_r - 1) R + sum_c (M_c - 1) S_c``
  (:mod:`schemerisk.analysis.whatif`), ``F`` and ``R`` the revenue of flat premiums and of
  contributions, ``S_c`` the premium revenue of category ``c``;
* the centre and spread of an uncertain input: the drawn values of the other inputs are kept,
  and only the moved input's columns are mapped again (below), then the model's kernel projects
  the draws again (:func:`~schemerisk.model.kernel.run_kernel`, writing only the outputs the
  views read);
* the coverage target: the scenario is compiled again with the new target (kept for the next
  time the same target is asked for), and the kernel projects the same drawn values.

The centre and spread of an input act on its drawn value ``x`` as a location-scale change
about the median ``m`` of its distribution: ``x' = c + s (x - m)``, ``c`` the new centre
(``m`` as given) and ``s`` the spread factor (1 as given). For the location-scale families
(normal, uniform, triangular, PERT, beta on an interval) this is the same family with its
location moved to ``c`` and its scale multiplied by ``s``. As the move is applied to the drawn
value itself, the engine applies it to the values drawn once (:func:`~schemerisk.uncertainty.
sampling.to_values` on the fixed uniforms): the same numbers as mapping the uniforms again
through :class:`Moved`, bit for bit, without an inverse CDF. Whether drawn values outside the
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

from schemerisk.analysis.whatif import check_multiplier, scaled_balance
from schemerisk.model import compile_inputs
from schemerisk.model.kernel import Modifications, run_kernel
from schemerisk.model.layout import ModelInputs
from schemerisk.model.results import kept_positions
from schemerisk.scenario.types import CoverageTarget, Scenario, YearPath
from schemerisk.uncertainty.montecarlo import bind_space
from schemerisk.uncertainty.sampling import to_values, unit_design
from schemerisk.uncertainty.space import Entry, ParameterSpace, load_space

#: the fan chart's quantiles: bands holding 30 %, 60 % and 90 % of the projections, and the median
FAN_QUANTILES = (0.05, 0.20, 0.35, 0.50, 0.65, 0.80, 0.95)
#: the outputs the kernel writes for the views (and nothing else: the less it writes, the faster)
SCALED = (
    "balance",
    "premium_revenue",
    "flat_premium_revenue",
    "contribution_revenue",
    "total_expenditure",
    "premium_revenue_by_category",
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
    categories : mapping
        Category name -> multiplier on all of that category's premiums (flat premium and
        contribution rate) as planned; a category not named is as planned. The changes in
        revenue add up: with flat premiums x 1.2 and farmers x 1.1, farmers pay their planned
        premiums plus 20 % of their flat premium plus 10 % of their whole premium.
    """

    flat_premiums: float = 1.0
    contribution_rates: float = 1.0
    coverage_target: float | None = None
    centre: Mapping[str, float] = field(default_factory=dict)
    spread: Mapping[str, float] = field(default_factory=dict)
    level: float = 0.05
    categories: Mapping[str, float] = field(default_factory=dict)

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
    steps : dict
        Seconds of each step: ``inputs`` (drawn values moved, scenario compiled), ``kernel``
        (the projections, and their outputs laid out by year for the views) and ``views`` (balances, counts, fan and required multiplier).
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
    steps: Mapping[str, float] = field(default_factory=dict)


@dataclass
class _Compiled:
    """A scenario as the kernel takes it, and the values drawn for it once."""

    space: ParameterSpace
    inputs: ModelInputs
    modifications: Modifications
    theta: np.ndarray  # drawn values as given (no centre or spread moved)


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
        self._unit = self.design.rows(0, self.n)  # the fixed uniforms
        self._medians = {e.name: self.median(e.name) for e in self.space.entries}
        self._compiled: dict[float | None, _Compiled] = {None: self._compile(self.space)}
        self._positions, self._where = kept_positions(self.space.inputs, SCALED)
        self._out = np.empty((self.n, self._positions.size))
        self._theta = self._compiled[None].theta.copy()  # the values the kernel projects
        self._moved: dict[str, tuple[float, float]] = {}  # entry -> (centre, spread) in _theta
        self._theta_base = self._compiled[None].theta  # the values _theta was moved from
        self._key: tuple[Any, ...] | None = None
        self._arrays: dict[str, np.ndarray] | None = None
        self.categories = tuple(c.name for c in self.scenario.categories)

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

    def _compile(self, space: ParameterSpace, like: _Compiled | None = None) -> _Compiled:
        """The kernel's inputs of ``space``, with the values drawn once from the fixed uniforms.

        A space whose distributions are those of ``like`` (a moved coverage target changes the
        scenario, not what is drawn) shares its drawn values.
        """
        same = like is not None and [e.marginal.describe() for e in space.entries] == [
            e.marginal.describe() for e in like.space.entries
        ]
        theta = like.theta if same and like is not None else to_values(space, self._unit)
        return _Compiled(space, space.inputs, space.modifications, theta)

    def _for_coverage(self, target: float | None) -> _Compiled:
        """The compiled scenario with its coverage target moved to ``target`` (None: as given)."""
        if target in self._compiled:
            return self._compiled[target]
        ct = self.coverage_path()
        if ct is None:
            raise ValueError(f"{self.scenario.name} has no coverage target to move")
        if not 0.0 <= target <= 1.0:  # type: ignore[operator]
            raise ValueError(f"the coverage target must be between 0 and 1, got {target:g}")
        years = len(ct.population_share.values)
        first = float(ct.population_share.values[0])
        path = tuple(np.linspace(first, target, years).tolist())  # type: ignore[arg-type]
        sc = dataclasses.replace(
            self.scenario,
            coverage_target=dataclasses.replace(
                ct, population_share=YearPath(path, given_values=True)
            ),
        )
        space = load_space(self.space.source, sc, compile_inputs(sc))
        if len(self._compiled) > 8:  # a few targets are kept; the scenario as given always
            del self._compiled[next(k for k in self._compiled if k is not None)]
        self._compiled[target] = self._compile(space, like=self._compiled[None])
        return self._compiled[target]

    def _check(self, s: Settings) -> None:
        """Refuse settings the engine cannot show, before any work."""
        for name, k in s.spread.items():
            self.space.entry(name)  # an unknown entry is refused by name
            if not (np.isfinite(k) and k >= 0):
                raise ValueError(f"the spread of '{name}' must be 0 or more, got {k:g}")
        for name, c in s.centre.items():
            self.space.entry(name)
            if not np.isfinite(c):
                raise ValueError(f"the centre of '{name}' must be a finite number, got {c:g}")
        unknown = sorted(set(s.categories) - set(self.categories))
        if unknown:
            raise ValueError(
                f"no category {', '.join(unknown)} in {self.scenario.name}; its categories: "
                f"{', '.join(self.categories)}"
            )

    def space_for(self, s: Settings) -> ParameterSpace:
        """The distributions of the settings ``s``: the moved marginals (:class:`Moved`).

        The engine does not map uniforms through them (it moves the drawn values); this is the
        space a full run (:func:`~schemerisk.uncertainty.montecarlo.run_design`) would take,
        for checking the engine against.
        """
        self._check(s)
        space = self._for_coverage(s.coverage_target).space
        entries = []
        for e in space.entries:
            c, k = s.centre.get(e.name), s.spread.get(e.name)
            if c is None and k is None:
                entries.append(e)
                continue
            centre = self._medians[e.name] if c is None else float(c)
            moved = Moved(e.marginal, centre, 1.0 if k is None else float(k))
            entries.append(dataclasses.replace(e, marginal=moved))  # type: ignore[arg-type]
        return dataclasses.replace(space, entries=tuple(entries))

    def _move_theta(self, s: Settings, base: _Compiled) -> None:
        """Bring ``_theta`` to the settings: only the columns of inputs whose move changed.

        ``c + s (x - m)`` on the values drawn once, the operations of :meth:`Moved.ppf` in its
        order, so the values are those of mapping the uniforms through the moved marginal.
        """
        if base.theta is not self._theta_base:  # a coverage target drawn differently
            self._theta[:] = base.theta
            self._theta_base, self._moved = base.theta, {}
        want = {
            name: (
                self._medians[name] if s.centre.get(name) is None else float(s.centre[name]),
                1.0 if s.spread.get(name) is None else float(s.spread[name]),
            )
            for name in set(s.centre) | set(s.spread)
        }
        for name in set(want) | set(self._moved):
            if want.get(name) == self._moved.get(name):
                continue
            cols = self.space.columns[name]
            if name in want:
                centre, spread = want[name]
                x = base.theta[:, cols]
                self._theta[:, cols] = centre + spread * (x - self._medians[name])
            else:
                self._theta[:, cols] = base.theta[:, cols]
        self._moved = want

    def arrays(self, s: Settings) -> tuple[dict[str, np.ndarray], bool, dict[str, float]]:
        """The projections at the model settings of ``s`` (premiums as planned).

        Parameters
        ----------
        s : Settings
            The controls (the multipliers are ignored here).

        Returns
        -------
        arrays : dict
            Each of :data:`SCALED` as a (year, draw) array, ``premium_revenue_by_category``
            as (category, year, draw) [currency/yr].
        rerun : bool
            Whether the kernel ran.
        steps : dict
            Seconds of ``inputs`` and ``kernel``.
        """
        self._check(s)
        key = s.model_key()
        if self._arrays is not None and key == self._key:
            return self._arrays, False, {"inputs": 0.0, "kernel": 0.0}
        t0 = time.perf_counter()
        base = self._for_coverage(s.coverage_target)
        self._move_theta(s, base)
        t1 = time.perf_counter()
        run_kernel(
            base.inputs, self._theta, base.modifications, out=self._out, keep=self._positions
        )
        n, years = self.n, self.space.inputs.dims.n_years
        # (year, draw) copies, each year's draws side by side: the sums and quantiles of the
        # views then run over contiguous memory (several times faster than the kernel's rows)
        arrays = {
            name: np.ascontiguousarray(self._out[:, sl].T)
            for name, sl in self._where.items()
            if name != "premium_revenue_by_category"  # (category, year, draw): below
        }
        by_category = self._out[:, self._where["premium_revenue_by_category"]]
        arrays["premium_revenue_by_category"] = np.ascontiguousarray(
            by_category.reshape(n, years, -1).transpose(2, 1, 0)
        )  # the kernel's (year, category) order within a row, as (category, year, draw)
        self._arrays, self._key = arrays, key
        return arrays, True, {"inputs": t1 - t0, "kernel": time.perf_counter() - t1}

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
        per_category = {  # in the scenario's order of categories, as the CLI applies them
            c: check_multiplier(s.categories[c])
            for c in self.categories
            if c in s.categories and s.categories[c] != 1.0
        }
        a, rerun, steps = self.arrays(s)
        t0 = time.perf_counter()
        bal = scaled_balance(
            scaled_balance(a["balance"], a["flat_premium_revenue"], mf),
            a["contribution_revenue"],
            mc,
        )
        rev = a["premium_revenue"] + (mf - 1.0) * a["flat_premium_revenue"]
        rev = rev + (mc - 1.0) * a["contribution_revenue"]
        by_category = a["premium_revenue_by_category"]
        for c, m in per_category.items():
            s_c = by_category[self.categories.index(c)]
            bal = scaled_balance(bal, s_c, m)
            rev = rev + (m - 1.0) * s_c
        known = np.isfinite(bal)
        deficits, n_known = (known & (bal < 0)).sum(axis=1), known.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a year with no known draw: NaN
            p = deficits / np.where(n_known > 0, n_known, np.nan)
            all_known = bool((n_known == bal.shape[1]).all())
            fan = _quantiles(bal, known, all_known)
            required = _required(known, rev, a["total_expenditure"], s.level, all_known)
        end = time.perf_counter()
        return View(
            years=np.arange(
                self.space.inputs.base_year, self.space.inputs.base_year + bal.shape[0]
            ),
            fan=fan,
            deficits=deficits,
            known=n_known,
            p_deficit=p,
            required=required,
            n=self.n,
            rerun=rerun,
            seconds=end - start,
            steps={**steps, "views": end - t0},
        )


def _quantiles(bal: np.ndarray, known: np.ndarray, all_known: bool) -> np.ndarray:
    """The fan's quantiles of the known balances by year (numpy's default linear rule).

    ``bal`` is (year, draw), ``known`` where it is finite. With every draw known (the usual
    case) this is :func:`numpy.quantile`, several times faster than
    :func:`numpy.nanquantile`, which gives the same numbers.
    """
    if all_known:
        return np.quantile(bal, FAN_QUANTILES, axis=1)
    return np.nanquantile(np.where(known, bal, np.nan), FAN_QUANTILES, axis=1)


def _required(
    known: np.ndarray, rev: np.ndarray, cost: np.ndarray, level: float, all_known: bool
) -> np.ndarray:
    """:func:`~schemerisk.analysis.risk.required_multiplier` on every premium, on numpy arrays.

    Each draw breaks even at ``k_d = C_d / R_d`` (all premiums scaled: nothing fixed); a draw
    whose premiums raise nothing needs +inf, an unknown draw is left out; the answer is the
    ``1 - level`` quantile by the inverted empirical CDF, a hair above (as there). The arrays
    are (year, draw); ``known`` is where the balance is finite.
    """
    k = (cost - (rev - rev)) / np.where(rev != 0, rev, np.nan)
    k = np.where(np.isnan(k), np.inf, k)
    if all_known:  # no NaN to leave out: numpy.quantile, the same numbers, faster
        q = np.quantile(k, 1.0 - level, axis=1, method="inverted_cdf")
    else:
        q = np.nanquantile(np.where(known, k, np.nan), 1.0 - level, axis=1, method="inverted_cdf")
    return np.asarray(q + 1e-12 * abs(q), dtype=float)
