"""Alpine's package database (apk `lib/apk/db/installed`) in an image, on a real database
from syft's test data (`tests/assets/apk/`), compared with what syft reads from the same
image: every package with the same name, version and purl, and the files each owns."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sbomsign.scan import scan_paths
from tests.conftest import ASSETS, BIN
from tests.images import rootfs_image
from tests.integration.test_images import _syft, packages, read_like_syft

APK = ASSETS / "apk"


@pytest.fixture(scope="module")
def alpine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An OCI layout, tag 1.0: the apk database, os-release, and a binary at a path the
    database says busybox owns."""
    work = tmp_path_factory.mktemp("alpine")
    root = work / "rootfs"
    (root / "lib" / "apk" / "db").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "bin").mkdir()
    shutil.copy(APK / "installed", root / "lib" / "apk" / "db" / "installed")
    shutil.copy(APK / "os-release", root / "etc" / "os-release")
    shutil.copy(BIN / "go-linux-amd64", root / "bin" / "busybox")
    return rootfs_image(root, work / "oci")


def test_the_apk_database_as_syft_reads_it(alpine: Path) -> None:
    name = f"oci-dir:{alpine}:1.0"
    inventory = scan_paths([name], jobs=1)
    assert not inventory.problems
    (container,) = inventory.containers
    assert container.package_database == "apk"
    assert container.distro == "alpine-3.11.6"
    syft = _syft(f"oci-dir:{alpine}")
    theirs = {(a["name"], a["version"], a["purl"]) for a in syft["artifacts"]
              if a["type"] == "apk"}
    assert len(theirs) == 14 and packages(container) == theirs
    busybox = next(p for p in container.packages if p.name == "busybox")
    assert busybox.version == "1.35.0-r17"
    assert busybox.purl.startswith("pkg:apk/alpine/busybox@1.35.0-r17?arch=x86_64")
    # Licences: SPDX where apk's field is an expression of known identifiers, as syft reads
    # them; the old space-separated form ("MIT BSD GPL2+") names no expression and gives
    # none, its text kept as written.
    licences = {p.name: p.licenses for p in container.packages}
    syft_licences = {a["name"]: tuple(sorted(lic["spdxExpression"] for lic in a["licenses"]))
                     for a in syft["artifacts"] if a["type"] == "apk"}
    assert licences["ca-certificates-bundle"] == ("MPL-2.0 AND MIT",)
    assert licences["musl-utils"] == ()
    assert dict(next(p for p in container.packages if p.name == "musl-utils").properties)[
        "sbomsign:os-package:license"] == "MIT BSD GPL2+"
    assert {n: v for n, v in licences.items() if v} == {
        n: v for n, v in syft_licences.items() if n != "musl-utils"}
    # Beyond syft's package list: which package owns the binary found in the image.
    (placed,) = container.files
    assert placed.path == "/bin/busybox" and placed.package == busybox.ref


def test_a_truncated_apk_database_gives_the_records_before_the_damage(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "lib" / "apk" / "db").mkdir(parents=True)
    (root / "lib" / "apk" / "db" / "installed").write_bytes(
        (APK / "installed").read_bytes()[:3000] + b"\xff\xfe not a record\n")
    (root / "app").mkdir()
    shutil.copy(BIN / "go-linux-amd64", root / "app" / "server")
    layout = rootfs_image(root, tmp_path / "oci")
    inventory = scan_paths([f"oci-dir:{layout}:1.0"], jobs=1)
    assert [a.path for a in inventory.artifacts] == ["/app/server"]
    assert not inventory.problems
    (container,) = inventory.containers
    # the complete records before the cut (the first four packages), nothing invented after
    assert {p.name for p in container.packages} == {
        "alpine-baselayout-data", "musl", "busybox", "alpine-baselayout"}


def test_a_usr_merged_image_keeps_the_database_under_usr(tmp_path: Path) -> None:
    """Wolfi and Chainguard's images, and Alpine since its /usr merge, keep the database at
    /usr/lib/apk/db/installed with /lib a link to usr/lib: the same packages as syft, and the
    owner of a binary the database names by its /bin path."""
    root = tmp_path / "rootfs"
    (root / "usr" / "lib" / "apk" / "db").mkdir(parents=True)
    (root / "usr" / "bin").mkdir()
    (root / "etc").mkdir()
    (root / "lib").symlink_to("usr/lib")
    (root / "bin").symlink_to("usr/bin")
    shutil.copy(APK / "installed", root / "usr" / "lib" / "apk" / "db" / "installed")
    shutil.copy(APK / "os-release", root / "etc" / "os-release")
    shutil.copy(BIN / "go-linux-amd64", root / "usr" / "bin" / "busybox")
    container = read_like_syft(rootfs_image(root, tmp_path / "oci"), "apk", "apk", 14)
    busybox = next(p for p in container.packages if p.name == "busybox")
    assert busybox.evidence[0].location == "/usr/lib/apk/db/installed"
    (placed,) = container.files
    assert placed.path == "/usr/bin/busybox" and placed.package == busybox.ref
