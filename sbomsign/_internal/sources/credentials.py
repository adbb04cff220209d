"""Registry credentials, found where docker, podman and skopeo keep them.

The docker-style configs are read in this order, and the first that names the host (or a
helper for every host) answers: `REGISTRY_AUTH_FILE` (podman, skopeo),
`$DOCKER_CONFIG/config.json`, `~/.docker/config.json`. For a host, an `auths` entry
(`auth`: base64 `user:password`, or `username`/`password`) is taken first; else the
credential helper that `credHelpers` names for the host, or `credsStore` names for every host,
is run as docker runs it: `docker-credential-<name> get`, the server on stdin, a JSON
`{"Username", "Secret"}` on stdout. A helper that has nothing for the host says so (exit 1,
"credentials not found"); one that fails otherwise, or takes longer than 30 s, is an error:
a registry refusing the anonymous request would only hide the reason.
"""

from __future__ import annotations

import base64
import os
import subprocess
from typing import Any

from sbomsign._internal import jsonbound
from sbomsign.errors import NetworkError

#: Seconds a credential helper may take (some ask a keyring or a cloud's metadata service).
HELPER_SECONDS = 30


def _configs() -> list[dict[str, Any]]:
    candidates = [os.environ.get("REGISTRY_AUTH_FILE", "")]
    if os.environ.get("DOCKER_CONFIG"):
        candidates.append(os.path.join(os.environ["DOCKER_CONFIG"], "config.json"))
    candidates.append(os.path.expanduser("~/.docker/config.json"))
    found = []
    for path in filter(None, candidates):
        try:
            with open(path, "rb") as f:
                doc = jsonbound.loads(f.read(1 << 20))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict):
            found.append(doc)
    return found


def _from_auths(doc: dict[str, Any], host: str) -> tuple[str, str] | None:
    auths = doc.get("auths")
    entry = auths.get(host) or auths.get(f"https://{host}") if isinstance(auths, dict) else None
    if not isinstance(entry, dict):
        return None
    if isinstance(entry.get("auth"), str):
        try:
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user, password
    if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
        return entry["username"], entry["password"]
    return None


def _helper_name(doc: dict[str, Any], host: str) -> str:
    helpers = doc.get("credHelpers")
    name = helpers.get(host) if isinstance(helpers, dict) else None
    if not isinstance(name, str) or not name:
        name = doc.get("credsStore")
    return name if isinstance(name, str) and name.replace("-", "").isalnum() else ""


def _run_helper(name: str, host: str) -> tuple[str, str] | None:
    program = f"docker-credential-{name}"
    try:
        # NOTE: the user's own config names the program, as docker runs it; the name is
        # letters, digits and dashes only, so it is one program on PATH and no path.
        done = subprocess.run([program, "get"], input=host.encode(),  # noqa: S603
                              capture_output=True, timeout=HELPER_SECONDS, check=False)
    except FileNotFoundError:
        raise NetworkError(f"registry {host}: the credential helper {program} is not "
                           f"installed") from None
    except subprocess.TimeoutExpired:
        raise NetworkError(f"registry {host}: the credential helper {program} gave no "
                           f"answer within {HELPER_SECONDS} s") from None
    said = done.stdout.decode(errors="replace").strip()
    if done.returncode != 0:
        if "credentials not found" in said.lower():
            return None
        why = (said or done.stderr.decode(errors="replace")).strip().splitlines()
        raise NetworkError(f"registry {host}: the credential helper {program} failed: "
                           f"{why[0][:200] if why else f'exit {done.returncode}'}")
    try:
        answer = jsonbound.loads(done.stdout)
        user, secret = answer["Username"], answer["Secret"]
    except (ValueError, KeyError, TypeError):
        raise NetworkError(f"registry {host}: the credential helper {program} answered "
                           f"something other than credentials") from None
    if not isinstance(user, str) or not isinstance(secret, str):
        raise NetworkError(f"registry {host}: the credential helper {program} answered "
                           f"something other than credentials")
    return user, secret


def credentials(host: str) -> tuple[str, str] | None:
    """(user, password) for `host`, or None when no config names any.

    Raises:
        NetworkError: the credential helper named for the host failed.
    """
    for doc in _configs():
        found = _from_auths(doc, host)
        if found is not None:
            return found
        name = _helper_name(doc, host)
        if name:
            return _run_helper(name, host)
    return None
