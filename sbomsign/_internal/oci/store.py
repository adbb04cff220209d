"""One interface over the places images live: a registry repository, an OCI image layout
directory, a tar of a layout.

A `Store` resolves a tag to a descriptor once, reads manifests and blobs checked against their
digests, writes them (a blob the store already has is not sent again, which is also how an
interrupted copy resumes), tags, and lists what refers to a manifest. Descriptors are the
JSON objects of the OCI image spec (`mediaType`, `digest`, `size`, optional `annotations`,
`artifactType`).

Referrers: a registry with the OCI 1.1 referrers API lists them itself (it says so with an
`OCI-Subject` header when a manifest with a subject is pushed); otherwise the referrers tag
schema's index (`sha256-<hex>` tag) is kept up to date, entries put there by other tools
kept. A layout has no referrers API; its `index.json` lists the referring manifests (as
oras and regclient keep them), and a tag-schema index in it is read too.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, Protocol

from sbomsign._internal.limits import limit
from sbomsign._internal.oci import SCHEMES, compact_json, sha256_digest
from sbomsign._internal.sources import Settings
from sbomsign._internal.sources.images import (
    INDEX_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    REF_NAME,
    is_tagged,
    split_reference,
    tag_of,
)
from sbomsign._internal.sources.streams import (
    MAX_DOCUMENT_BYTES,
    Readable,
    Verifying,
    json_object,
)
from sbomsign.errors import InputError

Descriptor = dict[str, Any]
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_ATTACHED_TAG = re.compile(r"sha256-[0-9a-f]{64}(\.sig|\.att)?")
#: Temporary files in a layout start so; an archive written from the layout leaves them out.
_TMP_PREFIX = ".tmp-"


def max_referrers() -> int:
    """Most referrers read for one manifest (`SBOMSIGN_MAX_REFERRERS`)."""
    return limit("SBOMSIGN_MAX_REFERRERS", 1000)


class Store(Protocol):
    """Where images are read from and written to."""

    name: str
    """`registry:HOST/REPO`, `oci-dir:PATH` or `oci-archive:FILE`."""

    def resolve(self, reference: str) -> Descriptor:
        """The descriptor of a tag or digest (the tag is read once, here)."""
        ...

    def find(self, reference: str) -> Descriptor | None:
        """As `resolve`, or None when there is no such tag or manifest."""
        ...

    def manifest(self, desc: Descriptor) -> bytes:
        """A manifest's bytes, checked against the descriptor."""
        ...

    def blob(self, desc: Descriptor) -> Verifying:
        """A blob, streamed and checked against the descriptor."""
        ...

    def has_blob(self, digest: str) -> bool:
        """Whether the store holds the blob."""
        ...

    def put_blob(self, digest: str, size: int, stream: Readable) -> None:
        """Store a blob; `stream` is checked against `digest` before anything is kept."""
        ...

    def put_manifest(self, body: bytes, media_type: str, tag: str = "") -> Descriptor:
        """Store a manifest by digest, and under `tag` when given."""
        ...

    def referrers(self, digest: str) -> list[Descriptor]:
        """Descriptors of the manifests whose `subject` is `digest` (as listed; the caller
        checks each manifest's subject)."""
        ...

    def add_referrer(self, subject: str, desc: Descriptor) -> None:
        """Make a stored manifest findable as a referrer of `subject` where the store does
        not do it itself."""
        ...

    def close(self) -> None:
        """Finish writing (an archive is written out here)."""
        ...


def media_type_of(body: bytes, what: str) -> str:
    """The media type a manifest or index names itself with (else inferred from its keys)."""
    doc = json_object(body, what)
    media = doc.get("mediaType")
    if isinstance(media, str) and media:
        return media
    return OCI_INDEX if "manifests" in doc else OCI_MANIFEST


def descriptors(index: dict[str, Any], what: str) -> list[Descriptor]:
    """The well-formed descriptors of an index's `manifests` (bounded).

    Raises:
        LimitExceeded: more than `max_referrers()` entries.
    """
    from sbomsign._internal.limits import exceeded

    found = index.get("manifests")
    if not isinstance(found, list):
        return []
    if len(found) > max_referrers():
        raise exceeded(what, "listed manifests", max_referrers(), "SBOMSIGN_MAX_REFERRERS")
    return [d for d in found if isinstance(d, dict) and isinstance(d.get("digest"), str)
            and _DIGEST.fullmatch(d["digest"]) and isinstance(d.get("size", 0), int)]


