"""The catalogue of inputs is well formed, and agrees with every list derived from it or kept
beside it: the parser's keys, the typed scenario objects, the kernel's layout and the
uncertainty targets."""

from __future__ import annotations

import math

import pytest
import yaml

from schemerisk import catalogue as cat
from schemerisk.catalogue import BLOCKS, CATALOGUE, DERIVED_FIELDS, Domain, Read
from schemerisk.model.layout import INPUT_DIMS, In

DIMS = {"year", "category", "service", "cost_type", "admin_item", "tier", "rate_target"}


def test_every_path_is_declared_once() -> None:
    keys = [e.key for e in CATALOGUE]
    assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1]


def test_entries_are_grouped_by_block_in_sheet_order() -> None:
    order = [BLOCKS.index(e.block) for e in CATALOGUE]
    assert order == sorted(order)
    blocks = cat.by_block()
    assert list(blocks) == list(BLOCKS)
    assert [e for b in blocks.values() for e in b] == list(CATALOGUE)


@pytest.mark.parametrize("e", CATALOGUE, ids=lambda e: e.key)
def test_entry_is_complete(e: cat.Entry) -> None:
    assert e.label and e.description and e.unit
    assert "\n" not in e.description
    assert set(e.dims) <= DIMS
    # a per-year path varies along the years first; nothing else does
    assert (e.read is Read.PATH) == (e.dims[:1] == ("year",))
    # only a target has a kind, and every target has one
    assert (e.target is None) == (e.kind is None)
    assert e.kind in (None, "data", "environment")
    assert (e.domain.choices is not None) == (e.read in (Read.CHOICE, Read.FLAG))
    assert cat.entry(e.path) is e
    assert cat.entry(e.key) is e


def test_unknown_path_is_a_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match=r"categories\.\*\.insured_shares"):
        cat.entry("categories.*.insured_shares")


@pytest.mark.parametrize(
    ("domain", "inside", "outside"),
    [
        (cat.SHARE, [0.0, 0.5, 1.0], [-1e-12, 1.0 + 1e-12, math.nan]),
        (cat.GROWTH, [-0.999, 0.0, 5.0, math.inf], [-1.0, -2.0, math.nan]),
        (Domain(0.0, 1.0, hi_open=True), [0.0], [1.0]),
        (Domain(None, None), [-math.inf, 0.0, math.inf], [math.nan]),
    ],
)
def test_domain_contains(domain: Domain, inside: list[float], outside: list[float]) -> None:
    assert all(domain.contains(x) for x in inside)
    assert not any(domain.contains(x) for x in outside)


def test_domain_bounds_fill_missing_ends_with_infinities() -> None:
    assert cat.GROWTH.bounds() == (-1.0, math.inf, True, cat.GROWTH.what)
    assert Domain(None, 2.0, "x").bounds() == (-math.inf, 2.0, False, "x")


def test_layout_fields_are_the_catalogue_s() -> None:
    """Every kernel input field is filled from an entry or declared as derived, never both;
    and its dimensions are the entry's."""
    filled = {e.field for e in CATALOGUE if e.field is not None}
    assert filled.isdisjoint(DERIVED_FIELDS)
    assert filled | set(DERIVED_FIELDS) == set(In.__members__)
    for e in CATALOGUE:
        if e.field is not None:
            assert INPUT_DIMS[In[e.field]] == e.dims, e.key
    for name, (dims, _) in DERIVED_FIELDS.items():
        assert INPUT_DIMS[In[name]] == dims, name


# ---------------------------------------------------------------- agreement with the other lists

#: a scenario that gives what the built-in ones and tests/model/test_kernel.py's ``rich`` leave
#: out: parity with a real depreciation, a reserve, subsidies from both payers, a coverage
#: target, capitation with a performance bonus, payment per case, a rate target as an absolute
#: rate, a patient cost target as a value and a government cost target as a ratio
EVERYTHING = """
name: everything
base_year: 2000
horizon: 3
demography: {population: 1000, growth_rate: 0.01, dependant_share: 0.3}
economy:
  domestic_inflation: 0.05
  exchange_rate: {rate: 100, purchasing_power_parity: true, real_depreciation: 0.01}
categories:
  dependants:
    flat_premium: 10
    insured_share: 0.5
    premium_subsidy:
      - {payer: government, share: 0.5}
      - {payer: donor, amount: 2}
  farmers: {adult_share: 1, flat_premium: 20, insured_share: 0.4}
services:
  visit:
    level: outpatient
    tier: commune
    volume: {rate_per_person: 2}
    patient_cost: 5
    government_cost: 1
    patient_cost_target: {target: 6, delay: 1, arrival: 2003}
    government_cost_target: {ratio: 1.1, arrival: 2003}
  stay:
    level: inpatient
    tier: district
    volume: {count: 50}
    patient_cost: 100
    case_rate: 90
service_rate_targets:
  - {service: visit, target: 2.5, arrival: 2003}
administration:
  staff: {amount: 100}
reserve: {initial: 500, interest_rate: 0.03}
coverage_target: {population_share: 0.6, rule: same_share}
provider_payment:
  commune: {method: capitation, capitation: 12, performance_bonus: {share: 0.05, achievement: 0.8}}
  district: {method: per_case}
"""


