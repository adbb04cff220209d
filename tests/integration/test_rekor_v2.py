"""Rekor v2 end to end: the private instance's v2 log (with its timestamp authority), keyless
signing and attesting through sigstore-python against a signing config that names it, and
verification by sbomsign and by sigstore-python of what it logged: `hashedrekord/0.0.2`
entries (a DSSE envelope logged over its PAE), tile-style checkpoints named by the log's
host, no inclusion promise, no integrated time, the TSA's timestamp as the time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import sbomsign
from tests.sigstore_local.instance import LocalSigstore
from tests.sigstore_reference import verify_keyless_reference

ROOT = Path(__file__).resolve().parents[2]
ALICE = "alice@example.com"


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSigstore]:
    with LocalSigstore(tmp_path_factory.mktemp("sigstore-v2"), rekor_v2=True) as inst:
        yield inst


def identity(instance: LocalSigstore) -> list[str]:
    return ["--certificate-identity", ALICE, "--certificate-oidc-issuer", instance.issuer,
            "--trusted-root", str(instance.trusted_root_path)]


def entry_of(bundle: Path) -> dict[str, Any]:
    (entry,) = json.loads(bundle.read_text())["verificationMaterial"]["tlogEntries"]
    return dict(entry)


def test_signatures_and_attestations_logged_in_rekor_v2_verify(
    instance: LocalSigstore, tmp_path: Path
) -> None:
    binary = tmp_path / "demo-svc"
    shutil.copy(ROOT / "tests" / "assets" / "bin" / "go-linux-loong64", binary)
    env = {"SIGSTORE_ID_TOKEN": instance.email_token(ALICE)}
    config = str(instance.trust_config_path)
    assert sbomsign("sign", "--trust-config", config, str(binary), env=env).returncode == 0
    done = sbomsign("attest", "--trust-config", config, "--type", "cyclonedx", str(binary),
                    env=env)
    assert done.returncode == 0, done.stderr
    signature = tmp_path / "demo-svc.sigstore.json"
    attestation = tmp_path / "demo-svc.cyclonedx.sigstore.json"
    for bundle in (signature, attestation):
        entry = entry_of(bundle)
        assert entry["kindVersion"] == {"kind": "hashedrekord", "version": "0.0.2"}
        assert entry["integratedTime"] == "0" and "inclusionPromise" not in entry
        origin = entry["inclusionProof"]["checkpoint"]["envelope"].split("\n", 1)[0]
        assert origin == "127.0.0.1"
    # the DSSE envelope is logged as a hashedrekord over the digest of its PAE
    doc = json.loads(attestation.read_text())
    envelope = doc["dsseEnvelope"]
    payload = base64.b64decode(envelope["payload"])
    pae = b"DSSEv1 %d %s %d %s" % (len(envelope["payloadType"]), envelope["payloadType"].encode(),
                                   len(payload), payload)
    body = json.loads(base64.b64decode(entry_of(attestation)["canonicalizedBody"]))
    logged = body["spec"]["hashedRekordV002"]["data"]["digest"]
    assert base64.b64decode(logged) == hashlib.sha256(pae).digest()

    done = sbomsign("verify", *identity(instance), "--format", "json", str(binary))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)["artifacts"][0]
    assert len(report["signatures"]) == 1 and len(report["attestations"]) == 1
    root = instance.trusted_root_path.read_bytes()
    verify_keyless_reference(signature.read_bytes(),
                             sha256=hashlib.sha256(binary.read_bytes()).digest(),
                             trusted_root=root)


def test_a_rekor_v2_entry_needs_a_timestamp_and_an_honest_log(
    instance: LocalSigstore, tmp_path: Path
) -> None:
    artifact = tmp_path / "artifact.bin"
    artifact.write_bytes(b"release artifact\n" * 64)
    env = {"SIGSTORE_ID_TOKEN": instance.email_token(ALICE)}
    assert sbomsign("sign", "--trust-config", str(instance.trust_config_path), str(artifact),
                    env=env).returncode == 0
    doc = json.loads((tmp_path / "artifact.bin.sigstore.json").read_text())

    def refused(change: Any, said: str) -> None:
        changed = json.loads(json.dumps(doc))
        change(changed)
        path = tmp_path / "changed.sigstore.json"
        path.write_text(json.dumps(changed))
        done = sbomsign("verify", *identity(instance), "--bundle", str(path), str(artifact))
        assert done.returncode == 1, done.stdout
        assert said in done.stdout, done.stdout

    # a v2 log vouches for no time: without the TSA's timestamp nothing says when the
    # short-lived certificate was used
    refused(lambda d: d["verificationMaterial"].pop("timestampVerificationData"),
            "bundle has no inclusion promise or timestamp")
    # the logged body must be this signature's
    def other_digest(d: dict[str, Any]) -> None:
        entry = d["verificationMaterial"]["tlogEntries"][0]
        body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
        body["spec"]["hashedRekordV002"]["data"]["digest"] = base64.b64encode(
            b"\0" * 32).decode()
        entry["canonicalizedBody"] = base64.b64encode(json.dumps(body).encode()).decode()

    refused(other_digest, "the inclusion proof does not lead to its root hash")
    # a checkpoint signed by the log under another origin is refused
    def other_origin(d: dict[str, Any]) -> None:
        proof = d["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
        note = proof["checkpoint"]["envelope"]
        proof["checkpoint"]["envelope"] = note.replace("127.0.0.1\n", "localhost\n", 1)

    refused(other_origin, "the checkpoint has no signature by the entry's log")


def _spki_of_leaf(doc: dict[str, Any]) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    der = base64.b64decode(doc["verificationMaterial"]["certificate"]["rawBytes"])
    key = x509.load_der_x509_certificate(der).public_key()
    return base64.b64encode(key.public_bytes(Encoding.DER,
                                             PublicFormat.SubjectPublicKeyInfo)).decode()


def test_entries_as_sigstore_js_writes_them(instance: LocalSigstore, tmp_path: Path) -> None:
    """sigstore-js names the signer of a Rekor v2 hashedrekord entry by the leaf's public key,
    not its certificate: that verifies, as in sigstore-go. It logs attestations as `dsse`
    0.0.2 entries, which sigstore-go refuses (it reads no Rekor v2 kind but hashedrekord):
    refused here too, with the reason."""
    import requests

    binary = tmp_path / "demo-svc"
    shutil.copy(ROOT / "tests" / "assets" / "bin" / "go-linux-loong64", binary)
    env = {"SIGSTORE_ID_TOKEN": instance.email_token(ALICE)}
    config = str(instance.trust_config_path)
    assert sbomsign("sign", "--trust-config", config, str(binary), env=env).returncode == 0
    assert sbomsign("attest", "--trust-config", config, "--type", "cyclonedx", str(binary),
                    env=env).returncode == 0

    def by_key(doc: dict[str, Any]) -> dict[str, Any]:
        return {"publicKey": {"rawBytes": _spki_of_leaf(doc)},
                "keyDetails": "PKIX_ECDSA_P256_SHA_256"}

    def relog(bundle: Path, request: dict[str, Any]) -> Path:
        answer = requests.post(f"{instance.rekor_v2.url}/api/v2/log/entries", json=request,
                               timeout=10)
        assert answer.status_code == 201, answer.text
        doc = json.loads(bundle.read_text())
        doc["verificationMaterial"]["tlogEntries"] = [answer.json()]
        out = tmp_path / f"js-{bundle.name}"
        out.write_text(json.dumps(doc))
        return out

    signature = tmp_path / "demo-svc.sigstore.json"
    doc = json.loads(signature.read_text())
    js_signature = relog(signature, {"hashedRekordRequestV002": {
        "digest": base64.b64encode(hashlib.sha256(binary.read_bytes()).digest()).decode(),
        "signature": {"content": doc["messageSignature"]["signature"],
                      "verifier": by_key(doc)}}})
    body = json.loads(base64.b64decode(entry_of(js_signature)["canonicalizedBody"]))
    assert "publicKey" in body["spec"]["hashedRekordV002"]["signature"]["verifier"]
    done = sbomsign("verify", *identity(instance), "--bundle", str(js_signature), str(binary))
    assert done.returncode == 0, done.stdout + done.stderr

    attestation = tmp_path / "demo-svc.cyclonedx.sigstore.json"
    attested = json.loads(attestation.read_text())
    js_attestation = relog(attestation, {"dsseRequestV002": {
        "envelope": attested["dsseEnvelope"], "verifiers": [by_key(attested)]}})
    assert entry_of(js_attestation)["kindVersion"] == {"kind": "dsse", "version": "0.0.2"}
    done = sbomsign("verify", *identity(instance), "--format", "json", "--bundle",
                    str(js_signature), "--attestation", str(js_attestation), str(binary))
    assert done.returncode == 1
    report = json.loads(done.stdout)["artifacts"][0]
    assert report["attestations"] == [] and len(report["signatures"]) == 1
    (failure,) = report["failures"]
    assert failure["reason"] == "unsupported transparency log entry kind", failure
