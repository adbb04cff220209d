"""Container images: `oci-dir:`, `oci-archive:`, `docker-archive:` and `registry:` names.

The schemes are syft's, so users' habits carry over:

- `oci-dir:DIR[:TAG|@sha256:HEX]`: an OCI image layout; the tag is the index's
  `org.opencontainers.image.ref.name` annotation. A layout of several images needs one.
- `oci-archive:FILE[:TAG|@sha256:HEX]`: a tar of such a layout (read in place).
- `docker-archive:FILE[:TAG]`: what `docker save` and `skopeo copy docker-archive:` write.
- `registry:HOST[:PORT]/REPO[:TAG|@sha256:HEX]`: the OCI distribution API (`registry.py`).

An image index gives one container per platform (`--platform os/arch[/variant]` picks one).
Every manifest, config and layer is checked against its digest as it streams; layers are
read once and applied in order (`tree.FileTree`); only binaries are written out, into the
private work directory. An image is named by its manifest digest; a docker-archive in the
old `docker save` form has no manifest digest, and is named by its image ID (the config
digest), which is also what `docker images` shows.
"""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from sbomsign._internal import jsonbound
from sbomsign._internal.sources import Expansion, Settings
from sbomsign._internal.sources.container import Draft
from sbomsign._internal.sources.streams import (
    Readable,
    Verifying,
    decompressed,
    first_line,
    json_object,
    read_document,
)
from sbomsign._internal.sources.tree import FileTree
from sbomsign.errors import InputError
from sbomsign.models import Container, Digests, Layer

SCHEMES = ("oci-dir:", "oci-archive:", "docker-archive:", "registry:")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
#: The annotation a layout's index tags an image with.
REF_NAME = "org.opencontainers.image.ref.name"
#: How deep indexes may nest (an index that names itself is refused, not followed).
_MAX_NESTING = 4


class Store(Protocol):
    """Where an image's blobs are read from."""

    def open(self, digest: str, size: int | None, what: str) -> Verifying:
        """The blob's bytes, checked against `digest` (and `size`) as they are read."""
        ...

    def open_manifest(self, digest: str, size: int | None, what: str) -> Verifying:
        """A manifest or index, checked the same way."""
        ...


@dataclass(frozen=True)
class Reference:
    """Which image of a store: a tag or a digest, or neither (the only one)."""

    location: str
    tag: str = ""
    digest: str = ""


def split_reference(rest: str, exists: bool | None = None) -> Reference:
    """`PATH[:TAG|@sha256:HEX]` into its parts; a `:` belongs to the path when the whole
    name exists on disk (`exists` is for registry names, which never exist locally)."""
    if "@" in rest:
        location, _, digest = rest.rpartition("@")
        return Reference(location, digest=digest)
    if exists is None:
        exists = os.path.exists(rest)
    if not exists and ":" in rest.rsplit("/", 1)[-1]:
        location, _, tag = rest.rpartition(":")
        return Reference(location, tag=tag)
    return Reference(rest)


class _Images:
    def claims(self, given: str) -> bool:
        return given.startswith(SCHEMES)

    def expand(self, given: str, settings: Settings, seen: set[str], into: Expansion) -> None:
        scheme, _, rest = given.partition(":")
        if scheme == "registry":
            from sbomsign._internal.sources import registry

            reader = registry.open_image(rest, settings)
            _read(given, reader.store, reader.root, reader.reference, settings, into,
                  repository=reader.repository)
            return
        ref = split_reference(rest)
        if scheme == "docker-archive":
            _docker_archive(given, ref, settings, into)
            return
        store: _LayoutDir | _LayoutTar = (
            _LayoutDir(ref.location) if scheme == "oci-dir" else _LayoutTar(ref.location))
        index = _json(store.open_layout("index.json"), f"{given}: index.json")
        root = _pick(given, index, ref)
        _read(given, store, root, ref, settings, into)


SOURCE = _Images()


def _json(stream: Readable, what: str) -> dict[str, Any]:
    data = read_document(stream, what)
    if isinstance(stream, Verifying):
        stream.drain()
    return json_object(data, what)


def _descriptor(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("digest"), str):
        raise InputError(f"{what}: a descriptor without a digest")
    size = value.get("size")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise InputError(f"{what}: a descriptor with a bad size")
    return value


