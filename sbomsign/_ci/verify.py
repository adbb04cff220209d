"""verify: `sbomsign verify` per file and per image; the verdict and the merged reports."""

from __future__ import annotations

import glob
import json
import xml.etree.ElementTree as ET  # noqa: S405 - our own CLI's reports, written this run
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sbomsign._ci.common import (
    ATTESTATION_SLUG,
    BUNDLE_SUFFIX,
    FAIL_ON,
    REPORT_FILES,
    REPORT_NAME,
    Failed,
    Inputs,
    Problem,
)
from sbomsign._ci.produce import key_args
from sbomsign._ci.record import Check, Record, sha256_file, signature_bundle
from sbomsign._ci.runner import Runner


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
    """One `sbomsign verify` run: its check, its reports when it wrote them."""

    name: str
    check: Check
    report: dict[str, Any] | None
    problems: list[Problem]
    #: The other reports it wrote (JUnit, Code Quality), by `--format` value.
    files: dict[str, Path]


def _failed_problem(name: str, check: Check, file: str | None) -> Problem:
    failed = [r for r in check.rules if not r.get("passed")]
    # NOTE: one problem per artifact, listing its failed rules: GitHub shows at most 10 error
    # annotations per step, and one tampered file fails many rules.
    lines = [f"- {r.get('rule')}: {r.get('message')}" for r in failed] or [
        "- policy: the policy checked nothing"
    ]
    return Problem(
        f"{name}: {check.verdict}: {len(failed)} of {len(check.rules)} rules failed\n"
        + "\n".join(lines),
        file=file, title=f"sbomsign verify: {name} {check.verdict}", in_summary=False)


def _read_check(art: Mapping[str, Any]) -> Check:
    return Check(
        sha256=str((art.get("digest") or {}).get("sha256", "")),
        verdict=str(art.get("verdict", "FAILED")),
        rules=list(art.get("results", [])),
        failures=list(art.get("failures", [])),
        signers=sorted({_signer_text(s.get("signer") or {})
                        for s in [*art.get("signatures", []), *art.get("attestations", [])]}),
    )


def verify_one(
    run: Runner, name: str, args: Sequence[str], out: Path, *, file: str | None
) -> Verified:
    """`sbomsign verify NAME --format json -o OUT ARGS...` for one file or image, with the
    reports the CI system reads beside OUT.

    `file` is the workspace path annotations point at (None for an image).
    """
    files = {fmt: out.with_suffix(f".{fmt}") for fmt in run.system.reports}
    extra = [a for fmt, path in files.items() for a in ("--format", fmt, "-o", str(path))]
    if run.system.text_log:
        extra += ["--format", "text"]
    result = run(["verify", name, "--format", "json", "-o", str(out), *extra, *args],
                 title=f"sbomsign verify {name}")
    report: dict[str, Any] | None = None
    if result.returncode in (0, 1):
        try:
            report = json.loads(out.read_text())
        except (OSError, ValueError):
            report = None
    if report is None:
        error = "; ".join(result.errors()) or f"exited {result.returncode}"
        check = Check(verdict="ERROR", error=error)
        return Verified(name, check, None, [Problem(f"{name}: could not be verified: {error}",
                                              file=file, title="sbomsign verify: error")], {})
    checks = [(str(art.get("name", "")), _read_check(art)) for art in report.get("artifacts", [])]
    check = _merged(checks) if checks else Check()
    problems = [_failed_problem(name, check, file)] if checks and check.verdict != "PASSED" else []
    return Verified(name, check, report, problems, {f: p for f, p in files.items() if p.is_file()})


def _merged(checks: list[tuple[str, Check]]) -> Check:
    """One check of an image and, for an index verified with `--recursive`, its platform
    manifests: the worst verdict, and each platform's rules named by its digest."""
    head = checks[0][1]
    if len(checks) == 1:
        return head
    verdicts = {c.verdict for _, c in checks}
    rules = list(head.rules)
    for label, c in checks[1:]:
        digest = label.rpartition("@")[2][: len("sha256:") + 12]
        rules.extend({**r, "rule": f"{digest} {r.get('rule', '')}"} for r in c.rules)
    return Check(
        verdict="ERROR" if "ERROR" in verdicts else "FAILED" if verdicts - {"PASSED"}
        else "PASSED",
        rules=rules, signers=sorted({s for _, c in checks for s in c.signers}),
        failures=[f for _, c in checks for f in c.failures], sha256=head.sha256)


