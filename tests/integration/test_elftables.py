"""The ELF tables read without lief equal lief's, on real binaries and on damaged ones.

`elftables` reads the plain ELF files itself so that a scan of an image of ELF files never
loads lief; it must then say exactly what lief says, and leave every file it is not sure of
to lief. The binaries are the toolchain fixtures (nine architectures, both byte orders, 32
and 64 bit, Go, C, Rust, static and dynamic) and the ELF files of real Debian packages.
"""

from __future__ import annotations

import contextlib
import mmap
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sbomsign._internal.binary import elf, elftables, inspect_file
from sbomsign._internal.binary._common import check_elf_header
from sbomsign.errors import Error
from tests.elf_sections import with_second_interpreter
from tests.images import BIN, debs

# lief warns about the raw values its enums lack in the damaged copies; the scan silences
# that around its own calls.
pytestmark = pytest.mark.filterwarnings("ignore:.* is not a valid :RuntimeWarning")

#: Packages whose ELF files are compared: the glibc test image's, a Rust extension, musl's
#: loader, a C server with many libraries.
PACKAGES = ("libc6", "libc-bin", "libgcc-s1", "python3-cryptography", "musl", "nginx")


def _is_elf(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"\x7fELF"


def _read(path: Path) -> elftables.Tables:
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        return elftables.read(mm)


@pytest.fixture(scope="module")
def package_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("debs")
    for deb in debs(PACKAGES):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root / deb.name)], check=True)
    return sorted(
        p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and _is_elf(p)
    )


FIXTURES = sorted(p for p in BIN.iterdir() if _is_elf(p))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_tables_equal_liefs(path: Path) -> None:
    assert _read(path) == elf._lief_tables(str(path))


def test_package_tables_equal_liefs(package_files: list[Path]) -> None:
    # Shared libraries, PIE executables, the dynamic loader itself, musl's static-PIE loader
    # and a Rust extension module: none is left to lief, and every one reads as lief reads it.
    assert len(package_files) > 100
    for path in package_files:
        assert _read(path) == elf._lief_tables(str(path)), path


def test_a_file_scanned_without_lief_is_scanned_as_lief_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paths = [BIN / n for n in ("c-hello-hardened", "c-usedemo-rpath", "go-linux-loong64",
                               "go-linux-mips", "c-hello-rust-audit", "libdemo.so.1")]
    direct = [inspect_file(str(p)) for p in paths]

    def declined(mm: mmap.mmap) -> elftables.Tables:
        raise elftables.Declined("forced")

    monkeypatch.setattr(elftables, "read", declined)
    assert [inspect_file(str(p)) for p in paths] == direct


