"""Signing, attesting, verifying and copying images where they are stored.

Debian's docker-registry runs on 127.0.0.1 (it has no referrers API, so the referrers tag
schema is what sbomsign maintains there); the test images are pushed into it with `skopeo`
from the layouts `tests/images.py` builds with umoci. Every manifest sbomsign writes is
checked against the OCI image-spec schemas and cosign's bundle spec.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sbomsign._cli import main
from tests.images import build, run
from tests.loopback import docker_registry, free_port
from tests.oci_schema import validate, validate_manifest_or_index

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "tests" / "assets"
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ACCEPT = ", ".join([INDEX, MANIFEST, "application/vnd.docker.distribution.manifest.v2+json"])


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """HOST:PORT of a running registry (no authentication)."""
    with docker_registry(tmp_path_factory.mktemp("registry"), {}) as host:
        yield host


@pytest.fixture(scope="module")
def layouts() -> Path:
    """The test images' OCI layout."""
    return build(ROOT / ".cache" / "images") / "oci"


@pytest.fixture(autouse=True)
def insecure(monkeypatch: pytest.MonkeyPatch, registry: str) -> None:
    monkeypatch.setenv("SBOMSIGN_INSECURE_REGISTRIES", registry)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with release.key/.pub and other.key/.pub (unencrypted, for tests)."""
    directory = tmp_path_factory.mktemp("keys")
    for name in ("release", "other"):
        assert main(["keygen", "--no-password", "--output-prefix",
                     str(directory / name)]) == 0
    return directory


def push(layouts: Path, image: str, registry: str, repo: str) -> str:
    """Push a test image (all platforms) with skopeo to `repo` (`REPO:TAG`); the repository's
    name for sbomsign (`registry:HOST/REPO`)."""
    run("skopeo", "copy", "-q", "--all", "--dest-tls-verify=false", f"oci:{layouts}:{image}",
        f"docker://{registry}/{repo}")
    return f"registry:{registry}/{repo.split(':')[0]}"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run sbomsign in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def get(registry: str, repo: str, ref: str) -> tuple[dict[str, Any], str]:
    """A manifest or index from the registry, and its digest."""
    response = requests.get(f"http://{registry}/v2/{repo}/manifests/{ref}",
                            headers={"Accept": ACCEPT}, timeout=10)
    response.raise_for_status()
    return response.json(), "sha256:" + hashlib.sha256(response.content).hexdigest()


def referrers(registry: str, repo: str, digest: str) -> list[dict[str, Any]]:
    """The referrers tag schema's index for `digest` (docker-registry has no referrers API)."""
    index, _ = get(registry, repo, digest.replace(":", "-"))
    validate(index, "image-index-schema.json")
    return list(index["manifests"])


def check_bundle_referrer(registry: str, repo: str, entry: dict[str, Any],
                          subject: str) -> dict[str, Any]:
    """The referrer manifest an index entry names, checked against the OCI schema and
    cosign's BUNDLE_SPEC.md; returns the bundle it holds."""
    manifest, digest = get(registry, repo, entry["digest"])
    assert digest == entry["digest"]
    validate_manifest_or_index(manifest)
    assert manifest["artifactType"] == BUNDLE_TYPE == entry["artifactType"]
    assert manifest["config"] == {"mediaType": "application/vnd.oci.empty.v1+json",
                                  "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(),
                                  "size": 2}
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == BUNDLE_TYPE
    assert manifest["subject"]["digest"] == subject
    annotations = manifest["annotations"]
    assert annotations == entry["annotations"]
    assert annotations["dev.sigstore.bundle.content"] in ("dsse-envelope", "message-signature")
    assert annotations["org.opencontainers.image.created"].endswith("Z")
    blob = requests.get(f"http://{registry}/v2/{repo}/blobs/{layer['digest']}", timeout=10)
    bundle: dict[str, Any] = blob.json()
    if "dsseEnvelope" in bundle:
        statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
        assert annotations["dev.sigstore.bundle.predicateType"] == statement["predicateType"]
        assert {"sha256": subject.split(":")[1]} in [s["digest"] for s in statement["subject"]]
    return bundle


def image_policy(directory: Path, keys: Path) -> Path:
    """policies/image.yaml with the test release key beside it."""
    (directory / "keys").mkdir(parents=True, exist_ok=True)
    shutil.copy(keys / "release.pub", directory / "keys" / "release.pub")
    shutil.copy(ROOT / "policies" / "image.yaml", directory / "image.yaml")
    return directory / "image.yaml"


def report(out: str) -> dict[str, Any]:
    """The one artifact of a JSON verify report."""
    (artifact,) = json.loads(out)["artifacts"]
    return dict(artifact)


