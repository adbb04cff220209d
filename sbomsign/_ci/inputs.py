"""Reading and checking a job's inputs, every one of them, before any work is done."""

from __future__ import annotations

import difflib
import glob
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sbomsign._ci.common import (
    ATTEST_TYPES,
    FAIL_ON,
    IMAGE_SCHEMES,
    MODES,
    SBOM_SUFFIXES,
    SIDECAR_NAMES,
    SIDECAR_SUFFIXES,
    SIGN_MODES,
    Failed,
    Inputs,
    KeyMaterial,
    Problem,
    display,
)
from sbomsign._ci.keys import produce_checks, verify_checks
from sbomsign._ci.record import planned_bundles

if TYPE_CHECKING:
    from sbomsign._ci.systems import System

#: Values an input takes when the job does not set it at all (the Action always sets every
#: input, from `action.yml`'s defaults).
DEFAULTS: dict[str, str] = {
    "mode": "produce",
    "sbom-formats": "cyclonedx-json",
    "attest": "cyclonedx",
    "overwrite": "false",
    "fail-on": "failed",
}


class Reader:
    """The inputs as one CI system gives them, and the problems found while reading them."""

    def __init__(self, env: Mapping[str, str], system: System, mode: str) -> None:
        self.env = env
        self.system = system
        self.mode = mode
        self.problems: list[Problem] = []
        self.workspace = Path(os.path.abspath(system.workspace(env)))
        """The directory relative paths are relative to, absolute."""

    def raw(self, name: str) -> str:
        """The input's value, stripped; its default when the job does not set it."""
        variable = self.system.variable(name, self.mode)
        if variable not in self.env:
            return DEFAULTS.get(name, "")
        return self.env[variable].strip()

    def label(self, name: str) -> str:
        """How messages name the input (`input sign`, `SBOMSIGN_SIGN`)."""
        return self.system.label(name, self.mode)

    def problem(self, name: str, message: str, title: str | None = None) -> None:
        """Report a problem with input `name`."""
        self.problems.append(Problem(f"{self.label(name)}: {message}",
                                     title=title or f"sbomsign: bad input {name}"))

    def choice(self, name: str, value: str, allowed: Iterable[str]) -> str:
        """`value` when it is one of `allowed`; else a problem (with a suggestion)."""
        allowed = list(allowed)
        if value in allowed:
            return value
        close = difflib.get_close_matches(value.lower(), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        self.problem(name, f"{value!r} is not one of {', '.join(allowed)}{hint}")
        return allowed[0]

    def choices(self, name: str, allowed: Iterable[str]) -> list[str]:
        """A list input whose items must each be one of `allowed`, without repeats."""
        found: list[str] = []
        words = [w.strip() for w in re.split(r"[,\n]", self.raw(name)) if w.strip()]
        for word in words:
            value = self.choice(name, word, allowed)
            if value not in found:
                found.append(value)
        return found

    def boolean(self, name: str) -> bool:
        """A `true`/`false` input."""
        value = self.raw(name)
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.problem(name, f"{value!r} is not true or false")
        return False

    def path(self, value: str) -> Path:
        """A path relative to the workspace (absolute ones as they are)."""
        return Path(value) if os.path.isabs(value) else self.workspace / value

    def existing_file(self, name: str) -> Path | None:
        """An optional input naming a file that must exist."""
        value = self.raw(name)
        if not value:
            return None
        path = self.path(value)
        if not path.is_file():
            self.problem(name, f"{value}: no such file")
            return None
        return path


def _is_sidecar(path: Path) -> bool:
    return path.name in SIDECAR_NAMES or path.name.endswith(SIDECAR_SUFFIXES)


def is_image(line: str) -> bool:
    """Whether a line of `artifacts` names an image where it is stored (not a file)."""
    return line.startswith(IMAGE_SCHEMES)


def _lines(value: str, words: bool) -> list[str]:
    # NOTE: one item per line (the Action's multi-line inputs); GitLab's and Jenkins' variables
    # are one line, so there whitespace separates, as a shell's word splitting would.
    if words:
        return value.split()
    return [ln.strip() for ln in value.splitlines() if ln.strip()]


def image_names(value: str, *, words: bool = False) -> list[str]:
    """The images that the `artifacts` input names, in the order given, without duplicates.

    They are passed to sbomsign as they are: a glob means nothing in a registry, and whether
    the name is well formed and the image exists is for sbomsign to say when it reads it.
    """
    return list(dict.fromkeys(ln for ln in _lines(value, words) if is_image(ln)))


def _expand_line(pattern: str, base: Path, negate: bool, found: dict[Path, None],
                 excluded: set[Path], problems: list[Problem], label: str) -> None:
    if not glob.has_magic(pattern):
        if negate:
            excluded.add(Path(os.path.abspath(base)))
        elif not base.exists():
            problems.append(Problem(f"{label}: {pattern}: no such file",
                                    title="sbomsign: artifact not found"))
        elif not base.is_file():
            problems.append(Problem(f"{label}: {pattern}: not a regular file (to take the "
                                    f"files in a directory, write {pattern}/*)",
                                    title="sbomsign: artifact not found"))
        else:
            found.setdefault(Path(os.path.abspath(base)), None)
        return
    matches = sorted(Path(os.path.abspath(m)) for m in glob.glob(str(base), recursive=True))
    files = [m for m in matches if m.is_file()]
    if negate:
        excluded.update(files)
        return
    kept = [m for m in files if not _is_sidecar(m)]
    if not kept:
        why = "matched no file" if not files else "matched only sbomsign's own output files"
        problems.append(Problem(f"{label}: the pattern {pattern!r} {why}",
                                title="sbomsign: empty glob"))
    for m in kept:
        found.setdefault(m, None)


def expand_artifacts(value: str, workspace: Path, problems: list[Problem], *,
                     words: bool = False, label: str = "artifacts",
                     empty_label: str = "input artifacts") -> list[Path]:
    """The files that the `artifacts` input names, in the order given, without duplicates.

    One path or glob per line (or per word, in a one-line value), relative to the workspace
    (absolute ones are taken as they are); `**` matches directories recursively; an item
    starting with `!` removes what its glob matches (as `actions/upload-artifact` does). Files
    that glob patterns match but that are the engine's own outputs (`*.sigstore.json`, SBOMs,
    `SHA256SUMS`, the verify reports) are skipped, so `dist/*` in verify mode means the
    artifacts beside their bundles. A pattern that matches no file, a path that does not
    exist, and a directory named as such are problems. Images (see `image_names`) are not
    files and are left out.
    """
    lines = _lines(value, words)
    if not lines:
        problems.append(Problem(
            f"{empty_label} is empty: give the files (one path or glob per "
            f"{'word' if words else 'line'}) or images (registry:, oci-dir:, oci-archive: "
            "names) to process",
            title="sbomsign: bad input artifacts"))
        return []
    found: dict[Path, None] = {}
    excluded: set[Path] = set()
    for line in (ln for ln in lines if not is_image(ln)):
        negate = line.startswith("!")
        pattern = line[1:].strip() if negate else line
        base = Path(pattern) if os.path.isabs(pattern) else workspace / pattern
        _expand_line(pattern, base, negate, found, excluded, problems, label)
    return [p for p in found if p not in excluded]


def _duplicate_names(artifacts: list[Path], workspace: Path, problems: list[Problem]) -> None:
    names: dict[str, Path] = {}
    for path in artifacts:
        if path.name in names:
            # NOTE: the subject of a signature, attestation or checksum line is the file name,
            # as a release asset's is; two files of one name would be two different subjects
            # that nobody can tell apart.
            problems.append(Problem(
                f"artifacts: {display(names[path.name], workspace)} and "
                f"{display(path, workspace)} have the same file name; name them apart",
                file=display(path, workspace), title="sbomsign: duplicate artifact name"))
        names.setdefault(path.name, path)


def _output_dir(read: Reader) -> Path | None:
    raw_dir = read.raw("output-dir")
    if not raw_dir:
        return None
    output_dir = Path(os.path.abspath(read.path(raw_dir)))
    if output_dir.exists() and not output_dir.is_dir():
        read.problem("output-dir", f"{raw_dir}: exists and is not a directory")
    return output_dir


def _existing_outputs(inputs: Inputs) -> list[Problem]:
    # NOTE: sbomsign refuses to replace a bundle; find that out now, not after the first
    # artifacts were signed (and logged in Rekor).
    workspace = inputs.workspace
    return [
        Problem(f"{display(path, workspace)}: already exists (set overwrite to true to "
                "replace it)", file=display(path, workspace), title="sbomsign: output exists")
        for path in planned_bundles(inputs)
        if path.exists()
    ]


def _sign_mode(read: Reader) -> tuple[str, bool]:
    """The signing mode, and whether it was understood. Unset or empty means: with the key
    when one is given, else keyless (GitLab's and Jenkins' jobs sign with whichever the job
    has)."""
    before = len(read.problems)
    value = read.raw("sign") or ("key" if read.raw("key") else "keyless")
    return read.choice("sign", value, SIGN_MODES), len(read.problems) == before


def _images_unsigned(read: Reader, images: list[str]) -> None:
    # NOTE: without an output directory no SBOM file is written of an image (its SBOM is an
    # attestation attached to it), so without signing the run would do nothing for it.
    read.problems.append(Problem(
        f"artifacts names images ({', '.join(images)}), which are signed and attested where "
        f"they are stored, but sign is 'none': set {read.label('sign')} to keyless or key, "
        "or leave the images out", title="sbomsign: bad input sign"))


def _files(read: Reader, mode: str) -> tuple[Path | None, Path | None, Path | None]:
    """The policy, trusted root and trust config, each checked to exist.

    Each mode checks only the files it reads: a produce job need not have the policy that a
    later gate reads, and a pipeline sets its variables for every job.
    """
    if mode == "verify":
        return read.existing_file("policy"), read.existing_file("trusted-root"), None
    return None, None, read.existing_file("trust-config")


def read_inputs(env: Mapping[str, str], system: System, *, mode: str | None = None) -> Inputs:
    """Check every input; raise `Failed` (exit 2) with every problem found before any work.

    `mode` is the job's mode when the CI system says it by the command (`sbomsign ci
    verify`), else the `mode` input.

    Raises:
        Failed: an input is missing, misspelt, names nothing, or contradicts another.
    """
    read = Reader(env, system, mode or "produce")
    problems = read.problems
    workspace = read.workspace
    if mode is None:
        read.mode = mode = read.choice("mode", read.raw("mode") or "produce", MODES)
    # NOTE: with a misspelt mode or sign, the checks that depend on them would only add
    # confusing follow-up errors; the one about the misspelling says it all.
    mode_known = not problems
    raw_artifacts = read.raw("artifacts")
    words = system.one_line_lists
    artifacts = expand_artifacts(raw_artifacts, workspace, problems, words=words,
                                 label=system.item_label("artifacts", read.mode),
                                 empty_label=read.label("artifacts"))
    images = image_names(raw_artifacts, words=words)
    _duplicate_names(artifacts, workspace, problems)
    formats = read.choices("sbom-formats", SBOM_SUFFIXES)
    output_dir = _output_dir(read)
    sign, sign_known = _sign_mode(read)
    attest = read.choices("attest", ATTEST_TYPES)
    overwrite = read.boolean("overwrite")
    fail_on = read.choice("fail-on", read.raw("fail-on") or "failed", FAIL_ON)
    policy, trusted_root, trust_config = _files(read, mode)
    keys: tuple[KeyMaterial, ...] = ()
    if mode_known and sign_known and mode == "produce":
        keys = produce_checks(read, sign, attest)
        if sign == "none" and images and not (formats and output_dir is not None):
            _images_unsigned(read, images)
    elif mode_known and mode == "verify":
        keys = verify_checks(read, policy)
    inputs = Inputs(
        mode=mode, workspace=workspace, artifacts=tuple(artifacts), sbom_formats=tuple(formats),
        output_dir=output_dir, sign=sign, key=keys, key_password=read.raw("key-password"),
        attest=tuple(attest), supplier=read.raw("supplier"), author=read.raw("author"),
        overwrite=overwrite, policy=policy, trusted_root=trusted_root,
        certificate_identity=read.raw("certificate-identity"),
        certificate_identity_regexp=read.raw("certificate-identity-regexp"),
        certificate_oidc_issuer=read.raw("certificate-oidc-issuer"), fail_on=fail_on,
        images=tuple(images), trust_config=trust_config,
    )
    if mode == "produce" and not problems and not overwrite:
        problems.extend(_existing_outputs(inputs))
    if problems:
        raise Failed(problems, code=2)
    return inputs
