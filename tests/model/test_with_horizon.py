"""Every per-year path of a scenario follows a change of horizon (Scenario.with_horizon)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

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
