"""The ``schemerisk`` command line.

Every command reads and validates its inputs before any work starts; bad input
gets a message naming the file, the key and what was expected, and a non-zero
exit code, never a Python traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from schemerisk import __version__
from schemerisk.errors import InputError

EXIT_INPUT = 2  #: bad input (a file, a key, an option)
EXIT_FAILED = 1  #: the work itself failed


class CliError(Exception):
    """An error to report to the user in one message, without a traceback."""


def _scenario_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "scenario",
        help="scenario file (YAML) or built-in name: hai_phong_1993, hai_phong_1993_1997",
    )


def _level_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--level",
        type=float,
        default=0.05,
        help="target probability of deficit for the required premium (default 0.05)",
    )


def _horizon_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--horizon", type=int, help="years after the base year (default: the scenario's own)"
    )


def _output_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o", "--output", type=Path, help="also write the result: .nc, .zarr or .csv (long format)"
    )


def cmd_project(args: argparse.Namespace) -> int:
    """``schemerisk project``: print Sheet C and optionally write the result."""
    from schemerisk.io import write_dataset
    from schemerisk.model import project
    from schemerisk.reports.tables import format_sheet_c
    from schemerisk.scenario import load_scenario

    sc = load_scenario(args.scenario)
    _check_output(args.output)
    if args.horizon is not None and args.horizon < 0:
        raise CliError(f"--horizon must be 0 or more, got {args.horizon}")
    ds = project(sc, horizon=args.horizon)
    print(format_sheet_c(ds, scale=args.scale))
    if args.output:
        write_dataset(ds, args.output)
        print(f"\nwrote {args.output}", file=sys.stderr)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """``schemerisk validate``: check a scenario and report every problem."""
    from schemerisk.scenario import load_scenario

    sc = load_scenario(args.scenario)
    print(
        f"{sc.source}: valid scenario '{sc.name}': {sc.base_year}-{sc.base_year + sc.horizon}, "
        f"{len(sc.categories)} categories, {len(sc.services)} services, "
        f"{len(sc.administration)} administrative items"
    )
    return 0


def cmd_solve(args: argparse.Namespace) -> int:
    """``schemerisk solve``: premiums that balance the scheme every year."""
    from schemerisk.analysis.solver import solve_equilibrium
    from schemerisk.io import write_dataset
    from schemerisk.reports.tables import Row, Section, format_sheet_c, values_of
    from schemerisk.scenario import load_scenario

    sc = load_scenario(args.scenario)
    _check_output(args.output)
    try:
        sol = solve_equilibrium(sc, args.adjust)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    ds = sol.result.assign(premium_multiplier=sol.multiplier)
    cats = [str(c) for c in ds.category.values]
    labels = dict(zip(cats, [str(x) for x in ds.category_label.values], strict=True))

    sections = [
        Section(
            f"Multiplier on {args.adjust.replace('-', ' ')}",
            (Row("Multiplier", values_of("premium_multiplier"), "index"),),
        ),
        Section(
            "Adjusted premium per person",
            tuple(Row(labels[c], values_of("premium", category=c), "unit") for c in cats),
        ),
        Section(
            "The scheme with adjusted premiums",
            (
                Row("Total revenue from premiums", values_of("premium_revenue")),
                Row("Total expenditure", values_of("total_expenditure")),
                Row("Balance", values_of("balance")),
            ),
        ),
    ]
    print(format_sheet_c(ds, scale=args.scale, sections=sections))
    if args.output:
        write_dataset(ds, args.output)
        print(f"\nwrote {args.output}", file=sys.stderr)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """``schemerisk simulate``: a Monte Carlo cube and a summary of the balance.

    With ``--workers`` or ``--scheduler`` the draws run in chunks on a dask
    cluster and stream into a resumable Zarr store; with ``--keep summary``
    only streaming summaries are kept (see :mod:`schemerisk.uncertainty.distributed`).
    """
    from schemerisk.io import write_dataset
    from schemerisk.model.results import VARIABLE_FIELDS
    from schemerisk.uncertainty.montecarlo import balance_summary, run_design
    from schemerisk.uncertainty.sampling import unit_design

    _, space = _bound_space(args.scenario, args.distributions, args.horizon)
    _check_output(args.output)
    if args.draws < 1:
        raise CliError(f"-n must be at least 1, got {args.draws}")
    if args.chunk_size < 1:
        raise CliError(f"--chunk-size must be at least 1, got {args.chunk_size}")
    if args.workers is not None and args.scheduler is not None:
        raise CliError("give --workers or --scheduler, not both")
    if args.workers is not None and args.workers < 1:
        raise CliError(f"--workers must be at least 1, got {args.workers}")
    keep = args.keep
    summary_only = keep == ["summary"]
    chunked = summary_only or args.workers is not None or args.scheduler is not None
    if chunked and args.output is not None and args.output.suffix.lower() != ".zarr":
        raise CliError(
            f"{args.output}: distributed and summary runs stream chunk by chunk into a Zarr "
            "store; give an output ending in .zarr (convert it afterwards if you need netCDF)"
        )
    if chunked and args.output is None and not summary_only:
        raise CliError(
            "--workers/--scheduler need -o STORE.zarr: the cube is written chunk by chunk"
        )
    if args.overwrite and not chunked:
        raise CliError("--overwrite is for chunked runs (--workers, --scheduler or --keep summary)")
    if keep and keep != ["all"] and not summary_only:
        unknown = [k for k in keep if k not in VARIABLE_FIELDS]
        if unknown:
            from schemerisk.errors import suggest

            raise CliError(
                f"--keep: unknown output '{unknown[0]}'{suggest(unknown[0], VARIABLE_FIELDS)} "
                f"(outputs: {', '.join(VARIABLE_FIELDS)}, or 'summary' alone)"
            )
        if "balance" not in keep:
            keep = [*keep, "balance"]
    design = unit_design(space, args.draws, args.seed, args.sampler)
    if chunked:
        return _simulate_chunked(args, space, design, keep)
    try:
        cube = run_design(
            space,
            design,
            keep=keep,
            chunk_size=args.chunk_size,
            threads=args.threads,
            progress=False if args.no_progress else None,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.output:
        write_dataset(cube, args.output)
    _print_balance_table(args, space, balance_summary(cube))
    if args.output:
        print(f"\nwrote {args.output}", file=sys.stderr)
    return 0


def _print_balance_table(args: argparse.Namespace, space, summary) -> None:  # type: ignore[no-untyped-def]
    """The header and the balance fan table printed by ``simulate``."""
    sc = space.scenario
    print(f"{sc.title or sc.name}")
    print(
        f"{args.draws:,} projections, sampler {args.sampler}, seed {args.seed}, "
        f"{len(space.entries)} uncertain inputs ({space.source})"
    )
    print(f"\nBalance of the scheme, millions of {sc.currency}")
    print(f"{'year':>6}{'5 %':>14}{'median':>14}{'95 %':>14}{'P(deficit)':>12}")
    for y in summary.year.values:
        lo, mid, hi, p = (
            float(summary[v].sel(year=y)) for v in ("p05", "median", "p95", "p_deficit")
        )
        print(f"{int(y):>6}{lo / 1e6:>14,.1f}{mid / 1e6:>14,.1f}{hi / 1e6:>14,.1f}{p:>12.1%}")


def _simulate_chunked(args: argparse.Namespace, space, design, keep) -> int:  # type: ignore[no-untyped-def]
    """``simulate`` with --workers, --scheduler or --keep summary: chunks into a resumable store."""
    import xarray as xr

    from schemerisk.io import open_dataset
    from schemerisk.uncertainty.distributed import (
        StoreMismatchError,
        connect,
        make_job,
        run_to_store,
        summary_dataset,
    )
    from schemerisk.uncertainty.montecarlo import balance_summary

    threads = (
        args.threads
        if args.threads is not None
        else (None if args.workers is None and args.scheduler is None else 1)
    )
    try:
        job = make_job(space, design, keep=keep, chunk_size=args.chunk_size, threads=threads)
        with connect(args.scheduler, args.workers) as client:
            report = run_to_store(
                job,
                args.output,
                client=client,
                overwrite=args.overwrite,
                progress=False if args.no_progress else None,
            )
    except KeyboardInterrupt:
        kept = f"the finished chunks are kept in {args.output}; " if args.output else ""
        print(f"\ninterrupted: {kept}run the same command again to finish", file=sys.stderr)
        return 130
    except StoreMismatchError as exc:
        raise CliError(str(exc)) from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    done = f" ({report.already_done} already done)" if report.already_done else ""
    print(f"computed {report.computed} of {report.n_chunks} chunks{done}", file=sys.stderr)
    if job.summary:
        ds = (
            summary_dataset(job, report.summary)
            if report.summary is not None
            else open_dataset(args.output)
        )
        q = ds["balance_quantile"]
        table = xr.Dataset(
            {
                "p05": q.sel(quantile=0.05, drop=True),
                "median": q.sel(quantile=0.5, drop=True),
                "p95": q.sel(quantile=0.95, drop=True),
                "p_deficit": ds["p_deficit"],
            }
        )
        _print_balance_table(args, space, table)
        print(
            f"\nQuantiles from a streaming sketch (relative error <= {job.bins.relative_accuracy:g}); "
            f"P(at least one deficit) = {float(ds['p_any_deficit']):.1%}; "
            + (
                f"for the whole risk report: schemerisk risk {args.output}"
                if args.output
                else "give -o STORE.zarr to keep the summary for 'schemerisk risk'"
            )
        )
    else:
        with xr.open_zarr(args.output, consolidated=True) as cube:
            bal = cube[["balance"]].load()  # one variable, not the cube
        _print_balance_table(args, space, balance_summary(bal))
    if args.output:
        print(f"\nwrote {args.output}", file=sys.stderr)
    return 0


_RISK_RUN_OPTIONS = ("draws", "seed", "sampler", "horizon", "threads", "output")


def cmd_risk(args: argparse.Namespace) -> int:
    """``schemerisk risk``: deficit risk from a cube, or from a run made for the report.

    Given a scenario and its distributions, the run keeps only the outputs the
    report reads (:data:`~schemerisk.analysis.risk.RISK_OUTPUTS`), so 10^6
    projections need about 1 GB rather than the 4-5 GB of a full cube.
    """
    from schemerisk.analysis.risk import format_risk, risk_from_summary

    if not 0.0 < args.level < 1.0:
        raise CliError(f"--level must be strictly between 0 and 1, got {args.level}")
    if args.distributions is None:
        given = [
            f"--{o.replace('_', '-')}" for o in _RISK_RUN_OPTIONS if getattr(args, o) is not None
        ]
        if given:
            raise CliError(
                f"{', '.join(given)} only apply when the risk is simulated: give a scenario and "
                f"its distributions (schemerisk risk SCENARIO DISTRIBUTIONS -n N), not a cube"
            )
        source = Path(args.source)
        if not source.exists() and (
            source.suffix.lower() in (".yaml", ".yml") or args.source in _builtin_scenarios()
        ):
            raise CliError(
                f"{args.source} is a scenario: give its distributions too "
                f"(schemerisk risk {args.source} DISTRIBUTIONS -n N), or a cube"
            )
        cube = _open_cube(source, summary_ok=True, lazy=True)
    else:
        cube = _risk_run(args)
    if _is_summary(cube):
        try:
            report = risk_from_summary(cube, level=args.level, adjust=args.adjust)
        except ValueError as exc:
            raise CliError(f"{args.source}: {exc}") from None
    else:
        report = _risk_of_cube(cube, args)
    print(report.to_json() if args.json else format_risk(report))
    return 0


#: a cube whose risk outputs need more than this share of the memory is read by chunks
RISK_MEMORY_SHARE = 0.25


def _risk_of_cube(cube, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The risk report of a cube: exactly when its risk outputs fit in memory, else by chunks."""
    from schemerisk.analysis.risk import RISK_OUTPUTS, deficit_risk, deficit_risk_by_chunks

    present = [v for v in RISK_OUTPUTS if v in cube]
    needed = sum(cube[v].nbytes for v in present)
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        memory = 8 * 2**30
    if needed > RISK_MEMORY_SHARE * memory and len(present) == len(RISK_OUTPUTS):
        print(
            f"{args.source}: the risk outputs of {cube.sizes['draw']:,} draws need "
            f"{needed / 2**30:.1f} GiB: reading them a chunk of draws at a time",
            file=sys.stderr,
        )
        return deficit_risk_by_chunks(cube, level=args.level, adjust=args.adjust)
    return deficit_risk(cube[present].load(), level=args.level, adjust=args.adjust)


