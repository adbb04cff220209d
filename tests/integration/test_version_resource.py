"""Windows version resources: a DLL that names its product and version in VS_VERSIONINFO.

Real part: zlib1.dll of Debian 12's `libz-mingw-w64` (1.2.13+dfsg-1, zlib licence), fetched
with `apt-get download` and cached in `.cache/debs`. Ground truth: the package's version,
1.2.13, and `ProductName` zlib as the resource states it (`FileVersion` 1.2.13).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sbomsign import sbom
from sbomsign.models import ComponentKind
from sbomsign.scan import scan_paths
from tests.images import debs


@pytest.fixture(scope="module")
def zlib1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    (deb,) = debs(("libz-mingw-w64",))
    root = tmp_path_factory.mktemp("zlib")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root / "usr" / "x86_64-w64-mingw32" / "lib" / "zlib1.dll"


def test_the_version_resource_names_the_product(zlib1: Path) -> None:
    (artifact,) = scan_paths([str(zlib1)], jobs=1).artifacts
    (product,) = [c for c in artifact.components if c.found_by == "version resource"]
    assert (product.kind, product.name, product.version) == (ComponentKind.PACKAGE, "zlib",
                                                              "1.2.13")
    # the resource names no purl or CPE; the deflate banner the DLL also keeps is the zlib
    # classifier's, which gives them: one component with both findings as evidence
    assert [c.name for c in artifact.components].count("zlib") == 1
    assert product.purl == "pkg:generic/zlib@1.2.13"
    assert product.cpe == "cpe:2.3:a:zlib:zlib:1.2.13:*:*:*:*:*:*:*"
    assert [e.source for e in product.evidence][-1] == "version string"
    assert ("sbomsign:version-resource:OriginalFilename", "zlib1.dll") in product.properties
    # The artifact's version is the product's, as for a package note.
    doc = json.loads(sbom.write(artifact, "cyclonedx-json"))
    assert doc["metadata"]["component"]["version"] == "1.2.13"
    assert any(c["name"] == "zlib" and c["version"] == "1.2.13"
               for c in doc["metadata"]["component"].get("components", []) + doc.get(
                   "components", []))


def test_a_pe_file_without_a_version_resource_gets_no_product(tmp_path: Path) -> None:
    from tests.conftest import BIN

    (artifact,) = scan_paths([str(BIN / "pe-hello.exe")], jobs=1).artifacts
    assert not [c for c in artifact.components if c.found_by == "version resource"]


def test_more_real_pe_files_name_their_product(tmp_path: Path) -> None:
    import sys
    import zipfile

    from tests.images import CACHE

    # Debian's win32-loader.exe: the resource's product and version (the package's version
    # with the resource's own "+kernels" note) and its company as supplier
    (deb,) = debs(("win32-loader",))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path / "deb")], check=True)
    loader = tmp_path / "deb" / "usr" / "share" / "win32" / "win32-loader.exe"
    version = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True,
                             text=True, check=True).stdout.strip()
    (artifact,) = scan_paths([str(loader)], jobs=1).artifacts
    (product,) = [c for c in artifact.components if c.found_by == "version resource"]
    assert product.name == "win32-loader" and product.version.split()[0] == version
    assert product.supplier == "The Debian Project"
    # distlib's script launchers (PyPI wheel), for x64 and arm64
    wheels = CACHE.parent / "wheels"
    if not list(wheels.glob("distlib-0.3.9-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "distlib==0.3.9", "-d", str(wheels)], check=True)
    (wheel,) = wheels.glob("distlib-0.3.9-*.whl")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp_path / "wheel", [m for m in z.namelist() if m.endswith(".exe")])
    for name in ("t64.exe", "w64-arm.exe"):
        (artifact,) = scan_paths([str(tmp_path / "wheel" / "distlib" / name)], jobs=1).artifacts
        (product,) = [c for c in artifact.components if c.found_by == "version resource"]
        assert (product.name, product.version) == ("Simple Launcher", "1.1.0.14"), name
