"""From a built `FileTree` to scan candidates, and after the scan to a `Container`.

A source that reads an image or archive builds its tree, then hands it to `Draft`: the draft
lists the binaries to scan (`candidates`) and, once the workers have inspected them,
`finish` records which package owns each binary and resolves each binary's libraries inside
the tree the way the dynamic loader would (glibc's: RUNPATH or RPATH with `$ORIGIN`,
`ld.so.conf` and its includes, the default and multiarch directories; musl's: RPATH and
RUNPATH, `etc/ld-musl-ARCH.path` or its defaults, and the libc names it answers itself),
giving the edges binary -> library file -> owning package that no peer records.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field, replace

from sbomsign._internal.sources import Candidate, ospkg
from sbomsign._internal.sources.tree import FileTree
from sbomsign.models import (
    Artifact,
    Binary,
    Component,
    ContainedFile,
    Container,
    LibraryLink,
)

#: Debian multiarch directories by binary architecture (distroless images carry no
#: ld.so.conf, but glibc was built to search these).
_MULTIARCH = {
    "x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu", "i386": "i386-linux-gnu",
    "arm": "arm-linux-gnueabihf", "loongarch64": "loongarch64-linux-gnu",
    "riscv64": "riscv64-linux-gnu", "ppc64le": "powerpc64le-linux-gnu",
    "s390x": "s390x-linux-gnu",
}


@dataclass
class Draft:
    """A container whose files are known but not yet scanned."""

    identity: Container
    """Everything but `packages`, `files` and `links`; `package_database` and `distro`
    are filled from the tree."""
    tree: FileTree
    layer_digests: list[str] = field(default_factory=list)
    """Digest of each applied layer, by the tree's layer index."""
    nested_packages: dict[str, Component] = field(default_factory=dict)
    """Packages that archives inside an archive are (wheels, .deb, .rpm), by ref."""
    nested_owners: dict[str, str] = field(default_factory=dict)
    """Path in the tree -> ref of the nested package the file came from."""
    packages: ospkg.Packages = field(init=False)
    """What the tree's package databases say."""

    def __post_init__(self) -> None:
        # NOTE: read when the draft is made, while the workers parse the binaries, rather
        # than after they finish, when nothing else is left to do.
        self.packages = ospkg.read(self.tree.kept, self.tree.resolve)

    def candidates(self) -> list[Candidate]:
        """The binaries of the tree, to be scanned under their path in the container."""
        return [Candidate(entry.stored, "/" + path, self.identity.ref, entry.span)
                for path, entry in self.tree.binaries()]

    def finish(self, artifacts: list[Artifact]) -> Container:
        """The container, with packages, files and resolved library links."""
        packages = self.packages
        self.tree.warnings.extend(packages.warnings)
        packages.components.update(self.nested_packages)
        owners = _Owners(self.tree, {**self.nested_owners, **packages.owners})
        conf, musl = conf_dirs(self.tree), musl_loader(self.tree)
        files = []
        links: set[LibraryLink] = set()
        for artifact in artifacts:
            path = artifact.path.lstrip("/")
            entry = self.tree.entries.get(path)
            layer = ""
            if entry is not None and entry.layer < len(self.layer_digests):
                layer = self.layer_digests[entry.layer]
            files.append(ContainedFile(artifact.path, artifact.digests.sha256, layer,
                                       owners.of(path)))
            for binary in artifact.binaries:
                links.update(_links(self.tree, owners, conf, musl, path, binary))
        return replace(
            self.identity,
            distro=packages.distro,
            package_database=", ".join(packages.databases),
            packages=tuple(packages.components[k] for k in sorted(packages.components)),
            files=tuple(sorted(files, key=lambda f: f.path)),
            links=tuple(sorted(links, key=lambda k: (k.binary, k.library, k.resolved))),
        )


class _Owners:
    """Package ownership by path, also under the path a symlinked directory leads to
    (`/lib/x86_64-linux-gnu/libc.so.6` is `usr/lib/...` in a merged-/usr image)."""

    def __init__(self, tree: FileTree, owners: dict[str, str]) -> None:
        self._tree = tree
        self._owners = owners
        self._resolved: dict[str, str] | None = None

    def of(self, path: str) -> str:
        if path in self._owners:
            return self._owners[path]
        if self._resolved is None:
            self._resolved = {}
            for owned, ref in self._owners.items():
                real = self._tree.resolve(owned)
                if real:
                    self._resolved.setdefault(real, ref)
        real = self._tree.resolve(path) or path
        return self._resolved.get(real, self._owners.get(real, ""))


def conf_dirs(tree: FileTree) -> list[str]:
    """Library directories from `etc/ld.so.conf` and the files it includes, in order."""
    out: list[str] = []
    _conf(tree, "etc/ld.so.conf", out, depth=0)
    return out


