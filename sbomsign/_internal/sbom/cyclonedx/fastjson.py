"""CycloneDX JSON to an `Inventory` from what the standard `json` module decoded (SPDX JSON:
`spdx2/fastjson.py`).

`sbomsign verify` reads the SBOM predicates of attestations in a fresh process, where importing
cyclonedx-python-lib and spdx-tools (and, through them, beartype, lxml and license-expression)
costs more than the rest of the check. These readers take a document `json` has already
decoded and give exactly the `Inventory` that the library readers give (`cyclonedx.load` then
`cyclonedx.to_inventory`, `spdx.load` then `spdx.to_inventory`). They import no SBOM library:
only packageurl-python (small, and the very parser cyclonedx-python-lib uses, so purls come out
and are refused the same) and, for an SPDX license expression that is not plain SPDX keys,
license-expression (which spdx-tools parses with).

- they refuse what the libraries refuse, with a one-line `SbomError` naming the document and
  the place in it, and also what the schemas forbid but the libraries let through (a missing
  `specVersion` or component `type`, an unknown spec version, a value of the wrong JSON type);
- they repeat what the libraries do to a document on the way in wherever it shows in the
  inventory. CycloneDX collections become sorted sets (properties, hashes, licenses,
  components, dependencies, evidence), whose order and de-duplication decide which value
  wins and in which order edges are listed; purls are normalised by packageurl-python. SPDX
  enum names are upper-cased, `documentDescribes` and `hasFiles` become relationships, and
  license expressions are normalised as license-expression does;
- a document using something they do not model (a CycloneDX key outside the handled ones,
  SPDX snippets or annotations, two components the libraries could only order by chance, ...)
  raises `Unsupported`, and the caller reads it with the libraries instead: slower, never
  different.

These readers only parse: they build the plain records of `mapping`, and `mapping` builds the
inventory from them, for the library readers too (which copy the records out of the libraries'
objects). The differential tests in `tests/unit/internal/sbom/test_fastjson.py` hold the
parsing halves together.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

from sbomsign._internal.sbom.jsonshape import (
    Unsupported,
    _arr,
    _at,
    _choice,
    _count,
    _Invalid,
    _items,
    _number,
    _obj,
    _only,
    _opt,
    _req,
    _show,
    _Sortable,
    _sorted_set,
    _text,
)
from sbomsign._internal.sbom.mapping import (
    CdxBomRecord,
    CdxComponentRecord,
    cdx_evidence,
    cdx_inventory,
)
from sbomsign.errors import SbomError
from sbomsign.models import Evidence, Inventory

__all__ = ["read_cyclonedx"]


# --- CycloneDX -----------------------------------------------------------------------------------

#: JSON spec versions of CycloneDX; older ones had no JSON form.
_CDX_SPECS = frozenset({"1.2", "1.3", "1.4", "1.5", "1.6", "1.7"})

# The enums of cyclonedx-python-lib 11 (the tests compare them with the library's).
_COMPONENT_TYPES = frozenset({
    "application", "container", "cryptographic-asset", "data", "device", "device-driver",
    "file", "firmware", "framework", "library", "machine-learning-model", "operating-system",
    "platform",
})
_SCOPES = frozenset({"required", "optional", "excluded"})
_HASH_ALGS = frozenset({
    "MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512", "SHA3-256", "SHA3-384", "SHA3-512",
    "BLAKE2b-256", "BLAKE2b-384", "BLAKE2b-512", "BLAKE3", "Streebog-256", "Streebog-512",
})
_TECHNIQUES = frozenset({
    "source-code-analysis", "binary-analysis", "manifest-analysis", "ast-fingerprint",
    "hash-comparison", "instrumentation", "dynamic-analysis", "filename", "attestation",
    "other",
})
_IDENTITY_FIELDS = frozenset({
    "group", "name", "version", "purl", "cpe", "omniborId", "swhid", "swid", "hash",
})
_PHASES = frozenset({
    "design", "pre-build", "build", "post-build", "operations", "discovery", "decommission",
})
_ACKNOWLEDGEMENTS = frozenset({"declared", "concluded"})

# Members each object may have for these readers; anything else goes to the libraries.
_BOM_KEYS = frozenset({
    "$schema", "bomFormat", "specVersion", "serialNumber", "version", "metadata", "components",
    "dependencies", "properties",
    # NOTE: cyclonedx-python-lib has no model for compositions and skips them; so do we.
    "compositions",
})
_METADATA_KEYS = frozenset({
    "timestamp", "tools", "authors", "component", "supplier", "lifecycles", "properties",
})
_COMPONENT_KEYS = frozenset({
    "type", "name", "version", "bom-ref", "group", "description", "author", "publisher",
    "copyright", "purl", "cpe", "supplier", "scope", "hashes", "licenses", "properties",
    "evidence", "pedigree", "components",
})
_ENTITY_KEYS = frozenset({"name", "url", "contact", "bom-ref"})
_CONTACT_KEYS = frozenset({"name", "email", "phone", "bom-ref"})
_EVIDENCE_KEYS = frozenset({"identity", "occurrences"})
_IDENTITY_KEYS = frozenset({"field", "confidence", "concludedValue", "methods"})
_METHOD_KEYS = frozenset({"technique", "confidence", "value"})
_OCCURRENCE_KEYS = frozenset({
    "bom-ref", "location", "line", "offset", "symbol", "additionalContext",
})
_LICENSE_KEYS = frozenset({"id", "name", "acknowledgement", "bom-ref", "url"})
_EXPRESSION_KEYS = frozenset({"expression", "acknowledgement", "bom-ref"})
_TOOL_KEYS = frozenset({"vendor", "name", "version", "hashes"})

_UNSAFE_URI = re.compile(r"%(?![0-9A-F]{2})|#.*#", re.IGNORECASE)


def _uri(value: Any, path: str) -> str:
    """A URI as cyclonedx-python-lib keeps it (it refuses stray `%` and a second `#`, and
    escapes the characters an xs:anyURI cannot hold)."""
    text = _text(value, path)
    if _UNSAFE_URI.search(text):
        raise _Invalid(path, f"{_show(text)} is not a valid URI")
    for char, escaped in ((" ", "%20"), ('"', "%22"), ("'", "%27"), ("[", "%5B"),
                          ("]", "%5D"), ("<", "%3C"), (">", "%3E"), ("{", "%7B"), ("}", "%7D")):
        text = text.replace(char, escaped)
    return text


def _timestamp(value: Any, path: str) -> None:
    """Refuse a date-time cyclonedx-python-lib cannot parse (it uses `fromisoformat`)."""
    text = _text(value, path)
    # NOTE: the library drops a leading '-', reads 'Z' as +00:00 and rounds fractions to
    # microseconds first; the same input must fail or pass here.
    text = text.removeprefix("-")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = re.sub(r"\.\d+", lambda m: f"{float(m.group(0)):.6f}"[1:], text)
    try:
        datetime.fromisoformat(text)
    except ValueError as e:
        raise _Invalid(path, f"{_show(value)} is not an ISO 8601 date-time") from e


def read_cyclonedx(doc: dict[str, Any], name: str) -> Inventory:
    """The inventory a decoded CycloneDX JSON document describes (see the module docstring).

    Raises:
        SbomError: the document is malformed; one line naming `name` and the place.
        Unsupported: the document uses something only the library reader handles.
    """
    try:
        bom = _cdx_bom(doc)
    except _Invalid as e:
        raise SbomError(f"{name}: invalid CycloneDX JSON: {e}") from None
    return cdx_inventory(bom, name)


def _cdx_bom(doc: dict[str, Any]) -> CdxBomRecord:
    _only(doc, _BOM_KEYS, "")
    if doc.get("bomFormat") != "CycloneDX":
        raise _Invalid("bomFormat", "must be 'CycloneDX'")
    if "specVersion" not in doc:
        raise _Invalid("", "specVersion is missing")
    _choice(doc["specVersion"], _CDX_SPECS, "specVersion")
    if "serialNumber" in doc:
        serial = _text(doc["serialNumber"], "serialNumber")
        try:
            UUID(serial)
        except ValueError as e:
            raise _Invalid("serialNumber", f"{_show(serial)} is not a UUID") from e
    if "version" in doc:
        _count(doc["version"], "version")
    _properties(doc, "")
    meta = _obj(doc.get("metadata", {}), "metadata")
    _only(meta, _METADATA_KEYS, "metadata")
    if "timestamp" in meta:
        _timestamp(meta["timestamp"], "metadata.timestamp")
    for path, contact in _items(meta, "authors", "metadata"):
        _contact(contact, path)
    if "supplier" in meta:
        _entity(meta["supplier"], "metadata.supplier")
    for path, lifecycle in _items(meta, "lifecycles", "metadata"):
        lifecycle = _obj(lifecycle, path)
        if "phase" in lifecycle:
            _only(lifecycle, frozenset({"phase"}), path)
            _choice(lifecycle["phase"], _PHASES, f"{path}.phase")
        elif "name" in lifecycle:
            _only(lifecycle, frozenset({"name", "description"}), path)
            _req(lifecycle, "name", path)
            _opt(lifecycle, "description", path)
        else:
            raise _Invalid(path, "has neither phase nor name")
    _properties(meta, "metadata")
    component = None
    if "component" in meta:
        _, component = _component(meta["component"], "metadata.component")
    return CdxBomRecord(
        component=component,
        components=_components(doc, ""),
        graph=_graph(doc),
        tools=_tools(meta["tools"], "metadata.tools") if "tools" in meta else [],
    )


def _tools(value: Any, path: str) -> list[tuple[str, str | None]]:
    """(name, version) of the tool components (1.5+ form); the legacy list of tools names no
    component."""
    if isinstance(value, list):
        for i, tool in enumerate(value):
            where = f"{path}[{i}]"
            tool = _obj(tool, where)
            _only(tool, _TOOL_KEYS, where)
            for key in ("vendor", "name", "version"):
                _opt(tool, key, where)
            _hashes(tool, where)
        return []
    tools = _obj(value, path)
    _only(tools, frozenset({"components", "services"}), path)
    if tools.get("services"):
        raise Unsupported(f"{path}.services")
    return [(t.name, t.version) for t in _components(tools, path)]


def _components(d: dict[str, Any], path: str, key: str = "components"
                ) -> list[CdxComponentRecord]:
    """The components of `d` (its `key` member), in the order of the library's sorted set."""
    found = [_component(c, where) for where, c in _items(d, key, path)]
    ordered = sorted(found, key=lambda pair: pair[0])
    for (a, _), (b, _) in zip(ordered, ordered[1:], strict=False):
        if a == b:
            # NOTE: the library would compare every other field (and drop exact duplicates);
            # the order decides which of the two a bom-ref names, so leave it to the library.
            raise Unsupported(f"{_at(path, key)}: two components with the same "
                              f"type, group, name, version, bom-ref and purl")
    return [record for _, record in ordered]


