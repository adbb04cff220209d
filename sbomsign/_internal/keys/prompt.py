"""Asking for a key's password: from the environment, or on the terminal.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Mapping

from sbomsign.errors import SigningError


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed or detached stdin
        return False


def read_password(
    name: str,
    *,
    confirm: bool = False,
    environ: Mapping[str, str] | None = None,
    prompt: Callable[[str], str] | None = None,
    interactive: bool | None = None,
) -> bytes:
    """The password for key `name`: `SBOMSIGN_KEY_PASSWORD`, `COSIGN_PASSWORD`, or a prompt.

    The prompt (`getpass`) is used only when stdin is a terminal; `confirm` asks twice.
    `environ`, `prompt` and `interactive` exist for tests.

    Raises:
        SigningError: no variable is set and there is no terminal, or the two entries differ.
    """
    env = os.environ if environ is None else environ
    for var in PASSWORD_ENV:
        if var in env:
            # NOTE: a variable set to "" means the empty password (as in cosign), not "unset".
            return env[var].encode("utf-8")
    if interactive is None:
        interactive = _stdin_is_tty()
    if not interactive:
        raise SigningError(
            f"no password for {name}: set SBOMSIGN_KEY_PASSWORD (or COSIGN_PASSWORD)"
        )
    ask = prompt or getpass.getpass
    first = ask(f"Password for {name}: ")
    if confirm and ask(f"Password for {name} (again): ") != first:
        raise SigningError("the passwords do not match")
    return first.encode("utf-8")




#: Environment variables read for a key password, in order.
PASSWORD_ENV = ("SBOMSIGN_KEY_PASSWORD", "COSIGN_PASSWORD")
