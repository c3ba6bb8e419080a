"""The one kernel: draws, modifications, and the deterministic run as one draw.

The deterministic projection, the Monte Carlo and the solver all call
:func:`schemerisk.model.kernel.run_kernel`; these tests pin down that a draw
with no modifications is the deterministic run, that neutral modifications
are neutral bit for bit, and that each kind of modification means the same
as editing the scenario file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from schemerisk.errors import ScenarioError
from schemerisk.model import compile_inputs, project, run_kernel
from schemerisk.model.kernel import (
    ELEMENT,
    PATH_TARGET,
    REPLACE,
    SCALE,
    SHIFT,
    Modifications,
    output_offsets,
)
from schemerisk.model.layout import In, ModelInputs, Out
from schemerisk.model.results import OUTPUT_VARIABLES
from schemerisk.scenario import Scenario, load_scenario, parse_scenario
from schemerisk.scenario.builtin import resolve_scenario
from tests.oracle import assert_agrees_with_oracle

#: a scenario using every feature the kernel reads
RICH = """
name: rich
base_year: 1993
horizon: 6
demography:
  population: 250000
  growth_rate: [0, 0.02, 0.021, 0.019, 0.02, 0.018, 0.02]
  dependant_share: {{base: 0.4, target: 0.35, arrival: 1998}}
economy:
  domestic_inflation: 0.12
  external_inflation: [0, 0.03, 0.04, 0.05, 0.05, 0.04, 0.03]
  exchange_rate: {{rate: [10500, 11000, 11800, 12500, 13000, 14000, 14500]}}
admission_rate: 0.08
insured_utilisation_loading: 1.1
categories:
  dependants:
    flat_premium: 5000
    insured_share: {{base: 0.1, target: 0.5, arrival: 1999, delay: 1}}
    exempt_share: 0.2
    user_fee_exempt_share: 0.3
  farmers:
    adult_share: 0.8
    flat_premium: {{base: 11000, target: {farmer_target}, arrival: 1997, delay: 1}}
    insured_share: 0.2
    outpatient_cover: false
    exempt_share: 0.05
  workers:
    adult_share: 0.2
    income: 1000000
    income_growth: 0.1
    contribution_rate: [0.03, 0.03, 0.035, 0.04, 0.04, 0.045, 0.05]
    insured_share: 1.0
    user_fee_exempt_share: 0.1
services:
  bed_day:
    level: inpatient
    volume: {{per_admission: 0.9, length_of_stay: 8, relative_use: {{dependants: 0.5}}}}
    base_year_cost:
      salaries: {{total: 4.0e+9, government_share: 0.6}}
      maintenance: {{total: 1.0e+9, government_share: 1.0}}
      pharmaceuticals: {{total: 3.0e+9, government_share: 0.1}}
      other: {{total: 0.5e+9}}
    copayment_rate: 0.2
    patient_import_share: 0.4
    government_import_share: 0.2
    patient_cost_target: {{ratio: 1.5, delay: 1, arrival: 1998}}
  consultation:
    level: outpatient
    volume: {{count: 300000, split: {{dependants: 0.5, farmers: 0.3, workers: 0.2}}}}
    patient_cost: 5000
    government_cost: 2000
    copayment_rate: 0.1
    government_cost_target: {{target: 3000, arrival: 1996}}
service_rate_targets:
  - {{service: consultation, categories: [workers], ratio: 1.2, delay: 2, arrival: 1998}}
administration:
  staff: {{amount: 5.0e+7, real_growth: 0.02}}
  reserve: {{share_of_payments: 0.05}}
  other: {{share_of_payments: 0.02, every_year: true}}
  cards: {{per_member: 300, real_growth: [0, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]}}