def _component(value: Any, path: str) -> tuple[_Sortable, CdxComponentRecord]:
    """A component, and the key the library sorts it by."""
    c = _obj(value, path)
    _only(c, _COMPONENT_KEYS, path)
    if "type" not in c:
        raise _Invalid(path, "type is missing")
    kind = _choice(c["type"], _COMPONENT_TYPES, f"{path}.type")
    name = _req(c, "name", path)
    version = _opt(c, "version", path)
    group = _opt(c, "group", path)
    for key in ("description", "author", "publisher", "copyright"):
        _opt(c, key, path)
    # NOTE: the library keeps an empty bom-ref as none at all.
    bom_ref = _opt(c, "bom-ref", path) or None
    if "scope" in c:
        _choice(c["scope"], _SCOPES, f"{path}.scope")
    purl, purl_key = _purl(c["purl"], f"{path}.purl") if "purl" in c else ("", None)
    supplier = _entity(c["supplier"], f"{path}.supplier") if "supplier" in c else ""
    if "pedigree" in c:
        pedigree = _obj(c["pedigree"], f"{path}.pedigree")
        _only(pedigree, frozenset({"notes", "ancestors"}), f"{path}.pedigree")
        _opt(pedigree, "notes", f"{path}.pedigree")
        # NOTE: ancestors are components the library reads as such; checked alike, not kept
        # (a replaced Go module's requirement is also in its properties).
        _components(pedigree, f"{path}.pedigree", "ancestors")
    licenses, license_names = _licenses(c, path)
    return _Sortable((kind, group, name, version, bom_ref, purl_key)), CdxComponentRecord(
        name=name,
        version=version,
        bom_ref=bom_ref,
        purl=purl,
        cpe=_opt(c, "cpe", path),
        supplier=supplier,
        licenses=licenses,
        license_names=license_names,
        properties=_properties(c, path),
        hashes=_hashes(c, path),
        evidence=_evidence(c["evidence"], f"{path}.evidence") if "evidence" in c else [],
        components=_components(c, path),
    )