def _conf(tree: FileTree, path: str, out: list[str], depth: int) -> None:
    raw = tree.kept.get(path)
    if not isinstance(raw, bytes) or depth > 4:
        return
    for line in raw.decode("utf-8", "replace").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("include "):
            pattern = line.split(None, 1)[1].strip().lstrip("/")
            directory, glob = posixpath.split(pattern)
            for name in tree.listdir(directory):
                if fnmatch.fnmatch(name, glob):
                    _conf(tree, posixpath.join(directory, name), out, depth + 1)
        elif line and line not in out:
            out.append(line)


def _search_dirs(binary: Binary, origin: str, conf: list[str]) -> list[str]:
    """Where glibc's loader looks, in order."""
    linkage = binary.linkage
    first = [] if linkage.runpath else list(linkage.rpath)
    dirs = [*first, *linkage.runpath, *conf]
    triplet = _MULTIARCH.get(binary.arch)
    if triplet:
        dirs += [f"/lib/{triplet}", f"/usr/lib/{triplet}"]
    dirs += ["/lib64", "/usr/lib64", "/lib", "/usr/lib"] if binary.bits == 64 else ["/lib",
                                                                                    "/usr/lib"]
    return _expand(dirs, binary, origin)


#: musl's loader (`/lib/ld-musl-ARCH.so.1`), and the libraries it is itself: `lib` and one of
#: c, pthread, rt, m, dl, util, xnet, then a dot (musl's `ldso/dynlink.c`).
_MUSL = re.compile(r"ld-musl-([\w-]+)\.so\.1")
_MUSL_BUILTIN = re.compile(r"lib(c|pthread|rt|m|dl|util|xnet)\..*")


def musl_loader(tree: FileTree) -> str:
    """The image's musl loader (`/lib/ld-musl-x86_64.so.1`) where it has one and no glibc
    loader: a shared library names no loader, and in such an image musl's loads it."""
    musl = [name for name in tree.listdir("lib") if _MUSL.fullmatch(name)]
    glibc = any(name.startswith("ld-linux") for d in ("lib", "lib64") for name in tree.listdir(d))
    return f"/lib/{musl[0]}" if len(musl) == 1 and not glibc else ""


def _musl_dirs(tree: FileTree, binary: Binary, interpreter: str,
               origin: str) -> list[str] | None:
    """Where musl's loader looks, in order, or None for a binary it does not load: its
    RPATH and RUNPATH alike, then `etc/ld-musl-ARCH.path` (directories separated by colons
    or lines) or else /lib, /usr/local/lib and /usr/lib."""
    found = _MUSL.fullmatch(posixpath.basename(interpreter))
    if found is None:
        return None
    raw = tree.kept.get(f"etc/ld-musl-{found[1]}.path")
    system = ([d.strip() for d in re.split(r"[:\n]", raw.decode("utf-8", "replace"))]
              if isinstance(raw, bytes) else ["/lib", "/usr/local/lib", "/usr/lib"])
    return _expand([*binary.linkage.rpath, *binary.linkage.runpath, *system], binary, origin)


def _expand(dirs: list[str], binary: Binary, origin: str) -> list[str]:
    """The directories with `$ORIGIN` and `$LIB` filled in, split at colons, each once."""
    lib = "lib64" if binary.bits == 64 and binary.arch not in _MULTIARCH else "lib"
    expanded = []
    for d in dirs:
        for part in d.split(":"):
            part = part.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
            part = part.replace("${LIB}", lib).replace("$LIB", lib)
            if part and part not in expanded:
                expanded.append(part)
    return expanded


def _links(tree: FileTree, owners: _Owners, conf: list[str], musl_default: str, path: str,
           binary: Binary) -> list[LibraryLink]:
    if binary.format != "elf":
        return []
    out = []
    origin = "/" + posixpath.dirname(path)
    interpreter = binary.linkage.interpreter or musl_default
    musl = _musl_dirs(tree, binary, interpreter, origin)
    dirs = musl if musl is not None else _search_dirs(binary, origin, conf)
    for library in binary.linkage.libraries:
        if library.how != "DT_NEEDED":
            continue
        if musl is not None and _MUSL_BUILTIN.fullmatch(library.name):
            candidates = [interpreter]  # musl's loader is its libc
        else:
            candidates = [library.name] if "/" in library.name else [
                posixpath.join(d, library.name) for d in dirs]
        resolved = ""
        for candidate in candidates:
            real = tree.resolve(candidate)
            if real and tree.entries[real].kind == "file":
                resolved = "/" + real
                break
        out.append(LibraryLink("/" + path, library.name, resolved,
                               owners.of(resolved.lstrip("/")) if resolved else ""))
    return out
