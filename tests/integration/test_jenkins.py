"""The Jenkins files (`ci/jenkins/`): the shared-library step and the example Jenkinsfile
compile with Debian's groovy, and their shell steps, run as plain commands in the order the
pipeline runs them (with the credentials bound to files, as `withCredentials` does), produce
SBOMs, signatures, attestations and a gate whose JUnit report is valid."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import ASSETS, BIN

ROOT = Path(__file__).resolve().parents[2]
JENKINS = ROOT / "ci" / "jenkins"
MATERIAL = ASSETS / "golden" / "material"
SCHEMA = etree.XMLSchema(etree.parse(str(ASSETS / "junit" / "JUnit.xsd")))


def _java_home() -> str:
    java = shutil.which("java")
    assert java is not None, "java is missing: scripts/apt-deps installs groovy and a JRE"
    return str(Path(java).resolve().parent.parent)


def test_the_groovy_files_compile(tmp_path: Path) -> None:
    shutil.copy(JENKINS / "vars" / "sbomsign.groovy", tmp_path)
    shutil.copy(JENKINS / "Jenkinsfile", tmp_path / "Jenkinsfile.groovy")
    done = subprocess.run(["groovyc", "-d", str(tmp_path / "out"), "sbomsign.groovy",
                           "Jenkinsfile.groovy"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "JAVA_HOME": _java_home()},
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "out" / "sbomsign.class").is_file()
    # The compiler is live: a syntax error is refused.
    (tmp_path / "broken.groovy").write_text("def produce(Map args { }\n")
    broken = subprocess.run(["groovyc", "-d", str(tmp_path / "out"), "broken.groovy"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "JAVA_HOME": _java_home()}, check=False)
    assert broken.returncode != 0


def _workspace(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "dist").mkdir()
    shutil.copy(BIN / "go-linux-loong64", tmp_path / "dist" / "demo-svc")
    return {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
            "SBOMSIGN_ARTIFACTS": "dist/demo-svc", "SBOMSIGN_OUTPUT_DIR": "sbom",
            # what withCredentials([file(...)]) binds: the secret files' paths
            "SBOMSIGN_KEY": str(MATERIAL / "release.key"),
            "SBOMSIGN_PUBLIC_KEY": str(MATERIAL / "release.pub")}


def _sh(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def _gate_passed(cwd: Path, out: str, artifacts: int = 1) -> None:
    assert f"sbomsign: verify PASSED: {artifacts} of {artifacts} artifacts passed" in out
    report = etree.parse(str(cwd / "sbomsign-verify.junit.xml"))
    SCHEMA.assertValid(report)
    assert len(report.findall("testsuite")) == artifacts
    assert all(s.get("failures") == "0" for s in report.findall("testsuite"))
    outputs = json.loads((cwd / "sbomsign-outputs.json").read_text())
    assert outputs["verdict"] == "PASSED" and outputs["report"] == "sbomsign-verify.json"
    assert "✅ PASSED" in (cwd / "sbomsign-summary.md").read_text()


def test_the_jenkinsfile_steps_as_plain_commands(tmp_path: Path) -> None:
    env = _workspace(tmp_path)
    text = (JENKINS / "Jenkinsfile").read_text()
    env.update(re.findall(r"^\s*(SBOMSIGN_[A-Z_]+) = '(.*)'$", text, re.MULTILINE))
    steps = re.findall(r"^\s*sh '(.+)'$", text, re.MULTILINE)
    assert steps[0].startswith("mkdir -p dist && CGO_ENABLED=0")  # the build: done above
    out = ""
    for step in steps[1:]:
        done = _sh(step, tmp_path, env)
        assert done.returncode == 0, f"{step}\n{done.stdout}{done.stderr}"
        out += done.stdout + done.stderr
    assert (tmp_path / "sbom" / "demo-svc.cdx.json").is_file()
    assert (tmp_path / "sbom" / "demo-svc.cyclonedx.sigstore.json").is_file()
    assert (tmp_path / "SHA256SUMS").read_text().endswith("  demo-svc\n")
    _gate_passed(tmp_path, out)
    # The workspace outlives a build: the next build replaces the bundles.
    done = _sh(steps[1], tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr


def _library(name: str) -> str:
    text = (JENKINS / "vars" / "sbomsign.groovy").read_text()
    found = re.search(rf"static final String {name} = '(.*?)'$", text, re.MULTILINE)
    assert found is not None
    return found.group(1)


def _library_defaults(table: str) -> dict[str, str]:
    """The variables a shared-library step sets when given no optional argument."""
    text = (JENKINS / "vars" / "sbomsign.groovy").read_text()
    block = re.search(rf"static final Map {table} = \[(.*?)\n\]", text, re.DOTALL)
    assert block is not None
    return dict(re.findall(r"\['(SBOMSIGN_[A-Z_]+)', '([^']*)'\]", block.group(1)))


@pytest.mark.parametrize("policy", [False, True])
def test_the_shared_library_steps_as_plain_commands(tmp_path: Path, policy: bool) -> None:
    env = _workspace(tmp_path)
    done = _sh(_library("PRODUCE"), tmp_path, {**env, **_library_defaults("PRODUCE_ARGS")})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "signed by key:" in done.stderr
    verify_env = {**env, **_library_defaults("VERIFY_ARGS")}
    verify_env["SBOMSIGN_PUBLIC_KEY"] = env["SBOMSIGN_PUBLIC_KEY"]
    if policy:
        shutil.copy(MATERIAL / "release.pub", tmp_path / "release.pub")
        (tmp_path / "policy.yaml").write_text(
            "apiVersion: sbomsign.dev/v1\nkind: Policy\nmetadata:\n  name: jenkins\nspec:\n"
            "  signers:\n    release:\n      key:\n        file: release.pub\n"
            "  artifactSignature:\n    required: true\n"
            "  attestations:\n    - type: sbom\n      required: true\n")
        verify_env.update(SBOMSIGN_POLICY="policy.yaml", SBOMSIGN_PUBLIC_KEY="")
    done = _sh(_library("VERIFY"), tmp_path, verify_env)
    assert done.returncode == 0, done.stdout + done.stderr
    _gate_passed(tmp_path, done.stderr)


def test_the_shared_library_steps_on_an_image(tmp_path: Path) -> None:
    env = _workspace(tmp_path)
    shutil.copytree(ROOT / "tests" / "assets" / "images" / "demo-oci", tmp_path / "image")
    both = "dist/demo-svc oci-dir:image:1.0"
    env.update(_library_defaults("PRODUCE_ARGS"), SBOMSIGN_ARTIFACTS=both,
               SBOMSIGN_SBOM_FORMATS="cyclonedx-json")
    done = _sh(_library("PRODUCE"), tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    env.update(_library_defaults("VERIFY_ARGS"), SBOMSIGN_ARTIFACTS=both,
               SBOMSIGN_PUBLIC_KEY=str(MATERIAL / "release.pub"))
    done = _sh(_library("VERIFY"), tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    _gate_passed(tmp_path, done.stderr, artifacts=2)


def test_a_failed_gate_is_a_failed_junit_case(tmp_path: Path) -> None:
    # An artifact nobody signed: the step exits 1 and the report says why, per rule.
    env = {**_workspace(tmp_path), **_library_defaults("VERIFY_ARGS"),
           "SBOMSIGN_PUBLIC_KEY": str(MATERIAL / "release.pub")}
    done = _sh(_library("VERIFY"), tmp_path, env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "sbomsign: verify FAILED: 0 of 1 artifacts passed" in done.stderr
    report = etree.parse(str(tmp_path / "sbomsign-verify.junit.xml"))
    SCHEMA.assertValid(report)
    assert report.find("testsuite").get("failures") != "0"
    assert report.find(".//failure") is not None


def test_a_bad_argument_stops_the_step_before_any_work(tmp_path: Path) -> None:
    env = {**_workspace(tmp_path), **_library_defaults("PRODUCE_ARGS"),
           "SBOMSIGN_SBOM_FORMATS": "cyclonedx-jsn", "SBOMSIGN_KEY": ""}
    done = _sh(_library("PRODUCE"), tmp_path, env)
    assert done.returncode == 2
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("ERROR: ")]
    assert errors == [
        "ERROR: SBOMSIGN_SBOM_FORMATS: 'cyclonedx-jsn' is not one of cyclonedx-json, "
        "cyclonedx-xml, spdx-json, spdx-tv, spdx3-json; did you mean 'cyclonedx-json'?",
        "ERROR: sign is 'keyless' but the job has no OIDC credential: Jenkins gives a job no "
        "OIDC token for Sigstore: sign with a managed key (keyCredentialsId), or pass a token "
        "as SIGSTORE_ID_TOKEN",
    ]
    assert not (tmp_path / "sbom").exists()
