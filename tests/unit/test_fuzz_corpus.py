"""Every committed fuzz seed and finding replays cleanly: a fixed finding stays fixed.

The fuzzing itself runs in `scripts/test` (`fuzz/runner.py`, a few seconds per harness).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
sys.path.insert(0, str(FUZZ))

import harnesses  # noqa: E402


@pytest.mark.parametrize("name", sorted(harnesses.HARNESSES))
def test_the_seeds_replay_without_an_escaping_exception(name: str) -> None:
    seeds = sorted((FUZZ / "corpus" / name).iterdir())
    assert seeds, f"no seeds for {name}: run fuzz/seeds.py"
    for seed in [*seeds, *sorted((FUZZ / "regressions" / name).glob("*"))]:
        harnesses.check(name, seed.read_bytes())


def test_a_foreign_exception_is_a_finding() -> None:
    harnesses.HARNESSES["_boom"] = lambda data: [][1]
    try:
        with pytest.raises(IndexError):
            harnesses.check("_boom", b"")
    finally:
        del harnesses.HARNESSES["_boom"]


def test_verify_managed_reports_a_bundle_with_other_signed_content() -> None:
    # The golden key's private half is committed, so a "forgery" can be made on purpose: it
    # verifies, but signs content no genuine bundle signs, and the harness must say so.
    from sbomsign import sign

    material = FUZZ.parent / "tests" / "assets" / "golden" / "material"
    with sign.open_key(str(material / "release.key")) as key:
        other = sign.sign_artifact(b"not the artifact", key)
    harnesses.check("verify_managed", other)  # another artifact's digest: refused, no finding
    artifact = (FUZZ.parent / "tests" / "assets" / "bin" / "go-linux-loong64").read_bytes()
    with sign.open_key(str(material / "release.key")) as key:
        fresh = sign.sign_artifact(artifact, key)  # ECDSA: a new signature, same artifact
    with pytest.raises(harnesses.ForgedVerification):
        harnesses.check("verify_managed", fresh)
