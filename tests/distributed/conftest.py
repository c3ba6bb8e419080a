"""Shared fixtures of the distributed-run tests: one local dask cluster of two worker
processes for the whole module set, the bound Hai Phong space and a reference cube."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dask
import numpy as np
import pytest
import xarray as xr

from schemerisk.model import compile_inputs
from schemerisk.scenario import load_scenario
from schemerisk.uncertainty.montecarlo import simulate
from schemerisk.uncertainty.space import ParameterSpace, load_space

SCENARIO = "hai_phong_1993_1997"
N_DRAWS = 6000
SEED = 11
CHUNK = 1000
#: attributes that only a chunked store has
BOOKKEEPING = ("schemerisk_complete", "schemerisk_chunk_size")


@dataclass(frozen=True)
class KillOnce:
    """Kill the worker process the first time it reaches ``chunk`` (a marker file remembers)."""

    chunk: int
    marker: str

    def __call__(self, chunk: int) -> None:
        """Die on the chosen chunk, once."""
        if chunk == self.chunk and not os.path.exists(self.marker):
            Path(self.marker).touch()
            os._exit(1)


@dataclass(frozen=True)
class KillAlways:
    """Kill the worker process every time it reaches ``chunk``."""

    chunk: int

    def __call__(self, chunk: int) -> None:
        """Die on the chosen chunk."""
        if chunk == self.chunk:
            os._exit(1)


@dataclass(frozen=True)
class FailAt:
    """Raise (as Ctrl-C would, in this process) when reaching ``chunk``."""

    chunk: int

    def __call__(self, chunk: int) -> None:
        """Fail on the chosen chunk."""
        if chunk == self.chunk:
            raise KeyboardInterrupt


@pytest.fixture(scope="session")
def space() -> ParameterSpace:
    """The built-in Hai Phong 1993-1997 space, bound to its scenario."""
    sc = load_scenario(SCENARIO)
    return load_space(SCENARIO, sc, compile_inputs(sc))


@pytest.fixture(scope="session")
def reference(space: ParameterSpace) -> xr.Dataset:
    """The single-process cube of the reference run."""
    return simulate(space.scenario, space, N_DRAWS, seed=SEED, chunk_size=2048, progress=False)


@pytest.fixture(scope="session")
def client() -> Iterator[object]:
    """A local cluster of two worker processes; a task may fail once (then KilledWorker)."""
    from distributed import Client, LocalCluster

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def assert_same_cube(got: xr.Dataset, ref: xr.Dataset) -> None:
    """Every variable bit for bit, the same coordinates and the same provenance."""
    assert set(got.variables) == set(ref.variables)
    for name in ref.variables:
        a, b = ref[name].values, got[name].values
        assert a.dtype == b.dtype, name
        assert a.shape == b.shape, name
        if a.dtype.kind == "f":
            assert np.array_equal(a.view(np.int64), b.view(np.int64)), name  # bitwise, NaN too
        else:
            assert np.array_equal(a, b), name
        assert ref[name].attrs == got[name].attrs, name
    attrs = {k: v for k, v in got.attrs.items() if k not in BOOKKEEPING}
    assert {k: str(v) for k, v in attrs.items()} == {k: str(v) for k, v in ref.attrs.items()}
