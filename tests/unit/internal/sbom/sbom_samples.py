"""Hand-built inventories for the writer tests: every component kind, edge and odd case."""

from __future__ import annotations

from collections.abc import Callable

from sbomsign._internal.sbom.common import Subject, make_subject
from sbomsign.models import (
    Artifact,
    Binary,
    Component,
    ComponentKind,
    Digests,
    Evidence,
    GoBuildInfo,
    GoModule,
    Hardening,
    Inventory,
    Linkage,
    LinkedLibrary,
    Linking,
    PackageNote,
    Replacement,
    RustAudit,
    RustCrate,
)

GO_EV = (Evidence("binary-analysis", 1.0, "go buildinfo", ".go.buildinfo", 0x1F0),)


def go_artifact(arch: str = "x86_64", goarch: str = "amd64", digit: str = "a",
                extra_dep: bool = False) -> Artifact:
    """A Go program with a replaced module, a directory replacement and one linked library."""
    deps = [
        Component(ComponentKind.GO_MODULE, "golang.org/x/sys", "v0.20.0",
                  "pkg:golang/golang.org/x/sys@v0.20.0", go_sum="h1:abc=",
                  found_by="go buildinfo", evidence=GO_EV),
        Component(ComponentKind.GO_MODULE, "github.com/Old/Thing", "v1.0.0",
                  "pkg:golang/github.com/New/Thing@v1.2.0", go_sum="h1:old=",
                  replacement=Replacement("github.com/New/Thing", "v1.2.0", "h1:new="),
                  found_by="go buildinfo", evidence=GO_EV),
        Component(ComponentKind.GO_MODULE, "example.com/local", "v0.0.0",
                  "pkg:golang/example.com/local",
                  replacement=Replacement("../local"), found_by="go buildinfo",
                  evidence=GO_EV),
    ]
    if extra_dep:
        deps.append(Component(ComponentKind.GO_MODULE, "golang.org/x/exp", "v0.1.0",
                              "pkg:golang/golang.org/x/exp@v0.1.0", go_sum="h1:exp=",
                              found_by="go buildinfo", evidence=GO_EV))
    stdlib = Component(ComponentKind.GO_STDLIB, "stdlib", "go1.22.7", "pkg:golang/stdlib@1.22.7",
                       cpe="cpe:2.3:a:golang:go:1.22.7:-:*:*:*:*:*:*", licenses=("BSD-3-Clause",),
                       found_by="go buildinfo", evidence=GO_EV)
    main = Component(ComponentKind.GO_MAIN_MODULE, "example.com/demo", "v1.2.3",
                     "pkg:golang/example.com/demo@v1.2.3", found_by="go buildinfo",
                     depends_on=tuple(d.ref for d in deps) + (stdlib.ref,),
                     properties=(("sbomsign:go:version-source", "buildinfo"),),
                     evidence=GO_EV)
    libc = Component(ComponentKind.SHARED_LIBRARY, "libc.so.6", linking=Linking.DYNAMIC,
                     found_by="DT_NEEDED",
                     evidence=(Evidence("binary-analysis", 1.0, "DT_NEEDED", ".dynamic"),))
    comps = sorted([main, *deps, stdlib, libc], key=lambda c: c.ref)
    go = GoBuildInfo(
        go_version="go1.22.7", path="example.com/demo/cmd/demo",
        main=GoModule("example.com/demo", "v1.2.3"),
        deps=tuple(GoModule(d.name, d.version, d.go_sum, d.replacement) for d in deps),
        settings=(("-buildmode", "exe"), ("-ldflags", "-s -w -X main.version=1.2.3"),
                  ("CGO_ENABLED", "1"), ("GOARCH", goarch), ("GOOS", "linux"),
                  ("vcs.revision", "0123456789abcdef")),
        main_version="v1.2.3", main_version_source="buildinfo", offset=0x1F0,
    )
    binary = Binary(
        format="elf", arch=arch, bits=64, endianness="little", os="linux", os_abi="sysv",
        file_type="executable", build_id="deadbeef",
        linkage=Linkage(static=False, interpreter="/lib64/ld-linux-x86-64.so.2",
                        libraries=(LinkedLibrary("libc.so.6", "DT_NEEDED"),)),
        hardening=Hardening(pie=True, nx=True, relro="full", stack_protector=False,
                            fortify=False, stripped=True),
        go=go,
    )
    return Artifact(
        path=f"dist/demo-linux-{goarch}", name=f"demo-linux-{goarch}", size=1234,
        digests=Digests(sha256=digit * 64, sha512=digit * 128, sha1=digit * 40),
        binaries=(binary,), components=tuple(comps),
    )


