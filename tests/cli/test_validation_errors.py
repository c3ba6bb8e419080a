"""Every validation error, seen as a user sees it: through the ``schemerisk`` command.

Each bad scenario is the built-in Hai Phong 1993-1997 scenario (Annex II) with one
thing broken. The command must exit with code 2 and print one message that names
the file, the key path and what was expected (with the nearest valid name for a
misspelt one, and the line where the key is) and never a Python traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from schemerisk.cli import EXIT_INPUT

Doc = dict[str, Any]


def _rename(doc: Doc, where: tuple[str, ...], old: str, new: str) -> None:
    node = doc
    for k in where:
        node = node[k]
    node[new] = node.pop(old)


def _set(doc: Doc, where: tuple[str, ...], value: Any) -> None:
    node = doc
    for k in where[:-1]:
        node = node[k]
    node[where[-1]] = value


@dataclass(frozen=True)
class Case:
    """One broken scenario and what the message about it must say."""

    id: str
    edit: Callable[[Doc], None]
    path: str  # the key path the message must name
    expected: tuple[str, ...]  # phrases saying what was wrong and what was expected
    line_needle: str | None = None  # text on the line the message must point at
    line_after: str | None = None  # look for line_needle only after this text
    n_problems: int | None = 1  # None: not checked (legitimate follow-on problems)


CASES = [
    # --- unknown keys, with the nearest valid name --------------------------------------
    Case(
        "unknown-key-insured_shares",
        lambda d: _rename(d, ("categories", "farmers"), "insured_share", "insured_shares"),
        "categories.farmers.insured_shares",
        ("unknown key 'insured_shares'", "did you mean 'insured_share'?", "valid keys here:"),
        line_needle="insured_shares:",
    ),
    Case(
        "unknown-top-level-key-demograhpy",
        lambda d: _rename(d, (), "demography", "demograhpy"),
        "demograhpy",
        ("unknown key 'demograhpy'", "did you mean 'demography'?"),
        line_needle="demograhpy:",
        n_problems=None,  # the real 'demography' is then missing too
    ),
    Case(
        "unknown-category-in-relative_use",
        lambda d: _set(
            d, ("services", "consultation_city", "volume", "relative_use"), {"farmer": 1.2}
        ),
        "services.consultation_city.volume.relative_use.farmer",
        ("unknown key 'farmer'", "did you mean 'farmers'?"),
        line_needle="farmer:",
    ),
    # --- adult shares must sum to 1 every year (tolerance 1e-9) ----------------------
    Case(
        "adult-shares-off-by-1e-6-in-1997",
        # exact in 1993-1996, 1e-6 too much in the last year only: every year is checked
        lambda d: _set(
            d,
            ("categories", "farmers", "adult_share"),
            ["755/915"] * 4 + [755 / 915 + 1e-6],
        ),
        "categories.*.adult_share",
        ("adult shares must sum to 1 in every year", "tolerance 1e-09", "in 1997", "1.000001"),
    ),
    # --- shares and rates must lie in [0, 1] -----------------------------------------
    Case(
        "insured_share-1.2",
        lambda d: _set(d, ("categories", "farmers", "insured_share"), 1.2),
        "categories.farmers.insured_share",
        ("1.2 is out of range", "expected a share between 0 and 1"),
        line_needle="insured_share: 1.2",
    ),
    Case(
        "contribution_rate-negative",
        lambda d: _set(d, ("categories", "industrial", "contribution_rate"), -0.1),
        "categories.industrial.contribution_rate",
        ("-0.1 is out of range", "expected a share of income between 0 and 1"),
        line_needle="contribution_rate: -0.1",
    ),
    Case(
        "copayment_rate-2",
        lambda d: _set(d, ("services", "consultation_city", "copayment_rate"), 2),
        "services.consultation_city.copayment_rate",
        ("2 is out of range", "expected a share between 0 and 1"),
        line_needle="copayment_rate: 2",
    ),
    # --- populations, incomes, costs and volumes cannot be negative ------------------
    Case(
        "population-negative",
        lambda d: _set(d, ("demography", "population"), -1500000),
        "demography.population",
        ("-1500000 is out of range", "expected a base-year population of 0 or more persons"),
        line_needle="population: -1500000",
    ),
    Case(
        "income-negative",
        lambda d: _set(d, ("categories", "government_admin", "income"), -800000),
        "categories.government_admin.income",
        ("-800000 is out of range", "expected an average annual income of 0 or more"),
        line_needle="income: -800000",
    ),
    Case(
        "patient_cost-negative",
        lambda d: _set(d, ("services", "inpatient_day_city", "patient_cost"), -20000),
        "services.inpatient_day_city.patient_cost",
        ("-20000 is out of range", "expected a cost of 0 or more per service"),
        line_needle="patient_cost: -20000",
    ),
    Case(
        "rate_per_person-negative",
        lambda d: _set(d, ("services", "consultation_city", "volume", "rate_per_person"), -0.15),
        "services.consultation_city.volume.rate_per_person",
        ("-0.15 is out of range", "expected services per person per year, 0 or more"),
        line_needle="rate_per_person: -0.15",
    ),
    # --- a yearly path must have one value per year (horizon 4: 1993-1997) -----------
    Case(
        "path-of-3-values-for-5-years",
        lambda d: _set(d, ("categories", "dependants", "flat_premium"), [5000, 7500, 10000]),
        "categories.dependants.flat_premium",
        ("must have 5 entries", "one for each year 1993-1997", "got 3"),
        # the dependants come first in the file, so this is their flat_premium
        line_needle="flat_premium:",
    ),
    # --- a target's arrival year must come after its starting year -------------------
    Case(
        "arrival-not-after-start",
        lambda d: _set(
            d,
            ("services", "consultation_city", "patient_cost_target"),
            {"target": 9000, "delay": 2, "arrival": 1995},
        ),
        "services.consultation_city.patient_cost_target.arrival",
        (
            "arrival year 1995 must be after the starting year 1995",
            "base year 1993 + 2 years of delay",
        ),
        line_needle="arrival: 1995",
    ),
    # --- references to services and categories that do not exist ---------------------
    Case(
        "unknown-service-in-rate-target",
        lambda d: _set(
            d,
            ("service_rate_targets",),
            [
                {
                    "service": "consultation_comune",
                    "categories": ["farmers"],
                    "target": 0.3,
                    "arrival": 1996,
                }
            ],
        ),
        "service_rate_targets[0].service",
        ("unknown service 'consultation_comune'", "did you mean 'consultation_commune'"),
        line_needle="service: consultation_comune",
    ),
    Case(
        "unknown-category-in-rate-target",
        lambda d: _set(
            d,
            ("service_rate_targets",),
            [
                {
                    "service": "consultation_commune",
                    "categories": ["farmer"],
                    "target": 0.3,
                    "arrival": 1996,
                }
            ],
        ),
        "service_rate_targets[0].categories",
        ("unknown category 'farmer'", "did you mean 'farmers'?"),
        line_needle="categories:",  # the rate target's own key, not the top-level one
        line_after="service_rate_targets:",
    ),
    # --- the two categories the model cannot do without ------------------------------
    Case(
        "missing-dependants",
        lambda d: d["categories"].pop("dependants"),
        "categories.dependants",
        ("the model needs a 'dependants' category", "it is missing"),
    ),
    Case(
        "missing-farmers",
        lambda d: d["categories"].pop("farmers"),
        "categories.farmers",
        ("the model needs a 'farmers' category", "it is missing"),
        n_problems=None,  # the remaining adult shares no longer sum to 1 either
    ),
]


def _expected_line(case: Case, text: str, line_of: Callable[..., int]) -> int | None:
    if case.line_needle is None:
        return None
    start = 1 if case.line_after is None else line_of(text, case.line_after)
    return line_of(text, case.line_needle, start)


def _check_message(err: str, source: Path, case: Case, line: int | None) -> None:
    assert "Traceback" not in err
    first = err.splitlines()[0]
    assert first.startswith(f"error: {source}: "), first
    assert "problem" in first and "in this scenario file" in first
    if case.n_problems is not None:
        assert f"{case.n_problems} problem{'s' if case.n_problems != 1 else ''} " in first
    # the problem's own line names the key path (and the line of the key in the file)
    ours = [
        ln for ln in err.splitlines() if ln.startswith((f"  - {case.path} ", f"  - {case.path}:"))
    ]
    assert ours, f"no problem reported at {case.path!r} in:\n{err}"
    problem = ours[0]
    if line is not None:
        assert problem.startswith(f"  - {case.path} (line {line}): "), problem
    for phrase in case.expected:
        assert phrase in problem, f"{phrase!r} not in {problem!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_validate_reports_the_problem(
    case: Case,
    base_doc: Doc,
    write_doc: Callable[..., Path],
    cli: Callable[..., Any],
    line_of: Callable[..., int],
) -> None:
    case.edit(base_doc)
    path = write_doc(base_doc, case.id)
    line = _expected_line(case, path.read_text(encoding="utf-8"), line_of)

    run = cli("validate", path)

    assert run.code == EXIT_INPUT == 2
    assert run.out == ""  # nothing claims the file is valid
    _check_message(run.err, path, case, line)


@pytest.mark.parametrize(
    "case_id", ["insured_share-1.2", "path-of-3-values-for-5-years", "unknown-key-insured_shares"]
)
@pytest.mark.parametrize("command", ["project", "solve"])
def test_other_commands_validate_first(
    case_id: str,
    command: str,
    base_doc: Doc,
    write_doc: Callable[..., Path],
    cli: Callable[..., Any],
    line_of: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``project`` and ``solve`` give the same message, before running the model."""
    import schemerisk.analysis.solver
    import schemerisk.model

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model ran on an invalid scenario")

    monkeypatch.setattr(schemerisk.model, "project", no_model)
    monkeypatch.setattr(schemerisk.analysis.solver, "solve_equilibrium", no_model)
    case = next(c for c in CASES if c.id == case_id)
    case.edit(base_doc)
    path = write_doc(base_doc, case.id)
    line = _expected_line(case, path.read_text(encoding="utf-8"), line_of)

    run = cli(command, path)

    assert run.code == 2
    assert run.out == ""
    _check_message(run.err, path, case, line)


