"""The local Rekor: a transparency log speaking Rekor's v1 REST API, kept on disk.

Entries are `hashedrekord` and `dsse` (v0.0.1), the two kinds sigstore-python 4.x submits to
a v1 log, and `intoto` (v0.0.2), which sigstore-js (npm's provenance) submits for envelopes.
For each proposed entry the log checks what Rekor checks — the shape, the digest, and that
every signature verifies with the key or certificate given — stores the entry's
canonical body (RFC 8785 JSON of the fields Rekor keeps), and answers with:

- the entry's position (`logIndex`), `integratedTime` and the log ID (SHA-256 of the log
  key's SubjectPublicKeyInfo);
- a signed entry timestamp: the log key's signature over the canonical JSON of
  `{body, integratedTime, logID, logIndex}`;
- an RFC 6962 inclusion proof against the current tree, with a checkpoint: a signed note
  (`origin`, size, base64 root, blank line, `— <name> base64(keyhint || signature)`), the key
  hint being the first four bytes of the log ID.

Every accepted entry is appended (and fsynced) to `entries.jsonl` before it is answered, so a
restart on the same directory serves the same tree and the next entry gets the next index.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.sigstore_local import _crypto
from tests.sigstore_local._http import HttpError, Request, Response, Service
from tests.sigstore_local.merkle import MerkleTree, leaf_hash

logger = logging.getLogger("sigstore_local")

#: The name in checkpoints' origin line and signature line. It does not contain the port,
#: which may change between runs while the log stays the same.
LOG_NAME = "rekor.sigstore-local"

_HASH_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_UUID = re.compile(r"(?:[0-9a-f]{16})?([0-9a-f]{64})")


class Conflict(Exception):
    """The proposed entry is already in the log (at `index`)."""

    def __init__(self, index: int) -> None:
        """Remember where."""
        super().__init__(index)
        self.index = index


def _bad(message: str) -> HttpError:
    return HttpError(400, message)


# -- entry kinds -------------------------------------------------------------------------------


def _load_verifier(encoded: object, what: str) -> tuple[_crypto.PublicKey, str]:
    """(key, canonical base64 PEM) of a base64 PEM certificate or public key."""
    raw = _crypto.unb64(encoded, what)
    try:
        if b"-----BEGIN CERTIFICATE-----" in raw:
            cert = x509.load_pem_x509_certificate(raw)
            key: Any = cert.public_key()
            canonical = cert.public_bytes(serialization.Encoding.PEM)
        else:
            key = serialization.load_pem_public_key(raw)
            canonical = key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
    except ValueError as e:
        raise _crypto.CryptoError(f"{what} is not a PEM certificate or public key") from e
    return _crypto.check_key_strength(key), _crypto.b64(canonical)


def _hashedrekord(spec: Any) -> dict[str, Any]:
    """Canonical hashedrekord v0.0.1 spec; the signature must verify over the digest."""
    if not isinstance(spec, dict):
        raise _bad("hashedrekord spec is not an object")
    signature = spec.get("signature")
    data = spec.get("data")
    if not isinstance(signature, dict) or not isinstance(data, dict):
        raise _bad("hashedrekord spec needs signature and data objects")
    digest_obj = data.get("hash")
    if not isinstance(digest_obj, dict):
        raise _bad("hashedrekord data.hash is missing")
    algorithm = digest_obj.get("algorithm")
    value = digest_obj.get("value")
    if algorithm not in _HASH_HEX_LENGTHS:
        raise _bad(f"hashedrekord hash algorithm {algorithm!r} is not sha256/sha384/sha512")
    if not isinstance(value, str) or len(value) != _HASH_HEX_LENGTHS[algorithm]:
        raise _bad(
            f"hashedrekord {algorithm} value is not {_HASH_HEX_LENGTHS[algorithm]} hex digits"
        )
    try:
        digest = bytes.fromhex(value)
    except ValueError as e:
        raise _bad("hashedrekord hash value is not hex") from e
    public_key = signature.get("publicKey")
    if not isinstance(public_key, dict):
        raise _bad("hashedrekord signature.publicKey is missing")
    try:
        sig = _crypto.unb64(signature.get("content"), "signature.content")
        key, canonical_key = _load_verifier(public_key.get("content"), "publicKey.content")
        _crypto.verify_digest(key, sig, digest, algorithm)
    except _crypto.CryptoError as e:
        raise _bad(f"hashedrekord: {e}") from e
    return {
        "data": {"hash": {"algorithm": algorithm, "value": digest.hex()}},
        "signature": {"content": _crypto.b64(sig), "publicKey": {"content": canonical_key}},
    }


def _pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def _envelope_parts(envelope: object, kind: str) -> tuple[str, list[Any]]:
    """A proposed envelope's payload type and signatures, checked for shape."""
    if not isinstance(envelope, dict):
        raise _bad(f"{kind} envelope is not a JSON object")
    payload_type = envelope.get("payloadType")
    signatures = envelope.get("signatures")
    if not isinstance(payload_type, str) or not isinstance(signatures, list) or not signatures:
        raise _bad(f"{kind} envelope needs payloadType, payload and signatures")
    return payload_type, signatures


