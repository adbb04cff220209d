"""cosign's tag-based image signatures and attestations (before the bundle format):
`sha256-<hex>.sig` and `sha256-<hex>.att`.

cosign 1.x and 2.x (without `--new-bundle-format`) store an image's signatures as an image
tagged `sha256-<hex>.sig`; each layer is a simple-signing payload
(`application/vnd.dev.cosign.simplesigning.v1+json`) naming the image's manifest digest
(`critical.image.docker-manifest-digest`), with its signature and verification material in
the layer's annotations:

- `dev.cosignproject.cosign/signature`: the base64 signature over the payload;
- `dev.sigstore.cosign/certificate` and `dev.sigstore.cosign/chain`: PEM, for keyless;
- `dev.sigstore.cosign/bundle`: the Rekor entry (`SignedEntryTimestamp` and `Payload` with
  `body`, `integratedTime`, `logIndex`, `logID`);
- `dev.sigstore.cosign/rfc3161timestamp`: an RFC 3161 timestamp (not read here).

Each layer is rewritten as the v0.1 Sigstore bundle it amounts to (a message signature over
the payload, its log entry with the inclusion promise), so the one verifier checks it; the
verifier's caller then checks that the payload names the image.

`cosign attest` (before the bundle format) stores attestations the same way under
`sha256-<hex>.att`: each layer (`application/vnd.dsse.envelope.v1+json`) is a DSSE envelope
with one signature, the certificate, chain and Rekor entry in the same annotations. Each is
rewritten as a v0.1 bundle holding that envelope, and verified like any attestation (its
statement's subject must carry the image's digest).
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from sbomsign._internal import jsonbound
from sbomsign._internal.oci import compact_json
from sbomsign._internal.oci.store import Store, tag_schema
from sbomsign._internal.sources.streams import MAX_DOCUMENT_BYTES, json_object
from sbomsign.errors import Error, InputError

if TYPE_CHECKING:
    from sbomsign._internal.oci.referrers import Found

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json"
_SIGNATURE = "dev.cosignproject.cosign/signature"
_CERTIFICATE = "dev.sigstore.cosign/certificate"
_CHAIN = "dev.sigstore.cosign/chain"
_REKOR = "dev.sigstore.cosign/bundle"
#: Most signature layers read from one `.sig` image.
_MAX_LAYERS = 64


def find(store: Store, subject: str, into: Found) -> None:
    """Add the `.sig` image's signatures and the `.att` image's attestations of `subject` to
    `into` (nothing when there are none)."""
    for suffix in (".sig", ".att"):
        tag = tag_schema(subject) + suffix
        name = f"{store.name}:{tag}"
        try:
            layers = _layers(store, tag, name)
        except Error as e:
            into.failures.append((name, e.about(name)))
            continue
        for i, layer in enumerate(layers):
            where = f"{name}#{i}"
            try:
                if suffix == ".sig":
                    payload, bundle = _signature(store, layer, where)
                    into.legacy.append((where, payload, bundle))
                else:
                    into.bundles.append((where, _attestation(store, layer, where)))
            except Error as e:
                into.failures.append((where, e.about(where)))


def _layers(store: Store, tag: str, name: str) -> list[Any]:
    desc = store.find(tag)
    if desc is None:
        return []
    manifest = json_object(store.manifest(desc), name)
    layers = manifest.get("layers")
    if not isinstance(layers, list) or len(layers) > _MAX_LAYERS:
        raise InputError(f"{name}: no layer list, or more than {_MAX_LAYERS} layers")
    return layers


def _blob(store: Store, layer: Any, media_type: str, where: str) -> bytes:
    if not isinstance(layer, dict) or layer.get("mediaType") != media_type:
        raise InputError(f"{where}: not a {media_type} layer")
    size = layer.get("size")
    if not isinstance(size, int) or not 0 <= size <= MAX_DOCUMENT_BYTES:
        raise InputError(f"{where}: a layer of {size} bytes")
    stream = store.blob(layer)
    data = bytes(stream.read(size + 1))
    stream.drain()
    return data


def _signature(store: Store, layer: Any, where: str) -> tuple[bytes, bytes]:
    payload = _blob(store, layer, SIMPLE_SIGNING, where)
    annotations = layer.get("annotations")
    if not isinstance(annotations, dict) or not isinstance(annotations.get(_SIGNATURE), str):
        raise InputError(f"{where}: no signature annotation")
    return payload, as_bundle(payload, annotations, where)


def _attestation(store: Store, layer: Any, where: str) -> bytes:
    """A `.att` layer (a DSSE envelope, its material in the annotations) as a v0.1 bundle."""
    envelope = json_object(_blob(store, layer, DSSE_ENVELOPE, where), where)
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or len(signatures) != 1 or not isinstance(
            signatures[0], dict):
        raise InputError(f"{where}: not a DSSE envelope with one signature")
    annotations = layer.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise InputError(f"{where}: malformed annotations")
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": _material(annotations, where),
        "dsseEnvelope": {
            "payload": envelope.get("payload"),
            "payloadType": envelope.get("payloadType"),
            "signatures": [{"sig": signatures[0].get("sig"),
                            "keyid": signatures[0].get("keyid") or ""}],
        },
    }
    return compact_json(bundle)


def _material(annotations: dict[str, Any], where: str) -> dict[str, Any]:
    material: dict[str, Any] = {}
    certs = _pem_certificates(annotations, where)
    material["x509CertificateChain" if certs else "publicKey"] = (
        {"certificates": [{"rawBytes": c} for c in certs]} if certs else {})
    rekor = annotations.get(_REKOR)
    material["tlogEntries"] = [_entry(rekor, where)] if isinstance(rekor, str) else []
    return material


def as_bundle(payload: bytes, annotations: dict[str, Any], where: str) -> bytes:
    """The v0.1 Sigstore bundle a legacy signature layer amounts to.

    Raises:
        InputError: an annotation is malformed.
    """
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": _material(annotations, where),
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": base64.b64encode(
                hashlib.sha256(payload).digest()).decode()},
            "signature": annotations[_SIGNATURE],
        },
    }
    return compact_json(bundle)


def _pem_certificates(annotations: dict[str, Any], where: str) -> list[str]:
    """The leaf and chain, as base64 DER, leaf first."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    out: list[str] = []
    for key in (_CERTIFICATE, _CHAIN):
        pem = annotations.get(key)
        if not isinstance(pem, str) or not pem.strip():
            continue
        try:
            certs = x509.load_pem_x509_certificates(pem.encode())
        except ValueError as e:
            raise InputError(f"{where}: {key}: not PEM certificates ({e})") from None
        out.extend(base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in certs)
    return out


