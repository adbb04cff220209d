"""The JSON Schema of `Inventory.to_json()`, derived from the model's dataclasses.

The shipped file `inventory_schema.json` is this function's output; a test regenerates it and
fails when the model and the file drift apart (`python -m sbomsign._internal.inventory_schema`
rewrites it).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

from sbomsign import models

#: Fields that hold (name, value) pairs, written as `[{"name": ..., "value": ...}]`.
_PAIRS = {"settings", "fields", "properties", "labels"}
_SCHEMA_FILE = Path(__file__).with_name("inventory_schema.json")


def _type(hint: Any, field_name: str, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [_type(a, field_name, defs) for a in typing.get_args(hint)]
        return {"anyOf": options}
    if hint is type(None):
        return {"type": "null"}
    if hint is str:
        return {"type": "string"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"enum": [m.value for m in hint]}
    if origin is tuple:
        if field_name in _PAIRS:
            return {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "value"],
                    "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
                },
            }
        item = typing.get_args(hint)[0]
        return {"type": "array", "items": _type(item, field_name, defs)}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        _define(hint, defs)
        return {"$ref": f"#/$defs/{hint.__name__}"}
    raise TypeError(f"no JSON Schema for {hint!r} ({field_name})")


def _define(cls: Any, defs: dict[str, Any]) -> None:
    name = cls.__name__
    if name in defs:
        return
    defs[name] = {}  # NOTE: a placeholder first, so recursive types terminate
    hints = typing.get_type_hints(cls, vars(models))
    props: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        props[f.name] = _type(hints[f.name], f.name, defs)
        doc = _field_doc(cls, f.name)
        if doc:
            props[f.name]["description"] = doc
    if cls in (models.Component, models.Container):
        props["ref"] = {"type": "string",
                        "description": f"Stable identifier (`{name}.ref`)."}
    defs[name] = {
        "type": "object",
        "additionalProperties": False,
        "required": sorted(props),
        "properties": props,
    }
    if cls.__doc__:
        defs[name]["description"] = " ".join(cls.__doc__.split())


def _field_doc(cls: Any, field_name: str) -> str:
    """The attribute docstring written under a field in the model's source, if any."""
    import ast
    import inspect

    try:
        tree = ast.parse(inspect.getsource(cls))
    except (OSError, TypeError):
        return ""
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for i, node in enumerate(body[:-1]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == field_name
        ):
            nxt = body[i + 1]
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                return " ".join(str(nxt.value.value).split())
    return ""


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of `sbomsign scan --format json`."""
    defs: dict[str, Any] = {}
    _define(models.Artifact, defs)
    _define(models.ScanProblem, defs)
    _define(models.Container, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": models.INVENTORY_SCHEMA,
        "title": "sbomsign inventory",
        "description": "What `sbomsign scan --format json` prints.",
        "type": "object",
        "additionalProperties": False,
        "required": ["schema", "tool", "artifacts", "problems", "containers"],
        "properties": {
            "schema": {"const": models.INVENTORY_SCHEMA},
            "tool": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "version"],
                "properties": {"name": {"const": "sbomsign"}, "version": {"type": "string"}},
            },
            "artifacts": {"type": "array", "items": {"$ref": "#/$defs/Artifact"}},
            "problems": {"type": "array", "items": {"$ref": "#/$defs/ScanProblem"}},
            "containers": {"type": "array", "items": {"$ref": "#/$defs/Container"}},
        },
        "$defs": dict(sorted(defs.items())),
    }


def rendered() -> str:
    """The schema as the shipped file holds it."""
    return json.dumps(schema(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    _SCHEMA_FILE.write_text(rendered(), encoding="utf-8")
    sys.stdout.write(f"wrote {_SCHEMA_FILE}\n")
