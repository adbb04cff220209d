"""produce: scan, sbom, sign and attest the files; sign and attest the images where stored."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from sbomsign._ci.common import (
    ATTEST_PREDICATE_FORMAT,
    SBOM_SUFFIXES,
    Failed,
    KeyMaterial,
    Problem,
)
from sbomsign._ci.record import (
    ArtifactRecord,
    ImageRecord,
    Record,
    attestation_bundle,
    sbom_path,
    sha256_file,
    signature_bundle,
)
from sbomsign._ci.runner import Result, Runner

#: What `sbomsign sign`/`attest` print before keyless signing.
KEYLESS_SIGNER = re.compile(
    r"signing as (?P<identity>.+?) \(issuer (?P<issuer>[^)]*)\) with (?P<instance>.+)$"
)
#: What `sbomsign sign`/`attest` print per image once its bundle is attached to it.
ATTACHED = re.compile(
    r"^sbomsign: (?:signed|attested (?P<kind>\S+) about) "
    r"(?P<subject>.+@sha256:[0-9a-f]{64}): attached as (?P<referrer>.+@sha256:[0-9a-f]{64})$"
)
#: What `sbomsign -v sign --key` logs about the key; an image has no bundle file to read the
#: key's hint from.
KEY_SIGNER = re.compile(r"^INFO signing with \S+ key (?P<hint>\S+)$")


def cli_problems(result: Result, record: Record, title: str) -> list[Problem]:
    """One problem per error line sbomsign printed, attached to the file it names."""
    problems: list[Problem] = []
    by_name = {record.rel(a.path): a.path for a in record.artifacts}
    for message in result.errors() or [f"exited with status {result.returncode}"]:
        head, sep, _ = message.partition(": ")
        file = head if sep and head in by_name else None
        problems.append(Problem(message, file=file, title=title))
    return problems


def _scan_facts(doc: dict[str, object], record: Record) -> None:
    arts = doc.get("artifacts")
    by_path = {
        os.path.abspath(record.inputs.workspace / str(a.get("path", ""))): a
        for a in (arts if isinstance(arts, list) else []) if isinstance(a, dict)
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


def scan(run: Runner, record: Record, work: Path) -> list[Problem]:
    """Inventory the artifacts (for the summary); problems for files that are no binaries."""
    out = work / "scan.json"
    rels = [record.rel(a.path) for a in record.artifacts]
    result = run(["scan", "--format", "json", "-o", str(out), *rels], title="sbomsign scan")
    try:
        doc = json.loads(out.read_text())
    except (OSError, ValueError):
        return cli_problems(result, record, "sbomsign scan")
    _scan_facts(doc, record)
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


def key_args(keys: Sequence[KeyMaterial], work: Path, *, flag: str = "--key") -> list[str]:
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
        m = KEY_SIGNER.match(line)
        if m and not record.signer:
            record.signer = f"key:{m.group('hint')}"
            record.signer_detail = "managed key"


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


def _sbom_command(record: Record) -> list[str]:
    inputs = record.inputs
    args = ["sbom", "--format", ",".join(inputs.sbom_formats)]
    if inputs.output_dir is not None:
        args += ["--output-dir", str(inputs.output_dir)]
    if inputs.supplier:
        args += ["--supplier", inputs.supplier]
    if inputs.author:
        args += ["--author", inputs.author]
    return args


def _produce_sboms(run: Runner, record: Record) -> None:
    inputs = record.inputs
    result = run([*_sbom_command(record), *(record.rel(a.path) for a in record.artifacts)])
    for rec in record.artifacts:
        rec.sboms = [
            p for fmt in inputs.sbom_formats if (p := sbom_path(inputs, rec.path, fmt)).is_file()
        ]
    if result.returncode != 0:
        raise Failed(cli_problems(result, record, "sbomsign sbom"))


def _image_sboms(run: Runner, record: Record, output_dir: Path) -> None:
    """SBOM files of each image (one per platform and format) in `output_dir`, for the CI
    system's dependency view; the attested SBOMs are attached to the images themselves."""
    suffixes = tuple(SBOM_SUFFIXES[fmt] for fmt in record.inputs.sbom_formats)
    for image in record.images:
        before = set(output_dir.iterdir())
        result = run([*_sbom_command(record), image.name], title=f"sbomsign sbom {image.name}")
        image.sboms = sorted(p for p in set(output_dir.iterdir()) - before
                             if p.name.endswith(suffixes))
        if result.returncode != 0:
            raise Failed(cli_problems(result, record, "sbomsign sbom"))


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
            raise Failed(cli_problems(result, record, "sbomsign sign"))


def _sbom_args(record: Record, kind: str) -> list[str]:
    inputs = record.inputs
    if kind not in ATTEST_PREDICATE_FORMAT:
        return []
    return [*(["--supplier", inputs.supplier] if inputs.supplier else []),
            *(["--author", inputs.author] if inputs.author else [])]


def _attest_args(record: Record, rec: ArtifactRecord, kind: str, sign_args: list[str]) -> list[str]:
    inputs = record.inputs
    bundle = attestation_bundle(inputs, rec.path, kind)
    args = ["attest", record.rel(rec.path), "--type", kind, "--bundle", str(bundle), *sign_args]
    fmt = ATTEST_PREDICATE_FORMAT.get(kind)
    if fmt in inputs.sbom_formats:
        # NOTE: attest the very SBOM file that is published, not a regenerated one.
        args += ["--predicate", str(sbom_path(inputs, rec.path, fmt))]
    return args + _sbom_args(record, kind)


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
                raise Failed(cli_problems(result, record, "sbomsign attest"))


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
    run: Runner, record: Record, sign_args: list[str], password: dict[str, str]
) -> None:
    """Sign each image (and an index's platforms), then attest it, where it is stored."""
    for image in record.images:
        # NOTE: `-v` makes `sign --key` log the key's hint, which the signer output needs and
        # which a file gets from its bundle; an image's bundle is in the registry.
        verbose = ["-v"] if "--key" in sign_args else []
        calls = [(["sign", *verbose, "--recursive", *sign_args, image.name],
                  f"sbomsign sign {image.name}", "sbomsign sign")]
        calls += [(["attest", "--recursive", "--type", kind, *sign_args,
                    *_sbom_args(record, kind), image.name],
                   f"sbomsign attest {image.name} --type {kind}", "sbomsign attest")
                  for kind in record.inputs.attest]
        for args, title, what in calls:
            result = run(args, extra_env=password, title=title)
            _note_signer(result, record)
            _note_attached(result, image)
            if result.returncode != 0:
                raise Failed(cli_problems(result, record, what))


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
            run.system.annotate("warning", problem.message, file=problem.file,
                                title=problem.title)
    if inputs.sbom_formats and record.artifacts:
        _produce_sboms(run, record)
    if inputs.sbom_formats and inputs.output_dir is not None:
        _image_sboms(run, record, inputs.output_dir)
    if inputs.sign == "none":
        return
    sign_args = key_args(inputs.key, work) if inputs.sign == "key" else []
    if inputs.sign == "keyless" and inputs.trust_config is not None:
        sign_args += ["--trust-config", str(inputs.trust_config)]
    password = {"SBOMSIGN_KEY_PASSWORD": inputs.key_password} if inputs.key_password else {}
    if record.artifacts:
        file_args = [*sign_args, *(["--overwrite"] if inputs.overwrite else [])]
        _produce_signatures(run, record, file_args, password)
        _produce_attestations(run, record, file_args, password)
    _produce_images(run, record, sign_args, password)
