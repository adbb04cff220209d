"""Sigstore verification without sigstore-python: keyless bundles, log entries, timestamps.

`sbomsign verify` is a pre-deploy gate, run in a fresh process per pipeline step; importing
sigstore-python (pydantic models, TUF, requests) costs more than the whole verification.
This module checks what sigstore-python 4.5.1's `Verifier.verify_artifact` and `verify_dsse`
check, with `cryptography` and `rfc3161-client` only, so that its verdicts are the same;
`tests/unit/internal/test_keyless.py` compares the two on every bundle it can make or find.

A keyless bundle passes when, against the trusted root (in this order, as sigstore-python):

1. its shape is sound: a known media type, the signing certificate where the version puts it
   (v0.3: `certificate`; v0.1/v0.2: the first of `x509CertificateChain`, which must look like
   a leaf), exactly one log entry with an inclusion proof and a checkpoint, and an inclusion
   promise (v0.1) or a promise or RFC 3161 timestamps (v0.2+); unknown members are refused, as
   protobuf's JSON mapping does by default;
2. at least one signing time is verified: RFC 3161 timestamps over the signature, from a TSA
   of the root within its validity period, and the log's integration time when an inclusion
   promise binds it;
3. every verified time lies within the leaf's validity, and at each of them the leaf chains to
   a Fulcio CA of the root (the chain comes from the root, never from the bundle);
4. the leaf's embedded SCT is signed by a CT log of the root;
5. the leaf has KeyUsage digitalSignature and ExtendedKeyUsage codeSigning;
6. the log entry is in the log: RFC 6962 inclusion proof to the root hash, checkpoint signed
   by the log and naming that root hash, and the inclusion promise (SET) when present;
7. the signature verifies with the leaf's key (over the artifact's SHA-256, or the DSSE PAE);
8. the log entry's body records this signature, certificate and digest (CVE-2022-36056).

(sigstore-python checks the leaf's validity after the log entry; checking it first only
changes which reason a bundle failing both gets.)

Where this module is stricter than sigstore-python (always on input that a trusted log or CA
would not produce, or on keys used outside the validity period the root gives them), the code
says so in a NOTE beginning "Stricter than sigstore-python".

Managed-key bundles reuse the log-entry and timestamp parts (`verify_log_entries`,
`verify_timestamps`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import importlib.util
import json
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from sbomsign._internal.bundle import ParsedBundle, parse_bundle
from sbomsign._internal.dsse import Envelope, decode_base64
from sbomsign._internal.keys import PublicKey
from sbomsign.errors import InputError, VerificationError

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.x509.certificate_transparency import SignedCertificateTimestamp
    from rfc3161_client import TimeStampResponse

# NOTE: cryptography's x509 module is imported in the functions that read certificates:
# managed-key bundles without log entries never need it, and it is a noticeable part of
# start-up.

PRODUCTION_TUF_URL = "https://tuf-repo-cdn.sigstore.dev"
STAGING_TUF_URL = "https://tuf-repo-cdn.sigstage.dev"
TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
CLIENT_TRUST_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.clienttrustconfig"

#: More RFC 3161 timestamps than this in one bundle are refused (as sigstore-go and
#: sigstore-python do), so a bundle cannot make the verifier do unbounded work.
MAX_TIMESTAMPS = 32

# NOTE: RFC 8785 serialises numbers as IEEE doubles; larger integers have no exact canonical
# form, and sigstore-python's encoder refuses them, so a SET over one cannot verify.
_JSON_SAFE_INTEGER = 2**53 - 1
_U64_MAX = 2**64 - 1
_DIGITS = re.compile(r"[0-9]+")

# protobuf-specs `HashAlgorithm` values a bundle's messageDigest may name.
_HASH_ALGORITHM_NAMES = frozenset({"SHA2_256", "SHA2_384", "SHA2_512", "SHA3_256", "SHA3_384"})
_PROTO_HASHES = {"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}


def _one_line(text: object, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


# -- the trusted root --------------------------------------------------------------------------


@dataclass(frozen=True)
class Validity:
    """A `validFor` time range of the trusted root; None ends are open."""

    start: datetime | None = None
    end: datetime | None = None

    def started(self, now: datetime) -> bool:
        """Whether the period has begun by `now`."""
        return self.start is None or self.start <= now

    def covers(self, moment: datetime) -> bool:
        """Whether `moment` lies in the period (protobuf-specs: both ends included)."""
        return (self.start is None or self.start <= moment) and (
            self.end is None or moment <= self.end
        )


_TrustKeyType = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class TrustedKey:
    """A transparency or CT log's public key from the trusted root."""

    key: _TrustKeyType
    hash_algorithm: hashes.HashAlgorithm | None
    """What the key signs with (from `keyDetails`); None for Ed25519."""
    key_id: bytes
    """sha256 of the key's DER SubjectPublicKeyInfo (RFC 6962's log id)."""
    log_id: bytes
    """The root's `logId.keyId` (differs from `key_id` for Rekor v2's Ed25519 logs)."""
    validity: Validity

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether `signature` over `data` verifies with this key."""
        try:
            if isinstance(self.key, rsa.RSAPublicKey):
                assert self.hash_algorithm is not None  # noqa: S101 - set for RSA when loaded
                self.key.verify(signature, data, padding.PKCS1v15(), self.hash_algorithm)
            elif isinstance(self.key, ec.EllipticCurvePublicKey):
                assert self.hash_algorithm is not None  # noqa: S101 - set for ECDSA when loaded
                self.key.verify(signature, data, ec.ECDSA(self.hash_algorithm))
            else:
                self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Authority:
    """A certificate authority (Fulcio) or timestamp authority of the trusted root."""

    certificates: tuple[x509.Certificate, ...]
    """Leaf-most first, root last."""
    validity: Validity


@dataclass(frozen=True)
class TrustedRoot:
    """The parts of a `trusted_root.json` that verification uses."""

    tlog_keys: tuple[TrustedKey, ...]
    ct_keys: tuple[TrustedKey, ...]
    certificate_authorities: tuple[Authority, ...]
    timestamp_authorities: tuple[Authority, ...]
    tlog_count: int
    """How many `tlogs` the root lists, loadable keys or not."""


def embedded_trusted_root(*, staging: bool = False) -> bytes:
    """The trusted root shipped inside the installed sigstore package (production or staging).

    It is the root as of the sigstore release; newer keys (a new Rekor shard, a new TSA)
    reach it only with a sigstore upgrade, or by passing a current `trusted_root.json`.
    The file is read where the package lies, without importing sigstore.

    Raises:
        InputError: sigstore (and so its embedded root) is not installed.
    """
    url = STAGING_TUF_URL if staging else PRODUCTION_TUF_URL
    # NOTE: `find_spec` of a top-level package locates it without executing it; the package
    # stores its TUF targets per repository, in a directory named by the percent-encoded
    # repository URL (`sigstore._utils.read_embedded`).
    spec = importlib.util.find_spec("sigstore")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / "_store" / quote(url, safe="") / "trusted_root.json"
        if path.is_file():
            return path.read_bytes()
    raise InputError("no trusted root given, and sigstore's embedded root is not installed")


def _object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} is not a JSON object")
    return value


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{what} is not a list")
    return value


def _time(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not an RFC 3339 time")
    moment = datetime.fromisoformat(value)
    # NOTE: protobuf's JSON mapping always writes UTC; a zone-less time is read as UTC rather
    # than compared (and failing) against the aware current time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _validity(value: object, what: str) -> Validity:
    if value is None:
        return Validity()
    period = _object(value, what)
    end = period.get("end")
    return Validity(
        _time(period.get("start"), f"{what}.start"),
        _time(end, f"{what}.end") if end is not None else None,
    )


_RSA_DETAILS = frozenset(
    {
        "PKCS1_RSA_PKCS1V5",
        "PKIX_RSA_PKCS1V15_2048_SHA256",
        "PKIX_RSA_PKCS1V15_3072_SHA256",
        "PKIX_RSA_PKCS1V15_4096_SHA256",
    }
)
_EC_DETAILS: dict[str, type[hashes.HashAlgorithm]] = {
    "PKIX_ECDSA_P256_SHA_256": hashes.SHA256,
    "PKIX_ECDSA_P384_SHA_384": hashes.SHA384,
    "PKIX_ECDSA_P521_SHA_512": hashes.SHA512,
}


def _trusted_key(instance: Mapping[str, Any], what: str) -> TrustedKey | None:
    public = _object(instance.get("publicKey"), f"{what}.publicKey")
    details = public.get("keyDetails")
    if not isinstance(details, str):
        raise ValueError(f"{what}.publicKey.keyDetails is not a string")
    validity = _validity(public.get("validFor"), f"{what}.publicKey.validFor")
    log_id = decode_base64(_object(instance.get("logId"), f"{what}.logId").get("keyId"), what)
    raw = public.get("rawBytes")
    # NOTE: like sigstore-python, a key that is absent, unreadable or of an algorithm the
    # client does not support is skipped, not fatal: the rest of the root stays usable.
    if not raw:
        return None
    try:
        key = serialization.load_der_public_key(decode_base64(raw, what))
    except (ValueError, UnsupportedAlgorithm, InputError):
        return None
    hash_algorithm: hashes.HashAlgorithm | None
    if details in _RSA_DETAILS and isinstance(key, rsa.RSAPublicKey):
        hash_algorithm = hashes.SHA256()
    elif details in _EC_DETAILS and isinstance(key, ec.EllipticCurvePublicKey):
        hash_algorithm = _EC_DETAILS[details]()
    elif details == "PKIX_ED25519" and isinstance(key, ed25519.Ed25519PublicKey):
        hash_algorithm = None
    else:
        return None
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return TrustedKey(key, hash_algorithm, hashlib.sha256(spki).digest(), log_id, validity)


def _authority(value: object, what: str) -> Authority:
    from cryptography import x509

    ca = _object(value, what)
    chain = _object(ca.get("certChain"), f"{what}.certChain")
    certificates = tuple(
        x509.load_der_x509_certificate(
            decode_base64(_object(c, f"{what} certificate").get("rawBytes"), f"{what} cert")
        )
        for c in _list(chain.get("certificates"), f"{what}.certChain.certificates")
    )
    if not certificates:
        raise ValueError(f"{what} has no certificate")
    if ca.get("validFor") is None:
        raise ValueError(f"{what} has no validFor")
    return Authority(certificates, _validity(ca.get("validFor"), f"{what}.validFor"))


def _parse_trusted_root(raw: bytes) -> TrustedRoot:
    doc = _object(json.loads(raw), "the trusted root")
    if str(doc.get("mediaType", "")).startswith(CLIENT_TRUST_CONFIG_MEDIA_TYPE):
        # NOTE: signing takes a client trust config (trusted root + signing config); the same
        # file is accepted here so one file serves both, and its root is used.
        doc = _object(doc.get("trustedRoot"), "trustedRoot")
    if doc.get("mediaType") != TRUSTED_ROOT_MEDIA_TYPE:
        raise ValueError(f"unsupported trusted root media type {doc.get('mediaType')!r}")
    tlogs = _list(doc.get("tlogs"), "tlogs")
    ctlogs = _list(doc.get("ctlogs"), "ctlogs")
    cas = _list(doc.get("certificateAuthorities"), "certificateAuthorities")
    tsas = _list(doc.get("timestampAuthorities", []), "timestampAuthorities")
    tlog_keys = [_trusted_key(_object(t, "tlog"), "tlog") for t in tlogs]
    ct_keys = [_trusted_key(_object(t, "ctlog"), "ctlog") for t in ctlogs]
    return TrustedRoot(
        tlog_keys=tuple(k for k in tlog_keys if k is not None),
        ct_keys=tuple(k for k in ct_keys if k is not None),
        certificate_authorities=tuple(_authority(c, "certificate authority") for c in cas),
        timestamp_authorities=tuple(_authority(t, "timestamp authority") for t in tsas),
        tlog_count=len(tlogs),
    )


@functools.lru_cache(maxsize=4)
def load_trusted_root(data: bytes | None) -> TrustedRoot:
    """Read a `trusted_root.json` (or a client trust config holding one); None: production.

    Raises:
        InputError: the trusted root is malformed, or none is given and sigstore's embedded
            one is not installed.
    """
    raw = embedded_trusted_root() if data is None else data
    try:
        return _parse_trusted_root(raw)
    except (ValueError, KeyError, TypeError, InputError) as e:
        reason = e.message if isinstance(e, InputError) else str(e)
        raise InputError(f"the trusted root is malformed: {_one_line(reason)}") from e


def _verify_with_log_key(
    keys: Sequence[TrustedKey], log_id: bytes, signature: bytes, data: bytes, now: datetime
) -> TrustedKey | None:
    """The key of the log named `log_id` that verifies `signature`, or None.

    sigstore-python ignores keys whose validity has not begun yet, selects by `log_id` and,
    when no key has that id, tries every key (the id is an unauthenticated hint).
    """
    usable = [k for k in keys if k.validity.started(now)]
    # NOTE: Stricter than sigstore-python: it matches `log_id` against the key's SPKI hash
    # only, which Rekor v2's Ed25519 logs do not use as their id, so for them it always falls
    # back to trying every key. Matching the root's own `logId` too means a bundle naming one
    # log cannot pass on the signature of another.
    named = [k for k in usable if log_id in (k.log_id, k.key_id)]
    for key in named or usable:
        if key.verify(signature, data):
            return key
    return None


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
    inclusion_proof: InclusionProof
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


class _Malformed(ValueError):
    """A structural defect, described for the user."""


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


def _only(value: object, allowed: frozenset[str], what: str) -> Mapping[str, Any]:
    """`value` as a JSON object with no member outside `allowed`."""
    if not isinstance(value, Mapping):
        raise _Malformed(f"{what} is not a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _Malformed(f"{what} has an unknown member {unknown[0]!r}")
    return value


def _u64(value: object, what: str) -> int:
    # NOTE: protobuf's JSON mapping writes 64-bit integers as decimal strings.
    if not isinstance(value, str) or not _DIGITS.fullmatch(value) or int(value) > _U64_MAX:
        raise _Malformed(f"{what} is not a decimal 64-bit integer string")
    return int(value)


def _bytes(value: object, what: str) -> bytes:
    try:
        return decode_base64(value, what)
    except InputError as e:
        raise _Malformed(e.message) from e


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise _Malformed(f"{what} is not a string")
    return value


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
        proof = _only(entry.get("inclusionProof"), _PROOF_MEMBERS, "inclusionProof")
        checkpoint = proof.get("checkpoint")
        if checkpoint is not None:
            checkpoint = _string(
                _only(checkpoint, frozenset({"envelope"}), "checkpoint").get("envelope"),
                "checkpoint.envelope",
            )
        integrated = entry.get("integratedTime")
        parsed = LogEntry(
            log_index=_u64(entry.get("logIndex"), "logIndex"),
            log_id=_bytes(log_id.get("keyId"), "logId.keyId"),
            kind=_string(kind_version.get("kind"), "kindVersion.kind"),
            version=_string(kind_version.get("version"), "kindVersion.version"),
            integrated_time=_u64(integrated, "integratedTime") if integrated is not None else None,
            signed_entry_timestamp=sets,
            inclusion_proof=InclusionProof(
                log_index=_u64(proof.get("logIndex"), "inclusionProof.logIndex"),
                root_hash=_bytes(proof.get("rootHash"), "inclusionProof.rootHash"),
                tree_size=_u64(proof.get("treeSize"), "inclusionProof.treeSize"),
                hashes=tuple(
                    _bytes(h, "inclusionProof.hashes")
                    for h in _list(proof.get("hashes"), "inclusionProof.hashes")
                ),
                checkpoint=checkpoint,
            ),
            body=body,
        )
    except ValueError as e:
        raise VerificationError(f"transparency log entry is malformed: {e}") from e
    if parsed.inclusion_proof.tree_size <= parsed.inclusion_proof.log_index:
        raise VerificationError(
            "transparency log entry is malformed: the proof's index is outside its tree"
        )
    return parsed


def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether `proof` shows `leaf` (the entry, unhashed) at `index` in the tree `root`.

    RFC 9162 2.1.3.2's algorithm over RFC 6962 hashing: it also rejects proofs of the wrong
    length.
    """
    if index >= size:
        return False
    fn, sn, r = index, size - 1, _leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint (C2SP signed-note around a tlog-checkpoint body)."""

    origin: str
    size: int
    root_hash: bytes
    note: bytes
    """The signed text: the body lines, each with its newline."""
    signatures: tuple[tuple[str, bytes, bytes], ...]
    """(signer name, 4-byte key hint, signature) per signature line."""


# One signature line of a signed note: em dash, space, name, space, base64, newline.
_NOTE_SIGNATURE = re.compile("\u2014 (\\S+) (\\S+)\n")


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a signed checkpoint.

    Raises:
        ValueError: it is malformed.
    """
    # NOTE: as sigstore-python (after Rekor's signed_note.go): exactly one blank line splits
    # the note from the signatures; signature lines are found by pattern, others ignored.
    if text.count("\n\n") != 1:
        raise ValueError("the note must have exactly one blank line")
    split = text.index("\n\n")
    note, block = text[: split + 1], text[split + 2 :]
    if not block or not block.endswith("\n"):
        raise ValueError("the signature block must end with a newline")
    signatures = []
    for name, encoded in _NOTE_SIGNATURE.findall(block):
        raw = _bytes(encoded, "a checkpoint signature")
        if len(raw) < 5:
            raise ValueError("a checkpoint signature is too short")
        signatures.append((name, raw[:4], raw[4:]))
    lines = note.strip().split("\n")
    if len(lines) < 3 or not lines[0]:
        raise ValueError("the checkpoint needs an origin, a size and a root hash")
    # NOTE: Stricter than sigstore-python, which reads the size with int() (signs, spaces
    # and underscores pass) and the hash with lenient base64: a log writes neither.
    if not _DIGITS.fullmatch(lines[1]):
        raise ValueError("the checkpoint's tree size is not a decimal number")
    return Checkpoint(
        origin=lines[0],
        size=int(lines[1]),
        root_hash=_bytes(lines[2], "the checkpoint's root hash"),
        note=note.encode("utf-8"),
        signatures=tuple(signatures),
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
    proof = entry.inclusion_proof
    if proof.checkpoint is None:
        raise _NotVerified("no checkpoint")
    if not verify_inclusion(
        entry.body, proof.log_index, proof.tree_size, proof.hashes, proof.root_hash
    ):
        raise _NotVerified("the inclusion proof does not lead to its root hash")
    checkpoint = parse_checkpoint(proof.checkpoint)
    signers: list[TrustedKey] = []
    # NOTE: as sigstore-python: the first signature whose key hint is the log id's prefix is
    # the one that counts; a note may carry witnesses' signatures besides.
    hinted = [s for _, hint, s in checkpoint.signatures if hint == entry.log_id[:4]]
    if not hinted:
        raise _NotVerified("the checkpoint has no signature by the entry's log")
    key = _verify_with_log_key(keys, entry.log_id, hinted[0], checkpoint.note, now)
    if key is None:
        raise _NotVerified("the checkpoint's signature does not verify")
    signers.append(key)
    if checkpoint.root_hash != proof.root_hash:
        raise _NotVerified("the checkpoint is for another root hash")
    # NOTE: Stricter than sigstore-python, which compares the root hash only: a signed
    # checkpoint's size must be the proof's tree size too.
    if checkpoint.size != proof.tree_size:
        raise _NotVerified("the checkpoint is for another tree size")
    promised = entry.promised_time
    if promised is not None:
        assert entry.signed_entry_timestamp is not None  # noqa: S101 - promised_time needs it
        key = _verify_with_log_key(
            keys, entry.log_id, entry.signed_entry_timestamp, _set_payload(entry, promised), now
        )
        if key is None:
            raise _NotVerified("the signed entry timestamp does not verify")
        signers.append(key)
    return signers


def _valid_at(keys: Sequence[TrustedKey], key: TrustedKey, moment: datetime) -> bool:
    """Whether the root lists `key` as valid at `moment` (a key may be listed twice)."""
    return any(k.key_id == key.key_id and k.validity.covers(moment) for k in keys)


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


@dataclass(frozen=True)
class ExpectedEntry:
    """What a managed-key bundle's log entry must record."""

    public_key: PublicKey
    signature: bytes
    digest_algorithm: str | None = None
    """For a message signature: the hashlib name of `digest` (`sha256`, `sha384`)."""
    digest: bytes | None = None
    """For a message signature: the artifact digest that was signed."""
    payload: bytes | None = None
    """For a DSSE envelope: the payload."""
    pae: bytes | None = None
    """For a DSSE envelope: the bytes signed (the PAE)."""


def _b64(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a base64 string")
    return base64.b64decode(value, validate=True)


def _spki(key: PublicKey | _TrustKeyType) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _pem_key_der(content: object) -> bytes:
    loaded = serialization.load_pem_public_key(_b64(content))
    return loaded.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _prehash_for(key: PublicKey) -> tuple[str, str] | None:
    if isinstance(key, ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP384R1):
            return "SHA2_384", "sha384"
        return "SHA2_256", "sha256"
    # NOTE: Rekor v2 logs a digest; pure Ed25519 has none (rekor-tiles, algorithm registry).
    return None


class _Mismatch(Exception):
    """The log entry body records something else than the bundle."""


def _check_managed_body(kind: str, version: str, body: bytes, expected: ExpectedEntry) -> None:
    """Raise `_Mismatch` unless the entry body records exactly this signature.

    A malformed body raises ValueError, KeyError or TypeError.
    """
    doc = json.loads(body)
    if not isinstance(doc, dict) or doc.get("kind") != kind or doc.get("apiVersion") != version:
        raise _Mismatch("the entry body is of another kind than its kindVersion")
    spec = doc["spec"]
    key_der = _spki(expected.public_key)
    is_dsse = expected.payload is not None
    if (kind, version) == ("hashedrekord", "0.0.1") and not is_dsse:
        data_hash = spec["data"]["hash"]
        if data_hash["algorithm"] != expected.digest_algorithm:
            raise _Mismatch("the entry records another digest algorithm")
        if expected.digest is None or data_hash["value"] != expected.digest.hex():
            raise _Mismatch("the entry records another digest")
        if _b64(spec["signature"]["content"]) != expected.signature:
            raise _Mismatch("the entry records another signature")
        if _pem_key_der(spec["signature"]["publicKey"]["content"]) != key_der:
            raise _Mismatch("the entry records another public key")
    elif (kind, version) == ("dsse", "0.0.1") and is_dsse:
        assert expected.payload is not None  # noqa: S101 - is_dsse
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
        if _pem_key_der(signatures[0]["verifier"]) != key_der:
            raise _Mismatch("the entry records another public key")
    elif (kind, version) == ("hashedrekord", "0.0.2"):
        # NOTE: Rekor v2 logs DSSE envelopes as hashedrekord entries over the PAE's digest
        # (rekor-tiles CLIENTS.md).
        entry = spec["hashedRekordV002"]
        if is_dsse:
            assert expected.pae is not None  # noqa: S101 - set with payload
            prehash = _prehash_for(expected.public_key)
            if prehash is None:
                raise _Mismatch("an Ed25519 DSSE signature has no digest to log")
            algorithm, name = prehash
            digest = hashlib.new(name, expected.pae).digest()
        else:
            name = expected.digest_algorithm or ""
            algorithm = next((k for k, v in _PROTO_HASHES.items() if v == name), "")
            digest = expected.digest or b""
        if entry["data"]["algorithm"] != algorithm or _b64(entry["data"]["digest"]) != digest:
            raise _Mismatch("the entry records another digest")
        if _b64(entry["signature"]["content"]) != expected.signature:
            raise _Mismatch("the entry records another signature")
        raw_key = entry["signature"]["verifier"]["publicKey"]["rawBytes"]
        if _b64(raw_key) != key_der:
            raise _Mismatch("the entry records another public key")
    else:
        what = "an attestation" if is_dsse else "a signature"
        raise _Mismatch(f"a {kind}/{version} entry cannot record {what}")


def verify_log_entries(
    entries: Sequence[Mapping[str, Any]],
    expected: ExpectedEntry,
    *,
    trusted_root: bytes | None,
    require_promise: bool = False,
) -> tuple[int, ...]:
    """Verify a managed-key bundle's transparency-log entries; return the verified times.

    Each entry must record this signature, key and digest (or payload), and verify against
    the Rekor keys of the trusted root: inclusion proof and signed checkpoint, and the
    inclusion promise (SET) when present. `require_promise` (bundle v0.1) makes the promise
    mandatory. The returned times are the integration times bound by a verified promise.

    Raises:
        VerificationError: an entry is malformed, does not match, or does not verify.
        InputError: the trusted root is malformed.
    """
    root = load_trusted_root(trusted_root)
    times: list[int] = []
    for raw in entries:
        entry = parse_log_entry(raw)
        try:
            _check_managed_body(entry.kind, entry.version, entry.body, expected)
        except _Mismatch as e:
            raise VerificationError(
                f"transparency log entry does not match the bundle ({e})"
            ) from e
        except (ValueError, KeyError, TypeError, binascii.Error) as e:
            raise VerificationError("transparency log entry body is malformed") from e
        if require_promise and entry.signed_entry_timestamp is None:
            raise VerificationError("transparency log entry has no inclusion promise")
        if entry.inclusion_proof.checkpoint is None:
            raise VerificationError(
                "transparency log entry has no inclusion proof with a checkpoint"
            )
        promised = entry.promised_time
        moments = [datetime.fromtimestamp(promised, UTC)] if promised is not None else []
        _verify_entry(entry, root, moments)
        if promised is not None:
            if entry.version != "0.0.1":
                raise VerificationError("an inclusion promise on a Rekor v2 entry")
            times.append(promised)
    return tuple(times)


# -- RFC 3161 timestamps ---------------------------------------------------------------------


def _timestamp_time(
    response: TimeStampResponse, message: bytes, authorities: Sequence[Authority], now: datetime
) -> datetime | None:
    """When a TSA of the root timestamped `message`, or None if none did (validly)."""
    from rfc3161_client import VerificationError as TimestampError
    from rfc3161_client import VerifierBuilder

    for authority in authorities:
        # NOTE: as sigstore-python, an authority whose validity has not begun is ignored, and
        # one listed with fewer than a signing certificate and a root cannot anchor anything.
        chain = authority.certificates if authority.validity.started(now) else ()
        if len(chain) < 2:
            continue
        builder = VerifierBuilder().tsa_certificate(chain[0]).add_root_certificate(chain[-1])
        for intermediate in chain[1:-1]:
            builder = builder.add_intermediate_certificate(intermediate)
        try:
            # NOTE: the message imprint is the hash of the signature bytes (Sigstore's TSA
            # profile); rfc3161-client hashes `message` with the imprint's algorithm.
            builder.build().verify_message(response, message)
        except TimestampError:
            continue
        gen_time = response.tst_info.gen_time
        end = authority.validity.end
        start = authority.validity.start
        if (start is None or start <= gen_time) and (end is None or gen_time < end):
            return gen_time
    return None


def _decode_timestamps(timestamps: Sequence[bytes]) -> list[TimeStampResponse]:
    from rfc3161_client import decode_timestamp_response

    try:
        return [decode_timestamp_response(raw) for raw in timestamps]
    except ValueError as e:
        raise VerificationError("RFC 3161 timestamp is malformed") from e


def _bounded(responses: Sequence[TimeStampResponse]) -> None:
    if len(responses) > MAX_TIMESTAMPS:
        raise VerificationError(f"bundle has more than {MAX_TIMESTAMPS} RFC 3161 timestamps")
    if len(set(responses)) != len(responses):
        raise VerificationError("bundle has duplicate RFC 3161 timestamps")


def verify_timestamps(
    timestamps: Sequence[bytes], signature: bytes, *, trusted_root: bytes | None
) -> tuple[int, ...]:
    """Verify RFC 3161 timestamps over `signature`; return their times (Unix seconds).

    Every timestamp must verify against a timestamp authority of the trusted root and fall in
    that authority's validity period (managed keys: a timestamp that does not verify is an
    error, not ignored).

    Raises:
        VerificationError: one does not (or there are too many, or duplicates).
        InputError: the trusted root is malformed.
    """
    if len(timestamps) > MAX_TIMESTAMPS:
        raise VerificationError(f"bundle has more than {MAX_TIMESTAMPS} RFC 3161 timestamps")
    if len(set(timestamps)) != len(timestamps):
        raise VerificationError("bundle has duplicate RFC 3161 timestamps")
    root = load_trusted_root(trusted_root)
    if not root.timestamp_authorities:
        raise VerificationError("bundle has RFC 3161 timestamps but the trusted root has no TSA")
    now = datetime.now(UTC)
    times = []
    for response in _decode_timestamps(timestamps):
        verified = _timestamp_time(response, signature, root.timestamp_authorities, now)
        if verified is None:
            raise VerificationError("RFC 3161 timestamp does not verify against the trusted root")
        times.append(int(verified.timestamp()))
    return tuple(times)


# -- certificates ------------------------------------------------------------------------------


class _Profile(Exception):
    """A certificate in a state the Sigstore X.509 profile rules out."""


def _cert_is_ca(cert: x509.Certificate) -> bool:
    """Whether `cert` is a CA; raises `_Profile` for the inconsistent states.

    As sigstore-python's `cert_is_ca`: v3 only; a BasicConstraints must be critical, and then
    KeyUsage must exist; CA flag and keyCertSign must agree.
    """
    from cryptography import x509

    if cert.version != x509.Version.v3:
        raise _Profile("not an X.509 v3 certificate")
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    if not basic.critical:
        raise _Profile("a CA's BasicConstraints is not critical")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as e:
        raise _Profile("a certificate with BasicConstraints has no KeyUsage") from e
    if basic.value.ca and usage.key_cert_sign:
        return True
    if not (basic.value.ca or usage.key_cert_sign):
        return False
    raise _Profile("BasicConstraints and KeyUsage disagree on being a CA")


def _cert_is_leaf(cert: x509.Certificate) -> bool:
    """Whether `cert` is a Sigstore signing certificate (sigstore-python's `cert_is_leaf`)."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    if cert.version != x509.Version.v3:
        raise _Profile("not an X.509 v3 certificate")
    if _cert_is_ca(cert):
        return False
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    if not usage.digital_signature:
        raise _Profile("the leaf is not for digital signatures")
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    return ExtendedKeyUsageOID.CODE_SIGNING in eku


def _fulcio_store_at(root: TrustedRoot, moment: datetime, now: datetime) -> list[x509.Certificate]:
    # NOTE: as sigstore-python, every certificate of the root's CAs (intermediates included)
    # is a trust anchor, and CAs whose validity starts after now are left out. Stricter than
    # sigstore-python: a CA outside its own `validFor` at the signing time is left out too.
    return [
        c
        for ca in root.certificate_authorities
        if ca.validity.started(now) and ca.validity.covers(moment)
        for c in ca.certificates
    ]


def _verify_chain(
    leaf: x509.Certificate, root: TrustedRoot, moment: datetime, now: datetime
) -> list[x509.Certificate]:
    """The chain above `leaf` to a Fulcio CA of the root, valid at `moment`.

    Raises:
        VerificationError: there is none.
    """
    from cryptography import x509
    from cryptography.x509.verification import (
        Criticality,
        ExtensionPolicy,
        PolicyBuilder,
        Store,
    )
    from cryptography.x509.verification import VerificationError as ChainError

    if moment < leaf.not_valid_before_utc:
        raise VerificationError("certificate was not yet valid at the signing time")
    if moment > leaf.not_valid_after_utc:
        raise VerificationError("certificate had expired at the signing time")
    anchors = _fulcio_store_at(root, moment, now)
    if not anchors:
        raise VerificationError("certificate does not chain to the trusted root")
    # NOTE: a client verifier with the web PKI's defaults, except that the extended key usage
    # may be anything (Fulcio's is codeSigning, checked separately): sigstore-python's
    # policy. It copes with Fulcio's empty subject and critical SAN.
    ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store(anchors))
        .time(moment)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_client_verifier()
    )
    try:
        # NOTE: no intermediates from the bundle: sigstore-python builds the chain from the
        # trusted root alone, so a bundle cannot bring its own CA.
        return list(verifier.verify(leaf, []).chain[1:])
    except (ChainError, x509.UnsupportedGeneralNameType) as e:
        raise VerificationError("certificate does not chain to the trusted root") from e


# One millisecond: SCT times are whole milliseconds since the epoch.
_MS = timedelta(milliseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _sct_signed_data(
    sct: SignedCertificateTimestamp,
    leaf: x509.Certificate,
    issuer_key_hash: bytes | None,
) -> bytes:
    """RFC 6962 3.2's `digitally-signed` struct an SCT's signature covers."""
    from cryptography.x509.certificate_transparency import LogEntryType

    if sct.entry_type == LogEntryType.PRE_CERTIFICATE:
        assert issuer_key_hash is not None  # noqa: S101 - computed for precertificates
        # A precertificate entry: the issuer key hash, then the TBSCertificate without the
        # SCT list extension, which cryptography reconstructs.
        entry = leaf.tbs_precertificate_bytes
        prefix = issuer_key_hash
    elif sct.entry_type == LogEntryType.X509_CERTIFICATE:
        entry = leaf.public_bytes(serialization.Encoding.DER)
        prefix = b""
    else:
        raise _Profile("unknown SCT entry type")
    if len(entry) >= 1 << 24 or len(sct.extension_bytes) >= 1 << 16:
        raise _Profile("SCT entry too large")
    # NOTE: the SCT time in whole milliseconds, exactly (cryptography gives a naive UTC
    # datetime built from them).
    millis = (sct.timestamp.replace(tzinfo=UTC) - _EPOCH) // _MS
    return (
        struct.pack("!BBQH", sct.version.value, 0, millis, sct.entry_type.value)
        + prefix
        + len(entry).to_bytes(3, "big")
        + entry
        + struct.pack("!H", len(sct.extension_bytes))
        + sct.extension_bytes
    )


def _verify_sct(
    leaf: x509.Certificate, chain: Sequence[x509.Certificate], root: TrustedRoot, now: datetime
) -> None:
    """Verify the leaf's one embedded SCT against the root's CT logs.

    Raises:
        VerificationError: it does not verify.
    """
    from cryptography import x509
    from cryptography.x509.certificate_transparency import LogEntryType
    from cryptography.x509.oid import ExtendedKeyUsageOID

    failed = "certificate's SCT does not verify against the trusted root"
    try:
        scts = leaf.extensions.get_extension_for_class(
            x509.PrecertificateSignedCertificateTimestamps
        ).value
    except x509.ExtensionNotFound as e:
        raise VerificationError("certificate has no embedded SCT") from e
    if len(scts) != 1:
        raise VerificationError(f"certificate has {len(scts)} SCTs; Fulcio embeds one")
    sct = scts[0]
    issuer_key_hash = None
    if sct.entry_type == LogEntryType.PRE_CERTIFICATE:
        # NOTE: the precertificate's issuer is the certificate's, unless a dedicated
        # precertificate signing certificate (EKU certificateTransparency) issued it.
        if not chain:
            raise VerificationError(failed)
        issuer = chain[0]
        try:
            eku = issuer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            if ExtendedKeyUsageOID.CERTIFICATE_TRANSPARENCY in eku:
                if len(chain) < 2:
                    raise VerificationError(failed)
                issuer = chain[1]
        except x509.ExtensionNotFound:
            pass
        try:
            is_ca = _cert_is_ca(issuer)
        except _Profile:
            is_ca = False
        issuer_key = issuer.public_key()
        if not is_ca or not isinstance(issuer_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise VerificationError(failed)
        issuer_key_hash = hashlib.sha256(_spki(issuer_key)).digest()
    if not isinstance(sct.signature_hash_algorithm, hashes.SHA256):
        raise VerificationError(failed)
    try:
        data = _sct_signed_data(sct, leaf, issuer_key_hash)
    except _Profile as e:
        raise VerificationError(failed) from e
    key = _verify_with_log_key(root.ct_keys, sct.log_id, sct.signature, data, now)
    if key is None:
        raise VerificationError(failed)
    # NOTE: Stricter than sigstore-python: a CT log key vouches only within its `validFor`.
    if not _valid_at(root.ct_keys, key, sct.timestamp.replace(tzinfo=UTC)):
        raise VerificationError("certificate's SCT is from a CT log key outside its validity")


# -- bundle bodies -----------------------------------------------------------------------------


def _pem_b64(cert: x509.Certificate) -> str:
    # NOTE: Rekor v1 bodies record the certificate as base64 of its PEM, compared as text
    # (sigstore-python's `base64_encode_pem_cert`).
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode("ascii")


def _json_body(body: bytes) -> Mapping[str, Any]:
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
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
    verifier = _exact(
        sig["verifier"],
        frozenset({"x509Certificate", "keyDetails"}),
        "verifier",
        nullable=frozenset({"publicKey"}),
    )
    certificate = _exact(verifier["x509Certificate"], frozenset({"rawBytes"}), "certificate")
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)  # noqa: S101 - the signature verified
    if (
        data["algorithm"] != algorithm
        or not _b64_equals(data["digest"], digest)
        or not _b64_equals(sig["content"], signature)
        or not _b64_equals(certificate["rawBytes"], cert.public_bytes(serialization.Encoding.DER))
        or verifier["keyDetails"] != _KEY_DETAILS[key.curve.name][0]
    ):
        raise _Mismatch("the body records another signature, certificate or digest")


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
    kind_version = (entry.kind, entry.version)
    try:
        if message is not None:
            signature, digest = message
            if entry.kind != "hashedrekord":
                raise VerificationError("transparency log entry does not match the bundle")
            if entry.version == "0.0.1":
                _check_hashedrekord_v001(entry.body, cert, signature, digest)
            elif entry.version == "0.0.2":
                _check_hashedrekord_v002(entry.body, entry, cert, signature, "SHA2_256", digest)
            else:
                raise VerificationError("unsupported transparency log entry version")
        else:
            assert envelope is not None  # noqa: S101 - one of the two is given
            if kind_version == ("hashedrekord", "0.0.2"):
                # NOTE: Rekor v2 logs an envelope as a hashedrekord over the PAE's digest in
                # the hash of the key's algorithm (rekor-v2 spec 6.1.4).
                key = cert.public_key()
                assert isinstance(key, ec.EllipticCurvePublicKey)  # noqa: S101 - verified
                _, algorithm, name = _KEY_DETAILS[key.curve.name]
                digest = hashlib.new(name, envelope.pae()).digest()
                _check_hashedrekord_v002(
                    entry.body, entry, cert, envelope.signatures[0].sig, algorithm, digest
                )
            elif kind_version == ("dsse", "0.0.1"):
                _check_dsse_v001(entry.body, cert, envelope)
            else:
                raise VerificationError("unsupported transparency log entry kind")
    except _Mismatch as e:
        raise VerificationError("transparency log entry does not match the bundle") from e


# -- keyless bundles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KeylessResult:
    """What was verified about a keyless bundle."""

    certificate: x509.Certificate
    """The leaf (signing) certificate."""
    integrated_time: int | None
    """The log's integration time, when bound by a verified inclusion promise (Rekor v1)."""
    timestamps: tuple[int, ...]
    """The RFC 3161 timestamps that verified, Unix seconds."""
    payload_type: str | None = None
    """For DSSE bundles: the envelope's payload type (not checked here)."""
    payload: bytes | None = None
    """For DSSE bundles: the verified payload."""


_BUNDLE_MEMBERS = frozenset(
    {"mediaType", "verificationMaterial", "messageSignature", "dsseEnvelope"}
)
_MATERIAL_MEMBERS = frozenset(
    {"publicKey", "x509CertificateChain", "certificate", "tlogEntries", "timestampVerificationData"}
)


def _check_members(doc: Mapping[str, Any]) -> None:
    """Refuse members the bundle format does not define (protobuf JSON's default).

    `parse_bundle` has checked the types of the members it reads.
    """
    _only(doc, _BUNDLE_MEMBERS, "the bundle")
    material = _only(doc["verificationMaterial"], _MATERIAL_MEMBERS, "verificationMaterial")
    certificate = material.get("certificate")
    if certificate is not None:
        _only(certificate, frozenset({"rawBytes"}), "certificate")
    chain = material.get("x509CertificateChain")
    if chain is not None:
        for c in _only(chain, frozenset({"certificates"}), "x509CertificateChain")["certificates"]:
            _only(c, frozenset({"rawBytes"}), "a chain certificate")
    data = material.get("timestampVerificationData")
    if data is not None:
        stamps = _only(data, frozenset({"rfc3161Timestamps"}), "timestampVerificationData")
        for t in stamps.get("rfc3161Timestamps") or []:
            _only(t, frozenset({"signedTimestamp"}), "a timestamp")
    message = doc.get("messageSignature")
    if message is not None:
        digest = _only(message, frozenset({"messageDigest", "signature"}), "messageSignature").get(
            "messageDigest"
        )
        if digest is not None:
            digest = _only(digest, frozenset({"algorithm", "digest"}), "messageDigest")
            if digest.get("algorithm") not in _HASH_ALGORITHM_NAMES:
                raise _Malformed("messageDigest names an unknown hash algorithm")
    envelope = doc.get("dsseEnvelope")
    if envelope is not None:
        for s in _only(
            envelope, frozenset({"payload", "payloadType", "signatures"}), "dsseEnvelope"
        )["signatures"]:
            _only(s, frozenset({"sig", "keyid"}), "a DSSE signature")


def _signing_certificate(parsed: ParsedBundle) -> x509.Certificate:
    """The leaf, placed and shaped as the bundle's version requires."""
    from cryptography import x509

    if parsed.material == "publicKey" or parsed.certificate is None:
        raise VerificationError("bundle has no signing certificate")
    if (parsed.material == "certificate") != (parsed.version == "0.3"):
        # NOTE: protobuf-specs: v0.3 introduced the single `certificate` and requires it;
        # earlier versions only have the chain.
        raise VerificationError("bundle has no signing certificate")
    try:
        leaf = x509.load_der_x509_certificate(parsed.certificate)
    except ValueError as e:
        raise VerificationError("bundle's signing certificate is not X.509 DER") from e
    if parsed.material == "x509CertificateChain":
        # NOTE: as sigstore-python: in a v0.1/v0.2 chain the first certificate must look like
        # a leaf; the others are not used (the root supplies the chain), but must be readable
        # and in a consistent CA state.
        try:
            if not _cert_is_leaf(leaf):
                raise VerificationError("bundle's first certificate is not a signing certificate")
            for der in parsed.chain:
                other = x509.load_der_x509_certificate(der)
                if other.version != x509.Version.v3:
                    raise _Profile("not an X.509 v3 certificate")
                _cert_is_ca(other)
        except (_Profile, x509.ExtensionNotFound, ValueError) as e:
            raise VerificationError(
                f"bundle's certificate chain is not a Sigstore chain ({_one_line(e, 80)})"
            ) from e
    return leaf


def _log_entry_of(parsed: ParsedBundle) -> LogEntry:
    entries = parsed.tlog_entries
    if not entries:
        raise VerificationError("bundle has no transparency log entry")
    if len(entries) != 1:
        raise VerificationError("bundle must have exactly one transparency log entry")
    entry = parse_log_entry(entries[0])
    if entry.version not in ("0.0.1", "0.0.2"):
        raise VerificationError("unsupported transparency log entry version")
    if entry.inclusion_proof.checkpoint is None:
        raise VerificationError("transparency log entry has no inclusion proof with a checkpoint")
    if parsed.version == "0.1":
        if entry.signed_entry_timestamp is None:
            raise VerificationError("bundle has no inclusion promise")
    elif entry.signed_entry_timestamp is None and not parsed.rfc3161_timestamps:
        raise VerificationError("bundle has no inclusion promise or timestamp")
    return entry


def _verified_times(
    parsed: ParsedBundle, entry: LogEntry, root: TrustedRoot, now: datetime
) -> tuple[list[datetime], list[datetime]]:
    """The bundle's verified signing times: (TSA times, integration time if promised)."""
    tsa_times: list[datetime] = []
    if parsed.rfc3161_timestamps:
        responses = _decode_timestamps(parsed.rfc3161_timestamps)
        if not root.timestamp_authorities:
            raise VerificationError(
                "bundle has RFC 3161 timestamps but the trusted root has no TSA"
            )
        _bounded(responses)
        # NOTE: as sigstore-python, a timestamp that does not verify is ignored, not fatal;
        # at least one verified time (TSA or log) is required below.
        for response in responses:
            moment = _timestamp_time(response, parsed.signature, root.timestamp_authorities, now)
            if moment is not None:
                tsa_times.append(moment)
    log_times: list[datetime] = []
    promised = entry.promised_time
    if promised is not None:
        # NOTE: the integration time counts only when a promise binds it (the SET is checked
        # with the entry); Rekor v2 entries have neither.
        if entry.kind not in ("dsse", "hashedrekord") or entry.version != "0.0.1":
            raise VerificationError(
                "an inclusion promise on a transparency log entry kind that cannot have one"
            )
        log_times.append(datetime.fromtimestamp(promised, UTC))
    if not tsa_times and not log_times:
        if parsed.rfc3161_timestamps:
            raise VerificationError(
                "no RFC 3161 timestamp verifies against the trusted root's TSAs"
            )
        raise VerificationError(
            "bundle has no verified signing time (no inclusion promise, no timestamp)"
        )
    return tsa_times, log_times


def _check_profile(leaf: x509.Certificate) -> None:
    """KeyUsage digitalSignature and ExtendedKeyUsage codeSigning, as Fulcio issues."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as e:
        raise VerificationError("certificate lacks KeyUsage or ExtendedKeyUsage") from e
    if not usage.digital_signature:
        raise VerificationError("certificate is not for digital signatures")
    if ExtendedKeyUsageOID.CODE_SIGNING not in eku:
        raise VerificationError("certificate is not a code-signing certificate")


def _signing_key(leaf: x509.Certificate) -> ec.EllipticCurvePublicKey:
    key = leaf.public_key()
    # NOTE: sigstore-python verifies keyless signatures as ECDSA only (Fulcio issues for EC
    # keys); any other key fails there too.
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in _KEY_DETAILS:
        raise VerificationError("the signing certificate's key is not ECDSA P-256/384/521")
    return key


def _verify_keyless(
    bundle: bytes, sha256: bytes | None, root: TrustedRoot, now: datetime
) -> KeylessResult:
    try:
        parsed = parse_bundle(bundle)
    except InputError as e:
        raise VerificationError(e.message) from e
    try:
        _check_members(parsed.raw)
    except _Malformed as e:
        raise VerificationError(f"bundle is malformed: {e}") from e
    leaf = _signing_certificate(parsed)
    entry = _log_entry_of(parsed)
    if sha256 is not None and parsed.message_signature is None:
        raise VerificationError("bundle has no message signature")
    if sha256 is None and parsed.dsse_envelope is None:
        raise VerificationError("bundle holds an artifact signature, not an attestation")

    tsa_times, log_times = _verified_times(parsed, entry, root, now)
    moments = tsa_times + log_times
    chain: list[x509.Certificate] = []
    for moment in moments:
        chain = _verify_chain(leaf, root, moment, now)
    _verify_sct(leaf, chain, root, now)
    _check_profile(leaf)
    # NOTE: the log key must have been valid when the entry was logged: at the time the
    # promise binds or, without one (Rekor v2), at the timestamps.
    _verify_entry(entry, root, log_times or tsa_times)
    # (every moment was checked against the leaf's validity with the chain above)

    key = _signing_key(leaf)
    if sha256 is not None:
        ms = parsed.message_signature
        assert ms is not None  # noqa: S101 - checked above
        if ms.digest is not None and ms.digest != sha256:
            raise VerificationError("signature does not match the artifact")
        try:
            key.verify(ms.signature, sha256, ec.ECDSA(Prehashed(hashes.SHA256())))
        except InvalidSignature as e:
            raise VerificationError("signature does not match the artifact") from e
        _check_keyless_body(entry, leaf, message=(ms.signature, sha256), envelope=None)
        payload_type, payload = None, None
    else:
        envelope = parsed.dsse_envelope
        assert envelope is not None  # noqa: S101 - checked above
        if len(envelope.signatures) != 1 or not envelope.signatures[0].sig:
            raise VerificationError("DSSE envelope must have exactly one signature")
        # NOTE: ECDSA with SHA-256 whatever the curve, as sigstore-python signs and verifies
        # DSSE; the PAE counts the payload type's bytes (DSSE spec), which for the ASCII
        # in-toto types the gate accepts is sigstore-python's character count.
        try:
            key.verify(envelope.signatures[0].sig, envelope.pae(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as e:
            raise VerificationError("signature does not match the attestation") from e
        _check_keyless_body(entry, leaf, message=None, envelope=envelope)
        payload_type, payload = envelope.payload_type, envelope.payload

    return KeylessResult(
        certificate=leaf,
        integrated_time=entry.promised_time,
        timestamps=tuple(sorted(int(t.timestamp()) for t in tsa_times)),
        payload_type=payload_type,
        payload=payload,
    )


def verify_keyless(
    bundle: bytes, *, sha256: bytes | None, trusted_root: bytes | None
) -> KeylessResult:
    """Verify a keyless bundle: over an artifact's SHA-256 (`sha256`) or, when None, its DSSE.

    `trusted_root` is a `trusted_root.json` or client trust config; None means the production
    root shipped with sigstore. Offline: nothing is fetched or cached.

    Raises:
        VerificationError: anything does not verify; the message is a one-line reason.
        InputError: the trusted root is malformed.
    """
    root = load_trusted_root(trusted_root)
    now = datetime.now(UTC)
    # NOTE: as sigstore-python's Verifier, a root without Fulcio certificates or logs cannot
    # verify keyless bundles at all; that is the bundle's failure, not a usage error (the
    # same root may serve managed keys).
    if not any(ca.validity.started(now) for ca in root.certificate_authorities):
        raise VerificationError("the trusted root cannot verify keyless bundles: it has no CA")
    if not root.tlog_count:
        raise VerificationError(
            "the trusted root cannot verify keyless bundles: it has no transparency log"
        )
    try:
        return _verify_keyless(bundle, sha256, root, now)
    except VerificationError:
        raise
    except Exception as e:
        # NOTE: the bundle is hostile input: whatever a parser or cryptography raises on it
        # means "not verified", and the gate fails closed.
        raise VerificationError(
            f"bundle cannot be verified ({type(e).__name__}: {_one_line(e, 100)})"
        ) from e
