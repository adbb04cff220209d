"""The time a document states: `SOURCE_DATE_EPOCH`, else now.

Apart from `common` so that a front end can settle it, and refuse a bad `SOURCE_DATE_EPOCH`,
before a scan without loading the writers.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from sbomsign.errors import SbomError

_ENV_EPOCH = "SOURCE_DATE_EPOCH"


def resolve_timestamp(timestamp: datetime | None) -> datetime:
    """The document time: the given one, else `SOURCE_DATE_EPOCH`, else now; UTC, seconds.

    Raises:
        SbomError: `SOURCE_DATE_EPOCH` is set but not a non-negative integer.
    """
    if timestamp is None:
        epoch = os.environ.get(_ENV_EPOCH, "").strip()
        if epoch:
            if not epoch.isdigit():
                raise SbomError(f"{_ENV_EPOCH} must be a number of seconds, not {epoch!r}")
            try:
                timestamp = datetime.fromtimestamp(int(epoch), UTC)
            except (OverflowError, OSError, ValueError) as e:
                raise SbomError(f"{_ENV_EPOCH} is out of range: {epoch}") from e
        else:
            timestamp = datetime.now(UTC)
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    return timestamp.astimezone(UTC).replace(microsecond=0)
