"""The CI adapters: one engine behind the GitHub Action, the GitLab jobs and the Jenkins steps.

Each CI system gives the same inputs (artifacts, SBOM formats, signing mode, key, policy,
trusted root, ...) in its own way, and wants the results in its own way. The engine in this
package does the part they share, so the three stay consistent:

1. `inputs.read_inputs` checks **every** input before any work: a misspelt value, a glob that
   matches nothing, a missing key or a policy file that does not exist is reported at once,
   each as one line, and nothing is run;
2. `produce` (scan, sbom, sign, attest) and `verify` run the installed `sbomsign` command line
   as a subprocess with argument lists, never a shell, and read its JSON reports into a
   `record.Record`;
3. the record becomes the outputs (`record.outputs`), the Markdown summary (`summary`) and the
   report files; a `systems.System` says where each goes: GitHub's workflow commands,
   `$GITHUB_OUTPUT` and step summary; GitLab's collapsible log sections, a dotenv report and
   JUnit/Code Quality reports; Jenkins' JUnit report and files to archive.

The package uses the standard library only and imports nothing else of sbomsign: the GitHub
Action imports it from its checkout before sbomsign and its dependencies are installed, and
`sbomsign ci` runs it on GitLab and Jenkins. A new CI system is one module in `systems/`,
registered in `systems.SYSTEMS`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from sbomsign._ci import produce, verify
from sbomsign._ci.common import CHECKSUMS_NAME, Failed
from sbomsign._ci.inputs import read_inputs
from sbomsign._ci.record import ArtifactRecord, ImageRecord, Record, checksum_lines, outputs
from sbomsign._ci.runner import Runner, child_env
from sbomsign._ci.summary import summary
from sbomsign._ci.systems import SYSTEMS, System

__all__ = ["SYSTEMS", "System", "detect", "main"]


def detect(env: Mapping[str, str]) -> str:
    """The CI system the environment belongs to (its `SYSTEMS` name); GitHub when unknown."""
    for name, system in SYSTEMS.items():
        if system.marker is None:
            continue
        variable, values = system.marker
        value = env.get(variable, "")
        if value and (not values or value in values):
            return name
    return "github"


def _run(system: System, record: Record, env: Mapping[str, str], temp: Path,
         results_dir: Path) -> int:
    inputs = record.inputs
    # NOTE: `work` holds key files and intermediate JSON and is removed at the end; results
    # that outputs point at (checksums, the verify reports) must outlive the step.
    work = Path(tempfile.mkdtemp(prefix="sbomsign-ci-", dir=temp))
    try:
        command = system.command(env, temp)
        run = Runner(command, inputs.workspace, child_env(env), system)
        if inputs.output_dir is not None:
            inputs.output_dir.mkdir(parents=True, exist_ok=True)
        if inputs.mode == "produce":
            produce.produce(run, record, work)
        else:
            verify.verify(run, record, work, results_dir)
    except Failed as e:
        record.problems.extend(e.problems)
        return e.code
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def main(system: System | str, env: Mapping[str, str] | None = None, *,
         mode: str | None = None) -> int:
    """Run one CI job on `system` (or the system of that name); 0 on success, else the exit
    code of what failed (1 a failed gate or step, 2 a bad input, 3 sbomsign could not be
    installed)."""
    env = dict(os.environ if env is None else env)
    if isinstance(system, str):
        system = SYSTEMS[system]
    try:
        inputs = read_inputs(env, system, mode=mode)
    except Failed as e:
        for p in e.problems:
            system.annotate("error", p.message, file=p.file, title=p.title)
        return e.code
    temp = system.temp_dir(env)
    temp.mkdir(parents=True, exist_ok=True)
    results_dir = system.results_dir(inputs, temp)
    record = Record(inputs, [ArtifactRecord(p) for p in inputs.artifacts],
                    images=[ImageRecord(name) for name in inputs.images])
    status = _run(system, record, env, temp, results_dir)
    if inputs.mode == "produce" and any(a.sha256 for a in record.artifacts):
        record.checksums = results_dir / CHECKSUMS_NAME
        record.checksums.write_text(checksum_lines(record))
    for p in record.problems:
        system.annotate("error", p.message, file=p.file, title=p.title)
    system.write_outputs(env, outputs(record), results_dir)
    system.write_summary(env, summary(record), results_dir)
    system.conclude(record)
    return status
