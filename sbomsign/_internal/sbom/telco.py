"""The OpenChain Telco SBOM Guide (1.1 and 1.2): what the profile writes, and the check.

The guide (github.com/OpenChain-Project/Telco-WG) asks SPDX 2.2/2.3, tag-value or JSON, with:
a `Creator` line with the `Organization` keyword and one with `Tool` (name-version); a
`CreatorComment` naming the CISA SBOM type; for every package a name, version, supplier
(1.2: supplier or originator; NOASSERTION counts as missing), download location, licences and
copyright text (NOASSERTION allowed by its validator), and a package hash (`PackageChecksum`
or `PackageVerificationCode`: RECOMMENDED by the guide's text, required by its validator for
1.2); a purl on every package is RECOMMENDED (the validator's strict mode).

What the profile writes where a binary does not record the fact, and why (the README has the
same table for users):

- **Supplier** of every package: the `--supplier`. SPDX 2.3 (7.5) defines PackageSupplier
  as the actual distribution source of the package to the recipient, which for everything
  compiled into or shipped in the delivered file is whoever ships that file. What a package
  records of its own origin (a Debian package's maintainer) becomes its PackageOriginator
  (7.6: "from whom the package originally came"). Nothing is derived from module paths.
- **Package hash** of a package compiled into a file: the checksums of the delivered file it
  is compiled into (a compiled-in package is no file of its own, and a Go module's `h1:` sum
  hashes a file list, not anything delivered); an OS package in an image: the image's
  digest, the unit it reaches the recipient in. The package comment names which.
- **Version** where the build records none (a Go main module built as `(devel)`): the
  delivered file's `sha256:<hex>`, as for the file itself.
- **Shared libraries** the file loads but does not contain are not packages of the delivery;
  they are "known unknowns" (guide 3.8): a `DYNAMIC_LINK` to NOASSERTION whose comment names
  the library. Inside an image, a library the loader would open is the file's package.
- **purl** where none exists: `pkg:generic/<name>` with the file's `checksum` qualifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sbomsign.errors import SbomError

if TYPE_CHECKING:
    from sbomsign._internal.sbom.common import Options, Subject
    from sbomsign.models import Artifact, Component

NAME = "openchain-telco"

# CISA's SBOM types (2023), which the CreatorComment must name (any case, any wording).
_CISA_TYPES = re.compile(r"\b(design|source|build|analyzed|deployed|runtime)\b", re.IGNORECASE)


def require(options: Options) -> None:
    """Refuse to write the profile without the supplier and an organization as author.

    Raises:
        SbomError: `--supplier` is missing, or `--author` is not an organization.
    """
    from sbomsign._internal.sbom.common import parse_actor

    if not options.supplier:
        raise SbomError("the openchain-telco profile needs --supplier: the guide requires "
                        "a supplier on every package")
    if not options.author or parse_actor(options.author)[0] != "organization":
        raise SbomError("the openchain-telco profile needs --author \"Organization: Name "
                        "(email)\": the guide requires a Creator with the Organization keyword")


@dataclass(frozen=True)
class Delivery:
    """Where each component reaches the recipient in, for the profile's hash and version."""

    files: dict[str, Artifact]
    """Component ref -> the first delivered file (by path) it is compiled into."""
    also: dict[str, tuple[str, ...]]
    """Component ref -> the other delivered files it is compiled into (`label`s)."""
    external: list[tuple[Artifact, str]]
    """(file, library name) for each library a file loads that the delivery does not hold."""


def delivery(subject: Subject) -> Delivery:
    """Map the subject's components to the files they are delivered in."""
    resolved: set[tuple[str, str]] = set()
    if subject.container is not None:
        resolved = {(link.binary, link.library) for link in subject.container.links
                    if link.resolved}
    holders: dict[str, list[Artifact]] = {}
    external: list[tuple[Artifact, str]] = []
    for a in sorted(subject.artifacts, key=lambda x: (x.path, x.name)):
        for c in a.components:
            if not is_delivered(c):
                if (a.path, c.name) not in resolved:
                    external.append((a, c.name))
                continue
            holders.setdefault(c.ref, []).append(a)
    in_container = subject.container is not None
    return Delivery(
        files={ref: arts[0] for ref, arts in holders.items()},
        also={ref: tuple(label(a, in_container) for a in arts[1:])
              for ref, arts in holders.items()},
        external=external,
    )


def label(a: Artifact, in_container: bool) -> str:
    """How a note names a delivered file: its path in an image, archive or package; else its
    name (a path on the producing machine says nothing to the recipient)."""
    return a.path if in_container else a.name


def is_delivered(c: Component) -> bool:
    """Whether a component is a package of the delivery (a shared library is a file)."""
    from sbomsign.models import ComponentKind

    return c.kind is not ComponentKind.SHARED_LIBRARY


def checksum_note(where: Artifact | None, also: tuple[str, ...], holder: str) -> str:
    """The `P_TELCO_CHECKSUM_OF` text for a component's package (`holder`: the image, archive or
    package it is installed in, when it is in no file: an OS package)."""
    if where is None:
        return f"{holder}, which this package is installed in"
    note = f"{label(where, bool(holder))}, the delivered file this package is compiled into"
    if also:
        note += " (also compiled into " + ", ".join(also) + ")"
    return note


def generic_purl(name: str, sha256: str, version: str = "") -> str:
    """`pkg:generic/<name>[@version]?checksum=sha256:<hex>` for something with no ecosystem."""
    from sbomsign._internal.purl import purl

    qualifiers = {"checksum": f"sha256:{sha256}"} if sha256 else {}
    return purl("generic", "", name, version, qualifiers)


# --- the check ---------------------------------------------------------------------------------


def check(doc: Any) -> list[Any]:
    """What an spdx-tools `Document` lacks of the guide 1.2's required fields (a `Missing` per
    field, with the packages that lack it), as its validator checks them in default mode."""
    from sbomsign._internal.sbom.bsi import Gaps

    gaps = Gaps()
    add = gaps.add
    info = doc.creation_info
    comment = info.creator_comment or ""
    if not comment.strip():
        add("3.5", "CreatorComment")
    elif not _CISA_TYPES.search(comment):
        add("3.5", "CreatorComment naming the CISA SBOM type")
    creators = [str(c) for c in info.creators]
    if not any(c.startswith("Organization:") for c in creators):
        add("3.5", "Creator with the Organization keyword")
    if not any(c.startswith("Tool:") for c in creators):
        add("3.5", "Creator with the Tool keyword")
    if not any(r.relationship_type.name == "DESCRIBES" for r in doc.relationships):
        add("3.2", "a DESCRIBES relationship")
    for what, package in _package_gaps(doc.packages):
        add("3.2", what, package)
    return gaps.missing()


def _package_gaps(packages: list[Any]) -> Iterator[tuple[str, str]]:
    for p in packages:
        label = f"{p.name} ({p.spdx_id})"
        if not p.version:
            yield "PackageVersion", label
        if not (_asserted(p.supplier) or _asserted(p.originator)):
            yield "PackageSupplier or PackageOriginator", label
        if not (p.checksums or p.verification_code):
            yield "PackageChecksum or PackageVerificationCode", label


def _asserted(actor: Any) -> bool:
    """An actor that is there and is not NOASSERTION."""
    return actor is not None and str(actor) != "NOASSERTION"
