"""The compiled map of design rows (to_values) gives the NumPy map's values bit for bit (issue 13).

``to_values_numpy`` is the map as first written, column by column with NumPy and
SciPy ufuncs; ``to_values`` runs its steps row by row in numba with SciPy's C
functions. Every family, copula blocks (with AR(1) paths of different
persistences, whose innovations take their own factor), every built-in
distributions file, the design's corners, and any split of the rows between
threads must give the same bits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from schemerisk.scenario.builtin import builtin_names
from schemerisk.uncertainty import sampling
from schemerisk.uncertainty.montecarlo import bind_space
from schemerisk.uncertainty.sampling import to_values, to_values_numpy, unit_design
from schemerisk.uncertainty.space import ParameterSpace
from tests.uncertainty.test_copula import SERIES, THREE, TWO

Space = Callable[[str], ParameterSpace]

EVERY_FAMILY = """
inputs:
  admissions:
    target: admission_rate
    clip: true
    distribution: {family: normal, mean: 0.08, sd: 0.01}
  copayment:
    target: services.inpatient_day_city.copayment_rate
    distribution: {family: uniform, low: 0.1, high: 0.3}
  consultations:
    target: services.consultation_city.volume.rate_per_person
    distribution: {family: gamma, mean: 0.15, sd: 0.03}
  uptake:
    target: categories.farmers.insured_share
    apply: scale
    distribution: {family: triangular, low: 0.5, mode: 0.8, high: 1.0}
  dependants:
    target: categories.dependants.insured_share
    apply: scale
    distribution: {family: discrete, values: [0.8, 1.0, 1.1], weights: [1, 2, 1]}
  city_cost:
    target: services.inpatient_day_city.patient_cost
    apply: scale
    distribution: {family: empirical, values: [0.9, 1.0, 1.0, 1.2, 1.05]}
  district_cost:
    target: services.inpatient_day_district.patient_cost
    apply: scale
    distribution: {family: fixed, value: 1.1}
  imported:
    target: services.*.patient_import_share
    distribution: {family: beta, mean: 0.2, sd: 0.05}
  inflation:
    target: economy.domestic_inflation
    time: ar1
    persistence: 0.8
    distribution: {family: lognormal, p05: 0.06, p95: 0.45}
  wages:
    target: categories.*.income_growth
    time: ar1
    persistence: 0.3
    clip: true
    distribution: {family: normal, mean: 0.12, sd: 0.04}
  depreciation:
    target: economy.exchange_rate.real_depreciation
    time: each_year
    distribution: {family: truncated_normal, mean: 0.0, sd: 0.10, low: -0.3, high: 0.3}
correlations:
  - entries: [inflation, wages]
    matrix:
      - [1.0, 0.7]
      - [0.7, 1.0]
  - entries: [admissions, copayment, consultations]
    matrix:
      - [1.0, 0.5, 0.3]
      - [0.5, 1.0, -0.4]
      - [0.3, -0.4, 1.0]
"""


def _rows(space: ParameterSpace, n: int = 6000) -> np.ndarray:
    """Monte Carlo rows with the design's corners: exactly 0, exactly 1, 1/2, tiny and near 1."""
    u = unit_design(space, n, 5).rows(0, n)
    u[:3], u[3:6], u[6:9] = 0.0, 1.0, 0.5
    u[9:12], u[12:15] = 1e-300, 1.0 - 2.0**-52
    return u


def _same(space: ParameterSpace, u: np.ndarray, threads: int = 1) -> None:
    fast, reference = to_values(space, u, threads), to_values_numpy(space, u)
    assert fast.shape == reference.shape
    # equal to the last bit (NaN where NaN): the same operations on every value
    np.testing.assert_array_equal(fast.view(np.int64), reference.view(np.int64))


@pytest.mark.parametrize("text", [TWO, THREE, SERIES, EVERY_FAMILY], ids=lambda t: t[:40])
def test_compiled_map_equals_numpy_map_bitwise(space_of: Space, text: str) -> None:
    space = space_of(text)
    _same(space, _rows(space))


def test_innovations_after_the_first_year_take_their_own_factor(space_of: Space) -> None:
    space = space_of(EVERY_FAMILY)
    block = next(b for b in space.correlations if "inflation" in b.entries)
    # the two persistences differ, so the innovations need a factor of their own: the
    # comparison above only covers this if it differs from the first year's
    assert block.innovation_factor is not None
    assert not np.array_equal(block.innovation_factor, block.factor)


@pytest.mark.parametrize("name", builtin_names("distributions"))
def test_compiled_map_equals_numpy_map_on_every_built_in_file(name: str) -> None:
    scenario = name if name in builtin_names("scenarios") else "hai_phong_1993_1997"
    space = bind_space(scenario, name, horizon=10)
    _same(space, _rows(space))


