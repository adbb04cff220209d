"""What a Rekor entry body must record: one check per entry kind and version.

A log entry proves only what its body says; these checks tie the body to the bundle being
verified (signature, key or certificate, digest), closing CVE-2022-36056.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sbomsign._internal import jsonbound
from sbomsign._internal.keys import VerifyingKey
from sbomsign._internal.sigstore._json import _b64
from sbomsign._internal.sigstore.certs import _pem_b64
from sbomsign._internal.sigstore.dsse import Envelope
from sbomsign._internal.sigstore.rekor import LogEntry
from sbomsign._internal.sigstore.trustroot import _PROTO_HASHES, _spki
from sbomsign.errors import VerificationError

if TYPE_CHECKING:
    from cryptography import x509

# NOTE: cryptography's x509 module is imported in the functions that read certificates:
# managed-key bundles without log entries never need it, and it is a noticeable part of
# start-up.


class _Mismatch(Exception):
    """The log entry body records something else than the bundle."""


def _managed_hashedrekord_v001(spec: Any, expected: ExpectedEntry) -> None:
    data_hash = spec["data"]["hash"]
    if data_hash["algorithm"] != expected.digest_algorithm:
        raise _Mismatch("the entry records another digest algorithm")
    if expected.digest is None or data_hash["value"] != expected.digest.hex():
        raise _Mismatch("the entry records another digest")
    if _b64(spec["signature"]["content"]) != expected.signature:
        raise _Mismatch("the entry records another signature")
    if _pem_key_der(spec["signature"]["publicKey"]["content"]) != _spki(expected.public_key):
        raise _Mismatch("the entry records another public key")


def _managed_dsse_v001(spec: Any, expected: ExpectedEntry) -> None:
    assert expected.payload is not None  # noqa: S101 - the row is chosen for envelopes
    payload_hash = spec["payloadHash"]
    if payload_hash["algorithm"] != "sha256":
        raise _Mismatch("the entry records another payload hash algorithm")
    if payload_hash["value"] != hashlib.sha256(expected.payload).hexdigest():
        raise _Mismatch("the entry records another payload")
    signatures = spec["signatures"]
    if not isinstance(signatures, list) or len(signatures) != 1:
        raise _Mismatch("the entry records another number of signatures")
    if _b64(signatures[0]["signature"]) != expected.signature:
        raise _Mismatch("the entry records another signature")
    if _pem_key_der(signatures[0]["verifier"]) != _spki(expected.public_key):
        raise _Mismatch("the entry records another public key")


def _intoto_v002_signature(spec: Any, payload: bytes) -> tuple[bytes, str]:
    """(signature, base64 of the PEM verifier) an intoto 0.0.2 body records, once its payload
    hash is checked against `payload`."""
    content = spec["content"]
    payload_hash = content["payloadHash"]
    if payload_hash["algorithm"] != "sha256":
        raise _Mismatch("the entry records another payload hash algorithm")
    if payload_hash["value"] != hashlib.sha256(payload).hexdigest():
        raise _Mismatch("the entry records another payload")
    signatures = content["envelope"]["signatures"]
    if not isinstance(signatures, list) or len(signatures) != 1:
        raise _Mismatch("the entry records another number of signatures")
    # NOTE: Rekor's intoto 0.0.2 type stores the envelope's base64 fields base64-encoded
    # once more: `sig` is base64 of the signature's base64 text, `publicKey` base64 of a PEM.
    signature = base64.b64decode(_b64(signatures[0]["sig"]), validate=True)
    verifier = signatures[0]["publicKey"]
    if not isinstance(verifier, str):
        raise _Mismatch("the entry records no verifier")
    return signature, verifier


def _managed_intoto_v002(spec: Any, expected: ExpectedEntry) -> None:
    assert expected.payload is not None  # noqa: S101 - the row is chosen for envelopes
    signature, verifier = _intoto_v002_signature(spec, expected.payload)
    if signature != expected.signature:
        raise _Mismatch("the entry records another signature")
    if _pem_key_der(verifier) != _spki(expected.public_key):
        raise _Mismatch("the entry records another public key")


def _managed_digest_v002(expected: ExpectedEntry) -> tuple[str, bytes]:
    """The (protobuf algorithm name, digest) a Rekor v2 entry records for `expected`."""
    if expected.payload is not None:
        # NOTE: Rekor v2 logs DSSE envelopes as hashedrekord entries over the PAE's digest
        # (rekor-tiles CLIENTS.md).
        assert expected.pae is not None  # noqa: S101 - set with payload
        prehash = _prehash_for(expected.public_key)
        if prehash is None:
            raise _Mismatch("an Ed25519 DSSE signature has no digest to log")
        algorithm, name = prehash
        return algorithm, hashlib.new(name, expected.pae).digest()
    name = expected.digest_algorithm or ""
    algorithm = next((k for k, v in _PROTO_HASHES.items() if v == name), "")
    return algorithm, expected.digest or b""


def _managed_hashedrekord_v002(spec: Any, expected: ExpectedEntry) -> None:
    entry = spec["hashedRekordV002"]
    algorithm, digest = _managed_digest_v002(expected)
    if entry["data"]["algorithm"] != algorithm or _b64(entry["data"]["digest"]) != digest:
        raise _Mismatch("the entry records another digest")
    if _b64(entry["signature"]["content"]) != expected.signature:
        raise _Mismatch("the entry records another signature")
    raw_key = entry["signature"]["verifier"]["publicKey"]["rawBytes"]
    if _b64(raw_key) != _spki(expected.public_key):
        raise _Mismatch("the entry records another public key")


def _check_managed_body(kind: str, version: str, body: bytes, expected: ExpectedEntry) -> None:
    """Raise `_Mismatch` unless the entry body records exactly this signature.

    A malformed body raises ValueError, KeyError or TypeError.
    """
    doc = jsonbound.loads(body)
    if not isinstance(doc, dict) or doc.get("kind") != kind or doc.get("apiVersion") != version:
        raise _Mismatch("the entry body is of another kind than its kindVersion")
    is_dsse = expected.payload is not None
    row = ENTRY_KINDS.get((kind, version))
    check = None if row is None else (row.managed_dsse if is_dsse else row.managed_message)
    if check is None:
        what = "an attestation" if is_dsse else "a signature"
        raise _Mismatch(f"a {kind}/{version} entry cannot record {what}")
    check(doc["spec"], expected)


def _json_body(body: bytes) -> Mapping[str, Any]:
    try:
        doc = jsonbound.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:  # TooDeep is a ValueError
        raise _Mismatch("the body is not JSON") from e
    if not isinstance(doc, Mapping):
        raise _Mismatch("the body is not a JSON object")
    return doc


def _get(obj: object, *path: str) -> object:
    for name in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(name)
    return obj


def _expect_api_version(doc: Mapping[str, Any], kind: str, version: str) -> None:
    # NOTE: Stricter than sigstore-python for dsse bodies (it accepts any semantic version
    # there); for hashedrekord 0.0.1 it also takes an absent apiVersion as 0.0.1.
    if doc.get("kind") != kind or doc.get("apiVersion", "0.0.1") != version:
        raise _Mismatch("the body is of another kind or version")


def _check_hashedrekord_v001(
    body: bytes, cert: x509.Certificate, signature: bytes, digest: bytes
) -> None:
    doc = _json_body(body)
    _expect_api_version(doc, "hashedrekord", "0.0.1")
    spec = doc.get("spec")
    if (
        _get(spec, "signature", "content") != base64.b64encode(signature).decode("ascii")
        or _get(spec, "signature", "publicKey", "content") != _pem_b64(cert)
        or _get(spec, "data", "hash", "algorithm") != "sha256"
        or _get(spec, "data", "hash", "value") != digest.hex()
    ):
        raise _Mismatch("the body records another signature, certificate or digest")


def _check_dsse_v001(body: bytes, cert: x509.Certificate, envelope: Envelope) -> None:
    doc = _json_body(body)
    _expect_api_version(doc, "dsse", "0.0.1")
    spec = doc.get("spec")
    if not isinstance(spec, Mapping):
        raise _Mismatch("the body has no spec")
    # NOTE: Rekor's dsse schema is one of two shapes: with the proposed content, or with the
    # envelope hash; a body must fit one (whatever else it has must be well-formed too).
    proposed, envelope_hash = spec.get("proposedContent"), spec.get("envelopeHash")
    if proposed is None and envelope_hash is None:
        raise _Mismatch("the body has neither proposedContent nor envelopeHash")
    if proposed is not None:
        verifiers = _get(proposed, "verifiers")
        if (
            not isinstance(_get(proposed, "envelope"), str)
            or not isinstance(verifiers, list)
            or not verifiers
            or not all(isinstance(v, str) for v in verifiers)
        ):
            raise _Mismatch("the body's proposedContent is malformed")
    if envelope_hash is not None and (
        _get(envelope_hash, "algorithm") != "sha256"
        or not isinstance(_get(envelope_hash, "value"), str)
    ):
        raise _Mismatch("the body's envelopeHash is malformed")
    # NOTE: the envelope hash itself cannot be checked (the envelope is uncanonicalised JSON);
    # the payload hash and the signatures can.
    if (
        _get(spec, "payloadHash", "algorithm") != "sha256"
        or _get(spec, "payloadHash", "value") != hashlib.sha256(envelope.payload).hexdigest()
    ):
        raise _Mismatch("the body records another payload")
    recorded = spec.get("signatures")
    wanted = [
        (base64.b64encode(s.sig).decode("ascii"), _pem_b64(cert)) for s in envelope.signatures
    ]
    if (
        not isinstance(recorded, list)
        or [(_get(s, "signature"), _get(s, "verifier")) for s in recorded] != wanted
    ):
        raise _Mismatch("the body records other signatures")


def _exact(
    value: object, members: frozenset[str], what: str, *, nullable: frozenset[str] = frozenset()
) -> Mapping[str, Any]:
    """A JSON object with exactly `members`, plus `nullable` ones present only as null."""
    if not isinstance(value, Mapping):
        raise _Mismatch(f"the body's {what} is not an object")
    for name, item in value.items():
        if name in nullable and item is None:
            continue
        if name not in members:
            raise _Mismatch(f"the body's {what} has an unexpected {name!r}")
    if not members <= set(value):
        raise _Mismatch(f"the body's {what} lacks a member")
    return value


def _b64_equals(value: object, expected: bytes) -> bool:
    # NOTE: standard, padded base64 as Rekor writes it. sigstore-python decodes these fields
    # leniently (skipping stray characters), so this is stricter only on bodies no log writes.
    if not isinstance(value, str):
        return False
    try:
        return base64.b64decode(value, validate=True) == expected
    except binascii.Error:
        return False


_KEY_DETAILS = {
    "secp256r1": ("PKIX_ECDSA_P256_SHA_256", "SHA2_256", "sha256"),
    "secp384r1": ("PKIX_ECDSA_P384_SHA_384", "SHA2_384", "sha384"),
    "secp521r1": ("PKIX_ECDSA_P521_SHA_512", "SHA2_512", "sha512"),
}


def _check_hashedrekord_v002(
    body: bytes,
    entry: LogEntry,
    cert: x509.Certificate,
    signature: bytes,
    algorithm: str,
    digest: bytes,
) -> None:
    # NOTE: Rekor v2 bodies are protobuf messages in JSON, compared field by field and with
    # no unknown member (sigstore-python's models forbid extras).
    doc = _exact(_json_body(body), frozenset({"kind", "apiVersion", "spec"}), "entry")
    if doc["kind"] != entry.kind or doc["apiVersion"] != entry.version:
        raise _Mismatch("the body is of another kind or version")
    spec = _exact(
        doc["spec"], frozenset({"hashedRekordV002"}), "spec", nullable=frozenset({"dsseV002"})
    )
    record = _exact(spec["hashedRekordV002"], frozenset({"data", "signature"}), "record")
    data = _exact(record["data"], frozenset({"algorithm", "digest"}), "data")
    sig = _exact(record["signature"], frozenset({"content", "verifier"}), "signature")
    if (
        data["algorithm"] != algorithm
        or not _b64_equals(data["digest"], digest)
        or not _b64_equals(sig["content"], signature)
        or not _v002_verifier_is(sig["verifier"], cert)
    ):
        raise _Mismatch("the body records another signature, certificate or digest")


def _v002_verifier_is(value: object, cert: x509.Certificate) -> bool:
    """Whether a Rekor v2 verifier names `cert`: the certificate itself (sigstore-python,
    sigstore-go), or its public key (sigstore-js), with the key's details."""
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)  # noqa: S101 - the signature verified
    if not isinstance(value, Mapping) or "keyDetails" not in value or not set(value) <= {
            "keyDetails", "publicKey", "x509Certificate"}:
        raise _Mismatch("the body's verifier has unexpected or missing members")
    verifier = value
    certificate, public_key = verifier.get("x509Certificate"), verifier.get("publicKey")
    if (certificate is None) == (public_key is None):
        raise _Mismatch("the body's verifier names no key, or two")
    if certificate is not None:
        recorded = _exact(certificate, frozenset({"rawBytes"}), "certificate")["rawBytes"]
        wanted = cert.public_bytes(serialization.Encoding.DER)
    else:
        recorded = _exact(public_key, frozenset({"rawBytes"}), "public key")["rawBytes"]
        wanted = _spki(key)
    return bool(verifier["keyDetails"] == _KEY_DETAILS[key.curve.name][0]
                and _b64_equals(recorded, wanted))


