"""A minimal ELF section-header reader for tests, independent of the code under test."""

from __future__ import annotations

import struct


def elf_sections(data: bytes) -> dict[str, tuple[int, int, int]]:
    """name -> (type, offset, size), from the section headers (32/64-bit, LE/BE)."""
    e = "<" if data[5] == 1 else ">"
    if data[4] == 2:
        (shoff,) = struct.unpack_from(e + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x3A)
        fmt = e + "IIQQQQ"
    else:
        (shoff,) = struct.unpack_from(e + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x2E)
        fmt = e + "IIIIII"
    headers = [struct.unpack_from(fmt, data, shoff + i * shentsize) for i in range(shnum)]
    strtab = headers[shstrndx][4]
    out = {}
    for name_off, stype, _, _, offset, size in headers:
        start = strtab + name_off
        out[data[start : data.index(b"\0", start)].decode()] = (stype, offset, size)
    return out


def elf_section(data: bytes, wanted: str) -> tuple[bytes, int]:
    """(content, file offset) of a named section."""
    found = elf_sections(data).get(wanted)
    if found is None:
        raise AssertionError(f"no section {wanted}")
    _, offset, size = found
    return data[offset : offset + size], offset
