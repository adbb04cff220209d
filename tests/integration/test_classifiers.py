"""Programs and libraries recognised by the version strings they keep, on Debian 12's own
packages (fetched with `apt-get download`): the version each package's control data gives is
the ground truth, and a renamed copy is recognised the same."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sbomsign.models import Artifact, Linking
from sbomsign.scan import scan_file
from tests.images import debs, run

ROOT = Path(__file__).resolve().parents[2]
#: Debian package -> (file inside it, the component sbomsign must report, its CPE prefix).
CASES = {
    "bash": ("bin/bash", "bash", "cpe:2.3:a:gnu:bash:", Linking.NONE),
    "busybox": ("bin/busybox", "busybox", "cpe:2.3:a:busybox:busybox:", Linking.NONE),
    "nginx": ("usr/sbin/nginx", "nginx", "cpe:2.3:a:f5:nginx:", Linking.NONE),
    "libssl3": ("usr/lib/x86_64-linux-gnu/libcrypto.so.3", "openssl",
                "cpe:2.3:a:openssl:openssl:", Linking.STATIC),
    "libcurl4": ("usr/lib/x86_64-linux-gnu/libcurl.so.4", "libcurl",
                 "cpe:2.3:a:haxx:libcurl:", Linking.STATIC),
}


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """Package -> (its unpacked tree, its upstream version from the control data)."""
    out = {}
    for deb in debs(tuple(CASES)):
        package = run("dpkg-deb", "-f", deb, "Package").strip()
        version = run("dpkg-deb", "-f", deb, "Version").strip()
        upstream = re.sub(r"^\d+:", "", version).rsplit("-", 1)[0]
        root = tmp_path_factory.mktemp(package)
        run("dpkg-deb", "-x", deb, root)
        out[package] = (root, upstream)
    return out


def _found(artifact: Artifact) -> dict[str, tuple[str, str, Linking]]:
    return {c.name: (c.version, c.cpe, c.linking) for c in artifact.components
            if c.found_by == "version string"}


@pytest.mark.parametrize("package", sorted(CASES))
def test_each_is_recognised_with_its_version_and_cpe(
    package: str, unpacked: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    root, upstream = unpacked[package]
    member, name, cpe, linking = CASES[package]
    path = (root / member).resolve()
    found = _found(scan_file(str(path)))
    assert found[name] == (upstream, f"{cpe}{upstream}:*:*:*:*:*:*:*", linking)
    # the same bytes under another name: recognised by content, not by file name
    renamed = tmp_path / "renamed"
    shutil.copy(path, renamed)
    assert _found(scan_file(str(renamed)))[name][0] == upstream


def test_built_with_is_not_compiled_in(unpacked: dict[str, tuple[Path, str]]) -> None:
    # nginx prints the OpenSSL it was built with (nginx -V) and links libssl dynamically:
    # that string alone is no compiled-in OpenSSL.
    root, _ = unpacked["nginx"]
    found = _found(scan_file(str(root / "usr" / "sbin" / "nginx")))
    assert set(found) == {"nginx"}


def test_the_fixtures_built_here_claim_nothing() -> None:
    for path in sorted((ROOT / "tests" / "assets" / "bin").iterdir()):
        assert _found(scan_file(str(path))) == {}, path.name
