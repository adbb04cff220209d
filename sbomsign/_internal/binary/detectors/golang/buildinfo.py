"""Go's build-info header, inline (Go 1.18+) and pointer formats, as `debug/buildinfo` reads it.

Where Go's reader quietly gives up ("not a Go executable", module info dropped), these
functions raise `InspectionError` instead when a header is present but damaged, so that the
caller can report the damage and try `recover.recover_from_blob`.
"""

from __future__ import annotations

import dataclasses
import mmap
from typing import Literal, Protocol

from sbomsign._internal.binary.detectors.golang.modinfo import (
    _ModInfo,
    _split_version,
    parse_modinfo,
)
from sbomsign._internal.binary.detectors.golang.version import derive_main_version
from sbomsign.errors import InspectionError
from sbomsign.models import (
    GoBuildInfo,
)

#: The 14 bytes that start a build-info header (`debug/buildinfo.buildInfoMagic`).
BUILDINFO_MAGIC = b"\xff Go buildinf:"
#: `cmd/go/internal/modload.infoStart`: the sentinel before the module-info text.
INFO_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
#: `cmd/go/internal/modload.infoEnd`: the sentinel after the module-info text.
INFO_END = bytes.fromhex("f932433186182072008242104116d8f2")
#: Largest version or module-info string accepted. Real module info is tens of KiB even for
#: the largest programs; anything bigger is damage or an attempt to exhaust memory.
MAX_STRING = 4 * 1024 * 1024

_ByteOrder = Literal["little", "big"]
_ALIGN = 16
_HEADER_SIZE = 32
_FLAG_BIG_ENDIAN = 0x1
_FLAG_POINTER_FREE = 0x2
_SENTINEL_SIZE = 16
# Bound on how many sentinel occurrences `recover_from_blob` examines: a hostile file could
# repeat the start sentinel millions of times.
_MAX_BLOB_TRIES = 64
_MAX_VERSION_CANDIDATES = 100_000



class AddressSpace(Protocol):
    """Reads a binary's memory image by virtual address (for the old pointer format)."""

    def read(self, vaddr: int, size: int) -> bytes | None:
        """`size` bytes at `vaddr`, or None when the range is not mapped from the file."""
        ...


# ---------------------------------------------------------------------------------------------
# Header


def find_buildinfo(
    data: bytes, data_offset: int | None, space: AddressSpace | None
) -> GoBuildInfo | None:
    """Find and decode the Go build-info header.

    `data` holds the bytes from Go's data start: the `.go.buildinfo` / `__go_buildinfo` section,
    else the first writable segment (ELF, Mach-O) or section (PE); it must start at a 16-byte
    aligned address, as sections and segments do. The header is searched for in all of `data`,
    at 16-byte aligned positions, and the pointer-free format's inline strings are read from it.
    Current Go (`searchMagic`) searches the whole section or segment and reads the strings
    wherever they end; Go 1.22 and older read only the first 64 KiB. Passing the whole section
    or segment therefore finds everything either finds. `data_offset` is the file offset of
    `data[0]` (it only serves to report `offset`). `space` resolves the pointers of the
    pre-1.18 format.

    Returns None when there is no header.

    Raises:
        InspectionError: a header is present but truncated or damaged, or the module
            information in it cannot be parsed.
    """
    pos = 0
    while True:
        i = data.find(BUILDINFO_MAGIC, pos)
        if i < 0:
            return None
        if i % _ALIGN == 0:
            break
        # NOTE: Go realigns and searches again from the next 16-byte boundary; a misaligned
        # match is string data that happens to contain the magic.
        pos = (i + _ALIGN - 1) & ~(_ALIGN - 1)
    if len(data) - i < _HEADER_SIZE:
        raise InspectionError("Go build-info header is truncated")
    ptr_size = data[i + 14]
    flags = data[i + 15]
    if flags & _FLAG_POINTER_FREE:
        raw_version, after = _inline_string(data, i + _HEADER_SIZE, "Go version")
        raw_mod, _ = _inline_string(data, after, "module information")
        pointer_free = True
    else:
        if ptr_size not in (4, 8):
            raise InspectionError(f"Go build-info header has pointer size {ptr_size}")
        if space is None:
            raise InspectionError("Go build info uses pointers but no address space was given")
        order: _ByteOrder = "big" if flags & _FLAG_BIG_ENDIAN else "little"
        version_ptr = int.from_bytes(data[i + 16 : i + 16 + ptr_size], order)
        mod_ptr = int.from_bytes(data[i + 16 + ptr_size : i + 16 + 2 * ptr_size], order)
        raw_version = _pointed_string(space, ptr_size, order, version_ptr, "Go version")
        raw_mod = _pointed_string(space, ptr_size, order, mod_ptr, "module information")
        pointer_free = False
    version = raw_version.decode("utf-8", "replace")
    if not version:
        raise InspectionError("Go build-info header records no Go version")
    modinfo = parse_modinfo(_strip_framing(raw_mod))
    return _build_info(
        version,
        modinfo,
        evidence="buildinfo",
        pointer_free=pointer_free,
        offset=None if data_offset is None else data_offset + i,
    )


