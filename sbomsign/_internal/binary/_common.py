"""Pieces shared by the ELF, PE and Mach-O readers: file view, address space, Go/Rust hooks."""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sbomsign.errors import InspectionError

#: Go's debug/buildinfo (up to Go 1.22) searches this much data from the start of a data
#: segment when there is no build-info section.
GO_SEARCH_SIZE = 64 * 1024
#: A dedicated build-info section is read whole (newer Go does), up to this bound: its module
#: list can pass 64 KiB in a large program, but never megabytes.
GO_SECTION_MAX = 16 << 20


class FileView:
    """Read-only random access to a file's bytes through one `mmap`, shared by all readers.

    Slices copy only what is asked for; whole-file searches run on the map itself, so a large
    binary is never held in Python memory.
    """

    def __init__(self, mm: mmap.mmap, base: int = 0) -> None:
        self.mm = mm
        self.base = base
        """Offset of this image inside the file (a fat Mach-O slice), added to every read."""

    def read(self, offset: int, size: int) -> bytes:
        """Up to `size` bytes at image offset `offset` (fewer at the end of the file)."""
        start = self.base + offset
        if offset < 0 or size < 0 or start > len(self.mm):
            return b""
        return self.mm[start : start + size]

    def holds(self, needle: bytes, offset: int, size: int) -> bool:
        """Whether `read(offset, size)` would contain `needle`, found without copying."""
        start = self.base + offset
        if offset < 0 or size < 0 or start > len(self.mm):
            return False
        return self.mm.find(needle, start, start + size) >= 0

    def at(self, base: int) -> FileView:
        """A view of the same file whose offsets start at `base` (a fat slice)."""
        return FileView(self.mm, base)


@dataclass(frozen=True)
class Mapping:
    """A file-backed memory range: virtual address, file offset and size."""

    vaddr: int
    offset: int
    size: int


class SegmentSpace:
    """Virtual-address reads through a binary's loadable segments (Go's old pointer format)."""

    def __init__(self, view: FileView, mappings: Sequence[Mapping]) -> None:
        self._view = view
        self._mappings = tuple(m for m in mappings if m.size > 0)

    def read(self, vaddr: int, size: int) -> bytes | None:
        """`size` bytes at `vaddr`, or None when the range is not entirely file-backed."""
        for m in self._mappings:
            if m.vaddr <= vaddr and vaddr + size <= m.vaddr + m.size:
                data = self._view.read(m.offset + (vaddr - m.vaddr), size)
                return data if len(data) == size else None
        return None


_STACK_CHK = re.compile(rb"\x00_{2,3}stack_chk_(?:fail|guard)\x00")
_FORTIFY = re.compile(rb"\x00_{2,3}[a-z0-9_]+_chk\x00")


def string_table_flags(view: FileView, tables: Iterable[tuple[int, int]]) -> tuple[bool, bool]:
    """(stack protector, FORTIFY) judged from symbol names in string tables.

    Searching the raw string tables finds `__stack_chk_fail` and `__*_chk` without asking lief
    to build symbol objects, which is the slow part of parsing a large binary.
    """
    stack = fortify = False
    for offset, size in tables:
        if size <= 0:
            continue
        start = view.base + offset
        end = min(start + size, len(view.mm))
        if not stack and _STACK_CHK.search(view.mm, start, end):
            stack = True
        if not fortify:
            for m in _FORTIFY.finditer(view.mm, start, end):
                if b"stack_chk" not in m.group(0):
                    fortify = True
                    break
        if stack and fortify:
            break
    return stack, fortify


def lief_source(path: str | None, view: FileView) -> str | bytes:
    """What lief parses: the file by name, or the bytes of a view that is part of a file."""
    return path if path is not None else view.mm[:]


def text(value: str | bytes) -> str:
    """A name lief returns as `str`, or as `bytes` when it is not valid UTF-8."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value


def check_bounds(offset: int, size: int, file_size: int, what: str) -> None:
    """Refuse a structure that claims to lie outside the file.

    Raises:
        InspectionError: the range is not inside the file.
    """
    if offset < 0 or size < 0 or offset + size > file_size:
        raise InspectionError(f"{what} lies outside the file (offset {offset}, size {size})")


def check_elf_header(head: bytes, file_size: int) -> None:
    """Refuse an ELF file whose header is inconsistent with its size before lief sees it.

    lief is lenient: it builds an object out of random bytes behind a valid magic. The checks
    are the ones any loader makes: known class, data encoding and version, and program and
    section header tables that lie inside the file.

    Raises:
        InspectionError: the header is truncated or inconsistent.
    """
    if len(head) < 52:
        raise InspectionError("truncated ELF header")
    cls, data, version = head[4], head[5], head[6]
    if cls not in (1, 2) or data not in (1, 2) or version != 1:
        raise InspectionError("invalid ELF identification bytes (class, encoding or version)")
    order: Literal["little", "big"] = "little" if data == 1 else "big"

    def u(off: int, n: int) -> int:
        return int.from_bytes(head[off : off + n], order)

    if cls == 2:
        if len(head) < 64:
            raise InspectionError("truncated ELF header")
        phoff, shoff = u(32, 8), u(40, 8)
        ehsize, phentsize, phnum, shentsize, shnum = (
            u(52, 2),
            u(54, 2),
            u(56, 2),
            u(58, 2),
            u(60, 2),
        )
        min_eh, min_ph, min_sh = 64, 56, 64
    else:
        phoff, shoff = u(28, 4), u(32, 4)
        ehsize, phentsize, phnum, shentsize, shnum = (
            u(40, 2),
            u(42, 2),
            u(44, 2),
            u(46, 2),
            u(48, 2),
        )
        min_eh, min_ph, min_sh = 52, 32, 40
    if u(20, 4) != 1 or ehsize < min_eh:
        raise InspectionError("invalid ELF header (version or header size)")
    if phnum and (phentsize < min_ph or phoff + phnum * phentsize > file_size):
        raise InspectionError("ELF program headers lie outside the file")
    if shnum and (shentsize < min_sh or shoff + shnum * shentsize > file_size):
        raise InspectionError("ELF section headers lie outside the file")
    if not phnum and not shnum:
        raise InspectionError("ELF file has neither program nor section headers")


def check_macho_header(head: bytes, file_size: int) -> None:
    """Refuse a thin Mach-O file whose load commands cannot fit in it.

    Raises:
        InspectionError: the header is truncated or inconsistent.
    """
    if len(head) < 28:
        raise InspectionError("truncated Mach-O header")
    order: Literal["little", "big"] = (
        "little" if head[:4] in (b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe") else "big"
    )
    is64 = head[:4] in (b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf")
    header_size = 32 if is64 else 28
    ncmds = int.from_bytes(head[16:20], order)
    sizeofcmds = int.from_bytes(head[20:24], order)
    if ncmds == 0 or sizeofcmds < 8 * ncmds or header_size + sizeofcmds > file_size:
        raise InspectionError("Mach-O load commands lie outside the file")
