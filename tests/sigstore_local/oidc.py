"""The local OIDC identity provider: two issuers, their discovery documents and keys, and tokens.

Fulcio decides what a certificate says from the *issuer* of the token (its configuration maps
each issuer URL to a type), so this provider serves two issuers, as the public instance sees
two different ones:

- `{url}` issues tokens for people (Fulcio type "email": the certificate names the `email`
  claim, which must be verified);
- `{url}/actions` issues GitHub-Actions-shaped workflow tokens (Fulcio type
  "github-workflow": the certificate names `https://github.com/` + `job_workflow_ref` and
  carries the workflow claims as extensions).

Both publish a discovery document and a JWKS with an RS256 and an ES256 key; a token is signed
with either. `{url}/actions-runtime/token` plays the runner's ID-token endpoint
(`ACTIONS_ID_TOKEN_REQUEST_URL`): it wants `Authorization: bearer <request token>` and mints a
workflow token for the requested `audience`. `{url}/mint` hands anyone on the loopback a token
for a chosen identity; it exists for people trying the instance by hand (see `__main__`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tests.sigstore_local import _crypto
from tests.sigstore_local._http import HttpError, Request, Response, Service

#: The audience Fulcio expects (its client ID), and that sigstore-python checks.
AUDIENCE = "sigstore"
#: The server URL GitHub puts in front of repository and workflow paths.
GITHUB_SERVER_URL = "https://github.com"
#: Path of the workflow-token issuer under the provider's URL.
ACTIONS_PATH = "/actions"
#: Path of the GitLab-pipeline issuer (it plays a GitLab instance: its URL is the server's).
GITLAB_PATH = "/gitlab"
#: Path of the runner's ID-token request endpoint.
ACTIONS_RUNTIME_PATH = "/actions-runtime/token"
#: Default token lifetime, in seconds (GitHub's are valid for minutes too).
DEFAULT_LIFETIME = 600

Alg = Literal["RS256", "ES256"]


@dataclass
class GitHubWorkflow:
    """The job a GitHub-Actions-shaped token is for; `claims()` gives GitHub's claim set.

    The defaults describe a push to `main` of a public repository running a workflow of the
    same repository on a GitHub-hosted runner. Set `job_workflow_ref` for a reusable
    workflow (the certificate names the workflow that runs the job, not the caller).
    """

    repository: str = "octo-org/octo-repo"
    repository_id: str = "1296269"
    repository_owner_id: str = "9919"
    repository_visibility: str = "public"
    ref: str = "refs/heads/main"
    ref_type: str = "branch"
    sha: str = "a3c4f2b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3"
    workflow: str = "Release"
    workflow_path: str = ".github/workflows/release.yml"
    event_name: str = "push"
    runner_environment: str = "github-hosted"
    run_id: str = "6049875392"
    run_number: str = "42"
    run_attempt: str = "1"
    actor: str = "octocat"
    actor_id: str = "583231"
    job_workflow_ref: str | None = None
    job_workflow_sha: str | None = None
    environment: str | None = None

    @property
    def repository_owner(self) -> str:
        """The owner part of `repository`."""
        return self.repository.split("/", 1)[0]

    @property
    def workflow_ref(self) -> str:
        """`owner/repo/.github/workflows/file.yml@ref`, the top-level workflow."""
        return f"{self.repository}/{self.workflow_path}@{self.ref}"

    @property
    def signer_identity(self) -> str:
        """The URI SAN Fulcio puts in the certificate for this job."""
        return f"{GITHUB_SERVER_URL}/{self.job_workflow_ref or self.workflow_ref}"

    def claims(self) -> dict[str, Any]:
        """The workflow claims of GitHub's ID token (without iss/aud/iat/exp)."""
        claims: dict[str, Any] = {
            "sub": f"repo:{self.repository}:ref:{self.ref}",
            "ref": self.ref,
            "ref_type": self.ref_type,
            "sha": self.sha,
            "repository": self.repository,
            "repository_id": self.repository_id,
            "repository_owner": self.repository_owner,
            "repository_owner_id": self.repository_owner_id,
            "repository_visibility": self.repository_visibility,
            "run_id": self.run_id,
            "run_number": self.run_number,
            "run_attempt": self.run_attempt,
            "runner_environment": self.runner_environment,
            "actor": self.actor,
            "actor_id": self.actor_id,
            "workflow": self.workflow,
            "workflow_ref": self.workflow_ref,
            "workflow_sha": self.sha,
            "job_workflow_ref": self.job_workflow_ref or self.workflow_ref,
            "job_workflow_sha": self.job_workflow_sha or self.sha,
            "event_name": self.event_name,
        }
        if self.environment is not None:
            claims["environment"] = self.environment
            claims["sub"] = f"repo:{self.repository}:environment:{self.environment}"
        return claims


