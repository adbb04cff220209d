"""Signing with an EC key held by a PKCS#11 token (an HSM, a smart card, SoftHSM).

Keys are named by RFC 7512 URIs, e.g.
`pkcs11:token=release;object=signing-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin`.

The module (shared library) is the URI's `module-path`, else `SBOMSIGN_PKCS11_MODULE`, else
Debian's SoftHSM2 path. The PIN is the URI's `pin-value` or `pin-source`, else what the
caller's `pin` callable returns (the CLI reads `SBOMSIGN_PKCS11_PIN` or prompts).

python-pkcs11 is the optional extra `hsm` and is imported only when a token is opened.
The token signs with `CKM_ECDSA` over a digest computed here, and its raw `r || s` output is
turned into the ASN.1 DER form every Sigstore verifier expects.

Failures map onto the exit-code contract: an unloadable module, a missing token or a device
error is an environment failure (`NetworkError`, exit 3, "HSM unavailable"); a wrong PIN or a
missing key is a problem with the material given (`SigningError`, exit 2).
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from sbomsign._internal.keys.base import PublicKey, SigningKey, algorithm_of
from sbomsign.errors import InputError, NetworkError, SigningError

#: Where Debian and Ubuntu install SoftHSM2's module.
DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
#: Environment variable naming the PKCS#11 module when the URI has no `module-path`.
MODULE_ENV = "SBOMSIGN_PKCS11_MODULE"
#: Environment variable read for the PIN when the URI has none (see `read_pin`).
PIN_ENV = "SBOMSIGN_PKCS11_PIN"

# RFC 7512 section 2.3: path attributes (`;`-separated) and query attributes (`&`-separated).
_PATH_ATTRS = {
    "token": "token",
    "manufacturer": "manufacturer",
    "serial": "serial",
    "model": "model",
    "library-manufacturer": "library_manufacturer",
    "library-description": "library_description",
    "library-version": "library_version",
    "object": "object",
    "type": "type",
    "id": "id",
    "slot-description": "slot_description",
    "slot-manufacturer": "slot_manufacturer",
    "slot-id": "slot_id",
}
_QUERY_ATTRS = {
    "pin-source": "pin_source",
    "pin-value": "pin_value",
    "module-name": "module_name",
    "module-path": "module_path",
}
_ATTR_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class Pkcs11Uri:
    """A parsed RFC 7512 PKCS#11 URI; every attribute is optional."""

    token: str | None = None
    manufacturer: str | None = None
    serial: str | None = None
    model: str | None = None
    library_manufacturer: str | None = None
    library_description: str | None = None
    library_version: str | None = None
    object: str | None = None
    type: str | None = None
    id: bytes | None = None
    slot_description: str | None = None
    slot_manufacturer: str | None = None
    slot_id: int | None = None
    pin_source: str | None = None
    pin_value: str | None = None
    module_name: str | None = None
    module_path: str | None = None

    def redacted(self) -> str:
        """The URI for messages: path attributes only, so a `pin-value` never gets logged."""
        parts = []
        for attr, field_name in _PATH_ATTRS.items():
            value = getattr(self, field_name)
            if value is None:
                continue
            shown = value.hex() if isinstance(value, bytes) else str(value)
            parts.append(f"{attr}={shown}")
        return "pkcs11:" + ";".join(parts)


def _decode(value: str, attr: str) -> bytes:
    if re.search(r"%(?![0-9A-Fa-f]{2})", value):
        raise InputError(f"PKCS#11 URI: bad percent-encoding in {attr!r}")
    return unquote_to_bytes(value)


def parse_uri(uri: str) -> Pkcs11Uri:
    """Parse an RFC 7512 `pkcs11:` URI.

    Unknown vendor attributes (`x-...`) are ignored; other unknown or repeated attributes are
    rejected, since silently dropping a constraint could select the wrong key.

    Raises:
        InputError: the URI is malformed.
    """
    if not uri.startswith("pkcs11:"):
        raise InputError(f"{uri!r} is not a pkcs11: URI")
    path, _, query = uri[len("pkcs11:") :].partition("?")
    values: dict[str, Any] = {}
    for sep, part, known in ((";", path, _PATH_ATTRS), ("&", query, _QUERY_ATTRS)):
        for item in part.split(sep) if part else ():
            name, eq, raw = item.partition("=")
            if not eq or not _ATTR_NAME.match(name):
                raise InputError(f"PKCS#11 URI: malformed attribute {item!r}")
            if name.startswith("x-"):
                continue
            if name not in known:
                raise InputError(f"PKCS#11 URI: unknown attribute {name!r}")
            field_name = known[name]
            if field_name in values:
                raise InputError(f"PKCS#11 URI: attribute {name!r} given twice")
            data = _decode(raw, name)
            if field_name == "id":
                values[field_name] = data
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"PKCS#11 URI: {name!r} is not UTF-8") from e
            if field_name == "slot_id":
                if not text.isdigit():
                    raise InputError(f"PKCS#11 URI: slot-id {text!r} is not a number")
                values[field_name] = int(text)
            else:
                values[field_name] = text
    if values.get("type") not in (None, "private"):
        raise InputError(f"PKCS#11 URI: type={values['type']} cannot sign (use type=private)")
    if "pin_value" in values and "pin_source" in values:
        raise InputError("PKCS#11 URI: give pin-value or pin-source, not both")
    return Pkcs11Uri(**values)


