"""Version comparison under each scheme, and version ranges."""

from __future__ import annotations

import pytest

from sbomsign._internal import versions
from sbomsign._internal.versions import VersionError, compare, parse_range, scheme_for


def ordered(scheme: str, *items: str) -> None:
    """Each item is older than the next one, and equal to itself."""
    for a in items:
        assert compare(a, a, scheme) == 0, a
    for older, newer in zip(items, items[1:], strict=False):
        assert compare(older, newer, scheme) == -1, (older, newer)
        assert compare(newer, older, scheme) == 1, (newer, older)


def test_semver_precedence_of_the_spec() -> None:
    # The example chain of semver.org section 11.
    ordered(
        "semver",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "2.0.0",
        "2.1.0",
        "2.1.1",
    )


def test_go_module_versions() -> None:
    # Pseudo-versions are pre-releases of the version they precede; `+incompatible` is build
    # metadata and does not change the order.
    ordered(
        "semver",
        "v0.0.0-20191109021931-daa7c04131f5",
        "v0.0.0",
        "v0.1.0",
        "v1.2.3-0.20230101000000-abcdefabcdef",
        "v1.2.3",
        "v1.10.0",
        "v2.0.0+incompatible",
        "v2.0.1",
    )
    assert compare("v2.0.0+incompatible", "2.0.0", "semver") == 0
    assert compare("v1.2", "1.2.0", "semver") == 0


def test_go_toolchain_versions() -> None:
    ordered(
        "go",
        "go1.9",
        "go1.13.4",
        "go1.21beta1",
        "go1.21rc2",
        "go1.21.0",
        "1.21.1",
        "go1.22rc1",
        "go1.22.5",
        "1.22.10",
        "go1.23.0",
    )
    assert compare("go1.22.5", "1.22.5", "go") == 0
    assert compare("go1.22", "1.22.0", "go") == 0
    assert compare("go1.22.1 X:boringcrypto", "go1.22.1", "go") == 0


def test_debian_versions() -> None:
    ordered("deb", "1.0~rc1", "1.0", "1.0-1", "1.0-1+b1", "1.0a", "1.0.1", "1.2", "1.10", "1:0.9")
    assert compare("2.36-9+deb12u4", "2.36-9+deb12u10", "deb") == -1
    assert compare("1.0~~a", "1.0~", "deb") == -1


def test_rpm_versions() -> None:
    ordered("rpm", "1.0~rc1", "1.0", "1.0^20240101", "1.0.1", "1.1", "1.10", "1:0.5")
    assert compare("2.3-1.fc40", "2.3-2.fc40", "rpm") == -1
    assert compare("1.0a", "1.0", "rpm") == 1
    assert compare("1.0010", "1.9", "rpm") == 1
    # A bound without a release matches every release of the version.
    assert compare("2.3", "2.3-7.fc40", "rpm") == 0


def test_generic_versions() -> None:
    ordered("generic", "1.0.beta", "1.0", "1.0.1", "1.2", "1.10", "v2")


@pytest.mark.parametrize(
    ("scheme", "bad"),
    [
        ("semver", "1.2.3.4"),
        ("semver", "latest"),
        ("go", "devel go1.23-abcdef"),
        ("deb", "abc"),
        ("rpm", "1.0-1-2"),
        ("generic", "..."),
    ],
)
def test_unreadable_versions_raise(scheme: str, bad: str) -> None:
    with pytest.raises(VersionError):
        compare(bad, "1.0", scheme)


def test_unknown_scheme() -> None:
    with pytest.raises(VersionError, match="unknown version scheme"):
        compare("1", "2", "pep440")


@pytest.mark.parametrize(
    ("purl_type", "name", "namespace", "scheme"),
    [
        ("golang", "stdlib", "", "go"),
        ("golang", "cli", "github.com/cli", "semver"),
        ("cargo", "serde", "", "semver"),
        ("deb", "hello", "debian", "deb"),
        ("rpm", "hello", "fedora", "rpm"),
        ("apk", "musl", "alpine", "generic"),
    ],
)
def test_scheme_for_purl_types(purl_type: str, name: str, namespace: str, scheme: str) -> None:
    assert scheme_for(purl_type, name, namespace) == scheme


def test_ranges() -> None:
    r = parse_range(">=1.0.0, <1.4.0 || =2.0.0")
    assert [r.contains(v, "semver") for v in ("0.9.9", "1.0.0", "1.3.9", "1.4.0", "2.0.0")] == [
        False,
        True,
        True,
        False,
        True,
    ]
    assert parse_range("*").any
    assert parse_range("*").contains("anything", "semver")
    assert parse_range("1.2.3").contains("v1.2.3", "semver")
    assert parse_range("==1.2.3").contains("1.2.3", "semver")
    assert parse_range("!=1.2.3").contains("1.2.4", "semver")
    assert parse_range("<=go1.22.5").contains("1.22.5", "go")
    assert parse_range("> 1.0").contains("1.0.1", "generic")


@pytest.mark.parametrize("bad", ["", ",", "<1.0,", "<1.0 ||", ">=", "<<1", "1.0 2.0"])
def test_malformed_ranges(bad: str) -> None:
    with pytest.raises(VersionError):
        parse_range(bad)


def test_range_check_against_a_scheme() -> None:
    parse_range("<1.2.3").check("semver")
    with pytest.raises(VersionError):
        parse_range("<latest").check("semver")
    with pytest.raises(VersionError):
        parse_range("<1.0").contains("not-a-version", "semver")


def test_check() -> None:
    versions.check("go1.22.5", "go")
    with pytest.raises(VersionError):
        versions.check("1.22.x", "go")
