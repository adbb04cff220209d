"""Signing keys: the algorithms, `SigningKey`, keys held in memory, and signature checks.

A `SigningKey` signs bytes (or, for ECDSA, a precomputed digest) and names its public key. It
is implemented here for keys held in memory (`SoftwareSigningKey`) and in `pkcs11` for keys
held by a PKCS#11 token.
"""

from __future__ import annotations

import abc
import base64
import hashlib
from types import TracebackType
from typing import Literal, Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from sbomsign.errors import InputError, SigningError, VerificationError

#: The public key types sbomsign signs with.
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
#: The public key types sbomsign verifies: those it signs with, and RSA (2048 bits or more,
#: PKCS#1 v1.5 or PSS over SHA-256), which cosign and sigstore-go accept from KMS and from
#: distributions' build services.
VerifyingKey = PublicKey | rsa.RSAPublicKey
#: Smallest RSA modulus accepted.
MIN_RSA_BITS = 2048
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

def verifying_algorithm(public_key: VerifyingKey) -> str:
    """`algorithm_of` for keys that only verify: also `rsa-sha256`.

    Raises:
        SigningError: an unsupported key type, or an RSA key under `MIN_RSA_BITS`.
    """
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise SigningError(f"unsupported key: RSA {public_key.key_size} bits (at least "
                               f"{MIN_RSA_BITS})")
        return "rsa-sha256"
    return algorithm_of(public_key)


def hint(public_key: VerifyingKey) -> str:
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






# -- cosign's encrypted key file ------------------------------------------------------------


def verify_signature(
    public_key: VerifyingKey,
    signature: bytes,
    *,
    data: bytes | None = None,
    digest: bytes | None = None,
) -> None:
    """Check a signature made by `SigningKey.sign` (`data`) or `sign_prehashed` (`digest`),
    or an RSA signature (PKCS#1 v1.5, else PSS) over SHA-256.

    Raises:
        VerificationError: the signature does not match.
        InputError: neither or both of `data` and `digest`, or a digest for an Ed25519 key.
    """
    if (data is None) == (digest is None):
        raise InputError("verify_signature needs exactly one of data and digest")
    algorithm = verifying_algorithm(public_key)
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            if data is None:
                raise InputError("Ed25519 signatures are over the message, not a digest")
            public_key.verify(signature, data)
        elif isinstance(public_key, rsa.RSAPublicKey):
            _verify_rsa(public_key, signature, data, digest)
        elif data is not None:
            public_key.verify(signature, data, ec.ECDSA(_hash_for(algorithm)))
        else:
            assert digest is not None  # noqa: S101 - checked above
            prehashed = ec.ECDSA(utils.Prehashed(_hash_for(algorithm)))
            public_key.verify(signature, digest, prehashed)
    except (InvalidSignature, ValueError) as e:
        raise VerificationError("signature does not match the public key") from e


def _verify_rsa(key: rsa.RSAPublicKey, signature: bytes, data: bytes | None,
                digest: bytes | None) -> None:
    message, algorithm = (data, hashes.SHA256()) if data is not None else (
        digest, utils.Prehashed(hashes.SHA256()))
    assert message is not None  # noqa: S101 - one of them is given
    try:
        key.verify(signature, message, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                          salt_length=padding.PSS.AUTO)
        key.verify(signature, message, pss, algorithm)


# -- where keys and passwords come from (CLI helpers) ------------------------------------------


