"""The `attestations` rule family: which attestations must be present, and who may sign them.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sbomsign.policy._context import Evaluation
from sbomsign.policy._model import _ANY_TYPE, _SBOM_KINDS, _SBOM_TYPE, _SHORT_TYPES, _Requirement

if TYPE_CHECKING:
    from sbomsign.policy._compile import _Builder


def attestations(ev: Evaluation) -> None:
    specific = [r for r in ev.spec.attestations if r.type != _ANY_TYPE]
    wildcard = next((r for r in ev.spec.attestations if r.type == _ANY_TYPE), None)
    found: dict[str, int] = {r.type: 0 for r in ev.spec.attestations}
    for att in ev.ev.attestations:
        reqs = [r for r in specific if r.covers(att)]
        if not reqs and wildcard is not None:
            reqs = [wildcard]
        if not reqs:
            continue  # a type the policy does not mention: ignored, invisible to rules
        ok_all = True
        for req in reqs:
            if not any(ev.ev.is_subject(dict(s.digests)) for s in att.subjects):
                ok, message = False, "no subject of the statement is this artifact"
            else:
                ok, message = ev.allowed(req, att.signer)
                message = f"{att.predicate_type}: {message}"
            ev.add(req.rule, ok, message, att.bundle)
            ok_all = ok_all and ok
            if ok:
                found[req.type] += 1
        if ok_all:
            ev.accepted.append(att)
    for req in ev.spec.attestations:
        if req.required and not found[req.type]:
            what = "attestation" if req.type == _ANY_TYPE else f"{req.type} attestation"
            ev.add(
                req.rule,
                False,
                f"no verified {what} from an allowed signer" + ev.unverified(),
            )


def check(ev: Evaluation) -> None:
    """Add this family's results to `ev`."""
    if ev.spec.attestations:
        attestations(ev)


def compile_requirement(
    b: _Builder, type_: str, entry: Mapping[str, Any], names: tuple[str, ...], path: list[Any]
) -> _Requirement:
    wanted = entry.get("signers")
    if wanted is None:
        if not names:
            raise b.fail(path, "no signers: define spec.signers")
        wanted = list(names)
    for i, n in enumerate(wanted):
        if n not in names:
            close = difflib.get_close_matches(n, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise b.fail([*path, "signers", i], f"no signer {n!r} in spec.signers{hint}")
    return _Requirement(type_, bool(entry.get("required", True)), tuple(wanted))


def compile_needs_kind(
    b: _Builder,
    attestations: Sequence[_Requirement],
    kinds: Sequence[str],
    path: Sequence[Any],
    wanted: str,
) -> None:
    from sbomsign._internal.intoto import predicate_kind

    for a in attestations:
        if a.type == _ANY_TYPE or (a.type == _SBOM_TYPE and set(kinds) & set(_SBOM_KINDS)):
            return
        kind = a.type if a.type in _SHORT_TYPES else predicate_kind(a.type)
        if kind in kinds:
            return
    raise b.fail(
        path,
        f"needs a {wanted} entry in spec.attestations (other attestation types are ignored)",
    )


def compile_attestations(
    b: _Builder, doc: Mapping[str, Any], names: tuple[str, ...], path: list[Any]
) -> tuple[_Requirement, ...]:
    """The `attestations` list of the policy, each type listed once."""
    attestations: list[_Requirement] = []
    for i, entry in enumerate(doc.get("attestations") or []):
        req = compile_requirement(b, entry["type"], entry, names, [*path, "attestations", i])
        if any(a.type == req.type for a in attestations):
            raise b.fail([*path, "attestations", i, "type"], f"type {req.type!r} is listed twice")
        attestations.append(req)
    return tuple(attestations)
