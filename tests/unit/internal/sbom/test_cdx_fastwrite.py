"""The direct CycloneDX JSON writer against cyclonedx-python-lib's, byte for byte.

`fastwrite` exists only to be faster; any difference from the library's document is a bug.
These cases run both writers on the hand-built subjects under every option that changes the
document; the image subjects are compared in `tests/integration/test_images.py`, and every
fixture's golden document is written by `fastwrite` too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sbom_samples as s
from cyclonedx.model.component_evidence import AnalysisTechnique

from sbomsign._internal.sbom.common import Options, make_subject
from sbomsign._internal.sbom.cyclonedx import fastwrite, library, origin
from sbomsign.models import Component, ComponentKind, Evidence, Linking

WHEN = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)

OPTIONS = {
    "plain": Options(timestamp=WHEN, tool_version="9.9.9"),
    "no-tool-version": Options(timestamp=WHEN, tool_version=""),
    "people": Options(timestamp=WHEN, tool_version="1", supplier="Organization: Acme (a@b.c)",
                      author="Person: Jane Doe (jane@example.com)"),
    "names-only": Options(timestamp=WHEN, tool_version="1", supplier="Acme", author="Team"),
    "bsi": Options(timestamp=WHEN, tool_version="1", supplier="Acme", profile="bsi"),
    "offset-and-fraction": Options(
        timestamp=datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2))),
        tool_version="1"),
}


def _both(subject: s.Subject, options: Options, spec: str) -> tuple[bytes, bytes]:
    lib = library.write(subject, replace(options, spec_version=spec), xml=False)
    fast = fastwrite.write(subject, replace(options, spec_version=spec), spec)
    return lib, fast


def _odd_components() -> s.Subject:
    """Duplicate findings, equal methods, unknown techniques, versionless and same-named
    components: the places where the library's sorted sets decide order and collapse."""
    ev = (Evidence("binary-analysis", 0.8, "strings", "/x", 7),
          Evidence("binary-analysis", 0.8, "strings", "/x", 7),
          Evidence("made-up-technique", 0.3333, "guess", note="weak"),
          Evidence("manifest-analysis", 1.0, "db", "/var/lib/dpkg/status"))
    extra = (
        Component(ComponentKind.SHARED_LIBRARY, "libz.so.1", linking=Linking.DYNAMIC,
                  found_by="DT_NEEDED", evidence=ev),
        Component(ComponentKind.PACKAGE, "zlib", "", "", found_by="classifier",
                  properties=(("b", "2"), ("a", "1"), ("a", "1")), licenses=("Zlib", "MIT")),
        Component(ComponentKind.OS_PACKAGE, "zlib", "1.3", "pkg:generic/zlib@1.3",
                  supplier="Zlib authors", cpe="cpe:2.3:a:zlib:zlib:1.3:*:*:*:*:*:*:*"),
        # Licences declared by names that are no SPDX identifiers.
        Component(ComponentKind.OS_PACKAGE, "tzdata", "2024a", "pkg:deb/debian/tzdata@2024a",
                  license_names=("GPL", "public-domain")),
    )
    art = s.c_artifact()
    art = replace(art, components=tuple(sorted(art.components + extra, key=lambda c: c.ref)))
    return make_subject([art], merge=False)


SUBJECTS = {**s.SUBJECTS, "odd-components": _odd_components}


@pytest.mark.parametrize("spec", ["1.6", "1.7"])
@pytest.mark.parametrize("opts", sorted(OPTIONS))
@pytest.mark.parametrize("name", sorted(SUBJECTS))
def test_same_bytes_as_the_library(name: str, opts: str, spec: str) -> None:
    lib, fast = _both(SUBJECTS[name](), OPTIONS[opts], spec)
    assert fast == lib


def test_what_it_does_not_write_goes_to_the_library() -> None:
    subject = s.SUBJECTS["go"]()
    with pytest.raises(fastwrite.Unsupported):
        fastwrite.write(subject, OPTIONS["plain"], "1.5")
    # Two components of one purl (so one bom-ref): the library would rename one of them.
    first = subject.components[0]
    clash = replace(first, name=first.name + "-other")
    assert clash.ref == first.ref
    with pytest.raises(fastwrite.Unsupported):
        fastwrite.write(replace(subject, components=(clash, *subject.components)),
                        OPTIONS["plain"], "1.6")


def test_the_codec_writes_json_directly_and_xml_through_the_library(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sbomsign._internal.sbom.cyclonedx import CODEC, JSON, XML

    subject = s.SUBJECTS["merged"]()
    expected = library.write(subject, OPTIONS["plain"], xml=False)

    def refuse(*_: object, **__: object) -> bytes:
        raise AssertionError("the library was asked to write JSON")

    monkeypatch.setattr(library, "write", refuse)
    assert CODEC.write(subject, OPTIONS["plain"], JSON) == expected
    with pytest.raises(AssertionError):
        CODEC.write(subject, OPTIONS["plain"], XML)


def test_techniques_are_the_librarys() -> None:
    assert origin.TECHNIQUES == {t.value for t in AnalysisTechnique}


def test_licence_names_are_written_and_read_back() -> None:
    """A package whose licences are names (not SPDX identifiers) has them as CycloneDX
    licence names; both readers give them back as names, not as SPDX licences."""
    import json

    from sbomsign import sbom

    lib, fast = _both(_odd_components(), OPTIONS["plain"], "1.6")
    assert fast == lib
    tzdata = next(c for c in json.loads(fast)["components"]
                  if c["name"] == "tzdata")
    assert tzdata["licenses"] == [
        {"license": {"acknowledgement": "declared", "name": "GPL"}},
        {"license": {"acknowledgement": "declared", "name": "public-domain"}}]
    for via_library in (False, True):
        inventory = sbom.read(fast, via_library=via_library)
        (read,) = [c for a in inventory.artifacts for c in a.components if c.name == "tzdata"]
        assert (read.licenses, read.license_names) == ((), ("GPL", "public-domain"))
