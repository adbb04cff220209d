"""SBOM codecs: one package per format family behind one protocol, and their registry.

- `common` — what every format shares: the subject of a document (one artifact or a merged
  release), the dependency graph, uuid5 identifiers and timestamps; `properties` — sbomsign's
  facts as `sbomsign:*` property bags, written and read back;
- `mapping` — the plain records every reader fills and the one mapping from them to an
  `Inventory`; `jsonshape` — JSON shape checks of the fast readers; `xmlsafe` — XML without
  DTDs or entities;
- `cyclonedx/` (CycloneDX 1.6/1.5 JSON and XML) and `spdx2/` (SPDX 2.3 JSON and tag-value):
  each a `Codec` registered once in `CODECS`, with its library writer and reader
  (`library.py`) and its fast JSON reader (`fastjson.py`);
- `spdx3/` (SPDX 3.0.1 JSON-LD, `spdx3-json`): a `Codec` of the same family (`spdx`) whose
  writer and reader use the standard library only (no SPDX 3 library is used), the reader
  filling the SPDX 2 records of `mapping`; detected by its JSON-LD `@context`.

The fast JSON readers stay because `verify` reads attested SBOMs in a fresh process. Measured
after the split, on this project's 2-core machine, the first `sbomsign.sbom.read` of a Go
fixture's SBOM in a fresh process (imports included) takes 30 ms through the fast readers
against 91 ms (CycloneDX, cyclonedx-python-lib) and 146 ms (SPDX, spdx-tools) through the
libraries; once imported, the fast readers read those documents in 0.6 ms and 0.3 ms. A
managed-key verification of a signature and two SBOM attestations takes about 0.2 s in all,
so the libraries would add half of it again.

A codec module keeps its SBOM library imports inside its functions, so the registry (and
`detect`) import no SBOM library.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from sbomsign._internal import jsonbound
from sbomsign._internal.limits import exceeded, limit
from sbomsign._internal.sbom.jsonshape import Unsupported
from sbomsign.errors import SbomError
from sbomsign.models import Inventory

__all__ = ["CODECS", "Codec", "Unsupported", "codec_for", "detect"]


class Codec(Protocol):
    """One SBOM format family: the formats it serves, and how to detect, write and read them."""

    @property
    def kind(self) -> str:
        """The family's name, as attestation predicates name it (`cyclonedx`, `spdx`)."""
        ...

    @property
    def formats(self) -> Mapping[str, str]:
        """Format name (`cyclonedx-json`, ...) to the file-name suffix of its documents."""
        ...

    def sniff(self, head: bytes, doc: Any) -> str | None:
        """The format of a document this codec reads, or None. `doc` is the decoded JSON
        when the document is JSON, else None; `head` its first bytes, whitespace stripped."""
        ...

    def write(self, subject: Any, options: Any, fmt: str) -> bytes:
        """The document for a `common.Subject` with `common.Options`, in format `fmt`."""
        ...

    def prepare(self, fmt: str) -> None:
        """Import what `write` needs for format `fmt`, ahead of the first document."""
        ...

    def load(self, data: bytes, doc: Any, name: str, fmt: str) -> Any:
        """The document as the format's library models it (`doc`: the decoded JSON, if any)."""
        ...

    def read_json(self, doc: dict[str, Any], name: str) -> Inventory:
        """The fast reader: an `Inventory` from decoded JSON, without the library.

        Raises:
            Unsupported: the document uses something the fast reader does not model.
        """
        ...

    def to_inventory(self, model: Any, name: str) -> Inventory:
        """An `Inventory` from what `load` returned."""
        ...

    def ntia(self, model: Any, data: bytes, fmt: str) -> list[str]:
        """What the document lacks of the NTIA minimum elements."""
        ...

    def counts(self, data: bytes, doc: Any, fmt: str) -> tuple[int, int]:
        """How many components (packages, files) and relationships (dependency edges) the
        document declares, counted cheaply before anything is built from it."""
        ...


def _codecs() -> tuple[Codec, ...]:
    from sbomsign._internal.sbom.cyclonedx import CODEC as CYCLONEDX
    from sbomsign._internal.sbom.spdx2 import CODEC as SPDX2
    from sbomsign._internal.sbom.spdx3 import CODEC as SPDX3

    # One line per codec; detection asks them in this order.
    return (CYCLONEDX, SPDX2, SPDX3)


CODECS: tuple[Codec, ...] = _codecs()


def codec_for(fmt: str) -> Codec:
    """The codec serving format `fmt`.

    Raises:
        SbomError: no codec serves it.
    """
    for codec in CODECS:
        if fmt in codec.formats:
            return codec
    raise SbomError(f"unknown SBOM format {fmt!r}")


#: Most components and relationships one SBOM may declare. A whole Debian release's SBOM has
#: about 60,000 packages; the 64 MiB document limit allows about a million small components.
DEFAULT_MAX_COMPONENTS = 500_000
DEFAULT_MAX_RELATIONSHIPS = 2_000_000


def _bound(codec: Codec, data: bytes, doc: Any, fmt: str, name: str) -> None:
    components, relationships = codec.counts(data, doc, fmt)
    most = limit("SBOMSIGN_MAX_SBOM_COMPONENTS", DEFAULT_MAX_COMPONENTS)
    if components > most:
        raise SbomError(str(exceeded(name, "components", most, "SBOMSIGN_MAX_SBOM_COMPONENTS")))
    most = limit("SBOMSIGN_MAX_SBOM_RELATIONSHIPS", DEFAULT_MAX_RELATIONSHIPS)
    if relationships > most:
        raise SbomError(str(exceeded(name, "relationships", most,
                                     "SBOMSIGN_MAX_SBOM_RELATIONSHIPS")))


def detect(data: bytes, name: str) -> tuple[str, dict[str, Any] | None]:
    """The format of a document and, for JSON, the decoded document.

    Raises:
        SbomError: the document is empty, malformed JSON, or in no format a codec reads.
    """
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise SbomError(f"{name}: empty document")
    doc = None
    if head[:1] == b"{":
        try:
            doc = jsonbound.loads(data.decode("utf-8-sig"))
        except jsonbound.TooDeep as e:
            raise SbomError(f"{name}: the document {e}") from e
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SbomError(f"{name}: malformed JSON: {e}") from e
    for codec in CODECS:
        fmt = codec.sniff(head, doc)
        if fmt is not None:
            _bound(codec, data, doc, fmt, name)
            return fmt, doc
    if doc is not None:
        raise SbomError(
            f"{name}: JSON that is neither CycloneDX (bomFormat) nor SPDX (spdxVersion, or "
            f"an SPDX 3 @context)"
        )
    raise SbomError(f"{name}: not a CycloneDX (JSON/XML) or SPDX (JSON/tag-value) document")
