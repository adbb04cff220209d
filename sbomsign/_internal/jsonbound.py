"""JSON from untrusted sources, with a bound on how deeply it nests.

Python's `json` decodes nested arrays and objects recursively, so a document nested a few
thousand levels deep raises `RecursionError` (a traceback, not an error message), and the
readers that walk a decoded document recursively would do the same at a lower depth. No
document sbomsign reads (bundles, in-toto statements, SBOMs, trusted roots, package notes,
cargo-auditable data) comes near the bound; a deeper one is refused before it is decoded.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: The deepest nesting of arrays and objects accepted. sbomsign's own documents nest about
#: 10 levels (a merged CycloneDX document's components inside the release's); syft's about 8.
MAX_DEPTH = 100

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class TooDeep(ValueError):
    """The document nests deeper than `MAX_DEPTH` (a `ValueError`, like malformed JSON)."""


def check_depth(data: bytes | str, limit: int = MAX_DEPTH) -> None:
    """Raise `TooDeep` when `data` nests arrays and objects deeper than `limit`.

    Brackets inside strings do not count; a malformed document is left to the decoder.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    depth = 0
    for m in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if m.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                raise TooDeep(f"nests deeper than {limit} levels")
        else:
            depth -= 1


def loads(data: bytes | str, limit: int = MAX_DEPTH) -> Any:
    """`json.loads` of a document that nests at most `limit` levels.

    Raises:
        TooDeep: it nests deeper.
        ValueError: it is not JSON (`json.JSONDecodeError`, `UnicodeDecodeError`).
    """
    check_depth(data, limit)
    return json.loads(data)


def json_lines(data: bytes, most: int) -> list[bytes]:
    """The documents of a JSON Lines file (one object per line, as `gh attestation download`
    and `gh attestation trusted-root` write), or `[data]` for a single document.

    A file is JSON Lines when it has more than one non-blank line and each is a whole object
    on its own line (a pretty-printed document opens with a line that is `{` alone).

    Raises:
        TooDeep: it holds more than `most` documents (a `ValueError`).
    """
    lines = [line.strip() for line in data.splitlines() if line.strip()]
    if len(lines) < 2 or not all(line[:1] == b"{" and line[-1:] == b"}" for line in lines):
        return [data]
    if len(lines) > most:
        raise TooDeep(f"holds more than {most} documents")
    return lines
