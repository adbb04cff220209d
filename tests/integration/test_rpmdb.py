"""rpm's Berkeley DB database (`var/lib/rpm/Packages`, RHEL/UBI 8 and older), read without
Berkeley DB, on databases Berkeley DB wrote; and SUSE's ndb (`Packages.db`).

The databases are made by the real tools: rpmbuild builds the packages, rpm records them in
an sqlite database, and Berkeley DB's own `db5.3_load` writes their headers into a hash
database keyed as rpm keys them (record 0 holds the last record number), in both byte
orders. Databases rpm itself wrote are in `tests/assets/rpmdb/`: a Berkeley DB one from
syft's test data and an ndb one of a SLE 15 BCI image from go-rpmdb's."""

from __future__ import annotations

import shutil
import sqlite3
import struct
from pathlib import Path

import pytest

from sbomsign._internal.sources import rpmbdb, rpmheader
from sbomsign.models import Inventory
from sbomsign.scan import scan_paths
from tests.conftest import ASSETS, BIN
from tests.images import rootfs_image, run
from tests.integration.test_images import packages, read_like_syft, syft_packages

RPMDB = ASSETS / "rpmdb"


def _build(top: Path, name: str, files: int) -> Path:
    """An rpm named `name` holding the C fixture program and `files` small files (a long
    file list makes a header that spans many pages)."""
    (top / "SOURCES").mkdir(parents=True, exist_ok=True)
    shutil.copy(BIN / "c-hello-plain", top / "SOURCES" / "hello")
    spec = top / f"{name}.spec"
    extra = "".join(f"touch %{{buildroot}}/usr/share/{name}/file-{i:05d}\n" for i in range(files))
    spec.write_text(
        f"Name: {name}\nVersion: 1.{files}\nRelease: 2\nSummary: demo\n"
        "License: MIT AND GPL-2.0-or-later\nVendor: Example\nBuildArch: x86_64\n"
        "%description\ndemo\n%install\n"
        f"mkdir -p %{{buildroot}}/usr/bin %{{buildroot}}/usr/share/{name}\n"
        f"cp %{{_sourcedir}}/hello %{{buildroot}}/usr/bin/{name}\n{extra}"
        f"%files\n/usr/bin/{name}\n" + (f"/usr/share/{name}\n" if files else ""))
    run("rpmbuild", "--define", f"_topdir {top}", "--define", "__os_install_post %{nil}",
        "--define", "debug_package %{nil}", "--define", "_build_id_links none", "-bb", spec)
    (rpm,) = (top / "RPMS").rglob(f"{name}-*.rpm")
    return rpm


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes]]:
    """A root whose rpm database (sqlite) records three packages, and their header blobs."""
    work = tmp_path_factory.mktemp("rpmdb")
    rpms = [_build(work / "build", name, files)
            for name, files in (("tiny", 0), ("small", 20), ("big", 3000))]
    root = work / "root"
    run("rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--initdb")
    run("rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-i", "--nodeps", "--justdb", *rpms)
    with sqlite3.connect(root / "var" / "lib" / "rpm" / "rpmdb.sqlite") as db:
        blobs = [bytes(b) for _, b in db.execute("SELECT hnum, blob FROM Packages ORDER BY hnum")]
    return root, blobs


def _berkeley(blobs: list[bytes], out: Path, *, order: str = "1234") -> Path:
    """A hash database of the headers as rpm keys them, written by Berkeley DB itself."""
    fmt = "<I" if order == "1234" else ">I"
    lines = ["VERSION=3", "format=bytevalue", "type=hash", "db_pagesize=4096", "HEADER=END"]
    lines += [" " + struct.pack(fmt, 0).hex(), " " + struct.pack(fmt, len(blobs)).hex()]
    for n, blob in enumerate(blobs, 1):
        lines += [" " + struct.pack(fmt, n).hex(), " " + blob.hex()]
    lines.append("DATA=END")
    dump = out.with_suffix(".dump")
    dump.write_text("\n".join(lines) + "\n")
    run("db5.3_load", "-c", f"db_lorder={order}", "-f", dump, out)
    return out


@pytest.mark.parametrize("order", ["1234", "4321"])
def test_headers_come_back_as_rpm_stored_them(databases: tuple[Path, list[bytes]],
                                              tmp_path: Path, order: str) -> None:
    _, blobs = databases
    database = _berkeley(blobs, tmp_path / "Packages", order=order)
    assert max(len(b) for b in blobs) > 3 * 4096  # an overflow chain of several pages
    assert sorted(rpmbdb.headers(str(database), "Packages")) == sorted(blobs)


