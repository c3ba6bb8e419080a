"""Expected value of (partial) perfect information for setting the premium (voi.py).

EVPI and today's decision are checked against a brute-force search (a fine grid and
scipy's bounded minimiser) on the real Hai Phong cube; the regression EVPPI against a
nested Monte Carlo reference on the real model (no regression in it), for three inputs
and every year; the linear smoothers against scikit-learn's own predictions; the exact
search for the conditional optimum against a search over every break-even.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import optimize

from schemerisk.analysis import voi as voi_module
from schemerisk.analysis.solver import Adjust
from schemerisk.analysis.voi import (
    PremiumDecision,
    best_decision,
    evppi_nested,
    value_of_information,
    weighted_quantile,
)
from schemerisk.model import compile_inputs
from schemerisk.scenario import load_scenario
from schemerisk.uncertainty.montecarlo import simulate
from schemerisk.uncertainty.space import ParameterSpace, load_space

NAME = "hai_phong_1993_1997"
N_DRAWS = 3000
#: single inputs checked against the nested reference: a utilisation rate, the insured's
#: relative use, and an uptake tied to another by a copula (conditioning through the block)
CHECKED = ("admission_rate", "insured_use", "voluntary_uptake_dependants")


@pytest.fixture(scope="module")
def space() -> ParameterSpace:
    sc = load_scenario(NAME)
    return load_space(NAME, sc, compile_inputs(sc))


@pytest.fixture(scope="module")
def cube(space: ParameterSpace) -> xr.Dataset:
    """A Monte Carlo cube of the scheme, plus an input ``noise`` the model never saw."""
    c = simulate(NAME, space, N_DRAWS, seed=6, progress=False)
    c["input_noise"] = ("draw", np.random.default_rng(1).normal(size=N_DRAWS))
    return c


@pytest.fixture(scope="module")
def voi(cube: xr.Dataset) -> xr.Dataset:
    return value_of_information(cube, {e: (e,) for e in (*CHECKED, "noise")}).table


def _mean_loss(bal: np.ndarray, rev: np.ndarray, k: float, d: PremiumDecision) -> float:
    b = bal + (k - 1.0) * rev
    return float(np.mean(d.deficit_cost * np.maximum(-b, 0) + d.surplus_cost * np.maximum(b, 0)))


@pytest.mark.parametrize(("deficit_cost", "surplus_cost"), [(2.0, 1.0), (1.0, 1.0), (5.0, 1.0)])
def test_todays_decision_and_evpi_are_exact(
    cube: xr.Dataset, deficit_cost: float, surplus_cost: float
) -> None:
    d = PremiumDecision(deficit_cost, surplus_cost)
    sub = cube.isel(draw=slice(0, 1500))
    t = value_of_information(sub, {"admission_rate": ("admission_rate",)}, d, bootstrap=0).table
    bal = sub.balance.transpose("draw", "year").values
    rev = sub.premium_revenue.transpose("draw", "year").values
    breakeven = 1.0 - bal / rev
    for i in range(bal.shape[1]):
        k_best = float(t.best_multiplier[i])
        at_best = _mean_loss(bal[:, i], rev[:, i], k_best, d)
        # brute force: every break-even (the loss is piecewise linear, so its minimum is at one),
        # a fine grid, and scipy's bounded scalar minimiser
        at_breaks = [_mean_loss(bal[:, i], rev[:, i], k, d) for k in breakeven[:, i]]
        grid = np.linspace(breakeven[:, i].min(), breakeven[:, i].max(), 4001)
        on_grid = min(_mean_loss(bal[:, i], rev[:, i], k, d) for k in grid)
        res = optimize.minimize_scalar(
            lambda k, i=i: _mean_loss(bal[:, i], rev[:, i], k, d),
            bounds=(breakeven[:, i].min(), breakeven[:, i].max()),
            method="bounded",
            options={"xatol": 1e-10},
        )
        # rounding only: the sums run over 1500 terms of ~1e9
        assert at_best == pytest.approx(min(at_breaks), rel=1e-12)
        assert at_best <= on_grid * (1 + 1e-12) and at_best <= res.fun * (1 + 1e-12)
        # perfect information loses nothing, so EVPI is the expected loss of today's decision
        assert float(t.evpi[i]) == pytest.approx(at_best, rel=1e-12)
        assert float(t.expected_loss[i]) == pytest.approx(at_best, rel=1e-12)


def test_weighted_quantile_is_the_check_function_minimiser() -> None:
    rng = np.random.default_rng(4)
    v, w = rng.normal(size=301), rng.uniform(0.1, 2.0, size=301)
    for level in (0.2, 0.5, 2 / 3, 0.9):
        q = weighted_quantile(v, w, level)

        def check(k: float, level: float = level) -> float:
            u = v - k
            return float(np.sum(w * np.where(u > 0, level * u, (level - 1) * u)))

        assert check(q) <= min(check(k) for k in v) + 1e-12


def test_best_decision_with_equal_costs_sets_the_median_balance_to_zero() -> None:
    rng = np.random.default_rng(0)
    bal = rng.normal(size=2001)
    rev = np.full(2001, 4.0)
    k = best_decision(bal, rev, PremiumDecision(1.0, 1.0))
    assert np.median(bal + (k - 1.0) * rev) == pytest.approx(0.0, abs=1e-12)


def test_regression_evppi_agrees_with_the_nested_reference(
    voi: xr.Dataset, space: ParameterSpace
) -> None:
    """Within 10 % of the brute-force nested Monte Carlo, or 2 standard errors if larger.

    The standard error is that of the difference: the regression's bootstrap error and the
    nested reference's own Monte Carlo error (60 outer x 400 inner draws), combined.
    """
    for name in CHECKED:
        ref = evppi_nested(space, [name], n_outer=60, n_inner=400, seed=11)
        est = voi.evppi.sel(input=name)
        se = np.sqrt(voi.evppi_se.sel(input=name) ** 2 + ref.evppi_se**2)
        tol = np.maximum(0.10 * ref.evppi, 2.0 * se)
        assert bool((abs(est - ref.evppi) <= tol).all()), (
            name,
            est.values / 1e6,
            ref.evppi.values / 1e6,
            tol.values / 1e6,
        )


def test_an_input_that_cannot_change_the_decision_is_worth_about_nothing(
    voi: xr.Dataset, space: ParameterSpace, cube: xr.Dataset
) -> None:
    # an input the model never saw
    noise = voi.evppi.sel(input="noise")
    assert bool((noise <= 2.0 * voi.evppi_se.sel(input="noise") + 0.002 * voi.evpi).all())
    # 1993 inflation and wage growth (a correlated pair of series: the tensor-product
    # regression): the model does not use the base year's growth rates
    pair = {"inflation and wages": ("domestic_inflation", "wage_growth")}
    t = value_of_information(cube.isel(year=[0]), pair, bootstrap=10).table
    evpi = float(t.evpi.sel(year=1993))
    cell = {"year": 1993, "input": "inflation and wages"}
    infl, se = float(t.evppi.sel(cell)), float(t.evppi_se.sel(cell))
    assert infl <= 2.0 * se + 0.01 * evpi, (infl, se, evpi)
    ref = evppi_nested(space, pair["inflation and wages"], n_outer=20, n_inner=200, n_today=4000)
    # the reference's in-sample and cross-fitted brackets are biased by order 1/n_inner each way:
    # allow 1 % of EVPI beyond its Monte Carlo error
    ref_1993 = abs(float(ref.evppi.sel(year=1993)))
    assert ref_1993 <= 2.0 * float(ref.evppi_se.sel(year=1993)) + 0.01 * evpi
    # ... while inputs that matter are worth far more
    assert bool((voi.evppi.sel(input="insured_use") > 20 * noise + 1.0).all())


def test_evppi_is_non_negative_and_at_most_evpi(voi: xr.Dataset) -> None:
    assert np.all(voi.evpi.values > 0)
    assert np.all(voi.evppi.values >= 0.0)
    slack = 2.0 * (voi.evppi_se + voi.evpi_se)
    assert bool((voi.evppi <= voi.evpi + slack).all())


@pytest.mark.parametrize("members", [("admission_rate",), ("admission_rate", "insured_use")])
def test_linear_smoothers_are_scikit_learns(cube: xr.Dataset, members: tuple[str, ...]) -> None:
    """The smoother applied to a net benefit gives sklearn's own ridge fit on the same basis."""
    from sklearn.linear_model import Ridge

    n = 600
    x = np.column_stack([cube[f"input_{m}"].values[:n] for m in members])
    y = cube.balance.isel(year=2).values[:n]
    basis, alpha = voi_module._ridge_spline(x, y[:, None], 10)
    xb = basis.transform(x)
    everything = np.arange(n)
    # equal weights, and unequal ones (posterior weights: sklearn's sample_weight)
    for w in (np.ones(n), np.random.default_rng(0).uniform(0.0, 3.0, size=n)):
        sm = voi_module._smoother(xb, alpha, w, everything, everything)
        ours = sm.rows @ (sm.coef_t.T @ y)
        theirs = Ridge(alpha=alpha).fit(xb, y, sample_weight=w).predict(xb)
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-6 * np.abs(y).max())
    # a bootstrap resample as count weights: sklearn's fit on the resample's rows, repeats and all
    resample = np.sort(np.random.default_rng(1).integers(n, size=n))
    counts = np.bincount(resample, minlength=n)
    held = np.flatnonzero(counts)
    sm = voi_module._smoother(xb, alpha, counts.astype(float), held, resample[::7])
    ours = sm.rows @ (sm.coef_t.T @ y[held])
    theirs = Ridge(alpha=alpha).fit(xb[resample], y[resample]).predict(xb[resample[::7]])
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-6 * np.abs(y).max())
    # the basis of a pair holds every product of the two inputs' splines (a tensor product)
    assert xb.shape[1] == len(members) + np.prod(
        [p.transform(x[:, [j]]).shape[1] for j, p in enumerate(basis.parts)]  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_leave_one_out_errors_are_ridgecvs(cube: xr.Dataset, weighted: bool) -> None:
    """Every penalty's leave-one-out errors at once, as scikit-learn's RidgeCV stores them."""
    from sklearn.linear_model import RidgeCV

    n = 700
    x = np.column_stack([cube[f"input_{m}"].values[:n] for m in ("admission_rate", "insured_use")])
    xb = voi_module._fit_basis(x, 6).transform(x)
    y = cube.balance.values[:n, :3] / 1e9  # three targets
    w = np.random.default_rng(2).uniform(0.2, 3.0, size=n) if weighted else None
    alphas = np.logspace(-6, 4, 21) * n / 100.0
    ours = voi_module._loo_squared_errors(xb, y, w, alphas)
    theirs = RidgeCV(alphas=alphas, gcv_mode="svd", store_cv_results=True)
    theirs.fit(xb, y, sample_weight=w)
    ref = np.asarray(theirs.cv_results_).transpose(0, 2, 1)
    # the same arithmetic in another order: rounding only
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12 * ref.max())
    assert alphas[int(np.argmin(ours.mean(axis=(0, 2))))] == theirs.alpha_