def _error_suite(v: Verified) -> ET.Element:
    """The suite of an artifact that could not be verified: one case, in error."""
    suite = ET.Element("testsuite", {
        "name": v.name, "package": "sbomsign.verify", "id": "0", "timestamp": "",
        "hostname": "localhost", "tests": "1", "failures": "0", "errors": "1", "time": "0"})
    ET.SubElement(suite, "properties")
    case = ET.SubElement(suite, "testcase", {"name": "verify", "classname": v.name, "time": "0"})
    ET.SubElement(case, "error", {"message": v.check.error, "type": "error"}).text = v.check.error
    ET.SubElement(suite, "system-out").text = ""
    ET.SubElement(suite, "system-err").text = v.check.error
    return suite


def _merge_junit(runs: list[Verified]) -> bytes:
    """One JUnit document of every run's suites (each run verified one artifact)."""
    root = ET.Element("testsuites")
    for v in runs:
        path = v.files.get("junit")
        suites = ([_error_suite(v)] if path is None else
                  list(ET.parse(path).getroot().iter("testsuite")))  # noqa: S314 - our own file
        for suite in suites:
            suite.set("id", str(len(root)))
            if not suite.get("timestamp"):
                suite.set("timestamp", _timestamp(root))
            root.append(suite)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def _timestamp(root: ET.Element) -> str:
    # NOTE: the schema wants a timestamp on every suite; an errored run has none of its own,
    # so it takes the first written one's (or the epoch, when every run errored).
    found = next((s.get("timestamp") for s in root if s.get("timestamp")), None)
    return found or "1970-01-01T00:00:00"


def _merge_json_lists(runs: list[Verified]) -> bytes:
    paths = [v.files["gitlab-codequality"] for v in runs if "gitlab-codequality" in v.files]
    merged = [item for path in paths for item in json.loads(path.read_text())]
    return json.dumps(merged, indent=2).encode() + b"\n"


_MERGE = {"junit": _merge_junit, "gitlab-codequality": _merge_json_lists}


def _write_reports(runs: list[Verified], record: Record, results_dir: Path,
                   formats: Sequence[str]) -> None:
    reports = [v.report for v in runs if v.report is not None]
    if reports:
        merged = dict(reports[0])
        merged["artifacts"] = [a for r in reports for a in r.get("artifacts", [])]
        merged["verdict"] = record.verdict
        record.report = results_dir / REPORT_NAME
        record.report.write_text(json.dumps(merged, indent=2) + "\n")
    for fmt in formats:
        target = results_dir / REPORT_FILES[fmt]
        target.write_bytes(_MERGE[fmt](runs))
        record.reports[fmt] = target


def _trust_args(inputs: Inputs, work: Path) -> list[str]:
    trust: list[str] = []
    if inputs.policy is not None:
        trust += ["--policy", str(inputs.policy)]
    trust += key_args(inputs.key, work)
    for flag, value in (("--certificate-identity", inputs.certificate_identity),
                        ("--certificate-identity-regexp", inputs.certificate_identity_regexp),
                        ("--certificate-oidc-issuer", inputs.certificate_oidc_issuer)):
        if value:
            trust += [flag, value]
    if inputs.trusted_root is not None:
        trust += ["--trusted-root", str(inputs.trusted_root)]
    return trust


def verify(run: Runner, record: Record, work: Path, results_dir: Path) -> None:
    """`sbomsign verify` per file and per image; the verdict and the merged reports.

    Raises:
        Failed: the verdict fails the step under `fail-on`.
    """
    inputs = record.inputs
    trust = _trust_args(inputs, work)
    runs: list[Verified] = []
    for i, rec in enumerate(record.artifacts):
        rec.sha256 = sha256_file(rec.path)
        rel = record.rel(rec.path)
        done = verify_one(run, rel, [*trust, *_explicit_bundles(inputs, rec.path)],
                          work / f"verify-{i}.json", file=rel)
        rec.check = done.check
        runs.append(done)
    for i, image in enumerate(record.images):
        # NOTE: the bundles are attached to the image; sbomsign finds them there.
        # NOTE: an index is verified with its platform manifests, each answering for its own
        # contents (as produce signed and attested them, with --recursive).
        done = verify_one(run, image.name, [*trust, "--recursive"],
                          work / f"verify-image-{i}.json", file=None)
        image.check = done.check
        if done.check.sha256:
            image.pinned = f"{image_store(image.name, inputs.workspace)}@sha256:{done.check.sha256}"
        runs.append(done)
    for v in runs:
        if v.report is not None:
            record.policy = str((v.report.get("policy") or {}).get("name", ""))
    verdicts = {v.check.verdict for v in runs}
    record.verdict = (
        "ERROR" if "ERROR" in verdicts else "FAILED" if verdicts - {"PASSED"} else "PASSED"
    )
    _write_reports(runs, record, results_dir, run.system.reports)
    problems = [p for v in runs for p in v.problems]
    if record.verdict in FAIL_ON[inputs.fail_on]:
        raise Failed(problems)
    for p in problems:
        run.system.annotate("warning", p.message, file=p.file, title=p.title)
