"""Which data to collect first (priorities.py, study.py): data ranked by EVPPI, the environment
apart, sentences that match the definitions, the adaptive Sobol' design, JSON."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import xarray as xr

from schemerisk.analysis.priorities import Priorities, indexed_premium_risk, shown_index
from schemerisk.analysis.study import PriorityStudy, priority_study
from schemerisk.model import compile_inputs, project
from schemerisk.scenario import load_scenario
from schemerisk.uncertainty.sampling import Sampler, unit_design
from schemerisk.uncertainty.space import ParameterSpace, load_space
from schemerisk.uncertainty.targets import InputKind

NAME = "hai_phong_1993_1997"


@pytest.fixture(scope="module")
def space() -> ParameterSpace:
    sc = load_scenario(NAME)
    return load_space(NAME, sc, compile_inputs(sc))


@pytest.fixture(scope="module")
def study(space: ParameterSpace) -> PriorityStudy:
    # a small start and cap: the doubling is exercised, the run stays cheap
    return priority_study(space, 5, n_start=128, n_max=256, progress=False)


@pytest.fixture(scope="module")
def pri(study: PriorityStudy) -> Priorities:
    return study.priorities


def test_only_data_is_ranked_and_by_evppi(pri: Priorities, space: ParameterSpace) -> None:
    t = pri.table
    assert list(t.input.values) == list(space.groups())
    for year in t.year.values:
        ranking = pri.ranking(int(year))
        env = pri.environment(int(year))
        assert set(ranking) | set(env) == set(space.groups())
        assert not set(ranking) & set(env)
        assert "domestic_inflation + wage_growth" in env and "population_growth" in env
        assert "insured_use" in ranking and "admission_rate" in ranking
        values = [float(t.evppi.sel(input=n, year=year)) for n in ranking]
        assert values == sorted(values, reverse=True)
        assert [int(t["rank"].sel(input=n, year=year)) for n in ranking] == list(
            range(1, len(ranking) + 1)
        )
        assert all(int(t["rank"].sel(input=n, year=year)) == 0 for n in env)
    kinds = dict(zip(t.input.values, t.kind.values, strict=True))
    assert kinds["voluntary_uptake_farmers + voluntary_uptake_dependants"] == InputKind.DATA.value


def test_sentences_match_the_definitions(pri: Priorities) -> None:
    t = pri.table.sel(year=1997)
    for i, (sentence, name) in enumerate(
        zip(pri.sentences(top=3), pri.ranking(), strict=False), start=1
    ):
        row = t.sel(input=name)
        s1, st, _ = shown_index(float(row.S1_balance), float(row.ST_balance))
        assert sentence.startswith(f"{i}. Learning {pri.labels[name]} exactly would remove about ")
        removed = re.search(r"remove about (\d+)% of the variance of the 1997 balance", sentence)
        involved = re.search(r"it is involved in about (\d+)% of it", sentence)
        assert removed and int(removed.group(1)) == round(100 * s1)  # first order
        assert involved and int(involved.group(1)) == round(100 * st)  # total order
        # the EVPPI names the decision and the loss
        assert "setting the 1997 premium multiplier" in sentence
        assert "each VND of deficit costs 2 VND and each VND of surplus 1" in sentence
        amount = re.search(r"lower the expected loss by about ([\d,]+\.\d) million VND", sentence)
        assert amount is not None
        assert float(amount.group(1).replace(",", "")) == pytest.approx(
            float(row.evppi) / 1e6, abs=0.051
        )
    env = pri.environment_sentences(1997)
    assert len(env) == len(pri.environment(1997))
    assert all("cannot be collected, only prepared for" in s for s in env)


def test_indices_outside_their_range_are_called_noise() -> None:
    assert shown_index(0.3, 0.5) == (0.3, 0.5, "")
    s1, st, note = shown_index(0.949, 0.846)
    assert (s1, st) == (0.846, 0.846) and "sampling noise" in note
    s1, st, note = shown_index(-0.02, 1.3)
    assert (s1, st) == (0.0, 1.0) and "S1 = -0.02, ST = 1.3 " in note
    # a raw estimate near 0 keeps its digits (it printed as "-0.000")
    assert "S1 = -6.9e-06" in shown_index(-6.9e-6, 5.7e-5)[2]
    # ... and enough digits to show the problem: not "S1 = 0.85, ST = 0.85" or "ST = 1"
    assert "S1 = 0.851, ST = 0.846 " in shown_index(0.851, 0.846)[2]
    assert "ST = 1.004 " in shown_index(0.5, 1.004)[2]
    # an input without effect: both indices 0 up to rounding, in either order, is not noise
    assert shown_index(9.6e-18, 1.4e-32) == (1.4e-32, 1.4e-32, "")
    assert shown_index(-3e-17, 2e-16) == (0.0, 2e-16, "")
    assert "sampling noise" in shown_index(-2e-9, 0.0)[2]  # beyond rounding: said


def test_the_design_doubles_by_extending_the_sequence(
    study: PriorityStudy, space: ParameterSpace
) -> None:
    assert study.sizes[0] == 128 and study.sobol.n_base == study.sizes[-1] <= 256
    n = study.sobol.n_base
    # the cube is the one a single design of the final N would give
    design = unit_design(space, n, 5, Sampler.SALTELLI)
    assert study.sobol.cube.sizes["draw"] == design.n_rows
    x = np.column_stack(
        [
            study.sobol.cube[f"input_{e.name}"].values.reshape(design.n_rows, -1)
            for e in space.entries
        ]
    )
    from schemerisk.uncertainty.sampling import to_values

    np.testing.assert_array_equal(x, to_values(space, design.matrix))  # type: ignore[arg-type]


def test_same_seed_same_answer(study: PriorityStudy, space: ParameterSpace) -> None:
    again = priority_study(space, 5, n_start=128, n_max=256, progress=False)
    xr.testing.assert_identical(again.priorities.table, study.priorities.table)


def test_json_holds_the_full_ranking(pri: Priorities) -> None:
    doc = json.loads(pri.to_json())
    assert doc["currency"] == "VND" and doc["decision"]["deficit_cost"] == 2.0
    assert set(doc["years"]) == {str(int(y)) for y in pri.table.year.values}
    rows = doc["years"]["1997"]["inputs"]
    assert [r["input"] for r in rows if r["kind"] == "data"] == pri.ranking(1997)
    for r in rows:
        t = pri.table.sel(input=r["input"], year=1997)
        assert r["evppi"] == float(t.evppi) and r["evppi_se"] == float(t.evppi_se)
        assert r["S1"] == float(t.S1_balance) and r["ST"] == float(t.ST_balance)


def test_indexed_premiums_computed_with_the_model(
    study: PriorityStudy, space: ParameterSpace
) -> None:
    """The indexed balance is the model's own: re-projecting with the flat premiums scaled."""
    from dataclasses import replace

    from schemerisk.analysis.solver import Adjust, _adjust_category

    base = study.sobol.cube.isel(draw=study.sobol.base_rows())
    planned = project(space.scenario)
    prot = indexed_premium_risk(base, planned)
    assert set(prot) >= {"p_deficit_plan", "p_deficit_prices", "p_deficit_wages"}
    np.testing.assert_allclose(prot.p_deficit_plan.values, (base.balance < 0).mean("draw").values)
    # the identity balance + (f - 1) * flat revenue, checked by re-running the model with the
    # flat premiums scaled by one draw's realised / planned price index
    f = (base.domestic_price_index.isel(draw=3) / planned.domestic_price_index).values
    sc = space.scenario
    cats = tuple(_adjust_category(c, Adjust.FLAT_PREMIUMS, f) for c in sc.categories)
    rerun = project(replace(sc, categories=cats))
    identity = planned.balance + (f - 1.0) * planned.flat_premium_revenue
    np.testing.assert_allclose(rerun.balance.values, identity.values, rtol=1e-9)
    # indexing to prices protects against inflation: fewer deficits in the last year
    assert float(prot.p_deficit_prices.isel(year=-1)) < float(prot.p_deficit_plan.isel(year=-1))


def test_a_years_ranking_is_the_same_ranked_alone_or_with_every_year(
    study: PriorityStudy, space: ParameterSpace
) -> None:
    """``years=`` (what ``priorities`` and ``report`` show) changes which years, not the values."""
    from schemerisk.analysis.priorities import rank_priorities

    full = study.priorities
    for years in ([1997], [1994], [1993, 1996]):
        alone = rank_priorities(study.sobol, space, seed=5, years=years)
        assert [int(y) for y in alone.table.year.values] == years
        assert [int(y) for y in alone.voi.table.year.values] == years
        xr.testing.assert_identical(alone.table, full.table.sel(year=years))
        xr.testing.assert_identical(alone.voi.table, full.voi.table.sel(year=years))
        for y in years:
            assert alone.sentences(y) == full.sentences(y)
            assert alone.ranking(y) == full.ranking(y)
    # through priority_study, the one code path of the commands
    one = priority_study(space, 5, n_start=128, n_max=256, progress=False, years=[1995])
    xr.testing.assert_identical(one.priorities.table, full.table.sel(year=[1995]))
    xr.testing.assert_identical(one.sobol.indices, study.sobol.indices)  # every year still
