"""A small OCI 1.1 registry on 127.0.0.1 with the referrers API, for the path Debian's
docker-registry (2.8, no referrers API) cannot exercise.

It serves what sbomsign's client uses of the distribution spec: blob uploads (POST, then PUT
with the digest, checked), blob and manifest HEAD/GET, manifest PUT by tag or digest (a
manifest with a `subject` is indexed and answered with the `OCI-Subject` header, as the spec
asks), and `GET /v2/<repo>/referrers/<digest>`, paged `page_size` descriptors at a time with
`Link: <…>; rel="next"`, as registries that page their answers do.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

INDEX = "application/vnd.oci.image.index.v1+json"


@dataclass
class Repository:
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    referrers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class Registry:
    host: str = ""
    page_size: int = 1
    no_api_status: int = 0
    """Answer the referrers API with this status (a registry without it), 0: serve it."""
    repos: dict[str, Repository] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _handler(state: Registry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
                  ) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _route(self) -> tuple[Repository, str, str, dict[str, list[str]]] | None:
            url = urlsplit(self.path)
            state.requests.append((self.command, url.path))
            for kind in ("/blobs/uploads/", "/manifests/", "/blobs/", "/referrers/"):
                if kind in url.path:
                    name, _, rest = url.path.removeprefix("/v2/").partition(kind)
                    return (state.repos.setdefault(name, Repository()), kind, rest,
                            parse_qs(url.query))
            self._send(404)
            return None

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            route = self._route()
            if route is not None:
                name = self.path.removeprefix("/v2/").split("/blobs/")[0]
                self._send(202, headers={
                    "Location": f"/v2/{name}/blobs/uploads/{uuid.uuid4()}"})

        def do_PUT(self) -> None:  # noqa: N802
            route = self._route()
            if route is None:
                return
            repo, kind, rest, query = route
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if kind == "/blobs/uploads/":
                wanted = query.get("digest", [""])[0]
                if _digest(body) != wanted:
                    self._send(400)
                    return
                repo.blobs[wanted] = body
                self._send(201)
                return
            digest = _digest(body)
            media = self.headers.get("Content-Type", "")
            repo.manifests[digest] = (body, media)
            if not rest.startswith("sha256:"):
                repo.tags[rest] = digest
            doc = json.loads(body)
            headers = {"Docker-Content-Digest": digest}
            subject = doc.get("subject")
            if isinstance(subject, dict) and not state.no_api_status:
                entry = {"mediaType": media, "digest": digest, "size": len(body),
                         "artifactType": doc.get("artifactType")
                         or doc.get("config", {}).get("mediaType")}
                if doc.get("annotations"):
                    entry["annotations"] = doc["annotations"]
                repo.referrers.setdefault(subject["digest"], []).append(entry)
                headers["OCI-Subject"] = subject["digest"]
            self._send(201, headers=headers)

        def do_GET(self) -> None:  # noqa: N802
            route = self._route()
            if route is None:
                return
            repo, kind, rest, query = route
            if kind == "/blobs/":
                blob = repo.blobs.get(rest)
                self._send(404) if blob is None else self._send(200, blob)
                return
            if kind == "/referrers/":
                self._referrers(repo, rest, query)
                return
            found = repo.manifests.get(repo.tags.get(rest, rest))
            if found is None:
                self._send(404)
                return
            body, media = found
            self._send(200, body, {"Content-Type": media,
                                   "Docker-Content-Digest": _digest(body)})

        do_HEAD = do_GET  # noqa: N815

        def _referrers(self, repo: Repository, digest: str,
                       query: dict[str, list[str]]) -> None:
            if state.no_api_status:
                self._send(state.no_api_status)
                return
            listed = repo.referrers.get(digest, [])
            start = int(query.get("page", ["0"])[0])
            page = listed[start:start + state.page_size]
            headers = {"Content-Type": INDEX}
            if start + state.page_size < len(listed):
                name = self.path.removeprefix("/v2/").split("/referrers/")[0]
                headers["Link"] = (f'</v2/{name}/referrers/{digest}?page='
                                   f'{start + state.page_size}>; rel="next"')
            body = json.dumps({"schemaVersion": 2, "mediaType": INDEX,
                               "manifests": page}).encode()
            self._send(200, body, headers)

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


@contextmanager
def oci_registry(page_size: int = 1, no_api_status: int = 0) -> Iterator[Registry]:
    """Run the registry; yield its state (`host` is HOST:PORT)."""
    state = Registry(page_size=page_size, no_api_status=no_api_status)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.host = f"127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
