"""Kernel throughput against today's kernel and peers, and start-up (issues 2 and 13).

Run from the repository root (``pip install -e ".[bench]"`` for the EMA Workbench peer)::

    python benchmarks/bench_kernel.py                  # ~5-10 min on a quiet 2-core machine
    python benchmarks/bench_kernel.py --quick          # fewer rounds and draws (smoke)
    python benchmarks/bench_kernel.py --baseline REV   # compare with another git revision
    python benchmarks/bench_kernel.py --json out.json  # also save every figure
    python benchmarks/bench_kernel.py --kernel-only    # table 1 only

Three tables, after a description of the machine and its load average:

1. **This kernel against the baseline kernel** (default: the revision before
   issue 13). The baseline's ``src/`` is extracted with ``git archive`` into a
   temporary folder, and each measurement runs in a fresh child process,
   alternating baseline and this version round after round, so that both see
   the same load. A child times :func:`run_kernel` on scenario B extended to ten
   years, ``theta`` of shape (draws, 0) (every draw the same projection):
   wall-clock projections/s with all numba threads, and CPU microseconds per
   projection on one thread (``time.thread_time``: less sensitive to other
   work on the machine than wall clock). Each child reports the best of its
   repeats; the table gives the median over rounds and the ratio of medians.
2. **Peers on the same draws**: the draws of the shipped distributions file of
   scenario B (17 uncertain inputs, horizon 10) projected by this kernel, by
   the plain-numpy model built from equations.py (``numpy_model.py``), by
   SALib's ``ProblemSpec.evaluate`` calling the kernel on the sample, and by
   EMA Workbench's ``perform_experiments`` calling the kernel one experiment at
   a time (the way that framework calls a Python model). All in this process.
3. **Start-up**: ``schemerisk project hai_phong_1993_1997`` in a fresh
   interpreter, cold (empty ``NUMBA_CACHE_DIR``) and cached, for both versions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import _machine

SCENARIO = "hai_phong_1993_1997"
HORIZON = 10
#: the last commit before issue 13's kernel work: "today's" kernel
BASELINE = "6e60e2bb0a97185c55982526150baa0fae9a7385"
ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
import numba, numpy as np
from schemerisk.model.kernel import run_kernel
from schemerisk.model.layout import compile_inputs
from schemerisk.scenario import load_scenario
draws, repeats = {draws}, {repeats}
inputs = compile_inputs(load_scenario({scenario!r}).with_horizon({horizon}))
theta = np.zeros((draws, 0))
out = run_kernel(inputs, theta)  # compile or load, and touch the output's pages
walls, cpus = [], []
for _ in range(repeats):
    start = time.perf_counter()
    run_kernel(inputs, theta, out=out)
    walls.append(time.perf_counter() - start)
numba.set_num_threads(1)
run_kernel(inputs, theta, out=out)
for _ in range(repeats):
    start = time.thread_time()
    run_kernel(inputs, theta, out=out)
    cpus.append(time.thread_time() - start)
print(json.dumps({{"per_s": draws / min(walls), "cpu_us": 1e6 * min(cpus) / draws,
                   "row": int(out.shape[1]), "threads": numba.config.NUMBA_NUM_THREADS}}))
"""


