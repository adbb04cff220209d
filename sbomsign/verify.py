"""Stage 4: verify Sigstore bundles and in-toto attestations — bytes in, verified facts out.

Nothing here reads files or the network: callers pass the bundle bytes, the artifact's digest
and the trust material. Verification is cryptographic only (signature, certificate chain, SCT,
transparency log, timestamps, subject digest); *who* may sign is decided by `sbomsign.policy`
over the `Signer` facts returned here. Anything that cannot be checked raises
`VerificationError` with the reason: the gate fails closed.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar

from sbomsign._internal import intoto, keys, predicates
from sbomsign._internal.evidence import (
    KIND_CYCLONEDX,
    KIND_OTHER,
    KIND_SLSA_PROVENANCE,
    KIND_SPDX,
    KIND_VSA,
    ArtifactEvidence,
    BundleFailure,
    Signer,
    Subject,
    TrustMaterial,
    VerifiedAttestation,
    VerifiedSignature,
)
from sbomsign._internal.keys import VerifyingKey
from sbomsign._internal.sigstore import bodies, certs, keyless, managed, tsa
from sbomsign._internal.sigstore.bundle import MessageSignature, ParsedBundle, parse_bundle
from sbomsign.errors import InputError, SbomError, VerificationError
from sbomsign.models import Inventory

__all__ = [
    "ArtifactEvidence",
    "BundleFailure",
    "KIND_CYCLONEDX",
    "KIND_OTHER",
    "KIND_SLSA_PROVENANCE",
    "KIND_SPDX",
    "KIND_VSA",
    "Signer",
    "Subject",
    "TrustMaterial",
    "VerifiedAttestation",
    "VerifiedSignature",
    "check_trust",
    "split_bundles",
    "verify_attestation",
    "verify_bundle",
    "verify_legacy_image_signature",
    "verify_signature",
]

# -- verification ------------------------------------------------------------------------------
#
# Every failure is raised as `VerificationError("<name>: <reason>")`. A malformed bundle is a
# verification failure too (not an `InputError`): the bundle is untrusted input that the gate
# must reject, not a usage mistake. `InputError` is kept for the caller's own mistakes: a
# digest that is not 64 hex characters, a malformed key or trusted root.

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_HEX = {"sha256": _HEX64, "sha512": re.compile(r"[0-9a-fA-F]{128}")}
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


def _known(
    sha256: str, digests: Mapping[str, str] | None, artifact: bytes | None
) -> dict[str, str]:
    """Every digest of the artifact by algorithm, each checked (the sha256 against `artifact`
    too, when given)."""
    known = {a: d.lower() for a, d in (digests or {}).items()}
    for algorithm, hexdigest in known.items():
        pattern = _HEX.get(algorithm)
        if pattern is None or not pattern.fullmatch(hexdigest):
            raise InputError(f"not a {algorithm} hex digest: {hexdigest!r}")
    if sha256:
        known["sha256"] = _sha256_bytes(sha256, artifact).hex()
    if not known:
        raise InputError("no digest of the artifact given")
    return known


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


def _thresholds(trust: TrustMaterial) -> keyless.Thresholds:
    return keyless.Thresholds(tlog=trust.tlog_threshold, timestamps=trust.timestamp_threshold)


def _candidate_keys(
    parsed: ParsedBundle, trust: TrustMaterial
) -> tuple[list[tuple[str, VerifyingKey]], str | None]:
    """The keys to try, those the bundle's hint names first; and, when the hint names none of
    them, the reason to give if none verifies."""
    loaded = [(name, keys.load_public_key(pem, name=name)) for name, pem in trust.keys]
    if not loaded:
        raise _Failed("signed by a managed key, and no public key was given")
    if parsed.hint is None:
        # NOTE: the hint is optional in the bundle format; without one every key is tried.
        return loaded, None
    named = [(name, key) for name, key in loaded if parsed.hint in _hint_spellings(key)]
    # NOTE: as sigstore-go, the hint only orders the keys: it is unauthenticated, and clients
    # spell it differently (npm's registry key id is `SHA256:<base64>` of its own making), so
    # a bundle whose hint names no given key is still checked against every key.
    rest = [k for k in loaded if k not in named]
    unknown = None if named else f"signed by an unknown key (hint {parsed.hint})"
    return named + rest, unknown


def _hint_spellings(key: VerifyingKey) -> set[str]:
    standard = keys.hint(key)  # base64 of the SPKI's sha256, as protobuf-specs suggests
    raw = base64.b64decode(standard)
    unpadded = standard.rstrip("=")
    return {standard, unpadded, raw.hex(), f"SHA256:{unpadded}"}


def _verify_with_any(
    candidates: list[tuple[str, VerifyingKey]], check: Callable[[VerifyingKey], _T],
    unknown: str | None = None,
) -> tuple[str, VerifyingKey, _T]:
    """The first candidate key that `check` accepts, with its result; else the last refusal
    (or `unknown`, when the bundle named none of the candidates)."""
    failure = _Failed("no key to verify with")
    for name, key in candidates:
        try:
            return name, key, check(key)
        except _Failed as e:
            failure = e
    raise _Failed(unknown) if unknown else failure


def _check_message(
    ms: MessageSignature, key: VerifyingKey, sha256: bytes, artifact: bytes | None
) -> tuple[str, bytes]:
    """Verify a managed-key message signature; return the digest it covers (hashlib name, bytes).

    The bundle's `messageDigest` is optional; when present it must be the artifact's digest in
    the hash the key signs.
    """
    algorithm = keys.verifying_algorithm(key)
    if algorithm == "ed25519":
        # NOTE: Ed25519 has no digest in its signature; sbomsign (like cosign) records the
        # artifact's SHA-256 to name it, and that is what is compared.
        expected_digest = ms.digest_algorithm or "SHA2_256"
    else:
        expected_digest = "SHA2_384" if algorithm == "ecdsa-p384" else "SHA2_256"
    if ms.digest_algorithm not in (None, expected_digest):
        raise _Failed(f"the message digest is {ms.digest_algorithm}, but the key is {algorithm}")
    if algorithm not in ("ecdsa-p256", "rsa-sha256") and artifact is None:
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
    key_name: str, key: VerifyingKey, times: tuple[int | None, bool, bool]
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
            keyless.verify_keyless(bundle, sha256=sha256, trusted_root=trust.trusted_root,
                                   thresholds=_thresholds(trust))
        )
    candidates, unknown = _candidate_keys(parsed, trust)
    key_name, key, (digest_name, digest) = _verify_with_any(
        candidates, lambda k: _check_message(ms, k, sha256, artifact), unknown
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


def _check_dsse(parsed: ParsedBundle, key: VerifyingKey) -> None:
    envelope = parsed.dsse_envelope
    assert envelope is not None  # noqa: S101 - checked by the caller
    try:
        keys.verify_signature(key, envelope.signatures[0].sig, data=envelope.pae())
    except VerificationError as e:
        raise _Failed("signature does not match the attestation") from e


def _describe_subjects(statement: intoto.Statement) -> str:
    shown = [
        f"{s.name or '_'} {a}:{s.digest[a][:12]}" if (a := _shown_algorithm(s.digest))
        else f"{s.name or '_'} (no sha256)"
        for s in statement.subjects[:3]
    ]
    more = len(statement.subjects) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _shown_algorithm(digest: Mapping[str, str]) -> str:
    return next((a for a in ("sha256", "sha512") if isinstance(digest.get(a), str)), "")


def _read_statement(
    payload_type: str, payload: bytes, known: Mapping[str, str]
) -> tuple[intoto.Statement, predicates.Predicate]:
    if not _PAYLOAD_TYPE.fullmatch(payload_type):
        raise _Failed(f"the attestation's payload type is {payload_type!r}, not in-toto")
    try:
        statement = intoto.parse_statement(payload)
    except InputError as e:
        raise _Failed(f"the attestation is not an in-toto statement: {e.message}") from e
    if not statement.subjects_matching(known):
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
    bundle: bytes, parsed: ParsedBundle, known: Mapping[str, str], trust: TrustMaterial,
    name: str
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
        candidates, unknown = _candidate_keys(parsed, trust)
        key_name, key, _ = _verify_with_any(candidates, lambda k: _check_dsse(parsed, k),
                                            unknown)
        expected = bodies.ExpectedEntry(
            public_key=key,
            signature=envelope.signatures[0].sig,
            payload=envelope.payload,
            pae=envelope.pae(),
        )
        signer = _key_signer(key_name, key, _managed_times(parsed, expected, trust))
        payload_type, payload = envelope.payload_type, envelope.payload
    else:
        result = keyless.verify_keyless(bundle, sha256=None, trusted_root=trust.trusted_root,
                                        thresholds=_thresholds(trust))
        signer = _keyless_signer(result)
        assert result.payload_type is not None and result.payload is not None  # noqa: S101
        payload_type, payload = result.payload_type, result.payload

    statement, predicate = _read_statement(payload_type, payload, known)
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
        return _verify_attestation(bundle, parsed, {"sha256": digest.hex()}, trust, name)


#: Most bundles in one JSON Lines file, and trusted roots in one file (fixed limits).
MAX_DOCUMENTS_PER_FILE = 1000


def split_bundles(data: bytes, name: str) -> list[bytes]:
    """The bundles of a file: one, or one per line of a JSON Lines file (what
    `gh attestation download` writes).

    Raises:
        InputError: the file holds more than `MAX_DOCUMENTS_PER_FILE` bundles.
    """
    return _documents(data, f"{name}: the bundle file")


def _documents(data: bytes, what: str) -> list[bytes]:
    from sbomsign._internal import jsonbound

    try:
        return jsonbound.json_lines(data, MAX_DOCUMENTS_PER_FILE)
    except ValueError as e:
        raise InputError(f"{what} {e} (a fixed limit)") from e


def _roots(trust: TrustMaterial) -> list[TrustMaterial]:
    if trust.trusted_root is None:
        return [trust]
    return [dataclasses.replace(trust, trusted_root=root)
            for root in _documents(trust.trusted_root, "the trusted root file")]


def check_trust(trust: TrustMaterial) -> None:
    """Read the trusted roots once, before any bundle: a root that cannot be read is the
    caller's mistake (exit 2), not a verdict on each bundle. A file may hold several roots,
    one per line (what `gh attestation trusted-root` prints); a bundle then verifies when it
    verifies against one of them.

    Raises:
        InputError: a trusted root is malformed.
    """
    from sbomsign._internal.sigstore.trustroot import load_trusted_root

    for one in _roots(trust):
        if one.trusted_root is not None:
            load_trusted_root(one.trusted_root)


def verify_bundle(
    bundle: bytes,
    *,
    sha256: str = "",
    trust: TrustMaterial,
    name: str,
    artifact: bytes | None = None,
    digests: Mapping[str, str] | None = None,
) -> VerifiedSignature | VerifiedAttestation:
    """Verify a bundle of either kind: `verify_signature` or `verify_attestation` by content.

    `artifact` (optional, the artifact's bytes) is used for signatures only; see
    `verify_signature`. `digests` gives other digests of the artifact by algorithm (`sha512`):
    an attestation's subject may name the artifact by any of them, and `sha256` may then be
    empty, in which case an artifact signature (which covers the sha256) fails.

    Raises:
        VerificationError: see `verify_signature` and `verify_attestation`.
        InputError: see `verify_signature`; or no digest, or a malformed one, is given.
    """
    known = _known(sha256, digests, artifact)
    roots = _roots(trust)
    for one in roots[:-1]:
        try:
            return _verify_bundle(bundle, sha256, known, one, name, artifact)
        except VerificationError:
            continue  # the next root may be the instance that signed it
    return _verify_bundle(bundle, sha256, known, roots[-1], name, artifact)


def _verify_bundle(bundle: bytes, sha256: str, known: Mapping[str, str], trust: TrustMaterial,
                   name: str, artifact: bytes | None) -> VerifiedSignature | VerifiedAttestation:
    with _named(name):
        parsed = _parse(bundle)
        if parsed.dsse_envelope is not None:
            return _verify_attestation(bundle, parsed, known, trust, name)
        if not sha256:
            raise _Failed(f"an artifact signature covers the artifact's sha256; only its "
                          f"{', '.join(sorted(known))} is known")
        digest = bytes.fromhex(sha256)
        signer = _verify_signature(bundle, parsed, digest, trust, artifact)
    return VerifiedSignature(bundle=name, signer=signer, sha256=digest.hex())


def verify_legacy_image_signature(
    payload: bytes, bundle: bytes, *, image_digest: str, trust: TrustMaterial, name: str
) -> VerifiedSignature:
    """Verify one of cosign's tag-based image signatures (`scan.attached_bundles().legacy`):
    the bundle must sign the simple-signing `payload`, and the payload name `image_digest`.

    Raises:
        VerificationError: the signature fails, or the payload names another image.
    """
    from sbomsign._internal.oci.legacy import signed_digest

    result = verify_bundle(bundle, sha256=hashlib.sha256(payload).hexdigest(), trust=trust,
                           name=name, artifact=payload)
    try:
        signed = signed_digest(payload)
    except InputError as e:
        raise VerificationError(f"{name}: {e.message}") from e
    if not isinstance(result, VerifiedSignature) or signed != image_digest:
        raise VerificationError(f"{name}: signs {signed}, not {image_digest}")
    return VerifiedSignature(name, result.signer, image_digest.removeprefix("sha256:"))
