"""The analysis commands of the command line: ``report``, ``risk``, ``drivers``,
``priorities`` and ``sensitivity``: what they write, and how they refuse bad input
(exit code 2 and a message, never a traceback)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import html5lib
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from schemerisk.analysis.risk import RISK_OUTPUTS, deficit_risk
from schemerisk.io import write_dataset
from schemerisk.model import compile_inputs
from schemerisk.scenario import load_scenario
from schemerisk.uncertainty.montecarlo import simulate
from schemerisk.uncertainty.space import parse_space
from tests.support import CliRun

from .conftest import BUILTIN

Cli = Callable[..., CliRun]
#: the header of sobol_indices.csv, whichever command writes it
SOBOL_HEADER = ["output", "input", "year", "S1 [1]", "S1_conf [1]", "ST [1]", "ST_conf [1]"]
CSV_FILES = [
    "balance_quantiles.csv",
    "deficit_risk.csv",
    "priorities.csv",
    "sobol_indices.csv",
    "uncertain_inputs.csv",
]


# --- report -----------------------------------------------------------------------------------


def test_report_with_only_an_output_uses_the_built_in_pair(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli(
        "report",
        "-o",
        "X.html",
        "-n",
        "500",
        "-N",
        "64",
        "--max-base-samples",
        "64",
        "--no-progress",
    )
    assert run.code == 0, run.err
    page = (tmp_path / "X.html").read_text(encoding="utf-8")
    html5lib.HTMLParser(strict=True).parse(page)
    assert "Deficit risk: Hai Phong 1993-1997" in page
    assert "500 projections" in page
    assert "N = 64" in page
    assert "wrote X.html" in run.err
    assert run.out.startswith("- With every assumption at its planned value")
    assert "Data to collect first: learning" in run.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.html"]  # nothing else, no temp files


def test_report_writes_csv_tables(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli(
        "report", BUILTIN, BUILTIN, "-o", "r.html", "-n", "200", "-N", "16", "--max-base-samples", "16", "--seed", "3",
        "--max-base-samples", "16", "--no-progress", "--csv", "tables",
    )  # fmt: skip
    assert run.code == 0, run.err
    assert sorted(p.name for p in (tmp_path / "tables").iterdir()) == CSV_FILES
    for name in CSV_FILES:
        assert f"wrote {Path('tables') / name}" in run.err
    assert (tmp_path / "r.html").exists()
    # the tables rank the data every year; a page alone ranks only the year it shows: the
    # same page and messages, byte for byte
    plain = cli(
        "report", BUILTIN, BUILTIN, "-o", "plain.html", "-n", "200", "-N", "16", "--seed", "3",
        "--max-base-samples", "16", "--no-progress",
    )  # fmt: skip
    assert plain.code == 0, plain.err
    assert plain.out == run.out
    # the same bytes but for the minute each page was generated (a slow run crosses one)
    pages = [
        re.sub(rb"(>Generated</td><td[^>]*>)[^<]*", rb"\1", (tmp_path / name).read_bytes())
        for name in ("plain.html", "r.html")
    ]
    assert pages[0].count(b">Generated</td>") == 1
    assert pages[0] == pages[1]
    assert list(pd.read_csv(tmp_path / "tables" / "sobol_indices.csv").columns) == SOBOL_HEADER
    ranked = pd.read_csv(tmp_path / "tables" / "priorities.csv")
    assert sorted(ranked["year"].unique()) == [1993, 1994, 1995, 1996, 1997]


def test_priorities_prints_the_same_ranking_with_or_without_every_year(
    cli: Cli, tmp_path: Path
) -> None:
    """On screen only the year shown is ranked; the JSON and the workbook rank every year."""
    args = ("priorities", BUILTIN, BUILTIN, "-N", "16", "--max-base-samples", "16", "--no-progress")
    for year in ("1997", "1994"):
        alone = cli(*args, "--year", year)
        every = cli(*args, "--year", year, "-o", tmp_path / f"p{year}.xlsx")
        assert alone.code == every.code == 0, alone.err + every.err
        assert alone.out == every.out
        assert f"for the {year} premium decision" in alone.out
    doc = json.loads(cli(*args, "--json").out)
    assert sorted(doc["years"]) == ["1993", "1994", "1995", "1996", "1997"]


@pytest.mark.parametrize("name", ["report.pdf", "report.txt", "report"])
def test_report_refuses_anything_but_html(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli(
        "report", "-o", name, "-n", "100", "-N", "8", "--max-base-samples", "8", "--no-progress"
    )
    assert run.code == 2
    assert f"{name}: the report is an HTML page" in run.err
    assert "Traceback" not in run.text
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        # refused while the command line is read: argparse names the option
        (
            "-n",
            "5",
            "argument -n/--draws: 5 is out of range: expected a number of projections from 10",
        ),
        ("-N", "1", "argument -N/--base-samples: 1 is out of range: expected a base sample size"),
        (
            "--level",
            "1.5",
            "argument --level: 1.5 is out of range: expected a probability strictly",
        ),
        ("--deficit-cost", "-1", "argument --deficit-cost: -1 is out of range: expected a loss"),
        (
            "--surplus-cost",
            "0",
            "argument --surplus-cost: 0 is out of range: expected a loss per unit of currency above 0",
        ),
        ("--max-base-samples", "512", "--max-base-samples must be at least -N (1024)"),
    ],
)
def test_report_refuses_bad_numbers(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str, value: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli("report", "-o", "r.html", option, value, "--no-progress")
    assert run.code == 2
    assert message in run.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["hai_phong_1993_1997", "khanh_hoa_2020_2030", "lao_nhi_merger_2017"],
            "3 files given: to compare scenarios, name their distributions with --distributions",
        ),
        (
            ["hai_phong_1993_1997", "khanh_hoa_2020_2030", "--distributions", "a", "b", "c"],
            "one file for all the scenarios or one per scenario: 2 scenarios, 3 distributions",
        ),
        (
            ["hai_phong_1993_1997", "khanh_hoa_2020_2030", "--distributions", "no_such_file"],
            "no_such_file: no such file, and not a built-in distribution",
        ),
    ],
)
def test_report_comparison_refuses_unmatched_files_before_any_work(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli("report", *args, "-o", "c.html", "--no-progress")
    assert run.code == 2, run.text
    assert message in run.err
    assert "Traceback" not in run.text
    assert list(tmp_path.iterdir()) == []


def test_report_comparison_writes_its_page_and_replaces_it_with_overwrite(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison page is a schemerisk page: written, refused again, replaced with --overwrite.

    It once lacked the generator tag every page of ours carries, so the writer refused it
    with a traceback after the whole run."""
    monkeypatch.chdir(tmp_path)
    args = (
        "report", "hai_phong_1993_1997", "khanh_hoa_2020_2030", "--distributions",
        "hai_phong_1993_1997", "khanh_hoa_2020_2030", "-o", "c.html", "-n", "200", "-N", "8",
        "--max-base-samples", "8", "--no-progress",
    )  # fmt: skip
    run = cli(*args)
    assert run.code == 0, run.text
    assert "Traceback" not in run.text and "wrote c.html" in run.err
    page = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert '<meta name="generator" content="schemerisk ' in page
    assert "Deficit risk: hai_phong_1993_1997 vs khanh_hoa_2020_2030" in page
    html5lib.HTMLParser(strict=True).parse(page)
    again = cli(*args)
    assert again.code == 2 and "c.html" in again.err and "--overwrite" in again.err
    assert (tmp_path / "c.html").read_text(encoding="utf-8") == page
    replaced = cli(*args, "--overwrite")
    assert replaced.code == 0, replaced.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.html"]


