"""Managed signing keys: generation, the encrypted key file, loading, signing, key hints.

A `SigningKey` signs bytes (or, for ECDSA, a precomputed digest) and names its public key. It
is implemented here for keys held in memory (`SoftwareSigningKey`) and in
`pkcs11` for keys held by a PKCS#11 token.

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

Layout: `base` (algorithms, `SigningKey`, hints, signature checks), `files` (keys in memory,
cosign's encrypted key file, PEM), `prompt` (passwords), `pkcs11` (keys on a token, with the
optional `hsm` extra). `load_signing_key` below opens whichever `--key` names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from sbomsign._internal.keys.base import ALGORITHMS as ALGORITHMS
from sbomsign._internal.keys.base import HASH_ALGORITHMS as HASH_ALGORITHMS
from sbomsign._internal.keys.base import Algorithm as Algorithm
from sbomsign._internal.keys.base import PrivateKey as PrivateKey
from sbomsign._internal.keys.base import PublicKey as PublicKey
from sbomsign._internal.keys.base import SigningKey as SigningKey
from sbomsign._internal.keys.base import VerifyingKey as VerifyingKey
from sbomsign._internal.keys.base import algorithm_of as algorithm_of
from sbomsign._internal.keys.base import hint as hint
from sbomsign._internal.keys.base import public_key_pem as public_key_pem
from sbomsign._internal.keys.base import verify_signature as verify_signature
from sbomsign._internal.keys.base import verifying_algorithm as verifying_algorithm
from sbomsign._internal.keys.files import LEGACY_COSIGN_PEM_LABEL as LEGACY_COSIGN_PEM_LABEL
from sbomsign._internal.keys.files import SIGSTORE_PEM_LABEL as SIGSTORE_PEM_LABEL
from sbomsign._internal.keys.files import SoftwareSigningKey as SoftwareSigningKey
from sbomsign._internal.keys.files import decrypt_private_key as decrypt_private_key
from sbomsign._internal.keys.files import encrypt_private_key as encrypt_private_key
from sbomsign._internal.keys.files import generate as generate
from sbomsign._internal.keys.files import load_private_key as load_private_key
from sbomsign._internal.keys.files import load_public_key as load_public_key
from sbomsign._internal.keys.prompt import PASSWORD_ENV as PASSWORD_ENV
from sbomsign._internal.keys.prompt import read_password as read_password
from sbomsign.errors import InputError

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
        from sbomsign._internal.keys.pkcs11 import open_key  # optional `hsm` extra

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
