"""`jsontext.dumps` writes what `json.dumps(indent=2, ensure_ascii=False)` writes."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from sbomsign._internal import jsontext

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def _same(value: Any) -> None:
    assert jsontext.dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_every_committed_json_document() -> None:
    # The golden SBOMs and reports, the public bundles and SBOMs: every shape we write.
    documents = sorted(ASSETS.rglob("*.json"))
    assert len(documents) > 50
    for path in documents:
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        _same(value)


@pytest.mark.parametrize("value", [
    {}, [], "", 0, -1, 2**70, 0.0, -0.0, 1e300, 1.5e-7, 3.141592653589793, float("nan"),
    float("inf"), float("-inf"), True, False, None,
    "quote \" backslash \\ tab \t newline \n nul \0 del \x7f", "ünïcødé ✓ 𝄞", "\u2028\u2029",
    {"a": {}, "b": [], "c": [[]], "d": [{}], "e": {"f": [1, [2, [3, {}]]]}},
    {1: "int key", 2.5: "float key", False: "bool key", None: "null key"},
    ("a", "tuple"), [("nested", ("tuples",))],
])
def test_edge_values(value: Any) -> None:
    _same(value)


def test_random_documents() -> None:
    rng = random.Random(7)

    def make(depth: int) -> Any:
        kind = rng.randrange(8 if depth < 5 else 5)
        if kind == 0:
            return rng.choice(["", "x", "é\n", "\x01", "a\"b"])
        if kind == 1:
            return rng.randint(-(2**40), 2**40)
        if kind == 2:
            return rng.uniform(-1e6, 1e6)
        if kind == 3:
            return rng.choice([True, False, None])
        if kind == 4:
            return rng.choice([[], {}])
        if kind in (5, 6):
            return {f"k{i}": make(depth + 1) for i in range(rng.randrange(4))}
        return [make(depth + 1) for _ in range(rng.randrange(4))]

    for _ in range(300):
        _same(make(0))


def test_what_json_refuses_is_refused() -> None:
    with pytest.raises(TypeError):
        jsontext.dumps({"a": {1, 2}})
    with pytest.raises(TypeError):
        jsontext.dumps({("tuple", "key"): 1})
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular"):
        jsontext.dumps({"a": loop})
