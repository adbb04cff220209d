"""Signing: artifacts and in-toto attestations into Sigstore bundles (v0.3 JSON).

With a managed key (a key file or a PKCS#11 token, see `sbomsign._internal.keys`):

- `sign_artifact` signs an artifact, given as a stream, its bytes, or a precomputed digest,
  and returns a bundle with a `messageSignature`;
- `attest` signs an in-toto statement and returns a bundle with a DSSE envelope.

Both name the key by `publicKey.hint` and carry no transparency-log entry: the bundles verify
offline against the public key (cosign: `verify-blob --key K --insecure-ignore-tlog`).

Keyless (Sigstore: a Fulcio certificate for an OIDC identity, a Rekor entry), with
`KeylessSigner`, which signs any number of artifacts and statements with one certificate, or
the one-shot `sign_artifact_keyless` and `attest_keyless`. sigstore-python is imported only
when keyless signing is used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, Self

from sbomsign._internal.hashing import CHUNK, digest_stream, sha256_file
from sbomsign._internal.intoto import (
    PAYLOAD_TYPE,
    PREDICATE_COSIGN_SIGN,
    PREDICATE_CYCLONEDX,
    PREDICATE_SLSA_PROVENANCE,
    PREDICATE_SPDX,
    PREDICATE_SPDX3,
    PREDICATE_VSA,
)
from sbomsign._internal.keys import ALGORITHMS as _ALGORITHMS
from sbomsign._internal.keys import SigningKey, SoftwareSigningKey
from sbomsign._internal.sigstore import bundle as _bundle
from sbomsign._internal.sigstore.dsse import sign_envelope
from sbomsign.errors import Error, InputError, SigningError

if TYPE_CHECKING:  # sigstore-python is imported only when signing keylessly
    from sbomsign._internal.sigstore.sign import KeylessSession, TrustConfig
    from sbomsign.models import Digests

__all__ = [
    "KEY_ALGORITHMS",
    "PREDICATE_COSIGN_SIGN",
    "PREDICATE_CYCLONEDX",
    "PREDICATE_SLSA_PROVENANCE",
    "PREDICATE_SPDX",
    "PREDICATE_SPDX3",
    "PREDICATE_VSA",
    "ArtifactDigest",
    "IdentityToken",
    "KeylessSigner",
    "SigningKey",
    "SoftwareSigningKey",
    "attest",
    "attest_keyless",
    "check_trust_config",
    "file_digests",
    "file_sha256",
    "find_identity_token",
    "image_statement",
    "generate_key",
    "github_actions_provenance",
    "open_key",
    "predicate_kind",
    "public_key_pem",
    "read_key_password",
    "sign_artifact",
    "sign_artifact_keyless",
    "statement",
]


@dataclass(frozen=True)
class ArtifactDigest:
    """An artifact's digest computed elsewhere: `algorithm` is a hashlib name."""

    algorithm: str
    digest: bytes

    @classmethod
    def sha256(cls, value: str | bytes) -> ArtifactDigest:
        """A SHA-256 digest from 64 hex characters or 32 raw bytes.

        Raises:
            InputError: the value is neither.
        """
        if isinstance(value, str):
            try:
                raw = bytes.fromhex(value)
            except ValueError as e:
                raise InputError(f"not a sha256 hex digest: {value!r}") from e
        else:
            raw = value
        if len(raw) != 32:
            raise InputError("a sha256 digest is 32 bytes (64 hex characters)")
        return cls("sha256", raw)


def _hash_stream(stream: BinaryIO, algorithm: str) -> bytes:
    if algorithm == "sha256":
        return bytes.fromhex(sha256_file(stream))
    h = hashlib.new(algorithm)
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        h.update(chunk)
    return h.digest()


