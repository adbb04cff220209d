"""`sbomsign sign` and `sbomsign attest` keyless, end to end against the local Sigstore instance.

The identity token comes from SIGSTORE_ID_TOKEN or from a simulated GitHub Actions job (the
runner's token endpoint served by the instance); the bundles sbomsign writes are checked with
sigstore-python's own verifier. When the CA refuses or the log is down or slow, sbomsign must
exit 3 with a one-line error and write no bundle.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore.models import Bundle, ClientTrustConfig
from sigstore.verify import Verifier, policy

from sbomsign._cli import main
from tests.sigstore_local import GitHubWorkflow, LocalSigstore, _crypto

ASSETS = Path(__file__).resolve().parents[1] / "assets"
GO_BINARY = ASSETS / "bin" / "go-linux-loong64"
ALICE = "alice@example.com"

# Every variable through which a token or a CI could be found; a test sets only its own.
_CREDENTIAL_ENV = (
    "SIGSTORE_ID_TOKEN",
    "SBOMSIGN_IDENTITY_TOKEN",
    "SBOMSIGN_TRUST_CONFIG",
    "GITHUB_ACTIONS",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "GOOGLE_SERVICE_ACCOUNT_NAME",
)


@pytest.fixture(autouse=True)
def no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever runs the tests (a CI, a developer with a token) must not leak in."""
    for name in _CREDENTIAL_ENV:
        monkeypatch.delenv(name, raising=False)


