"""`verify --format junit` and `--format gitlab-codequality`, and several reports from one
verification: the JUnit report is valid against the Apache Ant JUnit schema that GitLab and
Jenkins read, counts what the text report shows, and the pairs of --format/-o go where said."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lxml import etree

from sbomsign._cli import main
from tests.conftest import ASSETS, BIN

MATERIAL = ASSETS / "golden" / "material"
SCHEMA = etree.XMLSchema(etree.parse(str(ASSETS / "junit" / "JUnit.xsd")))


@pytest.fixture
def two(tmp_path: Path) -> list[str]:
    """A passing artifact (its signature and an SBOM attestation beside it) and a failing one
    (no bundle at all)."""
    good, bad = tmp_path / "go-linux-loong64", tmp_path / "go-linux-arm64"
    shutil.copy(BIN / "go-linux-loong64", good)
    shutil.copy(BIN / "go-linux-arm64", bad)
    for name in ("go-linux-loong64.sigstore.json", "go-linux-loong64.cyclonedx.sigstore.json"):
        shutil.copy(MATERIAL / name, tmp_path / name)
    return ["--key", str(MATERIAL / "release.pub"), str(good), str(bad)]


def test_the_junit_report_is_valid_and_counts_the_rules(
    two: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "gate.xml"
    assert main(["verify", *two, "--format", "junit", "-o", str(report)]) == 1
    assert capsys.readouterr().out == ""
    doc = etree.parse(str(report))
    SCHEMA.assertValid(doc)
    suites = doc.findall("testsuite")
    assert [s.get("name") for s in suites] == two[2:]
    good, bad = suites
    assert good.get("failures") == "0" and int(good.get("tests")) >= 2
    assert {c.get("name") for c in good.findall("testcase")} >= {"signature",
                                                                "attestation[*]"}
    assert bad.get("failures") == "1" and bad.get("tests") == "1"
    failure = bad.find("testcase/failure")
    assert failure is not None and "no verified artifact signature" in failure.get("message")
    verdicts = [s.find("properties/property[@name='verdict']").get("value") for s in suites]
    assert verdicts == ["PASSED", "FAILED"]
    # junitparser (the PyPI reader CI plugins' scripts use) reads the same suites and verdicts
    from junitparser import Failure, JUnitXml

    parsed = JUnitXml.fromfile(str(report))
    assert [s.name for s in parsed] == two[2:]
    cases = {s.name: list(s) for s in parsed}
    assert all(c.is_passed for c in cases[two[2]]) and len(cases[two[2]]) >= 2
    (failed,) = cases[two[3]]
    assert not failed.is_passed and isinstance(failed.result[0], Failure)
    assert "no verified artifact signature" in (failed.result[0].message or "")
    # The validator can say no: a case without its class name is refused.
    del good.find("testcase").attrib["classname"]
    assert not SCHEMA.validate(doc)


def test_several_reports_from_one_verification(
    two: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit, quality, sarif = tmp_path / "j.xml", tmp_path / "cq.json", tmp_path / "r.sarif"
    code = main(["verify", *two, "--format", "junit", "-o", str(junit),
                 "--format", "gitlab-codequality", "-o", str(quality),
                 "--format", "sarif", "-o", str(sarif), "--format", "text"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  signature" in out and "1 of 2 artifacts passed" in out
    SCHEMA.assertValid(etree.parse(str(junit)))
    issues = json.loads(quality.read_text())
    failed_lines = [line for line in out.splitlines() if line.strip().startswith("FAIL")]
    assert len(issues) == len(failed_lines) >= 1
    assert {i["check_name"] for i in issues} == {"signature"}
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    assert all(i["severity"] and i["location"]["path"] for i in issues)
    assert json.loads(sarif.read_text())["version"] == "2.1.0"


@pytest.mark.parametrize("pairs", [
    ["--format", "json", "--format", "text"],
    ["-o", "a", "-o", "b", "--format", "json"],
])
def test_unpaired_reports_are_usage_errors(
    two: list[str], pairs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", *two, *pairs]) == 2
    assert "Traceback" not in capsys.readouterr().err
