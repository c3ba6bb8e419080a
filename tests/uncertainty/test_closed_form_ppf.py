"""The closed-form inverse CDFs equal scipy.stats' bit for bit (issue 13: cheaper to_values)."""

from __future__ import annotations

import numpy as np
import pytest

from schemerisk.uncertainty.families import _closed_form_ppf, make_marginal


@pytest.mark.parametrize(
    ("family", "params"),
    [
        ("normal", {"mean": 0.15, "sd": 0.05}),
        ("normal", {"mean": -3e5, "sd": 7.5e4}),
        ("lognormal", {"median": 0.08, "sigma": 0.3}),
        ("lognormal", {"mean": 1.2e6, "sd": 4e5}),
        ("uniform", {"low": 0.01, "high": 0.04}),
        ("uniform", {"low": -2.0, "high": 1e9}),
    ],
)
def test_closed_form_equals_scipy_bitwise(family, params) -> None:
    m = make_marginal(family, params)
    rng = np.random.default_rng(7)
    # the bulk, and the extremes to_values can pass (it clips to [2**-53, 1 - 2**-53])
    u = np.concatenate(
        [rng.random(200_002), [1e-300, 2.0**-53, 1e-15, 0.5, 1 - 1e-15, 1 - 2.0**-53]]
    )
    for shape in (u.shape, (u.size // 4, 4)):
        uu = u.reshape(shape)
        # the closed form itself (ppf would fall back to scipy if it were never taken)
        for view in (uu, uu.T):  # the transpose: a strided view, as a column of the design
            got = _closed_form_ppf(m, view)
            assert got is not None
            np.testing.assert_array_equal(got, m.exact_ppf(view))
            np.testing.assert_array_equal(m.ppf(view), got)


def test_probabilities_outside_the_open_interval_go_to_scipy() -> None:
    m = make_marginal("normal", {"mean": 1.0, "sd": 2.0})
    for bad in ([0.0, 0.5], [0.5, 1.0], [np.nan, 0.5], [-0.1, 0.5]):
        u = np.array(bad)
        assert _closed_form_ppf(m, u) is None
        np.testing.assert_array_equal(m.ppf(u), m.exact_ppf(u))  # -inf/inf/NaN as scipy says
    assert _closed_form_ppf(make_marginal("pert", {"low": 0, "mode": 1, "high": 3}), u) is None
