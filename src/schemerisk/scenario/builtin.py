"""Built-in scenarios shipped with the package, found by name from any directory."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from schemerisk.errors import suggest

_PACKAGE_DIR = "_builtin"


def _builtin_dirs(kind: str) -> list[Path]:
    """Folders that hold built-in files of ``kind`` ("scenarios" or "distributions").

    In an installed wheel they are package data (``schemerisk/_builtin/<kind>``);
    in an editable checkout they are the repository's top-level folders.
    """
    dirs = []
    packaged = resources.files("schemerisk").joinpath(_PACKAGE_DIR).joinpath(kind)
    if packaged.is_dir():
        dirs.append(Path(str(packaged)))
    checkout = Path(__file__).resolve().parents[3] / kind
    if checkout.is_dir():
        dirs.append(checkout)
    return dirs


def builtin_names(kind: str = "scenarios") -> list[str]:
    """Return the names of the built-in files of ``kind``.

    Parameters
    ----------
    kind : str
        "scenarios" or "distributions".

    Returns
    -------
    list of str
        Sorted file stems.
    """
    names = {p.stem for d in _builtin_dirs(kind) for p in d.glob("*.yaml")}
    return sorted(names)


def resolve_builtin(source: str | Path, kind: str) -> Path:
    """Return the file for ``source``: an existing path, or a built-in name.

    Parameters
    ----------
    source : str or Path
        A file path, or the stem of a built-in file.
    kind : str
        "scenarios" or "distributions".

    Returns
    -------
    Path
        The file to read.

    Raises
    ------
    FileNotFoundError
        Naming the built-in files and the nearest name.
    """
    path = Path(source)
    if path.is_file():
        return path
    if path.is_dir():
        raise FileNotFoundError(f"{source}: this is a directory, not a {kind[:-1]} file (YAML)")
    if path.suffix == "" and path.name == str(source):
        for d in _builtin_dirs(kind):
            candidate = d / f"{source}.yaml"
            if candidate.is_file():
                return candidate
    names = builtin_names(kind)
    hint = suggest(str(source), names)
    raise FileNotFoundError(
        f"{source}: no such file, and not a built-in {kind[:-1]}{hint} "
        f"(built-in: {', '.join(names) or 'none'})"
    )


def resolve_scenario(source: str | Path) -> Path:
    """Return the scenario file for a path or a built-in scenario name."""
    return resolve_builtin(source, "scenarios")
