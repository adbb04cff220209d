"""spdx-tools' validation of a whole SPDX 2.3 document, in time linear in its size.

`validate_full_spdx_document` looks every referenced SPDX id up in a list it builds anew for
each reference, and filters every relationship for each package: quadratic. On an image with
a thousand binaries that took seconds, and it grows with the square of the file count. This
module runs spdx-tools' own checks of each element, and does the checks that span the
document (every referenced id is present, a package whose files were not analysed contains
no file, the document describes something, no id is given twice) with sets. The messages are
the ones spdx-tools gives, in its order; `tests/unit/internal/sbom/test_spdx_validate.py`
compares the two on valid and broken documents.

A document with snippets (sbomsign writes none), or of another SPDX version than 2.3, is
handed to spdx-tools whole.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from spdx_tools.spdx.model.relationship import RelationshipType
from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion
from spdx_tools.spdx.model.spdx_none import SpdxNone
from spdx_tools.spdx.validation.annotation_validator import validate_annotations
from spdx_tools.spdx.validation.creation_info_validator import validate_creation_info
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
from spdx_tools.spdx.validation.extracted_licensing_info_validator import (
    validate_extracted_licensing_infos,
)
from spdx_tools.spdx.validation.file_validator import validate_file
from spdx_tools.spdx.validation.license_expression_validator import (
    validate_license_expression,
    validate_license_expressions,
)
from spdx_tools.spdx.validation.package_validator import validate_package
from spdx_tools.spdx.validation.spdx_id_validators import validate_spdx_id
from spdx_tools.spdx.validation.validation_message import (
    SpdxElementType,
    ValidationContext,
    ValidationMessage,
)


def messages(document: Any, spdx_version: str) -> list[Any]:
    """spdx-tools' `ValidationMessage`s for `document`, as `validate_full_spdx_document`
    gives them."""
    if (document.snippets or spdx_version != "SPDX-2.3"
            or document.creation_info.spdx_version != spdx_version):
        return list(validate_full_spdx_document(document, spdx_version))
    index = _Index(document)
    out = list(validate_creation_info(document.creation_info, spdx_version))
    for package in document.packages:
        out.extend(_package(package, spdx_version, document, index))
    for file in document.files:
        out.extend(_file(file, spdx_version, document))
    out.extend(validate_annotations(document.annotations, document))
    for relationship in document.relationships:
        out.extend(_relationship(relationship, document, index))
    out.extend(validate_extracted_licensing_infos(document.extracted_licensing_info))
    out.extend(_document_level(document, index))
    return out


class _Index:
    """What the document-wide checks look up: ids, and relationships by origin and target."""

    def __init__(self, document: Any) -> None:
        self.all_ids = [document.creation_info.spdx_id]
        self.all_ids += [f.spdx_id for f in document.files]
        self.all_ids += [p.spdx_id for p in document.packages]
        self.present = set(self.all_ids)
        self.packages = {p.spdx_id for p in document.packages}
        self.files = {f.spdx_id for f in document.files}
        self.by_origin: dict[tuple[Any, str], list[Any]] = defaultdict(list)
        self.by_target: dict[tuple[Any, str], list[Any]] = defaultdict(list)
        for r in document.relationships:
            self.by_origin[(r.relationship_type, r.spdx_element_id)].append(r)
            # NOTE: a target may be NONE or NOASSERTION, which no id lookup can name.
            if isinstance(r.related_spdx_element_id, str):
                self.by_target[(r.relationship_type, r.related_spdx_element_id)].append(r)

    def is_file(self, spdx_id: str) -> bool:
        # NOTE: spdx-tools asks "package?" first, so an id given to both is a package.
        return spdx_id not in self.packages and spdx_id in self.files


def _context(element: Any, document: Any, kind: str) -> Any:
    return ValidationContext(spdx_id=element.spdx_id, parent_id=document.creation_info.spdx_id,
                             element_type=SpdxElementType[kind], full_element=element)


def _package(package: Any, version: str, document: Any, index: _Index) -> list[Any]:
    context = _context(package, document, "PACKAGE")
    out = [ValidationMessage(m, context) for m in validate_spdx_id(package.spdx_id, document)]
    if not package.files_analyzed:
        contains = [r for r in index.by_origin[(RelationshipType.CONTAINS, package.spdx_id)]
                    if index.is_file(r.related_spdx_element_id)]
        contained = [r for r in index.by_target[(RelationshipType.CONTAINED_BY, package.spdx_id)]
                     if index.is_file(r.spdx_element_id)]
        if contains + contained:
            out.append(ValidationMessage(
                f"package must contain no elements if files_analyzed is False, but found "
                f"{contains + contained}", context))
    out.extend(validate_license_expression(package.license_concluded, document, package.spdx_id))
    if package.license_info_from_files:
        if not package.files_analyzed:
            out.append(ValidationMessage(
                f"license_info_from_files must be None if files_analyzed is False, but is: "
                f"{package.license_info_from_files}", context))
        else:
            out.extend(validate_license_expressions(package.license_info_from_files, document,
                                                    package.spdx_id))
    out.extend(validate_license_expression(package.license_declared, document, package.spdx_id))
    out.extend(validate_package(package, version, context))
    return out


def _file(file: Any, version: str, document: Any) -> list[Any]:
    context = _context(file, document, "FILE")
    out = [ValidationMessage(m, context) for m in validate_spdx_id(file.spdx_id, document)]
    out.extend(validate_license_expression(file.license_concluded, document, file.spdx_id))
    out.extend(validate_license_expressions(file.license_info_in_file, document, file.spdx_id))
    out.extend(validate_file(file, version, context))
    return out


def _relationship(relationship: Any, document: Any, index: _Index) -> list[Any]:
    context = ValidationContext(element_type=SpdxElementType.RELATIONSHIP,
                                full_element=relationship)
    ids = [relationship.spdx_element_id]
    if relationship.related_spdx_element_id not in [SpdxNone(), SpdxNoAssertion()]:
        ids.append(relationship.related_spdx_element_id)
    out: list[Any] = []
    for spdx_id in ids:
        found = validate_spdx_id(spdx_id, document)
        # NOTE: a reference into another document (`DocumentRef-x:SPDXRef-y`) is checked
        # against the external references alone, as spdx-tools does.
        if ":" not in spdx_id and spdx_id not in index.present:
            found.append(f'did not find the referenced spdx_id "{spdx_id}" in the SPDX document')
        out.extend(ValidationMessage(m, context) for m in found)
    return out


def _document_level(document: Any, index: _Index) -> list[Any]:
    doc_id = document.creation_info.spdx_id
    context = ValidationContext(spdx_id=doc_id, element_type=SpdxElementType.DOCUMENT)
    out: list[Any] = []
    describes = (index.by_origin[(RelationshipType.DESCRIBES, doc_id)]
                 or index.by_target[(RelationshipType.DESCRIBED_BY, doc_id)])
    single = len(document.packages) == 1 and not document.files
    if not single and not describes:
        out.append(ValidationMessage(
            f'there must be at least one relationship "{doc_id} DESCRIBES ..." or "... '
            f'DESCRIBED_BY {doc_id}" when there is not only a single package present', context))
    seen: set[str] = set()
    duplicated: set[str] = set()
    for spdx_id in index.all_ids:
        (duplicated if spdx_id in seen else seen).add(spdx_id)
    if duplicated:
        out.append(ValidationMessage(
            f"every spdx_id must be unique within the document, but found the following "
            f"duplicates: {sorted(duplicated)}", context))
    return out
