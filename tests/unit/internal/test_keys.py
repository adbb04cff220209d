"""Managed keys: cosign's key file, other PEM formats, signing, hints, password sources."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import nacl.secret
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, utils

from sbomsign._internal import keys
from sbomsign.errors import InputError, SigningError, VerificationError

VECTOR = Path(__file__).resolve().parents[2] / "assets" / "cosign-key"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SBOMSIGN_KEY_PASSWORD", "COSIGN_PASSWORD"):
        monkeypatch.delenv(var, raising=False)


def _vector_password() -> bytes:
    return (VECTOR / "password.txt").read_bytes().rstrip(b"\r\n")


def _pem_body(pem: bytes) -> dict[str, object]:
    lines = pem.decode().strip().splitlines()
    return json.loads(base64.b64decode("".join(lines[1:-1])))  # type: ignore[no-any-return]


# -- the cosign vector -------------------------------------------------------------------------


def test_cosign_vector_decrypts_to_the_published_public_key() -> None:
    key = keys.load_private_key(
        (VECTOR / "cosign.key").read_bytes(), _vector_password(), name="cosign.key"
    )
    published = keys.load_public_key((VECTOR / "cosign.pub").read_bytes())
    assert key.algorithm == "ecdsa-p256"
    assert keys.public_key_pem(key.public_key) == keys.public_key_pem(published)


def test_cosign_vector_key_id() -> None:
    published = keys.load_public_key((VECTOR / "cosign.pub").read_bytes())
    expected = (VECTOR / "keyid.txt").read_text().strip()
    assert keys.hint(published) == expected
    # The definition, computed independently: base64(sha256(DER SubjectPublicKeyInfo)).
    der = published.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert base64.b64encode(hashlib.sha256(der).digest()).decode() == expected


def test_cosign_vector_signature_verifies() -> None:
    published = keys.load_public_key((VECTOR / "cosign.pub").read_bytes())
    assert isinstance(published, ec.EllipticCurvePublicKey)
    message = (VECTOR / "message.txt").read_bytes()
    signature = base64.b64decode((VECTOR / "message.txt.sig").read_bytes())
    published.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    keys.verify_signature(published, signature, data=message)
    with pytest.raises(VerificationError):
        keys.verify_signature(published, signature, data=message + b"x")


def test_cosign_vector_wrong_password() -> None:
    with pytest.raises(SigningError, match="^wrong password for cosign.key$") as info:
        keys.load_private_key((VECTOR / "cosign.key").read_bytes(), b"nope", name="cosign.key")
    assert info.value.exit_code == 2


def test_legacy_cosign_label_is_accepted() -> None:
    pem = (VECTOR / "cosign.key").read_bytes().replace(b"SIGSTORE", b"COSIGN")
    key = keys.load_private_key(pem, _vector_password())
    assert key.hint == (VECTOR / "keyid.txt").read_text().strip()


def test_encrypted_key_without_password() -> None:
    with pytest.raises(SigningError, match="encrypted and no password"):
        keys.load_private_key((VECTOR / "cosign.key").read_bytes(), None, name="k")


# -- our own key files -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", keys.ALGORITHMS)
def test_written_key_file_roundtrip(kind: str) -> None:
    key = keys.generate(kind)
    pem = key.private_pem(b"s3cret")
    loaded = keys.load_private_key(pem, b"s3cret")
    assert loaded.algorithm == kind
    assert loaded.hint == key.hint


def test_written_key_file_is_cosign_format() -> None:
    """Decrypt our file with nothing but the format's description (scrypt + secretbox)."""
    key = keys.generate("ecdsa-p256")
    pem = key.private_pem(b"pw")
    assert pem.startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    assert pem.endswith(b"-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    assert all(len(line) <= 64 for line in pem.splitlines())
    body = _pem_body(pem)
    assert set(body) == {"kdf", "cipher", "ciphertext"}
    kdf, cipher = body["kdf"], body["cipher"]
    assert isinstance(kdf, dict) and isinstance(cipher, dict)
    assert kdf["name"] == "scrypt"
    assert kdf["params"] == {"N": 65536, "r": 8, "p": 1}
    assert cipher["name"] == "nacl/secretbox"
    salt = base64.b64decode(kdf["salt"])
    nonce = base64.b64decode(cipher["nonce"])
    assert (len(salt), len(nonce)) == (32, 24)
    box_key = hashlib.scrypt(b"pw", salt=salt, n=65536, r=8, p=1, maxmem=80 << 20, dklen=32)
    plain = nacl.secret.SecretBox(box_key).decrypt(base64.b64decode(str(body["ciphertext"])), nonce)
    der = serialization.load_der_private_key(plain, password=None)
    assert keys.hint(der.public_key()) == key.hint  # type: ignore[arg-type]


def test_two_files_for_one_key_differ() -> None:
    key = keys.generate("ed25519")
    assert key.private_pem(b"pw") != key.private_pem(b"pw")  # fresh salt and nonce


def _sigstore_pem(b64: str) -> bytes:
    label = keys.SIGSTORE_PEM_LABEL
    return f"-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n".encode()


def test_unexpected_scrypt_parameters_are_refused() -> None:
    pem = keys.generate().private_pem(b"pw")
    body = _pem_body(pem)
    body["kdf"]["params"]["N"] = 1 << 22  # type: ignore[index]
    raw = base64.b64encode(json.dumps(body).encode()).decode()
    with pytest.raises(SigningError, match="unexpected scrypt parameters"):
        keys.load_private_key(_sigstore_pem(raw), b"pw")


def test_malformed_encrypted_body() -> None:
    raw = base64.b64encode(b'{"kdf": 1}').decode()
    with pytest.raises(SigningError, match="malformed encrypted key"):
        keys.load_private_key(_sigstore_pem(raw), b"pw", name="k")


def test_unencrypted_pkcs8_for_no_password() -> None:
    key = keys.generate("ecdsa-p384")
    pem = key.private_pem(None)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")

    def never() -> bytes:
        raise AssertionError("asked for a password for an unencrypted key")

    assert keys.load_private_key(pem, never).hint == key.hint


# -- other PEM formats -------------------------------------------------------------------------


def _ec(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def test_sec1_ec_private_key_with_parameters_block() -> None:
    private = _ec()
    sec1 = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    params = b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
    key = keys.load_private_key(params + sec1)
    assert key.hint == keys.hint(private.public_key())


def test_encrypted_pkcs8() -> None:
    private = _ec()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert keys.load_private_key(pem, lambda: b"pw").hint == keys.hint(private.public_key())
    with pytest.raises(SigningError, match="^wrong password for k.pem$"):
        keys.load_private_key(pem, b"bad", name="k.pem")
    with pytest.raises(SigningError, match="no password"):
        keys.load_private_key(pem, None)


def test_openssl_legacy_encrypted_ec_key() -> None:
    private = _ec()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"pw"),
    )
    assert b"Proc-Type: 4,ENCRYPTED" in pem
    assert keys.load_private_key(pem, b"pw").hint == keys.hint(private.public_key())
    with pytest.raises(SigningError, match="wrong password"):
        keys.load_private_key(pem, b"bad")


