"""The facts verification returns and the policy reads: signers, verified signatures and
attestations, failures, and everything verified about one artifact.

They are defined here, below the public stages, so that `sbomsign.verify` stays about how
bundles are checked; `sbomsign.verify` re-exports every name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sbomsign._internal import intoto
from sbomsign.models import Inventory

#: Normalised predicate kinds (`VerifiedAttestation.predicate_kind`).
KIND_CYCLONEDX = "cyclonedx"
KIND_SPDX = "spdx"
KIND_SLSA_PROVENANCE = "slsa-provenance"
KIND_VSA = "vsa"
KIND_OTHER = "other"


@dataclass(frozen=True)
class TrustMaterial:
    """What signatures are checked against."""

    trusted_root: bytes | None = None
    """A Sigstore `trusted_root.json`; None means the production root shipped with sigstore."""
    keys: tuple[tuple[str, bytes], ...] = ()
    """Managed public keys as (name, PEM), e.g. the `--key` file or the keys named in a policy."""
    tlog_threshold: int = 1
    """Keyless: verified transparency-log entries required (0 or 1)."""
    timestamp_threshold: int = 0
    """Keyless: verified RFC 3161 timestamps required."""


@dataclass(frozen=True)
class Signer:
    """Who verifiably signed, as the policy sees it."""

    kind: str
    """`keyless` (Fulcio certificate) or `key` (managed key)."""
    identity: str = ""
    """Keyless: the certificate's SAN (email or URI)."""
    issuer: str = ""
    """Keyless: the OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8, or .1 for old certs)."""
    claims: tuple[tuple[str, str], ...] = ()
    """Keyless: every Fulcio extension present, by name (`source_repository_uri`,
    `source_repository_ref`, `build_signer_uri`, `build_trigger`, `runner_environment`, ...),
    sorted by name."""
    key_hint: str = ""
    """Key: base64(sha256(DER SubjectPublicKeyInfo)) of the verifying key."""
    key_name: str = ""
    """Key: the name of the `TrustMaterial.keys` entry that verified the signature."""
    signed_at: int | None = None
    """Verified signing time (transparency-log integration time or RFC 3161 timestamp), Unix
    seconds; None for an offline managed-key bundle."""
    transparency_log: bool = False
    """True when a transparency-log entry was present and verified."""
    timestamped: bool = False
    """True when an RFC 3161 timestamp was present and verified."""

    def claim(self, name: str) -> str | None:
        """A Fulcio claim by name, or None."""
        return dict(self.claims).get(name)


@dataclass(frozen=True)
class VerifiedSignature:
    """A bundle over the artifact itself (`messageSignature`), verified."""

    bundle: str
    """Name of the bundle (file name or label), for reports."""
    signer: Signer
    sha256: str
    """The artifact digest the signature covers (lowercase hex)."""


@dataclass(frozen=True)
class Subject:
    """One in-toto statement subject."""

    name: str
    digests: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class VerifiedAttestation:
    """A DSSE bundle whose signature and subject were verified."""

    bundle: str
    signer: Signer
    statement_type: str
    """`https://in-toto.io/Statement/v1` or `.../v0.1`."""
    predicate_type: str
    """As written in the statement."""
    predicate_kind: str
    """One of the `KIND_*` constants."""
    subjects: tuple[Subject, ...]
    predicate: Any
    """The predicate JSON (after unwrapping cosign's `{"Data": ...}` and string SBOMs)."""
    sbom: Inventory | None = None
    """For SBOM predicates: the SBOM read into the inventory model."""
    sbom_document: bytes | None = None
    """For SBOM predicates: the SBOM document bytes as attested."""
    payload_sha256: str = ""
    """sha256 of the DSSE payload, to detect replays and record VSA inputs."""


@dataclass(frozen=True)
class BundleFailure:
    """A bundle that could not be verified, and why."""

    bundle: str
    reason: str


@dataclass(frozen=True)
class ArtifactEvidence:
    """Everything verified about one artifact, the input of the policy."""

    name: str
    sha256: str
    """The artifact's sha256 (hex); empty when it was named by another digest only."""
    inventory: Inventory | None = None
    """The artifact's own inventory when the file is present (None for `sha256:<hex>`)."""
    signatures: tuple[VerifiedSignature, ...] = ()
    attestations: tuple[VerifiedAttestation, ...] = ()
    failures: tuple[BundleFailure, ...] = field(default_factory=tuple)
    digests: tuple[tuple[str, str], ...] = ()
    """Other digests of the artifact, (algorithm, hex): its sha512 when known."""

    @property
    def known_digests(self) -> dict[str, str]:
        """Every digest known, by algorithm (`sha256` included when known)."""
        return {**({"sha256": self.sha256} if self.sha256 else {}), **dict(self.digests)}

    @property
    def label(self) -> str:
        """`sha256:<hex>`, or the digest the artifact was named by."""
        algorithm, hexdigest = next(iter(self.known_digests.items()), ("sha256", ""))
        return f"sha256:{self.sha256}" if self.sha256 else f"{algorithm}:{hexdigest}"

    def is_subject(self, digests: Mapping[str, str]) -> bool:
        """Whether an in-toto subject with `digests` is this artifact (any shared algorithm,
        all shared algorithms equal)."""
        return intoto.digests_match(self.known_digests, digests)