def _purl(value: Any, path: str) -> tuple[str, _Sortable]:
    """The purl as the library writes it back, and the key it sorts components by."""
    from packageurl import PackageURL

    text = _text(value, path)
    try:
        p = PackageURL.from_string(text)
    except ValueError as e:
        raise _Invalid(path, f"{_show(text)} is not a purl: {e}") from e
    # NOTE: the library compares qualifiers as their sorted (key, value) pairs.
    key = _Sortable((p.type, p.namespace, p.name, p.version,
                     _Sortable(sorted(p.qualifiers.items())), p.subpath))
    return p.to_string(), key


def _entity(value: Any, path: str) -> str:
    """An organizational entity; its name ('' without one)."""
    entity = _obj(value, path)
    _only(entity, _ENTITY_KEYS, path)
    for where, url in _items(entity, "url", path):
        _uri(url, where)
    for where, contact in _items(entity, "contact", path):
        _contact(contact, where)
    _opt(entity, "bom-ref", path)
    return _opt(entity, "name", path) or ""


def _contact(value: Any, path: str) -> None:
    contact = _obj(value, path)
    _only(contact, _CONTACT_KEYS, path)
    for key in _CONTACT_KEYS:
        _opt(contact, key, path)


def _properties(d: dict[str, Any], path: str) -> list[tuple[str, str | None]]:
    """(name, value) pairs as the library's sorted set of properties holds them."""
    pairs = []
    for where, p in _items(d, "properties", path):
        p = _obj(p, where)
        pairs.append((_req(p, "name", where), _opt(p, "value", where)))
    return _sorted_set(pairs, lambda p: (p[0], p[1] is None, p[1] or ""), path)


