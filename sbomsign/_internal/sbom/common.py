"""Format-neutral pieces of the SBOM codecs: subjects, the dependency graph, identifiers, time.

Only the standard library and `sbomsign.models` are used here. What every format shares is
decided once, here:

- the *subject* of a document (one artifact, or several merged into one release),
- the dependency graph (`dependency_edges`), which every writer emits and every reader restores,
- deterministic identifiers (uuid5 of the artifact digests and the options) and timestamps.

The property bags (sbomsign's facts as `sbomsign:*` pairs) are in `properties`.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sbomsign.errors import SbomError
from sbomsign.models import (
    Artifact,
    Component,
    ComponentKind,
    Container,
    Linking,
)

#: Namespace of every uuid5 sbomsign derives (CycloneDX serial numbers, SPDX namespaces).
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://sbomsign.dev/sbom")

#: Prefix of SPDX document namespaces.
SPDX_NAMESPACE_BASE = "https://sbomsign.dev/spdx/"

#: How the SBOM was made, the start of the SPDX documents' creation comment (each version
#: adds the SBOM type in its own words).
MADE_BY = (
    "Made by sbomsign after the build, from what the artifact records about itself: build "
    "information, package notes, version resources and linked libraries"
)

CYCLONEDX_VERSIONS = ("1.6", "1.7", "1.5")
DEFAULT_CYCLONEDX_VERSION = "1.6"
SPDX_VERSION = "2.3"

# --- property names --------------------------------------------------------------------------
# One namespace, `sbomsign:`, registered nowhere but stable: readers depend on these names.
P_KIND = "sbomsign:kind"
P_LINKING = "sbomsign:linking"
P_SCOPE = "sbomsign:scope"
P_FOUND_BY = "sbomsign:found-by"
P_SOURCE = "sbomsign:source"
P_GO_H1 = "sbomsign:go:h1"
P_GO_REPLACE_PATH = "sbomsign:go:replace:path"
P_GO_REPLACE_VERSION = "sbomsign:go:replace:version"
P_GO_REPLACE_H1 = "sbomsign:go:replace:h1"
P_ARTIFACT = "sbomsign:artifact"
"""On a component of a merged document: `sha256:<hex>` of an artifact it was found in."""
P_FILE_SIZE = "sbomsign:file:size"
P_MERGED = "sbomsign:merged"
P_TELCO_CHECKSUM_OF = "sbomsign:telco:checksum-of"
"""OpenChain Telco profile: what a package's checksum is of (see `telco`)."""
P_TELCO_STATED_VERSION = "sbomsign:telco:stated-version"
"""OpenChain Telco profile: a version stated where the build records none (see `telco`)."""

#: Property names the writer derives from `Component` fields; readers turn them back into
#: fields instead of keeping them in `Component.properties`.
COMPONENT_FIELD_PROPERTIES = frozenset({
    P_KIND, P_LINKING, P_SCOPE, P_FOUND_BY, P_SOURCE, P_GO_H1,
    P_GO_REPLACE_PATH, P_GO_REPLACE_VERSION, P_GO_REPLACE_H1, P_ARTIFACT,
    P_TELCO_CHECKSUM_OF, P_TELCO_STATED_VERSION,
})

@dataclass(frozen=True)
class Options:
    """What a document says besides the inventory."""

    timestamp: datetime
    tool_version: str
    supplier: str = ""
    author: str = ""
    spec_version: str = ""
    profile: str = ""
    """A buyer's profile whose fields to add where they can be known (`bsi`), or ""."""