def _pick(given: str, index: dict[str, Any], ref: Reference) -> dict[str, Any]:
    """The descriptor in a layout's `index.json` that the name points at."""
    manifests = index.get("manifests")
    if not isinstance(manifests, list) or not manifests:
        raise InputError(f"{given}: the layout's index.json lists no image")
    descs = [_descriptor(m, f"{given}: index.json") for m in manifests]
    if ref.digest:
        found = [d for d in descs if d["digest"] == ref.digest]
    elif ref.tag:
        found = [d for d in descs if is_tagged(d, ref.tag)]
    else:
        found = descs
    if len(found) == 1:
        return found[0]
    if ref.digest or ref.tag:
        wanted = ref.digest or ref.tag
        raise InputError(f"{given}: no image {wanted!r} in the layout (it has: "
                         f"{_choices(descs)})")
    raise InputError(f"{given}: the layout holds {len(found)} images; name one with "
                     f":TAG or @DIGEST (it has: {_choices(descs)})")


def tag_of(desc: dict[str, Any]) -> str:
    """The tag a layout's index gives a descriptor (its `REF_NAME` annotation), or ""."""
    annotations = desc.get("annotations")
    tag = annotations.get(REF_NAME, "") if isinstance(annotations, dict) else ""
    return tag if isinstance(tag, str) else ""


def is_tagged(desc: dict[str, Any], tag: str) -> bool:
    """Whether a layout's index entry is tagged `tag`, plainly or as `NAME:tag` (the full
    reference some tools write into the annotation)."""
    name = tag_of(desc)
    return name == tag or name.endswith(":" + tag)


def _choices(descs: list[dict[str, Any]]) -> str:
    return ", ".join(tag_of(d) or d["digest"] for d in descs[:10])


def _read(given: str, store: Store, root: dict[str, Any], ref: Reference, settings: Settings,
          into: Expansion, *, repository: str = "") -> None:
    """Every platform image under `root` (a manifest or an index) into `into`."""
    tag = ref.tag or tag_of(root)
    found = 0
    for desc, doc in _manifests(given, store, root, settings.platform, seen=set(), depth=0):
        found += 1
        draft = _image(given, store, desc, doc, settings, tag=tag, repository=repository)
        into.drafts.append(draft)
        into.candidates.extend(draft.candidates())
    if not found:
        wanted = f" for platform {settings.platform}" if settings.platform else ""
        raise InputError(f"{given}: no image{wanted}")


def _manifests(given: str, store: Store, desc: dict[str, Any], platform: str, *,
               seen: set[str], depth: int) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    digest = desc["digest"]
    if digest in seen or depth > _MAX_NESTING:
        raise InputError(f"{given}: the index at {digest} refers to itself or nests too deep")
    seen.add(digest)
    what = f"{given}: {digest}"
    doc = _json(store.open_manifest(digest, desc.get("size"), what), what)
    media = doc.get("mediaType") or desc.get("mediaType") or ""
    children = doc.get("manifests") or []
    if not isinstance(media, str) or not isinstance(children, list):
        raise InputError(f"{given}: {digest} is malformed (mediaType or manifests)")
    if media in INDEX_TYPES or (not media and "manifests" in doc):
        for child in children:
            child = _descriptor(child, f"{given}: {digest}")
            if is_attestation_manifest(child) or not _platform_matches(
                    child.get("platform"), platform):
                continue
            yield from _manifests(given, store, child, platform, seen=seen, depth=depth + 1)
        return
    if media not in MANIFEST_TYPES and "layers" not in doc:
        raise InputError(f"{given}: {digest} is neither an image manifest nor an index "
                         f"({media or 'no media type'})")
    yield desc, doc


def is_attestation_manifest(desc: dict[str, Any]) -> bool:
    """BuildKit's attestation manifests sit in indexes as platform `unknown/unknown`."""
    plat = desc.get("platform")
    return isinstance(plat, dict) and plat.get("os") == "unknown"


def _platform_matches(plat: Any, wanted: str) -> bool:
    if not wanted:
        return True
    if not isinstance(plat, dict):
        return False
    parts = wanted.split("/")
    have = [plat.get("os", ""), plat.get("architecture", ""), plat.get("variant", "")]
    return all(w == h for w, h in zip(parts, have, strict=False))


