"""Linked libraries as components: DT_NEEDED, PE imports, Mach-O dylibs, dlopen notes."""

from __future__ import annotations

from collections.abc import Iterable

from sbomsign._internal.binary.facts import Detection, Facts
from sbomsign.models import Component, ComponentKind, Evidence, LinkedLibrary, Linking


def detect(facts: Facts) -> Detection:
    """One component per library the image links or may `dlopen()`."""
    return Detection(components=library_components(facts.libraries, facts.library_location))


def library_components(libraries: Iterable[LinkedLibrary], location: str) -> tuple[Component, ...]:
    """One component per linked library, recording how the binary names it."""
    out: dict[str, Component] = {}
    for lib in libraries:
        linking = Linking.DLOPEN if lib.how == "FDO dlopen note" else Linking.DYNAMIC
        props: list[tuple[str, str]] = []
        if lib.priority:
            props.append(("sbomsign:dlopen:priority", lib.priority))
        if lib.feature:
            props.append(("sbomsign:dlopen:feature", lib.feature))
        comp = Component(
            kind=ComponentKind.SHARED_LIBRARY,
            name=lib.name,
            linking=linking,
            scope="optional" if linking is Linking.DLOPEN else "runtime",
            found_by=lib.how,
            properties=tuple(sorted(props)),
            evidence=(
                Evidence(
                    technique="binary-analysis",
                    confidence=1.0 if linking is Linking.DYNAMIC else 0.8,
                    source=lib.how,
                    location=location if linking is Linking.DYNAMIC else ".note.dlopen",
                ),
            ),
        )
        out.setdefault(comp.ref, comp)
    return tuple(out.values())
