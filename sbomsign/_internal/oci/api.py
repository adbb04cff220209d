"""The operations the public stages offer on stored images, each opening its store once."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sbomsign._internal.oci import referrers, store, transfer
from sbomsign._internal.sources import Settings
from sbomsign._internal.sources.images import INDEX_TYPES, is_attestation_manifest, tag_of
from sbomsign._internal.sources.streams import json_object
from sbomsign.errors import InputError
from sbomsign.models import StoredImage


@contextmanager
def _store(name: str, settings: Settings, *, create: bool = False) -> Iterator[
        tuple[store.Store, str]]:
    with tempfile.TemporaryDirectory(prefix="sbomsign-") as workdir:
        settings = Settings(workdir, settings.platform, settings.registry_ca,
                            settings.insecure_registries)
        with store.opened(name, settings, create=create) as opened:
            yield opened


def _image(st: store.Store, desc: store.Descriptor, tag: str) -> StoredImage:
    return StoredImage(st.name, desc["digest"], str(desc.get("mediaType", "")),
                       int(desc.get("size") or 0), tag)


def resolve(name: str, settings: Settings) -> StoredImage:
    """The image `name` pins to (a tag is read once, here)."""
    with _store(name, settings) as (st, reference):
        desc = st.resolve(reference)
        tag = "" if reference.startswith("sha256:") else reference or tag_of(desc)
        return _image(st, desc, tag)


def platforms(image: StoredImage, settings: Settings) -> list[StoredImage]:
    """The manifests an index lists (none for a manifest)."""
    if image.media_type not in INDEX_TYPES:
        return []
    with _store(image.pinned, settings) as (st, _):
        body = st.manifest({"digest": image.digest, "size": image.size})
        index = json_object(body, image.pinned)
        return [_image(st, d, "") for d in store.descriptors(index, image.pinned)
                if not is_attestation_manifest(d)]


def attached(image: StoredImage, settings: Settings) -> referrers.Found:
    """The bundles attached to `image`, and cosign's legacy signatures of it."""
    with _store(image.pinned, settings) as (st, _):
        return referrers.find(st, image.digest)


def attach(image: StoredImage, bundle: bytes, settings: Settings) -> str:
    """Store `bundle` as a referrer of `image`; the referrer manifest's pinned name."""
    with _store(image.pinned, settings) as (st, _):
        subject = {"mediaType": image.media_type, "digest": image.digest, "size": image.size}
        desc = referrers.attach(st, subject, bundle)
        return f"{st.name}@{desc['digest']}"


def copy(src: str, dst: str, settings: Settings,
         progress: Callable[[str], None] | None = None) -> transfer.CopyReport:
    """Copy the image `src` names, with its referrers, to `dst` (tagged with `dst`'s tag,
    else `src`'s)."""
    if not store.is_store_name(dst):
        raise InputError(f"{dst}: the destination must be registry:, oci-dir: or oci-archive:")
    with _store(src, settings) as (source, reference), \
            _store(dst, settings, create=True) as (target, dst_reference):
        if dst_reference.startswith("sha256:"):
            raise InputError(f"{dst}: name the destination by tag, not by digest")
        tag = dst_reference or ("" if reference.startswith("sha256:") else reference)
        if not tag and not dst.startswith("registry:"):
            tag = "latest"
        return transfer.copy(source, reference, target, tag, progress=progress)


def push(path: str, dst: str, settings: Settings, *, media_type: str = "",
         artifact_type: str = "") -> StoredImage:
    """Store the file `path` as an OCI artifact at `dst` (which names a tag)."""
    with _store(dst, settings, create=True) as (st, reference):
        if not reference or reference.startswith("sha256:"):
            raise InputError(f"{dst}: name the destination with a tag (REPO:TAG)")
        desc = transfer.push(st, path, reference, media_type=media_type,
                             artifact_type=artifact_type,
                             created=referrers.created_now())
        return _image(st, desc, reference)