def _image(given: str, store: Store, desc: dict[str, Any], manifest: dict[str, Any],
           settings: Settings, *, tag: str, repository: str) -> Draft:
    digest = desc["digest"]
    config_desc = _descriptor(manifest.get("config"), f"{given}: {digest} config")
    config = _json(store.open(config_desc["digest"], config_desc.get("size"),
                              f"{given}: config {config_desc['digest']}"),
                   f"{given}: config")
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise InputError(f"{given}: {digest} has no layer list")
    layer_descs = [_descriptor(layer, f"{given}: {digest} layers") for layer in layers]
    identity = _identity(given, dict(desc, config_digest=config_desc["digest"]), config,
                         layer_descs, tag=tag, repository=repository)
    if not _platform_matches(_config_platform(config), settings.platform):
        raise InputError(f"{given}: the image is {identity.platform}, not {settings.platform}")
    tree = FileTree(_private_dir(settings), given, on_binary=settings.on_binary)
    files = _artifact_files(manifest, config_desc)
    for i, layer in enumerate(layer_descs):
        what = f"{given}: layer {layer['digest']}"
        blob = store.open(layer["digest"], layer.get("size"), what)
        title = files.get(layer["digest"])
        if title is not None:
            tree.add_file(title, blob, int(layer.get("size") or 0), i)
        else:
            tree.apply_tar(decompressed(blob, what), i, what)
        blob.drain()
        if settings.layer_progress is not None:
            settings.layer_progress(given, i + 1, len(layer_descs))
    return Draft(identity, tree, [d["digest"] for d in layer_descs])


_IMAGE_CONFIGS = frozenset({"application/vnd.oci.image.config.v1+json",
                            "application/vnd.docker.container.image.v1+json"})


def _artifact_files(manifest: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    """For an OCI artifact (not an image: `artifactType`, or a config that is no image
    config), its layers that are files named by their title annotation, as `oras push`
    stores them: layer digest -> the file's path. Empty for an image."""
    from sbomsign._internal.sources.tree import clean

    if manifest.get("artifactType") is None and config.get("mediaType") in _IMAGE_CONFIGS:
        return {}
    files = {}
    for layer in manifest.get("layers") or []:
        annotations = layer.get("annotations") if isinstance(layer, dict) else None
        title = annotations.get("org.opencontainers.image.title") if isinstance(
            annotations, dict) else None
        name = clean(title) if isinstance(title, str) else None
        if name:
            files[str(layer.get("digest"))] = name
    return files


def _private_dir(settings: Settings) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="image-", dir=settings.workdir)


def _config_platform(config: dict[str, Any]) -> dict[str, str]:
    return {k: str(config.get(k, "")) for k in ("os", "architecture", "variant")}


def _identity(given: str, desc: dict[str, Any], config: dict[str, Any],
              layers: list[dict[str, Any]], *, tag: str, repository: str) -> Container:
    from sbomsign._internal.purl import purl

    plat = _config_platform(config)
    platform = "/".join(x for x in (plat["os"], plat["architecture"], plat["variant"]) if x)
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    labels = inner.get("Labels") if isinstance(inner, dict) else None
    label_pairs = tuple(sorted((str(k), str(v)) for k, v in labels.items())) if isinstance(
        labels, dict) else ()
    digest = desc["digest"]
    algorithm, _, hexdigest = digest.partition(":")
    name = _image_name(given, repository, tag)
    short_tag = tag.rsplit(":", 1)[-1]
    qualifiers = {"arch": plat["architecture"], "repository_url": repository,
                  "tag": short_tag}
    return Container(
        kind="image",
        name=given,
        digests=Digests(sha256=hexdigest) if algorithm == "sha256" else Digests(sha256=""),
        version=short_tag,
        purl=purl("oci", "", name, digest, qualifiers),
        platform=platform,
        config_digest=str(desc.get("config_digest", "")),
        media_type=str(desc.get("mediaType", "")),
        created=str(config.get("created", "")),
        repository=repository,
        tag=short_tag,
        layers=tuple(Layer(d["digest"], int(d.get("size") or 0), str(d.get("mediaType", "")))
                     for d in layers),
        labels=label_pairs,
    )


def _image_name(given: str, repository: str, tag: str) -> str:
    """The purl name: the last segment of the repository, else of a full tag, else of the
    path, lowercased as the oci purl type asks."""
    if repository:
        base = repository.rsplit("/", 1)[-1]
    elif "/" in tag or (":" in tag and not tag.startswith("sha256")):
        base = tag.rsplit(":", 1)[0].rsplit("/", 1)[-1]
    else:
        location = given.partition(":")[2]
        location = split_reference(location).location
        base = posixpath.basename(location.rstrip("/")) or "image"
        base = base.split(".")[0] or "image"
    return base.lower()


