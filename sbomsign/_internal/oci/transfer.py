"""Moving images between stores, and files into them.

`copy` takes an image or index and everything that refers to it (signatures, attestations,
SBOMs: the referrers, recursively, and cosign's legacy `.sig` and `.att` tags) from one store to
another. Children go before their parents (blobs, then manifests, then the index, then its
referrers), so a copy that stops halfway leaves no manifest naming a missing blob and
resumes where it stopped: blobs the destination has are not sent again. Every blob is
checked against its digest as it streams; nothing is held in memory.

`push` stores one file as an OCI artifact, the shape `oras push` writes: the empty config,
the file as the single layer with its title annotation, and an `artifactType`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from sbomsign._internal.oci import (
    CREATED,
    EMPTY_DIGEST,
    EMPTY_JSON,
    EMPTY_MEDIA_TYPE,
    TITLE,
    compact_json,
)
from sbomsign._internal.oci.store import Descriptor, Store, descriptors, tag_schema
from sbomsign._internal.sources.images import INDEX_TYPES, OCI_MANIFEST
from sbomsign._internal.sources.streams import Readable, json_object
from sbomsign.errors import InputError

#: How deep referrers of referrers (and nested indexes) are followed.
_MAX_DEPTH = 8
DEFAULT_ARTIFACT_TYPE = "application/vnd.unknown.artifact.v1"
DEFAULT_LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"


@dataclass
class CopyReport:
    """What a copy moved."""

    manifests: int = 0
    blobs: int = 0
    blobs_present: int = 0
    bytes: int = 0
    referrers: int = 0
    root: Descriptor = field(default_factory=dict)


@dataclass
class _Copy:
    src: Store
    dst: Store
    workdir: str
    report: CopyReport
    progress: Callable[[str], None] | None
    done: set[str] = field(default_factory=set)

    def blob(self, desc: Descriptor) -> None:
        digest = desc["digest"]
        if digest in self.done:
            return
        self.done.add(digest)
        if self.dst.has_blob(digest):
            self.report.blobs_present += 1
            return
        size = desc.get("size")
        if not isinstance(size, int):
            raise InputError(f"{self.src.name}@{digest}: a descriptor without a size")
        self.dst.put_blob(digest, size, _Opened(lambda: self.src.blob(desc)))
        self.report.blobs += 1
        self.report.bytes += size

    def manifest(self, desc: Descriptor, depth: int) -> None:
        """`desc` and everything under it, then what refers to it."""
        digest = desc["digest"]
        if digest in self.done:
            return
        if depth > _MAX_DEPTH:
            raise InputError(f"{self.src.name}@{digest}: nests more than {_MAX_DEPTH} deep")
        self.done.add(digest)
        what = f"{self.src.name}@{digest}"
        body = self.src.manifest(desc)
        doc = json_object(body, what)
        media = str(doc.get("mediaType") or desc.get("mediaType") or OCI_MANIFEST)
        if media in INDEX_TYPES or "manifests" in doc:
            for child in descriptors(doc, what):
                self.manifest(child, depth + 1)
        else:
            for part in [doc.get("config"), *(doc.get("layers") or [])]:
                if not isinstance(part, dict) or not isinstance(part.get("digest"), str):
                    raise InputError(f"{what}: a config or layer without a digest")
                self.blob(part)
        self.dst.put_manifest(body, media)
        self.report.manifests += 1
        if self.progress is not None:
            self.progress(f"copied {digest}")
        self.referrers_of(desc, depth)

    def referrers_of(self, desc: Descriptor, depth: int) -> None:
        subject = desc["digest"]
        for ref in self.src.referrers(subject):
            if ref["digest"] in self.done:
                continue
            self.manifest(ref, depth + 1)
            self.dst.add_referrer(subject, ref)
            self.report.referrers += 1
        for suffix in (".sig", ".att"):
            # cosign's tag-based signatures and attestations travel under their tags.
            tag = tag_schema(subject) + suffix
            legacy = self.src.find(tag)
            if legacy is not None and legacy["digest"] not in self.done:
                self.manifest(legacy, depth + 1)
                self.dst.put_manifest(self.src.manifest(legacy), str(legacy.get("mediaType")),
                                      tag=tag)
                self.report.referrers += 1


class _Opened:
    """A blob opened at its first read: a registry that mounts it never needs it sent."""

    def __init__(self, opener: Callable[[], Readable]) -> None:
        self._opener = opener
        self._stream: Readable | None = None

    def read(self, n: int = -1, /) -> bytes:
        if self._stream is None:
            self._stream = self._opener()
        return self._stream.read(n)


def copy(src: Store, reference: str, dst: Store, tag: str, *, workdir: str = "",
         progress: Callable[[str], None] | None = None) -> CopyReport:
    """Copy the image `reference` names in `src`, with its referrers, into `dst` (tagged
    `tag` there when given).

    Raises:
        InputError: the image is not in `src`, or a document is malformed or fails its digest.
        NetworkError: a registry failed.
    """
    root = src.resolve(reference) if reference else src.resolve("")
    report = CopyReport(root=root)
    mount = getattr(dst, "mount_from", None)
    if mount is not None:
        mount(src)
    job = _Copy(src, dst, workdir, report, progress)
    job.manifest(root, 0)
    if tag:
        dst.put_manifest(src.manifest(root), str(root.get("mediaType") or OCI_MANIFEST),
                         tag=tag)
    return report


def push(dst: Store, path: str, tag: str, *, media_type: str = "", artifact_type: str = "",
         created: str = "") -> Descriptor:
    """Store the file `path` as an OCI artifact tagged `tag`; its manifest's descriptor.

    Raises:
        InputError: the file cannot be read.
        NetworkError: the registry refused.
    """
    import hashlib

    try:
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
            size = os.fstat(f.fileno()).st_size
            f.seek(0)
            dst.put_blob(f"sha256:{digest}", size, f)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    dst.put_blob(EMPTY_DIGEST, len(EMPTY_JSON), io.BytesIO(EMPTY_JSON))
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type or DEFAULT_ARTIFACT_TYPE,
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": EMPTY_DIGEST,
                   "size": len(EMPTY_JSON)},
        "layers": [{"mediaType": media_type or DEFAULT_LAYER_TYPE,
                    "digest": f"sha256:{digest}", "size": size,
                    "annotations": {TITLE: os.path.basename(path)}}],
        "annotations": {CREATED: created},
    }
    body = compact_json(manifest)
    return dst.put_manifest(body, OCI_MANIFEST, tag=tag)
