"""Readable paths to the numeric inputs of a scenario, and where they sit in the kernel's input vector.

A distributions file names what it makes uncertain by the same key path the
scenario file uses: ``admission_rate``, ``economy.domestic_inflation``,
``categories.farmers.insured_share``, ``services.consultation_commune.patient_cost``,
``administration.other.real_growth``. A ``*`` in place of a category, service or
item name matches them all (``categories.*.income_growth``).

Which inputs may be drawn, their field in the input vector, their domain and
their default kind are the catalogue's (:mod:`schemerisk.catalogue`); this module
finds the ones a scenario has, and where.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from schemerisk.catalogue import CATALOGUE, PAYERS, Domain, Entry, Kind
from schemerisk.equations import target_progress
from schemerisk.model.layout import In, ModelInputs
from schemerisk.scenario.types import (
    COST_TYPES,
    CostComponent,
    PaymentMethod,
    Scenario,
    VolumeBasis,
    YearPath,
)

#: whether a scheme can pin an uncertain input down (data), or only prepare for it (environment)
InputKind = Kind

#: every input a distributions file may draw, by its target pattern (``categories.*.income``)
TARGETS: dict[str, Entry] = {e.target: e for e in CATALOGUE if e.target is not None}

#: the targets whose default kind is environment: the economy and demography a scheme cannot
#: measure in advance, which it can only prepare for (premiums indexed to prices or wages, a
#: reserve). A distributions entry may say otherwise with ``kind:``.
ENVIRONMENT_TARGETS = tuple(t for t, e in TARGETS.items() if e.kind == Kind.ENVIRONMENT.value)


@functools.cache
def _target_patterns() -> tuple[tuple[re.Pattern[str], Entry], ...]:
    """A regular expression for each target: ``*`` (a name, a list index) matches any text."""
    return tuple(
        (re.compile(".+".join(re.escape(part) for part in t.split("*"))), e)
        for t, e in TARGETS.items()
    )


def target_entry(path: str) -> Entry | None:
    """The catalogue entry of a concrete target path (``categories.farmers.income``).

    Parameters
    ----------
    path : str
        A path as :func:`catalogue` lists it.

    Returns
    -------
    Entry or None
        Its declaration; None for a path no target matches.
    """
    return next((e for pat, e in _target_patterns() if pat.fullmatch(path)), None)


def default_kind(paths: tuple[str, ...] | list[str]) -> InputKind:
    """The default kind of the concrete target paths an entry changes.

    Environment when every path's catalogue entry is of that kind; data otherwise.
    """
    kinds = [getattr(target_entry(p), "kind", None) for p in paths]
    env = all(k == Kind.ENVIRONMENT.value for k in kinds)
    return InputKind.ENVIRONMENT if paths and env else InputKind.DATA


def _at(pattern: str) -> tuple[In, Domain]:
    """The input-vector field and the domain of a target."""
    e = TARGETS[pattern]
    assert e.field is not None  # every target has a place in the input vector
    return In[e.field], e.domain


@dataclass(frozen=True)
class TargetSlot:
    """One readable input and where its values sit in the input vector.

    Attributes
    ----------
    path : str
        The readable path (wildcards expanded into ``matches``).
    positions : numpy.ndarray
        int64, shape (n_years, n_matches) for a per-year path, (1, n_matches) otherwise.
    is_path : bool
        True for per-year paths.
    paths : tuple of YearPath or None
        The scenario's paths for each match (for applying to a linear path's target).
    domain : Domain
        The allowed values (the catalogue's; where a wildcard matches inputs of different
        domains, the values within every one).
    matches : tuple of str
        The concrete paths matched.
    kind : InputKind
        The default kind of the matches (:func:`default_kind`).
    """

    path: str
    positions: np.ndarray
    is_path: bool
    paths: tuple[YearPath, ...] | None
    domain: Domain
    matches: tuple[str, ...]
    kind: InputKind = InputKind.DATA


#: the targets whose presence or position depends on the form a file used, a choice, a payer or a
#: facility tier: :func:`_form_path_slots` and :func:`_form_scalar_slots` find them. Every other target is found where its entry's
#: ``attr`` reaches a value in the typed scenario (:func:`_attr_slots`), so a new input that
#: goes into its field as it is needs no line here.
BY_FORM = frozenset(
    {
        # drawn under parity even when the file gives none (as a path of zeros)
        "economy.exchange_rate.real_depreciation",
        # the payer's name is in the key path, the item is a subsidy
        *(
            f"categories.*.premium_subsidy.{payer}.{key}"
            for payer in PAYERS
            for key in ("share", "amount")
        ),
        # a tier's position is its place among the services' tiers; capitation only when used
        "provider_payment.*.capitation",
        "provider_payment.*.performance_bonus.share",
        "provider_payment.*.performance_bonus.achievement",
        # which of the volume's forms the file used; the length of stay only per admission
        "services.*.volume.count",
        "services.*.volume.rate_per_person",
        "services.*.volume.per_admission",
        "services.*.volume.length_of_stay",
        # a target or a ratio
        "services.*.patient_cost_target.target",
        "services.*.patient_cost_target.ratio",
        "services.*.government_cost_target.target",
        "services.*.government_cost_target.ratio",
        # which of an administrative item's forms the file used
        "administration.*.amount",
        "administration.*.share_of_payments",
        "administration.*.per_member",
        # a list item sets cells of several categories
        *(f"service_rate_targets[*].{key}" for key in ("target", "ratio", "delay", "arrival")),
    }
)


def _walk(
    obj: Any, attr: tuple[str, ...], names: tuple[str, ...] = (), idx: tuple[int, ...] = ()
) -> Iterator[tuple[tuple[str, ...], tuple[int, ...], Any]]:
    """``(names, index, value)`` for each item an attribute path with ``*`` reaches in the typed
    scenario: the names of the items (a cost type's for ``base_year_cost``), their positions;
    a part that is None (absent) reaches nothing."""
    if obj is None:
        return
    if not attr:
        yield names, idx, obj
        return
    head, rest = attr[0], attr[1:]
    if head != "*":
        yield from _walk(getattr(obj, head), rest, names, idx)
        return
    for i, item in enumerate(obj):
        name = COST_TYPES[i] if isinstance(item, CostComponent) else str(item.name)
        yield from _walk(item, rest, (*names, name), (*idx, i))


def _attr_slots(sc: Scenario) -> Iterator[tuple[str, str, tuple[int, ...], Any]]:
    """The scenario's targets found from their entries: (target pattern, concrete path, index,
    its value: a YearPath or a number)."""
    for pattern, e in TARGETS.items():
        if pattern in BY_FORM:
            continue
        for names, idx, value in _walk(sc, tuple(e.attr.split("."))):
            path = pattern
            for name in names:
                path = path.replace("*", name, 1)
            yield pattern, path, idx, value


def _form_path_slots(
    inputs: ModelInputs, sc: Scenario
) -> Iterator[tuple[str, str, tuple[int, ...], YearPath]]:
    """The per-year targets of :data:`BY_FORM`: (target pattern, concrete path, index, path)."""
    e = sc.economy
    if e.purchasing_power_parity:
        zero = e.real_depreciation or YearPath.constant(0.0, inputs.dims.n_years)
        yield "economy.exchange_rate.real_depreciation", "", (), zero
    for c, cat in enumerate(sc.categories):
        for sub in cat.subsidies:
            payer = sub.payer.value
            p = f"categories.{cat.name}.premium_subsidy.{payer}"
            pattern = f"categories.*.premium_subsidy.{payer}"
            yield f"{pattern}.share", f"{p}.share", (c,), sub.share
            yield f"{pattern}.amount", f"{p}.amount", (c,), sub.amount
    tiers = sc.tiers
    for tp in sc.provider_payment:
        k = tiers.index(tp.tier)
        p = f"provider_payment.{tp.tier}"
        if tp.method is PaymentMethod.CAPITATION:
            yield "provider_payment.*.capitation", f"{p}.capitation", (k,), tp.capitation
        bonus = "performance_bonus"
        yield f"provider_payment.*.{bonus}.share", f"{p}.{bonus}.share", (k,), tp.bonus_share
        yield (
            f"provider_payment.*.{bonus}.achievement",
            f"{p}.{bonus}.achievement",
            (k,),
            tp.bonus_achievement,
        )


def _form_scalar_slots(sc: Scenario) -> Iterator[tuple[str, str, tuple[int, ...]]]:
    """The single-value targets of :data:`BY_FORM`: (target pattern, concrete path, index)."""
    for s, svc in enumerate(sc.services):
        p = f"services.{svc.name}"
        v = svc.volume
        key = {
            VolumeBasis.COUNT: "count",
            VolumeBasis.RATE_PER_PERSON: "rate_per_person",
            VolumeBasis.PER_ADMISSION: "per_admission",
        }[v.basis]
        yield f"services.*.volume.{key}", f"{p}.volume.{key}", (s,)
        if v.basis is VolumeBasis.PER_ADMISSION:
            yield "services.*.volume.length_of_stay", f"{p}.volume.length_of_stay", (s,)
        for label, tgt in (
            ("patient_cost_target", svc.patient_cost_target),
            ("government_cost_target", svc.government_cost_target),
        ):
            if tgt is not None:
                key = "ratio" if tgt.is_ratio else "target"
                yield f"services.*.{label}.{key}", f"{p}.{label}.{key}", (s,)
    for a, item in enumerate(sc.administration):
        key = {0: "amount", 1: "share_of_payments", 2: "share_of_payments", 3: "per_member"}[
            int(item.basis)
        ]
        yield f"administration.*.{key}", f"administration.{item.name}.{key}", (a,)


def _rate_target_slots(sc: Scenario) -> Iterator[tuple[str, str, list[tuple[int, int]]]]:
    """The scenario's service rate targets: (target pattern, concrete path, cells)."""
    cats, svcs = sc.category_names, sc.service_names
    for i, rt in enumerate(sc.rate_targets):
        cells = [(cats.index(c), svcs.index(rt.service)) for c in rt.categories]
        for key in ("ratio" if rt.target.is_ratio else "target", "delay", "arrival"):
            yield f"service_rate_targets[*].{key}", f"service_rate_targets[{i}].{key}", cells


