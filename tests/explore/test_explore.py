"""``schemerisk explore``: the engine against the package's own routes, the app in a real browser.

The engine's shortcut (the values drawn once, only a moved input's columns moved, only the
outputs the views read written) is checked against a full run of the moved distributions
(:func:`~schemerisk.uncertainty.montecarlo.run_design`) and the risk module; the premiums by
category against the model re-run with those premiums scaled in the scenario. The app runs as
``schemerisk explore`` in a child process on a free port; Playwright drives Debian's Chromium; a
control moved in the page must give the counts of ``schemerisk risk --premium-multiplier`` on
the same draws.
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from schemerisk.analysis.risk import RISK_OUTPUTS, required_multiplier
from schemerisk.analysis.solver import Adjust
from schemerisk.analysis.whatif import scale_premiums
from schemerisk.cli import main
from schemerisk.explore.engine import FAN_QUANTILES, Explorer, Settings
from schemerisk.model import compile_inputs
from schemerisk.uncertainty.montecarlo import run_design
from schemerisk.uncertainty.space import load_space, parse_space
from tests.support import explore_server, open_tab

SCENARIO = "hai_phong_1993_1997"
N, SEED = 800, 3


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    return Explorer(SCENARIO, SCENARIO, n=N, seed=SEED)


def _full_run(explorer: Explorer, s: Settings) -> Any:
    """The settings' model by the package's ordinary route: a full run of the moved space."""
    return run_design(explorer.space_for(s), explorer.design, keep=RISK_OUTPUTS, progress=False)


def test_the_engine_is_a_full_run_and_the_risk_modules_rule(explorer: Explorer) -> None:
    """Balances, counts, fan and required multiplier against run_design + scale_premiums."""
    name = "insured_use"
    s = Settings(flat_premiums=1.15, contribution_rates=0.9, spread={name: 1.4})
    v = explorer.view(s)
    cube = _full_run(explorer, s)
    scaled = scale_premiums(
        scale_premiums(cube, 1.15, Adjust.FLAT_PREMIUMS), 0.9, Adjust.CONTRIBUTION_RATES
    )
    expected = required_multiplier(scaled, 0.05, Adjust.ALL_PREMIUMS).values
    np.testing.assert_array_equal(v.required, expected)  # the same rule, the same numbers
    bal = scaled["balance"].transpose("draw", "year").values
    # the moved values are those of the moved marginal (the same operations): bit for bit
    assert v.deficits.tolist() == (bal < 0).sum(axis=0).tolist()
    np.testing.assert_array_equal(v.fan, np.quantile(bal, FAN_QUANTILES, axis=0))
    assert v.rerun and v.steps["kernel"] > 0
    # back to the distributions as given: the columns as drawn, the first run's balances
    plain = explorer.view(Settings(flat_premiums=1.15, contribution_rates=0.9))
    again = _full_run(explorer, Settings())
    again = scale_premiums(
        scale_premiums(again, 1.15, Adjust.FLAT_PREMIUMS), 0.9, Adjust.CONTRIBUTION_RATES
    )
    assert plain.deficits.tolist() == (again["balance"].values < 0).sum(axis=0).tolist()
    assert plain.deficits.tolist() != v.deficits.tolist()


def test_premiums_by_category_equal_a_rerun_with_them_scaled(explorer: Explorer) -> None:
    m = {"farmers": 1.4, "retired_government": 0.5}
    planned = explorer.view(Settings())
    v = explorer.view(Settings(categories=m))
    assert not v.rerun  # a multiplier needs no run of the model
    sc = explorer.scenario
    scaled = dataclasses.replace(
        sc,
        categories=tuple(
            dataclasses.replace(
                c,
                flat_premium=dataclasses.replace(
                    c.flat_premium, values=tuple(m[c.name] * x for x in c.flat_premium.values)
                ),
                contribution_rate=dataclasses.replace(
                    c.contribution_rate,
                    values=tuple(m[c.name] * x for x in c.contribution_rate.values),
                ),
            )
            if c.name in m
            else c
            for c in sc.categories
        ),
    )
    space = load_space(explorer.space.source, scaled, compile_inputs(scaled))
    bal = run_design(space, explorer.design, keep=["balance"], progress=False)["balance"].values
    # B + (M - 1) S against the model's own sums differ by rounding only: a few operations on
    # amounts up to max|B|, so well under 1e-12 max|B| (double precision: 1.1e-16 an operation).
    # No re-run balance is within 10 times that of zero, so no draw can change sides by rounding
    tol = 1e-12 * float(np.abs(bal).max())
    assert not (np.abs(bal) < 10 * tol).any()
    assert v.deficits.tolist() == (bal < 0).sum(axis=0).tolist()
    assert v.deficits.tolist() != planned.deficits.tolist()
    with pytest.raises(
        ValueError,
        match="no category farmer in hai_phong_1993_1997; its categories: dependants, farmers",
    ):
        explorer.view(Settings(categories={"farmer": 1.2}))


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
    # the scenario compiled again, the values drawn once: a full run of it, bit for bit
    bal = _full_run(kh, Settings(coverage_target=1.0))["balance"].transpose("draw", "year")
    assert more.deficits.tolist() == (bal.values < 0).sum(axis=0).tolist()
    np.testing.assert_array_equal(more.fan, np.quantile(bal.values, FAN_QUANTILES, axis=0))
    kept = kh._compiled[1.0]
    again = kh.view(Settings(coverage_target=1.0, spread={kh.entries[0].name: 0.5}))
    assert again.rerun and kh._compiled[1.0] is kept  # the target was kept, not compiled again
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


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    pytest.importorskip("dash")
    with explore_server(SCENARIO, SCENARIO, "-n", str(N), "--seed", str(SEED)) as url:
        yield url


_READ = """() => [...document.querySelectorAll('#p-table tbody tr')].map(
  r => [Number(r.dataset.deficits), Number(r.dataset.known)])"""


def _cli_counts(capsys: pytest.CaptureFixture[str], *options: str) -> list[list[int]]:
    """[deficits, known] by year from ``schemerisk risk ... --json`` on the app's draws."""
    code = main(
        ["risk", SCENARIO, SCENARIO, "-n", str(N), "--seed", str(SEED), *options, "--json",
         "--no-progress"]
    )  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    years = sorted(out["p_deficit"])
    known = [N - out["n_unknown"][y] for y in years]
    # p = deficits / known exactly; rounding the product recovers the integer count
    return [[round(out["p_deficit"][y] * k), k] for y, k in zip(years, known, strict=True)]


