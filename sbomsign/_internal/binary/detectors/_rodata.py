"""Searching a binary's read-only data (string literals) with a regular expression, in bounded
chunks, for the detectors that recognise what a binary is by what it says about itself."""

from __future__ import annotations

import re
from collections.abc import Iterator

from sbomsign._internal.binary.facts import Facts

#: Where each format keeps read-only data: ELF, PE, Mach-O.
SECTIONS = (".rodata", ".rdata", "__const", "__cstring")
_CHUNK = 8 << 20
#: Longest match, so a string split across two chunks is still found whole.
_OVERLAP = 512
#: Most bytes of one section searched (a larger one is searched up to here).
MAX_SEARCH = 512 << 20


def search(facts: Facts, pattern: re.Pattern[bytes]) -> Iterator[tuple[str, int, re.Match[bytes]]]:
    """(section, file offset, match) for every match in the read-only sections, in order."""
    for name in SECTIONS:
        region = facts.sections.get(name)
        if region is None or region.size <= 0:
            continue
        end = region.offset + min(region.size, MAX_SEARCH)
        at = region.offset
        taken = at
        while at < end:
            data = facts.view.read(at, min(_CHUNK + _OVERLAP, end - at))
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