# --- risk -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cube_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cube = simulate(BUILTIN, BUILTIN, 400, seed=2, progress=False)
    return write_dataset(cube, tmp_path_factory.mktemp("cube") / "cube.nc")


def test_risk_of_a_missing_cube(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.nc"
    run = cli("risk", missing)
    assert run.code == 2
    assert f"{missing}: no such cube" in run.err
    assert "schemerisk simulate" in run.err  # says how to make one
    assert "Traceback" not in run.text


def test_risk_of_a_deterministic_projection(cli: Cli, tmp_path: Path) -> None:
    det = tmp_path / "x.nc"
    assert cli("project", BUILTIN, "-o", det).code == 0
    run = cli("risk", det)
    assert run.code == 2
    assert f"{det}: not a Monte Carlo cube" in run.err
    assert "'draw' dimension" in run.err


def test_risk_of_a_file_that_is_not_netcdf(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.nc"
    bad.write_text("not a netCDF file", encoding="utf-8")
    run = cli("risk", bad)
    assert run.code == 2
    assert f"{bad}: cannot be read" in run.err


def test_risk_of_a_cube_without_revenue(cli: Cli, cube_file: Path, tmp_path: Path) -> None:
    cube = xr.open_dataset(cube_file).load()
    path = write_dataset(cube.drop_vars("premium_revenue"), tmp_path / "partial.nc")
    run = cli("risk", path)
    assert run.code == 2
    assert "missing premium_revenue" in run.err


@pytest.mark.parametrize("level", ["0", "1", "-0.1"])
def test_risk_refuses_a_level_outside_0_1(cli: Cli, cube_file: Path, level: str) -> None:
    run = cli("risk", cube_file, "--level", level)
    assert run.code == 2
    assert f"argument --level: {level} is out of range: expected a probability strictly" in run.err


def test_risk_prints_the_table(cli: Cli, cube_file: Path) -> None:
    run = cli("risk", cube_file, "--adjust", "flat-premiums")
    assert run.code == 0, run.err
    bal = xr.open_dataset(cube_file).balance.transpose("draw", "year").values
    lines = {ln.split()[0]: ln for ln in run.out.splitlines() if ln.strip()[:4].isdigit()}
    for i, year in enumerate(range(1993, 1998)):
        assert lines[str(year)].split()[1] == f"{(bal[:, i] < 0).mean():.1%}"
    # the footnote names the premiums --adjust scales, and only those
    assert "Premium x: multiplier on the flat premiums (contributions as planned)" in run.out
    assert "multiplier on all premiums" not in run.out
    for adjust, words in (("all-premiums", "all premiums"), ("contribution-rates", "the contr")):
        other = cli("risk", cube_file, "--adjust", adjust)
        assert f"Premium x: multiplier on {words}" in other.out, other.err


def _table_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()[:4].isdigit() or "P(at least" in ln]


def test_risk_from_a_scenario_equals_risk_of_the_simulated_cube(cli: Cli, tmp_path: Path) -> None:
    """``risk SCENARIO DISTRIBUTIONS`` is ``simulate`` then ``risk``, keeping only what risk reads."""
    cube = tmp_path / "full.nc"
    made = cli(
        "simulate", BUILTIN, BUILTIN, "-n", "3000", "--seed", "5", "--no-progress", "-o", cube
    )
    assert made.code == 0, made.err
    two_steps = cli("risk", cube)
    slim = tmp_path / "slim.nc"
    one_step = cli(
        "risk", BUILTIN, BUILTIN, "-n", "3000", "--seed", "5", "--no-progress", "-o", slim
    )
    assert one_step.code == 0, one_step.err
    assert "3,000 projections, seed 5" in one_step.out
    assert _table_lines(one_step.out) == _table_lines(two_steps.out)
    assert len(_table_lines(one_step.out)) == 6  # five years and the whole horizon
    kept = xr.open_dataset(slim)
    assert set(RISK_OUTPUTS) <= set(kept.data_vars)
    assert "members" not in kept and "premium" not in kept  # the by-category outputs are not kept
    assert _table_lines(cli("risk", slim).out) == _table_lines(two_steps.out)


def test_risk_outputs_are_all_the_report_reads() -> None:
    full = simulate(BUILTIN, BUILTIN, 500, seed=9, progress=False)
    slim = simulate(BUILTIN, BUILTIN, 500, seed=9, keep=RISK_OUTPUTS, progress=False)
    a, b = deficit_risk(slim), deficit_risk(full)
    xr.testing.assert_identical(a.table, b.table)
    xr.testing.assert_identical(a.p_any_deficit, b.p_any_deficit)
    assert not np.isnan(a.table.required_premium_multiplier).any()


def test_risk_run_options_are_refused_with_a_cube(cli: Cli, cube_file: Path) -> None:
    run = cli("risk", cube_file, "-n", "100", "--seed", "0")
    assert run.code == 2
    assert "-n" not in run.out
    assert "--draws, --seed only apply when the risk is simulated" in run.err


def test_risk_of_a_scenario_alone_asks_for_its_distributions(cli: Cli) -> None:
    run = cli("risk", BUILTIN)
    assert run.code == 2
    assert f"{BUILTIN} is a scenario: give its distributions too" in run.err


def test_risk_refuses_a_cube_followed_by_distributions(cli: Cli, cube_file: Path) -> None:
    run = cli("risk", cube_file, BUILTIN)
    assert run.code == 2
    assert "give either a cube alone, or a scenario and its distributions" in run.err


def test_risk_from_a_scenario_names_a_bad_distributions_file(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "d.yaml"
    bad.write_text("inputs:\n  x:\n    target: nowhere\n    distribution: normal\n", "utf-8")
    run = cli("risk", BUILTIN, bad, "-n", "100", "--no-progress")
    assert run.code == 2
    assert str(bad) in run.err
    assert "Traceback" not in run.text


# --- drivers ----------------------------------------------------------------------------------

DOMINANT = """
scenario: hai_phong_1993_1997
inputs:
  insured_use:
    target: insured_utilisation_loading
    distribution: {family: uniform, low: 1.119, high: 1.121}
  population_growth:
    target: demography.growth_rate
    distribution: {family: uniform, low: 0.0219, high: 0.0221}
  admission_rate:
    target: admission_rate
    distribution: {family: uniform, low: 0.03, high: 0.16}
"""


def test_drivers_ranks_the_dominant_input_first(cli: Cli, tmp_path: Path) -> None:
    sc = load_scenario(BUILTIN)
    space = parse_space(DOMINANT, sc, "<dominant>", compile_inputs(sc))
    path = write_dataset(simulate(sc, space, 800, seed=5, progress=False), tmp_path / "c.nc")
    run = cli("drivers", path)
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].startswith(f"Drivers from all 800 draws of {path}: PAWN index")
    assert lines[1].split()[0] == "input"
    ranked = [ln.split()[0] for ln in lines[2:] if ln.strip()]
    assert ranked[0] == "admission_rate"
    assert sorted(ranked) == ["admission_rate", "insured_use", "population_growth"]
    values = [float(ln.split()[1]) for ln in lines[2:] if ln.strip()]
    assert values[0] > 3 * max(values[1:])
    assert cli("drivers", path, "--year", "1995").code == 0
    outside = cli("drivers", path, "--year", "2001")
    assert outside.code == 2 and "outside the projection (1993-1997)" in outside.err


def test_drivers_delta_subsamples_says_so_and_keeps_salib_quiet(cli: Cli, tmp_path: Path) -> None:
    sc = load_scenario(BUILTIN)
    space = parse_space(DOMINANT, sc, "<dominant>", compile_inputs(sc))
    path = write_dataset(simulate(sc, space, 800, seed=5, progress=False), tmp_path / "c.nc")
    run = cli("drivers", path, "--method", "delta", "--max-draws", "300", "--no-progress")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].startswith(f"Drivers from the first 300 of 800 draws of {path}: delta")
    assert lines[1].startswith("Precision: median 95 % bootstrap half-width")
    assert lines[3].split()[0] == "admission_rate"
    # the 0/1 deficit indicator is left to PAWN: a dash in its column, and a line saying why
    assert all(ln.split()[-1] == "-" for ln in lines[3:] if ln.split() and ln[0] != "d")
    assert lines[-1].startswith("deficit: not given by delta")
    assert "Bin Merge" not in run.out + run.err and run.err == ""
    assert cli("drivers", path, "--max-draws", "10").code == 2


