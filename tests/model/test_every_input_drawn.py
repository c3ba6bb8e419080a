"""Every input of the kernel drawn in every draw: the kernel equals one projection per draw.

The compiled kernel projects many draws in a loop and may compute, once per
block of draws, anything it believes the draws share. A value wrongly moved
out of the draw loop (hoisted) is invisible when only a few inputs are
uncertain, as in the shipped distributions files: it showed up only once a
scalar input was drawn. Here *every* position of the input vector gets its own
column, and each draw's row must equal, bit for bit, the kernel run on that
draw's input vector alone (one draw, no modifications, nothing to share).
The expected input vectors are built with numpy indexing, not with the
kernel's own :func:`~schemerisk.model.kernel.apply_modifications`.
"""

from __future__ import annotations

import numpy as np
import pytest

from schemerisk.model.kernel import ELEMENT, REPLACE, Modifications, run_kernel
from schemerisk.model.layout import In, ModelInputs, compile_inputs
from schemerisk.scenario import load_scenario
from schemerisk.scenario.builtin import builtin_names
from tests.model.test_kernel import rich

#: more draws than one block of the kernel, so that blocks hold several draws
DRAWS = 300


def integer_codes(inputs: ModelInputs) -> dict[In, tuple[int, int]]:
    """Inputs the kernel reads as integer codes or switches: their range of codes."""
    n_tiers = inputs.dims.n_tiers
    switches = (
        In.PPP,
        In.OUTPATIENT_COVER,
        In.INPATIENT,
        In.SPLIT_BY_POPULATION,
        In.COST_BY_TYPE,
        In.PC_TARGET_IS_RATIO,
        In.GC_TARGET_IS_RATIO,
        In.RATE_TARGET_IS_RATIO,
        In.COVERAGE_APPLIES,
    )
    return {
        **dict.fromkeys(switches, (0, 1)),
        In.VOLUME_BASIS: (0, 2),
        In.ADMIN_BASIS: (0, 3),
        In.COVERAGE_RULE: (0, 2),
        In.SERVICE_TIER: (0, n_tiers - 1),
        In.TIER_METHOD: (0, 2),
        # (extension) the year amounts are indexed from: 0 (none) or any year but the base year
        **dict.fromkeys(
            (
                In.FLAT_PREMIUM_INDEXED_FROM,
                In.SUBSIDY_GOV_AMOUNT_INDEXED_FROM,
                In.SUBSIDY_DONOR_AMOUNT_INDEXED_FROM,
            ),
            (0, inputs.dims.n_years - 1),
        ),
    }


def every_input_drawn(
    inputs: ModelInputs, n: int, seed: int
) -> tuple[np.ndarray, Modifications, np.ndarray]:
    """Draws that replace every position of the input vector.

    Integer codes get a random code plus a fraction below 0.9 (the kernel
    truncates codes and compares switches with 0.5); target paths get delays
    and arrivals in the projection's years, and a third of the targets are NaN
    (no target); every other input is its base value times U(0.8, 1.2) (a zero
    stays zero, a NaN stays NaN), or U(0, 1) for shares.

    Returns
    -------
    theta, modifications, vectors
        The draws, the table that applies them, and each draw's input vector.
    """
    rng = np.random.default_rng(seed)
    codes = integer_codes(inputs)
    y0, n_years = inputs.base_year, inputs.dims.n_years
    shares = (In.INSURED_SHARE, In.EXEMPT_SHARE, In.COPAYMENT_RATE, In.COVERAGE_TARGET)
    columns, positions = [], []
    for f in In:
        base = inputs.field(f).ravel()
        for i, pos in enumerate(inputs.index(f).ravel()):
            if f in codes:
                low, high = codes[f]
                values = rng.integers(low, high + 1, n) + rng.uniform(0.0, 0.9, n)
            elif f in (In.PC_TARGET_DELAY, In.GC_TARGET_DELAY, In.RATE_TARGET_DELAY):
                values = rng.integers(0, 3, n).astype(float)
            elif f in (In.PC_TARGET_ARRIVAL, In.GC_TARGET_ARRIVAL, In.RATE_TARGET_ARRIVAL):
                values = rng.integers(y0 + 1, y0 + n_years + 2, n).astype(float)
            elif f in (In.PC_TARGET, In.GC_TARGET, In.RATE_TARGET):
                values = rng.uniform(0.5, 2.0, n)
                values[rng.random(n) < 1 / 3] = np.nan
            elif f in shares:
                values = rng.uniform(0.0, 1.0, n)
            else:
                values = base[i] * rng.uniform(0.8, 1.2, n)
            columns.append(values)
            positions.append(int(pos))
    theta = np.column_stack(columns)
    k = len(positions)
    mods = Modifications(
        column=list(range(k)),
        position=positions,
        mode=[REPLACE] * k,
        kind=[ELEMENT] * k,
        weight=[0.0] * k,
        reference=[0.0] * k,
    )
    vectors = np.repeat(inputs.vector[None, :], n, axis=0)
    vectors[:, positions] = theta
    return theta, mods, vectors


def cases() -> list[str]:
    return [*builtin_names("scenarios"), "rich"]


@pytest.mark.parametrize("name", cases())
def test_every_input_drawn_equals_one_projection_per_draw(name: str) -> None:
    scenario = rich() if name == "rich" else load_scenario(name)
    inputs = compile_inputs(scenario)
    theta, mods, vectors = every_input_drawn(inputs, DRAWS, seed=13)
    assert len(mods) == inputs.vector.size  # every position is drawn
    got = run_kernel(inputs, theta, mods)
    for d in range(DRAWS):
        alone = ModelInputs(vectors[d].copy(), inputs.offsets, inputs.dims, inputs.base_year)
        want = run_kernel(alone)[0]
        assert np.array_equal(got[d], want, equal_nan=True), f"{name}, draw {d}"
    # a fair test: the draws differ from each other in every output that can differ
    assert np.isfinite(got).mean() > 0.99


@pytest.mark.parametrize("name", ["hai_phong_1993_1997", "rich"])
def test_kept_outputs_equal_the_full_rows(name: str) -> None:
    """With ``keep``, the kernel projects into scratch rows: the same numbers, picked."""
    scenario = rich() if name == "rich" else load_scenario(name)
    inputs = compile_inputs(scenario)
    theta, mods, _ = every_input_drawn(inputs, DRAWS, seed=17)
    full = run_kernel(inputs, theta, mods)
    keep = np.random.default_rng(1).permutation(full.shape[1])[: full.shape[1] // 3]
    kept = run_kernel(inputs, theta, mods, keep=keep)
    assert np.array_equal(kept, full[:, keep], equal_nan=True)
