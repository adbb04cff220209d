"""BSI TR-03183-2 v2.1.0: which of its required (SHALL) fields a CycloneDX document lacks.

The fields and where CycloneDX 1.6 carries them follow the TR's section 5.2 and the BSI's own
CycloneDX property taxonomy (github.com/BSI-Bund/tr-03183-cyclonedx-property-taxonomy:
`bsi:component:filename`, `…:executable`, `…:archive`, `…:structured`); where the TR leaves
the CycloneDX spelling open, the mapping is the one compliance checkers use (sbomqs'
`docs/reference/compliance-standards.md`):

- the document (5.2.1): CycloneDX 1.6 or later; a creator that can be contacted (an author's
  e-mail, or a manufacturer's or supplier's URL or contact e-mail; a name alone is not
  enough); a timestamp; an SBOM-URI (`serialNumber` and `version`); no vulnerabilities;
- each component, the described one included (5.2.2): a creator that can be contacted; name;
  version; file name; its dependencies listed and completeness stated (`compositions`);
  concluded (distribution) and declared (original) licences; the SHA-512 of its deployable
  form and that form's URI (an external reference of type `distribution`); the source code's
  URI (`source-distribution`); another unique identifier (purl, CPE or SWID); and the three
  file properties, each exactly once with one of its two values.

`check` reports every missing field with the components that lack it. It reads any producer's
document; what the TR asks and a post-build scan cannot know (a Go module's licence or its
authors' e-mail) stays missing: the report says so instead of anything being made up.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sbomsign.models import Artifact, Component, Container

PROPERTIES = {
    "bsi:component:executable": ("executable", "non-executable"),
    "bsi:component:archive": ("archive", "no archive"),
    "bsi:component:structured": ("structured", "unstructured"),
}
FILENAME = "bsi:component:filename"
_MAX_NAMED = 5


@dataclass
class Missing:
    """One required field, and the components (by name) that lack it (none: the document)."""

    section: str
    what: str
    components: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for the report."""
        if not self.components:
            return f"{self.section} {self.what}"
        shown = ", ".join(self.components[:_MAX_NAMED])
        more = len(self.components) - _MAX_NAMED
        return (f"{self.section} {self.what}: {len(self.components)} component(s): {shown}"
                + (f" and {more} more" if more > 0 else ""))


