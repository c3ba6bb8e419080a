"""Non-finite projections through the command line: never silent, never counted as safe.

Each case asserts the exit code, that no traceback is printed, the message, and
the counts, checked against ``np.isfinite`` on the cube the run wrote (or on a
cube simulated independently through the Python API with the same seed).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
import yaml

from schemerisk.analysis.risk import RISK_OUTPUTS
from schemerisk.cli import EXIT_INPUT, EXIT_UNTRUSTWORTHY
from schemerisk.model import project
from schemerisk.scenario import load_scenario, resolve_scenario
from schemerisk.scenario.builtin import resolve_builtin
from schemerisk.uncertainty import nonfinite
from schemerisk.uncertainty.montecarlo import simulate
from tests.support import CliRun as Run
from tests.support import run_console

NAME = "hai_phong_1993_1997"
#: the input made to overflow; every other input keeps its plausible distribution
CULPRIT = "city_inpatient_day_cost"


def _doc(path: Path) -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def overflowing(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A scenario whose every projection overflows, and distributions where one input does."""
    d = tmp_path_factory.mktemp("nonfinite")
    sc = _doc(resolve_scenario(NAME))
    sc["demography"]["population"] = 1e308  # x anything > 1 overflows: every balance NaN/inf
    (d / "huge_population.yaml").write_text(yaml.safe_dump(sc), encoding="utf-8")
    dist = _doc(resolve_builtin(NAME, "distributions"))
    # a cost multiplier with median 1 whose draws beyond about 1.4 sd overflow (exp(500 z) > 1e308
    # once 500 z > 709), so roughly 8 % of projections fail, through this input alone
    dist["inputs"][CULPRIT]["distribution"] = {"family": "lognormal", "median": 1.0, "sigma": 500}
    (d / "one_overflowing_input.yaml").write_text(yaml.safe_dump(dist), encoding="utf-8")
    dist["inputs"][CULPRIT]["distribution"] = {"family": "lognormal", "median": 1.0, "sigma": 1e308}
    (d / "sigma_1e308.yaml").write_text(yaml.safe_dump(dist), encoding="utf-8")
    label = _doc(resolve_scenario(NAME))
    label["categories"]["farmers"]["label"] = r"Farmers paying $\frac{x}$ and 5 $ a month"
    label["title"] = r"Costs in $ (see $\frac{x}$)"
    (d / "dollar_label.yaml").write_text(yaml.safe_dump(label), encoding="utf-8")
    return {p.stem: p for p in d.iterdir()}


def _independent_counts(cube: xr.Dataset) -> dict[str, np.ndarray]:
    """Draws with a non-finite value, by output and year, straight from numpy."""
    return {
        v: (~np.isfinite(cube[v].transpose("draw", "year").values)).sum(axis=0)
        for v in RISK_OUTPUTS
    }


def test_exit_code_and_limit_are_those_documented() -> None:
    import schemerisk.cli as cli_module

    assert EXIT_UNTRUSTWORTHY == nonfinite.EXIT_UNTRUSTWORTHY == 3
    assert cli_module._UNKNOWN_LIMIT_TEXT == f"{nonfinite.UNKNOWN_SHARE_LIMIT:.0%}".replace(
        "%", " %"
    )
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert "| 3 | results not trustworthy: more than **1 %**" in readme


def test_a_population_of_1e308_is_refused_before_any_work(
    overflowing: dict[str, Path], tmp_path: Path
) -> None:
    scenario = overflowing["huge_population"]
    # the independent fact: the deterministic projection is not finite, in these years
    det = project(load_scenario(scenario))
    bad_years = [int(y) for y in det.year.values[~np.isfinite(det.balance.values)]]
    assert bad_years == list(range(1993, 1998))
    out = tmp_path / "cube.nc"
    # a fresh interpreter, as a user runs it: the exit code and stderr are the real ones
    run = run_console("risk", scenario, NAME, "-n", "1000000", "-o", out)
    assert run.code == EXIT_INPUT
    assert "Traceback" not in run.out + run.err
    assert "not finite" in run.err and "nothing was run" in run.err
    assert "balance" in run.err and "1993-1997" in run.err
    assert str(scenario) in run.err
    assert not out.exists()  # refused before any work: nothing written
    assert run.out == ""  # and no table that could be read as "0 % deficit"


