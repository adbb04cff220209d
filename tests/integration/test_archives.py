"""Release archives and packages as scan sources: tar (gzip, zstd), zip, and real `.deb` and
`.rpm` packages (Debian's libc6 from `apt-get download`, an rpm built by `rpmbuild`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from sbomsign.models import ComponentKind
from sbomsign.sbom import write
from sbomsign.scan import scan_paths
from tests.images import BIN, debs, rootfs_image, run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A goreleaser-style release directory: the service, a README, a licence."""
    root = tmp_path_factory.mktemp("release")
    tree = root / "demo-svc_1.0_linux_amd64"
    tree.mkdir()
    shutil.copy(BIN / "go-linux-amd64", tree / "demo-svc")
    (tree / "README.md").write_text("demo\n")
    (tree / "LICENSE").write_text("Apache-2.0\n")
    run("tar", "-czf", root / "demo.tar.gz", "-C", root, tree.name)
    run("tar", "--zstd", "-cf", root / "demo.tar.zst", "-C", root, tree.name)
    with zipfile.ZipFile(root / "demo.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(tree.iterdir()):
            z.write(f, f"{tree.name}/{f.name}")
    return root


@pytest.mark.parametrize("name", ["demo.tar.gz", "demo.tar.zst", "demo.zip"])
def test_release_archives(release: Path, name: str) -> None:
    inventory = scan_paths([str(release / name)], jobs=1)
    assert not inventory.problems
    (container,) = inventory.containers
    (artifact,) = inventory.artifacts
    assert container.kind == "archive" and artifact.container == container.ref
    assert artifact.path == "/demo-svc_1.0_linux_amd64/demo-svc"
    assert artifact.digests.sha256 == _sha256(BIN / "go-linux-amd64")
    assert container.digests.sha256 == _sha256(release / name)
    doc = json.loads(write(inventory, "cyclonedx-json"))
    assert doc["metadata"]["component"]["type"] == "file"
    assert doc["metadata"]["component"]["name"] == name


def test_debian_package_is_the_root_component() -> None:
    (libc6,) = debs(("libc6",))
    inventory = scan_paths([str(libc6)], jobs=2)
    assert not inventory.problems
    (container,) = inventory.containers
    version = run("dpkg-deb", "-f", libc6, "Version").strip()
    assert container.kind == "package" and container.version == version
    assert container.purl.startswith("pkg:deb/debian/libc6@")
    paths = {a.path for a in inventory.artifacts}
    assert "/lib/x86_64-linux-gnu/libc.so.6" in paths
    libm = [k for k in container.links if k.binary == "/lib/x86_64-linux-gnu/libm.so.6"]
    assert ("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6") in {
        (k.library, k.resolved) for k in libm}
    spdx = json.loads(write(inventory, "spdx-json"))
    root = next(p for p in spdx["packages"] if p.get("primaryPackagePurpose") == "INSTALL")
    assert root["name"] == libc6.name and root["versionInfo"] == version
    # The package's CPE, as the same package found in an image gets it (glibc's release).
    upstream = version.split("-")[0]
    assert container.cpe == f"cpe:2.3:a:gnu:glibc:{upstream}:*:*:*:*:*:*:*"
    assert {"referenceCategory": "SECURITY", "referenceType": "cpe23Type",
            "referenceLocator": container.cpe} in root["externalRefs"]
    cdx = json.loads(write(inventory, "cyclonedx-json"))
    assert cdx["metadata"]["component"]["cpe"] == container.cpe
    spdx3 = json.loads(write(inventory, "spdx3-json"))
    assert any(i.get("identifier") == container.cpe for e in spdx3["@graph"]
               for i in e.get("externalIdentifier", []) if e.get("name") == libc6.name)


def _rpm(tmp_path: Path) -> Path:
    """An rpm of the C fixture program, built by rpmbuild."""
    top = tmp_path / "rpmbuild"
    (top / "SOURCES").mkdir(parents=True)
    shutil.copy(BIN / "c-hello-plain", top / "SOURCES" / "hello")
    spec = tmp_path / "hello.spec"
    spec.write_text(
        "Name: hello-demo\nVersion: 1.2.3\nRelease: 4\nSummary: demo\nLicense: MIT\n"
        "Vendor: Example\nBuildArch: x86_64\n%description\ndemo\n%install\n"
        "mkdir -p %{buildroot}/usr/bin\ncp %{_sourcedir}/hello %{buildroot}/usr/bin/hello\n"
        "%files\n/usr/bin/hello\n")
    run("rpmbuild", "--define", f"_topdir {top}", "--define", "__os_install_post %{nil}",
        "--define", "debug_package %{nil}", "--define", "_build_id_links none", "-bb", spec)
    (rpm,) = (top / "RPMS").rglob("*.rpm")
    return rpm


def test_rpm_package_is_the_root_component(tmp_path: Path) -> None:
    rpm = _rpm(tmp_path)
    inventory = scan_paths([str(rpm)], jobs=1)
    assert not inventory.problems
    (container,) = inventory.containers
    assert container.version == "1.2.3-4"
    assert container.purl.startswith("pkg:rpm/example/hello-demo@1.2.3-4?arch=x86_64")
    # The package's declared licence is the root's, in every format.
    assert container.licenses == ("MIT",)
    cdx = json.loads(write(inventory, "cyclonedx-json"))
    assert cdx["metadata"]["component"]["licenses"] == [
        {"acknowledgement": "declared", "expression": "MIT"}]
    spdx = json.loads(write(inventory, "spdx-json"))
    (described,) = [r["relatedSpdxElement"] for r in spdx["relationships"]
                    if r["relationshipType"] == "DESCRIBES"]
    (root,) = [p for p in spdx["packages"] if p["SPDXID"] == described]
    assert root["licenseDeclared"] == "MIT"
    spdx3 = json.loads(write(inventory, "spdx3-json"))
    expressions = {e["simplelicensing_licenseExpression"] for e in spdx3["@graph"]
                   if e.get("type") == "simplelicensing_LicenseExpression"}
    assert expressions == {"MIT"}
    (artifact,) = inventory.artifacts
    assert artifact.path == "/usr/bin/hello"
    assert artifact.digests.sha256 == _sha256(BIN / "c-hello-plain")
    assert any(c.kind is ComponentKind.SHARED_LIBRARY for c in artifact.components)


def test_rpm_database_in_an_image(tmp_path: Path) -> None:
    """An image whose rpm database (rpmdb.sqlite, written by rpm itself) owns its program."""
    rpm = _rpm(tmp_path)
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text('ID=fedora\nVERSION_ID="40"\n')
    run("rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--initdb")
    run("rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-i", "--nodeps", "--justdb", rpm)
    for extra in (root / "var" / "lib" / "rpm").glob(".rpm.lock"):
        extra.unlink()
    (root / "usr" / "bin").mkdir(parents=True)
    shutil.copy(BIN / "c-hello-plain", root / "usr" / "bin" / "hello")
    layout = rootfs_image(root, tmp_path / "oci", "rpm")
    inventory = scan_paths([f"oci-dir:{layout}:rpm"], jobs=1)
    assert not inventory.problems
    (container,) = inventory.containers
    assert container.package_database == "rpm" and container.distro == "fedora-40"
    (package,) = container.packages
    assert package.purl.startswith("pkg:rpm/fedora/hello-demo@1.2.3-4?arch=x86_64")
    assert "distro=fedora-40" in package.purl
    assert package.licenses == ("MIT",)  # the header's License tag
    (placed,) = container.files
    assert placed.path == "/usr/bin/hello" and placed.package == package.ref


def test_a_bare_path_keeps_its_meaning(tmp_path: Path) -> None:
    # A directory named like an archive is still a directory.
    odd = tmp_path / "dir.tar.gz"
    odd.mkdir()
    shutil.copy(BIN / "go-linux-arm64", odd / "svc")
    inventory = scan_paths([str(odd)], jobs=1)
    assert not inventory.containers and len(inventory.artifacts) == 1


def test_cli_names_archive_documents_after_the_archive(release: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sbomsign", "sbom", str(release / "demo.zip"),
                           "--output-dir", str(tmp_path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["demo.zip.cdx.json"]


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _distlib_wheel() -> Path:
    """distlib 0.3.9 from PyPI: a wheel whose script launchers are PE files."""
    wheels = ROOT / ".cache" / "wheels"
    if not list(wheels.glob("distlib-0.3.9-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "distlib==0.3.9", "-d", str(wheels)], check=True)
    (wheel,) = wheels.glob("distlib-0.3.9-*.whl")
    return wheel


def test_archives_inside_an_archive(tmp_path: Path) -> None:
    # A release tarball as an offline installer is: a wheel from PyPI and a Debian package,
    # and a zip holding a tarball (depth 2) holding a zip (depth 3, not opened).
    top = tmp_path / "bundle"
    (top / "wheelhouse").mkdir(parents=True)
    wheel = shutil.copy(_distlib_wheel(), top / "wheelhouse")
    (libc6,) = debs(("libc6",))
    shutil.copy(libc6, top / "wheelhouse")
    deep = tmp_path / "deep"
    deep.mkdir()
    shutil.copy(BIN / "go-linux-arm64", deep / "svc")
    with zipfile.ZipFile(deep / "innermost.zip", "w") as z:
        z.write(BIN / "go-linux-amd64", "never-seen")
    run("tar", "-czf", tmp_path / "inner.tar.gz", "-C", deep, "svc", "innermost.zip")
    with zipfile.ZipFile(top / "outer.zip", "w") as z:
        z.write(tmp_path / "inner.tar.gz", "inner.tar.gz")
    (top / "broken.whl").write_bytes(b"PK\x03\x04 not a zip")
    run("tar", "-czf", tmp_path / "bundle.tar.gz", "-C", tmp_path, "bundle")
    warnings: list[str] = []
    inventory = scan_paths([str(tmp_path / "bundle.tar.gz")], jobs=2, warn=warnings.append)
    assert not inventory.problems
    (container,) = inventory.containers
    owners = {f.path: f.package for f in container.files}
    paths = sorted(owners)
    launchers = [p for p in paths if p.startswith(f"/bundle/wheelhouse/{Path(wheel).name}!/")]
    assert {p.rsplit("/", 1)[1] for p in launchers} >= {"t64.exe", "w64-arm.exe"}
    assert {owners[p] for p in launchers} == {"pkg:pypi/distlib@0.3.9"}
    libc = [p for p in paths if p.startswith(f"/bundle/wheelhouse/{libc6.name}!/")]
    version = run("dpkg-deb", "-f", libc6, "Version").strip()
    assert any(p.endswith("/libc.so.6") for p in libc)
    assert {owners[p].split("?")[0] for p in libc} == {
        f"pkg:deb/debian/libc6@{version}".replace("+", "%2B")}
    assert "/bundle/outer.zip!/inner.tar.gz!/svc" in paths
    assert not any("never-seen" in p for p in paths)  # deeper than MAX_NESTING
    kinds = {c.purl.split("@")[0]: c.kind for c in container.packages}
    assert kinds["pkg:pypi/distlib"] == ComponentKind.PACKAGE
    assert any("broken.whl: not opened" in w for w in warnings), warnings
    # The one document of the archive names every nested package and binary, and is valid.
    doc = json.loads(write(inventory, "cyclonedx-json"))
    refs = {c["bom-ref"] for c in doc["components"]}
    assert "pkg:pypi/distlib@0.3.9" in refs
    edges = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert len(edges["pkg:pypi/distlib@0.3.9"]) == len(launchers)


def test_a_nested_archive_over_the_bound_is_not_opened(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # A small zip whose member unpacks to more than the bound: it is left unopened with a
    # warning, and the rest of the archive is still scanned.
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros", b"\0" * (8 << 20))
    shutil.copy(BIN / "go-linux-amd64", tmp_path / "svc")
    run("tar", "-cf", tmp_path / "outer.tar", "-C", tmp_path, "bomb.zip", "svc")
    monkeypatch.setenv("SBOMSIGN_MAX_LAYER_BYTES", str(4 << 20))
    warnings: list[str] = []
    inventory = scan_paths([str(tmp_path / "outer.tar")], jobs=1, warn=warnings.append)
    assert [a.path for a in inventory.artifacts] == ["/svc"] and not inventory.problems
    assert any("/bomb.zip: not opened" in w and "SBOMSIGN_MAX_LAYER_BYTES" in w
               for w in warnings), warnings


def test_a_nested_archive_replaced_or_removed_is_not_opened(tmp_path: Path) -> None:
    """A tar may name one path twice (the last wins) and a layer may delete a file: only the
    archive the tree holds in the end is opened, and the copy of the other is deleted at
    once."""
    import io

    from sbomsign._internal.sources.tree import FileTree

    def zipped(member: str) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.write(BIN / "go-linux-amd64", member)
        return out.getvalue()

    work = tmp_path / "work"
    work.mkdir()
    tree = FileTree(str(work), "t", nested=(".zip",))
    first, second = zipped("first"), zipped("second")
    tree.add_file("app.zip", io.BytesIO(first), len(first), 0)
    tree.add_file("app.zip", io.BytesIO(second), len(second), 0)
    (stored,) = tree.nested.values()
    assert Path(stored).read_bytes() == second and list(work.iterdir()) == [Path(stored)]
    tree.add_symlink("app.zip", "elsewhere", 1)
    assert not tree.nested and not list(work.iterdir())
    # end to end: the archive holds the second copy only
    tar = tmp_path / "twice.tar"
    with tarfile.open(tar, "w") as t:
        for data in (first, second):
            info = tarfile.TarInfo("app.zip")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    inventory = scan_paths([str(tar)], jobs=1)
    assert [a.path for a in inventory.artifacts] == ["/app.zip!/second"]


def test_a_package_without_binaries_still_has_its_sbom(tmp_path: Path) -> None:
    """netbase holds data files only: `sbom` describes the package itself (and an image of
    packages without binaries, such as a distroless base, likewise), valid in each format."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    (netbase,) = debs(("netbase",))
    done = subprocess.run([sys.executable, "-m", "sbomsign", "sbom", str(netbase),
                           "--format", "cyclonedx-json,spdx-json", "--output-dir",
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    cdx = (tmp_path / f"{netbase.name}.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cdx) is None
    root = json.loads(cdx)["metadata"]["component"]
    assert root["purl"].startswith("pkg:deb/debian/netbase@") and root["licenses"] == [
        {"acknowledgement": "declared", "expression": "GPL-2.0-only"}]
    spdx = parse_file(str(tmp_path / f"{netbase.name}.spdx.json"))
    assert validate_full_spdx_document(spdx) == []
    # tzdata declares its licence by a name SPDX has no identifier for: a licence name.
    (tzdata,) = debs(("tzdata",))
    done = subprocess.run([sys.executable, "-m", "sbomsign", "sbom", str(tzdata), "-o", "-"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(done.stdout) is None
    assert json.loads(done.stdout)["metadata"]["component"]["licenses"] == [
        {"license": {"acknowledgement": "declared", "name": "public-domain"}}]


def test_a_release_archive_is_attested_and_verified_with_its_own_sbom(tmp_path: Path) -> None:
    """`attest --type cyclonedx ARCHIVE` makes the archive's SBOM (the archive as the root,
    its binaries below); `verify` compares it with the archive's contents, as for an image:
    the binaries' components must be covered."""
    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sbomsign", *argv], capture_output=True,
                              text=True, timeout=300, cwd=tmp_path)

    shutil.copy(BIN / "go-linux-amd64", tmp_path / "svc")
    run("tar", "-czf", tmp_path / "app.tar.gz", "-C", tmp_path, "svc")
    shutil.copy(BIN / "c-hello-plain", tmp_path / "svc")  # another program, no Go modules
    run("tar", "-czf", tmp_path / "other.tar.gz", "-C", tmp_path, "svc")
    assert cli("keygen", "--output-prefix", "k", "--no-password").returncode == 0
    for argv in (("sign", "--key", "k.key", "app.tar.gz"),
                 ("attest", "--key", "k.key", "--type", "cyclonedx", "app.tar.gz")):
        done = cli(*argv)
        assert done.returncode == 0, done.stderr
    (tmp_path / "policy.yaml").write_text(
        "apiVersion: sbomsign.dev/v1\nkind: Policy\nmetadata:\n  name: archive\nspec:\n"
        "  signers:\n    release:\n      key:\n        file: k.pub\n"
        "  artifactSignature:\n    required: true\n  attestations:\n    - type: sbom\n"
        "  sbom:\n    describesArtifact: true\n    coversBinary: true\n")
    done = cli("verify", "--policy", "policy.yaml", "app.tar.gz")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pass  sbom.coversBinary: lists all" in done.stdout
    # the SBOM of another archive, attested for this one, fails both rules
    assert cli("sbom", "other.tar.gz", "-o", "other.cdx.json").returncode == 0
    done = cli("attest", "--key", "k.key", "--type", "cyclonedx", "--predicate",
               "other.cdx.json", "--overwrite", "app.tar.gz")
    assert done.returncode == 0, done.stderr
    done = cli("verify", "--policy", "policy.yaml", "app.tar.gz")
    assert done.returncode == 1
    assert "FAIL  sbom.describesArtifact" in done.stdout
    assert "FAIL  sbom.coversBinary" in done.stdout
