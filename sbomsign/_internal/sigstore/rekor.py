"""Transparency-log entries: parsing, inclusion proofs and promises, and the log keys.

The body checks per entry kind live in `bodies.py`; Merkle proofs and checkpoints in
`merkle.py`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sbomsign._internal.sigstore._json import _bytes, _only, _string, _u64, _u64_or_zero
from sbomsign._internal.sigstore.dsse import decode_base64
from sbomsign._internal.sigstore.merkle import parse_checkpoint, verify_inclusion
from sbomsign._internal.sigstore.trustroot import (
    _JSON_SAFE_INTEGER,
    TrustedKey,
    TrustedRoot,
    _list,
    _one_line,
    _valid_at,
    _verify_with_log_key,
)
from sbomsign.errors import InputError, VerificationError

if TYPE_CHECKING:
    pass

# NOTE: cryptography's x509 module is imported in the functions that read certificates:
# managed-key bundles without log entries never need it, and it is a noticeable part of
# start-up.


# -- transparency log entries ------------------------------------------------------------------


@dataclass(frozen=True)
class InclusionProof:
    """An RFC 6962 inclusion proof, with the checkpoint (signed note) it is relative to."""

    log_index: int
    root_hash: bytes
    tree_size: int
    hashes: tuple[bytes, ...]
    checkpoint: str | None


@dataclass(frozen=True)
class LogEntry:
    """A bundle's `TransparencyLogEntry`, decoded; nothing in it is verified yet."""

    log_index: int
    log_id: bytes
    kind: str
    version: str
    integrated_time: int | None
    signed_entry_timestamp: bytes | None
    inclusion_proof: InclusionProof | None
    """None for a v0.1 bundle's entry that carries only an inclusion promise."""
    body: bytes

    @property
    def promised_time(self) -> int | None:
        """The integration time an inclusion promise binds, if any.

        As sigstore-python: without a promise the time is unauthenticated, and a promise over
        time 0 (absent in protobuf terms) binds nothing.
        """
        if self.signed_entry_timestamp is not None and self.integrated_time:
            return self.integrated_time
        return None


_ENTRY_MEMBERS = frozenset(
    {
        "logIndex",
        "logId",
        "kindVersion",
        "integratedTime",
        "inclusionPromise",
        "inclusionProof",
        "canonicalizedBody",
    }
)
_PROOF_MEMBERS = frozenset({"logIndex", "rootHash", "treeSize", "hashes", "checkpoint"})


#: An inclusion proof in a tree of at most 2**64 leaves has at most 64 hashes.
MAX_PROOF_HASHES = 64


def _proof_hashes(value: object) -> list[object]:
    # NOTE: an empty list is absent in protobuf's JSON mapping (a proof in a one-entry tree,
    # as sigstore-js writes it).
    hashes = [] if value is None else _list(value, "inclusionProof.hashes")
    if len(hashes) > MAX_PROOF_HASHES:
        raise ValueError(f"inclusionProof.hashes has more than {MAX_PROOF_HASHES} hashes")
    return hashes


def parse_log_entry(raw: object) -> LogEntry:
    """Decode a bundle's `tlogEntries` member (protobuf JSON mapping), strictly.

    Raises:
        VerificationError: the entry is malformed ("transparency log entry is malformed: ..."
            or, for an undecodable body, "transparency log entry body is malformed").
    """
    try:
        entry = _only(raw, _ENTRY_MEMBERS, "the entry")
        try:
            body = decode_base64(entry.get("canonicalizedBody"), "canonicalizedBody")
        except InputError as e:
            raise VerificationError("transparency log entry body is malformed") from e
        log_id = _only(entry.get("logId"), frozenset({"keyId"}), "logId")
        kind_version = _only(entry.get("kindVersion"), frozenset({"kind", "version"}), "kind")
        promise = entry.get("inclusionPromise")
        sets = None
        if promise is not None:
            promise = _only(promise, frozenset({"signedEntryTimestamp"}), "inclusionPromise")
            sets = _bytes(promise.get("signedEntryTimestamp"), "signedEntryTimestamp")
        raw_proof = entry.get("inclusionProof")
        proof = None if raw_proof is None else _proof(raw_proof)
        if proof is None and sets is None:
            raise ValueError("neither an inclusion proof nor an inclusion promise")
        integrated = entry.get("integratedTime")
        parsed = LogEntry(
            log_index=_u64_or_zero(entry.get("logIndex"), "logIndex"),
            log_id=_bytes(log_id.get("keyId"), "logId.keyId"),
            kind=_string(kind_version.get("kind"), "kindVersion.kind"),
            version=_string(kind_version.get("version"), "kindVersion.version"),
            integrated_time=_u64(integrated, "integratedTime") if integrated is not None else None,
            signed_entry_timestamp=sets,
            inclusion_proof=proof,
            body=body,
        )
    except ValueError as e:
        raise VerificationError(f"transparency log entry is malformed: {e}") from e
    if proof is not None and proof.tree_size <= proof.log_index:
        raise VerificationError(
            "transparency log entry is malformed: the proof's index is outside its tree"
        )
    return parsed


