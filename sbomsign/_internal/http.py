"""HTTP for sbomsign's own requests: one `requests.Session` shape, bounded waits, one-line errors.

Every session made here sends sbomsign's User-Agent, never retries on its own, and gives up
after a connect and a read timeout, so no request can hang the command line. Failures become
`NetworkError` (exit 3) with a message of the form `<what>: <host>: <reason>`; the reason is
the underlying cause ("connection refused", "timed out", "HTTP 403 Forbidden"), not urllib3's
multi-line chain. URLs are reduced to their host in messages: a token endpoint's query may
carry identifiers that do not belong in CI logs.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from sbomsign import __version__
from sbomsign.errors import NetworkError

USER_AGENT = f"sbomsign/{__version__}"

#: (connect, read) seconds. Enough for a slow CI network, short enough that a dead endpoint
#: fails the step instead of stalling it.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 30.0)

Timeout = float | tuple[float, float]


class TimeoutAdapter(HTTPAdapter):
    """An adapter that applies a default timeout to requests that were given none.

    `requests` waits forever unless each call passes `timeout=`; mounting this adapter on a
    session (including sessions made by libraries that do not pass one) bounds every request.
    """

    def __init__(self, timeout: Timeout = DEFAULT_TIMEOUT) -> None:
        # NOTE: max_retries=0: a retry loop would multiply the timeout the user sees.
        super().__init__(max_retries=0)
        self.timeout = timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: None | float | tuple[float, float] | tuple[float, None] = None,
        verify: bool | str = True,
        cert: None | bytes | str | tuple[bytes | str, bytes | str] = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send with this adapter's timeout when the caller gave none."""
        return super().send(
            request,
            stream=stream,
            timeout=self.timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def bound_session(session: requests.Session, timeout: Timeout = DEFAULT_TIMEOUT) -> None:
    """Give an existing session (e.g. one a library made) a default timeout and no retries."""
    adapter = TimeoutAdapter(timeout)
    session.mount("https://", adapter)
    session.mount("http://", adapter)


def new_session(timeout: Timeout = DEFAULT_TIMEOUT) -> requests.Session:
    """A session with sbomsign's User-Agent, a default timeout and no automatic retries."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    bound_session(session, timeout)
    return session


def host_of(url: str | None) -> str:
    """The `host[:port]` of a URL, for messages; the URL itself when it has none."""
    if not url:
        return "?"
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return url
    # NOTE: drop any user:password@ part; messages end up in CI logs.
    return netloc.rpartition("@")[2] or url


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps, breadth first: `__cause__`, `__context__`,
    urllib3's `.reason` and exceptions given as arguments."""
    seen: list[BaseException] = []
    queue: list[BaseException] = [exc]
    while queue and len(seen) < 32:
        current = queue.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked.extend(a for a in current.args if isinstance(a, BaseException))
        queue.extend(e for e in linked if isinstance(e, BaseException))
    return seen


def _oserror_reason(exc: BaseException) -> str | None:
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause.reason or cause.strerror or type(cause).__name__}"
        if isinstance(cause, TimeoutError):
            return "timed out"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the host name ({cause.strerror})"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror[:1].lower() + cause.strerror[1:]
    return None


def describe_error(exc: BaseException) -> str:
    """A short, one-line reason for a network failure (`requests`, urllib3 or socket)."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return _status(exc.response)
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.SSLError):
        return _oserror_reason(exc) or "TLS error"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "invalid URL"
    reason = _oserror_reason(exc)
    if reason:
        return reason
    incomplete = _incomplete_read(exc)
    if incomplete:
        return incomplete
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__


def _incomplete_read(exc: BaseException) -> str:
    """`the connection closed mid-transfer (R of N bytes)` when an answer was cut short."""
    import http.client

    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen or not isinstance(e, BaseException):
            continue
        seen.add(id(e))
        if isinstance(e, http.client.IncompleteRead):
            # urllib3's subclass counts bytes where http.client keeps the bytes themselves.
            partial: Any = e.partial
            got = len(partial) if isinstance(partial, bytes | bytearray) else int(partial)
            expected: Any = e.expected
            total = f" of {got + int(expected)}" if expected else ""
            return f"the connection closed mid-transfer ({got}{total} bytes)"
        todo.extend([*e.args, e.__cause__, e.__context__])
    return ""


def _status(response: requests.Response) -> str:
    text = f"HTTP {response.status_code}"
    if response.reason:
        text += f" {response.reason}"
    # NOTE: many APIs (GitHub, Fulcio, Rekor) explain a refusal in a JSON "message"; it is the
    # most useful part of the error, so keep its first line.
    try:
        body = response.json()
    except ValueError:
        return text
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, str) and message.strip():
        text += f": {' '.join(message.split())[:200]}"
    return text


def get_json(
    url: str,
    *,
    what: str,
    headers: Mapping[str, str] | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
) -> Any:
    """GET `url` and decode its JSON body.

    `what` names the request in errors ("GitHub Actions OIDC token").

    Raises:
        NetworkError: the request failed, the status is not 2xx, or the body is not JSON.
    """
    own = session is None
    sess = new_session(timeout) if session is None else session
    host = host_of(url)
    try:
        response = sess.get(url, headers=dict(headers or {}), timeout=timeout)
        response.raise_for_status()
        try:
            return response.json()
        except ValueError as e:  # requests' JSONDecodeError is one
            raise NetworkError(f"{what}: {host}: the response is not JSON") from e
    except requests.RequestException as e:
        raise NetworkError(f"{what}: {host}: {describe_error(e)}") from e
    finally:
        if own:
            sess.close()
