"""CycloneDX 1.6, 1.7 and 1.5, JSON and XML: the codec.

`library` writes and reads through cyclonedx-python-lib; `fastwrite` writes 1.6 and 1.7 JSON
without it, byte for byte the same, and `fastjson` reads JSON without it.
Both are imported when first used, so that detecting a format costs no library import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sbomsign.models import Inventory

JSON = "cyclonedx-json"
XML = "cyclonedx-xml"

# Start tags with any namespace prefix; `\b` keeps `<components>` from counting as one.
_XML_COMPONENT = re.compile(rb"<(?:[\w.-]+:)?component\b")
_XML_DEPENDENCY = re.compile(rb"<(?:[\w.-]+:)?dependency\b")


class _CycloneDX:
    kind = "cyclonedx"
    formats: Mapping[str, str] = {JSON: ".cdx.json", XML: ".cdx.xml"}

    def sniff(self, head: bytes, doc: Any) -> str | None:
        if doc is not None:
            return JSON if isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX" else None
        return XML if head[:1] == b"<" else None

    def write(self, subject: Any, options: Any, fmt: str) -> bytes:
        from sbomsign._internal.sbom.common import DEFAULT_CYCLONEDX_VERSION

        if fmt == JSON:
            from sbomsign._internal.sbom.cyclonedx import fastwrite

            try:
                return fastwrite.write(subject, options,
                                       options.spec_version or DEFAULT_CYCLONEDX_VERSION)
            except fastwrite.Unsupported:
                pass
        from sbomsign._internal.sbom.cyclonedx import library

        return library.write(subject, options, xml=fmt == XML)

    def prepare(self, fmt: str) -> None:
        if fmt == JSON:
            import packageurl  # noqa: F401 - imported to be loaded

            from sbomsign._internal.sbom.cyclonedx import fastwrite  # noqa: F401
        else:
            from sbomsign._internal.sbom.cyclonedx import library  # noqa: F401

    def load(self, data: bytes, doc: Any, name: str, fmt: str) -> Any:
        from sbomsign._internal.sbom.cyclonedx import library

        xml = fmt == XML
        return library.load(data if xml or doc is None else doc, name, xml=xml)

    def read_json(self, doc: dict[str, Any], name: str) -> Inventory:
        from sbomsign._internal.sbom.cyclonedx import fastjson

        return fastjson.read_cyclonedx(doc, name)

    def to_inventory(self, model: Any, name: str) -> Inventory:
        from sbomsign._internal.sbom.cyclonedx import library

        return library.to_inventory(model, name)

    def ntia(self, model: Any, data: bytes, fmt: str) -> list[str]:
        from sbomsign._internal.sbom.cyclonedx import library

        return library.ntia(model, has_timestamp=_has_timestamp(fmt, data))

    def counts(self, data: bytes, doc: Any, fmt: str) -> tuple[int, int]:
        if fmt == XML:
            return (sum(1 for _ in _XML_COMPONENT.finditer(data)),
                    sum(1 for _ in _XML_DEPENDENCY.finditer(data)))
        return _json_counts(doc)


def _json_counts(doc: Any) -> tuple[int, int]:
    """Components at every nesting level, and dependency edges, of undecoded-shape JSON."""
    components = 0
    metadata = doc.get("metadata")
    pending = [doc.get("components"),
               metadata.get("component") if isinstance(metadata, dict) else None]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            components += sum(isinstance(c, dict) for c in item)
            pending.extend(c.get("components") for c in item if isinstance(c, dict))
        elif isinstance(item, dict):
            components += 1
            pending.append(item.get("components"))
    edges = 0
    dependencies = doc.get("dependencies")
    for entry in dependencies if isinstance(dependencies, list) else ():
        if isinstance(entry, dict):
            edges += sum(len(v) for k in ("dependsOn", "provides")
                         if isinstance(v := entry.get(k), list))
    return components, edges


def _has_timestamp(fmt: str, data: bytes) -> bool:
    if fmt == JSON:
        meta = json.loads(data.decode("utf-8-sig")).get("metadata")
        return isinstance(meta, dict) and bool(meta.get("timestamp"))
    from sbomsign._internal.sbom.xmlsafe import parse

    root = parse(data, "")
    ns = root.tag.partition("}")[0] + "}" if root.tag.startswith("{") else ""
    return root.find(f"{ns}metadata/{ns}timestamp") is not None


CODEC = _CycloneDX()
