"""Where the identity token comes from, with a real HTTP server playing GitHub's token
endpoint on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sbomsign._internal import ci, http
from sbomsign.errors import NetworkError

REQUEST_TOKEN = "runtime-request-token"
JWT = "eyJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJzaWdzdG9yZSJ9.c2ln"


@dataclass
class Endpoint:
    """What the fake endpoint answers, and what it was asked."""

    url: str
    status: int = 200
    body: bytes = json.dumps({"value": JWT, "count": 1}).encode()
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    endpoint: Endpoint

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        ep = self.endpoint
        query = parse_qs(urlsplit(self.path).query)
        ep.requests.append(
            {"path": urlsplit(self.path).path, "query": query, "headers": dict(self.headers)}
        )
        time.sleep(ep.delay)
        # Like GitHub: no valid bearer token, no token.
        if self.headers.get("Authorization") != f"bearer {REQUEST_TOKEN}":
            self._send(401, b'{"message": "bad request token"}')
        elif query.get("audience") != ["sigstore"]:
            self._send(400, b'{"message": "audience must be sigstore"}')
        else:
            self._send(ep.status, ep.body)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    """GitHub's OIDC token endpoint, on 127.0.0.1."""
    handler: type[_Handler] = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.block_on_close = False
    ep = Endpoint(url=f"http://127.0.0.1:{server.server_port}/idtoken?api-version=2.0")
    handler.endpoint = ep
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield ep
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def _github(url: str, token: str = REQUEST_TOKEN) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "ACTIONS_ID_TOKEN_REQUEST_URL": url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": token,
    }


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _no_other_ci() -> str | None:
    return None


# -- environment -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "name"),
    [
        ({}, None),
        ({"GITHUB_ACTIONS": "true", "CI": "true"}, "github-actions"),
        ({"GITLAB_CI": "true"}, "gitlab-ci"),
        ({"BUILDKITE": "true"}, "buildkite"),
        ({"JENKINS_URL": "http://j"}, "jenkins"),
        ({"CI": "true"}, "ci"),
        ({"GITHUB_ACTIONS": "false"}, None),
    ],
)
def test_ci_name(environ: dict[str, str], name: str | None) -> None:
    assert ci.ci_name(environ) == name


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://t.example/idtoken?api-version=2.0",
            "https://t.example/idtoken?api-version=2.0&audience=sigstore",
        ),
        ("https://t.example/idtoken", "https://t.example/idtoken?audience=sigstore"),
        ("https://t.example/idtoken?", "https://t.example/idtoken?audience=sigstore"),
        ("https://t.example/idtoken?a=1&", "https://t.example/idtoken?a=1&audience=sigstore"),
    ],
)
def test_token_url(url: str, expected: str) -> None:
    assert ci.github_token_url(url) == expected


def test_token_url_escapes_the_audience() -> None:
    assert ci.github_token_url("https://t/x", "a b&c") == "https://t/x?audience=a%20b%26c"


# -- GitHub Actions token endpoint -------------------------------------------------------------


def test_github_token(endpoint: Endpoint) -> None:
    assert ci.github_actions_token(_github(endpoint.url)) == JWT
    [request] = endpoint.requests
    assert request["path"] == "/idtoken"
    assert request["query"] == {"api-version": ["2.0"], "audience": ["sigstore"]}
    assert request["headers"]["Authorization"] == f"bearer {REQUEST_TOKEN}"
    assert request["headers"]["User-Agent"].startswith("sbomsign/")


def test_github_token_url_without_query(endpoint: Endpoint) -> None:
    url = endpoint.url.split("?")[0]
    assert ci.github_actions_token(_github(url)) == JWT
    assert endpoint.requests[0]["query"] == {"audience": ["sigstore"]}


def test_not_github_actions_means_no_token() -> None:
    assert ci.github_actions_token({}) is None
    assert ci.github_actions_token({"GITHUB_ACTIONS": "false"}) is None


def test_github_without_id_token_permission() -> None:
    with pytest.raises(NetworkError, match="id-token: write") as info:
        ci.github_actions_token({"GITHUB_ACTIONS": "true"})
    assert info.value.exit_code == 3


def _fails(environ: dict[str, str]) -> str:
    with pytest.raises(NetworkError) as info:
        ci.github_actions_token(environ)
    assert info.value.exit_code == 3
    message = info.value.diagnostics()
    assert "\n" not in message
    assert REQUEST_TOKEN not in message
    return message