def test_a_database_rpm_wrote() -> None:
    (blob,) = rpmbdb.headers(str(RPMDB / "Packages"), "Packages")
    header = rpmheader.parse_blob(blob, "dive")
    assert (header.text(rpmheader.NAME), header.text(rpmheader.VERSION),
            header.text(rpmheader.RELEASE), header.text(rpmheader.LICENSE)) == (
        "dive", "0.9.2", "1", "MIT")
    assert header.files() == ["/usr/local/bin/dive"]


def test_an_image_with_the_old_database_reads_as_syft_reads_it(
        databases: tuple[Path, list[bytes]], tmp_path: Path) -> None:
    _, blobs = databases
    database = _berkeley(blobs, tmp_path / "Packages")
    layout = _image(tmp_path, database, "var/lib/rpm/Packages", 'ID="rhel"\nVERSION_ID="8.10"\n',
                    program="big")
    container = read_like_syft(layout, "rpm", "rpm Berkeley DB", 3)
    big = next(p for p in container.packages if p.name == "big")
    assert big.licenses == ("MIT AND GPL-2.0-or-later",)
    (placed,) = container.files
    assert placed.path == "/usr/bin/big" and placed.package == big.ref


def test_damaged_berkeley_databases_are_one_line_errors(databases: tuple[Path, list[bytes]],
                                             tmp_path: Path) -> None:
    _, blobs = databases
    database = _berkeley(blobs, tmp_path / "Packages")
    data = bytearray(database.read_bytes())
    # every overflow page names itself as the next one: a chain that loops
    for start in range(4096, len(data), 4096):
        if data[start + 25] == 7:
            data[start + 16 : start + 20] = data[start + 8 : start + 12]
    looped = tmp_path / "looped"
    looped.write_bytes(bytes(data))
    with pytest.raises(Exception, match="broken overflow chain|holds"):
        list(rpmbdb.headers(str(looped), "Packages"))
    for bad, message in ((b"", "empty"), (b"\0" * 4096, "not a Berkeley DB hash database"),
                         (database.read_bytes()[:300], "too short")):
        path = tmp_path / "bad"
        path.write_bytes(bad)
        with pytest.raises(Exception, match=message):
            list(rpmbdb.headers(str(path), "Packages"))


