"""Monte Carlo throughput, peak memory per draw, and sampling against kernel time (issue 3).

Run from the repository root::

    python benchmarks/bench_montecarlo.py                 # full run (10^6 draws; ~15 min on 2 cores)
    python benchmarks/bench_montecarlo.py --quick         # smoke test: no 10^5 or 10^6 runs
    python benchmarks/bench_montecarlo.py --json out.json # also save the results as JSON

Three measurements, printed as plain-text tables after a description of the
machine. Every run uses scenario B (``hai_phong_1993_1997``, whose own horizon
is 4 years, 1993-1997) with the shipped distributions file of the same name
(17 uncertain inputs, three of them drawn every year), extended with
``horizon=`` to 5 or 10 years after the base year.

1. **Projections per second** of the whole Monte Carlo run,
   :func:`schemerisk.uncertainty.montecarlo.simulate`, as a user calls it:
   loading the files, drawing, projecting and assembling the xarray cube. For
   each number of draws N (10^3 ... 10^6), horizon and number of numba threads
   (1 and 2): one warm-up call per horizon, then the best of 3 timed calls for
   N <= 10^4, of 2 for 10^5, and a single call for 10^6.
2. **Peak memory per draw.** Each 10^6-draw case runs in a fresh subprocess
   (this script with a hidden ``--child`` option) under ``/usr/bin/time -v``,
   which reports the child's peak resident set size (``ru_maxrss``); the
   child's own VmHWM (/proc/self/status) is printed next to it as a check.
   (``RUSAGE_CHILDREN`` read from this process would be wrong here: Linux
   starts a child's ``ru_maxrss`` from its parent's peak, and this process has
   just run 10^6 draws.) The child first makes a 1,000-draw warm-up run; its
   peak then is the baseline (Python, numpy, scipy, xarray, numba and the
   compiled kernels). Bytes per draw = (peak - baseline) / N, for the default
   outputs and for ``keep="all"``.
3. **Sampling against kernel time**, for the bound space of the 10-year
   scenario and the samplers mc, lhs and sobol: the unit-cube design
   (:func:`~schemerisk.uncertainty.sampling.unit_design` and its rows), the map
   to input values (:func:`~schemerisk.uncertainty.sampling.to_values`) and the
   compiled kernel (:func:`~schemerisk.model.kernel.run_kernel`), each timed
   separately, chunk by chunk (16,384 draws) as ``run_design`` does, with all
   numba threads.

The machine's load average is printed at the start and the end: other work on
the machine slows every figure down.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numba
import numpy as np
import scipy

import _machine
from schemerisk.model.kernel import output_offsets, run_kernel
from schemerisk.model.layout import compile_inputs
from schemerisk.model.results import DEFAULT_KEEP, VARIABLE_FIELDS, output_slices
from schemerisk.scenario import load_scenario
from schemerisk.uncertainty.montecarlo import DEFAULT_CHUNK, numba_threads, simulate
from schemerisk.uncertainty.sampling import to_values, unit_design
from schemerisk.uncertainty.space import ParameterSpace, load_space

SCENARIO = "hai_phong_1993_1997"
DISTRIBUTIONS = "hai_phong_1993_1997"
HORIZONS = (5, 10)
THREADS = (1, 2)
SAMPLERS = ("mc", "lhs", "sobol")
SEED = 2026
MB = 1e6  # memory is in MB = 10^6 bytes
TIME_V = "/usr/bin/time"  # GNU time, for a child's ru_maxrss


# ---------------------------------------------------------------- machine


def machine() -> dict[str, Any]:
    """A description of the machine and the software versions."""
    return _machine.machine(scipy=scipy.__version__)


def _threads_available() -> tuple[int, ...]:
    most = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    return tuple(t for t in THREADS if t <= most)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- 1. throughput


def _repeats(n: int) -> int:
    return 3 if n <= 10**4 else 2 if n <= 10**5 else 1


def throughput(sizes: list[int]) -> list[dict[str, Any]]:
    """Projections per second of ``simulate`` for each horizon, N and thread count."""
    rows = []
    for horizon in HORIZONS:
        simulate(SCENARIO, DISTRIBUTIONS, 1000, horizon=horizon, progress=False)  # warm-up
        for n in sizes:
            for threads in _threads_available():
                times, cpu = [], []
                for _ in range(_repeats(n)):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    cube = simulate(
                        SCENARIO,
                        DISTRIBUTIONS,
                        n,
                        seed=SEED,
                        horizon=horizon,
                        threads=threads,
                        progress=False,
                    )
                    times.append(time.perf_counter() - start)
                    cpu.append(time.process_time() - start_cpu)
                    del cube
                best = int(np.argmin(times))
                seconds = times[best]
                rows.append(
                    {
                        "horizon": horizon,
                        "draws": n,
                        "threads": threads,
                        "seconds": seconds,
                        "projections_per_s": n / seconds,
                        "cpu_seconds": cpu[best],
                        "all_seconds": times,
                    }
                )
                _log(
                    f"  simulate: horizon {horizon}, {n:>9,} draws, {threads} thread(s): "
                    f"{seconds:.3f} s"
                )
    return rows


# ---------------------------------------------------------------- 2. memory


def vm_hwm_bytes() -> float | None:
    """Peak resident set of this process's own address space (VmHWM; Linux), reset by exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) * 1024.0
    except (OSError, IndexError, ValueError):
        pass
    return None


