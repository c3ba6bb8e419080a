"""``schemerisk explore``: the engine against the package's own routes, the app in a real browser.

The app runs as ``schemerisk explore`` in a child process on a free port; Playwright drives
Debian's Chromium; a control moved in the page must give the counts of ``schemerisk risk
--premium-multiplier`` on the same draws.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from schemerisk.analysis.risk import RISK_OUTPUTS, required_multiplier
from schemerisk.analysis.solver import Adjust
from schemerisk.analysis.whatif import scale_premiums
from schemerisk.cli import main
from schemerisk.explore.engine import Explorer, Settings
from schemerisk.uncertainty.montecarlo import run_design
from schemerisk.uncertainty.space import parse_space

SCENARIO = "hai_phong_1993_1997"
N, SEED = 800, 3
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    return Explorer(SCENARIO, SCENARIO, n=N, seed=SEED)


def test_the_required_multiplier_is_the_risk_modules(explorer: Explorer) -> None:
    s = Settings(flat_premiums=1.15, contribution_rates=0.9)
    v = explorer.view(s)
    cube, _ = explorer.cube(s)
    scaled = scale_premiums(
        scale_premiums(cube, 1.15, Adjust.FLAT_PREMIUMS), 0.9, Adjust.CONTRIBUTION_RATES
    )
    expected = required_multiplier(scaled, 0.05, Adjust.ALL_PREMIUMS).values
    np.testing.assert_array_equal(v.required, expected)  # the same rule, the same numbers
    bal = scaled["balance"].values
    assert v.deficits.tolist() == (bal < 0).sum(axis=0).tolist()


def test_a_moved_pert_is_the_pert_with_moved_parameters(explorer: Explorer) -> None:
    """Centre and spread of the admission rate, against a distributions file saying the same."""
    name, c, s = "admission_rate", 0.08, 1.6
    v = explorer.view(Settings(centre={name: c}, spread={name: s}))
    assert v.rerun
    m = explorer.median(name)
    text = Path(explorer.space.source).read_text(encoding="utf-8")
    old = "{family: pert, low: 0.065, mode: 0.0713, high: 0.085}"
    assert text.count(old) == 1  # the file as the test expects it
    lo, mo, hi = (c + s * (x - m) for x in (0.065, 0.0713, 0.085))
    moved = parse_space(
        text.replace(old, f"{{family: pert, low: {lo!r}, mode: {mo!r}, high: {hi!r}}}"),
        explorer.scenario,
        explorer.space.source,
        explorer.space.inputs,
    )
    cube = run_design(moved, explorer.design, keep=RISK_OUTPUTS, progress=False)
    bal = cube["balance"].transpose("draw", "year").values
    # the two routes invert the CDF numerically to within 1e-10 in u (families.INVERSION_U_ERROR):
    # a draw flips only if its balance is within that of zero; allow one draw a year
    assert np.abs((bal < 0).sum(axis=0) - v.deficits).max() <= 1
    assert not np.array_equal(v.deficits, explorer.view(Settings()).deficits)


def test_a_coverage_target_is_moved_and_refused_where_there_is_none(explorer: Explorer) -> None:
    with pytest.raises(ValueError, match="no coverage target"):
        explorer.view(Settings(coverage_target=0.9))
    kh = Explorer("khanh_hoa_2020_2030", "khanh_hoa_2020_2030", n=300, seed=1)
    ct = kh.coverage_path()
    assert ct is not None
    base, more = kh.view(Settings()), kh.view(Settings(coverage_target=1.0))
    assert more.rerun and not np.array_equal(base.fan, more.fan)
    with pytest.raises(ValueError, match="between 0 and 1"):
        kh.view(Settings(coverage_target=1.5))


def test_the_cli_refuses_a_busy_port_and_names_a_missing_dash(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["explore", SCENARIO, SCENARIO, "--port", str(port), "--no-browser"])
    assert code == 2 and f"--port {port}" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "dash", None)  # import dash now fails, as when not installed
    code = main(["explore", SCENARIO, SCENARIO, "--no-browser"])
    assert code == 2 and "pip install 'schemerisk[explore]'" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    pytest.importorskip("dash")
    port = _free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2] / "src"), *sys.path])
    proc = subprocess.Popen(
        [sys.executable, "-m", "schemerisk.cli", "explore", SCENARIO, SCENARIO, "--port",
         str(port), "--no-browser", "-n", str(N), "--seed", str(SEED)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180  # the loaded machine: numba compiles the kernel first
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    pytest.fail(f"schemerisk explore did not start: {err[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests need Debian's Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


_READ = """() => [...document.querySelectorAll('#p-table tbody tr')].map(
  r => [Number(r.dataset.deficits), Number(r.dataset.known)])"""


@pytest.mark.parametrize("width", [1400, 800])
def test_moving_a_control_gives_the_clis_figure(
    server: str, browser: Any, capsys: pytest.CaptureFixture[str], width: int
) -> None:
    tab = browser.new_page(viewport={"width": width, "height": 1000})
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(server)
    tab.wait_for_selector("#p-table tbody tr")
    before = tab.evaluate(_READ)
    m = 1.25 if width == 1400 else 0.8
    tab.fill("#flat-number", repr(m))
    tab.wait_for_function(
        "() => document.querySelector('#status').textContent.startsWith('Updated')",
        timeout=60_000,
    )
    rows = tab.evaluate(_READ)
    status = tab.inner_text("#status")
    fits = tab.evaluate("document.documentElement.scrollWidth") <= width
    tab.close()
    code = main(
        ["risk", SCENARIO, SCENARIO, "-n", str(N), "--seed", str(SEED), "--adjust",
         "flat-premiums", "--premium-multiplier", repr(m), "--json", "--no-progress"]
    )  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    years = sorted(out["p_deficit"])
    known = [N - out["n_unknown"][y] for y in years]
    # p = deficits / known exactly; rounding the product recovers the integer count
    deficits = [round(out["p_deficit"][y] * k) for y, k in zip(years, known, strict=True)]
    assert code == 0 and rows == [[d, k] for d, k in zip(deficits, known, strict=True)]
    assert rows != before and re.match(r"Updated in \d+ ms \(no re-run\)", status)
    assert fits and errors == []
