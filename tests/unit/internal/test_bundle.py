"""Sigstore bundles: what we write for managed keys, and the structural reader."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sbomsign._internal import intoto, keys
from sbomsign._internal.sigstore import bundle, dsse
from sbomsign.errors import InputError

DIGEST = hashlib.sha256(b"artifact").digest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _message_bundle(key: keys.SigningKey) -> bytes:
    return bundle.message_signature_bundle(
        hint=key.hint, digest=DIGEST, signature=key.sign_prehashed(DIGEST)
    )


def test_message_signature_bundle_shape() -> None:
    key = keys.generate()
    sig = key.sign_prehashed(DIGEST)
    data = bundle.message_signature_bundle(hint=key.hint, digest=DIGEST, signature=sig)
    assert json.loads(data) == {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": key.hint}, "tlogEntries": []},
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": _b64(DIGEST)},
            "signature": _b64(sig),
        },
    }
    assert data.startswith(b'{"mediaType":')  # protobuf field order, compact


def test_dsse_bundle_shape() -> None:
    key = keys.generate("ed25519")
    statement = intoto.build_statement([("a", {"sha256": DIGEST.hex()})], "t", {})
    env = dsse.sign_envelope(statement, intoto.PAYLOAD_TYPE, key)
    doc = json.loads(bundle.dsse_bundle(hint=key.hint, envelope=env))
    assert doc["verificationMaterial"] == {"publicKey": {"hint": key.hint}, "tlogEntries": []}
    assert doc["dsseEnvelope"] == env
    assert "messageSignature" not in doc


def test_dsse_bundle_rules() -> None:
    key = keys.generate()
    env = dsse.sign_envelope(b"{}", intoto.PAYLOAD_TYPE, key)
    with pytest.raises(InputError, match="keyid differs"):
        bundle.dsse_bundle(hint="other", envelope=env)
    two = dict(env, signatures=env["signatures"] * 2)
    with pytest.raises(InputError, match="exactly one signature"):
        bundle.dsse_bundle(hint=key.hint, envelope=two)


def test_sigstore_models_parses_our_bundles() -> None:
    """The protobuf-specs model (sigstore-models, strict, extra=forbid) accepts both kinds."""
    from sigstore_models.bundle.v1 import Bundle as ModelBundle

    key = keys.generate()
    parsed = ModelBundle.from_json(_message_bundle(key))
    assert parsed.verification_material.public_key is not None
    assert parsed.verification_material.public_key.hint == key.hint
    assert parsed.message_signature is not None
    assert parsed.message_signature.message_digest is not None
    assert parsed.message_signature.message_digest.digest == DIGEST
    env = dsse.sign_envelope(b"{}", intoto.PAYLOAD_TYPE, key)
    parsed = ModelBundle.from_json(bundle.dsse_bundle(hint=key.hint, envelope=env))
    assert parsed.dsse_envelope is not None
    assert parsed.dsse_envelope.signatures[0].keyid == key.hint


def test_sigstore_python_rejects_key_bundles_without_certificate() -> None:
    """Recorded behaviour: sigstore-python's Bundle needs a certificate and one tlog entry.

    Managed-key bundles are therefore verified by sbomsign itself, not through
    `sigstore.models.Bundle`.
    """
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle

    with pytest.raises(SigstoreError, match="expected certificate in bundle"):
        Bundle.from_json(_message_bundle(keys.generate()))


def test_unsupported_digest_algorithm() -> None:
    with pytest.raises(InputError, match="unsupported message digest algorithm"):
        bundle.message_signature_bundle(hint="h", digest=b"", signature=b"", hash_algorithm="md5")


# -- reading -----------------------------------------------------------------------------------


def _certificate() -> bytes:
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(minutes=10))
        .sign(private, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_parse_our_message_bundle() -> None:
    key = keys.generate()
    parsed = bundle.parse_bundle(_message_bundle(key))
    assert parsed.version == "0.3"
    assert parsed.material == "publicKey"
    assert parsed.hint == key.hint
    assert parsed.certificate is None
    assert parsed.message_signature is not None
    assert parsed.message_signature.digest_algorithm == "SHA2_256"
    assert parsed.message_signature.digest == DIGEST
    keys.verify_signature(key.public_key, parsed.signature, digest=DIGEST)
    assert parsed.dsse_envelope is None
    assert parsed.tlog_entries == ()


def test_parse_our_dsse_bundle() -> None:
    key = keys.generate()
    env = dsse.sign_envelope(b"{}", intoto.PAYLOAD_TYPE, key)
    parsed = bundle.parse_bundle(bundle.dsse_bundle(hint=key.hint, envelope=env))
    assert parsed.dsse_envelope is not None
    assert parsed.dsse_envelope.payload == b"{}"
    keys.verify_signature(key.public_key, parsed.signature, data=parsed.dsse_envelope.pae())


@pytest.mark.parametrize(
    ("media_type", "version"),
    [
        ("application/vnd.dev.sigstore.bundle+json;version=0.1", "0.1"),
        ("application/vnd.dev.sigstore.bundle+json;version=0.2", "0.2"),
        ("application/vnd.dev.sigstore.bundle+json;version=0.3", "0.3"),
    ],
)
def test_parse_keyless_shapes(media_type: str, version: str) -> None:
    leaf, other = _certificate(), _certificate()
    entry = {"logIndex": "1", "kindVersion": {"kind": "hashedrekord", "version": "0.0.1"}}
    material: dict[str, object]
    if version == "0.3":
        material = {"certificate": {"rawBytes": _b64(leaf)}}
    else:
        material = {
            "x509CertificateChain": {"certificates": [{"rawBytes": _b64(c)} for c in (leaf, other)]}
        }
    material["tlogEntries"] = [entry]
    material["timestampVerificationData"] = {"rfc3161Timestamps": [{"signedTimestamp": "AAEC"}]}
    doc = {
        "mediaType": media_type,
        "verificationMaterial": material,
        "messageSignature": {"signature": "AAEC"},
    }
    parsed = bundle.parse_bundle(json.dumps(doc).encode())
    assert parsed.version == version
    assert parsed.certificate == leaf
    assert parsed.chain == (() if version == "0.3" else (other,))
    assert parsed.hint is None
    assert parsed.tlog_entries == (entry,)
    assert parsed.rfc3161_timestamps == (b"\x00\x01\x02",)
    assert parsed.message_signature == bundle.MessageSignature(b"\x00\x01\x02")


def _doc(**changes: object) -> bytes:
    doc: dict[str, object] = {
        "mediaType": bundle.MEDIA_TYPE_V0_3,
        "verificationMaterial": {"publicKey": {"hint": "h"}, "tlogEntries": []},
        "messageSignature": {"signature": "AAEC"},
    }
    doc.update(changes)
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{", "not JSON"),
        (b"[]", "not a JSON object"),
        (_doc(mediaType="application/json"), "unsupported bundle media type"),
        (_doc(verificationMaterial=None), "verificationMaterial is not a JSON object"),
        (_doc(verificationMaterial={"tlogEntries": []}), "exactly one of publicKey"),
        (
            _doc(verificationMaterial={"publicKey": {}, "certificate": {"rawBytes": ""}}),
            "exactly one of publicKey",
        ),
        (_doc(messageSignature=None), "exactly one of messageSignature and dsseEnvelope"),
        (
            _doc(dsseEnvelope={"payload": "", "payloadType": "t", "signatures": [{"sig": ""}]}),
            "exactly one of messageSignature and dsseEnvelope",
        ),
        (_doc(messageSignature={"signature": "***"}), "bundle signature is not base64"),
        (
            _doc(
                messageSignature=None,
                dsseEnvelope={
                    "payload": "",
                    "payloadType": "t",
                    "signatures": [{"sig": ""}, {"sig": ""}],
                },
            ),
            "exactly one signature",
        ),
    ],
)
def test_parse_errors(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        bundle.parse_bundle(data)
