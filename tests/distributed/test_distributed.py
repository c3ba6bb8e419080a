"""Chunked runs on a local dask cluster: bitwise-identical cubes, killed workers and
clients, resuming, provenance checks and --overwrite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr

from schemerisk.io import open_dataset, write_dataset
from schemerisk.output import partial_store
from schemerisk.uncertainty.distributed import (
    DONE_DIR,
    StoreMismatchError,
    make_job,
    run_to_store,
)
from schemerisk.uncertainty.sampling import unit_design
from tests.distributed.conftest import (
    CHUNK,
    N_DRAWS,
    SCENARIO,
    SEED,
    KillAlways,
    KillOnce,
    assert_same_cube,
)


def _job(space, before_chunk=None, seed=SEED, chunk=CHUNK):  # type: ignore[no-untyped-def]
    return make_job(
        space, unit_design(space, N_DRAWS, seed), chunk_size=chunk, before_chunk=before_chunk
    )


def test_two_workers_give_the_single_process_cube_bit_for_bit(space, reference, client, tmp_path):
    report = run_to_store(_job(space, chunk=700), tmp_path / "c.zarr", client=client)
    assert report.computed == report.n_chunks == 9
    assert_same_cube(open_dataset(tmp_path / "c.zarr"), reference)


def test_in_process_chunked_run_gives_the_same_cube(space, reference, tmp_path):
    run_to_store(_job(space), tmp_path / "c.zarr")
    assert_same_cube(open_dataset(tmp_path / "c.zarr"), reference)


def test_a_worker_killed_once_is_replaced_and_the_cube_is_unchanged(
    space, reference, client, tmp_path
):
    marker = tmp_path / "killed"
    job = _job(space, KillOnce(3, str(marker)))
    report = run_to_store(job, tmp_path / "c.zarr", client=client)
    assert marker.exists()  # the worker did die on chunk 3
    assert report.computed == report.n_chunks
    assert_same_cube(open_dataset(tmp_path / "c.zarr"), reference)


def test_a_run_whose_worker_keeps_dying_resumes_computing_only_missing_chunks(
    space, reference, client, tmp_path
):
    from distributed import KilledWorker

    store = tmp_path / "c.zarr"
    with pytest.raises(KilledWorker):
        run_to_store(_job(space, KillAlways(4)), store, client=client)
    partial = partial_store(store)
    assert not store.exists()  # nothing under the final name until every chunk is in
    with pytest.raises(ValueError, match="incomplete store"):
        open_dataset(partial)
    # a chunk already running on another worker when chunk 4 failed still finishes (dask
    # cannot stop a running task) and writes its file: count the chunks once none is running
    deadline = time.monotonic() + 60
    while any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    done = {int(p.name) for p in (partial / DONE_DIR).iterdir()}
    assert 4 not in done
    report = run_to_store(_job(space), store, client=client)
    assert report.already_done == len(done)
    assert report.computed == report.n_chunks - len(done)
    assert_same_cube(open_dataset(store), reference)


def test_a_killed_client_leaves_its_chunks_and_the_same_command_finishes(
    space, reference, client, tmp_path
):
    store = tmp_path / "c.zarr"
    address = client.scheduler.address
    cmd = [
        sys.executable,
        "-m",
        "schemerisk.cli",
        "simulate",
        SCENARIO,
        SCENARIO,
        "-n",
        str(N_DRAWS),
        "--seed",
        str(SEED),
        "--chunk-size",
        "250",
        "--scheduler",
        address,
        "-o",
        str(store),
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180  # a loaded machine takes ~30 s to start the client
    while time.monotonic() < deadline and proc.poll() is None:
        folder = partial_store(store) / DONE_DIR
        if folder.exists() and len(list(folder.iterdir())) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)  # the client is lost; the cluster lives on
    proc.wait()
    time.sleep(1.0)  # let chunks already running on the workers finish
    done = len(list((partial_store(store) / DONE_DIR).iterdir()))
    assert 3 <= done < N_DRAWS // 250
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert (
        f"computed {N_DRAWS // 250 - done} of {N_DRAWS // 250} chunks ({done} already done)"
        in out.stderr
    )
    assert_same_cube(open_dataset(store), reference)


def test_a_different_run_is_refused_and_overwrite_replaces_it(space, reference, tmp_path):
    store = tmp_path / "c.zarr"
    job = make_job(space, unit_design(space, 1500, SEED), chunk_size=CHUNK)
    run_to_store(job, store)
    other = make_job(space, unit_design(space, 1500, SEED + 1), chunk_size=CHUNK)
    with pytest.raises(StoreMismatchError, match="seed: store has 11, this run 12"):
        run_to_store(other, store)
    fewer = make_job(space, unit_design(space, 1500, SEED), keep=["balance"], chunk_size=CHUNK)
    with pytest.raises(StoreMismatchError, match="kept_outputs"):
        run_to_store(fewer, store)
    rechunked = make_job(space, unit_design(space, 1500, SEED), chunk_size=500)
    with pytest.raises(StoreMismatchError, match="schemerisk_chunk_size"):
        run_to_store(rechunked, store)
    report = run_to_store(other, store, overwrite=True)
    assert report.computed == report.n_chunks
    assert int(open_dataset(store).attrs["seed"]) == SEED + 1
    again = run_to_store(other, store)  # complete: nothing to do
    assert again.computed == 0


def test_a_store_not_written_by_a_chunked_run_is_never_overwritten(space, reference, tmp_path):
    store = tmp_path / "c.zarr"
    write_dataset(reference.isel(draw=slice(0, 10)), store)
    with pytest.raises(StoreMismatchError, match="--overwrite"):
        run_to_store(_job(space), store)
    assert open_dataset(store).sizes["draw"] == 10


def test_the_cli_refuses_netcdf_for_a_distributed_run(tmp_path):
    from schemerisk.cli import main

    code = main(
        [
            "simulate",
            SCENARIO,
            SCENARIO,
            "-n",
            "100",
            "--workers",
            "2",
            "-o",
            str(tmp_path / "c.nc"),
        ]
    )
    assert code != 0
    assert not (tmp_path / "c.nc").exists()


def test_the_cli_refuses_a_store_of_another_run(tmp_path, capsys):
    from schemerisk.cli import main

    store = str(tmp_path / "s.zarr")
    base = ["simulate", SCENARIO, SCENARIO, "-n", "500", "--keep", "summary", "-o", store]
    assert main([*base, "--no-progress"]) == 0
    assert main([*base, "--seed", "5", "--no-progress"]) != 0
    assert "belongs to a different run" in capsys.readouterr().err
    assert main([*base, "--seed", "5", "--no-progress", "--overwrite"]) == 0
    assert int(xr.open_zarr(store).attrs["seed"]) == 5
    assert np.isfinite(xr.open_zarr(store)["p_deficit"].values).all()
