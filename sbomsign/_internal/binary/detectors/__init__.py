"""Language and package detectors, registered once and run over any format's `Facts`.

Each detector is a module with a `detect(facts) -> Detection` function; `DETECTORS` lists
them in the order their components are reported. A new language or package ecosystem is one
module here and one line in `DETECTORS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from sbomsign._internal.binary.detectors import (
    classifiers,
    golang,
    linkage,
    package_notes,
    rust,
    rust_paths,
    version_resource,
)
from sbomsign._internal.binary.facts import Detection, Facts
from sbomsign.models import Component, ComponentKind

Detector = Callable[[Facts], Detection]

#: Every detector, in the order of the components they add.
DETECTORS: tuple[Detector, ...] = (
    golang.detect,
    rust.detect,
    rust_paths.detect,
    package_notes.detect,
    version_resource.detect,
    classifiers.detect,
    linkage.detect,
)


def run(facts: Facts) -> Detection:
    """Run every detector over `facts` and put their findings together."""
    found = [detect(facts) for detect in DETECTORS]
    return Detection(
        components=_one_per_package(c for d in found for c in d.components),
        go=next((d.go for d in found if d.go is not None), None),
        rust=next((d.rust for d in found if d.rust is not None), None),
        warnings=tuple(w for d in found for w in d.warnings),
        errors=tuple(e for d in found for e in d.errors),
    )


def _one_per_package(components: Iterable[Component]) -> tuple[Component, ...]:
    """The components, a package that two detectors name (zlib1.dll's version resource and
    its deflate banner) once: the first finding, completed by the later ones' identifiers and
    evidence."""
    out: list[Component] = []
    seen: dict[tuple[str, str], int] = {}
    for c in components:
        key = (c.name.lower(), c.version)
        if c.kind is not ComponentKind.PACKAGE or not c.version:
            out.append(c)
        elif key not in seen:
            seen[key] = len(out)
            out.append(c)
        else:
            first = out[seen[key]]
            out[seen[key]] = replace(first, purl=first.purl or c.purl, cpe=first.cpe or c.cpe,
                                     supplier=first.supplier or c.supplier,
                                     evidence=first.evidence + c.evidence)
    return tuple(out)
