"""Registries that answer with a Bearer challenge, and registries that fail.

The token flow runs against Debian's docker-registry on 127.0.0.1 configured for token
authentication, with a token service on 127.0.0.1 that checks the user's password and signs
ES256 JWTs with a key whose certificate the registry trusts (as Harbor, GitLab's registry and
distribution's own token server do). The failures (429, 503, an answer that never comes) come
from a small HTTP server on 127.0.0.1, since no real registry can be told to give them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from tests.images import build, run
from tests.loopback import docker_registry

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "ci", "token-secret"
SERVICE, ISSUER = "sbomsign-test-registry", "sbomsign-test-token-service"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _Signer:
    """The token service's key and the self-signed certificate the registry trusts."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = dt.datetime.now(dt.UTC)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(minutes=5))
                     .not_valid_after(now + dt.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                     .sign(self.key, hashes.SHA256()))

    def token(self, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": [
            base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]}
        claims = {"iss": ISSUER, "sub": USER, "aud": SERVICE, "iat": now, "nbf": now - 60,
                  "exp": now + 300, "jti": _b64url(os.urandom(12)), "access": access}
        signing_input = ".".join(_b64url(json.dumps(p).encode()) for p in (header, claims))
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(),
                                                  ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, int(server.server_address[1])


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """HOST:PORT of a token-authenticated registry holding team/svc:1.0, and the scopes the
    token service was asked for."""
    signer, asked = _Signer(), []
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Tokens(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            query = parse_qs(urlsplit(self.path).query)
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            scopes = query.get("scope", [])
            asked.extend(scopes)
            body = json.dumps({"token": signer.token(scopes), "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    tokens, token_port = _serve(Tokens)
    work = tmp_path_factory.mktemp("token-registry")
    (work / "root.pem").write_bytes(signer.cert.public_bytes(serialization.Encoding.PEM))
    auth = {"token": {"realm": f"http://127.0.0.1:{token_port}/token", "service": SERVICE,
                      "issuer": ISSUER, "rootcertbundle": str(work / "root.pem")}}
    try:
        with docker_registry(work, auth) as host:
            images = build(ROOT / ".cache" / "images")
            run("skopeo", "copy", "-q", "--dest-tls-verify=false",
                f"--dest-creds={USER}:{PASSWORD}", f"oci:{images / 'oci'}:glibc",
                f"docker://{host}/team/glibc:1.0")
            yield host, asked
    finally:
        tokens.shutdown()


def _scan(name: str, *extra: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sbomsign", "scan", "--format", "json", name,
                           *extra], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, **env})


def _docker_config(directory: Path, host: str, password: str) -> dict[str, str]:
    directory.mkdir()
    auth = base64.b64encode(f"{USER}:{password}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return {"DOCKER_CONFIG": str(directory), "REGISTRY_AUTH_FILE": ""}


def test_a_bearer_challenge_is_answered_with_a_token_for_the_repository(
    token_registry: tuple[str, list[str]], tmp_path: Path
) -> None:
    host, asked = token_registry
    env = _docker_config(tmp_path / "docker", host, PASSWORD)
    done = _scan(f"registry:{host}/team/glibc:1.0", "--insecure-registry", host, env=env)
    assert done.returncode == 0, done.stderr
    inventory = json.loads(done.stdout)
    (image,) = inventory["containers"]
    assert image["repository"] == f"{host}/team/glibc" and image["packages"]
    assert "repository:team/glibc:pull" in asked


def test_a_token_service_that_refuses_the_credentials_is_exit_3(
    token_registry: tuple[str, list[str]], tmp_path: Path
) -> None:
    host, _ = token_registry
    env = _docker_config(tmp_path / "docker", host, "wrong")
    done = _scan(f"registry:{host}/team/glibc:1.0", "--insecure-registry", host, env=env)
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert "token service" in done.stderr and "401" in done.stderr


def test_images_are_signed_and_verified_through_token_authentication(
    token_registry: tuple[str, list[str]], tmp_path: Path
) -> None:
    host, asked = token_registry
    env = {**_docker_config(tmp_path / "docker", host, PASSWORD),
           "SBOMSIGN_INSECURE_REGISTRIES": host}
    key = tmp_path / "release"

    def sbomsign(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sbomsign", *argv], capture_output=True,
                              text=True, timeout=120, cwd=ROOT, env={**os.environ, **env})

    assert sbomsign("keygen", "--no-password", "--output-prefix", str(key)).returncode == 0
    done = sbomsign("sign", "--key", f"{key}.key", f"registry:{host}/team/glibc:1.0")
    assert done.returncode == 0, done.stderr
    # the write asked for the push scope the registry's challenge named
    assert "repository:team/glibc:pull,push" in asked
    done = sbomsign("verify", "--key", f"{key}.pub", f"registry:{host}/team/glibc:1.0")
    assert done.returncode == 0, done.stdout + done.stderr
    env = {**env, **_docker_config(tmp_path / "wrong", host, "wrong")}
    done = sbomsign("sign", "--key", f"{key}.key", f"registry:{host}/team/glibc:1.0")
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


class _Failing(BaseHTTPRequestHandler):
    """A registry that always answers `status` (0: never answers)."""

    status = 503

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if not self.status:
            time.sleep(5)
            return
        self.send_response(self.status)
        self.send_header("Retry-After", "30")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.mark.parametrize(("status", "said"), [(429, "HTTP 429"), (503, "HTTP 503"),
                                              (0, "timed out")])
def test_throttled_failing_and_silent_registries_are_one_line_exit_3(
    status: int, said: str, tmp_path: Path
) -> None:
    handler = type("Handler", (_Failing,), {"status": status})
    server, port = _serve(handler)
    try:
        host = f"127.0.0.1:{port}"
        started = time.monotonic()
        done = _scan(f"registry:{host}/team/svc:1.0", "--insecure-registry", host,
                     env={"SBOMSIGN_REGISTRY_TIMEOUT": "1", "DOCKER_CONFIG": str(tmp_path)})
        assert done.returncode == 3, done.stderr
        assert said in done.stderr.lower() or said in done.stderr
        assert "Traceback" not in done.stderr
        assert time.monotonic() - started < 30  # bounded by the timeout, no retries
    finally:
        server.shutdown()
