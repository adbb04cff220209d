"""Make the seed corpora in `fuzz/corpus/<harness>/` from the project's real fixtures.

    .venv/bin/python fuzz/seeds.py

The seeds are committed (the fixtures they come from are described in tests/assets/README.md
and tests/assets/public-bundles/README.md); rerun this after the fixtures change.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.elf_sections import elf_sections  # noqa: E402

ASSETS = ROOT / "tests" / "assets"
BIN = ASSETS / "bin"
CORPUS = ROOT / "fuzz" / "corpus"
MAX_SEED = 64 * 1024


def _put(harness: str, data: bytes) -> None:
    d = CORPUS / harness
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha256(data).hexdigest()[:16]).write_bytes(data[:MAX_SEED])


def _section(path: Path, name: str) -> bytes | None:
    data = path.read_bytes()
    found = elf_sections(data).get(name)
    if found is None:
        return None
    offset, size = found[0], found[1]
    return data[offset : offset + size]


def _go() -> None:
    for name in ("go-linux-amd64", "go-linux-mips", "fzf-0.20.0-go1.13", "go-windows-386.exe"):
        data = (BIN / name).read_bytes()
        start = data.find(b"\xff Go buildinf:")
        if start >= 0:
            _put("go_buildinfo", data[start : start + MAX_SEED])
        begin = data.find(bytes.fromhex("3077af0c9274080241e1c107e6d618e6"))
        end = data.find(bytes.fromhex("f932433186182072008242104116d8f2"), begin + 16)
        if 0 <= begin < end:
            _put("go_modinfo", data[begin + 16 : end])


def _elf() -> None:
    for name in ("c-hello-plain", "c-hello-rust-audit", "go-linux-amd64", "libdemo.so.1"):
        for section in (".note.package", ".note.dlopen", ".note.gnu.build-id"):
            found = _section(BIN / name, section)
            if found:
                _put("elf_notes", found)
        dep = _section(BIN / name, ".dep-v0")
        if dep:
            _put("rust_dep_v0", dep)
    _put("package_note", (ASSETS / "src" / "pe-package-note.json").read_bytes())
    _put("rpm_berkeley_db", (ASSETS / "rpmdb" / "Packages").read_bytes())
    _put("rpm_ndb", (ASSETS / "rpmdb" / "sle15-bci-Packages.db").read_bytes())
    _put("package_database", (ASSETS / "rpmdb" / "container-manifest-2").read_bytes())
    # Whole binaries, the smallest of each format (the scan harness runs one process per input).
    for name in ("c-hello-plain", "pe-hello.exe", "c-hello-aarch64"):
        _put("binary_scan", (BIN / name).read_bytes())
    # Programs for two machines, a shared library, one with a RUNPATH (the small fixtures;
    # the big-endian ones are Go programs of a megabyte, covered by the differential tests).
    for name in ("c-hello-plain", "c-hello-aarch64", "libdemo.so.1", "c-usedemo-rpath"):
        _put("elf_tables", (BIN / name).read_bytes())


def _documents() -> None:
    outputs = ASSETS / "golden" / "outputs" / "sbom"
    for name in ("c-hello-plain", "libdemo.so.1"):
        for suffix in (".cdx.json", ".cdx.xml", ".spdx.json", ".spdx"):
            doc = (outputs / (name + suffix)).read_bytes()
            _put("sbom_read", doc)
            _put("sbom_read_library", doc)
    public = ASSETS / "public-bundles"
    bundles = [*(ASSETS / "golden" / "material").glob("*.sigstore.json"),
               *public.glob("*.sigstore*")]
    for path in sorted(bundles):
        raw = path.read_bytes()
        if len(raw) <= MAX_SEED:
            _put("bundle", raw)
        if path.parent.name == "material" and path.name.startswith("go-linux-loong64"):
            _put("verify_managed", raw)
        doc = json.loads(raw)
        envelope = doc.get("dsseEnvelope")
        if envelope:
            _put("statement", base64.b64decode(envelope["payload"]))
            _put("dsse", json.dumps(envelope).encode())
        for entry in doc.get("verificationMaterial", {}).get("tlogEntries", []):
            note = (entry.get("inclusionProof") or {}).get("checkpoint", {}).get("envelope")
            if note:
                _put("checkpoint", note.encode())
    for root in public.glob("*trusted_root.json"):
        _put("trusted_root", root.read_bytes())
    _put("verify_keyless", (public / "bundle_v3.txt.sigstore").read_bytes())
    _put("verify_trusted_root", (public / "staging-trusted_root.json").read_bytes())
    for policy in sorted((ROOT / "policies").glob("*.yaml")):
        _put("policy", policy.read_bytes())


def _images() -> None:
    import gzip
    import io
    import tarfile

    layout = ASSETS / "images" / "demo-oci"
    small_layers: list[bytes] = []
    for blob in sorted((layout / "blobs" / "sha256").iterdir()):
        data = blob.read_bytes()
        if data[:2] != b"\x1f\x8b":
            continue
        raw = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            for member in tar:
                if ("status.d/" in member.name or member.name.endswith("/copyright")) \
                        and member.isreg():
                    f = tar.extractfile(member)
                    if f is not None:
                        _put("package_database", f.read())
        # NOTE: a small layer made of the image's own text files, links and a whiteout.
        out = io.BytesIO()
        with tarfile.open(fileobj=io.BytesIO(raw)) as src, \
                tarfile.open(fileobj=out, mode="w") as dst:
            for member in src:
                if member.size < 4096 and len(out.getvalue()) < MAX_SEED // 2:
                    dst.addfile(member, src.extractfile(member) if member.isreg() else None)
            whiteout = tarfile.TarInfo("etc/.wh.hostname")
            dst.addfile(whiteout)
        layer = gzip.compress(out.getvalue(), mtime=0)
        _put("image_layer", layer)
        small_layers.append(layer)
    _registry_answers(layout, small_layers)


def _registry_answers(layout: Path, layers: list[bytes]) -> None:
    """The demo image as a registry serves it, in the order it is asked for: an index, the
    manifest, its config, its (shrunk) layers; and a token service's answer last."""
    blobs = layout / "blobs" / "sha256"
    index = json.loads((layout / "index.json").read_bytes())
    manifest = (blobs / index["manifests"][0]["digest"].split(":")[1]).read_bytes()
    config = (blobs / json.loads(manifest)["config"]["digest"].split(":")[1]).read_bytes()
    token = b'{"token": "registry-token", "expires_in": 300}'
    _put("registry_response", b"\n--\n".join([manifest, config, *layers, token]))
    wrapper = json.dumps({"schemaVersion": 2, "mediaType":
                          "application/vnd.oci.image.index.v1+json",
                          "manifests": [dict(index["manifests"][0], platform={
                              "os": "linux", "architecture": "loong64"})]}).encode()
    _put("registry_response", b"\n--\n".join([wrapper, manifest, config, *layers, token]))


