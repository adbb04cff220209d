"""SPDX 3.0.1 through the command line, in-process: `sbom --format spdx3-json` for an image
and for files (checked by spdx3-validate's own command line), `--spec-version`, and
`attest --type spdx3`."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from sbomsign import sbom, sign, verify
from sbomsign._cli import main
from sbomsign._internal import intoto, keys
from sbomsign._internal.sigstore import bundle
from tests import spdx3_validation

ASSETS = Path(__file__).resolve().parents[2] / "assets"
BIN = ASSETS / "bin"
IMAGE = f"oci-dir:{ASSETS / 'images' / 'demo-oci'}:1.0"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SBOMSIGN_SUPPLIER", "SBOMSIGN_AUTHOR", "SBOMSIGN_FORMAT",
                "SBOMSIGN_SPEC_VERSION", "SBOMSIGN_KEY", "SBOMSIGN_KEY_PASSWORD",
                "COSIGN_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


def test_an_image_sbom_validates_with_spdx3_validate(tmp_path: Path) -> None:
    out = tmp_path / "image.spdx3.json"
    assert main(["sbom", IMAGE, "--format", "spdx3-json", "-o", str(out)]) == 0
    code, printed = spdx3_validation.cli(out)
    assert code == 0, printed[:3000]
    data = out.read_bytes()
    (bom,) = [n for n in json.loads(data)["@graph"] if n["type"] == "software_Sbom"]
    (root,) = [n for n in json.loads(data)["@graph"] if n.get("spdxId") == bom["rootElement"][0]]
    assert root["type"] == "software_Package"
    assert root["software_primaryPurpose"] == "container"
    assert root["software_packageUrl"].startswith("pkg:oci/")
    spdx2 = tmp_path / "image.spdx.json"
    assert main(["sbom", IMAGE, "--format", "spdx-json", "-o", str(spdx2)]) == 0
    (image,) = sbom.read(data, out.name).artifacts
    (same,) = sbom.read(spdx2.read_bytes(), spdx2.name).artifacts
    assert (image.name, image.digests) == (same.name, same.digests)
    # NOTE: the binaries inside are files, which SPDX 3 gives no version (SPDX 2.3 states
    # their digest as one); everything else comes back alike.
    assert [(c.kind, c.name, c.purl, c.linking) for c in image.components] == [
        (c.kind, c.name, c.purl, c.linking) for c in same.components]


def test_files_get_spdx3_json_documents(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    target = tmp_path / "c-hello-plain"
    shutil.copyfile(BIN / "c-hello-plain", target)
    args = ["sbom", str(target), "--format", "cyclonedx-json,spdx3-json"]
    assert main([*args, "--spec-version", "1.5"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "c-hello-plain", "c-hello-plain.cdx.json", "c-hello-plain.spdx3.json"]
    data = (tmp_path / "c-hello-plain.spdx3.json").read_bytes()
    assert sbom.detect(data) is sbom.SbomFormat.SPDX3_JSON
    assert main(["sbom", str(target), "--format", "spdx3-json", "--spec-version", "3.0.1",
                 "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith('{\n  "@context": ')
    assert main(["sbom", str(target), "--format", "spdx3-json", "--spec-version", "2.3"]) == 2
    assert "spdx3-json documents are always SPDX 3.0.1" in capsys.readouterr().err


def test_attest_spdx3(tmp_path: Path) -> None:
    key = keys.generate("ecdsa-p256")
    pem = tmp_path / "signing.pem"
    pem.write_bytes(key.private_pem(None))
    target = tmp_path / "go-linux-loong64"
    shutil.copyfile(BIN / "go-linux-loong64", target)
    assert main(["attest", str(target), "--type", "spdx3", "--key", str(pem)]) == 0
    out = tmp_path / "go-linux-loong64.spdx3.sigstore.json"
    envelope = bundle.parse_bundle(out.read_bytes()).dsse_envelope
    assert envelope is not None
    statement = intoto.parse_statement(envelope.payload)
    assert statement.predicate_type == sign.PREDICATE_SPDX3
    assert statement.predicate["@context"] == "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
    trust = verify.TrustMaterial(keys=(("signing.pub", keys.public_key_pem(key.public_key)),))
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    result = verify.verify_bundle(out.read_bytes(), sha256=digest, trust=trust, name=out.name)
    assert isinstance(result, verify.VerifiedAttestation)
    assert result.predicate_kind == "spdx" and result.sbom is not None
    assert [a.name for a in result.sbom.artifacts] == ["go-linux-loong64"]
