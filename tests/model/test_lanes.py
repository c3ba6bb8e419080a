"""Lane blocks (LANES draws side by side, vectorised) against the scalar path, bit for bit.

The kernel projects draws in blocks of :data:`~schemerisk.model.kernel.LANES`
whose stages run over the draws in vector instructions, and falls back to one
draw at a time (the scalar stages) for a block whose draws disagree on a
switch, for the last draws of a thread's share, and for a single draw. Each
lane must perform exactly the scalar arithmetic, so every row here must equal,
bit for bit, the kernel run on that draw's input vector alone (one draw: the
scalar path). The cases make the lanes of one block differ in everything they
may differ in: every continuous input, subsidies on in some lanes and off in
others, targets set in some lanes and NaN (none) in others.
"""

from __future__ import annotations

import numpy as np
import pytest

from schemerisk.model.kernel import (
    ELEMENT,
    LANES,
    REPLACE,
    SCALE,
    SWITCHES,
    Modifications,
    _fill_lanes,
    _lanes_agree,
    run_kernel,
    switch_positions,
)
from schemerisk.model.layout import In, ModelInputs, compile_inputs
from schemerisk.scenario import load_scenario
from schemerisk.scenario.builtin import builtin_names
from tests.model.test_every_input_drawn import every_input_drawn
from tests.model.test_kernel import rich

#: draws: not a multiple of LANES, and more than one block per thread
DRAWS = 4 * LANES * 5 + 3


def scenario_inputs(name: str) -> ModelInputs:
    return compile_inputs(rich() if name == "rich" else load_scenario(name))


def continuous_draws(
    inputs: ModelInputs, n: int, seed: int
) -> tuple[np.ndarray, Modifications, np.ndarray]:
    """Every input drawn except the switches, which keep their base values.

    As :func:`~tests.model.test_every_input_drawn.every_input_drawn` (targets
    NaN in a third of the draws), and the premium subsidies of the first year
    zero in half the draws and 0.3 in the others (so some lanes of a block are
    subsidised and some are not).
    """
    _, _, theta = every_input_drawn(inputs, n, seed)  # column i: position i
    rng = np.random.default_rng(seed + 1)
    positions = list(range(inputs.vector.size))
    for f in (In.SUBSIDY_GOV_SHARE, In.SUBSIDY_DONOR_SHARE):
        for pos in inputs.index(f)[0].ravel():
            theta[:, pos] = np.where(rng.random(n) < 0.5, 0.0, 0.3)
    for f in SWITCHES:
        for pos in inputs.index(f).ravel():
            theta[:, pos] = inputs.vector[pos]
    vectors = theta.copy()
    k = len(positions)
    mods = Modifications(
        column=positions,
        position=positions,
        mode=[REPLACE] * k,
        kind=[ELEMENT] * k,
        weight=[0.0] * k,
        reference=[0.0] * k,
    )
    return theta, mods, vectors


def lanes_agree(inputs: ModelInputs, theta: np.ndarray, mods: Modifications, d: int) -> bool:
    """Whether the kernel projects draws ``d`` to ``d + LANES - 1`` as one lane block."""
    n_values = inputs.vector.size * LANES
    w = np.empty(n_values)
    _fill_lanes(
        w, inputs.vector, theta, d, mods.column, mods.position, mods.mode, mods.kind,
        mods.weight, mods.reference, mods.lower, mods.upper,
    )  # fmt: skip
    return bool(_lanes_agree(w, mods.position, switch_positions(inputs)))


def assert_rows_are_single_projections(
    inputs: ModelInputs, got: np.ndarray, vectors: np.ndarray, name: str
) -> None:
    for d in range(got.shape[0]):
        alone = ModelInputs(vectors[d].copy(), inputs.offsets, inputs.dims, inputs.base_year)
        want = run_kernel(alone)[0]
        # bit for bit: the same bits, and NaN where the single projection has NaN
        same = got[d].view(np.int64) == want.view(np.int64)
        assert np.all(same | (np.isnan(got[d]) & np.isnan(want))), f"{name}, draw {d}"


@pytest.mark.parametrize("name", [*builtin_names("scenarios"), "rich"])
def test_lane_blocks_equal_one_projection_per_draw(name: str) -> None:
    inputs = scenario_inputs(name)
    theta, mods, vectors = continuous_draws(inputs, DRAWS, seed=29)
    # a fair test: every block of the first LANES * 5 draws is a lane block
    assert all(lanes_agree(inputs, theta, mods, d) for d in range(0, LANES * 5, LANES))
    got = run_kernel(inputs, theta, mods)
    assert_rows_are_single_projections(inputs, got, vectors, name)
    assert np.isfinite(got).mean() > 0.99


