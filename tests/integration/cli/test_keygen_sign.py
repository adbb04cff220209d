"""`sbomsign keygen` and `sbomsign sign --key`, run in-process through `main`."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import stat
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from sbomsign._cli import main
from sbomsign._internal import keys
from sbomsign._internal.keys import pkcs11

VECTOR = Path(__file__).resolve().parents[2] / "assets" / "cosign-key"
PASSWORD = "correct horse"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Never prompt, even under `pytest -s` on a terminal.
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    for var in (
        "SBOMSIGN_KEY_PASSWORD",
        "COSIGN_PASSWORD",
        "SBOMSIGN_KEY",
        "SBOMSIGN_IDENTITY_TOKEN",
        "SBOMSIGN_TRUST_CONFIG",
        "SBOMSIGN_OUTPUT_PREFIX",
        "SBOMSIGN_ALGORITHM",
        "SIGSTORE_ID_TOKEN",
        "SBOMSIGN_PKCS11_MODULE",
        "SBOMSIGN_PKCS11_PIN",
    ):
        monkeypatch.delenv(var, raising=False)


def _errors(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def _artifact(tmp_path: Path, name: str = "app", data: bytes = b"\x7fELF...") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _keygen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, algorithm: str) -> Path:
    monkeypatch.setenv("SBOMSIGN_KEY_PASSWORD", PASSWORD)
    prefix = tmp_path / f"key-{algorithm}"
    assert main(["keygen", "--output-prefix", str(prefix), "--algorithm", algorithm]) == 0
    return prefix


def _verify(bundle_path: Path, pub_path: Path, artifact: Path) -> None:
    """Verify a messageSignature bundle against a .pub with cryptography directly."""
    public = keys.load_public_key(pub_path.read_bytes())
    doc = json.loads(bundle_path.read_bytes())
    assert doc["verificationMaterial"] == {
        "publicKey": {"hint": keys.hint(public)},
        "tlogEntries": [],
    }
    sig = base64.b64decode(doc["messageSignature"]["signature"])
    data = artifact.read_bytes()
    if isinstance(public, ed25519.Ed25519PublicKey):
        public.verify(sig, data)
    else:
        alg = hashes.SHA384() if isinstance(public.curve, ec.SECP384R1) else hashes.SHA256()
        public.verify(sig, data, ec.ECDSA(alg))
        digest = base64.b64decode(doc["messageSignature"]["messageDigest"]["digest"])
        assert digest == hashlib.new(alg.name, data).digest()


# -- keygen ------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", keys.ALGORITHMS)
def test_keygen_sign_verify_roundtrip(
    algorithm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = _keygen(tmp_path, monkeypatch, algorithm)
    artifact = _artifact(tmp_path, data=b"x" * 3_000_000)
    assert main(["sign", str(artifact), "--key", f"{prefix}.key"]) == 0
    _verify(tmp_path / "app.sigstore.json", Path(f"{prefix}.pub"), artifact)


def test_keygen_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = _keygen(tmp_path, monkeypatch, "ecdsa-p256")
    key_file, pub_file = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_bytes().startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    assert pub_file.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    key = keys.load_private_key(key_file.read_bytes(), PASSWORD.encode())
    assert key.hint == keys.hint(keys.load_public_key(pub_file.read_bytes()))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "key-ecdsa-p256.key",
        "key-ecdsa-p256.pub",
    ]


def test_keygen_cosign_password_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSIGN_PASSWORD", "from-cosign")
    assert main(["keygen", "--output-prefix", str(tmp_path / "k")]) == 0
    keys.load_private_key((tmp_path / "k.key").read_bytes(), b"from-cosign")


def test_keygen_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = _keygen(tmp_path, monkeypatch, "ed25519")
    before = Path(f"{prefix}.key").read_bytes()
    capsys.readouterr()
    assert main(["keygen", "--output-prefix", str(prefix)]) == 2
    assert _errors(capsys) == [
        f"sbomsign keygen: error: {prefix}.key: already exists (use --overwrite to replace it)"
    ]
    assert Path(f"{prefix}.key").read_bytes() == before
    assert main(["keygen", "--output-prefix", str(prefix), "--overwrite"]) == 0
    assert Path(f"{prefix}.key").read_bytes() != before


def test_keygen_needs_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = tmp_path / "k"
    assert main(["keygen", "--output-prefix", str(prefix)]) == 2
    assert _errors(capsys) == [
        f"sbomsign keygen: error: no password for {prefix}.key:"
        " set SBOMSIGN_KEY_PASSWORD (or COSIGN_PASSWORD)"
    ]
    monkeypatch.setenv("SBOMSIGN_KEY_PASSWORD", "")
    assert main(["keygen", "--output-prefix", str(prefix)]) == 2
    assert _errors(capsys) == [
        "sbomsign keygen: error: empty password refused (use --no-password for an unencrypted key)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_keygen_no_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    prefix = tmp_path / "k"
    assert main(["keygen", "--output-prefix", str(prefix), "--no-password"]) == 0
    key_file = Path(f"{prefix}.key")
    assert key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "is not encrypted" in caplog.text
    # No password source at all is fine for an unencrypted key.
    artifact = _artifact(tmp_path)
    assert main(["sign", str(artifact), "--key", str(key_file)]) == 0
    _verify(tmp_path / "app.sigstore.json", Path(f"{prefix}.pub"), artifact)


def test_keygen_help_documents_the_password_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", "--help"]) == 0
    out = capsys.readouterr().out
    assert "SBOMSIGN_KEY_PASSWORD" in out and "--no-password" in out and "0600" in out


# -- sign with key files -----------------------------------------------------------------------


def test_sign_with_the_cosign_vector_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSIGN_PASSWORD", (VECTOR / "password.txt").read_text().rstrip("\r\n"))
    artifact = _artifact(tmp_path)
    bundle = tmp_path / "custom.json"
    args = ["sign", str(artifact), "--key", str(VECTOR / "cosign.key"), "--bundle", str(bundle)]
    assert main(args) == 0
    _verify(bundle, VECTOR / "cosign.pub", artifact)
    hint = json.loads(bundle.read_bytes())["verificationMaterial"]["publicKey"]["hint"]
    assert hint == (VECTOR / "keyid.txt").read_text().strip()
    assert not (tmp_path / "app.sigstore.json").exists()


def test_sign_wrong_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SBOMSIGN_KEY_PASSWORD", "wrong")
    artifact = _artifact(tmp_path)
    key = VECTOR / "cosign.key"
    assert main(["sign", str(artifact), "--key", str(key)]) == 2
    assert _errors(capsys) == [f"sbomsign sign: error: wrong password for {key}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app"]


def test_sign_with_public_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    artifact = _artifact(tmp_path)
    pub = VECTOR / "cosign.pub"
    assert main(["sign", str(artifact), "--key", str(pub)]) == 2
    assert _errors(capsys) == [
        f"sbomsign sign: error: {pub} is a public key or certificate; signing needs the private key"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n",
            "not a supported private key (PEM FOO)",
        ),
        (b"garbage", "not a PEM private key"),
    ],
)
def test_sign_with_unknown_key_file(
    content: bytes, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _artifact(tmp_path)
    key = tmp_path / "odd.key"
    key.write_bytes(content)
    assert main(["sign", str(artifact), "--key", str(key)]) == 2
    assert _errors(capsys) == [f"sbomsign sign: error: {key}: {message}"]
    assert not (tmp_path / "app.sigstore.json").exists()


def test_sign_missing_key_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    artifact = _artifact(tmp_path)
    assert main(["sign", str(artifact), "--key", str(tmp_path / "nope.key")]) == 2
    assert _errors(capsys) == [f"sbomsign sign: error: {tmp_path / 'nope.key'}: no such key file"]


def test_sign_several_with_one_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = _keygen(tmp_path, monkeypatch, "ecdsa-p256")
    a, c = _artifact(tmp_path, "a"), _artifact(tmp_path, "c", b"other")
    missing = tmp_path / "b"
    capsys.readouterr()
    assert main(["sign", str(a), str(missing), str(c), "--key", f"{prefix}.key"]) == 2
    assert _errors(capsys) == [f"sbomsign sign: error: {missing}: no such file"]
    _verify(tmp_path / "a.sigstore.json", Path(f"{prefix}.pub"), a)
    _verify(tmp_path / "c.sigstore.json", Path(f"{prefix}.pub"), c)
    assert not (tmp_path / "b.sigstore.json").exists()


def test_sign_all_missing_does_not_ask_for_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No password is available: reaching the key would fail with another message.
    args = ["sign", str(tmp_path / "x"), "--key", str(VECTOR / "cosign.key")]
    assert main(args) == 2
    assert _errors(capsys) == [f"sbomsign sign: error: {tmp_path / 'x'}: no such file"]


def test_sign_checks_every_output_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = _keygen(tmp_path, monkeypatch, "ecdsa-p256")
    a, b = _artifact(tmp_path, "a"), _artifact(tmp_path, "b")
    existing = tmp_path / "b.sigstore.json"
    existing.write_text("old")
    capsys.readouterr()
    assert main(["sign", str(a), str(b), "--key", f"{prefix}.key"]) == 2
    assert _errors(capsys) == [
        f"sbomsign sign: error: {existing}: already exists (use --overwrite to replace it)"
    ]
    assert not (tmp_path / "a.sigstore.json").exists()
    assert existing.read_text() == "old"
    assert main(["sign", str(a), str(b), "--key", f"{prefix}.key", "--overwrite"]) == 0
    _verify(existing, Path(f"{prefix}.pub"), b)


def test_bundle_option_takes_one_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _artifact(tmp_path, "a"), _artifact(tmp_path, "b")
    args = ["sign", str(a), str(b), "--key", "k", "--bundle", str(tmp_path / "x.json")]
    assert main(args) == 2
    assert _errors(capsys) == ["sbomsign sign: error: --bundle needs exactly one PATH"]


def test_same_artifact_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _artifact(tmp_path, "a")
    assert main(["sign", str(a), str(a), "--key", "k"]) == 2
    assert "given twice" in _errors(capsys)[0]


# -- keyless seam ------------------------------------------------------------------------------


def test_keyless_without_token_is_an_environment_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _artifact(tmp_path)
    assert main(["sign", str(artifact)]) == 3
    [line] = _errors(capsys)
    assert line.startswith("sbomsign sign: error: no identity token")
    assert not (tmp_path / "app.sigstore.json").exists()


def test_keyless_with_a_malformed_token_is_an_environment_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", "eyJ.fake.token")
    artifact = _artifact(tmp_path)
    assert main(["sign", str(artifact)]) == 3
    [line] = _errors(capsys)
    assert "identity token is not a JWT" in line
    assert not (tmp_path / "app.sigstore.json").exists()


# -- PKCS#11 -----------------------------------------------------------------------------------


def test_sign_with_softhsm(softhsm_token: str, tmp_path: Path) -> None:
    artifact = _artifact(tmp_path, data=b"y" * 100_000)
    assert main(["sign", str(artifact), "--key", softhsm_token]) == 0
    with pkcs11.open_key(softhsm_token) as key:
        pub = tmp_path / "token.pub"
        pub.write_bytes(keys.public_key_pem(key.public_key))
    _verify(tmp_path / "app.sigstore.json", pub, artifact)


def test_sign_with_softhsm_pin_from_environment(
    softhsm_token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = pkcs11.parse_uri(softhsm_token)
    monkeypatch.setenv("SBOMSIGN_PKCS11_PIN", uri.pin_value or "")
    monkeypatch.setenv("SBOMSIGN_PKCS11_MODULE", uri.module_path or "")
    artifact = _artifact(tmp_path)
    assert main(["sign", str(artifact), "--key", f"pkcs11:token={uri.token};id=%01"]) == 0


def test_sign_with_softhsm_bad_pin(
    softhsm_token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _artifact(tmp_path)
    uri = pkcs11.parse_uri(softhsm_token)
    bad = softhsm_token.replace(f"pin-value={uri.pin_value}", "pin-value=0000")
    assert main(["sign", str(artifact), "--key", bad]) == 2
    [line] = _errors(capsys)
    assert line.startswith("sbomsign sign: error: wrong PIN for pkcs11:token=")
    assert "0000" not in line
    assert not (tmp_path / "app.sigstore.json").exists()


def test_sign_with_unreachable_module(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    artifact = _artifact(tmp_path)
    module = tmp_path / "missing-module.so"
    key = f"pkcs11:token=t;object=k?module-path={module}&pin-value=1"
    assert main(["sign", str(artifact), "--key", key]) == 3
    assert _errors(capsys) == [
        f"sbomsign sign: error: cannot load PKCS#11 module {module}: no such file"
    ]
    assert not (tmp_path / "app.sigstore.json").exists()
