"""The chunked search of read-only data finds each match once, whole, wherever chunks split."""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator

import pytest

from sbomsign._internal.binary._common import FileView
from sbomsign._internal.binary.detectors import _rodata
from sbomsign._internal.binary.facts import Facts, Region

_VERSION = re.compile(rb"ver=\d+\.\d+\.\d+")


def _found(data: bytes, pattern: re.Pattern[bytes]) -> Iterator[tuple[int, bytes]]:
    mm = mmap.mmap(-1, len(data))
    mm.write(data)
    facts = Facts(FileView(mm), "amd64", sections={".rodata": Region(".rodata", 0, len(data))})
    for _, offset, m in _rodata.search(facts, pattern):
        yield offset, m.group()


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_rodata, "_CHUNK", 64)
    monkeypatch.setattr(_rodata, "_OVERLAP", 16)


@pytest.mark.parametrize("start", [0, 50, 60, 64, 70, 74, 79, 120, 128, 140])
def test_a_match_near_a_chunk_boundary_is_found_once_and_whole(start: int) -> None:
    data = bytearray(b"." * 200)
    data[start:start + 9] = b"ver=1.2.3"
    assert list(_found(bytes(data), _VERSION)) == [(start, b"ver=1.2.3")]


def test_the_tail_of_a_match_seen_from_the_next_chunk_is_not_a_second_match() -> None:
    data = b"." * 60 + b"abcdefghij" + b"." * 60
    assert list(_found(data, re.compile(rb"[a-j]+"))) == [(60, b"abcdefghij")]


def test_every_match_in_a_section_is_found_in_order() -> None:
    data = b"".join(b"ver=1.2.%d;" % i for i in range(30))
    found = list(_found(data, _VERSION))
    assert [m for _, m in found] == [b"ver=1.2.%d" % i for i in range(30)]
    assert [o for o, _ in found] == sorted(o for o, _ in found)


@pytest.mark.parametrize(("pattern", "anchor"), [
    (rb"\x00OpenSSL (?P<version>\d+\.\d+)", b"\x00OpenSSL "),
    (rb"(?:deflate|inflate) (?P<version>\d+) Copyright ", b" Copyright "),
    (rb"abcde*", b"abcd"),            # the repeated byte is not in every match
    (rb"abcd?", b""),                 # three bytes: too short to be worth a search
    (rb"abcd|efgh", b""),             # neither side is in every match
    (rb"(?i)nginx/(?P<version>\d)", b""),  # case-insensitive: no literal bytes
    (rb"\x00(?P<version>\d+)\x00", b""),
])
def test_the_anchor_is_a_literal_every_match_contains(pattern: bytes, anchor: bytes) -> None:
    compiled = re.compile(pattern)
    assert _rodata.anchor(compiled) == anchor
    if anchor:
        for m in compiled.finditer(b"x\x00OpenSSL 1.1 deflate 7 Copyright abcdeee"):
            assert anchor in m.group()


def test_chunks_without_the_anchor_are_skipped_and_later_matches_still_found() -> None:
    data = b"." * 500 + b"ver=9.8.7" + b"." * 100 + b"ver=1.2.3"
    assert list(_found(data, _VERSION)) == [(500, b"ver=9.8.7"), (609, b"ver=1.2.3")]
