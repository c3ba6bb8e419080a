"""Readable paths to the numeric inputs of a scenario, and where they sit in the kernel's input vector.

A distributions file names what it makes uncertain by the same key path the
scenario file uses: ``admission_rate``, ``economy.domestic_inflation``,
``categories.farmers.insured_share``, ``services.consultation_commune.patient_cost``,
``administration.other.real_growth``. A ``*`` in place of a category, service or
item name matches them all (``categories.*.income_growth``).
"""

from __future__ import annotations

import enum
import fnmatch
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from schemerisk.equations import target_progress
from schemerisk.model.layout import In, ModelInputs
from schemerisk.scenario.types import (
    COST_TYPES,
    Payer,
    PaymentMethod,
    Scenario,
    VolumeBasis,
    YearPath,
)


class InputKind(enum.Enum):
    """Whether a scheme can pin an uncertain input down, or only prepare for it."""

    DATA = "data"  #: data the scheme can collect: utilisation, unit costs, uptake, compliance, ...
    ENVIRONMENT = (
        "environment"  #: conditions it can only prepare for: inflation, wages, exchange rate
    )


#: the default kind of each target (patterns on the concrete paths below); any other is data.
#: These are the economy and demography a scheme cannot measure in advance: it can only prepare
#: for them (premiums indexed to prices or wages, a reserve). A distributions entry may say
#: otherwise with ``kind:``.
ENVIRONMENT_TARGETS = (
    "economy.*",  # domestic and external inflation, the exchange rate and its real departure
    "categories.*.income_growth",  # nominal wage and income growth
    "demography.growth_rate",  # population growth
    "reserve.interest_rate",  # the return on the reserve
)


def default_kind(paths: tuple[str, ...] | list[str]) -> InputKind:
    """The default kind of the concrete target paths an entry changes.

    Environment when every path matches :data:`ENVIRONMENT_TARGETS`; data otherwise.
    """
    env = all(any(fnmatch.fnmatchcase(p, pat) for pat in ENVIRONMENT_TARGETS) for p in paths)
    return InputKind.ENVIRONMENT if paths and env else InputKind.DATA