def _dsse(spec: Any) -> dict[str, Any]:
    """Canonical dsse v0.0.1 spec; every envelope signature must verify with a verifier."""
    content = spec.get("proposedContent") if isinstance(spec, dict) else None
    if not isinstance(content, dict):
        raise _bad("dsse spec needs proposedContent")
    envelope_text = content.get("envelope")
    verifiers = content.get("verifiers")
    if not isinstance(envelope_text, str):
        raise _bad("dsse proposedContent.envelope is not a string")
    if not isinstance(verifiers, list) or not verifiers:
        raise _bad("dsse proposedContent.verifiers is empty")
    try:
        envelope = json.loads(envelope_text)
    except ValueError as e:
        raise _bad("dsse envelope is not JSON") from e
    payload_type, signatures = _envelope_parts(envelope, "dsse")
    try:
        payload = _crypto.unb64(envelope.get("payload"), "dsse payload")
        keys = [_load_verifier(v, "dsse verifier") for v in verifiers]
        pae = _pae(payload_type, payload)
        entries = []
        for item in signatures:
            sig = _crypto.unb64(item.get("sig") if isinstance(item, dict) else None, "dsse sig")
            for key, canonical in keys:
                try:
                    _crypto.verify_message(key, sig, pae)
                except _crypto.CryptoError:
                    continue
                entries.append({"signature": _crypto.b64(sig), "verifier": canonical})
                break
            else:
                raise _crypto.CryptoError("a dsse signature verifies with none of the verifiers")
    except _crypto.CryptoError as e:
        raise _bad(f"dsse: {e}") from e
    return {
        "envelopeHash": {
            "algorithm": "sha256",
            "value": hashlib.sha256(envelope_text.encode()).hexdigest(),
        },
        "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
        "signatures": sorted(entries, key=lambda s: s["signature"]),
    }


def _unb64_twice(value: object, what: str) -> bytes:
    # NOTE: Rekor's intoto 0.0.2 type takes the envelope's base64 fields base64-encoded once
    # more (sigstore-js "double-encodes" them as Rekor expects).
    return _crypto.unb64(_crypto.unb64(value, what).decode("ascii", "replace"), what)


def _intoto(spec: Any) -> dict[str, Any]:
    """Canonical intoto v0.0.2 spec (what sigstore-js, npm's provenance client, submits to a
    v1 log): the envelope without its payload, the envelope's and the payload's hashes; every
    signature must verify over the envelope's PAE with the key or certificate beside it."""
    content = spec.get("content") if isinstance(spec, dict) else None
    envelope = content.get("envelope") if isinstance(content, dict) else None
    payload_type, signatures = _envelope_parts(envelope, "intoto")
    try:
        payload = _unb64_twice(envelope.get("payload"), "intoto payload")
        kept, hashed = [], []
        for item in signatures:
            if not isinstance(item, dict):
                raise _crypto.CryptoError("an intoto signature is not an object")
            sig = _unb64_twice(item.get("sig"), "intoto sig")
            key, _ = _load_verifier(item.get("publicKey"), "intoto publicKey")
            _crypto.verify_message(key, sig, _pae(payload_type, payload))
            pem = _crypto.unb64(item.get("publicKey"), "intoto publicKey").decode()
            keyid = {"keyid": item["keyid"]} if item.get("keyid") else {}
            kept.append({"sig": item["sig"], "publicKey": item["publicKey"], **keyid})
            hashed.append({"sig": _crypto.b64(sig), "publicKey": pem, **keyid})
    except _crypto.CryptoError as e:
        raise _bad(f"intoto: {e}") from e
    envelope_hash = hashlib.sha256(rfc8785.dumps(
        {"payloadType": payload_type, "payload": _crypto.b64(payload), "signatures": hashed}))
    return {"content": {
        "envelope": {"payloadType": payload_type, "signatures": kept},
        "hash": {"algorithm": "sha256", "value": envelope_hash.hexdigest()},
        "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
    }}


_KINDS = {("hashedrekord", "0.0.1"): _hashedrekord, ("dsse", "0.0.1"): _dsse,
          ("intoto", "0.0.2"): _intoto}


