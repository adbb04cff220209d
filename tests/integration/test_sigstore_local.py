"""The local Sigstore instance is faithful: sigstore-python signs through it unchanged, and
sigstore-python's own verifier accepts the result and rejects every tampered piece.

Also: the CA and the log refuse bad input, the log survives a restart, and a slow or dead
service makes the client fail in bounded time (once the client bounds its waits).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from requests.adapters import HTTPAdapter
from sigstore import dsse
from sigstore._internal.fulcio.client import FulcioClient, FulcioClientError
from sigstore._internal.rekor import RekorClientError
from sigstore._internal.rekor.checkpoint import SignedCheckpoint
from sigstore._internal.rekor.client import RekorClient
from sigstore._internal.trust import KeyringPurpose
from sigstore._utils import KeyID
from sigstore.errors import Error as SigstoreError
from sigstore.errors import VerificationError
from sigstore.models import Bundle, ClientTrustConfig, TransparencyLogEntry
from sigstore.oidc import IdentityToken, detect_credential
from sigstore.sign import SigningContext
from sigstore.verify import Verifier, policy

from tests.sigstore_local import GitHubWorkflow, LocalSigstore, _crypto, merkle

ALICE = "alice@example.com"
ARTIFACT = b"sbomsign release artifact\n" * 64


# -- helpers -----------------------------------------------------------------------------------


def trust_config(instance: LocalSigstore) -> ClientTrustConfig:
    """The instance's client trust config, read back from the file it wrote."""
    return ClientTrustConfig.from_json(instance.trust_config_path.read_text())


def statement_for(data: bytes) -> dsse.Statement:
    """An in-toto statement about `data`."""
    return (
        dsse.StatementBuilder()
        .subjects(
            [
                dsse.Subject.model_validate(
                    {"name": "artifact.bin", "digest": {"sha256": hashlib.sha256(data).hexdigest()}}
                )
            ]
        )
        .predicate_type("https://cyclonedx.org/bom")
        .predicate({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []})
        .build()
    )


def alice(instance: LocalSigstore) -> policy.Identity:
    """Policy: signed by alice through the instance's people issuer."""
    return policy.Identity(identity=ALICE, issuer=instance.issuer)


def leaf_of(bundle_json: str) -> x509.Certificate:
    """The signing certificate in a bundle."""
    raw = json.loads(bundle_json)["verificationMaterial"]["certificate"]["rawBytes"]
    return x509.load_der_x509_certificate(base64.b64decode(raw))


class BoundedTimeout(HTTPAdapter):
    """Gives every request of a session a timeout, as a careful caller of sigstore-python must:
    its Fulcio and Rekor clients pass none."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__(max_retries=0)
        self.timeout = timeout

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def bound(session: requests.Session, timeout: tuple[float, float]) -> None:
    """Mount `BoundedTimeout` on a session."""
    session.mount("http://", BoundedTimeout(timeout))


@dataclass
class Signed:
    """Bundles made through the session instance."""

    config: ClientTrustConfig
    artifact_bundle: str
    dsse_bundle: str
    statement: dsse.Statement
    other_artifact_bundle: str
    """Another signing of ARTIFACT by alice: a different, equally valid certificate."""
    github_bundle: str
    workflow: GitHubWorkflow


@pytest.fixture(scope="module")
def signed(sigstore_local: LocalSigstore) -> Signed:
    """Sign ARTIFACT and a statement as alice, ARTIFACT again, and ARTIFACT as a workflow."""
    config = trust_config(sigstore_local)
    context = SigningContext.from_trust_config(config)
    statement = statement_for(ARTIFACT)
    with context.signer(IdentityToken(sigstore_local.email_token(ALICE))) as signer:
        # NOTE: an entry logged first, so that the ones under test have non-empty proofs.
        signer.sign_artifact(b"first entry")
        artifact_bundle = signer.sign_artifact(ARTIFACT).to_json()
        dsse_bundle = signer.sign_dsse(statement).to_json()
    with context.signer(IdentityToken(sigstore_local.email_token(ALICE, alg="RS256"))) as signer:
        other = signer.sign_artifact(ARTIFACT).to_json()
    workflow = GitHubWorkflow(
        repository="octo-org/octo-repo",
        ref="refs/tags/v1.2.3",
        ref_type="tag",
        event_name="release",
        job_workflow_ref="octo-org/shared/.github/workflows/sign.yml@refs/heads/main",
        job_workflow_sha="0123456789abcdef0123456789abcdef01234567",
        repository_visibility="private",
    )
    with context.signer(IdentityToken(sigstore_local.github_token(workflow))) as signer:
        github_bundle = signer.sign_artifact(ARTIFACT).to_json()
    return Signed(config, artifact_bundle, dsse_bundle, statement, other, github_bundle, workflow)


def verify_artifact(config: ClientTrustConfig, bundle_json: str, data: bytes, who: Any) -> None:
    """sigstore-python's verification of an artifact bundle (raises if it fails)."""
    Verifier(trusted_root=config.trusted_root).verify_artifact(
        data, Bundle.from_json(bundle_json), who
    )


def verify_dsse(config: ClientTrustConfig, bundle_json: str, who: Any) -> tuple[str, bytes]:
    """sigstore-python's verification of a DSSE bundle (raises if it fails)."""
    return Verifier(trusted_root=config.trusted_root).verify_dsse(
        Bundle.from_json(bundle_json), who
    )


# -- the instance ------------------------------------------------------------------------------


