"""The exception hierarchy.

Every error sbomsign raises on purpose derives from `Error`, carries a message meant for the
user (one line, naming the file and the reason) and the process exit code documented in the
README:

| code | meaning |
|---|---|
| 0 | success |
| 1 | verification or policy failure |
| 2 | usage error, or an input that cannot be read or parsed |
| 3 | environment failure: network, missing OIDC token, HSM unavailable |
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3


class Error(Exception):
    """Base class of every error sbomsign reports to its user."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def diagnostics(self) -> str:
        """The one-line, user-facing description of the error."""
        # NOTE: messages must stay on one line: the CLI and the GitHub Action print them
        # as single annotations.
        return " ".join(self.message.split())

    def about(self, name: str) -> str:
        """The description without a leading `name: `, for reports that name the item the
        error is about themselves."""
        return self.diagnostics().removeprefix(f"{name}: ")


class InputError(Error):
    """An input (file, option, document) cannot be read, parsed or is not allowed."""

    exit_code = EXIT_USAGE


class InspectionError(InputError):
    """A binary cannot be inspected: unknown format, truncated, damaged or hostile."""


class SbomError(InputError):
    """An SBOM cannot be written or read."""


class SigningError(Error):
    """Signing failed because of the material given (bad key, bad password, ...)."""

    exit_code = EXIT_USAGE


class NetworkError(Error):
    """The environment failed: network, OIDC token, HSM, transparency log."""

    exit_code = EXIT_ENVIRONMENT


class VerificationError(Error):
    """Something was checked and found wrong: a signature, a digest, an identity."""

    exit_code = EXIT_FAILURE


class PolicyViolation(VerificationError):
    """The policy was evaluated and at least one rule failed."""
