"""Verification of bundles: real public Sigstore bundles, managed keys, and tampering."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sbomsign import sign, verify
from sbomsign._internal import intoto, keys
from sbomsign._internal.sigstore import bundle as bundle_mod
from sbomsign._internal.sigstore import certs, dsse, keyless, trustroot, tsa
from sbomsign.errors import InputError, VerificationError
from sbomsign.sign import ArtifactDigest
from sbomsign.verify import TrustMaterial
from tests.sigstore_local import GitHubWorkflow, LocalSigstore
from tests.sigstore_local.fixture import sigstore_local  # noqa: F401  (a fixture)

ASSETS = Path(__file__).resolve().parents[1] / "assets"
PUBLIC = ASSETS / "public-bundles"
COSIGN = ASSETS / "cosign-key"

PRODUCTION = (PUBLIC / "production-trusted_root.json").read_bytes()
STAGING = (PUBLIC / "staging-trusted_root.json").read_bytes()
ROOTS = {"production": PRODUCTION, "staging": STAGING}

GITHUB_IDENTITY = (
    "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
)
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_OAUTH = "https://github.com/login/oauth"

# (artifact, bundle, instance, identity, issuer): the README's table of passing bundles
PASSING = [
    ("bundle_v3.txt", "bundle_v3.txt.sigstore", "staging", "william@yossarian.net", GITHUB_OAUTH),
    (
        "bundle_v3_github.whl",
        "bundle_v3_github.whl.sigstore",
        "production",
        GITHUB_IDENTITY,
        GITHUB_ISSUER,
    ),
    (
        "staging-rekor-v2.txt",
        "staging-rekor-v2.txt.sigstore.json",
        "staging",
        "jku@goto.fi",
        GITHUB_OAUTH,
    ),
]

ARTIFACT = b"\x7fELF pretend binary\n" * 100
SHA256 = hashlib.sha256(ARTIFACT).hexdigest()
OTHER_SHA256 = hashlib.sha256(b"another artifact").hexdigest()


def _sha256_of(name: str) -> str:
    return hashlib.sha256((PUBLIC / name).read_bytes()).hexdigest()


def _flip(hex_digest: str, index: int = 0) -> str:
    raw = bytearray(bytes.fromhex(hex_digest))
    raw[index] ^= 0x01
    return raw.hex()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _edit(data: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    doc: dict[str, Any] = json.loads(data)
    change(doc)
    return json.dumps(doc).encode()


def _trust(key: keys.SigningKey, name: str = "release.pub", **kw: Any) -> TrustMaterial:
    return TrustMaterial(keys=((name, keys.public_key_pem(key.public_key)),), **kw)


# -- public bundles (keyless) ------------------------------------------------------------------


@pytest.mark.parametrize(("artifact", "name", "instance", "identity", "issuer"), PASSING)
def test_public_bundle_passes(
    artifact: str, name: str, instance: str, identity: str, issuer: str
) -> None:
    result = verify.verify_bundle(
        (PUBLIC / name).read_bytes(),
        sha256=_sha256_of(artifact),
        trust=TrustMaterial(trusted_root=ROOTS[instance]),
        name=name,
    )
    assert isinstance(result, verify.VerifiedSignature)
    assert result.bundle == name
    assert result.sha256 == _sha256_of(artifact)
    signer = result.signer
    assert signer.kind == "keyless"
    assert (signer.identity, signer.issuer) == (identity, issuer)
    assert signer.claim("issuer") == issuer
    assert signer.transparency_log
    assert signer.signed_at is not None and signer.signed_at > 1_700_000_000
    assert (signer.key_hint, signer.key_name) == ("", "")
    assert list(signer.claims) == sorted(signer.claims)


@pytest.mark.parametrize(("artifact", "name", "instance", "identity", "issuer"), PASSING)
def test_public_bundle_fails_with_the_other_instance(
    artifact: str, name: str, instance: str, identity: str, issuer: str
) -> None:
    other = "production" if instance == "staging" else "staging"
    with pytest.raises(VerificationError) as e:
        verify.verify_signature(
            (PUBLIC / name).read_bytes(),
            sha256=_sha256_of(artifact),
            trust=TrustMaterial(trusted_root=ROOTS[other]),
            name=name,
        )
    assert e.value.message.startswith(f"{name}: ")
    assert e.value.exit_code == 1
    if "rekor-v2" in name:  # no inclusion promise: the TSA is the only source of time
        assert "no RFC 3161 timestamp verifies" in e.value.message
    else:
        assert "certificate does not chain to the trusted root" in e.value.message


@pytest.mark.parametrize(("artifact", "name", "instance", "identity", "issuer"), PASSING)
def test_public_bundle_fails_for_another_digest(
    artifact: str, name: str, instance: str, identity: str, issuer: str
) -> None:
    digest = _sha256_of(artifact)
    for index in (0, 31):
        with pytest.raises(VerificationError, match="signature does not match the artifact"):
            verify.verify_bundle(
                (PUBLIC / name).read_bytes(),
                sha256=_flip(digest, index),
                trust=TrustMaterial(trusted_root=ROOTS[instance]),
                name=name,
            )


def test_public_bundle_fails_when_the_digest_check_is_left_to_sigstore() -> None:
    # without a messageDigest, the mismatch is found by the signature check itself
    name = "bundle_v3_github.whl.sigstore"
    data = _edit((PUBLIC / name).read_bytes(), lambda d: d["messageSignature"].pop("messageDigest"))
    trust = TrustMaterial(trusted_root=PRODUCTION)
    digest = _sha256_of("bundle_v3_github.whl")
    assert verify.verify_signature(data, sha256=digest, trust=trust, name=name).signer.identity
    with pytest.raises(VerificationError, match="signature does not match the artifact$"):
        verify.verify_signature(data, sha256=_flip(digest), trust=trust, name=name)


@pytest.mark.parametrize("instance", ["production", "staging"])
def test_cve_2022_36056_bundle_fails(instance: str) -> None:
    name = "bundle_cve_2022_36056.txt.sigstore"
    with pytest.raises(VerificationError) as e:
        verify.verify_bundle(
            (PUBLIC / name).read_bytes(),
            sha256=_sha256_of("bundle_cve_2022_36056.txt"),
            trust=TrustMaterial(trusted_root=ROOTS[instance]),
            name=name,
        )
    expected = {
        # signed on staging, but its log entry is for another signature
        "staging": "transparency log entry does not match the bundle",
        "production": "certificate does not chain to the trusted root",
    }[instance]
    assert e.value.message == f"{name}: {expected}"


def test_default_trust_is_the_shipped_production_root() -> None:
    assert trustroot.embedded_trusted_root() == PRODUCTION
    assert trustroot.embedded_trusted_root(staging=True) == STAGING
    result = verify.verify_bundle(
        (PUBLIC / "bundle_v3_github.whl.sigstore").read_bytes(),
        sha256=_sha256_of("bundle_v3_github.whl"),
        trust=TrustMaterial(),
        name="b",
    )
    assert result.signer.identity == GITHUB_IDENTITY
    with pytest.raises(VerificationError, match="does not chain"):
        verify.verify_bundle(
            (PUBLIC / "bundle_v3.txt.sigstore").read_bytes(),
            sha256=_sha256_of("bundle_v3.txt"),
            trust=TrustMaterial(),
            name="b",
        )


def test_github_claims() -> None:
    result = verify.verify_signature(
        (PUBLIC / "bundle_v3_github.whl.sigstore").read_bytes(),
        sha256=_sha256_of("bundle_v3_github.whl"),
        trust=TrustMaterial(trusted_root=PRODUCTION),
        name="b",
    )
    signer = result.signer
    commit = "d8b4a6445f38c48b9137a8099706d9b8073146e4"
    assert dict(signer.claims) == {
        "issuer": GITHUB_ISSUER,
        "issuer_v1": GITHUB_ISSUER,
        "github_workflow_trigger": "release",
        "github_workflow_sha": commit,
        "github_workflow_name": "release",
        "github_workflow_repository": "trailofbits/rfc8785.py",
        "github_workflow_ref": "refs/tags/v0.1.2",
        "build_signer_uri": GITHUB_IDENTITY,
        "build_signer_digest": commit,
        "runner_environment": "github-hosted",
        "source_repository_uri": "https://github.com/trailofbits/rfc8785.py",
        "source_repository_digest": commit,
        "source_repository_ref": "refs/tags/v0.1.2",
        "source_repository_identifier": "768213997",
        "source_repository_owner_uri": "https://github.com/trailofbits",
        "source_repository_owner_identifier": "2314423",
        "build_config_uri": GITHUB_IDENTITY,
        "build_config_digest": commit,
        "build_trigger": "release",
        "run_invocation_uri": (
            "https://github.com/trailofbits/rfc8785.py/actions/runs/8351058501/attempts/1"
        ),
        "source_repository_visibility_at_signing": "public",
    }
    assert signer.claim("source_repository_ref") == "refs/tags/v0.1.2"
    assert signer.claim("deployment_environment") is None
    # the integration time of the Rekor entry, bound by its signed entry timestamp
    doc = json.loads((PUBLIC / "bundle_v3_github.whl.sigstore").read_bytes())
    integrated = int(doc["verificationMaterial"]["tlogEntries"][0]["integratedTime"])
    assert signer.signed_at == integrated
    assert not signer.timestamped


def test_rekor_v2_bundle_time_comes_from_the_tsa() -> None:
    result = verify.verify_signature(
        (PUBLIC / "staging-rekor-v2.txt.sigstore.json").read_bytes(),
        sha256=_sha256_of("staging-rekor-v2.txt"),
        trust=TrustMaterial(trusted_root=STAGING),
        name="b",
    )
    assert result.signer.timestamped
    assert result.signer.transparency_log
    assert result.signer.signed_at == 1749470258  # the TSA's genTime (2025-06-09T11:57:38Z)


def test_keyless_bundle_without_log_entry() -> None:
    name = "bundle_v3.txt.sigstore"
    data = _edit(
        (PUBLIC / name).read_bytes(), lambda d: d["verificationMaterial"].update(tlogEntries=[])
    )
    with pytest.raises(VerificationError, match="bundle has no transparency log entry$"):
        verify.verify_bundle(
            data,
            sha256=_sha256_of("bundle_v3.txt"),
            trust=TrustMaterial(trusted_root=STAGING),
            name=name,
        )


def test_keyless_bundle_with_a_tampered_log_entry() -> None:
    name = "bundle_v3.txt.sigstore"

    def change(doc: dict[str, Any]) -> None:
        entry = doc["verificationMaterial"]["tlogEntries"][0]
        entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)

    data = _edit((PUBLIC / name).read_bytes(), change)
    with pytest.raises(VerificationError, match="transparency log entry does not verify"):
        verify.verify_bundle(
            data,
            sha256=_sha256_of("bundle_v3.txt"),
            trust=TrustMaterial(trusted_root=STAGING),
            name=name,
        )


def test_keyless_bundle_with_a_tampered_signature() -> None:
    name = "bundle_v3.txt.sigstore"

    def change(doc: dict[str, Any]) -> None:
        sig = bytearray(base64.b64decode(doc["messageSignature"]["signature"]))
        sig[-1] ^= 1
        doc["messageSignature"]["signature"] = _b64(bytes(sig))

    data = _edit((PUBLIC / name).read_bytes(), change)
    with pytest.raises(VerificationError) as e:
        verify.verify_bundle(
            data,
            sha256=_sha256_of("bundle_v3.txt"),
            trust=TrustMaterial(trusted_root=STAGING),
            name=name,
        )
    assert e.value.message in (
        f"{name}: signature does not match the artifact",
        f"{name}: transparency log entry does not match the bundle",
    )


def test_keyless_bundle_versions_and_certificate_forms() -> None:
    name = "bundle_v3_github.whl.sigstore"
    digest = _sha256_of("bundle_v3_github.whl")
    trust = TrustMaterial(trusted_root=PRODUCTION)
    v3 = "application/vnd.dev.sigstore.bundle.v0.3+json"

    def to_v3(doc: dict[str, Any]) -> None:
        material = doc["verificationMaterial"]
        chain = material.pop("x509CertificateChain")["certificates"]
        material["certificate"] = chain[0]
        doc["mediaType"] = v3

    # the v0.2 bundle rewritten in the v0.3 form verifies the same
    data = _edit((PUBLIC / name).read_bytes(), to_v3)
    result = verify.verify_signature(data, sha256=digest, trust=trust, name=name)
    assert result.signer.identity == GITHUB_IDENTITY
    # but a chain under v0.3, or a single certificate under v0.2, is refused
    chain_v3 = _edit((PUBLIC / name).read_bytes(), lambda d: d.update(mediaType=v3))
    with pytest.raises(VerificationError, match="v0.3 bundle carries its certificate in certif"):
        verify.verify_signature(chain_v3, sha256=digest, trust=trust, name=name)
    v02 = "application/vnd.dev.sigstore.bundle+json;version=0.2"
    cert_v2 = _edit(data, lambda d: d.update(mediaType=v02))
    with pytest.raises(VerificationError, match="v0.2 bundle carries its certificate in x509"):
        verify.verify_signature(cert_v2, sha256=digest, trust=trust, name=name)


def test_malformed_trusted_root_is_an_input_error() -> None:
    with pytest.raises(InputError, match="trusted root is malformed"):
        verify.verify_bundle(
            (PUBLIC / "bundle_v3.txt.sigstore").read_bytes(),
            sha256=_sha256_of("bundle_v3.txt"),
            trust=TrustMaterial(trusted_root=b'{"mediaType": "nope"}'),
            name="b",
        )


def test_keyless_verification_is_offline(tmp_path: Path) -> None:
    # A fresh process with an empty home and no network: nothing is fetched or cached.
    home = tmp_path / "home"
    home.mkdir()
    script = f"""
