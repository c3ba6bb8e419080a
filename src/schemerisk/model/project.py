"""The deterministic projection: the kernel with one draw."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from schemerisk.model.kernel import run_kernel
from schemerisk.model.layout import compile_inputs
from schemerisk.model.results import add_memoranda, rows_to_dataset
from schemerisk.scenario.parse import load_scenario
from schemerisk.scenario.types import Scenario


def as_scenario(scenario: Scenario | str | Path) -> Scenario:
    """Return ``scenario`` itself, or load it from a file or built-in name."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def project(scenario: Scenario | str | Path, *, horizon: int | None = None) -> xr.Dataset:
    """Run the deterministic projection of a scenario (Sheet C of the 1993 model).

    Parameters
    ----------
    scenario : Scenario, str or Path
        A scenario, a scenario file, or a built-in name such as ``"hai_phong_1993_1997"``.
    horizon : int, optional
        Project this many years after the base year instead of the scenario's
        own horizon (see :meth:`Scenario.with_horizon`).

    Returns
    -------
    xarray.Dataset
        Every Sheet C result with dimensions ``year``, ``category`` and
        ``service``; amounts in currency units; see ``OUTPUT_VARIABLES``.

    Examples
    --------
    >>> ds = project("hai_phong_1993_1997")
    >>> round(float(ds.balance.sel(year=1993)))
    33220000
    """
    sc = as_scenario(scenario)
    if horizon is not None:
        sc = sc.with_horizon(horizon)
    inputs = compile_inputs(sc)
    rows = run_kernel(inputs)
    return add_memoranda(rows_to_dataset(sc, inputs, rows, draw_dim=False))
