"""Sigstore bundles attached to images, as cosign's `specs/BUNDLE_SPEC.md` stores them.

One bundle is one artifact manifest: `artifactType` and the single layer's media type
`application/vnd.dev.sigstore.bundle.v0.3+json`, the OCI empty descriptor as config,
`subject` = the image's manifest or index descriptor, and the annotations
`dev.sigstore.bundle.content` (`dsse-envelope` or `message-signature`),
`dev.sigstore.bundle.predicateType` (for DSSE statements) and
`org.opencontainers.image.created`. The manifest is stored first and the referrers listing
(a layout's index, the tag schema's index) is updated last, so a push that fails halfway
leaves nothing half-written referenced.

Reading finds the bundles of an image through the store's referrers (API, tag schema or the
layout's index), checks that each manifest's subject is the image, and bounds every document.
cosign's older tag-based signatures (`sha256-<hex>.sig`, simple-signing payloads with the
signature, certificate and Rekor promise in layer annotations) are found too; see `legacy`.
"""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sbomsign._internal import jsonbound
from sbomsign._internal.limits import limit
from sbomsign._internal.oci import (
    BUNDLE_MEDIA_TYPE,
    CREATED,
    EMPTY_DIGEST,
    EMPTY_JSON,
    EMPTY_MEDIA_TYPE,
    compact_json,
    sha256_digest,
)
from sbomsign._internal.oci.store import Descriptor, Store
from sbomsign._internal.sources.images import OCI_MANIFEST
from sbomsign._internal.sources.streams import json_object
from sbomsign.errors import Error, InputError

CONTENT = "dev.sigstore.bundle.content"
PREDICATE_TYPE = "dev.sigstore.bundle.predicateType"
_BUNDLE_PREFIX = "application/vnd.dev.sigstore.bundle"


@dataclass
class Found:
    """What was attached to one image: bundles by name, and those that could not be read."""

    bundles: list[tuple[str, bytes]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    legacy: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    """cosign's tag-based signatures: (name, simple-signing payload, bundle)."""


def created_now() -> str:
    """RFC 3339 UTC, from `SOURCE_DATE_EPOCH` when it is set (reproducible manifests)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_bundle(bundle: bytes) -> tuple[str, str]:
    """(`dsse-envelope` or `message-signature`, the statement's predicate type or "").

    Raises:
        InputError: not a bundle.
    """
    try:
        doc = jsonbound.loads(bundle)
    except (ValueError, jsonbound.TooDeep) as e:
        raise InputError(f"not a Sigstore bundle ({e})") from None
    if not isinstance(doc, dict):
        raise InputError("not a Sigstore bundle")
    envelope = doc.get("dsseEnvelope")
    if not isinstance(envelope, dict):
        return "message-signature", ""
    try:
        statement = jsonbound.loads(base64.b64decode(str(envelope.get("payload", ""))))
    except (ValueError, jsonbound.TooDeep):
        return "dsse-envelope", ""
    kind = statement.get("predicateType") if isinstance(statement, dict) else None
    return "dsse-envelope", kind if isinstance(kind, str) else ""


def attach(store: Store, subject: Descriptor, bundle: bytes, *, created: str = "") -> Descriptor:
    """Store `bundle` as a referrer of `subject`; the descriptor of its manifest.

    Raises:
        InputError: `bundle` is not a bundle.
        NetworkError: the registry refused a write.
    """
    content, predicate_type = describe_bundle(bundle)
    annotations = {CREATED: created or created_now(), CONTENT: content}
    if predicate_type:
        annotations[PREDICATE_TYPE] = predicate_type
    store.put_blob(EMPTY_DIGEST, len(EMPTY_JSON), io.BytesIO(EMPTY_JSON))
    digest = sha256_digest(bundle)
    layer = {"mediaType": BUNDLE_MEDIA_TYPE, "digest": digest, "size": len(bundle)}
    store.put_blob(digest, len(bundle), io.BytesIO(bundle))
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUNDLE_MEDIA_TYPE,
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": EMPTY_DIGEST,
                   "size": len(EMPTY_JSON)},
        "layers": [layer],
        "subject": {k: subject[k] for k in ("mediaType", "digest", "size") if k in subject},
        "annotations": annotations,
    }
    desc = store.put_manifest(compact_json(manifest), OCI_MANIFEST)
    entry = {**desc, "artifactType": BUNDLE_MEDIA_TYPE, "annotations": annotations}
    store.add_referrer(subject["digest"], entry)
    return entry


def max_bundle_bytes() -> int:
    """Largest bundle read from a store (`SBOMSIGN_MAX_INPUT_BYTES`, as for bundle files)."""
    return limit("SBOMSIGN_MAX_INPUT_BYTES", 64 << 20)


def find(store: Store, subject: str) -> Found:
    """Every Sigstore bundle attached to the manifest `subject`, and cosign's legacy
    signatures; one that cannot be read is a failure, the others are still read."""
    found = Found()
    for desc in store.referrers(subject):
        artifact_type = desc.get("artifactType")
        if isinstance(artifact_type, str) and not artifact_type.startswith(_BUNDLE_PREFIX):
            continue
        name = f"{store.name}@{desc['digest']}"
        try:
            bundle = _bundle_of(store, desc, subject, name)
        except Error as e:
            found.failures.append((name, e.about(name)))
            continue
        if bundle is not None:
            found.bundles.append((name, bundle))
    from sbomsign._internal.oci import legacy

    legacy.find(store, subject, found)
    return found


def _bundle_of(store: Store, desc: Descriptor, subject: str, name: str) -> bytes | None:
    manifest = json_object(store.manifest(desc), name)
    config = manifest.get("config")
    artifact_type = manifest.get("artifactType") or (
        config.get("mediaType", "") if isinstance(config, dict) else "")
    layers = manifest.get("layers")
    if not isinstance(layers, list) or not layers:
        if str(artifact_type).startswith(_BUNDLE_PREFIX):
            raise InputError(f"{name}: a bundle manifest without a layer")
        return None
    layer = layers[0]
    if not isinstance(layer, dict) or not str(layer.get("mediaType", "")).startswith(
            _BUNDLE_PREFIX):
        return None
    check_subject(manifest, subject, name)
    size = layer.get("size")
    if not isinstance(size, int) or size < 0 or size > max_bundle_bytes():
        raise InputError(f"{name}: bundle of {size} bytes, over the {max_bundle_bytes()}-byte "
                         f"limit (raise it with SBOMSIGN_MAX_INPUT_BYTES)")
    stream = store.blob(layer)
    data = stream.read(size + 1)
    stream.drain()
    return bytes(data)


def check_subject(manifest: dict[str, Any], subject: str, what: str) -> None:
    """Refuse a referrer whose `subject` is not `subject`.

    Raises:
        InputError: the manifest names another subject, or none.
    """
    found = manifest.get("subject")
    digest = found.get("digest") if isinstance(found, dict) else None
    if digest != subject:
        raise InputError(f"{what}: is attached to {digest or 'nothing'}, not {subject}")
