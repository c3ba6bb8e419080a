"""Simulation-based calibration of the update (Talts et al. 2018, arXiv:1804.06788; Cook, Gelman &
Rubin 2006): draw "true" inputs from the prior, simulate noisy observations from them, update, and
count how often the 50 % and 90 % posterior intervals hold the truth (issue 15).

Importance sampling from the prior may share one pool of N prior draws between replications: given
the pool, each replication's truth (a fresh prior draw, held out of the pool) and noise are
independent of the others, so the R coverage indicators are independent Bernoulli trials with the
coverage of that pool's approximate posterior; the pool shares nothing with the truths. With R
replications, a coverage c has binomial sd sqrt(c (1 - c) / R); we allow 3.5 sd (two-sided
probability 0.05 % per check; 10 checks: < 0.5 % of a false alarm), and the pool's finite size
adds a small bias (ESS of several hundred) well inside that.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from schemerisk.analysis.update import (
    Observation,
    Observations,
    effective_sample_size,
    log_likelihood,
    normalised_weights,
    observed_values,
    temper,
    weighted_quantile,
)
from schemerisk.uncertainty.montecarlo import bind_space, run_design
from schemerisk.uncertainty.sampling import unit_design

SCENARIO = "hai_phong_1993_1997"
R = 300  # replications
POOL = 6000  # prior draws shared by every replication
LEVELS = {0.5: (0.25, 0.75), 0.9: (0.05, 0.95)}


def _bound(c: float, r: int) -> float:
    return 3.5 * math.sqrt(c * (1 - c) / r)


def test_importance_sampling_on_the_real_model_is_calibrated() -> None:
    space = bind_space(SCENARIO, SCENARIO)
    keep = ["members", "health_care_payments"]
    pool = run_design(space, unit_design(space, POOL, 1), keep=keep, progress=False)
    truths = run_design(space, unit_design(space, R, 2), keep=keep, progress=False)
    # errors: absolute, 10 % of the plan (the likelihood's sd must not depend on the noisy value
    # for the generative model to be the one the update assumes)
    plan = [("members", "farmers", 1993), ("members", "industrial", 1994)]
    plan_hcp = [("health_care_payments", None, 1994)]
    base = pool.isel(draw=0)
    template = []
    for name, cat, year in plan + plan_hcp:
        sel = {"year": year} | ({"category": cat} if cat else {})
        sd = 0.10 * float(abs(pool[name].sel(sel).median()))
        template.append(Observation(year, name, cat, None, 0.0, sd, None, 2))
    del base
    obs0 = Observations(tuple(template), "<sbc>", "")
    y_pool = observed_values(pool, obs0)
    y_true = observed_values(truths, obs0)
    sds = np.array([o.sd for o in template])
    rng = np.random.default_rng(3)
    checked = {
        "voluntary_uptake_farmers": (
            pool["input_voluntary_uptake_farmers"].values,
            truths["input_voluntary_uptake_farmers"].values,
        ),
        "compulsory_compliance": (
            pool["input_compulsory_compliance"].values,
            truths["input_compulsory_compliance"].values,
        ),
        "insured_use": (pool["input_insured_use"].values, truths["input_insured_use"].values),
        "domestic_inflation_1994": (
            pool["input_domestic_inflation"].sel(year=1994).values,
            truths["input_domestic_inflation"].sel(year=1994).values,
        ),
        "admission_rate": (
            pool["input_admission_rate"].values,
            truths["input_admission_rate"].values,
        ),
    }
    hits = {(k, c): 0 for k in checked for c in LEVELS}
    narrow = []
    ess = []
    for r in range(R):
        noisy = y_true[r] + sds * rng.standard_normal(sds.size)
        obs = Observations(
            tuple(
                Observation(o.year, o.output, o.category, None, float(v), o.sd, None, 2)
                for o, v in zip(template, noisy, strict=True)
            ),
            "<sbc>",
            "",
        )
        w = normalised_weights(log_likelihood(y_pool, obs))
        ess.append(effective_sample_size(w))
        for name, (x_pool, x_true) in checked.items():
            q = weighted_quantile(x_pool, w, [0.05, 0.25, 0.75, 0.95])
            for c, (lo, hi) in LEVELS.items():
                a, b = q[[0.05, 0.25, 0.75, 0.95].index(lo)], q[[0.05, 0.25, 0.75, 0.95].index(hi)]
                hits[(name, c)] += int(a <= x_true[r] <= b)
            if name == "voluntary_uptake_farmers":
                narrow.append(q[3] - q[0])
    for (name, c), h in hits.items():
        cover = h / R
        assert abs(cover - c) <= _bound(c, R), (name, c, cover)
    # the observations are informative: the farmers' uptake interval is much narrower than the prior's
    prior_width = np.subtract(*np.quantile(checked["voluntary_uptake_farmers"][0], [0.95, 0.05]))
    assert np.median(narrow) < 0.6 * prior_width
    # the pool is large enough for most replications (a truth in the tails leaves few draws near it;
    # those few replications are counted all the same)
    assert np.median(ess) > 300 and np.mean(np.array(ess) < 50) < 0.05


def test_sequential_monte_carlo_is_calibrated_on_a_nonlinear_toy() -> None:
    # prior z ~ N(0, I_3); observe y = z0 + 0.5 z1^2 and z2 with sd 0.05 (plain importance weights
    # would keep ~ 3 % of N): every replication goes through likelihood tempering
    n, r_reps, sd = 400, 200, 0.05
    rng = np.random.default_rng(11)

    def output(z: np.ndarray) -> np.ndarray:
        return np.stack([z[:, 0] + 0.5 * z[:, 1] ** 2, z[:, 2]], axis=1)

    hits = {(j, c): 0 for j in range(3) for c in LEVELS}
    for _ in range(r_reps):
        truth = rng.standard_normal((1, 3))
        v = output(truth)[0] + sd * rng.standard_normal(2)

        def loglik(z: np.ndarray, v: np.ndarray = v) -> np.ndarray:
            return -0.5 * np.sum(((output(z) - v) / sd) ** 2, axis=1)

        z, _, stages = temper(rng.standard_normal((n, 3)), loglik, rng)
        assert stages[-1].beta == 1.0
        q = np.quantile(z, [0.05, 0.25, 0.75, 0.95], axis=0, method="inverted_cdf")
        for j in range(3):
            hits[(j, 0.5)] += int(q[1, j] <= truth[0, j] <= q[2, j])
            hits[(j, 0.9)] += int(q[0, j] <= truth[0, j] <= q[3, j])
    for (j, c), h in hits.items():
        # SMC adds its own (correlated-draw) error to the binomial one: allow 4 sd here
        assert abs(h / r_reps - c) <= 4 / 3.5 * _bound(c, r_reps), (j, c, h / r_reps)


pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
