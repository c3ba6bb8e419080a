"""Beyond one machine (issue 5): dask workers, chunk size, Zarr writing, streaming summaries,
and where the time of a Monte Carlo run goes.

Run from the repository root::

    python benchmarks/bench_distributed.py                  # all tables, N = 10^5 (a few minutes)
    python benchmarks/bench_distributed.py --n 1000000      # the same at 10^6 draws
    python benchmarks/bench_distributed.py --only profile   # one table
    python benchmarks/bench_distributed.py --big            # 10^8 draws, --keep summary (long)
    python benchmarks/bench_distributed.py --json out.json  # also save the figures

Every case runs in a fresh child process (this script with ``--child``) so that
its peak memory is its own; the parent samples the resident set size of the
child *and all its descendants* (the dask scheduler and worker processes) every
0.2 s with psutil and reports the peak of the sum. Seconds are wall-clock, from
the start of the child (imports, cluster start-up and numba cache loading
included). Scenario B (``hai_phong_1993_1997``) with its shipped distributions
file (17 uncertain inputs), extended to a 10-year horizon.

Tables
------
1. **local vs workers**: ``simulate`` in this process (numba threads over the
   cores, the cube in memory); the chunked run into a Zarr store in this
   process; the same on ``--workers 1`` and ``--workers 2`` (one numba thread
   per worker).
2. **chunk size** on 2 workers.
3. **Zarr writing**: the chunked run with and without writing (``keep summary``
   writes almost nothing), and the store size.
4. **streaming summaries** against the full cube, in this process and on 2 workers.
5. **profile** of one chunk of 65,536 draws: unit design rows, ``to_values``,
   the kernel; the memory floor of writing the kernel's output array (fresh
   ``np.empty`` + ``fill``, and ``fill`` of an already touched array); and the
   same projection written with numpy, vectorised over the draws
   (``numpy_model.py``; tests/model/test_vectorised_reference.py checks
   that it equals the kernel bit for bit).
6. **pipelines**: 10^6 draws over ten years and the risk report; a Sobol'
   study at N = 2^14.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import psutil

SCENARIO = "hai_phong_1993_1997"
HORIZON = 10


def machine() -> str:
    """One line describing the machine and its load."""
    import numba

    load = os.getloadavg()
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}, "
        f"numpy {np.__version__}, numba {numba.__version__}; "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )


def measure(args: list[str]) -> dict[str, Any]:
    """Run this script as a child with ``args``; return its JSON result, seconds and peak tree RSS."""
    fd, out = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", out, *args])
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [ps, *ps.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed with code {proc.returncode}")
    with open(out) as fh:
        result = json.load(fh)
    os.unlink(out)
    result.update(seconds=seconds, peak_mb=peak / 2**20)
    return result


def _space():  # type: ignore[no-untyped-def]
    from schemerisk.model.layout import compile_inputs
    from schemerisk.model.project import as_scenario
    from schemerisk.uncertainty.space import load_space

    sc = as_scenario(SCENARIO).with_horizon(HORIZON)
    return load_space(SCENARIO, sc, compile_inputs(sc))


def _space_16():  # type: ignore[no-untyped-def]
    """The shipped distributions without their correlations and population growth: 16 inputs,
    each its own Sobol' group (the issue's "Sobol' study of 16 inputs")."""
    import yaml

    from schemerisk.model.layout import compile_inputs
    from schemerisk.model.project import as_scenario
    from schemerisk.scenario.builtin import resolve_builtin
    from schemerisk.uncertainty.space import parse_space

    doc = yaml.safe_load(resolve_builtin(SCENARIO, "distributions").read_text(encoding="utf-8"))
    doc.pop("correlations", None)
    doc["inputs"].pop("population_growth")
    sc = as_scenario(SCENARIO).with_horizon(HORIZON)
    space = parse_space(yaml.safe_dump(doc), sc, "16 inputs", compile_inputs(sc))
    assert len(space.entries) == 16 and not space.correlations
    return space


def child(case: str, n: int, chunk: int, workers: int, store: str) -> dict[str, Any]:
    """One measured case, in this (child) process."""
    from schemerisk.uncertainty.distributed import connect, make_job, run_to_store
    from schemerisk.uncertainty.montecarlo import simulate
    from schemerisk.uncertainty.sampling import unit_design

    space = _space()
    t0 = time.perf_counter()
    if case == "simulate":
        cube = simulate(space.scenario, space, n, seed=1, chunk_size=chunk, progress=False)
        return {"work_seconds": time.perf_counter() - t0, "cube_mb": cube.nbytes / 2**20}
    if case == "pipeline":
        from schemerisk.analysis.risk import deficit_risk

        cube = simulate(space.scenario, space, n, seed=1, chunk_size=chunk, progress=False)
        t1 = time.perf_counter()
        deficit_risk(cube)
        return {"work_seconds": time.perf_counter() - t0, "risk_seconds": time.perf_counter() - t1}
    if case == "pipeline_risk":
        from schemerisk.analysis.risk import RISK_OUTPUTS, deficit_risk

        cube = simulate(
            space.scenario, space, n, seed=1, chunk_size=chunk, keep=RISK_OUTPUTS, progress=False
        )
        t1 = time.perf_counter()
        deficit_risk(cube)
        return {"work_seconds": time.perf_counter() - t0, "risk_seconds": time.perf_counter() - t1}
    if case == "risk_cli":
        import contextlib
        import io

        from schemerisk.cli import main

        argv = ["risk", SCENARIO, SCENARIO, "-n", str(n), "--horizon", str(HORIZON)]
        with contextlib.redirect_stdout(io.StringIO()):
            code = main([*argv, "--seed", "1", "--no-progress"])
        if code != 0:
            raise RuntimeError(f"schemerisk {' '.join(argv)} exited with {code}")
        return {"work_seconds": time.perf_counter() - t0}
    if case in ("sobol", "sobol16"):
        from schemerisk.analysis.sensitivity import sobol_analysis
        from schemerisk.uncertainty.sampling import salib_problem

        if case == "sobol16":
            space = _space_16()
            t0 = time.perf_counter()
        groups = len(set(salib_problem(space)["groups"]))  # type: ignore[call-overload]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the precision warning
            sobol_analysis(space.scenario, space, n, seed=1, progress=False)
        return {"work_seconds": time.perf_counter() - t0, "groups": groups}
    keep = "summary" if case == "summary" else None
    job = make_job(
        space,
        unit_design(space, n, 1),
        keep=keep,
        chunk_size=chunk,
        threads=None if workers == 0 else 1,
    )
    shutil.rmtree(store, ignore_errors=True)
    with connect(None, workers or None) as client:
        t1 = time.perf_counter()
        run_to_store(job, store, client=client, progress=False)
        work = time.perf_counter() - t1
    size = sum(p.stat().st_size for p in Path(store).rglob("*") if p.is_file())
    shutil.rmtree(store, ignore_errors=True)
    return {"work_seconds": work, "store_mb": size / 2**20}


def profile(n: int = 65_536) -> list[dict[str, Any]]:
    """Seconds per stage for one chunk of ``n`` draws (best of 3), and the floors."""
    from numpy_model import project_numpy as project_vectorised
    from schemerisk.model.kernel import output_offsets, run_kernel
    from schemerisk.uncertainty.sampling import to_values, unit_design

    space = _space()
    design = unit_design(space, n, 1)
    row = int(output_offsets(space.inputs)[-1])
    unit = design.rows(0, n)
    theta = to_values(space, unit)
    out = np.empty((n, row))
    run_kernel(space.inputs, theta[:2], space.modifications, out=out[:2])  # load the cache

    def best(f) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(3):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        return min(times)

    def fresh_fill() -> None:
        a = np.empty((n, row))
        a.fill(1.0)

    def exact_to_values() -> None:
        # the same with scipy's exact inverse CDFs (what to_values used before the numerical inverse)
        saved = [e.marginal._inverse for e in space.entries]
        for e in space.entries:
            e.marginal._inverse = False
        try:
            to_values(space, unit)
        finally:
            for e, inv in zip(space.entries, saved, strict=True):
                e.marginal._inverse = inv

    from schemerisk.analysis.risk import RISK_OUTPUTS
    from schemerisk.model.results import DEFAULT_KEEP, kept_positions

    kept_default = kept_positions(space.inputs, DEFAULT_KEEP)[0]
    kept_risk = kept_positions(space.inputs, RISK_OUTPUTS)[0]
    out_default = np.empty((n, kept_default.size))
    out_risk = np.empty((n, kept_risk.size))
    mods = space.modifications
    rows = [
        ("unit design rows (PCG64 blocks)", best(lambda: design.rows(0, n))),
        ("to_values (copula, AR(1), inverse CDFs)", best(lambda: to_values(space, unit))),
        ("to_values with scipy's exact inverse CDFs", best(exact_to_values)),
        (
            f"kernel, full rows ({row} floats), all threads",
            best(lambda: run_kernel(space.inputs, theta, mods, out=out)),
        ),
        (
            f"kernel, default outputs ({kept_default.size} floats)",
            best(lambda: run_kernel(space.inputs, theta, mods, out=out_default, keep=kept_default)),
        ),
        (
            f"kernel, risk outputs ({kept_risk.size} floats)",
            best(lambda: run_kernel(space.inputs, theta, mods, out=out_risk, keep=kept_risk)),
        ),
        ("floor: np.empty + fill, output shape", best(fresh_fill)),
        ("floor: fill of a touched array", best(lambda: out.fill(1.0))),
        (
            "numpy-vectorised model (numpy_model.py)",
            best(lambda: project_vectorised(space.inputs, theta, mods)),
        ),
    ]
    return [
        {"stage": s, "seconds": t, "draws_per_second": n / t, "n": n, "row_floats": row}
        for s, t in rows
    ]


def print_table(title: str, rows: list[dict[str, Any]], n: int) -> None:
    """Print one results table."""
    print(f"\n{title}")
    print(f"{'case':<44}{'N':>12}{'seconds':>10}{'proj./s':>12}{'peak MB':>10}  note")
    for r in rows:
        note = r.get("note", "")
        print(
            f"{r['case']:<44}{r.get('n', n):>12,}{r['seconds']:>10.1f}"
            f"{r.get('n', n) / r['seconds']:>12,.0f}{r['peak_mb']:>10,.0f}  {note}"
        )


def main() -> None:
    """Run the benchmarks and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument(
        "--only", choices=["workers", "chunks", "zarr", "summary", "profile", "pipelines"]
    )
    ap.add_argument("--big", action="store_true", help="10^8 draws, --keep summary, 2 workers")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        out, case, n, chunk, workers, store = a.child
        res = child(case, int(n), int(chunk), int(workers), store)
        Path(out).write_text(json.dumps(res))
        return
    print(machine())
    n = a.n
    tmp = tempfile.mkdtemp(prefix="bench_distributed.")
    store = str(Path(tmp) / "run.zarr")
    results: dict[str, Any] = {"machine": machine()}

    def case(
        label: str, kind: str, n_: int, chunk: int, workers: int, note: str = ""
    ) -> dict[str, Any]:
        r = measure([kind, str(n_), str(chunk), str(workers), store])
        r.update(case=label, n=n_, note=note or f"work {r['work_seconds']:.1f} s")
        return r

    if a.big:
        rows = [case("summary, 2 workers, chunk 131072", "summary", 100_000_000, 131_072, 2)]
        print_table("10^8 draws of scenario B, --keep summary", rows, 100_000_000)
        results["big"] = rows
    else:
        if a.only in (None, "workers"):
            rows = [
                case("simulate, in memory, 2 numba threads", "simulate", n, 16_384, 0),
                case("chunked to Zarr, this process", "cube", n, 16_384, 0),
                case("chunked to Zarr, --workers 1", "cube", n, 16_384, 1),
                case("chunked to Zarr, --workers 2", "cube", n, 16_384, 2),
            ]
            print_table("1. local vs workers (default outputs kept)", rows, n)
            results["workers"] = rows
        if a.only in (None, "chunks"):
            rows = [
                case(f"--workers 2, chunk {c}", "cube", n, c, 2) for c in (4_096, 16_384, 65_536)
            ]
            print_table("2. chunk size", rows, n)
            results["chunks"] = rows
        if a.only in (None, "zarr"):
            rows = [
                case("cube to Zarr, this process", "cube", n, 16_384, 0),
                case("summary only (no cube written), this process", "summary", n, 16_384, 0),
            ]
            for r in rows:
                r["note"] += f"; store {r['store_mb']:.1f} MB"
            print_table("3. Zarr writing", rows, n)
            results["zarr"] = rows
        if a.only in (None, "summary"):
            rows = [
                case("summary, this process", "summary", n, 65_536, 0),
                case("summary, --workers 2", "summary", n, 65_536, 2),
                case("full cube, --workers 2", "cube", n, 65_536, 2),
            ]
            print_table("4. streaming summaries", rows, n)
            results["summary"] = rows
        if a.only in (None, "profile"):
            prof = profile()
            print(
                f"\n5. profile of one chunk of {prof[0]['n']:,} draws ({prof[0]['row_floats']} output floats per draw)"
            )
            print(f"{'stage':<56}{'seconds':>10}{'draws/s':>14}")
            for r in prof:
                print(f"{r['stage']:<56}{r['seconds']:>10.3f}{r['draws_per_second']:>14,.0f}")
            results["profile"] = prof
        if a.only in (None, "pipelines"):
            million = 1_000_000
            rows = [
                case("schemerisk risk B B -n 10^6 --horizon 10", "risk_cli", million, 16_384, 0),
                case("simulate(keep=RISK_OUTPUTS) + risk", "pipeline_risk", million, 16_384, 0),
                case("simulate (default outputs) + risk", "pipeline", million, 16_384, 0),
                case("Sobol' N = 2^14, shipped file", "sobol", 2**14, 16_384, 0),
                case("Sobol' N = 2^14, 16 inputs", "sobol16", 2**14, 16_384, 0),
            ]
            for r in rows[3:]:
                r["n"] = 2**14 * (r["groups"] + 2)  # model runs of the Saltelli design
                r["note"] += f"; {r['groups']} groups, {r['n']:,} runs"
            print_table("6. pipelines (this process, all numba threads)", rows, n)
            results["pipelines"] = rows
    print(f"\n{machine()}")
    shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
