"""Sheet C's rows pick the values xarray's label selection picks."""

from __future__ import annotations

import numpy as np
import pytest

from schemerisk.model import project
from schemerisk.reports.tables import sheet_c_sections, values_of
from schemerisk.scenario.builtin import builtin_names


@pytest.mark.parametrize("name", builtin_names())
def test_every_sheet_c_row_is_the_label_selection(name: str) -> None:
    ds = project(name)
    sections = sheet_c_sections(ds)
    picked = 0
    for section in sections:
        for row in section.rows:
            got = row.values(ds)
            assert got.shape == (ds.sizes["year"],), (section.title, row.label)
            picked += 1
    # The rows with a selection, against DataArray.sel on the same labels.
    for c in ds.category.values:
        for name_ in ("population", "members", "premium"):
            ref = ds[name_].sel(category=str(c)).values
            np.testing.assert_array_equal(values_of(name_, category=str(c))(ds), ref)
    for s in ds.service.values:
        ref = ds["services"].sel(service=str(s)).values
        np.testing.assert_array_equal(values_of("services", service=str(s))(ds), ref)
    for t in ds.tier.values:
        ref = ds["health_care_payments_by_tier"].sel(tier=str(t)).values
        got = values_of("health_care_payments_by_tier", tier=str(t))(ds)
        np.testing.assert_array_equal(got, ref)
    assert picked > 40


def test_an_unknown_label_or_dimension_is_a_key_error() -> None:
    ds = project("hai_phong_1993_1997")
    with pytest.raises(KeyError):
        values_of("members", category="no_such_category")(ds)
    with pytest.raises(KeyError):
        values_of("balance", category="dependants")(ds)


def test_a_value_that_rounds_to_zero_is_shown_without_a_sign() -> None:
    """solve's balanced years printed '-0' where rounding left -1e-9 (issue found by a new user)."""
    from schemerisk.reports.tables import _format

    assert _format(-1e-9, "amount", 1e3) == "0"
    assert _format(-0.4, "amount", 1.0) == "0"
    assert _format(-0.0004, "people", 1e3) == "0.000"
    assert _format(-1e-7, "percent", 1.0) == "0.00 %"
    assert _format(-0.004, "index", 1.0) == "0.00"
    # a real negative figure keeps its sign
    assert _format(-0.6, "amount", 1.0) == "-1"
    assert _format(-1500.0, "amount", 1.0) == "-1,500"
    assert _format(-0.006, "index", 1.0) == "-0.01"
