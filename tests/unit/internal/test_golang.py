"""Tests of the Go build-info decoder.

Most tests build small programs with the installed Go toolchain (no network: dependencies come
from a `file://` module proxy written by the fixture) for 32/64-bit and little/big-endian
targets, and compare the decoded build info with what `go version -m` prints. `scripts/test`
installs the toolchains they need (Go, git, gcc).
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import pytest

from sbomsign._internal.binary.detectors.golang.buildinfo import (
    BUILDINFO_MAGIC,
    INFO_END,
    INFO_START,
    find_buildinfo,
)
from sbomsign._internal.binary.detectors.golang.components import go_components
from sbomsign._internal.binary.detectors.golang.modinfo import go_quote, go_unquote, parse_modinfo
from sbomsign._internal.binary.detectors.golang.recover import recover_from_blob
from sbomsign._internal.binary.detectors.golang.version import (
    derive_main_version,
    format_go_version_m,
    split_go_flags,
)
from sbomsign.errors import InspectionError
from sbomsign.models import ComponentKind, GoBuildInfo, GoModule, Replacement
from tests.elf_sections import elf_section

COMMIT_TIME = "2023-05-06T07:08:09Z"

# --------------------------------------------------------------------------------------------
# Building test programs


def _write_module(proxy: Path, path: str, version: str, files: dict[str, str], gomod: str) -> None:
    """Add one module version to a GOPROXY directory (the layout `go help goproxy` describes)."""
    d = proxy / path / "@v"
    d.mkdir(parents=True, exist_ok=True)
    with (d / "list").open("a") as f:
        f.write(version + "\n")
    (d / f"{version}.info").write_text(json.dumps({"Version": version, "Time": COMMIT_TIME}))
    (d / f"{version}.mod").write_text(gomod)
    with zipfile.ZipFile(d / f"{version}.zip", "w") as z:
        z.writestr(f"{path}@{version}/go.mod", gomod)
        for name, text in files.items():
            z.writestr(f"{path}@{version}/{name}", text)


MAIN_GO = """package main

import (
\t"os"

\t"example.com/dep"
\t"example.com/local"
\t"example.com/other"
)

var version = "dev"
var note = ""

func main() {
\tos.Stdout.WriteString(dep.Name() + local.Name() + other.Name() + version + note + "\\n")
}
"""

GO_MOD = """module example.com/App

go 1.19

require (
\texample.com/dep v1.0.0
\texample.com/local v1.2.3
\texample.com/other v0.2.0
)

replace example.com/local v1.2.3 => ./local

