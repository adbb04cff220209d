"""in-toto Statements: building v1 statements and reading v1 and v0.1 ones.

A Statement (in-toto/attestation `spec/v1/statement.md`) binds a predicate to subjects
named by digest:
`{"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": ..., "digest": {...}}],
"predicateType": URI, "predicate": {...}}`.

sbomsign emits v1 with a deterministic serialisation (sorted keys, compact separators,
UTF-8), so the same inputs always give the same signed bytes. It reads v0.1 too, because
cosign still emits it; consumers must ignore unknown fields, and this reader does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sbomsign._internal import jsonbound
from sbomsign.errors import InputError

STATEMENT_V1 = "https://in-toto.io/Statement/v1"
STATEMENT_V0_1 = "https://in-toto.io/Statement/v0.1"
#: The DSSE payload type of an in-toto statement (attestation `spec/v1/envelope.md`).
PAYLOAD_TYPE = "application/vnd.in-toto+json"

PREDICATE_CYCLONEDX = "https://cyclonedx.org/bom"
PREDICATE_SPDX = "https://spdx.dev/Document/v2.3"
#: SPDX 3 documents (JSON-LD), as the SPDX project names their predicate for 3.0.x.
PREDICATE_SPDX3 = "https://spdx.dev/Document/v3.0"
PREDICATE_SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"
PREDICATE_VSA = "https://slsa.dev/verification_summary/v1"
#: What cosign v3 signs for an image: a statement with this predicate type, an empty
#: predicate and one nameless subject, the manifest digest (cosign `pkg/types`).
PREDICATE_COSIGN_SIGN = "https://sigstore.dev/cosign/sign/v1"


def image_signature_statement(digest: str) -> bytes:
    """The in-toto statement cosign v3 signs for the image with manifest `digest`
    (`sha256:<hex>`), byte for byte as cosign's protojson writes it."""
    algorithm, _, hexdigest = digest.partition(":")
    return (f'{{"_type":"{STATEMENT_V1}","subject":[{{"digest":{{"{algorithm}":'
            f'"{hexdigest}"}}}}],"predicateType":"{PREDICATE_COSIGN_SIGN}",'
            f'"predicate":{{}}}}').encode()

PredicateKind = Literal["cyclonedx", "spdx", "slsa-provenance", "vsa"]

# NOTE: hex digest lengths for the DigestSet algorithms we can check; others (gitCommit,
# dirHash1, ...) are passed through as given (attestation `spec/v1/digest_set.md`).
_HEX_LENGTHS = {
    "sha1": 40,
    "sha224": 56,
    "sha256": 64,
    "sha384": 96,
    "sha512": 128,
    "sha3_224": 56,
    "sha3_256": 64,
    "sha3_384": 96,
    "sha3_512": 128,
}
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True)
class Subject:
    """A statement subject: a name and a DigestSet (algorithm -> lowercase hex)."""

    name: str
    digest: Mapping[str, str]


@dataclass(frozen=True)
class Statement:
    """A parsed statement. `type` is the `_type` URI (v1 or v0.1)."""

    type: str
    subjects: tuple[Subject, ...]
    predicate_type: str
    predicate: Any
    """The predicate as parsed JSON (usually an object; None when absent)."""

    def subjects_with_sha256(self, sha256_hex: str) -> tuple[Subject, ...]:
        """The subjects whose `sha256` digest is `sha256_hex` (compared case-insensitively)."""
        return self.subjects_matching({"sha256": sha256_hex})

    def subjects_matching(self, known: Mapping[str, str]) -> tuple[Subject, ...]:
        """The subjects that are the artifact with the `known` digests: see `digests_match`."""
        return tuple(s for s in self.subjects if digests_match(known, s.digest))


def digests_match(known: Mapping[str, str], subject: Mapping[str, str]) -> bool:
    """Whether a subject's digests name the artifact whose digests are `known`.

    As sigstore-go: the subject must carry a digest in an algorithm we know (npm provenance
    carries only sha512), and every algorithm both know must agree (hex, any case).
    """
    shared = set(known) & set(subject)
    return bool(shared) and all(
        isinstance(subject[a], str) and subject[a].lower() == known[a].lower() for a in shared)


