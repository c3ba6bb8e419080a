"""Which assumptions drive deficit risk: Sobol' indices (Saltelli design) and given-data measures.

Variance-based indices use SALib's estimators (Saltelli et al. 2010 for first-
and total-order, Saltelli 2002 for second-order) applied to every output and
year at once: SALib's estimator functions work along the first axis, so the
whole (rows x outputs) matrix goes through them in one call, bootstrap
included, instead of one column at a time.

For a cube from plain Monte Carlo (no Saltelli design), :func:`given_data_indices`
ranks drivers with SALib's PAWN or delta moment-independent measures.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from scipy import stats

from schemerisk.scenario.types import Scenario
from schemerisk.uncertainty.montecarlo import bind_space, run_design
from schemerisk.uncertainty.sampling import Design, Sampler, salib_problem, unit_design
from schemerisk.uncertainty.space import ParameterSpace

DRAW = "draw"
#: the outputs the sensitivity analysis explains
OUTPUTS = ("balance", "balance_share", "deficit")
#: the outputs the delta measure can rank (not the 0/1 deficit: see given_data_indices)
DELTA_OUTPUTS = ("balance", "balance_share")
#: the kernel outputs :data:`OUTPUTS` are computed from: a run for the indices alone keeps no others
SOBOL_OUTPUTS: tuple[str, ...] = ("balance", "premium_revenue")
OUTPUT_LABELS = {
    "balance": "balance",
    "balance_share": "balance as a share of revenue",
    "deficit": "deficit indicator (1 = deficit)",
}
#: an index is flagged when its interval half-width exceeds this share of its value
RELATIVE_WIDTH_LIMIT = 0.10
#: ... unless the index itself is below this (negligible indices always have wide relative intervals)
NEGLIGIBLE = 0.01


class PrecisionWarning(UserWarning):
    """Sobol' indices whose confidence intervals are too wide to rank inputs reliably."""


def _saltelli_blocks(
    y: np.ndarray, n_groups: int, n_base: int, second_order: bool
) -> tuple[np.ndarray, ...]:
    """Split Saltelli-design outputs (rows x outputs) into A, B, AB and BA blocks.

    Rows come in runs of ``2D + 2`` (``D + 2`` without second order) per base
    sample: A, the D cross rows AB_j, (the D rows BA_j), B; the layout of
    SALib's ``sobol.sample``.
    """
    step = 2 * n_groups + 2 if second_order else n_groups + 2
    if y.shape[0] != step * n_base:
        raise ValueError(
            f"a Saltelli design with N={n_base} and {n_groups} groups has {step * n_base} rows, "
            f"got {y.shape[0]}"
        )
    y3 = y.reshape(n_base, step, -1)
    a, b = y3[:, 0], y3[:, step - 1]
    ab = y3[:, 1 : n_groups + 1]
    ba = y3[:, n_groups + 1 : 2 * n_groups + 1] if second_order else None
    return a, b, ab, ba  # type: ignore[return-value]