def _hashes(d: dict[str, Any], path: str) -> list[tuple[str, str]]:
    pairs = []
    for where, h in _items(d, "hashes", path):
        h = _obj(h, where)
        # NOTE: the library refuses any other member in a hash (its only strict class).
        for key in h:
            if key not in ("alg", "content"):
                raise _Invalid(where, f"unexpected member {key!r}")
        if "alg" not in h:
            raise _Invalid(where, "alg is missing")
        pairs.append((_choice(h["alg"], _HASH_ALGS, f"{where}.alg"), _req(h, "content", where)))
    return _sorted_set(pairs, lambda p: p, path)


def _licenses(d: dict[str, Any], path: str) -> tuple[list[str], list[str]]:
    """License expressions and ids in the library's order (expressions first), and the
    licences given by a name alone."""
    expressions: list[_Sortable] = []
    licenses: list[_Sortable] = []
    for where, entry in _items(d, "licenses", path):
        entry = _obj(entry, where)
        if "license" in entry:
            licenses.append(_license(entry["license"], where + ".license"))
        elif "expression" in entry:
            _only(entry, _EXPRESSION_KEYS, where)
            ack = _choice(entry["acknowledgement"], _ACKNOWLEDGEMENTS,
                          f"{where}.acknowledgement") if "acknowledgement" in entry else None
            expressions.append(_Sortable((ack, _req(entry, "expression", where),
                                          _opt(entry, "bom-ref", where) or None, _Sortable())))
        else:
            raise _Invalid(where, "has neither license nor expression")
    ordered = _sorted_set(licenses, lambda e: e, path)
    out = [e[1] for e in _sorted_set(expressions, lambda e: e, path)]
    out += [lic[1] for lic in ordered]
    # NOTE: the reader skips an empty expression (or id) rather than keep an empty license.
    return [text for text in out if text], [lic[2] for lic in ordered if lic[2]]


def _license(value: Any, where: str) -> _Sortable:
    """One `license` object as the library sorts it: a name only where there is no id."""
    lic = _obj(value, where)
    _only(lic, _LICENSE_KEYS, where)
    lid, lname = _opt(lic, "id", where), _opt(lic, "name", where)
    if not lid and not lname:
        raise _Invalid(where, "has neither id nor name")
    ack = _choice(lic["acknowledgement"], _ACKNOWLEDGEMENTS, f"{where}.acknowledgement"
                  ) if "acknowledgement" in lic else None
    url = _uri(lic["url"], f"{where}.url") if "url" in lic else None
    # NOTE: the library drops the name when an id is given.
    return _Sortable((ack, lid, None if lid else lname, url, None,
                      _opt(lic, "bom-ref", where) or None, _Sortable()))