@pytest.mark.parametrize("command", ["simulate", "report", "sensitivity"])
def test_every_study_command_refuses_it_too(
    cli: Callable[..., Run], overflowing: dict[str, Path], tmp_path: Path, command: str
) -> None:
    args: list[str | Path] = [command, overflowing["huge_population"], NAME]
    if command == "report":
        args += ["-o", tmp_path / "r.html"]
    run = cli(*args)
    assert run.code == EXIT_INPUT
    assert "Traceback" not in run.text
    assert "not finite" in run.err and "balance" in run.err
    assert list(tmp_path.iterdir()) == []


def test_project_prints_sheet_c_and_exits_3_naming_outputs_and_years(
    cli: Callable[..., Run], overflowing: dict[str, Path]
) -> None:
    run = cli("project", overflowing["huge_population"])
    assert run.code == EXIT_UNTRUSTWORTHY
    assert "Traceback" not in run.text
    assert "results not trustworthy" in run.err
    assert "balance 1993, 1994, 1995, 1996, 1997" in run.err
    balance_row = next(ln for ln in run.out.splitlines() if ln.startswith("Balance"))
    assert balance_row.split()[1:] == ["-"] * 5  # never a number, never 0


def test_risk_counts_unknowns_exits_3_and_names_the_culprit(
    cli: Callable[..., Run], overflowing: dict[str, Path], tmp_path: Path
) -> None:
    cube_path = tmp_path / "cube.nc"
    run = cli(
        "risk", NAME, overflowing["one_overflowing_input"], "-n", "800", "--seed", "2",
        "--no-progress", "--json", "-o", cube_path,
    )  # fmt: skip
    assert run.code == EXIT_UNTRUSTWORTHY
    assert "Traceback" not in run.text
    assert "results not trustworthy" in run.err and "more than the 1%" in run.err
    assert re.search(rf"failures: {CULPRIT}: KS distance 1\.00", run.err)
    data = json.loads(run.out[run.out.index("{") :])
    with xr.open_dataset(cube_path) as cube:
        counts = _independent_counts(cube.load())
        bal = cube.balance.values
    assert counts["balance"].min() > 0.01 * 800  # the case is above the limit
    assert data["n_unknown"] == {
        str(y): int(c) for y, c in zip(range(1993, 1998), counts["balance"], strict=True)
    }
    for v, by_year in data["nonfinite_by_output"].items():
        assert list(by_year.values()) == counts[v].tolist(), v
    known = np.isfinite(bal)
    expected = ((bal < 0) & known).sum(axis=0) / known.sum(axis=0)
    np.testing.assert_allclose(list(data["p_deficit"].values()), expected, rtol=1e-12)
    assert data["trustworthy"] is False
    assert data["suspects"][0]["input"] == CULPRIT
    # the same cube read back: the text report shows the unknown column with the same counts
    run = cli("risk", cube_path)
    assert run.code == EXIT_UNTRUSTWORTHY
    assert "Traceback" not in run.text
    rows = [ln.split() for ln in run.out.splitlines() if re.match(r"\s+199[3-7]\s", ln)]
    assert [int(r[-1].replace(",", "")) for r in rows] == counts["balance"].tolist()
    assert "not counted as 'no deficit'" in run.out
    assert CULPRIT in run.err


def test_risk_without_a_cube_remakes_the_draws_to_name_the_culprit(
    cli: Callable[..., Run], overflowing: dict[str, Path], tmp_path: Path
) -> None:
    """A run for the report keeps no drawn inputs: they are made again, the same draws."""
    args = ("risk", NAME, overflowing["one_overflowing_input"], "-n", "800", "--seed", "2")
    kept = cli(*args, "--no-progress", "--json", "-o", tmp_path / "cube.nc")
    remade = cli(*args, "--no-progress", "--json")
    assert remade.code == kept.code == EXIT_UNTRUSTWORTHY
    assert "Traceback" not in remade.text
    with_cube = json.loads(kept.out[kept.out.index("{") :])
    without = json.loads(remade.out[remade.out.index("{") :])
    assert without["suspects"][0]["input"] == CULPRIT
    # the same suspects with the same statistics: the draws were the same, bit for bit
    assert without["suspects"] == with_cube["suspects"]
    assert without["n_unknown"] == with_cube["n_unknown"]


