"""The one writer of results: every file or folder schemerisk saves goes through here.

The rules, for every command and format (netCDF, Zarr, CSV, HTML):

* **Checked before any work.** :func:`reserve` checks a destination before the
  run starts: its folder can be written, nothing on the way is a regular file,
  it is not a symbolic link, and whatever is already there is handled by the
  rule below. All destinations of a command are reserved before any work.
* **The rule for an existing destination.** Without ``overwrite`` any existing
  destination is refused, naming it and saying what to do. With ``overwrite``
  only a schemerisk result *of the same kind* is replaced (:func:`is_ours`: the
  ``written_by`` attribute of a netCDF file or Zarr store, the generator meta
  tag of an HTML page, the header of a CSV file). Anything else -- a user's
  folder or file, a link, a file of another kind -- is never replaced or
  deleted, with or without ``overwrite``.
  An Excel workbook is ours when its document properties say creator
  ``schemerisk`` and subject ``results`` (:func:`workbook_marked`).
* **Write aside, then swap.** A result is written under a hidden name beside
  the destination (``.NAME.XXXX.partial/NAME``) and moved onto it only when
  complete; a folder is exchanged atomically where the system allows
  (``renameat2(RENAME_EXCHANGE)`` on Linux). An interruption at any point leaves
  the old result or the new one, never half of one.
* **One writer at a time.** A reservation holds a lock (:mod:`filelock`) on
  ``.NAME.lock`` beside the destination from the check until the result is in
  place; a second writer is refused at once.
* **Leftovers.** Holding the lock, a reservation removes the hidden
  ``.NAME.*.partial`` folders that killed runs left behind (each carries the
  marker file ``.schemerisk-partial``, or holds nothing but ``NAME``), and puts
  back an old result that a run killed half-way through a swap had set aside.
* **Full disk.** A write that fails for lack of space raises
  :class:`OutputError` saying "no space left on the device" and naming the
  path; nothing is left that looks complete.
* **CSV cells.** Text cells that a spreadsheet would run as a formula (they
  begin with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or a null)
  are prefixed with a single quote (:func:`escape_formulas`); numbers stay
  numbers.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from schemerisk import __version__

#: global attribute that marks a netCDF file or Zarr store as written by schemerisk
STAMP = "written_by"
#: attributes that mark a result of an earlier version as ours
LEGACY_STAMPS = ("schemerisk_version", "version_schemerisk", "schemerisk_complete")
#: marker file inside every aside folder: proves a leftover is ours
PARTIAL_MARKER = ".schemerisk-partial"
#: the meta tag of every HTML page written by schemerisk
GENERATOR = f'<meta name="generator" content="schemerisk {__version__}">'
#: exit code of a destination refused before work (bad option)
EXIT_REFUSED = 2
#: exit code of a write that failed (full disk, a busy destination)
EXIT_FAILED = 1
#: what each suffix holds
KINDS = {
    ".nc": "netcdf",
    ".zarr": "zarr",
    ".csv": "csv",
    ".html": "html",
    ".htm": "html",
    ".xlsx": "xlsx",
}
#: how each kind is named in messages
NOUNS = {
    "netcdf": "netCDF file",
    "zarr": "Zarr store (a folder)",
    "csv": "CSV file",
    "html": "HTML page",
    "tables": "folder of CSV tables",
    "xlsx": "Excel workbook",
    "scenario_xlsx": "scenario workbook",
    "scenario_yaml": "YAML file",
}
#: the other kind of file of ours a destination of a kind may hold (the same suffix)
_KIN = {"xlsx": "scenario_xlsx", "scenario_xlsx": "xlsx"}
_KIN_NOUNS = {"xlsx": "results workbook", "scenario_xlsx": "scenario workbook (a template)"}
#: the document properties that mark an Excel workbook as ours: creator, and subject by kind
#: (``results`` for what schemerisk computed, ``scenario`` for a scenario template)
WORKBOOK_CREATOR = "schemerisk"
WORKBOOK_SUBJECT = "results"
#: a write failing while this little space is left is reported as a full disk
FULL_DISK_BYTES = 1 << 20
#: first characters that make a spreadsheet run a cell as a formula (OWASP)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


class OutputError(Exception):
    """A destination refused before work, or a write that failed; one message, no traceback.

    Parameters
    ----------
    message : str
        Names the path (and the option) and says what to do.
    exit_code : int
        :data:`EXIT_REFUSED` (2) for a destination refused before any work,
        :data:`EXIT_FAILED` (1) for a write that failed.
    """

    def __init__(self, message: str, exit_code: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def kind_of(path: str | Path) -> str:
    """The kind of result a path's suffix asks for.

    Parameters
    ----------
    path : str or Path
        A destination.

    Returns
    -------
    str
        ``"netcdf"``, ``"zarr"``, ``"csv"``, ``"html"`` or ``"xlsx"``.

    Raises
    ------
    OutputError
        For any other suffix.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in KINDS:
        known = ", ".join(s for s in KINDS if s != ".htm")
        raise OutputError(f"{path}: unknown output format '{suffix}'; use one of {known}")
    return KINDS[suffix]


