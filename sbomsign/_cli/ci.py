"""`sbomsign ci`: run a CI job (produce or verify) the way the GitHub Action runs it, on
GitLab, Jenkins or GitHub; the inputs come from the environment."""

from __future__ import annotations

import argparse
import os

from sbomsign import _ci

_EPILOG = """\
Inputs are environment variables, SBOMSIGN_<INPUT> on GitLab and Jenkins (SBOMSIGN_ARTIFACTS,
SBOMSIGN_SBOM_FORMATS, SBOMSIGN_SIGN, SBOMSIGN_KEY, SBOMSIGN_POLICY, ...; see the README) and
INPUT_<INPUT> on GitHub. Every input is checked before any work; a bad one is one line and
exit 2. A failed gate exits 1. The reports (SBOMs, bundles, SHA256SUMS, sbomsign-verify.json,
the JUnit and Code Quality reports, sbomsign-outputs.json, sbomsign-summary.md) are written
in the workspace or the output directory.
"""


def register(parser: argparse.ArgumentParser) -> None:
    """Add the `ci` arguments."""
    parser.epilog = _EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("mode", choices=("produce", "verify"),
                        help="produce: SBOMs, signatures, attestations; verify: the gate")
    parser.add_argument("--system", choices=("auto", *_ci.SYSTEMS), default="auto",
                        help="the CI system whose variables, log and reports to use "
                             "(auto: from the environment)")


def run(args: argparse.Namespace) -> int:
    """Run the job."""
    system = _ci.detect(os.environ) if args.system == "auto" else args.system
    return _ci.main(system, mode=args.mode)

