"""kill -9 at random moments of a chunked write, an overwrite and a resume: whatever is
under the store's name is always a complete store, bit for bit the uninterrupted one;
and two writers of one store at once: the second is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from schemerisk.io import open_dataset
from schemerisk.model import compile_inputs
from schemerisk.output import OutputError, partial_store
from schemerisk.scenario import load_scenario
from schemerisk.uncertainty.distributed import make_job, run_to_store
from schemerisk.uncertainty.sampling import unit_design
from schemerisk.uncertainty.space import ParameterSpace, load_space

SC = "hai_phong_1993_1997"
N = 1200  # 12 chunks of 100 draws: many chunk writes in a short run
CHUNK = 100
SEEDS = (3, 4)
#: kills in all (each costs one Python start-up): 2 during fresh writes, 2 during overwrites
KILLS = 2

RUNNER = textwrap.dedent(
    """
    import sys
    from schemerisk.model import compile_inputs
    from schemerisk.scenario import load_scenario
    from schemerisk.uncertainty.distributed import make_job, run_to_store
    from schemerisk.uncertainty.sampling import unit_design
    from schemerisk.uncertainty.space import load_space

    store, seed, overwrite = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
    sc = load_scenario("{sc}")
    space = load_space("{sc}", sc, compile_inputs(sc))
    job = make_job(space, unit_design(space, {n}, seed), chunk_size={chunk})
    from schemerisk.uncertainty.distributed import cube_piece
    cube_piece(job, 0, 1)  # the kernel is loaded: what follows is the write
    print("ready", flush=True)
    run_to_store(job, store, overwrite=overwrite)
    print("done", flush=True)
    """
).format(sc=SC, n=N, chunk=CHUNK)


@pytest.fixture(scope="module")
def space() -> ParameterSpace:
    """The built-in space."""
    sc = load_scenario(SC)
    return load_space(SC, sc, compile_inputs(sc))


def _job(space: ParameterSpace, seed: int, before_chunk=None):  # type: ignore[no-untyped-def]
    return make_job(space, unit_design(space, N, seed), chunk_size=CHUNK, before_chunk=before_chunk)


@pytest.fixture(scope="module")
def references(space: ParameterSpace, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Uninterrupted stores of both seeds, and how long one write takes here."""
    root = tmp_path_factory.mktemp("refs")
    refs, took = {}, []
    for seed in SEEDS:
        t0 = time.monotonic()
        run_to_store(_job(space, seed), root / f"{seed}.zarr")
        took.append(time.monotonic() - t0)
        refs[seed] = open_dataset(root / f"{seed}.zarr")
    return refs, took[-1]  # the second write: the kernel was already loaded


def _same(a: xr.Dataset, b: xr.Dataset) -> bool:
    if set(a.variables) != set(b.variables) or a.attrs != b.attrs:
        return False
    for name in a.variables:
        x, y = a[name].values, b[name].values
        if x.dtype != y.dtype or x.shape != y.shape:
            return False
        if x.dtype.kind == "f":
            if not np.array_equal(x.view(np.int64), y.view(np.int64)):  # bitwise, NaN too
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def _kill_at_random(store: Path, seed: int, overwrite: bool, delay: float) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(store), str(seed), "1" if overwrite else "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", proc.stderr.read() if proc.stderr else line
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _looks_complete(store: Path) -> xr.Dataset | None:
    """The store if plain opening succeeds (it looks complete), else None."""
    if not store.exists():
        return None
    return open_dataset(store)  # a store under the final name must open


def test_kill_during_write_and_overwrite_then_resume(space, references, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    refs, took = references
    rng = np.random.default_rng(20261130)  # the kill moments, reproducible
    a, b = SEEDS
    for k in range(KILLS):
        # a fresh write killed at a random moment, then resumed
        store = tmp_path / f"fresh{k}.zarr"
        _kill_at_random(store, a, False, float(rng.uniform(0.0, 1.3 * took)))
        seen = _looks_complete(store)
        assert seen is None or _same(seen, refs[a])
        run_to_store(_job(space, a), store)  # resume (or nothing to do)
        assert _same(open_dataset(store), refs[a])
        assert not partial_store(store).exists()

        # an overwrite of that complete store by another run, killed at a random moment
        _kill_at_random(store, b, True, float(rng.uniform(0.0, 1.3 * took)))
        seen = _looks_complete(store)
        assert seen is not None  # the old store or the new one: never none, never half
        assert _same(seen, refs[a]) or _same(seen, refs[b])
        run_to_store(_job(space, b), store, overwrite=True)
        assert _same(open_dataset(store), refs[b])
        left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(f".fresh{k}"))
        assert left == []  # no aside folder and no lock file left
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"fresh{k}.zarr" for k in range(KILLS)]


def test_a_second_writer_of_a_store_is_refused(space, references, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    refs, _ = references
    store = tmp_path / "c.zarr"
    started, release = threading.Event(), threading.Event()

    def slow(chunk: int) -> None:
        started.set()
        release.wait(30)

    errors: list[BaseException] = []

    def first() -> None:
        try:
            run_to_store(_job(space, SEEDS[0], slow), store)
        except BaseException as exc:  # reported below
            errors.append(exc)

    t = threading.Thread(target=first)
    t.start()
    try:
        assert started.wait(30)
        with pytest.raises(OutputError, match="another schemerisk run is writing") as err:
            run_to_store(_job(space, SEEDS[1]), store, overwrite=True)
        assert err.value.exit_code == 1
    finally:
        release.set()
        t.join(60)
    assert errors == []
    assert _same(open_dataset(store), refs[SEEDS[0]])  # the first writer's store, untouched