# --- stores ------------------------------------------------------------------------------------


class _LayoutDir:
    """An OCI image layout directory."""

    def __init__(self, root: str) -> None:
        if not os.path.isdir(root):
            raise InputError(f"oci-dir:{root}: no such directory")
        if not os.path.isfile(os.path.join(root, "oci-layout")):
            raise InputError(f"oci-dir:{root}: not an OCI image layout (no oci-layout file)")
        self._root = root

    def open_layout(self, name: str) -> Readable:
        try:
            return open(os.path.join(self._root, name), "rb")
        except OSError as e:
            raise InputError(f"oci-dir:{self._root}: {name}: {e.strerror}") from None

    def open(self, digest: str, size: int | None, what: str) -> Verifying:
        algorithm, _, hexdigest = digest.partition(":")
        if not algorithm.isalnum() or not hexdigest.isalnum():
            raise InputError(f"{what}: malformed digest {digest!r}")
        try:
            f = open(os.path.join(self._root, "blobs", algorithm, hexdigest), "rb")
        except OSError as e:
            raise InputError(f"{what}: blob missing from the layout ({e.strerror})") from None
        return Verifying(f, digest, size, what)

    open_manifest = open


class _TarMembers:
    """The regular members of an uncompressed tar (a layout or a `docker save`), read in
    place: members are opened where they lie, never extracted."""

    def __init__(self, label: str, path: str) -> None:
        try:
            self.tar = tarfile.open(path, "r:")
        except (OSError, tarfile.TarError) as e:
            raise InputError(f"{label}: not a readable tar file ({e})") from None
        self.label = label
        self.members = {posixpath.normpath(m.name): m for m in self.tar.getmembers()
                        if m.isreg()}

    def get(self, name: str) -> Readable | None:
        """The member `name`, or None."""
        found = self.members.get(posixpath.normpath(name))
        return None if found is None else self.tar.extractfile(found)

    def member(self, name: str, what: str = "") -> Readable:
        """The member `name` (`what` it is, for the message when it is missing)."""
        found = self.get(name)
        if found is None:
            missing = " ".join(x for x in (what, name) if x)
            raise InputError(f"{self.label}: {missing} is missing")
        return found


class _LayoutTar:
    """A tar of an OCI image layout, read in place (`files`: its members, already listed)."""

    def __init__(self, path: str, files: _TarMembers | None = None) -> None:
        self._files = files or _TarMembers(f"oci-archive:{path}", path)
        if "oci-layout" not in self._files.members:
            raise InputError(f"oci-archive:{path}: not an OCI image layout (no oci-layout)")

    def open_layout(self, name: str) -> Readable:
        return self._files.member(name)

    def open(self, digest: str, size: int | None, what: str) -> Verifying:
        algorithm, _, hexdigest = digest.partition(":")
        blob = self._files.get(f"blobs/{algorithm}/{hexdigest}")
        if blob is None:
            raise InputError(f"{what}: blob missing from the archive")
        return Verifying(blob, digest, size, what)

    open_manifest = open


# --- docker save -------------------------------------------------------------------------------


class _DockerArchive(_TarMembers):
    """The members of a `docker save` tar, read in place."""

    def entry(self, tag: str) -> dict[str, Any]:
        """The `manifest.json` entry of the image named by `tag` (or the only one)."""
        raw = read_document(self.member("manifest.json", "file"), self.label)
        try:
            listing = jsonbound.loads(raw)
        except (ValueError, jsonbound.TooDeep) as e:
            raise InputError(f"{self.label}: manifest.json is not valid JSON ({e})") from None
        entries = [e for e in listing if isinstance(e, dict)] if isinstance(listing, list) else []
        if tag:
            entries = [e for e in entries if any(
                t == tag or t.endswith(":" + tag) for t in e.get("RepoTags") or [])]
        if len(entries) != 1:
            raise InputError(f"{self.label}: {len(entries)} images match; name one with :TAG")
        return entries[0]


