"""Tests of ELF notes, package-metadata notes and dlopen notes."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from sbomsign._internal.binary.detectors.package_notes import package_components, package_purl
from sbomsign._internal.binary.notes import (
    DLOPEN_NOTE_TYPE,
    FDO_OWNER,
    PACKAGE_NOTE_TYPE,
    dlopen_libraries,
    iter_elf_notes,
    package_note,
)
from sbomsign.errors import InspectionError
from sbomsign.models import ComponentKind, LinkedLibrary, Linking, PackageNote
from tests.elf_sections import elf_sections


def note(owner: bytes, ntype: int, desc: bytes, order: str = "<", align: int = 4) -> bytes:
    """One ELF note as a linker writes it."""
    name = owner + b"\0" if owner else b""

    def pad(b: bytes) -> bytes:
        return b + b"\0" * (-len(b) % align)

    return struct.pack(order + "III", len(name), len(desc), ntype) + pad(name) + pad(desc)


def json_desc(doc: object) -> bytes:
    return json.dumps(doc).encode() + b"\0"


# --------------------------------------------------------------------------------------------
# iter_elf_notes


@pytest.mark.parametrize(("endianness", "order"), [("little", "<"), ("big", ">")])
def test_iterates_notes(endianness: str, order: str) -> None:
    first = note(b"GNU", 3, bytes.fromhex("0123456789"), order)
    second = note(b"FDO", PACKAGE_NOTE_TYPE, json_desc({"name": "x"}), order)
    third = note(b"", 7, b"", order)
    section = first + second + third + b"\0" * 8
    got = list(iter_elf_notes(section, endianness))
    assert got == [
        ("GNU", 3, bytes.fromhex("0123456789"), 0),
        ("FDO", PACKAGE_NOTE_TYPE, json_desc({"name": "x"}), len(first)),
        ("", 7, b"", len(first) + len(second)),
    ]


def test_alignment_eight() -> None:
    section = note(b"GNU", 5, b"\1\2\3\4\5", align=8) + note(b"GNU", 6, b"x", align=8)
    got = list(iter_elf_notes(section, "little", align=8))
    assert [(o, t, d) for o, t, d, _ in got] == [("GNU", 5, b"\1\2\3\4\5"), ("GNU", 6, b"x")]


def test_last_note_without_padding() -> None:
    section = note(b"GNU", 1, b"abcde")[:-3]
    assert list(iter_elf_notes(section, "little")) == [("GNU", 1, b"abcde", 0)]


@pytest.mark.parametrize(
    "section",
    [
        note(b"GNU", 1, b"abcd") + b"\1\0\0\0",  # a truncated header that is not padding
        struct.pack("<III", 4, 100, 1) + b"GNU\0" + b"short",  # descsz past the end
        struct.pack("<III", 0xFFFFFFFF, 0, 1) + b"GNU\0",  # namesz past the end
        struct.pack("<III", 4, 0xFFFFFFF0, 1) + b"GNU\0",  # huge descsz
    ],
)
def test_damaged_notes_raise(section: bytes) -> None:
    with pytest.raises(InspectionError):
        list(iter_elf_notes(section, "little"))


def test_good_notes_before_damage_are_yielded() -> None:
    good = note(b"GNU", 3, b"\xaa" * 20)
    it = iter_elf_notes(good + struct.pack("<III", 4, 1000, 1), "little")
    assert next(it)[0] == "GNU"
    with pytest.raises(InspectionError, match="past the section"):
        next(it)


# --------------------------------------------------------------------------------------------
# package notes

FEDORA = {
    "type": "rpm",
    "name": "coreutils",
    "version": "9.4-7.fc40",
    "architecture": "x86_64",
    "osCpe": "cpe:/o:fedoraproject:fedora:40",
    "os": "fedora",
    "osVersion": "40",
}


def test_package_note_fields() -> None:
    desc = json_desc({**FEDORA, "count": 3, "debug": True, "list": [1, "a"], "nested": {"b": 1}})
    desc += b"\0\0"  # padding
    pn = package_note(desc, ".note.package", 924)
    assert pn.location == ".note.package" and pn.offset == 924
    assert [k for k, _ in pn.fields] == sorted(pn.fields and dict(pn.fields))
    assert pn.get("name") == "coreutils"
    assert pn.get("count") == "3"
    assert pn.get("debug") == "true"
    assert pn.get("list") == '[1,"a"]'
    assert pn.get("nested") == '{"b":1}'
    assert pn.get("missing") == ""


def test_package_note_without_terminator() -> None:
    # The PE reader hands over the text between NULs.
    pn = package_note(json.dumps({"name": "x", "\u00e9": "\u00fc"}).encode(), ".pkgnote", None)
    assert pn.get("\u00e9") == "\u00fc"
    assert pn.location == ".pkgnote"


@pytest.mark.parametrize(
    ("desc", "message"),
    [
        (b'{"name": "x"\0', "not valid JSON"),
        (b"[1, 2]\0", "not a JSON object"),
        (b'{"name": "\xff"}\0', "not UTF-8"),
        (b"\0", "not valid JSON"),
        (b"[" * 200_000 + b"\0", "nested too deeply|not valid JSON"),
    ],
)
def test_package_note_errors(desc: bytes, message: str) -> None:
    with pytest.raises(InspectionError, match=message):
        package_note(desc, ".note.package", 0)


# --------------------------------------------------------------------------------------------
# dlopen notes


def test_dlopen_array() -> None:
    desc = json_desc(
        [
            {
                "feature": "pcre2",
                "description": "Support for PCRE2 regular expressions",
                "priority": "suggested",
                "soname": ["libpcre2-8.so.0"],
            },
            {"feature": "tpm", "soname": ["libtss2-esys.so.0", "libtss2-rc.so.0"]},
        ]
    )
    assert dlopen_libraries(desc) == (
        LinkedLibrary("libpcre2-8.so.0", "FDO dlopen note", "suggested", "pcre2"),
        LinkedLibrary("libtss2-esys.so.0", "FDO dlopen note", "recommended", "tpm"),
        LinkedLibrary("libtss2-rc.so.0", "FDO dlopen note", "recommended", "tpm"),
    )


def test_dlopen_single_object_form() -> None:
    desc = json_desc({"soname": "libfoo.so.1", "priority": "required"})
    assert dlopen_libraries(desc) == (
        LinkedLibrary("libfoo.so.1", "FDO dlopen note", "required", ""),
    )


@pytest.mark.parametrize(
    "doc",
    [
        "libfoo.so.1",
        [1],
        [{"feature": "x"}],
        [{"soname": []}],
        [{"soname": [3]}],
        [{"soname": ["a"], "priority": 1}],
    ],
)
def test_dlopen_errors(doc: object) -> None:
    with pytest.raises(InspectionError):
        dlopen_libraries(json_desc(doc))


# --------------------------------------------------------------------------------------------
# package components and purls


def pn(**fields: str) -> PackageNote:
    return PackageNote(fields=tuple(sorted(fields.items())), location=".note.package", offset=8)


def test_rpm_purl() -> None:
    assert package_purl(pn(**FEDORA)) == (
        "pkg:rpm/fedora/coreutils@9.4-7.fc40?arch=x86_64&distro=fedora-40"
    )


def test_deb_purl_with_binary_arch() -> None:
    note_ = pn(type="deb", name="hello", version="1.0-1", os="debian", osVersion="12")
    assert package_purl(note_, "x86_64") == "pkg:deb/debian/hello@1.0-1?arch=amd64&distro=debian-12"
    # an ambiguous architecture is left out rather than guessed
    assert package_purl(note_, "arm") == "pkg:deb/debian/hello@1.0-1?distro=debian-12"


def test_apk_and_alpm_purls() -> None:
    apk = pn(
        type="apk",
        name="busybox",
        version="1.36.1-r2",
        os="alpine",
        osVersion="3.19",
        architecture="aarch64",
    )
    assert package_purl(apk) == "pkg:apk/alpine/busybox@1.36.1-r2?arch=aarch64&distro=alpine-3.19"
    alpm = pn(type="alpm", name="pacman", version="6.1.0-3", os="arch")
    assert package_purl(alpm, "x86_64") == "pkg:alpm/arch/pacman@6.1.0-3?arch=x86_64&distro=arch"


def test_os_from_cpe() -> None:
    only_cpe = pn(type="rpm", name="bash", version="5.2", osCpe="cpe:/o:fedoraproject:fedora:40")
    assert package_purl(only_cpe) == "pkg:rpm/fedora/bash@5.2?distro=fedora-40"
    cpe23 = pn(
        type="rpm",
        name="bash",
        version="5.2",
        os="rhel",
        osCpe="cpe:2.3:o:redhat:enterprise_linux:9:*:*:*:*:*:*:*",
    )
    # the CPE names another product: the OS id is kept and its version not borrowed
    assert package_purl(cpe23) == "pkg:rpm/rhel/bash@5.2?distro=rhel"


def test_unknown_type_is_generic() -> None:
    assert package_purl(pn(type="nix", name="hello", version="2.12", system="nixos")) == (
        "pkg:generic/nixos/hello@2.12"
    )
    assert package_purl(pn(name="tool", version="1")) == "pkg:generic/tool@1"
    assert package_purl(pn(version="1")) == ""


def test_package_components() -> None:
    fedora = pn(**FEDORA, appCpe="cpe:/a:gnu:coreutils:9.4")
    comps = package_components((fedora, fedora, pn(version="1")), "x86_64")
    assert len(comps) == 1
    (c,) = comps
    assert c.kind is ComponentKind.PACKAGE
    assert c.linking is Linking.NONE
    assert (c.name, c.version) == ("coreutils", "9.4-7.fc40")
    assert c.purl == "pkg:rpm/fedora/coreutils@9.4-7.fc40?arch=x86_64&distro=fedora-40"
    assert c.cpe == "cpe:/a:gnu:coreutils:9.4"
    assert ("sbomsign:package-note:osVersion", "40") in c.properties
    assert list(c.properties) == sorted(c.properties)
    assert c.evidence[0].location == ".note.package" and c.evidence[0].offset == 8


# --------------------------------------------------------------------------------------------
# A real linker-written note


def test_linker_written_package_note(tmp_path: Path) -> None:
    # gcc and binutils come with scripts/test; GNU ld writes package notes since 2.39.
    assert shutil.which("gcc"), "gcc is not installed: run scripts/test"
    metadata = json.dumps({**FEDORA, "debugInfoUrl": "https://debuginfod.fedoraproject.org/"})
    (tmp_path / "t.c").write_text("int main(void) { return 0; }\n")
    run = subprocess.run(
        [
            "gcc",
            "-o",
            str(tmp_path / "t"),
            str(tmp_path / "t.c"),
            "-Wl,--build-id=sha1",
            "-Xlinker",
            f"--package-metadata={metadata}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        pytest.skip(f"the linker cannot write package notes: {run.stderr.strip()[:200]}")
    data = (tmp_path / "t").read_bytes()
    found = {}
    for name, (stype, offset, size) in elf_sections(data).items():
        if stype != 7:  # SHT_NOTE
            continue
        for owner, ntype, desc, rel in iter_elf_notes(data[offset : offset + size], "little"):
            found[(owner, ntype)] = (name, desc, offset + rel)
    _, build_id, _ = found[("GNU", 3)]
    readelf = shutil.which("readelf")
    if readelf:
        out = subprocess.run(
            [readelf, "-n", str(tmp_path / "t")], capture_output=True, text=True, check=True
        ).stdout
        assert f"Build ID: {build_id.hex()}" in out
    section, desc, offset = found[(FDO_OWNER, PACKAGE_NOTE_TYPE)]
    assert section == ".note.package"
    pnote = package_note(desc, section, offset)
    assert dict(pnote.fields) == {k: str(v) for k, v in json.loads(metadata).items()}
    assert data[offset + 12 : offset + 16] == b"FDO\0"
    (comp,) = package_components((pnote,), "x86_64")
    assert comp.purl == "pkg:rpm/fedora/coreutils@9.4-7.fc40?arch=x86_64&distro=fedora-40"
    assert (FDO_OWNER, DLOPEN_NOTE_TYPE) not in found
