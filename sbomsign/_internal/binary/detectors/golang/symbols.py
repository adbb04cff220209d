"""Go packages named by the function table, for builds without module information.

A Go program built in GOPATH mode (as Debian builds Go packages: `go version -m` shows a
`path` line and no `mod` or `dep` line) records no modules, but its pclntab (`.gopclntab` in
ELF, `__gopclntab` in Mach-O; Go 1.16 and later) names every function compiled in, by
package path: `filippo.io/age.Encrypt`, `golang.org/x/crypto/chacha20.(*Cipher).XORKeyStream`.
The import paths outside the standard library group into modules by the hosting
conventions (`github.com/owner/repo`, `golang.org/x/name`, otherwise the first two path
elements), which is a guess: the report says so, names no version (none is recorded), and
gives the evidence lower confidence. The main program's own module is the one its `path`
line falls in. Its version is often in the file anyway (`-X main.Version=1.1.1`, a version
constant): when the read-only data holds exactly one version-like string, standing alone,
that is taken as the main module's version, with low confidence and the string's place as
evidence; with none or several, no version is claimed.
"""

from __future__ import annotations

import re
import struct
from urllib.parse import unquote

from sbomsign._internal.binary.detectors import _rodata
from sbomsign._internal.binary.facts import Facts, Region
from sbomsign._internal.purl import golang_purl
from sbomsign.models import Component, ComponentKind, Evidence, Linking

#: pclntab magic -> whether the header has textStart (Go 1.18 and later).
_MAGICS = {0xFFFFFFFA: False, 0xFFFFFFF0: True, 0xFFFFFFF1: True}
_SECTIONS = (".gopclntab", "__gopclntab")
#: Most function-name bytes read, and most modules reported.
_MAX_NAMES = 64 << 20
_MAX_MODULES = 2000
#: Most places a pclntab header is looked for when no section names it.
_MAX_CANDIDATES = 64
#: Hosts whose module paths have three elements (host/owner/repo, golang.org/x/name).
_THREE = frozenset({"github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "gitea.com",
                    "golang.org", "sr.ht", "git.sr.ht"})
_MAJOR = re.compile(r"v[0-9]+")
_GO_DOT_HOST = re.compile(r"go(?:\.[A-Za-z0-9-]+)+/")
#: A pclntab header's first eight bytes: magic, two zero pads, instruction quantum, pointer size.
_HEADER = re.compile(rb"[\xf0\xf1\xfa]\xff\xff\xff\x00\x00[\x01\x02\x04][\x04\x08]")
NOTE = ("named by the package paths of the functions compiled in (the build recorded no "
        "modules); the module boundary is inferred from the path and no version is known")
#: A version standing alone in read-only data: after a non-text byte, before a NUL; a
#: distribution's suffix (`1.1.5+ds1`, `1.1.5+ds1-1+deb12u1`) is not part of the version.
_LONE_VERSION = re.compile(rb"[^\x20-\x7e](?P<version>v?\d{1,3}\.\d{1,3}\.\d{1,3})"
                           rb"(?:[-+~][-+~.0-9A-Za-z]{1,40})?\x00")
VERSION_NOTE = ("the only version-like string in the read-only data, taken as the main "
                "program's version (the build recorded none)")


def _region(facts: Facts) -> Region | None:
    """The pclntab: its own section, else (a PIE or externally linked build puts it in
    `.data.rel.ro`, and a stripped one has no symbol for it) the first place a valid header
    is found, as Go's own tools search for it."""
    named = next((facts.sections[n] for n in _SECTIONS if n in facts.sections), None)
    if named is not None:
        return named
    mm = facts.view.mm
    for tried, m in enumerate(_HEADER.finditer(mm)):
        if tried >= _MAX_CANDIDATES:
            break
        offset = m.start()
        if offset % 4 == 0 and _names_range(facts, offset, len(mm) - offset) is not None:
            return Region("pclntab (header search)", offset, len(mm) - offset)
    return None


def _names_range(facts: Facts, offset: int, size: int) -> tuple[int, int] | None:
    """(start, end) of the function-name table within the pclntab at `offset`, or None when
    the header there is not a pclntab's."""
    head = facts.view.read(offset, 8 + 8 * 8)
    if len(head) < 8 + 8 * 8:
        return None
    magic = struct.unpack_from("<I", head)[0]
    if magic not in _MAGICS or head[4:6] != b"\0\0" or head[6] not in (1, 2, 4) \
            or head[7] not in (4, 8):
        return None
    ptr = head[7]
    fmt = "<Q" if ptr == 8 else "<I"
    fields = [struct.unpack_from(fmt, head, 8 + i * ptr)[0] for i in range(7)]
    # nfunc, nfiles, [textStart,] funcnameOffset, cuOffset, filetabOffset, ...
    names_at, names_end, files_at = fields[3:6] if _MAGICS[magic] else fields[2:5]
    if not (fields[0] > 0 and 0 < names_at < names_end <= files_at <= size
            and names_end - names_at <= _MAX_NAMES):
        return None
    return names_at, names_end