def module_path(uri: Pkcs11Uri) -> str:
    """The module to load for `uri`: `module-path`, `SBOMSIGN_PKCS11_MODULE`, or SoftHSM2's.

    Raises:
        InputError: the URI names a module by `module-name` only, which sbomsign cannot
            resolve to a file.
    """
    if uri.module_path:
        return uri.module_path
    if uri.module_name:
        raise InputError(
            f"PKCS#11 URI: module-name={uri.module_name} is not supported;"
            f" give module-path or set {MODULE_ENV}"
        )
    return os.environ.get(MODULE_ENV) or DEFAULT_MODULE


def read_pin(name: str) -> str | None:
    """The CLI's PIN source: `SBOMSIGN_PKCS11_PIN`, else a prompt on a terminal, else None."""
    if PIN_ENV in os.environ:
        return os.environ[PIN_ENV]
    try:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed or detached stdin
        interactive = False
    return getpass.getpass(f"PIN for {name}: ") if interactive else None


def _pin_from_uri(uri: Pkcs11Uri) -> str | None:
    if uri.pin_value is not None:
        return uri.pin_value
    if uri.pin_source is None:
        return None
    source = uri.pin_source
    if source.startswith("file:"):
        parsed = urlsplit(source)
        if parsed.netloc not in ("", "localhost"):
            raise InputError(f"PKCS#11 URI: pin-source {source!r} is not a local file")
        source = parsed.path
    elif "://" in source:
        raise InputError(f"PKCS#11 URI: unsupported pin-source {source!r} (use file:PATH)")
    try:
        text = Path(source).read_bytes()
    except OSError as e:
        raise InputError(f"PKCS#11 pin-source {source}: cannot read: {e.strerror}") from e
    # NOTE: PIN files are usually written with `echo`, so one trailing newline is not part of
    # the PIN.
    try:
        pin = text.decode("utf-8")
    except UnicodeDecodeError as e:
        # PKCS#11 PINs are CK_UTF8CHAR strings.
        raise InputError(f"PKCS#11 pin-source {source}: not UTF-8 text") from e
    return pin.removesuffix("\n").removesuffix("\r")


# -- module loading --------------------------------------------------------------------------

# NOTE: python-pkcs11 caches one initialised library per path. We count the keys using each
# module and unload it when the last closes, so the next open re-runs C_Initialize and sees
# the current configuration (SoftHSM reads SOFTHSM2_CONF only then).
_module_users: dict[str, int] = {}


def _import_pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError as e:
        raise NetworkError("PKCS#11 keys need python-pkcs11: install sbomsign[hsm]") from e
    return pkcs11


def _acquire(path: str) -> Any:
    p11 = _import_pkcs11()
    if not os.path.exists(path):
        raise NetworkError(f"cannot load PKCS#11 module {path}: no such file")
    try:
        lib = p11.lib(path)
    except p11.PKCS11Error as e:
        # NOTE: python-pkcs11 repeats the path ("OS exception while loading P: P: reason");
        # the last part is the loader's reason.
        reason = str(e).rsplit(": ", 1)[-1] or type(e).__name__
        raise NetworkError(f"cannot load PKCS#11 module {path}: {reason}") from e
    _module_users[path] = _module_users.get(path, 0) + 1
    return lib


def _release(path: str) -> None:
    count = _module_users.get(path, 0) - 1
    if count > 0:
        _module_users[path] = count
        return
    _module_users.pop(path, None)
    _import_pkcs11().unload(path)


