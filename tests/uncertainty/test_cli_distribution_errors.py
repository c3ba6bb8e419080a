"""Every distributions-file error, seen as a user sees it: through ``schemerisk simulate``.

Each bad file targets the built-in Hai Phong 1993-1997 scenario. The command must
exit with code 2 before anything runs and print one message naming the file, the
entry (``inputs.<name>``) and the reason, never a Python traceback. Then the
command end to end: the summary table, the cube on disk, and an interrupted run
that leaves nothing behind.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import schemerisk.uncertainty.montecarlo as montecarlo
from schemerisk.cli import EXIT_INPUT
from schemerisk.io import open_dataset
from schemerisk.uncertainty.montecarlo import simulate
from tests.support import CliRun as Run
from tests.support import run_console

SC = "hai_phong_1993_1997"


@pytest.fixture
def dist_file(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / "uncertain.yaml"
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


def _entry(name: str, target: str, distribution: str, extra: str = "") -> str:
    lines = [f"  {name}:", f"    target: {target}"]
    lines += [f"    {line}" for line in extra.splitlines() if line]
    lines.append(f"    distribution: {distribution}")
    return "\n".join(lines) + "\n"


GOOD = (
    _entry("admissions", "admission_rate", "{family: pert, low: 0.065, mode: 0.0713, high: 0.085}")
    + _entry(
        "copayment",
        "services.inpatient_day_city.copayment_rate",
        "{family: beta, mean: 0.2, sd: 0.05}",
    )
    + _entry(
        "uptake",
        "categories.farmers.insured_share",
        "{family: pert, low: 0.25, mode: 0.5, high: 1.0}",
        "apply: scale",
    )
)


def _doc(*entries: str, correlations: str = "") -> str:
    text = "scenario: hai_phong_1993_1997\ninputs:\n" + GOOD + "".join(entries)
    if correlations:
        text += (
            "correlations:\n"
            + textwrap.indent(textwrap.dedent(correlations).strip("\n"), "  ")
            + "\n"
        )
    return text


@dataclass(frozen=True)
class Case:
    """One broken distributions file and what the message about it must say."""

    id: str
    text: str
    path: str  # the entry path the message must name
    expected: tuple[str, ...]


CASES = [
    Case(
        "unknown-scenario-path",
        _doc(_entry("x", "categories.farmer.insured_share", "{family: beta, mean: 0.2, sd: 0.05}")),
        "inputs.x.target",
        (
            "unknown scenario input 'categories.farmer.insured_share'",
            "nearest valid paths: categories.farmers.insured_share",
        ),
    ),
    Case(
        "unknown-scenario-path-wildcard",
        _doc(
            _entry(
                "x",
                "services.*.patient_costs",
                "{family: uniform, low: 0.5, high: 2}",
                "apply: scale",
            )
        ),
        "inputs.x.target",
        ("unknown scenario input 'services.*.patient_costs'",),
    ),
    Case(
        "unknown-family",
        _doc(_entry("x", "admission_rate", "{family: lognormall, p05: 0.06, p95: 0.10}")),
        "inputs.x.distribution",
        ("unknown family 'lognormall'", "did you mean 'lognormal'"),
    ),
    Case(
        "unknown-parameter",
        _doc(_entry("x", "admission_rate", "{family: gamma, mean: 0.08, sdd: 0.01}")),
        "inputs.x.distribution",
        ("unknown parameter 'sdd'", "did you mean 'sd'"),
    ),
    Case(
        "negative-sd",
        _doc(
            _entry(
                "x", "admission_rate", "{family: truncated_normal, mean: 0.08, sd: -0.01, low: 0}"
            )
        ),
        "inputs.x.distribution",
        ("'sd' is -0.01", "above 0"),
    ),
    Case(
        "reversed-bounds-uniform",
        _doc(_entry("x", "demography.growth_rate", "{family: uniform, low: 0.026, high: 0.018}")),
        "inputs.x.distribution",
        ("low (0.026) must be below high (0.018)",),
    ),
    Case(
        "reversed-bounds-pert",
        _doc(_entry("x", "admission_rate", "{family: pert, low: 0.085, mode: 0.07, high: 0.065}")),
        "inputs.x.distribution",
        ("low (0.085) must be below high (0.065)",),
    ),
    Case(
        "reversed-quantiles",
        _doc(
            _entry("x", "economy.domestic_inflation", "{family: lognormal, p05: 0.45, p95: 0.06}")
        ),
        "inputs.x.distribution",
        ("quantiles must increase",),
    ),
    Case(
        "beta-mean-outside",
        _doc(
            _entry("x", "categories.dependants.insured_share", "{family: beta, mean: 1.2, sd: 0.1}")
        ),
        "inputs.x.distribution",
        ("mean of a beta", "1.2"),
    ),
    Case(
        "share-outside-0-1",
        _doc(
            _entry(
                "x", "categories.dependants.insured_share", "{family: normal, mean: 0.2, sd: 0.1}"
            )
        ),
        "inputs.x",
        ("categories.dependants.insured_share", "a share between 0 and 1", "clip: true"),
    ),
    Case(
        "share-above-1-after-scaling",
        _doc(
            _entry(
                "x",
                "categories.industrial.insured_share",
                "{family: uniform, low: 0.8, high: 1.2}",
                "apply: scale",
            )
        ),
        "inputs.x",
        ("categories.industrial.insured_share to 1.2", "a share between 0 and 1"),
    ),
    Case(
        "negative-count",
        _doc(_entry("x", "demography.population", "{family: normal, mean: 1500000, sd: 100000}")),
        "inputs.x",
        ("demography.population", "0 or more", "clip: true"),
    ),
    Case(
        "negative-volume-after-shift",
        _doc(
            _entry(
                "x",
                "services.consultation_city.volume.rate_per_person",
                "{family: uniform, low: -0.3, high: 0.1}",
                "apply: shift",
            )
        ),
        "inputs.x",
        ("services.consultation_city.volume.rate_per_person", "0 or more"),
    ),
    Case(
        "bad-apply",
        _doc(
            _entry("x", "admission_rate", "{family: uniform, low: 0.9, high: 1.1}", "apply: scaled")
        ),
        "inputs.x.apply",
        ("expected one of replace, scale, shift", "did you mean 'scale'"),
    ),
    Case(
        "series-on-a-single-value",
        _doc(
            _entry(
                "x",
                "admission_rate",
                "{family: uniform, low: 0.06, high: 0.1}",
                "time: ar1\npersistence: 0.5",
            )
        ),
        "inputs.x",
        ("single value, not a per-year path",),
    ),
    Case(
        "ar1-persistence-out-of-range",
        _doc(
            _entry(
                "x",
                "economy.domestic_inflation",
                "{family: lognormal, p05: 0.06, p95: 0.45}",
                "time: ar1\npersistence: 1.0",
            )
        ),
        "inputs.x.persistence",
        ("between -1 and 1",),
    ),
    Case(
        "path-target-needs-a-linear-path",
        _doc(
            _entry(
                "x",
                "categories.dependants.insured_share",
                "{family: uniform, low: 0.2, high: 0.4}",
                "path: target",
            )
        ),
        "inputs.x.path",
        ("path: target needs", "move to a target"),
    ),
    Case(
        "unknown-entry-key",
        _doc(
            _entry("x", "admission_rate", "{family: uniform, low: 0.06, high: 0.1}", "clipp: true")
        ),
        "inputs.x.clipp",
        ("unknown key 'clipp'", "did you mean 'clip'"),
    ),
    Case(
        "correlation-not-symmetric",
        _doc(
            correlations="""
            - entries: [admissions, copayment]
              matrix: [[1.0, 0.5], [0.4, 1.0]]
            """
        ),
        "correlations[0].matrix",
        ("symmetric", "[0][1] is 0.5", "[1][0] is 0.4"),
    ),
    Case(
        "correlation-outside-1",
        _doc(
            correlations="""
            - entries: [admissions, copayment]
              matrix: [[1.0, 1.5], [1.5, 1.0]]
            """
        ),
        "correlations[0].matrix",
        ("[-1, 1]",),
    ),
    Case(
        "correlation-not-psd",
        _doc(
            correlations="""
            - entries: [admissions, copayment, uptake]
              matrix:
                - [1.0, 0.9, 0.9]
                - [0.9, 1.0, -0.9]
                - [0.9, -0.9, 1.0]
            """
        ),
        "correlations[0].matrix",
        ("not positive semi-definite",),
    ),
    Case(
        "correlation-unknown-entry",
        _doc(
            correlations="""
            - entries: [admissions, copaymnet]
              matrix: [[1.0, 0.5], [0.5, 1.0]]
            """
        ),
        "correlations[0].entries",
        ("unknown entry 'copaymnet'", "did you mean 'copayment'"),
    ),
    Case(
        "correlation-wrong-size",
        _doc(
            correlations="""
            - entries: [admissions, copayment, uptake]
              matrix: [[1.0, 0.5], [0.5, 1.0]]
            """
        ),
        "correlations[0].matrix",
        ("3 x 3",),
    ),
]


def _assert_one_problem_message(run: Run, file: Path, path: str, expected: tuple[str, ...]) -> None:
    assert run.code == EXIT_INPUT, run.err
    assert "Traceback" not in run.err + run.out
    assert str(file) in run.err
    assert "1 problem in this distributions file" in run.err
    assert f"  - {path} (line " in run.err or f"  - {path}: " in run.err, run.err
    for phrase in expected:
        assert phrase in run.err, (phrase, run.err)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_each_error_names_file_entry_and_reason(
    case: Case, cli: Callable[..., Run], dist_file: Callable[[str], Path]
) -> None:
    path = dist_file(case.text)
    run = cli("simulate", SC, path, "-n", "10")
    _assert_one_problem_message(run, path, case.path, case.expected)
    assert run.out == ""  # nothing ran


DUPLICATE_PERSISTENCE_BUG = (
    "space._entry checks a persistence above 1 twice (Reader.number with hi=1.0, then "
    "abs(persistence) >= 1), so the same problem is listed twice"
)


def test_persistence_above_one_is_reported_once(
    cli: Callable[..., Run], dist_file: Callable[[str], Path]
) -> None:
    entry = _entry(
        "x",
        "economy.domestic_inflation",
        "{family: lognormal, p05: 0.06, p95: 0.45}",
        "time: ar1\npersistence: 1.2",
    )
    path = dist_file(_doc(entry))
    run = cli("simulate", SC, path, "-n", "10")
    _assert_one_problem_message(run, path, "inputs.x.persistence", ("1.2", "between -1 and 1"))


def test_the_good_part_of_the_files_is_valid(
    cli: Callable[..., Run], dist_file: Callable[[str], Path]
) -> None:
    run = cli("simulate", SC, dist_file(_doc()), "-n", "10", "--no-progress")
    assert run.code == 0, run.err


def test_error_from_a_real_process_has_no_traceback(dist_file: Callable[[str], Path]) -> None:
    path = dist_file(CASES[0].text)
    run = run_console("simulate", SC, path, "-n", "10", timeout=120)
    assert run.code == EXIT_INPUT
    assert "Traceback" not in run.err
    assert str(path) in run.err
    assert "inputs.x.target" in run.err
    assert "categories.farmers.insured_share" in run.err


def test_yaml_syntax_error_gives_the_line(
    cli: Callable[..., Run], dist_file: Callable[[str], Path]
) -> None:
    text = (
        _doc()
        + "  broken:\n    target: admission_rate\n    distribution: {family: pert, low: 0.06\n  other: 1\n"
    )
    path = dist_file(text)
    broken_line = text.splitlines().index("    distribution: {family: pert, low: 0.06") + 1
    run = cli("simulate", SC, path, "-n", "10")
    assert run.code == EXIT_INPUT
    assert "Traceback" not in run.err
    assert str(path) in run.err
    assert "YAML syntax error" in run.err
    assert f"(line {broken_line})" in run.err or f"(line {broken_line + 1})" in run.err, run.err


def test_several_problems_are_listed_at_once(
    cli: Callable[..., Run], dist_file: Callable[[str], Path]
) -> None:
    text = _doc(
        _entry(
            "bad_path", "categories.farmer.insured_share", "{family: beta, mean: 0.2, sd: 0.05}"
        ),
        _entry("bad_sd", "admission_rate", "{family: gamma, mean: 0.08, sd: -0.01}"),
        _entry(
            "bad_share",
            "categories.dependants.insured_share",
            "{family: normal, mean: 0.2, sd: 0.1}",
        ),
        correlations="""
        - entries: [admissions, copayment]
          matrix: [[1.0, 0.5], [0.4, 1.0]]
        """,
    )
    path = dist_file(text)
    run = cli("simulate", SC, path, "-n", "10")
    assert run.code == EXIT_INPUT
    assert "4 problems in this distributions file" in run.err
    for where in (
        "inputs.bad_path.target",
        "inputs.bad_sd.distribution",
        "inputs.bad_share",
        "correlations[0].matrix",
    ):
        assert f"  - {where}" in run.err, where
    assert run.err.count("\n  - ") == 4


def test_missing_distributions_file(cli: Callable[..., Run], tmp_path: Path) -> None:
    run = cli("simulate", SC, tmp_path / "nowhere.yaml", "-n", "10")
    assert run.code == EXIT_INPUT
    assert "Traceback" not in run.err
    assert "nowhere.yaml" in run.err


# --- clipping --------------------------------------------------------------------------

CLIPPED = _entry(
    "x",
    "categories.farmers.insured_share",
    "{family: normal, mean: 0.5, sd: 0.6}",
    "apply: replace\nclip: true",
)


def test_clip_makes_the_entry_valid_and_keeps_shares_in_0_1(
    cli: Callable[..., Run], dist_file: Callable[[str], Path]
) -> None:
    path = dist_file(_doc(CLIPPED))
    run = cli("simulate", SC, path, "-n", "10", "--no-progress")
    assert run.code == 0, run.err

    cube = simulate(
        SC, path, 2_000, seed=4, keep=["members", "population", "balance"], progress=False
    )
    x = cube["input_x"].values
    # the drawn values themselves are kept unclipped: many fall outside [0, 1]
    assert (x < 0).sum() > 100
    assert (x > 1).sum() > 100
    members = cube.members.sel(category="farmers")
    population = cube.population.sel(category="farmers")
    assert bool((members >= 0).all())
    assert bool((members <= population * (1 + 1e-12)).all())
    share = (members / population).values
    expected = np.clip(x, 0.0, 1.0)[:, None]
    np.testing.assert_allclose(
        share, np.broadcast_to(expected, share.shape), rtol=1e-12, atol=1e-15
    )


POSITIVE_INPUT_BUG = (
    "space._check_support treats the support (0, inf) of lognormal and gamma as reaching 0, "
    "so a lognormal or gamma on an input that must be above 0 (insured_utilisation_loading, "
    "economy.exchange_rate.rate) is refused unless clipped"
)


@pytest.mark.parametrize(
    "family", ["{family: lognormal, mean: 1.1, sd: 0.1}", "{family: gamma, mean: 1.1, sd: 0.1}"]
)
def test_a_positive_family_on_a_positive_input_is_valid(
    cli: Callable[..., Run], dist_file: Callable[[str], Path], family: str
) -> None:
    path = dist_file(_doc(_entry("loading", "insured_utilisation_loading", family)))
    run = cli("simulate", SC, path, "-n", "10", "--no-progress")
    assert run.code == 0, run.err


# --- the command end to end ------------------------------------------------------------


def test_simulate_end_to_end(cli: Callable[..., Run], tmp_path: Path) -> None:
    target = tmp_path / "cube.nc"
    run = cli("simulate", SC, SC, "-n", "2000", "--seed", "1", "-o", target, "--no-progress")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    header = next(i for i, line in enumerate(lines) if "P(deficit)" in line)
    assert "median" in lines[header]
    rows = [line.split() for line in lines[header + 1 : header + 6]]
    assert [int(r[0]) for r in rows] == [1993, 1994, 1995, 1996, 1997]
    for r in rows:
        assert r[-1].endswith("%")
        assert 0.0 <= float(r[-1].rstrip("%")) <= 100.0
    assert "2,000 projections" in run.out
    cube = open_dataset(target)
    assert cube.sizes["draw"] == 2_000
    assert cube.attrs["seed"] == 1
    assert "balance" in cube
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.nc"]


def test_unknown_keep_name(cli: Callable[..., Run], tmp_path: Path) -> None:
    target = tmp_path / "cube.nc"
    run = cli("simulate", SC, SC, "-n", "10", "--keep", "balanse", "-o", target)
    assert run.code == EXIT_INPUT
    assert "Traceback" not in run.err
    assert "balanse" in run.err
    assert "did you mean 'balance'" in run.err
    assert not target.exists()


def test_keep_adds_the_balance(cli: Callable[..., Run], tmp_path: Path) -> None:
    target = tmp_path / "cube.nc"
    run = cli("simulate", SC, SC, "-n", "50", "--keep", "members", "-o", target, "--no-progress")
    assert run.code == 0, run.err
    cube = open_dataset(target)
    assert {"members", "balance"} <= set(cube.data_vars)
    assert "premium" not in cube


@pytest.fixture
def interrupt_second_chunk(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the kernel raise KeyboardInterrupt on its second chunk."""
    calls: list[int] = []
    real = montecarlo.run_kernel

    def run_kernel(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(montecarlo, "run_kernel", run_kernel)
    return calls


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_interrupted_run_writes_nothing(
    cli: Callable[..., Run], tmp_path: Path, interrupt_second_chunk: list[int], suffix: str
) -> None:
    target = tmp_path / f"cube{suffix}"
    run = cli("simulate", SC, SC, "-n", "500", "--chunk-size", "100", "-o", target, "--no-progress")
    assert run.code == 130
    assert len(interrupt_second_chunk) == 2
    assert "interrupted" in run.err
    assert "Traceback" not in run.err
    assert list(tmp_path.iterdir()) == []


def _older_result(target: Path) -> bytes:
    """Write a small schemerisk result at ``target`` (as an earlier run would) and return its bytes."""
    import xarray as xr

    from schemerisk.io import write_dataset

    write_dataset(xr.Dataset({"balance": ("year", [1.0, -2.0])}), target)
    return target.read_bytes()


def test_interrupted_run_leaves_an_older_file_untouched(
    cli: Callable[..., Run], tmp_path: Path, interrupt_second_chunk: list[int]
) -> None:
    target = tmp_path / "cube.nc"
    older = _older_result(target)  # a schemerisk result: --overwrite may replace it
    before = target.stat()
    run = cli(
        "simulate",
        SC,
        SC,
        "-n",
        "500",
        "--chunk-size",
        "100",
        "-o",
        target,
        "--overwrite",
        "--no-progress",
    )
    assert run.code == 130
    assert target.read_bytes() == older
    assert target.stat().st_mtime_ns == before.st_mtime_ns
    assert [p.name for p in tmp_path.iterdir()] == ["cube.nc"]


def test_interrupt_while_writing_leaves_no_partial_file(
    cli: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xarray as xr

    def to_netcdf(self, path, *args, **kwargs):  # type: ignore[no-untyped-def]
        Path(path).write_bytes(b"half a file")
        raise KeyboardInterrupt

    target = tmp_path / "cube.nc"
    older = _older_result(target)  # a schemerisk result: --overwrite may replace it
    monkeypatch.setattr(xr.Dataset, "to_netcdf", to_netcdf)
    run = cli("simulate", SC, SC, "-n", "50", "-o", target, "--overwrite", "--no-progress")
    assert run.code == 130
    assert target.read_bytes() == older
    assert [p.name for p in tmp_path.iterdir()] == ["cube.nc"]
