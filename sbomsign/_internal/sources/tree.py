"""The file system inside an image or archive, built without extracting it.

Layers are applied in order as tar streams, read once: whiteouts (`.wh.NAME`) delete what
lower layers put at NAME, opaque whiteouts (`.wh..wh..opq`) empty a directory of what lower
layers put there, and a later file replaces an earlier one. The tree records every path with
its kind and the layer that wrote it; only two kinds of content are kept:

- executables (ELF, PE, Mach-O by their magic bytes) are copied into the private work
  directory, under a counter name (never under a name from the archive), for the scanners;
  the small ones one after another into one spool file, for an image of a few hundred
  libraries would otherwise spend more time creating files than reading them;
- the small files that describe the system (`os-release`, package databases, `ld.so.conf`)
  are kept in memory, or on disk for the sqlite rpm database, each within its own size bound.

Nothing else is written anywhere. Names with `..`, absolute names, device files and links are
recorded or skipped, never followed outside the tree: symlinks are resolved inside the tree
the way the container would see them (`..` at the root stays at the root).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import posixpath
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from sbomsign._internal.limits import LimitExceeded, limit
from sbomsign._internal.sources import tarstream
from sbomsign._internal.sources.streams import Readable, max_binary_bytes
from sbomsign._internal.sources.tarstream import Member, TarReader
from sbomsign.errors import InputError

#: Most entries one image or archive may hold (`SBOMSIGN_MAX_FILES` raises it).
DEFAULT_MAX_FILES = 1_000_000
#: Most bytes of system files (package databases, copyright files, ...) one image or archive
#: may keep in memory (`SBOMSIGN_MAX_KEPT_BYTES` raises it): each file has its own bound, and
#: this one stops many of them from adding up.
DEFAULT_MAX_KEPT = 1 << 30
_SYMLINK_HOPS = 40

#: System files kept for reading, with their size bound. rpm's databases go to disk.
_KEEP: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"(etc|usr/lib)/os-release"), 64 << 10),
    (re.compile(r"var/lib/dpkg/status"), 256 << 20),
    (re.compile(r"var/lib/dpkg/status\.d/[^/]+"), 16 << 20),
    (re.compile(r"var/lib/dpkg/info/[^/]+\.list"), 16 << 20),
    (re.compile(r"(usr/)?lib/apk/db/installed"), 256 << 20),
    (re.compile(r"var/lib/rpmmanifest/container-manifest-2"), 64 << 20),
    (re.compile(r"(var/lib/rpm|usr/lib/sysimage/rpm)/rpmdb\.sqlite"), 1 << 30),
    (re.compile(r"(var/lib/rpm|usr/lib/sysimage/rpm)/Packages(\.db)?"), 1 << 30),
    (re.compile(r"etc/ld\.so\.conf(\.d/[^/]+)?"), 64 << 10),
    (re.compile(r"etc/ld-musl-[^/]+\.path"), 64 << 10),
    (re.compile(r"usr/share/doc/[^/]+/copyright"), 8 << 20),
)
_ON_DISK = re.compile(r".*/(rpmdb\.sqlite|Packages|Packages\.db)")
_MAGICS = (b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf",
           b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"\xbe\xba\xfe\xca")


def _looks_binary(head: bytes) -> bool:
    if head[:4] in _MAGICS:
        return True
    return head[:2] == b"MZ" and len(head) >= 64


@dataclass
class Entry:
    """One path of the tree."""

    kind: str
    """`file`, `dir`, `symlink` or `other` (devices, fifos)."""
    layer: int
    target: str = ""
    """A symlink's target, as written."""
    stored: str = ""
    """Where a binary's bytes were copied (in the work directory)."""
    size: int = 0
    span: tuple[int, int] | None = None
    """Offset and size of a small binary's bytes inside the spool file `stored`."""


