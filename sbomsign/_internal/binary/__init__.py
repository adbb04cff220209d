"""The only package that imports lief: one reader per executable format.

lief is loaded on the first file that needs it: a PE or Mach-O file, or an ELF file that
`elftables` leaves to it. Most ELF files never need it, and loading it costs more than
reading all the binaries of a small image.

`inspect_file` opens a file once, hashes it in a streaming pass over a read-only map, and hands
the same map to the format reader, so a binary is never held in Python memory as a whole.
"""

from __future__ import annotations

import mmap
import os
import stat
import warnings
from collections.abc import Callable
from pathlib import PurePath
from types import ModuleType
from typing import BinaryIO

from sbomsign._internal.binary._common import FileView
from sbomsign.errors import InputError, InspectionError
from sbomsign.models import Artifact, Binary, Component, Digests

ELF_MAGIC = b"\x7fELF"
MACHO_MAGICS = {
    b"\xfe\xed\xfa\xce",
    b"\xce\xfa\xed\xfe",
    b"\xfe\xed\xfa\xcf",
    b"\xcf\xfa\xed\xfe",
}
FAT_MAGICS = {b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf"}


def sniff(stream: BinaryIO, start: int = 0) -> str | None:
    """The executable format of an open file (positioned at `start`, where the image begins)
    from its magic bytes, or None.

    Reads at most a few hundred bytes: cheap enough to skip non-binaries in a directory walk.
    """
    head = stream.read(64)
    if head[:4] == ELF_MAGIC:
        return "elf"
    if head[:4] in MACHO_MAGICS:
        return "macho"
    if head[:4] in FAT_MAGICS and len(head) >= 8:
        # NOTE: Java class files share 0xCAFEBABE; there the next word is the class-file
        # version (>= 45), here the number of slices, which is small.
        count = int.from_bytes(head[4:8], "big")
        return "macho" if 0 < count <= 32 else None
    if head[:2] == b"MZ" and len(head) >= 64:
        pe_offset = int.from_bytes(head[60:64], "little")
        if pe_offset < 64 * 1024:
            stream.seek(start + pe_offset)
            if stream.read(4) == b"PE\0\0":
                return "pe"
    return None


def warm_up() -> None:
    """Load what every file needs: the ELF reader, and the classifier table with its patterns
    compiled. The scan calls this before it forks its workers, which inherit it (a spawned
    worker calls it when it starts); each would otherwise do it on its first file."""
    from sbomsign._internal.binary import elf  # noqa: F401 - imported to be loaded
    from sbomsign._internal.binary.detectors import _rodata, classifiers
    from sbomsign._internal.hashing import digest_buffer  # noqa: F401 - imported to be loaded

    for c in classifiers.builtin():
        for pattern in (c.pattern, *c.requires):
            _rodata.anchor(pattern)


def lief_module() -> ModuleType:
    """lief, loaded, with its own logging off (our one-line errors replace its messages)."""
    import lief

    lief.logging.disable()
    return lief


def inspect_file(
    path: str, display: str | None = None, span: tuple[int, int] | None = None
) -> Artifact:
    """Inspect one file (the `span` (offset, size) of `path`, or all of it): digests, then
    every image in it. An offset is a multiple of `mmap.ALLOCATIONGRANULARITY`.

    Raises:
        InputError: the file cannot be read.
        InspectionError: it is not an ELF, PE or Mach-O file, or it is damaged.
    """
    from sbomsign._internal.hashing import digest_buffer

    shown = display or path
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise InspectionError("not a regular file")
            start, size = span or (0, st.st_size)
            if size == 0:
                raise InspectionError("empty file")
            if start + size > st.st_size:
                raise InputError("the file is shorter than its span")
            f.seek(start)
            fmt = sniff(f, start)
            if fmt is None:
                raise InspectionError("not an ELF, PE or Mach-O file")
            # NOTE: a whole file is mapped at the size it has when mapped, not the one fstat saw.
            length = 0 if span is None else size
            with mmap.mmap(f.fileno(), length, access=mmap.ACCESS_READ, offset=start) as mm:
                size = len(mm)
                # NOTE: lief reads a file by name; a span of one is handed to it as bytes.
                source = path if span is None else None

                def inspect() -> list[tuple[Binary, tuple[Component, ...]]]:
                    return _inspect(fmt, source, FileView(mm))

                if size < HASH_BESIDE:
                    digests, binaries = digest_buffer(mm), inspect()
                else:
                    digests, binaries = _hash_beside(mm, inspect)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}") from e
    return _artifact(shown, size, digests, binaries)


#: From this size on, a file is hashed in a thread while it is parsed (a large Go binary's
#: three digests take about as long as reading its build info and hardening).
HASH_BESIDE = 4 << 20


def _hash_beside(
    mm: mmap.mmap, inspect: Callable[[], list[tuple[Binary, tuple[Component, ...]]]]
) -> tuple[Digests, list[tuple[Binary, tuple[Component, ...]]]]:
    from concurrent.futures import ThreadPoolExecutor

    from sbomsign._internal.hashing import digest_buffer

    # NOTE: leaving the executor waits for the hashing thread, so the map is never closed
    # under it, also when parsing fails.
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashed = pool.submit(digest_buffer, mm)
        binaries = inspect()
    return hashed.result(), binaries


def _inspect(
    fmt: str, path: str | None, view: FileView
) -> list[tuple[Binary, tuple[Component, ...]]]:
    from sbomsign._internal.binary._common import check_elf_header, check_macho_header

    size = len(view.mm)
    head = view.read(0, 64)
    if fmt == "elf":
        check_elf_header(head, size)
    elif fmt == "macho" and head[:4] in MACHO_MAGICS:
        check_macho_header(head, size)
    if fmt != "elf":
        lief_module()
    try:
        # NOTE: lief warns for every raw value its enums lack (a damaged or vendor-specific
        # header), thousands of lines for a hostile file; the readers take the raw numbers.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", r".* is not a valid ", RuntimeWarning)
            if fmt == "elf":
                from sbomsign._internal.binary import elf

                return [elf.inspect(path, view)]
            if fmt == "pe":
                from sbomsign._internal.binary import pe

                return [pe.inspect(path, view)]
            from sbomsign._internal.binary import macho

            return macho.inspect(path, view)
    except (RuntimeError, ValueError, IndexError, OverflowError, UnicodeDecodeError) as e:
        raise InspectionError(f"lief cannot parse this {fmt.upper()} file: {e}") from e


def _artifact(
    path: str,
    size: int,
    digests: Digests,
    found: list[tuple[Binary, tuple[Component, ...]]],
) -> Artifact:
    components: dict[str, Component] = {}
    for _, comps in found:
        for c in comps:
            components.setdefault(c.ref, c)
    return Artifact(
        path=path,
        name=PurePath(path).name,
        size=size,
        digests=digests,
        binaries=tuple(b for b, _ in found),
        components=tuple(components[k] for k in sorted(components)),
    )
