"""Stage 5: the policy — who may sign, what must be attested, and rules over what was verified.

A policy is a YAML document (`apiVersion: sbomsign.dev/v1`, `kind: Policy`) validated by the
JSON Schema shipped with the package (`schema()`: the frame `sbomsign/policy/schema.json`
plus each rule family's part, `rules/<family>.schema.json`); unknown keys
are errors. `policies/README.md` documents every key, with examples.

- `load` reads a policy file's bytes; `from_flags` turns `--certificate-identity`,
  `--certificate-oidc-issuer`, `--key` ... into the same kind of `Policy`.
- `evaluate` judges one artifact's `ArtifactEvidence` (what `sbomsign.verify` proved) and
  returns one `RuleResult` per check. It is pure: no files, no network, no clock (`now` is
  given).

Layout: `_load` (YAML, schema, `from_flags`), `_describe` (schema errors as prose),
`_compile` (document → `_Spec`), `_evaluate` (the evaluation context), and `rules/`: one
module per rule family, each with the checks of its part of the policy, run in the order of
the registry `rules.FAMILIES`.

The gate fails closed: a required item that is missing, present only as a bundle that failed
verification, signed by someone not allowed, or a rule that cannot be checked (no file for a
binary rule, no SBOM, a CEL error, an unreadable version) gives a failed result with the
reason. Nothing in this module reads files: key files named by a policy are read by the
caller (`Policy.key_files`, then `Policy.with_keys`).

Rule ids (`RuleResult.rule`), stable for reports and SARIF:
`bundle`, `signature`, `attestation[<type>]`, `provenance.builderId`,
`provenance.sourceRepository`, `provenance.ref`, `sbom.describesArtifact`, `sbom.coversBinary`,
`sbom.ntia`, `sbom.maxAge`, `sbom.deny`, `sbom.minimumVersions`, `sbom.allowedLicenses`,
`binary.architectures`, `binary.pie`, `binary.nx`, `binary.relro`, `binary.stackProtector`,
`binary.fortify`, `binary.static`, `binary.cgo`, `binary.stripped`, `binary.goVersion`,
`rules[<name>]`.
"""

from __future__ import annotations

from sbomsign.policy._evaluate import evaluate as evaluate
from sbomsign.policy._load import from_flags as from_flags
from sbomsign.policy._load import load as load
from sbomsign.policy._load import schema as schema
from sbomsign.policy._model import API_VERSION as API_VERSION
from sbomsign.policy._model import Policy as Policy
from sbomsign.policy._model import RuleResult as RuleResult

__all__ = ["API_VERSION", "Policy", "RuleResult", "evaluate", "from_flags", "load", "schema"]