def test_sigma_1e308_half_the_draws_unknown_never_zero_percent(
    cli: Callable[..., Run], overflowing: dict[str, Path], tmp_path: Path
) -> None:
    run = cli("simulate", NAME, overflowing["sigma_1e308"], "-n", "400", "--no-progress")
    assert run.code == EXIT_UNTRUSTWORTHY
    assert "Traceback" not in run.text
    assert f"failures: {CULPRIT}" in run.err
    # independently: the same seed through the Python API
    cube = simulate(NAME, overflowing["sigma_1e308"], 400, seed=0, progress=False)
    unknown = (~np.isfinite(cube.balance.values)).sum(axis=0)
    assert 100 < unknown.min() <= unknown.max() < 300  # about half: exp(1e308 z) is inf or 0
    rows = [ln.split() for ln in run.out.splitlines() if re.match(r"\s+199[3-7]\s", ln)]
    assert [int(r[-1].replace(",", "")) for r in rows] == unknown.tolist()
    assert "unknown: projections with no finite balance" in run.out


def test_a_summary_run_counts_them_exactly_too(
    cli: Callable[..., Run], overflowing: dict[str, Path], tmp_path: Path
) -> None:
    store = tmp_path / "s.zarr"
    args = ("-n", "600", "--seed", "4", "--no-progress")
    run = cli("simulate", NAME, overflowing["one_overflowing_input"], *args, "--keep",
              "summary", "-o", store, "--chunk-size", "256")  # fmt: skip
    assert run.code == EXIT_UNTRUSTWORTHY, run.text
    assert "Traceback" not in run.text
    assert "drawn inputs were not kept" in run.err
    run = cli("risk", store, "--json")
    assert run.code == EXIT_UNTRUSTWORTHY
    data = json.loads(run.out)
    cube = simulate(NAME, overflowing["one_overflowing_input"], 600, seed=4, progress=False)
    counts = _independent_counts(cube)
    assert list(data["n_unknown"].values()) == counts["balance"].tolist()
    for v, by_year in data["nonfinite_by_output"].items():
        assert list(by_year.values()) == counts[v].tolist(), v


def test_a_dollar_label_is_drawn_literally_in_the_report(
    cli: Callable[..., Run], overflowing: dict[str, Path], tmp_path: Path
) -> None:
    page = tmp_path / "r.html"
    run = cli("report", overflowing["dollar_label"], NAME, "-o", page, "-n", "200", "-N", "16",
              "--max-base-samples", "16", "--no-progress")  # fmt: skip
    assert run.code == 0, run.text
    assert "Traceback" not in run.text
    html = page.read_text(encoding="utf-8")
    assert r"Costs in $ (see $\frac{x}$)" in html
    assert r"Farmers paying $\frac{x}$ and 5 $ a month" in html


def test_the_report_says_how_many_are_unknown(
    cli: Callable[..., Run], overflowing: dict[str, Path], tmp_path: Path
) -> None:
    page = tmp_path / "r.html"
    run = cli("report", NAME, overflowing["one_overflowing_input"], "-o", page, "-n", "300",
              "-N", "16", "--max-base-samples", "16", "--seed", "6", "--no-progress")  # fmt: skip
    assert run.code == EXIT_UNTRUSTWORTHY
    assert "Traceback" not in run.text
    cube = simulate(NAME, overflowing["one_overflowing_input"], 300, seed=6, progress=False)
    unknown = (~np.isfinite(cube.balance.values)).sum(axis=0)
    html = page.read_text(encoding="utf-8")
    assert "Unknown: projections with no finite balance" in html
    cells = re.findall(r"<tr><td class=\"l\">(199\d)</td>(.*?)</tr>", html)
    last_cells = [re.findall(r"<td>([^<]*)</td>", row)[-1] for _, row in cells[-5:]]
    assert [int(c.replace(",", "")) for c in last_cells] == unknown.tolist()
    assert f"{unknown.max():,} of 300 projections" in html
    assert "were not computed" in html  # no Sobol' indices on unknown projections


