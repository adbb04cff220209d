"""Images and artifacts in OCI stores: registries and image layouts, read and written.

Where `sources` only reads an image to find the files in it, this package treats images as
things to sign, attach to and move:

- `store`: one interface over a registry repository (`registry:`), an image layout directory
  (`oci-dir:`) and a tar of one (`oci-archive:`): resolve a tag, read and write manifests and
  blobs (every one checked against its digest), list an image's referrers.
- `referrers`: Sigstore bundles attached to an image as cosign's `specs/BUNDLE_SPEC.md`
  stores them (an artifact manifest per bundle, `subject` = the image), found through the
  referrers API, the referrers tag schema (`sha256-<hex>`) or a layout's index, and cosign's
  older `sha256-<hex>.sig` / `.att` tags.
- `transfer`: copying an image or index with everything that refers to it between stores, and
  pushing a file as an OCI artifact (the shape `oras push` writes).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# The image media types and the tag annotation are `sources.images`' (OCI_MANIFEST,
# OCI_INDEX, INDEX_TYPES, REF_NAME): one vocabulary for reading and for writing images.
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
#: The OCI empty descriptor: the config of artifacts that need none (`{}`).
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"
EMPTY_DIGEST = "sha256:" + hashlib.sha256(EMPTY_JSON).hexdigest()
CREATED = "org.opencontainers.image.created"
TITLE = "org.opencontainers.image.title"
#: The names of images in a store (a registry, a layout directory, a layout tar).
SCHEMES = ("registry:", "oci-dir:", "oci-archive:")


def sha256_digest(data: bytes) -> str:
    """`sha256:<hex>` of `data`."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def compact_json(doc: Any) -> bytes:
    """A manifest, index or bundle as this package writes it: compact JSON, keys in the
    order given (a manifest's digest is of exactly these bytes)."""
    return json.dumps(doc, separators=(",", ":")).encode()
