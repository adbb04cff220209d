"""Release archives and packages given as paths: tar (plain, gzip, xz, bzip2, zstd), zip
(wheels too), `.deb` and `.rpm`.

Their members are scanned like a directory, through the same `FileTree` as image layers (so
the same bounds and the same refusal of `..` and absolute names apply), with the archive as
the container. A `.deb` or `.rpm` is a package: its name, version and architecture (from the
control file or the rpm header) make the root component, and its binaries hang below it.

Archives inside the archive (a wheelhouse's wheels, packages in a release tarball) are opened
too, `MAX_NESTING` levels deep, each through its own `FileTree` (so each is bounded again) and
grafted into the outer tree under `<its path>!`; a wheel, `.deb` or `.rpm` among them is a
package of the outer container that owns the files it brought. One that cannot be opened is
a warning, and the rest of the archive is still scanned.
"""

from __future__ import annotations

import io
import os
import re
import stat
from dataclasses import replace
from typing import BinaryIO

from sbomsign._internal.hashing import digest_stream
from sbomsign._internal.purl import purl
from sbomsign._internal.sources import Expansion, Settings, ospkg, rpmheader
from sbomsign._internal.sources.container import Draft
from sbomsign._internal.sources.streams import (
    Capped,
    Readable,
    decompressed,
    first_line,
    max_layer_bytes,
)
from sbomsign._internal.sources.tarstream import FILE, TarReader
from sbomsign._internal.sources.tree import FileTree, clean
from sbomsign.errors import Error, InputError
from sbomsign.models import Component, ComponentKind, Container, Digests

_TAR = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar.zst",
        ".tzst")
_ZIP = (".zip", ".whl")
SUFFIXES = (*_TAR, *_ZIP, ".deb", ".rpm")


#: How deep archives inside archives are opened: a wheel in a release tarball is depth 1,
#: an archive inside that wheel depth 2.
MAX_NESTING = 2
#: Most archives opened inside one archive, at every depth together.
MAX_NESTED = 10_000
#: A wheel's file name (PEP 427): distribution, version, optional build tag, then the tags.
_WHEEL = re.compile(r"(?P<name>[^-/]+)-(?P<version>[^-/]+)(-\d[^-/]*)?-[^-/]+-[^-/]+-[^-/]+\.whl")


class _Archives:
    def claims(self, given: str) -> bool:
        return given.lower().endswith(SUFFIXES) and os.path.isfile(given)

    def expand(self, given: str, settings: Settings, seen: set[str], into: Expansion) -> None:
        real = os.path.realpath(given)
        if real in seen:
            return
        seen.add(real)
        tree = _tree(settings, given, 0)
        try:
            with open(given, "rb") as f:
                digests, _ = digest_stream(f)
                f.seek(0)
                identity, _ = _read(given, given, f, tree)
        except OSError as e:
            raise InputError(f"{given}: cannot read: {e.strerror or e}") from None
        packages, owners = _open_nested(tree, given, settings, 1, _Budget(MAX_NESTED))
        draft = Draft(replace(identity, digests=digests), tree, nested_packages=packages,
                      nested_owners=owners)
        into.drafts.append(draft)
        into.candidates.extend(draft.candidates())


SOURCE = _Archives()


def _tree(settings: Settings, what: str, depth: int) -> FileTree:
    import tempfile

    workdir = tempfile.mkdtemp(prefix="archive-", dir=settings.workdir)
    nested = SUFFIXES if depth < MAX_NESTING else ()
    return FileTree(workdir, what, nested=nested, on_binary=settings.on_binary)


def _read(name: str, label: str, f: BinaryIO, tree: FileTree) -> tuple[Container, Component | None]:
    """Fill `tree` from the archive `f` (`name` decides its kind); its identity, and the
    package it is, if it is one."""
    lower = name.lower()
    if lower.endswith(".deb"):
        return _deb(label, f, tree)
    if lower.endswith(".rpm"):
        return _rpm(label, f, tree)
    if lower.endswith(_ZIP):
        _zip(label, f, tree)
    else:
        tree.apply_tar(decompressed(f, label), 0, label)
    return Container("archive", name, Digests(sha256="")), _wheel(name)


def _wheel(name: str) -> Component | None:
    """The Python package a wheel is, from its file name."""
    found = _WHEEL.fullmatch(os.path.basename(name))
    if found is None:
        return None
    project = re.sub(r"[-_.]+", "-", found.group("name")).lower()
    version = found.group("version")
    try:
        return Component(ComponentKind.PACKAGE, project, version,
                         purl=purl("pypi", "", project, version), found_by="wheel file name")
    except InputError:
        return None  # NOTE: a name a purl cannot carry is an archive like any other


