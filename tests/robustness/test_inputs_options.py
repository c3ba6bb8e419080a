"""Bad numbers on the command line, each refused before any work with a message naming the option.

Every numeric option of every command is range-checked while the command line is read
(issue 12, findings 4 and 6): argparse exits with code 2 and names the option. Runs too large
for the memory available are refused before they start, with advice. Nothing is written and
the user's other files are left alone.
"""

from __future__ import annotations

from pathlib import Path

import netCDF4
import pytest

from schemerisk import resources
from schemerisk.cli import MAX_SEED
from tests.robustness.inputs_support import (
    BUILTIN,
    UNRELATED,
    assert_clear_error,
    run_cli,
    run_console,
    snapshot,
)

SIM = ("simulate", BUILTIN, BUILTIN, "--no-progress", "-o", "out.nc")
STUDY = (BUILTIN, BUILTIN, "--no-progress")

# (command line, the option as argparse names it, what the message must say)
CASES = [
    (("simulate", BUILTIN, BUILTIN, "-n", "1e12"), "-n/--draws", "1e12 is out of range"),
    (("simulate", BUILTIN, BUILTIN, "-n", "0"), "-n/--draws", "expected a number of projections"),
    (("simulate", BUILTIN, BUILTIN, "-n", "-5"), "-n/--draws", "-5 is out of range"),
    (("simulate", BUILTIN, BUILTIN, "-n", "1.5"), "-n/--draws", "(a whole number), got '1.5'"),
    (("simulate", BUILTIN, BUILTIN, "-n", "many"), "-n/--draws", "got 'many'"),
    (("simulate", BUILTIN, BUILTIN, "--horizon", "1e12"), "--horizon", "from 0 to 200"),
    (("simulate", BUILTIN, BUILTIN, "--horizon", "201"), "--horizon", "201 is out of range"),
    (("simulate", BUILTIN, BUILTIN, "--horizon", "-1"), "--horizon", "-1 is out of range"),
    (("simulate", BUILTIN, BUILTIN, "--seed", str(2**80)), "--seed", "from 0 to 2^63 - 1"),
    (("simulate", BUILTIN, BUILTIN, "--seed", "-1"), "--seed", "-1 is out of range"),
    (("simulate", BUILTIN, BUILTIN, "--chunk-size", "0"), "--chunk-size", "0 is out of range"),
    (("simulate", BUILTIN, BUILTIN, "--threads", "0"), "--threads", "number of threads from 1"),
    (("simulate", BUILTIN, BUILTIN, "--threads", "1000000"), "--threads", "1000000 is out"),
    (("simulate", BUILTIN, BUILTIN, "--workers", "0"), "--workers", "worker processes from 1"),
    (("simulate", BUILTIN, BUILTIN, "--workers", "1000000"), "--workers", "1000000 is out"),
    (("project", BUILTIN, "--scale", "0"), "--scale", "0 is out of range: expected a divisor"),
    (("project", BUILTIN, "--scale", "nan"), "--scale", "nan is not a finite number"),
    (("project", BUILTIN, "--scale", "inf"), "--scale", "inf is not a finite number"),
    (("project", BUILTIN, "--scale", "-1000"), "--scale", "-1000 is out of range"),
    (("project", BUILTIN, "--horizon", "1e12"), "--horizon", "from 0 to 200"),
    (("solve", BUILTIN, "--scale", "0"), "--scale", "expected a divisor above 0"),
    (("priorities", *STUDY, "--top", "-1"), "--top", "-1 is out of range: expected a number"),
    (("priorities", *STUDY, "--top", "0"), "--top", "0 is out of range"),
    (("priorities", *STUDY, "--deficit-cost", "nan"), "--deficit-cost", "not a finite number"),
    (("priorities", *STUDY, "--surplus-cost", "-1"), "--surplus-cost", "expected a loss"),
    (("priorities", *STUDY, "--year", "1e40"), "--year", "expected a year of the projection"),
    (("sensitivity", *STUDY, "-N", "1"), "-N/--base-samples", "expected a base sample size"),
    (("sensitivity", *STUDY, "-N", "1e12"), "-N/--base-samples", "1e12 is out of range"),
    (("risk", BUILTIN, BUILTIN, "--level", "0"), "--level", "strictly between 0 and 1"),
    (("risk", BUILTIN, BUILTIN, "--level", "nan"), "--level", "nan is not a finite number"),
    (("risk", BUILTIN, BUILTIN, "-n", "0"), "-n/--draws", "0 is out of range"),
    (("risk", BUILTIN, BUILTIN, "--seed", str(2**80)), "--seed", "out of range"),
    (("report", "-o", "r.html", "-n", "5"), "-n/--draws", "from 10 to 10^9"),
    (("report", "-o", "r.html", "--seed", "-1"), "--seed", "-1 is out of range"),
    (("report", "-o", "r.html", "--level", "1"), "--level", "1 is out of range"),
    (("drivers", "cube.nc", "--year", "soon"), "--year", "got 'soon'"),
]


