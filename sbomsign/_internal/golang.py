"""Go build information: the build-info header, the module-info text, and what they mean.

Pure functions over bytes; the binary readers pick the bytes. The decoding follows Go's own
`debug/buildinfo` (`readRawBuildInfo`) and `runtime/debug` (`ParseBuildInfo`,
`BuildInfo.String`), so `format_go_version_m` reproduces `go version -m` byte for byte.

Where Go's reader quietly gives up ("not a Go executable", module info dropped), these functions
raise `InspectionError` instead when a header is present but damaged, so that the caller can
report the damage and try `recover_from_blob`.

Text is decoded as UTF-8 with invalid bytes replaced by U+FFFD, so the model never holds
undecodable strings; for such (hostile or damaged) input `format_go_version_m` prints U+FFFD
where Go would print the raw byte or a `\\x` escape.
"""

from __future__ import annotations

import dataclasses
import mmap
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal, Protocol

from sbomsign._internal.purl import golang_purl, stdlib_purl
from sbomsign.errors import InspectionError
from sbomsign.models import (
    Component,
    ComponentKind,
    Evidence,
    GoBuildInfo,
    GoModule,
    Replacement,
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

_DEVEL = "(devel)"
_MAIN = -1  # `parse_modinfo`: the last module line was `mod`


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


def _split_version(version: str) -> tuple[str, tuple[str, ...]]:
    """Split `go1.22.1 X:boringcrypto,foo` into the version and its experiments."""
    base, sep, rest = version.partition(" X:")
    if not sep:
        return version, ()
    return base, tuple(e for e in rest.split(",") if e)


def _join_version(info: GoBuildInfo) -> str:
    """The runtime version string as the toolchain recorded it."""
    if info.experiments:
        return f"{info.go_version} X:{','.join(info.experiments)}"
    return info.go_version


_ModInfo = tuple[str, GoModule | None, tuple[GoModule, ...], tuple[tuple[str, str], ...]]


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


# ---------------------------------------------------------------------------------------------
# Module-info text


def _quote_key(key: str) -> bool:
    """Whether `BuildInfo.String` quotes a build-setting key (`runtime/debug.quoteKey`)."""
    return not key or any(c in key for c in '= \t\r\n"`')


def _quote_value(value: str) -> bool:
    """Whether `BuildInfo.String` quotes a build-setting value (`runtime/debug.quoteValue`)."""
    return any(c in value for c in ' \t\r\n"`')


def parse_modinfo(text: str) -> _ModInfo:
    """Parse module-info text as Go's `debug.ParseBuildInfo` does.

    Returns (main package path, main module or None, dependencies, build settings). Unknown
    line kinds are ignored and a last line without a newline is dropped, as in Go.

    Raises:
        InspectionError: a line is malformed in a way Go rejects.
    """
    path = ""
    main: GoModule | None = None
    deps: list[GoModule] = []
    settings: list[tuple[str, str]] = []
    # What an `=>` line replaces: _MAIN, an index into deps, or nothing.
    last: int | None = None
    line_num = 1

    def fail(reason: str) -> InspectionError:
        return InspectionError(f"could not parse Go build info: line {line_num}: {reason}")

    def module_line(fields: list[str]) -> GoModule:
        if len(fields) not in (2, 3):
            raise fail(f"expected 2 or 3 columns; got {len(fields)}")
        sum_ = fields[2] if len(fields) == 3 else ""
        return GoModule(path=fields[0], version=fields[1], sum=sum_)

    # NOTE: the piece after the last newline is an unterminated line (or empty); Go stops
    # before it. Splitting once keeps this linear in the size of the text.
    for line in text.split("\n")[:-1]:
        if line.startswith("path\t"):
            path = line[5:]
        elif line.startswith("mod\t"):
            main = module_line(line[4:].split("\t"))
            last = _MAIN
        elif line.startswith("dep\t"):
            deps.append(module_line(line[4:].split("\t")))
            last = len(deps) - 1
        elif line.startswith("=>\t"):
            fields = line[3:].split("\t")
            if len(fields) != 3:
                raise fail(f"expected 3 columns for replacement; got {len(fields)}")
            if last is None:
                raise fail("replacement with no module on previous line")
            rep = Replacement(path=fields[0], version=fields[1], sum=fields[2])
            if last == _MAIN and main is not None:
                main = dataclasses.replace(main, replacement=rep)
            else:
                deps[last] = dataclasses.replace(deps[last], replacement=rep)
            last = None
        elif line.startswith("build\t"):
            settings.append(_build_setting(line[6:], fail))
        line_num += 1
    if main == GoModule(path=""):
        # NOTE: Go prints the main module only when it is not the zero Module.
        main = None
    return path, main, tuple(deps), tuple(settings)


class _Fail(Protocol):
    """Builds the error for a malformed line (it knows the line number)."""

    def __call__(self, reason: str) -> InspectionError: ...


def _build_setting(kv: str, fail: _Fail) -> tuple[str, str]:
    """One `build` line's `key=value`, unquoted and checked as `ParseBuildInfo` does."""
    if not kv:
        raise fail("build line missing '='")
    if kv[0] == "=":
        raise fail("build line with missing key")
    if kv[0] in '`"':
        try:
            key, used = _unquote_prefix(kv)
        except ValueError:
            raise fail("invalid quoted key in build line") from None
        if used == len(kv):
            raise fail("build line missing '=' after quoted key")
        if kv[used] != "=":
            raise fail(f"unexpected character after quoted key: {_quote_char(kv[used])}")
        raw_value = kv[used + 1 :]
    else:
        key, eq, raw_value = kv.partition("=")
        if not eq:
            raise fail("build line missing '=' after key")
        if _quote_key(key):
            raise fail(f"unquoted key {go_quote(key)} must be quoted")
    value = ""
    if raw_value:
        if raw_value[0] in '`"':
            try:
                value = go_unquote(raw_value)
            except ValueError:
                raise fail("invalid quoted value in build line") from None
        else:
            value = raw_value
            if _quote_value(value):
                raise fail(f"unquoted value {go_quote(value)} must be quoted")
    return key, value


# ---------------------------------------------------------------------------------------------
# Go string literals (strconv.Quote / strconv.Unquote)

_SIMPLE_ESCAPES = {
    "a": 0x07,
    "b": 0x08,
    "f": 0x0C,
    "n": 0x0A,
    "r": 0x0D,
    "t": 0x09,
    "v": 0x0B,
    "\\": 0x5C,
}
_QUOTE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}
_HEX = frozenset("0123456789abcdefABCDEF")


