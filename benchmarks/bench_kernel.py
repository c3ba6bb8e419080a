"""Kernel throughput, start-up time and peak memory of schemerisk (issue 2).

Run from the repository root::

    python benchmarks/bench_kernel.py                 # full run: needs ~7 GB of memory
    python benchmarks/bench_kernel.py --quick         # CI smoke: skips the 10^6-draw runs
    python benchmarks/bench_kernel.py --json out.json # also save the results as JSON

Three measurements, printed as one plain-text table after a description of the
machine:

1. **Kernel throughput.** :func:`schemerisk.model.kernel.run_kernel` on
   scenario B (``hai_phong_1993_1997``) extended to ten years (``with_horizon(10)``),
   with ``theta`` of shape (draws, 0): ``draws`` identical projections, in
   parallel over draws. For each number of draws and of numba threads: one
   warm-up call, then the best of three timed calls, all writing into the same
   preallocated ``out`` array (10^6 draws x row length x 8 bytes: several GB).
2. **Start-up time** of ``schemerisk project hai_phong_1993_1997`` in a fresh
   interpreter: *cold* with an empty ``NUMBA_CACHE_DIR`` (every kernel is
   compiled), *cached* with the same directory once populated (kernels are
   loaded from the cache), and ``python -c "import schemerisk"`` as the floor.
3. **Peak memory** (``ru_maxrss``) of this process around the largest run, next
   to the size of the output array, and the Python-heap peak (``tracemalloc``)
   of one ``run_kernel`` call into a preallocated array.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numba
import numpy as np

import _machine
from schemerisk.model.kernel import output_offsets, run_kernel
from schemerisk.model.layout import ModelInputs, compile_inputs
from schemerisk.scenario import load_scenario

SCENARIO = "hai_phong_1993_1997"
HORIZON = 10
REPEATS = 3
MB = 1e6  # output sizes and memory are in MB = 10^6 bytes


def machine() -> dict[str, Any]:
    """A description of the machine and the software versions."""
    return _machine.machine()


def rss_mb() -> float:
    """Current resident set size of this process in MB (/proc/self/statm; else the peak)."""
    try:
        resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return maxrss_mb()
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / MB


def maxrss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux: ru_maxrss is KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1.0 if sys.platform == "darwin" else 1024.0  # macOS reports bytes
    return rss * scale / MB


# ---------------------------------------------------------------- 1. throughput


def time_kernel(inputs: ModelInputs, out: np.ndarray, threads: int) -> list[float]:
    """Wall-clock seconds of REPEATS run_kernel calls, after a warm-up call."""
    theta = np.zeros((out.shape[0], 0))
    numba.set_num_threads(threads)
    try:
        run_kernel(inputs, theta, out=out)  # warm-up: threads started, pages of `out` touched
        times = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            run_kernel(inputs, theta, out=out)
            times.append(time.perf_counter() - start)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return times


def throughput(inputs: ModelInputs, quick: bool, memory: dict[str, Any]) -> list[dict[str, Any]]:
    """Projections per second for each (draws, threads) of the plan."""
    all_threads = numba.config.NUMBA_NUM_THREADS
    sizes = [1, 10**4] if quick else [1, 10**4, 10**6]
    row_length = int(output_offsets(inputs)[-1])
    rows = []
    for draws in sizes:
        threads = [all_threads]
        if draws > 1:  # also 1 and 2 threads, where they differ from "all"
            threads += [t for t in (1, 2) if t < all_threads]
        rss_before = rss_mb()
        out = np.empty((draws, row_length))
        for t in threads:
            times = time_kernel(inputs, out, t)
            seconds = min(times)
            rows.append(
                {
                    "draws": draws,
                    "threads": t,
                    "seconds": seconds,
                    "projections_per_s": draws / seconds,
                    "output_mb": out.nbytes / MB,
                    "all_seconds": times,
                }
            )
            print(
                f"  {draws:>9,} draws, {t} thread(s): {seconds:.4f} s", file=sys.stderr, flush=True
            )
        if draws == sizes[-1]:
            memory.update(peak_memory(inputs, out, rss_before))
        del out
    return rows


# ---------------------------------------------------------------- 3. memory


def peak_memory(inputs: ModelInputs, out: np.ndarray, rss_before: float) -> dict[str, Any]:
    """Peak RSS around the largest run and the Python-heap peak of one call."""
    theta = np.zeros((out.shape[0], 0))
    tracemalloc.start()
    run_kernel(inputs, theta, out=out)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = maxrss_mb()
    return {
        "draws": int(out.shape[0]),
        "row_length": int(out.shape[1]),
        "output_mb": out.nbytes / MB,
        "rss_before_mb": rss_before,
        "maxrss_peak_mb": peak,
        "maxrss_increase_mb": peak - rss_before,
        "tracemalloc_peak_mb": traced_peak / MB,
    }


# ---------------------------------------------------------------- 2. start-up


def time_command(argv: list[str], env: dict[str, str]) -> float:
    """Wall-clock seconds of one subprocess run (output discarded; must succeed)."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
    return seconds