def sbomsign(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Run the command line in-process; (exit code, stderr)."""
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().err


def artifacts(directory: Path, n: int) -> list[Path]:
    """`n` distinct small files to sign."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = directory / f"artifact-{i}.bin"
        path.write_bytes(f"release artifact {i}\n".encode() * 100)
        paths.append(path)
    return paths


def config_of(instance: LocalSigstore) -> ClientTrustConfig:
    """The trust config sbomsign was given, as sigstore-python reads it."""
    return ClientTrustConfig.from_json(instance.trust_config_path.read_text())


def verify_artifact(instance: LocalSigstore, path: Path, bundle: Path, who: Any) -> None:
    """sigstore-python's verification of `bundle` for `path` (raises if it fails)."""
    verifier = Verifier(trusted_root=config_of(instance).trusted_root)
    verifier.verify_artifact(path.read_bytes(), Bundle.from_json(bundle.read_bytes()), who)


def leaf(bundle: Path) -> x509.Certificate:
    """The signing certificate of a bundle."""
    raw = json.loads(bundle.read_text())["verificationMaterial"]["certificate"]["rawBytes"]
    return x509.load_der_x509_certificate(base64.b64decode(raw))


def alice(instance: LocalSigstore) -> policy.Identity:
    """Policy: signed by alice through the instance's people issuer."""
    return policy.Identity(identity=ALICE, issuer=instance.issuer)


def assert_one_error_line(stderr: str, command: str) -> str:
    """The single `sbomsign <command>: error: ...` line of `stderr` (no traceback)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(f"sbomsign {command}: error: ")]
    assert len(errors) == 1, stderr
    assert not any("Traceback" in line for line in lines), stderr
    # NOTE: the only other line allowed is the notice saying who is signing.
    assert all(line in errors or " signing as " in line for line in lines), stderr
    return errors[0]


# -- success -----------------------------------------------------------------------------------


def test_sign_with_token_from_environment(
    sigstore_local: LocalSigstore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (path,) = artifacts(tmp_path, 1)
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", sigstore_local.email_token(ALICE))
    cfg = str(sigstore_local.trust_config_path)
    code, err = sbomsign(capsys, "sign", str(path), "--trust-config", cfg)
    assert code == 0, err
    bundle = path.with_name(path.name + ".sigstore.json")
    verify_artifact(sigstore_local, path, bundle, alice(sigstore_local))
    # and sbomsign's own verify agrees
    code, err = sbomsign(
        capsys,
        "verify",
        str(path),
        "--trusted-root",
        str(sigstore_local.trusted_root_path),
        "--certificate-identity",
        ALICE,
        "--certificate-oidc-issuer",
        sigstore_local.issuer,
    )
    assert code == 0, err


def test_several_artifacts_share_one_certificate(
    sigstore_local: LocalSigstore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paths = artifacts(tmp_path, 4)
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", sigstore_local.email_token(ALICE, alg="RS256"))
    issued = len(sigstore_local.fulcio.issued)
    cfg = str(sigstore_local.trust_config_path)
    code, err = sbomsign(capsys, "sign", *map(str, paths), "--trust-config", cfg)
    assert code == 0, err
    bundles = [p.with_name(p.name + ".sigstore.json") for p in paths]
    certs = {leaf(b) for b in bundles}
    assert len(certs) == 1, "each run must use one certificate for all its artifacts"
    assert len(sigstore_local.fulcio.issued) == issued + 1
    indexes = set()
    for path, bundle in zip(paths, bundles, strict=True):
        verify_artifact(sigstore_local, path, bundle, alice(sigstore_local))
        indexes.add(
            json.loads(bundle.read_text())["verificationMaterial"]["tlogEntries"][0]["logIndex"]
        )
    assert len(indexes) == len(paths)


@pytest.fixture
def workflow(sigstore_local: LocalSigstore) -> Iterator[GitHubWorkflow]:
    """The job the instance's runner endpoint mints tokens for (restored afterwards)."""
    saved = sigstore_local.oidc.actions_workflow
    job = dataclasses.replace(
        saved,
        repository="octo-org/sbomsign-demo",
        ref="refs/tags/v2.0.0",
        ref_type="tag",
        event_name="push",
        workflow_path=".github/workflows/release.yml",
    )
    sigstore_local.oidc.actions_workflow = job
    try:
        yield job
    finally:
        sigstore_local.oidc.actions_workflow = saved


def test_sign_with_github_actions_ambient_credential(
    sigstore_local: LocalSigstore,
    workflow: GitHubWorkflow,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (path,) = artifacts(tmp_path, 1)
    for name, value in sigstore_local.actions_env().items():
        monkeypatch.setenv(name, value)
    cfg = str(sigstore_local.trust_config_path)
    code, err = sbomsign(capsys, "sign", str(path), "--trust-config", cfg)
    # NOTE: the runner endpoint mints for the audience asked; the CA only takes `sigstore`,
    # so success also shows sbomsign asked for audience=sigstore.
    assert code == 0, err
    repo = f"https://github.com/{workflow.repository}"
    who = policy.AllOf(
        [
            policy.Identity(identity=workflow.signer_identity, issuer=sigstore_local.github_issuer),
            policy.OIDCSourceRepositoryURI(repo),
            policy.OIDCSourceRepositoryRef("refs/tags/v2.0.0"),
            policy.OIDCBuildSignerURI(f"{repo}/.github/workflows/release.yml@refs/tags/v2.0.0"),
            policy.OIDCRunnerEnvironment("github-hosted"),
            policy.OIDCBuildTrigger("push"),
        ]
    )
    verify_artifact(sigstore_local, path, path.with_name(path.name + ".sigstore.json"), who)


def test_attest_cyclonedx_on_a_go_binary(
    sigstore_local: LocalSigstore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    binary = tmp_path / GO_BINARY.name
    shutil.copyfile(GO_BINARY, binary)
    out = tmp_path / "go.cdx.sigstore.json"
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", sigstore_local.email_token(ALICE))
    code, err = sbomsign(
        capsys,
        "attest",
        "--type",
        "cyclonedx",
        str(binary),
        "--bundle",
        str(out),
        "--trust-config",
        str(sigstore_local.trust_config_path),
    )
    assert code == 0, err
    verifier = Verifier(trusted_root=config_of(sigstore_local).trusted_root)
    payload_type, payload = verifier.verify_dsse(
        Bundle.from_json(out.read_bytes()), alice(sigstore_local)
    )
    assert payload_type == "application/vnd.in-toto+json"
    statement = json.loads(payload)
    assert statement["predicateType"].startswith("https://cyclonedx.org/bom")
    digests = [s["digest"]["sha256"] for s in statement["subject"]]
    assert hashlib.sha256(binary.read_bytes()).hexdigest() in digests
    assert statement["predicate"]["bomFormat"] == "CycloneDX"
    entry = json.loads(out.read_text())["verificationMaterial"]["tlogEntries"][0]
    assert entry["kindVersion"] == {"kind": "dsse", "version": "0.0.1"}


# -- failures: exit 3, one line, no bundle -------------------------------------------------------


def _foreign_signed(instance: LocalSigstore) -> str:
    # Right issuer, key ID and claims; signed by a key the issuer never published.
    header, claims, _, _ = _crypto.jws_parts(instance.email_token(ALICE))
    return _crypto.jws_sign(claims, ec.generate_private_key(ec.SECP256R1()), header["kid"])


REFUSED = {
    "signed by an unknown key": _foreign_signed,
    "email not verified": lambda i: i.email_token(ALICE, verified=False),
    "expired": lambda i: i.email_token(ALICE, issued_at=int(time.time()) - 3600),
    "wrong audience": lambda i: i.email_token(ALICE, audience="elsewhere"),
}


@pytest.mark.parametrize("make", REFUSED.values(), ids=REFUSED.keys())
def test_refused_token_exits_3_without_bundle(
    sigstore_local: LocalSigstore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    make: Any,
) -> None:
    (path,) = artifacts(tmp_path, 1)
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", make(sigstore_local))
    issued = len(sigstore_local.fulcio.issued)
    cfg = str(sigstore_local.trust_config_path)
    code, err = sbomsign(capsys, "sign", str(path), "--trust-config", cfg)
    assert code == 3, err
    assert_one_error_line(err, "sign")
    assert not path.with_name(path.name + ".sigstore.json").exists()
    assert len(sigstore_local.fulcio.issued) == issued


def test_runner_refusing_the_request_token_exits_3(
    sigstore_local: LocalSigstore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (path,) = artifacts(tmp_path, 1)
    for name, value in sigstore_local.actions_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "not-the-runner-token")
    cfg = str(sigstore_local.trust_config_path)
    code, err = sbomsign(capsys, "sign", str(path), "--trust-config", cfg)
    assert code == 3, err
    assert_one_error_line(err, "sign")
    assert not path.with_name(path.name + ".sigstore.json").exists()


@pytest.fixture
def own_instance(tmp_path: Path) -> Iterator[LocalSigstore]:
    """An instance of the test's own, for breaking it."""
    with LocalSigstore(tmp_path / "instance") as instance:
        yield instance


def test_log_down_exits_3_without_bundle(
    own_instance: LocalSigstore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paths = artifacts(tmp_path / "work", 2)
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", own_instance.email_token(ALICE))
    own_instance.rekor.stop()
    began = time.monotonic()
    cfg = str(own_instance.trust_config_path)
    code, err = sbomsign(capsys, "sign", *map(str, paths), "--trust-config", cfg)
    assert code == 3, err
    assert time.monotonic() - began < 5.0
    line = assert_one_error_line(err, "sign")
    assert "Rekor" in line
    assert not any(p.with_name(p.name + ".sigstore.json").exists() for p in paths)


def test_attest_with_log_down_exits_3_without_bundle(
    own_instance: LocalSigstore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    binary = tmp_path / GO_BINARY.name
    shutil.copyfile(GO_BINARY, binary)
    out = tmp_path / "go.cdx.sigstore.json"
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", own_instance.email_token(ALICE))
    own_instance.rekor.stop()
    code, err = sbomsign(
        capsys,
        "attest",
        "--type",
        "cyclonedx",
        str(binary),
        "--bundle",
        str(out),
        "--trust-config",
        str(own_instance.trust_config_path),
    )
    assert code == 3, err
    assert_one_error_line(err, "attest")
    assert not out.exists()


def test_ca_down_exits_3_without_bundle(
    own_instance: LocalSigstore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (path,) = artifacts(tmp_path / "work", 1)
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", own_instance.email_token(ALICE))
    own_instance.fulcio.stop()
    cfg = str(own_instance.trust_config_path)
    code, err = sbomsign(capsys, "sign", str(path), "--trust-config", cfg)
    assert code == 3, err
    assert "Fulcio" in assert_one_error_line(err, "sign")
    assert not path.with_name(path.name + ".sigstore.json").exists()


def test_slow_log_times_out_and_exits_3(
    own_instance: LocalSigstore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # sbomsign waits READ_TIMEOUT (60 s) for the log; shortened here to keep the test fast.
    monkeypatch.setattr("sbomsign._internal.sigstore.sign.READ_TIMEOUT", 1.0)
    (path,) = artifacts(tmp_path / "work", 1)
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", own_instance.email_token(ALICE))
    own_instance.rekor.faults.delay = 30.0
    began = time.monotonic()
    cfg = str(own_instance.trust_config_path)
    code, err = sbomsign(capsys, "sign", str(path), "--trust-config", cfg)
    elapsed = time.monotonic() - began
    assert code == 3, err
    assert elapsed < 5.0, f"took {elapsed:.1f}s against a 1 s read timeout"
    assert "timed out" in assert_one_error_line(err, "sign")
    assert not path.with_name(path.name + ".sigstore.json").exists()
