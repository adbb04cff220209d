"""SPDX 3.0.1 JSON-LD from a `Subject`, with the standard library only.

The document is one flat `@graph`: a `CreationInfo` every element points to, the
`SpdxDocument`, a `software_Sbom` of type `analyzed` whose root is what the document is about,
and then:

- the artifact as a `software_File` (hashes in `verifiedUsing`); a container or a merged
  release as a `software_Package` that `contains` its files;
- every component (Go main module, modules and stdlib, Rust crates, package-note packages,
  OS packages, linked libraries) as a `software_Package` with its version, purl and CPE;
- relationships grouped by source and type, as the SPDX 2.3 codec writes them one by one:
  `hasStaticLink` (compiled in), `hasDynamicLink` (loaded), `dependsOn` (the module graph; a
  build-time dependency as a `LifecycleScopedRelationship` of scope `build`), `contains`
  (container to what is inside, package to the file it installs), `hasDeclaredLicense`;
- a Go program's build settings as a `build_Build` that `generates` the artifact.

sbomsign's facts (`sbomsign:*` property bags) travel in each element's
`extension_CdxPropertiesExtension`, SPDX 3's place for CycloneDX-style name/value pairs, and
come back from there. Identifiers are IRIs under a namespace derived from the artifact
digests and the options (uuid5, as the SPDX 2.3 namespace), and every list is sorted, so the
same inputs and `SOURCE_DATE_EPOCH` give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from sbomsign._internal import jsontext
from sbomsign._internal.sbom.common import (
    MADE_BY,
    P_MERGED,
    SPDX_NAMESPACE_BASE,
    Options,
    Subject,
    artifact_purl,
    artifact_ref,
    dependency_edges,
    document_uuid,
    linked_refs,
    parse_actor,
    source_info,
    spdx_id,
)
from sbomsign._internal.sbom.containers import (
    container_edges,
    container_properties,
    file_properties,
)
from sbomsign._internal.sbom.properties import artifact_properties, component_properties
from sbomsign._internal.sbom.spdx3.context import CONTEXT
from sbomsign.errors import SbomError
from sbomsign.models import Artifact, Component, ComponentKind, Container, Digests

SPEC_VERSION = "3.0.1"
CREATION_INFO = "_:creationinfo"

#: `build_buildType` of a Go build. NOTE: SPDX 3 asks for a URI naming the kind of build and
#: registers none; this one is sbomsign's, for "what the Go toolchain recorded in the binary".
GO_BUILD_TYPE = "https://sbomsign.dev/spdx3/build/go"

#: The CreationInfo comment: how the SBOM was made (as the SPDX 2.3 CreatorComment).
CREATION_COMMENT = f"{MADE_BY} (post-build; SPDX SBOM type: analyzed)."

# Edge kinds of `dependency_edges`/`linked_refs`/`container_edges` -> (relationship, scope).
_RELATIONSHIPS = {
    "depends": ("dependsOn", ""),
    "static": ("hasStaticLink", ""),
    "dynamic": ("hasDynamicLink", ""),
    "build": ("dependsOn", "build"),
    "contains": ("contains", ""),
}
_CONTAINER_PURPOSE = {"image": "container", "archive": "archive", "package": "install"}
# Profiles of the classes used, by the prefix of their JSON-LD names. NOTE: `extension` is
# not claimed although the property extensions are used: in the 3.0.1 JSON-LD context the
# word is the `extension` property's term, so the claim would read as that property's IRI,
# which the SHACL model refuses.
_PROFILES = {"software": "software", "build": "build", "simplelicensing": "simpleLicensing"}


class _Graph:
    """The elements of one document by IRI, and its relationships grouped by source."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[tuple[str, str, str], set[str]] = {}
        self.profiles = {"core", "software"}

    def iri(self, prefix: str, name: str, key: str) -> str:
        """A readable, unique IRI in the document's namespace."""
        return f"{self.namespace}#{spdx_id(prefix, name, key).removeprefix('SPDXRef-')}"

    def add(self, iri: str, type_: str, fields: dict[str, Any]) -> str:
        """Add an element once (the first call for an IRI wins); empty fields are left out."""
        if iri not in self.nodes:
            node = {"type": type_, "spdxId": iri, "creationInfo": CREATION_INFO}
            node.update((k, v) for k, v in fields.items() if v not in (None, "", [], ()))
            self.nodes[iri] = node
            prefix = type_.partition("_")[0] if "_" in type_ else ""
            if prefix in _PROFILES:
                self.profiles.add(_PROFILES[prefix])
        return iri

    def relate(self, source: str, kind: str, target: str, scope: str = "") -> None:
        """`source kind target`; relationships sharing source, kind and scope become one."""
        self.edges.setdefault((source, kind, scope), set()).add(target)

    def relationships(self) -> None:
        """Turn the grouped edges into relationship elements."""
        for (source, kind, scope), targets in sorted(self.edges.items()):
            key = f"{source} {kind} {scope}"
            fields: dict[str, Any] = {"from": source, "relationshipType": kind,
                                      "to": sorted(targets), "scope": scope}
            self.add(self.iri("Relationship", kind, key),
                     "LifecycleScopedRelationship" if scope else "Relationship", fields)