def test_drivers_needs_drawn_inputs(cli: Cli, cube_file: Path, tmp_path: Path) -> None:
    cube = xr.open_dataset(cube_file).load()
    bare = cube.drop_vars([v for v in cube.data_vars if str(v).startswith("input_")])
    path = write_dataset(bare, tmp_path / "bare.nc")
    run = cli("drivers", path)
    assert run.code == 2
    assert "no drawn inputs" in run.err


# --- priorities and sensitivity -----------------------------------------------------------------


def test_priorities_in_plain_words(cli: Cli) -> None:
    run = cli(
        "priorities", BUILTIN, BUILTIN, "-N", "64", "--max-base-samples", "128", "--no-progress",
        "--top", "3",
    )  # fmt: skip
    assert run.code == 0, run.err
    assert "Which data to collect first, for the 1997 premium decision" in run.out
    assert "Value of perfect information on everything (EVPI):" in run.out
    assert "Saltelli design with N = " in run.out
    sentences = [ln for ln in run.out.splitlines() if ln[:3] in ("1. ", "2. ", "3. ")]
    assert len(sentences) == 3 and all("Learning" in s for s in sentences)
    assert all("million VND" in s and "premium multiplier" in s for s in sentences)
    assert "cannot be collected, only prepared for" in run.out
    assert "indexed to prices" in run.out
    # the table: S1 and ST within 0 <= S1 <= ST <= 1, and a starred footnote when noise
    # put an estimate outside (at N <= 128 some input's S1 is estimated below 0)
    lines = run.out.splitlines()
    first = lines.index(next(ln for ln in lines if ln.startswith("rank")))
    rows = [ln for ln in lines[first + 1 : first + 40] if ln.strip() and "  " in ln[:8]]
    starred = 0
    for row in rows:
        *_, s1, st = row.split()
        starred += s1.endswith("*")
        a, b = float(s1.rstrip("*")), float(st.rstrip("*"))
        assert 0.0 <= a <= b <= 1.0, row
    assert starred, "no estimate was outside 0 <= S1 <= ST <= 1: the case is not exercised"
    assert "* sampling noise put the estimates outside 0 <= S1 <= ST <= 1" in run.out


