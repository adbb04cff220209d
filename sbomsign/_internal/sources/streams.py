"""Byte streams for archives and image blobs: digest checks, decompression, size caps.

Every stream read from an archive or a registry passes through here, so the limits hold the
same everywhere: a blob is checked against its digest while it is read (a mismatch is an
error at the end of the stream, never a warning); a decompressed stream stops with
`LimitExceeded` when it grows past its cap, so a decompression bomb costs at most the cap.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import mmap
import zlib
from typing import Any, Protocol

from sbomsign._internal.limits import LimitExceeded, limit
from sbomsign.errors import InputError


class Readable(Protocol):
    """Anything with `read(n)`: files, tar and zip members, response bodies, these streams."""

    def read(self, n: int = -1, /) -> bytes:
        """Up to `n` bytes; empty at the end."""
        ...

#: Largest decompressed layer or archive (bytes); `SBOMSIGN_MAX_LAYER_BYTES` raises it.
DEFAULT_MAX_LAYER_BYTES = 16 << 30
#: Largest single file taken out of a layer or archive to be scanned.
DEFAULT_MAX_BINARY_BYTES = 2 << 30
#: Largest manifest, index or config read (JSON documents of an image).
MAX_DOCUMENT_BYTES = 4 << 20


def max_layer_bytes() -> int:
    """The decompressed-size cap of one layer or archive."""
    return limit("SBOMSIGN_MAX_LAYER_BYTES", DEFAULT_MAX_LAYER_BYTES)


def max_binary_bytes() -> int:
    """The size cap of one file taken out of a layer or archive."""
    return limit("SBOMSIGN_MAX_BINARY_BYTES", DEFAULT_MAX_BINARY_BYTES)


class Verifying(io.RawIOBase):
    """Reads `inner` and checks, at its end, that the bytes have `digest` (and `size`)."""

    def __init__(self, inner: Readable, digest: str, size: int | None, what: str) -> None:
        algorithm, _, hexdigest = digest.partition(":")
        if algorithm not in ("sha256", "sha512") or not hexdigest:
            raise InputError(f"{what}: unsupported digest {digest!r}")
        self._inner = inner
        self._hash = hashlib.new(algorithm)
        self._want = hexdigest.lower()
        self._size = size
        self._seen = 0
        self._what = what
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        if not data:
            self._finish()
            return 0
        self._seen += len(data)
        if self._size is not None and self._seen > self._size:
            raise InputError(f"{self._what}: longer than its declared size {self._size}")
        self._hash.update(data)
        buffer[: len(data)] = data
        return len(data)

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        if self._size is not None and self._seen != self._size:
            raise InputError(
                f"{self._what}: {self._seen} bytes, but its descriptor says {self._size}"
            )
        if self._hash.hexdigest() != self._want:
            raise InputError(f"{self._what}: content does not match its digest")

    def drain(self) -> None:
        """Read to the end, so the digest is checked even if the reader stopped early."""
        while self.read(1 << 20):
            pass
        self._finish()


class Capped(io.RawIOBase):
    """Reads `inner` and raises `LimitExceeded` once more than `cap` bytes came out."""

    def __init__(self, inner: Readable, cap: int, what: str, variable: str) -> None:
        self._inner = inner
        self._cap = cap
        self._seen = 0
        self._what = what
        self._variable = variable

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self._inner.read(len(buffer))
        except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError) as e:
            raise InputError(f"{self._what}: corrupt compressed data ({first_line(e)})") from None
        self._seen += len(data)
        if self._seen > self._cap:
            raise LimitExceeded(
                f"{self._what}: decompresses to more than {self._cap} bytes "
                f"(raise {self._variable} to allow more)"
            )
        buffer[: len(data)] = data
        return len(data)


def mapped(path: str, what: str) -> mmap.mmap:
    """The file at `path` (a database copied out of an image), mapped read-only.

    Raises:
        InputError: the file is empty (nothing can be mapped).
    """
    with open(path, "rb") as f:
        try:
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:
            raise InputError(f"{what}: empty") from None


def first_line(e: BaseException) -> str:
    """An exception as one line for a message: its text's first line, or its type's name."""
    return (str(e).strip() or type(e).__name__).splitlines()[0]


class _Prefixed(io.RawIOBase):
    """`head` followed by the rest of `inner` (after peeking at the magic bytes)."""

    def __init__(self, head: bytes, inner: Readable) -> None:
        self._head = head
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


#: Magic bytes of the compressions layers and archives use.
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"BZh", "bzip2"),
)


def compression(head: bytes) -> str:
    """`gzip`, `zstd`, `xz`, `bzip2`, or `none`, from a stream's first bytes."""
    return next((name for magic, name in _MAGIC if head.startswith(magic)), "none")


def decompressed(raw: Readable, what: str, cap: int | None = None) -> Readable:
    """The uncompressed bytes of `raw`, whatever of the known compressions it uses, capped.

    Raises:
        InputError: zstd data without the `zstandard` module.
    """
    head = raw.read(6)
    kind = compression(head)
    source = io.BufferedReader(_Prefixed(head, raw), 1 << 16)
    inner: Readable
    if kind == "gzip":
        inner = gzip.GzipFile(fileobj=source, mode="rb")
    elif kind == "xz":
        inner = lzma.LZMAFile(source)
    elif kind == "bzip2":
        inner = bz2.BZ2File(source)
    elif kind == "zstd":
        import zstandard

        inner = zstandard.ZstdDecompressor().stream_reader(source, read_across_frames=True)
    else:
        inner = source
    capped = Capped(inner, max_layer_bytes() if cap is None else cap, what,
                    "SBOMSIGN_MAX_LAYER_BYTES")
    return io.BufferedReader(capped, 1 << 16)


def read_document(stream: Readable, what: str) -> bytes:
    """A small JSON document (manifest, index, config) read with its size bound."""
    data = stream.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise LimitExceeded(f"{what}: larger than {MAX_DOCUMENT_BYTES} bytes")
    return data


def json_object(data: bytes, what: str) -> dict[str, Any]:
    """A manifest, index or config: bounded-depth JSON that must be an object.

    Raises:
        InputError: not JSON, nested too deeply, or not an object.
    """
    from sbomsign._internal import jsonbound

    try:
        doc = jsonbound.loads(data)
    except (ValueError, jsonbound.TooDeep) as e:
        raise InputError(f"{what}: not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{what}: not a JSON object")
    return doc
