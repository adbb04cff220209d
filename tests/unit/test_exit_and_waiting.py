"""The command exits without tearing down the interpreter, yet keeps what a normal exit
does; a scan gives its caller the time it waits for its last files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sbomsign import sbom
from sbomsign._internal import worker
from sbomsign.errors import SbomError
from sbomsign.scan import scan_paths
from tests.conftest import BIN

ROOT = Path(__file__).resolve().parents[2]
GO = BIN / "go-linux-amd64"


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, env=dict(os.environ, OUT=str(tmp_path / "out")))


def test_exit_runs_the_exit_handlers_and_flushes_stdout(tmp_path: Path) -> None:
    done = _python(
        "import atexit, os, sys\n"
        "from sbomsign._cli import exit_now\n"
        "atexit.register(lambda: open(os.environ['OUT'], 'w').write('handler ran'))\n"
        "sys.stdout.write('no newline, still buffered')\n"
        "exit_now(3)\n", tmp_path)
    assert done.returncode == 3
    assert done.stdout == "no newline, still buffered"
    assert (tmp_path / "out").read_text() == "handler ran"


def test_exit_waits_for_another_thread(tmp_path: Path) -> None:
    """With a thread still running (verify's scan beside the bundle checks), the normal exit
    is taken, which waits for it: it may be cleaning up a temporary directory."""
    done = _python(
        "import os, threading, time\n"
        "from sbomsign._cli import exit_now\n"
        "def late():\n"
        "    time.sleep(0.5)\n"
        "    open(os.environ['OUT'], 'w').write('thread finished')\n"
        "threading.Thread(target=late).start()\n"
        "exit_now(2)\n", tmp_path)
    assert done.returncode == 2
    assert (tmp_path / "out").read_text() == "thread finished"


def test_the_command_writes_whole_documents_and_its_exit_codes(tmp_path: Path) -> None:
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    piped = subprocess.run([sys.executable, "-m", "sbomsign", "sbom", str(GO), "-o", "-"],
                           capture_output=True, cwd=ROOT, env=env, timeout=120)
    assert piped.returncode == 0
    written = subprocess.run([sys.executable, "-m", "sbomsign", "sbom", str(GO), "-o",
                              str(tmp_path / "doc.json")], cwd=ROOT, env=env, timeout=120)
    assert written.returncode == 0
    assert piped.stdout == (tmp_path / "doc.json").read_bytes()
    assert json.loads(piped.stdout)["bomFormat"] == "CycloneDX"
    missing = subprocess.run([sys.executable, "-m", "sbomsign", "scan", str(tmp_path / "no")],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert missing.returncode == 2 and "no such file" in missing.stderr.lower()


def wait_for_flag(path: str, display: str | None = None,
                  span: tuple[int, int] | None = None) -> object:
    """Inspect like the real worker, once the file `flag` beside `path` exists."""
    from sbomsign._internal.binary import inspect_file

    flag = Path(path).parent / "flag"
    deadline = time.monotonic() + 20
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return inspect_file(path, display, span)


def test_while_waiting_runs_while_the_workers_still_work(tmp_path: Path) -> None:
    """The workers finish no file before `while_waiting` makes the flag they wait for: it
    runs while they work, once."""
    paths = []
    for name in ("a", "b", "c"):
        (tmp_path / name).write_bytes(GO.read_bytes())
        paths.append(str(tmp_path / name))
    calls: list[float] = []

    def prepare() -> None:
        calls.append(time.monotonic())
        (tmp_path / "flag").touch()

    started = time.monotonic()
    results = worker.run_tasks([worker.Task(i, p, p) for i, p in enumerate(paths)], jobs=2,
                               timeout=60, while_waiting=prepare,
                               target="tests.unit.test_exit_and_waiting:wait_for_flag")
    assert [type(r).__name__ for r in results] == ["Artifact"] * 3
    assert len(calls) == 1 and calls[0] - started < 15


def test_scan_paths_calls_while_waiting_once(tmp_path: Path) -> None:
    calls: list[str] = []
    inventory = scan_paths([str(GO), str(BIN / "c-hello-plain")], jobs=2,
                           while_waiting=lambda: calls.append("called"))
    assert len(inventory.artifacts) == 2 and calls == ["called"]


def test_prepare_loads_the_writers_of_the_formats(tmp_path: Path) -> None:
    done = _python(
        "import sys\n"
        "from sbomsign import sbom\n"
        "before = 'sbomsign._internal.sbom.cyclonedx.fastwrite' in sys.modules\n"
        "sbom.prepare(['cyclonedx-json', sbom.SbomFormat.SPDX3_JSON])\n"
        "print(before, 'sbomsign._internal.sbom.cyclonedx.fastwrite' in sys.modules,\n"
        "      'sbomsign._internal.sbom.spdx3.writer' in sys.modules)\n", tmp_path)
    assert done.stdout.split() == ["False", "True", "True"], done.stderr
    with pytest.raises(SbomError, match="unknown SBOM format"):
        sbom.prepare(["cyclonedx-yaml"])


@pytest.mark.parametrize(("closed", "reason"), [(False, "No space left on device"),
                                                (True, "it is closed")])
def test_stdout_that_cannot_be_written_is_one_line_and_exit_3(closed: bool, reason: str) -> None:
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "sbomsign", "scan", str(GO)],
                              stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                              timeout=120, preexec_fn=(lambda: os.close(1)) if closed else None)
    assert done.returncode == 3
    assert done.stderr == f"sbomsign scan: error: cannot write to stdout: {reason}\n"


def test_a_check_report_that_cannot_be_written_is_one_line_and_exit_3(tmp_path: Path) -> None:
    document = tmp_path / "doc.json"
    subprocess.run([sys.executable, "-m", "sbomsign", "sbom", str(GO), "-o", str(document)],
                   check=True, cwd=ROOT, timeout=120)
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "sbomsign", "sbom", "--check", "bsi",
                               str(document)], stdout=full, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT, timeout=120)
    assert done.returncode == 3
    assert done.stderr == "sbomsign sbom: error: cannot write to stdout: No space left on device\n"