def _unquote_prefix(s: str) -> tuple[str, int]:
    """Unquote the Go string literal at the start of `s`: (value, characters used).

    Double-quoted literals take Go's escapes (`\\a \\b \\f \\n \\r \\t \\v \\\\ \\"`, `\\xHH`,
    `\\ooo`, `\\uHHHH`, `\\UHHHHHHHH`) and no raw newline; back-quoted literals are raw and lose
    their carriage returns. `\\x` and octal escapes give bytes, decoded as UTF-8 at the end.

    Raises:
        ValueError: not a valid literal.
    """
    if len(s) < 2:
        raise ValueError("too short")
    quote = s[0]
    if quote == "`":
        end = s.find("`", 1)
        if end < 0:
            raise ValueError("unterminated raw string")
        return s[1:end].replace("\r", ""), end + 1
    if quote != '"':
        raise ValueError("not a quoted string")
    out = bytearray()
    i = 1
    n = len(s)
    while i < n and s[i] != '"':
        c = s[i]
        if c == "\n":
            raise ValueError("newline in string")
        if c != "\\":
            out += c.encode("utf-8", "surrogatepass")
            i += 1
            continue
        if i + 1 >= n:
            raise ValueError("trailing backslash")
        e = s[i + 1]
        i += 2
        if e in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[e])
        elif e == '"':
            out.append(0x22)
        elif e in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = s[i : i + width]
            if len(digits) < width or any(d not in _HEX for d in digits):
                raise ValueError("bad hex escape")
            value = int(digits, 16)
            i += width
            if e == "x":
                out.append(value)
            else:
                if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                    raise ValueError("invalid code point")
                out += chr(value).encode("utf-8")
        elif "0" <= e <= "7":
            digits = e + s[i : i + 2]
            if len(digits) < 3 or any(not "0" <= d <= "7" for d in digits):
                raise ValueError("bad octal escape")
            value = int(digits, 8)
            if value > 255:
                raise ValueError("octal escape out of range")
            out.append(value)
            i += 2
        else:
            raise ValueError(f"unknown escape \\{e}")
    if i >= n:
        raise ValueError("unterminated string")
    return out.decode("utf-8", "replace"), i + 1


def go_unquote(s: str) -> str:
    """Go's `strconv.Unquote` for double-quoted and back-quoted literals.

    Raises:
        ValueError: `s` is not exactly one valid literal.
    """
    value, used = _unquote_prefix(s)
    if used != len(s):
        raise ValueError("text after the closing quote")
    return value