def test_solve_of_an_overflowing_scenario_exits_3_and_shows_no_premium(
    cli: Callable[..., Run], overflowing: dict[str, Path], tmp_path: Path
) -> None:
    scenario = overflowing["huge_population"]
    det = project(load_scenario(scenario))  # independently: no year has a finite balance
    assert not np.isfinite(det.balance.values).any()
    out = tmp_path / "solved.nc"
    run = cli("solve", scenario, "-o", out)
    assert run.code == EXIT_UNTRUSTWORTHY, run.text
    assert "Traceback" not in run.text
    assert "results not trustworthy" in run.err
    assert "balance 1993, 1994, 1995, 1996, 1997" in run.err
    assert "raise no revenue" not in run.err  # the overflow is named, not mistaken for this
    assert run.out == ""  # no premium, no balance of 0 that could be read as "balanced"
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def half_unknown_cube(
    overflowing: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A cube of 400 draws in which the culprit makes some projections overflow (seed 2)."""
    path = tmp_path_factory.mktemp("drivers") / "cube.nc"
    simulate(NAME, overflowing["one_overflowing_input"], 400, seed=2, progress=False).to_netcdf(
        path
    )
    return path


def _table(out: str) -> dict[str, list[float]]:
    """The rows of ``drivers``' table: input -> (balance, balance/revenue, deficit)."""
    rows = [ln.split() for ln in out.splitlines() if re.match(r"[a-z_]+\s+(-?\d|nan)", ln)]
    return {r[0]: [float(x) for x in r[1:]] for r in rows}


def test_drivers_leaves_unknown_draws_out_and_exits_3_naming_the_culprit(
    cli: Callable[..., Run], half_unknown_cube: Path
) -> None:
    with xr.open_dataset(half_unknown_cube) as cube:
        bal = cube.balance.sel(year=1997).values
    n_unknown = int((~np.isfinite(bal)).sum())  # straight from numpy
    assert n_unknown > 0.01 * bal.size  # above the limit
    run = cli("drivers", half_unknown_cube, "--no-progress")
    assert run.code == EXIT_UNTRUSTWORTHY, run.text
    assert "Traceback" not in run.text
    assert f"all the {bal.size - n_unknown:,} draws with a finite balance in 1997" in run.out
    assert f"unknown: {n_unknown:,} of {bal.size:,} projections" in run.out
    assert "not counted as 'no deficit'" in run.out
    assert re.search(rf"failures: {CULPRIT}: KS distance 1\.00", run.err)
    table = _table(run.out)
    assert len(table) == 17  # every uncertain input of the built-in distributions
    # a NaN balance used to spoil every balance index (all 0): on the known draws they are
    # finite, and the input behind the overflow is the strongest driver of the balance
    assert all(np.isfinite(v).all() for v in table.values())
    assert max(table, key=lambda k: table[k][0]) == CULPRIT


@pytest.mark.parametrize(("n_nan", "code"), [(4, 0), (5, EXIT_UNTRUSTWORTHY), (400, 3)])
def test_drivers_applies_the_1_percent_rule(
    cli: Callable[..., Run], tmp_path: Path, n_nan: int, code: int
) -> None:
    cube = simulate(NAME, NAME, 400, seed=3, progress=False)
    assert np.isfinite(cube.balance.values).all()
    # 4 of 400 unknown is 1 % (allowed), 5 is 1.25 % (not): the limit is "more than 1 %"
    cube["balance"].loc[{"draw": cube.draw.values[-n_nan:], "year": 1997}] = np.nan
    path = tmp_path / "cube.nc"
    cube.to_netcdf(path)
    run = cli("drivers", path, "--no-progress")
    assert run.code == code, run.text
    assert "Traceback" not in run.text
    if n_nan == 400:  # nothing left to rank: no table at all
        assert run.out == ""
        assert "none of the 400 projections" in run.err
        return
    assert f"unknown: {n_nan} of 400 projections have no finite balance in 1997" in run.out
    assert f"all the {400 - n_nan} draws with a finite balance" in run.out
    assert ("warning: " in run.err) == (code == 0)
    assert ("results not trustworthy" in run.err) == (code != 0)
    assert all(np.isfinite(v).all() for v in _table(run.out).values())
