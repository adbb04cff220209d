"""Version comparison and version ranges, for the policy's `deny` and `minimumVersions` rules.

Versions are compared under a *scheme*, chosen from the component's purl type (`scheme_for`):

- `semver`: Semantic Versioning 2.0 precedence. A leading `v` is dropped, missing minor or
  patch numbers count as 0, and build metadata (`+incompatible`, `+build.5`) is ignored, so Go
  module versions and pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`, a pre-release of
  0.0.0) order as the `go` command orders them. Used for Go modules, crates and npm packages.
- `go`: Go toolchain versions, `go1.22.5`, `1.22.5`, `go1.22rc1`, `go1.21beta2`. The purl of
  the standard library drops the `go` prefix (`pkg:golang/stdlib@1.22.5`); both spellings are
  read. `1.22` means `1.22.0`; betas sort before release candidates, which sort before the
  release.
- `deb`: Debian `[epoch:]upstream[-revision]`, compared as dpkg does (`~` sorts before
  anything, even the end of the string; letters sort before other characters).
- `rpm`: `[epoch:]version[-release]`, compared segment by segment as rpm does (`~` sorts
  before anything, `^` after the end of the string). A bound without a release matches every
  release of that version, as in an rpm dependency.
- `generic`: anything else: runs of digits compare as numbers, other runs as text.

A range is `*` (any version), or alternatives separated by `||`, each a comma-separated list
of constraints that must all hold: `<1.2.3`, `>=1.0.0, <1.4.0`, `=2.0.0 || >=2.1.0, <2.1.4`.
Operators are `<`, `<=`, `>`, `>=`, `=` (or `==`, or no operator) and `!=`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

#: The schemes `compare` understands.
SCHEMES = ("semver", "go", "deb", "rpm", "generic")

_OPERATORS = ("<=", ">=", "!=", "==", "<", ">", "=")


class VersionError(ValueError):
    """A version or a range that cannot be read under the scheme asked for."""


# --- semver ---------------------------------------------------------------------------------

_SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9][0-9]*)(?:\.(?P<minor>0|[1-9][0-9]*))?(?:\.(?P<patch>0|[1-9][0-9]*))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$"
)


def _semver_key(version: str) -> tuple[tuple[int, int, int], tuple[tuple[int, int, str], ...]]:
    m = _SEMVER.match(version.strip())
    if not m:
        raise VersionError(f"{version!r} is not a semantic version")
    core = (int(m["major"]), int(m["minor"] or 0), int(m["patch"] or 0))
    if m["pre"] is None:
        # NOTE: a release sorts after all of its pre-releases; (1,) beats any (0, ...) tuple.
        return core, ((1, 0, ""),)
    # Numeric identifiers sort numerically and before alphanumeric ones (semver 11.4); the
    # leading (0, 0, "") puts every pre-release before the release.
    parts = [(0, int(i), "") if i.isdigit() else (1, 0, i) for i in m["pre"].split(".")]
    return core, ((0, 0, ""), *parts)


def _compare_semver(a: str, b: str) -> int:
    ka, kb = _semver_key(a), _semver_key(b)
    return (ka > kb) - (ka < kb)


# --- Go toolchain ---------------------------------------------------------------------------

_GO = re.compile(
    r"^(?:go)?(?P<major>[0-9]+)(?:\.(?P<minor>[0-9]+))?(?:\.(?P<patch>[0-9]+))?"
    r"(?:(?P<stage>beta|rc)(?P<n>[0-9]+))?$"
)
_GO_STAGES = {"beta": 0, "rc": 1, None: 2}


def _go_key(version: str) -> tuple[int, int, int, int, int]:
    # NOTE: build info may carry experiments after a space (`go1.22.1 X:boringcrypto`).
    text = version.strip().split(" ", 1)[0]
    m = _GO.match(text)
    if not m:
        raise VersionError(f"{version!r} is not a Go toolchain version")
    return (
        int(m["major"]),
        int(m["minor"] or 0),
        int(m["patch"] or 0),
        _GO_STAGES[m["stage"]],
        int(m["n"] or 0),
    )


def _compare_go(a: str, b: str) -> int:
    ka, kb = _go_key(a), _go_key(b)
    return (ka > kb) - (ka < kb)


# --- Debian ---------------------------------------------------------------------------------

_DEB = re.compile(r"^(?:(?P<epoch>[0-9]+):)?(?P<rest>[0-9A-Za-z.+~:-]+)$")


def _deb_split(version: str) -> tuple[int, str, str]:
    m = _DEB.match(version.strip())
    if not m or not m["rest"][:1].isdigit():
        raise VersionError(f"{version!r} is not a Debian version")
    upstream, sep, revision = m["rest"].rpartition("-")
    if not sep:
        upstream, revision = m["rest"], ""
    return int(m["epoch"] or 0), upstream, revision


def _deb_order(c: str) -> int:
    # dpkg's ordering of the non-digit parts: `~` before the end of the string, letters
    # before everything else.
    if c == "~":
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _deb_part(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        # Non-digit prefixes, character by character (the end of a string orders as 0).
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ca = _deb_order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            cb = _deb_order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ca != cb:
                return -1 if ca < cb else 1
            i += 1
            j += 1
        na = nb = 0
        while i < len(a) and a[i].isdigit():
            na = na * 10 + int(a[i])
            i += 1
        while j < len(b) and b[j].isdigit():
            nb = nb * 10 + int(b[j])
            j += 1
        if na != nb:
            return -1 if na < nb else 1
    return 0


def _compare_deb(a: str, b: str) -> int:
    ea, ua, ra = _deb_split(a)
    eb, ub, rb = _deb_split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _deb_part(ua, ub) or _deb_part(ra, rb)


# --- RPM ------------------------------------------------------------------------------------

_RPM = re.compile(r"^(?:(?P<epoch>[0-9]+):)?(?P<version>[^-:\s]+)(?:-(?P<release>[^-:\s]+))?$")
_RPM_SEGMENT = re.compile(r"[0-9]+|[A-Za-z]+")


def _rpm_split(version: str) -> tuple[int, str, str | None]:
    m = _RPM.match(version.strip())
    if not m:
        raise VersionError(f"{version!r} is not an RPM version")
    return int(m["epoch"] or 0), m["version"], m["release"]


def _skip_separators(text: str, pos: int) -> int:
    # Separators (anything but letters, digits, `~` and `^`) only delimit segments.
    while pos < len(text) and not (text[pos].isalnum() or text[pos] in "~^"):
        pos += 1
    return pos


def _rpm_marks(ta: str, tb: str) -> int | None:
    """The order `~` or `^` at the current position decides: -1/1; 0 to step over both;
    None when neither is one."""
    if ta == "~" or tb == "~":
        # A tilde sorts before everything, the end of the string included (pre-releases).
        if ta != tb:
            return -1 if ta == "~" else 1
        return 0
    if ta == "^" or tb == "^":
        # A caret sorts after the end of the string but before anything else (snapshots
        # taken after a release).
        if ta == tb:
            return 0
        if not ta:
            return -1
        if not tb:
            return 1
        return -1 if ta == "^" else 1
    return None


def _rpm_segment(va: str, vb: str) -> int:
    """Compare two segments, each all letters or all digits."""
    if va[0].isdigit() != vb[0].isdigit():
        # A numeric segment is newer than an alphabetic one.
        return 1 if va[0].isdigit() else -1
    if va[0].isdigit():
        va, vb = va.lstrip("0"), vb.lstrip("0")
        if len(va) != len(vb):
            return -1 if len(va) < len(vb) else 1
    if va != vb:
        return -1 if va < vb else 1
    return 0


def _rpm_part(a: str, b: str) -> int:
    """rpm's segment comparison of one version or release string."""
    if a == b:
        return 0
    i = j = 0
    while True:
        i, j = _skip_separators(a, i), _skip_separators(b, j)
        ta, tb = a[i : i + 1], b[j : j + 1]
        mark = _rpm_marks(ta, tb)
        if mark == 0:
            i, j = i + 1, j + 1
            continue
        if mark is not None:
            return mark
        if not ta or not tb:
            break
        sa = _RPM_SEGMENT.match(a, i)
        sb = _RPM_SEGMENT.match(b, j)
        if sa is None or sb is None:  # not reached: both start with a letter or a digit
            break
        result = _rpm_segment(sa.group(), sb.group())
        if result:
            return result
        i, j = sa.end(), sb.end()
    rest_a, rest_b = i < len(a), j < len(b)
    if rest_a == rest_b:
        return 0
    return 1 if rest_a else -1