def test_public_key_where_private_needed() -> None:
    pub = (VECTOR / "cosign.pub").read_bytes()
    with pytest.raises(SigningError, match="^cosign.pub is a public key or certificate"):
        keys.load_private_key(pub, b"", name="cosign.pub")


def test_rsa_is_unsupported() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        pem = private.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
        with pytest.raises(SigningError, match="unsupported key type: RSA"):
            keys.load_private_key(pem)


def test_p521_is_unsupported() -> None:
    pem = _ec(ec.SECP521R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(SigningError, match="unsupported key type: ECDSA secp521r1"):
        keys.load_private_key(pem)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello", "^k: not a PEM private key$"),
        (
            b"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n",
            r"^k: not a supported private key \(PEM FOO\)$",
        ),
        (
            b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
            "OpenSSH private keys are not supported",
        ),
        (
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "^k: malformed private key$",
        ),
    ],
)
def test_unknown_or_broken_files(data: bytes, message: str) -> None:
    with pytest.raises(SigningError, match=message):
        keys.load_private_key(data, b"pw", name="k")


def test_load_public_key_errors() -> None:
    with pytest.raises(InputError, match="is a private key"):
        keys.load_public_key(keys.generate().private_pem(None))
    with pytest.raises(InputError, match="not a PEM public key"):
        keys.load_public_key(b"nothing")


