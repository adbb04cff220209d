"""SPDX 2 JSON to an `Inventory` from what the standard `json` module decoded.

The SPDX half of the fast readers; see `sbomsign._internal.sbom.cyclonedx.fastjson` for why
they exist and what they promise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

from sbomsign._internal.sbom.jsonshape import (
    Unsupported,
    _choice,
    _Invalid,
    _items,
    _obj,
    _opt,
    _req,
    _show,
    _text,
)
from sbomsign._internal.sbom.mapping import (
    Related,
    SpdxDocumentRecord,
    SpdxPackageRecord,
    SpdxRelationship,
    spdx_inventory,
)
from sbomsign._internal.spdx_ids import is_license_key
from sbomsign.errors import SbomError
from sbomsign.models import Inventory

__all__ = ["read_spdx"]


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


def _check_package_fields(p: dict[str, Any], path: str) -> None:
    """Refuse what spdx-tools refuses in the package members the inventory does not keep."""
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
    _check_package_licensing(p, path)
    if _present(p, "originator"):
        _supplier(p["originator"], f"{path}.originator")
    if _present(p, "packageVerificationCode"):
        where = f"{path}.packageVerificationCode"
        code = _obj(p["packageVerificationCode"], where)
        _req(code, "packageVerificationCodeValue", where)
        _strings(code, "packageVerificationCodeExcludedFiles", where)
    if _present(p, "primaryPackagePurpose"):
        _enum_name(p["primaryPackagePurpose"], _PURPOSES, f"{path}.primaryPackagePurpose")


def _check_package_licensing(p: dict[str, Any], path: str) -> None:
    for key in ("licenseConcluded",):
        if _present(p, key):
            _license(p[key], f"{path}.{key}")
    if _present(p, "licenseInfoFromFiles"):
        for where, lic in _items(p, "licenseInfoFromFiles", path):
            _license_item(lic, where)


def _external_refs(p: dict[str, Any], path: str) -> list[tuple[str, str, str]]:
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
    return refs


def _package(value: Any, path: str) -> SpdxPackageRecord:
    p = _obj(value, path)
    if _present(p, "annotations"):
        raise Unsupported(f"{path}.annotations")
    _check_package_fields(p, path)
    refs = _external_refs(p, path)
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
            _LICENSE_ID.fullmatch(w) and is_license_key(w) for w in words[0::2]):
        return text
    return _parsed_license(text, path)


def _license_item(value: Any, path: str) -> None:
    # NOTE: spdx-tools parses every item of a license list, and an empty one parses to
    # nothing, which its model then refuses (or not: it type-checks one random item).
    if not _license(value, path) and value.upper() not in ("NOASSERTION", "NONE"):
        raise _Invalid(path, "is an empty license expression")


@cache
def _licensing() -> Any:
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


def _parsed_license(text: str, path: str) -> str:
    from license_expression import ExpressionError

    try:
        parsed = _licensing().parse(text)
    except ExpressionError as e:
        raise _Invalid(path, f"{_show(text)} is not a license expression: {e}") from e
    return "" if parsed is None else str(parsed)
