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
#: (Debian package, file inside it, the component sbomsign must report, its CPE prefix, how it
#: is linked). The version it must report is the package's upstream version.
CASES = [
    ("bash", "bin/bash", "bash", "cpe:2.3:a:gnu:bash:", Linking.NONE),
    ("busybox", "bin/busybox", "busybox", "cpe:2.3:a:busybox:busybox:", Linking.NONE),
    ("nginx", "usr/sbin/nginx", "nginx", "cpe:2.3:a:f5:nginx:", Linking.NONE),
    ("libssl3", "usr/lib/x86_64-linux-gnu/libcrypto.so.3", "openssl",
     "cpe:2.3:a:openssl:openssl:", Linking.STATIC),
    ("libcurl4", "usr/lib/x86_64-linux-gnu/libcurl.so.4", "libcurl",
     "cpe:2.3:a:haxx:libcurl:", Linking.STATIC),
    ("curl", "usr/bin/curl", "curl", "cpe:2.3:a:haxx:curl:", Linking.NONE),
    ("jq", "usr/bin/jq", "jq", "cpe:2.3:a:jqlang:jq:", Linking.NONE),
    ("redis-tools", "usr/bin/redis-check-rdb", "redis", "cpe:2.3:a:redis:redis:", Linking.NONE),
    ("redis-tools", "usr/bin/redis-cli", "redis", "cpe:2.3:a:redis:redis:", Linking.NONE),
    ("libsqlite3-0", "usr/lib/x86_64-linux-gnu/libsqlite3.so.0", "sqlite",
     "cpe:2.3:a:sqlite:sqlite:", Linking.STATIC),
    ("zlib1g", "lib/x86_64-linux-gnu/libz.so.1", "zlib", "cpe:2.3:a:zlib:zlib:", Linking.STATIC),
    ("libc6", "lib/x86_64-linux-gnu/libc.so.6", "glibc", "cpe:2.3:a:gnu:glibc:",
     Linking.STATIC),
    ("haproxy", "usr/sbin/haproxy", "haproxy", "cpe:2.3:a:haproxy:haproxy:", Linking.NONE),
    ("python3.11-minimal", "usr/bin/python3.11", "python", "cpe:2.3:a:python:python:",
     Linking.NONE),
    ("libnode108", "usr/lib/x86_64-linux-gnu/libnode.so.108", "node",
     "cpe:2.3:a:nodejs:node.js:", Linking.STATIC),
    ("musl", "lib/x86_64-linux-musl/libc.so", "musl", "cpe:2.3:a:musl-libc:musl:",
     Linking.STATIC),
    ("postgresql-client-15", "usr/lib/postgresql/15/bin/psql", "postgresql",
     "cpe:2.3:a:postgresql:postgresql:", Linking.NONE),
]
PACKAGES = tuple(sorted({case[0] for case in CASES}))


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """Package -> (its unpacked tree, its upstream release from the control data)."""
    out = {}
    for deb in debs(PACKAGES):
        package = run("dpkg-deb", "-f", deb, "Package").strip()
        version = run("dpkg-deb", "-f", deb, "Version").strip()
        # 1:1.2.13.dfsg-1+deb12u1 -> 1.2.13: no epoch, no Debian revision or repack suffix
        upstream = re.sub(r"^\d+:", "", version).rsplit("-", 1)[0]
        release = re.match(r"\d+(?:\.\d+)*", upstream)
        assert release, version
        root = tmp_path_factory.mktemp(package)
        run("dpkg-deb", "-x", deb, root)
        out[package] = (root, release.group())
    return out


def _found(artifact: Artifact) -> dict[str, tuple[str, str, Linking]]:
    return {c.name: (c.version, c.cpe, c.linking) for c in artifact.components
            if c.found_by == "version string"}


@pytest.mark.parametrize(("package", "member", "name", "cpe", "linking"), CASES,
                         ids=[case[1].rsplit("/", 1)[-1] for case in CASES])
def test_each_is_recognised_with_its_version_and_cpe(
    package: str, member: str, name: str, cpe: str, linking: Linking,
    unpacked: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    root, upstream = unpacked[package]
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


def test_users_add_their_own_classifiers(unpacked: dict[str, tuple[Path, str]],
                                         tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    # redis-benchmark is not in the built-in table; a user's entry recognises it
    root, upstream = unpacked["redis-tools"]
    binary = root / "usr" / "bin" / "redis-benchmark"
    assert "redis-benchmark" not in _found(scan_file(str(binary)))
    table = tmp_path / "mine.json"
    table.write_text(json.dumps({"classifiers": [{
        "name": "redis-benchmark", "cpe": "redis:redis", "linking": "none",
        "version": "\\x00(?P<version>\\d{1,2}\\.\\d{1,2}\\.\\d{1,3})\\x00",
        "requires": ["Usage: redis-benchmark"]}]}))
    cli = [sys.executable, "-m", "sbomsign", "scan", str(binary), "--format", "json"]
    done = subprocess.run([*cli, "--classifiers", str(table)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (artifact,) = json.loads(done.stdout)["artifacts"]
    found = {c["name"]: c for c in artifact["components"] if c.get("found_by") == "version string"}
    assert found["redis-benchmark"]["version"] == upstream
    assert found["redis-benchmark"]["cpe"] == f"cpe:2.3:a:redis:redis:{upstream}:*:*:*:*:*:*:*"
    # a bad table stops the run before anything is scanned: one line, exit 2
    table.write_text(json.dumps({"classifiers": [{"name": "x", "version": "(?P<version>(a+)+)"}]}))
    done = subprocess.run([*cli, "--classifiers", str(table)], capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "exponential time" in done.stderr
    done = subprocess.run([*cli, "--classifiers", str(tmp_path / "absent.json")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "cannot read the classifier file" in done.stderr