"""
FARMER_TARGET = 30000.0


def rich(farmer_target: float = FARMER_TARGET) -> Scenario:
    return parse_scenario(RICH.format(farmer_target=farmer_target), source="rich.yaml")


@pytest.fixture(params=["hai_phong_1993_1997", "rich"])
def inputs(request: pytest.FixtureRequest) -> ModelInputs:
    sc = rich() if request.param == "rich" else load_scenario(request.param)
    return compile_inputs(sc)


def one_position(pos: int, mode: int, column: int = 0) -> Modifications:
    return Modifications(
        column=[column], position=[pos], mode=[mode], kind=[ELEMENT], weight=[0.0], reference=[0.0]
    )


# ---------------------------------------------------------------- draws


def test_deterministic_run_is_one_draw(inputs: ModelInputs) -> None:
    one = run_kernel(inputs)
    assert one.shape[0] == 1
    three = run_kernel(inputs, theta=np.zeros((3, 0)))
    assert three.shape == (3, one.shape[1])
    for row in three:
        np.testing.assert_array_equal(row, one[0])


def test_project_is_the_kernel() -> None:
    """``project`` returns exactly the kernel's one-draw row."""
    sc = rich()
    inputs = compile_inputs(sc)
    row = run_kernel(inputs)[0]
    ds = project(sc)
    ooff = output_offsets(inputs)
    for f in Out:
        block = row[ooff[f] : ooff[f + 1]]
        np.testing.assert_array_equal(
            ds[OUTPUT_VARIABLES[f].name].values.ravel(), block, err_msg=f.name
        )


def test_rich_scenario_agrees_with_oracle() -> None:
    """Every feature at once, against the naive transcription in tests/oracle.py."""
    sc = rich()
    assert_agrees_with_oracle(project(sc), sc)


def test_preallocated_output_is_filled(inputs: ModelInputs) -> None:
    expected = run_kernel(inputs, theta=np.zeros((2, 0)))
    out = np.full_like(expected, np.nan)
    got = run_kernel(inputs, theta=np.zeros((2, 0)), out=out)
    assert got is out
    np.testing.assert_array_equal(out, expected)


# ---------------------------------------------------------------- neutral modifications


@pytest.mark.parametrize(("mode", "neutral"), [(SCALE, 1.0), (SHIFT, 0.0)])
def test_neutral_modification_of_every_input_changes_nothing(
    inputs: ModelInputs, mode: int, neutral: float
) -> None:
    """Scaling every input by 1 or shifting it by 0 leaves every result bit for bit."""
    base = run_kernel(inputs)
    n = int(inputs.offsets[-1])
    mods = Modifications(
        column=np.zeros(n, dtype=np.int64),
        position=np.arange(n),
        mode=np.full(n, mode),
        kind=np.full(n, ELEMENT),
        weight=np.zeros(n),
        reference=np.zeros(n),
    )
    got = run_kernel(inputs, theta=np.full((2, 1), neutral), modifications=mods)
    for row in got:
        np.testing.assert_array_equal(row, base[0])


def test_modifications_do_not_leak_between_draws(inputs: ModelInputs) -> None:
    """Each draw starts from the base vector: a change in one draw is not seen by the next."""
    pos = int(inputs.index(In.POPULATION0))
    theta = np.array([[2.0], [1.0], [2.0], [1.0]])
    got = run_kernel(inputs, theta=theta, modifications=one_position(pos, SCALE))
    base = run_kernel(inputs)[0]
    np.testing.assert_array_equal(got[1], base)
    np.testing.assert_array_equal(got[3], base)
    np.testing.assert_array_equal(got[0], got[2])
    assert not np.array_equal(got[0], base)


# ---------------------------------------------------------------- a modification equals editing the file


def hai_phong_text(admission_rate: float) -> str:
    text = resolve_scenario("hai_phong_1993_1997").read_text(encoding="utf-8")
    new, count = re.subn(
        r"(?m)^admission_rate: 0\.08$", f"admission_rate: {admission_rate!r}", text
    )
    assert count == 1
    return new