@dataclass(frozen=True)
class Subject:
    """What one document describes: one artifact, or a release of several merged."""

    artifacts: tuple[Artifact, ...]
    merged: bool
    name: str
    version: str
    components: tuple[Component, ...]
    """Every artifact's components, deduplicated by `ref` and sorted by it."""
    owners: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Component ref -> `artifact_ref`s of the artifacts it was found in."""
    container: Container | None = None
    """The image, archive or package the artifacts were found in: then the document's root."""

    @property
    def digest(self) -> str:
        """A digest naming the subject: the container's (an image's manifest digest), the
        artifact's sha256, or one over all of them."""
        if self.container is not None:
            return self.container.digests.sha256
        if len(self.artifacts) == 1 and not self.merged:
            return self.artifacts[0].digests.sha256
        joined = "\n".join(sorted(a.digests.sha256 for a in self.artifacts))
        return hashlib.sha256(joined.encode()).hexdigest()


# --- subjects ------------------------------------------------------------------------------------


def artifact_ref(artifact: Artifact) -> str:
    """The document-local identifier of an artifact (a CycloneDX bom-ref)."""
    if artifact.digests.sha256:
        return f"artifact:sha256:{artifact.digests.sha256}"
    return f"artifact:{artifact.name}"


def artifact_version(artifact: Artifact) -> str:
    """The version to state for an artifact.

    The Go main module's version when it is known, else the version of the package a single
    package note names, else `sha256:<hex>` of the file, as syft does for a file: NTIA asks for
    a version, and the digest is an honest one when nothing better is recorded.
    """
    for c in artifact.components:
        if c.kind is ComponentKind.GO_MAIN_MODULE and c.version and c.version != "(devel)":
            return c.version
    notes = [c for c in artifact.components if c.kind is ComponentKind.PACKAGE and c.version]
    if len(notes) == 1:
        return notes[0].version
    return f"sha256:{artifact.digests.sha256}" if artifact.digests.sha256 else ""


def artifact_purl(artifact: Artifact) -> str:
    """The artifact's purl when one is known: that of the one package its package note names."""
    notes = [c for c in artifact.components if c.kind is ComponentKind.PACKAGE and c.purl]
    return notes[0].purl if len(notes) == 1 else ""


def release_name(artifacts: Sequence[Artifact]) -> str:
    """A name for several artifacts: their common file-name prefix (`demo-svc-linux` for
    `demo-svc-linux-amd64` and `demo-svc-linux-arm64`), else `artifacts`."""
    names = sorted({a.name for a in artifacts})
    if len(names) == 1:
        return names[0]
    prefix = os.path.commonprefix(names)
    # NOTE: cut at a word boundary: "demo-linux-amd64" + "demo-linux-arm64" -> "demo-linux",
    # not "demo-linux-a".
    if not all(len(n) == len(prefix) or n[len(prefix)] in _SEPARATORS for n in names):
        prefix = re.sub(r"[^-_. ]*$", "", prefix)
    return prefix.rstrip(_SEPARATORS) or "artifacts"


_SEPARATORS = "-_. "


def make_subject(artifacts: Sequence[Artifact], *, merge: bool,
                 container: Container | None = None) -> Subject:
    """The subject of one document: a container with what was found in it, or artifacts.

    Raises:
        SbomError: there is no artifact, or several without `merge`.
    """
    if container is not None:
        return _container_subject(artifacts, container)
    if not artifacts:
        raise SbomError("nothing to describe: no artifact")
    if len(artifacts) > 1 and not merge:
        raise SbomError("several artifacts need a merged document (--merge) or one each")
    # NOTE: the same bytes found under two paths are one artifact; keep the first name.
    unique: dict[str, Artifact] = {}
    for a in artifacts:
        unique.setdefault(artifact_ref(a), a)
    arts = tuple(sorted(unique.values(), key=lambda a: (a.name, a.digests.sha256)))
    components: dict[str, Component] = {}
    owners: dict[str, list[str]] = {}
    for a in arts:
        for c in a.components:
            prev = components.get(c.ref)
            components[c.ref] = c if prev is None else _merge_component(prev, c)
            owners.setdefault(c.ref, []).append(artifact_ref(a))
    if merge:
        name = release_name(arts)
        versions = {artifact_version(a) for a in arts}
        version = versions.pop() if len(versions) == 1 else ""
        subject = Subject(arts, True, name, version, (), {})
        if not version or version.startswith("sha256:"):
            version = f"sha256:{subject.digest}"
    else:
        name, version = arts[0].name, artifact_version(arts[0])
    return Subject(
        artifacts=arts,
        merged=merge,
        name=name,
        version=version,
        components=tuple(components[k] for k in sorted(components)),
        owners={k: tuple(v) for k, v in owners.items()},
    )


