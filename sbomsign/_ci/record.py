"""The run's record (what the outputs, the summary and the reports say), and where each
artifact's SBOMs and bundles go."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sbomsign._ci.common import BUNDLE_SUFFIX, SBOM_SUFFIXES, Inputs, Problem, display


def out_dir(inputs: Inputs, artifact: Path) -> Path:
    """Where the SBOMs and bundles of `artifact` are written (and looked for)."""
    return inputs.output_dir if inputs.output_dir is not None else artifact.parent


def signature_bundle(inputs: Inputs, artifact: Path) -> Path:
    """`<dir>/<artifact>.sigstore.json`."""
    return out_dir(inputs, artifact) / (artifact.name + BUNDLE_SUFFIX)


def attestation_bundle(inputs: Inputs, artifact: Path, kind: str) -> Path:
    """`<dir>/<artifact>.<type>.sigstore.json`."""
    return out_dir(inputs, artifact) / f"{artifact.name}.{kind}{BUNDLE_SUFFIX}"


def sbom_path(inputs: Inputs, artifact: Path, fmt: str) -> Path:
    """The SBOM `sbomsign sbom` writes for `artifact` in format `fmt`."""
    return out_dir(inputs, artifact) / (artifact.name + SBOM_SUFFIXES[fmt])


def planned_bundles(inputs: Inputs) -> list[Path]:
    """Every bundle produce mode will write."""
    paths: list[Path] = []
    for artifact in inputs.artifacts:
        if inputs.sign != "none":
            paths.append(signature_bundle(inputs, artifact))
        paths.extend(attestation_bundle(inputs, artifact, kind) for kind in inputs.attest)
    return paths


@dataclass
class Check:
    """What verify mode found for one file or image."""

    verdict: str = ""
    rules: list[dict[str, Any]] = field(default_factory=list)
    signers: list[str] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    #: The hex SHA-256 the report gives what was verified.
    sha256: str = ""


@dataclass
class ArtifactRecord:
    """What happened to one artifact."""

    path: Path
    sha256: str = ""
    arch: str = ""
    go_version: str = ""
    components: int | None = None
    scan_problem: str = ""
    sboms: list[Path] = field(default_factory=list)
    signature: Path | None = None
    attestations: list[tuple[str, Path]] = field(default_factory=list)
    check: Check = field(default_factory=Check)


@dataclass
class ImageRecord:
    """What happened to one image (`registry:`, `oci-dir:` or `oci-archive:` name)."""

    name: str
    #: `STORE@sha256:...`: what the name pointed at when it was signed or verified.
    pinned: str = ""
    #: The platform manifests of an index, pinned, signed with it (`--recursive`).
    platforms: list[str] = field(default_factory=list)
    #: (pinned subject, pinned referrer) per signature attached.
    signatures: list[tuple[str, str]] = field(default_factory=list)
    #: (type, pinned subject, pinned referrer) per attestation attached.
    attestations: list[tuple[str, str, str]] = field(default_factory=list)
    #: The SBOM files written of it (one per platform and format), with an `output-dir`.
    sboms: list[Path] = field(default_factory=list)
    check: Check = field(default_factory=Check)


@dataclass
class Record:
    """The whole run, for the outputs, the summary and the reports."""

    inputs: Inputs
    artifacts: list[ArtifactRecord]
    signer: str = ""
    signer_detail: str = ""
    checksums: Path | None = None
    verdict: str = ""
    policy: str = ""
    report: Path | None = None
    #: The merged reports CI systems read (JUnit, Code Quality), by `--format` value.
    reports: dict[str, Path] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    images: list[ImageRecord] = field(default_factory=list)

    def rel(self, path: Path) -> str:
        """A path as outputs and the summary show it."""
        return display(path, self.inputs.workspace)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, streamed."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def checksum_lines(record: Record) -> str:
    """`sha256sum` lines, `<hex>  <name>`, as `actions/attest-build-provenance` reads them."""
    return "".join(f"{a.sha256}  {a.path.name}\n" for a in record.artifacts if a.sha256)


def outputs(record: Record) -> dict[str, str]:
    """The job's outputs (every one always set, empty when it does not apply); multi-line
    values have one item per line."""
    lines = "\n".join
    arts = record.artifacts
    return {
        "artifacts": lines(record.rel(a.path) for a in arts),
        "sboms": lines([*(record.rel(p) for a in arts for p in a.sboms),
                        *(record.rel(p) for i in record.images for p in i.sboms)]),
        "bundles": lines(record.rel(a.signature) for a in arts if a.signature),
        "attestations": lines(record.rel(p) for a in arts for _, p in a.attestations),
        "digests": checksum_lines(record).rstrip("\n"),
        "subject-checksums": record.rel(record.checksums) if record.checksums else "",
        "signer": record.signer,
        "verdict": record.verdict,
        "report": record.rel(record.report) if record.report else "",
        "images": lines(i.pinned for i in record.images if i.pinned),
    }