def _compare_rpm(a: str, b: str) -> int:
    ea, va, ra = _rpm_split(a)
    eb, vb, rb = _rpm_split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    result = _rpm_part(va, vb)
    if result or ra is None or rb is None:
        # NOTE: like an rpm dependency, a version without a release stands for every release.
        return result
    return _rpm_part(ra, rb)


# --- generic --------------------------------------------------------------------------------

_GENERIC_RUN = re.compile(r"[0-9]+|[A-Za-z]+")


def _generic_key(version: str) -> tuple[tuple[int, int, str], ...]:
    text = version.strip()
    if not text or not _GENERIC_RUN.search(text):
        raise VersionError(f"{version!r} is not a version")
    if text[:1] in "vV" and text[1:2].isdigit():
        text = text[1:]
    # Numbers sort after words at the same position, so `1.0.1` > `1.0.beta`.
    return tuple(
        (1, int(run), "") if run.isdigit() else (0, 0, run.lower())
        for run in _GENERIC_RUN.findall(text)
    )


def _compare_generic(a: str, b: str) -> int:
    ka, kb = _generic_key(a), _generic_key(b)
    for x, y in zip(ka, kb, strict=False):
        if x != y:
            return -1 if x < y else 1
    if len(ka) == len(kb):
        return 0
    # A trailing word marks a pre-release (`1.0.beta` < `1.0`); a trailing number a later
    # release (`1.0.1` > `1.0`).
    longer, sign = (ka, 1) if len(ka) > len(kb) else (kb, -1)
    return sign if longer[min(len(ka), len(kb))][0] == 1 else -sign