def test_an_unusual_file_is_left_to_lief(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two PT_INTERP headers: the loader refuses such a file; which one a reader takes is its
    # own choice, so the direct reader does not choose and lief reads the file.
    odd = tmp_path / "two-interpreters"
    odd.write_bytes(with_second_interpreter((BIN / "c-hello-plain").read_bytes()))
    with pytest.raises(elftables.Declined, match="more than one"):
        _read(odd)
    scanned = inspect_file(str(odd))

    def declined(mm: mmap.mmap) -> elftables.Tables:
        raise elftables.Declined("forced")

    monkeypatch.setattr(elftables, "read", declined)
    assert inspect_file(str(odd)) == scanned


def test_a_separate_debug_file_is_left_to_lief(tmp_path: Path) -> None:
    # objcopy --only-keep-debug keeps the program headers but not the bytes they map.
    debug = tmp_path / "hello.debug"
    subprocess.run(["objcopy", "--only-keep-debug", str(BIN / "c-hello-plain"), str(debug)],
                   check=True)
    with pytest.raises(elftables.Declined):
        _read(debug)
    assert inspect_file(str(debug)).binaries[0].arch == "x86_64"


@pytest.mark.parametrize("name", ["c-hello-plain", "libdemo.so.1", "c-hello-aarch64",
                                  "go-linux-mips"])
def test_damaged_copies_read_as_lief_reads_them_or_are_left_to_it(
    name: str, tmp_path: Path
) -> None:
    # Bytes of the header, the program and section header tables, the dynamic table and the
    # name table are changed one or a few at a time; wherever the direct reader accepts the
    # result, lief must read the same tables from it.
    original = (BIN / name).read_bytes()
    regions = _table_regions(original)
    rng = random.Random(name)
    accepted = 0
    target = tmp_path / name
    for _ in range(150):
        data = bytearray(original)
        for _ in range(rng.randint(1, 3)):
            start, end = rng.choice(regions)
            data[rng.randrange(start, end)] = rng.randrange(256)
        target.write_bytes(bytes(data))
        try:
            check_elf_header(bytes(data[:64]), len(data))
            tables = _read(target)
        except (Error, elftables.Declined):
            continue
        accepted += 1
        assert tables == elf._lief_tables(str(target))
    assert accepted > 30


def _table_regions(data: bytes) -> list[tuple[int, int]]:
    """Where the ELF header, the header tables, the name table and the dynamic table lie."""
    with _mapped_bytes(data) as mm:
        t = elftables.read(mm)
    big = data[5] == 2
    order = "big" if big else "little"

    def u(off: int, n: int) -> int:
        return int.from_bytes(data[off : off + n], order)  # type: ignore[arg-type]

    if data[4] == 2:
        phoff, shoff, phsize, shsize, phnum, shnum = u(32, 8), u(40, 8), 56, 64, u(56, 2), u(60, 2)
    else:
        phoff, shoff, phsize, shsize, phnum, shnum = u(28, 4), u(32, 4), 32, 40, u(44, 2), u(48, 2)
    # The magic is left alone: a file without it is never taken for ELF.
    regions = [(4, 64 if data[4] == 2 else 52), (phoff, phoff + phsize * phnum),
               (shoff, shoff + shsize * shnum)]
    names = (".shstrtab", ".dynamic", ".dynstr", ".interp")
    regions += [(s.offset, s.offset + s.size) for s in t.sections if s.name in names and s.size]
    return regions


@contextlib.contextmanager
def _mapped_bytes(data: bytes) -> Iterator[mmap.mmap]:
    mm = mmap.mmap(-1, len(data))
    mm.write(data)
    try:
        yield mm
    finally:
        mm.close()


def test_scanning_elf_files_does_not_load_lief(tmp_path: Path) -> None:
    # The point of the direct reader: an image of ELF files is scanned without loading lief.
    # A PE file still needs it.
    code = (
        "import sys\n"
        "from sbomsign._internal.binary import inspect_file\n"
        "for p in sys.argv[1:]:\n"
        "    inspect_file(p)\n"
        "print('lief' in sys.modules)\n"
    )
    elves = [str(BIN / n) for n in ("go-linux-amd64", "c-hello-hardened", "libdemo.so.1")]
    out = subprocess.run([sys.executable, "-c", code, *elves], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "False"
    out = subprocess.run([sys.executable, "-c", code, *elves, str(BIN / "pe-hello.exe")],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"


def test_lief_names_every_machine_and_os_abi_as_the_tables_do() -> None:
    import lief

    for number, name in elftables.MACHINES.items():
        assert str(lief.ELF.ARCH(number)).rsplit(".", 1)[-1] == name
    for number, name in elftables.OS_ABIS.items():
        assert str(lief.ELF.Header.OS_ABI(number)).rsplit(".", 1)[-1] == name
    for number, name in elftables.FILE_TYPES.items():
        assert str(lief.ELF.Header.FILE_TYPE(number)).rsplit(".", 1)[-1] == name


def _shdr_of(data: bytearray, name: bytes) -> int:
    """Offset of the section header named `name` in a 64-bit little-endian file."""
    shoff = int.from_bytes(data[40:48], "little")
    shnum, shstrndx = int.from_bytes(data[60:62], "little"), int.from_bytes(data[62:64], "little")
    names_at = int.from_bytes(data[shoff + 64 * shstrndx + 24 : shoff + 64 * shstrndx + 32],
                              "little")
    for i in range(shnum):
        at = shoff + 64 * i
        start = names_at + int.from_bytes(data[at : at + 4], "little")
        if bytes(data[start : data.index(b"\0", start)]) == name:
            return at
    raise AssertionError(name)


def test_tables_beyond_the_bounds_are_left_to_lief(tmp_path: Path) -> None:
    # The README's bounds: a section name table over 4 MiB, more than 10,000 program headers.
    # Such a file is not refused: lief reads it, as it reads any file the reader declines.
    data = bytearray((BIN / "c-hello-plain").read_bytes())
    at = _shdr_of(data, b".shstrtab")
    names = bytearray(data)
    names[at + 32 : at + 40] = (5 << 20).to_bytes(8, "little")
    many = bytearray(data)
    phoff, phnum = int.from_bytes(data[32:40], "little"), int.from_bytes(data[56:58], "little")
    table = bytes(data[phoff : phoff + 56 * phnum]) + bytes(56) * (10_001 - phnum)
    many[32:40] = len(many).to_bytes(8, "little")
    many[56:58] = (10_001).to_bytes(2, "little")
    many += table
    for label, odd, reason in (("names", names, "larger than names need"),
                               ("headers", many, "more program headers")):
        path = tmp_path / label
        path.write_bytes(bytes(odd))
        with pytest.raises(elftables.Declined, match=reason):
            _read(path)
        assert inspect_file(str(path)).binaries[0].arch == "x86_64"


def test_a_dynamic_table_longer_than_liefs_is_left_to_it(tmp_path: Path) -> None:
    # lief reads at most 1,000 dynamic entries; a table whose end comes later is declined.
    # The file: an ELF header, a PT_LOAD mapping all of it and a PT_DYNAMIC of 1,001
    # DT_DEBUG entries before its DT_NULL.
    import struct

    entries = b"".join(struct.pack("<qQ", 21, 0) for _ in range(1001)) + bytes(16)
    dyn_at = 64 + 2 * 56
    size = dyn_at + len(entries)
    header = struct.pack("<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, 3, 62, 1, 0,
                         64, 0, 0, 64, 56, 2, 64, 0, 0)
    load = struct.pack("<IIQQQQQQ", 1, 6, 0, 0, 0, size, size, 0x1000)
    dynamic = struct.pack("<IIQQQQQQ", 2, 6, dyn_at, dyn_at, dyn_at, len(entries),
                          len(entries), 8)
    path = tmp_path / "long-dynamic"
    path.write_bytes(header + load + dynamic + entries)
    with pytest.raises(elftables.Declined, match="without its end"):
        _read(path)
    short = tmp_path / "short-dynamic"
    short.write_bytes(header + load + dynamic + entries[-16 * 3 :] + entries[: -16 * 3])
    assert _read(short).dynamic == elftables.Dynamic()
