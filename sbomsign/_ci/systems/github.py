"""GitHub Actions: inputs as `INPUT_*`, workflow commands, `$GITHUB_OUTPUT`, the job summary.

The Action (`action.yml`, `action/run.py`) runs this with `install_from` set to its checkout:
sbomsign is then installed from there into a private virtual environment under `RUNNER_TEMP`,
from the hash-pinned, wheel-only `action/requirements.txt` (`SBOMSIGN_ACTION_CLI` names an
already installed `sbomsign` instead, as the tests do).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from sbomsign._ci.common import Failed, Problem
from sbomsign._ci.runner import quote
from sbomsign._ci.systems import System

if TYPE_CHECKING:
    from sbomsign._ci.common import Inputs
    from sbomsign._ci.record import Record


def escape_data(value: str) -> str:
    """A workflow command's message, escaped as the runner expects (`%`, CR, LF)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A workflow command's property value (`file=`, `title=`): also `:` and `,`."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def heredoc(name: str, value: str) -> str:
    """One `$GITHUB_OUTPUT` entry in the multi-line form, with a random delimiter.

    The delimiter is random so that no value (a file name, a message) can end the heredoc early
    and set other outputs, which a fixed `EOF` would allow.
    """
    while True:
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        if delimiter not in value and delimiter not in name:
            return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def install(root: Path, temp: Path) -> Path:
    """Install sbomsign from the checkout `root` into a venv under `temp`; its executable.

    The requirements are hash-pinned and wheel-only (`--only-binary :all:`: no dependency's
    build code runs); sbomsign itself is built from the checkout with the pinned flit_core
    and `--no-index`, so that step fetches nothing. A venv already made by an earlier step of
    the same job from the same requirements and checkout is reused.

    Raises:
        Failed: venv or pip failed (exit 3).
    """
    requirements = root / "action" / "requirements.txt"
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update(str(root).encode())
    digest.update(sys.version.encode())
    venv = temp / f"sbomsign-venv-{digest.hexdigest()[:16]}"
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    exe = scripts / ("sbomsign.exe" if os.name == "nt" else "sbomsign")
    python = scripts / ("python.exe" if os.name == "nt" else "python")
    done = venv / ".sbomsign-action-complete"
    if done.is_file() and exe.is_file():
        return exe
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    steps = [
        ("creating the virtual environment", [sys.executable, "-m", "venv", "--clear", str(venv)]),
        ("installing the hash-pinned requirements",
         [*pip, "install", "--require-hashes", "--only-binary", ":all:", "-r",
          str(requirements)]),
        ("building sbomsign from the action's checkout",
         [*pip, "install", "--no-deps", "--no-build-isolation", "--no-index", str(root)]),
    ]
    print("::group::Install sbomsign (hash-pinned requirements)", flush=True)
    try:
        for what, cmd in steps:
            print("$ " + " ".join(quote(c) for c in cmd), flush=True)
            rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, check=False).returncode  # noqa: S603
            if rc != 0:
                problem = Problem(
                    f"installing sbomsign failed while {what} (exit {rc}); see the log group "
                    "'Install sbomsign'", title="sbomsign: install failed")
                raise Failed([problem], code=3)
    finally:
        print("::endgroup::", flush=True)
    done.write_text("ok\n")
    return exe