def tag_schema(digest: str) -> str:
    """The referrers tag schema's tag for a subject digest (`sha256-<hex>`)."""
    return digest.replace(":", "-", 1)


def is_store_name(name: str) -> bool:
    """Whether `name` is an image reference a store can hold (not `docker-archive:`)."""
    return name.startswith(SCHEMES)


@contextmanager
def opened(name: str, settings: Settings, *, create: bool = False) -> Iterator[
        tuple[Store, str]]:
    """The store of an image name and the reference in it (tag, digest or empty); the store is
    closed (an archive written) when the block ends without an error.

    `create`: a missing layout directory or archive is started empty (a copy's destination).

    Raises:
        InputError: the name is malformed, or the layout is missing or not a layout.
        NetworkError: the registry cannot be reached.
    """
    scheme, _, rest = name.partition(":")
    store: Store
    if scheme == "registry":
        from sbomsign._internal.oci.registry_store import RegistryStore
        from sbomsign._internal.sources import registry

        host, repository, tag, digest = registry.parse(rest)
        store = RegistryStore(registry.Registry(host, repository, settings))
        reference = digest or tag
    elif scheme in ("oci-dir", "oci-archive"):
        ref = split_reference(rest)
        reference = ref.digest or ref.tag
        store = (LayoutStore(ref.location, create=create) if scheme == "oci-dir"
                 else ArchiveStore(ref.location, settings.workdir, create=create))
    else:
        raise InputError(f"{name}: not an image in a registry or an OCI layout (use "
                         f"registry:, oci-dir: or oci-archive:)")
    try:
        yield store, reference
    except BaseException:
        if isinstance(store, ArchiveStore):
            store.discard()
        raise
    store.close()


