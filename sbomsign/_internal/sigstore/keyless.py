"""KEYLESSDOC
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from sbomsign._internal.sigstore._json import _Malformed, _only
from sbomsign._internal.sigstore.bodies import _KEY_DETAILS, _check_keyless_body
from sbomsign._internal.sigstore.bundle import ParsedBundle, parse_bundle
from sbomsign._internal.sigstore.certs import (
    _cert_is_ca,
    _cert_is_leaf,
    _Profile,
    _verify_chain,
    _verify_sct,
)
from sbomsign._internal.sigstore.rekor import (
    PROMISING_KINDS,
    LogEntry,
    _verify_entry,
    parse_log_entry,
)
from sbomsign._internal.sigstore.trustroot import (
    _HASH_ALGORITHM_NAMES,
    TrustedRoot,
    _one_line,
    load_trusted_root,
)
from sbomsign._internal.sigstore.tsa import _decode_timestamps, _distinct, _timestamp_time
from sbomsign.errors import InputError, VerificationError

if TYPE_CHECKING:
    from cryptography import x509

# NOTE: cryptography's x509 module is imported in the functions that read certificates:
# managed-key bundles without log entries never need it, and it is a noticeable part of
# start-up.


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
    except (ValueError, x509.InvalidVersion) as e:  # InvalidVersion is no ValueError
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
        except (_Profile, x509.ExtensionNotFound, x509.InvalidVersion, ValueError) as e:
            raise VerificationError(
                f"bundle's certificate chain is not a Sigstore chain ({_one_line(e, 80)})"
            ) from e
    return leaf


@dataclass(frozen=True)
class Thresholds:
    """How many independent proofs of the signing time a keyless bundle needs (sigstore-go's
    `WithTransparencyLog(n)` and `WithSignedTimestamps(n)`)."""

    tlog: int = 1
    """Verified transparency-log entries (0 or 1): GitHub's instance for private repositories
    logs nothing and gives a timestamp instead."""
    timestamps: int = 0
    """Verified RFC 3161 timestamps."""


def _log_entry_of(parsed: ParsedBundle, thresholds: Thresholds) -> LogEntry | None:
    entries = parsed.tlog_entries
    if not entries and not thresholds.tlog:
        return None  # entries present are verified all the same, below
    if not entries:
        raise VerificationError("bundle has no transparency log entry")
    if len(entries) != 1:
        raise VerificationError("bundle must have exactly one transparency log entry")
    entry = parse_log_entry(entries[0])
    if entry.version not in ("0.0.1", "0.0.2"):
        raise VerificationError("unsupported transparency log entry version")
    # As sigstore-go and protobuf-specs: a v0.1 bundle's entry needs an inclusion promise and
    # may lack a proof (npm's older provenance); from v0.2 on the proof, with its checkpoint,
    # is required.
    if entry.inclusion_proof is None and parsed.version != "0.1":
        raise VerificationError(f"transparency log entry has no inclusion proof (required "
                                f"in a v{parsed.version} bundle)")
    if entry.inclusion_proof is not None and entry.inclusion_proof.checkpoint is None:
        raise VerificationError("transparency log entry has no inclusion proof with a checkpoint")
    if parsed.version == "0.1":
        if entry.signed_entry_timestamp is None:
            raise VerificationError("bundle has no inclusion promise")
    elif entry.signed_entry_timestamp is None and not parsed.rfc3161_timestamps:
        raise VerificationError("bundle has no inclusion promise or timestamp")
    return entry


def _verified_times(
    parsed: ParsedBundle, entry: LogEntry | None, root: TrustedRoot, now: datetime
) -> tuple[list[datetime], list[datetime]]:
    """The bundle's verified signing times: (TSA times, integration time if promised)."""
    tsa_times: list[datetime] = []
    if parsed.rfc3161_timestamps:
        responses = _decode_timestamps(parsed.rfc3161_timestamps)
        if not root.timestamp_authorities:
            raise VerificationError(
                "bundle has RFC 3161 timestamps but the trusted root has no TSA"
            )
        _distinct(responses)
        # NOTE: as sigstore-python, a timestamp that does not verify is ignored, not fatal;
        # at least one verified time (TSA or log) is required below.
        for response in responses:
            moment = _timestamp_time(response, parsed.signature, root.timestamp_authorities, now)
            if moment is not None:
                tsa_times.append(moment)
    log_times: list[datetime] = []
    promised = entry.promised_time if entry is not None else None
    if entry is not None and promised is not None:
        # NOTE: the integration time counts only when a promise binds it (the SET is checked
        # with the entry); Rekor v2 entries have neither.
        # Rekor v1 kinds carry promises; Rekor v2 logs (hashedrekord and dsse 0.0.2) sign none.
        if (entry.kind, entry.version) not in PROMISING_KINDS:
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