def c_artifact() -> Artifact:
    """A C program with a package note, a dlopen'ed library and a Rust part."""
    pkg = Component(ComponentKind.PACKAGE, "hello", "1.0-1.fc40",
                    "pkg:rpm/fedora/hello@1.0-1.fc40?arch=x86_64&distro=fedora-40",
                    linking=Linking.NONE, found_by=".note.package",
                    properties=(("sbomsign:package-note:os", "fedora"),),
                    evidence=(Evidence("binary-analysis", 1.0, "ELF package note",
                                       ".note.package", 0x2C4),))
    libz = Component(ComponentKind.SHARED_LIBRARY, "libz.so.1", linking=Linking.DYNAMIC,
                     found_by="DT_NEEDED")
    libfoo = Component(ComponentKind.SHARED_LIBRARY, "libfoo.so.2", linking=Linking.DLOPEN,
                       scope="optional", found_by="FDO dlopen note",
                       properties=(("sbomsign:dlopen:priority", "recommended"),),
                       evidence=(Evidence("binary-analysis", 0.8, "FDO dlopen note",
                                          ".note.dlopen"),))
    serde = Component(ComponentKind.RUST_CRATE, "serde", "1.0.200", "pkg:cargo/serde@1.0.200",
                      source="crates.io", found_by="cargo-auditable")
    cc = Component(ComponentKind.RUST_CRATE, "cc", "1.0.90", "pkg:cargo/cc@1.0.90",
                   scope="build", source="crates.io", found_by="cargo-auditable")
    root = Component(ComponentKind.RUST_CRATE, "hello-rs", "0.1.0",
                     "pkg:cargo/hello-rs@0.1.0", source="local", found_by="cargo-auditable",
                     depends_on=(serde.ref, cc.ref))
    comps = sorted([pkg, libz, libfoo, serde, cc, root], key=lambda c: c.ref)
    binary = Binary(
        format="elf", arch="aarch64", bits=64, endianness="little", os="linux",
        os_abi="sysv", file_type="shared-library",
        linkage=Linkage(static=False, libraries=(LinkedLibrary("libz.so.1", "DT_NEEDED"),),
                        runpath=("$ORIGIN/../lib",)),
        rust=RustAudit(1, (RustCrate("hello-rs", "0.1.0", "local", root=True,
                                     dependencies=(1, 2)),
                           RustCrate("serde", "1.0.200"),
                           RustCrate("cc", "1.0.90", kind="build"))),
        package_notes=(PackageNote((("name", "hello"), ("type", "rpm"))),),
    )
    return Artifact(path="libhello.so", name="libhello.so", size=99,
                    digests=Digests(sha256="c" * 64, sha512="c" * 128, sha1="c" * 40),
                    binaries=(binary,), components=tuple(comps))


def fat_artifact() -> Artifact:
    """A universal Mach-O with two slices and no components at all."""
    slices = tuple(
        Binary(format="macho", arch=arch, bits=64, endianness="little", os="darwin",
               os_abi="macos", file_type="executable", slice_offset=off,
               hardening=Hardening(pie=True, code_signature=True))
        for arch, off in (("x86_64", 16384), ("aarch64", 65536))
    )
    return Artifact(path="/abs/path/tool", name="tool", size=4096,
                    digests=Digests(sha256="f" * 64), binaries=slices)


def inventory(*artifacts: Artifact) -> Inventory:
    return Inventory(artifacts=artifacts or (go_artifact(),), tool_version="0.1.0")


#: The writers' subjects by name, each built afresh when called.
SUBJECTS: dict[str, Callable[[], Subject]] = {
    "go": lambda: make_subject([go_artifact()], merge=False),
    "c-rust-notes": lambda: make_subject([c_artifact()], merge=False),
    "fat-macho": lambda: make_subject([fat_artifact()], merge=False),
    "merged": lambda: make_subject(
        [go_artifact(), go_artifact("aarch64", "arm64", "b", extra_dep=True)], merge=True),
}
