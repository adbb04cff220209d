"""PKCS#11: RFC 7512 URIs, and signing with a real (throw-away) SoftHSM2 token."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from sbomsign._internal import keys
from sbomsign._internal.keys import pkcs11
from sbomsign.errors import InputError, NetworkError, SigningError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (pkcs11.MODULE_ENV, pkcs11.PIN_ENV):
        monkeypatch.delenv(var, raising=False)


# -- URIs --------------------------------------------------------------------------------------


def test_parse_full_uri() -> None:
    uri = pkcs11.parse_uri(
        "pkcs11:token=My%20Token;manufacturer=SoftHSM%20project;serial=abc;model=m;"
        "object=signing%2Dkey;type=private;id=%01%ff;slot-id=7"
        "?module-path=/usr/lib/x.so&pin-value=12%2634"
    )
    assert uri.token == "My Token"
    assert uri.manufacturer == "SoftHSM project"
    assert uri.serial == "abc" and uri.model == "m"
    assert uri.object == "signing-key" and uri.type == "private"
    assert uri.id == b"\x01\xff"
    assert uri.slot_id == 7
    assert uri.module_path == "/usr/lib/x.so"
    assert uri.pin_value == "12&34"


def test_empty_uri_and_vendor_attributes() -> None:
    assert pkcs11.parse_uri("pkcs11:") == pkcs11.Pkcs11Uri()
    assert pkcs11.parse_uri("pkcs11:x-vendor=1;token=t?x-q=2").token == "t"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("file:/x", "is not a pkcs11: URI"),
        ("pkcs11:token", "malformed attribute"),
        ("pkcs11:colour=red", "unknown attribute 'colour'"),
        ("pkcs11:?pin-file=/x", "unknown attribute 'pin-file'"),
        ("pkcs11:token=a;token=b", "given twice"),
        ("pkcs11:type=public", "cannot sign"),
        ("pkcs11:slot-id=x", "not a number"),
        ("pkcs11:id=%zz", "bad percent-encoding"),
        ("pkcs11:?pin-value=1&pin-source=file:/p", "not both"),
        ("pkcs11:token=%ff", "not UTF-8"),
    ],
)
def test_malformed_uris(uri: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        pkcs11.parse_uri(uri)


def test_redacted_uri_hides_the_pin() -> None:
    uri = pkcs11.parse_uri("pkcs11:token=t;id=%01?pin-value=secret&module-path=/m.so")
    assert uri.redacted() == "pkcs11:token=t;id=01"


def test_module_path_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pkcs11.module_path(pkcs11.Pkcs11Uri()) == pkcs11.DEFAULT_MODULE
    monkeypatch.setenv(pkcs11.MODULE_ENV, "/env.so")
    assert pkcs11.module_path(pkcs11.Pkcs11Uri()) == "/env.so"
    assert pkcs11.module_path(pkcs11.Pkcs11Uri(module_path="/uri.so")) == "/uri.so"
    with pytest.raises(InputError, match="module-name"):
        pkcs11.module_path(pkcs11.Pkcs11Uri(module_name="softhsm2"))


# -- a real token ------------------------------------------------------------------------------


def _uri(base: str, *, pin: str | None = "", module: str = "", object: str = "") -> str:
    """The fixture's URI with another PIN (None: none), module or object label."""
    u = pkcs11.parse_uri(base)
    query = f"module-path={module or u.module_path}"
    if pin is not None:
        query += f"&pin-value={pin or u.pin_value}"
    return f"pkcs11:token={u.token};object={object or u.object};id=%01?{query}"


def _verify(key: keys.SigningKey, sig: bytes, data: bytes) -> None:
    pub = key.public_key
    assert isinstance(pub, ec.EllipticCurvePublicKey)
    pub.verify(sig, data, ec.ECDSA(hashes.SHA256()))


def test_sign_with_softhsm(softhsm_token: str) -> None:
    with pkcs11.open_key(softhsm_token) as key:
        assert key.algorithm == "ecdsa-p256"
        sig = key.sign(b"artifact")
        utils.decode_dss_signature(sig)  # converted from raw r||s to DER
        _verify(key, sig, b"artifact")
        _verify(key, key.sign_prehashed(hashlib.sha256(b"x").digest()), b"x")
        with pytest.raises(SigningError, match="sha256 digest"):
            key.sign_prehashed(b"short")
        assert key.hint == keys.hint(key.public_key)