def child(src: Path, code: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter with ``src`` first on the path; its last JSON line."""
    environ = _machine.child_env(src, **(env or {}))
    done = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({src}):\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# ---------------------------------------------------------------- 1. against the baseline


def against_baseline(baseline: Path, rounds: int, draws: int, repeats: int) -> dict[str, Any]:
    """Alternate baseline and this version in fresh processes; medians over rounds."""
    code = CHILD.format(draws=draws, repeats=repeats, scenario=SCENARIO, horizon=HORIZON)
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "this": []}
    for r in range(rounds):
        for name, src in (("baseline", baseline), ("this", ROOT / "src")):
            runs[name].append(child(src, code))
            print(f"  round {r + 1}/{rounds} {name}: {runs[name][-1]}", file=sys.stderr)
    summary: dict[str, Any] = {"draws": draws, "rounds": rounds, "repeats": repeats}
    for name, rows in runs.items():
        summary[name] = {
            "per_s": float(np.median([x["per_s"] for x in rows])),
            "cpu_us": float(np.median([x["cpu_us"] for x in rows])),
            "all": rows,
        }
    summary["ratio_per_s"] = summary["this"]["per_s"] / summary["baseline"]["per_s"]
    summary["ratio_cpu"] = summary["baseline"]["cpu_us"] / summary["this"]["cpu_us"]
    return summary


# ---------------------------------------------------------------- 2. peers


def best_seconds(fn: Any, repeats: int) -> float:
    """Best wall-clock seconds of ``repeats`` calls after a warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peers(draws: int, ema_draws: int, repeats: int) -> list[dict[str, Any]]:
    """Projections/s of the kernel, numpy, SALib and EMA Workbench on the same draws."""
    from numpy_model import project_numpy
    from schemerisk.model.kernel import run_kernel
    from schemerisk.model.results import output_slices
    from schemerisk.uncertainty.montecarlo import bind_space
    from schemerisk.uncertainty.sampling import sample_values

    space = bind_space(SCENARIO, SCENARIO, horizon=HORIZON)
    theta = sample_values(space, draws, seed=1)
    inputs, mods = space.inputs, space.modifications
    kernel_rows = run_kernel(inputs, theta, mods)
    numpy_rows = project_numpy(inputs, theta, mods)
    same = bool(np.array_equal(kernel_rows, numpy_rows, equal_nan=True))
    rows = [
        {
            "what": "schemerisk kernel (numba, all threads)",
            "draws": draws,
            "seconds": best_seconds(lambda: run_kernel(inputs, theta, mods), repeats),
            "check": "reference",
        },
        {
            "what": "plain numpy from equations.py (numpy_model.py)",
            "draws": draws,
            "seconds": best_seconds(lambda: project_numpy(inputs, theta, mods), repeats),
            "check": "bitwise equal" if same else "DIFFERS",
        },
    ]
    where = next(w for name, w, _ in output_slices(inputs, ["balance"]) if name == "balance")
    last_balance = int(np.arange(kernel_rows.shape[1])[where][-1])  # the last year's balance
    rows.append(salib_peer(space, theta, kernel_rows[:, last_balance], last_balance, repeats))
    rows.append(
        ema_peer(space, theta[:ema_draws], kernel_rows[:ema_draws, last_balance], last_balance)
    )
    for r in rows:
        r["per_s"] = r["draws"] / r["seconds"] if r["seconds"] else float("nan")
    return rows


def salib_peer(
    space: Any, theta: np.ndarray, balance: np.ndarray, position: int, repeats: int
) -> dict[str, Any]:
    """SALib's ProblemSpec.evaluate calling the kernel on the whole sample (the SALib habit)."""
    from SALib import ProblemSpec

    from schemerisk.model.kernel import run_kernel

    columns = theta.shape[1]
    spec = ProblemSpec(
        {
            "names": [f"x{i}" for i in range(columns)],
            "bounds": [
                [float(theta[:, i].min()), float(theta[:, i].max()) + 1e-9] for i in range(columns)
            ],
            "outputs": ["balance"],
        }
    )
    spec.set_samples(theta)

    def model(x: np.ndarray) -> np.ndarray:
        return run_kernel(space.inputs, x, space.modifications)[:, position]

    def evaluate() -> None:
        spec.evaluate(model)

    seconds = best_seconds(evaluate, repeats)
    # the balance of the last year, projected through SALib, equals the kernel's
    same = bool(np.array_equal(np.asarray(spec.results).ravel(), balance))
    return {
        "what": "SALib ProblemSpec.evaluate(kernel)",
        "draws": theta.shape[0],
        "seconds": seconds,
        "check": "bitwise equal" if same else "DIFFERS",
    }


def ema_peer(space: Any, theta: np.ndarray, balance: np.ndarray, position: int) -> dict[str, Any]:
    """EMA Workbench's perform_experiments calling the kernel once per experiment."""
    try:
        from ema_workbench import (
            Model,
            RealParameter,
            ScalarOutcome,
            SequentialEvaluator,
        )
        from ema_workbench.em_framework.points import Scenario as EmaScenario
    except ImportError:
        return {
            "what": "EMA Workbench (not installed: pip install -e '.[bench]')",
            "draws": theta.shape[0],
            "seconds": float("nan"),
            "check": "",
        }
    from schemerisk.model.kernel import run_kernel

    columns = theta.shape[1]
    names = [f"x{i}" for i in range(columns)]

    def projection(**x: float) -> dict[str, float]:
        row = np.array([[x[n] for n in names]])
        return {"balance": float(run_kernel(space.inputs, row, space.modifications)[0, position])}

    model = Model("schemerisk", function=projection)
    model.uncertainties = [
        RealParameter(n, float(theta[:, i].min()) - 1.0, float(theta[:, i].max()) + 1.0)
        for i, n in enumerate(names)
    ]
    model.outcomes = [ScalarOutcome("balance")]
    scenarios = [
        EmaScenario(f"s{k}", **dict(zip(names, map(float, row), strict=True)))
        for k, row in enumerate(theta)
    ]
    start = time.perf_counter()
    with SequentialEvaluator(model) as evaluator:
        _, outcomes = evaluator.perform_experiments(scenarios=scenarios)
    seconds = time.perf_counter() - start
    same = bool(np.array_equal(np.asarray(outcomes["balance"]), balance))
    return {
        "what": "EMA Workbench perform_experiments (kernel per experiment)",
        "draws": theta.shape[0],
        "seconds": seconds,
        "check": "bitwise equal" if same else "DIFFERS",
    }


# ---------------------------------------------------------------- 3. start-up


def startup(src: Path, cwd: Path, repeats: int) -> dict[str, float]:
    """Cold and cached ``schemerisk project`` with ``src``: wall-clock seconds."""
    argv = [sys.executable, "-m", "schemerisk.cli", "project", SCENARIO]
    with tempfile.TemporaryDirectory(prefix="schemerisk-numba-cache-") as cache:
        env = _machine.child_env(src, NUMBA_CACHE_DIR=cache)

        def once() -> float:
            start = time.perf_counter()
            subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, check=True)
            return time.perf_counter() - start

        cold = once()
        cached = [once() for _ in range(repeats)]
    return {"cold": cold, "cached": float(np.median(cached))}


