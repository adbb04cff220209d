"""Crash-isolated parsing: each file is inspected in a worker process with limits.

lief is C++ parsing untrusted input. A worker runs with an address-space limit; the supervisor
gives each file a deadline. A worker that crashes, runs out of memory or overruns is replaced,
the file is reported as a problem, and the scan goes on with the other files.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import resource
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sbomsign._internal.limits import limit
from sbomsign.errors import EXIT_USAGE, Error
from sbomsign.models import Artifact, ScanProblem

#: Default per-worker address-space limit. A 700 MB binary needs about its size mapped plus
#: lief's own structures; 4 GiB leaves room while stopping a runaway allocation.
DEFAULT_MEMORY_LIMIT = 4 << 30


def memory_limit() -> int:
    """The address-space limit of one worker (`SBOMSIGN_WORKER_MEMORY_BYTES`, else 4 GiB)."""
    return limit("SBOMSIGN_WORKER_MEMORY_BYTES", DEFAULT_MEMORY_LIMIT)
#: Default per-file deadline in seconds.
DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class Task:
    """One file to inspect."""

    index: int
    path: str
    display: str


def _limit_memory(limit: int) -> None:
    if limit <= 0:
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        new = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (new, hard))
    except (ValueError, OSError):  # NOTE: some sandboxes refuse; the deadline still applies
        pass


#: What a worker calls for each task, as `module:function`. Tests point it at a function that
#: crashes or hangs on purpose to prove the isolation.
INSPECT = "sbomsign._internal.binary:inspect_file"


def _work(conn: multiprocessing.connection.Connection, memory_limit: int, target: str) -> None:
    """Worker loop: receive tasks, send back an Artifact or a problem, until told to stop."""
    import faulthandler
    import importlib

    # NOTE: a crash here is reported by the supervisor in one line; an inherited fault handler
    # (pytest, python -X faulthandler) would also dump a traceback to the shared stderr.
    faulthandler.disable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_memory(memory_limit)
    module, _, func = target.partition(":")
    mod = importlib.import_module(module)
    inspect_file = getattr(mod, func)
    # NOTE: loading lief takes longer than parsing most files; do it now, while the parent is
    # still walking directories, rather than on the first task.
    warm_up = getattr(mod, "warm_up", None)
    if warm_up is not None:
        warm_up()

    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        result: Artifact | ScanProblem
        try:
            result = inspect_file(task.path, task.display)
        except Error as e:
            result = ScanProblem(task.display, e.diagnostics(), e.exit_code)
        except MemoryError:
            result = ScanProblem(task.display, "parsing needs more memory than allowed "
                                "(raise SBOMSIGN_WORKER_MEMORY_BYTES to allow more)", EXIT_USAGE)
        except Exception as e:  # noqa: BLE001 - one hostile file must not stop the scan
            result = ScanProblem(task.display, f"cannot inspect: {type(e).__name__}: {e}")
        try:
            conn.send((task.index, result))
        except (OSError, ValueError):
            return


class _Worker:
    def __init__(self, ctx: Any, memory_limit: int, target: str) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_work, args=(child, memory_limit, target), daemon=True)
        self.proc.start()
        child.close()
        self.task: Task | None = None
        self.started = 0.0

    def give(self, task: Task) -> None:
        self.task = task
        self.started = time.monotonic()
        self.conn.send(task)

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
        self.conn.close()


def _outcome(
    w: _Worker, task: Task, ready: Sequence[Any], timeout: float
) -> tuple[Artifact | ScanProblem | None, bool]:
    """What a busy worker has to say now, and whether it must be replaced (crash, timeout)."""
    if w.conn in ready:
        try:
            _, finished = w.conn.recv()
            return finished, False
        except (EOFError, OSError):
            return _crash_problem(task, w), True
    if w.proc.sentinel in ready:
        return _crash_problem(task, w), True
    if time.monotonic() - w.started >= timeout:
        return ScanProblem(task.display, f"inspection timed out after {timeout:g} s "
                                         "(raise it with --timeout)"), True
    return None, False


class _Pool:
    """Workers handing out tasks in order and collecting results by task index."""

    def __init__(
        self, workers: list[_Worker], found: Sequence[Task], make: Callable[[], _Worker],
        timeout: float, progress: Callable[[int, int], None] | None,
    ) -> None:
        self.workers = workers
        self.pending = deque(found)
        self.results: list[Artifact | ScanProblem | None] = [None] * len(found)
        self.total = len(found)
        self.done = 0
        self.make = make
        self.timeout = timeout
        self.progress = progress

    def run(self) -> None:
        for w in self.workers:
            if self.pending:
                w.give(self.pending.popleft())
        while self.done < self.total:
            busy = [w for w in self.workers if w.task is not None]
            waitables: list[Any] = [w.conn for w in busy] + [w.proc.sentinel for w in busy]
            deadline = min(w.started + self.timeout for w in busy)
            ready = multiprocessing.connection.wait(
                waitables, timeout=max(0.0, deadline - time.monotonic())
            )
            for i, w in enumerate(list(self.workers)):
                if w.task is not None:
                    self._collect(i, w, w.task, ready)

    def _collect(self, i: int, w: _Worker, task: Task, ready: Sequence[Any]) -> None:
        finished, replace = _outcome(w, task, ready, self.timeout)
        if finished is None:
            return
        self.results[task.index] = finished
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)
        w.task = None
        if replace:
            w.kill()
            w = self.workers[i] = self.make()
        if self.pending:
            w.give(self.pending.popleft())

    def close(self) -> None:
        for w in self.workers:
            if w.task is None:
                w.stop()
            else:
                w.kill()


def run_tasks(
    tasks: Sequence[Task] | Callable[[], Sequence[Task]],
    *,
    jobs: int,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
    progress: Callable[[int, int], None] | None = None,
    target: str = INSPECT,
) -> list[Artifact | ScanProblem]:
    """Inspect every task in worker processes; results come back in task order.

    `tasks` may be a function producing them: the workers are started first, so they load the
    parser while the tasks are being found.
    """
    # NOTE: fork keeps start-up cheap (no re-import of the parent); the parent has not
    # imported lief, so each worker loads it once for all its files.
    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    expected = None if callable(tasks) else len(tasks)
    if expected == 0:
        return []
    count = max(1, jobs if expected is None else min(jobs, expected))
    workers = [_Worker(ctx, memory_limit, target) for _ in range(count)]
    try:
        found = tasks() if callable(tasks) else tasks
    except BaseException:
        for w in workers:
            w.stop()
        raise
    # NOTE: a worker with nothing to do may still be loading lief; asking it to stop would
    # wait for that. It holds nothing, so it is killed.
    for w in workers[len(found) or 1 :]:
        w.kill()
    del workers[len(found) or 1 :]
    if not found:
        workers[0].kill()
        return []
    pool = _Pool(
        workers, found, lambda: _Worker(ctx, memory_limit, target), timeout, progress
    )
    try:
        pool.run()
    finally:
        pool.close()
    return [r for r in pool.results if r is not None]


def _crash_problem(task: Task, worker: _Worker) -> ScanProblem:
    worker.proc.join(1)
    code = worker.proc.exitcode
    if code is not None and code < 0:
        try:
            how = f"signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"signal {-code}"
    else:
        how = f"exit status {code}"
    return ScanProblem(task.display, f"the parser crashed on this file ({how})")
