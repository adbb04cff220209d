"""rpm's "ndb" database (`usr/lib/sysimage/rpm/Packages.db`: SUSE Linux Enterprise 15, openSUSE
Leap and SUSE's BCI images): the package headers it stores.

The format is rpm's own (`lib/backend/ndb/rpmpkg.c`), little-endian throughout: a 16-byte
header (magic `RpmP`, version 0, generation, number of slot pages) fills the first slot of
the first of its 4 KiB slot pages; each following 16-byte slot (magic `Slot`, package index,
block offset, block count) names a package's block, counted in 16-byte blocks. A block is a
blob header (magic `BlbS`, package index, generation, blob length), the header blob as
`rpmdb.sqlite` stores it, padding, and a 12-byte tail at the block's end (checksum, blob
length, magic `BlbE`). Every offset and length is checked against the file and the tail.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator

from sbomsign._internal.sources.streams import mapped
from sbomsign.errors import InputError

_MAGIC, _SLOT, _BLOB, _TAIL = b"RpmP", b"Slot", b"BlbS", b"BlbE"
_PAGE, _BLOCK = 4096, 16
#: Most slot pages (256 packages each) read.
_MAX_SLOT_PAGES = 2048


def headers(path: str, what: str) -> Iterator[bytes]:
    """The header blob of every package in the database at `path`, in slot order.

    Raises:
        InputError: the file is not an ndb database or is damaged.
    """
    with mapped(path, what) as data:
        if len(data) < _PAGE or data[:4] != _MAGIC:
            raise InputError(f"{what}: not an rpm ndb database")
        version, _, pages = struct.unpack_from("<3I", data, 4)
        if version != 0 or not 0 < pages <= _MAX_SLOT_PAGES or pages * _PAGE > len(data):
            raise InputError(f"{what}: damaged ndb header")
        # NOTE: the header takes the first two slots' room.
        for slot in range(2, pages * _PAGE // _BLOCK):
            magic, index, offset, count = struct.unpack_from("<4s3I", data, slot * _BLOCK)
            if magic != _SLOT:
                raise InputError(f"{what}: damaged slot {slot}")
            if index:
                yield _blob(data, index, offset * _BLOCK, count * _BLOCK, what)


def _blob(data: mmap.mmap, index: int, start: int, size: int, what: str) -> bytes:
    end = start + size
    if size < 28 or end > len(data):
        raise InputError(f"{what}: package {index}: its block lies outside the file")
    magic, owner, _, length = struct.unpack_from("<4s3I", data, start)
    _, tail_length, tail = struct.unpack_from("<2I4s", data, end - 12)
    if magic != _BLOB or owner != index or tail != _TAIL or tail_length != length \
            or 16 + length + 12 > size:
        raise InputError(f"{what}: package {index}: damaged block")
    return bytes(data[start + 16 : start + 16 + length])
