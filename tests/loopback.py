"""Ports on 127.0.0.1 for the services the tests start, and Debian's docker-registry there."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, seconds: float = 30) -> None:
    """Return once something accepts connections on 127.0.0.1:`port`.

    Raises:
        RuntimeError: nothing did within `seconds`.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@contextmanager
def docker_registry(work: Path, auth: dict[str, Any]) -> Iterator[str]:
    """Run docker-registry on 127.0.0.1 with `auth` (its config's `auth` section), storing
    under `work`; yield its `HOST:PORT` once it listens, and stop it afterwards."""
    port = free_port()
    (work / "config.yml").write_text(json.dumps({
        "version": 0.1,
        "storage": {"filesystem": {"rootdirectory": str(work / "data")}},
        "http": {"addr": f"127.0.0.1:{port}"},
        "auth": auth,
        "log": {"level": "error"},
    }))
    proc = subprocess.Popen(["docker-registry", "serve", str(work / "config.yml")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
