"""Rust crates named by the source paths a binary carries, when it has no cargo-auditable data.

rustc embeds the source location of every panic (`Location::caller`, `unwrap` and index
checks) and of debug information in the read-only data, and a crate's sources live in a
directory named `<crate>-<version>` under the cargo registry they came from:

- `…/registry/src/index.crates.io-<16 hex>/serde-1.0.210/src/de/mod.rs` (sparse index; before
  cargo 1.68 `github.com-<16 hex>`), as cargo builds on a developer's or CI machine;
- `/usr/share/cargo/registry/serde-1.0.210/src/…`, as Debian builds Rust packages from its
  packaged crates.

Each distinct `<crate>-<version>` becomes a `RUST_CRATE` component with lower confidence
than cargo-auditable's record (0.6), the section and file offset of the first path as
evidence. The list can be incomplete: a crate none of whose code can panic, or whose
paths were trimmed (`--remap-path-prefix`), leaves no path; and dependencies between the
crates are unknown. The SBOM's compositions say so.
"""

from __future__ import annotations

import re

from sbomsign._internal.binary.detectors import _rodata
from sbomsign._internal.binary.facts import Detection, Facts
from sbomsign._internal.purl import purl
from sbomsign.models import Component, ComponentKind, Evidence, Linking

FOUND_BY = "rust source paths"

_PATH = re.compile(
    rb"(?:/(?:index\.crates\.io|github\.com)-[0-9a-f]{16}|/usr/share/cargo/registry)"
    rb"/([A-Za-z0-9_][A-Za-z0-9_-]{0,63})-"
    rb"(\d{1,6}\.\d{1,6}\.\d{1,6}(?:-[0-9A-Za-z.-]{1,40})?(?:\+[0-9A-Za-z.-]{1,40})?)/")


def detect(facts: Facts) -> Detection:
    """The crates named by source paths in the read-only data (nothing when the binary
    has cargo-auditable data, which is the complete record)."""
    if ".dep-v0" in facts.sections:
        return Detection()
    found: dict[tuple[str, str], tuple[int, str, str]] = {}
    for section, offset, m in _rodata.search(facts, _PATH):
        key = (m.group(1).decode(), m.group(2).decode())
        registry = "debian" if m.group(0).startswith(b"/usr/share") else "crates.io"
        found.setdefault(key, (offset, registry, section))
    components = []
    for (crate, version), (offset, registry, section) in sorted(found.items()):
        evidence = Evidence(
            technique="binary-analysis", confidence=0.6, source="rust source path",
            location=section, offset=offset,
            note="named by the source path of its code (a panic or debug location); crates "
                 "without such paths are not seen, and dependencies are unknown")
        components.append(Component(
            kind=ComponentKind.RUST_CRATE, name=crate, version=version,
            purl=purl("cargo", "", crate, version), linking=Linking.STATIC,
            found_by=FOUND_BY, source="crates.io" if registry == "crates.io" else "registry",
            properties=(("sbomsign:cargo:registry", registry),), evidence=(evidence,)))
    return Detection(components=tuple(components))
