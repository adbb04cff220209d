"""RFC 3161 timestamps end to end: the private instance's timestamp authority, keyless signing
through sigstore-python against a signing config that names it, and verification of each
shape: with a log entry and a timestamp, and without a log (GitHub's instance for private
repositories), where the signed timestamp alone vouches for the certificate's validity.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import sbomsign
from tests.sigstore_local.instance import LocalSigstore
from tests.sigstore_reference import verify_keyless_reference

ROOT = Path(__file__).resolve().parents[2]
ALICE = "alice@example.com"


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSigstore]:
    with LocalSigstore(tmp_path_factory.mktemp("sigstore-tsa"), tsa=True) as inst:
        yield inst


def signed(instance: LocalSigstore, directory: Path, name: str = "artifact.bin") -> Path:
    """An artifact signed keylessly through the instance (with its TSA); its path."""
    directory.mkdir(parents=True, exist_ok=True)
    artifact = directory / name
    artifact.write_bytes(f"release artifact {name}\n".encode() * 64)
    done = sbomsign("sign", "--trust-config", str(instance.trust_config_path), str(artifact),
                    env={"SIGSTORE_ID_TOKEN": instance.email_token(ALICE)})
    assert done.returncode == 0, done.stderr
    return artifact


def bundle_of(artifact: Path) -> dict[str, Any]:
    return dict(json.loads(artifact.with_name(artifact.name + ".sigstore.json").read_text()))


def verify(instance: LocalSigstore, artifact: Path, bundle: Path | None = None,
           *thresholds: str) -> subprocess.CompletedProcess[str]:
    return sbomsign("verify", "--certificate-identity", ALICE, "--certificate-oidc-issuer",
                    instance.issuer, "--trusted-root", str(instance.trusted_root_path),
                    *thresholds, *(["--bundle", str(bundle)] if bundle else []), str(artifact))


def without_log(doc: dict[str, Any], path: Path) -> Path:
    """The bundle with its log entry removed: the shape of an instance that logs nothing."""
    doc = json.loads(json.dumps(doc))
    doc["verificationMaterial"]["tlogEntries"] = []
    path.write_text(json.dumps(doc))
    return path


def test_keyless_bundles_carry_the_tsas_timestamp(instance: LocalSigstore,
                                                  tmp_path: Path) -> None:
    issued = len(instance.tsa.issued)
    artifact = signed(instance, tmp_path)
    doc = bundle_of(artifact)
    (stamp,) = doc["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
    assert len(instance.tsa.issued) == issued + 1
    # the TSA timestamped the signature: its imprint is the signature's SHA-256
    from asn1crypto import cms, tsp

    # A bundle carries the TSA's whole answer (TimeStampResp), as sigstore-go reads it.
    answer = tsp.TimeStampResp.load(base64.b64decode(stamp["signedTimestamp"]))
    token = answer["time_stamp_token"]
    assert isinstance(token, cms.ContentInfo)
    info = token["content"]["encap_content_info"]["content"].parsed
    assert isinstance(info, tsp.TSTInfo)
    signature = base64.b64decode(doc["messageSignature"]["signature"])
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(
        signature).digest()
    # sbomsign and sigstore-python both verify it, the timestamp counting for the threshold
    done = verify(instance, artifact, None, "--timestamp-threshold", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    raw = json.dumps(doc).encode()
    verify_keyless_reference(raw, sha256=hashlib.sha256(artifact.read_bytes()).digest(),
                             trusted_root=instance.trusted_root_path.read_bytes())
    # one timestamp does not meet a threshold of two
    done = verify(instance, artifact, None, "--timestamp-threshold", "2")
    assert done.returncode == 1 and "timestamp" in done.stdout


def test_a_bundle_without_a_log_entry_verifies_on_its_timestamp(
    instance: LocalSigstore, tmp_path: Path
) -> None:
    artifact = signed(instance, tmp_path)
    bundle = without_log(bundle_of(artifact), tmp_path / "no-log.sigstore.json")
    done = verify(instance, artifact, bundle, "--tlog-threshold", "0",
                  "--timestamp-threshold", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    # without the thresholds that say so, a log entry is required: fail closed
    done = verify(instance, artifact, bundle)
    assert done.returncode == 1, done.stdout


def test_a_timestamp_from_elsewhere_is_no_timestamp(
    instance: LocalSigstore, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    artifact = signed(instance, tmp_path / "a", "a.bin")
    other = signed(instance, tmp_path / "b", "b.bin")
    doc = bundle_of(artifact)
    # (1) the timestamp of another signature
    swapped = json.loads(json.dumps(doc))
    swapped["verificationMaterial"]["timestampVerificationData"] = bundle_of(other)[
        "verificationMaterial"]["timestampVerificationData"]
    done = verify(instance, artifact, without_log(swapped, tmp_path / "swapped.json"),
                  "--tlog-threshold", "0", "--timestamp-threshold", "1")
    assert done.returncode == 1
    assert "no RFC 3161 timestamp verifies against the trusted root's TSAs" in done.stdout
    # (2) a timestamp over this signature from a TSA the trusted root does not name
    with LocalSigstore(tmp_path_factory.mktemp("foreign-tsa"), tsa=True) as foreign:
        from asn1crypto import tsp

        signature = base64.b64decode(doc["messageSignature"]["signature"])
        imprint = tsp.MessageImprint({"hash_algorithm": {"algorithm": "sha256"},
                                      "hashed_message": hashlib.sha256(signature).digest()})
        token = foreign.tsa.token(imprint, None)
    forged = json.loads(json.dumps(doc))
    answer = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})
    forged["verificationMaterial"]["timestampVerificationData"] = {"rfc3161Timestamps": [
        {"signedTimestamp": base64.b64encode(answer.dump()).decode()}]}
    done = verify(instance, artifact, without_log(forged, tmp_path / "forged.json"),
                  "--tlog-threshold", "0", "--timestamp-threshold", "1")
    assert done.returncode == 1
    assert "no RFC 3161 timestamp verifies against the trusted root's TSAs" in done.stdout


def test_a_tsa_that_fails_stops_signing_with_one_line(
    instance: LocalSigstore, tmp_path: Path
) -> None:
    artifact = tmp_path / "artifact.bin"
    artifact.write_bytes(b"not to be signed without its timestamp\n")
    for fault in ("status", "refusal"):
        try:
            if fault == "status":
                instance.tsa.faults.status = 503
            else:
                instance.tsa.granted = False
            done = sbomsign("sign", "--trust-config", str(instance.trust_config_path),
                            str(artifact), env={"SIGSTORE_ID_TOKEN": instance.email_token(ALICE)})
        finally:
            instance.tsa.faults.reset()
            instance.tsa.granted = True
        assert done.returncode == 3, done.stderr
        errors = [line for line in done.stderr.splitlines() if " error: " in line]
        assert len(errors) == 1 and "timestamp authority" in errors[0], done.stderr
        assert "Traceback" not in done.stderr
        assert not artifact.with_name(artifact.name + ".sigstore.json").exists()


def test_an_instance_without_a_log_like_githubs_for_private_repositories(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """GitHub's instance for private repositories logs nothing: its trusted root names a
    Fulcio and a TSA and no transparency log, and its bundles carry a timestamp only."""
    with LocalSigstore(tmp_path_factory.mktemp("sigstore-logless"), logless=True) as inst:
        root = json.loads(inst.trusted_root_path.read_text())
        assert root["tlogs"] == [] and root["timestampAuthorities"]
        artifact = signed(inst, tmp_path)
        doc = bundle_of(artifact)
        bundle = without_log(doc, tmp_path / "github-private.sigstore.json")
        thresholds = ("--tlog-threshold", "0", "--timestamp-threshold", "1")
        done = verify(inst, artifact, bundle, *thresholds)
        assert done.returncode == 0, done.stdout + done.stderr
        # a log entry of a log the root does not name is not waved through
        (tmp_path / "with-entry.sigstore.json").write_text(json.dumps(doc))
        done = verify(inst, artifact, tmp_path / "with-entry.sigstore.json", *thresholds)
        assert done.returncode == 1, done.stdout
        # and without the thresholds that say a timestamp stands in for the log: refused
        done = verify(inst, artifact, bundle)
        assert done.returncode == 1, done.stdout


def as_cosign_creates_it(root: dict[str, Any]) -> dict[str, Any]:
    """`root` as `cosign trusted-root create` writes it (sigstore-go's serialisation, read in
    cosign's cmd/cosign/cli/trustedroot and sigstore-go's pkg/root/trusted_root_create.go):
    a log or CT log given without `--*-start-time` starts at Go's zero time, year 1; each
    authority starts at its root certificate's notBefore and is named by that certificate's
    organization and common name."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    made = json.loads(json.dumps(root))
    for log in [*made["tlogs"], *made["ctlogs"]]:
        log["publicKey"]["validFor"] = {"start": "0001-01-01T00:00:00Z"}
    for authority in [*made["certificateAuthorities"], *made["timestampAuthorities"]]:
        last = authority["certChain"]["certificates"][-1]["rawBytes"]
        cert = x509.load_der_x509_certificate(base64.b64decode(last))
        org = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        authority["subject"] = {k: str(v[0].value) for k, v in
                                (("organization", org), ("commonName", common)) if v}
        authority["validFor"] = {
            "start": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return made


def test_a_trusted_root_as_cosign_creates_it(instance: LocalSigstore, tmp_path: Path) -> None:
    artifact = signed(instance, tmp_path / "cosign-root")
    made = as_cosign_creates_it(instance.trusted_root())
    path = tmp_path / "trusted_root.json"
    path.write_text(json.dumps(made))
    done = sbomsign("verify", "--certificate-identity", ALICE, "--certificate-oidc-issuer",
                    instance.issuer, "--trusted-root", str(path), "--timestamp-threshold", "1",
                    str(artifact))
    assert done.returncode == 0, done.stdout + done.stderr
    # `--rekor-end-time` in the past: the log's key no longer vouches for the entry.
    made["tlogs"][0]["publicKey"]["validFor"]["end"] = "2000-01-01T00:00:00Z"
    path.write_text(json.dumps(made))
    done = sbomsign("verify", "--certificate-identity", ALICE, "--certificate-oidc-issuer",
                    instance.issuer, "--trusted-root", str(path), str(artifact))
    assert done.returncode == 1, done.stdout + done.stderr
