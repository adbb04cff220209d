"""rpm's Berkeley DB database (`var/lib/rpm/Packages`: RHEL/UBI 8 and older, CentOS 7, Amazon
Linux 2): the package headers it stores, read without Berkeley DB.

`Packages` is a Berkeley DB hash database (Berkeley DB's `db_page.h`): page 0 is the hash
metadata page (magic 0x061561, page size, last page); every other page starts with a 26-byte
header (page number, previous and next page, entry count, free-area offset, level, type). A
hash page (type 13, or 2 before Berkeley DB 4.6) holds key/value items at the offsets of its
index; a value is either inline (`H_KEYDATA`) or stored off-page (`H_OFFPAGE`: first page and
length) in a chain of overflow pages (type 7) linked by their next-page numbers, each holding
as many bytes as its free-area offset says. Each value is one package's header blob, as
`rpmdb.sqlite` stores it. The byte order is the one the magic number is written in.

Every page number, offset and length is checked against the file; a chain that loops,
shares a page with another or runs past its stated length is refused.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator

from sbomsign._internal.sources.streams import mapped
from sbomsign.errors import InputError

_HASH_MAGIC = 0x061561
_HASHMETA, _HASH, _HASH_UNSORTED, _OVERFLOW = 8, 13, 2, 7
_KEYDATA, _OFFPAGE = 1, 3
_COUNTER_KEY = b"\x01\x00\x00\x00\x00"  # an inline key of four zero bytes
_PAGE_HEADER = 26
_PAGE_SIZES = frozenset(1 << n for n in range(9, 17))
#: Largest header blob taken from one chain (rpm's own limit on a header is 256 MiB).
_MAX_VALUE = 256 << 20


def headers(path: str, what: str) -> Iterator[bytes]:
    """The header blob of every package in the database at `path`, in page order.

    Raises:
        InputError: the file is not a Berkeley DB hash database, is encrypted, or is damaged.
    """
    with mapped(path, what) as data:
        yield from _Database(data, what).values()


class _Database:
    def __init__(self, data: mmap.mmap, what: str) -> None:
        self.data, self.what = data, what
        if len(data) < 512:
            raise InputError(f"{what}: not a Berkeley DB database (too short)")
        for order in ("<", ">"):
            if struct.unpack_from(order + "I", data, 12)[0] == _HASH_MAGIC:
                self.order = order
                break
        else:
            raise InputError(f"{what}: not a Berkeley DB hash database")
        self.page_size = self._u32(20)
        encrypted, kind = data[24], data[25]
        if self.page_size not in _PAGE_SIZES or kind != _HASHMETA:
            raise InputError(f"{what}: damaged Berkeley DB metadata page")
        if encrypted:
            raise InputError(f"{what}: an encrypted Berkeley DB database is not read")
        self.pages = min(self._u32(32) + 1, len(data) // self.page_size)
        self.used: set[int] = set()

    def _u32(self, offset: int) -> int:
        return int(struct.unpack_from(self.order + "I", self.data, offset)[0])

    def _u16(self, offset: int) -> int:
        return int(struct.unpack_from(self.order + "H", self.data, offset)[0])

    def values(self) -> Iterator[bytes]:
        for number in range(1, self.pages):
            start = number * self.page_size
            if self.data[start + 25] in (_HASH, _HASH_UNSORTED):
                yield from self._page_values(start)

    def _page_values(self, start: int) -> Iterator[bytes]:
        entries = self._u16(start + 20)
        if _PAGE_HEADER + 2 * entries > self.page_size:
            raise InputError(f"{self.what}: damaged hash page {start // self.page_size}")
        offsets = [self._u16(start + _PAGE_HEADER + 2 * i) for i in range(entries)]
        # Items alternate key, value, packed from the page's end downwards.
        for i in range(1, entries, 2):
            # the value ends where its key begins; the key, where the item before it begins
            offset, key = offsets[i], offsets[i - 1]
            key_end = offsets[i - 2] if i > 1 else self.page_size
            if not _PAGE_HEADER + 2 * entries <= offset < key < key_end <= self.page_size:
                raise InputError(f"{self.what}: damaged item on page {start // self.page_size}")
            if self.data[start + key : start + key_end] == _COUNTER_KEY:
                continue  # rpm's record 0: the last header number it gave, not a header
            kind = self.data[start + offset]
            if kind == _KEYDATA:
                yield bytes(self.data[start + offset + 1 : start + key])
            elif kind == _OFFPAGE and key - offset >= 12:
                yield self._chain(self._u32(start + offset + 4), self._u32(start + offset + 8))

    def _chain(self, number: int, length: int) -> bytes:
        """`length` bytes from the overflow pages starting at `number`."""
        if length > _MAX_VALUE:
            raise InputError(f"{self.what}: a value of {length} bytes (at most {_MAX_VALUE})")
        out = bytearray()
        while len(out) < length:
            # NOTE: a page belongs to one chain; one shared by two (or a loop) is damage, and
            # refusing it keeps the work within the file's size.
            if not 0 < number < self.pages or number in self.used:
                raise InputError(f"{self.what}: broken overflow chain at page {number}")
            self.used.add(number)
            start = number * self.page_size
            used = self._u16(start + 22)
            if self.data[start + 25] != _OVERFLOW or used > self.page_size - _PAGE_HEADER:
                raise InputError(f"{self.what}: page {number} is not an overflow page")
            out += self.data[start + _PAGE_HEADER : start + _PAGE_HEADER + used]
            number = self._u32(start + 16)
        if len(out) != length:
            raise InputError(f"{self.what}: an overflow chain holds {len(out)} bytes, "
                             f"not {length}")
        return bytes(out)
