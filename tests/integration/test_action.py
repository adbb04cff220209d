"""The GitHub Action (`action.yml` + `action/run.py`), run locally in a simulated runner.

The composite action's `Run sbomsign` step is executed as the runner would: its `env:` block is
evaluated against the inputs (and the defaults `action.yml` declares), its `run:` script is run
by `bash --noprofile --norc -eo pipefail`, with a temporary `GITHUB_OUTPUT`,
`GITHUB_STEP_SUMMARY`, `GITHUB_WORKSPACE`, `RUNNER_TEMP` and the `GITHUB_*` context variables.
The `actions/setup-python` step is replaced by this interpreter (the script is stdlib-only),
and `SBOMSIGN_ACTION_CLI` points the script at `.venv/bin/sbomsign` instead of installing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from sbomsign._ci import common as ci_common
from sbomsign._ci import inputs as ci_inputs
from sbomsign._ci import record as ci_record
from sbomsign._ci import runner as ci_runner
from sbomsign._ci import verify as ci_verify
from sbomsign._ci.systems import github as ci_github
from sbomsign._ci.systems.github import GitHub
from tests.images import build
from tests.images import run as run_tool
from tests.loopback import docker_registry

ROOT = Path(__file__).resolve().parents[2]
ACTION_YML = ROOT / "action.yml"
README_SECTION = ROOT / "README.md"
BIN = ROOT / "tests" / "assets" / "bin"
FIXTURES = ("go-linux-amd64", "go-linux-arm64", "go-linux-loong64")
ARCHES = {
    "go-linux-amd64": "x86_64",
    "go-linux-arm64": "aarch64",
    "go-linux-loong64": "loongarch64",
}
PASSWORD = "correct horse battery staple"
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


GITHUB = GitHub()


def _action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION_YML.read_text())
    assert isinstance(data, dict)
    return data


def _sbomsign_exe() -> Path:
    exe = Path(sys.executable).parent / "sbomsign"
    assert exe.is_file(), f"{exe} missing: install sbomsign into the venv (scripts/setup-venv)"
    return exe


# --------------------------------------------------------------------------------------------
# The simulated runner


def parse_github_output(text: str) -> dict[str, str]:
    """Read `$GITHUB_OUTPUT` as the runner does: `name=value` and `name<<DELIM ... DELIM`."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value: list[str] = []
            while lines[i] != delimiter:
                value.append(lines[i])
                i += 1
            i += 1
            out[name] = "\n".join(value)
        else:
            name, _, plain = line.partition("=")
            out[name] = plain
    return out


@dataclass
class StepRun:
    """What one run of the composite step left behind."""

    returncode: int
    log: str
    outputs: dict[str, str]
    summary: str

    def annotations(self, level: str = "error") -> list[str]:
        """The `::error ...::message` lines of the log (outside stop-commands blocks)."""
        found: list[str] = []
        stopped: str | None = None
        for line in self.log.splitlines():
            if stopped is not None:
                if line == f"::{stopped}::":
                    stopped = None
                continue
            if line.startswith("::stop-commands::"):
                stopped = line.removeprefix("::stop-commands::")
            elif line.startswith(f"::{level}"):
                found.append(line)
        return found


def step_env(inputs: Mapping[str, str], python: str) -> dict[str, str]:
    """The `env:` of the action's `Run sbomsign` step, its expressions evaluated."""
    action = _action()
    declared = action["inputs"]
    values = {name: str(spec.get("default", "")) for name, spec in declared.items()}
    for name, value in inputs.items():
        assert name in declared, f"{name} is not an input of action.yml"
        values[name] = value
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "sbomsign"]

    def evaluate(expr: str) -> str:
        if expr.startswith("inputs."):
            return values[expr.removeprefix("inputs.")]
        assert expr == "steps.python.outputs.python-path", f"unexpected expression {expr}"
        return python

    env: dict[str, str] = {}
    for key, template in step["env"].items():
        env[key] = EXPR.sub(lambda m: evaluate(m.group(1)), str(template))
    return env


@dataclass
class Runner:
    """A simulated GitHub-hosted runner for one job."""

    root: Path
    workspace: Path
    temp: Path
    base_env: dict[str, str]

    def run(self, **inputs: str) -> StepRun:
        """Run the composite action's `Run sbomsign` step with these inputs."""
        names = {k.replace("_", "-"): v for k, v in inputs.items()}
        output = self.root / "github_output"
        summary = self.root / "step_summary"
        output.write_text("")
        summary.write_text("")
        env = dict(self.base_env)
        env.update(GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary))
        env.update(step_env(names, sys.executable))
        (step,) = [s for s in _action()["runs"]["steps"] if s.get("id") == "sbomsign"]
        assert step["shell"] == "bash"
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=self.workspace,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        return StepRun(
            proc.returncode,
            proc.stdout + proc.stderr,
            parse_github_output(output.read_text()),
            summary.read_text(),
        )


