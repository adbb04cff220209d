"""Where files come from: the names a user gives, turned into files to inspect.

A source is a module with a `SOURCE` object that `claims` the names it understands (a
scheme such as `oci-dir:`, or an archive suffix) and `expand`s one of them into `Candidate`
files and `ScanProblem`s. `SOURCES` is asked in order and the first source that claims a
name expands it; `paths` (files and directories on disk) claims every name, so it is last.
What a file contains is not a source's business: every candidate goes through the same
isolated binary inspection (`sbomsign._internal.binary`).

A new kind of input (archives, OCI layouts, image archives, registries) is one module here
and one line in `SOURCES`, before `paths`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sbomsign.models import ScanProblem


@dataclass(frozen=True)
class Candidate:
    """A file to inspect: its real path and the path shown to the user."""

    path: str
    display: str


class Source(Protocol):
    """One kind of input."""

    def claims(self, given: str) -> bool:
        """Whether this source reads the name `given`."""
        ...

    def expand(self, given: str, seen: set[str]) -> tuple[list[Candidate], list[ScanProblem]]:
        """The files to inspect for `given`; `seen` holds the real paths already taken."""
        ...


def _sources() -> tuple[Source, ...]:
    from sbomsign._internal.sources import paths

    # One line per source; the first that claims a name reads it. `paths` claims everything.
    return (paths.SOURCE,)


SOURCES: tuple[Source, ...] = _sources()


def expand(names: Iterable[str]) -> tuple[list[Candidate], list[ScanProblem]]:
    """Every name the user gave, expanded by the first source that claims it."""
    candidates: list[Candidate] = []
    problems: list[ScanProblem] = []
    seen: set[str] = set()
    for given in names:
        source = next(s for s in SOURCES if s.claims(given))
        found, trouble = source.expand(given, seen)
        candidates.extend(found)
        problems.extend(trouble)
    return candidates, problems
