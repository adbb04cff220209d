"""`go version -m` output, and the main module's version when the build says `(devel)`.

`format_go_version_m` reproduces `go version -m` byte for byte (for hostile or damaged input it
prints U+FFFD where Go would print the raw byte or a `\\x` escape).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sbomsign._internal.binary.detectors.golang.modinfo import (
    _DEVEL,
    _join_version,
    _quote_key,
    _quote_value,
    go_quote,
)
from sbomsign.models import (
    GoBuildInfo,
    GoModule,
)

# ---------------------------------------------------------------------------------------------
# `go version -m`


def format_go_version_m(info: GoBuildInfo, file_label: str) -> str:
    """What `go version -m FILE` prints for this build info (Go 1.18+ format).

    The first line carries the runtime version as recorded (experiments included); the others
    are `runtime/debug.BuildInfo.String()` indented by a tab: the main module keeps its recorded
    version (`(devel)`), not the derived one, and build settings are re-quoted as Go does.
    """
    lines: list[str] = []
    if info.path:
        lines.append(f"path\t{info.path}")

    def module(word: str, m: GoModule) -> None:
        if m.replacement is None:
            lines.append(f"{word}\t{m.path}\t{m.version}\t{m.sum}")
        else:
            r = m.replacement
            lines.append(f"{word}\t{m.path}\t{m.version}")
            lines.append(f"=>\t{r.path}\t{r.version}\t{r.sum}")
            # NOTE: Go's formatMod ends the `=>` line and then the outer line again, so a
            # replacement is followed by an empty line (a lone tab in `go version -m`).
            lines.append("")

    if info.main is not None:
        module("mod", info.main)
    for dep in info.deps:
        module("dep", dep)
    for key, value in info.settings:
        k = go_quote(key) if _quote_key(key) else key
        v = go_quote(value) if _quote_value(value) else value
        lines.append(f"build\t{k}={v}")
    return f"{file_label}: {_join_version(info)}\n" + "".join(f"\t{line}\n" for line in lines)


# ---------------------------------------------------------------------------------------------
# Main module version


def split_go_flags(s: str) -> list[str]:
    """Split a flag string as the go command does (`cmd/internal/quoted.Split`).

    Fields are separated by spaces, tabs, newlines or carriage returns; a field that starts
    with a single or double quote runs to the matching quote, without any unescaping.

    Raises:
        ValueError: a quoted field is not terminated.
    """
    fields: list[str] = []
    i, n = 0, len(s)
    while i < n:
        while i < n and s[i] in " \t\n\r":
            i += 1
        if i >= n:
            break
        if s[i] in "'\"":
            end = s.find(s[i], i + 1)
            if end < 0:
                raise ValueError(f"unterminated {s[i]} string")
            fields.append(s[i + 1 : end])
            i = end + 1
            continue
        start = i
        while i < n and s[i] not in " \t\n\r":
            i += 1
        fields.append(s[start:i])
    return fields


def _x_assignments(ldflags: str) -> dict[str, str]:
    """The linker's `-X symbol=value` assignments, later ones overriding earlier ones."""
    try:
        fields = split_go_flags(ldflags)
    except ValueError:
        return {}
    out: dict[str, str] = {}
    i = 0
    while i < len(fields):
        f = fields[i]
        arg: str | None = None
        if f in ("-X", "--X"):
            if i + 1 < len(fields):
                arg = fields[i + 1]
                i += 1
        elif f.startswith(("-X=", "--X=")):
            arg = f.split("=", 1)[1]
        i += 1
        if arg is None:
            continue
        symbol, eq, value = arg.partition("=")
        if eq and "." in symbol:
            out.pop(symbol, None)  # NOTE: re-inserting keeps the override's position
            out[symbol] = value
    return out


_VERSION_VALUE = re.compile(r"v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?")
_VERSION_VARS = frozenset({"ver", "semver", "gitver", "buildver", "releasever", "appver"})
_TAG_VARS = frozenset({"tag", "gittag", "releasetag", "buildtag", "versiontag"})


def _ldflags_version(ldflags: str, main_path: str) -> str:
    """A semantic version set with `-X` on a version-like variable of the main package/module.

    Like syft, only `main.*` and variables of packages inside the main module count, the value
    must look like `[v]MAJOR.MINOR.PATCH[-pre][+build]` (after any `refs/tags/`-like prefix),
    and a missing `v` is added, since Go module versions carry it. Version-named variables
    (`version`, `Version`, `gitVersion`, `releaseVersion`, `buildVersion`, `ver`, ...) win over
    tag-named ones (`tag`, `gitTag`, `releaseTag`).
    """
    version_hits: list[str] = []
    tag_hits: list[str] = []
    for symbol, value in _x_assignments(ldflags).items():
        pkg, _, var = symbol.rpartition(".")
        if not (
            pkg == "main" or (main_path and (pkg == main_path or pkg.startswith(main_path + "/")))
        ):
            continue
        candidate = value.rsplit("/", 1)[-1]
        if not _VERSION_VALUE.fullmatch(candidate):
            continue
        if not candidate.startswith("v"):
            candidate = "v" + candidate
        name = var.lower().replace("_", "")
        if name.endswith("version") or name in _VERSION_VARS:
            version_hits.append(candidate)
        elif name in _TAG_VARS:
            tag_hits.append(candidate)
    hits = version_hits or tag_hits
    return hits[0] if hits else ""


def _parse_rfc3339(text: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo is None:
        return None
    return t.astimezone(UTC)


def derive_main_version(info: GoBuildInfo) -> tuple[str, str]:
    """The main module's version and where it came from.

    In order: the build info's own version unless it is `(devel)` or empty (`buildinfo`); a
    version set through `-ldflags -X` (`ldflags`, see `_ldflags_version`); a Go pseudo-version
    `v0.0.0-YYYYMMDDHHMMSS-<revision[:12]>` from `vcs.time` and `vcs.revision`, with `+dirty`
    when `vcs.modified=true` (`vcs-pseudo-version`); else `("", "")`. A binary without a main
    module (`go build file.go`) has no main version.
    """
    main = info.main
    if main is None:
        return "", ""
    if main.version and main.version != _DEVEL:
        return main.version, "buildinfo"
    ldflags = info.setting("-ldflags")
    if ldflags:
        version = _ldflags_version(ldflags, main.path)
        if version:
            return version, "ldflags"
    revision = info.setting("vcs.revision") or ""
    when = _parse_rfc3339(info.setting("vcs.time") or "")
    if revision and when is not None:
        version = f"v0.0.0-{when:%Y%m%d%H%M%S}-{revision[:12]}"
        if info.setting("vcs.modified") == "true":
            version += "+dirty"
        return version, "vcs-pseudo-version"
    return "", ""