def _check_message(
    parsed: ParsedBundle, leaf: x509.Certificate, entry: LogEntry | None, sha256: bytes
) -> None:
    """The message signature over the artifact's digest, and the log entry's record of it."""
    ms = parsed.message_signature
    assert ms is not None  # noqa: S101 - checked by the caller
    if ms.digest is not None and ms.digest != sha256:
        raise VerificationError("signature does not match the artifact")
    try:
        _signing_key(leaf).verify(ms.signature, sha256, ec.ECDSA(Prehashed(hashes.SHA256())))
    except InvalidSignature as e:
        raise VerificationError("signature does not match the artifact") from e
    if entry is not None:
        _check_keyless_body(entry, leaf, message=(ms.signature, sha256), envelope=None)


def _check_envelope(
    parsed: ParsedBundle, leaf: x509.Certificate, entry: LogEntry | None
) -> tuple[str, bytes]:
    """The DSSE signature and the log entry's record of it; the payload type and payload."""
    envelope = parsed.dsse_envelope
    assert envelope is not None  # noqa: S101 - checked by the caller
    if len(envelope.signatures) != 1 or not envelope.signatures[0].sig:
        raise VerificationError("DSSE envelope must have exactly one signature")
    # NOTE: ECDSA with SHA-256 whatever the curve, as sigstore-python signs and verifies
    # DSSE; the PAE counts the payload type's bytes (DSSE spec), which for the ASCII
    # in-toto types the gate accepts is sigstore-python's character count.
    try:
        _signing_key(leaf).verify(envelope.signatures[0].sig, envelope.pae(),
                                  ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as e:
        raise VerificationError("signature does not match the attestation") from e
    if entry is not None:
        _check_keyless_body(entry, leaf, message=None, envelope=envelope)
    return envelope.payload_type, envelope.payload


def _verify_keyless(
    bundle: bytes, sha256: bytes | None, root: TrustedRoot, now: datetime, thresholds: Thresholds
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
    entry = _log_entry_of(parsed, thresholds)
    if sha256 is not None and parsed.message_signature is None:
        raise VerificationError("bundle has no message signature")
    if sha256 is None and parsed.dsse_envelope is None:
        raise VerificationError("bundle holds an artifact signature, not an attestation")

    tsa_times, log_times = _verified_times(parsed, entry, root, now)
    if len(tsa_times) < thresholds.timestamps:
        raise VerificationError(f"{len(tsa_times)} verified RFC 3161 timestamp(s), "
                                f"{thresholds.timestamps} required")
    moments = tsa_times + log_times
    chain: list[x509.Certificate] = []
    for moment in moments:
        chain = _verify_chain(leaf, root, moment, now)
    _verify_sct(leaf, chain, root, now)
    _check_profile(leaf)
    # NOTE: the log key must have been valid when the entry was logged: at the time the
    # promise binds or, without one (Rekor v2), at the timestamps.
    if entry is not None:
        _verify_entry(entry, root, log_times or tsa_times)
    # (every moment was checked against the leaf's validity with the chain above)

    if sha256 is not None:
        _check_message(parsed, leaf, entry, sha256)
        payload_type, payload = None, None
    else:
        payload_type, payload = _check_envelope(parsed, leaf, entry)

    return KeylessResult(
        certificate=leaf,
        integrated_time=entry.promised_time if entry is not None else None,
        timestamps=tuple(sorted(int(t.timestamp()) for t in tsa_times)),
        payload_type=payload_type,
        payload=payload,
    )


def verify_keyless(
    bundle: bytes, *, sha256: bytes | None, trusted_root: bytes | None,
    thresholds: Thresholds = Thresholds(),  # noqa: B008 - frozen, shared safely
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
    if not root.tlog_count and thresholds.tlog:
        raise VerificationError(
            "the trusted root cannot verify keyless bundles: it has no transparency log"
            " (a root without one, like GitHub's for private repositories, needs"
            " --tlog-threshold 0 and --timestamp-threshold 1)"
        )
    try:
        return _verify_keyless(bundle, sha256, root, now, thresholds)
    except VerificationError:
        raise
    except Exception as e:
        # NOTE: the bundle is hostile input: whatever a parser or cryptography raises on it
        # means "not verified", and the gate fails closed.
        raise VerificationError(
            f"bundle cannot be verified ({type(e).__name__}: {_one_line(e, 100)})"
        ) from e
