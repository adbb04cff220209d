"""The SPDX licence list, as license-expression ships it (the table spdx-tools validates
against), read without building license-expression's parser.

Building `get_spdx_licensing()` takes about 0.1 s; a scan that only needs to know whether a
name is an SPDX identifier, or a reader that only checks identifiers, reads the table itself.
"""

from __future__ import annotations

import json
from functools import cache


@cache
def index_text() -> str:
    """The text of the licence index license-expression builds spdx-tools' licensing from
    (empty when it cannot be read)."""
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec("license_expression")
    if spec is None or not spec.submodule_search_locations:
        return ""
    index = Path(list(spec.submodule_search_locations)[0], "data", "scancode-licensedb-index.json")
    try:
        return index.read_text(encoding="utf-8")
    except OSError:
        return ""


@cache
def is_license_key(token: str) -> bool:
    """Whether `token`, spelt exactly, is an SPDX licence or exception identifier."""
    # NOTE: a plain substring test instead of decoding ~1 MB of JSON: the token is known to
    # hold no quote or backslash, and a key is written `"spdx_license_key": "<key>"`.
    return f'"spdx_license_key": "{token}"' in index_text()


def licence_ids() -> dict[str, str]:
    """SPDX licence identifiers (not exceptions, not `LicenseRef-`), by their lower case."""
    return _ids()[0]


def exception_ids() -> dict[str, str]:
    """SPDX licence exception identifiers (`GCC-exception-3.1`), by their lower case."""
    return _ids()[1]


@cache
def _ids() -> tuple[dict[str, str], dict[str, str]]:
    try:
        entries = json.loads(index_text() or "[]")
    except ValueError:
        return {}, {}
    licences: dict[str, str] = {}
    exceptions: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        key = entry.get("spdx_license_key") if isinstance(entry, dict) else None
        if isinstance(key, str) and not key.startswith("LicenseRef-"):
            (exceptions if entry.get("is_exception") else licences)[key.lower()] = key
    return licences, exceptions