def canonical_body(proposed: Any) -> bytes:
    """The canonical body Rekor stores for a proposed entry.

    Raises:
        HttpError: 400 if the entry is malformed, of an unsupported kind, or its signatures
            do not verify.
    """
    if not isinstance(proposed, dict):
        raise _bad("proposed entry is not a JSON object")
    kind = proposed.get("kind")
    version = proposed.get("apiVersion")
    canonicalize = _KINDS.get((kind, version))  # type: ignore[arg-type]
    if canonicalize is None:
        raise _bad(f"unsupported entry kind {kind!r} version {version!r}")
    spec = canonicalize(proposed.get("spec"))
    return rfc8785.dumps({"apiVersion": version, "kind": kind, "spec": spec})


# -- storage -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredEntry:
    """One log entry as kept on disk."""

    body: bytes
    integrated_time: int


class LogStore:
    """The entries of one log, their Merkle tree, and the file that keeps them.

    `entries.jsonl` has one JSON object per line: `{"logIndex", "integratedTime", "body"}`
    (body base64). A line that is not complete JSON can only be the tail of a write cut short
    by a crash; it is dropped on load, since its entry was never answered.
    """

    #: Seconds added to the log's clock for new entries. Tests set it to log a signature after
    #: its short-lived certificate has expired, which verifiers must reject.
    clock_offset: int = 0

    def __init__(self, directory: Path) -> None:
        """Load the log kept in `directory` (empty if new)."""
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "entries.jsonl"
        tree_id_path = directory / "tree_id"
        if tree_id_path.exists():
            self.tree_id = int(tree_id_path.read_text().strip())
        else:
            # NOTE: a positive int64, like Trillian's tree IDs.
            self.tree_id = secrets.randbits(62) + 1
            tree_id_path.write_text(f"{self.tree_id}\n")
        self.tree = MerkleTree()
        self.entries: list[StoredEntry] = []
        self._index_of: dict[bytes, int] = {}
        self.lock = threading.RLock()
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        good = 0
        with self.path.open("rb") as f:
            for line in f:
                try:
                    record = json.loads(line)
                    body = base64.b64decode(record["body"], validate=True)
                    index, when = int(record["logIndex"]), int(record["integratedTime"])
                except (ValueError, KeyError, TypeError, binascii.Error):
                    logger.warning("%s: dropping an incomplete last record", self.path)
                    break
                if index != len(self.entries):
                    raise ValueError(
                        f"{self.path}: entry {index} found where {len(self.entries)} belongs"
                    )
                self._add(StoredEntry(body, when))
                good += len(line)
        if good != self.path.stat().st_size:
            with self.path.open("r+b") as f:
                f.truncate(good)

    def _add(self, entry: StoredEntry) -> int:
        leaf = leaf_hash(entry.body)
        index = self.tree.append(leaf)
        self.entries.append(entry)
        self._index_of.setdefault(leaf, index)
        return index

    def __len__(self) -> int:
        """The tree size."""
        return len(self.entries)

    def find(self, leaf: bytes) -> int | None:
        """The index of the entry with this leaf hash, if any."""
        return self._index_of.get(leaf)

    def append(self, body: bytes) -> int:
        """Add an entry durably; returns its index.

        Raises:
            Conflict: an entry with the same body is already in the log.
        """
        with self.lock:
            existing = self.find(leaf_hash(body))
            if existing is not None:
                raise Conflict(existing)
            entry = StoredEntry(body, int(time.time()) + self.clock_offset)
            record = {
                "logIndex": len(self.entries),
                "integratedTime": entry.integrated_time,
                "body": _crypto.b64(body),
            }
            with self.path.open("ab") as f:
                f.write(json.dumps(record).encode() + b"\n")
                f.flush()
                os.fsync(f.fileno())
            return self._add(entry)


# -- the service -------------------------------------------------------------------------------


