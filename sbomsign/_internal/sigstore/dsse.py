"""DSSE envelopes (Dead Simple Signing Envelope v1.0), as Sigstore bundles carry them.

What is signed is not the payload but its pre-authentication encoding (PAE):
`"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths in ASCII decimal bytes
(secure-systems-lab/dsse `protocol.md`). A Sigstore bundle's envelope holds exactly one
signature (protobuf-specs `sigstore_bundle.proto`).

JSON shape: `{"payload": b64, "payloadType": str, "signatures": [{"keyid": str, "sig": b64}]}`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sbomsign._internal.keys import SigningKey
from sbomsign.errors import InputError


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE v1 pre-authentication encoding of a payload: the bytes a signature covers."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


_B64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")


def decode_base64(value: object, what: str) -> bytes:
    """Decode a base64 JSON field, standard or URL-safe alphabet, padded or not.

    DSSE allows either alphabet and protobuf's JSON mapping accepts both, so readers must too.

    Raises:
        InputError: the value is not a base64 string.
    """
    if not isinstance(value, str) or not _B64.fullmatch(value):
        raise InputError(f"{what} is not base64")
    text = value.rstrip("=").replace("-", "+").replace("_", "/")
    if len(text) % 4 == 1:
        raise InputError(f"{what} is not base64")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as e:
        raise InputError(f"{what} is not base64") from e


def encode_base64(data: bytes) -> str:
    """Standard, padded base64, as protobuf's JSON mapping and cosign write bytes."""
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class Signature:
    """One DSSE signature."""

    sig: bytes
    keyid: str | None = None


@dataclass(frozen=True)
class Envelope:
    """A decoded DSSE envelope."""

    payload: bytes
    payload_type: str
    signatures: tuple[Signature, ...]

    def pae(self) -> bytes:
        """The bytes the signatures cover."""
        return pae(self.payload_type, self.payload)

    def to_json(self) -> dict[str, Any]:
        """The envelope's JSON object (protobuf JSON mapping field names)."""
        signatures = []
        for s in self.signatures:
            entry = {"sig": encode_base64(s.sig)}
            if s.keyid:
                entry["keyid"] = s.keyid
            signatures.append(entry)
        return {
            "payload": encode_base64(self.payload),
            "payloadType": self.payload_type,
            "signatures": signatures,
        }


def sign_envelope(payload: bytes, payload_type: str, key: SigningKey) -> dict[str, Any]:
    """Sign `payload` into a single-signature DSSE envelope (JSON object).

    The signature's `keyid` is the key's hint, which a Sigstore bundle with a `publicKey`
    verification material must repeat as `publicKey.hint`.

    Raises:
        SigningError: the key refused to sign.
    """
    sig = key.sign(pae(payload_type, payload))
    return Envelope(payload, payload_type, (Signature(sig, key.hint),)).to_json()


def parse_envelope(obj: object) -> Envelope:
    """Decode a DSSE envelope JSON object; unknown members are ignored.

    Raises:
        InputError: a required member is missing or malformed.
    """
    if not isinstance(obj, Mapping):
        raise InputError("DSSE envelope is not a JSON object")
    payload_type = obj.get("payloadType")
    if not isinstance(payload_type, str) or not payload_type:
        raise InputError("DSSE envelope has no payloadType")
    payload = decode_base64(obj.get("payload"), "DSSE payload")
    raw_sigs = obj.get("signatures")
    if not isinstance(raw_sigs, list) or not raw_sigs:
        raise InputError("DSSE envelope has no signatures")
    signatures = []
    for raw in raw_sigs:
        if not isinstance(raw, Mapping):
            raise InputError("DSSE signature is not a JSON object")
        keyid = raw.get("keyid")
        if keyid is not None and not isinstance(keyid, str):
            raise InputError("DSSE keyid is not a string")
        signatures.append(Signature(decode_base64(raw.get("sig"), "DSSE signature"), keyid or None))
    return Envelope(payload, payload_type, tuple(signatures))


def envelope_pae(envelope: Mapping[str, Any] | Envelope) -> bytes:
    """The PAE of an envelope (JSON object or `Envelope`): what its signatures cover.

    Raises:
        InputError: the envelope is malformed.
    """
    if not isinstance(envelope, Envelope):
        envelope = parse_envelope(envelope)
    return envelope.pae()