class GitHub(System):
    """GitHub Actions."""

    name = "github"
    marker = ("GITHUB_ACTIONS", frozenset({"true"}))
    one_line_lists = False
    provenance = True
    text_log = False
    workspace_vars = ("GITHUB_WORKSPACE",)
    hints = {
        "missing-key": "the key input is empty: pass the private key, e.g. "
                       "key: ${{ secrets.SBOMSIGN_KEY }} (is the secret set and available to "
                       "this workflow?)",
        "missing-password": "key-password is empty: pass its password, e.g. "
                            "key-password: ${{ secrets.SBOMSIGN_KEY_PASSWORD }}",
        "no-oidc": "give the job `permissions: id-token: write` (or use sign: key with a "
                   "managed key, or sign: none)",
        "issuer": " (for GitHub Actions: https://token.actions.githubusercontent.com)",
    }

    def __init__(self, install_from: Path | None = None) -> None:
        #: The Action's checkout, to install sbomsign from; None: run the installed one.
        self.install_from = install_from

    def variable(self, name: str, mode: str) -> str:
        """`INPUT_SBOM_FORMATS` for `sbom-formats`, as the runner sets them."""
        return "INPUT_" + name.upper().replace("-", "_")

    def name_of(self, name: str, mode: str) -> str:
        """The input's name in `action.yml`."""
        return name

    def label(self, name: str, mode: str) -> str:
        """`input sign`."""
        return f"input {name}"

    def has_oidc(self, env: Mapping[str, str]) -> bool:
        """`permissions: id-token: write` gives the job a token request URL and token."""
        return bool((env.get("ACTIONS_ID_TOKEN_REQUEST_URL")
                     and env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
                    or env.get("SIGSTORE_ID_TOKEN"))

    def temp_dir(self, env: Mapping[str, str]) -> Path:
        """`RUNNER_TEMP`."""
        return Path(env.get("RUNNER_TEMP") or tempfile.gettempdir())

    def results_dir(self, inputs: Inputs, temp: Path) -> Path:
        """`output-dir`, else a directory under `RUNNER_TEMP` that outlives the step."""
        return inputs.output_dir or Path(tempfile.mkdtemp(prefix="sbomsign-results-", dir=temp))

    def command(self, env: Mapping[str, str], temp: Path) -> list[str]:
        """`SBOMSIGN_ACTION_CLI`, else sbomsign installed from the Action's checkout."""
        given = env.get("SBOMSIGN_ACTION_CLI", "").strip()
        if given:
            exe = Path(given)
            if not (exe.is_file() and os.access(exe, os.X_OK)):
                raise Failed([Problem(f"SBOMSIGN_ACTION_CLI={given}: not an executable file",
                                      title="sbomsign: bad SBOMSIGN_ACTION_CLI")], code=2)
            return [str(exe)]
        if self.install_from is None:
            return super().command(env, temp)
        return [str(install(self.install_from, temp))]

    @property
    def log(self) -> TextIO:
        """The runner reads workflow commands from stdout."""
        return sys.stdout

    def annotate(self, level: str, message: str, *, file: str | None = None,
                 title: str | None = None) -> None:
        """An `::error::`/`::warning::`/`::notice::` annotation."""
        props = []
        if file:
            props.append(f"file={escape_property(file)}")
        if title:
            props.append(f"title={escape_property(title)}")
        head = f"::{level} {','.join(props)}::" if props else f"::{level}::"
        print(head + escape_data(message), file=self.log, flush=True)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """`::group::` ... `::endgroup::`."""
        print(f"::group::{escape_data(title)}", file=self.log, flush=True)
        try:
            yield
        finally:
            print("::endgroup::", file=self.log, flush=True)

    @contextmanager
    def untrusted_output(self) -> Iterator[TextIO]:
        """Echo text that may contain `::` lines (file names, tool output) without it acting.

        Between `::stop-commands::TOKEN` and `::TOKEN::` the runner executes no workflow
        command, so an artifact named `::set-env ...` cannot reach the runner through our log.
        """
        stream = self.log
        token = secrets.token_hex(16)
        print(f"::stop-commands::{token}", file=stream, flush=True)
        try:
            yield stream
        finally:
            print(f"::{token}::", file=stream, flush=True)

    def write_outputs(self, env: Mapping[str, str], values: Mapping[str, str],
                      results_dir: Path) -> None:
        """Append the outputs to `$GITHUB_OUTPUT` (nothing when run outside a runner)."""
        target = env.get("GITHUB_OUTPUT")
        if not target:
            return
        with open(target, "a", encoding="utf-8") as f:
            for name, value in values.items():
                f.write(heredoc(name, value))

    def write_summary(self, env: Mapping[str, str], text: str, results_dir: Path) -> None:
        """Append to `$GITHUB_STEP_SUMMARY` (nothing when run outside a runner)."""
        target = env.get("GITHUB_STEP_SUMMARY")
        if target:
            with open(target, "a", encoding="utf-8") as f:
                f.write(text)

    def conclude(self, record: Record) -> None:
        """Nothing: the job summary says it."""
