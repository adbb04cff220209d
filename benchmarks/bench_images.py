"""Images: sbomsign against syft on the same image archives, one after the other.

    .venv/bin/python benchmarks/bench_images.py [--repeat N]

Inputs are the test images (`tests/images.py`, built from Debian 12 packages and the fixture
binaries with umoci and skopeo): the distroless-style Go image as an oci-archive, the glibc
image (286 ELF files, dpkg database) as a docker-archive. Their binaries are small (the Go
fixture is 1.5 MB), so the fixed cost of each tool's start dominates; two service-sized
images on the same distroless base follow: one whose service is syft's own binary (a real
45 MB Go program with about 200 modules) and one with a 90 MB Go binary (`bench.py`'s).
Each command runs in a fresh process, the two tools taking turns; wall time is the best of
`--repeat` runs, memory the child's peak RSS. The first line is the floor: an interpreter
that only imports the modules an image's scan needs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench import PY, build_embed_binary, measure, measure_pair, syft_bin  # noqa: E402
from tests.images import build, distroless, run  # noqa: E402


def service_images(root: Path, syft: str) -> dict[str, Path]:
    """oci-archives of the distroless base with a service-sized Go binary (built once)."""
    root.mkdir(parents=True, exist_ok=True)
    binaries = {"syft": Path(syft), "go90": build_embed_binary(root, 90)}
    out = {}
    for tag, binary in binaries.items():
        archive = root / f"{tag}.oci.tar"
        if not archive.exists():
            layout, work = root / f"oci-{tag}", root / f"work-{tag}"
            work.mkdir(exist_ok=True)
            distroless(layout, tag, work, str(binary), "amd64")
            run("skopeo", "copy", "-q", f"oci:{layout}:{tag}", f"oci-archive:{archive}:1.0")
        out[tag] = archive
    return out


def main() -> int:
    """Print a table of wall times, peak memory and ratios."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    images = build(ROOT / ".cache" / "images")
    syft = syft_bin()
    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false")
    services = service_images(ROOT / ".cache" / "bench-images", syft)
    inputs = [
        ("distroless Go image", f"oci-archive:{images / 'distroless.oci.tar'}"),
        ("glibc image (286 ELF files)", f"docker-archive:{images / 'glibc.docker.tar'}"),
        ("distroless + syft (45 MB)", f"oci-archive:{services['syft']}"),
        ("distroless + 90 MB Go", f"oci-archive:{services['go90']}"),
    ]
    print(f"{'input':30} {'tool':16} {'wall s':>8} {'RSS MiB':>8} {'ratio':>8}")
    # NOTE: an interpreter that only imports what an image's scan imports before it reads
    # anything is the floor of any image's wall time.
    imports = "import sbomsign._cli.sbom, sbomsign.scan, sbomsign._internal.sources.images"
    floor = measure([PY, "-c", imports], args.repeat)
    print(f"{'(floor)':30} {'imports':16} {floor.wall:8.3f} {floor.rss_mib:8.1f}")
    for label, name in inputs:
        ours, theirs = measure_pair([PY, "-m", "sbomsign", "sbom", name, "-o", os.devnull],
                                    [syft, "scan", name, "-q", "-o", "cyclonedx-json"],
                                    args.repeat, env)
        print(f"{label:30} {'sbomsign sbom':16} {ours.wall:8.3f} {ours.rss_mib:8.1f}")
        print(f"{'':30} {'syft scan':16} {theirs.wall:8.3f} {theirs.rss_mib:8.1f} "
              f"{ours.wall / theirs.wall:7.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
