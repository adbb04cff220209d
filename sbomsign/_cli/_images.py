"""Signing and attesting images where they are stored, shared by `sign` and `attest`.

An image name (`registry:`, `oci-dir:`, `oci-archive:`) is pinned to its digest once; the
digest is what is signed, and the bundle is attached to the image as cosign attaches it (an
OCI referrer, cosign's `specs/BUNDLE_SPEC.md`) unless `--no-upload`, and written to
`--bundle FILE` when given.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sbomsign._cli._output import atomic_write
from sbomsign._cli._shared import add_registry_options, registry_options
from sbomsign.errors import InputError

if TYPE_CHECKING:
    from sbomsign.models import StoredImage

logger = logging.getLogger("sbomsign")


def add_image_options(parser: argparse.ArgumentParser) -> None:
    """`--no-upload`, `--recursive` and the registry options."""
    group = add_registry_options(parser)
    group.add_argument("--no-upload", action="store_true",
                       help="images: do not attach the bundle to the image (write it with "
                            "--bundle instead)")
    group.add_argument("--recursive", action="store_true",
                       help="images: an index and each of its platform manifests")


def is_image(name: str) -> bool:
    """Whether `name` is an image in a registry or an OCI layout."""
    from sbomsign.scan import is_stored_image

    return is_stored_image(name)


def pinned(args: argparse.Namespace, names: list[str]) -> list[StoredImage]:
    """The images to sign: each name pinned to its digest (and, with `--recursive`, an
    index's platform manifests after it)."""
    from sbomsign import scan

    if args.no_upload and not args.bundle:
        raise InputError("--no-upload keeps the bundle local: name it with --bundle FILE")
    found: list[StoredImage] = []
    for name in names:
        image = scan.resolve_image(name, **registry_options(args))
        logger.info("%s is %s", name, image.digest)
        found.append(image)
        if args.recursive:
            found.extend(scan.image_platforms(image, **registry_options(args)))
    if args.bundle and len(found) != 1:
        raise InputError("--bundle names one bundle: give one image (without --recursive)")
    return found


def sign_statements(args: argparse.Namespace, statements: list[bytes],
                    command: str) -> list[bytes]:
    """Each statement signed into a DSSE bundle, with `--key` or keylessly (one certificate
    for all of them); the first failure is raised once every signing has ended."""
    from sbomsign import sign
    from sbomsign._cli._shared import keyless_signer, managed_key

    if args.key is None:
        signer = keyless_signer(args, command)
        with signer:
            results = signer.attest_many(statements)
    else:
        with managed_key(args.key) as key:
            results = [sign.attest(s, key) for s in statements]
    for result in results:
        if isinstance(result, Exception):
            raise result
    return [r for r in results if isinstance(r, bytes)]


def publish(args: argparse.Namespace, image: StoredImage, bundle: bytes, what: str) -> None:
    """Write the bundle to `--bundle` and attach it to the image (unless `--no-upload`)."""
    from sbomsign import scan

    if args.bundle:
        atomic_write(Path(args.bundle), bundle, overwrite=args.overwrite)
        logger.info("wrote %s", args.bundle)
    if not args.no_upload:
        name = scan.attach_bundle(image, bundle, **registry_options(args))
        print(f"sbomsign: {what} {image.pinned}: attached as {name}", file=sys.stderr)
