"""A throw-away SoftHSM2 token with an EC P-256 key pair, as a pytest fixture.

`softhsm_token` makes a token in `tmp_path` (its own SoftHSM2 config and token directory,
selected through `SOFTHSM2_CONF`) and yields the RFC 7512 URI of its signing key, PIN
included.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

MODULE = os.environ.get("SBOMSIGN_PKCS11_MODULE") or "/usr/lib/softhsm/libsofthsm2.so"
TOKEN_LABEL = "sbomsign-test"
KEY_LABEL = "signing-key"
KEY_ID = b"\x01"
PIN = "1234"
SO_PIN = "12345678"


def token_uri(*, pin: str | None = PIN, module: str = MODULE, object: str = KEY_LABEL) -> str:
    """The URI of the fixture's key, with another PIN, module or object label if wanted."""
    query = f"module-path={module}" + (f"&pin-value={pin}" if pin is not None else "")
    return f"pkcs11:token={TOKEN_LABEL};object={object};id=%{KEY_ID.hex()}?{query}"


def _unload() -> None:
    # NOTE: SoftHSM reads SOFTHSM2_CONF when the module is initialised; a module still loaded
    # from another test would keep showing that test's tokens.
    if "pkcs11" in sys.modules:
        sys.modules["pkcs11"].unload(MODULE)


def _keypair_with_python_pkcs11() -> None:
    import pkcs11
    from pkcs11.util.ec import encode_named_curve_parameters

    lib = pkcs11.lib(MODULE)
    try:
        token = lib.get_token(token_label=TOKEN_LABEL)
        with token.open(rw=True, user_pin=PIN) as session:
            params = session.create_domain_parameters(
                pkcs11.KeyType.EC,
                {pkcs11.Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                local=True,
            )
            params.generate_keypair(store=True, label=KEY_LABEL, id=KEY_ID)
    finally:
        pkcs11.unload(MODULE)


@pytest.fixture
def softhsm_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SoftHSM2 token holding an EC P-256 key pair; yields its `pkcs11:` URI."""
    util = shutil.which("softhsm2-util")
    # NOTE: scripts/test installs softhsm2; a missing HSM is a broken set-up, not a skip.
    assert util is not None and Path(MODULE).exists(), "SoftHSM2 is not installed (apt softhsm2)"
    tokens = tmp_path / "softhsm-tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    _unload()
    subprocess.run(
        [util, "--init-token", "--free", "--label", TOKEN_LABEL, "--so-pin", SO_PIN, "--pin", PIN],
        check=True,
        capture_output=True,
    )
    tool = shutil.which("pkcs11-tool")
    if tool is not None:
        subprocess.run(
            [
                tool, "--module", MODULE, "--token-label", TOKEN_LABEL,
                "--keypairgen", "--key-type", "EC:prime256v1",
                "--label", KEY_LABEL, "--id", KEY_ID.hex(), "--login", "--pin", PIN,
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
    else:
        _keypair_with_python_pkcs11()
    try:
        yield token_uri()
    finally:
        _unload()