def _go_is_print(c: str) -> bool:
    """Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and ASCII space."""
    if c < "\x80":
        return " " <= c < "\x7f"
    return unicodedata.category(c)[0] in "LMNPS"


def go_quote(s: str) -> str:
    """Go's `strconv.Quote`: a double-quoted literal escaping what is not printable."""
    out = ['"']
    for c in s:
        if c in ('"', "\\"):
            out.append("\\" + c)
        elif _go_is_print(c):
            out.append(c)
        elif c in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[c])
        elif c < " " or c == "\x7f":
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    out.append('"')
    return "".join(out)


def _quote_char(c: str) -> str:
    """Go's `%q` of a byte: a single-quoted character literal."""
    if c == "'":
        return "'\\''"
    return "'" + go_quote(c)[1:-1].replace('\\"', '"') + "'"


# ---------------------------------------------------------------------------------------------
# `go version -m`


def format_go_version_m(info: GoBuildInfo, file_label: str) -> str:
    """What `go version -m FILE` prints for this build info (Go 1.18+ format).

    The first line carries the runtime version as recorded (experiments included); the others
    are `runtime/debug.BuildInfo.String()` indented by a tab: the main module keeps its recorded
    version (`(devel)`), not the derived one, and build settings are re-quoted as Go does.
    """
    lines: list[str] = []
    if info.path:
        lines.append(f"path\t{info.path}")

    def module(word: str, m: GoModule) -> None:
        if m.replacement is None:
            lines.append(f"{word}\t{m.path}\t{m.version}\t{m.sum}")
        else:
            r = m.replacement
            lines.append(f"{word}\t{m.path}\t{m.version}")
            lines.append(f"=>\t{r.path}\t{r.version}\t{r.sum}")
            # NOTE: Go's formatMod ends the `=>` line and then the outer line again, so a
            # replacement is followed by an empty line (a lone tab in `go version -m`).
            lines.append("")

    if info.main is not None:
        module("mod", info.main)
    for dep in info.deps:
        module("dep", dep)
    for key, value in info.settings:
        k = go_quote(key) if _quote_key(key) else key
        v = go_quote(value) if _quote_value(value) else value
        lines.append(f"build\t{k}={v}")
    return f"{file_label}: {_join_version(info)}\n" + "".join(f"\t{line}\n" for line in lines)


# ---------------------------------------------------------------------------------------------
# Main module version


def split_go_flags(s: str) -> list[str]:
    """Split a flag string as the go command does (`cmd/internal/quoted.Split`).

    Fields are separated by spaces, tabs, newlines or carriage returns; a field that starts
    with a single or double quote runs to the matching quote, without any unescaping.

    Raises:
        ValueError: a quoted field is not terminated.
    """
    fields: list[str] = []
    i, n = 0, len(s)
    while i < n:
        while i < n and s[i] in " \t\n\r":
            i += 1
        if i >= n:
            break
        if s[i] in "'\"":
            end = s.find(s[i], i + 1)
            if end < 0:
                raise ValueError(f"unterminated {s[i]} string")
            fields.append(s[i + 1 : end])
            i = end + 1
            continue
        start = i
        while i < n and s[i] not in " \t\n\r":
            i += 1
        fields.append(s[start:i])
    return fields


def _x_assignments(ldflags: str) -> dict[str, str]:
    """The linker's `-X symbol=value` assignments, later ones overriding earlier ones."""
    try:
        fields = split_go_flags(ldflags)
    except ValueError:
        return {}
    out: dict[str, str] = {}
    i = 0
    while i < len(fields):
        f = fields[i]
        arg: str | None = None
        if f in ("-X", "--X"):
            if i + 1 < len(fields):
                arg = fields[i + 1]
                i += 1
        elif f.startswith(("-X=", "--X=")):
            arg = f.split("=", 1)[1]
        i += 1
        if arg is None:
            continue
        symbol, eq, value = arg.partition("=")
        if eq and "." in symbol:
            out.pop(symbol, None)  # NOTE: re-inserting keeps the override's position
            out[symbol] = value
    return out


_VERSION_VALUE = re.compile(r"v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?")
_VERSION_VARS = frozenset({"ver", "semver", "gitver", "buildver", "releasever", "appver"})
_TAG_VARS = frozenset({"tag", "gittag", "releasetag", "buildtag", "versiontag"})


