"""The kernel's stages run as plain Python give numba's numbers bit for bit (issue 13).

:func:`~schemerisk.model.kernel.run_kernel` projects fewer draws than a lane
block (``project``, a study's base run) with the kernel's own functions run
by the Python interpreter, so that a first ``schemerisk project`` compiles
nothing. The numbers must not depend on which ran: here the same draws go
through both, on every built-in scenario and the "rich" one with every lever,
at their own horizon and extended, with every input drawn, with the shipped
distributions, and with amounts that overflow.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from schemerisk.model import kernel
from schemerisk.model.kernel import LANES, run_kernel
from schemerisk.model.layout import ModelInputs, compile_inputs
from schemerisk.scenario import load_scenario
from schemerisk.scenario.builtin import builtin_names
from schemerisk.uncertainty.montecarlo import bind_space
from schemerisk.uncertainty.sampling import sample_values
from tests.model.test_every_input_drawn import every_input_drawn, integer_codes
from tests.model.test_kernel import rich

#: draws per scenario through both (plain Python takes 5-30 ms a draw)
DRAWS = 40


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal bit for bit, any NaN matching any NaN."""
    return bool(np.all((a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))))


def in_python(*args: object, **kwargs: object) -> np.ndarray:
    """run_kernel on the plain-Python stages, failing if it fell back to the compiled kernel."""
    built = kernel.compiled_kernels

    def fell_back() -> dict[str, object]:
        raise AssertionError("plain Python raised: the compiled kernel projected instead")

    kernel.compiled_kernels = fell_back  # type: ignore[assignment]
    try:
        return run_kernel(*args, **kwargs, compiled=False)  # type: ignore[arg-type]
    finally:
        kernel.compiled_kernels = built  # type: ignore[assignment]


def scenario_inputs(name: str, horizon: int | None) -> ModelInputs:
    sc = rich() if name == "rich" else load_scenario(name)
    return compile_inputs(sc if horizon is None else sc.with_horizon(horizon))


@pytest.mark.parametrize("horizon", [None, 12])
@pytest.mark.parametrize("name", [*builtin_names("scenarios"), "rich"])
def test_every_input_drawn_gives_the_same_bits(name: str, horizon: int | None) -> None:
    inputs = scenario_inputs(name, horizon)
    theta, mods, _ = every_input_drawn(inputs, DRAWS, seed=29)
    python = in_python(inputs, theta, mods)
    numba = run_kernel(inputs, theta, mods, compiled=True)
    for d in range(DRAWS):
        assert same_bits(python[d], numba[d]), f"{name}, horizon {horizon}, draw {d}"
    assert np.isfinite(numba).mean() > 0.99  # a fair test: real numbers, not NaN = NaN
    base_python = in_python(inputs)
    assert same_bits(base_python, run_kernel(inputs, compiled=True))


@pytest.mark.parametrize("name", builtin_names("distributions"))
def test_shipped_distributions_give_the_same_bits(name: str) -> None:
    """Scaled, shifted and path-target modifications, as the Monte Carlo applies them."""
    space = bind_space(name, name, horizon=10)
    theta = sample_values(space, DRAWS, seed=5)
    python = in_python(space.inputs, theta, space.modifications)
    numba = run_kernel(space.inputs, theta, space.modifications, compiled=True)
    assert same_bits(python, numba)
    keep = np.arange(0, numba.shape[1], 7)
    kept = in_python(space.inputs, theta, space.modifications, keep=keep)
    assert same_bits(kept, numba[:, keep])


def test_overflowing_amounts_give_the_same_bits_and_no_warning() -> None:
    """inf and NaN where an amount passes 1.8e308, as numba gives them, and nothing printed."""
    inputs = compile_inputs(load_scenario("hai_phong_1993_1997"))
    theta, mods, _ = every_input_drawn(inputs, LANES - 1, seed=3)
    codes = np.concatenate([inputs.index(f).ravel() for f in integer_codes(inputs)])
    amounts = ~np.isin(mods.position, codes)  # scale amounts and rates, not codes and switches
    theta[0, amounts] *= 1e300  # one draw huge, one tiny, one plausible
    theta[1, amounts] *= 1e-300
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning would fail the test
        python = in_python(inputs, theta, mods)
    numba = run_kernel(inputs, theta, mods, compiled=True)
    assert not np.isfinite(numba[0]).all()  # the case is real: the huge draw overflows
    assert same_bits(python, numba)


def test_python_raising_falls_back_to_the_compiled_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where plain Python raises (converting a NaN code to an integer), numba's kernel projects."""
    inputs = compile_inputs(load_scenario("khanh_hoa_2020_2030"))
    want = run_kernel(inputs, compiled=True)
    calls = []

    def raises_halfway(*args: object) -> None:
        calls.append(1)
        args[16][0, :5] = -1.0  # type: ignore[index]  # a half-written output row
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(kernel, "_project_scalar", raises_halfway)  # the plain-Python stages
    got = run_kernel(inputs, compiled=False)
    assert calls == [1]
    assert same_bits(got, want)