# ---------------------------------------------------------------- report


def format_report(results: dict[str, Any]) -> str:
    """The results as aligned plain-text tables."""
    m = results["machine"]
    a = results["baseline"]
    lines = [
        *_machine.machine_lines(m),
        "",
        f"1. Kernel: this version against {results['baseline_rev'][:10]} (today's), "
        f"{SCENARIO} horizon {HORIZON}, {a['draws']:,} identical draws, "
        f"median of {a['rounds']} alternating rounds (each the best of {a['repeats']})",
        f"  {'version':<10}  {'projections/s (all threads)':>28}  {'CPU us/projection (1 thread)':>29}",
        f"  {'baseline':<10}  {a['baseline']['per_s']:>28,.0f}  {a['baseline']['cpu_us']:>29.3f}",
        f"  {'this':<10}  {a['this']['per_s']:>28,.0f}  {a['this']['cpu_us']:>29.3f}",
        f"  {'ratio':<10}  {a['ratio_per_s']:>27.2f}x  {a['ratio_cpu']:>28.2f}x",
        "",
        f"2. Peers on the same draws ({SCENARIO} distributions, horizon {HORIZON}), best of runs",
        f"  {'what':<58}  {'draws':>7}  {'seconds':>8}  {'projections/s':>13}  check",
    ]
    if "peers" not in results:  # --kernel-only
        return "\n".join(lines[:-3])
    for r in results["peers"]:
        lines.append(
            f"  {r['what']:<58}  {r['draws']:>7,}  {r['seconds']:>8.3f}  {r['per_s']:>13,.0f}  {r['check']}"
        )
    s = results["startup"]
    lines += [
        "",
        f"3. Start-up: schemerisk project {SCENARIO} in a fresh interpreter (wall clock, s)",
        f"  {'version':<10}  {'cold':>7}  {'cached (median)':>15}",
        f"  {'baseline':<10}  {s['baseline']['cold']:>7.2f}  {s['baseline']['cached']:>15.2f}",
        f"  {'this':<10}  {s['this']['cold']:>7.2f}  {s['this']['cached']:>15.2f}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print the tables and optionally save JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and draws (smoke)")
    parser.add_argument(
        "--baseline", default=BASELINE, metavar="REV", help="git revision to compare"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also save the results as JSON")
    parser.add_argument("--rounds", type=int, help="alternating rounds of table 1 (default 7)")
    parser.add_argument(
        "--kernel-only", action="store_true", help="table 1 only (no peers, no start-up)"
    )
    args = parser.parse_args(argv)

    import numba  # noqa: F401 - the machine description reads its version

    results: dict[str, Any] = {"machine": _machine.machine(), "baseline_rev": args.baseline}
    rounds, draws = (2, 5_000) if args.quick else (7, 50_000)
    rounds = args.rounds or rounds
    with tempfile.TemporaryDirectory(prefix="schemerisk-baseline-") as tmp:
        baseline = _machine.extract_revision(args.baseline, Path(tmp)) / "src"
        print("kernel against the baseline ...", file=sys.stderr, flush=True)
        results["baseline"] = against_baseline(baseline, rounds, draws, repeats=3)
        if args.kernel_only:
            results["machine"]["threading_layer"] = "omp/tbb/workqueue (numba's choice)"
            results["machine"]["load_end"] = _machine.load_average()
            print(format_report(results))
            if args.json:
                args.json.write_text(json.dumps(results, indent=2, default=float) + "\n")
            return 0
        print("peers ...", file=sys.stderr, flush=True)
        results["peers"] = peers(
            draws=2_000 if args.quick else 20_000, ema_draws=100 if args.quick else 500, repeats=3
        )
        print("start-up ...", file=sys.stderr, flush=True)
        results["startup"] = {
            "baseline": startup(baseline, Path(tmp), repeats=3),
            "this": startup(ROOT / "src", ROOT, repeats=3),
        }
    results["machine"]["threading_layer"] = "omp/tbb/workqueue (numba's choice)"
    results["machine"]["load_end"] = _machine.load_average()
    print(format_report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float) + "\n")
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
