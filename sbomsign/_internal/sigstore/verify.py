"""Sigstore verification for the gate, and sigstore-python's as the reference.

What `sbomsign.verify` calls is native (`sbomsign._internal.keyless`: cryptography and
rfc3161-client only) and re-exported here under the names it has always had:
`verify_keyless` for keyless bundles, `verify_log_entries` and `verify_timestamps` for the
log entries and RFC 3161 timestamps of managed-key bundles, `embedded_trusted_root`.
Importing sigstore-python takes about half a second (pydantic models, TUF, requests), more
than a whole verification, so the gate never does.

`verify_keyless_reference` verifies a keyless bundle through sigstore-python's own
`Verifier.verify_artifact` / `verify_dsse`, offline, against the same trusted root. It is the
reference the native verifier is tested against (`tests/unit/internal/test_keyless.py`); the
gate does not use it. sigstore is imported inside it only.

Trust comes from a `trusted_root.json` given as bytes or, by default, the production trusted
root shipped inside the sigstore package, read directly: no TUF refresh, no cache directory,
no network (sigstore-python's own `offline=True` mode still creates and reads a TUF cache
under the user's home, whose content may differ from machine to machine).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sbomsign._internal.keyless import (
    CLIENT_TRUST_CONFIG_MEDIA_TYPE,
    MAX_TIMESTAMPS,
    PRODUCTION_TUF_URL,
    STAGING_TUF_URL,
    ExpectedEntry,
    KeylessResult,
    embedded_trusted_root,
    verify_keyless,
    verify_log_entries,
    verify_timestamps,
)
from sbomsign.errors import InputError, VerificationError

if TYPE_CHECKING:
    from cryptography import x509
    from sigstore.models import TrustedRoot
    from sigstore.verify.verifier import Verifier

__all__ = [
    "CLIENT_TRUST_CONFIG_MEDIA_TYPE",
    "FULCIO_CLAIMS",
    "MAX_TIMESTAMPS",
    "PRODUCTION_TUF_URL",
    "STAGING_TUF_URL",
    "CertificateFacts",
    "ExpectedEntry",
    "KeylessResult",
    "certificate_facts",
    "der_utf8_string",
    "embedded_trusted_root",
    "verify_keyless",
    "verify_keyless_reference",
    "verify_log_entries",
    "verify_timestamps",
]


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


def verify_keyless_reference(
    bundle: bytes, *, sha256: bytes | None, trusted_root: bytes | None
) -> KeylessResult:
    """Verify a keyless bundle with sigstore-python: the reference for `verify_keyless`.

    Same arguments, result and failures as `verify_keyless` (the reasons are sigstore-python's
    messages mapped to sbomsign's). Tests only: it imports sigstore-python.

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
