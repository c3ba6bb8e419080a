"""Read a scenario file (YAML) into a validated :class:`~schemerisk.scenario.types.Scenario`.

All problems are collected before anything is raised, so ``schemerisk validate``
can list every one of them. Each names the key path and what was expected, with
the nearest valid name for a misspelt key and the line number where known.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Hashable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from schemerisk import catalogue
from schemerisk.catalogue import ARRIVAL, DELAY, Domain, Entry, keys_under

# the years a file may give are declared with the inputs; the command line's options use them
from schemerisk.catalogue import ARRIVALS as ARRIVALS
from schemerisk.catalogue import MAX_HORIZON as MAX_HORIZON
from schemerisk.catalogue import YEARS as YEARS
from schemerisk.errors import Problem, ScenarioError, suggest
from schemerisk.scenario.types import (
    COST_TYPES,
    DEPENDANTS,
    FARMERS,
    AdminBasis,
    AdminItem,
    Category,
    CostComponent,
    CoverageRule,
    CoverageTarget,
    Demography,
    Economy,
    Level,
    LinearPath,
    Payer,
    PaymentMethod,
    PremiumSubsidy,
    RateTarget,
    Reserve,
    Scenario,
    Service,
    Target,
    TierPayment,
    Volume,
    VolumeBasis,
    YearPath,
)

SHARE_TOLERANCE = 1e-9
# A number written as a fraction, e.g. 1/3 or 2.5e6/12. Each part has at most 40 digits and an
# exponent of at most 3 digits, so exact arithmetic on it stays instant: Fraction("1e9999999")
# builds a ten-million-digit integer (50 s of CPU).
_DECIMAL = r"([0-9]{0,40}\.?[0-9]{1,40}(?:[eE][-+]?[0-9]{1,3})?)"
_FRACTION = re.compile(rf"^\s*{_DECIMAL}\s*/\s*{_DECIMAL}\s*$")
# A rate or share written with an explicit percent sign, e.g. "15 %" or "1500%" (= 0.15, 15).
_PERCENT = re.compile(r"^\s*([-+]?[0-9]{0,40}\.?[0-9]{1,40}(?:[eE][-+]?[0-9]{1,3})?)\s*%\s*$")

# Limits on what a file may ask of the machine, checked before or while it is parsed, so that a
# small or malformed file gets a message instead of exhausting memory, time or the stack.
#: Largest scenario or distributions file read, in bytes. The built-in files are 5-20 kB; a
#: scenario with 50 yearly paths over the longest horizon (201 values each) is about 100 kB.
MAX_FILE_BYTES = 10 * 1024 * 1024
#: Deepest nesting of mappings and lists, counted through aliases. The deepest key path either
#: kind of file has is 7 levels (provider_payment.<tier>.performance_bonus.share.targets.<year>).
MAX_DEPTH = 32
#: Most values (mappings, lists and scalars) a document may hold once aliases are expanded. The
#: largest plausible scenario holds well under 100,000; a "billion laughs" alias bomb of 5.5 kB
#: expands to billions (97 s and 3.5 GB to validate before this limit).
MAX_NODES = 1_000_000
# MAX_HORIZON, YEARS, ARRIVALS and DELAYS (the years a file may give) are the catalogue's.


#: the one range type, declared with the inputs in :mod:`schemerisk.catalogue` (this name stays
#: for the command line's options, which check their numbers the same way)
Allowed = Domain


def _spec(key: str) -> Entry:
    """The catalogue's declaration of the input at ``key`` (``categories.*.income``)."""
    return catalogue.entry(key)


def _dom(key: str) -> Domain:
    """The domain the catalogue declares for the input at ``key``."""
    return catalogue.entry(key).domain


class _Refused(yaml.MarkedYAMLError):
    """A document that is valid YAML but breaks a limit, or holds a value Python cannot read."""


