"""CycloneDX JSON and SPDX JSON to an `Inventory` from what the standard `json` module decoded.

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
objects). The differential tests in `tests/unit/internal/writers/test_fastjson.py` hold the
parsing halves together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from itertools import zip_longest
from typing import Any
from uuid import UUID

from sbomsign._internal.writers.mapping import (
    CdxBomRecord,
    CdxComponentRecord,
    Related,
    SpdxDocumentRecord,
    SpdxPackageRecord,
    SpdxRelationship,
    cdx_evidence,
    cdx_inventory,
    spdx_inventory,
)
from sbomsign.errors import SbomError
from sbomsign.models import Evidence, Inventory

__all__ = ["Unsupported", "read_cyclonedx", "read_spdx"]


class Unsupported(Exception):
    """The document uses something these readers do not model; read it with the libraries."""


class _Invalid(Exception):
    """A problem at one place of the document; becomes a one-line `SbomError`."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)


# --- JSON shape checks ---------------------------------------------------------------------------


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(path, f"must be an object, not {_kind(value)}")
    return value


def _arr(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Invalid(path, f"must be an array, not {_kind(value)}")
    return value


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(path, f"must be a string, not {_kind(value)}")
    return value


def _at(path: str, key: str) -> str:
    """The path of a member, for messages: `components[3].name`."""
    return f"{path}.{key}" if path else key


def _opt(d: dict[str, Any], key: str, path: str) -> str | None:
    """An optional string member: None when absent."""
    return _text(d[key], _at(path, key)) if key in d else None


def _req(d: dict[str, Any], key: str, path: str) -> str:
    if key not in d:
        raise _Invalid(path, f"{key} is missing")
    return _text(d[key], _at(path, key))


def _items(d: dict[str, Any], key: str, path: str) -> list[tuple[str, Any]]:
    """(path, item) of an optional array member."""
    if key not in d:
        return []
    where = _at(path, key)
    return [(f"{where}[{i}]", v) for i, v in enumerate(_arr(d[key], where))]


def _only(d: dict[str, Any], handled: frozenset[str], path: str) -> None:
    """Hand the document to the libraries if `d` has a member these readers do not check.

    The libraries read (and may refuse) members these readers would otherwise skip, and
    cyclonedx-python-lib also takes unexpected spellings (`bomRef`, `serial_number`) for known
    members: only what is checked here can be known to be read the same.
    """
    for key in d:
        if key not in handled:
            raise Unsupported(_at(path, key))


def _number(value: Any, path: str, *, lo: float, hi: float) -> float:
    # NOTE: a JSON `true` is a Python int; the libraries would choke on it or keep it as 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(path, f"must be a number, not {_kind(value)}")
    if not lo <= value <= hi:  # also refuses NaN, which Python's json accepts
        raise _Invalid(path, f"{_show(value)} is not between {lo:g} and {hi:g}")
    return float(value)


def _count(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(path, f"must be an integer, not {_kind(value)}")
    if value < 0:
        raise _Invalid(path, f"{value} is negative")
    return value


def _choice(value: Any, choices: frozenset[str], path: str) -> str:
    text = _text(value, path)
    if text not in choices:
        raise _Invalid(path, f"{_show(text)} is not one of {', '.join(sorted(choices))}")
    return text


class _Sortable(tuple[Any, ...]):
    """A tuple ordered as cyclonedx-python-lib orders the members of its sorted sets.

    The library keeps components, properties, hashes, licenses, dependencies and evidence in
    `SortedSet`s keyed by tuples of their fields, where a missing (None) field sorts after any
    value and a tuple that runs out first sorts after the longer one. The reader then takes
    "the first" or "the last" of a set, so the order decides values, not only presentation.
    """

    __slots__ = ()

    def __lt__(self, other: tuple[Any, ...]) -> bool:
        for mine, theirs in zip_longest(self, other):
            if mine == theirs:
                continue
            if mine is None:
                return False
            if theirs is None:
                return True
            return bool(mine < theirs)
        return False


def _sorted_set(items: Iterable[Any], key: Any, path: str) -> list[Any]:
    """`items` as the library's sorted set holds them: sorted by `key`, equal keys once.

    `key(item)` must cover every field the library compares, so equal keys mean equal items.
    """
    out: list[Any] = []
    for item in sorted(items, key=key):
        if out and key(out[-1]) == key(item):
            continue
        out.append(item)
    return out


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


def _components(d: dict[str, Any], path: str) -> list[CdxComponentRecord]:
    """The components of `d`, in the order of the library's sorted set."""
    found = [_component(c, where) for where, c in _items(d, "components", path)]
    ordered = sorted(found, key=lambda pair: pair[0])
    for (a, _), (b, _) in zip(ordered, ordered[1:], strict=False):
        if a == b:
            # NOTE: the library would compare every other field (and drop exact duplicates);
            # the order decides which of the two a bom-ref names, so leave it to the library.
            raise Unsupported(f"{_at(path, 'components')}: two components with the same "
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
        _only(pedigree, frozenset({"notes"}), f"{path}.pedigree")
        _opt(pedigree, "notes", f"{path}.pedigree")
    return _Sortable((kind, group, name, version, bom_ref, purl_key)), CdxComponentRecord(
        name=name,
        version=version,
        bom_ref=bom_ref,
        purl=purl,
        cpe=_opt(c, "cpe", path),
        supplier=supplier,
        licenses=_licenses(c, path),
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


def _licenses(d: dict[str, Any], path: str) -> list[str]:
    """License ids, names and expressions in the library's order: expressions first."""
    expressions: list[_Sortable] = []
    licenses: list[_Sortable] = []
    for where, entry in _items(d, "licenses", path):
        entry = _obj(entry, where)
        if "license" in entry:
            where += ".license"
            lic = _obj(entry["license"], where)
            _only(lic, _LICENSE_KEYS, where)
            lid, lname = _opt(lic, "id", where), _opt(lic, "name", where)
            if not lid and not lname:
                raise _Invalid(where, "has neither id nor name")
            ack = _choice(lic["acknowledgement"], _ACKNOWLEDGEMENTS, f"{where}.acknowledgement"
                          ) if "acknowledgement" in lic else None
            url = _uri(lic["url"], f"{where}.url") if "url" in lic else None
            # NOTE: the library drops the name when an id is given.
            licenses.append(_Sortable((ack, lid, None if lid else lname, url, None,
                                       _opt(lic, "bom-ref", where) or None, _Sortable())))
        elif "expression" in entry:
            _only(entry, _EXPRESSION_KEYS, where)
            ack = _choice(entry["acknowledgement"], _ACKNOWLEDGEMENTS,
                          f"{where}.acknowledgement") if "acknowledgement" in entry else None
            expressions.append(_Sortable((ack, _req(entry, "expression", where),
                                          _opt(entry, "bom-ref", where) or None, _Sortable())))
        else:
            raise _Invalid(where, "has neither license nor expression")
    out = [e[1] for e in _sorted_set(expressions, lambda e: e, path)]
    out += [lic[1] or lic[2] for lic in _sorted_set(licenses, lambda e: e, path)]
    # NOTE: the reader skips an empty expression (or id) rather than keep an empty license.
    return [text for text in out if text]


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


# --- SPDX ----------------------------------------------------------------------------------------

#: SPDX versions with a JSON form that spdx-tools reads.
_SPDX_VERSIONS = frozenset({"SPDX-2.1", "SPDX-2.2", "SPDX-2.3"})

# spdx-tools' enums, by member name (the tests compare them with the library's).
_RELATIONSHIP_TYPES = frozenset({
    "AMENDS", "ANCESTOR_OF", "BUILD_DEPENDENCY_OF", "BUILD_TOOL_OF", "CONTAINED_BY", "CONTAINS",
    "COPY_OF", "DATA_FILE_OF", "DEPENDENCY_MANIFEST_OF", "DEPENDENCY_OF", "DEPENDS_ON",
    "DESCENDANT_OF", "DESCRIBED_BY", "DESCRIBES", "DEV_DEPENDENCY_OF", "DEV_TOOL_OF",
    "DISTRIBUTION_ARTIFACT", "DOCUMENTATION_OF", "DYNAMIC_LINK", "EXAMPLE_OF",
    "EXPANDED_FROM_ARCHIVE", "FILE_ADDED", "FILE_DELETED", "FILE_MODIFIED", "GENERATED_FROM",
    "GENERATES", "HAS_PREREQUISITE", "METAFILE_OF", "OPTIONAL_COMPONENT_OF",
    "OPTIONAL_DEPENDENCY_OF", "OTHER", "PACKAGE_OF", "PATCH_APPLIED", "PATCH_FOR",
    "PREREQUISITE_FOR", "PROVIDED_DEPENDENCY_OF", "REQUIREMENT_DESCRIPTION_FOR",
    "RUNTIME_DEPENDENCY_OF", "SPECIFICATION_FOR", "STATIC_LINK", "TEST_CASE_OF",
    "TEST_DEPENDENCY_OF", "TEST_OF", "TEST_TOOL_OF", "VARIANT_OF",
})
_CHECKSUM_ALGORITHMS = frozenset({
    "SHA1", "SHA224", "SHA256", "SHA384", "SHA512", "SHA3_256", "SHA3_384", "SHA3_512",
    "BLAKE2B_256", "BLAKE2B_384", "BLAKE2B_512", "BLAKE3", "MD2", "MD4", "MD5", "MD6", "ADLER32",
})
_REF_CATEGORIES = frozenset({"SECURITY", "PACKAGE_MANAGER", "PERSISTENT_ID", "OTHER"})
_PURPOSES = frozenset({
    "APPLICATION", "FRAMEWORK", "LIBRARY", "CONTAINER", "OPERATING_SYSTEM", "DEVICE", "FIRMWARE",
    "SOURCE", "ARCHIVE", "FILE", "INSTALL", "OTHER",
})
_FILE_TYPES = frozenset({
    "SOURCE", "BINARY", "ARCHIVE", "APPLICATION", "AUDIO", "IMAGE", "TEXT", "VIDEO",
    "DOCUMENTATION", "SPDX", "OTHER",
})

# Actor syntax as spdx-tools parses it: `Tool: name`, `Person|Organization: name [(email)]`.
_TOOL_ACTOR = re.compile(r"^Tool:\s*(.+)")
_PERSON_ACTOR = re.compile(r"^Person:\s*(?:(.*)\((.*)\)|(.*))$")
_ORG_ACTOR = re.compile(r"^Organization:\s*(?:(.*)\((.*)\)|(.*))$")
_LICENSE_LIST_VERSION = re.compile(r"^(\d+)\.(\d+)$")
_LICENSE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*")


def read_spdx(doc: dict[str, Any], name: str) -> Inventory:
    """The inventory a decoded SPDX 2.x JSON document describes (see the module docstring).

    Raises:
        SbomError: the document is malformed; one line naming `name` and the place.
        Unsupported: the document uses something only the library reader handles.
    """
    try:
        document = _spdx_document(doc)
    except _Invalid as e:
        raise SbomError(f"{name}: invalid SPDX: {e}") from None
    return spdx_inventory(document)


def _enum_name(value: Any, choices: frozenset[str], path: str) -> str:
    """An enum member name as spdx-tools finds it: `-` read as `_`, any case."""
    text = _text(value, path).replace("-", "_").upper()
    if text not in choices:
        raise _Invalid(path, f"{_show(value)} is not a known value")
    return text


def _spdx_date(value: Any, path: str) -> None:
    try:
        datetime.strptime(_text(value, path), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError as e:
        raise _Invalid(path, f"{_show(value)} is not a date-time like 2024-01-31T12:00:00Z") from e


def _actor(value: Any, path: str) -> tuple[str, str]:
    """(TOOL|PERSON|ORGANIZATION, name) of an actor."""
    text = _text(value, path)
    if m := _TOOL_ACTOR.match(text):
        if not m.group(1).strip():
            raise _Invalid(path, f"{_show(text)}: no tool name")
        return "TOOL", m.group(1).strip()
    for kind, pattern in (("PERSON", _PERSON_ACTOR), ("ORGANIZATION", _ORG_ACTOR)):
        if m := pattern.match(text):
            if m.group(3):
                return kind, m.group(3).strip()
            if not m.group(1):
                raise _Invalid(path, f"{_show(text)}: no name")
            return kind, m.group(1).strip()
    raise _Invalid(path, f"{_show(text)} is not 'Tool: ...', 'Person: ...' or 'Organization: ...'")


def _supplier(value: Any, path: str) -> str:
    """A supplier or originator's name ('' for NOASSERTION)."""
    return "" if value == "NOASSERTION" else _actor(value, path)[1]


def _present(d: dict[str, Any], key: str) -> bool:
    # NOTE: spdx-tools skips most optional members whose value is false-ish ("" or []).
    value = d.get(key)
    return value is not None and value != "" and value != []


def _strings(d: dict[str, Any], key: str, path: str) -> None:
    for where, value in _items(d, key, path):
        _text(value, where)


def _checksums(d: dict[str, Any], path: str) -> list[tuple[str, str]]:
    out = []
    for where, c in _items(d, "checksums", path):
        c = _obj(c, where)
        out.append((_enum_name(c.get("algorithm", ""), _CHECKSUM_ALGORITHMS, f"{where}.algorithm"),
                    _req(c, "checksumValue", where)))
    return out


def _spdx_document(doc: dict[str, Any]) -> SpdxDocumentRecord:
    if "spdxVersion" not in doc:
        raise _Invalid("", "spdxVersion is missing")
    _choice(doc["spdxVersion"], _SPDX_VERSIONS, "spdxVersion")
    for key in ("SPDXID", "name", "documentNamespace", "dataLicense"):
        _req(doc, key, "")
    _opt(doc, "comment", "")
    for key in ("snippets", "hasExtractedLicensingInfos", "annotations", "revieweds",
                "externalDocumentRefs"):
        if _present(doc, key):
            raise Unsupported(key)
    if "creationInfo" not in doc:
        raise _Invalid("", "creationInfo is missing")
    info = _obj(doc["creationInfo"], "creationInfo")
    creators = [_actor(a, w) for w, a in _items(info, "creators", "creationInfo")]
    if not creators:
        raise _Invalid("creationInfo", "creators is missing")
    if "created" not in info:
        raise _Invalid("creationInfo", "created is missing")
    _spdx_date(info["created"], "creationInfo.created")
    _opt(info, "comment", "creationInfo")
    if _present(info, "licenseListVersion"):
        version = _text(info["licenseListVersion"], "creationInfo.licenseListVersion")
        if not _LICENSE_LIST_VERSION.match(version):
            raise _Invalid("creationInfo.licenseListVersion", f"{_show(version)} is not N.N")
    packages = [_package(p, w) for w, p in (_items(doc, "packages", "") if
                                             _present(doc, "packages") else [])]
    for where, f in _items(doc, "files", "") if _present(doc, "files") else []:
        _file(f, where)
    return SpdxDocumentRecord(packages, _relationships(doc), creators)


def _package(value: Any, path: str) -> SpdxPackageRecord:
    p = _obj(value, path)
    if _present(p, "annotations"):
        raise Unsupported(f"{path}.annotations")
    if "downloadLocation" not in p:
        raise _Invalid(path, "downloadLocation is missing")
    _text(p["downloadLocation"], f"{path}.downloadLocation")
    for key in ("comment", "copyrightText", "description", "homepage", "licenseComments",
                "packageFileName", "sourceInfo", "summary", "versionInfo"):
        _opt(p, key, path)
    for key in ("attributionTexts",):
        _strings(p, key, path)
    for key in ("builtDate", "releaseDate", "validUntilDate"):
        if _present(p, key):
            _spdx_date(p[key], f"{path}.{key}")
    analyzed = p.get("filesAnalyzed")
    if analyzed is not None and not isinstance(analyzed, bool) and not (
            isinstance(analyzed, str) and analyzed.lower() in ("true", "false")):
        raise _Invalid(f"{path}.filesAnalyzed", f"{_show(analyzed)} is not true or false")
    for key in ("licenseConcluded",):
        if _present(p, key):
            _license(p[key], f"{path}.{key}")
    if _present(p, "licenseInfoFromFiles"):
        for where, lic in _items(p, "licenseInfoFromFiles", path):
            _license_item(lic, where)
    if _present(p, "originator"):
        _supplier(p["originator"], f"{path}.originator")
    if _present(p, "packageVerificationCode"):
        where = f"{path}.packageVerificationCode"
        code = _obj(p["packageVerificationCode"], where)
        _req(code, "packageVerificationCodeValue", where)
        _strings(code, "packageVerificationCodeExcludedFiles", where)
    if _present(p, "primaryPackagePurpose"):
        _enum_name(p["primaryPackagePurpose"], _PURPOSES, f"{path}.primaryPackagePurpose")
    refs = []
    for where, ref in _items(p, "externalRefs", path) if _present(p, "externalRefs") else []:
        ref = _obj(ref, where)
        if not _present(ref, "referenceCategory"):
            raise _Invalid(where, "referenceCategory is missing")
        category = _enum_name(ref["referenceCategory"], _REF_CATEGORIES,
                              f"{where}.referenceCategory")
        _opt(ref, "comment", where)
        refs.append((category, _req(ref, "referenceType", where),
                     _req(ref, "referenceLocator", where)))
    return SpdxPackageRecord(
        spdx_id=_req(p, "SPDXID", path),
        name=_req(p, "name", path),
        version=_opt(p, "versionInfo", path),
        file_name=_opt(p, "packageFileName", path),
        comment=_opt(p, "comment", path),
        supplier=_supplier(p["supplier"], f"{path}.supplier") if _present(p, "supplier") else "",
        license_declared=_license(p["licenseDeclared"], f"{path}.licenseDeclared")
        if _present(p, "licenseDeclared") else "",
        checksums=_checksums(p, path) if _present(p, "checksums") else [],
        external_refs=refs,
    )


def _file(value: Any, path: str) -> None:
    f = _obj(value, path)
    if _present(f, "annotations"):
        raise Unsupported(f"{path}.annotations")
    _req(f, "fileName", path)
    _req(f, "SPDXID", path)
    if not _present(f, "checksums"):
        raise _Invalid(path, "checksums is missing")
    _checksums(f, path)
    for key in ("comment", "copyrightText", "licenseComments", "noticeText"):
        _opt(f, key, path)
    for key in ("attributionTexts", "fileContributors"):
        _strings(f, key, path)
    if _present(f, "fileTypes"):
        for where, t in _items(f, "fileTypes", path):
            # NOTE: spdx-tools looks file types up by exact member name, unlike other enums.
            if not isinstance(t, str) or t not in _FILE_TYPES:
                raise _Invalid(where, f"{_show(t)} is not a known file type")
    if _present(f, "licenseConcluded"):
        _license(f["licenseConcluded"], f"{path}.licenseConcluded")
    if _present(f, "licenseInfoInFiles"):
        for where, lic in _items(f, "licenseInfoInFiles", path):
            _license_item(lic, where)


def _related(value: Any, path: str) -> Related:
    text = _text(value, path)
    return (text in ("NOASSERTION", "NONE"), text)


def _relationships(doc: dict[str, Any]) -> list[SpdxRelationship]:
    """The relationships spdx-tools makes: the listed ones, then `documentDescribes`, then
    packages' `hasFiles`, each added only if not already there (either way round)."""
    out: list[SpdxRelationship] = []
    if _present(doc, "relationships"):
        for where, r in _items(doc, "relationships", ""):
            r = _obj(r, where)
            if not _present(r, "relationshipType"):
                raise _Invalid(where, "relationshipType is missing")
            kind = _enum_name(r["relationshipType"], _RELATIONSHIP_TYPES,
                              f"{where}.relationshipType")
            _opt(r, "comment", where)
            if "relatedSpdxElement" not in r:
                raise _Invalid(where, "relatedSpdxElement is missing")
            out.append((_req(r, "spdxElementId", where), kind,
                        _related(r["relatedSpdxElement"], f"{where}.relatedSpdxElement")))
    inverse = {"DESCRIBES": "DESCRIBED_BY", "CONTAINS": "CONTAINED_BY"}

    def add_new(found: list[SpdxRelationship],
                new: Iterable[tuple[str, str, str]]) -> list[SpdxRelationship]:
        existing = set(found)
        added = []
        for src, kind, tgt in new:
            r = (src, kind, (False, tgt))
            if r not in existing and (tgt, inverse[kind], (False, src)) not in existing:
                added.append(r)
        return added

    doc_id = doc["SPDXID"]
    described = [_text(d, w) for w, d in _items(doc, "documentDescribes", "")]
    out += add_new(out, ((doc_id, "DESCRIBES", d) for d in dict.fromkeys(described)))
    contains = []
    for where, p in _items(doc, "packages", "") if _present(doc, "packages") else []:
        files = [_text(f, w) for w, f in _items(p, "hasFiles", where)]
        contains += [(p["SPDXID"], "CONTAINS", f) for f in dict.fromkeys(files)]
    out += add_new(out, contains)
    return out


@cache
def _license_index() -> str:
    """The text of the license index license-expression builds spdx-tools' licensing from."""
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec("license_expression")
    if spec is None or not spec.submodule_search_locations:
        return ""
    index = Path(list(spec.submodule_search_locations)[0], "data", "scancode-licensedb-index.json")
    try:
        return index.read_text(encoding="utf-8")
    except OSError:
        return ""


@cache
def _is_license_key(token: str) -> bool:
    # NOTE: a plain substring test instead of decoding ~1 MB of JSON: the token is known to
    # hold no quote or backslash, and a key is written `"spdx_license_key": "<key>"`.
    return f'"spdx_license_key": "{token}"' in _license_index()


def _license(value: Any, path: str) -> str:
    """A license expression as spdx-tools gives it back ('' for NOASSERTION and NONE).

    license-expression rewrites what it parses (case, aliases such as `GPL-2.0+`, spacing,
    parentheses). Canonical SPDX keys joined by one kind of operator come back unchanged, and
    that is checked without it; anything else is parsed by license-expression itself (imported
    only then).
    """
    text = _text(value, path)
    if not text or text.upper() in ("NOASSERTION", "NONE"):
        return ""
    words = text.split(" ")
    operators = set(words[1::2])
    if len(words) % 2 and (operators <= {"AND"} or operators <= {"OR"}) and all(
            _LICENSE_ID.fullmatch(w) and _is_license_key(w) for w in words[0::2]):
        return text
    return _parsed_license(text, path)


def _license_item(value: Any, path: str) -> None:
    # NOTE: spdx-tools parses every item of a license list, and an empty one parses to
    # nothing, which its model then refuses (or not: it type-checks one random item).
    if not _license(value, path) and value.upper() not in ("NOASSERTION", "NONE"):
        raise _Invalid(path, "is an empty license expression")


@cache
def _licensing() -> Any:
    from license_expression import get_spdx_licensing  # type: ignore[import-untyped]

    return get_spdx_licensing()


def _parsed_license(text: str, path: str) -> str:
    from license_expression import ExpressionError

    try:
        parsed = _licensing().parse(text)
    except ExpressionError as e:
        raise _Invalid(path, f"{_show(text)} is not a license expression: {e}") from e
    return "" if parsed is None else str(parsed)
