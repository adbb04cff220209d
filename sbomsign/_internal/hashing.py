"""Streaming digests: sha1, sha256 and sha512 of a file in one pass over its bytes."""

from __future__ import annotations

import hashlib
import mmap
from typing import BinaryIO

from sbomsign.models import Digests

#: Read size. 1 MiB keeps the number of Python-level iterations low for large binaries while
#: holding only one chunk in memory.
CHUNK = 1 << 20


def digest_stream(stream: BinaryIO) -> tuple[Digests, int]:
    """Hash a stream to its end; return the digests and the number of bytes read."""
    h1, h256, h512 = hashlib.sha1(usedforsecurity=False), hashlib.sha256(), hashlib.sha512()
    size = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        n = stream.readinto(view)  # type: ignore[attr-defined]
        if not n:
            break
        chunk = view[:n]
        h1.update(chunk)
        h256.update(chunk)
        h512.update(chunk)
        size += n
    return Digests(sha256=h256.hexdigest(), sha512=h512.hexdigest(), sha1=h1.hexdigest()), size


def digest_buffer(data: bytes | memoryview | mmap.mmap) -> Digests:
    """Digests of a buffer (a mapped file), hashed in chunks: hashlib releases the GIL while
    it hashes, so another thread's work goes on meanwhile."""
    h1, h256, h512 = hashlib.sha1(usedforsecurity=False), hashlib.sha256(), hashlib.sha512()
    with memoryview(data) as view:
        for at in range(0, len(view), CHUNK):
            chunk = view[at : at + CHUNK]
            h1.update(chunk)
            h256.update(chunk)
            h512.update(chunk)
            chunk.release()
    return Digests(sha256=h256.hexdigest(), sha512=h512.hexdigest(), sha1=h1.hexdigest())


def digest_bytes(data: bytes) -> Digests:
    """Digests of an in-memory buffer."""
    return Digests(
        sha256=hashlib.sha256(data).hexdigest(),
        sha512=hashlib.sha512(data).hexdigest(),
        sha1=hashlib.sha1(data, usedforsecurity=False).hexdigest(),
    )


def sha256_file(stream: BinaryIO) -> str:
    """The sha256 of a stream, read in chunks (for signing large artifacts)."""
    h = hashlib.sha256()
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        h.update(chunk)
    return h.hexdigest()
