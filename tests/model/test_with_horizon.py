"""Every per-year path of a scenario follows a change of horizon (Scenario.with_horizon)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import pytest

from schemerisk.scenario import load_scenario, parse_scenario
from schemerisk.scenario.builtin import resolve_scenario
from schemerisk.scenario.types import YearPath


def _paths(obj: object, where: str = "scenario") -> Iterator[tuple[str, YearPath]]:
    if isinstance(obj, YearPath):
        yield where, obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _paths(getattr(obj, f.name), f"{where}.{f.name}")
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj):
            yield from _paths(item, f"{where}[{i}]")


def _with_reserve() -> str:
    text = resolve_scenario("hai_phong_1993_1997").read_text(encoding="utf-8")
    return text + "\nreserve: {initial: 1000000, interest_rate: 0.05}\n"


SCENARIOS = {
    "hai_phong_1993_1997": lambda: load_scenario("hai_phong_1993_1997"),
    "hai_phong_with_reserve": lambda: parse_scenario(_with_reserve()),
    "khanh_hoa_2020_2030": lambda: load_scenario("khanh_hoa_2020_2030"),
    "mountain_province_pro_poor": lambda: load_scenario("mountain_province_pro_poor"),
    "lao_nhi_merger_2017": lambda: load_scenario("lao_nhi_merger_2017"),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
@pytest.mark.parametrize("horizon", [0, 3, 15])
def test_every_path_has_one_value_per_year(name: str, horizon: int) -> None:
    sc = SCENARIOS[name]().with_horizon(horizon)
    paths = list(_paths(sc))
    assert paths, "the walk found no paths"
    wrong = [(where, len(p.values)) for where, p in paths if len(p.values) != horizon + 1]
    assert not wrong, f"paths not extended to {horizon + 1} years: {wrong}"


def test_the_walk_sees_lever_paths() -> None:
    # the guard above is only as good as the walk: it must reach nested lever paths
    names = [where for where, _ in _paths(load_scenario("mountain_province_pro_poor"))]
    assert any("provider_payment" in n and "capitation" in n for n in names)
    assert any("subsidies" in n for n in names)


# --- the rule for the years past the scenario's own -----------------------------------------


def test_an_extended_flat_premium_grows_with_the_price_index() -> None:
    from schemerisk.model import project

    sc = load_scenario("hai_phong_1993_1997")  # flat premiums to 1997, 15 %/yr inflation
    ds = project(sc.with_horizon(10))
    prem = ds.premium.transpose("year", "category").values
    prices = ds.domestic_price_index.values  # the model's own index, not the rule's
    flat = [i for i, c in enumerate(sc.categories) if c.flat_premium.values[-1] > 0]
    assert flat, "no flat premium in the scenario"
    own = sc.horizon + 1
    for i in flat:
        # the scenario's own years are untouched
        assert prem[:own, i] == pytest.approx(sc.categories[i].flat_premium.values, rel=1e-12)
        # past them, the real premium (premium over the price index) stays at its last value
        real = prem[own - 1 :, i] / prices[own - 1 :]
        assert real == pytest.approx(np.full(real.size, real[0]), rel=1e-12)
    assert float(ds.domestic_price_index[-1] / ds.domestic_price_index[own - 1]) == pytest.approx(
        1.15**6, rel=1e-12
    )  # 1998-2003 at the scenario's 15 %/yr


def test_nominal_extension_holds_the_last_amount_and_shares_hold_either_way() -> None:
    sc = load_scenario("hai_phong_1993_1997")
    real, nominal = sc.with_horizon(10), sc.with_horizon(10, amounts="nominal")
    for c0, cr, cn in zip(sc.categories, real.categories, nominal.categories, strict=True):
        assert cn.flat_premium.values[5:] == (c0.flat_premium.values[-1],) * 6
        for name in ("insured_share", "contribution_rate", "income_growth", "exempt_share"):
            for ext in (cr, cn):
                assert getattr(ext, name).values[5:] == (getattr(c0, name).values[-1],) * 6
    assert real.extension.startswith("1998-2003 extend the scenario: flat premiums and subsidy")
    assert "indexed to domestic prices" in real.extension
    assert "held at their 1997 nominal values" in nominal.extension
    assert sc.with_horizon(3).extension == "" and sc.extension == ""
    with pytest.raises(ValueError, match="amounts must be one of real, nominal"):
        sc.with_horizon(8, amounts="indexed")


def test_subsidy_amounts_are_indexed_too() -> None:
    base = load_scenario("mountain_province_pro_poor")  # its subsidies pay shares, no amounts
    n = base.horizon + 1
    cats = tuple(
        dataclasses.replace(
            c,
            subsidies=tuple(
                dataclasses.replace(s, amount=YearPath.constant(1000.0 * (k + 1), n))
                for k, s in enumerate(c.subsidies)
            ),
        )
        for c in base.categories
    )
    sc = dataclasses.replace(base, categories=cats)
    longer = sc.with_horizon(sc.horizon + 4)
    dp = longer.economy.domestic_inflation.values
    given = [s.amount.values for c in sc.categories for s in c.subsidies]
    got = [s.amount.values for c in longer.categories for s in c.subsidies]
    assert given and all(v[-1] > 0 for v in given)
    for old, new in zip(given, got, strict=True):
        index = np.cumprod([1 + dp[t] for t in range(n, n + 4)])
        assert new[:n] == old
        assert new[n:] == pytest.approx(old[-1] * index, rel=1e-12)
        assert index[-1] > 1.05  # the test would see a held amount
