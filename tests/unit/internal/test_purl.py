"""Tests of the purl builder and parser."""

from __future__ import annotations

import pytest

from sbomsign._internal.purl import golang_purl, parse_purl, purl, stdlib_purl
from sbomsign.errors import InputError


def test_spec_examples() -> None:
    assert (
        purl("deb", "debian", "curl", "7.50.3-1", {"arch": "i386", "distro": "jessie"})
        == "pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie"
    )
    assert (
        purl("maven", "org.apache.xmlgraphics", "batik-anim", "1.9.1", {"packaging": "sources"})
        == "pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1?packaging=sources"
    )
    assert purl("npm", "", "foobar", "12.3.1") == "pkg:npm/foobar@12.3.1"


def test_percent_encoding() -> None:
    # Only alphanumerics, ".-_~" and ":" stay as they are.
    assert (
        purl("generic", "", "a b+c@d", "1.0+build/2") == "pkg:generic/a%20b%2Bc%40d@1.0%2Bbuild%2F2"
    )
    assert purl("npm", "@angular", "core", "1.0") == "pkg:npm/%40angular/core@1.0"
    assert purl("generic", "", "x", "epoch:1.0") == "pkg:generic/x@epoch:1.0"
    assert purl("generic", "", "caf\u00e9") == "pkg:generic/caf%C3%A9"
    assert purl("generic", "", "t~i_l.d-e") == "pkg:generic/t~i_l.d-e"


def test_qualifiers_sorted_lowercased_and_empty_dropped() -> None:
    got = purl("rpm", "Fedora", "Foo", "1", {"Distro": "fedora-40", "arch": "", "B": "x y"})
    assert got == "pkg:rpm/fedora/Foo@1?b=x%20y&distro=fedora-40"


def test_type_specific_case() -> None:
    assert purl("DEB", "Debian", "Hello", "1.0") == "pkg:deb/debian/hello@1.0"
    assert purl("cargo", "", "Serde", "1.0") == "pkg:cargo/Serde@1.0"


def test_subpath() -> None:
    assert purl("golang", "google.golang.org", "genproto", "abc", subpath="/googleapis/./api/") == (
        "pkg:golang/google.golang.org/genproto@abc#googleapis/api"
    )


def test_invalid_components() -> None:
    with pytest.raises(InputError):
        purl("", "", "x")
    with pytest.raises(InputError):
        purl("generic", "", "")
    with pytest.raises(InputError):
        purl("generic", "", "x", qualifiers={"bad key": "v"})


def test_golang_purl_preserves_case_and_v() -> None:
    assert (
        golang_purl("github.com/cli/cli/v2", "v2.63.0")
        == "pkg:golang/github.com/cli/cli/v2@v2.63.0"
    )
    assert golang_purl("github.com/BurntSushi/toml", "v1.3.2") == (
        "pkg:golang/github.com/BurntSushi/toml@v1.3.2"
    )
    assert golang_purl("example.com/x", "v2.0.0+incompatible") == (
        "pkg:golang/example.com/x@v2.0.0%2Bincompatible"
    )
    assert golang_purl("rsc.io/quote") == "pkg:golang/rsc.io/quote"
    assert golang_purl("toolonly") == "pkg:golang/toolonly"


def test_stdlib_purl() -> None:
    assert stdlib_purl("go1.22.7") == "pkg:golang/stdlib@1.22.7"
    assert stdlib_purl("go1.22rc1") == "pkg:golang/stdlib@1.22rc1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie",
            ("deb", "debian", "curl", "7.50.3-1", {"arch": "i386", "distro": "jessie"}, ""),
        ),
        (
            "pkg:golang/github.com/cli/cli/v2@v2.63.0",
            ("golang", "github.com/cli/cli", "v2", "v2.63.0", {}, ""),
        ),
        (
            "pkg:npm/%40angular/core@1.0#lib/x",
            ("npm", "@angular", "core", "1.0", {}, "lib/x"),
        ),
        ("PKG:Generic/a%20b", ("generic", "", "a b", "", {}, "")),
        (
            "pkg://generic/x@1?Checksum=sha256:ab&empty=",
            ("generic", "", "x", "1", {"checksum": "sha256:ab"}, ""),
        ),
    ],
)
def test_parse(text: str, expected: tuple[object, ...]) -> None:
    assert parse_purl(text) == expected


def test_round_trip() -> None:
    built = purl(
        "rpm", "fedora", "coreutils", "9.4-7.fc40", {"arch": "x86_64", "distro": "fedora-40"}
    )
    t, ns, name, version, quals, sub = parse_purl(built)
    assert purl(t, ns, name, version, quals, sub) == built
    odd = purl("generic", "a b/c%d", "n@me?#", "1+2 3", {"k": "v&w=x"}, "p q/r")
    assert parse_purl(odd) == ("generic", "a b/c%d", "n@me?#", "1+2 3", {"k": "v&w=x"}, "p q/r")


@pytest.mark.parametrize(
    "text", ["", "npm/foo", "pkg:", "pkg:npm", "pkg:npm/", "pkg:1x/foo", "pkg:npm/a?x"]
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(InputError):
        parse_purl(text)
