"""The tar reader gives what the standard library's tarfile gives, and refuses damage in one
line.

`tarstream` replaced tarfile's stream mode for layers, archives and package payloads. Its
members must be tarfile's on every tar the tests can make or find: tarfile's own GNU, pax
and ustar output, dpkg's payloads of real Debian packages, and the layers of the test images
(written by umoci and skopeo, Go's archive/tar). Where it differs, it is stricter, and says
so: a bad header in the middle of a stream is an error (tarfile takes it as the end), and
sparse members are reported, not reconstructed.
"""

from __future__ import annotations

import gzip
import io
import random
import subprocess
import tarfile
from pathlib import Path

import pytest

from sbomsign._internal.sources import tarstream
from sbomsign._internal.sources.tarstream import TarReader
from sbomsign._internal.sources.tree import FileTree
from sbomsign.errors import InputError
from tests.images import build, debs

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("libc6", "libc-bin", "python3-cryptography", "nginx", "netbase", "tzdata")
Row = tuple[str, str, int, str, bytes]


def _kind(info: tarfile.TarInfo) -> str:
    for test, kind in ((info.isreg, tarstream.FILE), (info.isdir, tarstream.DIR),
                       (info.issym, tarstream.SYMLINK), (info.islnk, tarstream.HARDLINK),
                       (info.isdev, tarstream.DEVICE)):
        if test():
            return tarstream.FIFO if kind == tarstream.DEVICE and info.isfifo() else kind
    return tarstream.OTHER


def _theirs(data: bytes) -> list[Row]:
    """tarfile's stream mode, with the end the old reader accepted (a stream ending right
    after the last member's data)."""
    rows: list[Row] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tar:
            for info in tar:
                kind = _kind(info)
                body = b""
                if kind == tarstream.FILE:
                    f = tar.extractfile(info)
                    body = f.read() if f else b""
                rows.append((info.name, kind, info.size if kind == tarstream.FILE else 0,
                             info.linkname, body))
    except tarfile.ReadError as e:
        if str(e) != "unexpected end of data":
            raise
    return rows


def _ours(data: bytes) -> list[Row]:
    reader = TarReader(io.BufferedReader(io.BytesIO(data), 1 << 16), "t")  # type: ignore[arg-type]
    rows: list[Row] = []
    for m in reader.members():
        body = reader.read() if m.kind == tarstream.FILE else b""
        rows.append((m.name, m.kind, m.size if m.kind == tarstream.FILE else 0, m.linkname,
                     body))
    return rows


