"""Images as scan sources, on images built from real parts (`tests/images.py`), compared with
syft on the same images."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from sbomsign.models import ComponentKind, Container, Inventory
from sbomsign.sbom import write
from sbomsign.scan import scan_paths
from tests.images import build

ROOT = Path(__file__).resolve().parents[2]
SYFT = Path(sys.executable).parent / "syft"


@pytest.fixture(scope="session")
def images() -> Path:
    """The test images (built once per checkout, under .cache/images)."""
    return build(ROOT / ".cache" / "images")


def _scan(name: str, **kwargs: Any) -> Inventory:
    inventory = scan_paths([name], jobs=2, **kwargs)
    assert not inventory.problems, inventory.problems
    return inventory


def _syft(name: str) -> dict[str, Any]:
    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false")
    out = subprocess.run([str(SYFT), "scan", name, "-o", "json", "-q"], env=env,
                         capture_output=True, text=True, check=True, timeout=300)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def syft_packages(name: str, kind: str) -> set[tuple[str, str, str]]:
    """(name, version, purl) of the packages of type `kind` (`deb`, `apk`, `rpm`) syft
    finds in the image `name`."""
    return {(a["name"], a["version"], a["purl"]) for a in _syft(name)["artifacts"]
            if a["type"] == kind}


def packages(container: Container) -> set[tuple[str, str, str]]:
    """(name, version, purl) of the container's OS packages, as `syft_packages` gives them."""
    return {(p.name, p.version, p.purl) for p in container.packages}


def read_like_syft(layout: Path, kind: str, database: str, count: int) -> Container:
    """The one image of the layout `layout` (tag 1.0), read from its `database` without a
    problem, with the same `count` packages of type `kind` as syft finds."""
    inventory = scan_paths([f"oci-dir:{layout}:1.0"], jobs=1)
    assert not inventory.problems
    (container,) = inventory.containers
    assert container.package_database == database
    theirs = syft_packages(f"oci-dir:{layout}", kind)
    assert len(theirs) == count and packages(container) == theirs
    return container


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sbomsign", *argv], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)


def _same_as_syft(inventory: Inventory, syft: dict[str, Any]) -> None:
    """Every package and Go module syft lists, sbomsign lists too (same name and version)."""
    container = inventory.containers[0]
    theirs = {(a["name"], a["version"], a["purl"]) for a in syft["artifacts"]
              if a["type"] == "deb"}
    assert theirs and packages(container) == theirs
    _licences_as_syft(container, syft)
    modules = {(c.name, c.version) for a in inventory.artifacts for c in a.components
               if c.kind in (ComponentKind.GO_MODULE, ComponentKind.GO_STDLIB)}
    # NOTE: syft lists a replaced module under its replacement; sbomsign keeps the required
    # module with the replacement recorded on it.
    modules |= {(c.replacement.path, c.replacement.version) for a in inventory.artifacts
                for c in a.components if c.replacement is not None}
    syft_modules = {(a["name"], a["version"].removeprefix("go")) for a in syft["artifacts"]
                    if a["type"] == "go-module" and a["version"] != "(devel)"
                    and not a["name"].startswith("example.com/sbomsign/demo")}
    # NOTE: syft also lists the main module, as a module; sbomsign lists it as the main
    # module of the binary (checked elsewhere), so it is left out of both sides here.
    assert syft_modules <= {(n, v.removeprefix("go")) for n, v in modules}


def _licences_as_syft(container: Container, syft: dict[str, Any]) -> None:
    """Each Debian package names the licences syft finds in its copyright file; it has SPDX
    licences only where the file declares them (DEP-5), and then the ones syft gives."""
    debs = {a["name"]: a["licenses"] for a in syft["artifacts"] if a["type"] == "deb"}
    for package in container.packages:
        theirs = debs[package.name]
        names = dict(package.properties).get("sbomsign:os-package:license", "")
        assert set(filter(None, names.split(", "))) == {lic["value"] for lic in theirs}
        if package.licenses:
            assert set(package.licenses) == {lic["spdxExpression"] for lic in theirs}


