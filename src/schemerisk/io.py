"""Writing results to disk without ever leaving a half-written file that looks complete.

Writing goes through the one writer, :mod:`schemerisk.output` (checked and
locked destinations, written aside and swapped into place); this module keeps
the long CSV format and the readers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr

SUFFIXES = (".nc", ".zarr", ".csv")


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


def write_dataset(ds: xr.Dataset, target: str | Path, *, overwrite: bool = False) -> Path:
    """Write a result to ``.nc`` (netCDF), ``.zarr`` (Zarr store) or ``.csv`` (long format).

    The work is done by the one writer, :func:`schemerisk.output.write_dataset`:
    the destination is checked and locked, the result is written aside and
    swapped into place, and an existing destination is replaced only when it is
    a schemerisk result and ``overwrite`` is given.

    Parameters
    ----------
    ds : xarray.Dataset
        The result.
    target : str or Path
        The output path; its extension chooses the format.
    overwrite : bool
        Replace an existing schemerisk result of the same kind.

    Returns
    -------
    Path
        The path written (absolute).

    Raises
    ------
    schemerisk.output.OutputError
        For an extension other than ``.nc``, ``.zarr`` or ``.csv``, a
        destination that is refused, or a write that failed (full disk).
    """
    from schemerisk.output import OutputError, kind_of
    from schemerisk.output import write_dataset as write

    if kind_of(target) == "html":
        raise OutputError(f"{target}: a result is written as .nc, .zarr or .csv, not HTML")
    return write(ds, target, overwrite=overwrite)


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
    from schemerisk.output import STAMP

    path = Path(path)
    if path.suffix.lower() == ".zarr" or path.name.lower().endswith(".zarr.partial"):
        ds = xr.open_zarr(path, consolidated=True)
        _check_complete(ds, path)
    else:
        ds = xr.open_dataset(path)
    ds.attrs.pop(STAMP, None)  # the writer's mark on the file, not part of the result
    return ds


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
