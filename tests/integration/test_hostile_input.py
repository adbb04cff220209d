"""Hostile input found by hand: each was a traceback (or gigabytes of memory) and is now a
one-line error with exit 2, or a failed verdict with exit 1."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from sbomsign import sign
from sbomsign._cli import main
from sbomsign._internal import jsonbound
from tests.conftest import ASSETS, BIN

KEY = ASSETS / "golden" / "material" / "release.key"
PUB = ASSETS / "golden" / "material" / "release.pub"


def _policy(body: str) -> str:
    return (
        "apiVersion: sbomsign.dev/v1\nkind: Policy\nmetadata:\n  name: hostile\nspec:\n"
        "  signers:\n    k:\n      key:\n        file: release.pub\n"
        "  artifactSignature:\n    required: true\n" + body
    )


def _laughs() -> str:
    """Ten levels of ten aliases under keys the schema knows: 10^10 nodes once expanded."""
    body = "  binary:\n    architectures: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
    body += "  rules:\n"
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 10)
        body += f"    - name: r{i}\n      expression: 'true'\n      message: &a{i} [{refs}]\n"
    return _policy(body)


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    shutil.copy(BIN / "go-linux-loong64", tmp_path / "app")
    shutil.copy(PUB, tmp_path / "release.pub")
    return tmp_path / "app"


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("laughs", _laughs(), "expands to more than 100000 nodes"),
        ("deep", _policy("  rules: " + "[" * 100_000 + "]" * 100_000 + "\n"), "nests deeper"),
        ("big", _policy("#" + "x" * (1 << 20) + "\n"), "the limit is 1048576"),
    ],
)
def test_a_hostile_policy_is_a_one_line_error(
    artifact: Path, name: str, text: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = artifact.parent / f"{name}.yaml"
    policy.write_text(text)
    code = main(["verify", "--policy", str(policy), str(artifact)])
    err = capsys.readouterr().err
    assert code == 2
    assert reason in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def _deep_cyclonedx(levels: int) -> str:
    inner = '{"type":"library","name":"leaf","bom-ref":"leaf"}'
    for i in range(levels):
        inner = f'{{"type":"library","name":"n{i}","bom-ref":"r{i}","components":[{inner}]}}'
    return (
        '{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"metadata":{"component":'
        '{"type":"application","name":"app","bom-ref":"app"}},"components":[' + inner + "]}"
    )


def test_a_signed_attestation_of_a_deeply_nested_sbom_fails_closed(
    artifact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = sign.file_sha256(artifact.open("rb"))
    # The statement is written by hand: the encoder would itself refuse this depth.
    statement = (
        '{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":'
        f'{{"sha256":"{digest}"}}}}],"predicateType":"https://cyclonedx.org/bom",'
        f'"predicate":{_deep_cyclonedx(5000)}}}'
    ).encode()
    d = artifact.parent
    with sign.open_key(str(KEY)) as key:
        (d / "app.sigstore.json").write_bytes(sign.sign_artifact(artifact.read_bytes(), key))
        (d / "app.cyclonedx.sigstore.json").write_bytes(sign.attest(statement, key))
    policy = d / "policy.yaml"
    policy.write_text(
        _policy("  attestations:\n    - type: sbom\n  sbom:\n    describesArtifact: true\n")
    )
    code = main(["verify", "--policy", str(policy), "--format", "json", str(artifact)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in err
    report = json.loads(out)
    messages = [r["message"] for a in report["artifacts"] for r in a["results"] if not r["passed"]]
    assert any("nests deeper than 100 levels" in m for m in messages), messages


def test_attest_refuses_a_predicate_nested_too_deeply(
    artifact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    predicate = artifact.parent / "deep.cdx.json"
    predicate.write_text(_deep_cyclonedx(5000))
    code = main(["attest", "--key", str(KEY), "--type", "cyclonedx",
                 "--predicate", str(predicate), str(artifact)])
    err = capsys.readouterr().err
    assert code == 2
    assert "nests too deeply" in err and "Traceback" not in err


def test_a_deeply_nested_bundle_is_refused(
    artifact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = artifact.parent / "app.sigstore.json"
    bundle.write_text('{"mediaType":' + "[" * 50_000 + "]" * 50_000 + "}")
    code = main(["verify", "--key", str(PUB), "--format", "json", str(artifact)])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    assert "nests deeper than 100 levels" in out


def test_the_depth_check_ignores_brackets_in_strings() -> None:
    jsonbound.check_depth(b'{"a": "' + b"[" * 500 + b'"}')
    with pytest.raises(jsonbound.TooDeep):
        jsonbound.check_depth(b"[" * 101 + b"]" * 101)
    jsonbound.check_depth(b"[" * 100 + b"]" * 100)
    assert jsonbound.loads(base64.b64encode(b"x").decode().join(['"', '"'])) == "eA=="


def test_an_oversized_bundle_fails_that_bundle_and_names_the_limit(
    artifact: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with sign.open_key(str(KEY)) as key:
        bundle = sign.sign_artifact(artifact.read_bytes(), key)
    (artifact.parent / "app.sigstore.json").write_bytes(bundle)
    monkeypatch.setenv("SBOMSIGN_MAX_INPUT_BYTES", str(len(bundle) - 1))
    code = main(["verify", "--key", str(PUB), str(artifact)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"larger than the {len(bundle) - 1}-byte limit" in out
    assert "SBOMSIGN_MAX_INPUT_BYTES" in out
    # Raised, the same bundle verifies.
    monkeypatch.setenv("SBOMSIGN_MAX_INPUT_BYTES", str(len(bundle)))
    assert main(["verify", "--key", str(PUB), str(artifact)]) == 0


def test_an_oversized_policy_key_or_trusted_root_is_a_usage_error(
    artifact: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SBOMSIGN_MAX_INPUT_BYTES", "10")
    code = main(["verify", "--key", str(PUB), str(artifact)])
    err = capsys.readouterr().err
    assert code == 2 and "10-byte limit" in err and "Traceback" not in err
    monkeypatch.setenv("SBOMSIGN_MAX_INPUT_BYTES", "ten")
    assert main(["verify", "--key", str(PUB), str(artifact)]) == 2
    assert "not a positive number of bytes" in capsys.readouterr().err


def test_a_certificate_of_an_unknown_x509_version_fails_that_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # cryptography raises InvalidVersion, which is no ValueError, for a version field other
    # than v1-v3 (a fuzz finding in the trusted root; the bundle's certificate is read alike).
    public = ASSETS / "public-bundles"
    doc = json.loads((public / "bundle_v3.txt.sigstore").read_bytes())
    der = base64.b64decode(doc["verificationMaterial"]["certificate"]["rawBytes"])
    assert b"\xa0\x03\x02\x01\x02" in der
    doc["verificationMaterial"]["certificate"]["rawBytes"] = base64.b64encode(
        der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x22", 1)).decode()
    shutil.copy(public / "bundle_v3.txt", tmp_path / "a.txt")
    (tmp_path / "a.txt.sigstore.json").write_text(json.dumps(doc))
    code = main(["verify", "--trusted-root", str(public / "staging-trusted_root.json"),
                 "--certificate-identity", "william@yossarian.net",
                 "--certificate-oidc-issuer", "https://github.com/login/oauth",
                 str(tmp_path / "a.txt")])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    assert "signing certificate is not X.509 DER" in out
