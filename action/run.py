#!/usr/bin/env python3
"""The runner behind the sbomsign GitHub Action (`action.yml` at the repository root).

`action.yml` keeps its `run:` step to one line and hands every input to this script through
`env:` as `INPUT_<NAME>` (the name upper-cased, `-` written `_`). The work is done by the CI
engine in `sbomsign/_ci/`, the same one GitLab's and Jenkins' jobs run through `sbomsign ci`:
it checks every input before any work, installs sbomsign from this checkout into a private
virtual environment (hash-pinned, wheel-only requirements), runs the command line, and writes
the step outputs, the job summary and the annotations (`sbomsign/_ci/systems/github.py`).

The engine uses the standard library only, so it runs here, on the Python that
`actions/setup-python` set up, before sbomsign and its dependencies exist: it is imported from
this checkout, not from an installed sbomsign.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: The action's checkout (`github.action_path`): this file is `<root>/action/run.py`.
ACTION_ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Run the action; 0 on success, non-zero when the step must fail."""
    sys.path.insert(0, str(ACTION_ROOT))
    from sbomsign._ci import main as run
    from sbomsign._ci.systems.github import GitHub

    return run(GitHub(install_from=ACTION_ROOT))


if __name__ == "__main__":
    sys.exit(main())
