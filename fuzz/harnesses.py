"""Fuzz harnesses: one per parser of untrusted bytes, registered in `HARNESSES`.

Each harness takes arbitrary bytes and feeds them to one parser. The property every harness
checks is the same: the parser returns, or raises one of sbomsign's own errors
(`sbomsign.errors.Error`, which the CLI turns into a one-line message); anything else (a
`RecursionError`, an `IndexError`, a `MemoryError`, ...) escaping is a finding. The runner
(`fuzz/runner.py`) adds the per-input time and memory limits.

A new harness is one function here and one line in `HARNESSES`, plus seeds in
`fuzz/corpus/<name>/` made by `fuzz/seeds.py`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from sbomsign.errors import Error


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def go_buildinfo(data: bytes) -> None:
    """The build-info header (inline and pointer formats) and module-info recovery."""
    from sbomsign._internal.binary.detectors.golang.buildinfo import find_buildinfo
    from sbomsign._internal.binary.detectors.golang.recover import recover_from_blob

    class _Space:
        def read(self, vaddr: int, size: int) -> bytes | None:
            # The data doubles as the memory image, so pointers can land somewhere.
            return data[vaddr : vaddr + size] if 0 <= vaddr <= len(data) - size else None

    find_buildinfo(data, 0, _Space())
    recover_from_blob(data)


def go_modinfo(data: bytes) -> None:
    """The module-info text (`runtime/debug.ParseBuildInfo`)."""
    from sbomsign._internal.binary.detectors.golang.modinfo import parse_modinfo

    parse_modinfo(_text(data))


def rust_dep_v0(data: bytes) -> None:
    """cargo-auditable's zlib-compressed JSON."""
    from sbomsign._internal.binary.detectors.rust import parse_dep_v0

    parse_dep_v0(data, 0)


def elf_notes(data: bytes) -> None:
    """ELF notes in both byte orders, and package notes inside them."""
    from sbomsign._internal.binary import notes

    for order in ("little", "big"):
        for owner, ntype, desc, _ in notes.iter_elf_notes(data, order):
            if owner == notes.FDO_OWNER and ntype == notes.PACKAGE_NOTE_TYPE:
                notes.package_note(desc, ".note.package", 0)
            if owner == notes.FDO_OWNER and ntype == notes.DLOPEN_NOTE_TYPE:
                notes.dlopen_libraries(desc)


def package_note(data: bytes) -> None:
    """A package note's JSON descriptor (ELF `.note.package`, PE `.pkgnote`)."""
    from sbomsign._internal.binary import notes

    notes.package_note(data, ".pkgnote", 0)
    notes.dlopen_libraries(data)


def sbom_read(data: bytes) -> None:
    """Any SBOM document: detection, the fast JSON readers, and the libraries' readers."""
    from sbomsign import sbom

    sbom.read(data, "fuzz")


def sbom_read_library(data: bytes) -> None:
    """Any SBOM document through cyclonedx-python-lib and spdx-tools."""
    from sbomsign import sbom

    sbom.read(data, "fuzz", via_library=True)


def bundle(data: bytes) -> None:
    """A Sigstore bundle, v0.1 to v0.3."""
    from sbomsign._internal.sigstore.bundle import parse_bundle

    parse_bundle(data)


def statement(data: bytes) -> None:
    """An in-toto statement (v1 and v0.1)."""
    from sbomsign._internal.intoto import parse_statement

    parse_statement(data)


def dsse(data: bytes) -> None:
    """A DSSE envelope (JSON) and the bytes its signatures cover."""
    from sbomsign._internal import jsonbound
    from sbomsign._internal.sigstore.dsse import parse_envelope

    try:
        doc = jsonbound.loads(data)
    except ValueError:
        return  # not JSON: the bundle parser refuses it before the envelope is read
    parse_envelope(doc).pae()


class ScanEscaped(AssertionError):
    """`scan_paths` raised instead of reporting a problem: a finding."""


def binary_scan(data: bytes) -> None:
    """The whole binary scan, through the worker isolation: any bytes end as an artifact or a
    problem of the inventory, never as an exception."""
    import tempfile
    from pathlib import Path

    from sbomsign.scan import scan_paths

    with tempfile.TemporaryDirectory(prefix="sbomsign-fuzz-") as d:
        path = Path(d) / "input"
        path.write_bytes(data)
        try:
            inventory = scan_paths([str(path)], jobs=1, timeout=10)
        except Exception as e:
            raise ScanEscaped(f"{type(e).__name__}: {e}") from e
        if len(inventory.artifacts) + len(inventory.problems) != 1:
            raise ScanEscaped("the file is neither an artifact nor a problem")


