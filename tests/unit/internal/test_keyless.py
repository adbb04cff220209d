"""Native keyless verification (`sbomsign._internal.sigstore`) against sigstore-python's.

The core is differential: every bundle available — the public ones in
tests/assets/public-bundles, bundles signed through the private instance (tests/sigstore_local)
and tampered variants of both — is verified by the native verifier and by sigstore-python's
`Verifier` (`tests/sigstore_reference.py`), against the right and the wrong trusted roots. The
verdicts must be the same, and so must what a passing bundle yields (identity, issuer, claims,
certificate, times, payload); each case also states the verdict it must have.

The native verifier is stricter than sigstore-python in a few documented places; the tests at
the end pin each of those differences down.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sbomsign import sign
from sbomsign._internal import intoto
from sbomsign._internal.sigstore import bodies, certs, keyless, merkle, rekor, trustroot
from sbomsign._internal.sigstore.dsse import parse_envelope
from sbomsign.errors import InputError, VerificationError
from tests import sigstore_reference
from tests.sigstore_local import GitHubWorkflow, LocalSigstore
from tests.sigstore_local import merkle as local_merkle

ROOT_DIR = Path(__file__).resolve().parents[3]
PUBLIC = ROOT_DIR / "tests" / "assets" / "public-bundles"
PRODUCTION = (PUBLIC / "production-trusted_root.json").read_bytes()
STAGING = (PUBLIC / "staging-trusted_root.json").read_bytes()

Doc = dict[str, Any]
Tamper = Callable[[Doc], None]


# -- the differential check ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One verifier's verdict on one bundle, and what a pass yields."""

    passed: bool
    reason: str = ""
    facts: tuple[Any, ...] = ()


def _outcome(
    verifier: Callable[..., keyless.KeylessResult],
    bundle: bytes,
    sha256: bytes | None,
    root: bytes | None,
) -> Outcome:
    try:
        result = verifier(bundle, sha256=sha256, trusted_root=root)
    except VerificationError as e:
        return Outcome(False, e.message)
    facts = certs.certificate_facts(result.certificate)
    return Outcome(
        True,
        facts=(
            facts.identity,
            facts.issuer,
            facts.claims,
            result.certificate.fingerprint(hashes.SHA256()),
            result.integrated_time,
            result.timestamps,
            result.payload_type,
            result.payload,
        ),
    )


def differential(
    bundle: bytes, sha256: bytes | None, root: bytes | None, *, passes: bool
) -> Outcome:
    """Verify natively and with sigstore-python; both must give the verdict `passes`."""
    ours = _outcome(keyless.verify_keyless, bundle, sha256, root)
    reference = _outcome(sigstore_reference.verify_keyless_reference, bundle, sha256, root)
    describe = {True: "passes", False: "fails"}
    assert ours.passed == reference.passed, (
        f"native {describe[ours.passed]} ({ours.reason}), "
        f"sigstore-python {describe[reference.passed]} ({reference.reason})"
    )
    assert ours.facts == reference.facts
    assert ours.passed == passes, f"both {describe[ours.passed]}: {ours.reason}"
    return ours


# -- bundle editing --------------------------------------------------------------------------


def _edit(bundle: bytes, *tampers: Tamper) -> bytes:
    doc = json.loads(bundle)
    before = copy.deepcopy(doc)
    for tamper in tampers:
        tamper(doc)
    assert doc != before, "the tampering changed nothing"
    return json.dumps(doc).encode()


def _entry(doc: Doc) -> Doc:
    entry: Doc = doc["verificationMaterial"]["tlogEntries"][0]
    return entry


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _flip_b64(value: str, at: int = -1) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[at] ^= 0x01
    return _b64(bytes(raw))


def _leaf_der(doc: Doc) -> bytes:
    material = doc["verificationMaterial"]
    if "certificate" in material:
        return base64.b64decode(material["certificate"]["rawBytes"])
    return base64.b64decode(material["x509CertificateChain"]["certificates"][0]["rawBytes"])


def _flip_sct(doc: Doc) -> None:
    # One byte of the SCT's signature inside the certificate (the CA's signature over the
    # certificate then breaks too, as when an attacker edits it).
    der = _leaf_der(doc)
    sct = (
        x509.load_der_x509_certificate(der)
        .extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps)
        .value[0]
    )
    at = der.index(sct.signature) + len(sct.signature) // 2
    doc["verificationMaterial"]["certificate"]["rawBytes"] = _b64(
        der[:at] + bytes([der[at] ^ 0x01]) + der[at + 1 :]
    )


def _change_body(doc: Doc) -> None:
    entry = _entry(doc)
    body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
    other = hashlib.sha256(b"something else")
    if body["kind"] == "hashedrekord" and body["apiVersion"] == "0.0.1":
        body["spec"]["data"]["hash"]["value"] = other.hexdigest()
    elif body["kind"] == "hashedrekord":
        body["spec"]["hashedRekordV002"]["data"]["digest"] = _b64(other.digest())
    else:
        body["spec"]["payloadHash"]["value"] = other.hexdigest()
    entry["canonicalizedBody"] = _b64(json.dumps(body).encode())


def _flip_proof_hash(doc: Doc) -> None:
    proof = _entry(doc)["inclusionProof"]
    assert proof["hashes"], "the log must hold several entries for a non-empty proof"
    proof["hashes"][0] = _flip_b64(proof["hashes"][0])


def _flip_root_hash(doc: Doc) -> None:
    proof = _entry(doc)["inclusionProof"]
    proof["rootHash"] = _flip_b64(proof["rootHash"])


def _flip_checkpoint_signature(doc: Doc) -> None:
    checkpoint = _entry(doc)["inclusionProof"]["checkpoint"]
    note, _, line = checkpoint["envelope"].rstrip("\n").rpartition("\n")
    dash, name, signature = line.split(" ")
    checkpoint["envelope"] = f"{note}\n{dash} {name} {_flip_b64(signature, 10)}\n"


def _change_checkpoint_size(doc: Doc) -> None:
    checkpoint = _entry(doc)["inclusionProof"]["checkpoint"]
    origin, size, rest = checkpoint["envelope"].split("\n", 2)
    checkpoint["envelope"] = f"{origin}\n{int(size) + 1}\n{rest}"


def _add_witness(first: bool) -> Tamper:
    def tamper(doc: Doc) -> None:
        # A second signature line whose key hint is not the log's (a witness's): ignored.
        checkpoint = _entry(doc)["inclusionProof"]["checkpoint"]
        witness = f"\u2014 witness.example {_b64(b'wit!' + bytes(64))}\n"
        envelope = checkpoint["envelope"]
        note, sep, block = envelope.partition("\n\n")
        block = witness + block if first else block + witness
        checkpoint["envelope"] = note + sep + block

    return tamper


def _flip_set(doc: Doc) -> None:
    promise = _entry(doc)["inclusionPromise"]
    promise["signedEntryTimestamp"] = _flip_b64(promise["signedEntryTimestamp"], 12)


def _shift_integrated_time(doc: Doc) -> None:
    # NOTE: later, not earlier: a second earlier can fall before the certificate's validity.
    entry = _entry(doc)
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)


def _shift_log_index(doc: Doc) -> None:
    entry = _entry(doc)
    entry["logIndex"] = str(int(entry["logIndex"]) + 1)


