"""The update's building blocks against independent answers: numpy's quantiles, Kish's ESS,
closed-form first-order indices, and the conjugate normal posterior (issue 15)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from schemerisk.analysis.update import (
    Observation,
    Observations,
    effective_sample_size,
    first_order_index,
    normalised_weights,
    systematic_resample,
    temper,
    update,
    weighted_probability,
    weighted_quantile,
)
from schemerisk.uncertainty.montecarlo import bind_space

SCENARIO = "hai_phong_1993_1997"


def test_weighted_quantile_with_equal_weights_is_numpys_inverted_cdf() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((101, 3))
    probs = [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]
    got = weighted_quantile(x, np.ones(101), probs)
    want = np.quantile(x, probs, axis=0, method="inverted_cdf")
    np.testing.assert_array_equal(got, want)


def test_weighted_quantile_equals_the_quantile_of_replicated_draws() -> None:
    # integer weights are the same as repeating each draw that many times (brute force)
    rng = np.random.default_rng(2)
    x = rng.standard_normal(50)
    k = rng.integers(0, 5, 50)
    probs = [0.05, 0.3, 0.5, 0.9]
    got = weighted_quantile(x, k.astype(float), probs)
    want = np.quantile(np.repeat(x, k), probs, method="inverted_cdf")
    np.testing.assert_array_equal(got, want)


def test_weighted_quantile_leaves_out_non_finite_values() -> None:
    x = np.array([1.0, np.nan, 3.0, 2.0])
    assert weighted_quantile(x, np.ones(4), 0.5) == 2.0


def test_kish_ess() -> None:
    assert effective_sample_size(np.ones(10)) == pytest.approx(10.0)
    # one weight 1, nine weights 0: one effective draw
    assert effective_sample_size(np.r_[1.0, np.zeros(9)]) == pytest.approx(1.0)
    w = np.array([1.0, 2.0, 3.0])
    assert effective_sample_size(w) == pytest.approx(36.0 / 14.0)  # (1+2+3)^2 / (1+4+9)


def test_normalised_weights_do_not_underflow() -> None:
    w = normalised_weights(np.array([-2000.0, -2001.0, -np.inf]))
    np.testing.assert_allclose(w, [1 / (1 + math.e**-1), math.e**-1 / (1 + math.e**-1), 0.0])


def test_systematic_resampling_keeps_each_draws_expected_count() -> None:
    rng = np.random.default_rng(3)
    w = np.array([0.5, 0.25, 0.125, 0.125])
    counts = np.bincount(systematic_resample(w, rng), minlength=4)
    # systematic resampling copies draw i floor(N w_i) or ceil(N w_i) times; N w = [2, 1, .5, .5]
    assert counts[0] == 2 and counts[1] == 1 and counts.sum() == 4


def test_weighted_probability_and_its_error() -> None:
    p, se = weighted_probability(
        np.array([True, False, False, True]), np.array([1, 1, 1, 1.0]), 4.0
    )
    assert p == 0.5 and se == pytest.approx(math.sqrt(0.25 / 4))


def test_first_order_index_matches_the_closed_form_under_weights() -> None:
    # y = a x1 + b x2, x1, x2 ~ N(0, 1); weights N(x1; 0.5, 0.5^2) make x1 | w ~ N(., v1),
    # v1 = 1 / (1 + 1 / 0.25) = 0.2, so S1 = a^2 v1 / (a^2 v1 + b^2)
    rng = np.random.default_rng(4)
    n = 200_000
    x1, x2 = rng.standard_normal(n), rng.standard_normal(n)
    a, b = 2.0, 1.0
    y = a * x1 + b * x2
    w = np.exp(-0.5 * ((x1 - 0.5) / 0.5) ** 2)
    got = first_order_index(x1, y, w)
    want = a * a * 0.2 / (a * a * 0.2 + b * b)
    # binning with 30 bins loses (within-bin variance of x1) ~ 1/30^2 of Var(x1) at most: < 0.01;
    # Monte Carlo error with ESS ~ 90,000 is ~ 0.003
    assert got == pytest.approx(want, abs=0.015)
    assert first_order_index(x2, y, w) == pytest.approx(b * b / (a * a * 0.2 + b * b), abs=0.015)
    # an input with no effect: the bias correction brings it to about 0
    assert first_order_index(rng.standard_normal(n), y, w) < 0.005


def _toy_posterior(v: float, s: float, tau: float = 1.0) -> tuple[float, float]:
    """Conjugate normal: theta ~ N(0, tau^2), v | theta ~ N(theta, s^2)."""
    prec = 1 / tau**2 + 1 / s**2
    return (v / s**2) / prec, math.sqrt(1 / prec)


def test_tempering_reaches_the_conjugate_posterior() -> None:
    # a precise observation (sd 0.02 of the prior's 1) of a linear output: ESS of plain
    # importance sampling would be ~ N * 0.02 * sqrt(2); SMC must still find the posterior
    rng = np.random.default_rng(5)
    n, v, s = 4000, 1.3, 0.02
    z0 = rng.standard_normal((n, 3))

    def loglik(z: np.ndarray) -> np.ndarray:
        return -0.5 * ((z[:, 0] - v) / s) ** 2

    z, _, stages = temper(z0, loglik, rng)
    mean, sd = _toy_posterior(v, s)
    assert len(stages) > 1 and stages[-1].beta == 1.0
    # SMC draws are correlated by resampling; a conservative effective size N / 10 = 400 gives
    # Monte Carlo sds of sd / 20 for the mean and ~ sd / 28 for the sd: allow 4 of each
    assert z[:, 0].mean() == pytest.approx(mean, abs=4 * sd / 20)
    assert z[:, 0].std() == pytest.approx(sd, rel=4 / 28)
    # the unobserved coordinates keep their N(0, 1) prior
    assert abs(z[:, 1].mean()) < 4 / 20 and z[:, 1].std() == pytest.approx(1.0, rel=4 / 28)


@pytest.fixture(scope="module")
def one_normal_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One normal input on the real model: the base-year population scaled by N(1, 0.05^2)."""
    path = tmp_path_factory.mktemp("conjugate") / "population.yaml"
    path.write_text(
        "scenario: hai_phong_1993_1997\n"
        "inputs:\n"
        "  population:\n"
        "    target: demography.population\n"
        "    apply: scale\n"
        "    distribution: {family: normal, mean: 1.0, sd: 0.05}\n"
        "    clip: true  # never binds: 0 is 20 sd away, design scores stop at 8.2 sd\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("obs_sd", "method", "n"),
    [(0.05, "auto", 20_000), (0.001, "auto", 4000)],
    ids=["importance-sampling", "sequential-monte-carlo"],
)
def test_real_model_matches_the_conjugate_normal_posterior(
    one_normal_input: Path, obs_sd: float, method: str, n: int
) -> None:
    # with obs sd 0.001, plain weights would keep an ESS of about N 0.001 sqrt(2) / 0.05 = 0.03 N,
    # below the 5 % threshold: the update must re-draw by SMC
    # total population in the base year = P0 x s, linear in the one normal input s ~ N(1, 0.05^2);
    # observing it with a normal error gives a normal posterior for s in closed form
    space = bind_space(SCENARIO, one_normal_input)
    p0 = space.scenario.demography.population
    v = 1.04 * p0
    obs = Observations(
        (Observation(1993, "total_population", None, None, v, obs_sd * p0, None, 2),), "<t>", "x"
    )
    res = update(space, obs, n, seed=3, method=method, progress=False)
    prec = 1 / 0.05**2 + 1 / obs_sd**2
    mean, sd = (1 / 0.05**2 + 1.04 / obs_sd**2) / prec, math.sqrt(1 / prec)
    s = res.posterior["input_population"].values
    w = res.weights
    got_mean = float(np.sum(w * s))
    got_sd = math.sqrt(float(np.sum(w * (s - got_mean) ** 2)))
    if obs_sd == 0.05:
        assert res.method == "importance sampling"
        ess = (
            res.ess
        )  # Kish ESS: the Monte Carlo error of the weighted mean is about sd / sqrt(ESS)
    else:
        assert res.method == "sequential Monte Carlo" and res.ess < res.threshold
        ess = n / 10  # correlated after resampling: a conservative N / 10 (as in the toy test)
    assert got_mean == pytest.approx(mean, abs=4 * sd / math.sqrt(ess))
    # the relative sd of an estimated sd is about 1 / sqrt(2 ESS)
    assert got_sd == pytest.approx(sd, rel=4 / math.sqrt(2 * ess))


