"""Where a CycloneDX component comes from: its evidence (how sbomsign found it, where in the
file, how sure) and its pedigree (for a replaced Go module, the module its go.mod required).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sbomsign._internal.binary.detectors.golang.components import P_REQUIRED_VERSION
from sbomsign._internal.purl import GO_PLACEHOLDER_VERSION, golang_purl
from sbomsign.errors import SbomError
from sbomsign.models import Component, Evidence

if TYPE_CHECKING:
    from cyclonedx.model.component import Pedigree
    from cyclonedx.model.component_evidence import ComponentEvidence

    from sbomsign.models import Replacement


def purl(text: str) -> Any:
    """The library's `PackageURL` of a purl string (None for ""); a bad one is an SbomError."""
    if not text:
        return None
    from packageurl import PackageURL

    try:
        return PackageURL.from_string(text)
    except ValueError as e:
        raise SbomError(f"cannot write purl {text!r}: {e}") from e


@dataclass(frozen=True)
class Ancestor:
    """A replaced Go module's pedigree, as plain values: the module its go.mod required."""

    name: str
    version: str
    ref: str
    purl: str
    notes: str


def ancestor(c: Component, rep: Replacement) -> Ancestor:
    """The module a replaced Go module's go.mod required, as the ancestor the compiled code
    stands in for, and the directive as notes."""
    required = dict(c.properties).get(P_REQUIRED_VERSION, c.version)
    target = " ".join(x for x in (rep.path, rep.version) if x)
    real = required if required and required != GO_PLACEHOLDER_VERSION else ""
    return Ancestor(c.name, real, f"{c.ref}#required", golang_purl(c.name, real) if real else "",
                    f"go.mod replace directive: {c.name} {required} => {target}")


def pedigree(c: Component, rep: Replacement) -> Pedigree:
    """A replaced Go module's pedigree (see `ancestor`), as the library's object."""
    from cyclonedx.model.component import Component as CdxComponent
    from cyclonedx.model.component import ComponentType, Pedigree

    a = ancestor(c, rep)
    cdx = CdxComponent(type=ComponentType.LIBRARY, name=a.name, version=a.version or None,
                       bom_ref=a.ref, purl=purl(a.purl))
    return Pedigree(ancestors=[cdx], notes=a.notes)


@dataclass(frozen=True)
class Finding:
    """A component's evidence as plain values: its identity, and where it was seen."""

    field: str
    """`purl` or `name`."""
    confidence: Decimal
    concluded: str | None
    methods: tuple[tuple[str, Decimal, str], ...]
    """(technique, confidence, value), in the order found."""
    occurrences: tuple[tuple[str, str, int | None, str | None], ...]
    """(bom-ref, location, offset, additional context)."""


#: The analysis techniques CycloneDX names; any other is written as `other`.
TECHNIQUES = frozenset({
    "source-code-analysis", "binary-analysis", "manifest-analysis", "ast-fingerprint",
    "hash-comparison", "instrumentation", "dynamic-analysis", "filename", "attestation",
    "other",
})


def finding(c: Component, spec: str) -> Finding:
    """How the component was found (identity and occurrences), in CycloneDX `spec`."""
    found = c.evidence or (
        # NOTE: every component gets evidence; one without a recorded finding was still found
        # by reading the binary, but how sure that is was not recorded: say so.
        Evidence("binary-analysis", 0.5, c.found_by or "binary analysis",
                 note="no confidence recorded"),
    )
    methods = tuple(
        (e.technique if e.technique in TECHNIQUES else "other", confidence(e.confidence),
         e.source + (f" ({e.note})" if e.note else ""))
        for e in found
    )
    # NOTE: the library sorts occurrences by bom-ref first, and occurrences without one
    # compare neither less nor equal, which leaves their order to chance; numbered bom-refs
    # keep the document reproducible (and make each occurrence addressable).
    located = [e for e in found if e.location or e.offset is not None]
    occurrences = tuple(
        (f"{c.ref}#occurrence-{i:04d}", e.location or e.source, e.offset,
         e.source if e.location else None)
        for i, e in enumerate(located)
    )
    return Finding(
        field="purl" if c.purl else "name",
        confidence=max(confidence(e.confidence) for e in found),
        concluded=(c.purl or c.name) if spec != "1.5" else None,
        methods=methods,
        occurrences=occurrences,
    )


def evidence(c: Component, spec: str) -> ComponentEvidence:
    """How the component was found (see `finding`), as the library's object."""
    from cyclonedx.model.component_evidence import (
        AnalysisTechnique,
        ComponentEvidence,
        Identity,
        IdentityField,
        Method,
        Occurrence,
    )

    f = finding(c, spec)
    identity = Identity(
        field=IdentityField(f.field),
        confidence=f.confidence,
        concluded_value=f.concluded,
        methods=[Method(technique=AnalysisTechnique(t), confidence=conf, value=value)
                 for t, conf, value in f.methods],
    )
    occurrences = [
        Occurrence(bom_ref=ref, location=location, offset=offset, additional_context=context)
        for ref, location, offset, context in f.occurrences
    ]
    return ComponentEvidence(identity=[identity], occurrences=occurrences)


def confidence(value: float) -> Decimal:
    """A confidence in [0, 1], as the decimal CycloneDX writes."""
    return Decimal(str(round(min(max(value, 0.0), 1.0), 3)))