class _LineDict(dict[Any, Any]):
    """A mapping that remembers the line of each key (1-based)."""

    lines: dict[Any, int]


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader whose mappings record the line of each key.

    It also bounds what a document may cost: nesting deeper than :data:`MAX_DEPTH`
    is refused while it is composed (before Python's recursion limit is reached),
    and a document whose aliases expand to more than :data:`MAX_NODES` values, or
    deeper than :data:`MAX_DEPTH`, or that refers to itself, is refused before
    any Python object is built from it.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(
                    None,
                    None,
                    f"the values are nested more than {MAX_DEPTH} levels deep; a scenario or "
                    "distributions file needs fewer than 10",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            _check_expanded(node)
        return node

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            # e.g. an integer of more than 4,300 digits, or a date such as 2001-13-45
            why = "it has too many digits" if "digits" in str(exc) else str(exc)
            raise _Refused(
                None, None, f"this value cannot be read: {why}", node.start_mark
            ) from None


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expanded(root: Any) -> None:
    """Refuse a composed document that aliases make too large, too deep, or circular.

    Aliases share nodes, so the count is made once per node (memoised) and without
    recursion: it costs time in proportion to the file, whatever the expansion.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    started: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            kids = _children(node)
            size[key] = 1 + sum(size[id(c)] for c in kids)
            depth[key] = 1 + max((depth[id(c)] for c in kids), default=0)
            started.discard(key)
            if size[key] > MAX_NODES or depth[key] > MAX_DEPTH:
                what = (
                    f"more than {MAX_NODES:,} values"
                    if size[key] > MAX_NODES
                    else f"values nested more than {MAX_DEPTH} levels deep"
                )
                raise _Refused(
                    None,
                    None,
                    f"with its aliases (*name) expanded, this part of the file holds {what}; "
                    "write the values out, or use fewer aliases",
                    node.start_mark,
                )
            continue
        if key in size:
            continue
        if key in started:
            raise _Refused(
                None,
                None,
                "an alias (*name) refers to a value that contains it: the value would be endless",
                node.start_mark,
            )
        started.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    out = _LineDict()
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise _Refused(
                None,
                None,
                f"a key must be a name, not {_show(key)}",
                key_node.start_mark,
            ) from None
        if isinstance(key, Hashable) and key in out.lines:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"found duplicate key {key!r} (first given on line {out.lines[key]})",
                key_node.start_mark,
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# YAML 1.1 (PyYAML) reads 1.5e6 as text, because its floats need a sign in the exponent and a
# dot; YAML 1.2 and every spreadsheet read it as a number. Tried after the standard resolvers.
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load_yaml(text: str, source: str, kind: str = "scenario") -> Any:
    """Parse YAML text, turning a syntax error into an :class:`InputError` with its line.

    Parameters
    ----------
    text : str
        The file's contents.
    source : str
        File name, for messages.
    kind : str
        What the file is, for messages.

    Returns
    -------
    object
        The parsed document; mappings remember their keys' lines.
    """
    from schemerisk.errors import InputError

    if len(text) > MAX_FILE_BYTES:
        raise InputError(source, [_too_large(len(text.encode("utf-8")), kind)], kind=kind)
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader
    except RecursionError:  # a last resort: the depth limit above should come first
        problem = Problem("", f"the values are nested too deeply (more than {MAX_DEPTH} levels)")
        raise InputError(source, [problem], kind=kind) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        syntax = "" if isinstance(exc, _Refused) else "YAML syntax error: "
        msg = f"{syntax}{exc.problem or exc}"
        if exc.context:
            msg += f" ({exc.context})"
        raise InputError(source, [Problem("", msg, line)], kind=kind) from None
    except yaml.YAMLError as exc:
        raise InputError(source, [Problem("", f"YAML error: {exc}")], kind=kind) from None


def _too_large(size: int, kind: str) -> Problem:
    return Problem(
        "",
        f"the file is {size / 2**20:,.1f} MB; a {kind} file may be at most "
        f"{MAX_FILE_BYTES / 2**20:.0f} MB (the built-in ones are about 20 kB): is this the right file?",
    )


def read_input_text(path: Path, kind: str) -> str:
    """Read a scenario or distributions file as UTF-8 text, within :data:`MAX_FILE_BYTES`.

    Parameters
    ----------
    path : Path
        The file.
    kind : str
        What the file is, for messages ("scenario", "distributions").

    Returns
    -------
    str
        Its text.

    Raises
    ------
    InputError
        (a :class:`ScenarioError` for a scenario) when the file is too large, cannot
        be read, or is not UTF-8 text; the message says which and what to do.
    """
    from schemerisk.errors import InputError

    def error(message: str, line: int | None = None) -> InputError:
        problems = [Problem("", message, line)]
        if kind == "scenario":
            return ScenarioError(str(path), problems)
        return InputError(str(path), problems, kind=kind)

    if path.is_dir():
        raise error(f"this is a directory, not a {kind} file (YAML)")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise error(_too_large(size, kind).message)
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)  # bounded even where the size is not known
    except OSError as exc:
        raise error(f"the file cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise error(_too_large(len(data), kind).message)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(
            f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be read; save it as UTF-8",
            line,
        ) from None


class Reader:
    """Walks a parsed YAML document, converting values and collecting problems.

    Parameters
    ----------
    problems : list of Problem
        Where problems are appended.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems

    def fail(self, path: str, message: str, parent: Any = None, key: Any = None) -> None:
        """Record a problem at ``path``, with the line of ``key`` in ``parent`` if known."""
        line = None
        if isinstance(parent, _LineDict):
            line = parent.lines.get(key)
        self.problems.append(Problem(path, message, line))

    def mapping(
        self,
        node: Any,
        path: str,
        allowed: tuple[str, ...] | None,
        required: tuple[str, ...] = (),
        parent: Any = None,
        key: Any = None,
    ) -> Mapping[str, Any]:
        """Check that ``node`` is a mapping with only ``allowed`` keys and every ``required`` one."""
        if node is None:
            if isinstance(parent, Mapping) and key is not None and key not in parent:
                return {}  # the missing section itself is reported where it belongs
            node = {}
        if not isinstance(node, Mapping):
            self.fail(path, f"expected a mapping of keys to values, got {_show(node)}", parent, key)
            return {}
        for k in node:
            if not isinstance(k, str):
                self.fail(_join(path, str(k)), f"keys must be names, got {_show(k)}", node, k)
            elif allowed is not None and k not in allowed:
                hint = suggest(k, allowed)
                valid = ", ".join(allowed)
                self.fail(
                    _join(path, k), f"unknown key '{k}'{hint} (valid keys here: {valid})", node, k
                )
        for r in required:
            if r not in node:
                self.fail(_join(path, r), "required key is missing", parent, key)
        return node

    def number(
        self,
        node: Any,
        path: str,
        lo: float | None = None,
        hi: float | None = None,
        what: str = "a number",
        parent: Any = None,
        key: Any = None,
        lo_open: bool = False,
    ) -> float:
        """Convert ``node`` to a float within [lo, hi] (or (lo, hi] when ``lo_open``)."""
        return self.value(node, path, Allowed(lo, hi, what, lo_open), parent, key)

    def value(
        self, node: Any, path: str, allowed: Allowed, parent: Any = None, key: Any = None
    ) -> float:
        """Convert ``node`` to a float that ``allowed`` accepts.

        A rate or share (``allowed.percent``) may be written ``"15 %"`` for 0.15. A
        plain number above ``allowed.plain_hi``, or above a share's 1 where a hundredth
        of it would fit, is reported as the percentage it would be, with the fraction
        the user probably meant.

        Parameters
        ----------
        node : object
            The parsed YAML value.
        path : str
            Its key path, for messages.
        allowed : Allowed
            The values allowed.
        parent, key : object
            The mapping holding the value and its key there, for the line number.

        Returns
        -------
        float
            The value (NaN when it is not a number at all).
        """
        what = allowed.what
        value = _to_float(node)
        explicit = False
        if value is None and allowed.percent:
            value = _percent(node)
            explicit = value is not None
        if value is None:
            hint = ""
            if allowed.percent and isinstance(node, str) and "%" in node:
                hint = " (a percentage is a number followed by %, e.g. 15 %)"
            elif isinstance(node, str) and "/" in node:
                hint = (
                    " (a fraction such as 1/3 has two numbers of at most 40 digits each, "
                    "with an exponent of at most 3 digits)"
                )
            self.fail(path, f"expected {what}, got {_show(node)}{hint}", parent, key)
            return math.nan
        shown = node.strip()[:40] if isinstance(node, str) else _fmt(value)
        if not math.isfinite(value):
            self.fail(path, f"{shown} is not a finite number: expected {what}", parent, key)
            return value
        pct = f"{value * 100:,.6g} {allowed.unit}"
        if not allowed.contains(value):
            msg = f"{shown} is out of range: expected {what}"
            if (
                allowed.percent
                and not explicit
                and allowed.hi is not None
                and value > allowed.hi
                and allowed.contains(value / 100)
            ):
                msg += f"; {shown} would be {pct}: did you mean {_fmt(value / 100)}?"
            self.fail(path, msg, parent, key)
        elif not explicit and allowed.plain_hi is not None and value > allowed.plain_hi:
            self.fail(
                path,
                f"{shown} is {pct}; did you mean {_fmt(value / 100)}? Expected {what}, as a "
                f"fraction; to mean {pct}, write '{_fmt(value * 100)} %'",
                parent,
                key,
            )
        return value

    def number_field(
        self, m: Mapping[str, Any], path: str, key: str, allowed: Allowed, default: Any = None
    ) -> float:
        """Read the number under ``key`` in the mapping ``m`` found at ``path``.

        Parameters
        ----------
        m : Mapping
            The mapping that holds ``key``; its line numbers go into messages.
        path : str
            The key path of ``m``; the number's path is ``path.key``.
        key : str
            The key to read.
        allowed : Allowed
            The values allowed, and the words for them in messages.
        default : object
            What is read when ``key`` is absent.

        Returns
        -------
        float
            As :meth:`number`.
        """
        return self.value(m.get(key, default), _join(path, key), allowed, m, key)

    def integer(
        self,
        node: Any,
        path: str,
        what: str,
        parent: Any = None,
        key: Any = None,
        bounds: tuple[int, int] | None = None,
    ) -> int:
        """Convert ``node`` to an int, within ``bounds`` (inclusive) when given."""
        if isinstance(node, bool) or not isinstance(node, int):
            self.fail(path, f"expected {what} (a whole number), got {_show(node)}", parent, key)
            return 0
        if bounds is not None and not bounds[0] <= node <= bounds[1]:
            shown = f"{node}" if abs(node) < 10**15 else f"{node:.3e}"
            self.fail(
                path,
                f"{shown} is out of range: expected {what} from {bounds[0]} to {bounds[1]}",
                parent,
                key,
            )
            return min(max(node, bounds[0]), bounds[1])
        return node

    def integer_in(
        self, node: Any, path: str, domain: Domain, parent: Any = None, key: Any = None
    ) -> int:
        """Convert ``node`` to a whole number within an integer ``domain`` (both ends included)."""
        assert domain.lo is not None and domain.hi is not None  # every integer input is bounded
        return self.integer(node, path, domain.what, parent, key, (int(domain.lo), int(domain.hi)))

    def number_input(self, m: Mapping[str, Any], path: str, spec: Entry) -> float:
        """Read the one number the catalogue entry ``spec`` declares, from the mapping ``m``.

        Parameters
        ----------
        m : Mapping
            The mapping found at ``path`` that holds the entry's key.
        path : str
            The concrete key path of ``m`` (``categories.farmers``).
        spec : Entry
            The declaration: its last key, domain and default.

        Returns
        -------
        float
            As :meth:`number_field`.
        """
        return self.number_field(m, path, spec.name, spec.domain, spec.value_when_absent)

    def flag(self, node: Any, path: str, parent: Any = None, key: Any = None) -> bool:
        """Convert ``node`` to a bool (true/false, yes/no, 1/0)."""
        if isinstance(node, bool):
            return node
        if node in (0, 1):
            return bool(node)
        self.fail(path, f"expected true or false, got {_show(node)}", parent, key)
        return False

    def text(self, node: Any, path: str, parent: Any = None, key: Any = None) -> str:
        """Convert ``node`` to a string."""
        if isinstance(node, str | int | float) and not isinstance(node, bool):
            return str(node)
        self.fail(path, f"expected text, got {_show(node)}", parent, key)
        return ""


class _Context:
    """The parts of the scenario every path needs: horizon and base year."""

    def __init__(self, reader: Reader, base_year: int, n_years: int) -> None:
        self.r = reader
        self.base_year = base_year
        self.n_years = n_years

    def path(
        self, node: Any, path: str, allowed: Allowed, parent: Any = None, key: Any = None
    ) -> YearPath:
        """Read a per-year path: a constant, a list of T+1 values, or a move to a target."""
        r, n = self.r, self.n_years
        if isinstance(node, list):
            if len(node) != n:
                years = f"{self.base_year}-{self.base_year + n - 1}"
                r.fail(
                    path,
                    f"a list of yearly values must have {n} entries, one for each year {years}, "
                    f"got {len(node)}",
                    parent,
                    key,
                )
                return YearPath.constant(math.nan, n)
            vals = tuple(
                r.value(v, f"{path}[{i}]", allowed, parent, key) for i, v in enumerate(node)
            )
            return YearPath(vals, given_values=True)
        if isinstance(node, Mapping) and "targets" in node:
            return self.milestones(node, path, allowed, parent, key)
        if isinstance(node, Mapping):
            m = r.mapping(
                node,
                path,
                ("base", "target", "arrival", "delay"),
                ("base", "target", "arrival"),
                parent,
                key,
            )
            if not all(k in m for k in ("base", "target", "arrival")):
                return YearPath.constant(math.nan, n)
            base = r.value(m["base"], _join(path, "base"), allowed, m, "base")
            target = r.value(m["target"], _join(path, "target"), allowed, m, "target")
            delay = r.integer_in(m.get("delay", 0), _join(path, "delay"), DELAY, m, "delay")
            arrival = r.integer_in(m["arrival"], _join(path, "arrival"), ARRIVAL, m, "arrival")
            self.check_timing(path, delay, arrival, m)
            return YearPath.from_linear(LinearPath(base, target, arrival, delay), self.base_year, n)
        value = r.value(node, path, allowed, parent, key)
        return YearPath.constant(value, n)

    def path_field(
        self, m: Mapping[str, Any], path: str, key: str, allowed: Allowed, default: Any = None
    ) -> YearPath:
        """Read the per-year path under ``key`` in ``m`` (``default`` when absent)."""
        return self.path(m.get(key, default), _join(path, key), allowed, m, key)

    def path_input(self, m: Mapping[str, Any], path: str, spec: Entry) -> YearPath:
        """Read the per-year path the catalogue entry ``spec`` declares, from ``m`` at ``path``."""
        return self.path_field(m, path, spec.name, spec.domain, spec.value_when_absent)

    def target_field(self, m: Mapping[str, Any], path: str, spec: str) -> Target | None:
        """Read the target the catalogue declares under ``spec`` from ``m`` (see :meth:`target`)."""
        key = spec.rsplit(".", 1)[-1]
        return self.target(m.get(key), _join(path, key), spec, m, key)

    def milestones(
        self,
        node: Mapping[str, Any],
        path: str,
        allowed: Allowed,
        parent: Any,
        key: Any,
    ) -> YearPath:
        """(extension) Read ``{base: v, targets: {year: value, ...}}``: straight lines through targets."""
        r, n = self.r, self.n_years
        m = r.mapping(node, path, ("base", "targets"), ("base", "targets"), parent, key)
        if "base" not in m or not isinstance(m.get("targets"), Mapping) or not m["targets"]:
            if "targets" in m and not isinstance(m.get("targets"), Mapping):
                r.fail(
                    _join(path, "targets"),
                    "expected a mapping of years to values, e.g. {2025: 0.95, 2030: 0.98}",
                    m,
                    "targets",
                )
            return YearPath.constant(math.nan, n)
        base = r.value(m["base"], _join(path, "base"), allowed, m, "base")
        points: list[tuple[int, float]] = []
        last = self.base_year
        for year, value in m["targets"].items():
            p = f"{path}.targets.{year}"
            if isinstance(year, bool) or not isinstance(year, int):
                r.fail(p, f"expected a year as the key, got {_show(year)}", m["targets"], year)
                continue
            if not ARRIVALS[0] <= year <= ARRIVALS[1]:
                r.fail(
                    p,
                    f"expected a target year from {ARRIVALS[0]} to {ARRIVALS[1]}",
                    m["targets"],
                    year,
                )
                continue
            if year <= last:
                r.fail(
                    p,
                    f"target years must come after the base year {self.base_year} and increase; "
                    f"{year} does not follow {last}",
                    m["targets"],
                    year,
                )
                continue
            points.append((year, r.value(value, p, allowed, m["targets"], year)))
            last = year
        return YearPath.from_milestones(base, tuple(points), self.base_year, n)

    def check_timing(self, path: str, delay: int, arrival: int, m: Any) -> None:
        """An arrival year must come after the starting year (Annex I.1)."""
        if delay < 0:
            self.r.fail(
                _join(path, "delay"), f"years of delay must be 0 or more, got {delay}", m, "delay"
            )
        start = self.base_year + delay
        if arrival <= start:
            self.r.fail(
                _join(path, "arrival"),
                f"arrival year {arrival} must be after the starting year {start} "
                f"(base year {self.base_year} + {delay} years of delay)",
                m,
                "arrival",
            )

    def target(self, node: Any, path: str, spec: str, parent: Any, key: Any) -> Target | None:
        """Read a unit-cost or service-rate target: ``target`` or ``ratio``, ``delay``, ``arrival``.

        ``spec`` is the target's key path in the catalogue (``services.*.patient_cost_target``),
        whose entries give the keys and their domains.
        """
        r = self.r
        m = r.mapping(node, path, _TARGET_KEYS, ("arrival",), parent, key)
        if not m:
            return None
        has_t, has_r = "target" in m, "ratio" in m
        if has_t == has_r:
            r.fail(
                path,
                "give exactly one of 'target' (an absolute value) or 'ratio' (x base value)",
                parent,
                key,
            )
            return None
        k = "target" if has_t else "ratio"
        value = r.number_field(m, path, k, _dom(f"{spec}.{k}"))
        delay = r.integer_in(
            m.get("delay", 0), _join(path, "delay"), _dom(f"{spec}.delay"), m, "delay"
        )
        arrival = r.integer_in(
            m.get("arrival", 0), _join(path, "arrival"), _dom(f"{spec}.arrival"), m, "arrival"
        )
        self.check_timing(path, delay, arrival, m)
        return Target(value=value, is_ratio=has_r, delay=delay, arrival=arrival)


# The keys a file may write in each mapping: the catalogue's, in its order.
TOP_KEYS = keys_under(())
CATEGORY_KEYS = keys_under("categories.*")
SERVICE_KEYS = keys_under("services.*")
VOLUME_KEYS = keys_under("services.*.volume")
ADMIN_KEYS = keys_under("administration.*")
_TARGET_KEYS = keys_under("services.*.patient_cost_target")
_PAYER_KEYS = ("payer", *keys_under("categories.*.premium_subsidy.government"))


def load_scenario(source: str | Path) -> Scenario:
    """Load and validate a scenario from a file or a built-in name.

    Parameters
    ----------
    source : str or Path
        A path to a YAML scenario file, or the name of a built-in scenario
        (``hai_phong_1993``, ``hai_phong_1993_1997``).

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        With every problem found, each naming the key path and what was expected.
    FileNotFoundError
        When the file does not exist and is not a built-in name.
    """
    from schemerisk.scenario.builtin import resolve_scenario

    path = resolve_scenario(source)
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):  # Sheet A of a workbook
        from schemerisk.scenario.workbook import scenario_from_workbook

        return scenario_from_workbook(path)
    text = read_input_text(path, "scenario")
    return parse_scenario(text, source=str(path), default_name=path.stem)


def parse_scenario(text: str, source: str = "<string>", default_name: str = "scenario") -> Scenario:
    """Parse and validate scenario YAML text.

    Parameters
    ----------
    text : str
        The YAML document.
    source : str
        Where it came from, for messages and provenance.
    default_name : str
        Scenario name when the file gives none.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        With every problem found.
    """
    doc = load_yaml(text, source, "scenario")
    problems: list[Problem] = []
    r = Reader(problems)
    top = r.mapping(
        doc, "", TOP_KEYS, ("base_year", "demography", "economy", "categories", "services")
    )
    if not top:
        if not problems:
            problems.append(Problem("", "the file is empty; expected a scenario mapping"))
        raise ScenarioError(source, problems)

    base_year = r.integer_in(
        top.get("base_year", 0), "base_year", _dom("base_year"), top, "base_year"
    )
    horizon = r.integer_in(
        top.get("horizon", _spec("horizon").default), "horizon", _dom("horizon"), top, "horizon"
    )
    if problems:  # with no valid base year or horizon, every yearly list would be reported too
        raise ScenarioError(source, problems)
    # names and notes are read before the numbers, so that a problem with them is listed too
    name = r.text(top.get("name", default_name), "name", top, "name")
    title = r.text(top.get("title", _spec("title").default), "title", top, "title")
    currency = r.text(top.get("currency", _spec("currency").default), "currency", top, "currency")
    notes = _notes(r, top)
    cx = _Context(r, base_year, horizon + 1)

    demography = _demography(cx, top.get("demography"), top)
    economy = _economy(cx, top.get("economy"), top)
    categories = _categories(cx, top.get("categories"), top)
    cat_names = tuple(c.name for c in categories)
    admission_rate = None
    if "admission_rate" in top:
        admission_rate = r.number_input(top, "", _spec("admission_rate"))
    loading = r.number_input(top, "", _spec("insured_utilisation_loading"))
    services = _services(cx, top.get("services"), top, cat_names, admission_rate is not None)
    _check_split_onto_people(r, base_year, demography, categories, services)
    rate_targets = _rate_targets(
        cx, top.get("service_rate_targets"), top, cat_names, tuple(s.name for s in services)
    )
    administration = _administration(cx, top.get("administration"), top)
    reserve = _reserve(cx, top["reserve"], top) if "reserve" in top else None
    provider_payment = _provider_payment(cx, top.get("provider_payment"), top, services)
    coverage_target = (
        _coverage_target(cx, top["coverage_target"], top, cat_names)
        if "coverage_target" in top
        else None
    )

    if problems:
        raise ScenarioError(source, problems)
    return Scenario(
        name=name,
        title=title,
        currency=currency,
        base_year=base_year,
        horizon=horizon,
        demography=demography,
        economy=economy,
        admission_rate=admission_rate,
        insured_utilisation_loading=loading,
        categories=categories,
        services=services,
        rate_targets=rate_targets,
        administration=administration,
        reserve=reserve,
        provider_payment=provider_payment,
        coverage_target=coverage_target,
        source=source,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        notes=notes,
    )


def _notes(r: Reader, top: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``notes``: one text, or a list of texts."""
    if "notes" not in top:
        return ()
    raw = top["notes"]
    if isinstance(raw, list):
        return tuple(r.text(x, f"notes[{i}]", top, "notes") for i, x in enumerate(raw))
    return (r.text(raw, "notes", top, "notes"),)


def _demography(cx: _Context, node: Any, top: Any) -> Demography:
    r = cx.r
    m = r.mapping(node, "demography", keys_under("demography"), ("population",), top, "demography")
    pop = (
        r.number_input(m, "demography", _spec("demography.population"))
        if "population" in m
        else math.nan
    )
    growth = cx.path_input(m, "demography", _spec("demography.growth_rate"))
    dep = cx.path_input(m, "demography", _spec("demography.dependant_share"))
    return Demography(population=pop, growth_rate=growth, dependant_share=dep)


EX = "economy.exchange_rate"


def _economy(cx: _Context, node: Any, top: Any) -> Economy:
    r = cx.r
    m = r.mapping(node, "economy", keys_under("economy"), ("exchange_rate",), top, "economy")
    dp = cx.path_input(m, "economy", _spec("economy.domestic_inflation"))
    ep = cx.path_input(m, "economy", _spec("economy.external_inflation"))
    ex = r.mapping(
        m.get("exchange_rate"),
        "economy.exchange_rate",
        keys_under("economy.exchange_rate"),
        ("rate",),
        m,
        "exchange_rate",
    )
    ppp = (
        r.flag(
            ex.get("purchasing_power_parity", _spec(f"{EX}.purchasing_power_parity").default),
            "economy.exchange_rate.purchasing_power_parity",
            ex,
            "purchasing_power_parity",
        )
        if ex
        else False
    )
    has_rate = "rate" in ex  # a missing rate is reported by mapping(); NaN is no default
    rate_node = ex.get("rate")
    if ppp and isinstance(rate_node, list | Mapping):
        r.fail(
            "economy.exchange_rate.rate",
            "with purchasing_power_parity: true the exchange rate after the base year follows inflation; "
            "give the base-year rate as one number",
            ex,
            "rate",
        )
        has_rate = False
    rate = (
        cx.path_input(ex, EX, _spec(f"{EX}.rate"))
        if has_rate
        else YearPath.constant(math.nan, cx.n_years)
    )
    real_dep = None
    if ex and "real_depreciation" in ex:
        if not ppp:
            r.fail(
                "economy.exchange_rate.real_depreciation",
                "real_depreciation moves the exchange rate away from purchasing-power parity; it needs "
                "purchasing_power_parity: true (otherwise give the rate path itself)",
                ex,
                "real_depreciation",
            )
        real_dep = cx.path_input(ex, EX, _spec(f"{EX}.real_depreciation"))
    return Economy(
        domestic_inflation=dp,
        external_inflation=ep,
        exchange_rate=rate,
        purchasing_power_parity=ppp,
        real_depreciation=real_dep,
    )


def _categories(cx: _Context, node: Any, top: Any) -> tuple[Category, ...]:
    r = cx.r
    m = r.mapping(node, "categories", None, (), top, "categories")
    for needed, what in (
        (DEPENDANTS, "children and other dependants"),
        (FARMERS, "farmers, self-employed and others"),
    ):
        if m and needed not in m:
            r.fail(
                f"categories.{needed}",
                f"the model needs a '{needed}' category ({what}); it is missing"
                + suggest(needed, m),
                top,
                "categories",
            )
    names = [k for k in m if isinstance(k, str)]
    ordered = [n for n in (DEPENDANTS, FARMERS) if n in names] + [
        n for n in names if n not in (DEPENDANTS, FARMERS)
    ]
    cats = []
    for name in ordered:
        cats.append(_category(cx, name, m[name], m))
    adults = [c for c in cats if c.adult_share is not None]
    if adults:
        total = [
            sum(c.adult_share.values[t] for c in adults if c.adult_share) for t in range(cx.n_years)
        ]
        for t, s in enumerate(total):
            if math.isfinite(s) and abs(s - 1.0) > SHARE_TOLERANCE:
                parts = " + ".join(
                    f"{c.name} {_fmt(c.adult_share.values[t])}" for c in adults if c.adult_share
                )
                r.fail(
                    "categories.*.adult_share",
                    f"adult shares must sum to 1 in every year (tolerance {SHARE_TOLERANCE:g}); "
                    f"in {cx.base_year + t} they sum to {s:.12g} ({parts})",
                    m,
                    None,
                )
                break
    return tuple(cats)


def _category(cx: _Context, name: str, node: Any, parent: Any) -> Category:
    r = cx.r
    p = f"categories.{name}"
    m = r.mapping(node, p, CATEGORY_KEYS, (), parent, name)
    adult_share = None
    if name == DEPENDANTS:
        if "adult_share" in m:
            r.fail(
                f"{p}.adult_share",
                "dependants are not adults: their share is demography.dependant_share",
                m,
                "adult_share",
            )
    elif "adult_share" not in m:
        r.fail(
            f"{p}.adult_share",
            "required key is missing: this adult category's share of the adult population",
            parent,
            name,
        )
    else:
        adult_share = cx.path_input(m, p, _spec("categories.*.adult_share"))
    subsidies = (
        _subsidies(cx, m["premium_subsidy"], f"{p}.premium_subsidy", m)
        if "premium_subsidy" in m
        else ()
    )

    def path(key: str) -> YearPath:
        return cx.path_input(m, p, _spec(f"categories.*.{key}"))

    return Category(
        name=name,
        label=r.text(m.get("label", name), f"{p}.label", m, "label"),
        adult_share=adult_share,
        income=r.number_input(m, p, _spec("categories.*.income")),
        income_growth=path("income_growth"),
        contribution_rate=path("contribution_rate"),
        flat_premium=path("flat_premium"),
        insured_share=path("insured_share"),
        outpatient_cover=r.flag(
            m.get("outpatient_cover", _spec("categories.*.outpatient_cover").default),
            f"{p}.outpatient_cover",
            m,
            "outpatient_cover",
        ),
        exempt_share=path("exempt_share"),
        user_fee_exempt_share=path("user_fee_exempt_share"),
        subsidies=subsidies,
    )


def _by_category(
    r: Reader,
    node: Any,
    path: str,
    cats: tuple[str, ...],
    allowed: Allowed,
    default: float,
    parent: Any,
    key: Any,
) -> tuple[float, ...]:
    m = r.mapping(node, path, cats, (), parent, key)
    for k in m:
        if isinstance(k, str) and k not in cats:
            pass  # reported by mapping() with a suggestion
    return tuple(r.number_field(m, path, c, allowed) if c in m else default for c in cats)


def _services(
    cx: _Context, node: Any, top: Any, cats: tuple[str, ...], has_admissions: bool
) -> tuple[Service, ...]:
    r = cx.r
    m = r.mapping(node, "services", None, (), top, "services")
    if not m and "services" in top:
        r.fail("services", "at least one health service is needed", top, "services")
    out = []
    for name in m:
        if isinstance(name, str):
            out.append(_service(cx, name, m[name], m, cats, has_admissions))
    return tuple(out)


def _service(
    cx: _Context, name: str, node: Any, parent: Any, cats: tuple[str, ...], has_adm: bool
) -> Service:
    r = cx.r
    p = f"services.{name}"
    m = r.mapping(node, p, SERVICE_KEYS, ("level", "volume"), parent, name)
    level = Level.INPATIENT
    if "level" in m:
        try:
            level = Level(m["level"])
        except ValueError:
            r.fail(
                f"{p}.level",
                f"expected 'inpatient' or 'outpatient', got {_show(m['level'])}"
                + suggest(str(m["level"]), ("inpatient", "outpatient")),
                m,
                "level",
            )
    volume = _volume(cx, m.get("volume"), f"{p}.volume", m, cats, has_adm)
    direct = "patient_cost" in m or "government_cost" in m
    by_type = "base_year_cost" in m
    patient_cost = government_cost = None
    components = None
    if direct and by_type:
        r.fail(
            p,
            "give either patient_cost/government_cost (per service) or base_year_cost (totals by cost "
            "type), not both",
            parent,
            name,
        )
    elif by_type:
        components = _components(r, m["base_year_cost"], f"{p}.base_year_cost", m)
        if volume.basis is VolumeBasis.COUNT and volume.amount == 0:
            r.fail(
                f"{p}.volume.count",
                "costs by cost type are divided by the base-year count, which is 0",
                m,
                "volume",
            )
    elif direct:
        patient_cost = r.number_input(m, p, _spec("services.*.patient_cost"))
        government_cost = r.number_input(m, p, _spec("services.*.government_cost"))
    else:
        r.fail(
            f"{p}.patient_cost",
            "the service needs a cost: patient_cost (and government_cost) per service, or "
            "base_year_cost by cost type",
            parent,
            name,
        )
    return Service(
        name=name,
        label=r.text(m.get("label", name), f"{p}.label", m, "label"),
        level=level,
        tier=r.text(m.get("tier", _spec("services.*.tier").default), f"{p}.tier", m, "tier"),
        unit=r.text(m.get("unit", _spec("services.*.unit").default), f"{p}.unit", m, "unit"),
        volume=volume,
        patient_cost=patient_cost,
        government_cost=government_cost,
        base_year_cost=components,
        copayment_rate=r.number_input(m, p, _spec("services.*.copayment_rate")),
        patient_import_share=r.number_input(m, p, _spec("services.*.patient_import_share")),
        government_import_share=r.number_input(m, p, _spec("services.*.government_import_share")),
        patient_cost_target=cx.target_field(m, p, "services.*.patient_cost_target")
        if "patient_cost_target" in m
        else None,
        government_cost_target=cx.target_field(m, p, "services.*.government_cost_target")
        if "government_cost_target" in m
        else None,
        case_rate=r.number_input(m, p, _spec("services.*.case_rate")) if "case_rate" in m else None,
    )


def _components(r: Reader, node: Any, path: str, parent: Any) -> tuple[CostComponent, ...]:
    m = r.mapping(node, path, COST_TYPES, (), parent, "base_year_cost")
    spec = "services.*.base_year_cost.*"
    out = []
    for c in COST_TYPES:
        if c not in m:
            out.append(CostComponent(total=0.0, government_share=0.0))
            continue
        cp = f"{path}.{c}"
        cm = r.mapping(m[c], cp, keys_under(spec), ("total",), m, c)
        out.append(
            CostComponent(
                total=r.number_input(cm, cp, _spec(f"{spec}.total")),
                government_share=r.number_input(cm, cp, _spec(f"{spec}.government_share")),
            )
        )
    return tuple(out)


def _volume(
    cx: _Context, node: Any, path: str, parent: Any, cats: tuple[str, ...], has_adm: bool
) -> Volume:
    r = cx.r
    m = r.mapping(node, path, VOLUME_KEYS, (), parent, "volume")
    given = [k for k in ("count", "rate_per_person", "per_admission") if k in m]
    if len(given) != 1:
        if m or node is not None:
            r.fail(
                path,
                "give exactly one of 'count' (services in the base year), 'rate_per_person' (services per "
                "person per year) or 'per_admission' (share of hospital admissions)",
                parent,
                "volume",
            )
        return Volume(basis=VolumeBasis.RATE_PER_PERSON, amount=0.0)
    kind = given[0]
    basis = {
        "count": VolumeBasis.COUNT,
        "rate_per_person": VolumeBasis.RATE_PER_PERSON,
        "per_admission": VolumeBasis.PER_ADMISSION,
    }[kind]
    amount = r.number_field(m, path, kind, _dom(f"services.*.volume.{kind}"))
    los = _spec("services.*.volume.length_of_stay").default
    if "length_of_stay" in m:
        if basis is not VolumeBasis.PER_ADMISSION:
            r.fail(
                f"{path}.length_of_stay",
                "length_of_stay goes with per_admission",
                m,
                "length_of_stay",
            )
        los = r.number_input(m, path, _spec("services.*.volume.length_of_stay"))
    if basis is VolumeBasis.PER_ADMISSION and not has_adm:
        r.fail(
            f"{path}.per_admission",
            "per_admission needs the scenario's admission_rate, which is not given",
            m,
            kind,
        )
    split = rel = None
    if "split" in m:
        if basis is not VolumeBasis.COUNT:
            r.fail(
                f"{path}.split", "split goes with count; with a rate use relative_use", m, "split"
            )
        elif m["split"] != "population":
            split = _by_category(
                r,
                m["split"],
                f"{path}.split",
                cats,
                _dom("services.*.volume.split"),
                0.0,  # a category left out of the split gets none of the count
                m,
                "split",
            )
            if all(math.isfinite(s) for s in split) and abs(sum(split) - 1.0) > SHARE_TOLERANCE:
                r.fail(
                    f"{path}.split",
                    f"shares of the base-year count by category must sum to 1, got "
                    f"{sum(split):.12g} (or write split: population)",
                    m,
                    "split",
                )
    if "relative_use" in m:
        if basis is VolumeBasis.COUNT:
            r.fail(
                f"{path}.relative_use",
                "relative_use goes with rate_per_person or per_admission; with a count use split",
                m,
                "relative_use",
            )
        else:
            rel = _by_category(
                r,
                m["relative_use"],
                f"{path}.relative_use",
                cats,
                _dom("services.*.volume.relative_use"),
                _spec("services.*.volume.relative_use").default,
                m,
                "relative_use",
            )
    return Volume(basis=basis, amount=amount, length_of_stay=los, split=split, relative_use=rel)


def _check_split_onto_people(
    r: Reader,
    base_year: int,
    demography: Demography,
    categories: tuple[Category, ...],
    services: tuple[Service, ...],
) -> None:
    """A base-year count can be split only onto categories that have people in the base year."""
    pop0, d0 = demography.population, demography.dependant_share.values[0]
    for svc in services:
        if svc.volume.split is None:
            continue
        for cat, share in zip(categories, svc.volume.split, strict=True):
            people = (
                d0 * pop0
                if cat.adult_share is None
                else cat.adult_share.values[0] * (1 - d0) * pop0
            )
            if share > 0 and not people > 0:
                r.fail(
                    f"services.{svc.name}.volume.split.{cat.name}",
                    f"{share:g} of the base-year count goes to '{cat.name}', which has no people in "
                    f"{base_year}; give it 0 or write split: population",
                )


RATE_TARGETS = "service_rate_targets.*"


def _rate_targets(
    cx: _Context, node: Any, top: Any, cats: tuple[str, ...], services: tuple[str, ...]
) -> tuple[RateTarget, ...]:
    r = cx.r
    if node is None:
        return ()
    if not isinstance(node, list):
        r.fail(
            "service_rate_targets",
            f"expected a list of targets, got {_show(node)}",
            top,
            "service_rate_targets",
        )
        return ()
    out = []
    for i, item in enumerate(node):
        p = f"service_rate_targets[{i}]"
        m = r.mapping(item, p, keys_under(RATE_TARGETS), ("service",), top, "service_rate_targets")
        if not m:
            continue
        svc = r.text(m.get("service", ""), f"{p}.service", m, "service")
        if svc and svc not in services:
            r.fail(
                f"{p}.service",
                f"unknown service '{svc}'{suggest(svc, services)} (services: "
                f"{', '.join(services)})",
                m,
                "service",
            )
        chosen = m.get("categories", list(cats))
        if isinstance(chosen, str):
            chosen = [chosen]
        if not isinstance(chosen, list):
            r.fail(f"{p}.categories", "expected a list of category names", m, "categories")
            chosen = []
        for c in chosen:
            if c not in cats:
                r.fail(
                    f"{p}.categories",
                    f"unknown category '{c}'{suggest(str(c), cats)} (categories: "
                    f"{', '.join(cats)})",
                    m,
                    "categories",
                )
        rest = {k: v for k, v in m.items() if k in _TARGET_KEYS}
        tgt = cx.target(rest, p, RATE_TARGETS, top, "service_rate_targets")
        if tgt is not None:
            out.append(
                RateTarget(service=svc, categories=tuple(str(c) for c in chosen), target=tgt)
            )
    return tuple(out)


def _administration(cx: _Context, node: Any, top: Any) -> tuple[AdminItem, ...]:
    r = cx.r
    m = r.mapping(node, "administration", None, (), top, "administration")
    out = []
    for name in m:
        if not isinstance(name, str):
            continue
        p = f"administration.{name}"
        im = r.mapping(m[name], p, ADMIN_KEYS, (), m, name)
        given = [k for k in ("amount", "share_of_payments", "per_member") if k in im]
        if len(given) != 1:
            r.fail(
                p,
                "give exactly one of 'amount' (base-year amount), 'share_of_payments' (of the scheme's health "
                "care payments) or 'per_member' (amount per member per year)",
                m,
                name,
            )
            continue
        kind = given[0]
        every = r.flag(
            im.get("every_year", _spec("administration.*.every_year").default),
            f"{p}.every_year",
            im,
            "every_year",
        )
        if every and kind != "share_of_payments":
            r.fail(f"{p}.every_year", "every_year goes with share_of_payments", im, "every_year")
        basis = {
            "amount": AdminBasis.AMOUNT,
            "share_of_payments": AdminBasis.SHARE_OF_PAYMENTS_EVERY_YEAR
            if every
            else AdminBasis.SHARE_OF_PAYMENTS,
            "per_member": AdminBasis.PER_MEMBER,
        }[kind]
        value = r.number_field(im, p, kind, _dom(f"administration.*.{kind}"))
        growth = cx.path_input(im, p, _spec("administration.*.real_growth"))
        out.append(AdminItem(name=name, basis=basis, value=value, real_growth=growth))
    return tuple(out)


def _subsidies(cx: _Context, node: Any, path: str, parent: Any) -> tuple[PremiumSubsidy, ...]:
    """(extension) ``premium_subsidy``: one mapping or a list, each {payer, share and/or amount}."""
    r = cx.r
    items = node if isinstance(node, list) else [node]
    out = []
    payers: set[Payer] = set()
    for i, item in enumerate(items):
        p = f"{path}[{i}]" if isinstance(node, list) else path
        m = r.mapping(item, p, _PAYER_KEYS, (), parent, "premium_subsidy")
        if not m:
            continue
        try:
            payer = Payer(m.get("payer", "government"))
        except ValueError:
            r.fail(
                f"{p}.payer",
                f"expected 'government' or 'donor', got {m.get('payer')!r}"
                + suggest(str(m.get("payer")), ("government", "donor")),
                m,
                "payer",
            )
            continue
        if payer in payers:
            r.fail(
                f"{p}.payer",
                f"two subsidies from the {payer.value}: give one with both share and amount",
                m,
                "payer",
            )
        payers.add(payer)
        if "share" not in m and "amount" not in m:
            r.fail(
                p,
                "give the share of the premium the payer pays ('share'), a fixed amount per member "
                "('amount'), or both",
                parent,
                "premium_subsidy",
            )
        spec = f"categories.*.premium_subsidy.{payer.value}"
        share = cx.path_input(m, p, _spec(f"{spec}.share"))
        amount = cx.path_input(m, p, _spec(f"{spec}.amount"))
        out.append(PremiumSubsidy(payer=payer, share=share, amount=amount))
    return tuple(out)


PAY = "provider_payment.*"


def _provider_payment(
    cx: _Context, node: Any, top: Any, services: tuple[Service, ...]
) -> tuple[TierPayment, ...]:
    """(extension) ``provider_payment``: payment method by facility tier (paper section 2.2.4)."""
    if node is None:
        return ()
    r = cx.r
    tiers = tuple(dict.fromkeys(s.tier for s in services))
    m = r.mapping(node, "provider_payment", tiers, (), top, "provider_payment")
    out = []
    for tier, raw in m.items():
        if tier not in tiers:
            continue  # reported by mapping() with the valid tiers
        p = f"provider_payment.{tier}"
        tm = r.mapping(raw, p, keys_under(PAY), ("method",), m, tier)
        try:
            method = PaymentMethod[str(tm.get("method", "fee_for_service")).upper()]
        except KeyError:
            names = [x.name.lower() for x in PaymentMethod]
            r.fail(
                f"{p}.method",
                f"expected one of {', '.join(names)}, got {tm.get('method')!r}"
                + suggest(str(tm.get("method")), names),
                tm,
                "method",
            )
            continue
        if method is PaymentMethod.CAPITATION and "capitation" not in tm:
            r.fail(
                f"{p}.capitation",
                "a capitated tier needs its amount per insured member per year (base-year prices)",
                m,
                tier,
            )
        if method is not PaymentMethod.CAPITATION and "capitation" in tm:
            r.fail(f"{p}.capitation", "capitation goes with method: capitation", tm, "capitation")
        if method is PaymentMethod.PER_CASE:
            for s in services:
                if s.tier == tier and s.case_rate is None:
                    r.fail(
                        f"services.{s.name}.case_rate",
                        f"tier '{tier}' is paid per case: the service needs "
                        "a case_rate (payment per case, base-year prices)",
                        m,
                        tier,
                    )
        cap = cx.path_input(tm, p, _spec(f"{PAY}.capitation"))
        bp = f"{p}.performance_bonus"
        bonus = (
            r.mapping(
                tm.get("performance_bonus"),
                bp,
                keys_under(f"{PAY}.performance_bonus"),
                ("share",),
                tm,
                "performance_bonus",
            )
            if "performance_bonus" in tm
            else {}
        )
        share = cx.path_input(bonus, bp, _spec(f"{PAY}.performance_bonus.share"))
        achieved = cx.path_input(bonus, bp, _spec(f"{PAY}.performance_bonus.achievement"))
        out.append(
            TierPayment(
                tier=tier,
                method=method,
                capitation=cap,
                bonus_share=share,
                bonus_achievement=achieved,
            )
        )
    return tuple(out)


def _coverage_target(
    cx: _Context, node: Any, top: Any, cats: tuple[str, ...]
) -> CoverageTarget | None:
    """(extension) ``coverage_target``: a target share of the whole population insured."""
    r = cx.r
    m = r.mapping(
        node,
        "coverage_target",
        keys_under("coverage_target"),
        ("population_share",),
        top,
        "coverage_target",
    )
    if "population_share" not in m:
        return None
    rules = {
        "close_gap_evenly": CoverageRule.CLOSE_GAP_EVENLY,
        "same_share": CoverageRule.SAME_SHARE,
    }
    rule_name = str(m.get("rule", _spec("coverage_target.rule").default))
    if rule_name not in rules:
        r.fail(
            "coverage_target.rule",
            f"expected one of {', '.join(rules)}, got {rule_name!r}" + suggest(rule_name, rules),
            m,
            "rule",
        )
        return None
    chosen = m.get("categories", list(cats))
    if not isinstance(chosen, list) or not chosen:
        r.fail("coverage_target.categories", "expected a list of category names", m, "categories")
        return None
    for c in chosen:
        if c not in cats:
            r.fail(
                "coverage_target.categories",
                f"unknown category '{c}'{suggest(str(c), cats)} (categories: {', '.join(cats)})",
                m,
                "categories",
            )
    share = cx.path_input(m, "coverage_target", _spec("coverage_target.population_share"))
    return CoverageTarget(
        population_share=share, rule=rules[rule_name], categories=tuple(str(c) for c in chosen)
    )


def _reserve(cx: _Context, node: Any, top: Any) -> Reserve:
    r = cx.r
    m = r.mapping(node, "reserve", keys_under("reserve"), (), top, "reserve")
    initial = r.number_input(m, "reserve", _spec("reserve.initial"))
    rate = cx.path_input(m, "reserve", _spec("reserve.interest_rate"))
    return Reserve(initial=initial, interest_rate=rate)


def _to_float(node: Any) -> float | None:
    """A YAML number, or a fraction written as text ("1/3"), as a float (inf when too large)."""
    if isinstance(node, bool):
        return None
    if isinstance(node, int | float):
        try:
            return float(node)
        except OverflowError:  # an integer of more than 308 digits
            return math.inf if node > 0 else -math.inf
    if isinstance(node, str) and len(node) <= 200:
        match = _FRACTION.match(node)
        if match:
            num, den = Fraction(match.group(1)), Fraction(match.group(2))
            if den == 0:
                return None
            try:
                return float(num / den)
            except OverflowError:
                return math.inf
    return None


def _percent(node: Any) -> float | None:
    """A percentage written with its sign ("15 %") as a fraction (0.15); None otherwise."""
    if isinstance(node, str) and len(node) <= 200:
        match = _PERCENT.match(node)
        if match:
            return float(match.group(1)) / 100.0
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(node: Any) -> str:
    if isinstance(node, Mapping):
        return "a mapping"
    if isinstance(node, list):
        return "a list"
    if node is None:
        return "nothing"
    return repr(node)


def _fmt(x: float) -> str:
    return f"{x:.12g}"