def _docker_archive(given: str, ref: Reference, settings: Settings, into: Expansion) -> None:
    archive = _DockerArchive(given, ref.location)
    entry = archive.entry(ref.tag)
    config_name = str(entry.get("Config", ""))
    config_hex = posixpath.basename(config_name).removesuffix(".json")
    config = _json(Verifying(archive.member(config_name, "config"), f"sha256:{config_hex}",
                             None, f"{given}: config"), f"{given}: config")
    rootfs = config.get("rootfs")
    diff_ids = [str(d) for d in (rootfs.get("diff_ids") or [] if isinstance(rootfs, dict)
                                 else [])]
    layers = [str(x) for x in entry.get("Layers") or []]
    if len(diff_ids) != len(layers):
        raise InputError(f"{given}: the config lists {len(diff_ids)} layers, the archive "
                         f"{len(layers)}")
    tags = [str(t) for t in entry.get("RepoTags") or []]
    tag = ref.tag or (tags[0] if tags else "")
    repository = tag.rsplit(":", 1)[0] if tag else ""
    notes: list[str] = []
    in_layout = _in_layout(given, archive, f"sha256:{config_hex}", config, notes)
    if in_layout is not None:
        store, desc, manifest = in_layout
        draft = _image(given, store, desc, manifest, settings, tag=tag, repository=repository)
        into.drafts.append(draft)
        into.candidates.extend(draft.candidates())
        return
    desc = {"digest": f"sha256:{config_hex}", "config_digest": f"sha256:{config_hex}",
            "mediaType": "application/vnd.docker.container.image.v1+json"}
    layer_descs = [{"digest": d, "mediaType": "application/vnd.docker.image.rootfs.diff.tar"}
                   for d in diff_ids]
    identity = _identity(given, desc, config, layer_descs, tag=tag, repository=repository)
    if not _platform_matches(_config_platform(config), settings.platform):
        raise InputError(f"{given}: the image is {identity.platform}, not {settings.platform}")
    tree = FileTree(_private_dir(settings), given, on_binary=settings.on_binary)
    tree.warnings.extend(notes)
    for i, (name, diff_id) in enumerate(zip(layers, diff_ids, strict=True)):
        what = f"{given}: layer {diff_id}"
        # NOTE: docker save stores layers uncompressed or compressed; the diff ID is the
        # digest of the uncompressed tar, so it is checked after decompression.
        checked = Verifying(decompressed(archive.member(name, "layer"), what), diff_id, None,
                            what)
        tree.apply_tar(io.BufferedReader(checked, 1 << 20), i, what)
        checked.drain()
    draft = Draft(identity, tree, diff_ids)
    into.drafts.append(draft)
    into.candidates.extend(draft.candidates())


def _in_layout(given: str, archive: _DockerArchive, config_digest: str, config: dict[str, Any],
               notes: list[str]) -> tuple[_LayoutTar, dict[str, Any], dict[str, Any]] | None:
    """The image manifest whose config is `config_digest`, where the archive is also an OCI
    layout (`docker save` since Docker 25), or None.

    Such an archive holds the image's manifest: its digest is the image's name (with the
    containerd image store, the registry's digest), which the old form lacks. A manifest that
    cannot be read (damaged, or its digest wrong) is noted in `notes`, and the image is then
    read as the old form, by `manifest.json` and the layers' diff IDs.
    """
    if "oci-layout" not in archive.members or "index.json" not in archive.members:
        return None
    store = _LayoutTar(archive.label, archive)
    plat = _config_platform(config)
    platform = "/".join(x for x in (plat["os"], plat["architecture"], plat["variant"]) if x)
    reasons: list[str] = []
    roots: Any = None
    try:
        roots = _json(store.open_layout("index.json"), f"{given}: index.json").get("manifests")
    except InputError as e:
        reasons.append(first_line(e))
    for root in roots if isinstance(roots, list) else []:
        try:
            # NOTE: an index may list platforms whose blobs were not saved; only the
            # archive's own platform is opened.
            for desc, manifest in _manifests(given, store, _descriptor(
                    root, f"{given}: index.json"), platform, seen=set(), depth=0):
                held = manifest.get("config")
                if isinstance(held, dict) and held.get("digest") == config_digest:
                    return store, desc, manifest
        except InputError as e:
            reasons.append(first_line(e))
    if reasons:
        notes.append(f"{given}: its OCI layout is not used ({'; '.join(reasons)}); the image "
                     "is named by its image ID")
    return None
