"""Sigstore bundles: writing v0.3 bundles for managed keys, reading v0.1 to v0.3.

Field names and encodings follow the protobuf JSON mapping of protobuf-specs
`sigstore_bundle.proto`: camelCase members, `bytes` as standard base64, 64-bit integers as
strings.

A managed-key bundle written here names its key by `verificationMaterial.publicKey.hint`
(base64 sha256 of the DER SubjectPublicKeyInfo) and has an empty `tlogEntries`: nothing was
logged, and the bundle says so rather than pretending. sigstore-python refuses such bundles
(it requires a certificate and one log entry); cosign verifies them with `--key` and
`--insecure-ignore-tlog`, and so will sbomsign's verifier.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sbomsign._internal import jsonbound
from sbomsign._internal.limits import exceeded
from sbomsign._internal.sigstore.dsse import (
    Envelope,
    decode_base64,
    encode_base64,
    parse_envelope,
)
from sbomsign._internal.sigstore.trustroot import MAX_TIMESTAMPS
from sbomsign.errors import InputError

MEDIA_TYPE_V0_3 = "application/vnd.dev.sigstore.bundle.v0.3+json"

#: Every accepted media type -> bundle version.
MEDIA_TYPES: dict[str, str] = {
    "application/vnd.dev.sigstore.bundle+json;version=0.1": "0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2": "0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3": "0.3",
    MEDIA_TYPE_V0_3: "0.3",
}

#: hashlib name -> protobuf-specs `HashAlgorithm` enum name, for `messageDigest.algorithm`.
HASH_ALGORITHMS: dict[str, str] = {
    "sha256": "SHA2_256",
    "sha384": "SHA2_384",
    "sha512": "SHA2_512",
    "sha3_256": "SHA3_256",
    "sha3_384": "SHA3_384",
}

MaterialKind = Literal["publicKey", "certificate", "x509CertificateChain"]


def _serialise(bundle: Mapping[str, Any]) -> bytes:
    # NOTE: compact and in protobuf field order (mediaType first), like sigstore-python and
    # cosign write bundles; the bundle is the signed object's container, not signed itself.
    return json.dumps(bundle, separators=(",", ":")).encode("utf-8")


def _material(hint: str) -> dict[str, Any]:
    return {"publicKey": {"hint": hint}, "tlogEntries": []}


def message_signature_bundle(
    *, hint: str, digest: bytes, signature: bytes, hash_algorithm: str = "sha256"
) -> bytes:
    """A v0.3 bundle holding a signature over an artifact, for a managed key.

    `digest` is the artifact's digest with `hash_algorithm` (hashlib name), recorded as
    `messageSignature.messageDigest`; `signature` is the raw signature bytes.

    Raises:
        InputError: the hash algorithm has no protobuf-specs name.
    """
    if hash_algorithm not in HASH_ALGORITHMS:
        raise InputError(f"bundle: unsupported message digest algorithm {hash_algorithm}")
    return _serialise(
        {
            "mediaType": MEDIA_TYPE_V0_3,
            "verificationMaterial": _material(hint),
            "messageSignature": {
                "messageDigest": {
                    "algorithm": HASH_ALGORITHMS[hash_algorithm],
                    "digest": encode_base64(digest),
                },
                "signature": encode_base64(signature),
            },
        }
    )


def dsse_bundle(*, hint: str, envelope: Mapping[str, Any]) -> bytes:
    """A v0.3 bundle holding a DSSE envelope (JSON object) signed by a managed key.

    Raises:
        InputError: the envelope is malformed, has other than one signature, or its `keyid`
            differs from `hint` (protobuf-specs requires them to match).
    """
    parsed = parse_envelope(envelope)
    if len(parsed.signatures) != 1:
        raise InputError("bundle: a DSSE envelope in a bundle must have exactly one signature")
    keyid = parsed.signatures[0].keyid
    if keyid is not None and keyid != hint:
        raise InputError("bundle: the DSSE keyid differs from the public key hint")
    return _serialise(
        {
            "mediaType": MEDIA_TYPE_V0_3,
            "verificationMaterial": _material(hint),
            "dsseEnvelope": parsed.to_json(),
        }
    )


# -- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageSignature:
    """`messageSignature`: a signature over the artifact, and (optionally) its digest."""

    signature: bytes
    digest_algorithm: str | None = None
    """The protobuf-specs name, `SHA2_256`, ..., or None when `messageDigest` is absent."""
    digest: bytes | None = None


@dataclass(frozen=True)
class ParsedBundle:
    """A structural view of a Sigstore bundle; nothing in it has been verified."""

    media_type: str
    version: str
    """`0.1`, `0.2` or `0.3`."""
    material: MaterialKind
    hint: str | None
    """`publicKey.hint`, for managed-key bundles (may be absent even then)."""
    certificate: bytes | None
    """The DER leaf certificate (`certificate`, or the first of `x509CertificateChain`)."""
    chain: tuple[bytes, ...]
    """The rest of `x509CertificateChain`, DER."""
    message_signature: MessageSignature | None
    dsse_envelope: Envelope | None
    tlog_entries: tuple[Mapping[str, Any], ...]
    """The raw `tlogEntries` JSON objects."""
    rfc3161_timestamps: tuple[bytes, ...]
    """DER `signedTimestamp`s of `timestampVerificationData`."""
    raw: Mapping[str, Any]
    """The whole bundle JSON object."""

    @property
    def signature(self) -> bytes:
        """The one signature: of the message, or of the DSSE envelope."""
        if self.message_signature is not None:
            return self.message_signature.signature
        assert self.dsse_envelope is not None  # noqa: S101 - parse_bundle guarantees one
        return self.dsse_envelope.signatures[0].sig


def _object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"bundle: {what} is not a JSON object")
    return value


#: Fixed bounds on the lists of one bundle: what a client writes is one log entry, at most a
#: few timestamps and a chain of two or three certificates; more is not a bundle anyone signed.
MAX_LOG_ENTRIES = 32
MAX_CHAIN_CERTIFICATES = 10


def _bounded(items: list[Any], most: int, what: str) -> list[Any]:
    if len(items) > most:
        raise exceeded("bundle", what, most)
    return items


def _timestamps(vm: Mapping[str, Any]) -> tuple[bytes, ...]:
    """The RFC 3161 timestamps of `timestampVerificationData`, decoded."""
    tvd = vm.get("timestampVerificationData")
    if tvd is not None:
        raw_ts = _object(tvd, "timestampVerificationData").get("rfc3161Timestamps", [])
        if not isinstance(raw_ts, list):
            raise InputError("bundle: rfc3161Timestamps is not a list")
        _bounded(raw_ts, MAX_TIMESTAMPS, "RFC 3161 timestamps")
        return tuple(
            decode_base64(_object(t, "timestamp").get("signedTimestamp"), "bundle timestamp")
            for t in raw_ts
        )
    return ()


def parse_bundle(data: bytes) -> ParsedBundle:
    """Parse a Sigstore bundle (v0.1, v0.2, v0.3; both v0.3 media-type spellings).

    Checks structure only: one verification material, one content, base64 fields, a DSSE
    envelope with exactly one signature. Unknown members are ignored.

    Raises:
        InputError: not JSON, an unknown media type, or a malformed bundle.
    """
    try:
        doc = jsonbound.loads(data)
    except jsonbound.TooDeep as e:
        raise InputError(f"bundle {e}") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError("bundle is not JSON") from e
    doc = _object(doc, "the bundle")
    media_type = doc.get("mediaType")
    if not isinstance(media_type, str) or media_type not in MEDIA_TYPES:
        raise InputError(f"unsupported bundle media type {media_type!r}")
    vm = _object(doc.get("verificationMaterial"), "verificationMaterial")

    present = [k for k in ("publicKey", "certificate", "x509CertificateChain") if k in vm]
    if len(present) != 1:
        raise InputError(
            "bundle: verificationMaterial needs exactly one of publicKey, certificate,"
            " x509CertificateChain"
        )
    material: MaterialKind
    hint: str | None = None
    certificate: bytes | None = None
    chain: tuple[bytes, ...] = ()
    if "publicKey" in vm:
        material = "publicKey"
        raw_hint = _object(vm["publicKey"], "publicKey").get("hint")
        if raw_hint is not None and not isinstance(raw_hint, str):
            raise InputError("bundle: publicKey.hint is not a string")
        hint = raw_hint or None
    elif "certificate" in vm:
        material = "certificate"
        cert = _object(vm["certificate"], "certificate")
        certificate = decode_base64(cert.get("rawBytes"), "bundle certificate")
    else:
        material = "x509CertificateChain"
        certs = _object(vm["x509CertificateChain"], "x509CertificateChain").get("certificates")
        if not isinstance(certs, list) or not certs:
            raise InputError("bundle: empty x509CertificateChain")
        _bounded(certs, MAX_CHAIN_CERTIFICATES, "certificates in x509CertificateChain")
        ders = [
            decode_base64(_object(c, "certificate").get("rawBytes"), "bundle certificate")
            for c in certs
        ]
        certificate, chain = ders[0], tuple(ders[1:])

    entries = vm.get("tlogEntries", [])
    if not isinstance(entries, list):
        raise InputError("bundle: tlogEntries is not a list")
    _bounded(entries, MAX_LOG_ENTRIES, "transparency log entries")
    tlog_entries = tuple(_object(e, "tlog entry") for e in entries)

    timestamps = _timestamps(vm)

    if ("messageSignature" in doc) == ("dsseEnvelope" in doc):
        raise InputError("bundle needs exactly one of messageSignature and dsseEnvelope")
    message_signature: MessageSignature | None = None
    envelope: Envelope | None = None
    if "messageSignature" in doc:
        ms = _object(doc["messageSignature"], "messageSignature")
        signature = decode_base64(ms.get("signature"), "bundle signature")
        algorithm: str | None = None
        digest: bytes | None = None
        if ms.get("messageDigest") is not None:
            md = _object(ms["messageDigest"], "messageDigest")
            algorithm = md.get("algorithm")
            if not isinstance(algorithm, str):
                raise InputError("bundle: messageDigest.algorithm is not a string")
            digest = decode_base64(md.get("digest"), "bundle message digest")
        message_signature = MessageSignature(signature, algorithm, digest)
    else:
        envelope = parse_envelope(doc["dsseEnvelope"])
        if len(envelope.signatures) != 1:
            raise InputError("bundle: the DSSE envelope must have exactly one signature")

    return ParsedBundle(
        media_type=media_type,
        version=MEDIA_TYPES[media_type],
        material=material,
        hint=hint,
        certificate=certificate,
        chain=chain,
        message_signature=message_signature,
        dsse_envelope=envelope,
        tlog_entries=tlog_entries,
        rfc3161_timestamps=timestamps,
        raw=doc,
    )