# -- the key ----------------------------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _find_token(lib: Any, uri: Pkcs11Uri) -> Any:
    p11 = _import_pkcs11()
    matches = []
    try:
        for slot in lib.get_slots(token_present=True):
            if uri.slot_id is not None and slot.slot_id != uri.slot_id:
                continue
            if uri.slot_description is not None and slot.slot_description != uri.slot_description:
                continue
            if uri.slot_manufacturer is not None and slot.manufacturer_id != uri.slot_manufacturer:
                continue
            token = slot.get_token()
            wanted = (
                (uri.token, token.label),
                (uri.serial, _text(token.serial)),
                (uri.manufacturer, token.manufacturer_id),
                (uri.model, token.model),
            )
            if all(want is None or want == have for want, have in wanted):
                matches.append(token)
    except p11.PKCS11Error as e:
        raise NetworkError(f"{uri.redacted()}: cannot list PKCS#11 tokens: {e!r}") from e
    if not matches:
        raise NetworkError(f"{uri.redacted()}: no such PKCS#11 token")
    if len(matches) > 1:
        raise SigningError(f"{uri.redacted()}: several tokens match; add token= or serial=")
    return matches[0]


_PIN_ERRORS = (
    "PinIncorrect",
    "PinInvalid",
    "PinLenRange",
    "PinLocked",
    "PinExpired",
    "UserPinNotInitialized",
)
_DEVICE_ERRORS = (
    "DeviceError",
    "DeviceMemory",
    "DeviceRemoved",
    "TokenNotPresent",
    "TokenNotRecognised",
    "SessionClosed",
    "SessionHandleInvalid",
    "SessionCount",
    "FunctionFailed",
    "GeneralError",
)


def _is(e: BaseException, names: tuple[str, ...]) -> bool:
    return type(e).__name__ in names


def _open_session(token: Any, uri: Pkcs11Uri, pin: str | None) -> Any:
    p11 = _import_pkcs11()
    try:
        return token.open(user_pin=pin) if pin is not None else token.open()
    except p11.PKCS11Error as e:
        if _is(e, _PIN_ERRORS):
            reason = "PIN locked" if _is(e, ("PinLocked",)) else "wrong PIN"
            raise SigningError(f"{reason} for {uri.redacted()}") from e
        raise NetworkError(f"{uri.redacted()}: cannot open a session: {e!r}") from e


def _objects(session: Any, attrs: dict[Any, Any]) -> list[Any]:
    return list(session.get_objects(attrs))


def _find_private_key(session: Any, uri: Pkcs11Uri, logged_in: bool) -> Any:
    p11 = _import_pkcs11()
    attrs: dict[Any, Any] = {
        p11.Attribute.CLASS: p11.ObjectClass.PRIVATE_KEY,
        p11.Attribute.KEY_TYPE: p11.KeyType.EC,
    }
    if uri.object is not None:
        attrs[p11.Attribute.LABEL] = uri.object
    if uri.id is not None:
        attrs[p11.Attribute.ID] = uri.id
    found = _objects(session, attrs)
    if not found:
        detail = "" if logged_in else " (no PIN was given; private keys usually need one)"
        raise SigningError(f"{uri.redacted()}: no EC private key found{detail}")
    if len(found) > 1:
        raise SigningError(f"{uri.redacted()}: several EC private keys match; add object= or id=")
    return found[0]


def _public_key(session: Any, private: Any, uri: Pkcs11Uri) -> PublicKey:
    p11 = _import_pkcs11()
    from pkcs11.util.ec import encode_ec_public_key

    # NOTE: a private key object does not carry its public point (CKA_EC_POINT is defined for
    # public keys only), so the public key is found by the pair's shared CKA_ID / CKA_LABEL,
    # falling back to a certificate with the same id.
    match: dict[Any, Any] = {}
    for attr in (p11.Attribute.ID, p11.Attribute.LABEL):
        try:
            value = private[attr]
        except p11.PKCS11Error:
            continue
        if value:
            match[attr] = value
    public: PublicKey | None = None
    if match:
        candidates = _objects(session, {p11.Attribute.CLASS: p11.ObjectClass.PUBLIC_KEY, **match})
        if len(candidates) == 1:
            der = encode_ec_public_key(candidates[0])
            loaded = serialization.load_der_public_key(der)
            algorithm_of(loaded)
            assert isinstance(loaded, ec.EllipticCurvePublicKey)  # noqa: S101
            public = loaded
        elif p11.Attribute.ID in match:
            certs = _objects(
                session,
                {
                    p11.Attribute.CLASS: p11.ObjectClass.CERTIFICATE,
                    p11.Attribute.ID: match[p11.Attribute.ID],
                },
            )
            if len(certs) == 1:
                cert = x509.load_der_x509_certificate(certs[0][p11.Attribute.VALUE])
                from_cert = cert.public_key()
                algorithm_of(from_cert)
                assert isinstance(from_cert, ec.EllipticCurvePublicKey)  # noqa: S101
                public = from_cert
    if public is None:
        raise SigningError(
            f"{uri.redacted()}: no public key or certificate with the private key's id/label"
        )
    return public


