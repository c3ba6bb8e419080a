"""Fixtures for the chart tests: the non-interactive backend, a small cube, its
deterministic projection and synthetic Sobol' indices."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import xarray as xr

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from schemerisk.model import project  # noqa: E402
from schemerisk.uncertainty.montecarlo import simulate  # noqa: E402

SCENARIO = "hai_phong_1993_1997"


@pytest.fixture(scope="session")
def cube() -> xr.Dataset:
    """A Monte Carlo cube small enough to be quick, large enough for stable quantiles."""
    return simulate(SCENARIO, SCENARIO, 2000, seed=1, progress=False)


@pytest.fixture(scope="session")
def det() -> xr.Dataset:
    """The deterministic projection of the same scenario."""
    return project(SCENARIO)


@pytest.fixture(scope="session")
def indices() -> xr.Dataset:
    """Sobol' indices shaped as the sensitivity analysis returns them, with known values."""
    inputs = [
        "Admission rate",
        "Cost of a city inpatient day",
        "Voluntary uptake, farmers",
        "Domestic inflation path",
        "Population growth",
    ]
    years = np.arange(1993, 1998)
    outputs = ["balance", "balance_share_of_revenue"]
    t = np.linspace(0.0, 1.0, years.size)
    # ST of each input by year: the admission rate gains weight, inflation loses it
    st_balance = np.array(
        [
            0.10 + 0.40 * t,
            0.30 - 0.05 * t,
            0.05 + 0.01 * t,
            0.45 - 0.35 * t,
            0.02 + 0.00 * t,
        ]
    )
    st = np.stack([st_balance, st_balance[::-1]])  # (output, input, year)
    s1 = 0.8 * st
    s1[0, 4, :] = -0.01  # small negative estimates happen
    return xr.Dataset(
        {
            "S1": (("output", "input", "year"), s1),
            "S1_conf": (("output", "input", "year"), 0.02 + 0.1 * st),
            "ST": (("output", "input", "year"), st),
            "ST_conf": (("output", "input", "year"), 0.01 + 0.05 * st),
        },
        coords={"output": outputs, "input": inputs, "year": years},
    )


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")