@dataclass(frozen=True)
class _Entry:
    path: str
    positions: np.ndarray  # (n_years, k) or (1, k)
    is_path: bool
    year_path: YearPath | None
    domain: Domain


def catalogue(sc: Scenario, inputs: ModelInputs) -> dict[str, _Entry]:
    """Every numeric input of a scenario a distributions file may target, by readable path.

    Parameters
    ----------
    sc : Scenario
        The scenario.
    inputs : ModelInputs
        Its compiled inputs.

    Returns
    -------
    dict
        Readable path -> where it sits and its domain (the catalogue's).
    """
    out: dict[str, _Entry] = {}
    found = list(_attr_slots(sc))
    year_paths = [(pt, p, i, v) for pt, p, i, v in found if isinstance(v, YearPath)]
    for pattern, path, idx, yp in [*year_paths, *_form_path_slots(inputs, sc)]:
        f, dom = _at(pattern)
        every_year: tuple[Any, ...] = (slice(None), *idx)
        pos = inputs.index(f)[every_year].reshape(-1, 1)
        out[path or pattern] = _Entry(path or pattern, pos, True, yp, dom)
    scalars = [(pt, p, i) for pt, p, i, v in found if not isinstance(v, YearPath)]
    for pattern, path, idx in [*scalars, *_form_scalar_slots(sc)]:
        f, dom = _at(pattern)
        pos = np.atleast_1d(inputs.index(f)[idx]).reshape(1, -1)
        out[path or pattern] = _Entry(path or pattern, pos, False, None, dom)
    for pattern, path, cells in _rate_target_slots(sc):
        f, dom = _at(pattern)
        ix = inputs.index(f)
        pos = np.array([ix[c, s] for c, s in cells], dtype=np.int64).reshape(1, -1)
        out[path] = _Entry(path, pos, False, None, dom)
    return out