class Pkcs11SigningKey(SigningKey):
    """An EC private key in a PKCS#11 token, used through an open, logged-in session."""

    def __init__(
        self, session: Any, private: Any, public: PublicKey, uri: Pkcs11Uri, module: str
    ) -> None:
        self._session = session
        self._private = private
        self._public = public
        self._uri = uri
        self._module = module
        self._closed = False

    @property
    def public_key(self) -> PublicKey:
        """The public half, read from the token's public key object."""
        return self._public

    @property
    def uri(self) -> Pkcs11Uri:
        """The URI the key was opened with."""
        return self._uri

    def sign(self, data: bytes) -> bytes:
        """Hash `data` with the curve's hash and sign the digest on the token (DER ECDSA).

        Raises:
            SigningError: the token refused to sign.
            NetworkError: the token went away.
        """
        name = self.hash_algorithm
        assert name is not None  # noqa: S101 - tokens hold EC keys only
        return self.sign_prehashed(hashlib.new(name, data).digest())

    def sign_prehashed(self, digest: bytes) -> bytes:
        """Sign a digest on the token with `CKM_ECDSA`; returns the DER signature.

        Raises:
            SigningError: the digest length is wrong or the token refused to sign.
            NetworkError: the token went away.
        """
        self._check_digest(digest)
        if self._closed:
            raise SigningError(f"{self._uri.redacted()}: the key was closed")
        p11 = _import_pkcs11()
        try:
            raw = self._private.sign(digest, mechanism=p11.Mechanism.ECDSA)
        except p11.PKCS11Error as e:
            if _is(e, _DEVICE_ERRORS):
                raise NetworkError(f"{self._uri.redacted()}: token failed: {e!r}") from e
            raise SigningError(f"{self._uri.redacted()}: the token refused to sign: {e!r}") from e
        raw = bytes(raw)
        if not raw or len(raw) % 2:
            raise SigningError(f"{self._uri.redacted()}: malformed ECDSA signature from token")
        # NOTE: PKCS#11 returns r and s as two big-endian integers of the curve's size
        # (PKCS#11 v2.40 section 2.3.1); Sigstore and cosign want ASN.1 DER.
        half = len(raw) // 2
        r = int.from_bytes(raw[:half], "big")
        s = int.from_bytes(raw[half:], "big")
        return utils.encode_dss_signature(r, s)

    def close(self) -> None:
        """Close the session and release the module."""
        if self._closed:
            return
        self._closed = True
        try:
            self._session.close()
        except Exception:  # noqa: S110 - nothing useful to do about a failed close
            pass
        finally:
            _release(self._module)


def open_key(uri: str, *, pin: Callable[[], str | None] | None = None) -> Pkcs11SigningKey:
    """Open the EC private key named by a `pkcs11:` URI, logging in with its PIN.

    The PIN is the URI's `pin-value`/`pin-source`, else `pin()` (if given); without one the
    session is opened without logging in. Close the key when done (it is a context manager).

    Raises:
        InputError: the URI is malformed or its `pin-source` cannot be read.
        SigningError: wrong PIN, no matching key, or several matches.
        NetworkError: python-pkcs11 is missing, the module cannot be loaded, or no token
            matches (exit code 3, "HSM unavailable").
    """
    parsed = parse_uri(uri)
    path = module_path(parsed)
    secret = _pin_from_uri(parsed)
    lib = _acquire(path)
    session = None
    try:
        token = _find_token(lib, parsed)
        if secret is None and pin is not None:
            secret = pin()
        session = _open_session(token, parsed, secret)
        p11 = _import_pkcs11()
        try:
            private = _find_private_key(session, parsed, secret is not None)
            public = _public_key(session, private, parsed)
        except p11.PKCS11Error as e:
            raise NetworkError(f"{parsed.redacted()}: cannot read keys: {e!r}") from e
        return Pkcs11SigningKey(session, private, public, parsed, path)
    except BaseException:
        if session is not None:
            session.close()
        _release(path)
        raise
