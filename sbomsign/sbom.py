"""Stage 2: an `Inventory` to CycloneDX / SPDX documents, and documents back to an `Inventory`.

- `write` turns artifacts into one document: CycloneDX 1.6 (or 1.7, 1.5) JSON/XML, SPDX 2.3
  JSON/tag-value, or SPDX 3.0.1 JSON-LD. One artifact gives a document about it; several give
  one merged document (a multi-architecture release) with the shared components listed once.
- `read` loads a document back (ours, syft's, or another producer's), detecting the format.
- `ntia_problems` checks a document for the NTIA minimum elements.

Documents are reproducible: with the same inputs and `SOURCE_DATE_EPOCH` (or `timestamp`) the
bytes are identical, because serial numbers and namespaces are uuid5 of the artifact digests
and of the options, and every list is sorted.

sbomsign's own facts travel as properties named `sbomsign:*` (CycloneDX `properties`, SPDX
package `comment` lines `name=value`, SPDX 3 `extension_CdxPropertiesExtension` entries); see
`sbomsign._internal.sbom.common` for the names.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from sbomsign.errors import SbomError
from sbomsign.models import Artifact, Container, Inventory

if TYPE_CHECKING:
    from sbomsign._internal.sbom.common import Options

__all__ = [
    "PROFILE_CHECKS",
    "SbomFormat",
    "bsi_problems",
    "detect",
    "document_stem",
    "merged_name",
    "ntia_problems",
    "prepare",
    "read",
    "resolve_timestamp",
    "telco_problems",
    "write",
]


class SbomFormat(enum.StrEnum):
    """The document formats sbomsign writes and reads (each served by one codec)."""

    CYCLONEDX_JSON = "cyclonedx-json"
    CYCLONEDX_XML = "cyclonedx-xml"
    SPDX_JSON = "spdx-json"
    SPDX_TV = "spdx-tv"
    SPDX3_JSON = "spdx3-json"

    @property
    def suffix(self) -> str:
        """The file-name suffix of the format: `.cdx.json`, `.cdx.xml`, `.spdx.json`, `.spdx`,
        `.spdx3.json`."""
        from sbomsign._internal.sbom import codec_for

        return codec_for(self.value).formats[self.value]

    @property
    def family(self) -> str:
        """The format family (`cyclonedx`, `spdx`), as attestation predicates name it: SPDX 2
        and SPDX 3 are both `spdx`."""
        from sbomsign._internal.sbom import codec_for

        return codec_for(self.value).kind

    @property
    def is_cyclonedx(self) -> bool:
        """True for the two CycloneDX formats."""
        return self.family == "cyclonedx"


def _artifacts(subject: Inventory | Artifact | Sequence[Artifact]) -> list[Artifact]:
    if isinstance(subject, Inventory):
        return list(subject.artifacts)
    if isinstance(subject, Artifact):
        return [subject]
    return list(subject)


def write(
    inventory_or_artifacts: Inventory | Artifact | Sequence[Artifact],
    fmt: SbomFormat | str,
    *,
    supplier: str | None = None,
    author: str | None = None,
    spec_version: str | None = None,
    timestamp: datetime | None = None,
    merge: bool = False,
    container: Container | None = None,
    profile: str = "",
) -> bytes:
    """One SBOM document describing the given artifact(s), or a container, as bytes.

    Several artifacts always make one merged document (`merge=True` asks for that form even
    for one). An inventory of an image, archive or package (`Inventory.containers`)
    describes the container as the root, with its packages and binaries below it; one that
    holds several containers (the platforms of an index) needs `container` to say which.

    `supplier` and `author` (`Name`, `Person: Name (email)` or `Organization: Name (email)`)
    fill the NTIA supplier and author; without them the document
    is valid and says NOASSERTION where SPDX 2.3 asks (SPDX 3 leaves them out).
    `spec_version` is the CycloneDX version (`1.6` by default, `1.7` or `1.5`); SPDX is
    always 2.3 (`spdx3-json` 3.0.1). `timestamp` defaults to `SOURCE_DATE_EPOCH`, else the
    current time. `profile="bsi"` (CycloneDX 1.6 or later)
    adds what BSI TR-03183-2 v2.1.0 asks and a scan can know: the `bsi:component:*` file
    properties (see `bsi_problems` for what then still lacks). `profile="openchain-telco"`
    (SPDX 2.3, needs `supplier` and an organization as `author`) writes what the OpenChain
    Telco SBOM Guide requires, stating where each value comes from (see `telco_problems`).

    Raises:
        SbomError: no artifact, an unsupported format or spec version, or a bad name or
            `SOURCE_DATE_EPOCH`.
    """
    from sbomsign import __version__
    from sbomsign._internal.sbom import codec_for
    from sbomsign._internal.sbom.common import Options, make_subject

    try:
        fmt = SbomFormat(fmt)
    except ValueError as e:
        choices = ", ".join(f.value for f in SbomFormat)
        raise SbomError(f"unknown SBOM format {fmt!r} (use one of {choices})") from e
    container = container or _only_container(inventory_or_artifacts)
    if container is not None:
        if not isinstance(inventory_or_artifacts, Inventory):
            raise SbomError("a container's document is written from its inventory")
        subject = make_subject(inventory_or_artifacts.contents(container), merge=True,
                               container=container)
    else:
        artifacts = _artifacts(inventory_or_artifacts)
        subject = make_subject(artifacts, merge=merge or len(artifacts) > 1)
    options = Options(
        timestamp=resolve_timestamp(timestamp),
        tool_version=__version__,
        supplier=(supplier or "").strip(),
        author=(author or "").strip(),
        spec_version=(spec_version or "").strip(),
    )
    options = replace(options, profile=_profile(profile, fmt, options))
    return codec_for(fmt.value).write(subject, options, fmt.value)


def prepare(formats: Sequence[SbomFormat | str]) -> None:
    """Load what writing `formats` takes, so that the first `write` does not have to.

    For a caller with time to spare before it writes: the CLI calls it while a scan waits for
    its last files.

    Raises:
        SbomError: an unknown format.
    """
    from sbomsign._internal.sbom import (
        codec_for,
        common,  # noqa: F401 - imported to be loaded
    )

    for fmt in formats:
        codec_for(str(fmt)).prepare(str(fmt))


def _profile(profile: str, fmt: SbomFormat, options: Options) -> str:
    if not profile:
        return ""
    from sbomsign._internal.sbom import telco

    if profile == telco.NAME:
        if fmt not in (SbomFormat.SPDX_JSON, SbomFormat.SPDX_TV):
            raise SbomError("the openchain-telco profile is written in SPDX 2.3 (JSON or "
                            "tag-value): the OpenChain Telco SBOM Guide accepts only SPDX 2.2 "
                            "and 2.3")
        telco.require(options)
        return profile
    if profile != "bsi":
        raise SbomError(f"unknown profile {profile!r} (use bsi or openchain-telco)")
    if fmt not in (SbomFormat.CYCLONEDX_JSON, SbomFormat.CYCLONEDX_XML) \
            or options.spec_version == "1.5":
        raise SbomError("the bsi profile is written in CycloneDX 1.6 or later (BSI TR-03183-2 "
                        "v2.1.0 accepts CycloneDX from 1.6 and SPDX only from 3.0.1)")
    return profile


def _only_container(subject: Inventory | Artifact | Sequence[Artifact]) -> Container | None:
    if not isinstance(subject, Inventory) or not subject.containers:
        return None
    loose = [a for a in subject.artifacts if not a.container]
    if len(subject.containers) > 1 or loose:
        raise SbomError(f"the inventory holds {len(subject.containers)} image(s) or "
                        f"archive(s) and {len(loose)} other file(s): write one document each "
                        f"(container=...)")
    return subject.containers[0]


def document_stem(container: Container) -> str:
    """The file-name stem of a container's document: `<name>[-<tag>][-<os>-<arch>]` for an
    image (`demo-1.0-linux-loong64`), the file name (`app.tar.gz`) for archives and packages."""
    from sbomsign._internal.sbom.containers import document_stem as stem

    return stem(container)


def resolve_timestamp(timestamp: datetime | None = None) -> datetime:
    """The time an SBOM states: `timestamp`, else `SOURCE_DATE_EPOCH`, else now (UTC).

    Raises:
        SbomError: `SOURCE_DATE_EPOCH` is not a number of seconds.
    """
    from sbomsign._internal.sbom.timestamp import resolve_timestamp as resolve

    return resolve(timestamp)


def merged_name(artifacts: Sequence[Artifact]) -> str:
    """The name a merged document gives the release: the artifacts' common file-name prefix
    (`demo-svc-linux` for `demo-svc-linux-amd64` + `demo-svc-linux-arm64`), else `artifacts`."""
    from sbomsign._internal.sbom.common import release_name

    return release_name(artifacts)


def detect(data: bytes, name: str = "<sbom>") -> SbomFormat:
    """The format of a document, from its first bytes (and for JSON, its top-level keys).

    Raises:
        SbomError: the document is empty or in no format sbomsign reads.
    """
    from sbomsign._internal.sbom import detect as detect_format

    return SbomFormat(detect_format(data, name)[0])


def read(data: bytes, name: str = "<sbom>", *, via_library: bool = False) -> Inventory:
    """Load a CycloneDX (JSON/XML) or SPDX (JSON/tag-value, SPDX 3 JSON-LD) document into an
    `Inventory`.

    Each described artifact becomes an `Artifact` whose `components` are filled (kinds, names,
    versions, purls, linking and `depends_on`); its `binaries` are rebuilt from sbomsign's
    properties where the document has them, and are empty otherwise (e.g. syft's output).
    XML is parsed without DTDs or entities.

    JSON is read by each codec's own fast reader (no SBOM library), which gives the same
    `Inventory` as cyclonedx-python-lib and spdx-tools without their import cost and refuses
    what they refuse (and what the schemas forbid); a document using something it does not
    model goes to the libraries. `via_library=True` always uses the libraries (the reference
    the fast reader is tested against). XML and tag-value always use the libraries.

    Raises:
        SbomError: the document is malformed or in no supported format; the message is one
            line naming `name` and the problem.
    """
    from sbomsign._internal.sbom import Unsupported, codec_for
    from sbomsign._internal.sbom import detect as detect_format

    fmt, decoded = detect_format(data, name)
    codec = codec_for(fmt)
    try:
        if decoded is not None and not via_library:
            try:
                return codec.read_json(decoded, name)
            except Unsupported:
                pass  # read below by the libraries, which model the whole format
        return codec.to_inventory(codec.load(data, decoded, name, fmt), name)
    except SbomError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError) as e:
        raise SbomError(f"{name}: cannot read the {fmt} document: {e}") from e


def ntia_problems(data: bytes, name: str = "<sbom>") -> list[str]:
    """What a document lacks of the NTIA minimum elements; empty when it has them all.

    Checked, in either format:

    - author of the SBOM data (a person or organisation, not only a tool) and a timestamp;
    - each described artifact (CycloneDX `metadata.component` and the artifacts nested in a
      merged one; SPDX DESCRIBES targets): supplier, name, version and a unique identifier
      (purl, CPE, SWID or a hash);
    - every component: a name and at least one dependency relationship; in SPDX, a supplier
      or an explicit NOASSERTION.

    A component's unknown supplier or version is a "known unknown" the NTIA guidance accepts:
    SPDX says NOASSERTION, CycloneDX leaves it out; neither is reported.

    Raises:
        SbomError: the document cannot be read.
    """
    from sbomsign._internal.sbom import codec_for
    from sbomsign._internal.sbom import detect as detect_format

    fmt, decoded = detect_format(data, name)
    codec = codec_for(fmt)
    return codec.ntia(codec.load(data, decoded, name, fmt), data, fmt)


def bsi_problems(data: bytes, name: str = "<sbom>") -> list[str]:
    """What a CycloneDX JSON document lacks of BSI TR-03183-2 v2.1.0's required fields, one
    line per field (with the components that lack it); empty when it has them all.

    Any producer's document can be checked. SPDX is not read here: the TR accepts only SPDX
    3.0.1 or later for it.

    Raises:
        SbomError: the document cannot be read, or is not CycloneDX JSON.
    """
    from sbomsign._internal.sbom import bsi
    from sbomsign._internal.sbom import detect as detect_format

    fmt, decoded = detect_format(data, name)
    if fmt != SbomFormat.CYCLONEDX_JSON or not isinstance(decoded, dict):
        raise SbomError(f"{name}: the BSI check reads CycloneDX JSON (this is {fmt})")
    return [m.line() for m in bsi.check(decoded)]


def telco_problems(data: bytes, name: str = "<sbom>") -> list[str]:
    """What an SPDX 2 document (JSON or tag-value) lacks of the OpenChain Telco SBOM Guide
    1.2's required fields, as its validator checks them by default, one line per field (with
    the packages that lack it); empty when it has them all.

    Any producer's document can be checked.

    Raises:
        SbomError: the document cannot be read, or is not SPDX 2.
    """
    from sbomsign._internal.sbom import codec_for, telco
    from sbomsign._internal.sbom import detect as detect_format

    fmt, decoded = detect_format(data, name)
    if fmt not in (SbomFormat.SPDX_JSON, SbomFormat.SPDX_TV):
        raise SbomError(f"{name}: the OpenChain Telco check reads SPDX 2 JSON or tag-value "
                        f"(this is {fmt}); the guide accepts only SPDX 2.2 and 2.3")
    codec = codec_for(fmt)
    return [m.line() for m in telco.check(codec.load(data, decoded, name, fmt))]


#: The buyers' checks by profile name: what `sbom --check` and the policy's `sbom.profile` run.
PROFILE_CHECKS = {
    "bsi": ("BSI TR-03183-2 v2.1.0", bsi_problems),
    "openchain-telco": ("OpenChain Telco SBOM Guide 1.2", telco_problems),
}
