"""sigstore-python's verifier, the reference the native one is tested against.

`verify_keyless_reference` verifies a keyless bundle through sigstore-python's own
`Verifier.verify_artifact` / `verify_dsse`, offline, against the same trusted root, and returns
what `sbomsign._internal.sigstore.keyless.verify_keyless` returns, so that
`tests/unit/internal/test_keyless.py` can compare verdicts and results. The gate never uses it.

Trust comes from a `trusted_root.json` given as bytes or, by default, the production trusted
root shipped inside the sigstore package, read directly: no TUF refresh, no cache directory,
no network (sigstore-python's own `offline=True` mode still creates and reads a TUF cache
under the user's home, whose content may differ from machine to machine).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sbomsign._internal.sigstore.keyless import KeylessResult
from sbomsign._internal.sigstore.trustroot import (
    CLIENT_TRUST_CONFIG_MEDIA_TYPE,
    embedded_trusted_root,
)
from sbomsign.errors import InputError, VerificationError

if TYPE_CHECKING:
    from cryptography import x509
    from sigstore.models import TrustedRoot
    from sigstore.verify.verifier import Verifier

__all__ = ["verify_keyless_reference"]


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

# NOTE: cryptography's x509 module is imported where certificates are read, not above: the
# managed-key path never needs it, and it costs a noticeable part of start-up.


