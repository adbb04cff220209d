"""Hostile images and archives: each gives a one-line problem or a warning, the rest of the
run goes on, and nothing is written outside the private work directory."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from sbomsign._internal.sources.tree import FileTree
from sbomsign.scan import scan_paths
from tests.elf_sections import with_second_interpreter
from tests.images import BIN


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _layout(root: Path, layers: list[bytes], *, tags: tuple[str, ...] = ("t",)) -> Path:
    """An OCI layout with one image per tag, each of the given (gzipped) layers."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')

    def put(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    config = put(json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": []}}).encode())
    layer_descs = [dict(put(gzip.compress(layer, mtime=0)),
                        mediaType="application/vnd.oci.image.layer.v1.tar+gzip")
                   for layer in layers]
    manifest = put(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
        "layers": layer_descs}).encode())
    index = {"schemaVersion": 2, "manifests": [
        dict(manifest, mediaType="application/vnd.oci.image.manifest.v1+json",
             annotations={"org.opencontainers.image.ref.name": tag}) for tag in tags]}
    (root / "index.json").write_text(json.dumps(index))
    return root


GO = (BIN / "go-linux-amd64").read_bytes()


def test_escaping_names_are_skipped_with_a_warning(tmp_path: Path) -> None:
    layer = _tar([_file("../../escape", GO), _file("/abs/bin", GO), _file("app/ok", GO)])
    layout = _layout(tmp_path / "oci", [layer])
    notes: list[str] = []
    inventory = scan_paths([f"oci-dir:{layout}:t"], jobs=1, warn=notes.append)
    assert [a.path for a in inventory.artifacts] == ["/app/ok"]
    assert any("skipped 2 entries with '..' or absolute names" in n for n in notes)
    assert not (tmp_path / "escape").exists() and not Path("/abs/bin").exists()


def test_symlinks_resolve_inside_the_tree(tmp_path: Path) -> None:
    tree = FileTree(str(tmp_path), "t")
    tree.add_symlink("lib/evil", "../../../../../etc/passwd", 0)
    tree.add_file("etc/passwd", io.BytesIO(b"inside"), 6, 0)  # type: ignore[arg-type]
    assert tree.resolve("lib/evil") == "etc/passwd"  # the image's, not the host's
    tree.add_symlink("loop/a", "b", 0)
    tree.add_symlink("loop/b", "a", 0)
    assert tree.resolve("loop/a") is None


@pytest.mark.parametrize(("layer", "env", "expected"), [
    (_tar([_file("big", b"\0" * (4 << 20))]), {"SBOMSIGN_MAX_LAYER_BYTES": str(1 << 20)},
     "decompresses to more than 1048576 bytes (raise SBOMSIGN_MAX_LAYER_BYTES"),
    (_tar([_file(f"f{i}", b"x") for i in range(50)]), {"SBOMSIGN_MAX_FILES": "20"},
     "more than 20 files (raise SBOMSIGN_MAX_FILES"),
    (_tar([_file("app", GO)])[: 5000], {}, "damaged tar data"),
    # The plain file given beside the image (go-linux-arm64, 983,040 bytes) stays under it.
    (_tar([_file("app", GO)]), {"SBOMSIGN_MAX_BINARY_BYTES": "1000000"},
     "larger than 1000000 (raise SBOMSIGN_MAX_BINARY_BYTES"),
])
def test_bounds_and_damage_are_one_line_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 layer: bytes, env: dict[str, str],
                                                 expected: str) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    layout = _layout(tmp_path / "oci", [layer])
    good = BIN / "go-linux-arm64"
    inventory = scan_paths([f"oci-dir:{layout}:t", str(good)], jobs=1)
    (problem,) = inventory.problems
    assert expected in problem.message and "\n" not in problem.message
    assert problem.exit_code == 2
    assert [a.path for a in inventory.artifacts] == [str(good)]  # the rest goes on


def test_corrupt_gzip_and_digest_mismatch(tmp_path: Path) -> None:
    layout = _layout(tmp_path / "a", [_tar([_file("app", GO)])])
    blob = max((layout / "blobs" / "sha256").iterdir(), key=lambda p: p.stat().st_size)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    (problem,) = scan_paths([f"oci-dir:{layout}:t"], jobs=1).problems
    assert ("corrupt compressed data" in problem.message
            or "does not match its digest" in problem.message)
    # A byte changed in an uncompressed blob: the digest check alone catches it.
    layout = _layout(tmp_path / "b", [_tar([_file("app", GO)])])
    config = min((layout / "blobs" / "sha256").iterdir(), key=lambda p: p.stat().st_size)
    config.write_bytes(config.read_bytes().replace(b"amd64", b"arm64"))
    (problem,) = scan_paths([f"oci-dir:{layout}:t"], jobs=1).problems
    assert "does not match its digest" in problem.message


