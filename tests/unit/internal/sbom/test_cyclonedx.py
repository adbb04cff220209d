"""CycloneDX writer and reader on hand-built inventories: structure, validity, safety."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest
import sbom_samples as s
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from cyclonedx.validation.xml import XmlValidator

from sbomsign._internal.sbom.common import Options, artifact_ref, dependency_edges, make_subject
from sbomsign._internal.sbom.cyclonedx import library as cdx
from sbomsign.errors import SbomError
from sbomsign.models import Artifact

WHEN = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
NS = "{http://cyclonedx.org/schema/bom/1.6}"


def options(spec: str = "1.6", **kw: str) -> Options:
    return Options(timestamp=WHEN, tool_version="9.9.9", spec_version=spec, **kw)


def as_json(*arts: Artifact, merge: bool = False, **kw: Any) -> dict[str, Any]:
    data = cdx.write(make_subject(arts, merge=merge), options(**kw), xml=False)
    doc: dict[str, Any] = json.loads(data)
    return doc


def by_ref(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["bom-ref"]: c for c in doc["components"]}


def props(c: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in c.get("properties", []):
        out.setdefault(p["name"], []).append(p["value"])
    return out


SUBJECTS = {
    **s.SUBJECTS,
    # Three platforms: a CycloneDX document merges them into one component list.
    "merged": lambda: make_subject(
        [s.go_artifact(), s.go_artifact("aarch64", "arm64", "b", extra_dep=True),
         s.go_artifact("loongarch64", "loong64", "d")], merge=True),
}


@pytest.mark.parametrize("spec", ["1.6", "1.7", "1.5"])
@pytest.mark.parametrize("name", sorted(SUBJECTS))
def test_strictly_valid(name: str, spec: str) -> None:
    version = {"1.6": SchemaVersion.V1_6, "1.7": SchemaVersion.V1_7,
               "1.5": SchemaVersion.V1_5}[spec]
    sub = SUBJECTS[name]()
    for kw in ({}, {"supplier": "ACME", "author": "Person: Jane (jane@example.org)"}):
        j = cdx.write(sub, options(spec, **kw), xml=False).decode()
        x = cdx.write(sub, options(spec, **kw), xml=True).decode()
        assert JsonStrictValidator(version).validate_str(j) is None
        assert XmlValidator(version).validate_str(x) is None
        assert json.loads(j)["specVersion"] == spec


def test_metadata() -> None:
    doc = as_json(s.go_artifact(), supplier="ACME", author="Jane (jane@example.org)")
    assert list(doc)[:5] == ["$schema", "bomFormat", "specVersion", "serialNumber", "version"]
    assert doc["serialNumber"].startswith("urn:uuid:")
    meta = doc["metadata"]
    assert meta["timestamp"].startswith("2024-01-02T03:04:05")
    assert meta["lifecycles"] == [{"phase": "post-build"}]
    assert meta["tools"]["components"][0]["name"] == "sbomsign"
    assert meta["tools"]["components"][0]["version"] == "9.9.9"
    assert meta["authors"] == [{"name": "Jane", "email": "jane@example.org"}]
    assert meta["supplier"] == {"name": "ACME"}
    root = meta["component"]
    assert root["type"] == "application"
    assert root["name"] == "demo-linux-amd64"
    assert root["version"] == "v1.2.3"
    assert root["supplier"] == {"name": "ACME"}
    assert {h["alg"] for h in root["hashes"]} == {"SHA-1", "SHA-256", "SHA-512"}
    p = props(root)
    assert p["sbomsign:binary:format"] == ["elf"]
    assert p["sbomsign:binary:arch"] == ["x86_64"]
    assert p["sbomsign:hardening:pie"] == ["true"]
    assert p["sbomsign:go:build:GOOS"] == ["linux"]
    assert p["sbomsign:go:build:-ldflags"] == ["-s -w -X main.version=1.2.3"]


def test_shared_object_is_a_library_with_the_note_purl() -> None:
    root = as_json(s.c_artifact())["metadata"]["component"]
    assert root["type"] == "library"
    assert root["purl"] == "pkg:rpm/fedora/hello@1.0-1.fc40?arch=x86_64&distro=fedora-40"


def test_go_components() -> None:
    comps = by_ref(as_json(s.go_artifact()))
    stdlib = comps["pkg:golang/stdlib@1.22.7"]
    assert stdlib["name"] == "stdlib" and stdlib["version"] == "go1.22.7"
    assert stdlib["cpe"] == "cpe:2.3:a:golang:go:1.22.7:-:*:*:*:*:*:*"
    # the Go project declares it; CycloneDX 1.6 says so (1.5 has no acknowledgement)
    assert stdlib["licenses"] == [{"acknowledgement": "declared", "expression": "BSD-3-Clause"}]
    replaced = comps["pkg:golang/github.com/New/Thing@v1.2.0"]
    assert replaced["name"] == "github.com/Old/Thing"
    assert "hashes" not in replaced  # an h1: sum is no SHA-256 of anything
    p = props(replaced)
    assert p["sbomsign:go:h1"] == ["h1:old="]
    assert p["sbomsign:go:replace:path"] == ["github.com/New/Thing"]
    assert "=> github.com/New/Thing v1.2.0" in replaced["pedigree"]["notes"]
    assert props(comps["pkg:golang/example.com/demo@v1.2.3"])["sbomsign:kind"] == [
        "go-main-module"]
    assert all(c["type"] == "library" for c in comps.values())


def test_evidence_on_every_component() -> None:
    for art in (s.go_artifact(), s.c_artifact()):
        for c in as_json(art)["components"]:
            (identity,) = c["evidence"]["identity"]
            assert identity["methods"][0]["technique"] == "binary-analysis"
            assert 0 <= identity["confidence"] <= 1
    go = by_ref(as_json(s.go_artifact()))["pkg:golang/golang.org/x/sys@v0.20.0"]
    assert go["evidence"]["occurrences"] == [{
        "bom-ref": "pkg:golang/golang.org/x/sys@v0.20.0#occurrence-0000",
        "location": ".go.buildinfo", "offset": 0x1F0, "additionalContext": "go buildinfo"}]
    dl = by_ref(as_json(s.c_artifact()))["shared-library:libfoo.so.2"]
    assert dl["evidence"]["identity"][0]["confidence"] == 0.8
    assert dl["scope"] == "optional"
    cc = by_ref(as_json(s.c_artifact()))["pkg:cargo/cc@1.0.90"]
    assert cc["scope"] == "excluded"  # a build-time crate is not in the binary


def test_dependencies_are_the_graph() -> None:
    a = s.go_artifact()
    doc = as_json(a)
    graph = {d["ref"]: set(d.get("dependsOn", [])) for d in doc["dependencies"]}
    expected: dict[str, set[str]] = {}
    for e in dependency_edges(a):
        expected.setdefault(e.source, set()).add(e.target)
    for ref, targets in expected.items():
        assert graph[ref] == targets
    # Every component has an entry, leaves included.
    assert set(by_ref(doc)) <= set(graph)


def test_compositions() -> None:
    doc = as_json(s.go_artifact())
    by_agg = {c["aggregate"]: c for c in doc["compositions"]}
    assert by_agg["complete"]["dependencies"] == ["pkg:golang/example.com/demo@v1.2.3"]
    assert by_agg["incomplete"]["dependencies"] == [artifact_ref(s.go_artifact())]
    assert "shared-library:libc.so.6" in by_agg["unknown"]["dependencies"]
    pure = s.go_artifact()
    binary = pure.binaries[0]
    go = binary.go
    assert go is not None
    settings = tuple((k, "0" if k == "CGO_ENABLED" else v) for k, v in go.settings)
    from dataclasses import replace
    pure = replace(pure, binaries=(replace(binary, go=replace(go, settings=settings)),))
    by_agg = {c["aggregate"]: c for c in as_json(pure)["compositions"]}
    assert artifact_ref(pure) in by_agg["complete"]["dependencies"]
    assert "incomplete" not in by_agg


def test_merged_document() -> None:
    amd, arm = s.go_artifact(), s.go_artifact("aarch64", "arm64", "b", extra_dep=True)
    doc = as_json(amd, arm, merge=True, supplier="ACME")
    root = doc["metadata"]["component"]
    assert root["name"] == "demo-linux"
    assert props(root)["sbomsign:merged"] == ["true"]
    assert [c["name"] for c in root["components"]] == ["demo-linux-amd64", "demo-linux-arm64"]
    assert all(c["supplier"] == {"name": "ACME"} for c in root["components"])
    comps = by_ref(doc)
    assert len(comps) == 7  # 6 shared + x/exp, listed once each
    owners = props(comps["pkg:golang/stdlib@1.22.7"])["sbomsign:artifact"]
    assert owners == sorted(["sha256:" + "a" * 64, "sha256:" + "b" * 64])
    assert props(comps["pkg:golang/golang.org/x/exp@v0.1.0"])["sbomsign:artifact"] == [
        "sha256:" + "b" * 64]
    graph = {d["ref"]: set(d.get("dependsOn", [])) for d in doc["dependencies"]}
    assert graph[root["bom-ref"]] == {artifact_ref(amd), artifact_ref(arm)}


def test_deterministic() -> None:
    sub = SUBJECTS["merged"]()
    for xml in (False, True):
        first = cdx.write(sub, options(), xml=xml)
        assert cdx.write(SUBJECTS["merged"](), options(), xml=xml) == first
    other = Options(timestamp=WHEN.replace(year=2025), tool_version="9.9.9")
    a = json.loads(cdx.write(sub, options(), xml=False))["serialNumber"]
    b = json.loads(cdx.write(sub, other, xml=False))["serialNumber"]
    assert a != b


def test_xml_has_compositions_in_place() -> None:
    x = cdx.write(SUBJECTS["go"](), options(), xml=True)
    root = ET.fromstring(x)  # noqa: S314 - our own output
    names = [child.tag.removeprefix(NS) for child in root]
    assert names[-2:] == ["dependencies", "compositions"]


@pytest.mark.parametrize("name", sorted(SUBJECTS))
@pytest.mark.parametrize("xml", [False, True])
def test_round_trip(name: str, xml: bool) -> None:
    sub = SUBJECTS[name]()
    bom = cdx.load(cdx.write(sub, options(), xml=xml), "doc", xml=xml)
    inv = cdx.to_inventory(bom, "doc")
    assert inv.tool_version == "9.9.9"
    assert [a.name for a in inv.artifacts] == [a.name for a in sub.artifacts]
    for orig, back in zip(sub.artifacts, inv.artifacts, strict=True):
        assert back.digests == orig.digests
        assert back.size == orig.size
        assert [(c.kind, c.name, c.version, c.purl, c.linking, c.scope, c.go_sum, c.replacement,
                 c.cpe, c.found_by, c.source, sorted(c.depends_on), c.properties)
                for c in back.components] == [
            (c.kind, c.name, c.version, c.purl, c.linking, c.scope, c.go_sum, c.replacement,
             c.cpe, c.found_by, c.source, sorted(c.depends_on), c.properties)
            for c in orig.components]
        assert dependency_edges(back) == dependency_edges(orig)
        assert [(b.format, b.arch, b.file_type, b.hardening) for b in back.binaries] == [
            (b.format, b.arch, b.file_type, b.hardening) for b in orig.binaries]
        if orig.go is not None:
            assert back.go is not None
            assert back.go.settings == tuple(sorted(orig.go.settings))
            assert back.go.go_version == orig.go.go_version


def test_ntia() -> None:
    sub = SUBJECTS["go"]()
    full = cdx.load(cdx.write(sub, options(supplier="ACME", author="Jane"), xml=False), "d",
                    xml=False)
    assert cdx.ntia(full, has_timestamp=True) == []
    bare = cdx.load(cdx.write(sub, options(), xml=False), "d", xml=False)
    problems = cdx.ntia(bare, has_timestamp=False)
    assert any("author" in p for p in problems)
    assert any("supplier" in p for p in problems)
    assert any("timestamp" in p for p in problems)
    merged = SUBJECTS["merged"]()
    doc = cdx.write(merged, options(supplier="ACME", author="Jane"), xml=True)
    assert cdx.ntia(cdx.load(doc, "d", xml=True), has_timestamp=True) == []


BAD_XML = {
    "doctype": b'<?xml version="1.0"?><!DOCTYPE bom><bom xmlns="http://cyclonedx.org/schema/bom/1.6"/>',
    "billion-laughs": b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6">&lol2;</bom>""",
    "external-entity": b"""<?xml version="1.0"?>
<!DOCTYPE bom [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><x>&xxe;</x></bom>""",
    "utf16": '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x><bom/>'.encode("utf-16"),
    "malformed": b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><metadata></bom>',
    "not-cyclonedx": b"<html><body/></html>",
}


