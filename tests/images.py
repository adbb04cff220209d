"""Container images for the tests, assembled from real parts with Debian's tools.

- Debian 12 packages fetched with `apt-get download` (cached under `.cache/debs/`), unpacked
  with `dpkg-deb`, and their package database written as dpkg and distroless write it;
- the Go and C fixture binaries of `tests/assets/bin/`;
- `umoci` builds each OCI layout layer by layer (including whiteouts and opaque
  directories), `skopeo copy` writes the docker-archive and oci-archive forms;
- the multi-platform index is written as `docker buildx imagetools create` writes one: an
  OCI index blob over the three real platform manifests, tagged in the layout.

`build(root)` is idempotent: a finished set of images is reused (its `done` marker names
the build recipe's version).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

BIN = Path(__file__).parent / "assets" / "bin"
CACHE = Path(__file__).parent.parent / ".cache" / "debs"
RECIPE = "3"
CREATED = "2026-01-01T00:00:00Z"

#: What distroless' static image carries.
DISTROLESS_DEBS = ("base-files", "netbase", "tzdata")
#: A glibc image for a dynamically linked C program.
GLIBC_DEBS = ("base-files", "libc6", "libc-bin", "libgcc-s1", "gcc-12-base")


def run(*argv: str | os.PathLike[str], cwd: Path | None = None) -> str:
    """Run a tool; fail the test run with its output when it fails."""
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr or done.stdout}")
    return done.stdout


def debs(names: tuple[str, ...]) -> list[Path]:
    """The Debian packages, downloaded once for the current architecture."""
    CACHE.mkdir(parents=True, exist_ok=True)
    missing = [n for n in names if not list(CACHE.glob(f"{n}_*.deb"))]
    if missing:
        run("apt-get", "download", *missing, cwd=CACHE)
    return [sorted(CACHE.glob(f"{n}_*.deb"))[-1] for n in names]


def _control(deb: Path) -> str:
    return run("dpkg-deb", "-f", deb).rstrip("\n") + "\n"


def _md5sums(deb: Path) -> str:
    ctrl = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True,
                          check=True).stdout
    import io

    with tarfile.open(fileobj=io.BytesIO(ctrl)) as tar:
        for member in tar:
            if member.name.lstrip("./") == "md5sums":
                f = tar.extractfile(member)
                return f.read().decode() if f else ""
    return ""


def _files(deb: Path) -> list[str]:
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True,
                          check=True).stdout
    import io

    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = ["/" + m.name.lstrip("./") for m in tar]
    return ["/." if n == "/" else n.rstrip("/") for n in names]


def rootfs(root: Path, packages: list[Path], *, distroless: bool) -> None:
    """Unpack packages into `root` and write their database (dpkg or distroless)."""
    for deb in packages:
        run("dpkg-deb", "-x", deb, root)
    if distroless:
        status_d = root / "var/lib/dpkg/status.d"
        status_d.mkdir(parents=True, exist_ok=True)
        for deb in packages:
            name = run("dpkg-deb", "-f", deb, "Package").strip()
            (status_d / name).write_text(_control(deb))
            (status_d / f"{name}.md5sums").write_text(_md5sums(deb))
        return
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True, exist_ok=True)
    paragraphs = []
    for deb in packages:
        control = _control(deb)
        fields = dict(line.split(": ", 1) for line in control.splitlines()
                      if ": " in line and not line.startswith(" "))
        lines = control.splitlines()
        lines.insert(1, "Status: install ok installed")
        paragraphs.append("\n".join(lines) + "\n")
        name = fields["Package"]
        multi = fields.get("Multi-Arch") == "same"
        list_name = f"{name}:{fields['Architecture']}.list" if multi else f"{name}.list"
        (info / list_name).write_text("\n".join(_files(deb)) + "\n")
    (root / "var/lib/dpkg/status").write_text("\n".join(paragraphs))


def _umoci_image(layout: Path, tag: str) -> None:
    if not (layout / "oci-layout").exists():
        run("umoci", "init", "--layout", layout)
    run("umoci", "new", "--image", f"{layout}:{tag}")


def rootfs_image(root: Path, layout: Path, tag: str = "1.0", arch: str = "amd64") -> Path:
    """An OCI layout (umoci) whose image `tag` is one layer of the directory `root`."""
    _umoci_image(layout, tag)
    run("umoci", "insert", "--image", f"{layout}:{tag}", root, "/")
    _config(layout, tag, arch)
    return layout


def _config(layout: Path, tag: str, arch: str, *labels: str) -> None:
    argv = ["umoci", "config", "--image", f"{layout}:{tag}", "--os", "linux",
            "--architecture", arch, "--created", CREATED]
    for label in labels:
        argv += ["--config.label", label]
    run(*argv)


def distroless(layout: Path, tag: str, work: Path, binary: str, arch: str,
               packages: tuple[str, ...] = DISTROLESS_DEBS) -> None:
    """A distroless-style image: base-files, netbase, tzdata with status.d, then the Go
    service in its own layer."""
    base = work / f"rootfs-distroless-{tag}"
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    rootfs(base, debs(packages), distroless=True)
    _umoci_image(layout, tag)
    run("umoci", "insert", "--image", f"{layout}:{tag}", base, "/")
    run("umoci", "insert", "--image", f"{layout}:{tag}", BIN / binary, "/app/server")
    _config(layout, tag, arch, "org.opencontainers.image.title=demo-svc",
            "org.opencontainers.image.source=https://example.com/sbomsign/demo",
            "org.opencontainers.image.version=1.0.0")


def glibc(layout: Path, tag: str, work: Path) -> None:
    """A glibc image with a dynamically linked C program, a binary that a later layer
    deletes (whiteout), and a directory a later layer replaces (opaque)."""
    base = work / "rootfs-glibc"
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    rootfs(base, debs(GLIBC_DEBS), distroless=False)
    tools, newer = work / "tools-old", work / "tools-new"
    for d in (tools, newer):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    shutil.copy(BIN / "go-linux-amd64-stripped", tools / "old-a")
    shutil.copy(BIN / "go-linux-amd64-ldflags", tools / "old-b")
    shutil.copy(BIN / "go-linux-amd64-vcs", newer / "current")
    image = f"{layout}:{tag}"
    _umoci_image(layout, tag)
    run("umoci", "insert", "--image", image, base, "/")
    run("umoci", "insert", "--image", image, BIN / "c-hello-plain", "/usr/local/bin/hello")
    run("umoci", "insert", "--image", image, BIN / "go-linux-amd64-cgo",
        "/usr/local/bin/removed")
    run("umoci", "insert", "--image", image, tools, "/opt/tools")
    run("umoci", "insert", "--image", image, "--whiteout", "/usr/local/bin/removed")
    run("umoci", "insert", "--image", image, "--opaque", newer, "/opt/tools")
    _config(layout, tag, "amd64", "org.opencontainers.image.title=glibc-hello")


def _blob(layout: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return f"sha256:{digest}"


def multiarch(layout: Path, tag: str, platforms: dict[str, str]) -> None:
    """An OCI index over the platform images already in the layout (tag -> arch)."""
    index_path = layout / "index.json"
    index = json.loads(index_path.read_text())
    by_tag = {m["annotations"]["org.opencontainers.image.ref.name"]: m
              for m in index["manifests"]}
    manifests = []
    for platform_tag, arch in platforms.items():
        desc = dict(by_tag[platform_tag])
        desc.pop("annotations", None)
        desc["platform"] = {"architecture": arch, "os": "linux"}
        manifests.append(desc)
    blob = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                       "manifests": manifests}, sort_keys=True).encode()
    digest = _blob(layout, blob)
    index["manifests"].append({
        "mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest,
        "size": len(blob), "annotations": {"org.opencontainers.image.ref.name": tag}})
    index_path.write_text(json.dumps(index))


def build(root: Path) -> Path:
    """Build every test image under `root` (once); returns `root`."""
    marker = root / "done"
    if marker.exists() and marker.read_text() == RECIPE:
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    layout, work = root / "oci", root / "work"
    work.mkdir()
    distroless(layout, "distroless", work, "go-linux-amd64", "amd64")
    glibc(layout, "glibc", work)
    for tag, binary, arch in (("svc-amd64", "go-linux-amd64", "amd64"),
                              ("svc-arm64", "go-linux-arm64", "arm64"),
                              ("svc-loong64", "go-linux-loong64", "loong64")):
        distroless(layout, tag, work, binary, arch)
    multiarch(layout, "svc", {"svc-amd64": "amd64", "svc-arm64": "arm64",
                              "svc-loong64": "loong64"})
    run("umoci", "gc", "--layout", layout)
    run("skopeo", "copy", "-q", f"oci:{layout}:glibc",
        f"docker-archive:{root / 'glibc.docker.tar'}:example.com/team/glibc-hello:1.0")
    run("skopeo", "copy", "-q", f"oci:{layout}:distroless",
        f"oci-archive:{root / 'distroless.oci.tar'}:1.0")
    shutil.rmtree(work)
    marker.write_text(RECIPE)
    return root


def demo(layout: Path) -> None:
    """The README's demo image: the bundled LoongArch service on a distroless-style base
    (base-files and netbase), committed under tests/assets/images/demo-oci."""
    import tempfile

    shutil.rmtree(layout, ignore_errors=True)
    with tempfile.TemporaryDirectory() as work:
        distroless(layout, "1.0", Path(work), "go-linux-loong64", "loong64",
                   packages=("base-files", "netbase"))
    run("umoci", "gc", "--layout", layout)


if __name__ == "__main__":
    import sys

    demo(Path(sys.argv[1]))