def _builtin_scenarios() -> list[str]:
    from schemerisk.scenario.builtin import builtin_names

    return list(builtin_names("scenarios"))


def _risk_run(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The Monte Carlo run behind ``schemerisk risk SCENARIO DISTRIBUTIONS``."""
    from schemerisk.analysis.risk import RISK_OUTPUTS
    from schemerisk.io import write_dataset
    from schemerisk.uncertainty.montecarlo import run_design
    from schemerisk.uncertainty.sampling import unit_design

    if Path(args.source).suffix.lower() in (".nc", ".zarr"):
        raise CliError(
            f"{args.source}: give either a cube alone, or a scenario and its distributions"
        )
    sc, space = _bound_space(args.source, args.distributions, args.horizon)
    _check_output(args.output)
    draws = args.draws if args.draws is not None else 100_000
    if draws < 1:
        raise CliError(f"-n must be at least 1, got {draws}")
    design = unit_design(space, draws, args.seed or 0, args.sampler or "mc")
    cube = run_design(
        space,
        design,
        keep=RISK_OUTPUTS,
        threads=args.threads,
        progress=False if args.no_progress else None,
    )
    if args.output:
        write_dataset(cube, args.output)
        print(f"wrote {args.output} (the outputs the risk report reads)", file=sys.stderr)
    print(
        f"{sc.title or sc.name}: {draws:,} projections, seed {args.seed or 0}, "
        f"{len(space.entries)} uncertain inputs ({space.source})\n"
    )
    return cube


def _bound_space(scenario: str, distributions: str, horizon: int | None):  # type: ignore[no-untyped-def]
    """Load a scenario (extended to ``horizon``) and bind its distributions, before any work."""
    from schemerisk.model import compile_inputs
    from schemerisk.scenario import load_scenario
    from schemerisk.uncertainty.space import load_space

    sc = load_scenario(scenario)
    if horizon is not None:
        if horizon < 0:
            raise CliError(f"--horizon must be 0 or more, got {horizon}")
        sc = sc.with_horizon(horizon)
    return sc, load_space(distributions, sc, compile_inputs(sc))


def _load_study(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Scenario and distributions of a study command, validated before any work."""

    sc, space = _bound_space(args.scenario, args.distributions, args.horizon)
    if args.base_samples < 2:
        raise CliError(f"-N must be at least 2, got {args.base_samples}")
    return sc, space


def _sobol(args: argparse.Namespace, space, second_order: bool = False):  # type: ignore[no-untyped-def]
    import warnings

    from schemerisk.analysis.sensitivity import PrecisionWarning, sobol_analysis

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PrecisionWarning)
        res = sobol_analysis(
            space.scenario,
            space,
            args.base_samples,
            seed=args.seed,
            second_order=second_order,
            threads=args.threads,
            progress=False if args.no_progress else None,
        )
    for w in caught:  # ours: imprecise indices, an N that is not a power of two
        if issubclass(w.category, UserWarning):
            print(f"warning: {w.message}", file=sys.stderr)
    return res


