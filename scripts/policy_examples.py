"""Run each shipped policy once on real signed material, as the README shows.

    .venv/bin/python scripts/policy_examples.py

Keyless material comes from the private Sigstore instance in tests/sigstore_local (on
127.0.0.1): a GitHub-Actions-shaped token for `example-org/example-service`'s release workflow on
tag v1.2.3. The shipped keyless policies name GitHub's real OIDC issuer; the copies used here
name the local instance's issuer instead, and nothing else changes. The air-gapped policy uses
a throw-away managed key.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sbomsign._cli import main  # noqa: E402
from tests.sigstore_local.instance import LocalSigstore  # noqa: E402
from tests.sigstore_local.oidc import GitHubWorkflow  # noqa: E402

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


def run(args: list[str]) -> int:
    """Run sbomsign, echoing the command line as a shell would show it."""
    shown = " ".join(a if " " not in a else repr(a) for a in args)
    print(f"$ sbomsign {shown}", flush=True)
    code = main(args)
    print(f"(exit {code})\n", flush=True)
    return code


def main_() -> int:
    """Sign one binary three ways and verify it with each shipped policy."""
    work = Path(tempfile.mkdtemp(prefix="sbomsign-policies-"))
    os.chdir(work)
    try:
        shutil.copy(ROOT / "tests/assets/bin/go-linux-loong64", "demo-svc-linux-loong64")
        with LocalSigstore(work / "sigstore") as inst:
            wf = GitHubWorkflow(repository="example-org/example-service", ref="refs/tags/v1.2.3",
                                ref_type="tag")
            os.environ["SIGSTORE_ID_TOKEN"] = inst.github_token(wf)
            os.environ.update(inst.actions_env())
            for k, v in {"GITHUB_REPOSITORY": wf.repository, "GITHUB_REF": wf.ref,
                         "GITHUB_SHA": wf.sha, "GITHUB_WORKFLOW_REF":
                         f"{wf.repository}/{wf.workflow_path}@{wf.ref}",
                         "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": wf.run_id,
                         "GITHUB_RUN_ATTEMPT": wf.run_attempt, "GITHUB_EVENT_NAME": "push",
                         "GITHUB_REPOSITORY_ID": wf.repository_id,
                         "GITHUB_REPOSITORY_OWNER_ID": wf.repository_owner_id,
                         "RUNNER_ENVIRONMENT": "github-hosted"}.items():
                os.environ[k] = v
            cfg = str(inst.trust_config_path)
            art = "demo-svc-linux-loong64"
            run(["sign", "--trust-config", cfg, art])
            run(["attest", "--trust-config", cfg, "--type", "cyclonedx", art,
                 "--supplier", "Example Org", "--author", "Example Org release team"])
            run(["attest", "--trust-config", cfg, "--type", "slsa-provenance", art])
            for name in ("baseline", "release-static-go"):
                text = (ROOT / "policies" / f"{name}.yaml").read_text()
                Path(f"{name}.yaml").write_text(text.replace(GITHUB_ISSUER, inst.github_issuer))
                run(["verify", "--trusted-root", str(inst.trusted_root_path), "--policy",
                     f"{name}.yaml", art])
        air = work / "airgapped"
        (air / "keys").mkdir(parents=True)
        shutil.copy(ROOT / "tests/assets/bin/go-linux-loong64", air / "demo-svc-linux-loong64")
        os.chdir(air)
        os.environ.pop("SIGSTORE_ID_TOKEN", None)
        # A throw-away key for the example; never a real secret.
        os.environ["SBOMSIGN_KEY_PASSWORD"] = "example"  # noqa: S105
        shutil.copy(ROOT / "policies" / "airgapped.yaml", "airgapped.yaml")
        run(["keygen", "--output-prefix", "keys/release"])
        run(["sign", "--key", "keys/release.key", "demo-svc-linux-loong64"])
        run(["attest", "--key", "keys/release.key", "--type", "spdx", "demo-svc-linux-loong64"])
        run(["verify", "--policy", "airgapped.yaml", "demo-svc-linux-loong64"])
    finally:
        os.chdir(ROOT)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main_())