def _ldflags_version(ldflags: str, main_path: str) -> str:
    """A semantic version set with `-X` on a version-like variable of the main package/module.

    Like syft, only `main.*` and variables of packages inside the main module count, the value
    must look like `[v]MAJOR.MINOR.PATCH[-pre][+build]` (after any `refs/tags/`-like prefix),
    and a missing `v` is added, since Go module versions carry it. Version-named variables
    (`version`, `Version`, `gitVersion`, `releaseVersion`, `buildVersion`, `ver`, ...) win over
    tag-named ones (`tag`, `gitTag`, `releaseTag`).
    """
    version_hits: list[str] = []
    tag_hits: list[str] = []
    for symbol, value in _x_assignments(ldflags).items():
        pkg, _, var = symbol.rpartition(".")
        if not (
            pkg == "main" or (main_path and (pkg == main_path or pkg.startswith(main_path + "/")))
        ):
            continue
        candidate = value.rsplit("/", 1)[-1]
        if not _VERSION_VALUE.fullmatch(candidate):
            continue
        if not candidate.startswith("v"):
            candidate = "v" + candidate
        name = var.lower().replace("_", "")
        if name.endswith("version") or name in _VERSION_VARS:
            version_hits.append(candidate)
        elif name in _TAG_VARS:
            tag_hits.append(candidate)
    hits = version_hits or tag_hits
    return hits[0] if hits else ""