def _check_year(year: int | None, years: np.ndarray) -> int:
    y = int(years[-1]) if year is None else int(year)
    if y not in years:
        raise CliError(f"--year {y} is outside the projection ({int(years[0])}-{int(years[-1])})")
    return y


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """``schemerisk sensitivity``: Sobol' indices for the balance, its share of revenue and deficits."""
    from schemerisk.analysis.sensitivity import OUTPUT_LABELS

    _, space = _load_study(args)
    res = _sobol(args, space, args.second_order)
    ind = res.indices
    year = _check_year(args.year, ind.year.values)
    print(
        f"Sobol' indices from {ind.attrs['n_runs']:,} projections (N = {res.n_base}, seed {args.seed}); "
        f"+- half-width of the 95 % bootstrap interval"
    )
    for out in ind.output.values:
        t = ind.sel(output=out, year=year)
        order = np.argsort(-t.ST.values)
        print(f"\n{OUTPUT_LABELS[str(out)].capitalize()}, {year}")
        print(f"{'input':<58}{'first order S1':>18}{'total order ST':>18}")
        for i in order:
            print(
                f"{t.input.values[i]!s:<58}{float(t.S1[i]):>10.3f} +- {float(t.S1_conf[i]):.3f}"
                f"{float(t.ST[i]):>10.3f} +- {float(t.ST_conf[i]):.3f}"
            )
    if args.csv:
        from schemerisk.io import write_dataset

        args.csv.mkdir(parents=True, exist_ok=True)
        write_dataset(ind[["S1", "S1_conf", "ST", "ST_conf"]], args.csv / "sobol_indices.csv")
        print(f"\nwrote {args.csv / 'sobol_indices.csv'}", file=sys.stderr)
    return 0


