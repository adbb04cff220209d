from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from sbomsign._internal.sigstore.dsse import decode_base64
from sbomsign._internal.sigstore.trustroot import _DIGITS, _U64_MAX
from sbomsign.errors import InputError


class _Malformed(ValueError):
    """A structural defect, described for the user."""


def _only(value: object, allowed: frozenset[str], what: str) -> Mapping[str, Any]:
    """`value` as a JSON object with no member outside `allowed`."""
    if not isinstance(value, Mapping):
        raise _Malformed(f"{what} is not a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _Malformed(f"{what} has an unknown member {unknown[0]!r}")
    return value


def _u64(value: object, what: str) -> int:
    # NOTE: protobuf's JSON mapping writes 64-bit integers as decimal strings.
    if not isinstance(value, str) or not _DIGITS.fullmatch(value) or int(value) > _U64_MAX:
        raise _Malformed(f"{what} is not a decimal 64-bit integer string")
    return int(value)


def _u64_or_zero(value: object, what: str) -> int:
    # NOTE: protobuf's JSON mapping leaves out a field at its default: a log index of 0 is
    # absent from what sigstore-js writes for a log's first entry (sigstore-go reads 0).
    return 0 if value is None else _u64(value, what)


def _bytes(value: object, what: str) -> bytes:
    try:
        return decode_base64(value, what)
    except InputError as e:
        raise _Malformed(e.message) from e


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise _Malformed(f"{what} is not a string")
    return value


def _b64(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a base64 string")
    return base64.b64decode(value, validate=True)
