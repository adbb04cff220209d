"""Key files: cosign's encrypted private key format, PEM private and public keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils

from sbomsign._internal.keys.base import (
    ALGORITHMS,
    PrivateKey,
    PublicKey,
    SigningKey,
    VerifyingKey,
    _hash_for,
    algorithm_of,
    verifying_algorithm,
)
from sbomsign.errors import InputError, SigningError

#: PEM labels of cosign's encrypted key file (the second one is the legacy spelling).
SIGSTORE_PEM_LABEL = "ENCRYPTED SIGSTORE PRIVATE KEY"
LEGACY_COSIGN_PEM_LABEL = "ENCRYPTED COSIGN PRIVATE KEY"


# NOTE: go-securesystemslib's `encrypted` package (which cosign uses) knows three scrypt
# parameter sets, legacy, standard and OWASP, and rejects others so that a tampered file
# cannot make the reader spend unbounded memory or time. We do the same and write "standard".
_SCRYPT_STANDARD = (65536, 8, 1)
_SCRYPT_ALLOWED = frozenset({(32768, 8, 1), _SCRYPT_STANDARD, (131072, 8, 1)})
_SALT_SIZE = 32
_NONCE_SIZE = 24
_BOX_KEY_SIZE = 32

_PEM_BLOCK = re.compile(
    rb"-----BEGIN (?P<label>[A-Z0-9 ]+)-----\r?\n(?P<body>.*?)-----END (?P=label)-----",
    re.DOTALL,
)

#: Password argument of the loaders: the bytes, a callable asked only when the key turns out
#: to be encrypted, or None for "no password available".
PasswordSource = bytes | Callable[[], bytes] | None


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    # NOTE: OpenSSL needs a little more than 128*N*r bytes; the default maxmem (32 MiB) is too
    # small for N=2^16, r=8, so the limit is explicit and follows from the allowed parameters.
    maxmem = 128 * r * (n + p + 2) + (1 << 20)
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=_BOX_KEY_SIZE)


def _pem(label: str, der: bytes) -> bytes:
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return (f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n").encode()


def encrypt_private_key(private_key: PrivateKey, password: bytes) -> bytes:
    """cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` PEM for `private_key` under `password`."""
    import nacl.secret  # only needed when a key file is written or read

    pkcs8 = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt = os.urandom(_SALT_SIZE)
    nonce = os.urandom(_NONCE_SIZE)
    n, r, p = _SCRYPT_STANDARD
    box = nacl.secret.SecretBox(_scrypt(password, salt, n, r, p))
    # NOTE: `.ciphertext` is the Poly1305 tag followed by the encrypted bytes, which is exactly
    # what Go's `secretbox.Seal` produces (without the nonce, stored separately).
    ciphertext = box.encrypt(pkcs8, nonce).ciphertext
    body = {
        "kdf": {
            "name": "scrypt",
            "params": {"N": n, "r": r, "p": p},
            "salt": base64.b64encode(salt).decode("ascii"),
        },
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode("ascii")},
        "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
    }
    return _pem(SIGSTORE_PEM_LABEL, json.dumps(body, separators=(",", ":")).encode())


def _b64field(obj: Mapping[str, Any], key: str, name: str) -> bytes:
    value = obj.get(key)
    if not isinstance(value, str):
        raise SigningError(f"{name}: malformed encrypted key: missing {key!r}")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as e:
        raise SigningError(f"{name}: malformed encrypted key: {key!r} is not base64") from e


def decrypt_private_key(body: bytes, password: bytes, *, name: str = "key") -> PrivateKey:
    """Decrypt the base64-decoded body of cosign's encrypted PEM block.

    Raises:
        SigningError: the body is malformed, uses parameters cosign would reject, or the
            password is wrong.
    """
    import nacl.exceptions
    import nacl.secret

    try:
        doc = json.loads(body)
        kdf, cipher = doc["kdf"], doc["cipher"]
        kdf_name, params, cipher_name = kdf["name"], kdf["params"], cipher["name"]
        n, r, p = int(params["N"]), int(params["r"]), int(params["p"])
    except (ValueError, KeyError, TypeError) as e:
        raise SigningError(f"{name}: malformed encrypted key") from e
    if kdf_name != "scrypt" or cipher_name != "nacl/secretbox":
        raise SigningError(f"{name}: unsupported key encryption {kdf_name}/{cipher_name}")
    if (n, r, p) not in _SCRYPT_ALLOWED:
        raise SigningError(f"{name}: unexpected scrypt parameters N={n} r={r} p={p}")
    salt = _b64field(kdf, "salt", name)
    nonce = _b64field(cipher, "nonce", name)
    ciphertext = _b64field(doc, "ciphertext", name)
    if len(nonce) != _NONCE_SIZE:
        raise SigningError(f"{name}: malformed encrypted key: bad nonce length")
    box = nacl.secret.SecretBox(_scrypt(password, salt, n, r, p))
    try:
        pkcs8 = box.decrypt(ciphertext, nonce)
    except nacl.exceptions.CryptoError as e:
        raise SigningError(f"wrong password for {name}") from e
    try:
        key = serialization.load_der_private_key(pkcs8, password=None)
    except (ValueError, UnsupportedAlgorithm) as e:
        raise SigningError(f"{name}: the decrypted key is not PKCS#8") from e
    algorithm_of(key)
    assert isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey)  # noqa: S101
    return key


# -- loading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PemBlock:
    label: str
    text: bytes
    """The whole block, BEGIN to END, as cryptography's PEM loaders want it."""
    body: bytes
    """Base64 body with headers (RFC 1421 `Proc-Type`, `DEK-Info`) removed."""
    headers: tuple[str, ...]


def _pem_blocks(data: bytes) -> list[_PemBlock]:
    blocks = []
    for m in _PEM_BLOCK.finditer(data):
        lines = m.group("body").decode("ascii", "replace").splitlines()
        headers = tuple(line for line in lines if ":" in line)
        body = "".join(line.strip() for line in lines if ":" not in line)
        blocks.append(
            _PemBlock(m.group("label").decode("ascii"), m.group(0), body.encode(), headers)
        )
    return blocks


def _resolve(password: PasswordSource) -> bytes | None:
    return password() if callable(password) else password


_PUBLIC_LABELS = frozenset({"PUBLIC KEY", "EC PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE"})
_PLAIN_LABELS = frozenset({"PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"})


def load_private_key(
    data: bytes, password: PasswordSource = None, *, name: str = "key"
) -> SoftwareSigningKey:
    """Load a private key file in any of the formats sbomsign accepts.

    Formats: cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` (and the legacy
    `ENCRYPTED COSIGN PRIVATE KEY`), PEM PKCS#8 `PRIVATE KEY`, PEM SEC1 `EC PRIVATE KEY`
    (optionally with OpenSSL's legacy `Proc-Type: 4,ENCRYPTED`), and encrypted PKCS#8
    `ENCRYPTED PRIVATE KEY`. `password` is asked for (when callable) only if the key is
    encrypted. `name` (usually the path) is used in messages.

    Raises:
        SigningError: the file is not a supported private key, is a public key or certificate,
            the password is wrong or missing, or the key type is unsupported.
    """
    blocks = _pem_blocks(data)
    for block in blocks:
        if block.label in (SIGSTORE_PEM_LABEL, LEGACY_COSIGN_PEM_LABEL):
            try:
                body = base64.b64decode(block.body, validate=True)
            except binascii.Error as e:
                raise SigningError(f"{name}: malformed encrypted key: bad base64") from e
            secret = _resolve(password)
            if secret is None:
                raise SigningError(f"{name}: the key is encrypted and no password was given")
            return SoftwareSigningKey(decrypt_private_key(body, secret, name=name))
        if block.label in _PLAIN_LABELS:
            return SoftwareSigningKey(_load_plain(block, password, name))
        if block.label == "OPENSSH PRIVATE KEY":
            raise SigningError(
                f"{name}: OpenSSH private keys are not supported;"
                " convert with `ssh-keygen -p -m PKCS8 -f FILE`"
            )
        if block.label == "RSA PRIVATE KEY":
            raise SigningError(
                f"{name}: unsupported key type: RSA (supported: {', '.join(ALGORITHMS)})"
            )
    if any(b.label in _PUBLIC_LABELS for b in blocks):
        raise SigningError(f"{name} is a public key or certificate; signing needs the private key")
    if blocks:
        labels = ", ".join(sorted({b.label for b in blocks}))
        raise SigningError(f"{name}: not a supported private key (PEM {labels})")
    raise SigningError(f"{name}: not a PEM private key")


def _load_plain(block: _PemBlock, password: PasswordSource, name: str) -> PrivateKey:
    encrypted = block.label == "ENCRYPTED PRIVATE KEY" or any(
        h.replace(" ", "").upper() == "PROC-TYPE:4,ENCRYPTED" for h in block.headers
    )
    secret = _resolve(password) if encrypted else None
    if encrypted and secret is None:
        raise SigningError(f"{name}: the key is encrypted and no password was given")
    try:
        key = serialization.load_pem_private_key(block.text, password=secret)
    except UnsupportedAlgorithm as e:
        raise SigningError(f"{name}: unsupported key type") from e
    except (ValueError, TypeError) as e:
        # NOTE: cryptography reports a wrong password and a damaged key with the same
        # ValueError; for an encrypted key a wrong password is by far the likelier cause.
        if encrypted:
            raise SigningError(f"wrong password for {name}") from e
        raise SigningError(f"{name}: malformed private key") from e
    algorithm_of(key)
    assert isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey)  # noqa: S101
    return key


def load_public_key(data: bytes, *, name: str = "public key") -> VerifyingKey:
    """Load a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) of a type sbomsign verifies.

    Raises:
        InputError: the data is not a PEM public key, or a private key was given.
        SigningError: the key type is unsupported.
    """
    blocks = _pem_blocks(data)
    block = next((b for b in blocks if b.label == "PUBLIC KEY"), None)
    if block is None:
        if any("PRIVATE KEY" in b.label for b in blocks):
            raise InputError(f"{name} is a private key; give the public key (.pub)")
        raise InputError(f"{name}: not a PEM public key")
    try:
        key = serialization.load_pem_public_key(block.text)
    except (ValueError, UnsupportedAlgorithm) as e:
        raise InputError(f"{name}: malformed public key") from e
    if not isinstance(key, VerifyingKey):
        raise SigningError(f"{name}: unsupported key type {type(key).__name__.lstrip('_')}")
    verifying_algorithm(key)
    return key




class SoftwareSigningKey(SigningKey):
    """A private key held in memory."""

    def __init__(self, private_key: PrivateKey) -> None:
        algorithm_of(private_key)  # reject unsupported curves up front
        self._private_key = private_key

    @property
    def private_key(self) -> PrivateKey:
        """The `cryptography` private key object."""
        return self._private_key

    @property
    def public_key(self) -> PublicKey:
        """The public half, as a `cryptography` key object."""
        return self._private_key.public_key()

    def sign(self, data: bytes) -> bytes:
        """Sign a message: DER ECDSA over its SHA-256/SHA-384 digest, or raw Ed25519."""
        key = self._private_key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        return key.sign(data, ec.ECDSA(_hash_for(self.algorithm)))

    def sign_prehashed(self, digest: bytes) -> bytes:
        """Sign a digest computed elsewhere (ECDSA keys only); `digest` uses `hash_algorithm`.

        Raises:
            SigningError: the key is Ed25519 or the digest length is wrong.
        """
        self._check_digest(digest)
        key = self._private_key
        assert isinstance(key, ec.EllipticCurvePrivateKey)  # noqa: S101 - _check_digest says so
        return key.sign(digest, ec.ECDSA(utils.Prehashed(_hash_for(self.algorithm))))

    def private_pem(self, password: bytes | None) -> bytes:
        """The key file: cosign's encrypted format, or unencrypted PKCS#8 without a password."""
        if password is None:
            return self._private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        return encrypt_private_key(self._private_key, password)


def generate(kind: str = "ecdsa-p256") -> SoftwareSigningKey:
    """A new random key of the named algorithm (`ecdsa-p256`, `ecdsa-p384`, `ed25519`).

    Raises:
        InputError: the algorithm is unknown.
    """
    private: PrivateKey
    if kind == "ecdsa-p256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif kind == "ecdsa-p384":
        private = ec.generate_private_key(ec.SECP384R1())
    elif kind == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise InputError(f"unknown key algorithm {kind!r} (choose from {', '.join(ALGORITHMS)})")
    return SoftwareSigningKey(private)
