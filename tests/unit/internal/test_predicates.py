"""Predicate normalisation: type URI spellings, cosign's wrapper, SBOMs as JSON strings."""

from __future__ import annotations

import json

import pytest

from sbomsign import verify
from sbomsign._internal import predicates
from sbomsign.errors import SbomError

CYCLONEDX_DOC = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "version": 1,
    "components": [{"type": "library", "name": "zlib", "version": "1.3.1"}],
}
SPDX_DOC = {
    "spdxVersion": "SPDX-2.3",
    "dataLicense": "CC0-1.0",
    "SPDXID": "SPDXRef-DOCUMENT",
    "name": "app",
    "documentNamespace": "https://example.com/app",
    "creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: test"]},
    "packages": [],
}
SPDX_TAG_VALUE = "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\n"


def test_kinds_are_the_verify_contract() -> None:
    assert predicates.CYCLONEDX == verify.KIND_CYCLONEDX
    assert predicates.SPDX == verify.KIND_SPDX
    assert predicates.SLSA_PROVENANCE == verify.KIND_SLSA_PROVENANCE
    assert predicates.VSA == verify.KIND_VSA
    assert predicates.OTHER == verify.KIND_OTHER


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("https://spdx.dev/Document", "spdx"),
        ("https://spdx.dev/Document/", "spdx"),
        ("https://spdx.dev/Document/v2.3", "spdx"),
        ("https://spdx.dev/Document/v2.2", "spdx"),
        ("https://spdx.dev/Document/v3", "spdx"),  # SPDX 3, read as JSON-LD
        ("https://spdx.dev/Document/v3.0", "spdx"),
        ("https://spdx.dev/Document/v3.0.1", "spdx"),
        ("https://spdx.dev/Document/v4", "other"),
        ("https://spdx.dev/Documents", "other"),
        ("https://cyclonedx.org/bom", "cyclonedx"),
        ("https://cyclonedx.org/bom/v1.4", "cyclonedx"),
        ("https://cyclonedx.org/bom/v1.6", "cyclonedx"),
        ("https://cyclonedx.org/schema", "cyclonedx"),
        ("https://cyclonedx.org/bomb", "other"),
        ("https://slsa.dev/provenance/v1", "slsa-provenance"),
        ("https://slsa.dev/provenance/v0.2", "slsa-provenance"),
        ("https://slsa.dev/verification_summary/v1", "vsa"),
        ("https://in-toto.io/attestation/svr/v0.2", "other"),
        ("https://cosign.sigstore.dev/attestation/v1", "other"),
        ("", "other"),
    ],
)
def test_kind_of(uri: str, kind: str) -> None:
    assert predicates.kind_of(uri) == kind


def test_sbom_object_is_serialised_in_member_order() -> None:
    p = predicates.normalise("https://cyclonedx.org/bom", CYCLONEDX_DOC)
    assert p.kind == "cyclonedx"
    assert p.value == CYCLONEDX_DOC
    assert p.document is not None
    assert json.loads(p.document) == CYCLONEDX_DOC
    assert p.document.startswith(b'{"bomFormat":"CycloneDX"')


def test_sbom_as_json_string() -> None:
    text = json.dumps(SPDX_DOC)
    p = predicates.normalise("https://spdx.dev/Document/v2.3", text)
    assert p.kind == "spdx"
    assert p.document == text.encode()
    assert p.value == SPDX_DOC  # parsed, for policies that read members


def test_spdx_tag_value_string() -> None:
    # cosign attest --type spdx puts the tag-value document in as a string
    p = predicates.normalise("https://spdx.dev/Document", SPDX_TAG_VALUE)
    assert p.kind == "spdx"
    assert p.document == SPDX_TAG_VALUE.encode()
    assert p.value == SPDX_TAG_VALUE


def test_cosign_wrapper_with_an_sbom_inside() -> None:
    wrapped = {"Data": json.dumps(CYCLONEDX_DOC), "Timestamp": "2024-01-01T00:00:00Z"}
    p = predicates.normalise(predicates.COSIGN_CUSTOM, wrapped)
    assert p.kind == "cyclonedx"
    assert p.value == CYCLONEDX_DOC
    assert p.document == wrapped["Data"].encode()


def test_cosign_wrapper_with_an_object_inside() -> None:
    p = predicates.normalise(predicates.COSIGN_CUSTOM, {"Data": SPDX_DOC, "Timestamp": "x"})
    assert p.kind == "spdx"
    assert p.value == SPDX_DOC
    assert p.document is not None and json.loads(p.document) == SPDX_DOC


def test_cosign_wrapper_with_something_else_inside() -> None:
    p = predicates.normalise(predicates.COSIGN_CUSTOM, {"Data": '{"a": 1}', "Timestamp": "x"})
    assert (p.kind, p.value, p.document) == ("other", {"a": 1}, None)
    p = predicates.normalise(predicates.COSIGN_CUSTOM, {"Data": "plain text"})
    assert (p.kind, p.value, p.document) == ("other", "plain text", None)


def test_cosign_wrapper_under_an_sbom_type() -> None:
    # old cosign versions wrapped SBOMs too
    p = predicates.normalise("https://spdx.dev/Document", {"Data": SPDX_TAG_VALUE, "Timestamp": ""})
    assert p.kind == "spdx"
    assert p.document == SPDX_TAG_VALUE.encode()


def test_data_member_alone_does_not_make_a_wrapper() -> None:
    doc = {**CYCLONEDX_DOC, "Data": "x"}
    p = predicates.normalise("https://cyclonedx.org/bom", doc)
    assert p.value == doc


def test_sbom_type_with_a_non_document() -> None:
    with pytest.raises(SbomError, match="JSON list, not an SBOM document"):
        predicates.normalise("https://cyclonedx.org/bom", [1, 2])
    with pytest.raises(SbomError, match="NoneType"):
        predicates.normalise("https://spdx.dev/Document", None)


def test_sbom_type_with_the_other_format() -> None:
    with pytest.raises(SbomError, match="says cyclonedx but the predicate is spdx"):
        predicates.normalise("https://cyclonedx.org/bom", SPDX_DOC)


def test_unreadable_sbom_is_left_to_the_reader() -> None:
    # not recognisably an SBOM: the document is passed on, and sbom.read will refuse it
    p = predicates.normalise("https://cyclonedx.org/bom", {"hello": "world"})
    assert p.kind == "cyclonedx"
    assert p.document == b'{"hello":"world"}'


def test_other_predicates() -> None:
    prov = {"buildDefinition": {"buildType": "x"}, "runDetails": {}}
    p = predicates.normalise("https://slsa.dev/provenance/v1", prov)
    assert (p.kind, p.value, p.document) == ("slsa-provenance", prov, None)
    p = predicates.normalise("https://example.com/custom", json.dumps({"k": "v"}))
    assert (p.kind, p.value) == ("other", {"k": "v"})
    p = predicates.normalise("https://example.com/custom", "not json")
    assert p.value == "not json"