def function_names(facts: Facts, region: Region | None) -> list[bytes]:
    """The function names of the pclntab at `region`, or [] when it cannot be read."""
    if region is None or region.size < 64:
        return []
    found = _names_range(facts, region.offset, region.size)
    if found is None:
        return []
    names_at, names_end = found
    return facts.view.read(region.offset + names_at, names_end - names_at).split(b"\0")


def package_of(name: bytes) -> str:
    """The package path of a function name (`a/b/c.(*T).M` -> `a/b/c`), or "" for runtime
    symbols (`type:`, `go:`)."""
    text = name.decode("utf-8", "replace")
    # NOTE: `go.` starts runtime symbols before Go 1.20 (`go.shape.int`, `go.itab.*T`) but
    # also real import paths (`go.uber.org/zap`, `go.etcd.io/bbolt`): a host name and a slash
    # tell the second kind.
    if text.startswith(("type:", "go:", "type.")) or (
            text.startswith("go.") and not _GO_DOT_HOST.match(text)):
        return ""
    cut = min((i for i in (text.find("("), text.find("[")) if i >= 0), default=len(text))
    slash = text.rfind("/", 0, cut)
    dot = text.find(".", slash + 1)
    # NOTE: the linker escapes a path's last element's dots (`gopkg.in/yaml%2ev2.Marshal`)
    # and unusual bytes as %xx.
    return unquote(text[:dot]) if dot > 0 else ""


def module_of(package: str) -> str:
    """The module a non-standard-library package most likely belongs to, or ""."""
    parts = package.split("/")
    if "." not in parts[0] or parts[0] == "vendor":
        return ""  # the standard library (and what it vendors)
    if parts[0] == "gopkg.in":
        count = 2 if len(parts) > 1 and ".v" in parts[1] else 3
    else:
        count = 3 if parts[0] in _THREE else 2
    if len(parts) > count and _MAJOR.fullmatch(parts[count]):
        count += 1  # a major version suffix is part of the module path (`/v3`)
    return "/".join(parts[:count]) if len(parts) >= count else package


def modules(facts: Facts, region: Region | None) -> list[str]:
    """The modules the function table at `region` names, sorted (bounded)."""
    found = {module_of(package_of(n)) for n in function_names(facts, region)}
    found.discard("")
    return sorted(found)[:_MAX_MODULES]


def components(facts: Facts, main_path: str) -> tuple[Component, ...]:
    """Weaker `GO_MODULE` components (and the main program's module as `GO_MAIN_MODULE`)."""
    # NOTE: found once: without a named section, finding it searches the whole file.
    region = _region(facts)
    evidence = (Evidence("binary-analysis", 0.5, "go pclntab function names",
                         location=region.name if region else "", offset=region.offset
                         if region else None, note=NOTE),)
    main = module_of(main_path)
    out = []
    for module in modules(facts, region):
        if module == main:
            out.append(_main(facts, module, evidence))
            continue
        out.append(Component(kind=ComponentKind.GO_MODULE, name=module,
                             purl=golang_purl(module), linking=Linking.STATIC,
                             found_by="go pclntab", evidence=evidence))
    return tuple(out)


def _main(facts: Facts, module: str, evidence: tuple[Evidence, ...]) -> Component:
    found = lone_version(facts)
    version = ""
    if found is not None:
        text, section, offset = found
        version = text if text.startswith("v") else f"v{text}"
        evidence = (*evidence, Evidence("binary-analysis", 0.3, "version string",
                                        location=section, offset=offset, note=VERSION_NOTE))
    return Component(kind=ComponentKind.GO_MAIN_MODULE, name=module, version=version,
                     purl=golang_purl(module, version), linking=Linking.STATIC,
                     found_by="go pclntab", evidence=evidence)


def lone_version(facts: Facts) -> tuple[str, str, int] | None:
    """(version, section, file offset) of the read-only data's only version-like string."""
    seen: dict[str, tuple[str, int]] = {}
    for section, offset, m in _rodata.search(facts, _LONE_VERSION):
        seen.setdefault(m.group("version").decode(), (section, offset + 1))
        if len(seen) > 1:
            return None
    if not seen:
        return None
    ((version, (section, offset)),) = seen.items()
    return version, section, offset