_COMPARE: dict[str, Callable[[str, str], int]] = {
    "semver": _compare_semver,
    "go": _compare_go,
    "deb": _compare_deb,
    "rpm": _compare_rpm,
    "generic": _compare_generic,
}


def compare(a: str, b: str, scheme: str) -> int:
    """-1, 0 or 1 as version `a` is older than, equal to or newer than `b` under `scheme`.

    Raises:
        VersionError: a version cannot be read under the scheme, or the scheme is unknown.
    """
    try:
        fn = _COMPARE[scheme]
    except KeyError:
        raise VersionError(f"unknown version scheme {scheme!r}") from None
    return fn(a, b)


def check(version: str, scheme: str) -> None:
    """Raise `VersionError` unless `version` can be read under `scheme`."""
    compare(version, version, scheme)


def scheme_for(purl_type: str, name: str = "", namespace: str = "") -> str:
    """The scheme for versions of a purl type (`golang`, `deb`, ...).

    The Go standard library (`pkg:golang/stdlib`) is versioned like the toolchain; every other
    Go module, crate and npm package uses semantic versions.
    """
    ptype = purl_type.lower()
    if ptype == "golang":
        return "go" if name == "stdlib" and not namespace else "semver"
    if ptype in ("cargo", "npm"):
        return "semver"
    if ptype in ("deb", "rpm"):
        return ptype
    return "generic"


@dataclass(frozen=True)
class Constraint:
    """One `<op> <version>` bound of a range."""

    op: str
    version: str

    def holds(self, version: str, scheme: str) -> bool:
        """True when `version` satisfies the bound."""
        c = compare(version, self.version, scheme)
        return {
            "<": c < 0,
            "<=": c <= 0,
            ">": c > 0,
            ">=": c >= 0,
            "=": c == 0,
            "!=": c != 0,
        }[self.op]


@dataclass(frozen=True)
class Range:
    """A parsed range: any of `alternatives` holds when all of its constraints hold."""

    text: str
    alternatives: tuple[tuple[Constraint, ...], ...]
    """Empty for `*` (every version)."""

    @property
    def any(self) -> bool:
        """True for `*`."""
        return not self.alternatives

    def check(self, scheme: str) -> None:
        """Raise `VersionError` unless every bound can be read under `scheme`."""
        for alternative in self.alternatives:
            for constraint in alternative:
                check(constraint.version, scheme)

    def contains(self, version: str, scheme: str) -> bool:
        """True when `version` is in the range.

        Raises:
            VersionError: the version (or a bound) cannot be read under the scheme.
        """
        if self.any:
            return True
        return any(all(c.holds(version, scheme) for c in alt) for alt in self.alternatives)


def parse_range(text: str) -> Range:
    """Parse a range such as `>=1.0.0, <1.4.0 || =2.0.0`, or `*`.

    Only the syntax is checked; `Range.check` checks the versions against a scheme.

    Raises:
        VersionError: the range is empty or malformed.
    """
    stripped = text.strip()
    if stripped == "*":
        return Range(text, ())
    alternatives: list[tuple[Constraint, ...]] = []
    for alt in stripped.split("||"):
        constraints: list[Constraint] = []
        for part in alt.split(","):
            bound = part.strip()
            if not bound:
                raise VersionError(f"range {text!r} has an empty constraint")
            op = next((o for o in _OPERATORS if bound.startswith(o)), "=")
            version = bound[len(op) :].strip() if bound.startswith(op) else bound
            if not version or any(ch.isspace() for ch in version) or version[0] in "<>=!":
                raise VersionError(f"range {text!r}: cannot read constraint {bound!r}")
            constraints.append(Constraint("=" if op == "==" else op, version))
        alternatives.append(tuple(constraints))
    return Range(text, tuple(alternatives))