def _updated(tab: Any) -> str:
    """The status line once the app has answered a change (it is empty until then)."""
    tab.wait_for_function(
        "() => document.querySelector('#status').textContent.startsWith('Updated')",
        timeout=60_000,
    )
    return str(tab.inner_text("#status"))


@pytest.mark.parametrize("width", [1400, 800])
def test_moving_a_control_gives_the_clis_figure(
    server: str, browser: Any, capsys: pytest.CaptureFixture[str], width: int
) -> None:
    """At 1400 px the flat-premium multiplier, at 800 px a category's, each against the CLI."""
    tab, errors = open_tab(browser, server, width)
    tab.wait_for_selector("#p-table tbody tr")
    before = tab.evaluate(_READ)
    if width == 1400:
        m = 1.25
        tab.fill("#flat-number", repr(m))
        options = ["--adjust", "flat-premiums", "--premium-multiplier", repr(m)]
    else:
        m = 1.3
        tab.click("text=Premiums by category")  # open the section
        box = tab.locator("input[id*='category'][id*='\"farmers\"']")
        box.fill(repr(m))
        box.press("Enter")  # the box sends its value on Enter (or leaving it)
        options = ["--premium-multiplier", f"farmers={m!r}"]
    status = _updated(tab)
    rows = tab.evaluate(_READ)
    fits = tab.evaluate("document.documentElement.scrollWidth") <= width
    tab.close()
    assert rows == _cli_counts(capsys, *options)
    assert rows != before and re.match(r"Updated in \d+ ms \(no re-run; views \d+ ms\)", status)
    assert fits and errors == []
