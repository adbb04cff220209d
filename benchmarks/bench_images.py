"""Images: sbomsign against syft on the same image archives, one after the other.

    .venv/bin/python benchmarks/bench_images.py [--repeat N]

Inputs are the test images (`tests/images.py`, built from Debian 12 packages and the fixture
binaries with umoci and skopeo): the distroless-style Go image as an oci-archive, the glibc
image (286 ELF files, dpkg database) as a docker-archive. Each command runs in a fresh process;
wall time is the best of `--repeat` runs, memory the child's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench import PY, measure, syft_bin  # noqa: E402
from tests.images import build  # noqa: E402


def main() -> int:
    """Print a table of wall times, peak memory and ratios."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    images = build(ROOT / ".cache" / "images")
    syft = syft_bin()
    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false")
    inputs = [
        ("distroless Go image", f"oci-archive:{images / 'distroless.oci.tar'}"),
        ("glibc image (286 ELF files)", f"docker-archive:{images / 'glibc.docker.tar'}"),
    ]
    print(f"{'input':30} {'tool':16} {'wall s':>8} {'RSS MiB':>8} {'ratio':>8}")
    for label, name in inputs:
        ours = measure([PY, "-m", "sbomsign", "sbom", name, "-o", os.devnull], args.repeat)
        theirs = measure([syft, "scan", name, "-q", "-o", "cyclonedx-json"], args.repeat, env)
        print(f"{label:30} {'sbomsign sbom':16} {ours.wall:8.3f} {ours.rss_mib:8.1f}")
        print(f"{'':30} {'syft scan':16} {theirs.wall:8.3f} {theirs.rss_mib:8.1f} "
              f"{ours.wall / theirs.wall:7.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
