"""Jenkins: inputs as `SBOMSIGN_*` environment variables (the shared-library step sets them
with `withEnv`, the key file with `withCredentials`), the JUnit report the JUnit plugin
publishes, and the outputs and the summary as files to archive."""

from __future__ import annotations

from sbomsign._ci.systems import System


class Jenkins(System):
    """Jenkins pipelines."""

    name = "jenkins"
    marker = ("JENKINS_URL", frozenset())
    reports = ("junit",)
    hints = {
        "missing-key": "SBOMSIGN_KEY is empty: bind the private key's \"secret file\" "
                       "credential (keyCredentialsId, or withCredentials([file(...)]))",
        "missing-password": "SBOMSIGN_KEY_PASSWORD is empty: bind the password's \"secret "
                            "text\" credential to it",
        "no-oidc": "Jenkins gives a job no OIDC token for Sigstore: sign with a managed key "
                   "(keyCredentialsId), or pass a token as SIGSTORE_ID_TOKEN",
        "issuer": "",
    }
