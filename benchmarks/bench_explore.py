"""Latency of ``schemerisk explore``: how long a moved control takes to show its effect.

Two measures, each the median over repeated changes (each change a new value, so nothing is
cached):

1. the engine alone (:meth:`schemerisk.explore.engine.Explorer.view`), by kind of change, 20,000
   projections by default, with each step timed inside (``View.steps``: inputs moved or the
   scenario compiled, the kernel, the views): the flat-premium, contribution-rate and a
   category's multiplier (no re-run), the centre and the spread of an uncertain input (its
   columns moved, the kernel re-run), and the coverage target (Khanh Hoa: the scenario compiled
   again, the kernel re-run); plus the kernel's projections per second on the same draws;
2. the app in Debian's headless Chromium, driven by Playwright: from typing a new flat-premium
   multiplier, and from entering a new Khanh Hoa coverage target (applied on Enter: the model
   is re-run), to the new figures in the page (the callback's round trip through Dash and the
   page's re-render), timed in the page with ``performance.now()``.

Usage::

    python benchmarks/bench_explore.py            # 20,000 projections, 15 changes of each kind
    python benchmarks/bench_explore.py --quick    # 2,000 projections, 5 changes (smoke)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: server, browser
sys.path.insert(0, str(Path(__file__).resolve().parent))  # _machine

import numpy as np
from tests.support import CHROMIUM, CHROMIUM_ARGS, explore_server

from _machine import load_average, machine
from schemerisk.explore.engine import SCALED, Explorer, Settings
from schemerisk.model.kernel import run_kernel
from schemerisk.model.results import kept_positions
from schemerisk.uncertainty.sampling import to_values

SCENARIO = "hai_phong_1993_1997"
COVERAGE = "khanh_hoa_2020_2030"  # a built-in scenario with a coverage target


Timing = dict[str, list[dict[str, float]]]


def engine(n: int, changes: int) -> tuple[Timing, float]:
    """Each kind of change's seconds (total and steps), and the kernel's projections/s."""
    ex = Explorer(SCENARIO, SCENARIO, n=n, seed=0)
    ex.view(Settings())  # compiles and runs once
    name = "insured_use"
    m = ex.median(name)
    farmers = ex.categories[1]
    kinds = {
        "flat-premium multiplier": lambda i: Settings(flat_premiums=1.0 + 0.02 * (i + 1)),
        "contribution-rate multiplier": lambda i: Settings(contribution_rates=1.0 + 0.02 * (i + 1)),
        f"{farmers}' premiums multiplier": lambda i: Settings(
            categories={farmers: 1.0 + 0.02 * (i + 1)}
        ),
        f"spread of {name}": lambda i: Settings(spread={name: 0.5 + 0.1 * i}),
        f"centre of {name}": lambda i: Settings(centre={name: m * (0.9 + 0.02 * i)}),
    }
    out: Timing = {}
    for kind, settings in kinds.items():
        ex.view(Settings())
        out[kind] = [_timed(ex, settings(i)) for i in range(changes)]
    kh = Explorer(COVERAGE, COVERAGE, n=n, seed=0)
    kh.view(Settings())
    out["coverage target (Khanh Hoa)"] = [
        _timed(kh, Settings(coverage_target=0.80 + 0.01 * i)) for i in range(changes)
    ]
    space = ex.space  # the kernel alone, on the same draws, writing the same outputs
    theta = to_values(space, ex.design.rows(0, n))
    positions, _ = kept_positions(space.inputs, SCALED)
    rows = np.empty((n, positions.size))
    seconds = []
    for _ in range(max(3, changes // 3)):
        t0 = time.perf_counter()
        run_kernel(space.inputs, theta, space.modifications, out=rows, keep=positions)
        seconds.append(time.perf_counter() - t0)
    return out, n / statistics.median(seconds)


def _timed(ex: Explorer, s: Settings) -> dict[str, float]:
    v = ex.view(s)
    return {"total": v.seconds, **v.steps}


def browser(
    n: int, changes: int, scenario: str = SCENARIO, control: str = "flat"
) -> tuple[list[float], list[float]]:
    """Seconds from a typed new value to the new figures in the page, and of the figures'
    callback request alone (sent to last byte received, the server's share).

    ``control`` is ``"flat"`` (the flat-premium multiplier, applied as typed) or
    ``"coverage"`` (the coverage target, applied on Enter: the model is re-run).
    """
    from playwright.sync_api import sync_playwright

    out: list[float] = []
    server: list[float] = []
    with (
        explore_server(scenario, scenario, "-n", str(n), timeout=300) as url,
        sync_playwright() as p,
    ):
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        page.on(
            "requestfinished",
            lambda r: (
                server.append((r.timing["responseEnd"] - r.timing["requestStart"]) / 1000)
                if "_dash-update-component" in r.url and "fan.figure" in (r.post_data or "")
                else None
            ),
        )
        page.goto(url)
        page.wait_for_selector("#p-table tbody tr")
        page.evaluate(
            """() => { window._t = [];
            new MutationObserver(() => window._t.push(performance.now())).observe(
              document.querySelector('#table'), {childList: true, subtree: true}); }"""
        )
        for i in range(changes + 1):  # the first change warms up the server's code paths
            if control == "flat":
                t0 = page.evaluate("performance.now()")
                page.fill("#flat-number", f"{1.0 + 0.03 * (i + 1):.2f}")
            else:
                page.fill("#coverage", f"{0.80 + 0.01 * i:.2f}")
                t0 = page.evaluate("performance.now()")
                page.press("#coverage", "Enter")
            page.wait_for_function(f"() => window._t.some(t => t > {t0})", timeout=60_000)
            t1 = page.evaluate(f"Math.min(...window._t.filter(t => t > {t0}))")
            if i:
                out.append((t1 - t0) / 1000)
        b.close()
    return out, server[1:]


def main() -> None:
    """Run both measures and print them with the machine and its load."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=20_000, help="projections (default 20000)")
    ap.add_argument("--changes", type=int, default=15, help="changes of each kind (default 15)")
    ap.add_argument("--quick", action="store_true", help="2,000 projections, 5 changes")
    ap.add_argument("--no-browser", action="store_true", help="the engine only")
    args = ap.parse_args()
    n, changes = (2_000, 5) if args.quick else (args.n, args.changes)
    start = load_average()
    for k, v in machine().items():
        if k not in ("load_start", "load_end", "threading_layer"):
            print(f"  {k:16} {v}")
    eng, rate = engine(n, changes)
    after_engine = load_average()
    print(f"\n{n:,} projections, {changes} changes of each kind (engine: Explorer.view)")
    print(f"  {'what':40} {'median ms':>9} {'min':>5} {'max':>5}   median of each step, ms")
    for what, runs in eng.items():
        ms = [1000 * r["total"] for r in runs]
        steps = "  ".join(
            f"{k} {1000 * statistics.median(r[k] for r in runs):.0f}"
            for k in ("inputs", "kernel", "views")
        )
        print(f"  {what:40} {statistics.median(ms):9.0f} {min(ms):5.0f} {max(ms):5.0f}   {steps}")
    print(f"  kernel alone (the engine's outputs only): {rate:,.0f} projections/s")
    print(f"  load average (1 min): {start} at start, {after_engine} after the engine")
    if not args.no_browser:
        print("\nthe app in headless Chromium")
        print(f"  {'what':40} {'median ms':>9} {'min':>5} {'max':>5}")
        for title, scenario, control in (
            ("flat-premium multiplier typed", SCENARIO, "flat"),
            ("coverage target entered (Khanh Hoa)", COVERAGE, "coverage"),
        ):
            typed, server = browser(n, changes, scenario, control)
            print(f"  {title}")
            for what, secs in (
                ("  callback request (server round trip)", server),
                ("  typed -> new figures in the page", typed),
            ):
                ms = [1000 * x for x in secs]
                print(f"  {what:40} {statistics.median(ms):9.0f} {min(ms):5.0f} {max(ms):5.0f}")
        print(f"  load average (1 min) at end: {load_average()}")


if __name__ == "__main__":
    main()