def _keyless_hashedrekord_v001(
    entry: LogEntry, cert: x509.Certificate, signature: bytes, digest: bytes
) -> None:
    _check_hashedrekord_v001(entry.body, cert, signature, digest)


def _keyless_hashedrekord_v002(
    entry: LogEntry, cert: x509.Certificate, signature: bytes, digest: bytes
) -> None:
    _check_hashedrekord_v002(entry.body, entry, cert, signature, "SHA2_256", digest)


def _keyless_dsse_v001(entry: LogEntry, cert: x509.Certificate, envelope: Envelope) -> None:
    _check_dsse_v001(entry.body, cert, envelope)


def _keyless_intoto_v002(entry: LogEntry, cert: x509.Certificate, envelope: Envelope) -> None:
    doc = _json_body(entry.body)
    _expect_api_version(doc, "intoto", "0.0.2")
    from cryptography import x509

    try:
        signature, verifier = _intoto_v002_signature(doc["spec"], envelope.payload)
        # As sigstore-go: the recorded certificate is compared as a certificate, not as text.
        recorded = x509.load_pem_x509_certificate(_b64(verifier))
    except (KeyError, TypeError, ValueError, x509.InvalidVersion) as e:
        raise _Mismatch("the body is not an intoto 0.0.2 entry") from e
    if signature != envelope.signatures[0].sig or recorded != cert:
        raise _Mismatch("the body records another signature or certificate")


