"""An ELF file's tables read without lief, for the plain files that are nearly all of them.

Loading lief costs more than parsing every binary of a small image, and an ELF reader needs
only the header, the section and program headers, the interpreter and the dynamic table from
it; everything else is already read from the raw bytes. This module reads those tables itself,
and only from files where it and lief cannot disagree: every table inside the file, one
`PT_INTERP` and one `PT_DYNAMIC` whose bytes the `PT_LOAD` holding it maps at the same
offset, NUL-terminated UTF-8 names, a machine and OS ABI whose names it knows. Anything else
raises `Declined`, and lief reads the file, so a damaged or unusual file is judged by the
same parser as every PE and Mach-O file. The differential tests
(`tests/integration/test_elftables.py`, the `elf_tables` fuzz harness) hold both readers to
equal tables.
"""

from __future__ import annotations

import mmap
import struct
import sys
from dataclasses import dataclass
from typing import Literal, NamedTuple

#: e_machine values and the names lief gives them (tied to lief by a test).
MACHINES = {
    2: "SPARC", 3: "I386", 4: "M68K", 8: "MIPS", 10: "MIPS_RS3_LE", 15: "PARISC", 20: "PPC",
    21: "PPC64", 22: "S390", 40: "ARM", 42: "SH", 43: "SPARCV9", 50: "IA_64", 62: "X86_64",
    94: "XTENSA", 183: "AARCH64", 224: "AMDGPU", 243: "RISCV", 247: "BPF", 258: "LOONGARCH",
}
#: EI_OSABI values and lief's names.
OS_ABIS = {
    0: "SYSTEMV", 2: "NETBSD", 3: "LINUX", 6: "SOLARIS", 7: "AIX", 9: "FREEBSD",
    12: "OPENBSD", 97: "ARM", 255: "STANDALONE",
}
FILE_TYPES = {1: "REL", 2: "EXEC", 3: "DYN", 4: "CORE"}
#: lief takes a file's byte order from e_machine where the machine has only one, and from the
#: host's where it has both, before EI_DATA; a file where that and EI_DATA disagree is left
#: to it. Machines of one byte order, big and little, and of both:
_BIG_ONLY = frozenset({2, 4, 22, 43, 46, 92})
_LITTLE_ONLY = frozenset({3, 41, 62, 76, 113, 164, 258})
_BOTH_ORDERS = frozenset({8, 20, 21, 40, 42, 45, 50, 94, 183})

PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE = 1, 2, 3, 4
PT_GNU_STACK, PT_GNU_RELRO = 0x6474E551, 0x6474E552
SHT_NOTE = 7
#: The section and segment types the ELF reader looks at. Others are kept as 0: lief names
#: processor- and OS-specific types by machine, or not at all, so their numbers are not
#: compared.
SECTION_TYPES = frozenset({SHT_NOTE})
SEGMENT_TYPES = frozenset({PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE, PT_GNU_STACK, PT_GNU_RELRO})
PF_X, PF_W = 1, 2
#: The permission bits; lief keeps only these of a segment's flags.
RWX = 7
DT_NULL, DT_NEEDED, DT_STRTAB, DT_RPATH, DT_BIND_NOW, DT_RUNPATH, DT_FLAGS = 0, 1, 5, 15, 24, 29, 30
DT_FLAGS_1 = 0x6FFFFFFB
#: DF_BIND_NOW in DT_FLAGS, which a DT_BIND_NOW entry also means.
DF_BIND_NOW = 0x8
_EM_PPC64 = 21
#: lief reads at most this many dynamic entries; a longer table is left to it.
_MAX_DYNAMIC = 1000
_SHN_LORESERVE = 0xFF00
#: Largest section name table read here (real ones hold a few hundred bytes; a C++ object
#: with a section per function, some hundred kilobytes).
_MAX_NAMES = 4 << 20
#: lief reads at most this many program headers.
_MAX_SEGMENTS = 10000


class Declined(Exception):
    """The file is not plain enough for this reader to be sure of lief's answer."""


class Section(NamedTuple):
    """One section header (a named tuple: a file has dozens, made faster than dataclasses)."""

    name: str
    type: int
    """sh_type if it is in `SECTION_TYPES`, else 0."""
    offset: int
    size: int


class Segment(NamedTuple):
    """One program header."""

    type: int
    """p_type if it is in `SEGMENT_TYPES`, else 0."""
    offset: int
    filesz: int
    vaddr: int
    memsz: int
    flags: int
    """PF_R, PF_W and PF_X; OS and processor bits are dropped, as lief drops them."""


@dataclass(frozen=True)
class Dynamic:
    """What the dynamic table says about linking and binding."""

    needed: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    flags: int = 0
    flags_1: int = 0


@dataclass(frozen=True)
class Tables:
    """The parts of an ELF file the ELF reader takes from a parser."""

    bits: int
    big: bool
    machine: str
    """lief's name for e_machine (`X86_64`, `LOONGARCH`)."""
    os_abi: str
    file_type: str
    sections: tuple[Section, ...]
    segments: tuple[Segment, ...]
    interpreter: str
    dynamic: Dynamic
    nx: bool


