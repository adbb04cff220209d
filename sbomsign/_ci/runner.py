"""Running the `sbomsign` command line: argument lists, a scrubbed environment, the log."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sbomsign._ci.common import CLI_ERROR

if TYPE_CHECKING:
    from sbomsign._ci.systems import System

#: `SBOMSIGN_*` variables the job's environment may pass on to sbomsign. Every other one is
#: dropped: the CLI reads `SBOMSIGN_<OPTION>` as option defaults, and a stray `SBOMSIGN_KEY`
#: in the job's environment must not turn `sign: keyless` into signing with a key (GitLab's
#: and Jenkins' inputs are `SBOMSIGN_*` variables themselves). The registry ones only say how
#: a registry is reached, never who may sign: a job whose registry is on plain HTTP or has a
#: private CA could not name its images otherwise.
PASSED_SBOMSIGN_ENV = frozenset(
    {
        "SBOMSIGN_PKCS11_PIN",
        "SBOMSIGN_JOBS",
        "SBOMSIGN_TIMEOUT",
        "SBOMSIGN_INSECURE_REGISTRIES",
        "SBOMSIGN_REGISTRY_CA",
        "SBOMSIGN_REGISTRY_TIMEOUT",
    }
)


@dataclass
class Result:
    """One sbomsign run."""

    returncode: int
    stdout: str
    stderr: str

    def errors(self) -> list[str]:
        """The `sbomsign <cmd>: error: ...` messages it printed."""
        return [
            m.group("message") for line in self.stderr.splitlines() if (m := CLI_ERROR.match(line))
        ]


def quote(arg: str) -> str:
    """`arg` as a POSIX shell would need it, for the log."""
    return arg if re.fullmatch(r"[\w@%+=:,./-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


@dataclass
class Runner:
    """Runs `sbomsign` in the workspace, with a scrubbed environment, its log in a group."""

    command: list[str]
    workspace: Path
    env: dict[str, str]
    system: System

    def __call__(
        self,
        args: Sequence[str],
        *,
        extra_env: Mapping[str, str] | None = None,
        title: str | None = None,
    ) -> Result:
        """Run `sbomsign ARGS...` (an argument list: no shell) and echo its log in a group."""
        env = dict(self.env)
        env.update(extra_env or {})
        with self.system.group(title or f"sbomsign {args[0]}"):
            proc = subprocess.run(  # noqa: S603 - an argument list, no shell; the CLI is ours
                [*self.command, *args],
                cwd=self.workspace,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                check=False,
            )
            with self.system.untrusted_output() as out:
                out.write("$ sbomsign " + " ".join(quote(a) for a in args) + "\n")
                out.write(proc.stdout)
                out.write(proc.stderr)
                out.flush()
        return Result(proc.returncode, proc.stdout, proc.stderr)


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment sbomsign runs in: the job's, less the inputs and stray option defaults.

    The inputs hold the key and its password; sbomsign gets the password alone, as
    `SBOMSIGN_KEY_PASSWORD`, and only for the commands that sign.
    """
    return {
        k: v
        for k, v in env.items()
        if not k.startswith("INPUT_")
        and not (k.startswith("SBOMSIGN_") and k not in PASSED_SBOMSIGN_ENV)
    }