def _keyless_dsse_in_hashedrekord_v002(
    entry: LogEntry, cert: x509.Certificate, envelope: Envelope
) -> None:
    # NOTE: Rekor v2 logs an envelope as a hashedrekord over the PAE's digest in the hash of
    # the key's algorithm (rekor-v2 spec 6.1.4).
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)  # noqa: S101 - verified
    _, algorithm, name = _KEY_DETAILS[key.curve.name]
    digest = hashlib.new(name, envelope.pae()).digest()
    _check_hashedrekord_v002(entry.body, entry, cert, envelope.signatures[0].sig, algorithm, digest)


ManagedCheck = Callable[[Any, "ExpectedEntry"], None]
KeylessMessageCheck = Callable[[LogEntry, "x509.Certificate", bytes, bytes], None]
KeylessDsseCheck = Callable[[LogEntry, "x509.Certificate", Envelope], None]


@dataclass(frozen=True)
class EntryKind:
    """How one Rekor entry kind and version records a signature or an attestation.

    Each check raises `_Mismatch` when the body records something other than the bundle;
    `None` means the kind cannot record that (a dsse entry holds no message signature).
    Managed-key bundles are compared with the key, keyless ones with the certificate.
    """

    managed_message: ManagedCheck | None
    managed_dsse: ManagedCheck | None
    keyless_message: KeylessMessageCheck | None
    keyless_dsse: KeylessDsseCheck | None


