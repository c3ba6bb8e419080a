"""The ``schemerisk`` command line.

Every command reads and validates its inputs before any work starts; bad input
gets a message naming the file, the key and what was expected, and a non-zero
exit code, never a Python traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from schemerisk import __version__
from schemerisk.errors import InputError
from schemerisk.resources import usable_threads
from schemerisk.scenario.parse import ARRIVALS, MAX_HORIZON, YEARS, Allowed

EXIT_INPUT = 2  #: bad input (a file, a key, an option)
EXIT_FAILED = 1  #: the work itself failed
#: results not trustworthy: more than UNKNOWN_SHARE_LIMIT (1 %) of the projections have no finite
#: balance in some year (schemerisk.uncertainty.nonfinite.EXIT_UNTRUSTWORTHY)
EXIT_UNTRUSTWORTHY = 3


class NumberOption:
    """An argparse ``type``: a number within an :class:`~schemerisk.scenario.parse.Allowed` range.

    A bad value is refused while the command line is read, before any file is
    opened, and argparse names the option: ``argument --scale: 0 is out of
    range: expected a divisor above 0``. Counts may be written ``1e6``.

    Parameters
    ----------
    allowed : Allowed
        The values accepted, and the words for them.
    integer : bool
        Whether the value is a whole number.
    """

    def __init__(self, allowed: Allowed, integer: bool = False) -> None:
        self.allowed = allowed
        self.integer = integer
        self.__name__ = allowed.what  # argparse's name for the type

    def __call__(self, text: str) -> float | int:
        what = self.allowed.what
        shown = text if len(text) <= 40 else f"{text[:20]}... ({len(text)} characters)"
        value: float | int
        try:
            value = int(text) if self.integer else float(text)
        except ValueError:
            value = math.nan
        if self.integer and isinstance(value, float):  # 1e6 for a count
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if math.isfinite(value) and not value.is_integer():
                raise argparse.ArgumentTypeError(f"expected {what} (a whole number), got '{shown}'")
            value = int(value) if math.isfinite(value) else value
        if isinstance(value, float) and math.isnan(value) and text.strip().lower() != "nan":
            raise argparse.ArgumentTypeError(f"expected {what}, got '{shown}'")
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{shown} is not a finite number: expected {what}")
        if not self.allowed.contains(value):
            raise argparse.ArgumentTypeError(f"{shown} is out of range: expected {what}")
        return value


#: The largest number of projections a command accepts. Beyond a billion the run takes days on
#: any machine; memory is checked separately before the run (schemerisk.resources).
MAX_DRAWS = 10**9
#: The seed is a 64-bit integer: numpy's SeedSequence takes any integer of 0 or more, but the
#: seed is stored in the results as a netCDF attribute, which holds at most a signed 64-bit one.
MAX_SEED = 2**63 - 1


class OPTIONS:
    """The ranges of every numeric option, as data (one place; see :class:`NumberOption`)."""

    DRAWS = NumberOption(Allowed(1, MAX_DRAWS, "a number of projections from 1 to 10^9"), True)
    REPORT_DRAWS = NumberOption(
        Allowed(10, MAX_DRAWS, "a number of projections from 10 to 10^9"), True
    )
    BASE_SAMPLES = NumberOption(
        Allowed(2, 10**7, "a base sample size N from 2 to 10^7 (a power of two, e.g. 1024)"), True
    )
    SEED = NumberOption(Allowed(0, MAX_SEED, "a seed from 0 to 2^63 - 1"), True)
    HORIZON = NumberOption(
        Allowed(0, MAX_HORIZON, f"a number of years after the base year from 0 to {MAX_HORIZON}"),
        True,
    )
    LEVEL = NumberOption(
        Allowed(
            0, 1, "a probability strictly between 0 and 1 (e.g. 0.05)", lo_open=True, hi_open=True
        )
    )
    THREADS = NumberOption(
        Allowed(1, usable_threads(), f"a number of threads from 1 to {usable_threads()}"), True
    )
    WORKERS = NumberOption(
        Allowed(
            1,
            max(8, 4 * usable_threads()),
            f"a number of worker processes from 1 to {max(8, 4 * usable_threads())} "
            "(more than the cores gains nothing)",
        ),
        True,
    )
    CHUNK_SIZE = NumberOption(Allowed(1, 10**7, "a number of draws per chunk from 1 to 10^7"), True)
    SCALE = NumberOption(
        Allowed(0, None, "a divisor above 0 (e.g. 1000 for thousands)", lo_open=True)
    )
    TOP = NumberOption(Allowed(1, None, "a number of inputs of 1 or more"), True)
    YEAR = NumberOption(Allowed(YEARS[0], ARRIVALS[1], "a year of the projection"), True)
    PORT = NumberOption(Allowed(1024, 65535, "a port number from 1024 to 65535"), True)
    COST = NumberOption(Allowed(0, None, "a loss per unit of currency above 0", lo_open=True))


class CliError(Exception):
    """An error to report to the user in one message, without a traceback."""


def _builtin(kind: str) -> str:
    """The built-in names of ``kind`` for the help texts, from the package's own list."""
    from schemerisk.scenario.builtin import builtin_names

    return ", ".join(builtin_names(kind)) or "none"


def _scenario_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "scenario",
        help=f"scenario file (YAML) or built-in name: {_builtin('scenarios')}",
    )


def _level_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--level",
        type=OPTIONS.LEVEL,
        default=0.05,
        help="target probability of deficit for the required premium (default 0.05)",
    )


def _horizon_arg(p: argparse.ArgumentParser, help_prefix: str = "") -> None:
    p.add_argument(
        "--horizon",
        type=OPTIONS.HORIZON,
        help=f"{help_prefix}years after the base year (default: the scenario's own)",
    )
    _extend_arg(p)


def _extend_arg(p: argparse.ArgumentParser) -> None:
    from schemerisk.scenario.types import AMOUNT_RULES

    p.add_argument(
        "--extend",
        choices=AMOUNT_RULES,
        default="real",
        help="past the scenario's last year, flat premiums and subsidy amounts keep their real "
        "value, indexed to domestic prices (real, the default), or their last nominal value "
        "(nominal); shares and rates hold either way",
    )


