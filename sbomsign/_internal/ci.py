"""The CI environment, and where the OIDC identity token for keyless signing comes from.

Order (the first that gives a token wins):

1. `--identity-token`;
2. `SIGSTORE_ID_TOKEN` (also how GitLab CI passes its `id_tokens`);
3. GitHub Actions' ambient credential: with `permissions: id-token: write` the runner sets
   `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, and a GET of the URL
   with `audience=sigstore` and `Authorization: bearer <request token>` returns
   `{"value": "<JWT>"}`;
4. other CIs' ambient credentials (Google Cloud, Buildkite, CircleCI) through
   sigstore-python's detector;
5. with `--oauth` on a terminal, the browser flow of the Sigstore instance's OIDC issuer.

Nothing found is a `NetworkError` (exit 3): the environment lacks a credential.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from sbomsign.errors import NetworkError

#: The audience Sigstore's Fulcio accepts (sigstore-python and cosign default client id).
AUDIENCE = "sigstore"

#: Seconds to wait for the GitHub token endpoint (the `id` package and actions/toolkit use 30).
GITHUB_TOKEN_TIMEOUT = 30.0

MISSING_CREDENTIAL = (
    "no identity token: pass --identity-token, set SIGSTORE_ID_TOKEN,"
    " or run in CI with id-token: write"
)

# (variable, expected value or None for "set to anything", CI name), first match wins.
_CI_MARKERS: tuple[tuple[str, str | None, str], ...] = (
    ("GITHUB_ACTIONS", "true", "github-actions"),
    ("GITLAB_CI", "true", "gitlab-ci"),
    ("BUILDKITE", "true", "buildkite"),
    ("CIRCLECI", "true", "circleci"),
    ("TF_BUILD", "True", "azure-pipelines"),
    ("JENKINS_URL", None, "jenkins"),
    ("CI", "true", "ci"),
)


@dataclass(frozen=True)
class FoundToken:
    """An identity token and where it came from (for logs; never log the token)."""

    token: str
    source: str


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def ci_name(environ: Mapping[str, str] | None = None) -> str | None:
    """The CI system this process runs in (`github-actions`, `gitlab-ci`, ...), else None."""
    env = _env(environ)
    for var, value, name in _CI_MARKERS:
        got = env.get(var)
        if got is not None and (value is None or got.lower() == value.lower()):
            return name
    return None


def in_github_actions(environ: Mapping[str, str] | None = None) -> bool:
    """True inside a GitHub Actions job (`GITHUB_ACTIONS=true`)."""
    return _env(environ).get("GITHUB_ACTIONS") == "true"


def github_token_url(request_url: str, audience: str = AUDIENCE) -> str:
    """The token request URL with the audience appended as a query parameter."""
    # NOTE: the runner's URL already carries `?api-version=...`; appending `?` again would
    # make the audience part of that parameter's value.
    separator = "&" if "?" in request_url else "?"
    if request_url.endswith(("?", "&")):
        separator = ""
    return f"{request_url}{separator}audience={quote(audience, safe='')}"


def github_actions_token(
    environ: Mapping[str, str] | None = None,
    *,
    audience: str = AUDIENCE,
    timeout: float = GITHUB_TOKEN_TIMEOUT,
) -> str | None:
    """GitHub Actions' OIDC token for `audience`; None outside GitHub Actions.

    Raises:
        NetworkError: in GitHub Actions, but the job may not request tokens (no
            `id-token: write`), or the token endpoint failed or answered without a token.
    """
    env = _env(environ)
    if not in_github_actions(env):
        return None
    url = env.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    bearer = env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not url or not bearer:
        raise NetworkError(
            f"{MISSING_CREDENTIAL} (GitHub Actions: ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN are not set;"
            " give the job `permissions: id-token: write`)"
        )
    from sbomsign._internal import http

    what = "GitHub Actions OIDC token"
    body = http.get_json(
        github_token_url(url, audience),
        what=what,
        headers={"Authorization": f"bearer {bearer}", "Accept": "application/json"},
        timeout=(min(10.0, timeout), timeout),
    )
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise NetworkError(f"{what}: {http.host_of(url)}: the response has no token ('value')")
    return value.strip()


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed or detached stdin
        return False


def find_identity_token(
    explicit: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    browser: Callable[[], str] | None = None,
    interactive: bool | None = None,
    other_ci: Callable[[], str | None] | None = None,
) -> FoundToken:
    """The identity token for keyless signing, from the first source that has one.

    `browser` runs the interactive OAuth flow (passed only when the user asked for it with
    `--oauth`); it is used only when stdin is a terminal (`interactive`, default: detect).
    `other_ci` detects other CIs' ambient credentials (default: sigstore-python's detector).

    Raises:
        NetworkError: no source has a token, or an ambient credential could not be fetched.
    """
    env = _env(environ)
    if explicit and explicit.strip():
        return FoundToken(explicit.strip(), "--identity-token")
    from_env = env.get("SIGSTORE_ID_TOKEN", "").strip()
    if from_env:
        return FoundToken(from_env, "SIGSTORE_ID_TOKEN")
    if in_github_actions(env):
        # NOTE: GitHub is handled here rather than by sigstore-python's detector so that its
        # failures get one-line messages and the request has a bounded timeout.
        token = github_actions_token(env)
        if token:
            return FoundToken(token, "GitHub Actions")
    else:
        if other_ci is None:
            from sbomsign._internal.sigstore.sign import detect_ambient_credential

            other_ci = detect_ambient_credential
        token = other_ci()
        if token:
            return FoundToken(token, f"ambient credential ({ci_name(env) or 'CI'})")
    if browser is not None:
        if interactive is None:
            interactive = _stdin_is_tty()
        if not interactive:
            raise NetworkError(f"{MISSING_CREDENTIAL} (--oauth needs a terminal)")
        return FoundToken(browser(), "browser sign-in")
    raise NetworkError(MISSING_CREDENTIAL)
