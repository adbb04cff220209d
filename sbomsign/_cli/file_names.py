"""The names the CLI gives the files it writes, as data for front ends that cannot import it.

`file_names.json` beside this module is `names()`'s output. The GitHub Action's runner reads
that file from the action's checkout before sbomsign is installed, to check its inputs and to
find what the CLI wrote, so the runner holds no copy of these tables. A test fails when the
file and the CLI drift apart; `python -m sbomsign._cli.file_names` rewrites it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sbomsign._cli._shared import BUNDLE_SUFFIX
from sbomsign._cli.attest import KNOWN_TYPES
from sbomsign.sbom import SbomFormat

FILE = Path(__file__).with_name("file_names.json")


def names() -> dict[str, Any]:
    """The bundle suffix, each SBOM format's suffix and the `attest --type` names."""
    return {
        "bundleSuffix": BUNDLE_SUFFIX,
        "sbomSuffixes": {f.value: f.suffix for f in SbomFormat},
        "attestTypes": list(KNOWN_TYPES),
    }


def render() -> str:
    """`names()` as the shipped file's text."""
    return json.dumps(names(), indent=2) + "\n"


if __name__ == "__main__":
    FILE.write_text(render())