class Gaps:
    """The missing fields a check finds, one `Missing` per field in the order first found."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str], Missing] = {}

    def add(self, section: str, what: str, component: str | None = None) -> None:
        """Record a field the document (or `component`) lacks."""
        entry = self._found.setdefault((section, what), Missing(section, what))
        if component is not None:
            entry.components.append(component)

    def missing(self) -> list[Missing]:
        """Every field recorded."""
        return list(self._found.values())


def _version_at_least(spec: object, wanted: tuple[int, int]) -> bool:
    try:
        major, minor = (int(x) for x in str(spec).split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= wanted


def _contactable(entity: object) -> bool:
    """An organisational entity with a URL or a contact e-mail."""
    if not isinstance(entity, dict):
        return False
    urls = entity.get("url")
    if isinstance(urls, list) and any(isinstance(u, str) and u for u in urls):
        return True
    contacts = entity.get("contact")
    return isinstance(contacts, list) and any(
        isinstance(c, dict) and c.get("email") for c in contacts)


def _has_creator(item: dict[str, Any]) -> bool:
    authors = item.get("authors")
    if isinstance(authors, list) and any(isinstance(a, dict) and a.get("email")
                                         for a in authors):
        return True
    return _contactable(item.get("manufacturer")) or _contactable(item.get("supplier"))


def _components(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    meta = doc.get("metadata")
    stack = []
    if isinstance(meta, dict) and isinstance(meta.get("component"), dict):
        stack.append(meta["component"])
    top = doc.get("components")
    stack.extend(c for c in (top if isinstance(top, list) else []) if isinstance(c, dict))
    while stack:
        c = stack.pop(0)
        yield c
        nested = c.get("components")
        stack.extend(n for n in (nested if isinstance(nested, list) else [])
                     if isinstance(n, dict))


def _properties(c: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for p in c.get("properties") or []:
        if isinstance(p, dict) and isinstance(p.get("name"), str):
            found.setdefault(p["name"], []).append(str(p.get("value", "")))
    return found


def _licences(c: dict[str, Any], acknowledgement: str) -> bool:
    for entry in c.get("licenses") or []:
        if not isinstance(entry, dict):
            continue
        license_ = entry.get("license")
        inner: dict[str, Any] = license_ if isinstance(license_, dict) else entry
        if (entry.get("acknowledgement") or inner.get("acknowledgement")) == acknowledgement:
            return True
    return False


def _references(c: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in c.get("externalReferences") or []
            if isinstance(r, dict) and r.get("type") == kind]


def _deployable_hash(c: dict[str, Any]) -> bool:
    return any(isinstance(h, dict) and h.get("alg") == "SHA-512"
               for r in _references(c, "distribution") for h in r.get("hashes") or [])


def _has_url(c: dict[str, Any], kind: str) -> bool:
    return any(r.get("url") for r in _references(c, kind))


#: (what is missing, whether component `c` with properties `p` has it).
_COMPONENT_FIELDS: tuple[tuple[str, Any], ...] = (
    ("component creator with an e-mail or URL", lambda c, p: _has_creator(c)),
    ("component version", lambda c, p: bool(c.get("version"))),
    (f"file name ({FILENAME})", lambda c, p: len(p.get(FILENAME, [])) == 1),
    ("distribution licence (licenses, acknowledgement: concluded)",
     lambda c, p: _licences(c, "concluded")),
    ("original licence (licenses, acknowledgement: declared)",
     lambda c, p: _licences(c, "declared")),
    ("SHA-512 of the deployable component (distribution reference)",
     lambda c, p: _deployable_hash(c)),
    ("URI of the deployable form (distribution reference)",
     lambda c, p: _has_url(c, "distribution")),
    ("source code URI (source-distribution reference)",
     lambda c, p: _has_url(c, "source-distribution")),
    ("other unique identifier (purl, CPE or SWID)",
     lambda c, p: bool(c.get("purl") or c.get("cpe") or c.get("swid"))),
    *((f"{name} (exactly once: {' or '.join(values)})",
       lambda c, p, name=name, values=values: len(p.get(name, [])) == 1
       and p[name][0] in values) for name, values in PROPERTIES.items()),
)


def _component_checks(c: dict[str, Any], props: dict[str, list[str]],
                      listed: set[str]) -> Iterator[tuple[str, str]]:
    """(section, field) for each required field `c` lacks."""
    if c.get("bom-ref") not in listed:
        yield "5.2.2", "dependencies (an entry in `dependencies`)"
    for what, has in _COMPONENT_FIELDS:
        if not has(c, props):
            yield "5.2.2", what


def check(doc: dict[str, Any]) -> list[Missing]:
    """The TR's required fields that the CycloneDX document `doc` lacks (empty: none)."""
    gaps = Gaps()
    add = gaps.add
    if not _version_at_least(doc.get("specVersion"), (1, 6)):
        add("4", f"CycloneDX 1.6 or later (this is {doc.get('specVersion')})")
    raw_meta = doc.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    if not _has_creator(meta):
        add("5.2.1", "creator of the SBOM with an e-mail or URL")
    if not meta.get("timestamp"):
        add("5.2.1", "timestamp")
    if not doc.get("serialNumber") or doc.get("version") is None:
        add("5.2.1", "SBOM-URI (serialNumber and version)")
    if doc.get("vulnerabilities"):
        add("5.1", "no vulnerability information (the SBOM must not carry it)")
    if not doc.get("compositions"):
        add("5.2.2", "completeness of the dependencies (compositions)")
    deps = doc.get("dependencies")
    listed = {str(d.get("ref")) for d in deps if isinstance(d, dict)} if isinstance(
        deps, list) else set()
    for c in _components(doc):
        label = str(c.get("name") or c.get("bom-ref") or "(unnamed)")
        if not c.get("name"):
            add("5.2.2", "component name", label)
        for section, what in _component_checks(c, _properties(c), listed):
            add(section, what, label)
    return gaps.missing()


# --- writing: what a post-build scan knows of the TR's file properties ----------------------
#
# `--profile bsi` adds the `bsi:component:*` properties sbomsign can state honestly: a
# scanned file's name and whether it is executable (a program) or not (a shared library); an
# image, archive or package is an archive and structured (it keeps its members' metadata);
# a binary is neither; what is compiled into a binary (modules, crates, the libraries it
# links) is no file of its own: neither executable nor an archive, and it has no file name.


def artifact_properties(a: Artifact) -> list[tuple[str, str]]:
    """The BSI properties of a scanned file."""
    executable = "non-executable" if a.is_library else "executable"
    return [(FILENAME, posixpath.basename(a.path) or a.name),
            ("bsi:component:archive", "no archive"),
            ("bsi:component:executable", executable),
            ("bsi:component:structured", "unstructured")]


def container_properties(c: Container) -> list[tuple[str, str]]:
    """The BSI properties of an image, a release archive or a package."""
    props = [("bsi:component:archive", "archive"),
             ("bsi:component:executable", "non-executable"),
             ("bsi:component:structured", "structured")]
    if c.kind != "image":
        # An image is a manifest and layers, no one file; an archive or package is its file.
        props.insert(0, (FILENAME, posixpath.basename(c.name)))
    return props


def component_properties(c: Component) -> list[tuple[str, str]]:
    """The BSI properties of what a binary contains or links (no file name: none is known)."""
    return [("bsi:component:archive", "no archive"),
            ("bsi:component:executable", "non-executable"),
            ("bsi:component:structured", "unstructured")]
