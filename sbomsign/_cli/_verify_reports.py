"""The reports of `sbomsign verify`: text, JSON, SARIF, JUnit XML and GitLab Code Quality,
and the verification summary attestation's statement, all rendered from the same outcomes."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, assert_never

from sbomsign._cli import _ci_reports

if TYPE_CHECKING:
    from sbomsign.policy import Policy, RuleResult
    from sbomsign.verify import ArtifactEvidence

#: Identifier of the JSON report's shape (`--format json`).
REPORT_SCHEMA = "https://sbomsign.dev/schemas/verify-report/v1"
#: `verifier.id` in the verification summary attestations we write.
VERIFIER_ID = "https://sbomsign.dev/verifier"


class ReportFormat(enum.StrEnum):
    """Output formats of `verify`."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    GITLAB_CODEQUALITY = "gitlab-codequality"


@dataclass(frozen=True)
class Outcome:
    """The verdict on one artifact."""

    evidence: ArtifactEvidence
    results: tuple[RuleResult, ...]

    @property
    def passed(self) -> bool:
        """True when every rule passed (and there was at least one)."""
        return bool(self.results) and all(r.passed for r in self.results)


def render(fmt: ReportFormat, outcomes: list[Outcome], pol: Policy, now: datetime) -> bytes:
    """The report in format `fmt`."""
    if fmt is ReportFormat.TEXT:
        return render_text(outcomes, pol).encode()
    if fmt is ReportFormat.JSON:
        return json.dumps(report_json(outcomes, pol, now), indent=2).encode() + b"\n"
    if fmt is ReportFormat.SARIF:
        return json.dumps(report_sarif(outcomes, pol), indent=2).encode() + b"\n"
    if fmt is ReportFormat.JUNIT:
        return _ci_reports.report_junit(outcomes, pol, now)
    if fmt is ReportFormat.GITLAB_CODEQUALITY:
        return _ci_reports.report_codequality(outcomes, pol)
    assert_never(fmt)  # pragma: no cover


def render_text(outcomes: list[Outcome], pol: Policy) -> str:
    """One line per rule, grouped per artifact."""
    lines: list[str] = [f"policy {pol.name} (sha256:{pol.digest})"]
    for o in outcomes:
        verdict = "PASSED" if o.passed else "FAILED"
        lines.append(f"{o.evidence.name}  {o.evidence.label}  {verdict}")
        for r in o.results:
            mark = "pass" if r.passed else "FAIL"
            where = f" [{r.bundle}]" if r.bundle else ""
            lines.append(f"  {mark}  {r.rule}: {r.message}{where}")
        if not o.results:
            lines.append("  FAIL  policy: the policy checked nothing")
    passed = sum(o.passed for o in outcomes)
    lines.append(f"{passed} of {len(outcomes)} artifacts passed")
    return "\n".join(lines) + "\n"


def _signer_json(s: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": s.kind}
    if s.kind == "keyless":
        out.update(identity=s.identity, issuer=s.issuer, claims=dict(s.claims))
    else:
        out.update(keyHint=s.key_hint, key=s.key_name)
    out.update(signedAt=s.signed_at, transparencyLog=s.transparency_log, timestamped=s.timestamped)
    return out


def report_json(outcomes: list[Outcome], pol: Policy, now: datetime) -> dict[str, Any]:
    """The machine-readable report (schema `REPORT_SCHEMA`)."""
    from sbomsign import __version__

    return {
        "schema": REPORT_SCHEMA,
        "tool": {"name": "sbomsign", "version": __version__},
        "timeVerified": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "policy": {"name": pol.name, "digest": {"sha256": pol.digest}},
        "verdict": "PASSED" if all(o.passed for o in outcomes) else "FAILED",
        "artifacts": [
            {
                "name": o.evidence.name,
                "digest": o.evidence.known_digests,
                "verdict": "PASSED" if o.passed else "FAILED",
                "results": [
                    {
                        "rule": r.rule,
                        "passed": r.passed,
                        "message": r.message,
                        **({"bundle": r.bundle} if r.bundle else {}),
                    }
                    for r in o.results
                ],
                "signatures": [
                    {"bundle": s.bundle, "signer": _signer_json(s.signer)}
                    for s in o.evidence.signatures
                ],
                "attestations": [
                    {
                        "bundle": a.bundle,
                        "predicateType": a.predicate_type,
                        "kind": a.predicate_kind,
                        "signer": _signer_json(a.signer),
                        "payloadDigest": {"sha256": a.payload_sha256},
                    }
                    for a in o.evidence.attestations
                ],
                "failures": [{"bundle": f.bundle, "reason": f.reason} for f in o.evidence.failures],
            }
            for o in outcomes
        ],
    }


def report_schema() -> dict[str, Any]:
    """The JSON Schema of the `--format json` report (shipped with the package)."""
    from importlib import resources

    text = resources.files("sbomsign._cli").joinpath("verify_report_schema.json")
    loaded: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return loaded


def report_sarif(outcomes: list[Outcome], pol: Policy) -> dict[str, Any]:
    """SARIF 2.1.0: one result per failed rule, located at the artifact, for code scanning."""
    from sbomsign import __version__

    rule_ids = sorted({r.rule for o in outcomes for r in o.results})
    results: list[dict[str, Any]] = []
    for o in outcomes:
        for r in o.results:
            if r.passed:
                continue
            results.append(
                {
                    "ruleId": r.rule,
                    "ruleIndex": rule_ids.index(r.rule),
                    "level": "error",
                    "message": {"text": f"{o.evidence.name}: {r.message}"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": _uri(r.bundle or o.evidence.name)},
                            }
                        }
                    ],
                    "partialFingerprints": {
                        "artifactDigest/v1": o.evidence.sha256 or o.evidence.label,
                    },
                }
            )
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "sbomsign",
                        "version": __version__,
                        "informationUri": "https://sbomsign.dev",
                        "rules": [
                            {"id": rid, "shortDescription": {"text": rid}} for rid in rule_ids
                        ],
                    }
                },
                "properties": {"policy": pol.name, "policyDigest": f"sha256:{pol.digest}"},
                "results": results,
            }
        ],
    }


def _uri(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="/:@")


def vsa_statement(outcomes: list[Outcome], pol: Policy, now: datetime) -> bytes:
    """An in-toto Statement v1 with a SLSA VSA v1 predicate recording the verdict."""
    from sbomsign import sign

    passed = all(o.passed for o in outcomes)
    inputs: list[dict[str, Any]] = []
    for o in outcomes:
        inputs.extend(
            {"uri": a.bundle, "digest": {"sha256": a.payload_sha256}}
            for a in o.evidence.attestations
        )
    predicate = {
        "verifier": {"id": VERIFIER_ID},
        "timeVerified": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resourceUri": outcomes[0].evidence.name if len(outcomes) == 1 else "",
        "policy": {"uri": pol.source, "digest": {"sha256": pol.digest}},
        "inputAttestations": inputs,
        "verificationResult": "PASSED" if passed else "FAILED",
        "verifiedLevels": ["SBOMSIGN_POLICY_PASSED" if passed else "SBOMSIGN_POLICY_FAILED"],
    }
    subjects = [(Path(o.evidence.name).name, o.evidence.known_digests) for o in outcomes]
    return sign.statement(subjects, sign.PREDICATE_VSA, predicate)


