"""SPDX writer and reader on hand-built inventories: packages, relationships, validity."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sbom_samples as s
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from sbomsign._internal.sbom.common import Options, dependency_edges, make_subject
from sbomsign._internal.sbom.spdx2 import library as spdx
from sbomsign.errors import SbomError
from sbomsign.models import Artifact

WHEN = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def options(**kw: str) -> Options:
    return Options(timestamp=WHEN, tool_version="9.9.9", **kw)


def as_json(*arts: Artifact, merge: bool = False, **kw: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        spdx.write(make_subject(arts, merge=merge), options(**kw), tag_value=False))
    return doc


def relationships(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    names = {p["SPDXID"]: p["name"] for p in doc["packages"]}
    names["SPDXRef-DOCUMENT"] = "DOCUMENT"
    return {(names[r["spdxElementId"]], r["relationshipType"], names[r["relatedSpdxElement"]])
            for r in doc["relationships"]}


SUBJECTS = s.SUBJECTS


@pytest.mark.parametrize("tag_value", [False, True])
@pytest.mark.parametrize("name", sorted(SUBJECTS))
def test_valid(name: str, tag_value: bool) -> None:
    for kw in ({}, {"supplier": "ACME", "author": "Person: Jane (jane@example.org)"}):
        data = spdx.write(SUBJECTS[name](), options(**kw), tag_value=tag_value)
        document = spdx.load(data, "doc", tag_value=tag_value)
        assert validate_full_spdx_document(document, "SPDX-2.3") == []


def test_artifact_package() -> None:
    doc = as_json(s.go_artifact())
    assert doc["spdxVersion"] == "SPDX-2.3"
    assert doc["documentNamespace"].startswith("https://sbomsign.dev/spdx/demo-linux-amd64-")
    assert doc["creationInfo"]["creators"] == ["Tool: sbomsign-9.9.9"]
    assert doc["creationInfo"]["created"] == "2024-01-02T03:04:05Z"
    art = doc["packages"][0]
    assert art["name"] == "demo-linux-amd64"
    assert art["versionInfo"] == "v1.2.3"
    assert art["primaryPackagePurpose"] == "APPLICATION"
    assert art["filesAnalyzed"] is False
    assert {c["algorithm"] for c in art["checksums"]} == {"SHA1", "SHA256", "SHA512"}
    assert art["supplier"] == "NOASSERTION"
    assert "sbomsign:go:build:GOARCH=amd64" in art["comment"].splitlines()
    assert ("DOCUMENT", "DESCRIBES", "demo-linux-amd64") in relationships(doc)
    assert as_json(s.c_artifact())["packages"][0]["primaryPackagePurpose"] == "LIBRARY"


def test_supplier_and_author() -> None:
    doc = as_json(s.go_artifact(), supplier="ACME (sec@acme.example)",
                  author="Person: Jane Doe")
    assert doc["packages"][0]["supplier"] == "Organization: ACME (sec@acme.example)"
    assert "Person: Jane Doe" in doc["creationInfo"]["creators"]


def test_component_packages() -> None:
    doc = as_json(s.go_artifact())
    pkgs = {p["name"]: p for p in doc["packages"][1:]}
    for p in pkgs.values():
        assert p["filesAnalyzed"] is False
        assert p["licenseConcluded"] == "NOASSERTION"
        assert p["supplier"] == "NOASSERTION"
        assert p["downloadLocation"] == "NOASSERTION"
        assert "checksums" not in p  # no h1: sum ever becomes a checksum
    stdlib = pkgs["stdlib"]
    assert stdlib["licenseDeclared"] == "BSD-3-Clause"
    refs = {(r["referenceCategory"], r["referenceType"]): r["referenceLocator"]
            for r in stdlib["externalRefs"]}
    assert refs[("PACKAGE-MANAGER", "purl")] == "pkg:golang/stdlib@1.22.7"
    assert refs[("SECURITY", "cpe23Type")] == "cpe:2.3:a:golang:go:1.22.7:-:*:*:*:*:*:*"
    assert "sbomsign:go:h1=h1:old=" in pkgs["github.com/Old/Thing"]["comment"].splitlines()
    assert "go buildinfo in .go.buildinfo at offset 0x1f0" in pkgs["golang.org/x/sys"][
        "sourceInfo"]


def test_relationships() -> None:
    go = relationships(as_json(s.go_artifact()))
    art = "demo-linux-amd64"
    assert (art, "STATIC_LINK", "example.com/demo") in go
    assert (art, "STATIC_LINK", "golang.org/x/sys") in go
    assert (art, "STATIC_LINK", "stdlib") in go
    assert ("example.com/demo", "DEPENDS_ON", "golang.org/x/sys") in go
    assert ("example.com/demo", "DEPENDS_ON", "stdlib") in go
    assert (art, "DYNAMIC_LINK", "libc.so.6") in go
    c = relationships(as_json(s.c_artifact()))
    lib = "libhello.so"
    assert ("hello", "CONTAINS", lib) in c
    assert (lib, "DYNAMIC_LINK", "libfoo.so.2") in c
    assert (lib, "STATIC_LINK", "hello-rs") in c
    assert ("hello-rs", "DEPENDS_ON", "serde") in c
    assert ("cc", "BUILD_DEPENDENCY_OF", lib) in c


def test_merged_describes_every_artifact() -> None:
    doc = as_json(s.go_artifact(), s.go_artifact("aarch64", "arm64", "b"), merge=True)
    assert doc["name"] == "demo-linux"
    rels = relationships(doc)
    assert ("DOCUMENT", "DESCRIBES", "demo-linux-amd64") in rels
    assert ("DOCUMENT", "DESCRIBES", "demo-linux-arm64") in rels
    assert len([p for p in doc["packages"] if p["name"] == "stdlib"]) == 1


def test_deterministic() -> None:
    for tv in (False, True):
        assert spdx.write(SUBJECTS["merged"](), options(), tag_value=tv) == spdx.write(
            SUBJECTS["merged"](), options(), tag_value=tv)


def test_refuses_other_spec_versions() -> None:
    with pytest.raises(SbomError, match="2.3"):
        spdx.write(SUBJECTS["go"](), Options(WHEN, "1", spec_version="1.6"), tag_value=False)


@pytest.mark.parametrize("name", sorted(SUBJECTS))
@pytest.mark.parametrize("tag_value", [False, True])
def test_round_trip(name: str, tag_value: bool) -> None:
    sub = SUBJECTS[name]()
    document = spdx.load(spdx.write(sub, options(), tag_value=tag_value), "d",
                         tag_value=tag_value)
    inv = spdx.to_inventory(document, "d")
    assert inv.tool_version == "9.9.9"
    assert sorted(a.name for a in inv.artifacts) == [a.name for a in sub.artifacts]
    back_by_name = {a.name: a for a in inv.artifacts}
    for orig in sub.artifacts:
        back = back_by_name[orig.name]
        assert back.digests == orig.digests
        assert [(c.kind, c.name, c.version, c.purl, c.linking, c.scope, c.go_sum,
                 c.replacement, c.cpe, c.found_by, c.source, sorted(c.depends_on),
                 c.properties) for c in back.components] == [
            (c.kind, c.name, c.version, c.purl, c.linking, c.scope, c.go_sum, c.replacement,
             c.cpe, c.found_by, c.source, sorted(c.depends_on), c.properties)
            for c in orig.components]
        assert dependency_edges(back) == dependency_edges(orig)
        assert [b.arch for b in back.binaries] == [b.arch for b in orig.binaries]


def test_ntia() -> None:
    full = spdx.write(SUBJECTS["go"](), options(supplier="ACME", author="Jane"), tag_value=True)
    assert spdx.ntia(spdx.load(full, "d", tag_value=True)) == []
    bare = spdx.write(SUBJECTS["go"](), options(), tag_value=False)
    problems = spdx.ntia(spdx.load(bare, "d", tag_value=False))
    assert any("author" in p for p in problems)
    assert any("supplier" in p for p in problems)


@pytest.mark.parametrize(("data", "tag_value"), [
    (b"{", False),
    (b'{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"}', False),
    (b"SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nPackageName: x\n", True),
    (b"\xff\xfe", True),
])
def test_broken_documents(data: bytes, tag_value: bool) -> None:
    with pytest.raises(SbomError) as e:
        spdx.load(data, "broken.spdx", tag_value=tag_value)
    message = e.value.diagnostics()
    assert message.startswith("broken.spdx: ")
    assert "\n" not in message
