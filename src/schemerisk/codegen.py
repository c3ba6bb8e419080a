"""Write the code that the catalogue of inputs determines: the typed scenario classes and the
kernel's input fields.

Run ``python -m schemerisk.codegen`` after changing :mod:`schemerisk.catalogue`; it rewrites

- ``scenario/types.py``: one frozen dataclass per part of a scenario (the scenario itself, its
  demography, a category, a service, ...), one field per catalogue entry's ``attr``, typed from
  how the file writes it (:class:`~schemerisk.catalogue.Read`);
- the :class:`~schemerisk.model.layout.In` enum in ``model/layout.py`` (between the markers),
  one member per field of :data:`~schemerisk.catalogue.LAYOUT`, in vector order.

The files are generated rather than built at import so that mypy sees every class, field and
member (``scenario.economy.domestic_inflation`` is a ``YearPath``; ``In.CASE_RATE`` is an
``In``). ``python -m schemerisk.codegen --check`` writes nothing and exits with status 1 when a
file is not what the catalogue gives; ``tests/test_codegen.py`` runs the same check.

What the catalogue does not say lives here, declared once: which attribute prefix is which
class (:data:`PARTS`), the fields that are no input a file gives (names, the form a file used,
provenance), and the few fields whose type or default is not the plain reading of their entry
(:data:`FIELDS`). Methods and the per-year path type are hand-written in
:mod:`schemerisk.scenario.base`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from schemerisk.catalogue import (
    CATALOGUE,
    DERIVED_FIELDS,
    LAYOUT,
    NOT_GIVEN,
    Entry,
    Read,
)

COMMAND = "python -m schemerisk.codegen"
_HERE = Path(__file__).resolve().parent
TYPES_FILE = _HERE / "scenario" / "types.py"
LAYOUT_FILE = _HERE / "model" / "layout.py"
BEGIN = f"# --- generated from catalogue.py by `{COMMAND}`: do not edit from here ---"
END = "# --- end of generated code ---"


@dataclass(frozen=True)
class Field:
    """A field of a scenario class that is not the plain reading of one catalogue entry.

    Attributes
    ----------
    type : str
        Its annotation; empty to derive it from its entries.
    comment : str
        Its documentation comment; empty to take its entry's description and unit.
    default : str or None
        Its default, as code; None for none.
    """

    type: str = ""
    comment: str = ""
    default: str | None = None


@dataclass(frozen=True)
class Part:
    """One class of the typed scenario.

    Attributes
    ----------
    name : str
        The class name.
    at : tuple of str
        The attribute paths that hold it in a :class:`Scenario` (``""`` for the scenario
        itself, ``"categories.*"`` for an item of the tuple of categories).
    doc : str
        Its docstring.
    base : str
        The hand-written mixin it derives from (:mod:`schemerisk.scenario.base`), if any.
    first : tuple of (str, Field)
        Fields that no entry fills, before the inputs (names, the form a file used).
    last : tuple of (str, Field)
        Fields that no entry fills, after the inputs (provenance, what a method set).
    """

    name: str
    at: tuple[str, ...]
    doc: str
    base: str = ""
    first: tuple[tuple[str, Field], ...] = ()
    last: tuple[tuple[str, Field], ...] = ()


_NAME = ("name", Field("str", "its key in the file"))
_IS_RATIO = ("is_ratio", Field("bool", "whether ``value`` is a multiplier on the base value"))

#: the classes of the typed scenario, each holder before what it holds
PARTS: tuple[Part, ...] = (
    Part(
        "Scenario",
        ("",),
        "A complete, validated scenario: every input of one projection.\n\n"
        "Build one with :func:`schemerisk.load_scenario`.",
        base="ScenarioMethods",
        last=(
            ("source", Field("str", "where it was read from", '"<memory>"')),
            ("sha256", Field("str", "SHA-256 of the file's text", '""')),
            (
                "case_rates",
                Field("tuple[float, ...]", "(extension) per-case payment by service", "()"),
            ),
            (
                "extension",
                Field(
                    "str",
                    "how years past the scenario's own were filled (see :meth:`with_horizon`); "
                    '"" for none',
                    '""',
                ),
            ),
            (
                "indexed_from",
                Field(
                    "int",
                    "year index from which amounts in current prices are indexed to each "
                    "projection's own domestic price index (the first year past the scenario's "
                    'own under ``amounts="real"``); 0 for none (see :meth:`with_horizon`)',
                    "0",
                ),
            ),
        ),
    ),
    Part("Demography", ("demography",), "Demography block (MODEL.md 2.1)."),
    Part("Economy", ("economy",), "Economy block (MODEL.md 2.2)."),
    Part(
        "Category",
        ("categories.*",),
        "A population category (MODEL.md 2.3-2.4).",
        base="CategoryMethods",
        first=(_NAME,),
    ),
    Part(
        "PremiumSubsidy",
        ("categories.*.subsidies.*",),
        "(extension) Part of the premium of a category paid by the state or a donor (issue 6).\n\n"
        "Per paying member and year the payer pays ``min(premium, share x premium + amount)``;\n"
        "unlike an exemption, the premium is still paid in full, by someone else.",
        first=(("payer", Field("Payer", "who pays")),),
    ),
    Part(
        "Service",
        ("services.*",),
        "A health service (MODEL.md 1, 2.5-2.7).",
        first=(_NAME,),
    ),
    Part(
        "Volume",
        ("services.*.volume",),
        "How the base-year volume of a service is given (MODEL.md 2.6).",
        first=(("basis", Field("VolumeBasis", "which of the file's forms gives the volume")),),
    ),
    Part(
        "CostComponent",
        ("services.*.base_year_cost.*",),
        "Base-year cost of one cost type for a service (MODEL.md 2.6).",
    ),
    Part(
        "Target",
        (
            "services.*.patient_cost_target",
            "services.*.government_cost_target",
            "rate_targets.*.target",
        ),
        "A target for a unit cost or a service rate (MODEL.md 2.7-2.8, Annex I.1).",
        last=(_IS_RATIO,),
    ),
    Part(
        "RateTarget",
        ("rate_targets.*",),
        "A target service rate for some categories (MODEL.md 2.8).",
    ),
    Part(
        "AdminItem",
        ("administration.*",),
        "An administrative expenditure item (MODEL.md 2.9).",
        first=(_NAME,),
    ),
    Part(
        "Reserve",
        ("reserve",),
        "(extension) A reserve fund carried from year to year (UNCERTAINTY.md section 4).\n\n"
        "``R_t = R_{t-1} (1 + i_t) + B_t`` with ``R_{-1}`` the initial reserve.",
    ),
    Part(
        "CoverageTarget",
        ("coverage_target",),
        "(extension) A target share of the whole population insured, by year (issue 6).",
    ),
    Part(
        "TierPayment",
        ("provider_payment.*",),
        "(extension) The payment method of one facility tier, and an optional performance bonus.",
        first=(("tier", Field("str", "the facility tier")),),
    ),
)

#: fields whose type, comment or default is not the plain reading of their entries, by ``attr``
FIELDS: dict[str, Field] = {
    "name": Field("str", "short name (the file's name when the file gives none)"),
    "notes": Field("tuple[str, ...]", default="()"),
    "reserve": Field(
        "Reserve | None", "(extension) reserve fund; None = no reserve (the paper)", "None"
    ),
    "provider_payment": Field(default="()"),
    "coverage_target": Field("CoverageTarget | None", default="None"),
    "economy.real_depreciation": Field(default="None"),
    "categories.*.adult_share": Field(
        "YearPath | None",
        "Share of the adult population in this category (s_kt); None for dependants [share]",
    ),
    "categories.*.subsidies": Field(default="()"),
    "categories.*.subsidies.*.share": Field(comment="share of the premium paid [share]"),
    "categories.*.subsidies.*.amount": Field(
        comment="fixed amount per member paid, current prices [LCU per year]"
    ),
    "services.*.level": Field("Level"),
    "services.*.patient_cost": Field("float | None"),
    "services.*.government_cost": Field("float | None"),
    "services.*.base_year_cost": Field(
        "tuple[CostComponent, ...] | None",
        "the four cost types, COST_TYPES order; None when "
        "the file gives patient_cost and government_cost",
    ),
    "services.*.patient_cost_target": Field("Target | None"),
    "services.*.government_cost_target": Field("Target | None"),
    "services.*.case_rate": Field(default="None"),
    "services.*.volume.amount": Field(
        comment="the count, the rate per person, or the share of admissions (see ``basis``)"
    ),
    "services.*.volume.length_of_stay": Field(default="1.0"),
    "services.*.volume.split": Field(
        comment="share of the count by category; None: split by population", default="None"
    ),
    "services.*.volume.relative_use": Field(
        comment="use relative to the average, by category; None: the average", default="None"
    ),
    "rate_targets.*.target.value": Field(
        comment="the target (absolute), or a multiplier on the base value when ``is_ratio``"
    ),
    "administration.*.basis": Field("AdminBasis", "how the item is set"),
    "administration.*.value": Field(
        comment="the amount, the share of payments or the amount per member (see ``basis``)"
    ),
    "coverage_target.rule": Field("CoverageRule"),
    "provider_payment.*.method": Field("PaymentMethod"),
}
# the three places a Target sits name their fields alike
FIELDS["services.*.patient_cost_target.arrival"] = Field(
    comment="Year the target is reached [year]"
)
for _t in ("services.*.patient_cost_target", "services.*.government_cost_target"):
    FIELDS[f"{_t}.value"] = FIELDS["rate_targets.*.target.value"]

#: the plain type of an input, by how a file writes it
_READ_TYPES = {
    Read.SCALAR: "float",
    Read.PATH: "YearPath",
    Read.PER_CATEGORY: "tuple[float, ...] | None",
    Read.FLAG: "bool",
    Read.INTEGER: "int",
    Read.TEXT: "str",
    Read.TEXTS: "tuple[str, ...]",
    Read.NAMES: "tuple[str, ...]",
}


def _part_at(prefix: str) -> Part | None:
    return next((p for p in PARTS if prefix in p.at), None)


def _fields_of(part: Part) -> list[tuple[str, Field]]:
    """The fields of one class: its first extras, one per input in catalogue order (an input
    below a held part gives that part's field), its last extras."""
    out: dict[str, Field] = dict(part.first)
    at = part.at[0]
    pre = f"{at}." if at else ""
    entries: dict[str, list[Entry]] = {}
    for e in CATALOGUE:
        if e.attr.startswith(pre):
            entries.setdefault(e.attr[len(pre) :].split(".")[0], []).append(e)
    for name, es in entries.items():
        if name == "*":
            continue
        attr = pre + name
        held = _part_at(attr) or _part_at(f"{attr}.*")
        over = FIELDS.get(attr, Field())
        if held is not None:
            many = _part_at(attr) is None
            typ = over.type or (f"tuple[{held.name}, ...]" if many else held.name)
            out[name] = Field(typ, over.comment, over.default)
            continue
        if len(es) > 1 and not over.comment:
            raise TypeError(
                f"{attr}: {len(es)} catalogue entries fill it ({', '.join(e.key for e in es)}); "
                "give its comment in schemerisk/codegen.py FIELDS"
            )
        e = es[0]
        typ = over.type
        if not typ:
            if e.read is Read.CHOICE:
                raise TypeError(f"{attr}: a choice; give its enum type in schemerisk/codegen.py")
            typ = _READ_TYPES[e.read]
            if len(es) == 1 and e.default is NOT_GIVEN and "None" not in typ:
                typ += " | None"  # absent turns it off
        comment = over.comment or f"{e.description} [{e.unit}]"
        out[name] = Field(typ, comment, over.default)
    out.update(part.last)
    return list(out.items())


def _comment_lines(text: str, indent: str) -> list[str]:
    """``#:`` comment lines of at most 100 characters."""
    words, lines, line = text.split(), [], ""
    width = 100 - len(indent) - 3
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    lines.append(line)
    return [f"{indent}#: {x}" for x in lines]


_BASE_NAMES = (
    "AMOUNT_RULES",
    "COST_TYPES",
    "DEPENDANTS",
    "FARMERS",
    "AdminBasis",
    "CategoryMethods",
    "CoverageRule",
    "Level",
    "LinearPath",
    "Payer",
    "PaymentMethod",
    "ScenarioMethods",
    "VolumeBasis",
    "YearPath",
)


def scenario_types_source() -> str:
    """The text of ``scenario/types.py``: the typed scenario classes the catalogue gives.

    Returns
    -------
    str
        The module's source, formatted as ``ruff format`` leaves it.
    """
    out = [
        '"""Frozen, typed scenario objects: what a scenario file becomes once it is validated.',
        "",
        f"Generated from catalogue.py by ``{COMMAND}``; do not edit. Every block of the",
        "model's input sheet (Carrin, Ron & Murray 1993, Sheet A; ``shared/spec/MODEL.md``",
        "section 2) has a class here, one field per input of :mod:`schemerisk.catalogue`",
        "(its ``attr``); the methods and the per-year path type are hand-written in",
        ":mod:`schemerisk.scenario.base`. Nothing downstream sees the raw YAML: the parser in",
        ":mod:`schemerisk.scenario.parse` builds these and rejects anything it does not",
        "understand.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass",
        "",
        "from schemerisk.scenario.base import (",
        *(f"    {n}," for n in _BASE_NAMES),
        ")",
    ]
    # in the order of PARTS, a holder before what it holds (the annotations are strings, so a
    # class may name one defined below it)
    for part in PARTS:
        out += ["", "", "@dataclass(frozen=True, kw_only=True)"]
        out.append(f"class {part.name}({part.base}):" if part.base else f"class {part.name}:")
        doc = part.doc.split("\n")
        if len(doc) == 1:
            out.append(f'    """{doc[0]}"""')
        else:
            out.append(f'    """{doc[0]}')
            out += [f"    {x}" if x else "" for x in doc[1:]]
            out.append('    """')
        out.append("")
        for name, f in _fields_of(part):
            if f.comment:
                out += _comment_lines(f.comment, "    ")
            default = "" if f.default is None else f" = {f.default}"
            out.append(f"    {name}: {f.type}{default}")
    out += ["", ""]
    names = sorted({*_BASE_NAMES, *(p.name for p in PARTS)}, key=_isort_key)
    out.append("__all__ = [")
    out += [f'    "{n}",' for n in names]
    out.append("]")
    return "\n".join(out) + "\n"


def _isort_key(name: str) -> tuple[int, str]:
    """Constants, then classes, then the rest (the order ruff's isort and RUF022 keep)."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def in_enum_source() -> str:
    """The text of the :class:`In` enum (between the markers of ``model/layout.py``).

    Returns
    -------
    str
        The class, one member per field of :data:`~schemerisk.catalogue.LAYOUT`, numbered in
        vector order.
    """
    filled: dict[str, list[str]] = {}
    for e in CATALOGUE:
        if e.field is not None:
            filled.setdefault(e.field, []).append(e.key)
    declared = set(filled) | set(DERIVED_FIELDS)
    missing = [f for f in filled if f not in LAYOUT] + [
        f for f in DERIVED_FIELDS if f not in LAYOUT
    ]
    if missing:
        raise TypeError(
            f"field(s) {', '.join(missing)} of the catalogue are not in LAYOUT: append them at "
            "the end of LAYOUT in schemerisk/catalogue.py"
        )
    unused = [f for f in LAYOUT if f not in declared]
    if unused or len(set(LAYOUT)) != len(LAYOUT):
        raise TypeError(
            f"LAYOUT lists field(s) no entry fills and DERIVED_FIELDS does not declare, or twice: "
            f"{', '.join(unused) or 'a repeated name'}"
        )
    out = [
        "class In(enum.IntEnum):",
        '    """Input fields of the kernel, in vector order (the catalogue\'s ``LAYOUT``)."""',
        "",
    ]
    for i, name in enumerate(LAYOUT):
        what = ", ".join(filled[name]) if name in filled else DERIVED_FIELDS[name][1]
        out += _comment_lines(what, "    ")
        out.append(f"    {name} = {i}")
    return "\n".join(out) + "\n"


def layout_source(current: str) -> str:
    """``model/layout.py`` with the text between its markers replaced by :func:`in_enum_source`.

    Parameters
    ----------
    current : str
        The file's present text.

    Returns
    -------
    str
        The text it should have.
    """
    try:
        head, rest = current.split(BEGIN + "\n", 1)
        _, tail = rest.split(END + "\n", 1)
    except ValueError:
        raise ValueError(f"{LAYOUT_FILE}: the generated-code markers are missing") from None
    return f"{head}{BEGIN}\n{in_enum_source()}\n\n{END}\n{tail}"


def stale() -> list[Path]:
    """The generated files that are not what the catalogue gives.

    Returns
    -------
    list of Path
        Each file whose text differs from the generator's.
    """
    out = []
    if TYPES_FILE.read_text(encoding="utf-8") != scenario_types_source():
        out.append(TYPES_FILE)
    text = LAYOUT_FILE.read_text(encoding="utf-8")
    if text != layout_source(text):
        out.append(LAYOUT_FILE)
    return out


def main(argv: list[str] | None = None) -> int:
    """Write the generated files, or with ``--check`` only report the stale ones.

    Parameters
    ----------
    argv : list of str, optional
        ``[]`` or ``["--check"]``; the command line's when None.

    Returns
    -------
    int
        0 when the files are (now) up to date; 1 when ``--check`` found a stale one; 2 for a
        bad option.
    """
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--check"]):
        print(f"usage: {COMMAND} [--check]", file=sys.stderr)
        return 2
    files = stale()
    if args == ["--check"]:
        for f in files:
            print(f"{f} is out of date with catalogue.py: run {COMMAND}", file=sys.stderr)
        return 1 if files else 0
    if TYPES_FILE in files:
        TYPES_FILE.write_text(scenario_types_source(), encoding="utf-8")
    if LAYOUT_FILE in files:
        LAYOUT_FILE.write_text(layout_source(LAYOUT_FILE.read_text(encoding="utf-8")), "utf-8")
    for f in files:
        print(f"wrote {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
