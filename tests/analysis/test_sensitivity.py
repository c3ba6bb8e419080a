"""Sobol' indices and given-data measures (UNCERTAINTY.md section 5).

The estimators are checked on test functions with known indices (Ishigami, Sobol' G),
derived here from their formulas, and against SALib's own ``sobol.analyze`` run one
output at a time; on the scheme, the structure of the result and a fact of the model
(base-year inflation is not used) are checked, and a constructed case with one dominant
input tests the given-data measures.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr
from SALib.analyze import sobol as salib_sobol
from SALib.sample import sobol as saltelli
from SALib.test_functions import Ishigami, Sobol_G

from schemerisk.analysis.sensitivity import (
    OUTPUTS,
    PrecisionWarning,
    analyse_design,
    find_imprecise,
    given_data_indices,
    model_outputs,
    sobol_analysis,
    sobol_indices,
)
from schemerisk.model import compile_inputs
from schemerisk.scenario import load_scenario
from schemerisk.uncertainty.montecarlo import simulate
from schemerisk.uncertainty.sampling import Design, Sampler, salib_problem
from schemerisk.uncertainty.space import load_space, parse_space

NAME = "hai_phong_1993_1997"

# --- Ishigami: a = 7, b = 0.1, inputs uniform on [-pi, pi] ----------------------------------
A, B = 7.0, 0.1
V1 = 0.5 * (1 + B * np.pi**4 / 5) ** 2
V2 = A**2 / 8
V13 = B**2 * np.pi**8 * (1 / 18 - 1 / 50)
V = V1 + V2 + V13
ISHIGAMI_S1 = np.array([V1 / V, V2 / V, 0.0])
ISHIGAMI_ST = np.array([(V1 + V13) / V, V2 / V, V13 / V])
ISHIGAMI = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}

# --- Sobol' G --------------------------------------------------------------------------------
G_A = np.array([0, 1, 4.5, 9, 99, 99, 99, 99], dtype=float)
G_VI = 1.0 / (3.0 * (1.0 + G_A) ** 2)
G_V = np.prod(1.0 + G_VI) - 1.0
G_S1 = G_VI / G_V
G_ST = np.array([G_VI[i] * np.prod(np.delete(1.0 + G_VI, i)) for i in range(8)]) / G_V


def test_analytic_values_are_the_published_ones() -> None:
    """The formulas above reproduce the values quoted for these functions."""
    np.testing.assert_allclose(ISHIGAMI_S1, [0.3139, 0.4424, 0.0], atol=5e-5)
    np.testing.assert_allclose(ISHIGAMI_ST, [0.5576, 0.4424, 0.2437], atol=5e-5)
    # SALib's Sobol_G module quotes 0.7165, 0.1791, 0.0237, 0.0072 (rounded differently)
    np.testing.assert_allclose(G_S1[:4], [0.7165, 0.1791, 0.0237, 0.0072], atol=1e-3)


@pytest.fixture(scope="module")
def ishigami_second_order() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    n = 2**14
    x = saltelli.sample(ISHIGAMI, n, calc_second_order=True, seed=1)
    y = Ishigami.evaluate(x, A, B)
    return y, sobol_indices(y, ISHIGAMI["names"], n, second_order=True, seed=5)


def test_ishigami_first_and_total_order(ishigami_second_order) -> None:  # type: ignore[no-untyped-def]
    _, res = ishigami_second_order
    assert res["S1"].shape == (3, 1)
    np.testing.assert_allclose(res["S1"][:, 0], ISHIGAMI_S1, atol=0.02)
    np.testing.assert_allclose(res["ST"][:, 0], ISHIGAMI_ST, atol=0.02)
    # the intervals are honest: they hold the true values (with a little slack)
    assert np.all(np.abs(res["S1"][:, 0] - ISHIGAMI_S1) <= 1.5 * res["S1_conf"][:, 0] + 1e-3)
    assert np.all(np.abs(res["ST"][:, 0] - ISHIGAMI_ST) <= 1.5 * res["ST_conf"][:, 0] + 1e-3)


def test_ishigami_second_order(ishigami_second_order) -> None:  # type: ignore[no-untyped-def]
    _, res = ishigami_second_order
    s2 = res["S2"][:, :, 0]
    assert s2.shape == (3, 3)
    assert s2[0, 2] == pytest.approx(V13 / V, abs=0.03)
    assert abs(s2[0, 1]) < 0.03 and abs(s2[1, 2]) < 0.03  # no other interaction
    assert np.all(np.isnan(s2[np.tril_indices(3)]))  # only j < k is estimated


def test_sobol_g_function() -> None:
    n = 2**14
    problem = {"num_vars": 8, "names": [f"x{i}" for i in range(8)], "bounds": [[0.0, 1.0]] * 8}
    x = saltelli.sample(problem, n, calc_second_order=False, seed=2)
    y = np.prod((np.abs(4.0 * x - 2.0) + G_A) / (1.0 + G_A), axis=1)
    np.testing.assert_allclose(y[:500], Sobol_G.evaluate(x[:500], G_A), rtol=1e-12)
    res = sobol_indices(y, problem["names"], n, seed=3)
    np.testing.assert_allclose(res["S1"][:, 0], G_S1, atol=0.02)
    np.testing.assert_allclose(res["ST"][:, 0], G_ST, atol=0.02)


@pytest.mark.parametrize("second_order", [False, True])
def test_many_outputs_at_once_equal_salib_one_at_a_time(second_order: bool) -> None:
    n = 2**10
    x = saltelli.sample(ISHIGAMI, n, calc_second_order=second_order, seed=4)
    outputs = np.column_stack(
        [
            Ishigami.evaluate(x, A, B),
            x[:, 0] + x[:, 1] ** 2,
            np.exp(0.3 * x[:, 2]) * (1 + x[:, 0] ** 2),
            1e9 * (x[:, 1] - 0.5 * x[:, 0] * x[:, 2]) + 3e10,  # large offset and scale
            (x[:, 0] + x[:, 2] > 0).astype(float),  # an indicator, like the deficit
        ]
    )
    seed = 7  # SALib uses numpy's default_rng(seed) for the bootstrap only when seed != 0
    res = sobol_indices(
        outputs, ISHIGAMI["names"], n, second_order=second_order, num_resamples=100, seed=seed
    )
    for j in range(outputs.shape[1]):
        ref = salib_sobol.analyze(
            ISHIGAMI, outputs[:, j], calc_second_order=second_order, num_resamples=100, seed=seed
        )
        # Both sides compute the same estimators on the same bootstrap resamples, on the outputs
        # standardised as z = (y - mean) / sd: they differ only by the order of their sums.
        # Absolute: each index (and each bootstrap replicate) is a mean of n products of two
        # standardised outputs, so its rounding error is at most n * eps * max z^2 (Higham 2002,
        # "Accuracy and Stability of Numerical Algorithms", eq. 4.4: a sum of n terms errs by at
        # most (n - 1) u sum |t_i|); an index that is zero in exact arithmetic (an input the output
        # does not depend on, and its half-width) is pure rounding, ~1e-16 here, whose relative
        # difference between two CPUs (e.g. an Intel Xeon's other vector sums) is anything.
        y = outputs[:, j]
        atol = n * np.finfo(float).eps * float(np.max((y - y.mean()) ** 2) / y.var())
        # Relative: the same rounding on indices of order 0.01-1 gives relative differences near
        # 1e-14 (seen); 1e-9 leaves a wide margin yet catches any change of the estimators.
        rtol = 1e-9
        for name in ("S1", "ST", "S1_conf", "ST_conf"):
            np.testing.assert_allclose(res[name][:, j], ref[name], rtol=rtol, atol=atol)
        if second_order:
            iu = np.triu_indices(3, 1)
            for name in ("S2", "S2_conf"):
                np.testing.assert_allclose(
                    res[name][:, :, j][iu], ref[name][iu], rtol=rtol, atol=atol
                )


@pytest.mark.parametrize("second_order", [False, True])
def test_bootstrap_equals_salib_estimators_on_the_resampled_rows(second_order: bool) -> None:
    """The weighted-mean bootstrap gives what SALib's estimators give on gathered resamples."""
    from SALib.analyze.sobol import first_order, total_order
    from SALib.analyze.sobol import second_order as s2
    from scipy import stats

    n, resamples, seed = 2**9, 60, 11
    x = saltelli.sample(ISHIGAMI, n, calc_second_order=second_order, seed=4)
    y = np.column_stack([Ishigami.evaluate(x, A, B), (x[:, 0] + x[:, 2] > 0).astype(float)])
    res = sobol_indices(
        y, ISHIGAMI["names"], n, second_order=second_order, num_resamples=resamples, seed=seed
    )
    # the reference: the same resample indices, the same standardisation, SALib's functions
    ys = (y - y.mean(axis=0)) / y.std(axis=0)
    step = 2 * 3 + 2 if second_order else 3 + 2
    y3 = ys.reshape(n, step, -1)
    a, b, ab = y3[:, 0], y3[:, -1], y3[:, 1:4]
    r = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed))).integers(
        n, size=(n, resamples)
    )
    z = stats.norm.ppf(0.975)
    for j in range(3):
        s1 = z * first_order(a[r], ab[r, j], b[r]).std(axis=0, ddof=1)
        st = z * total_order(a[r], ab[r, j], b[r]).std(axis=0, ddof=1)
        np.testing.assert_allclose(res["S1_conf"][j], s1, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(res["ST_conf"][j], st, rtol=1e-9, atol=1e-12)
        if second_order:
            ba = y3[:, 4:7]
            for k in range(j + 1, 3):
                ref = z * s2(a[r], ab[r, j], ab[r, k], ba[r, j], b[r]).std(axis=0, ddof=1)
                np.testing.assert_allclose(res["S2_conf"][j, k], ref, rtol=1e-9, atol=1e-12)


def test_a_constant_output_gets_zero_indices() -> None:
    n = 2**8
    x = saltelli.sample(ISHIGAMI, n, calc_second_order=False, seed=4)
    y = np.column_stack([Ishigami.evaluate(x), np.full(x.shape[0], 3.0)])
    res = sobol_indices(y, ISHIGAMI["names"], n)
    for key in ("S1", "ST", "S1_conf", "ST_conf"):
        np.testing.assert_array_equal(res[key][:, 1], 0.0)
    assert np.all(res["ST"][:, 0] > 0.1)


def test_grouped_indices_of_ishigami() -> None:
    """x1 and x3 as one group: its index is V(E[f | x1, x3]) / V = (V1 + V13) / V."""
    n = 2**13
    problem = {**ISHIGAMI, "groups": ["g13", "x2", "g13"]}
    x = saltelli.sample(problem, n, calc_second_order=False, seed=6)
    assert x.shape == (n * (2 + 2), 3)  # two groups: the design has N (G + 2) rows
    res = sobol_indices(Ishigami.evaluate(x, A, B), ["g13", "x2"], n, seed=2)
    closed = (V1 + V13) / V
    np.testing.assert_allclose(res["S1"][:, 0], [closed, V2 / V], atol=0.02)
    np.testing.assert_allclose(res["ST"][:, 0], [closed, V2 / V], atol=0.02)


def test_wrong_number_of_rows_is_refused() -> None:
    with pytest.raises(ValueError, match="rows"):
        sobol_indices(np.zeros(101), ["a", "b"], 25)


# --- the precision warning -------------------------------------------------------------------


def _ishigami_study(n: int) -> tuple[list[warnings.WarningMessage], xr.Dataset]:
    """Run ``analyse_design`` on Ishigami dressed up as a scheme (balance > 0: no deficits)."""
    space = SimpleNamespace(n_columns=3, column_groups=lambda: ["x1", "x2", "x3"])
    unit = saltelli.sample(
        {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[0.0, 1.0]] * 3},
        n,
        calc_second_order=False,
        seed=9,
    )
    design = Design(Sampler.SALTELLI, 9, unit.shape[0], 3, unit, n, False)
    bal = Ishigami.evaluate(unit * 2 * np.pi - np.pi, A, B) + 100.0
    cube = xr.Dataset(
        {
            "balance": (("draw", "year"), bal[:, None]),
            "premium_revenue": (("draw", "year"), np.ones((bal.size, 1))),
        },
        coords={"year": [2000]},
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = analyse_design(space, design, cube)  # type: ignore[arg-type]
    return [w for w in caught if issubclass(w.category, PrecisionWarning)], res.indices


def test_imprecise_means_a_half_width_above_10_percent_of_a_non_negligible_index() -> None:
    values = np.array([0.5, 0.5, 0.005, -0.3, 0.02, 0.02])
    halves = np.array([0.06, 0.04, 0.05, 0.05, 0.0021, 0.0019])
    shape = (1, values.size, 1)
    ind = xr.Dataset(
        {
            "S1": (("output", "input", "year"), values.reshape(shape)),
            "S1_conf": (("output", "input", "year"), halves.reshape(shape)),
            "ST": (("output", "input", "year"), np.full(shape, 0.9)),
            "ST_conf": (("output", "input", "year"), np.full(shape, 0.01)),
        },
        coords={"output": ["balance"], "input": list("abcdef"), "year": [2000]},
    )
    flagged = find_imprecise(ind)
    assert [(f[2], f[3]) for f in flagged] == [("a", "S1"), ("d", "S1"), ("e", "S1")]
    assert flagged[0] == ("balance", 2000, "a", "S1", 0.5, 0.06)


def test_precision_warning_fires_at_small_n() -> None:
    caught, ind = _ishigami_study(2**6)
    assert len(caught) == 1
    assert "use a larger N (now 64; try 256)" in str(caught[0].message)
    np.testing.assert_allclose(
        ind.ST.sel(output="balance", year=2000).values, ISHIGAMI_ST, atol=0.25
    )


def test_precision_warning_stays_quiet_at_large_n() -> None:
    caught, ind = _ishigami_study(2**13)
    assert caught == []
    np.testing.assert_allclose(
        ind.ST.sel(output="balance", year=2000).values, ISHIGAMI_ST, atol=0.02
    )
    np.testing.assert_allclose(
        ind.S1.sel(output="balance", year=2000).values, ISHIGAMI_S1, atol=0.02
    )


# --- the scheme: Saltelli design through the model --------------------------------------------


@pytest.fixture(scope="module")
def space():  # type: ignore[no-untyped-def]
    sc = load_scenario(NAME)
    return load_space(NAME, sc, compile_inputs(sc))


@pytest.fixture(scope="module")
def model_sobol():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)  # N = 512 is small on purpose
        return sobol_analysis(NAME, NAME, 512, seed=2, progress=False)


