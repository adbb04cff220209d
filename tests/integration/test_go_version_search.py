"""The Go version of binaries without a build-info header, found by searching the file.

Go does not end or separate strings, so `runtime.buildVersion` may follow any byte. Real
case: esbuild 0.28.2 for macOS (npm `@esbuild/darwin-arm64` and `@esbuild/darwin-x64`, MIT,
fetched with `npm pack` and cached in `.cache/npm`), whose build-info header is missing and
whose `go1.26.5` follows a stray `C`. Ground truth: it is the only Go release string in the
file (the one other `go1.` is in a source file name, `fips140only_go1.26.go`).
"""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from sbomsign._internal.binary.detectors.golang.recover import _scan_go_version
from sbomsign.scan import scan_paths

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "npm"


def _esbuild(platform: str, tmp_path: Path) -> Path:
    name = f"esbuild-{platform}-0.28.2.tgz"
    if not (CACHE / name).exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", "--silent", f"@esbuild/{platform}@0.28.2",
                        "--pack-destination", str(CACHE)], check=True, timeout=300,
                       capture_output=True)
    with tarfile.open(CACHE / name) as tar:
        tar.extract("package/bin/esbuild", tmp_path, filter="data")
    return tmp_path / "package" / "bin" / "esbuild"


@pytest.mark.parametrize("platform", ["darwin-arm64", "darwin-x64"])
def test_esbuild_for_macos_gets_its_go_version_and_stdlib(platform: str, tmp_path: Path) -> None:
    inventory = scan_paths([str(_esbuild(platform, tmp_path))], jobs=1)
    (artifact,) = inventory.artifacts
    (binary,) = artifact.binaries
    assert binary.go is not None and binary.go.go_version == "go1.26.5"
    assert any(c.purl == "pkg:golang/stdlib@1.26.5" for c in artifact.components)
    assert any("Go version from the runtime version string" in w for w in binary.warnings)


@pytest.mark.parametrize(("data", "found"), [
    (b"\x94\x1amB\xff\xefCgo1.26.5\0\0\0", "go1.26.5"),       # after a stray byte of data
    (b"text: Chicago1.2\0", ""),                              # the end of a word
    (b"\x00\xffdl/go1.21.0\0", ""),                           # a path
    (b" go1.20\0\x00\xefCgo1.26.5\0", "go1.20"),             # a clean boundary wins
    (b"\xefCgo1.26.5 and more text", ""),                     # not a string of its own
])
def test_a_version_after_a_letter_counts_only_as_a_string_of_its_own(
    data: bytes, found: str
) -> None:
    assert _scan_go_version(data) == found
