"""SLSA Provenance v1 from a (simulated) GitHub Actions environment."""

from __future__ import annotations

import pytest

from sbomsign._internal import provenance
from sbomsign.errors import InputError

ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "octo/app",
    "GITHUB_REF": "refs/tags/v1.2.3",
    "GITHUB_SHA": "c27d339ee6075c1f744c5d4b200f7901aad2c369",
    "GITHUB_WORKFLOW_REF": "octo/app/.github/workflows/release.yml@refs/tags/v1.2.3",
    "GITHUB_EVENT_NAME": "push",
    "GITHUB_REPOSITORY_ID": "1296269",
    "GITHUB_REPOSITORY_OWNER_ID": "583231",
    "GITHUB_RUN_ID": "1536140711",
    "GITHUB_RUN_ATTEMPT": "2",
    "RUNNER_ENVIRONMENT": "github-hosted",
}


def test_predicate_has_what_actions_attest_writes() -> None:
    assert provenance.github_actions_predicate(ENV) == {
        "buildDefinition": {
            "buildType": "https://actions.github.io/buildtypes/workflow/v1",
            "externalParameters": {
                "workflow": {
                    "ref": "refs/tags/v1.2.3",
                    "repository": "https://github.com/octo/app",
                    "path": ".github/workflows/release.yml",
                }
            },
            "internalParameters": {
                "github": {
                    "event_name": "push",
                    "repository_id": "1296269",
                    "repository_owner_id": "583231",
                    "runner_environment": "github-hosted",
                }
            },
            "resolvedDependencies": [
                {
                    "uri": "git+https://github.com/octo/app@refs/tags/v1.2.3",
                    "digest": {"gitCommit": "c27d339ee6075c1f744c5d4b200f7901aad2c369"},
                }
            ],
        },
        "runDetails": {
            "builder": {
                "id": "https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.2.3"
            },
            "metadata": {
                "invocationId": "https://github.com/octo/app/actions/runs/1536140711/attempts/2"
            },
        },
    }


def test_enterprise_server_url_with_trailing_slash() -> None:
    env = {**ENV, "GITHUB_SERVER_URL": "https://ghe.example.com/"}
    predicate = provenance.github_actions_predicate(env)
    assert predicate["runDetails"]["builder"]["id"].startswith("https://ghe.example.com/octo/")
    dep = predicate["buildDefinition"]["resolvedDependencies"][0]
    assert dep["uri"] == "git+https://ghe.example.com/octo/app@refs/tags/v1.2.3"


W = "o/r/.github/workflows"


@pytest.mark.parametrize(
    ("workflow_ref", "ref", "path"),
    [
        (f"{W}/ci.yml@refs/heads/main", "refs/heads/main", ".github/workflows/ci.yml"),
        # `@` in the ref and in the path: strip the known suffix, do not split at `@`.
        (f"{W}/ci.yml@refs/heads/a@b", "refs/heads/a@b", ".github/workflows/ci.yml"),
        (f"{W}/a@b.yml@refs/heads/main", "refs/heads/main", ".github/workflows/a@b.yml"),
        # Workflow read from another ref than GITHUB_REF.
        (f"{W}/ci.yaml@refs/heads/main", "refs/pull/7/merge", ".github/workflows/ci.yaml"),
    ],
)
def test_workflow_path(workflow_ref: str, ref: str, path: str) -> None:
    assert provenance.workflow_path(workflow_ref, "o/r", ref) == path


def test_outside_github_actions() -> None:
    with pytest.raises(InputError) as info:
        provenance.github_actions_predicate({"CI": "true"})
    assert info.value.exit_code == 2
    assert "not running in GitHub Actions" in info.value.message
    assert info.value.message.endswith("pass the predicate with --predicate FILE")


def test_missing_variables_are_named() -> None:
    env = {k: v for k, v in ENV.items() if k not in ("GITHUB_SHA", "RUNNER_ENVIRONMENT")}
    with pytest.raises(InputError, match="missing: GITHUB_SHA, RUNNER_ENVIRONMENT; pass"):
        provenance.github_actions_predicate(env)


def test_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    predicate = provenance.github_actions_predicate()
    assert predicate["buildDefinition"]["internalParameters"]["github"]["event_name"] == "push"