def _container_subject(artifacts: Sequence[Artifact], container: Container) -> Subject:
    from sbomsign._internal.sbom.containers import root_name, root_version

    inner = make_subject(artifacts, merge=True) if artifacts else None
    return Subject(
        artifacts=inner.artifacts if inner else (),
        merged=True,
        name=root_name(container),
        version=root_version(container),
        components=inner.components if inner else (),
        owners=inner.owners if inner else {},
        container=container,
    )


def _merge_component(a: Component, b: Component) -> Component:
    """One component found in two artifacts: the union of what each says."""
    return replace(
        a,
        depends_on=tuple(dict.fromkeys(a.depends_on + b.depends_on)),
        properties=tuple(sorted(set(a.properties) | set(b.properties))),
        evidence=tuple(dict.fromkeys(a.evidence + b.evidence)),
        licenses=tuple(dict.fromkeys(a.licenses + b.licenses)),
        license_names=tuple(sorted(set(a.license_names) | set(b.license_names))),
    )


# --- the dependency graph ----------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Edge:
    """One relationship of the graph: `source` depends on (or contains) `target`."""

    source: str
    target: str
    kind: str
    """`depends` (a component's own dependency), `static`, `dynamic`, `build` (artifact to a
    build-time component) or `contains` (a package named by a package note contains the
    artifact)."""


def dependency_edges(artifact: Artifact) -> list[Edge]:
    """The artifact's dependency graph, as both formats write it.

    - artifact -> the Go main module -> every module and `stdlib` (the main module's
      `depends_on`); without a main module, artifact -> every Go module directly;
    - artifact -> the cargo-auditable root crate(s) -> their dependencies;
    - artifact -> every linked shared library (dynamic or dlopen);
    - package-note package -> artifact (`contains`): the package is not code in the binary;
    - any other component nothing reaches hangs off the artifact, so none is left orphaned.

    Edges between components come from `Component.depends_on` only, so a reader that restores
    `depends_on` restores the whole graph.
    """
    aref = artifact_ref(artifact)
    by_ref = {c.ref: c for c in artifact.components}
    edges: set[Edge] = set()
    for c in artifact.components:
        for dep in c.depends_on:
            if dep in by_ref and dep != c.ref:
                edges.add(Edge(c.ref, dep, "depends"))
    has_parent = {e.target for e in edges}
    mains = [c for c in artifact.components if c.kind is ComponentKind.GO_MAIN_MODULE]
    for c in artifact.components:
        if c.linking is Linking.NONE:
            edges.add(Edge(c.ref, aref, "contains"))
        elif c.linking in (Linking.DYNAMIC, Linking.DLOPEN):
            edges.add(Edge(aref, c.ref, "dynamic"))
        elif c.ref in has_parent:
            continue
        elif c.kind in (ComponentKind.GO_MODULE, ComponentKind.GO_STDLIB) and mains:
            # NOTE: a module the build info lists belongs to the main module's build even when
            # the main module's depends_on does not say so (older scanners, other producers).
            edges.add(Edge(mains[0].ref, c.ref, "depends"))
        else:
            edges.add(Edge(aref, c.ref, "build" if c.scope == "build" else "static"))
    return sorted(edges)


def linked_refs(artifact: Artifact) -> list[tuple[str, str]]:
    """(component ref, `static`|`dynamic`|`build`) for the SPDX link relationships: every
    component compiled into the artifact is statically linked, each library dynamically."""
    out = []
    for c in artifact.components:
        if c.linking is Linking.NONE:
            continue
        if c.linking in (Linking.DYNAMIC, Linking.DLOPEN):
            out.append((c.ref, "dynamic"))
        else:
            out.append((c.ref, "build" if c.scope == "build" else "static"))
    return sorted(out)


