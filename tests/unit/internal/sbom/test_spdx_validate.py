"""sbomsign's linear-time SPDX validation against spdx-tools' `validate_full_spdx_document`.

`spdx2.validate.messages` runs spdx-tools' element checks and does the document-wide ones
with sets; it must say exactly what spdx-tools says, in the same order, on sbomsign's own
documents and on documents broken in each way the document-wide checks look for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import sbom_samples as s
from spdx_tools.spdx.model.file import File
from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
from spdx_tools.spdx.model.snippet import Snippet
from spdx_tools.spdx.model.spdx_none import SpdxNone
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from sbomsign._internal.sbom.common import Options
from sbomsign._internal.sbom.spdx2 import library, validate

VERSION = "SPDX-2.3"
OPTIONS = Options(timestamp=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), tool_version="1")


def _document(name: str = "c-rust-notes") -> Any:
    return library._document(s.SUBJECTS[name](), OPTIONS)


def _texts(found: list[Any]) -> list[str]:
    return [m.validation_message for m in found]


def _same(document: Any) -> list[str]:
    ours = _texts(validate.messages(document, VERSION))
    assert ours == _texts(validate_full_spdx_document(document, VERSION))
    return ours


@pytest.mark.parametrize("name", sorted(s.SUBJECTS))
def test_sbomsigns_documents_are_valid_to_both(name: str) -> None:
    assert _same(_document(name)) == []


def _file(spdx_id: str) -> File:
    from spdx_tools.spdx.model.checksum import Checksum, ChecksumAlgorithm

    return File(name="./lib/x.so", spdx_id=spdx_id,
                checksums=[Checksum(ChecksumAlgorithm.SHA1, "a" * 40)])


def _dangling(doc: Any) -> None:
    doc.relationships.append(Relationship(doc.packages[0].spdx_id, RelationshipType.DEPENDS_ON,
                                          "SPDXRef-nowhere"))
    doc.relationships.append(Relationship("SPDXRef-also-nowhere", RelationshipType.CONTAINS,
                                          doc.packages[0].spdx_id))


def _bad_syntax(doc: Any) -> None:
    doc.relationships.append(Relationship("not_an_id", RelationshipType.DEPENDS_ON, SpdxNone()))
    doc.relationships.append(Relationship("a:b:c", RelationshipType.DEPENDS_ON,
                                          "DocumentRef-x:SPDXRef-y"))


def _no_describes(doc: Any) -> None:
    doc.relationships[:] = [r for r in doc.relationships
                            if r.relationship_type != RelationshipType.DESCRIBES]


def _duplicate_ids(doc: Any) -> None:
    doc.packages.append(replace(doc.packages[1]))
    doc.files.append(_file(doc.packages[0].spdx_id))


def _unanalysed_package_with_files(doc: Any) -> None:
    doc.files.append(_file("SPDXRef-file-1"))
    owner = next(p for p in doc.packages if not p.files_analyzed)
    doc.relationships.append(Relationship(owner.spdx_id, RelationshipType.CONTAINS,
                                          "SPDXRef-file-1"))
    doc.relationships.append(Relationship("SPDXRef-file-1", RelationshipType.CONTAINED_BY,
                                          owner.spdx_id))


def _bad_package(doc: Any) -> None:
    doc.packages[0] = replace(doc.packages[0], spdx_id="SPDXRef-bad_id", download_location="x")


BREAKS: dict[str, Callable[[Any], None]] = {
    "dangling references": _dangling,
    "bad id syntax": _bad_syntax,
    "no DESCRIBES": _no_describes,
    "duplicate ids": _duplicate_ids,
    "unanalysed package with files": _unanalysed_package_with_files,
    "bad package fields": _bad_package,
}


@pytest.mark.parametrize("how", sorted(BREAKS))
def test_broken_documents_get_spdx_tools_messages(how: str) -> None:
    document = _document()
    BREAKS[how](document)
    assert _same(document), "the break went unnoticed"


def test_every_break_at_once() -> None:
    document = _document("merged")
    for name in sorted(BREAKS):
        BREAKS[name](document)
    assert len(_same(document)) >= len(BREAKS)


def test_snippets_and_other_versions_go_to_spdx_tools_whole() -> None:
    document = _document()
    document.snippets.append(Snippet("SPDXRef-snippet", document.packages[0].spdx_id, (1, 2)))
    assert _texts(validate.messages(document, VERSION)) == _texts(
        validate_full_spdx_document(document, VERSION))
    assert _same(_document()) == []
    other = _texts(validate.messages(_document(), "SPDX-2.2"))
    assert other and other == _texts(validate_full_spdx_document(_document(), "SPDX-2.2"))
