"""Writing SBOMs of large images: time per binary as an image grows.

    .venv/bin/python benchmarks/bench_sbom_scale.py [--sizes 1,4,16]

The glibc test image (`tests/images.py`) is scanned once; its binaries are then repeated
under other paths with other digests (1×, 4×, 16×: 286 to 4,576 binaries, with their files
in the container), and each JSON format is written in this process. A writer whose time per
binary stays flat grows linearly; one that grows with the square of the size shows as a
rising column. Best of three writes.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sbomsign.models import Digests, Inventory  # noqa: E402
from sbomsign.sbom import write  # noqa: E402
from sbomsign.scan import scan_paths  # noqa: E402
from tests.images import build  # noqa: E402

FORMATS = ("cyclonedx-json", "spdx-json", "spdx3-json")


def repeated(inventory: Inventory, times: int) -> Inventory:
    """The image's binaries `times` over, each copy under `/kN/` with its own digests."""
    (container,) = inventory.containers
    artifacts, files = [], []
    for k in range(times):
        def other(sha256: str, k: int = k) -> str:
            return f"{k:04x}{sha256[4:]}"

        artifacts += [replace(a, path=f"/k{k}{a.path}", digests=Digests(
            sha256=other(a.digests.sha256), sha1=a.digests.sha1, sha512=a.digests.sha512))
            for a in inventory.artifacts]
        files += [replace(f, path=f"/k{k}{f.path}", sha256=other(f.sha256))
                  for f in container.files]
    grown = replace(container, files=tuple(sorted(files, key=lambda f: f.path)))
    return replace(inventory, artifacts=tuple(artifacts), containers=(grown,))


def main() -> int:
    """Print the write time of each format, per size, and per binary."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1,4,16")
    args = ap.parse_args()
    images = build(ROOT / ".cache" / "images")
    base = scan_paths([f"docker-archive:{images / 'glibc.docker.tar'}"])
    print(f"{'binaries':>9} {'format':16} {'wall s':>8} {'ms/binary':>10}")
    for times in (int(x) for x in args.sizes.split(",")):
        inventory = repeated(base, times)
        for fmt in FORMATS:
            write(inventory, fmt)  # NOTE: the first write imports the format's libraries
            best = min(_timed(inventory, fmt) for _ in range(3))
            count = len(inventory.artifacts)
            print(f"{count:9d} {fmt:16} {best:8.3f} {best / count * 1000:10.3f}")
    return 0


def _timed(inventory: Inventory, fmt: str) -> float:
    start = time.perf_counter()
    write(inventory, fmt)
    return time.perf_counter() - start


if __name__ == "__main__":
    raise SystemExit(main())
