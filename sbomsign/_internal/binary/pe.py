"""PE/COFF images through lief: identity, imports, hardening, `.pkgnote`, Go and Rust data."""

from __future__ import annotations

from typing import Any

import lief

from sbomsign._internal.binary import detectors, notes
from sbomsign._internal.binary._common import (
    GO_SEARCH_SIZE,
    FileView,
    Mapping,
    lief_source,
    text,
)
from sbomsign._internal.binary.facts import Facts, GoSearch, Region
from sbomsign.errors import Error, InspectionError
from sbomsign.models import Binary, Component, Hardening, Linkage, LinkedLibrary, PackageNote

_ARCH = {
    "AMD64": "x86_64",
    "I386": "i386",
    "ARM64": "aarch64",
    "ARM64EC": "aarch64",
    "ARM64X": "aarch64",
    "ARMNT": "arm",
    "ARM": "arm",
    "THUMB": "arm",
    "IA64": "ia64",
    "LOONGARCH64": "loongarch64",
    "LOONGARCH32": "loongarch32",
    "RISCV64": "riscv64",
    "POWERPC": "ppcle",
}

_DYNAMIC_BASE = 0x40
_HIGH_ENTROPY_VA = 0x20
_NX_COMPAT = 0x100
_GUARD_CF = 0x4000
_DLL = 0x2000

# Go's debug/buildinfo: the first section whose flags, ignoring IMAGE_SCN_ALIGN_32BYTES, are
# exactly initialized data + read + write.
_GO_DATA_FLAGS = 0x00000040 | 0x40000000 | 0x80000000
_ALIGN_32BYTES = 0x00600000


def _config() -> Any:
    cfg = lief.PE.ParserConfig()
    # Resources are parsed for the version resource (VS_VERSIONINFO) only.
    cfg.parse_rsrc = True
    cfg.parse_reloc = False
    cfg.parse_signature = False
    cfg.parse_exports = False
    cfg.parse_exceptions = False
    return cfg


def _name(enum_value: Any) -> str:
    return str(enum_value).rsplit(".", 1)[-1]


def inspect(path: str | None, view: FileView) -> tuple[Binary, tuple[Component, ...]]:
    """Inspect one PE file: the binary's facts and the components found in it.

    Raises:
        InspectionError: lief cannot parse it.
    """
    binary = lief.PE.parse(lief_source(path, view), _config())
    if binary is None:
        raise InspectionError("not a parsable PE file")
    header = binary.header
    opt = binary.optional_header
    machine = _name(header.machine)
    arch = _ARCH.get(machine, machine.lower())
    bits = 64 if _name(opt.magic) == "PE32_PLUS" else 32
    sections = list(binary.sections)
    imagebase = int(opt.imagebase)

    libraries: list[LinkedLibrary] = [
        LinkedLibrary(name=text(imp.name), how="PE import") for imp in binary.imports
    ]
    if binary.has_delay_imports:
        libraries.extend(
            LinkedLibrary(name=text(imp.name), how="PE delay import")
            for imp in binary.delay_imports
        )

    dll_chars = int(opt.dll_characteristics)
    # NOTE: relocations are not parsed (speed); the base-relocation directory tells whether
    # the image can actually be moved, which DYNAMIC_BASE alone does not guarantee.
    reloc_dir = binary.data_directory(lief.PE.DataDirectory.TYPES.BASE_RELOCATION_TABLE)
    relocatable = (
        bool(dll_chars & _DYNAMIC_BASE) and reloc_dir is not None and int(reloc_dir.size) > 0
    )
    kind = "shared-library" if int(header.characteristics) & _DLL else "executable"
    # NOTE: `go build -ldflags=-s` leaves a `.symtab` section holding only the 4-byte size of
    # an empty string table; that is stripped.
    names = {text(s.name) for s in sections if s.name != ".symtab" or int(s.virtual_size) > 4}
    hardening = Hardening(
        pie=relocatable,
        nx=bool(dll_chars & _NX_COMPAT),
        aslr=relocatable,
        dep=bool(dll_chars & _NX_COMPAT),
        cfg=bool(dll_chars & _GUARD_CF),
        high_entropy_va=bool(dll_chars & _HIGH_ENTROPY_VA) if bits == 64 else None,
        # NOTE: a PE "stripped" of symbols has no COFF symbol table and no DWARF sections;
        # mingw and Go both leave `.symtab` or `/NN` debug sections behind otherwise.
        stripped=int(header.numberof_symbols) == 0
        and ".symtab" not in names
        and not any(n.startswith("/") or n.startswith(".debug") for n in names),
    )

    package_notes, errors = _package_notes(view, sections)
    facts = Facts(
        view=view,
        arch=arch,
        mappings=tuple(
            Mapping(vaddr=imagebase + s.virtual_address, offset=s.offset, size=_file_size(s))
            for s in sections
        ),
        sections=_first_by_name(sections),
        go=_go_search(sections),
        package_notes=tuple(package_notes),
        libraries=tuple(libraries),
        library_location=".idata",
        version_info=_version_strings(binary),
    )
    detected = detectors.run(facts)
    return Binary(
        format="pe",
        arch=arch,
        bits=bits,
        endianness="little",
        os="windows",
        os_abi=_name(opt.subsystem).lower(),
        file_type=kind,
        pe_timestamp=int(header.time_date_stamps),
        linkage=Linkage(static=not libraries, libraries=tuple(libraries)),
        hardening=hardening,
        go=detected.go,
        rust=detected.rust,
        package_notes=tuple(package_notes),
        warnings=detected.warnings,
        errors=tuple(errors) + detected.errors,
    ), detected.components