def test_starts_fast_and_writes_the_trust_files(tmp_path: Path) -> None:
    began = time.monotonic()
    with LocalSigstore(tmp_path / "fresh") as instance:
        elapsed = time.monotonic() - began
        assert elapsed < 3.0, f"fresh instance took {elapsed:.2f}s to start"
        root = json.loads(instance.trusted_root_path.read_text())
        signing = json.loads(instance.signing_config_path.read_text())
        client = json.loads(instance.trust_config_path.read_text())
        assert root["mediaType"] == "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
        assert signing["mediaType"] == "application/vnd.dev.sigstore.signingconfig.v0.2+json"
        assert client["mediaType"] == "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
        assert client["trustedRoot"] == root and client["signingConfig"] == signing

        config = trust_config(instance)
        context = SigningContext.from_trust_config(config)
        assert isinstance(context._rekor, RekorClient)  # the v1 client
        assert context._fulcio.url == instance.fulcio.url
        assert config.signing_config.get_oidc_url() == instance.issuer
        state = json.loads(instance.state_path.read_text())
        assert state["rekor_url"] == instance.rekor.url
        for url in (
            instance.issuer,
            instance.github_issuer,
            instance.fulcio.url,
            instance.rekor.url,
        ):
            assert url.startswith("http://127.0.0.1:")


def test_listens_on_loopback_only(tmp_path: Path) -> None:
    # Anyone who reaches the instance can mint tokens, so it must not be exposed.
    for host in ("0.0.0.0", "192.0.2.1", "::1"):
        with pytest.raises(ValueError):
            LocalSigstore(tmp_path, host=host)


def test_command_line_serves_until_terminated(tmp_path: Path) -> None:
    directory = tmp_path / "cli"
    cmd = [sys.executable, "-m", "tests.sigstore_local", "--dir", str(directory)]
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [*cmd, "--token", ALICE],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("started in"):
                break
        out = "".join(lines)
        assert "client trust config:" in out, out
        state = json.loads((directory / "instance.json").read_text())
        token = requests.get(
            state["mint_url"], params={"email": "bob@example.com"}, timeout=10
        ).text
        assert IdentityToken(token.strip()).issuer == state["oidc_issuer"]
        assert f"{ALICE}: ey" in out
        ClientTrustConfig.from_json((directory / "trust_config.json").read_text())
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    # --print-env restarts on the same directory (same ports) and prints shell assignments.
    env_out = subprocess.run(
        [*cmd, "--print-env"], cwd=root, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert f"export SIGSTORE_LOCAL_ISSUER={state['oidc_issuer']}" in env_out
    assert "export GITHUB_ACTIONS=true" in env_out


def test_oidc_discovery_and_jwks(sigstore_local: LocalSigstore) -> None:
    for issuer in (sigstore_local.issuer, sigstore_local.github_issuer):
        doc = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=5).json()
        assert doc["issuer"] == issuer
        keys = requests.get(doc["jwks_uri"], timeout=5).json()["keys"]
        assert {k["alg"] for k in keys} == {"RS256", "ES256"}


# -- acceptance: sigstore-python's verifier accepts --------------------------------------------


def test_verifier_accepts_artifact_bundle(sigstore_local: LocalSigstore, signed: Signed) -> None:
    verify_artifact(signed.config, signed.artifact_bundle, ARTIFACT, alice(sigstore_local))
    verify_artifact(signed.config, signed.other_artifact_bundle, ARTIFACT, alice(sigstore_local))
    body = json.loads(
        base64.b64decode(
            json.loads(signed.artifact_bundle)["verificationMaterial"]["tlogEntries"][0][
                "canonicalizedBody"
            ]
        )
    )
    assert body["kind"] == "hashedrekord"


def test_verifier_accepts_dsse_bundle(sigstore_local: LocalSigstore, signed: Signed) -> None:
    payload_type, payload = verify_dsse(signed.config, signed.dsse_bundle, alice(sigstore_local))
    assert payload_type == "application/vnd.in-toto+json"
    assert json.loads(payload)["predicateType"] == "https://cyclonedx.org/bom"
    entry = json.loads(signed.dsse_bundle)["verificationMaterial"]["tlogEntries"][0]
    assert entry["kindVersion"] == {"kind": "dsse", "version": "0.0.1"}


def test_verifier_accepts_github_workflow_identity(
    sigstore_local: LocalSigstore, signed: Signed
) -> None:
    w = signed.workflow
    server = "https://github.com"
    repo = f"{server}/{w.repository}"
    signer_uri = f"{server}/{w.job_workflow_ref}"
    expected: list[policy.VerificationPolicy] = [
        policy.Identity(identity=signer_uri, issuer=sigstore_local.github_issuer),
        policy.OIDCIssuerV2(sigstore_local.github_issuer),
        policy.OIDCBuildSignerURI(signer_uri),
        policy.OIDCBuildSignerDigest(str(w.job_workflow_sha)),
        policy.OIDCRunnerEnvironment("github-hosted"),
        policy.OIDCSourceRepositoryURI(repo),
        policy.OIDCSourceRepositoryDigest(w.sha),
        policy.OIDCSourceRepositoryRef("refs/tags/v1.2.3"),
        policy.OIDCSourceRepositoryIdentifier(w.repository_id),
        policy.OIDCSourceRepositoryOwnerURI(f"{server}/octo-org"),
        policy.OIDCSourceRepositoryOwnerIdentifier(w.repository_owner_id),
        policy.OIDCBuildConfigURI(f"{repo}/.github/workflows/release.yml@refs/tags/v1.2.3"),
        policy.OIDCBuildConfigDigest(w.sha),
        policy.OIDCBuildTrigger("release"),
        policy.OIDCRunInvocationURI(f"{repo}/actions/runs/{w.run_id}/attempts/{w.run_attempt}"),
        policy.OIDCSourceRepositoryVisibility("private"),
        # the deprecated raw-string extensions .2 to .6
        policy.GitHubWorkflowTrigger("release"),
        policy.GitHubWorkflowSHA(w.sha),
        policy.GitHubWorkflowName(w.workflow),
        policy.GitHubWorkflowRepository(w.repository),
        policy.GitHubWorkflowRef("refs/tags/v1.2.3"),
    ]
    verify_artifact(signed.config, signed.github_bundle, ARTIFACT, policy.AllOf(expected))
    # the identity is the job's (reusable) workflow, not the calling one
    with pytest.raises(VerificationError):
        verify_artifact(
            signed.config,
            signed.github_bundle,
            ARTIFACT,
            policy.Identity(
                identity=w.signer_identity.replace("shared", "octo-repo"),
                issuer=sigstore_local.github_issuer,
            ),
        )


