"""ELF images: identity, linkage, hardening, notes, Go and Rust data.

The tables come from `elftables` for a plain file and from lief for any other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sbomsign._internal.binary import detectors, elftables, notes
from sbomsign._internal.binary._common import (
    GO_SEARCH_SIZE,
    GO_SECTION_MAX,
    FileView,
    Mapping,
    lief_source,
    string_table_flags,
    text,
)
from sbomsign._internal.binary.elftables import (
    SECTION_TYPES,
    SEGMENT_TYPES,
    Section,
    Segment,
    Tables,
    kind,
)
from sbomsign._internal.binary.facts import Facts, GoSearch, Region
from sbomsign.errors import Error, InspectionError
from sbomsign.models import (
    Binary,
    Component,
    GoBuildInfo,
    Hardening,
    Linkage,
    LinkedLibrary,
    PackageNote,
)

_ARCH = {
    "X86_64": "x86_64",
    "I386": "i386",
    "AARCH64": "aarch64",
    "ARM": "arm",
    "SPARCV9": "sparc64",
    "SPARC": "sparc",
    "IA_64": "ia64",
    "M68K": "m68k",
    "ALPHA": "alpha",
    "PARISC": "hppa",
    "SH": "sh",
    "XTENSA": "xtensa",
    "BPF": "bpf",
    "AMDGPU": "amdgpu",
}

_OS_ABI = {
    "SYSTEMV": "sysv",
    "LINUX": "linux",
    "FREEBSD": "freebsd",
    "NETBSD": "netbsd",
    "OPENBSD": "openbsd",
    "SOLARIS": "solaris",
    "HURD": "hurd",
    "AIX": "aix",
    "STANDALONE": "standalone",
    "ARM": "arm",
}

_GNU_BUILD_ID = 3
_GNU_ABI_TAG = 1
_DF_1_NOW = 0x1
_DF_1_PIE = 0x08000000
_ABI_TAG_OS = {0: "linux", 1: "hurd", 2: "solaris", 3: "freebsd"}


def _lief_tables(source: str | bytes) -> Tables:
    """The tables of a file `elftables` left to lief, as lief reads them."""
    from sbomsign._internal.binary import lief_module

    lief = lief_module()
    # NOTE: symbol tables and relocations are the expensive part of a large (Go) binary and
    # nothing here needs them: hardening is judged from the raw string tables, notes are read
    # from the section bytes directly.
    cfg = lief.ELF.ParserConfig()
    cfg.parse_relocations = False
    cfg.parse_symtab_symbols = False
    cfg.parse_dyn_symbols = False
    cfg.parse_symbol_versions = False
    cfg.parse_notes = False
    cfg.parse_overlay = False
    binary = lief.ELF.parse(source, cfg)
    if binary is None:
        raise InspectionError("not a parsable ELF file")
    header = binary.header
    return Tables(
        bits=64 if _name(header.identity_class) == "ELF64" else 32,
        big=_name(header.identity_data) == "MSB",
        machine=_name(header.machine_type),
        os_abi=_name(header.identity_os_abi),
        file_type=_name(header.file_type),
        sections=tuple(
            Section(text(s.name), kind(_raw(s.type), SECTION_TYPES), s.offset, s.size)
            for s in binary.sections
        ),
        segments=tuple(
            Segment(type=kind(_raw(s.type), SEGMENT_TYPES), offset=s.file_offset,
                    filesz=s.physical_size, vaddr=s.virtual_address, memsz=s.virtual_size,
                    flags=_code(s.flags) & elftables.RWX)
            for s in binary.segments
        ),
        interpreter=text(binary.interpreter) if binary.has_interpreter else "",
        dynamic=elftables.dynamic_from([_entry(e) for e in binary.dynamic_entries]),
        nx=bool(binary.has_nx),
    )


def _raw(kind: Any) -> int:
    """The number in the file: lief adds the machine above bit 32 to processor-specific
    section and segment types."""
    return _code(kind) & 0xFFFFFFFF


def _entry(entry: Any) -> tuple[int, int, str]:
    tag = _name(entry.tag)
    string = {"NEEDED": "name", "RPATH": "rpath", "RUNPATH": "runpath"}.get(tag)
    return _code(entry.tag), int(entry.value), text(getattr(entry, string)) if string else ""


def tables(path: str | None, view: FileView) -> Tables:
    """The file's tables: read directly where the file is plain, else by lief."""
    try:
        return elftables.read(view.mm)
    except elftables.Declined:
        return _lief_tables(lief_source(path, view))


