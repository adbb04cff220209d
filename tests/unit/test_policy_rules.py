"""The rule-family registry: every family brings its part of the schema, and the parts fit."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from sbomsign.policy import schema
from sbomsign.policy.rules import FAMILIES


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_each_family_ships_its_part_of_the_schema_and_the_parts_do_not_overlap() -> None:
    seen_keys: dict[str, str] = {}
    seen_defs: dict[str, str] = {}
    for family in FAMILIES:
        text = resources.files("sbomsign.policy.rules").joinpath(f"{family.name}.schema.json")
        part = json.loads(text.read_text())
        assert set(part) == {"spec", "$defs"}, family.name
        for key in part["spec"]:
            assert key not in seen_keys, f"spec.{key}: in {seen_keys.get(key)} and {family.name}"
            seen_keys[key] = family.name
        for name in part["$defs"]:
            assert name not in seen_defs, f"$defs.{name}: twice"
            seen_defs[name] = family.name
    spec = schema()["$defs"]["spec"]["properties"]
    assert list(spec) == list(seen_keys)  # in the registry's order
    assert {"signers", "sbom", "binary", "rules"} <= set(spec)


def test_every_reference_in_the_assembled_schema_resolves() -> None:
    doc = schema()
    refs = _refs(doc)
    assert len(refs) > 20
    for ref in refs:
        assert ref.startswith("#/$defs/"), ref
        assert ref.removeprefix("#/$defs/") in doc["$defs"], ref
