"""`sbomsign verify`: the gate — signatures, attestations and a policy, offline, fail closed."""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sbomsign._cli import env_default
from sbomsign._cli._images import is_image
from sbomsign._cli._output import atomic_write, emit, read_bounded
from sbomsign._cli._shared import BUNDLE_SUFFIX, add_registry_options, registry_options
from sbomsign._cli._verify_reports import Outcome, ReportFormat, render, vsa_statement
from sbomsign.errors import EXIT_FAILURE, EXIT_OK, Error, InputError

if TYPE_CHECKING:
    from sbomsign.models import Artifact, Inventory, StoredImage
    from sbomsign.policy import Policy
    from sbomsign.verify import ArtifactEvidence, TrustMaterial

logger = logging.getLogger("sbomsign")

_DIGEST = re.compile(r"(sha256):([0-9a-f]{64})|(sha512):([0-9a-f]{128})")


def register(parser: argparse.ArgumentParser) -> None:
    """Add `verify`'s arguments."""
    parser.add_argument(
        "artifacts",
        nargs="+",
        metavar="ARTIFACT",
        help="a file; an image (registry:HOST/REPO:TAG, oci-dir:DIR[:TAG], "
        "oci-archive:FILE[:TAG]), whose attached bundles are read; or sha256:<64 hex> (or "
        "sha512:<128 hex>) to verify a digest without the file",
    )
    parser.add_argument(
        "--policy",
        metavar="FILE",
        default=env_default("policy"),
        help="policy YAML (see policies/)",
    )
    parser.add_argument(
        "--bundle",
        metavar="FILE",
        help="the artifact's signature bundle (default: <artifact>.sigstore.json)",
    )
    parser.add_argument(
        "--attestation",
        metavar="FILE",
        action="append",
        default=[],
        help="an attestation bundle (repeatable; default: "
        "<artifact>.*.sigstore.json beside the artifact)",
    )
    parser.add_argument(
        "--key",
        metavar="PUBKEY",
        action="append",
        default=[],
        help="a managed public key (PEM) that may sign (repeatable)",
    )
    ident = parser.add_mutually_exclusive_group()
    ident.add_argument(
        "--certificate-identity",
        metavar="ID",
        help="keyless: the exact signer identity (email or URI)",
    )
    ident.add_argument(
        "--certificate-identity-regexp",
        metavar="RE",
        help="keyless: a regular expression the signer identity must match",
    )
    parser.add_argument(
        "--certificate-oidc-issuer",
        metavar="URL",
        help="keyless: the OIDC issuer of the signer identity",
    )
    parser.add_argument(
        "--trusted-root",
        metavar="FILE",
        default=env_default("trusted_root"),
        help="Sigstore trusted_root.json of a private instance "
        "(default: the production root shipped with sigstore)",
    )
    parser.add_argument(
        "--tlog-threshold",
        type=_count(1),
        default=env_default("tlog_threshold"),
        metavar="N",
        help="keyless: transparency-log entries required, 0 or 1 (default: the policy's "
        "verification.tlogThreshold, else 1; 0 for GitHub's instance for private "
        "repositories, which logs nothing)",
    )
    parser.add_argument(
        "--timestamp-threshold",
        type=_count(32),
        default=env_default("timestamp_threshold"),
        metavar="N",
        help="keyless: verified RFC 3161 timestamps required (default: the policy's "
        "verification.timestampThreshold, else 0)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        default=True,
        help="never use the network (the default; accepted for compatibility)",
    )
    parser.add_argument(
        "--format",
        action="append",
        choices=[f.value for f in ReportFormat],
        help="report format (repeatable, each paired with the -o at the same place; one "
        "format may go to stdout): text (default), json, sarif, junit, gitlab-codequality",
    )
    parser.add_argument("-o", "--output", action="append", metavar="FILE",
                        help="write the report of the matching --format to FILE (repeatable)")
    parser.add_argument(
        "--vsa",
        metavar="FILE",
        help="also write a signed SLSA verification summary attestation bundle",
    )
    parser.add_argument(
        "--vsa-key", metavar="KEY", help="managed key that signs the VSA (default: keyless)"
    )
    parser.add_argument(
        "--identity-token", metavar="TOKEN", help="OIDC token for signing the VSA keyless"
    )
    parser.add_argument(
        "--trust-config",
        metavar="FILE",
        help="Sigstore client trust config for signing the VSA keyless",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --vsa file")
    images = add_registry_options(parser)
    images.add_argument(
        "--recursive", action="store_true",
        help="images: an index and each of its platform manifests, each verified as its own "
             "artifact (as `sign --recursive` and `attest --recursive` made them)")


@dataclass
class _Target:
    """One artifact to verify and the files that belong to it."""

    label: str
    path: Path | None
    sha256: str = ""
    bundles: list[Path] = field(default_factory=list)
    artifact: Artifact | None = None
    given_bundle: Path | None = None
    """The `--bundle` named for this artifact."""
    sha512: str = ""
    image: StoredImage | None = None
    stored: list[tuple[str, bytes]] = field(default_factory=list)
    """Bundles attached to the image in its store: (name, bytes)."""
    stored_failures: list[tuple[str, str]] = field(default_factory=list)
    legacy: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    """cosign's tag-based signatures: (name, simple-signing payload, bundle)."""
    families: tuple[str, ...] | None = None
    """The policy's rule families that apply (None: all)."""


def _image_targets(args: argparse.Namespace, given: str) -> list[_Target]:
    """An image pinned to its digest (its tag read once), with the bundles attached to it;
    with `--recursive`, an index's platform manifests after it."""
    from sbomsign import scan

    image = scan.resolve_image(given, **registry_options(args))
    # The report names the digest that was checked, also when the image was named by tag.
    label = given if given.endswith(image.digest) else f"{given}@{image.digest}"
    targets = [_stored_target(args, image, label)]
    if args.recursive:
        platforms = scan.image_platforms(image, **registry_options(args))
        if platforms:
            # NOTE: an index holds no files; its platforms answer for their contents
            # (attestations, SBOMs, binaries), each as its own artifact, and the index for
            # its signature. Without --recursive the whole policy applies to the index.
            targets[0].families = ("signatures",)
        targets.extend(_stored_target(args, platform, platform.pinned) for platform in platforms)
    return targets


def _stored_target(args: argparse.Namespace, image: StoredImage, label: str) -> _Target:
    from sbomsign import scan

    found = scan.attached_bundles(image, **registry_options(args))
    logger.info("%s: %d attached bundles, %d legacy signatures", label, len(found.bundles),
                len(found.legacy))
    return _Target(label=label, path=None, sha256=image.sha256, image=image,
                   stored=found.bundles, stored_failures=found.failures, legacy=found.legacy)


def _read(path: Path, what: str) -> bytes:
    try:
        return read_bounded(path)
    except OSError as e:
        raise InputError(f"{path}: cannot read {what}: {e.strerror or e}") from e


def _count(most: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isdigit() or int(text) > most:
            raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {most}")
        return int(text)

    return parse


def _first(*values: int | None) -> int:
    return next(v for v in values if v is not None)


def _check_target_args(args: argparse.Namespace) -> None:
    if args.bundle and len(args.artifacts) > 1:
        raise InputError("--bundle names one artifact's bundle: give one ARTIFACT with it")
    if args.attestation and len(args.artifacts) > 1:
        raise InputError("--attestation belongs to one artifact: give one ARTIFACT with it")
    if args.recursive and not all(is_image(given) for given in args.artifacts):
        raise InputError("--recursive is for images: an index and its platform manifests")
    if args.recursive and (args.bundle or args.attestation):
        raise InputError("--bundle and --attestation name one artifact's bundles; --recursive "
                         "verifies several: leave them out (the bundles are attached)")


def _file_target(args: argparse.Namespace, given: str) -> _Target:
    """A file, hashed with sha256 and sha512, with the bundles beside it."""
    from sbomsign.sign import file_digests

    path = Path(given)
    try:
        # sha512 too: npm provenance names an artifact by sha512 only.
        with open(path, "rb") as f:
            digests = file_digests(f)
    except OSError as e:
        raise InputError(f"{given}: cannot read the artifact: {e.strerror or e}") from e
    t = _Target(label=given, path=path, sha256=digests.sha256, sha512=digests.sha512)
    sig = path.with_name(path.name + BUNDLE_SUFFIX)
    if not args.bundle and sig.is_file():
        t.bundles.append(sig)
    if not args.attestation:
        t.bundles.extend(_attestations_beside(path))
    return t


def _targets(args: argparse.Namespace) -> list[_Target]:
    """Resolve artifacts and their bundles; digest files in one streaming pass each."""
    _check_target_args(args)
    targets: list[_Target] = []
    for given in args.artifacts:
        m = _DIGEST.fullmatch(given)
        if is_image(given):
            found = _image_targets(args, given)
            targets.extend(found[:-1])
            t = found[-1]
        elif m:
            t = _Target(label=given, path=None, sha256=m.group(2) or "", sha512=m.group(4) or "")
        else:
            t = _file_target(args, given)
        if args.bundle:
            t.given_bundle = Path(args.bundle)
            t.bundles.insert(0, t.given_bundle)
        t.bundles.extend(Path(a) for a in args.attestation)
        targets.append(t)
    return targets


_TYPE_PART = re.compile(r"[A-Za-z0-9_-]+")


def _attestations_beside(path: Path) -> list[Path]:
    """`<artifact>.<type>.sigstore.json` files next to the artifact, sorted.

    `<type>` is one word, as `attest` names it; `svc.exe.sigstore.json` is the signature of the
    neighbouring `svc.exe`, not an attestation about `svc`.
    """
    prefix, suffix = path.name + ".", BUNDLE_SUFFIX
    found: list[Path] = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return found
    for p in entries:
        name = p.name
        if not (name.startswith(prefix) and name.endswith(suffix)):
            continue
        middle = name[len(prefix) : -len(suffix)]
        if _TYPE_PART.fullmatch(middle) and not (path.parent / f"{path.name}.{middle}").exists():
            found.append(p)
    return sorted(found)


def _policy(args: argparse.Namespace) -> Policy:
    from sbomsign import policy as policy_mod

    if args.policy:
        source = Path(args.policy)
        pol = policy_mod.load(_read(source, "the policy"), source=str(source))
        keys: dict[str, bytes] = {}
        for rel in pol.key_files():
            keys[rel] = _read((source.parent / rel), "a policy key")
        if keys:
            pol = pol.with_keys(keys)
        if args.certificate_identity or args.certificate_identity_regexp or args.key:
            raise InputError(
                "--policy names the allowed signers: do not combine it with "
                "--key or --certificate-identity*"
            )
        return pol
    return policy_mod.from_flags(
        identity=args.certificate_identity,
        identity_regexp=args.certificate_identity_regexp,
        issuer=args.certificate_oidc_issuer,
        keys=list(args.key),
    )


def _trust(args: argparse.Namespace, pol: Policy) -> TrustMaterial:
    from sbomsign.verify import TrustMaterial, check_trust

    root = _read(Path(args.trusted_root), "the trusted root") if args.trusted_root else None
    keys = [(k, _read(Path(k), "the public key")) for k in args.key]
    keys.extend(pol.keys())
    # Flags (or their SBOMSIGN_* variables) override the policy, which overrides the defaults.
    tlog, timestamps = pol.thresholds()
    trust = TrustMaterial(
        trusted_root=root, keys=tuple(keys),
        tlog_threshold=_first(args.tlog_threshold, tlog, 1),
        timestamp_threshold=_first(args.timestamp_threshold, timestamps, 0))
    if root is not None:
        try:
            check_trust(trust)
        except InputError as e:
            raise InputError(f"{args.trusted_root}: {e.message}") from e
    return trust


@dataclass
class _Collected:
    signatures: list[Any] = field(default_factory=list)
    attestations: list[Any] = field(default_factory=list)
    failures: list[Any] = field(default_factory=list)


def _check(t: _Target, name: str, data: bytes, trust: TrustMaterial, into: _Collected, *,
           given: bool) -> None:
    """Verify one bundle for `t` and file the result (or the failure) in `into`."""
    from sbomsign import verify
    from sbomsign.sign import PREDICATE_COSIGN_SIGN

    try:
        result = verify.verify_bundle(data, sha256=t.sha256, trust=trust, name=name,
                                      digests={"sha512": t.sha512} if t.sha512 else None)
    except Error as e:
        # NOTE: the verifier names the bundle in its message; the report names it.
        into.failures.append(verify.BundleFailure(name, e.about(name)))
        return
    if isinstance(result, verify.VerifiedSignature):
        into.signatures.append(result)
        return
    if result.predicate_type == PREDICATE_COSIGN_SIGN:
        # cosign v3 signs an image as this statement about its manifest digest.
        into.signatures.append(verify.VerifiedSignature(result.bundle, result.signer,
                                                        t.sha256))
        return
    into.attestations.append(result)
    if given:
        # As `sigstore verify identity` and cosign: a DSSE bundle given as the artifact's
        # bundle signs the artifact when its statement's subject carries its digest (the
        # verifier has just checked that it does).
        into.signatures.append(verify.VerifiedSignature(result.bundle, result.signer,
                                                        t.sha256))


def _evidence(t: _Target, trust: TrustMaterial) -> ArtifactEvidence:
    from sbomsign import verify

    into = _Collected()
    for path in t.bundles:
        try:
            documents = verify.split_bundles(read_bounded(path), str(path))
        except OSError as e:
            into.failures.append(verify.BundleFailure(str(path),
                                                      f"cannot read: {e.strerror or e}"))
            continue
        except InputError as e:
            into.failures.append(verify.BundleFailure(str(path), e.diagnostics()))
            continue
        for i, data in enumerate(documents):
            # One bundle per line of a JSON Lines file, each named by its line.
            name = str(path) if len(documents) == 1 else f"{path}:{i + 1}"
            _check(t, name, data, trust, into, given=path == t.given_bundle)
    for name, data in t.stored:
        _check(t, name, data, trust, into, given=False)
    into.failures.extend(verify.BundleFailure(n, why) for n, why in t.stored_failures)
    for name, payload, data in t.legacy:
        try:
            into.signatures.append(verify.verify_legacy_image_signature(
                payload, data, image_digest=f"sha256:{t.sha256}", trust=trust, name=name))
        except Error as e:
            into.failures.append(verify.BundleFailure(name, e.about(name)))
    return verify.ArtifactEvidence(
        name=t.label,
        sha256=t.sha256,
        digests=(("sha512", t.sha512),) if t.sha512 else (),
        signatures=tuple(into.signatures),
        attestations=tuple(into.attestations),
        failures=tuple(into.failures),
    )


def _with_inventory(evidence: ArtifactEvidence, t: _Target) -> ArtifactEvidence:
    """The evidence with the artifact file's own inventory, when it was scanned."""
    import dataclasses

    from sbomsign.models import Inventory

    if t.artifact is None:
        return evidence
    return dataclasses.replace(evidence, inventory=Inventory(artifacts=(t.artifact,)))


def _packed_artifact(inv: Inventory, t: _Target) -> Artifact | None:
    """An image, release archive or package as one artifact for the policy: its digest, and
    the binaries and components of everything read from it (every platform of an image)."""
    from sbomsign.models import Artifact, ComponentKind, Digests

    name = t.image.pinned if t.image is not None else str(t.path)
    found = [a for c in inv.containers if c.name == name for a in inv.contents(c)]
    if not found:
        return None
    size = t.image.size if t.image is not None else os.path.getsize(str(t.path))
    # NOTE: a shared library a binary links is, inside an image, another file of the image
    # (and of its package): the image's SBOM lists it as that file and package, with a link
    # edge, not as a component by its soname. What must be covered is what is compiled in.
    return Artifact(path=t.label, name=t.label, size=size,
                    digests=Digests(sha256=t.sha256),
                    binaries=tuple(b for a in found for b in a.binaries),
                    components=tuple(c for a in found for c in a.components
                                     if c.kind is not ComponentKind.SHARED_LIBRARY))


def _verified(targets: list[Any], trust: TrustMaterial, pol: Policy,
              options: dict[str, Any]) -> list[ArtifactEvidence]:
    """Every target's verified evidence, with the artifact files' (and images') inventory when
    the policy looks at it: one parallel, crash-isolated scan that runs beside the bundle
    verification, which needs no inventory."""
    import threading

    from sbomsign.models import Inventory
    from sbomsign.scan import scan_paths

    files = [t for t in targets if t.path is not None or t.image is not None] \
        if pol.needs_artifact_inventory else []
    if not files:
        return [_evidence(t, trust) for t in targets]
    names = [str(t.path) if t.path is not None else t.image.pinned for t in files]
    scanned: list[Inventory] = []
    scan_thread = threading.Thread(
        target=lambda: scanned.append(scan_paths(names, **options)),
        name="sbomsign-scan",
    )
    scan_thread.start()
    verified = [_evidence(t, trust) for t in targets]
    scan_thread.join()
    inv = scanned[0] if scanned else Inventory()
    by_path = {a.path: a for a in inv.artifacts}
    for t in files:
        # NOTE: a file is a binary scanned as itself, or an archive or package whose
        # contents answer for it, as an image's do.
        t.artifact = (by_path.get(str(t.path)) if t.path is not None else None) \
            or _packed_artifact(inv, t)
    for problem in inv.problems:
        logger.warning("%s: %s", problem.path, problem.message)
    return [_with_inventory(e, t) for e, t in zip(verified, targets, strict=True)]


def _reports(args: argparse.Namespace) -> list[tuple[ReportFormat, str | None]]:
    """(format, file or None for stdout) pairs: the n-th --format goes to the n-th -o."""
    formats = args.format or [env_default("format", ReportFormat.TEXT.value)]
    outputs = args.output or []
    try:
        chosen = [ReportFormat(f) for f in formats]
    except ValueError as e:
        raise InputError(f"--format: {e}") from e
    if len(outputs) > len(chosen):
        raise InputError("more -o than --format: give each -o its --format")
    if len(chosen) - len(outputs) > 1:
        raise InputError("only one report can go to stdout: give each --format but one its -o")
    return [(f, outputs[i] if i < len(outputs) else None) for i, f in enumerate(chosen)]


def run(args: argparse.Namespace) -> int:
    """Verify every artifact; exit 0 when all pass, 1 when any fails."""
    from sbomsign import policy as policy_mod

    reports = _reports(args)
    if args.vsa and not args.overwrite and Path(args.vsa).exists():
        raise InputError(f"{args.vsa}: already exists (use --overwrite to replace it)")
    pol = _policy(args)
    trust = _trust(args, pol)
    targets = _targets(args)
    verified = _verified(targets, trust, pol, registry_options(args))
    now = datetime.now(UTC)
    outcomes = [
        Outcome(evidence, tuple(policy_mod.evaluate(pol, evidence, now=now,
                                                    families=t.families)))
        for evidence, t in zip(verified, targets, strict=True)
    ]
    for fmt, output in reports:
        emit(render(fmt, outcomes, pol, now), output)
    if args.vsa:
        _write_vsa(args, outcomes, pol, now)
    return EXIT_OK if all(o.passed for o in outcomes) else EXIT_FAILURE


def _write_vsa(
    args: argparse.Namespace, outcomes: list[Outcome], pol: Policy, now: datetime
) -> None:
    from sbomsign import sign
    from sbomsign._cli._shared import managed_key

    statement = vsa_statement(outcomes, pol, now)
    if args.vsa_key:
        with managed_key(args.vsa_key) as key:
            bundle = sign.attest(statement, key)
    else:
        bundle = sign.attest_keyless(
            statement,
            args.identity_token,
            trust_config=_read(Path(args.trust_config), "the trust config")
            if args.trust_config
            else None,
        )
    atomic_write(Path(args.vsa), bundle, overwrite=args.overwrite)
    logger.info("wrote %s (sha256:%s)", args.vsa, hashlib.sha256(bundle).hexdigest())