def test_sign_attest_and_verify_an_index_and_its_platforms(
    registry: str, layouts: Path, keys: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = push(layouts, "svc", registry, "team/svc:1.0")
    index, index_digest = get(registry, "team/svc", "1.0")
    key = str(keys / "release.key")
    code, _, err = cli(capsys, "sign", "--key", key, "--recursive", f"{name}:1.0")
    assert code == 0, err
    code, _, err = cli(capsys, "attest", "--key", key, "--type", "cyclonedx", "--recursive",
                       f"{name}:1.0")
    assert code == 0, err

    # cosign v3's image signature: a DSSE statement about the manifest digest, nameless
    (entry,) = referrers(registry, "team/svc", index_digest)
    bundle = check_bundle_referrer(registry, "team/svc", entry, index_digest)
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    assert statement == {"_type": "https://in-toto.io/Statement/v1",
                         "subject": [{"digest": {"sha256": index_digest.split(":")[1]}}],
                         "predicateType": "https://sigstore.dev/cosign/sign/v1",
                         "predicate": {}}
    platforms = [m["digest"] for m in index["manifests"]]
    assert len(platforms) == 3
    for digest in platforms:
        kinds = sorted(e["annotations"]["dev.sigstore.bundle.predicateType"]
                       for e in referrers(registry, "team/svc", digest))
        assert kinds == ["https://cyclonedx.org/bom", "https://sigstore.dev/cosign/sign/v1"]
        for e in referrers(registry, "team/svc", digest):
            check_bundle_referrer(registry, "team/svc", e, digest)

    # the index: signed; each platform: signed, with an SBOM of itself and hardened binaries
    code, out, err = cli(capsys, "verify", "--key", str(keys / "release.pub"), "--format",
                         "json", f"{name}:1.0")
    assert code == 0, out + err
    assert report(out)["digest"] == {"sha256": index_digest.split(":")[1]}
    policy = image_policy(tmp_path, keys)
    code, out, err = cli(capsys, "verify", "--policy", str(policy), "--format", "json",
                         f"{name}@{platforms[0]}")
    assert code == 0, out + err
    rules = {r["rule"]: r for r in report(out)["results"]}
    assert rules["sbom.describesArtifact"]["passed"]
    assert rules["binary.nx"]["passed"]
    # the gate on the tag: the index has no SBOM of its own, so the whole policy fails it...
    code, out, err = cli(capsys, "verify", "--policy", str(policy), f"{name}:1.0")
    assert code == 1 and "sbom" in out
    # ...and with --recursive the index answers for its signature, each platform for the rest
    code, out, err = cli(capsys, "verify", "--policy", str(policy), "--recursive", "--format",
                         "json", f"{name}:1.0")
    assert code == 0, out + err
    artifacts = json.loads(out)["artifacts"]
    assert [a["digest"]["sha256"] for a in artifacts] == [
        d.split(":")[1] for d in [index_digest, *platforms]]
    assert {r["rule"] for r in artifacts[0]["results"]} == {"signature"}
    for platform in artifacts[1:]:
        assert {"signature", "sbom.describesArtifact", "binary.nx"} <= {
            r["rule"] for r in platform["results"]}
    code, out, err = cli(capsys, "verify", "--key", str(keys / "release.pub"), "--recursive",
                         "--bundle", "x.json", f"{name}:1.0")
    assert code == 2 and "--recursive verifies several" in err
    # an index whose platforms were signed but only one attested fails the recursive gate
    other = push(layouts, "svc", registry, "team/half:1.0")
    assert cli(capsys, "sign", "--key", key, "--recursive", f"{other}:1.0")[0] == 0
    assert cli(capsys, "attest", "--key", key, "--type", "cyclonedx",
               f"{other}@{platforms[0]}")[0] == 0
    code, out, err = cli(capsys, "verify", "--policy", str(policy), "--recursive", "--format",
                         "json", f"{other}:1.0")
    assert code == 1, out + err
    assert [a["verdict"] for a in json.loads(out)["artifacts"]] == [
        "PASSED", "PASSED", "FAILED", "FAILED"]
    # another key's signature is no signature
    code, out, _ = cli(capsys, "verify", "--key", str(keys / "other.pub"), f"{name}:1.0")
    assert code == 1
    assert "unknown key" in out


def test_other_tools_entries_in_the_tag_schema_index_are_kept(
    registry: str, layouts: Path, keys: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    name = push(layouts, "distroless", registry, "team/kept:1.0")
    _, digest = get(registry, "team/kept", "1.0")
    # An SPDX document attached by another tool (as `oras attach` writes it).
    spdx = b'{"spdxVersion": "SPDX-2.3"}'
    base = f"http://{registry}/v2/team/kept"
    for blob in (spdx, b"{}"):
        d = "sha256:" + hashlib.sha256(blob).hexdigest()
        upload = requests.post(f"{base}/blobs/uploads/", timeout=10)
        location = requests.compat.urljoin(base + "/", upload.headers["Location"])
        requests.put(f"{location}&digest={d}", data=blob, timeout=10).raise_for_status()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST, "artifactType": "application/spdx+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                   "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(), "size": 2},
        "layers": [{"mediaType": "application/spdx+json", "size": len(spdx),
                    "digest": "sha256:" + hashlib.sha256(spdx).hexdigest()}],
        "subject": {"mediaType": MANIFEST, "digest": digest, "size": 1}}).encode()
    foreign = "sha256:" + hashlib.sha256(manifest).hexdigest()
    requests.put(f"{base}/manifests/{foreign}", data=manifest,
                 headers={"Content-Type": MANIFEST}, timeout=10).raise_for_status()
    index = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": [
        {"mediaType": MANIFEST, "digest": foreign, "size": len(manifest),
         "artifactType": "application/spdx+json"}]}).encode()
    requests.put(f"{base}/manifests/{digest.replace(':', '-')}", data=index,
                 headers={"Content-Type": INDEX}, timeout=10).raise_for_status()

    code, _, err = cli(capsys, "sign", "--key", str(keys / "release.key"), f"{name}:1.0")
    assert code == 0, err
    entries = referrers(registry, "team/kept", digest)
    assert [e["artifactType"] for e in entries] == ["application/spdx+json", BUNDLE_TYPE]
    assert entries[0]["digest"] == foreign
    code, out, err = cli(capsys, "verify", "--key", str(keys / "release.pub"), f"{name}:1.0")
    assert code == 0, out + err


