"""The inventory model: what sbomsign knows about a set of binaries.

Every later layer (SBOM writers, signing, verification, policy) consumes these types. They are
frozen standard-library dataclasses with no third-party types in them, so they can be built by
the binary readers, by the SBOM readers, and by tests alike.

`Inventory.to_json()` gives the documented, versioned JSON form printed by
`sbomsign scan --format json` (`schema` = `INVENTORY_SCHEMA`).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Identifier and version of the JSON form of `Inventory`. Bump on incompatible changes.
INVENTORY_SCHEMA = "https://sbomsign.dev/schemas/inventory/v1"


class ComponentKind(enum.StrEnum):
    """What a component is and how it got into the artifact."""

    GO_MAIN_MODULE = "go-main-module"
    """The Go main module the binary was built from."""
    GO_MODULE = "go-module"
    """A Go module compiled into the binary."""
    GO_STDLIB = "go-stdlib"
    """The Go toolchain's standard library (`stdlib`)."""
    RUST_CRATE = "rust-crate"
    """A Rust crate recorded by cargo-auditable."""
    PACKAGE = "package"
    """A package named by an ELF `.note.package`, a PE `.pkgnote` or a PE version resource,
    or a wheel inside an archive."""
    SHARED_LIBRARY = "shared-library"
    """A shared library the binary is linked against or loads."""
    OS_PACKAGE = "os-package"
    """A package a container's package database lists (dpkg, apk, rpm)."""


class Linking(enum.StrEnum):
    """How a component's code reaches the artifact."""

    STATIC = "static"
    """Compiled into the artifact."""
    DYNAMIC = "dynamic"
    """Loaded at start-up by the dynamic loader."""
    DLOPEN = "dlopen"
    """Loaded on demand by the program (`dlopen`, declared in an FDO dlopen note)."""
    NONE = "none"
    """Describes the artifact but is not code in it (a package note names the package)."""


@dataclass(frozen=True)
class Digests:
    """Digests of a file's bytes, lowercase hex."""

    sha256: str
    sha512: str = ""
    sha1: str = ""

    def as_dict(self) -> dict[str, str]:
        """The non-empty digests keyed by algorithm name (`sha1`, `sha256`, `sha512`)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v}


@dataclass(frozen=True)
class Evidence:
    """Where a finding came from and how sure we are of it."""

    technique: str
    """CycloneDX technique: `binary-analysis`, `manifest-analysis`, `hash-comparison`, ..."""
    confidence: float
    """0.0 to 1.0."""
    source: str
    """What was read: `go buildinfo`, `go modinfo sentinels`, `DT_NEEDED`, `LC_LOAD_DYLIB`, ..."""
    location: str = ""
    """Section or segment (`.go.buildinfo`, `.dynamic`, `.dep-v0`, ...)."""
    offset: int | None = None
    """File offset of the data, where known."""
    note: str = ""
    """Anything the reader should know, e.g. that weaker evidence was used."""


@dataclass(frozen=True)
class Replacement:
    """A Go module replacement (`=>` line of the build info)."""

    path: str
    version: str = ""
    sum: str = ""


@dataclass(frozen=True)
class Component:
    """One thing found in (or linked by) an artifact."""

    kind: ComponentKind
    name: str
    version: str = ""
    purl: str = ""
    linking: Linking = Linking.STATIC
    scope: str = "runtime"
    """`runtime` or `build` (cargo-auditable `kind`)."""
    go_sum: str = ""
    """The Go module `h1:` directory hash, as written in the build info."""
    replacement: Replacement | None = None
    found_by: str = ""
    """How the component was found, e.g. `DT_NEEDED`, `LC_LOAD_WEAK_DYLIB`, `go buildinfo`."""
    source: str = ""
    """Origin kind where the format records it (cargo: `crates.io`, `git`, `local`, ...)."""
    cpe: str = ""
    supplier: str = ""
    licenses: tuple[str, ...] = ()
    """Declared licences as SPDX expressions (all of them apply)."""
    license_names: tuple[str, ...] = ()
    """Licences declared in words that are not all SPDX identifiers (`GPL`, `public-domain`,
    an rpm `License` tag as written), sorted; `licenses` is then empty. CycloneDX writes them
    as licence names; SPDX has no place for a name without its text, and leaves them out."""
    depends_on: tuple[str, ...] = ()
    """`ref`s of components this one depends on (cargo-auditable edges)."""
    properties: tuple[tuple[str, str], ...] = ()
    """Extra facts as sorted (name, value) pairs, e.g. package-note fields."""
    evidence: tuple[Evidence, ...] = ()

    @property
    def ref(self) -> str:
        """A stable identifier of the component inside one inventory."""
        if self.purl:
            return self.purl
        return (
            f"{self.kind.value}:{self.name}@{self.version}"
            if self.version
            else (f"{self.kind.value}:{self.name}")
        )


@dataclass(frozen=True)
class GoModule:
    """A module line of Go build info (`mod` or `dep`)."""

    path: str
    version: str = ""
    sum: str = ""
    replacement: Replacement | None = None


@dataclass(frozen=True)
class GoBuildInfo:
    """Go build information, as `go version -m` prints it."""

    go_version: str
    """The toolchain version, `go1.22.1`, without experiments."""
    experiments: tuple[str, ...] = ()
    """`X:` experiments that followed the version (`boringcrypto`, ...)."""
    path: str = ""
    """The main package path."""
    main: GoModule | None = None
    deps: tuple[GoModule, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()
    """Build settings in file order, unquoted."""
    main_version: str = ""
    """The version the main module is reported with (derived when the build info says `(devel)`)."""
    main_version_source: str = ""
    """`buildinfo`, `vcs-pseudo-version`, `ldflags`, or empty when no version is known."""
    evidence: str = "buildinfo"
    """`buildinfo` (the header was found), or `modinfo-sentinels` (recovered, weaker)."""
    pointer_free: bool = True
    """True for the Go 1.18+ inline-string format, False for the older pointer format."""
    offset: int | None = None
    """File offset of the build-info header or of the recovered module-info blob."""

    def setting(self, key: str) -> str | None:
        """The value of a build setting, or None if absent."""
        for k, v in self.settings:
            if k == key:
                return v
        return None


@dataclass(frozen=True)
class RustCrate:
    """A package from cargo-auditable's `.dep-v0`."""

    name: str
    version: str
    source: str = "crates.io"
    kind: str = "runtime"
    root: bool = False
    dependencies: tuple[int, ...] = ()
    """Indices into `RustAudit.packages`."""


