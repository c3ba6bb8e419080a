"""Sampling: the Gaussian copula keeps every marginal and imposes the rank correlations,
AR(1) series have the requested persistence, and draws depend only on the seed.

Distributions files are small YAML documents bound to the built-in Hai Phong
1993-1997 scenario; draws come from ``sample_values`` (plain Monte Carlo).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from schemerisk.uncertainty.sampling import MC_BLOCK, Sampler, sample_values, unit_design
from schemerisk.uncertainty.space import ParameterSpace

Space = Callable[[str], ParameterSpace]

N = 20_000
#: Monte Carlo error of a Spearman correlation near 0.7 with N = 20000 is about 0.004
RHO_TOL = 0.03

TWO = """
inputs:
  admissions:
    target: admission_rate
    apply: replace
    distribution: {family: lognormal, p05: 0.06, p95: 0.10}
  copayment:
    target: services.inpatient_day_city.copayment_rate
    apply: replace
    distribution: {family: beta, mean: 0.2, sd: 0.05}
correlations:
  - entries: [admissions, copayment]
    matrix:
      - [1.0, 0.7]
      - [0.7, 1.0]
"""

THREE = """
inputs:
  admissions:
    target: admission_rate
    distribution: {family: lognormal, p05: 0.06, p95: 0.10}
  copayment:
    target: services.inpatient_day_city.copayment_rate
    distribution: {family: beta, mean: 0.2, sd: 0.05}
  consultations:
    target: services.consultation_city.volume.rate_per_person
    distribution: {family: gamma, mean: 0.15, sd: 0.03}
  uptake:
    target: categories.farmers.insured_share
    apply: scale
    distribution: {family: pert, low: 0.25, mode: 0.5, high: 1.0}
correlations:
  - entries: [admissions, copayment, consultations]
    matrix:
      - [1.0, 0.5, 0.3]
      - [0.5, 1.0, -0.4]
      - [0.3, -0.4, 1.0]
"""

SERIES = """
inputs:
  inflation:
    target: economy.domestic_inflation
    time: ar1
    persistence: 0.6
    distribution: {family: lognormal, p05: 0.06, p95: 0.45}
  wages:
    target: categories.*.income_growth
    time: ar1
    persistence: 0.6
    distribution: {family: lognormal, p05: 0.05, p95: 0.42}
  depreciation:
    target: economy.exchange_rate.real_depreciation
    time: ar1
    persistence: -0.4
    distribution: {family: truncated_normal, mean: 0.0, sd: 0.10, low: -0.3, high: 0.3}
correlations:
  - entries: [inflation, wages]
    matrix:
      - [1.0, 0.7]
      - [0.7, 1.0]
"""


def _ks_p(space: ParameterSpace, name: str, x: np.ndarray) -> float:
    return float(stats.kstest(x, space.entry(name).marginal.cdf).pvalue)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.spearmanr(a, b).statistic)


def _column(space: ParameterSpace, draws: np.ndarray, name: str) -> np.ndarray:
    cols = space.columns[name]
    return draws[:, cols[0]] if len(cols) == 1 else draws[:, cols]


# --- Gaussian copula ----------------------------------------------------------------------


def test_two_entries_get_the_rank_correlation_and_keep_their_marginals(space_of: Space) -> None:
    space = space_of(TWO)
    draws = sample_values(space, N, seed=7)
    a, b = _column(space, draws, "admissions"), _column(space, draws, "copayment")

    assert _spearman(a, b) == pytest.approx(0.7, abs=RHO_TOL)
    assert _ks_p(space, "admissions", a) > 0.01
    assert _ks_p(space, "copayment", b) > 0.01


def test_without_correlations_entries_are_independent(space_of: Space) -> None:
    text = TWO.split("correlations:")[0]
    space = space_of(text)
    draws = sample_values(space, N, seed=7)
    rho = _spearman(_column(space, draws, "admissions"), _column(space, draws, "copayment"))
    assert rho == pytest.approx(0.0, abs=RHO_TOL)


def test_three_by_three_block(space_of: Space) -> None:
    space = space_of(THREE)
    draws = sample_values(space, N, seed=11)
    names = ["admissions", "copayment", "consultations"]
    cols = {n: _column(space, draws, n) for n in names}
    wanted = np.array([[1.0, 0.5, 0.3], [0.5, 1.0, -0.4], [0.3, -0.4, 1.0]])

    for i, a in enumerate(names):
        assert _ks_p(space, a, cols[a]) > 0.01
        for j, b in enumerate(names[:i]):
            assert _spearman(cols[a], cols[b]) == pytest.approx(wanted[i, j], abs=RHO_TOL), (a, b)
    # the entry outside the block stays independent of it and keeps its own marginal
    uptake = _column(space, draws, "uptake")
    assert _ks_p(space, "uptake", uptake) > 0.01
    for a in names:
        assert _spearman(cols[a], uptake) == pytest.approx(0.0, abs=RHO_TOL)


# --- AR(1) series -------------------------------------------------------------------------


def _normal_scores(space: ParameterSpace, name: str, x: np.ndarray) -> np.ndarray:
    return stats.norm.ppf(space.entry(name).marginal.cdf(x))


@pytest.mark.parametrize(
    ("name", "phi"), [("inflation", 0.6), ("wages", 0.6), ("depreciation", -0.4)]
)
def test_ar1_series_has_the_persistence_and_keeps_each_year_marginal(
    space_of: Space, name: str, phi: float
) -> None:
    space = space_of(SERIES)
    draws = sample_values(space, N, seed=3)
    x = _column(space, draws, name)
    n_years = space.inputs.dims.n_years
    assert x.shape == (N, n_years)

    z = _normal_scores(space, name, x)
    for t in range(n_years):
        assert _ks_p(space, name, x[:, t]) > 0.01, f"year {t}"
        assert np.std(z[:, t]) == pytest.approx(1.0, abs=0.03)
    for t in range(n_years - 1):
        assert np.corrcoef(z[:, t], z[:, t + 1])[0, 1] == pytest.approx(phi, abs=RHO_TOL)
    # two years apart: phi squared
    assert np.corrcoef(z[:, 0], z[:, 2])[0, 1] == pytest.approx(phi**2, abs=RHO_TOL)


def test_correlated_series_are_correlated_year_by_year(space_of: Space) -> None:
    space = space_of(SERIES)
    draws = sample_values(space, N, seed=3)
    infl, wages = _column(space, draws, "inflation"), _column(space, draws, "wages")
    depr = _column(space, draws, "depreciation")
    for t in range(infl.shape[1]):
        assert _spearman(infl[:, t], wages[:, t]) == pytest.approx(0.7, abs=RHO_TOL), t
        assert _spearman(infl[:, t], depr[:, t]) == pytest.approx(0.0, abs=RHO_TOL), t


DIFFERENT_PERSISTENCE_BUG = (
    "sampling.to_values imposes the copula on the AR(1) innovations: when correlated series "
    "have different persistences (here ar1 0.6 with each_year), the same-year rank correlation "
    "is the requested 0.7 only in the base year and about 0.55 in every later year"
)

MIXED_SERIES = """
inputs:
  inflation:
    target: economy.domestic_inflation
    time: ar1
    persistence: 0.6
    distribution: {family: lognormal, p05: 0.06, p95: 0.45}
  wages:
    target: categories.*.income_growth
    time: each_year
    distribution: {family: lognormal, p05: 0.05, p95: 0.42}
