"""RPM headers: the tag store of an `.rpm` file and of each row of `rpmdb.sqlite`.

A header is `il` index entries of 16 bytes (tag, type, offset, count; big-endian) and `dl`
bytes of data they point into (rpm's `lib/header.c`, the "header structure" of the RPM file
format in the LSB). An `.rpm` file has a 96-byte lead, a signature header padded to 8 bytes,
the main header, then the compressed cpio payload; `rpmdb.sqlite` stores each installed
package's main header without its 8-byte magic. Only the tags sbomsign uses are decoded, and
every offset and count is checked against the data before it is read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Protocol

from sbomsign.errors import InputError

NAME, VERSION, RELEASE, EPOCH = 1000, 1001, 1002, 1003
VENDOR, LICENSE, ARCH, SOURCERPM = 1011, 1014, 1022, 1044
PAYLOADFORMAT, PAYLOADCOMPRESSOR = 1124, 1125
DIRINDEXES, BASENAMES, DIRNAMES = 1116, 1117, 1118

_MAGIC = b"\x8e\xad\xe8\x01"
_LEAD_MAGIC = b"\xed\xab\xee\xdb"
_MAX_ENTRIES = 1 << 16
_MAX_DATA = 256 << 20
_INT_TYPES = {2: (">b", 1), 3: (">h", 2), 4: (">i", 4), 5: (">q", 8)}
_STRING, _BIN, _STRING_ARRAY, _I18N = 6, 7, 8, 9


class _Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Header:
    """Decoded tags: strings, string lists or integer lists."""

    tags: dict[int, str | tuple[str, ...] | tuple[int, ...]]

    def text(self, tag: int) -> str:
        """A string tag (the first of an array), or empty."""
        value = self.tags.get(tag)
        if isinstance(value, str):
            return value
        if isinstance(value, tuple) and value and isinstance(value[0], str):
            return value[0]
        return ""

    def number(self, tag: int) -> int | None:
        """The first integer of an integer tag, or None."""
        value = self.tags.get(tag)
        if isinstance(value, tuple) and value and isinstance(value[0], int):
            return value[0]
        return None

    def files(self) -> list[str]:
        """Absolute paths of the package's files (DIRNAMES[DIRINDEXES[i]] + BASENAMES[i])."""
        dirs, bases, indexes = (self.tags.get(t, ()) for t in (DIRNAMES, BASENAMES, DIRINDEXES))
        if not (isinstance(dirs, tuple) and isinstance(bases, tuple)
                and isinstance(indexes, tuple)):
            return []
        out = []
        for base, index in zip(bases, indexes, strict=False):
            if isinstance(index, int) and 0 <= index < len(dirs):
                out.append(f"{dirs[index]}{base}")
        return out


def parse_blob(blob: bytes, what: str) -> Header:
    """A header as `rpmdb.sqlite` stores it (`il`, `dl`, index, data; no magic).

    Raises:
        InputError: the blob is truncated or its entries point outside it.
    """
    if len(blob) < 8:
        raise InputError(f"{what}: rpm header too short")
    il, dl = struct.unpack(">II", blob[:8])
    if il > _MAX_ENTRIES or dl > _MAX_DATA or 8 + il * 16 + dl > len(blob):
        raise InputError(f"{what}: rpm header sizes do not fit the data")
    index = blob[8 : 8 + il * 16]
    data = blob[8 + il * 16 : 8 + il * 16 + dl]
    tags: dict[int, str | tuple[str, ...] | tuple[int, ...]] = {}
    for i in range(il):
        tag, kind, offset, count = struct.unpack(">IIiI", index[i * 16 : i * 16 + 16])
        if tag not in _WANTED:
            continue
        if offset < 0 or offset >= max(dl, 1) or count > dl + 1:
            raise InputError(f"{what}: rpm header tag {tag} points outside its data")
        tags[tag] = _value(data, kind, offset, count, what)
    return Header(tags)


_WANTED = frozenset({NAME, VERSION, RELEASE, EPOCH, VENDOR, LICENSE, ARCH, SOURCERPM,
                     PAYLOADFORMAT, PAYLOADCOMPRESSOR, DIRINDEXES, BASENAMES, DIRNAMES})


def _value(data: bytes, kind: int, offset: int, count: int,
           what: str) -> str | tuple[str, ...] | tuple[int, ...]:
    if kind in _INT_TYPES:
        fmt, size = _INT_TYPES[kind]
        end = offset + size * count
        if end > len(data):
            raise InputError(f"{what}: rpm header integers run past the data")
        return tuple(struct.unpack(f">{count}{fmt[1]}", data[offset:end]))
    if kind in (_STRING, _STRING_ARRAY, _I18N):
        strings = []
        pos = offset
        for _ in range(1 if kind == _STRING else count):
            end = data.find(b"\0", pos)
            if end < 0:
                raise InputError(f"{what}: rpm header string is not terminated")
            strings.append(data[pos:end].decode("utf-8", "replace"))
            pos = end + 1
        return strings[0] if kind == _STRING else tuple(strings)
    return ()


def read_package_header(stream: _Readable, what: str) -> Header:
    """The main header of an `.rpm` file, leaving `stream` at the start of the payload.

    Raises:
        InputError: not an rpm file, or its headers are damaged.
    """
    lead = stream.read(96)
    if len(lead) < 96 or lead[:4] != _LEAD_MAGIC:
        raise InputError(f"{what}: not an rpm package")
    _read_header(stream, what, pad=True)  # the signature header
    return _read_header(stream, what, pad=False)


def _read_header(stream: _Readable, what: str, *, pad: bool) -> Header:
    intro = stream.read(16)
    if len(intro) < 16 or intro[:4] != _MAGIC:
        raise InputError(f"{what}: rpm header magic missing")
    il, dl = struct.unpack(">II", intro[8:16])
    if il > _MAX_ENTRIES or dl > _MAX_DATA:
        raise InputError(f"{what}: rpm header sizes are out of bounds")
    body = stream.read(il * 16 + dl)
    if len(body) < il * 16 + dl:
        raise InputError(f"{what}: rpm header is truncated")
    if pad and (il * 16 + dl) % 8:
        stream.read(8 - (il * 16 + dl) % 8)
    return parse_blob(intro[8:16] + body, what)
