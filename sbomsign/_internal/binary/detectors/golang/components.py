"""Components from Go build info: the main module, its dependencies and the standard library.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from sbomsign._internal.binary.detectors.golang.modinfo import _DEVEL
from sbomsign._internal.purl import GO_PLACEHOLDER_VERSION, golang_purl, stdlib_purl
from sbomsign.models import (
    Component,
    ComponentKind,
    Evidence,
    GoBuildInfo,
    GoModule,
    Replacement,
)

# ---------------------------------------------------------------------------------------------
# Components

_STDLIB_VERSION = re.compile(r"go(\d+(?:\.\d+){0,2})((?:rc|beta)\d+)?")
_RECOVERED_NOTE = (
    "build-info header missing or damaged: modules recovered from the module-info blob and the "
    "Go version from a search of the file (weaker evidence)"
)


def go_components(info: GoBuildInfo, location: str) -> tuple[Component, ...]:
    """Components for the main module, each dependency, and the standard library.

    - The main module (`GO_MAIN_MODULE`) carries the derived main version (`main_version`);
      its recorded version and the version's source are kept as properties. There is none when
      the build info has no `mod` line (`go build file.go`, path `command-line-arguments`).
      It depends on every dependency and on the standard library.
    - A dependency (`GO_MODULE`) keeps the path, version and `h1:` sum of its `dep` line, and
      its `=>` line in `replacement`. Its purl names the code actually compiled in, as syft
      does: the replacement module's path@version, or, for a replacement by a local directory
      (recorded with version `(devel)`), the original path without a version. Vulnerability
      matching by purl then looks at the code in the binary, and the original requirement
      stays in name/version, except where that version names no code in the binary: a module
      replaced by a local directory was compiled from that directory, and Go's placeholder
      `v0.0.0-00010101000000-000000000000` (a requirement only satisfied by a replacement)
      is no release. Then the component has no version and the required one is the property
      `sbomsign:go:required-version`.
    - The toolchain is `stdlib` (`GO_STDLIB`) with version `go1.x.y`, purl
      `pkg:golang/stdlib@1.x.y` and CPE `cpe:2.3:a:golang:go:1.x.y:-:...` (a release
      candidate or beta goes into the CPE update field), as syft names it.
    """
    recovered = info.evidence == "modinfo-sentinels"
    source = "go modinfo sentinels" if recovered else "go buildinfo"
    evidence = (
        Evidence(
            technique="binary-analysis",
            confidence=0.7 if recovered else 1.0,
            source=source,
            location=location,
            offset=info.offset,
            note=_RECOVERED_NOTE if recovered else "",
        ),
    )
    deps: list[Component] = [_dep_component(d, source, evidence) for d in info.deps]
    stdlib = _stdlib_component(info.go_version, source, evidence) if info.go_version else None
    out: list[Component] = []
    if info.main is not None:
        out.append(_main_component(info, info.main, deps, stdlib, source, evidence))
    out.extend(deps)
    if stdlib is not None:
        out.append(stdlib)
    return tuple(out)


def _main_component(
    info: GoBuildInfo,
    main: GoModule,
    deps: Sequence[Component],
    stdlib: Component | None,
    source: str,
    evidence: tuple[Evidence, ...],
) -> Component:
    props: list[tuple[str, str]] = []
    if info.main_version_source:
        props.append(("sbomsign:go:version-source", info.main_version_source))
    if main.version and main.version != info.main_version:
        props.append(("sbomsign:go:recorded-version", main.version))
    if info.main_version_source in ("ldflags", "vcs-pseudo-version"):
        how = "-ldflags -X" if info.main_version_source == "ldflags" else "vcs.revision/vcs.time"
        note = f"version derived from {how}, not recorded by the go command"
        evidence = tuple(
            dataclasses.replace(e, note=f"{e.note}; {note}" if e.note else note) for e in evidence
        )
    refs = [d.ref for d in deps] + ([stdlib.ref] if stdlib is not None else [])
    return Component(
        kind=ComponentKind.GO_MAIN_MODULE,
        name=main.path,
        version=info.main_version,
        purl=golang_purl(main.path, info.main_version) if main.path else "",
        go_sum=main.sum,
        replacement=main.replacement,
        found_by=source,
        depends_on=tuple(dict.fromkeys(refs)),
        properties=tuple(sorted(props)),
        evidence=evidence,
    )


def _dep_component(dep: GoModule, source: str, evidence: tuple[Evidence, ...]) -> Component:
    rep = dep.replacement
    if rep is None:
        purl = golang_purl(dep.path, dep.version)
    elif _is_directory_replacement(rep):
        purl = golang_purl(dep.path)
    else:
        purl = golang_purl(rep.path, rep.version)
    version, props = dep.version, tuple[tuple[str, str], ...]()
    if rep is not None and (_is_directory_replacement(rep)
                            or dep.version == GO_PLACEHOLDER_VERSION):
        version, props = "", ((P_REQUIRED_VERSION, dep.version),)
    return Component(
        kind=ComponentKind.GO_MODULE,
        name=dep.path,
        version=version,
        purl=purl,
        go_sum=dep.sum,
        replacement=rep,
        found_by=source,
        properties=props,
        evidence=evidence,
    )


#: A replaced module's required version, where it names no code in the binary (read by the
#: CycloneDX writer for the pedigree).
P_REQUIRED_VERSION = "sbomsign:go:required-version"


def _is_directory_replacement(rep: Replacement) -> bool:
    """Whether a replacement is a local directory (`=> ./fork (devel)`), not a module version."""
    # NOTE: the go command records directory replacements with version "(devel)"; the path
    # test mirrors modfile.IsDirectoryPath, including Windows forms.
    p = rep.path
    return (
        rep.version in ("", _DEVEL)
        or p.startswith(("./", "../", "/", ".\\", "..\\", "\\"))
        or p in (".", "..")
        or re.match(r"^[A-Za-z]:[\\/]", p) is not None
    )


def _stdlib_component(go_version: str, source: str, evidence: tuple[Evidence, ...]) -> Component:
    m = _STDLIB_VERSION.fullmatch(go_version)
    purl = cpe = ""
    if m:
        # NOTE: syft's CPE puts an rc/beta suffix into the update field: go1.22rc1 is
        # cpe:2.3:a:golang:go:1.22:rc1:...; releases use "-" (no update).
        purl = stdlib_purl(go_version)
        cpe = f"cpe:2.3:a:golang:go:{m.group(1)}:{m.group(2) or '-'}:*:*:*:*:*:*"
    return Component(
        kind=ComponentKind.GO_STDLIB,
        name="stdlib",
        version=go_version,
        purl=purl,
        cpe=cpe,
        found_by=source,
        licenses=("BSD-3-Clause",),
        evidence=evidence,
    )