def _extended(sc, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The scenario over ``--horizon`` years, by the ``--extend`` rule (itself when none is given)."""
    horizon = getattr(args, "horizon", None)
    if horizon is None:
        return sc
    if horizon < 0:
        raise CliError(f"--horizon must be 0 or more, got {horizon}")
    return sc.with_horizon(horizon, amounts=getattr(args, "extend", "real"))


def _output_arg(p: argparse.ArgumentParser, xlsx: str = "") -> None:
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="also write the result: .nc, .zarr or .csv (long format)"
        + (f", or .xlsx ({xlsx})" if xlsx else ""),
    )
    _overwrite_arg(p)


def _xlsx_arg(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "-o", "--output", type=Path, help=f"also write {what} as an Excel workbook (.xlsx)"
    )


def _check_xlsx(path: Path | None, option: str = "-o") -> None:
    if path is not None and path.suffix.lower() != ".xlsx":
        raise CliError(
            f"{option} {path}: this command writes an Excel workbook; give a name ending in .xlsx"
        )


def _provenance(command: str, sc, **kwargs):  # type: ignore[no-untyped-def]
    from schemerisk.workbook.results import Provenance

    return Provenance.of(command, sc, **kwargs)


def _overwrite_arg(p: argparse.ArgumentParser, what: str = "the output") -> None:
    p.add_argument(
        "--overwrite",
        action="store_true",
        help=f"replace {what} if it is a schemerisk result written earlier (anything else is never "
        "replaced); the old result stays until the new one is complete",
    )


def _reserve(
    stack: contextlib.ExitStack,
    path: Path | None,
    overwrite: bool,
    kind: str | None = None,
    option: str = "-o",
    tables: list[str] | None = None,
) -> Any:
    """Check and lock a destination before any work (see :mod:`schemerisk.output`)."""
    from schemerisk.output import reserve

    if path is None:
        return None
    return stack.enter_context(
        reserve(path, kind, overwrite=overwrite, option=option, tables=tables)
    )


def _check_memory(rows: int, space, keep, design_matrix: bool, advice: str, extra: int = 0) -> None:  # type: ignore[no-untyped-def]
    """Refuse a run whose arrays would not fit in the memory available now (before any work).

    ``rows`` projections are held at once, keeping the outputs ``keep`` (None: the
    default set); ``extra`` bytes are needed besides (e.g. a design matrix).
    """
    from schemerisk.resources import MemoryEstimate, available_memory, kept_numbers, run_bytes

    outputs = kept_numbers(space.inputs, keep)
    needed = run_bytes(rows, space.n_columns, outputs, design_matrix) + extra
    est = MemoryEstimate(needed, available_memory())
    if not est.fits:
        raise CliError(
            f"{rows:,} projections of {outputs:,} numbers each would need {est.describe()}: "
            f"{advice}"
        )


def cmd_project(args: argparse.Namespace) -> int:
    """``schemerisk project``: print Sheet C and optionally write the result."""
    from schemerisk.model import project
    from schemerisk.reports.tables import format_sheet_c
    from schemerisk.scenario import load_scenario

    sc = _extended(load_scenario(args.scenario), args)
    _check_output(args.output, xlsx=True)
    with contextlib.ExitStack() as stack:
        out = _reserve(stack, args.output, args.overwrite)
        ds = project(sc)
        print(format_sheet_c(ds, scale=args.scale))
        if out is not None and out.kind == "xlsx":
            from schemerisk.workbook.results import project_workbook

            out.write_workbook(project_workbook(ds, _provenance("schemerisk project", sc)))
        elif out is not None:
            out.write_dataset(ds)
        if out is not None:
            print(f"\nwrote {args.output}", file=sys.stderr)
    return _deterministic_verdict(ds)


def _deterministic_verdict(ds) -> int:  # type: ignore[no-untyped-def]
    """0, or :data:`EXIT_UNTRUSTWORTHY` with a message naming the non-finite outputs and years."""
    from schemerisk.analysis.risk import RISK_OUTPUTS

    bad = {
        v: [int(y) for y in ds.year.values[~np.isfinite(ds[v].values)]]
        for v in RISK_OUTPUTS
        if v in ds and not np.isfinite(ds[v].values).all()
    }
    if not bad:
        return 0
    where = "; ".join(f"{v} {', '.join(map(str, ys))}" for v, ys in bad.items())
    print(
        f"error: results not trustworthy: the projection is not finite (an amount overflows past "
        f"1.8e308, or 0/0): {where}; '-' in the tables marks them. Check the scenario's amounts "
        "and rates.",
        file=sys.stderr,
    )
    return EXIT_UNTRUSTWORTHY


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
    from schemerisk.scenario import load_scenario

    sc = load_scenario(args.scenario)
    _check_output(args.output)
    unknown = _unsolvable_years(sc)
    if unknown:
        print(
            "error: results not trustworthy: the projection before any adjustment is not finite "
            f"(an amount overflows past 1.8e308, or 0/0): {unknown}; its balance is unknown there, "
            "so no premium can be found that balances it and none is shown. Check the scenario's "
            "amounts and rates.",
            file=sys.stderr,
        )
        return EXIT_UNTRUSTWORTHY
    with contextlib.ExitStack() as stack:
        out = _reserve(stack, args.output, args.overwrite)
        return _solve(args, sc, out)


def _unsolvable_years(sc) -> str:  # type: ignore[no-untyped-def]
    """The outputs and years where the unadjusted projection is not finite, as text ('' if none).

    The equilibrium premiums are found from this projection's revenue and
    expenditure: where they are not finite, the balance is unknown and no
    multiplier can be trusted (a NaN would otherwise read as "raises no revenue").
    """
    from schemerisk.model import project

    with np.errstate(all="ignore"):
        ds = project(sc)
    bad = {
        v: [int(y) for y in ds.year.values[~np.isfinite(ds[v].values)]]
        for v in ("balance", "premium_revenue", "total_expenditure")
        if not np.isfinite(ds[v].values).all()
    }
    return "; ".join(f"{v} {', '.join(map(str, ys))}" for v, ys in bad.items())


def _solve(args: argparse.Namespace, sc, out) -> int:  # type: ignore[no-untyped-def]
    from schemerisk.analysis.solver import solve_equilibrium
    from schemerisk.reports.tables import Row, Section, format_sheet_c, values_of

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
    if out is not None:
        out.write_dataset(ds)
        print(f"\nwrote {args.output}", file=sys.stderr)
    # the adjusted projection may overflow where the unadjusted one did not (a huge multiplier)
    return _deterministic_verdict(ds)


def cmd_simulate(args: argparse.Namespace) -> int:
    """``schemerisk simulate``: a Monte Carlo cube and a summary of the balance.

    With ``--workers`` or ``--scheduler`` the draws run in chunks on a dask
    cluster and stream into a resumable Zarr store; with ``--keep summary``
    only streaming summaries are kept (see :mod:`schemerisk.uncertainty.distributed`).
    """
    from schemerisk.model.results import VARIABLE_FIELDS
    from schemerisk.uncertainty.sampling import unit_design

    _, space = _bound_space(args.scenario, args.distributions, args.horizon, args.extend)
    _check_output(args.output, xlsx=True)
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
    if args.dashboard and args.workers is None:
        raise CliError("--dashboard is for a local cluster: give --workers K too")
    if args.scheduler is not None and args.output is not None and not args.output.is_absolute():
        raise CliError(
            f"-o {args.output}: with --scheduler give an absolute path on a file system that the "
            "workers share (a relative path would be read against each worker's own folder)"
        )
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
    if not chunked:
        _check_memory(
            args.draws,
            space,
            keep,
            args.sampler != "mc",
            "keep only streaming summaries (--keep summary -o STORE.zarr), keep fewer outputs "
            "(e.g. --keep balance), or run in chunks into a store (--workers K -o STORE.zarr)",
        )
    else:  # chunks held at once by local workers, and the design where it is made up front
        at_once = 0 if args.scheduler else min(args.chunk_size, args.draws) * (args.workers or 1)
        design_bytes = 0 if args.sampler == "mc" else 8 * args.draws * space.n_columns
        _check_memory(
            at_once,
            space,
            keep,
            False,
            "use --sampler mc (drawn chunk by chunk), a smaller --chunk-size, or fewer --workers",
            extra=design_bytes,
        )
    design = unit_design(space, args.draws, args.seed, args.sampler)
    if chunked:
        return _simulate_chunked(args, space, design, keep)
    with contextlib.ExitStack() as stack:
        out = _reserve(stack, args.output, args.overwrite)
        return _simulate_in_memory(args, space, design, keep, out)


def _simulate_in_memory(args: argparse.Namespace, space, design, keep, out) -> int:  # type: ignore[no-untyped-def]
    from schemerisk.uncertainty.montecarlo import balance_summary, run_design

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
    if out is not None and out.kind == "xlsx":  # the summaries, not the cube
        from schemerisk.workbook.results import simulate_workbook

        prov = _provenance(
            "schemerisk simulate",
            space.scenario,
            space=space,
            seed=args.seed,
            n_draws=args.draws,
            sampler=args.sampler,
        )
        out.write_workbook(simulate_workbook(cube, prov))
    elif out is not None:
        out.write_dataset(cube)
    summary = balance_summary(cube)
    _print_balance_table(args, space, summary)
    if args.output:
        print(f"\nwrote {args.output}", file=sys.stderr)
    return _unknown_verdict(summary["n_unknown"], args.draws, lambda: _suspects_of(cube))


def _print_balance_table(args: argparse.Namespace, space, summary) -> None:  # type: ignore[no-untyped-def]
    """The header and the balance fan table printed by ``simulate``."""
    import xarray as xr

    sc = space.scenario
    print(f"{sc.title or sc.name}")
    print(
        f"{args.draws:,} projections, sampler {args.sampler}, seed {args.seed}, "
        f"{len(space.entries)} uncertain inputs ({space.source})"
    )
    print(f"\nBalance of the scheme, millions of {sc.currency}")
    print(f"{'year':>6}{'5 %':>14}{'median':>14}{'95 %':>14}{'P(deficit)':>12}")
    unknown = (
        summary["n_unknown"]
        if "n_unknown" in summary
        else xr.zeros_like(summary["p_deficit"], dtype=np.int64)
    )
    shown = bool(unknown.any())  # draws with no finite balance: a column, never "no deficit"
    if shown:
        print(f"{'':>56}{'unknown':>12}")
    for y in summary.year.values:
        lo, mid, hi, p = (
            float(summary[v].sel(year=y)) for v in ("p05", "median", "p95", "p_deficit")
        )
        print(
            f"{int(y):>6}{lo / 1e6:>14,.1f}{mid / 1e6:>14,.1f}{hi / 1e6:>14,.1f}"
            + (f"{p:>12.1%}" if np.isfinite(p) else f"{'unknown':>12}")
            + (f"{int(unknown.sel(year=y)):>12,}" if shown else "")
        )
    if shown:
        print(
            "unknown: projections with no finite balance (an amount overflowed, or 0/0), left out "
            "of the quantiles and of P(deficit), not counted as 'no deficit'"
        )


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
    from schemerisk.output import OutputError, check_destination

    try:
        job = make_job(space, design, keep=keep, chunk_size=args.chunk_size, threads=threads)
        if args.output is not None:  # before a cluster starts; the run checks again, locked
            check_destination(args.output, "zarr", overwrite=args.overwrite, existing_ok=True)
        with connect(args.scheduler, args.workers, dashboard=args.dashboard) as client:
            report = run_to_store(
                job,
                args.output,
                client=client,
                overwrite=args.overwrite,
                progress=False if args.no_progress else None,
            )
    except KeyboardInterrupt:
        kept = f"the finished chunks are kept in {args.output}.partial; " if args.output else ""
        print(f"\ninterrupted: {kept}run the same command again to finish", file=sys.stderr)
        return 130
    except StoreMismatchError as exc:
        raise CliError(str(exc)) from None
    except OutputError:
        raise
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
        table["n_unknown"] = (
            ds["n_nonfinite"].sel(output="balance", drop=True)
            if "n_nonfinite" in ds
            else xr.zeros_like(ds["p_deficit"], dtype=np.int64)
        )
        _print_balance_table(args, space, table)
        print(
            f"\nQuantiles from a streaming sketch: each is the draw of that rank (numpy's "
            f"'inverted_cdf'), to within a relative {job.bins.relative_accuracy:g}; a cube's "
            "table interpolates between draws, so with few draws the two can differ; "
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
        table = balance_summary(bal)
        _print_balance_table(args, space, table)
    if args.output and report.computed == 0 and report.already_done:
        # the same run, finished before: its store is read as it is, nothing written
        print(
            f"\n{args.output} was already complete (the same run): nothing computed, nothing "
            "written",
            file=sys.stderr,
        )
    elif args.output:
        print(f"\nwrote {args.output}", file=sys.stderr)
    if job.summary:
        return _unknown_verdict(table["n_unknown"], args.draws, None)

    def suspects():  # type: ignore[no-untyped-def]
        with xr.open_zarr(args.output, consolidated=True) as cube:
            return _suspects_of(cube)

    return _unknown_verdict(table["n_unknown"], args.draws, suspects)


def _suspects_of(cube):  # type: ignore[no-untyped-def]
    from schemerisk.uncertainty.nonfinite import cube_suspects

    return cube_suspects(cube)


def _unknown_verdict(n_unknown, n_draws: int, suspects) -> int:  # type: ignore[no-untyped-def]
    """Exit code of a run with ``n_unknown`` draws (by year) without a finite balance.

    0 when none is unknown or their share stays within the limit (a warning
    then); above it, :data:`EXIT_UNTRUSTWORTHY` with a message that names the
    inputs most associated with the failures (``suspects()`` finds them; None
    when the run kept no drawn inputs).
    """
    from schemerisk.uncertainty.nonfinite import UNKNOWN_SHARE_LIMIT

    counts = np.asarray(n_unknown, dtype=np.int64).reshape(-1)
    if not counts.any():
        return 0
    worst = int(np.argmax(counts))
    year = int(np.asarray(n_unknown.year.values)[worst])
    share = counts[worst] / n_draws
    head = (
        f"{counts[worst]:,} of {n_draws:,} projections ({share:.1%}) have no finite balance in "
        f"{year} (an amount overflowed, or 0/0)"
    )
    shown = "they are shown as unknown, not as 'no deficit'"
    if share <= UNKNOWN_SHARE_LIMIT:
        print(
            f"warning: {head}, within the {UNKNOWN_SHARE_LIMIT:.0%} allowed; {shown}",
            file=sys.stderr,
        )
        return 0
    found = suspects() if suspects is not None else None
    if found is None:
        culprits = (
            "the drawn inputs were not kept, so the inputs behind the failures cannot be named "
            "here: 'schemerisk risk SCENARIO DISTRIBUTIONS' names them"
        )
    elif not found:
        culprits = "no drawn input differs between the failed and the finite projections"
    else:
        culprits = "inputs most associated with the failures: " + "; ".join(
            s.describe() for s in found
        )
    print(
        f"error: results not trustworthy: {head}, more than the {UNKNOWN_SHARE_LIMIT:.0%} "
        f"allowed (exit code {EXIT_UNTRUSTWORTHY}); {shown}; {culprits}",
        file=sys.stderr,
    )
    return EXIT_UNTRUSTWORTHY


_RISK_RUN_OPTIONS = ("draws", "seed", "sampler", "horizon", "threads", "output", "overwrite")


def cmd_risk(args: argparse.Namespace) -> int:
    """``schemerisk risk``: deficit risk from a cube, or from a run made for the report.

    Given a scenario and its distributions, the run keeps only the outputs the
    report reads (:data:`~schemerisk.analysis.risk.RISK_OUTPUTS`), so 10^6
    projections need about 1 GB rather than the 4-5 GB of a full cube.
    """
    if not 0.0 < args.level < 1.0:
        raise CliError(f"--level must be strictly between 0 and 1, got {args.level}")
    from schemerisk.scenario.workbook import is_workbook

    if args.distributions is None and is_workbook(args.source):
        args.distributions = args.source  # its Distributions sheet
    xlsx = args.output is not None and args.output.suffix.lower() == ".xlsx"
    with contextlib.ExitStack() as stack:  # a workbook: checked and locked before any work
        book = _reserve(stack, args.output, args.overwrite) if xlsx else None
        return _risk(args, book)


def _risk(args: argparse.Namespace, book) -> int:  # type: ignore[no-untyped-def]
    from schemerisk.analysis.risk import format_risk, risk_from_summary

    multiplier = _premium_multiplier(args)
    if args.distributions is None:
        given = [
            f"--{o.replace('_', '-')}"
            for o in _RISK_RUN_OPTIONS
            if getattr(args, o) is not None
            and getattr(args, o) is not False
            and not (book is not None and o in ("output", "overwrite"))
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
        space = design = None
    else:
        cube, space, design = _risk_run(args, multiplier, write_cube=book is None)
    if multiplier is not None:
        cube = _scaled_cube(cube, args, multiplier)
    if _is_summary(cube):
        try:
            report = risk_from_summary(cube, level=args.level, adjust=args.adjust)
        except ValueError as exc:
            raise CliError(f"{args.source}: {exc}") from None
    else:
        report = _risk_of_cube(cube, args)
    # the inputs behind too many non-finite draws (a summary store keeps no drawn inputs)
    if report.trustworthy or _is_summary(cube):
        found = None
    elif design is not None and not any(str(v).startswith("input_") for v in cube.data_vars):
        # a run for the report alone keeps no drawn inputs: make them again, the same draws
        from schemerisk.uncertainty.montecarlo import drawn_inputs

        found = _suspects_of(cube.assign(drawn_inputs(space, design)))  # type: ignore[arg-type]
    else:
        found = _suspects_of(cube)
    if found:
        import dataclasses

        report = dataclasses.replace(report, suspects=tuple(found))
    if args.json and multiplier is not None:
        import json

        data = report.to_json_dict()
        data.update(
            premium_multiplier=multiplier,
            premium_multiplier_adjusts="by-category"
            if isinstance(multiplier, dict)
            else args.adjust,
        )
        print(json.dumps(data, indent=2))
    else:
        print(report.to_json() if args.json else format_risk(report))
    if book is not None:
        from schemerisk.workbook.results import Provenance, risk_workbook

        attrs = dict(cube.attrs)
        if report.currency:  # a summary store names its currency only in the units
            attrs["currency"] = report.currency
        prov = Provenance("schemerisk risk", attrs, space, notes=[f"source: {args.source}"])
        for key, attr in (("seed", "seed"), ("n_draws", "n_draws"), ("sampler", "sampler")):
            if attr in cube.attrs:
                setattr(prov, key, cube.attrs[attr])
        if isinstance(multiplier, dict):
            prov.notes.append(
                f"premiums by category multiplied: {cube.attrs['premium_multiplier']}"
            )
        elif multiplier is not None:
            prov.notes.append(f"premiums ({args.adjust}) multiplied by {multiplier:g}")
        prov.notes.append(f"required premium multiplier: at P(deficit) = {args.level:g}")
        if report.approximate:
            prov.notes.append(report.approximate)
        book.write_workbook(risk_workbook(report, prov, None if _is_summary(cube) else cube))
        print(f"wrote {args.output}", file=sys.stderr)
    return _unknown_verdict(
        report.table["n_unknown"], report.n_draws, None if found is None else (lambda: found)
    )


def _premium_multiplier(args: argparse.Namespace) -> float | dict[str, float] | None:
    """``--premium-multiplier`` (``M``, or ``NAME=M,NAME=M`` by category), checked before any work."""
    from schemerisk.analysis.whatif import parse_multiplier

    if args.premium_multiplier is None:
        return None
    try:
        m = parse_multiplier(args.premium_multiplier)
    except ValueError as exc:
        raise CliError(f"--premium-multiplier: {exc}") from None
    if isinstance(m, dict):
        if args.adjust != "all-premiums":
            raise CliError(
                f"--premium-multiplier {args.premium_multiplier}: a category's multiplier scales "
                f"all of its premiums (flat and contribution); it cannot go with --adjust "
                f"{args.adjust} (leave --adjust at all-premiums)"
            )
    return m  # a scenario's category names are checked when it is loaded (_risk_run)


def _scaled_cube(cube, args: argparse.Namespace, multiplier):  # type: ignore[no-untyped-def]
    """The cube with ``--adjust`` premiums times ``--premium-multiplier`` (analysis.whatif)."""
    from schemerisk.analysis.whatif import scale_categories, scale_premiums

    if _is_summary(cube):
        raise CliError(
            f"{args.source}: --premium-multiplier needs every projection's balance and premium "
            "revenue, and a '--keep summary' store holds only summaries: give a full cube, or "
            "the scenario and its distributions"
        )
    missing = [v for v in ("balance", "premium_revenue") if v not in cube]
    if missing:
        raise CliError(
            f"{args.source}: --premium-multiplier needs {', '.join(missing)} in the cube"
        )
    if isinstance(multiplier, dict):
        try:
            scaled = scale_categories(cube, multiplier)
        except ValueError as exc:
            raise CliError(f"{args.source}: --premium-multiplier: {exc}") from None
        print(
            f"Premiums by category multiplied ({scaled.attrs['premium_multiplier']}): each "
            "projection's balance is its planned balance + the sum over those categories of "
            "(M - 1) x the category's premium revenue; the 'premium x' column is then a further "
            "multiplier on every premium",
            file=sys.stderr if args.json else sys.stdout,
        )
        return scaled
    print(
        f"Premiums ({args.adjust.replace('-', ' ')}) multiplied by {multiplier:g}: each "
        f"projection's balance is its planned balance + ({multiplier:g} - 1) x the revenue of "
        "those premiums; the 'premium x' column is then a further multiplier on top of it",
        file=sys.stderr if args.json else sys.stdout,
    )
    return scale_premiums(cube, multiplier, args.adjust)


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


def _risk_run(  # type: ignore[no-untyped-def]
    args: argparse.Namespace,
    multiplier: float | dict[str, float] | None = None,
    write_cube: bool = True,
):
    """The Monte Carlo run behind ``schemerisk risk SCENARIO DISTRIBUTIONS``: (cube, space, design).

    ``multiplier`` is ``--premium-multiplier`` as parsed: multipliers by category are
    checked against the scenario's categories before any work, and keep each
    category's premium revenue.
    """
    from schemerisk.analysis.risk import RISK_OUTPUTS
    from schemerisk.uncertainty.montecarlo import run_design
    from schemerisk.uncertainty.sampling import unit_design

    if Path(args.source).suffix.lower() in (".nc", ".zarr"):
        raise CliError(
            f"{args.source}: give either a cube alone, or a scenario and its distributions"
        )
    sc, space = _bound_space(args.source, args.distributions, args.horizon, args.extend)
    _check_output(args.output, xlsx=True)
    draws = args.draws if args.draws is not None else 100_000
    if draws < 1:
        raise CliError(f"-n must be at least 1, got {draws}")
    keep = RISK_OUTPUTS
    if isinstance(multiplier, dict):  # by category: the revenue by category too
        names = [c.name for c in sc.categories]
        unknown = [c for c in multiplier if c not in names]
        if unknown:
            raise CliError(
                f"--premium-multiplier: {args.source} has no category "
                f"{', '.join(unknown)}; its categories: {', '.join(names)}"
            )
        keep = (*RISK_OUTPUTS, "premium_revenue_by_category")
    _check_memory(
        draws,
        space,
        keep,
        (args.sampler or "mc") != "mc",
        "use fewer projections (-n), or keep only streaming summaries: schemerisk simulate "
        "SCENARIO DISTRIBUTIONS -n N --keep summary -o STORE.zarr, then schemerisk risk STORE.zarr",
    )
    design = unit_design(space, draws, args.seed or 0, args.sampler or "mc")
    with contextlib.ExitStack() as stack:
        out = _reserve(stack, args.output, args.overwrite) if write_cube else None
        cube = run_design(
            space,
            design,
            keep=keep,
            threads=args.threads,
            progress=False if args.no_progress else None,
            memoranda=out is not None,  # the report reads none of them; a written cube has them
            inputs=out is not None,  # nor the drawn inputs (remade if too many draws fail)
        )
        if out is not None:
            out.write_dataset(cube)
            print(f"wrote {args.output} (the outputs the risk report reads)", file=sys.stderr)
    print(
        f"{sc.title or sc.name}: {draws:,} projections, seed {args.seed or 0}, "
        f"{len(space.entries)} uncertain inputs ({space.source})\n",
        file=sys.stderr if args.json else sys.stdout,  # with --json, stdout holds only the JSON
    )
    return cube, space, design


def _bound_space(  # type: ignore[no-untyped-def]
    scenario: str, distributions: str | None, horizon: int | None, extend: str = "real"
):
    """Load a scenario (extended to ``horizon``) and bind its distributions, before any work.

    Without ``distributions``, a workbook's own Distributions sheet is used."""
    from schemerisk.model import compile_inputs
    from schemerisk.scenario import load_scenario
    from schemerisk.scenario.workbook import is_workbook
    from schemerisk.uncertainty.space import load_space

    if distributions is None:
        if not is_workbook(scenario):
            raise CliError(
                f"give the distributions of {scenario} (a file or built-in name); only a "
                "workbook (.xlsx) carries its own, on its Distributions sheet"
            )
        distributions = scenario
    sc = load_scenario(scenario)
    if horizon is not None:
        if horizon < 0:
            raise CliError(f"--horizon must be 0 or more, got {horizon}")
        sc = sc.with_horizon(horizon, amounts=extend)
    space = load_space(distributions, sc, compile_inputs(sc))
    _refuse_nonfinite(space)
    return sc, space


def _refuse_nonfinite(space) -> None:  # type: ignore[no-untyped-def]
    """Refuse, before any work, a study whose projection at the inputs' medians is not finite."""
    from schemerisk.analysis.risk import RISK_OUTPUTS
    from schemerisk.uncertainty.nonfinite import screen_projections

    screening = screen_projections(space, RISK_OUTPUTS)
    if screening.refuse:
        raise CliError(
            f"{space.scenario.source} with {space.source}: {screening.message()}: every "
            "projection would be unknown, so nothing was run. Check the scenario's amounts and "
            "rates and the distributions' parameters"
        )


def _load_study(args: argparse.Namespace, keep=None):  # type: ignore[no-untyped-def]
    """Scenario and distributions of a study command, validated before any work.

    ``keep``: the outputs the run will keep (None: the default set), for the memory check."""

    sc, space = _bound_space(args.scenario, args.distributions, args.horizon, args.extend)
    if args.base_samples < 2:
        raise CliError(f"-N must be at least 2, got {args.base_samples}")
    groups = len(space.groups())
    rows = args.base_samples * ((2 if getattr(args, "second_order", False) else 1) * groups + 2)
    _check_memory(rows, space, keep, True, "use a smaller base sample size (-N)")
    return sc, space


def _sobol(args: argparse.Namespace, space, second_order: bool = False, years=None):  # type: ignore[no-untyped-def]

    from schemerisk.analysis.sensitivity import SOBOL_OUTPUTS, PrecisionWarning, sobol_analysis

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
            keep=SOBOL_OUTPUTS,  # the indices read these alone
            inputs=False,  # nor the drawn inputs
            years=years,
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

    from schemerisk.analysis.sensitivity import SOBOL_OUTPUTS

    _, space = _load_study(args, SOBOL_OUTPUTS)
    year = _check_year(args.year, _scenario_years(space))  # before any work
    _check_xlsx(args.output)
    with contextlib.ExitStack() as stack:
        names = ["sobol_indices.csv"] + (["sobol_second_order.csv"] if args.second_order else [])
        tables = _reserve(stack, args.csv, args.overwrite, "tables", "--csv", tables=names)
        book = _reserve(stack, args.output, args.overwrite)
        return _sensitivity(args, space, year, tables, book)


def _sensitivity(args: argparse.Namespace, space, year: int, tables, book=None) -> int:  # type: ignore[no-untyped-def]
    from schemerisk.analysis.sensitivity import OUTPUT_LABELS

    # the table and the workbook hold every year; the screen shows one, so that year alone
    # is computed (the same indices, bit for bit) and its imprecise indices alone reported
    printed_only = tables is None and book is None
    res = _sobol(args, space, args.second_order, years=[year] if printed_only else None)
    ind = res.indices
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
        if "S2" in t:
            _print_second_order(t)
    if tables is not None:  # the report's format: one row per output, input and year
        from schemerisk.reports.html import sobol_frames

        frames = sobol_frames(ind, space.scenario.currency)
        for path in tables.write_tables(frames, index=False):
            print(f"\nwrote {args.csv / path.name}", file=sys.stderr)
    if book is not None:
        from schemerisk.workbook.results import sensitivity_workbook

        prov = _provenance(
            "schemerisk sensitivity", space.scenario, space=space, seed=args.seed, n_base=res.n_base
        )
        prov.n_draws = int(ind.attrs["n_runs"])
        book.write_workbook(sensitivity_workbook(ind, prov))
        print(f"wrote {args.output}", file=sys.stderr)
        if "S2" in ind:
            print(
                f"note: {args.output} holds the first- and total-order indices; the second-order "
                "ones are printed above, and written for every year by --csv DIR "
                "(sobol_second_order.csv)",
                file=sys.stderr,
            )
    return 0


#: how many pairs of inputs ``sensitivity --second-order`` prints for each output
SECOND_ORDER_SHOWN = 5


def _print_second_order(t) -> None:  # type: ignore[no-untyped-def]
    """The pairs of inputs with the largest second-order indices S2 of one output and year."""
    s2, conf, names = t.S2.values, t.S2_conf.values, [str(n) for n in t.input.values]
    pairs = [
        (float(s2[j, k]), float(conf[j, k]), names[j], names[k])
        for j in range(len(names))
        for k in range(j + 1, len(names))
        if np.isfinite(s2[j, k])
    ]
    pairs.sort(key=lambda p: -p[0])
    shown = pairs[:SECOND_ORDER_SHOWN]
    print(
        f"second order S2 (the share due to the pair's interaction alone): the {len(shown)} "
        f"largest of {len(pairs)} pairs"
    )
    for value, half, a, b in shown:
        print(f"{value:>10.3f} +- {half:.3f}  {a} x {b}")


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
    # a draw without a finite balance in the year is unknown: left out of the indices (its NaN
    # would spoil the balance's and count as "no deficit" in the deficit indicator)
    known = np.isfinite(cube["balance"].sel(year=year).values)
    total = int(known.size)
    n_unknown = total - int(known.sum())
    if known.sum() < 2:
        print(
            f"error: results not trustworthy: none of the {total:,} projections of {args.cube} "
            f"has a finite balance in {year} (an amount overflowed, or 0/0): they are all "
            "unknown, so no driver can be ranked",
            file=sys.stderr,
        )
        return EXIT_UNTRUSTWORTHY
    res = given_data_indices(  # delta ranks no deficit (given_data_indices says why)
        cube.isel(draw=np.flatnonzero(known)) if n_unknown else cube,
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
    used, n_known = res.attrs["n_draws"], res.attrs["n_draws_total"]
    if n_unknown:
        finite = f"the {n_known:,} draws with a finite balance in {year}"
        sub = f"the first {used:,} of {finite}" if used < n_known else f"all {finite}"
    else:
        sub = f"the first {used:,} of {total:,} draws" if used < total else f"all {total:,} draws"
    print(f"Drivers from {sub} of {args.cube}: {name}, {year}")
    if n_unknown:
        print(
            f"unknown: {n_unknown:,} of {total:,} projections have no finite balance in {year} "
            "(an amount overflowed, or 0/0); they are left out, not counted as 'no deficit'"
        )
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
        v = [
            f"{float(t['index'].sel(output=o)[i]):.3f}" if o in res.output.values else "-"
            for o in ("balance", "balance_share", "deficit")
        ]
        print(f"{t.input.values[i]!s:<36}{v[0]:>12}{v[1]:>17}{v[2]:>12}")
    if "deficit" not in res.output.values:
        print(
            "deficit: not given by delta, whose density estimate needs a continuous output (on "
            "the 0/1 deficit indicator it reads the same for every input); see --method pawn "
            "or schemerisk sensitivity"
        )
    import xarray as xr

    counts = xr.DataArray([n_unknown], dims="year", coords={"year": [year]})

    def suspects():  # type: ignore[no-untyped-def]
        from schemerisk.uncertainty.nonfinite import cube_suspects

        return cube_suspects(cube, years=[year])

    return _unknown_verdict(counts, total, suspects)


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
    sc, space = _bound_space(args.scenario, args.distributions, args.horizon, args.extend)
    n_start, n_max = _sobol_sizes(args)
    decision = _decision(args)
    year = _check_year(args.year, _scenario_years(space))
    if args.top < 1:
        raise CliError(f"--top must be at least 1, got {args.top}")
    _check_xlsx(args.output)
    with contextlib.ExitStack() as stack:  # the workbook checked and locked before any work
        book = _reserve(stack, args.output, args.overwrite)
        return _priorities(args, sc, space, decision, year, n_start, n_max, book)


def _priorities(args, sc, space, decision, year, n_start, n_max, book) -> int:  # type: ignore[no-untyped-def]
    from schemerisk.analysis.priorities import protection_sentence, shown_index
    from schemerisk.analysis.study import priority_study

    ps = priority_study(
        space,
        args.seed + 1,  # as the report: the Saltelli design uses seed + 1
        decision,
        n_start=n_start,
        n_max=n_max,
        threads=args.threads,
        progress=False if (args.no_progress or args.json) else None,
        # the JSON and the workbook hold every year; the screen one (the same ranking, bit for bit)
        years=None if (args.json or book is not None) else [year],
    )
    for w in ps.warnings:
        print(f"warning: {w}", file=sys.stderr)
    pri = ps.priorities
    if book is not None:
        from schemerisk.workbook.results import priorities_workbook

        prov = _provenance(
            "schemerisk priorities",
            sc,
            space=space,
            seed=args.seed,
            n_base=ps.sobol.n_base,
            n_draws=int(pri.voi.table.attrs["n_draws"]),
            notes=[f"loss: {decision.describe(sc.currency)}"],
        )
        book.write_workbook(priorities_workbook(ps.sobol.indices, pri.table, prov))
        print(f"wrote {args.output}", file=sys.stderr)
    if args.json:
        print(pri.to_json())
        return 0
    t = pri.table.sel(year=year)
    cur = sc.currency
    print(f"Which data to collect first, for the {year} premium decision")
    print(f"Loss: {decision.describe(cur)}.")
    print(
        f"Sobol' indices from a Saltelli design with N = {ps.sobol.n_base} "
        f"(doubled from {ps.sizes[0]} until the quoted indices were precise or N reached "
        f"{n_max}); "
        f"EVPPI from {int(pri.voi.table.attrs['n_draws']):,} projections."
    )
    evpi = float(pri.voi.table.evpi.sel(year=year)) / 1e6
    print(f"Value of perfect information on everything (EVPI): {evpi:,.1f} million {cur}\n")
    noisy = False

    def cells(name: str) -> str:
        nonlocal noisy
        r = t.sel(input=name)
        s1, st, note = shown_index(float(r.S1_balance), float(r.ST_balance))
        noisy = noisy or bool(note)
        mark = "*" if note else " "
        return (
            # a space before each figure: a large EVPPI and its s.e. never run together
            f"{name:<56} {float(r.evppi) / 1e6:>11,.1f} {float(r.evppi_se) / 1e6:>9,.1f}"
            f"{s1:>7.2f}{mark}{st:>6.2f}{mark}"
        )

    print("Data the scheme can collect, by EVPPI (what knowing it exactly is worth)")
    print(f"{'rank':>4}  {'input':<56}{'EVPPI (M)':>12}{'+- se':>10}{'S1':>7} {'ST':>6}")
    for name in pri.ranking(year):
        print(f"{int(t['rank'].sel(input=name)):>4}  {cells(name)}")
    print("\nEnvironment the scheme can only prepare for")
    for name in pri.environment(year):
        print(f"      {cells(name)}")
    if noisy:
        print(
            "* sampling noise put the estimates outside 0 <= S1 <= ST <= 1: shown clipped "
            "(the raw estimates: --json, noise_note)"
        )
    print()
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
        if path.with_name(path.name + ".partial").exists():
            raise CliError(
                f"{path}: not finished: the run writing it was interrupted or is still running "
                f"(its chunks so far are in {path.name}.partial); run the same 'schemerisk "
                "simulate' command again to finish it"
            )
        raise CliError(f"{path}: no such cube (write one with 'schemerisk simulate ... -o {path}')")
    if path.suffix.lower() == ".csv":  # a result of ours perhaps, but a table, not a cube
        raise CliError(
            f"{path}: a CSV table, not a cube; this command reads the netCDF file or Zarr "
            f"store of 'schemerisk simulate ... -o {path.stem}.nc' (or .zarr)"
        )
    try:
        cube = open_lazily(path) if lazy else open_dataset(path)
    except (OSError, ValueError) as exc:
        raise CliError(f"{path}: cannot be read as a netCDF file or Zarr store ({exc})") from None
    if summary_ok and _is_summary(cube):
        return cube
    if _is_summary(cube):  # summary_ok is False: this command needs the draws themselves
        raise CliError(
            f"{path}: a store of streaming summaries (simulate --keep summary), which keeps no "
            "draws; this command needs a cube of draws: schemerisk simulate ... -o CUBE.nc (or "
            ".zarr) without --keep summary"
        )
    missing = [v for v in ("balance", "premium_revenue") if v not in cube]
    if "draw" not in cube.dims or missing:
        extra = f"; missing {', '.join(missing)}" if missing else ""
        raise CliError(
            f"{path}: not a Monte Carlo cube (needs a 'draw' dimension and the variables balance and "
            f"premium_revenue{extra})"
        )
    if cube.attrs.get("update_method") == "importance sampling":  # weighted draws (issue 15)
        raise CliError(
            f"{path}: a posterior cube of 'schemerisk update' whose draws carry unequal weights "
            "(variable 'weight'); this command counts draws equally and would report the prior. "
            "Use the figures 'schemerisk update' prints, or write an equally weighted cube with "
            "'schemerisk update ... --method smc -o CUBE'"
        )
    return cube


def _report_pairs(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """(scenario, distributions) pairs of ``schemerisk report``.

    Without ``--distributions`` the positional arguments are ``[SCENARIO [DISTRIBUTIONS]]``;
    with it, every positional argument is a scenario, given one distributions file for all or
    one each.
    """
    sources = list(args.sources)
    if args.distributions_for is None:
        if len(sources) > 2:
            raise CliError(
                f"{len(sources)} files given: to compare scenarios, name their distributions with "
                f"--distributions (one for all, or one per scenario): schemerisk report "
                f"{' '.join(sources)} --distributions DISTRIBUTIONS -o {args.output}"
            )
        scenario = sources[0] if sources else "hai_phong_1993_1997"
        return [(scenario, sources[1] if len(sources) > 1 else None)]
    dists = list(args.distributions_for)
    if not sources:
        raise CliError("--distributions needs the scenarios to compare before it")
    if len(dists) == 1:
        dists = dists * len(sources)
    if len(dists) != len(sources):
        raise CliError(
            f"--distributions takes one file for all the scenarios or one per scenario: "
            f"{len(sources)} scenarios, {len(dists)} distributions files"
        )
    return list(zip(sources, dists, strict=True))


def cmd_report(args: argparse.Namespace) -> int:
    """``schemerisk report``: Monte Carlo, risk, Sobol' indices and priorities in one HTML page;
    with several scenarios, a page comparing them."""
    from schemerisk.analysis.study import run_study
    from schemerisk.model import compile_inputs
    from schemerisk.reports.html import (
        TABLE_FILES,
        key_messages,
        render_comparison,
        render_html,
        table_frames,
    )
    from schemerisk.scenario import load_scenario
    from schemerisk.uncertainty.space import load_space

    if args.output.suffix.lower() not in (".html", ".htm"):
        raise CliError(f"{args.output}: the report is an HTML page; give a name ending in .html")
    _check_xlsx(args.xlsx, "--xlsx")
    pairs = _report_pairs(args)
    if args.xlsx is not None and len(pairs) > 1:
        raise CliError(
            f"--xlsx {args.xlsx}: a workbook holds one scenario's results; write one report per "
            "scenario with --xlsx, or compare them without it"
        )
    bound = []
    for scenario, distributions in pairs:  # every file checked before any work
        sc = _extended(load_scenario(scenario), args)
        dist = distributions if distributions is not None else _own_distributions(scenario, sc)
        try:
            space = load_space(dist, sc, compile_inputs(sc))
        except FileNotFoundError:
            if distributions is None:
                raise CliError(
                    f"no built-in distributions file for scenario '{sc.name}'; give one: "
                    f"schemerisk report {scenario} DISTRIBUTIONS -o {args.output}"
                ) from None
            raise
        _refuse_nonfinite(space)
        bound.append((sc, space))
    if args.draws < 10:
        raise CliError(f"-n must be at least 10, got {args.draws}")
    n_sobol, n_sobol_max = _sobol_sizes(args)
    if not 0.0 < args.level < 1.0:
        raise CliError(f"--level must be strictly between 0 and 1, got {args.level}")
    if args.observed is not None and len(bound) > 1:
        raise CliError(
            "--observed: observations belong to one scenario; give one scenario with --observed, "
            "or compare scenarios without it"
        )
    observed = _observed_for_report(args, bound[0][1])
    decision = _decision(args)
    for _, space in bound:
        sobol_rows = n_sobol * (len(space.groups()) + 2)
        _check_memory(  # the Monte Carlo cube and the Saltelli cube, held together
            args.draws + sobol_rows,
            space,
            None,
            True,
            "use fewer projections (-n) or a smaller base sample size (-N)",
        )
    several = len(bound) > 1
    stack = contextlib.ExitStack()
    with stack:  # every destination checked and locked before any work
        page = _reserve(stack, args.output, args.overwrite, "html")
        book = _reserve(stack, args.xlsx, args.overwrite, "xlsx", "--xlsx")
        folders = [
            _reserve(
                stack,
                args.csv / sc.name if several else args.csv,
                args.overwrite,
                "tables",
                "--csv",
                tables=list(TABLE_FILES),
            )
            for sc, _ in (bound if args.csv is not None else [])
        ]
        updated = _update_for_report(args, bound[0][1], observed)
        studies = [
            run_study(
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
                # the page ranks the data for the last year; the tables and workbook every year
                priority_years=(
                    [sc.base_year + sc.horizon] if args.csv is None and args.xlsx is None else None
                ),
            )
            for sc, space in bound
        ]
        page.write_text(render_comparison(studies) if several else render_html(studies[0], updated))
        if book is not None:
            from schemerisk.workbook.results import study_workbook

            st = studies[0]
            prov = _provenance(
                "schemerisk report",
                st.scenario,
                space=st.space,
                seed=args.seed,
                n_draws=args.draws,
                sampler=args.sampler,
                n_base=None if st.sobol is None else st.sobol.n_base,
                notes=[f"loss: {decision.describe(st.scenario.currency)}"],
            )
            book.write_workbook(study_workbook(st, prov))
        written = [
            path
            for folder, study in zip(folders, studies, strict=False)  # no folders without --csv
            for path in folder.write_tables(table_frames(study), index=False)
        ]
    for study in studies:
        if several:
            print(f"{study.scenario.name}:")
        for line in key_messages(study):
            print(f"- {line}")
        for w in study.warnings:
            print(f"warning: {w}", file=sys.stderr)
    print(f"\nwrote {args.output}", file=sys.stderr)
    if args.xlsx is not None:
        print(f"wrote {args.xlsx}", file=sys.stderr)
    for path in written:
        shown = args.csv / path.relative_to(Path(args.csv).resolve()) if args.csv else path
        print(f"wrote {shown}", file=sys.stderr)
    return max(
        _unknown_verdict(
            study.risk.table["n_unknown"],
            study.risk.n_draws,
            lambda st=study: _suspects_of(st.cube),
        )
        for study in studies
    )


# --------------------------------------------------------------------------- schemerisk update
def cmd_update(args: argparse.Namespace) -> int:
    """``schemerisk update``: condition the uncertain inputs on what the scheme has observed."""
    from schemerisk.analysis.update import (
        format_update,
        read_observations,
        reference_projection,
        update,
    )

    _, space = _bound_space(args.scenario, args.distributions, args.horizon, args.extend)
    _check_output(args.output)
    if args.draws < 100:
        raise CliError(f"-n must be at least 100, got {args.draws}")
    if not 0.0 < args.level < 1.0:
        raise CliError(f"--level must be strictly between 0 and 1, got {args.level}")
    observations = read_observations(args.observed, reference_projection(space))
    with contextlib.ExitStack() as stack:
        out = _reserve(stack, args.output, args.overwrite)
        try:
            result = update(
                space,
                observations,
                args.draws,
                seed=args.seed,
                method=args.method,
                threads=args.threads,
                progress=False if args.no_progress else None,
            )
        except RuntimeError as exc:  # SMC could not reach the posterior: the errors are too small
            raise CliError(f"{args.observed}: {exc}") from None
        print(format_update(result, args.level))
        if out is not None:
            out.write_dataset(result.posterior)
            print(f"\nwrote {args.output}", file=sys.stderr)
    return 0


def _observed_for_report(args: argparse.Namespace, space):  # type: ignore[no-untyped-def]
    """The report's ``--observed`` file, checked before any work (None without one)."""
    from schemerisk.analysis.update import read_observations, reference_projection

    if args.observed is None:
        return None
    return read_observations(args.observed, reference_projection(space))


def _update_for_report(args: argparse.Namespace, space, observed):  # type: ignore[no-untyped-def]
    """The update the report's observations section shows (same draws and seed as the report)."""
    from schemerisk.analysis.update import update

    if observed is None:
        return None
    try:
        result = update(
            space,
            observed,
            args.draws,
            seed=args.seed,
            threads=args.threads,
            progress=False if args.no_progress else None,
        )
    except RuntimeError as exc:  # SMC could not reach the posterior
        raise CliError(f"{args.observed}: {exc}") from None
    print(f"- {result.describe()}")
    return result


def _update_parser(sub) -> None:  # type: ignore[no-untyped-def]
    p = sub.add_parser(
        "update", help="condition the uncertain inputs on observed years and update the risk"
    )
    _scenario_arg(p)
    p.add_argument(
        "distributions",
        nargs="?",
        help=f"distributions file (YAML) or built-in name: {_builtin('distributions')}; default "
        "for a workbook scenario: its Distributions sheet",
    )
    p.add_argument(
        "observed",
        type=Path,
        help="observations: CSV with columns year,output,value,rel_sd (or sd) and optional "
        "category,service; or a workbook (.xlsx) with those columns on its Observed sheet",
    )
    p.add_argument(
        "-n",
        "--draws",
        type=OPTIONS.DRAWS,
        default=20_000,
        help="number of projections (default 20000)",
    )
    p.add_argument("--seed", type=OPTIONS.SEED, default=0, help="the one seed (default 0)")
    p.add_argument(
        "--method",
        choices=["auto", "is", "smc"],
        default="auto",
        help="importance sampling, re-drawn by sequential Monte Carlo when the effective sample "
        "size is below 5%% of the draws (auto, the default); or always one of them",
    )
    p.add_argument(
        "-o", "--output", type=Path, help="write the posterior cube (.nc or .zarr) with its weights"
    )
    _overwrite_arg(p)
    _horizon_arg(p)
    _level_arg(p)
    p.add_argument("--threads", type=OPTIONS.THREADS, help="numba threads (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.set_defaults(func=cmd_update)

    p = sub.add_parser(
        "explore",
        help="what-if web app on this machine (127.0.0.1): move premiums, coverage and "
        "assumptions, watch the deficit risk (needs the 'explore' extra)",
    )
    _scenario_arg(p)
    p.add_argument(
        "distributions",
        help=f"distributions file (YAML) or built-in name: {_builtin('distributions')}",
    )
    p.add_argument(
        "--port", type=OPTIONS.PORT, default=8050, help="local port to serve on (default 8050)"
    )
    p.add_argument("--no-browser", action="store_true", help="do not open the browser")
    p.add_argument(
        "-n",
        "--draws",
        type=OPTIONS.DRAWS,
        default=20_000,
        help="number of projections, fixed for the session (default 20000)",
    )
    p.add_argument("--seed", type=OPTIONS.SEED, default=0, help="the one seed (default 0)")
    _horizon_arg(p)
    p.set_defaults(func=cmd_explore)


def cmd_explore(args: argparse.Namespace) -> int:
    """``schemerisk explore``: the what-if app (schemerisk.explore), on 127.0.0.1 until Ctrl+C."""
    import socket

    try:
        from schemerisk.explore.app import serve
    except ImportError as exc:
        raise CliError(str(exc)) from None
    try:
        import dash  # noqa: F401
    except ImportError:
        raise CliError(
            "schemerisk explore needs Dash, which is not installed: "
            "pip install 'schemerisk[explore]' (or pip install dash)"
        ) from None
    from schemerisk.explore.engine import Explorer

    with socket.socket() as probe:  # a busy port is bad input, said before the model runs
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind(("127.0.0.1", args.port))
        except OSError:
            raise CliError(
                f"--port {args.port}: the port is in use on 127.0.0.1; choose another"
            ) from None
    sc, space = _bound_space(args.scenario, args.distributions, args.horizon, args.extend)
    ex = Explorer(sc, space, n=args.draws, seed=args.seed)
    serve(ex, port=args.port, open_browser=not args.no_browser)
    return 0


def _check_output(path: Path | None, xlsx: bool = False) -> None:
    from schemerisk.io import SUFFIXES

    # the commands that also write their summaries as an Excel workbook take .xlsx too
    known = (*SUFFIXES, ".xlsx") if xlsx else SUFFIXES
    if path is not None and path.suffix.lower() not in known:
        raise CliError(
            f"{path}: unknown output format '{path.suffix}'; use one of {', '.join(known)}"
        )


#: the share of UNKNOWN_SHARE_LIMIT (schemerisk.uncertainty.nonfinite), as the help says it
_UNKNOWN_LIMIT_TEXT = "1 %"
#: the exit codes, as --help shows them (README, "Exit codes")
_EXIT_CODES = (
    f"exit codes: 0 done; {EXIT_FAILED} the work failed; {EXIT_INPUT} bad input (a file, a key, "
    "an option), or a projection that would not be finite even at the inputs' medians (refused "
    f"before any work); {EXIT_UNTRUSTWORTHY} results not trustworthy: more than "
    f"{_UNKNOWN_LIMIT_TEXT} of the projections have no finite balance in some year (an amount "
    "overflowed, or 0/0; they are shown as unknown, never as 'no deficit', and the inputs most "
    "associated with them are named); 130 interrupted."
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``schemerisk`` command."""
    parser = argparse.ArgumentParser(
        prog="schemerisk",
        description="Deficit risk of health insurance schemes: the WHO cost-sharing and premium "
        "simulation model (Carrin, Ron & Murray 1993) with an uncertainty layer.",
        epilog=f"Built-in scenarios: {_builtin('scenarios')}. Built-in distributions: "
        f"{_builtin('distributions')}. A built-in name works from any directory. {_EXIT_CODES}",
    )
    parser.add_argument("--version", action="version", version=f"schemerisk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("project", help="run the deterministic projection and print Sheet C")
    _scenario_arg(p)
    _output_arg(p, "Sheet C as a workbook")
    _horizon_arg(p)
    p.add_argument(
        "--scale",
        type=OPTIONS.SCALE,
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
        "--scale", type=OPTIONS.SCALE, default=1000.0, help="divide amounts by this in the tables"
    )
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser(
        "simulate", help="Monte Carlo: project the scenario under uncertain inputs into a cube"
    )
    _scenario_arg(p)
    p.add_argument(
        "distributions",
        nargs="?",
        help=f"distributions file (YAML) or built-in name: {_builtin('distributions')}; "
        "default for a workbook scenario: its Distributions sheet",
    )
    p.add_argument(
        "-n",
        "--draws",
        type=OPTIONS.DRAWS,
        default=10_000,
        help="number of projections (default 10000)",
    )
    p.add_argument("--seed", type=OPTIONS.SEED, default=0, help="the one seed (default 0)")
    p.add_argument(
        "--sampler",
        choices=["mc", "lhs", "sobol"],
        default="mc",
        help="plain Monte Carlo, Latin hypercube or scrambled Sobol' (default mc)",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write the cube: .nc or .zarr (or .csv, long format); or .xlsx: the summaries "
        "(balance fan, P(deficit) by year), not the cube",
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
        "--chunk-size",
        type=OPTIONS.CHUNK_SIZE,
        default=16_384,
        help="draws projected at once (default 16384)",
    )
    p.add_argument("--threads", type=OPTIONS.THREADS, help="numba threads (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.add_argument(
        "--workers",
        type=OPTIONS.WORKERS,
        metavar="K",
        help="run the chunks on a local dask cluster of K worker processes (needs -o STORE.zarr)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the chunks on an existing dask-distributed scheduler, e.g. tcp://host:8786 "
        "(the workers must see the output path)",
    )
    _overwrite_arg(p, "the output (for a chunked run: a store of a different run)")
    p.add_argument(
        "--dashboard",
        action="store_true",
        help="with --workers: open dask's dashboard, on this machine only (127.0.0.1); "
        "without it no dashboard is opened",
    )
    p.set_defaults(func=cmd_simulate)
    p = sub.add_parser(
        "risk",
        help="probability and size of deficits: from a cube, or simulated from a scenario",
        description="Probability and size of deficits, by year. A projection whose balance is not "
        "finite (an overflow, or 0/0) is unknown: left out of every figure of the year and "
        "counted in an 'unknown' column, never counted as 'no deficit'.",
        epilog=_EXIT_CODES,
    )
    p.add_argument(
        "source",
        metavar="CUBE|SCENARIO",
        help="a cube written by 'schemerisk simulate -o' (.nc or .zarr; a '--keep summary' store "
        "too), or a scenario "
        f"(file or built-in name: {_builtin('scenarios')}) followed by its distributions",
    )
    p.add_argument(
        "distributions",
        nargs="?",
        help="with a scenario: distributions file (YAML) or built-in name "
        f"({_builtin('distributions')}); the run keeps only "
        "what the report reads",
    )
    p.add_argument(
        "-n",
        "--draws",
        type=OPTIONS.DRAWS,
        help="with a scenario: number of projections (default 100000)",
    )
    p.add_argument("--seed", type=OPTIONS.SEED, help="with a scenario: the one seed (default 0)")
    p.add_argument(
        "--sampler", choices=["mc", "lhs", "sobol"], help="with a scenario: the design (default mc)"
    )
    _horizon_arg(p, "with a scenario: ")
    p.add_argument(
        "--threads", type=OPTIONS.THREADS, help="with a scenario: numba threads (default: all)"
    )
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="with a scenario: also write the run's cube (.nc or .zarr; risk outputs only); "
        "from a cube or a scenario: .xlsx writes the risk tables as an Excel workbook",
    )
    _overwrite_arg(p, "the -o cube")
    _level_arg(p)
    p.add_argument(
        "--adjust",
        choices=["flat-premiums", "contribution-rates", "all-premiums"],
        default="all-premiums",
        help="which premiums the required multiplier (and --premium-multiplier) scales",
    )
    p.add_argument(
        "--premium-multiplier",
        metavar="M|NAME=M,...",
        help="the risk with the --adjust premiums multiplied by M (1 = as planned): each "
        "balance becomes planned balance + (M - 1) x the revenue of those premiums, exact "
        "since revenue is proportional to premiums; the same figure as the report's slider. "
        "Per category: NAME=M,NAME=M (e.g. farmers=1.2,dependants=0.9) multiplies all of "
        "each named category's premiums (flat and contribution), others as planned; the same "
        "figure as the category controls of schemerisk explore",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print JSON instead of tables: stdout holds only the JSON (with units and the "
        "definitions of the deficit sizes), notes and progress go to stderr",
    )
    p.set_defaults(func=cmd_risk)
    p = sub.add_parser(
        "sensitivity", help="Sobol' indices: which assumptions drive the balance and deficits"
    )
    _study_args(
        p,
        n_help="base sample size N of the Saltelli design (default 1024; the model runs N (G+2) times)",
    )
    p.add_argument(
        "--second-order",
        action="store_true",
        help="also compute second-order indices S2 (the model runs N (2G+2) times): the "
        f"{SECOND_ORDER_SHOWN} largest pairs are printed, every pair goes into --csv's "
        "sobol_second_order.csv",
    )
    p.add_argument(
        "--year",
        type=OPTIONS.YEAR,
        help="year to print (default the last); only its indices are computed unless --csv "
        "or -o asks for every year's",
    )
    p.add_argument(
        "--csv",
        type=Path,
        metavar="DIR",
        help="write the indices of every year as CSV files into DIR (sobol_indices.csv, as "
        "the report writes it)",
    )
    _xlsx_arg(p, "the indices of every year")
    _overwrite_arg(p, "the CSV tables and the workbook")
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
    p.add_argument("--year", type=OPTIONS.YEAR, help="year to print (default the last)")
    p.add_argument(
        "--max-draws",
        type=OPTIONS.DRAWS,
        help="use at most this many draws of the cube (default 20000 for pawn, 2000 for delta; "
        "the output says how many were used)",
    )
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.set_defaults(func=cmd_drivers)

    p = sub.add_parser(
        "priorities", help="which data to collect first: Sobol' indices and value of information"
    )
    _study_args(p, n_help="starting base sample size N of the Saltelli design (default 1024)")
    _cost_args(p)
    p.add_argument(
        "--year", type=OPTIONS.YEAR, help="year of the decision to rank for (default the last)"
    )
    p.add_argument(
        "--top", type=OPTIONS.TOP, default=5, help="how many inputs to describe (default 5)"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print the full ranking (S1, ST, EVPPI and its s.e. per input and year) as JSON only",
    )
    _max_n_arg(p)
    _xlsx_arg(p, "the Sobol' indices and the ranking")
    _overwrite_arg(p, "the workbook")
    p.set_defaults(func=cmd_priorities)
    p = sub.add_parser(
        "report", help="the whole study as one self-contained HTML page (and CSV tables)"
    )
    p.add_argument(
        "sources",
        nargs="*",
        metavar="SCENARIO [DISTRIBUTIONS]",
        help=f"scenario file or built-in name ({_builtin('scenarios')}; default "
        "hai_phong_1993_1997) and its distributions file or built-in name "
        f"({_builtin('distributions')}; default: the built-in file of the same name as the scenario); "
        "with --distributions, every argument is a scenario and the page compares them",
    )
    p.add_argument(
        "--distributions",
        dest="distributions_for",
        nargs="+",
        metavar="DISTRIBUTIONS",
        help="compare the scenarios given: one distributions file for all, or one per scenario "
        "(schemerisk report A.yaml B.yaml --distributions D.yaml -o compare.html)",
    )
    p.add_argument(
        "-o", "--output", type=Path, required=True, help="the HTML report to write (.html)"
    )
    p.add_argument(
        "-n",
        "--draws",
        type=OPTIONS.REPORT_DRAWS,
        default=20_000,
        help="Monte Carlo draws (default 20000)",
    )
    p.add_argument(
        "-N",
        "--base-samples",
        type=OPTIONS.BASE_SAMPLES,
        default=1024,
        help="starting base sample size of the Saltelli design for the Sobol' indices (default 1024)",
    )
    _max_n_arg(p)
    p.add_argument("--seed", type=OPTIONS.SEED, default=0, help="the one seed (default 0)")
    p.add_argument(
        "--sampler", choices=["mc", "lhs", "sobol"], default="mc", help="Monte Carlo design"
    )
    _horizon_arg(p)
    _level_arg(p)
    _cost_args(p)
    p.add_argument(
        "--csv", type=Path, metavar="DIR", help="also write the report's tables as CSV into DIR"
    )
    p.add_argument(
        "--xlsx",
        type=Path,
        metavar="PATH",
        help="also write the results as an Excel workbook (.xlsx): Sheet C, the balance fan, "
        "P(deficit), Sobol' indices and priorities, with charts",
    )
    _overwrite_arg(p, "the report, its CSV tables and the workbook")
    p.add_argument("--threads", type=OPTIONS.THREADS, help="numba threads (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.add_argument(
        "--observed",
        type=Path,
        metavar="FILE",
        help="observations (CSV, as for 'schemerisk update'): add a section on what they change",
    )
    p.set_defaults(func=cmd_report)
    _update_parser(sub)
    _workbook_parsers(sub)
    return parser


def _cost_args(p: argparse.ArgumentParser) -> None:
    """Add the losses of the premium decision that the value of information weighs."""
    p.add_argument(
        "--deficit-cost",
        type=OPTIONS.COST,
        default=2.0,
        help="loss per unit of currency of deficit (default 2: emergency financing, arrears)",
    )
    p.add_argument(
        "--surplus-cost",
        type=OPTIONS.COST,
        default=1.0,
        help="loss per unit of currency of surplus, i.e. over-set premiums (default 1)",
    )


def _max_n_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-base-samples",
        type=OPTIONS.BASE_SAMPLES,
        default=8192,
        help="Sobol' base sample size N doubles from -N until the quoted indices are precise, "
        "up to this (default 8192)",
    )


def _own_distributions(scenario: str, sc) -> str:  # type: ignore[no-untyped-def]
    """A workbook's own Distributions sheet when it lists inputs, else the built-in by name."""
    from schemerisk.scenario.workbook import is_workbook, read_documents

    if is_workbook(scenario) and read_documents(scenario)[1] is not None:
        return scenario
    return str(sc.name)


def cmd_template(args: argparse.Namespace) -> int:
    """``schemerisk template``: a scenario as a workbook (Sheet A, Distributions, Correlations)."""
    from schemerisk.scenario.builtin import resolve_builtin, resolve_scenario
    from schemerisk.scenario.parse import load_scenario, load_yaml, read_input_text

    if args.output.suffix.lower() != ".xlsx":
        raise CliError(f"-o {args.output}: a template is an Excel workbook; end its name in .xlsx")
    path = resolve_scenario(args.scenario)
    sc = load_scenario(path)  # a template is only made of a valid scenario
    doc = load_yaml(read_input_text(path, "scenario"), str(path))
    dists = None
    dist_source = args.distributions
    if dist_source is None:
        try:
            dist_source = str(resolve_builtin(sc.name, "distributions"))
        except FileNotFoundError:
            dist_source = None
    if dist_source is not None:
        from schemerisk.uncertainty.space import load_space

        dpath = resolve_builtin(dist_source, "distributions")
        load_space(dpath, sc)  # checked against the scenario before anything is written
        dists = load_yaml(read_input_text(dpath, "distributions"), str(dpath), "distributions")
    _write_workbook(args.output, args.overwrite, doc, dists)
    print(
        f"wrote {args.output}: Sheet A ({sc.name}), Distributions "
        f"({dist_source or 'empty: no built-in distributions for this scenario'}), "
        "Correlations, Observed",
        file=sys.stderr,
    )
    return 0


def _write_workbook(output: Path, overwrite: bool, doc, dists) -> None:  # type: ignore[no-untyped-def]
    from schemerisk.output import reserve
    from schemerisk.scenario.workbook import write_workbook

    with reserve(output, "scenario_xlsx", overwrite=overwrite) as res:
        res.write_with(lambda p: write_workbook(p, doc, dists))


def cmd_convert(args: argparse.Namespace) -> int:
    """``schemerisk convert``: a scenario (and distributions) YAML <-> workbook."""
    from schemerisk.output import reserve
    from schemerisk.scenario.builtin import resolve_builtin, resolve_scenario
    from schemerisk.scenario.parse import load_scenario, load_yaml, read_input_text
    from schemerisk.scenario.workbook import is_workbook, read_documents, yaml_document

    src, out = args.input, args.output
    if is_workbook(src):
        if out.suffix.lower() not in (".yaml", ".yml"):
            raise CliError(f"{out}: a workbook converts to a YAML scenario; end its name in .yaml")
        sc = load_scenario(src)  # every problem reported at its cell before anything is written
        doc, dists = read_documents(src)
        if dists is not None:
            from schemerisk.uncertainty.space import load_space

            load_space(src, sc)
        if dists is not None and args.distributions is None:
            raise CliError(
                f"{src}: its Distributions sheet lists uncertain inputs: name their YAML file "
                f"too (--distributions FILE.yaml)"
            )
        outs = [(out, doc, "scenario")]
        if dists is not None and args.distributions is not None:
            outs.append((Path(args.distributions), dists, "distributions"))
        with contextlib.ExitStack() as stack:
            held = [
                (stack.enter_context(reserve(p, "scenario_yaml", overwrite=args.overwrite)), d, k)
                for p, d, k in outs
            ]
            for res, d, k in held:
                text = yaml_document(d, f"{k} converted from {src} by schemerisk convert")
                res.write_with(functools.partial(_write_text, text=text))
                print(f"wrote {res.target}", file=sys.stderr)
        return 0
    if out.suffix.lower() != ".xlsx":
        raise CliError(f"{out}: a YAML scenario converts to a workbook; end its name in .xlsx")
    path = resolve_scenario(src)
    sc = load_scenario(path)
    doc = load_yaml(read_input_text(path, "scenario"), str(path))
    dists = None
    if args.distributions is not None:
        from schemerisk.uncertainty.space import load_space

        dpath = resolve_builtin(args.distributions, "distributions")
        load_space(dpath, sc)
        dists = load_yaml(read_input_text(dpath, "distributions"), str(dpath), "distributions")
    _write_workbook(out, args.overwrite, doc, dists)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _workbook_parsers(sub) -> None:  # type: ignore[no-untyped-def]
    p = sub.add_parser(
        "template",
        help="write a scenario as an Excel workbook to edit (Sheet A, Distributions, Correlations)",
    )
    p.add_argument(
        "scenario",
        nargs="?",
        default="hai_phong_1993_1997",
        help=f"scenario file or built-in name (default hai_phong_1993_1997): {_builtin('scenarios')}",
    )
    p.add_argument(
        "--distributions",
        help="distributions for the Distributions sheet (default: the built-in of the same name)",
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="the workbook (.xlsx)")
    _overwrite_arg(p)
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("convert", help="convert a scenario YAML <-> Excel workbook (.xlsx)")
    p.add_argument("input", help="a scenario (YAML file or built-in name) or a workbook (.xlsx)")
    p.add_argument("output", type=Path, help="the workbook (.xlsx) or YAML scenario to write")
    p.add_argument(
        "--distributions",
        help="YAML to workbook: the distributions to put on its Distributions sheet; workbook "
        "to YAML: the YAML file to write its Distributions and Correlations sheets to",
    )
    _overwrite_arg(p)
    p.set_defaults(func=cmd_convert)


def _study_args(p: argparse.ArgumentParser, n_help: str) -> None:
    _scenario_arg(p)
    p.add_argument(
        "distributions",
        nargs="?",
        help=f"distributions file (YAML) or built-in name: {_builtin('distributions')}; "
        "default for a workbook scenario: its Distributions sheet",
    )
    p.add_argument("-N", "--base-samples", type=OPTIONS.BASE_SAMPLES, default=1024, help=n_help)
    p.add_argument("--seed", type=OPTIONS.SEED, default=0, help="the one seed (default 0)")
    _horizon_arg(p)
    p.add_argument("--threads", type=OPTIONS.THREADS, help="numba threads (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")


_PACKAGE_DIR = Path(__file__).resolve().parent


def _show_warning(  # type: ignore[no-untyped-def]
    previous, message, category, filename, lineno, file=None, line=None
) -> None:
    """Show a warning of schemerisk's code as ``warning: <message>``, like the errors.

    Python's own format adds the file, line and source of the call that warned,
    which means nothing to a user; a warning raised elsewhere (a library's) is shown
    by ``previous``, as before.
    """
    if Path(filename).resolve().is_relative_to(_PACKAGE_DIR):  # not a sibling 'schemerisk_x'/
        print(f"warning: {message}", file=sys.stderr if file is None else file)
    else:
        previous(message, category, filename, lineno, file, line)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``schemerisk`` command line and return its exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for bad input, 1 when the work failed, 3 when the results are not
        trustworthy (too many non-finite projections), 130 when interrupted.
    """
    from schemerisk.output import OutputError

    parser = build_parser()
    args = parser.parse_args(argv)
    if hasattr(args, "no_progress"):  # a command that may compile the kernel
        from schemerisk.model import kernel

        # a first run's "preparing the model" line goes where the progress bars go
        quiet = args.no_progress or getattr(args, "json", False)
        kernel.compile_notice = False if quiet else None
    try:
        with warnings.catch_warnings():  # ours as one line, as the errors are
            warnings.showwarning = functools.partial(_show_warning, warnings.showwarning)
            return int(args.func(args))
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
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
    except MemoryError:  # a last resort: runs are checked against the memory available first
        print(
            "error: the run ran out of memory (other programs may have taken what was free when "
            "it started); use fewer projections, or --keep summary or --workers",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except BrokenPipeError:  # output piped into 'head' and the like: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def run() -> None:
    """The ``schemerisk`` console command: :func:`main`, then a quick exit with its code.

    Once a command has finished, Python's own shutdown (tearing down every module
    and freeing every object, numba's and LLVM's included) took 0.15-0.3 s on the
    project's 2-core machine: as long as a whole ``schemerisk project``. It does
    nothing a user would see, so the process ends as soon as the output is flushed
    and the exit handlers (``atexit``) have run, with ``os._exit``. Every file the
    command writes is closed (and renamed into place) before :func:`main` returns.
    With another thread still running (a dask cluster's, say), or when the flush
    fails, Python exits the usual way.
    """
    code = main()
    import atexit
    import threading

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe, a closed stream: the usual way
        sys.exit(code)
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