class TablesDiffer(AssertionError):
    """The direct ELF reader accepted a file lief reads differently, or not at all."""


def elf_tables(data: bytes) -> None:
    """The ELF tables read without lief: for any file, the reader declines it (and lief reads
    it in the scan) or reads exactly the tables lief reads."""
    import mmap
    import tempfile
    import warnings

    from sbomsign._internal.binary import elf, elftables
    from sbomsign._internal.binary._common import check_elf_header

    if data[:4] != b"\x7fELF":
        return
    check_elf_header(data[:64], len(data))
    with mmap.mmap(-1, len(data)) as mm:
        mm.write(data)
        try:
            tables = elftables.read(mm)
        except elftables.Declined:
            return
    with tempfile.NamedTemporaryFile(prefix="sbomsign-fuzz-") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f.write(data)
        f.flush()
        try:
            liefs = elf._lief_tables(f.name)
        except Error as e:
            raise TablesDiffer(f"read a file lief refuses: {e}") from e
    if liefs != tables:
        raise TablesDiffer(f"read {tables} where lief reads {liefs}")


def trusted_root(data: bytes) -> None:
    """A Sigstore trusted root, or a client trust config holding one."""
    from sbomsign._internal.sigstore.trustroot import load_trusted_root

    load_trusted_root(data)


def checkpoint(data: bytes) -> None:
    """A signed-note checkpoint of a transparency log."""
    from sbomsign._internal.sigstore.merkle import parse_checkpoint

    try:
        parse_checkpoint(_text(data))
    except ValueError:
        pass  # the documented refusal; the callers turn it into a failed verification


def policy(data: bytes) -> None:
    """A policy document: YAML, schema, compiled rules (CEL included)."""
    from sbomsign.policy import load

    load(data, source="fuzz")


_GOLDEN = None


def _golden() -> tuple[object, str, set[tuple[bytes, bytes]]]:
    """The trust (the golden release key), the signed artifact's sha256, and every genuinely
    signed (signature, content) pair of the golden bundles."""
    global _GOLDEN
    if _GOLDEN is None:
        import hashlib
        from pathlib import Path

        from sbomsign._internal.sigstore.bundle import parse_bundle
        from sbomsign.verify import TrustMaterial

        assets = Path(__file__).resolve().parent.parent / "tests" / "assets"
        material = assets / "golden" / "material"
        trust = TrustMaterial(keys=(("release.pub", (material / "release.pub").read_bytes()),))
        sha256 = hashlib.sha256((assets / "bin" / "go-linux-loong64").read_bytes()).hexdigest()
        genuine = {_signed(parse_bundle(p.read_bytes())) for p in material.glob("*.json")}
        _GOLDEN = (trust, sha256, genuine)
    return _GOLDEN


def _signed(parsed: object) -> tuple[bytes, bytes]:
    from sbomsign._internal.sigstore.bundle import ParsedBundle

    assert isinstance(parsed, ParsedBundle)  # noqa: S101
    if parsed.message_signature is not None:
        # The content a message signature covers is the artifact's digest, which the harness
        # fixes; the bundle's own `messageDigest` is optional and only cross-checked.
        return parsed.signature, b""
    assert parsed.dsse_envelope is not None  # noqa: S101
    return parsed.signature, parsed.dsse_envelope.pae()


class ForgedVerification(AssertionError):
    """A bundle whose signed content no genuine bundle has passed verification: a finding."""


def verify_managed(data: bytes) -> None:
    """Mutated managed-key bundles: whatever passes must carry a genuine signature over
    genuine content (reformatted JSON may pass; different signed bytes never)."""
    from sbomsign._internal.sigstore.bundle import parse_bundle
    from sbomsign.verify import verify_bundle

    trust, sha256, genuine = _golden()
    verify_bundle(data, sha256=sha256, trust=trust, name="fuzz")  # type: ignore[arg-type]
    if _signed(parse_bundle(data)) not in genuine:
        raise ForgedVerification("a bundle with other signed content verified")


def image_layer(data: bytes) -> None:
    """An image layer or archive stream (any compression): the tar walker with whiteouts,
    then the package databases read from what it kept."""
    import io
    import tempfile

    from sbomsign._internal.sources import ospkg
    from sbomsign._internal.sources.streams import decompressed
    from sbomsign._internal.sources.tree import FileTree

    with tempfile.TemporaryDirectory() as work:
        tree = FileTree(work, "fuzz")
        tree.apply_tar(decompressed(io.BytesIO(data), "fuzz", cap=64 << 20), 0, "fuzz")
        for path in list(tree.entries)[:64]:
            tree.resolve(path)
        ospkg.read(tree.kept)


