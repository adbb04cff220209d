"""syft's names for plain files and directories (`dir:PATH`, `file:PATH`), and a clear answer
for the daemon schemes sbomsign does not read (`docker:`, `podman:`).

A name that exists on disk as given keeps its meaning as a path (a file may be called
`dir:x`); otherwise the scheme is read as syft reads it. `file:PATH` goes through the other
sources like a bare path (an archive is opened); `dir:PATH` must be a directory.
"""

from __future__ import annotations

import os

from sbomsign._internal.sources import Expansion, Settings
from sbomsign.errors import InputError

_PATHS = ("dir:", "file:")
_DAEMONS = ("docker:", "podman:")


class _Schemes:
    def claims(self, given: str) -> bool:
        return given.startswith(_PATHS + _DAEMONS) and not os.path.lexists(given)

    def expand(self, given: str, settings: Settings, seen: set[str], into: Expansion) -> None:
        from sbomsign._internal.sources import SOURCES

        scheme, _, path = given.partition(":")
        if given.startswith(_DAEMONS):
            raise InputError(
                f"{given}: images are not read from a {scheme} daemon; save the image "
                f"(`{scheme} save IMAGE -o image.tar`) and name docker-archive:image.tar, "
                "or name it in its registry (registry:HOST/REPOSITORY:TAG)")
        if not path:
            raise InputError(f"{given}: expected {scheme}:PATH")
        wanted = os.path.isdir if scheme == "dir" else os.path.isfile
        if not wanted(path):
            kind = "directory" if scheme == "dir" else "file"
            raise InputError(f"{given}: not a {kind}" if os.path.exists(path)
                             else f"{given}: no such {kind}")
        source = next(s for s in SOURCES if s.claims(path))
        source.expand(path, settings, seen, into)


SOURCE = _Schemes()