# --- recognising our own results ----------------------------------------------------------

#: header of the long CSV format of :func:`schemerisk.io.to_long_frame`
_LONG_HEADER = re.compile(r"^variable(,[A-Za-z_][A-Za-z0-9_]*)*,value,units$")
#: header of a table written by :meth:`Reservation.write_tables`: identifiers, each with an
#: optional ``[unit]`` (the report's tables: ``p_deficit [1]``)
_TABLE_HEADER = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*( \[[^,\[\]]*\])?(,[A-Za-z_][A-Za-z0-9_]*( \[[^,\[\]]*\])?)*$"
)


def _stamped(attrs: Mapping[str, Any]) -> bool:
    mark = str(attrs.get(STAMP, ""))
    return mark.startswith("schemerisk") or any(k in attrs for k in LEGACY_STAMPS)


def _first_line(path: Path, limit: int = 4096) -> str:
    with open(path, "rb") as fh:
        head = fh.read(limit)
    return head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace")


def is_ours(path: str | Path, kind: str) -> bool:
    """Whether ``path`` is a schemerisk result of ``kind`` (and so may be replaced).

    Parameters
    ----------
    path : str or Path
        An existing file or folder.
    kind : str
        ``"netcdf"``, ``"zarr"``, ``"csv"``, ``"html"``, ``"xlsx"`` or ``"table"``
        (a CSV table of a report: its header is made of identifiers only).

    Returns
    -------
    bool
        True only for a regular file (or, for Zarr, a real folder) that carries
        the mark of its kind; never for a symbolic link.
    """
    p = Path(path)
    if p.is_symlink():
        return False
    try:
        if kind == "zarr":
            if not p.is_dir():
                return False
            zattrs = p / ".zattrs"
            if not zattrs.is_file():
                return False
            return _stamped(json.loads(zattrs.read_text(encoding="utf-8")))
        if not p.is_file():
            return False
        if kind == "netcdf":
            with xr.open_dataset(p, cache=False) as ds:
                return _stamped(ds.attrs)
        if kind == "html":
            with open(p, "rb") as fh:
                head = fh.read(8192).decode("utf-8", errors="replace")
            return re.search(r'<meta name="generator" content="schemerisk[ "]', head) is not None
        if kind == "xlsx":
            return workbook_marked(p)
        if kind == "scenario_xlsx":
            return workbook_marked(p, "scenario")
        if kind == "scenario_yaml":  # the mark ``schemerisk convert`` writes on the first line
            return _first_line(p).startswith("# written by schemerisk")
        if kind == "csv":
            return _LONG_HEADER.match(_first_line(p)) is not None
        if kind == "table":
            return _TABLE_HEADER.match(_first_line(p)) is not None
    except (OSError, ValueError, RuntimeError, KeyError):
        return False
    raise ValueError(f"unknown kind {kind!r}")


