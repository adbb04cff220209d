"""The verify reports CI systems show natively: JUnit XML (Jenkins' JUnit plugin, GitLab's
`artifacts:reports:junit`) and GitLab Code Quality JSON (`artifacts:reports:codequality`).

JUnit: one test suite per artifact and one test case per policy rule, failed when any result
of that rule failed, with every reason; the suite's properties carry the artifact's digest,
the policy and the verdict, and its `system-out` the text report's lines for the artifact.
The document is valid against the Apache Ant JUnit schema (the strictest of the schemas those
tools read). Code Quality: one issue per failed result.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET  # noqa: S405 - writing only, from our own values
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sbomsign._cli._verify_reports import Outcome
    from sbomsign.policy import Policy, RuleResult


def _by_rule(results: tuple[RuleResult, ...]) -> dict[str, list[RuleResult]]:
    grouped: dict[str, list[RuleResult]] = {}
    for r in results:
        grouped.setdefault(r.rule, []).append(r)
    return grouped


def _line(r: RuleResult) -> str:
    return f"{r.message} [{r.bundle}]" if r.bundle else r.message


_NO_RULE = "no policy rule applied to this artifact"


def report_junit(outcomes: list[Outcome], pol: Policy, now: datetime) -> bytes:
    """The JUnit XML report (UTF-8, with declaration)."""
    root = ET.Element("testsuites")
    for index, o in enumerate(outcomes):
        # Per rule, its failing results as (message, detail line).
        failed = {rule: [(r.message, _line(r)) for r in rs if not r.passed]
                  for rule, rs in _by_rule(o.results).items()}
        if not failed:
            # NOTE: no rule applied is a failed verdict (nothing was shown to hold); it is one
            # failed case, so a CI view does not show an empty green suite.
            failed = {"policy": [(_NO_RULE, "")]}
        suite = ET.SubElement(root, "testsuite", {
            "name": o.evidence.name, "package": "sbomsign.verify", "id": str(index),
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S"), "hostname": "localhost",
            "tests": str(len(failed)), "failures": str(sum(bool(v) for v in failed.values())),
            "errors": "0", "time": "0"})
        properties = ET.SubElement(suite, "properties")
        for name, value in (("digest", o.evidence.label), ("policy", pol.name),
                            ("policyDigest", f"sha256:{pol.digest}"),
                            ("verdict", "PASSED" if o.passed else "FAILED")):
            ET.SubElement(properties, "property", {"name": name, "value": value})
        for rule, bad in failed.items():
            case = ET.SubElement(suite, "testcase",
                                 {"name": rule, "classname": o.evidence.name, "time": "0"})
            if bad:
                more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
                failure = ET.SubElement(case, "failure",
                                        {"message": bad[0][0] + more, "type": "policy"})
                failure.text = "\n".join(line for _, line in bad) or None
        ET.SubElement(suite, "system-out").text = "\n".join(
            f"{'pass' if r.passed else 'FAIL'}  {r.rule}: {_line(r)}" for r in o.results)
        ET.SubElement(suite, "system-err").text = ""
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def report_codequality(outcomes: list[Outcome], pol: Policy) -> bytes:
    """The GitLab Code Quality report: a JSON array with one issue per failed result."""
    issues: list[dict[str, Any]] = []
    for o in outcomes:
        for r in o.results:
            if r.passed:
                continue
            path = r.bundle or o.evidence.name
            # A fingerprint identifies an issue across pipelines: same artifact, rule, bundle
            # and reason.
            key = "\0".join((o.evidence.name, r.rule, r.bundle, r.message))
            issues.append({
                "description": f"{o.evidence.name}: {r.rule}: {r.message} "
                               f"(policy {pol.name})",
                "check_name": r.rule,
                "fingerprint": hashlib.sha256(key.encode()).hexdigest(),
                "severity": "critical",
                "location": {"path": path, "lines": {"begin": 1}},
            })
    return json.dumps(issues, indent=2).encode() + b"\n"
