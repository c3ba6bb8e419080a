"""Sobol' indices from a run that keeps only balance and premium revenue (issue 13)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from schemerisk.analysis.sensitivity import SOBOL_OUTPUTS, PrecisionWarning, sobol_analysis
from schemerisk.model.results import DEFAULT_KEEP
from schemerisk.uncertainty.montecarlo import bind_space, run_design
from schemerisk.uncertainty.sampling import unit_design


def test_keeping_only_what_the_indices_read_gives_the_same_indices() -> None:
    name = "hai_phong_1993_1997"
    space = bind_space(name, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)  # N = 32 is imprecise, on purpose
        full = sobol_analysis(name, space, 32, seed=4, num_resamples=20)
        lean = sobol_analysis(name, space, 32, seed=4, num_resamples=20, keep=SOBOL_OUTPUTS)
    for v in full.indices.data_vars:  # the kernel writes the same numbers, whatever it keeps
        np.testing.assert_array_equal(full.indices[v].values, lean.indices[v].values, err_msg=v)
    outputs = {v for v in lean.cube.data_vars if not str(v).startswith("input_")}
    # the kept outputs and the two memoranda computed from them, nothing else
    assert outputs == {*SOBOL_OUTPUTS, "balance_share_of_revenue", "in_equilibrium"}
    assert len(DEFAULT_KEEP) > len(outputs)


def test_run_without_memoranda_keeps_the_same_outputs_and_inputs() -> None:
    name = "hai_phong_1993_1997"
    space = bind_space(name, name)
    design = unit_design(space, 700, 2, "mc")
    a = run_design(space, design, keep=["balance", "premium_revenue"], chunk_size=256)
    b = run_design(
        space, design, keep=["balance", "premium_revenue"], chunk_size=300, memoranda=False
    )
    assert "balance_share_of_revenue" not in b and "balance_share_of_revenue" in a
    for v in b.data_vars:
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=str(v))
    # the drawn inputs: each column of theta, as to_values made it
    from schemerisk.uncertainty.sampling import to_values

    theta = to_values(space, design.rows(0, 700))
    for e in space.entries:
        cols = space.columns[e.name]
        got = b[f"input_{e.name}"].values
        np.testing.assert_array_equal(got.reshape(700, -1), theta[:, cols])


def test_a_years_indices_are_the_same_computed_alone_or_with_every_year() -> None:
    """``years=`` (what ``schemerisk sensitivity`` prints) changes which indices, not their values."""
    from schemerisk.analysis.sensitivity import analyse_design
    from schemerisk.uncertainty.sampling import Sampler

    name = "hai_phong_1993_1997"
    space = bind_space(name, name, horizon=10)
    for second_order in (False, True):
        design = unit_design(space, 256, 3, Sampler.SALTELLI, second_order=second_order)
        cube = run_design(space, design, keep=SOBOL_OUTPUTS, progress=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PrecisionWarning)
            full = analyse_design(space, design, cube, num_resamples=50)
            for years in ([2003], [1995, 1993], [1999]):
                alone = analyse_design(space, design, cube, num_resamples=50, years=years)
                assert list(alone.indices.year.values) == years
                assert set(alone.indices.data_vars) == set(full.indices.data_vars)
                for v in full.indices.data_vars:
                    np.testing.assert_array_equal(
                        alone.indices[v].values,
                        full.indices[v].sel(year=years).values,
                        err_msg=f"{v} {years} second order {second_order}",
                    )
                # the imprecise indices reported: those of the years asked for
                assert sorted(alone.imprecise) == sorted(x for x in full.imprecise if x[1] in years)
    with pytest.raises(ValueError, match=r"years \[2030\] are not in the cube \(1993-2003\)"):
        analyse_design(space, design, cube, years=[2030])