def test_model_indices_have_output_input_year_dims(model_sobol, space) -> None:  # type: ignore[no-untyped-def]
    ind = model_sobol.indices
    for key in ("S1", "S1_conf", "ST", "ST_conf"):
        assert ind[key].dims == ("output", "input", "year")
    assert list(ind.output.values) == list(OUTPUTS)
    assert list(ind.input.values) == list(space.groups())
    assert "domestic_inflation + wage_growth" in list(ind.input.values)
    assert "voluntary_uptake_farmers + voluntary_uptake_dependants" in list(ind.input.values)
    assert list(ind.year.values) == list(range(1993, 1998))
    groups = len(space.groups())
    assert model_sobol.cube.sizes["draw"] == 512 * (groups + 2)
    assert ind.attrs["n_base"] == 512


def test_base_year_inflation_does_not_matter(model_sobol) -> None:  # type: ignore[no-untyped-def]
    first = model_sobol.indices.sel(year=1993, input="domestic_inflation + wage_growth")
    np.testing.assert_allclose(first.S1.values, 0.0, atol=1e-9)
    np.testing.assert_allclose(first.ST.values, 0.0, atol=1e-9)
    # ... but it drives the balance later on
    later = model_sobol.indices.sel(
        year=1997, input="domestic_inflation + wage_growth", output="balance"
    )
    assert float(later.ST) > 0.5