@pytest.mark.parametrize(
    "shares",
    [
        pytest.param(["755/915", "67.5/915", "70/915", "22.5/915"], id="exact-fractions"),
        # rounded to 10 decimals: the sum is 0.9999999999, within the tolerance of 1e-9
        pytest.param([0.8251366120, 0.0737704918, 0.0765027322, 0.0245901639], id="rounded-1e-10"),
    ],
)
def test_adult_shares_within_tolerance_pass(
    shares: list[Any],
    base_doc: Doc,
    write_doc: Callable[..., Path],
    cli: Callable[..., Any],
) -> None:
    adults = ("farmers", "government_admin", "industrial", "retired_government")
    for name, share in zip(adults, shares, strict=True):
        base_doc["categories"][name]["adult_share"] = share
    path = write_doc(base_doc)

    run = cli("validate", path)

    assert run.code == 0, run.err
    assert "valid scenario 'hai_phong_1993_1997'" in run.out


def test_arrival_after_start_passes(
    base_doc: Doc, write_doc: Callable[..., Path], cli: Callable[..., Any]
) -> None:
    """The boundary of the arrival check: start 1995, arrival 1996 is fine (Annex I.1)."""
    base_doc["services"]["consultation_city"]["patient_cost_target"] = {
        "target": 9000,
        "delay": 2,
        "arrival": 1996,
    }
    run = cli("validate", write_doc(base_doc))
    assert run.code == 0, run.err


