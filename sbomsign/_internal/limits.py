"""Bounds on untrusted input that a user may need to raise, read from the environment.

Each bound lives beside the parser it protects; the ones a legitimate input could exceed
(a very large image, an SBOM of a whole distribution) are read through `limit` so that the
variable naming them works everywhere, and `LimitExceeded` carries a message that names the
variable. The README's "Limits on hostile input" table lists every bound.
"""

from __future__ import annotations

import os

from sbomsign.errors import InputError


class LimitExceeded(InputError):
    """A configured bound was reached; the message names it and how to raise it."""


def limit(name: str, default: int) -> int:
    """A positive whole-number limit from the environment variable `name`, else `default`.

    Raises:
        InputError: the variable is set but is not a positive whole number.
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise InputError(f"{name}={text!r}: expected a positive whole number")
    return value


def exceeded(subject: str, what: str, bound: int, variable: str | None = None) -> LimitExceeded:
    """The one-line error for `subject` having more than `bound` `what`.

    `variable` is the environment variable that raises the bound, or None for a fixed one.
    """
    how = f"raise {variable} to allow more" if variable else "a fixed limit"
    return LimitExceeded(f"{subject}: more than {bound:,} {what} ({how})")
