"""The table-based inverse CDFs (uncertainty/_inverse.py) keep the bound the draws promise.

Checked against SciPy's exact CDFs (``scipy.stats.beta`` and ``truncnorm``, an
independent implementation of the same distributions) on a million random
probabilities, an even grid and the extreme tails, for skewed, symmetric,
near-uniform and very peaked shapes: ``|F(x(u)) - u| <= INVERSION_U_ERROR``,
every value in the support, monotone in ``u``; and the compiled evaluation gives
NumPy's bits.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from schemerisk.uncertainty import _inverse
from schemerisk.uncertainty._unitmap import table_value_at
from schemerisk.uncertainty.families import INVERSION_U_ERROR, make_marginal

BETA_SHAPES = [
    (2.7778, 3.2222),  # Hai Phong's PERTs
    (2.26, 3.74),
    (3.0, 3.0),
    (4.2, 1.8),  # pert(0.75, 0.95, 1.0): skewed left, SciPy's earlier hang
    (1.0, 1.0),  # uniform
    (1.0, 5.0),  # the density largest at an end
    (5.0, 1.0),
    (1.001, 2.0),  # a density with an infinite slope at 0
    (1.0, 1.0001),
    (12.6, 50.4),  # beta(mean 0.2, sd 0.05)
    (1.2, 80.0),
    (300.0, 2.0),  # very peaked, mass far from 0
]
TRUNCATED = [  # mean, sd, low, high
    (0.0, 0.1, -0.3, 0.3),  # Hai Phong's real depreciation
    (0.02, 0.03, 0.0, 0.5),
    (5.0, 1.0, 6.0, 9.0),  # above the mean: the upper tail of the normal
    (0.0, 1.0, -10.0, -8.0),  # far in the lower tail
    (0.0, 1.0, -0.001, 0.001),  # nearly uniform
    (0.0, 1.0, -40.0, 40.0),
]


def _probabilities() -> np.ndarray:
    tails = np.array([0.0, 1e-300, 2.0**-53, 1e-14, 1e-12, 1e-10, 1e-8, 1e-6])
    return np.concatenate(
        [
            np.random.default_rng(2026).random(1_000_000),
            np.linspace(0.0, 1.0, 100_001),
            tails,
            1.0 - tails,
        ]
    )


def _check(table: _inverse.InverseTable | None, exact: stats.rv_continuous) -> None:
    assert table is not None
    u = _probabilities()
    x = table.ppf(u)
    lo, hi = exact.support()
    assert np.all((x >= lo) & (x <= hi))
    error = np.abs(exact.cdf(x) - u)
    assert error.max() <= INVERSION_U_ERROR, f"largest |F(x(u)) - u| {error.max():.3g}"
    order = np.argsort(u, kind="stable")
    assert np.all(np.diff(x[order]) >= 0.0), "the inverse must be monotone"
    # the compiled evaluation, value by value: NumPy's bits
    some = np.concatenate([u[::97], [np.nan]])
    compiled = np.array(
        [table_value_at(q, *table.arrays(), 0, 0, table.pieces, table.lo, table.hi) for q in some]
    )
    np.testing.assert_array_equal(compiled.view(np.int64), table.ppf(some).view(np.int64))


@pytest.mark.parametrize(("a", "b"), BETA_SHAPES)
def test_a_beta_table_keeps_the_bound(a: float, b: float) -> None:
    lo, hi = 0.75, 1.3
    _check(_inverse.build_beta_table(a, b, lo, hi), stats.beta(a, b, loc=lo, scale=hi - lo))


@pytest.mark.parametrize(("mean", "sd", "lo", "hi"), TRUNCATED)
def test_a_truncated_normal_table_keeps_the_bound(
    mean: float, sd: float, lo: float, hi: float
) -> None:
    exact = stats.truncnorm((lo - mean) / sd, (hi - mean) / sd, loc=mean, scale=sd)
    _check(_inverse.build_truncated_normal_table(mean, sd, lo, hi), exact)


def test_shapes_without_a_bounded_density_or_support_get_no_table() -> None:
    assert _inverse.build_beta_table(0.5, 2.0, 0.0, 1.0) is None  # infinite density at 0
    assert _inverse.build_beta_table(2.0, 0.9, 0.0, 1.0) is None
    assert _inverse.build_truncated_normal_table(0.0, 1.0, 0.0, np.inf) is None
    # such marginals keep SciPy's numerical inverse, within the same bound
    m = make_marginal("truncated_normal", {"mean": 0.02, "sd": 0.03, "low": 0.0})
    assert not isinstance(m._fast_inverse(), _inverse.InverseTable)
    u = np.linspace(0.0, 1.0, 10_001)
    assert np.abs(m.cdf(m.ppf(u)) - u).max() <= INVERSION_U_ERROR


@pytest.mark.parametrize(
    ("family", "params"),
    [
        ("pert", {"low": 0.065, "mode": 0.0713, "high": 0.085}),
        ("beta", {"mean": 0.2, "sd": 0.05}),
        ("truncated_normal", {"mean": 0.0, "sd": 0.1, "low": -0.3, "high": 0.3}),
    ],
)
def test_marginals_draw_from_their_table(family: str, params: dict[str, float]) -> None:
    m = make_marginal(family, params)
    table = m._fast_inverse()
    assert isinstance(table, _inverse.InverseTable)
    u = np.random.default_rng(3).random(10_000)
    np.testing.assert_array_equal(m.ppf(u), table.ppf(u))
    # away from the tails the drawn values are close to SciPy's exact inverse
    np.testing.assert_allclose(m.ppf(u), m.exact_ppf(u), rtol=1e-8)


def test_a_piece_missing_the_bound_is_split_until_it_keeps_it() -> None:
    """With a tolerance 100 times tighter the table has more pieces and keeps it."""
    coarse = _inverse.build_beta_table(4.2, 1.8, 0.0, 1.0, 1e-9)
    fine = _inverse.build_beta_table(4.2, 1.8, 0.0, 1.0, 1e-11)
    assert coarse is not None and fine is not None
    assert fine.pieces > 2 * coarse.pieces
    u = _probabilities()
    exact = stats.beta(4.2, 1.8)
    assert np.abs(exact.cdf(coarse.ppf(u)) - u).max() <= 1e-9
    assert np.abs(exact.cdf(coarse.ppf(u)) - u).max() > 1e-11  # the coarse one is coarser