def test_ambiguous_layout_and_self_referring_index(tmp_path: Path) -> None:
    layout = _layout(tmp_path / "two", [_tar([_file("app", GO)])], tags=("a", "b"))
    (problem,) = scan_paths([f"oci-dir:{layout}"], jobs=1).problems
    assert "holds 2 images; name one with :TAG or @DIGEST (it has: a, b)" in problem.message
    looped = tmp_path / "loop"
    _layout(looped, [_tar([_file("app", GO)])])
    blobs = looped / "blobs" / "sha256"
    # An index that lists itself can only be made by naming a digest it contains; an index
    # naming a second index naming the first is the reachable form.
    first = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": []}
    data = json.dumps(first).encode()
    digest = hashlib.sha256(data).hexdigest()
    second = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
              "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                             "digest": f"sha256:{digest}", "size": len(data)}] * 2}
    (blobs / digest).write_bytes(data)
    data2 = json.dumps(second).encode()
    digest2 = hashlib.sha256(data2).hexdigest()
    (blobs / digest2).write_bytes(data2)
    (looped / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": f"sha256:{digest2}",
         "size": len(data2)}]}))
    (problem,) = scan_paths([f"oci-dir:{looped}"], jobs=1).problems
    assert "refers to itself or nests too deep" in problem.message


def test_device_files_are_skipped(tmp_path: Path) -> None:
    dev = tarfile.TarInfo("dev/sda")
    dev.type = tarfile.BLKTYPE
    layout = _layout(tmp_path / "oci", [_tar([(dev, None), _file("app", GO)])])
    notes: list[str] = []
    inventory = scan_paths([f"oci-dir:{layout}:t"], jobs=1, warn=notes.append)
    assert [a.path for a in inventory.artifacts] == ["/app"]
    assert any("device files" in n for n in notes)