def test_years_sharing_features_choose_as_ridgecv_on_each_year_alone() -> None:
    """One RidgeCV fit per basis for every year of a scalar input picks each year's knots and
    penalty as RidgeCV fits on that year's targets alone do (the one-standard-error rule over
    10, 20 and 40 knots, written out here with scikit-learn's own choice of penalty)."""
    from sklearn.linear_model import RidgeCV

    rng = np.random.default_rng(5)
    n = 2000
    x = rng.uniform(size=(n, 1))
    kinks = np.column_stack([np.maximum(x[:, 0] - 0.5, 0) * 100, -np.abs(x[:, 0] - 0.3) * 50])
    # from no noise (a sharp kink: many knots) to much (few knots, a large penalty)
    years = [kinks + rng.normal(size=(n, 2)) * sd for sd in (0.0, 0.5, 2.0, 8.0, 30.0)]
    weights = rng.uniform(0.5, 2.0, size=n)
    chosen = voi_module._ridge_spline_years(x, years, 10, weights)
    alphas = np.logspace(-6, 4, 21) * n / 100.0
    picks = []
    for y, (basis, alpha) in zip(years, chosen, strict=True):
        fits = []
        for knots in (10, 20, 40):
            b = voi_module._fit_basis(x, knots)
            own = RidgeCV(alphas=alphas, gcv_mode="svd", store_cv_results=True)
            own.fit(b.transform(x), y / y.std(axis=0), sample_weight=weights)
            at = int(np.flatnonzero(alphas == own.alpha_)[0])
            per_draw = np.asarray(own.cv_results_)[:, :, at].mean(axis=1)
            fits.append((per_draw.mean(), per_draw.std(ddof=1) / np.sqrt(n), knots, own.alpha_))
        best = min(fits)
        ref = next(f for f in fits if f[0] <= best[0] + best[1])
        assert (basis.parts[0].n_knots, alpha) == (ref[2], float(ref[3]))  # type: ignore[attr-defined]
        picks.append((ref[2], float(ref[3])))
    assert len(set(picks)) >= 3  # the years do choose differently: the check can fail