def _parse_rfc3339(text: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo is None:
        return None
    return t.astimezone(UTC)


def derive_main_version(info: GoBuildInfo) -> tuple[str, str]:
    """The main module's version and where it came from.

    In order: the build info's own version unless it is `(devel)` or empty (`buildinfo`); a
    version set through `-ldflags -X` (`ldflags`, see `_ldflags_version`); a Go pseudo-version
    `v0.0.0-YYYYMMDDHHMMSS-<revision[:12]>` from `vcs.time` and `vcs.revision`, with `+dirty`
    when `vcs.modified=true` (`vcs-pseudo-version`); else `("", "")`. A binary without a main
    module (`go build file.go`) has no main version.
    """
    main = info.main
    if main is None:
        return "", ""
    if main.version and main.version != _DEVEL:
        return main.version, "buildinfo"
    ldflags = info.setting("-ldflags")
    if ldflags:
        version = _ldflags_version(ldflags, main.path)
        if version:
            return version, "ldflags"
    revision = info.setting("vcs.revision") or ""
    when = _parse_rfc3339(info.setting("vcs.time") or "")
    if revision and when is not None:
        version = f"v0.0.0-{when:%Y%m%d%H%M%S}-{revision[:12]}"
        if info.setting("vcs.modified") == "true":
            version += "+dirty"
        return version, "vcs-pseudo-version"
    return "", ""


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


def _scan_go_version(buf: bytes | mmap.mmap) -> str:
    """The most plausible runtime version string in the file, or ""."""
    best: tuple[int, int, int, int, int] | None = None
    best_text = ""
    pos = 0
    for _ in range(_MAX_VERSION_CANDIDATES):
        # NOTE: find() runs at memchr speed; a regex with a look-behind in front would not.
        i = buf.find(b"go1.", pos)
        if i < 0:
            break
        pos = i + 1
        m = _GO_VERSION_AT.match(buf, i)
        if m is None or (i > 0 and buf[i - 1] in _NOT_BEFORE_VERSION):
            continue
        minor, patch, pre, pre_num, experiments = m.groups()
        # Releases sort above their release candidates, which sort above betas.
        pre_rank = {None: 2, b"rc": 1, b"beta": 0}[pre]
        key = (
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


# ---------------------------------------------------------------------------------------------
# Components

_STDLIB_VERSION = re.compile(r"go(\d+(?:\.\d+){0,2})((?:rc|beta)\d+)?")
_RECOVERED_NOTE = (
    "build-info header missing or damaged: modules recovered from the module-info blob and the "
    "Go version from a search of the file (weaker evidence)"
)


def go_components(info: GoBuildInfo, location: str) -> tuple[Component, ...]:
    """Components for the main module, each dependency, and the standard library.

    - The main module (`GO_MAIN_MODULE`) carries the derived main version (`main_version`);
      its recorded version and the version's source are kept as properties. There is none when
      the build info has no `mod` line (`go build file.go`, path `command-line-arguments`).
      It depends on every dependency and on the standard library.
    - A dependency (`GO_MODULE`) keeps the path, version and `h1:` sum of its `dep` line, and
      its `=>` line in `replacement`. Its purl names the code actually compiled in, as syft
      does: the replacement module's path@version, or, for a replacement by a local directory
      (recorded with version `(devel)`), the original path without a version. Vulnerability
      matching by purl then looks at the code in the binary, and the original requirement
      stays in name/version.
    - The toolchain is `stdlib` (`GO_STDLIB`) with version `go1.x.y`, purl
      `pkg:golang/stdlib@1.x.y` and CPE `cpe:2.3:a:golang:go:1.x.y:-:...` (a release
      candidate or beta goes into the CPE update field), as syft names it.
    """
    recovered = info.evidence == "modinfo-sentinels"
    source = "go modinfo sentinels" if recovered else "go buildinfo"
    evidence = (
        Evidence(
            technique="binary-analysis",
            confidence=0.7 if recovered else 1.0,
            source=source,
            location=location,
            offset=info.offset,
            note=_RECOVERED_NOTE if recovered else "",
        ),
    )
    deps: list[Component] = [_dep_component(d, source, evidence) for d in info.deps]
    stdlib = _stdlib_component(info.go_version, source, evidence) if info.go_version else None
    out: list[Component] = []
    if info.main is not None:
        out.append(_main_component(info, info.main, deps, stdlib, source, evidence))
    out.extend(deps)
    if stdlib is not None:
        out.append(stdlib)
    return tuple(out)


def _main_component(
    info: GoBuildInfo,
    main: GoModule,
    deps: Sequence[Component],
    stdlib: Component | None,
    source: str,
    evidence: tuple[Evidence, ...],
) -> Component:
    props: list[tuple[str, str]] = []
    if info.main_version_source:
        props.append(("sbomsign:go:version-source", info.main_version_source))
    if main.version and main.version != info.main_version:
        props.append(("sbomsign:go:recorded-version", main.version))
    if info.main_version_source in ("ldflags", "vcs-pseudo-version"):
        how = "-ldflags -X" if info.main_version_source == "ldflags" else "vcs.revision/vcs.time"
        note = f"version derived from {how}, not recorded by the go command"
        evidence = tuple(
            dataclasses.replace(e, note=f"{e.note}; {note}" if e.note else note) for e in evidence
        )
    refs = [d.ref for d in deps] + ([stdlib.ref] if stdlib is not None else [])
    return Component(
        kind=ComponentKind.GO_MAIN_MODULE,
        name=main.path,
        version=info.main_version,
        purl=golang_purl(main.path, info.main_version) if main.path else "",
        go_sum=main.sum,
        replacement=main.replacement,
        found_by=source,
        depends_on=tuple(dict.fromkeys(refs)),
        properties=tuple(sorted(props)),
        evidence=evidence,
    )


def _dep_component(dep: GoModule, source: str, evidence: tuple[Evidence, ...]) -> Component:
    rep = dep.replacement
    if rep is None:
        purl = golang_purl(dep.path, dep.version)
    elif _is_directory_replacement(rep):
        purl = golang_purl(dep.path)
    else:
        purl = golang_purl(rep.path, rep.version)
    return Component(
        kind=ComponentKind.GO_MODULE,
        name=dep.path,
        version=dep.version,
        purl=purl,
        go_sum=dep.sum,
        replacement=rep,
        found_by=source,
        evidence=evidence,
    )


def _is_directory_replacement(rep: Replacement) -> bool:
    """Whether a replacement is a local directory (`=> ./fork (devel)`), not a module version."""
    # NOTE: the go command records directory replacements with version "(devel)"; the path
    # test mirrors modfile.IsDirectoryPath, including Windows forms.
    p = rep.path
    return (
        rep.version in ("", _DEVEL)
        or p.startswith(("./", "../", "/", ".\\", "..\\", "\\"))
        or p in (".", "..")
        or re.match(r"^[A-Za-z]:[\\/]", p) is not None
    )


def _stdlib_component(go_version: str, source: str, evidence: tuple[Evidence, ...]) -> Component:
    m = _STDLIB_VERSION.fullmatch(go_version)
    purl = cpe = ""
    if m:
        # NOTE: syft's CPE puts an rc/beta suffix into the update field: go1.22rc1 is
        # cpe:2.3:a:golang:go:1.22:rc1:...; releases use "-" (no update).
        purl = stdlib_purl(go_version)
        cpe = f"cpe:2.3:a:golang:go:{m.group(1)}:{m.group(2) or '-'}:*:*:*:*:*:*"
    return Component(
        kind=ComponentKind.GO_STDLIB,
        name="stdlib",
        version=go_version,
        purl=purl,
        cpe=cpe,
        found_by=source,
        licenses=("BSD-3-Clause",),
        evidence=evidence,
    )