def _flip_log_id(at: int) -> Tamper:
    def tamper(doc: Doc) -> None:
        log_id = _entry(doc)["logId"]
        log_id["keyId"] = _flip_b64(log_id["keyId"], at)

    return tamper


def _flip_signature(doc: Doc) -> None:
    if "messageSignature" in doc:
        doc["messageSignature"]["signature"] = _flip_b64(doc["messageSignature"]["signature"], 20)
    else:
        signature = doc["dsseEnvelope"]["signatures"][0]
        signature["sig"] = _flip_b64(signature["sig"], 20)


def _flip_message_digest(doc: Doc) -> None:
    digest = doc["messageSignature"]["messageDigest"]
    digest["digest"] = _flip_b64(digest["digest"])


def _change_payload(doc: Doc) -> None:
    envelope = doc["dsseEnvelope"]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"] = {"tampered": True}
    envelope["payload"] = _b64(json.dumps(statement).encode())


def _change_payload_type(doc: Doc) -> None:
    doc["dsseEnvelope"]["payloadType"] = "application/vnd.in-toto.other+json"


def _drop(*path: str) -> Tamper:
    def tamper(doc: Doc) -> None:
        obj = _entry(doc) if path[0] == "entry" else doc
        for name in path[1 if path[0] == "entry" else 0 : -1]:
            obj = obj[name]
        del obj[path[-1]]

    return tamper


def _set(value: Any, *path: str) -> Tamper:
    def tamper(doc: Doc) -> None:
        obj = _entry(doc) if path[0] == "entry" else doc
        for name in path[1 if path[0] == "entry" else 0 : -1]:
            obj = obj[name]
        obj[path[-1]] = value

    return tamper


def _entries(count: int) -> Tamper:
    def tamper(doc: Doc) -> None:
        material = doc["verificationMaterial"]
        material["tlogEntries"] = (material["tlogEntries"] * 2)[:count]

    return tamper