def test_priorities_json_is_json_only(cli: Cli) -> None:
    run = cli(
        "priorities", BUILTIN, BUILTIN, "-N", "32", "--max-base-samples", "32", "--json",
        "--no-progress",
    )  # fmt: skip
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    rows = doc["years"]["1997"]["inputs"]
    assert {"input", "kind", "rank", "S1", "ST", "evppi", "evppi_se"} <= set(rows[0])
    assert doc["sobol_base_samples"] == 32


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--deficit-cost", "0"), "--deficit-cost: 0 is out of range: expected a loss per unit"),
        (("--surplus-cost", "-1"), "--surplus-cost: -1 is out of range: expected a loss per"),
        (("--year", "2001"), "--year 2001 is outside the projection (1993-1997)"),
    ],
)
def test_priorities_refuses_bad_input_before_any_work(
    cli: Cli, args: tuple[str, ...], message: str
) -> None:
    run = cli(
        "priorities", BUILTIN, BUILTIN, "-N", "8", "--max-base-samples", "8", "--no-progress", *args
    )
    assert run.code == 2
    assert message in run.err and run.out == ""


def test_sensitivity_prints_indices_and_checks_the_year(cli: Cli, tmp_path: Path) -> None:
    run = cli("sensitivity", BUILTIN, BUILTIN, "-N", "32", "--no-progress", "--csv", tmp_path / "s")
    assert run.code == 0, run.err
    assert "Sobol' indices from" in run.out and "(N = 32, seed 0)" in run.out
    assert "Deficit indicator (1 = deficit), 1997" in run.out
    assert (tmp_path / "s" / "sobol_indices.csv").exists()
    bad = cli("sensitivity", BUILTIN, BUILTIN, "-N", "8", "--no-progress", "--year", "1990")
    assert bad.code == 2
    assert "--year 1990 is outside the projection (1993-1997)" in bad.err
    assert cli("sensitivity", BUILTIN, BUILTIN, "-N", "1").code == 2


