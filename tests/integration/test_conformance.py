"""The sigstore-conformance verification cases, offline, through `sbomsign verify`.

Each case of `tests/assets/sigstore-conformance/bundle-verify/` runs twice, as the suite's own
runner does: with the artifact's path and with `sha256:<digest>` in its place. A case passes
when `verify` exits 0 and its name does not end in `_fail`, or exits non-zero (with a
one-line reason, never a traceback) and it does.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sbomsign._cli import main
from tests.conftest import ASSETS

CASES = ASSETS / "sigstore-conformance" / "bundle-verify"
PRODUCTION = ASSETS / "public-bundles" / "production-trusted_root.json"
IDENTITY = ("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
            ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main")
ISSUER = "https://token.actions.githubusercontent.com"


def _args(case: Path, by_digest: bool) -> list[str]:
    artifact = case / "artifact" if (case / "artifact").exists() else CASES / "a.txt"
    root = case / "trusted_root.json" if (case / "trusted_root.json").exists() else PRODUCTION
    args = ["verify", "--bundle", str(case / "bundle.sigstore.json"),
            "--trusted-root", str(root)]
    if (case / "key.pub").exists():
        args += ["--key", str(case / "key.pub")]
    else:
        identity = (case / "identity").read_text().strip() if (case / "identity").exists() \
            else IDENTITY
        issuer = (case / "issuer").read_text().strip() if (case / "issuer").exists() else ISSUER
        args += ["--certificate-identity", identity, "--certificate-oidc-issuer", issuer]
    if by_digest:
        return [*args, "sha256:" + hashlib.sha256(artifact.read_bytes()).hexdigest()]
    return [*args, str(artifact)]


def test_every_case_is_here() -> None:
    assert len([d for d in CASES.iterdir() if d.is_dir()]) == 70


@pytest.mark.parametrize("by_digest", [False, True], ids=["path", "digest"])
@pytest.mark.parametrize("case", sorted(d for d in CASES.iterdir() if d.is_dir()),
                         ids=lambda d: d.name)
def test_conformance_case(case: Path, by_digest: bool,
                          capsys: pytest.CaptureFixture[str]) -> None:
    code = main(_args(case, by_digest))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if case.name.endswith("_fail"):
        assert code != 0, f"verified, but must fail: {(case / 'README').read_text().strip()}"
    else:
        assert code == 0, f"{(case / 'README').read_text().strip()}\n{out}{err}"
