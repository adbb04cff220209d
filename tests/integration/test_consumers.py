"""Other consumers read sbomsign's documents: lib4sbom (PyPI; the library under sbom2doc,
sbomdiff and sbom4python) parses every format, with every component, the graph, the
supplier (with its contact where lib4sbom reads one) and a `Z` timestamp."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from sbomsign import sbom
from sbomsign.models import ComponentKind
from sbomsign.scan import scan_file
from tests.npm import npm_tools

BIN = Path(__file__).resolve().parents[2] / "tests" / "assets" / "bin"
SUPPLIER = "Organization: Example Telco Ltd (sbom@example.com)"
AUTHOR = "Organization: Example Telco Ltd (release@example.com)"
FORMATS = [("cyclonedx-json", ".cdx.json", ""), ("cyclonedx-xml", ".cdx.xml", ""),
           ("spdx-json", ".spdx.json", ""), ("spdx-tv", ".spdx", ""),
           ("spdx-json", ".spdx.json", "openchain-telco"),
           ("spdx-tv", ".spdx", "openchain-telco")]


def _parse(path: Path) -> Any:
    from lib4sbom.parser import SBOMParser

    parser = SBOMParser()
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        parser.parse_file(str(path))
    return parser


@pytest.mark.parametrize("binary", ["go-linux-amd64", "c-hello-rust-audit", "pe-hello-pkgnote.exe"])
@pytest.mark.parametrize(("fmt", "suffix", "profile"), FORMATS)
def test_lib4sbom_reads_every_format(binary: str, fmt: str, suffix: str, profile: str,
                                     tmp_path: Path) -> None:
    artifact = scan_file(str(BIN / binary))
    path = tmp_path / f"{binary}{suffix}"
    path.write_bytes(sbom.write(artifact, fmt, supplier=SUPPLIER, author=AUTHOR,
                                profile=profile))
    parser = _parse(path)
    names = {p["name"] for p in parser.get_packages()}
    expected = {c.name for c in artifact.components
                if not (profile and c.kind is ComponentKind.SHARED_LIBRARY)}
    assert expected <= names
    assert names - expected <= {binary}  # SPDX lists the artifact as a package too
    assert parser.get_relationships()
    document = parser.get_document()
    assert document["created"].endswith("Z")
    if fmt.startswith("spdx"):
        supplier = next(p["supplier"] for p in parser.get_packages() if p["name"] == binary)
        assert "Example Telco Ltd (sbom@example.com)" in supplier
    elif fmt == "cyclonedx-json":  # lib4sbom's XML reader skips metadata.supplier
        assert document["metadata_supplier"] == "Example Telco Ltd"


CDXGEN = "12.8.4"


@pytest.fixture(scope="module")
def cdxgen() -> Path:
    """cdxgen's command-line tools (npm), installed once under .cache/cdxgen."""
    return npm_tools("cdxgen", f"@cyclonedx/cdxgen@{CDXGEN}", "cdx-convert", omit_optional=True)


@pytest.mark.parametrize("binary", ["go-linux-amd64", "c-hello-rust-audit"])
def test_cdxgen_validates_and_converts_to_spdx3(binary: str, cdxgen: Path,
                                                tmp_path: Path) -> None:
    import json
    import subprocess

    artifact = scan_file(str(BIN / binary))
    bom = tmp_path / f"{binary}.cdx.json"
    bom.write_bytes(sbom.write(artifact, "cyclonedx-json", supplier=SUPPLIER, author=AUTHOR))
    report = tmp_path / "report.json"
    # exit 3 is its compliance benchmarks (licences and hashes a binary does not record)
    run = subprocess.run([str(cdxgen / "cdx-validate"), "-i", str(bom), "-r", "json", "-o",
                          str(report), "--no-include-manual"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode in (0, 3), run.stderr
    result = json.loads(report.read_text())
    assert result["schemaValid"] is True and result["deepValid"] is True
    # cdxgen's CycloneDX -> SPDX 3.0.1 conversion takes the document (its timestamps need a Z)
    spdx3 = tmp_path / f"{binary}.spdx3.json"
    run = subprocess.run([str(cdxgen / "cdx-convert"), "-i", str(bom), "-o", str(spdx3)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    graph = json.loads(spdx3.read_text())["@graph"]
    packages = {e["name"] for e in graph if e["type"] == "software_Package"}
    assert {c.name for c in artifact.components} | {binary} <= packages
