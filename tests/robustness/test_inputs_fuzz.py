"""Fuzzing scenario and distributions files: a valid result or a clear error, never a traceback.

Hypothesis breaks the built-in Hai Phong 1993-1997 files in three ways: a value anywhere in
the document replaced by an arbitrary YAML value (nested lists and mappings, huge and
non-finite numbers, fractions, percentages, dates, odd text); the text itself edited with
YAML's special characters; and whole documents made from nothing. Reading the result must
either give a valid scenario (which then projects) or distributions space, or raise
:class:`~schemerisk.errors.InputError` whose message names the file. Anything else (a
RecursionError, an OverflowError, a TypeError from deep inside) fails the test with the
example that caused it.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from schemerisk.errors import InputError
from schemerisk.model import project
from schemerisk.scenario import load_scenario
from schemerisk.scenario.parse import parse_scenario
from schemerisk.uncertainty.space import parse_space
from tests.robustness.inputs_support import (
    BUILTIN,
    DISTRIBUTIONS_TEXT,
    SCENARIO_TEXT,
    distributions_doc,
    scenario_doc,
)

#: Examples per test: a few dozen in the suite (reading a distributions file fits quantiles, a
#: valid scenario is projected: 0.1-0.5 s an example); set SCHEMERISK_FUZZ_EXAMPLES=2000 for a
#: deeper search.
EXAMPLES = int(os.environ.get("SCHEMERISK_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # keep the working tree clean; a failure prints its reproducing example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SCENARIO = load_scenario(BUILTIN)
SOURCE = "fuzzed.yaml"

#: Text that has broken a reader before, or that YAML or the number parser treat specially.
AWKWARD_TEXT = [
    "15 %",
    "-5 %",
    "%",
    "1e400/1",
    "1/0",
    "0/0",
    "1e9999999/1e9999999",
    "755/915",
    "2001-13-45",
    "1993-01-01",
    "nan",
    ".inf",
    "-.inf",
    "0x1F",
    "1_000",
    "~",
    "",
    "yes",
    "$\\frac{x}$",
    "=1+1",
    "\u00e9\u4e2d\u0000",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([10**400, -(10**400), 2**63, 0, 1, -1, 201, 10**20]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(AWKWARD_TEXT),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers(-3, 3)), inner, max_size=4),
    ),
    max_leaves=12,
)
#: Pieces of YAML syntax inserted into the text: anchors, aliases, tags, complex keys, merges.
SYNTAX = [
    "&a ",
    "*a",
    "*nowhere",
    "!!python/object/apply:os.system ['echo']",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!float ",
    "? [a, b]\n: 1\n",
    "<<: *a\n",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "\t",
    "'",
    '"',
    "#",
    "\n",
    "\ufeff",
    "\x00",
    "%YAML 1.1\n---\n",
    "---\n",
    "...\n",
    "[" * 200,
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a document of mappings and lists."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


SCENARIO_PATHS = _paths(scenario_doc())
DISTRIBUTIONS_PATHS = _paths(distributions_doc())


def _replaced(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> str:
    doc = copy.deepcopy(doc)
    node: Any = doc
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _read_scenario(text: str) -> None:
    """A valid scenario projects; an invalid one raises InputError naming the file."""
    try:
        sc = parse_scenario(text, source=SOURCE)
    except InputError as exc:
        assert exc.render().startswith(f"{SOURCE}: ")
        assert exc.problems
        return
    project(sc)


def _read_distributions(text: str) -> None:
    try:
        parse_space(text, SCENARIO, source=SOURCE)
    except InputError as exc:
        assert exc.render().startswith(f"{SOURCE}: ")
        assert exc.problems


def _edited(text: str, data: st.DataObject) -> str:
    """The text with a few random edits: syntax inserted, a span deleted, a line repeated."""
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        at = data.draw(st.integers(0, len(text)), label="at")
        kind = data.draw(st.sampled_from(["insert", "delete", "repeat"]), label="kind")
        if kind == "insert":
            text = text[:at] + data.draw(st.sampled_from(SYNTAX), label="syntax") + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + data.draw(st.integers(1, 40), label="span") :]
        else:
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            end = len(text) if end < 0 else end + 1
            text = text[:end] + text[start:end] + text[end:]
    return text


@FUZZ
@given(path=st.sampled_from(SCENARIO_PATHS), value=VALUES)
@example(path=("admission_rate",), value="1e400/1")
@example(path=("horizon",), value=10**20)
@example(path=("title",), value={"a": 1})
# found by a deeper search: categories keyed by numbers broke the "did you mean" hint
@example(path=("categories",), value={0: None})
@example(path=("categories",), value={0: False, "x": "y"})
def test_any_value_anywhere_in_a_scenario(path: tuple[Any, ...], value: Any) -> None:
    _read_scenario(_replaced(scenario_doc(), path, value))


@FUZZ
@given(data=st.data())
def test_edited_scenario_text(data: st.DataObject) -> None:
    _read_scenario(_edited(SCENARIO_TEXT, data))


@FUZZ
@given(path=st.sampled_from(DISTRIBUTIONS_PATHS), value=VALUES)
# found by a deeper search: an integer of 400 digits as a parameter overflowed a float
@example(path=("inputs", "admission_rate", "distribution", "low"), value=10**400)
@example(path=("correlations", 0, "entries", 0), value=["domestic_inflation"])
def test_any_value_anywhere_in_a_distributions_file(path: tuple[Any, ...], value: Any) -> None:
    _read_distributions(_replaced(distributions_doc(), path, value))


@FUZZ
@given(data=st.data())
def test_edited_distributions_text(data: st.DataObject) -> None:
    _read_distributions(_edited(DISTRIBUTIONS_TEXT, data))


@FUZZ
@given(doc=VALUES)
def test_whole_documents_from_nothing(doc: Any) -> None:
    text = yaml.safe_dump(doc, allow_unicode=True)
    _read_scenario(text)
    _read_distributions(text)


@pytest.mark.parametrize(
    "text",
    [
        "\x00",
        "\ufeff",
        "[" * 100_000,
        "a: " * 10_000,
        "- " * 10_000 + "x",
        "&a [*a]",
        "? " * 2_000 + "x",
    ],
    ids=[
        "nul",
        "bom",
        "100k-open-brackets",
        "10k-nested-keys",
        "10k-nested-items",
        "self-alias",
        "2k-complex-keys",
    ],
)
def test_pathological_texts(text: str) -> None:
    """Shapes that reach the recursion limit of a naive reader."""
    _read_scenario(text)
    _read_distributions(text)