def _image(tmp_path: Path, database: Path, where: str, os_release: str, *,
           program: str = "hello") -> Path:
    """An OCI layout (umoci) of the database at `where`, an os-release and one program."""
    image = tmp_path / "rootfs"
    (image / "etc").mkdir(parents=True)
    (image / "etc" / "os-release").write_text(os_release)
    (image / where).parent.mkdir(parents=True)
    shutil.copy(database, image / where)
    (image / "usr" / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy(BIN / "c-hello-plain", image / "usr" / "bin" / program)
    return rootfs_image(image, tmp_path / "oci")


def test_suse_ndb_database_reads_as_syft_reads_it(tmp_path: Path) -> None:
    """SUSE's ndb `Packages.db` (SLE 15 BCI, from go-rpmdb's test data): its 35 packages,
    with syft's purls, and their SPDX licences (`WITH` exceptions included)."""
    layout = _image(tmp_path, RPMDB / "sle15-bci-Packages.db",
                    "usr/lib/sysimage/rpm/Packages.db", 'ID="sles"\nVERSION_ID="15.3"\n')
    container = read_like_syft(layout, "rpm", "rpm ndb", 35)
    licences = {p.name: p.licenses for p in container.packages}
    assert licences["libgcc_s1"] == ("GPL-3.0-or-later WITH GCC-exception-3.1",)
    assert licences["glibc"] == ("LGPL-2.1-or-later AND LGPL-2.1-or-later WITH "
                                 "GCC-exception-2.0 AND GPL-2.0-or-later",)


def test_damaged_ndb_databases_are_one_line_errors(tmp_path: Path) -> None:
    from sbomsign._internal.sources import rpmndb

    good = (RPMDB / "sle15-bci-Packages.db").read_bytes()
    assert len(list(rpmndb.headers(str(RPMDB / "sle15-bci-Packages.db"), "db"))) == 35
    slot = struct.pack("<4s3I", b"Slot", 1, len(good) // 16, 4)  # a block past the end
    tail = bytearray(good)
    first = struct.unpack_from("<4s3I", good, 32)
    end = (first[2] + first[3]) * 16
    tail[end - 8 : end - 4] = b"BAD!"  # the first block's tail length
    cases = {
        "empty": b"", "not an rpm ndb database": b"\0" * 4096,
        "damaged ndb header": good[:12] + struct.pack("<I", 4096) + good[16:],
        "damaged slot 2": good[:32] + b"Xlot" + good[36:],
        "its block lies outside the file": good[:32] + slot + good[48:],
        "package 1: damaged block": bytes(tail),
    }
    for message, data in cases.items():
        path = tmp_path / "Packages.db"
        path.write_bytes(data)
        with pytest.raises(Exception, match=message):
            list(rpmndb.headers(str(path), "db"))


def test_a_damaged_sqlite_database_is_a_one_line_warning(tmp_path: Path) -> None:
    """sqlite's own errors (a file that is no database, a database without the table) are
    warnings of one line; the other databases are still read."""
    from sbomsign._internal.sources import ospkg

    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).execute("CREATE TABLE other (x)").connection.commit()
    for data, reason in ((b"not a database at all" * 100, "file is not a database"),
                         (empty.read_bytes(), "no such table: Packages")):
        disk = tmp_path / "rpmdb.sqlite"
        disk.write_bytes(data)
        kept = {"var/lib/rpm/rpmdb.sqlite": str(disk),
                "var/lib/dpkg/status": b"Package: a\nStatus: install ok installed\n"
                                       b"Version: 1\nArchitecture: all\n"}
        found = ospkg.read(kept)  # type: ignore[arg-type]
        assert found.warnings == [f"rpm database: unreadable ({reason})"]
        assert [c.name for c in found.components.values()] == ["a"]


#: What Azure Linux's image toolkit writes to var/lib/rpmmanifest/container-manifest-2.
_MANIFEST_FORMAT = ("%{NAME}\t%{VERSION}-%{RELEASE}\t%{INSTALLTIME}\t%{BUILDTIME}\t%{VENDOR}\t"
                    "%{EPOCH}\t%{SIZE}\t%{ARCH}\t%{EPOCHNUM}\t%{SOURCERPM}\n")


def test_the_package_manifest_of_azure_linux_distroless_images(
        databases: tuple[Path, list[bytes]], tmp_path: Path) -> None:
    """CBL-Mariner's and Azure Linux's distroless images hold no rpm database, only a
    manifest: one written by rpm itself from the test database, and a Mariner 2.0 one from
    syft's test data, each read as syft reads it."""
    root, _ = databases
    written = tmp_path / "container-manifest-2"
    written.write_text(run("rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-qa",
                           "--queryformat", _MANIFEST_FORMAT))
    release = 'ID=mariner\nVERSION_ID="2.0"\n'
    where = "var/lib/rpmmanifest/container-manifest-2"
    for name, manifest, count in (("a", written, 3), ("b", RPMDB / "container-manifest-2", 5)):
        layout = _image(tmp_path / name, manifest, where, release)
        (container,) = _scan_image(layout).containers
        assert container.package_database == "rpm manifest"
        theirs = syft_packages(f"oci-dir:{layout}", "rpm")
        # NOTE: syft leaves the distro out of these purls (its manifest reader is given
        # none), and the syft the tests run reads vim's SIZE column (45000) as its epoch and
        # puts it before the version; sbomsign writes the purls as for every other rpm
        # database, with EPOCHNUM as the epoch.
        assert len(theirs) == count and {(n, v) for n, v, _ in packages(container)} == {
            (n, v.split(":")[-1]) for n, v, _ in theirs}
        assert not container.files[0].package  # the manifest lists no files
    vim = next(p for p in container.packages if p.name == "vim")
    assert vim.purl == ("pkg:rpm/mariner/vim@9.0-1.cm2?arch=x86_64&distro=mariner-2.0&epoch=2"
                        "&upstream=vim-9.0-1.cm2.src.rpm")


def _scan_image(layout: Path) -> Inventory:
    inventory = scan_paths([f"oci-dir:{layout}:1.0"], jobs=1)
    assert not inventory.problems
    return inventory


def test_manifest_lines_that_are_not_packages_are_skipped() -> None:
    from sbomsign._internal.sources import ospkg

    good = "a\t1-2\t0\t0\tVendor\t3\t0\tx86_64\t3\ta-1-2.src.rpm"
    lines = [good, "b\t1\t0\t0\tV\t(none)\t0\tx86_64\t0\tb.src.rpm",  # no release
             "c\t1-2-3\t0\t0\tV\t(none)\t0\tx86_64\t0\tc.src.rpm", "d\t1-2\ttoo few",
             "e\t1-2\t0\t0\tV\t1\t0\tx86_64\t\u00b2\te.src.rpm",  # a digit, not ASCII
             "f\t1-2\t0\t0\tV\t1\t0\tx86_64\t" + "9" * 5000 + "\tf.src.rpm", "", "\t" * 20]
    found = ospkg.read({"var/lib/rpmmanifest/container-manifest-2":
                        "\n".join(lines).encode()})
    assert not found.warnings
    assert sorted(c.purl for c in found.components.values()) == [
        "pkg:rpm/redhat/a@1-2?arch=x86_64&epoch=3&upstream=a-1-2.src.rpm",
        "pkg:rpm/redhat/e@1-2?arch=x86_64&upstream=e.src.rpm",
        "pkg:rpm/redhat/f@1-2?arch=x86_64&upstream=f.src.rpm"]
