"""The OCI image-spec JSON schemas (tests/assets/oci-image-spec), for checking what sbomsign
writes into registries and layouts."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SCHEMAS = Path(__file__).parent / "assets" / "oci-image-spec"
_BASES = ("https://opencontainers.org/schema/", "https://opencontainers.org/schema/image/")


@cache
def _registry() -> Registry:
    registry: Registry = Registry()
    for path in SCHEMAS.glob("*.json"):
        resource = Resource(json.loads(path.read_text()), specification=DRAFT4)
        for base in _BASES:
            # The schemas refer to each other by file name, relative to ids under both bases.
            registry = registry.with_resource(base + path.name, resource)
    return registry.crawl()


def validate(doc: dict[str, Any], schema: str) -> None:
    """Raise `jsonschema.ValidationError` unless `doc` is valid against `schema`
    (`image-manifest-schema.json`, `image-index-schema.json`, `image-layout-schema.json`)."""
    contents = json.loads((SCHEMAS / schema).read_text())
    jsonschema.Draft4Validator(contents, registry=_registry()).validate(doc)


def validate_manifest_or_index(doc: dict[str, Any]) -> None:
    """Validate against the manifest or the index schema, by the document's keys."""
    validate(doc, "image-index-schema.json" if "manifests" in doc
             else "image-manifest-schema.json")