class _Bootstrap:
    """Bootstrap resamples of the Saltelli estimators as weighted means.

    Resample ``q`` takes rows ``r[:, q]`` of the base sample. Each of SALib's
    estimators (Saltelli et al. 2010, as in ``SALib.analyze.sobol``) is a mean
    over those rows divided by the variance of the stacked A and B outputs.
    A mean over resampled rows is the multiplicity-weighted mean ``C[q] @ g / N``,
    with ``C[q, i]`` the number of times row ``i`` was drawn. So every factor and
    output is bootstrapped by one matrix product, rather than by gathering
    (N x resamples x outputs) copies of the blocks, and gives the same values as
    SALib's functions on the gathered rows (to rounding; tested).
    """

    def __init__(self, r: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
        n, resamples = r.shape
        # resample by resample: no (N x resamples) index temporaries
        self.counts = np.empty((resamples, n))
        for q in range(resamples):
            self.counts[q] = np.bincount(r[:, q], minlength=n)
        self.counts /= n
        # variance of the 2N stacked values r_[A[r], B[r]] (ddof 0, as np.var in SALib)
        mean = 0.5 * (self.counts @ a + self.counts @ b)
        square = 0.5 * (self.counts @ (a * a) + self.counts @ (b * b))
        self.variance = np.maximum(square - mean * mean, 0.0)  # (resamples, outputs)
        self.usable = self.variance > np.finfo(float).eps  # SALib gives 0 otherwise

    def index(self, terms: np.ndarray) -> np.ndarray:
        """Resampled ``mean(terms) / variance``: terms (N, ..., outputs) -> (resamples, ..., outputs)."""
        n = terms.shape[0]
        return self._divide((self.counts @ terms.reshape(n, -1)).reshape(-1, *terms.shape[1:]))

    def index_each(self, terms: Callable[[int], np.ndarray], factors: int) -> np.ndarray:
        """:meth:`index` of ``terms(j)`` (N, outputs) for each factor ``j``: (resamples, factors, outputs).

        One (N x outputs) block at a time rather than all factors' (N x factors x
        outputs) at once: the same products, with a twentieth of the memory.
        """
        means = np.stack([self.counts @ terms(j) for j in range(factors)], axis=1)
        return self._divide(means)

    def _divide(self, means: np.ndarray) -> np.ndarray:
        """Resampled means (resamples, ..., outputs) over their resample's variance (0 where none)."""
        var = self.variance.reshape(self.variance.shape[0], *([1] * (means.ndim - 2)), -1)
        ok = np.broadcast_to(self.usable.reshape(var.shape), means.shape)
        return np.divide(
            means, np.broadcast_to(var, means.shape), out=np.zeros_like(means), where=ok
        )


def sobol_indices(
    y: np.ndarray,
    group_names: Sequence[str],
    n_base: int,
    *,
    second_order: bool = False,
    num_resamples: int = 200,
    conf_level: float = 0.95,
    seed: int = 0,
    overwrite: bool = False,
) -> dict[str, np.ndarray]:
    """First-, total- (and second-) order Sobol' indices with bootstrap intervals, every output at once.

    Parameters
    ----------
    y : numpy.ndarray
        Model outputs on a Saltelli design, shape (rows, outputs); rows as made
        by SALib's ``sobol.sample`` with groups.
    group_names : sequence of str
        The D groups (factors), in design order.
    n_base : int
        The base sample size N.
    second_order : bool
        Whether the design has the second-order rows, and S2 is wanted.
    num_resamples : int
        Bootstrap resamples for the intervals.
    conf_level : float
        Confidence level of the intervals.
    seed : int
        Seed of the bootstrap.
    overwrite : bool
        ``y`` may be overwritten by its standardised values (a caller's own
        temporary: saves one copy of it).

    Returns
    -------
    dict
        ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` of shape (D, outputs); with
        second order also ``S2``, ``S2_conf`` of shape (D, D, outputs). The
        ``_conf`` entries are half-widths of the intervals (SALib's convention).
    """
    from SALib.analyze.sobol import first_order, total_order
    from SALib.analyze.sobol import second_order as s2

    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    d = len(group_names)
    # centre and scale each output (SALib does this for its one output): the indices are
    # unchanged, the estimators' rounding error is not
    if y.shape[1] > 1 and y.flags.c_contiguous:  # NumPy sums such columns draw after draw
        from schemerisk.analysis._tally import standardise

        standardised = y if overwrite and y.flags.writeable else np.empty_like(y)
        standardise(y, standardised)
        y = standardised
    else:  # one column (NumPy sums it pairwise), or another layout
        sd = y.std(axis=0)
        y = (y - y.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    a, b, ab, ba = _saltelli_blocks(y, d, n_base, second_order)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    r = rng.integers(n_base, size=(n_base, num_resamples))
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    m = y.shape[1]
    out = {k: np.zeros((d, m)) for k in ("S1", "S1_conf", "ST", "ST_conf")}
    boot = _Bootstrap(r, a, b)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # SALib warns on constant outputs; they get 0, which is right
        for j in range(d):  # over factors; every output at once
            out["S1"][j] = first_order(a, ab[:, j], b)
            out["ST"][j] = total_order(a, ab[:, j], b)
    # the bootstrap of every factor and output in two matrix products
    s1_r = boot.index_each(lambda j: b * (ab[:, j] - a), d)  # (resamples, D, outputs)
    st_r = 0.5 * boot.index_each(lambda j: (a - ab[:, j]) ** 2, d)
    out["S1_conf"] = z * s1_r.std(axis=0, ddof=1)
    out["ST_conf"] = z * st_r.std(axis=0, ddof=1)
    if second_order:
        out["S2"] = np.full((d, d, m), np.nan)
        out["S2_conf"] = np.full((d, d, m), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for j in range(d):
                for k in range(j + 1, d):
                    out["S2"][j, k] = s2(a, ab[:, j], ab[:, k], ba[:, j], b)
                    v_jk = boot.index(ba[:, j] * ab[:, k] - a * b)
                    out["S2_conf"][j, k] = z * (v_jk - s1_r[:, j] - s1_r[:, k]).std(axis=0, ddof=1)
    return out


def model_outputs(cube: xr.Dataset) -> xr.DataArray:
    """The outputs the sensitivity analysis explains, stacked: balance, its share of revenue, deficit.

    Parameters
    ----------
    cube : xarray.Dataset
        A cube with ``balance`` and ``premium_revenue``.

    Returns
    -------
    xarray.DataArray
        Dims (draw, output, year).
    """
    bal = cube["balance"].transpose(DRAW, "year")
    b = bal.values
    r = cube["premium_revenue"].transpose(DRAW, "year").values
    # one C-ordered (draw, output, year) array, so a row of outputs is a view, not a copy
    out = np.empty((b.shape[0], len(OUTPUTS), b.shape[1]))
    from schemerisk.analysis._tally import sobol_outputs

    # balance; share (0 with no revenue, or an unknown balance); deficit (1 or 0)
    sobol_outputs(np.asarray(b, dtype=np.float64), np.asarray(r, dtype=np.float64), out)
    coords = {DRAW: bal[DRAW].values, "output": list(OUTPUTS), "year": bal["year"].values}
    return xr.DataArray(out, dims=(DRAW, "output", "year"), coords=coords)


@dataclass(frozen=True)
class SobolResult:
    """Sobol' indices of the scheme's outputs, and the run they came from.

    Attributes
    ----------
    indices : xarray.Dataset
        ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` with dims (output, input, year),
        and ``S2``, ``S2_conf`` (output, input, input_2, year) with second order.
        ``input`` names groups of entries (see :meth:`ParameterSpace.groups`).
    cube : xarray.Dataset
        The projections on the Saltelli design (its ``draw`` rows follow the design).
    imprecise : list of tuple
        (output, year, input, index, value, half-width) where the interval
        half-width exceeds 10 % of a non-negligible index.
    n_base : int
        The base sample size N.
    """

    indices: xr.Dataset
    cube: xr.Dataset
    imprecise: list[tuple[str, int, str, str, float, float]]
    n_base: int

    def base_rows(self) -> np.ndarray:
        """Positions of the A and B rows of the design: an unstructured sample of 2N projections."""
        d = self.indices.sizes["input"]
        step = 2 * d + 2 if "S2" in self.indices else d + 2
        starts = np.arange(self.n_base) * step
        return np.sort(np.concatenate([starts, starts + step - 1]))


def sobol_analysis(
    scenario: Scenario | str | Path,
    distributions: ParameterSpace | str | Path,
    n_base: int,
    *,
    seed: int = 0,
    second_order: bool = False,
    num_resamples: int = 200,
    conf_level: float = 0.95,
    horizon: int | None = None,
    threads: int | None = None,
    progress: bool | None = None,
    keep: Sequence[str] | None = None,
    inputs: bool = True,
    years: Sequence[int] | None = None,
) -> SobolResult:
    """Run the model on a Saltelli design and compute Sobol' indices for every output and year.

    Parameters
    ----------
    scenario : Scenario, str or Path
        The scenario.
    distributions : ParameterSpace, str or Path
        The uncertain inputs (a whole path, and a correlated block, is one group).
    n_base : int
        Base sample size N (a power of two keeps the design balanced); the
        model runs N (G + 2) times, N (2G + 2) with second order, G the groups.
    seed : int
        The one seed (design and bootstrap).
    second_order : bool
        Also compute second-order indices.
    num_resamples, conf_level : int, float
        Bootstrap resamples and interval level.
    horizon : int, optional
        Years after the base year, instead of the scenario's own.
    threads, progress
        As for :func:`~schemerisk.uncertainty.montecarlo.run_design`.
    keep : sequence of str, optional
        Outputs the cube keeps (default: those of ``run_design``). The indices
        need only :data:`SOBOL_OUTPUTS`: keeping just those (22 numbers per
        projection over 10 years, against about 400) makes the run faster and
        its memory a twentieth, and the indices are the same, bit for bit.
    inputs : bool
        Keep the drawn inputs in the cube (``input_<entry>``); the indices do not read them.
    years : sequence of int, optional
        The years whose indices are wanted (default every year); see :func:`analyse_design`.

    Returns
    -------
    SobolResult
        Indices (output x input x year), the cube, and the imprecise indices.
    """
    space = bind_space(scenario, distributions, horizon)
    design = unit_design(space, n_base, seed, Sampler.SALTELLI, second_order=second_order)
    cube = run_design(space, design, keep=keep, threads=threads, progress=progress, inputs=inputs)
    return analyse_design(
        space, design, cube, num_resamples=num_resamples, conf_level=conf_level, years=years
    )


def analyse_design(
    space: ParameterSpace,
    design: Design,
    cube: xr.Dataset,
    *,
    num_resamples: int = 200,
    conf_level: float = 0.95,
    years: Sequence[int] | None = None,
) -> SobolResult:
    """Sobol' indices from a cube computed on a Saltelli design (see :func:`sobol_analysis`).

    ``years`` (default every year of the cube) limits the indices, and the
    imprecise ones reported, to those years. Each (output, year) column is
    estimated on its own with the bootstrap's shared resamples, and a year brings
    its three outputs (at least three columns, which NumPy reduces draw after
    draw as it does the whole set; one or two columns alone it may sum in pairs),
    so a year's indices are the same whichever other years are computed with it
    (tested bit for bit); ``schemerisk sensitivity`` computes only the year it
    prints when it writes no table or workbook (a tenth of the work over 10 years).
    """
    problem = salib_problem(space)
    groups = list(dict.fromkeys(problem["groups"]))  # type: ignore[call-overload]
    if years is not None:
        wanted = [int(y) for y in years]
        missing = sorted(set(wanted) - {int(y) for y in cube.year.values})
        if missing or not wanted:
            raise ValueError(
                f"years {missing or wanted} are not in the cube "
                f"({int(cube.year.values[0])}-{int(cube.year.values[-1])})"
            )
        y = model_outputs(cube.sel(year=wanted))
    else:
        y = model_outputs(cube)
    n_out, n_year = y.sizes["output"], y.sizes["year"]
    flat = y.values.reshape(y.sizes[DRAW], n_out * n_year)
    res = sobol_indices(
        flat,
        groups,
        design.saltelli_n,
        second_order=design.second_order,
        num_resamples=num_resamples,
        conf_level=conf_level,
        seed=design.seed,
        overwrite=True,  # model_outputs made it for this alone
    )
    coords = {"output": list(OUTPUTS), "input": groups, "year": y["year"].values}
    data: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    for key in ("S1", "S1_conf", "ST", "ST_conf"):
        data[key] = (
            ("output", "input", "year"),
            res[key].reshape(len(groups), n_out, n_year).transpose(1, 0, 2),
        )
    if design.second_order:
        for key in ("S2", "S2_conf"):
            arr = res[key].reshape(len(groups), len(groups), n_out, n_year).transpose(2, 0, 1, 3)
            data[key] = (("output", "input", "input_2", "year"), arr)
        coords["input_2"] = groups
    indices = xr.Dataset(data, coords=coords)
    indices["S1"].attrs.update(
        long_name="First-order Sobol' index: share of variance explained alone"
    )
    indices["ST"].attrs.update(
        long_name="Total-order Sobol' index: share of variance involving the input"
    )
    indices["S1_conf"].attrs.update(
        long_name=f"Half-width of the {conf_level:.0%} bootstrap interval of S1"
    )
    indices["ST_conf"].attrs.update(
        long_name=f"Half-width of the {conf_level:.0%} bootstrap interval of ST"
    )
    indices.attrs.update(
        n_base=design.saltelli_n,
        n_runs=design.n_rows,
        seed=design.seed,
        conf_level=conf_level,
        num_resamples=num_resamples,
    )
    imprecise = find_imprecise(indices)
    if imprecise:
        worst = max(imprecise, key=lambda x: abs(x[4]))  # the largest index affected
        warnings.warn(
            f"{len(imprecise)} Sobol' indices have confidence intervals wider than "
            f"{RELATIVE_WIDTH_LIMIT:.0%} of their value (e.g. {worst[3]} of '{worst[2]}' for the "
            f"{OUTPUT_LABELS[worst[0]]} in {worst[1]}: {worst[4]:.3f} +- {worst[5]:.3f}); "
            f"use a larger N (now {design.saltelli_n}; try {4 * design.saltelli_n})",
            PrecisionWarning,
            stacklevel=2,
        )
    return SobolResult(indices, cube, imprecise, design.saltelli_n)


def find_imprecise(indices: xr.Dataset) -> list[tuple[str, int, str, str, float, float]]:
    """Indices whose interval half-width exceeds 10 % of their value (ignoring indices below 0.01)."""
    out = []
    for key in ("S1", "ST"):
        val, conf = indices[key], indices[f"{key}_conf"]
        bad = (np.abs(val) >= NEGLIGIBLE) & (conf > RELATIVE_WIDTH_LIMIT * np.abs(val))
        for o, i, y in zip(*np.nonzero(np.asarray(bad)), strict=True):
            out.append(
                (
                    str(indices.output.values[o]),
                    int(indices.year.values[y]),
                    str(indices.input.values[i]),
                    key,
                    float(val.values[o, i, y]),
                    float(conf.values[o, i, y]),
                )
            )
    return out


def input_matrix(cube: xr.Dataset) -> tuple[np.ndarray, list[str]]:
    """The drawn inputs of a cube as a (draws x inputs) matrix, one column per entry.

    A series entry (one value per year) is summarised by its mean over the
    horizon, so that each entry is one column for the given-data measures.
    """
    names = [str(v) for v in cube.data_vars if str(v).startswith("input_")]
    cols = []
    for v in names:
        da = cube[v]
        cols.append(da.mean("year").values if "year" in da.dims else da.values)
    return np.column_stack(cols), [n.removeprefix("input_") for n in names]


#: draws the given-data measures use by default (a subsample of larger cubes, stated in the result)
GIVEN_DATA_DRAWS = {"pawn": 20_000, "delta": 2_000}


def given_data_indices(
    cube: xr.Dataset,
    method: str = "pawn",
    *,
    outputs: Sequence[str] | None = None,
    years: Sequence[int] | None = None,
    max_draws: int | None = None,
    seed: int = 0,
    progress: bool | None = False,
) -> xr.Dataset:
    """Rank drivers from an existing Monte Carlo cube, without a Saltelli design.

    Uses SALib's PAWN (Pianosi & Wagener 2015; ``method="pawn"``, the median
    Kolmogorov-Smirnov distance between conditional and unconditional output
    distributions) or the delta moment-independent measure (Borgonovo 2007;
    ``method="delta"``). Both allow correlated inputs. A larger cube is
    subsampled (its first ``max_draws`` draws); the result says how many draws
    were used, and for delta the 95 % bootstrap half-widths say how precise the
    indices are. SALib's notices (e.g. "Bin Merge Notice") are kept off the terminal.

    Parameters
    ----------
    cube : xarray.Dataset
        A cube from ``simulate`` (any sampler) with ``input_*`` variables.
    method : str
        ``"pawn"`` or ``"delta"``.
    outputs : sequence of str, optional
        Which of ``balance``, ``balance_share``, ``deficit`` to explain (default all three
        for PAWN; ``balance`` and ``balance_share`` for delta, which refuses ``deficit``:
        its density estimate needs a continuous output, and on the 0/1 deficit indicator
        it reads the same for every input).
    years : sequence of int, optional
        Years to analyse (default all).
    max_draws : int, optional
        Use at most this many draws (default 20,000 for PAWN, 2,000 for delta).
    seed : int
        Seed for the estimators' resampling.
    progress : bool, optional
        Show a progress bar on stderr (None: when stderr is a terminal).

    Returns
    -------
    xarray.Dataset
        ``index`` (and ``index_conf`` for delta) with dims (output, input, year);
        attributes ``n_draws`` (used) and ``n_draws_total``.
    """
    import contextlib
    import io
    import sys

    from SALib.analyze import delta, pawn

    if method not in ("pawn", "delta"):
        raise ValueError(f"method must be 'pawn' or 'delta', got {method!r}")
    if outputs is None:
        outputs = DELTA_OUTPUTS if method == "delta" else OUTPUTS
    if method == "delta" and "deficit" in outputs:
        raise ValueError(
            "delta cannot rank the deficit: its density estimate needs a continuous output "
            "(on the 0/1 deficit indicator it reads the same for every input); use PAWN"
        )
    max_draws = GIVEN_DATA_DRAWS[method] if max_draws is None else int(max_draws)
    if max_draws < 50:
        raise ValueError(f"max_draws must be at least 50, got {max_draws}")
    total = int(cube.sizes[DRAW])
    sub = cube.isel(draw=slice(0, max_draws))
    if years is not None:
        sub = sub.sel(year=list(years))
    x, names = input_matrix(sub)
    lo, hi = x.min(axis=0), x.max(axis=0)
    keep = hi > lo  # a fixed input explains nothing
    problem = {
        "num_vars": int(keep.sum()),
        "names": [n for n, k in zip(names, keep, strict=True) if k],
        "bounds": [[a, b] for a, b, k in zip(lo, hi, keep, strict=True) if k],
    }
    y = model_outputs(sub).sel(output=list(outputs))
    idx = np.zeros((len(outputs), len(names), y.sizes["year"]))
    conf = np.full_like(idx, np.nan)
    cols = np.nonzero(keep)[0]
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(
            total=len(outputs) * y.sizes["year"], desc=method, unit="output", file=sys.stderr
        )
    # SALib seeds numpy's global generator only when the seed is true (``if seed:``): seed 0
    # would leave delta's bootstrap unseeded, so the same command would print other numbers
    salib_seed = int(seed) + 1
    format_before = warnings.formatwarning
    try:
        for o in range(len(outputs)):  # SALib's given-data measures take one output at a time
            for t in range(y.sizes["year"]):
                yy = y.values[:, o, t]
                if np.ptp(yy) > 0:
                    # SALib's delta resets the warning filters and prints notices: record them all
                    # and send its prints to nowhere
                    with (
                        warnings.catch_warnings(record=True),
                        contextlib.redirect_stdout(io.StringIO()),
                    ):
                        if method == "pawn":
                            res = pawn.analyze(problem, x[:, keep], yy, S=10, seed=salib_seed)
                            idx[o, cols, t] = res["median"]
                        else:
                            res = delta.analyze(
                                problem,
                                x[:, keep],
                                yy,
                                num_resamples=10,
                                seed=salib_seed,
                                method="delta",
                            )
                            # SALib 1.5+ names the estimate delta_raw (Borgonovo 2007); older, delta
                            key = "delta_raw" if "delta_raw" in res else "delta"
                            idx[o, cols, t] = res[key]
                            conf[o, cols, t] = res[f"{key}_conf"]
                if bar is not None:
                    bar.update(1)
    finally:
        warnings.formatwarning = format_before
        if bar is not None:
            bar.close()
    ds = xr.Dataset(
        {"index": (("output", "input", "year"), idx)},
        coords={"output": list(outputs), "input": names, "year": y.year.values},
        attrs={"method": method, "n_draws": int(x.shape[0]), "n_draws_total": total},
    )
    ds["index"].attrs["long_name"] = (
        "PAWN index (median KS distance)"
        if method == "pawn"
        else "delta moment-independent measure"
    )
    if method == "delta":
        ds["index_conf"] = (("output", "input", "year"), conf)
        ds["index_conf"].attrs["long_name"] = "Half-width of the 95 % bootstrap interval"
    return ds