def test_distroless_image_matches_syft_and_knows_more(images: Path) -> None:
    name = f"oci-dir:{images / 'oci'}:distroless"
    inventory = _scan(name)
    _same_as_syft(inventory, _syft(f"oci-archive:{images / 'distroless.oci.tar'}"))
    (container,) = inventory.containers
    manifest_digest = _tagged(images / "oci", "distroless")
    assert container.digests.sha256 == manifest_digest.removeprefix("sha256:")
    assert container.platform == "linux/amd64"
    assert container.distro == "debian-12"
    assert container.package_database == "dpkg status.d"
    assert dict(container.labels)["org.opencontainers.image.title"] == "demo-svc"
    assert container.purl.startswith(f"pkg:oci/oci@{manifest_digest}?arch=amd64")
    assert [layer.digest for layer in container.layers] == _layers(images / "oci",
                                                                   manifest_digest)
    (server,) = inventory.artifacts
    assert server.path == "/app/server" and server.container == container.ref
    # Beyond syft: the layer that put the binary there.
    (placed,) = container.files
    assert placed.layer == container.layers[-1].digest
    assert server.go is not None and server.go.setting("CGO_ENABLED") == "0"
    # netbase's copyright file is machine-readable (DEP-5); tzdata's names no SPDX licence
    licences = {p.name: p.licenses for p in container.packages}
    assert licences == {"base-files": (), "netbase": ("GPL-2.0-only",), "tzdata": ()}
    # tzdata declares its licence by a name SPDX has no identifier for: it is kept as a name
    # (CycloneDX `license.name`). base-files only points at a licence text: no declaration.
    names = {p.name: p.license_names for p in container.packages}
    assert names == {"base-files": (), "netbase": (), "tzdata": ("public-domain",)}


def test_glibc_image_whiteouts_ownership_and_library_edges(images: Path) -> None:
    inventory = _scan(f"oci-dir:{images / 'oci'}:glibc")
    (container,) = inventory.containers
    paths = {f.path for f in container.files}
    # A later layer deleted /usr/local/bin/removed and replaced /opt/tools (opaque).
    assert "/usr/local/bin/removed" not in paths
    assert {p for p in paths if p.startswith("/opt/")} == {"/opt/tools/current"}
    assert container.package_database == "dpkg"
    libc6 = next(p for p in container.packages if p.name == "libc6")
    # the product table maps Debian's glibc packages to the NVD's gnu:glibc; gcc's base
    # package has no mapping and gets no CPE (none is made up)
    upstream = libc6.version.split("-")[0]
    assert libc6.cpe == f"cpe:2.3:a:gnu:glibc:{upstream}:*:*:*:*:*:*:*"
    assert next(p for p in container.packages if p.name == "gcc-12-base").cpe == ""
    owned = {f.path for f in container.files if f.package == libc6.ref}
    assert "/lib/x86_64-linux-gnu/libc.so.6" in owned
    hello = [link for link in container.links if link.binary == "/usr/local/bin/hello"]
    assert [(k.library, k.resolved, k.package) for k in hello] == [
        ("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", libc6.ref)]


