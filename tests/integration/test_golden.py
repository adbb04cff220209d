"""Every fixture's SBOMs (four formats, CycloneDX 1.6 and 1.5, merged) and a set of verify
reports (JSON, text, SARIF) stay byte-identical: see `tests/golden.py`."""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

from tests.golden import OUTPUTS, produce


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_outputs_are_byte_identical_to_the_goldens(tmp_path: Path) -> None:
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    produce(work, out)
    if os.environ.get("SBOMSIGN_RECREATE_SNAPSHOTS") == "1":
        shutil.rmtree(OUTPUTS, ignore_errors=True)
        shutil.copytree(out, OUTPUTS)
    got, want = _files(out), _files(OUTPUTS)
    assert sorted(got) == sorted(want), "the set of golden outputs changed"
    changed = [name for name in sorted(want) if got[name] != want[name]]
    if changed:
        first = changed[0]
        diff = "".join(difflib.unified_diff(
            want[first].decode(errors="replace").splitlines(keepends=True),
            got[first].decode(errors="replace").splitlines(keepends=True),
            f"golden/{first}", f"now/{first}", n=2))
        raise AssertionError(f"{len(changed)} outputs changed ({', '.join(changed[:10])}); "
                             f"first diff:\n{diff[:4000]}")
    assert len(want) > 150