def kind(value: int, used: frozenset[int]) -> int:
    """A section or segment type as `Tables` keeps it: itself if used, else 0."""
    return value if value in used else 0


def dynamic_from(entries: list[tuple[int, int, str]]) -> Dynamic:
    """The linking facts of dynamic entries (tag, value, string), in table order."""
    needed: list[str] = []
    rpath: list[str] = []
    runpath: list[str] = []
    flags = flags_1 = 0
    for tag, value, string in entries:
        if tag == DT_NEEDED:
            needed.append(string)
        elif tag == DT_RPATH:
            rpath.extend(p for p in string.split(":") if p)
        elif tag == DT_RUNPATH:
            runpath.extend(p for p in string.split(":") if p)
        elif tag == DT_FLAGS:
            flags = value
        elif tag == DT_FLAGS_1:
            flags_1 = value
        elif tag == DT_BIND_NOW:
            flags |= DF_BIND_NOW
    return Dynamic(tuple(needed), tuple(rpath), tuple(runpath), flags, flags_1)


def has_nx(machine: str, segments: tuple[Segment, ...]) -> bool:
    """Whether the stack is not executable: the first `PT_GNU_STACK` lacks X (lief's rule,
    under which PPC64's ABI default is a non-executable stack)."""
    stack = next((s for s in segments if s.type == PT_GNU_STACK), None)
    if stack is None:
        return machine == MACHINES[_EM_PPC64]
    return not stack.flags & PF_X


class _Reader:
    """The file's map and the layouts of its class and byte order."""

    def __init__(self, mm: mmap.mmap, bits: int, big: bool) -> None:
        self.mm = mm
        self.big = big
        e = ">" if big else "<"
        if bits == 64:
            # e_type .. e_shstrndx; p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz,
            # p_memsz, p_align; sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, ...
            self.ehdr = struct.Struct(e + "HHIQQQIHHHHHH")
            self.phdr = struct.Struct(e + "IIQQQQQQ")
            self.shdr = struct.Struct(e + "IIQQQQIIQQ")
            self.dyn = struct.Struct(e + "QQ")
        else:
            # p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align
            self.ehdr = struct.Struct(e + "HHIIIIIHHHHHH")
            self.phdr = struct.Struct(e + "IIIIIIII")
            self.shdr = struct.Struct(e + "IIIIIIIIII")
            self.dyn = struct.Struct(e + "II")

    def table(self, layout: struct.Struct, offset: int, count: int) -> list[tuple[int, ...]]:
        end = offset + count * layout.size
        if end > len(self.mm):
            raise Declined("table outside the file")
        return list(layout.iter_unpack(self.mm[offset:end]))

    def string(self, start: int, end: int) -> str:
        """The NUL-terminated UTF-8 string at `start`, which must end before `end`."""
        stop = self.mm.find(b"\0", start, end) if 0 <= start < end else -1
        if stop < 0:
            raise Declined("unterminated string")
        try:
            return self.mm[start:stop].decode("utf-8")
        except UnicodeDecodeError:
            raise Declined("string is not UTF-8") from None


def _liefs_order(head: bytes) -> str:
    """The byte order lief reads a file in (its reasoning from e_machine, then EI_DATA)."""
    host = sys.byteorder
    other: Literal["little", "big"] = "big" if host == "little" else "little"
    native, swapped = int.from_bytes(head[18:20], host), int.from_bytes(head[18:20], other)
    for machine in (native, swapped):
        if machine in _BIG_ONLY:
            return "big"
        if machine in _LITTLE_ONLY:
            return "little"
    if native in _BOTH_ORDERS:
        return host
    if swapped in _BOTH_ORDERS:
        return other
    return "big" if head[5] == 2 else "little"


def read(mm: mmap.mmap) -> Tables:
    """Read the tables of the ELF file in `mm` (whose header `check_elf_header` accepted).

    Raises:
        Declined: the file has anything this reader leaves to lief.
    """
    head = mm[:64]
    bits = 64 if head[4] == 2 else 32
    big = head[5] == 2
    if _liefs_order(head) != ("big" if big else "little"):
        raise Declined("EI_DATA disagrees with the machine's byte order")
    r = _Reader(mm, bits, big)
    (e_type, e_machine, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum,
     shstrndx) = r.ehdr.unpack_from(head, 16)
    machine = MACHINES.get(e_machine)
    os_abi = OS_ABIS.get(head[7])
    file_type = FILE_TYPES.get(e_type)
    if machine is None or os_abi is None or file_type is None:
        raise Declined("machine, OS ABI or file type lief names differently")
    if (phnum and phentsize != r.phdr.size) or (shnum and shentsize != r.shdr.size):
        raise Declined("unusual header table entry size")
    segments = _segments(r, bits, phoff if phnum else 0, phnum)
    sections = _sections(r, shoff if shnum else 0, shnum, shstrndx)
    return Tables(
        bits=bits,
        big=big,
        machine=machine,
        os_abi=os_abi,
        file_type=file_type,
        sections=sections,
        segments=segments,
        interpreter=_interpreter(r, segments),
        dynamic=_dynamic(r, segments),
        nx=has_nx(machine, segments),
    )