def test_draws_no_projection_can_explain_are_refused(one_normal_input: Path) -> None:
    from schemerisk.analysis.update import ObservationsError

    space = bind_space(SCENARIO, one_normal_input)
    p0 = space.scenario.demography.population
    # 2 x P0 with a 1 % error: the prior's draws stop near (1 + 8.2 x 0.05) P0 = 1.41 P0
    obs = Observations(
        (Observation(1993, "total_population", None, None, 2 * p0, 0.01 * p0, None, 7),),
        "obs.csv",
        "x",
    )
    with pytest.raises(ObservationsError) as info:
        update(space, obs, 500, progress=False)
    assert "line 7" in str(info.value) and "total_population 1993" in str(info.value)


def test_weights_follow_the_likelihood_exactly(one_normal_input: Path) -> None:
    # importance sampling from the prior: w_i proportional to exp(-z_i^2 / 2), independently checked
    space = bind_space(SCENARIO, one_normal_input)
    p0 = space.scenario.demography.population
    obs = Observations(
        (Observation(1993, "total_population", None, None, p0, 0.05 * p0, None, 2),), "<t>", "x"
    )
    res = update(space, obs, 1000, method="is", progress=False)
    pop = res.prior["total_population"].sel(year=1993).values
    w = np.exp(-0.5 * ((pop - p0) / (0.05 * p0)) ** 2)
    np.testing.assert_allclose(res.weights, w / w.sum(), rtol=1e-10)
    np.testing.assert_array_equal(res.posterior["weight"].values, res.weights)


def test_refusal_is_for_observations_outside_the_draws_not_between_them() -> None:
    from schemerisk.analysis.update import unexplained

    values = np.array([[1.0], [3.0], [np.nan]])

    def obs(v: float, sd: float) -> Observations:
        return Observations((Observation(1993, "balance", None, None, v, sd, None, 4),), "f", "")

    # between two draws, however precise: re-drawing can get there
    assert unexplained(values, obs(2.0, 1e-6)) == []
    # 4.9 sd beyond the largest draw: kept; 5.1 sd: refused, naming the line
    assert unexplained(values, obs(3.049, 0.01)) == []
    (problem,) = unexplained(values, obs(3.051, 0.01))
    assert problem.line == 4 and "balance 1993" in problem.path
    # undefined in every draw
    assert unexplained(np.full((3, 1), np.nan), obs(1.0, 1.0))[0].line == 4