@pytest.mark.parametrize("rates", [(0.07,), (0.07, 0.08, 0.1, 0.0)])
def test_replace_admission_rate_equals_the_edited_file(rates: tuple[float, ...]) -> None:
    inputs = compile_inputs(load_scenario("hai_phong_1993_1997"))
    pos = int(inputs.index(In.ADMISSION_RATE))
    theta = np.array(rates)[:, None]
    got = run_kernel(inputs, theta=theta, modifications=one_position(pos, REPLACE))
    for d, rate in enumerate(rates):
        edited = compile_inputs(parse_scenario(hai_phong_text(rate)))
        np.testing.assert_array_equal(edited.vector[pos], rate)
        np.testing.assert_array_equal(
            got[d], run_kernel(edited)[0], err_msg=f"admission rate {rate}"
        )


def test_scale_and_shift_equal_the_edited_input() -> None:
    """SCALE multiplies and SHIFT adds, as editing the input vector by hand would."""
    inputs = compile_inputs(rich())
    pos = int(inputs.index(In.VOLUME_AMOUNT)[1])  # the consultation count
    for mode, x, expected in ((SCALE, 1.25, 375000.0), (SHIFT, -50000.0, 250000.0)):
        got = run_kernel(inputs, theta=np.array([[x]]), modifications=one_position(pos, mode))
        edited = ModelInputs(inputs.vector.copy(), inputs.offsets, inputs.dims, inputs.base_year)
        edited.vector[pos] = expected
        np.testing.assert_array_equal(got[0], run_kernel(edited)[0])


def path_target_mods(inputs: ModelInputs, sc: Scenario, mode: int) -> Modifications:
    """PATH_TARGET rows moving the target of the farmers' flat-premium path, every year."""
    c = sc.category_names.index("farmers")
    linear = sc.category("farmers").flat_premium.linear
    assert linear is not None
    start = sc.base_year + linear.delay
    positions, weights = [], []
    for t, year in enumerate(sc.years):
        positions.append(int(inputs.index(In.FLAT_PREMIUM)[t, c]))
        weights.append(min(1.0, max(0.0, (year - start) / (linear.arrival - start))))  # Annex I.1
    n = len(positions)
    return Modifications(
        column=np.zeros(n, dtype=np.int64),
        position=positions,
        mode=np.full(n, mode),
        kind=np.full(n, PATH_TARGET),
        weight=weights,
        reference=np.full(n, linear.target),
    )


@pytest.mark.parametrize(
    ("mode", "x", "new_target"),
    [
        (REPLACE, 40000.0, 40000.0),
        (SCALE, 1.5, 45000.0),
        (SHIFT, -5000.0, 25000.0),
        (REPLACE, 0.0, 0.0),
    ],
)
def test_path_target_equals_reparsing_with_the_new_target(
    mode: int, x: float, new_target: float
) -> None:
    sc = rich()
    inputs = compile_inputs(sc)
    got = run_kernel(
        inputs, theta=np.array([[x]]), modifications=path_target_mods(inputs, sc, mode)
    )
    reparsed = compile_inputs(rich(new_target))
    np.testing.assert_allclose(
        got[0], run_kernel(reparsed)[0], rtol=1e-12, atol=1e-9, err_msg=f"mode {mode}, x {x}"
    )
    # the base year and the years up to the starting year do not move
    c = sc.category_names.index("farmers")
    premium = inputs.field(In.FLAT_PREMIUM)[:, c]
    assert reparsed.field(In.FLAT_PREMIUM)[0, c] == premium[0] == 11000.0


def test_path_target_with_its_own_target_changes_nothing() -> None:
    sc = rich()
    inputs = compile_inputs(sc)
    got = run_kernel(
        inputs,
        theta=np.array([[FARMER_TARGET]]),
        modifications=path_target_mods(inputs, sc, REPLACE),
    )
    np.testing.assert_array_equal(got[0], run_kernel(inputs)[0])


# ---------------------------------------------------------------- checks of the wrapper


def test_run_kernel_rejects_bad_tables() -> None:
    inputs = compile_inputs(rich())
    with pytest.raises(ValueError, match="2-D"):
        run_kernel(inputs, theta=np.zeros(3))
    with pytest.raises(ValueError, match="column"):
        run_kernel(inputs, theta=np.zeros((1, 1)), modifications=one_position(0, SCALE, column=1))
    with pytest.raises(ValueError, match="outside"):
        run_kernel(
            inputs,
            theta=np.zeros((1, 1)),
            modifications=one_position(int(inputs.offsets[-1]), SCALE),
        )
    with pytest.raises(ValueError, match="entries"):
        Modifications(
            column=[0], position=[0, 1], mode=[0], kind=[0], weight=[0.0], reference=[0.0]
        )


