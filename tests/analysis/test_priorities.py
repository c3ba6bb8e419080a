"""Which data to collect first (priorities.py): the ranking, its score, its stability
between seeds and its plain words."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from schemerisk.analysis.priorities import Priorities, rank_priorities
from schemerisk.analysis.sensitivity import PrecisionWarning, SobolResult, sobol_analysis
from schemerisk.analysis.voi import PremiumDecision, value_of_information
from schemerisk.model import compile_inputs
from schemerisk.scenario import load_scenario
from schemerisk.uncertainty.space import ParameterSpace, load_space

NAME = "hai_phong_1993_1997"


@pytest.fixture(scope="module")
def space() -> ParameterSpace:
    sc = load_scenario(NAME)
    return load_space(NAME, sc, compile_inputs(sc))


def _sobol(space: ParameterSpace, n: int, seed: int) -> SobolResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        return sobol_analysis(space.scenario, space, n, seed=seed, progress=False)


@pytest.fixture(scope="module")
def sobol(space: ParameterSpace) -> SobolResult:
    return _sobol(space, 256, seed=5)


@pytest.fixture(scope="module")
def pri(sobol: SobolResult, space: ParameterSpace) -> Priorities:
    return rank_priorities(sobol, space)


def test_table_holds_the_sobol_indices_and_the_value_of_information(
    pri: Priorities, sobol: SobolResult, space: ParameterSpace
) -> None:
    t = pri.table
    assert list(t.input.values) == list(space.groups())
    ind = sobol.indices
    xr.testing.assert_equal(t.ST_balance, ind.ST.sel(output="balance", drop=True))
    xr.testing.assert_equal(t.ST_deficit, ind.ST.sel(output="deficit", drop=True))
    xr.testing.assert_equal(t.S1_balance, ind.S1.sel(output="balance", drop=True))
    # the EVPPI comes from the A and B rows only: an unstructured sample of 2N projections
    base = sobol.cube.isel(draw=sobol.base_rows())
    assert base.sizes["draw"] == 2 * 256
    voi = value_of_information(base, space.groups()).table
    np.testing.assert_allclose(t.evppi.values, voi.evppi.values, rtol=1e-12)


def test_score_is_the_mean_of_three_shares(pri: Priorities) -> None:
    t = pri.table

    def share(v: np.ndarray) -> np.ndarray:  # (input, year)
        pos = np.clip(v, 0, None)
        total = pos.sum(axis=0, keepdims=True)
        return np.divide(pos, total, out=np.zeros_like(pos), where=total > 0)

    expected = (
        share(t.ST_balance.values) + share(t.ST_deficit.values) + share(t.evppi.values)
    ) / 3.0
    np.testing.assert_allclose(t.score.values, expected, rtol=1e-12, atol=1e-15)
    # shares of three totals: the scores of a year add up to 1 (or less, with an empty total)
    assert np.all(t.score.sum("input").values <= 1.0 + 1e-12)
    for i, year in enumerate(t.year.values):
        order = [str(x) for x in t.input.values[np.argsort(-expected[:, i], kind="stable")]]
        assert pri.ranking(int(year)) == order
        ranks = t["rank"].sel(year=year).values
        assert sorted(ranks.tolist()) == list(range(1, len(ranks) + 1))
    assert pri.ranking() == pri.ranking(1997)


def test_sentences_say_what_pinning_down_an_input_is_worth(pri: Priorities) -> None:
    sentences = pri.sentences(top=3)
    assert len(sentences) == 3
    ranking = pri.ranking()
    t = pri.table.sel(year=1997)
    for i, (sentence, name) in enumerate(zip(sentences, ranking, strict=False), start=1):
        assert sentence.startswith(f"{i}. Pinning down ")
        assert pri.labels[name] in sentence
        assert "1997 balance" in sentence
        pct = re.search(r"remove about (\d+) ?% of the variance", sentence)
        assert pct is not None, sentence
        # the share removed is S1, read conservatively: S1 <= ST <= 1 in theory, and the
        # sentence never claims more than ST when sampling error breaks that order
        st = min(max(float(t.ST_balance.sel(input=name)), 0.0), 1.0)
        s1 = min(max(float(t.S1_balance.sel(input=name)), 0.0), st)
        assert int(pct.group(1)) == round(100 * s1)
        amount = re.search(r"worth about ([\d,]+\.\d) million VND", sentence)
        assert amount is not None, sentence
        assert float(amount.group(1).replace(",", "")) == pytest.approx(
            float(t.evppi.sel(input=name)) / 1e6, abs=0.051
        )
    # another year and scale
    other = pri.sentences(1995, top=1, scale=1e3)[0]
    assert "1995 balance" in other and " thousand VND" in other


def test_labels_are_the_distributions_file_labels(pri: Priorities, space: ParameterSpace) -> None:
    doc = yaml.safe_load(Path(space.source).read_text(encoding="utf-8"))
    labels = {name: entry["label"] for name, entry in doc["inputs"].items()}
    assert pri.labels["admission_rate"] == labels["admission_rate"] == "the admission rate"
    assert pri.labels["domestic_inflation + wage_growth"] == (
        f"{labels['domestic_inflation']} together with {labels['wage_growth']}"
    )
    for group, members in space.groups().items():
        if len(members) == 1:
            assert pri.labels[group] == labels[members[0]]


def test_a_costlier_deficit_raises_the_value_of_information(
    sobol: SobolResult, space: ParameterSpace
) -> None:
    cheap = rank_priorities(sobol, space, PremiumDecision(1.0, 1.0)).voi.table.evpi
    dear = rank_priorities(sobol, space, PremiumDecision(4.0, 1.0)).voi.table.evpi
    assert bool((dear > cheap).all())


@pytest.mark.slow
def test_ranking_is_stable_between_seeds_at_the_default_n(space: ParameterSpace) -> None:
    """N = 1024 is the default of ``schemerisk priorities``: two seeds, same top three."""
    tops = []
    for seed in (0, 1):
        pri = rank_priorities(_sobol(space, 1024, seed), space)
        tops.append(pri.ranking()[:3])
    assert set(tops[0]) == set(tops[1]), tops
    assert tops[0][0] == tops[1][0]