#: The most strings read from one version resource; a real one has about a dozen.
_MAX_VERSION_STRINGS = 64


def _version_strings(binary: Any) -> tuple[tuple[str, str], ...]:
    """The first string table of the version resource (VS_VERSIONINFO), bounded."""
    if not binary.has_resources:
        return ()
    try:
        found = binary.resources_manager.version
    except Exception:  # noqa: BLE001 - a damaged resource tree means "no version resource"
        return ()
    versions = found if isinstance(found, list) else [found] if found else []
    for version in versions:
        info = getattr(version, "string_file_info", None)
        for table in getattr(info, "children", None) or ():
            entries = [(text(e.key), text(e.value)) for e in table.entries]
            return tuple(entries[:_MAX_VERSION_STRINGS])
    return ()


def _file_size(section: Any) -> int:
    """The bytes of a section that are in the file (the raw size may be padded)."""
    return min(int(section.size), int(section.virtual_size) or int(section.size))


def _first_by_name(sections: list[Any]) -> dict[str, Region]:
    found: dict[str, Region] = {}
    for s in sections:
        found.setdefault(text(s.name), Region(text(s.name), int(s.offset), _file_size(s)))
    return found


def _package_notes(view: FileView, sections: list[Any]) -> tuple[list[PackageNote], list[str]]:
    """The `.pkgnote` sections: NUL-separated JSON package notes."""
    found: list[PackageNote] = []
    errors: list[str] = []
    for s in sections:
        if s.name != ".pkgnote":
            continue
        raw = view.read(s.offset, _file_size(s))
        pos = 0
        for chunk in raw.split(b"\0"):
            if chunk.strip():
                try:
                    found.append(notes.package_note(chunk, ".pkgnote", s.offset + pos))
                except Error as e:
                    errors.append(f".pkgnote: {e.diagnostics()}")
            pos += len(chunk) + 1
    return found, errors


def _go_search(sections: list[Any]) -> GoSearch:
    """Go's linker puts the build info at the start of the data section."""
    data = next(
        (s for s in sections if int(s.characteristics) & ~_ALIGN_32BYTES == _GO_DATA_FLAGS),
        None,
    )
    if data is None:
        return GoSearch()
    return GoSearch(Region(text(data.name), int(data.offset), int(data.size)), GO_SEARCH_SIZE)
