"""Programs and libraries that name their own version in their read-only data.

A C or C++ program carries no build metadata, but many print their version and keep the
string for it: `@(#)Bash version 5.2.15(1) release GNU`, `BusyBox v1.35.0`, `nginx version:
nginx/1.22.1`, `OpenSSL 3.0.22 25 Aug 2026`, `libcurl/7.88.1`. Recognition is data, not code:
each entry of `classifiers.json` (beside this module) is one such string, the component it
names, the CPE the NVD files that product under (so that scanners matching C components by
CPE find it) and how sure a match is. A product that keeps its version as a bare string
(`7.0.15`) is recognised only when literal strings that say which program the file is
(`redis_version:%s`) are there too. Users add entries of the same form (`--classifiers FILE`,
`SBOMSIGN_CLASSIFIERS`); theirs are tried first.

The match is on the file's content, not its name: a renamed or vendored copy is found too. A
library's string inside another binary means the library is compiled in (static linking).

Patterns run over untrusted bytes, so each is checked before use: a repetition may not contain
another repetition or an alternation (the shapes that backtrack without end), patterns and
literals are bounded in length, and one file yields at most one component per product.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from sbomsign._internal.binary.detectors import _rodata
from sbomsign._internal.binary.facts import Detection, Facts
from sbomsign._internal.purl import purl
from sbomsign.errors import InputError
from sbomsign.models import Component, ComponentKind, Evidence, Linking

FOUND_BY = "version string"
MAX_FILE_BYTES = 1 << 20
MAX_ENTRIES = 1000
MAX_PATTERN = 1024
MAX_REQUIRES = 8
MAX_LITERAL = 256
_NAME = re.compile(r"[a-z0-9][a-z0-9._+-]{0,63}")
_CPE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}:[a-z0-9][a-z0-9._-]{0,63}")
_LINKING = {"none": Linking.NONE, "static": Linking.STATIC}
_KEYS = frozenset({"name", "cpe", "linking", "confidence", "version", "requires", "packages",
                   "note"})
_PACKAGE = re.compile(r"[a-z0-9][a-z0-9.+_-]{0,127}")
MAX_PACKAGES = 32


@dataclass(frozen=True)
class Classifier:
    """One product recognised by the string it keeps."""

    name: str
    pattern: re.Pattern[bytes]
    """Matches the string; its group `version` is the version."""
    cpe: str
    """`vendor:product` as the NVD names the product, or empty."""
    linking: Linking
    """NONE for a program (the string names the file itself), STATIC for a library (its
    string in another binary means it is compiled in)."""
    confidence: float
    requires: tuple[re.Pattern[bytes], ...] = ()
    """Literal strings that must also be in the read-only data."""
    packages: tuple[str, ...] = ()
    """Names distributions package the product under (binary or source package)."""


def parse(data: bytes, source: str) -> tuple[Classifier, ...]:
    """The classifiers of a table (`{"classifiers": [...]}`), each entry checked.

    Raises:
        InputError: the table is too large, not JSON of that shape, or an entry is malformed
            or has a pattern that could backtrack without end; one line naming the entry.
    """
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{source}: classifier table larger than {MAX_FILE_BYTES} bytes")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise InputError(f"{source}: classifier table is not JSON: {e}") from None
    entries = doc.get("classifiers") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise InputError(f'{source}: a classifier table is {{"classifiers": [...]}}')
    if len(entries) > MAX_ENTRIES:
        raise InputError(f"{source}: more than {MAX_ENTRIES} classifiers")
    return tuple(_entry(e, f"{source}: classifier {i}") for i, e in enumerate(entries))


def _entry(e: Any, where: str) -> Classifier:
    if not isinstance(e, dict) or not set(e) <= _KEYS:
        raise InputError(f"{where}: an object with keys from {', '.join(sorted(_KEYS))}")
    name, cpe, linking = e.get("name"), e.get("cpe", ""), e.get("linking", "none")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(f"{where}: name must be lowercase letters, digits and ._+-")
    where = f"{where} ({name})"
    if not isinstance(cpe, str) or (cpe and not _CPE.fullmatch(cpe)):
        raise InputError(f"{where}: cpe must be vendor:product")
    if linking not in _LINKING:
        raise InputError(f"{where}: linking must be none or static")
    confidence = e.get("confidence", 0.6)
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) \
            or not 0 < confidence <= 1:
        raise InputError(f"{where}: confidence must be a number in (0, 1]")
    requires = _strings(e, "requires", MAX_REQUIRES, where,
                        lambda r: 0 < len(r) <= MAX_LITERAL,
                        f"strings of 1 to {MAX_LITERAL} characters")
    packages = _strings(e, "packages", MAX_PACKAGES, where, _PACKAGE.fullmatch,
                        "package names")
    return Classifier(name=name, pattern=_pattern(e.get("version"), where), cpe=cpe,
                      linking=_LINKING[linking], confidence=float(confidence),
                      requires=tuple(re.compile(re.escape(_latin1(r, where)))
                                     for r in requires),
                      packages=tuple(packages))


def _strings(e: dict[str, Any], key: str, most: int, where: str, good: Any,
             what: str) -> list[str]:
    """An optional list member of at most `most` strings that each pass `good`."""
    value = e.get(key, [])
    if not isinstance(value, list) or len(value) > most or not all(
            isinstance(v, str) and good(v) for v in value):
        raise InputError(f"{where}: {key} must be at most {most} {what}")
    return value


def _latin1(text: str, where: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise InputError(f"{where}: only characters up to U+00FF (bytes) can be matched") from None


def _pattern(text: Any, where: str) -> re.Pattern[bytes]:
    if not isinstance(text, str) or not 0 < len(text) <= MAX_PATTERN:
        raise InputError(f"{where}: version must be a pattern of 1 to {MAX_PATTERN} characters")
    try:
        pattern = re.compile(_latin1(text, where))
    except re.error as e:
        raise InputError(f"{where}: version is not a regular expression: {e}") from None
    if "version" not in pattern.groupindex:
        raise InputError(f"{where}: version needs a group (?P<version>...)")
    if not _bounded(_latin1(text, where)):
        raise InputError(f"{where}: version repeats a repetition or an alternation, which can "
                         "take exponential time on hostile input")
    return pattern


def _bounded(pattern: bytes) -> bool:
    """No repetition of more than one item holds another repetition or an alternation."""
    import re._parser as sre  # type: ignore[import-not-found]  # the stdlib's own parser

    def walk(items: Any, in_repeat: bool) -> bool:
        for op, arg in items:
            name = str(op)
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, high, body = arg
                many = high is sre.MAXREPEAT or high > 1
                if many and in_repeat:
                    return False
                if not walk(body, in_repeat or many):
                    return False
            elif name == "BRANCH":
                if in_repeat:
                    return False
                if not all(walk(b, in_repeat) for b in arg[1]):
                    return False
            elif name == "SUBPATTERN":
                if not walk(arg[-1], in_repeat):
                    return False
            elif name in ("ASSERT", "ASSERT_NOT"):
                if not walk(arg[1], in_repeat):
                    return False
        return True

    return walk(sre.parse(pattern), False)


@cache
def builtin() -> tuple[Classifier, ...]:
    """The table shipped with sbomsign."""
    data = resources.files(__package__).joinpath("classifiers.json").read_bytes()
    return parse(data, "classifiers.json")


_user: tuple[Classifier, ...] = ()


@contextmanager
def using(table: tuple[Classifier, ...]) -> Iterator[None]:
    """Use the user's classifiers (tried before the built-in ones) while the block runs; the
    scan's workers, forked inside it, inherit them."""
    global _user
    saved, _user = _user, table
    try:
        yield
    finally:
        _user = saved