def make_runner(root: Path) -> Runner:
    """A runner whose workspace holds the three Go fixture binaries in `dist/`."""
    workspace = root / "workspace"
    temp = root / "runner_temp"
    (workspace / "dist").mkdir(parents=True)
    temp.mkdir()
    for name in FIXTURES:
        shutil.copyfile(BIN / name, workspace / "dist" / name)
    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root),
        "LANG": "C.UTF-8",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(temp),
        "RUNNER_OS": "Linux",
        "RUNNER_ENVIRONMENT": "github-hosted",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "example-org/example-service",
        "GITHUB_REPOSITORY_ID": "123456",
        "GITHUB_REPOSITORY_OWNER_ID": "654321",
        "GITHUB_REF": "refs/tags/v1.2.3",
        "GITHUB_REF_NAME": "v1.2.3",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_WORKFLOW_REF": (
            "example-org/example-service/.github/workflows/release.yml@refs/tags/v1.2.3"
        ),
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_RUN_ID": "42",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_JOB": "sbom-and-sign",
        "GITHUB_ACTION": "sbomsign",
        "SBOMSIGN_ACTION_CLI": str(_sbomsign_exe()),
    }
    return Runner(root, workspace, temp, base_env)


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """An encrypted managed key (cosign format): its PEM text, and the public key file."""
    keys = tmp_path_factory.mktemp("keys")
    env = {**os.environ, "SBOMSIGN_KEY_PASSWORD": PASSWORD}
    subprocess.run(
        [str(_sbomsign_exe()), "keygen", "--output-prefix", str(keys / "release")],
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return (keys / "release.key").read_text(), keys / "release.pub"


@dataclass
class Produced:
    """A produce-mode run on the fixtures, shared by the tests that check what it made."""

    runner: Runner
    step: StepRun
    public_key: Path


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory, signing_key: tuple[str, Path]) -> Produced:
    """Run produce mode once: SBOMs, managed-key signatures and three attestations."""
    pem, public_key = signing_key
    runner = make_runner(tmp_path_factory.mktemp("produce"))
    step = runner.run(
        mode="produce",
        artifacts="dist/go-linux-*\n",
        sbom_formats="cyclonedx-json, spdx-json",
        sign="key",
        key=pem,
        key_password=PASSWORD,
        attest="cyclonedx\nspdx\nslsa-provenance",
        supplier="Organization: Example Org",
        author="Example Org release team",
    )
    return Produced(runner, step, public_key)


def _airgapped_policy(runner: Runner, public_key: Path) -> str:
    """sbomsign's air-gapped policy, with the test key as `keys/release.pub` beside it."""
    policies = runner.workspace / "policies"
    (policies / "keys").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "policies" / "airgapped.yaml", policies / "airgapped.yaml")
    shutil.copyfile(public_key, policies / "keys" / "release.pub")
    return "policies/airgapped.yaml"


# --------------------------------------------------------------------------------------------
# produce


def test_produce_succeeds_without_annotations(produced: Produced) -> None:
    step = produced.step
    assert step.returncode == 0, step.log
    assert step.annotations("error") == []
    assert step.annotations("warning") == []


def test_produce_outputs(produced: Produced) -> None:
    out = produced.step.outputs
    ws = produced.runner.workspace
    assert set(out) == set(_action()["outputs"])
    assert out["artifacts"].splitlines() == [f"dist/{n}" for n in FIXTURES]
    assert out["sboms"].splitlines() == [
        f"dist/{n}{suffix}" for n in FIXTURES for suffix in (".cdx.json", ".spdx.json")
    ]
    assert out["bundles"].splitlines() == [f"dist/{n}.sigstore.json" for n in FIXTURES]
    assert out["attestations"].splitlines() == [
        f"dist/{n}.{kind}.sigstore.json"
        for n in FIXTURES
        for kind in ("cyclonedx", "spdx", "slsa-provenance")
    ]
    for listed in ("sboms", "bundles", "attestations"):
        for rel in out[listed].splitlines():
            assert (ws / rel).is_file(), rel
    # `sha256sum` lines, file names as subjects, as actions/attest-build-provenance reads them.
    expected = [
        f"{hashlib.sha256((ws / 'dist' / n).read_bytes()).hexdigest()}  {n}" for n in FIXTURES
    ]
    assert out["digests"].splitlines() == expected
    checksums = Path(out["subject-checksums"])
    assert checksums.is_absolute() and checksums.name == "SHA256SUMS"
    assert checksums.read_text().splitlines() == expected
    assert out["signer"].startswith("key:")
    assert out["verdict"] == "" and out["report"] == ""