#: Every log-entry kind the verifier reads, by (kind, apiVersion). A new kind is one row.
#: NOTE: the managed-key and keyless checks of one row differ in how strictly they read the
#: body (the keyless ones refuse unknown members of Rekor v2 bodies, as sigstore-python's
#: models do; the managed-key ones read only the members they compare).
ENTRY_KINDS: dict[tuple[str, str], EntryKind] = {
    ("hashedrekord", "0.0.1"): EntryKind(
        _managed_hashedrekord_v001, None, _keyless_hashedrekord_v001, None
    ),
    ("dsse", "0.0.1"): EntryKind(None, _managed_dsse_v001, None, _keyless_dsse_v001),
    # npm provenance and older cosign attestations (Rekor v1)
    ("intoto", "0.0.2"): EntryKind(None, _managed_intoto_v002, None, _keyless_intoto_v002),
    # NOTE: no `dsse` 0.0.2 (Rekor v2 as sigstore-js logs attestations): sigstore-go refuses
    # every Rekor v2 kind but hashedrekord, so its absence here is agreement, not a gap.
    ("hashedrekord", "0.0.2"): EntryKind(
        _managed_hashedrekord_v002,
        _managed_hashedrekord_v002,
        _keyless_hashedrekord_v002,
        _keyless_dsse_in_hashedrekord_v002,
    ),
}


