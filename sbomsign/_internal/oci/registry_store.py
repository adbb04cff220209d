"""A registry repository as a `Store`: the read client of `sources.registry`, plus writes.

Blobs are pushed with the two-step monolithic upload of the distribution spec (`POST`
`/blobs/uploads/`, then `PUT <location>?digest=`), after a `HEAD` that skips blobs the
registry has. Manifests are `PUT` by digest (and tag). The referrers API is asked first;
a `404` means the registry has none, and the referrers tag schema is read and written
instead, keeping every entry other tools put there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from sbomsign._internal.limits import exceeded
from sbomsign._internal.oci import compact_json, sha256_digest
from sbomsign._internal.oci.store import (
    Descriptor,
    descriptors,
    max_referrers,
    tag_schema,
)
from sbomsign._internal.sources.images import OCI_INDEX
from sbomsign._internal.sources.registry import _ACCEPT, Registry, _bounded
from sbomsign._internal.sources.streams import (
    MAX_DOCUMENT_BYTES,
    Readable,
    Verifying,
    json_object,
)
from sbomsign.errors import NetworkError

_NO_REFERRERS_API = frozenset({400, 405, 406})


class RegistryStore:
    """One repository of one registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.name = f"registry:{registry.host}/{registry.repository}"
        self._native_referrers: bool | None = None
        self._mount = ""

    def find(self, reference: str) -> Descriptor | None:
        response = self.registry.send("HEAD", f"{self.registry.base}/manifests/{reference}",
                                      accept=_ACCEPT, missing_ok=True)
        if response.status_code == 404:
            return None
        return self.resolve(reference)

    def resolve(self, reference: str) -> Descriptor:
        return self.registry.resolve(reference)

    def manifest(self, desc: Descriptor) -> bytes:
        stream = self.registry.open_manifest(desc["digest"], desc.get("size"),
                                             f"{self.name}@{desc['digest']}")
        body = stream.read(MAX_DOCUMENT_BYTES + 1)
        stream.drain()
        return bytes(body)

    def blob(self, desc: Descriptor) -> Verifying:
        return self.registry.open(desc["digest"], desc.get("size"),
                                  f"{self.name}@{desc['digest']}")

    def has_blob(self, digest: str) -> bool:
        response = self.registry.send("HEAD", f"{self.registry.base}/blobs/{digest}",
                                      missing_ok=True)
        return response.status_code != 404

    def mount_from(self, source: object) -> None:
        """Blobs of `source`, when it is another repository of the same registry, are
        mounted (the registry links them) instead of sent again."""
        if isinstance(source, RegistryStore) and source.registry.host == self.registry.host \
                and source.registry.repository != self.registry.repository:
            self._mount = source.registry.repository

    def put_blob(self, digest: str, size: int, stream: Readable) -> None:
        if self.has_blob(digest):
            return
        if self._mount:
            mounted = self.registry.send(
                "POST", f"{self.registry.base}/blobs/uploads/",
                params={"mount": digest, "from": self._mount})
            if mounted.status_code == 201:
                return
            # 202: the registry would not mount it and opened an upload instead.
            started = mounted
        else:
            started = self.registry.send("POST", f"{self.registry.base}/blobs/uploads/")
        checked = Verifying(stream, digest, size, f"{self.name}: blob {digest}")
        location = started.headers.get("Location", "")
        if not location:
            raise NetworkError(f"registry {self.registry.host}: an upload without a Location")
        url = urljoin(self.registry.base + "/", location)
        url += ("&" if "?" in url else "?") + f"digest={digest}"
        # NOTE: streamed, not held: the registry checks the digest it is given, and the
        # stream checks it too and stops the upload at its end if the source lied.
        self.registry.send("PUT", url, data=_Upload(checked, size),
                           headers={"Content-Type": "application/octet-stream"})

    def put_manifest(self, body: bytes, media_type: str, tag: str = "") -> Descriptor:
        digest = sha256_digest(body)
        response = self.registry.send(
            "PUT", f"{self.registry.base}/manifests/{tag or digest}", data=body,
            headers={"Content-Type": media_type})
        if "OCI-Subject" in response.headers:
            self._native_referrers = True
        return {"mediaType": media_type, "digest": digest, "size": len(body)}

    def referrers(self, digest: str) -> list[Descriptor]:
        url = f"{self.registry.base}/referrers/{digest}"
        what = f"{self.name}: referrers of {digest}"
        found: list[Descriptor] = []
        while url:
            # NOTE: registries without the API answer 404 (the spec's signal), but some
            # answer 400, 405 or 406 for a path they do not route: the tag schema then.
            response = self.registry.send("GET", url, accept=OCI_INDEX, missing_ok=True,
                                          tolerate=_NO_REFERRERS_API)
            media = response.headers.get("Content-Type", "").split(";")[0].strip()
            if response.status_code != 200 or media != OCI_INDEX:
                response.close()
                return self._schema_index(digest)[1]
            self._native_referrers = True
            page = descriptors(json_object(_bounded(response, what), what), what)
            found.extend(page)
            if len(found) > max_referrers():
                raise exceeded(what, "listed manifests", max_referrers(),
                               "SBOMSIGN_MAX_REFERRERS")
            # The distribution spec pages long lists: `Link: <next>; rel="next"`.
            url = _next_page(response.headers.get("Link", ""), self.registry.base) if page \
                else ""
        return found

    def _schema_index(self, digest: str) -> tuple[dict[str, Any], list[Descriptor]]:
        tag = tag_schema(digest)
        response = self.registry.send("GET", f"{self.registry.base}/manifests/{tag}",
                                      accept=OCI_INDEX, missing_ok=True)
        if response.status_code == 404:
            return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}, []
        what = f"{self.name}:{tag}"
        index = json_object(_bounded(response, what), what)
        return index, descriptors(index, what)

    def add_referrer(self, subject: str, desc: Descriptor) -> None:
        if self._native_referrers:
            return
        index, entries = self._schema_index(subject)
        if any(d["digest"] == desc["digest"] for d in entries):
            return
        raw = index.get("manifests")
        index["manifests"] = [*(raw if isinstance(raw, list) else []), desc]
        index.setdefault("schemaVersion", 2)
        index.setdefault("mediaType", OCI_INDEX)
        self.put_manifest(compact_json(index), OCI_INDEX, tag=tag_schema(subject))

    def close(self) -> None:
        """Nothing to finish."""


def _next_page(link: str, base: str) -> str:
    """The `rel="next"` URL of a `Link` header, resolved against the registry, or ""."""
    match = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', link)
    return urljoin(base + "/", match.group(1)) if match else ""


class _Upload:
    """A blob's bytes for `requests`: its length (so the body is sent with a Content-Length,
    not chunked) and its chunks, read as they are sent."""

    def __init__(self, stream: Verifying, size: int) -> None:
        self._stream = stream
        self._size = size

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self._stream.read(1 << 20):
            yield chunk
