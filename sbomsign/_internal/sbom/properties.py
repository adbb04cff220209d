"""Property bags: sbomsign's facts as namespaced `(name, value)` pairs, and back.

Written as CycloneDX `properties` and as `name=value` lines of an SPDX package `comment`, and
read back from either; the names are the `P_*` constants of `common`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import fields

from sbomsign._internal.sbom.common import (
    COMPONENT_FIELD_PROPERTIES,
    P_ARTIFACT,
    P_FILE_SIZE,
    P_FOUND_BY,
    P_GO_H1,
    P_GO_REPLACE_H1,
    P_GO_REPLACE_PATH,
    P_GO_REPLACE_VERSION,
    P_KIND,
    P_LINKING,
    P_SCOPE,
    P_SOURCE,
    _merge_component,
)
from sbomsign.models import (
    Artifact,
    Binary,
    Component,
    ComponentKind,
    Evidence,
    GoBuildInfo,
    GoModule,
    Hardening,
    Linkage,
    LinkedLibrary,
    Linking,
    Replacement,
)

# --- property bags -----------------------------------------------------------------------------


def component_properties(
    c: Component, owners: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """sbomsign's facts about a component as namespaced (name, value) pairs, sorted."""
    props: list[tuple[str, str]] = [
        (P_KIND, c.kind.value),
        (P_LINKING, c.linking.value),
        (P_SCOPE, c.scope),
    ]
    if c.found_by:
        props.append((P_FOUND_BY, c.found_by))
    if c.source:
        props.append((P_SOURCE, c.source))
    if c.go_sum:
        # NOTE: a Go `h1:` sum is a hash over a module's file tree (dirhash), not over any
        # bytes we could name: never a SHA-256 hash of the component.
        props.append((P_GO_H1, c.go_sum))
    if c.replacement is not None:
        props.append((P_GO_REPLACE_PATH, c.replacement.path))
        if c.replacement.version:
            props.append((P_GO_REPLACE_VERSION, c.replacement.version))
        if c.replacement.sum:
            props.append((P_GO_REPLACE_H1, c.replacement.sum))
    props.extend((P_ARTIFACT, o.removeprefix("artifact:")) for o in owners)
    props.extend(c.properties)
    return sorted(set(props))


def _bool(v: bool) -> str:
    return "true" if v else "false"


_HARDENING_FIELDS = tuple(f.name for f in fields(Hardening))


def binary_properties(b: Binary, prefix: str) -> list[tuple[str, str]]:
    """The facts of one image, names prefixed with `prefix` (`sbomsign:`)."""
    p = prefix
    props = [
        (p + "binary:format", b.format),
        (p + "binary:arch", b.arch),
        (p + "binary:bits", str(b.bits)),
        (p + "binary:endianness", b.endianness),
        (p + "binary:os", b.os),
        (p + "binary:os-abi", b.os_abi),
        (p + "binary:file-type", b.file_type),
        (p + "binary:static", _bool(b.linkage.static)),
    ]
    if b.build_id:
        props.append((p + "binary:build-id", b.build_id))
    if b.pe_timestamp is not None:
        props.append((p + "binary:pe-timestamp", str(b.pe_timestamp)))
    if b.slice_offset:
        props.append((p + "binary:slice-offset", str(b.slice_offset)))
    if b.linkage.interpreter:
        props.append((p + "binary:interpreter", b.linkage.interpreter))
    props.extend((p + "binary:rpath", r) for r in b.linkage.rpath)
    props.extend((p + "binary:runpath", r) for r in b.linkage.runpath)
    for name in _HARDENING_FIELDS:
        value = getattr(b.hardening, name)
        if value is not None:
            text = value if isinstance(value, str) else _bool(value)
            props.append((p + "hardening:" + name.replace("_", "-"), text))
    if b.go is not None:
        g = b.go
        props.append((p + "go:version", g.go_version))
        props.extend((p + "go:experiment", x) for x in g.experiments)
        if g.path:
            props.append((p + "go:path", g.path))
        props.append((p + "go:evidence", g.evidence))
        # NOTE: every build setting (GOOS, GOARCH, CGO_ENABLED, -ldflags, vcs.*, ...) is kept
        # under its own name, as `go version -m` prints it.
        props.extend((p + "go:build:" + k, v) for k, v in g.settings)
    if b.rust is not None:
        props.append((p + "rust:audit-format", str(b.rust.format)))
    return props