def test_cube_values_are_what_simulate_wrote(cube_file: Path) -> None:
    """The cube the risk tests read is a real Monte Carlo cube (guards the fixtures above)."""
    cube = xr.open_dataset(cube_file)
    assert cube.sizes["draw"] == 400
    assert np.isfinite(cube.balance.values).all()


# --- help ---------------------------------------------------------------------------------------


def test_help_lists_every_builtin_name_from_the_package_list() -> None:
    import argparse
    import re

    from schemerisk.cli import build_parser
    from schemerisk.scenario.builtin import _builtin_dirs

    # the files on disk, found here without the package's own list
    found = {
        kind: sorted({p.stem for d in _builtin_dirs(kind) for p in d.glob("*.yaml")})
        for kind in ("scenarios", "distributions")
    }
    assert len(found["scenarios"]) >= 5
    parser = build_parser()

    def flat(text: str) -> str:
        return re.sub(r"\s+", " ", text)

    top = flat(parser.format_help())
    assert f"Built-in scenarios: {', '.join(found['scenarios'])}." in top
    assert f"Built-in distributions: {', '.join(found['distributions'])}." in top
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in ("project", "simulate", "risk", "sensitivity", "priorities", "report"):
        text = flat(sub.choices[command].format_help())
        missing = [n for n in found["scenarios"] if n not in text]
        assert missing == [], (command, missing)


