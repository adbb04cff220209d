"""Command-line tools from the npm registry, installed once per tool under `.cache/`."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def npm_tools(cache: str, package: str, probe: str, *, omit_optional: bool = False) -> Path:
    """The `node_modules/.bin` directory of `package` (`name@version`), installed into
    `.cache/<cache>` unless `probe` (one of its commands) is already there."""
    prefix = ROOT / ".cache" / cache
    tools = prefix / "node_modules" / ".bin"
    if not (tools / probe).exists():
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund",
                        *(["--omit=optional"] if omit_optional else []), "--prefix",
                        str(prefix), package], check=True, timeout=600, capture_output=True)
    return tools
