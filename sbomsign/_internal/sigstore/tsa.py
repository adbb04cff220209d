"""RFC 3161 signed timestamps from a TSA of the trusted root.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sbomsign._internal.sigstore.trustroot import Authority, load_trusted_root
from sbomsign.errors import VerificationError

if TYPE_CHECKING:
    from rfc3161_client import TimeStampResponse

# NOTE: cryptography's x509 module is imported in the functions that read certificates:
# managed-key bundles without log entries never need it, and it is a noticeable part of
# start-up.


def _timestamp_time(
    response: TimeStampResponse, message: bytes, authorities: Sequence[Authority], now: datetime
) -> datetime | None:
    """When a TSA of the root timestamped `message`, or None if none did (validly)."""
    from rfc3161_client import VerificationError as TimestampError
    from rfc3161_client import VerifierBuilder

    for authority in authorities:
        # NOTE: as sigstore-python, an authority whose validity has not begun is ignored, and
        # one listed with fewer than a signing certificate and a root cannot anchor anything.
        chain = authority.certificates if authority.validity.started(now) else ()
        if len(chain) < 2:
            continue
        builder = VerifierBuilder().tsa_certificate(chain[0]).add_root_certificate(chain[-1])
        for intermediate in chain[1:-1]:
            builder = builder.add_intermediate_certificate(intermediate)
        try:
            # NOTE: the message imprint is the hash of the signature bytes (Sigstore's TSA
            # profile); rfc3161-client hashes `message` with the imprint's algorithm.
            builder.build().verify_message(response, message)
        except TimestampError:
            continue
        gen_time = response.tst_info.gen_time
        # protobuf-specs' TimeRange is closed: a time equal to `end` is inside it.
        if authority.validity.covers(gen_time):
            return gen_time
    return None


def _decode_timestamps(timestamps: Sequence[bytes]) -> list[TimeStampResponse]:
    from rfc3161_client import decode_timestamp_response

    try:
        return [decode_timestamp_response(raw) for raw in timestamps]
    except ValueError as e:
        raise VerificationError("RFC 3161 timestamp is malformed") from e


def _distinct(timestamps: Sequence[TimeStampResponse] | Sequence[bytes]) -> None:
    # (how many a bundle may carry, `MAX_TIMESTAMPS`, is bounded when it is parsed)
    if len(set(timestamps)) != len(timestamps):
        raise VerificationError("bundle has duplicate RFC 3161 timestamps")


def verify_timestamps(
    timestamps: Sequence[bytes], signature: bytes, *, trusted_root: bytes | None
) -> tuple[int, ...]:
    """Verify RFC 3161 timestamps over `signature`; return their times (Unix seconds).

    Every timestamp must verify against a timestamp authority of the trusted root and fall in
    that authority's validity period (managed keys: a timestamp that does not verify is an
    error, not ignored).

    Raises:
        VerificationError: one does not (or two are the same).
        InputError: the trusted root is malformed.
    """
    _distinct(timestamps)
    root = load_trusted_root(trusted_root)
    if not root.timestamp_authorities:
        raise VerificationError("bundle has RFC 3161 timestamps but the trusted root has no TSA")
    now = datetime.now(UTC)
    times = []
    for response in _decode_timestamps(timestamps):
        verified = _timestamp_time(response, signature, root.timestamp_authorities, now)
        if verified is None:
            raise VerificationError("RFC 3161 timestamp does not verify against the trusted root")
        times.append(int(verified.timestamp()))
    return tuple(times)


# -- certificates ------------------------------------------------------------------------------