def _to_v3(doc: Doc) -> None:
    material = doc["verificationMaterial"]
    material["certificate"] = material.pop("x509CertificateChain")["certificates"][0]
    doc["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.3+json"


def _to_chain(media_type: str, *extra: bytes) -> Tamper:
    def tamper(doc: Doc) -> None:
        material = doc["verificationMaterial"]
        leaf = material.pop("certificate")
        material["x509CertificateChain"] = {
            "certificates": [leaf, *({"rawBytes": _b64(der)} for der in extra)]
        }
        doc["mediaType"] = media_type

    return tamper


V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
V02 = "application/vnd.dev.sigstore.bundle+json;version=0.2"
V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
V03_ALT = "application/vnd.dev.sigstore.bundle+json;version=0.3"


def _swap_certificate(other: bytes) -> Tamper:
    def tamper(doc: Doc) -> None:
        doc["verificationMaterial"]["certificate"] = {"rawBytes": _b64(other)}

    return tamper


def _swap_entry(other_bundle: bytes) -> Tamper:
    def tamper(doc: Doc) -> None:
        material = json.loads(other_bundle)["verificationMaterial"]
        doc["verificationMaterial"]["tlogEntries"] = material["tlogEntries"]

    return tamper


def _root_ca_certificates(root: bytes) -> list[bytes]:
    return [
        base64.b64decode(c["rawBytes"])
        for ca in json.loads(root)["certificateAuthorities"]
        for c in ca["certChain"]["certificates"]
    ]


# -- public bundles ----------------------------------------------------------------------------


def _public(name: str) -> bytes:
    return (PUBLIC / name).read_bytes()


def _sha256_of(name: str) -> bytes:
    return hashlib.sha256(_public(name)).digest()


def _flipped(digest: bytes) -> bytes:
    return bytes([digest[0] ^ 0x01]) + digest[1:]


# (bundle, artifact, roots it passes with)
PUBLIC_BUNDLES = [
    ("bundle_v3.txt.sigstore", "bundle_v3.txt", {"staging"}),
    ("bundle_v3_github.whl.sigstore", "bundle_v3_github.whl", {"production", "default"}),
    ("staging-rekor-v2.txt.sigstore.json", "staging-rekor-v2.txt", {"staging"}),
    ("bundle_cve_2022_36056.txt.sigstore", "bundle_cve_2022_36056.txt", set()),
]
ROOTS: dict[str, bytes | None] = {"production": PRODUCTION, "staging": STAGING, "default": None}


@pytest.mark.parametrize("digest", ["right", "flipped"])
@pytest.mark.parametrize("root", list(ROOTS))
@pytest.mark.parametrize(("name", "artifact", "good_roots"), PUBLIC_BUNDLES)
def test_public_bundles(
    name: str, artifact: str, good_roots: set[str], root: str, digest: str
) -> None:
    sha256 = _sha256_of(artifact)
    differential(
        _public(name),
        sha256 if digest == "right" else _flipped(sha256),
        ROOTS[root],
        passes=root in good_roots and digest == "right",
    )


GITHUB = "bundle_v3_github.whl.sigstore"
STAGING_V3 = "bundle_v3.txt.sigstore"
REKOR_V2 = "staging-rekor-v2.txt.sigstore.json"
_PRODUCTION_CA = _root_ca_certificates(PRODUCTION)
_STAGING_LEAF = _leaf_der(json.loads(_public(STAGING_V3)))

# name -> (bundle, tampers, root, passes)
PUBLIC_VARIANTS: dict[str, tuple[str, tuple[Tamper, ...], bytes, bool]] = {
    # v0.2 (chain) bundle on production, Rekor v1 with an inclusion promise
    "v0.2 rewritten as v0.3": (GITHUB, (_to_v3,), PRODUCTION, True),
    "v0.2 relabelled v0.1": (GITHUB, (_set(V01, "mediaType"),), PRODUCTION, True),
    "v0.2 relabelled v0.3 (alternative media type), chain kept": (
        GITHUB,
        (_set(V03_ALT, "mediaType"),),
        PRODUCTION,
        False,
    ),
    "v0.2 chain with the intermediate appended": (
        GITHUB,
        (
            lambda d: d["verificationMaterial"]["x509CertificateChain"]["certificates"].append(
                {"rawBytes": _b64(_PRODUCTION_CA[1])}
            ),
        ),
        PRODUCTION,
        True,
    ),
    "v0.2 chain led by the intermediate": (
        GITHUB,
        (
            lambda d: d["verificationMaterial"]["x509CertificateChain"]["certificates"].insert(
                0, {"rawBytes": _b64(_PRODUCTION_CA[1])}
            ),
        ),
        PRODUCTION,
        False,
    ),
    "unknown media type": (GITHUB, (_set("application/json", "mediaType"),), PRODUCTION, False),
    "message digest removed": (
        GITHUB,
        (_drop("messageSignature", "messageDigest"),),
        PRODUCTION,
        True,
    ),
    "message digest named SHA2_384": (
        GITHUB,
        (_set("SHA2_384", "messageSignature", "messageDigest", "algorithm"),),
        PRODUCTION,
        True,
    ),
    "message digest named MD5": (
        GITHUB,
        (_set("MD5", "messageSignature", "messageDigest", "algorithm"),),
        PRODUCTION,
        False,
    ),
    "message digest changed": (GITHUB, (_flip_message_digest,), PRODUCTION, False),
    "signature byte flipped": (GITHUB, (_flip_signature,), PRODUCTION, False),
    "inclusion promise removed": (GITHUB, (_drop("entry", "inclusionPromise"),), PRODUCTION, False),
    "inclusion promise null": (
        GITHUB,
        (_set(None, "entry", "inclusionPromise"),),
        PRODUCTION,
        False,
    ),
    "integrated time removed": (GITHUB, (_drop("entry", "integratedTime"),), PRODUCTION, False),
    "integrated time zero": (GITHUB, (_set("0", "entry", "integratedTime"),), PRODUCTION, False),
    "integrated time moved": (GITHUB, (_shift_integrated_time,), PRODUCTION, False),
    "integrated time not a string": (
        GITHUB,
        (lambda d: _entry(d).update(integratedTime=int(_entry(d)["integratedTime"])),),
        PRODUCTION,
        False,
    ),
    "log index changed": (GITHUB, (_shift_log_index,), PRODUCTION, False),
    "signed entry timestamp changed": (GITHUB, (_flip_set,), PRODUCTION, False),
    "checkpoint removed": (
        GITHUB,
        (_drop("entry", "inclusionProof", "checkpoint"),),
        PRODUCTION,
        False,
    ),
    "inclusion proof removed": (GITHUB, (_drop("entry", "inclusionProof"),), PRODUCTION, False),
    "checkpoint signature changed": (GITHUB, (_flip_checkpoint_signature,), PRODUCTION, False),
    "checkpoint tree size changed": (GITHUB, (_change_checkpoint_size,), PRODUCTION, False),
    "checkpoint with a witness signature after the log's": (
        GITHUB,
        (_add_witness(first=False),),
        PRODUCTION,
        True,
    ),
    "checkpoint with a witness signature before the log's": (
        GITHUB,
        (_add_witness(first=True),),
        PRODUCTION,
        True,
    ),
    "inclusion proof hash changed": (GITHUB, (_flip_proof_hash,), PRODUCTION, False),
    "inclusion proof root hash changed": (GITHUB, (_flip_root_hash,), PRODUCTION, False),
    "inclusion proof index beyond its tree": (
        GITHUB,
        (
            lambda d: _entry(d)["inclusionProof"].update(
                logIndex=_entry(d)["inclusionProof"]["treeSize"]
            ),
        ),
        PRODUCTION,
        False,
    ),
    "log entry body changed": (GITHUB, (_change_body,), PRODUCTION, False),
    # the SET covers the log id; the checkpoint only its 4-byte hint
    "log id changed past its hint": (GITHUB, (_flip_log_id(10),), PRODUCTION, False),
    "log id changed in its hint": (GITHUB, (_flip_log_id(0),), PRODUCTION, False),
    "entry kind changed to dsse": (
        GITHUB,
        (_set("dsse", "entry", "kindVersion", "kind"),),
        PRODUCTION,
        False,
    ),
    "entry version changed to 0.0.3": (
        GITHUB,
        (_set("0.0.3", "entry", "kindVersion", "version"),),
        PRODUCTION,
        False,
    ),
    "entry version changed to 0.0.2": (
        GITHUB,
        (_set("0.0.2", "entry", "kindVersion", "version"),),
        PRODUCTION,
        False,
    ),
    "no log entry": (GITHUB, (_entries(0),), PRODUCTION, False),
    "two log entries": (GITHUB, (_entries(2),), PRODUCTION, False),
    "unknown member in the bundle": (GITHUB, (_set(1, "extra"),), PRODUCTION, False),
    "unknown member in the verification material": (
        GITHUB,
        (_set([], "verificationMaterial", "extra"),),
        PRODUCTION,
        False,
    ),
    "unknown member in the log entry": (GITHUB, (_set("x", "entry", "extra"),), PRODUCTION, False),
    "empty timestamp list": (
        GITHUB,
        (_set({"rfc3161Timestamps": []}, "verificationMaterial", "timestampVerificationData"),),
        PRODUCTION,
        True,
    ),
    "malformed timestamp beside the promise": (
        GITHUB,
        (
            _set(
                {"rfc3161Timestamps": [{"signedTimestamp": _b64(b"\x30\x03\x02\x01\x00")}]},
                "verificationMaterial",
                "timestampVerificationData",
            ),
        ),
        PRODUCTION,
        False,
    ),
    # v0.3 on staging (Rekor v1)
    "v0.3 rewritten as v0.2": (STAGING_V3, (_to_chain(V02),), STAGING, True),
    "v0.3 rewritten as v0.2 with the staging CA appended": (
        STAGING_V3,
        (_to_chain(V02, *_root_ca_certificates(STAGING)),),
        STAGING,
        True,
    ),
    "v0.3 relabelled v0.2, certificate kept": (
        STAGING_V3,
        (_set(V02, "mediaType"),),
        STAGING,
        False,
    ),
    "another valid certificate swapped in": (
        GITHUB,
        (_to_v3, _swap_certificate(_STAGING_LEAF)),
        PRODUCTION,
        False,
    ),
    "not a certificate": (
        STAGING_V3,
        (_swap_certificate(b"\x30\x03\x02\x01\x00"),),
        STAGING,
        False,
    ),
    "sct flipped in the certificate": (STAGING_V3, (_flip_sct,), STAGING, False),
    # Rekor v2 with an RFC 3161 timestamp (no inclusion promise)
    "rekor v2 timestamp removed": (
        REKOR_V2,
        (_drop("verificationMaterial", "timestampVerificationData"),),
        STAGING,
        False,
    ),
    "rekor v2 timestamp byte flipped": (
        REKOR_V2,
        (
            lambda d: d["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][
                0
            ].update(
                signedTimestamp=_flip_b64(
                    d["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0][
                        "signedTimestamp"
                    ],
                    -20,
                )
            ),
        ),
        STAGING,
        False,
    ),
    "rekor v2 timestamp duplicated": (
        REKOR_V2,
        (
            lambda d: d["verificationMaterial"]["timestampVerificationData"][
                "rfc3161Timestamps"
            ].extend(d["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]),
        ),
        STAGING,
        False,
    ),
    "rekor v2 as v0.2 with a chain": (REKOR_V2, (_to_chain(V02),), STAGING, True),
    "rekor v2 signature flipped": (REKOR_V2, (_flip_signature,), STAGING, False),
    "rekor v2 body changed": (REKOR_V2, (_change_body,), STAGING, False),
    "rekor v2 checkpoint signature changed": (
        REKOR_V2,
        (_flip_checkpoint_signature,),
        STAGING,
        False,
    ),
    "rekor v2 root hash changed": (REKOR_V2, (_flip_root_hash,), STAGING, False),
    "rekor v2 proof hash changed": (REKOR_V2, (_flip_proof_hash,), STAGING, False),
    "rekor v2 with a promise it cannot have": (
        REKOR_V2,
        (
            _set({"signedEntryTimestamp": _b64(b"x" * 70)}, "entry", "inclusionPromise"),
            _set("1749470258", "entry", "integratedTime"),
        ),
        STAGING,
        False,
    ),
    "rekor v2 relabelled v0.1": (REKOR_V2, (_to_chain(V01),), STAGING, False),
}


@pytest.mark.parametrize(
    ("name", "tampers", "root", "passes"), PUBLIC_VARIANTS.values(), ids=PUBLIC_VARIANTS.keys()
)
def test_public_bundle_variants(
    name: str, tampers: tuple[Tamper, ...], root: bytes, passes: bool
) -> None:
    artifact = next(a for b, a, _ in PUBLIC_BUNDLES if b == name)
    differential(_edit(_public(name), *tampers), _sha256_of(artifact), root, passes=passes)


def test_public_bundle_as_attestation_and_garbage() -> None:
    # an artifact signature is not an attestation, whichever verifier is asked
    differential(_public(GITHUB), None, PRODUCTION, passes=False)
    for junk in (b"", b"not json", b"[]", b"{}", b'{"mediaType": 1}'):
        differential(junk, _sha256_of("bundle_v3_github.whl"), PRODUCTION, passes=False)


# -- bundles from the private instance ---------------------------------------------------------

ALICE = "alice@example.com"
ARTIFACT = b"sbomsign keyless differential test\n" * 50
SHA256 = hashlib.sha256(ARTIFACT).digest()
WORKFLOW = GitHubWorkflow(
    repository="octo-org/octo-repo",
    ref="refs/tags/v2.0.0",
    ref_type="tag",
    event_name="release",
    job_workflow_ref="octo-org/shared/.github/workflows/sign.yml@refs/heads/main",
    job_workflow_sha="0123456789abcdef0123456789abcdef01234567",
    repository_visibility="private",
)


@dataclass
class Local:
    """Bundles signed through the private instance, and roots to verify them against."""

    instance: LocalSigstore
    root: bytes
    trust_config: bytes
    foreign_root: bytes
    """Another private instance's root: another CA, CT log and Rekor."""
    signature: bytes
    other_signature: bytes
    """ARTIFACT signed by alice again: another, equally valid certificate and entry."""
    attestations: dict[str, bytes]
    github: bytes
    bad_sct: bytes
    """Signed with a certificate whose SCT the CA corrupted."""
    expired: bytes
    """Logged an hour after signing: the 10-minute certificate had expired."""
    extra: dict[str, bytes] = field(default_factory=dict)


def _statement(predicate_type: str, predicate: dict[str, Any]) -> bytes:
    return intoto.build_statement(
        [("artifact.bin", {"sha256": SHA256.hex()})], predicate_type, predicate
    )


@pytest.fixture(scope="module")
def local(
    sigstore_local: LocalSigstore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Local]:
    instance = sigstore_local
    config = instance.trust_config_path.read_bytes()
    cyclonedx = _statement(
        intoto.PREDICATE_CYCLONEDX,
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []},
    )
    provenance = _statement(intoto.PREDICATE_SLSA_PROVENANCE, {"buildDefinition": {}})
    with sign.KeylessSigner(instance.email_token(ALICE), trust_config=config) as signer:
        # NOTE: an entry logged first, so that the proofs under test are not empty.
        signer.sign_artifact(b"an earlier entry")
        signature = signer.sign_artifact(ARTIFACT)
        attestations = {
            "cyclonedx": signer.attest(cyclonedx),
            "provenance": signer.attest(provenance),
        }
    with sign.KeylessSigner(instance.email_token(ALICE, alg="RS256"), trust_config=config) as s:
        other_signature = s.sign_artifact(ARTIFACT)
    with sign.KeylessSigner(instance.github_token(WORKFLOW), trust_config=config) as signer:
        github = signer.sign_artifact(ARTIFACT)
    try:
        instance.fulcio.corrupt_sct = True
        with pytest.MonkeyPatch.context() as mp:
            # NOTE: sigstore-python's signer checks the SCT too; let it through to get a
            # whole bundle around that certificate.
            mp.setattr("sigstore.sign.verify_sct", lambda *args: None)
            with sign.KeylessSigner(instance.email_token(ALICE), trust_config=config) as s:
                bad_sct = s.sign_artifact(ARTIFACT)
        instance.fulcio.corrupt_sct = False
        instance.rekor.store.clock_offset = 3600
        with sign.KeylessSigner(instance.email_token(ALICE), trust_config=config) as s:
            expired = s.sign_artifact(ARTIFACT)
    finally:
        instance.reset_faults()
    with LocalSigstore(tmp_path_factory.mktemp("foreign-instance")) as other:
        foreign_root = other.trusted_root_path.read_bytes()
    yield Local(
        instance=instance,
        root=instance.trusted_root_path.read_bytes(),
        trust_config=config,
        foreign_root=foreign_root,
        signature=signature,
        other_signature=other_signature,
        attestations=attestations,
        github=github,
        bad_sct=bad_sct,
        expired=expired,
    )


def _leaf_of(bundle: bytes) -> bytes:
    return _leaf_der(json.loads(bundle))


def _local_intermediate(local: Local) -> bytes:
    return local.instance.fulcio.ca.intermediate.public_bytes(serialization.Encoding.DER)


# name -> (bundle, tampers, root, verify as an attestation?, passes), each from the fixture
LocalCase = tuple[bytes, tuple[Tamper, ...], bytes | None, bool, bool]
LOCAL_CASES: dict[str, Callable[[Local], LocalCase]] = {
    "signature": lambda m: (m.signature, (), m.root, False, True),
    "signature, other certificate": lambda m: (m.other_signature, (), m.root, False, True),
    "signature, trust config as root": lambda m: (m.signature, (), m.trust_config, False, True),
    "signature, GitHub workflow identity": lambda m: (m.github, (), m.root, False, True),
    "signature, production root": lambda m: (m.signature, (), PRODUCTION, False, False),
    "signature, staging root": lambda m: (m.signature, (), STAGING, False, False),
    "signature, default root": lambda m: (m.signature, (), None, False, False),
    "signature, another instance's root": lambda m: (m.signature, (), m.foreign_root, False, False),
    "signature checked as an attestation": lambda m: (m.signature, (), m.root, True, False),
    "signature, CA corrupted the SCT": lambda m: (m.bad_sct, (), m.root, False, False),
    "signature, certificate expired when logged": lambda m: (m.expired, (), m.root, False, False),
    "signature, sct flipped": lambda m: (m.signature, (_flip_sct,), m.root, False, False),
    "signature, body changed": lambda m: (m.signature, (_change_body,), m.root, False, False),
    "signature, proof hash changed": lambda m: (
        m.signature,
        (_flip_proof_hash,),
        m.root,
        False,
        False,
    ),
    "signature, root hash changed": lambda m: (
        m.signature,
        (_flip_root_hash,),
        m.root,
        False,
        False,
    ),
    "signature, checkpoint signature changed": lambda m: (
        m.signature,
        (_flip_checkpoint_signature,),
        m.root,
        False,
        False,
    ),
    "signature, checkpoint size changed": lambda m: (
        m.signature,
        (_change_checkpoint_size,),
        m.root,
        False,
        False,
    ),
    "signature, SET changed": lambda m: (m.signature, (_flip_set,), m.root, False, False),
    "signature, integrated time moved": lambda m: (
        m.signature,
        (_shift_integrated_time,),
        m.root,
        False,
        False,
    ),
    "signature, log index changed": lambda m: (
        m.signature,
        (_shift_log_index,),
        m.root,
        False,
        False,
    ),
    "signature, signature byte flipped": lambda m: (
        m.signature,
        (_flip_signature,),
        m.root,
        False,
        False,
    ),
    "signature, message digest changed": lambda m: (
        m.signature,
        (_flip_message_digest,),
        m.root,
        False,
        False,
    ),
    "signature, certificate swapped": lambda m: (
        m.signature,
        (_swap_certificate(_leaf_of(m.other_signature)),),
        m.root,
        False,
        False,
    ),
    "signature, log entry swapped": lambda m: (
        m.signature,
        (_swap_entry(m.other_signature),),
        m.root,
        False,
        False,
    ),
    "signature, as v0.2 with a chain": lambda m: (
        m.signature,
        (_to_chain(V02),),
        m.root,
        False,
        True,
    ),
    "signature, as v0.1 with a chain": lambda m: (
        m.signature,
        (_to_chain(V01),),
        m.root,
        False,
        True,
    ),
    "signature, as v0.2 with the intermediate appended": lambda m: (
        m.signature,
        (_to_chain(V02, _local_intermediate(m)),),
        m.root,
        False,
        True,
    ),
    "signature, inclusion promise removed": lambda m: (
        m.signature,
        (_drop("entry", "inclusionPromise"),),
        m.root,
        False,
        False,
    ),
    "signature, checkpoint removed": lambda m: (
        m.signature,
        (_drop("entry", "inclusionProof", "checkpoint"),),
        m.root,
        False,
        False,
    ),
    "signature, unknown member": lambda m: (m.signature, (_set(True, "x"),), m.root, False, False),
}
for _kind in ("cyclonedx", "provenance"):
    LOCAL_CASES |= {
        f"{_kind} attestation": lambda m, k=_kind: (m.attestations[k], (), m.root, True, True),
        f"{_kind} attestation checked as a signature": lambda m, k=_kind: (
            m.attestations[k],
            (),
            m.root,
            False,
            False,
        ),
        f"{_kind} attestation, production root": lambda m, k=_kind: (
            m.attestations[k],
            (),
            PRODUCTION,
            True,
            False,
        ),
        f"{_kind} attestation, another instance's root": lambda m, k=_kind: (
            m.attestations[k],
            (),
            m.foreign_root,
            True,
            False,
        ),
        f"{_kind} attestation, sct flipped": lambda m, k=_kind: (
            m.attestations[k],
            (_flip_sct,),
            m.root,
            True,
            False,
        ),
        f"{_kind} attestation, body changed": lambda m, k=_kind: (
            m.attestations[k],
            (_change_body,),
            m.root,
            True,
            False,
        ),
        f"{_kind} attestation, proof hash changed": lambda m, k=_kind: (
            m.attestations[k],
            (_flip_proof_hash,),
            m.root,
            True,
            False,
        ),
        f"{_kind} attestation, checkpoint signature changed": lambda m, k=_kind: (
            m.attestations[k],
            (_flip_checkpoint_signature,),
            m.root,
            True,
            False,
        ),
        f"{_kind} attestation, SET changed": lambda m, k=_kind: (
            m.attestations[k],
            (_flip_set,),
            m.root,
            True,
            False,
        ),
        f"{_kind} attestation, integrated time moved": lambda m, k=_kind: (
            m.attestations[k],
            (_shift_integrated_time,),
            m.root,
            True,
            False,
        ),
        f"{_kind} attestation, signature byte flipped": lambda m, k=_kind: (
            m.attestations[k],
            (_flip_signature,),
            m.root,
            True,
            False,
        ),
        f"{_kind} attestation, payload changed": lambda m, k=_kind: (
            m.attestations[k],
            (_change_payload,),
            m.root,
            True,
            False,
        ),
        f"{_kind} attestation, payload type changed": lambda m, k=_kind: (
            m.attestations[k],
            (_change_payload_type,),
            m.root,
            True,
            False,
        ),
        f"{_kind} attestation, certificate swapped": lambda m, k=_kind: (
            m.attestations[k],
            (_swap_certificate(_leaf_of(m.other_signature)),),
            m.root,
            True,
            False,
        ),
        f"{_kind} attestation, log entry of the signature": lambda m, k=_kind: (
            m.attestations[k],
            (_swap_entry(m.signature),),
            m.root,
            True,
            False,
        ),
        f"{_kind} attestation, as v0.2 with a chain": lambda m, k=_kind: (
            m.attestations[k],
            (_to_chain(V02),),
            m.root,
            True,
            True,
        ),
        f"{_kind} attestation, two signatures": lambda m, k=_kind: (
            m.attestations[k],
            (lambda d: d["dsseEnvelope"]["signatures"].extend(d["dsseEnvelope"]["signatures"]),),
            m.root,
            True,
            False,
        ),
    }


@pytest.mark.parametrize("case", LOCAL_CASES.values(), ids=LOCAL_CASES.keys())
def test_local_bundles(local: Local, case: Callable[[Local], LocalCase]) -> None:
    bundle, tampers, root, as_attestation, passes = case(local)
    data = _edit(bundle, *tampers) if tampers else bundle
    outcome = differential(data, None if as_attestation else SHA256, root, passes=passes)
    if passes:
        identity = outcome.facts[0]
        assert identity == ALICE or identity.startswith("https://github.com/octo-org/")


def test_local_changed_artifact(local: Local) -> None:
    changed = bytearray(ARTIFACT)
    changed[100] ^= 0x01
    differential(local.signature, hashlib.sha256(changed).digest(), local.root, passes=False)


def test_local_reasons(local: Local) -> None:
    # What the native verifier says for the instance's faults.
    def reason(bundle: bytes, *tampers: Tamper) -> str:
        data = _edit(bundle, *tampers) if tampers else bundle
        with pytest.raises(VerificationError) as e:
            keyless.verify_keyless(data, sha256=SHA256, trusted_root=local.root)
        return e.value.message

    assert reason(local.expired) == "certificate had expired at the signing time"
    assert reason(local.bad_sct) == "certificate's SCT does not verify against the trusted root"
    assert reason(local.signature, _swap_entry(local.other_signature)) == (
        "transparency log entry does not match the bundle"
    )
    assert reason(local.signature, _flip_signature) == "signature does not match the artifact"
    assert reason(local.signature, _flip_set).startswith(
        "transparency log entry does not verify against the trusted root (the signed entry"
    )
    assert reason(local.signature, _change_checkpoint_size).startswith(
        "transparency log entry does not verify against the trusted root (the checkpoint's"
    )


def test_local_github_claims_match(local: Local) -> None:
    outcome = differential(local.github, SHA256, local.root, passes=True)
    claims = dict(outcome.facts[2])
    assert claims["source_repository_uri"] == "https://github.com/octo-org/octo-repo"
    assert claims["source_repository_ref"] == "refs/tags/v2.0.0"
    assert claims["source_repository_visibility_at_signing"] == "private"


# -- log entry bodies, compared with sigstore-python's own body checks ---------------------------
#
# A body is in the log, so a bundle cannot carry an edited one past the inclusion proof; these
# compare the body checks alone, on bodies a log could hold, with sigstore-python's functions.


def _reference_body_check(bundle_json: bytes, sha256: bytes | None) -> bool:
    from sigstore.hashes import Hashed
    from sigstore.models import Bundle
    from sigstore.verify import verifier as reference
    from sigstore_models.common.v1 import HashAlgorithm

    sbundle = Bundle.from_json(bundle_json)
    kind = sbundle.log_entry._inner.kind_version
    hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=sha256 or b"")
    try:
        if sha256 is None and kind.kind == "dsse":
            reference._validate_dsse_v001_entry_body(sbundle)
        elif sha256 is None:
            reference._validate_hashedrekord_v002_dsse_entry_body(sbundle)
        elif kind.version == "0.0.1":
            reference._validate_hashedrekord_v001_entry_body(sbundle, hashed)
        else:
            reference._validate_hashedrekord_v002_entry_body(sbundle, hashed)
    except Exception:
        return False
    return True


def _native_body_check(bundle_json: bytes, sha256: bytes | None) -> bool:
    from sbomsign._internal.sigstore.bundle import parse_bundle

    parsed = parse_bundle(bundle_json)
    entry = rekor.parse_log_entry(parsed.tlog_entries[0])
    assert parsed.certificate is not None
    leaf = x509.load_der_x509_certificate(parsed.certificate)
    try:
        if sha256 is None:
            bodies._check_keyless_body(entry, leaf, message=None, envelope=parsed.dsse_envelope)
        else:
            bodies._check_keyless_body(
                entry, leaf, message=(parsed.signature, sha256), envelope=None
            )
    except VerificationError:
        return False
    return True


def _with_body(bundle: bytes, change: Callable[[Doc], None], **kind_version: str) -> bytes:
    doc = json.loads(bundle)
    entry = _entry(doc)
    body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
    change(body)
    entry["canonicalizedBody"] = _b64(json.dumps(body).encode())
    entry["kindVersion"].update(kind_version)
    return json.dumps(doc).encode()


def _rekor_v2_dsse(local: Local) -> bytes:
    # The attestation as Rekor v2 would log it: a hashedrekord 0.0.2 over the PAE's digest.
    # (Only its body is compared here; the bundle keeps its v1 promise to be well-formed.)
    doc = json.loads(local.attestations["cyclonedx"])
    envelope = parse_envelope(doc["dsseEnvelope"])
    body = {
        "apiVersion": "0.0.2",
        "kind": "hashedrekord",
        "spec": {
            "hashedRekordV002": {
                "data": {
                    "algorithm": "SHA2_256",
                    "digest": _b64(hashlib.sha256(envelope.pae()).digest()),
                },
                "signature": {
                    "content": _b64(envelope.signatures[0].sig),
                    "verifier": {
                        "x509Certificate": {"rawBytes": _b64(_leaf_der(doc))},
                        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    },
                },
            }
        },
    }
    entry = _entry(doc)
    entry["canonicalizedBody"] = _b64(json.dumps(body).encode())
    entry["kindVersion"] = {"kind": "hashedrekord", "version": "0.0.2"}
    return json.dumps(doc).encode()


def _spec(*path: str) -> Callable[[Doc], Doc]:
    def get(body: Doc) -> Doc:
        obj: Doc = body["spec"]
        for name in path:
            obj = obj[name]
        return obj

    return get


def _mut(get: Callable[[Doc], Doc], action: Callable[[Doc], None]) -> Callable[[Doc], None]:
    return lambda body: action(get(body))


_V001 = _spec()
_V002 = _spec("hashedRekordV002")

# name -> (which bundle, change, passes); "difference" marks a documented stricter verdict
BODY_CASES: dict[str, tuple[str, Callable[[Doc], None], bool | str]] = {
    "hashedrekord 0.0.1 as logged": ("v1", lambda b: None, True),
    "hashedrekord 0.0.1 extra member": ("v1", lambda b: b.update(extra=1), True),
    "hashedrekord 0.0.1 extra member in spec": (
        "v1",
        _mut(_V001, lambda s: s["signature"].update(extra="x")),
        True,
    ),
    "hashedrekord 0.0.1 no apiVersion": ("v1", lambda b: b.pop("apiVersion"), True),
    "hashedrekord 0.0.1 apiVersion 0.0.2": ("v1", lambda b: b.update(apiVersion="0.0.2"), False),
    "hashedrekord 0.0.1 kind dsse": ("v1", lambda b: b.update(kind="dsse"), False),
    "hashedrekord 0.0.1 digest uppercase": (
        "v1",
        _mut(_V001, lambda s: s["data"]["hash"].update(value=s["data"]["hash"]["value"].upper())),
        False,
    ),
    "hashedrekord 0.0.1 algorithm sha512": (
        "v1",
        _mut(_V001, lambda s: s["data"]["hash"].update(algorithm="sha512")),
        False,
    ),
    "hashedrekord 0.0.1 no hash": ("v1", _mut(_V001, lambda s: s["data"].pop("hash")), False),
    "hashedrekord 0.0.1 certificate PEM without its last newline": (
        "v1",
        _mut(
            _V001,
            lambda s: s["signature"]["publicKey"].update(
                content=_b64(base64.b64decode(s["signature"]["publicKey"]["content"]).rstrip())
            ),
        ),
        False,
    ),
    "dsse 0.0.1 as logged": ("dsse", lambda b: None, True),
    "dsse 0.0.1 extra member in a signature": (
        "dsse",
        _mut(_V001, lambda s: s["signatures"][0].update(extra=1)),
        True,
    ),
    "dsse 0.0.1 signatures doubled": (
        "dsse",
        _mut(_V001, lambda s: s["signatures"].extend(s["signatures"])),
        False,
    ),
    "dsse 0.0.1 no envelope hash": ("dsse", _mut(_V001, lambda s: s.pop("envelopeHash")), False),
    "dsse 0.0.1 proposed content instead of envelope hash": (
        "dsse",
        _mut(
            _V001,
            lambda s: (
                s.pop("envelopeHash"),
                s.update(proposedContent={"envelope": "{}", "verifiers": ["x"]}),
            ),
        ),
        True,
    ),
    "dsse 0.0.1 malformed proposed content": (
        "dsse",
        _mut(_V001, lambda s: s.update(proposedContent={"envelope": "{}", "verifiers": []})),
        False,
    ),
    "dsse 0.0.1 payload hash sha512": (
        "dsse",
        _mut(_V001, lambda s: s["payloadHash"].update(algorithm="sha512")),
        False,
    ),
    "dsse 0.0.1 payload hash changed": (
        "dsse",
        _mut(_V001, lambda s: s["payloadHash"].update(value="0" * 64)),
        False,
    ),
    "dsse 0.0.1 verifier changed": (
        "dsse",
        _mut(_V001, lambda s: s["signatures"][0].update(verifier=_b64(b"x"))),
        False,
    ),
    "dsse 0.0.1 apiVersion 0.1.0": ("dsse", lambda b: b.update(apiVersion="0.1.0"), "difference"),
    "hashedrekord 0.0.2 as logged": ("v2", lambda b: None, True),
    "hashedrekord 0.0.2 extra member": ("v2", lambda b: b.update(extra=1), False),
    "hashedrekord 0.0.2 extra member in data": (
        "v2",
        _mut(_V002, lambda s: s["data"].update(extra=1)),
        False,
    ),
    "hashedrekord 0.0.2 dsseV002 null": ("v2", lambda b: b["spec"].update(dsseV002=None), True),
    "hashedrekord 0.0.2 dsseV002 present": ("v2", lambda b: b["spec"].update(dsseV002={}), False),
    "hashedrekord 0.0.2 public key null": (
        "v2",
        _mut(_V002, lambda s: s["signature"]["verifier"].update(publicKey=None)),
        True,
    ),
    "hashedrekord 0.0.2 key details changed": (
        "v2",
        _mut(
            _V002, lambda s: s["signature"]["verifier"].update(keyDetails="PKIX_ECDSA_P384_SHA_384")
        ),
        False,
    ),
    "hashedrekord 0.0.2 algorithm changed": (
        "v2",
        _mut(_V002, lambda s: s["data"].update(algorithm="SHA2_384")),
        False,
    ),
    "hashedrekord 0.0.2 digest unpadded": (
        "v2",
        _mut(_V002, lambda s: s["data"].update(digest=s["data"]["digest"].rstrip("="))),
        False,
    ),
    "hashedrekord 0.0.2 apiVersion 0.0.1": ("v2", lambda b: b.update(apiVersion="0.0.1"), False),
    "hashedrekord 0.0.2 snake_case member": (
        "v2",
        lambda b: b["spec"].update(hashed_rekord_v002=b["spec"].pop("hashedRekordV002")),
        "difference",
    ),
    "dsse as hashedrekord 0.0.2 as it would be logged": ("v2-dsse", lambda b: None, True),
    "dsse as hashedrekord 0.0.2 digest of the payload": (
        "v2-dsse",
        _mut(_V002, lambda s: s["data"].update(digest=_b64(bytes(32)))),
        False,
    ),
    "dsse as hashedrekord 0.0.2 public key instead of certificate": (
        "v2-dsse",
        _mut(_V002, lambda s: s["signature"]["verifier"].update(publicKey={"rawBytes": "AA=="})),
        False,
    ),
    "dsse as hashedrekord 0.0.2 extra member in the certificate": (
        "v2-dsse",
        _mut(_V002, lambda s: s["signature"]["verifier"]["x509Certificate"].update(extra=1)),
        False,
    ),
}


@pytest.mark.parametrize(
    ("which", "change", "expected"), BODY_CASES.values(), ids=BODY_CASES.keys()
)
def test_log_entry_bodies(
    local: Local, which: str, change: Callable[[Doc], None], expected: bool | str
) -> None:
    source: dict[str, tuple[bytes, bytes | None]] = {
        "v1": (local.signature, SHA256),
        "dsse": (local.attestations["cyclonedx"], None),
        "v2": (_public(REKOR_V2), _sha256_of("staging-rekor-v2.txt")),
        "v2-dsse": (_rekor_v2_dsse(local), None),
    }
    bundle, sha256 = source[which]
    data = _with_body(bundle, change)
    ours, reference = _native_body_check(data, sha256), _reference_body_check(data, sha256)
    if expected == "difference":
        # stricter than sigstore-python, on bodies no Rekor writes (see keyless.py's NOTEs)
        assert (ours, reference) == (False, True)
    else:
        assert (ours, reference) == (expected, expected)


# -- the documented differences: stricter than sigstore-python ----------------------------------


def _root_with(root: bytes, change: Callable[[Doc], None]) -> bytes:
    doc = json.loads(root)
    change(doc)
    return json.dumps(doc).encode()


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _integrated(bundle: bytes) -> datetime:
    return datetime.fromtimestamp(int(_entry(json.loads(bundle))["integratedTime"]), UTC)


def _stricter(bundle: bytes, sha256: bytes, root: bytes, reason: str) -> None:
    ours = _outcome(keyless.verify_keyless, bundle, sha256, root)
    reference = _outcome(sigstore_reference.verify_keyless_reference, bundle, sha256, root)
    assert reference.passed, reference.reason
    assert not ours.passed and reason in ours.reason, ours.reason


def test_stricter_log_key_validity(local: Local) -> None:
    # The root says the log key stopped being valid before the entry was logged.
    end = _rfc3339(_integrated(local.signature) - timedelta(seconds=1))
    root = _root_with(local.root, lambda d: d["tlogs"][0]["publicKey"]["validFor"].update(end=end))
    _stricter(local.signature, SHA256, root, "outside its validity period")


def test_stricter_ct_key_validity(local: Local) -> None:
    sct = (
        x509.load_der_x509_certificate(_leaf_of(local.signature))
        .extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps)
        .value[0]
    )
    end = _rfc3339(sct.timestamp.replace(tzinfo=UTC) - timedelta(seconds=1))
    root = _root_with(local.root, lambda d: d["ctlogs"][0]["publicKey"]["validFor"].update(end=end))
    _stricter(local.signature, SHA256, root, "SCT is from a CT log key outside its validity")


