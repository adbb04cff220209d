"""Tests of the cargo-auditable `.dep-v0` decoder."""

from __future__ import annotations

import json
import time
import tracemalloc
import zlib
from typing import Any

import pytest

from sbomsign._internal.binary.detectors.rust import MAX_DECOMPRESSED, parse_dep_v0, rust_components
from sbomsign.errors import InspectionError
from sbomsign.models import ComponentKind, Linking

# Shaped like the data cargo-auditable embeds (format 1: proc-macros recorded as build deps).
SAMPLE: dict[str, Any] = {
    "format": 1,
    "packages": [
        {"name": "adler", "version": "1.0.2", "source": "crates.io"},
        {
            "name": "myapp",
            "version": "0.1.0",
            "source": "local",
            "dependencies": [0, 2, 3],
            "root": True,
        },
        {
            "name": "serde_derive",
            "version": "1.0.197",
            "source": "crates.io",
            "kind": "build",
            "dependencies": [4],
        },
        {"name": "forked", "version": "0.3.0", "source": "git"},
        {
            "name": "proc-macro2",
            "version": "1.0.79",
            "source": {"Other": "sparse+https://x"},
            "kind": "build",
        },
    ],
}


def pack(doc: object) -> bytes:
    return zlib.compress(json.dumps(doc).encode())


def test_parse_sample() -> None:
    audit = parse_dep_v0(pack(SAMPLE) + b"\0\0\0", offset=4096)
    assert audit.format == 1
    assert audit.offset == 4096
    names = [(c.name, c.version, c.source, c.kind, c.root, c.dependencies) for c in audit.packages]
    assert names == [
        ("adler", "1.0.2", "crates.io", "runtime", False, ()),
        ("myapp", "0.1.0", "local", "runtime", True, (0, 2, 3)),
        ("serde_derive", "1.0.197", "crates.io", "build", False, (4,)),
        ("forked", "0.3.0", "git", "runtime", False, ()),
        ("proc-macro2", "1.0.79", "sparse+https://x", "build", False, ()),
    ]


def test_format_defaults_to_zero() -> None:
    doc = {"packages": [{"name": "a", "version": "1.0.0", "source": "local", "root": True}]}
    assert parse_dep_v0(pack(doc)).format == 0


def test_components() -> None:
    comps = rust_components(parse_dep_v0(pack(SAMPLE), offset=10))
    by_name = {c.name: c for c in comps}
    app = by_name["myapp"]
    assert app.kind is ComponentKind.RUST_CRATE
    assert app.purl == "pkg:cargo/myapp@0.1.0"
    assert app.depends_on == (
        "pkg:cargo/adler@1.0.2",
        "pkg:cargo/serde_derive@1.0.197",
        "pkg:cargo/forked@0.3.0",
    )
    assert ("sbomsign:cargo:root", "true") in app.properties
    assert app.source == "local"
    derive = by_name["serde_derive"]
    assert derive.scope == "build"
    assert derive.linking is Linking.NONE
    assert by_name["adler"].linking is Linking.STATIC
    assert by_name["forked"].source == "git"
    ev = app.evidence[0]
    assert (ev.technique, ev.location, ev.offset, ev.source) == (
        "binary-analysis",
        ".dep-v0",
        10,
        "cargo-auditable",
    )
    # format 1 comes from cargo metadata: weaker, and said so
    assert ev.confidence < 1.0 and "cargo metadata" in ev.note


def test_precise_format_has_full_confidence() -> None:
    doc = dict(SAMPLE, format=8)
    ev = rust_components(parse_dep_v0(pack(doc)), location="__DATA,.dep-v0")[0].evidence[0]
    assert ev.confidence == 1.0 and ev.note == "" and ev.location == "__DATA,.dep-v0"


