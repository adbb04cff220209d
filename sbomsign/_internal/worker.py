"""Crash-isolated parsing: each file is inspected in a worker process with limits.

lief is C++ parsing untrusted input, and the pure-Python readers are bounded but not proven.
A worker runs with an address-space limit; the supervisor
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
from dataclasses import dataclass, replace
from pathlib import PurePath
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
    span: tuple[int, int] | None = None
    """Offset and size of the file inside `path` (small binaries share one spool file);
    None: all of `path`."""


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
    inspect_file = getattr(importlib.import_module(module), func)
    # NOTE: a spawned worker loads what the first file needs now, while the parent is still
    # finding files; a forked one inherited it.
    _warm_up(target)

    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        result: Artifact | ScanProblem
        try:
            result = inspect_file(task.path, task.display, task.span)
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
        self.queued: deque[Task] = deque()
        """Tasks sent and not answered, in the order the worker takes them."""
        self.started = 0.0
        """When the first of them started: when it was sent, or the one before answered."""

    @property
    def task(self) -> Task | None:
        """The task the worker is on, if any."""
        return self.queued[0] if self.queued else None

    def give(self, task: Task) -> None:
        if not self.queued:
            self.started = time.monotonic()
        self.queued.append(task)
        self.conn.send(task)

    def answered(self) -> None:
        self.queued.popleft()
        self.started = time.monotonic()

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def stop(self) -> None:
        """Ask the worker to exit; `reap` waits for it."""
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass

    def reap(self) -> None:
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


#: What `run_tasks` gives a function producing tasks: call it with a file (path, and span of
#: it) as soon as it is on disk.
Early = Callable[[str, tuple[int, int] | None], None]

#: Tasks sent to a worker ahead of its answers.
_IN_FLIGHT = 2


class _Pool:
    """Workers handing out tasks in order and collecting their outcomes by task index.

    Files found early (`early`) are started before the final list of tasks is known; the
    final tasks (`finish`) take the outcome of an early one for the same path, so a binary
    taken out of an image is parsed while the later layers are still being read. An early
    task whose file a later layer replaced is not waited for.
    """

    def __init__(self, workers: list[_Worker], make: Callable[[], _Worker],
                 timeout: float) -> None:
        self.workers = workers
        self.make = make
        self.timeout = timeout
        self.pending: deque[Task] = deque()
        self.outcomes: dict[int, Artifact | ScanProblem] = {}
        self.early_index: dict[tuple[str, tuple[int, int] | None], int] = {}
        self._count = 0

    def _task(self, path: str, display: str, span: tuple[int, int] | None) -> Task:
        self._count += 1
        return Task(self._count, path, display, span)

    def early(self, path: str, span: tuple[int, int] | None = None) -> None:
        """Start on the file at `path` (`span` of it) now, and collect what is done, without
        waiting."""
        if (path, span) not in self.early_index:
            task = self._task(path, path, span)
            self.early_index[path, span] = task.index
            self.pending.append(task)
        # NOTE: called for every file while the layers are read, so it only looks at each
        # busy worker's pipe; a crash shows there as its end, and deadlines are `finish`'s.
        for i, w in enumerate(list(self.workers)):
            while w.task is not None and w.conn.poll(0):
                self._collect(i, w, w.task, [w.conn])
                w = self.workers[i]
        self._feed()

    def finish(
        self, found: Sequence[Task], progress: Callable[[int, int], None] | None,
        while_waiting: Callable[[], None] | None = None,
    ) -> list[Artifact | ScanProblem]:
        """The outcome of every task of `found`, in its order, shown under its display name.
        `while_waiting` is called once the tasks are given out, before waiting for them."""
        wanted = []
        for t in found:
            index = self.early_index.get((t.path, t.span))
            if index is None:
                task = self._task(t.path, t.display, t.span)
                self.pending.append(task)
                index = task.index
            wanted.append(index)
        needed = set(wanted)
        self.pending = deque(t for t in self.pending if t.index in needed)
        done = len(needed & self.outcomes.keys())
        if progress is not None and done:
            progress(done, len(needed))
        self._feed()
        if while_waiting is not None:
            while_waiting()
        while done < len(needed):
            if not self._step(None):
                raise RuntimeError("scan tasks left without a worker")  # pragma: no cover
            now = len(needed & self.outcomes.keys())
            if progress is not None and now != done:
                progress(now, len(needed))
            done = now
        return [_shown(self.outcomes[i], t.display) for i, t in zip(wanted, found, strict=True)]

    def _step(self, wait: float | None) -> bool:
        """Give idle workers tasks, then collect what is finished, waiting at most `wait`
        seconds (None: until something finishes or a deadline passes). False: no worker
        is busy."""
        self._feed()
        busy = [w for w in self.workers if w.task is not None]
        if not busy:
            return False
        if wait is None:
            deadline = min(w.started + self.timeout for w in busy)
            wait = max(0.0, deadline - time.monotonic())
        waitables: list[Any] = [w.conn for w in busy] + [w.proc.sentinel for w in busy]
        ready = multiprocessing.connection.wait(waitables, timeout=wait)
        for i, w in enumerate(list(self.workers)):
            if w.task is not None:
                self._collect(i, w, w.task, ready)
        self._feed()
        return True

    def _feed(self) -> None:
        # NOTE: each worker gets its next task before it answers the one it is on, so it
        # never waits for this process between files.
        for w in self.workers:
            while len(w.queued) < _IN_FLIGHT and self.pending:
                w.give(self.pending.popleft())

    def _collect(self, i: int, w: _Worker, task: Task, ready: Sequence[Any]) -> None:
        finished, replace = _outcome(w, task, ready, self.timeout)
        if finished is None:
            return
        self.outcomes[task.index] = finished
        w.answered()
        if replace:
            # NOTE: the tasks sent after the one that failed go back to the front of the line.
            self.pending.extendleft(reversed(w.queued))
            w.kill()
            self.workers[i] = self.make()

    def trim(self, keep: int) -> None:
        """Kill the idle workers beyond the first `keep`: they would have nothing to do."""
        for w in self.workers[keep:]:
            if w.task is None:
                w.kill()
        self.workers = self.workers[:keep] + [w for w in self.workers[keep:] if w.task]

    def close(self) -> None:
        # NOTE: every idle worker is asked to stop before any is waited for, so that they
        # exit side by side.
        idle = [w for w in self.workers if w.task is None]
        for w in self.workers:
            if w.task is None:
                w.stop()
            else:
                w.kill()
        for w in idle:
            w.reap()


def _shown(outcome: Artifact | ScanProblem, display: str) -> Artifact | ScanProblem:
    """`outcome` under the name its final task shows (an early task knew only the path)."""
    if outcome.path == display:
        return outcome
    if isinstance(outcome, Artifact):
        return replace(outcome, path=display, name=PurePath(display).name)
    return replace(outcome, path=display)


def run_tasks(
    tasks: Sequence[Task] | Callable[[Early], Sequence[Task]],
    *,
    jobs: int,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
    progress: Callable[[int, int], None] | None = None,
    target: str = INSPECT,
    while_waiting: Callable[[], None] | None = None,
) -> list[Artifact | ScanProblem]:
    """Inspect every task in worker processes; results come back in task order.

    `tasks` may be a function producing them: the workers are started first, so they are
    ready when the first file is found. It is given a function to call with the path of each
    file as soon as it is on disk, before the final list is known; the workers start on it
    at once, and a final task for the same path takes that outcome. `while_waiting` is
    called once every task is given out, before waiting for the outcomes.
    """
    # NOTE: fork keeps start-up cheap (no re-import of the parent); the parent never imports
    # lief, so a worker that needs it loads it once for all its files.
    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    expected = None if callable(tasks) else len(tasks)
    if expected == 0:
        return []
    if ctx.get_start_method() == "fork":
        # NOTE: forked workers inherit what is loaded here once (the ELF reader, the
        # classifier table), rather than each loading it at its start.
        _warm_up(target)
    count = max(1, jobs if expected is None else min(jobs, expected))
    pool = _Pool([_Worker(ctx, memory_limit, target) for _ in range(count)],
                 lambda: _Worker(ctx, memory_limit, target), timeout)
    try:
        found = tasks(pool.early) if callable(tasks) else tasks
        # NOTE: a worker with nothing to do holds nothing; it is killed rather than asked to
        # stop and waited for.
        pool.trim(len(found))
        return pool.finish(found, progress, while_waiting)
    finally:
        pool.close()


def _warm_up(target: str) -> None:
    import importlib

    module = importlib.import_module(target.partition(":")[0])
    warm_up = getattr(module, "warm_up", None)
    if warm_up is not None:
        warm_up()


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
