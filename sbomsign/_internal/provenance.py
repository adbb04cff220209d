"""SLSA Provenance v1 predicates describing a GitHub Actions workflow run.

The predicate has the content GitHub's own `actions/attest-build-provenance` writes, so
verifiers and policies written for GitHub artifact attestations (`gh attestation verify`) read
ours the same way. Its build type is GitHub's workflow build type, whose specification
(actions/buildtypes `workflow/v1`) defines every field:

- `buildDefinition.externalParameters.workflow`: `ref` (`GITHUB_REF`), `repository`
  (`GITHUB_SERVER_URL/GITHUB_REPOSITORY`) and `path` (the workflow file, from
  `GITHUB_WORKFLOW_REF` without the `<repository>/` prefix and the `@<ref>` suffix);
- `buildDefinition.internalParameters.github`: `event_name`, `repository_id`,
  `repository_owner_id`, `runner_environment`;
- `buildDefinition.resolvedDependencies`: the source commit, as
  `git+<repository URL>@<ref>` with `digest.gitCommit` = `GITHUB_SHA`;
- `runDetails.builder.id`: `<server>/<GITHUB_WORKFLOW_REF>`;
- `runDetails.metadata.invocationId`: `<server>/<repository>/actions/runs/<run id>/attempts/<n>`.

Everything comes from the `GITHUB_*` / `RUNNER_*` variables the runner sets in every job.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sbomsign.errors import InputError

#: `buildDefinition.buildType` as actions/attest-build-provenance writes it.
BUILD_TYPE = "https://actions.github.io/buildtypes/workflow/v1"

#: Variables the predicate is made of; all are set by the runner in every job.
REQUIRED_VARIABLES = (
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_REF",
    "GITHUB_SHA",
    "GITHUB_WORKFLOW_REF",
    "GITHUB_EVENT_NAME",
    "GITHUB_REPOSITORY_ID",
    "GITHUB_REPOSITORY_OWNER_ID",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "RUNNER_ENVIRONMENT",
)


def workflow_path(workflow_ref: str, repository: str, ref: str) -> str:
    """The workflow file's path from `GITHUB_WORKFLOW_REF` (`<repo>/<path>@<ref>`).

    The prefix and suffix are removed as strings rather than split at `@`, because a path or
    a ref may contain `@` (actions/buildtypes `workflow/v1`).
    """
    rest = workflow_ref.removeprefix(f"{repository}/")
    if rest.endswith(f"@{ref}"):
        return rest[: -len(ref) - 1]
    # NOTE: GITHUB_WORKFLOW_REF names the ref the workflow file was read from, which for some
    # events differs from GITHUB_REF; then the first `@` after the file name ends the path.
    for suffix in (".yml@", ".yaml@"):
        index = rest.find(suffix)
        if index >= 0:
            return rest[: index + len(suffix) - 1]
    return rest.partition("@")[0]


def github_actions_predicate(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The SLSA Provenance v1 predicate of the current GitHub Actions job.

    Raises:
        InputError: not running in GitHub Actions, or a variable the predicate needs is
            missing (the message says to pass `--predicate`).
    """
    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTIONS") != "true":
        raise InputError(
            "slsa-provenance: not running in GitHub Actions (GITHUB_ACTIONS is not 'true'),"
            " so there is no build to describe; pass the predicate with --predicate FILE"
        )
    missing = [v for v in REQUIRED_VARIABLES if not env.get(v)]
    if missing:
        raise InputError(
            f"slsa-provenance: GitHub Actions variables missing: {', '.join(missing)};"
            " pass the predicate with --predicate FILE"
        )
    server = env["GITHUB_SERVER_URL"].rstrip("/")
    repository = env["GITHUB_REPOSITORY"]
    ref = env["GITHUB_REF"]
    workflow_ref = env["GITHUB_WORKFLOW_REF"]
    repository_url = f"{server}/{repository}"
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "workflow": {
                    "ref": ref,
                    "repository": repository_url,
                    "path": workflow_path(workflow_ref, repository, ref),
                }
            },
            "internalParameters": {
                "github": {
                    "event_name": env["GITHUB_EVENT_NAME"],
                    "repository_id": env["GITHUB_REPOSITORY_ID"],
                    "repository_owner_id": env["GITHUB_REPOSITORY_OWNER_ID"],
                    "runner_environment": env["RUNNER_ENVIRONMENT"],
                }
            },
            "resolvedDependencies": [
                {
                    "uri": f"git+{repository_url}@{ref}",
                    "digest": {"gitCommit": env["GITHUB_SHA"]},
                }
            ],
        },
        "runDetails": {
            "builder": {"id": f"{server}/{workflow_ref}"},
            "metadata": {
                "invocationId": (
                    f"{repository_url}/actions/runs/{env['GITHUB_RUN_ID']}"
                    f"/attempts/{env['GITHUB_RUN_ATTEMPT']}"
                )
            },
        },
    }
