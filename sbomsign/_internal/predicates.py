"""Attestation predicates: what kind a predicate is, and the SBOM document inside it.

Producers disagree on how to say "this attestation carries an SBOM" (formats.md 1d, 5.4):

- predicate type URIs come in several spellings: SPDX with and without a version
  (`https://spdx.dev/Document`, `.../v2.3`, `.../v3.0` for SPDX 3), CycloneDX as `https://cyclonedx.org/bom`,
  `.../bom/v1.x` or the legacy `https://cyclonedx.org/schema`;
- the predicate is usually the SBOM's JSON object, but cosign's `--type spdx` puts the
  (tag-value) document in as a JSON *string*;
- cosign's custom type `https://cosign.sigstore.dev/attestation/v1` wraps whatever it was
  given as `{"Data": "<the file's text>", "Timestamp": "..."}`, and people attest SBOMs
  that way.

`normalise` turns all of these into one `Predicate`: its kind, the predicate JSON with the
wrappers removed, and, for SBOMs, the document bytes to hand to `sbomsign.sbom.read`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sbomsign._internal import jsonbound
from sbomsign.errors import SbomError

# NOTE: the same strings as the `KIND_*` constants of `sbomsign.verify` (the contract with the
# policy layer); kept here so this module does not import the verifier. A test checks they
# agree.
CYCLONEDX = "cyclonedx"
SPDX = "spdx"
SLSA_PROVENANCE = "slsa-provenance"
VSA = "vsa"
OTHER = "other"

#: cosign's custom predicate type, a `{"Data": ..., "Timestamp": ...}` wrapper.
COSIGN_CUSTOM = "https://cosign.sigstore.dev/attestation/v1"

_SPDX = re.compile(r"https://spdx\.dev/Document(/v[23](\.\d+)*)?")
_CYCLONEDX = re.compile(r"https://cyclonedx\.org/(bom(/v1(\.\d+)*)?|schema)")
_SLSA_PROVENANCE = frozenset({"https://slsa.dev/provenance/v1", "https://slsa.dev/provenance/v0.2"})
_VSA = frozenset({"https://slsa.dev/verification_summary/v1"})


def kind_of(predicate_type: str) -> str:
    """The normalised kind of a predicate type URI (`OTHER` when it is not one we know).

    SPDX 2 and SPDX 3 (`https://spdx.dev/Document/v3.0`, a JSON-LD document) are both `SPDX`:
    the SBOM reader reads either, and tells them apart by their content.
    """
    uri = predicate_type.strip().rstrip("/")
    if _SPDX.fullmatch(uri):
        return SPDX
    if _CYCLONEDX.fullmatch(uri):
        return CYCLONEDX
    if uri in _SLSA_PROVENANCE:
        return SLSA_PROVENANCE
    if uri in _VSA:
        return VSA
    return OTHER


@dataclass(frozen=True)
class Predicate:
    """A predicate after normalisation."""

    kind: str
    """`cyclonedx`, `spdx`, `slsa-provenance`, `vsa` or `other`."""
    value: Any
    """The predicate JSON with cosign's wrapper removed and JSON strings parsed."""
    document: bytes | None = None
    """For SBOM kinds: the SBOM document's bytes (JSON re-serialised, or the embedded text)."""


def _is_cosign_wrapper(value: object) -> bool:
    # NOTE: cosign's CosignPredicate has exactly these two members; requiring that shape keeps
    # an SBOM that happens to have a "Data" member from being mistaken for a wrapper.
    return isinstance(value, Mapping) and "Data" in value and set(value) <= {"Data", "Timestamp"}


def _document_bytes(value: object) -> bytes | None:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, Mapping):
        # NOTE: the attested bytes are a substring of the signed payload that JSON parsing has
        # lost; member order is kept (json.loads preserves it) so the result stays close to
        # what was signed, and any reader sees the same document.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return None


def _sbom_kind(document: bytes) -> str | None:
    from sbomsign._internal.sbom import codec_for, detect

    try:
        fmt, _ = detect(document, "<sbom>")
    except SbomError:
        return None
    # The codec families are named as the predicate kinds (`cyclonedx`, `spdx`).
    return codec_for(fmt).kind


def _parse_json_text(value: str) -> Any:
    text = value.lstrip("\ufeff \t\r\n")
    if not text.startswith(("{", "[")):
        return value
    try:
        return jsonbound.loads(text)
    except ValueError:
        return value


def normalise(predicate_type: str, predicate: Any) -> Predicate:
    """Classify a statement's predicate and extract the SBOM document it carries.

    - A cosign `{"Data": ..., "Timestamp": ...}` wrapper (under cosign's custom type, or
      under an SBOM type as old cosign versions wrote it) is unwrapped; under the custom type
      the kind is then detected from the content: an SBOM is `cyclonedx`/`spdx`, anything
      else `other` (with `Data` parsed when it is JSON text).
    - Under an SBOM type, a JSON-string predicate is the document itself (JSON, XML or SPDX
      tag-value text).

    Raises:
        SbomError: the predicate type names an SBOM but the predicate is not a document
            (neither a JSON object nor a string), or the document is of the other SBOM
            format than the type says.
    """
    kind = kind_of(predicate_type)
    value = predicate
    custom = predicate_type.strip().rstrip("/") == COSIGN_CUSTOM
    if (custom or kind in (CYCLONEDX, SPDX)) and _is_cosign_wrapper(value):
        value = value["Data"]

    if custom:
        document = _document_bytes(value)
        detected = _sbom_kind(document) if document is not None else None
        if detected is not None:
            assert document is not None  # noqa: S101 - detected implies a document
            parsed = _parse_json_text(value) if isinstance(value, str) else value
            return Predicate(detected, parsed, document)
        parsed = _parse_json_text(value) if isinstance(value, str) else value
        return Predicate(OTHER, parsed)

    if kind in (CYCLONEDX, SPDX):
        document = _document_bytes(value)
        if document is None:
            raise SbomError(
                f"the {kind} predicate is a JSON {type(value).__name__}, not an SBOM document"
            )
        detected = _sbom_kind(document)
        if detected is not None and detected != kind:
            raise SbomError(f"the predicate type says {kind} but the predicate is {detected}")
        parsed = _parse_json_text(value) if isinstance(value, str) else value
        return Predicate(kind, parsed, document)

    if isinstance(value, str):
        # NOTE: some producers double-encode their predicate as a JSON string; policies read
        # members, so give them the object.
        value = _parse_json_text(value)
    return Predicate(kind, value)