def test_docker_and_oci_archives_read_like_the_layout(images: Path) -> None:
    layout = _scan(f"oci-dir:{images / 'oci'}:glibc")
    docker = _scan(f"docker-archive:{images / 'glibc.docker.tar'}")
    (c_layout,), (c_docker,) = layout.containers, docker.containers
    assert c_docker.packages == c_layout.packages
    assert {(f.path, f.sha256) for f in c_docker.files} == {
        (f.path, f.sha256) for f in c_layout.files}
    # A `docker save` archive has no manifest digest: it is named by its image ID, as syft
    # and `docker images` name it.
    syft = _syft(f"docker-archive:{images / 'glibc.docker.tar'}")
    assert f"sha256:{c_docker.digests.sha256}" == syft["source"]["metadata"]["imageID"]
    assert c_docker.repository == "example.com/team/glibc-hello" and c_docker.tag == "1.0"
    # --platform holds for a docker save archive too
    other = scan_paths([f"docker-archive:{images / 'glibc.docker.tar'}"], platform="linux/arm64")
    assert other.problems[0].message == "the image is linux/amd64, not linux/arm64"
    assert not other.artifacts
    _same_as_syft(docker, syft)
    archived = _scan(f"oci-archive:{images / 'distroless.oci.tar'}")
    assert archived.containers[0].digests.sha256 == _tagged(
        images / "oci", "distroless").removeprefix("sha256:")


def test_multi_platform_index_gives_one_container_per_platform(images: Path) -> None:
    name = f"oci-dir:{images / 'oci'}:svc"
    inventory = _scan(name)
    platforms = sorted(c.platform for c in inventory.containers)
    assert platforms == ["linux/amd64", "linux/arm64", "linux/loong64"]
    for c in inventory.containers:
        (artifact,) = inventory.contents(c)
        arch = {"linux/amd64": "x86_64", "linux/arm64": "aarch64",
                "linux/loong64": "loongarch64"}[c.platform]
        assert artifact.binaries[0].arch == arch
    picked = _scan(name, platform="linux/loong64")
    assert [c.platform for c in picked.containers] == ["linux/loong64"]
    missing = scan_paths([name], platform="linux/s390x")
    assert "no image for platform linux/s390x" in missing.problems[0].message


def test_image_sboms_validate_and_are_reproducible(images: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    inventory = _scan(f"oci-dir:{images / 'oci'}:glibc")
    (container,) = inventory.containers
    cdx = write(inventory, "cyclonedx-json")
    # The same image scanned again, in another work directory, gives the same bytes.
    assert write(_scan(f"oci-dir:{images / 'oci'}:glibc"), "cyclonedx-json") == cdx
    assert write(_scan(f"docker-archive:{images / 'glibc.docker.tar'}"),
                 "spdx-json") == write(_scan(f"docker-archive:{images / 'glibc.docker.tar'}"),
                                       "spdx-json")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cdx.decode()) is None
    doc = json.loads(cdx)
    root = doc["metadata"]["component"]
    assert root["type"] == "container" and root["bom-ref"] == container.ref
    graph = {d["ref"]: set(d.get("dependsOn", [])) for d in doc["dependencies"]}
    libc6 = next(p for p in container.packages if p.name == "libc6").ref
    assert libc6 in graph[container.ref]
    hello = next(a for a in inventory.artifacts if a.path == "/usr/local/bin/hello")
    assert libc6 in graph[f"artifact:sha256:{hello.digests.sha256}"]
    spdx = json.loads(write(inventory, "spdx-json"))
    described = [r["relatedSpdxElement"] for r in spdx["relationships"]
                 if r["relationshipType"] == "DESCRIBES"]
    (root_pkg,) = [p for p in spdx["packages"] if p["SPDXID"] == described[0]]
    assert root_pkg["primaryPackagePurpose"] == "CONTAINER"
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    path = tmp_path / "glibc.spdx.json"
    path.write_bytes(write(inventory, "spdx-json"))
    assert validate_full_spdx_document(parse_file(str(path))) == []


