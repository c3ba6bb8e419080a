"""A run's chunks reuse their buffers: the same values as fresh arrays, and no stale rows.

``Design.rows(out=...)``, ``to_values(out=...)`` and the two sets of buffers that
``_drawn_chunks`` alternates give the bits of the arrays made afresh, whatever the
chunk size (a last, shorter chunk included).
"""

from __future__ import annotations

import numpy as np
import pytest

from schemerisk.uncertainty.montecarlo import _drawn_chunks, bind_space
from schemerisk.uncertainty.sampling import MC_BLOCK, to_values, unit_design


@pytest.fixture(scope="module")
def space():  # type: ignore[no-untyped-def]
    return bind_space("hai_phong_1993_1997", "hai_phong_1993_1997", horizon=10)


@pytest.mark.parametrize(
    ("start", "stop"), [(0, MC_BLOCK), (100, 3 * MC_BLOCK + 7), (5, 6), (0, 0)]
)
def test_design_rows_into_a_buffer_are_the_fresh_rows(space, start: int, stop: int) -> None:  # type: ignore[no-untyped-def]
    design = unit_design(space, 4 * MC_BLOCK, 7)
    fresh = design.rows(start, stop)
    buffer = np.full((stop - start, space.n_columns), np.nan)
    got = design.rows(start, stop, out=buffer)
    assert got is buffer
    np.testing.assert_array_equal(got.view(np.int64), fresh.view(np.int64))
    with pytest.raises(ValueError, match="C-ordered float64"):
        design.rows(start, stop, out=np.empty((stop - start + 1, space.n_columns)))


def test_values_into_a_buffer_are_the_fresh_values(space) -> None:  # type: ignore[no-untyped-def]
    unit = unit_design(space, 3000, 2).rows(0, 3000)
    fresh = to_values(space, unit, 2)
    buffer = np.full_like(unit, np.nan)
    assert to_values(space, unit, 2, out=buffer) is buffer
    np.testing.assert_array_equal(buffer.view(np.int64), fresh.view(np.int64))
    # a second, different chunk into the same buffer: nothing of the first is left
    other = unit_design(space, 3000, 3).rows(0, 3000)
    to_values(space, other, 2, out=buffer)
    np.testing.assert_array_equal(buffer.view(np.int64), to_values(space, other).view(np.int64))


@pytest.mark.parametrize("chunk", [1000, 4096, 2500])
def test_chunks_drawn_into_alternating_buffers_are_the_fresh_draws(space, chunk: int) -> None:  # type: ignore[no-untyped-def]
    n = 10_000  # 10 or 3 chunks, the last one shorter
    design = unit_design(space, n, 11)
    expected = to_values(space, design.rows(0, n))
    seen = []
    for start, stop, theta in _drawn_chunks(space, design, chunk):
        assert theta.shape == (stop - start, space.n_columns)
        # used before the next chunk is asked for, as the run does
        np.testing.assert_array_equal(theta.view(np.int64), expected[start:stop].view(np.int64))
        seen.append((start, stop))
    assert seen[0][0] == 0 and seen[-1][1] == n
