"""Distribution families for uncertain inputs, each declaring its parameters and their domains.

The mathematics (inverse CDFs, CDFs, moments) is scipy.stats'; this module only
names the families as a health economist would, checks parameters, and fits a
family to quantiles given by an expert ("5th percentile 0.06, 95th 0.10").

A family is used through :func:`make_marginal`, which returns a frozen
:class:`Marginal` with ``ppf`` (unit interval -> value), ``cdf`` and ``support``.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from schemerisk.catalogue import Domain

_QUANTILE_KEY = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")


class FamilyError(ValueError):
    """Raised for parameters a family cannot take; the message says why."""


# A parameter's allowed values are a Domain, the one range type of the package (the scenario's
# inputs use it too, see schemerisk.catalogue).
REAL = Domain(what="a finite number")
POSITIVE = Domain(0.0, lo_open=True, what="a number above 0")
NON_NEGATIVE = Domain(0.0, what="a number of 0 or more")
UNIT_OPEN = Domain(0.0, 1.0, "a number strictly between 0 and 1", lo_open=True, hi_open=True)
PERSISTENCE = Domain(-1.0, 1.0, "a number strictly between -1 and 1", lo_open=True, hi_open=True)


@dataclass(frozen=True)
class Frozen:
    """A scipy.stats distribution, named and parametrised, frozen only when first needed.

    Importing ``scipy.stats`` takes about 0.3 s; a run whose draws all have a
    closed-form or a table-based inverse CDF (:mod:`schemerisk.uncertainty._inverse`)
    never needs it, so :class:`Marginal` keeps this recipe and freezes it on its
    first use of the distribution itself.

    Attributes
    ----------
    name : str
        The ``scipy.stats`` name (``"beta"``, ``"lognorm"``, ``"rv_discrete"``...).
    args : tuple
        Positional shape parameters.
    kwds : dict
        Keyword parameters (``loc``, ``scale``, keyword shapes).
    """

    name: str
    args: tuple[Any, ...] = ()
    kwds: Mapping[str, Any] = field(default_factory=dict)

    def freeze(self) -> Any:
        """The frozen scipy.stats distribution."""
        from scipy import stats

        return getattr(stats, self.name)(*self.args, **self.kwds)

    def support(self) -> tuple[float, float] | None:
        """The support as scipy.stats computes it (``a scale + loc``, ``b scale + loc``), or None.

        None for the distributions whose standard support is not written out here.
        """
        if self.name == "truncnorm":
            a, b = float(self.args[0]), float(self.args[1])
        elif self.name in _STANDARD_SUPPORT:
            a, b = _STANDARD_SUPPORT[self.name]
        else:
            return None
        scale, loc = float(self.kwds.get("scale", 1.0)), float(self.kwds.get("loc", 0.0))
        return a * scale + loc, b * scale + loc


#: the support of the standard (loc 0, scale 1) distributions, as scipy.stats defines them
_STANDARD_SUPPORT = {
    "uniform": (0.0, 1.0),
    "triang": (0.0, 1.0),
    "beta": (0.0, 1.0),
    "norm": (-math.inf, math.inf),
    "lognorm": (0.0, math.inf),
    "gamma": (0.0, math.inf),
}


class Marginal:
    """A frozen one-dimensional distribution: what an uncertain input is drawn from.

    Parameters
    ----------
    family : str
        Family name.
    params : dict
        The parameters as given (for provenance).
    dist : object
        A :class:`Frozen` recipe (frozen on first use), a frozen scipy.stats
        distribution, or None for ``fixed``.
    values : numpy.ndarray, optional
        For discrete families: the values that a drawn index points to.
    """

    def __init__(
        self, family: str, params: Mapping[str, Any], dist: Any, values: np.ndarray | None = None
    ) -> None:
        self.family = family
        self.params = dict(params)
        self._recipe = dist if isinstance(dist, Frozen) else None
        self._frozen = None if isinstance(dist, Frozen) else dist
        self._values = values
        self._inverse: Any = None  # built on first use: see _fast_inverse

    @property
    def _dist(self) -> Any:
        """The frozen scipy.stats distribution (None for ``fixed``), frozen on first use."""
        if self._frozen is None and self._recipe is not None:
            self._frozen = self._recipe.freeze()
        return self._frozen

    @property
    def _is_fixed(self) -> bool:
        return self._recipe is None and self._frozen is None

    def _parameters(self) -> tuple[tuple[Any, ...], Mapping[str, Any]]:
        """The distribution's shape arguments and keywords, without freezing it."""
        if self._recipe is not None:
            return self._recipe.args, self._recipe.kwds
        return self._dist.args, self._dist.kwds

    def __getstate__(self) -> dict[str, Any]:
        # The numerical inverse is rebuilt where it is used (it is deterministic), and a
        # distribution with a recipe is frozen again, so a pickled marginal (e.g. sent to
        # a dask worker) stays small.
        state = self.__dict__.copy()
        state["_inverse"] = None
        if state["_recipe"] is not None:
            state["_frozen"] = None
        return state

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF: map probabilities in [0, 1] to values.

        For the families whose exact inverse is slow (beta, PERT, truncated
        normal, gamma) this uses a numerical inverse (see :data:`INVERSION_U_ERROR`);
        :meth:`exact_ppf` always gives scipy's own.
        """
        u = np.asarray(u, dtype=np.float64)
        if self._is_fixed:
            return np.full(u.shape, float(self.params["value"]))
        closed = _closed_form_ppf(self, u)
        if closed is not None:
            return closed
        inverse = self._fast_inverse()
        if inverse is not None:
            lo, hi = self.support()
            return np.clip(np.asarray(inverse.ppf(u), dtype=np.float64).reshape(u.shape), lo, hi)
        return self.exact_ppf(u)

    def exact_ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF computed by scipy.stats to full precision (slower for some families)."""
        u = np.asarray(u, dtype=np.float64)
        if self._is_fixed:
            return np.full(u.shape, float(self.params["value"]))
        x = self._dist.ppf(u)
        if self._values is not None:
            idx = np.clip(np.nan_to_num(x, nan=0.0).astype(np.int64), 0, len(self._values) - 1)
            return self._values[idx]
        return np.asarray(x, dtype=np.float64)

    def _fast_inverse(self) -> Any:
        """A numerical inverse of this CDF, or None where the exact one is used.

        Built once, on first use (:func:`_build_inverse`): a table of cubic pieces for
        the beta family and the bounded truncated normal, checked piece by piece, or SciPy's
        :class:`scipy.stats.sampling.NumericalInverseHermite` checked on a fixed grid
        of probabilities (the tails included). Where ``|F(x) - u|`` could exceed
        :data:`INVERSION_U_ERROR` the exact inverse is used instead. Both checks are
        deterministic, so every process makes the same choice.
        """
        if self._inverse is None:
            if self.family not in _NUMERICAL_INVERSE:
                self._inverse = False
            else:
                key = self._inverse_key()
                with _INVERSE_LOCK:
                    if key not in _INVERSE_CACHE:
                        _INVERSE_CACHE[key] = _build_inverse(self)
                    self._inverse = _INVERSE_CACHE[key]
        return self._inverse or None

    def _inverse_key(self) -> tuple[str, tuple[tuple[str, Any], ...]]:
        return (self.family, tuple(sorted(self.params.items())))

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Cumulative distribution function."""
        x = np.asarray(x, dtype=np.float64)
        if self._is_fixed:
            return (x >= float(self.params["value"])).astype(np.float64)
        if self._values is not None:
            k = np.searchsorted(self._values, x, side="right") - 1
            return np.where(k < 0, 0.0, self._dist.cdf(np.maximum(k, 0)))
        return np.asarray(self._dist.cdf(x), dtype=np.float64)

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        if self._is_fixed:
            v = float(self.params["value"])
            return v, v
        if self._values is not None:
            return float(self._values.min()), float(self._values.max())
        known = self._recipe.support() if self._recipe is not None else None
        lo, hi = known if known is not None else self._dist.support()
        return float(lo), float(hi)

    def mean(self) -> float:
        """Mean of the distribution."""
        if self._is_fixed:
            return float(self.params["value"])
        if self._values is not None:
            return (
                float(np.sum(self._values * self._dist.pk))
                if hasattr(self._dist, "pk")
                else float(np.mean(self.ppf(np.linspace(0.0005, 0.9995, 1000))))
            )
        return float(self._dist.mean())

    def std(self) -> float:
        """Standard deviation of the distribution."""
        if self._is_fixed:
            return 0.0
        if self._values is not None:
            m = self.mean()
            return float(math.sqrt(np.sum((self._values - m) ** 2 * self._dist.pk)))
        return float(self._dist.std())

    @property
    def is_discrete(self) -> bool:
        """True for families whose draws take a finite set of values."""
        return self._values is not None or self._is_fixed

    def describe(self) -> str:
        """A short description, e.g. ``normal(mean=0.15, sd=0.05)``."""
        inner = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        return f"{self.family}({inner})"


def closed_form(m: Any) -> tuple[str, float, float, float] | None:
    """The closed-form inverse CDF of ``m``: ``(family, shape, scale, loc)``, or None.

    ``F^{-1}(q) = core(q) scale + loc`` with ``core`` ``ndtri(q)`` for the normal,
    ``exp(shape ndtri(q))`` for the lognormal (scipy's ``lognorm._ppf``, ``shape`` its
    sigma) and ``q`` for the uniform; a ``fixed`` marginal is ``shape`` whatever ``q``.
    :func:`_closed_form_ppf` and the compiled map of
    :func:`~schemerisk.uncertainty.sampling.to_values` both read it. None for the
    families that need scipy.stats, and for any other object with a ``ppf`` (the
    explorer's moved marginals).
    """
    if not isinstance(m, Marginal):
        return None
    if m._is_fixed:
        return "fixed", float(m.params["value"]), 1.0, 0.0
    if m.family not in ("normal", "lognormal", "uniform") or m._values is not None:
        return None
    kw = m._parameters()[1]
    shape = float(kw["s"]) if m.family == "lognormal" else 1.0
    return m.family, shape, float(kw.get("scale", 1.0)), float(kw.get("loc", 0.0))


def _closed_form_ppf(m: Marginal, u: np.ndarray) -> np.ndarray | None:
    """The inverse CDF of a normal, lognormal or uniform marginal without scipy.stats' overhead.

    scipy.stats' ``ppf`` checks its arguments, copies the probabilities in
    (0, 1) out, evaluates ``_ppf(q) * scale + loc`` on them and puts them back:
    about five passes over the array around the one formula. Where every
    probability lies strictly inside (0, 1) (as :func:`~schemerisk.uncertainty.sampling.to_values`
    guarantees), this evaluates the same formula, with the same functions in the
    same order on a contiguous array, so the values are the same bit for bit
    (tested against ``exact_ppf``): ``ndtri(q) * sd + mean`` for the normal,
    ``exp(sigma * ndtri(q)) * median`` for the lognormal (scipy's
    ``lognorm._ppf``, scale = median, loc = 0) and ``q * (high - low) + low``
    for the uniform. None for other families or other probabilities: the
    caller then uses scipy.stats.
    """
    form = closed_form(m)
    if form is None or form[0] == "fixed" or not u.size:
        return None
    q = np.ascontiguousarray(u).reshape(-1)
    if not (q.min() > 0.0 and q.max() < 1.0):  # also False with a NaN
        return None
    family, shape, scale, loc = form
    if family == "normal":
        core = special.ndtri(q)
    elif family == "lognormal":
        core = np.exp(shape * special.ndtri(q))
    else:
        core = q
    return (core * scale + loc).reshape(u.shape)


INVERSION_U_ERROR = 1e-10
"""Largest error ``|F(x) - u|`` allowed when a numerical inverse replaces the exact one.

A draw ``x = F^{-1}(u)`` is then the exact quantile of a probability within
1e-10 of ``u``: far below what any Monte Carlo run can resolve (10^8 draws
resolve probabilities to about 10^-4), while about a hundred times faster for
the beta family (scipy's exact beta inverse costs ~2.6 microseconds a value).
"""

_NUMERICAL_INVERSE = frozenset({"pert", "beta", "truncated_normal", "gamma"})
# One inverse per distinct distribution and process: building one costs up to ~0.3 s.
_INVERSE_CACHE: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}
_INVERSE_LOCK = threading.Lock()
_CHECK_GRID_SIZE = 2**16


def _inversion_check_grid() -> np.ndarray:
    mid = (np.arange(_CHECK_GRID_SIZE) + 0.5) / _CHECK_GRID_SIZE
    tails = np.array([2.0**-53, 1e-14, 1e-12, 1e-10, 1e-8, 1e-6, 1e-4])
    return np.concatenate([tails, mid, 1.0 - tails[::-1]])


def _build_inverse(m: Marginal) -> Any:
    """A checked numerical inverse of ``m``'s CDF, or False when it misses the bound.

    A ``pert`` or ``beta`` with both shape parameters at least 1, and a
    ``truncated_normal`` with both bounds, get a table of cubic pieces
    (:mod:`schemerisk.uncertainty._inverse`, checked piece by piece to a hundredth
    of :data:`INVERSION_U_ERROR` as it is built, and evaluated in the compiled map of
    :func:`~schemerisk.uncertainty.sampling.to_values`); the other shapes and
    families get SciPy's ``NumericalInverseHermite``, checked on a grid of
    probabilities.
    """
    if m.family in ("pert", "beta", "truncated_normal"):
        from schemerisk.uncertainty import _inverse

        lo, hi = m.support()
        if m.family == "truncated_normal":
            p = m.params
            table = _inverse.build_truncated_normal_table(p["mean"], p["sd"], lo, hi)
        else:
            a, b = (float(v) for v in m._parameters()[0])
            table = _inverse.build_beta_table(a, b, lo, hi)
        if table is not None:
            return table
    return scipy_inverse(m)


def scipy_inverse(m: Marginal) -> Any:
    """SciPy's ``NumericalInverseHermite`` of ``m``'s CDF, checked on a grid, or False when it misses.

    Built with ``u_resolution`` a hundredth of :data:`INVERSION_U_ERROR`, then
    ``|F(x) - u|`` is checked on :func:`_inversion_check_grid` (the tails
    included): the inverse of the shapes no table covers (and the peer of the
    tables in ``benchmarks/bench_inverse.py``).

    Parameters
    ----------
    m : Marginal
        A continuous marginal.

    Returns
    -------
    object
        The inverse (with a ``ppf``), or False.
    """
    from scipy.stats.sampling import NumericalInverseHermite

    target, domain = m._dist, None
    if m.family == "truncated_normal":
        # the normal on the truncated domain: UNU.RAN renormalises it, and scipy's normal
        # CDF is much cheaper to call than truncnorm's during the set-up
        p = m.params
        target = Frozen("norm", (), {"loc": p["mean"], "scale": p["sd"]}).freeze()
        domain = (p["low"], p["high"])
    try:
        with np.errstate(all="ignore"):
            inverse = NumericalInverseHermite(
                target, domain=domain, u_resolution=INVERSION_U_ERROR / 100
            )
    except Exception:  # UNU.RAN refuses some shapes (e.g. unbounded densities): use the exact one
        return False
    u = _inversion_check_grid()
    with np.errstate(all="ignore"):
        x = np.asarray(inverse.ppf(u), dtype=np.float64)
        error = np.abs(m._dist.cdf(x) - u)
    if not (np.all(np.isfinite(x)) and float(np.max(error)) <= INVERSION_U_ERROR):
        return False
    return inverse


def prepare_inverses(marginals: Sequence[Any], threads: int) -> None:
    """Build and check the numerical inverses of ``marginals`` not built yet, ``threads`` at a time.

    The same inverses as each marginal's first :meth:`Marginal.ppf` builds (the
    build is deterministic); SciPy's part of the set-up and the check on the grid
    run partly without the GIL, so two threads take about 0.7 of the time of one.

    Parameters
    ----------
    marginals : sequence
        Marginals (anything else is left alone).
    threads : int
        Builds at once.
    """
    todo: dict[tuple[str, tuple[tuple[str, Any], ...]], Marginal] = {}
    for m in marginals:
        if isinstance(m, Marginal) and m._inverse is None and m.family in _NUMERICAL_INVERSE:
            key = m._inverse_key()
            if key not in _INVERSE_CACHE:
                todo.setdefault(key, m)
    if len(todo) > 1 and threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(threads, len(todo))) as pool:
            built = dict(zip(todo, pool.map(_build_inverse, todo.values()), strict=True))
        with _INVERSE_LOCK:
            for key, inverse in built.items():
                _INVERSE_CACHE.setdefault(key, inverse)
    for m in marginals:
        if isinstance(m, Marginal):
            m._fast_inverse()


def _short(v: Any) -> str:
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_short(x) for x in v[:4]) + (", ..." if len(v) > 4 else "") + "]"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


@dataclass(frozen=True)
class Family:
    """A distribution family: its parameter sets, their domains and how to build it.

    Attributes
    ----------
    name : str
        The name used in distributions files.
    domains : dict
        Every parameter the family accepts and its domain (list parameters excluded).
    forms : tuple of tuple of str
        The accepted sets of natural parameters (one must be given exactly).
    build : callable
        Natural parameters -> :class:`Marginal` (raises FamilyError for impossible ones).
    n_quantiles : int
        How many quantiles identify the family (0 = no quantile form).
    quantile_free : tuple of str
        The natural parameters solved for when quantiles are given.
    quantile_extra : tuple of str
        Parameters that may (or, in ``quantile_required``, must) accompany quantiles.
    list_params : tuple of str
        Parameters that are lists (discrete values and weights, empirical data).
    summary : str
        One line for documentation and error messages.
    """

    name: str
    domains: Mapping[str, Domain]
    forms: tuple[tuple[str, ...], ...]
    build: Callable[[Mapping[str, Any]], Marginal]
    n_quantiles: int = 0
    quantile_free: tuple[str, ...] = ()
    quantile_extra: tuple[str, ...] = ()
    quantile_required: tuple[str, ...] = ()
    list_params: tuple[str, ...] = ()
    summary: str = ""
    guess: Callable[[np.ndarray, np.ndarray, Mapping[str, float]], list[float]] | None = field(
        default=None
    )

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Every parameter name the family accepts (natural and list)."""
        return tuple(dict.fromkeys([*self.domains, *self.list_params]))


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise FamilyError(message)


def _fixed(p: Mapping[str, Any]) -> Marginal:
    return Marginal("fixed", {"value": float(p["value"])}, None)


def _uniform(p: Mapping[str, Any]) -> Marginal:
    lo, hi = float(p["low"]), float(p["high"])
    _need(lo < hi, f"low ({lo:g}) must be below high ({hi:g})")
    return Marginal(
        "uniform", {"low": lo, "high": hi}, Frozen("uniform", (), {"loc": lo, "scale": hi - lo})
    )


def _triangular(p: Mapping[str, Any]) -> Marginal:
    lo, mode, hi = float(p["low"]), float(p["mode"]), float(p["high"])
    _need(lo < hi, f"low ({lo:g}) must be below high ({hi:g})")
    _need(lo <= mode <= hi, f"mode ({mode:g}) must lie between low ({lo:g}) and high ({hi:g})")
    dist = Frozen("triang", (), {"c": (mode - lo) / (hi - lo), "loc": lo, "scale": hi - lo})
    return Marginal("triangular", {"low": lo, "mode": mode, "high": hi}, dist)


def _pert(p: Mapping[str, Any]) -> Marginal:
    lo, mode, hi = float(p["low"]), float(p["mode"]), float(p["high"])
    lam = float(p.get("shape", 4.0))
    _need(lo < hi, f"low ({lo:g}) must be below high ({hi:g})")
    _need(lo <= mode <= hi, f"mode ({mode:g}) must lie between low ({lo:g}) and high ({hi:g})")
    # PERT = a beta on [low, high] with a = 1 + shape (mode-low)/(high-low), b = 1 + shape (high-mode)/(high-low)
    a = 1.0 + lam * (mode - lo) / (hi - lo)
    b = 1.0 + lam * (hi - mode) / (hi - lo)
    params = {"low": lo, "mode": mode, "high": hi, "shape": lam}
    return Marginal("pert", params, Frozen("beta", (a, b), {"loc": lo, "scale": hi - lo}))


def _normal(p: Mapping[str, Any]) -> Marginal:
    mean, sd = float(p["mean"]), float(p["sd"])
    return Marginal(
        "normal", {"mean": mean, "sd": sd}, Frozen("norm", (), {"loc": mean, "scale": sd})
    )


def _truncated_normal(p: Mapping[str, Any]) -> Marginal:
    mean, sd = float(p["mean"]), float(p["sd"])
    lo, hi = float(p.get("low", -math.inf)), float(p.get("high", math.inf))
    _need(lo < hi, f"low ({lo:g}) must be below high ({hi:g})")
    _need(math.isfinite(lo) or math.isfinite(hi), "give at least one bound, low or high")
    za, zb = (lo - mean) / sd, (hi - mean) / sd
    dist = Frozen("truncnorm", (za, zb), {"loc": mean, "scale": sd})
    # probability between the bounds: then the median is finite; else scipy.stats decides
    # (it works in logs, far in a tail where these differences underflow)
    from schemerisk.uncertainty._inverse import normal_mass

    _need(
        normal_mass(za, zb) > 0.0 or bool(np.isfinite(dist.freeze().ppf(0.5))),
        f"the bounds [{lo:g}, {hi:g}] leave no probability for mean {mean:g}, sd {sd:g}",
    )
    return Marginal("truncated_normal", {"mean": mean, "sd": sd, "low": lo, "high": hi}, dist)


def _lognormal(p: Mapping[str, Any]) -> Marginal:
    if "median" in p:
        median, sigma = float(p["median"]), float(p["sigma"])
    else:
        mean, sd = float(p["mean"]), float(p["sd"])
        sigma = math.sqrt(math.log1p((sd / mean) ** 2))
        median = mean / math.exp(sigma**2 / 2)
    return Marginal(
        "lognormal",
        {"median": median, "sigma": sigma},
        Frozen("lognorm", (), {"s": sigma, "scale": median}),
    )


def _beta(p: Mapping[str, Any]) -> Marginal:
    lo, hi = float(p.get("low", 0.0)), float(p.get("high", 1.0))
    _need(lo < hi, f"low ({lo:g}) must be below high ({hi:g})")
    if "mean" in p:
        mean, sd = float(p["mean"]), float(p["sd"])
        m = (mean - lo) / (hi - lo)
        s = sd / (hi - lo)
        _need(
            0.0 < m < 1.0,
            f"the mean of a beta must lie strictly between its bounds {lo:g} and {hi:g}, got {mean:g}",
        )
        _need(
            s**2 < m * (1 - m),
            f"sd {sd:g} is too large for a beta with mean {mean:g} on [{lo:g}, {hi:g}] "
            f"(it must be below {math.sqrt(m * (1 - m)) * (hi - lo):.4g})",
        )
        k = m * (1 - m) / s**2 - 1.0
        a, b = m * k, (1 - m) * k
    else:
        a, b = float(p["alpha"]), float(p["beta"])
    params = {"alpha": a, "beta": b, "low": lo, "high": hi}
    return Marginal("beta", params, Frozen("beta", (a, b), {"loc": lo, "scale": hi - lo}))


def _gamma(p: Mapping[str, Any]) -> Marginal:
    if "mean" in p:
        mean, sd = float(p["mean"]), float(p["sd"])
        shape, scale = (mean / sd) ** 2, sd**2 / mean
    else:
        shape, scale = float(p["shape"]), float(p["scale"])
    return Marginal(
        "gamma", {"shape": shape, "scale": scale}, Frozen("gamma", (), {"a": shape, "scale": scale})
    )


def _discrete(p: Mapping[str, Any]) -> Marginal:
    values = np.asarray(p["values"], dtype=np.float64)
    weights = np.asarray(p.get("weights", np.ones(len(values))), dtype=np.float64)
    _need(values.ndim == 1 and len(values) >= 1, "values must be a list of at least one number")
    _need(weights.shape == values.shape, f"weights must have {len(values)} entries, one per value")
    _need(bool(np.all(weights >= 0)) and weights.sum() > 0, "weights must be 0 or more, not all 0")
    _need(
        len(np.unique(values)) == len(values),
        "values must not repeat (give a larger weight instead)",
    )
    order = np.argsort(values)
    values, weights = values[order], weights[order] / weights.sum()
    dist = Frozen("rv_discrete", (), {"values": (np.arange(len(values)), weights)})
    params = {"values": values.tolist(), "weights": weights.tolist()}
    return Marginal("discrete", params, dist, values)


def _empirical(p: Mapping[str, Any]) -> Marginal:
    data = np.asarray(p["values"], dtype=np.float64)
    _need(data.ndim == 1 and len(data) >= 2, "values must be a list of at least two observations")
    _need(bool(np.all(np.isfinite(data))), "observations must be finite numbers")
    values, counts = np.unique(data, return_counts=True)
    dist = Frozen("rv_discrete", (), {"values": (np.arange(len(values)), counts / counts.sum())})
    return Marginal("empirical", {"values": data.tolist()}, dist, values)


def _spread_guess(probs: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    z = special.ndtri(probs)  # the standard normal's quantiles (scipy.stats' norm.ppf)
    sd = (q[-1] - q[0]) / (z[-1] - z[0])
    return float(q[0] - sd * z[0]), float(sd)


def _expit(x: float) -> float:
    return float(1.0 / (1.0 + math.exp(-x)))


def _unpack_bounded(x: np.ndarray, q: np.ndarray) -> dict[str, float]:
    # low below the lowest quantile, high above the highest, mode in between
    spread = float(np.ptp(q))
    low = float(q[0] - math.exp(x[0]) * spread)
    high = float(q[-1] + math.exp(x[1]) * spread)
    return {"low": low, "mode": low + _expit(float(x[2])) * (high - low), "high": high}


_UNPACK: dict[str, Callable[[np.ndarray, np.ndarray], dict[str, float]]] = {
    "triangular": _unpack_bounded,
    "pert": _unpack_bounded,
    "truncated_normal": lambda x, q: {"mean": float(x[0]), "sd": float(math.exp(x[1]))},
    "beta": lambda x, q: {"alpha": float(math.exp(x[0])), "beta": float(math.exp(x[1]))},
    "gamma": lambda x, q: {"shape": float(math.exp(x[0])), "scale": float(math.exp(x[1]))},
}


def _moments_start(p: np.ndarray, q: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """Mean and variance guessed from quantiles, on [lo, hi] scaled to [0, 1]."""
    mean, sd = _spread_guess(p, q)
    return (mean - lo) / (hi - lo), (sd / (hi - lo)) ** 2


def _beta_start(p: np.ndarray, q: np.ndarray, fx: Mapping[str, float]) -> list[float]:
    m, v = _moments_start(p, q, fx.get("low", 0.0), fx.get("high", 1.0))
    m = min(max(m, 1e-6), 1 - 1e-6)
    v = min(v, 0.9 * m * (1 - m))
    k = m * (1 - m) / v - 1.0
    return [math.log(m * k), math.log((1 - m) * k)]


def _gamma_start(p: np.ndarray, q: np.ndarray, fx: Mapping[str, float]) -> list[float]:
    mean, sd = _spread_guess(p, q)
    mean = max(mean, 1e-12)
    return [math.log((mean / sd) ** 2), math.log(sd**2 / mean)]


def _normal_start(p: np.ndarray, q: np.ndarray, fx: Mapping[str, float]) -> list[float]:
    mean, sd = _spread_guess(p, q)
    return [mean, math.log(sd)]


_BOUNDED_START = [math.log(0.5), math.log(0.5), 0.0]


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("fixed", {"value": REAL}, (("value",),), _fixed, summary="always the same value"),
        Family(
            "uniform",
            {"low": REAL, "high": REAL},
            (("low", "high"),),
            _uniform,
            2,
            ("low", "high"),
            summary="equally likely anywhere between low and high",
        ),
        Family(
            "triangular",
            {"low": REAL, "mode": REAL, "high": REAL},
            (("low", "mode", "high"),),
            _triangular,
            3,
            ("low", "mode", "high"),
            summary="low, most likely (mode) and high",
            guess=lambda p, q, fx: list(_BOUNDED_START),
        ),
        Family(
            "pert",
            {"low": REAL, "mode": REAL, "high": REAL, "shape": POSITIVE},
            (("low", "mode", "high"), ("low", "mode", "high", "shape")),
            _pert,
            3,
            ("low", "mode", "high"),
            ("shape",),
            summary="an expert's low, most likely and high (a smooth beta on [low, high])",
            guess=lambda p, q, fx: list(_BOUNDED_START),
        ),
        Family(
            "normal",
            {"mean": REAL, "sd": POSITIVE},
            (("mean", "sd"),),
            _normal,
            2,
            ("mean", "sd"),
            summary="mean and standard deviation",
        ),
        Family(
            "truncated_normal",
            {"mean": REAL, "sd": POSITIVE, "low": REAL, "high": REAL},
            (("mean", "sd", "low"), ("mean", "sd", "high"), ("mean", "sd", "low", "high")),
            _truncated_normal,
            2,
            ("mean", "sd"),
            ("low", "high"),
            summary="a normal cut to [low, high]",
            guess=_normal_start,
        ),
        Family(
            "lognormal",
            {"median": POSITIVE, "sigma": POSITIVE, "mean": POSITIVE, "sd": POSITIVE},
            (("median", "sigma"), ("mean", "sd")),
            _lognormal,
            2,
            ("median", "sigma"),
            summary="a positive quantity whose logarithm is normal",
        ),
        Family(
            "beta",
            {
                "alpha": POSITIVE,
                "beta": POSITIVE,
                "mean": REAL,
                "sd": POSITIVE,
                "low": REAL,
                "high": REAL,
            },
            (
                ("alpha", "beta"),
                ("alpha", "beta", "low", "high"),
                ("mean", "sd"),
                ("mean", "sd", "low", "high"),
            ),
            _beta,
            2,
            ("alpha", "beta"),
            ("low", "high"),
            summary="a share between 0 and 1 (or between low and high)",
            guess=_beta_start,
        ),
        Family(
            "gamma",
            {"shape": POSITIVE, "scale": POSITIVE, "mean": POSITIVE, "sd": POSITIVE},
            (("shape", "scale"), ("mean", "sd")),
            _gamma,
            2,
            ("shape", "scale"),
            summary="a positive, right-skewed quantity",
            guess=_gamma_start,
        ),
        Family(
            "discrete",
            {},
            (("values",), ("values", "weights")),
            _discrete,
            list_params=("values", "weights"),
            summary="one of a list of values, with weights",
        ),
        Family(
            "empirical",
            {},
            (("values",),),
            _empirical,
            list_params=("values",),
            summary="resample observed values",
        ),
    )
}


def quantile_keys(params: Mapping[str, Any]) -> dict[str, float]:
    """The quantile keys among ``params`` (``p05``, ``median``...) with their probabilities."""
    out = {}
    for k in params:
        if k == "median":
            out[k] = 0.5
        else:
            m = _QUANTILE_KEY.match(str(k))
            if m:
                out[k] = float(m.group(1)) / 100.0
    return out


def fit_quantiles(
    family: Family, probs: Sequence[float], values: Sequence[float], extra: Mapping[str, float]
) -> dict[str, float]:
    """Natural parameters of ``family`` whose quantiles at ``probs`` are ``values``.

    Parameters
    ----------
    family : Family
        The family; it must have a quantile form.
    probs : sequence of float
        Probabilities, increasing, in (0, 1).
    values : sequence of float
        The quantiles wanted, increasing.
    extra : mapping
        Other parameters held fixed (e.g. truncation bounds).

    Returns
    -------
    dict
        The natural parameters, ready for ``family.build``.

    Raises
    ------
    FamilyError
        When no member of the family has these quantiles.
    """
    p = np.asarray(probs, dtype=float)
    q = np.asarray(values, dtype=float)
    order = np.argsort(p)
    p, q = p[order], q[order]
    _need(
        bool(np.all(np.diff(q) > 0)),
        "quantiles must increase with their probability "
        f"(got {', '.join(f'{x:g}' for x in q)} for probabilities {', '.join(f'{x:g}' for x in p)})",
    )
    if family.name == "normal":
        z = special.ndtri(p)
        sd = (q[1] - q[0]) / (z[1] - z[0])
        return {"mean": float(q[0] - sd * z[0]), "sd": float(sd)}
    if family.name == "lognormal":
        _need(bool(q[0] > 0), "lognormal quantiles must be above 0")
        z = special.ndtri(p)
        sigma = (np.log(q[1]) - np.log(q[0])) / (z[1] - z[0])
        return {"median": float(np.exp(np.log(q[0]) - sigma * z[0])), "sigma": float(sigma)}
    if family.name == "uniform":
        width = (q[1] - q[0]) / (p[1] - p[0])
        return {"low": float(q[0] - p[0] * width), "high": float(q[0] - p[0] * width + width)}
    assert family.guess is not None  # every family with a numeric quantile fit has a start

    def natural(x: np.ndarray) -> dict[str, float]:
        return _UNPACK[family.name](x, q)

    def residual(x: np.ndarray) -> np.ndarray:
        try:
            marg = family.build({**extra, **natural(x)})
            r = (marg.exact_ppf(p) - q) / max(float(np.ptp(q)), 1e-300)
        except (FamilyError, ValueError, ZeroDivisionError, OverflowError):
            return np.full(len(p), 1e6)
        return np.where(np.isfinite(r), r, 1e6)

    x0 = np.asarray(family.guess(p, q, extra), dtype=float)
    from scipy import optimize

    best = optimize.least_squares(residual, x0, xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=4000)
    worst = float(np.max(np.abs(residual(best.x))))
    _need(
        worst < 1e-7,
        f"no {family.name} distribution has these quantiles "
        f"({', '.join(f'p{100 * a:g}={b:g}' for a, b in zip(p, q, strict=True))})",
    )
    return natural(best.x)


def make_marginal(family_name: str, params: Mapping[str, Any]) -> Marginal:
    """Build a frozen distribution from a family name and its parameters.

    Parameters may be the family's natural parameters (one of its ``forms``) or,
    for families with a quantile form, quantiles such as ``p05``/``p95`` (or
    ``p10``/``median``/``p90`` for three-parameter families) plus any of the
    family's ``quantile_extra`` parameters.

    Parameters
    ----------
    family_name : str
        A key of :data:`FAMILIES`.
    params : mapping
        The parameters.

    Returns
    -------
    Marginal
        The frozen distribution.

    Raises
    ------
    FamilyError
        For an unknown family or parameter, a missing one, one outside its domain,
        or an impossible combination; the message says which.
    """
    from schemerisk.errors import suggest

    if family_name not in FAMILIES:
        raise FamilyError(
            f"unknown family '{family_name}'{suggest(str(family_name), FAMILIES)} "
            f"(families: {', '.join(FAMILIES)})"
        )
    fam = FAMILIES[family_name]
    qk = quantile_keys(params)
    if "median" in qk and any(set(params) == set(form) for form in fam.forms):
        del qk["median"]  # a natural parameter here (lognormal median and sigma), not a quantile
    others = {k: v for k, v in params.items() if k not in qk}
    valid = set(fam.parameter_names) | ({"median"} if fam.n_quantiles else set())
    for k in others:
        if k not in valid:
            hint = suggest(str(k), valid)
            raise FamilyError(
                f"unknown parameter '{k}' for a {fam.name} distribution{hint} "
                f"(it takes {_forms_text(fam)})"
            )
    for k, v in others.items():
        if k in fam.list_params:
            if not isinstance(v, list | tuple) or not all(_is_number(x) for x in v):
                raise FamilyError(f"'{k}' must be a list of numbers")
            continue
        if not _is_number(v):
            raise FamilyError(f"'{k}' must be a number, got {v!r}")
        dom = fam.domains[k]
        if not dom.contains(float(v)):
            raise FamilyError(f"'{k}' is {float(v):g}: it must be {dom.what}")
    if qk:
        if not fam.n_quantiles:
            raise FamilyError(
                f"a {fam.name} distribution cannot be given by quantiles; give {_forms_text(fam)}"
            )
        if len(qk) != fam.n_quantiles:
            raise FamilyError(
                f"a {fam.name} distribution is fixed by {fam.n_quantiles} quantiles "
                f"(e.g. {'p05 and p95' if fam.n_quantiles == 2 else 'p10, median and p90'}), got {len(qk)}"
            )
        bad = [k for k in others if k not in fam.quantile_extra]
        if bad:
            raise FamilyError(
                f"with quantiles, a {fam.name} distribution takes only "
                f"{', '.join(fam.quantile_extra) or 'no other parameters'}, not {', '.join(bad)}"
            )
        for k, pr in qk.items():
            if not 0.0 < pr < 1.0:
                raise FamilyError(f"'{k}' is not a quantile strictly between 0 and 100 %")
            if not _is_number(params[k]):
                raise FamilyError(f"'{k}' must be a number, got {params[k]!r}")
        if fam.name == "truncated_normal" and not {"low", "high"} & set(others):
            raise FamilyError("a truncated_normal given by quantiles still needs low, high or both")
        extra = {k: float(v) for k, v in others.items()}
        fitted = fit_quantiles(fam, list(qk.values()), [float(params[k]) for k in qk], extra)
        return fam.build({**extra, **fitted})
    given = set(others)
    if not any(given == set(form) for form in fam.forms):
        raise FamilyError(
            f"a {fam.name} distribution takes {_forms_text(fam)}; got {', '.join(sorted(given)) or 'nothing'}"
        )
    return fam.build(others)


def _forms_text(fam: Family) -> str:
    forms = [" and ".join(f) for f in fam.forms]
    if fam.n_quantiles:
        forms.append("p05 and p95" if fam.n_quantiles == 2 else "p10, median and p90")
    return " or ".join(forms)


def _is_number(v: Any) -> bool:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:  # an integer of more than 308 digits
        return False