def _made(fmt: int) -> bytes:
    """A tar that tarfile writes in `fmt`, with every kind of member and the long names and
    sizes that need extended headers or the ustar prefix."""
    out = io.BytesIO()
    long_dir = "d" * 90 + "/" + "e" * 90
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for name, kind, size in (("./", tarfile.DIRTYPE, 0), ("bin/", tarfile.DIRTYPE, 0),
                                 ("bin/a", tarfile.REGTYPE, 0), ("bin/b", tarfile.REGTYPE, 1),
                                 ("bin/c", tarfile.REGTYPE, 511), ("bin/d", tarfile.REGTYPE, 512),
                                 ("bin/e", tarfile.REGTYPE, 70_001),
                                 (f"{long_dir}/f", tarfile.REGTYPE, 5),
                                 ("lnk", tarfile.SYMTYPE, 0), ("hard", tarfile.LNKTYPE, 0),
                                 ("dev/null", tarfile.CHRTYPE, 0), ("dev/sda", tarfile.BLKTYPE, 0),
                                 ("fifo", tarfile.FIFOTYPE, 0)):
            info = tarfile.TarInfo(name)
            info.type, info.size = kind, size
            long_link = "bin/" + "x" * (120 if fmt != tarfile.USTAR_FORMAT else 60)
            info.linkname = {"lnk": long_link, "hard": "bin/b"}.get(name, "")
            tar.addfile(info, io.BytesIO(bytes(range(256)) * (size // 256 + 1))
                        if size else None)
        if fmt != tarfile.USTAR_FORMAT:
            info = tarfile.TarInfo("ünïcødé/" + "long" * 80)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    return out.getvalue()


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_tarfiles_own_output(fmt: int) -> None:
    data = _made(fmt)
    rows = _ours(data)
    assert rows == _theirs(data)
    assert {r[1] for r in rows} == {tarstream.FILE, tarstream.DIR, tarstream.SYMLINK,
                                    tarstream.HARDLINK, tarstream.DEVICE, tarstream.FIFO}
    assert rows[0][0] == "."  # the root directory, its slash dropped as tarfile does


def test_real_payloads_and_image_layers() -> None:
    tars = [subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True,
                           check=True).stdout for deb in debs(PACKAGES)]
    blobs = build(ROOT / ".cache" / "images") / "oci" / "blobs" / "sha256"
    for blob in blobs.iterdir():
        data = blob.read_bytes()
        data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        if data[257:262] == b"ustar":
            tars.append(data)
    assert len(tars) > len(PACKAGES) + 3
    members = 0
    for data in tars:
        rows = _ours(data)
        assert rows == _theirs(data)
        members += len(rows)
    assert members > 3000


def _header(name: str, size: int, flag: bytes = b"0", *, size_field: bytes | None = None,
            extra: dict[int, bytes] | None = None) -> bytes:
    """One GNU header, with fields overwritten where a test needs bytes tarfile never
    writes; the checksum is computed last."""
    info = tarfile.TarInfo(name)
    info.size, info.type = size, flag
    block = bytearray(info.tobuf(tarfile.GNU_FORMAT))
    if size_field is not None:
        block[124:136] = size_field
    for at, value in (extra or {}).items():
        block[at:at + len(value)] = value
    block[148:156] = b" " * 8
    block[148:155] = b"%06o\0" % sum(block)
    return bytes(block)


def _data(payload: bytes) -> bytes:
    return payload + bytes(-len(payload) % 512)


def test_forms_tarfile_never_writes() -> None:
    # A base-256 size, a checksum over signed bytes, a V7 directory, a global pax header.
    base256 = _header("big", 0, size_field=b"\x80" + (3).to_bytes(11, "big")) + _data(b"abc")
    signed = bytearray(_header("é", 1)) + _data(b"x")
    signed[148:156] = b"%06o\0 " % (sum(b - 256 if b > 127 else b for b in signed[:148])
                                    + 256 + sum(b - 256 if b > 127 else b
                                                for b in signed[156:512]))
    v7dir = _header("old/", 0, b"\0")
    comment = b"17 comment=hello\n"
    glob = _header("pax_global_header", len(comment), b"g") + _data(comment)
    data = base256 + bytes(signed) + v7dir + glob + _header("z", 2) + _data(b"zz") + bytes(1024)
    rows = _ours(data)
    assert rows == _theirs(data)
    assert [(r[0], r[1], r[4]) for r in rows] == [
        ("big", tarstream.FILE, b"abc"), ("é", tarstream.FILE, b"x"), ("old", tarstream.DIR, b""),
        ("z", tarstream.FILE, b"zz")]


def test_a_stream_may_end_after_the_last_members_data() -> None:
    """Go's writer leaves some layers without padding or end blocks."""
    data = _header("a", 3) + b"abc"
    assert _ours(data) == _theirs(data) == [("a", tarstream.FILE, 3, "", b"abc")]


def test_sparse_members_are_reported_and_skipped() -> None:
    # An old GNU sparse member with one extension block, then a pax 1.0 sparse member.
    old = _header("holes", 1024, b"S", extra={482: b"\1"}) + bytes(512) + _data(b"s" * 1024)
    record = b"22 GNU.sparse.major=1\n"
    pax = _header("./PaxHeaders/p", len(record), b"x") + _data(record) + _header("p", 4)
    data = old + pax + _data(b"data") + _header("after", 2) + _data(b"ok") + bytes(1024)
    rows = _ours(data)
    assert [(r[0], r[1]) for r in rows] == [("holes", tarstream.SPARSE),
                                            ("p", tarstream.SPARSE), ("after", tarstream.FILE)]
    assert rows[-1][4] == b"ok"
    tree = FileTree("/nonexistent", "t")
    tree.apply_tar(io.BytesIO(data), 0, "layer")  # type: ignore[arg-type]
    assert tree.warnings == ["layer: skipped 2 sparse files (not read)"]
    assert tree.entries["after"].kind == "file" and tree.entries["holes"].kind == "other"


def _pax_chain(count: int) -> bytes:
    record = b"10 path=p\n"
    one = _header("./PaxHeaders/p", len(record), b"x") + _data(record)
    return one * count + _header("p", 0) + bytes(1024)


@pytest.mark.parametrize(("data", "reason"), [
    (_header("a", 3)[:300], "it ends inside a header"),
    (_header("a", 3000) + b"x" * 100, "it ends inside a member's data"),
    (_header("a", 1) + _data(b"x") + b"\1" + _header("b", 0)[1:], "checksum does not match"),
    (_header("a", 0, size_field=b"12345678901x"), "a header number is not octal"),
    (_header("a", 0, size_field=b"\xff" * 12), "a negative header number"),
    (_header("L", 2 << 20, b"L") + bytes(2 << 20), "an extended header of 2097152 bytes"),
    (_pax_chain(tarstream.MAX_CHAIN + 1), "more than 16 extended headers"),
    (_header("x", 8, b"x") + _data(b"9 path=\n"), "a pax record of the wrong length"),
    (_header("x", 6, b"x") + _data(b"6 abc\n"), "a pax record without '='"),
    (_header("x", 11, b"x") + _data(b"11 size=1x\n") + _header("p", 0), "a pax size '1x'"),
    (_header("x", 10, b"x") + _data(b"11 path=p\n"), "the wrong length"),
    (_header("x", 10, b"x") + _data(b"11 path=p\n")[:10], "ends inside an extended header"),
])
def test_damage_is_one_line(data: bytes, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        _ours(data)
    message = caught.value.diagnostics()
    assert message.startswith("t: damaged tar data (") and reason in message
    assert "\n" not in message


def test_sixteen_extended_headers_are_still_read() -> None:
    assert [r[0] for r in _ours(_pax_chain(tarstream.MAX_CHAIN))] == ["p"]


def test_damaged_copies_are_refused_or_read_as_tarfile_reads_them() -> None:
    """Bytes changed in the headers of tarfile's GNU and pax output: every copy is either
    refused with `InputError` or read member for member as tarfile reads it."""
    rng = random.Random(11)
    sources = [_made(tarfile.GNU_FORMAT), _made(tarfile.PAX_FORMAT)]
    read = refused = 0
    for _ in range(600):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(0, len(data) // 512) * 512 + rng.randrange(512)
            data[at] = rng.randrange(256)
        try:
            rows = _ours(bytes(data))
        except InputError:
            refused += 1
            continue
        read += 1
        if any(r[1] == tarstream.SPARSE for r in rows):
            continue  # tarfile rebuilds a sparse file; this reader only reports it
        try:
            expected = _theirs(bytes(data))
        except (tarfile.TarError, UnicodeError):
            pytest.fail("a copy tarfile refuses was read")
        assert rows == expected
    assert read > 100 and refused > 100


def test_where_tarfile_and_go_differ_the_reader_does_as_go() -> None:
    """Container runtimes extract layers with Go's archive/tar: the ustar name prefix counts
    only under the POSIX magic, and a global pax header applies to no member."""
    gnu = _header("name", 0, extra={345: b"atime-bytes"})  # GNU magic: bytes 345.. are times
    posix = bytearray(_header("name", 0, extra={345: b"dir", 257: b"ustar\x0000"}))
    record = b"11 path=gx\n"
    glob = _header("pax_global_header", len(record), b"g") + _data(record)
    data = gnu + bytes(posix) + glob + _header("after", 0) + bytes(1024)
    assert [r[0] for r in _ours(data)] == ["name", "dir/name", "after"]
    assert [r[0] for r in _theirs(data)] == ["atime-bytes/name", "dir/name", "gx"]
    with pytest.raises(InputError, match="a pax record of the wrong length"):
        _ours(_header("pax_global_header", 8, b"g") + _data(b"9 path=\n") + bytes(1024))
