"""What every part of the CI engine shares: the CLI's file names, problems, the inputs."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: What the CLI names the files it writes (`sbomsign/_cli/file_names.py` makes the file, so
#: the engine keeps no copy of the CLI's tables and needs none of its imports).
FILE_NAMES: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "_cli" / "file_names.json").read_text(
        encoding="utf-8"
    )
)

MODES = ("produce", "verify")
SIGN_MODES = ("keyless", "key", "none")
#: `sbom-formats` value -> the file-name suffix `sbomsign sbom` gives that format.
SBOM_SUFFIXES: dict[str, str] = dict(FILE_NAMES["sbomSuffixes"])
ATTEST_TYPES: tuple[str, ...] = tuple(FILE_NAMES["attestTypes"])
#: An SBOM attestation signs the JSON document the job wrote, when it wrote one.
ATTEST_PREDICATE_FORMAT: dict[str, str] = {"cyclonedx": "cyclonedx-json", "spdx": "spdx-json",
                                           "spdx3": "spdx3-json"}
#: `fail-on` value -> the verdicts that fail the step in verify mode.
FAIL_ON: dict[str, frozenset[str]] = {
    "failed": frozenset({"FAILED", "ERROR"}),
    "error": frozenset({"ERROR"}),
    "never": frozenset(),
}
BUNDLE_SUFFIX: str = FILE_NAMES["bundleSuffix"]
#: The checksum file of the `subject-checksums` output (`sha256sum` format).
CHECKSUMS_NAME = "SHA256SUMS"
#: The merged verify report (the `report` output), and the reports CI systems read, named
#: `sbomsign-verify.<format>` beside it.
REPORT_NAME = "sbomsign-verify.json"
#: `sbomsign verify --format` value -> the file name of the merged report of that format.
REPORT_FILES: dict[str, str] = {
    "json": REPORT_NAME,
    "junit": "sbomsign-verify.junit.xml",
    "gitlab-codequality": "sbomsign-verify.codequality.json",
}
#: Files a glob may match that are the engine's own outputs, never artifacts.
SIDECAR_SUFFIXES = (BUNDLE_SUFFIX, *SBOM_SUFFIXES.values())
SIDECAR_NAMES = frozenset({CHECKSUMS_NAME, *REPORT_FILES.values()})
#: An attestation bundle beside the artifact: `<name>.<type>.sigstore.json`, where the type is
#: one file-name word as `sbomsign attest` writes it (no dot, so `app.exe.sigstore.json` is not
#: taken for an attestation about `app`).
ATTESTATION_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
#: A line of `artifacts` that names an image where it is stored, not a file.
IMAGE_SCHEMES = ("registry:", "oci-dir:", "oci-archive:")
#: The one-line error shape every sbomsign subcommand prints on stderr.
CLI_ERROR = re.compile(r"^sbomsign (?P<command>[a-z]+): error: (?P<message>.+)$")


@dataclass(frozen=True)
class Problem:
    """Something wrong with the inputs or the run, reported as one error line or annotation."""

    message: str
    file: str | None = None
    title: str = "sbomsign"
    #: False for what the summary shows anyway (a failed artifact's rules are in its table).
    in_summary: bool = True


class Failed(Exception):
    """Stop the job with exit `code`; the problems have been (or will be) reported."""

    def __init__(self, problems: Sequence[Problem], code: int = 1) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)
        self.code = code


@dataclass(frozen=True)
class KeyMaterial:
    """A key given to the job: PEM text (from a secret), a file, or a `pkcs11:` URI."""

    pem: str | None = None
    path: Path | None = None
    uri: str | None = None


@dataclass(frozen=True)
class Inputs:
    """The job's inputs, checked and normalised."""

    mode: str
    workspace: Path
    artifacts: tuple[Path, ...]
    sbom_formats: tuple[str, ...]
    output_dir: Path | None
    sign: str
    key: tuple[KeyMaterial, ...]
    key_password: str
    attest: tuple[str, ...]
    supplier: str
    author: str
    overwrite: bool
    policy: Path | None
    trusted_root: Path | None
    certificate_identity: str
    certificate_identity_regexp: str
    certificate_oidc_issuer: str
    fail_on: str
    #: The images in `artifacts` (`registry:`, `oci-dir:`, `oci-archive:` names), as given.
    images: tuple[str, ...] = ()
    #: Keyless signing: the client trust config of a private Sigstore instance.
    trust_config: Path | None = None


def display(path: Path, workspace: Path) -> str:
    """`path` relative to the workspace when inside it (as annotations want), else absolute."""
    try:
        return path.relative_to(workspace).as_posix()
    except ValueError:
        return str(path)


def md_text(value: str) -> str:
    """Text for a Markdown table cell: HTML-escaped, pipes and line breaks neutralised."""
    return html.escape(value).replace("|", "&#124;").replace("\n", "<br>")


def md_code(value: str) -> str:
    """Text shown as code in a Markdown table cell (an HTML `<code>` needs no backtick games)."""
    return f"<code>{md_text(value)}</code>"
