"""Streaming summaries against the full cube: exact counts and sums, quantiles and
shortfalls within the documented bound, and the same summary whatever the chunking,
the order of chunks or an interruption."""

from __future__ import annotations

import numpy as np
import pytest

from schemerisk.analysis.risk import deficit_risk, risk_from_summary
from schemerisk.io import open_dataset
from schemerisk.output import partial_store
from schemerisk.uncertainty.distributed import make_job, run_to_store, summary_dataset
from schemerisk.uncertainty.sampling import unit_design
from schemerisk.uncertainty.summary import FAN_QUANTILES, LogBins, sketch_quantile
from tests.distributed.conftest import N_DRAWS, SEED, FailAt

ALPHA = 1e-3
#: the bound of the module docstring, with room for the rounding of log()
BOUND = ALPHA * (1 + 1e-9)


def _summary(space, chunk=1000, before_chunk=None):  # type: ignore[no-untyped-def]
    job = make_job(
        space,
        unit_design(space, N_DRAWS, SEED),
        keep="summary",
        chunk_size=chunk,
        before_chunk=before_chunk,
    )
    return job, run_to_store(job, None, progress=False)


@pytest.fixture(scope="module")
def summary(space):  # type: ignore[no-untyped-def]
    job, report = _summary(space)
    return summary_dataset(job, report.summary)


def test_counts_are_exact(summary, reference):
    bal = reference["balance"]
    assert np.array_equal(summary["n_deficit"].values, (bal < 0).sum("draw").values)
    assert int(summary["n_any_deficit"]) == int((bal < 0).any("year").sum())
    res = reference["reserve"]
    assert np.array_equal(summary["n_reserve_negative"].values, (res < 0).sum("draw").values)
    assert int(summary["n_ruin"]) == int((res < 0).any("year").sum())
    assert summary.attrs["n_draws"] == N_DRAWS


def test_sums_and_means_match_to_rounding(summary, reference):
    for name in ("balance", "premium_revenue"):
        x = reference[name].values
        np.testing.assert_allclose(summary[f"{name}_sum"], x.sum(0), rtol=1e-12)
        np.testing.assert_allclose(summary[f"{name}_sum_squares"], (x * x).sum(0), rtol=1e-12)
        np.testing.assert_allclose(summary[f"{name}_mean"], x.mean(0), rtol=1e-12)
        np.testing.assert_allclose(summary[f"{name}_std"], x.std(0, ddof=1), rtol=1e-6)
    risk = deficit_risk(reference).table
    np.testing.assert_array_equal(summary["p_deficit"], risk["p_deficit"])
    np.testing.assert_allclose(summary["expected_deficit"], risk["expected_deficit"], rtol=1e-12)
    np.testing.assert_allclose(
        summary["expected_deficit_share"], risk["expected_deficit_share"], rtol=1e-12
    )


def test_quantiles_and_shortfalls_are_within_the_bound(summary, reference):
    bal = reference["balance"].values
    exact = np.quantile(bal, FAN_QUANTILES, axis=0, method="inverted_cdf")
    got = summary["balance_quantile"].values
    assert np.all(np.abs(got - exact) <= BOUND * np.abs(exact))
    risk = deficit_risk(reference).table
    for name in ("expected_shortfall", "expected_shortfall_share", "required_premium_multiplier"):
        e, g = risk[name].values, summary[name].values
        assert np.all(np.abs(g - e) <= BOUND * np.abs(e)), name


def test_the_bound_holds_over_many_magnitudes_and_signs():
    rng = np.random.default_rng(3)
    x = np.concatenate(
        [rng.lognormal(0, 8, 40_000), -rng.lognormal(5, 3, 30_000), np.zeros(10), [np.inf]]
    )[:, None]
    bins = LogBins(ALPHA)
    counts = bins.histogram(x)
    q = np.linspace(0, 1, 401)
    got = sketch_quantile(counts, bins.values(), q)[:, 0]
    exact = np.quantile(x[:, 0], q, method="inverted_cdf")
    finite = np.isfinite(exact)
    assert np.all(np.abs(got[finite] - exact[finite]) <= BOUND * np.abs(exact[finite]))
    assert np.array_equal(got[~finite], exact[~finite])


def test_the_summary_does_not_depend_on_chunking(space, summary):
    """Counts and sketches are integers: identical. Sums: the same to rounding (chunk
    sums differ in their last bits; with the same chunk size the order does not matter).

    A standard deviation comes from ``(sum x^2 - n mean^2) / (n - 1)``: the two sums'
    rounding (at most about K eps relatively each, K ~ 18 for 6,000 draws summed in
    chunks of 777-1,000: the pairwise levels within a chunk plus the chunks) is
    amplified by the cancellation, ``1 + (mean / sd)^2`` (631 for the first year's
    premium revenue, whose mean is 25 sd), and halved by the square root: a relative
    difference of at most about ``1.5 K eps (1 + (mean / sd)^2)``, 32 eps times it here.
    """
    job, report = _summary(space, chunk=777)
    other = summary_dataset(job, report.summary)
    eps = np.finfo(np.float64).eps
    for name in summary.data_vars:
        a, b = other[name].values, summary[name].values
        if a.dtype.kind == "i" or name in ("balance_quantile", "p_deficit"):
            np.testing.assert_array_equal(a, b, err_msg=name)
        elif name.endswith("_std"):
            ratio = summary[name.removesuffix("_std") + "_mean"].values / b
            bound = 32 * eps * (1.0 + ratio**2) * np.abs(b)
            assert np.all(np.abs(a - b) <= bound), name
        else:
            np.testing.assert_allclose(a, b, rtol=1e-13, err_msg=name)


