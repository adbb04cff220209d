"""CycloneDX 1.6 and 1.7 JSON written directly: byte for byte what `library.write` gives.

An image's document has hundreds of components; cyclonedx-python-lib builds each as an object
of sorted sets and serialises it through three JSON passes, which cost more than scanning the
image. This writer builds the same JSON from the inventory model and imports no SBOM library
(only packageurl-python, whose normalisation the library applies to every purl).

What the library does to a document on the way out, and this writer therefore repeats:
- every collection is a sorted set: components by (type, group, name, version, bom-ref, ...),
  properties by (name, value), hashes by (algorithm, content), evidence methods by
  (technique, confidence, value), occurrences by bom-ref, dependencies by ref; equal members
  collapse into one, and a missing value sorts after every present one;
- empty collections and absent values are left out, keys are in alphabetical order;
- confidences are decimals written as JSON numbers, the timestamp is ISO 8601.

CycloneDX 1.5 and XML are written by the library. A subject whose bom-refs are not unique
raises `Unsupported` (the library would rename them), and so does a dependency on a ref that
is no component (the library refuses that document): the caller then writes it with the
library, slower and never different. `tests/unit/internal/sbom/test_cdx_fastwrite.py` compares
the two writers byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sbomsign._internal.sbom import bsi as bsi_props
from sbomsign._internal.sbom.common import (
    P_MERGED,
    Options,
    Subject,
    artifact_purl,
    artifact_ref,
    artifact_version,
    document_uuid,
    parse_actor,
)
from sbomsign._internal.sbom.containers import (
    ROOT_TYPES,
    container_properties,
    file_properties,
)
from sbomsign._internal.sbom.cyclonedx.document import EXTERNAL, SCOPES, finish_json, graph
from sbomsign._internal.sbom.cyclonedx.origin import ancestor, finding
from sbomsign._internal.sbom.properties import artifact_properties, component_properties
from sbomsign.errors import SbomError
from sbomsign.models import Artifact, Component, Container, Digests, Replacement

#: The spec versions this writer serves.
SPECS = frozenset({"1.6", "1.7"})

_HASH_NAMES = {"sha1": "SHA-1", "sha256": "SHA-256", "sha512": "SHA-512"}

Json = dict[str, Any]


class Unsupported(Exception):
    """The subject needs what only the library does; write it with the library."""


def write(subject: Subject, options: Options, spec: str) -> bytes:
    """The subject's CycloneDX `spec` JSON document.

    Raises:
        Unsupported: see the module docstring.
        SbomError: a purl that cannot be parsed.
    """
    if spec not in SPECS:
        raise Unsupported(spec)
    supplier = _supplier(options.supplier)
    bsi = options.profile == "bsi"
    artifacts = [_artifact(a, supplier, subject.container, bsi) for a in subject.artifacts]
    root = _root(subject, supplier, artifacts, bsi)
    components = [_component(c, subject.owners.get(c.ref, ()) if subject.merged else (), spec,
                             external=subject.container is None, bsi=bsi)
                  for c in subject.components]
    if subject.container is not None:
        components += [_component(c, (), spec, bsi=bsi) for c in subject.container.packages]
    refs = _unique_refs(root, components)
    metadata: Json = {
        "component": root,
        "lifecycles": [{"phase": "post-build"}],
        "timestamp": _timestamp(options),
        "tools": {"components": [_drop({
            "bom-ref": "tool:sbomsign", "name": "sbomsign", "type": "application",
            "version": options.tool_version or None,
        })]},
    }
    if options.author:
        _, name, email = parse_actor(options.author)
        metadata["authors"] = [_drop({"email": email or None, "name": name})]
    if supplier is not None:
        metadata["supplier"] = supplier
    doc: Json = {
        "$schema": f"http://cyclonedx.org/schema/bom-{spec}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": spec,
        "serialNumber": document_uuid(subject, "cyclonedx", options).urn,
        "version": 1,
        "metadata": _sorted_keys(metadata),
    }
    if components:
        doc["components"] = _sorted_components(components)
    edges = graph(subject, root["bom-ref"])
    # NOTE: the library lists the root even when nothing hangs off it (a package that holds
    # no binary and names no other package).
    edges.setdefault(root["bom-ref"], set())
    if any(ref not in refs for ref in edges):
        raise Unsupported("a dependency names no component")
    doc["dependencies"] = [{"dependsOn": sorted(edges[src]), "ref": src} if edges[src]
                           else {"ref": src} for src in sorted(edges)]
    return finish_json(doc, subject).encode("utf-8")


def _timestamp(options: Options) -> str:
    stamp = options.timestamp
    # NOTE: the library states a naive time in the local zone, as ISO 8601 reads one.
    return (stamp.astimezone() if stamp.tzinfo is None else stamp).isoformat()


def _supplier(text: str) -> Json | None:
    if not text:
        return None
    _, name, email = parse_actor(text)
    # The supplier's e-mail is its contact, as SPDX's `Organization: name (email)` keeps it.
    return {"contact": [{"email": email}], "name": name} if email else {"name": name}


def _root(subject: Subject, supplier: Json | None, artifacts: list[Json], bsi: bool) -> Json:
    if subject.container is not None:
        return _container(subject, subject.container, supplier, artifacts, bsi)
    if subject.merged:
        return _drop({
            "bom-ref": f"release:sha256:{subject.digest}",
            "components": _sorted_components(artifacts) or None,
            "name": subject.name,
            "properties": [{"name": P_MERGED, "value": "true"}],
            "supplier": supplier,
            "type": "application",
            "version": subject.version or None,
        })
    return artifacts[0]


def _container(subject: Subject, container: Container, supplier: Json | None,
               artifacts: list[Json], bsi: bool) -> Json:
    props = container_properties(container) + (
        bsi_props.container_properties(container) if bsi else [])
    return _drop({
        "bom-ref": container.ref,
        "components": _sorted_components(artifacts) or None,
        "cpe": container.cpe or None,
        "hashes": _hashes(container.digests),
        "licenses": _licenses(container.licenses, container.license_names),
        "name": subject.name,
        "properties": _properties(props),
        "purl": _purl(container.purl),
        "supplier": supplier,
        "type": ROOT_TYPES[container.kind],
        "version": subject.version or None,
    })


def _artifact(a: Artifact, supplier: Json | None, container: Container | None,
              bsi: bool) -> Json:
    props = artifact_properties(a) + file_properties(container, a) + (
        bsi_props.artifact_properties(a) if bsi else [])
    return _drop({
        "bom-ref": artifact_ref(a),
        "hashes": _hashes(a.digests),
        "name": a.name,
        "properties": _properties(props),
        "purl": _purl(artifact_purl(a)),
        "supplier": supplier,
        "type": "library" if a.is_library and a.binaries else "application",
        "version": artifact_version(a) or None,
    })


def _component(c: Component, owners: Sequence[str], spec: str, *,
               external: bool = False, bsi: bool = False) -> Json:
    props = component_properties(c, owners) + (bsi_props.component_properties(c) if bsi else [])
    return _drop({
        "bom-ref": c.ref,
        "cpe": c.cpe or None,
        "evidence": _evidence(c, spec),
        # NOTE: CycloneDX 1.7 says when a component is not in the artifact but provided by
        # the environment it runs in: what a binary links dynamically or loads.
        "isExternal": True if external and spec == "1.7" and c.linking in EXTERNAL else None,
        "licenses": _licenses(c.licenses, c.license_names),
        "name": c.name,
        "pedigree": _pedigree(c, c.replacement) if c.replacement is not None else None,
        "properties": _properties(props),
        "purl": _purl(c.purl),
        "scope": SCOPES.get(c.scope, "required"),
        "supplier": {"name": c.supplier} if c.supplier else None,
        "type": "library",
        "version": c.version or None,
    })


def _licenses(licenses: Sequence[str], names: Sequence[str] = ()) -> list[Json] | None:
    if licenses:
        return [{"acknowledgement": "declared", "expression": " AND ".join(licenses)}]
    # NOTE: the library's order: names sorted (they are, in the model).
    return [{"license": {"acknowledgement": "declared", "name": n}} for n in names] or None


def _pedigree(c: Component, replacement: Replacement) -> Json:
    a = ancestor(c, replacement)
    return {
        "ancestors": [_drop({"bom-ref": a.ref, "name": a.name, "purl": _purl(a.purl),
                             "type": "library", "version": a.version or None})],
        "notes": a.notes,
    }


def _evidence(c: Component, spec: str) -> Json:
    f = finding(c, spec)
    methods = [{"confidence": float(conf), "technique": t, "value": value}
               for t, conf, value in sorted(set(f.methods))]
    identity = _drop({"concludedValue": f.concluded, "confidence": float(f.confidence),
                      "field": f.field, "methods": methods})
    occurrences = [
        _drop({"additionalContext": context, "bom-ref": ref, "location": location,
               "offset": offset})
        for ref, location, offset, context in sorted(set(f.occurrences), key=lambda o: o[0])
    ]
    return _drop({"identity": [identity], "occurrences": occurrences or None})


def _hashes(digests: Digests) -> list[Json] | None:
    pairs = sorted((_HASH_NAMES[k], v) for k, v in digests.as_dict().items())
    return [{"alg": alg, "content": v} for alg, v in pairs] or None


def _properties(pairs: list[tuple[str, str]]) -> list[Json] | None:
    return [{"name": k, "value": v} for k, v in sorted(set(pairs))] or None


def _purl(text: str) -> str | None:
    """The purl as the library writes it: parsed and written again by packageurl-python."""
    if not text:
        return None
    from packageurl import PackageURL

    try:
        return str(PackageURL.from_string(text).to_string())
    except ValueError as e:
        raise SbomError(f"cannot write purl {text!r}: {e}") from e


def _sorted_components(components: list[Json]) -> list[Json]:
    """In the library's order. bom-refs are unique (`_unique_refs`), so the key stops there."""
    def key(c: Json) -> tuple[Any, ...]:
        version = c.get("version")
        return (c["type"], c["name"], version is None, version or "", c["bom-ref"])

    return sorted(components, key=key)


def _unique_refs(root: Json, components: list[Json]) -> set[str]:
    """The bom-refs of the document, which the library's output requires to be unique."""
    seen: set[str] = set()
    for c in [root, *root.get("components", ()), *components]:
        if c["bom-ref"] in seen:
            raise Unsupported(f"bom-ref {c['bom-ref']!r} given twice")
        seen.add(c["bom-ref"])
    return seen


def _drop(d: Json) -> Json:
    """Without the absent values, as the library leaves them out."""
    return {k: v for k, v in d.items() if v is not None}


def _sorted_keys(d: Json) -> Json:
    return {k: d[k] for k in sorted(d)}