def child(n: int, horizon: int, keep: str) -> int:
    """In a fresh process: warm up, note the peak so far (baseline), then run ``n`` draws."""
    keep_arg = None if keep == "default" else keep
    simulate(SCENARIO, DISTRIBUTIONS, 1000, horizon=horizon, keep=keep_arg, progress=False)
    baseline = vm_hwm_bytes()
    start = time.perf_counter()
    cube = simulate(
        SCENARIO, DISTRIBUTIONS, n, seed=SEED, horizon=horizon, keep=keep_arg, progress=False
    )
    seconds = time.perf_counter() - start
    report = {
        "baseline_bytes": baseline,
        "vmhwm_bytes": vm_hwm_bytes(),
        "seconds": seconds,
        "cube_bytes": int(cube.nbytes),
        "variables": len(cube.data_vars),
    }
    print(json.dumps(report))
    return 0


def kept_values_per_draw(horizon: int, keep: str) -> tuple[int, int]:
    """Output values kept per draw by the kernel run, and drawn input values per draw."""
    sc = load_scenario(SCENARIO).with_horizon(horizon)
    inputs = compile_inputs(sc)
    names = list(DEFAULT_KEEP) if keep == "default" else list(VARIABLE_FIELDS)
    kept = sum(sl.stop - sl.start for _, sl, _ in output_slices(inputs, names))
    space = load_space(DISTRIBUTIONS, sc, inputs)
    return kept, space.n_columns