def test_leaf_certificate_profile(sigstore_local: LocalSigstore, signed: Signed) -> None:
    cert = leaf_of(signed.artifact_bundle)
    assert cert.subject == x509.Name([])
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical and san.value.get_values_for_type(x509.RFC822Name) == [ALICE]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime.total_seconds() == 600
    issuer_ext = cert.extensions.get_extension_for_oid(
        x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
    )
    assert issuer_ext.value.value == sigstore_local.issuer.encode()  # type: ignore[attr-defined]
    assert cert.issuer == sigstore_local.fulcio.ca.intermediate.subject
    cert.verify_directly_issued_by(sigstore_local.fulcio.ca.intermediate)
    sct = cert.extensions.get_extension_for_class(
        x509.PrecertificateSignedCertificateTimestamps
    ).value[0]
    assert sct.log_id == sigstore_local.fulcio.ca.ct_log_id


def test_policy_mismatch_is_rejected(sigstore_local: LocalSigstore, signed: Signed) -> None:
    with pytest.raises(VerificationError):
        verify_artifact(
            signed.config,
            signed.artifact_bundle,
            ARTIFACT,
            policy.Identity(identity="mallory@example.com", issuer=sigstore_local.issuer),
        )
    with pytest.raises(VerificationError):
        verify_artifact(
            signed.config,
            signed.artifact_bundle,
            ARTIFACT,
            policy.Identity(identity=ALICE, issuer=sigstore_local.github_issuer),
        )


def test_bundle_does_not_verify_against_another_instance(
    tmp_path: Path, signed: Signed, sigstore_local: LocalSigstore
) -> None:
    with LocalSigstore(tmp_path / "other") as other:
        with pytest.raises(SigstoreError):
            verify_artifact(
                trust_config(other), signed.artifact_bundle, ARTIFACT, alice(sigstore_local)
            )


# -- acceptance: sigstore-python's verifier rejects any tampered piece --------------------------


def _entry(b: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = b["verificationMaterial"]["tlogEntries"][0]
    return entry


def _flip_b64(value: str, at: int = -1) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _flip_sct_in_cert(b: dict[str, Any]) -> None:
    # Flip one byte of the SCT's signature inside the certificate (the CA's signature over
    # the certificate then breaks too: "SCT bytes flipped" as an attacker would do it).
    vm = b["verificationMaterial"]["certificate"]
    der = base64.b64decode(vm["rawBytes"])
    cert = x509.load_der_x509_certificate(der)
    sct_sig = (
        cert.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps)
        .value[0]
        .signature
    )
    at = der.index(sct_sig) + len(sct_sig) // 2
    vm["rawBytes"] = base64.b64encode(der[:at] + bytes([der[at] ^ 0x01]) + der[at + 1 :]).decode()


def _change_body(b: dict[str, Any]) -> None:
    entry = _entry(b)
    body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
    spec = body["spec"]
    if body["kind"] == "hashedrekord":
        spec["data"]["hash"]["value"] = hashlib.sha256(b"something else").hexdigest()
    else:
        spec["payloadHash"]["value"] = hashlib.sha256(b"something else").hexdigest()
    entry["canonicalizedBody"] = base64.b64encode(json.dumps(body).encode()).decode()


def _flip_proof_hash(b: dict[str, Any]) -> None:
    proof = _entry(b)["inclusionProof"]
    assert proof["hashes"], "the log must hold several entries for a non-empty proof"
    proof["hashes"][0] = _flip_b64(proof["hashes"][0])


def _flip_root_hash(b: dict[str, Any]) -> None:
    proof = _entry(b)["inclusionProof"]
    proof["rootHash"] = _flip_b64(proof["rootHash"])


def _flip_checkpoint_signature(b: dict[str, Any]) -> None:
    checkpoint = _entry(b)["inclusionProof"]["checkpoint"]
    note, _, signature_line = checkpoint["envelope"].rstrip("\n").rpartition("\n")
    dash, name, sig = signature_line.split(" ")
    checkpoint["envelope"] = f"{note}\n{dash} {name} {_flip_b64(sig, 10)}\n"


def _change_checkpoint_size(b: dict[str, Any]) -> None:
    checkpoint = _entry(b)["inclusionProof"]["checkpoint"]
    origin, size, rest = checkpoint["envelope"].split("\n", 2)
    checkpoint["envelope"] = f"{origin}\n{int(size) + 1}\n{rest}"


