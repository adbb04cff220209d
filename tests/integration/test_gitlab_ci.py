"""The GitLab CI template (`ci/gitlab/sbomsign.gitlab-ci.yml`) and the CI/CD components
(`templates/`) run by gitlab-ci-local (npm) with its shell executor: a pipeline that includes
them, produces SBOMs, signs and attests a fixture binary, and gates it; with a managed key
from a file variable, and keylessly through the private Sigstore instance. The report files
GitLab would show are checked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import ASSETS, BIN
from tests.npm import npm_tools
from tests.sigstore_local.instance import LocalSigstore
from tests.sigstore_local.oidc import GitLabPipeline

ROOT = Path(__file__).resolve().parents[2]
MATERIAL = ASSETS / "golden" / "material"
GITLAB_CI_LOCAL = "4.60.1"  # the newest that runs on Debian's Node.js 20 line

PIPELINE = """\
include:
  - local: ci/gitlab/sbomsign.gitlab-ci.yml
stages: [build, test]
sbom-and-sign:
  extends: .sbomsign-produce
  stage: build
  variables:
    SBOMSIGN_ARTIFACTS: "dist/*"
    SBOMSIGN_SUPPLIER: "Organization: Example Org"
release-gate:
  extends: .sbomsign-verify
  stage: test
  needs: [sbom-and-sign]
  variables:
    SBOMSIGN_ARTIFACTS: "dist/demo-svc"
"""


@pytest.fixture(scope="module")
def gitlab_ci_local() -> Path:
    tool = "gitlab-ci-local"
    return npm_tools("node", f"{tool}@{GITLAB_CI_LOCAL}", tool) / tool


def _project(directory: Path, pipeline: str = PIPELINE) -> Path:
    (directory / "ci" / "gitlab").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "ci" / "gitlab" / "sbomsign.gitlab-ci.yml", directory / "ci" / "gitlab")
    shutil.copytree(ROOT / "templates", directory / "templates")
    (directory / "dist").mkdir()
    shutil.copy(BIN / "go-linux-loong64", directory / "dist" / "demo-svc")
    (directory / ".gitlab-ci.yml").write_text(pipeline)
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run([*git, "init", "-q"], cwd=directory, check=True)
    subprocess.run([*git, "add", "-A"], cwd=directory, check=True)
    subprocess.run([*git, "commit", "-qm", "pipeline"], cwd=directory, check=True)
    return directory


def _run(tool: Path, project: Path, *variables: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
           "HOME": str(project)}
    args = [str(tool), "--force-shell-executor", "--json-schema-validation"]
    for v in variables:
        args += ["--variable", v]
    return subprocess.run(args, cwd=project, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def _reports(project: Path) -> None:
    schema = etree.XMLSchema(etree.parse(str(ASSETS / "junit" / "JUnit.xsd")))
    junit = etree.parse(str(project / "sbomsign-verify.junit.xml"))
    schema.assertValid(junit)
    assert junit.find("testsuite").get("failures") == "0"
    assert json.loads((project / "sbomsign-verify.codequality.json").read_text()) == []
    sbom = json.loads((project / "sbom" / "demo-svc.cdx.json").read_text())
    assert sbom["metadata"]["component"]["name"] == "demo-svc"
    assert (project / "sbom" / "demo-svc.sigstore.json").is_file()
    assert (project / "sbom" / "demo-svc.cyclonedx.sigstore.json").is_file()
    # The gate's outputs as the dotenv report later jobs read, and its summary.
    dotenv = dict(line.split("=", 1) for line in
                  (project / "sbomsign.env").read_text().splitlines())
    assert dotenv["SBOMSIGN_RESULT_VERDICT"] == "PASSED"
    assert dotenv["SBOMSIGN_RESULT_REPORT"] == "sbomsign-verify.json"
    assert "## sbomsign: verify — ✅ PASSED" in (project / "sbomsign-summary.md").read_text()
    report = json.loads((project / "sbomsign-verify.json").read_text())
    assert report["verdict"] == "PASSED"
    digests = (project / "SHA256SUMS").read_text()
    assert digests.endswith("  demo-svc\n")


def test_a_pipeline_with_a_managed_key(gitlab_ci_local: Path, tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    done = _run(gitlab_ci_local, project, f"SBOMSIGN_KEY={MATERIAL / 'release.key'}",
                f"SBOMSIGN_PUBLIC_KEY={MATERIAL / 'release.pub'}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "PASS  sbom-and-sign" in done.stdout and "PASS  release-gate" in done.stdout
    assert "sbomsign: verify PASSED: 1 of 1 artifacts passed" in done.stdout + done.stderr
    _reports(project)


COMPONENTS = f"""\
stages: [build, test]
include:
  - local: templates/produce.yml
    inputs:
      artifacts: "dist/*"
      supplier: "Organization: Example Org"
      sbom-formats: cyclonedx-json
  - local: templates/verify.yml
    inputs:
      artifacts: "dist/demo-svc"
      public-key: "{MATERIAL / 'release.pub'}"
      job-name: release-gate
