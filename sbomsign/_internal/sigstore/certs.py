"""Certificates: the Fulcio chain, the signing-certificate profile and embedded SCTs.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sbomsign._internal.sigstore.trustroot import (
    TrustedRoot,
    _spki,
    _valid_at,
    _verify_with_log_key,
)
from sbomsign.errors import VerificationError

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.x509.certificate_transparency import SignedCertificateTimestamp

# NOTE: cryptography's x509 module is imported in the functions that read certificates:
# managed-key bundles without log entries never need it, and it is a noticeable part of
# start-up.


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


def _fulcio_store_at(
    root: TrustedRoot, moment: datetime, now: datetime
) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """The trust anchors (each CA's last certificate) and the intermediates (the others)."""
    # NOTE: as sigstore-go: the last certificate of each CA's chain is its root and the only
    # trust anchor; the others are intermediates the chain must pass through. sigstore-python
    # makes every certificate an anchor, so a root whose own certificate is wrong still passes
    # on its intermediate. CAs whose validity starts after now are left out (as
    # sigstore-python); stricter than sigstore-python, so is a CA outside its own `validFor`
    # at the signing time (as sigstore-go).
    usable = [ca for ca in root.certificate_authorities
              if ca.validity.started(now) and ca.validity.covers(moment)]
    return ([ca.certificates[-1] for ca in usable],
            [c for ca in usable for c in ca.certificates[:-1]])


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
    anchors, intermediates = _fulcio_store_at(root, moment, now)
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
        # NOTE: no intermediates from the bundle: as sigstore-go and sigstore-python, the chain
        # is built from the trusted root alone, so a bundle cannot bring its own CA.
        return list(verifier.verify(leaf, intermediates).chain[1:])
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


_FULCIO_ARC = "1.3.6.1.4.1.57264.1."


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