# --- YAML syntax errors: the message gives the line --------------------------------------


def test_yaml_bad_indentation_names_its_line(
    base_text: str, write_doc: Callable[..., Path], cli: Callable[..., Any], line_of: Callable
) -> None:
    good = "  growth_rate: 0.022"
    assert good in base_text
    text = base_text.replace(good, " " + good, 1)  # one space too many
    line = line_of(text, "   growth_rate: 0.022")
    path = write_doc(text, "bad_indent")

    run = cli("validate", path)

    assert run.code == 2
    assert run.out == ""
    assert f"error: {path}: 1 problem in this scenario file" in run.err
    assert f"(line {line}): YAML syntax error" in run.err
    assert "Traceback" not in run.err


def test_yaml_tab_names_its_line_console(
    base_text: str, write_doc: Callable[..., Path], console: Callable[..., Any], line_of: Callable
) -> None:
    """A tab for indentation, through the real console script: no traceback."""
    text = base_text.replace("currency: VND\n", "currency: VND\n\tbroken: 1\n", 1)
    line = line_of(text, "\tbroken: 1")
    assert line == line_of(base_text, "currency: VND") + 1
    path = write_doc(text, "tab")

    run = console("validate", path)

    assert run.code == 2
    assert "Traceback" not in run.text
    assert run.out == ""
    assert f"error: {path}: 1 problem in this scenario file" in run.err
    assert f"(line {line}): YAML syntax error" in run.err
    assert "'\\t'" in run.err  # says what it found


