"""Wall time, CPU time and peak memory of the commands of issue 13, against a baseline revision.

Each command runs in a fresh interpreter (``python -m schemerisk.cli ...``)
under ``/usr/bin/time``, which reports the child's own wall clock, user and
system CPU seconds and maximum resident set size. The baseline revision is
extracted with ``git archive`` into a temporary directory and run from there
(``PYTHONPATH`` set to its ``src``), alternately with this checkout, so both
see the same load. Every command first runs once per version unmeasured, so
each version's numba cache and Python bytecode cache are warm, as they are
for an installed package (``PYTHONDONTWRITEBYTECODE`` is unset for the runs;
``project, cold`` runs with an empty ``NUMBA_CACHE_DIR`` every time). The script also checks
that both versions print the same standard output.

Usage (from the repository root or this folder)::

    python benchmarks/bench_commands.py                      # 3 alternating rounds
    python benchmarks/bench_commands.py --rounds 5 --cold    # also `project` with an empty cache
    python benchmarks/bench_commands.py --quick              # 10^5 draws, N = 2^11 (smoke)
    python benchmarks/bench_commands.py --only risk          # one command
    python benchmarks/bench_commands.py --json c.json        # every run's figures too
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import _machine

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIO = "hai_phong_1993_1997"


def commands(quick: bool) -> dict[str, list[str]]:
    """The command lines measured (arguments after ``python -m schemerisk.cli``)."""
    n = "100000" if quick else "1000000"
    big_n = "2048" if quick else "16384"
    return {
        "risk": ["risk", SCENARIO, SCENARIO, "-n", n, "--horizon", "10", "--no-progress"],
        "sensitivity": [
            *("sensitivity", SCENARIO, SCENARIO, "-N", big_n, "--horizon", "10"),
            "--no-progress",
        ],
        "project": ["project", SCENARIO],
    }


def run_once(
    root: Path, argv: list[str], env_extra: dict[str, str], scratch: Path
) -> dict[str, Any]:
    """One fresh-process run under /usr/bin/time: wall s, CPU s, max RSS MB, stdout."""
    env = _machine.child_env(root / "src", **env_extra)
    timing = scratch / "time.txt"
    timer = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(timing)]
    proc = subprocess.run(
        [*timer, sys.executable, "-m", "schemerisk.cli", *argv],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
    )
    wall, user, system, rss_kb = timing.read_text().split()[-4:]
    return {
        "returncode": proc.returncode,
        "wall_s": float(wall),
        "cpu_s": float(user) + float(system),
        "max_rss_mb": int(rss_kb) / 1024,
        "stdout": proc.stdout.replace(str(root), "<root>"),  # file paths name the checkout
        "stderr_tail": proc.stderr[-400:],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="ad28bd2", help="revision to compare with (git archive)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (median taken)")
    ap.add_argument("--quick", action="store_true", help="small runs (smoke test)")
    ap.add_argument("--cold", action="store_true", help="also `project` with an empty numba cache")
    ap.add_argument("--only", action="append", help="measure only this command (repeatable)")
    ap.add_argument("--json", type=Path, help="write every run's figures here")
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error(f"--rounds must be at least 1, got {args.rounds}")
    m = _machine.machine()
    cmds = commands(args.quick)
    names = args.only or list(cmds)
    unknown = [n for n in names if n not in cmds]
    if unknown:
        ap.error(f"--only: unknown command(s) {unknown}; choose from {sorted(cmds)}")
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_commands_") as tmp:
        tmp_path = Path(tmp)
        base_root = _machine.extract_revision(args.baseline, tmp_path / "baseline")
        versions = {"baseline": base_root, "this": ROOT}
        scratch = tmp_path / "scratch"
        scratch.mkdir()
        plan = [(n, cmds[n], {}) for n in names]
        if args.cold and "project" in names:
            plan.append(("project, cold", cmds["project"], {"cold": "1"}))
        for name, cmd, extra in plan:
            runs[name] = {v: [] for v in versions}
            if not extra:  # warm each version's numba cache (and the page cache) once
                for root in versions.values():
                    run_once(root, cmd, {}, scratch)
            for r in range(args.rounds):
                order = list(versions) if r % 2 == 0 else list(versions)[::-1]
                for v in order:
                    env: dict[str, str] = {}
                    if extra:
                        cache = tmp_path / f"numba_cache_{v}_{r}"
                        cache.mkdir()
                        env["NUMBA_CACHE_DIR"] = str(cache)
                    res = run_once(versions[v], cmd, env, scratch)
                    runs[name][v].append(res)
                    print(
                        f"  {name:<14} round {r + 1} {v:<8} {res['wall_s']:7.2f} s wall "
                        f"{res['cpu_s']:7.2f} s CPU {res['max_rss_mb']:8.0f} MB "
                        f"(rc {res['returncode']}, load {_machine.load_average()})",
                        file=sys.stderr,
                    )
    m["load_end"] = _machine.load_average()
    print("\n".join(_machine.machine_lines(m)))
    print(
        f"\nCommands: this checkout against {args.baseline}, median of {args.rounds} alternating "
        "rounds, each run a fresh process (/usr/bin/time)"
    )
    print(
        f"  {'command':<14}{'version':<10}{'wall s':>9}{'CPU s':>9}{'max RSS MB':>12}"
        f"{'wall ratio':>12}  same stdout"
    )
    for name, by_version in runs.items():
        med = {
            v: {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "cpu_s", "max_rss_mb")}
            for v, rs in by_version.items()
        }
        same = all(
            a["stdout"] == b["stdout"]
            for a, b in zip(by_version["baseline"], by_version["this"], strict=True)
        )
        codes = {r["returncode"] for rs in by_version.values() for r in rs}
        for v in ("baseline", "this"):
            ratio = med["baseline"]["wall_s"] / med[v]["wall_s"] if v == "this" else None
            print(
                f"  {name:<14}{v:<10}{med[v]['wall_s']:>9.2f}{med[v]['cpu_s']:>9.2f}"
                f"{med[v]['max_rss_mb']:>12.0f}"
                + (f"{ratio:>11.2f}x  {'yes' if same else 'NO'}" if ratio else "")
                + ("" if codes == {0} else f"  exit codes {sorted(codes)}")
            )
    print("  command lines: " + "; ".join(" ".join(cmds[n]) for n in names))
    if args.json:
        for by_version in runs.values():
            for rs in by_version.values():
                for r in rs:
                    r.pop("stdout")
        args.json.write_text(json.dumps({"machine": m, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