def test_sensitivity_checks_the_year_before_any_work(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import schemerisk.analysis.sensitivity as sensitivity

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the design was run before --year was checked")

    monkeypatch.setattr(sensitivity, "sobol_analysis", no_run)
    bad = cli("sensitivity", BUILTIN, BUILTIN, "-N", "64", "--no-progress", "--year", "2050")
    assert bad.code == 2 and bad.out == ""
    assert "--year 2050 is outside the projection (1993-1997)" in bad.err


def test_sensitivity_prints_the_same_indices_with_or_without_every_years_table(
    cli: Cli, tmp_path: Path
) -> None:
    """Without --csv or -o only the printed year is computed: the same lines, a shorter warning."""
    args = ("sensitivity", BUILTIN, BUILTIN, "-N", "64", "--no-progress", "--year", "1995")
    alone = cli(*args)
    every = cli(*args, "--csv", tmp_path / "s")
    assert alone.code == every.code == 0, alone.err + every.err
    assert alone.out == every.out and "Balance, 1995" in alone.out
    table = pd.read_csv(tmp_path / "s" / "sobol_indices.csv")
    assert sorted(table["year"].unique()) == [1993, 1994, 1995, 1996, 1997]
    assert list(table.columns) == SOBOL_HEADER  # the report's format (the README's table)
    printed = [ln.split() for ln in alone.out.splitlines() if ln.startswith("insured_use ")]
    row = table[(table["year"] == 1995) & (table["input"] == "insured_use")].iloc[0]
    assert abs(float(printed[0][1]) - row["S1 [1]"]) <= 0.0005 + 1e-6  # three decimals, six

    def imprecise(err: str) -> int:
        found = re.search(r"warning: (\d+) Sobol' indices have confidence intervals", err)
        assert found, err
        return int(found.group(1))

    # the warning counts the indices computed: the printed year's, or every year's
    assert 0 < imprecise(alone.err) < imprecise(every.err)


def test_our_warnings_read_as_one_line_and_a_librarys_as_python_shows_them(
    cli: Cli, tmp_path: Path
) -> None:
    run = cli(
        "risk", BUILTIN, BUILTIN, "-n", "500", "--sampler", "sobol", "--no-progress",
    )  # fmt: skip
    assert run.code == 0, run.err
    note = "warning: Sobol' points keep their balance only for a power of two; 500 is not"
    assert note in run.err
    assert "UserWarning" not in run.err and "cli.py" not in run.err
    # a warning raised outside the package goes to the handler that was there before
    from schemerisk import cli as command_line

    shown: list[tuple[object, ...]] = []
    command_line._show_warning(
        lambda *a: shown.append(a), "deprecated", DeprecationWarning, "/elsewhere/lib.py", 3
    )
    assert shown == [("deprecated", DeprecationWarning, "/elsewhere/lib.py", 3, None, None)]


def test_priorities_table_keeps_large_figures_apart(cli: Cli) -> None:
    """Lao's EVPPI runs to tens of thousands of millions of kip: each figure still its own column."""
    lao = "lao_nhi_merger_2017"
    args = (lao, lao, "-N", "16", "--max-base-samples", "16", "--no-progress")
    run = cli("priorities", *args)
    assert run.code == 0, run.err
    doc = json.loads(cli("priorities", *args, "--json").out)
    year = str(max(int(y) for y in doc["years"]))
    want = {r["input"]: r for r in doc["years"][year]["inputs"]}
    lines = run.out.splitlines()
    first = lines.index(next(ln for ln in lines if ln.startswith("rank")))
    rows = [ln for ln in lines[first + 1 :] if ln.strip() and ln[:4].strip().isdigit()]
    assert rows and max(want[r.split()[1]]["evppi"] for r in rows) > 1e10  # the case exercised
    for row in rows:
        fields = row.split()
        evppi, se = (float(x.replace(",", "")) for x in fields[-4:-2])
        r = want[fields[1]]
        assert evppi == round(r["evppi"] / 1e6, 1) and se == round(r["evppi_se"] / 1e6, 1), row


def test_sensitivity_second_order_is_printed_and_written(cli: Cli, tmp_path: Path) -> None:
    """--second-order once ran the extra projections and showed their indices nowhere."""
    run = cli(
        "sensitivity", BUILTIN, BUILTIN, "-N", "32", "--second-order", "--no-progress",
        "--csv", tmp_path / "t", "-o", tmp_path / "s.xlsx",
    )  # fmt: skip
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    heads = [i for i, ln in enumerate(lines) if ln.startswith("second order S2")]
    assert len(heads) == 3 and all("the 5 largest of 105 pairs" in lines[i] for i in heads)
    first = pd.read_csv(tmp_path / "t" / "sobol_indices.csv")  # as the report writes it
    assert list(first.columns) == SOBOL_HEADER and len(first) == 3 * 15 * 5
    pairs = pd.read_csv(tmp_path / "t" / "sobol_second_order.csv")
    assert list(pairs.columns) == [
        "output", "input", "input_2", "year", "S2 [1]", "S2_conf [1]",
    ]  # fmt: skip
    s2 = pairs[pairs["year"] == 1997]
    assert len(s2) == 3 * 105 and len(pairs) == 5 * 3 * 105
    for head, output in zip(heads, ("balance", "balance_share", "deficit"), strict=True):
        mine = s2[s2["output"] == output].set_index(["input", "input_2"])["S2 [1]"]
        sixth = mine.sort_values(ascending=False).iloc[5]
        for line in lines[head + 1 : head + 6]:  # "  0.047 +- 0.071  a x b"
            value, pair = float(line.split()[0]), line.split("  ")[-1].strip()
            a, b = pair.split(" x ")
            # the CSV keeps six decimals, the screen three
            assert abs(mine[(a, b)] - value) <= 0.0005 + 1e-6, line
            assert mine[(a, b)] >= sixth - 1e-6, line  # among the five largest
    assert "the second-order ones are printed above" in run.err


def test_cube_commands_say_what_a_table_or_a_summary_store_is(
    cli: Cli, cube_file: Path, tmp_path: Path
) -> None:
    """risk and drivers name the kind of file they were given, and what they need instead."""
    table = tmp_path / "cube.csv"
    assert cli("project", BUILTIN, "-o", table).code == 0
    for command in ("risk", "drivers"):
        run = cli(command, table)
        assert run.code == 2 and "Traceback" not in run.text
        assert f"{table}: a CSV table, not a cube" in run.err
        assert "simulate ... -o cube.nc" in run.err and "engine" not in run.err
    store = tmp_path / "s.zarr"
    args = ("simulate", BUILTIN, BUILTIN, "-n", "300", "--keep", "summary", "-o", store)
    made = cli(*args, "--no-progress")
    assert made.code == 0, made.err
    assert f"wrote {store}" in made.err
    # the sketch's quantiles are nearest-rank ones (tests/distributed/test_summary.py), and
    # the note says so rather than promising the cube's interpolated figures
    assert "each is the draw of that rank (numpy's 'inverted_cdf')" in made.out
    # the same run again: the finished store is read, and said to be, not "written"
    again = cli(*args, "--no-progress")
    assert again.code == 0, again.err
    assert f"{store} was already complete (the same run): nothing computed" in again.err
    assert "wrote" not in again.err and again.out == made.out
    drivers = cli("drivers", store)
    assert drivers.code == 2 and "a store of streaming summaries" in drivers.err
    assert cli("risk", store).code == 0  # risk reads summaries
    other = cli("risk", store, "--adjust", "flat-premiums")
    assert other.code == 2
    assert "holds the multiplier on all premiums, not on flat premiums" in other.err
    assert "schemerisk risk SCENARIO DISTRIBUTIONS --adjust flat-premiums" in other.err
