"""Licence names of OS packages to SPDX: exact mappings only, never a partial licence."""

from __future__ import annotations

import pytest

from sbomsign._internal.sources.licences import debian_copyright, declared, expression, spdx_id


@pytest.mark.parametrize(("name", "spdx"), [
    # Debian's DEP-5 short names
    ("GPL-2", "GPL-2.0-only"), ("GPL-2+", "GPL-2.0-or-later"), ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("AGPL-3+", "AGPL-3.0-or-later"), ("GFDL-1.2", "GFDL-1.2-only"),
    ("GFDL-NIV-1.3+", "GFDL-1.3-no-invariants-or-later"), ("Expat", "MIT"),
    ("BSD-3-clause", "BSD-3-Clause"), ("Apache-2.0", "Apache-2.0"), ("curl", "curl"),
    # Fedora's legacy names and SPDX's deprecated `+`
    ("GPLv2+", "GPL-2.0-or-later"), ("LGPLv3", "LGPL-3.0-only"), ("ASL 2.0", "Apache-2.0"),
    ("GPL-2.0+", "GPL-2.0-or-later"), ("GPL-3.0-only", "GPL-3.0-only"),
    # SPDX identifiers in any case
    ("zlib", "Zlib"), ("cc-by-sa-4.0", "CC-BY-SA-4.0"),
    # no identifier, or no certain meaning
    ("GPL", None), ("LGPL", None), ("Artistic", None), ("BSD", None), ("public-domain", None),
    ("GPL-2.1", None), ("LGPL-1", None), ("Classpath-exception-2.0", None), ("", None),
])
def test_names_map_only_where_their_meaning_is_certain(name: str, spdx: str | None) -> None:
    assert spdx_id(name) == spdx


@pytest.mark.parametrize(("text", "spdx"), [
    ("GPL-2+ or Artistic-2.0", "GPL-2.0-or-later OR Artistic-2.0"),
    ("LGPLv2+ and MIT", "LGPL-2.0-or-later AND MIT"),
    ("MIT AND (Apache-2.0 OR BSD-3-Clause)", "MIT AND (Apache-2.0 OR BSD-3-Clause)"),
    ("GPL-2+ | BSD-2-clause", "GPL-2.0-or-later OR BSD-2-Clause"),
    ("GPL-3.0-or-later WITH GCC-exception-3.1", "GPL-3.0-or-later WITH GCC-exception-3.1"),
    ("GPL-2 with classpath-exception-2.0", "GPL-2.0-only WITH Classpath-exception-2.0"),
    ("GPL-2+ with OpenSSL exception", None),  # an exception DEP-5 names in words
    ("WITH GCC-exception-3.1", None), ("MIT AND WITH GCC-exception-3.1", None),
    ("MIT WITH", None), ("MIT WITH Apache-2.0", None),  # no exception follows
    ("GPL-2+, and MIT", None),
    ("MIT AND", None), ("(MIT", None), ("MIT)", None), ("MIT OR OR GPL-2", None),
    ("MIT GPL-2", None), ("()", None), ("MIT and " * 1000 + "MIT", None),
])
def test_expressions_convert_whole_or_not_at_all(text: str, spdx: str | None) -> None:
    assert expression(text) == spdx


def test_a_package_gets_all_its_licences_or_none() -> None:
    assert declared(["GPL-2+", "Expat", "GPL-2+"]) == ("GPL-2.0-or-later", "MIT")
    # AND binds tighter than OR: a compound licence keeps its parentheses when joined
    assert declared(["GPL-2+ or Artistic-2.0", "MIT"]) == (
        "(GPL-2.0-or-later OR Artistic-2.0)", "MIT")
    assert declared(["GPL-2+ or Artistic-2.0"]) == ("GPL-2.0-or-later OR Artistic-2.0",)
    assert declared(["GPL-2+", "public-domain"]) == ()
    assert declared([]) == ()


DEP5 = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: netbase

Files: *
Copyright: 1994-1998 Peter Tobias
License: GPL-2

Files: debian/*
Copyright: 2020 Someone
License: GPL-2+ or Artistic-2.0

License: GPL-2
 This program is free software; see /usr/share/common-licenses/GPL-2.
"""

FREE_FORM = """\
This is the Debian prepackaged version of the GNU C Library.

On Debian systems, the complete text of the GNU Library General Public License can be
found in `/usr/share/common-licenses/LGPL-2.1'. The GPL is in
/usr/share/common-licenses/GPL-2.
"""


def test_debian_copyright_files() -> None:
    assert debian_copyright(DEP5) == (["GPL-2", "GPL-2+ or Artistic-2.0"], True)
    # A free-form file only points at licence texts: names, not declarations.
    assert debian_copyright(FREE_FORM) == (["LGPL-2.1", "GPL-2"], False)
    assert debian_copyright("") == ([], False)


def test_copyright_files_are_read_within_bounds() -> None:
    header = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
    many = header + "".join(f"Files: f{i}\nLicense: MIT-{i}\n\n" for i in range(100))
    names, declared_ = debian_copyright(many)
    assert len(names) == 64 and not declared_  # a partial list declares nothing
    long = header + "Files: *\nLicense: " + "GPL-2+ or " * 100 + "MIT\n"
    assert debian_copyright(long) == ([], False)
    # a pathological free-form file stays linear
    assert debian_copyright("/usr/share/common-licenses/" + "a" * 1_000_000) == ([], False)
