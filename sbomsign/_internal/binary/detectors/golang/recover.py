"""Recovery of Go modules from the module-info blob when the build-info header is gone.
"""

from __future__ import annotations

import mmap
import re

from sbomsign._internal.binary.detectors.golang.buildinfo import (
    _MAX_BLOB_TRIES,
    _MAX_VERSION_CANDIDATES,
    _SENTINEL_SIZE,
    INFO_END,
    INFO_START,
    MAX_STRING,
    _build_info,
    _encode_uvarint,
)
from sbomsign._internal.binary.detectors.golang.modinfo import _ModInfo, parse_modinfo
from sbomsign.errors import InspectionError
from sbomsign.models import (
    GoBuildInfo,
)

# ---------------------------------------------------------------------------------------------
# Recovery from the module-info blob

_GO_VERSION_AT = re.compile(
    rb"go1\.(\d{1,3})(?:\.(\d{1,3}))?(?:(rc|beta)(\d{1,3}))?(?: X:([a-z0-9_,]+))?"
)
# A version string does not continue a word or a path ("ago1.2", "dl/go1.21.0").
_NOT_BEFORE_VERSION = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-"
)
_INLINE_VERSION = re.compile(rb"(?:go1\.|devel )[\x20-\x7e]{1,200}")


def recover_from_blob(buf: bytes | mmap.mmap) -> GoBuildInfo | None:
    """Recover Go build info from the module-info blob when the header is missing or damaged.

    `buf` is the whole file (an `mmap` is searched in place, never copied). A blob is the text
    between the start and end sentinels that ends in a newline and parses as module info; the
    linker leaves one copy as `runtime.modinfo`'s data and, in the pointer-free layout, one after
    the header. The copy in the pointer-free layout is preferred because the Go version sits
    right before it; else the first blob is used. `offset` is the file offset of the chosen
    blob's start sentinel and `evidence` is `modinfo-sentinels`.

    The Go version comes, in order of trust, from:

    1. the pointer-free layout: the blob directly preceded by its uvarint length, itself
       preceded by a uvarint-prefixed `go1...` string (the header's two inline strings); this
       also sets `pointer_free`, which is False otherwise (the layout is unknown);
    2. a search of the whole file for `go1.N[.M][rcN|betaN][ X:...]` strings, the form of
       `runtime.buildVersion`: a string with ` X:` experiments wins (only the runtime version
       has that form), else the highest version. The toolchain's own version is the highest
       one its tables and messages mention, and third-party code naming a Go release usually
       names an older minimum.

    Returns None when no usable blob is found.
    """
    first: tuple[int, _ModInfo] | None = None
    inline: tuple[int, _ModInfo, str] | None = None
    pos = 0
    for _ in range(_MAX_BLOB_TRIES):
        start = buf.find(INFO_START, pos)
        if start < 0:
            break
        pos = start + 1
        body = start + _SENTINEL_SIZE
        end = buf.find(INFO_END, body, body + MAX_STRING + 1)
        if end <= body or buf[end - 1 : end] != b"\n":
            continue
        try:
            parsed = parse_modinfo(bytes(buf[body:end]).decode("utf-8", "replace"))
        except InspectionError:
            continue
        version = _inline_version(buf, start, end + _SENTINEL_SIZE - start)
        if version is not None:
            inline = (start, parsed, version)
            break
        if first is None:
            first = (start, parsed)
    if inline is not None:
        offset, parsed, version = inline
    elif first is not None:
        offset, parsed = first
        version = _scan_go_version(buf)
    else:
        return None
    return _build_info(
        version,
        parsed,
        evidence="modinfo-sentinels",
        pointer_free=inline is not None,
        offset=offset,
    )


def _inline_version(buf: bytes | mmap.mmap, start: int, blob_len: int) -> str | None:
    """The version string of the pointer-free layout right before the blob, if it is there."""
    prefix = _encode_uvarint(blob_len)
    if start < len(prefix) or buf[start - len(prefix) : start] != prefix:
        return None
    version_end = start - len(prefix)
    for length in range(1, 201):
        header = _encode_uvarint(length)
        version_start = version_end - length
        if version_start - len(header) < 0:
            break
        if buf[version_start - len(header) : version_start] != header:
            continue
        raw = bytes(buf[version_start:version_end])
        if _INLINE_VERSION.fullmatch(raw):
            return raw.decode("ascii")
    return None


def _printable(byte: int) -> bool:
    return 0x20 <= byte < 0x7F


def _stands_alone(buf: bytes | mmap.mmap, i: int, end: int) -> bool:
    """Whether a version string whose left neighbour is a letter or digit is still a string
    of its own: Go does not end strings with NUL or separate them, so `runtime.buildVersion`
    can follow any byte of the data before it (`\\xefCgo1.26.5\\0...` in esbuild for macOS).
    It counts when NUL padding follows it and the letter before it is a lone printable byte
    after binary data, not the end of a word in text or a path ("Chicago1.2", "dl/go1.21")."""
    return (end < len(buf) and buf[end] == 0 and i >= 2 and not _printable(buf[i - 2])
            and buf[i - 1] not in b"/.-_")


def _scan_go_version(buf: bytes | mmap.mmap) -> str:
    """The most plausible runtime version string in the file, or "".

    Candidates with a clean left boundary win; only without any, one that `_stands_alone`
    is taken."""
    best: tuple[int, int, int, int, int, int] | None = None
    best_text = ""
    pos = 0
    for _ in range(_MAX_VERSION_CANDIDATES):
        # NOTE: find() runs at memchr speed; a regex with a look-behind in front would not.
        i = buf.find(b"go1.", pos)
        if i < 0:
            break
        pos = i + 1
        m = _GO_VERSION_AT.match(buf, i)
        if m is None:
            continue
        clean = i == 0 or buf[i - 1] not in _NOT_BEFORE_VERSION
        if not clean and not _stands_alone(buf, i, m.end()):
            continue
        minor, patch, pre, pre_num, experiments = m.groups()
        # Releases sort above their release candidates, which sort above betas.
        pre_rank = {None: 2, b"rc": 1, b"beta": 0}[pre]
        key = (
            1 if clean else 0,
            1 if experiments else 0,
            int(minor),
            int(patch or 0),
            pre_rank,
            int(pre_num or 0),
        )
        if best is None or key > best:
            best = key
            best_text = m.group(0).decode("ascii")
    return best_text


