"""`sbomsign sign`: sign artifacts into Sigstore bundles (`<artifact>.sigstore.json`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from sbomsign import sign as _sign
from sbomsign._cli import _images, env_default
from sbomsign._cli._output import atomic_write
from sbomsign._cli._shared import (
    BUNDLE_SUFFIX,
    KEYLESS_HELP,
    add_keyless_options,
    keyless_signer,
    managed_key,
)
from sbomsign.errors import EXIT_OK, EXIT_USAGE, Error, InputError

logger = logging.getLogger("sbomsign")



_EPILOG = """\
KEY is a private key file (cosign's encrypted format, or PEM PKCS#8 / EC, optionally
encrypted) or a PKCS#11 URI such as
  pkcs11:token=release;object=signing-key?module-path=/usr/lib/softhsm/libsofthsm2.so
Key file password: SBOMSIGN_KEY_PASSWORD, else COSIGN_PASSWORD, else a prompt on a terminal.
Token PIN: the URI's pin-value or pin-source, else SBOMSIGN_PKCS11_PIN, else a prompt.
Key-signed bundles carry no transparency-log entry; verify them offline with the public key.

""" + KEYLESS_HELP


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the option help, and the epilog kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        # NOTE: "(default: None)" / "(default: False)" says nothing; show real defaults only.
        if action.default in (None, False):
            return action.help
        return super()._get_help_string(action)


def register(parser: argparse.ArgumentParser) -> None:
    """Add the `sign` arguments."""
    parser.epilog = _EPILOG
    parser.formatter_class = _Formatter
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="artifacts to sign: files, or images (registry:HOST/REPO:TAG, "
                             "oci-dir:DIR[:TAG], oci-archive:FILE[:TAG])")
    parser.add_argument(
        "--key",
        default=env_default("key"),
        help="managed key: key file or pkcs11: URI; without it, keyless Sigstore",
    )
    parser.add_argument(
        "--bundle",
        metavar="FILE",
        help=f"bundle to write (one PATH only; default: <PATH>{BUNDLE_SUFFIX})",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing bundles")
    add_keyless_options(parser)
    _images.add_image_options(parser)




def _outputs(args: argparse.Namespace) -> list[tuple[Path, Path]]:
    """(artifact, bundle) pairs, all checked before anything is signed.

    Raises:
        InputError: `--bundle` with several paths, two artifacts sharing a bundle, or an
            existing bundle without `--overwrite`.
    """
    paths = [Path(p) for p in args.paths]
    if args.bundle is not None and len(paths) != 1:
        raise InputError("--bundle needs exactly one PATH")
    pairs = []
    seen: dict[Path, Path] = {}
    for path in paths:
        out = Path(args.bundle) if args.bundle is not None else Path(str(path) + BUNDLE_SUFFIX)
        key = Path(os.path.abspath(out))
        if key in seen:
            raise InputError(f"{path}: given twice (both would write {out})")
        seen[key] = path
        if not args.overwrite and out.exists():
            raise InputError(f"{out}: already exists (use --overwrite to replace it)")
        pairs.append((path, out))
    return pairs


def _report(problem: Error) -> None:
    # NOTE: the same one-line shape as the fatal errors `main` prints, so scripts and the
    # GitHub Action can treat every failure line alike.
    print(f"sbomsign sign: error: {problem.diagnostics()}", file=sys.stderr)




def _readable(path: Path) -> Error | None:
    if not path.exists():
        return InputError(f"{path}: no such file")
    if not path.is_file():
        return InputError(f"{path}: not a regular file")
    return None


def _sign_all(
    todo: list[tuple[Path, Path]], sign: Callable[[BinaryIO], bytes], *, overwrite: bool
) -> bool:
    """Sign each artifact and write its bundle; True if all went well.

    An artifact that cannot be read or a bundle that cannot be written is reported and
    skipped; any other error (the key, the token, the network) stops everything.
    """
    ok = True
    for path, out in todo:
        try:
            with path.open("rb") as stream:
                data = sign(stream)
        except OSError as e:
            _report(InputError(f"{path}: cannot read: {e.strerror}"))
            ok = False
            continue
        ok = _write_bundle(out, data, overwrite=overwrite) and ok
    return ok


def _write_bundle(out: Path, data: bytes, *, overwrite: bool) -> bool:
    """Write one bundle atomically; report a failure on stderr and go on with the others."""
    try:
        atomic_write(out, data, overwrite=overwrite)
    except InputError as e:
        _report(e)
        return False
    logger.info("wrote %s", out)
    return True


def _sign_keyless(
    todo: list[tuple[Path, Path]], signer: _sign.KeylessSigner, *, overwrite: bool
) -> bool:
    """Hash every artifact, sign them all with one certificate, write the bundles.

    Unreadable artifacts and unwritable bundles are reported and skipped (False). A signing
    failure is raised once the bundles that were signed are written: each bundle is whole,
    and it records a log entry that exists anyway.

    Raises:
        NetworkError: Fulcio, Rekor or the network failed.
    """
    ok = True
    hashed: list[tuple[Path, Path, _sign.ArtifactDigest]] = []
    for path, out in todo:
        try:
            with path.open("rb") as stream:
                hashed.append((path, out, _sign.ArtifactDigest.sha256(_sign.file_sha256(stream))))
        except OSError as e:
            _report(InputError(f"{path}: cannot read: {e.strerror}"))
            ok = False
    if not hashed:
        return ok
    with signer:
        results = signer.sign_artifacts([digest for _, _, digest in hashed])
    failures: list[Error] = []
    for (_, out, _), result in zip(hashed, results, strict=True):
        if isinstance(result, Error):
            failures.append(result)
            continue
        ok = _write_bundle(out, result, overwrite=overwrite) and ok
    if failures:
        if len(failures) > 1:
            logger.warning("%d of %d artifacts were not signed", len(failures), len(hashed))
        raise failures[0]
    return ok


def _sign_images(args: argparse.Namespace, names: list[str]) -> int:
    """Sign each image's manifest digest as cosign v3 does (an in-toto statement of
    predicate type `https://sigstore.dev/cosign/sign/v1` in a DSSE envelope) and attach the
    bundle to the image."""
    images = _images.pinned(args, names)
    statements = [_sign.image_statement(image.digest) for image in images]
    bundles = _images.sign_statements(args, statements, "sign")
    for image, bundle in zip(images, bundles, strict=True):
        _images.publish(args, image, bundle, "signed")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Sign every PATH; exit 2 at the end if some could not be read or written."""
    images = [p for p in args.paths if _images.is_image(p)]
    if images:
        if len(images) != len(args.paths):
            raise InputError("sign images and files in separate runs")
        return _sign_images(args, images)
    if args.no_upload or args.recursive:
        raise InputError("--no-upload and --recursive are for images")
    pairs = _outputs(args)
    if args.key is not None and (
        args.identity_token or args.staging or args.trust_config or args.oauth
    ):
        logger.warning(
            "--identity-token, --oauth, --trust-config and --staging are ignored with --key"
        )

    todo = []
    for path, out in pairs:
        problem = _readable(path)
        if problem is not None:
            _report(problem)
        else:
            todo.append((path, out))
    ok = len(todo) == len(pairs)
    if not todo:
        return EXIT_USAGE

    if args.key is None:
        # NOTE: the outputs and the artifacts are checked before the token is looked for
        # (which may mean a request to the CI's token endpoint or a browser sign-in).
        signer = keyless_signer(args, "sign")
        ok = _sign_keyless(todo, signer, overwrite=args.overwrite) and ok
        return EXIT_OK if ok else EXIT_USAGE

    with managed_key(args.key) as key:
        ok = _sign_all(todo, lambda s: _sign.sign_artifact(s, key), overwrite=args.overwrite) and ok
    return EXIT_OK if ok else EXIT_USAGE


