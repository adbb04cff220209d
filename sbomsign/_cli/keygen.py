"""`sbomsign keygen`: make a managed signing key pair (PREFIX.key and PREFIX.pub)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sbomsign import sign
from sbomsign._cli import env_default
from sbomsign._cli._output import atomic_write
from sbomsign.errors import EXIT_OK, InputError, SigningError

logger = logging.getLogger("sbomsign")

_EPILOG = """\
The private key file is cosign's format (PEM "ENCRYPTED SIGSTORE PRIVATE KEY": scrypt
N=65536 r=8 p=1 and NaCl secretbox over the PKCS#8 key), so cosign can use it too. It is
written with mode 0600. The password comes from SBOMSIGN_KEY_PASSWORD, else COSIGN_PASSWORD,
else a prompt (asked twice) when stdin is a terminal. An empty password is refused: use
--no-password to write the key unencrypted (PEM PKCS#8, still mode 0600), e.g. for throw-away
test keys; cosign reads that only after `cosign import-key-pair`.
"""


def register(parser: argparse.ArgumentParser) -> None:
    """Add the `keygen` options."""
    parser.epilog = _EPILOG
    parser.formatter_class = _Formatter
    parser.add_argument(
        "--output-prefix",
        metavar="PREFIX",
        default=env_default("output-prefix", "sbomsign"),
        help="write PREFIX.key and PREFIX.pub",
    )
    parser.add_argument(
        "--algorithm",
        choices=sign.KEY_ALGORITHMS,
        default=env_default("algorithm", sign.KEY_ALGORITHMS[0]),
        help="key type",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace existing PREFIX.key / PREFIX.pub"
    )
    parser.add_argument(
        "--no-password",
        action="store_true",
        help="write the private key unencrypted (PKCS#8 PEM) instead of asking for a password",
    )


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the option help, and the epilog kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        # NOTE: "(default: None)" / "(default: False)" says nothing; show real defaults only.
        if action.default in (None, False):
            return action.help
        return super()._get_help_string(action)


def run(args: argparse.Namespace) -> int:
    """Generate the key pair and write both files."""
    prefix: str = args.output_prefix
    key_path, pub_path = Path(prefix + ".key"), Path(prefix + ".pub")
    # NOTE: check both outputs before asking for a password, so a refusal costs nothing.
    for path in (key_path, pub_path):
        if not args.overwrite and path.exists():
            raise InputError(f"{path}: already exists (use --overwrite to replace it)")
    password: bytes | None = None
    if not args.no_password:
        password = sign.read_key_password(str(key_path), confirm=True)
        if not password:
            raise SigningError("empty password refused (use --no-password for an unencrypted key)")
    key = sign.generate_key(args.algorithm)
    private_pem = key.private_pem(password)
    public_pem = sign.public_key_pem(key)
    atomic_write(key_path, private_pem, overwrite=args.overwrite, mode=0o600)
    try:
        atomic_write(pub_path, public_pem, overwrite=args.overwrite)
    except BaseException:
        # NOTE: a private key without its public key is useless and confusing; do not leave
        # half a pair behind.
        key_path.unlink(missing_ok=True)
        raise
    if password is None:
        logger.warning("%s is not encrypted; keep it safe", key_path)
    logger.info("wrote %s and %s (%s, key id %s)", key_path, pub_path, key.algorithm, key.hint)
    return EXIT_OK