def sign_artifact(artifact: BinaryIO | bytes | ArtifactDigest, key: SigningKey) -> bytes:
    """Sign an artifact with a managed key; returns the bundle's JSON bytes.

    `artifact` is a binary stream (read to its end; hashed in chunks for ECDSA keys), the
    artifact's bytes, or an `ArtifactDigest` in the key's hash (`key.hash_algorithm`: sha256
    for P-256, sha384 for P-384). Ed25519 signs the message itself, so it needs the bytes or
    a stream (which is then read into memory).

    Raises:
        SigningError: a digest was given for an Ed25519 key, or in another hash than the
            key signs; or the key refused to sign.
    """
    hash_name = key.hash_algorithm
    if isinstance(artifact, ArtifactDigest):
        if hash_name is None:
            raise SigningError(
                f"{key.algorithm} keys sign the artifact itself; pass its bytes or a stream"
            )
        if artifact.algorithm != hash_name:
            raise SigningError(
                f"{key.algorithm} keys sign a {hash_name} digest, got {artifact.algorithm}"
            )
        digest_alg, digest = hash_name, artifact.digest
        signature = key.sign_prehashed(digest)
    elif hash_name is not None:
        digest_alg = hash_name
        if isinstance(artifact, bytes):
            digest = hashlib.new(hash_name, artifact).digest()
        else:
            digest = _hash_stream(artifact, hash_name)
        signature = key.sign_prehashed(digest)
    else:
        data = artifact if isinstance(artifact, bytes) else artifact.read()
        # NOTE: Ed25519 has no digest in its signature; the bundle's messageDigest is there
        # to identify the artifact, and SHA-256 is what every verifier can compare.
        digest_alg, digest = "sha256", hashlib.sha256(data).digest()
        signature = key.sign(data)
    return _bundle.message_signature_bundle(
        hint=key.hint, digest=digest, signature=signature, hash_algorithm=digest_alg
    )


def attest(statement: bytes, key: SigningKey, *, payload_type: str = PAYLOAD_TYPE) -> bytes:
    """Sign the exact bytes of an in-toto statement into a DSSE bundle; returns its JSON.

    The statement is not re-serialised: what was built (see
    `sbomsign._internal.intoto.build_statement`) is what gets signed.

    Raises:
        SigningError: the key refused to sign.
    """
    envelope = sign_envelope(statement, payload_type, key)
    return _bundle.dsse_bundle(hint=key.hint, envelope=envelope)


def _sha256_of(artifact: BinaryIO | bytes | ArtifactDigest) -> bytes:
    if isinstance(artifact, ArtifactDigest):
        if artifact.algorithm != "sha256":
            raise SigningError(f"keyless signing signs a sha256 digest, got {artifact.algorithm}")
        return artifact.digest
    if isinstance(artifact, bytes):
        return hashlib.sha256(artifact).digest()
    return bytes.fromhex(sha256_file(artifact))