def test_cli_writes_one_document_per_platform(images: Path, tmp_path: Path) -> None:
    done = _cli("sbom", f"oci-dir:{images / 'oci'}:svc", "--output-dir", str(tmp_path),
                "--format", "cyclonedx-json,spdx-json")
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"oci-svc-linux-{arch}.{suffix}" for arch in
                           ("amd64", "arm64", "loong64") for suffix in ("cdx.json", "spdx.json"))
    table = _cli("scan", f"oci-dir:{images / 'oci'}:distroless")
    assert table.returncode == 0
    assert "packages   3 from dpkg status.d" in table.stdout
    # each package on a line, with its declared licence where it maps to SPDX
    rows = [line.split() for line in table.stdout.splitlines() if line.startswith("    ")]
    netbase = next(r for r in rows if r[0] == "netbase")
    assert netbase[2] == "GPL-2.0-only" and netbase[3].startswith("pkg:deb/debian/netbase@")
    assert next(r for r in rows if r[0] == "tzdata")[2] == "-"


def _tagged(layout: Path, tag: str) -> str:
    index = json.loads((layout / "index.json").read_text())
    return next(str(m["digest"]) for m in index["manifests"]
                if m["annotations"]["org.opencontainers.image.ref.name"] == tag)


def _layers(layout: Path, digest: str) -> list[str]:
    manifest = json.loads((layout / "blobs" / "sha256" / digest.split(":")[1]).read_text())
    return [str(layer["digest"]) for layer in manifest["layers"]]


