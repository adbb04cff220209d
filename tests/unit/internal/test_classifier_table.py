"""The version-string classifier table: the built-in one loads and every pattern in it passes
the same checks as a user's; a malformed table or a pattern that could backtrack without end is
refused with one line naming the entry; hostile bytes take the built-in patterns no longer
than a plain scan."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sbomsign._internal.binary.detectors import classifiers
from sbomsign.errors import InputError

GOOD = {"name": "demo", "cpe": "example:demo", "linking": "none", "confidence": 0.7,
        "version": "demo version (?P<version>\\d{1,3}\\.\\d{1,3})\\x00",
        "requires": ["Usage: demo\n"]}


def _table(*entries: Any) -> bytes:
    return json.dumps({"classifiers": list(entries)}).encode()


def test_the_builtin_table_loads() -> None:
    table = classifiers.builtin()
    names = {c.name for c in table}
    assert {"bash", "busybox", "nginx", "openssl", "libcurl", "curl", "jq", "redis", "sqlite",
            "zlib", "glibc", "musl", "haproxy", "python", "node", "postgresql"} <= names
    assert all(c.cpe.count(":") == 1 for c in table)


def test_a_good_entry() -> None:
    (c,) = classifiers.parse(_table(GOOD), "mine.json")
    assert (c.name, c.cpe, c.confidence) == ("demo", "example:demo", 0.7)
    m = c.pattern.search(b"\x00demo version 1.2\x00")
    assert m is not None and m.group("version") == b"1.2"
    assert c.requires[0].search(b"Usage: demo\n")


@pytest.mark.parametrize(("change", "said"), [
    ({"name": "Demo!"}, "name must be"),
    ({"cpe": "no-colon"}, "cpe must be vendor:product"),
    ({"linking": "dynamic"}, "linking must be none or static"),
    ({"confidence": 1.5}, "confidence must be"),
    ({"confidence": True}, "confidence must be"),
    ({"version": "demo (\\d+)"}, "needs a group (?P<version>...)"),
    ({"version": "demo (?P<version>(\\d+)"}, "not a regular expression"),
    ({"version": "(?P<version>(a+)+)b"}, "exponential time"),
    ({"version": "(?P<version>(?:a|ab)*)c"}, "exponential time"),
    ({"version": "(?P<version>(?:x\\d+){1,50})"}, "exponential time"),
    ({"version": "x" * 2000 + "(?P<version>1)"}, "1 to 1024 characters"),
    ({"version": "caf\u00e9 (?P<version>\u20ac)"}, "up to U+00FF"),
    ({"requires": ["a"] * 9}, "at most 8 strings"),
    ({"requires": [""]}, "at most 8 strings"),
    ({"url": "https://example.com"}, "an object with keys from"),
])
def test_a_bad_entry_is_refused_naming_it(change: dict[str, Any], said: str) -> None:
    with pytest.raises(InputError) as e:
        classifiers.parse(_table(GOOD, {**GOOD, **change}), "mine.json")
    message = e.value.message
    assert said in message and message.startswith("mine.json: classifier 1")
    assert "\n" not in message


@pytest.mark.parametrize(("data", "said"), [
    (b"{not json", "is not JSON"),
    (b"[]", 'a classifier table is {"classifiers": [...]}'),
    (b'{"classifiers": {}}', 'a classifier table is {"classifiers": [...]}'),
    (_table(*[GOOD] * 1001), "more than 1000 classifiers"),
    (b" " * (1 << 20) + _table(GOOD), "larger than"),
    (b"[" * 100000, "is not JSON"),
])
def test_a_bad_table_is_refused(data: bytes, said: str) -> None:
    with pytest.raises(InputError, match="^mine.json: ") as e:
        classifiers.parse(data, "mine.json")
    assert said in e.value.message


@pytest.mark.parametrize("hostile", [
    b"\x00" + b"1." * 400_000,
    b"GNU C Library (" + b"(" * 1_000_000,
    b"\x00curl 1.2.3 (" + b"a" * 1_000_000,
    b"@(#)Bash version 5.2.15(" + b"9" * 1_000_000,
    (b"\x00OpenSSL 3.0.1 1 Jan 2024\x00" * 50_000),
])
def test_hostile_bytes_are_searched_in_one_pass(hostile: bytes) -> None:
    # every built-in pattern over bytes built to make a backtracking pattern explode: they
    # finish (no pattern repeats a repetition), and each yields at most its first match
    for c in classifiers.builtin():
        for _ in c.pattern.finditer(hostile):
            break


@pytest.mark.parametrize(("names", "version", "cpe"), [
    (("libc6", "glibc"), "2.36-9+deb12u14", "cpe:2.3:a:gnu:glibc:2.36:*:*:*:*:*:*:*"),
    (("zlib1g", "zlib"), "1:1.2.13.dfsg-1+deb12u1", "cpe:2.3:a:zlib:zlib:1.2.13:*:*:*:*:*:*:*"),
    (("libssl3", "openssl"), "3.0.22-1~deb12u2",
     "cpe:2.3:a:openssl:openssl:3.0.22:*:*:*:*:*:*:*"),
    (("glibc-minimal-langpack", "glibc"), "2.34-100.el9",
     "cpe:2.3:a:gnu:glibc:2.34:*:*:*:*:*:*:*"),
    (("libcrypto3", "openssl"), "3.1.4-r5", "cpe:2.3:a:openssl:openssl:3.1.4:*:*:*:*:*:*:*"),
    (("libssl1.1", "openssl"), "1.1.1w-0+deb11u1",
     "cpe:2.3:a:openssl:openssl:1.1.1w:*:*:*:*:*:*:*"),
    (("libfoo1", "glibc"), "2.36-9", "cpe:2.3:a:gnu:glibc:2.36:*:*:*:*:*:*:*"),  # by source
    (("gcc-12-base", "gcc-12"), "12.2.0-14", ""),  # no mapping: no vendor made up
    (("base-files", ""), "12.4+deb12u15", ""),
])
def test_os_packages_get_the_cpe_the_table_maps_them_to(names: tuple[str, ...], version: str,
                                                        cpe: str) -> None:
    assert classifiers.package_cpe(names, version) == cpe


def test_the_source_package_name_of_each_database() -> None:
    from sbomsign._internal.sources.ospkg import _source_name

    assert _source_name({"source": "glibc (2.36-9)"}) == "glibc"
    assert _source_name({"origin": "openssl"}) == "openssl"
    assert _source_name({"source": "glibc-2.34-100.el9.src.rpm"}) == "glibc"
    assert _source_name({}) == ""
