"""The BSI TR-03183-2 v2.1 self-check on CycloneDX documents: a document with every required
field passes, and each field taken away is reported, with the components that lack it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from sbomsign._internal.sbom import bsi


def _component(ref: str, name: str, filename: str, executable: str) -> dict[str, Any]:
    return {
        "bom-ref": ref, "type": "application", "name": name, "version": "1.2.3",
        "purl": f"pkg:generic/{name}@1.2.3",
        "supplier": {"name": "Example Org", "contact": [{"email": "sbom@example.org"}]},
        "licenses": [{"license": {"id": "MIT", "acknowledgement": "declared"}},
                     {"license": {"id": "MIT", "acknowledgement": "concluded"}}],
        "externalReferences": [
            {"type": "distribution", "url": f"https://example.org/dist/{filename}",
             "hashes": [{"alg": "SHA-512", "content": "ab" * 64}]},
            {"type": "source-distribution", "url": f"https://example.org/src/{name}.tar.gz"},
        ],
        "properties": [
            {"name": "bsi:component:filename", "value": filename},
            {"name": "bsi:component:executable", "value": executable},
            {"name": "bsi:component:archive", "value": "no archive"},
            {"name": "bsi:component:structured", "value": "unstructured"},
        ],
    }


COMPLETE: dict[str, Any] = {
    "bomFormat": "CycloneDX", "specVersion": "1.6",
    "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", "version": 1,
    "metadata": {
        "timestamp": "2026-01-01T00:00:00Z",
        "authors": [{"name": "Release team", "email": "release@example.org"}],
        "component": _component("app", "app", "app", "executable"),
    },
    "components": [_component("lib", "libexample", "libexample.so.1", "non-executable")],
    "dependencies": [{"ref": "app", "dependsOn": ["lib"]}, {"ref": "lib", "dependsOn": []}],
    "compositions": [{"aggregate": "complete", "assemblies": ["app"]}],
}


def test_a_complete_document_passes() -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    # the fixture is itself valid CycloneDX 1.6: the fields are where the schema puts them
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(COMPLETE)) is None
    assert bsi.check(COMPLETE) == []


def _without(path: list[Any]) -> dict[str, Any]:
    doc = copy.deepcopy(COMPLETE)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return doc


@pytest.mark.parametrize(("path", "said", "components"), [
    (["metadata", "authors"], "creator of the SBOM", []),
    (["metadata", "timestamp"], "timestamp", []),
    (["serialNumber"], "SBOM-URI", []),
    (["compositions"], "completeness", []),
    (["components", 0, "version"], "component version", ["libexample"]),
    (["components", 0, "supplier"], "component creator", ["libexample"]),
    (["components", 0, "purl"], "other unique identifier", ["libexample"]),
    (["components", 0, "licenses", 0], "original licence", ["libexample"]),
    (["components", 0, "licenses", 1], "distribution licence", ["libexample"]),
    (["components", 0, "externalReferences", 1], "source code URI", ["libexample"]),
    (["components", 0, "externalReferences", 0], "SHA-512 of the deployable", ["libexample"]),
    (["components", 0, "properties", 0], "file name", ["libexample"]),
    (["metadata", "component", "properties", 1], "bsi:component:executable", ["app"]),
    (["dependencies", 1], "dependencies", ["libexample"]),
])
def test_each_missing_field_is_reported(path: list[Any], said: str,
                                        components: list[str]) -> None:
    found = bsi.check(_without(path))
    assert len(found) >= 1
    (match,) = [m for m in found if said in m.what]
    assert match.components == components
    assert said in match.line()


def test_wrong_values_older_versions_and_vulnerabilities() -> None:
    doc = copy.deepcopy(COMPLETE)
    doc["components"][0]["properties"][3]["value"] = "half-structured"
    doc["components"][0]["properties"].append({"name": "bsi:component:archive",
                                               "value": "archive"})
    doc["specVersion"] = "1.5"
    doc["vulnerabilities"] = [{"id": "CVE-2024-0001"}]
    lines = [m.line() for m in bsi.check(doc)]
    assert any("bsi:component:structured" in line and "libexample" in line for line in lines)
    assert any("bsi:component:archive" in line and "libexample" in line for line in lines)
    assert any("CycloneDX 1.6 or later (this is 1.5)" in line for line in lines)
    assert any("no vulnerability information" in line for line in lines)


def test_a_name_without_contact_is_no_creator() -> None:
    doc = copy.deepcopy(COMPLETE)
    doc["metadata"]["authors"] = [{"name": "Release team"}]
    doc["components"][0]["supplier"] = {"name": "Example Org"}
    lines = [m.line() for m in bsi.check(doc)]
    assert any(line.startswith("5.2.1 creator of the SBOM") for line in lines)
    assert any("component creator" in line and "libexample" in line for line in lines)
    assert json.dumps(COMPLETE)  # the fixture itself was not changed


def test_the_check_command(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from sbomsign._cli import main

    complete = tmp_path / "complete.cdx.json"
    complete.write_text(json.dumps(COMPLETE))
    partial = tmp_path / "partial.cdx.json"
    partial.write_text(json.dumps(_without(["components", 0, "version"])))
    spdx = tmp_path / "doc.spdx.json"
    spdx.write_text(json.dumps({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"}))
    assert main(["sbom", "--check", "bsi", str(complete)]) == 0
    assert "every required field present" in capsys.readouterr().out
    assert main(["sbom", "--check", "bsi", str(complete), str(partial)]) == 1
    out = capsys.readouterr().out
    assert f"{partial}: BSI TR-03183-2 v2.1.0: 1 required field(s) missing" in out
    assert "5.2.2 component version: 1 component(s): libexample" in out
    assert main(["sbom", "--check", "bsi", str(spdx)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "reads CycloneDX JSON" in err


def test_the_bsi_profile_adds_what_a_scan_knows(tmp_path: Any) -> None:
    from pathlib import Path

    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from cyclonedx.validation.xml import XmlValidator

    from sbomsign import sbom
    from sbomsign.errors import SbomError
    from sbomsign.scan import scan_file

    root = Path(__file__).resolve().parents[4]
    program = scan_file(str(root / "tests" / "assets" / "bin" / "go-linux-loong64"))
    plain = json.loads(sbom.write(program, "cyclonedx-json"))
    doc = json.loads(sbom.write(program, "cyclonedx-json", profile="bsi"))
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(doc)) is None
    xml = sbom.write(program, "cyclonedx-xml", profile="bsi").decode()
    assert XmlValidator(SchemaVersion.V1_6).validate_str(xml) is None
    props = {p["name"]: p["value"] for p in doc["metadata"]["component"]["properties"]}
    assert props["bsi:component:filename"] == "go-linux-loong64"
    assert props["bsi:component:executable"] == "executable"
    assert props["bsi:component:archive"] == "no archive"
    assert props["bsi:component:structured"] == "unstructured"
    for c in doc["components"]:
        names = [p["name"] for p in c["properties"]]
        assert "bsi:component:filename" not in names  # compiled in: no file of its own
        assert names.count("bsi:component:executable") == 1
    missing = {m.what for m in bsi.check(doc)}
    assert not any(w.startswith("bsi:component:executable") for w in missing)
    assert len(missing) < len({m.what for m in bsi.check(plain)})
    # the profile asks for CycloneDX 1.6 or later
    with pytest.raises(SbomError, match="1.6 or later"):
        sbom.write(program, "spdx-json", profile="bsi")
    with pytest.raises(SbomError, match="1.6 or later"):
        sbom.write(program, "cyclonedx-json", profile="bsi", spec_version="1.5")


def test_a_policy_can_require_the_bsi_profile() -> None:
    from tests.profile_policy import profile_results

    def results(doc: dict[str, Any]) -> dict[str, Any]:
        return profile_results("bsi", json.dumps(doc).encode(), "cyclonedx",
                               "https://cyclonedx.org/bom")

    assert results(COMPLETE)["sbom.profile"].passed, results(COMPLETE)["sbom.profile"].message
    partial = results(_without(["components", 0, "version"]))["sbom.profile"]
    assert not partial.passed
    assert "component version: 1 component(s): libexample" in partial.message
