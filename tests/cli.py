"""Running the installed command line in a fresh process, as users and CI systems do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Ambient credentials a developer's shell or a CI job may have; a test passes its own.
AMBIENT = ("SIGSTORE_ID_TOKEN", "SBOMSIGN_IDENTITY_TOKEN", "GITHUB_ACTIONS", "GITLAB_CI",
           "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")


def sbomsign(*argv: str, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m sbomsign ARGV...` from the repository root, without ambient credentials,
    with `env` added; the completed process (text)."""
    clean = {k: v for k, v in os.environ.items() if k not in AMBIENT}
    return subprocess.run([sys.executable, "-m", "sbomsign", *argv], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env={**clean, **(env or {})})
