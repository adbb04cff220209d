from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sbomsign._internal.sigstore.bodies import ExpectedEntry, _check_managed_body, _Mismatch
from sbomsign._internal.sigstore.rekor import PROMISING_KINDS, _verify_entry, parse_log_entry
from sbomsign._internal.sigstore.trustroot import load_trusted_root
from sbomsign.errors import VerificationError


def verify_log_entries(
    entries: Sequence[Mapping[str, Any]],
    expected: ExpectedEntry,
    *,
    trusted_root: bytes | None,
    require_promise: bool = False,
) -> tuple[int, ...]:
    """Verify a managed-key bundle's transparency-log entries; return the verified times.

    Each entry must record this signature, key and digest (or payload), and verify against
    the Rekor keys of the trusted root: inclusion proof and signed checkpoint, and the
    inclusion promise (SET) when present. `require_promise` (bundle v0.1) makes the promise
    mandatory. The returned times are the integration times bound by a verified promise.

    Raises:
        VerificationError: an entry is malformed, does not match, or does not verify.
        InputError: the trusted root is malformed.
    """
    root = load_trusted_root(trusted_root)
    times: list[int] = []
    for raw in entries:
        entry = parse_log_entry(raw)
        try:
            _check_managed_body(entry.kind, entry.version, entry.body, expected)
        except _Mismatch as e:
            raise VerificationError(
                f"transparency log entry does not match the bundle ({e})"
            ) from e
        except (ValueError, KeyError, TypeError, binascii.Error) as e:
            raise VerificationError("transparency log entry body is malformed") from e
        if require_promise and entry.signed_entry_timestamp is None:
            raise VerificationError("transparency log entry has no inclusion promise")
        if entry.inclusion_proof is None and not require_promise:
            raise VerificationError("transparency log entry has no inclusion proof")
        if entry.inclusion_proof is not None and entry.inclusion_proof.checkpoint is None:
            raise VerificationError(
                "transparency log entry has no inclusion proof with a checkpoint"
            )
        promised = entry.promised_time
        moments = [datetime.fromtimestamp(promised, UTC)] if promised is not None else []
        _verify_entry(entry, root, moments)
        if promised is not None:
            if (entry.kind, entry.version) not in PROMISING_KINDS:
                raise VerificationError("an inclusion promise on a Rekor v2 entry")
            times.append(promised)
    return tuple(times)