def canonical_json(obj: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no whitespace, UTF-8, no NaN/Infinity.

    Raises:
        InputError: the object holds something JSON cannot represent.
    """
    try:
        text = json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as e:
        raise InputError(f"cannot serialise as JSON: {e}") from e
    return text.encode("utf-8")


def _check_digest(name: str, digest: Mapping[Any, Any]) -> dict[str, str]:
    if not digest:
        raise InputError(f"in-toto subject {name!r} has no digest")
    out = {}
    for alg, value in digest.items():
        if not isinstance(alg, str) or not isinstance(value, str) or not alg or not value:
            raise InputError(f"in-toto subject {name!r}: malformed digest")
        if alg in _HEX_LENGTHS:
            value = value.lower()
            if len(value) != _HEX_LENGTHS[alg] or not _HEX.fullmatch(value):
                raise InputError(f"in-toto subject {name!r}: {alg} is not {_HEX_LENGTHS[alg]} hex")
        out[alg] = value
    return out


def build_statement(
    subjects: Iterable[Subject | tuple[str, Mapping[str, str]]],
    predicate_type: str,
    predicate: Mapping[str, Any],
) -> bytes:
    """The bytes of an in-toto Statement v1 (deterministic JSON).

    `subjects` are `Subject`s or `(name, {"sha256": hex, ...})` pairs; hex digests are
    lowercased and checked for length.

    Raises:
        InputError: no subjects, a subject without a valid digest, an empty predicate type, or
            a predicate JSON cannot represent.
    """
    entries = []
    for item in subjects:
        name, digest = (item.name, item.digest) if isinstance(item, Subject) else item
        entries.append({"name": name, "digest": _check_digest(name, digest)})
    if not entries:
        raise InputError("an in-toto statement needs at least one subject")
    if not predicate_type:
        raise InputError("an in-toto statement needs a predicate type")
    if not isinstance(predicate, Mapping):
        raise InputError("the in-toto predicate must be a JSON object")
    return canonical_json(
        {
            "_type": STATEMENT_V1,
            "subject": entries,
            "predicateType": predicate_type,
            "predicate": dict(predicate),
        }
    )


def parse_statement(payload: bytes) -> Statement:
    """Parse a Statement v1 or v0.1; unknown fields are ignored.

    Raises:
        InputError: not JSON, not a statement, an unknown `_type`, or subjects without a
            digest.
    """
    try:
        doc = jsonbound.loads(payload)
    except jsonbound.TooDeep as e:
        raise InputError(f"in-toto statement {e}") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError("in-toto statement is not JSON") from e
    if not isinstance(doc, dict):
        raise InputError("in-toto statement is not a JSON object")
    type_ = doc.get("_type")
    if type_ not in (STATEMENT_V1, STATEMENT_V0_1):
        raise InputError(f"unsupported in-toto statement type {type_!r}")
    raw_subjects = doc.get("subject")
    if not isinstance(raw_subjects, list) or not raw_subjects:
        raise InputError("in-toto statement has no subject")
    subjects = []
    for raw in raw_subjects:
        if not isinstance(raw, dict):
            raise InputError("in-toto subject is not a JSON object")
        name = raw.get("name", "")
        digest = raw.get("digest")
        if not isinstance(name, str) or not isinstance(digest, dict):
            raise InputError("in-toto subject has no digest")
        subjects.append(Subject(name, _check_digest(name, digest)))
    predicate_type = doc.get("predicateType")
    if not isinstance(predicate_type, str) or not predicate_type:
        raise InputError("in-toto statement has no predicateType")
    return Statement(type_, tuple(subjects), predicate_type, doc.get("predicate"))


def predicate_kind(predicate_type: str) -> PredicateKind | None:
    """Classify a predicate type URI, accepting the variants producers use.

    CycloneDX: `https://cyclonedx.org/bom`, `.../bom/v1.x`, the legacy
    `https://cyclonedx.org/schema`. SPDX: `https://spdx.dev/Document` with or without a
    version, 2.x or 3.x (`.../v3.0`, `.../v3.0.1`). SLSA provenance v0.2 and v1; VSA v1.
    """
    uri = predicate_type.rstrip("/")
    if uri in (PREDICATE_CYCLONEDX, "https://cyclonedx.org/schema") or uri.startswith(
        PREDICATE_CYCLONEDX + "/v"
    ):
        return "cyclonedx"
    if uri == "https://spdx.dev/Document" or uri.startswith("https://spdx.dev/Document/v"):
        return "spdx"
    if uri in (PREDICATE_SLSA_PROVENANCE, "https://slsa.dev/provenance/v0.2"):
        return "slsa-provenance"
    if uri == PREDICATE_VSA:
        return "vsa"
    return None
