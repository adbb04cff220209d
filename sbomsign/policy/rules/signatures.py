"""The `artifactSignature` rule family: who signed the artifact itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sbomsign.policy._context import Evaluation
from sbomsign.policy._describe import _json_path
from sbomsign.policy._model import _key_hint, _Match, _Signer

if TYPE_CHECKING:
    from sbomsign.policy._compile import _Builder


def signature(ev: Evaluation) -> None:
    req = ev.spec.signature
    if req is None:
        return
    for sig in ev.ev.signatures:
        if sig.sha256 != ev.ev.sha256:
            ev.add(
                req.rule,
                False,
                f"the signature covers sha256:{sig.sha256}, not this artifact",
                sig.bundle,
            )
            continue
        ok, message = ev.allowed(req, sig.signer)
        ev.add(req.rule, ok, message, sig.bundle)
        if ok:
            ev.accepted_signatures.append(sig)
    if req.required and not ev.accepted_signatures:
        ev.add(
            req.rule,
            False,
            "no verified artifact signature from an allowed signer" + ev.unverified(),
        )


def check(ev: Evaluation) -> None:
    """Add this family's results to `ev`."""
    if ev.spec.signature is not None:
        signature(ev)


def compile_signer(b: _Builder, name: str, entry: Mapping[str, Any], path: list[Any]) -> _Signer:
    if "key" in entry:
        key = entry["key"]
        if "pem" in key:
            pem = key["pem"].encode()
            hint = _key_hint(pem, f"{b.source}: {_json_path([*path, 'key', 'pem'])}")
            return _Signer(name, "key", key_pem=pem, key_hint=hint)
        return _Signer(name, "key", key_file=key["file"])
    keyless = entry["keyless"]
    kpath = [*path, "keyless"]
    claims = []
    for claim, value in (keyless.get("claims") or {}).items():
        if isinstance(value, str):
            claims.append((claim, _Match(exact=value)))
        else:
            regexp = b.regexp(value["regexp"], [*kpath, "claims", claim, "regexp"])
            claims.append((claim, _Match(regexp=regexp)))
    return _Signer(
        name,
        "keyless",
        issuer=b.match(keyless, "issuer", kpath),
        identity=b.match(keyless, "identity", kpath),
        claims=tuple(claims),
    )