class _Budget:
    """How many more archives inside an archive may be opened, at every depth together."""

    def __init__(self, most: int) -> None:
        self.left = most

    def take(self) -> bool:
        """Whether one more may be opened (and count it)."""
        self.left -= 1
        return self.left >= 0


def _open_nested(tree: FileTree, label: str, settings: Settings, depth: int,
                 budget: _Budget) -> tuple[dict[str, Component], dict[str, str]]:
    """Open the archives `tree` holds, each grafted under `<its path>!`; the packages they
    are (wheels, .deb, .rpm) and which of the grafted files each package owns."""
    packages: dict[str, Component] = {}
    owners: dict[str, str] = {}
    for path, stored in sorted(tree.nested.items()):
        if not budget.take():
            tree.warnings.append(f"{label}: more than {MAX_NESTED} archives inside it; "
                                 f"/{path} and the rest not opened")
            break
        where = f"{label}: /{path}"
        inner = _tree(settings, where, depth)
        try:
            with open(stored, "rb") as f:
                _, package = _read(path, where, f, inner)
        except Error as e:
            tree.warnings.append(f"{where}: not opened ({first_line(e)})")
            continue
        finally:
            os.remove(stored)
        inner_packages, inner_owners = _open_nested(inner, where, settings, depth + 1, budget)
        prefix = f"{path}!"
        tree.graft(prefix, inner)
        packages.update(inner_packages)
        owners.update({f"{prefix}/{p}": ref for p, ref in inner_owners.items()})
        if package is not None:
            packages.setdefault(package.ref, package)
            for p, entry in inner.entries.items():
                if entry.kind == "file":
                    owners.setdefault(f"{prefix}/{p}", package.ref)
    return packages, owners


def _zip(given: str, f: BinaryIO, tree: FileTree) -> None:
    import zipfile

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


def _deb(given: str, f: BinaryIO, tree: FileTree) -> tuple[Container, Component]:
    members = {name: (offset, size) for name, offset, size in _ar_members(f, given)}
    control = next((n for n in members if n.startswith("control.tar")), "")
    data = next((n for n in members if n.startswith("data.tar")), "")
    if not control or not data:
        raise InputError(f"{given}: not a Debian package (no control or data member)")
    fields = _control_fields(given, f, *members[control])
    offset, size = members[data]
    f.seek(offset)
    tree.apply_tar(decompressed(_Slice(f, size), f"{given}: {data}"), 0, f"{given}: {data}")
    found = ospkg.Packages(resolve=tree.resolve)
    ospkg.add_deb(found, fields, "debian", "/DEBIAN/control", [], tree.kept)
    if not found.components:
        raise InputError(f"{given}: the control file names no package and version")
    package = next(iter(found.components.values()))
    return Container("package", given, Digests(sha256=""), version=package.version,
                     purl=package.purl, cpe=package.cpe, licenses=package.licenses,
                     license_names=package.license_names,
                     platform=f"linux/{fields.get('Architecture', '')}"), package


def _control_fields(given: str, f: BinaryIO, offset: int, size: int) -> dict[str, str]:
    f.seek(offset)
    stream = decompressed(_Slice(f, size), f"{given}: control", cap=64 << 20)
    tar = TarReader(stream, f"{given}: control member")
    for member in tar.members():
        if clean(member.name) == "control" and member.kind == FILE and member.size < 1 << 20:
            text = tar.read().decode("utf-8", "replace")
            return next(iter(ospkg.paragraphs(text)), {})
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


def _rpm(given: str, f: BinaryIO, tree: FileTree) -> tuple[Container, Component]:
    header = rpmheader.read_package_header(f, given)
    fmt = header.text(rpmheader.PAYLOADFORMAT) or "cpio"
    if fmt != "cpio":
        raise InputError(f"{given}: rpm payload format {fmt!r} is not supported")
    found = ospkg.Packages()
    vendor = header.text(rpmheader.VENDOR).split(" ")[0].lower()
    package = ospkg.add_rpm(found, header, vendor, "rpm header")
    _cpio(given, decompressed(f, f"{given}: payload"), tree)
    return Container("package", given, Digests(sha256=""), version=package.version,
                     purl=package.purl, cpe=package.cpe, licenses=package.licenses,
                     license_names=package.license_names,
                     platform=f"linux/{header.text(rpmheader.ARCH)}"), package


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

