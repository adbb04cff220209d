#!/usr/bin/env python3
"""The runner behind the sbomsign GitHub Action (`action.yml` at the repository root).

`action.yml` keeps its `run:` step to one line and hands every input to this script through
`env:` as `INPUT_<NAME>` (the name upper-cased, `-` written `_`). The script then:

1. reads and checks **every** input before doing any work: a misspelt `mode`, a glob that
   matches nothing, a missing key secret or a policy file that does not exist each fail the step
   with one `::error::` annotation, before anything is installed, scanned or signed;
2. installs sbomsign from the action's own checkout into a private virtual environment under
   `RUNNER_TEMP`, from the hash-pinned, wheel-only `action/requirements.txt`
   (`SBOMSIGN_ACTION_CLI` names an already installed `sbomsign` instead, as the tests do);
3. runs the `sbomsign` command line as a subprocess with argument lists, never a shell:
   - `produce`: `scan` (for the summary), `sbom`, `sign`, `attest` for the files; then
     `sign --recursive` and `attest --recursive` per image (`registry:`, `oci-dir:`,
     `oci-archive:`), which attach their bundles to the image where it is stored;
   - `verify`: `verify --format json` per file and per image;
4. writes the step outputs to `$GITHUB_OUTPUT` (multi-line values with a random heredoc
   delimiter), a job summary to `$GITHUB_STEP_SUMMARY`, and problems as annotations.

It uses the standard library only: it runs on the Python that `actions/setup-python` set up,
before sbomsign and its dependencies exist.
"""

from __future__ import annotations

import difflib
import glob
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

#: The action's checkout (`github.action_path`): this file is `<root>/action/run.py`.
ACTION_ROOT = Path(__file__).resolve().parent.parent
#: The hash-pinned runtime requirements of sbomsign (plus flit_core to build it).
REQUIREMENTS = ACTION_ROOT / "action" / "requirements.txt"

#: What the CLI names the files it writes, read from the package this action installs (so
#: the runner keeps no copy of the CLI's tables; `sbomsign/_cli/file_names.py` makes it).
FILE_NAMES: dict[str, Any] = json.loads(
    (ACTION_ROOT / "sbomsign" / "_cli" / "file_names.json").read_text(encoding="utf-8")
)

MODES = ("produce", "verify")
SIGN_MODES = ("keyless", "key", "none")
#: `sbom-formats` value -> the file-name suffix `sbomsign sbom` gives that format.
SBOM_SUFFIXES: dict[str, str] = dict(FILE_NAMES["sbomSuffixes"])
ATTEST_TYPES: tuple[str, ...] = tuple(FILE_NAMES["attestTypes"])
#: An SBOM attestation signs the JSON document this action wrote, when it wrote one.
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
#: The merged verify report (the `report` output), in `output-dir` or `RUNNER_TEMP`.
REPORT_NAME = "sbomsign-verify.json"
#: Files a glob may match that are this action's own outputs, never artifacts (with
#: `CHECKSUMS_NAME` and `REPORT_NAME`).
SIDECAR_SUFFIXES = (BUNDLE_SUFFIX, *SBOM_SUFFIXES.values())
#: An attestation bundle beside the artifact: `<name>.<type>.sigstore.json`, where the type is
#: one file-name word as `sbomsign attest` writes it (no dot, so `app.exe.sigstore.json` is not
#: taken for an attestation about `app`).
ATTESTATION_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
#: The one-line error shape every sbomsign subcommand prints on stderr.
CLI_ERROR = re.compile(r"^sbomsign (?P<command>[a-z]+): error: (?P<message>.+)$")
#: What `sbomsign sign`/`attest` print before keyless signing.
KEYLESS_SIGNER = re.compile(
    r"signing as (?P<identity>.+?) \(issuer (?P<issuer>[^)]*)\) with (?P<instance>.+)$"
)
#: `SBOMSIGN_*` variables the runner environment may pass on to sbomsign. Every other one is
#: dropped: the CLI reads `SBOMSIGN_<OPTION>` as option defaults, and a stray `SBOMSIGN_KEY`
#: in the job's environment must not turn `sign: keyless` into signing with a key. The
#: registry ones only say how a registry is reached, never who may sign: a job whose registry
#: is on plain HTTP or has a private CA could not name its images otherwise.
PASSED_SBOMSIGN_ENV = frozenset(
    {
        "SBOMSIGN_PKCS11_PIN",
        "SBOMSIGN_JOBS",
        "SBOMSIGN_TIMEOUT",
        "SBOMSIGN_INSECURE_REGISTRIES",
        "SBOMSIGN_REGISTRY_CA",
        "SBOMSIGN_REGISTRY_TIMEOUT",
    }
)
#: A line of `artifacts` that names an image where it is stored, not a file.
IMAGE_SCHEMES = ("registry:", "oci-dir:", "oci-archive:")
#: What `sbomsign sign`/`attest` print per image once its bundle is attached to it.
ATTACHED = re.compile(
    r"^sbomsign: (?:signed|attested (?P<kind>\S+) about) "
    r"(?P<subject>.+@sha256:[0-9a-f]{64}): attached as (?P<referrer>.+@sha256:[0-9a-f]{64})$"
)
#: What `sbomsign -v sign --key` logs about the key; an image has no bundle file to read the
#: key's hint from.
KEY_SIGNER = re.compile(r"^INFO signing with \S+ key (?P<hint>\S+)$")
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
_ENCRYPTED_PEM = ("ENCRYPTED", "Proc-Type: 4,ENCRYPTED")


# --------------------------------------------------------------------------------------------
# GitHub workflow commands, outputs and the job summary


def escape_data(value: str) -> str:
    """A workflow command's message, escaped as the runner expects (`%`, CR, LF)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A workflow command's property value (`file=`, `title=`): also `:` and `,`."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotate(
    level: str,
    message: str,
    *,
    file: str | None = None,
    title: str | None = None,
    out: TextIO | None = None,
) -> None:
    """Print an `::error::`/`::warning::`/`::notice::` annotation."""
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
    if title:
        props.append(f"title={escape_property(title)}")
    head = f"::{level} {','.join(props)}::" if props else f"::{level}::"
    print(head + escape_data(message), file=out or sys.stdout, flush=True)


@contextmanager
def untrusted_output(out: TextIO | None = None) -> Iterator[TextIO]:
    """Echo text that may contain `::` lines (file names, tool output) without it acting.

    Between `::stop-commands::TOKEN` and `::TOKEN::` the runner executes no workflow command,
    so an artifact named `::set-env ...` cannot reach the runner through our log.
    """
    stream = out or sys.stdout
    token = secrets.token_hex(16)
    print(f"::stop-commands::{token}", file=stream, flush=True)
    try:
        yield stream
    finally:
        print(f"::{token}::", file=stream, flush=True)


def heredoc(name: str, value: str) -> str:
    """One `$GITHUB_OUTPUT` entry in the multi-line form, with a random delimiter.

    The delimiter is random so that no value (a file name, a message) can end the heredoc early
    and set other outputs, which a fixed `EOF` would allow.
    """
    while True:
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        if delimiter not in value and delimiter not in name:
            return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def md_text(value: str) -> str:
    """Text for a Markdown table cell: HTML-escaped, pipes and line breaks neutralised."""
    return html.escape(value).replace("|", "&#124;").replace("\n", "<br>")


def md_code(value: str) -> str:
    """Text shown as code in a Markdown table cell (an HTML `<code>` needs no backtick games)."""
    return f"<code>{md_text(value)}</code>"


# --------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class Problem:
    """Something wrong with the inputs or the run, reported as one `::error::` annotation."""

    message: str
    file: str | None = None
    title: str = "sbomsign"
    #: False for what the summary shows anyway (a failed artifact's rules are in its table).
    in_summary: bool = True


class Failed(Exception):
    """Stop the step; the problems have been (or will be) annotated."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class KeyMaterial:
    """A key given to the action: PEM text (from a secret), a file, or a `pkcs11:` URI."""

    pem: str | None = None
    path: Path | None = None
    uri: str | None = None


