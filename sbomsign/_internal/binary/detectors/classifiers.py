"""Programs and libraries that name their own version in their read-only data.

A C or C++ program carries no build metadata, but many print their version and keep the
string for it: `@(#)Bash version 5.2.15(1) release GNU`, `BusyBox v1.35.0`, `nginx version:
nginx/1.22.1`, `OpenSSL 3.0.22 25 Aug 2026`, `libcurl/7.88.1`. Each entry of `CLASSIFIERS`
is one such string, the component it names and the CPE the NVD files that product under, so
that vulnerability scanners that match C components by CPE find it. The match is on the
file's content, not its name: a renamed or vendored copy is found too. A library's string
inside another binary means the library is compiled in (static linking).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sbomsign._internal.binary.detectors import _rodata
from sbomsign._internal.binary.facts import Detection, Facts
from sbomsign._internal.purl import purl
from sbomsign.models import Component, ComponentKind, Evidence, Linking

FOUND_BY = "version string"
_VERSION = rb"(?P<version>\d{1,4}\.\d{1,4}\.\d{1,4}[a-z]?)"


@dataclass(frozen=True)
class Classifier:
    """One product recognised by the string it keeps."""

    name: str
    pattern: re.Pattern[bytes]
    """Matches the string; its group `version` is the version."""
    cpe: str
    """`vendor:product` as the NVD names the product."""
    linking: Linking
    """NONE for a program (the string names the file itself), STATIC for a library (its
    string in another binary means it is compiled in)."""


CLASSIFIERS: tuple[Classifier, ...] = (
    Classifier("bash", re.compile(rb"@\(#\)Bash version " + _VERSION
                                  + rb"\(\d+\) release GNU"), "gnu:bash", Linking.NONE),
    Classifier("busybox", re.compile(rb"BusyBox v" + _VERSION + rb"[ \x00]"),
               "busybox:busybox", Linking.NONE),
    Classifier("nginx", re.compile(rb"nginx version: nginx/" + _VERSION), "f5:nginx",
               Linking.NONE),
    # NOTE: libcrypto keeps OPENSSL_VERSION_TEXT followed by OPENSSL_VERSION_STR; a program
    # that only prints which OpenSSL it was built with (nginx -V) keeps the first alone.
    Classifier("openssl", re.compile(rb"\x00OpenSSL " + _VERSION
                                     + rb" \d{1,2} [A-Z][a-z]{2} \d{4}\x00(?P=version)\x00"),
               "openssl:openssl", Linking.STATIC),
    Classifier("libcurl", re.compile(rb"\x00libcurl/" + _VERSION + rb"\x00"), "haxx:libcurl",
               Linking.STATIC),
)

def detect(facts: Facts) -> Detection:
    """One component per product whose string the read-only data holds (its first one)."""
    found: dict[str, Component] = {}
    for classifier in CLASSIFIERS:
        for section, offset, m in _rodata.search(facts, classifier.pattern):
            version = m.group("version").decode()
            found[classifier.name] = Component(
                kind=ComponentKind.PACKAGE, name=classifier.name, version=version,
                purl=purl("generic", "", classifier.name, version),
                cpe=f"cpe:2.3:a:{classifier.cpe}:{version}:*:*:*:*:*:*:*",
                linking=classifier.linking, found_by=FOUND_BY,
                evidence=(Evidence("binary-analysis", 0.8, "version string", location=section,
                                   offset=offset, note=m.group(0).strip(b"\x00 ").split(
                                       b"\x00")[0].decode("ascii", "replace")),))
            break
    return Detection(components=tuple(found[name] for name in sorted(found)))
