"""Stage 1: binaries to an `Inventory`.

`scan_paths` is what `sbomsign scan` runs: it expands files and directories, inspects each
binary in a crash-isolated worker process (several in parallel), and collects artifacts and
problems. `scan_file` inspects one file in the current process, for callers that trust it.

Images where they are stored (`registry:`, `oci-dir:`, `oci-archive:`) are also handled
here, for the front ends that sign, verify and move them: `resolve_image` pins a name to its
digest, `image_platforms` lists an index's manifests, `attached_bundles` and `attach_bundle`
read and write the Sigstore bundles attached to an image (cosign's bundle layout),
`copy_image` moves an image with everything attached to it, `push_file` stores a file as an
OCI artifact.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sbomsign import __version__
from sbomsign.errors import InputError
from sbomsign.models import Artifact, Inventory, ScanProblem, StoredImage

if TYPE_CHECKING:
    from sbomsign._internal.binary.detectors.classifiers import Classifier
    from sbomsign._internal.oci.referrers import Found
    from sbomsign._internal.oci.transfer import CopyReport
    from sbomsign._internal.sources import Expansion, Settings


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
    classifiers: str = "",
    while_waiting: Callable[[], None] | None = None,
) -> Inventory:
    """Scan files, directories, archives and images; bad input becomes `Inventory.problems`.

    Names are files and directories, release archives and packages (`.tar*`, `.zip`, `.whl`,
    `.deb`, `.rpm`), or images (`oci-dir:`, `oci-archive:`, `docker-archive:`,
    `registry:`); an image index gives one container per platform unless `platform`
    (`os/arch[/variant]`) picks one. Binaries taken out of images and archives live in a
    private temporary directory, removed before this returns. `jobs` worker processes
    inspect the files; None or 0 means all cores (`default_jobs`). `warn` receives
    one-line notes about entries that were skipped. `progress` is told (files inspected,
    files in all), `layer_progress` (image name, layers read, layers in all). `classifiers`
    names a JSON file of the user's own version-string classifiers (the form of the built-in
    table, see the README), tried before the built-in ones. `while_waiting` is called at most
    once, when every file is found and the scan only waits for the workers to finish the last
    of them: a caller's chance to prepare its next step with time it would otherwise wait
    (the CLI loads the SBOM writers then).

    Raises:
        InputError: the classifier file cannot be read or is malformed (before any scan).
    """
    import tempfile

    from sbomsign._internal import sources, worker
    from sbomsign._internal.binary.detectors import classifiers as product_table

    table = _classifiers(classifiers) if classifiers else ()

    # NOTE: the user's classifiers serve the package databases read while expanding and the
    # workers forked to inspect files.
    with product_table.using(table), tempfile.TemporaryDirectory(prefix="sbomsign-") as workdir:
        expanded: list[sources.Expansion] = []

        def tasks(early: worker.Early) -> list[worker.Task]:
            settings = sources.Settings(workdir, platform.strip("/"), registry_ca,
                                        tuple(insecure_registries), layer_progress, early)
            expanded.append(sources.expand(paths, settings))
            found = expanded[0].candidates
            return [worker.Task(i, c.path, c.display, c.span) for i, c in enumerate(found)]

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
            while_waiting=while_waiting,
        )
        return _collect(expanded[0], results, warn)


def _classifiers(path: str) -> tuple[Classifier, ...]:
    from sbomsign._internal.binary.detectors import classifiers as product_table

    try:
        with open(path, "rb") as f:
            data = f.read(product_table.MAX_FILE_BYTES + 1)
    except OSError as e:
        raise InputError(f"{path}: cannot read the classifier file: {e.strerror}") from None
    return product_table.parse(data, path)


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


# --- stored images -----------------------------------------------------------------------


def is_stored_image(name: str) -> bool:
    """Whether `name` names an image in a registry or an OCI layout (not a file).

    Raises:
        InputError: a `docker-archive:` name: such an image can be scanned, but not signed,
            attested or verified where it is.
    """
    # NOTE: the schemes only, without the store modules: `verify` of files asks this first.
    from sbomsign._internal.oci import SCHEMES
    from sbomsign.errors import InputError

    if name.startswith("docker-archive:"):
        raise InputError(f"{name}: a `docker save` archive has no manifest digest and no "
                         f"place for signatures; put the image in an OCI layout first "
                         f"(skopeo copy {name} oci-archive:FILE)")
    return name.startswith(SCHEMES)


def _settings(registry_ca: str, insecure_registries: Sequence[str]) -> Settings:
    from sbomsign._internal.sources import Settings

    return Settings("", "", registry_ca, tuple(insecure_registries))


def resolve_image(name: str, *, registry_ca: str = "",
                  insecure_registries: Sequence[str] = ()) -> StoredImage:
    """Pin an image name to the digest its tag points at now (read once).

    Raises:
        InputError: a malformed name, or no such image in a layout.
        NetworkError: the registry cannot be reached, refuses, or has no such tag.
    """
    from sbomsign._internal.oci import api

    return api.resolve(name, _settings(registry_ca, insecure_registries))


def image_platforms(image: StoredImage, *, registry_ca: str = "",
                    insecure_registries: Sequence[str] = ()) -> list[StoredImage]:
    """The platform manifests of an index (empty for a single manifest)."""
    from sbomsign._internal.oci import api

    return api.platforms(image, _settings(registry_ca, insecure_registries))


def attached_bundles(image: StoredImage, *, registry_ca: str = "",
                     insecure_registries: Sequence[str] = ()) -> Found:
    """The Sigstore bundles attached to `image` (`.bundles`: (name, bytes)), the ones that
    could not be read (`.failures`: (name, reason)), and cosign's legacy tag-based
    signatures (`.legacy`: (name, simple-signing payload, bundle)).

    Raises:
        NetworkError: the registry cannot be reached.
    """
    from sbomsign._internal.oci import api

    return api.attached(image, _settings(registry_ca, insecure_registries))


def attach_bundle(image: StoredImage, bundle: bytes, *, registry_ca: str = "",
                  insecure_registries: Sequence[str] = ()) -> str:
    """Attach `bundle` to `image` as cosign does (an OCI referrer); the referrer's name.

    Raises:
        InputError: not a bundle; an archive cannot be written.
        NetworkError: the registry refused a write.
    """
    from sbomsign._internal.oci import api

    return api.attach(image, bundle, _settings(registry_ca, insecure_registries))


def copy_image(src: str, dst: str, *, registry_ca: str = "",
               insecure_registries: Sequence[str] = (),
               progress: Callable[[str], None] | None = None) -> CopyReport:
    """Copy an image or index with everything attached to it between registries and
    layouts, checking every digest; blobs already at `dst` are not sent again.

    Raises:
        InputError: a malformed name or document, or a digest mismatch.
        NetworkError: a registry failed.
    """
    from sbomsign._internal.oci import api

    return api.copy(src, dst, _settings(registry_ca, insecure_registries), progress)


def push_file(path: str, dst: str, *, media_type: str = "", artifact_type: str = "",
              registry_ca: str = "", insecure_registries: Sequence[str] = ()) -> StoredImage:
    """Store a file as an OCI artifact (as `oras push` does) at `dst`, a name with a tag.

    Raises:
        InputError: the file cannot be read, or `dst` has no tag.
        NetworkError: the registry refused.
    """
    from sbomsign._internal.oci import api

    return api.push(path, dst, _settings(registry_ca, insecure_registries),
                    media_type=media_type, artifact_type=artifact_type)
