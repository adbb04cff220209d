"""Licences that OS packages declare, as SPDX expressions where they map exactly.

Package databases and Debian copyright files name licences in their own words: Debian's
machine-readable copyright format (DEP-5) uses short names such as `GPL-2+`, `Expat` or
`BSD-3-clause`; apk writes SPDX-like fields; rpm's `License` tag is an SPDX expression on
recent Fedora and RHEL and Fedora's older short names (`GPLv2+ and MIT`) before. A name becomes
an SPDX identifier only where its meaning is certain: `GPL-2+` is `GPL-2.0-or-later`; an
unversioned `GPL`, `BSD` or `public-domain` has no SPDX identifier, and a package that names
one gets no SPDX licence at all (never a partial one), only its names as written.

A free-form (not DEP-5) copyright file only points at licence texts
(`/usr/share/common-licenses/GPL-2`); a pointer says which text, not whether "or later"
applies, so those names are recorded as names, never as SPDX licences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sbomsign._internal.spdx_ids import exception_ids, licence_ids

#: Most characters of one licence text that is converted (longer ones are kept as text).
_MAX_TEXT = 4096
#: Most names and longest name taken from one copyright file.
_MAX_NAMES = 64
_MAX_NAME = 256

#: Names with one meaning that the SPDX list spells differently (lower case keys).
_NAMES = {
    "expat": "MIT",
    "mit": "MIT",
    "isc": "ISC",
    "zlib": "Zlib",
    "apache-2.0": "Apache-2.0",
    "asl 2.0": "Apache-2.0",
    "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd-4-clause": "BSD-4-Clause",
    "boost": "BSL-1.0",
    "cc0": "CC0-1.0",
    "artistic-1.0": "Artistic-1.0",
    "artistic-2.0": "Artistic-2.0",
    "mpl-1.1": "MPL-1.1",
    "mpl-2.0": "MPL-2.0",
}

# GNU licences: DEP-5 `GPL-2+`, `LGPL-2.1`, `GFDL-NIV-1.3+`; SPDX's deprecated `GPL-2.0+`;
# Fedora's legacy `GPLv2+`, `LGPLv2.1`. The suffix `+` (or `-or-later`) is "or later".
_GNU = re.compile(
    r"(?P<family>A?GPL|LGPL|GFDL)(?P<niv>-NIV)?(?:-|v)(?P<major>[1-3])(?:\.(?P<minor>\d))?"
    r"(?P<later>\+|-or-later)?(?:-only)?", re.IGNORECASE)
# The versions of each GNU licence that exist (SPDX has no GPL-2.1 or LGPL-1.0).
_GNU_VERSIONS = {
    "GPL": {"1.0", "2.0", "3.0"}, "AGPL": {"1.0", "3.0"}, "LGPL": {"2.0", "2.1", "3.0"},
    "GFDL": {"1.1", "1.2", "1.3"},
}
_OPERATORS = {"and": "AND", "or": "OR", "&": "AND", "|": "OR"}
_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def spdx_id(name: str) -> str | None:
    """The SPDX licence identifier one licence name means, or None when it has none or its
    meaning is not certain."""
    name = name.strip()
    if (mapped := _NAMES.get(name.lower())) is not None:
        return mapped
    if (gnu := _GNU.fullmatch(name)) is not None:
        return _gnu(gnu)
    return licence_ids().get(name.lower())


def _gnu(m: re.Match[str]) -> str | None:
    family = m["family"].upper()
    version = f"{m['major']}.{m['minor'] or '0'}"
    if version not in _GNU_VERSIONS[family]:
        return None
    niv = "-no-invariants" if m["niv"] else ""
    return f"{family}-{version}{niv}-{'or-later' if m['later'] else 'only'}"


def expression(text: str) -> str | None:
    """An SPDX expression for a licence text (`GPL-2+ or Artistic-2.0`, `LGPLv2+ and MIT`),
    or None unless every name in it maps exactly and its operators are plain and/or."""
    if not text.strip() or len(text) > _MAX_TEXT:
        return None
    out: list[str] = []
    words = iter(_TOKEN.findall(text))
    for word in words:
        if word in ("(", ")"):
            out.append(word)
        elif word.lower() in _OPERATORS:
            out.append(_OPERATORS[word.lower()])
        elif word.lower() == "with":
            # SPDX's `GPL-3.0-or-later WITH GCC-exception-3.1`: an exception identifier must
            # follow a licence (DEP-5's prose `with OpenSSL exception` names none)
            exception = exception_ids().get(next(words, "").lower())
            if exception is None or not out or out[-1] in ("(", ")", "AND", "OR"):
                return None
            out[-1] = f"{out[-1]} WITH {exception}"
        elif (mapped := spdx_id(word)) is not None:
            out.append(mapped)
        else:
            return None  # commas, names without an identifier
    if not _well_formed(out):
        return None
    return " ".join(out).replace("( ", "(").replace(" )", ")")


def _well_formed(words: list[str]) -> bool:
    """Operands and operators alternate, and parentheses balance."""
    depth, want_operand = 0, True
    for word in words:
        if word == "(":
            if not want_operand:
                return False
            depth += 1
        elif word == ")":
            if want_operand or depth == 0:
                return False
            depth -= 1
        elif word in ("AND", "OR"):
            if want_operand:
                return False
            want_operand = True
        else:
            if not want_operand:
                return False
            want_operand = False
    return depth == 0 and not want_operand


def declared(names: list[str]) -> tuple[str, ...]:
    """The SPDX licences of a package that names `names` (all of them apply): each as an
    expression, or none at all when one of them does not map."""
    mapped = [expression(n) for n in names]
    if not mapped or any(m is None for m in mapped):
        return ()
    unique = sorted({m for m in mapped if m is not None})
    # NOTE: the writers join a component's licences with AND, which binds tighter than OR.
    return tuple(f"({m})" if len(unique) > 1 and " " in m else m for m in unique)


# --- Debian copyright files ------------------------------------------------------------------

_DEP5 = re.compile(r"^Format:\s*\S*copyright-format", re.IGNORECASE)
_LICENSE_FIELD = re.compile(r"^License:[ \t]*(\S[^\n]*)$", re.MULTILINE | re.IGNORECASE)
_COMMON = re.compile(r"/usr/share/common-licenses/([0-9A-Za-z_.+-]+?)[.,;:]?(?=[\s\"')]|$)")


def debian_copyright(text: str) -> tuple[list[str], bool]:
    """The licence names a Debian copyright file uses, in order of first use, and whether
    they are declarations (a DEP-5 file's `License:` fields) or only pointers to texts.

    A file naming more than `_MAX_NAMES` names, or one longer than `_MAX_NAME` characters,
    gives the first of them as names only: a partial list declares nothing."""
    dep5 = bool(_DEP5.match(text.lstrip()))
    found = (_unique(m.strip() for m in _LICENSE_FIELD.findall(text)) if dep5
             else _unique(_COMMON.findall(text)))
    names = [n for n in found if len(n) <= _MAX_NAME][:_MAX_NAMES]
    return names, dep5 and names == found


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(n for n in names if n))
