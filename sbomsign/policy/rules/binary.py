"""The `binary` rule family: hardening, linkage, architecture and Go toolchain of the binaries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sbomsign.models import Binary
from sbomsign.policy._context import Evaluation
from sbomsign.policy._model import _ARCH_ALIASES, _RELRO_ORDER, _Binary

if TYPE_CHECKING:
    from sbomsign.policy._compile import _Builder


def binary(ev: Evaluation, rules: _Binary) -> None:
    keys = []
    if rules.architectures:
        keys.append("architectures")
    keys.extend(k for k, _ in rules.flags)
    if rules.relro:
        keys.append("relro")
    if rules.go_minimum:
        keys.append("goVersion")
    found = ev.binaries()
    if found is None:
        if ev.ev.inventory is not None:
            message = "the scanned file is not this artifact (its digest differs)"
        else:
            message = (
                "binary rules need the artifact file (no verified SBOM describing "
                "this artifact carries its binary facts)"
            )
        for key in keys:
            ev.add(f"binary.{key}", False, message)
        return
    bins, origin = found
    checks: dict[str, Callable[[Binary], tuple[bool, str]]] = {}
    if rules.architectures:
        allowed = rules.architectures
        checks["architectures"] = lambda b: (
            b.arch in allowed,
            f"architecture {b.arch}"
            + ("" if b.arch in allowed else f" is not one of {', '.join(allowed)}"),
        )
    for key, wanted in rules.flags:
        checks[key] = _flag_check(key, wanted)
    if rules.relro:
        checks["relro"] = _relro_check(rules.relro)
    if rules.go_minimum:
        checks["goVersion"] = _go_check(rules.go_minimum)
    for key in keys:
        outcomes = [(b, *checks[key](b)) for b in bins]
        passed = all(ok for _, ok, _ in outcomes)
        shown = [(b, msg) for b, ok, msg in outcomes if ok == passed]

        def label(b: Binary, msg: str) -> str:
            return f"{msg} ({b.arch})" if len(bins) > 1 else msg

        ev.add(f"binary.{key}", passed, "; ".join(label(b, m) for b, m in shown) + origin)


def _flag_check(key: str, wanted: bool) -> Callable[[Binary], tuple[bool, str]]:
    words = {
        "pie": ("position-independent", "not position-independent"),
        "nx": ("non-executable stack and data (NX)", "executable stack or data (no NX)"),
        "stackProtector": ("stack protector", "no stack protector"),
        "fortify": ("fortified (_FORTIFY_SOURCE)", "not fortified"),
        "static": ("statically linked", "dynamically linked"),
        "cgo": ("CGO_ENABLED=1", "CGO_ENABLED=0"),
        "stripped": ("stripped", "not stripped"),
    }[key]

    def value(b: Binary) -> bool | None:
        if key == "static":
            return b.linkage.static
        if key == "cgo":
            setting = b.go.setting("CGO_ENABLED") if b.go is not None else None
            return None if setting is None else setting == "1"
        attr = {"stackProtector": "stack_protector"}.get(key, key)
        result: bool | None = getattr(b.hardening, attr)
        return result

    def check(b: Binary) -> tuple[bool, str]:
        got = value(b)
        if got is None:
            if key == "cgo" and b.go is None:
                return False, "not a Go binary (no build info), CGO_ENABLED unknown"
            if key == "cgo":
                return False, "the build info does not record CGO_ENABLED"
            return False, f"{key} is unknown for this {b.format} binary"
        text = words[0] if got else words[1]
        return got == wanted, text + (
            "" if got == wanted else f", wanted {words[0] if wanted else words[1]}"
        )

    return check


def _relro_check(minimum: str) -> Callable[[Binary], tuple[bool, str]]:
    def check(b: Binary) -> tuple[bool, str]:
        got = b.hardening.relro
        if got is None or got not in _RELRO_ORDER:
            return False, f"RELRO is unknown for this {b.format} binary"
        ok = _RELRO_ORDER[got] >= _RELRO_ORDER[minimum]
        return ok, f"RELRO {got}" + ("" if ok else f", wanted at least {minimum}")

    return check


def _go_check(minimum: str) -> Callable[[Binary], tuple[bool, str]]:
    from sbomsign._internal.versions import VersionError, compare

    def check(b: Binary) -> tuple[bool, str]:
        if b.go is None:
            return False, "not a Go binary (no build info)"
        try:
            ok = compare(b.go.go_version, minimum, "go") >= 0
        except VersionError:
            return False, f"Go version {b.go.go_version!r} cannot be compared"
        return ok, f"built with {b.go.go_version}" + ("" if ok else f", wanted >= {minimum}")

    return check


def check(ev: Evaluation) -> None:
    """Add this family's results to `ev`."""
    if ev.spec.binary is not None:
        binary(ev, ev.spec.binary)


def compile_binary(b: _Builder, doc: Mapping[str, Any]) -> _Binary:
    from sbomsign._internal import versions

    archs = tuple(dict.fromkeys(_ARCH_ALIASES.get(a, a) for a in doc.get("architectures", [])))
    flags = tuple(
        (k, bool(doc[k]))
        for k in ("pie", "nx", "stackProtector", "fortify", "static", "cgo", "stripped")
        if k in doc
    )
    minimum = ""
    if "goVersion" in doc:
        minimum = doc["goVersion"]["minimum"]
        try:
            versions.check(minimum, "go")
        except versions.VersionError as e:
            raise b.fail(["spec", "binary", "goVersion", "minimum"], str(e)) from e
    return _Binary(archs, flags, doc.get("relro", ""), minimum)