def workbook_marked(path: str | Path, subject: str = WORKBOOK_SUBJECT) -> bool:
    """Whether the ``.xlsx`` file at ``path`` is a workbook schemerisk wrote, of ``subject``.

    Reads only the workbook's core properties (``docProps/core.xml`` of the
    Office Open XML package, ECMA-376 Part 2, section 11): ``dc:creator`` must be
    :data:`WORKBOOK_CREATOR` and ``dc:subject`` must be ``subject``. A file that
    is not a readable zip package with those properties is not ours.

    Parameters
    ----------
    path : str or Path
        An existing file.
    subject : str
        ``"results"`` (default) or ``"scenario"`` (a template).

    Returns
    -------
    bool
        True only when both properties match.
    """
    import zipfile
    from xml.etree import ElementTree

    dc = "{http://purl.org/dc/elements/1.1/}"
    try:
        with zipfile.ZipFile(path) as zf, zf.open("docProps/core.xml") as fh:
            root = ElementTree.parse(fh).getroot()
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return False
    creator = (root.findtext(f"{dc}creator") or "").strip()
    found = (root.findtext(f"{dc}subject") or "").strip()
    return creator == WORKBOOK_CREATOR and found == subject


# --- checking a destination ---------------------------------------------------------------


def _describe_errno(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on the device"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (the folder is read-only for you)"
    return exc.strerror or str(exc)


def _check_parents(target: Path, option: str) -> None:
    """Refuse a destination under a regular file or in a folder that cannot be written."""
    for parent in target.parents:
        if os.path.lexists(parent):
            if not parent.is_dir():
                raise OutputError(
                    f"{option} {target}: cannot be written: {parent} is a file, not a folder"
                )
            if not os.access(parent, os.W_OK | os.X_OK):
                raise OutputError(
                    f"{option} {target}: cannot be written: the folder {parent} is read-only "
                    "(permission denied); choose a folder you can write to"
                )
            return


def check_destination(
    path: str | Path,
    kind: str,
    *,
    overwrite: bool,
    option: str = "-o",
    existing_ok: bool = False,
) -> Path:
    """Check a destination before any work; return it as an absolute path.

    Parameters
    ----------
    path : str or Path
        The destination the user gave.
    kind : str
        ``"netcdf"``, ``"zarr"``, ``"csv"``, ``"html"`` or ``"tables"`` (a folder
        that CSV tables are written into).
    overwrite : bool
        Whether the user allowed replacing a schemerisk result.
    option : str
        The option that gave the path, for messages (``-o``, ``--csv``).
    existing_ok : bool
        Accept an existing result of ours without ``overwrite`` (a chunked run
        that resumes or finds its own finished store decides for itself).

    Returns
    -------
    Path
        The absolute path (relative paths are resolved against this process's
        working folder, once, here).

    Raises
    ------
    OutputError
        Naming the path and the option, saying what to do.
    """
    target = Path(os.path.abspath(path))
    noun = NOUNS[kind]
    _check_parents(target, option)
    if target.is_symlink():
        raise OutputError(
            f"{option} {target}: is a symbolic link; schemerisk never writes through or replaces "
            "a link: give the real path or another name"
        )
    if not target.exists():
        return target
    if kind == "tables":
        if not target.is_dir():
            raise OutputError(
                f"{option} {target}: is a file, not a folder; give a folder for the CSV tables"
            )
        if not os.access(target, os.W_OK | os.X_OK):
            raise OutputError(f"{option} {target}: the folder is read-only (permission denied)")
        return target
    wants_dir = kind == "zarr"
    if target.is_dir() != wants_dir:
        what = "a folder" if target.is_dir() else "a file"
        raise OutputError(
            f"{option} {target}: {what} of that name already exists and is not a {noun}; "
            "schemerisk never replaces it: choose another name"
        )
    if not is_ours(target, kind):
        # a file of ours of another kind (a template where results go) is kept all the same
        other = _KIN.get(kind)
        if other is not None and is_ours(target, other):
            raise OutputError(
                f"{option} {target}: already exists and is a schemerisk {_KIN_NOUNS[other]}, "
                f"not a {_KIN_NOUNS[kind]}; one never replaces the other, even with "
                "--overwrite: move it away or choose another name"
            )
        raise OutputError(
            f"{option} {target}: already exists and was not written by schemerisk; it is never "
            "replaced or deleted, even with --overwrite: move it away or choose another name"
        )
    if not overwrite and not existing_ok:
        raise OutputError(
            f"{option} {target}: already exists (a schemerisk {noun}); add --overwrite to replace "
            "it (the old result stays in place until the new one is complete), or choose "
            "another name"
        )
    return target


# --- locks and leftovers ------------------------------------------------------------------


def lock_path(target: Path) -> Path:
    """The lock file of a destination: ``.NAME.lock`` beside it."""
    return target.with_name(f".{target.name}.lock")


def partial_store(target: Path) -> Path:
    """Where a chunked run writes its Zarr store until every chunk is in: ``NAME.partial``.

    Plain xarray cannot mistake it for the finished store: the finished name
    does not exist until the run is complete.
    """
    return target.with_name(f"{target.name}.partial")


@contextlib.contextmanager
def hold_lock(target: Path, option: str = "-o") -> Iterator[None]:
    """Hold the lock of ``target``; refuse at once if another writer holds it.

    The lock file is removed (while still held, so that a waiting process sees
    it gone and retries on a new file) before the lock is released.
    """
    from filelock import FileLock, Timeout

    path = lock_path(target)
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OutputError(
            f"{option} {target}: another schemerisk run is writing it now (it holds {path}); "
            "wait for it to finish, or choose another name",
            EXIT_FAILED,
        ) from None
    except OSError as exc:
        raise OutputError(
            f"{option} {target}: cannot be written in {target.parent}: {_describe_errno(exc)}"
        ) from None
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        lock.release()


def _provably_ours(aside: Path, name: str) -> bool:
    if aside.is_symlink() or not aside.is_dir():
        return False
    entries = {p.name for p in aside.iterdir()}
    return PARTIAL_MARKER in entries or entries <= {name}


def clean_leftovers(target: Path) -> list[Path]:
    """Remove what killed runs left beside ``target``; call it holding the lock.

    A hidden ``.NAME.*.partial`` folder is removed when it is provably ours
    (it carries :data:`PARTIAL_MARKER` or holds nothing but ``NAME``). One that
    holds the previous result set aside during a swap (``old/NAME``) is moved
    back first when ``target`` itself is missing.

    Parameters
    ----------
    target : Path
        The destination (absolute).

    Returns
    -------
    list of Path
        What was removed.
    """
    removed: list[Path] = []
    parent = target.parent
    if not parent.is_dir():
        return removed
    prefix = f".{target.name}."
    for aside in parent.iterdir():
        if not (aside.name.startswith(prefix) and aside.name.endswith(".partial")):
            continue
        if not _provably_ours(aside, target.name):
            continue
        old = aside / "old" / target.name
        if old.exists() and not os.path.lexists(target):
            os.rename(old, target)  # a run killed between the two renames of a swap
        shutil.rmtree(aside, ignore_errors=True)
        removed.append(aside)
    return removed


# --- swapping -----------------------------------------------------------------------------

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically (Linux ``renameat2``); False where unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def swap_into_place(work: Path, target: Path, aside: Path) -> None:
    """Move the finished ``work`` onto ``target``; an interruption leaves old or new.

    A file is replaced with one atomic rename. A folder is exchanged atomically
    where the system allows it; otherwise the old folder is first moved into
    ``aside/old`` (from where :func:`clean_leftovers` puts it back if the run
    dies before the new one is in place).

    Parameters
    ----------
    work : Path
        The finished result.
    target : Path
        The destination.
    aside : Path
        The run's own hidden folder beside the destination (removed afterwards
        by the caller).
    """
    if not work.is_dir() or not target.exists():
        os.replace(work, target)
        return
    if _exchange(work, target):
        return  # the old result is now at ``work``, inside ``aside``
    (aside / "old").mkdir(exist_ok=True)
    os.rename(target, aside / "old" / target.name)
    os.rename(work, target)


def make_aside(target: Path) -> Path:
    """A new hidden folder beside ``target`` to write into, marked as ours."""
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        (aside / PARTIAL_MARKER).write_text(
            f"written by schemerisk {__version__} (process {os.getpid()}) for {target.name}; "
            "safe to delete when no schemerisk run is writing it\n",
            encoding="utf-8",
        )
    except BaseException:  # e.g. the disk filled up: leave nothing behind
        shutil.rmtree(aside, ignore_errors=True)
        raise
    return aside


def _full_disk(exc: BaseException, where: Path) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        seen = seen.__cause__ or seen.__context__
    try:  # netCDF/HDF5 report a full disk only as "HDF error": look at the device
        return shutil.disk_usage(where).free < FULL_DISK_BYTES
    except OSError:
        return False


def write_aside(target: Path, write: Callable[[Path], object], option: str = "-o") -> Path:
    """Write a result beside ``target`` with ``write(path)`` and swap it into place.

    Parameters
    ----------
    target : Path
        The absolute destination (checked, its lock held).
    write : callable
        Writes the whole result at the path it is given.
    option : str
        For messages.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    OutputError
        "no space left on the device" when the device filled up (nothing is
        left behind), or a failure to write into the folder.
    """
    try:
        aside = make_aside(target)
    except OSError as exc:
        raise OutputError(
            f"{option} {target}: cannot be written in {target.parent}: {_describe_errno(exc)}",
            EXIT_FAILED if exc.errno in (errno.ENOSPC, errno.EDQUOT) else EXIT_REFUSED,
        ) from None
    try:
        work = aside / target.name
        try:
            write(work)
        except Exception as exc:
            if _full_disk(exc, target.parent):
                raise OutputError(
                    f"{option} {target}: no space left on the device while writing it; nothing "
                    "was written (free some space or choose another place, then run again)",
                    EXIT_FAILED,
                ) from None
            if isinstance(exc, PermissionError | OSError) and exc.errno in (
                errno.EACCES,
                errno.EPERM,
                errno.EROFS,
            ):
                raise OutputError(
                    f"{option} {target}: cannot be written: {_describe_errno(exc)}"
                ) from None
            raise
        swap_into_place(work, target, aside)
    finally:
        remove_aside(aside)
    return target


#: how long :func:`remove_aside` waits for writers still finishing in the folder
_REMOVE_WAIT_S = 2.0


def remove_aside(aside: Path) -> None:
    """Remove an aside folder of ours, again while files still appear in it.

    A writer that failed part-way (Zarr on a full disk) may have chunks still
    being written by its threads when the error reaches us; they land after the
    first removal and leave the folder behind. Removing again until it is gone
    (for at most :data:`_REMOVE_WAIT_S`) leaves nothing; a folder that outlives
    that is removed by the next run (:func:`clean_leftovers`).
    """
    deadline = time.monotonic() + _REMOVE_WAIT_S
    while True:
        shutil.rmtree(aside, ignore_errors=True)
        if not os.path.lexists(aside) or time.monotonic() > deadline:
            return
        time.sleep(0.01)


# --- CSV safety ---------------------------------------------------------------------------


def _escape_cell(x: object) -> object:
    if isinstance(x, str) and x.startswith(FORMULA_STARTS):
        return "'" + x
    return x


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula, prefixed with a single quote.

    Following OWASP's guidance on CSV injection (owasp.org/www-community/attacks/CSV_Injection;
    Application Security Verification Standard 5.0, requirement 1.2.10): a text cell that
    begins with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or a null
    character is written with a leading ``'``, so that Excel, LibreOffice and
    Google Sheets show it as text. Numeric columns are left alone: ``-3.5`` in a
    float column stays the number -3.5. Index labels and column names are
    escaped too (they hold user names of categories, services and inputs).

    Parameters
    ----------
    frame : pandas.DataFrame
        A table about to be written.

    Returns
    -------
    pandas.DataFrame
        A copy with text cells escaped.
    """
    out = frame.copy()
    for col in out.columns:
        if _is_text(out[col].dtype):
            out[col] = out[col].map(_escape_cell)
    out.columns = pd.Index([_escape_cell(c) for c in out.columns], name=out.columns.name)
    index = out.index
    if isinstance(index, pd.MultiIndex):
        out.index = index.set_levels(
            [lvl.map(_escape_cell) if _is_text(lvl.dtype) else lvl for lvl in index.levels]
        )
    elif _is_text(index.dtype):
        out.index = index.map(_escape_cell)
    return out


def _is_text(dtype: Any) -> bool:
    return bool(pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype))


def _write_csv(frame: pd.DataFrame, path: Path, index: bool) -> None:
    escape_formulas(frame).to_csv(path, index=index)


def _table_writer(frame: pd.DataFrame, index: bool) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        _write_csv(frame, path, index=index)

    return write


# --- reservations -------------------------------------------------------------------------


@dataclass
class Reservation:
    """A destination checked before the work and locked until its result is written.

    Made by :func:`reserve`; write with one of the methods, once.

    Attributes
    ----------
    target : Path
        The absolute destination.
    kind : str
        Its kind (:data:`NOUNS`).
    overwrite : bool
        Whether replacing a schemerisk result was allowed.
    option : str
        The option that named it.
    """

    target: Path
    kind: str
    overwrite: bool
    option: str = "-o"
    written: list[Path] = field(default_factory=list)

    def _check_still(self) -> None:
        if self.kind != "tables":  # what appeared since the check is refused too
            check_destination(self.target, self.kind, overwrite=self.overwrite, option=self.option)

    def write_dataset(self, ds: xr.Dataset) -> Path:
        """Write a result as netCDF, Zarr or long CSV (by the destination's suffix).

        Parameters
        ----------
        ds : xarray.Dataset
            The result. netCDF and Zarr carry the attribute ``written_by``.

        Returns
        -------
        Path
            The destination.
        """
        self._check_still()
        if self.kind in ("netcdf", "zarr"):
            ds = ds.copy(deep=False)
            ds.attrs[STAMP] = f"schemerisk {__version__}"
        if self.kind == "zarr":

            def write(p: Path) -> None:
                ds.to_zarr(p, mode="w", zarr_format=2, consolidated=True)
        elif self.kind == "netcdf":

            def write(p: Path) -> None:
                ds.to_netcdf(p)
        elif self.kind == "csv":
            from schemerisk.io import to_long_frame

            def write(p: Path) -> None:
                _write_csv(to_long_frame(ds), p, index=False)
        elif self.kind == "xlsx":
            raise OutputError(
                f"{self.option} {self.target}: this command writes the cube as .nc, .zarr or "
                ".csv; an Excel workbook holds summaries (see 'schemerisk --help')"
            )
        else:
            raise OutputError(f"{self.option} {self.target}: a result cannot be written as HTML")
        self.written.append(write_aside(self.target, write, self.option))
        return self.target

    def write_workbook(self, workbook: Any) -> Path:
        """Write an Excel workbook (``openpyxl.Workbook``) marked as a schemerisk result.

        Parameters
        ----------
        workbook : openpyxl.Workbook
            The workbook; its creator and subject are set here to
            :data:`WORKBOOK_CREATOR` and :data:`WORKBOOK_SUBJECT`.

        Returns
        -------
        Path
            The destination.
        """
        self._check_still()
        if self.kind != "xlsx":
            raise OutputError(
                f"{self.option} {self.target}: an Excel workbook needs a name ending in .xlsx"
            )
        workbook.properties.creator = WORKBOOK_CREATOR
        workbook.properties.subject = WORKBOOK_SUBJECT
        self.written.append(write_aside(self.target, workbook.save, self.option))
        return self.target

    def write_text(self, text: str) -> Path:
        """Write an HTML page (it must carry :data:`GENERATOR` in its head).

        Parameters
        ----------
        text : str
            The page.

        Returns
        -------
        Path
            The destination.
        """
        self._check_still()
        if self.kind == "html" and GENERATOR.split(" content")[0] not in text:
            raise ValueError("an HTML page written by schemerisk carries its generator meta tag")
        self.written.append(
            write_aside(self.target, lambda p: p.write_text(text, encoding="utf-8"), self.option)
        )
        return self.target

    def write_with(self, write: Callable[[Path], object]) -> Path:
        """Write a file with ``write(path)`` beside the destination, then swap it into place.

        Parameters
        ----------
        write : callable
            Writes the whole file at the path it is given.

        Returns
        -------
        Path
            The destination.
        """
        self._check_still()
        self.written.append(write_aside(self.target, write, self.option))
        return self.target

    def write_tables(self, frames: Mapping[str, pd.DataFrame], index: bool = True) -> list[Path]:
        """Write CSV tables (with their index) into the reserved folder.

        Each table is checked like a destination of its own: an existing file of
        that name is replaced only with ``overwrite`` and only if its header
        shows it is one of our tables.

        Parameters
        ----------
        frames : mapping of str to pandas.DataFrame
            File name (``*.csv``) to table.
        index : bool
            Write each table's index as its first columns.

        Returns
        -------
        list of Path
            The files written.
        """
        folder = self.target
        for name in frames:
            self._check_table(folder / name)
        folder.mkdir(parents=True, exist_ok=True)
        out = []
        for name, frame in frames.items():
            path = folder / name
            clean_leftovers(path)  # the folder's lock is held: no other writer is here
            self._check_table(path)
            out.append(write_aside(path, _table_writer(frame, index), self.option))
        self.written.extend(out)
        return out

    def check_tables(self, names: list[str]) -> None:
        """Check, before any work, the files the tables will be written to.

        Parameters
        ----------
        names : list of str
            The file names inside the reserved folder.
        """
        for name in names:
            self._check_table(self.target / name)

    def _check_table(self, path: Path) -> None:
        if not os.path.lexists(path):
            return
        where = f"{self.option} {self.target}"
        if path.is_symlink() or not path.is_file():
            raise OutputError(
                f"{where}: {path.name} exists and is not a regular file; schemerisk never "
                "replaces it: choose another folder"
            )
        if not is_ours(path, "table"):
            raise OutputError(
                f"{where}: {path.name} exists and was not written by schemerisk; it is never "
                "replaced, even with --overwrite: move it away or choose another folder"
            )
        if not self.overwrite:
            raise OutputError(
                f"{where}: {path.name} already exists; add --overwrite to replace the tables, "
                "or choose another folder"
            )


@contextlib.contextmanager
def reserve(
    path: str | Path,
    kind: str | None = None,
    *,
    overwrite: bool = False,
    option: str = "-o",
    tables: list[str] | None = None,
) -> Iterator[Reservation]:
    """Check a destination, lock it and clean its leftovers; yield it to be written later.

    Enter it before the work starts: a destination that cannot be written is
    refused before any time is spent, and a second writer is refused while the
    lock is held.

    Parameters
    ----------
    path : str or Path
        The destination.
    kind : str, optional
        Default: from the suffix (:func:`kind_of`); ``"tables"`` for a folder of
        CSV tables.
    overwrite : bool
        Replace an existing schemerisk result of the same kind.
    option : str
        The option that named it, for messages.
    tables : list of str, optional
        For ``"tables"``: the file names that will be written, checked now.

    Yields
    ------
    Reservation
        Write the result with one of its methods.

    Raises
    ------
    OutputError
        When the destination is refused (see the module's rules).
    """
    kind = kind or kind_of(path)
    target = check_destination(path, kind, overwrite=overwrite, option=option)
    created = _missing_parents(target)
    try:
        for d in reversed(created):
            d.mkdir()
    except OSError as exc:
        _remove_empty(created)
        raise OutputError(
            f"{option} {target}: cannot create the folder {target.parent}: {_describe_errno(exc)}"
        ) from None
    res = Reservation(target, kind, overwrite, option)
    ok = False
    try:
        with hold_lock(target, option):
            if clean_leftovers(target):  # an old result put back: the rule applies to it
                check_destination(target, kind, overwrite=overwrite, option=option)
            if tables:
                res.check_tables(tables)
            yield res
            ok = True
    finally:
        if not ok and not res.written:
            _remove_empty(created)


def _missing_parents(target: Path) -> list[Path]:
    missing = []
    for parent in target.parents:
        if os.path.lexists(parent):
            break
        missing.append(parent)
    return missing  # nearest first


def _remove_empty(created: list[Path]) -> None:
    for d in created:  # nearest first: a child before its parent
        with contextlib.suppress(OSError):
            d.rmdir()


def write_dataset(ds: xr.Dataset, target: str | Path, *, overwrite: bool = False) -> Path:
    """Write a result to ``.nc``, ``.zarr`` or ``.csv`` through the one writer.

    Parameters
    ----------
    ds : xarray.Dataset
        The result.
    target : str or Path
        The destination; its suffix chooses the format.
    overwrite : bool
        Replace an existing schemerisk result of the same kind.

    Returns
    -------
    Path
        The absolute path written.
    """
    with reserve(target, overwrite=overwrite) as res:
        return res.write_dataset(ds)


__all__ = [
    "GENERATOR",
    "STAMP",
    "OutputError",
    "Reservation",
    "check_destination",
    "clean_leftovers",
    "escape_formulas",
    "hold_lock",
    "is_ours",
    "kind_of",
    "partial_store",
    "reserve",
    "swap_into_place",
    "workbook_marked",
    "write_aside",
    "write_dataset",
]
