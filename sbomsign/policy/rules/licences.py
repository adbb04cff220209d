"""The `sbom.allowedLicenses` rule: licence expressions against an allow-list."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sbomsign.models import Component
from sbomsign.policy._context import Evaluation, _component_label
from sbomsign.policy._describe import _listing


def licenses(
    ev: Evaluation, allowed: frozenset[str], components: Iterable[Component], where: str
) -> None:
    bad = []
    judged = 0
    for c in components:
        # NOTE: a licence given by name is judged as an expression of that one word: allowed
        # only where the list names it.
        stated = c.licenses + c.license_names
        verdicts = [_license_allowed(expr, allowed) for expr in stated]
        known = [v for v in verdicts if v is not None]
        if not known:
            continue  # no licence information: not judged
        judged += 1
        if not all(known):
            bad.append(f"{_component_label(c)} ({' AND '.join(stated)})")
    if bad:
        ev.add(
            "sbom.allowedLicenses", False, f"licence(s) not allowed in {where}: {_listing(bad)}"
        )
    else:
        ev.add(
            "sbom.allowedLicenses",
            True,
            f"{judged} component(s) with a known licence, all allowed",
        )


def _license_allowed(expression: str, allowed: frozenset[str]) -> bool | None:
    """Whether an SPDX license expression is satisfied by the allowed ids; None when the
    licence is not known (NOASSERTION, NONE) or the expression cannot be read."""
    tokens: list[str] = re.findall(r"\(|\)|[^\s()]+", expression)
    if not tokens or all(t.upper() in ("NOASSERTION", "NONE") for t in tokens):
        return None
    pos = 0

    def peek() -> str:
        return tokens[pos].upper() if pos < len(tokens) else ""

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def primary() -> bool:
        if peek() == "(":
            take()
            value = disjunction()
            if take() != ")":
                raise ValueError("unbalanced parentheses")
            return value
        ident = take()
        if ident.upper() in ("AND", "OR", "WITH", ")"):
            raise ValueError(f"unexpected {ident}")
        if peek() == "WITH":
            take()
            exception = take()
            # An exception only relaxes the licence: allowing the licence allows it with
            # the exception too; `X WITH Y` may also be allowed as a whole.
            return (
                f"{ident} with {exception}".lower() in allowed
                or ident.lower().removesuffix("+") in allowed
                or ident.lower() in allowed
            )
        return ident.lower() in allowed or ident.lower().removesuffix("+") in allowed

    def conjunction() -> bool:
        value = primary()
        while peek() == "AND":
            take()
            value = primary() and value
        return value

    def disjunction() -> bool:
        value = conjunction()
        while peek() == "OR":
            take()
            value = conjunction() or value
        return value

    try:
        result = disjunction()
    except (ValueError, IndexError):
        return False
    return result if pos == len(tokens) else False
