"""Evaluating a compiled policy against one artifact's verified evidence."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sbomsign.policy._context import Evaluation
from sbomsign.policy._model import Policy, RuleResult
from sbomsign.policy.rules import FAMILIES
from sbomsign.verify import ArtifactEvidence


def evaluate(policy: Policy, evidence: ArtifactEvidence, *, now: datetime,
             families: Collection[str] | None = None) -> list[RuleResult]:
    """Judge one artifact's verified evidence against the policy.

    Returns one result per check, in a stable order: bundle failures, then each rule family of
    `rules.FAMILIES` in turn (the artifact signature, attestations, provenance, SBOM, binary
    and custom rules). The artifact passes when every result passed. `now` (timezone-aware)
    is used for `maxAge` and CEL's `now`. `families` (names in `rules.FAMILIES`) limits the
    rules to those families: an image index verified with its platforms answers for its
    signature only, its platforms for their contents.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    ev = Evaluation(policy._spec, evidence, now)
    for f in evidence.failures:
        ev.add("bundle", False, f"could not be verified: {f.reason}", f.bundle)
    for family in FAMILIES:
        if families is None or family.name in families:
            family.check(ev)
    return ev.results
