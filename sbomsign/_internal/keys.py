"""Managed signing keys: generation, the encrypted key file, loading, signing, key hints.

A `SigningKey` signs bytes (or, for ECDSA, a precomputed digest) and names its public key. It
is implemented here for keys held in memory (`SoftwareSigningKey`) and in
`sbomsign._internal.pkcs11` for keys held by a PKCS#11 token.

Supported algorithms (names as `sbomsign keygen --algorithm` spells them):

| name | signature | hash |
|---|---|---|
| `ecdsa-p256` | ASN.1 DER ECDSA | SHA-256 |
| `ecdsa-p384` | ASN.1 DER ECDSA | SHA-384 |
| `ed25519` | raw 64-byte Ed25519 over the message itself | none (no prehash) |

The private key file is cosign's: a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY` whose body is
JSON naming scrypt (N=65536, r=8, p=1, 32-byte salt) and NaCl secretbox (24-byte nonce), with
the PKCS#8 DER key as the plaintext. cosign reads the keys sbomsign writes and the other way
round. The public key file is a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
"""

from __future__ import annotations

import abc
import base64
import binascii
import getpass
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils

from sbomsign.errors import InputError, SigningError, VerificationError

#: The public key types sbomsign signs with.
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
#: The private key types sbomsign signs with.
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

Algorithm = Literal["ecdsa-p256", "ecdsa-p384", "ed25519"]
#: Every algorithm `generate` accepts, the first being the default.
ALGORITHMS: tuple[Algorithm, ...] = ("ecdsa-p256", "ecdsa-p384", "ed25519")

#: Algorithm name -> the hashlib name of the digest it signs (None: the message itself).
HASH_ALGORITHMS: dict[str, str | None] = {
    "ecdsa-p256": "sha256",
    "ecdsa-p384": "sha384",
    "ed25519": None,
}

#: PEM labels of cosign's encrypted key file (the second one is the legacy spelling).
SIGSTORE_PEM_LABEL = "ENCRYPTED SIGSTORE PRIVATE KEY"
LEGACY_COSIGN_PEM_LABEL = "ENCRYPTED COSIGN PRIVATE KEY"

#: Environment variables read for a key password, in order.
PASSWORD_ENV = ("SBOMSIGN_KEY_PASSWORD", "COSIGN_PASSWORD")

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


def hint(public_key: PublicKey) -> str:
    """The key id cosign and Sigstore bundles use: base64(sha256(DER SubjectPublicKeyInfo))."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


def public_key_pem(public_key: PublicKey) -> bytes:
    """The PEM `PUBLIC KEY` (SubjectPublicKeyInfo) form written to `.pub` files."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def algorithm_of(public_key: object) -> Algorithm:
    """The sbomsign algorithm name of a public or private key.

    Raises:
        SigningError: the key type is not one sbomsign signs with.
    """
    if isinstance(public_key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if isinstance(public_key.curve, ec.SECP256R1):
            return "ecdsa-p256"
        if isinstance(public_key.curve, ec.SECP384R1):
            return "ecdsa-p384"
        raise SigningError(
            f"unsupported key type: ECDSA {public_key.curve.name}"
            f" (supported: {', '.join(ALGORITHMS)})"
        )
    if isinstance(public_key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "ed25519"
    kind = type(public_key).__name__.lstrip("_").replace("PrivateKey", "").replace("PublicKey", "")
    raise SigningError(f"unsupported key type: {kind} (supported: {', '.join(ALGORITHMS)})")


def _hash_for(algorithm: str) -> hashes.HashAlgorithm:
    return hashes.SHA384() if HASH_ALGORITHMS[algorithm] == "sha384" else hashes.SHA256()


class SigningKey(abc.ABC):
    """A key that signs: in memory, or in a hardware token.

    Keys that hold resources (a PKCS#11 session) release them in `close`; every key is a
    context manager so callers need not know which kind they have.
    """

    @property
    @abc.abstractmethod
    def public_key(self) -> PublicKey:
        """The public half, as a `cryptography` key object."""

    @property
    def algorithm(self) -> Algorithm:
        """`ecdsa-p256`, `ecdsa-p384` or `ed25519`."""
        return algorithm_of(self.public_key)

    @property
    def hash_algorithm(self) -> str | None:
        """The hashlib name of the digest the key signs, or None when it signs the message."""
        return HASH_ALGORITHMS[self.algorithm]

    @property
    def can_sign_prehashed(self) -> bool:
        """True when `sign_prehashed` works, so a large artifact need not be held in memory."""
        return self.hash_algorithm is not None

    @property
    def hint(self) -> str:
        """The key id: base64(sha256(DER SubjectPublicKeyInfo)), as cosign computes it."""
        return hint(self.public_key)

    @abc.abstractmethod
    def sign(self, data: bytes) -> bytes:
        """Sign a message: DER ECDSA over its SHA-256/SHA-384 digest, or raw Ed25519.

        Raises:
            SigningError: the key refused to sign.
        """

    def sign_prehashed(self, digest: bytes) -> bytes:
        """Sign a digest computed elsewhere (ECDSA keys only); `digest` uses `hash_algorithm`.

        Raises:
            SigningError: the key cannot sign a digest (Ed25519) or the digest length is wrong.
        """
        raise SigningError(f"{self.algorithm} keys sign the message itself, not a digest")

    def _check_digest(self, digest: bytes) -> None:
        name = self.hash_algorithm
        if name is None:
            raise SigningError(f"{self.algorithm} keys sign the message itself, not a digest")
        if len(digest) != hashlib.new(name).digest_size:
            raise SigningError(
                f"{self.algorithm} keys sign a {name} digest, got {len(digest)} bytes"
            )

    def close(self) -> None:  # noqa: B027 - a no-op default is the point
        """Release what the key holds (nothing for an in-memory key)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


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


# -- cosign's encrypted key file ------------------------------------------------------------


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


def load_public_key(data: bytes, *, name: str = "public key") -> PublicKey:
    """Load a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) of a supported type.

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
    algorithm_of(key)
    assert isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey)  # noqa: S101
    return key


