"""The ``schemerisk`` command line.

Every command reads and validates its inputs before any work starts; bad input
gets a message naming the file, the key and what was expected, and a non-zero
exit code, never a Python traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

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
    p.add_argument(
        "--horizon", type=int, help="years after the base year (default: the scenario's own)"
    )
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

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


#: functions that add further sub-commands (set by later stages: simulate, risk, ...)
_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