# --- values ------------------------------------------------------------------------------------


def _hashes(digests: Digests) -> list[dict[str, str]]:
    return [{"type": "Hash", "algorithm": alg, "hashValue": value}
            for alg, value in sorted(digests.as_dict().items())]


def _identifier(kind: str, value: str) -> dict[str, str]:
    return {"type": "ExternalIdentifier", "externalIdentifierType": kind, "identifier": value}


def _cpe(cpe: str) -> dict[str, Any]:
    return _identifier("cpe23" if cpe.startswith("cpe:2.3:") else "cpe22", cpe)


def _extension(props: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """sbomsign's property bag as SPDX 3's CycloneDX-style name/value extension."""
    entries = [{"type": "extension_CdxPropertyEntry", "extension_cdxPropName": name,
                "extension_cdxPropValue": value} for name, value in props]
    if not entries:
        return []
    return [{"type": "extension_CdxPropertiesExtension", "extension_cdxProperty": entries}]


def _dictionary(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"type": "DictionaryEntry", "key": k, **({"value": v} if v else {})}
            for k, v in pairs]


# --- elements ------------------------------------------------------------------------------------


def _agent(g: _Graph, text: str) -> str:
    """A Person or Organization element for `Name`, `Person: Name (email)`, ..."""
    kind, name, email = parse_actor(text)
    type_ = "Person" if kind == "person" else "Organization"
    return g.add(g.iri(type_, name, f"{type_} {name} {email}"), type_, {
        "name": name,
        "externalIdentifier": [_identifier("email", email)] if email else [],
    })


def _creation_info(g: _Graph, options: Options) -> dict[str, Any]:
    tool = g.add(g.iri("Tool", "sbomsign", "tool"), "Tool",
                 {"name": f"sbomsign-{options.tool_version or 'unknown'}"})
    if options.author:
        created_by = _agent(g, options.author)
    else:
        # NOTE: createdBy needs an agent; without --author it is sbomsign itself, which the
        # NTIA check then reports as no author (a person or organisation) of the data.
        created_by = g.add(g.iri("SoftwareAgent", "sbomsign", "agent"), "SoftwareAgent",
                           {"name": "sbomsign"})
    return {
        "type": "CreationInfo",
        "@id": CREATION_INFO,
        "specVersion": SPEC_VERSION,
        "created": options.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "createdBy": [created_by],
        "createdUsing": [tool],
        "comment": CREATION_COMMENT,
    }


def _license(g: _Graph, licenses: Sequence[str]) -> str:
    expression = " AND ".join(licenses)
    return g.add(g.iri("License", expression, expression), "simplelicensing_LicenseExpression",
                 {"simplelicensing_licenseExpression": expression})


def _component(g: _Graph, c: Component, owners: Sequence[str]) -> str:
    cpe = c.cpe and _cpe(c.cpe)
    iri = g.add(g.iri(c.kind.value, c.name, c.ref), "software_Package", {
        "name": c.name,
        "software_packageVersion": c.version,
        "software_packageUrl": c.purl,
        "externalIdentifier": [cpe] if cpe else [],
        "suppliedBy": _agent(g, c.supplier) if c.supplier else "",
        "software_primaryPurpose": (
            "install" if c.kind in (ComponentKind.PACKAGE, ComponentKind.OS_PACKAGE)
            else "library"
        ),
        "software_sourceInfo": source_info(c),
        "extension": _extension(component_properties(c, owners)),
    })
    if c.licenses:
        g.relate(iri, "hasDeclaredLicense", _license(g, c.licenses))
    return iri


def _artifact(g: _Graph, a: Artifact, supplier: str, container: Container | None) -> str:
    purl = artifact_purl(a)
    return g.add(g.iri("File", a.name, artifact_ref(a)), "software_File", {
        "name": a.name,
        "software_primaryPurpose": "library" if a.is_library and a.binaries else "executable",
        "software_fileKind": "file",
        "verifiedUsing": _hashes(a.digests),
        "suppliedBy": supplier,
        "externalIdentifier": [_identifier("packageUrl", purl)] if purl else [],
        "extension": _extension(sorted(artifact_properties(a) + file_properties(container, a))),
    })


