"""Distributions files: which scenario inputs are uncertain and how, parsed and bound to a scenario.

A distributions file (YAML) lists *entries*. Each names a scenario input by its
readable path, says how a drawn value applies to it (replace, scale, shift; for
a per-year path: every year, the target of a linear path, or a drawn time
series), its time structure (once per projection, each year independently,
or AR(1)) and its distribution. An optional block of rank correlations ties
entries together through a Gaussian copula that keeps every marginal.

:func:`load_space` parses, validates against the scenario and returns a
:class:`ParameterSpace`: the columns the sampler fills, their marginals, and
the kernel modification table that turns a row of drawn values into inputs.
"""

from __future__ import annotations

import enum
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from schemerisk.errors import InputError, Problem, suggest
from schemerisk.model.kernel import ELEMENT, PATH_TARGET, REPLACE, SCALE, SHIFT, Modifications
from schemerisk.model.layout import ModelInputs, compile_inputs
from schemerisk.scenario.builtin import resolve_builtin
from schemerisk.scenario.parse import Reader, _show, load_yaml, read_input_text
from schemerisk.scenario.types import Scenario
from schemerisk.uncertainty.families import FAMILIES, FamilyError, Marginal, make_marginal
from schemerisk.uncertainty.targets import InputKind, TargetSlot, path_target_weights, resolve


