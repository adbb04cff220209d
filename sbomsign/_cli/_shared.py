"""Options and helpers several subcommands share (subcommand modules never import each other)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sbomsign._cli import env_default
from sbomsign._cli._output import read_bounded
from sbomsign.errors import EXIT_OK, EXIT_USAGE, InputError
from sbomsign.models import Inventory

if TYPE_CHECKING:
    # NOTE: imported where used: `scan` and `sbom` share this module and never sign, so they
    # must not pay for loading the signing stage (keys, cryptography) at start-up.
    from sbomsign import sign as _sign

logger = logging.getLogger("sbomsign")

#: The suffix of every bundle the CLI writes or looks for beside an artifact.
BUNDLE_SUFFIX = ".sigstore.json"
#: What `scan` and `sbom` read.
PATHS_HELP = ("files, directories, archives (.tar*, .zip, .whl), packages (.deb, .rpm), "
              "images (oci-dir:, oci-archive:, docker-archive:, registry:); dir:, file: as "
              "syft names them")

#: The keyless part of `sign`'s and `attest`'s help.
KEYLESS_HELP = """\
Without --key, signing is keyless (Sigstore): Fulcio certifies an ephemeral key for the
OIDC identity, and Rekor logs the signature. The identity token is --identity-token (or
SBOMSIGN_IDENTITY_TOKEN), else SIGSTORE_ID_TOKEN, else the CI's ambient credential (GitHub
Actions with `permissions: id-token: write`; Google Cloud, Buildkite, GitLab, CircleCI), else
with --oauth a browser sign-in. --trust-config FILE (a Sigstore client trust config) selects
a private instance; the default is Sigstore's public instance (--staging: its staging
instance).
"""


def add_keyless_options(parser: argparse.ArgumentParser) -> None:
    """The options of keyless signing, shared by `sign` and `attest`."""
    # NOTE: no env_default here: `--help` prints defaults, and this one is a secret.
    # SBOMSIGN_IDENTITY_TOKEN is read when the token is looked for (keyless_signer).
    parser.add_argument(
        "--identity-token",
        metavar="TOKEN",
        help="OIDC identity token for keyless signing (else SBOMSIGN_IDENTITY_TOKEN,"
        " SIGSTORE_ID_TOKEN, the CI's ambient credential)",
    )
    parser.add_argument(
        "--oauth",
        action="store_true",
        help="without a token, sign in with a browser (needs a terminal)",
    )
    parser.add_argument(
        "--trust-config",
        metavar="FILE",
        default=env_default("trust-config"),
        help="Sigstore client trust config for keyless signing (a private instance)",
    )
    parser.add_argument(
        "--staging", action="store_true", help="keyless signing against Sigstore's staging"
    )


def keyless_signer(args: argparse.Namespace, command: str) -> _sign.KeylessSigner:
    """The keyless signer the options ask for; reports the identity on stderr.

    In order: the trust config file is read and checked, the identity token found (see
    `sbomsign.sign.find_identity_token`) and checked; nothing is signed yet and, unless the
    token comes from a CI's token endpoint or a browser sign-in, nothing has been sent
    anywhere.

    Raises:
        InputError: the trust config cannot be read or is malformed.
        NetworkError: no identity token, or a bad one.
    """
    from sbomsign import sign as _sign

    trust_config: bytes | None = None
    name: str = args.trust_config or "trust config"
    if args.trust_config:
        try:
            trust_config = read_bounded(Path(args.trust_config))
        except OSError as e:
            raise InputError(f"{args.trust_config}: cannot read: {e.strerror}") from e
        # NOTE: checked before the token is fetched: a bad file is the user's to fix first.
        _sign.check_trust_config(trust_config, name)
    explicit = args.identity_token or env_default("identity-token")
    found = _sign.find_identity_token(
        explicit, browser=args.oauth, trust_config=trust_config, staging=args.staging, name=name
    )
    logger.info("identity token from %s", found.source)
    signer = _sign.KeylessSigner(
        found.token, staging=args.staging, trust_config=trust_config, trust_config_name=name
    )
    if args.trust_config:
        instance = f"the Sigstore instance of {args.trust_config}"
    else:
        instance = "Sigstore's staging instance" if args.staging else "Sigstore's public instance"
    print(
        f"sbomsign {command}: signing as {signer.identity} (issuer {signer.issuer}) with"
        f" {instance}",
        file=sys.stderr,
    )
    return signer

def managed_key(key_ref: str) -> _sign.SigningKey:
    """Open a managed signing key (file or `pkcs11:` URI), asking for its password or PIN only
    when it needs one; use it as a context manager.

    Raises:
        SigningError: a bad key file, password or PIN.
        NetworkError: the HSM cannot be reached.
    """
    from sbomsign import sign as _sign

    key = _sign.open_key(key_ref)
    logger.info("signing with %s key %s", key.algorithm, key.hint)
    return key


def add_scan_options(parser: argparse.ArgumentParser) -> None:
    """`--jobs` and `--timeout`, shared by every subcommand that scans binaries."""
    parser.add_argument(
        "--jobs",
        type=int,
        default=int(env_default("jobs", "0") or 0),
        metavar="N",
        help="worker processes for scanning (0 = all cores)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=float(env_default("timeout", "300") or 300),
        metavar="SECONDS",
        help="give up on one file after this long",
    )
    parser.add_argument(
        "--classifiers",
        default=env_default("classifiers", "") or "",
        metavar="FILE",
        help="your own version-string classifiers (JSON, the built-in table's form), tried "
        "before the built-in ones",
    )
    images = add_registry_options(parser)
    images.add_argument("--platform", default=env_default("platform", "") or "",
                        metavar="OS/ARCH[/VARIANT]",
                        help="read only this platform of a multi-platform image")


def add_registry_options(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """`--registry-ca` and `--insecure-registry`, for every subcommand that reads images."""
    images = parser.add_argument_group("images and registries")
    images.add_argument("--registry-ca", default=env_default("registry-ca", "") or "",
                        metavar="FILE", help="CA certificates for registries (PEM)")
    images.add_argument("--insecure-registry", action="append", default=[],
                        metavar="HOST:PORT",
                        help="allow plain HTTP to this registry (repeatable; also "
                             "SBOMSIGN_INSECURE_REGISTRIES)")
    return images


def registry_options(args: argparse.Namespace) -> dict[str, Any]:
    """The registry options as keyword arguments of `sbomsign.scan`'s image functions."""
    return {"registry_ca": args.registry_ca, "insecure_registries": args.insecure_registry}


