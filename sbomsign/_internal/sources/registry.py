"""Reading images from registries: the OCI distribution API, read-only.

A small client on `requests` rather than a library: what is needed is two GETs (manifests and
blobs) with the bearer-token flow, and the properties that matter here (every blob checked
against its digest while it streams, bounded sizes and timeouts, one-line errors, no
retries that multiply waits) are easier to hold in 200 lines than to impose on a client
built for pushing. `oras` (PyPI) was the candidate; it buffers manifests without bounds and
leaves digest checks of streamed blobs to the caller.

- `registry:HOST[:PORT]/REPO[:TAG|@sha256:HEX]`; HTTPS with the system CAs (or
  `--registry-ca FILE`); plain HTTP only for hosts in `--insecure-registry HOST:PORT` or
  `SBOMSIGN_INSECURE_REGISTRIES` (comma-separated).
- Credentials from `REGISTRY_AUTH_FILE`, `$DOCKER_CONFIG/config.json` or
  `~/.docker/config.json`: `auths` entries, else the credential helper `credHelpers` names for
  the host or `credsStore` names for all (`credentials.py`).
- A 401 with a `Bearer` challenge gets a token from the realm (with the credentials when
  there are some) and the request is made once more; `Basic` challenges get the credentials.
- Every failure is a `NetworkError` (exit 3) naming the registry and the reason.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import ssl
import time
from dataclasses import dataclass
from typing import Any

import requests

from sbomsign._internal import http, jsonbound
from sbomsign._internal.limits import LimitExceeded, limit
from sbomsign._internal.sources import Settings
from sbomsign._internal.sources.credentials import credentials
from sbomsign._internal.sources.streams import MAX_DOCUMENT_BYTES, Readable, Verifying
from sbomsign.errors import InputError, NetworkError

_ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
#: (connect, read) seconds for registry requests.
TIMEOUT = (10.0, 60.0)
"""Connect and read timeouts (s); `SBOMSIGN_REGISTRY_TIMEOUT` sets the read timeout."""


#: Further attempts of a read the registry throttled (429) or could not serve (502-504).
_RETRIES = 2
_RETRYABLE = frozenset({429, 502, 503, 504})


def _backoff(left: int, retry_after: str | None) -> float:
    """Seconds to wait before the next attempt: the registry's `Retry-After` (at most 5 s),
    else 0.5 s, then 1 s."""
    if retry_after and retry_after.isdigit():
        return min(float(retry_after), 5.0)
    return 0.5 * (_RETRIES - left)


def _timeout() -> tuple[float, float]:
    read = float(limit("SBOMSIGN_REGISTRY_TIMEOUT", int(TIMEOUT[1])))
    return min(TIMEOUT[0], read), read


@dataclass
class ImageReader:
    """What `images` needs to read one registry image."""

    store: Registry
    root: dict[str, Any]
    reference: Any
    repository: str


def parse(rest: str) -> tuple[str, str, str, str]:
    """`HOST[:PORT]/REPO[:TAG|@DIGEST]` into (host, repository, tag, digest).

    Raises:
        InputError: no repository, or a malformed reference.
    """
    host, _, path = rest.partition("/")
    if not host or not path:
        # NOTE: docker and syft read a bare `alpine:3.20` as Docker Hub's; sbomsign, made
        # for private registries, always needs the host named.
        hint = " (name the registry's host: a short name is not taken to be Docker Hub's)" \
            if host and not path else ""
        raise InputError(f"registry:{rest}: expected registry:HOST[:PORT]/REPOSITORY[:TAG]"
                         + hint)
    digest = tag = ""
    if "@" in path:
        path, _, digest = path.partition("@")
    elif ":" in path.rsplit("/", 1)[-1]:
        path, _, tag = path.rpartition(":")
    if not re.fullmatch(r"[a-z0-9]+([._/-][a-z0-9]+)*", path):
        raise InputError(f"registry:{rest}: {path!r} is not a repository name")
    if digest and not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise InputError(f"registry:{rest}: {digest!r} is not a sha256 digest")
    return host, path, tag or ("" if digest else "latest"), digest


def open_image(rest: str, settings: Settings) -> ImageReader:
    """Resolve the reference to its manifest descriptor (the tag is read once, here).

    Raises:
        InputError: a malformed reference.
        NetworkError: the registry cannot be reached or refuses.
    """
    from sbomsign._internal.sources.images import Reference

    host, repository, tag, digest = parse(rest)
    registry = Registry(host, repository, settings)
    root = registry.resolve(digest or tag)
    return ImageReader(registry, root, Reference(rest, tag=tag, digest=digest),
                       f"{host}/{repository}")


class Registry:
    """One repository of one registry."""

    def __init__(self, host: str, repository: str, settings: Settings) -> None:
        insecure = set(settings.insecure_registries) | {
            h.strip() for h in os.environ.get("SBOMSIGN_INSECURE_REGISTRIES", "").split(",")
            if h.strip()}
        scheme = "http" if host in insecure else "https"
        self.base = f"{scheme}://{host}/v2/{repository}"
        self.host = host
        self.repository = repository
        self.session = http.new_session(_timeout())
        self.session.verify = settings.registry_ca or _system_cas()
        self._credentials = credentials(host)
        self._token = ""
        # NOTE: once the registry asked for Basic credentials, every request carries them:
        # a streamed upload cannot be sent twice.
        self._basic = False
        self._cache: dict[str, bytes] = {}

    def resolve(self, reference: str) -> dict[str, Any]:
        """The descriptor of a tag or digest: digest, media type and size."""
        response = self._get(f"{self.base}/manifests/{reference}", accept=_ACCEPT)
        body = _bounded(response, f"registry:{self.host}/{self.repository}")
        computed = "sha256:" + hashlib.sha256(body).hexdigest()
        if reference.startswith("sha256:") and computed != reference:
            raise InputError(f"{self.host}/{self.repository}@{reference}: the manifest "
                             f"does not match its digest")
        self._cache[computed] = body
        media = response.headers.get("Content-Type", "").split(";")[0].strip()
        return {"digest": computed, "mediaType": media, "size": len(body)}

    def open_manifest(self, digest: str, size: int | None, what: str) -> Verifying:
        """A manifest or index by digest."""
        body = self._cache.get(digest)
        if body is None:
            body = _bounded(self._get(f"{self.base}/manifests/{digest}", accept=_ACCEPT), what)
        return Verifying(io.BytesIO(body), digest, size, what)

    def open(self, digest: str, size: int | None, what: str) -> Verifying:
        """A blob, streamed and checked against its digest."""
        response = self._get(f"{self.base}/blobs/{digest}", stream=True)
        return Verifying(_Body(response, what), digest, size, what)

    def _get(self, url: str, *, accept: str = "", stream: bool = False) -> requests.Response:
        return self.send("GET", url, accept=accept, stream=stream)

    def send(self, method: str, url: str, *, accept: str = "", stream: bool = False,
             data: Any = None, headers: dict[str, str] | None = None,
             missing_ok: bool = False, params: dict[str, str] | None = None,
             tolerate: frozenset[int] = frozenset()) -> requests.Response:
        """One request with the registry's authentication, bounded retries of throttled or
        unavailable answers (reads only), and every failure as one `NetworkError` line.

        `missing_ok`: a 404 is returned to the caller instead of raised; so are the statuses
        in `tolerate`.
        """
        headers = dict(headers or {})
        if accept:
            headers["Accept"] = accept
        retries = _RETRIES if method in ("GET", "HEAD") else 0
        authenticated = False
        while True:
            response = self._attempt(method, url, headers, data, stream, params,
                                     basic=authenticated, retry=retries > 0)
            if response is None:
                retries -= 1
                continue
            if response.status_code == 401 and not authenticated:
                authenticated = True
                self._authenticate(response.headers.get("WWW-Authenticate", ""))
                continue
            if response.status_code in _RETRYABLE and retries:
                retries -= 1
                time.sleep(_backoff(retries, response.headers.get("Retry-After")))
                continue
            if response.status_code >= 400 and response.status_code not in tolerate and not (
                    response.status_code == 404 and missing_ok):
                reason = f"HTTP {response.status_code} {response.reason or ''}".strip()
                raise NetworkError(f"registry {self.host}: {reason} for "
                                   f"{method} {url.split('/v2/', 1)[1].split('?')[0]}")
            return response

    def _attempt(self, method: str, url: str, headers: dict[str, str], data: Any,
                 stream: bool, params: dict[str, str] | None, *, basic: bool,
                 retry: bool) -> requests.Response | None:
        """The request once; None when the connection failed and may be tried again."""
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        elif self._credentials and (basic or self._basic):
            headers["Authorization"] = "Basic " + base64.b64encode(
                ":".join(self._credentials).encode()).decode()
        if hasattr(data, "seek"):
            data.seek(0)
        try:
            return self.session.request(method, url, headers=headers, stream=stream, data=data,
                                        params=params)
        except requests.RequestException as e:
            # A refused or reset connection is tried again; a read that timed out is not
            # (its wait would be multiplied).
            if retry and isinstance(e, requests.ConnectionError) and not isinstance(
                    e, requests.ReadTimeout):
                time.sleep(_backoff(0, None))
                return None
            raise NetworkError(f"registry {self.host}: {http.describe_error(e)}") from None

    def _authenticate(self, challenge: str) -> None:
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme != "bearer":
            if not self._credentials:
                raise NetworkError(f"registry {self.host}: HTTP 401 Unauthorized (no "
                                   f"credentials for it in the docker config)")
            self._basic = True
            return
        params = dict(_CHALLENGE.findall(challenge))
        realm = params.pop("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise NetworkError(f"registry {self.host}: a token challenge without a realm")
        params.setdefault("scope", f"repository:{self.repository}:pull")
        auth = tuple(self._credentials) if self._credentials else None
        try:
            response = self.session.get(realm, params=params, auth=auth)  # type: ignore[arg-type]
            response.raise_for_status()
            body = _bounded(response, f"registry {self.host} token")
        except requests.RequestException as e:
            raise NetworkError(f"registry {self.host}: token service: "
                               f"{http.describe_error(e)}") from None
        self._token = token_from(body, self.host)


def token_from(body: bytes, host: str) -> str:
    """The bearer token in a token service's answer (`token`, else `access_token`).

    Raises:
        NetworkError: the answer is not JSON, or holds no token.
    """
    try:
        doc = jsonbound.loads(body)
    except ValueError:  # malformed, not UTF-8, or nested too deeply (`TooDeep`)
        raise NetworkError(f"registry {host}: the token service's answer is not "
                           f"JSON") from None
    token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
    if not isinstance(token, str) or not token:
        raise NetworkError(f"registry {host}: the token service gave no token")
    return token


def _system_cas() -> str | bool:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and os.path.isfile(candidate):
            return candidate
    return True


def _bounded(response: requests.Response, what: str) -> bytes:
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > MAX_DOCUMENT_BYTES:
        raise LimitExceeded(f"{what}: answer larger than {MAX_DOCUMENT_BYTES} bytes")
    data = bytearray()
    try:
        for chunk in response.iter_content(1 << 16):
            data += chunk
            if len(data) > MAX_DOCUMENT_BYTES:
                raise LimitExceeded(f"{what}: answer larger than {MAX_DOCUMENT_BYTES} bytes")
    except requests.RequestException as e:
        raise NetworkError(f"{what}: {http.describe_error(e)}") from None
    return bytes(data)


class _Body:
    """A streamed response body whose read errors are `NetworkError`s."""

    def __init__(self, response: requests.Response, what: str) -> None:
        self._raw: Readable = response.raw
        self._what = what

    def read(self, n: int = -1) -> bytes:
        try:
            return self._raw.read(n)
        except Exception as e:  # noqa: BLE001 - urllib3 raises many types for one failure
            raise NetworkError(f"{self._what}: {http.describe_error(e)}") from None