def _build(g: _Graph, a: Artifact, artifact: str) -> None:
    """The Go build that made the artifact: its flags and VCS stamps as parameters, the
    rest of the recorded settings (GOOS, GOARCH, CGO_ENABLED, ...) as the environment."""
    go = a.go
    if go is None:
        return
    parameters = sorted((k, v) for k, v in go.settings if k.startswith(("-", "vcs")))
    environment = sorted([("GOVERSION", go.go_version), *(
        (k, v) for k, v in go.settings if not k.startswith(("-", "vcs")))])
    build = g.add(g.iri("Build", a.name, "build " + artifact_ref(a)), "build_Build", {
        "name": f"go build {go.path}" if go.path else "go build",
        "build_buildType": GO_BUILD_TYPE,
        "build_parameter": _dictionary(parameters),
        "build_environment": _dictionary(environment),
    })
    g.relate(build, "generates", artifact)


def _root(g: _Graph, subject: Subject, supplier: str, ids: dict[str, str]) -> str:
    """The element the SBOM is about: the container, the merged release, or the artifact."""
    container = subject.container
    if container is not None:
        root = g.add(g.iri("Container", subject.name, container.ref), "software_Package", {
            "name": subject.name,
            "software_packageVersion": subject.version,
            "software_packageUrl": container.purl,
            "externalIdentifier": [_cpe(container.cpe)] if container.cpe else [],
            "software_primaryPurpose": _CONTAINER_PURPOSE[container.kind],
            "verifiedUsing": _hashes(container.digests),
            "suppliedBy": supplier,
            "extension": _extension(container_properties(container)),
        })
        if container.licenses:
            g.relate(root, "hasDeclaredLicense", _license(g, container.licenses))
        return root
    if not subject.merged:
        return ids[artifact_ref(subject.artifacts[0])]
    release = g.add(g.iri("Release", subject.name, subject.digest), "software_Package", {
        "name": subject.name,
        "software_packageVersion": subject.version,
        "software_primaryPurpose": "application",
        "suppliedBy": supplier,
        "extension": _extension([(P_MERGED, "true")]),
    })
    for a in subject.artifacts:
        g.relate(release, "contains", ids[artifact_ref(a)])
    return release


def _edges(g: _Graph, subject: Subject, ids: dict[str, str]) -> None:
    edges = [(src, tgt, kind) for src, tgt, kind in container_edges(subject)]
    for a in subject.artifacts:
        aref = artifact_ref(a)
        edges += [(e.source, e.target, e.kind) for e in dependency_edges(a)]
        # NOTE: besides the graph, the artifact statically links everything compiled into it
        # (every Go module, not only the main module) and dynamically links each library.
        edges += [(aref, ref, kind) for ref, kind in linked_refs(a)]
    for src, tgt, kind in edges:
        relationship, scope = _RELATIONSHIPS[kind]
        g.relate(ids[src], relationship, ids[tgt], scope)


def _elements(g: _Graph, subject: Subject, options: Options) -> str:
    """Every element but the document and the SBOM; returns the root's IRI."""
    supplier = _agent(g, options.supplier) if options.supplier else ""
    ids: dict[str, str] = {}
    for a in subject.artifacts:
        ids[artifact_ref(a)] = _artifact(g, a, supplier, subject.container)
        _build(g, a, ids[artifact_ref(a)])
    root = _root(g, subject, supplier, ids)
    if subject.container is not None:
        ids[subject.container.ref] = root
        for c in subject.container.packages:
            ids[c.ref] = _component(g, c, ())
    for c in subject.components:
        ids[c.ref] = _component(g, c, subject.owners.get(c.ref, ()) if subject.merged else ())
    _edges(g, subject, ids)
    return root


def write(subject: Subject, options: Options) -> bytes:
    """Serialise a subject as SPDX 3.0.1 JSON-LD.

    Raises:
        SbomError: the spec version is not 3.0.1, or a supplier or author is not a name.
    """
    if options.spec_version not in ("", SPEC_VERSION, f"SPDX-{SPEC_VERSION}"):
        raise SbomError(f"SPDX 3 spec version {options.spec_version!r} is not supported "
                        f"({SPEC_VERSION})")
    uid = document_uuid(subject, "spdx3", options)
    g = _Graph(f"{SPDX_NAMESPACE_BASE}{quote(subject.name, safe='')}-{uid}")
    creation = _creation_info(g, options)
    root = _elements(g, subject, options)
    g.relationships()
    sbom = g.iri("Sbom", subject.name, "sbom")
    document = g.iri("Document", subject.name, "document")
    content = sorted(g.nodes)
    profiles = sorted(g.profiles)
    g.add(sbom, "software_Sbom", {
        "name": subject.name,
        "software_sbomType": ["analyzed"],
        "profileConformance": profiles,
        "rootElement": [root],
        "element": content,
    })
    # NOTE: the SBOM lists every element; the document names the SBOM only, rather than
    # repeating that list (the elements of the graph are the document's in any case).
    g.add(document, "SpdxDocument", {
        "name": subject.name,
        "profileConformance": profiles,
        "rootElement": [sbom],
    })
    doc = {"@context": CONTEXT,
           "@graph": [creation, *(g.nodes[k] for k in sorted(g.nodes))]}
    return (jsontext.dumps(doc) + "\n").encode()