# --- every problem at once -------------------------------------------------------------


def test_validate_lists_every_problem(
    base_doc: Doc, write_doc: Callable[..., Path], cli: Callable[..., Any]
) -> None:
    base_doc["categories"]["farmers"]["insured_share"] = 1.2
    base_doc["services"]["consultation_city"]["copayment_rate"] = 2
    base_doc["demography"]["population"] = -1
    path = write_doc(base_doc, "three")

    run = cli("validate", path)

    assert run.code == 2
    lines = run.err.splitlines()
    assert lines[0] == f"error: {path}: 3 problems in this scenario file"
    listed = [ln for ln in lines[1:] if ln.startswith("  - ")]
    assert len(listed) == 3
    for key in (
        "demography.population",
        "categories.farmers.insured_share",
        "services.consultation_city.copayment_rate",
    ):
        assert sum(ln.startswith(f"  - {key} (line ") for ln in listed) == 1, key


def test_every_problem_through_console(
    base_doc: Doc, write_doc: Callable[..., Path], console: Callable[..., Any]
) -> None:
    """The installed command, in a fresh interpreter: exit 2, all problems, no traceback."""
    base_doc["categories"]["industrial"]["contribution_rate"] = -0.1
    _rename(base_doc, ("categories", "farmers"), "insured_share", "insured_shares")
    path = write_doc(base_doc, "two")

    run = console("validate", path)

    assert run.code == 2
    assert "Traceback" not in run.text
    assert f"error: {path}: 2 problems in this scenario file" in run.err
    assert "categories.industrial.contribution_rate" in run.err
    assert "did you mean 'insured_share'?" in run.err


# --- files that do not exist, built-in names ------------------------------------------


def test_misspelt_builtin_name(cli: Callable[..., Any]) -> None:
    run = cli("validate", "hai_phong_1993_197")

    assert run.code == 2
    assert run.out == ""
    assert run.err.startswith("error: hai_phong_1993_197: no such file")
    assert "did you mean 'hai_phong_1993_1997'" in run.err
    from schemerisk.scenario import builtin_names

    listed = ", ".join(builtin_names("scenarios"))
    assert "hai_phong_1993, hai_phong_1993_1997" in listed
    assert f"(built-in: {listed})" in run.err


def test_missing_file_console(tmp_path: Path, console: Callable[..., Any]) -> None:
    missing = tmp_path / "no_such_scenario.yaml"

    run = console("project", missing)

    assert run.code == 2
    assert "Traceback" not in run.text
    assert f"error: {missing}: no such file" in run.err
    assert "built-in: hai_phong_1993, hai_phong_1993_1997" in run.err


def test_bad_option_value(cli: Callable[..., Any]) -> None:
    """argparse's own errors also exit 2 and name the option and the valid choices."""
    run = cli("solve", "hai_phong_1993_1997", "--adjust", "flat")

    assert run.code == 2
    assert run.out == ""
    assert "argument --adjust: invalid choice: 'flat'" in run.err
    assert "flat-premiums" in run.err
    assert "Traceback" not in run.err


