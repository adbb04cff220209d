"""Where a CycloneDX component comes from: its evidence (how sbomsign found it, where in the
file, how sure) and its pedigree (for a replaced Go module, the module its go.mod required).
"""

from __future__ import annotations

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


def pedigree(c: Component, rep: Replacement) -> Pedigree:
    """A replaced Go module's pedigree: the module its go.mod required, as the ancestor the
    compiled code stands in for, and the directive as notes."""
    from cyclonedx.model.component import Component as CdxComponent
    from cyclonedx.model.component import ComponentType, Pedigree

    required = dict(c.properties).get(P_REQUIRED_VERSION, c.version)
    target = " ".join(x for x in (rep.path, rep.version) if x)
    real = required if required and required != GO_PLACEHOLDER_VERSION else ""
    ancestor = CdxComponent(type=ComponentType.LIBRARY, name=c.name, version=real or None,
                            bom_ref=f"{c.ref}#required",
                            purl=purl(golang_purl(c.name, real)) if real else None)
    return Pedigree(ancestors=[ancestor],
                    notes=f"go.mod replace directive: {c.name} {required} => {target}")


def evidence(c: Component, spec: str) -> ComponentEvidence:
    """How the component was found (identity and occurrences), in CycloneDX `spec`."""
    from cyclonedx.model.component_evidence import (
        AnalysisTechnique,
        ComponentEvidence,
        Identity,
        IdentityField,
        Method,
        Occurrence,
    )

    found = c.evidence or (
        # NOTE: every component gets evidence; one without a recorded finding was still found
        # by reading the binary, but how sure that is was not recorded: say so.
        Evidence("binary-analysis", 0.5, c.found_by or "binary analysis",
                 note="no confidence recorded"),
    )
    techniques = {t.value for t in AnalysisTechnique}
    methods = []
    for e in found:
        value = e.source + (f" ({e.note})" if e.note else "")
        technique = e.technique if e.technique in techniques else "other"
        methods.append(Method(technique=AnalysisTechnique(technique),
                              confidence=confidence(e.confidence), value=value))
    identity = Identity(
        field=IdentityField.PURL if c.purl else IdentityField.NAME,
        confidence=max(confidence(e.confidence) for e in found),
        concluded_value=(c.purl or c.name) if spec != "1.5" else None,
        methods=methods,
    )
    # NOTE: the library sorts occurrences by bom-ref first, and occurrences without one
    # compare neither less nor equal, which leaves their order to chance; numbered bom-refs
    # keep the document reproducible (and make each occurrence addressable).
    located = [e for e in found if e.location or e.offset is not None]
    occurrences = [
        Occurrence(
            bom_ref=f"{c.ref}#occurrence-{i:04d}",
            location=e.location or e.source,
            offset=e.offset,
            additional_context=e.source if e.location else None,
        )
        for i, e in enumerate(located)
    ]
    return ComponentEvidence(identity=[identity], occurrences=occurrences)


def confidence(value: float) -> Decimal:
    """A confidence in [0, 1], as the decimal CycloneDX writes."""
    return Decimal(str(round(min(max(value, 0.0), 1.0), 3)))