class FileTree:
    """Paths (relative, no leading `/`) to entries, built layer by layer."""

    def __init__(self, workdir: str, what: str, *, nested: tuple[str, ...] = (),
                 on_binary: Callable[[str, tuple[int, int] | None], None] | None = None,
                 ) -> None:
        self.entries: dict[str, Entry] = {}
        self._on_binary = on_binary
        self.nested: dict[str, str] = {}
        """Archives inside this one (path -> their copy on disk), when `nested` names the
        suffixes to keep. Each is smaller than the archive holding it, whose own bound
        applies; what each holds is bounded again when it is opened."""
        self._nested = nested
        self.kept: dict[str, bytes | str] = {}
        """System files: bytes, or the path of the copy on disk (rpm's databases)."""
        self._stored_refs: dict[str, int] = {}
        """How many paths hold each binary copied to its own file (hard links share one)."""
        self._spool = _Spool(workdir)
        self.warnings: list[str] = []
        self._children: dict[str, set[str]] = {}
        self._workdir = workdir
        self._what = what
        self._counter = 0
        self._max_files = limit("SBOMSIGN_MAX_FILES", DEFAULT_MAX_FILES)
        self._max_binary = max_binary_bytes()
        self._max_kept = limit("SBOMSIGN_MAX_KEPT_BYTES", DEFAULT_MAX_KEPT)
        self._kept_bytes = 0

    # --- building -------------------------------------------------------------------------

    def apply_tar(self, stream: Readable, layer: int, label: str) -> None:
        """Apply one layer (an uncompressed tar stream) on top of the tree.

        Raises:
            InputError: the tar stream is damaged or a bound was exceeded.
        """
        skipped: dict[str, int] = {}
        tar = TarReader(stream, label)
        try:
            for member in tar.members():
                why = self._apply_member(tar, member, layer)
                if why:
                    skipped[why] = skipped.get(why, 0) + 1
        except EOFError:
            raise InputError(f"{label}: tar data ends early") from None
        for why, count in sorted(skipped.items()):
            self.warnings.append(f"{label}: skipped {count} {why}")

    def _apply_member(self, tar: TarReader, member: Member, layer: int) -> str:
        path = clean(member.name)
        if path is None:
            return "entries with '..' or absolute names"
        if not path:
            return ""  # the root directory itself
        parent, base = posixpath.split(path)
        if base == ".wh..wh..opq":
            self._opaque(parent, layer)
            return ""
        if base.startswith(".wh."):
            self._remove(posixpath.join(parent, base[4:]), below=layer)
            return ""
        kind = member.kind
        if kind == tarstream.DIR:
            if self.entries.get(path, Entry("", 0)).kind != "dir":
                self._put(path, Entry("dir", layer))
            return ""
        if kind == tarstream.SYMLINK:
            self.add_symlink(path, member.linkname, layer)
            return ""
        if kind == tarstream.HARDLINK:
            return self._hardlink(path, member.linkname, layer)
        if kind != tarstream.FILE:
            self._put(path, Entry("other", layer))
            return _SKIPPED_KINDS.get(kind, "")
        self.add_file(path, tar, member.size, layer)
        return ""

    def add_file(self, path: str, reader: Readable, size: int, layer: int) -> None:
        """Record a regular file; copy it out when it is a binary or a system file we read."""
        self._drop_nested(path)
        entry = Entry("file", layer, size=size)
        keep = _keep_bound(path)
        if keep is not None:
            if size > keep:
                self.warnings.append(f"{self._what}: /{path}: {size} bytes, larger than the "
                                     f"{keep} read for it; not read")
            elif _ON_DISK.fullmatch(path):
                self.kept[path] = self._copy(reader, size)
            elif self._kept_bytes + size > self._max_kept:
                self.warnings.append(f"{self._what}: /{path}: the system files read reach "
                                     f"{self._max_kept} bytes in all (raise "
                                     "SBOMSIGN_MAX_KEPT_BYTES to allow more); not read")
            else:
                self._kept_bytes += size
                self.kept[path] = reader.read(size)
        else:
            head = reader.read(64)
            if _looks_binary(head):
                if size > self._max_binary:
                    raise LimitExceeded(
                        f"{self._what}: /{path}: {size} bytes, larger than "
                        f"{self._max_binary} (raise SBOMSIGN_MAX_BINARY_BYTES to allow more)")
                if size <= SPOOL_MAX:
                    entry.stored, entry.span = self._spool.add(reader, size, head, self._what)
                else:
                    entry.stored = self._copy(reader, size, head)
                if self._on_binary is not None:
                    self._on_binary(entry.stored, entry.span)
            elif self._nested and path.lower().endswith(self._nested):
                self.nested[path] = self._copy(reader, size, head)
        self._put(path, entry)

    def _release(self, stored: str) -> None:
        """One path less holds the binary copied to `stored` (hard links share a copy); the
        last one gone, the copy is deleted, so that only what the tree holds in the end is
        on disk."""
        left = self._stored_refs.pop(stored, 1) - 1
        if left > 0:
            self._stored_refs[stored] = left
        else:
            with contextlib.suppress(FileNotFoundError):
                os.remove(stored)

    def _drop_nested(self, path: str) -> None:
        """Forget (and delete the copy of) an archive at `path` that is replaced or removed:
        only what the tree holds in the end is opened."""
        stored = self.nested.pop(path, None)
        if stored is not None:
            os.remove(stored)

    def graft(self, prefix: str, inner: FileTree) -> None:
        """Put the files and directories of `inner` (an archive inside this one) under
        `prefix`; its symlinks are left out, for they point into its own root."""
        for path in sorted(inner.entries):
            entry = inner.entries[path]
            if entry.kind in ("file", "dir"):
                self._put(f"{prefix}/{path}", entry)
        self.warnings.extend(inner.warnings)

    def add_symlink(self, path: str, target: str, layer: int) -> None:
        """Record a symlink; it is only ever resolved inside the tree (`resolve`)."""
        self._put(path, Entry("symlink", layer, target=target))

    def _copy(self, reader: Readable, size: int, head: bytes = b"") -> str:
        self._counter += 1
        dest = os.path.join(self._workdir, f"f{self._counter:07d}")
        with open(dest, "xb") as out:
            _write_member(out, reader, head, size, self._what)
        return dest

    def _hardlink(self, path: str, target: str, layer: int) -> str:
        self._drop_nested(path)
        source = clean(target)
        found = self.entries.get(source) if source is not None else None
        if found is None or found.kind != "file":
            return "hard links to missing files"
        self._put(path, Entry("file", layer, stored=found.stored, size=found.size,
                              span=found.span))
        if source in self.kept:
            self.kept[path] = self.kept[source]
        return ""

    def _put(self, path: str, entry: Entry) -> None:
        old = self.entries.get(path)
        if old is not None and old.kind == "dir" and entry.kind != "dir":
            self._remove(path, below=entry.layer + 1)
        if path not in self.entries:
            if len(self.entries) >= self._max_files:
                raise LimitExceeded(f"{self._what}: more than {self._max_files} files "
                                    f"(raise SBOMSIGN_MAX_FILES to allow more)")
            parent = posixpath.dirname(path)
            self._children.setdefault(parent, set()).add(posixpath.basename(path))
            if parent and parent not in self.entries:
                self._put(parent, Entry("dir", entry.layer))
        replaced = self.entries.get(path)
        self.entries[path] = entry
        if entry.stored and entry.span is None:
            self._stored_refs[entry.stored] = self._stored_refs.get(entry.stored, 0) + 1
        if replaced is not None and replaced.stored and replaced.span is None:
            self._release(replaced.stored)
        if _keep_bound(path) is None:
            self.kept.pop(path, None)
        if entry.kind != "file":
            self._drop_nested(path)

    def _remove(self, path: str, *, below: int) -> None:
        """Delete `path` and everything under it that a layer before `below` wrote."""
        entry = self.entries.get(path)
        if entry is None or entry.layer >= below:
            return
        for child in sorted(self._children.get(path, ())):
            self._remove(posixpath.join(path, child), below=below)
        if entry.kind == "dir" and self._children.get(path):
            return  # NOTE: something of this layer lives under it; the directory stays
        del self.entries[path]
        if entry.stored and entry.span is None:
            self._release(entry.stored)
        self.kept.pop(path, None)
        self._drop_nested(path)
        self._children.pop(path, None)
        self._children.get(posixpath.dirname(path), set()).discard(posixpath.basename(path))

    def _opaque(self, directory: str, layer: int) -> None:
        for child in sorted(self._children.get(directory, ())):
            self._remove(posixpath.join(directory, child), below=layer)

    # --- reading ---------------------------------------------------------------------------

    def binaries(self) -> Iterator[tuple[str, Entry]]:
        """(path, entry) of every binary in the final tree, by path."""
        for path in sorted(self.entries):
            entry = self.entries[path]
            if entry.kind == "file" and entry.stored:
                yield path, entry

    def resolve(self, path: str) -> str | None:
        """`path` with every symlink in it followed inside the tree, or None if it leads
        nowhere (missing, a loop, too many hops)."""
        parts = [p for p in path.split("/") if p and p != "."]
        done: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                if done:
                    done.pop()
                continue
            here = "/".join([*done, part])
            entry = self.entries.get(here)
            if entry is None:
                return None
            if entry.kind == "symlink":
                hops += 1
                if hops > _SYMLINK_HOPS:
                    return None
                target = entry.target
                if target.startswith("/"):
                    done = []
                parts = [p for p in target.split("/") if p and p != "."] + parts
                continue
            done.append(part)
        return "/".join(done)

    def listdir(self, directory: str) -> list[str]:
        """Names in a directory of the tree (after resolving it), sorted."""
        real = self.resolve(directory)
        return sorted(self._children.get(real, ())) if real is not None else []


