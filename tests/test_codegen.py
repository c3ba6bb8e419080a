"""The code generated from the catalogue (``python -m schemerisk.codegen``) is checked in up to
date, keeps the kernel's layout, and follows a change to the catalogue."""

from __future__ import annotations

import dataclasses

import pytest

from schemerisk import codegen
from schemerisk.catalogue import CATALOGUE, LAYOUT, REQUIRED, Domain, Entry, Read, entry
from schemerisk.model.layout import In

#: the kernel's input fields in vector order as written by hand before the catalogue gave them
#: (main at ad28bd2): the kernel, being rewritten in parallel, addresses the vector by these
#: names, and the values fix each field's position
IN_BEFORE_THE_CATALOGUE = (
    "POPULATION0 ADMISSION_RATE INSURED_LOADING PPP GROWTH_RATE DEPENDANT_SHARE "
    "DOMESTIC_INFLATION EXTERNAL_INFLATION EXCHANGE_RATE REAL_DEPRECIATION ADULT_SHARE "
    "INCOME_GROWTH CONTRIBUTION_RATE FLAT_PREMIUM INSURED_SHARE EXEMPT_SHARE "
    "USER_FEE_EXEMPT_SHARE INCOME0 OUTPATIENT_COVER INPATIENT VOLUME_BASIS VOLUME_AMOUNT "
    "LENGTH_OF_STAY SPLIT_BY_POPULATION COST_BY_TYPE PATIENT_COST0 GOVERNMENT_COST0 "
    "COPAYMENT_RATE PATIENT_IMPORT_SHARE GOVERNMENT_IMPORT_SHARE PC_TARGET PC_TARGET_IS_RATIO "
    "PC_TARGET_DELAY PC_TARGET_ARRIVAL GC_TARGET GC_TARGET_IS_RATIO GC_TARGET_DELAY "
    "GC_TARGET_ARRIVAL COST_TOTAL COST_GOVERNMENT_SHARE SPLIT RELATIVE_USE RATE_TARGET "
    "RATE_TARGET_IS_RATIO RATE_TARGET_DELAY RATE_TARGET_ARRIVAL ADMIN_BASIS ADMIN_VALUE "
    "ADMIN_REAL_GROWTH RESERVE_INITIAL RESERVE_INTEREST SUBSIDY_GOV_SHARE SUBSIDY_GOV_AMOUNT "
    "SUBSIDY_DONOR_SHARE SUBSIDY_DONOR_AMOUNT COVERAGE_RULE COVERAGE_TARGET COVERAGE_APPLIES "
    "SERVICE_TIER CASE_RATE TIER_METHOD CAPITATION_RATE BONUS_SHARE BONUS_ACHIEVEMENT "
    "FLAT_PREMIUM_INDEXED_FROM SUBSIDY_GOV_AMOUNT_INDEXED_FROM SUBSIDY_DONOR_AMOUNT_INDEXED_FROM"
).split()


def test_generated_files_are_up_to_date() -> None:
    """A catalogue change without regenerating fails here, with the command to run."""
    stale = codegen.stale()
    assert stale == [], f"{', '.join(map(str, stale))} out of date: run {codegen.COMMAND}"
    assert codegen.main(["--check"]) == 0


def test_in_enum_keeps_the_layout_written_before_the_catalogue() -> None:
    """Same names, same positions; a field added since goes after them."""
    n = len(IN_BEFORE_THE_CATALOGUE)
    assert [m.name for m in In][:n] == IN_BEFORE_THE_CATALOGUE
    assert [m.value for m in In] == list(range(len(In)))
    assert [m.name for m in In] == list(LAYOUT)


def test_generated_types_are_the_catalogue_s_reading() -> None:
    """Spot checks of the types the generator reads from an entry, against the entry."""
    from typing import get_type_hints

    from schemerisk.scenario import types

    hints = get_type_hints(types.Economy)
    assert entry("economy.domestic_inflation").read is Read.PATH
    assert hints["domestic_inflation"] is types.YearPath
    # a per-year path whose absence turns its feature off may be None
    assert entry("economy.exchange_rate.real_depreciation").default is not REQUIRED
    assert hints["real_depreciation"] == types.YearPath | None
    assert get_type_hints(types.Scenario)["base_year"] is int
    assert get_type_hints(types.Service)["case_rate"] == float | None
    # every class takes keywords only, so a field may be added anywhere in the catalogue
    for part in codegen.PARTS:
        cls = getattr(types, part.name)
        assert all(f.kw_only for f in dataclasses.fields(cls)), part.name
    with pytest.raises(TypeError):
        types.Reserve(0.0, types.YearPath((0.0,)))  # positional: refused


def _dummy(key: str, read: Read = Read.SCALAR, field: str | None = "DUMMY") -> Entry:
    """A scalar lever of the reserve block, as a new catalogue entry would declare it."""
    e = entry("reserve.initial")
    return dataclasses.replace(
        e,
        path=tuple(key.split(".")),
        label="Dummy",
        description="A dummy lever",
        domain=Domain(0.0, 1.0, "a share", choices=("a", "b") if read is Read.CHOICE else None),
        read=read,
        field=field,
        attr=key,
    )


def test_a_new_entry_changes_the_generated_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lever added to the catalogue (and its field to LAYOUT) gives a typed field in its
    class and an In member at the end; the checked-in files are then stale."""
    monkeypatch.setattr(codegen, "CATALOGUE", (*CATALOGUE, _dummy("reserve.dummy")))
    monkeypatch.setattr(codegen, "LAYOUT", (*LAYOUT, "DUMMY"))
    types_src = codegen.scenario_types_source()
    reserve = types_src.split("class Reserve:")[1].split("\n\n\n")[0]
    assert "    #: A dummy lever [LCU]\n    dummy: float" in reserve
    assert f"    DUMMY = {len(LAYOUT)}\n" in codegen.in_enum_source()
    assert set(codegen.stale()) == {codegen.TYPES_FILE, codegen.LAYOUT_FILE}
    assert codegen.main(["--check"]) == 1


def test_a_field_missing_from_layout_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codegen, "CATALOGUE", (*CATALOGUE, _dummy("reserve.dummy")))
    with pytest.raises(TypeError, match=r"DUMMY .*append them at the end of LAYOUT"):
        codegen.in_enum_source()


def test_a_choice_needs_its_enum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codegen, "CATALOGUE", (*CATALOGUE, _dummy("reserve.mode", Read.CHOICE)))
    with pytest.raises(TypeError, match=r"reserve\.mode: a choice; give its enum type"):
        codegen.scenario_types_source()


def test_bad_option_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert codegen.main(["--write"]) == 2
    assert "usage: python -m schemerisk.codegen [--check]" in capsys.readouterr().err