def test_system_files_kept_in_memory_are_bounded_in_all(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Each system file has its own bound; many of them together stop at
    SBOMSIGN_MAX_KEPT_BYTES with a warning, and the scan goes on."""
    status = b"Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n"
    dep5 = (b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
            b"Files: *\nLicense: MIT\n" + b"#" * 4000 + b"\n")
    members = [_file("var/lib/dpkg/status", status), _file("app/ok", GO)]
    members += [_file(f"usr/share/doc/p{i}/copyright", dep5) for i in range(20)]
    members.append(_file("usr/share/doc/a/copyright", dep5))
    layout = _layout(tmp_path / "oci", [_tar(members)])
    name = f"oci-dir:{layout}:t"
    (whole,) = scan_paths([name], jobs=1).containers
    assert [p.licenses for p in whole.packages] == [("MIT",)]
    monkeypatch.setenv("SBOMSIGN_MAX_KEPT_BYTES", "40000")
    notes: list[str] = []
    inventory = scan_paths([name], jobs=1, warn=notes.append)
    (container,) = inventory.containers
    assert [a.path for a in inventory.artifacts] == ["/app/ok"]
    # the status file came first and was read; the last copyright file was not
    assert [(p.name, p.licenses) for p in container.packages] == [("a", ())]
    assert any("/usr/share/doc/a/copyright: the system files read reach 40000 bytes in all "
               "(raise SBOMSIGN_MAX_KEPT_BYTES to allow more); not read" in n for n in notes)


def test_only_binaries_the_image_holds_in_the_end_stay_on_disk(tmp_path: Path) -> None:
    """A binary a later layer replaces or deletes is deleted from the work directory at
    once; a copy hard links share stays while one of them is left."""
    work = tmp_path / "work"
    work.mkdir()
    tree = FileTree(str(work), "t")
    arm = (BIN / "go-linux-arm64").read_bytes()
    tree.add_file("app", io.BytesIO(GO), len(GO), 0)  # type: ignore[arg-type]
    tree.add_file("app", io.BytesIO(arm), len(arm), 1)  # type: ignore[arg-type]
    (copy,) = work.iterdir()
    assert copy.read_bytes() == arm
    tree.apply_tar(io.BytesIO(_tar([(_link("alias", "app"), None)])), 2, "layer 2")
    tree.add_file("app", io.BytesIO(GO), len(GO), 3)  # type: ignore[arg-type]
    assert sorted(p.read_bytes() == arm for p in work.iterdir()) == [False, True]
    assert [p for p, _ in tree.binaries()] == ["alias", "app"]
    tree.apply_tar(io.BytesIO(_tar([_file(".wh.alias", b""), _file(".wh.app", b"")])), 4,
                   "layer 4")
    assert not list(work.iterdir()) and not list(tree.binaries())


def test_binaries_parsed_while_layers_are_read_are_those_of_the_final_image(
    tmp_path: Path,
) -> None:
    """Binaries are parsed as soon as a layer puts them on disk, before the later layers are
    read; what the scan reports is still the final image: a replaced binary's new bytes, a
    deleted one gone, a hard link reported under its own path."""
    arm = (BIN / "go-linux-arm64").read_bytes()
    first = _tar([_file("app", GO), _file("lib/old", GO), _file("bin/keep", GO)])
    second = _tar([_file("app", arm), (_link("alias", "app"), None),
                   _file("lib/.wh.old", b"")])
    layout = _layout(tmp_path / "oci", [first, second])
    inventory = scan_paths([f"oci-dir:{layout}:t"], jobs=2)
    shown = {a.path: (a.name, a.digests.sha256, a.binaries[0].arch)
             for a in inventory.artifacts}
    arm_digest, go_digest = hashlib.sha256(arm).hexdigest(), hashlib.sha256(GO).hexdigest()
    assert shown == {"/alias": ("alias", arm_digest, "aarch64"),
                     "/app": ("app", arm_digest, "aarch64"),
                     "/bin/keep": ("keep", go_digest, "x86_64")}
    assert not inventory.problems


def test_small_binaries_share_one_spool_file(tmp_path: Path) -> None:
    """Binaries up to SPOOL_MAX are written one after another into one file, each at a page
    boundary; a larger one gets its own file. Each is read back from its span alone."""
    import mmap

    from sbomsign._internal.sources.tree import SPOOL_MAX

    work = tmp_path / "work"
    work.mkdir()
    small = {n: (BIN / n).read_bytes() for n in ("c-hello-plain", "pe-hello.exe",
                                                  "libdemo.so.1", "c-hello-aarch64")}
    assert all(len(d) <= SPOOL_MAX for d in small.values()) and len(GO) > SPOOL_MAX
    tree = FileTree(str(work), "t")
    for name, data in small.items():
        tree.add_file(f"bin/{name}", io.BytesIO(data), len(data), 0)  # type: ignore[arg-type]
    tree.add_file("app", io.BytesIO(GO), len(GO), 0)  # type: ignore[arg-type]
    assert len(list(work.iterdir())) == 2
    entries = dict(tree.binaries())
    assert entries["app"].span is None and Path(entries["app"].stored).read_bytes() == GO
    for name, data in small.items():
        entry = entries[f"bin/{name}"]
        assert entry.span is not None
        offset, size = entry.span
        assert offset % mmap.ALLOCATIONGRANULARITY == 0 and size == len(data)
        assert Path(entry.stored).read_bytes()[offset:offset + size] == data


def test_a_member_shorter_than_it_declares_is_refused(tmp_path: Path) -> None:
    """Whether it goes to the spool or to a file of its own, a binary whose member holds
    fewer bytes than its header declares is refused in one line."""
    from sbomsign.errors import InputError

    small = (BIN / "c-hello-plain").read_bytes()
    for data in (small, GO):
        tree = FileTree(str(tmp_path), "t")
        with pytest.raises(InputError, match=rf"t: a member declares {len(data) + 10} bytes "
                                             rf"but holds {len(data)}"):
            tree.add_file("app", io.BytesIO(data), len(data) + 10, 0)  # type: ignore[arg-type]


def test_spooled_binaries_scan_as_the_files_themselves(tmp_path: Path) -> None:
    """A PE file and an ELF file the direct reader leaves to lief are parsed by lief from
    their bytes in the spool; the artifacts equal those of the files scanned alone."""
    plain = with_second_interpreter((BIN / "c-hello-plain").read_bytes())  # left to lief
    odd = tmp_path / "odd"
    odd.write_bytes(plain)
    pe = (BIN / "pe-hello.exe").read_bytes()
    first = (BIN / "libdemo.so.1").read_bytes()  # so that neither starts the spool file
    layout = _layout(tmp_path / "oci", [_tar([_file("lib/first", first),
                                               _file("bin/odd", plain),
                                               _file("bin/hello.exe", pe)])])
    inventory = scan_paths([f"oci-dir:{layout}:t"], jobs=1)
    alone = scan_paths([str(BIN / "libdemo.so.1"), str(odd), str(BIN / "pe-hello.exe")],
                       jobs=1)
    assert not inventory.problems and not alone.problems

    def facts(a: object) -> tuple[object, ...]:
        return (a.digests, a.size, a.binaries, a.components)  # type: ignore[attr-defined]

    assert sorted(map(facts, inventory.artifacts), key=str) == sorted(
        map(facts, alone.artifacts), key=str)
    assert {a.binaries[0].format for a in inventory.artifacts} == {"elf", "pe"}


def _link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE
    info.linkname = target
    return info
