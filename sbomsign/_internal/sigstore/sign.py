"""Keyless signing through sigstore-python: the one module of sbomsign that imports `sigstore`.

A keyless signature is made with an ephemeral key whose certificate Fulcio issues for the
holder of an OIDC identity token; the signature is then logged in Rekor (and timestamped
when the instance has a timestamp authority), and everything goes into a Sigstore bundle.

What this module adds to sigstore-python:

- one-line errors: every failure of the trust configuration is an `InputError` (exit 2), and
  every failure of the token, Fulcio, Rekor or the network a `NetworkError` (exit 3);
- bounded waits: sigstore-python's Fulcio and Rekor clients pass no timeout to `requests`, so
  their sessions get one here (`CONNECT_TIMEOUT`, `READ_TIMEOUT`) and no retries;
- one `KeylessSession` per run: one certificate (`cache=True`) for every artifact, with the
  transparency-log submissions of several artifacts made in parallel (Rekor v2 answers only
  once the entry is in the log, which takes a while);
- artifacts are signed from their SHA-256 (sigstore's `Hashed`), so they are never held in
  memory, and statements from their exact bytes (sigstore's `Statement(bytes)` keeps and signs
  the bytes given rather than re-serialising them).
"""

from __future__ import annotations

import base64
import binascii
import concurrent.futures
import contextlib
import functools
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import requests
from sigstore import dsse
from sigstore.errors import Error as SigstoreError
from sigstore.errors import VerificationError as SigstoreVerificationError
from sigstore.hashes import Hashed
from sigstore.models import Bundle, ClientTrustConfig
from sigstore.oidc import ExpiredIdentity, IdentityToken
from sigstore.sign import Signer, SigningContext
from sigstore_models.common.v1 import HashAlgorithm

from sbomsign._internal import http
from sbomsign.errors import Error, InputError, NetworkError, SigningError

logger = logging.getLogger("sbomsign")

#: Seconds to wait for a connection to Fulcio or Rekor.
CONNECT_TIMEOUT = 10.0
#: Seconds to wait for an answer. Rekor v2 answers once the entry is integrated into the log
#: (rekor-tiles CLIENTS.md, "handling longer requests"), so this is longer than usual.
READ_TIMEOUT = 60.0
#: Most signatures submitted at once.
MAX_WORKERS = 8

AUDIENCE = "sigstore"

#: A parsed client trust config (trusted root + signing config), opaque to other modules.
TrustConfig = ClientTrustConfig
CLIENT_TRUST_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"

# NOTE: seconds of clock skew tolerated on `iat`, as sigstore-python's own check does.
_LEEWAY = 5


