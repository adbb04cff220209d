"""Mach-O images (thin and fat/universal) through lief."""

from __future__ import annotations

from typing import Any

import lief

from sbomsign._internal.binary import detectors
from sbomsign._internal.binary._common import (
    GO_SEARCH_SIZE,
    GO_SECTION_MAX,
    FileView,
    Mapping,
    lief_source,
)
from sbomsign._internal.binary.facts import Facts, GoSearch, Region
from sbomsign.errors import InspectionError
from sbomsign.models import Binary, Component, Hardening, Linkage, LinkedLibrary

_ARCH = {
    "X86_64": "x86_64",
    "X86": "i386",
    "ARM64": "aarch64",
    "ARM": "arm",
    "POWERPC": "ppc",
    "POWERPC64": "ppc64",
}
_DYLIB_COMMANDS = {
    "LOAD_DYLIB": "LC_LOAD_DYLIB",
    "LOAD_WEAK_DYLIB": "LC_LOAD_WEAK_DYLIB",
    "REEXPORT_DYLIB": "LC_REEXPORT_DYLIB",
    "LAZY_LOAD_DYLIB": "LC_LAZY_LOAD_DYLIB",
    "LOAD_UPWARD_DYLIB": "LC_LOAD_UPWARD_DYLIB",
}
_FILE_TYPES = {
    "EXECUTE": "executable",
    "DYLIB": "shared-library",
    "BUNDLE": "bundle",
    "OBJECT": "relocatable",
    "CORE": "core",
    "DYLINKER": "dylinker",
}
_RW = 3


def _name(enum_value: Any) -> str:
    return str(enum_value).rsplit(".", 1)[-1]


def inspect(path: str | None, view: FileView) -> list[tuple[Binary, tuple[Component, ...]]]:
    """Inspect a Mach-O file; a fat/universal file gives one entry per slice.

    Raises:
        InspectionError: lief cannot parse it.
    """
    fat = lief.MachO.parse(lief_source(path, view), lief.MachO.ParserConfig.quick)
    if fat is None or len(fat) == 0:
        raise InspectionError("not a parsable Mach-O file")
    return [_slice(fat.at(i), view) for i in range(len(fat))]


def _slice(binary: Any, file_view: FileView) -> tuple[Binary, tuple[Component, ...]]:
    base = int(binary.fat_offset)
    view = file_view.at(base)
    header = binary.header
    arch = _ARCH.get(_name(header.cpu_type), _name(header.cpu_type).lower())
    bits = 64 if "64" in _name(header.magic) else 32
    flags = {_name(f) for f in header.flags_list}

    libraries: list[LinkedLibrary] = []
    for cmd in binary.commands:
        how = _DYLIB_COMMANDS.get(_name(cmd.command))
        if how:
            libraries.append(LinkedLibrary(name=cmd.name, how=how))
    rpaths = tuple(r.path for r in binary.rpaths)
    dylinker = binary.dylinker.name if binary.has_dylinker else ""

    sections = list(binary.sections)
    segments = list(binary.segments)
    facts = Facts(
        view=view,
        arch=arch,
        mappings=tuple(
            Mapping(vaddr=s.virtual_address, offset=s.file_offset, size=s.file_size)
            for s in segments
        ),
        sections=_first_by_name(sections),
        go=_go_search(sections, segments),
        libraries=tuple(libraries),
        library_location="load commands",
    )
    detected = detectors.run(facts)
    nsyms = binary.symbol_command.numberof_symbols if binary.has_symbol_command else 0
    hardening = Hardening(
        pie="PIE" in flags,
        nx=bool(binary.has_nx_stack) if hasattr(binary, "has_nx_stack") else None,
        stripped=nsyms == 0,
        code_signature=bool(binary.has_code_signature),
    )
    platform = ""
    if binary.has_build_version:
        platform = _name(binary.build_version.platform).lower()
    return Binary(
        format="macho",
        arch=arch,
        bits=bits,
        endianness="big" if _name(header.magic) in ("CIGAM", "CIGAM_64") else "little",
        os="darwin" if platform in ("", "macos") else platform,
        os_abi=platform or "unknown",
        file_type=_FILE_TYPES.get(_name(header.file_type), _name(header.file_type).lower()),
        build_id=binary.uuid.uuid_str()
        if binary.has_uuid and hasattr(binary.uuid, "uuid_str")
        else (bytes(binary.uuid.uuid).hex() if binary.has_uuid else ""),
        linkage=Linkage(
            static=not libraries and not dylinker,
            interpreter=dylinker,
            libraries=tuple(libraries),
            rpath=rpaths,
        ),
        hardening=hardening,
        go=detected.go,
        rust=detected.rust,
        slice_offset=base,
        warnings=detected.warnings,
        errors=detected.errors,
    ), detected.components


def _first_by_name(sections: list[Any]) -> dict[str, Region]:
    found: dict[str, Region] = {}
    for s in sections:
        found.setdefault(s.name, Region(s.name, int(s.offset), int(s.size)))
    return found


def _go_search(sections: list[Any], segments: list[Any]) -> GoSearch:
    """`__go_buildinfo`, else the first read-write data segment (Go's own order)."""
    section = next((s for s in sections if s.name == "__go_buildinfo"), None)
    if section is not None:
        region = Region("__DATA,__go_buildinfo", int(section.offset), int(section.size))
        return GoSearch(region, GO_SECTION_MAX)
    seg = next(
        (
            s
            for s in segments
            if s.virtual_address
            and s.file_size
            and s.init_protection == _RW
            and s.max_protection == _RW
        ),
        None,
    )
    if seg is None:
        return GoSearch()
    return GoSearch(Region(seg.name, int(seg.file_offset), int(seg.file_size)), GO_SEARCH_SIZE)
