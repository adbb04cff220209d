"""A private Sigstore instance on loopback ports, for tests and for trying keyless signing offline.

It runs, in this process, on 127.0.0.1:

- an OIDC provider with two issuers (people with a verified email; GitHub-Actions-shaped
  workflows) that mints RS256/ES256 ID tokens for chosen identities, and a runner endpoint
  for GitHub Actions' ambient credential;
- a Fulcio-compatible CA (REST API v2) issuing 10-minute code-signing certificates with the
  Fulcio OID extensions and an embedded SCT;
- a Rekor-compatible transparency log (REST API v1; hashedrekord and dsse entries) with an
  RFC 6962 Merkle tree, signed checkpoints, inclusion proofs and signed entry timestamps,
  persisted on disk;

and writes the trusted root, the signing config and the client trust config that point at
them. sigstore-python signs and verifies against it unchanged.

    from tests.sigstore_local import LocalSigstore

    with LocalSigstore(tmp_dir) as instance:
        config = ClientTrustConfig.from_json(instance.trust_config_path.read_text())
        token = instance.email_token("alice@example.com")

From a shell: `python -m tests.sigstore_local --dir DIR` (see `__main__`).
"""

from tests.sigstore_local.instance import LocalSigstore
from tests.sigstore_local.oidc import AUDIENCE, GITHUB_SERVER_URL, GitHubWorkflow

__all__ = ["AUDIENCE", "GITHUB_SERVER_URL", "GitHubWorkflow", "LocalSigstore"]
