"""Stage 4: verify Sigstore bundles and in-toto attestations — bytes in, verified facts out.

Nothing here reads files or the network: callers pass the bundle bytes, the artifact's digest
and the trust material. Verification is cryptographic only (signature, certificate chain, SCT,
transparency log, timestamps, subject digest); *who* may sign is decided by `sbomsign.policy`
over the `Signer` facts returned here. Anything that cannot be checked raises
`VerificationError` with the reason: the gate fails closed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sbomsign._internal import intoto, keys, predicates
from sbomsign._internal.keys import PublicKey
from sbomsign._internal.sigstore import bodies, certs, keyless, managed, tsa
from sbomsign._internal.sigstore.bundle import MessageSignature, ParsedBundle, parse_bundle
from sbomsign.errors import InputError, SbomError, VerificationError
from sbomsign.models import Inventory

#: Normalised predicate kinds (`VerifiedAttestation.predicate_kind`).
KIND_CYCLONEDX = "cyclonedx"
KIND_SPDX = "spdx"
KIND_SLSA_PROVENANCE = "slsa-provenance"
KIND_VSA = "vsa"
KIND_OTHER = "other"


@dataclass(frozen=True)
class TrustMaterial:
    """What signatures are checked against."""

    trusted_root: bytes | None = None
    """A Sigstore `trusted_root.json`; None means the production root shipped with sigstore."""
    keys: tuple[tuple[str, bytes], ...] = ()
    """Managed public keys as (name, PEM), e.g. the `--key` file or the keys named in a policy."""


@dataclass(frozen=True)
class Signer:
    """Who verifiably signed, as the policy sees it."""

    kind: str
    """`keyless` (Fulcio certificate) or `key` (managed key)."""
    identity: str = ""
    """Keyless: the certificate's SAN (email or URI)."""
    issuer: str = ""
    """Keyless: the OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8, or .1 for old certs)."""
    claims: tuple[tuple[str, str], ...] = ()
    """Keyless: every Fulcio extension present, by name (`source_repository_uri`,
    `source_repository_ref`, `build_signer_uri`, `build_trigger`, `runner_environment`, ...),
    sorted by name."""
    key_hint: str = ""
    """Key: base64(sha256(DER SubjectPublicKeyInfo)) of the verifying key."""
    key_name: str = ""
    """Key: the name of the `TrustMaterial.keys` entry that verified the signature."""
    signed_at: int | None = None
    """Verified signing time (transparency-log integration time or RFC 3161 timestamp), Unix
    seconds; None for an offline managed-key bundle."""
    transparency_log: bool = False
    """True when a transparency-log entry was present and verified."""
    timestamped: bool = False
    """True when an RFC 3161 timestamp was present and verified."""

    def claim(self, name: str) -> str | None:
        """A Fulcio claim by name, or None."""
        return dict(self.claims).get(name)


@dataclass(frozen=True)
class VerifiedSignature:
    """A bundle over the artifact itself (`messageSignature`), verified."""

    bundle: str
    """Name of the bundle (file name or label), for reports."""
    signer: Signer
    sha256: str
    """The artifact digest the signature covers (lowercase hex)."""


@dataclass(frozen=True)
class Subject:
    """One in-toto statement subject."""

    name: str
    digests: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class VerifiedAttestation:
    """A DSSE bundle whose signature and subject were verified."""

    bundle: str
    signer: Signer
    statement_type: str
    """`https://in-toto.io/Statement/v1` or `.../v0.1`."""
    predicate_type: str
    """As written in the statement."""
    predicate_kind: str
    """One of the `KIND_*` constants."""
    subjects: tuple[Subject, ...]
    predicate: Any
    """The predicate JSON (after unwrapping cosign's `{"Data": ...}` and string SBOMs)."""
    sbom: Inventory | None = None
    """For SBOM predicates: the SBOM read into the inventory model."""
    sbom_document: bytes | None = None
    """For SBOM predicates: the SBOM document bytes as attested."""
    payload_sha256: str = ""
    """sha256 of the DSSE payload, to detect replays and record VSA inputs."""


@dataclass(frozen=True)
class BundleFailure:
    """A bundle that could not be verified, and why."""

    bundle: str
    reason: str


