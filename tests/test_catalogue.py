"""The catalogue of inputs is well formed, and agrees with every list derived from it or kept
beside it: the parser's keys, the typed scenario objects, the kernel's layout and the
uncertainty targets."""

from __future__ import annotations

import math

import pytest

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