def test_model_indices_equal_salib_on_each_output_and_year(model_sobol, space) -> None:  # type: ignore[no-untyped-def]
    """The reshaping into (output, input, year) puts every number where SALib would."""
    ind = model_sobol.indices
    y = model_outputs(model_sobol.cube)
    problem = salib_problem(space)
    for out in OUTPUTS:
        for year in (1994, 1997):
            col = y.sel(output=out, year=year).values
            ref = salib_sobol.analyze(problem, col, calc_second_order=False, seed=2)
            got = ind.sel(output=out, year=year)
            np.testing.assert_allclose(got.S1.values, ref["S1"], rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(got.ST.values, ref["ST"], rtol=1e-9, atol=1e-12)


def test_model_base_rows_are_the_a_and_b_rows(model_sobol, space) -> None:  # type: ignore[no-untyped-def]
    step = len(space.groups()) + 2
    rows = model_sobol.base_rows()
    expected = np.sort(np.r_[np.arange(512) * step, np.arange(512) * step + step - 1])
    np.testing.assert_array_equal(rows, expected)
    # A and B rows are independent draws: no two share a value of an input
    adm = model_sobol.cube.input_admission_rate.values[rows]
    assert np.unique(adm).size == rows.size


# --- given-data measures on a constructed case -----------------------------------------------

DOMINANT = """
scenario: hai_phong_1993_1997
inputs:
  insured_use:
    target: insured_utilisation_loading
    distribution: {family: uniform, low: 1.119, high: 1.121}
  admission_rate:
    target: admission_rate
    distribution: {family: uniform, low: 0.03, high: 0.16}
  population_growth:
    target: demography.growth_rate
    distribution: {family: uniform, low: 0.0219, high: 0.0221}
  commune_consultation_cost:
    target: services.consultation_commune.patient_cost
    apply: scale
    distribution: {family: uniform, low: 0.999, high: 1.001}
"""


def _dominant_cube(n: int, horizon: int | None = None) -> xr.Dataset:
    sc = load_scenario(NAME)
    if horizon is not None:
        sc = sc.with_horizon(horizon)
    space = parse_space(DOMINANT, sc, "<dominant>", compile_inputs(sc))
    return simulate(sc, space, n, seed=2, progress=False)


def test_pawn_ranks_the_dominant_input_first() -> None:
    cube = _dominant_cube(1000)
    res = given_data_indices(cube, "pawn")
    assert res["index"].dims == ("output", "input", "year")
    assert list(res.output.values) == list(OUTPUTS)
    assert set(res.input.values) == {
        "insured_use",
        "admission_rate",
        "population_growth",
        "commune_consultation_cost",
    }
    bal = res["index"].sel(output="balance")
    for year in bal.year.values:
        col = bal.sel(year=year)
        assert str(col.input.values[int(np.argmax(col.values))]) == "admission_rate"
        assert float(col.sel(input="admission_rate")) > 3 * float(
            col.drop_sel(input="admission_rate").max()
        )


@pytest.mark.slow  # SALib's delta estimator is slow: one output, one year
def test_delta_ranks_the_dominant_input_first() -> None:
    cube = _dominant_cube(250, horizon=0)
    res = given_data_indices(cube, "delta", outputs=("balance",))
    assert res["index"].dims == ("output", "input", "year")
    assert list(res.output.values) == ["balance"]
    assert res["index_conf"].dims == ("output", "input", "year")
    bal = res["index"].sel(output="balance")
    for year in bal.year.values:
        col = bal.sel(year=year)
        assert str(col.input.values[int(np.argmax(col.values))]) == "admission_rate"
    # the default seed 0 gives the same numbers every time (SALib seeds only a true seed)
    np.random.seed(12345)  # noqa: NPY002 (another state of the global generator SALib draws from)
    again = given_data_indices(cube, "delta", outputs=("balance",))
    assert np.array_equal(res["index_conf"].values, again["index_conf"].values)
    assert np.array_equal(res["index"].values, again["index"].values)


def test_given_data_rejects_an_unknown_method() -> None:
    cube = xr.Dataset(
        {
            "balance": (("draw", "year"), np.zeros((3, 1))),
            "premium_revenue": (("draw", "year"), np.ones((3, 1))),
        },
        coords={"year": [2000]},
    )
    with pytest.raises(ValueError, match="pawn"):
        given_data_indices(cube, "sobol")
    # delta ranks no deficit: left out by default, refused when asked for
    with pytest.raises(ValueError, match="delta cannot rank the deficit"):
        given_data_indices(cube, "delta", outputs=("balance", "deficit"))


@pytest.mark.parametrize("year_major", [False, True])
def test_model_outputs_are_the_xarray_expressions_bit_for_bit(model_sobol, year_major) -> None:  # type: ignore[no-untyped-def]
    """model_outputs builds one array in NumPy: the same values as the xarray definition."""
    cube = model_sobol.cube[["balance", "premium_revenue"]].copy(deep=True)
    bal, rev = cube["balance"].values, cube["premium_revenue"].values
    # every special case of the share: no revenue, unknown revenue, unknown or infinite balance
    rev[:5, 0], rev[5:8, 1], rev[8:10, 2] = 0.0, np.nan, np.inf
    bal[10:13, 0], bal[13:15, 1], bal[15:17, 2] = np.nan, np.inf, -np.inf
    bal[17, 3], rev[17, 3] = 0.0, 0.0
    if year_major:
        cube = cube.transpose("year", "draw")
    b, r = cube["balance"], cube["premium_revenue"]
    reference = xr.concat(
        [b, (b / r.where(r != 0)).fillna(0.0), (b < 0).astype(np.float64)],
        dim=xr.DataArray(list(OUTPUTS), dims="output"),
    ).transpose("draw", "output", "year")
    got = model_outputs(cube)
    xr.testing.assert_equal(got, reference)  # values, dims and coordinates (not the name)
    assert got.dims == reference.dims
    np.testing.assert_array_equal(got.values.view(np.int64), reference.values.view(np.int64))
    assert got.values.flags.c_contiguous


@pytest.mark.parametrize("shape", [(7, 2), (1000, 3), (16385, 33), (262_144, 5)])
def test_compiled_standardise_is_numpys_bit_for_bit(shape) -> None:  # type: ignore[no-untyped-def]
    """The outputs standardised for the estimators: NumPy's mean and std, to the last bit."""
    from schemerisk.analysis._tally import standardise

    rng = np.random.default_rng(shape[0])
    y = rng.lognormal(0.0, 2.0, shape) * rng.choice([-1.0, 1.0], shape) + 1e6
    y[:, -1] = 3.0  # a constant column: sd 0, divided by 1
    z = np.empty_like(y)
    sd = standardise(y, z)
    want_sd = y.std(axis=0)
    want = (y - y.mean(axis=0)) / np.where(want_sd > 0, want_sd, 1.0)
    np.testing.assert_array_equal(sd.view(np.int64), want_sd.view(np.int64))
    np.testing.assert_array_equal(z.view(np.int64), want.view(np.int64))
    standardise(y, y)  # in place: the same values
    np.testing.assert_array_equal(y.view(np.int64), want.view(np.int64))


def test_model_second_order_indices_equal_salib(space) -> None:  # type: ignore[no-untyped-def]
    """What ``sensitivity --second-order`` prints and writes: SALib's S2 on the real model.

    Hai Phong 1993-1997 with its 15 groups, the year the command prints alone (and
    another), against ``SALib.analyze.sobol.analyze`` on the same model outputs; the
    tolerances of ``test_model_indices_equal_salib_on_each_output_and_year``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)  # N = 128 is small on purpose
        res = sobol_analysis(NAME, NAME, 128, seed=2, second_order=True, progress=False)
        alone = sobol_analysis(
            NAME, NAME, 128, seed=2, second_order=True, progress=False, years=[1997]
        )
    y = model_outputs(res.cube)
    problem = salib_problem(space)
    iu = np.triu_indices(len(res.indices.input), 1)
    for out in OUTPUTS:
        for year in (1995, 1997):
            col = y.sel(output=out, year=year).values
            ref = salib_sobol.analyze(problem, col, calc_second_order=True, seed=2)
            got = res.indices.sel(output=out, year=year)
            np.testing.assert_allclose(got.S2.values[iu], ref["S2"][iu], rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(got.S1.values, ref["S1"], rtol=1e-9, atol=1e-12)
    for v in ("S2", "S2_conf"):  # the printed year computed alone: the same bits
        np.testing.assert_array_equal(
            alone.indices[v].values, res.indices[v].sel(year=[1997]).values
        )