def _flip_set(b: dict[str, Any]) -> None:
    promise = _entry(b)["inclusionPromise"]
    promise["signedEntryTimestamp"] = _flip_b64(promise["signedEntryTimestamp"], 12)


def _change_integrated_time(b: dict[str, Any]) -> None:
    entry = _entry(b)
    # NOTE: later, not earlier: a second earlier can fall before the certificate's validity,
    # which is caught by the chain check instead of the SET.
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)


def _change_log_index(b: dict[str, Any]) -> None:
    entry = _entry(b)
    entry["logIndex"] = str(int(entry["logIndex"]) + 1)


def _flip_signature(b: dict[str, Any]) -> None:
    if "messageSignature" in b:
        b["messageSignature"]["signature"] = _flip_b64(b["messageSignature"]["signature"], 20)
    else:
        sig = b["dsseEnvelope"]["signatures"][0]
        sig["sig"] = _flip_b64(sig["sig"], 20)


def _flip_message_digest(b: dict[str, Any]) -> None:
    digest = b["messageSignature"]["messageDigest"]
    digest["digest"] = _flip_b64(digest["digest"])


def _change_dsse_payload(b: dict[str, Any]) -> None:
    envelope = b["dsseEnvelope"]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["components"] = [{"name": "backdoor"}]
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()


Tamper = Callable[[dict[str, Any]], None]

# name -> (tampering, what sigstore-python's error says: the piece that failed)
ARTIFACT_TAMPERS: dict[str, tuple[Tamper, str]] = {
    "sct bytes flipped in the certificate": (_flip_sct_in_cert, "certificate chain"),
    "log entry body changed": (_change_body, "inclusion proof"),
    "inclusion proof hash changed": (_flip_proof_hash, "inclusion proof"),
    "inclusion proof root hash changed": (_flip_root_hash, "inclusion proof"),
    "checkpoint signature changed": (_flip_checkpoint_signature, "checkpoint: invalid signature"),
    "checkpoint tree size changed": (_change_checkpoint_size, "checkpoint: invalid signature"),
    "signed entry timestamp changed": (_flip_set, "SET: invalid"),
    "integrated time changed": (_change_integrated_time, "SET: invalid"),
    "log index changed": (_change_log_index, "SET: invalid"),
    "signature byte flipped": (_flip_signature, "Signature is invalid"),
    "message digest changed": (_flip_message_digest, "digest mismatch"),
}

DSSE_TAMPERS: dict[str, tuple[Tamper, str]] = {
    "sct bytes flipped in the certificate": (_flip_sct_in_cert, "certificate chain"),
    "log entry body changed": (_change_body, "inclusion proof"),
    "inclusion proof hash changed": (_flip_proof_hash, "inclusion proof"),
    "checkpoint signature changed": (_flip_checkpoint_signature, "checkpoint: invalid signature"),
    "signed entry timestamp changed": (_flip_set, "SET: invalid"),
    "signature byte flipped": (_flip_signature, "DSSE: invalid signature"),
    "payload changed": (_change_dsse_payload, "DSSE: invalid signature"),
}


def _tampered(bundle_json: str, tamper: Tamper) -> str:
    b = json.loads(bundle_json)
    before = copy.deepcopy(b)
    tamper(b)
    assert b != before, "the tampering changed nothing"
    return json.dumps(b)


@pytest.mark.parametrize(
    ("tamper", "reason"), ARTIFACT_TAMPERS.values(), ids=ARTIFACT_TAMPERS.keys()
)
def test_verifier_rejects_tampered_artifact_bundle(
    sigstore_local: LocalSigstore, signed: Signed, tamper: Tamper, reason: str
) -> None:
    bad = _tampered(signed.artifact_bundle, tamper)
    with pytest.raises(VerificationError, match=reason):
        verify_artifact(signed.config, bad, ARTIFACT, alice(sigstore_local))


@pytest.mark.parametrize(("tamper", "reason"), DSSE_TAMPERS.values(), ids=DSSE_TAMPERS.keys())
def test_verifier_rejects_tampered_dsse_bundle(
    sigstore_local: LocalSigstore, signed: Signed, tamper: Tamper, reason: str
) -> None:
    bad = _tampered(signed.dsse_bundle, tamper)
    with pytest.raises(VerificationError, match=reason):
        verify_dsse(signed.config, bad, alice(sigstore_local))


@pytest.mark.parametrize("kind", ["artifact", "dsse"])
def test_verifier_rejects_a_swapped_certificate(
    sigstore_local: LocalSigstore, signed: Signed, kind: str
) -> None:
    # The other certificate is valid, from the same CA, for the same identity: only its
    # key does not match the signature (nor the log entry).
    other = json.loads(signed.other_artifact_bundle)["verificationMaterial"]["certificate"]
    b = json.loads(signed.artifact_bundle if kind == "artifact" else signed.dsse_bundle)
    b["verificationMaterial"]["certificate"] = other
    with pytest.raises(VerificationError, match="[Ss]ignature is invalid|DSSE: invalid signature"):
        if kind == "artifact":
            verify_artifact(signed.config, json.dumps(b), ARTIFACT, alice(sigstore_local))
        else:
            verify_dsse(signed.config, json.dumps(b), alice(sigstore_local))


def test_verifier_rejects_a_swapped_log_entry(
    sigstore_local: LocalSigstore, signed: Signed
) -> None:
    # A genuine, correctly proven entry — of another signature.
    b = json.loads(signed.artifact_bundle)
    b["verificationMaterial"]["tlogEntries"] = json.loads(signed.other_artifact_bundle)[
        "verificationMaterial"
    ]["tlogEntries"]
    with pytest.raises(VerificationError, match="inconsistent with other materials"):
        verify_artifact(signed.config, json.dumps(b), ARTIFACT, alice(sigstore_local))