def _one_line(text: object, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


# -- identity tokens ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenInfo:
    """What an identity token says about its holder (claims read, not verified)."""

    identity: str
    """Who the certificate will name: an email, a workflow URI, or the `sub` claim."""
    issuer: str
    claims: Mapping[str, Any] = field(repr=False)


def _claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise NetworkError("identity token is not a JWT (three base64url parts)")
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(raw)
    except (binascii.Error, ValueError) as e:
        raise NetworkError("identity token is not a JWT (its payload is not JSON)") from e
    if not isinstance(claims, dict):
        raise NetworkError("identity token is not a JWT (its payload is not a JSON object)")
    return claims


def _check_claims(claims: Mapping[str, Any], now: float) -> None:
    """The checks sigstore-python and Fulcio make, with a message saying which one failed."""
    for name in ("iss", "sub", "aud", "iat", "exp"):
        if name not in claims:
            raise NetworkError(f"identity token has no {name!r} claim")
    aud = claims["aud"]
    audiences = aud if isinstance(aud, list) else [aud]
    if AUDIENCE not in audiences:
        shown = ", ".join(str(a) for a in audiences) or "empty"
        raise NetworkError(
            f"identity token is for audience {shown}, not {AUDIENCE!r}"
            f" (request it with audience={AUDIENCE})"
        )
    for name in ("exp", "iat", "nbf"):
        if name in claims and not isinstance(claims[name], int | float):
            raise NetworkError(f"identity token's {name!r} claim is not a number")
    exp = float(claims["exp"])
    if now >= exp:
        when = datetime.fromtimestamp(exp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        raise NetworkError(f"identity token expired at {when}; get a fresh one")
    if float(claims["iat"]) > now + _LEEWAY or float(claims.get("nbf", now)) > now + _LEEWAY:
        raise NetworkError("identity token is not valid yet (is the clock right?)")


def _certificate_identity(issuer: str, claims: Mapping[str, Any], fallback: str) -> str:
    """The identity Fulcio puts in the certificate's SAN, as far as the claims tell it."""
    # NOTE: for GitHub Actions the SAN is the server URL + `job_workflow_ref` (the workflow
    # that runs the job, which for a reusable workflow is not the caller) and for GitLab
    # "https://" + `ci_config_ref_uri` (fulcio docs/oidc.md); `sub` says neither.
    # A private deployment's issuer is not GitHub's URL, but its workflow tokens have the same
    # claims and its Fulcio names the same SAN; people's tokens are named by verified email.
    if isinstance(claims.get("job_workflow_ref"), str) and (
        issuer == GITHUB_ISSUER or "repository" in claims
    ):
        return f"https://github.com/{claims['job_workflow_ref']}"
    if issuer == GITLAB_ISSUER and isinstance(claims.get("ci_config_ref_uri"), str):
        return f"https://{claims['ci_config_ref_uri']}"
    if isinstance(claims.get("email"), str) and claims.get("email_verified") is True:
        return str(claims["email"])
    return fallback


def _identity_token(token: str) -> tuple[IdentityToken, TokenInfo]:
    token = token.strip()
    claims = _claims(token)
    _check_claims(claims, time.time())
    try:
        identity = IdentityToken(token)
    except SigstoreError as e:
        cause = e.__cause__
        detail = _one_line(cause) if cause is not None else ""
        raise NetworkError(
            f"identity token rejected: {_one_line(e)}{': ' + detail if detail else ''}"
        ) from e
    issuer = identity.issuer
    info = TokenInfo(_certificate_identity(issuer, claims, identity.identity), issuer, claims)
    return identity, info


def token_info(token: str) -> TokenInfo:
    """Check an identity token locally and tell whom it identifies; nothing is sent anywhere.

    Raises:
        NetworkError: not a JWT, a required claim missing, the audience is not `sigstore`,
            expired or not yet valid (the contract's "bad OIDC token", exit 3).
    """
    return _identity_token(token)[1]


def detect_ambient_credential() -> str | None:
    """A CI's ambient OIDC token (sigstore-python's detector: GitHub, Google Cloud,
    Buildkite, GitLab, CircleCI), or None when this is not such a CI.

    Raises:
        NetworkError: the CI is recognised but its credential could not be obtained.
    """
    from sigstore.oidc import detect_credential

    try:
        return detect_credential(AUDIENCE)
    except SigstoreError as e:
        # NOTE: str(e) is the detector's own one-liner; diagnostics() would be a paragraph.
        raise NetworkError(f"ambient OIDC credential: {_one_line(e)}") from e
    except requests.RequestException as e:
        raise NetworkError(f"ambient OIDC credential: {http.describe_error(e)}") from e


def browser_identity_token(trust_config: ClientTrustConfig) -> str:
    """An identity token from the instance's OIDC issuer, by signing in with a browser.

    Blocks until the user has signed in (or pasted the code, without a browser).

    Raises:
        NetworkError: the trust config names no issuer, or the sign-in failed.
    """
    from sigstore.oidc import Issuer

    url: str | None = None
    try:
        url = trust_config.signing_config.get_oidc_url()
        return str(Issuer(url).identity_token())
    except requests.RequestException as e:
        raise NetworkError(f"OIDC sign-in ({http.host_of(url)}): {http.describe_error(e)}") from e
    except Exception as e:  # any failure of the flow is an environment failure
        raise NetworkError(f"OIDC sign-in ({http.host_of(url)}): {_describe(e)}") from e


# -- trust configuration -----------------------------------------------------------------------


def parse_trust_config(data: bytes, name: str = "trust config") -> ClientTrustConfig:
    """Parse a Sigstore client trust config (trusted root + signing config) from JSON.

    Raises:
        InputError: not JSON, not a client trust config, or a signing config without a usable
            Fulcio or Rekor.
    """
    try:
        text = data.decode("utf-8")
        doc = json.loads(text)
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{name}: not JSON") from e
    if not isinstance(doc, dict):
        raise InputError(f"{name}: not a JSON object")
    media_type = doc.get("mediaType")
    if isinstance(media_type, str) and "trustedroot" in media_type:
        raise InputError(
            f"{name}: is a trusted root; signing needs a client trust config"
            f" ({CLIENT_TRUST_CONFIG_MEDIA_TYPE}: trustedRoot and signingConfig)"
        )
    if media_type != CLIENT_TRUST_CONFIG_MEDIA_TYPE:
        raise InputError(
            f"{name}: media type {media_type!r} is not {CLIENT_TRUST_CONFIG_MEDIA_TYPE}"
        )
    try:
        config = ClientTrustConfig.from_json(text)
    except ValueError as e:  # pydantic's ValidationError is a ValueError
        raise InputError(f"{name}: not a valid client trust config: {_validation(e)}") from e
    try:
        # NOTE: both properties validate what they wrap (media types, a Fulcio and a Rekor
        # that are valid now); do it here so a bad file is an input error, not a late one.
        _ = config.trusted_root, config.signing_config
    except (SigstoreError, ValueError) as e:
        raise InputError(f"{name}: {_one_line(e)}") from e
    return config


def _validation(e: ValueError) -> str:
    errors = getattr(e, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "document"
            return _one_line(f"{where}: {first.get('msg', '')}")
        except (IndexError, TypeError, AttributeError):
            pass
    return _one_line(e)


def load_trust_config(
    data: bytes | None = None, *, staging: bool = False, name: str = "trust config"
) -> ClientTrustConfig:
    """The trust config given as JSON bytes, else Sigstore's (staging or production) via TUF.

    Raises:
        InputError: the given config is malformed (see `parse_trust_config`).
        NetworkError: the TUF repository could not be reached or did not verify.
    """
    if data is not None:
        return parse_trust_config(data, name)
    instance = "staging" if staging else "production"
    try:
        return ClientTrustConfig.staging() if staging else ClientTrustConfig.production()
    except Exception as e:  # TUF failures come in many types; all are network
        raise NetworkError(
            f"Sigstore {instance} trust root (TUF): {_describe(e)}; pass --trust-config FILE"
            " to sign without fetching it"
        ) from e


# -- errors ------------------------------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    """A one-line reason for a failure anywhere in sigstore-python's signing flow."""
    if isinstance(exc, requests.RequestException):
        return http.describe_error(exc)
    if isinstance(exc, ExpiredIdentity):
        return "the identity token has expired"
    # NOTE: these live in sigstore-python's private modules; matching by name avoids
    # importing them (and breaking when they move).
    name = type(exc).__name__
    if name == "ExpiredCertificate":
        return "the signing certificate has expired; sign again with a fresh token"
    if name in ("FulcioClientError", "RekorClientError", "TimestampError"):
        text = _one_line(exc)
        cause = exc.__cause__
        if isinstance(cause, requests.RequestException):
            return f"{text}: {http.describe_error(cause)}" if text else http.describe_error(cause)
        return text or "the server refused the request"
    if isinstance(exc, SigstoreVerificationError):
        return f"the answer does not verify against the trust root: {_one_line(exc)}"
    text = _one_line(exc)
    if isinstance(exc, SigstoreError):
        return text or name
    return f"{name}: {text}" if text else name


def _network_error(exc: BaseException, what: str) -> Error:
    if isinstance(exc, Error):
        return exc
    reason = _describe(exc)
    if not isinstance(exc, requests.RequestException):
        for cause in (exc.__cause__, exc.__context__):
            # NOTE: sigstore-python wraps connection errors (sometimes in an exception with
            # no message at all); the requests error underneath says what happened.
            if isinstance(cause, requests.RequestException):
                detail = http.describe_error(cause)
                if reason == type(exc).__name__:
                    reason = detail
                elif detail not in reason:
                    reason = f"{reason} ({detail})"
                break
    return NetworkError(f"{what}: {reason}")


# -- signing -----------------------------------------------------------------------------------


def _hashed(sha256: bytes) -> Hashed:
    if len(sha256) != 32:
        raise SigningError("keyless signing signs a sha256 digest (32 bytes)")
    return Hashed(algorithm=HashAlgorithm.SHA2_256, digest=sha256)


def _statement(statement: bytes) -> dsse.Statement:
    try:
        # NOTE: Statement(bytes) validates a copy and keeps `statement` itself as the DSSE
        # payload, so the signed bytes are exactly the ones given.
        return dsse.Statement(statement)
    except SigstoreError as e:
        named = _with_subject_names(statement)
        if named is None:
            raise InputError(f"in-toto statement refused by sigstore: "
                             f"{_one_line(e, 200)}") from e
    # NOTE: in-toto makes a subject's name optional and cosign v3 signs images with a
    # nameless one; sigstore-python requires it. The copy with names is validated, and the
    # bytes signed stay exactly the ones given (signing reads only `_contents`).
    try:
        checked = dsse.Statement(named)
    except SigstoreError as e:
        raise InputError(f"in-toto statement refused by sigstore: {_one_line(e, 200)}") from e
    checked._contents = statement
    return checked


def _with_subject_names(statement: bytes) -> bytes | None:
    """`statement` with an empty name on each nameless subject, or None if none lacks one."""
    import json

    try:
        doc = json.loads(statement)
        subjects = doc["subject"]
        missing = [s for s in subjects if isinstance(s, dict) and "name" not in s]
    except (ValueError, KeyError, TypeError):
        return None
    for subject in missing:
        subject["name"] = ""
    return json.dumps(doc).encode() if missing else None


class KeylessSession:
    """One keyless signing session: one identity, one certificate, any number of signatures.

    Use as a context manager: entering gets the certificate from Fulcio (the first network
    call); `sign_digest`/`sign_statement` then sign one thing, and `sign_digests` /
    `sign_statements` several at once, their log submissions in parallel.
    """

    def __init__(
        self,
        identity_token: str,
        trust_config: ClientTrustConfig,
        *,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        """Check the token (locally) and keep the configuration; nothing is sent yet.

        Raises:
            NetworkError: the token is malformed, expired or for another audience.
        """
        self._token, self.info = _identity_token(identity_token)
        self._config = trust_config
        self._max_workers = max(1, max_workers)
        self._stack = contextlib.ExitStack()
        self._context: SigningContext | None = None
        self._signer: Signer | None = None
        self.fulcio_url: str | None = None
        self.rekor_url: str | None = None

    def __enter__(self) -> Self:
        try:
            context = SigningContext.from_trust_config(self._config)
        except Exception as e:  # whatever the cause, nothing could be signed
            raise NetworkError(f"cannot set up signing: {_describe(e)}") from e
        self._context = context
        self.fulcio_url = context._fulcio.url
        self.rekor_url = getattr(context._rekor, "url", None)
        # NOTE: sigstore-python's Fulcio client sends without a timeout; bound its session.
        fulcio_session = getattr(context._fulcio, "session", None)
        if isinstance(fulcio_session, requests.Session):
            http.bound_session(fulcio_session, (CONNECT_TIMEOUT, READ_TIMEOUT))
        else:  # pragma: no cover - a sigstore-python that moved it
            logger.debug("sigstore-python's Fulcio session not found; no timeout applied")
        what = f"Fulcio ({http.host_of(self.fulcio_url)}): cannot get a signing certificate"
        try:
            self._signer = self._stack.enter_context(context.signer(self._token, cache=True))
        except Exception as e:  # see _describe: all of it is the environment
            raise _network_error(e, what) from e
        logger.info("signing certificate issued by %s", http.host_of(self.fulcio_url))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()
        self._signer = None

    def _bind_thread(self, context: SigningContext) -> None:
        # NOTE: the Rekor clients make one requests.Session per thread, lazily, without a
        # timeout; touching `_session` in this thread creates it so it can be bounded.
        session = getattr(context._rekor, "_session", None)
        if isinstance(session, requests.Session):
            http.bound_session(session, (CONNECT_TIMEOUT, READ_TIMEOUT))

    def _sign(self, action: Callable[[Signer], Bundle]) -> bytes:
        if self._signer is None or self._context is None:
            raise SigningError("KeylessSession is used outside its `with` block")
        self._bind_thread(self._context)
        what = f"Rekor ({http.host_of(self.rekor_url)}): cannot log the signature"
        try:
            bundle = action(self._signer)
            data = bundle.to_json().encode("utf-8")
        except Exception as e:  # see _describe
            raise _network_error(e, what) from e
        self._check_timestamped(data)
        return data

    def _check_timestamped(self, bundle: bytes) -> None:
        """Refuse a bundle without the timestamps the trust config's TSAs were asked for.

        NOTE: sigstore-python only warns when a TSA fails and writes the bundle without its
        timestamp; where the TSA is what vouches for the time (an instance without a log, or
        a policy with a timestamp threshold), such a bundle would fail every verification.
        """
        tsas = getattr(self._context, "_tsa_clients", None) or []
        if not tsas:
            return
        material = json.loads(bundle).get("verificationMaterial", {})
        stamps = (material.get("timestampVerificationData") or {}).get("rfc3161Timestamps")
        if not stamps:
            hosts = ", ".join(http.host_of(getattr(t, "url", "")) for t in tsas)
            raise NetworkError(f"timestamp authority ({hosts}): no timestamp for the "
                               f"signature; nothing was written")

    def _sign_hashed(self, hashed: Hashed) -> bytes:
        return self._sign(lambda signer: signer.sign_artifact(hashed))

    def _sign_dsse(self, statement: dsse.Statement) -> bytes:
        return self._sign(lambda signer: signer.sign_dsse(statement))

    def sign_digest(self, sha256: bytes) -> bytes:
        """Sign an artifact given by its SHA-256 digest; returns the bundle's JSON bytes.

        Raises:
            SigningError: the digest is not 32 bytes.
            NetworkError: Rekor (or the network) failed.
        """
        return self._sign_hashed(_hashed(sha256))

    def sign_statement(self, statement: bytes) -> bytes:
        """Sign the exact bytes of an in-toto statement into a DSSE bundle (JSON bytes).

        Raises:
            InputError: sigstore-python refuses the statement (not Statement v1, or subject
                digests it does not support).
            NetworkError: Rekor (or the network) failed.
        """
        return self._sign_dsse(_statement(statement))

    def sign_digests(self, digests: Sequence[bytes]) -> list[bytes | Error]:
        """Sign several digests, in parallel; one bundle or error per digest, in order.

        After the first failure nothing new is submitted: the remaining entries are errors.
        """
        hashed = [_hashed(d) for d in digests]
        return self._parallel([functools.partial(self._sign_hashed, h) for h in hashed])

    def sign_statements(self, statements: Sequence[bytes]) -> list[bytes | Error]:
        """Sign several statements, in parallel; one bundle or error per statement, in order.

        Raises:
            InputError: a statement is refused (checked before anything is signed).
        """
        stmts = [_statement(s) for s in statements]
        return self._parallel([functools.partial(self._sign_dsse, s) for s in stmts])

    def _parallel(self, calls: Sequence[Callable[[], bytes]]) -> list[bytes | Error]:
        results: list[bytes | Error | None] = [None] * len(calls)
        if len(calls) == 1:
            try:
                results[0] = calls[0]()
            except Error as e:
                results[0] = e
        elif calls:
            workers = min(self._max_workers, len(calls))
            with concurrent.futures.ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix="sbomsign-sign"
            ) as pool:
                futures = {pool.submit(call): i for i, call in enumerate(calls)}
                try:
                    for future in concurrent.futures.as_completed(futures):
                        if future.cancelled():
                            continue
                        index = futures[future]
                        try:
                            results[index] = future.result()
                        except Error as e:
                            results[index] = e
                            # NOTE: a failure is almost always the service or the network;
                            # submitting more would only fail the same way, slower.
                            for other in futures:
                                other.cancel()
                finally:
                    for other in futures:
                        other.cancel()
        return [
            r if r is not None else NetworkError("not signed: an earlier signature failed")
            for r in results
        ]
