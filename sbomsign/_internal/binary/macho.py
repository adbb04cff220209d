"""Mach-O images (thin and fat/universal) through lief."""

from __future__ import annotations

from typing import Any

import lief

from sbomsign._internal.binary._common import (
    GO_SEARCH_SIZE,
    GO_SECTION_MAX,
    FileView,
    Mapping,
    go_inventory,
    library_components,
    rust_inventory,
)
from sbomsign.errors import Error, InspectionError
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


def inspect(path: str, view: FileView) -> list[tuple[Binary, tuple[Component, ...]]]:
    """Inspect a Mach-O file; a fat/universal file gives one entry per slice.

    Raises:
        InspectionError: lief cannot parse it.
    """
    fat = lief.MachO.parse(path, lief.MachO.ParserConfig.quick)
    if fat is None or len(fat) == 0:
        raise InspectionError("not a parsable Mach-O file")
    return [_slice(fat.at(i), view) for i in range(len(fat))]


def _slice(binary: Any, file_view: FileView) -> tuple[Binary, tuple[Component, ...]]:
    base = int(binary.fat_offset)
    view = file_view.at(base)
    header = binary.header
    arch = _ARCH.get(_name(header.cpu_type), _name(header.cpu_type).lower())
    bits = 64 if "64" in _name(header.magic) else 32
    warnings: list[str] = []
    errors: list[str] = []
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
    mappings = [
        Mapping(vaddr=s.virtual_address, offset=s.file_offset, size=s.file_size) for s in segments
    ]
    go_section = next((s for s in sections if s.name == "__go_buildinfo"), None)
    go_data, go_off, go_loc = b"", None, ""
    if go_section is not None:
        go_off, go_loc = int(go_section.offset), "__DATA,__go_buildinfo"
        go_data = view.read(go_off, min(int(go_section.size), GO_SECTION_MAX))
    else:
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
        if seg is not None:
            go_off, go_loc = int(seg.file_offset), seg.name
            go_data = view.read(go_off, min(int(seg.file_size), GO_SEARCH_SIZE))
    go = go_inventory(view, go_data, go_off, go_loc, mappings, file_view.mm)
    if go.warning:
        warnings.append(go.warning)
    if go.error:
        errors.append(go.error)

    rust = None
    rust_components: tuple[Component, ...] = ()
    dep = next((s for s in sections if s.name == ".dep-v0"), None)
    if dep is not None:
        try:
            rust, rust_components = rust_inventory(view.read(dep.offset, dep.size), dep.offset)
        except Error as e:
            errors.append(f".dep-v0: {e.diagnostics()}")

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
    components = go.components + rust_components + library_components(libraries, "load commands")
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
        go=go.info,
        rust=rust,
        slice_offset=base,
        warnings=tuple(warnings),
        errors=tuple(errors),
    ), components
