"""SPDX 3 JSON-LD (a flat `@graph`, sbomsign's or another producer's) to an `Inventory`.

The graph is read into the records the SPDX 2 readers fill (`mapping.SpdxDocumentRecord`) and
mapped by the same code, so both SPDX versions give the same inventory:

- the SBOM's `rootElement` is what the document describes (for sbomsign's merged release, the
  files the release `contains`);
- `software_Package` and `software_File` elements are packages: version, purl (or a
  `packageUrl` identifier), CPE identifiers, hashes, supplier, declared licence;
- relationships become their SPDX 2 counterparts (`hasStaticLink` is `STATIC_LINK`, ...),
  one per target;
- sbomsign's property bags come from `extension_CdxPropertiesExtension`.

Element types the inventory has no place for (annotations, vulnerabilities, AI and data set
details) are skipped; documents of nested element objects are refused, as the JSON-LD
framing they would need is not done here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sbomsign._internal.sbom.common import P_MERGED, format_comment_properties
from sbomsign._internal.sbom.jsonshape import _Invalid, _items, _obj, _opt, _req, _show, _text
from sbomsign._internal.sbom.mapping import (
    Related,
    SpdxDocumentRecord,
    SpdxPackageRecord,
    SpdxRelationship,
    spdx_described,
    spdx_inventory,
)
from sbomsign._internal.sbom.spdx3.context import spdx3_context
from sbomsign.errors import SbomError
from sbomsign.models import Inventory

_PACKAGES = frozenset({"software_Package", "software_File", "ai_AIPackage",
                       "dataset_DatasetPackage"})
_RELATIONSHIPS = frozenset({"Relationship", "LifecycleScopedRelationship"})
_AGENTS = {"Person": "PERSON", "Organization": "ORGANIZATION", "SoftwareAgent": "TOOL",
           "Agent": "TOOL", "Tool": "TOOL"}
# SPDX 3 relationship types the inventory reads, as the SPDX 2 names `mapping` knows.
_TYPES = {"contains": "CONTAINS", "dependsOn": "DEPENDS_ON", "hasStaticLink": "STATIC_LINK",
          "hasDynamicLink": "DYNAMIC_LINK", "generates": "GENERATES",
          "describes": "DESCRIBES"}
_CPE_TYPES = {"cpe23": "cpe23Type", "cpe22": "cpe22Type"}
_CREATED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)")
#: The document id `mapping` takes DESCRIBES relationships from.
_DOCUMENT = "SPDXRef-DOCUMENT"


@dataclass
class Document:
    """A read SPDX 3 document: the mapping's record and what the NTIA check needs besides."""

    record: SpdxDocumentRecord
    created: str
    related: set[str] = field(default_factory=set)
    """Every element some relationship names."""