def test_stricter_ca_validity(local: Local) -> None:
    end = _rfc3339(_integrated(local.signature) - timedelta(seconds=1))
    root = _root_with(
        local.root, lambda d: d["certificateAuthorities"][0]["validFor"].update(end=end)
    )
    _stricter(local.signature, SHA256, root, "certificate does not chain to the trusted root")


def _resign_checkpoint(
    local: Local, doc: Doc, *, size_delta: int = 0, hint: bytes | None = None
) -> None:
    proof = _entry(doc)["inclusionProof"]
    origin, size, root_hash, *_ = proof["checkpoint"]["envelope"].split("\n")
    note = f"{origin}\n{int(size) + size_delta}\n{root_hash}\n"
    key = local.instance.rekor.key
    signature = key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
    log_hint = hint if hint is not None else local.instance.rekor.log_id[:4]
    proof["checkpoint"]["envelope"] = f"{note}\n\u2014 rekor.local {_b64(log_hint + signature)}\n"


def test_stricter_checkpoint_size(local: Local) -> None:
    # A checkpoint genuinely signed by the log, for the proof's root hash but another size.
    doc = json.loads(local.signature)
    _resign_checkpoint(local, doc, size_delta=1)
    _stricter(json.dumps(doc).encode(), SHA256, local.root, "the checkpoint is for another tree")


