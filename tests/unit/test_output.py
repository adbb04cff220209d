"""Atomic output files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sbomsign._cli._output import atomic_write
from sbomsign.errors import InputError


def test_atomic_write_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(InputError, match="already exists"):
        atomic_write(target, b"new", overwrite=False)
    assert target.read_text() == "old"
    atomic_write(target, b"new")
    assert target.read_text() == "new"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_private_files_are_0600(tmp_path: Path) -> None:
    target = tmp_path / "k.key"
    atomic_write(target, b"secret", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_devices_are_written_in_place(tmp_path: Path) -> None:
    atomic_write(Path(os.devnull), b"discarded")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        atomic_write(fifo, b"through the pipe")
        assert os.read(fd, 100) == b"through the pipe"
    finally:
        os.close(fd)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_unwritable_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write"):
        atomic_write(tmp_path / "missing-dir" / "out.json", b"x")