def test_find_key_by_id_or_label_alone(softhsm_token: str) -> None:
    u = pkcs11.parse_uri(softhsm_token)
    by_label = f"pkcs11:token={u.token};object={u.object}?pin-value={u.pin_value}"
    by_id = f"pkcs11:token={u.token};id=%01?pin-value={u.pin_value}"
    only_key = f"pkcs11:token={u.token}?pin-value={u.pin_value}"
    hints = set()
    for uri in (softhsm_token, by_label, by_id, only_key):
        with pkcs11.open_key(uri) as key:
            hints.add(key.hint)
    assert len(hints) == 1


def test_pin_from_callable_and_file(softhsm_token: str, tmp_path: Path) -> None:
    pin_value = pkcs11.parse_uri(softhsm_token).pin_value or ""
    asked: list[bool] = []

    def pin() -> str:
        asked.append(True)
        return pin_value

    with pkcs11.open_key(_uri(softhsm_token, pin=None), pin=pin) as key:
        _verify(key, key.sign(b"m"), b"m")
    assert asked == [True]
    pin_file = tmp_path / "pin"
    pin_file.write_text(pin_value + "\n")
    for source in (f"file:{pin_file}", f"file://{pin_file}", str(pin_file)):
        uri = _uri(softhsm_token, pin=None).replace("?", "?pin-source=" + source + "&")
        with pkcs11.open_key(uri) as key:
            _verify(key, key.sign(b"m"), b"m")
    with pytest.raises(InputError, match="cannot read"):
        pkcs11.open_key(_uri(softhsm_token, pin=None) + f"&pin-source=file:{tmp_path}/nope")


def test_bad_pin_is_a_signing_error(softhsm_token: str) -> None:
    token = pkcs11.parse_uri(softhsm_token).token
    with pytest.raises(SigningError, match=f"^wrong PIN for pkcs11:token={token};") as info:
        pkcs11.open_key(_uri(softhsm_token, pin="9999"))
    assert info.value.exit_code == 2


def test_missing_pin_finds_no_private_key(softhsm_token: str) -> None:
    with pytest.raises(SigningError, match="no PIN was given"):
        pkcs11.open_key(_uri(softhsm_token, pin=None))


def test_missing_key(softhsm_token: str) -> None:
    with pytest.raises(SigningError, match="no EC private key found"):
        pkcs11.open_key(_uri(softhsm_token, object="other"))


def test_missing_token_is_hsm_unavailable(softhsm_token: str) -> None:
    uri = softhsm_token.replace(f"token={pkcs11.parse_uri(softhsm_token).token}", "token=elsewhere")
    with pytest.raises(NetworkError, match="no such PKCS#11 token") as info:
        pkcs11.open_key(uri)
    assert info.value.exit_code == 3


def test_unloadable_module_is_hsm_unavailable(tmp_path: Path) -> None:
    base = "pkcs11:token=t;object=k?pin-value=1234&module-path=/x.so"
    with pytest.raises(NetworkError, match="no such file") as info:
        pkcs11.open_key(_uri(base, module=str(tmp_path / "nope.so")))
    assert info.value.exit_code == 3
    not_a_library = tmp_path / "fake.so"
    not_a_library.write_bytes(b"not ELF")
    with pytest.raises(NetworkError, match="cannot load PKCS#11 module") as info:
        pkcs11.open_key(_uri(base, module=str(not_a_library)))
    assert info.value.exit_code == 3


def test_load_signing_key_dispatches_pkcs11(softhsm_token: str) -> None:
    with keys.load_signing_key(softhsm_token) as key:
        assert isinstance(key, pkcs11.Pkcs11SigningKey)
        _verify(key, key.sign(b"m"), b"m")
    with pytest.raises(SigningError, match="closed"):
        key.sign(b"m")


def test_module_is_released_after_close(softhsm_token: str) -> None:
    key = pkcs11.open_key(softhsm_token)
    module = pkcs11.module_path(key.uri)
    assert pkcs11._module_users[module] == 1
    key.close()
    key.close()  # idempotent
    assert module not in pkcs11._module_users