class _Ref:
    """An occurrence's bom-ref compared as the library's `BomRef`: a missing one equals no
    other (not even another missing one) and sorts as the empty string."""

    __slots__ = ("value",)

    def __init__(self, value: str | None) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, _Ref) and self.value is not None and self.value == other.value
        )

    def __lt__(self, other: _Ref) -> bool:
        return (self.value or "") < (other.value or "")

    def __hash__(self) -> int:
        return hash(self.value)


def _evidence(value: Any, path: str) -> list[Evidence]:
    """The model's evidence of a component, as `cyclonedx._evidence_back` makes it."""
    ev = _obj(value, path)
    _only(ev, _EVIDENCE_KEYS, path)
    # NOTE: CycloneDX 1.5 has one identity object, 1.6 an array of them.
    raw = ev.get("identity", [])
    identities = []
    for i, identity in enumerate([raw] if isinstance(raw, dict) else _arr(raw, f"{path}.identity")):
        where = f"{path}.identity[{i}]"
        identity = _obj(identity, where)
        _only(identity, _IDENTITY_KEYS, where)
        if "field" not in identity:
            raise _Invalid(where, "field is missing")
        methods = []
        for mwhere, m in _items(identity, "methods", where):
            m = _obj(m, mwhere)
            _only(m, _METHOD_KEYS, mwhere)
            if "technique" not in m or "confidence" not in m:
                raise _Invalid(mwhere, "technique and confidence are required")
            methods.append(_Sortable((
                _choice(m["technique"], _TECHNIQUES, f"{mwhere}.technique"),
                _number(m["confidence"], f"{mwhere}.confidence", lo=0, hi=1),
                _opt(m, "value", mwhere),
            )))
        identities.append(_Sortable((
            _choice(identity["field"], _IDENTITY_FIELDS, f"{where}.field"),
            _number(identity["confidence"], f"{where}.confidence", lo=0, hi=1)
            if "confidence" in identity else None,
            _opt(identity, "concludedValue", where),
            _Sortable(_sorted_set(methods, lambda m: m, where)),
            _Sortable(),
        )))
    occurrences = []
    for where, occ in _items(ev, "occurrences", path):
        occ = _obj(occ, where)
        _only(occ, _OCCURRENCE_KEYS, where)
        occurrences.append(_Sortable((
            _Ref(_opt(occ, "bom-ref", where) or None),
            _req(occ, "location", where),
            _count(occ["line"], f"{where}.line") if "line" in occ else None,
            _count(occ["offset"], f"{where}.offset") if "offset" in occ else None,
            _opt(occ, "symbol", where),
            _opt(occ, "additionalContext", where),
        )))
    if sum(1 for o in occurrences if o[0].value is None) > 1:
        # NOTE: the library can order occurrences without a bom-ref only by chance (they
        # compare neither less nor equal); whichever order it picks is its answer.
        raise Unsupported(f"{path}.occurrences: several without a bom-ref")
    # The identities in the library's order: the first method decides the technique.
    every = [(m[0], m[1], m[2]) for i in _sorted_set(identities, lambda i: i, path)
             for m in i[3]]
    return cdx_evidence(every, (
        (location, offset, context)
        for _, location, _, offset, _, context in _sorted_set(occurrences, lambda o: o, path)
    ))


def _graph(doc: dict[str, Any]) -> dict[str, list[str]]:
    """bom-ref -> the bom-refs it depends on, in the library's order."""
    entries = []
    for where, d in _items(doc, "dependencies", ""):
        d = _obj(d, where)
        _only(d, frozenset({"ref", "dependsOn"}), where)
        ref = _req(d, "ref", where)
        targets = [_text(t, w) for w, t in _items(d, "dependsOn", where)]
        if not ref or "" in targets:
            # NOTE: the library turns an empty ref into the text "None" and never merges two
            # of them; that is its business.
            raise Unsupported(f"{where}: an empty ref")
        entries.append(_Sortable((ref, _Sortable(sorted(set(targets))))))
    graph: dict[str, list[str]] = {}
    for ref, targets in _sorted_set(entries, lambda e: e, "dependencies"):
        graph.setdefault(ref, []).extend(targets)
    return graph