correlations:
  - entries: [inflation, wages]
    matrix:
      - [1.0, 0.7]
      - [0.7, 1.0]
"""


def test_correlated_series_with_different_persistence_keep_the_correlation(
    space_of: Space,
) -> None:
    space = space_of(MIXED_SERIES)
    draws = sample_values(space, N, seed=3)
    infl, wages = _column(space, draws, "inflation"), _column(space, draws, "wages")
    for t in range(infl.shape[1]):
        assert _spearman(infl[:, t], wages[:, t]) == pytest.approx(0.7, abs=RHO_TOL), t


# --- seeds and ranges ---------------------------------------------------------------------


@pytest.mark.parametrize("sampler", ["mc", "lhs", "sobol"])
def test_same_seed_gives_bitwise_identical_draws(space_of: Space, sampler: str) -> None:
    space = space_of(THREE)
    a = sample_values(space, 1024, seed=42, sampler=sampler)
    b = sample_values(space, 1024, seed=42, sampler=sampler)
    c = sample_values(space, 1024, seed=43, sampler=sampler)
    assert a.shape == (1024, space.n_columns)
    assert a.tobytes() == b.tobytes()
    assert not np.any(np.all(a == c, axis=0))  # a different seed changes every column


def test_series_draws_depend_only_on_the_seed(space_of: Space) -> None:
    a = sample_values(space_of(SERIES), 500, seed=1)
    b = sample_values(space_of(SERIES), 500, seed=1)
    c = sample_values(space_of(SERIES), 500, seed=2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


RANGES = [
    (0, 1),
    (0, MC_BLOCK),
    (MC_BLOCK - 5, MC_BLOCK + 5),
    (17, 2 * MC_BLOCK + 7),
    (MC_BLOCK, 2 * MC_BLOCK),
    (2 * MC_BLOCK + 1, 3 * MC_BLOCK + 100),
    (3 * MC_BLOCK + 99, 3 * MC_BLOCK + 100),
    (123, 123),
    (0, 3 * MC_BLOCK + 100),
]


def test_mc_design_rows_equal_slices_of_the_full_design(space_of: Space) -> None:
    space = space_of(SERIES)
    n = 3 * MC_BLOCK + 100
    design = unit_design(space, n, seed=5, sampler=Sampler.MC)
    full = design.rows(0, n)
    assert full.shape == (n, space.n_columns)
    assert np.all((full >= 0) & (full < 1))
    for start, stop in RANGES:
        assert np.array_equal(design.rows(start, stop), full[start:stop]), (start, stop)
    # rows handed out in arbitrary chunks, in any order, rebuild the whole design
    cuts = [0, 1, 999, 4097, 4100, 8191, 8193, 12000, n]
    pieces = [design.rows(a, b) for a, b in reversed(list(itertools.pairwise(cuts)))]
    assert np.array_equal(np.concatenate(pieces[::-1]), full)


def test_mc_design_prefix_does_not_depend_on_its_length(space_of: Space) -> None:
    space = space_of(TWO)
    short = unit_design(space, 100, seed=9).rows(0, 100)
    long = unit_design(space, 3 * MC_BLOCK, seed=9).rows(0, 100)
    assert np.array_equal(short, long)


@pytest.mark.parametrize(("start", "stop"), [(-1, 3), (5, 4), (0, 3 * MC_BLOCK + 101)])
def test_rows_outside_the_design_are_refused(space_of: Space, start: int, stop: int) -> None:
    design = unit_design(space_of(TWO), 3 * MC_BLOCK + 100, seed=5)
    with pytest.raises(IndexError):
        design.rows(start, stop)