# --- output formats are checked before any work ---------------------------------------


@pytest.mark.parametrize("command", ["project", "solve"])
def test_unknown_output_extension(
    command: str, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import schemerisk.analysis.solver
    import schemerisk.model

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model ran although the output could not be written")

    monkeypatch.setattr(schemerisk.model, "project", no_model)
    monkeypatch.setattr(schemerisk.analysis.solver, "solve_equilibrium", no_model)
    out = tmp_path / "out.ods"

    run = cli(command, "hai_phong_1993_1997", "-o", out)

    assert run.code == 2
    assert run.out == ""  # no table was printed
    assert run.err.startswith(f"error: {out}: unknown output format '.ods'")
    assert "use one of .nc, .zarr, .csv" in run.err
    assert list(tmp_path.iterdir()) == []


# --- built-in names work from anywhere --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "years"), [("hai_phong_1993_1997", "1993-1997"), ("hai_phong_1993", "1993-1993")]
)
def test_builtin_from_another_directory(
    name: str,
    years: str,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)

    run = cli("validate", name)

    assert run.code == 0, run.err
    assert f"valid scenario '{name}': {years}, 5 categories, 5 services" in run.out
    source = Path(run.out.split(": valid scenario")[0])
    assert source.is_absolute()  # found among the built-ins, not in the working directory
    assert source.name == f"{name}.yaml"
    assert source.is_file()


# --- bugs found while writing these tests (see the report) ----------------------------


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("population: 1500000", "population: .nan", "demography.population"),
        ("adult_share: 70/915", "adult_share: .nan", "categories.industrial.adult_share"),
        ("dependant_share: 0.39", "dependant_share: .nan", "demography.dependant_share"),
    ],
    ids=["population", "adult_share", "dependant_share"],
)
def test_nan_is_rejected(
    old: str,
    new: str,
    key: str,
    base_text: str,
    write_doc: Callable[..., Path],
    cli: Callable[..., Any],
) -> None:
    assert old in base_text
    path = write_doc(base_text.replace(old, new, 1), "nan")

    run = cli("validate", path)

    assert run.code == 2
    assert key in run.err


def test_duplicate_key_is_rejected(
    base_text: str, write_doc: Callable[..., Path], cli: Callable[..., Any], line_of: Callable
) -> None:
    text = base_text.replace("  population: 1500000", "  population: -3\n  population: 1500000", 1)
    second = line_of(text, "  population: 1500000")
    path = write_doc(text, "duplicate")

    run = cli("validate", path)

    assert run.code == 2
    assert f"error: {path}: 1 problem" in run.err
    assert f"(line {second})" in run.err
    assert "duplicate key 'population'" in run.err


def test_file_not_utf8(base_text: str, tmp_path: Path, cli: Callable[..., Any]) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(base_text.replace("title: ", "title: caf\xe9 ", 1).encode("latin-1"))

    run = cli("validate", path)

    assert run.code == 2
    assert str(path) in run.err
    assert "UTF-8" in run.err


def test_negative_horizon_option(cli: Callable[..., Any]) -> None:
    run = cli("project", "hai_phong_1993_1997", "--horizon", "-1")

    assert run.code == 2
    assert "--horizon" in run.err


@pytest.mark.parametrize(
    ("edit", "n_problems", "follow_on"),
    [
        # the unknown key and the missing section: 2, not 3
        (lambda d: _rename(d, (), "demography", "demograhpy"), 2, "demography.population"),
        # just the missing section: 1, not 3
        (lambda d: d.pop("economy"), 1, "economy.exchange_rate"),
    ],
    ids=["demograhpy", "no-economy"],
)
def test_missing_section_is_reported_once(
    edit: Callable[[Doc], None],
    n_problems: int,
    follow_on: str,
    base_doc: Doc,
    write_doc: Callable[..., Path],
    cli: Callable[..., Any],
) -> None:
    edit(base_doc)
    path = write_doc(base_doc)

    run = cli("validate", path)

    assert run.code == 2
    assert f"{n_problems} problem" in run.err.splitlines()[0]
    assert follow_on not in run.err
