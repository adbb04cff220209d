"""The run's summary in Markdown: GitHub's job summary, a report file on GitLab and Jenkins."""

from __future__ import annotations

from collections.abc import Sequence

from sbomsign._ci.common import md_code, md_text
from sbomsign._ci.record import Check, ImageRecord, Record

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


def _image_row(i: ImageRecord) -> str:
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
        f"✅ {md_text(kind)}" + ("" if subjects == {i.pinned} else f" ({len(subjects)} platforms)")
        for kind, subjects in kinds.items()
    )
    return f"| {md_code(i.name)} | {digest} | {sig} | {atts or '—'} |"


def _image_table(images: Sequence[ImageRecord]) -> list[str]:
    """The produce summary's table of images: what each name pointed at, what was attached."""
    return ["| image | digest | signed | attestations |", "|---|---|---|---|",
            *(_image_row(i) for i in images), ""]


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


def _produce(record: Record) -> list[str]:
    out = ["## sbomsign: produce\n"]
    if record.artifacts or not record.images:
        out.extend(_file_table(record))
    if record.images:
        out.extend(_image_table(record.images))
    if record.signer:
        out.append(f"Signed by {md_code(record.signer)} ({md_text(record.signer_detail)}).")
    elif record.inputs.sign == "none":
        out.append("Not signed (`sign: none`).")
    return out


def _verify(record: Record) -> list[str]:
    inputs = record.inputs
    mark = _MARK.get(record.verdict, "")
    out = [f"## sbomsign: verify — {mark} {md_text(record.verdict)}\n"]
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
    return out


def summary(record: Record) -> str:
    """The run's summary in Markdown."""
    out = _produce(record) if record.inputs.mode == "produce" else _verify(record)
    shown = [p for p in record.problems if p.in_summary]
    if shown:
        out.append("### Problems\n")
        out.extend(f"- {md_text(p.message)}" for p in shown)
    return "\n".join(out).rstrip("\n") + "\n"
