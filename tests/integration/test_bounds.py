"""Each bound of the README's "Limits on hostile input" table that the other hostile-input
tests do not already reach: exceeded, it is a one-line error naming the limit (and the
variable that raises it); raised, the same input is read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sbomsign import sbom
from sbomsign._cli import main
from sbomsign._internal.sigstore.bundle import parse_bundle
from sbomsign._internal.sigstore.trustroot import load_trusted_root
from sbomsign.errors import InputError, SbomError
from tests.conftest import ASSETS, BIN

GOLDEN = ASSETS / "golden" / "outputs" / "merged"
SBOMS = sorted(GOLDEN.glob("go-linux.merged.*"))
MATERIAL = ASSETS / "golden" / "material"
PUBLIC = ASSETS / "public-bundles"


def test_the_merged_fixtures_cover_every_format() -> None:
    assert {sbom.detect(p.read_bytes(), p.name).value for p in SBOMS} == {
        "cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tv"}


@pytest.mark.parametrize("path", SBOMS, ids=lambda p: p.name)
@pytest.mark.parametrize("variable", ["SBOMSIGN_MAX_SBOM_COMPONENTS",
                                      "SBOMSIGN_MAX_SBOM_RELATIONSHIPS"])
def test_component_and_relationship_counts_are_bounded(
    path: Path, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = path.read_bytes()
    whole = sbom.read(data, path.name)
    monkeypatch.setenv(variable, "3")
    with pytest.raises(SbomError) as e:
        sbom.read(data, path.name)
    message = str(e.value)
    assert message.startswith(f"{path.name}: more than 3 ") and variable in message
    assert "\n" not in message
    monkeypatch.setenv(variable, "100000")
    assert sbom.read(data, path.name) == whole


def test_a_deeply_nested_xml_sbom_is_refused_before_any_reader_walks_it() -> None:
    levels = 5000
    inner = '<component type="library"><name>c</name><components>' * levels
    doc = ('<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">'
           f'<components>{inner}{"</components></component>" * levels}</components></bom>')
    for via_library in (False, True):
        with pytest.raises(SbomError, match="nests deeper than 100 elements"):
            sbom.read(doc.encode(), "deep.cdx.xml", via_library=via_library)


def _bundle() -> dict[str, object]:
    return json.loads((PUBLIC / "staging-rekor-v2.txt.sigstore.json").read_bytes())


def test_a_bundle_with_too_many_log_entries_is_refused() -> None:
    doc = _bundle()
    material = doc["verificationMaterial"]
    assert isinstance(material, dict)
    material["tlogEntries"] = material["tlogEntries"] * 32
    parse_bundle(json.dumps(doc).encode())
    material["tlogEntries"] = material["tlogEntries"] + material["tlogEntries"][:1]
    with pytest.raises(InputError, match="more than 32 transparency log entries"):
        parse_bundle(json.dumps(doc).encode())


def test_a_bundle_with_too_many_timestamps_is_refused() -> None:
    doc = _bundle()
    material = doc["verificationMaterial"]
    assert isinstance(material, dict)
    stamps = material["timestampVerificationData"]["rfc3161Timestamps"]
    material["timestampVerificationData"]["rfc3161Timestamps"] = stamps * 33
    with pytest.raises(InputError, match="more than 32 RFC 3161 timestamps"):
        parse_bundle(json.dumps(doc).encode())


def test_a_trusted_root_with_too_many_entries_is_refused() -> None:
    root = json.loads((PUBLIC / "staging-trusted_root.json").read_bytes())
    root["tlogs"] = root["tlogs"] * 257
    with pytest.raises(InputError, match="more than 256 tlogs"):
        load_trusted_root(json.dumps(root).encode())


def test_a_log_entry_with_an_overlong_inclusion_proof_fails_that_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _bundle()
    material = doc["verificationMaterial"]
    assert isinstance(material, dict)
    proof = material["tlogEntries"][0]["inclusionProof"]
    proof["hashes"] = proof["hashes"] * 65
    artifact = tmp_path / "staging-rekor-v2.txt"
    shutil.copy(PUBLIC / "staging-rekor-v2.txt", artifact)
    (tmp_path / "staging-rekor-v2.txt.sigstore.json").write_text(json.dumps(doc))
    code = main(["verify", "--trusted-root", str(PUBLIC / "staging-trusted_root.json"),
                 "--certificate-identity", "jku@goto.fi",
                 "--certificate-oidc-issuer", "https://github.com/login/oauth", str(artifact)])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    assert "more than 64 hashes" in out


def test_a_plain_file_over_the_binary_limit_is_one_problem_and_the_rest_is_scanned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    small, large = BIN / "c-hello-plain", BIN / "go-linux-loong64"
    assert small.stat().st_size < large.stat().st_size
    monkeypatch.setenv("SBOMSIGN_MAX_BINARY_BYTES", str(small.stat().st_size))
    out = tmp_path / "scan.json"
    code = main(["scan", "--format", "json", "-o", str(out), str(small), str(large)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"{large}: {large.stat().st_size} bytes, larger than {small.stat().st_size}" in err
    assert "SBOMSIGN_MAX_BINARY_BYTES" in err
    names = [a["path"] for a in json.loads(out.read_text())["artifacts"]]
    assert names == [str(small)]


def test_a_cel_rule_that_runs_too_long_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    import signal
    import time

    from sbomsign._internal import cel

    program = cel.compile("xs.all(a, xs.all(b, xs.all(c, a + b + c >= 0)))")
    bindings = cel.bind({"xs": list(range(400))})
    monkeypatch.setenv("SBOMSIGN_CEL_SECONDS", "1")
    started = time.monotonic()
    with pytest.raises(cel.CelError, match="longer than 1 s .*SBOMSIGN_CEL_SECONDS"):
        program.evaluate(bindings)
    assert time.monotonic() - started < 5
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert cel.compile("xs.all(a, a >= 0)").evaluate(bindings) is True


def test_the_worker_memory_limit_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sbomsign.scan import scan_paths

    shutil.copy(BIN / "go-linux-amd64", tmp_path / "go")
    monkeypatch.setenv("SBOMSIGN_WORKER_MEMORY_BYTES", str(64 << 20))
    (problem,) = scan_paths([str(tmp_path / "go")], jobs=1).problems
    assert problem.path.endswith("go")
    monkeypatch.setenv("SBOMSIGN_WORKER_MEMORY_BYTES", str(4 << 30))
    assert len(scan_paths([str(tmp_path / "go")], jobs=1).artifacts) == 1