def cmd_drivers(args: argparse.Namespace) -> int:
    """``schemerisk drivers``: given-data sensitivity from an existing cube."""
    from schemerisk.analysis.sensitivity import GIVEN_DATA_DRAWS, given_data_indices

    cube = _open_cube(args.cube)
    if not any(str(v).startswith("input_") for v in cube.data_vars):
        raise CliError(f"{args.cube}: the cube has no drawn inputs (input_* variables)")
    year = _check_year(args.year, cube.year.values)
    most = GIVEN_DATA_DRAWS[args.method] if args.max_draws is None else args.max_draws
    if most < 50:
        raise CliError(f"--max-draws must be at least 50, got {most}")
    res = given_data_indices(
        cube,
        args.method,
        years=[year],
        max_draws=most,
        progress=False if args.no_progress else None,
    )
    name = (
        "PAWN index (median KS distance)"
        if args.method == "pawn"
        else "delta moment-independent measure"
    )
    used, total = res.attrs["n_draws"], res.attrs["n_draws_total"]
    sub = f"the first {used:,} of {total:,} draws" if used < total else f"all {total:,} draws"
    print(f"Drivers from {sub} of {args.cube}: {name}, {year}")
    t = res.sel(year=year)
    if args.method == "delta":
        half = float(np.nanmedian(t["index_conf"].values))
        print(
            f"Precision: median 95 % bootstrap half-width +-{half:.3f}; an input whose index is "
            f"within that of the smallest explains little (use --max-draws for more precision)"
        )
    order = np.argsort(-t["index"].sel(output="balance").values)
    print(f"{'input':<36}{'balance':>12}{'balance/revenue':>17}{'deficit':>12}")
    for i in order:
        v = [float(t["index"].sel(output=o)[i]) for o in ("balance", "balance_share", "deficit")]
        print(f"{t.input.values[i]!s:<36}{v[0]:>12.3f}{v[1]:>17.3f}{v[2]:>12.3f}")
    return 0


