"""Stage 1: binaries to an `Inventory`.

`scan_paths` is what `sbomsign scan` runs: it expands files and directories, inspects each
binary in a crash-isolated worker process (several in parallel), and collects artifacts and
problems. `scan_file` inspects one file in the current process, for callers that trust it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sbomsign import __version__
from sbomsign.models import Artifact, Inventory, ScanProblem

if TYPE_CHECKING:
    from sbomsign._internal.sources import Expansion


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
    layer_progress: Callable[[str, int, int], None] | None = None,
    platform: str = "",
    registry_ca: str = "",
    insecure_registries: Sequence[str] = (),
    warn: Callable[[str], None] | None = None,
) -> Inventory:
    """Scan files, directories, archives and images; bad input becomes `Inventory.problems`.

    Names are files and directories, release archives and packages (`.tar*`, `.zip`, `.whl`,
    `.deb`, `.rpm`), or images (`oci-dir:`, `oci-archive:`, `docker-archive:`,
    `registry:`); an image index gives one container per platform unless `platform`
    (`os/arch[/variant]`) picks one. Binaries taken out of images and archives live in a
    private temporary directory, removed before this returns. `jobs` worker processes
    inspect the files; None or 0 means all cores (`default_jobs`). `warn` receives
    one-line notes about entries that were skipped. `progress` is told (files inspected,
    files in all), `layer_progress` (image name, layers read, layers in all).
    """
    import tempfile

    from sbomsign._internal import sources, worker

    with tempfile.TemporaryDirectory(prefix="sbomsign-") as workdir:
        settings = sources.Settings(workdir, platform.strip("/"), registry_ca,
                                    tuple(insecure_registries), layer_progress)
        expanded: list[sources.Expansion] = []

        def tasks() -> list[worker.Task]:
            expanded.append(sources.expand(paths, settings))
            found = expanded[0].candidates
            return [worker.Task(i, c.path, c.display) for i, c in enumerate(found)]

        # NOTE: only directories, archives and images can hold more files than were named;
        # don't start more workers than there can be files.
        wanted = jobs or default_jobs()
        if all(sources.claimed_by_paths(p) and not os.path.isdir(p) for p in paths):
            wanted = min(wanted, max(1, len(paths)))
        results = worker.run_tasks(
            tasks,
            jobs=wanted,
            timeout=timeout or worker.DEFAULT_TIMEOUT,
            memory_limit=worker.memory_limit() if memory_limit is None else memory_limit,
            progress=progress,
        )
        return _collect(expanded[0], results, warn)


def _collect(expansion: Expansion, results: list[Artifact | ScanProblem],
             warn: Callable[[str], None] | None) -> Inventory:
    """Artifacts tagged with their container, containers finished, problems sorted."""
    from dataclasses import replace

    artifacts: list[Artifact] = []
    problems = list(expansion.problems)
    for candidate, result in zip(expansion.candidates, results, strict=True):
        if isinstance(result, Artifact):
            artifacts.append(replace(result, container=candidate.container)
                             if candidate.container else result)
        else:
            problems.append(result)
    containers = []
    for draft in expansion.drafts:
        ref = draft.identity.ref
        containers.append(draft.finish([a for a in artifacts if a.container == ref]))
    if warn is not None:
        for note in (w for d in expansion.drafts for w in d.tree.warnings):
            warn(note)
    return Inventory(
        artifacts=tuple(artifacts),
        problems=tuple(sorted(problems, key=lambda p: p.path)),
        tool_version=__version__,
        containers=tuple(containers),
    )


def scan_file(path: str) -> Artifact:
    """Inspect one binary in this process.

    Raises:
        InputError: the file cannot be read.
        InspectionError: it is not a supported binary, or it is damaged.
    """
    from sbomsign._internal.binary import inspect_file

    return inspect_file(path)