def _unsupported(entry: LogEntry, *, attestation: bool) -> VerificationError:
    if attestation:
        return VerificationError("unsupported transparency log entry kind")
    if entry.kind != "hashedrekord":
        return VerificationError("transparency log entry does not match the bundle")
    return VerificationError("unsupported transparency log entry version")


def _check_keyless_body(
    entry: LogEntry,
    cert: x509.Certificate,
    *,
    message: tuple[bytes, bytes] | None,
    envelope: Envelope | None,
) -> None:
    """Whether the entry's body records this bundle (CVE-2022-36056).

    `message` is (signature, artifact SHA-256) for an artifact signature; `envelope` the DSSE
    envelope of an attestation.

    Raises:
        VerificationError: it records something else, or is of a kind that cannot.
    """
    row = ENTRY_KINDS.get((entry.kind, entry.version))
    try:
        if message is not None:
            if row is None or row.keyless_message is None:
                raise _unsupported(entry, attestation=False)
            row.keyless_message(entry, cert, *message)
        else:
            assert envelope is not None  # noqa: S101 - one of the two is given
            if row is None or row.keyless_dsse is None:
                raise _unsupported(entry, attestation=True)
            row.keyless_dsse(entry, cert, envelope)
    except _Mismatch as e:
        raise VerificationError("transparency log entry does not match the bundle") from e


@dataclass(frozen=True)
class ExpectedEntry:
    """What a managed-key bundle's log entry must record."""

    public_key: VerifyingKey
    signature: bytes
    digest_algorithm: str | None = None
    """For a message signature: the hashlib name of `digest` (`sha256`, `sha384`)."""
    digest: bytes | None = None
    """For a message signature: the artifact digest that was signed."""
    payload: bytes | None = None
    """For a DSSE envelope: the payload."""
    pae: bytes | None = None
    """For a DSSE envelope: the bytes signed (the PAE)."""


def _pem_key_der(content: object) -> bytes:
    loaded = serialization.load_pem_public_key(_b64(content))
    return loaded.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _prehash_for(key: VerifyingKey) -> tuple[str, str] | None:
    if isinstance(key, rsa.RSAPublicKey):
        return "SHA2_256", "sha256"
    if isinstance(key, ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP384R1):
            return "SHA2_384", "sha384"
        return "SHA2_256", "sha256"
    # NOTE: Rekor v2 logs a digest; pure Ed25519 has none (rekor-tiles, algorithm registry).
    return None
