"""Shared test fixtures: real assets under tests/assets/."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# NOTE: imported first so that every jsonschema user in the test process (cyclonedx-python-lib's
# strict validators above all) gets the IRI format checker, whatever test runs first; the gate
# itself skips that slow import when it validates policies.
import rfc3987_syntax  # noqa: F401

from tests.sigstore_local.fixture import sigstore_local  # noqa: F401  (a fixture)
from tests.softhsm import softhsm_token  # noqa: F401  (a fixture)

ASSETS = Path(__file__).parent / "assets"
BIN = ASSETS / "bin"


def load_fixtures() -> list[dict[str, Any]]:
    """The fixture binaries described by tests/assets/fixtures.json."""
    manifest = ASSETS / "fixtures.json"
    assert manifest.is_file(), (
        "tests/assets/fixtures.json is missing: run tests/assets/build-assets.sh"
    )
    data = json.loads(manifest.read_text())
    return list(data["fixtures"] if isinstance(data, dict) else data)


@pytest.fixture
def asset() -> Callable[[str], Path]:
    """Path of a file under tests/assets/ (fails if it does not exist)."""

    def _asset(name: str) -> Path:
        assert ASSETS.is_dir()
        path = ASSETS / name
        assert path.exists(), f"missing test asset {name}"
        return path

    return _asset


@pytest.fixture(scope="session")
def go_tool() -> str:
    """The `go` command, which the test command installs (Debian golang-go)."""
    go = shutil.which("go")
    assert go, "go is not installed: run scripts/test, which installs golang-go"
    return go
