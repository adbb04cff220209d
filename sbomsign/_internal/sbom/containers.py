"""What both SBOM formats say about a container (an image, release archive or package).

A document about a container has the container as its root, its OS packages and binaries
below it, and these edges besides each binary's own graph (`common.dependency_edges`):

- root `contains` every binary and every OS package;
- an OS package `contains` each binary its file list names;
- a binary links `dynamic`ally to each library file it loads inside the container (when that
  file was scanned too), and `depends` on the OS package that owns the library.

Container facts travel as `sbomsign:image:*` / `sbomsign:container:*` properties, and each
binary's place in it as `sbomsign:container:path`, `:layer` and `:package`.
"""

from __future__ import annotations

from sbomsign._internal.sbom.common import Subject, artifact_ref
from sbomsign.models import Artifact, ContainedFile, Container

P_PATH = "sbomsign:container:path"
P_LAYER = "sbomsign:container:layer"
P_OWNER = "sbomsign:container:package"

ROOT_TYPES = {"image": "container", "archive": "file", "package": "application"}
"""CycloneDX component type of the root, by container kind."""


def root_name(container: Container) -> str:
    """The name a document gives the container: the repository (or the name it was read
    under, without its scheme) for an image, the file name for archives and packages."""
    if container.kind == "image":
        name = container.repository or container.name.partition(":")[2] or container.name
        return f"{name} ({container.platform})" if container.platform else name
    base = container.name.replace("\\", "/").rsplit("/", 1)[-1]
    return base


def root_version(container: Container) -> str:
    """A package's version; an image's manifest digest (its name for signing); a file's
    sha256 otherwise."""
    if container.kind == "package" and container.version:
        return container.version
    return f"sha256:{container.digests.sha256}"


def container_properties(container: Container) -> list[tuple[str, str]]:
    """The container's facts, sorted."""
    props = [("sbomsign:container:kind", container.kind),
             ("sbomsign:container:name", container.name)]
    simple = {
        "sbomsign:image:platform": container.platform,
        "sbomsign:image:config-digest": container.config_digest,
        "sbomsign:image:media-type": container.media_type,
        "sbomsign:image:created": container.created,
        "sbomsign:image:repository": container.repository,
        "sbomsign:image:tag": container.tag,
        "sbomsign:container:distro": container.distro,
        "sbomsign:container:package-database": container.package_database or "none",
    }
    props.extend((k, v) for k, v in simple.items() if v)
    # NOTE: layer order matters and property bags are sets; the index keeps it.
    props.extend((f"sbomsign:image:layer:{i:03d}", layer.digest)
                 for i, layer in enumerate(container.layers))
    props.extend((f"sbomsign:image:label:{k}", v) for k, v in container.labels)
    return sorted(props)


def file_properties(container: Container | None, artifact: Artifact) -> list[tuple[str, str]]:
    """Where a binary sits in its container: path, layer, owning package."""
    if container is None:
        return []
    props = []
    for f in _files_by_key(container).get((artifact.path, artifact.digests.sha256), ()):
        props.append((P_PATH, f.path))
        if f.layer:
            props.append((P_LAYER, f.layer))
        if f.package:
            props.append((P_OWNER, f.package))
    return sorted(set(props))


#: The last container indexed, and its files by (path, sha256). Every writer asks once per
#: binary; looking through all files each time grew with the square of an image's binaries.
_indexed: tuple[Container, dict[tuple[str, str], list[ContainedFile]]] | None = None


def _files_by_key(container: Container) -> dict[tuple[str, str], list[ContainedFile]]:
    global _indexed
    # NOTE: by identity: comparing (or hashing) a container walks all its files.
    if _indexed is None or _indexed[0] is not container:
        index: dict[tuple[str, str], list[ContainedFile]] = {}
        for f in container.files:
            index.setdefault((f.path, f.sha256), []).append(f)
        _indexed = (container, index)
    return _indexed[1]


def container_edges(subject: Subject) -> list[tuple[str, str, str]]:
    """(source ref, target ref, kind) of the container's own edges (see the module doc)."""
    container = subject.container
    if container is None:
        return []
    by_path: dict[str, str] = {}
    for a in subject.artifacts:
        by_path.setdefault(a.path, artifact_ref(a))
    files = {f.path: f for f in container.files}
    packages = {p.ref for p in container.packages}
    edges: set[tuple[str, str, str]] = set()
    for a in subject.artifacts:
        edges.add((container.ref, artifact_ref(a), "contains"))
        owner = files[a.path].package if a.path in files else ""
        if owner in packages:
            edges.add((owner, artifact_ref(a), "contains"))
    for ref in packages:
        edges.add((container.ref, ref, "contains"))
    for link in container.links:
        source = by_path.get(link.binary)
        if source is None:
            continue
        target = by_path.get(link.resolved)
        if target is not None and target != source:
            edges.add((source, target, "dynamic"))
        if link.package in packages:
            edges.add((source, link.package, "depends"))
    return sorted(edges)


def container_complete(container: Container) -> bool:
    """Whether the list of what the container holds is complete: an image without a package
    database (or with one we could not read) may hold software nothing records."""
    return container.kind != "image" or bool(container.package_database)


def document_stem(container: Container) -> str:
    """See `sbomsign.sbom.document_stem`."""
    import re

    if container.kind != "image":
        # NOTE: like any artifact's documents: `<file name>.cdx.json`, so that a release
        # file and its SBOM pair up by name (`app.tar.gz` and `app.tar.gz.cdx.json`).
        return container.name.replace("\\", "/").rsplit("/", 1)[-1]
    name = container.purl.removeprefix("pkg:oci/").split("@", 1)[0] or "image"
    parts = [name, container.tag, container.platform.replace("/", "-")]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(p for p in parts if p))