@pytest.mark.parametrize("spec", ["1.6", "1.7"])
def test_direct_cyclonedx_writer_gives_the_librarys_bytes(
        images: Path, spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """sbomsign writes CycloneDX JSON without cyclonedx-python-lib (`fastwrite`, about eight
    times faster on the glibc image); on images, packages and archives it must give exactly
    the library's document."""
    from sbomsign._internal.sbom.cyclonedx import fastwrite
    from tests.images import debs

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    libc6, netbase = debs(("libc6", "netbase"))
    # netbase holds no binary: the package alone, with its declared licence
    subjects = [_scan(f"oci-dir:{images / 'oci'}:glibc"),
                _scan(f"oci-archive:{images / 'distroless.oci.tar'}"),
                _scan(str(libc6)), _scan(str(netbase))]
    # (supplier, author, profile)
    options = [("", "", ""), ("Organization: Acme (sec@acme.example)", "Team", "bsi")]
    cases = [(inv, opts) for inv in subjects for opts in options]

    def document(inv: Inventory, opts: tuple[str, str, str]) -> bytes:
        return write(inv, "cyclonedx-json", spec_version=spec, supplier=opts[0],
                     author=opts[1], profile=opts[2])

    direct = [document(inv, opts) for inv, opts in cases]

    def unsupported(*_: object) -> bytes:
        raise fastwrite.Unsupported("compare with the library")

    monkeypatch.setattr(fastwrite, "write", unsupported)
    for (inv, opts), doc in zip(cases, direct, strict=True):
        assert document(inv, opts) == doc


def test_package_licences_survive_every_format(images: Path, tmp_path: Path) -> None:
    """netbase declares GPL-2 in its DEP-5 copyright file: each format carries it as the
    package's declared licence, valid, and reading the document back gives it again (which
    is what `sbom.allowedLicenses` judges)."""
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    from sbomsign.sbom import read

    inventory = _scan(f"oci-dir:{images / 'oci'}:distroless")
    for fmt in ("cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tv", "spdx3-json"):
        back = read(write(inventory, fmt), fmt)
        licences = {c.name: c.licenses for a in back.artifacts for c in a.components
                    if c.name in ("netbase", "tzdata")}
        assert licences == {"netbase": ("GPL-2.0-only",), "tzdata": ()}, fmt
    spdx = json.loads(write(inventory, "spdx-json"))
    (netbase,) = [p for p in spdx["packages"] if p["name"] == "netbase"]
    assert netbase["licenseDeclared"] == "GPL-2.0-only"
    path = tmp_path / "distroless.spdx.json"
    path.write_bytes(write(inventory, "spdx-json"))
    assert validate_full_spdx_document(parse_file(str(path))) == []


def _docker_save(layout: Path, tag: str, out: Path, *, only: str = "") -> Path:
    """A `docker save` archive as Docker 25 and later write it: an OCI layout (index.json
    naming the image as saved) with Docker's `manifest.json` beside it, whose `Config` and
    `Layers` are paths of blobs. `only` keeps one platform's blobs of an index, as
    `docker save --platform` does with the containerd image store."""
    import tarfile

    blobs = layout / "blobs" / "sha256"
    root = next(m for m in json.loads((layout / "index.json").read_text())["manifests"]
                if m["annotations"]["org.opencontainers.image.ref.name"] == tag)
    doc = json.loads((blobs / root["digest"].split(":")[1]).read_text())
    kept = [root["digest"]]
    manifests = [(root["digest"], doc)]
    if "manifests" in doc:
        manifests = [(m["digest"], json.loads((blobs / m["digest"].split(":")[1]).read_text()))
                     for m in doc["manifests"] if m["platform"]["architecture"] == only]
    (digest, manifest), = manifests
    kept += [digest, manifest["config"]["digest"], *(x["digest"] for x in manifest["layers"])]
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [dict(root, annotations={
                 "io.containerd.image.name": f"example.com/team/app:{tag}",
                 "org.opencontainers.image.ref.name": tag})]}
    entry = [{"Config": "blobs/sha256/" + manifest["config"]["digest"].split(":")[1],
              "RepoTags": [f"example.com/team/app:{tag}"],
              "Layers": ["blobs/sha256/" + x["digest"].split(":")[1]
                         for x in manifest["layers"]]}]
    with tarfile.open(out, "w") as tar:
        for name, data in (("oci-layout", (layout / "oci-layout").read_bytes()),
                           ("index.json", json.dumps(index).encode()),
                           ("manifest.json", json.dumps(entry).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for d in dict.fromkeys(kept):
            tar.add(blobs / d.split(":")[1], f"blobs/sha256/{d.split(':')[1]}")
    return out


def test_docker_save_since_docker_25_is_named_by_its_manifest(images: Path,
                                                              tmp_path: Path) -> None:
    """Since Docker 25, `docker save` writes an OCI layout too: the image is named by the
    manifest it holds (with the containerd image store, the registry's digest), not by its
    image ID, and reads as the layout does."""
    layout = images / "oci"
    archive = _docker_save(layout, "distroless", tmp_path / "distroless.tar")
    (saved,) = _scan(f"docker-archive:{archive}").containers
    (direct,) = _scan(f"oci-dir:{layout}:distroless").containers
    assert saved.digests == direct.digests and saved.layers == direct.layers
    assert saved.config_digest == direct.config_digest
    assert saved.packages == direct.packages
    assert saved.repository == "example.com/team/app" and saved.tag == "distroless"
    # One platform of a multi-platform index, the others' blobs not saved.
    arm = _docker_save(layout, "svc", tmp_path / "svc.tar", only="arm64")
    (platform,) = _scan(f"docker-archive:{arm}").containers
    (expected,) = _scan(f"oci-dir:{layout}:svc", platform="linux/arm64").containers
    assert platform.platform == "linux/arm64" and platform.digests == expected.digests
    # A manifest whose bytes do not match its digest is not used: the image is read by
    # manifest.json and its layers' diff IDs, named by its image ID, with a warning.
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(archive) as src, tarfile.open(tampered, "w") as dst:
        for member in src:
            data = src.extractfile(member).read() if member.isreg() else b""  # type: ignore[union-attr]
            if member.name == f"blobs/sha256/{direct.digests.sha256}":
                data = data.replace(b"{", b"{ ", 1)  # the same JSON, other bytes
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    notes: list[str] = []
    fallback = scan_paths([f"docker-archive:{tampered}"], jobs=1, warn=notes.append)
    (named,) = fallback.containers
    assert f"sha256:{named.digests.sha256}" == direct.config_digest
    assert named.packages == direct.packages
    assert any("its OCI layout is not used" in n and "image ID" in n for n in notes), notes