#: value domains: (low, high, low is open, what)
SHARE = (0.0, 1.0, False, "a share between 0 and 1")
NON_NEGATIVE = (0.0, math.inf, False, "0 or more")
POSITIVE = (0.0, math.inf, True, "above 0")
RATE = (-1.0, math.inf, True, "a rate above -1")
ANY = (-math.inf, math.inf, False, "a number")


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
    domain : tuple
        (low, high, low_open, description) of allowed values.
    matches : tuple of str
        The concrete paths matched.
    kind : InputKind
        The default kind of the matches (:func:`default_kind`).
    """

    path: str
    positions: np.ndarray
    is_path: bool
    paths: tuple[YearPath, ...] | None
    domain: tuple[float, float, bool, str]
    matches: tuple[str, ...]
    kind: InputKind = InputKind.DATA


def _year_path_slots(
    inputs: ModelInputs, sc: Scenario
) -> Iterator[tuple[str, In, tuple, YearPath, tuple]]:
    d, e = sc.demography, sc.economy
    yield "demography.growth_rate", In.GROWTH_RATE, (), d.growth_rate, RATE
    yield "demography.dependant_share", In.DEPENDANT_SHARE, (), d.dependant_share, SHARE
    yield "economy.domestic_inflation", In.DOMESTIC_INFLATION, (), e.domestic_inflation, RATE
    yield "economy.external_inflation", In.EXTERNAL_INFLATION, (), e.external_inflation, RATE
    yield "economy.exchange_rate.rate", In.EXCHANGE_RATE, (), e.exchange_rate, POSITIVE
    if e.purchasing_power_parity:
        zero = e.real_depreciation or YearPath.constant(0.0, inputs.dims.n_years)
        yield "economy.exchange_rate.real_depreciation", In.REAL_DEPRECIATION, (), zero, RATE
    for c, cat in enumerate(sc.categories):
        p = f"categories.{cat.name}"
        yield f"{p}.income_growth", In.INCOME_GROWTH, (c,), cat.income_growth, RATE
        yield f"{p}.contribution_rate", In.CONTRIBUTION_RATE, (c,), cat.contribution_rate, SHARE
        yield f"{p}.flat_premium", In.FLAT_PREMIUM, (c,), cat.flat_premium, NON_NEGATIVE
        yield f"{p}.insured_share", In.INSURED_SHARE, (c,), cat.insured_share, SHARE
        yield f"{p}.exempt_share", In.EXEMPT_SHARE, (c,), cat.exempt_share, SHARE
        yield (
            f"{p}.user_fee_exempt_share",
            In.USER_FEE_EXEMPT_SHARE,
            (c,),
            cat.user_fee_exempt_share,
            SHARE,
        )
    for a, item in enumerate(sc.administration):
        yield (
            f"administration.{item.name}.real_growth",
            In.ADMIN_REAL_GROWTH,
            (a,),
            item.real_growth,
            RATE,
        )
    if sc.reserve is not None:
        yield "reserve.interest_rate", In.RESERVE_INTEREST, (), sc.reserve.interest_rate, RATE
    yield from _lever_path_slots(sc)


def _lever_path_slots(sc: Scenario) -> Iterator[tuple[str, In, tuple, YearPath, tuple]]:
    """(extension) Issue 6 levers: premium subsidies, coverage target, capitation and bonuses."""
    for c, cat in enumerate(sc.categories):
        for sub in cat.subsidies:
            gov = sub.payer is Payer.GOVERNMENT
            p = f"categories.{cat.name}.premium_subsidy.{sub.payer.value}"
            share_f = In.SUBSIDY_GOV_SHARE if gov else In.SUBSIDY_DONOR_SHARE
            amount_f = In.SUBSIDY_GOV_AMOUNT if gov else In.SUBSIDY_DONOR_AMOUNT
            yield f"{p}.share", share_f, (c,), sub.share, SHARE
            yield f"{p}.amount", amount_f, (c,), sub.amount, NON_NEGATIVE
    ct = sc.coverage_target
    if ct is not None:
        yield "coverage_target.population_share", In.COVERAGE_TARGET, (), ct.population_share, SHARE
    tiers = sc.tiers
    for tp in sc.provider_payment:
        k = tiers.index(tp.tier)
        p = f"provider_payment.{tp.tier}"
        if tp.method is PaymentMethod.CAPITATION:
            yield f"{p}.capitation", In.CAPITATION_RATE, (k,), tp.capitation, NON_NEGATIVE
        yield f"{p}.performance_bonus.share", In.BONUS_SHARE, (k,), tp.bonus_share, SHARE
        yield (
            f"{p}.performance_bonus.achievement",
            In.BONUS_ACHIEVEMENT,
            (k,),
            tp.bonus_achievement,
            SHARE,
        )


def _scalar_slots(sc: Scenario) -> Iterator[tuple[str, In, tuple, tuple]]:
    yield "demography.population", In.POPULATION0, (), NON_NEGATIVE
    if sc.admission_rate is not None:
        yield "admission_rate", In.ADMISSION_RATE, (), NON_NEGATIVE
    yield "insured_utilisation_loading", In.INSURED_LOADING, (), POSITIVE
    if sc.reserve is not None:
        yield "reserve.initial", In.RESERVE_INITIAL, (), ANY
    for c, cat in enumerate(sc.categories):
        yield f"categories.{cat.name}.income", In.INCOME0, (c,), NON_NEGATIVE
    for s, svc in enumerate(sc.services):
        p = f"services.{svc.name}"
        if svc.base_year_cost is None:
            yield f"{p}.patient_cost", In.PATIENT_COST0, (s,), NON_NEGATIVE
            yield f"{p}.government_cost", In.GOVERNMENT_COST0, (s,), NON_NEGATIVE
        else:
            for k, ct in enumerate(COST_TYPES):
                yield f"{p}.base_year_cost.{ct}.total", In.COST_TOTAL, (s, k), NON_NEGATIVE
                yield (
                    f"{p}.base_year_cost.{ct}.government_share",
                    In.COST_GOVERNMENT_SHARE,
                    (s, k),
                    SHARE,
                )
        yield f"{p}.copayment_rate", In.COPAYMENT_RATE, (s,), SHARE
        yield f"{p}.patient_import_share", In.PATIENT_IMPORT_SHARE, (s,), SHARE
        yield f"{p}.government_import_share", In.GOVERNMENT_IMPORT_SHARE, (s,), SHARE
        v = svc.volume
        key = {
            VolumeBasis.COUNT: "count",
            VolumeBasis.RATE_PER_PERSON: "rate_per_person",
            VolumeBasis.PER_ADMISSION: "per_admission",
        }[v.basis]
        dom = SHARE if v.basis is VolumeBasis.PER_ADMISSION else NON_NEGATIVE
        yield f"{p}.volume.{key}", In.VOLUME_AMOUNT, (s,), dom
        if v.basis is VolumeBasis.PER_ADMISSION:
            yield f"{p}.volume.length_of_stay", In.LENGTH_OF_STAY, (s,), NON_NEGATIVE
        for label, tgt, fields in (
            (
                "patient_cost_target",
                svc.patient_cost_target,
                (In.PC_TARGET, In.PC_TARGET_DELAY, In.PC_TARGET_ARRIVAL),
            ),
            (
                "government_cost_target",
                svc.government_cost_target,
                (In.GC_TARGET, In.GC_TARGET_DELAY, In.GC_TARGET_ARRIVAL),
            ),
        ):
            if tgt is not None:
                yield (
                    f"{p}.{label}.{'ratio' if tgt.is_ratio else 'target'}",
                    fields[0],
                    (s,),
                    NON_NEGATIVE,
                )
                yield f"{p}.{label}.delay", fields[1], (s,), NON_NEGATIVE
                yield f"{p}.{label}.arrival", fields[2], (s,), ANY
    for s, svc in enumerate(sc.services):
        if svc.case_rate is not None:
            yield f"services.{svc.name}.case_rate", In.CASE_RATE, (s,), NON_NEGATIVE
    for a, item in enumerate(sc.administration):
        key = {0: "amount", 1: "share_of_payments", 2: "share_of_payments", 3: "per_member"}[
            int(item.basis)
        ]
        yield (
            f"administration.{item.name}.{key}",
            In.ADMIN_VALUE,
            (a,),
            SHARE if key.startswith("share") else NON_NEGATIVE,
        )


def _rate_target_slots(sc: Scenario) -> Iterator[tuple[str, In, list[tuple[int, int]], tuple]]:
    cats, svcs = sc.category_names, sc.service_names
    for i, rt in enumerate(sc.rate_targets):
        cells = [(cats.index(c), svcs.index(rt.service)) for c in rt.categories]
        p = f"service_rate_targets[{i}]"
        yield (
            f"{p}.{'ratio' if rt.target.is_ratio else 'target'}",
            In.RATE_TARGET,
            cells,
            NON_NEGATIVE,
        )
        yield f"{p}.delay", In.RATE_TARGET_DELAY, cells, NON_NEGATIVE
        yield f"{p}.arrival", In.RATE_TARGET_ARRIVAL, cells, ANY


@dataclass(frozen=True)
class _Entry:
    path: str
    positions: np.ndarray  # (n_years, k) or (1, k)
    is_path: bool
    year_path: YearPath | None
    domain: tuple[float, float, bool, str]


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
        Readable path -> where it sits and its domain.
    """
    out: dict[str, _Entry] = {}
    for path, f, idx, yp, dom in _year_path_slots(inputs, sc):
        pos = inputs.index(f)[(slice(None), *idx)].reshape(-1, 1)
        out[path] = _Entry(path, pos, True, yp, dom)
    for path, f, idx, dom in _scalar_slots(sc):
        pos = np.atleast_1d(inputs.index(f)[idx]).reshape(1, -1)
        out[path] = _Entry(path, pos, False, None, dom)
    for path, f, cells, dom in _rate_target_slots(sc):
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
    if any(e.domain != dom for e in entries):
        lo = max(e.domain[0] for e in entries)
        hi = min(e.domain[1] for e in entries)
        dom = (lo, hi, any(e.domain[2] for e in entries), "within every matched input's range")
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