def test_an_interrupted_summary_run_resumes_to_the_same_summary(space, summary, tmp_path):
    store = tmp_path / "s.zarr"
    job = make_job(
        space,
        unit_design(space, N_DRAWS, SEED),
        keep="summary",
        chunk_size=1000,
        before_chunk=FailAt(4),
    )
    with pytest.raises(KeyboardInterrupt):
        run_to_store(job, store, progress=False, checkpoint_seconds=0.0)
    assert not store.exists()  # nothing under the final name until the run is complete
    with pytest.raises(ValueError, match="incomplete store"):
        open_dataset(partial_store(store))
    job = make_job(space, unit_design(space, N_DRAWS, SEED), keep="summary", chunk_size=1000)
    report = run_to_store(job, store, progress=False)
    assert (report.already_done, report.computed) == (4, 2)
    got = open_dataset(store)
    for name in summary.data_vars:
        np.testing.assert_array_equal(got[name].values, summary[name].values, err_msg=name)
    assert got.attrs["schemerisk_complete"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]  # no partial store left


def test_the_risk_report_of_a_summary_matches_the_full_cubes(summary, reference):
    """``schemerisk risk`` on a summary store: exact where the summary is, within the bound else."""
    full = deficit_risk(reference)
    got = risk_from_summary(summary)
    exact = ("p_deficit", "p_deficit_se", "p_deficit_lower", "p_deficit_upper")
    for name in exact:
        np.testing.assert_allclose(got.table[name], full.table[name], rtol=1e-12, err_msg=name)
    for name in ("expected_deficit", "expected_deficit_share"):
        np.testing.assert_allclose(got.table[name], full.table[name], rtol=1e-12, err_msg=name)
    for name in ("expected_shortfall", "expected_shortfall_share", "required_premium_multiplier"):
        e, g = full.table[name].values, got.table[name].values
        assert np.all(np.abs(g - e) <= BOUND * np.abs(e)), name
    for k in ("p", "se", "lower", "upper"):
        assert float(got.p_any_deficit[k]) == pytest.approx(float(full.p_any_deficit[k]), rel=1e-12)
    assert got.p_ruin is None and full.p_ruin is None  # scenario B has no reserve fund
    assert got.n_draws == full.n_draws == N_DRAWS
    assert got.currency == full.currency
    assert "streaming summary" in got.approximate and not full.approximate
    # another level is read off the stored sketch of break-even multipliers
    other = risk_from_summary(summary, level=0.2)
    e = deficit_risk(reference, level=0.2).table["required_premium_multiplier"].values
    g = other.table["required_premium_multiplier"].values
    assert np.all(np.abs(g - e) <= BOUND * np.abs(e))
    with pytest.raises(ValueError, match="multiplier on all premiums, not on flat premiums"):
        risk_from_summary(summary, adjust="flat-premiums")


def test_schemerisk_risk_reads_a_summary_store(space, summary, tmp_path):
    from schemerisk.cli import main

    store = tmp_path / "s.zarr"
    job = make_job(space, unit_design(space, N_DRAWS, SEED), keep="summary", chunk_size=1000)
    run_to_store(job, store, progress=False)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["risk", str(store)]) == 0
    text = out.getvalue()
    assert f"Deficit risk from {N_DRAWS:,} projections" in text
    assert "From a streaming summary" in text
    p1993 = float(summary["p_deficit"].sel(year=1993))
    assert f"1993{p1993:>12.1%}" in text


def test_a_cube_too_large_for_memory_is_read_by_chunks(reference, tmp_path, monkeypatch):
    """``schemerisk risk`` on a big cube streams it through the summary: same counts, bounded rest."""
    import contextlib
    import io

    from schemerisk import cli
    from schemerisk.analysis.risk import deficit_risk_by_chunks
    from schemerisk.io import write_dataset

    full = deficit_risk(reference)
    got = deficit_risk_by_chunks(reference, draws_per_chunk=700)
    np.testing.assert_array_equal(got.table["p_deficit"], full.table["p_deficit"])
    np.testing.assert_allclose(
        got.table["expected_deficit"], full.table["expected_deficit"], rtol=1e-12
    )
    for name in ("expected_shortfall", "expected_shortfall_share", "required_premium_multiplier"):
        e, g = full.table[name].values, got.table[name].values
        assert np.all(np.abs(g - e) <= BOUND * np.abs(e)), name
    assert float(got.p_any_deficit.p) == float(full.p_any_deficit.p)

    store = write_dataset(reference, tmp_path / "cube.zarr")
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(cli, "RISK_MEMORY_SHARE", 0.0)  # as if the cube were larger than memory
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert cli.main(["risk", str(store)]) == 0
    assert "reading them a chunk of draws at a time" in err.getvalue()
    assert "From a streaming summary" in out.getvalue()
    p1997 = float(full.table["p_deficit"].sel(year=1997))
    assert f"1997{p1997:>12.1%}" in out.getvalue()
