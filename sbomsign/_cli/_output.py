"""Output helpers shared by the subcommands: atomic writes, `-o -`, overwrite guard."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from sbomsign.errors import InputError


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
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        atomic_write(Path(output), data)