"""


def test_the_ci_cd_components_with_inputs(gitlab_ci_local: Path, tmp_path: Path) -> None:
    # the components as a catalog would include them, by the same files and inputs
    project = _project(tmp_path / "project", COMPONENTS)
    done = _run(gitlab_ci_local, project, f"SBOMSIGN_KEY={MATERIAL / 'release.key'}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "PASS  sbomsign-produce" in done.stdout and "PASS  release-gate" in done.stdout
    _reports(project)
    assert not (project / "sbom" / "demo-svc.spdx.json").exists()  # the sbom-formats input
    # a component without its required input is refused before any job runs
    project = _project(tmp_path / "missing", COMPONENTS.replace('      artifacts: "dist/*"\n',
                                                                 ""))
    done = _run(gitlab_ci_local, project, f"SBOMSIGN_KEY={MATERIAL / 'release.key'}")
    assert done.returncode != 0
    assert "`artifacts` input: required value has not been provided" in done.stdout + done.stderr


def test_a_keyless_pipeline_with_a_gitlab_id_token(gitlab_ci_local: Path, tmp_path: Path) -> None:
    # The private instance's GitLab issuer plays the GitLab instance: its pipeline token has
    # GitLab's claims, and its Fulcio maps them as Fulcio's GitLab configuration does.
    project = _project(tmp_path / "project")
    with LocalSigstore(tmp_path / "sigstore") as inst:
        pipeline = GitLabPipeline()
        identity = "https://" + pipeline.ci_config_ref_uri(inst.gitlab_issuer)
        (project / "policy.yaml").write_text(_GITLAB_POLICY.format(
            identity=identity, issuer=inst.gitlab_issuer,
            repository=f"{inst.gitlab_issuer}/{pipeline.project_path}"))
        done = _run(gitlab_ci_local, project,
                    f"SIGSTORE_ID_TOKEN={inst.gitlab_token(pipeline)}",
                    f"SBOMSIGN_TRUST_CONFIG={inst.trust_config_path}",
                    f"SBOMSIGN_TRUSTED_ROOT={inst.trusted_root_path}",
                    "SBOMSIGN_POLICY=policy.yaml")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    log = done.stdout + done.stderr
    assert f"signed by {identity}" in log
    assert "sbomsign: verify PASSED: 1 of 1 artifacts passed (policy gitlab-release)" in log
    _reports(project)


def test_a_pipeline_that_ships_an_image(gitlab_ci_local: Path, tmp_path: Path) -> None:
    # The image in an OCI layout in the project (as a build step leaves it): described,
    # signed and attested where it is stored, then gated there beside the binary.
    pipeline = PIPELINE.replace('SBOMSIGN_ARTIFACTS: "dist/*"',
                                'SBOMSIGN_ARTIFACTS: "dist/* oci-dir:image:1.0"').replace(
        'SBOMSIGN_ARTIFACTS: "dist/demo-svc"',
        'SBOMSIGN_ARTIFACTS: "dist/demo-svc oci-dir:image:1.0"')
    directory = tmp_path / "project"
    directory.mkdir()
    shutil.copytree(ASSETS / "images" / "demo-oci", directory / "image")
    project = _project(directory, pipeline)
    done = _run(gitlab_ci_local, project, f"SBOMSIGN_KEY={MATERIAL / 'release.key'}",
                f"SBOMSIGN_PUBLIC_KEY={MATERIAL / 'release.pub'}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "sbomsign: verify PASSED: 2 of 2 artifacts passed" in done.stdout + done.stderr
    _reports(project)
    sboms = sorted(p.name for p in (project / "sbom").glob("*.cdx.json"))
    assert any(name.startswith("image-1.0-linux-loong64") for name in sboms), sboms
    index = json.loads((project / "image" / "index.json").read_text())
    attached = [m for m in index["manifests"]
                if m.get("artifactType") == "application/vnd.dev.sigstore.bundle.v0.3+json"]
    assert sorted(m["annotations"]["dev.sigstore.bundle.predicateType"] for m in attached) == [
        "https://cyclonedx.org/bom", "https://sigstore.dev/cosign/sign/v1",
        "https://spdx.dev/Document/v2.3"]


# A release policy pinned to a GitLab pipeline: the identity (the CI configuration file at a
# protected branch), the instance, and claims Fulcio copies from GitLab's token.
_GITLAB_POLICY = """\
apiVersion: sbomsign.dev/v1
kind: Policy
metadata:
  name: gitlab-release
spec:
  signers:
    pipeline:
      keyless:
        identity: "{identity}"
        issuer: "{issuer}"
        claims:
          source_repository_uri: "{repository}"
          source_repository_ref: refs/heads/main
          build_trigger: push
          runner_environment: self-hosted
  artifactSignature:
    required: true
  attestations:
    - type: sbom
      required: true
"""


@pytest.mark.parametrize(("variables", "said"), [
    (("SBOMSIGN_ARTIFACTS=",), "SBOMSIGN_ARTIFACTS is empty"),
    (("SBOMSIGN_ARTIFACTS=dist/nothing",), "SBOMSIGN_ARTIFACTS: dist/nothing: no such file"),
    (("SBOMSIGN_SIGN=yes",),
     "SBOMSIGN_SIGN: 'yes' is not one of keyless, key, none"),
    (("SBOMSIGN_SIGN=key", "SBOMSIGN_KEY="), "sign is 'key' but SBOMSIGN_KEY is empty"),
    (("SBOMSIGN_KEY=",), "sign is 'keyless' but the job has no OIDC credential"),
    (("SBOMSIGN_ATTEST=cyclonedx,sbom",), "SBOMSIGN_ATTEST: 'sbom' is not one of"),
])
def test_bad_variables_stop_the_job_with_one_line(
    gitlab_ci_local: Path, tmp_path: Path, variables: tuple[str, ...], said: str
) -> None:
    pipeline = PIPELINE.replace('    SBOMSIGN_ARTIFACTS: "dist/*"\n', "")
    project = _project(tmp_path / "project", pipeline)
    done = _run(gitlab_ci_local, project, "SBOMSIGN_ARTIFACTS=dist/*", *variables)
    assert done.returncode != 0
    assert said in done.stdout + done.stderr
    assert "FAIL  sbom-and-sign" in done.stdout
    assert not (project / "sbom").exists()  # nothing was done before the check