def _scenarios():  # type: ignore[no-untyped-def]
    from schemerisk.scenario import load_scenario, parse_scenario
    from schemerisk.scenario.builtin import builtin_names
    from tests.model.test_kernel import rich

    return [
        *(load_scenario(n) for n in builtin_names("scenarios")),
        rich(),
        parse_scenario(EVERYTHING, "everything.yaml"),
    ]


def test_targets_are_the_catalogue_s() -> None:
    """Every path a distributions file may draw is a catalogue target and sits in the entry's
    field with the entry's domain; together the scenarios reach every target."""
    from schemerisk.model.layout import compile_inputs
    from schemerisk.uncertainty import targets

    reached = set()
    for sc in _scenarios():
        inputs = compile_inputs(sc)
        for path, slot in targets.catalogue(sc, inputs).items():
            e = targets.target_entry(path)
            assert e is not None, path
            assert e.field is not None
            a, b = inputs.offsets[In[e.field]], inputs.offsets[In[e.field] + 1]
            assert ((slot.positions >= a) & (slot.positions < b)).all(), path
            assert slot.domain == e.domain, path
            reached.add(e.target)
    assert reached == {e.target for e in CATALOGUE if e.target is not None}
    assert set(targets.TARGETS) == reached


def test_kinds_are_the_catalogue_s() -> None:
    from schemerisk.uncertainty.targets import ENVIRONMENT_TARGETS, InputKind, default_kind

    for e in CATALOGUE:
        if e.target is not None:
            concrete = e.target.replace("[*]", "[0]").replace("*", "x")
            assert default_kind([concrete]) is InputKind(e.kind), e.key
    assert set(ENVIRONMENT_TARGETS) == {e.target for e in CATALOGUE if e.kind == "environment"}


#: a valid scenario that the cases below add to
MINIMAL = """
base_year: 2000
horizon: 3
demography: {population: 1000}
economy: {exchange_rate: {rate: 100}}
categories: {dependants: {}, farmers: {adult_share: 1}}
services: {visit: {level: outpatient, volume: {count: 1}, patient_cost: 1, tier: commune}}
"""

#: (mapping's catalogue prefix, YAML text with a key 'bogus' in that mapping)
UNKNOWN_KEYS = [
    ((), "bogus: 1\n"),
    (("demography",), "demography: {population: 1000, bogus: 1}\n"),
    (("economy",), "economy: {exchange_rate: {rate: 100}, bogus: 1}\n"),
    (("economy", "exchange_rate"), "economy: {exchange_rate: {rate: 100, bogus: 1}}\n"),
    (("categories", "*"), "categories: {dependants: {bogus: 1}}\n"),
    (("services", "*"), "services: {visit: {level: outpatient, bogus: 1}}\n"),
    (("services", "*", "volume"), "services: {visit: {volume: {count: 1, bogus: 1}}}\n"),
    (
        ("services", "*", "base_year_cost", "*"),
        "services: {visit: {base_year_cost: {other: {total: 1, bogus: 1}}}}\n",
    ),
    (
        ("services", "*", "patient_cost_target"),
        "services: {visit: {patient_cost_target: {ratio: 1, arrival: 2003, bogus: 1}}}\n",
    ),
    (("service_rate_targets", "*"), "service_rate_targets: [{service: visit, bogus: 1}]\n"),
    (("administration", "*"), "administration: {staff: {amount: 1, bogus: 1}}\n"),
    (("reserve",), "reserve: {bogus: 1}\n"),
    (("coverage_target",), "coverage_target: {population_share: 0.5, bogus: 1}\n"),
    (("provider_payment", "*"), "provider_payment: {commune: {method: capitation, bogus: 1}}\n"),
    (
        ("provider_payment", "*", "performance_bonus"),
        "provider_payment: {commune: {method: capitation, performance_bonus: {share: 0.1, "
        "bogus: 1}}}\n",
    ),
]


@pytest.mark.parametrize(("prefix", "text"), UNKNOWN_KEYS, ids=lambda x: ".".join(x) or "top")
def test_parser_accepts_exactly_the_catalogue_s_keys(prefix: tuple[str, ...], text: str) -> None:
    """An unknown key is refused, naming the file and listing exactly the catalogue's keys."""
    from schemerisk.errors import ScenarioError
    from schemerisk.scenario import parse_scenario

    doc = yaml.safe_load(MINIMAL)
    for key, value in yaml.safe_load(text).items():
        doc[key] = {**doc[key], **value} if isinstance(doc.get(key), dict) else value
    with pytest.raises(ScenarioError) as info:
        parse_scenario(yaml.safe_dump(doc), "bad.yaml")
    msg = str(info.value)
    assert "bad.yaml" in msg
    line = next(x for x in msg.splitlines() if "unknown key 'bogus'" in x)
    assert line.endswith(f"(valid keys here: {', '.join(cat.keys_under(prefix))})"), line


