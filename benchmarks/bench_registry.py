"""Images in a registry: the verify gate, and `copy` of a large image, against skopeo.

    .venv/bin/python benchmarks/bench_registry.py [--repeat N] [--megabytes N]

Debian's docker-registry runs on 127.0.0.1. The distroless test image (`tests/images.py`) is
pushed with skopeo, signed and given two attestations (CycloneDX and SPDX) with a managed key;
`sbomsign verify` reads the image's referrers and verifies the three bundles in a fresh
process (target: at most 1 s wall), once with the key alone and once with
`policies/image.yaml` (which also reads the image's layers to judge its binaries). skopeo,
which only fetches the manifest (`skopeo inspect --raw`), is the floor the ratio is taken
against. Then an image with one layer of `--megabytes` random data is copied registry →
oci-archive → registry by `sbomsign copy` (with its signature) and by `skopeo copy`, one after
the other: wall time and peak RSS (the target: blobs streamed, memory independent of the
image's size). Wall time is the best of `--repeat` runs, memory the child's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench import PY, Run, measure  # noqa: E402
from tests.images import build, run  # noqa: E402
from tests.loopback import docker_registry  # noqa: E402


def _big_image(work: Path, megabytes: int) -> Path:
    """An OCI layout holding one image whose only layer is `megabytes` of random data."""
    layout, rootfs = work / "big", work / "big-rootfs"
    rootfs.mkdir()
    with open(rootfs / "data.bin", "wb") as f:
        for _ in range(megabytes):
            f.write(os.urandom(1 << 20))
    run("umoci", "init", "--layout", layout)
    run("umoci", "new", "--image", f"{layout}:big")
    run("umoci", "insert", "--image", f"{layout}:big", rootfs / "data.bin", "/data.bin")
    return layout


def _row(hop: str, ours: Run, theirs: Run) -> None:
    for label, got in ((f"sbomsign copy {hop}", ours), (f"skopeo copy {hop}", theirs)):
        ratio = f"{ours.wall / theirs.wall:7.2f}x" if got is ours else ""
        print(f"{label:44} {got.wall:8.3f} {got.rss_mib:8.1f} {ratio}")


def main() -> int:
    """Print wall times, peak memory and ratios."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--megabytes", type=int, default=300)
    args = ap.parse_args()
    images = build(ROOT / ".cache" / "images") / "oci"
    sbomsign = [PY, "-m", "sbomsign"]
    work = Path(tempfile.mkdtemp(prefix="sbomsign-bench-registry-"))
    try:
        (work / "registry").mkdir()
        (work / "keys").mkdir()
        with docker_registry(work / "registry", {}) as host:
            env = dict(os.environ, SBOMSIGN_INSECURE_REGISTRIES=host)
            name = f"registry:{host}/team/svc:1.0"
            run("skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{images}:distroless",
                f"docker://{host}/team/svc:1.0")
            subprocess.run([*sbomsign, "keygen", "--no-password", "--output-prefix",
                            str(work / "keys" / "release")], check=True, capture_output=True)
            key = str(work / "keys" / "release.key")
            steps = [["sign", "--key", key, name]] + [
                ["attest", "--key", key, "--type", kind, name] for kind in ("cyclonedx", "spdx")]
            for step in steps:
                subprocess.run([*sbomsign, *step], check=True, capture_output=True, env=env)
            shutil.copy(ROOT / "policies" / "image.yaml", work / "image.yaml")
            floor = measure(["skopeo", "inspect", "--raw", "--tls-verify=false",
                             f"docker://{host}/team/svc:1.0"], args.repeat)
            keyed = measure([*sbomsign, "verify", "--key", str(work / "keys" / "release.pub"),
                             name], args.repeat, env)
            policy = measure([*sbomsign, "verify", "--policy", str(work / "image.yaml"), name],
                             args.repeat, env)
            print(f"{'verify, signature + 2 attestations':44} {'wall s':>8} {'RSS MiB':>8} "
                  f"{'ratio':>8}")
            print(f"{'skopeo inspect --raw (manifest only)':44} {floor.wall:8.3f} "
                  f"{floor.rss_mib:8.1f}")
            for label, got in (("sbomsign verify --key", keyed),
                               ("sbomsign verify --policy image.yaml", policy)):
                print(f"{label:44} {got.wall:8.3f} {got.rss_mib:8.1f} "
                      f"{got.wall / floor.wall:7.2f}x   (target <= 1 s: "
                      f"{'met' if got.wall <= 1.0 else 'NOT met'})")

            big = _big_image(work, args.megabytes)
            run("skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{big}:big",
                f"docker://{host}/team/big:1.0")
            subprocess.run([*sbomsign, "sign", "--key", key, f"registry:{host}/team/big:1.0"],
                           check=True, capture_output=True, env=env)
            print(f"\ncopy, one {args.megabytes} MB layer {'':20} {'wall s':>8} {'RSS MiB':>8} "
                  f"{'ratio':>8}")
            ours = measure([*sbomsign, "copy", f"registry:{host}/team/big:1.0",
                            f"oci-archive:{work}/ours.tar:1.0"], 1, env)
            theirs = measure(["skopeo", "copy", "-q", "--src-tls-verify=false",
                              f"docker://{host}/team/big:1.0",
                              f"oci-archive:{work}/theirs.tar:1.0"], 1)
            _row("registry -> oci-archive", ours, theirs)
            # NOTE: each tool loads into a registry of its own: skopeo remembers where it has
            # seen a blob and mounts it instead of sending it again.
            for tool in ("ours", "theirs"):
                (work / f"registry-{tool}").mkdir()
            with docker_registry(work / "registry-ours", {}) as mine, \
                    docker_registry(work / "registry-theirs", {}) as other:
                env = dict(env, SBOMSIGN_INSECURE_REGISTRIES=f"{host},{mine}")
                ours = measure([*sbomsign, "copy", f"oci-archive:{work}/ours.tar:1.0",
                                f"registry:{mine}/team/big:1.0"], 1, env)
                theirs = measure(["skopeo", "copy", "-q", "--dest-tls-verify=false",
                                  f"oci-archive:{work}/theirs.tar:1.0",
                                  f"docker://{other}/team/big:1.0"], 1)
                _row("oci-archive -> registry", ours, theirs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
