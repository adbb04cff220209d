"""What both CycloneDX writers (`library` and `fastwrite`) share: the dependency graph, the
compositions, and the last touches to the JSON text.

Kept free of cyclonedx-python-lib, so that the direct JSON writer imports none of it.
"""

from __future__ import annotations

from typing import Any

from sbomsign._internal import jsontext
from sbomsign._internal.sbom.common import (
    Subject,
    artifact_ref,
    composition_complete,
    dependency_edges,
)
from sbomsign._internal.sbom.containers import container_complete, container_edges
from sbomsign.models import ComponentKind, Linking

#: Component scope in CycloneDX, by the inventory's scope.
SCOPES = {"runtime": "required", "optional": "optional", "build": "excluded"}
#: Linkings whose code the environment provides (CycloneDX 1.7 `isExternal`).
EXTERNAL = frozenset({Linking.DYNAMIC, Linking.DLOPEN})
#: The top-level keys in the schema's order; the library appends the identifying keys last,
#: and readers (and people) look for them first.
JSON_ORDER = ("$schema", "bomFormat", "specVersion", "serialNumber", "version", "metadata",
              "components", "dependencies", "compositions")


def graph(subject: Subject, root_ref: str) -> dict[str, set[str]]:
    """Every bom-ref that takes part in the dependency graph, with the refs it depends on."""
    edges: dict[str, set[str]] = {}
    for a in subject.artifacts:
        edges.setdefault(artifact_ref(a), set())
        for e in dependency_edges(a):
            edges.setdefault(e.source, set()).add(e.target)
            edges.setdefault(e.target, set())
    if subject.container is not None:
        for src, tgt, _ in container_edges(subject):
            edges.setdefault(src, set()).add(tgt)
            edges.setdefault(tgt, set())
    elif subject.merged:
        edges[root_ref] = {artifact_ref(a) for a in subject.artifacts}
    return edges


def compositions(subject: Subject) -> list[dict[str, Any]]:
    """What is complete and what is not, as CycloneDX `compositions`.

    - an artifact's components are `complete` only for a pure-Go program (see
      `composition_complete`), else `incomplete`: statically linked C/C++ code leaves no record;
    - the Go main module's dependencies are `complete` (the build info lists every module), as
      are Rust crates' (cargo-auditable records the whole resolved tree);
    - the dependencies of everything else (Go modules, libraries, packages) are `unknown`;
    - a merged release is `complete` as an assembly of exactly the artifacts listed.
    """
    complete: set[str] = set()
    incomplete: set[str] = set()
    unknown: set[str] = set()
    for a in subject.artifacts:
        (complete if composition_complete(a) else incomplete).add(artifact_ref(a))
    for c in subject.components:
        # NOTE: cargo-auditable records a crate's whole tree; a crate named by its source
        # paths has dependencies nothing recorded.
        if c.kind is ComponentKind.GO_MAIN_MODULE or (
                c.kind is ComponentKind.RUST_CRATE and c.found_by == "cargo-auditable"):
            complete.add(c.ref)
        else:
            unknown.add(c.ref)
    out: list[dict[str, Any]] = []
    if subject.container is not None:
        whole = "complete" if container_complete(subject.container) else "incomplete"
        out.append({"aggregate": whole, "assemblies": [subject.container.ref]})
        unknown.update(c.ref for c in subject.container.packages)
    elif subject.merged:
        out.append({"aggregate": "complete", "assemblies": [f"release:sha256:{subject.digest}"]})
    for aggregate, refs in (("complete", complete), ("incomplete", incomplete),
                            ("unknown", unknown)):
        if refs:
            out.append({"aggregate": aggregate, "dependencies": sorted(refs)})
    return out


def finish_json(doc: dict[str, Any], subject: Subject) -> str:
    """The document's text: compositions added, made interoperable, top level in the schema's
    order, two-space indented."""
    doc["compositions"] = compositions(subject)
    _interoperable(doc)
    ordered = {k: doc[k] for k in JSON_ORDER if k in doc}
    ordered.update((k, v) for k, v in doc.items() if k not in ordered)
    return jsontext.dumps(ordered) + "\n"


def _interoperable(doc: dict[str, Any]) -> None:
    """What other consumers need beyond the schema: cdxgen's SPDX 3 conversion reads only
    timestamps ending in `Z`, and its validator needs `dependsOn` on every dependency entry
    (a leaf's is empty, as most producers write it)."""
    metadata = doc.get("metadata")
    if isinstance(metadata, dict) and str(metadata.get("timestamp", "")).endswith("+00:00"):
        metadata["timestamp"] = metadata["timestamp"].removesuffix("+00:00") + "Z"
    for entry in doc.get("dependencies") or []:
        entry.setdefault("dependsOn", [])