@pytest.mark.parametrize("name", sorted(BAD_XML))
def test_hostile_or_broken_xml_is_refused(name: str) -> None:
    with pytest.raises(SbomError) as e:
        cdx.load(BAD_XML[name], f"{name}.cdx.xml", xml=True)
    message = e.value.diagnostics()
    assert message.startswith(f"{name}.cdx.xml: ")
    assert "\n" not in message


@pytest.mark.parametrize("data", [
    b"{", b"[]", b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": 5}',
    b'{"bomFormat": "SPDX"}',
])
def test_broken_json_is_refused(data: bytes) -> None:
    with pytest.raises(SbomError) as e:
        cdx.load(data, "x.cdx.json", xml=False)
    assert e.value.diagnostics().startswith("x.cdx.json: ")


def test_reads_a_foreign_document_without_metadata_component_or_bom_refs() -> None:
    doc = {
        "bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
        "components": [
            {"type": "library", "name": "golang.org/x/text", "version": "v0.14.0",
             "purl": "pkg:golang/golang.org/x/text@v0.14.0"},
            {"type": "library", "name": "libssl.so.3"},
            {"type": "library", "name": "zlib", "version": "1.3",
             "purl": "pkg:deb/debian/zlib@1.3"},
        ],
    }
    inv = cdx.to_inventory(cdx.load(json.dumps(doc).encode(), "foreign.json", xml=False),
                           "foreign.json")
    (art,) = inv.artifacts
    assert art.name == "foreign.json"
    kinds = {c.name: (c.kind.value, c.linking.value) for c in art.components}
    assert kinds == {
        "golang.org/x/text": ("go-module", "static"),
        "libssl.so.3": ("shared-library", "dynamic"),
        "zlib": ("package", "none"),
    }


def test_cyclonedx_1_7_marks_what_the_environment_provides() -> None:
    sub = SUBJECTS["c-rust-notes"]()
    doc = json.loads(cdx.write(sub, options("1.7"), xml=False))
    linked = [c for c in doc["components"] if c.get("isExternal")]
    assert linked, "the C fixture links libraries dynamically"
    by_ref = {c["bom-ref"]: c for c in doc["components"]}
    for c in by_ref.values():
        props = {p["name"]: p["value"] for p in c.get("properties", [])}
        dynamic = props.get("sbomsign:linking") in ("dynamic", "dlopen")
        assert bool(c.get("isExternal")) == dynamic, c["name"]
    # 1.6 has no such field
    doc = json.loads(cdx.write(sub, options("1.6"), xml=False))
    assert not any("isExternal" in c for c in doc["components"])


def test_cyclonedx_1_7_reads_back() -> None:
    from sbomsign import sbom

    sub = SUBJECTS["c-rust-notes"]()
    inv = sbom.read(cdx.write(sub, options("1.7"), xml=False), "1.7")
    (artifact,) = inv.artifacts
    assert {c.name for c in artifact.components} == {c.name for c in sub.artifacts[0].components}
