"""Writing results to disk without ever leaving a half-written file that looks complete.

Every writer writes to a temporary name beside the target and renames it at the
end; an interrupted or failed run leaves the previous file (if any) untouched
and no partial one under the final name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import xarray as xr

SUFFIXES = (".nc", ".zarr", ".csv")


@contextlib.contextmanager
def atomic_path(target: str | Path, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` only on success.

    Parameters
    ----------
    target : str or Path
        The final file or folder.
    directory : bool
        True when the output is a folder (a Zarr store).

    Yields
    ------
    Path
        Where to write.
    """
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=parent))
    work = tmp / target.name
    try:
        yield work
        if directory:
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            os.replace(work, target)
        else:
            os.replace(work, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def to_long_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Return every variable of ``ds`` as one long table.

    Columns: ``variable``, the dimension coordinates (``draw``, ``year``,
    ``category``, ``service`` where present), ``value`` and ``units``.

    Parameters
    ----------
    ds : xarray.Dataset
        A result.

    Returns
    -------
    pandas.DataFrame
        One row per value.
    """
    frames = []
    for name, da in ds.data_vars.items():
        df = da.reset_coords(drop=True).to_dataframe(name="value").reset_index()
        df.insert(0, "variable", name)
        df["units"] = da.attrs.get("units", "")
        frames.append(df)
    usual = [d for d in ("draw", "year", "category", "service") if d in ds.dims]
    cols = ["variable", *usual, *[str(d) for d in ds.dims if d not in usual], "value", "units"]
    out = pd.concat(frames, ignore_index=True)
    return out.reindex(columns=cols)


def write_dataset(ds: xr.Dataset, target: str | Path) -> Path:
    """Write a result to ``.nc`` (netCDF), ``.zarr`` (Zarr store) or ``.csv`` (long format).

    Parameters
    ----------
    ds : xarray.Dataset
        The result.
    target : str or Path
        The output path; its extension chooses the format.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ValueError
        For an extension other than ``.nc``, ``.zarr`` or ``.csv``.
    """
    target = Path(target)
    suffix = target.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"{target}: unknown output format '{suffix}'; use one of {', '.join(SUFFIXES)}"
        )
    if suffix == ".zarr":
        with atomic_path(target, directory=True) as work:
            ds.to_zarr(work, mode="w", zarr_format=2, consolidated=True)
    elif suffix == ".nc":
        with atomic_path(target) as work:
            ds.to_netcdf(work)
    else:
        with atomic_path(target) as work:
            to_long_frame(ds).to_csv(work, index=False)
    return target


def open_dataset(path: str | Path) -> xr.Dataset:
    """Open a result written by :func:`write_dataset` (netCDF or Zarr), fully loaded.

    Parameters
    ----------
    path : str or Path
        A ``.nc`` file or ``.zarr`` store.

    Returns
    -------
    xarray.Dataset
        The result, in memory.

    Raises
    ------
    ValueError
        For a Zarr store of a chunked run that is not finished (its attribute
        ``schemerisk_complete`` is 0): run the same command again to finish it.
    """
    with open_lazily(path) as ds:
        return ds.load()


def open_lazily(path: str | Path) -> xr.Dataset:
    """Open a result written by :func:`write_dataset` without loading it (for large cubes).

    Parameters
    ----------
    path : str or Path
        A ``.nc`` file or ``.zarr`` store.

    Returns
    -------
    xarray.Dataset
        The result; values are read when used.

    Raises
    ------
    ValueError
        For an unfinished Zarr store, as :func:`open_dataset`.
    """
    path = Path(path)
    if path.suffix.lower() == ".zarr":
        ds = xr.open_zarr(path, consolidated=True)
        _check_complete(ds, path)
        return ds
    return xr.open_dataset(path)


#: attribute of a store written chunk by chunk: 1 once every chunk is in
COMPLETE_ATTR = "schemerisk_complete"


def _check_complete(ds: xr.Dataset, path: Path) -> None:
    """Refuse a store of a chunked run that is not finished."""
    if COMPLETE_ATTR in ds.attrs and int(ds.attrs[COMPLETE_ATTR]) != 1:
        raise ValueError(
            f"{path}: incomplete store: the run that writes it was interrupted or is still "
            "running (attribute schemerisk_complete = 0); run the same 'schemerisk simulate' "
            "command again to compute the missing chunks"
        )
