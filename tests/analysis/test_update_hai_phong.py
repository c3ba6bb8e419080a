"""The update on the real Hai Phong model: observing 1993-1994 membership of one known projection
brings the posterior to that projection's inputs; the command prints the ESS and method and writes
the posterior cube with its weights and provenance (issue 15)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from schemerisk.analysis.update import (
    Observation,
    Observations,
    input_table,
    priorities_table,
    risk_table,
    update,
    weighted_quantile,
)
from schemerisk.cli import main
from schemerisk.uncertainty.montecarlo import bind_space, simulate

SCENARIO = "hai_phong_1993_1997"
EXAMPLE = Path(__file__).parents[2] / "scenarios" / "hai_phong_observed_1993_1994.csv"
CATS = ("farmers", "dependants", "industrial")
UPTAKE = {
    "farmers": "voluntary_uptake_farmers",
    "dependants": "voluntary_uptake_dependants",
    "industrial": "compulsory_compliance",
}


@pytest.fixture(scope="module")
def observed_draw() -> tuple[xr.Dataset, xr.Dataset]:
    """A known projection (draw 3 of seed 77, not among the update's draws) and the update on
    its 1993-1994 membership, observed exactly with a 2 % error."""
    space = bind_space(SCENARIO, SCENARIO)
    truth = simulate(SCENARIO, space, 8, seed=77, progress=False).isel(draw=3)
    items = []
    for y in (1993, 1994):
        for c in CATS:
            v = float(truth.members.sel(year=y, category=c))
            items.append(Observation(y, "members", c, None, v, 0.02 * v, 0.02, len(items) + 2))
    res = update(
        space, Observations(tuple(items), "<known draw>", "x"), 3000, seed=5, progress=False
    )
    return truth, res  # type: ignore[return-value]


def test_posterior_concentrates_on_the_observed_draws_inputs(observed_draw) -> None:  # type: ignore[no-untyped-def]
    truth, res = observed_draw
    # 2 % errors on six memberships leave ~ 1 % of the weight: re-drawn by SMC
    assert res.method == "sequential Monte Carlo"
    tab = input_table(res).set_index("entry")
    for c, entry in UPTAKE.items():
        t = float(truth[f"input_{entry}"])
        r = tab.loc[entry]
        # memberships are proportional to uptake: a 2 % error pins it down to a few per cent, a
        # 90 % range of ~ 2 x 1.645 x 2 % x 1/sqrt(2 years) ~ 5 % of the value; the prior's range
        # is ~ 85 % of the median for voluntary uptake, ~ 15 % for industrial compliance
        assert r.posterior_p05 <= t <= r.posterior_p95, (c, t, r.to_dict())
        assert r.narrowing > (0.4 if c == "industrial" else 0.8), (c, r.narrowing)
        assert abs(r.posterior_median - t) < 0.05 * t
    # an input membership does not depend on (the cost of a commune consultation) is not narrowed
    assert abs(tab.loc["commune_consultation_cost"].narrowing) < 0.2
    # the posterior projections reproduce the observations
    for y in (1993, 1994):
        for c in CATS:
            m = res.posterior.members.sel(year=y, category=c).values
            med = weighted_quantile(m, res.weights, 0.5)
            assert med == pytest.approx(float(truth.members.sel(year=y, category=c)), rel=0.03)


def test_risk_and_priorities_are_weighted(observed_draw) -> None:  # type: ignore[no-untyped-def]
    _, res = observed_draw
    risk = risk_table(res)
    # independent recount of the posterior P(deficit) in 1997 from the cube and its weights
    bal = res.posterior.balance.sel(year=1997).values
    w = res.posterior.weight.values
    assert risk.loc[1997, "posterior_p_deficit"] == pytest.approx(float(np.sum(w * (bal < 0))))
    assert risk.loc[1997, "prior_p_deficit"] == pytest.approx(
        float(np.mean(res.prior.balance.sel(year=1997).values < 0))
    )
    # the multiplier: no more than 5 % of the weight may need a higher one (checked by recount)
    from schemerisk.analysis.solver import Adjust, equilibrium_multiplier

    k = equilibrium_multiplier(res.posterior, Adjust.ALL_PREMIUMS).sel(year=1997).values
    q = risk.loc[1997, "posterior_multiplier"]
    assert np.sum(w * (k > q)) <= 0.05 + 1e-12 and np.sum(w * (k >= q)) > 0.05
    pri = priorities_table(res)
    assert set(pri.index) == {e.name for e in res.space.entries}
    # once uptake is known, learning it more removes almost nothing of the 1997 balance's variance
    assert pri.loc["voluntary_uptake_farmers", "posterior_S1"] < 0.05
    # ... and is worth less for setting the 1997 premium (weighted EVPPI after, plain before);
    # the weighted estimator itself is checked against an exact value in tests/analysis/test_voi.py
    farmers = pri.loc["voluntary_uptake_farmers"]
    assert farmers.posterior_evppi + 2 * farmers.posterior_evppi_se < farmers.prior_evppi
    assert (pri.posterior_evppi >= 0).all() and (pri.posterior_evppi_se > 0).any()


def test_command_prints_ess_and_method_and_writes_the_posterior(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "posterior.nc"
    code = main(
        [
            "update", SCENARIO, SCENARIO, str(EXAMPLE),
            "-n", "2000", "--method", "is", "-o", str(out), "--no-progress",
        ]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0
    assert "Effective sample size of the importance weights" in text
    assert "Method: importance sampling" in text
    assert "P(deficit)" in text and "still worth collecting" in text
    cube = xr.open_dataset(out)
    assert cube.weight.sum() == pytest.approx(1.0)
    assert cube.attrs["observations_sha256"] == hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    assert cube.attrs["observations_file"] == str(EXAMPLE)
    assert cube.attrs["update_method"] == "importance sampling"
    assert cube.attrs["distributions_sha256"]  # the cube's own provenance is kept


def test_commands_that_count_draws_equally_refuse_a_weighted_cube(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "posterior.nc"
    args = ["update", SCENARIO, SCENARIO, str(EXAMPLE), "-n", "1000", "--method", "is"]
    assert main([*args, "-o", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["risk", str(out)]) == 2
    assert "unequal weights" in capsys.readouterr().err


def test_a_derived_output_is_observed_from_its_parts() -> None:
    # coverage is a memorandum (members / population, summed over categories): the weights must
    # follow it, recomputed here from the cube's own members and population
    space = bind_space(SCENARIO, SCENARIO)
    obs = Observations((Observation(1993, "coverage", None, None, 0.12, 0.012, 0.1, 2),), "c", "")
    res = update(space, obs, 500, method="is", progress=False)
    cov = (
        res.prior.members.sel(year=1993).sum("category")
        / res.prior.population.sel(year=1993).sum("category")
    ).values
    w = np.exp(-0.5 * ((cov - 0.12) / 0.012) ** 2)
    np.testing.assert_allclose(res.weights, w / w.sum(), rtol=1e-9)
