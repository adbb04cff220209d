"""`sbomsign ci`: the one CI engine behind the GitHub Action, the GitLab jobs and the Jenkins
steps, run as the GitLab and Jenkins jobs run it (the Action's own tests are
`tests/integration/test_action.py`): the same inputs and results on each system, in each
system's form."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from tests.cli import AMBIENT, ROOT
from tests.conftest import ASSETS, BIN

MATERIAL = ASSETS / "golden" / "material"
SCHEMA = etree.XMLSchema(etree.parse(str(ASSETS / "junit" / "JUnit.xsd")))


def _ci(cwd: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in AMBIENT and not k.startswith(("SBOMSIGN_", "INPUT_", "JENKINS_"))}
    return subprocess.run([sys.executable, "-m", "sbomsign", "ci", *argv], cwd=cwd,
                          env={**clean, **env}, capture_output=True, text=True, timeout=300,
                          check=False)


def _workspace(tmp_path: Path) -> Path:
    (tmp_path / "dist").mkdir()
    for name in ("go-linux-amd64", "go-linux-arm64"):
        shutil.copy(BIN / name, tmp_path / "dist" / name)
    return tmp_path


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace the Jenkins flavour produced in: SBOMs, bundles, SHA256SUMS, outputs."""
    work = _workspace(tmp_path_factory.mktemp("produced"))
    done = _ci(work, "produce", "--system", "jenkins", SBOMSIGN_ARTIFACTS="dist/*",
               SBOMSIGN_OUTPUT_DIR="sbom", SBOMSIGN_KEY=str(MATERIAL / "release.key"),
               SBOMSIGN_SBOM_FORMATS="cyclonedx-json,spdx-json",
               SBOMSIGN_ATTEST="cyclonedx,spdx")
    assert done.returncode == 0, done.stderr
    return work