def test_verifier_rejects_a_changed_artifact(sigstore_local: LocalSigstore, signed: Signed) -> None:
    changed = bytearray(ARTIFACT)
    changed[100] ^= 0x01
    with pytest.raises(VerificationError, match="digest mismatch"):
        verify_artifact(
            signed.config, signed.artifact_bundle, bytes(changed), alice(sigstore_local)
        )


def test_bad_sct_from_the_ca_is_caught_by_signer_and_verifier(
    sigstore_local: LocalSigstore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CA whose SCTs do not verify (a CT log key that is not the trusted one). The
    # certificate is otherwise perfect: only the SCT check can catch it.
    config = trust_config(sigstore_local)
    context = SigningContext.from_trust_config(config)
    sigstore_local.fulcio.corrupt_sct = True
    try:
        with pytest.raises(VerificationError, match="SCT"):
            with context.signer(IdentityToken(sigstore_local.email_token(ALICE))):
                pass
        # Let the signer through to get a whole bundle around that certificate.
        monkeypatch.setattr("sigstore.sign.verify_sct", lambda *args: None)
        with context.signer(IdentityToken(sigstore_local.email_token(ALICE))) as signer:
            bundle = signer.sign_artifact(ARTIFACT).to_json()
    finally:
        sigstore_local.reset_faults()
    with pytest.raises(VerificationError, match="SCT"):
        verify_artifact(config, bundle, ARTIFACT, alice(sigstore_local))


# -- the CA refuses ----------------------------------------------------------------------------


def _csr(key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    key = key or ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def _ask_for_cert(
    instance: LocalSigstore, token: str, body: dict[str, Any] | None = None
) -> requests.Response:
    if body is None:
        body = {"certificateSigningRequest": base64.b64encode(_csr()).decode()}
    return requests.post(
        f"{instance.fulcio.url}/api/v2/signingCert",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_ca_issues_for_a_good_request(sigstore_local: LocalSigstore) -> None:
    resp = _ask_for_cert(sigstore_local, sigstore_local.email_token(ALICE))
    assert resp.status_code == 201, resp.text
    chain = resp.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"]
    assert len(chain) == 3  # leaf, intermediate, root


def _foreign_signed(instance: LocalSigstore) -> str:
    # Right issuer and kid, but signed by a key the issuer never published.
    token = instance.email_token(ALICE)
    header, claims, _, _ = _crypto.jws_parts(token)
    return _crypto.jws_sign(claims, ec.generate_private_key(ec.SECP256R1()), header["kid"])


REFUSED_TOKENS: dict[str, Callable[[LocalSigstore], str]] = {
    "expired": lambda i: i.email_token(ALICE, issued_at=int(time.time()) - 3600),
    "wrong audience": lambda i: i.email_token(ALICE, audience="not-sigstore"),
    "not yet valid": lambda i: i.email_token(ALICE, issued_at=int(time.time()) + 3600),
    "signed by an unknown key": _foreign_signed,
    "unknown issuer": lambda i: i.oidc.mint(
        {"sub": "x", "email": ALICE, "email_verified": True}, issuer="https://accounts.example.com"
    ),
    "email not verified": lambda i: i.email_token(ALICE, verified=False),
    "workflow token without job_workflow_ref": lambda i: i.github_token(
        extra={"job_workflow_ref": None}
    ),
    "not a JWT": lambda i: "not-a-token",
}


@pytest.mark.parametrize("make", REFUSED_TOKENS.values(), ids=REFUSED_TOKENS.keys())
def test_ca_refuses_bad_token(
    sigstore_local: LocalSigstore, make: Callable[[LocalSigstore], str]
) -> None:
    before = len(sigstore_local.fulcio.issued)
    resp = _ask_for_cert(sigstore_local, make(sigstore_local))
    assert resp.status_code == 401, resp.text
    assert resp.json()["code"] == 16  # gRPC UNAUTHENTICATED, as Fulcio's gateway says it
    assert len(sigstore_local.fulcio.issued) == before


def test_ca_refuses_a_csr_whose_signature_does_not_match(sigstore_local: LocalSigstore) -> None:
    pem = _csr()
    der = bytearray(x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01  # inside the CSR's signature
    body = {"certificateSigningRequest": base64.b64encode(bytes(der)).decode()}
    resp = _ask_for_cert(sigstore_local, sigstore_local.email_token(ALICE), body)
    assert resp.status_code == 400, resp.text
    assert "proof of possession" in resp.json()["message"]


def test_ca_checks_proof_of_possession_of_a_bare_public_key(sigstore_local: LocalSigstore) -> None:
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )

    def request(signer: ec.EllipticCurvePrivateKey, challenge: bytes) -> requests.Response:
        proof = signer.sign(challenge, ec.ECDSA(hashes.SHA256()))
        body = {
            "publicKeyRequest": {
                "publicKey": {"algorithm": "ECDSA", "content": pem},
                "proofOfPossession": base64.b64encode(proof).decode(),
            }
        }
        return _ask_for_cert(sigstore_local, sigstore_local.email_token(ALICE), body)

    assert request(key, ALICE.encode()).status_code == 201
    assert request(other, ALICE.encode()).status_code == 400  # someone else's key
    assert request(key, b"bob@example.com").status_code == 400  # proof of another identity


def test_ca_refuses_garbage(sigstore_local: LocalSigstore) -> None:
    token = sigstore_local.email_token(ALICE)
    for body in (
        {},
        {"certificateSigningRequest": "%%%"},
        {"certificateSigningRequest": base64.b64encode(b"nope").decode()},
    ):
        assert _ask_for_cert(sigstore_local, token, body).status_code == 400
    resp = requests.post(f"{sigstore_local.fulcio.url}/api/v2/signingCert", data=b"{", timeout=10)
    assert resp.status_code == 400


def test_sigstore_client_surfaces_the_refusal(sigstore_local: LocalSigstore) -> None:
    # sigstore-python's IdentityToken insists on aud=sigstore, so give it another client ID
    # to get a wrong-audience token through to the CA.
    token = IdentityToken(sigstore_local.email_token(ALICE, audience="other"), client_id="other")
    csr = x509.load_pem_x509_csr(_csr())
    with pytest.raises(FulcioClientError):
        FulcioClient(sigstore_local.fulcio.url).signing_cert.post(csr, token)


# -- the log refuses ---------------------------------------------------------------------------


def _hashedrekord(
    cert_pem: bytes, sig: bytes, digest_hex: str, algorithm: str = "sha256"
) -> dict[str, Any]:
    return {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {
                "content": base64.b64encode(sig).decode(),
                "publicKey": {"content": base64.b64encode(cert_pem).decode()},
            },
            "data": {"hash": {"algorithm": algorithm, "value": digest_hex}},
        },
    }


@pytest.fixture
def self_signed() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """A key and a PEM public key for it (the log accepts keys as well as certificates)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key, key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _malformed_entries(key: ec.EllipticCurvePrivateKey, pem: bytes) -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    digest = hashlib.sha256(b"data").digest()
    good_sig = key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    other_sig = key.sign(hashlib.sha256(b"other").digest(), ec.ECDSA(Prehashed(hashes.SHA256())))
    payload = base64.b64encode(b"{}").decode()
    envelope = json.dumps(
        {
            "payloadType": "application/vnd.in-toto+json",
            "payload": payload,
            "signatures": [{"sig": base64.b64encode(b"\x30\x06\x02\x01\x01\x02\x01\x01").decode()}],
        }
    )
    return {
        "not an object": ["hashedrekord"],
        "no kind": {"apiVersion": "0.0.1", "spec": {}},
        "unsupported kind": {"apiVersion": "0.0.1", "kind": "rekord", "spec": {}},
        "unsupported version": {
            **_hashedrekord(pem, good_sig, digest.hex()),
            "apiVersion": "0.0.2",
        },
        "short digest": _hashedrekord(pem, good_sig, digest.hex()[:-2]),
        "digest not hex": _hashedrekord(pem, good_sig, "zz" * 32),
        "unknown hash algorithm": _hashedrekord(pem, good_sig, digest.hex(), "md5"),
        "signature of another digest": _hashedrekord(pem, other_sig, digest.hex()),
        "signature not base64": {
            **_hashedrekord(pem, good_sig, digest.hex()),
            "spec": {
                "signature": {
                    "content": "***",
                    "publicKey": {"content": base64.b64encode(pem).decode()},
                },
                "data": {"hash": {"algorithm": "sha256", "value": digest.hex()}},
            },
        },
        "public key not PEM": _hashedrekord(b"not a key", good_sig, digest.hex()),
        "dsse envelope not JSON": {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "proposedContent": {"envelope": "{", "verifiers": [base64.b64encode(pem).decode()]}
            },
        },
        "dsse signature does not verify": {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "proposedContent": {
                    "envelope": envelope,
                    "verifiers": [base64.b64encode(pem).decode()],
                }
            },
        },
        "dsse without verifiers": {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {"proposedContent": {"envelope": envelope, "verifiers": []}},
        },
    }


def test_log_refuses_malformed_entries(
    sigstore_local: LocalSigstore, self_signed: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    url = f"{sigstore_local.rekor.url}/api/v1/log/entries"
    size = len(sigstore_local.rekor.store)
    for name, entry in _malformed_entries(*self_signed).items():
        resp = requests.post(url, json=entry, timeout=10)
        assert resp.status_code == 400, f"{name}: {resp.status_code} {resp.text}"
        assert resp.json()["code"] == 400 and resp.json()["message"], name
    assert requests.post(url, data=b"not json", timeout=10).status_code == 400
    assert len(sigstore_local.rekor.store) == size


def test_log_accepts_a_good_entry_once(
    sigstore_local: LocalSigstore, self_signed: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    key, pem = self_signed
    digest = hashlib.sha256(b"logged once").digest()
    entry = _hashedrekord(pem, key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))), digest.hex())
    url = f"{sigstore_local.rekor.url}/api/v1/log/entries"
    first = requests.post(url, json=entry, timeout=10)
    assert first.status_code == 201, first.text
    (uuid,) = first.json()
    again = requests.post(url, json=entry, timeout=10)
    assert again.status_code == 409 and uuid in again.json()["message"]
    by_uuid = requests.get(f"{url}/{uuid}", timeout=10).json()[uuid]
    by_index = requests.get(
        url, params={"logIndex": first.json()[uuid]["logIndex"]}, timeout=10
    ).json()[uuid]
    # NOTE: ECDSA signatures are randomised, so the SET and checkpoint differ per answer.
    for answer in (by_uuid, by_index):
        answer["verification"]["inclusionProof"].pop("checkpoint")
        answer["verification"].pop("signedEntryTimestamp")
    assert by_uuid == by_index
    found = requests.post(f"{url}/retrieve", json={"entries": [entry]}, timeout=10).json()
    assert [next(iter(f)) for f in found] == [uuid]


def test_sigstore_client_surfaces_log_refusal(
    sigstore_local: LocalSigstore, self_signed: tuple[ec.EllipticCurvePrivateKey, bytes]
) -> None:
    entry = _malformed_entries(*self_signed)["signature of another digest"]
    with pytest.raises(RekorClientError, match="400: hashedrekord"):
        RekorClient(sigstore_local.rekor.url).create_entry(entry)


# -- the log's tree ----------------------------------------------------------------------------


def _naive_root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return merkle.node_hash(_naive_root(leaves[:k]), _naive_root(leaves[k:]))


def test_merkle_tree_proofs() -> None:
    tree = merkle.MerkleTree()
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(70)]
    for leaf in leaves:
        tree.append(leaf)
    for n in range(1, 71):
        root = tree.root(n)
        assert root == _naive_root(leaves[:n])
        for i in range(n):
            assert merkle.verify_inclusion(leaves[i], i, n, tree.inclusion_proof(i, n), root)
        for m in range(1, n + 1):
            proof = tree.consistency_proof(m, n)
            assert merkle.verify_consistency(m, n, tree.root(m), root, proof), (m, n)
            if proof:
                bad = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
                assert not merkle.verify_consistency(m, n, tree.root(m), root, bad)
    assert not merkle.verify_inclusion(leaves[3], 4, 10, tree.inclusion_proof(3, 10), tree.root(10))


def test_log_checkpoint_and_consistency(sigstore_local: LocalSigstore, signed: Signed) -> None:
    rekor_url = f"{sigstore_local.rekor.url}/api/v1/log"
    info = requests.get(rekor_url, timeout=10).json()
    size = info["treeSize"]
    assert size >= 4
    # The signed tree head verifies with sigstore-python's checkpoint code and the trusted key.
    checkpoint = SignedCheckpoint.from_text(info["signedTreeHead"])
    keyring = signed.config.trusted_root.rekor_keyring(KeyringPurpose.VERIFY)
    checkpoint.signed_note.verify(keyring, KeyID(sigstore_local.rekor.log_id))
    assert checkpoint.checkpoint.log_size == size
    assert checkpoint.checkpoint.log_hash == info["rootHash"]
    # An old tree head is a prefix of the current one.
    for first in (1, 2, size - 1):
        proof = requests.get(
            f"{rekor_url}/proof", params={"firstSize": first, "lastSize": size}, timeout=10
        ).json()
        old_root = sigstore_local.rekor.store.tree.root(first)
        hashes_ = [bytes.fromhex(h) for h in proof["hashes"]]
        assert merkle.verify_consistency(
            first, size, old_root, bytes.fromhex(info["rootHash"]), hashes_
        )
    pem = requests.get(f"{rekor_url}/publicKey", timeout=10).content
    assert _crypto.key_id(serialization.load_pem_public_key(pem)) == sigstore_local.rekor.log_id  # type: ignore[arg-type]
    assert (
        requests.get(f"{rekor_url}/proof", params={"firstSize": size + 1}, timeout=10).status_code
        == 400
    )


# -- restart -----------------------------------------------------------------------------------


def _log_info(instance: LocalSigstore) -> dict[str, Any]:
    info: dict[str, Any] = requests.get(f"{instance.rekor.url}/api/v1/log", timeout=10).json()
    return info


def _sign_some(instance: LocalSigstore, n: int) -> list[str]:
    context = SigningContext.from_trust_config(trust_config(instance))
    with context.signer(IdentityToken(instance.email_token(ALICE))) as signer:
        return [signer.sign_artifact(ARTIFACT + bytes([i])).to_json() for i in range(n)]


def test_log_survives_a_restart(tmp_path: Path) -> None:
    directory = tmp_path / "instance"
    with LocalSigstore(directory) as instance:
        old_bundles = _sign_some(instance, 3)
        before = _log_info(instance)
        old_ports = (instance.oidc.port, instance.fulcio.port, instance.rekor.port)
    assert before["treeSize"] == 3

    with LocalSigstore(directory) as instance:
        after = _log_info(instance)
        assert (after["treeSize"], after["rootHash"], after["treeID"]) == (
            before["treeSize"],
            before["rootHash"],
            before["treeID"],
        )
        assert (instance.oidc.port, instance.fulcio.port, instance.rekor.port) == old_ports
        config = trust_config(instance)
        # Old bundles (proofs against the old checkpoint) still verify with the restarted
        # instance's trust root: same CA, same log key.
        for i, bundle in enumerate(old_bundles):
            verify_artifact(config, bundle, ARTIFACT + bytes([i]), alice(instance))
        (new_bundle,) = _sign_some(instance, 1)
        assert _entry(json.loads(new_bundle))["logIndex"] == "3"
        verify_artifact(config, new_bundle, ARTIFACT + b"\x00", alice(instance))
        # The old entries, fetched again, come with proofs against the grown tree.
        fresh = requests.get(
            f"{instance.rekor.url}/api/v1/log/entries", params={"logIndex": 0}, timeout=10
        ).json()
        entry = TransparencyLogEntry._from_v1_response(fresh)
        assert entry._inner.inclusion_proof.tree_size == 4
        b = json.loads(old_bundles[0])
        b["verificationMaterial"]["tlogEntries"] = [entry._inner.to_dict()]
        verify_artifact(config, json.dumps(b), ARTIFACT + b"\x00", alice(instance))
        # and the old tree is a prefix of the new one
        proof = requests.get(
            f"{instance.rekor.url}/api/v1/log/proof",
            params={"firstSize": 3, "lastSize": 4},
            timeout=10,
        ).json()
        now = _log_info(instance)
        assert merkle.verify_consistency(
            3,
            4,
            bytes.fromhex(before["rootHash"]),
            bytes.fromhex(now["rootHash"]),
            [bytes.fromhex(h) for h in proof["hashes"]],
        )


def test_restart_drops_a_torn_last_record(tmp_path: Path) -> None:
    directory = tmp_path / "instance"
    with LocalSigstore(directory) as instance:
        _sign_some(instance, 2)
        root = _log_info(instance)["rootHash"]
    with (directory / "rekor" / "entries.jsonl").open("ab") as f:
        f.write(b'{"logIndex": 2, "integratedTime": 1, "bo')  # a crash mid-write
    with LocalSigstore(directory) as instance:
        info = _log_info(instance)
        assert (info["treeSize"], info["rootHash"]) == (2, root)
        _sign_some(instance, 1)
        assert _log_info(instance)["treeSize"] == 3


# -- slow and dead services --------------------------------------------------------------------


@pytest.fixture
def own_instance(tmp_path: Path) -> Iterator[LocalSigstore]:
    """An instance of the test's own, for breaking it."""
    with LocalSigstore(tmp_path / "instance") as instance:
        yield instance


def test_slow_log_times_out_when_the_client_bounds_its_wait(own_instance: LocalSigstore) -> None:
    context = SigningContext.from_trust_config(trust_config(own_instance))
    with context.signer(IdentityToken(own_instance.email_token(ALICE))) as signer:
        own_instance.rekor.faults.delay = 30.0
        bound(context._rekor._session, (1.0, 1.0))  # type: ignore[attr-defined]
        began = time.monotonic()
        with pytest.raises(requests.Timeout):
            signer.sign_artifact(ARTIFACT)
        elapsed = time.monotonic() - began
    # A 1 s read timeout against a log 30 s slow: the client gives up after the timeout.
    assert 0.9 <= elapsed < 3.0, elapsed
    assert len(own_instance.rekor.store) == 0


def test_slow_log_is_waited_for_without_a_client_timeout(own_instance: LocalSigstore) -> None:
    # sigstore-python 4.5.1's Rekor client passes no timeout to requests: it waits as long
    # as the log takes. (Callers must bound the session, as the test above and sbomsign do.)
    context = SigningContext.from_trust_config(trust_config(own_instance))
    with context.signer(IdentityToken(own_instance.email_token(ALICE))) as signer:
        own_instance.rekor.faults.delay = 1.5
        began = time.monotonic()
        bundle = signer.sign_artifact(ARTIFACT)
        elapsed = time.monotonic() - began
    assert elapsed >= 1.5
    verify_artifact(trust_config(own_instance), bundle.to_json(), ARTIFACT, alice(own_instance))


def test_slow_ca_times_out_when_the_client_bounds_its_wait(own_instance: LocalSigstore) -> None:
    context = SigningContext.from_trust_config(trust_config(own_instance))
    own_instance.fulcio.faults.delay = 30.0
    bound(context._fulcio.session, (1.0, 1.0))
    began = time.monotonic()
    with pytest.raises(requests.Timeout):
        with context.signer(IdentityToken(own_instance.email_token(ALICE))):
            pass
    assert time.monotonic() - began < 3.0


def test_dead_log_fails_at_once(own_instance: LocalSigstore) -> None:
    context = SigningContext.from_trust_config(trust_config(own_instance))
    with context.signer(IdentityToken(own_instance.email_token(ALICE))) as signer:
        own_instance.rekor.stop()
        began = time.monotonic()
        with pytest.raises(requests.ConnectionError):
            signer.sign_artifact(ARTIFACT)
    assert time.monotonic() - began < 2.0


def test_failing_log_is_a_client_error(own_instance: LocalSigstore) -> None:
    context = SigningContext.from_trust_config(trust_config(own_instance))
    with context.signer(IdentityToken(own_instance.email_token(ALICE))) as signer:
        own_instance.rekor.faults.status = 503
        with pytest.raises(RekorClientError, match="503"):
            signer.sign_artifact(ARTIFACT)


# -- GitHub Actions ambient credential -----------------------------------------------------------


def test_actions_runtime_endpoint(
    sigstore_local: LocalSigstore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in sigstore_local.actions_env().items():
        monkeypatch.setenv(name, value)
    token = detect_credential("sigstore")
    assert token is not None
    identity = IdentityToken(token)
    assert identity.issuer == sigstore_local.github_issuer
    _, claims, _, _ = _crypto.jws_parts(token)
    assert claims["aud"] == "sigstore"
    assert claims["job_workflow_ref"] == sigstore_local.oidc.actions_workflow.workflow_ref
    # The audience asked for is the audience given.
    url = sigstore_local.oidc.actions_request_url
    auth = {"Authorization": f"bearer {sigstore_local.oidc.actions_request_token}"}
    other = requests.get(url, params={"audience": "elsewhere"}, headers=auth, timeout=10).json()[
        "value"
    ]
    assert _crypto.jws_parts(other)[1]["aud"] == "elsewhere"
    # Without the runner's bearer token there is no token.
    assert requests.get(url, params={"audience": "sigstore"}, timeout=10).status_code == 401
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong")
    with pytest.raises(SigstoreError):
        detect_credential("sigstore")