def _arch(machine: str, bits: int, big: bool) -> str:
    if machine == "LOONGARCH":
        return "loongarch64" if bits == 64 else "loongarch32"
    if machine == "RISCV":
        return "riscv64" if bits == 64 else "riscv32"
    if machine == "PPC64":
        return "ppc64" if big else "ppc64le"
    if machine == "PPC":
        return "ppc" if big else "ppcle"
    if machine == "S390":
        return "s390x" if bits == 64 else "s390"
    if machine in ("MIPS", "MIPS_RS3_LE"):
        base = "mips64" if bits == 64 else "mips"
        return base if big else base + "el"
    return _ARCH.get(machine, machine.lower() or "unknown")


def _name(enum_value: Any) -> str:
    return str(enum_value).rsplit(".", 1)[-1]


@dataclass
class _Notes:
    """What the ELF notes of an image say."""

    build_id: str = ""
    abi_os: str = ""
    package_notes: list[PackageNote] = field(default_factory=list)
    dlopen: list[LinkedLibrary] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _code(kind: Any) -> int:
    """The raw number of a lief enum; lief gives a plain int for a value its enum lacks (a
    damaged or vendor-specific header)."""
    return int(getattr(kind, "value", kind))


def _note_ranges(t: Tables) -> list[tuple[str, int, int]]:
    """SHT_NOTE sections, or PT_NOTE segments when the section headers are gone."""
    return [(s.name, s.offset, s.size) for s in t.sections if s.type == elftables.SHT_NOTE] or [
        ("PT_NOTE", s.offset, s.filesz) for s in t.segments if s.type == elftables.PT_NOTE
    ]


def _read_notes(
    view: FileView, ranges: list[tuple[str, int, int]], endianness: str
) -> _Notes:
    found = _Notes()
    for name, off, size in ranges:
        data = view.read(off, size)
        try:
            for owner, ntype, desc, rel in notes.iter_elf_notes(data, endianness):
                _note(found, owner, ntype, desc, name, off + rel, endianness)
        except Error as e:
            found.errors.append(f"{name}: {e.diagnostics()}")
    return found


def _note(
    found: _Notes, owner: str, ntype: int, desc: bytes, name: str, offset: int, endianness: str
) -> None:
    if owner == "GNU" and ntype == _GNU_BUILD_ID:
        found.build_id = desc.hex()
    elif owner == "GNU" and ntype == _GNU_ABI_TAG and len(desc) >= 4:
        order: Literal["big", "little"] = "big" if endianness == "big" else "little"
        found.abi_os = _ABI_TAG_OS.get(int.from_bytes(desc[:4], order), "")
    elif owner == notes.FDO_OWNER and ntype == notes.PACKAGE_NOTE_TYPE:
        found.package_notes.append(notes.package_note(desc, name, offset))
    elif owner == notes.FDO_OWNER and ntype == notes.DLOPEN_NOTE_TYPE:
        found.dlopen.extend(notes.dlopen_libraries(desc))


def _file_kind(file_type: str, is_pie_exe: bool) -> str:
    if file_type == "EXEC" or is_pie_exe:
        return "executable"
    return {"DYN": "shared-library", "REL": "relocatable"}.get(file_type, file_type.lower())


def _go_search(by_name: dict[str, Section], segments: tuple[Segment, ...]) -> GoSearch:
    """`.go.buildinfo`, else the first writable non-executable PT_LOAD (Go's own order)."""
    section = by_name.get(".go.buildinfo")
    if section is not None:
        if not section.size:
            # NOTE: an empty build-info section is a Go binary whose header was removed;
            # nothing is searched for it.
            return GoSearch(None, 0, scan_file=False)
        return GoSearch(Region(".go.buildinfo", section.offset, section.size), GO_SECTION_MAX)
    writable = next(
        (
            s for s in segments
            if s.type == elftables.PT_LOAD
            and s.flags & elftables.PF_W and not s.flags & elftables.PF_X
        ),
        None,
    )
    if writable is None or not writable.filesz:
        return GoSearch(None, 0)
    return GoSearch(Region("PT_LOAD (rw)", writable.offset, writable.filesz), GO_SEARCH_SIZE)


