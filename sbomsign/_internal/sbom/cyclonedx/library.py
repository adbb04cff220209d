"""CycloneDX 1.5/1.6 (JSON and XML) through cyclonedx-python-lib: `Subject` <-> `Bom`.

This module and `spdx.py` are the only places cyclonedx-python-lib types appear; everything
else sees the inventory model. The library has no model for `compositions`, so they are added
to its output text (see `document.finish_json`).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from sbomsign._internal.sbom import bsi as bsi_props
from sbomsign._internal.sbom.common import (
    DEFAULT_CYCLONEDX_VERSION,
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
from sbomsign._internal.sbom.cyclonedx.document import (
    EXTERNAL,
    SCOPES,
    compositions,
    finish_json,
    graph,
)
from sbomsign._internal.sbom.cyclonedx.origin import evidence, pedigree, purl
from sbomsign._internal.sbom.mapping import (
    CdxBomRecord,
    CdxComponentRecord,
    cdx_evidence,
    cdx_inventory,
)
from sbomsign._internal.sbom.properties import artifact_properties, component_properties
from sbomsign.errors import SbomError
from sbomsign.models import (
    Artifact,
    Component,
    Container,
    Digests,
    Evidence,
    Inventory,
)

if TYPE_CHECKING:
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component as CdxComponent
    from cyclonedx.schema import SchemaVersion



def schema_version(spec: str) -> SchemaVersion:
    """The library's enum for a spec version string (`1.5`, `1.6`).

    Raises:
        SbomError: the version is not one sbomsign writes.
    """
    from cyclonedx.schema import SchemaVersion

    table = {"1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6, "1.7": SchemaVersion.V1_7}
    if spec not in table:
        raise SbomError(f"CycloneDX spec version {spec!r} is not supported (use 1.6, 1.7 or "
                        f"1.5)")
    return table[spec]


# --- writing -----------------------------------------------------------------------------------


def write(subject: Subject, options: Options, *, xml: bool) -> bytes:
    """Serialise a subject as CycloneDX JSON or XML.

    Raises:
        SbomError: the spec version is not supported, or the library refused the document.
    """
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat

    spec = options.spec_version or DEFAULT_CYCLONEDX_VERSION
    version = schema_version(spec)
    bom = _bom(subject, options, spec)
    fmt = OutputFormat.XML if xml else OutputFormat.JSON
    try:
        with warnings.catch_warnings():
            # NOTE: the library warns about 1.5 dropping a second identity; we never give one.
            warnings.simplefilter("ignore")
            text = make_outputter(bom, fmt, version).output_as_string(indent=2)
    except Exception as e:  # the library raises many unrelated types; all mean "cannot write"
        raise SbomError(f"cannot write CycloneDX {spec}: {e}") from e
    return _add_compositions(text, subject, xml=xml).encode("utf-8")


def _bom(subject: Subject, options: Options, spec: str) -> Bom:
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component as CdxComponent
    from cyclonedx.model.component import ComponentType
    from cyclonedx.model.contact import OrganizationalContact, OrganizationalEntity
    from cyclonedx.model.dependency import Dependency
    from cyclonedx.model.lifecycle import LifecyclePhase, PredefinedLifecycle
    from cyclonedx.model.tool import ToolRepository

    supplier = None
    if options.supplier:
        _, sname, semail = parse_actor(options.supplier)
        # The supplier's e-mail is its contact, as SPDX's `Organization: name (email)` keeps it.
        contacts = [OrganizationalContact(email=semail)] if semail else []
        supplier = OrganizationalEntity(name=sname, contacts=contacts)
    authors = []
    if options.author:
        _, aname, email = parse_actor(options.author)
        authors.append(OrganizationalContact(name=aname, email=email or None))

    bsi = options.profile == "bsi"
    artifacts = [_artifact_component(a, supplier, subject.container, bsi=bsi)
                 for a in subject.artifacts]
    if subject.container is not None:
        root = _container_component(subject, supplier, artifacts, bsi=bsi)
    elif subject.merged:
        root = CdxComponent(
            type=ComponentType.APPLICATION,
            name=subject.name,
            version=subject.version or None,
            bom_ref=f"release:sha256:{subject.digest}",
            supplier=supplier,
            properties=[Property(name=P_MERGED, value="true")],
            components=artifacts,
        )
    else:
        root = artifacts[0]
    tool = CdxComponent(
        type=ComponentType.APPLICATION,
        name="sbomsign",
        version=options.tool_version or None,
        bom_ref="tool:sbomsign",
    )
    components = [
        _component(c, subject.owners.get(c.ref, ()) if subject.merged else (), spec,
                   external=subject.container is None, bsi=bsi)
        for c in subject.components
    ]
    if subject.container is not None:
        components += [_component(c, (), spec, bsi=bsi) for c in subject.container.packages]
    bom = Bom(
        serial_number=document_uuid(subject, "cyclonedx", options),
        version=1,
        metadata=BomMetaData(
            timestamp=options.timestamp,
            tools=ToolRepository(components=[tool]),
            authors=authors,
            component=root,
            supplier=supplier,
            lifecycles=[PredefinedLifecycle(LifecyclePhase.POST_BUILD)],
        ),
        components=components,
    )
    # NOTE: the graph is built from plain strings and handed over as Dependency objects, so
    # bom-refs are exactly our refs (the library would otherwise invent some).
    bom.dependencies = [
        Dependency(ref=_ref(src), dependencies=[Dependency(ref=_ref(t)) for t in sorted(tgts)])
        for src, tgts in sorted(graph(subject, str(root.bom_ref.value)).items())
    ]
    return bom


def _ref(value: str) -> Any:
    from cyclonedx.model.bom_ref import BomRef

    return BomRef(value)


def _hashes(digests: Digests) -> list[Any]:
    from cyclonedx.model import HashAlgorithm, HashType

    algs = {"sha1": HashAlgorithm.SHA_1, "sha256": HashAlgorithm.SHA_256,
            "sha512": HashAlgorithm.SHA_512}
    return [HashType(alg=algs[k], content=v) for k, v in sorted(digests.as_dict().items())]


def _expression(licenses: Sequence[str], names: Sequence[str] = ()) -> list[Any] | None:
    """A component's licences, all of which apply, as one SPDX expression: what its authors
    declare (not a licence concluded by analysis); else the names it declares them by."""
    from cyclonedx.model.license import (
        DisjunctiveLicense,
        LicenseAcknowledgement,
        LicenseExpression,
    )

    declared = LicenseAcknowledgement.DECLARED
    if licenses:
        return [LicenseExpression(" AND ".join(licenses), acknowledgement=declared)]
    return [DisjunctiveLicense(name=n, acknowledgement=declared) for n in names] or None


def _properties(pairs: Iterable[tuple[str, str]]) -> list[Any]:
    from cyclonedx.model import Property

    return [Property(name=k, value=v) for k, v in pairs]


def _container_component(subject: Subject, supplier: Any, artifacts: list[Any], *,
                         bsi: bool = False) -> CdxComponent:
    from cyclonedx.model.component import Component as CdxComponent
    from cyclonedx.model.component import ComponentType

    container = subject.container
    if container is None:  # pragma: no cover - only called for a container subject
        raise SbomError("no container")
    return CdxComponent(
        type=ComponentType(ROOT_TYPES[container.kind]),
        name=subject.name,
        version=subject.version or None,
        bom_ref=container.ref,
        supplier=supplier,
        hashes=_hashes(container.digests),
        purl=purl(container.purl),
        cpe=container.cpe or None,
        licenses=_expression(container.licenses, container.license_names),
        properties=_properties(container_properties(container)
                               + (bsi_props.container_properties(container) if bsi else [])),
        components=artifacts,
    )


def _artifact_component(a: Artifact, supplier: Any, container: Container | None, *,
                        bsi: bool = False) -> CdxComponent:
    from cyclonedx.model.component import Component as CdxComponent
    from cyclonedx.model.component import ComponentType

    return CdxComponent(
        type=ComponentType.LIBRARY if a.is_library and a.binaries else ComponentType.APPLICATION,
        name=a.name,
        version=artifact_version(a) or None,
        bom_ref=artifact_ref(a),
        supplier=supplier,
        hashes=_hashes(a.digests),
        purl=purl(artifact_purl(a)),
        properties=_properties(sorted(artifact_properties(a) + file_properties(container, a)
                                      + (bsi_props.artifact_properties(a) if bsi else []))),
    )


def _component(c: Component, owners: Sequence[str], spec: str, *,
               external: bool = False, bsi: bool = False) -> CdxComponent:
    """`external`: linked libraries come from outside what the document describes (a file's
    environment), not from inside it (an image, which holds its libraries)."""
    from cyclonedx.model.component import Component as CdxComponent
    from cyclonedx.model.component import ComponentScope, ComponentType
    from cyclonedx.model.contact import OrganizationalEntity

    return CdxComponent(
        type=ComponentType.LIBRARY,
        name=c.name,
        version=c.version or None,
        bom_ref=c.ref,
        purl=purl(c.purl),
        cpe=c.cpe or None,
        scope=ComponentScope(SCOPES.get(c.scope, "required")),
        supplier=OrganizationalEntity(name=c.supplier) if c.supplier else None,
        licenses=_expression(c.licenses, c.license_names),
        pedigree=pedigree(c, c.replacement) if c.replacement is not None else None,
        properties=_properties(component_properties(c, owners)
                               + (bsi_props.component_properties(c) if bsi else [])),
        evidence=evidence(c, spec),
        # NOTE: CycloneDX 1.7 says when a component is not in the artifact but provided by
        # the environment it runs in: what a binary links dynamically or loads.
        is_external=True if external and spec == "1.7" and c.linking in EXTERNAL else None,
    )


def _add_compositions(text: str, subject: Subject, *, xml: bool) -> str:
    if not xml:
        return finish_json(json.loads(text), subject)
    lines = ["  <compositions>"]
    for comp in compositions(subject):
        lines.append("    <composition>")
        lines.append(f"      <aggregate>{comp['aggregate']}</aggregate>")
        for group, item in (("assemblies", "assembly"), ("dependencies", "dependency")):
            if group in comp:
                lines.append(f"      <{group}>")
                lines.extend(f"        <{item} ref={quoteattr(r)}/>" for r in comp[group])
                lines.append(f"      </{group}>")
        lines.append("    </composition>")
    lines.append("  </compositions>")
    block = "\n".join(lines) + "\n"
    # NOTE: the schema orders <compositions> right after the top-level <dependencies>; our
    # documents have nothing between them and </bom>, and no nested <dependencies> element.
    # RFC 3339 with `Z`, as for JSON (see `_interoperable`).
    text = re.sub(r"(<timestamp>[^<]*)\+00:00(</timestamp>)", r"\1Z\2", text)
    ends = [m.end() for m in re.finditer(r"</dependencies>[ \t]*\n?", text)]
    at = ends[-1] if ends else text.rindex("</bom>")
    out = text[:at] + ("" if text[:at].endswith("\n") else "\n") + block + text[at:].lstrip(" ")
    return out if out.endswith("\n") else out + "\n"


# --- reading -----------------------------------------------------------------------------------


def load(data: bytes | dict[str, Any], name: str, *, xml: bool) -> Bom:
    """Parse CycloneDX JSON (bytes, or already decoded) or XML into the library's `Bom`.

    XML is checked by `xmlsafe` first (no DTD, no entities).

    Raises:
        SbomError: the document is not well-formed or not CycloneDX the library understands.
    """
    from cyclonedx.model.bom import Bom

    try:
        if xml:
            from sbomsign._internal.sbom.xmlsafe import parse

            if not isinstance(data, bytes):
                raise SbomError(f"{name}: CycloneDX XML must be given as bytes")
            root = parse(data, name)
            if not root.tag.startswith("{http://cyclonedx.org/schema/bom/"):
                raise SbomError(f"{name}: not a CycloneDX XML document (root {root.tag})")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return Bom.from_xml(root)  # type: ignore[attr-defined, no-any-return]
        doc = json.loads(data) if isinstance(data, bytes) else data
        if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
            raise SbomError(f"{name}: not a CycloneDX document (no bomFormat CycloneDX)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Bom.from_json(doc)  # type: ignore[attr-defined, no-any-return]
    except SbomError:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SbomError(f"{name}: malformed CycloneDX JSON: {e}") from e
    except Exception as e:  # the deserialiser raises whatever its input provokes
        kind = "XML" if xml else "JSON"
        raise SbomError(f"{name}: invalid CycloneDX {kind}: {type(e).__name__}: {e}") from e


def to_inventory(bom: Bom, name: str) -> Inventory:
    """The inventory a `Bom` describes (see `mapping.cdx_inventory`).

    The library has parsed and validated the document; its objects are copied into the plain
    records the fast JSON reader also builds, and mapped by the same code.
    """
    return cdx_inventory(_bom_record(bom), name)


def _bom_record(bom: Bom) -> CdxBomRecord:
    """A library `Bom` as the plain record `mapping` reads."""
    records: dict[int, CdxComponentRecord] = {}
    meta = bom.metadata.component
    graph: dict[str, list[str]] = {}
    for d in bom.dependencies:
        graph.setdefault(str(d.ref.value), []).extend(str(x.ref.value) for x in d.dependencies)
    return CdxBomRecord(
        component=_record(meta, records) if meta is not None else None,
        components=[_record(c, records) for c in bom.components],
        graph=graph,
        tools=[(t.name, t.version) for t in bom.metadata.tools.components],
    )


def _record(c: CdxComponent, records: dict[int, CdxComponentRecord]) -> CdxComponentRecord:
    """`c` as a plain record; `records` (by the library object's id) makes the same object
    the same record, as `cdx_inventory` tells the described component apart by identity."""
    if id(c) not in records:
        records[id(c)] = CdxComponentRecord(
            name=c.name,
            version=c.version,
            bom_ref=str(c.bom_ref.value) if c.bom_ref.value else None,
            purl=c.purl.to_string() if c.purl is not None else "",
            cpe=c.cpe,
            supplier=(c.supplier.name or "") if c.supplier is not None else "",
            licenses=_licenses(c),
            license_names=_license_names(c),
            properties=[(p.name, p.value) for p in c.properties],
            hashes=[(h.alg.value, h.content) for h in c.hashes],
            evidence=_evidence_back(c),
            components=[_record(x, records) for x in c.components],
        )
    return records[id(c)]


def _licenses(c: CdxComponent) -> list[str]:
    """Expressions and licence ids (names are `_license_names`')."""
    out = []
    for lic in c.licenses:
        value = getattr(lic, "value", None) or getattr(lic, "id", None)
        if value:
            out.append(str(value))
    return out


def _license_names(c: CdxComponent) -> list[str]:
    """The licences given by a name alone."""
    return [str(lic.name) for lic in c.licenses
            if getattr(lic, "name", None) and not getattr(lic, "id", None)]


def _evidence_back(c: CdxComponent) -> list[Evidence]:
    ev = c.evidence
    if ev is None:
        return []
    return cdx_evidence(
        [(str(m.technique.value), float(m.confidence), m.value)
         for i in ev.identity for m in i.methods],
        ((occ.location, occ.offset, occ.additional_context) for occ in ev.occurrences),
    )


# --- NTIA minimum elements ---------------------------------------------------------------------


def ntia(bom: Bom, *, has_timestamp: bool) -> list[str]:
    """NTIA minimum-element problems of a CycloneDX document (see `sbomsign.sbom.ntia_problems`).

    `has_timestamp` comes from the document text: the library fills a missing
    `metadata.timestamp` with the current time when it loads a document.
    """
    problems = []
    meta = bom.metadata
    if not meta.authors:
        problems.append("no author of the SBOM data (metadata.authors)")
    if not has_timestamp:
        problems.append("no timestamp (metadata.timestamp)")
    root = meta.component
    if root is None:
        return [*problems, "no described component (metadata.component)"]
    primaries = [root, *root.components]
    for c in primaries:
        label = f"described component {c.name!r}"
        if c.supplier is None and meta.supplier is None:
            problems.append(f"{label}: no supplier")
        if not c.version:
            problems.append(f"{label}: no version")
        # NOTE: a merged release is identified by the artifacts nested in it.
        identified = c.purl is not None or c.cpe or c.hashes or c.swid is not None or (
            c is root and c.components)
        if not identified:
            problems.append(f"{label}: no unique identifier (purl, CPE, SWID or hash)")
    problems.extend(_relationship_problems(bom, primaries))
    return problems


def _relationship_problems(bom: Bom, primaries: Sequence[CdxComponent]) -> list[str]:
    linked: set[str] = set()
    for d in bom.dependencies:
        targets = [str(x.ref.value) for x in d.dependencies]
        if targets:
            linked.add(str(d.ref.value))
            linked.update(targets)
    problems = []
    everything: list[CdxComponent] = [*primaries]
    stack = list(bom.components)
    while stack:
        c = stack.pop()
        everything.append(c)
        stack.extend(c.components)
    for c in everything:
        if not c.name:
            problems.append(f"component {c.bom_ref.value}: no name")
        if bom.components and str(c.bom_ref.value) not in linked:
            problems.append(f"component {c.name!r}: in no dependency relationship")
    return problems
