"""The CI systems: how each gives the inputs and where each wants the results.

`System` is the shape every system has, with the behaviour GitLab and Jenkins share (inputs as
`SBOMSIGN_*` variables, the log on stderr, results as files in the workspace); GitHub differs
in most of it. `SYSTEMS` registers each by the name `sbomsign ci --system` takes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TextIO

if TYPE_CHECKING:
    from sbomsign._ci.common import Inputs
    from sbomsign._ci.record import Record

#: The summary file beside the reports on systems without a summary page of their own.
SUMMARY_NAME = "sbomsign-summary.md"


class System:
    """A CI system. The defaults are those of a system whose inputs are `SBOMSIGN_*`
    variables (GitLab, Jenkins)."""

    name: ClassVar[str] = ""
    #: (variable, values): the environment of a job of this system (for `--system auto`).
    marker: ClassVar[tuple[str, frozenset[str]] | None] = None
    #: Whether a list input is one line whose words are the items (else one item per line).
    one_line_lists: ClassVar[bool] = True
    #: The `sbomsign verify --format` reports the system reads, merged over the artifacts.
    reports: ClassVar[tuple[str, ...]] = ()
    #: Whether sbomsign can describe this system's build as SLSA provenance
    #: (`attest: slsa-provenance`).
    provenance: ClassVar[bool] = False
    #: Whether verify also prints its text report into the log.
    text_log: ClassVar[bool] = True
    #: Variables that name the job's workspace, first set wins; else the current directory,
    #: where GitLab runs a job's script and Jenkins an `sh` step (inside `dir()` too).
    workspace_vars: ClassVar[tuple[str, ...]] = ()
    #: Advice that differs per system: `missing-key`, `missing-password`, `no-oidc`, `issuer`.
    hints: ClassVar[Mapping[str, str]] = {}

    def variable(self, name: str, mode: str) -> str:
        """The environment variable of input `name` (the public key is its own variable)."""
        if name == "key" and mode == "verify":
            return "SBOMSIGN_PUBLIC_KEY"
        return "SBOMSIGN_" + name.upper().replace("-", "_")

    def name_of(self, name: str, mode: str) -> str:
        """How a user sets input `name` on this system."""
        return self.variable(name, mode)

    def label(self, name: str, mode: str) -> str:
        """How a message starts when it is about input `name`."""
        return self.name_of(name, mode)

    def item_label(self, name: str, mode: str) -> str:
        """How a message starts when it is about one item of list input `name`."""
        return self.name_of(name, mode)

    def has_oidc(self, env: Mapping[str, str]) -> bool:
        """Whether the job can get an identity token for keyless signing."""
        return bool(env.get("SIGSTORE_ID_TOKEN"))

    def workspace(self, env: Mapping[str, str]) -> Path:
        """The directory relative paths are relative to."""
        for variable in self.workspace_vars:
            if env.get(variable):
                return Path(env[variable])
        return Path(os.getcwd())

    def temp_dir(self, env: Mapping[str, str]) -> Path:
        """Where the run's private files go (removed at the end)."""
        return Path(tempfile.gettempdir())

    def results_dir(self, inputs: Inputs, temp: Path) -> Path:
        """Where the checksums, the reports and the outputs are written."""
        return inputs.workspace

    def command(self, env: Mapping[str, str], temp: Path) -> list[str]:
        """How to run the sbomsign command line: the one running this engine."""
        return [sys.executable, "-m", "sbomsign"]

    @property
    def log(self) -> TextIO:
        """The job log."""
        return sys.stderr

    def annotate(self, level: str, message: str, *, file: str | None = None,
                 title: str | None = None) -> None:
        """Report a problem (`error`, `warning`) in the log."""
        print(f"{level.upper()}: {message}", file=self.log, flush=True)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A titled part of the log (collapsible where the system can)."""
        print(f"--- {title}", file=self.log, flush=True)
        yield

    @contextmanager
    def untrusted_output(self) -> Iterator[TextIO]:
        """Where text that may look like the system's log commands is echoed."""
        yield self.log

    def write_outputs(self, env: Mapping[str, str], values: Mapping[str, str],
                      results_dir: Path) -> None:
        """Publish the outputs: `sbomsign-outputs.json` in the results directory."""
        path = results_dir / "sbomsign-outputs.json"
        path.write_text(json.dumps(dict(values), indent=2) + "\n", encoding="utf-8")

    def write_summary(self, env: Mapping[str, str], text: str, results_dir: Path) -> None:
        """Publish the Markdown summary: `sbomsign-summary.md` in the results directory."""
        (results_dir / SUMMARY_NAME).write_text(text, encoding="utf-8")

    def conclude(self, record: Record) -> None:
        """The run's last line in the log: what was done, or the gate's verdict."""
        print(_conclusion(record), file=self.log, flush=True)


def _conclusion(record: Record) -> str:
    if record.inputs.mode == "verify":
        checks = [a.check for a in record.artifacts] + [i.check for i in record.images]
        passed = sum(c.verdict == "PASSED" for c in checks)
        policy = f" (policy {record.policy})" if record.policy else ""
        return (f"sbomsign: verify {record.verdict or 'ERROR'}: {passed} of {len(checks)} "
                f"artifacts passed{policy}")
    sboms = sum(len(a.sboms) for a in record.artifacts)
    bundles = sum(bool(a.signature) + len(a.attestations) for a in record.artifacts)
    attached = sum(len(i.signatures) + len(i.attestations) for i in record.images)
    signer = f", signed by {record.signer}" if record.signer else ""
    state = "failed" if record.problems else "done"
    return (f"sbomsign: produce {state}: {len(record.artifacts)} files, {len(record.images)} "
            f"images, {sboms} SBOMs, {bundles} bundles written, {attached} attached{signer}")


def _registry() -> dict[str, System]:
    from sbomsign._ci.systems.github import GitHub
    from sbomsign._ci.systems.gitlab import GitLab
    from sbomsign._ci.systems.jenkins import Jenkins

    return {s.name: s for s in (GitHub(), GitLab(), Jenkins())}


#: The CI systems by name.
SYSTEMS: dict[str, System] = _registry()
