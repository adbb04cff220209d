"""Files and directories on disk: the source every name falls back to."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from sbomsign._internal.sources import Candidate, Expansion, Settings
from sbomsign._internal.sources.streams import max_binary_bytes
from sbomsign.models import ScanProblem


class _Paths:
    """Files as given, and directories walked recursively.

    Files named explicitly are always inspected (a non-binary is then reported). Inside a
    directory, files whose magic bytes are not ELF, PE or Mach-O are skipped quietly, symlinked
    directories are not entered, and a symlinked file is taken only when it resolves inside the
    tree and was not already seen. Unreadable entries become problems; the walk goes on.
    """

    def claims(self, given: str) -> bool:
        return True

    def expand(self, given: str, settings: Settings, seen: set[str], into: Expansion) -> None:
        problems = into.problems
        p = Path(given)
        try:
            if p.is_dir():
                for cand, problem in _walk(p):
                    if problem is not None:
                        problems.append(problem)
                    elif cand is not None:
                        _take(cand, seen, into)
            elif p.exists():
                _take(Candidate(given, given), seen, into)
            else:
                problems.append(ScanProblem(given, "no such file or directory"))
        except OSError as e:
            problems.append(ScanProblem(given, f"cannot read: {e.strerror or e}"))


def _take(cand: Candidate, seen: set[str], into: Expansion) -> None:
    real = os.path.realpath(cand.path)
    if real in seen:
        return
    seen.add(real)
    # The same bound as for a binary taken out of an image: lief maps the whole file.
    most, size = max_binary_bytes(), os.path.getsize(real)
    if size > most:
        into.problems.append(ScanProblem(cand.display, f"{size} bytes, larger than {most} "
                                         "(raise SBOMSIGN_MAX_BINARY_BYTES to allow more)"))
        return
    into.candidates.append(cand)


SOURCE = _Paths()


def _walk(root: Path) -> Iterator[tuple[Candidate | None, ScanProblem | None]]:
    from sbomsign._internal.binary import sniff

    real_root = os.path.realpath(root)
    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=errors.append):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                target = os.path.realpath(full)
                if os.path.commonpath([real_root, target]) != real_root:
                    continue
            try:
                if not os.path.isfile(full):
                    continue
                with open(full, "rb") as f:
                    if sniff(f) is None:
                        continue
            except OSError as e:
                yield None, ScanProblem(full, f"cannot read: {e.strerror or e}")
                continue
            yield Candidate(full, full), None
        while errors:
            err = errors.pop()
            yield None, ScanProblem(str(err.filename), f"cannot read: {err.strerror or err}")
