"""Two-space indented JSON text, byte for byte what `json.dumps(value, indent=2,
ensure_ascii=False)` writes, in about half its time.

The standard library encodes in C only without indentation; with it, every value goes through
a chain of Python generators. The SBOM of an image has about a hundred thousand values, and
this is most of the time it takes to write one. Strings are still escaped by the standard
library's C function, so the text is the same; `tests/unit/internal/test_jsontext.py` holds
the two to equal output.
"""

from __future__ import annotations

import json.encoder
from typing import Any

_escape = json.encoder.encode_basestring


def dumps(value: Any) -> str:
    """`value` as `json.dumps(value, indent=2, ensure_ascii=False)` writes it.

    Raises:
        TypeError: a value or key JSON cannot hold (as `json.dumps`).
        ValueError: a container holds itself.
    """
    out: list[str] = []
    _value(value, out, "\n", set())
    return "".join(out)


def _scalar(value: Any) -> str | None:
    """The text of a value that is not a container, or None for a container."""
    if isinstance(value, str):
        return _escape(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    if isinstance(value, (list, tuple, dict)):
        return None
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _key(key: Any) -> str:
    if isinstance(key, str):
        return _escape(key)
    if isinstance(key, (int, float)) or key is None:
        # NOTE: json writes such keys as the strings of their values (`1`, `true`, `null`).
        return _escape(_scalar(key) or "")
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _value(value: Any, out: list[str], newline: str, active: set[int]) -> None:
    text = _scalar(value)
    if text is not None:
        out.append(text)
    elif not value:
        out.append("{}" if isinstance(value, dict) else "[]")
    else:
        _container(value, out, newline, active)


def _container(value: Any, out: list[str], newline: str, active: set[int]) -> None:
    """A non-empty dict, list or tuple. Strings, the most common values, take the shortest
    path: one escape and one append for each, with its separator."""
    if id(value) in active:
        raise ValueError("Circular reference detected")
    active.add(id(value))
    inner = newline + "  "
    sep = "," + inner
    if isinstance(value, dict):
        out.append("{")
        lead = inner
        for k, v in value.items():
            key = _escape(k) if type(k) is str else _key(k)
            if type(v) is str:
                out.append(f"{lead}{key}: {_escape(v)}")
            else:
                out.append(f"{lead}{key}: ")
                _value(v, out, inner, active)
            lead = sep
        out.append(newline + "}")
    else:
        out.append("[")
        lead = inner
        for v in value:
            if type(v) is str:
                out.append(lead + _escape(v))
            else:
                out.append(lead)
                _value(v, out, inner, active)
            lead = sep
        out.append(newline + "]")
    active.discard(id(value))
