"""The pytest fixture: one local Sigstore instance for the whole test session.

Add to tests/conftest.py:

    from tests.sigstore_local.fixture import sigstore_local  # noqa: F401  (a fixture)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sigstore_local.instance import LocalSigstore


@pytest.fixture(scope="session")
def sigstore_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSigstore]:
    """A running private Sigstore instance (OIDC issuer, Fulcio, Rekor v1) on 127.0.0.1.

    Shared by the session: tests that flip a fault switch must turn it off again
    (`reset_faults()` in a `finally`), and tests that stop or restart services should start
    their own `LocalSigstore` in a temporary directory instead.
    """
    instance = LocalSigstore(tmp_path_factory.mktemp("sigstore-local")).start()
    try:
        yield instance
    finally:
        instance.stop()