@dataclass(frozen=True)
class RustAudit:
    """cargo-auditable dependency data."""

    format: int
    packages: tuple[RustCrate, ...]
    offset: int | None = None


@dataclass(frozen=True)
class PackageNote:
    """One package-metadata note (ELF `.note.package`, PE `.pkgnote`)."""

    fields: tuple[tuple[str, str], ...]
    """The JSON object's members (scalars as strings), sorted by name."""
    location: str = ".note.package"
    offset: int | None = None

    def get(self, key: str) -> str:
        """The value of a field, or an empty string."""
        return dict(self.fields).get(key, "")


@dataclass(frozen=True)
class LinkedLibrary:
    """A library the binary names, and how it names it."""

    name: str
    how: str
    """`DT_NEEDED`, `PE import`, `LC_LOAD_DYLIB`, `LC_LOAD_WEAK_DYLIB`, `LC_REEXPORT_DYLIB`,
    `LC_LAZY_LOAD_DYLIB`, `LC_LOAD_UPWARD_DYLIB`, `FDO dlopen note`."""
    priority: str = ""
    """For dlopen notes: `required`, `recommended`, `suggested`."""
    feature: str = ""


@dataclass(frozen=True)
class Linkage:
    """How the binary is linked."""

    static: bool
    interpreter: str = ""
    libraries: tuple[LinkedLibrary, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hardening:
    """Exploit mitigations. None means "not applicable or unknown for this format"."""

    pie: bool | None = None
    nx: bool | None = None
    relro: str | None = None
    """`none`, `partial` or `full` (ELF only)."""
    stack_protector: bool | None = None
    fortify: bool | None = None
    stripped: bool | None = None
    aslr: bool | None = None
    """PE `DYNAMIC_BASE`."""
    dep: bool | None = None
    """PE `NX_COMPAT`."""
    cfg: bool | None = None
    """PE Control Flow Guard."""
    high_entropy_va: bool | None = None
    code_signature: bool | None = None
    """Mach-O `LC_CODE_SIGNATURE` present."""


@dataclass(frozen=True)
class Binary:
    """One executable image: a whole ELF or PE file, or one slice of a (fat) Mach-O file."""

    format: str
    """`elf`, `pe` or `macho`."""
    arch: str
    """Normalised: `x86_64`, `i386`, `aarch64`, `arm`, `loongarch64`, `riscv64`, `ppc64le`,
    `ppc64`, `s390x`, `mips`, `mipsel`, `mips64`, `mips64el`, ... or `unknown`."""
    bits: int
    endianness: str
    """`little` or `big`."""
    os: str
    """Target operating system where it can be told: `linux`, `windows`, `darwin`, `freebsd`, ...
    or `unknown`."""
    os_abi: str
    """The format's own OS/ABI field: ELF `EI_OSABI` (`sysv`, `linux`, ...), PE subsystem,
    Mach-O platform."""
    file_type: str
    """`executable`, `shared-library`, `relocatable`, `core`, ..."""
    build_id: str = ""
    """ELF GNU build-id (hex) or Mach-O UUID."""
    pe_timestamp: int | None = None
    linkage: Linkage = field(default_factory=lambda: Linkage(static=True))
    hardening: Hardening = field(default_factory=Hardening)
    go: GoBuildInfo | None = None
    rust: RustAudit | None = None
    package_notes: tuple[PackageNote, ...] = ()
    slice_offset: int = 0
    """Offset of the slice inside a fat Mach-O file (0 otherwise)."""
    warnings: tuple[str, ...] = ()
    """Facts the reader should know (e.g. weaker evidence was used); not failures."""
    errors: tuple[str, ...] = ()
    """Embedded metadata that is present but damaged or hostile (a `.dep-v0` zip bomb, a
    corrupt build-info header). The rest of the binary is still reported; the scan fails."""


@dataclass(frozen=True)
class Artifact:
    """A file that was scanned."""

    path: str
    """The path as given or found (relative paths stay relative)."""
    name: str
    """The file name."""
    size: int
    digests: Digests
    binaries: tuple[Binary, ...]
    """One entry, or one per slice of a fat/universal Mach-O file."""
    components: tuple[Component, ...] = ()
    """Everything found, deduplicated across slices and sorted by `ref`."""
    container: str = ""
    """`Container.ref` of the image or archive the file was found in; empty for a file on
    disk. `path` is then the file's path inside the container."""

    @property
    def is_library(self) -> bool:
        """True when the artifact is a shared library rather than a program."""
        return all(b.file_type == "shared-library" for b in self.binaries)

    @property
    def errors(self) -> tuple[str, ...]:
        """Damaged-metadata errors of every slice."""
        return tuple(e for b in self.binaries for e in b.errors)

    @property
    def go(self) -> GoBuildInfo | None:
        """The Go build info of the first slice that has one."""
        return next((b.go for b in self.binaries if b.go is not None), None)


@dataclass(frozen=True)
class Layer:
    """One file-system layer of an image, in the order it is applied."""

    digest: str
    """`sha256:<hex>` of the layer blob as stored (compressed)."""
    size: int = 0
    media_type: str = ""


@dataclass(frozen=True)
class ContainedFile:
    """A binary inside a container: where it is, which layer put it there, who owns it."""

    path: str
    """Absolute path inside the container (`/usr/bin/app`)."""
    sha256: str
    layer: str = ""
    """Digest of the layer that last wrote the file (images only)."""
    package: str = ""
    """`Component.ref` of the OS package whose file list names it, if any."""


@dataclass(frozen=True)
class LibraryLink:
    """A library a binary in a container names, resolved as the dynamic loader would."""

    binary: str
    """Path of the binary inside the container."""
    library: str
    """The name the binary asks for (`DT_NEEDED`)."""
    resolved: str = ""
    """The path the loader would open, after symlinks; empty when no file matches."""
    package: str = ""
    """`Component.ref` of the OS package that owns the resolved file, if any."""


@dataclass(frozen=True)
class Container:
    """An image, release archive or package: the thing that holds the scanned files.

    A document about a container describes it as its root: its OS packages, its binaries
    (`Artifact.container` is this `ref`), and the edges between them.
    """

    kind: str
    """`image`, `archive` or `package` (`.deb`, `.rpm`)."""
    name: str
    """The name it was read under (`oci-dir:build/oci:1.0`, `app_1.0_linux_amd64.tar.gz`)."""
    digests: Digests
    """An image's manifest digest (its name for signing and verifying); a file's digests."""
    version: str = ""
    """A package's version, an image's tag, else empty."""
    purl: str = ""
    platform: str = ""
    """`os/arch[/variant]` of an image or package, where known."""
    cpe: str = ""
    """A package's CPE 2.3 name, where the classifier table names its product (as for the
    same package found in an image)."""
    config_digest: str = ""
    media_type: str = ""
    created: str = ""
    repository: str = ""
    """The repository an image was read from (`registry.example:5000/team/app`)."""
    tag: str = ""
    layers: tuple[Layer, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    """Image config labels (`org.opencontainers.image.*`, ...), sorted by name."""
    distro: str = ""
    """`ID-VERSION_ID` from `etc/os-release` (`debian-12`), as purls carry it."""
    licenses: tuple[str, ...] = ()
    """A package's declared licences as SPDX expressions (all of them apply), where every
    name it declares maps to an SPDX identifier; else empty."""
    license_names: tuple[str, ...] = ()
    """A package's declared licence names where they do not all map (`Component`'s)."""
    package_database: str = ""
    """Where the OS packages were read from (`dpkg`, `dpkg status.d`, `apk`, `rpm`, `rpm
    Berkeley DB`, `rpm ndb`, `rpm manifest`), or empty
    when the container has none: its package list is then incomplete."""
    packages: tuple[Component, ...] = ()
    """OS packages (`ComponentKind.OS_PACKAGE`), and the packages that archives inside an
    archive are (a wheel: `ComponentKind.PACKAGE`), sorted by `ref`."""
    files: tuple[ContainedFile, ...] = ()
    """Every scanned binary, sorted by path."""
    links: tuple[LibraryLink, ...] = ()
    """Libraries of the binaries, resolved inside the container, sorted."""

    @property
    def ref(self) -> str:
        """A stable identifier of the container inside one inventory."""
        return f"{self.kind}:sha256:{self.digests.sha256}"


@dataclass(frozen=True)
class ScanProblem:
    """A file that could not be scanned, and why."""

    path: str
    message: str
    exit_code: int = 2


@dataclass(frozen=True)
class StoredImage:
    """An image, index or artifact in a registry or an OCI layout, pinned to its digest."""

    store: str
    """`registry:HOST/REPO`, `oci-dir:PATH` or `oci-archive:FILE`."""
    digest: str
    """`sha256:<hex>` of its manifest or index: its name for signing and verifying."""
    media_type: str
    size: int
    tag: str = ""
    """The tag it was resolved from (read once), or empty when named by digest."""

    @property
    def pinned(self) -> str:
        """The name that always means these bytes: `<store>@sha256:<hex>`."""
        return f"{self.store}@{self.digest}"

    @property
    def sha256(self) -> str:
        """The hex of `digest`."""
        return self.digest.removeprefix("sha256:")


@dataclass(frozen=True)
class Inventory:
    """The result of scanning: artifacts and the files that failed."""

    artifacts: tuple[Artifact, ...] = ()
    problems: tuple[ScanProblem, ...] = ()
    tool_version: str = ""
    containers: tuple[Container, ...] = ()
    """Images, archives and packages the artifacts were found in (see `Artifact.container`)."""

    def contents(self, container: Container) -> tuple[Artifact, ...]:
        """The artifacts found in `container`."""
        return tuple(a for a in self.artifacts if a.container == container.ref)

    def to_json(self) -> dict[str, Any]:
        """The documented JSON form (schema `INVENTORY_SCHEMA`)."""
        return {
            "schema": INVENTORY_SCHEMA,
            "tool": {"name": "sbomsign", "version": self.tool_version},
            "artifacts": [_jsonable(a) for a in self.artifacts],
            "problems": [_jsonable(p) for p in self.problems],
            "containers": [_jsonable(c) for c in self.containers],
        }


_PAIR_FIELDS = ("settings", "fields", "properties", "labels")


def _jsonable(obj: Any) -> Any:
    """Convert dataclasses, enums and tuples of pairs into plain JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if f.name in _PAIR_FIELDS and isinstance(value, tuple):
                # NOTE: (name, value) pairs read better as objects; settings keep file order
                # because `go version -m` prints them in that order.
                out[f.name] = [{"name": k, "value": v} for k, v in value]
            else:
                out[f.name] = _jsonable(value)
        if isinstance(obj, Component | Container):
            out["ref"] = obj.ref
        return out
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, tuple | list):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    return obj


def sorted_pairs(items: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Deduplicated, sorted (name, value) pairs, for the model's `properties`-like fields."""
    return tuple(sorted(set(items)))