@dataclass
class _Graph:
    """The elements by id, with their places in the document for messages."""

    nodes: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    infos: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """The CreationInfo nodes, with or without an id."""
    inline: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """CreationInfo objects written inside elements."""

    def of_type(self, types: frozenset[str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(id, place, node) of the elements of these types, in document order."""
        for key, (where, node) in self.nodes.items():
            if self.types[key] in types:
                yield key, where, node

    def name(self, ref: Any, where: str) -> str:
        """The name of the element `ref` names (an id, or an element written inline)."""
        if isinstance(ref, dict):
            return str(_opt(ref, "name", where) or "")
        found = self.nodes.get(_text(ref, where))
        return str(found[1].get("name", "")) if found else ""


def load(doc: Any, name: str) -> Document:
    """Check and read a decoded SPDX 3 JSON-LD document.

    Raises:
        SbomError: the document is not SPDX 3 JSON-LD of a flat `@graph`, or an element is
            malformed; one line naming `name` and the place.
    """
    try:
        return _document(_obj(doc, ""))
    except _Invalid as e:
        raise SbomError(f"{name}: invalid SPDX 3: {e}") from None


def to_inventory(document: Document) -> Inventory:
    """The inventory a read document describes (see `mapping.spdx_inventory`)."""
    return spdx_inventory(document.record)


def _graph(doc: dict[str, Any]) -> _Graph:
    if not spdx3_context(doc):
        raise _Invalid("@context", f"{_show(doc.get('@context'))} is not SPDX 3's")
    if "@graph" not in doc:
        raise _Invalid("", "@graph is missing (a flat graph of elements is read)")
    g = _Graph()
    for where, value in _items(doc, "@graph", ""):
        node = _obj(value, where)
        type_ = _text(node.get("type", node.get("@type")), f"{where}.type")
        if type_ == "CreationInfo":
            g.infos.append((where, node))
        elif isinstance(node.get("creationInfo"), dict):
            g.inline.append((f"{where}.creationInfo", node["creationInfo"]))
        key = node.get("spdxId", node.get("@id"))
        if key is None:
            continue  # an anonymous node nothing can refer to
        key = _text(key, f"{where}.spdxId")
        if key in g.nodes:
            raise _Invalid(where, f"{_show(key)} is the id of another element too")
        g.nodes[key] = (where, node)
        g.types[key] = type_
    return g


def _ids(node: dict[str, Any], key: str, where: str) -> list[str]:
    """An element-valued member (one id or a list of ids) as a list of ids."""
    value = node.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    out = []
    for place, item in _items(node, key, where):
        if isinstance(item, dict):
            raise _Invalid(place, "is an element written inline (a flat @graph is read)")
        out.append(_text(item, place))
    return out


def _creation(g: _Graph) -> tuple[str, list[tuple[str, str]]]:
    """(created, creators as (TOOL|PERSON|ORGANIZATION, name)) of the CreationInfo."""
    infos = g.infos or g.inline
    if not infos:
        raise _Invalid("@graph", "no CreationInfo")
    where, info = infos[0]
    created = _req(info, "created", where)
    if not _CREATED.fullmatch(created):
        raise _Invalid(f"{where}.created", f"{_show(created)} is not a date-time like "
                                           f"2024-01-31T12:00:00Z")
    creators = []
    for key in ("createdBy", "createdUsing"):
        for ref in _ids(info, key, where):
            kind = _AGENTS.get(g.types.get(ref, ""), "TOOL")
            creators.append((kind, g.name(ref, f"{where}.{key}")))
    if not creators:
        raise _Invalid(where, "createdBy is missing")
    return created, creators


def _properties(node: dict[str, Any], where: str) -> list[tuple[str, str]]:
    """The name/value pairs of the element's CycloneDX-style property extensions."""
    out = []
    for place, ext in _items(node, "extension", where):
        ext = _obj(ext, place)
        if ext.get("type") != "extension_CdxPropertiesExtension":
            continue
        for at, entry in _items(ext, "extension_cdxProperty", place):
            entry = _obj(entry, at)
            out.append((_req(entry, "extension_cdxPropName", at),
                        _opt(entry, "extension_cdxPropValue", at) or ""))
    return out


def _external_refs(node: dict[str, Any], where: str) -> list[tuple[str, str, str]]:
    refs = []
    if purl := _opt(node, "software_packageUrl", where):
        refs.append(("PACKAGE_MANAGER", "purl", purl))
    for place, ident in _items(node, "externalIdentifier", where):
        ident = _obj(ident, place)
        kind = _req(ident, "externalIdentifierType", place)
        value = _req(ident, "identifier", place)
        if kind == "packageUrl":
            refs.append(("PACKAGE_MANAGER", "purl", value))
        elif kind in _CPE_TYPES:
            refs.append(("SECURITY", _CPE_TYPES[kind], value))
    return refs


def _checksums(node: dict[str, Any], where: str) -> list[tuple[str, str]]:
    out = []
    for place, method in _items(node, "verifiedUsing", where):
        method = _obj(method, place)
        if method.get("type") == "Hash":
            out.append((_req(method, "algorithm", place).upper(),
                        _req(method, "hashValue", place)))
    return out


def _package(g: _Graph, key: str, where: str, node: dict[str, Any],
             licenses: dict[str, list[str]]) -> SpdxPackageRecord:
    name = _opt(node, "name", where) or key
    supplier = node.get("suppliedBy")
    return SpdxPackageRecord(
        spdx_id=key,
        name=name,
        version=_opt(node, "software_packageVersion", where),
        file_name=name if g.types[key] == "software_File" else None,
        # NOTE: the mapping reads sbomsign's facts from SPDX 2 comments; the same lines carry
        # them here.
        comment=format_comment_properties(_properties(node, where)),
        supplier=g.name(supplier, f"{where}.suppliedBy") if supplier is not None else "",
        license_declared=" AND ".join(licenses.get(key, [])),
        checksums=_checksums(node, where),
        external_refs=_external_refs(node, where),
    )


def _relationships(g: _Graph) -> Iterator[tuple[str, str, str, str]]:
    """(from, relationship type, to, place) of every relationship, one per target."""
    for _, where, node in g.of_type(_RELATIONSHIPS):
        source = _req(node, "from", where)
        kind = _req(node, "relationshipType", where)
        targets = _ids(node, "to", where)
        if not targets:
            raise _Invalid(where, "to is missing")
        for target in targets:
            yield source, kind, target, where


def _licenses(g: _Graph) -> dict[str, list[str]]:
    """Element id -> the expressions of its declared licences."""
    out: dict[str, list[str]] = {}
    for source, kind, target, where in _relationships(g):
        if kind != "hasDeclaredLicense" or target not in g.nodes:
            continue
        node = g.nodes[target][1]
        text = node.get("simplelicensing_licenseExpression") or node.get("name")
        # NOTE: NOASSERTION and NONE say no licence is known, as in SPDX 2.
        if text and _text(text, f"{where}.to").upper() not in ("NOASSERTION", "NONE"):
            out.setdefault(source, []).append(text)
    return out


def _described(g: _Graph) -> tuple[list[str], set[str]]:
    """(the described elements, merged-release roots to leave out) of the SBOM's roots."""
    roots = [r for _, w, n in g.of_type(frozenset({"software_Sbom"}))
             for r in _ids(n, "rootElement", w)]
    if not roots:
        for _, w, n in g.of_type(frozenset({"SpdxDocument"})):
            roots += _ids(n, "rootElement", w)
    described: list[str] = []
    releases: set[str] = set()
    for root in dict.fromkeys(roots):
        where, node = g.nodes.get(root, ("", {}))
        if (P_MERGED, "true") in _properties(node, where):
            releases.add(root)
            described += [t for s, kind, t, _ in _relationships(g)
                          if s == root and kind == "contains"]
        else:
            described.append(root)
    return [d for d in dict.fromkeys(described) if g.types.get(d) in _PACKAGES], releases


def _document(doc: dict[str, Any]) -> Document:
    g = _graph(doc)
    created, creators = _creation(g)
    described, releases = _described(g)
    licenses = _licenses(g)
    packages = [_package(g, k, w, n, licenses) for k, w, n in g.of_type(_PACKAGES)
                if k not in releases]
    relationships: list[SpdxRelationship] = [
        (_DOCUMENT, "DESCRIBES", (False, d)) for d in described]
    related: set[str] = set()
    for source, kind, target, _ in _relationships(g):
        if source in releases or target in releases:
            continue
        related.update((source, target))
        target_ref: Related = (False, target)
        relationships.append((source, _TYPES.get(kind, "OTHER"), target_ref))
    record = SpdxDocumentRecord(packages, relationships, creators)
    return Document(record, created, related)


# --- NTIA minimum elements ---------------------------------------------------------------------


def ntia(document: Document) -> list[str]:
    """NTIA minimum-element problems of a read document (see `sbom.ntia_problems`).

    A described file's version is its content: SPDX 3 gives files no version, and the hash
    in `verifiedUsing` names exactly one.
    """
    record = document.record
    problems = []
    if not any(kind in ("PERSON", "ORGANIZATION") for kind, _ in record.creators):
        problems.append("no author of the SBOM data (a Person or Organization in createdBy)")
    if not document.created:
        problems.append("no timestamp (created)")
    described = set(spdx_described(record)) if record.packages else set()
    if not described:
        problems.append("the SBOM's rootElement is no package or file")
    for p in record.packages:
        label = f"package {p.name!r}"
        if p.spdx_id in described:
            problems += _described_problems(p, f"described {label}")
        elif len(record.packages) > 1 and p.spdx_id not in document.related:
            problems.append(f"{label}: in no relationship")
    return problems


def _described_problems(p: SpdxPackageRecord, label: str) -> list[str]:
    problems = []
    if not p.supplier:
        problems.append(f"{label}: no supplier (suppliedBy)")
    if not p.version and not (p.file_name is not None and p.checksums):
        problems.append(f"{label}: no version")
    if not p.external_refs and not p.checksums:
        problems.append(f"{label}: no unique identifier (purl, CPE or hash)")
    return problems