@dataclass(frozen=True)
class GitLabPipeline:
    """The job whose GitLab CI ID token (`id_tokens:`) the GitLab issuer mints."""

    project_path: str = "example-group/example-service"
    project_id: str = "4242"
    namespace_path: str = "example-group"
    namespace_id: str = "17"
    project_visibility: str = "private"
    ref: str = "main"
    ref_type: str = "branch"
    ref_protected: str = "true"
    sha: str = "b7d3c2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5"
    pipeline_source: str = "push"
    pipeline_id: str = "1024"
    job_id: str = "8192"
    runner_environment: str = "self-hosted"
    ci_config_path: str = ".gitlab-ci.yml"

    def ci_config_ref_uri(self, server: str) -> str:
        """`host/project//.gitlab-ci.yml@refs/heads/main`, as GitLab writes it (no scheme)."""
        kind = "tags" if self.ref_type == "tag" else "heads"
        host = server.split("://", 1)[-1]
        return f"{host}/{self.project_path}//{self.ci_config_path}@refs/{kind}/{self.ref}"

    def claims(self, server: str) -> dict[str, Any]:
        """The claims of GitLab's ID token (without iss/aud/iat/exp); `server` is the GitLab
        instance's URL, which is also the token's issuer."""
        return {
            "sub": f"project_path:{self.project_path}:ref_type:{self.ref_type}:ref:{self.ref}",
            "namespace_id": self.namespace_id, "namespace_path": self.namespace_path,
            "project_id": self.project_id, "project_path": self.project_path,
            "project_visibility": self.project_visibility,
            "pipeline_id": self.pipeline_id, "pipeline_source": self.pipeline_source,
            "job_id": self.job_id, "ref": self.ref, "ref_type": self.ref_type,
            "ref_protected": self.ref_protected, "sha": self.sha,
            "runner_environment": self.runner_environment,
            "ci_config_ref_uri": self.ci_config_ref_uri(server), "ci_config_sha": self.sha,
            "user_login": "release-bot",
        }