def run_child(argv: list[str]) -> tuple[dict[str, Any], float | None]:
    """Run ``argv``; return its JSON report and its ``ru_maxrss`` in bytes from ``/usr/bin/time -v``.

    Why not ``os.wait4`` or ``RUSAGE_CHILDREN`` from this process: on Linux a
    child's ``ru_maxrss`` starts from its parent's peak at the fork, so after a
    10^6-draw run here every child would look as large as this process.
    ``/usr/bin/time`` is small, so the figure it reports is the child's own. The
    child's VmHWM (its address space's own peak) is the cross-check, and the
    fallback where ``/usr/bin/time`` is missing (ru_maxrss is then None).
    """
    timer = TIME_V if Path(TIME_V).exists() else None
    done = subprocess.run(
        [timer, "-v", *argv] if timer else argv, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return report, (float(found.group(1)) * 1024.0 if timer and found else None)


def memory(n: int) -> list[dict[str, Any]]:
    """Peak RSS of a fresh process running ``simulate`` with ``n`` draws, per horizon and keep."""
    rows = []
    for horizon in HORIZONS:
        for keep in ("default", "all"):
            argv = [sys.executable, str(Path(__file__).resolve()), "--child"]
            argv += [str(n), str(horizon), keep]
            report, maxrss = run_child(argv)
            peak = maxrss if maxrss is not None else report["vmhwm_bytes"]
            kept, columns = kept_values_per_draw(horizon, keep)
            rows.append(
                {
                    "horizon": horizon,
                    "keep": keep,
                    "draws": n,
                    "maxrss_bytes": maxrss,
                    "peak_bytes": peak,
                    "per_draw_bytes": (peak - report["baseline_bytes"]) / n,
                    "kept_values": kept,
                    "drawn_values": columns,
                    "floor_per_draw_bytes": 8 * (kept + columns),
                    **report,
                }
            )
            _log(f"  memory: horizon {horizon}, keep {keep}: peak {peak / MB:,.0f} MB")
    return rows


# ---------------------------------------------------------------- 3. sampling vs kernel


def _bound_space(horizon: int) -> ParameterSpace:
    sc = load_scenario(SCENARIO).with_horizon(horizon)
    return load_space(DISTRIBUTIONS, sc, compile_inputs(sc))


def sampling_vs_kernel(sizes: list[int]) -> list[dict[str, Any]]:
    """Seconds in the design, in ``to_values`` and in ``run_kernel``, per sampler and N."""
    space = _bound_space(10)
    inputs, mods = space.inputs, space.modifications
    row_length = int(output_offsets(inputs)[-1])
    buffer = np.empty((DEFAULT_CHUNK, row_length))
    warm = unit_design(space, 1000, SEED, "mc")
    theta_warm = to_values(space, warm.rows(0, 1000))
    run_kernel(inputs, theta_warm, mods, out=buffer[:1000])  # compile or load, outside timing
    rows = []
    for sampler in SAMPLERS:
        for n in sizes:
            with warnings.catch_warnings():  # Sobol' warns that 10^k is not a power of two
                warnings.simplefilter("ignore", UserWarning)
                start = time.perf_counter()
                design = unit_design(space, n, SEED, sampler)
                unit = design.rows(0, n)
                t_design = time.perf_counter() - start
            theta = np.empty((n, space.n_columns))
            start, start_cpu = time.perf_counter(), time.process_time()
            for a in range(0, n, DEFAULT_CHUNK):
                b = min(a + DEFAULT_CHUNK, n)
                theta[a:b] = to_values(space, unit[a:b])
            t_values = time.perf_counter() - start
            cpu_values = time.process_time() - start_cpu
            with numba_threads(None):
                start, start_cpu = time.perf_counter(), time.process_time()
                for a in range(0, n, DEFAULT_CHUNK):
                    b = min(a + DEFAULT_CHUNK, n)
                    run_kernel(inputs, theta[a:b], mods, out=buffer[: b - a])
                t_kernel = time.perf_counter() - start
                cpu_kernel = time.process_time() - start_cpu
            rows.append(
                {
                    "sampler": sampler,
                    "draws": n,
                    "columns": space.n_columns,
                    "design_s": t_design,
                    "to_values_s": t_values,
                    "kernel_s": t_kernel,
                    "to_values_cpu_s": cpu_values,
                    "kernel_cpu_s": cpu_kernel,
                }
            )
            _log(
                f"  {sampler:>5}, {n:>9,} draws: design {t_design:.2f} s, to_values "
                f"{t_values:.2f} s, kernel {t_kernel:.2f} s"
            )
            del design, unit, theta
    return rows


def sampling_profile(n: int) -> list[dict[str, Any]]:
    """Seconds of each entry's inverse CDF for ``n`` draws (where ``to_values`` spends its time)."""
    space = _bound_space(10)
    u = np.random.default_rng(SEED).random((n, 1))
    rows = []
    for e in space.entries:
        cols = len(space.columns[e.name])
        start = time.perf_counter()
        e.marginal.ppf(u)
        seconds = (time.perf_counter() - start) * cols
        rows.append(
            {"entry": e.name, "family": e.marginal.family, "columns": cols, "seconds": seconds}
        )
    return rows


# ---------------------------------------------------------------- report


def format_report(results: dict[str, Any]) -> str:
    """The results as aligned plain-text tables."""
    m = results["machine"]
    lines = [
        *_machine.machine_lines(m, ("numpy", "numba", "scipy")),
        "",
        f"1. simulate('{SCENARIO}', '{DISTRIBUTIONS}', N, horizon=H, threads=T): whole run "
        "(load, draw, project, assemble the cube)",
        f"  {'H':>3}  {'draws N':>9}  {'threads':>8}  {'runs':>4}  {'seconds':>9}  "
        f"{'CPU s':>9}  {'projections/s':>13}  {'vs 1 thread':>11}",
    ]
    one = {
        (r["horizon"], r["draws"]): r["seconds"] for r in results["throughput"] if r["threads"] == 1
    }
    for r in results["throughput"]:
        base = one.get((r["horizon"], r["draws"]))
        speedup = f"{base / r['seconds']:.2f}x" if base and r["threads"] > 1 else ""
        lines.append(
            f"  {r['horizon']:>3}  {r['draws']:>9,}  {_machine.threads_label(r['threads'], m):>8}  "
            f"{len(r['all_seconds']):>4}  {r['seconds']:>9.3f}  {r['cpu_seconds']:>9.3f}  "
            f"{r['projections_per_s']:>13,.0f}  {speedup:>11}"
        )
    lines.append(
        "  seconds = wall clock of the best run, after one warm-up call per horizon; CPU s = "
        "process CPU time of that run, all threads"
    )
    busy = max(m["load_start"] or 0.0, m["load_end"] or 0.0)
    if m["cores"] and busy > m["cores"]:
        lines.append(
            f"  warning: the load average ({busy}) exceeded the {m['cores']} cores: other work "
            "slowed these runs; seconds above CPU s is time spent waiting for a CPU"
        )

    mem = results["memory"]
    n_mem = mem[0]["draws"] if mem else 0
    lines += [
        "",
        f"2. Peak memory of a fresh process running simulate with {n_mem:,} draws (all threads)",
        f"  {'H':>3}  {'keep':>7}  {'baseline MB':>11}  {'ru_maxrss MB':>12}  {'VmHWM MB':>8}  "
        f"{'bytes/draw':>10}  {'floor B/draw':>12}  {'cube MB':>8}  {'seconds':>7}",
    ]
    for r in mem:
        maxrss = "n/a" if r["maxrss_bytes"] is None else f"{r['maxrss_bytes'] / MB:,.0f}"
        hwm = "n/a" if r["vmhwm_bytes"] is None else f"{r['vmhwm_bytes'] / MB:,.0f}"
        lines.append(
            f"  {r['horizon']:>3}  {r['keep']:>7}  {r['baseline_bytes'] / MB:>11,.0f}  "
            f"{maxrss:>12}  {hwm:>8}  {r['per_draw_bytes']:>10,.0f}  "
            f"{r['floor_per_draw_bytes']:>12,}  {r['cube_bytes'] / MB:>8,.0f}  {r['seconds']:>7.1f}"
        )
    lines += [
        "  ru_maxrss from /usr/bin/time -v; VmHWM from the child's /proc/self/status; baseline =",
        "  peak after a 1,000-draw warm-up in the same process; bytes/draw = (peak - baseline) /",
        "  draws; floor = 8 bytes x (output values kept by the kernel + input values drawn)",
    ]

    sk = results["sampling_vs_kernel"]
    cols = sk[0]["columns"] if sk else 0
    lines += [
        "",
        f"3. Sampling against kernel time: horizon 10, {cols} drawn values per projection, "
        f"chunks of {DEFAULT_CHUNK:,}, all threads",
        f"  {'sampler':>7}  {'draws':>9}  {'design s':>8}  {'to_values s':>11}  "
        f"{'(CPU s)':>8}  {'kernel s':>8}  {'(CPU s)':>8}  {'sampling share':>14}  "
        f"{'kernel draws/s':>14}",
    ]
    for r in sk:
        sampling = r["design_s"] + r["to_values_s"]
        share = sampling / (sampling + r["kernel_s"])
        lines.append(
            f"  {r['sampler']:>7}  {r['draws']:>9,}  {r['design_s']:>8.2f}  "
            f"{r['to_values_s']:>11.2f}  {r['to_values_cpu_s']:>8.2f}  {r['kernel_s']:>8.2f}  "
            f"{r['kernel_cpu_s']:>8.2f}  {share:>14.0%}  {r['draws'] / r['kernel_s']:>14,.0f}"
        )
    lines.append(
        "  design = unit_design + its rows; sampling share = (design + to_values) / (design + "
        "to_values + kernel), wall clock"
    )

    prof = results["sampling_profile"]
    n_prof = results["sampling_profile_draws"]
    total = sum(r["seconds"] for r in prof) or 1.0
    width = max(len(r["entry"]) for r in prof)
    lines += [
        "",
        f"3b. Where to_values spends its time: each entry's inverse CDF alone, {n_prof:,} draws",
        f"  {'entry':<{width}}  {'family':<16}  {'columns':>7}  {'seconds':>7}  {'share':>5}",
    ]
    for r in sorted(prof, key=lambda r: -r["seconds"]):
        lines.append(
            f"  {r['entry']:<{width}}  {r['family']:<16}  {r['columns']:>7}  "
            f"{r['seconds']:>7.3f}  {r['seconds'] / total:>5.0%}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print the tables and optionally save JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="skip the 10^5 and 10^6-draw runs (smoke test)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also save the results as JSON")
    parser.add_argument("--child", nargs=3, metavar=("N", "H", "KEEP"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        n, horizon, keep = args.child
        return child(int(n), int(horizon), keep)

    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    big = 10**4 if args.quick else 10**6
    mid = 10**4 if args.quick else 10**5
    _log("1. simulate throughput ...")
    results["throughput"] = throughput(
        [10**3, 10**4] if args.quick else [10**k for k in (3, 4, 5, 6)]
    )
    results["machine"]["threading_layer"] = numba.threading_layer()
    _log("2. peak memory (subprocesses) ...")
    results["memory"] = memory(big)
    _log("3. sampling against kernel ...")
    results["sampling_vs_kernel"] = sampling_vs_kernel(sorted({mid, big}))
    results["sampling_profile"] = sampling_profile(mid)
    results["sampling_profile_draws"] = mid
    results["machine"]["load_end"] = _machine.load_average()

    print(format_report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        _log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