def _proof(raw: object) -> InclusionProof:
    proof = _only(raw, _PROOF_MEMBERS, "inclusionProof")
    checkpoint = proof.get("checkpoint")
    if checkpoint is not None:
        checkpoint = _string(
            _only(checkpoint, frozenset({"envelope"}), "checkpoint").get("envelope"),
            "checkpoint.envelope",
        )
    return InclusionProof(
        log_index=_u64_or_zero(proof.get("logIndex"), "inclusionProof.logIndex"),
        root_hash=_bytes(proof.get("rootHash"), "inclusionProof.rootHash"),
        tree_size=_u64(proof.get("treeSize"), "inclusionProof.treeSize"),
        hashes=tuple(_bytes(h, "inclusionProof.hashes")
                     for h in _proof_hashes(proof.get("hashes"))),
        checkpoint=checkpoint,
    )


def _set_payload(entry: LogEntry, integrated_time: int) -> bytes:
    """The bytes a signed entry timestamp signs: RFC 8785 JSON of the entry's coordinates."""
    if integrated_time > _JSON_SAFE_INTEGER or entry.log_index > _JSON_SAFE_INTEGER:
        raise ValueError("an integer of the inclusion promise has no canonical JSON form")
    # NOTE: RFC 8785 sorts members by UTF-16 code units (body < integratedTime < logID <
    # logIndex), writes no whitespace and integers in plain decimal; base64 and hex need no
    # escaping. logIndex is the entry's (global) index, not the proof's (per shard).
    body = base64.b64encode(entry.body).decode("ascii")
    return (
        f'{{"body":"{body}","integratedTime":{integrated_time},'
        f'"logID":"{entry.log_id.hex()}","logIndex":{entry.log_index}}}'
    ).encode("ascii")


#: The entry kinds of Rekor v1, whose log signs inclusion promises; Rekor v2 logs (hashedrekord
#: and dsse 0.0.2) sign none.
PROMISING_KINDS = frozenset({("hashedrekord", "0.0.1"), ("dsse", "0.0.1"), ("intoto", "0.0.2")})

_V1_ORIGIN = re.compile(r".* - [0-9]+")


class _NotVerified(Exception):
    """A log entry's proofs do not verify; the message says which."""


def _verify_entry_proofs(
    entry: LogEntry, keys: Sequence[TrustedKey], now: datetime
) -> list[TrustedKey]:
    """Inclusion proof, checkpoint and (if present) SET; return the log keys that signed.

    Raises:
        _NotVerified: one of them does not verify.
        ValueError: the checkpoint is malformed.
    """
    if not any(k.log_id == entry.log_id for k in keys):
        raise _NotVerified("the trusted root lists no log with the entry's log id")
    signers = [] if entry.inclusion_proof is None else [
        _verify_proof(entry, entry.inclusion_proof, keys, now)]
    promised = entry.promised_time
    if promised is not None:
        assert entry.signed_entry_timestamp is not None  # noqa: S101 - promised_time needs it
        key = _verify_with_log_key(
            keys, entry.log_id, entry.signed_entry_timestamp, _set_payload(entry, promised), now
        )
        if key is None:
            raise _NotVerified("the signed entry timestamp does not verify")
        signers.append(key)
    if not signers:
        raise _NotVerified("neither an inclusion proof nor an inclusion promise verifies")
    return signers


