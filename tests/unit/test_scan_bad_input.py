"""Hostile and broken inputs: one problem per bad file, the others still scanned."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import pytest

from sbomsign._internal import worker
from sbomsign.models import Artifact, Inventory, ScanProblem
from sbomsign.scan import scan_paths
from tests.conftest import BIN

GOOD = "c-hello-plain"


def _scan_with_good(tmp_path: Path, bad: Path) -> Inventory:
    good = tmp_path / GOOD
    shutil.copy(BIN / GOOD, good)
    return scan_paths([str(bad), str(good)], jobs=2)


def _one_problem(inv: Inventory, bad: Path) -> ScanProblem:
    assert [Path(a.path).name for a in inv.artifacts] == [GOOD]
    assert len(inv.problems) == 1, inv.problems
    problem = inv.problems[0]
    assert problem.path == str(bad)
    assert "\n" not in problem.message and problem.message
    assert problem.exit_code == 2
    return problem


def test_zero_byte_file(tmp_path: Path) -> None:
    bad = tmp_path / "empty"
    bad.write_bytes(b"")
    assert "empty" in _one_problem(_scan_with_good(tmp_path, bad), bad).message


@pytest.mark.parametrize("source", ["go-linux-amd64", "pe-hello.exe", "go-darwin-arm64"])
def test_truncated_headers(tmp_path: Path, source: str) -> None:
    bad = tmp_path / f"truncated-{source}"
    bad.write_bytes((BIN / source).read_bytes()[:100])
    _one_problem(_scan_with_good(tmp_path, bad), bad)


@pytest.mark.parametrize(
    "magic",
    [b"\x7fELF\x02\x01\x01", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe\x00\x00\x00\x02"],
    ids=["elf", "macho", "fat"],
)
def test_random_bytes_with_a_valid_magic(tmp_path: Path, magic: bytes) -> None:
    bad = tmp_path / "random"
    bad.write_bytes(magic + os.urandom(8192))
    _one_problem(_scan_with_good(tmp_path, bad), bad)


def test_random_pe(tmp_path: Path) -> None:
    data = bytearray(os.urandom(8192))
    data[:2] = b"MZ"
    data[60:64] = (128).to_bytes(4, "little")
    data[128:132] = b"PE\0\0"
    bad = tmp_path / "random.exe"
    bad.write_bytes(bytes(data))
    _one_problem(_scan_with_good(tmp_path, bad), bad)


def test_a_real_header_over_random_tables_is_read_quietly(tmp_path: Path) -> None:
    """A real ELF header whose tables point into random bytes: lief builds sections and
    segments of types its enums lack. The raw numbers are read (once an AttributeError on
    the first unknown type), and lief's warning for each one stays off the user's stderr."""
    import random

    bad = tmp_path / "header-over-noise"
    bad.write_bytes((BIN / "go-linux-amd64").read_bytes()[:64]
                    + random.Random(7).randbytes(3 << 20))
    done = subprocess.run([sys.executable, "-m", "sbomsign", "scan", "--format", "json",
                           str(bad)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert '"format": "elf"' in done.stdout


def test_not_a_binary_given_explicitly(tmp_path: Path) -> None:
    bad = tmp_path / "README"
    bad.write_text("hello\n")
    assert "not an ELF, PE or Mach-O" in _one_problem(_scan_with_good(tmp_path, bad), bad).message


def test_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "nope"
    _one_problem(_scan_with_good(tmp_path, bad), bad)


def _buildinfo_offset(data: bytes) -> int:
    off = data.find(b"\xff Go buildinf:")
    assert off >= 0 and off % 16 == 0
    return off


def test_buildinfo_varint_past_the_end_falls_back_to_the_module_blob(tmp_path: Path) -> None:
    data = bytearray((BIN / "go-linux-amd64").read_bytes())
    off = _buildinfo_offset(bytes(data))
    # The first uvarint after the 32-byte header is the version length: make it huge.
    data[off + 32 : off + 37] = b"\xff\xff\xff\xff\x0f"
    bad = tmp_path / "damaged-go"
    bad.write_bytes(bytes(data))
    inv = scan_paths([str(bad)], jobs=1)
    assert not inv.problems
    (a,) = inv.artifacts
    b = a.binaries[0]
    assert b.errors and "Go build info is damaged" in b.errors[0]
    assert b.go is not None and b.go.evidence == "modinfo-sentinels"
    assert b.go.go_version.startswith("go1.19")
    assert len(b.go.deps) >= 4
    assert any("weaker evidence" in w for w in b.warnings)
    assert all(
        c.evidence[0].confidence < 1.0 for c in a.components if c.kind.value.startswith("go")
    )


def test_missing_buildinfo_header_is_recovered_with_a_warning(tmp_path: Path) -> None:
    data = bytearray((BIN / "go-linux-arm64").read_bytes())
    off = _buildinfo_offset(bytes(data))
    data[off : off + 14] = b"\0" * 14
    bad = tmp_path / "no-header"
    bad.write_bytes(bytes(data))
    (a,) = scan_paths([str(bad)], jobs=1).artifacts
    b = a.binaries[0]
    assert not b.errors
    assert b.go is not None and b.go.evidence == "modinfo-sentinels"
    assert b.warnings


def test_dep_v0_zip_bomb(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zz"
    compressor = zlib.compressobj(9)
    with open(bomb, "wb") as f:
        chunk = b"\0" * (1 << 20)
        for _ in range(512):  # 512 MiB of zeros, about 500 KiB compressed
            f.write(compressor.compress(chunk))
        f.write(compressor.flush())
    bad = tmp_path / "bomb-elf"
    subprocess.run(
        ["objcopy", "--add-section", f".dep-v0={bomb}", str(BIN / GOOD), str(bad)], check=True
    )
    started = time.monotonic()
    inv = scan_paths([str(bad)], jobs=1)
    assert time.monotonic() - started < 60
    (a,) = inv.artifacts
    (err,) = a.errors
    assert err.startswith(".dep-v0:")
    assert a.binaries[0].rust is None


def _scan_as_nobody(path: str, conn: multiprocessing.connection.Connection) -> None:
    from sbomsign.scan import scan_file

    # NOTE: the interpreter's own library may live where `nobody` cannot read (root's home):
    # a scan and an inspection as root load every module the scan and its workers import
    # lazily (the workers are forked from this process).
    scan_paths([path], jobs=1)
    scan_file(os.path.join(path, "readable"))
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
    try:
        conn.send(scan_paths([path], jobs=1))
    except Exception as e:  # noqa: BLE001 - reported to the test, not lost in a dead child
        conn.send(f"{type(e).__name__}: {e}")


def test_directory_with_unreadable_files(tmp_path: Path) -> None:
    # NOTE: pytest's tmp_path sits under a 0700 directory; `nobody` needs a path it can walk.
    base = Path(tempfile.mkdtemp(prefix="sbomsign-perm-"))
    base.chmod(0o755)
    tree = base / "tree"
    (tree / "sub").mkdir(parents=True)
    shutil.copy(BIN / GOOD, tree / "readable")
    shutil.copy(BIN / "go-linux-386", tree / "sub" / "secret")
    (tree / "sub" / "secret").chmod(0o000)
    locked = tree / "locked"
    locked.mkdir()
    shutil.copy(BIN / "go-linux-386", locked / "hidden")
    locked.chmod(0o000)
    tree.chmod(0o755)
    (tree / "sub").chmod(0o755)
    try:
        if os.geteuid() == 0:
            # root reads everything; drop to `nobody` in a child to see the permission errors.
            ctx = multiprocessing.get_context("fork")
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_scan_as_nobody, args=(str(tree), child))
            proc.start()
            assert parent.poll(120), "the scan as nobody gave no answer"
            answer = parent.recv()
            assert isinstance(answer, Inventory), answer
            inv: Inventory = answer
            proc.join()
        else:
            inv = scan_paths([str(tree)], jobs=1)
    finally:
        (tree / "sub" / "secret").chmod(0o644)
        locked.chmod(0o755)
        shutil.rmtree(base)
    assert [Path(a.path).name for a in inv.artifacts] == ["readable"], inv.problems
    problems = {Path(p.path).name: p.message for p in inv.problems}
    assert set(problems) == {"secret", "locked"}
    assert all("Permission denied" in m for m in problems.values())


def crash_on_poison(path: str, display: str | None = None,
                    span: tuple[int, int] | None = None) -> Artifact:
    """Inspect like the real worker, but die hard on files named `poison` or hang on `slow`."""
    from sbomsign._internal.binary import inspect_file

    name = Path(path).name
    if name == "poison":
        os.kill(os.getpid(), signal.SIGSEGV)
    if name == "slow":
        time.sleep(60)
    return inspect_file(path, display, span)


def _scan_poisoned(tmp_path: Path, names: list[str], jobs: int) -> list[Artifact | ScanProblem]:
    """Copies of a good binary under `names`, scanned by `crash_on_poison` workers."""
    paths = []
    for name in names:
        shutil.copy(BIN / GOOD, tmp_path / name)
        paths.append(str(tmp_path / name))
    tasks = [worker.Task(i, p, p) for i, p in enumerate(paths)]
    return worker.run_tasks(
        tasks, jobs=jobs, timeout=3, target="tests.unit.test_scan_bad_input:crash_on_poison"
    )


def test_a_crashing_parser_does_not_stop_the_scan(tmp_path: Path) -> None:
    results = _scan_poisoned(tmp_path, ["a", "poison", "b", "slow", "c"], jobs=2)
    kinds = [(Path(r.path).name, type(r).__name__) for r in results]
    assert kinds == [
        ("a", "Artifact"),
        ("poison", "ScanProblem"),
        ("b", "Artifact"),
        ("slow", "ScanProblem"),
        ("c", "Artifact"),
    ]
    poison, slow = results[1], results[3]
    assert isinstance(poison, ScanProblem) and "crashed" in poison.message
    assert "SIGSEGV" in poison.message
    assert isinstance(slow, ScanProblem) and "timed out" in slow.message


def test_the_files_sent_behind_a_crash_are_scanned(tmp_path: Path) -> None:
    # A worker is sent its next file before it answers the one it is on; when it crashes or
    # overruns, the file sent behind goes to the new worker.
    results = _scan_poisoned(tmp_path, ["poison", "a", "slow", "b"], jobs=1)
    kinds = [(Path(r.path).name, type(r).__name__) for r in results]
    assert kinds == [("poison", "ScanProblem"), ("a", "Artifact"), ("slow", "ScanProblem"),
                     ("b", "Artifact")]


def inspect_and_log(path: str, display: str | None = None,
                    span: tuple[int, int] | None = None) -> Artifact:
    """Inspect like the real worker, then note the path in the file `SBOMSIGN_TEST_LOG`."""
    from sbomsign._internal.binary import inspect_file

    found = inspect_file(path, display, span)
    with open(os.environ["SBOMSIGN_TEST_LOG"], "a") as log:
        log.write(path + "\n")
    return found


def test_files_found_early_are_scanned_before_the_list_is_final(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The way an image is read: each binary is offered as soon as it is on disk; the final
    # list then names some of them (under the path shown to the user), drops those a later
    # layer replaced, and adds others. A file offered early is parsed at once: here it is
    # deleted once parsed, and its final task still gets its artifact.
    log = tmp_path / "log"
    log.touch()
    monkeypatch.setenv("SBOMSIGN_TEST_LOG", str(log))
    files = {}
    for name in ["early", "replaced", "late"]:
        shutil.copy(BIN / GOOD, tmp_path / name)
        files[name] = str(tmp_path / name)

    def tasks(early: worker.Early) -> list[worker.Task]:
        early(files["early"], None)
        early(files["replaced"], None)
        deadline = time.monotonic() + 60
        while files["early"] not in log.read_text().split() and time.monotonic() < deadline:
            time.sleep(0.01)
        os.remove(files["early"])
        return [worker.Task(0, files["early"], "/usr/bin/early"),
                worker.Task(1, files["late"], "/usr/bin/late")]

    results = worker.run_tasks(
        tasks, jobs=2, target="tests.unit.test_scan_bad_input:inspect_and_log"
    )
    assert [(type(r).__name__, r.path) for r in results] == [
        ("Artifact", "/usr/bin/early"), ("Artifact", "/usr/bin/late")]
    assert isinstance(results[0], Artifact) and results[0].name == "early"


def test_memory_limit_is_enforced(tmp_path: Path) -> None:
    shutil.copy(BIN / "go-linux-amd64", tmp_path / "go")
    # 64 MiB of address space cannot even hold the interpreter's own mappings.
    inv = scan_paths([str(tmp_path / "go")], jobs=1, memory_limit=64 << 20)
    (problem,) = inv.problems
    assert problem.path.endswith("go")