def resolve(path: str, sc: Scenario, inputs: ModelInputs) -> TargetSlot:
    """Find the input(s) a readable path names, expanding ``*`` wildcards.

    Parameters
    ----------
    path : str
        E.g. ``categories.farmers.insured_share`` or ``services.*.patient_cost``.
    sc : Scenario
        The scenario.
    inputs : ModelInputs
        Its compiled inputs.

    Returns
    -------
    TargetSlot
        Positions, whether it is a per-year path, and its domain.

    Raises
    ------
    KeyError
        With the nearest valid paths when nothing matches; a message when the
        matches mix per-year paths and single values.
    """
    cat = catalogue(sc, inputs)
    if "*" in path:
        # only "*" is a wildcard: "[", "]" and "?" are literal (service_rate_targets[0])
        pattern = re.compile(".*".join(re.escape(part) for part in path.split("*")))
        names = [p for p in cat if pattern.fullmatch(p)]
    else:
        names = [path] if path in cat else []
    if not names:
        raise KeyError(unknown_path_message(path, cat))
    entries = [cat[n] for n in names]
    if len({e.is_path for e in entries}) > 1:
        raise KeyError(
            f"'{path}' matches both per-year paths and single values: {', '.join(names)}"
        )
    positions = np.concatenate([e.positions for e in entries], axis=1)
    dom = entries[0].domain
    if any(e.domain.bounds() != dom.bounds() for e in entries):
        lo = max(e.domain.bounds()[0] for e in entries)
        hi = min(e.domain.bounds()[1] for e in entries)
        dom = Domain(
            None if math.isinf(lo) else lo,
            None if math.isinf(hi) else hi,
            "within every matched input's range",
            lo_open=any(e.domain.lo_open for e in entries if e.domain.bounds()[0] == lo),
        )
    paths = (
        tuple(e.year_path for e in entries if e.year_path is not None)
        if entries[0].is_path
        else None
    )
    return TargetSlot(
        path, positions, entries[0].is_path, paths, dom, tuple(names), default_kind(names)
    )