def _entry(raw: str, where: str) -> dict[str, Any]:
    try:
        doc = jsonbound.loads(raw.encode())
        payload = doc["Payload"]
        body = base64.b64decode(payload["body"], validate=True)
        kind = jsonbound.loads(body)
        return {
            "logIndex": str(int(payload["logIndex"])),
            "logId": {"keyId": base64.b64encode(bytes.fromhex(payload["logID"])).decode()},
            "kindVersion": {"kind": str(kind["kind"]), "version": str(kind["apiVersion"])},
            "integratedTime": str(int(payload["integratedTime"])),
            "inclusionPromise": {"signedEntryTimestamp": str(doc["SignedEntryTimestamp"])},
            "canonicalizedBody": str(payload["body"]),
        }
    except (ValueError, KeyError, TypeError, jsonbound.TooDeep) as e:
        raise InputError(f"{where}: {_REKOR} is malformed ({type(e).__name__})") from None


def signed_digest(payload: bytes) -> str:
    """The manifest digest a simple-signing payload signs.

    Raises:
        InputError: not a cosign simple-signing payload.
    """
    try:
        doc = json_object(payload, "simple-signing payload")
        critical = doc["critical"]
        digest = critical["image"]["docker-manifest-digest"]
        kind = critical["type"]
    except (KeyError, TypeError):
        raise InputError("the payload is not a cosign simple-signing payload") from None
    if kind != "cosign container image signature" or not isinstance(digest, str):
        raise InputError("the payload is not a cosign container image signature")
    return digest
