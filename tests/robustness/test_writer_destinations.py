"""Output destinations of every writing command: refused before any work with one clear
message, nothing left behind, nothing of the user's touched (schemerisk.output)."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

from schemerisk.cli import main
from schemerisk.io import open_dataset, write_dataset
from schemerisk.model import project
from schemerisk.output import GENERATOR, PARTIAL_MARKER, OutputError, reserve

SC = "hai_phong_1993_1997"


@pytest.fixture(scope="module")
def result() -> xr.Dataset:
    """The Annex II projection."""
    return project(SC)


def snapshot(root: Path) -> dict[str, object]:
    """Every path under ``root`` (links not followed) with its bytes or link target."""
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_file():
                out[rel] = p.read_bytes()
            else:
                out[rel] = "dir"
    return out


def _user_folder_zarr(tmp: Path) -> None:
    (tmp / "data.zarr").mkdir()
    (tmp / "data.zarr" / "thesis.txt").write_text("three years of work")


def _symlink_zarr(tmp: Path) -> None:
    _user_folder_zarr(tmp)
    (tmp / "link.zarr").symlink_to(tmp / "data.zarr")


def _folder_named_nc(tmp: Path) -> None:
    (tmp / "x.nc").mkdir()
    (tmp / "x.nc" / "notes.txt").write_text("mine")


def _regular_file(tmp: Path) -> None:
    (tmp / "afile").write_text("not a folder")


def _user_nc(tmp: Path) -> None:
    xr.Dataset({"a": ("x", [1.0, 2.0])}).to_netcdf(tmp / "r.nc")  # not ours: no stamp


def _user_csv(tmp: Path) -> None:
    (tmp / "r.csv").write_text("name,amount\nrent,100\n")


def _our_nc(tmp: Path) -> None:
    write_dataset(project(SC), tmp / "r.nc")


def _user_html(tmp: Path) -> None:
    (tmp / "r.html").write_text("<html><body>my own page</body></html>")


def _file_named_csv_dir(tmp: Path) -> None:
    (tmp / "tables").write_text("a file, not a folder")


def _user_table(tmp: Path) -> None:
    (tmp / "tables").mkdir()
    (tmp / "tables" / "sobol_indices.csv").write_text("my numbers\n1,2\n")


@dataclass(frozen=True)
class Case:
    """One refused destination."""

    name: str
    setup: Callable[[Path], None]
    argv: list[str]  # {tmp} is replaced by the test folder
    mentions: tuple[str, ...]  # the message names these (path, option)


SIMULATE = ["simulate", SC, SC, "-n", "20", "--no-progress"]
REPORT = ["report", SC, SC, "-n", "20", "-N", "8", "--max-base-samples", "8", "--no-progress"]
SENSITIVITY = ["sensitivity", SC, SC, "-N", "8", "--no-progress"]

CASES = [
    Case(
        "user folder with --overwrite",
        _user_folder_zarr,
        ["project", SC, "-o", "{tmp}/data.zarr", "--overwrite"],
        ("data.zarr", "not written by schemerisk", "-o"),
    ),
    Case(
        "user folder, chunked run with --overwrite",
        _user_folder_zarr,
        [*SIMULATE, "--keep", "summary", "-o", "{tmp}/data.zarr", "--overwrite"],
        ("data.zarr", "not written by schemerisk"),
    ),
    Case(
        "symlink to a user folder",
        _symlink_zarr,
        ["project", SC, "-o", "{tmp}/link.zarr", "--overwrite"],
        ("link.zarr", "symbolic link"),
    ),
    Case(
        "symlink, chunked run",
        _symlink_zarr,
        [*SIMULATE, "--keep", "summary", "-o", "{tmp}/link.zarr", "--overwrite"],
        ("link.zarr", "symbolic link"),
    ),
    Case(
        "folder named x.nc",
        _folder_named_nc,
        ["project", SC, "-o", "{tmp}/x.nc"],
        ("x.nc", "folder", "not a netCDF file"),
    ),
    Case(
        "under a regular file",
        _regular_file,
        ["project", SC, "-o", "{tmp}/afile/r.nc"],
        ("afile", "is a file, not a folder"),
    ),
    Case(
        "a user's netCDF file with --overwrite",
        _user_nc,
        ["solve", SC, "-o", "{tmp}/r.nc", "--overwrite"],
        ("r.nc", "not written by schemerisk"),
    ),
    Case(
        "a user's CSV file with --overwrite",
        _user_csv,
        [*SIMULATE, "-o", "{tmp}/r.csv", "--overwrite"],
        ("r.csv", "not written by schemerisk"),
    ),
    Case(
        "our result without --overwrite",
        _our_nc,
        ["project", SC, "-o", "{tmp}/r.nc"],
        ("r.nc", "--overwrite"),
    ),
    Case(
        "risk -o onto our result without --overwrite",
        _our_nc,
        ["risk", SC, SC, "-n", "20", "--no-progress", "-o", "{tmp}/r.nc"],
        ("r.nc", "--overwrite"),
    ),
    Case(
        "unknown format",
        lambda tmp: None,
        ["project", SC, "-o", "{tmp}/r.ods"],
        ("r.ods", ".nc"),
    ),
    Case(
        "report onto a user's page",
        _user_html,
        [*REPORT, "-o", "{tmp}/r.html", "--overwrite"],
        ("r.html", "not written by schemerisk"),
    ),
    Case(
        "report --csv onto an existing file: no r.html left",
        _file_named_csv_dir,
        [*REPORT, "-o", "{tmp}/r.html", "--csv", "{tmp}/tables"],
        ("--csv", "tables", "not a folder"),
    ),
    Case(
        "report --csv over a user's table",
        _user_table,
        [*REPORT, "-o", "{tmp}/r.html", "--csv", "{tmp}/tables", "--overwrite"],
        ("--csv", "sobol_indices.csv", "not written by schemerisk"),
    ),
    Case(
        "sensitivity --csv over a user's table",
        _user_table,
        [*SENSITIVITY, "--csv", "{tmp}/tables", "--overwrite"],
        ("--csv", "sobol_indices.csv"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_refused_before_any_work(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    case.setup(tmp_path)
    before = snapshot(tmp_path)

    code = main([a.replace("{tmp}", str(tmp_path)) for a in case.argv])

    out = capsys.readouterr()
    assert code == 2, out.err
    assert "Traceback" not in out.err
    assert out.err.startswith("error: ") and out.err.count("error: ") == 1
    for word in case.mentions:
        assert word in out.err, (word, out.err)
    assert out.out == ""  # refused before any work: nothing was computed or printed
    assert snapshot(tmp_path) == before  # nothing left behind, nothing of the user's touched


def test_read_only_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: make the permission check see what a user sees
        real = os.access
        monkeypatch.setattr(
            "schemerisk.output.os.access",
            lambda p, mode: False if Path(p) == folder else real(p, mode),
        )
    try:
        code = main(["project", SC, "-o", str(folder / "r.nc")])
        err = capsys.readouterr().err
        assert code == 2
        assert "Traceback" not in err
        assert str(folder) in err and "read-only" in err
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("suffix", [".nc", ".zarr", ".csv"])
def test_overwrite_replaces_only_our_result(result, tmp_path: Path, capsys, suffix: str) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / f"r{suffix}"
    assert main(["project", SC, "-o", str(target)]) == 0
    first = snapshot(tmp_path)
    assert main(["project", SC, "-o", str(target)]) == 2  # kept without --overwrite
    assert snapshot(tmp_path) == first
    assert main(["project", SC, "--horizon", "6", "-o", str(target), "--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no lock, no aside
    if suffix != ".csv":
        assert open_dataset(target).sizes["year"] == 7  # the new result is in place


def test_overwrite_of_a_page_and_tables_replaces_only_ours(tmp_path: Path) -> None:
    page = f"<!DOCTYPE html><html><head>{GENERATOR}</head><body>old</body></html>"
    table = pd.DataFrame({"year": [1993], "p_deficit": [0.25]}).set_index("year")
    with reserve(tmp_path / "r.html") as res:
        res.write_text(page)
    with reserve(tmp_path / "t", "tables", option="--csv") as res:
        res.write_tables({"deficit_risk.csv": table})
    (tmp_path / "t" / "mine.csv").write_text("my own\n")
    with pytest.raises(OutputError, match="--overwrite"):
        with reserve(tmp_path / "r.html"):
            pass
    with pytest.raises(OutputError, match=r"deficit_risk\.csv already exists"):
        with reserve(tmp_path / "t", "tables", tables=["deficit_risk.csv"]):
            pass

    with reserve(tmp_path / "r.html", overwrite=True) as res:
        res.write_text(page.replace("old", "new"))
    with reserve(tmp_path / "t", "tables", overwrite=True, tables=["deficit_risk.csv"]) as res:
        res.write_tables({"deficit_risk.csv": table * 2})

    assert "new" in (tmp_path / "r.html").read_text()
    assert (tmp_path / "t" / "deficit_risk.csv").read_text().splitlines() == [
        "year,p_deficit",
        "1993,0.5",
    ]
    assert (tmp_path / "t" / "mine.csv").read_text() == "my own\n"  # the user's file stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "t"]
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["deficit_risk.csv", "mine.csv"]


def test_leftovers_of_killed_runs_are_removed_and_others_kept(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    old_layout = tmp_path / ".r.nc.k2j4.partial"  # an earlier version's: holds only r.nc
    old_layout.mkdir()
    (old_layout / "r.nc").write_bytes(b"half")
    marked = tmp_path / ".r.nc.x9z1.partial"
    marked.mkdir()
    (marked / PARTIAL_MARKER).write_text("ours")
    (marked / "r.nc").write_bytes(b"half")
    foreign = tmp_path / ".r.nc.mine.partial"  # same pattern, but a user's folder
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("keep me")

    assert main(["project", SC, "-o", str(tmp_path / "r.nc")]) == 0

    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".r.nc.mine.partial", "r.nc"]
    assert (foreign / "thesis.txt").read_text() == "keep me"


def test_an_old_result_set_aside_by_a_killed_swap_is_put_back(result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_dataset(result, tmp_path / "elsewhere.zarr")
    aside = tmp_path / ".r.zarr.q1.partial"
    (aside / "old").mkdir(parents=True)
    (aside / PARTIAL_MARKER).write_text("ours")
    os.rename(tmp_path / "elsewhere.zarr", aside / "old" / "r.zarr")

    with pytest.raises(OutputError, match="--overwrite"):  # the old store is back, and kept
        write_dataset(result, tmp_path / "r.zarr")

    xr.testing.assert_identical(open_dataset(tmp_path / "r.zarr"), result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.zarr"]


def test_a_second_writer_is_refused(result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "r.nc"
    with reserve(target) as first:
        with pytest.raises(OutputError, match="another schemerisk run is writing") as err:
            write_dataset(result, target)
        assert err.value.exit_code == 1
        first.write_dataset(result)
    xr.testing.assert_identical(open_dataset(target), result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]  # the lock file is gone


@pytest.mark.parametrize("suffix", [".nc", ".zarr", ".csv"])
def test_full_disk_says_so_and_leaves_nothing(
    result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, suffix: str
) -> None:  # type: ignore[no-untyped-def]
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    owner = {".nc": "to_netcdf", ".zarr": "to_zarr", ".csv": None}[suffix]
    if owner:
        monkeypatch.setattr(xr.Dataset, owner, full)
    else:
        monkeypatch.setattr("pandas.DataFrame.to_csv", full)

    code = main(["project", SC, "-o", str(tmp_path / f"r{suffix}")])

    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert "no space left on the device" in err and f"r{suffix}" in err
    assert list(tmp_path.iterdir()) == []


def test_a_real_full_disk(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A 1 MiB tmpfs (needs root and mount(8)): netCDF's "HDF error" is reported as a full disk."""
    disk = tmp_path / "small"
    disk.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True
        ).returncode
        == 0
    )
    if not mounted:
        pytest.skip("cannot mount a small tmpfs here (needs root); covered by the ENOSPC test")
    try:
        for suffix in (".nc", ".zarr"):
            code = main(
                [*SIMULATE[:3], "-n", "3000", "--no-progress", "-o", str(disk / f"c{suffix}")]
            )
            err = capsys.readouterr().err
            assert code == 1, err
            assert "Traceback" not in err
            assert "no space left on the device" in err and f"c{suffix}" in err
            assert list(disk.iterdir()) == []  # nothing that looks complete, nothing at all
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_risk_of_a_cube_accepts_no_overwrite_and_refuses_it_given(
    result, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    """--overwrite belongs to the simulated run's -o; reading a cube writes nothing."""
    cube = tmp_path / "c.nc"
    assert main(["risk", SC, SC, "-n", "20", "--no-progress", "-o", str(cube)]) == 0
    assert main(["risk", str(cube)]) == 0
    capsys.readouterr()
    assert main(["risk", str(cube), "--overwrite"]) == 2
    assert "--overwrite only apply" in capsys.readouterr().err


def _late_writer(aside: Path, seconds: float) -> Callable[[], None]:
    """A writer's thread still adding chunks to ``aside/c.zarr/balance`` after its run failed."""
    import time

    def write() -> None:
        stop, i = time.monotonic() + seconds, 0
        while time.monotonic() < stop:
            try:  # only inside folders that still exist, as a store's chunk writer does
                (aside / "c.zarr" / "balance" / str(i)).write_bytes(b"chunk")
            except OSError:
                pass
            i += 1

    return write


def test_an_aside_is_removed_while_a_writer_still_finishes(tmp_path: Path) -> None:
    """On a full disk Zarr's threads may still write chunks after the error: nothing stays.

    With one removal alone (``_REMOVE_WAIT_S = 0``, what ``write_aside`` did before)
    the folder stayed in 2 rounds of the 5, in each of three runs on this machine.
    """
    import threading

    from schemerisk import output

    left = 0
    for _ in range(5):
        aside = output.make_aside(tmp_path / "c.zarr")
        (aside / "c.zarr" / "balance").mkdir(parents=True)
        writer = threading.Thread(target=_late_writer(aside, 0.05))
        writer.start()
        output.remove_aside(aside)
        writer.join()
        left += aside.exists()
    assert left == 0
