"""The evaluation context the rule families share: the evidence, the clock and the results.

`Evaluation` holds what one `evaluate` call judges and what earlier families accepted
(signatures, attestations), with the helpers several families use.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sbomsign.models import Artifact, Binary, Component, ComponentKind, Inventory
from sbomsign.policy._model import (
    _MAX_LISTED,
    _SBOM_KINDS,
    RuleResult,
    _purl_parts,
    _Requirement,
    _Spec,
)
from sbomsign.verify import ArtifactEvidence, Signer, VerifiedAttestation, VerifiedSignature


def _signer_text(s: Signer) -> str:
    if s.kind == "keyless":
        return f"{s.identity} (issuer {s.issuer})"
    return f"key {s.key_name or s.key_hint}"


class Evaluation:
    """One run of `evaluate`: collects the results."""

    def __init__(self, spec: _Spec, evidence: ArtifactEvidence, now: datetime) -> None:
        self.spec = spec
        self.ev = evidence
        self.now = now
        self.results: list[RuleResult] = []
        self.signers = {s.name: s for s in spec.signers}
        self.accepted_signatures: list[VerifiedSignature] = []
        self.accepted: list[VerifiedAttestation] = []

    def add(self, rule: str, passed: bool, message: str, bundle: str = "") -> None:
        self.results.append(RuleResult(rule, passed, " ".join(message.split()), bundle))

    # signers ------------------------------------------------------------------------

    def allowed(self, req: _Requirement, signer: Signer) -> tuple[bool, str]:
        reasons = []
        for name in req.signers:
            why = self.signers[name].mismatch(signer)
            if why is None:
                return True, f"signed by {_signer_text(signer)} (signer {name})"
            reasons.append(why)
        return False, (
            f"signed by {_signer_text(signer)}, not an allowed signer: " + "; ".join(reasons)
        )

    def unverified(self) -> str:
        if not self.ev.failures:
            return ""
        return (
            f" ({len(self.ev.failures)} bundle(s) failed verification: "
            + ", ".join(f.bundle for f in self.ev.failures[:_MAX_LISTED])
            + ")"
        )


    # provenance ---------------------------------------------------------------------


    # SBOM ---------------------------------------------------------------------------

    def own_artifact(self) -> Artifact | None:
        """The scanned artifact file, when it was present and is this digest."""
        inv = self.ev.inventory
        if inv is None:
            return None
        return next((a for a in inv.artifacts if a.digests.sha256 == self.ev.sha256), None)

    def sboms(self) -> list[VerifiedAttestation]:
        return [a for a in self.accepted if a.predicate_kind in _SBOM_KINDS]

    def sbom_artifact(self, inv: Inventory) -> Artifact | None:
        return next((a for a in inv.artifacts if a.digests.sha256 == self.ev.sha256), None)


    # binary -------------------------------------------------------------------------

    def binaries(self) -> tuple[Sequence[Binary], str] | None:
        """The binary facts to judge, and where they come from; None when there are none."""
        own = self.own_artifact()
        if own is not None and own.binaries:
            return own.binaries, ""
        if self.ev.inventory is not None:
            return None
        for att in self.sboms():
            if att.sbom is not None:
                described = self.sbom_artifact(att.sbom)
                if described is not None and described.binaries:
                    return described.binaries, f" (from the attested SBOM {att.bundle})"
        return None


def _component_label(c: Component) -> str:
    if c.purl:
        return c.purl
    return f"{c.name}@{c.version}" if c.version else c.name


def _component_version(c: Component) -> tuple[str, str]:
    """(version, scheme) of a component: the purl's version where it has one (for a replaced
    Go module, the replacement), else the component's."""
    from sbomsign._internal.versions import scheme_for

    parts = _purl_parts(c.purl)
    if parts is not None:
        ptype, namespace, name, _, version = parts
        return version or c.version, scheme_for(ptype, name, namespace)
    if c.kind is ComponentKind.GO_STDLIB:
        return c.version, "go"
    if c.kind in (ComponentKind.GO_MODULE, ComponentKind.GO_MAIN_MODULE, ComponentKind.RUST_CRATE):
        return c.version, "semver"
    return c.version, "generic"


def _signer_json(s: Signer) -> dict[str, Any]:
    return {
        "kind": s.kind,
        "identity": s.identity,
        "issuer": s.issuer,
        "claims": dict(s.claims),
        "keyHint": s.key_hint,
        "keyName": s.key_name,
        "signedAt": s.signed_at,
        # NOTE: celpy's timestamp() takes no integer, so the time is also given in RFC 3339.
        "signedTime": (
            datetime.fromtimestamp(s.signed_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if s.signed_at is not None
            else None
        ),
        "transparencyLog": s.transparency_log,
        "timestamped": s.timestamped,
    }


def _get(obj: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj
