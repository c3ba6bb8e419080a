"""Writing results: netCDF, Zarr and long CSV round trips, and atomic writes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from schemerisk.io import open_dataset, to_long_frame, write_dataset
from schemerisk.model import project
from schemerisk.output import OutputError


@pytest.fixture(scope="module")
def result() -> xr.Dataset:
    """The Annex II projection, Hai Phong 1993-1997."""
    return project("hai_phong_1993_1997")


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if "partial" in p.name]


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_round_trip_is_identical(result: xr.Dataset, tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"hai_phong{suffix}"

    written = write_dataset(result, target)
    back = open_dataset(written)

    assert written == target
    assert target.is_dir() if suffix == ".zarr" else target.is_file()
    xr.testing.assert_identical(back, result)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_overwrite_replaces_the_old_result(result: xr.Dataset, tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"hai_phong{suffix}"
    write_dataset(result, target)
    newer = result.assign(balance=result.balance * 2)

    with pytest.raises(OutputError, match="add --overwrite"):  # never replaced by default
        write_dataset(newer, target)
    xr.testing.assert_identical(open_dataset(target), result)
    write_dataset(newer, target, overwrite=True)

    xr.testing.assert_identical(open_dataset(target), newer)
    assert _leftovers(tmp_path) == []


def test_csv_long_format(result: xr.Dataset, tmp_path: Path) -> None:
    target = tmp_path / "hai_phong.csv"

    write_dataset(result, target)
    df = pd.read_csv(target)

    dims = ["year", "category", "service", "tier", "payment_method"]
    assert list(df.columns) == ["variable", *dims, "value", "units"]
    # every value has its own row: the dimension columns identify it
    assert not df.duplicated(["variable", *dims]).any()
    # one row per value of every variable, nothing dropped or repeated
    assert len(df) == sum(da.size for da in result.data_vars.values())
    assert set(df["variable"]) == set(result.data_vars)
    assert not df.duplicated(["variable", *dims]).any()

    balance = df[df["variable"] == "balance"].set_index("year").sort_index()
    assert list(balance.index) == [1993, 1994, 1995, 1996, 1997]
    assert balance["category"].isna().all() and balance["service"].isna().all()
    assert set(balance["units"]) == {"VND/yr"}
    np.testing.assert_allclose(balance["value"], result["balance"].values, rtol=1e-15, atol=0)

    members = df[df["variable"] == "members"]
    assert len(members) == result.sizes["year"] * result.sizes["category"]
    assert members["service"].isna().all()
    farmers_1997 = members[(members["year"] == 1997) & (members["category"] == "farmers")]
    assert math.isclose(
        farmers_1997["value"].item(),
        float(result["members"].sel(year=1997, category="farmers")),
        rel_tol=1e-15,
    )
    assert set(members["units"]) == {"persons"}

    services = df[df["variable"] == "services"]
    assert set(services["service"]) == {str(s) for s in result.service.values}
    assert services["category"].isna().all()


def test_long_frame_matches_every_variable(result: xr.Dataset) -> None:
    """The long table carries each variable's values and units exactly."""
    frame = to_long_frame(result)
    for name, da in result.data_vars.items():
        rows = frame[frame["variable"] == name]
        assert set(rows["units"]) == {da.attrs.get("units", "")}, name
        np.testing.assert_array_equal(
            np.sort(rows["value"].to_numpy(dtype=float)),
            np.sort(da.values.astype(float).ravel()),
            err_msg=name,
        )


def test_unknown_suffix_is_refused(result: xr.Dataset, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"unknown output format '\.ods'"):
        write_dataset(result, tmp_path / "out.ods")
    assert list(tmp_path.iterdir()) == []


# --- atomic writes -----------------------------------------------------------------------


class InjectedWriteError(RuntimeError):
    """The failure injected part way through a write."""


def _failing_netcdf(self: xr.Dataset, path: object = None, *args: object, **kw: object) -> None:
    Path(str(path)).write_bytes(b"\x89HDF\r\n\x1a\n half a file")
    raise InjectedWriteError("disk full")


def _failing_zarr(self: xr.Dataset, store: object = None, *args: object, **kw: object) -> None:
    folder = Path(str(store))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".zgroup").write_text('{"zarr_format": 2}')
    raise InjectedWriteError("disk full")


def _failing_csv(self: pd.DataFrame, path: object = None, *args: object, **kw: object) -> None:
    Path(str(path)).write_text("variable,year\nbalance,1993\n")
    raise InjectedWriteError("disk full")


FAILURES = {
    ".nc": (xr.Dataset, "to_netcdf", _failing_netcdf),
    ".zarr": (xr.Dataset, "to_zarr", _failing_zarr),
    ".csv": (pd.DataFrame, "to_csv", _failing_csv),
}


@pytest.mark.parametrize("suffix", list(FAILURES))
def test_failed_write_leaves_no_file(
    result: xr.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    owner, method, failing = FAILURES[suffix]
    monkeypatch.setattr(owner, method, failing)
    target = tmp_path / f"out{suffix}"

    with pytest.raises(InjectedWriteError):
        write_dataset(result, target)

    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no .partial file or folder left behind


@pytest.mark.parametrize("suffix", list(FAILURES))
def test_failed_write_keeps_the_older_file(
    result: xr.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    target = tmp_path / f"out{suffix}"
    write_dataset(result, target)
    before = {p.relative_to(tmp_path): p.read_bytes() for p in _files(tmp_path)}
    owner, method, failing = FAILURES[suffix]
    monkeypatch.setattr(owner, method, failing)

    with pytest.raises(InjectedWriteError):
        write_dataset(result.assign(balance=result.balance * 0), target, overwrite=True)

    after = {p.relative_to(tmp_path): p.read_bytes() for p in _files(tmp_path)}
    assert after == before  # byte for byte, and nothing added
    assert _leftovers(tmp_path) == []
    monkeypatch.undo()
    if suffix != ".csv":
        xr.testing.assert_identical(open_dataset(target), result)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_interrupted_write_leaves_no_file(
    result: xr.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during a write (KeyboardInterrupt is not an Exception) cleans up too."""

    def interrupted(self: xr.Dataset, path: object = None, *args: object, **kw: object) -> None:
        Path(str(path)).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", interrupted)
    target = tmp_path / "out.nc"

    with pytest.raises(KeyboardInterrupt):
        write_dataset(result, target)

    assert list(tmp_path.iterdir()) == []


def test_write_into_new_folder(result: xr.Dataset, tmp_path: Path) -> None:
    target = tmp_path / "runs" / "1997" / "hai_phong.nc"

    write_dataset(result, target)

    xr.testing.assert_identical(open_dataset(target), result)
    assert sorted(p.name for p in target.parent.iterdir()) == ["hai_phong.nc"]
