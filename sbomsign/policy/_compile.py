"""Compiling a validated policy document into the `_Spec` that evaluation reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sbomsign.errors import InputError
from sbomsign.policy._describe import _json_path
from sbomsign.policy._model import _SBOM_KINDS, _Match, _Spec
from sbomsign.policy.rules import attestations as _attestations
from sbomsign.policy.rules import binary as _binary
from sbomsign.policy.rules import cel as _cel
from sbomsign.policy.rules import provenance as _provenance
from sbomsign.policy.rules import sbom as _sbom
from sbomsign.policy.rules import signatures as _signatures
from sbomsign.verify import KIND_SLSA_PROVENANCE


class _Builder:
    """Turns the validated document into the compiled `_Spec`; errors name the JSON path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: Sequence[Any], message: str) -> InputError:
        return InputError(f"{self.source}: {_json_path(path)}: {message}")

    def regexp(self, text: str, path: Sequence[Any]) -> re.Pattern[str]:
        try:
            return re.compile(text)
        except re.error as e:
            raise self.fail(path, f"bad regular expression: {e}") from e

    def match(self, obj: Mapping[str, Any], key: str, path: Sequence[Any]) -> _Match | None:
        if key in obj:
            return _Match(exact=obj[key])
        if key + "Regexp" in obj:
            return _Match(regexp=self.regexp(obj[key + "Regexp"], [*path, key + "Regexp"]))
        return None

    def spec(self, doc: Mapping[str, Any], *, flags: bool) -> _Spec:
        path: list[Any] = ["spec"]
        signers = tuple(
            _signatures.compile_signer(self, name, entry, [*path, "signers", name])
            for name, entry in (doc.get("signers") or {}).items()
        )
        names = tuple(s.name for s in signers)
        signature = None
        if "artifactSignature" in doc:
            signature = _attestations.compile_requirement(
                self, "", doc["artifactSignature"], names, [*path, "artifactSignature"]
            )
        required = _attestations.compile_attestations(self, doc, names, path)
        if not ((signature is not None and signature.required) or any(
            a.required for a in required
        )):
            raise self.fail(
                path,
                "the policy requires no artifact signature and no attestation, "
                "so it would pass an unsigned artifact",
            )
        provenance = None
        if "provenance" in doc:
            provenance = _provenance.compile_provenance(
                self, doc["provenance"], [*path, "provenance"]
            )
            _attestations.compile_needs_kind(
                self, required, (KIND_SLSA_PROVENANCE,), [*path, "provenance"], "slsa-provenance"
            )
        sbom = _sbom.compile_sbom(self, doc["sbom"], [*path, "sbom"]) if "sbom" in doc else None
        if sbom is not None and sbom.needs_sbom:
            _attestations.compile_needs_kind(
                self, required, _SBOM_KINDS, [*path, "sbom"], "cyclonedx or spdx"
            )
        binary = _binary.compile_binary(self, doc["binary"]) if "binary" in doc else None
        rules = _cel.compile_rules(self, doc.get("rules") or [], [*path, "rules"])
        verification = doc.get("verification") or {}
        return _Spec(
            signers, signature, required, provenance, sbom, binary, rules, from_flags=flags,
            thresholds=(verification.get("tlogThreshold"),
                        verification.get("timestampThreshold")),
        )
