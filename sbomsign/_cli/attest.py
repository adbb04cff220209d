"""`sbomsign attest`: sign an in-toto attestation about an artifact into a Sigstore bundle.

The statement's subjects are the artifact and any `--subject` files (file name + sha256); its
predicate is the `--predicate` file, or made on the spot: an SBOM of the subjects for
`cyclonedx`/`spdx`/`spdx3`, the GitHub Actions build provenance for `slsa-provenance`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sbomsign import sign as _sign
from sbomsign._cli import _images, env_default
from sbomsign._cli._output import atomic_write, read_bounded
from sbomsign._cli._shared import (
    BUNDLE_SUFFIX,
    KEYLESS_HELP,
    add_keyless_options,
    keyless_signer,
    managed_key,
    registry_options,
)
from sbomsign.errors import EXIT_OK, InputError

if TYPE_CHECKING:
    from sbomsign.models import Container, Inventory, StoredImage

logger = logging.getLogger("sbomsign")


#: `--type` name -> predicate type URI.
KNOWN_TYPES: dict[str, str] = {
    "cyclonedx": _sign.PREDICATE_CYCLONEDX,
    "spdx": _sign.PREDICATE_SPDX,
    "spdx3": _sign.PREDICATE_SPDX3,
    "slsa-provenance": _sign.PREDICATE_SLSA_PROVENANCE,
}

_SBOM_FORMATS = {"cyclonedx": "cyclonedx-json", "spdx": "spdx-json", "spdx3": "spdx3-json"}

_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+")
_VERSION = re.compile(r"v?\d+(\.\d+)*")

_EPILOG = """\
TYPE is cyclonedx (predicate type https://cyclonedx.org/bom), spdx
(https://spdx.dev/Document/v2.3), spdx3 (https://spdx.dev/Document/v3.0, SPDX 3.0.1 JSON-LD),
slsa-provenance (https://slsa.dev/provenance/v1), or any predicate type URI (then --predicate
is required).

Without --predicate: cyclonedx, spdx and spdx3 scan the subjects and attest their SBOM (one
merged document for several subjects; honours SOURCE_DATE_EPOCH, --supplier, --author);
slsa-provenance describes the running GitHub Actions job the way
actions/attest-build-provenance does (outside GitHub Actions, pass --predicate).

The bundle is <PATH>.<type>.sigstore.json (for a URI, a short name taken from it) unless
--bundle names it; an existing bundle is kept unless --overwrite.

KEY: as for `sbomsign sign` (key file or pkcs11: URI; password from SBOMSIGN_KEY_PASSWORD or
COSIGN_PASSWORD). Key-signed bundles carry no transparency-log entry.

""" + KEYLESS_HELP


def register(parser: argparse.ArgumentParser) -> None:
    """Add `attest`'s arguments."""
    parser.epilog = _EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("path", metavar="PATH",
                        help="the artifact the attestation is about: a file, or an image "
                             "(registry:HOST/REPO:TAG, oci-dir:DIR[:TAG], oci-archive:FILE[:TAG])")
    parser.add_argument(
        "--type",
        required=True,
        metavar="TYPE",
        help="cyclonedx, spdx, spdx3, slsa-provenance, or a predicate type URI",
    )
    parser.add_argument("--predicate", metavar="FILE", help="the predicate (a JSON document)")
    parser.add_argument(
        "--subject",
        action="append",
        default=[],
        metavar="PATH",
        help="another file the attestation is about (repeatable; e.g. the other architectures)",
    )
    parser.add_argument(
        "--key",
        default=env_default("key"),
        help="managed key: key file or pkcs11: URI; without it, keyless Sigstore",
    )
    parser.add_argument(
        "--bundle", metavar="FILE", help="bundle to write (default: <PATH>.<type>.sigstore.json)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing bundle")
    add_keyless_options(parser)
    _images.add_image_options(parser)
    parser.add_argument(
        "--supplier",
        default=env_default("supplier"),
        metavar="NAME",
        help="generated SBOM: supplier of the artifacts (env SBOMSIGN_SUPPLIER)",
    )
    parser.add_argument(
        "--author",
        default=env_default("author"),
        metavar="NAME",
        help="generated SBOM: author of the SBOM data (env SBOMSIGN_AUTHOR)",
    )


def slug(predicate_type: str) -> str:
    """A short file-name part for a predicate type URI.

    Known types give their name (`cyclonedx`, `spdx`, `slsa-provenance`, `vsa`); others the
    last path segment that is not a version (`https://in-toto.io/attestation/vulns/v0.2` ->
    `vulns`), else the host.
    """
    kind = _sign.predicate_kind(predicate_type)
    if kind is not None:
        return kind
    rest = predicate_type.split(":", 1)[-1].lstrip("/")
    rest = re.split(r"[?#]", rest, maxsplit=1)[0]
    host, _, path = rest.partition("/")
    segments = [s for s in path.split("/") if s and not _VERSION.fullmatch(s)]
    text = segments[-1] if segments else host
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")
    return name or "attestation"


def _resolve_type(value: str) -> tuple[str | None, str, str]:
    """(known type name or None, predicate type URI, file-name slug) for `--type`."""
    name = value.strip()
    if name.lower() in KNOWN_TYPES:
        name = name.lower()
        return name, KNOWN_TYPES[name], name
    if not _URI.fullmatch(name):
        raise InputError(
            f"--type {value!r}: use cyclonedx, spdx, spdx3, slsa-provenance or a predicate type "
            f"URI"
        )
    # NOTE: a URI that is exactly one of ours means that type, predicate generation included.
    for known, uri in KNOWN_TYPES.items():
        if name == uri:
            return known, uri, known
    return None, name, slug(name)


def _regular_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _read_predicate(path: Path, known: str | None) -> dict[str, Any]:
    """The `--predicate` file as a JSON object; SBOM types must be that kind of SBOM."""
    try:
        data = read_bounded(path)
    except FileNotFoundError as e:
        raise InputError(f"{path}: no such file") from e
    except IsADirectoryError as e:
        raise InputError(f"{path}: is a directory, not a predicate file") from e
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from e
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{path}: the predicate is not JSON") from e
    except RecursionError as e:
        raise InputError(f"{path}: the predicate nests too deeply to be read") from e
    if not isinstance(doc, dict):
        raise InputError(f"{path}: the predicate must be a JSON object")
    if known in _SBOM_FORMATS:
        from sbomsign.sbom import SbomFormat, detect

        try:
            fmt = detect(data, str(path))
        except InputError as e:
            raise InputError(f"{e.diagnostics()}; --type {known} needs a {known} SBOM") from e
        if fmt is not SbomFormat(_SBOM_FORMATS[known]):
            raise InputError(f"{path}: is {fmt.value}, not a {known} SBOM (check --type)")
    return doc


def _sha256(path: Path) -> str:
    try:
        with path.open("rb") as stream:
            return _sign.file_sha256(stream)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from e


def _generated_sbom(
    paths: list[Path], digests: dict[Path, str], known: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Scan the subjects and write their SBOM, as the predicate."""
    from sbomsign import sbom
    from sbomsign.scan import scan_paths

    # `scan_paths` starts no more workers than there are files named.
    inventory = scan_paths([str(p) for p in paths])
    if inventory.problems:
        problem = inventory.problems[0]
        raise InputError(
            f"{problem.path}: cannot make an SBOM of it: {problem.message}"
            " (pass the predicate with --predicate FILE)"
        )
    packed = {os.path.abspath(c.name): c for c in inventory.containers}
    if any(os.path.abspath(p) in packed for p in paths):
        return _container_sbom(paths, digests, known, args, inventory, packed)
    by_path = {os.path.abspath(a.path): a for a in inventory.artifacts}
    artifacts = []
    for path in paths:
        artifact = by_path.get(os.path.abspath(path))
        if artifact is None:
            raise InputError(f"{path}: cannot make an SBOM of it: not scanned")
        # NOTE: the SBOM describes the bytes the scan read; the subject names the bytes that
        # were hashed. They must be the same file content, or the attestation would lie.
        if artifact.digests.sha256 != digests[path]:
            raise InputError(f"{path}: changed while being attested; try again")
        artifacts.append(artifact)
    document = sbom.write(
        artifacts, _SBOM_FORMATS[known], supplier=args.supplier, author=args.author
    )
    predicate: dict[str, Any] = json.loads(document)
    return predicate


def _container_sbom(paths: list[Path], digests: dict[Path, str], known: str,
                    args: argparse.Namespace, inventory: Inventory,
                    packed: dict[str, Container]) -> dict[str, Any]:
    """The SBOM of a release archive or package (`.tar.gz`, `.zip`, `.deb`, `.rpm`): the
    archive is the root, its packages and binaries below it, as `sbomsign sbom` writes it."""
    from sbomsign import sbom

    if len(paths) != 1:
        raise InputError(f"{paths[0]}: an archive or package has an SBOM of its own; attest "
                         "it alone (or pass the predicate with --predicate FILE)")
    (path,) = paths
    container = packed[os.path.abspath(path)]
    if container.digests.sha256 != digests[path]:
        raise InputError(f"{path}: changed while being attested; try again")
    document = sbom.write(inventory, _SBOM_FORMATS[known], container=container,
                          supplier=args.supplier, author=args.author)
    predicate: dict[str, Any] = json.loads(document)
    return predicate


def _subjects(args: argparse.Namespace) -> list[Path]:
    paths: list[Path] = []
    seen: set[str] = set()
    for raw in [args.path, *args.subject]:
        path = Path(raw)
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            paths.append(path)
    return paths


def _output(args: argparse.Namespace, type_slug: str) -> Path:
    artifact = Path(args.path)
    out = Path(args.bundle) if args.bundle else Path(f"{artifact}.{type_slug}{BUNDLE_SUFFIX}")
    # NOTE: the output is checked first: a refusal after a scan or a sign-in wastes both.
    if not args.overwrite and out.exists():
        raise InputError(f"{out}: already exists (use --overwrite to replace it)")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise InputError(f"{out}: the directory {out.parent} does not exist")
    return out


def _checked_subjects(
    args: argparse.Namespace, out: Path, predicate_path: Path | None
) -> list[Path]:
    """The subjects: regular files, named apart, none of them the output or the predicate."""
    paths = _subjects(args)
    for path in paths:
        _regular_file(path)
        if _same_file(path, out):
            raise InputError(f"{out}: is {path} itself; choose another --bundle")
    if predicate_path is not None and _same_file(predicate_path, out):
        raise InputError(f"{out}: is the --predicate file itself; choose another --bundle")
    names: dict[str, Path] = {}
    for path in paths:
        if path.name in names:
            raise InputError(
                f"{names[path.name]} and {path} have the same file name; subjects must be"
                " named apart"
            )
        names[path.name] = path
    return paths


def _predicate(
    args: argparse.Namespace, predicate_path: Path | None, known: str | None,
    paths: list[Path], digests: dict[Path, str],
) -> Any:
    if predicate_path is not None:
        return _read_predicate(predicate_path, known)
    if known == "slsa-provenance":
        return _sign.github_actions_provenance()
    assert known is not None  # noqa: S101 - URIs without --predicate were refused before
    return _generated_sbom(paths, digests, known, args)


def _sign_statement(args: argparse.Namespace, statement: bytes) -> bytes:
    if args.key is None:
        signer = keyless_signer(args, "attest")
        with signer:
            return signer.attest(statement)
    with managed_key(args.key) as key:
        return _sign.attest(statement, key)


def _image_sbom(args: argparse.Namespace, image: StoredImage, known: str) -> Any:
    """The SBOM of one image manifest, read from where it is stored, as the predicate."""
    from sbomsign import sbom
    from sbomsign.scan import scan_paths

    inventory = scan_paths([image.pinned], **registry_options(args))
    if inventory.problems or len(inventory.containers) != 1:
        why = inventory.problems[0].message if inventory.problems else "not one image"
        raise InputError(f"{image.pinned}: cannot make an SBOM of it: {why}")
    document = sbom.write(inventory, _SBOM_FORMATS[known], supplier=args.supplier,
                          author=args.author)
    return json.loads(document)


def _attest_images(args: argparse.Namespace, known: str | None, predicate_type: str,
                   predicate_path: Path | None) -> int:
    """Attest an image (with `--recursive`, each platform manifest of an index): the subject
    is its manifest digest; a generated SBOM is the SBOM of that manifest."""
    if args.subject:
        raise InputError("--subject is for files; attest each image by its own name")
    images = _images.pinned(args, [args.path])
    if predicate_path is None and known in _SBOM_FORMATS:
        indexes = [i for i in images if i.media_type.endswith(("index.v1+json", "list.v2+json"))]
        if indexes and not args.recursive:
            raise InputError(f"{args.path}: an index of several platforms: attest each "
                             f"platform's SBOM with --recursive, or give --predicate FILE")
        images = [i for i in images if i not in indexes]
    statements = []
    for image in images:
        predicate = (_read_predicate(predicate_path, known) if predicate_path is not None
                     else _image_sbom(args, image, known) if known in _SBOM_FORMATS
                     else _sign.github_actions_provenance())
        subject = image.store.split(":", 1)[1]
        statements.append(_sign.statement([(subject, {"sha256": image.sha256})],
                                          predicate_type, predicate))
    bundles = _images.sign_statements(args, statements, "attest")
    for image, bundle in zip(images, bundles, strict=True):
        _images.publish(args, image, bundle, f"attested {known or predicate_type} about")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Build the statement, sign it with the key or keylessly, write the bundle."""
    known, predicate_type, type_slug = _resolve_type(args.type)
    predicate_path = Path(args.predicate) if args.predicate else None
    if predicate_path is None and known is None:
        raise InputError(f"--type {predicate_type}: give the predicate with --predicate FILE")
    if _images.is_image(args.path):
        return _attest_images(args, known, predicate_type, predicate_path)
    if args.no_upload or args.recursive:
        raise InputError("--no-upload and --recursive are for images")
    out = _output(args, type_slug)
    paths = _checked_subjects(args, out, predicate_path)
    if args.key is not None and (
        args.identity_token or args.staging or args.trust_config or args.oauth
    ):
        logger.warning(
            "--identity-token, --oauth, --trust-config and --staging are ignored with --key"
        )
    digests = {path: _sha256(path) for path in paths}
    predicate = _predicate(args, predicate_path, known, paths, digests)
    statement = _sign.statement(
        [(path.name, {"sha256": digests[path]}) for path in paths], predicate_type, predicate
    )
    bundle = _sign_statement(args, statement)
    atomic_write(out, bundle, overwrite=args.overwrite)
    logger.info("wrote %s (%s about %s)", out, predicate_type, ", ".join(p.name for p in paths))
    return EXIT_OK
