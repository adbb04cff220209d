"""A Rekor v2 log (rekor-tiles' write API), in memory.

`POST /api/v2/log/entries` takes a `CreateEntryRequest` with a `hashedRekordRequestV002`
(sigstore-python logs a DSSE envelope so too, over its PAE's digest) or a `dsseRequestV002`
(the envelope and its verifiers, as sigstore-js logs attestations); a verifier is a
certificate or, as sigstore-js sends it, a public key. It checks the signature, appends the
canonical `hashedrekord/0.0.2` or `dsse/0.0.2` body to an RFC 6962 tree and answers the
`TransparencyLogEntry` as
rekor-tiles does: `kindVersion` hashedrekord 0.0.2, `integratedTime` 0 (a v2 log vouches for
no time; a timestamp authority does), no inclusion promise, an inclusion proof with a signed
checkpoint whose origin and signer name are the log's host (the c2sp signed-note shape),
signed with the log's ECDSA key, the key hint the first four bytes of the log id.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from tests.sigstore_local import _crypto
from tests.sigstore_local._http import HttpError, Request, Response, Service
from tests.sigstore_local.merkle import MerkleTree, leaf_hash

#: keyDetails -> (the digest algorithm the body names, hashlib name).
_KEY_DETAILS = {
    "PKIX_ECDSA_P256_SHA_256": ("SHA2_256", "sha256"),
    "PKIX_ECDSA_P384_SHA_384": ("SHA2_384", "sha384"),
}


class RekorV2(Service):
    """The Rekor v2 service."""

    name = "rekor-v2"

    def __init__(self, key: ec.EllipticCurvePrivateKey, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        """A log signing its checkpoints with `key`."""
        super().__init__(host, port)
        self.key = key
        self.log_id = _crypto.key_id(key.public_key())
        self.tree = MerkleTree()
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()
        self.route("POST", "/api/v2/log/entries", self._create)

    def checkpoint(self, size: int) -> str:
        """The signed note for the tree of `size` entries; origin and name are the host."""
        note = f"{self.host}\n{size}\n{_crypto.b64(self.tree.root(size))}\n"
        signature = _crypto.sign_ecdsa(self.key, note.encode())
        return f"{note}\n\u2014 {self.host} {_crypto.b64(self.log_id[:4] + signature)}\n"

    def _create(self, request: Request) -> Response:
        body = _body(request.json())
        kind = json.loads(body)["kind"]
        with self._lock:
            index = self.tree.append(leaf_hash(body))
            self.bodies.append(body)
            size = len(self.tree)
            proof = self.tree.inclusion_proof(index, size)
            checkpoint = self.checkpoint(size)
        return Response.json(201, {
            "logIndex": str(index),
            "logId": {"keyId": _crypto.b64(self.log_id)},
            "kindVersion": {"kind": kind, "version": "0.0.2"},
            "integratedTime": "0",
            "inclusionProof": {
                "logIndex": str(index),
                "rootHash": _crypto.b64(self.tree.root(size)),
                "treeSize": str(size),
                "hashes": [_crypto.b64(h) for h in proof],
                "checkpoint": {"envelope": checkpoint},
            },
            "canonicalizedBody": _crypto.b64(body),
        })


def _body(request: Any) -> bytes:
    """The canonical body (hashedrekord or dsse, 0.0.2) of a request whose signature
    verifies.

    Raises:
        HttpError: 400 for anything else.
    """
    try:
        if "dsseRequestV002" in request:
            body = _dsse_body(request["dsseRequestV002"])
        else:
            body = _hashedrekord_body(request["hashedRekordRequestV002"])
    except (KeyError, TypeError, ValueError) as e:
        raise HttpError(400, f"not a Rekor v2 request ({type(e).__name__})") from e
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _key(verifier: Any) -> tuple[Any, str]:
    """The verifying key of a request's verifier (a certificate, or, as sigstore-js sends,
    a public key) and its hashlib name."""
    _, hash_name = _KEY_DETAILS[verifier["keyDetails"]]
    if "x509Certificate" in verifier:
        der = base64.b64decode(verifier["x509Certificate"]["rawBytes"], validate=True)
        return x509.load_der_x509_certificate(der).public_key(), hash_name
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    der = base64.b64decode(verifier["publicKey"]["rawBytes"], validate=True)
    return load_der_public_key(der), hash_name


def _verified(key: Any, signature: bytes, digest: bytes, hash_name: str) -> None:
    try:
        _crypto.verify_digest(key, signature, digest, hash_name)
    except _crypto.CryptoError as e:
        raise HttpError(400, f"the signature does not verify: {e}") from e


def _hashedrekord_body(record: Any) -> dict[str, Any]:
    digest = base64.b64decode(record["digest"], validate=True)
    signature = base64.b64decode(record["signature"]["content"], validate=True)
    verifier = record["signature"]["verifier"]
    key, hash_name = _key(verifier)
    _verified(key, signature, digest, hash_name)
    return {"apiVersion": "0.0.2", "kind": "hashedrekord", "spec": {"hashedRekordV002": {
        "data": {"algorithm": _KEY_DETAILS[verifier["keyDetails"]][0],
                 "digest": _crypto.b64(digest)},
        "signature": {"content": _crypto.b64(signature), "verifier": verifier}}}}


def _dsse_body(record: Any) -> dict[str, Any]:
    """rekor-tiles' DSSE entry: the payload's SHA-256 and each signature with the verifier
    that verifies it over the envelope's PAE."""
    import hashlib

    envelope = record["envelope"]
    payload = base64.b64decode(envelope["payload"], validate=True)
    kind = envelope["payloadType"].encode()
    pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)
    signatures = []
    for entry in envelope["signatures"]:
        signature = base64.b64decode(entry["sig"], validate=True)
        for verifier in record["verifiers"]:
            key, hash_name = _key(verifier)
            try:
                _verified(key, signature, hashlib.new(hash_name, pae).digest(), hash_name)
            except HttpError:
                continue
            signatures.append({"content": _crypto.b64(signature), "verifier": verifier})
            break
        else:
            raise HttpError(400, "a DSSE signature no verifier verifies")
    return {"apiVersion": "0.0.2", "kind": "dsse", "spec": {"dsseV002": {
        "payloadHash": {"algorithm": "SHA2_256",
                        "digest": _crypto.b64(hashlib.sha256(payload).digest())},
        "signatures": signatures}}}
