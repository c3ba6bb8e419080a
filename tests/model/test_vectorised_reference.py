"""The plain-numpy model in benchmarks/ computes exactly what the kernel computes.

``benchmarks/numpy_model.py`` runs the kernel's stages with numpy over the
draws axis, calling the *uncompiled* functions of :mod:`schemerisk.equations`,
for the benchmark that compares numba with numpy. These tests hold it to
:func:`schemerisk.model.kernel.run_kernel`, output by output (and so check
that the equations give the same numbers plain and compiled): on every built-in scenario as one draw, on every built-in
distributions file with Monte Carlo draws, and on tables that switch every
policy lever and integer code from draw to draw (the built-in files leave
many branches of the kernel unused). The two agree bit for bit: the reference
keeps the kernel's order of operations, and numba compiles without fastmath.
Each comparison first checks closeness (rtol 1e-12), so that a failure
reports how far apart the outputs are, then equality.
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from schemerisk.model.kernel import (
    ELEMENT,
    PATH_TARGET,
    REPLACE,
    SCALE,
    SHIFT,
    Modifications,
    apply_modifications,
    compiled_kernels,
    run_kernel,
)
from schemerisk.model.layout import In, ModelInputs, compile_inputs
from schemerisk.model.results import VARIABLE_FIELDS, output_slices
from schemerisk.scenario import load_scenario
from schemerisk.scenario.builtin import builtin_names
from schemerisk.uncertainty.montecarlo import bind_space
from schemerisk.uncertainty.sampling import sample_values
from tests.model.test_kernel import rich

REFERENCE = Path(__file__).resolve().parents[2] / "benchmarks" / "numpy_model.py"
DRAWS = 500
RTOL = 1e-12
#: absolute tolerance, relative to the largest value of the output compared (for zeros
#: that are differences of large numbers, such as the provider margin)
ATOL_SCALE = 1e-12


def load_reference() -> ModuleType:
    """Import benchmarks/numpy_model.py by path (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("numpy_model", REFERENCE)
    assert spec is not None and spec.loader is not None, f"cannot load {REFERENCE}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference() -> ModuleType:
    return load_reference()


def assert_same_outputs(inputs: ModelInputs, expected: np.ndarray, got: np.ndarray) -> None:
    """Every output of ``got`` equals the kernel's ``expected``; a failure names the output."""
    assert got.shape == expected.shape
    for name, where, dims in output_slices(inputs, VARIABLE_FIELDS):
        want, have = expected[:, where], got[:, where]
        finite = np.abs(want[np.isfinite(want)])
        atol = ATOL_SCALE * (finite.max() if finite.size else 0.0)
        message = f"output '{name}' {dims}"
        np.testing.assert_allclose(have, want, rtol=RTOL, atol=atol, err_msg=message)
        np.testing.assert_array_equal(have, want, err_msg=f"{message}: not bitwise equal")


# ---------------------------------------------------------------- built-in files


@pytest.mark.parametrize("name", builtin_names("scenarios"))
def test_builtin_scenario_without_draws(reference: ModuleType, name: str) -> None:
    inputs = compile_inputs(load_scenario(name))
    theta, mods = np.zeros((1, 0)), Modifications()
    expected = run_kernel(inputs, theta, mods)
    assert_same_outputs(inputs, expected, reference.project_numpy(inputs, theta, mods))


@pytest.mark.parametrize(
    ("name", "horizon"),
    [(name, None) for name in builtin_names("distributions")] + [("hai_phong_1993_1997", 10)],
)
def test_builtin_distributions_with_monte_carlo_draws(
    reference: ModuleType, name: str, horizon: int | None
) -> None:
    space = bind_space(name, name, horizon=horizon)
    theta = sample_values(space, DRAWS, seed=3)
    assert theta.shape == (DRAWS, space.n_columns)
    expected = run_kernel(space.inputs, theta, space.modifications)
    got = reference.project_numpy(space.inputs, theta, space.modifications)
    assert_same_outputs(space.inputs, expected, got)


# ---------------------------------------------------------------- every lever, per draw


def lever_ranges(inputs: ModelInputs) -> dict[In, tuple[float, float, bool]]:
    """Input field -> (low, high, integer code) for the per-draw lever table."""
    y0, n_years = inputs.base_year, inputs.dims.n_years
    n_tiers = inputs.dims.n_tiers
    arrival = (y0 + 1.0, y0 + n_years + 1.0, True)
    delay = (0.0, 3.0, True)
    return {
        In.INSURED_LOADING: (0.9, 1.3, False),
        In.PPP: (0.0, 1.0, True),
        In.REAL_DEPRECIATION: (-0.05, 0.05, False),
        In.ADULT_SHARE: (0.1, 0.9, False),
        In.CONTRIBUTION_RATE: (0.0, 0.06, False),
        In.FLAT_PREMIUM: (0.0, 40_000.0, False),
        In.INSURED_SHARE: (0.0, 1.0, False),
        In.EXEMPT_SHARE: (0.0, 0.3, False),
        In.USER_FEE_EXEMPT_SHARE: (0.0, 0.5, False),
        In.OUTPATIENT_COVER: (0.0, 1.0, True),
        In.INPATIENT: (0.0, 1.0, True),
        In.VOLUME_BASIS: (0.0, 2.0, True),
        In.SPLIT_BY_POPULATION: (0.0, 1.0, True),
        In.SPLIT: (0.0, 0.6, False),
        In.RELATIVE_USE: (0.5, 1.5, False),
        In.COST_BY_TYPE: (0.0, 1.0, True),
        In.COST_TOTAL: (1e8, 5e9, False),
        In.COST_GOVERNMENT_SHARE: (0.0, 1.0, False),
        In.GOVERNMENT_COST0: (0.0, 5_000.0, False),
        In.GOVERNMENT_IMPORT_SHARE: (0.0, 0.5, False),
        In.PC_TARGET: (0.5, 2.0, False),
        In.PC_TARGET_IS_RATIO: (0.0, 1.0, True),
        In.PC_TARGET_DELAY: delay,
        In.PC_TARGET_ARRIVAL: arrival,
        In.GC_TARGET: (0.5, 2.0, False),
        In.GC_TARGET_IS_RATIO: (0.0, 1.0, True),
        In.GC_TARGET_DELAY: delay,
        In.GC_TARGET_ARRIVAL: arrival,
        In.RATE_TARGET: (0.5, 2.0, False),
        In.RATE_TARGET_IS_RATIO: (0.0, 1.0, True),
        In.RATE_TARGET_DELAY: delay,
        In.RATE_TARGET_ARRIVAL: arrival,
        In.ADMIN_BASIS: (0.0, 3.0, True),
        In.ADMIN_REAL_GROWTH: (0.0, 0.05, False),
        In.RESERVE_INITIAL: (0.0, 1e9, False),
        In.RESERVE_INTEREST: (0.0, 0.1, False),
        In.SUBSIDY_GOV_SHARE: (0.0, 0.6, False),
        In.SUBSIDY_GOV_AMOUNT: (0.0, 20_000.0, False),
        In.SUBSIDY_DONOR_SHARE: (0.0, 0.6, False),
        In.SUBSIDY_DONOR_AMOUNT: (0.0, 20_000.0, False),
        In.COVERAGE_RULE: (0.0, 2.0, True),
        In.COVERAGE_TARGET: (0.2, 1.0, False),
        In.COVERAGE_APPLIES: (0.0, 1.0, True),
        In.SERVICE_TIER: (0.0, n_tiers - 1.0, True),
        In.CASE_RATE: (0.0, 100_000.0, False),
        In.TIER_METHOD: (0.0, 2.0, True),
        In.CAPITATION_RATE: (0.0, 100_000.0, False),
        In.BONUS_SHARE: (0.0, 0.1, False),
        In.BONUS_ACHIEVEMENT: (0.0, 1.0, False),
    }


def lever_table(inputs: ModelInputs, n: int, seed: int) -> tuple[np.ndarray, Modifications]:
    """Draws that give every lever and switch of :func:`lever_ranges` its own value in each draw.

    Every position of every field there gets its own column and is replaced by
    a uniform draw; integer codes get an integer plus a fraction below 0.9 (the
    kernel truncates them or compares them with 0.5), and a third of the
    targets are NaN (no target). Then come rows that scale and shift, several
    rows on one position (applied in table order) with clipping bounds, and
    PATH_TARGET rows in all three modes.
    """
    rng = np.random.default_rng(seed)
    columns: list[np.ndarray] = []
    rows: list[tuple[int, int, int, int, float, float, float, float]] = []

    def column(values: np.ndarray) -> int:
        columns.append(values)
        return len(columns) - 1

    def row(
        col: int,
        pos: int,
        mode: int = REPLACE,
        kind: int = ELEMENT,
        weight: float = 0.0,
        reference: float = 0.0,
        lower: float = -np.inf,
        upper: float = np.inf,
    ) -> None:
        rows.append((col, pos, mode, kind, weight, reference, lower, upper))

    for f, (low, high, integer) in lever_ranges(inputs).items():
        for pos in inputs.index(f).ravel():
            if integer:
                values = rng.integers(int(low), int(high) + 1, n) + rng.uniform(0.0, 0.9, n)
            else:
                values = rng.uniform(low, high, n)
            if f in (In.PC_TARGET, In.GC_TARGET, In.RATE_TARGET):
                values[rng.random(n) < 1 / 3] = np.nan
            row(column(values), int(pos))
    row(column(rng.uniform(0.8, 1.2, n)), int(inputs.index(In.POPULATION0)), SCALE)
    for pos in inputs.index(In.GROWTH_RATE).ravel():
        row(column(rng.normal(0.0, 0.01, n)), int(pos), SHIFT)
    admission = int(inputs.index(In.ADMISSION_RATE))
    row(column(rng.uniform(0.05, 0.1, n)), admission, REPLACE)
    row(column(rng.uniform(0.5, 1.5, n)), admission, SCALE, lower=0.06)
    row(column(rng.normal(0.0, 0.02, n)), admission, SHIFT, lower=0.0, upper=0.09)
    # a path moved to a new target, as for an uncertain target: weight = share of the way there
    path = inputs.index(In.INSURED_SHARE)[:, -1]
    n_years = len(path)
    draws = {
        REPLACE: rng.uniform(0.0, 1.0, n),
        SCALE: rng.uniform(0.5, 1.5, n),
        SHIFT: rng.uniform(-0.5, 0.5, n),
    }
    for mode, values in draws.items():
        col = column(values)
        for t, pos in enumerate(path):
            weight = t / max(n_years - 1, 1)
            row(col, int(pos), mode, PATH_TARGET, weight, 0.6, lower=0.0, upper=1.0)
    theta = np.column_stack(columns)
    return theta, Modifications(*(list(field) for field in zip(*rows, strict=True)))


def lever_inputs(name: str) -> ModelInputs:
    """Scenario B at a ten-year horizon, or the kernel tests' scenario with every feature."""
    scenario = rich() if name == "rich" else load_scenario(name).with_horizon(10)
    return compile_inputs(scenario)


@pytest.mark.parametrize("name", ["hai_phong_1993_1997", "rich"])
def test_every_lever_switched_per_draw(reference: ModuleType, name: str) -> None:
    inputs = lever_inputs(name)
    theta, mods = lever_table(inputs, DRAWS, seed=11)
    expected = run_kernel(inputs, theta, mods)
    assert np.isfinite(expected).all()  # a fair test: no draw hides a difference behind a NaN
    assert_same_outputs(inputs, expected, reference.project_numpy(inputs, theta, mods))


def test_modification_step_is_the_kernels(reference: ModuleType) -> None:
    """All draws' input vectors at once equal the kernel's apply_modifications, draw by draw.

    Both of its versions: the plain function (one draw) and numba's.
    """
    inputs = lever_inputs("rich")
    theta, mods = lever_table(inputs, 50, seed=5)
    got = reference.apply_modifications_numpy(inputs.vector, theta, mods)
    compiled = compiled_kernels()["apply_modifications"]
    for d, apply in itertools.product(range(theta.shape[0]), (apply_modifications, compiled)):
        p = inputs.vector.copy()
        apply(
            p,
            theta[d],
            mods.column,
            mods.position,
            mods.mode,
            mods.kind,
            mods.weight,
            mods.reference,
            mods.lower,
            mods.upper,
        )
        np.testing.assert_array_equal(got[d], p, err_msg=f"draw {d}")


def test_defaults_and_errors_as_the_kernel(reference: ModuleType) -> None:
    inputs = compile_inputs(load_scenario("hai_phong_1993_1997"))
    np.testing.assert_array_equal(reference.project_numpy(inputs), run_kernel(inputs))
    with pytest.raises(ValueError, match="2-D"):
        reference.project_numpy(inputs, np.zeros(3))
    mods = Modifications(
        column=[1], position=[0], mode=[REPLACE], kind=[ELEMENT], weight=[0.0], reference=[0.0]
    )
    with pytest.raises(ValueError, match="column"):
        reference.project_numpy(inputs, np.zeros((2, 1)), mods)


@pytest.mark.parametrize("name", ["hai_phong_1993_1997", "rich"])
def test_every_input_drawn(reference: ModuleType, name: str) -> None:
    """Every position of the input vector drawn: numpy and the kernel agree bit for bit."""
    from tests.model.test_every_input_drawn import every_input_drawn

    inputs = lever_inputs(name)
    theta, mods, _ = every_input_drawn(inputs, DRAWS, seed=23)
    expected = run_kernel(inputs, theta, mods)
    assert_same_outputs(inputs, expected, reference.project_numpy(inputs, theta, mods))
