"""The public signing API with managed keys: artifacts and attestations into bundles."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from sbomsign import sign
from sbomsign._internal import intoto, keys
from sbomsign.errors import InputError, NetworkError, SigningError

VECTOR = Path(__file__).resolve().parents[1] / "assets" / "cosign-key"
ARTIFACT = b"\x7fELF pretend binary" * 1000


def _verify_message_bundle(data: bytes, public: keys.PublicKey, artifact: bytes) -> dict[str, Any]:
    """Check a messageSignature bundle with nothing but cryptography."""
    doc: dict[str, Any] = json.loads(data)
    assert doc["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert doc["verificationMaterial"]["tlogEntries"] == []
    assert doc["verificationMaterial"]["publicKey"]["hint"] == keys.hint(public)
    ms = doc["messageSignature"]
    sig = base64.b64decode(ms["signature"])
    digest = base64.b64decode(ms["messageDigest"]["digest"])
    if isinstance(public, ed25519.Ed25519PublicKey):
        assert ms["messageDigest"]["algorithm"] == "SHA2_256"
        assert digest == hashlib.sha256(artifact).digest()
        public.verify(sig, artifact)
    elif isinstance(public.curve, ec.SECP384R1):
        assert ms["messageDigest"]["algorithm"] == "SHA2_384"
        assert digest == hashlib.sha384(artifact).digest()
        public.verify(sig, artifact, ec.ECDSA(hashes.SHA384()))
    else:
        assert ms["messageDigest"]["algorithm"] == "SHA2_256"
        assert digest == hashlib.sha256(artifact).digest()
        public.verify(sig, artifact, ec.ECDSA(hashes.SHA256()))
    return doc


@pytest.mark.parametrize("kind", keys.ALGORITHMS)
def test_sign_stream_and_bytes(kind: str) -> None:
    key = keys.generate(kind)
    for artifact in (io.BytesIO(ARTIFACT), ARTIFACT):
        _verify_message_bundle(sign.sign_artifact(artifact, key), key.public_key, ARTIFACT)


def test_sign_precomputed_sha256() -> None:
    key = keys.generate("ecdsa-p256")
    hex_digest = hashlib.sha256(ARTIFACT).hexdigest()
    for value in (hex_digest, bytes.fromhex(hex_digest)):
        data = sign.sign_artifact(sign.ArtifactDigest.sha256(value), key)
        _verify_message_bundle(data, key.public_key, ARTIFACT)


def test_precomputed_digest_must_match_the_key() -> None:
    digest = sign.ArtifactDigest.sha256(hashlib.sha256(ARTIFACT).digest())
    with pytest.raises(SigningError, match="sign a sha384 digest, got sha256"):
        sign.sign_artifact(digest, keys.generate("ecdsa-p384"))
    with pytest.raises(SigningError, match="sign the artifact itself"):
        sign.sign_artifact(digest, keys.generate("ed25519"))
    p384 = sign.ArtifactDigest("sha384", hashlib.sha384(ARTIFACT).digest())
    key = keys.generate("ecdsa-p384")
    _verify_message_bundle(sign.sign_artifact(p384, key), key.public_key, ARTIFACT)


@pytest.mark.parametrize("value", ["xyz", "ab" * 31, b"short"])
def test_bad_sha256_values(value: str | bytes) -> None:
    with pytest.raises(InputError):
        sign.ArtifactDigest.sha256(value)


def test_cosign_vector_key_signs_a_bundle_that_cosign_pub_verifies() -> None:
    password = (VECTOR / "password.txt").read_bytes().rstrip(b"\r\n")
    key = keys.load_private_key((VECTOR / "cosign.key").read_bytes(), password)
    public = keys.load_public_key((VECTOR / "cosign.pub").read_bytes())
    message = (VECTOR / "message.txt").read_bytes()
    doc = _verify_message_bundle(sign.sign_artifact(message, key), public, message)
    assert doc["verificationMaterial"]["publicKey"]["hint"] == (
        (VECTOR / "keyid.txt").read_text().strip()
    )


@pytest.mark.parametrize("kind", keys.ALGORITHMS)
def test_attest(kind: str) -> None:
    key = keys.generate(kind)
    statement = intoto.build_statement(
        [("app", {"sha256": hashlib.sha256(ARTIFACT).hexdigest()})],
        intoto.PREDICATE_CYCLONEDX,
        {"bomFormat": "CycloneDX"},
    )
    doc = json.loads(sign.attest(statement, key))
    env = doc["dsseEnvelope"]
    assert base64.b64decode(env["payload"]) == statement  # exactly the bytes given
    assert env["payloadType"] == "application/vnd.in-toto+json"
    [signature] = env["signatures"]
    assert signature["keyid"] == doc["verificationMaterial"]["publicKey"]["hint"] == key.hint
    pae = b"DSSEv1 %d application/vnd.in-toto+json %d %b" % (28, len(statement), statement)
    keys.verify_signature(key.public_key, base64.b64decode(signature["sig"]), data=pae)


def test_keyless_refuses_a_token_that_is_not_a_jwt() -> None:
    with pytest.raises(NetworkError, match="not a JWT"):
        sign.sign_artifact_keyless(ARTIFACT, "token")
    with pytest.raises(NetworkError, match="not a JWT"):
        sign.attest_keyless(b"{}", "token")