def test_produce_files(produced: Produced) -> None:
    ws = produced.runner.workspace
    for name in FIXTURES:
        digest = hashlib.sha256((ws / "dist" / name).read_bytes()).hexdigest()
        cdx = json.loads((ws / "dist" / f"{name}.cdx.json").read_text())
        assert cdx["bomFormat"] == "CycloneDX"
        hashes = {h["alg"]: h["content"] for h in cdx["metadata"]["component"]["hashes"]}
        assert hashes["SHA-256"] == digest
        spdx = json.loads((ws / "dist" / f"{name}.spdx.json").read_text())
        assert spdx["spdxVersion"] == "SPDX-2.3"
        bundle = json.loads((ws / "dist" / f"{name}.sigstore.json").read_text())
        hint = bundle["verificationMaterial"]["publicKey"]["hint"]
        assert produced.step.outputs["signer"] == f"key:{hint}"
        for kind in ("cyclonedx", "spdx", "slsa-provenance"):
            att = json.loads((ws / "dist" / f"{name}.{kind}.sigstore.json").read_text())
            assert att["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"
    # The key from the secret was written to a private file and removed again.
    leftovers = list(produced.runner.temp.rglob("*.pem"))
    assert leftovers == []


def test_produce_summary(produced: Produced) -> None:
    summary = produced.step.summary
    assert summary.startswith("## sbomsign: produce")
    ws = produced.runner.workspace
    for name in FIXTURES:
        (row,) = [ln for ln in summary.splitlines() if f"<code>dist/{name}</code>" in ln]
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == ARCHES[name]
        assert re.fullmatch(r"go1\.\d+(\.\d+)?", cells[2]), cells[2]
        scan = json.loads(
            subprocess.run(
                [str(_sbomsign_exe()), "scan", "--format", "json", str(ws / "dist" / name)],
                capture_output=True,
                check=True,
            ).stdout
        )
        assert cells[3] == str(len(scan["artifacts"][0]["components"]))
        assert f"{name}.cdx.json" in cells[5] and f"{name}.spdx.json" in cells[5]
        assert f"✅ <code>{name}.sigstore.json</code>" == cells[6]
        assert cells[7] == "✅ cyclonedx, ✅ spdx, ✅ slsa-provenance"
    hint = produced.step.outputs["signer"]
    assert f"Signed by <code>{hint}</code> (managed key)." in summary


def test_slsa_provenance_describes_the_simulated_job(produced: Produced) -> None:
    import base64

    path = produced.runner.workspace / "dist" / "go-linux-amd64.slsa-provenance.sigstore.json"
    envelope = json.loads(path.read_text())["dsseEnvelope"]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    builder = statement["predicate"]["runDetails"]["builder"]["id"]
    assert builder.endswith("/.github/workflows/release.yml@refs/tags/v1.2.3")


# --------------------------------------------------------------------------------------------
# verify


def test_verify_passes_with_the_policy(produced: Produced) -> None:
    runner = produced.runner
    policy = _airgapped_policy(runner, produced.public_key)
    step = runner.run(mode="verify", artifacts="dist/*", policy=policy)
    assert step.returncode == 0, step.log
    assert step.annotations("error") == []
    assert step.outputs["verdict"] == "PASSED", step.log
    # `dist/*` matched the bundles and SBOMs too; only the artifacts were verified.
    assert step.outputs["artifacts"].splitlines() == [f"dist/{n}" for n in FIXTURES]
    report = json.loads(
        (runner.workspace / step.outputs["report"]).read_text()
        if not os.path.isabs(step.outputs["report"])
        else Path(step.outputs["report"]).read_text()
    )
    assert report["verdict"] == "PASSED"
    assert [a["verdict"] for a in report["artifacts"]] == ["PASSED"] * 3
    summary = step.summary
    assert summary.startswith("## sbomsign: verify — ✅ PASSED")
    assert "Policy <code>airgapped</code>" in summary
    for name in FIXTURES:
        assert f"### ✅ <code>dist/{name}</code> — PASSED" in summary
    assert "| <code>signature</code> | ✅ pass |" in summary
    assert "| <code>binary.nx</code> | ✅ pass |" in summary
    assert "❌" not in summary


def test_verify_refuses_a_tampered_artifact(
    produced: Produced, tmp_path_factory: pytest.TempPathFactory
) -> None:
    runner = make_runner(tmp_path_factory.mktemp("tampered"))
    shutil.copytree(
        produced.runner.workspace / "dist", runner.workspace / "dist", dirs_exist_ok=True
    )
    with (runner.workspace / "dist" / "go-linux-arm64").open("ab") as f:
        f.write(b"\0")
    policy = _airgapped_policy(runner, produced.public_key)
    step = runner.run(mode="verify", artifacts="dist/*", policy=policy)
    assert step.returncode == 1
    assert step.outputs["verdict"] == "FAILED", step.log
    (error,) = step.annotations("error")
    assert error.startswith("::error file=dist/go-linux-arm64,title=sbomsign verify%3A ")
    assert "signature does not match the artifact" in error
    assert "### ❌ <code>dist/go-linux-arm64</code> — FAILED" in step.summary
    assert "### ✅ <code>dist/go-linux-amd64</code> — PASSED" in step.summary

    # fail-on: error (and never) report the same verdict, as a warning, and let the job go on.
    lenient = runner.run(
        mode="verify", artifacts="dist/go-linux-arm64", policy=policy, fail_on="error"
    )
    assert lenient.returncode == 0, lenient.log
    assert lenient.outputs["verdict"] == "FAILED", lenient.log
    assert lenient.annotations("error") == []
    (warning,) = lenient.annotations("warning")
    assert warning.startswith("::warning file=dist/go-linux-arm64,")


def test_output_dir_and_verify_with_a_public_key(
    tmp_path_factory: pytest.TempPathFactory, signing_key: tuple[str, Path]
) -> None:
    pem, public_key = signing_key
    runner = make_runner(tmp_path_factory.mktemp("outdir"))
    made = runner.run(
        artifacts="dist/go-linux-amd64\ndist/go-linux-loong64",
        output_dir="signed",
        sign="key",
        key=pem,
        key_password=PASSWORD,
        attest="cyclonedx",
    )
    assert made.returncode == 0, made.log
    assert made.outputs["bundles"].splitlines() == [
        "signed/go-linux-amd64.sigstore.json",
        "signed/go-linux-loong64.sigstore.json",
    ]
    assert made.outputs["sboms"].splitlines() == [
        "signed/go-linux-amd64.cdx.json",
        "signed/go-linux-loong64.cdx.json",
    ]
    assert made.outputs["subject-checksums"] == "signed/SHA256SUMS"
    assert sorted(p.name for p in (runner.workspace / "dist").iterdir()) == list(FIXTURES)

    checked = runner.run(
        mode="verify",
        artifacts="dist/go-linux-amd64\ndist/go-linux-loong64",
        output_dir="signed",
        key=public_key.read_text(),
    )
    assert checked.returncode == 0, checked.log
    assert checked.outputs["verdict"] == "PASSED"
    report = json.loads((runner.workspace / checked.outputs["report"]).read_text())
    bundles = {a["bundle"] for art in report["artifacts"] for a in art["attestations"]}
    assert bundles == {
        str(runner.workspace / "signed" / "go-linux-amd64.cyclonedx.sigstore.json"),
        str(runner.workspace / "signed" / "go-linux-loong64.cyclonedx.sigstore.json"),
    }


# --------------------------------------------------------------------------------------------
# Images: signed and attested where they are stored, verified from there


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """HOST:PORT of Debian's docker-registry on 127.0.0.1 (plain HTTP, no authentication)."""
    with docker_registry(tmp_path_factory.mktemp("registry"), {}) as host:
        yield host


def push_image(registry: str, image: str, repo: str) -> str:
    """Push a test image (all platforms) with skopeo as `repo` (`REPO:TAG`); its digest as the
    registry serves it (read without sbomsign)."""
    layouts = build(ROOT / ".cache" / "images") / "oci"
    run_tool(
        "skopeo", "copy", "-q", "--all", "--dest-tls-verify=false",
        f"oci:{layouts}:{image}", f"docker://{registry}/{repo}",
    )
    return manifest(registry, repo)[1]


def manifest(registry: str, ref: str) -> tuple[dict[str, Any], str]:
    """The manifest or index at `ref` (`REPO:TAG` or `REPO@DIGEST`), and its digest."""
    repo, sep, digest = ref.partition("@")
    repo, tag = (repo, digest) if sep else repo.rsplit(":", 1)
    response = requests.get(
        f"http://{registry}/v2/{repo}/manifests/{tag}",
        headers={"Accept": MANIFEST_TYPES},
        timeout=10,
    )
    response.raise_for_status()
    return response.json(), "sha256:" + hashlib.sha256(response.content).hexdigest()


def attached(registry: str, repo: str, digest: str) -> list[str]:
    """The predicate types of the bundles attached to `digest`, from the referrers tag
    schema's index (docker-registry has no referrers API)."""
    index, _ = manifest(registry, f"{repo}@{digest.replace(':', '-')}")
    return sorted(e["annotations"]["dev.sigstore.bundle.predicateType"] for e in index["manifests"])


def image_runner(root: Path, registry: str) -> Runner:
    runner = make_runner(root)
    # What a job whose registry speaks plain HTTP puts in the step's `env:`.
    runner.base_env["SBOMSIGN_INSECURE_REGISTRIES"] = registry
    return runner


@dataclass
class ImageProduced:
    """A produce-mode run on one file and one image in the registry."""

    runner: Runner
    step: StepRun
    public_key: Path
    image: str
    digest: str


@pytest.fixture(scope="module")
def image_produced(
    tmp_path_factory: pytest.TempPathFactory, signing_key: tuple[str, Path], registry: str
) -> ImageProduced:
    pem, public_key = signing_key
    digest = push_image(registry, "distroless", "team/app:1.0")
    runner = image_runner(tmp_path_factory.mktemp("image-produce"), registry)
    image = f"registry:{registry}/team/app:1.0"
    step = runner.run(
        artifacts=f"dist/go-linux-amd64\n{image}\n{image}\n",
        sign="key",
        key=pem,
        key_password=PASSWORD,
        attest="cyclonedx",
        supplier="Organization: Example Org",
    )
    return ImageProduced(runner, step, public_key, image, digest)


def test_produce_signs_and_attests_an_image_in_a_registry(
    image_produced: ImageProduced, registry: str
) -> None:
    step, digest = image_produced.step, image_produced.digest
    assert step.returncode == 0, step.log
    assert step.annotations("error") == [] and step.annotations("warning") == []
    out = step.outputs
    assert set(out) == set(_action()["outputs"])
    # The file is handled as without images; the image (given twice) once, pinned.
    assert out["artifacts"] == "dist/go-linux-amd64"
    assert out["bundles"] == "dist/go-linux-amd64.sigstore.json"
    assert out["attestations"] == "dist/go-linux-amd64.cyclonedx.sigstore.json"
    assert out["sboms"] == "dist/go-linux-amd64.cdx.json"
    assert out["images"] == f"registry:{registry}/team/app@{digest}"
    # No SBOM or bundle file for the image: they are attached to it in the registry.
    assert sorted(p.name for p in (image_produced.runner.workspace / "dist").iterdir()) == sorted(
        [
            *FIXTURES,
            "go-linux-amd64.cdx.json",
            "go-linux-amd64.sigstore.json",
            "go-linux-amd64.cyclonedx.sigstore.json",
        ]
    )
    assert attached(registry, "team/app", digest) == [
        "https://cyclonedx.org/bom",
        "https://sigstore.dev/cosign/sign/v1",
    ]
    bundle = json.loads(
        (image_produced.runner.workspace / "dist" / "go-linux-amd64.sigstore.json").read_text()
    )
    assert out["signer"] == "key:" + bundle["verificationMaterial"]["publicKey"]["hint"]


def test_produce_summary_lists_the_image(image_produced: ImageProduced) -> None:
    summary = image_produced.step.summary
    assert "<code>dist/go-linux-amd64</code>" in summary
    assert "| image | digest | signed | attestations |" in summary
    (row,) = [ln for ln in summary.splitlines() if f"<code>{image_produced.image}</code>" in ln]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == f"<code>{image_produced.digest[:23]}…</code>"
    assert cells[2:] == ["✅", "✅ cyclonedx"]


def test_the_cli_verifies_what_the_action_attached(
    image_produced: ImageProduced, registry: str
) -> None:
    done = subprocess.run(
        [
            str(_sbomsign_exe()), "verify", "--key", str(image_produced.public_key),
            "--format", "json", image_produced.image,
        ],
        env={**os.environ, "SBOMSIGN_INSECURE_REGISTRIES": registry},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (artifact,) = json.loads(done.stdout)["artifacts"]
    assert artifact["digest"] == {"sha256": image_produced.digest.removeprefix("sha256:")}
    assert [a["predicateType"] for a in artifact["attestations"]] == ["https://cyclonedx.org/bom"]


def test_verify_mode_passes_an_image_with_the_policy(image_produced: ImageProduced) -> None:
    runner = image_produced.runner
    policy = _airgapped_policy(runner, image_produced.public_key)
    step = runner.run(
        mode="verify", artifacts=f"dist/go-linux-amd64\n{image_produced.image}", policy=policy
    )
    assert step.returncode == 0, step.log
    assert step.annotations("error") == []
    assert step.outputs["verdict"] == "PASSED"
    pinned = image_produced.step.outputs["images"]
    assert step.outputs["images"] == pinned
    assert step.outputs["artifacts"] == "dist/go-linux-amd64"
    report = json.loads(Path(step.outputs["report"]).read_text())
    assert report["verdict"] == "PASSED"
    assert [a["name"] for a in report["artifacts"]] == [
        "dist/go-linux-amd64",
        f"{image_produced.image}@{image_produced.digest}",
    ]
    assert [a["verdict"] for a in report["artifacts"]] == ["PASSED", "PASSED"]
    summary = step.summary
    assert f"### ✅ <code>{image_produced.image}</code> — PASSED" in summary
    assert f"Verified <code>{pinned}</code>." in summary
    assert "| <code>sbom.describesArtifact</code> | ✅ pass |" in summary
    assert "❌" not in summary


def test_verify_mode_fails_an_image_signed_by_another_key(
    image_produced: ImageProduced, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    subprocess.run(
        [str(_sbomsign_exe()), "keygen", "--no-password", "--output-prefix", str(other)],
        check=True,
        capture_output=True,
    )
    step = image_produced.runner.run(
        mode="verify", artifacts=image_produced.image, key=str(other) + ".pub"
    )
    assert step.returncode == 1
    assert step.outputs["verdict"] == "FAILED", step.log
    (error,) = step.annotations("error")
    # Not a file of the workspace: the annotation points at no file.
    assert error.startswith("::error title=sbomsign verify%3A registry%3A"), error
    assert "signature" in error and "unknown key" in error
    assert f"### ❌ <code>{image_produced.image}</code> — FAILED" in step.summary


def test_produce_signs_each_platform_of_an_index(
    tmp_path: Path,
    signing_key: tuple[str, Path],
    registry: str,
    image_produced: ImageProduced,
) -> None:
    pem, public_key = signing_key
    index_digest = push_image(registry, "svc", "team/svc:2.0")
    index, _ = manifest(registry, "team/svc:2.0")
    platforms = [m["digest"] for m in index["manifests"]]
    runner = image_runner(tmp_path, registry)
    image = f"registry:{registry}/team/svc:2.0"
    step = runner.run(
        artifacts=image, sign="key", key=pem, key_password=PASSWORD, attest="cyclonedx"
    )
    assert step.returncode == 0, step.log
    assert step.outputs["images"] == f"registry:{registry}/team/svc@{index_digest}"
    assert step.outputs["artifacts"] == "" and step.outputs["bundles"] == ""
    # With no file bundle to read the key's hint from, the signer is still named, as the
    # file signed with the same key in the other run named it.
    assert step.outputs["signer"] == image_produced.step.outputs["signer"]
    assert attached(registry, "team/svc", index_digest) == ["https://sigstore.dev/cosign/sign/v1"]
    for digest in platforms:
        assert attached(registry, "team/svc", digest) == [
            "https://cyclonedx.org/bom",
            "https://sigstore.dev/cosign/sign/v1",
        ]
    (row,) = [ln for ln in step.summary.splitlines() if f"<code>{image}</code>" in ln]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == f"<code>{index_digest[:23]}…</code> (index of 3 platform manifests)"
    assert cells[2:] == ["✅ index and 3 platforms", "✅ cyclonedx (3 platforms)"]
    # The index's signature verifies with the key (the SBOMs are per platform).
    checked = runner.run(mode="verify", artifacts=image, key=str(public_key))
    assert checked.returncode == 0, checked.log
    assert checked.outputs["images"] == step.outputs["images"]
    # The image policy (a signed SBOM of the image): the index answers for its signature and
    # each platform, verified with it, for its SBOM and binaries.
    (runner.workspace / "keys").mkdir()
    shutil.copy(public_key, runner.workspace / "keys" / "release.pub")
    shutil.copy(ROOT / "policies" / "image.yaml", runner.workspace / "image.yaml")
    gated = runner.run(mode="verify", artifacts=image, policy="image.yaml")
    assert gated.returncode == 0, gated.log
    assert gated.outputs["verdict"] == "PASSED"
    rows = [ln for ln in gated.summary.splitlines() if "sbom.describesArtifact" in ln]
    assert len(rows) == 3 and all("✅ pass" in row for row in rows), gated.summary


# --------------------------------------------------------------------------------------------
# Bad input: one clear annotation, and nothing done


BAD_INPUTS: dict[str, tuple[dict[str, str], str]] = {
    "empty glob": (
        {"artifacts": "dist/*.exe", "sign": "none", "attest": ""},
        "the pattern 'dist/*.exe' matched no file",
    ),
    "missing file": (
        {"artifacts": "dist/go-linux-riscv64", "sign": "none", "attest": ""},
        "dist/go-linux-riscv64: no such file",
    ),
    "missing key secret": (
        {"artifacts": "dist/*", "sign": "key", "key": ""},
        "sign is 'key' but the key input is empty",
    ),
    "policy does not exist": (
        {"mode": "verify", "artifacts": "dist/*", "policy": "policies/nope.yaml"},
        "input policy: policies/nope.yaml: no such file",
    ),
    "mode misspelt": (
        {"mode": "verfiy", "artifacts": "dist/*"},
        "input mode: 'verfiy' is not one of produce, verify; did you mean 'verify'?",
    ),
    "keyless without id-token permission": (
        {"artifacts": "dist/*"},
        "give the job `permissions: id-token: write`",
    ),
    "attest without signing": (
        {"artifacts": "dist/*", "sign": "none", "attest": "cyclonedx"},
        "attest (cyclonedx) needs signing, but sign is 'none'",
    ),
    "images without signing": (
        {"artifacts": "registry:registry.example/team/app:1.0", "sign": "none", "attest": ""},
        "artifacts names images (registry:registry.example/team/app:1.0), which are signed and "
        "attested where they are stored, but sign is 'none'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_before_any_work(case: str, tmp_path: Path) -> None:
    inputs, message = BAD_INPUTS[case]
    runner = make_runner(tmp_path)
    # NOTE: an sbomsign that records being run: nothing may run for a bad input.
    marker = tmp_path / "ran"
    fake = tmp_path / "fake-sbomsign"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {marker}\nexit 0\n')
    fake.chmod(0o755)
    runner.base_env["SBOMSIGN_ACTION_CLI"] = str(fake)
    before = sorted(p.name for p in (runner.workspace / "dist").iterdir())

    step = runner.run(**{k.replace("-", "_"): v for k, v in inputs.items()})

    assert step.returncode == 2  # a bad input, as sbomsign's usage errors
    (error,) = step.annotations("error")
    assert message.replace("%", "%25") in error.replace("%3A", ":").replace("%2C", ","), error
    assert not marker.exists()
    assert "::group::" not in step.log
    assert sorted(p.name for p in (runner.workspace / "dist").iterdir()) == before
    assert list(runner.temp.iterdir()) == []


# NOTE: keyless signing needs Fulcio, Rekor and a real OIDC token, none of which a test has;
# this stand-in for the sbomsign CLI does what the real one does on the runner's side (prints
# the identity, writes the bundles) and records its arguments and environment.
FAKE_KEYLESS_CLI = """\
import json, os, sys
from pathlib import Path

log = Path(os.environ["FAKE_LOG"])
with log.open("a") as f:
    f.write(json.dumps({"argv": sys.argv[1:], "env": sorted(os.environ)}) + "\\n")
cmd, args = sys.argv[1], sys.argv[2:]
ident = ("https://github.com/example-org/example-service/.github/workflows/release.yml"
         "@refs/tags/v1.2.3")
if cmd == "scan":
    out = args[args.index("-o") + 1]
    paths = [a for a in args if a.startswith("dist/")]
    Path(out).write_text(json.dumps({"artifacts": [
        {"path": p, "binaries": [{"arch": "x86_64", "go": {"go_version": "go1.24.1"}}],
         "components": [{}, {}]} for p in paths], "problems": []}))
elif cmd in ("sign", "attest"):
    print(f"sbomsign {cmd}: signing as {ident} (issuer "
          "https://token.actions.githubusercontent.com) with Sigstore's public instance",
          file=sys.stderr)
    image = args[-1]
    if image.startswith("registry:"):
        store = image.rsplit(":", 1)[0]
        what = "signed" if cmd == "sign" else f"attested {args[args.index('--type') + 1]} about"
        print(f"sbomsign: {what} {store}@sha256:{'a' * 64}: attached as "
              f"{store}@sha256:{'b' * 64}", file=sys.stderr)
    elif cmd == "sign":
        for p in [a for a in args if a.startswith("dist/")]:
            Path(p + ".sigstore.json").write_text("{}")
    else:
        Path(args[args.index("--bundle") + 1]).write_text("{}")
"""


@pytest.mark.parametrize("mode", ["produce", "verify"])
def test_a_malformed_image_name_fails_the_step_in_one_line(
    mode: str, tmp_path: Path, signing_key: tuple[str, Path]
) -> None:
    pem, public_key = signing_key
    runner = make_runner(tmp_path)
    if mode == "produce":
        step = runner.run(
            artifacts="registry:nohost", sign="key", key=pem, key_password=PASSWORD
        )
    else:
        step = runner.run(mode="verify", artifacts="registry:nohost", key=str(public_key))
    assert step.returncode == 1
    (error,) = step.annotations("error")
    message = error.split("::", 2)[2]
    # What sbomsign says about the name, on one line, and no file of the workspace blamed.
    assert "registry:nohost" in message and "expected registry:HOST" in message, error
    assert "%0A" not in message and "file=" not in error
    assert "Traceback" not in step.log
    assert step.outputs["images"] == ""
    if mode == "verify":
        assert step.outputs["verdict"] == "ERROR"
        assert "### ⚠️ <code>registry:nohost</code> — ERROR" in step.summary


def keyless_runner(root: Path, **env: str) -> tuple[Runner, Path]:
    """A runner whose sbomsign is `FAKE_KEYLESS_CLI`, and the file it records its calls in."""
    runner = make_runner(root)
    fake = root / "fake-sbomsign"
    fake.write_text(f"#!{sys.executable}\n{FAKE_KEYLESS_CLI}")
    fake.chmod(0o755)
    calls = root / "calls.jsonl"
    runner.base_env.update(SBOMSIGN_ACTION_CLI=str(fake), FAKE_LOG=str(calls), **env)
    return runner, calls


def test_keyless_summary_names_the_identity(tmp_path: Path) -> None:
    runner, calls = keyless_runner(
        tmp_path,
        # What `permissions: id-token: write` gives a job.
        ACTIONS_ID_TOKEN_REQUEST_URL="https://token.actions.example/",
        ACTIONS_ID_TOKEN_REQUEST_TOKEN="bearer",
        # A stray option default in the job's environment must not reach sbomsign.
        SBOMSIGN_KEY="/somewhere/else.key",
    )
    step = runner.run(artifacts="dist/go-linux-amd64", sbom_formats="", attest="slsa-provenance")
    assert step.returncode == 0, step.log
    identity = (
        "https://github.com/example-org/example-service/.github/workflows/release.yml"
        "@refs/tags/v1.2.3"
    )
    assert step.outputs["signer"] == identity
    assert step.outputs["bundles"] == "dist/go-linux-amd64.sigstore.json"
    assert step.outputs["attestations"] == "dist/go-linux-amd64.slsa-provenance.sigstore.json"
    assert (
        f"Signed by <code>{identity}</code> (keyless, issuer "
        "https://token.actions.githubusercontent.com, Sigstore&#x27;s public instance)."
    ) in step.summary
    recorded = [json.loads(line) for line in calls.read_text().splitlines()]
    assert [c["argv"][0] for c in recorded] == ["scan", "sign", "attest"]
    assert recorded[1]["argv"] == ["sign", "dist/go-linux-amd64"]
    for call in recorded:
        assert "SBOMSIGN_KEY" not in call["env"]
        assert not [k for k in call["env"] if k.startswith("INPUT_")]
        assert "ACTIONS_ID_TOKEN_REQUEST_TOKEN" in call["env"]


def test_keyless_images_are_signed_like_files(tmp_path: Path) -> None:
    runner, calls = keyless_runner(
        tmp_path,
        SIGSTORE_ID_TOKEN="eyJ.fake.token",
        SBOMSIGN_INSECURE_REGISTRIES="registry.example:5000",
    )
    image = "registry:registry.example:5000/team/app:1.0"
    step = runner.run(
        artifacts=f"{image}\ndist/go-linux-amd64",
        sbom_formats="",
        attest="cyclonedx, slsa-provenance",
        supplier="Organization: Example Org",
        overwrite="true",
    )
    assert step.returncode == 0, step.log
    recorded = [json.loads(line)["argv"] for line in calls.read_text().splitlines()]
    # The files first, as without images; then the image, keyless, with no --overwrite (a
    # referrer is added, never replaced) and the supplier for the SBOM attestation only.
    assert [c for c in recorded if image in c] == [
        ["sign", "--recursive", image],
        ["attest", "--recursive", "--type", "cyclonedx", "--supplier",
         "Organization: Example Org", image],
        ["attest", "--recursive", "--type", "slsa-provenance", image],
    ]
    assert [c[0] for c in recorded] == ["scan", "sign", "attest", "attest", "sign", "attest",
                                        "attest"]
    env = json.loads(calls.read_text().splitlines()[-1])["env"]
    assert "SBOMSIGN_INSECURE_REGISTRIES" in env
    assert step.outputs["images"] == f"registry:registry.example:5000/team/app@sha256:{'a' * 64}"
    assert step.outputs["signer"].startswith("https://github.com/example-org/")
    (row,) = [ln for ln in step.summary.splitlines() if f"<code>{image}</code>" in ln]
    assert row.endswith("| ✅ | ✅ cyclonedx, ✅ slsa-provenance |"), row


def test_existing_bundle_is_refused_before_signing(tmp_path: Path) -> None:
    runner = make_runner(tmp_path)
    (runner.workspace / "dist" / "go-linux-arm64.sigstore.json").write_text("{}")
    step = runner.run(
        artifacts="dist/go-linux-arm64",
        sign="key",
        key="-----BEGIN PRIVATE KEY-----\nMC4=\n-----END PRIVATE KEY-----",
    )
    assert step.returncode == 2
    (error,) = step.annotations("error")
    assert "go-linux-arm64.sigstore.json: already exists (set overwrite to true" in error
    assert "::group::" not in step.log


def test_a_non_binary_fails_produce_before_anything_is_written(tmp_path: Path) -> None:
    runner = make_runner(tmp_path)
    (runner.workspace / "dist" / "notes.txt").write_text("release notes\n")
    step = runner.run(artifacts="dist/*", sign="none", attest="")
    assert step.returncode == 1
    (error,) = step.annotations("error")
    assert error.startswith("::error file=dist/notes.txt,")
    assert "not an ELF, PE or Mach-O file" in error
    assert sorted(p.name for p in (runner.workspace / "dist").iterdir()) == sorted(
        [*FIXTURES, "notes.txt"]
    )


# --------------------------------------------------------------------------------------------
# action.yml hygiene


def _run_scripts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                yield value
            else:
                yield from _run_scripts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _run_scripts(item)


def test_no_expression_in_any_run_script() -> None:
    scripts = list(_run_scripts(_action()))
    assert scripts
    for script in scripts:
        assert "${{" not in script, script


def test_every_input_reaches_the_script_through_env_only() -> None:
    action = _action()
    steps = action["runs"]["steps"]
    (step,) = [s for s in steps if s.get("id") == "sbomsign"]
    passed = {
        m.group(1).removeprefix("inputs."): key
        for key, value in step["env"].items()
        if (m := EXPR.fullmatch(str(value))) and m.group(1).startswith("inputs.")
    }
    # python-version goes to actions/setup-python's `with:`, the only other use of an input.
    assert set(passed) | {"python-version"} == set(action["inputs"])
    for name, key in passed.items():
        assert key == "INPUT_" + name.upper().replace("-", "_")
    other_uses = [
        (s.get("name"), k, v)
        for s in steps
        for k, v in (s.get("with") or {}).items()
        if "inputs." in str(v)
    ]
    assert other_uses == [
        ("Set up Python for sbomsign", "python-version", "${{ inputs.python-version }}")
    ]


def test_actions_are_pinned_by_commit() -> None:
    for step in _action()["runs"]["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


def test_outputs_match_the_script() -> None:
    action = _action()
    assert set(action["outputs"]) == set(ci_record.outputs(_empty_record()))
    for name, spec in action["outputs"].items():
        assert spec["value"] == f"${{{{ steps.sbomsign.outputs.{name} }}}}"


def test_inputs_are_documented_with_defaults() -> None:
    action = _action()
    section = README_SECTION.read_text()
    for name, spec in action["inputs"].items():
        assert spec.get("description"), name
        if not spec.get("required"):
            assert "default" in spec, name
            default = str(spec["default"])
            row = next((ln for ln in section.splitlines() if ln.startswith(f"| `{name}` |")), None)
            assert row is not None, f"input {name} missing from {README_SECTION.name}"
            assert (f"`{default}`" if default else "`''`") in row, (name, row)
    for name in action["outputs"]:
        assert f"| `{name}` |" in section, f"output {name} missing from {README_SECTION.name}"


def _empty_record() -> Any:
    inputs = ci_common.Inputs(
        mode="produce",
        workspace=ROOT,
        artifacts=(),
        sbom_formats=(),
        output_dir=None,
        sign="none",
        key=(),
        key_password="",
        attest=(),
        supplier="",
        author="",
        overwrite=False,
        policy=None,
        trusted_root=None,
        certificate_identity="",
        certificate_identity_regexp="",
        certificate_oidc_issuer="",
        fail_on="failed",
    )
    return ci_record.Record(inputs, [])


# --------------------------------------------------------------------------------------------
# The runner script's pieces


def test_heredoc_cannot_be_ended_early_by_a_value() -> None:
    hostile = "x\nEOF\nverdict=PASSED\nghadelimiter_x"
    text = ci_github.heredoc("digests", hostile) + ci_github.heredoc("verdict", "FAILED")
    assert parse_github_output(text) == {"digests": hostile, "verdict": "FAILED"}


def test_workflow_command_escaping() -> None:
    assert ci_github.escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert ci_github.escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_tool_output_cannot_issue_workflow_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with GITHUB.untrusted_output() as out:
        out.write("::set-env name=X::y\n")
    lines = capsys.readouterr().out.splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert len(token) == 32 and lines == [
        f"::stop-commands::{token}",
        "::set-env name=X::y",
        f"::{token}::",
    ]


def test_child_env_drops_inputs_and_stray_option_defaults() -> None:
    env = ci_runner.child_env(
        {
            "PATH": "/bin",
            "INPUT_KEY": "-----BEGIN",
            "INPUT_KEY_PASSWORD": "pw",
            "SBOMSIGN_KEY": "other.key",
            "SBOMSIGN_POLICY": "x.yaml",
            "SBOMSIGN_PKCS11_PIN": "1234",
            "SBOMSIGN_INSECURE_REGISTRIES": "127.0.0.1:5000",
            "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token",
        }
    )
    assert env == {
        "PATH": "/bin",
        "SBOMSIGN_PKCS11_PIN": "1234",
        "SBOMSIGN_INSECURE_REGISTRIES": "127.0.0.1:5000",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token",
    }


def test_glob_expansion(tmp_path: Path) -> None:
    (tmp_path / "dist" / "sub").mkdir(parents=True)
    for name in (
        "a",
        "b",
        "a.cdx.json",
        "a.sigstore.json",
        "SHA256SUMS",
        "sbomsign-verify.json",
        "sub/c",
        "b.debug",
    ):
        (tmp_path / "dist" / name).write_text(name)
    problems: list[Any] = []
    found = ci_inputs.expand_artifacts("dist/**\n!dist/*.debug\ndist/a\n", tmp_path, problems)
    assert problems == []
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["dist/a", "dist/b", "dist/sub/c"]
    found = ci_inputs.expand_artifacts("dist/*.json", tmp_path, problems)
    assert found == []
    assert [p.message for p in problems] == [
        "artifacts: the pattern 'dist/*.json' matched only sbomsign's own output files"
    ]


def test_image_lines_are_kept_apart_from_files(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "app").write_text("app")
    value = (
        "registry:registry.example/team/app:1.0\n"
        "dist/*\n"
        "  oci-archive:build/app.tar:1.0  \n"
        "registry:registry.example/team/app:1.0\n"
        "oci-dir:build/oci*\n"
    )
    problems: list[Any] = []
    files = ci_inputs.expand_artifacts(value, tmp_path, problems)
    assert problems == []
    assert [p.relative_to(tmp_path).as_posix() for p in files] == ["dist/app"]
    # In order, duplicates dropped, no glob expanded.
    assert ci_inputs.image_names(value) == [
        "registry:registry.example/team/app:1.0",
        "oci-archive:build/app.tar:1.0",
        "oci-dir:build/oci*",
    ]
    # A run of images alone is not an empty one.
    inputs = ci_inputs.read_inputs(
        system=GITHUB,
        env={
            "GITHUB_WORKSPACE": str(tmp_path),
            "INPUT_ARTIFACTS": "registry:registry.example/team/app:1.0\n",
            "INPUT_SIGN": "key",
            "INPUT_KEY": "-----BEGIN PRIVATE KEY-----\nMC4=\n-----END PRIVATE KEY-----",
        }
    )
    assert inputs.artifacts == ()
    assert inputs.images == ("registry:registry.example/team/app:1.0",)


def test_image_store_drops_the_tag_or_digest(tmp_path: Path) -> None:
    (tmp_path / "odd:name").mkdir()
    for name in ("registry:h:5000/team/app:1.0", "registry:h:5000/team/app"):
        assert ci_verify.image_store(name, tmp_path) == "registry:h:5000/team/app"
    assert (
        ci_verify.image_store(f"registry:h/team/app@sha256:{'0' * 64}", tmp_path)
        == "registry:h/team/app"
    )
    assert ci_verify.image_store("oci-archive:build/app.tar:1.0", tmp_path) == (
        "oci-archive:build/app.tar"
    )
    # A `:` that is part of an existing layout's path is no tag.
    assert ci_verify.image_store("oci-dir:odd:name", tmp_path) == "oci-dir:odd:name"


def test_duplicate_file_names_are_refused(tmp_path: Path) -> None:
    for arch in ("amd64", "arm64"):
        (tmp_path / arch).mkdir()
        (tmp_path / arch / "svc").write_text(arch)
    with pytest.raises(ci_common.Failed) as e:
        ci_inputs.read_inputs(
            system=GITHUB,
            env={
                "GITHUB_WORKSPACE": str(tmp_path),
                "INPUT_ARTIFACTS": "*/svc",
                "INPUT_SIGN": "none",
                "INPUT_SBOM_FORMATS": "",
                "INPUT_ATTEST": "",
            }
        )
    (problem,) = e.value.problems
    assert problem.message == (
        "artifacts: amd64/svc and arm64/svc have the same file name; name them apart"
    )


def test_verify_key_must_be_public(tmp_path: Path, signing_key: tuple[str, Path]) -> None:
    pem, _ = signing_key
    (tmp_path / "app").write_text("x")
    with pytest.raises(ci_common.Failed) as e:
        ci_inputs.read_inputs(
            system=GITHUB,
            env={
                "GITHUB_WORKSPACE": str(tmp_path),
                "INPUT_MODE": "verify",
                "INPUT_ARTIFACTS": "app",
                "INPUT_KEY": pem,
            }
        )
    assert [p.title for p in e.value.problems] == ["sbomsign: bad input key"]


def test_install_from_the_hash_pinned_requirements(tmp_path: Path) -> None:
    exe = ci_github.install(ROOT, tmp_path)
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("sbomsign ")
    assert ci_github.install(ROOT, tmp_path) == exe  # reused, not reinstalled
