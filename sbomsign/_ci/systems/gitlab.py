"""GitLab CI: inputs as `SBOMSIGN_*` CI/CD variables, collapsible log sections, and the
reports GitLab shows: JUnit (`artifacts:reports:junit`), Code Quality
(`artifacts:reports:codequality`) and the outputs as a dotenv report
(`artifacts:reports:dotenv`) for later jobs."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sbomsign._ci.systems import System

#: The dotenv report of the outputs: `SBOMSIGN_RESULT_<OUTPUT>=value`, one line each.
DOTENV_NAME = "sbomsign.env"


class GitLab(System):
    """GitLab CI/CD."""

    name = "gitlab"
    marker = ("GITLAB_CI", frozenset({"true"}))
    reports = ("junit", "gitlab-codequality")
    hints = {
        "missing-key": "SBOMSIGN_KEY is empty: make SBOMSIGN_KEY a file-type CI/CD variable "
                       "holding the PEM private key (protected variables reach protected "
                       "branches and tags only)",
        "missing-password": "SBOMSIGN_KEY_PASSWORD is empty: set it as a masked CI/CD "
                            "variable",
        "no-oidc": "give the job `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore` (the produce "
                   "job has it), or set SBOMSIGN_KEY to sign with a managed key, or "
                   "SBOMSIGN_SIGN to none",
        "issuer": " (for gitlab.com: https://gitlab.com; else the instance's URL)",
    }

    def __init__(self) -> None:
        self._sections = 0

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A collapsed section of the job log."""
        self._sections += 1
        name = f"sbomsign_{self._sections}"
        # NOTE: the header is shown as given; strip what would end the marker line early.
        shown = re.sub(r"[\r\n\x1b]", " ", title)
        print(f"\x1b[0Ksection_start:{int(time.time())}:{name}[collapsed=true]\r\x1b[0K{shown}",
              file=self.log, flush=True)
        try:
            yield
        finally:
            print(f"\x1b[0Ksection_end:{int(time.time())}:{name}\r\x1b[0K", file=self.log,
                  flush=True)

    def annotate(self, level: str, message: str, *, file: str | None = None,
                 title: str | None = None) -> None:
        """An error or warning line, coloured as GitLab colours its own."""
        colour = "31" if level == "error" else "33"
        print(f"\x1b[{colour};1m{level.upper()}: {message}\x1b[0m", file=self.log, flush=True)

    def write_outputs(self, env: Mapping[str, str], values: Mapping[str, str],
                      results_dir: Path) -> None:
        """`sbomsign.env` (a dotenv report: one line per output; a multi-line value's items
        separated by spaces) and `sbomsign-outputs.json` (the values as they are)."""
        super().write_outputs(env, values, results_dir)
        lines = []
        for name, value in values.items():
            key = "SBOMSIGN_RESULT_" + name.upper().replace("-", "_")
            lines.append(f"{key}={' '.join(value.split())}\n")
        (results_dir / DOTENV_NAME).write_text("".join(lines), encoding="utf-8")