def test_zip_bomb_is_rejected_quickly_with_bounded_memory() -> None:
    # 100 MB of zeros compresses to about 100 kB.
    bomb = zlib.compress(b"\0" * (100 * 1024 * 1024), 9)
    assert len(bomb) < 200_000
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(InspectionError, match="more than 8 MiB"):
            parse_dep_v0(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < 3 * MAX_DECOMPRESSED


def test_exactly_at_cap_is_accepted_as_zlib_but_not_json() -> None:
    data = zlib.compress(b" " * MAX_DECOMPRESSED)
    with pytest.raises(InspectionError, match="not valid JSON"):
        parse_dep_v0(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not zlib at all", "not valid zlib"),
        (zlib.compress(b'{"packages": []}')[:-6], "truncated"),
        (zlib.compress(b"\xff\xfe"), "not valid JSON"),
        (zlib.compress(b"[1, 2]"), "not a JSON object"),
        (zlib.compress(b'{"packages": [], "format": NaN}'), "not valid JSON"),
        (zlib.compress(b"[" * 100_000), "nested too deeply|not valid JSON"),
    ],
)
def test_bad_data(data: bytes, message: str) -> None:
    with pytest.raises(InspectionError, match=message):
        parse_dep_v0(data)


def _one(**changes: Any) -> dict[str, Any]:
    pkg: dict[str, Any] = {"name": "a", "version": "1.0.0", "source": "crates.io", "root": True}
    pkg.update(changes)
    return {"packages": [{k: v for k, v in pkg.items() if v is not ...}]}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"format": "1", "packages": []}, "format"),
        ({"format": -1, "packages": []}, "format"),
        ({"format": True, "packages": []}, "format"),
        ({}, "'packages'"),
        ({"packages": {}}, "'packages'"),
        ({"packages": ["x"]}, "not an object"),
        (_one(name=...), "'name'"),
        (_one(name=3), "'name'"),
        (_one(version=...), "'version'"),
        (_one(source=...), "'source'"),
        (_one(source={"Other": 1}), "'source'"),
        (_one(kind="dev"), "'kind'"),
        (_one(kind=["runtime"]), "'kind'"),
        (_one(root="yes"), "'root'"),
        (_one(dependencies="0"), "'dependencies'"),
        (_one(dependencies=[1]), "out of range"),
        (_one(dependencies=[-1]), "out of range"),
        (_one(dependencies=[True]), "out of range"),
        (_one(dependencies=[0.0]), "out of range"),
    ],
)
def test_schema_violations(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(InspectionError, match=message):
        parse_dep_v0(pack(doc))


def test_two_roots() -> None:
    doc = {
        "packages": [
            {"name": "a", "version": "1.0.0", "source": "local", "root": True},
            {"name": "b", "version": "1.0.0", "source": "local", "root": True},
        ]
    }
    with pytest.raises(InspectionError, match="exactly one root package, found 2"):
        parse_dep_v0(pack(doc))


def test_no_root() -> None:
    doc = {"packages": [{"name": "a", "version": "1.0.0", "source": "local"}]}
    with pytest.raises(InspectionError, match="found 0"):
        parse_dep_v0(pack(doc))


def test_cycle() -> None:
    doc = {
        "packages": [
            {
                "name": "app",
                "version": "1.0.0",
                "source": "local",
                "root": True,
                "dependencies": [1],
            },
            {"name": "b", "version": "1.0.0", "source": "crates.io", "dependencies": [2]},
            {"name": "c", "version": "1.0.0", "source": "crates.io", "dependencies": [1]},
        ]
    }
    with pytest.raises(InspectionError, match="cycle"):
        parse_dep_v0(pack(doc))


def test_self_dependency_is_a_cycle() -> None:
    with pytest.raises(InspectionError, match="cycle"):
        parse_dep_v0(pack(_one(dependencies=[0])))


def test_long_chain_does_not_recurse() -> None:
    n = 50_000
    packages = [
        {
            "name": f"c{i}",
            "version": "1.0.0",
            "source": "crates.io",
            "dependencies": [i + 1] if i + 1 < n else [],
            "root": i == 0,
        }
        for i in range(n)
    ]
    audit = parse_dep_v0(pack({"format": 8, "packages": packages}))
    assert len(audit.packages) == n