def unknown_path_message(path: str, cat: dict[str, _Entry]) -> str:
    """A message for an unknown readable path, naming the nearest valid ones."""
    import difflib

    close = difflib.get_close_matches(path, list(cat), n=4, cutoff=0.5)
    hint = f"; nearest valid paths: {', '.join(close)}" if close else ""
    return f"unknown scenario input '{path}'{hint}"


def path_target_weights(slot: TargetSlot, base_year: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights and targets for applying a drawn value to the target of linear paths (Annex I.1).

    Parameters
    ----------
    slot : TargetSlot
        A per-year slot whose every matched path is written as a move to a target.
    base_year : int
        The scenario's base year.

    Returns
    -------
    weights : numpy.ndarray
        Shape (n_years, n_matches): share of the way to the target in each year.
    targets : numpy.ndarray
        Shape (n_matches,): each path's target.
    """
    assert slot.paths is not None
    n_years = slot.positions.shape[0]
    w = np.empty(slot.positions.shape)
    targets = np.empty(slot.positions.shape[1])
    for k, yp in enumerate(slot.paths):
        lin = yp.linear
        assert lin is not None
        targets[k] = lin.target
        for t in range(n_years):
            w[t, k] = target_progress(base_year + t, base_year + lin.delay, lin.arrival)
    return w, targets
