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


def with_second_interpreter(data: bytes) -> bytes:
    """A 64-bit little-endian ELF file with its PT_PHDR header made a second PT_INTERP: a file
    the loader refuses, whose choice of interpreter the direct ELF reader leaves to lief."""
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    (phnum,) = struct.unpack_from("<H", data, 0x38)
    types = [struct.unpack_from("<I", data, phoff + 56 * i)[0] for i in range(phnum)]
    out = bytearray(data)
    struct.pack_into("<I", out, phoff + 56 * types.index(6), 3)
    return bytes(out)