replace example.com/other => example.com/fork v0.2.1
"""

LDFLAGS = "-X 'main.version=1.4.2' -X \"main.note=a b\" -s"


@dataclass
class GoWorld:
    """A module tree with a proxy and a git checkout, and a cache of built binaries."""

    go: str
    root: Path
    src: Path
    env: dict[str, str]
    built: dict[str, Path]

    def build(self, name: str, *args: str, goos: str = "linux", goarch: str = "amd64") -> Path:
        key = f"{name}-{goos}-{goarch}"
        if key not in self.built:
            # NOTE: binaries go outside the checkout so that vcs.modified stays false.
            out = self.root / "bin" / key
            env = dict(self.env, GOOS=goos, GOARCH=goarch)
            subprocess.run(
                [self.go, "build", "-o", str(out), *args],
                cwd=self.src,
                env=env,
                check=True,
                capture_output=True,
            )
            self.built[key] = out
        return self.built[key]

    def version_m(self, binary: Path) -> str:
        run = subprocess.run(
            [self.go, "version", "-m", str(binary)],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return run.stdout


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, go_tool: str) -> GoWorld:
    assert shutil.which("git"), "git is not installed: run scripts/test"
    root = tmp_path_factory.mktemp("go")
    proxy = root / "proxy"
    _write_module(
        proxy,
        "example.com/dep",
        "v1.0.0",
        {"dep.go": 'package dep\n\nfunc Name() string { return "dep" }\n'},
        "module example.com/dep\n\ngo 1.19\n",
    )
    _write_module(
        proxy,
        "example.com/fork",
        "v0.2.1",
        {"other.go": 'package other\n\nfunc Name() string { return "fork" }\n'},
        "module example.com/other\n\ngo 1.19\n",
    )
    src = root / "src"
    (src / "local").mkdir(parents=True)
    (src / "local" / "go.mod").write_text("module example.com/local\n\ngo 1.19\n")
    (src / "local" / "local.go").write_text(
        'package local\n\nfunc Name() string { return "local" }\n'
    )
    (src / "go.mod").write_text(GO_MOD)
    (src / "main.go").write_text(MAIN_GO)
    # Settings that would change what gets built are dropped; the module cache is private to
    # the test so the fake example.com modules never reach the user's cache.
    keep = {"GOCACHE", "GOPATH", "GOROOT", "GOTMPDIR"}
    env = {k: v for k, v in os.environ.items() if k in keep or not k.startswith(("GO", "CGO_"))}
    env.update(
        GOPROXY=proxy.as_uri(),
        GOSUMDB="off",
        GOFLAGS="-mod=mod -modcacherw",
        GOMODCACHE=str(root / "modcache"),
        GONOSUMDB="example.com",
        CGO_ENABLED="0",
        GO111MODULE="on",
        GOWORK="off",
        GIT_AUTHOR_DATE=COMMIT_TIME,
        GIT_COMMITTER_DATE=COMMIT_TIME,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
        GIT_CONFIG_NOSYSTEM="1",
    )
    # go.sum first, so that the commit below leaves a clean tree.
    subprocess.run(
        [go_tool, "mod", "download", "all"], cwd=src, env=env, check=True, capture_output=True
    )
    subprocess.run([go_tool, "mod", "tidy"], cwd=src, env=env, check=True, capture_output=True)
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", *cmd], cwd=src, env=env, check=True, capture_output=True)
    return GoWorld(go_tool, root, src, env, {})


ARCHES = [
    # (GOARCH, pointer size, big-endian)
    ("amd64", 8, False),
    ("386", 4, False),
    ("mips", 4, True),
    ("s390x", 8, True),
    ("arm64", 8, False),
]


# --------------------------------------------------------------------------------------------
# Real binaries


@pytest.mark.parametrize(("goarch", "ptr_size", "big"), ARCHES)
def test_matches_go_version_m(world: GoWorld, goarch: str, ptr_size: int, big: bool) -> None:
    binary = world.build(
        "app", "-tags", "netgo osusergo", f"-ldflags={LDFLAGS}", ".", goarch=goarch
    )
    data = binary.read_bytes()
    section, offset = elf_section(data, ".go.buildinfo")
    assert section[14] == ptr_size and section[15] == (0x2 | (0x1 if big else 0))
    info = find_buildinfo(section, offset, None)
    assert info is not None
    assert info.pointer_free and info.evidence == "buildinfo" and info.offset == offset
    assert format_go_version_m(info, str(binary)) == world.version_m(binary)
    assert info.setting("GOARCH") == goarch


def test_decoded_fields(world: GoWorld) -> None:
    binary = world.build("app", "-tags", "netgo osusergo", f"-ldflags={LDFLAGS}", ".")
    section, offset = elf_section(binary.read_bytes(), ".go.buildinfo")
    info = find_buildinfo(section, offset, None)
    assert info is not None
    assert (
        info.go_version
        == subprocess.run(
            [world.go, "env", "GOVERSION"],
            env=world.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    assert info.experiments == ()
    assert info.path == "example.com/App"
    assert info.main == GoModule("example.com/App", "(devel)", "")
    dep, local, other = info.deps
    assert dep.path == "example.com/dep" and dep.version == "v1.0.0"
    assert dep.sum.startswith("h1:") and dep.replacement is None
    assert local.replacement == Replacement("./local", "(devel)", "")
    assert other.replacement is not None
    assert other.replacement.path == "example.com/fork"
    assert other.replacement.version == "v0.2.1"
    assert other.replacement.sum.startswith("h1:")
    assert info.setting("-ldflags") == LDFLAGS
    assert info.setting("-tags") == "netgo,osusergo"
    assert info.setting("vcs") == "git"
    assert info.setting("vcs.time") == COMMIT_TIME
    assert info.setting("vcs.modified") == "false"
    assert (info.main_version, info.main_version_source) == ("v1.4.2", "ldflags")


def test_components_of_a_real_binary(world: GoWorld) -> None:
    binary = world.build("app", "-tags", "netgo osusergo", f"-ldflags={LDFLAGS}", ".")
    section, offset = elf_section(binary.read_bytes(), ".go.buildinfo")
    info = find_buildinfo(section, offset, None)
    assert info is not None
    comps = go_components(info, ".go.buildinfo")
    main, dep, local, other, stdlib = comps
    assert main.kind is ComponentKind.GO_MAIN_MODULE
    assert (main.name, main.version, main.purl) == (
        "example.com/App",
        "v1.4.2",
        "pkg:golang/example.com/App@v1.4.2",
    )
    assert ("sbomsign:go:version-source", "ldflags") in main.properties
    assert ("sbomsign:go:recorded-version", "(devel)") in main.properties
    assert main.depends_on == tuple(c.ref for c in (dep, local, other, stdlib))
    assert dep.purl == "pkg:golang/example.com/dep@v1.0.0" and dep.go_sum.startswith("h1:")
    # a directory replacement: the original path, no version (the code came from ./local);
    # the required version is kept as a property
    assert local.purl == "pkg:golang/example.com/local" and local.version == ""
    assert ("sbomsign:go:required-version", "v1.2.3") in local.properties
    # a module replacement: the purl names the module compiled in
    assert other.name == "example.com/other" and other.version == "v0.2.0"
    assert other.purl == "pkg:golang/example.com/fork@v0.2.1"
    assert other.replacement is not None and other.replacement.path == "example.com/fork"
    assert stdlib.kind is ComponentKind.GO_STDLIB
    version = info.go_version.removeprefix("go")
    assert (stdlib.name, stdlib.version) == ("stdlib", info.go_version)
    assert stdlib.purl == f"pkg:golang/stdlib@{version}"
    assert stdlib.cpe == f"cpe:2.3:a:golang:go:{version}:-:*:*:*:*:*:*"
    for c in comps:
        (ev,) = c.evidence
        assert (ev.technique, ev.confidence, ev.source, ev.location, ev.offset) == (
            "binary-analysis",
            1.0,
            "go buildinfo",
            ".go.buildinfo",
            offset,
        )


def test_vcs_pseudo_version(world: GoWorld) -> None:
    binary = world.build("plain", ".")
    section, offset = elf_section(binary.read_bytes(), ".go.buildinfo")
    info = find_buildinfo(section, offset, None)
    assert info is not None
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=world.src, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert info.setting("vcs.revision") == revision
    assert (info.main_version, info.main_version_source) == (
        f"v0.0.0-20230506070809-{revision[:12]}",
        "vcs-pseudo-version",
    )
    dirty = replace(
        info, settings=tuple((k, "true" if k == "vcs.modified" else v) for k, v in info.settings)
    )
    assert derive_main_version(dirty)[0].endswith("+dirty")


def test_command_line_arguments_has_no_main_module(world: GoWorld) -> None:
    binary = world.build("files", "main.go")
    section, offset = elf_section(binary.read_bytes(), ".go.buildinfo")
    info = find_buildinfo(section, offset, None)
    assert info is not None
    assert info.path == "command-line-arguments" and info.main is None
    assert format_go_version_m(info, str(binary)) == world.version_m(binary)
    comps = go_components(info, ".go.buildinfo")
    assert [c.kind for c in comps] == [ComponentKind.GO_MODULE] * 3 + [ComponentKind.GO_STDLIB]
    assert derive_main_version(info) == ("", "")


@pytest.mark.parametrize(
    ("goos", "goarch"), [("windows", "amd64"), ("darwin", "arm64"), ("linux", "mips")]
)
def test_recover_from_blob_of_any_format(world: GoWorld, goos: str, goarch: str) -> None:
    binary = world.build("app", f"-ldflags={LDFLAGS}", ".", goos=goos, goarch=goarch)
    with binary.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        info = recover_from_blob(mm)
    assert info is not None
    assert info.evidence == "modinfo-sentinels" and info.pointer_free
    assert info.offset is not None
    data = binary.read_bytes()
    assert data[info.offset : info.offset + 16] == INFO_START
    # The inline layout gives the exact version, so even `go version -m` matches.
    assert format_go_version_m(info, str(binary)) == world.version_m(binary)
    assert (info.main_version, info.main_version_source) == ("v1.4.2", "ldflags")


def test_recover_after_header_damage(world: GoWorld) -> None:
    binary = world.build("app", "-tags", "netgo osusergo", f"-ldflags={LDFLAGS}", ".")
    data = bytearray(binary.read_bytes())
    section, offset = elf_section(bytes(data), ".go.buildinfo")
    expected = find_buildinfo(section, offset, None)
    assert expected is not None

    # The magic is gone: no header at all.
    data[offset : offset + 14] = b"\0" * 14
    assert find_buildinfo(bytes(data[offset : offset + len(section)]), offset, None) is None
    info = recover_from_blob(bytes(data))
    assert info is not None
    assert info.offset is not None and info.offset > offset  # the copy after the header
    assert replace(info, evidence="buildinfo", offset=offset) == expected

    # The inline version is damaged too: the version comes from searching the file.
    version_at = bytes(data).index(expected.go_version.encode(), offset)
    data[version_at - 1] = 0x7F
    info = recover_from_blob(bytes(data))
    assert info is not None
    assert info.go_version == expected.go_version
    assert not info.pointer_free
    assert info.deps == expected.deps

    comps = go_components(info, "go modinfo")
    for c in comps:
        (ev,) = c.evidence
        assert ev.confidence == 0.7 and ev.source == "go modinfo sentinels"
        assert "weaker evidence" in ev.note
    main = comps[0]
    assert "-ldflags" in main.evidence[0].note


# --------------------------------------------------------------------------------------------
# The old pointer format, through an address space
#
# Go 1.19 cannot produce the pre-1.18 layout, so these tests lay it out by hand: the version
# and the framed module info are the strings of a real Go 1.19 binary, placed in a fake
# address space with the two pointers and string headers the old linker wrote.


class FakeSpace:
    """A sparse memory image: {base address: bytes}."""

    def __init__(self, regions: dict[int, bytes]) -> None:
        self.regions = regions
        self.reads: list[tuple[int, int]] = []

    def read(self, vaddr: int, size: int) -> bytes | None:
        self.reads.append((vaddr, size))
        for base, blob in self.regions.items():
            if base <= vaddr and vaddr + size <= base + len(blob):
                return blob[vaddr - base : vaddr - base + size]
        return None


def read_uvarint_string(data: bytes, pos: int) -> tuple[bytes, int]:
    """A uvarint-prefixed string of the pointer-free layout and the position after it."""
    length = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return data[pos : pos + length], pos + length


def pointer_layout(
    version: bytes, modinfo: bytes, ptr_size: int, big: bool
) -> tuple[bytes, FakeSpace]:
    """A pointer-format header and the memory its pointers lead to."""
    order: Literal["little", "big"] = "big" if big else "little"

    def ptr(v: int) -> bytes:
        return v.to_bytes(ptr_size, order)

    header = BUILDINFO_MAGIC + bytes([ptr_size, 1 if big else 0]) + ptr(0x2000) + ptr(0x2100)
    header = header.ljust(32, b"\0")
    space = FakeSpace(
        {
            0x2000: ptr(0x3000) + ptr(len(version)),
            0x2100: ptr(0x4000) + ptr(len(modinfo)),
            0x3000: version,
            0x4000: modinfo,
        }
    )
    return header, space


@pytest.fixture(scope="module")
def real_strings(world: GoWorld) -> tuple[bytes, bytes, GoBuildInfo]:
    """The raw version and framed module info of a real binary, and its decoded build info."""
    binary = world.build("app", "-tags", "netgo osusergo", f"-ldflags={LDFLAGS}", ".")
    section, offset = elf_section(binary.read_bytes(), ".go.buildinfo")
    info = find_buildinfo(section, offset, None)
    assert info is not None
    version, after = read_uvarint_string(section, 32)
    modinfo, _ = read_uvarint_string(section, after)
    assert modinfo.startswith(INFO_START) and modinfo.endswith(INFO_END)
    return version, modinfo, info


@pytest.mark.parametrize(("ptr_size", "big"), [(4, False), (4, True), (8, False), (8, True)])
def test_pointer_format(
    real_strings: tuple[bytes, bytes, GoBuildInfo], ptr_size: int, big: bool
) -> None:
    version, modinfo, expected = real_strings
    header, space = pointer_layout(version, modinfo, ptr_size, big)
    data = b"\0" * 48 + header + b"\0" * 64
    info = find_buildinfo(data, 0x1000, space)
    assert info is not None
    assert not info.pointer_free and info.offset == 0x1000 + 48
    assert replace(info, pointer_free=True, offset=expected.offset) == expected
    assert format_go_version_m(info, "f") == format_go_version_m(expected, "f")


def test_pointer_format_without_modules() -> None:
    header, space = pointer_layout(b"go1.12.17", b"", 8, False)
    info = find_buildinfo(header, None, space)
    assert info is not None
    assert info.go_version == "go1.12.17" and info.deps == () and info.main is None
    assert format_go_version_m(info, "old") == "old: go1.12.17\n"


def test_pointer_format_damage() -> None:
    header, space = pointer_layout(b"go1.16.15", INFO_START + b"path\tx\n" + INFO_END, 8, False)
    with pytest.raises(InspectionError, match="address space"):
        find_buildinfo(header, None, None)
    del space.regions[0x4000]
    with pytest.raises(InspectionError, match="not mapped"):
        find_buildinfo(header, None, space)
    del space.regions[0x2000]
    with pytest.raises(InspectionError, match="not mapped"):
        find_buildinfo(header, None, space)
    bad_size = header[:14] + b"\x03" + header[15:]
    with pytest.raises(InspectionError, match="pointer size"):
        find_buildinfo(bad_size, None, space)
    huge, space = pointer_layout(b"go1.16.15", b"x", 8, False)
    space.regions[0x2100] = (0x4000).to_bytes(8, "little") + (1 << 40).to_bytes(8, "little")
    with pytest.raises(InspectionError, match="implausible"):
        find_buildinfo(huge, None, space)
    assert all(size < 1 << 30 for _, size in space.reads)


# --------------------------------------------------------------------------------------------
# Synthetic headers


def uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def inline_header(version: bytes, modinfo: bytes, flags: int = 2, ptr_size: int = 8) -> bytes:
    head = (BUILDINFO_MAGIC + bytes([ptr_size, flags])).ljust(32, b"\0")
    return head + uvarint(len(version)) + version + uvarint(len(modinfo)) + modinfo


MODTEXT = (
    "path\texample.com/m/cmd/m\n"
    "mod\texample.com/m\tv1.2.3\th1:abc=\n"
    "dep\tgolang.org/x/sys\tv0.1.0\th1:def=\n"
    "build\t-compiler=gc\n"
)
FRAMED = INFO_START + MODTEXT.encode() + INFO_END


def test_synthetic_inline_header_and_experiments() -> None:
    data = inline_header(b"go1.22.1 X:boringcrypto,loopvar", FRAMED)
    info = find_buildinfo(data, 4096, None)
    assert info is not None
    assert info.go_version == "go1.22.1"
    assert info.experiments == ("boringcrypto", "loopvar")
    assert info.offset == 4096
    assert (info.main_version, info.main_version_source) == ("v1.2.3", "buildinfo")
    assert format_go_version_m(info, "m") == (
        "m: go1.22.1 X:boringcrypto,loopvar\n"
        "\tpath\texample.com/m/cmd/m\n"
        "\tmod\texample.com/m\tv1.2.3\th1:abc=\n"
        "\tdep\tgolang.org/x/sys\tv0.1.0\th1:def=\n"
        "\tbuild\t-compiler=gc\n"
    )


def test_no_header() -> None:
    assert find_buildinfo(b"", 0, None) is None
    assert find_buildinfo(b"\0" * 70000, 0, None) is None


def test_misaligned_magic_is_skipped() -> None:
    good = inline_header(b"go1.21.0", FRAMED)
    decoy = b"\0" * 5 + BUILDINFO_MAGIC + b"\x08\x02" + b"\0" * 13  # 5 + 16 + 13 = 34
    data = decoy + b"\0" * (48 - len(decoy)) + good
    info = find_buildinfo(data, 0, None)
    assert info is not None and info.offset == 48
    assert find_buildinfo(decoy + b"\0" * 100, 0, None) is None


def test_header_beyond_64k_is_found() -> None:
    # Go 1.22 and older search 64 KiB; current Go searches the whole section or segment.
    data = b"\0" * (1 << 20) + inline_header(b"go1.21.0", FRAMED)
    info = find_buildinfo(data, 0, None)
    assert info is not None and info.offset == 1 << 20


def test_strings_may_extend_past_64k() -> None:
    # Go 1.22 and older read only 64 KiB; current Go reads the strings wherever they end.
    big = INFO_START + (MODTEXT + "build\tX=" + "y" * 70000 + "\n").encode() + INFO_END
    info = find_buildinfo(inline_header(b"go1.21.0", big), 0, None)
    assert info is not None and info.setting("X") == "y" * 70000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((BUILDINFO_MAGIC + b"\x08\x02").ljust(20, b"\0"), "truncated"),
        (inline_header(b"go1.21.0", FRAMED)[:40], "runs past the end"),
        ((BUILDINFO_MAGIC + b"\x08\x02").ljust(32, b"\0") + b"\x80\x80", "cut off"),
        ((BUILDINFO_MAGIC + b"\x08\x02").ljust(32, b"\0") + b"\xff" * 10 + b"\x01", "cut off"),
        ((BUILDINFO_MAGIC + b"\x08\x02").ljust(32, b"\0") + uvarint(1 << 40), "implausible"),
        (inline_header(b"go1.21.0", b"x" * 40), "sentinels"),
        (inline_header(b"go1.21.0", INFO_START + b"path\tx" + INFO_END), "sentinels"),
        (inline_header(b"", FRAMED), "no Go version"),
        (inline_header(b"go1.21.0", INFO_START + b"dep\tx\n" + INFO_END), "line 1: expected 2"),
    ],
)
def test_damaged_headers(data: bytes, message: str) -> None:
    with pytest.raises(InspectionError, match=message):
        find_buildinfo(data, 0, None)


def test_module_info_may_be_absent() -> None:
    info = find_buildinfo(inline_header(b"go1.21.0", b""), 0, None)
    assert info is not None and info.path == "" and info.main is None and info.settings == ()


# --------------------------------------------------------------------------------------------
# Recovery heuristics


def test_recover_without_blob() -> None:
    assert recover_from_blob(b"") is None
    assert recover_from_blob(b"\0" * 1000 + INFO_START + b"path\tx\n") is None
    # framing that Go would reject: no newline before the end sentinel
    assert recover_from_blob(INFO_START + b"path\tx" + INFO_END) is None
    # unparsable text is skipped
    assert recover_from_blob(INFO_START + b"dep\tx\n" + INFO_END) is None


def test_recover_version_by_search() -> None:
    buf = (
        b"\0go1.16.5\0go1.21\0go1.22rc1\0xgo1.99.0\0go1.22.3\0lgo1.30.0"
        + b"\0" * 32
        + FRAMED
        + b"\0"
    )
    info = recover_from_blob(buf)
    assert info is not None
    assert info.go_version == "go1.22.3" and not info.pointer_free
    assert info.offset == buf.index(INFO_START)
    assert info.main_version == "v1.2.3"
    with_experiment = buf + b"\0go1.21.4 X:boringcrypto\0"
    info = recover_from_blob(with_experiment)
    assert info is not None
    assert (info.go_version, info.experiments) == ("go1.21.4", ("boringcrypto",))
    assert recover_from_blob(FRAMED) is not None
    nothing = recover_from_blob(FRAMED)
    assert nothing is not None and nothing.go_version == ""
    assert [c.kind for c in go_components(nothing, "go modinfo")] == [
        ComponentKind.GO_MAIN_MODULE,
        ComponentKind.GO_MODULE,
    ]


def test_recover_prefers_inline_copy() -> None:
    buf = b"\0go1.16.5\0" + FRAMED + b"\0" * 16 + inline_header(b"go1.20.14", FRAMED)[32:]
    info = recover_from_blob(buf)
    assert info is not None
    assert info.go_version == "go1.20.14" and info.pointer_free
    assert info.offset == buf.rindex(INFO_START)


# --------------------------------------------------------------------------------------------
# Module-info grammar (runtime/debug.ParseBuildInfo)


def test_parse_modinfo_full() -> None:
    text = (
        "go\tgo1.22.0\n"  # not part of the grammar: ignored as Go does
        "path\tgithub.com/x/y/cmd/y\n"
        "mod\tgithub.com/x/y\t(devel)\t\n"
        "=>\t../y\t\t\n"
        "dep\ta.example/b\tv1.0.0\th1:x=\n"
        "dep\tc.example/d\tv2.0.0\n"
        "=>\tc.example/e\tv2.0.1\th1:y=\n"
        "\n"
        "unknown line\n"
        'build\t"key with space"="value \\"q\\""\n'
        "build\tCGO_CFLAGS=\n"
        "build\t-ldflags=`-s -w`\n"
        "build\tunterminated=value"  # no newline: dropped
    )
    path, main, deps, settings = parse_modinfo(text)
    assert path == "github.com/x/y/cmd/y"
    assert main == GoModule("github.com/x/y", "(devel)", "", Replacement("../y", "", ""))
    assert deps == (
        GoModule("a.example/b", "v1.0.0", "h1:x="),
        GoModule("c.example/d", "v2.0.0", "", Replacement("c.example/e", "v2.0.1", "h1:y=")),
    )
    assert settings == (
        ("key with space", 'value "q"'),
        ("CGO_CFLAGS", ""),
        ("-ldflags", "-s -w"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mod\tx\n", "line 1: expected 2 or 3 columns; got 1"),
        ("path\tp\ndep\tx\ty\tz\tw\n", "line 2: expected 2 or 3 columns; got 4"),
        ("=>\tx\ty\tz\n", "replacement with no module on previous line"),
        ("dep\tx\tv1\n=>\ty\tv2\tz\n=>\ty\tv2\tz\n", "line 3: replacement with no module"),
        ("dep\tx\tv1\n=>\ty\tv2\n", "expected 3 columns for replacement; got 2"),
        ("build\t\n", "build line missing '='"),
        ("build\t=x\n", "build line with missing key"),
        ('build\t"k\n', "invalid quoted key"),
        ('build\t"k"\n', "missing '=' after quoted key"),
        ('build\t"k"x=1\n', "unexpected character after quoted key: 'x'"),
        ("build\tkey\n", "missing '=' after key"),
        ("build\tk y=1\n", 'unquoted key "k y" must be quoted'),
        ("build\tk=a b\n", 'unquoted value "a b" must be quoted'),
        ('build\tk="a\n', "invalid quoted value"),
        ('build\tk="a"b\n', "invalid quoted value"),
        ('build\tk="\\q"\n', "invalid quoted value"),
    ],
)
def test_parse_modinfo_errors(text: str, message: str) -> None:
    with pytest.raises(InspectionError, match=message.replace("(", r"\(")):
        parse_modinfo(text)


def test_format_requotes_settings() -> None:
    info = GoBuildInfo(
        go_version="go1.21.0",
        settings=(
            ("-ldflags", "-X main.v=1 -s"),
            ("k=ey", "plain"),
            ("", "v"),
            ("tab", "a\tb"),
            ("ctl", "\x01\x7f\u00e9\u2028\U0001f600`"),
            ("CGO_CFLAGS", ""),
        ),
    )
    out = format_go_version_m(info, "f")
    assert out == (
        "f: go1.21.0\n"
        '\tbuild\t-ldflags="-X main.v=1 -s"\n'
        '\tbuild\t"k=ey"=plain\n'
        '\tbuild\t""=v\n'
        '\tbuild\ttab="a\\tb"\n'
        '\tbuild\tctl="\\x01\\x7f\u00e9\\u2028\U0001f600`"\n'
        "\tbuild\tCGO_CFLAGS=\n"
    )
    # and it parses back
    text = "".join(line[1:] + "\n" for line in out.splitlines()[1:])
    assert parse_modinfo(text)[3] == info.settings


# --------------------------------------------------------------------------------------------
# Go string literals


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ('""', ""),
        ('"abc"', "abc"),
        ('"\\a\\b\\f\\n\\r\\t\\v\\\\\\""', '\a\b\f\n\r\t\v\\"'),
        ('"\\x41\\101\\u00e9\\U0001F600"', "AA\u00e9\U0001f600"),
        ('"\\xc3\\xa9"', "\u00e9"),  # \x escapes are bytes: together they form UTF-8
        ('"\\xff"', "\ufffd"),  # invalid UTF-8 cannot be held in str
        ('"h\u00e9llo"', "h\u00e9llo"),
        ('`raw \\n "q"`', 'raw \\n "q"'),
        ("`a\rb`", "ab"),
    ],
)
def test_go_unquote(literal: str, value: str) -> None:
    assert go_unquote(literal) == value


@pytest.mark.parametrize(
    "literal",
    [
        '"',
        "x",
        '"abc',
        '"a"b',
        '"\\"',
        '"\\q"',
        '"\\x4"',
        '"\\xzz"',
        '"\\400"',
        '"\\08"',
        '"\\ud800"',
        '"\\U00110000"',
        '"\\\'"',
        '"a\nb"',
        "`abc",
        "'a'",
    ],
)
def test_go_unquote_rejects(literal: str) -> None:
    with pytest.raises(ValueError):
        go_unquote(literal)


def test_go_quote_round_trip() -> None:
    for s in [
        "",
        "a b",
        'q"\\',
        "\x00\x1f\x7f",
        "\u00a0\u200b\ufeff",
        "\U000e0001",
        "\u00e9\U0001f600",
    ]:
        assert go_unquote(go_quote(s)) == s
    assert go_quote("\u00a0") == '"\\u00a0"'
    assert go_quote("\U000e0001") == '"\\U000e0001"'


# --------------------------------------------------------------------------------------------
# Main-module version


def test_split_go_flags() -> None:
    assert split_go_flags(' -X \'main.v=1 2\'  -s\t"-w" a"b"c ') == [
        "-X",
        "main.v=1 2",
        "-s",
        "-w",
        'a"b"c',
    ]
    assert split_go_flags("") == []
    with pytest.raises(ValueError, match="unterminated"):
        split_go_flags("-X 'main.v=1")


def with_settings(
    *settings: tuple[str, str], main: str = "github.com/o/app", version: str = "(devel)"
) -> GoBuildInfo:
    return GoBuildInfo(go_version="go1.21.0", main=GoModule(main, version), settings=settings)


@pytest.mark.parametrize(
    ("ldflags", "expected"),
    [
        ("-X main.version=1.2.3", "v1.2.3"),
        ("-X=main.Version=v1.2.3-rc.1+meta", "v1.2.3-rc.1+meta"),
        ("--X main.gitVersion=refs/tags/v2.0.0", "v2.0.0"),
        ("-X 'main.releaseVersion=3.1.4' -s -w", "v3.1.4"),
        ("-X github.com/o/app/internal/build.Version=0.9.0", "v0.9.0"),
        ("-X github.com/o/app.buildVersion=0.9.1", "v0.9.1"),
        ("-X main.tag=v5.0.0 -X main.version=4.0.0", "v4.0.0"),
        ("-X main.gitTag=v5.0.0", "v5.0.0"),
        ("-X main.version=1.0.0 -X main.version=1.0.1", "v1.0.1"),
        ("-X github.com/other/lib.Version=1.2.3", ""),
        ("-X github.com/o/application.Version=1.2.3", ""),
        ("-X main.version=dev", ""),
        ("-X main.version=1.2", ""),
        ("-X main.server=1.2.3", ""),
        ("-X main.version", ""),
        ("-X 'main.version=1.2.3", ""),
        ("-s -w", ""),
    ],
)
def test_ldflags_version(ldflags: str, expected: str) -> None:
    got = derive_main_version(with_settings(("-ldflags", ldflags)))
    assert got == ((expected, "ldflags") if expected else ("", ""))


def test_version_order() -> None:
    vcs = (("vcs.revision", "0123456789abcdef0123"), ("vcs.time", "2024-02-03T04:05:06+01:00"))
    assert derive_main_version(with_settings(*vcs, version="v1.0.0")) == ("v1.0.0", "buildinfo")
    assert derive_main_version(with_settings(("-ldflags", "-X main.version=2.0.0"), *vcs)) == (
        "v2.0.0",
        "ldflags",
    )
    assert derive_main_version(with_settings(*vcs)) == (
        "v0.0.0-20240203030506-0123456789ab",
        "vcs-pseudo-version",
    )
    assert derive_main_version(with_settings(*vcs, ("vcs.modified", "true"))) == (
        "v0.0.0-20240203030506-0123456789ab+dirty",
        "vcs-pseudo-version",
    )
    assert derive_main_version(with_settings(*vcs, version="")) == (
        "v0.0.0-20240203030506-0123456789ab",
        "vcs-pseudo-version",
    )
    assert derive_main_version(with_settings(("vcs.revision", "abc"))) == ("", "")
    assert derive_main_version(with_settings(("vcs.revision", "abc"), ("vcs.time", "never"))) == (
        "",
        "",
    )
    assert derive_main_version(with_settings()) == ("", "")
    assert derive_main_version(GoBuildInfo(go_version="go1.21.0")) == ("", "")


def test_main_component_without_version() -> None:
    info = with_settings()
    (main, stdlib) = go_components(info, ".go.buildinfo")
    assert main.version == "" and main.purl == "pkg:golang/github.com/o/app"
    assert ("sbomsign:go:recorded-version", "(devel)") in main.properties
    assert main.depends_on == (stdlib.ref,)


@pytest.mark.parametrize(
    ("version", "purl", "cpe"),
    [
        ("go1.22.7", "pkg:golang/stdlib@1.22.7", "cpe:2.3:a:golang:go:1.22.7:-:*:*:*:*:*:*"),
        ("go1.20", "pkg:golang/stdlib@1.20", "cpe:2.3:a:golang:go:1.20:-:*:*:*:*:*:*"),
        ("go1.22rc1", "pkg:golang/stdlib@1.22rc1", "cpe:2.3:a:golang:go:1.22:rc1:*:*:*:*:*:*"),
        (
            "go1.21beta2",
            "pkg:golang/stdlib@1.21beta2",
            "cpe:2.3:a:golang:go:1.21:beta2:*:*:*:*:*:*",
        ),
        ("devel go1.23-e0ff96b Fri Jul 5 2024", "", ""),
    ],
)
def test_stdlib_component(version: str, purl: str, cpe: str) -> None:
    (stdlib,) = go_components(GoBuildInfo(go_version=version), ".go.buildinfo")
    assert (stdlib.name, stdlib.version, stdlib.purl, stdlib.cpe) == ("stdlib", version, purl, cpe)
    assert stdlib.licenses == ("BSD-3-Clause",)


def test_windows_directory_replacement() -> None:
    info = GoBuildInfo(
        go_version="go1.21.0",
        deps=(GoModule("example.com/a", "v1.0.0", "", Replacement("C:\\src\\a", "", "")),),
    )
    (dep, _) = go_components(info, "x")
    assert dep.purl == "pkg:golang/example.com/a"


def test_a_placeholder_requirement_is_no_version() -> None:
    from sbomsign._internal.purl import GO_PLACEHOLDER_VERSION

    info = GoBuildInfo(go_version="go1.22.5", path="example.com/app",
                       main=GoModule("example.com/app", "(devel)", ""), deps=(
                           GoModule("example.com/ph", GO_PLACEHOLDER_VERSION, "",
                                    Replacement("example.com/fork", "v0.2.1", "h1:x=")),
                           GoModule("example.com/real", "v1.0.0", "h1:y=",
                                    Replacement("example.com/fork2", "v1.0.1", "h1:z=")),
                       ))
    _, ph, real, _ = go_components(info, ".go.buildinfo")
    # Go's placeholder (a requirement only the replacement satisfies) is not presented as a
    # version; a real required version stays
    assert (ph.name, ph.version, ph.purl) == ("example.com/ph", "",
                                              "pkg:golang/example.com/fork@v0.2.1")
    assert ("sbomsign:go:required-version", GO_PLACEHOLDER_VERSION) in ph.properties
    assert (real.version, real.properties) == ("v1.0.0", ())
