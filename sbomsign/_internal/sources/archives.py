"""Release archives and packages given as paths: tar (plain, gzip, xz, bzip2, zstd), zip
(wheels too), `.deb` and `.rpm`.

Their members are scanned like a directory, through the same `FileTree` as image layers (so
the same bounds and the same refusal of `..` and absolute names apply), with the archive as
the container. A `.deb` or `.rpm` is a package: its name, version and architecture (from the
control file or the rpm header) make the root component, and its binaries hang below it.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from dataclasses import replace
from typing import BinaryIO

from sbomsign._internal.hashing import digest_stream
from sbomsign._internal.sources import Expansion, Settings, ospkg, rpmheader
from sbomsign._internal.sources.container import Draft
from sbomsign._internal.sources.streams import (
    Capped,
    Readable,
    decompressed,
    max_layer_bytes,
)
from sbomsign._internal.sources.tree import FileTree, clean
from sbomsign.errors import InputError
from sbomsign.models import Container, Digests

_TAR = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar.zst",
        ".tzst")
_ZIP = (".zip", ".whl")
SUFFIXES = (*_TAR, *_ZIP, ".deb", ".rpm")


class _Archives:
    def claims(self, given: str) -> bool:
        return given.lower().endswith(SUFFIXES) and os.path.isfile(given)

    def expand(self, given: str, settings: Settings, seen: set[str], into: Expansion) -> None:
        real = os.path.realpath(given)
        if real in seen:
            return
        seen.add(real)
        import tempfile

        tree = FileTree(tempfile.mkdtemp(prefix="archive-", dir=settings.workdir), given)
        lower = given.lower()
        try:
            with open(given, "rb") as f:
                digests, _ = digest_stream(f)
                f.seek(0)
                if lower.endswith(".deb"):
                    identity = _deb(given, f, tree)
                elif lower.endswith(".rpm"):
                    identity = _rpm(given, f, tree)
                elif lower.endswith(_ZIP):
                    _zip(given, f, tree)
                    identity = Container("archive", given, digests)
                else:
                    tree.apply_tar(decompressed(f, given), 0, given)
                    identity = Container("archive", given, digests)
        except OSError as e:
            raise InputError(f"{given}: cannot read: {e.strerror or e}") from None
        identity = replace(identity, digests=digests)
        draft = Draft(identity, tree)
        into.drafts.append(draft)
        into.candidates.extend(draft.candidates())


SOURCE = _Archives()


def _zip(given: str, f: BinaryIO, tree: FileTree) -> None:
    try:
        archive = zipfile.ZipFile(f)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise InputError(f"{given}: not a readable zip file ({e})") from None
    cap = max_layer_bytes()
    total = 0
    for info in infos:
        path = clean(info.filename)
        if path is None or info.is_dir() or not path:
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            continue  # NOTE: a zip symlink's target is its data; never followed
        total += info.file_size
        if total > cap:
            raise InputError(f"{given}: members declare more than {cap} bytes "
                             f"(raise SBOMSIGN_MAX_LAYER_BYTES to allow more)")
        try:
            with archive.open(info) as member:
                capped = io.BufferedReader(Capped(member, info.file_size + 1, given,
                                                  "SBOMSIGN_MAX_LAYER_BYTES"))
                tree.add_file(path, capped, info.file_size, 0)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:
            tree.warnings.append(f"{given}: {info.filename}: unreadable ({e})")


# --- Debian packages ---------------------------------------------------------------------------


def _ar_members(f: BinaryIO, given: str) -> list[tuple[str, int, int]]:
    """(name, offset, size) of each member of an `ar` archive (the `.deb` container)."""
    if f.read(8) != b"!<arch>\n":
        raise InputError(f"{given}: not a Debian package (no ar header)")
    members: list[tuple[str, int, int]] = []
    end = os.fstat(f.fileno()).st_size
    offset = 8
    while offset + 60 <= end and len(members) < 16:
        f.seek(offset)
        header = f.read(60)
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise InputError(f"{given}: damaged ar member header") from None
        if size < 0 or offset + 60 + size > end:
            raise InputError(f"{given}: ar member {name} runs past the end of the file")
        members.append((name, offset + 60, size))
        offset += 60 + size + (size & 1)
    return members


def _deb(given: str, f: BinaryIO, tree: FileTree) -> Container:
    members = {name: (offset, size) for name, offset, size in _ar_members(f, given)}
    control = next((n for n in members if n.startswith("control.tar")), "")
    data = next((n for n in members if n.startswith("data.tar")), "")
    if not control or not data:
        raise InputError(f"{given}: not a Debian package (no control or data member)")
    fields = _control_fields(given, f, *members[control])
    offset, size = members[data]
    f.seek(offset)
    tree.apply_tar(decompressed(_Slice(f, size), f"{given}: {data}"), 0, f"{given}: {data}")
    found = ospkg.Packages()
    ospkg.add_deb(found, fields, "debian", "/DEBIAN/control", [])
    if not found.components:
        raise InputError(f"{given}: the control file names no package and version")
    package = next(iter(found.components.values()))
    return Container("package", given, Digests(sha256=""), version=package.version,
                     purl=package.purl, platform=f"linux/{fields.get('Architecture', '')}")


def _control_fields(given: str, f: BinaryIO, offset: int, size: int) -> dict[str, str]:
    f.seek(offset)
    stream = decompressed(_Slice(f, size), f"{given}: control", cap=64 << 20)
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                if clean(member.name) == "control" and member.isreg() and member.size < 1 << 20:
                    text = tar.extractfile(member).read().decode("utf-8", "replace")
                    return next(iter(ospkg.paragraphs(text)), {})
    except tarfile.TarError as e:
        raise InputError(f"{given}: damaged control member ({e})") from None
    raise InputError(f"{given}: the package has no control file")


class _Slice(io.RawIOBase):
    """`size` bytes of `f` from its current position."""

    def __init__(self, f: Readable, size: int) -> None:
        self._f: Readable = f
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        data = self._f.read(min(len(buffer), self._left))
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


# --- RPM packages ------------------------------------------------------------------------------


def _rpm(given: str, f: BinaryIO, tree: FileTree) -> Container:
    header = rpmheader.read_package_header(f, given)
    fmt = header.text(rpmheader.PAYLOADFORMAT) or "cpio"
    if fmt != "cpio":
        raise InputError(f"{given}: rpm payload format {fmt!r} is not supported")
    found = ospkg.Packages()
    vendor = header.text(rpmheader.VENDOR).split(" ")[0].lower()
    package = ospkg.add_rpm(found, header, vendor, "rpm header")
    _cpio(given, decompressed(f, f"{given}: payload"), tree)
    return Container("package", given, Digests(sha256=""), version=package.version,
                     purl=package.purl, platform=f"linux/{header.text(rpmheader.ARCH)}")


_CPIO_MAGIC = (b"070701", b"070702")
_CPIO_TRAILER = "TRAILER!!!"


def _cpio(given: str, stream: Readable, tree: FileTree) -> None:
    """Members of a `newc` cpio stream (the rpm payload) into the tree."""
    position = 0
    while True:
        header = stream.read(110)
        if len(header) < 110 or header[:6] not in _CPIO_MAGIC:
            raise InputError(f"{given}: damaged cpio payload")
        fields = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        if namesize > 4096:
            raise InputError(f"{given}: cpio member name too long")
        name = stream.read(namesize).rstrip(b"\0").decode("utf-8", "replace")
        position += 110 + namesize
        stream.read((4 - position % 4) % 4)
        position += (4 - position % 4) % 4
        if name == _CPIO_TRAILER:
            return
        path = clean(name)
        data = _Slice(stream, size)
        if path and stat.S_ISREG(mode):
            tree.add_file(path, io.BufferedReader(data), size, 0)
        elif path and stat.S_ISLNK(mode) and size < 4096:
            tree.add_symlink(path, data.read(size).decode("utf-8", "replace"), 0)
        while data.read(1 << 16):
            pass
        position += size
        stream.read((4 - position % 4) % 4)
        position += (4 - position % 4) % 4

