"""Unit-cube designs: the Saltelli matrix is SALib's, built without SALib's element loop."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from SALib.sample import sobol as salib_sample

from schemerisk.model.layout import ModelInputs
from schemerisk.scenario import Scenario
from schemerisk.uncertainty.sampling import Sampler, saltelli_matrix, unit_design
from schemerisk.uncertainty.space import load_space

SCENARIO = "hai_phong_1993_1997"


@pytest.mark.parametrize("second_order", [False, True])
@pytest.mark.parametrize(
    "groups",
    [
        ["x1", "x2", "x3"],  # one column per group
        ["b", "a", "b", "c", "a"],  # groups spread over columns, first seen not sorted
        ["infl", "infl", "infl", "wage", "uptake"],  # a per-year path as one group
    ],
)
@pytest.mark.parametrize("n", [8, 100, 256])
def test_saltelli_matrix_is_salibs_bit_for_bit(
    groups: list[str], second_order: bool, n: int
) -> None:
    problem = {
        "num_vars": len(groups),
        "names": [f"v{i}" for i in range(len(groups))],
        "bounds": [[0.0, 1.0]] * len(groups),
        "groups": groups,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # N = 100 is not a power of two
        expected = salib_sample.sample(problem, n, calc_second_order=second_order, seed=2024)
    got = saltelli_matrix(groups, n, 2024, second_order)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    assert got.flags.c_contiguous


def test_saltelli_matrix_depends_on_the_seed() -> None:
    one = saltelli_matrix(["a", "b"], 16, 1, False)
    two = saltelli_matrix(["a", "b"], 16, 2, False)
    assert not np.array_equal(one, two)


def test_a_saltelli_design_warns_when_n_is_not_a_power_of_two(
    scenario: Scenario, inputs: ModelInputs
) -> None:
    space_b = load_space(SCENARIO, scenario, inputs)

    with pytest.warns(UserWarning, match="power of two; 100 is not"):
        unit_design(space_b, 100, 0, Sampler.SALTELLI)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unit_design(space_b, 128, 0, Sampler.SALTELLI)
