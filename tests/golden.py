"""Golden outputs: every fixture's SBOMs and a set of verify reports, byte for byte.

The outputs are what users and their tools diff between releases, so a refactoring must not
change a byte of them. `produce(out)` writes them all into `out`; the test compares them with
`tests/assets/golden/outputs/`. After an intended change of output, rewrite the goldens with

    SBOMSIGN_RECREATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/integration/test_golden.py

and review the diff. The signed material the verify cases read (a managed key pair, bundles
and attestations) was made once by sbomsign and is committed in `tests/assets/golden/material/`,
because signatures are randomised and must stay fixed for reports to be comparable.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from sbomsign._cli import main

ASSETS = Path(__file__).parent / "assets"
GOLDEN = ASSETS / "golden"
MATERIAL = GOLDEN / "material"
OUTPUTS = GOLDEN / "outputs"
EPOCH = "1700000000"
PUBLIC = ASSETS / "public-bundles"

#: The artifacts signed in `material/` (copied from `tests/assets/bin/`).
SIGNED = ("go-linux-loong64", "go-linux-amd64-vcs")

_TIME = re.compile(r'("timeVerified": "|"endTimeUtc": "|"startTimeUtc": ")[^"]+')

_POLICY = """\
apiVersion: sbomsign.dev/v1
kind: Policy
metadata:
  name: golden
spec:
  signers:
    release:
      key:
        file: release.pub
  artifactSignature:
    required: true
  attestations:
    - type: sbom
  sbom:
    describesArtifact: true
    coversBinary: true
    ntia: true
  binary:
    nx: true
    static: true
    architectures: [loongarch64, x86_64]
"""


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run(args: list[str], output: Path | None = None) -> int:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        return main([*args, "-o", str(output)] if output else args)


def make_material(work: Path) -> None:
    """Sign and attest the `SIGNED` artifacts with a fresh managed key into `MATERIAL`."""
    from sbomsign._internal import keys

    MATERIAL.mkdir(parents=True, exist_ok=True)
    key = keys.generate("ecdsa-p256")
    (MATERIAL / "release.key").write_bytes(key.private_pem(None))
    (MATERIAL / "release.pub").write_bytes(keys.public_key_pem(key.public_key))
    with _env(SOURCE_DATE_EPOCH=EPOCH):
        for name in SIGNED:
            shutil.copy(ASSETS / "bin" / name, work / name)
            assert main(["sign", "--key", str(MATERIAL / "release.key"), str(work / name)]) == 0
            for kind in ("cyclonedx", "spdx"):
                assert main(["attest", "--key", str(MATERIAL / "release.key"), "--type", kind,
                             str(work / name), "--supplier", "Example",
                             "--author", "Example release team"]) == 0
            for f in work.glob(f"{name}.*sigstore.json"):
                shutil.copy(f, MATERIAL / f.name)


def _sboms(out: Path) -> None:
    # Run from the fixture directory with relative names: the scan report names files as given.
    bins = sorted(p.name for p in (ASSETS / "bin").iterdir() if p.is_file())
    common = ["--supplier", "Example Telecom", "--author", "Example release team"]
    fmts = "cyclonedx-json,cyclonedx-xml,spdx-json,spdx-tv"
    for name, extra in (("sbom", []), ("sbom-cdx15", ["--spec-version", "1.5"])):
        d = out / name
        d.mkdir()
        formats = "cyclonedx-json,cyclonedx-xml" if extra else fmts
        code = _run(["sbom", *bins, "--format", formats, "--output-dir", str(d),
                     *common, *extra])
        assert code == 0, name
    d = out / "merged"
    d.mkdir()
    go = [p for p in bins if p.startswith("go-linux-")]
    code = _run(["sbom", *go, "--merge", "--format", fmts, "--output-dir", str(d),
                 *common])
    assert code == 0
    assert _run(["scan", "--format", "json", *bins], out / "scan.json") == 0


def _verify_cases(work: Path) -> list[tuple[str, list[str]]]:
    """(name, verify arguments) for each golden verify report."""
    (work / "policy.yaml").write_text(_POLICY)
    shutil.copy(MATERIAL / "release.pub", work / "release.pub")
    for f in MATERIAL.glob("*.sigstore.json"):
        shutil.copy(f, work / f.name)
    for name in SIGNED:
        shutil.copy(ASSETS / "bin" / name, work / name)
    shutil.copytree(PUBLIC, work / "public")
    shutil.copy(ASSETS / "cosign-key" / "cosign.pub", work / "cosign.pub")
    tampered = work / "tampered" / SIGNED[0]
    tampered.parent.mkdir()
    data = bytearray((ASSETS / "bin" / SIGNED[0]).read_bytes())
    data[-1] ^= 1
    tampered.write_bytes(bytes(data))
    # Paths are relative to `work`, the working directory of the runs, so that reports and
    # the digests of command-line policies do not depend on where the checkout lives.
    signed = list(SIGNED)
    key = ["--key", "release.pub"]
    cases: list[tuple[str, list[str]]] = [
        ("managed-key", [*key, *signed]),
        ("managed-policy", ["--policy", "policy.yaml", *signed]),
        ("managed-tampered", [*key, "--bundle", f"{SIGNED[0]}.sigstore.json",
                              f"tampered/{SIGNED[0]}"]),
        ("managed-wrong-key", ["--key", "cosign.pub", signed[0]]),
    ]
    public = [
        ("bundle_v3.txt", "bundle_v3.txt.sigstore", "staging", "william@yossarian.net",
         "https://github.com/login/oauth"),
        ("bundle_v3_github.whl", "bundle_v3_github.whl.sigstore", "production",
         "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/"
         "v0.1.2", "https://token.actions.githubusercontent.com"),
        ("staging-rekor-v2.txt", "staging-rekor-v2.txt.sigstore.json", "staging",
         "jku@goto.fi", "https://github.com/login/oauth"),
        ("bundle_cve_2022_36056.txt", "bundle_cve_2022_36056.txt.sigstore", "production",
         "william@yossarian.net", "https://github.com/login/oauth"),
        ("bundle_v3.txt", "bundle_v3.txt.sigstore", "staging", "someone@example.com",
         "https://github.com/login/oauth"),
    ]
    for i, (artifact, bundle, root, ident, issuer) in enumerate(public):
        cases.append((f"public-{i}-{artifact}", [
            "--bundle", f"public/{bundle}", "--trusted-root", f"public/{root}-trusted_root.json",
            "--certificate-identity", ident, "--certificate-oidc-issuer", issuer,
            f"public/{artifact}"]))
    return cases


def _verify(work: Path, out: Path) -> None:
    d = out / "verify"
    d.mkdir()
    for name, args in _verify_cases(work):
        for fmt in ("json", "text", "sarif"):
            report = d / f"{name}.{fmt}"
            code = _run(["verify", "--format", fmt, *args], report)
            # The time of the run is the one thing a report may not repeat.
            text = _TIME.sub(r"\1<time>", report.read_text())
            report.write_text(f"exit {code}\n{text}")


def produce(work: Path, out: Path) -> None:
    """Write every golden output into `out` (an empty directory), using `work` as scratch."""
    cwd = Path.cwd()
    with _env(SOURCE_DATE_EPOCH=EPOCH, SBOMSIGN_JOBS="2"):
        try:
            os.chdir(ASSETS / "bin")
            _sboms(out)
            os.chdir(work)
            _verify(work, out)
        finally:
            os.chdir(cwd)
