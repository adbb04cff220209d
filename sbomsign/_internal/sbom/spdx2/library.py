"""SPDX 2.3 (JSON and tag-value) through spdx-tools: `Subject` <-> `Document`.

The artifact is a file-level package (SHA-1/256/512, `primaryPackagePurpose`) the document
DESCRIBES; every component is a package with `filesAnalyzed: false`. SPDX packages have no
properties, so sbomsign's facts travel as `name=value` lines of the package `comment`
(the same names as the CycloneDX properties) and come back from there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from sbomsign._internal import jsontext
from sbomsign._internal.sbom import telco
from sbomsign._internal.sbom.common import (
    MADE_BY,
    P_TELCO_CHECKSUM_OF,
    P_TELCO_STATED_VERSION,
    SPDX_NAMESPACE_BASE,
    SPDX_VERSION,
    Options,
    Subject,
    artifact_purl,
    artifact_ref,
    artifact_version,
    dependency_edges,
    document_uuid,
    format_comment_properties,
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
from sbomsign._internal.sbom.mapping import (
    Related,
    SpdxDocumentRecord,
    SpdxPackageRecord,
    spdx_described,
    spdx_inventory,
)
from sbomsign._internal.sbom.properties import artifact_properties, component_properties
from sbomsign.errors import SbomError
from sbomsign.models import Artifact, Component, ComponentKind, Container, Digests, Inventory

_PREFIX = {
    ComponentKind.GO_MAIN_MODULE: "GoMain",
    ComponentKind.GO_MODULE: "GoModule",
    ComponentKind.GO_STDLIB: "GoStdlib",
    ComponentKind.RUST_CRATE: "Crate",
    ComponentKind.PACKAGE: "Package",
    ComponentKind.SHARED_LIBRARY: "SharedLib",
    ComponentKind.OS_PACKAGE: "OsPackage",
}
_PURPOSE = {"image": "CONTAINER", "archive": "ARCHIVE", "package": "INSTALL"}

# Edge kinds of `dependency_edges`/`linked_refs` -> SPDX relationship, and whether the SPDX
# relationship points the other way (`BUILD_DEPENDENCY_OF` names the dependency first).
_RELATIONSHIPS = {
    "depends": ("DEPENDS_ON", False),
    "static": ("STATIC_LINK", False),
    "dynamic": ("DYNAMIC_LINK", False),
    "build": ("BUILD_DEPENDENCY_OF", True),
    "contains": ("CONTAINS", False),
}


# --- writing -----------------------------------------------------------------------------------


def write(subject: Subject, options: Options, *, tag_value: bool) -> bytes:
    """Serialise a subject as SPDX 2.3 JSON or tag-value, validated by spdx-tools first.

    Raises:
        SbomError: the spec version is not 2.3, or the document does not validate (a bug).
    """
    import io

    from sbomsign._internal.sbom.spdx2.validate import messages as validation_messages

    if options.spec_version not in ("", SPDX_VERSION, f"SPDX-{SPDX_VERSION}"):
        raise SbomError(f"SPDX spec version {options.spec_version!r} is not supported (2.3)")
    document = _document(subject, options)
    messages = validation_messages(document, f"SPDX-{SPDX_VERSION}")
    if messages:
        raise SbomError(f"cannot write SPDX: {messages[0].validation_message}")
    out = io.StringIO()
    if tag_value:
        from spdx_tools.spdx.writer.tagvalue.tagvalue_writer import write_document_to_stream

        write_document_to_stream(document, out, validate=False, drop_duplicates=False)
        return out.getvalue().encode("utf-8")
    from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream as write_json

    write_json(document, out, validate=False, drop_duplicates=False)
    doc = json.loads(out.getvalue())
    # NOTE: spdx-tools writes the category as PACKAGE_MANAGER, which the 2.3 schema allows but
    # many consumers (and the spec's own examples) know only as PACKAGE-MANAGER.
    for package in doc.get("packages", []):
        for ref in package.get("externalRefs", []):
            ref["referenceCategory"] = ref["referenceCategory"].replace("_", "-")
    return (jsontext.dumps(doc) + "\n").encode()


def _actor(text: str) -> Any:
    from spdx_tools.spdx.model.actor import Actor, ActorType

    kind, name, email = parse_actor(text)
    actor_type = ActorType.PERSON if kind == "person" else ActorType.ORGANIZATION
    return Actor(actor_type, name, email or None)


#: The document's CreatorComment: how the SBOM was made (the OpenChain Telco guide requires
#: one; CISA's 2025 baseline asks for the generation context, post-build here as in the
#: CycloneDX documents' `lifecycles`).
CREATOR_COMMENT = f"{MADE_BY} (post-build; CISA SBOM type: Analyzed)."


def _document(subject: Subject, options: Options) -> Any:
    from spdx_tools.spdx.model.actor import Actor, ActorType
    from spdx_tools.spdx.model.document import CreationInfo, Document
    from spdx_tools.spdx.model.relationship import Relationship, RelationshipType

    creators = [Actor(ActorType.TOOL, f"sbomsign-{options.tool_version or 'unknown'}")]
    if options.author:
        creators.append(_actor(options.author))
    uid = document_uuid(subject, "spdx", options)
    info = CreationInfo(
        spdx_version=f"SPDX-{SPDX_VERSION}",
        spdx_id="SPDXRef-DOCUMENT",
        name=subject.name,
        document_namespace=f"{SPDX_NAMESPACE_BASE}{quote(subject.name, safe='')}-{uid}",
        creators=creators,
        created=options.timestamp,
        creator_comment=CREATOR_COMMENT,
    )
    supplier = _actor(options.supplier) if options.supplier else None
    profile = _Telco(subject, supplier) if options.profile == telco.NAME else None
    ids: dict[str, str] = {}
    packages = []
    for a in subject.artifacts:
        ids[artifact_ref(a)] = spdx_id("Artifact", a.name, artifact_ref(a))
        packages.append(_artifact_package(a, ids[artifact_ref(a)], supplier, subject.container))
        if profile is not None:
            profile.artifact(packages[-1], a)
    if subject.container is not None:
        ids[subject.container.ref] = spdx_id("Container", subject.name, subject.container.ref)
        packages.append(_container_package(subject, ids[subject.container.ref], supplier))
        for c in subject.container.packages:
            ids[c.ref] = spdx_id(_PREFIX[c.kind], c.name, c.ref)
            packages.append(_component_package(c, ids[c.ref], ()))
            if profile is not None:
                profile.component(packages[-1], c)
    for c in subject.components:
        if profile is not None and not telco.is_delivered(c):
            continue
        ids[c.ref] = spdx_id(_PREFIX[c.kind], c.name, c.ref)
        owners = subject.owners.get(c.ref, ()) if subject.merged else ()
        packages.append(_component_package(c, ids[c.ref], owners))
        if profile is not None:
            profile.component(packages[-1], c)

    relationships = [
        Relationship(s, RelationshipType[r], t) for s, r, t in _triples(subject, ids)
    ]
    if profile is not None:
        relationships += profile.unknowns(ids)
    return Document(creation_info=info, packages=packages, relationships=relationships)


class _Telco:
    """The OpenChain Telco profile's values, set on the packages the writer built (see
    `sbomsign._internal.sbom.telco` for each choice and its reason)."""

    def __init__(self, subject: Subject, supplier: Any) -> None:
        self.subject = subject
        self.supplier = supplier
        self.delivery = telco.delivery(subject)

    def artifact(self, package: Any, a: Artifact) -> None:
        if not package.external_references:
            package.external_references = [_purl_ref(telco.generic_purl(a.name,
                                                                        a.digests.sha256))]

    def component(self, package: Any, c: Component) -> None:
        where = self.delivery.files.get(c.ref)
        container = self.subject.container
        digests = where.digests if where is not None else (
            container.digests if container is not None else None)
        notes = [(P_TELCO_CHECKSUM_OF, telco.checksum_note(
            where, self.delivery.also.get(c.ref, ()),
            f"the {container.kind} {self.subject.name}" if container else ""))]
        if digests is not None:
            package.checksums = _checksums(digests)
        if c.supplier:
            package.originator = package.supplier
        package.supplier = self.supplier
        if not c.version and where is not None:
            package.version = artifact_version(where)
            notes.append((P_TELCO_STATED_VERSION, package.version))
        if not package.external_references and where is not None:
            package.external_references = [_purl_ref(telco.generic_purl(
                c.name, where.digests.sha256, package.version or ""))]
        extra = format_comment_properties(notes)
        package.comment = f"{package.comment}\n{extra}" if package.comment else extra

    def unknowns(self, ids: dict[str, str]) -> list[Any]:
        from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
        from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion

        return [
            Relationship(ids[artifact_ref(a)], RelationshipType.DYNAMIC_LINK, SpdxNoAssertion(),
                         comment=f"{name}: a library the file loads that this delivery does "
                         "not hold (provided by the environment; a known unknown)")
            for a, name in self.delivery.external
        ]


def _triples(subject: Subject, ids: dict[str, str]) -> list[tuple[str, str, str]]:
    triples: set[tuple[str, str, str]] = set()
    if subject.container is not None:
        triples.add(("SPDXRef-DOCUMENT", "DESCRIBES", ids[subject.container.ref]))
        for src, tgt, kind in container_edges(subject):
            triples.add((ids[src], _RELATIONSHIPS[kind][0], ids[tgt]))
    for a in subject.artifacts:
        if subject.container is None:
            triples.add(("SPDXRef-DOCUMENT", "DESCRIBES", ids[artifact_ref(a)]))
        aref = artifact_ref(a)
        edges = [(e.source, e.target, e.kind) for e in dependency_edges(a)]
        # NOTE: besides the graph, the artifact statically links everything compiled into it
        # (every Go module, not only the main module) and dynamically links each library.
        edges += [(aref, ref, kind) for ref, kind in linked_refs(a)]
        for src, tgt, kind in edges:
            if tgt not in ids:  # a library the profile leaves out of the packages
                continue
            rel, reverse = _RELATIONSHIPS[kind]
            if src == aref and kind == "depends":
                rel = "DEPENDS_ON"
            a_id, b_id = ids[src], ids[tgt]
            triples.add((b_id, rel, a_id) if reverse else (a_id, rel, b_id))
    return sorted(triples)


def _checksums(d: Digests) -> list[Any]:
    from spdx_tools.spdx.model.checksum import Checksum, ChecksumAlgorithm

    algs = {"sha1": ChecksumAlgorithm.SHA1, "sha256": ChecksumAlgorithm.SHA256,
            "sha512": ChecksumAlgorithm.SHA512}
    return [Checksum(algs[k], v) for k, v in sorted(d.as_dict().items())]


def _purl_ref(purl: str) -> Any:
    from spdx_tools.spdx.model.package import ExternalPackageRef, ExternalPackageRefCategory

    return ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", purl)


def _cpe_ref(cpe: str) -> Any:
    from spdx_tools.spdx.model.package import ExternalPackageRef, ExternalPackageRefCategory

    cpe_type = "cpe23Type" if cpe.startswith("cpe:2.3:") else "cpe22Type"
    return ExternalPackageRef(ExternalPackageRefCategory.SECURITY, cpe_type, cpe)


def _container_package(subject: Subject, sid: str, supplier: Any) -> Any:
    from spdx_tools.spdx.model.package import Package, PackagePurpose
    from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion

    container = subject.container
    if container is None:  # pragma: no cover - only called for a container subject
        raise SbomError("no container")
    return Package(
        spdx_id=sid,
        name=subject.name,
        download_location=SpdxNoAssertion(),
        version=subject.version or None,
        supplier=supplier or SpdxNoAssertion(),
        files_analyzed=False,
        checksums=_checksums(container.digests),
        license_concluded=SpdxNoAssertion(),
        license_declared=_license(container.licenses),
        copyright_text=SpdxNoAssertion(),
        comment=format_comment_properties(container_properties(container)),
        external_references=([_purl_ref(container.purl)] if container.purl else [])
        + ([_cpe_ref(container.cpe)] if container.cpe else []),
        primary_package_purpose=PackagePurpose[_PURPOSE[container.kind]],
    )


def _artifact_package(a: Artifact, sid: str, supplier: Any,
                      container: Container | None = None) -> Any:
    from spdx_tools.spdx.model.package import Package, PackagePurpose
    from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion

    purl = artifact_purl(a)
    return Package(
        spdx_id=sid,
        name=a.name,
        download_location=SpdxNoAssertion(),
        version=artifact_version(a) or None,
        file_name=a.name,
        supplier=supplier or SpdxNoAssertion(),
        files_analyzed=False,
        checksums=_checksums(a.digests),
        license_concluded=SpdxNoAssertion(),
        license_declared=SpdxNoAssertion(),
        copyright_text=SpdxNoAssertion(),
        comment=format_comment_properties(
            sorted(artifact_properties(a) + file_properties(container, a))),
        external_references=[_purl_ref(purl)] if purl else [],
        primary_package_purpose=(
            PackagePurpose.LIBRARY if a.is_library and a.binaries else PackagePurpose.APPLICATION
        ),
    )


def _component_package(c: Component, sid: str, owners: Sequence[str]) -> Any:
    from spdx_tools.spdx.model.package import (
        Package,
        PackagePurpose,
    )
    from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion

    refs = [_purl_ref(c.purl)] if c.purl else []
    if c.cpe:
        refs.append(_cpe_ref(c.cpe))
    return Package(
        spdx_id=sid,
        name=c.name,
        download_location=SpdxNoAssertion(),
        version=c.version or None,
        supplier=_actor(c.supplier) if c.supplier else SpdxNoAssertion(),
        files_analyzed=False,
        source_info=source_info(c) or None,
        license_concluded=SpdxNoAssertion(),
        license_declared=_license(c.licenses),
        copyright_text=SpdxNoAssertion(),
        comment=format_comment_properties(component_properties(c, owners)),
        external_references=refs,
        primary_package_purpose=(
            PackagePurpose.INSTALL if c.kind is ComponentKind.PACKAGE else PackagePurpose.LIBRARY
        ),
    )


def _license(licenses: Sequence[str]) -> Any:
    from spdx_tools.common.spdx_licensing import spdx_licensing
    from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion

    if not licenses:
        return SpdxNoAssertion()
    try:
        return spdx_licensing.parse(" AND ".join(licenses), validate=True)
    except Exception:  # license-expression raises its own hierarchy; unknown means unknown
        return SpdxNoAssertion()


# --- reading -----------------------------------------------------------------------------------


def load(data: bytes | dict[str, Any], name: str, *, tag_value: bool) -> Any:
    """Parse SPDX 2.x JSON (bytes, or already decoded) or tag-value into an spdx-tools
    `Document`.

    Raises:
        SbomError: the document is malformed or not SPDX.
    """
    from spdx_tools.spdx.parser.error import SPDXParsingError

    text = ""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise SbomError(f"{name}: SPDX document is not UTF-8 ({e.reason})") from e
    try:
        if tag_value:
            from ply import yacc  # type: ignore[import-untyped]
            from spdx_tools.spdx.parser.tagvalue.parser import Parser

            # NOTE: ply would write its tables and a 1.5 MB debug file into site-packages and
            # print "Generating LALR tables" to stderr; rebuilding them costs ~0.3 s.
            parser = Parser(  # type: ignore[no-untyped-call]
                write_tables=False, debug=False, errorlog=yacc.NullLogger()
            )
            return parser.parse(text)  # type: ignore[no-untyped-call]
        doc = json.loads(text) if isinstance(data, bytes) else data
        if not isinstance(doc, dict) or "spdxVersion" not in doc:
            raise SbomError(f"{name}: not an SPDX document (no spdxVersion)")
        from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser

        return JsonLikeDictParser().parse(doc)  # type: ignore[no-untyped-call]
    except SbomError:
        raise
    except json.JSONDecodeError as e:
        raise SbomError(f"{name}: malformed SPDX JSON: {e}") from e
    except SPDXParsingError as e:
        messages = e.get_messages()  # type: ignore[no-untyped-call]
        first = messages[0] if messages else "unknown problem"
        more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
        raise SbomError(f"{name}: invalid SPDX: {first}{more}") from e
    except Exception as e:  # the parsers raise whatever their input provokes
        raise SbomError(f"{name}: invalid SPDX: {type(e).__name__}: {e}") from e


def _text(value: Any) -> str:
    """A plain string from an spdx-tools value, '' for NOASSERTION/NONE/None."""
    from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion
    from spdx_tools.spdx.model.spdx_none import SpdxNone

    if value is None or isinstance(value, SpdxNoAssertion | SpdxNone):
        return ""
    return str(value)


def to_inventory(document: Any, name: str) -> Inventory:
    """The inventory an SPDX document describes (see `mapping.spdx_inventory`).

    spdx-tools has parsed and validated the document; its objects are copied into the plain
    records the fast JSON reader also builds, and mapped by the same code.
    """
    return spdx_inventory(_record(document))


def _record(document: Any) -> SpdxDocumentRecord:
    """An spdx-tools `Document` as the plain record `mapping` reads."""
    return SpdxDocumentRecord(
        packages=[_package_record(p) for p in document.packages],
        relationships=[
            (str(r.spdx_element_id), r.relationship_type.name, _related(r.related_spdx_element_id))
            for r in document.relationships
        ],
        creators=[(c.actor_type.name, c.name) for c in document.creation_info.creators],
    )


def _related(value: Any) -> Related:
    """A related element as `mapping` takes it: NOASSERTION and NONE are not SPDX ids."""
    return (not _text(value), str(value))


def _package_record(p: Any) -> SpdxPackageRecord:
    """An spdx-tools `Package` as the plain record `mapping` reads."""
    supplier = p.supplier
    return SpdxPackageRecord(
        spdx_id=p.spdx_id,
        name=p.name,
        version=p.version,
        file_name=p.file_name,
        comment=p.comment,
        # NOTE: NOASSERTION has no name.
        supplier=supplier.name if supplier is not None and hasattr(supplier, "name") else "",
        license_declared=_text(p.license_declared),
        checksums=[(c.algorithm.name, c.value) for c in p.checksums],
        external_refs=[(ref.category.name, ref.reference_type, str(ref.locator))
                       for ref in p.external_references],
    )


# --- NTIA minimum elements ---------------------------------------------------------------------


def ntia(document: Any) -> list[str]:
    """NTIA minimum-element problems of an SPDX document (see `sbomsign.sbom.ntia_problems`)."""
    problems = []
    info = document.creation_info
    if not any(c.actor_type.name in ("PERSON", "ORGANIZATION") for c in info.creators):
        problems.append("no author of the SBOM data (a Person or Organization creator)")
    if info.created is None:
        problems.append("no timestamp (created)")
    described = set(spdx_described(_record(document))) if document.packages else set()
    if not described:
        problems.append("the document DESCRIBES no package")
    related: set[str] = set()
    for r in document.relationships:
        if r.relationship_type.name in ("DESCRIBES", "DESCRIBED_BY"):
            continue
        related.add(str(r.spdx_element_id))
        related.add(_text(r.related_spdx_element_id))
    for p in document.packages:
        label = f"package {p.name!r}"
        if not p.name:
            problems.append(f"package {p.spdx_id}: no name")
        if p.spdx_id in described:
            label = f"described {label}"
            if not _text(p.supplier) or not hasattr(p.supplier, "name"):
                problems.append(f"{label}: no supplier")
            if not p.version:
                problems.append(f"{label}: no version")
            if not p.external_references and not p.checksums:
                problems.append(f"{label}: no unique identifier (purl, CPE or checksum)")
        elif p.supplier is None:
            problems.append(f"{label}: no supplier (not even NOASSERTION)")
        if (document.relationships and p.spdx_id not in related
                and len(document.packages) > 1):
            problems.append(f"{label}: in no relationship")
    return problems
