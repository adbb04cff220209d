"""Key handling, JOSE (JWS/JWK) and small encodings shared by the local Sigstore services.

Everything here uses `cryptography`; JWTs are built and checked by hand (RFC 7515/7518/7519)
so the issuer and the CA do not depend on a JWT library's defaults.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


class CryptoError(ValueError):
    """A signature, key or token that does not check out; the message says why."""


# -- encodings ---------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    """Standard base64 with padding, as Sigstore's JSON formats use."""
    return base64.b64encode(data).decode("ascii")


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JOSE uses."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """Decode unpadded base64url; raises CryptoError on anything else."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as e:
        raise CryptoError("not base64url") from e


def unb64(text: object, what: str) -> bytes:
    """Decode strict standard base64; raises CryptoError naming `what` otherwise."""
    if not isinstance(text, str) or not text:
        raise CryptoError(f"{what} is not a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as e:
        raise CryptoError(f"{what} is not valid base64") from e


def spki_der(key: PublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo of a public key."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: PublicKey) -> bytes:
    """RFC 6962 key/log ID: SHA-256 of the DER SubjectPublicKeyInfo."""
    return hashlib.sha256(spki_der(key)).digest()


# -- keys on disk ------------------------------------------------------------------------------


def load_or_create_ec(
    path: Path, curve: ec.EllipticCurve | None = None
) -> ec.EllipticCurvePrivateKey:
    """The EC key stored at `path`, created (P-256 by default) on first use."""
    key = _load(path)
    if key is None:
        new = ec.generate_private_key(curve or ec.SECP256R1())
        _store(path, new)
        return new
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CryptoError(f"{path}: not an EC private key")
    return key


def load_or_create_rsa(path: Path, bits: int = 2048) -> rsa.RSAPrivateKey:
    """The RSA key stored at `path`, created on first use."""
    key = _load(path)
    if key is None:
        new = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        _store(path, new)
        return new
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CryptoError(f"{path}: not an RSA private key")
    return key


def _load(path: Path) -> Any:
    if not path.exists():
        return None
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _store(path: Path, key: PrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # NOTE: written to a temporary name and renamed, so a crash never leaves half a key that
    # the next start would fail to parse; 0600 because it is a private key, even a test one.
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.replace(tmp, path)


# -- signatures --------------------------------------------------------------------------------


def _ec_hash(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> hashes.HashAlgorithm:
    # NOTE: the hash that goes with each curve, as Sigstore's key details pair them.
    size = key.curve.key_size
    if size <= 256:
        return hashes.SHA256()
    if size <= 384:
        return hashes.SHA384()
    return hashes.SHA512()


def sign_ecdsa(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ASN.1 DER ECDSA signature over `data` with the curve's hash (checkpoints, SETs, SCTs)."""
    return key.sign(data, ec.ECDSA(_ec_hash(key)))


def verify_message(key: PublicKey, signature: bytes, data: bytes) -> None:
    """Check a signature over a message (DSSE PAE, a CSR-less proof of possession).

    Raises:
        CryptoError: the signature does not verify.
    """
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(_ec_hash(key)))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.verify(signature, data)
    except InvalidSignature as e:
        raise CryptoError("signature does not verify") from e


_DIGESTS: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


def verify_digest(key: PublicKey, signature: bytes, digest: bytes, algorithm: str) -> None:
    """Check a signature made over a precomputed digest (Rekor's hashedrekord).

    Raises:
        CryptoError: the key cannot sign digests, or the signature does not verify.
    """
    hash_alg = _DIGESTS[algorithm]
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest, ec.ECDSA(Prehashed(hash_alg)))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, digest, padding.PKCS1v15(), Prehashed(hash_alg))
        else:
            # NOTE: Ed25519 signs messages, never digests, so hashedrekord cannot carry it.
            raise CryptoError("an Ed25519 key cannot verify a signature over a digest")
    except InvalidSignature as e:
        raise CryptoError("signature does not verify against the digest") from e


def check_key_strength(key: object) -> PublicKey:
    """The key, if it is one a code-signing CA accepts; raises CryptoError otherwise.

    Fulcio refuses small RSA keys and curves other than the NIST ones Sigstore supports.
    """
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise CryptoError(f"unsupported elliptic curve {key.curve.name}")
        return key
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise CryptoError(f"RSA key of {key.key_size} bits is too small (2048 minimum)")
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise CryptoError(f"unsupported public key type {type(key).__name__}")


# -- JOSE --------------------------------------------------------------------------------------


def jwk_kid(key: PublicKey) -> str:
    """A stable key ID for a JWKS entry: the start of the key's SHA-256 fingerprint."""
    return key_id(key).hex()[:16]


def to_jwk(key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> dict[str, str]:
    """The public JWK (RFC 7517/7518) for an RS256 or ES256 signing key."""
    kid = jwk_kid(key)
    if isinstance(key, rsa.RSAPublicKey):
        nums = key.public_numbers()
        n = nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")
        e = nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "n": b64url(n),
            "e": b64url(e),
        }
    if key.curve.name != "secp256r1":
        raise CryptoError("only P-256 EC keys are published (ES256)")
    ec_nums = key.public_numbers()
    return {
        "kty": "EC",
        "use": "sig",
        "alg": "ES256",
        "kid": kid,
        "crv": "P-256",
        "x": b64url(ec_nums.x.to_bytes(32, "big")),
        "y": b64url(ec_nums.y.to_bytes(32, "big")),
    }


def from_jwk(jwk: dict[str, Any]) -> tuple[str, ec.EllipticCurvePublicKey | rsa.RSAPublicKey]:
    """(alg, public key) of a JWK that is an RSA or P-256 signing key.

    Raises:
        CryptoError: any other kind of key, or a malformed one.
    """
    try:
        if jwk.get("kty") == "RSA":
            n = int.from_bytes(unb64url(jwk["n"]), "big")
            e = int.from_bytes(unb64url(jwk["e"]), "big")
            return "RS256", rsa.RSAPublicNumbers(e, n).public_key()
        if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
            x = int.from_bytes(unb64url(jwk["x"]), "big")
            y = int.from_bytes(unb64url(jwk["y"]), "big")
            return "ES256", ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except (KeyError, TypeError, ValueError) as e:
        raise CryptoError(f"malformed JWK: {e}") from e
    raise CryptoError(f"unsupported JWK type {jwk.get('kty')!r}")


def _json_b64url(obj: dict[str, Any]) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def jws_sign(claims: dict[str, Any], key: PrivateKey, kid: str) -> str:
    """A compact JWS (a JWT) of `claims`, RS256 for an RSA key and ES256 for a P-256 key."""
    if isinstance(key, rsa.RSAPrivateKey):
        header = {"alg": "RS256", "kid": kid, "typ": "JWT"}
        signing_input = f"{_json_b64url(header)}.{_json_b64url(claims)}".encode()
        sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        header = {"alg": "ES256", "kid": kid, "typ": "JWT"}
        signing_input = f"{_json_b64url(header)}.{_json_b64url(claims)}".encode()
        # NOTE: JWS wants the raw r||s form (RFC 7518 3.4), not the DER that cryptography gives.
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signing_input.decode()}.{b64url(sig)}"


def jws_parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, claims, signing input, signature) of a compact JWS, not yet verified.

    Raises:
        CryptoError: not three base64url parts of JSON objects.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise CryptoError("token is not a compact JWS (three dot-separated parts)")
    try:
        header = json.loads(unb64url(parts[0]))
        claims = json.loads(unb64url(parts[1]))
    except ValueError as e:
        raise CryptoError("token header or payload is not JSON") from e
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise CryptoError("token header or payload is not a JSON object")
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), unb64url(parts[2])


def jws_verify(
    alg: str, key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey, signing_input: bytes, sig: bytes
) -> None:
    """Check a JWS signature made with `alg` by `key`.

    Raises:
        CryptoError: the algorithm does not fit the key, or the signature is wrong.
    """
    try:
        if alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
            return
        if alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
            if len(sig) != 64:
                raise CryptoError("ES256 signature is not 64 bytes")
            der = encode_dss_signature(
                int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
            )
            key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
            return
    except InvalidSignature as e:
        raise CryptoError("token signature does not verify") from e
    raise CryptoError(f"token algorithm {alg!r} does not match the issuer's key")