def test_the_conditional_optimum_is_searched_over_every_break_even(
    cube: xr.Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The branch-and-bound search returns the maximum over every break-even, exactly."""
    seen = []
    search = voi_module._max_over_breaks

    def checked(
        rows: np.ndarray, ks: np.ndarray, at_t: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> np.ndarray:
        found = search(rows, ks, at_t, lo, hi)
        brute = (rows @ at_t).max(axis=1)
        np.testing.assert_allclose(found, brute, rtol=1e-12, atol=1e-9 * np.abs(brute).max())
        seen.append(rows.shape[0])
        return found

    monkeypatch.setattr(voi_module, "_max_over_breaks", checked)
    sub = cube.isel(draw=slice(0, 1200))
    groups = {"insured_use": ("insured_use",), "pair": ("admission_rate", "insured_use")}
    value_of_information(sub, groups, bootstrap=0)
    assert len(seen) == 10


@pytest.mark.parametrize("m", [1, 2, 64, 65, 300])
def test_the_conditional_gain_is_the_best_net_benefit_over_every_break_even(m: int) -> None:
    """Against the definition: the smoothed net benefit NB_i(k) = -R_i rho(K_i - k) + c_i
    evaluated at every break-even and today's multiplier, with no prefix sums."""
    rng = np.random.default_rng(m)
    q, n_rows = 7, 40
    d = PremiumDecision(2.0, 1.0)
    ks = np.sort(rng.normal(1.0, 0.2, size=m))
    r = rng.uniform(0.0, 5.0, size=m)
    r[rng.random(m) < 0.1] = 0.0  # draws whose scaled premiums raise nothing
    c = np.where(r > 0, 0.0, -rng.uniform(0.0, 3.0, size=m))
    coef_t = rng.normal(size=(m, q))  # smoother weights of either sign
    rows = np.column_stack([np.ones(n_rows), rng.normal(size=(n_rows, q - 1))])
    k0 = float(np.quantile(ks, 0.4))

    def g(k: float) -> np.ndarray:
        u = ks - k
        nb = -r * (d.deficit_cost * np.maximum(u, 0.0) + d.surplus_cost * np.maximum(-u, 0.0)) + c
        return rows @ (coef_t.T @ nb)

    at_every = np.column_stack([g(k) for k in ks])
    brute = np.maximum(at_every.max(axis=1), g(k0)) - g(k0)
    gain = voi_module._conditional_optimum_gain(rows, coef_t, ks, r, c, k0, d)
    scale = np.abs(at_every).max()
    # prefix sums against direct sums of m terms: rounding only
    np.testing.assert_allclose(gain, brute, rtol=0, atol=1e-12 * scale)
    assert np.all(gain >= 0.0)


def test_the_answer_does_not_depend_on_the_threads(cube: xr.Dataset) -> None:
    sub = cube.isel(draw=slice(0, 600), year=[0, 4])
    groups = {"insured_use": ("insured_use",), "pair": ("admission_rate", "insured_use")}
    one = value_of_information(sub, groups, bootstrap=2, threads=1).table
    two = value_of_information(sub, groups, bootstrap=2, threads=2).table
    xr.testing.assert_identical(one, two)
    with pytest.raises(ValueError, match="threads must be"):
        value_of_information(sub, groups, threads=0)


def _synthetic(n: int = 4000, seed: int = 3) -> xr.Dataset:
    """Balance known exactly from the inputs: year 2000 from x alone, 2001 from x and z."""
    rng = np.random.default_rng(seed)
    x, z, noise = rng.uniform(size=n), rng.normal(size=n), rng.normal(size=n)
    bal = np.column_stack([100.0 * (x - 0.4), 100.0 * (x - 0.4) + 30.0 * z])
    return xr.Dataset(
        {
            "balance": (("draw", "year"), bal),
            "premium_revenue": (("draw", "year"), np.full((n, 2), 100.0)),
            "input_x": ("draw", x),
            "input_z": ("draw", z),
            "input_noise": ("draw", noise),
        },
        coords={"year": [2000, 2001]},
        attrs={"currency": "LCU"},
    )


def test_evppi_of_what_fixes_the_balance_is_evpi() -> None:
    t = value_of_information(_synthetic(), {"x": ("x",), "noise": ("noise",)}, bootstrap=0).table
    # without noise the net benefit has a sharp kink in x; the knots chosen by cross-validation
    # (up to 40) follow it: within 5 % (a 10-knot spline alone lost 9 % to smoothing)
    assert float(t.evppi.sel(input="x", year=2000) / t.evpi.sel(year=2000)) == pytest.approx(
        1.0, abs=0.05
    )
    assert float(t.evppi.sel(input="noise", year=2000) / t.evpi.sel(year=2000)) < 0.01


def _normal_pinball(m: np.ndarray, sd: float, d: PremiumDecision) -> np.ndarray:
    """Expected loss of a balance drawn from N(m, sd^2): cd E[(-U)+] + cs E[U+] in closed form."""
    from scipy import stats

    z = m / sd
    pos = m * stats.norm.cdf(z) + sd * stats.norm.pdf(z)  # E[U+]
    neg = -m * stats.norm.cdf(-z) + sd * stats.norm.pdf(z)  # E[(-U)+]
    return d.deficit_cost * neg + d.surplus_cost * pos


def test_evppi_matches_the_exact_value_of_a_noisy_linear_scheme() -> None:
    """A scheme with a known answer: balance 100 (x - 0.4) + 30 z + e, revenue 100.

    x ~ U(0, 1), z ~ N(0, 1), e ~ N(0, 10^2) independent. Knowing the inputs in the group
    leaves a normal balance of sd ``s``, whose best premium loses (cd + cs) s phi(z_tau)
    (the newsvendor loss, tau = cd / (cd + cs)); today's best premium loses the minimum over
    the shift of the normal expected loss averaged over x (quadrature, exact to rounding).
    """
    from scipy import integrate, stats

    n, d = 4000, PremiumDecision()
    rng = np.random.default_rng(8)
    x, z, e = rng.uniform(size=n), rng.normal(size=n), rng.normal(0.0, 10.0, size=n)
    cube = xr.Dataset(
        {
            "balance": (("draw", "year"), (100.0 * (x - 0.4) + 30.0 * z + e)[:, None]),
            "premium_revenue": (("draw", "year"), np.full((n, 1), 100.0)),
            "input_x": ("draw", x),
            "input_z": ("draw", z),
        },
        coords={"year": [2001]},
    )
    t = value_of_information(cube, {"x": ("x",), "x + z": ("x", "z")}, seed=2).table
    u = np.linspace(0.0, 1.0, 4001)
    newsvendor = (d.deficit_cost + d.surplus_cost) * stats.norm.pdf(stats.norm.ppf(d.level))

    def today(s: float) -> float:
        f = _normal_pinball(100.0 * (u - 0.4) + s, float(np.hypot(30.0, 10.0)), d)
        return float(integrate.simpson(f, x=u))

    best_today = optimize.minimize_scalar(today, bounds=(-200, 200), method="bounded").fun
    exact = {
        "x": best_today - newsvendor * float(np.hypot(30.0, 10.0)),
        "x + z": best_today - newsvendor * 10.0,
    }
    for group, value in exact.items():
        cell = {"input": group, "year": 2001}
        est, se = float(t.evppi.sel(cell)), float(t.evppi_se.sel(cell))
        # the bootstrap standard error covers the sample's error and the regression's; 3 of them
        # (a 0.3 % chance of a false alarm for a normal error)
        assert abs(est - value) <= 3.0 * se, (group, est, value, se)
        # and the standard error is not so wide that the check is empty
        assert se < 0.1 * value, (group, se, value)


def test_weighted_evppi_matches_the_exact_value_under_the_weighted_distribution() -> None:
    """Posterior-style weights: x ~ U(0, 1) drawn, weighted 2 x (so x follows Beta(2, 1)).

    The scheme is the noisy linear one above (without z): knowing x leaves a normal balance
    of sd 10; today's loss is the minimum over the shift of the normal expected loss averaged
    over x with density 2 x (quadrature). The weighted estimator must find that value.
    """
    from scipy import integrate, stats

    n, d = 4000, PremiumDecision()
    rng = np.random.default_rng(9)
    x, e = rng.uniform(size=n), rng.normal(0.0, 10.0, size=n)
    cube = xr.Dataset(
        {
            "balance": (("draw", "year"), (100.0 * (x - 0.4) + e)[:, None]),
            "premium_revenue": (("draw", "year"), np.full((n, 1), 100.0)),
            "input_x": ("draw", x),
        },
        coords={"year": [2001]},
    )
    t = value_of_information(cube, {"x": ("x",)}, seed=3, weights=2.0 * x).table
    u = np.linspace(0.0, 1.0, 4001)

    def today(s: float) -> float:
        f = _normal_pinball(100.0 * (u - 0.4) + s, 10.0, d) * 2.0 * u
        return float(integrate.simpson(f, x=u))

    best_today = optimize.minimize_scalar(today, bounds=(-200, 200), method="bounded").fun
    newsvendor = (d.deficit_cost + d.surplus_cost) * stats.norm.pdf(stats.norm.ppf(d.level))
    exact = best_today - newsvendor * 10.0
    est, se = float(t.evppi.sel(input="x", year=2001)), float(t.evppi_se.sel(input="x", year=2001))
    # 3 bootstrap standard errors (weighted bootstrap: draws resampled with their weights)
    assert abs(est - exact) <= 3.0 * se, (est, exact, se)
    assert se < 0.1 * exact, (se, exact)
    # the unweighted estimate answers another question (x uniform): far from it
    plain = float(value_of_information(cube, {"x": ("x",)}, bootstrap=0).table.evppi[0, 0])
    assert abs(plain - exact) > 6.0 * se, (plain, exact, se)
    assert float(t.evpi[0]) == pytest.approx(best_today, rel=0.05)  # sample error of 4000 draws


def test_bad_weights_are_refused(cube: xr.Dataset) -> None:
    sub = cube.isel(draw=slice(0, 100))
    for w in (np.ones(99), np.full(100, -1.0), np.full(100, np.nan), np.zeros(100)):
        with pytest.raises(ValueError, match="weight"):
            value_of_information(sub, {"x": ("admission_rate",)}, weights=w, bootstrap=0)


def test_flat_premium_decision_scales_only_flat_premium_revenue(cube: xr.Dataset) -> None:
    sub = cube.isel(draw=slice(0, 800))
    d = PremiumDecision(adjust=Adjust.FLAT_PREMIUMS)
    t = value_of_information(sub, {"noise": ("noise",)}, d, bootstrap=0).table
    bal = sub.balance.transpose("draw", "year").values
    flat = sub.flat_premium_revenue.transpose("draw", "year").values
    for i in range(5):
        k = float(t.best_multiplier[i])
        assert k in set((1.0 - bal[:, i] / flat[:, i]).tolist())
        assert float(t.expected_loss[i]) == pytest.approx(
            _mean_loss(bal[:, i], flat[:, i], k, d), rel=1e-12
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"deficit_cost": -1.0},
        {"surplus_cost": -0.5},
        {"deficit_cost": 0.0},
        {"surplus_cost": 0.0},
        {"deficit_cost": float("nan")},
    ],
)
def test_bad_decisions_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be a number above 0"):
        PremiumDecision(**kwargs)


def test_a_group_naming_an_unknown_input_is_refused(cube: xr.Dataset) -> None:
    with pytest.raises(ValueError, match=r"unknown input 'admision_rate'.*did you mean"):
        value_of_information(cube, {"g": ("admision_rate",)})
    with pytest.raises(ValueError, match="names no input"):
        value_of_information(cube, {"g": ()})