def _verify_proof(
    entry: LogEntry, proof: InclusionProof, keys: Sequence[TrustedKey], now: datetime
) -> TrustedKey:
    """The log key that signed the checkpoint the inclusion proof leads to.

    Raises:
        _NotVerified: the proof or the checkpoint does not verify.
        ValueError: the checkpoint is malformed.
    """
    if proof.checkpoint is None:
        raise _NotVerified("no checkpoint")
    if not verify_inclusion(
        entry.body, proof.log_index, proof.tree_size, proof.hashes, proof.root_hash
    ):
        raise _NotVerified("the inclusion proof does not lead to its root hash")
    checkpoint = parse_checkpoint(proof.checkpoint)
    # A Rekor v1 checkpoint's origin is "<host> - <tree id>"; a v2 (tile) log's is its host.
    v1 = _V1_ORIGIN.fullmatch(checkpoint.origin) is not None
    # NOTE: Stricter than sigstore-go, which proves a v2 entry's inclusion at the entry's own
    # `logIndex` and ignores the proof's: v2 logs are not sharded, so the two are one number,
    # and a bundle where they differ is refused rather than read one way or the other.
    if not v1 and entry.log_index != proof.log_index:
        raise _NotVerified("the entry's log index is not its inclusion proof's")
    # NOTE: as sigstore-python: the first signature whose key hint is the log id's prefix is
    # the one that counts; a note may carry witnesses' signatures besides. As sigstore-go (a
    # signed-note verifier named after the log's host), a v2 signature must also carry the
    # checkpoint's origin as its name; v1 names are labels nothing checks.
    hinted = [s for name, hint, s in checkpoint.signatures
              if hint == entry.log_id[:4] and (v1 or name == checkpoint.origin)]
    if not hinted:
        raise _NotVerified("the checkpoint has no signature by the entry's log")
    key = _verify_with_log_key(keys, entry.log_id, hinted[0], checkpoint.note, now)
    if key is None:
        raise _NotVerified("the checkpoint's signature does not verify")
    if not v1 and urlsplit(key.base_url).hostname != checkpoint.origin:
        raise _NotVerified("the checkpoint's origin is not the host of the log's baseUrl")
    if checkpoint.root_hash != proof.root_hash:
        raise _NotVerified("the checkpoint is for another root hash")
    # NOTE: Stricter than sigstore-python, which compares the root hash only: a signed
    # checkpoint's size must be the proof's tree size too.
    if checkpoint.size != proof.tree_size:
        raise _NotVerified("the checkpoint is for another tree size")
    return key


def _check_log_keys_at(
    keys: Sequence[TrustedKey], signers: Sequence[TrustedKey], moments: Sequence[datetime]
) -> None:
    # NOTE: Stricter than sigstore-python, which only ignores keys whose validity starts
    # after *now*: a log key vouches for an entry only within its `validFor` (protobuf-specs
    # trustroot), as sigstore-go checks.
    for key in signers:
        for moment in moments:
            if not _valid_at(keys, key, moment):
                raise _NotVerified(
                    "the log key was outside its validity period when the entry was logged"
                )


def _verify_entry(entry: LogEntry, root: TrustedRoot, moments: Sequence[datetime]) -> None:
    """Verify an entry's proofs against the root's log keys valid at `moments`.

    Raises:
        VerificationError: they do not verify.
    """
    try:
        if not root.tlog_keys:
            raise _NotVerified("the trusted root has no usable transparency log key")
        signers = _verify_entry_proofs(entry, root.tlog_keys, datetime.now(UTC))
        _check_log_keys_at(root.tlog_keys, signers, moments)
    except (_NotVerified, ValueError, InputError) as e:
        reason = e.message if isinstance(e, InputError) else str(e)
        raise VerificationError(
            f"transparency log entry does not verify against the trusted root"
            f" ({_one_line(reason, 100)})"
        ) from e


# -- managed keys: log entries -------------------------------------------------------------


# -- RFC 3161 timestamps ---------------------------------------------------------------------