@pytest.mark.parametrize("threads", [2, 3, 7])
def test_threads_share_the_rows_without_changing_a_bit(space_of: Space, threads: int) -> None:
    space = space_of(EVERY_FAMILY)
    u = _rows(space, 9000)
    one = to_values(space, u, 1)
    np.testing.assert_array_equal(to_values(space, u, threads).view(np.int64), one.view(np.int64))


def test_without_scipys_c_functions_the_numpy_map_is_used(
    space_of: Space, monkeypatch: pytest.MonkeyPatch
) -> None:
    space = space_of(EVERY_FAMILY)
    u = _rows(space, 500)
    expected = to_values_numpy(space, u)

    def fail(*args: object) -> None:
        raise AssertionError("the compiled map ran without SciPy's functions")

    monkeypatch.setattr(sampling, "_COMPILED", [None])
    monkeypatch.setattr("schemerisk.uncertainty._unitmap.map_rows", fail)
    np.testing.assert_array_equal(to_values(space, u), expected)


def test_inverses_built_two_at_a_time_are_those_built_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """prepare_inverses builds in threads: the same inverses, and the same check verdicts."""
    from schemerisk.uncertainty import families

    params = [
        ("pert", {"low": 0.0, "mode": 0.15, "high": 0.35}),
        ("pert", {"low": 1.0, "mode": 1.12, "high": 1.30}),
        ("truncated_normal", {"mean": 0.0, "sd": 0.1, "low": -0.3, "high": 0.3}),
        ("beta", {"mean": 0.2, "sd": 0.05}),
        ("gamma", {"mean": 0.15, "sd": 0.03}),
    ]
    u = np.linspace(0.0, 1.0, 10_001)[1:-1]

    def values(threads: int) -> list[np.ndarray]:
        monkeypatch.setattr(families, "_INVERSE_CACHE", {})
        marginals = [families.make_marginal(f, p) for f, p in params]
        families.prepare_inverses(marginals, threads)
        assert all(m._inverse is not None for m in marginals)  # every one decided
        return [m.ppf(u) for m in marginals]

    for threaded, serial in zip(values(3), values(1), strict=True):
        np.testing.assert_array_equal(threaded.view(np.int64), serial.view(np.int64))


PATHS = """
inputs:
  inflation:
    target: economy.domestic_inflation
    time: ar1
    persistence: 0.8
    distribution: {family: lognormal, p05: 0.06, p95: 0.45}
  wages:
    target: categories.*.income_growth
    time: ar1
    persistence: -0.3
    clip: true
    distribution: {family: normal, mean: 0.12, sd: 0.04}
"""


def test_a_normal_or_lognormal_path_takes_its_values_from_its_scores(space_of: Space) -> None:
    """F^-1(Phi(z)) is mean + sd z, median exp(sigma z): no round trip through a probability.

    Brute force, value by value in plain Python: each year's score is the AR(1)
    recursion of the innovations' ``ndtri``; the value is the score's closed form.
    Through ``ndtr`` and back (as before) a good share of the values would differ in
    their last bits, and by up to ~1e-10 relatively in the upper tail.
    """
    import math

    from scipy import special

    space = space_of(PATHS)
    u = _rows(space, 3000)
    got = to_values(space, u, 2)
    assert np.isfinite(got).all()
    differ = 0
    for name in ("inflation", "wages"):
        e = space.entry(name)
        cols = space.columns[name]
        kw = e.marginal._dist.kwds
        phi = e.persistence
        root = math.sqrt(1.0 - phi * phi)
        for r in range(u.shape[0]):
            z = 0.0
            for t, c in enumerate(cols):
                q = min(max(float(u[r, c]), 2.0**-53), 1.0 - 2.0**-53)
                shock = float(special.ndtri(q))
                z = shock if t == 0 else phi * z + root * shock
                s = min(max(z, float(special.ndtri(2.0**-53))), float(special.ndtri(1 - 2.0**-53)))
                if e.marginal.family == "normal":  # the same operations: the same bits
                    assert got[r, c] == s * kw["scale"] + kw["loc"], (name, r, t)
                    old = float(special.ndtri(min(max(special.ndtr(z), 2.0**-53), 1 - 2.0**-53)))
                    differ += old != s
                else:  # the C library's exp and NumPy's may differ by an ulp (2^-52 at
                    # most, relatively), and the product by the median rounds (2^-53)
                    want = math.exp(kw["s"] * s) * kw["scale"]
                    assert got[r, c] == pytest.approx(want, rel=2**-51, abs=0.0), (name, r, t)
    assert differ > 0.05 * u.size  # the round trip would have changed these scores