#: What a member of a kind the tree does not hold is counted as, in the warning.
_SKIPPED_KINDS = {tarstream.DEVICE: "device files, fifos and sockets",
                  tarstream.SPARSE: "sparse files (not read)"}


def clean(name: str) -> str | None:
    """A member name as a tree path (`./usr/bin/x` -> `usr/bin/x`); None for `..` or `/x`."""
    if name.startswith("/") or "\\" in name and name.startswith("\\"):
        return None
    parts = [p for p in name.split("/") if p and p != "."]
    if any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def _keep_bound(path: str) -> int | None:
    return next((size for pattern, size in _KEEP if pattern.fullmatch(path)), None)


#: Binaries up to this size share the spool file; a larger one gets a file of its own, which
#: is deleted as soon as a later layer replaces or deletes it.
SPOOL_MAX = 512 << 10


class _Spool:
    """Small binaries, one after another in one file, each at a page boundary so that a
    worker can map it alone. One that a later layer replaces stays until the scan ends; a
    spool holds at most `SPOOL_MAX` bytes for each binary the image wrote."""

    def __init__(self, workdir: str) -> None:
        self.path = os.path.join(workdir, "spool")
        self._end = 0
        self._made = False

    def add(
        self, reader: Readable, size: int, head: bytes, what: str
    ) -> tuple[str, tuple[int, int]]:
        """Append a binary of `size` bytes (`head` already read); its file and span.

        Raises:
            InputError: the member holds fewer or more bytes than it declares.
        """
        page = mmap.ALLOCATIONGRANULARITY
        start = -(-self._end // page) * page
        # NOTE: opening the one existing file costs little; creating a file is what the spool
        # saves. Closing it after each binary puts the bytes where a worker can read them.
        # The first binary makes the file, which must not exist yet (as `_copy`'s "xb").
        flags = os.O_WRONLY if self._made else os.O_WRONLY | os.O_CREAT | os.O_EXCL
        with open(os.open(self.path, flags, 0o600), "wb") as out:
            self._made = True
            out.seek(start)
            _write_member(out, reader, head, size, what)
        self._end = start + size
        return self.path, (start, size)


def _write_member(out: BinaryIO, reader: Readable, head: bytes, size: int, what: str) -> None:
    """Write a member's bytes at `out`'s position: `head`, already read, then the rest of
    `reader`.

    Raises:
        InputError: the member holds fewer or more bytes than it declares.
    """
    start = out.tell()
    out.write(head)
    shutil.copyfileobj(reader, out, 1 << 20)
    written = out.tell() - start
    if written != size:
        raise InputError(f"{what}: a member declares {size} bytes but holds {written}")
