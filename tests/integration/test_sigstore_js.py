"""Bundles written by sigstore-js, the Sigstore client inside npm (`npm publish --provenance`)
and GitHub's `actions/attest`, verified by sbomsign: its command line (`@sigstore/cli` from
npm) signs through the private Sigstore instance, so the bundles are a real client's, in the
shapes it writes:

- an in-toto attestation logged in a Rekor v1 log as an `intoto` 0.0.2 entry (with an
  inclusion promise and proof), timestamped by the instance's TSA through its JSON API;
- the same with no log entry at all, timestamps only: what GitHub's instance for private
  repositories gives `actions/attest`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import sbomsign
from tests.npm import npm_tools
from tests.sigstore_local.instance import LocalSigstore

ROOT = Path(__file__).resolve().parents[2]
SIGSTORE_JS_CLI = "0.10.3"
ALICE = "alice@example.com"


@pytest.fixture(scope="module")
def sigstore_js() -> Path:
    return npm_tools("sigstore-js", f"@sigstore/cli@{SIGSTORE_JS_CLI}", "sigstore") / "sigstore"


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSigstore]:
    with LocalSigstore(tmp_path_factory.mktemp("sigstore-js-logged"), tsa=True) as inst:
        yield inst


@pytest.fixture(scope="module")
def logless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSigstore]:
    with LocalSigstore(tmp_path_factory.mktemp("sigstore-js-logless"), logless=True) as inst:
        yield inst


def _statement(artifact: Path, digest: str | None = None) -> dict[str, Any]:
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": artifact.name,
                     "digest": {"sha512": digest or hashlib.sha512(artifact.read_bytes())
                                .hexdigest()}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://example.com/build/v1",
                                          "externalParameters": {}},
                      "runDetails": {"builder": {"id": "https://example.com/builder"}}},
    }


def attest(tool: Path, inst: LocalSigstore, directory: Path, statement: dict[str, Any],
           *flags: str) -> Path:
    """`sigstore attest` of `statement` through `inst`; the bundle's path."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "statement.json"
    source.write_text(json.dumps(statement))
    bundle = directory / "attestation.sigstore.json"
    # CI=true: take the identity token from SIGSTORE_ID_TOKEN, as in a pipeline.
    env = {**os.environ, "CI": "true", "SIGSTORE_ID_TOKEN": inst.email_token(ALICE)}
    done = subprocess.run(
        [str(tool), "attest", str(source), "--fulcio-url", inst.fulcio.url, "--rekor-url",
         inst.rekor.url, "--tsa-server-url", inst.tsa.url, "-o", str(bundle), *flags],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return bundle


def verify(inst: LocalSigstore, artifact: Path, bundle: Path,
           *extra: str) -> subprocess.CompletedProcess[str]:
    return sbomsign("verify", "--certificate-identity", ALICE, "--certificate-oidc-issuer",
                    inst.issuer, "--trusted-root", str(inst.trusted_root_path), "--bundle",
                    str(bundle), "--format", "json", *extra, str(artifact))


def _artifact(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    artifact = directory / "pkg.tgz"
    artifact.write_bytes(b"a package as npm packs it\n" * 100)
    return artifact


def test_an_attestation_logged_as_intoto_0_0_2(sigstore_js: Path, logged: LocalSigstore,
                                               tmp_path: Path) -> None:
    artifact = _artifact(tmp_path)
    bundle = attest(sigstore_js, logged, tmp_path / "out", _statement(artifact))
    doc = json.loads(bundle.read_text())
    (entry,) = doc["verificationMaterial"]["tlogEntries"]
    assert entry["kindVersion"] == {"kind": "intoto", "version": "0.0.2"}
    assert entry["inclusionPromise"] and entry["inclusionProof"]
    assert len(doc["verificationMaterial"]["timestampVerificationData"]
               ["rfc3161Timestamps"]) == 1
    done = verify(logged, artifact, bundle)
    assert done.returncode == 0, done.stdout + done.stderr
    (result,) = json.loads(done.stdout)["artifacts"]
    assert result["verdict"] == "PASSED"
    # The subject carries only sha512 (as npm's does): another file fails.
    other = tmp_path / "other.tgz"
    other.write_bytes(b"something else\n")
    assert verify(logged, other, bundle).returncode == 1


def test_a_tampered_log_entry_fails(sigstore_js: Path, logged: LocalSigstore,
                                    tmp_path: Path) -> None:
    artifact = _artifact(tmp_path)
    bundle = attest(sigstore_js, logged, tmp_path / "out", _statement(artifact))
    doc = json.loads(bundle.read_text())
    entry = doc["verificationMaterial"]["tlogEntries"][0]
    body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
    body["spec"]["content"]["payloadHash"]["value"] = "0" * 64
    entry["canonicalizedBody"] = base64.b64encode(
        json.dumps(body).encode()).decode()
    bundle.write_text(json.dumps(doc))
    done = verify(logged, artifact, bundle)
    assert done.returncode == 1
    assert "FAILED" in done.stdout


def test_a_logless_attestation_as_github_private_repositories_get(
        sigstore_js: Path, logless: LocalSigstore, tmp_path: Path) -> None:
    artifact = _artifact(tmp_path)
    bundle = attest(sigstore_js, logless, tmp_path / "out", _statement(artifact),
                    "--no-tlog-upload")
    doc = json.loads(bundle.read_text())
    assert doc["verificationMaterial"].get("tlogEntries", []) == []  # absent: proto3 JSON
    # sigstore-go's defaults want a log entry; a timestamp stands in for it by choice.
    refused = verify(logless, artifact, bundle)
    assert refused.returncode == 1
    assert "--tlog-threshold 0" in refused.stdout
    done = verify(logless, artifact, bundle, "--tlog-threshold", "0", "--timestamp-threshold",
                  "1")
    assert done.returncode == 0, done.stdout + done.stderr