@pytest.mark.parametrize(
    ("argv", "option", "expected"), CASES, ids=[" ".join(c[0][:1] + c[0][-2:]) for c in CASES]
)
def test_a_bad_number_is_refused_naming_the_option(
    argv: tuple[str, ...],
    option: str,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(UNRELATED[0]).write_bytes(UNRELATED[1])
    before = snapshot(tmp_path)
    run = run_cli(capsys, *argv)
    assert_clear_error(run, f"argument {option}: ", expected)
    assert snapshot(tmp_path) == before


def test_counts_may_be_written_in_scientific_notation(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "simulate", BUILTIN, BUILTIN, "-n", "1e1", "--no-progress")
    assert run.code == 0, run.err
    assert "10 projections" in run.out


def test_the_largest_seed_is_kept_in_the_netcdf_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The upper bound of --seed is what the result file can hold: it is written and read back."""
    monkeypatch.chdir(tmp_path)
    run = run_cli(capsys, *SIM, "-n", "10", "--seed", str(MAX_SEED))
    assert run.code == 0, run.err
    with netCDF4.Dataset(tmp_path / "out.nc") as nc:
        assert int(nc.getncattr("seed")) == MAX_SEED


GB = 10**9


@pytest.mark.parametrize(
    ("argv", "advice"),
    [
        ((*SIM, "-n", "10000000"), ("--keep summary", "--workers K")),
        (("risk", BUILTIN, BUILTIN, "-n", "100000000", "--no-progress"), ("--keep summary",)),
        (
            (
                "report",
                "-o",
                "r.html",
                "-N",
                "1000000",
                "--max-base-samples",
                "1000000",
                "--no-progress",
            ),
            ("-N",),
        ),
        (("sensitivity", *STUDY, "-N", "10000000"), ("smaller base sample size (-N)",)),
    ],
    ids=["simulate", "risk", "report", "sensitivity"],
)
def test_a_run_too_large_for_memory_is_refused_before_it_starts(
    argv: tuple[str, ...],
    advice: tuple[str, ...],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 1 GB available: each run above needs tens of GB by the count of its arrays alone
    monkeypatch.setattr(resources, "available_memory", lambda: 1 * GB)
    monkeypatch.chdir(tmp_path)
    Path(UNRELATED[0]).write_bytes(UNRELATED[1])
    before = snapshot(tmp_path)
    run = run_cli(capsys, *argv)
    assert_clear_error(
        run, "projections of", "would need about", "and 1.0 GB is available", *advice
    )
    assert snapshot(tmp_path) == before


def test_the_memory_estimate_covers_what_a_run_allocates() -> None:
    """The estimate is checked against the allocations tracemalloc counts in a real run."""
    import tracemalloc

    from schemerisk.uncertainty.montecarlo import bind_space, run_design
    from schemerisk.uncertainty.sampling import unit_design

    space = bind_space(BUILTIN, BUILTIN)
    rows = 4000
    outputs = resources.kept_numbers(space.inputs, None)
    design = unit_design(space, rows, 0, "mc")
    tracemalloc.start()
    try:
        cube = run_design(space, design, progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del cube
    arrays = 8 * rows * (2 * space.n_columns + outputs)  # what the estimate counts
    estimate = resources.run_bytes(rows, space.n_columns, outputs, design_matrix=False)
    assert peak >= arrays  # the counted arrays are really made
    assert peak <= estimate - resources.BASE  # the margin covers the rest


def test_in_a_fresh_interpreter_a_seed_of_2_to_the_80_is_refused(tmp_path: Path) -> None:
    run = run_console(
        "simulate", BUILTIN, BUILTIN, "--seed", str(2**80), "-o", "x.nc", cwd=tmp_path
    )
    assert_clear_error(run, "argument --seed: ", "expected a seed from 0 to 2^63 - 1")
    assert list(tmp_path.iterdir()) == []
