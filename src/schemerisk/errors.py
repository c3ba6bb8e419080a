"""Errors raised for bad input, collected so that a user sees every problem at once."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    Attributes
    ----------
    path : str
        Key path inside the file, e.g. ``categories.farmers.insured_share``.
    message : str
        What is wrong and what was expected.
    line : int or None
        Line number in the file (1-based) where it is known.
    """

    path: str
    message: str
    line: int | None = None

    def render(self) -> str:
        """Return the problem as one readable line."""
        where = self.path or "(top level)"
        at = f" (line {self.line})" if self.line is not None else ""
        return f"{where}{at}: {self.message}"


class InputError(ValueError):
    """Raised when an input file is invalid; carries every problem found.

    Parameters
    ----------
    source : str
        The file name (or a description of where the input came from).
    problems : iterable of Problem
        Everything found wrong, in the order found.
    kind : str
        What sort of file it is, for the message ("scenario", "distributions").
    """

    def __init__(self, source: str, problems: Iterable[Problem], kind: str = "input") -> None:
        self.source = source
        self.kind = kind
        self.problems = tuple(problems)
        super().__init__(self.render())

    def render(self) -> str:
        """Return a message listing every problem, one per line."""
        n = len(self.problems)
        head = f"{self.source}: {n} problem{'s' if n != 1 else ''} in this {self.kind} file"
        return "\n".join([head, *("  - " + p.render() for p in self.problems)])


class ScenarioError(InputError):
    """Raised when a scenario file is invalid."""

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        super().__init__(source, problems, kind="scenario")


def suggest(name: str, valid: Iterable[str]) -> str:
    """Return a "did you mean" hint for a misspelt name, or an empty string.

    Parameters
    ----------
    name : str
        The name the user wrote.
    valid : iterable of str
        The names that would have been accepted.

    Returns
    -------
    str
        ``"; did you mean 'x'?"`` when a close match exists, otherwise ``""``.
    """
    options = sorted({v for v in valid if isinstance(v, str)})  # a file's keys may be numbers
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.6)
    if not close:
        return ""
    quoted = " or ".join(f"'{c}'" for c in close)
    return f"; did you mean {quoted}?"