class OidcProvider(Service):
    """The OIDC provider service (both issuers)."""

    name = "oidc"

    def __init__(self, keys_dir: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        """Load (or create) the signing keys under `keys_dir`."""
        super().__init__(host, port)
        self.rsa_key = _crypto.load_or_create_rsa(keys_dir / "oidc-rs256.pem")
        self.ec_key = _crypto.load_or_create_ec(keys_dir / "oidc-es256.pem")
        self.actions_request_token = secrets.token_urlsafe(24)
        """The bearer token the runtime endpoint wants (ACTIONS_ID_TOKEN_REQUEST_TOKEN)."""
        self.actions_workflow = GitHubWorkflow()
        """The job the runtime endpoint mints tokens for; tests may replace it."""
        for prefix in ("", ACTIONS_PATH, GITLAB_PATH):
            self.route("GET", prefix + "/.well-known/openid-configuration", self._discovery)
            self.route("GET", prefix + "/jwks", self._jwks)
            self.route("GET", prefix + "/authorize", self._interactive)
            self.route("POST", prefix + "/token", self._interactive)
        self.route("GET", ACTIONS_RUNTIME_PATH, self._actions_runtime)
        self.route("GET", "/mint", self._mint_email)
        self.route("GET", "/mint/github", self._mint_github)

    # -- issuers -------------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """The people issuer (Fulcio type "email")."""
        return self.url

    @property
    def github_issuer(self) -> str:
        """The workflow issuer (Fulcio type "github-workflow")."""
        return self.url + ACTIONS_PATH

    @property
    def gitlab_issuer(self) -> str:
        """The GitLab issuer (Fulcio type "gitlab-pipeline")."""
        return self.url + GITLAB_PATH

    def gitlab_token(self, pipeline: GitLabPipeline | None = None, *,
                     audience: str | list[str] = AUDIENCE, alg: Alg = "RS256") -> str:
        """A GitLab-CI-shaped pipeline token from the GitLab issuer."""
        claims = (pipeline or GitLabPipeline()).claims(self.gitlab_issuer)
        return self.mint(claims, issuer=self.gitlab_issuer, audience=audience, alg=alg)

    @property
    def actions_request_url(self) -> str:
        """What a runner puts in ACTIONS_ID_TOKEN_REQUEST_URL.

        Like the real one it already has a query, so clients must append `audience` with `&`.
        """
        return f"{self.url}{ACTIONS_RUNTIME_PATH}?api-version=2.0"

    def jwks(self) -> dict[str, Any]:
        """The public keys both issuers sign with."""
        return {
            "keys": [
                _crypto.to_jwk(self.rsa_key.public_key()),
                _crypto.to_jwk(self.ec_key.public_key()),
            ]
        }

    # -- minting -------------------------------------------------------------------------------

    def mint(
        self,
        claims: Mapping[str, Any],
        *,
        issuer: str | None = None,
        audience: str | list[str] = AUDIENCE,
        alg: Alg = "ES256",
        lifetime: int = DEFAULT_LIFETIME,
        issued_at: int | None = None,
    ) -> str:
        """A signed ID token with `claims` plus iss/aud/iat/nbf/exp (which `claims` may override).

        `issued_at` backdates the token (e.g. `time.time() - 3600` with the default lifetime
        gives an expired one).
        """
        iat = int(time.time()) if issued_at is None else int(issued_at)
        full: dict[str, Any] = {
            "iss": issuer or self.issuer,
            "aud": audience,
            "iat": iat,
            "nbf": iat,
            "exp": iat + lifetime,
            "jti": secrets.token_hex(8),
        }
        full.update(claims)
        key: _crypto.PrivateKey = self.rsa_key if alg == "RS256" else self.ec_key
        return _crypto.jws_sign(full, key, _crypto.jwk_kid(key.public_key()))

    def email_token(
        self,
        email: str = "alice@example.com",
        *,
        verified: bool = True,
        audience: str | list[str] = AUDIENCE,
        alg: Alg = "ES256",
        lifetime: int = DEFAULT_LIFETIME,
        issued_at: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """A person's token: `email`, `email_verified` and a stable opaque `sub`."""
        claims: dict[str, Any] = {
            # NOTE: people issuers give an opaque, stable subject; the email is separate.
            "sub": hashlib.sha256(email.encode()).hexdigest()[:24],
            "email": email,
            "email_verified": verified,
        }
        claims.update(extra or {})
        return self.mint(claims, audience=audience, alg=alg, lifetime=lifetime, issued_at=issued_at)

    def github_token(
        self,
        workflow: GitHubWorkflow | None = None,
        *,
        audience: str | list[str] = AUDIENCE,
        alg: Alg = "RS256",
        lifetime: int = DEFAULT_LIFETIME,
        issued_at: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """A GitHub-Actions-shaped workflow token from the workflow issuer."""
        claims = (workflow or self.actions_workflow).claims()
        claims.update(extra or {})
        return self.mint(
            claims,
            issuer=self.github_issuer,
            audience=audience,
            alg=alg,
            lifetime=lifetime,
            issued_at=issued_at,
        )

    # -- HTTP ----------------------------------------------------------------------------------

    def _issuer_of(self, request: Request) -> str:
        if request.path.startswith(GITLAB_PATH + "/"):
            return self.gitlab_issuer
        return self.github_issuer if request.path.startswith(ACTIONS_PATH + "/") else self.issuer

    def _discovery(self, request: Request) -> Response:
        issuer = self._issuer_of(request)
        return Response.json(
            200,
            {
                "issuer": issuer,
                "jwks_uri": f"{issuer}/jwks",
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "claims_supported": ["sub", "aud", "exp", "iat", "iss", "nbf", "email"],
            },
        )

    def _jwks(self, request: Request) -> Response:
        return Response.json(200, self.jwks())

    def _interactive(self, request: Request) -> Response:
        # NOTE: there is nobody to sign in; tokens come from `mint`, /mint or the runner
        # endpoint. The answer is an OAuth error so OAuth clients report it as such.
        return Response.json(
            400,
            {
                "error": "unsupported_grant_type",
                "error_description": "this test issuer has no interactive sign-in; "
                "get a token from /mint instead",
            },
        )

    def _actions_runtime(self, request: Request) -> Response:
        auth = request.headers.get("Authorization") or ""
        scheme, _, credential = auth.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            credential.strip(), self.actions_request_token
        ):
            return Response.json(401, {"message": "bad or missing request token"})
        # NOTE: like GitHub, an absent audience means the repository owner's URL, which
        # Fulcio then refuses: callers must ask for audience=sigstore.
        workflow = self.actions_workflow
        audience = request.arg("audience") or f"{GITHUB_SERVER_URL}/{workflow.repository_owner}"
        token = self.github_token(workflow, audience=audience)
        return Response.json(200, {"count": 1, "value": token})

    def _mint_email(self, request: Request) -> Response:
        email = request.arg("email") or "alice@example.com"
        token = self.email_token(
            email,
            audience=request.arg("aud") or AUDIENCE,
            alg=_alg(request.arg("alg") or "ES256"),
            lifetime=_int(request.arg("lifetime"), DEFAULT_LIFETIME),
        )
        return Response(200, token.encode() + b"\n", "text/plain")

    def _mint_github(self, request: Request) -> Response:
        names = {f.name for f in dataclasses.fields(GitHubWorkflow)}
        changes = {k: v[0] for k, v in request.query.items() if k in names and v}
        workflow = dataclasses.replace(self.actions_workflow, **changes)
        token = self.github_token(
            workflow,
            audience=request.arg("aud") or AUDIENCE,
            alg=_alg(request.arg("alg") or "RS256"),
            lifetime=_int(request.arg("lifetime"), DEFAULT_LIFETIME),
        )
        return Response(200, token.encode() + b"\n", "text/plain")


def _alg(value: str) -> Alg:
    if value == "RS256":
        return "RS256"
    if value == "ES256":
        return "ES256"
    raise HttpError(400, f"alg must be RS256 or ES256, not {value!r}")


def _int(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as e:
        raise HttpError(400, f"not an integer: {value!r}") from e
