"""Rust crates named by source paths, in Rust binaries nobody here built and that carry no
cargo-auditable data: Debian 12's python3-cryptography (built from Debian's packaged crates,
`/usr/share/cargo/registry/…`) and the PyPI wheel of cryptography this environment installed
(built by maturin from crates.io, `…/index.crates.io-…/`). The ground truth is what GNU
`strings` finds in the whole file, independently of sbomsign's section search."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest

from sbomsign import sbom
from sbomsign.models import Artifact, ComponentKind
from sbomsign.scan import scan_file
from tests.images import debs, run

ROOT = Path(__file__).resolve().parents[2]
_TRUTH = re.compile(r"(?:/(?:index\.crates\.io|github\.com)-[0-9a-f]{16}|/usr/share/cargo/registry)"
                    r"/([A-Za-z0-9_][A-Za-z0-9_-]*)-(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)/")


def _strings_truth(path: Path) -> set[tuple[str, str]]:
    out = subprocess.run(["strings", "-n", "8", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return {(m.group(1), m.group(2)) for m in _TRUTH.finditer(out)}


def _crates(artifact: Artifact) -> set[tuple[str, str]]:
    return {(c.name, c.version) for c in artifact.components
            if c.kind is ComponentKind.RUST_CRATE}


@pytest.fixture(scope="module")
def debian_extension(tmp_path_factory: pytest.TempPathFactory) -> Path:
    (deb,) = debs(("python3-cryptography",))
    root = tmp_path_factory.mktemp("python3-cryptography")
    run("dpkg-deb", "-x", deb, root)
    (found,) = root.rglob("_rust.abi3.so")
    return found


def _wheel_extension() -> Path:
    spec = importlib.util.find_spec("cryptography")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "hazmat" / "bindings" / "_rust.abi3.so"


def test_crates_of_a_debian_built_extension(debian_extension: Path) -> None:
    artifact = scan_file(str(debian_extension))
    found = _crates(artifact)
    assert found == _strings_truth(debian_extension)
    assert {"pyo3", "pyo3-ffi", "asn1", "pem"} <= {name for name, _ in found}
    for c in artifact.components:
        if c.kind is ComponentKind.RUST_CRATE:
            assert c.purl == f"pkg:cargo/{c.name}@{c.version}"
            assert dict(c.properties)["sbomsign:cargo:registry"] == "debian"
            (evidence,) = c.evidence
            assert evidence.location == ".rodata" and evidence.confidence == 0.6
            assert evidence.offset is not None
            data = debian_extension.read_bytes()[evidence.offset:evidence.offset + 200]
            assert f"/{c.name}-{c.version}/".encode() in data


def test_crates_of_a_pypi_wheel_extension() -> None:
    extension = _wheel_extension()
    artifact = scan_file(str(extension))
    found = _crates(artifact)
    assert found and found == _strings_truth(extension)
    assert "pyo3" in {name for name, _ in found}
    assert all(dict(c.properties)["sbomsign:cargo:registry"] == "crates.io"
               for c in artifact.components if c.kind is ComponentKind.RUST_CRATE)


def test_the_sbom_says_what_is_not_known(debian_extension: Path) -> None:
    artifact = scan_file(str(debian_extension))
    doc = json.loads(sbom.write(artifact, "cyclonedx-json"))
    by_aggregate = {c["aggregate"]: set(c.get("dependencies", [])) for c in doc["compositions"]}
    crates = {c["bom-ref"] for c in doc["components"] if c.get("purl", "").startswith(
        "pkg:cargo/")}
    assert crates and crates <= by_aggregate["unknown"]
    assert not crates & by_aggregate.get("complete", set())


def test_cargo_auditable_data_is_the_record(tmp_path: Path) -> None:
    # A binary with cargo-auditable data: its crates come from it, not from paths.
    artifact = scan_file(str(ROOT / "tests" / "assets" / "bin" / "c-hello-rust-audit"))
    crates = [c for c in artifact.components if c.kind is ComponentKind.RUST_CRATE]
    assert crates and all(c.found_by == "cargo-auditable" for c in crates)
