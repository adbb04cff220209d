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

from sbomsign.errors import EXIT_USAGE, Error
from sbomsign.models import Artifact, ScanProblem

#: Default per-worker address-space limit. A 700 MB binary needs about its size mapped plus
#: lief's own structures; 4 GiB leaves room while stopping a runaway allocation.
DEFAULT_MEMORY_LIMIT = 4 << 30
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
            result = ScanProblem(task.display, "parsing needs more memory than allowed", EXIT_USAGE)
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
    for w in workers[len(found) or 1 :]:
        w.stop()
    del workers[len(found) or 1 :]
    results: list[Artifact | ScanProblem | None] = [None] * len(found)
    pending = deque(found)
    done = 0
    if not found:
        workers[0].stop()
        return []
    try:
        for w in workers:
            if pending:
                w.give(pending.popleft())
        while done < len(found):
            busy = [w for w in workers if w.task is not None]
            waitables: list[Any] = [w.conn for w in busy] + [w.proc.sentinel for w in busy]
            now = time.monotonic()
            deadline = min(w.started + timeout for w in busy)
            ready = multiprocessing.connection.wait(waitables, timeout=max(0.0, deadline - now))
            for i, w in enumerate(list(workers)):
                task = w.task
                if task is None:
                    continue
                finished: Artifact | ScanProblem | None = None
                replace = False
                if w.conn in ready:
                    try:
                        _, finished = w.conn.recv()
                    except (EOFError, OSError):
                        replace = True
                        finished = _crash_problem(task, w)
                elif w.proc.sentinel in ready:
                    replace = True
                    finished = _crash_problem(task, w)
                elif time.monotonic() - w.started >= timeout:
                    replace = True
                    finished = ScanProblem(
                        task.display, f"inspection timed out after {timeout:g} s"
                    )
                if finished is None:
                    continue
                results[task.index] = finished
                done += 1
                if progress is not None:
                    progress(done, len(found))
                w.task = None
                if replace:
                    w.kill()
                    w = workers[i] = _Worker(ctx, memory_limit, target)
                if pending:
                    w.give(pending.popleft())
    finally:
        for w in workers:
            if w.task is None:
                w.stop()
            else:
                w.kill()
    return [r for r in results if r is not None]


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
