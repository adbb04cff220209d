"""SPDX 3.0.1 writer and reader: validity by spdx3-validate, the elements and relationships
written, reproducibility, round trips against the SPDX 2.3 codec, other producers' documents,
bounds, and SPDX 3 attestations."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sbom_samples as s

from sbomsign import sbom, sign, verify
from sbomsign._internal import intoto, keys, predicates
from sbomsign._internal.sbom.common import Options
from sbomsign._internal.sbom.spdx2 import library as spdx2
from sbomsign._internal.sbom.spdx3 import writer
from sbomsign.errors import SbomError
from sbomsign.models import Artifact, Component
from sbomsign.sbom import SbomFormat
from tests import spdx3_validation

WHEN = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
BIN = Path(__file__).resolve().parents[3] / "assets" / "bin"
EPOCH = "1700000000"
CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
FULL = {"supplier": "ACME (sec@acme.example)", "author": "Person: Jane (jane@example.org)"}

SUBJECTS = s.SUBJECTS
FIXTURES = ("go-linux-loong64", "c-hello-plain")


def options(**kw: str) -> Options:
    return Options(timestamp=WHEN, tool_version="9.9.9", **kw)


def write(name: str, **kw: str) -> bytes:
    return writer.write(SUBJECTS[name](), options(**kw))


def graph(data: bytes) -> list[dict[str, Any]]:
    doc = json.loads(data)
    assert doc["@context"] == CONTEXT
    nodes: list[dict[str, Any]] = doc["@graph"]
    return nodes


def by_name(data: bytes, type_: str) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in graph(data) if n["type"] == type_}


def relationships(data: bytes) -> set[tuple[str, str, str, str]]:
    """(from, type, to, scope) by element name (the kind of element for nameless ones)."""
    nodes = graph(data)
    names = {n["spdxId"]: n.get("name", n["type"]) for n in nodes if "spdxId" in n}
    return {(names[n["from"]], n["relationshipType"], names[t], n.get("scope", ""))
            for n in nodes if n["type"] in ("Relationship", "LifecycleScopedRelationship")
            for t in n["to"]}


def props(node: dict[str, Any]) -> dict[str, str]:
    (ext,) = node["extension"]
    assert ext["type"] == "extension_CdxPropertiesExtension"
    return {e["extension_cdxPropName"]: e["extension_cdxPropValue"]
            for e in ext["extension_cdxProperty"]}


def assert_valid(data: bytes) -> None:
    problems = spdx3_validation.errors(data)
    assert problems == [], "\n".join(problems)[:3000]


def summary(c: Component) -> tuple[Any, ...]:
    return (c.kind, c.name, c.version, c.purl, c.linking, c.scope, c.go_sum, c.replacement,
            c.cpe, c.found_by, c.source, sorted(c.depends_on), c.properties, c.licenses)


@cache
def scanned(name: str) -> Artifact:
    from sbomsign.scan import scan_file

    return scan_file(str(BIN / name))


# --- validity ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SUBJECTS))
def test_every_sample_is_valid(name: str) -> None:
    assert_valid(write(name, **FULL))


def test_valid_without_supplier_or_author() -> None:
    data = write("fat-macho")
    assert_valid(data)
    info = graph(data)[0]
    (agent,) = [n for n in graph(data) if n.get("spdxId") == info["createdBy"][0]]
    assert agent["type"] == "SoftwareAgent"
    assert b"suppliedBy" not in data


@pytest.mark.parametrize("broken", ["created", "hashValue"])
def test_a_document_missing_a_required_field_fails_the_validator(broken: str) -> None:
    doc = json.loads(write("fat-macho", **FULL))
    if broken == "created":
        del doc["@graph"][0]["created"]
    else:
        (artifact,) = [n for n in doc["@graph"] if n["type"] == "software_File"]
        del artifact["verifiedUsing"][0]["hashValue"]
    problems = spdx3_validation.errors(json.dumps(doc).encode())
    assert problems
    assert any(broken in p for p in problems), problems


@pytest.mark.parametrize("name", FIXTURES)
def test_real_fixtures_valid_reproducible_and_read_as_spdx2(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    artifact = scanned(name)
    data = sbom.write(artifact, SbomFormat.SPDX3_JSON, supplier="Example Corp",
                      author="Person: Release Bot")
    assert_valid(data)
    scanned.cache_clear()
    again = sbom.write(scanned(name), SbomFormat.SPDX3_JSON, supplier="Example Corp",
                       author="Person: Release Bot")
    assert again == data
    assert json.loads(data)["@graph"][0]["created"] == "2023-11-14T22:13:20Z"
    assert sbom.detect(data) is SbomFormat.SPDX3_JSON
    assert sbom.ntia_problems(data, name) == []
    spdx = sbom.write(artifact, SbomFormat.SPDX_JSON, supplier="Example Corp",
                      author="Person: Release Bot")
    assert sbom.read(data, name) == sbom.read(spdx, name)
    (back,) = sbom.read(data, name).artifacts
    # NOTE: evidence has no place to come back from (in SPDX 2.3 neither); the rest does.
    assert [summary(c) for c in back.components] == [summary(c) for c in artifact.components]


# --- what is written ---------------------------------------------------------------------------


def test_creation_info_document_and_sbom() -> None:
    data = write("go", **FULL)
    nodes = graph(data)
    info = nodes[0]
    assert info["type"] == "CreationInfo" and info["@id"] == "_:creationinfo"
    assert info["specVersion"] == "3.0.1"
    assert info["created"] == "2024-01-02T03:04:05Z"
    ids = {n["spdxId"]: n for n in nodes[1:]}
    (author,) = [ids[a] for a in info["createdBy"]]
    assert author["type"] == "Person" and author["name"] == "Jane"
    assert author["externalIdentifier"] == [{"type": "ExternalIdentifier",
                                             "externalIdentifierType": "email",
                                             "identifier": "jane@example.org"}]
    (tool,) = [ids[t] for t in info["createdUsing"]]
    assert tool == {**tool, "type": "Tool", "name": "sbomsign-9.9.9"}
    assert all(n["creationInfo"] == "_:creationinfo" for n in nodes[1:])
    assert all(i.startswith("https://sbomsign.dev/spdx/demo-linux-amd64-") for i in ids)
    (document,) = [n for n in nodes if n["type"] == "SpdxDocument"]
    (bom,) = [n for n in nodes if n["type"] == "software_Sbom"]
    assert document["rootElement"] == [bom["spdxId"]]
    assert bom["software_sbomType"] == ["analyzed"]
    assert ids[bom["rootElement"][0]]["name"] == "demo-linux-amd64"
    assert set(bom["element"]) == set(ids) - {bom["spdxId"], document["spdxId"]}
    assert document["profileConformance"] == ["build", "core", "simpleLicensing", "software"]
    assert [n.get("spdxId") for n in nodes[1:]] == sorted(ids)


def test_artifact_file() -> None:
    data = write("go", **FULL)
    art = by_name(data, "software_File")["demo-linux-amd64"]
    assert art["software_primaryPurpose"] == "executable"
    assert art["software_fileKind"] == "file"
    assert {h["algorithm"]: h["hashValue"] for h in art["verifiedUsing"]} == {
        "sha1": "a" * 40, "sha256": "a" * 64, "sha512": "a" * 128}
    supplier = by_name(data, "Organization")["ACME"]
    assert art["suppliedBy"] == supplier["spdxId"]
    assert supplier["externalIdentifier"][0]["identifier"] == "sec@acme.example"
    p = props(art)
    assert p["sbomsign:binary:arch"] == "x86_64"
    assert p["sbomsign:go:build:-ldflags"] == "-s -w -X main.version=1.2.3"
    lib = by_name(write("c-rust-notes"), "software_File")["libhello.so"]
    assert lib["software_primaryPurpose"] == "library"
    assert lib["externalIdentifier"] == [{
        "type": "ExternalIdentifier", "externalIdentifierType": "packageUrl",
        "identifier": "pkg:rpm/fedora/hello@1.0-1.fc40?arch=x86_64&distro=fedora-40"}]


def test_component_packages() -> None:
    data = write("go", **FULL)
    pkgs = by_name(data, "software_Package")
    stdlib = pkgs["stdlib"]
    assert stdlib["software_packageVersion"] == "go1.22.7"
    assert stdlib["software_packageUrl"] == "pkg:golang/stdlib@1.22.7"
    assert stdlib["externalIdentifier"] == [{
        "type": "ExternalIdentifier", "externalIdentifierType": "cpe23",
        "identifier": "cpe:2.3:a:golang:go:1.22.7:-:*:*:*:*:*:*"}]
    assert stdlib["software_primaryPurpose"] == "library"
    assert "go buildinfo in .go.buildinfo at offset 0x1f0" in stdlib["software_sourceInfo"]
    assert props(pkgs["github.com/Old/Thing"])["sbomsign:go:h1"] == "h1:old="
    assert "verifiedUsing" not in pkgs["github.com/Old/Thing"]  # an h1: sum hashes no bytes
    assert props(pkgs["example.com/demo"])["sbomsign:kind"] == "go-main-module"
    (licence,) = [n for n in graph(data) if n["type"] == "simplelicensing_LicenseExpression"]
    assert licence["simplelicensing_licenseExpression"] == "BSD-3-Clause"
    assert ("stdlib", "hasDeclaredLicense", "simplelicensing_LicenseExpression",
            "") in relationships(data)
    notes = by_name(write("c-rust-notes"), "software_Package")
    assert notes["hello"]["software_primaryPurpose"] == "install"


def test_relationships() -> None:
    go = relationships(write("go"))
    art = "demo-linux-amd64"
    assert (art, "hasStaticLink", "example.com/demo", "") in go
    assert (art, "hasStaticLink", "golang.org/x/sys", "") in go
    assert (art, "hasStaticLink", "stdlib", "") in go
    assert ("example.com/demo", "dependsOn", "golang.org/x/sys", "") in go
    assert ("example.com/demo", "dependsOn", "stdlib", "") in go
    assert (art, "hasDynamicLink", "libc.so.6", "") in go
    assert ("go build example.com/demo/cmd/demo", "generates", art, "") in go
    c = relationships(write("c-rust-notes"))
    lib = "libhello.so"
    assert ("hello", "contains", lib, "") in c
    assert (lib, "hasDynamicLink", "libfoo.so.2", "") in c
    assert (lib, "hasStaticLink", "hello-rs", "") in c
    assert ("hello-rs", "dependsOn", "serde", "") in c
    assert (lib, "dependsOn", "cc", "build") in c
    # one relationship element per source and type, listing every target
    nodes = graph(write("go"))
    links = [n for n in nodes if n.get("relationshipType") == "hasStaticLink"]
    assert len(links) == 1 and len(links[0]["to"]) == 5


def test_go_build() -> None:
    data = write("go")
    (build,) = [n for n in graph(data) if n["type"] == "build_Build"]
    assert build["build_buildType"] == writer.GO_BUILD_TYPE
    params = {e["key"]: e["value"] for e in build["build_parameter"]}
    env = {e["key"]: e["value"] for e in build["build_environment"]}
    assert params == {"-buildmode": "exe", "-ldflags": "-s -w -X main.version=1.2.3",
                      "vcs.revision": "0123456789abcdef"}
    assert env == {"CGO_ENABLED": "1", "GOARCH": "amd64", "GOOS": "linux",
                   "GOVERSION": "go1.22.7"}
    assert not [n for n in graph(write("c-rust-notes")) if n["type"] == "build_Build"]


def test_merged_release_contains_every_artifact() -> None:
    data = write("merged", **FULL)
    release = by_name(data, "software_Package")["demo-linux"]
    assert props(release) == {"sbomsign:merged": "true"}
    (bom,) = [n for n in graph(data) if n["type"] == "software_Sbom"]
    assert bom["rootElement"] == [release["spdxId"]]
    rels = relationships(data)
    assert ("demo-linux", "contains", "demo-linux-amd64", "") in rels
    assert ("demo-linux", "contains", "demo-linux-arm64", "") in rels
    assert len([n for n in graph(data) if n.get("name") == "stdlib"]) == 1


def test_deterministic_and_following_the_inputs() -> None:
    for name in SUBJECTS:
        assert write(name, **FULL) == write(name, **FULL)
    later = writer.write(SUBJECTS["go"](), Options(datetime(2025, 1, 1, tzinfo=UTC), "9.9.9"))
    assert graph(later)[1]["spdxId"] != graph(write("go"))[1]["spdxId"]


def test_refuses_other_spec_versions() -> None:
    with pytest.raises(SbomError, match="3.0.1"):
        writer.write(SUBJECTS["go"](), options(spec_version="2.3"))
    named = writer.write(SUBJECTS["go"](), options(spec_version="3.0.1"))
    assert graph(named)[0]["specVersion"] == "3.0.1"


# --- reading -----------------------------------------------------------------------------------


def spdx2_of(name: str) -> bytes:
    return spdx2.write(SUBJECTS[name](), options(**FULL), tag_value=False)


@pytest.mark.parametrize("name", sorted(SUBJECTS))
def test_round_trip_gives_what_spdx2_gives(name: str) -> None:
    sub = SUBJECTS[name]()
    inv = sbom.read(write(name, **FULL), "d")
    assert inv == sbom.read(spdx2_of(name), "d")
    assert inv.tool_version == "9.9.9"
    assert sorted(a.name for a in inv.artifacts) == [a.name for a in sub.artifacts]
    back = {a.name: a for a in inv.artifacts}
    for orig in sub.artifacts:
        assert back[orig.name].digests == orig.digests
        assert [(c.kind, c.name, c.version, c.purl, c.linking, sorted(c.depends_on),
                 c.properties) for c in back[orig.name].components] == [
            (c.kind, c.name, c.version, c.purl, c.linking, sorted(c.depends_on), c.properties)
            for c in orig.components]
        assert [b.arch for b in back[orig.name].binaries] == [b.arch for b in orig.binaries]


def test_the_reader_paths_agree() -> None:
    data = write("merged", **FULL)
    assert sbom.read(data, "d", via_library=True) == sbom.read(data, "d")


def test_ntia() -> None:
    assert sbom.ntia_problems(write("go", **FULL)) == []
    assert sbom.ntia_problems(write("merged", **FULL)) == []
    problems = sbom.ntia_problems(write("go"))
    assert any("author" in p for p in problems)
    assert any("supplier" in p for p in problems)


def other_producer() -> dict[str, Any]:
    """A document in the shape other SPDX 3 tools write: the CreationInfo inline, the
    document describing the SBOM, relationships one target at a time."""
    ns = "https://example.org/spdx/app-1#"
    info = {"type": "CreationInfo", "specVersion": "3.0.1", "created": "2025-01-01T00:00:00Z",
            "createdBy": [ns + "org"]}

    def element(type_: str, key: str, **fields: Any) -> dict[str, Any]:
        return {"type": type_, "spdxId": ns + key, "creationInfo": info, **fields}

    def rel(key: str, src: str, kind: str, dst: str) -> dict[str, Any]:
        return element("Relationship", key, **{"from": ns + src, "relationshipType": kind,
                                               "to": [ns + dst]})

    return {"@context": CONTEXT, "@graph": [
        element("Organization", "org", name="Example Org"),
        element("SpdxDocument", "doc", rootElement=[ns + "sbom"]),
        element("software_Sbom", "sbom", rootElement=[ns + "app"], software_sbomType=["build"]),
        element("software_Package", "app", name="app", software_packageVersion="1.0.0",
                suppliedBy=ns + "org",
                verifiedUsing=[{"type": "Hash", "algorithm": "sha256", "hashValue": "d" * 64}]),
        element("software_Package", "main", name="example.org/app", software_packageVersion=
                "v1.0.0", software_packageUrl="pkg:golang/example.org/app@v1.0.0"),
        element("software_Package", "std", name="stdlib", software_packageVersion="go1.23.1",
                software_packageUrl="pkg:golang/stdlib@1.23.1"),
        element("software_Package", "serde", name="serde", software_packageVersion="1.0.0",
                externalIdentifier=[{"type": "ExternalIdentifier",
                                     "externalIdentifierType": "packageUrl",
                                     "identifier": "pkg:cargo/serde@1.0.0"}]),
        element("software_File", "libz", name="libz.so.1"),
        element("simplelicensing_LicenseExpression", "mit",
                simplelicensing_licenseExpression="MIT"),
        rel("r1", "doc", "describes", "app"),
        rel("r2", "app", "hasStaticLink", "main"),
        rel("r3", "main", "dependsOn", "std"),
        rel("r4", "app", "hasStaticLink", "serde"),
        rel("r5", "app", "hasDynamicLink", "libz"),
        rel("r6", "serde", "hasDeclaredLicense", "mit"),
    ]}


def test_reads_another_producers_document() -> None:
    data = json.dumps(other_producer()).encode()
    assert sbom.detect(data) is SbomFormat.SPDX3_JSON
    (art,) = sbom.read(data, "other.spdx3.json").artifacts
    assert art.name == "app" and art.digests.sha256 == "d" * 64
    kinds = {c.name: (c.kind.value, c.linking.value, c.version) for c in art.components}
    assert kinds == {
        "example.org/app": ("go-main-module", "static", "v1.0.0"),
        "stdlib": ("go-stdlib", "static", "go1.23.1"),
        "serde": ("rust-crate", "static", "1.0.0"),
        "libz.so.1": ("shared-library", "dynamic", ""),
    }
    comps = {c.name: c for c in art.components}
    assert comps["serde"].licenses == ("MIT",)
    assert comps["serde"].purl == "pkg:cargo/serde@1.0.0"
    assert comps["example.org/app"].depends_on == (comps["stdlib"].ref,)
    assert sbom.ntia_problems(data) == []


def test_detects_spdx3_contexts_only() -> None:
    for context in ([CONTEXT], "https://spdx.org/rdf/3.0.0/spdx-context.jsonld"):
        doc = {**other_producer(), "@context": context}
        assert sbom.detect(json.dumps(doc).encode()) is SbomFormat.SPDX3_JSON
    with pytest.raises(SbomError, match="SPDX 3 @context"):
        sbom.detect(json.dumps({"@context": "https://schema.org", "@graph": []}).encode())


def broken(change: str) -> dict[str, Any]:
    doc = other_producer()
    nodes = doc["@graph"]
    if change == "no graph":
        del doc["@graph"]
    elif change == "type":
        nodes[3]["type"] = 7
    elif change == "inline target":
        nodes[-1]["to"] = [copy.deepcopy(nodes[3])]
    elif change == "created":
        nodes[0]["creationInfo"]["created"] = "yesterday"
    elif change == "no creation info":
        for n in nodes:
            n["creationInfo"] = "_:nowhere"
    elif change == "twice":
        nodes.append(nodes[3])
    return doc


@pytest.mark.parametrize(("change", "expected"), [
    ("no graph", "@graph is missing"),
    ("type", "@graph[3].type: must be a string"),
    ("inline target", "is an element written inline"),
    ("created", "is not a date-time"),
    ("no creation info", "no CreationInfo"),
    ("twice", "is the id of another element too"),
])
def test_malformed_documents_are_refused_in_one_line(change: str, expected: str) -> None:
    with pytest.raises(SbomError) as e:
        sbom.read(json.dumps(broken(change)).encode(), "in.spdx3.json")
    message = e.value.diagnostics()
    assert message.startswith("in.spdx3.json: ") and expected in message, message
    assert "\n" not in message


@pytest.mark.parametrize(("variable", "what"), [
    ("SBOMSIGN_MAX_SBOM_COMPONENTS", "components"),
    ("SBOMSIGN_MAX_SBOM_RELATIONSHIPS", "relationships"),
])
def test_oversized_documents_are_refused(variable: str, what: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    data = write("go")
    sbom.read(data, "big.spdx3.json")
    monkeypatch.setenv(variable, "5")
    with pytest.raises(SbomError) as e:
        sbom.read(data, "big.spdx3.json")
    assert e.value.diagnostics() == (
        f"big.spdx3.json: more than 5 {what} (raise {variable} to allow more)")


def test_over_deep_documents_are_refused() -> None:
    doc = other_producer()
    doc["@graph"][3]["comment"] = json.loads("[" * 150 + "]" * 150)
    with pytest.raises(SbomError) as e:
        sbom.read(json.dumps(doc).encode(), "deep.spdx3.json")
    message = e.value.diagnostics()
    assert message.startswith("deep.spdx3.json: the document nests") and "\n" not in message


# --- attestations ------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", ["https://spdx.dev/Document/v3.0",
                                 "https://spdx.dev/Document/v3.0.1"])
def test_spdx3_predicates_are_sbom_predicates(uri: str) -> None:
    assert intoto.predicate_kind(uri) == "spdx"
    assert predicates.kind_of(uri) == "spdx"
    predicate = predicates.normalise(uri, json.loads(write("go")))
    assert predicate.kind == "spdx" and predicate.document is not None
    assert sbom.detect(predicate.document) is SbomFormat.SPDX3_JSON
    assert sign.PREDICATE_SPDX3 == "https://spdx.dev/Document/v3.0"


def test_verify_reads_an_attested_spdx3_sbom() -> None:
    key = keys.generate("ecdsa-p256")
    artifact = s.go_artifact()
    statement = intoto.build_statement([(artifact.name, {"sha256": artifact.digests.sha256})],
                                       sign.PREDICATE_SPDX3, json.loads(write("go", **FULL)))
    bundle = sign.attest(statement, key)
    trust = verify.TrustMaterial(keys=(("release.pub", keys.public_key_pem(key.public_key)),))
    result = verify.verify_attestation(bundle, sha256=artifact.digests.sha256, trust=trust,
                                       name="att")
    assert result.predicate_kind == verify.KIND_SPDX
    assert result.sbom is not None
    (back,) = result.sbom.artifacts
    assert [c.name for c in back.components] == [c.name for c in artifact.components]