def package_database(data: bytes) -> None:
    """dpkg status, apk installed and rpm header blobs; Debian copyright files and the
    licence texts of package databases."""
    from sbomsign._internal.sources import licences, ospkg, rpmheader

    ospkg.read({"var/lib/dpkg/status": data, "lib/apk/db/installed": data,
                "var/lib/dpkg/status.d/x": data, "etc/os-release": data,
                "var/lib/rpmmanifest/container-manifest-2": data})
    text = _text(data)
    names, _ = licences.debian_copyright(text)
    licences.declared(names)
    licences.expression(text)
    rpmheader.parse_blob(data, "fuzz").files()


def _rpm_file(data: bytes, headers: Callable[[str, str], Iterable[bytes]]) -> None:
    import tempfile

    from sbomsign._internal.sources import rpmheader

    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        for blob in headers(f.name, "fuzz"):
            rpmheader.parse_blob(blob, "fuzz").files()


def rpm_berkeley_db(data: bytes) -> None:
    """rpm's Berkeley DB database (`var/lib/rpm/Packages`) and the headers in it."""
    from sbomsign._internal.sources import rpmbdb

    _rpm_file(data, rpmbdb.headers)


def rpm_ndb(data: bytes) -> None:
    """SUSE's rpm ndb database (`Packages.db`) and the headers in it."""
    from sbomsign._internal.sources import rpmndb

    _rpm_file(data, rpmndb.headers)


def registry_response(data: bytes) -> None:
    """What a registry serves: manifests, indexes, configs and layers (`data` split at
    `\\n--\\n` into the documents, served in the order they are asked for, each under its
    own digest so that parsing, not the digest check, is what is exercised), then the token
    service's answer."""
    import hashlib
    import io
    import tempfile

    from sbomsign._internal.sources import Expansion, Settings, images, registry
    from sbomsign._internal.sources.streams import Verifying

    parts = data.split(b"\n--\n")

    class _Served:
        asked = 0

        def open(self, digest: str, size: int | None, what: str) -> Verifying:
            part = parts[self.asked % len(parts)]
            self.asked += 1
            return Verifying(io.BytesIO(part), "sha256:" + hashlib.sha256(part).hexdigest(),
                             None, what)

        open_manifest = open

    root = {"digest": "sha256:" + hashlib.sha256(parts[0]).hexdigest()}
    with tempfile.TemporaryDirectory() as work:
        into = Expansion()
        images._read("fuzz", _Served(), root, images.Reference("fuzz"),  # noqa: SLF001
                     Settings(work), into)
        for draft in into.drafts:
            draft.finish([])
    registry.token_from(parts[-1], "fuzz")


def image_referrers(data: bytes) -> None:
    """What a store holds about an image: the referrers index, referrer manifests, bundles and
    cosign's `.sig` manifest with its simple-signing layers (`data` split at `\n--\n`; the
    first part is the index, the others are served in the order they are asked for, each under
    its own digest), then the bundle description an attachment reads."""
    import hashlib
    import io

    from sbomsign._internal.oci import legacy, referrers, store
    from sbomsign._internal.sources.streams import Verifying, json_object

    parts = data.split(b"\n--\n")

    class _Store:
        name = "fuzz"
        asked = 0

        def _next(self) -> bytes:
            part = parts[1 + self.asked % max(1, len(parts) - 1)] if len(parts) > 1 else b""
            self.asked += 1
            return part

        def referrers(self, digest: str) -> list[dict[str, object]]:
            return store.descriptors(json_object(parts[0], "fuzz"), "fuzz")

        def manifest(self, desc: object) -> bytes:
            return self._next()

        def blob(self, desc: object) -> Verifying:
            part = self._next()
            return Verifying(io.BytesIO(part), "sha256:" + hashlib.sha256(part).hexdigest(),
                             None, "fuzz")

        def find(self, reference: str) -> dict[str, object] | None:
            return {"digest": "sha256:" + "1" * 64}

    found = referrers.find(_Store(), "sha256:" + "0" * 64)  # type: ignore[arg-type]
    for _, payload, _ in found.legacy:
        try:
            legacy.signed_digest(payload)
        except Error:
            pass
    referrers.describe_bundle(parts[-1])