@dataclass(frozen=True)
class ArtifactEvidence:
    """Everything verified about one artifact, the input of the policy."""

    name: str
    sha256: str
    inventory: Inventory | None = None
    """The artifact's own inventory when the file is present (None for `sha256:<hex>`)."""
    signatures: tuple[VerifiedSignature, ...] = ()
    attestations: tuple[VerifiedAttestation, ...] = ()
    failures: tuple[BundleFailure, ...] = field(default_factory=tuple)


# -- verification ------------------------------------------------------------------------------
#
# Every failure is raised as `VerificationError("<name>: <reason>")`. A malformed bundle is a
# verification failure too (not an `InputError`): the bundle is untrusted input that the gate
# must reject, not a usage mistake. `InputError` is kept for the caller's own mistakes: a
# digest that is not 64 hex characters, a malformed key or trusted root.

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# NOTE: in-toto's envelope spec allows `application/vnd.in-toto.<predicate>+json` besides the
# plain type, and says consumers rely on predicateType, not on this suffix.
_PAYLOAD_TYPE = re.compile(r"application/vnd\.in-toto(\.[A-Za-z0-9][A-Za-z0-9._-]*)?\+json")
_PROTO_HASHES = {"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}
_T = TypeVar("_T")


class _Failed(Exception):
    """A reason to refuse a bundle, raised inside and given the bundle's name on the way out."""


@contextmanager
def _named(name: str) -> Iterator[None]:
    try:
        yield
    except _Failed as e:
        raise VerificationError(f"{name}: {e}") from e
    except VerificationError as e:
        raise VerificationError(f"{name}: {e.message}") from e


def _sha256_bytes(sha256: str, artifact: bytes | None) -> bytes:
    if not _HEX64.fullmatch(sha256):
        raise InputError(f"not a sha256 hex digest: {sha256!r}")
    digest = bytes.fromhex(sha256)
    if artifact is not None and hashlib.sha256(artifact).digest() != digest:
        raise InputError("the artifact given does not have the sha256 given")
    return digest


def _parse(bundle: bytes) -> ParsedBundle:
    try:
        parsed = parse_bundle(bundle)
    except InputError as e:
        raise _Failed(e.message) from e
    # NOTE: protobuf-specs: v0.3 introduced the single `certificate` and requires it for
    # keyless; older versions only have the chain. sigstore refuses the other combinations
    # too, but with a message that does not say why.
    if parsed.material == "certificate" and parsed.version != "0.3":
        raise _Failed(f"a v{parsed.version} bundle carries its certificate in x509CertificateChain")
    if parsed.material == "x509CertificateChain" and parsed.version == "0.3":
        raise _Failed("a v0.3 bundle carries its certificate in certificate, not a chain")
    return parsed


# -- managed keys ----------------------------------------------------------------------------


def _candidate_keys(parsed: ParsedBundle, trust: TrustMaterial) -> list[tuple[str, PublicKey]]:
    loaded = [(name, keys.load_public_key(pem, name=name)) for name, pem in trust.keys]
    if parsed.hint is None:
        # NOTE: the hint is optional in the bundle format and unauthenticated anyway; without
        # one every given key is tried.
        if not loaded:
            raise _Failed("signed by a managed key, and no public key was given")
        return loaded
    matching = [(name, key) for name, key in loaded if keys.hint(key) == parsed.hint]
    if not matching:
        raise _Failed(f"signed by an unknown key (hint {parsed.hint})")
    return matching


def _verify_with_any(
    candidates: list[tuple[str, PublicKey]], check: Callable[[PublicKey], _T]
) -> tuple[str, PublicKey, _T]:
    """The first candidate key that `check` accepts, with its result; else the last refusal."""
    failure = _Failed("no key to verify with")
    for name, key in candidates:
        try:
            return name, key, check(key)
        except _Failed as e:
            failure = e
    raise failure


def _check_message(
    ms: MessageSignature, key: PublicKey, sha256: bytes, artifact: bytes | None
) -> tuple[str, bytes]:
    """Verify a managed-key message signature; return the digest it covers (hashlib name, bytes).

    The bundle's `messageDigest` is optional; when present it must be the artifact's digest in
    the hash the key signs.
    """
    algorithm = keys.algorithm_of(key)
    if algorithm == "ed25519":
        # NOTE: Ed25519 has no digest in its signature; sbomsign (like cosign) records the
        # artifact's SHA-256 to name it, and that is what is compared.
        expected_digest = ms.digest_algorithm or "SHA2_256"
    else:
        expected_digest = "SHA2_384" if algorithm == "ecdsa-p384" else "SHA2_256"
    if ms.digest_algorithm not in (None, expected_digest):
        raise _Failed(f"the message digest is {ms.digest_algorithm}, but the key is {algorithm}")
    if algorithm != "ecdsa-p256" and artifact is None:
        # NOTE: a P-384 key signs the artifact's SHA-384 and Ed25519 the artifact itself;
        # neither can be related to a SHA-256 alone, so without the bytes there is nothing
        # sound to check. Callers that have the file pass it as `artifact`.
        what = "its SHA-384" if algorithm == "ecdsa-p384" else "the artifact itself"
        raise _Failed(
            f"the key is {algorithm}, which signs {what}: verifying needs the artifact's bytes,"
            " not only its sha256"
        )
    hash_name = _PROTO_HASHES.get(expected_digest)
    if hash_name is None:
        raise _Failed(f"unsupported message digest algorithm {expected_digest}")
    digest = sha256 if artifact is None else hashlib.new(hash_name, artifact).digest()
    if ms.digest is not None and ms.digest != digest:
        shown = f" (the bundle signs sha256:{ms.digest.hex()})" if hash_name == "sha256" else ""
        raise _Failed(f"signature does not match the artifact{shown}")
    try:
        if algorithm == "ed25519":
            assert artifact is not None  # noqa: S101 - refused above
            keys.verify_signature(key, ms.signature, data=artifact)
        else:
            keys.verify_signature(key, ms.signature, digest=digest)
    except VerificationError as e:
        raise _Failed("signature does not match the artifact") from e
    return hash_name, digest


def _managed_times(
    parsed: ParsedBundle, expected: bodies.ExpectedEntry, trust: TrustMaterial
) -> tuple[int | None, bool, bool]:
    """Verify the bundle's log entries and timestamps: (signed_at, logged, timestamped)."""
    times: tuple[int, ...] = ()
    if parsed.tlog_entries:
        times += managed.verify_log_entries(
            parsed.tlog_entries,
            expected,
            trusted_root=trust.trusted_root,
            require_promise=parsed.version == "0.1",
        )
    if parsed.rfc3161_timestamps:
        times += tsa.verify_timestamps(
            parsed.rfc3161_timestamps, parsed.signature, trusted_root=trust.trusted_root
        )
    # NOTE: each verified time is a moment by which the signature existed; the earliest is the
    # tightest such bound.
    signed_at = min(times) if times else None
    return signed_at, bool(parsed.tlog_entries), bool(parsed.rfc3161_timestamps)


def _key_signer(
    key_name: str, key: PublicKey, times: tuple[int | None, bool, bool]
) -> Signer:
    signed_at, logged, timestamped = times
    return Signer(
        kind="key",
        key_hint=keys.hint(key),
        key_name=key_name,
        signed_at=signed_at,
        transparency_log=logged,
        timestamped=timestamped,
    )


# -- keyless ---------------------------------------------------------------------------------


def _keyless_signer(result: keyless.KeylessResult) -> Signer:
    facts = certs.certificate_facts(result.certificate)
    times = list(result.timestamps)
    if result.integrated_time is not None:
        times.append(result.integrated_time)
    return Signer(
        kind="keyless",
        identity=facts.identity,
        issuer=facts.issuer,
        claims=facts.claims,
        signed_at=min(times) if times else None,
        # NOTE: a keyless bundle verifies only with exactly one log entry (as with
        # sigstore-python), which has been verified by now.
        transparency_log=True,
        timestamped=bool(result.timestamps),
    )


# -- signatures ------------------------------------------------------------------------------


def _verify_signature(
    bundle: bytes,
    parsed: ParsedBundle,
    sha256: bytes,
    trust: TrustMaterial,
    artifact: bytes | None,
) -> Signer:
    ms = parsed.message_signature
    if ms is None:
        raise _Failed("bundle holds an attestation (DSSE envelope), not an artifact signature")
    if parsed.material != "publicKey":
        if ms.digest is not None and ms.digest_algorithm == "SHA2_256" and ms.digest != sha256:
            # NOTE: the keyless verifier would refuse this too; saying which artifact the
            # bundle is for is more useful to whoever mixed up the files.
            raise _Failed(
                f"signature does not match the artifact (the bundle signs sha256:{ms.digest.hex()})"
            )
        return _keyless_signer(
            keyless.verify_keyless(bundle, sha256=sha256, trusted_root=trust.trusted_root)
        )
    candidates = _candidate_keys(parsed, trust)
    key_name, key, (digest_name, digest) = _verify_with_any(
        candidates, lambda k: _check_message(ms, k, sha256, artifact)
    )
    expected = bodies.ExpectedEntry(
        public_key=key, signature=ms.signature, digest_algorithm=digest_name, digest=digest
    )
    return _key_signer(key_name, key, _managed_times(parsed, expected, trust))


def verify_signature(
    bundle: bytes,
    *,
    sha256: str,
    trust: TrustMaterial,
    name: str,
    artifact: bytes | None = None,
) -> VerifiedSignature:
    """Verify a bundle holding a signature over an artifact (`messageSignature`).

    `sha256` is the artifact's digest (hex); the artifact itself is not needed, except for a
    managed ECDSA P-384 or Ed25519 key (they sign the artifact's SHA-384 or the artifact
    itself, which a SHA-256 cannot stand for): pass its bytes as `artifact` then.

    Keyless bundles are verified against `trust.trusted_root` (default: the production root
    shipped with sigstore), offline, with the checks of sigstore-python's verifier but without
    importing it (`sbomsign._internal.sigstore.keyless`). Managed-key bundles are verified
    against the matching key of `trust.keys` (found by the bundle's key hint), and so are
    their transparency-log entries and RFC 3161 timestamps when they have any.

    Raises:
        VerificationError: the bundle does not verify, or cannot be checked; the message is
            `<name>: <reason>`.
        InputError: `sha256` is not 64 hex characters, `artifact` does not have that digest,
            or a key or the trusted root is malformed.
    """
    digest = _sha256_bytes(sha256, artifact)
    with _named(name):
        parsed = _parse(bundle)
        signer = _verify_signature(bundle, parsed, digest, trust, artifact)
    return VerifiedSignature(bundle=name, signer=signer, sha256=digest.hex())


# -- attestations ----------------------------------------------------------------------------


def _check_dsse(parsed: ParsedBundle, key: PublicKey) -> None:
    envelope = parsed.dsse_envelope
    assert envelope is not None  # noqa: S101 - checked by the caller
    try:
        keys.verify_signature(key, envelope.signatures[0].sig, data=envelope.pae())
    except VerificationError as e:
        raise _Failed("signature does not match the attestation") from e


def _describe_subjects(statement: intoto.Statement) -> str:
    shown = [
        f"{s.name or '_'} sha256:{s.digest['sha256'][:12]}" if "sha256" in s.digest
        else f"{s.name or '_'} (no sha256)"
        for s in statement.subjects[:3]
    ]
    more = len(statement.subjects) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _read_statement(
    payload_type: str, payload: bytes, sha256_hex: str
) -> tuple[intoto.Statement, predicates.Predicate]:
    if not _PAYLOAD_TYPE.fullmatch(payload_type):
        raise _Failed(f"the attestation's payload type is {payload_type!r}, not in-toto")
    try:
        statement = intoto.parse_statement(payload)
    except InputError as e:
        raise _Failed(f"the attestation is not an in-toto statement: {e.message}") from e
    if not statement.subjects_with_sha256(sha256_hex):
        raise _Failed(
            f"attestation is for another artifact (subjects: {_describe_subjects(statement)})"
        )
    try:
        predicate = predicates.normalise(statement.predicate_type, statement.predicate)
    except SbomError as e:
        raise _Failed(f"attested SBOM: {e.message}") from e
    return statement, predicate


def _read_sbom(document: bytes) -> Inventory:
    from sbomsign import sbom

    try:
        return sbom.read(document, "attested SBOM")
    except SbomError as e:
        raise _Failed(e.message) from e
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
        # NOTE: the document is attacker-controlled; whatever the readers raise on it means
        # "unreadable", never a crash of the gate.
        raise _Failed(f"attested SBOM cannot be read: {type(e).__name__}") from e


def _verify_attestation(
    bundle: bytes, parsed: ParsedBundle, sha256_hex: str, trust: TrustMaterial, name: str
) -> VerifiedAttestation:
    envelope = parsed.dsse_envelope
    if envelope is None:
        raise _Failed("bundle holds an artifact signature, not an attestation (DSSE envelope)")
    if parsed.material == "publicKey":
        keyid = envelope.signatures[0].keyid
        if keyid is not None and parsed.hint is not None and keyid != parsed.hint:
            # NOTE: protobuf-specs requires them equal; a difference means the bundle was
            # assembled from parts.
            raise _Failed("the DSSE keyid differs from the bundle's key hint")
        candidates = _candidate_keys(parsed, trust)
        key_name, key, _ = _verify_with_any(candidates, lambda k: _check_dsse(parsed, k))
        expected = bodies.ExpectedEntry(
            public_key=key,
            signature=envelope.signatures[0].sig,
            payload=envelope.payload,
            pae=envelope.pae(),
        )
        signer = _key_signer(key_name, key, _managed_times(parsed, expected, trust))
        payload_type, payload = envelope.payload_type, envelope.payload
    else:
        result = keyless.verify_keyless(bundle, sha256=None, trusted_root=trust.trusted_root)
        signer = _keyless_signer(result)
        assert result.payload_type is not None and result.payload is not None  # noqa: S101
        payload_type, payload = result.payload_type, result.payload

    statement, predicate = _read_statement(payload_type, payload, sha256_hex)
    inventory = _read_sbom(predicate.document) if predicate.document is not None else None
    return VerifiedAttestation(
        bundle=name,
        signer=signer,
        statement_type=statement.type,
        predicate_type=statement.predicate_type,
        predicate_kind=predicate.kind,
        subjects=tuple(
            Subject(s.name, tuple(sorted(s.digest.items()))) for s in statement.subjects
        ),
        predicate=predicate.value,
        sbom=inventory,
        sbom_document=predicate.document,
        payload_sha256=hashlib.sha256(payload).hexdigest(),
    )


def verify_attestation(
    bundle: bytes, *, sha256: str, trust: TrustMaterial, name: str
) -> VerifiedAttestation:
    """Verify a bundle holding an in-toto attestation (`dsseEnvelope`) about an artifact.

    After the signature (as `verify_signature`, over the DSSE pre-authentication encoding),
    the payload type must be in-toto's, the payload an in-toto Statement v1 or v0.1, and one
    of its subjects must have the artifact's `sha256`. The predicate type is normalised
    (`predicate_kind`); SBOM predicates (also in cosign's `{"Data": ...}` wrapper or as a
    JSON string) are read into `sbom` with the document in `sbom_document`.

    Raises:
        VerificationError: the signature, payload type, statement, subject or SBOM is wrong
            or unreadable; the message is `<name>: <reason>`.
        InputError: `sha256` is not 64 hex characters, or a key or the trusted root is
            malformed.
    """
    digest = _sha256_bytes(sha256, None)
    with _named(name):
        parsed = _parse(bundle)
        return _verify_attestation(bundle, parsed, digest.hex(), trust, name)


def verify_bundle(
    bundle: bytes,
    *,
    sha256: str,
    trust: TrustMaterial,
    name: str,
    artifact: bytes | None = None,
) -> VerifiedSignature | VerifiedAttestation:
    """Verify a bundle of either kind: `verify_signature` or `verify_attestation` by content.

    `artifact` (optional, the artifact's bytes) is used for signatures only; see
    `verify_signature`.

    Raises:
        VerificationError: see `verify_signature` and `verify_attestation`.
        InputError: see `verify_signature`.
    """
    digest = _sha256_bytes(sha256, artifact)
    with _named(name):
        parsed = _parse(bundle)
        if parsed.dsse_envelope is not None:
            return _verify_attestation(bundle, parsed, digest.hex(), trust, name)
        signer = _verify_signature(bundle, parsed, digest, trust, artifact)
    return VerifiedSignature(bundle=name, signer=signer, sha256=digest.hex())
