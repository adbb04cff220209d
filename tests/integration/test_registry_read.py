"""Reading images from a real registry: Debian's docker-registry on 127.0.0.1, with
htpasswd authentication, filled with `skopeo copy` from the test images."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from sbomsign.scan import scan_paths
from tests.images import build, run
from tests.loopback import docker_registry, free_port

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "ci", "registry-secret"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """HOST:PORT of a running registry holding team/svc:1.0 and team/glibc:1.0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        hashed = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH))
    work = tmp_path_factory.mktemp("registry")
    (work / "htpasswd").write_text(f"{USER}:{hashed}\n")
    with docker_registry(work, {"htpasswd": {"realm": "test",
                                             "path": str(work / "htpasswd")}}) as host:
        images = build(ROOT / ".cache" / "images")
        creds = f"--dest-creds={USER}:{PASSWORD}"
        run("skopeo", "copy", "-q", "--dest-tls-verify=false", creds,
            f"oci:{images / 'oci'}:svc", f"docker://{host}/team/svc:1.0", "--all")
        run("skopeo", "copy", "-q", "--dest-tls-verify=false", creds,
            f"oci:{images / 'oci'}:glibc", f"docker://{host}/team/glibc:1.0")
        yield host


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: str) -> Path:
    import base64

    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {registry: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    return config


def test_multi_platform_image_from_a_registry(registry: str, docker_config: Path) -> None:
    inventory = scan_paths([f"registry:{registry}/team/svc:1.0"], jobs=2,
                           insecure_registries=[registry])
    assert not inventory.problems, inventory.problems
    assert sorted(c.platform for c in inventory.containers) == [
        "linux/amd64", "linux/arm64", "linux/loong64"]
    for c in inventory.containers:
        assert c.repository == f"{registry}/team/svc" and c.tag == "1.0"
        assert f"repository_url={registry}%2Fteam%2Fsvc" in c.purl
        assert c.package_database == "dpkg status.d"
    # The platform manifests keep their digests through the copy: the same images as the
    # layout's.
    layout = scan_paths([f"oci-dir:{build(ROOT / '.cache' / 'images') / 'oci'}:svc"], jobs=2)
    assert {c.digests.sha256 for c in layout.containers} == {
        c.digests.sha256 for c in inventory.containers}


def test_by_digest_and_platform(registry: str, docker_config: Path) -> None:
    first = scan_paths([f"registry:{registry}/team/glibc:1.0"], jobs=2,
                       insecure_registries=[registry])
    digest = first.containers[0].digests.sha256
    again = scan_paths([f"registry:{registry}/team/glibc@sha256:{digest}"], jobs=2,
                       insecure_registries=[registry], platform="linux/amd64")
    assert not again.problems
    assert again.containers[0].digests.sha256 == digest
    assert again.containers[0].packages == first.containers[0].packages


def test_registry_failures_are_one_line_exit_3(registry: str, docker_config: Path,
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def cli(name: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sbomsign", "scan", name, *extra],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)

    missing = cli(f"registry:{registry}/team/svc:nope", "--insecure-registry", registry)
    assert missing.returncode == 3
    assert "HTTP 404" in missing.stderr and len(missing.stderr.strip().splitlines()) <= 2
    tls = cli(f"registry:{registry}/team/svc:1.0")  # HTTPS to a plain-HTTP registry
    assert tls.returncode == 3 and "Traceback" not in tls.stderr
    closed = cli(f"registry:127.0.0.1:{free_port()}/team/svc:1.0",
                 "--insecure-registry", "ignored:1")
    assert closed.returncode == 3 and "Traceback" not in closed.stderr
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "empty"))
    refused = subprocess.run(
        [sys.executable, "-m", "sbomsign", "scan", f"registry:{registry}/team/svc:1.0",
         "--insecure-registry", registry], capture_output=True, text=True, timeout=120,
        cwd=ROOT, env={**__import__("os").environ, "DOCKER_CONFIG": str(tmp_path / "empty")})
    assert refused.returncode == 3 and "401" in refused.stderr


def _helper(directory: Path, name: str, script: str) -> None:
    """A docker credential helper `docker-credential-<name>` (a real program on PATH)."""
    directory.mkdir(exist_ok=True)
    path = directory / f"docker-credential-{name}"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def test_credentials_from_a_credential_helper(registry: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    bin_dir, config = tmp_path / "bin", tmp_path / "docker"
    # The protocol docker uses: `get`, the server on stdin, JSON on stdout.
    _helper(bin_dir, "vault", f'read host; [ "$1" = get ] && [ "$host" = "{registry}" ] && '
            f'printf \'{{"ServerURL":"%s","Username":"{USER}","Secret":"{PASSWORD}"}}\' '
            f'"$host" && exit 0; echo "credentials not found in native keychain"; exit 1')
    _helper(bin_dir, "broken", 'echo "error getting credentials - err: no keyring" >&2; exit 2')
    config.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    name = f"registry:{registry}/team/glibc:1.0"
    (config / "config.json").write_text(json.dumps({"credHelpers": {registry: "vault"}}))
    inventory = scan_paths([name], jobs=2, insecure_registries=[registry])
    assert not inventory.problems and inventory.containers, inventory.problems
    # credsStore: the helper for every host
    (config / "config.json").write_text(json.dumps({"credsStore": "vault"}))
    assert not scan_paths([name], jobs=2, insecure_registries=[registry]).problems
    # a failing helper is named in one line, exit 3
    (config / "config.json").write_text(json.dumps({"credHelpers": {registry: "broken"}}))
    failed = subprocess.run([sys.executable, "-m", "sbomsign", "scan", name,
                             "--insecure-registry", registry], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert failed.returncode == 3 and "Traceback" not in failed.stderr
    assert "docker-credential-broken failed: error getting credentials" in failed.stderr
    (config / "config.json").write_text(json.dumps({"credsStore": "absent"}))
    missing = scan_paths([name], jobs=2, insecure_registries=[registry])
    assert "docker-credential-absent is not installed" in missing.problems[0].message


def test_images_are_signed_and_copied_with_basic_authentication(
    registry: str, docker_config: Path, tmp_path: Path
) -> None:
    from sbomsign._cli import main

    key = tmp_path / "release"
    assert main(["keygen", "--no-password", "--output-prefix", str(key)]) == 0
    name = f"registry:{registry}/team/glibc:1.0"
    options = ["--insecure-registry", registry]
    assert main(["sign", "--key", f"{key}.key", *options, name]) == 0
    assert main(["verify", "--key", f"{key}.pub", *options, name]) == 0
    # every blob streams into the other repository through the same credentials
    assert main(["copy", *options, f"oci-dir:{build(ROOT / '.cache' / 'images') / 'oci'}:svc",
                 f"registry:{registry}/team/copied:1.0"]) == 0
    assert main(["copy", *options, name, f"registry:{registry}/team/signed:1.0"]) == 0
    assert main(["verify", "--key", f"{key}.pub", *options,
                 f"registry:{registry}/team/signed:1.0"]) == 0
