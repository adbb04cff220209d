"""A small routed HTTP server on a loopback port, with switches to make it slow or failing.

Each local Sigstore service (OIDC issuer, Fulcio, Rekor) is one `Service`: its own
`ThreadingHTTPServer` in a daemon thread, answering JSON. Connections are HTTP/1.0 (closed
after each answer) on purpose: a stopped service then really refuses the next request instead
of a pooled keep-alive connection still reaching an old handler thread.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger("sigstore_local")

#: Largest request body accepted; real entries and CSRs are a few KiB.
MAX_BODY = 4 * 1024 * 1024


@dataclass
class Faults:
    """Switches a test flips to make a service misbehave; all off by default.

    Changes apply to requests that arrive afterwards.
    """

    delay: float = 0.0
    """Seconds to wait before handling each request (the request is then handled normally)."""
    status: int | None = None
    """Answer every request with this HTTP status and a JSON error instead of handling it."""

    def reset(self) -> None:
        """Turn every switch off."""
        self.delay = 0.0
        self.status = None


@dataclass
class Request:
    """What a route handler sees of an HTTP request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    """Named groups matched in the route's path pattern."""

    def arg(self, name: str) -> str | None:
        """The first value of query parameter `name`, if given."""
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The body parsed as JSON; raises HttpError(400) if it is not."""
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise HttpError(400, f"request body is not JSON: {e}") from e


@dataclass
class Response:
    """A route handler's answer."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, obj: Any, headers: dict[str, str] | None = None) -> Response:
        """A JSON answer."""
        return cls(status, json.dumps(obj).encode(), "application/json", headers or {})


class HttpError(Exception):
    """Raised by a handler to answer with an error status and a one-line message."""

    def __init__(self, status: int, message: str, code: int | None = None) -> None:
        """`code` is the service's own error code in the JSON body (default: the status)."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = status if code is None else code


Handler = Callable[[Request], Response]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # NOTE: a restarted instance must be able to take its old port back at once.
    allow_reuse_address = True
    service: Service

    def handle_error(self, request: Any, client_address: Any) -> None:
        # NOTE: a client that gave up (a timeout test) makes the late answer fail with a
        # broken pipe; that is expected, not worth a traceback on stderr.
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"
    # NOTE: a client that connects and sends nothing must not hold a thread forever.
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s: " + format, self.server.service.name, *args)

    def _dispatch(self) -> None:
        service = self.server.service
        try:
            response = service.handle(self)
        except HttpError as e:
            response = service.error_response(e)
        except Exception as e:  # a bug in a handler: answer 500, keep serving
            logger.exception("%s: handler failed", service.name)
            response = service.error_response(HttpError(500, f"internal error: {e}"))
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except OSError:
            logger.debug("%s: client went away before the answer", service.name)

    do_GET = _dispatch
    do_POST = _dispatch
    do_HEAD = _dispatch


class Service:
    """One HTTP service: routes, a port on the loopback interface, and its `Faults`."""

    name = "service"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Prepare the service; nothing listens until `start`."""
        self.host = host
        self.requested_port = port
        self.faults = Faults()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # NOTE: set on stop so that requests held by `Faults.delay` end at once.
        self._stopping = threading.Event()

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Send `method` requests whose path fully matches regex `pattern` to `handler`."""
        self._routes.append((method, re.compile(pattern), handler))

    @property
    def port(self) -> int:
        """The port the service listens on (only while started)."""
        if self._server is None:
            raise RuntimeError(f"{self.name} is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The service's base URL, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the service is listening."""
        return self._server is not None

    def start(self) -> None:
        """Listen on the requested port (else any free one) and serve in a daemon thread."""
        if self._server is not None:
            return
        self._stopping.clear()
        server: _Server | None = None
        if self.requested_port:
            try:
                server = _Server((self.host, self.requested_port), _RequestHandler)
            except OSError as e:
                logger.warning(
                    "%s: port %d is taken (%s); using a free port",
                    self.name,
                    self.requested_port,
                    e,
                )
        if server is None:
            server = _Server((self.host, 0), _RequestHandler)
        server.service = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sigstore-local-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening; later requests are refused. Requests held by a delay end now."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def error_response(self, error: HttpError) -> Response:
        """The JSON error body this service answers with (Rekor's `{code, message}`)."""
        return Response.json(error.status, {"code": error.code, "message": error.message})

    def handle(self, raw: BaseHTTPRequestHandler) -> Response:
        """Apply the fault switches, read the request and run the matching route."""
        if self.faults.delay > 0 and self._stopping.wait(self.faults.delay):
            raise HttpError(503, f"{self.name} is shutting down")
        if self.faults.status is not None:
            raise HttpError(self.faults.status, f"{self.name} is failing on purpose (test fault)")
        parts = urlsplit(raw.path)
        length = int(raw.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise HttpError(413, f"request body of {length} bytes is too large")
        body = raw.rfile.read(length) if length > 0 else b""
        allowed: list[str] = []
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(parts.path)
            if match is None:
                continue
            if method != raw.command and not (method == "GET" and raw.command == "HEAD"):
                allowed.append(method)
                continue
            request = Request(
                method=raw.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers=raw.headers,
                body=body,
                params={k: v for k, v in match.groupdict().items() if v is not None},
            )
            return handler(request)
        if allowed:
            raise HttpError(405, f"{raw.command} is not allowed on {parts.path}")
        raise HttpError(404, f"no such endpoint: {parts.path}")


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for tests that need a closed one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
