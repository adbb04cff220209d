"""SPDX 2.3, JSON and tag-value: the codec.

`library` writes and reads through spdx-tools; `fastjson` reads JSON without it. Both are
imported when first used, so that detecting a format costs no library import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sbomsign.models import Inventory

JSON = "spdx-json"
TAG_VALUE = "spdx-tv"

_TAG_VALUE = re.compile(rb"^\s*SPDXVersion:\s*SPDX-", re.MULTILINE)
_TV_ELEMENT = re.compile(rb"^[ \t]*(?:PackageName|FileName|SnippetSPDXID):", re.MULTILINE)
_TV_RELATIONSHIP = re.compile(rb"^[ \t]*Relationship:", re.MULTILINE)


class _Spdx2:
    kind = "spdx"
    formats: Mapping[str, str] = {JSON: ".spdx.json", TAG_VALUE: ".spdx"}

    def sniff(self, head: bytes, doc: Any) -> str | None:
        if doc is not None:
            return JSON if isinstance(doc, dict) and "spdxVersion" in doc else None
        return TAG_VALUE if _TAG_VALUE.search(head[:65536]) else None

    def write(self, subject: Any, options: Any, fmt: str) -> bytes:
        from sbomsign._internal.sbom.spdx2 import library

        return library.write(subject, options, tag_value=fmt == TAG_VALUE)

    def prepare(self, fmt: str) -> None:
        from sbomsign._internal.sbom.spdx2 import library  # noqa: F401 - imported to be loaded

    def load(self, data: bytes, doc: Any, name: str, fmt: str) -> Any:
        from sbomsign._internal.sbom.spdx2 import library

        tv = fmt == TAG_VALUE
        return library.load(data if tv or doc is None else doc, name, tag_value=tv)

    def read_json(self, doc: dict[str, Any], name: str) -> Inventory:
        from sbomsign._internal.sbom.spdx2 import fastjson

        return fastjson.read_spdx(doc, name)

    def to_inventory(self, model: Any, name: str) -> Inventory:
        from sbomsign._internal.sbom.spdx2 import library

        return library.to_inventory(model, name)

    def ntia(self, model: Any, data: bytes, fmt: str) -> list[str]:
        from sbomsign._internal.sbom.spdx2 import library

        return list(library.ntia(model))

    def counts(self, data: bytes, doc: Any, fmt: str) -> tuple[int, int]:
        if fmt == TAG_VALUE:
            return (sum(1 for _ in _TV_ELEMENT.finditer(data)),
                    sum(1 for _ in _TV_RELATIONSHIP.finditer(data)))

        def size(key: str) -> int:
            value = doc.get(key)
            return len(value) if isinstance(value, list) else 0

        return size("packages") + size("files") + size("snippets"), size("relationships")


CODEC = _Spdx2()
