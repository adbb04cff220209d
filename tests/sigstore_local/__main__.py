"""Run the local Sigstore instance from a shell until interrupted.

    python -m tests.sigstore_local --dir DIR [--port BASE] [--token EMAIL]

Prints the services' URLs, the files written in DIR (the client trust config to pass to
`sbomsign sign --trust-config`, the trusted root for verifiers), how to get an ID token, and
the environment of a simulated GitHub Actions job; then serves until Ctrl-C or SIGTERM. Running
it again on the same DIR resumes the same instance (keys, CA, log).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import threading
from types import FrameType

from tests.sigstore_local.instance import LocalSigstore


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.sigstore_local",
        description="Run a private Sigstore instance (OIDC, Fulcio, Rekor v1) on loopback.",
    )
    parser.add_argument("--dir", required=True, help="state directory (created; reused)")
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        metavar="BASE",
        help="OIDC on BASE, Fulcio on BASE+1, Rekor on BASE+2 (default: previous or free)",
    )
    parser.add_argument(
        "--token",
        metavar="EMAIL",
        action="append",
        default=[],
        help="print an ID token for EMAIL (repeatable; valid 10 minutes)",
    )
    parser.add_argument(
        "--print-env",
        action="store_true",
        help="print only shell assignments (for eval) and exit after writing the files",
    )
    parser.add_argument("--rekor-v2", action="store_true",
                        help="also run a Rekor v2 log (and the TSA) and name it in the signing "
                             "config instead of the v1 log")
    parser.add_argument("--tsa", action="store_true",
                        help="also run an RFC 3161 timestamp authority (named in the trusted "
                             "root and the signing config)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Start, print, serve until interrupted; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s: %(message)s",
    )
    instance = LocalSigstore(args.dir, base_port=args.port, tsa=args.tsa,
                             rekor_v2=args.rekor_v2).start()
    env = {
        "SIGSTORE_LOCAL_TRUST_CONFIG": str(instance.trust_config_path),
        "SIGSTORE_LOCAL_TRUSTED_ROOT": str(instance.trusted_root_path),
        "SIGSTORE_LOCAL_ISSUER": instance.issuer,
        "SIGSTORE_LOCAL_GITHUB_ISSUER": instance.github_issuer,
        **instance.actions_env(),
    }
    if args.print_env:
        for name, value in env.items():
            print(f"export {name}={shlex.quote(value)}")
        instance.stop()
        return 0

    out = sys.stdout
    print(f"sigstore-local running; state in {instance.directory}", file=out)
    print(f"  OIDC issuer (people):     {instance.issuer}", file=out)
    print(f"  OIDC issuer (workflows):  {instance.github_issuer}", file=out)
    print(f"  Fulcio (API v2):          {instance.fulcio.url}", file=out)
    print(f"  Rekor (API v1):           {instance.rekor.url}", file=out)
    print("files:", file=out)
    print(f"  client trust config:      {instance.trust_config_path}", file=out)
    print(f"  trusted root:             {instance.trusted_root_path}", file=out)
    print(f"  signing config:           {instance.signing_config_path}", file=out)
    print(f"  URLs and runner token:    {instance.state_path}", file=out)
    print("ID tokens (valid 10 minutes):", file=out)
    print(f"  curl -s '{instance.oidc.url}/mint?email=alice@example.com'", file=out)
    print(f"  curl -s '{instance.oidc.url}/mint/github?repository=octo-org/octo-repo'", file=out)
    for email in args.token:
        print(f"  {email}: {instance.email_token(email)}", file=out)
    print("a GitHub Actions job (ambient credential):", file=out)
    for name, value in instance.actions_env().items():
        print(f"  export {name}={shlex.quote(value)}", file=out)
    print(f"started in {instance.startup_seconds:.2f}s; Ctrl-C to stop", file=out, flush=True)

    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not done.wait(0.1):
            pass
    finally:
        instance.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
