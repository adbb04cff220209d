"""cargo-auditable dependency data (`.dep-v0`): zlib-compressed JSON describing the crate tree.

The format is documented by rust-secure-code/cargo-auditable (`PARSING.md`,
`cargo-auditable.schema.json`). The data comes from untrusted binaries, so decompression is
capped and the tree is validated (exactly one root, valid indices, no cycles) before anything
walks it, as `PARSING.md` advises.
"""

from __future__ import annotations

import json
import zlib
from typing import NoReturn

from sbomsign._internal.binary.facts import Detection, Facts
from sbomsign._internal.purl import purl
from sbomsign.errors import Error, InspectionError
from sbomsign.models import Component, ComponentKind, Evidence, Linking, RustAudit, RustCrate

#: Largest decompressed size accepted. `PARSING.md` calls 8 MiB "more than enough"; real data
#: is under 4 kB even for 400+ crates.
MAX_DECOMPRESSED = 8 * 1024 * 1024

_KINDS = frozenset({"runtime", "build"})
# Formats below 8 come from `cargo metadata`, which can list crates that are not compiled in.
_ACCURATE_FORMAT = 8


def parse_dep_v0(compressed: bytes, offset: int | None = None) -> RustAudit:
    """Decompress and validate a `.dep-v0` section.

    Trailing bytes after the zlib stream (section padding) are ignored.

    Raises:
        InspectionError: the data is not zlib, decompresses to more than 8 MiB, is not JSON, does
            not follow the schema, or is not a tree with exactly one root and no cycles.
    """
    text = _decompress(compressed)
    try:
        doc = json.loads(text.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as e:
        raise InspectionError(f".dep-v0 is not valid JSON ({_first_line(e)})") from None
    except RecursionError:
        raise InspectionError(".dep-v0 JSON is nested too deeply") from None
    audit = _validate(doc, offset)
    _check_tree(audit.packages)
    return audit


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not allowed")


def _decompress(data: bytes) -> bytes:
    d = zlib.decompressobj()
    try:
        # NOTE: max_length bounds the output (and the memory used) whatever the input claims;
        # one byte over the cap is enough to know it was exceeded.
        out = d.decompress(data, MAX_DECOMPRESSED + 1)
    except zlib.error as e:
        raise InspectionError(f".dep-v0 is not valid zlib data ({e})") from None
    if len(out) > MAX_DECOMPRESSED:
        raise InspectionError(
            f".dep-v0 decompresses to more than {MAX_DECOMPRESSED // (1024 * 1024)} MiB"
        )
    if not d.eof:
        raise InspectionError(".dep-v0 zlib stream is truncated")
    return out


def _validate(doc: object, offset: int | None) -> RustAudit:
    if not isinstance(doc, dict):
        raise InspectionError(".dep-v0: the top level is not a JSON object")
    fmt = doc.get("format", 0)
    if isinstance(fmt, bool) or not isinstance(fmt, int) or fmt < 0:
        raise InspectionError(".dep-v0: 'format' is not a non-negative integer")
    packages = doc.get("packages")
    if not isinstance(packages, list):
        raise InspectionError(".dep-v0: 'packages' is missing or not a list")
    crates = tuple(_crate(i, p, len(packages)) for i, p in enumerate(packages))
    return RustAudit(format=fmt, packages=crates, offset=offset)


def _crate(index: int, pkg: object, count: int) -> RustCrate:
    where = f".dep-v0: package {index}"
    if not isinstance(pkg, dict):
        raise InspectionError(f"{where} is not an object")
    name = pkg.get("name")
    version = pkg.get("version")
    if not isinstance(name, str) or not name:
        raise InspectionError(f"{where}: 'name' is missing or not a string")
    if not isinstance(version, str) or not version:
        raise InspectionError(f"{where} ({name}): 'version' is missing or not a string")
    source = _source(pkg.get("source"), f"{where} ({name})")
    kind = pkg.get("kind", "runtime")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise InspectionError(f"{where} ({name}): 'kind' must be 'runtime' or 'build'")
    root = pkg.get("root", False)
    if not isinstance(root, bool):
        raise InspectionError(f"{where} ({name}): 'root' is not a boolean")
    deps = pkg.get("dependencies", [])
    if not isinstance(deps, list):
        raise InspectionError(f"{where} ({name}): 'dependencies' is not a list")
    for d in deps:
        if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d < count:
            raise InspectionError(f"{where} ({name}): dependency index {d!r} is out of range")
    return RustCrate(
        name=name,
        version=version,
        source=source,
        kind=kind,
        root=root,
        dependencies=tuple(dict.fromkeys(deps)),
    )


def _source(value: object, where: str) -> str:
    """The crate source as a string: `crates.io`, `git`, `local`, `registry`, or another one.

    The JSON has a string; the schema also allows `{"Other": "..."}` for future kinds.
    """
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and len(value) == 1:
        (inner,) = value.values()
        if isinstance(inner, str) and inner:
            return inner
    raise InspectionError(f"{where}: 'source' is missing or not a string")


def _check_tree(crates: tuple[RustCrate, ...]) -> None:
    """Exactly one root and no cycles (Kahn's algorithm, iterative)."""
    roots = [i for i, c in enumerate(crates) if c.root]
    if len(roots) != 1:
        raise InspectionError(f".dep-v0 must have exactly one root package, found {len(roots)}")
    indegree = [0] * len(crates)
    for c in crates:
        for d in c.dependencies:
            indegree[d] += 1
    ready = [i for i, n in enumerate(indegree) if n == 0]
    seen = 0
    while ready:
        i = ready.pop()
        seen += 1
        for d in crates[i].dependencies:
            indegree[d] -= 1
            if indegree[d] == 0:
                ready.append(d)
    if seen != len(crates):
        stuck = next(c for c, n in zip(crates, indegree, strict=True) if n > 0)
        raise InspectionError(
            f".dep-v0 dependency graph has a cycle (involving {stuck.name} {stuck.version})"
        )


def rust_components(audit: RustAudit, location: str = ".dep-v0") -> tuple[Component, ...]:
    """One `RUST_CRATE` component per package, with its dependency edges.

    - purl `pkg:cargo/<name>@<version>` for every source, as syft writes it; the source kind
      (`crates.io`, `git`, `local`, ...) is in `source`.
    - `scope` is the cargo-auditable `kind`; build-time crates (build scripts, proc-macros and
      their dependencies) are not code in the binary, so their `linking` is `NONE`.
    - The root package (the program itself) has the property `sbomsign:cargo:root=true`.
    - Data of format 0 or 1 comes from `cargo metadata`, which may list crates behind disabled
      features; its evidence has confidence 0.8 and says so. Format 8 and later: 1.0.
    """
    accurate = audit.format >= _ACCURATE_FORMAT
    evidence = (
        Evidence(
            technique="binary-analysis",
            confidence=1.0 if accurate else 0.8,
            source="cargo-auditable",
            location=location,
            offset=audit.offset,
            note=""
            if accurate
            else f"cargo-auditable format {audit.format} data comes from cargo metadata and "
            "may list crates that are not compiled in",
        ),
    )
    purls = [purl("cargo", "", c.name, c.version) for c in audit.packages]
    out: list[Component] = []
    for c, p in zip(audit.packages, purls, strict=True):
        props: list[tuple[str, str]] = [("sbomsign:cargo:format", str(audit.format))]
        if c.root:
            props.append(("sbomsign:cargo:root", "true"))
        out.append(
            Component(
                kind=ComponentKind.RUST_CRATE,
                name=c.name,
                version=c.version,
                purl=p,
                linking=Linking.STATIC if c.kind == "runtime" else Linking.NONE,
                scope=c.kind,
                found_by="cargo-auditable",
                source=c.source,
                depends_on=tuple(dict.fromkeys(purls[d] for d in c.dependencies)),
                properties=tuple(sorted(props)),
                evidence=evidence,
            )
        )
    return tuple(out)


def detect(facts: Facts) -> Detection:
    """The crates of a cargo-auditable `.dep-v0` section, when the image has one."""
    dep = facts.sections.get(".dep-v0")
    if dep is None:
        return Detection()
    try:
        audit = parse_dep_v0(facts.view.read(dep.offset, dep.size), dep.offset)
    except Error as e:
        return Detection(errors=(f".dep-v0: {e.diagnostics()}",))
    return Detection(components=rust_components(audit), rust=audit)
