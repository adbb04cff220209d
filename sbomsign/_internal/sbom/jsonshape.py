"""JSON shape checks shared by the fast JSON readers, and `Unsupported`.

See `cyclonedx/fastjson.py` for what the fast readers are and why they exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import zip_longest
from typing import Any


class Unsupported(Exception):
    """The document uses something these readers do not model; read it with the libraries."""


class _Invalid(Exception):
    """A problem at one place of the document; becomes a one-line `SbomError`."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)


# --- JSON shape checks ---------------------------------------------------------------------------


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(path, f"must be an object, not {_kind(value)}")
    return value


def _arr(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Invalid(path, f"must be an array, not {_kind(value)}")
    return value


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(path, f"must be a string, not {_kind(value)}")
    return value


def _at(path: str, key: str) -> str:
    """The path of a member, for messages: `components[3].name`."""
    return f"{path}.{key}" if path else key


def _opt(d: dict[str, Any], key: str, path: str) -> str | None:
    """An optional string member: None when absent."""
    return _text(d[key], _at(path, key)) if key in d else None


def _req(d: dict[str, Any], key: str, path: str) -> str:
    if key not in d:
        raise _Invalid(path, f"{key} is missing")
    return _text(d[key], _at(path, key))


def _items(d: dict[str, Any], key: str, path: str) -> list[tuple[str, Any]]:
    """(path, item) of an optional array member."""
    if key not in d:
        return []
    where = _at(path, key)
    return [(f"{where}[{i}]", v) for i, v in enumerate(_arr(d[key], where))]


def _only(d: dict[str, Any], handled: frozenset[str], path: str) -> None:
    """Hand the document to the libraries if `d` has a member these readers do not check.

    The libraries read (and may refuse) members these readers would otherwise skip, and
    cyclonedx-python-lib also takes unexpected spellings (`bomRef`, `serial_number`) for known
    members: only what is checked here can be known to be read the same.
    """
    for key in d:
        if key not in handled:
            raise Unsupported(_at(path, key))


def _number(value: Any, path: str, *, lo: float, hi: float) -> float:
    # NOTE: a JSON `true` is a Python int; the libraries would choke on it or keep it as 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(path, f"must be a number, not {_kind(value)}")
    if not lo <= value <= hi:  # also refuses NaN, which Python's json accepts
        raise _Invalid(path, f"{_show(value)} is not between {lo:g} and {hi:g}")
    return float(value)


def _count(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(path, f"must be an integer, not {_kind(value)}")
    if value < 0:
        raise _Invalid(path, f"{value} is negative")
    return value


def _choice(value: Any, choices: frozenset[str], path: str) -> str:
    text = _text(value, path)
    if text not in choices:
        raise _Invalid(path, f"{_show(text)} is not one of {', '.join(sorted(choices))}")
    return text


class _Sortable(tuple[Any, ...]):
    """A tuple ordered as cyclonedx-python-lib orders the members of its sorted sets.

    The library keeps components, properties, hashes, licenses, dependencies and evidence in
    `SortedSet`s keyed by tuples of their fields, where a missing (None) field sorts after any
    value and a tuple that runs out first sorts after the longer one. The reader then takes
    "the first" or "the last" of a set, so the order decides values, not only presentation.
    """

    __slots__ = ()

    def __lt__(self, other: tuple[Any, ...]) -> bool:
        for mine, theirs in zip_longest(self, other):
            if mine == theirs:
                continue
            if mine is None:
                return False
            if theirs is None:
                return True
            return bool(mine < theirs)
        return False


def _sorted_set(items: Iterable[Any], key: Any, path: str) -> list[Any]:
    """`items` as the library's sorted set holds them: sorted by `key`, equal keys once.

    `key(item)` must cover every field the library compares, so equal keys mean equal items.
    """
    out: list[Any] = []
    for item in sorted(items, key=key):
        if out and key(out[-1]) == key(item):
            continue
        out.append(item)
    return out
