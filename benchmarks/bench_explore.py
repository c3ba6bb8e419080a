"""Latency of ``schemerisk explore``: how long a moved control takes to show its effect.

Two measures, each the median over repeated changes (each change a new value, so nothing is
cached):

1. the engine alone (:meth:`schemerisk.explore.engine.Explorer.view`): a premium multiplier
   (no re-run) and the spread of an uncertain input (the same uniforms re-mapped, the kernel
   re-run), 20,000 projections by default;
2. the app in Debian's headless Chromium, driven by Playwright: from typing a new flat-premium
   multiplier to the new figures in the page (the callback's round trip through Dash and the
   page's re-render), timed in the page with ``performance.now()``.

Usage::

    python benchmarks/bench_explore.py            # 20,000 projections, 15 changes of each kind
    python benchmarks/bench_explore.py --quick    # 2,000 projections, 5 changes (smoke)
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import load_average, machine
from schemerisk.explore.engine import Explorer, Settings

SCENARIO = "hai_phong_1993_1997"
CHROMIUM = "/usr/bin/chromium"


def engine(n: int, changes: int) -> dict[str, list[float]]:
    """Seconds of each :meth:`Explorer.view`, by kind of change."""
    ex = Explorer(SCENARIO, SCENARIO, n=n, seed=0)
    ex.view(Settings())  # compiles and runs once
    name = ex.entries[0].name
    out: dict[str, list[float]] = {"multiplier": [], "spread": []}
    for i in range(changes):
        v = ex.view(Settings(flat_premiums=1.0 + 0.02 * (i + 1)))
        assert not v.rerun
        out["multiplier"].append(v.seconds)
    for i in range(changes):
        v = ex.view(Settings(spread={name: 0.5 + 0.1 * i}))
        assert v.rerun
        out["spread"].append(v.seconds)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def browser(n: int, changes: int) -> tuple[list[float], list[float]]:
    """Seconds from typing a new multiplier to the new figures in the page, and of the
    figures' callback request alone (sent to last byte received, the server's share)."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "schemerisk.cli", "explore", SCENARIO, SCENARIO,
         "--port", str(port), "--no-browser", "-n", str(n)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("schemerisk explore did not start") from None
                time.sleep(0.5)
        out = []
        with sync_playwright() as p:
            b = p.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            server: list[float] = []
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
                t0 = page.evaluate("performance.now()")
                page.fill("#flat-number", f"{1.0 + 0.03 * (i + 1):.2f}")
                page.wait_for_function(f"() => window._t.some(t => t > {t0})", timeout=60_000)
                t1 = page.evaluate(f"Math.min(...window._t.filter(t => t > {t0}))")
                if i:
                    out.append((t1 - t0) / 1000)
            b.close()
        return out, server[1:]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


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
    eng = engine(n, changes)
    rows = [
        ("engine: premium multiplier (no re-run)", eng["multiplier"]),
        ("engine: spread of an input (re-map, re-run)", eng["spread"]),
    ]
    if not args.no_browser:
        typed, server = browser(n, changes)
        rows.append(("browser: callback request (server round trip)", server))
        rows.append(("browser: multiplier typed -> new figures", typed))
    end = load_average()
    print(f"\n{n:,} projections of {SCENARIO}, {changes} changes of each kind")
    print(f"  {'what':46} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
    for what, secs in rows:
        ms = [1000 * s for s in secs]
        print(f"  {what:46} {statistics.median(ms):10.0f} {min(ms):8.0f} {max(ms):8.0f}")
    print(f"  load average (1 min): {start} at start, {end} at end")


if __name__ == "__main__":
    main()