def _spdx3() -> None:
    """SPDX 3.0.1 documents of two fixtures (the golden outputs have no SPDX 3 yet)."""
    from datetime import UTC, datetime

    from sbomsign import sbom
    from sbomsign.scan import scan_file

    when = datetime(2026, 1, 1, tzinfo=UTC)
    for name in ("c-hello-plain", "libdemo.so.1"):
        doc = sbom.write(scan_file(str(ASSETS / "bin" / name)), "spdx3-json", timestamp=when)
        _put("sbom_read", doc)
        _put("sbom_read_library", doc)


def _referrers() -> None:
    """A referrers index with a bundle referrer, and a cosign `.sig` manifest with a real
    simple-signing payload (tests/assets/cosign-legacy)."""
    bundle = (ASSETS / "cosign" / "oci-attestation.sigstore.json").read_bytes()
    subject = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
               "digest": "sha256:" + "0" * 64, "size": 2}
    bundle_desc = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                   "digest": "sha256:" + hashlib.sha256(bundle).hexdigest(),
                   "size": len(bundle)}
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                   "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(), "size": 2},
        "layers": [bundle_desc], "subject": subject,
        "annotations": {"dev.sigstore.bundle.content": "dsse-envelope"}}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + hashlib.sha256(manifest).hexdigest(), "size": len(manifest),
        "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"}]}).encode()
    legacy = ASSETS / "cosign-legacy"
    payload = (legacy / "busybox.payload.json").read_bytes()
    sig = json.dumps({"schemaVersion": 2, "layers": [{
        "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
        "digest": "sha256:" + hashlib.sha256(payload).hexdigest(), "size": len(payload),
        "annotations": {"dev.cosignproject.cosign/signature":
                        (legacy / "busybox.sig").read_text().strip()}}]}).encode()
    _put("image_referrers", b"\n--\n".join([index, manifest, bundle, sig, payload, bundle]))


def main() -> None:
    """Rewrite every seed corpus."""
    shutil.rmtree(CORPUS, ignore_errors=True)
    _go()
    _elf()
    _documents()
    _images()
    _referrers()
    _spdx3()
    for d in sorted(CORPUS.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds")


if __name__ == "__main__":
    main()
