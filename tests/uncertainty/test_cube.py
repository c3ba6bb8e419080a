"""The Monte Carlo cube: reproducible whatever the chunk size, threads or sampler,
equal to the deterministic projection when nothing is uncertain, carrying its drawn
inputs and provenance, saved losslessly, and applying each drawn value as asked.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest
import xarray as xr
import yaml

from schemerisk.io import open_dataset, write_dataset
from schemerisk.model import DEFAULT_KEEP, ModelInputs, project
from schemerisk.model.results import VARIABLE_FIELDS
from schemerisk.scenario import Scenario, load_scenario, resolve_scenario
from schemerisk.scenario.builtin import resolve_builtin
from schemerisk.uncertainty.montecarlo import simulate
from schemerisk.uncertainty.sampling import sample_values
from schemerisk.uncertainty.space import load_space
from schemerisk.uncertainty.targets import resolve

SC = "hai_phong_1993_1997"
DIST = "hai_phong_1993_1997"
N_BIG = 70_000  # more than one chunk of 65,536 and many MC blocks of 4,096
SEED = 2024
MOST_THREADS = min(2, int(numba.config.NUMBA_NUM_THREADS))


def _assert_bitwise_identical(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a, b)
    for name in a.variables:
        x, y = a[name].values, b[name].values
        assert x.dtype == y.dtype, name
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), name
            assert np.array_equal(np.isnan(x), np.isnan(y)), name
            assert x.tobytes() == y.tobytes(), name
        else:
            assert np.array_equal(x, y), name


def _run(**kw: Any) -> xr.Dataset:
    return simulate(SC, DIST, kw.pop("n", N_BIG), seed=kw.pop("seed", SEED), progress=False, **kw)


@pytest.fixture(scope="module")
def reference_mc() -> xr.Dataset:
    """70,000 draws of the shipped distributions, in one big chunk, on every thread."""
    return _run(chunk_size=65_536, threads=MOST_THREADS)


# --- reproducibility ---------------------------------------------------------------------


def test_chunk_size_does_not_change_the_cube(reference_mc: xr.Dataset) -> None:
    _assert_bitwise_identical(_run(chunk_size=1_000, threads=MOST_THREADS), reference_mc)


@pytest.mark.skipif(MOST_THREADS < 2, reason="needs two numba threads")
def test_thread_count_does_not_change_the_cube(reference_mc: xr.Dataset) -> None:
    _assert_bitwise_identical(_run(chunk_size=65_536, threads=1), reference_mc)


def test_lhs_cube_does_not_depend_on_chunks_or_threads() -> None:
    a = _run(sampler="lhs", chunk_size=65_536, threads=MOST_THREADS)
    b = _run(sampler="lhs", chunk_size=1_000, threads=1)
    _assert_bitwise_identical(a, b)
    assert a.attrs["sampler"] == "lhs"


def test_cube_shape_and_a_seed_changes_it(reference_mc: xr.Dataset) -> None:
    assert reference_mc.sizes["draw"] == N_BIG
    assert reference_mc.sizes["year"] == 5
    other = _run(n=2_000, seed=SEED + 1, chunk_size=65_536)
    same = _run(n=2_000, chunk_size=777)
    assert not np.array_equal(other.balance.values, reference_mc.balance.values[:2_000])
    # the first draws do not depend on how many are drawn
    assert same.attrs["n_draws"] == 2_000
    _assert_bitwise_identical(
        same.assign_attrs(n_draws=N_BIG), reference_mc.isel(draw=slice(0, 2_000))
    )


# --- nothing uncertain: the deterministic projection ---------------------------------------


def _base_value(slot_positions: np.ndarray, inputs: ModelInputs) -> float | None:
    values = np.unique(inputs.vector[slot_positions])
    return float(values[0]) if len(values) == 1 else None


@pytest.fixture
def fixed_at_base(scenario: Scenario, inputs: ModelInputs, tmp_path: Path) -> Path:
    """The shipped distributions file with every distribution fixed at the base value.

    An entry that replaces a value the scenario holds the same everywhere replaces it
    by that value; any other replaces nothing: it scales by 1 (or, for a third of
    them, shifts by 0). Time structure and correlations are kept.
    """
    doc = yaml.safe_load(resolve_builtin(DIST, "distributions").read_text(encoding="utf-8"))
    for i, (_name, entry) in enumerate(doc["inputs"].items()):
        slot = resolve(entry["target"], scenario, inputs)
        base = _base_value(slot.positions, inputs)
        if entry.get("apply", "replace") == "replace" and base is not None:
            entry["distribution"] = {"family": "fixed", "value": base}
        elif i % 3 == 0:
            entry["apply"] = "shift"
            entry["distribution"] = {"family": "fixed", "value": 0.0}
        else:
            entry["apply"] = "scale"
            entry["distribution"] = {"family": "fixed", "value": 1.0}
    path = tmp_path / "fixed.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("keep", [None, "all"])
def test_fixed_inputs_give_the_deterministic_projection_in_every_draw(
    fixed_at_base: Path, keep: str | None
) -> None:
    det = project(SC)
    cube = simulate(SC, fixed_at_base, 64, seed=3, keep=keep, chunk_size=10, progress=False)
    modes = {str(cube[v].attrs["apply"]) for v in cube.data_vars if v.startswith("input_")}
    assert modes == {"replace", "scale", "shift"}
    outputs = [v for v in cube.data_vars if not v.startswith("input_")]
    if keep == "all":
        assert set(VARIABLE_FIELDS) <= set(outputs)
    else:
        assert set(DEFAULT_KEEP) <= set(outputs)
    for name in outputs:
        assert name in det, name
        wanted = det[name].values
        got = cube[name].transpose("draw", *det[name].dims).values
        for d in range(cube.sizes["draw"]):
            assert np.array_equal(got[d], wanted, equal_nan=True), (name, d)


# --- inputs and provenance ----------------------------------------------------------------


@pytest.fixture(scope="module")
def small_cube() -> xr.Dataset:
    return _run(n=300, seed=5, chunk_size=128)


def test_every_entry_is_kept_as_an_input_variable(
    small_cube: xr.Dataset, scenario: Scenario
) -> None:
    space = load_space(DIST, scenario)
    drawn = sample_values(space, 300, seed=5)
    for e in space.entries:
        var = small_cube[f"input_{e.name}"]
        cols = space.columns[e.name]
        if e.is_series:
            assert var.dims == ("draw", "year")
            assert np.array_equal(var.values, drawn[:, cols])
        else:
            assert var.dims == ("draw",)
            assert np.array_equal(var.values, drawn[:, cols[0]])
        assert var.attrs["target"] == e.slot.path
        assert var.attrs["apply"] == e.apply.value
        assert var.attrs["distribution"] == e.marginal.describe()
    inputs = {v for v in small_cube.data_vars if v.startswith("input_")}
    assert inputs == {f"input_{e.name}" for e in space.entries}


def test_provenance_attributes(small_cube: xr.Dataset) -> None:
    attrs = small_cube.attrs
    sc_file = resolve_scenario(SC)
    dist_file = resolve_builtin(DIST, "distributions")
    assert Path(attrs["scenario_file"]).resolve() == sc_file.resolve()
    assert attrs["scenario_sha256"] == hashlib.sha256(sc_file.read_bytes()).hexdigest()
    assert Path(attrs["distributions_file"]).resolve() == dist_file.resolve()
    assert attrs["distributions_sha256"] == hashlib.sha256(dist_file.read_bytes()).hexdigest()
    assert attrs["seed"] == 5
    assert attrs["sampler"] == "mc"
    assert attrs["n_draws"] == 300
    versions = {k for k in attrs if k.startswith("version_")}
    assert {"version_schemerisk", "version_numpy", "version_numba", "version_scipy"} <= versions
    assert all(attrs[k] for k in versions)


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_cube_round_trip_is_lossless(small_cube: xr.Dataset, tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"cube{suffix}"
    write_dataset(small_cube, target)
    back = open_dataset(target)
    xr.testing.assert_identical(back, small_cube)
    for name in small_cube.data_vars:
        assert np.array_equal(back[name].values, small_cube[name].values, equal_nan=True), name
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


# --- memory ------------------------------------------------------------------------------


def test_default_keep_stays_small_and_keep_all_works(small_cube: xr.Dataset) -> None:
    full = {"draw", "year", "category", "service"}
    for name, var in small_cube.data_vars.items():
        assert set(var.dims) != full, name
        assert not {"category", "service"} <= set(var.dims), name
    assert "services" not in small_cube
    everything = _run(n=50, seed=5, keep="all", chunk_size=16)
    assert set(VARIABLE_FIELDS) <= set(everything.data_vars)
    assert everything["services"].dims == ("draw", "year", "service")
    # the kept draws are those of the default run
    assert np.array_equal(everything.balance.values, small_cube.balance.values[:50])
    only = _run(n=50, seed=5, keep=["balance"], chunk_size=16)
    outputs = {v for v in only.data_vars if not v.startswith("input_")}
    assert "balance" in outputs
    assert not {"members", "premium", "services"} & outputs


# --- how a drawn value applies -----------------------------------------------------------

LINEAR_SHARE = {"base": 0.1, "target": 0.3, "arrival": 1997}


def _with_linear_share(doc: dict[str, Any], delay: int = 0) -> dict[str, Any]:
    doc["categories"]["farmers"]["insured_share"] = {**LINEAR_SHARE, "delay": delay}
    return doc


def _set_target(doc: dict[str, Any], value: float, delay: int = 0) -> None:
    doc["categories"]["farmers"]["insured_share"] = {
        **LINEAR_SHARE,
        "target": value,
        "delay": delay,
    }


def _scale_list(values: list[Any], x: float) -> list[float]:
    return [float(v) * x for v in values]


#: id, entry (without distribution), distribution, edit of the scenario dict for a drawn x,
#: and the delay of the linear insured-share path the scenario is given
APPLY_CASES: list[
    tuple[str, dict[str, Any], dict[str, Any], Callable[[dict[str, Any], float], None], int | None]
] = [
    (
        "scale-single-value",
        {"target": "services.consultation_commune.patient_cost", "apply": "scale"},
        {"family": "uniform", "low": 0.5, "high": 3.0},
        lambda d, x: d["services"]["consultation_commune"].__setitem__("patient_cost", 1000 * x),
        None,
    ),
    (
        "shift-single-value",
        {"target": "admission_rate", "apply": "shift"},
        {"family": "uniform", "low": -0.02, "high": 0.03},
        lambda d, x: d.__setitem__("admission_rate", 0.08 + x),
        None,
    ),
    (
        "replace-single-value",
        {"target": "services.inpatient_day_city.volume.length_of_stay", "apply": "replace"},
        {"family": "uniform", "low": 10, "high": 20},
        lambda d, x: d["services"]["inpatient_day_city"]["volume"].__setitem__("length_of_stay", x),
        None,
    ),
    (
        "replace-every-year",
        {"target": "economy.domestic_inflation", "apply": "replace"},
        {"family": "uniform", "low": 0.05, "high": 0.5},
        lambda d, x: d["economy"].__setitem__("domestic_inflation", x),
        None,
    ),
    (
        "scale-every-year",
        {"target": "categories.farmers.flat_premium", "apply": "scale"},
        {"family": "uniform", "low": 0.5, "high": 1.5},
        lambda d, x: d["categories"]["farmers"].__setitem__(
            "flat_premium", _scale_list(d["categories"]["farmers"]["flat_premium"], x)
        ),
        None,
    ),
    (
        "shift-every-year",
        {"target": "categories.dependants.insured_share", "apply": "shift"},
        {"family": "uniform", "low": -0.1, "high": 0.2},
        lambda d, x: d["categories"]["dependants"].__setitem__(
            "insured_share", [v + x for v in d["categories"]["dependants"]["insured_share"]]
        ),
        None,
    ),
    (
        "replace-wildcard",
        {"target": "services.*.copayment_rate", "apply": "replace"},
        {"family": "uniform", "low": 0.0, "high": 0.3},
        lambda d, x: [s.__setitem__("copayment_rate", x) for s in d["services"].values()],
        None,
    ),
    (
        "replace-path-target",
        {"target": "categories.farmers.insured_share", "apply": "replace", "path": "target"},
        {"family": "uniform", "low": 0.2, "high": 0.6},
        lambda d, x: _set_target(d, x),
        0,
    ),
    (
        "scale-path-target",
        {"target": "categories.farmers.insured_share", "apply": "scale", "path": "target"},
        {"family": "uniform", "low": 0.5, "high": 2.0},
        lambda d, x: _set_target(d, 0.3 * x),
        0,
    ),
    (
        "shift-path-target-with-delay",
        {"target": "categories.farmers.insured_share", "apply": "shift", "path": "target"},
        {"family": "uniform", "low": -0.1, "high": 0.3},
        lambda d, x: _set_target(d, 0.3 + x, delay=1),
        1,
    ),
]


@pytest.mark.parametrize(
    ("entry", "distribution", "edit", "delay"),
    [pytest.param(*c[1:], id=c[0]) for c in APPLY_CASES],
)
def test_apply_modes_match_a_scenario_edited_by_hand(
    scenario_doc: dict[str, Any],
    write_yaml: Callable[..., Path],
    entry: dict[str, Any],
    distribution: dict[str, Any],
    edit: Callable[[dict[str, Any], float], None],
    delay: int | None,
) -> None:
    base_doc = _with_linear_share(scenario_doc, delay) if delay is not None else scenario_doc
    sc_path = write_yaml(base_doc, "scenario")
    dist_path = write_yaml({"inputs": {"x": {**entry, "distribution": distribution}}}, "dist")
    cube = simulate(sc_path, dist_path, 4, seed=8, keep="all", progress=False)
    drawn = cube["input_x"].values
    assert drawn.shape == (4,)
    assert np.unique(drawn).size == 4

    for d, x in enumerate(drawn):
        edited = copy.deepcopy(base_doc)
        edit(edited, float(x))
        det = project(load_scenario(write_yaml(edited, f"edited{d}")))
        for name in det.data_vars:
            if name not in cube or det[name].dtype == bool:
                continue
            got = cube[name].isel(draw=d).transpose(*det[name].dims).values
            np.testing.assert_allclose(
                got, det[name].values, rtol=1e-11, atol=1e-9, err_msg=f"{name}, draw {d}, x={x}"
            )


def test_path_target_leaves_the_base_year_alone(
    scenario_doc: dict[str, Any], write_yaml: Callable[..., Path]
) -> None:
    sc_path = write_yaml(_with_linear_share(scenario_doc, 1), "scenario")
    dist = {
        "inputs": {
            "x": {
                "target": "categories.farmers.insured_share",
                "apply": "replace",
                "path": "target",
                "distribution": {"family": "fixed", "value": 0.5},
            }
        }
    }
    cube = simulate(sc_path, write_yaml(dist), 2, seed=0, progress=False)
    det = project(sc_path)
    members = cube.members.sel(category="farmers").isel(draw=0)
    base = det.members.sel(category="farmers")
    # the path starts moving after the delay: 1993 and 1994 are the base value
    assert np.array_equal(members.sel(year=[1993, 1994]).values, base.sel(year=[1993, 1994]).values)
    assert bool((members.sel(year=[1995, 1996, 1997]) > base.sel(year=[1995, 1996, 1997])).all())
    population = det.population.sel(category="farmers")
    assert float(members.sel(year=1997) / population.sel(year=1997)) == pytest.approx(
        0.5, rel=1e-12
    )
