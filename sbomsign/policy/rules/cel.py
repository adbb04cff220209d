"""The `rules` rule family: custom CEL expressions over the inventory and the verified evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sbomsign.policy._context import Evaluation, _signer_json
from sbomsign.policy._model import _Rule

if TYPE_CHECKING:
    from sbomsign.policy._compile import _Builder


def custom_rules(ev: Evaluation, rules: Sequence[_Rule]) -> None:
    from sbomsign._internal import cel

    inv = ev.ev.inventory
    variables = {
        "artifact": {"name": ev.ev.name, "sha256": ev.ev.sha256},
        "inventory": inv.to_json() if inv is not None else None,
        "attestations": [
            {
                "bundle": a.bundle,
                "predicateType": a.predicate_type,
                "kind": a.predicate_kind,
                "signer": _signer_json(a.signer),
                "subjects": [{"name": s.name, "digest": dict(s.digests)} for s in a.subjects],
                "predicate": a.predicate,
                "sbom": a.sbom.to_json() if a.sbom is not None else None,
            }
            for a in ev.accepted
        ],
        "signatures": [
            {"bundle": s.bundle, "sha256": s.sha256, "signer": _signer_json(s.signer)}
            for s in ev.accepted_signatures
        ],
    }
    try:
        bindings = cel.bind(variables, now=ev.now)
    except (ValueError, TypeError) as e:
        for rule in rules:
            ev.add(f"rules[{rule.name}]", False, f"cannot bind the variables: {e}")
        return
    for rule in rules:
        rid = f"rules[{rule.name}]"
        try:
            ok = rule.program.evaluate(bindings)
        except cel.CelError as e:
            hint = " (no artifact file: `inventory` is null)" if inv is None else ""
            ev.add(rid, False, f"evaluation error: {e.message}{hint}")
            continue
        if ok:
            ev.add(rid, True, "holds")
        else:
            ev.add(rid, False, rule.message or f"does not hold: {rule.program.source}")


def check(ev: Evaluation) -> None:
    """Add this family's results to `ev`."""
    if ev.spec.rules:
        custom_rules(ev, ev.spec.rules)


def compile_rules(
    b: _Builder, entries: Sequence[Mapping[str, Any]], path: list[Any]
) -> tuple[_Rule, ...]:
    if not entries:
        return ()
    from sbomsign._internal import cel

    rules: list[_Rule] = []
    for i, entry in enumerate(entries):
        if any(r.name == entry["name"] for r in rules):
            raise b.fail([*path, i, "name"], f"rule name {entry['name']!r} is used twice")
        try:
            program = cel.compile(entry["expression"])
        except cel.CelError as e:
            raise b.fail([*path, i, "expression"], e.message) from e
        rules.append(_Rule(entry["name"], program, entry.get("message", "")))
    return tuple(rules)
