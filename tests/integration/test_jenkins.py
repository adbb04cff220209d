"""The Jenkins files (`ci/jenkins/`): the shared-library step and the example Jenkinsfile
compile with Debian's groovy, and their shell steps, run as plain commands in the order the
pipeline runs them (with the credentials bound to files, as `withCredentials` does), produce
SBOMs, signatures, attestations and a gate whose JUnit report is valid."""

from __future__ import annotations

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


def _gate_passed(cwd: Path, out: str) -> None:
    assert "1 of 1 artifacts passed" in out
    report = etree.parse(str(cwd / "sbomsign-gate.junit.xml"))
    SCHEMA.assertValid(report)
    assert report.find("testsuite").get("failures") == "0"


def test_the_jenkinsfile_steps_as_plain_commands(tmp_path: Path) -> None:
    env = _workspace(tmp_path)
    steps = re.findall(r"^\s*sh '(.+)'$", (JENKINS / "Jenkinsfile").read_text(), re.MULTILINE)
    assert steps[0].startswith("mkdir -p dist && CGO_ENABLED=0")  # the build: done above
    out = ""
    for step in steps[1:]:
        done = _sh(step, tmp_path, env)
        assert done.returncode == 0, f"{step}\n{done.stdout}{done.stderr}"
        out += done.stdout
    assert (tmp_path / "sbom" / "demo-svc.cdx.json").is_file()
    assert (tmp_path / "dist" / "demo-svc.cyclonedx.sigstore.json").is_file()
    _gate_passed(tmp_path, out)


def _library_script(name: str) -> str:
    text = (JENKINS / "vars" / "sbomsign.groovy").read_text()
    found = re.search(rf"static final String {name} = '''(.*?)'''", text, re.DOTALL)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("policy", [False, True])
def test_the_shared_library_steps_as_plain_commands(tmp_path: Path, policy: bool) -> None:
    env = _workspace(tmp_path)
    produce = re.search(r"sh\(label: 'sbomsign sbom', script: '''(.*?)'''\)",
                        (JENKINS / "vars" / "sbomsign.groovy").read_text(), re.DOTALL)
    assert produce is not None
    env.update(SBOMSIGN_SBOM_FORMATS="cyclonedx-json,spdx-json", SBOMSIGN_SUPPLIER="",
               SBOMSIGN_AUTHOR="", SBOMSIGN_POLICY="", SBOMSIGN_TRUSTED_ROOT="")
    for script in (produce.group(1), _library_script("SIGN_AND_ATTEST")):
        done = _sh(script, tmp_path, env)
        assert done.returncode == 0, done.stdout + done.stderr
    if policy:
        shutil.copy(MATERIAL / "release.pub", tmp_path / "release.pub")
        (tmp_path / "policy.yaml").write_text(
            "apiVersion: sbomsign.dev/v1\nkind: Policy\nmetadata:\n  name: jenkins\nspec:\n"
            "  signers:\n    release:\n      key:\n        file: release.pub\n"
            "  artifactSignature:\n    required: true\n"
            "  attestations:\n    - type: sbom\n      required: true\n")
        env.update(SBOMSIGN_POLICY="policy.yaml", SBOMSIGN_PUBLIC_KEY="")
    done = _sh(_library_script("VERIFY"), tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    _gate_passed(tmp_path, done.stdout)


def test_the_shared_library_steps_on_an_image(tmp_path: Path) -> None:
    env = _workspace(tmp_path)
    shutil.copytree(ROOT / "tests" / "assets" / "images" / "demo-oci", tmp_path / "image")
    produce = re.search(r"sh\(label: 'sbomsign sbom', script: '''(.*?)'''\)",
                        (JENKINS / "vars" / "sbomsign.groovy").read_text(), re.DOTALL)
    assert produce is not None
    env.update(SBOMSIGN_ARTIFACTS="dist/demo-svc oci-dir:image:1.0",
               SBOMSIGN_SBOM_FORMATS="cyclonedx-json", SBOMSIGN_SUPPLIER="",
               SBOMSIGN_AUTHOR="", SBOMSIGN_POLICY="", SBOMSIGN_TRUSTED_ROOT="")
    for script in (produce.group(1), _library_script("SIGN_AND_ATTEST")):
        done = _sh(script, tmp_path, env)
        assert done.returncode == 0, done.stdout + done.stderr
    done = _sh(_library_script("VERIFY"), tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 of 2 artifacts passed" in done.stdout
    report = etree.parse(str(tmp_path / "sbomsign-gate.junit.xml"))
    SCHEMA.assertValid(report)
    assert len(report.findall("testsuite")) == 2