def test_bad_referrers_fail_closed_each_reported(
    registry: str, layouts: Path, keys: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sbomsign import scan

    victim = push(layouts, "distroless", registry, "team/victim:1.0")
    push(layouts, "glibc", registry, "team/victim:other")
    image = scan.resolve_image(f"{victim}:1.0")
    elsewhere = scan.resolve_image(f"{victim}:other")
    release, stranger = str(keys / "release.key"), str(keys / "other.key")
    # a good signature, and: a bundle about another image, garbage, another signer's bundle
    assert main(["sign", "--key", release, f"{victim}:1.0"]) == 0
    wrong = tmp_path / "wrong.json"
    assert main(["sign", "--key", release, "--no-upload", "--bundle", str(wrong),
                 f"{victim}:other"]) == 0
    scan.attach_bundle(image, wrong.read_bytes())
    scan.attach_bundle(image, b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}')
    foreign = tmp_path / "foreign.json"
    assert main(["sign", "--key", stranger, "--no-upload", "--bundle", str(foreign),
                 f"{victim}:1.0"]) == 0
    scan.attach_bundle(image, foreign.read_bytes())
    # a referrer of the other image listed under this one
    scan.attach_bundle(elsewhere, wrong.read_bytes())
    entries = referrers(registry, "team/victim", elsewhere.digest)
    base = f"http://{registry}/v2/team/victim"
    listed = referrers(registry, "team/victim", image.digest) + entries
    index = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": listed}).encode()
    requests.put(f"{base}/manifests/{image.digest.replace(':', '-')}", data=index,
                 headers={"Content-Type": INDEX}, timeout=10).raise_for_status()

    code, out, err = cli(capsys, "verify", "--key", str(keys / "release.pub"), "--format",
                         "json", f"{victim}:1.0")
    assert code == 1, err
    failures = [r["message"] for r in report(out)["results"] if not r["passed"]]
    joined = "\n".join(failures)
    assert "another artifact" in joined
    assert "unknown key" in joined
    assert f"is attached to {elsewhere.digest}, not {image.digest}" in joined
    assert len([f for f in failures if f.startswith("could not be verified")]) >= 3
    # the good signature still counts, but the gate fails on what it could not check
    assert any(r["rule"] == "signature" and r["passed"] for r in report(out)["results"])


def test_a_moved_tag_is_verified_by_the_digest_it_points_at_now(
    registry: str, layouts: Path, keys: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    name = push(layouts, "distroless", registry, "team/moving:stable")
    _, signed = get(registry, "team/moving", "stable")
    assert main(["sign", "--key", str(keys / "release.key"), f"{name}:stable"]) == 0
    push(layouts, "glibc", registry, "team/moving:stable")
    _, now = get(registry, "team/moving", "stable")
    code, out, _ = cli(capsys, "verify", "--key", str(keys / "release.pub"), f"{name}:stable")
    assert code == 1
    assert f"{name}:stable@{now}" in out
    code, out, _ = cli(capsys, "verify", "--key", str(keys / "release.pub"), f"{name}@{signed}")
    assert code == 0, out


def test_copy_across_the_air_gap_and_back(
    registry: str, layouts: Path, keys: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = push(layouts, "svc", registry, "team/gap:1.0")
    key, pub = str(keys / "release.key"), str(keys / "release.pub")
    assert main(["sign", "--key", key, "--recursive", f"{name}:1.0"]) == 0
    assert main(["attest", "--key", key, "--type", "spdx", "--recursive", f"{name}:1.0"]) == 0
    archive = tmp_path / "carry" / "gap.tar"
    archive.parent.mkdir()
    code, out, err = cli(capsys, "copy", "--format", "json", f"{name}:1.0",
                         f"oci-archive:{archive}")
    assert code == 0, err
    copied = json.loads(out)
    # the index, 3 platform manifests, 1 + 3 signatures and 3 SBOM attestations
    assert copied["manifests"] == 11 and copied["referrers"] == 7, copied

    # the far side: an OCI layout, no registry
    layout = tmp_path / "unpacked"
    layout.mkdir()
    run("tar", "-xf", archive, "-C", layout)
    validate(json.loads((layout / "oci-layout").read_text()), "image-layout-schema.json")
    validate(json.loads((layout / "index.json").read_text()), "image-index-schema.json")
    for blob in (layout / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    platform = copied["digest"]
    code, out, err = cli(capsys, "verify", "--key", pub, f"oci-archive:{archive}:1.0")
    assert code == 0, out + err
    index = json.loads((layout / "blobs" / "sha256" / platform.split(":")[1]).read_bytes())
    amd64 = index["manifests"][0]["digest"]
    code, out, err = cli(capsys, "verify", "--key", pub, "--format", "json",
                         f"oci-dir:{layout}@{amd64}")
    assert code == 0, out + err
    kinds = {a["predicateType"] for a in report(out)["attestations"]}
    assert kinds == {"https://spdx.dev/Document/v2.3"}

    # loaded into the internal registry, and a second load sends nothing again
    code, out, err = cli(capsys, "copy", "--format", "json", f"oci-archive:{archive}:1.0",
                         f"registry:{registry}/internal/gap:1.0")
    assert code == 0, err
    assert json.loads(out)["blobs"] > 0
    code, out, err = cli(capsys, "copy", "--format", "json", f"oci-archive:{archive}:1.0",
                         f"registry:{registry}/internal/gap:1.0")
    again = json.loads(out)
    assert code == 0 and again["blobs"] == 0 and again["blobsPresent"] > 0, again
    code, out, err = cli(capsys, "verify", "--key", pub,
                         f"registry:{registry}/internal/gap@{amd64}")
    assert code == 0, out + err


def test_a_binary_pushed_as_an_artifact_is_signed_and_verified(
    registry: str, keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    binary = ASSETS / "bin" / "go-linux-loong64"
    code, out, err = cli(capsys, "push", str(binary), f"registry:{registry}/team/bin:v1",
                         "--media-type", "application/x-executable")
    assert code == 0, err
    pinned = out.strip()
    manifest, digest = get(registry, "team/bin", "v1")
    assert pinned.endswith(digest)
    validate_manifest_or_index(manifest)
    (layer,) = manifest["layers"]
    assert layer["annotations"] == {"org.opencontainers.image.title": "go-linux-loong64"}
    assert layer["digest"] == "sha256:" + hashlib.sha256(binary.read_bytes()).hexdigest()
    assert manifest["artifactType"] == "application/vnd.unknown.artifact.v1"
    assert main(["sign", "--key", str(keys / "release.key"), pinned]) == 0
    code, out, err = cli(capsys, "verify", "--key", str(keys / "release.pub"),
                         f"registry:{registry}/team/bin:v1")
    assert code == 0, out + err
    # the file inside is scanned like a file in an image, so binary rules apply to it
    from sbomsign.scan import scan_paths

    inventory = scan_paths([pinned])
    (artifact,) = inventory.artifacts
    assert artifact.path == "/go-linux-loong64" and artifact.binaries[0].arch == "loongarch64"
    policy = tmp_path / "bin.yaml"
    (tmp_path / "keys").mkdir()
    shutil.copy(keys / "release.pub", tmp_path / "keys" / "release.pub")
    policy.write_text("""\
apiVersion: sbomsign.dev/v1
kind: Policy
metadata: {name: pushed-binary}
spec:
  signers: {release: {key: {file: keys/release.pub}}}
  artifactSignature: {required: true}
  binary: {architectures: [loongarch64], static: true}
""")
    code, out, err = cli(capsys, "verify", "--policy", str(policy), "--format", "json", pinned)
    assert code == 0, out + err
    assert {r["rule"] for r in report(out)["results"]} >= {"binary.architectures",
                                                           "binary.static"}


def test_cosigns_own_image_attestation_verifies_from_a_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from sbomsign import scan

    # go-containerregistry's empty.Image, byte for byte: what cosign's test attested.
    config = (b'{"architecture":"","created":"0001-01-01T00:00:00Z","os":"",'
              b'"rootfs":{"type":"layers","diff_ids":null},"config":{}}')
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": len(config),
                   "digest": "sha256:" + hashlib.sha256(config).hexdigest()},
        "layers": []}, separators=(",", ":")).encode()
    digest = hashlib.sha256(manifest).hexdigest()
    assert digest == "732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
    layout = tmp_path / "layout"
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    for blob in (config, manifest):
        (layout / "blobs" / "sha256" / hashlib.sha256(blob).hexdigest()).write_bytes(blob)
    (layout / "index.json").write_text(json.dumps({
        "schemaVersion": 2, "mediaType": INDEX, "manifests": [{
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "digest": f"sha256:{digest}", "size": len(manifest),
            "annotations": {"org.opencontainers.image.ref.name": "tag"}}]}))
    image = scan.resolve_image(f"oci-dir:{layout}:tag")
    scan.attach_bundle(image, (ASSETS / "cosign" / "oci-attestation.sigstore.json").read_bytes())
    policy = tmp_path / "cosign.yaml"
    policy.write_text("""\
apiVersion: sbomsign.dev/v1
kind: Policy
metadata: {name: cosign-attestation}
spec:
  signers:
    cody:
      keyless: {issuer: "https://github.com/login/oauth", identity: cody@soyland.com}
  attestations:
    - type: https://cosign.sigstore.dev/attestation/v1
""")
    code, out, err = cli(capsys, "verify", "--policy", str(policy), "--trusted-root",
                         str(ASSETS / "cosign" / "trusted_root_pgi.json"), "--format", "json",
                         f"oci-dir:{layout}:tag")
    assert code == 0, out + err
    (attestation,) = report(out)["attestations"]
    assert attestation["signer"]["identity"] == "cody@soyland.com"


def test_unreachable_registry_is_one_line_exit_3(
    keys: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("SBOMSIGN_INSECURE_REGISTRIES", host)
    for argv in (["sign", "--key", str(keys / "release.key")],
                 ["verify", "--key", str(keys / "release.pub")],
                 ["copy", f"registry:{host}/team/a:1"]):
        code, _, err = cli(capsys, *argv, f"registry:{host}/team/svc:1.0")
        assert code == 3, err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and "connection refused" in lines[0].lower(), err


def test_too_many_referrers_is_refused_by_name(
    registry: str, layouts: Path, keys: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = push(layouts, "distroless", registry, "team/crowded:1.0")
    for _ in range(3):
        assert main(["sign", "--key", str(keys / "release.key"), f"{name}:1.0"]) == 0
    monkeypatch.setenv("SBOMSIGN_MAX_REFERRERS", "2")
    code, _, err = cli(capsys, "verify", "--key", str(keys / "release.pub"), f"{name}:1.0")
    assert code == 2, err
    assert "SBOMSIGN_MAX_REFERRERS" in err and "Traceback" not in err


def _legacy_layout(root: Path, image: str, signatures: list[str]) -> tuple[Path, str]:
    """An OCI layout naming `image`'s digest and holding a cosign `.sig` image whose layers
    are the `signatures` (names in tests/assets/cosign-legacy), as `cosign save` keeps them."""
    legacy = ASSETS / "cosign-legacy"
    digest = json.loads((legacy / f"{image}.payload.json").read_bytes())[
        "critical"]["image"]["docker-manifest-digest"]
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def blob(data: bytes) -> dict[str, Any]:
        hexdigest = hashlib.sha256(data).hexdigest()
        (blobs / hexdigest).write_bytes(data)
        return {"digest": f"sha256:{hexdigest}", "size": len(data)}

    layers = []
    for name in signatures:
        payload = (legacy / f"{name}.payload.json").read_bytes()
        layers.append({"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                       **blob(payload), "annotations": {
                           "dev.cosignproject.cosign/signature":
                               (legacy / f"{name}.sig").read_text().strip()}})
    config = blob(b'{"architecture":"","created":"0001-01-01T00:00:00Z","os":"",'
                  b'"rootfs":{"type":"layers","diff_ids":null},"config":{}}')
    sig = blob(json.dumps({"schemaVersion": 2, "mediaType": MANIFEST, "config": {
        "mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": layers}).encode())
    (root / "index.json").write_text(json.dumps({
        "schemaVersion": 2, "mediaType": INDEX, "manifests": [
            {"mediaType": MANIFEST, "digest": digest, "size": 1000,
             "annotations": {"org.opencontainers.image.ref.name": "image"}},
            {"mediaType": MANIFEST, **sig, "annotations": {
                "org.opencontainers.image.ref.name": digest.replace(":", "-") + ".sig"}}]}))
    return root, digest


@pytest.mark.parametrize("image", ["busybox", "suse-toolbox"])
def test_cosigns_tag_based_signatures_verify(
    image: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    layout, digest = _legacy_layout(tmp_path / "layout", image, [image])
    key = str(ASSETS / "cosign-legacy" / f"{image}.pub")
    code, out, err = cli(capsys, "verify", "--key", key, "--format", "json",
                         f"oci-dir:{layout}@{digest}")
    assert code == 0, out + err
    (signature,) = report(out)["signatures"]
    assert signature["bundle"].endswith(".sig#0")


def test_a_tag_based_signature_of_another_image_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    # SUSE's genuine signature, filed under the busybox image's `.sig` tag.
    layout, digest = _legacy_layout(tmp_path / "layout", "busybox", ["suse-toolbox"])
    key = str(ASSETS / "cosign-legacy" / "suse-toolbox.pub")
    code, out, _ = cli(capsys, "verify", "--key", key, f"oci-dir:{layout}@{digest}")
    assert code == 1
    assert "signs sha256:356631f7603526a0af827741f5fe005acf19b7ef7705a34241a91c2d47a6db5e, not " \
        f"{digest}" in out
    # and a genuine signature over a payload changed by one byte is no signature
    layout, digest = _legacy_layout(tmp_path / "changed", "busybox", ["busybox"])
    payload = (ASSETS / "cosign-legacy" / "busybox.payload.json").read_bytes()
    blob = layout / "blobs" / "sha256" / hashlib.sha256(payload).hexdigest()
    blob.write_bytes(payload.replace(b"busybox", b"busyb0x"))
    code, out, _ = cli(capsys, "verify", "--key", str(ASSETS / "cosign-legacy" / "busybox.pub"),
                       f"oci-dir:{layout}@{digest}")
    assert code == 1
    assert "does not match its digest" in out


def test_keyless_signing_of_an_image_through_a_private_instance(
    registry: str, layouts: Path, sigstore_local: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("SBOMSIGN_IDENTITY_TOKEN", "GITHUB_ACTIONS", "GITLAB_CI",
                     "ACTIONS_ID_TOKEN_REQUEST_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", sigstore_local.email_token("alice@example.com"))
    name = push(layouts, "distroless", registry, "team/keyless:1.0")
    config = str(sigstore_local.trust_config_path)
    code, _, err = cli(capsys, "sign", "--trust-config", config, f"{name}:1.0")
    assert code == 0, err
    code, _, err = cli(capsys, "attest", "--trust-config", config, "--type", "cyclonedx",
                       f"{name}:1.0")
    assert code == 0, err
    _, digest = get(registry, "team/keyless", "1.0")
    for entry in referrers(registry, "team/keyless", digest):
        bundle = check_bundle_referrer(registry, "team/keyless", entry, digest)
        assert bundle["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"] == "dsse"
    root = str(sigstore_local.trusted_root_path)
    identity = ["--certificate-identity", "alice@example.com", "--certificate-oidc-issuer",
                sigstore_local.issuer, "--trusted-root", root]
    code, out, err = cli(capsys, "verify", *identity, "--format", "json", f"{name}:1.0")
    assert code == 0, out + err
    assert report(out)["signatures"][0]["signer"]["identity"] == "alice@example.com"
    identity[1] = "mallory@example.com"
    code, out, _ = cli(capsys, "verify", *identity, f"{name}:1.0")
    assert code == 1


class _Proxy:
    """A forwarding proxy on 127.0.0.1 in front of the registry that answers 500 to the
    manifest PUTs `fail` picks (a registry failing in the middle of a push)."""

    def __init__(self, upstream: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.fail: Any = lambda path: False
        self.cut: Any = lambda path: False
        """GETs whose answer stops halfway, the connection closed (a dropped transfer)."""
        self.seen: list[tuple[str, str]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                proxy.seen.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.command == "PUT" and "/manifests/" in self.path and proxy.fail(
                        self.path):
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length")}
                answer = requests.request(self.command, f"http://{upstream}{self.path}",
                                          data=body, headers=headers, timeout=10,
                                          allow_redirects=False)
                self.send_response(answer.status_code)
                for k, v in answer.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v.replace(upstream, proxy.host))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                if self.command == "GET" and proxy.cut(self.path):
                    self.wfile.write(answer.content[: len(answer.content) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if self.command != "HEAD":
                    self.wfile.write(answer.content)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = _forward  # noqa: N815

            def log_message(self, *_: Any) -> None:
                pass

        import threading

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_push_that_fails_halfway_leaves_nothing_referenced(
    registry: str, layouts: Path, keys: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    push(layouts, "distroless", registry, "team/halfway:1.0")
    _, digest = get(registry, "team/halfway", "1.0")
    proxy = _Proxy(registry)
    monkeypatch.setenv("SBOMSIGN_INSECURE_REGISTRIES", proxy.host)
    name = f"registry:{proxy.host}/team/halfway:1.0"
    key = str(keys / "release.key")
    try:
        # the referrer manifest is refused: no index names anything
        proxy.fail = lambda path: "/manifests/sha256:" in path
        code, _, err = cli(capsys, "sign", "--key", key, name)
        assert code == 3 and "HTTP 500" in err and len(err.strip().splitlines()) == 1, err
        missing = requests.get(f"http://{registry}/v2/team/halfway/manifests/"
                               f"{digest.replace(':', '-')}", timeout=10)
        assert missing.status_code == 404
        # the manifest is stored but the index update is refused: still nothing referenced
        proxy.fail = lambda path: "/manifests/sha256-" in path
        code, _, err = cli(capsys, "sign", "--key", key, name)
        assert code == 3, err
        missing = requests.get(f"http://{registry}/v2/team/halfway/manifests/"
                               f"{digest.replace(':', '-')}", timeout=10)
        assert missing.status_code == 404
        # the next run completes, and the index names exactly its bundle
        proxy.fail = lambda path: False
        code, _, err = cli(capsys, "sign", "--key", key, name)
        assert code == 0, err
        (entry,) = referrers(registry, "team/halfway", digest)
        check_bundle_referrer(registry, "team/halfway", entry, digest)
        code, out, err = cli(capsys, "verify", "--key", str(keys / "release.pub"), name)
        assert code == 0, out + err
    finally:
        proxy.server.shutdown()


def test_a_corrupted_blob_is_never_copied(
    registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    layout = tmp_path / "layout"
    shutil.copytree(ASSETS / "images" / "demo-oci", layout)
    blobs = layout / "blobs" / "sha256"
    biggest = max(blobs.iterdir(), key=lambda p: p.stat().st_size)
    data = bytearray(biggest.read_bytes())
    data[1000] ^= 1
    biggest.chmod(0o644)
    biggest.write_bytes(bytes(data))
    code, _, err = cli(capsys, "copy", f"oci-dir:{layout}:1.0",
                       f"registry:{registry}/team/corrupt:1.0")
    assert code == 2 and f"@sha256:{biggest.name}: content does not match its digest" in err
    assert len(err.strip().splitlines()) == 1, err
    base = f"http://{registry}/v2/team/corrupt"
    assert requests.get(f"{base}/manifests/1.0", timeout=10).status_code == 404
    assert requests.head(f"{base}/blobs/sha256:{biggest.name}", timeout=10).status_code == 404


def test_an_enormous_attached_bundle_is_refused_unread(
    registry: str, layouts: Path, keys: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = push(layouts, "distroless", registry, "team/enormous:1.0")
    assert main(["sign", "--key", str(keys / "release.key"), f"{name}:1.0"]) == 0
    monkeypatch.setenv("SBOMSIGN_MAX_INPUT_BYTES", "512")
    code, out, _ = cli(capsys, "verify", "--key", str(keys / "release.pub"), "--format", "json",
                       f"{name}:1.0")
    assert code == 1
    (failure,) = report(out)["failures"]
    assert "over the 512-byte limit (raise it with SBOMSIGN_MAX_INPUT_BYTES)" in failure["reason"]


@pytest.mark.parametrize("kind", ["cyclonedx", "spdx"])
def test_coverage_of_an_image_by_its_attested_sbom(
    kind: str, layouts: Path, keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    image = f"oci-dir:{tmp_path / 'image'}:1.0"
    assert main(["copy", f"oci-dir:{layouts}:glibc", image]) == 0
    key = str(keys / "release.key")
    assert main(["sign", "--key", key, image]) == 0
    assert main(["attest", "--key", key, "--type", kind, image]) == 0
    policy = image_policy(tmp_path, keys)
    policy.write_text(policy.read_text().replace("describesArtifact: true",
                                                 "describesArtifact: true\n    coversBinary: true"))
    code, out, err = cli(capsys, "verify", "--policy", str(policy), "--format", "json", image)
    assert code == 0, out + err
    rules = {r["rule"]: r for r in report(out)["results"]}
    assert rules["sbom.coversBinary"]["passed"], rules["sbom.coversBinary"]

    # an SBOM of this image without one of the Go modules of its Go program
    fmt = "cyclonedx-json" if kind == "cyclonedx" else "spdx-json"
    document = tmp_path / "partial.json"
    assert main(["sbom", image, "--format", fmt, "-o", str(document)]) == 0
    doc = json.loads(document.read_text())
    module = "example.com/lib/strutil"
    if kind == "cyclonedx":
        doc["components"] = [c for c in doc["components"] if c["name"] != module]
    else:
        doc["packages"] = [p for p in doc["packages"] if p["name"] != module]
    document.write_text(json.dumps(doc))
    other = f"oci-dir:{tmp_path / 'other'}:1.0"
    assert main(["copy", f"oci-dir:{layouts}:glibc", other]) == 0
    assert main(["sign", "--key", key, other]) == 0
    assert main(["attest", "--key", key, "--type", kind, "--predicate", str(document),
                 other]) == 0
    code, out, _ = cli(capsys, "verify", "--policy", str(policy), "--format", "json", other)
    assert code == 1
    rules = {r["rule"]: r for r in report(out)["results"]}
    assert not rules["sbom.coversBinary"]["passed"]
    assert module in rules["sbom.coversBinary"]["message"]


def test_cosigns_tag_based_attestations_verify_and_travel(
    layouts: Path, keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    # The `.att` shape of cosign before the bundle format: a DSSE envelope per layer.
    image = f"oci-dir:{tmp_path / 'image'}:1.0"
    assert main(["copy", f"oci-dir:{layouts}:distroless", image]) == 0
    made = tmp_path / "sbom.json"
    assert main(["attest", "--key", str(keys / "release.key"), "--type", "cyclonedx",
                 "--no-upload", "--bundle", str(made), image]) == 0
    envelope = json.loads(made.read_text())["dsseEnvelope"]
    blob = json.dumps({"payloadType": envelope["payloadType"], "payload": envelope["payload"],
                       "signatures": [{"keyid": "", "sig": envelope["signatures"][0]["sig"]}]})
    layout = tmp_path / "image"
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"]

    def put(data: bytes) -> dict[str, Any]:
        hexdigest = hashlib.sha256(data).hexdigest()
        (layout / "blobs" / "sha256" / hexdigest).write_bytes(data)
        return {"digest": f"sha256:{hexdigest}", "size": len(data)}

    att = put(json.dumps({"schemaVersion": 2, "mediaType": MANIFEST, "config": {
        "mediaType": "application/vnd.oci.image.config.v1+json", **put(b"{}")},
        "layers": [{"mediaType": "application/vnd.dsse.envelope.v1+json",
                    **put(blob.encode()), "annotations": {
                        "predicateType": "https://cyclonedx.org/bom"}}]}).encode())
    index["manifests"].append({"mediaType": MANIFEST, **att, "annotations": {
        "org.opencontainers.image.ref.name": digest.replace(":", "-") + ".att"}})
    (layout / "index.json").write_text(json.dumps(index))
    assert main(["sign", "--key", str(keys / "release.key"), image]) == 0
    policy = image_policy(tmp_path, keys)
    code, out, err = cli(capsys, "verify", "--policy", str(policy), "--format", "json", image)
    assert code == 0, out + err
    (attestation,) = report(out)["attestations"]
    assert attestation["bundle"].endswith(".att#0")
    # copied with the image, under its tag
    archive = tmp_path / "carried.tar"
    assert main(["copy", image, f"oci-archive:{archive}"]) == 0
    code, out, err = cli(capsys, "verify", "--policy", str(policy), f"oci-archive:{archive}:1.0")
    assert code == 0, out + err
    # the same envelope under another image's tag is about another artifact
    other = f"oci-dir:{tmp_path / 'other'}:1.0"
    assert main(["copy", f"oci-dir:{layouts}:glibc", other]) == 0
    other_index = json.loads((tmp_path / "other" / "index.json").read_text())
    other_digest = other_index["manifests"][0]["digest"]
    shutil.copytree(layout / "blobs", tmp_path / "other" / "blobs", dirs_exist_ok=True)
    other_index["manifests"].append({"mediaType": MANIFEST, **att, "annotations": {
        "org.opencontainers.image.ref.name": other_digest.replace(":", "-") + ".att"}})
    (tmp_path / "other" / "index.json").write_text(json.dumps(other_index))
    code, out, _ = cli(capsys, "verify", "--key", str(keys / "release.pub"), other)
    assert code == 1 and "another artifact" in out


def test_promoting_within_a_registry_mounts_blobs(
    registry: str, layouts: Path, keys: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = push(layouts, "svc", registry, "team/dev:1.0")
    assert main(["sign", "--key", str(keys / "release.key"), "--recursive", f"{name}:1.0"]) == 0
    proxy = _Proxy(registry)
    monkeypatch.setenv("SBOMSIGN_INSECURE_REGISTRIES", f"{registry},{proxy.host}")
    try:
        code, out, err = cli(capsys, "copy", "--format", "json",
                             f"registry:{proxy.host}/team/dev:1.0",
                             f"registry:{proxy.host}/team/prod:1.0")
    finally:
        proxy.server.shutdown()
    assert code == 0, err
    copied = json.loads(out)
    assert copied["referrers"] == 4 and copied["blobs"] > 0
    # the registry linked the blobs: no blob was read from dev or uploaded to prod
    assert not [p for m, p in proxy.seen if m == "GET" and "/blobs/" in p]
    assert not [p for m, p in proxy.seen if m == "PUT" and "/blobs/uploads/" in p]
    assert len([p for m, p in proxy.seen if m == "POST" and "mount=" in p]) == copied["blobs"]
    # every blob is in the new repository, readable and whole
    for digest in [copied["digest"]]:
        index, _ = get(registry, "team/prod", digest)
        for entry in index["manifests"]:
            manifest, _ = get(registry, "team/prod", entry["digest"])
            for layer in manifest["layers"]:
                blob = requests.get(f"http://{registry}/v2/team/prod/blobs/{layer['digest']}",
                                    timeout=30)
                assert "sha256:" + hashlib.sha256(blob.content).hexdigest() == layer["digest"]
    code, out, err = cli(capsys, "verify", "--key", str(keys / "release.pub"),
                         f"registry:{registry}/team/prod:1.0")
    assert code == 0, out + err


def test_a_registry_with_the_referrers_api_lists_them_itself(
    keys: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.oci_registry import oci_registry

    with oci_registry(page_size=1) as served:
        monkeypatch.setenv("SBOMSIGN_INSECURE_REGISTRIES", served.host)
        name = f"registry:{served.host}/team/api"
        assert main(["copy", f"oci-dir:{ASSETS / 'images' / 'demo-oci'}:1.0",
                     f"{name}:1.0"]) == 0
        key = str(keys / "release.key")
        assert main(["sign", "--key", key, f"{name}:1.0"]) == 0
        for kind in ("cyclonedx", "spdx"):
            assert main(["attest", "--key", key, "--type", kind, f"{name}:1.0"]) == 0
        repo = served.repos["team/api"]
        # the registry indexed the referrers (it said so with OCI-Subject): no tag schema
        assert list(repo.tags) == ["1.0"]
        (subject,) = repo.referrers
        assert len(repo.referrers[subject]) == 3
        served.requests.clear()
        code, out, err = cli(capsys, "verify", "--key", str(keys / "release.pub"), "--format",
                             "json", f"{name}:1.0")
        assert code == 0, out + err
        assert len(report(out)["attestations"]) == 2
        # read through the API, page by page (one descriptor a page)
        pages = [p for m, p in served.requests if m == "GET" and "/referrers/" in p]
        assert len(pages) == 3
        monkeypatch.setenv("SBOMSIGN_MAX_REFERRERS", "2")
        code, _, err = cli(capsys, "verify", "--key", str(keys / "release.pub"), f"{name}:1.0")
        assert code == 2 and "SBOMSIGN_MAX_REFERRERS" in err


def test_a_docker_save_archive_is_named_as_unsignable(
    layouts: Path, keys: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    archive = layouts.parent / "glibc.docker.tar"
    for argv in (["sign", "--key", str(keys / "release.key")],
                 ["verify", "--key", str(keys / "release.pub")]):
        code, _, err = cli(capsys, *argv, f"docker-archive:{archive}")
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert "no place for signatures" in err and "oci-archive:" in err


@pytest.mark.parametrize("status", [405, 400])
def test_a_registry_that_answers_the_referrers_api_otherwise_than_404(
    status: int, keys: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Some registries without the API answer 400 or 405 for its path: the tag schema then.
    from tests.oci_registry import oci_registry

    with oci_registry(no_api_status=status) as served:
        monkeypatch.setenv("SBOMSIGN_INSECURE_REGISTRIES", served.host)
        name = f"registry:{served.host}/team/noapi"
        assert main(["copy", f"oci-dir:{ASSETS / 'images' / 'demo-oci'}:1.0",
                     f"{name}:1.0"]) == 0
        assert main(["sign", "--key", str(keys / "release.key"), f"{name}:1.0"]) == 0
        repo = served.repos["team/noapi"]
        assert [t for t in repo.tags if t.startswith("sha256-")], repo.tags
        code, out, err = cli(capsys, "verify", "--key", str(keys / "release.pub"),
                             f"{name}:1.0")
        assert code == 0, out + err


def test_a_transfer_dropped_mid_blob_fails_cleanly_and_resumes(
    registry: str, layouts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    push(layouts, "glibc", registry, "team/dropped:1.0")
    proxy = _Proxy(registry)
    monkeypatch.setenv("SBOMSIGN_INSECURE_REGISTRIES", f"{registry},{proxy.host}")
    destination = tmp_path / "carried"
    try:
        proxy.cut = lambda path: "/blobs/sha256:" in path
        code, _, err = cli(capsys, "copy", f"registry:{proxy.host}/team/dropped:1.0",
                           f"oci-dir:{destination}:1.0")
        assert code == 3 and len(err.strip().splitlines()) == 1, err
        assert "the connection closed mid-transfer" in err
        assert "Traceback" not in err
        # nothing references what is missing: the layout names no image yet
        index = json.loads((destination / "index.json").read_text())
        assert index["manifests"] == []
        proxy.cut = lambda path: False
        code, out, err = cli(capsys, "copy", "--format", "json",
                             f"registry:{proxy.host}/team/dropped:1.0",
                             f"oci-dir:{destination}:1.0")
        assert code == 0, err
    finally:
        proxy.server.shutdown()
    from sbomsign.scan import scan_paths

    inventory = scan_paths([f"oci-dir:{destination}:1.0"])
    assert not inventory.problems and inventory.containers