def _uvarint(data: bytes | mmap.mmap, pos: int) -> tuple[int, int] | None:
    """Decode an unsigned LEB128 varint as Go's `binary.Uvarint`: (value, bytes) or None."""
    value = 0
    shift = 0
    for n in range(10):
        if pos + n >= len(data):
            return None
        b = data[pos + n]
        if n == 9 and b > 1:
            return None  # overflows 64 bits
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, n + 1
        shift += 7
    return None


def _encode_uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _inline_string(data: bytes, pos: int, what: str) -> tuple[bytes, int]:
    """A uvarint-length-prefixed string at `pos`: (bytes, position after it)."""
    decoded = _uvarint(data, pos)
    if decoded is None:
        raise InspectionError(f"Go build info: the length of the {what} is cut off or invalid")
    length, n = decoded
    if length > MAX_STRING:
        raise InspectionError(f"Go build info: implausible {what} length {length}")
    start = pos + n
    if start + length > len(data):
        raise InspectionError(f"Go build info: the {what} runs past the end of the data")
    return data[start : start + length], start + length


def _pointed_string(
    space: AddressSpace, ptr_size: int, order: _ByteOrder, addr: int, what: str
) -> bytes:
    """The Go string whose header `{data, len}` is at virtual address `addr`."""
    header = space.read(addr, 2 * ptr_size)
    if header is None or len(header) < 2 * ptr_size:
        raise InspectionError(f"Go build info: the {what} header at {addr:#x} is not mapped")
    data_addr = int.from_bytes(header[:ptr_size], order)
    length = int.from_bytes(header[ptr_size : 2 * ptr_size], order)
    if length == 0:
        # NOTE: binaries built outside module mode have an empty modinfo string {0, 0}.
        return b""
    if length > MAX_STRING:
        raise InspectionError(f"Go build info: implausible {what} length {length}")
    text = space.read(data_addr, length)
    if text is None or len(text) < length:
        raise InspectionError(f"Go build info: the {what} at {data_addr:#x} is not mapped")
    return bytes(text)


def _strip_framing(raw_mod: bytes) -> str:
    """Remove the 16-byte sentinels around module info, validated as Go does."""
    if not raw_mod:
        return ""  # built without module support
    if len(raw_mod) >= 2 * _SENTINEL_SIZE + 1 and raw_mod[-_SENTINEL_SIZE - 1] == 0x0A:
        return raw_mod[_SENTINEL_SIZE:-_SENTINEL_SIZE].decode("utf-8", "replace")
    # NOTE: Go drops such module info silently; for an inventory, losing every module without
    # a word would be worse than reporting the damage.
    raise InspectionError("Go build info: module information is not framed by its sentinels")








def _build_info(
    version: str, modinfo: _ModInfo, *, evidence: str, pointer_free: bool, offset: int | None
) -> GoBuildInfo:
    path, main, deps, settings = modinfo
    go_version, experiments = _split_version(version)
    info = GoBuildInfo(
        go_version=go_version,
        experiments=experiments,
        path=path,
        main=main,
        deps=deps,
        settings=settings,
        evidence=evidence,
        pointer_free=pointer_free,
        offset=offset,
    )
    main_version, source = derive_main_version(info)
    return dataclasses.replace(info, main_version=main_version, main_version_source=source)


