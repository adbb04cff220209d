"""SPDX 3.0.1 JSON-LD: the codec.

`writer` writes and `reader` reads documents with the standard library: no SPDX 3 library is
used, so the reader is the only one, and `read_json`, `load` and `to_inventory` all go
through it. Both are imported when first used; `context` is all detection needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sbomsign._internal.sbom.spdx3.context import spdx3_context
from sbomsign.models import Inventory

JSON = "spdx3-json"

# The relationship classes: their `to` lists are what `counts` calls relationships.
_RELATIONSHIP_TYPES = frozenset({"Relationship", "LifecycleScopedRelationship"})


class _Spdx3:
    kind = "spdx"
    formats: Mapping[str, str] = {JSON: ".spdx3.json"}

    def sniff(self, head: bytes, doc: Any) -> str | None:
        return JSON if spdx3_context(doc) else None

    def write(self, subject: Any, options: Any, fmt: str) -> bytes:
        from sbomsign._internal.sbom.spdx3 import writer

        return writer.write(subject, options)

    def prepare(self, fmt: str) -> None:
        from sbomsign._internal.sbom.spdx3 import writer  # noqa: F401 - imported to be loaded

    def load(self, data: bytes, doc: Any, name: str, fmt: str) -> Any:
        from sbomsign._internal.sbom.spdx3 import reader

        return reader.load(doc, name)

    def read_json(self, doc: dict[str, Any], name: str) -> Inventory:
        from sbomsign._internal.sbom.spdx3 import reader

        return reader.to_inventory(reader.load(doc, name))

    def to_inventory(self, model: Any, name: str) -> Inventory:
        from sbomsign._internal.sbom.spdx3 import reader

        return reader.to_inventory(model)

    def ntia(self, model: Any, data: bytes, fmt: str) -> list[str]:
        from sbomsign._internal.sbom.spdx3 import reader

        return reader.ntia(model)

    def counts(self, data: bytes, doc: Any, fmt: str) -> tuple[int, int]:
        # NOTE: every element but the relationships counts as a component (agents, tools and
        # licences too), so that no kind of element escapes the bound.
        graph = doc.get("@graph") if isinstance(doc, dict) else None
        components = relationships = 0
        for node in graph if isinstance(graph, list) else ():
            if not isinstance(node, dict):
                continue
            if node.get("type", node.get("@type")) in _RELATIONSHIP_TYPES:
                to = node.get("to")
                relationships += len(to) if isinstance(to, list) else 1
            else:
                components += 1
        return components, relationships


CODEC = _Spdx3()
