"""ELF images through lief: identity, linkage, hardening, notes, Go and Rust data."""

from __future__ import annotations

from typing import Any

import lief

from sbomsign._internal import notes
from sbomsign._internal.binary._common import (
    GO_SEARCH_SIZE,
    GO_SECTION_MAX,
    FileView,
    Mapping,
    go_inventory,
    library_components,
    rust_inventory,
    string_table_flags,
    text,
)
from sbomsign.errors import Error, InspectionError
from sbomsign.models import Binary, Component, Hardening, Linkage, LinkedLibrary, PackageNote

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
_DF_BIND_NOW = 0x8
_DF_1_NOW = 0x1
_DF_1_PIE = 0x08000000
_SHT_NOTE = 7
_PT_NOTE = 4


def _config() -> Any:
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
    return cfg


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


def inspect(path: str, view: FileView) -> tuple[Binary, tuple[Component, ...]]:
    """Inspect one ELF file: the binary's facts and the components found in it.

    Raises:
        InspectionError: lief cannot parse it, or a structure it needs is damaged.
    """
    binary = lief.ELF.parse(path, _config())
    if binary is None:
        raise InspectionError("not a parsable ELF file")
    header = binary.header
    bits = 64 if _name(header.identity_class) == "ELF64" else 32
    big = _name(header.identity_data) == "MSB"
    endianness = "big" if big else "little"
    arch = _arch(_name(header.machine_type), bits, big)
    os_abi = _OS_ABI.get(_name(header.identity_os_abi), _name(header.identity_os_abi).lower())
    warnings: list[str] = []
    errors: list[str] = []

    sections = list(binary.sections)
    segments = list(binary.segments)
    by_name = {text(s.name): s for s in sections}
    mappings = [
        Mapping(vaddr=s.virtual_address, offset=s.file_offset, size=s.physical_size)
        for s in segments
        if _name(s.type) == "LOAD"
    ]

    # Notes: from SHT_NOTE sections, or PT_NOTE segments when section headers are gone.
    note_ranges = [
        (text(s.name), s.offset, s.size) for s in sections if int(s.type.value) == _SHT_NOTE
    ] or [
        ("PT_NOTE", s.file_offset, s.physical_size)
        for s in segments
        if int(s.type.value) == _PT_NOTE
    ]
    build_id = ""
    abi_os = ""
    package_notes: list[PackageNote] = []
    dlopen: list[LinkedLibrary] = []
    for name, off, size in note_ranges:
        data = view.read(off, size)
        try:
            for owner, ntype, desc, rel in notes.iter_elf_notes(data, endianness):
                if owner == "GNU" and ntype == _GNU_BUILD_ID:
                    build_id = desc.hex()
                elif owner == "GNU" and ntype == _GNU_ABI_TAG and len(desc) >= 4:
                    abi_os = {0: "linux", 1: "hurd", 2: "solaris", 3: "freebsd"}.get(
                        int.from_bytes(desc[:4], "big" if big else "little"), ""
                    )
                elif owner == notes.FDO_OWNER and ntype == notes.PACKAGE_NOTE_TYPE:
                    package_notes.append(notes.package_note(desc, name, off + rel))
                elif owner == notes.FDO_OWNER and ntype == notes.DLOPEN_NOTE_TYPE:
                    dlopen.extend(notes.dlopen_libraries(desc))
        except Error as e:
            errors.append(f"{name}: {e.diagnostics()}")

    # Linkage.
    interpreter = text(binary.interpreter) if binary.has_interpreter else ""
    needed: list[LinkedLibrary] = []
    rpath: list[str] = []
    runpath: list[str] = []
    flags = flags_1 = 0
    for entry in binary.dynamic_entries:
        tag = _name(entry.tag)
        if tag == "NEEDED":
            needed.append(LinkedLibrary(name=text(entry.name), how="DT_NEEDED"))  # type: ignore[attr-defined]
        elif tag == "RPATH":
            rpath.extend(p for p in text(entry.rpath).split(":") if p)  # type: ignore[attr-defined]
        elif tag == "RUNPATH":
            runpath.extend(p for p in text(entry.runpath).split(":") if p)  # type: ignore[attr-defined]
        elif tag == "FLAGS":
            flags = int(entry.value)
        elif tag == "FLAGS_1":
            flags_1 = int(entry.value)
        elif tag == "BIND_NOW":
            flags |= _DF_BIND_NOW
    libraries = tuple(needed + dlopen)
    static = not interpreter and not needed

    # Hardening.
    file_type = _name(header.file_type)
    is_pie_exe = file_type == "DYN" and (bool(flags_1 & _DF_1_PIE) or bool(interpreter))
    if file_type == "EXEC" or is_pie_exe:
        kind = "executable"
    elif file_type == "DYN":
        kind = "shared-library"
    elif file_type == "REL":
        kind = "relocatable"
    else:
        kind = file_type.lower()
    seg_types = {_name(s.type) for s in segments}
    relro = "none"
    if "GNU_RELRO" in seg_types:
        relro = "full" if (flags & _DF_BIND_NOW or flags_1 & _DF_1_NOW) else "partial"
    tables = [(s.offset, s.size) for n in (".dynstr", ".strtab") if (s := by_name.get(n))]

    # Go build info: `.go.buildinfo`, else the first writable non-executable PT_LOAD.
    go_section = by_name.get(".go.buildinfo")
    if go_section is not None:
        go_off, go_size, go_loc = go_section.offset, go_section.size, ".go.buildinfo"
    else:
        writable = next(
            (s for s in segments if _name(s.type) == "LOAD" and _writable_data(s)), None
        )
        go_off, go_size, go_loc = (
            (writable.file_offset, writable.physical_size, "PT_LOAD (rw)")
            if writable is not None
            else (0, 0, "")
        )
    go = go_inventory(
        view,
        view.read(go_off, min(go_size, GO_SECTION_MAX if go_section else GO_SEARCH_SIZE))
        if go_size
        else b"",
        go_off if go_size else None,
        go_loc,
        mappings,
        view.mm if go_section is None or go_size else None,
    )
    if go.warning:
        warnings.append(go.warning)
    if go.error:
        errors.append(go.error)

    stack, fortify = string_table_flags(view, tables)
    stripped = ".symtab" not in by_name
    hardening = Hardening(
        pie=is_pie_exe if kind == "executable" else None,
        nx=bool(binary.has_nx),
        relro=relro,
        # NOTE: Go code does not use the C stack protector or FORTIFY; only cgo parts could,
        # so "absent" is reported only when the string tables were there to look at.
        stack_protector=stack
        if (stack or tables) and go.info is None
        else (True if stack else None),
        fortify=fortify if (fortify or tables) and go.info is None else (True if fortify else None),
        stripped=stripped,
    )

    # Rust (cargo-auditable).
    rust = None
    rust_components: tuple[Component, ...] = ()
    dep = by_name.get(".dep-v0")
    if dep is not None:
        try:
            rust, rust_components = rust_inventory(view.read(dep.offset, dep.size), dep.offset)
        except Error as e:
            errors.append(f".dep-v0: {e.diagnostics()}")

    os_name = abi_os or (os_abi if os_abi not in ("sysv", "") else "")
    if not os_name and go.info is not None:
        os_name = go.info.setting("GOOS") or ""
    if not os_name and ("linux" in interpreter or "ld-musl" in interpreter):
        os_name = "linux"
    if not os_name and any(lib.name.startswith(("libc.so", "ld-linux")) for lib in needed):
        os_name = "linux"

    components = (
        go.components
        + rust_components
        + notes.package_components(tuple(package_notes), arch)
        + library_components(libraries, ".dynamic")
    )
    return Binary(
        format="elf",
        arch=arch,
        bits=bits,
        endianness=endianness,
        os=os_name or "unknown",
        os_abi=os_abi,
        file_type=kind,
        build_id=build_id,
        linkage=Linkage(
            static=static,
            interpreter=interpreter,
            libraries=libraries,
            rpath=tuple(rpath),
            runpath=tuple(runpath),
        ),
        hardening=hardening,
        go=go.info,
        rust=rust,
        package_notes=tuple(package_notes),
        warnings=tuple(warnings),
        errors=tuple(errors),
    ), components


def _writable_data(segment: Any) -> bool:
    flags = str(segment.flags)
    return "W" in flags and "X" not in flags