def _relog(local: Local, doc: Doc, log_id: bytes) -> None:
    """Name another log id in the entry, with checkpoint and SET re-signed by the log."""
    entry = _entry(doc)
    entry["logId"]["keyId"] = _b64(log_id)
    _resign_checkpoint(local, doc, hint=log_id[:4])
    payload = json.dumps(
        {
            "body": entry["canonicalizedBody"],
            "integratedTime": int(entry["integratedTime"]),
            "logID": log_id.hex(),
            "logIndex": int(entry["logIndex"]),
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    entry["inclusionPromise"]["signedEntryTimestamp"] = _b64(
        local.instance.rekor.key.sign(payload, ec.ECDSA(hashes.SHA256()))
    )


def test_stricter_log_selection_by_log_id(local: Local) -> None:
    # The root lists a second log under the id the bundle names, while the entry's proofs are
    # signed by the first log's key. sigstore-python does not find that id among its keys'
    # SPKI hashes and tries every key; the native verifier checks the named log's key only.
    named = bytes(range(32))
    other = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    def add_log(d: Doc) -> None:
        log = copy.deepcopy(d["tlogs"][0])
        log["publicKey"]["rawBytes"] = _b64(other)
        log["logId"]["keyId"] = _b64(named)
        d["tlogs"].append(log)

    root = _root_with(local.root, add_log)
    doc = json.loads(local.signature)
    _relog(local, doc, named)
    _stricter(json.dumps(doc).encode(), SHA256, root, "the checkpoint's signature does not verify")
    # re-signed under the id of the log that signs, the same bundle passes with both
    _relog(local, doc, local.instance.rekor.log_id)
    differential(json.dumps(doc).encode(), SHA256, root, passes=True)
    # and an id the root does not know at all: sigstore-python tries every key; the native
    # verifier, as sigstore-go, verifies an entry only against the log it names
    _relog(local, doc, hashlib.sha256(b"unknown log").digest())
    _stricter(json.dumps(doc).encode(), SHA256, root, "lists no log with the entry's log id")


def test_stricter_rekor_v2_log_id_is_not_a_hint() -> None:
    # Rekor v2 entries carry no SET, so only the checkpoint's 4-byte key hint covers the log
    # id; sigstore-python then tries every key, sigstore-go (and the native verifier) does not.
    _stricter(_edit(_public(REKOR_V2), _flip_log_id(10)), _sha256_of("staging-rekor-v2.txt"),
              STAGING, "lists no log with the entry's log id")


# -- the native parts on their own ---------------------------------------------------------------


def test_inclusion_proofs_against_the_local_log_tree() -> None:
    tree = local_merkle.MerkleTree()
    leaves = [f"entry {i}".encode() for i in range(40)]
    for leaf in leaves:
        tree.append(local_merkle.leaf_hash(leaf))
    for size in range(1, 41):
        root = tree.root(size)
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
            assert not merkle.verify_inclusion(leaves[index] + b"x", index, size, proof, root)
            assert not merkle.verify_inclusion(leaves[index], index, size, [*proof, root], root)
            if proof:
                assert not merkle.verify_inclusion(leaves[index], index, size, proof[:-1], root)
                bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
                assert not merkle.verify_inclusion(leaves[index], index, size, bad, root)
            if index + 1 < size:
                assert not merkle.verify_inclusion(leaves[index], index + 1, size, proof, root)
        assert not merkle.verify_inclusion(leaves[0], size, size, [], root)


def test_signed_entry_timestamp_payload_is_rfc8785() -> None:
    import rfc8785

    entry = rekor.parse_log_entry(_entry(json.loads(_public(GITHUB))))
    assert entry.integrated_time is not None
    expected = rfc8785.dumps(
        {
            "body": _b64(entry.body),
            "integratedTime": entry.integrated_time,
            "logID": entry.log_id.hex(),
            "logIndex": entry.log_index,
        }
    )
    assert rekor._set_payload(entry, entry.integrated_time) == expected
    with pytest.raises(ValueError, match="canonical JSON"):
        rekor._set_payload(entry, 2**53)


def test_checkpoint_parsing() -> None:
    sig = _b64(b"hint" + b"s" * 8)
    text = f"origin - 1\n7\n{_b64(bytes(32))}\nTimestamp: 1\n\n\u2014 log {sig}\n"
    checkpoint = merkle.parse_checkpoint(text)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root_hash) == (
        "origin - 1",
        7,
        bytes(32),
    )
    assert checkpoint.note == f"origin - 1\n7\n{_b64(bytes(32))}\nTimestamp: 1\n".encode()
    assert checkpoint.signatures == (("log", b"hint", b"s" * 8),)
    for bad in (
        text.replace("\n\n", "\n"),  # no blank line
        text + "\n\n",  # two
        text.rstrip("\n"),  # signature block without its newline
        text.replace("\n7\n", "\n+7\n"),
        text.replace("\n7\n", "\n\n"),
        text.replace(sig, _b64(b"hint")),  # too short to hold a signature
        f"\n7\n{_b64(bytes(32))}\n\n\u2014 log {sig}\n",  # no origin
    ):
        with pytest.raises(ValueError):
            merkle.parse_checkpoint(bad)


def test_trusted_root_reading() -> None:
    production = trustroot.load_trusted_root(PRODUCTION)
    assert trustroot.load_trusted_root(None) == production
    assert trustroot.embedded_trusted_root(staging=True) == STAGING
    # the Ed25519 Rekor v2 logs are known by a log id that is not their key's SPKI hash
    staging = trustroot.load_trusted_root(STAGING)
    assert any(k.log_id != k.key_id for k in staging.tlog_keys)
    assert all(k.log_id == k.key_id for k in staging.ct_keys)
    assert len(staging.ct_keys) == 4  # the PKCS#1 RSA key included
    for bad in (
        b"",
        b"[]",
        b'{"mediaType": "nope"}',
        json.dumps({"mediaType": trustroot.TRUSTED_ROOT_MEDIA_TYPE, "tlogs": {}}).encode(),
        _root_with(
            PRODUCTION,
            lambda d: d["certificateAuthorities"][0].update(certChain={"certificates": []}),
        ),
    ):
        with pytest.raises(InputError, match="the trusted root is malformed"):
            trustroot.load_trusted_root(bad)
    # as sigstore-go (protobuf's JSON mapping omits empty lists), absent lists are empty
    empty = trustroot.load_trusted_root(
        json.dumps({"mediaType": trustroot.TRUSTED_ROOT_MEDIA_TYPE}).encode())
    assert not (empty.tlog_keys or empty.ct_keys or empty.certificate_authorities
                or empty.timestamp_authorities)
    # a root with no CA or no log cannot verify keyless bundles (a failure, not a usage error)
    for change in (lambda d: d.update(certificateAuthorities=[]), lambda d: d.update(tlogs=[])):
        root = _root_with(STAGING, change)
        with pytest.raises(VerificationError, match="cannot verify keyless bundles"):
            keyless.verify_keyless(
                _public(STAGING_V3), sha256=_sha256_of("bundle_v3.txt"), trusted_root=root
            )
        with pytest.raises(VerificationError, match="cannot verify keyless bundles"):
            sigstore_reference.verify_keyless_reference(
                _public(STAGING_V3), sha256=_sha256_of("bundle_v3.txt"), trusted_root=root
            )


def test_gate_verification_imports_no_sigstore_python(tmp_path: Path) -> None:
    # A fresh process verifying keyless bundles (a signature and an attestation path) and a
    # managed-key bundle's log entry must not load sigstore-python or its dependencies.
    script = f"""
import sys
from sbomsign.verify import TrustMaterial, verify_bundle
from sbomsign._internal.sigstore import keyless, trustroot
r = verify_bundle(open({str(PUBLIC / GITHUB)!r}, "rb").read(),
                  sha256={_sha256_of("bundle_v3_github.whl").hex()!r},
                  trust=TrustMaterial(), name="b")
assert r.signer.kind == "keyless"
r = verify_bundle(open({str(PUBLIC / REKOR_V2)!r}, "rb").read(),
                  sha256={_sha256_of("staging-rekor-v2.txt").hex()!r},
                  trust=TrustMaterial(trusted_root=trustroot.embedded_trusted_root(staging=True)),
                  name="b")
assert r.signer.timestamped
heavy = ("sigstore", "sigstore_models", "rekor_types", "requests", "pydantic", "tuf")
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT_DIR,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert out.stdout.strip() == "[]", out.stdout
