"""Policy rule families, one module each, evaluated in the order of `FAMILIES`.

A family module has the checks of its part of the policy and a `check(ev)` entry point that
adds its `RuleResult`s to the shared `Evaluation`. Adding a family is one module here and one
line in `FAMILIES` (plus its part of `schema.json` and of the compiled `_Spec`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sbomsign.policy._context import Evaluation
from sbomsign.policy.rules import attestations, binary, cel, provenance, sbom, signatures


@dataclass(frozen=True)
class RuleFamily:
    """One family of policy rules."""

    name: str
    check: Callable[[Evaluation], None]


#: The rule families, in the order their results are reported.
FAMILIES: tuple[RuleFamily, ...] = (
    RuleFamily("signatures", signatures.check),
    RuleFamily("attestations", attestations.check),
    RuleFamily("provenance", provenance.check),
    RuleFamily("sbom", sbom.check),
    RuleFamily("binary", binary.check),
    RuleFamily("cel", cel.check),
)
