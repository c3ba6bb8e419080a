"""Update the risk with what the scheme has observed: condition the uncertain inputs on observations.

Every year a scheme learns its actual membership, revenue, services and
payments. This module conditions the uncertain inputs of a distributions file
on such observations and recomputes what the risk report shows.

**The likelihood.** An observation ``v`` of an output ``y`` (a Sheet C variable
in one year, for one category or service where it has them) with error ``s``
is taken as ``v = y(theta) + e``, ``e ~ Normal(0, s^2)``, independently across
observations; ``s = rel_sd x |v|`` when the file gives a relative error
``rel_sd``, or ``s = sd`` when it gives an absolute one. A normal error on the
value (not a log-normal one) is used because (i) the balance and other flows
can be zero or negative, where a log-normal is undefined, and one rule for
every output is easier to explain; (ii) for the relative errors statistics
offices quote for counts and amounts (a few per cent, up to ~20 %), a
log-normal with the same relative sd, ``sigma = sqrt(log(1 + rel_sd^2))``,
differs from the normal by less than ``rel_sd^2 / 2`` of ``v`` in its centre
and spread, far below the error itself; (iii) the sd does not depend on the
draw, so the weights depend on a draw only through its squared distance to
the observations.

**Importance sampling.** A Monte Carlo run from the prior (the distributions
file) gives N whole draws (AR(1) paths and correlated blocks included); draw
``i`` gets the weight ``w_i`` proportional to its likelihood (Bayes' rule
with the prior as proposal: Robert & Casella 2004, *Monte Carlo Statistical
Methods*, Section 3.3). The weights' effective sample size is Kish's
``ESS = (sum w)^2 / sum w^2`` (Kish 1965, *Survey Sampling*).

**Re-drawing (sequential Monte Carlo).** When the ESS falls below
:func:`ess_threshold` (5 % of N, at least 200), the weights rest on too few
draws, and the draws are re-drawn by likelihood tempering with resample-move
steps (Del Moral, Doucet & Jasra 2006, *JRSS B* 68:411; Chopin 2002,
*Biometrika* 89:539): the likelihood is raised to powers
``0 = b_0 < b_1 < ... < b_K = 1``, each chosen by bisection so that the ESS
of the incremental weights is half the draws; the draws are then resampled
(systematic resampling) and moved by preconditioned Crank-Nicolson
Metropolis steps (Cotter, Roberts, Stuart & White 2013, *Statistical Science*
28:424) on the design's independent normal scores ``z`` (the unit-cube row is
``Phi(z)``; the copula and the AR(1) recursion are applied after, so whole
paths move together). The pCN proposal ``z' = sqrt(1 - s^2) z + s e`` leaves
the standard normal prior invariant, so its acceptance probability is just
``min(1, (L(z') / L(z))^b)``. The final draws are equally weighted.

**Refusal.** An observation more than :data:`REFUSE_SD` standard deviations
outside the range of every draw's value (or that every draw leaves undefined) cannot be
explained by the scenario and its distributions; it is refused with a
message naming its line, before anything is weighted.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from schemerisk.errors import InputError, Problem, suggest
from schemerisk.model.kernel import run_kernel
from schemerisk.model.layout import CATEGORY, SERVICE, YEAR
from schemerisk.model.results import (
    DEFAULT_KEEP,
    DRAW,
    VARIABLE_FIELDS,
    add_memoranda,
    rows_to_dataset,
)
from schemerisk.uncertainty.montecarlo import run_design
from schemerisk.uncertainty.sampling import Design, Sampler, unit_design
from schemerisk.uncertainty.space import ParameterSpace

#: columns an observations file must have; one of :data:`ERROR_COLUMNS` too
REQUIRED_COLUMNS: tuple[str, ...] = ("year", "output", "value")
#: the observation's error: relative (share of the value) or absolute (units of the output)
ERROR_COLUMNS: tuple[str, ...] = ("rel_sd", "sd")
#: columns an observations file may have
OPTIONAL_COLUMNS: tuple[str, ...] = ("category", "service")
#: an observation farther than this many of its standard deviations from every draw is refused
REFUSE_SD = 5.0
#: the ESS of the importance weights below which the draws are re-drawn: this share of N ...
ESS_SHARE = 0.05
#: ... but never fewer than this many draws
ESS_FLOOR = 200
#: SMC: target ESS of each tempering step, as a share of the draws
SMC_STEP_ESS = 0.5
#: SMC: at most this many tempering stages before giving up
SMC_MAX_STAGES = 60
#: SMC: at most this many move steps per stage
SMC_MAX_MOVES = 20
#: SMC: a stage's moves stop once all but this share of the draws have moved at least once
MOVED_SHARE = 0.05
#: memoranda (derived rows) that need model outputs the default run does not keep
_EXTRA_FOR_DERIVED = ("population", "exempted_members", "patient_cost", "government_cost")


class ObservationsError(InputError):
    """Raised when an observations file is invalid, or names observations no draw can explain."""

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        super().__init__(source, problems, kind="observations")


@dataclass(frozen=True)
class Observation:
    """One observed value of a model output.

    Attributes
    ----------
    year : int
        The year observed.
    output : str
        The Sheet C variable (e.g. ``members``, ``health_care_payments``).
    category, service : str or None
        The population category / service, for outputs that have them.
    value : float
        The observed value, in the output's units.
    sd : float
        Standard deviation of its error (absolute, in the output's units).
    rel_sd : float or None
        The relative error as given, when the file gave one.
    line : int
        Line of the file (1 = header).
    """

    year: int
    output: str
    category: str | None
    service: str | None
    value: float
    sd: float
    rel_sd: float | None
    line: int

    @property
    def label(self) -> str:
        """A short readable name, e.g. ``members[farmers] 1993``."""
        sel = [s for s in (self.category, self.service) if s]
        return f"{self.output}{'[' + ', '.join(sel) + ']' if sel else ''} {self.year}"

    def selection(self) -> dict[str, object]:
        """The xarray selection of the observed element."""
        out: dict[str, object] = {YEAR: self.year}
        if self.category is not None:
            out[CATEGORY] = self.category
        if self.service is not None:
            out[SERVICE] = self.service
        return out


@dataclass(frozen=True)
class Observations:
    """A checked observations file.

    Attributes
    ----------
    items : tuple of Observation
        In file order.
    source : str
        The file name.
    sha256 : str
        SHA-256 of the file's bytes.
    """

    items: tuple[Observation, ...]
    source: str
    sha256: str

    @property
    def last_year(self) -> int:
        """The last year observed."""
        return max(o.year for o in self.items)

    def outputs(self) -> list[str]:
        """The observed variables, each once, in file order."""
        return list(dict.fromkeys(o.output for o in self.items))


def reference_projection(space: ParameterSpace) -> xr.Dataset:
    """The deterministic projection with every variable: what an observation may name.

    Parameters
    ----------
    space : ParameterSpace
        The uncertain inputs bound to their scenario.

    Returns
    -------
    xarray.Dataset
        Every Sheet C variable and memorandum, without a ``draw`` dimension.
    """
    rows = run_kernel(space.inputs)
    return add_memoranda(rows_to_dataset(space.scenario, space.inputs, rows, draw_dim=False))


def observable_outputs(reference: xr.Dataset) -> dict[str, tuple[str, ...]]:
    """Variables an observation may name, with their dimensions other than ``year``.

    Numeric variables by year, and by category or service; variables by
    facility tier or payment method, and yes/no memoranda, are not observable.
    """
    out: dict[str, tuple[str, ...]] = {}
    for name, da in reference.data_vars.items():
        dims = tuple(str(d) for d in da.dims)
        if YEAR not in dims or da.dtype.kind not in "fiu":
            continue
        rest = tuple(d for d in dims if d != YEAR)
        if set(rest) <= {CATEGORY, SERVICE}:
            out[str(name)] = rest
    return out


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def read_observations(path: str | Path, reference: xr.Dataset) -> Observations:
    """Read and check an observations file (long CSV), listing every problem at once.

    The columns are ``year,output,value`` and ``rel_sd`` (relative error, a
    share of the value) or ``sd`` (absolute error, in the output's units), or
    both with one of them filled on each row; ``category`` and ``service``
    are optional and required for outputs by category or service.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    reference : xarray.Dataset
        The deterministic projection (:func:`reference_projection`): its
        years, variables, categories and services are the valid ones.

    Returns
    -------
    Observations
        The observations, checked.

    Raises
    ------
    ObservationsError
        Naming the file and, for each problem, the line and column.
    FileNotFoundError
        When the file does not exist.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: observations file not found")
    raw = p.read_bytes()
    source = str(p)
    if p.suffix.lower() in (".xlsx", ".xlsm", ".xls"):  # the workbook's Observed sheet
        from schemerisk.scenario.observed_workbook import observed_rows, readdress_rows

        rows, cell = observed_rows(p)
        try:
            return _from_rows(rows, source, reference, raw)
        except ObservationsError as exc:
            raise readdress_rows(exc, cell) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ObservationsError(
            source, [Problem("", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
        ) from None
    rows = list(csv.reader(text.splitlines()))
    return _from_rows(rows, source, reference, raw)


def _from_rows(
    rows: list[list[str]], source: str, reference: xr.Dataset, raw: bytes
) -> Observations:
    """The observations of a table's rows (the header first), as :func:`read_observations`."""
    problems: list[Problem] = []
    if not rows or not any(c.strip() for c in rows[0]):
        raise ObservationsError(
            source, [Problem("header", "the file is empty; expected a header line", 1)]
        )
    header = [c.strip() for c in rows[0]]
    known = REQUIRED_COLUMNS + ERROR_COLUMNS + OPTIONAL_COLUMNS
    for c in header:
        if c not in known:
            problems.append(
                Problem(
                    f"column '{c}'",
                    f"unknown column; the columns are {', '.join(known)}" + suggest(c, known),
                    1,
                )
            )
    for c in REQUIRED_COLUMNS:
        if c not in header:
            problems.append(Problem(f"column '{c}'", "missing required column", 1))
    if not any(c in header for c in ERROR_COLUMNS):
        problems.append(
            Problem(
                "column 'rel_sd'",
                "missing the error column: give rel_sd (relative error) or sd (absolute error)",
                1,
            )
        )
    dupes = sorted({c for c in header if header.count(c) > 1})
    for c in dupes:
        problems.append(Problem(f"column '{c}'", "column given more than once", 1))
    if problems:
        raise ObservationsError(source, problems)

    col = {c: header.index(c) for c in header}
    outputs = observable_outputs(reference)
    years = [int(y) for y in reference[YEAR].values]
    cats = [str(c) for c in reference[CATEGORY].values] if CATEGORY in reference.coords else []
    svcs = [str(s) for s in reference[SERVICE].values] if SERVICE in reference.coords else []
    items: list[Observation] = []
    seen: dict[tuple[object, ...], int] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue  # blank line
        if len(row) != len(header):
            problems.append(
                Problem(
                    "row",
                    f"{len(row)} fields, but the header has {len(header)}",
                    lineno,
                )
            )
            continue

        def get(name: str, row: list[str] = row) -> str:
            return row[col[name]].strip() if name in col else ""

        before = len(problems)
        year_text, output = get("year"), get("output")
        year: int | None = None
        try:
            year = int(year_text)
        except ValueError:
            problems.append(Problem("column 'year'", f"'{year_text}' is not a whole year", lineno))
        if year is not None and year not in years:
            problems.append(
                Problem(
                    "column 'year'",
                    f"{year} is outside the projection's horizon {years[0]}-{years[-1]}",
                    lineno,
                )
            )
        dims: tuple[str, ...] = ()
        if output not in outputs:
            problems.append(
                Problem(
                    "column 'output'",
                    f"unknown output '{output}'; it must be a Sheet C variable by year (see the "
                    "README's variable table)" + suggest(output, outputs),
                    lineno,
                )
            )
        else:
            dims = outputs[output]
        category = get("category") or None
        service = get("service") or None
        for dim, given, valid, colname in (
            (CATEGORY, category, cats, "category"),
            (SERVICE, service, svcs, "service"),
        ):
            if output not in outputs:
                continue
            if dim in dims and given is None:
                problems.append(
                    Problem(
                        f"column '{colname}'",
                        f"'{output}' is by {colname}: give the {colname} ({', '.join(valid)})",
                        lineno,
                    )
                )
            elif dim not in dims and given is not None:
                problems.append(
                    Problem(
                        f"column '{colname}'",
                        f"'{output}' has no {colname}; leave the {colname} empty",
                        lineno,
                    )
                )
            elif given is not None and given not in valid:
                problems.append(
                    Problem(
                        f"column '{colname}'",
                        f"unknown {colname} '{given}'; valid: {', '.join(valid)}"
                        + suggest(given, valid),
                        lineno,
                    )
                )
        value = _number(get("value"))
        if value is None:
            problems.append(
                Problem("column 'value'", f"'{get('value')}' is not a finite number", lineno)
            )
        rel_text, sd_text = get("rel_sd"), get("sd")
        rel_sd: float | None = None
        sd: float | None = None
        if bool(rel_text) == bool(sd_text):
            problems.append(
                Problem(
                    "column 'rel_sd'" if "rel_sd" in col else "column 'sd'",
                    "give exactly one of rel_sd (relative error) and sd (absolute error)",
                    lineno,
                )
            )
        else:
            name, text_ = ("rel_sd", rel_text) if rel_text else ("sd", sd_text)
            x = _number(text_)
            if x is None:
                problems.append(
                    Problem(f"column '{name}'", f"'{text_}' is not a finite number", lineno)
                )
            elif x <= 0:
                problems.append(
                    Problem(
                        f"column '{name}'",
                        f"the error must be greater than 0, got {text_} (an exact observation "
                        "cannot be matched by any draw; give its real precision)",
                        lineno,
                    )
                )
            elif name == "rel_sd":
                rel_sd = x
                if value is not None:
                    if value == 0:
                        problems.append(
                            Problem(
                                "column 'rel_sd'",
                                "a relative error of a value of 0 is 0; give an absolute sd",
                                lineno,
                            )
                        )
                    else:
                        sd = x * abs(value)
            else:
                sd = x
        if len(problems) > before:
            continue
        assert year is not None and value is not None and sd is not None  # checked above
        key = (year, output, category, service)
        if key in seen:
            problems.append(
                Problem(
                    "row",
                    f"duplicate observation of {output} in {year}"
                    + (f" for {category}" if category else "")
                    + (f" for {service}" if service else "")
                    + f" (first on line {seen[key]})",
                    lineno,
                )
            )
            continue
        seen[key] = lineno
        items.append(Observation(year, output, category, service, value, sd, rel_sd, lineno))
    if not items and not problems:
        problems.append(Problem("row", "no observations: the file has a header only", 1))
    if problems:
        raise ObservationsError(source, problems)
    return Observations(tuple(items), source, hashlib.sha256(raw).hexdigest())


# --------------------------------------------------------------------------- weights


def observed_values(cube: xr.Dataset, observations: Observations) -> np.ndarray:
    """The model's value of every observed element in every draw.

    Parameters
    ----------
    cube : xarray.Dataset
        A Monte Carlo cube keeping the observed outputs.
    observations : Observations
        The observations.

    Returns
    -------
    numpy.ndarray
        Shape (draws, observations).
    """
    cols = [
        np.asarray(cube[o.output].sel(o.selection()).values, dtype=float)
        for o in observations.items
    ]
    return np.stack(cols, axis=1)


def log_likelihood(values: np.ndarray, observations: Observations) -> np.ndarray:
    """Log-likelihood of the observations for each draw (normal errors), up to a constant.

    ``l_i = -1/2 sum_j ((y_ij - v_j) / s_j)^2``; the omitted constant
    ``-sum_j log(s_j sqrt(2 pi))`` is the same for every draw. A draw whose
    model value is not finite gets ``-inf`` (it explains nothing).

    Parameters
    ----------
    values : numpy.ndarray
        Model values, shape (draws, observations) (:func:`observed_values`).
    observations : Observations
        The observations.

    Returns
    -------
    numpy.ndarray
        Shape (draws,).
    """
    v = np.array([o.value for o in observations.items])
    s = np.array([o.sd for o in observations.items])
    z = (values - v) / s
    ll = -0.5 * np.sum(z * z, axis=1)
    return np.where(np.isfinite(ll), ll, -np.inf)


def normalised_weights(log_w: np.ndarray) -> np.ndarray:
    """Weights summing to 1 from log-weights, without underflow (the largest is subtracted first)."""
    top = np.max(log_w)
    if not np.isfinite(top):
        raise ValueError("every draw has weight 0")
    w = np.exp(log_w - top)
    return w / w.sum()


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` (Kish 1965, *Survey Sampling*).

    Parameters
    ----------
    weights : numpy.ndarray
        Non-negative weights.

    Returns
    -------
    float
        Between 1 and the number of weights (equal weights).
    """
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / np.sum(w * w))


def ess_threshold(n: int) -> float:
    """The ESS below which importance weights are not trusted: 5 % of N, at least 200 (at most N)."""
    return float(min(n, max(ESS_FLOOR, ESS_SHARE * n)))


def unexplained(values: np.ndarray, observations: Observations) -> list[Problem]:
    """Observations that no draw can explain, as problems naming their line.

    An observation is unexplained when every draw's model value is undefined,
    or when it lies more than :data:`REFUSE_SD` of its standard deviations
    outside the range of the draws' values (inside the range, draws between
    two others can be found by re-drawing, however precise the observation).
    """
    out = []
    for j, o in enumerate(observations.items):
        y = values[:, j]
        finite = y[np.isfinite(y)]
        if finite.size == 0:
            out.append(
                Problem(
                    f"{o.label}",
                    "the model's value is undefined in every draw; this output cannot be observed "
                    "here",
                    o.line,
                )
            )
            continue
        lo, hi = float(finite.min()), float(finite.max())
        # outside the draws' range: between two draws, re-drawing can always get closer
        gap = max(lo - o.value, o.value - hi, 0.0) / o.sd
        if gap > REFUSE_SD:
            out.append(
                Problem(
                    f"{o.label}",
                    f"observed {o.value:,.6g} (sd {o.sd:,.3g}) but every draw lies in "
                    f"[{lo:,.6g}, {hi:,.6g}], at least {gap:,.1f} sd away; the scenario and its "
                    "distributions cannot explain it (check the value, its units, its error, "
                    "or widen the distributions)",
                    o.line,
                )
            )
    return out


# --------------------------------------------------------------------------- SMC


@dataclass(frozen=True)
class SmcStage:
    """One tempering stage: its exponent, ESS before resampling, moves and acceptance."""

    beta: float
    ess: float
    moves: int
    acceptance: float
    step: float


def systematic_resample(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices drawn by systematic resampling (Kitagawa 1996, *J. Comput. Graph. Stat.* 5:1).

    One uniform ``u`` in [0, 1/N); draw ``i`` is copied once for each
    ``(u + k) / N`` (k = 0..N-1) falling in its share of the cumulated weights.
    """
    n = weights.size
    edges = np.cumsum(weights)
    edges[-1] = 1.0
    points = (rng.random() + np.arange(n)) / n
    return np.searchsorted(edges, points, side="left")


def _next_beta(loglik: np.ndarray, beta: float, target: float) -> float:
    """The next tempering exponent: the largest b <= 1 keeping the incremental ESS >= target."""

    def ess_at(b: float) -> float:
        return effective_sample_size(normalised_weights((b - beta) * loglik))

    if ess_at(1.0) >= target:
        return 1.0
    lo, hi = beta, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if ess_at(mid) >= target:
            lo = mid
        else:
            hi = mid
    return max(lo, beta + 1e-12)


def temper(
    z: np.ndarray,
    loglik_of: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
    *,
    loglik: np.ndarray | None = None,
    step_ess: float = SMC_STEP_ESS,
    max_stages: int = SMC_MAX_STAGES,
) -> tuple[np.ndarray, np.ndarray, list[SmcStage]]:
    """Sequential Monte Carlo by likelihood tempering, with pCN resample-move steps.

    Draws ``z`` from a standard normal prior are carried to the posterior
    ``N(z; 0, I) L(z)``: at each stage the exponent of the likelihood rises to
    the next ``b`` (the incremental weights keep an ESS of ``step_ess`` N), the
    draws are resampled (systematic) and moved by preconditioned
    Crank-Nicolson Metropolis steps, ``z' = sqrt(1 - s^2) z + s e``,
    accepted with probability ``min(1, exp(b (l(z') - l(z))))`` (Cotter et
    al. 2013), the step ``s`` adapted to keep acceptance near 0.3. Moves repeat
    until 95 % of draws have moved at least once (at most :data:`SMC_MAX_MOVES`).
    Del Moral, Doucet & Jasra (2006); Chopin (2002).

    Parameters
    ----------
    z : numpy.ndarray
        Prior draws, shape (N, k), independent standard normal.
    loglik_of : callable
        ``z -> log-likelihood`` of each row (``-inf`` where undefined).
    rng : numpy.random.Generator
        Random numbers for resampling and moves.
    loglik : numpy.ndarray, optional
        ``loglik_of(z)`` when already known.
    step_ess : float
        Target ESS of each stage's incremental weights, as a share of N.
    max_stages : int
        Stop with an error after this many stages.

    Returns
    -------
    z, loglik : numpy.ndarray
        Equally weighted posterior draws and their log-likelihoods.
    stages : list of SmcStage
        What each stage did.

    Raises
    ------
    RuntimeError
        When the exponent does not reach 1 within ``max_stages``.
    """
    z = np.array(z, dtype=float, copy=True)
    n, k = z.shape
    ll = loglik_of(z) if loglik is None else np.array(loglik, dtype=float, copy=True)
    beta, step = 0.0, 0.5
    stages: list[SmcStage] = []
    while beta < 1.0:
        if len(stages) >= max_stages:
            raise RuntimeError(
                f"sequential Monte Carlo did not reach the posterior in {max_stages} stages "
                f"(likelihood exponent {beta:.3g} of 1): the observations are too precise for "
                "the distributions; check their errors"
            )
        new = _next_beta(ll, beta, step_ess * n)
        w = normalised_weights((new - beta) * ll)
        ess = effective_sample_size(w)
        beta = new
        idx = systematic_resample(w, rng)
        z, ll = z[idx], ll[idx]
        stuck = np.ones(n, dtype=bool)
        moves, accepted_total = 0, 0.0
        while moves < SMC_MAX_MOVES:
            proposal = math.sqrt(1.0 - step * step) * z + step * rng.standard_normal((n, k))
            ll_new = loglik_of(proposal)
            with np.errstate(invalid="ignore"):
                log_ratio = beta * (ll_new - ll)
            accept = np.log(rng.random(n)) < np.where(np.isfinite(ll_new), log_ratio, -np.inf)
            z[accept], ll[accept] = proposal[accept], ll_new[accept]
            stuck &= ~accept
            rate = float(accept.mean())
            accepted_total += rate
            moves += 1
            # keep the acceptance rate near 0.3 (a standard target for random-walk-like moves)
            step = float(np.clip(step * math.exp(rate - 0.3), 0.01, 1.0))
            if stuck.mean() <= MOVED_SHARE and moves >= 2:
                break
        stages.append(SmcStage(beta, ess, moves, accepted_total / moves, step))
    return z, ll, stages


# --------------------------------------------------------------------------- the update


@dataclass(frozen=True)
class Update:
    """The result of :func:`update`.

    Attributes
    ----------
    observations : Observations
        What was observed.
    prior : xarray.Dataset
        The Monte Carlo cube from the prior (the distributions file).
    posterior : xarray.Dataset
        The cube after conditioning, with a ``weight`` variable (summing to 1)
        and provenance attributes naming the observations file and its SHA-256.
    weights : numpy.ndarray
        The posterior weight of each draw of ``posterior`` (all ``1/N`` after SMC).
    method : str
        ``"importance sampling"`` or ``"sequential Monte Carlo"``.
    ess : float
        Kish ESS of the importance weights on the prior draws.
    threshold : float
        The ESS below which the draws were re-drawn.
    posterior_ess : float
        ESS of the posterior's weights (N after SMC: equally weighted, but
        correlated by resampling, so an upper bound on the information).
    stages : tuple of SmcStage
        The SMC stages (empty for importance sampling).
    space : ParameterSpace
        The uncertain inputs.
    deterministic : xarray.Dataset
        The projection with every input at its base value.
    """

    observations: Observations
    prior: xr.Dataset
    posterior: xr.Dataset
    weights: np.ndarray
    method: str
    ess: float
    threshold: float
    posterior_ess: float
    stages: tuple[SmcStage, ...]
    space: ParameterSpace
    deterministic: xr.Dataset
    notes: tuple[str, ...] = field(default=())

    @property
    def n(self) -> int:
        """Number of draws."""
        return int(self.posterior.sizes[DRAW])

    def describe(self) -> str:
        """How the update was made, in one paragraph of plain words."""
        n = self.n
        obs = self.observations
        head = (
            f"{len(obs.items)} observation{'s' if len(obs.items) != 1 else ''} from "
            f"{obs.source} (SHA-256 {obs.sha256[:12]}...). "
            f"Effective sample size of the importance weights: {self.ess:,.0f} of {n:,} draws "
            f"(threshold {self.threshold:,.0f}). "
        )
        if self.method == "importance sampling":
            return (
                head + "Method: importance sampling (the prior draws, weighted by the likelihood)."
            )
        return head + (
            f"Method: sequential Monte Carlo (likelihood tempering in {len(self.stages)} stages, "
            f"resample-move with pCN steps on the normal scores; "
            f"{sum(s.moves for s in self.stages)} moves); the {n:,} final draws are equally "
            "weighted."
        )


def _keep_for(observations: Observations, base: Sequence[str] = DEFAULT_KEEP) -> list[str]:
    keep = list(base)
    for name in observations.outputs():
        if name not in keep and name in VARIABLE_FIELDS:
            keep.append(name)
    if any(n not in VARIABLE_FIELDS for n in observations.outputs()):
        keep += [n for n in _EXTRA_FOR_DERIVED if n not in keep]
    return keep


def update(
    space: ParameterSpace,
    observations: Observations,
    n: int = 20_000,
    *,
    seed: int = 0,
    method: str = "auto",
    threads: int | None = None,
    progress: bool | None = None,
) -> Update:
    """Condition the uncertain inputs on observations and recompute the cube.

    Parameters
    ----------
    space : ParameterSpace
        The uncertain inputs bound to their scenario.
    observations : Observations
        From :func:`read_observations` (checked against the same scenario).
    n : int
        Number of draws.
    seed : int
        The one seed (the prior draws are those of ``simulate`` with this seed).
    method : str
        ``"auto"`` (importance sampling, re-drawn by SMC when the ESS is below
        :func:`ess_threshold`), ``"is"`` or ``"smc"`` (always one or the other).
    threads, progress
        As for :func:`~schemerisk.uncertainty.montecarlo.run_design`.

    Returns
    -------
    Update
        Prior and posterior cubes, weights, ESS and the method used.

    Raises
    ------
    ObservationsError
        When an observation cannot be explained by any draw.
    """
    if method not in ("auto", "is", "smc"):
        raise ValueError(f"method must be 'auto', 'is' or 'smc', got {method!r}")
    if n < 2:
        raise ValueError(f"the number of draws must be at least 2, got {n}")
    keep = _keep_for(observations)
    # the re-drawing runs keep only what the likelihood reads
    derived = any(name not in VARIABLE_FIELDS for name in observations.outputs())
    keep_observed = keep if derived else _keep_for(observations, ())
    design = unit_design(space, n, seed, Sampler.MC)
    unit = design.rows(0, n)
    prior = run_design(space, design, keep=keep, threads=threads, progress=progress)
    values = observed_values(prior, observations)
    refused = unexplained(values, observations)
    if refused:
        raise ObservationsError(observations.source, refused)
    ll = log_likelihood(values, observations)
    notes: list[str] = []
    bad = int(np.sum(~np.isfinite(ll)))
    if bad:
        notes.append(f"{bad:,} draws leave an observed output undefined and get weight 0")
    weights = normalised_weights(ll)
    ess = effective_sample_size(weights)
    threshold = ess_threshold(n)
    stages: list[SmcStage] = []
    if method == "is" or (method == "auto" and ess >= threshold):
        chosen = "importance sampling"
        if ess < threshold:
            notes.append(
                f"the effective sample size ({ess:,.0f}) is below the threshold "
                f"({threshold:,.0f}): the weighted figures rest on few draws; use more draws "
                "or the default method (auto), which re-draws"
            )
        posterior = prior.copy()
        post_w = weights
    else:
        chosen = "sequential Monte Carlo"
        z0 = special.ndtri(np.clip(unit, 2.0**-53, 1.0 - 2.0**-53))

        def loglik_of(z: np.ndarray) -> np.ndarray:
            d = Design(Sampler.MC, seed, z.shape[0], z.shape[1], special.ndtr(z))
            cube = run_design(space, d, keep=keep_observed, threads=threads, progress=False)
            return log_likelihood(observed_values(cube, observations), observations)

        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(15,))))
        z, _, stages = temper(z0, loglik_of, rng, loglik=ll)
        final = Design(Sampler.MC, seed, n, z.shape[1], special.ndtr(z))
        posterior = run_design(space, final, keep=keep, threads=threads, progress=progress)
        post_w = np.full(n, 1.0 / n)
    posterior = posterior.assign(
        weight=xr.Variable(
            (DRAW,),
            post_w,
            {
                "long_name": "Posterior weight of the draw (weights sum to 1)",
                "units": "1",
                "note": "weighted statistics (quantiles, probabilities) must use this weight",
            },
        )
    )
    posterior.attrs.update(
        {
            "observations_file": observations.source,
            "observations_sha256": observations.sha256,
            "n_observations": len(observations.items),
            "last_observed_year": observations.last_year,
            "update_method": chosen,
            "update_prior_ess": ess,
            "update_ess_threshold": threshold,
            "update_smc_stages": len(stages),
        }
    )
    return Update(
        observations,
        prior,
        posterior,
        post_w,
        chosen,
        ess,
        threshold,
        effective_sample_size(post_w),
        tuple(stages),
        space,
        reference_projection(space),
        tuple(notes),
    )


# --------------------------------------------------------------------------- weighted statistics


def weighted_quantile(
    values: np.ndarray, weights: np.ndarray, probs: Sequence[float] | float
) -> np.ndarray:
    """Quantiles of weighted draws along the first axis, by the inverted weighted CDF.

    The ``p`` quantile is the smallest value whose cumulated weight reaches
    ``p`` of the total: with equal weights, numpy's ``method="inverted_cdf"``
    (Hyndman & Fan 1996, definition 1). Non-finite values are left out (their
    weight too); a column with no finite value gives NaN.

    Parameters
    ----------
    values : numpy.ndarray
        Shape (draws, ...).
    weights : numpy.ndarray
        Shape (draws,), non-negative.
    probs : float or sequence of float
        Probabilities in [0, 1].

    Returns
    -------
    numpy.ndarray
        Shape (len(probs), ...) (or ``values.shape[1:]`` for one probability).
    """
    x = np.asarray(values, dtype=float)
    scalar = np.ndim(probs) == 0
    p = np.atleast_1d(np.asarray(probs, dtype=float))
    flat = x.reshape(x.shape[0], -1)
    w = np.broadcast_to(np.asarray(weights, dtype=float)[:, None], flat.shape)
    w = np.where(np.isfinite(flat), w, 0.0)
    order = np.argsort(np.where(np.isfinite(flat), flat, np.inf), axis=0, kind="stable")
    xs = np.take_along_axis(flat, order, axis=0)
    cw = np.cumsum(np.take_along_axis(w, order, axis=0), axis=0)
    total = cw[-1]
    out = np.full((p.size, flat.shape[1]), np.nan)
    for i, q in enumerate(p):
        # tolerance: cumulated float weights can fall a few ulps short of an exact share
        reach = cw >= q * total - 1e-12 * total
        idx = np.argmax(reach, axis=0)
        got = np.take_along_axis(xs, idx[None, :], axis=0)[0]
        out[i] = np.where(total > 0, got, np.nan)
    out = out.reshape((p.size, *x.shape[1:]))
    return out[0] if scalar else out


def weighted_probability(event: np.ndarray, weights: np.ndarray, ess: float) -> tuple[float, float]:
    """Weighted probability of an event and its Monte Carlo standard error ``sqrt(p (1-p) / ESS)``.

    The standard error uses Kish's ESS in place of N, the usual approximation
    for self-normalised importance sampling (Kong 1992; Liu 2001, *Monte Carlo
    Strategies in Scientific Computing*).
    """
    p = float(np.sum(weights * event) / np.sum(weights))
    return p, math.sqrt(max(p * (1.0 - p), 0.0) / ess)


def first_order_index(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, n_bins: int | None = None
) -> float:
    """Weighted first-order (variance-based) index of ``y`` on ``x``, from given data by binning.

    ``S = Var(E[y | x]) / Var(y)`` estimated by sorting the draws on ``x``,
    cutting them into ``B`` bins of equal weight, and taking the weighted
    variance of the bins' weighted means over the weighted variance of ``y``
    (the given-data estimator of Plischke, Borgonovo & Smith 2013, *EJOR*
    226:536, with weights). Its bias with no effect at all is about
    ``(B - 1) / ESS`` (each bin mean carries ``Var(y) / ESS_b`` of noise), which
    is subtracted; the result is clipped to [0, 1]. ``B`` defaults to
    ``sqrt(ESS)`` clipped to [4, 30].

    Parameters
    ----------
    x, y : numpy.ndarray
        The input and the output, one value per draw.
    weights : numpy.ndarray
        Draw weights.
    n_bins : int, optional
        Number of bins.

    Returns
    -------
    float
        The index (NaN when ``y`` does not vary).
    """
    ok = np.isfinite(x) & np.isfinite(y) & (weights > 0)
    x, y, w = x[ok], y[ok], weights[ok] / weights[ok].sum()
    ess = effective_sample_size(w)
    b = int(np.clip(round(math.sqrt(ess)), 4, 30)) if n_bins is None else n_bins
    mean = float(np.sum(w * y))
    var = float(np.sum(w * (y - mean) ** 2))
    if not var > 0:
        return float("nan")
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    bins = np.minimum((cw - 0.5 * w[order]) * b, b - 1).astype(int)
    wb = np.bincount(bins, weights=w[order], minlength=b)
    sb = np.bincount(bins, weights=w[order] * y[order], minlength=b)
    has = wb > 0
    means = sb[has] / wb[has]
    between = float(np.sum(wb[has] * (means - mean) ** 2))
    return float(np.clip(between / var - (b - 1) / ess, 0.0, 1.0))


# --------------------------------------------------------------------------- what it changes


def _input_columns(cube: xr.Dataset, space: ParameterSpace) -> list[tuple[str, str, np.ndarray]]:
    """(entry, label, values) for every drawn input; a per-year entry gives one row per year."""
    out = []
    for e in space.entries:
        da = cube[f"input_{e.name}"]
        label = e.label or e.name.replace("_", " ")
        if YEAR in da.dims:
            for y in da[YEAR].values:
                out.append((e.name, f"{label}, {int(y)}", np.asarray(da.sel(year=y).values)))
        else:
            out.append((e.name, label, np.asarray(da.values)))
    return out


def input_table(result: Update) -> pd.DataFrame:
    """Each input's prior and posterior median and 5-95 % range.

    Returns
    -------
    pandas.DataFrame
        One row per drawn value (per year for per-year entries): ``entry``,
        ``input``, and ``prior_p05``, ``prior_median``, ``prior_p95``,
        ``posterior_p05``, ``posterior_median``, ``posterior_p95``, and
        ``narrowing`` (1 - posterior 90 % width / prior 90 % width).
    """
    probs = (0.05, 0.5, 0.95)
    prior = _input_columns(result.prior, result.space)
    post = _input_columns(result.posterior, result.space)
    uniform = np.full(result.prior.sizes[DRAW], 1.0 / result.prior.sizes[DRAW])
    rows = []
    for (entry, label, xp), (_, _, xq) in zip(prior, post, strict=True):
        a = weighted_quantile(xp, uniform, probs)
        b = weighted_quantile(xq, result.weights, probs)
        width = a[2] - a[0]
        rows.append(
            {
                "entry": entry,
                "input": label,
                "prior_p05": a[0],
                "prior_median": a[1],
                "prior_p95": a[2],
                "posterior_p05": b[0],
                "posterior_median": b[1],
                "posterior_p95": b[2],
                "narrowing": 1.0 - (b[2] - b[0]) / width if width > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _multiplier_draws(cube: xr.Dataset) -> np.ndarray:
    """Each draw's break-even multiplier on all premiums, by year; +inf where none exists."""
    from schemerisk.analysis.solver import Adjust, equilibrium_multiplier

    k = equilibrium_multiplier(cube, Adjust.ALL_PREMIUMS).transpose(DRAW, YEAR).values
    return np.where(np.isnan(k), np.inf, k)


def risk_table(result: Update, level: float = 0.05) -> pd.DataFrame:
    """P(deficit) and the required premium multiplier by year, before and after the observations.

    A draw whose balance is not finite counts as a deficit (it is never
    counted as safe) and is counted in ``unknown``; the multiplier is the
    weighted ``1 - level`` quantile of the draws' break-even multipliers
    (a draw with no break-even multiplier needs an infinite one).

    Parameters
    ----------
    result : Update
        The update.
    level : float
        Target probability of deficit of the multiplier.

    Returns
    -------
    pandas.DataFrame
        By year: ``prior_p_deficit``, ``prior_se``, ``posterior_p_deficit``,
        ``posterior_se`` (from the ESS), ``posterior_unknown`` (weight of draws
        with no finite balance), ``prior_multiplier``, ``posterior_multiplier``.
    """
    rows = []
    n = result.prior.sizes[DRAW]
    uniform = np.full(n, 1.0 / n)
    years = [int(y) for y in result.posterior[YEAR].values]
    k_prior = weighted_quantile(_multiplier_draws(result.prior), uniform, 1.0 - level)
    k_post = weighted_quantile(_multiplier_draws(result.posterior), result.weights, 1.0 - level)
    for i, y in enumerate(years):
        bp = np.asarray(result.prior["balance"].sel(year=y).values)
        bq = np.asarray(result.posterior["balance"].sel(year=y).values)
        pp, sp = weighted_probability(~(bp >= 0), uniform, float(n))
        pq, sq = weighted_probability(~(bq >= 0), result.weights, result.posterior_ess)
        unknown = float(np.sum(result.weights * ~np.isfinite(bq)))
        rows.append(
            {
                "year": y,
                "prior_p_deficit": pp,
                "prior_se": sp,
                "posterior_p_deficit": pq,
                "posterior_se": sq,
                "posterior_unknown": unknown,
                "prior_multiplier": float(k_prior[i]),
                "posterior_multiplier": float(k_post[i]),
            }
        )
    return pd.DataFrame(rows).set_index("year")


def priorities_table(
    result: Update,
    year: int | None = None,
    *,
    evppi: bool = True,
    bootstrap: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """What is still worth collecting: first-order indices and EVPPI before and after the observations.

    For each entry, the share of the variance of the balance in ``year``
    (default the last year) that learning it exactly would remove, from the
    prior draws and from the posterior (weighted) draws:
    :func:`first_order_index`. A per-year entry is summarised by its mean over
    the years (one index per entry). And what learning the entry exactly is
    worth for setting that year's premium (EVPPI, in currency; the default
    loss of :class:`~schemerisk.analysis.voi.PremiumDecision`), before and
    after: :func:`~schemerisk.analysis.voi.value_of_information` on the prior
    draws, and on the posterior draws with their weights (regressions fitted
    with the weights, expectations weighted, the standard error from a
    bootstrap that resamples draws with their weights).

    Parameters
    ----------
    result : Update
        The update.
    year : int, optional
        The year of the balance (default the last year).
    evppi : bool
        Compute the EVPPI columns too (the slower part).
    bootstrap : int, optional
        Bootstrap resamples of the posterior EVPPI's standard error (default
        :data:`schemerisk.analysis.voi.BOOTSTRAP`); the prior EVPPI has none.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        By entry: ``input`` (label), ``prior_S1``, ``posterior_S1`` and, with
        ``evppi``, ``prior_evppi``, ``posterior_evppi``, ``posterior_evppi_se``,
        sorted by ``posterior_evppi`` (else ``posterior_S1``), largest first.
    """
    from schemerisk.analysis.voi import BOOTSTRAP, value_of_information

    y = int(result.posterior[YEAR].values[-1]) if year is None else int(year)
    n = result.prior.sizes[DRAW]
    uniform = np.full(n, 1.0 / n)
    rows = []
    for e in result.space.entries:
        name = f"input_{e.name}"

        def summary(cube: xr.Dataset, name: str = name) -> np.ndarray:
            da = cube[name]
            return np.asarray((da.mean(YEAR) if YEAR in da.dims else da).values, dtype=float)

        yp = np.asarray(result.prior["balance"].sel(year=y).values, dtype=float)
        yq = np.asarray(result.posterior["balance"].sel(year=y).values, dtype=float)
        rows.append(
            {
                "entry": e.name,
                "input": e.label or e.name.replace("_", " "),
                "prior_S1": first_order_index(summary(result.prior), yp, uniform),
                "posterior_S1": first_order_index(summary(result.posterior), yq, result.weights),
            }
        )
    frame = pd.DataFrame(rows).set_index("entry")
    if not evppi:
        return frame.sort_values("posterior_S1", ascending=False, kind="stable")
    groups = {e.name: (e.name,) for e in result.space.entries}
    finite = {
        k: np.isfinite(c["balance"].transpose(DRAW, YEAR).values).all(axis=1)
        for k, c in (("prior", result.prior), ("posterior", result.posterior))
    }
    # draws with an undefined balance carry no weight in the posterior; in the prior they are
    # left out of the value of information (which needs finite projections) and said so by NaN
    # only if every draw is undefined
    prior = value_of_information(
        result.prior.isel({DRAW: finite["prior"]}), groups, bootstrap=0, seed=seed, years=[y]
    ).table
    w = np.asarray(result.weights, dtype=float)[finite["posterior"]]
    post = value_of_information(
        result.posterior.isel({DRAW: finite["posterior"]}),
        groups,
        bootstrap=BOOTSTRAP if bootstrap is None else bootstrap,
        seed=seed,
        weights=w,
        years=[y],
    ).table
    frame["prior_evppi"] = prior.evppi.sel(year=y).to_series()
    frame["posterior_evppi"] = post.evppi.sel(year=y).to_series()
    frame["posterior_evppi_se"] = post.evppi_se.sel(year=y).to_series()
    return frame.sort_values("posterior_evppi", ascending=False, kind="stable")


def fan_quantiles(
    result: Update, var: str = "balance", probs: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95)
) -> tuple[xr.DataArray, xr.DataArray]:
    """Quantiles by year of an output before (prior) and after (weighted posterior) the observations.

    Returns
    -------
    prior, posterior : xarray.DataArray
        Dims (``quantile``, ``year``, ...).
    """
    out = []
    n = result.prior.sizes[DRAW]
    for cube, w in ((result.prior, np.full(n, 1.0 / n)), (result.posterior, result.weights)):
        da = cube[var].transpose(DRAW, ...)
        q = weighted_quantile(da.values, w, probs)
        out.append(
            xr.DataArray(
                q,
                dims=("quantile", *da.dims[1:]),
                coords={"quantile": list(probs), **{d: da[d] for d in da.dims[1:]}},
                attrs=da.attrs,
            )
        )
    return out[0], out[1]


def observation_fit(result: Update) -> pd.DataFrame:
    """Each observation against the model before and after: observed value, prior and posterior median.

    Returns
    -------
    pandas.DataFrame
        By observation (its label): ``line``, ``observed``, ``sd``,
        ``prior_median``, ``posterior_median``, ``posterior_p05``, ``posterior_p95``.
    """
    n = result.prior.sizes[DRAW]
    yp = observed_values(result.prior, result.observations)
    yq = observed_values(result.posterior, result.observations)
    a = weighted_quantile(yp, np.full(n, 1.0 / n), 0.5)
    b = weighted_quantile(yq, result.weights, (0.05, 0.5, 0.95))
    rows = []
    for j, o in enumerate(result.observations.items):
        rows.append(
            {
                "observation": o.label,
                "line": o.line,
                "observed": o.value,
                "sd": o.sd,
                "prior_median": a[j],
                "posterior_median": b[1, j],
                "posterior_p05": b[0, j],
                "posterior_p95": b[2, j],
            }
        )
    return pd.DataFrame(rows).set_index("observation")


def _g(x: float) -> str:
    if not np.isfinite(x):
        return "-" if np.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def format_update(result: Update, level: float = 0.05) -> str:
    """The update as plain-text tables: method and ESS, observations, inputs, risk, priorities.

    Parameters
    ----------
    result : Update
        The update.
    level : float
        Target probability of deficit of the required premium multiplier.

    Returns
    -------
    str
        The text the ``schemerisk update`` command prints.
    """
    lines = [result.describe(), *[f"note: {n}" for n in result.notes], ""]
    fit = observation_fit(result)
    lines.append("Observations against the projections (medians; posterior 5-95 %):")
    lines.append(
        f"  {'observation':<40} {'line':>4} {'observed':>14} {'prior':>14} {'posterior':>14}  range"
    )
    for label, r in fit.iterrows():
        lines.append(
            f"  {label!s:<40} {int(r.line):>4} {_g(r.observed):>14} {_g(r.prior_median):>14} "
            f"{_g(r.posterior_median):>14}  {_g(r.posterior_p05)} to {_g(r.posterior_p95)}"
        )
    lines += ["", "Uncertain inputs, prior against posterior (median [5 %, 95 %]):"]
    tab = input_table(result)
    for r in tab.itertuples():
        lines.append(
            f"  {r.input:<50} {_g(r.prior_median):>9} [{_g(r.prior_p05)}, {_g(r.prior_p95)}]"
            f"  ->  {_g(r.posterior_median):>9} [{_g(r.posterior_p05)}, {_g(r.posterior_p95)}]"
            + (
                f"  ({r.narrowing:.0%} narrower)"
                if np.isfinite(r.narrowing) and r.narrowing >= 0.05
                else ""
            )
        )
    risk = risk_table(result, level)
    lines += [
        "",
        f"Deficit risk by year, prior -> posterior (probability +/- Monte Carlo standard error; "
        f"premium multiplier that keeps P(deficit) at {level:g}):",
    ]
    for year, r in risk.iterrows():
        unknown = (
            f"  ({r.posterior_unknown:.1%} undefined, counted as deficit)"
            if r.posterior_unknown > 0
            else ""
        )
        lines.append(
            f"  {year}: P(deficit) {r.prior_p_deficit:6.1%} +/- {r.prior_se:.1%} -> "
            f"{r.posterior_p_deficit:6.1%} +/- {r.posterior_se:.1%};  multiplier "
            f"{_g(r.prior_multiplier)} -> {_g(r.posterior_multiplier)}{unknown}"
        )
    if result.method != "importance sampling":
        lines.append(
            "  (standard errors with N for the ESS: re-drawn projections are correlated through "
            "resampling, so these understate the error)"
        )
    last = int(result.posterior[YEAR].values[-1])
    pri = priorities_table(result)
    cur = str(result.posterior.attrs.get("currency", ""))
    lines += [
        "",
        f"What is still worth collecting for the {last} premium: what knowing each input exactly "
        f"would save (EVPPI, million {cur}, +- one bootstrap standard error; each {cur} of deficit "
        f"costs 2, of surplus 1), and the share of the variance of the {last} balance it would "
        "remove (weighted first-order index), before -> after:",
    ]
    for r in pri.itertuples():
        lines.append(
            f"  {r.input:<50} EVPPI {r.prior_evppi / 1e6:9,.1f} -> {r.posterior_evppi / 1e6:9,.1f}"
            f" +- {r.posterior_evppi_se / 1e6:,.1f};  S1 {r.prior_S1:6.1%} -> {r.posterior_S1:6.1%}"
        )
    return "\n".join(lines)