# ---------------------------------------------------------------- count split onto an empty category

EMPTY_SPLIT = """
base_year: 2000
horizon: 1
demography: {population: 1000, dependant_share: 0.0}
economy: {exchange_rate: {rate: 1}}
categories:
  dependants: {insured_share: 0.5}
  farmers: {adult_share: 1, insured_share: 0.5}
services:
  stay:
    level: inpatient
    volume: {count: 100, split: {dependants: 0.5, farmers: 0.5}}
    base_year_cost: {salaries: {total: 10000}}
"""


def test_count_split_onto_empty_category_is_rejected() -> None:
    with pytest.raises(ScenarioError, match="split"):
        parse_scenario(EMPTY_SPLIT)


def test_cached_kernels_are_flushed_when_a_module_they_use_changes(tmp_path: Path) -> None:
    """numba keys a cache on the kernel's own file; equations.py and layout.py are checked here."""
    from schemerisk.model.kernel import refresh_stale_cache

    class FakeCache:
        def __init__(self) -> None:
            self.flushed = 0
            self.cache_path = str(tmp_path / "cache")

        def flush(self) -> None:
            self.flushed += 1

    class FakeDispatcher:
        def __init__(self) -> None:
            self._cache = FakeCache()

    dispatchers = [FakeDispatcher(), FakeDispatcher()]
    source = tmp_path / "equations.py"
    source.write_text("def f(): return 1\n", encoding="utf-8")
    assert refresh_stale_cache(dispatchers, [source])  # no note yet: flushed, note written
    assert [d._cache.flushed for d in dispatchers] == [1, 1]
    assert not refresh_stale_cache(dispatchers, [source])  # unchanged: the cache is kept
    assert [d._cache.flushed for d in dispatchers] == [1, 1]
    source.write_text("def f(): return 2\n", encoding="utf-8")  # an equation edited
    assert refresh_stale_cache(dispatchers, [source])
    assert [d._cache.flushed for d in dispatchers] == [2, 2]


def test_the_kernels_dependencies_are_watched() -> None:
    from schemerisk.model import kernel

    names = {d.__name__ for d in kernel._cached_dispatchers()}
    assert {"project_one", "_project_block", "_project_parallel", "apply_modifications"} <= names
    assert {p.name for p in kernel.KERNEL_SOURCES} == {"kernel.py", "equations.py", "layout.py"}
    kernel.check_kernel_cache(force=True)
    marker = Path(kernel.compiled_kernels()["project_one"]._cache.cache_path)
    marker = marker / kernel._DEPENDENCY_MARKER
    assert marker.is_file()


def test_inputs_of_other_layouts_run_the_same_compiled_kernel() -> None:
    """run_kernel passes its compiled kernels one set of argument types, whatever it is given.

    The kernels are typed on their first call only (``_compiled_call``), so a
    strided vector, int32 offsets or a strided ``keep`` must not reach numba as
    another signature; the numbers are those of the contiguous arrays.
    """
    import dataclasses

    from schemerisk.model import kernel

    inputs = compile_inputs(load_scenario("hai_phong_1993_1997"))
    theta = np.zeros((9, 0))
    want = run_kernel(inputs, theta, keep=np.arange(0, 80, 4))
    other = dataclasses.replace(
        inputs, vector=np.repeat(inputs.vector, 2)[::2], offsets=inputs.offsets.astype(np.int32)
    )
    got = run_kernel(other, theta, keep=np.arange(0, 80, 2)[::2])
    np.testing.assert_array_equal(got, want)
    entry = ("_project_scalar", "_project_block", "_project_parallel")
    compiled = kernel.compiled_kernels()
    assert all(len(compiled[name].signatures) <= 1 for name in entry)
