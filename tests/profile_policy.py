"""A policy that requires a buyer's SBOM profile, evaluated on one attested document: what
the BSI and OpenChain Telco tests share."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

_POLICY = """\
apiVersion: sbomsign.dev/v1
kind: Policy
metadata: {{name: {profile}}}
spec:
  signers:
    release: {{keyless: {{issuer: "https://issuer.example", identity: rel@example.org}}}}
  attestations: [{{type: sbom}}]
  sbom: {{profile: {profile}}}
"""


def profile_results(profile: str, document: bytes, predicate_kind: str,
                    predicate_type: str) -> dict[str, Any]:
    """The policy's results by rule, for `document` attested by an allowed keyless signer."""
    from sbomsign import policy, verify

    pol = policy.load(_POLICY.format(profile=profile).encode(), source=f"{profile}.yaml")
    signer = verify.Signer(kind="keyless", identity="rel@example.org",
                           issuer="https://issuer.example")
    att = verify.VerifiedAttestation(
        bundle="sbom.sigstore.json", signer=signer,
        statement_type="https://in-toto.io/Statement/v1",
        predicate_type=predicate_type, predicate_kind=predicate_kind,
        subjects=(verify.Subject("app", (("sha256", "1" * 64),)),),
        predicate=json.loads(document), sbom=None, sbom_document=document)
    evidence = verify.ArtifactEvidence(name="app", sha256="1" * 64, attestations=(att,))
    now = datetime(2026, 1, 2, tzinfo=UTC)
    return {r.rule: r for r in policy.evaluate(pol, evidence, now=now)}