def test_produce_writes_what_the_action_writes(produced: Path) -> None:
    outputs = json.loads((produced / "sbomsign-outputs.json").read_text())
    assert outputs["artifacts"].splitlines() == ["dist/go-linux-amd64", "dist/go-linux-arm64"]
    assert sorted(outputs["sboms"].splitlines()) == [
        "sbom/go-linux-amd64.cdx.json", "sbom/go-linux-amd64.spdx.json",
        "sbom/go-linux-arm64.cdx.json", "sbom/go-linux-arm64.spdx.json"]
    assert outputs["bundles"].splitlines() == ["sbom/go-linux-amd64.sigstore.json",
                                               "sbom/go-linux-arm64.sigstore.json"]
    assert len(outputs["attestations"].splitlines()) == 4
    assert outputs["signer"].startswith("key:")
    assert outputs["subject-checksums"] == "SHA256SUMS"
    for line in (produced / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert subprocess.run(["sha256sum", f"dist/{name}"], cwd=produced, capture_output=True,
                              text=True, check=True).stdout.split()[0] == digest
    summary = (produced / "sbomsign-summary.md").read_text()
    assert summary.startswith("## sbomsign: produce")
    assert "| <code>dist/go-linux-arm64</code> | aarch64 |" in summary


def test_verify_on_gitlab_merges_the_reports(produced: Path, tmp_path: Path) -> None:
    work = tmp_path / "gate"
    shutil.copytree(produced, work)
    done = _ci(work, "verify", SBOMSIGN_ARTIFACTS="dist/*", SBOMSIGN_OUTPUT_DIR="sbom",
               SBOMSIGN_PUBLIC_KEY=str(MATERIAL / "release.pub"), GITLAB_CI="true")
    assert done.returncode == 0, done.stderr
    # --system auto found GitLab: collapsible sections, the dotenv report.
    assert "section_start:" in done.stderr
    assert "sbomsign: verify PASSED: 2 of 2 artifacts passed" in done.stderr
    junit = etree.parse(str(work / "sbomsign-verify.junit.xml"))
    SCHEMA.assertValid(junit)
    assert [s.get("name") for s in junit.findall("testsuite")] == [
        "dist/go-linux-amd64", "dist/go-linux-arm64"]
    assert [s.get("id") for s in junit.findall("testsuite")] == ["0", "1"]
    assert json.loads((work / "sbomsign-verify.codequality.json").read_text()) == []
    report = json.loads((work / "sbomsign-verify.json").read_text())
    assert [a["verdict"] for a in report["artifacts"]] == ["PASSED", "PASSED"]
    dotenv = (work / "sbomsign.env").read_text().splitlines()
    assert "SBOMSIGN_RESULT_VERDICT=PASSED" in dotenv
    assert "SBOMSIGN_RESULT_ARTIFACTS=dist/go-linux-amd64 dist/go-linux-arm64" in dotenv


def test_a_tampered_and_an_unreadable_artifact(produced: Path, tmp_path: Path) -> None:
    work = tmp_path / "gate"
    shutil.copytree(produced, work)
    with (work / "dist" / "go-linux-arm64").open("ab") as f:
        f.write(b"\0")
    # An image name sbomsign cannot read: that artifact cannot be verified at all (ERROR).
    done = _ci(work, "verify", "--system", "gitlab",
               SBOMSIGN_ARTIFACTS="dist/* registry:nohost", SBOMSIGN_OUTPUT_DIR="sbom",
               SBOMSIGN_PUBLIC_KEY=str(MATERIAL / "release.pub"))
    assert done.returncode == 1, done.stderr
    assert "sbomsign: verify ERROR: 1 of 3 artifacts passed" in done.stderr
    junit = etree.parse(str(work / "sbomsign-verify.junit.xml"))
    SCHEMA.assertValid(junit)
    suites = {s.get("name"): s for s in junit.findall("testsuite")}
    assert list(suites) == ["dist/go-linux-amd64", "dist/go-linux-arm64", "registry:nohost"]
    assert suites["dist/go-linux-amd64"].get("failures") == "0"
    assert suites["dist/go-linux-arm64"].get("failures") != "0"
    assert suites["registry:nohost"].get("errors") == "1"
    error = suites["registry:nohost"].find("testcase/error")
    assert error is not None and "expected registry:HOST" in error.get("message")
    quality = json.loads((work / "sbomsign-verify.codequality.json").read_text())
    assert quality and {i["check_name"] for i in quality} <= {"signature", "attestation[*]",
                                                              "bundle"}
    assert all(i["description"].startswith("dist/go-linux-arm64: ") for i in quality)
    assert json.loads((work / "sbomsign-outputs.json").read_text())["verdict"] == "ERROR"


@pytest.mark.parametrize(("env", "said"), [
    ({}, "SBOMSIGN_ARTIFACTS is empty: give the files (one path or glob per word)"),
    ({"SBOMSIGN_ARTIFACTS": "dist/*", "SBOMSIGN_POLICY": "nope.yaml"},
     "SBOMSIGN_POLICY: nope.yaml: no such file"),
    ({"SBOMSIGN_ARTIFACTS": "dist/*"}, "verify mode needs to know who may sign: set "
     "SBOMSIGN_POLICY (see sbomsign's policies/), or SBOMSIGN_PUBLIC_KEY (a public key), or "
     "SBOMSIGN_CERTIFICATE_IDENTITY[-regexp] with SBOMSIGN_CERTIFICATE_OIDC_ISSUER"),
    ({"SBOMSIGN_ARTIFACTS": "dist/*", "SBOMSIGN_PUBLIC_KEY": str(MATERIAL / "release.key")},
     "SBOMSIGN_PUBLIC_KEY: in verify mode the key is the PUBLIC key"),
    ({"SBOMSIGN_ARTIFACTS": "dist/*", "SBOMSIGN_POLICY": "p.yaml", "SBOMSIGN_FAIL_ON": "al"},
     "SBOMSIGN_FAIL_ON: 'al' is not one of failed, error, never"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, env: dict[str, str],
                                          said: str) -> None:
    work = _workspace(tmp_path)
    (work / "p.yaml").write_text("not checked before the gate runs\n")
    done = _ci(work, "verify", "--system", "jenkins", **env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [f"ERROR: {said}"] or said in done.stderr.splitlines()[0]
    assert sorted(p.name for p in work.iterdir()) == ["dist", "p.yaml"]  # nothing written


def test_the_engine_needs_nothing_but_the_standard_library(tmp_path: Path) -> None:
    # The Action imports it from its checkout before anything is installed: an isolated
    # interpreter without site-packages must import and run every module of it.
    probe = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
             "import pkgutil, sbomsign._ci as ci\n"
             "import importlib\n"
             "for m in pkgutil.walk_packages(ci.__path__, 'sbomsign._ci.'):\n"
             "    importlib.import_module(m.name)\n"
             "print(sorted(ci.SYSTEMS))\n")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", probe], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['github', 'gitlab', 'jenkins']"
    # and a module that reached for a dependency would fail there
    bad = subprocess.run([sys.executable, "-I", "-S", "-c", "import yaml"], cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    assert bad.returncode != 0
