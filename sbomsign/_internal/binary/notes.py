"""ELF notes, package-metadata notes and dlopen notes.

- The ELF note format: `namesz`, `descsz`, `type` (32-bit words in the file's byte order), the
  owner name padded to 4 bytes, the descriptor padded to 4 bytes.
- Package metadata (UAPI.8 "Package Metadata for Executable Files"): note type `0xcafe1a7e`,
  owner `FDO`, one NUL-terminated JSON object (ELF `.note.package`, PE `.pkgnote`).
- dlopen metadata (systemd "ELF dlopen metadata"): note type `0x407c0c0a`, owner `FDO`, a JSON
  array of objects naming the libraries a program may `dlopen()`.
"""

import json
from collections.abc import Iterator
from typing import Literal

from sbomsign._internal import jsonbound
from sbomsign.errors import InspectionError
from sbomsign.models import (
    LinkedLibrary,
    PackageNote,
)

#: Note type of package metadata notes.
PACKAGE_NOTE_TYPE = 0xCAFE1A7E
#: Note type of dlopen metadata notes.
DLOPEN_NOTE_TYPE = 0x407C0C0A
#: Owner (name) of both notes: FreeDesktop.org.
FDO_OWNER = "FDO"
#: How `dlopen_libraries` says a library was named.
DLOPEN_HOW = "FDO dlopen note"

_NOTE_HEADER = 12
# A JSON payload far beyond any real note is damage or an attack on memory; real package
# notes are a few hundred bytes.
_MAX_JSON = 1024 * 1024


def iter_elf_notes(
    section: bytes, endianness: str, align: int = 4
) -> Iterator[tuple[str, int, bytes, int]]:
    """Yield (owner, type, descriptor, offset of the note in `section`) for each note.

    `endianness` is `little` or `big`. `align` is the padding of name and descriptor: 4 for
    standard notes; pass 8 only for sections aligned to 8 that use it (some `.note.gnu.property`
    producers). The owner is the name up to its first NUL. Trailing NUL padding shorter than a
    note header is accepted.

    Raises:
        InspectionError: (while iterating) a note header or its sizes run past the section.
    """
    order: Literal["little", "big"] = "big" if endianness == "big" else "little"
    pos = 0
    end = len(section)
    while pos < end:
        if end - pos < _NOTE_HEADER:
            if not section[pos:].strip(b"\0"):
                return
            raise InspectionError(f"ELF note at offset {pos} is truncated")
        namesz = int.from_bytes(section[pos : pos + 4], order)
        descsz = int.from_bytes(section[pos + 4 : pos + 8], order)
        ntype = int.from_bytes(section[pos + 8 : pos + 12], order)
        name_start = pos + _NOTE_HEADER
        desc_start = name_start + _pad(namesz, align)
        next_note = desc_start + _pad(descsz, align)
        if name_start + namesz > end or desc_start + descsz > end:
            raise InspectionError(
                f"ELF note at offset {pos} claims sizes past the section "
                f"(namesz {namesz}, descsz {descsz})"
            )
        owner = section[name_start : name_start + namesz].split(b"\0", 1)[0]
        yield (
            owner.decode("utf-8", "replace"),
            ntype,
            bytes(section[desc_start : desc_start + descsz]),
            pos,
        )
        # NOTE: the last note's padding may be missing; that is not worth an error.
        pos = min(next_note, end)


def _pad(size: int, align: int) -> int:
    return (size + align - 1) // align * align


def _json_text(desc: bytes, what: str) -> object:
    """The JSON value of a NUL-terminated (and NUL-padded) UTF-8 descriptor."""
    raw = desc.split(b"\0", 1)[0]
    if len(raw) > _MAX_JSON:
        raise InspectionError(f"{what} is implausibly large ({len(raw)} bytes)")
    try:
        return jsonbound.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InspectionError(f"{what} is not UTF-8") from None
    except ValueError as e:
        raise InspectionError(f"{what} is not valid JSON ({str(e).splitlines()[0]})") from None
    except RecursionError:
        raise InspectionError(f"{what} JSON is nested too deeply") from None


def package_note(
    desc: bytes, location: str = ".note.package", offset: int | None = None
) -> PackageNote:
    """Decode a package-metadata note's descriptor (a JSON object, NUL-terminated or not).

    String values are kept as they are; other values (numbers, booleans, arrays, objects) are
    stored as compact JSON text, since the spec lets producers add any names.

    Raises:
        InspectionError: the descriptor is not UTF-8 JSON or not a JSON object.
    """
    doc = _json_text(desc, "package note")
    if not isinstance(doc, dict):
        raise InspectionError("package note is not a JSON object")
    fields = tuple(
        sorted(
            (
                str(k),
                v
                if isinstance(v, str)
                else json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
            )
            for k, v in doc.items()
        )
    )
    return PackageNote(fields=fields, location=location, offset=offset)


def dlopen_libraries(desc: bytes) -> tuple[LinkedLibrary, ...]:
    """The libraries named by a dlopen-metadata note, one per soname.

    The payload is a JSON array of objects with `soname` (a list of names, or one name as in
    the first version of the spec), and optional `feature`, `description` and `priority`
    (`required`, `recommended`, `suggested`; `recommended` when absent, as the spec says). A
    single object is accepted as a one-element array.

    Raises:
        InspectionError: the payload is not JSON of that shape.
    """
    doc = _json_text(desc, "dlopen note")
    entries = [doc] if isinstance(doc, dict) else doc
    if not isinstance(entries, list):
        raise InspectionError("dlopen note is not a JSON array")
    out: list[LinkedLibrary] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InspectionError(f"dlopen note entry {i} is not an object")
        sonames = entry.get("soname")
        if isinstance(sonames, str):
            sonames = [sonames]
        if not isinstance(sonames, list) or not sonames:
            raise InspectionError(f"dlopen note entry {i} has no 'soname' list")
        feature = entry.get("feature", "")
        priority = entry.get("priority", "recommended")
        if not isinstance(feature, str) or not isinstance(priority, str):
            raise InspectionError(f"dlopen note entry {i}: 'feature'/'priority' are not strings")
        for name in sonames:
            if not isinstance(name, str) or not name:
                raise InspectionError(f"dlopen note entry {i}: a soname is not a string")
            out.append(LinkedLibrary(name=name, how=DLOPEN_HOW, priority=priority, feature=feature))
    return tuple(out)
