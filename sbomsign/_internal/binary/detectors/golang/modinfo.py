"""Go's module-info text (`runtime/debug.ParseBuildInfo`) and Go string literals.

Text is decoded as UTF-8 with invalid bytes replaced by U+FFFD, so the model never holds
undecodable strings.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from typing import Protocol

from sbomsign.errors import InspectionError
from sbomsign.models import (
    GoBuildInfo,
    GoModule,
    Replacement,
)

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




_DEVEL = "(devel)"


_MAIN = -1  # `parse_modinfo`: the last module line was `mod`


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