class LayoutStore:
    """An OCI image layout directory, read and written in place."""

    def __init__(self, root: str, *, create: bool = False, label: str = "") -> None:
        self.name = label or f"oci-dir:{root}"
        self.root = root
        if create and not os.path.exists(os.path.join(root, "oci-layout")):
            if os.path.isdir(root) and os.listdir(root):
                raise InputError(f"{self.name}: exists and is not an OCI image layout")
            os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
            _write_atomic(os.path.join(root, "oci-layout"), b'{"imageLayoutVersion":"1.0.0"}')
            self._save_index({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
        if not os.path.isfile(os.path.join(root, "oci-layout")):
            raise InputError(f"{self.name}: not an OCI image layout (no oci-layout file)")
        self.changed = False

    # reading ----------------------------------------------------------------------------

    def index(self) -> dict[str, Any]:
        """The layout's `index.json`."""
        try:
            with open(os.path.join(self.root, "index.json"), "rb") as f:
                body = f.read(MAX_DOCUMENT_BYTES + 1)
        except OSError as e:
            raise InputError(f"{self.name}: index.json: {e.strerror}") from None
        return json_object(body, f"{self.name}: index.json")

    def find(self, reference: str) -> Descriptor | None:
        entries = descriptors(self.index(), f"{self.name}: index.json")
        if _DIGEST.fullmatch(reference):
            listed = next((d for d in entries if d["digest"] == reference), None)
            if listed is not None:
                return dict(listed)
            if not self.has_blob(reference):
                return None
            body = self._read_blob(reference)
            return {"mediaType": media_type_of(body, f"{self.name}@{reference}"),
                    "digest": reference, "size": len(body)}
        if not reference:
            # The tags cosign and the referrers tag schema add name no image of their own.
            tagged = [d for d in entries if tag_of(d) and not _ATTACHED_TAG.fullmatch(tag_of(d))]
            if len(tagged) == 1:
                return dict(tagged[0])
            names = ", ".join(tag_of(d) for d in tagged[:10])
            raise InputError(f"{self.name}: name one image with :TAG or @DIGEST (it has: "
                             f"{names or 'none'})")
        found = [d for d in entries if is_tagged(d, reference)]
        return dict(found[-1]) if found else None

    def resolve(self, reference: str) -> Descriptor:
        found = self.find(reference)
        if found is None:
            raise InputError(f"{self.name}: no image {reference!r} in the layout")
        return found

    def _path(self, digest: str) -> str:
        if not _DIGEST.fullmatch(digest):
            raise InputError(f"{self.name}: malformed digest {digest!r}")
        return os.path.join(self.root, "blobs", "sha256", digest.split(":", 1)[1])

    def _read_blob(self, digest: str) -> bytes:
        stream = self.blob({"digest": digest})
        body = stream.read(MAX_DOCUMENT_BYTES + 1)
        if len(body) > MAX_DOCUMENT_BYTES:
            raise InputError(f"{self.name}@{digest}: larger than {MAX_DOCUMENT_BYTES} bytes")
        stream.drain()
        return bytes(body)

    def manifest(self, desc: Descriptor) -> bytes:
        body = self._read_blob(desc["digest"])
        if desc.get("size") is not None and len(body) != desc["size"]:
            raise InputError(f"{self.name}@{desc['digest']}: not the size its descriptor says")
        return body

    def blob(self, desc: Descriptor) -> Verifying:
        what = f"{self.name}@{desc['digest']}"
        try:
            f = open(self._path(desc["digest"]), "rb")  # noqa: SIM115 - closed by the reader
        except OSError as e:
            raise InputError(f"{what}: blob missing from the layout ({e.strerror})") from None
        return Verifying(f, desc["digest"], desc.get("size"), what)

    def has_blob(self, digest: str) -> bool:
        return os.path.isfile(self._path(digest))

    def referrers(self, digest: str) -> list[Descriptor]:
        found = {}
        for desc in descriptors(self.index(), f"{self.name}: index.json"):
            if tag_of(desc) == tag_schema(digest):
                body = self.manifest(desc)
                for entry in descriptors(json_object(body, self.name), self.name):
                    found[entry["digest"]] = entry
            elif desc["digest"] != digest and not tag_of(desc) and not is_index(desc):
                # A layout's index lists what refers to its images untagged (as oras does).
                doc = json_object(self.manifest(desc), f"{self.name}@{desc['digest']}")
                subject = doc.get("subject")
                if isinstance(subject, dict) and subject.get("digest") == digest:
                    found[desc["digest"]] = desc
        return list(found.values())

    # writing ----------------------------------------------------------------------------

    def put_blob(self, digest: str, size: int, stream: Readable) -> None:
        target = self._path(digest)
        if os.path.isfile(target):
            return
        checked = Verifying(stream, digest, size, f"{self.name}: blob {digest}")
        with _replacing(target) as out:
            shutil.copyfileobj(checked, out, 1 << 20)
        self.changed = True

    def put_manifest(self, body: bytes, media_type: str, tag: str = "") -> Descriptor:
        digest = sha256_digest(body)
        desc: Descriptor = {"mediaType": media_type, "digest": digest, "size": len(body)}
        self.put_blob(digest, len(body), io.BytesIO(body))
        if tag:
            index = self.index()
            kept = [d for d in index.get("manifests") or [] if tag_of(d) != tag]
            index["manifests"] = [*kept, {**desc, "annotations": {REF_NAME: tag}}]
            self._save_index(index)
        return desc

    def add_referrer(self, subject: str, desc: Descriptor) -> None:
        index = self.index()
        entries = index.get("manifests") or []
        if any(isinstance(d, dict) and d.get("digest") == desc["digest"] for d in entries):
            return
        index["manifests"] = [*entries, desc]
        self._save_index(index)

    def _save_index(self, index: dict[str, Any]) -> None:
        _write_atomic(os.path.join(self.root, "index.json"), compact_json(index))
        self.changed = True

    def close(self) -> None:
        """Nothing to finish: every write is in place already."""


class ArchiveStore(LayoutStore):
    """A tar of an OCI image layout: read in place; unpacked into the work directory on the
    first write, and written back (to a temporary name, then renamed) at the end."""

    def __init__(self, path: str, workdir: str, *, create: bool = False) -> None:
        self.path = path
        self._workdir = workdir
        self._dir = ""
        self._tar: tarfile.TarFile | None = None
        self._members: dict[str, tarfile.TarInfo] = {}
        self.root = ""  # blob names inside the tar are relative: blobs/sha256/<hex>
        self.name = label = f"oci-archive:{path}"
        self.changed = False
        if not os.path.exists(path):
            if not create:
                raise InputError(f"{label}: no such file")
            self._unpacked()
            return
        try:
            self._tar = tarfile.open(path, "r:")
            self._members = {os.path.normpath(m.name): m for m in self._tar.getmembers()
                             if m.isreg()}
        except (OSError, tarfile.TarError) as e:
            raise InputError(f"{label}: not a readable tar of an OCI layout ({e})") from None
        if "oci-layout" not in self._members:
            raise InputError(f"{label}: not an OCI image layout (no oci-layout file)")

    def _unpacked(self) -> None:
        """Switch from reading the tar in place to a writable unpacked copy."""
        if self._dir:
            return
        self._dir = tempfile.mkdtemp(prefix="oci-archive-", dir=self._workdir or None)
        if self._tar is not None:
            _unpack(self.path, self._dir, self.name)
            self._tar.close()
            self._tar = None
        LayoutStore.__init__(self, self._dir, create=True, label=self.name)
        self.changed = not os.path.exists(self.path)

    def _member(self, name: str) -> IO[bytes] | None:
        assert self._tar is not None  # noqa: S101 - only while reading in place
        found = self._members.get(os.path.normpath(name))
        return None if found is None else self._tar.extractfile(found)

    def index(self) -> dict[str, Any]:
        if self._dir:
            return super().index()
        member = self._member("index.json")
        if member is None:
            raise InputError(f"{self.name}: index.json is missing")
        return json_object(member.read(MAX_DOCUMENT_BYTES + 1), f"{self.name}: index.json")

    def blob(self, desc: Descriptor) -> Verifying:
        if self._dir:
            return super().blob(desc)
        member = self._member(self._path(desc["digest"]))
        if member is None:
            raise InputError(f"{self.name}@{desc['digest']}: blob missing from the archive")
        return Verifying(member, desc["digest"], desc.get("size"),
                         f"{self.name}@{desc['digest']}")

    def has_blob(self, digest: str) -> bool:
        if self._dir:
            return super().has_blob(digest)
        return os.path.normpath(self._path(digest)) in self._members

    def put_blob(self, digest: str, size: int, stream: Readable) -> None:
        self._unpacked()
        super().put_blob(digest, size, stream)

    def put_manifest(self, body: bytes, media_type: str, tag: str = "") -> Descriptor:
        self._unpacked()
        return super().put_manifest(body, media_type, tag)

    def add_referrer(self, subject: str, desc: Descriptor) -> None:
        self._unpacked()
        super().add_referrer(subject, desc)

    def close(self) -> None:
        """Write the archive when it changed, then drop the unpacked copy."""
        try:
            if self.changed:
                _pack(self._dir, self.path)
        finally:
            self.discard()

    def discard(self) -> None:
        """Drop the unpacked copy without writing anything."""
        if self._tar is not None:
            self._tar.close()
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)


def _unpack(path: str, into: str, label: str) -> None:
    try:
        with tarfile.open(path, "r:") as tar:
            members = [m for m in tar.getmembers() if m.isreg() or m.isdir()]
            tar.extractall(into, members=members, filter="data")
    except (OSError, tarfile.TarError) as e:
        raise InputError(f"{label}: not a readable tar of an OCI layout ({e})") from None


def _pack(directory: str, path: str) -> None:
    """A tar of `directory` with sorted names and no owners or times, written atomically."""
    with _replacing(path, ".tar") as out, tarfile.open(fileobj=out, mode="w:",
                                                       format=tarfile.PAX_FORMAT) as tar:
        for base, dirs, files in os.walk(directory):
            dirs.sort()
            for name in sorted(files):
                if name.startswith(_TMP_PREFIX):
                    continue
                full = os.path.join(base, name)
                info = tar.gettarinfo(full, os.path.relpath(full, directory))
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                info.mode = 0o644
                with open(full, "rb") as f:
                    tar.addfile(info, f)


def _write_atomic(path: str, data: bytes) -> None:
    with _replacing(path) as out:
        out.write(data)


@contextmanager
def _replacing(path: str, suffix: str = "") -> Iterator[IO[bytes]]:
    """A temporary file beside `path`, renamed over it (with the usual mode) when the block
    ends without an error and removed when it does not: a reader never sees half a file."""
    parent = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=_TMP_PREFIX, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        _usual_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _usual_mode(path: str) -> None:
    """The mode a file created normally gets (0666 less the umask): temporary files are 0600,
    and a layout or archive is read by other tools and users."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def is_index(desc: Descriptor) -> bool:
    """Whether a descriptor names an index."""
    return desc.get("mediaType") in INDEX_TYPES
