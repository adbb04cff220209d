"""Output helpers shared by the subcommands: atomic writes, `-o -`, overwrite guard."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from sbomsign.errors import EXIT_ENVIRONMENT, Error, InputError


def atomic_write(path: Path, data: bytes, *, overwrite: bool = True, mode: int = 0o644) -> None:
    """Write `data` to `path` through a temporary file in the same directory and a rename.

    A reader never sees a half-written file, and a failure leaves nothing behind. The file gets
    `mode`; the temporary file is created 0600, so a private key is never readable by others,
    not even for the moment between writing and renaming.

    Raises:
        InputError: the file exists and `overwrite` is false, or it cannot be written.
    """
    if not overwrite and path.exists():
        raise InputError(f"{path}: already exists (use --overwrite to replace it)")
    if path.exists() and not path.is_file():
        # NOTE: a device or pipe (`-o /dev/null`, `-o /dev/stdout`) is written in place;
        # renaming over it would replace the device node itself.
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as e:
            raise InputError(f"{path}: cannot write: {e.strerror}") from e
        return
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise InputError(f"{path}: cannot write: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode != 0o600:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write: {e.strerror}") from e
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def emit(data: bytes, output: str | None) -> None:
    """Write data to stdout (`None` or `-`) or atomically to the named file."""
    if output in (None, "-"):
        if sys.stdout is None:  # NOTE: started with its stdout closed
            raise Error("cannot write to stdout: it is closed", exit_code=EXIT_ENVIRONMENT)
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except OSError as e:
            raise Error(f"cannot write to stdout: {e.strerror or e}",
                        exit_code=EXIT_ENVIRONMENT) from None
    else:
        atomic_write(Path(output), data)


#: The largest document (bundle, SBOM, predicate, policy key, trusted root, trust config) the
#: CLI reads; more is refused before it is read. Raise it with `SBOMSIGN_MAX_INPUT_BYTES`.
DEFAULT_MAX_INPUT_BYTES = 64 << 20


def max_input_bytes() -> int:
    """The limit in force (`SBOMSIGN_MAX_INPUT_BYTES`, else 64 MiB).

    Raises:
        InputError: the variable is not a positive number of bytes.
    """
    raw = os.environ.get("SBOMSIGN_MAX_INPUT_BYTES", "").strip()
    if not raw:
        return DEFAULT_MAX_INPUT_BYTES
    if not raw.isdigit() or int(raw) <= 0:
        raise InputError(f"SBOMSIGN_MAX_INPUT_BYTES={raw!r} is not a positive number of bytes")
    return int(raw)


def read_bounded(path: Path) -> bytes:
    """The bytes of `path`, refusing a file over `max_input_bytes()` without reading it all.

    Raises:
        OSError: the file cannot be read.
        InputError: it is over the limit (the message names the limit and how to raise it).
    """
    limit = max_input_bytes()
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise InputError(
            f"{path}: larger than the {limit}-byte limit on documents"
            " (raise it with SBOMSIGN_MAX_INPUT_BYTES)"
        )
    return data

