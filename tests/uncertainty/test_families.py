"""Contract tests over every distribution family in ``FAMILIES``.

Each family has representative parameter sets: one for each of its natural forms
and, where the family has a quantile form, quantiles as an expert would give them
("5th percentile 0.06, 95th 0.45"). A family added to ``FAMILIES`` without such
sets fails ``test_every_family_has_representative_parameters`` until it gets them,
and is then covered by every contract below.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from schemerisk.uncertainty.families import (
    FAMILIES,
    INVERSION_U_ERROR,
    FamilyError,
    make_marginal,
    quantile_keys,
)

LOGNORMAL_MEDIAN_BUG = (
    "make_marginal treats 'median' as a quantile key even when it is the natural "
    "parameter of the (median, sigma) form, so lognormal(median, sigma) is rejected "
    "as 'fixed by 2 quantiles, got 1'"
)

#: natural parameter sets, at least one per form of each family
NATURAL: dict[str, list[dict[str, Any]]] = {
    "fixed": [{"value": 0.15}],
    "uniform": [{"low": 0.018, "high": 0.026}],
    "triangular": [{"low": 0.5, "mode": 1.0, "high": 2.5}],
    "pert": [
        {"low": 0.065, "mode": 0.0713, "high": 0.085},
        {"low": 0.5, "mode": 1.0, "high": 2.5, "shape": 6.0},
    ],
    "normal": [{"mean": 0.15, "sd": 0.05}],
    "truncated_normal": [
        {"mean": 0.0, "sd": 0.10, "low": -0.3},
        {"mean": 0.3, "sd": 0.12, "high": 0.4},
        {"mean": 0.0, "sd": 0.10, "low": -0.3, "high": 0.3},
    ],
    "lognormal": [{"median": 0.15, "sigma": 0.3}, {"mean": 0.15, "sd": 0.05}],
    "beta": [
        {"alpha": 2.0, "beta": 5.0},
        {"alpha": 2.0, "beta": 5.0, "low": 1.0, "high": 3.0},
        {"mean": 0.2, "sd": 0.05},
        {"mean": 1.5, "sd": 0.2, "low": 1.0, "high": 3.0},
    ],
    "gamma": [{"shape": 3.0, "scale": 2.0}, {"mean": 1.1, "sd": 0.1}],
    "discrete": [
        {"values": [0.1, 0.2, 0.35]},
        {"values": [3.0, 1.0, 2.5], "weights": [0.2, 0.5, 0.3]},
    ],
    "empirical": [{"values": [0.675, 0.67, 0.18, 0.15, 0.18]}],
}

#: quantile parameter sets, as an expert gives them, for every family with a quantile form
QUANTILES: dict[str, list[dict[str, Any]]] = {
    "uniform": [{"p05": 0.02, "p95": 0.024}],
    "triangular": [{"p10": 1.0, "median": 1.2, "p90": 1.5}],
    "pert": [
        {"p10": 1.0, "median": 1.2, "p90": 1.5},
        {"p10": 1.0, "median": 1.2, "p90": 1.5, "shape": 6.0},
    ],
    "normal": [{"p05": 0.06, "p95": 0.10}],
    "truncated_normal": [
        {"p05": 0.1, "p95": 0.5, "low": 0.0},
        {"p05": 0.1, "p95": 0.35, "high": 0.4},
        {"p05": -0.2, "p95": 0.2, "low": -0.3, "high": 0.3},
    ],
    "lognormal": [{"p05": 0.06, "p95": 0.45}],
    "beta": [{"p05": 0.1, "p95": 0.5}, {"p05": 2.0, "p95": 5.0, "low": 1.0, "high": 10.0}],
    "gamma": [{"p05": 1.0, "p95": 3.0}],
}


def _label(params: dict[str, Any]) -> str:
    return ",".join(params)


def _cases(table: dict[str, list[dict[str, Any]]]) -> list[Any]:
    return [
        pytest.param(fam, p, id=f"{fam}[{_label(p)}]")
        for fam in FAMILIES
        for p in table.get(fam, [])
    ]


NATURAL_CASES = _cases(NATURAL)
QUANTILE_CASES = _cases(QUANTILES)
ALL_CASES = NATURAL_CASES + QUANTILE_CASES

#: a grid of probabilities in (0, 1), including the tails
U_GRID = np.concatenate([[1e-6, 1e-4, 1e-3], np.linspace(0.01, 0.99, 99), [0.999, 1 - 1e-4]])


# --- every family is covered -------------------------------------------------------------


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_has_representative_parameters(name: str) -> None:
    fam = FAMILIES[name]
    sets = NATURAL.get(name, [])
    given_forms = {frozenset(p) for p in sets}
    missing = [f for f in fam.forms if frozenset(f) not in given_forms]
    assert not missing, (
        f"add a representative parameter set to NATURAL for {name} form(s) {missing}"
    )
    if fam.n_quantiles:
        assert QUANTILES.get(name), f"add quantile parameter sets to QUANTILES for {name}"
        for p in QUANTILES[name]:
            assert len(quantile_keys(p)) == fam.n_quantiles


# --- inverse CDF and CDF are inverses ---------------------------------------------------


@pytest.mark.parametrize(("family", "params"), ALL_CASES)
def test_cdf_and_ppf_are_inverses(family: str, params: dict[str, Any]) -> None:
    m = make_marginal(family, params)
    if not m.is_discrete:
        np.testing.assert_allclose(m.cdf(m.exact_ppf(U_GRID)), U_GRID, rtol=1e-9, atol=0)
        # the inverse used for drawing may be numerical, within its documented bound
        np.testing.assert_allclose(m.cdf(m.ppf(U_GRID)), U_GRID, rtol=0, atol=INVERSION_U_ERROR)
        return
    support = np.unique(np.asarray(params.get("values", [params.get("value")]), dtype=float))
    np.testing.assert_array_equal(m.ppf(m.cdf(support)), support)
    drawn = m.ppf(np.concatenate([[0.0], U_GRID, [1.0]]))
    assert set(drawn.tolist()) <= set(support.tolist())


@pytest.mark.parametrize(("family", "params"), ALL_CASES)
def test_draws_stay_in_the_support(family: str, params: dict[str, Any]) -> None:
    m = make_marginal(family, params)
    lo, hi = m.support()
    x = m.ppf(np.concatenate([[0.0, 1e-15], U_GRID, [1 - 1e-15, 1.0]]))
    assert not np.any(np.isnan(x))
    assert np.all(x >= lo)
    assert np.all(x <= hi)
    assert lo <= hi


@pytest.mark.parametrize(("family", "params"), ALL_CASES)
def test_marginal_is_reproducible_and_describable(family: str, params: dict[str, Any]) -> None:
    a, b = make_marginal(family, params), make_marginal(family, params)
    np.testing.assert_array_equal(a.ppf(U_GRID), b.ppf(U_GRID))
    assert a.describe().startswith(f"{family}(")


# --- quantile parameterisation ----------------------------------------------------------


@pytest.mark.parametrize(("family", "params"), QUANTILE_CASES)
def test_quantiles_are_hit(family: str, params: dict[str, Any]) -> None:
    qk = quantile_keys(params)
    m = make_marginal(family, params)
    probs = np.array(list(qk.values()))
    wanted = np.array([params[k] for k in qk])
    np.testing.assert_allclose(m.ppf(probs), wanted, rtol=1e-7, atol=0)
    for bound in ("low", "high"):
        if bound in params:  # bounds given with the quantiles are kept
            assert m.params[bound] == params[bound]


_QUANTILE_PROBS = {2: ("p05", 0.05, "p95", 0.95), 3: ("p10", 0.1, "median", 0.5, "p90", 0.9)}


@pytest.mark.parametrize(
    ("family", "params"),
    [c for c in NATURAL_CASES if FAMILIES[c.values[0]].n_quantiles],
)
def test_quantiles_of_a_member_give_that_member_back(family: str, params: dict[str, Any]) -> None:
    fam = FAMILIES[family]
    original = make_marginal(family, params)
    spec = _QUANTILE_PROBS[fam.n_quantiles]
    keys, probs = spec[0::2], np.array(spec[1::2])
    given = dict(zip(keys, original.ppf(probs).tolist(), strict=True))
    extra = {k: v for k, v in params.items() if k in fam.quantile_extra}
    fitted = make_marginal(family, {**given, **extra})
    grid = np.linspace(0.02, 0.98, 49)
    spread = float(np.ptp(original.ppf(grid)))
    np.testing.assert_allclose(fitted.ppf(grid), original.ppf(grid), rtol=1e-6, atol=1e-9 * spread)


# --- moments ------------------------------------------------------------------------------


def _tri_sd(a: float, c: float, b: float) -> float:
    return math.sqrt((a * a + b * b + c * c - a * b - a * c - b * c) / 18)


MOMENTS = [
    pytest.param("fixed", {"value": 0.15}, 0.15, 0.0, id="fixed"),
    pytest.param("normal", {"mean": 0.15, "sd": 0.05}, 0.15, 0.05, id="normal"),
    pytest.param("lognormal", {"mean": 0.15, "sd": 0.05}, 0.15, 0.05, id="lognormal-mean-sd"),
    pytest.param("beta", {"mean": 0.2, "sd": 0.05}, 0.2, 0.05, id="beta-mean-sd"),
    pytest.param(
        "beta",
        {"mean": 1.5, "sd": 0.2, "low": 1.0, "high": 3.0},
        1.5,
        0.2,
        id="beta-mean-sd-bounds",
    ),
    pytest.param("gamma", {"mean": 1.1, "sd": 0.1}, 1.1, 0.1, id="gamma-mean-sd"),
    pytest.param(
        "uniform",
        {"low": 0.018, "high": 0.026},
        0.022,
        0.008 / math.sqrt(12),
        id="uniform",
    ),
    pytest.param(
        "triangular",
        {"low": 0.5, "mode": 1.0, "high": 2.5},
        (0.5 + 1.0 + 2.5) / 3,
        _tri_sd(0.5, 1.0, 2.5),
        id="triangular",
    ),
    pytest.param(
        "pert",
        {"low": 0.065, "mode": 0.0713, "high": 0.085},
        (0.065 + 4 * 0.0713 + 0.085) / 6,
        # with the default shape 4, var = (mean - low) (high - mean) / 7
        math.sqrt(
            ((0.065 + 4 * 0.0713 + 0.085) / 6 - 0.065)
            * (0.085 - (0.065 + 4 * 0.0713 + 0.085) / 6)
            / 7
        ),
        id="pert",
    ),
    pytest.param(
        "discrete",
        {"values": [3.0, 1.0, 2.5], "weights": [0.2, 0.5, 0.3]},
        0.2 * 3 + 0.5 * 1 + 0.3 * 2.5,
        math.sqrt(0.2 * 3**2 + 0.5 * 1**2 + 0.3 * 2.5**2 - (0.2 * 3 + 0.5 + 0.3 * 2.5) ** 2),
        id="discrete",
    ),
    pytest.param(
        "empirical",
        {"values": [0.675, 0.67, 0.18, 0.15, 0.18]},
        float(np.mean([0.675, 0.67, 0.18, 0.15, 0.18])),
        float(np.std([0.675, 0.67, 0.18, 0.15, 0.18])),
        id="empirical",
    ),
]


@pytest.mark.parametrize(("family", "params", "mean", "sd"), MOMENTS)
def test_moments(family: str, params: dict[str, Any], mean: float, sd: float) -> None:
    m = make_marginal(family, params)
    assert m.mean() == pytest.approx(mean, rel=1e-9, abs=1e-15)
    assert m.std() == pytest.approx(sd, rel=1e-9, abs=1e-15)
    n = 200_000
    x = m.ppf(np.random.default_rng(20240601).random(n))
    assert abs(x.mean() - mean) <= 5 * sd / math.sqrt(n) + 1e-15
    assert x.std() == pytest.approx(sd, rel=0.02, abs=1e-15)


# --- errors -------------------------------------------------------------------------------

ERRORS = [
    # negative spread
    pytest.param("normal", {"mean": 0.15, "sd": -0.05}, ("'sd'", "above 0"), id="normal-sd<0"),
    pytest.param("lognormal", {"mean": 0.15, "sd": -0.05}, ("'sd'",), id="lognormal-sd<0"),
    pytest.param(
        "lognormal", {"median": 0.15, "sigma": -0.3}, ("'sigma'",), id="lognormal-sigma<0"
    ),
    pytest.param("beta", {"mean": 0.2, "sd": -0.05}, ("'sd'",), id="beta-sd<0"),
    pytest.param("gamma", {"mean": 1.1, "sd": -0.1}, ("'sd'",), id="gamma-sd<0"),
    pytest.param(
        "truncated_normal", {"mean": 0, "sd": -0.1, "low": -0.3}, ("'sd'",), id="truncnorm-sd<0"
    ),
    pytest.param("normal", {"mean": 0.15, "sd": 0.0}, ("'sd'",), id="normal-sd=0"),
    # bounds reversed
    pytest.param("uniform", {"low": 0.026, "high": 0.018}, ("low", "high"), id="uniform-reversed"),
    pytest.param(
        "triangular",
        {"low": 2.5, "mode": 1.0, "high": 0.5},
        ("low", "high"),
        id="triangular-reversed",
    ),
    pytest.param(
        "pert", {"low": 0.085, "mode": 0.07, "high": 0.065}, ("low", "high"), id="pert-reversed"
    ),
    pytest.param(
        "truncated_normal",
        {"mean": 0.0, "sd": 0.1, "low": 0.3, "high": -0.3},
        ("low", "high"),
        id="truncnorm-reversed",
    ),
    pytest.param(
        "triangular",
        {"low": 0.5, "mode": 3.0, "high": 2.5},
        ("mode",),
        id="triangular-mode-outside",
    ),
    # quantiles reversed
    pytest.param(
        "lognormal", {"p05": 0.45, "p95": 0.06}, ("quantiles must increase",), id="q-reversed"
    ),
    pytest.param(
        "pert",
        {"p10": 1.5, "median": 1.2, "p90": 1.8},
        ("quantiles must increase",),
        id="q3-reversed",
    ),
    # impossible beta
    pytest.param("beta", {"mean": 1.2, "sd": 0.1}, ("mean", "1.2"), id="beta-mean>1"),
    pytest.param("beta", {"mean": -0.1, "sd": 0.1}, ("mean", "-0.1"), id="beta-mean<0"),
    pytest.param("beta", {"mean": 0.5, "sd": 0.6}, ("sd", "too large"), id="beta-sd-too-large"),
    # names
    pytest.param(
        "lognormall",
        {"p05": 0.06, "p95": 0.45},
        ("unknown family 'lognormall'", "did you mean 'lognormal'"),
        id="unknown-family",
    ),
    pytest.param(
        "normal",
        {"mean": 0.15, "sdd": 0.05},
        ("unknown parameter 'sdd'", "did you mean 'sd'"),
        id="unknown-parameter",
    ),
    pytest.param(
        "pert",
        {"low": 1, "mode": 2, "hihg": 3},
        ("unknown parameter 'hihg'", "did you mean 'high'"),
        id="unknown-parameter-pert",
    ),
    # quantile forms
    pytest.param(
        "normal",
        {"p05": 0.06, "median": 0.08, "p95": 0.10},
        ("2 quantiles", "got 3"),
        id="too-many-quantiles",
    ),
    pytest.param(
        "triangular", {"p10": 1.0, "p90": 1.5}, ("3 quantiles", "got 2"), id="too-few-quantiles"
    ),
    pytest.param(
        "discrete",
        {"p05": 1.0, "p95": 3.0},
        ("discrete", "cannot be given by quantiles"),
        id="discrete-quantiles",
    ),
    pytest.param(
        "empirical",
        {"p05": 1.0, "p95": 3.0},
        ("empirical", "cannot be given by quantiles"),
        id="empirical-quantiles",
    ),
    pytest.param(
        "fixed", {"p05": 1.0, "p95": 3.0}, ("cannot be given by quantiles",), id="fixed-quantiles"
    ),
    pytest.param("normal", {"p0": 0.01, "p95": 0.10}, ("'p0'",), id="quantile-at-0"),
    # missing or mixed forms
    pytest.param("normal", {"mean": 0.15}, ("mean and sd",), id="missing-parameter"),
    pytest.param(
        "discrete",
        {"values": [1.0, 2.0], "weights": [1.0]},
        ("weights", "2 entries"),
        id="discrete-weights-length",
    ),
    pytest.param(
        "discrete",
        {"values": [1.0, 2.0], "weights": [1.0, -1.0]},
        ("weights",),
        id="discrete-negative-weight",
    ),
    pytest.param("empirical", {"values": [1.0]}, ("at least two",), id="empirical-one-value"),
    pytest.param("normal", {"mean": "high", "sd": 0.05}, ("'mean'", "a number"), id="not-a-number"),
]


@pytest.mark.parametrize(("family", "params", "phrases"), ERRORS)
def test_impossible_parameters_are_refused(
    family: str, params: dict[str, Any], phrases: tuple[str, ...]
) -> None:
    with pytest.raises(FamilyError) as info:
        make_marginal(family, params)
    message = str(info.value)
    for phrase in phrases:
        assert phrase in message


def test_truncated_normal_by_quantiles_needs_a_bound() -> None:
    with pytest.raises(FamilyError, match="truncated_normal"):
        make_marginal("truncated_normal", {"p05": 0.1, "p95": 0.5})


def test_family_error_is_a_value_error() -> None:
    assert issubclass(FamilyError, ValueError)


def test_lognormal_median_sigma_form() -> None:
    m = make_marginal("lognormal", {"median": 0.15, "sigma": 0.3})
    assert float(m.ppf(np.array([0.5]))[0]) == pytest.approx(0.15, rel=1e-12)


# --- the numerical inverse used for drawing ----------------------------------------------

FAST_CASES = [
    ("pert", {"low": 0.75, "mode": 0.95, "high": 1.0}),  # beta(4.2, 1.8): skewed left
    ("pert", {"low": 0.0, "mode": 0.1, "high": 1.0}),
    ("beta", {"alpha": 2.5, "beta": 7.0}),
    ("truncated_normal", {"mean": 0.02, "sd": 0.03, "low": 0.0}),
    ("gamma", {"shape": 2.0, "scale": 0.5}),
]


@pytest.mark.parametrize(("family", "params"), FAST_CASES)
def test_numerical_inverse_is_used_and_within_its_bound(
    family: str, params: dict[str, Any]
) -> None:
    m = make_marginal(family, params)
    assert m._fast_inverse() is not None, "expected the numerical inverse for this shape"
    u = np.random.default_rng(7).random(200_000)
    u = np.concatenate([u, [2.0**-53, 1e-12, 1e-9, 0.5, 1 - 1e-9, 1 - 2.0**-53]])
    x = m.ppf(u)
    assert np.all(np.abs(m.cdf(x) - u) <= INVERSION_U_ERROR)
    lo, hi = m.support()
    assert np.all((x >= lo) & (x <= hi))
    assert np.all(np.diff(m.ppf(np.sort(u))) >= 0), "the inverse must be monotone"
    # away from the extreme tails the draws agree with scipy's exact inverse closely
    mid = u[(u > 1e-3) & (u < 1 - 1e-3)]
    np.testing.assert_allclose(m.ppf(mid), m.exact_ppf(mid), rtol=1e-6)


def test_exact_inverse_is_kept_where_the_numerical_one_misses_the_bound() -> None:
    # an arcsine-shaped beta has unbounded density at both ends: no checked approximation
    m = make_marginal("beta", {"alpha": 0.5, "beta": 0.5})
    assert m._fast_inverse() is None
    u = np.linspace(0.001, 0.999, 999)
    np.testing.assert_array_equal(m.ppf(u), m.exact_ppf(u))


def test_numerical_inverse_is_the_same_after_pickling() -> None:
    import pickle

    m = make_marginal("pert", {"low": 1.0, "mode": 2.0, "high": 5.0})
    unused = len(pickle.dumps(m))
    u = np.random.default_rng(3).random(10_000)
    before = m.ppf(u)
    blob = pickle.dumps(m)
    assert len(blob) == unused, "the cached inverse must not travel with the marginal"
    again = pickle.loads(blob)
    assert again._inverse is None
    np.testing.assert_array_equal(again.ppf(u), before)


@pytest.mark.parametrize(("family", "params"), ALL_CASES)
def test_a_marginal_frozen_on_first_use_has_scipys_support(
    family: str, params: dict[str, Any]
) -> None:
    """The support computed from the recipe is the frozen distribution's, bit for bit."""
    m = make_marginal(family, params)
    before = m.support()
    assert m._frozen is None or family in ("fixed",)  # support() froze nothing
    if m._is_fixed or m._values is not None:
        return
    assert before == tuple(float(v) for v in m._dist.support())
    assert m._frozen is not None  # frozen now


def test_a_pickled_marginal_is_frozen_again_where_it_is_used() -> None:
    import pickle

    m = make_marginal("pert", {"low": 1.0, "mode": 2.0, "high": 5.0})
    u = np.linspace(0.01, 0.99, 99)
    exact = m.exact_ppf(u)  # freezes it
    again = pickle.loads(pickle.dumps(m))
    assert again._frozen is None
    np.testing.assert_array_equal(again.exact_ppf(u), exact)
