"""Neutral facts: what a format reader found, in terms every detector understands.

The ELF, PE and Mach-O readers turn lief's objects into `Facts`; the detectors in
`detectors/` (Go, Rust, package notes, linked libraries, and those to come) read only these,
so one detector serves every format. A new fact a detector needs is a field here, filled by
each reader that can know it.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field
from typing import NamedTuple

from sbomsign._internal.binary._common import FileView, Mapping
from sbomsign.models import Component, GoBuildInfo, LinkedLibrary, PackageNote, RustAudit


class Region(NamedTuple):
    """A byte range of the image (offsets relative to the image, as `FileView` reads them);
    a named tuple, for an image has dozens and each is made per file."""

    name: str
    """What the format calls it (`.go.buildinfo`, `__DATA,__go_buildinfo`, `PT_LOAD (rw)`)."""
    offset: int
    size: int


@dataclass(frozen=True)
class GoSearch:
    """Where this format keeps Go's build info."""

    region: Region | None = None
    """A dedicated build-info section, or the data segment Go's reader searches; None: none."""
    limit: int = 0
    """How much of `region` to read (a whole dedicated section, or Go's search window)."""
    scan_file: bool = True
    """Whether the whole file may be searched for the module-info blob when the header is
    missing or damaged."""


@dataclass(frozen=True)
class Facts:
    """One image as the detectors see it."""

    view: FileView
    arch: str
    mappings: tuple[Mapping, ...] = ()
    """File-backed memory ranges, for formats that point by virtual address."""
    sections: MappingType[str, Region] = field(default_factory=dict)
    """Named sections, by the format's own names."""
    go: GoSearch = field(default_factory=GoSearch)
    package_notes: tuple[PackageNote, ...] = ()
    libraries: tuple[LinkedLibrary, ...] = ()
    library_location: str = ""
    """Where the format lists linked libraries (`.dynamic`, `.idata`, `load commands`)."""
    version_info: tuple[tuple[str, str], ...] = ()
    """A PE version resource's strings (`ProductName`, `ProductVersion`, ...), as read."""


@dataclass(frozen=True)
class Detection:
    """What the detectors found in one image."""

    components: tuple[Component, ...] = ()
    go: GoBuildInfo | None = None
    rust: RustAudit | None = None
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
