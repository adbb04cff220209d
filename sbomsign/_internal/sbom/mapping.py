"""The last step of reading an SBOM: plain records of a document -> an `Inventory`.

Each format has two readers: the stdlib-JSON readers of `fastjson`, which build these records
straight from the decoded document, and the library readers (`cyclonedx.to_inventory`,
`spdx.to_inventory`), which copy them out of what cyclonedx-python-lib and spdx-tools parsed
and validated. Both then map the records here, so the inventory-building rules are written
once and the two readers can only differ in what they parse, refuse and normalise (which the
differential tests in `tests/unit/internal/writers/test_fastjson.py` compare).

The records hold values as the libraries give them back: sorted sets in the library's order,
purls normalised, SPDX enum names upper-cased, license expressions as license-expression
prints them. This module imports no SBOM library, so the fast readers stay free of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from sbomsign._internal.sbom.common import (
    P_FILE_SIZE,
    P_MERGED,
    P_TELCO_STATED_VERSION,
    parse_comment_properties,
)
from sbomsign._internal.sbom.properties import (
    binaries_from_properties,
    component_from_facts,
    default_linking,
    guess_kind,
    owners_of,
    unique_components,
)
from sbomsign.models import (
    Artifact,
    Component,
    ComponentKind,
    Digests,
    Evidence,
    Inventory,
    Linking,
)

__all__ = [
    "CdxBomRecord",
    "CdxComponentRecord",
    "Related",
    "SpdxDocumentRecord",
    "SpdxPackageRecord",
    "SpdxRelationship",
    "cdx_evidence",
    "cdx_inventory",
    "spdx_described",
    "spdx_inventory",
]


# --- shared by both formats ----------------------------------------------------------------------


def _members(node: str, owner_ref: str | frozenset[str], models: dict[str, Component],
             owners: dict[str, list[str]], graph: dict[str, list[str]],
             n_artifacts: int) -> list[str]:
    """The keys of the components found in one artifact.

    `node` is the artifact's key in `graph` (a bom-ref or SPDX id), `owner_ref` the reference
    sbomsign's merged documents name it by in the components' owner properties; for a
    container, the set of its own reference and those of the binaries inside it, whose
    components (and the container's unowned packages) are the container's.
    """
    if any(owners.values()):
        # NOTE: our merged documents say which artifacts each component was found in.
        if isinstance(owner_ref, frozenset):
            return sorted(k for k in models
                          if not owners.get(k) or owner_ref.intersection(owners[k]))
        return sorted(k for k in models if owner_ref in owners.get(k, ()))
    if n_artifacts == 1:
        return sorted(models)
    # NOTE: another producer's multi-artifact document: what each artifact reaches.
    seen: set[str] = set()
    todo = [node] + [k for k, targets in graph.items() if node in targets and k in models]
    while todo:
        k = todo.pop()
        if k in seen:
            continue
        seen.add(k)
        todo.extend(t for t in graph.get(k, ()) if t in models)
    return sorted(seen & set(models))


def _artifact(*, path: str, name: str, properties: Sequence[tuple[str, str]], digests: Digests,
              members: Sequence[str], models: dict[str, Component],
              deps: dict[str, list[str]]) -> Artifact:
    """An artifact of the components keyed `members`, `depends_on` taken from `deps`."""
    refs = {k: models[k].ref for k in members}
    comps = []
    for k in members:
        targets = tuple(dict.fromkeys(refs[t] for t in deps.get(k, ()) if t in refs and t != k))
        comps.append(replace(models[k], depends_on=targets))
    comps = list(unique_components(comps))
    size = next((v for k, v in properties if k == P_FILE_SIZE), "0")
    return Artifact(
        path=path,
        name=name,
        size=int(size) if size.isdigit() else 0,
        digests=digests,
        binaries=binaries_from_properties(properties, comps),
        components=tuple(comps),
    )


# --- CycloneDX -----------------------------------------------------------------------------------


@dataclass(eq=False)
class CdxComponentRecord:
    """What the inventory needs of a CycloneDX component.

    Compared by identity (`eq=False`): `cdx_inventory` tells the described component apart
    from the others by identity, as the same library object may stand in both places.
    """

    name: str
    version: str | None = None
    bom_ref: str | None = None
    """None when missing or empty (the library keeps an empty bom-ref as none at all)."""
    purl: str = ""
    """As packageurl-python writes it back; '' without one."""
    cpe: str | None = None
    supplier: str = ""
    """The supplier's name; '' without one."""
    licenses: list[str] = field(default_factory=list)
    """Expressions, then license ids, in the library's order; no empty ones."""
    license_names: list[str] = field(default_factory=list)
    """Licences given by name only (no id)."""
    properties: list[tuple[str, str | None]] = field(default_factory=list)
    hashes: list[tuple[str, str]] = field(default_factory=list)
    """(algorithm as CycloneDX spells it, content)."""
    evidence: list[Evidence] = field(default_factory=list)
    """Already the model's (see `cdx_evidence`)."""
    components: list[CdxComponentRecord] = field(default_factory=list)


@dataclass
class CdxBomRecord:
    """What the inventory needs of a CycloneDX document."""

    component: CdxComponentRecord | None
    """`metadata.component`."""
    components: list[CdxComponentRecord]
    graph: dict[str, list[str]]
    """bom-ref -> the bom-refs it depends on, in the library's order."""
    tools: list[tuple[str, str | None]]
    """(name, version) of the tool components of `metadata.tools`."""


def cdx_evidence(methods: Sequence[tuple[str, float, str | None]],
                 occurrences: Iterable[tuple[str, int | None, str | None]]) -> list[Evidence]:
    """The model's evidence from a component's evidence, as `cyclonedx._evidence` writes it.

    `methods` are (technique, confidence, value) of every identity in order, `occurrences`
    (location, offset, additionalContext). The first method says how the component was found;
    each occurrence says where (sbomsign writes the source as the additional context).
    """
    if not methods:
        return []
    technique, confidence, method_value = methods[0]
    out = [
        Evidence(
            technique=technique,
            confidence=confidence,
            source=context or method_value or "",
            location=location if context else "",
            offset=offset,
        )
        for location, offset, context in occurrences
    ]
    return out or [Evidence(t, c, v or "") for t, c, v in methods]


def _props(c: CdxComponentRecord) -> list[tuple[str, str]]:
    return [(k, v or "") for k, v in c.properties]


def _cdx_digests(c: CdxComponentRecord) -> Digests:
    found = dict(c.hashes)
    sha256 = found.get("SHA-256", "")
    if not sha256 and (c.version or "").startswith("sha256:"):
        # NOTE: syft names a scanned file's digest in the version of metadata.component.
        sha256 = (c.version or "")[7:]
    return Digests(sha256=sha256.lower(), sha512=found.get("SHA-512", "").lower(),
                   sha1=found.get("SHA-1", "").lower())


def _cdx_flat(bom: CdxBomRecord, art_ids: set[int]) -> list[CdxComponentRecord]:
    """Every component of the document, nested ones too, in document order, but artifacts."""
    flat: list[CdxComponentRecord] = []
    stack = list(reversed(bom.components))
    while stack:
        c = stack.pop()
        if id(c) not in art_ids:
            flat.append(c)
        stack.extend(reversed(c.components))
    return flat


def _cdx_models(
    flat: Sequence[CdxComponentRecord],
    key: Callable[[CdxComponentRecord], str],
    graph: Mapping[str, Sequence[str]],
) -> tuple[dict[str, Component], dict[str, list[str]]]:
    """The model component of each record, and the artifacts each one says it belongs to."""
    # Another producer's Go main module: syft names it in a property; otherwise it is the Go
    # module that depends on `stdlib`.
    main_modules = {v for c in flat for k, v in _props(c) if k == "syft:metadata:mainModule"}
    stdlib = {key(c) for c in flat if c.name == "stdlib"}
    models: dict[str, Component] = {}
    owners: dict[str, list[str]] = {}
    for c in flat:
        k = key(c)
        props = _props(c)
        owners[k] = owners_of(props)
        kind = guess_kind(c.purl, c.name, main_module=c.name if c.name in main_modules else "")
        if kind is ComponentKind.GO_MODULE and stdlib.intersection(graph.get(k, ())):
            kind = ComponentKind.GO_MAIN_MODULE
        models[k] = component_from_facts(
            kind=kind,
            name=c.name,
            version=c.version or "",
            purl=c.purl,
            cpe=c.cpe or "",
            supplier=c.supplier,
            licenses=c.licenses,
            license_names=c.license_names,
            properties=props,
            evidence=c.evidence,
            default_linking=default_linking(kind),
        )
    return models, owners


def _owner_refs(root: CdxComponentRecord,
                key: Callable[[CdxComponentRecord], str]) -> str | frozenset[str]:
    """The root's reference, or, for a container (components nested in the root: an image's
    binaries), its reference and every nested one."""
    if not root.components:
        return key(root)
    refs = {key(root)}
    stack = list(root.components)
    while stack:
        c = stack.pop()
        refs.add(key(c))
        stack.extend(c.components)
    return frozenset(refs)


def cdx_inventory(bom: CdxBomRecord, name: str) -> Inventory:
    """The inventory a CycloneDX document describes.

    The described artifact is `metadata.component` (or, for a merged document, the artifacts
    nested in it; for a document without one, an artifact named `name`); every other
    component becomes a model `Component` of the artifact(s) it belongs to, with `depends_on`
    from `dependencies`.
    """
    meta = bom.component
    merged = meta is not None and any(k == P_MERGED and v == "true" for k, v in meta.properties)
    art_comps: list[CdxComponentRecord] = list(meta.components) if merged and meta else (
        [meta] if meta is not None else []
    )
    art_ids = {id(c) for c in art_comps} | ({id(meta)} if meta is not None else set())

    # NOTE: bom-refs are optional; a component without one gets a key no reference can name.
    keys: dict[int, str] = {}

    def key(c: CdxComponentRecord) -> str:
        if id(c) not in keys:
            keys[id(c)] = c.bom_ref if c.bom_ref else f"\0anonymous-{len(keys)}"
        return keys[id(c)]

    flat = _cdx_flat(bom, art_ids)
    graph = bom.graph
    models, owners = _cdx_models(flat, key, graph)
    def artifact(ac: CdxComponentRecord, members: Sequence[str]) -> Artifact:
        return _artifact(path=ac.name, name=ac.name, properties=_props(ac),
                         digests=_cdx_digests(ac), members=members, models=models, deps=graph)

    artifacts = [
        artifact(ac, _members(key(ac), _owner_refs(ac, key) if not merged else key(ac), models,
                              owners, graph, len(art_comps)))
        for ac in art_comps
    ]
    if not art_comps and models:
        # NOTE: nothing says what was described; keep the components under the document name.
        artifacts.append(artifact(CdxComponentRecord(name=name), sorted(models)))
    tool_version = next((version or "" for tool, version in bom.tools if tool == "sbomsign"), "")
    return Inventory(artifacts=tuple(artifacts), tool_version=tool_version)


# --- SPDX ----------------------------------------------------------------------------------------

#: A related element: (whether it is NOASSERTION or NONE rather than an SPDX id, its text).
Related = tuple[bool, str]

#: (spdxElementId, relationship type name, related element).
SpdxRelationship = tuple[str, str, Related]


@dataclass(eq=False)
class SpdxPackageRecord:
    """What the inventory needs of an SPDX package."""

    spdx_id: str
    name: str
    version: str | None
    file_name: str | None
    comment: str | None
    supplier: str
    """The supplier's name; '' for NOASSERTION or none."""
    license_declared: str
    """'' for NOASSERTION or NONE."""
    checksums: list[tuple[str, str]]
    """(algorithm name, value)."""
    external_refs: list[tuple[str, str, str]]
    """(category name, reference type, locator)."""


@dataclass
class SpdxDocumentRecord:
    """What the inventory needs of an SPDX document."""

    packages: list[SpdxPackageRecord]
    relationships: list[SpdxRelationship]
    """As spdx-tools holds them: `documentDescribes` and `hasFiles` already among them."""
    creators: list[tuple[str, str]]
    """(TOOL|PERSON|ORGANIZATION, name)."""


def spdx_described(document: SpdxDocumentRecord) -> list[str]:
    """The SPDX ids of the packages the document describes: its artifacts."""
    ids = {p.spdx_id for p in document.packages}
    described = []
    for src, kind, (special, tgt) in document.relationships:
        if kind == "DESCRIBES" and src == "SPDXRef-DOCUMENT":
            described.append(tgt)
        elif kind == "DESCRIBED_BY" and not special and tgt == "SPDXRef-DOCUMENT":
            described.append(src)
    described = [d for d in dict.fromkeys(described) if d in ids]
    if not described and document.packages:
        # NOTE: a document that does not say what it describes: take its first package.
        described = [document.packages[0].spdx_id]
    return described


def _ext(package: SpdxPackageRecord, category: str, types: Sequence[str]) -> str:
    for ref_category, ref_type, locator in package.external_refs:
        if ref_category == category and ref_type in types:
            return locator
    return ""


@dataclass
class _SpdxGraph:
    """What an SPDX document's relationships say, in the shape the mapping needs."""

    graph: dict[str, list[str]] = field(default_factory=dict)
    """Every containment or dependency edge, pointing from the dependent."""
    deps: dict[str, list[str]] = field(default_factory=dict)
    """Component-to-component dependencies only: the edges a model `Component` keeps."""
    dynamic: set[str] = field(default_factory=set)
    contains: set[str] = field(default_factory=set)


_FORWARD = ("DEPENDS_ON", "STATIC_LINK", "DYNAMIC_LINK", "CONTAINS")
_BACKWARD = ("DEPENDENCY_OF", "BUILD_DEPENDENCY_OF", "CONTAINED_BY")


def _spdx_graph(
    document: SpdxDocumentRecord, by_id: Mapping[str, SpdxPackageRecord], described: Sequence[str]
) -> _SpdxGraph:
    g = _SpdxGraph()
    edges = [(src, kind, "" if special else tgt)
             for src, kind, (special, tgt) in document.relationships]
    for src, kind, tgt in edges:
        if kind in _FORWARD:
            g.graph.setdefault(src, []).append(tgt)
        elif kind in _BACKWARD:
            g.graph.setdefault(tgt, []).append(src)
        if kind == "DYNAMIC_LINK":
            g.dynamic.add(tgt)
        if kind == "CONTAINS" and tgt in described:
            g.contains.add(src)
    for src, kind, tgt in edges:
        if kind == "DEPENDENCY_OF":
            src, tgt = tgt, src
        elif kind != "DEPENDS_ON":
            continue
        if src in by_id and tgt in by_id and src not in described and tgt not in described:
            g.deps.setdefault(src, []).append(tgt)
    return g


def _spdx_kind_and_linking(
    sid: str, p: SpdxPackageRecord, purl: str, by_id: Mapping[str, SpdxPackageRecord],
    g: _SpdxGraph,
) -> tuple[ComponentKind, Linking]:
    kind = guess_kind(purl, p.name)
    if kind is ComponentKind.GO_MODULE and any(
        by_id[t].name == "stdlib" for t in g.deps.get(sid, ()) if t in by_id
    ):
        kind = ComponentKind.GO_MAIN_MODULE
    if not purl and sid in g.dynamic:
        kind = ComponentKind.SHARED_LIBRARY
    linking = default_linking(kind)
    if sid in g.dynamic:
        linking = Linking.DYNAMIC
    elif sid in g.contains:
        linking = Linking.NONE
    return kind, linking


def _spdx_component(
    sid: str, p: SpdxPackageRecord, by_id: Mapping[str, SpdxPackageRecord], g: _SpdxGraph,
    props: list[tuple[str, str]],
) -> Component:
    purl = _ext(p, "PACKAGE_MANAGER", ("purl",))
    kind, linking = _spdx_kind_and_linking(sid, p, purl, by_id, g)
    # NOTE: the OpenChain Telco profile states the file's digest as the version where the
    # build records none; the component read back is what the build recorded.
    stated = dict(props).get(P_TELCO_STATED_VERSION)
    return component_from_facts(
        kind=kind,
        name=p.name,
        version="" if stated and stated == p.version else p.version or "",
        purl=purl,
        cpe=_ext(p, "SECURITY", ("cpe23Type", "cpe22Type")),
        supplier=p.supplier,
        licenses=[p.license_declared] if p.license_declared else [],
        properties=props,
        evidence=(),
        default_linking=linking,
    )


def spdx_inventory(document: SpdxDocumentRecord) -> Inventory:
    """The inventory an SPDX document describes: the DESCRIBES targets are the artifacts."""
    described = spdx_described(document)
    by_id = {p.spdx_id: p for p in document.packages}
    g = _spdx_graph(document, by_id, described)
    models: dict[str, Component] = {}
    owners: dict[str, list[str]] = {}
    for sid, p in by_id.items():
        if sid in described:
            continue
        props = parse_comment_properties(p.comment or "")
        owners[sid] = owners_of(props)
        models[sid] = _spdx_component(sid, p, by_id, g, props)
    artifacts = []
    for aid in described:
        ap = by_id[aid]
        members = _members(aid, _spdx_owner_refs(aid, ap, document, by_id), models, owners,
                           g.graph, len(described))
        artifacts.append(_artifact(
            path=ap.file_name or ap.name, name=ap.name,
            properties=parse_comment_properties(ap.comment or ""), digests=_spdx_digests(ap),
            members=members, models=models, deps=g.deps,
        ))
    tool_version = ""
    for kind, creator in document.creators:
        if kind == "TOOL" and creator.startswith("sbomsign-"):
            tool_version = creator.removeprefix("sbomsign-")
    return Inventory(artifacts=tuple(artifacts), tool_version=tool_version)


def _spdx_digests(p: SpdxPackageRecord) -> Digests:
    found = {alg: value.lower() for alg, value in p.checksums}
    return Digests(sha256=found.get("SHA256", ""), sha512=found.get("SHA512", ""),
                   sha1=found.get("SHA1", ""))


def _spdx_owner_refs(aid: str, ap: SpdxPackageRecord, document: SpdxDocumentRecord,
                     by_id: Mapping[str, SpdxPackageRecord]) -> str | frozenset[str]:
    """The artifact's reference, or, for a container (a package that CONTAINS others: an
    image's binaries), its reference and those of the packages inside it."""
    inside = [related[1] for source, kind, related in document.relationships
              if source == aid and kind == "CONTAINS" and not related[0]]
    if not inside:
        return _spdx_artifact_ref(ap)
    return frozenset({_spdx_artifact_ref(ap)}
                     | {_spdx_artifact_ref(by_id[s]) for s in inside if s in by_id})


def _spdx_artifact_ref(p: SpdxPackageRecord) -> str:
    """The reference sbomsign's merged documents name an artifact by (`artifact_ref`)."""
    sha256 = _spdx_digests(p).sha256
    return f"artifact:sha256:{sha256}" if sha256 else f"artifact:{p.name}"
