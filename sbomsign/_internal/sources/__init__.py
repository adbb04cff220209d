"""Where files come from: the names a user gives, turned into files to inspect.

A source is a module with a `SOURCE` object that `claims` the names it understands (a
scheme such as `oci-dir:`, or an archive suffix) and `expand`s one of them into `Candidate`
files, `ScanProblem`s and, for images and archives, `container.Draft`s (the container the
files came from, finished once they are scanned). `SOURCES` is asked in order and the first
source that claims a name expands it; `paths` (files and directories on disk) claims every
name, so it is last. What a file contains is not a source's business: every candidate goes
through the same isolated binary inspection (`sbomsign._internal.binary`).

A new kind of input is one module here and one line in `_sources`, before `paths`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sbomsign.errors import Error
from sbomsign.models import ScanProblem

if TYPE_CHECKING:
    from sbomsign._internal.sources.container import Draft


@dataclass(frozen=True)
class Candidate:
    """A file to inspect: its real path and the path shown to the user."""

    path: str
    display: str
    container: str = ""
    """`Container.ref` of the image or archive it was taken from."""
    span: tuple[int, int] | None = None
    """Offset and size of the file inside `path`; None: all of it."""


@dataclass(frozen=True)
class Settings:
    """What the user said about how to read the names."""

    workdir: str
    """A private directory for binaries taken out of images and archives (removed after)."""
    platform: str = ""
    """`os/arch[/variant]`: the one platform of a multi-platform image to read."""
    registry_ca: str = ""
    insecure_registries: tuple[str, ...] = ()
    layer_progress: Callable[[str, int, int], None] | None = None
    """Told (image name, layers applied, layers in all) as an image's layers are read."""
    on_binary: Callable[[str, tuple[int, int] | None], None] | None = None
    """Told the path (and span) of each binary copied out of an image or archive, as soon as
    it is on disk (a later layer may still replace it), so it can be parsed while reading
    goes on."""


@dataclass
class Expansion:
    """What the names expanded to."""

    candidates: list[Candidate] = field(default_factory=list)
    problems: list[ScanProblem] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)


class Source(Protocol):
    """One kind of input."""

    def claims(self, given: str) -> bool:
        """Whether this source reads the name `given`."""
        ...

    def expand(self, given: str, settings: Settings, seen: set[str], into: Expansion) -> None:
        """Add the files to inspect for `given` to `into`; `seen` holds real paths taken.

        Raises:
            Error: `given` cannot be read at all (the caller records it as a problem).
        """
        ...


def _sources() -> tuple[Source, ...]:
    from sbomsign._internal.sources import archives, images, paths, schemes

    # One line per source; the first that claims a name reads it. `paths` claims everything.
    return (images.SOURCE, schemes.SOURCE, archives.SOURCE, paths.SOURCE)


SOURCES: tuple[Source, ...] = _sources()


def claimed_by_paths(given: str) -> bool:
    """Whether `given` is a plain file or directory name (no scheme, no archive)."""
    return next(s for s in SOURCES if s.claims(given)) is SOURCES[-1]


def expand(names: Iterable[str], settings: Settings) -> Expansion:
    """Every name the user gave, expanded by the first source that claims it.

    A name that cannot be read becomes one problem; the other names are still expanded.
    """
    into = Expansion()
    seen: set[str] = set()
    for given in names:
        source = next(s for s in SOURCES if s.claims(given))
        try:
            source.expand(given, settings, seen, into)
        except Error as e:
            message = e.diagnostics()
            # NOTE: messages name the input for readers who see them alone; the problem
            # already carries it as its path.
            message = message.removeprefix(f"{given}: ") or message
            into.problems.append(ScanProblem(given, message, e.exit_code))
    return into