def test_github_refuses_the_request_token(endpoint: Endpoint) -> None:
    message = _fails(_github(endpoint.url, token="wrong"))
    host = http.host_of(endpoint.url)
    assert message == (
        f"GitHub Actions OIDC token: {host}: HTTP 401 Unauthorized: bad request token"
    )


def test_github_forbidden(endpoint: Endpoint) -> None:
    endpoint.status = 403
    endpoint.body = b'{"message": "Resource not accessible by integration"}'
    message = _fails(_github(endpoint.url))
    assert message.endswith("HTTP 403 Forbidden: Resource not accessible by integration")


def test_github_answer_not_json(endpoint: Endpoint) -> None:
    endpoint.body = b"<html>oops</html>"
    assert _fails(_github(endpoint.url)).endswith(": the response is not JSON")


@pytest.mark.parametrize("body", [{"count": 1}, {"value": ""}, {"value": 42}, ["value"]])
def test_github_answer_without_token(endpoint: Endpoint, body: Any) -> None:
    endpoint.body = json.dumps(body).encode()
    assert _fails(_github(endpoint.url)).endswith("the response has no token ('value')")


def test_github_endpoint_down() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/idtoken?api-version=2.0"
    start = time.monotonic()
    message = _fails(_github(url))
    assert time.monotonic() - start < 5
    assert message.endswith(": connection refused")


def test_github_endpoint_too_slow(endpoint: Endpoint) -> None:
    endpoint.delay = 1.5
    start = time.monotonic()
    with pytest.raises(NetworkError, match="timed out"):
        ci.github_actions_token(_github(endpoint.url), timeout=0.3)
    assert time.monotonic() - start < 1.5


# -- the order of the sources ------------------------------------------------------------------


def test_explicit_token_first(endpoint: Endpoint) -> None:
    env = {**_github(endpoint.url), "SIGSTORE_ID_TOKEN": "from-env"}
    found = ci.find_identity_token(" explicit ", environ=env, other_ci=_no_other_ci)
    assert found == ci.FoundToken("explicit", "--identity-token")
    assert endpoint.requests == []


def test_environment_variable_second(endpoint: Endpoint) -> None:
    env = {**_github(endpoint.url), "SIGSTORE_ID_TOKEN": "from-env\n"}
    found = ci.find_identity_token(None, environ=env, other_ci=_no_other_ci)
    assert found == ci.FoundToken("from-env", "SIGSTORE_ID_TOKEN")
    assert endpoint.requests == []


def test_github_third(endpoint: Endpoint) -> None:
    found = ci.find_identity_token("", environ=_github(endpoint.url), other_ci=_no_other_ci)
    assert found == ci.FoundToken(JWT, "GitHub Actions")


def test_other_ci_fourth() -> None:
    found = ci.find_identity_token(None, environ={"BUILDKITE": "true"}, other_ci=lambda: "bk")
    assert found == ci.FoundToken("bk", "ambient credential (buildkite)")


def test_other_ci_is_not_asked_in_github_actions(endpoint: Endpoint) -> None:
    def other() -> str | None:
        raise AssertionError("sigstore's detector must not run in GitHub Actions")

    assert ci.find_identity_token(None, environ=_github(endpoint.url), other_ci=other).token == JWT


def test_browser_last_and_only_on_a_terminal() -> None:
    found = ci.find_identity_token(
        None, environ={}, other_ci=_no_other_ci, browser=lambda: "web", interactive=True
    )
    assert found == ci.FoundToken("web", "browser sign-in")
    with pytest.raises(NetworkError, match="--oauth needs a terminal"):
        ci.find_identity_token(
            None, environ={}, other_ci=_no_other_ci, browser=lambda: "web", interactive=False
        )


def test_nothing_found() -> None:
    with pytest.raises(NetworkError) as info:
        ci.find_identity_token(None, environ={}, other_ci=_no_other_ci)
    assert info.value.exit_code == 3
    assert info.value.diagnostics() == (
        "no identity token: pass --identity-token, set SIGSTORE_ID_TOKEN,"
        " or run in CI with id-token: write"
    )


def test_default_detector_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    # sigstore-python's detector, with no CI variables set, finds nothing (and says so).
    for var in ("GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI",
                "GOOGLE_SERVICE_ACCOUNT_NAME", "SIGSTORE_ID_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(NetworkError, match="^no identity token"):
        ci.find_identity_token(None, environ={})


def test_http_host_of_hides_credentials() -> None:
    assert http.host_of("https://user:secret@t.example:8443/x?y=1") == "t.example:8443"
    assert http.host_of(None) == "?"