@dataclass(frozen=True)
class Inputs:
    """The action's inputs, checked and normalised."""

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


def _input(env: Mapping[str, str], name: str) -> str:
    """The raw value of input `name` (`INPUT_SBOM_FORMATS` for `sbom-formats`), stripped."""
    return env.get("INPUT_" + name.upper().replace("-", "_"), "").strip()


def _words(value: str) -> list[str]:
    """A list input: items separated by commas and/or newlines, blanks ignored."""
    return [w.strip() for w in re.split(r"[,\n]", value) if w.strip()]


def _choice(name: str, value: str, allowed: Iterable[str], problems: list[Problem]) -> str:
    allowed = list(allowed)
    if value in allowed:
        return value
    close = difflib.get_close_matches(value.lower(), allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    problems.append(
        Problem(
            f"input {name}: {value!r} is not one of {', '.join(allowed)}{hint}",
            title=f"sbomsign: bad input {name}",
        )
    )
    return allowed[0]


def _bool(name: str, value: str, problems: list[Problem]) -> bool:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    problems.append(
        Problem(
            f"input {name}: {value!r} is not true or false", title=f"sbomsign: bad input {name}"
        )
    )
    return False


def display(path: Path, workspace: Path) -> str:
    """`path` relative to the workspace when inside it (as annotations want), else absolute."""
    try:
        return path.relative_to(workspace).as_posix()
    except ValueError:
        return str(path)


def _has_magic(pattern: str) -> bool:
    return glob.has_magic(pattern)


def _is_sidecar(path: Path) -> bool:
    name = path.name
    return name in (CHECKSUMS_NAME, REPORT_NAME) or name.endswith(SIDECAR_SUFFIXES)


def is_image(line: str) -> bool:
    """Whether a line of `artifacts` names an image where it is stored (not a file)."""
    return line.startswith(IMAGE_SCHEMES)


def image_names(value: str) -> list[str]:
    """The images that the `artifacts` input names, in the order given, without duplicates.

    They are passed to sbomsign as they are: a glob means nothing in a registry, and whether
    the name is well formed and the image exists is for sbomsign to say when it reads it.
    """
    lines = (ln.strip() for ln in value.splitlines())
    return list(dict.fromkeys(ln for ln in lines if is_image(ln)))


def expand_artifacts(value: str, workspace: Path, problems: list[Problem]) -> list[Path]:
    """The files that the `artifacts` input names, in the order given, without duplicates.

    One path or glob per line, relative to the workspace (absolute ones are taken as they are);
    `**` matches directories recursively; a line starting with `!` removes what its glob
    matches (as `actions/upload-artifact` does). Files that glob patterns match but that are
    this action's own outputs (`*.sigstore.json`, SBOMs, `SHA256SUMS`) are skipped, so
    `dist/*` in verify mode means the artifacts beside their bundles. A pattern that matches
    no file, a path that does not exist, and a directory named as such are problems. Image
    lines (see `image_names`) are not files and are left out.
    """
    lines = [ln.strip() for ln in value.splitlines() if ln.strip()]
    if not lines:
        problems.append(
            Problem(
                "input artifacts is empty: give the files (one path or glob per line) or "
                "images (registry:, oci-dir:, oci-archive: names) to process",
                title="sbomsign: bad input artifacts",
            )
        )
        return []
    found: dict[Path, None] = {}
    excluded: set[Path] = set()
    for line in (ln for ln in lines if not is_image(ln)):
        negate = line.startswith("!")
        pattern = line[1:].strip() if negate else line
        base = Path(pattern) if os.path.isabs(pattern) else workspace / pattern
        if not _has_magic(pattern):
            if negate:
                excluded.add(Path(os.path.abspath(base)))
                continue
            if not base.exists():
                problems.append(
                    Problem(
                        f"artifacts: {pattern}: no such file", title="sbomsign: artifact not found"
                    )
                )
            elif not base.is_file():
                problems.append(
                    Problem(
                        f"artifacts: {pattern}: not a regular file (to take "
                        f"the files in a directory, write {pattern}/*)",
                        title="sbomsign: artifact not found",
                    )
                )
            else:
                found.setdefault(Path(os.path.abspath(base)), None)
            continue
        matches = sorted(Path(os.path.abspath(m)) for m in glob.glob(str(base), recursive=True))
        files = [m for m in matches if m.is_file()]
        if negate:
            excluded.update(files)
            continue
        kept = [m for m in files if not _is_sidecar(m)]
        if not kept:
            why = "matched no file" if not files else "matched only sbomsign's own output files"
            problems.append(
                Problem(f"artifacts: the pattern {pattern!r} {why}", title="sbomsign: empty glob")
            )
        for m in kept:
            found.setdefault(m, None)
    return [p for p in found if p not in excluded]


def _key_materials(
    value: str, workspace: Path, *, what: str, problems: list[Problem]
) -> tuple[KeyMaterial, ...]:
    """Keys in the `key` input: PEM blocks (a secret's text), `pkcs11:` URIs, or file paths."""
    if "-----BEGIN" in value:
        blocks = [m.group(0) for m in _PEM_BLOCK.finditer(value)]
        if not blocks:
            problems.append(
                Problem(
                    f"input key: looks like PEM but has no complete "
                    f"-----BEGIN/-----END block ({what})",
                    title="sbomsign: bad input key",
                )
            )
        return tuple(KeyMaterial(pem=b + "\n") for b in blocks)
    keys: list[KeyMaterial] = []
    for line in (ln.strip() for ln in value.splitlines()):
        if not line:
            continue
        if line.startswith("pkcs11:"):
            keys.append(KeyMaterial(uri=line))
            continue
        path = Path(line) if os.path.isabs(line) else workspace / line
        if not path.is_file():
            problems.append(
                Problem(
                    f"input key: {line}: no such file ({what})", title="sbomsign: bad input key"
                )
            )
        else:
            keys.append(KeyMaterial(path=path))
    return tuple(keys)


def _key_text(key: KeyMaterial) -> str:
    if key.pem is not None:
        return key.pem
    if key.path is not None:
        try:
            # NOTE: only the PEM labels are looked at; a key is a few hundred bytes.
            return key.path.read_text(errors="replace")[:65536]
        except OSError:
            return ""
    return ""


def _existing_file(name: str, value: str, workspace: Path, problems: list[Problem]) -> Path | None:
    if not value:
        return None
    path = Path(value) if os.path.isabs(value) else workspace / value
    if not path.is_file():
        problems.append(
            Problem(f"input {name}: {value}: no such file", title=f"sbomsign: bad input {name}")
        )
        return None
    return path


def _duplicate_names(artifacts: list[Path], workspace: Path, problems: list[Problem]) -> None:
    names: dict[str, Path] = {}
    for path in artifacts:
        if path.name in names:
            # NOTE: the subject of a signature, attestation or checksum line is the file name,
            # as a release asset's is; two files of one name would be two different subjects
            # that nobody can tell apart.
            problems.append(
                Problem(
                    f"artifacts: {display(names[path.name], workspace)} and "
                    f"{display(path, workspace)} have the same file name; name them apart",
                    file=display(path, workspace),
                    title="sbomsign: duplicate artifact name",
                )
            )
        names.setdefault(path.name, path)


def _choices(
    env: Mapping[str, str], name: str, allowed: Iterable[str], problems: list[Problem]
) -> list[str]:
    """A list input whose items must each be one of `allowed`, without repeats."""
    found: list[str] = []
    for word in _words(_input(env, name)):
        value = _choice(name, word, allowed, problems)
        if value not in found:
            found.append(value)
    return found


def _output_dir(env: Mapping[str, str], workspace: Path, problems: list[Problem]) -> Path | None:
    raw_dir = _input(env, "output-dir")
    if not raw_dir:
        return None
    output_dir = Path(
        os.path.abspath(Path(raw_dir) if os.path.isabs(raw_dir) else workspace / raw_dir)
    )
    if output_dir.exists() and not output_dir.is_dir():
        problems.append(
            Problem(
                f"input output-dir: {raw_dir}: exists and is not a directory",
                title="sbomsign: bad input output-dir",
            )
        )
    return output_dir


def _signing_key(
    env: Mapping[str, str], raw_key: str, workspace: Path, problems: list[Problem]
) -> tuple[KeyMaterial, ...]:
    """The private key of `sign: key`, checked."""
    if not raw_key:
        problems.append(
            Problem(
                "sign is 'key' but the key input is empty: pass the private key, e.g. "
                "key: ${{ secrets.SBOMSIGN_KEY }} (is the secret set and available to "
                "this workflow?)",
                title="sbomsign: missing key",
            )
        )
        return ()
    keys = _key_materials(raw_key, workspace, what="the private signing key", problems=problems)
    if len(keys) > 1:
        problems.append(
            Problem("input key: give one private key to sign with", title="sbomsign: bad input key")
        )
    password = env.get("INPUT_KEY_PASSWORD", "") or env.get("COSIGN_PASSWORD")
    for key in keys:
        text = _key_text(key)
        if "PRIVATE KEY" not in text and key.uri is None:
            problems.append(
                Problem(
                    "input key: not a private key (sign: key needs the private key; "
                    "the public key is for verify mode)",
                    title="sbomsign: bad input key",
                )
            )
        elif any(m in text for m in _ENCRYPTED_PEM) and not password:
            problems.append(
                Problem(
                    "the key is encrypted but key-password is empty: pass its password,"
                    " e.g. key-password: ${{ secrets.SBOMSIGN_KEY_PASSWORD }}",
                    title="sbomsign: missing key password",
                )
            )
    return keys


def _produce_checks(
    env: Mapping[str, str], sign: str, attest: list[str], workspace: Path,
    problems: list[Problem],
) -> tuple[KeyMaterial, ...]:
    """The checks of produce mode; the signing key, when there is one."""
    raw_key = env.get("INPUT_KEY", "").strip()
    keys: tuple[KeyMaterial, ...] = ()
    if sign == "key":
        keys = _signing_key(env, raw_key, workspace, problems)
    elif raw_key:
        annotate(
            "warning", f"sign is {sign!r}: the key input is ignored", title="sbomsign: key ignored"
        )
    if sign == "keyless" and not (
        (env.get("ACTIONS_ID_TOKEN_REQUEST_URL") and env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
        or env.get("SIGSTORE_ID_TOKEN")
    ):
        problems.append(
            Problem(
                "sign is 'keyless' but the job has no OIDC credential: give the job "
                "`permissions: id-token: write` (or use sign: key with a managed key, or "
                "sign: none)",
                title="sbomsign: no OIDC credential",
            )
        )
    if sign == "none" and attest:
        problems.append(
            Problem(
                f"attest ({', '.join(attest)}) needs signing, but sign is 'none': set sign to "
                "keyless or key, or attest to ''",
                title="sbomsign: bad input attest",
            )
        )
    return keys


def _public_keys(raw_key: str, workspace: Path, problems: list[Problem]) -> tuple[KeyMaterial, ...]:
    """The public keys of verify mode, checked."""
    if not raw_key:
        return ()
    keys = _key_materials(raw_key, workspace, what="a public key that may sign", problems=problems)
    for key in keys:
        if "PRIVATE KEY" in _key_text(key):
            problems.append(
                Problem(
                    "input key: in verify mode the key is the PUBLIC key; never hand the "
                    "private key to a verifying job",
                    title="sbomsign: bad input key",
                )
            )
        if key.uri is not None:
            problems.append(
                Problem(
                    "input key: verify mode takes public key files or "
                    "PEM text, not pkcs11: URIs",
                    title="sbomsign: bad input key",
                )
            )
    return keys


def _verify_checks(
    env: Mapping[str, str], policy: Path | None, workspace: Path, problems: list[Problem]
) -> tuple[KeyMaterial, ...]:
    """The checks of verify mode: who may sign must be said once; the public keys."""
    raw_key = env.get("INPUT_KEY", "").strip()
    identity = _input(env, "certificate-identity")
    identity_re = _input(env, "certificate-identity-regexp")
    keys = _public_keys(raw_key, workspace, problems)
    if identity and identity_re:
        problems.append(
            Problem(
                "give certificate-identity or certificate-identity-regexp, not both",
                title="sbomsign: bad input certificate-identity",
            )
        )
    if policy is not None and (raw_key or identity or identity_re):
        problems.append(
            Problem(
                "the policy names the allowed signers: leave key and certificate-identity* "
                "empty when policy is set",
                title="sbomsign: bad input policy",
            )
        )
    if policy is None and not raw_key and not (identity or identity_re) and not _input(
        env, "policy"
    ):
        problems.append(
            Problem(
                "verify mode needs to know who may sign: set policy (see sbomsign's "
                "policies/), or key (a public key), or certificate-identity[-regexp] with "
                "certificate-oidc-issuer",
                title="sbomsign: nothing to verify against",
            )
        )
    if (identity or identity_re) and not _input(env, "certificate-oidc-issuer"):
        problems.append(
            Problem(
                "certificate-identity needs certificate-oidc-issuer "
                "(for GitHub Actions: "
                "https://token.actions.githubusercontent.com)",
                title="sbomsign: bad input certificate-oidc-issuer",
            )
        )
    return keys


def _existing_outputs(inputs: Inputs) -> list[Problem]:
    # NOTE: sbomsign refuses to replace a bundle; find that out now, not after the first
    # artifacts were signed (and logged in Rekor).
    workspace = inputs.workspace
    return [
        Problem(
            f"{display(path, workspace)}: already exists (set overwrite: true to replace it)",
            file=display(path, workspace),
            title="sbomsign: output exists",
        )
        for path in planned_bundles(inputs)
        if path.exists()
    ]


def read_inputs(env: Mapping[str, str]) -> Inputs:
    """Check every input; raise `Failed` with every problem found before any work is done.

    Raises:
        Failed: an input is missing, misspelt, names nothing, or contradicts another.
    """
    problems: list[Problem] = []
    workspace = Path(os.path.abspath(env.get("GITHUB_WORKSPACE") or os.getcwd()))
    mode = _choice("mode", _input(env, "mode") or "produce", MODES, problems)
    # NOTE: with a misspelt mode or sign, the checks that depend on them would only add
    # confusing follow-up errors; the one about the misspelling says it all.
    mode_known = not problems
    artifacts = expand_artifacts(env.get("INPUT_ARTIFACTS", ""), workspace, problems)
    images = image_names(env.get("INPUT_ARTIFACTS", ""))
    _duplicate_names(artifacts, workspace, problems)
    formats = _choices(env, "sbom-formats", SBOM_SUFFIXES, problems)
    output_dir = _output_dir(env, workspace, problems)
    before_sign = len(problems)
    sign = _choice("sign", _input(env, "sign") or "keyless", SIGN_MODES, problems)
    sign_known = len(problems) == before_sign
    attest = _choices(env, "attest", ATTEST_TYPES, problems)
    overwrite = _bool("overwrite", _input(env, "overwrite") or "false", problems)
    fail_on = _choice("fail-on", _input(env, "fail-on") or "failed", FAIL_ON, problems)
    policy = _existing_file("policy", _input(env, "policy"), workspace, problems)
    trusted_root = _existing_file("trusted-root", _input(env, "trusted-root"), workspace, problems)
    keys: tuple[KeyMaterial, ...] = ()
    if mode_known and sign_known and mode == "produce":
        keys = _produce_checks(env, sign, attest, workspace, problems)
        if sign == "none" and images:
            # NOTE: no SBOM file is written for an image (its SBOM is an attestation attached
            # to it), so without signing the run would do nothing for the images at all.
            problems.append(
                Problem(
                    f"artifacts names images ({', '.join(images)}), which are signed and "
                    "attested where they are stored, but sign is 'none': set sign to "
                    "keyless or key, or leave the images out",
                    title="sbomsign: bad input sign",
                )
            )
    elif mode_known and mode == "verify":
        keys = _verify_checks(env, policy, workspace, problems)
    inputs = Inputs(
        mode=mode,
        workspace=workspace,
        artifacts=tuple(artifacts),
        sbom_formats=tuple(formats),
        output_dir=output_dir,
        sign=sign,
        key=keys,
        key_password=env.get("INPUT_KEY_PASSWORD", ""),
        attest=tuple(attest),
        supplier=_input(env, "supplier"),
        author=_input(env, "author"),
        overwrite=overwrite,
        policy=policy,
        trusted_root=trusted_root,
        certificate_identity=_input(env, "certificate-identity"),
        certificate_identity_regexp=_input(env, "certificate-identity-regexp"),
        certificate_oidc_issuer=_input(env, "certificate-oidc-issuer"),
        fail_on=fail_on,
        images=tuple(images),
    )
    if mode == "produce" and not problems and not overwrite:
        problems.extend(_existing_outputs(inputs))
    if problems:
        raise Failed(problems)
    return inputs


# --------------------------------------------------------------------------------------------
# Where things go


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


# --------------------------------------------------------------------------------------------
# Running sbomsign


@dataclass
class Result:
    """One sbomsign run."""

    returncode: int
    stdout: str
    stderr: str

    def errors(self) -> list[str]:
        """The `sbomsign <cmd>: error: ...` messages it printed."""
        return [
            m.group("message") for line in self.stderr.splitlines() if (m := CLI_ERROR.match(line))
        ]


@dataclass
class Runner:
    """Runs the `sbomsign` executable in the workspace, with a scrubbed environment."""

    exe: Path
    workspace: Path
    env: dict[str, str]

    def __call__(
        self,
        args: Sequence[str],
        *,
        extra_env: Mapping[str, str] | None = None,
        title: str | None = None,
    ) -> Result:
        """Run `sbomsign ARGS...` (an argument list: no shell) and echo its log in a group."""
        env = dict(self.env)
        env.update(extra_env or {})
        shown = title or f"sbomsign {args[0]}"
        print(f"::group::{escape_data(shown)}", flush=True)
        proc = subprocess.run(  # noqa: S603 - an argument list, no shell; exe is ours
            [str(self.exe), *args],
            cwd=self.workspace,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        with untrusted_output() as out:
            out.write("$ sbomsign " + " ".join(_quote(a) for a in args) + "\n")
            out.write(proc.stdout)
            out.write(proc.stderr)
            out.flush()
        print("::endgroup::", flush=True)
        return Result(proc.returncode, proc.stdout, proc.stderr)


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment sbomsign runs in: the job's, less the inputs and stray option defaults.

    The `INPUT_*` variables hold the key and its password; sbomsign gets the password alone,
    as `SBOMSIGN_KEY_PASSWORD`, and only for the commands that sign.
    """
    return {
        k: v
        for k, v in env.items()
        if not k.startswith("INPUT_")
        and not (k.startswith("SBOMSIGN_") and k not in PASSED_SBOMSIGN_ENV)
    }


def install(temp: Path) -> Path:
    """Install sbomsign from the action checkout into a venv under `temp`; its executable.

    The requirements are hash-pinned and wheel-only (`--only-binary :all:`: no dependency's
    build code runs); sbomsign itself is built from the checkout with the pinned flit_core
    and `--no-index`, so that step fetches nothing. A venv already made by an earlier step of
    the same job from the same requirements and checkout is reused.

    Raises:
        Failed: venv or pip failed.
    """
    digest = hashlib.sha256()
    digest.update(REQUIREMENTS.read_bytes())
    digest.update(str(ACTION_ROOT).encode())
    digest.update(sys.version.encode())
    venv = temp / f"sbomsign-venv-{digest.hexdigest()[:16]}"
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    exe = scripts / ("sbomsign.exe" if os.name == "nt" else "sbomsign")
    python = scripts / ("python.exe" if os.name == "nt" else "python")
    done = venv / ".sbomsign-action-complete"
    if done.is_file() and exe.is_file():
        return exe
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    steps = [
        ("creating the virtual environment", [sys.executable, "-m", "venv", "--clear", str(venv)]),
        (
            "installing the hash-pinned requirements",
            [
                *pip,
                "install",
                "--require-hashes",
                "--only-binary",
                ":all:",
                "-r",
                str(REQUIREMENTS),
            ],
        ),
        (
            "building sbomsign from the action's checkout",
            [*pip, "install", "--no-deps", "--no-build-isolation", "--no-index", str(ACTION_ROOT)],
        ),
    ]
    print("::group::Install sbomsign (hash-pinned requirements)", flush=True)
    try:
        for what, cmd in steps:
            print("$ " + " ".join(_quote(c) for c in cmd), flush=True)
            rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, check=False).returncode  # noqa: S603
            if rc != 0:
                problem = Problem(
                    f"installing sbomsign failed while {what} (exit {rc}); see the log group "
                    "'Install sbomsign'",
                    title="sbomsign: install failed",
                )
                raise Failed([problem])
    finally:
        print("::endgroup::", flush=True)
    done.write_text("ok\n")
    return exe


# --------------------------------------------------------------------------------------------
# The run's record: what the outputs and the summary say


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
    check: Check = field(default_factory=Check)


@dataclass
class Record:
    """The whole run, for the outputs and the job summary."""

    inputs: Inputs
    artifacts: list[ArtifactRecord]
    signer: str = ""
    signer_detail: str = ""
    checksums: Path | None = None
    verdict: str = ""
    policy: str = ""
    report: Path | None = None
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


# --------------------------------------------------------------------------------------------
# produce


def _annotate_cli_errors(result: Result, record: Record, title: str) -> list[Problem]:
    """One problem per error line sbomsign printed, attached to the file it names."""
    problems: list[Problem] = []
    by_name = {record.rel(a.path): a.path for a in record.artifacts}
    for message in result.errors() or [f"exited with status {result.returncode}"]:
        head, sep, _ = message.partition(": ")
        file = head if sep and head in by_name else None
        problems.append(Problem(message, file=file, title=title))
    return problems


def scan(run: Runner, record: Record, work: Path) -> list[Problem]:
    """Inventory the artifacts (for the summary); problems for files that are no binaries."""
    out = work / "scan.json"
    rels = [record.rel(a.path) for a in record.artifacts]
    result = run(["scan", "--format", "json", "-o", str(out), *rels], title="sbomsign scan")
    try:
        doc = json.loads(out.read_text())
    except (OSError, ValueError):
        return _annotate_cli_errors(result, record, "sbomsign scan")
    by_path = {
        os.path.abspath(record.inputs.workspace / a.get("path", "")): a
        for a in doc.get("artifacts", [])
    }
    for rec in record.artifacts:
        art = by_path.get(str(rec.path))
        if art is None:
            continue
        binaries = art.get("binaries") or []
        rec.arch = ", ".join(sorted({str(b.get("arch", "")) for b in binaries} - {""}))
        versions = {str((b.get("go") or {}).get("go_version", "")) for b in binaries}
        rec.go_version = ", ".join(sorted(versions - {""}))
        rec.components = len(art.get("components") or [])
    problems = []
    for p in doc.get("problems", []):
        path = Path(os.path.abspath(record.inputs.workspace / str(p.get("path", ""))))
        message = str(p.get("message", "cannot be scanned"))
        for rec in record.artifacts:
            if rec.path == path:
                rec.scan_problem = message
        problems.append(
            Problem(f"{record.rel(path)}: {message}", file=record.rel(path), title="sbomsign scan")
        )
    return problems


def _key_args(keys: Sequence[KeyMaterial], work: Path, *, flag: str = "--key") -> list[str]:
    """`--key FILE` arguments; PEM text from a secret goes into a 0600 file first."""
    args: list[str] = []
    for i, key in enumerate(keys):
        if key.uri is not None:
            args += [flag, key.uri]
        elif key.path is not None:
            args += [flag, str(key.path)]
        elif key.pem is not None:
            path = work / f"key-{i}.pem"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key.pem)
            args += [flag, str(path)]
    return args


def _note_signer(result: Result, record: Record) -> None:
    for line in result.stderr.splitlines():
        m = KEYLESS_SIGNER.search(line)
        if m:
            record.signer = m.group("identity")
            record.signer_detail = f"keyless, issuer {m.group('issuer')}, {m.group('instance')}"


def _note_key_signer(bundle: Path, record: Record) -> None:
    """A managed-key bundle names its key by `verificationMaterial.publicKey.hint`."""
    if record.signer:
        return
    try:
        hint = json.loads(bundle.read_text())["verificationMaterial"]["publicKey"]["hint"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    record.signer = f"key:{hint}"
    record.signer_detail = "managed key"


def _produce_sboms(run: Runner, record: Record) -> None:
    inputs = record.inputs
    args = ["sbom", "--format", ",".join(inputs.sbom_formats)]
    if inputs.output_dir is not None:
        args += ["--output-dir", str(inputs.output_dir)]
    if inputs.supplier:
        args += ["--supplier", inputs.supplier]
    if inputs.author:
        args += ["--author", inputs.author]
    result = run([*args, *(record.rel(a.path) for a in record.artifacts)])
    for rec in record.artifacts:
        rec.sboms = [
            p for fmt in inputs.sbom_formats if (p := sbom_path(inputs, rec.path, fmt)).is_file()
        ]
    if result.returncode != 0:
        raise Failed(_annotate_cli_errors(result, record, "sbomsign sbom"))


def _sign_calls(record: Record) -> list[tuple[list[ArtifactRecord], list[str]]]:
    inputs = record.inputs
    if inputs.output_dir is None:
        # NOTE: one call signs every artifact with one certificate (keyless) or one key load.
        return [(record.artifacts, [record.rel(a.path) for a in record.artifacts])]
    # `--bundle` names one artifact's bundle, so one call per artifact.
    return [
        ([a], [record.rel(a.path), "--bundle", str(signature_bundle(inputs, a.path))])
        for a in record.artifacts
    ]


def _produce_signatures(
    run: Runner, record: Record, sign_args: list[str], password: dict[str, str]
) -> None:
    for recs, paths in _sign_calls(record):
        title = "sbomsign sign " + (paths[0] if len(recs) == 1 else f"({len(recs)} artifacts)")
        result = run(["sign", *sign_args, *paths], extra_env=password, title=title)
        _note_signer(result, record)
        for rec in recs:
            bundle = signature_bundle(record.inputs, rec.path)
            if bundle.is_file():
                rec.signature = bundle
                _note_key_signer(bundle, record)
        if result.returncode != 0:
            raise Failed(_annotate_cli_errors(result, record, "sbomsign sign"))


def _attest_args(record: Record, rec: ArtifactRecord, kind: str, sign_args: list[str]) -> list[str]:
    inputs = record.inputs
    bundle = attestation_bundle(inputs, rec.path, kind)
    args = ["attest", record.rel(rec.path), "--type", kind, "--bundle", str(bundle), *sign_args]
    fmt = ATTEST_PREDICATE_FORMAT.get(kind)
    if fmt in inputs.sbom_formats:
        # NOTE: attest the very SBOM file that is published, not a regenerated one.
        args += ["--predicate", str(sbom_path(inputs, rec.path, fmt))]
    if kind in ATTEST_PREDICATE_FORMAT and inputs.supplier:
        args += ["--supplier", inputs.supplier]
    if kind in ATTEST_PREDICATE_FORMAT and inputs.author:
        args += ["--author", inputs.author]
    return args


def _produce_attestations(
    run: Runner, record: Record, sign_args: list[str], password: dict[str, str]
) -> None:
    for rec in record.artifacts:
        for kind in record.inputs.attest:
            bundle = attestation_bundle(record.inputs, rec.path, kind)
            result = run(
                _attest_args(record, rec, kind, sign_args),
                extra_env=password,
                title=f"sbomsign attest {record.rel(rec.path)} --type {kind}",
            )
            _note_signer(result, record)
            if bundle.is_file():
                rec.attestations.append((kind, bundle))
                _note_key_signer(bundle, record)
            if result.returncode != 0:
                raise Failed(_annotate_cli_errors(result, record, "sbomsign attest"))


def _note_attached(result: Result, image: ImageRecord) -> None:
    """Record the bundles `sign`/`attest` attached to the image, from what they printed."""
    for line in result.stderr.splitlines():
        m = ATTACHED.match(line)
        if m is None:
            continue
        subject, referrer, kind = m.group("subject"), m.group("referrer"), m.group("kind")
        if kind is not None:
            image.attestations.append((kind, subject, referrer))
            continue
        image.signatures.append((subject, referrer))
        # NOTE: `sign --recursive` signs the manifest or index the name points at first,
        # then an index's platform manifests.
        if not image.pinned:
            image.pinned = subject
        elif subject != image.pinned and subject not in image.platforms:
            image.platforms.append(subject)


def _produce_images(
    run: Runner, record: Record, key_args: list[str], password: dict[str, str]
) -> None:
    """Sign each image (and an index's platforms), then attest it, where it is stored."""
    inputs = record.inputs
    for image in record.images:
        # NOTE: `-v` makes `sign --key` log the key's hint, which the signer output needs and
        # which a file gets from its bundle; an image's bundle is in the registry.
        verbose = ["-v"] if key_args else []
        result = run(
            ["sign", *verbose, "--recursive", *key_args, image.name],
            extra_env=password,
            title=f"sbomsign sign {image.name}",
        )
        _note_signer(result, record)
        _note_attached(result, image)
        for line in result.stderr.splitlines():
            m = KEY_SIGNER.match(line)
            if m and not record.signer:
                record.signer = f"key:{m.group('hint')}"
                record.signer_detail = "managed key"
        if result.returncode != 0:
            raise Failed(_annotate_cli_errors(result, record, "sbomsign sign"))
        for kind in inputs.attest:
            args = ["attest", "--recursive", "--type", kind, *key_args]
            if kind in ATTEST_PREDICATE_FORMAT and inputs.supplier:
                args += ["--supplier", inputs.supplier]
            if kind in ATTEST_PREDICATE_FORMAT and inputs.author:
                args += ["--author", inputs.author]
            result = run(
                [*args, image.name],
                extra_env=password,
                title=f"sbomsign attest {image.name} --type {kind}",
            )
            _note_signer(result, record)
            _note_attached(result, image)
            if result.returncode != 0:
                raise Failed(_annotate_cli_errors(result, record, "sbomsign attest"))


def produce(run: Runner, record: Record, work: Path) -> None:
    """scan -> sbom -> sign -> attest for the files, then sign -> attest for the images;
    raise `Failed` at the first step that fails.

    Raises:
        Failed: a step failed; what was written before is in the record.
    """
    inputs = record.inputs
    for rec in record.artifacts:
        rec.sha256 = sha256_file(rec.path)
    problems = scan(run, record, work) if record.artifacts else []
    if problems:
        if inputs.sbom_formats or any(k in ATTEST_PREDICATE_FORMAT for k in inputs.attest):
            # NOTE: the SBOMs would be missing for these files; stop before writing anything.
            raise Failed(problems)
        for problem in problems:
            annotate("warning", problem.message, file=problem.file, title=problem.title)
    if inputs.sbom_formats and record.artifacts:
        _produce_sboms(run, record)
    if inputs.sign == "none":
        return
    key_args = _key_args(inputs.key, work) if inputs.sign == "key" else []
    password = {"SBOMSIGN_KEY_PASSWORD": inputs.key_password} if inputs.key_password else {}
    if record.artifacts:
        sign_args = [*key_args, *(["--overwrite"] if inputs.overwrite else [])]
        _produce_signatures(run, record, sign_args, password)
        _produce_attestations(run, record, sign_args, password)
    _produce_images(run, record, key_args, password)


# --------------------------------------------------------------------------------------------
# verify


def _signer_text(signer: Mapping[str, Any]) -> str:
    if signer.get("kind") == "keyless":
        return f"{signer.get('identity', '?')} (issuer {signer.get('issuer', '?')})"
    return f"key {signer.get('key') or signer.get('keyHint') or '?'}"


def _explicit_bundles(inputs: Inputs, artifact: Path) -> list[str]:
    """`--bundle`/`--attestation` arguments when the bundles live in `output-dir`."""
    if inputs.output_dir is None:
        return []  # sbomsign verify looks beside the artifact itself
    args: list[str] = []
    sig = signature_bundle(inputs, artifact)
    if sig.is_file():
        args += ["--bundle", str(sig)]
    prefix = artifact.name + "."
    for path in sorted(inputs.output_dir.glob(glob.escape(prefix) + "*" + BUNDLE_SUFFIX)):
        middle = path.name[len(prefix) : -len(BUNDLE_SUFFIX)]
        if ATTESTATION_SLUG.fullmatch(middle) and path.is_file():
            args += ["--attestation", str(path)]
    return args


def image_store(name: str, workspace: Path) -> str:
    """The store part of an image name (`registry:HOST/REPO`, `oci-dir:DIR`, ...): the name
    without its tag or digest, as sbomsign splits it (a `:` is the path's own when the path
    exists; a registry name is never a local path)."""
    scheme, _, rest = name.partition(":")
    if "@" in rest:
        return f"{scheme}:{rest.rpartition('@')[0]}"
    local = scheme != "registry" and (workspace / rest).exists()
    if ":" in rest.rsplit("/", 1)[-1] and not local:
        rest = rest.rpartition(":")[0]
    return f"{scheme}:{rest}"


@dataclass
class Verified:
    """One `sbomsign verify` run: its check, and its report when it wrote one."""

    check: Check
    report: dict[str, Any] | None
    problems: list[Problem]


def verify_one(
    run: Runner, name: str, args: Sequence[str], out: Path, *, file: str | None
) -> Verified:
    """`sbomsign verify NAME --format json -o OUT ARGS...` for one file or image.

    `file` is the workspace path annotations point at (None for an image).
    """
    result = run(
        ["verify", name, "--format", "json", "-o", str(out), *args],
        title=f"sbomsign verify {name}",
    )
    check = Check()
    report: dict[str, Any] | None = None
    if result.returncode in (0, 1):
        try:
            report = json.loads(out.read_text())
        except (OSError, ValueError):
            report = None
    if report is None:
        check.verdict = "ERROR"
        check.error = "; ".join(result.errors()) or f"exited {result.returncode}"
        return Verified(
            check,
            None,
            [
                Problem(
                    f"{name}: could not be verified: {check.error}",
                    file=file,
                    title="sbomsign verify: error",
                )
            ],
        )
    problems: list[Problem] = []
    for art in report.get("artifacts", []):
        check.sha256 = str((art.get("digest") or {}).get("sha256", ""))
        check.verdict = str(art.get("verdict", "FAILED"))
        check.rules = list(art.get("results", []))
        check.failures = list(art.get("failures", []))
        check.signers = sorted(
            {
                _signer_text(s.get("signer") or {})
                for s in [*art.get("signatures", []), *art.get("attestations", [])]
            }
        )
        failed = [r for r in check.rules if not r.get("passed")]
        if check.verdict != "PASSED":
            # NOTE: one annotation per artifact, listing its failed rules: GitHub shows at
            # most 10 error annotations per step, and one tampered file fails many rules.
            lines = [f"- {r.get('rule')}: {r.get('message')}" for r in failed] or [
                "- policy: the policy checked nothing"
            ]
            problems.append(
                Problem(
                    f"{name}: {check.verdict}: {len(failed)} of {len(check.rules)} rules "
                    "failed\n" + "\n".join(lines),
                    file=file,
                    title=f"sbomsign verify: {name} {check.verdict}",
                    in_summary=False,
                )
            )
    return Verified(check, report, problems)


def verify(run: Runner, record: Record, work: Path, results_dir: Path) -> None:
    """`sbomsign verify --format json` per file and per image; the verdict and one merged
    report.

    Raises:
        Failed: the verdict fails the step under `fail-on`.
    """
    inputs = record.inputs
    trust: list[str] = []
    if inputs.policy is not None:
        trust += ["--policy", str(inputs.policy)]
    trust += _key_args(inputs.key, work)
    if inputs.certificate_identity:
        trust += ["--certificate-identity", inputs.certificate_identity]
    if inputs.certificate_identity_regexp:
        trust += ["--certificate-identity-regexp", inputs.certificate_identity_regexp]
    if inputs.certificate_oidc_issuer:
        trust += ["--certificate-oidc-issuer", inputs.certificate_oidc_issuer]
    if inputs.trusted_root is not None:
        trust += ["--trusted-root", str(inputs.trusted_root)]

    runs: list[Verified] = []
    for i, rec in enumerate(record.artifacts):
        rec.sha256 = sha256_file(rec.path)
        rel = record.rel(rec.path)
        done = verify_one(
            run,
            rel,
            [*trust, *_explicit_bundles(inputs, rec.path)],
            work / f"verify-{i}.json",
            file=rel,
        )
        rec.check = done.check
        runs.append(done)
    for i, image in enumerate(record.images):
        # NOTE: the bundles are attached to the image; sbomsign finds them there.
        done = verify_one(run, image.name, trust, work / f"verify-image-{i}.json", file=None)
        image.check = done.check
        if done.check.sha256:
            image.pinned = f"{image_store(image.name, inputs.workspace)}@sha256:{done.check.sha256}"
        runs.append(done)

    reports = [v.report for v in runs if v.report is not None]
    problems = [p for v in runs for p in v.problems]
    for report in reports:
        record.policy = str((report.get("policy") or {}).get("name", ""))
    verdicts = {v.check.verdict for v in runs}
    record.verdict = (
        "ERROR" if "ERROR" in verdicts else "FAILED" if verdicts - {"PASSED"} else "PASSED"
    )
    if reports:
        merged = dict(reports[0])
        merged["artifacts"] = [a for r in reports for a in r.get("artifacts", [])]
        merged["verdict"] = record.verdict
        record.report = results_dir / REPORT_NAME
        record.report.write_text(json.dumps(merged, indent=2) + "\n")
    if record.verdict in FAIL_ON[inputs.fail_on]:
        raise Failed(problems)
    for p in problems:
        annotate("warning", p.message, file=p.file, title=p.title)


# --------------------------------------------------------------------------------------------
# Outputs and summary


def outputs(record: Record) -> dict[str, str]:
    """The step outputs (every one always set, empty when it does not apply)."""
    lines = "\n".join
    arts = record.artifacts
    return {
        "artifacts": lines(record.rel(a.path) for a in arts),
        "sboms": lines(record.rel(p) for a in arts for p in a.sboms),
        "bundles": lines(record.rel(a.signature) for a in arts if a.signature),
        "attestations": lines(record.rel(p) for a in arts for _, p in a.attestations),
        "digests": checksum_lines(record).rstrip("\n"),
        "subject-checksums": record.rel(record.checksums) if record.checksums else "",
        "signer": record.signer,
        "verdict": record.verdict,
        "report": record.rel(record.report) if record.report else "",
        "images": lines(i.pinned for i in record.images if i.pinned),
    }


def write_outputs(env: Mapping[str, str], values: Mapping[str, str]) -> None:
    """Append the outputs to `$GITHUB_OUTPUT` (nothing when run outside a runner)."""
    target = env.get("GITHUB_OUTPUT")
    if not target:
        return
    with open(target, "a", encoding="utf-8") as f:
        for name, value in values.items():
            f.write(heredoc(name, value))


_MARK = {"PASSED": "✅", "FAILED": "❌", "ERROR": "⚠️"}


def _file_table(record: Record) -> list[str]:
    """The produce summary's table of files: what scan found, what was written."""
    out = [
        "| artifact | arch | Go | components | sha256 | SBOMs | signature | attestations |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for a in record.artifacts:
        comps = "" if a.components is None else str(a.components)
        arch = a.arch or (md_text(f"not a binary: {a.scan_problem}") if a.scan_problem else "")
        sboms = ", ".join(md_code(p.name) for p in a.sboms) or "—"
        sig = f"✅ {md_code(a.signature.name)}" if a.signature else "—"
        atts = ", ".join(f"✅ {md_text(k)}" for k, _ in a.attestations) or "—"
        out.append(
            f"| {md_code(record.rel(a.path))} | {md_text(arch)} "
            f"| {md_text(a.go_version)} | {comps} "
            f"| {md_code(a.sha256[:16] + '…') if a.sha256 else ''} "
            f"| {sboms} | {sig} | {atts} |"
        )
    out.append("")
    return out


def _short_digest(pinned: str) -> str:
    digest = pinned.rpartition("@")[2]
    return md_code(digest[: len("sha256:") + 16] + "…")


def _image_table(images: Sequence[ImageRecord]) -> list[str]:
    """The produce summary's table of images: what each name pointed at, what was attached."""
    out = ["| image | digest | signed | attestations |", "|---|---|---|---|"]
    for i in images:
        digest = _short_digest(i.pinned) if i.pinned else "—"
        if i.platforms:
            digest += f" (index of {len(i.platforms)} platform manifests)"
        signed = {subject for subject, _ in i.signatures}
        if i.pinned in signed:
            sig = "✅" + (f" index and {len(signed - {i.pinned})} platforms" if i.platforms else "")
        else:
            sig = "—"
        kinds: dict[str, set[str]] = {}
        for kind, subject, _ in i.attestations:
            kinds.setdefault(kind, set()).add(subject)
        atts = ", ".join(
            f"✅ {md_text(kind)}"
            + ("" if subjects == {i.pinned} else f" ({len(subjects)} platforms)")
            for kind, subjects in kinds.items()
        )
        out.append(f"| {md_code(i.name)} | {digest} | {sig} | {atts or '—'} |")
    out.append("")
    return out


def _check_section(name: str, check: Check, *, pinned: str) -> list[str]:
    """The verify summary's part for one file or image: verdict, signers, each rule."""
    out = [f"### {_MARK.get(check.verdict, '')} {md_code(name)} — {md_text(check.verdict)}\n"]
    if check.error:
        out.append(f"Could not be verified: {md_text(check.error)}\n")
        return out
    if pinned:
        out.append(f"Verified {md_code(pinned)}.\n")
    if check.signers:
        out.append("Signed by: " + ", ".join(md_code(s) for s in check.signers) + "\n")
    out.append("| rule | result | detail |")
    out.append("|---|---|---|")
    for r in check.rules:
        res = "✅ pass" if r.get("passed") else "❌ FAIL"
        out.append(
            f"| {md_code(str(r.get('rule', '')))} | {res} "
            f"| {md_text(str(r.get('message', '')))} |"
        )
    if not any(r.get("rule") == "bundle" for r in check.rules):
        # Bundles that failed verification, unless the policy reported them as rules.
        out.extend(
            f"| {md_code('bundle')} | ❌ rejected "
            f"| {md_text(str(f.get('bundle', '')))}: {md_text(str(f.get('reason', '')))} |"
            for f in check.failures
        )
    out.append("")
    return out


def summary(record: Record) -> str:
    """The job summary in Markdown."""
    inputs = record.inputs
    out: list[str] = []
    if inputs.mode == "produce":
        out.append("## sbomsign: produce\n")
        if record.artifacts or not record.images:
            out.extend(_file_table(record))
        if record.images:
            out.extend(_image_table(record.images))
        if record.signer:
            out.append(f"Signed by {md_code(record.signer)} ({md_text(record.signer_detail)}).")
        elif inputs.sign == "none":
            out.append("Not signed (`sign: none`).")
    else:
        mark = _MARK.get(record.verdict, "")
        out.append(f"## sbomsign: verify — {mark} {md_text(record.verdict)}\n")
        if record.policy:
            out.append(
                f"Policy {md_code(record.policy)}"
                + (f" ({md_code(record.rel(inputs.policy))})" if inputs.policy else "")
                + f"; the step fails on: {md_text(inputs.fail_on)}.\n"
            )
        for a in record.artifacts:
            out.extend(_check_section(record.rel(a.path), a.check, pinned=""))
        for i in record.images:
            out.extend(_check_section(i.name, i.check, pinned=i.pinned))
    shown = [p for p in record.problems if p.in_summary]
    if shown:
        out.append("### Problems\n")
        out.extend(f"- {md_text(p.message)}" for p in shown)
    return "\n".join(out).rstrip("\n") + "\n"


def write_summary(env: Mapping[str, str], text: str) -> None:
    """Append to `$GITHUB_STEP_SUMMARY` (nothing when run outside a runner)."""
    target = env.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(text)


# --------------------------------------------------------------------------------------------
# main


def _sbomsign_exe(env: Mapping[str, str], temp: Path) -> Path:
    given = env.get("SBOMSIGN_ACTION_CLI", "").strip()
    if given:
        exe = Path(given)
        if not (exe.is_file() and os.access(exe, os.X_OK)):
            raise Failed(
                [
                    Problem(
                        f"SBOMSIGN_ACTION_CLI={given}: not an executable file",
                        title="sbomsign: bad SBOMSIGN_ACTION_CLI",
                    )
                ]
            )
        return exe
    return install(temp)


def main(env: Mapping[str, str] | None = None) -> int:
    """Run the action; 0 on success, 1 when the step must fail."""
    env = dict(os.environ if env is None else env)
    try:
        inputs = read_inputs(env)
    except Failed as e:
        for p in e.problems:
            annotate("error", p.message, file=p.file, title=p.title)
        return 1

    temp = Path(env.get("RUNNER_TEMP") or tempfile.gettempdir())
    temp.mkdir(parents=True, exist_ok=True)
    # NOTE: `work` holds key files and intermediate JSON and is removed at the end; results
    # that outputs point at (checksums, the verify report) must outlive the step.
    work = Path(tempfile.mkdtemp(prefix="sbomsign-action-", dir=temp))
    results_dir = inputs.output_dir or Path(tempfile.mkdtemp(prefix="sbomsign-results-", dir=temp))
    record = Record(
        inputs,
        [ArtifactRecord(p) for p in inputs.artifacts],
        images=[ImageRecord(name) for name in inputs.images],
    )
    status = 0
    try:
        exe = _sbomsign_exe(env, temp)
        run = Runner(exe, inputs.workspace, child_env(env))
        if inputs.output_dir is not None:
            inputs.output_dir.mkdir(parents=True, exist_ok=True)
        if inputs.mode == "produce":
            produce(run, record, work)
        else:
            verify(run, record, work, results_dir)
    except Failed as e:
        record.problems.extend(e.problems)
        status = 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if inputs.mode == "produce" and any(a.sha256 for a in record.artifacts):
        record.checksums = results_dir / CHECKSUMS_NAME
        record.checksums.write_text(checksum_lines(record))
    for p in record.problems:
        annotate("error", p.message, file=p.file, title=p.title)
    write_outputs(env, outputs(record))
    write_summary(env, summary(record))
    return status


if __name__ == "__main__":
    sys.exit(main())