class DistributionsError(InputError):
    """Raised when a distributions file is invalid; lists every problem."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        super().__init__(source, problems, kind="distributions")


class Apply(enum.Enum):
    """How a drawn value changes the input."""

    REPLACE = "replace"
    SCALE = "scale"
    SHIFT = "shift"


class PathMode(enum.Enum):
    """Where on a per-year path a drawn value applies."""

    EVERY_YEAR = "every_year"
    TARGET = "target"
    SERIES = "series"


class Time(enum.Enum):
    """How draws are structured in time."""

    ONCE = "once"
    EACH_YEAR = "each_year"
    AR1 = "ar1"


_APPLY_CODE = {Apply.REPLACE: REPLACE, Apply.SCALE: SCALE, Apply.SHIFT: SHIFT}
ENTRY_KEYS = (
    "target",
    "apply",
    "path",
    "time",
    "persistence",
    "distribution",
    "clip",
    "note",
    "label",
    "kind",
)
TOP_KEYS = ("scenario", "title", "notes", "inputs", "correlations")


@dataclass(frozen=True)
class Entry:
    """One uncertain input.

    Attributes
    ----------
    name : str
        The entry's name (used for ``input_<name>`` in the cube).
    slot : TargetSlot
        The scenario input(s) it changes.
    apply : Apply
        Replace, scale or shift.
    path_mode : PathMode
        For a per-year path: every year, the target, or a series.
    time : Time
        Once, each year, or AR(1).
    persistence : float
        AR(1) coefficient (0 unless ``time`` is AR1).
    marginal : Marginal
        The distribution of the drawn value (each year's, for a series).
    clip : bool
        Whether draws outside the input's range are clipped into it.
    note : str
        The user's note (rationale, source).
    """

    name: str
    slot: TargetSlot
    apply: Apply
    path_mode: PathMode
    time: Time
    persistence: float
    marginal: Marginal
    clip: bool
    note: str
    label: str = (
        ""  #: readable name for reports ("the admission rate"); default from the entry name
    )
    #: data the scheme can collect, or an environment it can only prepare for (``kind:``;
    #: default from the target, see :data:`~schemerisk.uncertainty.targets.ENVIRONMENT_TARGETS`)
    kind: InputKind = InputKind.DATA

    @property
    def is_series(self) -> bool:
        """True when the entry draws one value per year."""
        return self.time is not Time.ONCE


@dataclass(frozen=True)
class CorrelationBlock:
    """Rank (Spearman) correlations among some entries, and the copula factor that imposes them."""

    entries: tuple[str, ...]
    rank: np.ndarray  # Spearman matrix as given
    factor: np.ndarray  # lower factor L of the Gaussian copula's Pearson matrix, L L' = R
    #: for per-year entries, the factor for the innovations after the first year, which keeps the
    #: same-year correlation R in every year when the entries' AR(1) persistences differ
    innovation_factor: np.ndarray | None = None


@dataclass(frozen=True)
class ParameterSpace:
    """Every uncertain input of a scenario, bound to its compiled inputs.

    Attributes
    ----------
    entries : tuple of Entry
        In file order.
    correlations : tuple of CorrelationBlock
        Copula blocks.
    scenario : Scenario
        The scenario the entries target.
    inputs : ModelInputs
        Its compiled inputs.
    columns : dict
        Entry name -> column indices in a design row (one, or one per year).
    modifications : Modifications
        How a row of drawn values changes the inputs.
    source, sha256 : str
        Where the file came from, and its hash.
    """

    entries: tuple[Entry, ...]
    correlations: tuple[CorrelationBlock, ...]
    scenario: Scenario
    inputs: ModelInputs
    columns: dict[str, np.ndarray]
    modifications: Modifications
    source: str
    sha256: str

    @property
    def n_columns(self) -> int:
        """Number of drawn values per projection."""
        return sum(len(c) for c in self.columns.values())

    def entry(self, name: str) -> Entry:
        """Return the entry called ``name``."""
        return next(e for e in self.entries if e.name == name)

    def groups(self) -> dict[str, tuple[str, ...]]:
        """Groups of entries for sensitivity analysis, by group name.

        A whole per-year path is one entry, so one group (an AR(1) inflation
        series gets one index). Entries tied by a correlation block form one
        group named ``"a + b"``: variance-based indices assume independent
        inputs, and treating a correlated block as one factor keeps them valid.
        """
        block_of = {name: blk for blk in self.correlations for name in blk.entries}
        out: dict[str, tuple[str, ...]] = {}
        for e in self.entries:
            members = block_of[e.name].entries if e.name in block_of else (e.name,)
            out.setdefault(" + ".join(members), members)
        return out

    def column_groups(self) -> list[str]:
        """The group (see :meth:`groups`) each design column belongs to."""
        labels = [""] * self.n_columns
        for group, members in self.groups().items():
            for name in members:
                for c in self.columns[name]:
                    labels[int(c)] = group
        return labels


def load_space(
    source: str | Path, scenario: Scenario, inputs: ModelInputs | None = None
) -> ParameterSpace:
    """Load a distributions file (or built-in name) and bind it to ``scenario``.

    Parameters
    ----------
    source : str or Path
        A YAML file, or the name of a built-in distributions file.
    scenario : Scenario
        The scenario whose inputs the entries target.
    inputs : ModelInputs, optional
        Its compiled inputs (compiled here if omitted).

    Returns
    -------
    ParameterSpace
        The validated space.

    Raises
    ------
    DistributionsError
        With every problem found, each naming the entry and the reason.
    """
    path = resolve_builtin(source, "distributions")
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):  # the Distributions sheet
        from schemerisk.scenario.workbook import distributions_text, readdress

        text, cells = distributions_text(path)
        try:
            return parse_space(text, scenario, str(path), inputs)
        except InputError as exc:
            raise readdress(exc, str(path), cells, "Distributions") from None
    try:  # the same checks and messages as for a scenario file: size, readable, UTF-8
        text = read_input_text(path, "distributions")
    except InputError as exc:
        raise DistributionsError(exc.source, list(exc.problems)) from None
    return parse_space(text, scenario, str(path), inputs)


def parse_space(
    text: str, scenario: Scenario, source: str = "<string>", inputs: ModelInputs | None = None
) -> ParameterSpace:
    """Parse distributions YAML text and bind it to ``scenario``; see :func:`load_space`."""
    doc = load_yaml(text, source, "distributions")
    inputs = inputs if inputs is not None else compile_inputs(scenario)
    problems: list[Problem] = []
    r = Reader(problems)
    top = r.mapping(doc, "", TOP_KEYS, ("inputs",))
    raw_entries = r.mapping(top.get("inputs"), "inputs", None, (), top, "inputs") if top else {}
    if top and "inputs" in top and not raw_entries:
        r.fail("inputs", "no uncertain inputs are listed", top, "inputs")
    for key in ("scenario", "title"):
        if top and key in top:
            r.text(top[key], key, top, key)
    if top and "notes" in top:
        notes = top["notes"] if isinstance(top["notes"], list) else [top["notes"]]
        for i, note in enumerate(notes):
            r.text(note, f"notes[{i}]" if isinstance(top["notes"], list) else "notes", top, "notes")
    entries: list[Entry] = []
    for name, node in raw_entries.items():
        entry = _entry(r, str(name), node, raw_entries, scenario, inputs)
        if entry is not None:
            entries.append(entry)
    names = [str(n) for n in raw_entries]
    blocks = _correlations(r, top.get("correlations") if top else None, top, names, entries)
    if problems:
        raise DistributionsError(source, problems)
    columns, mods = _layout(entries, scenario, inputs)
    return ParameterSpace(
        entries=tuple(entries),
        correlations=tuple(blocks),
        scenario=scenario,
        inputs=inputs,
        columns=columns,
        modifications=mods,
        source=source,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _entry(
    r: Reader, name: str, node: Any, parent: Any, sc: Scenario, inputs: ModelInputs
) -> Entry | None:
    p = f"inputs.{name}"
    m = r.mapping(node, p, ENTRY_KEYS, ("target", "distribution"), parent, name)
    if "target" not in m or "distribution" not in m:
        return None
    n_before = len(r.problems)
    target = r.text(m["target"], f"{p}.target", m, "target")
    try:
        slot = resolve(target, sc, inputs)
    except KeyError as exc:
        r.fail(f"{p}.target", str(exc.args[0]), m, "target")
        return None
    apply_ = _choice(r, m, "apply", Apply, Apply.REPLACE, p)
    time = _choice(r, m, "time", Time, Time.ONCE, p)
    default_path = PathMode.SERIES if time is not Time.ONCE else PathMode.EVERY_YEAR
    path_mode = _choice(r, m, "path", PathMode, default_path, p)
    if not slot.is_path:
        if time is not Time.ONCE or "path" in m:
            r.fail(
                p,
                f"'{target}' is a single value, not a per-year path: use time: once and no 'path'",
                parent,
                name,
            )
    else:
        if path_mode is PathMode.SERIES and time is Time.ONCE:
            r.fail(f"{p}.path", "a drawn series needs time: each_year or time: ar1", m, "path")
        if path_mode is not PathMode.SERIES and time is not Time.ONCE:
            r.fail(
                f"{p}.path",
                f"time: {time.value} draws a series: write path: series (or leave it out)",
                m,
                "path",
            )
        if (
            path_mode is PathMode.TARGET
            and slot.paths
            and any(yp.linear is None for yp in slot.paths)
        ):
            r.fail(
                f"{p}.path",
                f"path: target needs '{target}' to be written in the scenario as a move to a "
                "target ({base, target, arrival})",
                m,
                "path",
            )
    persistence = 0.0
    if time is Time.AR1:
        if "persistence" not in m:
            r.fail(
                f"{p}.persistence",
                "time: ar1 needs a persistence between -1 and 1 (e.g. 0.6)",
                m,
                "time",
            )
        else:
            persistence = r.number(  # range checked just below, strictly inside (-1, 1)
                m["persistence"],
                f"{p}.persistence",
                None,
                None,
                "a persistence strictly between -1 and 1",
                m,
                "persistence",
            )
            if abs(persistence) >= 1.0:
                r.fail(
                    f"{p}.persistence",
                    f"{persistence:g} is out of range: expected a persistence strictly "
                    "between -1 and 1",
                    m,
                    "persistence",
                )
    elif "persistence" in m:
        r.fail(f"{p}.persistence", "persistence goes with time: ar1", m, "persistence")
    clip = r.flag(m.get("clip", False), f"{p}.clip", m, "clip")
    note = r.text(m.get("note", ""), f"{p}.note", m, "note") if "note" in m else ""
    marginal = _distribution(r, m["distribution"], f"{p}.distribution", m)
    if marginal is None or len(r.problems) > n_before:
        return None
    label = r.text(m["label"], f"{p}.label", m, "label") if "label" in m else ""
    kind = _choice(r, m, "kind", InputKind, slot.kind, p)
    entry = Entry(
        name, slot, apply_, path_mode, time, persistence, marginal, clip, note, label, kind
    )
    if not clip:
        _check_support(r, entry, sc, inputs, p, parent, name)
    return entry


def _choice(
    r: Reader, m: Mapping[str, Any], key: str, enum_: type[enum.Enum], default: Any, p: str
) -> Any:
    if key not in m:
        return default
    valid = [e.value for e in enum_]
    try:
        return enum_(m[key])
    except ValueError:
        r.fail(
            f"{p}.{key}",
            f"expected one of {', '.join(valid)}, got {m[key]!r}{suggest(str(m[key]), valid)}",
            m,
            key,
        )
        return default


def _distribution(r: Reader, node: Any, p: str, parent: Any) -> Marginal | None:
    if not isinstance(node, Mapping):
        r.fail(
            p,
            "expected a mapping with a 'family' and its parameters, e.g. {family: normal, mean: 0.15, "
            "sd: 0.05}",
            parent,
            "distribution",
        )
        return None
    if "family" not in node:
        r.fail(
            f"{p}.family",
            f"required key is missing (families: {', '.join(FAMILIES)})",
            parent,
            "distribution",
        )
        return None
    params = {k: v for k, v in node.items() if k != "family"}
    try:
        return make_marginal(str(node["family"]), params)
    except FamilyError as exc:
        r.fail(p, str(exc), parent, "distribution")
        return None


def _resulting_values(entry: Entry, x: float, sc: Scenario, inputs: ModelInputs) -> np.ndarray:
    """The input values a drawn value ``x`` would give, at every position the entry changes."""
    slot = entry.slot
    base = inputs.vector[slot.positions]
    if entry.path_mode is PathMode.TARGET:
        w, targets = path_target_weights(slot, sc.base_year)
        new_t = _apply_value(entry.apply, targets, x)
        return base + w * (new_t - targets)
    return _apply_value(entry.apply, base, x)


def _apply_value(apply_: Apply, base: np.ndarray, x: float) -> np.ndarray:
    if apply_ is Apply.REPLACE:
        return np.full(base.shape, x)
    if apply_ is Apply.SCALE:
        with np.errstate(invalid="ignore"):
            return np.where(base == 0, 0.0, base * x)
    return base + x


def _check_support(
    r: Reader, entry: Entry, sc: Scenario, inputs: ModelInputs, p: str, parent: Any, name: str
) -> None:
    """A distribution whose range could push an input outside its own range is an error (unless clipped)."""
    lo_dom, hi_dom, lo_open, what = entry.slot.domain.bounds()
    lo, hi = entry.marginal.support()
    # a continuous distribution never draws the ends of its support (a lognormal never draws 0)
    ends_reached = entry.marginal.is_discrete
    for x in (lo, hi):
        vals = _resulting_values(entry, x, sc, inputs)
        bad_lo = vals <= lo_dom if lo_open and ends_reached else vals < lo_dom
        bad = bad_lo | (vals > hi_dom)
        if np.any(bad):
            worst = vals[bad].flat[0]
            r.fail(
                p,
                f"a {entry.marginal.describe()} draw can push {entry.slot.path} to {worst:g}, outside its "
                f"range ({what}); use a family bounded to that range (beta, truncated_normal, pert, uniform, "
                "triangular) or add clip: true",
                parent,
                name,
            )
            return


def _correlations(
    r: Reader, node: Any, top: Any, names: list[str], entries: list[Entry]
) -> list[CorrelationBlock]:
    if node is None:
        return []
    blocks_raw = [node] if isinstance(node, Mapping) else node
    if not isinstance(blocks_raw, list):
        r.fail(
            "correlations",
            "expected a list of blocks, each with 'entries' and 'matrix'",
            top,
            "correlations",
        )
        return []
    by_name = {e.name: e for e in entries}
    seen: set[str] = set()
    out = []
    for b, raw in enumerate(blocks_raw):
        p = f"correlations[{b}]"
        m = r.mapping(raw, p, ("entries", "matrix"), ("entries", "matrix"), top, "correlations")
        if "entries" not in m or "matrix" not in m:
            continue
        ents = m["entries"]
        if not isinstance(ents, list) or len(ents) < 2:
            r.fail(f"{p}.entries", "expected a list of at least two entry names", m, "entries")
            continue
        ok = True
        for e in ents:
            if not isinstance(e, str):
                r.fail(
                    f"{p}.entries",
                    f"expected entry names, got {_show(e)} (entries: {', '.join(names)})",
                    m,
                    "entries",
                )
                ok = False
            elif e not in names:
                r.fail(
                    f"{p}.entries",
                    f"unknown entry '{e}'{suggest(str(e), names)} (entries: {', '.join(names)})",
                    m,
                    "entries",
                )
                ok = False
            elif e in seen:
                r.fail(
                    f"{p}.entries",
                    f"entry '{e}' appears in more than one correlation block",
                    m,
                    "entries",
                )
                ok = False
            seen.add(str(e))
        if all(isinstance(e, str) for e in ents) and len(set(ents)) != len(ents):
            r.fail(f"{p}.entries", "an entry is listed twice", m, "entries")
            ok = False
        mat = _matrix(r, m["matrix"], f"{p}.matrix", len(ents), m)
        if mat is None or not ok:
            continue
        if all(e in by_name for e in ents) and len({by_name[e].is_series for e in ents}) > 1:
            r.fail(
                p,
                "correlated entries must all be drawn once, or all be drawn each year",
                top,
                "correlations",
            )
            continue
        factor = _copula_factor(r, mat, f"{p}.matrix", m)
        if factor is None:
            continue
        innovation = None
        if all(e in by_name for e in ents) and by_name[ents[0]].is_series:
            phis = np.array([by_name[e].persistence for e in ents])
            innovation = _innovation_factor(r, factor @ factor.T, phis, f"{p}.matrix", m)
            if innovation is None:
                continue
        out.append(CorrelationBlock(tuple(str(e) for e in ents), mat, factor, innovation))
    return out


def _innovation_factor(
    r: Reader, pearson: np.ndarray, phis: np.ndarray, p: str, parent: Any
) -> np.ndarray | None:
    """Factor of the innovations' correlation that keeps correlation ``pearson`` in every year.

    With ``z_it = phi_i z_i,t-1 + s_i e_it`` (``s_i = sqrt(1 - phi_i^2)``) and
    ``corr(z_i0, z_j0) = R_ij``, the same-year correlation stays ``R_ij`` when the
    innovations have correlation ``R_ij (1 - phi_i phi_j) / (s_i s_j)``; with equal
    persistences that is ``R`` itself.
    """
    s = np.sqrt(1.0 - phis**2)
    c = pearson * (1.0 - np.outer(phis, phis)) / np.outer(s, s)
    np.fill_diagonal(c, 1.0)
    vals, vecs = np.linalg.eigh(c)
    if vals.min() < -1e-10:
        r.fail(
            p,
            "these correlations cannot hold in every year with the entries' different persistences "
            "(the innovations' correlation matrix is not positive semi-definite); use closer persistences "
            "or weaker correlations",
            parent,
            "matrix",
        )
        return None
    try:
        return np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def _matrix(r: Reader, node: Any, p: str, n: int, parent: Any) -> np.ndarray | None:
    if (
        not isinstance(node, list)
        or len(node) != n
        or not all(isinstance(row, list) and len(row) == n for row in node)
    ):
        r.fail(
            p,
            f"expected a {n} x {n} matrix (a list of {n} rows of {n} numbers), one row per entry",
            parent,
            "matrix",
        )
        return None
    vals = [
        [r.number(v, f"{p}[{i}][{j}]", what="a correlation") for j, v in enumerate(row)]
        for i, row in enumerate(node)
    ]
    mat = np.asarray(vals, dtype=float)
    if not np.all(np.isfinite(mat)):
        return None
    problems = []
    if np.any(np.abs(mat) > 1.0):
        problems.append("every correlation must lie in [-1, 1]")
    if not np.allclose(np.diag(mat), 1.0):
        problems.append("the diagonal must be 1 (each entry's correlation with itself)")
    if not np.allclose(mat, mat.T, atol=1e-12):
        i, j = np.argwhere(~np.isclose(mat, mat.T, atol=1e-12))[0]
        problems.append(
            f"the matrix must be symmetric: [{i}][{j}] is {mat[i, j]:g} but [{j}][{i}] is {mat[j, i]:g}"
        )
    for msg in problems:
        r.fail(p, msg, parent, "matrix")
    if problems:
        return None
    eig = np.linalg.eigvalsh(mat)
    if eig.min() < -1e-10:
        r.fail(
            p,
            f"the matrix is not positive semi-definite (smallest eigenvalue {eig.min():.4g}): some "
            "correlations contradict each other",
            parent,
            "matrix",
        )
        return None
    return mat


def _copula_factor(r: Reader, rank: np.ndarray, p: str, parent: Any) -> np.ndarray | None:
    """Factor of the Gaussian copula's matrix giving the requested Spearman correlations.

    For a bivariate normal, Spearman's rho_s = (6/pi) arcsin(r/2), so the normal
    correlation that yields rho_s is r = 2 sin(pi rho_s / 6) (Kruskal 1958).
    """
    pearson = 2.0 * np.sin(np.pi * rank / 6.0)
    np.fill_diagonal(pearson, 1.0)
    vals, vecs = np.linalg.eigh(pearson)
    if vals.min() < -1e-10:
        r.fail(
            p,
            "these rank correlations cannot be imposed together through a Gaussian copula (the implied "
            "normal correlation matrix is not positive semi-definite)",
            parent,
            "matrix",
        )
        return None
    try:
        return np.linalg.cholesky(pearson)
    except np.linalg.LinAlgError:  # semi-definite: use the symmetric square root
        return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def _layout(
    entries: list[Entry], sc: Scenario, inputs: ModelInputs
) -> tuple[dict[str, np.ndarray], Modifications]:
    """Assign design columns to entries and build the kernel's modification table."""
    n_years = inputs.dims.n_years
    columns: dict[str, np.ndarray] = {}
    rows: dict[str, list[float]] = {
        k: []
        for k in ("column", "position", "mode", "kind", "weight", "reference", "lower", "upper")
    }

    def add(col: int, pos: int, entry: Entry, kind: int, weight: float, ref: float) -> None:
        lo, hi, lo_open, _ = entry.slot.domain.bounds()
        rows["column"].append(col)
        rows["position"].append(pos)
        rows["mode"].append(_APPLY_CODE[entry.apply])
        rows["kind"].append(kind)
        rows["weight"].append(weight)
        rows["reference"].append(ref)
        if entry.clip:
            rows["lower"].append(float(np.nextafter(lo, np.inf)) if lo_open else lo)
            rows["upper"].append(hi)
        else:
            rows["lower"].append(-math.inf)
            rows["upper"].append(math.inf)

    col = 0
    for e in entries:
        pos = e.slot.positions
        if e.is_series:
            columns[e.name] = np.arange(col, col + n_years)
            for t in range(n_years):
                for k in range(pos.shape[1]):
                    add(col + t, int(pos[t, k]), e, ELEMENT, 1.0, 0.0)
            col += n_years
            continue
        columns[e.name] = np.array([col])
        if e.path_mode is PathMode.TARGET:
            w, targets = path_target_weights(e.slot, sc.base_year)
            for t in range(pos.shape[0]):
                for k in range(pos.shape[1]):
                    if w[t, k] > 0.0:
                        add(col, int(pos[t, k]), e, PATH_TARGET, float(w[t, k]), float(targets[k]))
        else:
            for i in pos.flat:
                add(col, int(i), e, ELEMENT, 1.0, 0.0)
        col += 1
    mods = Modifications(**{k: np.asarray(v) for k, v in rows.items()})
    return columns, mods