def _os_name(
    abi_os: str, os_abi: str, go: GoBuildInfo | None, interpreter: str, needed: list[LinkedLibrary]
) -> str:
    os_name = abi_os or (os_abi if os_abi not in ("sysv", "") else "")
    if not os_name and go is not None:
        os_name = go.setting("GOOS") or ""
    if not os_name and ("linux" in interpreter or "ld-musl" in interpreter):
        os_name = "linux"
    if not os_name and any(lib.name.startswith(("libc.so", "ld-linux")) for lib in needed):
        os_name = "linux"
    return os_name or "unknown"


def _hardening(
    t: Tables, view: FileView, by_name: dict[str, Section], pie: bool | None,
    go: GoBuildInfo | None,
) -> Hardening:
    relro = "none"
    if any(s.type == elftables.PT_GNU_RELRO for s in t.segments):
        bind_now = t.dynamic.flags & elftables.DF_BIND_NOW or t.dynamic.flags_1 & _DF_1_NOW
        relro = "full" if bind_now else "partial"
    tables = [(s.offset, s.size) for n in (".dynstr", ".strtab") if (s := by_name.get(n))]
    stack, fortify = string_table_flags(view, tables)
    return Hardening(
        pie=pie,
        nx=t.nx,
        relro=relro,
        # NOTE: Go code does not use the C stack protector or FORTIFY; only cgo parts could,
        # so "absent" is reported only when the string tables were there to look at.
        stack_protector=stack if (stack or tables) and go is None else (True if stack else None),
        fortify=fortify if (fortify or tables) and go is None else (True if fortify else None),
        stripped=".symtab" not in by_name,
    )


def inspect(path: str | None, view: FileView) -> tuple[Binary, tuple[Component, ...]]:
    """Inspect one ELF file (`path`, or the bytes of `view` where it is part of a file): the
    binary's facts and the components found in it.

    Raises:
        InspectionError: lief cannot parse it, or a structure it needs is damaged.
    """
    t = tables(path, view)
    endianness = "big" if t.big else "little"
    arch = _arch(t.machine, t.bits, t.big)
    os_abi = _OS_ABI.get(t.os_abi, t.os_abi.lower())
    by_name = {s.name: s for s in t.sections}
    found = _read_notes(view, _note_ranges(t), endianness)
    needed = [LinkedLibrary(name=n, how="DT_NEEDED") for n in t.dynamic.needed]
    libraries = tuple(needed + found.dlopen)
    facts = Facts(
        view=view,
        arch=arch,
        mappings=tuple(
            Mapping(vaddr=s.vaddr, offset=s.offset, size=s.filesz)
            for s in t.segments
            if s.type == elftables.PT_LOAD
        ),
        sections={name: Region(name, s.offset, s.size) for name, s in by_name.items()},
        go=_go_search(by_name, t.segments),
        package_notes=tuple(found.package_notes),
        libraries=libraries,
        library_location=".dynamic",
    )
    detected = detectors.run(facts)
    flags_1 = t.dynamic.flags_1
    is_pie_exe = t.file_type == "DYN" and (bool(flags_1 & _DF_1_PIE) or bool(t.interpreter))
    kind = _file_kind(t.file_type, is_pie_exe)
    pie = is_pie_exe if kind == "executable" else None
    return Binary(
        format="elf",
        arch=arch,
        bits=t.bits,
        endianness=endianness,
        os=_os_name(found.abi_os, os_abi, detected.go, t.interpreter, needed),
        os_abi=os_abi,
        file_type=kind,
        build_id=found.build_id,
        linkage=Linkage(
            static=not t.interpreter and not needed,
            interpreter=t.interpreter,
            libraries=libraries,
            rpath=t.dynamic.rpath,
            runpath=t.dynamic.runpath,
        ),
        hardening=_hardening(t, view, by_name, pie, detected.go),
        go=detected.go,
        rust=detected.rust,
        package_notes=tuple(found.package_notes),
        warnings=detected.warnings,
        errors=tuple(found.errors) + detected.errors,
    ), detected.components