def _decision(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from schemerisk.analysis.voi import PremiumDecision

    try:
        return PremiumDecision(args.deficit_cost, args.surplus_cost)
    except ValueError as exc:
        raise CliError(f"--{exc}") from None


def _sobol_sizes(args: argparse.Namespace) -> tuple[int, int]:
    n, most = args.base_samples, args.max_base_samples
    if n < 2:
        raise CliError(f"-N must be at least 2, got {n}")
    if most < n:
        raise CliError(f"--max-base-samples must be at least -N ({n}), got {most}")
    return n, most


def _scenario_years(space) -> np.ndarray:  # type: ignore[no-untyped-def]
    sc = space.scenario
    return np.arange(sc.base_year, sc.base_year + sc.horizon + 1)


def cmd_priorities(args: argparse.Namespace) -> int:
    """``schemerisk priorities``: which data to collect first (the report's code path)."""
    from schemerisk.analysis.priorities import protection_sentence
    from schemerisk.analysis.study import priority_study

    sc, space = _bound_space(args.scenario, args.distributions, args.horizon)
    n_start, n_max = _sobol_sizes(args)
    decision = _decision(args)
    year = _check_year(args.year, _scenario_years(space))
    if args.top < 1:
        raise CliError(f"--top must be at least 1, got {args.top}")
    ps = priority_study(
        space,
        args.seed + 1,  # as the report: the Saltelli design uses seed + 1
        decision,
        n_start=n_start,
        n_max=n_max,
        threads=args.threads,
        progress=False if (args.no_progress or args.json) else None,
    )
    for w in ps.warnings:
        print(f"warning: {w}", file=sys.stderr)
    pri = ps.priorities
    if args.json:
        print(pri.to_json())
        return 0
    t = pri.table.sel(year=year)
    cur = sc.currency
    print(f"Which data to collect first, for the {year} premium decision")
    print(f"Loss: {decision.describe(cur)}.")
    print(
        f"Sobol' indices from a Saltelli design with N = {ps.sobol.n_base} "
        f"(doubled from {ps.sizes[0]} until the quoted indices were precise, at most {n_max}); "
        f"EVPPI from {int(pri.voi.table.attrs['n_draws']):,} projections."
    )
    evpi = float(pri.voi.table.evpi.sel(year=year)) / 1e6
    print(f"Value of perfect information on everything (EVPI): {evpi:,.1f} million {cur}\n")
    print("Data the scheme can collect, by EVPPI (what knowing it exactly is worth)")
    print(f"{'rank':>4}  {'input':<56}{'EVPPI (M)':>12}{'+- se':>8}{'S1':>7}{'ST':>7}")
    for name in pri.ranking(year):
        r = t.sel(input=name)
        print(
            f"{int(r['rank']):>4}  {name:<56}{float(r.evppi) / 1e6:>12,.1f}{float(r.evppi_se) / 1e6:>8,.1f}"
            f"{float(r.S1_balance):>7.2f}{float(r.ST_balance):>7.2f}"
        )
    print("\nEnvironment the scheme can only prepare for")
    for name in pri.environment(year):
        r = t.sel(input=name)
        print(
            f"      {name:<56}{float(r.evppi) / 1e6:>12,.1f}{float(r.evppi_se) / 1e6:>8,.1f}"
            f"{float(r.S1_balance):>7.2f}{float(r.ST_balance):>7.2f}"
        )
    print("(S1, ST printed as estimated; the sentences below say when sampling noise puts them")
    print(" outside 0 <= S1 <= ST <= 1.)\n")
    print("\n".join(pri.sentences(year, top=args.top)))
    print()
    print("\n".join(pri.environment_sentences(year)))
    print("\n" + protection_sentence(ps.protection, year))
    return 0


def _is_summary(ds) -> bool:  # type: ignore[no-untyped-def]
    """Whether ``ds`` is a store of streaming summaries (``simulate --keep summary``)."""
    return "n_deficit" in ds and "summary_relative_accuracy" in ds.attrs


def _open_cube(path: Path, summary_ok: bool = False, lazy: bool = False):  # type: ignore[no-untyped-def]
    from schemerisk.io import open_dataset, open_lazily

    if not path.exists():
        raise CliError(f"{path}: no such cube (write one with 'schemerisk simulate ... -o {path}')")
    try:
        cube = open_lazily(path) if lazy else open_dataset(path)
    except (OSError, ValueError) as exc:
        raise CliError(f"{path}: cannot be read as a netCDF file or Zarr store ({exc})") from None
    if summary_ok and _is_summary(cube):
        return cube
    missing = [v for v in ("balance", "premium_revenue") if v not in cube]
    if "draw" not in cube.dims or missing:
        extra = f"; missing {', '.join(missing)}" if missing else ""
        raise CliError(
            f"{path}: not a Monte Carlo cube (needs a 'draw' dimension and the variables balance and "
            f"premium_revenue{extra})"
        )
    return cube


def cmd_report(args: argparse.Namespace) -> int:
    """``schemerisk report``: Monte Carlo, risk, Sobol' indices and priorities in one HTML page."""
    from schemerisk.analysis.study import run_study
    from schemerisk.model import compile_inputs
    from schemerisk.reports.html import key_messages, write_report, write_tables
    from schemerisk.scenario import load_scenario
    from schemerisk.uncertainty.space import load_space

    if args.output.suffix.lower() not in (".html", ".htm"):
        raise CliError(f"{args.output}: the report is an HTML page; give a name ending in .html")
    sc = load_scenario(args.scenario)
    if args.horizon is not None:
        if args.horizon < 0:
            raise CliError(f"--horizon must be 0 or more, got {args.horizon}")
        sc = sc.with_horizon(args.horizon)
    dist = args.distributions if args.distributions is not None else sc.name
    try:
        space = load_space(dist, sc, compile_inputs(sc))
    except FileNotFoundError:
        if args.distributions is None:
            raise CliError(
                f"no built-in distributions file for scenario '{sc.name}'; give one: "
                f"schemerisk report {args.scenario} DISTRIBUTIONS -o {args.output}"
            ) from None
        raise
    if args.draws < 10:
        raise CliError(f"-n must be at least 10, got {args.draws}")
    n_sobol, n_sobol_max = _sobol_sizes(args)
    if not 0.0 < args.level < 1.0:
        raise CliError(f"--level must be strictly between 0 and 1, got {args.level}")
    decision = _decision(args)
    study = run_study(
        sc,
        space,
        n=args.draws,
        n_sobol=n_sobol,
        n_sobol_max=n_sobol_max,
        seed=args.seed,
        sampler=args.sampler,
        level=args.level,
        decision=decision,
        threads=args.threads,
        progress=False if args.no_progress else None,
    )
    write_report(study, args.output)
    for line in key_messages(study):
        print(f"- {line}")
    for w in study.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"\nwrote {args.output}", file=sys.stderr)
    if args.csv:
        for path in write_tables(study, args.csv):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _check_output(path: Path | None) -> None:
    from schemerisk.io import SUFFIXES

    if path is not None and path.suffix.lower() not in SUFFIXES:
        raise CliError(
            f"{path}: unknown output format '{path.suffix}'; use one of {', '.join(SUFFIXES)}"
        )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``schemerisk`` command."""
    parser = argparse.ArgumentParser(
        prog="schemerisk",
        description="Deficit risk of health insurance schemes: the WHO cost-sharing and premium "
        "simulation model (Carrin, Ron & Murray 1993) with an uncertainty layer.",
    )
    parser.add_argument("--version", action="version", version=f"schemerisk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("project", help="run the deterministic projection and print Sheet C")
    _scenario_arg(p)
    _output_arg(p)
    _horizon_arg(p)
    p.add_argument(
        "--scale",
        type=float,
        default=1000.0,
        help="divide amounts and people by this in the tables (default 1000: thousands, as Annex II)",
    )
    p.set_defaults(func=cmd_project)

    p = sub.add_parser("validate", help="check a scenario file and report every problem found")
    _scenario_arg(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("solve", help="find the premiums that bring the balance to zero every year")
    _scenario_arg(p)
    _output_arg(p)
    p.add_argument(
        "--adjust",
        choices=["flat-premiums", "contribution-rates", "all-premiums"],
        default="flat-premiums",
        help="which premiums to scale (default: flat-premiums)",
    )
    p.add_argument(
        "--scale", type=float, default=1000.0, help="divide amounts by this in the tables"
    )
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser(
        "simulate", help="Monte Carlo: project the scenario under uncertain inputs into a cube"
    )
    _scenario_arg(p)
    p.add_argument(
        "distributions",
        help="distributions file (YAML) or built-in name (hai_phong_1993_1997)",
    )
    p.add_argument(
        "-n", "--draws", type=int, default=10_000, help="number of projections (default 10000)"
    )
    p.add_argument("--seed", type=int, default=0, help="the one seed (default 0)")
    p.add_argument(
        "--sampler",
        choices=["mc", "lhs", "sobol"],
        default="mc",
        help="plain Monte Carlo, Latin hypercube or scrambled Sobol' (default mc)",
    )
    p.add_argument(
        "-o", "--output", type=Path, help="write the cube: .nc or .zarr (or .csv, long format)"
    )
    p.add_argument(
        "--keep",
        nargs="+",
        metavar="VAR",
        help="outputs to keep (default: scheme-level results and members, premiums and revenue "
        "by category; 'all' keeps everything; 'summary' keeps only streaming summaries: "
        "fan-chart quantiles, deficit counts and the risk moments, memory independent of -n)",
    )
    _horizon_arg(p)
    p.add_argument(
        "--chunk-size", type=int, default=16_384, help="draws projected at once (default 16384)"
    )
    p.add_argument("--threads", type=int, help="numba threads (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.add_argument(
        "--workers",
        type=int,
        metavar="K",
        help="run the chunks on a local dask cluster of K worker processes (needs -o STORE.zarr)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the chunks on an existing dask-distributed scheduler, e.g. tcp://host:8786 "
        "(the workers must see the output path)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing store of a different run (chunked runs only)",
    )
    p.set_defaults(func=cmd_simulate)
    p = sub.add_parser(
        "risk",
        help="probability and size of deficits: from a cube, or simulated from a scenario",
    )
    p.add_argument(
        "source",
        metavar="CUBE|SCENARIO",
        help="a cube written by 'schemerisk simulate -o' (.nc or .zarr; a '--keep summary' store "
        "too), or a scenario "
        "(file or built-in name) followed by its distributions",
    )
    p.add_argument(
        "distributions",
        nargs="?",
        help="with a scenario: distributions file (YAML) or built-in name; the run keeps only "
        "what the report reads",
    )
    p.add_argument(
        "-n",
        "--draws",
        type=int,
        help="with a scenario: number of projections (default 100000)",
    )
    p.add_argument("--seed", type=int, help="with a scenario: the one seed (default 0)")
    p.add_argument(
        "--sampler", choices=["mc", "lhs", "sobol"], help="with a scenario: the design (default mc)"
    )
    p.add_argument(
        "--horizon",
        type=int,
        help="with a scenario: years after the base year (default: the scenario's own)",
    )
    p.add_argument("--threads", type=int, help="with a scenario: numba threads (default: all)")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="with a scenario: also write the run's cube (.nc or .zarr; risk outputs only)",
    )
    _level_arg(p)
    p.add_argument(
        "--adjust",
        choices=["flat-premiums", "contribution-rates", "all-premiums"],
        default="all-premiums",
        help="which premiums the required multiplier scales",
    )
    p.add_argument(
        "--json", action="store_true", help="print machine-readable JSON instead of tables"
    )
    p.set_defaults(func=cmd_risk)
    p = sub.add_parser(
        "sensitivity", help="Sobol' indices: which assumptions drive the balance and deficits"
    )
    _study_args(
        p,
        n_help="base sample size N of the Saltelli design (default 1024; the model runs N (G+2) times)",
    )
    p.add_argument("--second-order", action="store_true", help="also compute second-order indices")
    p.add_argument("--year", type=int, help="year to print (default the last)")
    p.add_argument(
        "--csv", type=Path, metavar="DIR", help="write the indices as CSV files into DIR"
    )
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser(
        "drivers", help="rank drivers from an existing Monte Carlo cube (PAWN or delta)"
    )
    p.add_argument("cube", type=Path, help="a cube written by 'schemerisk simulate -o'")
    p.add_argument(
        "--method",
        choices=["pawn", "delta"],
        default="pawn",
        help="given-data measure (default pawn)",
    )
    p.add_argument("--year", type=int, help="year to print (default the last)")
    p.add_argument(
        "--max-draws",
        type=int,
        help="use at most this many draws of the cube (default 20000 for pawn, 2000 for delta; "
        "the output says how many were used)",
    )
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.set_defaults(func=cmd_drivers)

    p = sub.add_parser(
        "priorities", help="which data to collect first: Sobol' indices and value of information"
    )
    _study_args(p, n_help="starting base sample size N of the Saltelli design (default 1024)")
    p.add_argument(
        "--deficit-cost",
        type=float,
        default=2.0,
        help="loss per unit of currency of deficit (default 2: emergency financing, arrears)",
    )
    p.add_argument(
        "--surplus-cost",
        type=float,
        default=1.0,
        help="loss per unit of currency of surplus, i.e. over-set premiums (default 1)",
    )
    p.add_argument("--year", type=int, help="year of the decision to rank for (default the last)")
    p.add_argument("--top", type=int, default=5, help="how many inputs to describe (default 5)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the full ranking (S1, ST, EVPPI and its s.e. per input and year) as JSON only",
    )
    _max_n_arg(p)
    p.set_defaults(func=cmd_priorities)
    p = sub.add_parser(
        "report", help="the whole study as one self-contained HTML page (and CSV tables)"
    )
    p.add_argument(
        "scenario",
        nargs="?",
        default="hai_phong_1993_1997",
        help="scenario file or built-in name (default hai_phong_1993_1997)",
    )
    p.add_argument(
        "distributions",
        nargs="?",
        default=None,
        help="distributions file or built-in name (default: the built-in file of the same name "
        "as the scenario, hai_phong_1993_1997)",
    )
    p.add_argument(
        "-o", "--output", type=Path, required=True, help="the HTML report to write (.html)"
    )
    p.add_argument(
        "-n", "--draws", type=int, default=20_000, help="Monte Carlo draws (default 20000)"
    )
    p.add_argument(
        "-N",
        "--base-samples",
        type=int,
        default=1024,
        help="starting base sample size of the Saltelli design for the Sobol' indices (default 1024)",
    )
    _max_n_arg(p)
    p.add_argument("--seed", type=int, default=0, help="the one seed (default 0)")
    p.add_argument(
        "--sampler", choices=["mc", "lhs", "sobol"], default="mc", help="Monte Carlo design"
    )
    _horizon_arg(p)
    _level_arg(p)
    p.add_argument(
        "--deficit-cost", type=float, default=2.0, help="loss per unit of deficit (default 2)"
    )
    p.add_argument(
        "--surplus-cost", type=float, default=1.0, help="loss per unit of surplus (default 1)"
    )
    p.add_argument(
        "--csv", type=Path, metavar="DIR", help="also write the report's tables as CSV into DIR"
    )
    p.add_argument("--threads", type=int, help="numba threads (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.set_defaults(func=cmd_report)
    return parser


def _max_n_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-base-samples",
        type=int,
        default=8192,
        help="Sobol' base sample size N doubles from -N until the quoted indices are precise, "
        "up to this (default 8192)",
    )


def _study_args(p: argparse.ArgumentParser, n_help: str) -> None:
    _scenario_arg(p)
    p.add_argument(
        "distributions", help="distributions file (YAML) or built-in name (hai_phong_1993_1997)"
    )
    p.add_argument("-N", "--base-samples", type=int, default=1024, help=n_help)
    p.add_argument("--seed", type=int, default=0, help="the one seed (default 0)")
    _horizon_arg(p)
    p.add_argument("--threads", type=int, help="numba threads (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``schemerisk`` command line and return its exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for bad input, 1 when the work failed, 130 when interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return EXIT_INPUT
    except FileNotFoundError as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return EXIT_INPUT
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into 'head' and the like: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
