"""Start-up: what the light commands import, and when numba's cache is checked (issue 13).

``schemerisk --help``, ``validate`` and ``project`` must not import scipy.stats,
dask or matplotlib (each adds from 0.5 to 1 s to every command), and importing
the kernel must not touch numba's cache: checking it against the files the
kernel is built from is a step :func:`~schemerisk.model.kernel.run_kernel`
takes, not an import side effect. Each case runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("scipy.stats", "dask", "matplotlib")

PROBE = """
import json, sys
from schemerisk.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def run_python(code: str, env: dict[str, str] | None = None) -> str:
    """stdout of a fresh interpreter running ``code`` with this test's schemerisk."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    environ = {**os.environ, **(env or {})}
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (src, environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["validate", "hai_phong_1993_1997"], ["project", "hai_phong_1993_1997"]],
    ids=["help", "validate", "project"],
)
def test_light_commands_import_no_heavy_module(argv: list[str]) -> None:
    out = run_python(PROBE.format(argv=argv, heavy=HEAVY))
    imported = json.loads(out.strip().splitlines()[-1])
    assert imported == [], f"schemerisk {' '.join(argv)} imported {imported}"


def test_a_monte_carlo_risk_run_imports_no_scipy_stats() -> None:
    """The built-in study's draws all have closed-form or table-based inverse CDFs.

    Importing scipy.stats took 0.3 s of ``risk -n 10^6`` (issue 13's target: 3 s);
    a distribution is frozen in scipy.stats only when it is first needed
    (:class:`~schemerisk.uncertainty.families.Frozen`).
    """
    argv = ["risk", "hai_phong_1993_1997", "hai_phong_1993_1997", "-n", "2000", "--no-progress"]
    out = run_python(PROBE.format(argv=argv, heavy=HEAVY))
    imported = json.loads(out.strip().splitlines()[-1])
    assert imported == [], f"schemerisk {' '.join(argv)} imported {imported}"


def test_importing_the_kernel_leaves_the_cache_alone(tmp_path: Path) -> None:
    """The import writes nothing; the explicit check (run_kernel's first step) notes the sources."""
    code = """
import os
from pathlib import Path
from schemerisk.model import kernel
cache = Path(os.environ["NUMBA_CACHE_DIR"])
print(sorted(p.name for p in cache.rglob("*") if p.is_file()))
print(kernel.check_kernel_cache())
print(sorted(p.name for p in cache.rglob(kernel._DEPENDENCY_MARKER)))
"""
    out = run_python(code, {"NUMBA_CACHE_DIR": str(tmp_path)}).strip().splitlines()
    assert out[0] == "[]"  # no file written or flushed by the import (numba makes the folder)
    assert out[1] == "True"  # no note of the sources yet: treated as stale
    assert out[2] == "['schemerisk-kernel-dependencies.sha256']"


def test_project_compiles_nothing_and_leaves_numba_unimported(tmp_path: Path) -> None:
    """``project`` runs the kernel's stages as plain Python: no numba, nothing compiled.

    On an empty numba cache a first ``schemerisk project`` took 18.5 s, 16.6 s
    of it compiling the kernel (``benchmarks/bench_commands.py --cold``), and
    importing numba took 0.7 s of every cached run.
    """
    code = """
import json, os, sys
from pathlib import Path
from schemerisk.cli import main
code = main(["project", "hai_phong_1993_1997"])
cache = Path(os.environ["NUMBA_CACHE_DIR"])
print(json.dumps([code, "numba" in sys.modules, sorted(p.name for p in cache.rglob("*.nb*"))]))
"""
    out = run_python(code, {"NUMBA_CACHE_DIR": str(tmp_path)})
    code, numba_imported, cached = json.loads(out.strip().splitlines()[-1])
    assert "Balance" in out  # Sheet C was printed
    assert (code, numba_imported, cached) == (0, False, [])


def test_one_compiled_projection_compiles_no_lane_stage(tmp_path: Path) -> None:
    """One draw on the compiled kernel compiles the scalar stages only.

    The lane stages doubled the compile time of a first projection (25 s
    against 17 s on the project's machine); one draw never runs them.
    """
    code = """
import json, os
from pathlib import Path
from schemerisk.model.kernel import run_kernel
from schemerisk.model.layout import compile_inputs
from schemerisk.scenario import load_scenario
run_kernel(compile_inputs(load_scenario("hai_phong_1993_1997")), compiled=True)
cache = Path(os.environ["NUMBA_CACHE_DIR"])
print(json.dumps(sorted(p.name.split("-")[0] for p in cache.rglob("*.nbc"))))
"""
    out = run_python(code, {"NUMBA_CACHE_DIR": str(tmp_path)})
    compiled = json.loads(out.strip().splitlines()[-1])
    assert "kernel.services_and_costs" in compiled  # the scalar stages were compiled and cached
    assert not [name for name in compiled if "lane" in name or "_project_block" in name]
