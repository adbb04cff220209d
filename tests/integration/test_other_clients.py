"""Bundles other Sigstore clients write (sigstore-js's npm provenance, npm's registry
attestations, sigstore-go's managed-key test bundle) and the file shapes of the GitHub CLI
(JSON Lines of bundles, of trusted roots) verify as sigstore-go verifies them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from sbomsign._cli import main
from tests.conftest import ASSETS, BIN

GO = ASSETS / "sigstore-go"
PUBLIC = ASSETS / "public-bundles"
MATERIAL = ASSETS / "golden" / "material"
SIGSTORE_JS = ("https://github.com/sigstore/sigstore-js/.github/workflows/release.yml"
               "@refs/heads/main", "https://token.actions.githubusercontent.com")
NPM_PROVENANCE = {
    "bundle-provenance.json": SIGSTORE_JS,
    "sigstore.js@2.0.0-provenance.sigstore.json": SIGSTORE_JS,
    "dsse.sigstore.json": ("brian@dehamer.com", "https://github.com/login/oauth"),
}


def _sha512_subject(bundle: Path) -> str:
    envelope = json.loads(bundle.read_bytes())["dsseEnvelope"]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    digest = statement["subject"][0]["digest"]
    assert list(digest) == ["sha512"]  # npm names the package tarball by sha512 only
    return str(digest["sha512"])


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["verify", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out + err


@pytest.mark.parametrize("name", sorted(NPM_PROVENANCE))
def test_npm_provenance_verifies_by_its_sha512_subject(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = GO / name
    identity, issuer = NPM_PROVENANCE[name]
    common = ["--bundle", str(bundle), "--trusted-root", str(GO / "trusted-root-public-good.json"),
              "--certificate-oidc-issuer", issuer]
    sha512 = _sha512_subject(bundle)
    code, out = _verify(capsys, *common, "--certificate-identity", identity, f"sha512:{sha512}")
    assert code == 0, out
    assert "https://slsa.dev/provenance/" in out and f"sha512:{sha512}" in out
    other = f"{int(sha512[0], 16) ^ 1:x}" + sha512[1:]
    code, out = _verify(capsys, *common, "--certificate-identity", identity, f"sha512:{other}")
    assert code == 1 and "attestation is for another artifact" in out
    code, out = _verify(capsys, *common, "--certificate-identity", "someone@else",
                        f"sha512:{sha512}")
    assert code == 1


def test_npm_publish_attestation_verifies_with_npms_key_whatever_its_hint_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bundle = GO / "bundle-publish.json"
    assert json.loads(bundle.read_bytes())["verificationMaterial"]["publicKey"]["hint"].startswith(
        "SHA256:")
    digest = f"sha512:{_sha512_subject(bundle)}"
    root = ["--trusted-root", str(GO / "trusted-root-public-good.json")]
    code, out = _verify(capsys, "--bundle", str(bundle), *root,
                        "--key", str(GO / "publish_key.pub"), digest)
    assert code == 0, out
    code, out = _verify(capsys, "--bundle", str(bundle), *root,
                        "--key", str(MATERIAL / "release.pub"), digest)
    assert code == 1 and "signed by an unknown key (hint SHA256:" in out


def test_a_managed_key_bundle_with_only_a_timestamp_against_a_root_of_only_a_tsa(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = json.loads((GO / "public-key-validity.json").read_bytes())
    assert set(root) == {"mediaType", "timestampAuthorities"}  # no log lists at all
    artifact = tmp_path / "content"
    artifact.write_bytes(b"test content")
    args = ["--bundle", str(GO / "public-key-validity.sigstore.json"),
            "--key", str(GO / "public-key-validity.pem"), str(artifact)]
    code, out = _verify(capsys, "--trusted-root", str(GO / "public-key-validity.json"), *args)
    assert code == 0, out
    # A timestamp authority's validity without its start is open at the start, as sigstore-go
    # reads it (a log key's is not: test_a_validity_start_is_required_of_logs_only).
    del root["timestampAuthorities"][0]["validFor"]["start"]
    open_start = tmp_path / "root.json"
    open_start.write_text(json.dumps(root))
    code, out = _verify(capsys, "--trusted-root", str(open_start), *args)
    assert code == 0, out
    # ...and its end still bounds it: a timestamp after the end is refused
    root["timestampAuthorities"][0]["validFor"]["end"] = "2000-01-01T00:00:00Z"
    open_start.write_text(json.dumps(root))
    code, out = _verify(capsys, "--trusted-root", str(open_start), *args)
    assert code == 1, out


def test_a_json_lines_file_of_bundles_verifies_each_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [json.dumps(json.loads((MATERIAL / name).read_bytes())) for name in
             ("go-linux-loong64.sigstore.json", "go-linux-loong64.cyclonedx.sigstore.json")]
    bundles = tmp_path / "all.jsonl"
    bundles.write_text("\n".join(lines) + "\n")
    code, out = _verify(capsys, "--bundle", str(bundles), "--key", str(MATERIAL / "release.pub"),
                        str(BIN / "go-linux-loong64"))
    assert code == 0, out
    assert f"{bundles}:1" in out and f"{bundles}:2" in out


def test_a_file_of_trusted_roots_one_per_line_verifies_bundles_of_each_instance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roots = tmp_path / "roots.jsonl"
    roots.write_text("\n".join(json.dumps(json.loads((PUBLIC / f"{n}-trusted_root.json")
                                                     .read_bytes()))
                               for n in ("production", "staging")) + "\n")
    cases = [("bundle_v3.txt", "bundle_v3.txt.sigstore", "william@yossarian.net",
              "https://github.com/login/oauth"),
             ("bundle_v3_github.whl", "bundle_v3_github.whl.sigstore",
              "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml"
              "@refs/tags/v0.1.2", "https://token.actions.githubusercontent.com")]
    for artifact, bundle, identity, issuer in cases:
        code, out = _verify(capsys, "--bundle", str(PUBLIC / bundle), "--trusted-root",
                            str(roots), "--certificate-identity", identity,
                            "--certificate-oidc-issuer", issuer, str(PUBLIC / artifact))
        assert code == 0, out


def test_a_malformed_trusted_root_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root.json"
    root.write_text('{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",'
                    ' "tlogs": "not a list"}')
    code, out = _verify(capsys, "--trusted-root", str(root), "--key",
                        str(MATERIAL / "release.pub"), str(BIN / "go-linux-loong64"))
    assert code == 2 and "tlogs is not a list" in out


def test_a_validity_start_is_required_of_logs_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As sigstore-go reads a trusted root: a certificate or timestamp authority whose
    # validFor has no start is open at the start; a log's key without one is malformed.
    bundle = PUBLIC / "staging-rekor-v2.txt.sigstore.json"
    root = json.loads((PUBLIC / "staging-trusted_root.json").read_bytes())
    for authority in [*root["certificateAuthorities"], *root["timestampAuthorities"]]:
        authority["validFor"].pop("start")
    (tmp_path / "root.json").write_text(json.dumps(root))
    args = ["--bundle", str(bundle), "--trusted-root", str(tmp_path / "root.json"),
            "--certificate-identity", "jku@goto.fi",
            "--certificate-oidc-issuer", "https://github.com/login/oauth",
            str(PUBLIC / "staging-rekor-v2.txt")]
    code, out = _verify(capsys, *args)
    assert code == 0, out
    root["tlogs"][0]["publicKey"]["validFor"].pop("start")
    (tmp_path / "root.json").write_text(json.dumps(root))
    code, out = _verify(capsys, *args)
    assert code == 2 and "validFor.start is not an RFC 3339 time" in out


def test_a_keyless_bundle_with_a_timestamp_and_no_log_entry_needs_the_thresholds_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The shape of GitHub's Sigstore instance for private repositories: Fulcio and a TSA, no
    # transparency log. Made from the public staging Rekor v2 bundle (genuine certificate,
    # signature and RFC 3161 timestamp) by dropping its log entry and the root's logs.
    bundle = json.loads((PUBLIC / "staging-rekor-v2.txt.sigstore.json").read_bytes())
    entry = bundle["verificationMaterial"]["tlogEntries"]
    bundle["verificationMaterial"]["tlogEntries"] = []
    root = json.loads((PUBLIC / "staging-trusted_root.json").read_bytes())
    del root["tlogs"]
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    (tmp_path / "root.json").write_text(json.dumps(root))
    args = ["--bundle", str(tmp_path / "b.json"), "--trusted-root", str(tmp_path / "root.json"),
            "--certificate-identity", "jku@goto.fi",
            "--certificate-oidc-issuer", "https://github.com/login/oauth",
            str(PUBLIC / "staging-rekor-v2.txt")]
    code, out = _verify(capsys, *args)
    assert code == 1 and "--tlog-threshold 0" in out
    assert _verify(capsys, "--tlog-threshold", "0", "--timestamp-threshold", "1", *args)[0] == 0
    code, out = _verify(capsys, "--tlog-threshold", "0", "--timestamp-threshold", "2", *args)
    assert code == 1 and "1 verified RFC 3161 timestamp(s), 2 required" in out
    # without its timestamp nothing dates the signature: refused whatever the thresholds
    bundle["verificationMaterial"].pop("timestampVerificationData")
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    code, out = _verify(capsys, "--tlog-threshold", "0", *args)
    assert code == 1 and "no verified signing time" in out
    # an entry that is present is verified even when none is required
    bundle = json.loads((PUBLIC / "staging-rekor-v2.txt.sigstore.json").read_bytes())
    entry[0]["inclusionProof"]["rootHash"] = base64.b64encode(b"\0" * 32).decode()
    bundle["verificationMaterial"]["tlogEntries"] = entry
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    args[3] = str(PUBLIC / "staging-trusted_root.json")
    code, out = _verify(capsys, "--tlog-threshold", "0", *args)
    assert code == 1 and "transparency log entry does not verify" in out
    assert _verify(capsys, "--tlog-threshold", "2", *args)[0] == 2


def test_the_thresholds_can_come_from_the_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = json.loads((PUBLIC / "staging-rekor-v2.txt.sigstore.json").read_bytes())
    bundle["verificationMaterial"]["tlogEntries"] = []
    artifact = tmp_path / "staging-rekor-v2.txt"
    artifact.write_bytes((PUBLIC / "staging-rekor-v2.txt").read_bytes())
    (tmp_path / "staging-rekor-v2.txt.sigstore.json").write_text(json.dumps(bundle))
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: sbomsign.dev/v1\nkind: Policy\nmetadata:\n  name: logless\nspec:\n"
        "  signers:\n    jku:\n      keyless:\n        identity: jku@goto.fi\n"
        "        issuer: https://github.com/login/oauth\n"
        "  artifactSignature:\n    required: true\n"
        "  verification:\n    tlogThreshold: 0\n    timestampThreshold: 1\n")
    root = ["--trusted-root", str(PUBLIC / "staging-trusted_root.json")]
    code, out = _verify(capsys, "--policy", str(policy), *root, str(artifact))
    assert code == 0, out
    # a flag overrides the policy
    code, out = _verify(capsys, "--policy", str(policy), *root, "--tlog-threshold", "1",
                        str(artifact))
    assert code == 1 and "no transparency log entry" in out