def _is_part(t: object) -> bool:
    """Whether a type is a part of the typed scenario with inputs of its own (not a path)."""
    import dataclasses

    from schemerisk.scenario.types import YearPath

    return isinstance(t, type) and dataclasses.is_dataclass(t) and t is not YearPath


def _fields(cls: type, seen: set[type] | None = None, at: str = "") -> dict[str, type]:
    """Every attribute path of a typed scenario dataclass down to its leaves (``*`` for a tuple
    item); the leaves' types."""
    import dataclasses
    import types
    import typing

    out: dict[str, type] = {}
    for name, hint in typing.get_type_hints(cls).items():
        if name not in {f.name for f in dataclasses.fields(cls)}:
            continue
        path = f"{at}{name}"
        t, star = hint, ""
        while True:  # unwrap X | None and tuple[X, ...]
            args = [a for a in typing.get_args(t) if a is not type(None) and a is not Ellipsis]
            if isinstance(t, types.UnionType) or typing.get_origin(t) is typing.Union:
                t = args[0]
            elif typing.get_origin(t) is tuple and len(args) == 1 and _is_part(args[0]):
                t, star = args[0], star + ".*"  # a tuple of scenario parts: one per item
            else:
                break
        if (
            dataclasses.is_dataclass(t)
            and t.__module__.endswith("scenario.types")
            and t.__name__ != "YearPath"
        ):
            out.update(_fields(t, seen, f"{path}{star}."))
        else:
            out[f"{path}{star}"] = t
    return out


#: attributes of the typed scenario that are not inputs a file gives: names (the keys of their
#: mappings), provenance, and the form a file used (recorded by the parser)
NOT_INPUTS = {
    "source",
    "sha256",
    "extension",
    "indexed_from",  # set by Scenario.with_horizon, not by a file
    "case_rates",  # the services' case_rate, collected
    "categories.*.name",
    "services.*.name",
    "administration.*.name",
    "provider_payment.*.tier",
    "services.*.volume.basis",
    "services.*.patient_cost_target.is_ratio",
    "services.*.government_cost_target.is_ratio",
    "rate_targets.*.target.is_ratio",
    "categories.*.subsidies.*.payer",
}


def test_typed_scenario_fields_are_the_catalogue_s() -> None:
    """Every input's ``attr`` is a field of the typed scenario, and every field of it is an
    input's (or a name, provenance or form listed in NOT_INPUTS)."""
    from schemerisk.scenario.types import Scenario

    fields = _fields(Scenario)
    attrs = {e.attr for e in CATALOGUE}
    assert attrs - set(fields) == set()
    assert set(fields) - attrs == NOT_INPUTS


def test_choices_are_the_enums_values() -> None:
    from schemerisk.scenario.types import CoverageRule, Level, Payer, PaymentMethod

    assert cat.entry("services.*.level").domain.choices == tuple(x.value for x in Level)
    assert cat.PAYMENT_METHODS == tuple(x.name.lower() for x in PaymentMethod)
    rules = tuple(x.name.lower() for x in CoverageRule if x is not CoverageRule.NONE)
    assert cat.entry("coverage_target.rule").domain.choices == rules
    assert cat.PAYERS == tuple(x.value for x in Payer)
    subsidy = {e.path[3] for e in CATALOGUE if e.path[2:3] == ("premium_subsidy",)}
    assert subsidy == set(cat.PAYERS)


def test_targets_found_by_form_are_targets() -> None:
    from schemerisk.uncertainty.targets import BY_FORM, TARGETS

    assert set(BY_FORM) <= set(TARGETS)


def test_a_new_plain_target_is_found_from_its_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """An input whose value goes into its field as it is becomes drawable with its catalogue
    entry alone: here the adults' shares, which are no target today (the dependants have none)."""
    import dataclasses

    from schemerisk.model.layout import compile_inputs
    from schemerisk.scenario import parse_scenario
    from schemerisk.uncertainty import targets

    e = dataclasses.replace(cat.entry("categories.*.adult_share"), target="x.*.y", kind="data")
    monkeypatch.setitem(targets.TARGETS, "x.*.y", e)
    sc = parse_scenario(EVERYTHING, "everything.yaml")
    inputs = compile_inputs(sc)
    found = {p: s for p, s in targets.catalogue(sc, inputs).items() if p.startswith("x.")}
    assert list(found) == ["x.farmers.y"]  # the dependants' share is None: no input
    farmers = sc.category_names.index("farmers")
    assert (found["x.farmers.y"].positions[:, 0] == inputs.index(In.ADULT_SHARE)[:, farmers]).all()
    assert found["x.farmers.y"].is_path
    assert found["x.farmers.y"].year_path == sc.category("farmers").adult_share
