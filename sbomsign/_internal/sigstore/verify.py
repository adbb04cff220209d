"""Sigstore verification through sigstore-python, offline: one of the two modules importing it.

What is delegated to sigstore-python:

- keyless bundles (a Fulcio certificate): `Verifier.verify_artifact` / `verify_dsse`, i.e.
  the certificate chain at the signing time, the SCT, key usage, the transparency-log entry
  (inclusion proof, checkpoint, inclusion promise) and its consistency with the bundle,
  RFC 3161 timestamps and the signature itself. The identity policy given to sigstore accepts
  every identity: *who* signed is decided by `sbomsign.policy` from the facts returned;
- the Rekor part of managed-key bundles that carry log entries: sigstore-python refuses such
  bundles as a whole (it wants a certificate), so its log-entry verification (a private API,
  `TransparencyLogEntry._verify`) is called directly, and the entry body's consistency with
  the signature, key and digest is checked here.

RFC 3161 timestamps of managed-key bundles are verified here with `rfc3161-client`, against
the timestamp authorities of the trusted root.

Trust comes from a `trusted_root.json` given as bytes or, by default, the production trusted
root shipped inside the sigstore package, read directly: no TUF refresh, no cache directory,
no network (sigstore-python's own `offline=True` mode still creates and reads a TUF cache
under the user's home, whose content may differ from machine to machine).

Everything sigstore-python raises is turned into `VerificationError` with a short reason;
a malformed trusted root is an `InputError`. sigstore is imported inside the functions only:
it takes about half a second to import, which the managed-key path should not pay.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cryptography.hazmat.primitives import serialization

from sbomsign._internal.keys import PublicKey
from sbomsign.errors import InputError, VerificationError

if TYPE_CHECKING:
    from cryptography import x509
    from rfc3161_client import TimeStampResponse
    from sigstore._internal.trust import CertificateAuthority
    from sigstore.models import TrustedRoot
    from sigstore.verify.verifier import Verifier

PRODUCTION_TUF_URL = "https://tuf-repo-cdn.sigstore.dev"
STAGING_TUF_URL = "https://tuf-repo-cdn.sigstage.dev"
CLIENT_TRUST_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.clienttrustconfig"

#: More RFC 3161 timestamps than this in one bundle are refused (as sigstore-go and
#: sigstore-python do), so a bundle cannot make the verifier do unbounded work.
MAX_TIMESTAMPS = 32


def embedded_trusted_root(*, staging: bool = False) -> bytes:
    """The trusted root shipped inside the installed sigstore package (production or staging).

    It is the root as of the sigstore release; newer keys (a new Rekor shard, a new TSA)
    reach it only with a sigstore upgrade, or by passing a current `trusted_root.json`.
    """
    url = STAGING_TUF_URL if staging else PRODUCTION_TUF_URL
    # NOTE: sigstore-python stores the embedded TUF targets per repository, in a directory
    # named by the percent-encoded repository URL (`sigstore._utils.read_embedded`).
    path = resources.files("sigstore._store").joinpath(quote(url, safe=""), "trusted_root.json")
    return path.read_bytes()


@functools.lru_cache(maxsize=4)
def _trusted_root(data: bytes | None) -> TrustedRoot:
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import TrustedRoot
    from sigstore_models.trustroot.v1 import TrustedRoot as TrustedRootMessage

    raw = embedded_trusted_root() if data is None else data
    try:
        doc = json.loads(raw)
        if isinstance(doc, dict) and str(doc.get("mediaType", "")).startswith(
            CLIENT_TRUST_CONFIG_MEDIA_TYPE
        ):
            # NOTE: signing takes a client trust config (trusted root + signing config); the
            # same file is accepted here so one file serves both, and its root is used.
            return TrustedRoot(TrustedRootMessage.from_json(json.dumps(doc["trustedRoot"])))
        # NOTE: `TrustedRoot.from_file` wants a path; the trusted root arrives as bytes, so the
        # protobuf message is parsed and wrapped the way `from_file` does.
        return TrustedRoot(TrustedRootMessage.from_json(raw))
    except (SigstoreError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"the trusted root is malformed: {_one_line(e)}") from e


@functools.lru_cache(maxsize=4)
def _verifier(data: bytes | None) -> Verifier:
    from sigstore.errors import Error as SigstoreError
    from sigstore.verify.verifier import Verifier

    root = _trusted_root(data)
    try:
        return Verifier(trusted_root=root)
    except SigstoreError as e:
        # NOTE: a root without Fulcio CAs or logs is fine for managed keys; it only makes
        # keyless bundles unverifiable, so this is the bundle's failure, not a usage error.
        raise VerificationError(f"the trusted root cannot verify keyless bundles: {e}") from e


def _one_line(text: object, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


class _AnyIdentity:
    """A sigstore `VerificationPolicy` that accepts every certificate identity.

    The identity is checked by `sbomsign.policy` against the facts this module returns, so
    sigstore is asked only for the cryptography. (sigstore's own `UnsafeNoOp` does the same
    but logs a warning on every bundle.)
    """

    def verify(self, cert: x509.Certificate) -> None:
        """Accept the certificate: identity is decided by the caller."""
        return None


# -- keyless ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeylessResult:
    """What sigstore-python verified about a keyless bundle."""

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


# NOTE: sigstore-python reports failures as free-text VerificationErrors; these fragments of
# its 4.x messages map them to the short reasons sbomsign prints. Order matters: the first
# match wins, and "invalid log entry" wraps several more specific messages.
_KEYLESS_REASONS: tuple[tuple[str, str], ...] = (
    ("signature is invalid for input", "signature does not match the artifact"),
    ("bundle message digest mismatch", "signature does not match the artifact"),
    ("missing bundle message signature", "bundle has no message signature"),
    ("dsse: invalid signature", "signature does not match the attestation"),
    ("dsse: exactly 1 signature", "DSSE envelope must have exactly one signature"),
    ("inconsistent with other materials", "transparency log entry does not match the bundle"),
    ("payload hash does not match", "transparency log entry does not match the bundle"),
    ("signatures do not match bundle", "transparency log entry does not match the bundle"),
    ("invalid dsse log entry", "transparency log entry does not match the bundle"),
    ("expected entry type hashedrekord", "transparency log entry does not match the bundle"),
    ("unsupported dsse log entry type", "unsupported transparency log entry kind"),
    ("unsupported hashedrekord version", "unsupported transparency log entry version"),
    ("expected log entry version", "unsupported transparency log entry version"),
    ("failed to build timestamp", "certificate does not chain to the trusted root"),
    ("failed to verify sct", "certificate's SCT does not verify against the trusted root"),
    ("expired at time of signing", "certificate was not valid at the signing time"),
    ("key usage is not", "certificate is not for digital signatures"),
    ("extended usage does not contain", "certificate is not a code-signing certificate"),
    ("no timestamp authorities", "bundle has RFC 3161 timestamps but the trusted root has no TSA"),
    ("too many signed timestamp", "bundle has too many RFC 3161 timestamps"),
    ("duplicate timestamp", "bundle has duplicate RFC 3161 timestamps"),
    ("invalid log entry", "transparency log entry does not verify against the trusted root"),
    ("expected exactly one log entry", "bundle must have exactly one transparency log entry"),
    ("inclusion proof", "transparency log entry has no inclusion proof with a checkpoint"),
    ("inclusion promise or signed timestamp", "bundle has no inclusion promise or timestamp"),
    ("must contain an inclusion promise", "bundle has no inclusion promise"),
    ("expected certificate", "bundle has no signing certificate"),
    ("expected non-empty certificate chain", "bundle has no signing certificate"),
    ("invalid leaf", "bundle's first certificate is not a signing certificate"),
    ("unsupported bundle format", "unsupported bundle media type"),
)


def _keyless_reason(exc: BaseException, doc: Mapping[str, Any]) -> str:
    message = str(exc)
    lowered = message.lower()
    material = doc.get("verificationMaterial")
    material = material if isinstance(material, Mapping) else {}
    if "expected exactly one log entry" in lowered and not material.get("tlogEntries"):
        return "bundle has no transparency log entry"
    if "not enough sources of verified time" in lowered:
        tvd = material.get("timestampVerificationData")
        if isinstance(tvd, Mapping) and tvd.get("rfc3161Timestamps"):
            return "no RFC 3161 timestamp verifies against the trusted root's TSAs"
        return "bundle has no verified signing time (no inclusion promise, no timestamp)"
    for fragment, reason in _KEYLESS_REASONS:
        if fragment in lowered:
            if fragment == "invalid log entry":
                detail = message.split(":", 1)[-1]
                return f"{reason} ({_one_line(detail, 100)})"
            return reason
    return f"Sigstore verification failed: {_one_line(message or type(exc).__name__)}"


def verify_keyless(
    bundle: bytes, *, sha256: bytes | None, trusted_root: bytes | None
) -> KeylessResult:
    """Verify a keyless bundle: over an artifact's SHA-256 (`sha256`) or, when None, its DSSE.

    Raises:
        VerificationError: anything does not verify; the message is the short reason.
        InputError: the trusted root is malformed.
    """
    from sigstore.hashes import Hashed
    from sigstore.models import Bundle
    from sigstore_models.common.v1 import HashAlgorithm

    try:
        doc = json.loads(bundle)
    except ValueError as e:
        raise VerificationError("bundle is not JSON") from e
    if not isinstance(doc, dict):
        raise VerificationError("bundle is not a JSON object")
    verifier = _verifier(trusted_root)
    policy = _AnyIdentity()
    payload_type: str | None = None
    payload: bytes | None = None
    # NOTE: the whole of sigstore-python's work is inside one `except Exception`: on hostile
    # input it raises its own errors but also pydantic's, cryptography's and plain
    # ValueErrors; each of them means "not verified", and the gate must fail closed.
    try:
        sbundle = Bundle.from_json(bundle)
        if sha256 is not None:
            hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=sha256)
            verifier.verify_artifact(hashed, sbundle, policy)
        else:
            payload_type, payload = verifier.verify_dsse(sbundle, policy)
    except Exception as e:
        raise VerificationError(_keyless_reason(e, doc)) from e

    entry = sbundle.log_entry._inner
    integrated_time: int | None = None
    if entry.inclusion_promise is not None and entry.integrated_time:
        # NOTE: sigstore counts (and verifies, with the SET) the integration time only when an
        # inclusion promise binds it; without one it is unauthenticated and ignored here too.
        integrated_time = int(entry.integrated_time)
    timestamps: tuple[int, ...] = ()
    if sbundle.verification_material.timestamp_verification_data is not None:
        try:
            # NOTE: private API: sigstore keeps which timestamps verified to itself, and
            # re-running its check is the only way to report the TSA time.
            results = verifier._verify_timestamp_authority(sbundle)
        except Exception:  # verified above; here only facts are collected
            results = []
        timestamps = tuple(sorted(int(r.time.timestamp()) for r in results))
    return KeylessResult(
        certificate=sbundle.signing_certificate,
        integrated_time=integrated_time,
        timestamps=timestamps,
        payload_type=payload_type,
        payload=payload,
    )


# -- certificate facts -----------------------------------------------------------------------

_FULCIO_ARC = "1.3.6.1.4.1.57264.1."
# NOTE: cryptography's x509 module is imported where certificates are read, not above: the
# managed-key path never needs it, and it costs a noticeable part of start-up.

#: Fulcio certificate extensions (fulcio `docs/oid-info.md`) by the last arc of their OID.
#: .1 to .6 hold raw strings, .8 onwards a DER UTF8String.
FULCIO_CLAIMS: dict[int, str] = {
    1: "issuer_v1",
    2: "github_workflow_trigger",
    3: "github_workflow_sha",
    4: "github_workflow_name",
    5: "github_workflow_repository",
    6: "github_workflow_ref",
    8: "issuer",
    9: "build_signer_uri",
    10: "build_signer_digest",
    11: "runner_environment",
    12: "source_repository_uri",
    13: "source_repository_digest",
    14: "source_repository_ref",
    15: "source_repository_identifier",
    16: "source_repository_owner_uri",
    17: "source_repository_owner_identifier",
    18: "build_config_uri",
    19: "build_config_digest",
    20: "build_trigger",
    21: "run_invocation_uri",
    22: "source_repository_visibility_at_signing",
    23: "deployment_environment",
    24: "token_subject",
}
_RAW_CLAIMS = range(1, 7)


def der_utf8_string(data: bytes) -> str:
    """Decode a DER UTF8String (tag 0x0C, definite minimal length) that fills `data`.

    Raises:
        ValueError: anything else.
    """
    if len(data) < 2 or data[0] != 0x0C:
        raise ValueError("not a DER UTF8String")
    length, pos = data[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or len(data) < 2 + count or data[2] == 0:
            raise ValueError("bad DER length")
        length = int.from_bytes(data[2 : 2 + count], "big")
        pos = 2 + count
        if length < 0x80:
            raise ValueError("non-minimal DER length")
    if pos + length != len(data):
        raise ValueError("DER length does not match the data")
    return data[pos:].decode("utf-8")


@dataclass(frozen=True)
class CertificateFacts:
    """Who a Fulcio certificate names."""

    identity: str
    issuer: str
    claims: tuple[tuple[str, str], ...]
    """Every Fulcio extension present, `(name, value)` sorted by name."""


def certificate_facts(cert: x509.Certificate) -> CertificateFacts:
    """The SAN, OIDC issuer and Fulcio claims of a (verified) signing certificate.

    The issuer is extension .8 (DER UTF8String), or the deprecated .1 (raw string) on old
    certificates; both are also listed as claims (`issuer`, `issuer_v1`). Extensions under
    the Fulcio arc that `FULCIO_CLAIMS` does not name are listed by dotted OID.

    Raises:
        VerificationError: no SAN or more than one (Fulcio issues exactly one), or a Fulcio
            extension that is not the string it must be.
    """
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as e:
        raise VerificationError("certificate has no subject alternative name") from e
    names: list[str] = []
    for general in san:
        if isinstance(general, x509.RFC822Name | x509.UniformResourceIdentifier):
            names.append(general.value)
        elif isinstance(general, x509.OtherName) and general.type_id.dotted_string == (
            _FULCIO_ARC + "7"
        ):
            try:
                names.append(der_utf8_string(general.value))
            except ValueError as e:
                raise VerificationError("certificate's OtherName SAN is malformed") from e
        else:
            names.append(str(general.value))
    if len(names) != 1:
        raise VerificationError(
            f"certificate has {len(names)} subject alternative names; Fulcio issues one"
        )

    claims: dict[str, str] = {}
    for ext in cert.extensions:
        dotted = ext.oid.dotted_string
        if not dotted.startswith(_FULCIO_ARC):
            continue
        arc = dotted[len(_FULCIO_ARC) :]
        if not arc.isdigit() or not isinstance(ext.value, x509.UnrecognizedExtension):
            continue
        number = int(arc)
        name = FULCIO_CLAIMS.get(number, dotted)
        raw = ext.value.value
        try:
            claims[name] = raw.decode("utf-8") if number in _RAW_CLAIMS else der_utf8_string(raw)
        except ValueError as e:
            raise VerificationError(f"certificate extension {dotted} is malformed") from e
    issuer = claims.get("issuer") or claims.get("issuer_v1") or ""
    return CertificateFacts(names[0], issuer, tuple(sorted(claims.items())))


# -- managed keys: log entries and timestamps ------------------------------------------------


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


_PROTO_HASHES = {"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}


def _b64(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a base64 string")
    return base64.b64decode(value, validate=True)


def _spki(key: PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _pem_key_der(content: object) -> bytes:
    pem = _b64(content)
    loaded = serialization.load_pem_public_key(pem)
    return loaded.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _prehash_for(key: PublicKey) -> tuple[str, str] | None:
    from cryptography.hazmat.primitives.asymmetric import ec

    if isinstance(key, ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP384R1):
            return "SHA2_384", "sha384"
        return "SHA2_256", "sha256"
    # NOTE: Rekor v2 logs a digest; pure Ed25519 has none (rekor-tiles, algorithm registry).
    return None


class _Mismatch(Exception):
    """The log entry body records something else than the bundle."""


def _check_body(kind: str, version: str, body: bytes, expected: ExpectedEntry) -> None:
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
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import TransparencyLogEntry
    from sigstore_models.rekor.v1 import TransparencyLogEntry as EntryMessage

    root = _trusted_root(trusted_root)
    times: list[int] = []
    for raw in entries:
        try:
            message = EntryMessage.from_json(json.dumps(raw))
        except ValueError as e:
            raise VerificationError("transparency log entry is malformed") from e
        kind, version = message.kind_version.kind, message.kind_version.version
        try:
            _check_body(kind, version, message.canonicalized_body, expected)
        except _Mismatch as e:
            raise VerificationError(
                f"transparency log entry does not match the bundle ({e})"
            ) from e
        except (ValueError, KeyError, TypeError, binascii.Error) as e:
            raise VerificationError("transparency log entry body is malformed") from e
        if require_promise and message.inclusion_promise is None:
            raise VerificationError("transparency log entry has no inclusion promise")
        try:
            from sigstore._internal.trust import KeyringPurpose

            # NOTE: private API (isolated here): the same checks sigstore runs on the log
            # entry of a keyless bundle: Merkle inclusion, checkpoint signature, and the SET
            # when the entry has one.
            entry = TransparencyLogEntry(message)
            entry._verify(root.rekor_keyring(KeyringPurpose.VERIFY))
        except (SigstoreError, ValueError) as e:
            reason = _one_line(e, 100)
            if "inclusion proof, with checkpoint" in reason:
                raise VerificationError(
                    "transparency log entry has no inclusion proof with a checkpoint"
                ) from e
            raise VerificationError(
                f"transparency log entry does not verify against the trusted root ({reason})"
            ) from e
        if message.inclusion_promise is not None and message.integrated_time:
            if version != "0.0.1":
                raise VerificationError("an inclusion promise on a Rekor v2 entry")
            times.append(int(message.integrated_time))
    return tuple(times)


def _verify_timestamp(
    response: TimeStampResponse, message: bytes, authorities: Sequence[CertificateAuthority]
) -> datetime | None:
    from rfc3161_client import VerificationError as TimestampError
    from rfc3161_client import VerifierBuilder

    for authority in authorities:
        chain = authority.certificates(allow_expired=True)
        # NOTE: a trusted root lists a TSA as its signing certificate, then intermediates,
        # then the root; anything shorter cannot anchor a verification.
        if len(chain) < 2:
            continue
        builder = VerifierBuilder().tsa_certificate(chain[0]).add_root_certificate(chain[-1])
        for intermediate in chain[1:-1]:
            builder = builder.add_intermediate_certificate(intermediate)
        try:
            builder.build().verify_message(response, message)
        except TimestampError:
            continue
        gen_time = response.tst_info.gen_time
        end = authority.validity_period_end
        if authority.validity_period_start <= gen_time and (end is None or gen_time < end):
            return gen_time
    return None


def verify_timestamps(
    timestamps: Sequence[bytes], signature: bytes, *, trusted_root: bytes | None
) -> tuple[int, ...]:
    """Verify RFC 3161 timestamps over `signature`; return their times (Unix seconds).

    Every timestamp must verify against a timestamp authority of the trusted root and fall in
    that authority's validity period.

    Raises:
        VerificationError: one does not (or there are too many, or duplicates).
        InputError: the trusted root is malformed.
    """
    from rfc3161_client import decode_timestamp_response

    if len(timestamps) > MAX_TIMESTAMPS:
        raise VerificationError(f"bundle has more than {MAX_TIMESTAMPS} RFC 3161 timestamps")
    if len(set(timestamps)) != len(timestamps):
        raise VerificationError("bundle has duplicate RFC 3161 timestamps")
    root = _trusted_root(trusted_root)
    authorities = root.get_timestamp_authorities()
    if not authorities:
        raise VerificationError("bundle has RFC 3161 timestamps but the trusted root has no TSA")
    times = []
    for raw in timestamps:
        try:
            response = decode_timestamp_response(raw)
        except ValueError as e:
            raise VerificationError("RFC 3161 timestamp is malformed") from e
        verified = _verify_timestamp(response, signature, authorities)
        if verified is None:
            raise VerificationError("RFC 3161 timestamp does not verify against the trusted root")
        times.append(int(verified.timestamp()))
    return tuple(times)