def startup() -> list[dict[str, Any]]:
    """Cold (empty numba cache) and cached start-up of the CLI, and the import floor."""
    cli = [sys.executable, "-m", "schemerisk.cli", "project", SCENARIO]
    rows = []
    with tempfile.TemporaryDirectory(prefix="schemerisk-numba-cache-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        cold = time_command(cli, env)
        n_files = sum(1 for p in Path(cache).rglob("*") if p.suffix in (".nbi", ".nbc"))
        rows.append(
            {
                "what": "schemerisk project, cold (empty NUMBA_CACHE_DIR)",
                "runs": 1,
                "seconds": cold,
                "cache_files": n_files,
            }
        )
        cached = [time_command(cli, env) for _ in range(REPEATS)]
        rows.append(
            {
                "what": "schemerisk project, cached (same NUMBA_CACHE_DIR)",
                "runs": REPEATS,
                "seconds": min(cached),
                "all_seconds": cached,
            }
        )
        for module, label in (("schemerisk", "floor"), ("schemerisk.model", "numba + xarray")):
            argv = [sys.executable, "-c", f"import {module}"]
            times = [time_command(argv, env) for _ in range(REPEATS)]
            rows.append(
                {
                    "what": f'python -c "import {module}" ({label})',
                    "runs": REPEATS,
                    "seconds": min(times),
                    "all_seconds": times,
                }
            )
    return rows


# ---------------------------------------------------------------- report


def format_report(results: dict[str, Any]) -> str:
    """The results as an aligned plain-text table."""
    m = results["machine"]
    lines = [
        *_machine.machine_lines(m),
        "",
        f"1. Kernel throughput: {SCENARIO}, horizon {HORIZON} "
        f"(row length {results['row_length']}), best of {REPEATS} after a warm-up",
        f"  {'draws':>9}  {'threads':>8}  {'seconds':>10}  {'projections/s':>13}  "
        f"{'vs 1 thread':>11}  {'output MB':>9}",
    ]
    one_thread = {r["draws"]: r["seconds"] for r in results["throughput"] if r["threads"] == 1}
    slow = []
    for r in results["throughput"]:
        ratio = one_thread.get(r["draws"], float("nan")) / r["seconds"]
        speedup = "" if r["draws"] == 1 or math.isnan(ratio) else f"{ratio:.2f}x"
        lines.append(
            f"  {r['draws']:>9,}  {_machine.threads_label(r['threads'], m):>8}  {r['seconds']:>10.6f}  "
            f"{r['projections_per_s']:>13,.0f}  {speedup:>11}  {r['output_mb']:>9,.1f}"
        )
        if r["threads"] > 1 and ratio < 0.6 * r["threads"]:
            slow.append(f"{r['draws']:,} draws on {r['threads']} threads")
    if slow:
        lines.append(
            f"  warning: little parallel speed-up ({'; '.join(slow)}): were the CPUs busy "
            "(see the load average)? rerun on an idle machine"
        )
    lines += ["", f"2. Start-up: schemerisk project {SCENARIO} in a fresh interpreter (wall clock)"]
    width = max(len(r["what"]) for r in results["startup"])
    lines.append(f"  {'command':<{width}}  {'runs':>4}  {'seconds':>7}")
    for r in results["startup"]:
        lines.append(f"  {r['what']:<{width}}  {r['runs']:>4}  {r['seconds']:>7.2f}")
    cold = results["startup"][0]
    lines.append(f"  (the cold run wrote {cold['cache_files']} numba cache files; cached = best)")
    mem = results["memory"]
    lines += [
        "",
        f"3. Peak memory around the {mem['draws']:,}-draw run (preallocated out, reused)",
        f"  output array ({mem['draws']:,} x {mem['row_length']} x 8 B)  "
        f"{mem['output_mb']:>9,.1f} MB",
        f"  RSS before allocating it               {mem['rss_before_mb']:>9,.1f} MB",
        f"  ru_maxrss peak after the runs          {mem['maxrss_peak_mb']:>9,.1f} MB",
        f"  peak minus RSS before                  {mem['maxrss_increase_mb']:>9,.1f} MB",
        f"  tracemalloc peak of one run_kernel     {mem['tracemalloc_peak_mb']:>9,.3f} MB",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print the table and optionally save JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 10^6-draw runs (CI smoke)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also save the results as JSON")
    args = parser.parse_args(argv)

    inputs = compile_inputs(load_scenario(SCENARIO).with_horizon(HORIZON))
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    results["row_length"] = int(output_offsets(inputs)[-1])
    run_kernel(inputs)  # compile or load from cache, outside any timing
    results["machine"]["threading_layer"] = numba.threading_layer()

    print("kernel throughput ...", file=sys.stderr, flush=True)
    memory: dict[str, Any] = {}
    results["throughput"] = throughput(inputs, args.quick, memory)
    results["memory"] = memory
    print("start-up ...", file=sys.stderr, flush=True)
    results["startup"] = startup()
    results["machine"]["load_end"] = _machine.load_average()

    print(format_report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
