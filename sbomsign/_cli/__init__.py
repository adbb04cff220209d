"""The `sbomsign` command line: one module per subcommand, each with `register` and `run`."""

from __future__ import annotations

import argparse
import atexit
import importlib
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from sbomsign import __version__
from sbomsign.errors import EXIT_USAGE, Error

logger = logging.getLogger("sbomsign")

#: Subcommand name -> module under `sbomsign._cli`. Modules are imported only when their
#: subcommand is parsed, so `sbomsign scan` never pays for importing sigstore.
SUBCOMMANDS: dict[str, str] = {
    "scan": "scan",
    "sbom": "sbom",
    "sign": "sign",
    "attest": "attest",
    "verify": "verify",
    "keygen": "keygen",
    "copy": "copy",
    "push": "push",
    "ci": "ci",
}

SUMMARIES: dict[str, str] = {
    "scan": "inventory what is inside binaries",
    "sbom": "write CycloneDX / SPDX SBOMs",
    "sign": "sign artifacts into Sigstore bundles",
    "attest": "sign in-toto attestations about an artifact",
    "verify": "verify signatures, attestations and a policy",
    "keygen": "make a managed signing key pair",
    "copy": "copy an image with its signatures and attestations",
    "push": "store a file in a registry as an OCI artifact",
    "ci": "run a CI job (produce or verify) on GitLab, Jenkins or GitHub",
}


class _Parser(argparse.ArgumentParser):
    """argparse that exits with the documented usage code and a one-line message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def env_default(option: str, default: str | None = None) -> str | None:
    """The `SBOMSIGN_<OPTION>` environment default for an option."""
    return os.environ.get("SBOMSIGN_" + option.upper().replace("-", "_"), default)


def _common() -> argparse.ArgumentParser:
    common: argparse.ArgumentParser = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (repeatable)"
    )
    return common


def build_parser(wanted: str | None) -> argparse.ArgumentParser:
    """The full parser; only the `wanted` subcommand's module is imported."""
    common = _common()
    parser: argparse.ArgumentParser = _Parser(
        prog="sbomsign",
        description="Inventory compiled binaries, write SBOMs, sign and verify them.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"sbomsign {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in SUBCOMMANDS.items():
        if name == wanted:
            mod = importlib.import_module(f"sbomsign._cli.{module}")
            sub = subparsers.add_parser(
                name,
                help=SUMMARIES[name],
                description=SUMMARIES[name],
                parents=[common],
                formatter_class=argparse.ArgumentDefaultsHelpFormatter,
            )
            sub.__class__ = _Parser
            mod.register(sub)
            sub.set_defaults(_run=mod.run)
        else:
            subparsers.add_parser(name, help=SUMMARIES[name], add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `sbomsign` with `argv` (default: `sys.argv[1:]`) and return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    wanted = next((a for a in args_list if a in SUBCOMMANDS), None)
    parser = build_parser(wanted)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as e:
        return int(e.code) if isinstance(e.code, int) else EXIT_USAGE
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(message)s", stream=sys.stderr)
    logger.setLevel(level)
    try:
        return int(args._run(args))
    except Error as e:
        if args.verbose >= 2:
            raise
        print(f"sbomsign {args.command}: error: {e.diagnostics()}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("sbomsign: interrupted", file=sys.stderr)
        return 130


def run() -> NoReturn:
    """The `sbomsign` command: `main`, then exit with its code."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """Exit with `code` after the exit handlers and a flush of stdout and stderr, without
    tearing down the interpreter.

    Freeing every object and module at exit takes about 20 ms after an image scan, which
    is all of it wasted. Exit handlers still run (temporary directories, logging).
    While another thread is alive the normal exit is taken, which waits for it first.
    """
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # NOTE: started with the descriptor closed
            continue
        try:
            stream.flush()
        except (OSError, ValueError):
            # NOTE: what Python's own exit does when stdout cannot be flushed (a closed pipe).
            code = code or 120
    os._exit(code)
