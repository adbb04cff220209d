"""Sigstore trusted roots: the CAs, logs and TSAs a verification trusts, with their validity.

See `keyless.py` for the verification these feed and its order of checks.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from sbomsign._internal import jsonbound
from sbomsign._internal.keys import PublicKey
from sbomsign._internal.sigstore.dsse import decode_base64
from sbomsign.errors import InputError

if TYPE_CHECKING:
    from cryptography import x509

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
#: Most entries in each list of a trusted root (logs, CT logs, CAs, TSAs). The public
#: instance's root has fewer than ten of each, after years of key rotation.
MAX_ROOT_ENTRIES = 256

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
    base_url: str = ""
    """The log's `baseUrl` (a Rekor v2 checkpoint is signed under its host name)."""

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


def _entries(value: object, what: str) -> list[Any]:
    items = _list(value, what)
    if len(items) > MAX_ROOT_ENTRIES:
        raise ValueError(f"more than {MAX_ROOT_ENTRIES} {what} (a fixed limit)")
    return items


def _time(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not an RFC 3339 time")
    moment = datetime.fromisoformat(value)
    # NOTE: protobuf's JSON mapping always writes UTC; a zone-less time is read as UTC rather
    # than compared (and failing) against the aware current time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _validity(value: object, what: str, *, start_required: bool) -> Validity:
    if value is None:
        return Validity()
    period = _object(value, what)
    start, end = period.get("start"), period.get("end")
    # NOTE: an absent end leaves the period open. A log's key needs its start
    # (sigstore-conformance `trust-root-tlog-missing-validity-start_fail`, sigstore-go's
    # "tlog missing public key validity period start time"); a certificate or timestamp
    # authority without one is open at the start, as sigstore-go reads it.
    open_start = start is None and not start_required
    return Validity(
        None if open_start else _time(start, f"{what}.start"),
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
    validity = _validity(public.get("validFor"), f"{what}.publicKey.validFor",
                         start_required=True)
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
    base_url = instance.get("baseUrl")
    return TrustedKey(key, hash_algorithm, hashlib.sha256(spki).digest(), log_id, validity,
                      base_url if isinstance(base_url, str) else "")


def _authority(value: object, what: str) -> Authority:
    from cryptography import x509

    ca = _object(value, what)
    chain = _object(ca.get("certChain"), f"{what}.certChain")
    try:
        certificates = tuple(
            x509.load_der_x509_certificate(
                decode_base64(_object(c, f"{what} certificate").get("rawBytes"), f"{what} cert")
            )
            for c in _entries(chain.get("certificates"), f"{what}.certChain.certificates")
        )
    except x509.InvalidVersion as e:  # not a ValueError, unlike every other DER problem
        raise ValueError(f"{what} has a certificate of an unknown X.509 version") from e
    if not certificates:
        raise ValueError(f"{what} has no certificate")
    if ca.get("validFor") is None:
        raise ValueError(f"{what} has no validFor")
    return Authority(certificates, _validity(ca.get("validFor"), f"{what}.validFor",
                                             start_required=False))


def _parse_trusted_root(raw: bytes) -> TrustedRoot:
    doc = _object(jsonbound.loads(raw), "the trusted root")
    if str(doc.get("mediaType", "")).startswith(CLIENT_TRUST_CONFIG_MEDIA_TYPE):
        # NOTE: signing takes a client trust config (trusted root + signing config); the same
        # file is accepted here so one file serves both, and its root is used.
        doc = _object(doc.get("trustedRoot"), "trustedRoot")
    if doc.get("mediaType") != TRUSTED_ROOT_MEDIA_TYPE:
        raise ValueError(f"unsupported trusted root media type {doc.get('mediaType')!r}")
    # NOTE: as sigstore-go (protobuf's JSON mapping omits empty lists): an absent list is
    # empty; a present one must be a list.
    tlogs = _entries(doc.get("tlogs", []), "tlogs")
    ctlogs = _entries(doc.get("ctlogs", []), "ctlogs")
    cas = _entries(doc.get("certificateAuthorities", []), "certificateAuthorities")
    tsas = _entries(doc.get("timestampAuthorities", []), "timestampAuthorities")
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

    Keys whose validity has not begun yet are ignored (as sigstore-python does).
    """
    usable = [k for k in keys if k.validity.started(now)]
    # NOTE: as sigstore-go: a log is found by the `logId` the trusted root declares for it,
    # and an entry or SCT naming a log the root does not list is not verified. sigstore-python
    # also matches the key's SPKI hash and, when nothing matches, tries every key; either way
    # a root whose declared ids are wrong, or an entry naming no listed log, would still pass.
    for key in (k for k in usable if k.log_id == log_id):
        if key.verify(signature, data):
            return key
    return None


def _valid_at(keys: Sequence[TrustedKey], key: TrustedKey, moment: datetime) -> bool:
    """Whether the root lists `key` as valid at `moment` (a key may be listed twice)."""
    return any(k.key_id == key.key_id and k.validity.covers(moment) for k in keys)


def _spki(key: PublicKey | _TrustKeyType) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
