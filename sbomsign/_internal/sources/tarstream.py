"""Tar streams read once, front to back: image layers, release archives, package payloads.

A layer is read as it streams, and most of its bytes are file data. The standard library's
stream mode hands data on in 10 KiB pieces through several Python layers, and that was most of
the reading time of an image; here a member's data goes to its reader in the caller's own
read sizes, and a header costs one parse of one block.

Read: POSIX ustar, GNU (long names and long link names, base-256 numbers), pax extended
headers (`path`, `linkpath`, `size`; others are ignored, and so are global headers), and V7.
Where tarfile and Go's archive/tar (which container runtimes extract layers with) differ, this
reader does as Go does: the ustar name prefix is read only under the POSIX magic (tarfile also
takes it from GNU and V7 headers, where those bytes mean other things), and a global header
applies to no member (tarfile applies it to every later one). A member's data may end the
stream without padding or end blocks, as Go's writer leaves some layers.

Refused with `InputError` (one line): a header whose checksum or numbers are wrong, a stream
that ends inside a header or inside a member's data, a pax record that does not parse, an
extended header larger than `MAX_EXTENDED` or more than `MAX_CHAIN` of them before one member.
Sparse members (GNU `S` and pax `GNU.sparse.*`) are reported as `SPARSE` and their data is
skipped, never read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from sbomsign._internal.sources.streams import Readable
from sbomsign.errors import InputError

FILE, DIR, SYMLINK, HARDLINK, DEVICE, FIFO, SPARSE, OTHER = (
    "file", "dir", "symlink", "hardlink", "device", "fifo", "sparse", "other")

BLOCK = 512
#: Largest extended header (pax, GNU long name or link name) read into memory.
MAX_EXTENDED = 1 << 20
#: Most extended headers before one member.
MAX_CHAIN = 16

_ZERO = bytes(BLOCK)
_KINDS = {b"0": FILE, b"\0": FILE, b"7": FILE, b"1": HARDLINK, b"2": SYMLINK,
          b"3": DEVICE, b"4": DEVICE, b"5": DIR, b"6": FIFO, b"S": SPARSE}
#: Kinds whose size field says nothing: they have no data (tarfile and Go agree). A type this
#: reader does not know (`OTHER`) has its data skipped.
_HEADER_ONLY = frozenset({HARDLINK, SYMLINK, DEVICE, DIR, FIFO})
_EXTENDED = frozenset({b"L", b"K", b"x", b"X", b"g"})


class Member(NamedTuple):
    """One entry: its name, kind (`FILE`, `DIR`, ...), the size of its data, link target."""

    name: str
    kind: str
    size: int
    linkname: str


class TarReader:
    """The members of an uncompressed tar stream (`members`); while a file member is the
    current one, `read` gives its data."""

    def __init__(self, stream: Readable, what: str) -> None:
        self._stream = stream
        self._what = what
        self._left = 0
        """Bytes of the current member's data not yet read."""
        self._padding = 0

    def members(self) -> Iterator[Member]:
        """Each member in order; what the caller did not read of one is skipped after it.

        Raises:
            InputError: damaged tar data (see the module's docstring).
        """
        while True:
            block = self._header_block()
            if block is None:
                return
            member = self._member(block)
            self._left = member.size
            self._padding = -member.size % BLOCK
            yield member
            self._skip(self._left)
            self._left = 0
            self._pad()

    def read(self, n: int = -1) -> bytes:
        """Up to `n` bytes (all, for -1) of the current member's data; empty at its end.

        Raises:
            InputError: the stream ends before the member's data does.
        """
        want = self._left if n < 0 else min(n, self._left)
        if want <= 0:
            return b""
        data = self._stream.read(want)
        if len(data) < want:
            data += self._exactly(want - len(data), "a member's data")
        self._left -= len(data)
        return data

    # --- headers ----------------------------------------------------------------------------

    def _header_block(self) -> bytes | None:
        """The next header block; None at the end (end blocks, or the stream's end)."""
        block = self._stream.read(BLOCK)
        if not block:
            return None
        if len(block) < BLOCK:
            block += self._exactly(BLOCK - len(block), "a header")
        return None if block == _ZERO else block

    def _member(self, block: bytes) -> Member:
        """The member whose header chain starts with `block` (extended headers applied)."""
        name: str | None = None
        linkname: str | None = None
        size: int | None = None
        sparse = False
        for _ in range(MAX_CHAIN + 1):
            kind = block[156:157]
            if kind not in _EXTENDED:
                return self._plain(block, name, linkname, size, sparse)
            data = self._extended(block)
            if kind == b"L":
                name = _field(data)
            elif kind == b"K":
                linkname = _field(data)
            else:
                records = self._pax(data)
                if kind == b"g":
                    # NOTE: a global header is checked like any other, but applies to no
                    # member, as Go's reader leaves it (tarfile applies it to every later one).
                    records = {}
                name = records.get("path", name)
                linkname = records.get("linkpath", linkname)
                if "size" in records:
                    size = self._decimal(records["size"])
                sparse = sparse or any(k.startswith("GNU.sparse.") for k in records)
            following = self._header_block()
            if following is None:
                raise self._damaged("an extended header with no member after it")
            block = following
        raise self._damaged(f"more than {MAX_CHAIN} extended headers before one member")

    def _plain(self, block: bytes, name: str | None, linkname: str | None, size: int | None,
               sparse: bool) -> Member:
        self._check(block)
        flag = block[156:157]
        own = _field(block[:100])
        if block[257:263] == b"ustar\0":
            prefix = _field(block[345:500])
            if prefix:
                own = prefix + "/" + own
        kind = _KINDS.get(flag, OTHER)
        if kind == FILE and flag == b"\0" and own.endswith("/"):
            kind = DIR  # NOTE: V7 wrote a directory as a file whose name ends in a slash
        if flag == b"S":
            self._skip_sparse_map(block)
        if sparse:
            kind = SPARSE
        data = self._number(block[124:136]) if size is None else size
        name = own if name is None else name
        return Member(
            # NOTE: a directory's trailing slashes go, as tarfile drops them: the root is
            # often written as "/" or "./".
            name=name.rstrip("/") if kind == DIR else name,
            kind=kind,
            size=0 if kind in _HEADER_ONLY else data,
            linkname=_field(block[157:257]) if linkname is None else linkname,
        )

    def _extended(self, block: bytes) -> bytes:
        self._check(block)
        size = self._number(block[124:136])
        if size > MAX_EXTENDED:
            raise self._damaged(f"an extended header of {size} bytes (at most {MAX_EXTENDED})")
        data = self._exactly(size, "an extended header")
        self._exactly(-size % BLOCK, "an extended header")
        return data

    def _skip_sparse_map(self, block: bytes) -> None:
        """Step over an old GNU sparse member's extension blocks (its data is skipped)."""
        extended = block[482]
        for _ in range(MAX_EXTENDED // BLOCK):
            if not extended:
                return
            extended = self._exactly(BLOCK, "a sparse map")[504]
        raise self._damaged("a sparse map without end")

    def _pax(self, data: bytes) -> dict[str, str]:
        """The records (`LENGTH KEY=VALUE\\n`) of a pax extended header."""
        records: dict[str, str] = {}
        at = 0
        while at < len(data) and data[at] != 0:
            space = data.find(b" ", at, at + 21)
            if space < 0 or not data[at:space].isdigit():
                raise self._damaged("a pax record without its length")
            end = at + int(data[at:space])
            if end <= space or end > len(data) or data[end - 1] != 0x0A:
                raise self._damaged("a pax record of the wrong length")
            key, eq, value = data[space + 1:end - 1].partition(b"=")
            if not eq:
                raise self._damaged("a pax record without '='")
            records[_text(key)] = _text(value)
            at = end
        return records

    # --- fields -----------------------------------------------------------------------------

    def _check(self, block: bytes) -> None:
        stated = self._number(block[148:156])
        unsigned = sum(block[:148]) + 256 + sum(block[156:])
        if stated != unsigned and stated != _signed_sum(block):
            raise self._damaged("a header checksum does not match")

    def _number(self, field: bytes) -> int:
        """A numeric field: octal text, or GNU base-256 (first byte 0x80, or 0xff: negative)."""
        if field[0] in (0x80, 0xFF):
            value = int.from_bytes(field[1:], "big")
            if field[0] == 0xFF:
                value -= 256 ** (len(field) - 1)
        else:
            text = field.split(b"\0", 1)[0].strip(b" ")
            try:
                value = int(text, 8) if text else 0
            except ValueError:
                raise self._damaged("a header number is not octal") from None
        if value < 0:
            raise self._damaged("a negative header number")
        return value

    def _decimal(self, text: str) -> int:
        if not text.isascii() or not text.isdigit():
            raise self._damaged(f"a pax size {text[:20]!r}")
        return int(text)

    # --- the stream -------------------------------------------------------------------------

    def _exactly(self, n: int, what: str) -> bytes:
        """`n` bytes, or `InputError` when the stream ends first."""
        parts = []
        while n > 0:
            data = self._stream.read(min(n, 1 << 20))
            if not data:
                raise self._damaged(f"it ends inside {what}")
            parts.append(data)
            n -= len(data)
        return b"".join(parts)

    def _pad(self) -> None:
        """Step over the current member's padding. A stream may end right after the last
        member's data, without it."""
        n = self._padding
        while n > 0:
            data = self._stream.read(n)
            if not data:
                return
            n -= len(data)

    def _skip(self, n: int) -> None:
        while n > 0:
            n -= len(self._exactly(min(n, 1 << 20), "a member's data"))

    def _damaged(self, reason: str) -> InputError:
        return InputError(f"{self._what}: damaged tar data ({reason})")


def _field(raw: bytes) -> str:
    """A name field: its text up to the first NUL."""
    return _text(raw.split(b"\0", 1)[0])


def _text(raw: bytes) -> str:
    """Names as the standard library's tarfile decodes them: UTF-8, other bytes kept as
    surrogates."""
    return raw.decode("utf-8", "surrogateescape")


def _signed_sum(block: bytes) -> int:
    """The checksum as some old writers computed it, over signed bytes."""
    signed = sum(b - 256 if b > 127 else b for b in block[:148])
    return signed + 256 + sum(b - 256 if b > 127 else b for b in block[156:])