def artifact_properties(artifact: Artifact) -> list[tuple[str, str]]:
    """The facts of an artifact file and of each image in it, sorted.

    A single image uses `sbomsign:binary:*`, `sbomsign:hardening:*`, `sbomsign:go:*`; the
    slices of a fat Mach-O file use `sbomsign:slice:<n>:binary:*` and so on, n from 0.
    """
    props = [(P_FILE_SIZE, str(artifact.size))]
    if len(artifact.binaries) == 1:
        props.extend(binary_properties(artifact.binaries[0], "sbomsign:"))
    else:
        for i, b in enumerate(artifact.binaries):
            props.extend(binary_properties(b, f"sbomsign:slice:{i}:"))
    return sorted(set(props))


# --- reading property bags back ----------------------------------------------------------------


def _first(props: Sequence[tuple[str, str]], name: str) -> str:
    return next((v for k, v in props if k == name), "")


def _all(props: Sequence[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in props if k == name]


def component_from_facts(
    *,
    kind: ComponentKind,
    name: str,
    version: str,
    purl: str,
    cpe: str,
    supplier: str,
    licenses: Sequence[str],
    properties: Sequence[tuple[str, str]],
    evidence: Sequence[Evidence],
    default_linking: Linking,
    license_names: Sequence[str] = (),
) -> Component:
    """A model `Component` from what a document says, sbomsign's own properties first."""
    props = list(properties)
    if kind_text := _first(props, P_KIND):
        try:
            kind = ComponentKind(kind_text)
        except ValueError:
            pass
    try:
        linking = Linking(_first(props, P_LINKING) or default_linking.value)
    except ValueError:
        linking = default_linking
    replacement = None
    if rpath := _first(props, P_GO_REPLACE_PATH):
        replacement = Replacement(
            rpath, _first(props, P_GO_REPLACE_VERSION), _first(props, P_GO_REPLACE_H1)
        )
    scope = _first(props, P_SCOPE) or (
        "optional" if linking is Linking.DLOPEN else "runtime"
    )
    return Component(
        kind=kind,
        name=name,
        version=version,
        purl=purl,
        linking=linking,
        scope=scope,
        go_sum=_first(props, P_GO_H1) or _first(props, "syft:metadata:h1Digest"),
        replacement=replacement,
        found_by=_first(props, P_FOUND_BY),
        source=_first(props, P_SOURCE),
        cpe=cpe,
        supplier=supplier,
        licenses=tuple(licenses),
        license_names=tuple(sorted(set(license_names))),
        properties=tuple(sorted({
            (k, v) for k, v in props
            if k.startswith("sbomsign:") and k not in COMPONENT_FIELD_PROPERTIES
        })),
        evidence=tuple(evidence),
    )


def unique_components(components: Iterable[Component]) -> tuple[Component, ...]:
    """Components deduplicated by `ref` (a document may list one twice) and sorted by it, as
    `Artifact.components` promises."""
    out: dict[str, Component] = {}
    for c in components:
        prev = out.get(c.ref)
        out[c.ref] = c if prev is None else _merge_component(prev, c)
    return tuple(out[k] for k in sorted(out))


def owners_of(properties: Sequence[tuple[str, str]]) -> list[str]:
    """The `artifact_ref`s a merged document says a component was found in."""
    return ["artifact:" + v for v in _all(properties, P_ARTIFACT)]


def guess_kind(purl: str, name: str, *, main_module: str = "") -> ComponentKind:
    """A component kind for a document that does not say it (another producer's)."""
    ptype = purl[4:].split("/", 1)[0].lower() if purl.startswith("pkg:") else ""
    if ptype == "golang":
        if name == "stdlib" or purl.startswith("pkg:golang/stdlib@"):
            return ComponentKind.GO_STDLIB
        if main_module and name == main_module:
            return ComponentKind.GO_MAIN_MODULE
        return ComponentKind.GO_MODULE
    if ptype == "cargo":
        return ComponentKind.RUST_CRATE
    if not purl and re.search(r"\.(so(\.\d+)*|dll|dylib)$", name, re.IGNORECASE):
        return ComponentKind.SHARED_LIBRARY
    return ComponentKind.PACKAGE


def default_linking(kind: ComponentKind) -> Linking:
    """How a component of this kind usually reaches the artifact."""
    if kind is ComponentKind.SHARED_LIBRARY:
        return Linking.DYNAMIC
    if kind is ComponentKind.PACKAGE:
        return Linking.NONE
    return Linking.STATIC


def _opt_bool(text: str) -> bool | None:
    return {"true": True, "false": False}.get(text)


def binaries_from_properties(
    props: Sequence[tuple[str, str]], components: Sequence[Component]
) -> tuple[Binary, ...]:
    """The images an artifact's properties describe (empty when they do not).

    The result is partial by nature: what the document does not record (package notes, the
    cargo-auditable tree) stays empty; Go build info and linked libraries are rebuilt from
    the properties and the components.
    """
    prefixes = sorted(
        {k[: -len("binary:format")] for k, _ in props if k.endswith("binary:format")}
    )
    if not prefixes:
        return ()
    out = []
    for p in prefixes:
        b = _binary_from(props, p, components if len(prefixes) == 1 else ())
        if b is not None:
            out.append(b)
    return tuple(out)


def _libraries_from(components: Sequence[Component]) -> tuple[LinkedLibrary, ...]:
    return tuple(
        LinkedLibrary(
            name=c.name,
            how=c.found_by,
            priority=dict(c.properties).get("sbomsign:dlopen:priority", ""),
            feature=dict(c.properties).get("sbomsign:dlopen:feature", ""),
        )
        for c in components
        if c.kind is ComponentKind.SHARED_LIBRARY
    )


def _go_from(
    props: Sequence[tuple[str, str]], p: str, components: Sequence[Component]
) -> GoBuildInfo | None:
    go_version = _first(props, p + "go:version")
    if not go_version:
        return None
    main = next((c for c in components if c.kind is ComponentKind.GO_MAIN_MODULE), None)
    return GoBuildInfo(
        go_version=go_version,
        experiments=tuple(_all(props, p + "go:experiment")),
        path=_first(props, p + "go:path"),
        main=_go_module(main) if main is not None else None,
        deps=tuple(_go_module(c) for c in components if c.kind is ComponentKind.GO_MODULE),
        # NOTE: the properties were sorted when written; file order is not recorded.
        settings=tuple(
            (k[len(p + "go:build:"):], v) for k, v in props if k.startswith(p + "go:build:")
        ),
        main_version=main.version if main is not None else "",
        main_version_source=(
            dict(main.properties).get("sbomsign:go:version-source", "") if main else ""
        ),
        evidence=_first(props, p + "go:evidence") or "buildinfo",
        offset=next((e.offset for e in main.evidence if e.offset is not None), None)
        if main is not None else None,
    )


def _binary_from(
    props: Sequence[tuple[str, str]], p: str, components: Sequence[Component]
) -> Binary | None:
    def get(name: str) -> str:
        return _first(props, p + name)

    try:
        bits = int(get("binary:bits") or 0)
        pe_ts = int(get("binary:pe-timestamp")) if get("binary:pe-timestamp") else None
        slice_offset = int(get("binary:slice-offset") or 0)
    except ValueError:
        return None
    hardening = {}
    for name in _HARDENING_FIELDS:
        text = get("hardening:" + name.replace("_", "-"))
        if text:
            hardening[name] = text if name == "relro" else _opt_bool(text)
    libraries = _libraries_from(components)
    go = _go_from(props, p, components)
    return Binary(
        format=get("binary:format"),
        arch=get("binary:arch") or "unknown",
        bits=bits,
        endianness=get("binary:endianness"),
        os=get("binary:os") or "unknown",
        os_abi=get("binary:os-abi"),
        file_type=get("binary:file-type"),
        build_id=get("binary:build-id"),
        pe_timestamp=pe_ts,
        linkage=Linkage(
            static=get("binary:static") != "false",
            interpreter=get("binary:interpreter"),
            libraries=libraries,
            rpath=tuple(_all(props, p + "binary:rpath")),
            runpath=tuple(_all(props, p + "binary:runpath")),
        ),
        hardening=Hardening(**hardening),  # type: ignore[arg-type]
        go=go,
        slice_offset=slice_offset,
    )


def _go_module(c: Component) -> GoModule:
    recorded = dict(c.properties).get("sbomsign:go:recorded-version", "")
    return GoModule(c.name, recorded or c.version, c.go_sum, c.replacement)
