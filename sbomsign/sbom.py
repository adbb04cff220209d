"""Stage 2: an `Inventory` to CycloneDX / SPDX documents, and documents back to an `Inventory`.

- `write` turns artifacts into one document: CycloneDX 1.6 (or 1.5) JSON/XML, or SPDX 2.3
  JSON/tag-value. One artifact gives a document about it; several give one merged document
  (a multi-architecture release) with the shared components listed once.
- `read` loads a document back (ours, syft's, or another producer's), detecting the format.
- `ntia_problems` checks a document for the NTIA minimum elements.

Documents are reproducible: with the same inputs and `SOURCE_DATE_EPOCH` (or `timestamp`) the
bytes are identical, because serial numbers and namespaces are uuid5 of the artifact digests
and of the options, and every list is sorted.

sbomsign's own facts travel as properties named `sbomsign:*` (CycloneDX `properties`, SPDX
package `comment` lines `name=value`); see `sbomsign._internal.writers` for the names.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sbomsign.errors import SbomError
from sbomsign.models import Artifact, Inventory

__all__ = ["SbomFormat", "detect", "merged_name", "ntia_problems", "read", "write"]


class SbomFormat(enum.StrEnum):
    """The document formats sbomsign writes and reads."""

    CYCLONEDX_JSON = "cyclonedx-json"
    CYCLONEDX_XML = "cyclonedx-xml"
    SPDX_JSON = "spdx-json"
    SPDX_TV = "spdx-tv"

    @property
    def suffix(self) -> str:
        """The file-name suffix of the format: `.cdx.json`, `.cdx.xml`, `.spdx.json`, `.spdx`."""
        return _SUFFIXES[self]

    @property
    def is_cyclonedx(self) -> bool:
        """True for the two CycloneDX formats."""
        return self in (SbomFormat.CYCLONEDX_JSON, SbomFormat.CYCLONEDX_XML)


_SUFFIXES = {
    SbomFormat.CYCLONEDX_JSON: ".cdx.json",
    SbomFormat.CYCLONEDX_XML: ".cdx.xml",
    SbomFormat.SPDX_JSON: ".spdx.json",
    SbomFormat.SPDX_TV: ".spdx",
}


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
) -> bytes:
    """One SBOM document describing the given artifact(s), as bytes.

    Several artifacts always make one merged document (`merge=True` asks for that form even
    for one). `supplier` and `author` (`Name`, `Person: Name (email)` or
    `Organization: Name (email)`) fill the NTIA supplier and author; without them the document
    is valid and says NOASSERTION where SPDX asks. `spec_version` is the CycloneDX version
    (`1.6` by default, or `1.5`); SPDX is always 2.3. `timestamp` defaults to
    `SOURCE_DATE_EPOCH`, else the current time.

    Raises:
        SbomError: no artifact, an unsupported format or spec version, or a bad name or
            `SOURCE_DATE_EPOCH`.
    """
    from sbomsign import __version__
    from sbomsign._internal.writers import Options, make_subject, resolve_timestamp

    try:
        fmt = SbomFormat(fmt)
    except ValueError as e:
        choices = ", ".join(f.value for f in SbomFormat)
        raise SbomError(f"unknown SBOM format {fmt!r} (use one of {choices})") from e
    artifacts = _artifacts(inventory_or_artifacts)
    subject = make_subject(artifacts, merge=merge or len(artifacts) > 1)
    options = Options(
        timestamp=resolve_timestamp(timestamp),
        tool_version=__version__,
        supplier=(supplier or "").strip(),
        author=(author or "").strip(),
        spec_version=(spec_version or "").strip(),
    )
    if fmt.is_cyclonedx:
        from sbomsign._internal.writers import cyclonedx

        return cyclonedx.write(subject, options, xml=fmt is SbomFormat.CYCLONEDX_XML)
    from sbomsign._internal.writers import spdx

    return spdx.write(subject, options, tag_value=fmt is SbomFormat.SPDX_TV)


def merged_name(artifacts: Sequence[Artifact]) -> str:
    """The name a merged document gives the release: the artifacts' common file-name prefix
    (`demo-svc-linux` for `demo-svc-linux-amd64` + `demo-svc-linux-arm64`), else `artifacts`."""
    from sbomsign._internal.writers import release_name

    return release_name(artifacts)


_TAG_VALUE = re.compile(rb"^\s*SPDXVersion:\s*SPDX-", re.MULTILINE)


def detect(data: bytes, name: str = "<sbom>") -> SbomFormat:
    """The format of a document, from its first bytes (and for JSON, its top-level keys).

    Raises:
        SbomError: the document is empty or in no format sbomsign reads.
    """
    fmt, _ = _detect(data, name)
    return fmt


def _detect(data: bytes, name: str) -> tuple[SbomFormat, dict[str, Any] | None]:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise SbomError(f"{name}: empty document")
    if head[:1] == b"{":
        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SbomError(f"{name}: malformed JSON: {e}") from e
        if isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX":
            return SbomFormat.CYCLONEDX_JSON, doc
        if isinstance(doc, dict) and "spdxVersion" in doc:
            return SbomFormat.SPDX_JSON, doc
        raise SbomError(f"{name}: JSON that is neither CycloneDX (bomFormat) nor SPDX "
                        f"(spdxVersion)")
    if head[:1] == b"<":
        return SbomFormat.CYCLONEDX_XML, None
    if _TAG_VALUE.search(head[:65536]):
        return SbomFormat.SPDX_TV, None
    raise SbomError(f"{name}: not a CycloneDX (JSON/XML) or SPDX (JSON/tag-value) document")


def _load(data: bytes, name: str) -> tuple[SbomFormat, Any]:
    return _parse(*_detect(data, name), data, name)


def _parse(
    fmt: SbomFormat, doc: dict[str, Any] | None, data: bytes, name: str
) -> tuple[SbomFormat, Any]:
    """The document as the SBOM libraries model it."""
    if fmt.is_cyclonedx:
        from sbomsign._internal.writers import cyclonedx

        xml = fmt is SbomFormat.CYCLONEDX_XML
        return fmt, cyclonedx.load(data if xml or doc is None else doc, name, xml=xml)
    from sbomsign._internal.writers import spdx

    tv = fmt is SbomFormat.SPDX_TV
    return fmt, spdx.load(data if tv or doc is None else doc, name, tag_value=tv)


def read(data: bytes, name: str = "<sbom>", *, via_library: bool = False) -> Inventory:
    """Load a CycloneDX (JSON/XML) or SPDX (JSON/tag-value) document into an `Inventory`.

    Each described artifact becomes an `Artifact` whose `components` are filled (kinds, names,
    versions, purls, linking and `depends_on`); its `binaries` are rebuilt from sbomsign's
    properties where the document has them, and are empty otherwise (e.g. syft's output).
    XML is parsed without DTDs or entities.

    JSON is read by sbomsign's own reader (`_internal.writers.fastjson`, no SBOM library),
    which gives the same `Inventory` as cyclonedx-python-lib and spdx-tools without their
    import cost and refuses what they refuse (and what the schemas forbid); a document using
    something it does not model goes to the libraries. `via_library=True` always uses the
    libraries (the reference the fast reader is tested against). XML and tag-value always use
    the libraries.

    Raises:
        SbomError: the document is malformed or in no supported format; the message is one
            line naming `name` and the problem.
    """
    fmt, decoded = _detect(data, name)
    try:
        if decoded is not None and not via_library:
            from sbomsign._internal.writers import fastjson

            try:
                if fmt is SbomFormat.CYCLONEDX_JSON:
                    return fastjson.read_cyclonedx(decoded, name)
                return fastjson.read_spdx(decoded, name)
            except fastjson.Unsupported:
                pass  # read below by the libraries, which model the whole format
        fmt, doc = _parse(fmt, decoded, data, name)
        if fmt.is_cyclonedx:
            from sbomsign._internal.writers import cyclonedx

            return cyclonedx.to_inventory(doc, name)
        from sbomsign._internal.writers import spdx

        return spdx.to_inventory(doc, name)
    except SbomError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError) as e:
        raise SbomError(f"{name}: cannot read the {fmt.value} document: {e}") from e


def _has_timestamp(fmt: SbomFormat, data: bytes) -> bool:
    if fmt is SbomFormat.CYCLONEDX_JSON:
        meta = json.loads(data.decode("utf-8-sig")).get("metadata")
        return isinstance(meta, dict) and bool(meta.get("timestamp"))
    from sbomsign._internal.writers.xmlsafe import parse

    root = parse(data, "")
    ns = root.tag.partition("}")[0] + "}" if root.tag.startswith("{") else ""
    return root.find(f"{ns}metadata/{ns}timestamp") is not None


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
    fmt, doc = _load(data, name)
    if fmt.is_cyclonedx:
        from sbomsign._internal.writers import cyclonedx

        return cyclonedx.ntia(doc, has_timestamp=_has_timestamp(fmt, data))
    from sbomsign._internal.writers import spdx

    return list(spdx.ntia(doc))