# -- signing -----------------------------------------------------------------------------------


def test_ecdsa_p256_signs_der_over_sha256() -> None:
    key = keys.generate("ecdsa-p256")
    sig = key.sign(b"data")
    utils.decode_dss_signature(sig)  # DER, not raw r||s
    pub = key.public_key
    assert isinstance(pub, ec.EllipticCurvePublicKey)
    pub.verify(sig, b"data", ec.ECDSA(hashes.SHA256()))
    digest = hashlib.sha256(b"data").digest()
    pub.verify(key.sign_prehashed(digest), b"data", ec.ECDSA(hashes.SHA256()))
    assert key.hash_algorithm == "sha256" and key.can_sign_prehashed


def test_ecdsa_p384_signs_over_sha384() -> None:
    key = keys.generate("ecdsa-p384")
    pub = key.public_key
    assert isinstance(pub, ec.EllipticCurvePublicKey)
    pub.verify(key.sign(b"data"), b"data", ec.ECDSA(hashes.SHA384()))
    sig = key.sign_prehashed(hashlib.sha384(b"data").digest())
    pub.verify(sig, b"data", ec.ECDSA(hashes.SHA384()))
    with pytest.raises(SigningError, match="sign a sha384 digest"):
        key.sign_prehashed(hashlib.sha256(b"data").digest())


def test_ed25519_signs_the_message() -> None:
    key = keys.generate("ed25519")
    pub = key.public_key
    assert isinstance(pub, ed25519.Ed25519PublicKey)
    pub.verify(key.sign(b"data"), b"data")
    assert key.hash_algorithm is None and not key.can_sign_prehashed
    with pytest.raises(SigningError, match="sign the message itself"):
        key.sign_prehashed(b"\0" * 32)


def test_generate_unknown_algorithm() -> None:
    with pytest.raises(InputError, match="unknown key algorithm"):
        keys.generate("rsa")


def test_verify_signature_roundtrip() -> None:
    for kind in keys.ALGORITHMS:
        key = keys.generate(kind)
        keys.verify_signature(key.public_key, key.sign(b"m"), data=b"m")
        with pytest.raises(VerificationError):
            keys.verify_signature(key.public_key, key.sign(b"m"), data=b"n")


# -- password sources and --key references -----------------------------------------------------


def test_password_environment_order() -> None:
    env = {"COSIGN_PASSWORD": "c", "SBOMSIGN_KEY_PASSWORD": "s"}
    assert keys.read_password("k", environ=env) == b"s"
    assert keys.read_password("k", environ={"COSIGN_PASSWORD": "c"}) == b"c"
    # Set but empty means the empty password, as in cosign.
    assert keys.read_password("k", environ={"SBOMSIGN_KEY_PASSWORD": ""}) == b""


def test_password_without_source_or_terminal() -> None:
    with pytest.raises(SigningError, match="^no password for k: set SBOMSIGN_KEY_PASSWORD"):
        keys.read_password("k", environ={}, interactive=False)


def test_password_prompt_and_confirmation() -> None:
    answers = iter(["pw", "pw", "a", "b"])
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return next(answers)

    assert (
        keys.read_password("k", confirm=True, environ={}, prompt=prompt, interactive=True) == b"pw"
    )
    assert prompts == ["Password for k: ", "Password for k (again): "]
    with pytest.raises(SigningError, match="do not match"):
        keys.read_password("k", confirm=True, environ={}, prompt=prompt, interactive=True)


def test_load_signing_key_references(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such key file"):
        keys.load_signing_key(str(tmp_path / "missing.key"))
    with pytest.raises(InputError, match="unsupported key reference"):
        keys.load_signing_key("awskms:///alias/x")
    with pytest.raises(InputError, match="is a directory"):
        keys.load_signing_key(str(tmp_path))
    path = tmp_path / "k.key"
    path.write_bytes((VECTOR / "cosign.key").read_bytes())
    with keys.load_signing_key(str(path), password=_vector_password) as key:
        assert key.hint == (VECTOR / "keyid.txt").read_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", key.hint)
