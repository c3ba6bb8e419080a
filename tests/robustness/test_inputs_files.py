"""Bad scenario and distributions files, each refused with one clear message before any work.

Every case is the built-in Hai Phong 1993-1997 scenario or distributions file with one thing
broken (issue 12, findings 4-6). ``schemerisk simulate SCENARIO DISTRIBUTIONS -o out.nc`` must
exit with code 2 and print a message that names the file, the key (or line) and what was
expected; it must print no traceback, write nothing, and leave the user's other files alone.
The cases that used to exhaust the machine (an alias bomb, a fraction with a ten-million-digit
exponent) must also be refused quickly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from schemerisk.scenario.parse import MAX_DEPTH, MAX_FILE_BYTES
from tests.robustness.inputs_support import (
    BUILTIN,
    DISTRIBUTIONS_TEXT,
    SCENARIO_TEXT,
    UNRELATED,
    assert_clear_error,
    distributions_doc,
    dump,
    run_cli,
    run_console,
    scenario_doc,
    snapshot,
)

#: A refusal that takes longer than this has not been checked before the work. The cases it
#: guards took 50-97 s of CPU before the limits; refusing them takes well under a second, so
#: the bound holds with room on a loaded machine.
QUICK_SECONDS = 20.0


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _scenario_with(key_path: tuple[str, ...], value: object) -> str:
    doc = scenario_doc()
    node = doc
    for k in key_path[:-1]:
        node = node[k]
    node[key_path[-1]] = value
    return dump(doc)


def _alias_bomb() -> str:
    """Nine levels of nine-fold aliases: 9^9 (387 million) strings from about 500 bytes."""
    rows = ["  - &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    rows += [f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "notes:\n" + "\n".join(rows) + "\n"


def _first_service() -> str:
    return next(iter(scenario_doc()["services"]))


@dataclass(frozen=True)
class Case:
    """One broken file and what the message about it must say."""

    id: str
    kind: str  # "scenario" or "distributions": which file is broken
    content: Callable[[], str | bytes]  # the broken file
    expected: tuple[str, ...]  # the key (or line) and what was expected
    quick: bool = False  # must be refused within QUICK_SECONDS of CPU


CASES = [
    # --- limits on resources (finding 5) ---------------------------------------------------
    Case(
        "scenario-nested-5000-deep",
        "scenario",
        lambda: SCENARIO_TEXT + "\nnotes: " + "[" * 5000 + "]" * 5000 + "\n",
        (f"nested more than {MAX_DEPTH} levels deep", "(line "),
        quick=True,
    ),
    Case(
        "scenario-alias-bomb-in-notes",
        "scenario",
        lambda: SCENARIO_TEXT + "\n" + _alias_bomb(),
        ("with its aliases (*name) expanded", "more than 1,000,000 values", "(line "),
        quick=True,
    ),
    Case(
        "scenario-alias-to-itself",
        "scenario",
        lambda: SCENARIO_TEXT + "\nnotes: &loop [*loop]\n",
        ("refers to a value that contains it",),
    ),
    Case(
        "scenario-larger-than-the-limit",
        "scenario",
        lambda: SCENARIO_TEXT + "#" * (MAX_FILE_BYTES + 1) + "\n",
        ("the file is 10.0 MB; a scenario file may be at most 10 MB",),
        quick=True,
    ),
    Case(
        "scenario-horizon-1e20",
        "scenario",
        lambda: _replace(SCENARIO_TEXT, "horizon: 4 ", "horizon: 99999999999999999999 "),
        ("horizon (line 12)", "expected a number of years after the base year from 0 to 200"),
        quick=True,
    ),
    Case(
        "scenario-horizon-201",
        "scenario",
        lambda: _replace(SCENARIO_TEXT, "horizon: 4 ", "horizon: 201 "),
        ("horizon (line 12): 201 is out of range", "from 0 to 200"),
    ),
    Case(
        "scenario-fraction-1e9999999",
        "scenario",
        lambda: _replace(
            SCENARIO_TEXT, "admission_rate: 0.08", "admission_rate: 1e9999999/1e9999999"
        ),
        ("admission_rate (line 28)", "a fraction such as 1/3 has two numbers of at most 40 digits"),
        quick=True,
    ),
    # --- tracebacks before (finding 4) -------------------------------------------------------
    Case(
        "scenario-fraction-1e400",
        "scenario",
        lambda: _replace(SCENARIO_TEXT, "admission_rate: 0.08", "admission_rate: 1e400/1"),
        ("admission_rate (line 28): 1e400/1 is not a finite number", "admissions per person"),
    ),
    Case(
        "scenario-list-as-a-key",
        "scenario",
        lambda: SCENARIO_TEXT + "\n? [a, b]\n: 1\n",
        ("a key must be a name, not a list", "(line "),
    ),
    Case(
        "scenario-integer-of-5000-digits",
        "scenario",
        lambda: _replace(SCENARIO_TEXT, "admission_rate: 0.08", "admission_rate: " + "9" * 5000),
        ("(line 28): this value cannot be read: it has too many digits",),
    ),
    Case(
        "scenario-integer-of-400-digits",
        "scenario",
        lambda: _replace(SCENARIO_TEXT, "population: 1500000", "population: " + "9" * 400),
        ("demography.population (line 15)", "is not a finite number", "population of 0 or more"),
    ),
    Case(
        "scenario-impossible-date",
        "scenario",
        lambda: _replace(SCENARIO_TEXT, "currency: VND", "currency: 2001-13-45"),
        ("(line 10): this value cannot be read",),
    ),
    Case(
        "scenario-not-utf8",
        "scenario",
        lambda: SCENARIO_TEXT.encode("utf-8") + b"\n# caf\xe9\n",
        ("the file is not UTF-8 text: byte 0xe9 cannot be read; save it as UTF-8",),
    ),
    Case(
        "scenario-base-year-99999",
        "scenario",
        lambda: _replace(SCENARIO_TEXT, "base_year: 1993", "base_year: 99999"),
        ("base_year (line 11): 99999 is out of range", "from 1900 to 2200"),
    ),
    Case(
        "scenario-arrival-year-1e30",
        "scenario",
        lambda: _scenario_with(
            ("economy", "domestic_inflation"), {"base": 0.15, "target": 0.1, "arrival": 10**30}
        ),
        ("economy.domestic_inflation.arrival", "expected an arrival year from 1900 to"),
    ),
    # --- silently accepted before (finding 6) ------------------------------------------------
    Case(
        "scenario-title-a-mapping",
        "scenario",
        lambda: _scenario_with(("title",), {"a": 1}),
        ("title (line", "expected text, got a mapping"),
    ),
    Case(
        "scenario-currency-a-list",
        "scenario",
        lambda: _scenario_with(("currency",), ["VND"]),
        ("currency (line", "expected text, got a list"),
    ),
    Case(
        "scenario-name-true",
        "scenario",
        lambda: _scenario_with(("name",), True),
        ("name (line", "expected text, got True"),
    ),
    Case(
        "scenario-category-label-a-list",
        "scenario",
        lambda: _scenario_with(("categories", "farmers", "label"), ["a", "b"]),
        ("categories.farmers.label (line", "expected text, got a list"),
    ),
    Case(
        "scenario-service-label-a-mapping",
        "scenario",
        lambda: _scenario_with(("services", _first_service(), "label"), {"x": 1}),
        (f"services.{_first_service()}.label (line", "expected text, got a mapping"),
    ),
    Case(
        "scenario-notes-a-mapping",
        "scenario",
        lambda: _scenario_with(("notes",), [{"a": 1}]),
        ("notes[0]", "expected text, got a mapping"),
    ),
    Case(
        "scenario-inflation-15",
        "scenario",
        lambda: _replace(SCENARIO_TEXT, "domestic_inflation: 0.15", "domestic_inflation: 15"),
        ("economy.domestic_inflation (line 20): 15 is 1,500 %/yr; did you mean 0.15?",),
    ),
    Case(
        "scenario-growth-rate-2.2",
        "scenario",
        lambda: _replace(SCENARIO_TEXT, "growth_rate: 0.022", "growth_rate: 2.2"),
        ("demography.growth_rate (line 16): 2.2 is 220 %/yr; did you mean 0.022?",),
    ),
    Case(
        "scenario-admission-rate-8",
        "scenario",
        lambda: _replace(SCENARIO_TEXT, "admission_rate: 0.08", "admission_rate: 8"),
        ("admission_rate (line 28): 8 is 800 % of the population a year; did you mean 0.08?",),
    ),
    Case(
        "scenario-share-15",
        "scenario",
        lambda: _scenario_with(("categories", "industrial", "contribution_rate"), 3),
        (
            "categories.industrial.contribution_rate (line",
            "3 is out of range: expected a share of income between 0 and 1",
            "3 would be 300 %: did you mean 0.03?",
        ),
    ),
    # --- distributions files -----------------------------------------------------------------
    Case(
        "distributions-not-utf8",
        "distributions",
        lambda: DISTRIBUTIONS_TEXT.encode("utf-8") + b"\n# caf\xe9\n",
        ("the file is not UTF-8 text: byte 0xe9 cannot be read; save it as UTF-8",),
    ),
    Case(
        "distributions-correlated-entry-a-list",
        "distributions",
        lambda: _replace(
            DISTRIBUTIONS_TEXT,
            "entries: [domestic_inflation, wage_growth]",
            "entries: [[domestic_inflation], wage_growth]",
        ),
        ("correlations[0].entries (line", "expected entry names, got a list", "entries: "),
    ),
    Case(
        "distributions-correlated-entry-a-mapping",
        "distributions",
        lambda: _replace(
            DISTRIBUTIONS_TEXT,
            "entries: [domestic_inflation, wage_growth]",
            "entries: [{domestic_inflation: 1}, wage_growth]",
        ),
        ("correlations[0].entries (line", "expected entry names, got a mapping"),
    ),
    Case(
        "distributions-correlations-a-text",
        "distributions",
        lambda: dump({**distributions_doc(), "correlations": "inflation with wages"}),
        ("correlations (line", "expected a list of blocks, each with 'entries' and 'matrix'"),
    ),
    Case(
        "distributions-correlation-a-word",
        "distributions",
        lambda: _replace(DISTRIBUTIONS_TEXT, "- [1.0, 0.8]", "- [1.0, strong]"),
        ("correlations[0].matrix[0][1]", "expected a correlation, got 'strong'"),
    ),
    Case(
        "distributions-title-a-mapping",
        "distributions",
        lambda: dump({**distributions_doc(), "title": {"a": 1}}),
        ("title (line", "expected text, got a mapping"),
    ),
    Case(
        "distributions-nested-5000-deep",
        "distributions",
        lambda: DISTRIBUTIONS_TEXT + "\nnotes: " + "{a: " * 5000 + "}" * 5000 + "\n",
        (f"nested more than {MAX_DEPTH} levels deep",),
        quick=True,
    ),
    Case(
        "distributions-alias-bomb",
        "distributions",
        lambda: DISTRIBUTIONS_TEXT + "\n" + _alias_bomb(),
        ("with its aliases (*name) expanded",),
        quick=True,
    ),
    Case(
        "distributions-list-as-a-key",
        "distributions",
        lambda: _replace(DISTRIBUTIONS_TEXT, "inputs:\n", "inputs:\n  ? [x, y]\n  : 1\n"),
        ("a key must be a name, not a list",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_file_is_refused_with_one_clear_message(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(UNRELATED[0]).write_bytes(UNRELATED[1])
    broken = tmp_path / f"{case.kind}.yaml"
    content = case.content()
    if isinstance(content, str):
        broken.write_text(content, encoding="utf-8")
    else:
        broken.write_bytes(content)
    scenario = broken if case.kind == "scenario" else BUILTIN
    distributions = broken if case.kind == "distributions" else BUILTIN
    before = snapshot(tmp_path)

    start = time.process_time()
    run = run_cli(capsys, "simulate", scenario, distributions, "-n", "10", "-o", "out.nc")
    cpu = time.process_time() - start

    assert_clear_error(run, f"{broken}: ", f"in this {case.kind} file", *case.expected)
    assert snapshot(tmp_path) == before  # nothing written, the user's file untouched
    if case.quick:
        assert cpu < QUICK_SECONDS


def test_a_directory_given_as_the_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "scenario.yaml"
    folder.mkdir()
    run = run_cli(capsys, "validate", folder)
    assert_clear_error(run, f"{folder}: this is a directory, not a scenario file")


def test_both_kinds_of_file_say_the_same_about_bytes_that_are_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"title: caf\xe9\n")
    as_scenario = run_cli(capsys, "validate", bad).err
    as_distributions = run_cli(capsys, "simulate", BUILTIN, bad, "-n", "10").err
    assert as_scenario.replace("scenario", "KIND") == as_distributions.replace(
        "distributions", "KIND"
    )
    assert "(line 1): the file is not UTF-8 text: byte 0xe9" in as_scenario


def test_in_a_fresh_interpreter_deep_nesting_and_a_list_key_get_messages(tmp_path: Path) -> None:
    """The command a user types, in a new process: exit code 2 and a message, no traceback."""
    deep = tmp_path / "deep.yaml"
    deep.write_text(SCENARIO_TEXT + "\nnotes: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    run = run_console("validate", deep, cwd=tmp_path)
    assert_clear_error(run, f"{deep}: 1 problem in this scenario file", "nested more than")