class Rekor(Service):
    """The Rekor v1 service."""

    name = "rekor"

    def __init__(
        self,
        store: LogStore,
        key: ec.EllipticCurvePrivateKey,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """A log serving `store`, signing with `key`."""
        super().__init__(host, port)
        self.store = store
        self.key = key
        self.log_id = _crypto.key_id(key.public_key())
        self.origin = f"{LOG_NAME} - {store.tree_id}"
        self.route("GET", "/api/v1/log", self._log_info)
        self.route("GET", "/api/v1/log/publicKey", self._public_key)
        self.route("GET", "/api/v1/log/proof", self._consistency)
        self.route("POST", "/api/v1/log/entries", self._create)
        self.route("GET", "/api/v1/log/entries", self._get_by_index)
        self.route("GET", r"/api/v1/log/entries/(?P<uuid>[0-9a-fA-F]+)", self._get_by_uuid)
        self.route("POST", "/api/v1/log/entries/retrieve", self._retrieve)

    # -- signed statements ---------------------------------------------------------------------

    def checkpoint(self, size: int) -> str:
        """The signed note for the tree of `size` entries."""
        root = self.store.tree.root(size)
        note = f"{self.origin}\n{size}\n{_crypto.b64(root)}\n"
        signature = _crypto.sign_ecdsa(self.key, note.encode())
        return f"{note}\n\u2014 {LOG_NAME} {_crypto.b64(self.log_id[:4] + signature)}\n"

    def uuid(self, index: int) -> str:
        """Rekor's entry UUID: the tree ID (16 hex digits) and the leaf hash."""
        return f"{self.store.tree_id:016x}{self.store.tree.leaf(index).hex()}"

    def entry(self, index: int) -> dict[str, Any]:
        """`{uuid: LogEntry}` for entry `index`, proven against the current tree."""
        with self.store.lock:
            size = len(self.store)
            stored = self.store.entries[index]
            proof = self.store.tree.inclusion_proof(index, size)
            root = self.store.tree.root(size)
            checkpoint = self.checkpoint(size)
        body = _crypto.b64(stored.body)
        log_id = self.log_id.hex()
        promise = rfc8785.dumps(
            {
                "body": body,
                "integratedTime": stored.integrated_time,
                "logID": log_id,
                "logIndex": index,
            }
        )
        set_signature = _crypto.sign_ecdsa(self.key, promise)
        return {
            self.uuid(index): {
                "body": body,
                "integratedTime": stored.integrated_time,
                "logID": log_id,
                "logIndex": index,
                "verification": {
                    "inclusionProof": {
                        "checkpoint": checkpoint,
                        "hashes": [h.hex() for h in proof],
                        "logIndex": index,
                        "rootHash": root.hex(),
                        "treeSize": size,
                    },
                    "signedEntryTimestamp": _crypto.b64(set_signature),
                },
            }
        }

    # -- HTTP ----------------------------------------------------------------------------------

    def _log_info(self, request: Request) -> Response:
        with self.store.lock:
            size = len(self.store)
            root = self.store.tree.root(size)
            checkpoint = self.checkpoint(size)
        return Response.json(
            200,
            {
                "rootHash": root.hex(),
                "treeSize": size,
                "signedTreeHead": checkpoint,
                "treeID": str(self.store.tree_id),
                "inactiveShards": [],
            },
        )

    def _public_key(self, request: Request) -> Response:
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return Response(200, pem, "application/x-pem-file")

    def _consistency(self, request: Request) -> Response:
        with self.store.lock:
            size = len(self.store)
            try:
                first = int(request.arg("firstSize") or "1")
                last = int(request.arg("lastSize") or str(size))
            except ValueError as e:
                raise _bad("firstSize and lastSize must be integers") from e
            if not 1 <= first <= last <= size:
                raise _bad(f"need 1 <= firstSize <= lastSize <= {size}")
            proof = self.store.tree.consistency_proof(first, last)
            root = self.store.tree.root(last)
        return Response.json(200, {"rootHash": root.hex(), "hashes": [h.hex() for h in proof]})

    def _create(self, request: Request) -> Response:
        body = canonical_body(request.json())
        try:
            index = self.store.append(body)
        except Conflict as e:
            uuid = self.uuid(e.index)
            raise HttpError(
                409, f"an equivalent entry already exists in the transparency log with UUID {uuid}"
            ) from e
        uuid = self.uuid(index)
        return Response.json(
            201,
            self.entry(index),
            headers={"Location": f"/api/v1/log/entries/{uuid}", "ETag": uuid},
        )

    def _index(self, value: object) -> int:
        try:
            index = int(str(value))
        except ValueError as e:
            raise _bad(f"logIndex {value!r} is not an integer") from e
        if not 0 <= index < len(self.store):
            raise HttpError(404, f"no entry at index {index}")
        return index

    def _get_by_index(self, request: Request) -> Response:
        return Response.json(200, self.entry(self._index(request.arg("logIndex"))))

    def _index_of_uuid(self, uuid: str) -> int | None:
        match = _UUID.fullmatch(uuid.lower())
        if match is None:
            return None
        if len(uuid) == 80 and int(uuid[:16], 16) != self.store.tree_id:
            return None
        return self.store.find(bytes.fromhex(match.group(1)))

    def _get_by_uuid(self, request: Request) -> Response:
        uuid = request.params["uuid"]
        index = self._index_of_uuid(uuid)
        if index is None:
            raise HttpError(404, f"no entry with UUID {uuid}")
        return Response.json(200, self.entry(index))

    def _retrieve(self, request: Request) -> Response:
        query = request.json()
        if not isinstance(query, dict):
            raise _bad("search query is not a JSON object")
        found: list[int] = []
        for uuid in query.get("entryUUIDs") or []:
            index = self._index_of_uuid(str(uuid))
            if index is not None:
                found.append(index)
        found += [self._index(i) for i in query.get("logIndexes") or []]
        for proposed in query.get("entries") or []:
            index = self.store.find(leaf_hash(canonical_body(proposed)))
            if index is not None:
                found.append(index)
        return Response.json(200, [self.entry(i) for i in found])
