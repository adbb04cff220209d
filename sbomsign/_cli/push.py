"""`sbomsign push`: store a file in a registry or an OCI layout as an OCI artifact, so it can
be signed, attested and verified there like an image."""

from __future__ import annotations

import argparse

from sbomsign._cli._output import emit
from sbomsign._cli._shared import add_registry_options, registry_options
from sbomsign.errors import EXIT_OK

_EPILOG = """\
The artifact has the shape `oras push` writes: the OCI empty config, the file as its one
layer (with --media-type, and its file name as org.opencontainers.image.title), and
--artifact-type. The pinned name (DST@sha256:...) is printed on stdout, for `sbomsign sign`
and `sbomsign verify`.
"""


def register(parser: argparse.ArgumentParser) -> None:
    """Add `push`'s arguments."""
    parser.epilog = _EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("file", metavar="FILE", help="the file to store")
    parser.add_argument("dst", metavar="DST",
                        help="registry:HOST/REPO:TAG, oci-dir:DIR:TAG or oci-archive:FILE:TAG")
    parser.add_argument("--media-type", default="application/vnd.oci.image.layer.v1.tar",
                        help="the layer's media type")
    parser.add_argument("--artifact-type", default="application/vnd.unknown.artifact.v1",
                        help="the manifest's artifactType")
    add_registry_options(parser)


def run(args: argparse.Namespace) -> int:
    """Push FILE and print its pinned name."""
    from sbomsign.scan import push_file

    image = push_file(args.file, args.dst, media_type=args.media_type,
                      artifact_type=args.artifact_type, **registry_options(args))
    emit(f"{image.pinned}\n".encode(), None)
    return EXIT_OK