import socket
class _Guard(socket.socket):
    def connect(self, *a, **k):
        raise AssertionError("network used")
    connect_ex = connect
def _no_lookup(*a, **k):
    raise AssertionError("network used")
socket.socket = _Guard
socket.getaddrinfo = _no_lookup
from sbomsign.verify import TrustMaterial, verify_bundle
r = verify_bundle(
    open({str(PUBLIC / "bundle_v3_github.whl.sigstore")!r}, "rb").read(),
    sha256={_sha256_of("bundle_v3_github.whl")!r},
    trust=TrustMaterial(),
    name="b",
)
print(r.signer.identity)
"""
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
    }
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == GITHUB_IDENTITY
    assert "TUF" not in out.stderr and "no-op" not in out.stderr
    assert list(home.iterdir()) == []


# -- certificate facts -------------------------------------------------------------------------


def test_der_utf8_string() -> None:
    assert certs.der_utf8_string(b"\x0c\x03abc") == "abc"
    long = "x" * 200
    assert certs.der_utf8_string(b"\x0c\x81\xc8" + long.encode()) == long
    for bad in (
        b"",
        b"\x0c",
        b"\x13\x03abc",
        b"\x0c\x04abc",
        b"\x0c\x02abc",
        b"\x0c\x81\x03abc",
        b"\x0c\x80",
        b"\x0c\x02\xff\xfe",
    ):
        with pytest.raises(ValueError):
            certs.der_utf8_string(bad)


def _certificate(
    sans: list[x509.GeneralName], extensions: list[x509.ExtensionType]
) -> x509.Certificate:
    import datetime

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(x509.Name.from_rfc4514_string("CN=test"))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.datetime(2024, 1, 1))
        .not_valid_after(datetime.datetime(2034, 1, 1))
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=True)
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(key, hashes.SHA256())


def _fulcio(arc: int, value: bytes) -> x509.UnrecognizedExtension:
    return x509.UnrecognizedExtension(x509.ObjectIdentifier(f"1.3.6.1.4.1.57264.1.{arc}"), value)


def test_certificate_facts_otheride_and_extensions() -> None:
    username = x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7"), b"\x0c\x05alice")
    cert = _certificate(
        [username],
        [
            _fulcio(1, b"https://old.example"),
            _fulcio(23, b"\x0c\x0aproduction"),
            _fulcio(24, b"\x0c\x03sub"),
            _fulcio(99, b"\x0c\x01z"),
        ],
    )
    facts = certs.certificate_facts(cert)
    assert facts.identity == "alice"
    assert facts.issuer == "https://old.example"  # no .8: the deprecated .1
    assert dict(facts.claims) == {
        "issuer_v1": "https://old.example",
        "deployment_environment": "production",
        "token_subject": "sub",
        "1.3.6.1.4.1.57264.1.99": "z",
    }


def test_certificate_facts_issuer_v2_wins() -> None:
    cert = _certificate(
        [x509.RFC822Name("a@example.com")],
        [_fulcio(1, b"https://v1.example"), _fulcio(8, b"\x0c\x0ehttps://v2.exa")],
    )
    facts = certs.certificate_facts(cert)
    assert (facts.identity, facts.issuer) == ("a@example.com", "https://v2.exa")


def test_certificate_facts_refuses_odd_certificates() -> None:
    with pytest.raises(VerificationError, match="no subject alternative name"):
        certs.certificate_facts(_certificate([], []))
    two = [x509.RFC822Name("a@example.com"), x509.UniformResourceIdentifier("https://x")]
    with pytest.raises(VerificationError, match="2 subject alternative names"):
        certs.certificate_facts(_certificate(two, []))
    with pytest.raises(VerificationError, match=r"57264\.1\.9 is malformed"):
        certs.certificate_facts(_certificate([x509.RFC822Name("a@x")], [_fulcio(9, b"raw")]))


# -- managed keys: artifact signatures ---------------------------------------------------------


@pytest.fixture(scope="module")
def p256() -> keys.SoftwareSigningKey:
    return keys.generate("ecdsa-p256")


@pytest.fixture(scope="module")
def cosign_key() -> keys.SoftwareSigningKey:
    password = (COSIGN / "password.txt").read_bytes().strip()
    return keys.load_private_key((COSIGN / "cosign.key").read_bytes(), password, name="cosign.key")


def test_managed_signature_over_a_digest(p256: keys.SoftwareSigningKey) -> None:
    data = sign.sign_artifact(ArtifactDigest.sha256(SHA256), p256)
    result = verify.verify_signature(data, sha256=SHA256, trust=_trust(p256), name="a.sigstore")
    assert result == verify.VerifiedSignature(
        bundle="a.sigstore",
        signer=verify.Signer(kind="key", key_hint=p256.hint, key_name="release.pub"),
        sha256=SHA256,
    )
    # an honest offline bundle: no time, no log
    assert result.signer.signed_at is None
    assert not result.signer.transparency_log and not result.signer.timestamped
    # upper-case hex is the same digest
    upper = verify.verify_signature(data, sha256=SHA256.upper(), trust=_trust(p256), name="a")
    assert upper.sha256 == SHA256


def test_cosign_vector_key(cosign_key: keys.SoftwareSigningKey) -> None:
    pub = (COSIGN / "cosign.pub").read_bytes()
    trust = TrustMaterial(keys=(("cosign.pub", pub),))
    assert cosign_key.hint == (COSIGN / "keyid.txt").read_text().strip()
    data = sign.sign_artifact(ARTIFACT, cosign_key)
    signer = verify.verify_signature(data, sha256=SHA256, trust=trust, name="a").signer
    assert (signer.key_name, signer.key_hint) == ("cosign.pub", cosign_key.hint)


def test_cosign_vector_signature_in_a_bundle() -> None:
    # the vector's signature was made without sbomsign: wrap it in a bundle and verify it
    message = (COSIGN / "message.txt").read_bytes()
    digest = hashlib.sha256(message).digest()
    data = bundle_mod.message_signature_bundle(
        hint=(COSIGN / "keyid.txt").read_text().strip(),
        digest=digest,
        signature=base64.b64decode((COSIGN / "message.txt.sig").read_bytes()),
    )
    trust = TrustMaterial(keys=(("cosign.pub", (COSIGN / "cosign.pub").read_bytes()),))
    assert (
        verify.verify_signature(data, sha256=digest.hex(), trust=trust, name="m").signer.kind
        == "key"
    )
    with pytest.raises(VerificationError, match="does not match"):
        verify.verify_signature(data, sha256=_flip(digest.hex()), trust=trust, name="m")


@pytest.mark.parametrize("algorithm", ["ecdsa-p384", "ed25519"])
def test_managed_signature_needing_the_artifact(algorithm: str) -> None:
    key = keys.generate(algorithm)
    data = sign.sign_artifact(ARTIFACT, key)
    with pytest.raises(VerificationError, match=f"the key is {algorithm}, which signs .*bytes"):
        verify.verify_signature(data, sha256=SHA256, trust=_trust(key), name="a")
    result = verify.verify_bundle(
        data, sha256=SHA256, trust=_trust(key), name="a", artifact=ARTIFACT
    )
    assert isinstance(result, verify.VerifiedSignature)
    assert result.signer.key_hint == key.hint
    tampered = ARTIFACT + b"!"
    with pytest.raises(VerificationError, match="signature does not match the artifact"):
        verify.verify_signature(
            data,
            sha256=hashlib.sha256(tampered).hexdigest(),
            trust=_trust(key),
            name="a",
            artifact=tampered,
        )


def test_artifact_must_have_the_digest(p256: keys.SoftwareSigningKey) -> None:
    data = sign.sign_artifact(ARTIFACT, p256)
    with pytest.raises(InputError, match="does not have the sha256"):
        verify.verify_signature(data, sha256=SHA256, trust=_trust(p256), name="a", artifact=b"x")


@pytest.mark.parametrize("bad", ["", "abc", "g" * 64, SHA256 + "00", "sha256:" + SHA256])
def test_digest_must_be_hex(p256: keys.SoftwareSigningKey, bad: str) -> None:
    data = sign.sign_artifact(ARTIFACT, p256)
    expected = "no digest of the artifact given" if not bad else "not a sha256 hex digest"
    with pytest.raises(InputError, match=expected):
        verify.verify_bundle(data, sha256=bad, trust=_trust(p256), name="a")


def test_a_sha512_names_the_subject_of_an_attestation_but_cannot_check_a_signature(
    p256: keys.SoftwareSigningKey,
) -> None:
    sha512 = hashlib.sha512(ARTIFACT).hexdigest()
    signature = sign.sign_artifact(ARTIFACT, p256)
    with pytest.raises(VerificationError, match="covers the artifact's sha256; only its sha512"):
        verify.verify_bundle(signature, trust=_trust(p256), name="a", digests={"sha512": sha512})
    with pytest.raises(InputError, match="not a sha512 hex digest"):
        verify.verify_bundle(signature, trust=_trust(p256), name="a", digests={"sha512": "ab"})


def _tamper_signature(doc: dict[str, Any]) -> None:
    sig = bytearray(base64.b64decode(doc["messageSignature"]["signature"]))
    sig[10] ^= 0x40
    doc["messageSignature"]["signature"] = _b64(bytes(sig))


def _tamper_digest(doc: dict[str, Any]) -> None:
    digest = bytearray(base64.b64decode(doc["messageSignature"]["messageDigest"]["digest"]))
    digest[0] ^= 1
    doc["messageSignature"]["messageDigest"]["digest"] = _b64(bytes(digest))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_tamper_signature, "signature does not match the artifact"),
        (_tamper_digest, "signature does not match the artifact (the bundle signs sha256:"),
        (
            lambda d: d["messageSignature"]["messageDigest"].update(algorithm="SHA2_384"),
            "the message digest is SHA2_384, but the key is ecdsa-p256",
        ),
        (lambda d: d.update(mediaType="application/json"), "unsupported bundle media type"),
        (lambda d: d.pop("messageSignature"), "bundle needs exactly one of messageSignature"),
        (lambda d: d["messageSignature"].update(signature="%%%"), "bundle signature is not base64"),
    ],
)
def test_managed_signature_tampering(
    p256: keys.SoftwareSigningKey, change: Callable[[dict[str, Any]], None], reason: str
) -> None:
    data = _edit(sign.sign_artifact(ARTIFACT, p256), change)
    with pytest.raises(VerificationError) as e:
        verify.verify_bundle(data, sha256=SHA256, trust=_trust(p256), name="t.sigstore")
    assert e.value.message.startswith(f"t.sigstore: {reason}")


def test_managed_signature_for_another_artifact(p256: keys.SoftwareSigningKey) -> None:
    data = sign.sign_artifact(ARTIFACT, p256)
    with pytest.raises(VerificationError, match=f"the bundle signs sha256:{SHA256}"):
        verify.verify_signature(data, sha256=OTHER_SHA256, trust=_trust(p256), name="a")
    # without messageDigest, the signature itself does not verify
    bare = _edit(data, lambda d: d["messageSignature"].pop("messageDigest"))
    assert verify.verify_signature(bare, sha256=SHA256, trust=_trust(p256), name="a").signer.kind
    with pytest.raises(VerificationError, match="signature does not match the artifact$"):
        verify.verify_signature(bare, sha256=OTHER_SHA256, trust=_trust(p256), name="a")


def test_wrong_key(p256: keys.SoftwareSigningKey) -> None:
    data = sign.sign_artifact(ARTIFACT, p256)
    other = keys.generate()
    with pytest.raises(VerificationError, match=re.escape(f"unknown key (hint {p256.hint})")):
        verify.verify_signature(data, sha256=SHA256, trust=_trust(other), name="a")
    with pytest.raises(VerificationError, match="no public key was given"):
        verify.verify_signature(data, sha256=SHA256, trust=TrustMaterial(), name="a")


def test_the_hint_only_orders_the_keys(p256: keys.SoftwareSigningKey) -> None:
    # As sigstore-go: the hint is not signed, and clients spell it differently, so a hint
    # naming another given key, or none, still lets the key that signed verify.
    data = sign.sign_artifact(ARTIFACT, p256)
    other = keys.generate()
    both = TrustMaterial(keys=_trust(other, "other.pub").keys + _trust(p256).keys)
    for hint in (other.hint, "SHA256:abc", _b64(b"\x00" * 32)):
        edited = _edit(data, lambda d, h=hint: d["verificationMaterial"]["publicKey"].update(
            hint=h))
        verified = verify.verify_signature(edited, sha256=SHA256, trust=both, name="a")
        assert verified.signer.key_hint == p256.hint
    raw = base64.b64decode(p256.hint)
    for spelling in (raw.hex(), "SHA256:" + p256.hint.rstrip("=")):
        edited = _edit(data, lambda d, h=spelling: d["verificationMaterial"]["publicKey"].update(
            hint=h))
        assert verify.verify_signature(edited, sha256=SHA256, trust=both, name="a")


def test_bundle_without_hint_tries_every_key(p256: keys.SoftwareSigningKey) -> None:
    data = _edit(
        sign.sign_artifact(ARTIFACT, p256),
        lambda d: d["verificationMaterial"]["publicKey"].pop("hint"),
    )
    other = keys.generate()
    both = TrustMaterial(keys=_trust(other, "other.pub").keys + _trust(p256).keys)
    assert verify.verify_signature(data, sha256=SHA256, trust=both, name="a").signer.key_name == (
        "release.pub"
    )
    with pytest.raises(VerificationError, match="signature does not match the artifact"):
        verify.verify_signature(data, sha256=SHA256, trust=_trust(other), name="a")
    with pytest.raises(VerificationError, match="no public key was given"):
        verify.verify_signature(data, sha256=SHA256, trust=TrustMaterial(), name="a")


def test_malformed_key_is_an_input_error(p256: keys.SoftwareSigningKey) -> None:
    data = sign.sign_artifact(ARTIFACT, p256)
    with pytest.raises(InputError, match="bad.pub: not a PEM public key"):
        verify.verify_signature(
            data, sha256=SHA256, trust=TrustMaterial(keys=(("bad.pub", b"junk"),)), name="a"
        )


@pytest.mark.parametrize(
    "media_type",
    [
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
    ],
)
def test_older_media_types(p256: keys.SoftwareSigningKey, media_type: str) -> None:
    # publicKey material and an empty tlogEntries are valid in every bundle version
    sig = _edit(sign.sign_artifact(ARTIFACT, p256), lambda d: d.update(mediaType=media_type))
    assert (
        verify.verify_bundle(sig, sha256=SHA256, trust=_trust(p256), name="a").signer.kind == "key"
    )
    att = _edit(_attest(p256), lambda d: d.update(mediaType=media_type))
    result = verify.verify_bundle(att, sha256=SHA256, trust=_trust(p256), name="a")
    assert isinstance(result, verify.VerifiedAttestation)


def test_malformed_bundles(p256: keys.SoftwareSigningKey) -> None:
    for data, reason in [
        (b"not json", "bundle is not JSON"),
        (b"[]", "bundle: the bundle is not a JSON object"),
        (b"{}", "unsupported bundle media type None"),
    ]:
        with pytest.raises(VerificationError) as e:
            verify.verify_bundle(data, sha256=SHA256, trust=_trust(p256), name="x")
        assert e.value.message == f"x: {reason}"


# -- managed keys: attestations ----------------------------------------------------------------

CYCLONEDX = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "version": 1,
    "metadata": {"component": {"type": "application", "name": "app", "bom-ref": "app"}},
    "components": [
        {
            "type": "library",
            "name": "golang.org/x/sys",
            "version": "v0.20.0",
            "purl": "pkg:golang/golang.org/x/sys@v0.20.0",
            "bom-ref": "sys",
        }
    ],
}
SPDX = {
    "spdxVersion": "SPDX-2.3",
    "dataLicense": "CC0-1.0",
    "SPDXID": "SPDXRef-DOCUMENT",
    "name": "app",
    "documentNamespace": "https://example.com/app",
    "creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: test"]},
    "packages": [
        {"SPDXID": "SPDXRef-app", "name": "app", "downloadLocation": "NOASSERTION"},
        {
            "SPDXID": "SPDXRef-zlib",
            "name": "zlib",
            "versionInfo": "1.3.1",
            "downloadLocation": "NOASSERTION",
        },
    ],
    "relationships": [
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": "SPDXRef-app",
        },
        {
            "spdxElementId": "SPDXRef-app",
            "relationshipType": "DEPENDS_ON",
            "relatedSpdxElement": "SPDXRef-zlib",
        },
    ],
}
SPDX_TAG_VALUE = """SPDXVersion: SPDX-2.3
DataLicense: CC0-1.0
SPDXID: SPDXRef-DOCUMENT
DocumentName: app
DocumentNamespace: https://example.com/app-tv
Creator: Tool: test
Created: 2024-01-01T00:00:00Z