def test_a_block_that_disagrees_on_a_switch_is_projected_draw_by_draw() -> None:
    """Mixed switches in a block: the scalar path, and the same numbers as alone."""
    inputs = scenario_inputs("rich")
    theta, mods, vectors = every_input_drawn(inputs, 4 * LANES, seed=31)
    assert not any(lanes_agree(inputs, theta, mods, d) for d in range(0, 4 * LANES, LANES))
    got = run_kernel(inputs, theta, mods)
    assert_rows_are_single_projections(inputs, got, vectors, "rich")


@pytest.mark.parametrize("n", [1, LANES - 1, LANES, LANES + 1, 2 * LANES + 3])
def test_any_number_of_draws_and_kept_outputs(n: int) -> None:
    """Fewer draws than a block, a block and a tail, with ``keep`` and without."""
    inputs = scenario_inputs("rich")
    theta, mods, vectors = continuous_draws(inputs, n, seed=37)
    full = run_kernel(inputs, theta, mods)
    assert_rows_are_single_projections(inputs, full, vectors, f"{n} draws")
    keep = np.random.default_rng(n).permutation(full.shape[1])[:25]
    kept = run_kernel(inputs, theta, mods, keep=keep)
    assert np.array_equal(kept, full[:, keep], equal_nan=True)


def test_each_lane_block_starts_from_the_base_inputs_whatever_the_block_before_changed() -> None:
    """A thread fills its lane buffer with the base inputs once, then sets back only
    what a block may change: the modified positions, and the amounts the indexed
    amounts stage writes over. Here a scaled input (its base value must be set back
    before each block scales it) and a year the flat premium is indexed from that
    changes from one block to the next (a later block reads, as inputs, amounts an
    earlier block wrote over), over many blocks: every row is the single projection.
    """
    inputs = compile_inputs(load_scenario("hai_phong_1993_1997").with_horizon(10))
    flat, indexed_from = inputs.index(In.FLAT_PREMIUM), inputs.index(In.FLAT_PREMIUM_INDEXED_FROM)
    c = int(np.argmax(inputs.vector[flat[4]]))  # a category that pays a flat premium
    assert inputs.vector[indexed_from[c]] == 5.0 and inputs.vector[flat[4, c]] > 0.0
    growth = int(inputs.index(In.GROWTH_RATE)[3])
    positions = [int(indexed_from[c]), int(flat[4, c]), growth]
    n = DRAWS
    rng = np.random.default_rng(7)
    block = np.arange(n) // LANES
    theta = np.column_stack(
        [np.where(block % 2 == 0, 5.0, 8.0), rng.uniform(0.5, 1.5, n), rng.uniform(0.5, 1.5, n)]
    )
    mods = Modifications(
        column=[0, 1, 2],
        position=positions,
        mode=[REPLACE, SCALE, SCALE],
        kind=[ELEMENT] * 3,
        weight=[0.0] * 3,
        reference=[0.0] * 3,
    )
    vectors = np.repeat(inputs.vector[None, :], n, axis=0)
    vectors[:, positions[0]] = theta[:, 0]
    vectors[:, positions[1]] *= theta[:, 1]
    vectors[:, positions[2]] *= theta[:, 2]
    got = run_kernel(inputs, theta, mods)
    assert_rows_are_single_projections(inputs, got, vectors, "restored")


@pytest.mark.parametrize("name", [*builtin_names("scenarios"), "rich"])
def test_no_stage_writes_over_an_input_a_later_block_reads(name: str) -> None:
    """Between lane blocks, only the modified positions and the indexed amounts are set
    back: every lever's stages (targets, subsidies, capitation, per-case, reserve in
    "rich") must leave every other input as it was. One scaled input, many blocks."""
    inputs = scenario_inputs(name)
    position = int(inputs.index(In.POPULATION0).ravel()[0])
    n = DRAWS
    theta = np.random.default_rng(3).uniform(0.8, 1.2, (n, 1))
    mods = Modifications(
        column=[0], position=[position], mode=[SCALE], kind=[ELEMENT], weight=[0.0],
        reference=[0.0],
    )  # fmt: skip
    vectors = np.repeat(inputs.vector[None, :], n, axis=0)
    vectors[:, position] *= theta[:, 0]
    assert_rows_are_single_projections(inputs, run_kernel(inputs, theta, mods), vectors, name)
