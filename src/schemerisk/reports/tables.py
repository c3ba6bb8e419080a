"""Sheet C of the 1993 model as readable text tables, years as columns (as Annex II prints it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr


@dataclass(frozen=True)
class Row:
    """One printed row: a label, how to get its values from the result, and their format."""

    label: str
    values: Callable[[xr.Dataset], np.ndarray]
    kind: str = (
        "amount"  # amount (scaled), people (scaled), count, index, unit (not scaled), percent
    )


@dataclass(frozen=True)
class Section:
    """A titled group of rows."""

    title: str
    rows: tuple[Row, ...]


def values_of(name: str, **sel: str) -> Callable[[xr.Dataset], np.ndarray]:
    """Return a function that picks variable ``name`` (with a selection) from a result.

    The selection is by label, as :meth:`xarray.DataArray.sel` makes it, but
    on the variable's array through each dimension's index (a KeyError for a
    label that is not there), without building a DataArray per row.
    """

    def pick(ds: xr.Dataset) -> np.ndarray:
        var = ds.variables[name]
        if set(sel) - set(var.dims):
            raise KeyError(f"{name} has no dimension(s) {sorted(set(sel) - set(var.dims))}")
        where = tuple(ds.indexes[d].get_loc(sel[d]) if d in sel else slice(None) for d in var.dims)
        return np.asarray(var.values[where], dtype=float)

    return pick


def sheet_c_sections(ds: xr.Dataset) -> list[Section]:
    """The sections of Sheet C (MODEL.md section 4) for a deterministic result.

    Parameters
    ----------
    ds : xarray.Dataset
        A deterministic projection (no ``draw`` dimension), with memoranda.

    Returns
    -------
    list of Section
        Economic environment, demography, services, costs, membership,
        premiums, the scheme, direct payments and the structure of financing.
    """
    cats = [str(c) for c in ds.category.values]
    labels = dict(zip(cats, [str(x) for x in ds.category_label.values], strict=True))
    svcs = [str(s) for s in ds.service.values]
    slabels = dict(zip(svcs, [str(x) for x in ds.service_label.values], strict=True))
    fin = ("user_fees", "copayments", "health_care_payments", "government_financing")
    fin_labels = (
        "User fees",
        "Co-payments by the insured",
        "Insurance payments",
        "Government financing",
    )
    return [
        Section(
            "1. Economic environment",
            (
                Row("Domestic price index", values_of("domestic_price_index"), "index"),
                Row("External price index", values_of("external_price_index"), "index"),
                Row(
                    f"Exchange rate ({ds.attrs.get('currency', 'LCU')}/US$)",
                    values_of("exchange_rate"),
                    "index",
                ),
            ),
        ),
        Section(
            "2. Demography",
            (
                Row("Population", values_of("total_population"), "people"),
                *(Row(labels[c], values_of("population", category=c), "people") for c in cats),
            ),
        ),
        Section(
            "3. Health services, all patients",
            tuple(Row(slabels[s], values_of("services", service=s), "count") for s in svcs),
        ),
        Section(
            "4. Health service costs, all patients",
            (
                Row("Patient cost (current prices)", values_of("patient_cost")),
                Row("Government cost (current prices)", values_of("government_cost")),
                Row("Total cost (current prices)", values_of("total_cost")),
                Row("Total cost (constant prices)", values_of("total_cost_constant")),
            ),
        ),
        Section(
            "5. Membership",
            (
                Row("Total membership", values_of("total_members"), "people"),
                *(Row(labels[c], values_of("members", category=c), "people") for c in cats),
                Row("Members exempted", values_of("total_exempted_members"), "people"),
                Row("Members exempted, % of the insured", values_of("exempted_share"), "percent"),
            ),
        ),
        Section(
            "6. Premium per person",
            tuple(Row(labels[c], values_of("premium", category=c), "unit") for c in cats),
        ),
        Section(
            "7. The scheme",
            (
                Row("Total expenditure", values_of("total_expenditure")),
                Row("  of which administration", values_of("admin_expenditure")),
                Row("  of which health care payments", values_of("health_care_payments")),
                Row("Total revenue from premiums", values_of("premium_revenue")),
                Row("Balance", values_of("balance")),
                Row(
                    "Memo: health care payments per insured",
                    values_of("health_care_payments_per_member"),
                    "unit",
                ),
                Row(
                    "Memo: administration, % of premium revenue",
                    values_of("admin_share_of_revenue"),
                    "percent",
                ),
                Row(
                    "Memo: balance, % of premium revenue",
                    values_of("balance_share_of_revenue"),
                    "percent",
                ),
            ),
        ),
        Section(
            "8. Direct payments by patients",
            (
                Row("Co-payments by the insured", values_of("copayments")),
                Row("Fees paid by the non-insured (user fees)", values_of("user_fees")),
            ),
        ),
        Section(
            "9. Structure of health care financing",
            (
                *(Row(lab, values_of(v)) for v, lab in zip(fin, fin_labels, strict=True)),
                *(
                    Row(f"{lab}, %", values_of(f"{v}_share"), "percent")
                    for v, lab in zip(fin, fin_labels, strict=True)
                ),
            ),
        ),
        Section(
            "10. Who pays the premiums",
            (
                Row("Members themselves", values_of("premium_revenue_from_members")),
                Row("The state (premium subsidies)", values_of("premium_revenue_from_government")),
                Row("Donors (premium subsidies)", values_of("premium_revenue_from_donors")),
                Row("Total revenue from premiums", values_of("premium_revenue")),
            ),
        ),
        Section(
            "11. Payments to providers",
            (
                *(
                    Row(
                        f"Tier {t} ({m.replace('_', ' ')})",
                        values_of("health_care_payments_by_tier", tier=t),
                    )
                    for t, m in zip(
                        [str(x) for x in ds.tier.values],
                        [str(x) for x in ds.tier_payment_method.values],
                        strict=True,
                    )
                ),
                *(
                    Row(
                        f"By {m.replace('_', ' ')}",
                        values_of("health_care_payments_by_method", payment_method=m),
                    )
                    for m in [str(x) for x in ds.payment_method.values]
                ),
                Row("Provider margin over fee-for-service", values_of("provider_margin")),
            ),
        ),
    ]


def _format(value: float, kind: str, scale: float) -> str:
    if not np.isfinite(value):
        return "-"
    if kind == "percent":
        text = f"{100 * value:.2f} %"
    elif kind == "index":
        text = f"{value:,.2f}"
    elif kind in ("amount", "people"):
        value = value / scale
        text = f"{value:,.3f}" if kind == "people" and scale > 1 else f"{value:,.0f}"
    else:
        text = f"{value:,.0f}"
    # a value that rounds to zero is shown as 0, whatever its sign (a balanced year printed -0)
    return text[1:] if text.startswith("-") and not any(c in text for c in "123456789") else text


def format_sheet_c(
    ds: xr.Dataset, scale: float = 1000.0, sections: Sequence[Section] | None = None
) -> str:
    """Format a deterministic result as Sheet C text tables.

    Parameters
    ----------
    ds : xarray.Dataset
        A deterministic projection with memoranda.
    scale : float
        Divide amounts and people by this (1000 prints thousands, as Annex II does).
    sections : sequence of Section, optional
        What to print; default :func:`sheet_c_sections`.

    Returns
    -------
    str
        The tables, one section after another.
    """
    secs = list(sections) if sections is not None else sheet_c_sections(ds)
    years = [str(int(y)) for y in ds.year.values]
    cur = ds.attrs.get("currency", "LCU")
    unit = {1.0: "", 1000.0: "thousands of ", 1e6: "millions of "}.get(
        float(scale), f"units of {scale:g} "
    )
    texts = {
        (i, k): [_format(v, r.kind, scale) for v in r.values(ds)]
        for i, s in enumerate(secs)
        for k, r in enumerate(s.rows)
    }
    label_w = max(len(r.label) for s in secs for r in s.rows) + 2
    col_w = max(12, *(len(x) + 2 for xs in texts.values() for x in xs))
    lines = [
        f"{ds.attrs.get('title', ds.attrs.get('scenario', ''))}",
        f"Amounts in {unit}{cur} ({cur} per service or person where marked 'per'); people in {unit}persons.",
    ]
    header = " " * label_w + "".join(y.rjust(col_w) for y in years)
    for i, s in enumerate(secs):
        lines += ["", s.title, header]
        for k, r in enumerate(s.rows):
            row = "".join(v.rjust(col_w) for v in texts[i, k])
            lines.append(r.label.ljust(label_w) + row)
    return "\n".join(lines)
