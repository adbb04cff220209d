"""Stage 1: binaries to an `Inventory`.

`scan_paths` is what `sbomsign scan` runs: it expands files and directories, inspects each
binary in a crash-isolated worker process (several in parallel), and collects artifacts and
problems. `scan_file` inspects one file in the current process, for callers that trust it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from sbomsign import __version__
from sbomsign.models import Artifact, Inventory, ScanProblem


def default_jobs() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def scan_paths(
    paths: Sequence[str],
    *,
    jobs: int | None = None,
    timeout: float | None = None,
    memory_limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Inventory:
    """Scan files and directories; bad files become `Inventory.problems`, never exceptions.

    `jobs` worker processes inspect the files; None or 0 means all cores (`default_jobs`), and
    never more workers than files when only files are named.
    """
    from sbomsign._internal import sources, worker

    problems: list[ScanProblem] = []

    def tasks() -> list[worker.Task]:
        candidates, found_problems = sources.expand(paths)
        problems.extend(found_problems)
        return [worker.Task(i, c.path, c.display) for i, c in enumerate(candidates)]

    # NOTE: only directories can hold more files than were named; don't start more workers
    # than there can be files.
    wanted = jobs or default_jobs()
    if not any(os.path.isdir(p) for p in paths):
        wanted = min(wanted, max(1, len(paths)))
    results = worker.run_tasks(
        tasks,
        jobs=wanted,
        timeout=timeout or worker.DEFAULT_TIMEOUT,
        memory_limit=worker.DEFAULT_MEMORY_LIMIT if memory_limit is None else memory_limit,
        progress=progress,
    )
    artifacts = [r for r in results if isinstance(r, Artifact)]
    problems.extend(r for r in results if isinstance(r, ScanProblem))
    return Inventory(
        artifacts=tuple(artifacts),
        problems=tuple(sorted(problems, key=lambda p: p.path)),
        tool_version=__version__,
    )


def scan_file(path: str) -> Artifact:
    """Inspect one binary in this process.

    Raises:
        InputError: the file cannot be read.
        InspectionError: it is not a supported binary, or it is damaged.
    """
    from sbomsign._internal.binary import inspect_file

    return inspect_file(path)
