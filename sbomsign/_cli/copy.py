"""`sbomsign copy`: move an image with its signatures, attestations and SBOMs between
registries and OCI layouts (the air gap: registry → oci-archive → registry)."""

from __future__ import annotations

import argparse
import json
import sys

from sbomsign._cli._output import emit
from sbomsign._cli._shared import add_registry_options, registry_options
from sbomsign.errors import EXIT_OK

_EPILOG = """\
SRC and DST are registry:HOST/REPO[:TAG|@sha256:HEX], oci-dir:DIR[:TAG] or
oci-archive:FILE[:TAG]. The image or index is copied with everything attached to it
(referrers, recursively, and cosign's sha256-<hex>.sig/.att tags), every blob checked against its
digest. DST is tagged with its own tag, else SRC's (a layout: "latest" when there is
neither). Blobs DST already has are not sent again: a copy that failed halfway is resumed by
running it again. A missing oci-dir or oci-archive destination is created; an existing one
keeps its other images.
"""


def register(parser: argparse.ArgumentParser) -> None:
    """Add `copy`'s arguments."""
    parser.epilog = _EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("src", metavar="SRC", help="the image to copy")
    parser.add_argument("dst", metavar="DST", help="where to copy it")
    parser.add_argument("--format", choices=["text", "json"], default="text",
                        help="the report of what was copied")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    add_registry_options(parser)


def run(args: argparse.Namespace) -> int:
    """Copy SRC to DST and report what moved."""
    from sbomsign.scan import copy_image

    def progress(line: str) -> None:
        print(f"sbomsign copy: {line}", file=sys.stderr)

    report = copy_image(args.src, args.dst, progress=progress if sys.stderr.isatty() else None,
                        **registry_options(args))
    root = report.root
    if args.format == "json":
        data = json.dumps({
            "source": args.src, "destination": args.dst, "digest": root.get("digest"),
            "mediaType": root.get("mediaType"), "manifests": report.manifests,
            "blobs": report.blobs, "blobsPresent": report.blobs_present,
            "bytes": report.bytes, "referrers": report.referrers,
        }, indent=2).encode() + b"\n"
    else:
        data = (f"copied {args.src} to {args.dst}: {root.get('digest')}\n"
                f"  {report.manifests} manifests ({report.referrers} attached), "
                f"{report.blobs} blobs ({report.bytes:,} bytes) sent, "
                f"{report.blobs_present} already there\n").encode()
    emit(data, args.output)
    return EXIT_OK
