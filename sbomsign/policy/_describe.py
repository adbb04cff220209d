"""Schema validation errors as one line of prose, with the JSON path and a hint.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from sbomsign.policy._model import _MAX_LISTED


def _json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", str(p)):
            out += f".{p}"
        else:
            out += f"[{json.dumps(str(p))}]"
    return out


def _exactly_one(schemas: Any) -> list[str] | None:
    """The keys of a `oneOf: [{required: [a]}, {required: [b]}]`, else None."""
    if not isinstance(schemas, list):
        return None
    keys: list[str] = []
    for s in schemas:
        if not (isinstance(s, dict) and set(s) == {"required"} and len(s["required"]) == 1):
            return None
        keys.append(s["required"][0])
    return keys


def _listing(values: Iterable[Any]) -> str:
    items = [str(v) for v in values]
    if len(items) > _MAX_LISTED:
        items = [*items[:_MAX_LISTED], "..."]
    return ", ".join(items)


def _property_name(error: Any, path: list[Any]) -> str:
    instance = error.instance
    names = (
        error.validator_value
        if error.validator == "enum"
        else next((e.validator_value for e in error.context or () if e.validator == "enum"), None)
    )
    if names:
        return (
            f"{_json_path([*path, instance])}: unknown name {instance!r} "
            f"(expected one of {_listing(names)})"
        )
    return f"{_json_path([*path, instance])}: {instance!r} is not a valid name"


def _additional(error: Any, path: list[Any], where: str, schema: dict[str, Any]) -> str | None:
    if not isinstance(error.instance, dict):
        return None
    allowed = list(schema.get("properties", {}))
    extra = next((k for k in error.instance if k not in allowed), None)
    if extra is None:
        return None
    close = difflib.get_close_matches(str(extra), allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    known = f"; known keys: {_listing(allowed)}" if allowed and not close else ""
    return f"{_json_path([*path, extra])}: unknown key{hint}{known}"


def _one_of(error: Any, path: list[Any], where: str, schema: dict[str, Any]) -> str | None:
    instance = error.instance
    keys = _exactly_one(error.validator_value)
    if keys is not None and isinstance(instance, dict):
        if any(k in instance for k in keys):
            return f"{where}: give only one of {', '.join(keys)}"
        return f"{where}: give one of {', '.join(keys)}"
    if not isinstance(instance, dict) and schema.get("title"):
        return f"{where}: {instance!r} is not {schema['title'].replace('`', '')}"
    if error.context:
        # Prefer what is wrong inside the branch that has the instance's type.
        context = [e for e in error.context if e.validator != "type"] or list(error.context)
        context.sort(key=lambda e: (e.validator != "additionalProperties", -len(e.path)))
        return _describe(context[0])
    return None


def _not(error: Any, path: list[Any], where: str, schema: dict[str, Any]) -> str | None:
    if not isinstance(error.validator_value, dict):
        return None
    keys = error.validator_value.get("required")
    return f"{where}: give only one of {', '.join(keys)}" if keys else None


def _required(error: Any, path: list[Any], where: str, schema: dict[str, Any]) -> str | None:
    missing = next((k for k in error.validator_value if k not in error.instance), "?")
    return f"{where}: missing required key {missing!r}"


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
}


def _type(error: Any, path: list[Any], where: str, schema: dict[str, Any]) -> str | None:
    wanted, instance = error.validator_value, error.instance
    text = _TYPE_WORDS.get(wanted, str(wanted)) if isinstance(wanted, str) else str(wanted)
    hint = ""
    if wanted == "string" and isinstance(instance, int | float | bool):
        hint = " (quote it: YAML read it as a number or boolean)"
    return f"{where}: must be {text}, not {instance!r}{hint}"


def _pattern(error: Any, path: list[Any], where: str, schema: dict[str, Any]) -> str | None:
    if schema.get("title"):
        return f"{where}: {error.instance!r} is not a valid {schema['title'].replace('`', '')}"
    return f"{where}: {error.instance!r} does not match {error.validator_value}"


_Describer = Callable[[Any, list[Any], str, dict[str, Any]], "str | None"]

#: One describer per JSON Schema keyword; None from one means "say what jsonschema says".
_DESCRIBERS: dict[str, _Describer] = {
    "additionalProperties": _additional,
    "oneOf": _one_of,
    "anyOf": _one_of,
    "not": _not,
    "required": _required,
    "const": lambda e, p, w, s: f"{w}: must be {e.validator_value!r}, not {e.instance!r}",
    "enum": lambda e, p, w, s: f"{w}: {e.instance!r} is not one of {_listing(e.validator_value)}",
    "type": _type,
    "pattern": _pattern,
    "minLength": lambda e, p, w, s: f"{w}: must not be empty",
    "minProperties": lambda e, p, w, s: f"{w}: must not be empty",
    "minItems": lambda e, p, w, s: f"{w}: needs at least {e.validator_value} item(s)",
    "uniqueItems": lambda e, p, w, s: f"{w}: has duplicate items",
}


def _describe(error: Any) -> str:
    """One line for a jsonschema ValidationError: the JSON path and what is wrong."""
    path = list(error.absolute_path)
    where = _json_path(path)
    if "propertyNames" in error.absolute_schema_path:
        return _property_name(error, path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    describer = _DESCRIBERS.get(error.validator)
    text = describer(error, path, where, schema) if describer is not None else None
    return text if text is not None else f"{where}: {' '.join(error.message.split())}"