PackageName: app
SPDXID: SPDXRef-app
PackageDownloadLocation: NOASSERTION
FilesAnalyzed: false

PackageName: zlib
SPDXID: SPDXRef-zlib
PackageVersion: 1.3.1
PackageDownloadLocation: NOASSERTION
FilesAnalyzed: false

Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-app
Relationship: SPDXRef-app DEPENDS_ON SPDXRef-zlib
"""


def _statement(
    predicate_type: str = intoto.PREDICATE_CYCLONEDX,
    predicate: Any = None,
    *,
    sha256: str = SHA256,
    statement_type: str = intoto.STATEMENT_V1,
) -> bytes:
    doc = {
        "_type": statement_type,
        "subject": [{"name": "app", "digest": {"sha256": sha256}}],
        "predicateType": predicate_type,
        "predicate": CYCLONEDX if predicate is None else predicate,
    }
    return json.dumps(doc).encode()


def _attest(key: keys.SigningKey, statement: bytes | None = None, **kw: Any) -> bytes:
    return sign.attest(_statement() if statement is None else statement, key, **kw)


def _component_names(result: verify.VerifiedAttestation) -> set[str]:
    assert result.sbom is not None
    return {c.name for a in result.sbom.artifacts for c in a.components}


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "ecdsa-p384", "ed25519"])
def test_managed_attestation(algorithm: str) -> None:
    key = keys.generate(algorithm)
    statement = intoto.build_statement(
        [("app", {"sha256": SHA256}), ("other", {"sha256": OTHER_SHA256})],
        intoto.PREDICATE_CYCLONEDX,
        CYCLONEDX,
    )
    data = sign.attest(statement, key)
    result = verify.verify_attestation(data, sha256=SHA256, trust=_trust(key), name="att")
    assert result.bundle == "att"
    assert result.signer == verify.Signer(kind="key", key_hint=key.hint, key_name="release.pub")
    assert result.statement_type == intoto.STATEMENT_V1
    assert result.predicate_type == intoto.PREDICATE_CYCLONEDX
    assert result.predicate_kind == verify.KIND_CYCLONEDX
    assert result.subjects == (
        verify.Subject("app", (("sha256", SHA256),)),
        verify.Subject("other", (("sha256", OTHER_SHA256),)),
    )
    assert result.predicate == CYCLONEDX
    assert result.sbom_document is not None and json.loads(result.sbom_document) == CYCLONEDX
    assert _component_names(result) == {"golang.org/x/sys"}
    assert result.payload_sha256 == hashlib.sha256(statement).hexdigest()
    # the other subject verifies too; a third digest does not
    assert verify.verify_bundle(data, sha256=OTHER_SHA256, trust=_trust(key), name="att").bundle
    with pytest.raises(VerificationError, match="attestation is for another artifact"):
        verify.verify_bundle(data, sha256=_flip(SHA256), trust=_trust(key), name="att")


def test_spdx_attestation(cosign_key: keys.SoftwareSigningKey) -> None:
    data = _attest(cosign_key, _statement("https://spdx.dev/Document/v2.3", SPDX))
    result = verify.verify_bundle(data, sha256=SHA256, trust=_trust(cosign_key), name="a")
    assert isinstance(result, verify.VerifiedAttestation)
    assert result.predicate_kind == "spdx"
    assert _component_names(result) == {"zlib"}


def test_attestation_for_another_artifact(p256: keys.SoftwareSigningKey) -> None:
    data = _attest(p256, _statement(sha256=OTHER_SHA256))
    with pytest.raises(VerificationError) as e:
        verify.verify_attestation(data, sha256=SHA256, trust=_trust(p256), name="a.intoto")
    assert e.value.message == (
        f"a.intoto: attestation is for another artifact (subjects: app sha256:{OTHER_SHA256[:12]})"
    )


def test_attestation_subjects_are_listed_briefly(p256: keys.SoftwareSigningKey) -> None:
    subjects = [
        {"name": f"bin{i}", "digest": {"sha256": hashlib.sha256(bytes([i])).hexdigest()}}
        for i in range(5)
    ]
    subjects.append({"name": "src", "digest": {"gitCommit": "a" * 40}})
    statement = json.dumps(
        {"_type": intoto.STATEMENT_V1, "subject": subjects, "predicateType": "x", "predicate": {}}
    ).encode()
    with pytest.raises(VerificationError, match=r"bin2 sha256:\w{12} and 3 more\)$"):
        verify.verify_attestation(
            _attest(p256, statement), sha256=SHA256, trust=_trust(p256), name="a"
        )


def test_dsse_payload_swapped(p256: keys.SoftwareSigningKey) -> None:
    other = _statement(sha256=SHA256, predicate={**CYCLONEDX, "version": 2})

    def swap(doc: dict[str, Any]) -> None:
        doc["dsseEnvelope"]["payload"] = _b64(other)

    data = _edit(_attest(p256), swap)
    with pytest.raises(VerificationError, match="a: signature does not match the attestation$"):
        verify.verify_attestation(data, sha256=SHA256, trust=_trust(p256), name="a")


def test_dsse_signature_tampered(p256: keys.SoftwareSigningKey) -> None:
    def tamper(doc: dict[str, Any]) -> None:
        sig = bytearray(base64.b64decode(doc["dsseEnvelope"]["signatures"][0]["sig"]))
        sig[-1] ^= 1
        doc["dsseEnvelope"]["signatures"][0]["sig"] = _b64(bytes(sig))

    with pytest.raises(VerificationError, match="signature does not match the attestation"):
        verify.verify_attestation(
            _edit(_attest(p256), tamper), sha256=SHA256, trust=_trust(p256), name="a"
        )


def test_dsse_keyid_must_be_the_hint(p256: keys.SoftwareSigningKey) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["dsseEnvelope"]["signatures"][0]["keyid"] = "another"

    with pytest.raises(VerificationError, match="DSSE keyid differs from the bundle's key hint"):
        verify.verify_attestation(
            _edit(_attest(p256), change), sha256=SHA256, trust=_trust(p256), name="a"
        )


def test_dsse_payload_type(p256: keys.SoftwareSigningKey) -> None:
    data = _attest(p256, payload_type="application/json")
    with pytest.raises(VerificationError, match="payload type is 'application/json', not in-toto"):
        verify.verify_attestation(data, sha256=SHA256, trust=_trust(p256), name="a")
    # the predicate-specific spelling of the in-toto envelope spec
    data = _attest(p256, payload_type="application/vnd.in-toto.cyclonedx+json")
    result = verify.verify_attestation(data, sha256=SHA256, trust=_trust(p256), name="a")
    assert result.predicate_kind == "cyclonedx"


def test_payload_that_is_not_a_statement(p256: keys.SoftwareSigningKey) -> None:
    for payload, reason in [
        (b"not json", "in-toto statement is not JSON"),
        (b'{"_type": "https://example.com/x"}', "unsupported in-toto statement type"),
    ]:
        with pytest.raises(VerificationError, match=f"not an in-toto statement: {reason}"):
            verify.verify_attestation(
                _attest(p256, payload), sha256=SHA256, trust=_trust(p256), name="a"
            )


def test_statement_v0_1(p256: keys.SoftwareSigningKey) -> None:
    data = _attest(p256, _statement(statement_type=intoto.STATEMENT_V0_1))
    result = verify.verify_attestation(data, sha256=SHA256, trust=_trust(p256), name="a")
    assert result.statement_type == intoto.STATEMENT_V0_1
    assert _component_names(result) == {"golang.org/x/sys"}


def test_cosign_data_wrapper(p256: keys.SoftwareSigningKey) -> None:
    wrapped = {"Data": json.dumps(CYCLONEDX), "Timestamp": "2024-05-01T10:00:00Z"}
    data = _attest(
        p256,
        _statement(
            "https://cosign.sigstore.dev/attestation/v1",
            wrapped,
            statement_type=intoto.STATEMENT_V0_1,
        ),
    )
    result = verify.verify_attestation(data, sha256=SHA256, trust=_trust(p256), name="a")
    assert result.predicate_type == "https://cosign.sigstore.dev/attestation/v1"
    assert result.predicate_kind == "cyclonedx"
    assert result.predicate == CYCLONEDX
    assert result.sbom_document == wrapped["Data"].encode()
    assert _component_names(result) == {"golang.org/x/sys"}


def test_string_embedded_sbom(p256: keys.SoftwareSigningKey) -> None:
    # cosign attest --type spdx: the tag-value document as a JSON string
    data = _attest(p256, _statement("https://spdx.dev/Document", SPDX_TAG_VALUE))
    result = verify.verify_attestation(data, sha256=SHA256, trust=_trust(p256), name="a")
    assert result.predicate_kind == "spdx"
    assert result.sbom_document == SPDX_TAG_VALUE.encode()
    assert _component_names(result) == {"zlib"}
    # a JSON document as a string
    data = _attest(p256, _statement("https://cyclonedx.org/bom/v1.6", json.dumps(CYCLONEDX)))
    result = verify.verify_attestation(data, sha256=SHA256, trust=_trust(p256), name="a")
    assert result.predicate == CYCLONEDX
    assert _component_names(result) == {"golang.org/x/sys"}


@pytest.mark.parametrize(
    ("predicate_type", "predicate", "reason"),
    [
        (intoto.PREDICATE_CYCLONEDX, {"hello": "world"}, "attested SBOM: JSON that is neither"),
        (
            intoto.PREDICATE_CYCLONEDX,
            [1, 2],
            "attested SBOM: the cyclonedx predicate is a JSON list",
        ),
        (intoto.PREDICATE_CYCLONEDX, SPDX, "attested SBOM: the predicate type says cyclonedx"),
        ("https://spdx.dev/Document", "not an SBOM", "attested SBOM: not a CycloneDX"),
    ],
)
def test_unreadable_sbom_names_the_bundle(
    p256: keys.SoftwareSigningKey, predicate_type: str, predicate: Any, reason: str
) -> None:
    data = _attest(p256, _statement(predicate_type, predicate))
    with pytest.raises(VerificationError) as e:
        verify.verify_attestation(data, sha256=SHA256, trust=_trust(p256), name="sbom.sigstore")
    assert e.value.message.startswith(f"sbom.sigstore: {reason}")


def test_non_sbom_predicates(p256: keys.SoftwareSigningKey) -> None:
    provenance = {"buildDefinition": {"buildType": "https://example.com/b"}, "runDetails": {}}
    data = _attest(p256, _statement("https://slsa.dev/provenance/v1", provenance))
    result = verify.verify_attestation(data, sha256=SHA256, trust=_trust(p256), name="a")
    assert (result.predicate_kind, result.predicate, result.sbom) == (
        "slsa-provenance",
        provenance,
        None,
    )
    assert result.sbom_document is None
    data = _attest(p256, _statement("https://example.com/custom/v1", {"a": 1}))
    assert (
        verify.verify_attestation(data, sha256=SHA256, trust=_trust(p256), name="a").predicate_kind
        == "other"
    )


def test_bundle_kind_mismatch(p256: keys.SoftwareSigningKey) -> None:
    with pytest.raises(VerificationError, match="holds an artifact signature, not an attestation"):
        verify.verify_attestation(
            sign.sign_artifact(ARTIFACT, p256), sha256=SHA256, trust=_trust(p256), name="a"
        )
    with pytest.raises(
        VerificationError, match="holds an attestation .*, not an artifact signature"
    ):
        verify.verify_signature(_attest(p256), sha256=SHA256, trust=_trust(p256), name="a")


def test_keyless_attestation_is_checked_like_a_managed_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No public keyless DSSE bundle verifies with sigstore 4.5.1's roots, so the sigstore
    # call is replaced; what follows it (statement, subject, SBOM, signer facts) is ours.
    cert_der = base64.b64decode(
        json.loads((PUBLIC / "bundle_v3_github.whl.sigstore").read_bytes())["verificationMaterial"][
            "x509CertificateChain"
        ]["certificates"][0]["rawBytes"]
    )
    payload = _statement()
    calls: list[bytes | None] = []

    def fake(
        bundle: bytes, *, sha256: bytes | None, trusted_root: bytes | None,
        thresholds: keyless.Thresholds,
    ) -> keyless.KeylessResult:
        calls.append(sha256)
        return keyless.KeylessResult(
            certificate=x509.load_der_x509_certificate(cert_der),
            integrated_time=1700000100,
            timestamps=(1700000050,),
            payload_type=intoto.PAYLOAD_TYPE,
            payload=payload,
        )

    monkeypatch.setattr(keyless, "verify_keyless", fake)
    envelope = dsse.Envelope(payload, intoto.PAYLOAD_TYPE, (dsse.Signature(b"sig"),)).to_json()
    data = json.dumps(
        {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"certificate": {"rawBytes": _b64(cert_der)}},
            "dsseEnvelope": envelope,
        }
    ).encode()
    result = verify.verify_bundle(data, sha256=SHA256, trust=TrustMaterial(), name="k")
    assert calls == [None]
    assert isinstance(result, verify.VerifiedAttestation)
    assert result.signer.kind == "keyless"
    assert result.signer.identity == GITHUB_IDENTITY
    assert (
        result.signer.claim("source_repository_uri") == "https://github.com/trailofbits/rfc8785.py"
    )
    assert result.signer.signed_at == 1700000050  # the earliest verified time
    assert result.signer.timestamped and result.signer.transparency_log
    assert _component_names(result) == {"golang.org/x/sys"}
    with pytest.raises(VerificationError, match="attestation is for another artifact"):
        verify.verify_bundle(data, sha256=OTHER_SHA256, trust=TrustMaterial(), name="k")


# -- managed keys with transparency-log entries (a synthetic Rekor) -----------------------------

REKOR_ORIGIN = "rekor.test - 1234"
INTEGRATED = 1_715_000_000


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _tree_hash(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return _leaf(leaves[0])
    k = _split(len(leaves))
    return _node(_tree_hash(leaves[:k]), _tree_hash(leaves[k:]))


def _path(index: int, leaves: list[bytes]) -> list[bytes]:
    # RFC 6962 2.1.1, leaf to root
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*_path(index, leaves[:k]), _tree_hash(leaves[k:])]
    return [*_path(index - k, leaves[k:]), _tree_hash(leaves[:k])]


@dataclasses.dataclass
class Rekor:
    """A log of our own: its key, and the trusted root that names it."""

    key: ec.EllipticCurvePrivateKey

    @property
    def spki(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def log_id(self) -> bytes:
        return hashlib.sha256(self.spki).digest()

    def trusted_root(self) -> bytes:
        return json.dumps(
            {
                "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
                "tlogs": [
                    {
                        "baseUrl": "https://rekor.test",
                        "hashAlgorithm": "SHA2_256",
                        "publicKey": {
                            "rawBytes": _b64(self.spki),
                            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                            "validFor": {"start": "2020-01-01T00:00:00Z"},
                        },
                        "logId": {"keyId": _b64(self.log_id)},
                    }
                ],
                "certificateAuthorities": [],
                "ctlogs": [],
            }
        ).encode()

    def entry(
        self, body: dict[str, Any], *, kind: str, version: str, promise: bool = True
    ) -> dict[str, Any]:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        leaves = [b"first", b"second", canonical, b"fourth", b"fifth"]
        index = 2
        root = _tree_hash(leaves)
        note = f"{REKOR_ORIGIN}\n{len(leaves)}\n{_b64(root)}\n"
        note_sig = self.key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = f"{note}\n\u2014 rekor.test {_b64(self.log_id[:4] + note_sig)}\n"
        entry: dict[str, Any] = {
            "logIndex": str(index),
            "logId": {"keyId": _b64(self.log_id)},
            "kindVersion": {"kind": kind, "version": version},
            "inclusionProof": {
                "logIndex": str(index),
                "rootHash": _b64(root),
                "treeSize": str(len(leaves)),
                "hashes": [_b64(h) for h in _path(index, leaves)],
                "checkpoint": {"envelope": checkpoint},
            },
            "canonicalizedBody": _b64(canonical),
        }
        if promise:
            set_payload = json.dumps(
                {
                    "body": _b64(canonical),
                    "integratedTime": INTEGRATED,
                    "logID": self.log_id.hex(),
                    "logIndex": index,
                },
                sort_keys=True,
                separators=(",", ":"),
            ).encode()
            entry["integratedTime"] = str(INTEGRATED)
            entry["inclusionPromise"] = {
                "signedEntryTimestamp": _b64(self.key.sign(set_payload, ec.ECDSA(hashes.SHA256())))
            }
        return entry


@pytest.fixture(scope="module")
def rekor() -> Rekor:
    return Rekor(ec.generate_private_key(ec.SECP256R1()))


def _spki(key: keys.SigningKey) -> bytes:
    return key.public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _pem_b64(key: keys.SigningKey) -> str:
    return _b64(keys.public_key_pem(key.public_key))


def _hashedrekord(key: keys.SigningKey, data: bytes, *, digest: str = SHA256) -> dict[str, Any]:
    doc = json.loads(data)
    return {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": digest}},
            "signature": {
                "content": doc["messageSignature"]["signature"],
                "publicKey": {"content": _pem_b64(key)},
            },
        },
    }


def _with_entries(data: bytes, *entries: dict[str, Any]) -> bytes:
    return _edit(data, lambda d: d["verificationMaterial"].update(tlogEntries=list(entries)))


def test_managed_signature_with_a_log_entry(rekor: Rekor, p256: keys.SoftwareSigningKey) -> None:
    data = sign.sign_artifact(ARTIFACT, p256)
    logged = _with_entries(
        data, rekor.entry(_hashedrekord(p256, data), kind="hashedrekord", version="0.0.1")
    )
    trust = _trust(p256, trusted_root=rekor.trusted_root())
    signer = verify.verify_signature(logged, sha256=SHA256, trust=trust, name="a").signer
    assert signer.transparency_log
    assert signer.signed_at == INTEGRATED
    assert not signer.timestamped
    # the same bundle in the v0.1 format (which requires the inclusion promise)
    v01 = _edit(
        logged,
        lambda d: d.update(mediaType="application/vnd.dev.sigstore.bundle+json;version=0.1"),
    )
    assert verify.verify_signature(v01, sha256=SHA256, trust=trust, name="a").signer.signed_at
    # without a promise the entry still verifies (proof + checkpoint) but gives no time
    unpromised = _with_entries(
        data,
        rekor.entry(_hashedrekord(p256, data), kind="hashedrekord", version="0.0.1", promise=False),
    )
    signer = verify.verify_signature(unpromised, sha256=SHA256, trust=trust, name="a").signer
    assert (signer.transparency_log, signer.signed_at) == (True, None)
    v01 = _edit(
        unpromised,
        lambda d: d.update(mediaType="application/vnd.dev.sigstore.bundle+json;version=0.1"),
    )
    with pytest.raises(VerificationError, match="has no inclusion promise"):
        verify.verify_signature(v01, sha256=SHA256, trust=trust, name="a")


def _tamper_entry_set(entry: dict[str, Any]) -> None:
    entry["integratedTime"] = str(INTEGRATED + 60)


def _tamper_entry_proof(entry: dict[str, Any]) -> None:
    entry["inclusionProof"]["hashes"] = entry["inclusionProof"]["hashes"][:-1]


def _tamper_entry_checkpoint(entry: dict[str, Any]) -> None:
    envelope = entry["inclusionProof"]["checkpoint"]["envelope"]
    entry["inclusionProof"]["checkpoint"]["envelope"] = envelope.replace("\n5\n", "\n6\n")


def _drop_entry_proof(entry: dict[str, Any]) -> None:
    del entry["inclusionProof"]["checkpoint"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_tamper_entry_set, "transparency log entry does not verify against the trusted root"),
        (_tamper_entry_proof, "transparency log entry does not verify against the trusted root"),
        (
            _tamper_entry_checkpoint,
            "transparency log entry does not verify against the trusted root",
        ),
        (_drop_entry_proof, "transparency log entry has no inclusion proof with a checkpoint"),
        (lambda e: e.update(canonicalizedBody="%%"), "transparency log entry body is malformed"),
        (lambda e: e.update(logIndex="x"), "transparency log entry is malformed"),
        (
            lambda e: e["kindVersion"].update(kind="intoto", version="0.0.2"),
            "transparency log entry does not match the bundle (the entry body is of another kind",
        ),
    ],
)
def test_managed_log_entry_tampering(
    rekor: Rekor,
    p256: keys.SoftwareSigningKey,
    change: Callable[[dict[str, Any]], None],
    reason: str,
) -> None:
    data = sign.sign_artifact(ARTIFACT, p256)
    entry = rekor.entry(_hashedrekord(p256, data), kind="hashedrekord", version="0.0.1")
    change(entry)
    trust = _trust(p256, trusted_root=rekor.trusted_root())
    with pytest.raises(VerificationError) as e:
        verify.verify_signature(_with_entries(data, entry), sha256=SHA256, trust=trust, name="a")
    assert e.value.message.startswith(f"a: {reason}")


def test_managed_log_entry_for_another_signature(
    rekor: Rekor, p256: keys.SoftwareSigningKey
) -> None:
    data = sign.sign_artifact(ARTIFACT, p256)
    other_data = sign.sign_artifact(b"another artifact", p256)
    other_key = keys.generate()
    trust = _trust(p256, trusted_root=rekor.trusted_root())
    cases = [
        # a genuine log entry, but of another signature, digest or key (CVE-2022-36056)
        (_hashedrekord(p256, other_data), "records another signature"),
        (_hashedrekord(p256, data, digest=OTHER_SHA256), "records another digest"),
        (_hashedrekord(other_key, data), "records another public key"),
    ]
    for body, reason in cases:
        entry = rekor.entry(body, kind="hashedrekord", version="0.0.1")
        with pytest.raises(
            VerificationError, match=f"does not match the bundle \\(the entry {reason}"
        ):
            verify.verify_signature(
                _with_entries(data, entry), sha256=SHA256, trust=trust, name="a"
            )


def test_managed_log_entry_from_an_unknown_log(rekor: Rekor, p256: keys.SoftwareSigningKey) -> None:
    data = sign.sign_artifact(ARTIFACT, p256)
    logged = _with_entries(
        data, rekor.entry(_hashedrekord(p256, data), kind="hashedrekord", version="0.0.1")
    )
    for root in (None, PRODUCTION):
        with pytest.raises(VerificationError, match="does not verify against the trusted root"):
            verify.verify_signature(
                logged, sha256=SHA256, trust=_trust(p256, trusted_root=root), name="a"
            )


def test_managed_attestation_with_a_dsse_log_entry(
    rekor: Rekor, p256: keys.SoftwareSigningKey
) -> None:
    data = _attest(p256)
    envelope = json.loads(data)["dsseEnvelope"]
    payload = base64.b64decode(envelope["payload"])
    body: dict[str, Any] = {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": "0" * 64},
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
            "signatures": [
                {"signature": envelope["signatures"][0]["sig"], "verifier": _pem_b64(p256)}
            ],
        },
    }
    trust = _trust(p256, trusted_root=rekor.trusted_root())
    logged = _with_entries(data, rekor.entry(body, kind="dsse", version="0.0.1"))
    result = verify.verify_attestation(logged, sha256=SHA256, trust=trust, name="a")
    assert (result.signer.transparency_log, result.signer.signed_at) == (True, INTEGRATED)
    body["spec"]["payloadHash"] = {"algorithm": "sha256", "value": "1" * 64}
    logged = _with_entries(data, rekor.entry(body, kind="dsse", version="0.0.1"))
    with pytest.raises(VerificationError, match="the entry records another payload"):
        verify.verify_attestation(logged, sha256=SHA256, trust=trust, name="a")
    # a hashedrekord v1 entry cannot stand for an attestation
    logged = _with_entries(
        data,
        rekor.entry(
            _hashedrekord(p256, sign.sign_artifact(ARTIFACT, p256)),
            kind="hashedrekord",
            version="0.0.1",
        ),
    )
    with pytest.raises(
        VerificationError, match="hashedrekord/0.0.1 entry cannot record an attestation"
    ):
        verify.verify_attestation(logged, sha256=SHA256, trust=trust, name="a")


def test_managed_bundles_with_rekor_v2_entries(rekor: Rekor, p256: keys.SoftwareSigningKey) -> None:
    def body(digest: bytes, signature: bytes, algorithm: str = "SHA2_256") -> dict[str, Any]:
        return {
            "apiVersion": "0.0.2",
            "kind": "hashedrekord",
            "spec": {
                "hashedRekordV002": {
                    "data": {"algorithm": algorithm, "digest": _b64(digest)},
                    "signature": {
                        "content": _b64(signature),
                        "verifier": {
                            "publicKey": {"rawBytes": _b64(_spki(p256))},
                            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                        },
                    },
                }
            },
        }

    trust = _trust(p256, trusted_root=rekor.trusted_root())
    data = sign.sign_artifact(ARTIFACT, p256)
    signature = base64.b64decode(json.loads(data)["messageSignature"]["signature"])
    entry = rekor.entry(
        body(bytes.fromhex(SHA256), signature), kind="hashedrekord", version="0.0.2", promise=False
    )
    signer = verify.verify_signature(
        _with_entries(data, entry), sha256=SHA256, trust=trust, name="a"
    ).signer
    assert (signer.transparency_log, signer.signed_at) == (True, None)  # Rekor v2 has no time

    att = _attest(p256)
    envelope = dsse.parse_envelope(json.loads(att)["dsseEnvelope"])
    pae_digest = hashlib.sha256(envelope.pae()).digest()
    entry = rekor.entry(
        body(pae_digest, envelope.signatures[0].sig),
        kind="hashedrekord",
        version="0.0.2",
        promise=False,
    )
    result = verify.verify_attestation(
        _with_entries(att, entry), sha256=SHA256, trust=trust, name="a"
    )
    assert result.signer.transparency_log
    entry = rekor.entry(
        body(bytes.fromhex(SHA256), envelope.signatures[0].sig),
        kind="hashedrekord",
        version="0.0.2",
        promise=False,
    )
    with pytest.raises(VerificationError, match="the entry records another digest"):
        verify.verify_attestation(_with_entries(att, entry), sha256=SHA256, trust=trust, name="a")


# -- managed keys with RFC 3161 timestamps -------------------------------------------------------


def _staging_timestamp() -> tuple[bytes, bytes]:
    doc = json.loads((PUBLIC / "staging-rekor-v2.txt.sigstore.json").read_bytes())
    ts = doc["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
    return (
        base64.b64decode(ts["signedTimestamp"]),
        base64.b64decode(doc["messageSignature"]["signature"]),
    )


def test_verify_timestamps() -> None:
    timestamp, signature = _staging_timestamp()
    assert tsa.verify_timestamps([timestamp], signature, trusted_root=STAGING) == (1749470258,)
    with pytest.raises(VerificationError, match="does not verify against the trusted root"):
        tsa.verify_timestamps([timestamp], signature + b"x", trusted_root=STAGING)
    with pytest.raises(VerificationError, match="does not verify against the trusted root"):
        tsa.verify_timestamps([timestamp], signature, trusted_root=PRODUCTION)
    with pytest.raises(VerificationError, match="duplicate"):
        tsa.verify_timestamps([timestamp, timestamp], signature, trusted_root=STAGING)
    with pytest.raises(VerificationError, match="malformed"):
        tsa.verify_timestamps([b"\x30\x00"], signature, trusted_root=STAGING)


def test_managed_bundle_with_a_foreign_timestamp(p256: keys.SoftwareSigningKey) -> None:
    # a genuine timestamp, but over another signature: refused, not ignored
    timestamp, _ = _staging_timestamp()
    data = _edit(
        sign.sign_artifact(ARTIFACT, p256),
        lambda d: d["verificationMaterial"].update(
            timestampVerificationData={"rfc3161Timestamps": [{"signedTimestamp": _b64(timestamp)}]}
        ),
    )
    for root in (STAGING, None):
        with pytest.raises(VerificationError, match="RFC 3161 timestamp does not verify"):
            verify.verify_signature(
                data, sha256=SHA256, trust=_trust(p256, trusted_root=root), name="a"
            )
    no_tsa = json.loads(STAGING)
    no_tsa["timestampAuthorities"] = []
    with pytest.raises(VerificationError, match="the trusted root has no TSA"):
        verify.verify_signature(
            data,
            sha256=SHA256,
            trust=_trust(p256, trusted_root=json.dumps(no_tsa).encode()),
            name="a",
        )


# -- keyless bundles made by a local Sigstore instance (tests/sigstore_local) ------------------
#
# The public bundles are all artifact signatures; these exercise keyless attestations (Rekor v1
# `dsse` entries) and a GitHub workflow identity with a real sigstore-python verification.

ALICE = "alice@example.com"
WORKFLOW = GitHubWorkflow(
    repository="octo-org/octo-repo",
    ref="refs/tags/v1.2.3",
    ref_type="tag",
    event_name="release",
    repository_visibility="private",
)


@dataclasses.dataclass
class Local:
    trusted_root: bytes
    issuer: str
    github_issuer: str
    signature: bytes
    attestation: bytes
    github_signature: bytes


@pytest.fixture(scope="module")
def local(sigstore_local: LocalSigstore) -> Local:  # noqa: F811 - the fixture above
    trust_config = sigstore_local.trust_config_path.read_bytes()
    statement = intoto.build_statement(
        [("app", {"sha256": SHA256})], intoto.PREDICATE_CYCLONEDX, CYCLONEDX
    )
    with sign.KeylessSigner(sigstore_local.email_token(ALICE), trust_config=trust_config) as s:
        s.sign_artifact(b"an earlier entry, so that proofs are not empty")
        signature = s.sign_artifact(ARTIFACT)
        attestation = s.attest(statement)
    token = sigstore_local.github_token(WORKFLOW)
    with sign.KeylessSigner(token, trust_config=trust_config) as s:
        github_signature = s.sign_artifact(ARTIFACT)
    return Local(
        trusted_root=sigstore_local.trusted_root_path.read_bytes(),
        issuer=sigstore_local.issuer,
        github_issuer=sigstore_local.github_issuer,
        signature=signature,
        attestation=attestation,
        github_signature=github_signature,
    )


def test_local_keyless_signature(local: Local) -> None:
    trust = TrustMaterial(trusted_root=local.trusted_root)
    result = verify.verify_bundle(local.signature, sha256=SHA256, trust=trust, name="s")
    assert isinstance(result, verify.VerifiedSignature)
    assert (result.signer.identity, result.signer.issuer) == (ALICE, local.issuer)
    assert result.signer.transparency_log and result.signer.signed_at
    with pytest.raises(VerificationError, match="signature does not match the artifact"):
        verify.verify_bundle(local.signature, sha256=OTHER_SHA256, trust=trust, name="s")
    with pytest.raises(VerificationError, match="certificate does not chain"):
        verify.verify_bundle(local.signature, sha256=SHA256, trust=TrustMaterial(), name="s")


def test_client_trust_config_is_accepted_as_trusted_root(sigstore_local: LocalSigstore) -> None:  # noqa: F811
    # one file for signing and verifying: the trust config's trusted root is used
    trust = TrustMaterial(trusted_root=sigstore_local.trust_config_path.read_bytes())
    statement = intoto.build_statement(
        [("app", {"sha256": SHA256})], "https://slsa.dev/provenance/v1", {"buildDefinition": {}}
    )
    with sign.KeylessSigner(
        sigstore_local.email_token(ALICE),
        trust_config=sigstore_local.trust_config_path.read_bytes(),
    ) as s:
        data = s.attest(statement)
    result = verify.verify_attestation(data, sha256=SHA256, trust=trust, name="a")
    assert result.predicate_kind == "slsa-provenance"


def test_local_keyless_attestation(local: Local) -> None:
    trust = TrustMaterial(trusted_root=local.trusted_root)
    result = verify.verify_bundle(local.attestation, sha256=SHA256, trust=trust, name="a")
    assert isinstance(result, verify.VerifiedAttestation)
    assert result.signer.kind == "keyless"
    assert (result.signer.identity, result.signer.issuer) == (ALICE, local.issuer)
    assert result.signer.signed_at is not None
    assert result.predicate_kind == "cyclonedx"
    assert _component_names(result) == {"golang.org/x/sys"}
    with pytest.raises(VerificationError, match="attestation is for another artifact"):
        verify.verify_attestation(local.attestation, sha256=OTHER_SHA256, trust=trust, name="a")
    with pytest.raises(VerificationError, match="certificate does not chain"):
        verify.verify_attestation(local.attestation, sha256=SHA256, trust=TrustMaterial(), name="a")


def test_local_keyless_attestation_tampered(local: Local) -> None:
    trust = TrustMaterial(trusted_root=local.trusted_root)
    other = _statement(sha256=SHA256, predicate={**CYCLONEDX, "version": 2})
    swapped = _edit(local.attestation, lambda d: d["dsseEnvelope"].update(payload=_b64(other)))
    with pytest.raises(VerificationError, match="a: signature does not match the attestation$"):
        verify.verify_attestation(swapped, sha256=SHA256, trust=trust, name="a")

    def other_entry(doc: dict[str, Any]) -> None:
        entry = json.loads(local.signature)["verificationMaterial"]["tlogEntries"][0]
        doc["verificationMaterial"]["tlogEntries"] = [entry]

    with pytest.raises(VerificationError, match="transparency log entry"):
        verify.verify_attestation(
            _edit(local.attestation, other_entry), sha256=SHA256, trust=trust, name="a"
        )


def test_local_github_workflow_claims(local: Local) -> None:
    trust = TrustMaterial(trusted_root=local.trusted_root)
    signer = verify.verify_signature(
        local.github_signature, sha256=SHA256, trust=trust, name="g"
    ).signer
    repo = "https://github.com/octo-org/octo-repo"
    workflow = f"{repo}/.github/workflows/release.yml@refs/tags/v1.2.3"
    assert (signer.identity, signer.issuer) == (workflow, local.github_issuer)
    assert signer.claim("source_repository_uri") == repo
    assert signer.claim("source_repository_ref") == "refs/tags/v1.2.3"
    assert signer.claim("source_repository_digest") == WORKFLOW.sha
    assert signer.claim("source_repository_visibility_at_signing") == "private"
    assert signer.claim("build_trigger") == "release"
    assert signer.claim("build_signer_uri") == workflow
    assert signer.claim("runner_environment") == "github-hosted"
