"""Searching a binary's read-only data (string literals) with a regular expression, in bounded
chunks, for the detectors that recognise what a binary is by what it says about itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from sbomsign._internal.binary.facts import Facts

#: Where each format keeps read-only data: ELF, PE, Mach-O.
SECTIONS = (".rodata", ".rdata", "__const", "__cstring")
_CHUNK = 8 << 20
#: Longest match, so a string split across two chunks is still found whole.
_OVERLAP = 512
#: Most bytes of one section searched (a larger one is searched up to here).
MAX_SEARCH = 512 << 20


#: Shortest literal worth looking for before running a pattern.
_MIN_ANCHOR = 4


@lru_cache(maxsize=256)
def anchor(pattern: re.Pattern[bytes]) -> bytes:
    """The longest run of literal bytes every match of `pattern` contains, or b"".

    Looking for it with `in` (a fast substring search) first lets a chunk without it be
    skipped: most binaries hold none of the strings the classifiers look for, and the regular
    expression engine tries every NUL byte of a pattern that starts with one."""
    import re._parser as sre  # type: ignore[import-not-found]  # the stdlib's own parser

    if pattern.flags & re.IGNORECASE:
        return b""
    best = run = b""
    for op, arg in sre.parse(pattern.pattern, pattern.flags):
        # NOTE: only the top level: an item there is in every match, in this order.
        if op is sre.LITERAL:
            run += bytes((arg,))
            best = max(best, run, key=len)
        else:
            run = b""
    return best if len(best) >= _MIN_ANCHOR else b""


class Screen:
    """Which patterns may match a file's read-only data: a pattern whose anchor the data does
    not hold cannot. Each anchor is looked for once per file, in the whole of each section;
    a detector with many patterns asks this before it `search`es, which costs far more."""

    def __init__(self, facts: Facts) -> None:
        self._view = facts.view
        self._spans = [(offset, size) for _, offset, size in _sections(facts)]
        self._seen: dict[bytes, bool] = {}

    def may_match(self, pattern: re.Pattern[bytes]) -> bool:
        """False when no match of `pattern` can be in the read-only data."""
        if not self._spans:
            return False
        needle = anchor(pattern)
        if not needle:
            return True
        held = self._seen.get(needle)
        if held is None:
            held = self._seen[needle] = any(self._view.holds(needle, offset, size)
                                            for offset, size in self._spans)
        return held


def _sections(facts: Facts) -> Iterator[tuple[str, int, int]]:
    """(name, file offset, size searched) of each read-only section a file has."""
    for name in SECTIONS:
        region = facts.sections.get(name)
        if region is not None and region.size > 0:
            yield name, region.offset, min(region.size, MAX_SEARCH)


def search(facts: Facts, pattern: re.Pattern[bytes]) -> Iterator[tuple[str, int, re.Match[bytes]]]:
    """(section, file offset, match) for every match in the read-only sections, in order."""
    needle = anchor(pattern)
    for name, offset, searched in _sections(facts):
        end = offset + searched
        at = offset
        taken = at
        while at < end:
            size = min(_CHUNK + _OVERLAP, end - at)
            # NOTE: the anchor is looked for in the map, so a chunk without it is never copied.
            if needle and not facts.view.holds(needle, at, size):
                at += _CHUNK
                continue
            data = facts.view.read(at, size)
            if not data:
                break
            for m in pattern.finditer(data):
                # A match starting in the overlap may be cut off at its end: it is left to
                # the next chunk, which holds it whole. One starting inside a match already
                # found (its tail, seen again from the next chunk) is not a match of its own.
                if m.start() < _CHUNK and at + m.start() >= taken:
                    taken = at + m.end()
                    yield name, at + m.start(), m
            at += _CHUNK