_RELEASE = re.compile(r"\d+(?:\.\d+)*[a-z]?")


def package_cpe(names: tuple[str, ...], version: str) -> str:
    """The CPE of an OS package that one of `names` (its own name, then its source package's)
    says is a product of the table, at the package's upstream release; "" when none does.

    The release is the version without epoch, distribution revision or repack suffix
    (`1:1.2.13.dfsg-1+deb12u1` is zlib 1.2.13), as the NVD names releases."""
    table = _user + builtin()
    for name in names:
        for c in table:
            if name and c.cpe and name in c.packages:
                release = _RELEASE.match(version.split(":", 1)[-1])
                return _cpe(c.cpe, release.group()) if release else ""
    return ""


def _cpe(vendor_product: str, version: str) -> str:
    """A CPE 2.3 name of an application release (`vendor:product` from the table)."""
    return f"cpe:2.3:a:{vendor_product}:{version}:*:*:*:*:*:*:*"


def detect(facts: Facts) -> Detection:
    """One component per product whose string the read-only data holds (its first one)."""
    found: dict[str, Component] = {}
    screen = _rodata.Screen(facts)
    for classifier in _user + builtin():
        if classifier.name in found or not all(
                map(screen.may_match, (*classifier.requires, classifier.pattern))):
            continue
        if not all(next(_rodata.search(facts, r), None) is not None for r in classifier.requires):
            continue
        for section, offset, m in _rodata.search(facts, classifier.pattern):
            found[classifier.name] = _component(classifier, section, offset, m)
            break
    return Detection(components=tuple(found[name] for name in sorted(found)))


def _component(classifier: Classifier, section: str, offset: int,
               m: re.Match[bytes]) -> Component:
    version = m.group("version").decode("ascii", "replace")
    text = m.group(0).strip(b"\x00 ").split(b"\x00")[0].decode("ascii", "replace")
    return Component(
        kind=ComponentKind.PACKAGE, name=classifier.name, version=version,
        purl=purl("generic", "", classifier.name, version),
        cpe=_cpe(classifier.cpe, version) if classifier.cpe else "",
        linking=classifier.linking, found_by=FOUND_BY,
        evidence=(Evidence("binary-analysis", classifier.confidence, "version string",
                           location=section, offset=offset, note=text[:200]),))