def scan_for(args: argparse.Namespace, command: str,
             while_waiting: Callable[[], None] | None = None) -> Inventory:
    """Scan `args.paths` with the shared options; print each bad file's error on stderr.
    `while_waiting` is `scan_paths`'."""
    from sbomsign.errors import InputError
    from sbomsign.scan import scan_paths

    if args.jobs < 0:
        raise InputError("--jobs must be 0 or more")
    inventory = scan_paths(
        args.paths,
        jobs=args.jobs,  # 0: all cores, decided by `scan_paths`
        timeout=args.timeout,
        progress=progress_printer(),  # type: ignore[arg-type]
        layer_progress=layer_printer(),  # type: ignore[arg-type]
        platform=args.platform,
        registry_ca=args.registry_ca,
        insecure_registries=args.insecure_registry,
        warn=lambda note: print(f"sbomsign {command}: warning: {note}", file=sys.stderr),
        classifiers=args.classifiers,
        while_waiting=while_waiting,
    )
    for problem in inventory.problems:
        print(f"sbomsign {command}: error: {problem.path}: {problem.message}", file=sys.stderr)
    report_artifact_messages(inventory, command)
    return inventory


def progress_printer() -> object | None:
    """A progress callback for multi-file work when stderr is a terminal, else None."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total > 1:
            end = "\n" if done == total else ""
            sys.stderr.write(f"\rscanning {done}/{total} files{end}")
            sys.stderr.flush()

    return show


def layer_printer() -> object | None:
    """A progress callback for an image's layers when stderr is a terminal, else None."""
    if not sys.stderr.isatty():
        return None

    def show(image: str, done: int, total: int) -> None:
        end = "\n" if done == total else ""
        sys.stderr.write(f"\rreading {image}: layer {done}/{total}{end}")
        sys.stderr.flush()

    return show


def report_artifact_messages(inventory: Inventory, command: str) -> None:
    """Print each artifact's damaged-metadata errors and warnings, one line each."""
    for artifact in inventory.artifacts:
        for b in artifact.binaries:
            for e in b.errors:
                print(f"sbomsign {command}: error: {artifact.path}: {e}", file=sys.stderr)
            for w in b.warnings:
                print(f"sbomsign {command}: warning: {artifact.path}: {w}", file=sys.stderr)


def exit_code(inventory: Inventory) -> int:
    """2 when a file could not be inspected or carried damaged metadata, else 0."""
    codes = [p.exit_code for p in inventory.problems]
    codes += [EXIT_USAGE for a in inventory.artifacts if a.errors]
    return max(codes, default=EXIT_OK)