class KeylessSigner:
    """Keyless signing (Fulcio certificate + Rekor entry) for any number of artifacts.

    One signer stands for one identity token and one ephemeral key: entering the `with` block
    gets the certificate from Fulcio, every signature inside it reuses that certificate, and
    `sign_artifacts` / `attest_many` submit several signatures to the transparency log in
    parallel. Creating the signer only checks the token and the trust config, locally.

    `trust_config` is a Sigstore client trust config (JSON bytes); without it the Sigstore
    production instance (or with `staging=True` the staging one) is used, its trust root
    fetched through TUF.

    Raises (on creation):
        InputError: the trust config is malformed.
        NetworkError: the token is malformed, expired or for another audience than
            `sigstore`.
    """

    def __init__(
        self,
        identity_token: str,
        *,
        staging: bool = False,
        trust_config: bytes | None = None,
        trust_config_name: str = "trust config",
    ) -> None:
        from sbomsign._internal.sigstore import sign as _sigstore

        self._token = identity_token
        self._staging = staging
        self._trust_config: TrustConfig | None = None
        if trust_config is not None:
            self._trust_config = _sigstore.parse_trust_config(trust_config, trust_config_name)
        info = _sigstore.token_info(identity_token)
        self.identity: str = info.identity
        """Who the certificate will name: an email, a CI workflow URI, or the token's `sub`."""
        self.issuer: str = info.issuer
        """The token's issuer (`iss`)."""
        self._session: KeylessSession | None = None

    def __enter__(self) -> Self:
        """Fetch the trust root if needed and get the signing certificate from Fulcio.

        Raises:
            NetworkError: TUF, Fulcio or the network failed, or Fulcio refused the token.
        """
        from sbomsign._internal.sigstore import sign as _sigstore

        config = self._trust_config
        if config is None:
            config = _sigstore.load_trust_config(staging=self._staging)
        session = _sigstore.KeylessSession(self._token, config)
        self._session = session.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            self._session.__exit__(exc_type, exc, tb)
            self._session = None

    def _require(self) -> KeylessSession:
        if self._session is None:
            raise SigningError("KeylessSigner signs only inside its `with` block")
        return self._session

    def sign_artifact(self, artifact: BinaryIO | bytes | ArtifactDigest) -> bytes:
        """Sign an artifact (stream, bytes or sha256 `ArtifactDigest`); returns the bundle.

        A stream is hashed in chunks: only its SHA-256 is signed and sent to the log.

        Raises:
            SigningError: a digest other than sha256.
            NetworkError: Rekor or the network failed.
        """
        return self._require().sign_digest(_sha256_of(artifact))

    def sign_artifacts(
        self, artifacts: Sequence[BinaryIO | bytes | ArtifactDigest]
    ) -> list[bytes | Error]:
        """Sign several artifacts, their log submissions in parallel.

        Returns one bundle (JSON bytes) or error per artifact, in order; after the first
        failure nothing more is submitted and the remaining entries are errors too.

        Raises:
            SigningError: a digest other than sha256.
        """
        session = self._require()
        return session.sign_digests([_sha256_of(a) for a in artifacts])

    def attest(self, statement: bytes) -> bytes:
        """Sign the exact bytes of an in-toto statement into a DSSE bundle; returns it.

        Raises:
            InputError: sigstore-python refuses the statement (not an in-toto Statement v1).
            NetworkError: Rekor or the network failed.
        """
        return self._require().sign_statement(statement)

    def attest_many(self, statements: Sequence[bytes]) -> list[bytes | Error]:
        """Sign several statements, in parallel, as `sign_artifacts` does artifacts.

        Raises:
            InputError: a statement is refused (checked before anything is signed).
        """
        return self._require().sign_statements(statements)


def sign_artifact_keyless(
    artifact: BinaryIO | bytes | ArtifactDigest,
    identity_token: str,
    *,
    staging: bool = False,
    trust_config: bytes | None = None,
) -> bytes:
    """Sign an artifact keylessly (Fulcio certificate, Rekor entry); returns the bundle.

    For several artifacts use one `KeylessSigner`: it gets one certificate for all of them.

    Raises:
        InputError: the trust config is malformed.
        SigningError: a digest other than sha256.
        NetworkError: the token is bad, or TUF, Fulcio, Rekor or the network failed.
    """
    with KeylessSigner(identity_token, staging=staging, trust_config=trust_config) as signer:
        return signer.sign_artifact(artifact)


def attest_keyless(
    statement: bytes,
    identity_token: str,
    *,
    staging: bool = False,
    trust_config: bytes | None = None,
) -> bytes:
    """Sign an in-toto statement keylessly into a DSSE bundle; returns the bundle.

    The statement's bytes are signed as given (see `attest`).

    Raises:
        InputError: the trust config is malformed, or sigstore-python refuses the statement.
        NetworkError: the token is bad, or TUF, Fulcio, Rekor or the network failed.
    """
    with KeylessSigner(identity_token, staging=staging, trust_config=trust_config) as signer:
        return signer.attest(statement)


# --- what a front end needs around signing: keys, identities, digests, statements ----------

#: The algorithms `generate_key` makes, the first being the default.
KEY_ALGORITHMS: tuple[str, ...] = _ALGORITHMS


def generate_key(algorithm: str = KEY_ALGORITHMS[0]) -> SoftwareSigningKey:
    """A new software signing key; `key.private_pem(password)` writes cosign's key file.

    Raises:
        InputError: an unknown algorithm.
    """
    from sbomsign._internal import keys

    return keys.generate(algorithm)


def public_key_pem(key: SigningKey) -> bytes:
    """The PEM `PUBLIC KEY` (SubjectPublicKeyInfo) of a signing key."""
    from sbomsign._internal import keys

    return keys.public_key_pem(key.public_key)


