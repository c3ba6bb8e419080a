"""A Monte Carlo run that grows (montecarlo.Run): rows added later equal one run of them all.

The Sobol' doubling projects only each doubling's new rows into the same arrays;
the cube of the rows so far must be, value for value, the cube of one run of the
whole design (what concatenating two cubes gave before).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import xarray as xr

from schemerisk.analysis.study import PRIORITY_KEEP
from schemerisk.uncertainty.montecarlo import Run, run_design
from schemerisk.uncertainty.sampling import Design, Sampler, unit_design
from schemerisk.uncertainty.space import ParameterSpace
from tests.uncertainty.test_unitmap import EVERY_FAMILY

Space = Callable[[str], ParameterSpace]


def _tail(design: Design, start: int) -> Design:
    assert design.matrix is not None
    rows = design.matrix[start:]
    return Design(design.sampler, design.seed, rows.shape[0], design.n_columns, rows)


@pytest.mark.parametrize("capacity", [0, 10, 4000])  # none, too small (grows twice), enough
def test_rows_added_later_equal_one_run_of_them_all(space_of: Space, capacity: int) -> None:
    space = space_of(EVERY_FAMILY)
    whole = unit_design(space, 3000, 4, Sampler.LHS)
    first = Design(whole.sampler, whole.seed, 1000, whole.n_columns, whole.matrix[:1000])
    run = Run(space, PRIORITY_KEEP, capacity=capacity)
    run.extend(first, chunk_size=300, progress=False)
    early = run.cube(first)
    run.extend(_tail(whole, 1000), chunk_size=700, progress=False)
    grown = run.cube(whole)
    once = run_design(space, whole, keep=PRIORITY_KEEP, progress=False)
    xr.testing.assert_identical(grown, once)  # every variable, coordinate and attribute
    # the first cube still shows its own 1000 rows, as one run of them gives
    xr.testing.assert_identical(early, run_design(space, first, keep=PRIORITY_KEEP, progress=False))


def test_a_cube_needs_the_design_of_the_rows_so_far(space_of: Space) -> None:
    space = space_of(EVERY_FAMILY)
    design = unit_design(space, 50, 1)
    run = Run(space, ["balance"], inputs=False)
    run.extend(design, progress=False)
    with pytest.raises(ValueError, match="the design has 100 rows, the run 50"):
        run.cube(unit_design(space, 100, 1))
    cube = run.cube(design)
    assert not [v for v in cube.data_vars if str(v).startswith("input_")]
    np.testing.assert_array_equal(
        cube.balance.values, run_design(space, design, keep=["balance"], progress=False).balance
    )


def test_a_design_of_no_rows_adds_nothing(space_of: Space) -> None:
    space = space_of(EVERY_FAMILY)
    first = unit_design(space, 20, 3)
    run = Run(space, ["balance"])
    run.extend(first, progress=False)
    none = Design(Sampler.LHS, 0, 0, space.n_columns, np.empty((0, space.n_columns)))
    run.extend(none, progress=False)  # the Sobol' doubling never asks this; a caller may
    assert run.n == 20
    assert Run(space, ["balance"]).cube(none).sizes["draw"] == 0