#: The keyless bundle the keyless harnesses start from: a public staging bundle (Fulcio
#: certificate, Rekor v1 entry with promise and proof), its artifact and trusted root.
_KEYLESS = ("bundle_v3.txt", "bundle_v3.txt.sigstore", "staging-trusted_root.json",
            ("william@yossarian.net", "https://github.com/login/oauth"))


@functools.cache
def _keyless_material() -> tuple[str, bytes, bytes]:
    """The artifact's sha256, the bundle and the trusted root: read once per process, not
    once per input."""
    import hashlib
    from pathlib import Path

    public = Path(__file__).resolve().parent.parent / "tests" / "assets" / "public-bundles"
    artifact, bundle, root, _ = _KEYLESS
    return (hashlib.sha256((public / artifact).read_bytes()).hexdigest(),
            (public / bundle).read_bytes(), (public / root).read_bytes())


def _verify_keyless(bundle: bytes, root: bytes) -> object:
    from sbomsign.verify import TrustMaterial, verify_bundle

    sha256, _, _ = _keyless_material()
    verified = verify_bundle(bundle, sha256=sha256, trust=TrustMaterial(trusted_root=root),
                             name="fuzz")
    return verified.signer


def verify_keyless(data: bytes) -> None:
    """Mutated keyless bundles against the genuine trusted root: whatever passes must carry
    the genuine signature, certificate and log entry body."""
    from sbomsign._internal.sigstore.bundle import parse_bundle

    _, genuine_bundle, root = _keyless_material()
    signer = _verify_keyless(data, root)
    mutated, genuine = parse_bundle(data), parse_bundle(genuine_bundle)
    if (signer.identity, signer.issuer) != _KEYLESS[3]:  # type: ignore[attr-defined]
        return  # another signer: the policy's identity check refuses it
    if (mutated.signature, mutated.certificate) != (genuine.signature, genuine.certificate):
        raise ForgedVerification("a keyless bundle with other signed content verified")


def verify_trusted_root(data: bytes) -> None:
    """The genuine keyless bundle against mutated trusted roots: a root that lets it pass
    must still hold the genuine Fulcio root certificate and Rekor and CT log keys, each under
    its genuine log id."""
    from sbomsign._internal.sigstore.trustroot import load_trusted_root

    _, bundle, genuine_root = _keyless_material()
    _verify_keyless(bundle, data)
    mutated, genuine = load_trusted_root(data), load_trusted_root(genuine_root)

    def keys(root: object) -> set[tuple[bytes, bytes]]:
        return {(k.key_id, k.log_id) for k in (*root.tlog_keys, *root.ct_keys)}  # type: ignore[attr-defined]

    def anchors(root: object) -> set[tuple[bytes, bytes]]:
        # What makes an anchor (as for every X.509 verifier, sigstore-go's included): its
        # name and key. Its serial number, its own signature and its other fields are not
        # checked, so a change there is no finding.
        from cryptography.hazmat.primitives import serialization

        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        return {(c.subject.public_bytes(), c.public_key().public_bytes(*spki))
                for c in (ca.certificates[-1]
                          for ca in root.certificate_authorities)}  # type: ignore[attr-defined]

    if not keys(mutated) & keys(genuine) or not anchors(mutated) & anchors(genuine):
        raise ForgedVerification("a trusted root without the genuine keys verified a bundle")


#: Every harness by name.
HARNESSES: dict[str, Callable[[bytes], None]] = {
    "go_buildinfo": go_buildinfo,
    "go_modinfo": go_modinfo,
    "rust_dep_v0": rust_dep_v0,
    "elf_notes": elf_notes,
    "package_note": package_note,
    "sbom_read": sbom_read,
    "sbom_read_library": sbom_read_library,
    "bundle": bundle,
    "dsse": dsse,
    "statement": statement,
    "trusted_root": trusted_root,
    "checkpoint": checkpoint,
    "policy": policy,
    "verify_managed": verify_managed,
    "binary_scan": binary_scan,
    "elf_tables": elf_tables,
    "image_layer": image_layer,
    "package_database": package_database,
    "rpm_berkeley_db": rpm_berkeley_db,
    "rpm_ndb": rpm_ndb,
    "registry_response": registry_response,
    "image_referrers": image_referrers,
    "verify_keyless": verify_keyless,
    "verify_trusted_root": verify_trusted_root,
}


def check(name: str, data: bytes) -> None:
    """Run harness `name` on `data`; only sbomsign's own errors may escape (and are dropped).

    Raises:
        Exception: whatever else the parser raised: a finding.
    """
    try:
        HARNESSES[name](data)
    except Error:
        pass