def _segments(r: _Reader, bits: int, off: int, count: int) -> tuple[Segment, ...]:
    if not off:
        return ()
    if count > _MAX_SEGMENTS:
        raise Declined("more program headers than lief reads")
    out = []
    for row in r.table(r.phdr, off, count):
        if bits == 64:
            p_type, flags, offset, vaddr, _, filesz, memsz, _ = row
        else:
            p_type, offset, vaddr, _, filesz, memsz, flags, _ = row
        if offset + filesz > len(r.mm):
            raise Declined("segment outside the file")
        out.append(Segment(kind(p_type, SEGMENT_TYPES), offset, filesz, vaddr, memsz,
                           flags & RWX))
    return tuple(out)


def _sections(r: _Reader, off: int, count: int, names_index: int) -> tuple[Section, ...]:
    if not off:
        return ()
    if count >= _SHN_LORESERVE:
        raise Declined("extended section numbering")
    rows = r.table(r.shdr, off, count)
    if not 0 < names_index < count:
        raise Declined("no section name table")
    names_at, names_size = rows[names_index][4:6]
    if names_size > _MAX_NAMES:
        raise Declined("section name table larger than names need")
    names = r.mm[names_at : names_at + names_size]
    used = SECTION_TYPES
    return tuple(
        Section(_name_at(names, row[0]), row[1] if row[1] in used else 0, row[4], row[5])
        for row in rows
    )


def _name_at(names: bytes, at: int) -> str:
    """The NUL-terminated UTF-8 name at `at` of the section name table."""
    stop = names.find(b"\0", at) if at < len(names) else -1
    if stop < 0:
        raise Declined("section name outside its table")
    try:
        return names[at:stop].decode("utf-8")
    except UnicodeDecodeError:
        raise Declined("section name is not UTF-8") from None


def _only(segments: tuple[Segment, ...], kind: int) -> Segment | None:
    found = [s for s in segments if s.type == kind]
    if len(found) > 1:
        raise Declined("more than one segment of a kind the loader takes once")
    return found[0] if found else None


def _interpreter(r: _Reader, segments: tuple[Segment, ...]) -> str:
    interp = _only(segments, PT_INTERP)
    if interp is None:
        return ""
    return r.string(interp.offset, interp.offset + interp.filesz)


def _load_at(segments: tuple[Segment, ...], vaddr: int, size: int = 1) -> Segment | None:
    """The `PT_LOAD` mapping `[vaddr, vaddr + size)`: the last one, as the loader maps them."""
    loads = [
        s for s in segments
        if s.type == PT_LOAD and s.vaddr <= vaddr and vaddr + size <= s.vaddr + s.memsz
    ]
    return loads[-1] if loads else None


def _dynamic(r: _Reader, segments: tuple[Segment, ...]) -> Dynamic:
    dyn = _only(segments, PT_DYNAMIC)
    if dyn is None:
        return Dynamic()
    load = _load_at(segments, dyn.vaddr, dyn.memsz) if dyn.memsz else None
    if load is None or load.offset + (dyn.vaddr - load.vaddr) != dyn.offset:
        raise Declined("dynamic table not where its segment maps it")
    size = min(dyn.filesz, load.offset + load.filesz - dyn.offset, _MAX_DYNAMIC * r.dyn.size)
    entries = _until_null(r.table(r.dyn, dyn.offset, size // r.dyn.size))
    strtab = next((v for t, v in entries if t == DT_STRTAB), None)
    strings_at = _file_offset(segments, strtab) if strtab is not None else None
    named = []
    for tag, value in entries:
        string = ""
        if tag in (DT_NEEDED, DT_RPATH, DT_RUNPATH):
            if strings_at is None:
                raise Declined("dynamic strings without a string table")
            string = r.string(strings_at + value, len(r.mm))
        named.append((tag, value, string))
    return dynamic_from(named)


def _until_null(rows: list[tuple[int, ...]]) -> list[tuple[int, int]]:
    """The entries before DT_NULL, which must be among `rows`."""
    for i, (tag, _) in enumerate(rows):
        if tag == DT_NULL:
            return [(t, v) for t, v in rows[:i]]
    raise Declined("dynamic table without its end inside the segment")


def _file_offset(segments: tuple[Segment, ...], vaddr: int) -> int:
    """Where the file holds address `vaddr`: the first `PT_LOAD` mapping it (lief's rule)."""
    load = next(
        (s for s in segments if s.type == PT_LOAD and s.vaddr <= vaddr < s.vaddr + s.memsz), None
    )
    if load is None:
        raise Declined("string table outside every segment")
    return vaddr - load.vaddr + load.offset