def composition_complete(artifact: Artifact) -> bool:
    """Whether the artifact's list of components is complete.

    Only for a Go program built with `CGO_ENABLED=0`: the build info lists every module linked
    in, and no C code can be. Anything else may hold statically linked C/C++ (or Rust's own
    standard library) that no metadata records.
    """
    go = artifact.go
    if go is None or go.evidence != "buildinfo":
        return False
    return go.setting("CGO_ENABLED") == "0" and all(b.rust is None for b in artifact.binaries)


# --- identifiers, time, actors -----------------------------------------------------------------


def document_uuid(subject: Subject, fmt: str, options: Options) -> uuid.UUID:
    """A serial number / namespace that is the same for the same inputs, and only then.

    Derived from the artifact digest(s) and from everything else the document states, so two
    runs over the same files with the same `SOURCE_DATE_EPOCH` agree to the byte.
    """
    material = "\n".join([
        fmt,
        options.spec_version,
        options.tool_version,
        options.supplier,
        options.author,
        options.timestamp.isoformat(),
        "merged" if subject.merged else "single",
        *sorted(a.digests.sha256 for a in subject.artifacts),
        *([subject.container.ref] if subject.container is not None else []),
    ])
    return uuid.uuid5(UUID_NAMESPACE, material)


_ACTOR = re.compile(r"^(?:(?P<type>Person|Organization|Organisation):\s*)?"
                    r"(?P<name>[^()<>]*?)\s*(?:[(<](?P<email>[^()<>]*)[)>])?\s*$")


def parse_actor(text: str) -> tuple[str, str, str]:
    """(`person`|`organization`, name, email) from `[Person: |Organization: ]Name [(email)]`.

    Without a prefix the actor is an organization: suppliers and SBOM authors usually are.

    Raises:
        SbomError: the name is empty.
    """
    m = _ACTOR.match(text.strip())
    if not m or not m.group("name"):
        raise SbomError(f"not a name: {text!r} (use 'Name', 'Person: Name (email)' or "
                        f"'Organization: Name (email)')")
    kind = "person" if (m.group("type") or "").lower() == "person" else "organization"
    return kind, m.group("name"), (m.group("email") or "").strip()


def spdx_id(prefix: str, name: str, key: str) -> str:
    """A readable, unique SPDX identifier: `SPDXRef-<prefix>-<name>-<8 hex of key>`."""
    clean = re.sub(r"[^A-Za-z0-9.]+", "-", name).strip("-")[:60] or "x"
    return f"SPDXRef-{prefix}-{clean}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def parse_comment_properties(comment: str) -> list[tuple[str, str]]:
    """The `sbomsign:` name=value lines of an SPDX comment."""
    out = []
    for line in comment.splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and name.startswith("sbomsign:"):
            out.append((name, value))
    return out


def format_comment_properties(props: Iterable[tuple[str, str]]) -> str:
    """SPDX comment text holding properties, one `name=value` per line."""
    # NOTE: values are single-line; a newline would split a property, so it is escaped.
    return "\n".join(f"{k}={v.replace(chr(10), ' ')}" for k, v in props)


def source_info(c: Component) -> str:
    """Where the component was found, in words: SPDX's place for evidence."""
    parts = []
    for e in c.evidence:
        where = f" in {e.location}" if e.location else ""
        at = f" at offset {e.offset:#x}" if e.offset is not None else ""
        note = f"; {e.note}" if e.note else ""
        parts.append(f"{e.technique}: {e.source}{where}{at} (confidence {e.confidence:g}){note}")
    if not parts and c.found_by:
        parts.append(f"binary-analysis: {c.found_by}")
    return "\n".join(parts)
