"""A small Package URL (purl) builder and parser.

Follows the purl specification's component rules (package-url/purl-spec, `docs/standard/`):
every component is UTF-8 encoded and percent-encoded except for the alphanumerics, `.-_~`
and the colon; namespace and subpath segments keep their `/` separators; qualifier keys are
lowercased and sorted, and qualifiers with empty values are dropped.

Type-specific normalisation is applied only for the types sbomsign emits. Go purls keep the
case of module paths, as syft, deps.dev and OSV do, although the golang type definition
says they "shall be lowercased" (see `golang_purl`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, unquote

from sbomsign.errors import InputError

# NOTE: the purl spec leaves only alphanumerics, ".-_~" and ":" unencoded. urllib's quote()
# always keeps "_.-~" and alphanumerics; ":" is added through `safe`.
_SAFE = ":"

_TYPE_RE = re.compile(r"^[a-z.+-][a-z0-9.+-]*$")
_QUALIFIER_KEY_RE = re.compile(r"^[a-z.\-_][a-z0-9.\-_]*$")

# Types whose namespace and/or name are case-insensitive and lowercased by the spec's type
# definitions. Others (golang, cargo, generic, rpm names, ...) are case-sensitive.
_LOWER_NAMESPACE = frozenset({"alpm", "apk", "deb", "rpm", "bitbucket", "github", "composer"})
_LOWER_NAME = frozenset({"alpm", "apk", "deb", "bitbucket", "github", "composer"})


def _encode(text: str) -> str:
    return quote(text, safe=_SAFE, encoding="utf-8", errors="strict")


def _decode(text: str) -> str:
    return unquote(text, encoding="utf-8", errors="strict")


def purl(
    type: str,
    namespace: str,
    name: str,
    version: str = "",
    qualifiers: Mapping[str, str] | None = None,
    subpath: str = "",
) -> str:
    """Build a canonical purl string.

    `namespace` and `subpath` are `/`-separated; empty segments (and `.`/`..` in subpaths) are
    dropped as the spec requires. Qualifier keys are lowercased and sorted; empty values are
    dropped.

    Raises:
        InputError: the type, a qualifier key, or the name is not acceptable.
    """
    ptype = type.lower()
    if not _TYPE_RE.match(ptype):
        raise InputError(f"invalid purl type {type!r}")
    if not name:
        raise InputError("a purl needs a name")
    ns_segments = [s for s in namespace.split("/") if s]
    if ptype in _LOWER_NAMESPACE:
        ns_segments = [s.lower() for s in ns_segments]
    if ptype in _LOWER_NAME:
        name = name.lower()
    out = [f"pkg:{ptype}/"]
    if ns_segments:
        out.append("/".join(_encode(s) for s in ns_segments) + "/")
    out.append(_encode(name))
    if version:
        out.append("@" + _encode(version))
    pairs: dict[str, str] = {}
    for key, value in (qualifiers or {}).items():
        k = key.lower()
        if not _QUALIFIER_KEY_RE.match(k):
            raise InputError(f"invalid purl qualifier key {key!r}")
        if value:
            pairs[k] = value
    if pairs:
        out.append("?" + "&".join(f"{k}={_encode(pairs[k])}" for k in sorted(pairs)))
    sub_segments = [s for s in subpath.split("/") if s not in ("", ".", "..")]
    if sub_segments:
        out.append("#" + "/".join(_encode(s) for s in sub_segments))
    return "".join(out)


#: The version `go mod edit -replace` writes into a requirement that only a replacement
#: satisfies (terraform's go.mod has many): the zero time and the zero commit, no release.
GO_PLACEHOLDER_VERSION = "v0.0.0-00010101000000-000000000000"


def golang_purl(module_path: str, version: str = "") -> str:
    """The purl of a Go module: `pkg:golang/github.com/cli/cli/v2@v2.63.0`.

    The module path is split on its last `/` into namespace and name, so the path's slashes
    stay unescaped, and its case is preserved (module paths are case-sensitive; syft, deps.dev
    and OSV preserve it). The version is kept as the build info writes it, `v` prefix included,
    as syft does; only the standard library's version drops its `go` prefix (`stdlib_purl`).
    """
    namespace, _, name = module_path.rpartition("/")
    return purl("golang", namespace, name, version)


def stdlib_purl(go_version: str) -> str:
    """The purl syft gives the Go standard library: `pkg:golang/stdlib@1.22.7` for `go1.22.7`."""
    return purl("golang", "", "stdlib", go_version.removeprefix("go"))


def parse_purl(s: str) -> tuple[str, str, str, str, dict[str, str], str]:
    """Split a purl into (type, namespace, name, version, qualifiers, subpath), decoded.

    Parsing follows the spec's right-to-left algorithm, so `@`, `?` and `#` are found where the
    spec puts them. The namespace and subpath come back `/`-joined; qualifier keys lowercased.

    Raises:
        InputError: the string is not a purl.
    """
    try:
        return _parse(s)
    except UnicodeDecodeError as e:
        raise InputError(f"invalid purl {s!r}: bad percent-encoding") from e


def _parse(s: str) -> tuple[str, str, str, str, dict[str, str], str]:
    rest = s.strip()
    scheme, sep, rest = rest.partition(":")
    if not sep or scheme.lower() != "pkg":
        raise InputError(f"invalid purl {s!r}: it must start with 'pkg:'")
    rest, _, raw_subpath = rest.partition("#")
    rest, _, raw_qualifiers = rest.partition("?")
    rest = rest.lstrip("/")
    ptype, sep, rest = rest.partition("/")
    ptype = ptype.lower()
    if not sep or not _TYPE_RE.match(ptype):
        raise InputError(f"invalid purl {s!r}: bad or missing type")
    rest = rest.strip("/")
    version = ""
    if "@" in rest:
        rest, _, raw_version = rest.rpartition("@")
        version = _decode(raw_version)
    raw_namespace, _, raw_name = rest.rpartition("/")
    name = _decode(raw_name)
    if not name:
        raise InputError(f"invalid purl {s!r}: missing name")
    namespace = "/".join(_decode(seg) for seg in raw_namespace.split("/") if seg)
    qualifiers: dict[str, str] = {}
    for pair in raw_qualifiers.split("&") if raw_qualifiers else ():
        key, eq, value = pair.partition("=")
        key = key.lower()
        if not eq or not _QUALIFIER_KEY_RE.match(key):
            raise InputError(f"invalid purl {s!r}: bad qualifier {pair!r}")
        if value:
            qualifiers[key] = _decode(value)
    subpath = "/".join(
        seg
        for seg in (_decode(x) for x in raw_subpath.strip("/").split("/"))
        if seg not in ("", ".", "..")
    )
    return ptype, namespace, name, version, qualifiers, subpath
