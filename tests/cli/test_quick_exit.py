"""The console command ends with os._exit once its output is flushed (cli.run).

Python's own shutdown took 0.15-0.3 s after every command (issue 13); ``run``
skips it, and must lose nothing: the exit code, everything printed, the exit
handlers' work, and a thread still running (which makes it exit the usual way).
Each case runs in a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH", "")) if p),
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_command_keeps_its_code_and_output(tmp_path: Path) -> None:
    argv = ["risk", "hai_phong_1993_1997", "hai_phong_1993_1997", "-n", "2000", "--no-progress"]
    quick = _python(
        f"import sys; sys.argv[1:] = {argv!r}; from schemerisk.cli import run; run()", tmp_path
    )
    usual = _python(
        f"import sys; from schemerisk.cli import main; sys.exit(main({argv!r}))", tmp_path
    )
    assert quick.returncode == usual.returncode == 0, quick.stderr + usual.stderr
    assert quick.stdout == usual.stdout and "P(at least one deficit" in quick.stdout
    assert quick.stderr == usual.stderr
    bad = _python(
        "import sys; sys.argv[1:] = ['validate', 'nope.yaml']; from schemerisk.cli import run; run()",
        tmp_path,
    )
    assert bad.returncode == 2 and "nope.yaml" in bad.stderr


def test_exit_handlers_run_and_the_code_is_kept(tmp_path: Path) -> None:
    code = """
import atexit
from pathlib import Path
atexit.register(lambda: Path("handled").write_text("yes"))
from schemerisk import cli
cli.main = lambda: 3
print("printed before the exit", end="")
cli.run()
"""
    done = _python(code, tmp_path)
    assert done.returncode == 3
    assert done.stdout == "printed before the exit"  # buffered, and flushed
    assert (tmp_path / "handled").read_text() == "yes"


def test_a_thread_still_running_makes_it_exit_the_usual_way(tmp_path: Path) -> None:
    code = """
import threading, time
from pathlib import Path
from schemerisk import cli
def late():
    time.sleep(0.5)
    Path("finished").write_text("yes")
threading.Thread(target=late).start()
cli.main = lambda: 0
cli.run()
"""
    done = _python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "finished").read_text() == "yes"  # os._exit would have cut it short
