"""The `provenance` rule family: the builder, source repository and ref an SLSA provenance names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sbomsign.policy._context import Evaluation, _get
from sbomsign.policy._model import _Match, _normal_repository, _Provenance
from sbomsign.verify import KIND_SLSA_PROVENANCE

if TYPE_CHECKING:
    from sbomsign.policy._compile import _Builder


def provenance(ev: Evaluation, prov: _Provenance) -> None:
    checks = [
        (k, m)
        for k, m in (
            ("builderId", prov.builder),
            ("sourceRepository", prov.repository),
            ("ref", prov.ref),
        )
        if m is not None
    ]
    provs = [a for a in ev.accepted if a.predicate_kind == KIND_SLSA_PROVENANCE]
    if not provs:
        for key, _ in checks:
            ev.add(
                f"provenance.{key}",
                False,
                "no verified SLSA provenance attestation from an allowed signer",
            )
        return
    for att in provs:
        facts = _provenance_facts(att.predicate)
        for key, match in checks:
            value = facts.get(key)
            if value is None:
                ev.add(
                    f"provenance.{key}",
                    False,
                    f"the provenance does not state a {key}",
                    att.bundle,
                )
            elif match.test(value):
                ev.add(f"provenance.{key}", True, f"{key} is {value!r}", att.bundle)
            else:
                ev.add(
                    f"provenance.{key}",
                    False,
                    f"{key} {value!r} does not match {match.describe()}",
                    att.bundle,
                )


def _split_source(uri: str) -> tuple[str, str]:
    """(repository, ref) of a `git+https://host/org/repo@refs/tags/v1` source URI."""
    m = re.fullmatch(r"(?P<repo>.+?)@(?P<ref>refs/\S+)", uri.strip())
    if m:
        return _normal_repository(m["repo"]), m["ref"]
    repo, sep, rest = uri.strip().rpartition("@")
    if sep and "/" not in rest:
        # A commit or a short ref after the last `@` (not the user@ of an ssh URI).
        return _normal_repository(repo), rest
    return _normal_repository(uri), ""


def _provenance_facts(predicate: Any) -> dict[str, str]:
    """builderId, sourceRepository and ref of a SLSA v1 or v0.2 provenance predicate."""
    facts: dict[str, str] = {}
    if not isinstance(predicate, dict):
        return facts
    if "runDetails" in predicate or "buildDefinition" in predicate:
        builder = _get(predicate, "runDetails", "builder", "id")
        external = _get(predicate, "buildDefinition", "externalParameters")
        workflow = _get(external, "workflow")
        source = _get(external, "source")
        if isinstance(workflow, dict):
            # GitHub's actions/attest and the SLSA GitHub generator:
            # {"repository": "https://github.com/org/repo", "ref": "refs/tags/v1", "path": ...}
            if isinstance(workflow.get("repository"), str):
                facts["sourceRepository"] = _normal_repository(workflow["repository"])
            if isinstance(workflow.get("ref"), str):
                facts["ref"] = workflow["ref"]
        elif isinstance(source, str | dict):
            uri = source if isinstance(source, str) else source.get("uri")
            if isinstance(uri, str):
                repo, ref = _split_source(uri)
                facts["sourceRepository"] = repo
                if ref:
                    facts["ref"] = ref
    else:
        builder = _get(predicate, "builder", "id")
        uri = _get(predicate, "invocation", "configSource", "uri")
        if isinstance(uri, str):
            repo, ref = _split_source(uri)
            facts["sourceRepository"] = repo
            if ref:
                facts["ref"] = ref
    if isinstance(builder, str):
        facts["builderId"] = builder
    return facts


def check(ev: Evaluation) -> None:
    """Add this family's results to `ev`."""
    if ev.spec.provenance is not None:
        provenance(ev, ev.spec.provenance)


def compile_provenance(b: _Builder, doc: Mapping[str, Any], path: list[Any]) -> _Provenance:
    repository = None
    if "sourceRepository" in doc:
        repository = _Match(exact=_normal_repository(doc["sourceRepository"]))
    elif "sourceRepositoryRegexp" in doc:
        repository = _Match(
            regexp=b.regexp(doc["sourceRepositoryRegexp"], [*path, "sourceRepositoryRegexp"])
        )
    return _Provenance(
        builder=b.match(doc, "builderId", path),
        repository=repository,
        ref=b.match(doc, "ref", path),
    )