def verify_signature(
    public_key: PublicKey,
    signature: bytes,
    *,
    data: bytes | None = None,
    digest: bytes | None = None,
) -> None:
    """Check a signature made by `SigningKey.sign` (`data`) or `sign_prehashed` (`digest`).

    Raises:
        VerificationError: the signature does not match.
        InputError: neither or both of `data` and `digest`, or a digest for an Ed25519 key.
    """
    if (data is None) == (digest is None):
        raise InputError("verify_signature needs exactly one of data and digest")
    algorithm = algorithm_of(public_key)
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            if data is None:
                raise InputError("Ed25519 signatures are over the message, not a digest")
            public_key.verify(signature, data)
        elif data is not None:
            public_key.verify(signature, data, ec.ECDSA(_hash_for(algorithm)))
        else:
            assert digest is not None  # noqa: S101 - checked above
            prehashed = ec.ECDSA(utils.Prehashed(_hash_for(algorithm)))
            public_key.verify(signature, digest, prehashed)
    except (InvalidSignature, ValueError) as e:
        raise VerificationError("signature does not match the public key") from e


# -- where keys and passwords come from (CLI helpers) ------------------------------------------


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed or detached stdin
        return False


def read_password(
    name: str,
    *,
    confirm: bool = False,
    environ: Mapping[str, str] | None = None,
    prompt: Callable[[str], str] | None = None,
    interactive: bool | None = None,
) -> bytes:
    """The password for key `name`: `SBOMSIGN_KEY_PASSWORD`, `COSIGN_PASSWORD`, or a prompt.

    The prompt (`getpass`) is used only when stdin is a terminal; `confirm` asks twice.
    `environ`, `prompt` and `interactive` exist for tests.

    Raises:
        SigningError: no variable is set and there is no terminal, or the two entries differ.
    """
    env = os.environ if environ is None else environ
    for var in PASSWORD_ENV:
        if var in env:
            # NOTE: a variable set to "" means the empty password (as in cosign), not "unset".
            return env[var].encode("utf-8")
    if interactive is None:
        interactive = _stdin_is_tty()
    if not interactive:
        raise SigningError(
            f"no password for {name}: set SBOMSIGN_KEY_PASSWORD (or COSIGN_PASSWORD)"
        )
    ask = prompt or getpass.getpass
    first = ask(f"Password for {name}: ")
    if confirm and ask(f"Password for {name} (again): ") != first:
        raise SigningError("the passwords do not match")
    return first.encode("utf-8")


_URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def load_signing_key(
    ref: str,
    *,
    password: Callable[[], bytes] | None = None,
    pin: Callable[[], str | None] | None = None,
) -> SigningKey:
    """Open the key named by `--key`: a key file path or a `pkcs11:` URI.

    `password` is called only for an encrypted key file, `pin` only for a token whose URI
    has no PIN. The caller closes the returned key (it is a context manager).

    Raises:
        InputError: the file cannot be read, or the reference is a KMS URI sbomsign lacks.
        SigningError: see `load_private_key`; for PKCS#11, a wrong PIN or a missing key.
        NetworkError: the PKCS#11 module or token is unavailable.
    """
    if ref.startswith("pkcs11:"):
        from sbomsign._internal.pkcs11 import open_key  # optional `hsm` extra

        return open_key(ref, pin=pin)
    path = Path(ref)
    if _URL_SCHEME.match(ref) and not path.exists():
        raise InputError(f"{ref}: unsupported key reference (give a key file or a pkcs11: URI)")
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise InputError(f"{ref}: no such key file") from e
    except IsADirectoryError as e:
        raise InputError(f"{ref}: is a directory, not a key file") from e
    except OSError as e:
        raise InputError(f"{ref}: cannot read: {e.strerror}") from e
    return load_private_key(data, password, name=ref)