def read_key_password(name: str, *, confirm: bool = False) -> bytes:
    """A key file's password: `SBOMSIGN_KEY_PASSWORD` (or `COSIGN_PASSWORD`), else a prompt.

    Raises:
        SigningError: no password can be had (no variable and no terminal), or the two
            entries differ with `confirm`.
    """
    from sbomsign._internal import keys

    return keys.read_password(name, confirm=confirm)


def open_key(ref: str) -> SigningKey:
    """Open a managed signing key (a key file or a `pkcs11:` URI), asking for its password or
    PIN only when it needs one; use it as a context manager.

    Raises:
        InputError: the file cannot be read.
        SigningError: a bad key file, password or PIN.
        NetworkError: the HSM cannot be reached.
    """
    from sbomsign._internal import keys
    from sbomsign._internal.keys.pkcs11 import read_pin

    return keys.load_signing_key(
        ref,
        password=lambda: keys.read_password(ref),
        pin=lambda: read_pin(ref.partition("?")[0]),
    )


def file_sha256(stream: BinaryIO) -> str:
    """The sha256 (lowercase hex) of a stream, read in chunks."""
    return sha256_file(stream)


def file_digests(stream: BinaryIO) -> Digests:
    """The sha1, sha256 and sha512 of a stream, in one pass over its bytes."""
    return digest_stream(stream)[0]


@dataclass(frozen=True)
class IdentityToken:
    """An OIDC identity token for keyless signing, and where it came from."""

    token: str
    source: str


def check_trust_config(data: bytes, name: str) -> None:
    """Check a Sigstore client trust config before anything else is done.

    Raises:
        InputError: it is malformed.
    """
    from sbomsign._internal.sigstore import sign as _sigstore

    _sigstore.parse_trust_config(data, name)


def find_identity_token(
    explicit: str | None,
    *,
    browser: bool = False,
    trust_config: bytes | None = None,
    staging: bool = False,
    name: str = "trust config",
) -> IdentityToken:
    """The identity token for keyless signing: `explicit`, else the CI's ambient credential
    (GitHub Actions, GitLab, ...), else (with `browser`) an interactive sign-in.

    Raises:
        NetworkError: no token can be had, or the CI's token endpoint fails.
    """
    from sbomsign._internal import ci

    def sign_in() -> str:
        from sbomsign._internal.sigstore import sign as _sigstore

        config = _sigstore.load_trust_config(trust_config, staging=staging, name=name)
        return _sigstore.browser_identity_token(config)

    found = ci.find_identity_token(explicit, browser=sign_in if browser else None)
    return IdentityToken(found.token, found.source)


def predicate_kind(predicate_type: str) -> str | None:
    """The short name of a known predicate type (`cyclonedx`, `spdx`, `slsa-provenance`,
    `vsa`), else None."""
    from sbomsign._internal import intoto

    return intoto.predicate_kind(predicate_type)


def statement(
    subjects: Sequence[tuple[str, dict[str, str]]], predicate_type: str, predicate: object
) -> bytes:
    """The bytes of an in-toto Statement v1 (deterministic JSON) about `(name, digests)`.

    Raises:
        InputError: a digest is malformed, or there is no subject.
    """
    from sbomsign._internal import intoto

    return intoto.build_statement(subjects, predicate_type, predicate)  # type: ignore[arg-type]


def image_statement(digest: str) -> bytes:
    """What signing an image signs: the in-toto statement cosign v3 writes for the manifest
    `digest` (`sha256:<hex>`; predicate type `PREDICATE_COSIGN_SIGN`, empty predicate), to be
    signed as an attestation (a DSSE envelope).

    Raises:
        InputError: `digest` is not `sha256:<64 hex>`.
    """
    import re

    from sbomsign._internal.intoto import image_signature_statement

    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise InputError(f"{digest!r} is not a sha256 manifest digest")
    return image_signature_statement(digest)


def github_actions_provenance() -> dict[str, object]:
    """The SLSA Provenance v1 predicate of the current GitHub Actions job.

    Raises:
        InputError: not running in GitHub Actions, or a variable the predicate needs is
            missing.
    """
    from sbomsign._internal.provenance import github_actions_predicate

    return github_actions_predicate()
