"""`sbomsign attest` end to end with managed keys, and the keyless paths of `sign` and
`attest` as far as they go without a Sigstore instance (token, trust config, unreachable
Fulcio), run in-process through `main`."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from sbomsign import sbom
from sbomsign._cli import main
from sbomsign._internal import intoto, keys
from sbomsign._internal.sigstore import bundle, dsse

BIN = Path(__file__).resolve().parents[2] / "assets" / "bin"
PASSWORD = "attest-password"

GITHUB_ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "octo/app",
    "GITHUB_REF": "refs/tags/v1.2.3",
    "GITHUB_SHA": "c27d339ee6075c1f744c5d4b200f7901aad2c369",
    "GITHUB_WORKFLOW_REF": "octo/app/.github/workflows/release.yml@refs/tags/v1.2.3",
    "GITHUB_EVENT_NAME": "push",
    "GITHUB_REPOSITORY_ID": "1296269",
    "GITHUB_REPOSITORY_OWNER_ID": "583231",
    "GITHUB_RUN_ID": "1536140711",
    "GITHUB_RUN_ATTEMPT": "1",
    "RUNNER_ENVIRONMENT": "github-hosted",
}

_CLEARED = (
    "SBOMSIGN_KEY_PASSWORD",
    "COSIGN_PASSWORD",
    "SBOMSIGN_KEY",
    "SBOMSIGN_IDENTITY_TOKEN",
    "SBOMSIGN_TRUST_CONFIG",
    "SBOMSIGN_SUPPLIER",
    "SBOMSIGN_AUTHOR",
    "SIGSTORE_ID_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "GOOGLE_SERVICE_ACCOUNT_NAME",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    *GITHUB_ENV,
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Never prompt, even under `pytest -s` on a terminal; never inherit a CI's credentials.
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    for var in _CLEARED:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, keys.PublicKey]:
    """An unencrypted PEM P-256 key, made once for the module."""
    key = keys.generate("ecdsa-p256")
    path = tmp_path_factory.mktemp("key") / "signing.pem"
    path.write_bytes(key.private_pem(None))
    return path, key.public_key


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    target.write_bytes((BIN / name).read_bytes())
    return target


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def _errors(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def _open(bundle_path: Path, public_key: keys.PublicKey) -> intoto.Statement:
    """Parse the bundle, check its DSSE signature, return the statement."""
    parsed = bundle.parse_bundle(bundle_path.read_bytes())
    assert parsed.material == "publicKey"
    assert parsed.hint == keys.hint(public_key)
    assert parsed.tlog_entries == ()
    envelope = parsed.dsse_envelope
    assert envelope is not None
    assert envelope.payload_type == intoto.PAYLOAD_TYPE
    signed = dsse.pae(envelope.payload_type, envelope.payload)
    keys.verify_signature(public_key, envelope.signatures[0].sig, data=signed)
    return intoto.parse_statement(envelope.payload)


# -- managed keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("binary", ["go-linux-loong64", "c-hello-hardened"])
@pytest.mark.parametrize(
    ("kind", "uri"),
    [("cyclonedx", "https://cyclonedx.org/bom"), ("spdx", "https://spdx.dev/Document/v2.3")],
)
def test_attest_generated_sbom(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey], binary: str, kind: str, uri: str
) -> None:
    key, public = key_pair
    artifact = _copy(tmp_path, binary)
    assert main(["attest", str(artifact), "--type", kind, "--key", str(key)]) == 0
    out = tmp_path / f"{binary}.{kind}.sigstore.json"
    statement = _open(out, public)
    assert statement.type == "https://in-toto.io/Statement/v1"
    assert statement.predicate_type == uri
    [subject] = statement.subjects
    assert subject.name == binary
    assert dict(subject.digest) == {"sha256": _sha256(artifact)}
    inventory = sbom.read(json.dumps(statement.predicate).encode(), "predicate")
    assert [a.name for a in inventory.artifacts] == [binary]
    if kind == "cyclonedx":
        assert statement.predicate["bomFormat"] == "CycloneDX"
    else:
        assert statement.predicate["spdxVersion"] == "SPDX-2.3"
    assert _files(tmp_path) == {binary, out.name}


def test_attest_with_a_keygen_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SBOMSIGN_KEY_PASSWORD", PASSWORD)
    prefix = tmp_path / "release"
    assert main(["keygen", "--output-prefix", str(prefix)]) == 0
    artifact = _copy(tmp_path, "go-linux-loong64")
    out = tmp_path / "sbom.bundle.json"
    args = ["attest", str(artifact), "--type", "cyclonedx", "--key", f"{prefix}.key"]
    assert main([*args, "--bundle", str(out), "--supplier", "Octo Inc", "--author", "Ops"]) == 0
    public = keys.load_public_key((tmp_path / "release.pub").read_bytes())
    statement = _open(out, public)
    assert statement.subjects_with_sha256(_sha256(artifact))
    assert "Octo Inc" in json.dumps(statement.predicate)


def test_attest_several_subjects_one_merged_sbom(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey]
) -> None:
    key, public = key_pair
    amd = _copy(tmp_path, "go-linux-amd64")
    arm = _copy(tmp_path, "go-linux-arm64")
    args = ["attest", str(amd), "--subject", str(arm), "--subject", str(amd), "--type", "spdx"]
    assert main([*args, "--key", str(key)]) == 0
    statement = _open(tmp_path / "go-linux-amd64.spdx.sigstore.json", public)
    assert [(s.name, s.digest["sha256"]) for s in statement.subjects] == [
        ("go-linux-amd64", _sha256(amd)),
        ("go-linux-arm64", _sha256(arm)),
    ]
    inventory = sbom.read(json.dumps(statement.predicate).encode(), "predicate")
    assert sorted(a.name for a in inventory.artifacts) == ["go-linux-amd64", "go-linux-arm64"]


def test_attest_slsa_provenance_in_github_actions(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in GITHUB_ENV.items():
        monkeypatch.setenv(name, value)
    key, public = key_pair
    artifact = _copy(tmp_path, "c-hello-hardened")
    assert main(["attest", str(artifact), "--type", "slsa-provenance", "--key", str(key)]) == 0
    statement = _open(tmp_path / "c-hello-hardened.slsa-provenance.sigstore.json", public)
    assert statement.predicate_type == "https://slsa.dev/provenance/v1"
    assert statement.subjects_with_sha256(_sha256(artifact))
    definition = statement.predicate["buildDefinition"]
    assert definition["buildType"] == "https://actions.github.io/buildtypes/workflow/v1"
    assert definition["externalParameters"]["workflow"] == {
        "ref": "refs/tags/v1.2.3",
        "repository": "https://github.com/octo/app",
        "path": ".github/workflows/release.yml",
    }
    assert definition["resolvedDependencies"] == [
        {
            "uri": "git+https://github.com/octo/app@refs/tags/v1.2.3",
            "digest": {"gitCommit": GITHUB_ENV["GITHUB_SHA"]},
        }
    ]
    assert statement.predicate["runDetails"]["metadata"]["invocationId"] == (
        "https://github.com/octo/app/actions/runs/1536140711/attempts/1"
    )


def test_attest_custom_predicate_type(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey]
) -> None:
    key, public = key_pair
    artifact = _copy(tmp_path, "c-hello-hardened")
    predicate = tmp_path / "result.json"
    predicate.write_text('{"result": "PASSED", "passedTests": ["unit"]}')
    uri = "https://in-toto.io/attestation/test-result/v0.1"
    args = ["attest", str(artifact), "--type", uri, "--predicate", str(predicate)]
    assert main([*args, "--key", str(key)]) == 0
    statement = _open(tmp_path / "c-hello-hardened.test-result.sigstore.json", public)
    assert statement.predicate_type == uri
    assert statement.predicate == {"result": "PASSED", "passedTests": ["unit"]}


def test_attest_given_sbom_predicate(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey]
) -> None:
    key, public = key_pair
    artifact = _copy(tmp_path, "go-linux-loong64")
    document = tmp_path / "app.cdx.json"
    assert main(["sbom", str(artifact), "-o", str(document)]) == 0
    args = ["attest", str(artifact), "--type", "cyclonedx", "--predicate", str(document)]
    assert main([*args, "--key", str(key)]) == 0
    statement = _open(tmp_path / "go-linux-loong64.cyclonedx.sigstore.json", public)
    assert statement.predicate == json.loads(document.read_bytes())


def test_attest_does_not_import_sigstore_with_a_key(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey]
) -> None:
    key, _ = key_pair
    artifact = tmp_path / "blob"
    artifact.write_bytes(b"blob")
    predicate = tmp_path / "p.json"
    predicate.write_text("{}")
    code = (
        "import sys\n"
        "from sbomsign._cli import main\n"
        f"rc = main(['attest', {str(artifact)!r}, '--type', 'https://x.example/p',"
        f" '--predicate', {str(predicate)!r}, '--key', {str(key)!r}])\n"
        "assert 'sigstore' not in sys.modules, 'sigstore was imported'\n"
        "sys.exit(rc)\n"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


# -- bad input: exit 2, nothing written --------------------------------------------------------


def _refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = _files(tmp_path)
    assert main(argv) == 2
    [line] = _errors(capsys)
    assert line.startswith("sbomsign attest: error: ")
    assert message in line
    assert _files(tmp_path) == before


def test_uri_type_needs_a_predicate(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey], capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _copy(tmp_path, "c-hello-hardened")
    argv = ["attest", str(artifact), "--type", "https://example.com/p/v1"]
    _refused(tmp_path, capsys, [*argv, "--key", str(key_pair[0])], "give the predicate with")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "the predicate is not JSON"),
        (b"\xff\xfe", "the predicate is not JSON"),
        (b"[1, 2]", "the predicate must be a JSON object"),
    ],
)
def test_predicate_must_be_a_json_object(
    tmp_path: Path,
    key_pair: tuple[Path, keys.PublicKey],
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    message: str,
) -> None:
    artifact = _copy(tmp_path, "c-hello-hardened")
    predicate = tmp_path / "p.json"
    predicate.write_bytes(content)
    argv = ["attest", str(artifact), "--type", "https://x.example/p", "--predicate", str(predicate)]
    _refused(tmp_path, capsys, [*argv, "--key", str(key_pair[0])], message)


def test_sbom_type_checks_the_given_document(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey], capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _copy(tmp_path, "c-hello-hardened")
    predicate = tmp_path / "p.json"
    predicate.write_text('{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"}')
    argv = ["attest", str(artifact), "--type", "cyclonedx", "--predicate", str(predicate)]
    _refused(tmp_path, capsys, [*argv, "--key", str(key_pair[0])], "not a cyclonedx SBOM")


def test_missing_predicate_file(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey], capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _copy(tmp_path, "c-hello-hardened")
    argv = ["attest", str(artifact), "--type", "spdx", "--predicate", str(tmp_path / "none")]
    _refused(tmp_path, capsys, [*argv, "--key", str(key_pair[0])], "none: no such file")


def test_missing_artifact(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["attest", str(tmp_path / "gone"), "--type", "cyclonedx", "--key", str(key_pair[0])]
    _refused(tmp_path, capsys, argv, "gone: no such file")


def test_missing_subject(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey], capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _copy(tmp_path, "c-hello-hardened")
    argv = ["attest", str(artifact), "--subject", str(tmp_path), "--type", "spdx"]
    _refused(tmp_path, capsys, [*argv, "--key", str(key_pair[0])], "not a regular file")


def test_existing_bundle_is_kept(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey], capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _copy(tmp_path, "c-hello-hardened")
    existing = tmp_path / "c-hello-hardened.spdx.sigstore.json"
    existing.write_text("keep me")
    argv = ["attest", str(artifact), "--type", "spdx", "--key", str(key_pair[0])]
    _refused(tmp_path, capsys, argv, "already exists (use --overwrite to replace it)")
    assert existing.read_text() == "keep me"
    assert main([*argv, "--overwrite"]) == 0
    assert _open(existing, key_pair[1]).subjects_with_sha256(_sha256(artifact))


def test_existing_bundle_is_refused_before_the_key_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _copy(tmp_path, "c-hello-hardened")
    (tmp_path / "out.json").write_text("x")
    argv = ["attest", str(artifact), "--type", "spdx", "--bundle", str(tmp_path / "out.json")]
    _refused(tmp_path, capsys, [*argv, "--key", str(tmp_path / "no-key")], "already exists")


def test_bundle_over_the_artifact_is_refused(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey], capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _copy(tmp_path, "c-hello-hardened")
    argv = ["attest", str(artifact), "--type", "spdx", "--bundle", str(artifact), "--overwrite"]
    _refused(tmp_path, capsys, [*argv, "--key", str(key_pair[0])], "choose another --bundle")
    assert _sha256(artifact) == _sha256(BIN / "c-hello-hardened")


def test_not_a_binary_without_predicate(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey], capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = tmp_path / "notes.txt"
    artifact.write_text("hello")
    argv = ["attest", str(artifact), "--type", "cyclonedx", "--key", str(key_pair[0])]
    _refused(tmp_path, capsys, argv, "cannot make an SBOM of it")


def test_unknown_type(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey], capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _copy(tmp_path, "c-hello-hardened")
    argv = ["attest", str(artifact), "--type", "sbom", "--key", str(key_pair[0])]
    _refused(tmp_path, capsys, argv, "use cyclonedx, spdx, spdx3, slsa-provenance or a")


def test_slsa_provenance_outside_github_actions(
    tmp_path: Path, key_pair: tuple[Path, keys.PublicKey], capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = _copy(tmp_path, "c-hello-hardened")
    argv = ["attest", str(artifact), "--type", "slsa-provenance", "--key", str(key_pair[0])]
    _refused(tmp_path, capsys, argv, "not running in GitHub Actions")


def test_type_is_required(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attest", str(tmp_path)]) == 2
    assert "--type" in capsys.readouterr().err


# -- keyless, offline --------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mint(**claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": "https://token.actions.githubusercontent.com",
        "sub": "repo:octo/app:ref:refs/tags/v1.2.3",
        "aud": "sigstore",
        "iat": now,
        "exp": now + 600,
        "job_workflow_ref": "octo/app/.github/workflows/release.yml@refs/tags/v1.2.3",
        **claims,
    }
    key = ec.generate_private_key(ec.SECP256R1())
    head = _b64(b'{"alg":"ES256","typ":"JWT"}') + "." + _b64(json.dumps(body).encode())
    r, s = utils.decode_dss_signature(key.sign(head.encode(), ec.ECDSA(hashes.SHA256())))
    return head + "." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _trust_config(tmp_path: Path, url: str) -> Path:
    service = {
        "url": url,
        "majorApiVersion": 1,
        "validFor": {"start": "2020-01-01T00:00:00Z"},
        "operator": "sbomsign-tests",
    }
    doc = {
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [],
            "certificateAuthorities": [],
            "ctlogs": [],
            "timestampAuthorities": [],
        },
        "signingConfig": {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [service],
            "oidcUrls": [],
            "rekorTlogUrls": [service],
            "tsaUrls": [],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        },
    }
    path = tmp_path.parent / f"{tmp_path.name}-trust.json"
    path.write_text(json.dumps(doc))
    return path


class _TokenHandler(BaseHTTPRequestHandler):
    jwt = ""
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.hits.append(self.path)
        ok = self.headers.get("Authorization") == "bearer request-token"
        body = json.dumps({"value": self.jwt}).encode() if ok else b"{}"
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def github_token_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_TokenHandler]]:
    """A GitHub Actions job with id-token: write, its token endpoint on 127.0.0.1."""
    handler = type("Handler", (_TokenHandler,), {"jwt": _mint(), "hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv(
        "ACTIONS_ID_TOKEN_REQUEST_URL", f"http://127.0.0.1:{server.server_port}/t?api-version=2.0"
    )
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token")
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_keyless_sign_with_unreachable_fulcio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifacts = [_copy(tmp_path, "c-hello-hardened"), _copy(tmp_path, "go-linux-loong64")]
    config = _trust_config(tmp_path, f"http://127.0.0.1:{_closed_port()}")
    argv = ["sign", *map(str, artifacts), "--identity-token", _mint()]
    start = time.monotonic()
    assert main([*argv, "--trust-config", str(config)]) == 3
    assert time.monotonic() - start < 15
    identity, error = _errors(capsys)
    assert identity == (
        "sbomsign sign: signing as"
        " https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.2.3"
        " (issuer https://token.actions.githubusercontent.com) with the Sigstore instance of"
        f" {config}"
    )
    assert error.startswith("sbomsign sign: error: Fulcio (127.0.0.1:")
    assert error.endswith("cannot get a signing certificate: connection refused")
    assert _files(tmp_path) == {"c-hello-hardened", "go-linux-loong64"}


def test_keyless_attest_with_github_token_and_unreachable_fulcio(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    github_token_endpoint: type[_TokenHandler],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in GITHUB_ENV.items():
        monkeypatch.setenv(name, value)
    artifact = _copy(tmp_path, "c-hello-hardened")
    config = _trust_config(tmp_path, f"http://127.0.0.1:{_closed_port()}")
    argv = ["attest", str(artifact), "--type", "slsa-provenance", "--trust-config", str(config)]
    assert main(argv) == 3
    identity, error = _errors(capsys)
    assert "signing as https://github.com/octo/app/.github/workflows/release.yml@" in identity
    assert "connection refused" in error
    [path] = github_token_endpoint.hits
    assert path == "/t?api-version=2.0&audience=sigstore"
    assert _files(tmp_path) == {"c-hello-hardened"}


def test_keyless_bad_trust_config_is_refused_before_fetching_a_token(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    github_token_endpoint: type[_TokenHandler],
) -> None:
    artifact = _copy(tmp_path, "c-hello-hardened")
    config = tmp_path.parent / f"{tmp_path.name}-bad.json"
    config.write_text('{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}')
    assert main(["sign", str(artifact), "--trust-config", str(config)]) == 2
    [error] = _errors(capsys)
    assert "is a trusted root" in error
    assert github_token_endpoint.hits == []
    missing = tmp_path.parent / "nothing.json"
    assert main(["sign", str(artifact), "--trust-config", str(missing)]) == 2
    assert "cannot read" in _errors(capsys)[0]
    assert _files(tmp_path) == {"c-hello-hardened"}


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": 1_000_000}, "identity token expired at 1970-01-12"),
        ({"aud": "github"}, "identity token is for audience github, not 'sigstore'"),
    ],
)
def test_keyless_bad_token_is_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], claims: dict[str, Any], message: str
) -> None:
    artifact = _copy(tmp_path, "c-hello-hardened")
    config = _trust_config(tmp_path, f"http://127.0.0.1:{_closed_port()}")
    for command in (["sign"], ["attest", "--type", "spdx"]):
        argv = [*command, str(artifact), "--identity-token", _mint(**claims)]
        assert main([*argv, "--trust-config", str(config)]) == 3
        [error] = _errors(capsys)
        assert error.startswith(f"sbomsign {command[0]}: error: {message}")
    assert _files(tmp_path) == {"c-hello-hardened"}


def test_keyless_without_any_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    artifact = _copy(tmp_path, "c-hello-hardened")
    assert main(["attest", str(artifact), "--type", "spdx"]) == 3
    [error] = _errors(capsys)
    assert error == (
        "sbomsign attest: error: no identity token: pass --identity-token, set"
        " SIGSTORE_ID_TOKEN, or run in CI with id-token: write"
    )
    assert _files(tmp_path) == {"c-hello-hardened"}


def test_keyless_checks_outputs_before_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], github_token_endpoint: type[_TokenHandler]
) -> None:
    artifact = _copy(tmp_path, "c-hello-hardened")
    (tmp_path / "c-hello-hardened.sigstore.json").write_text("old")
    (tmp_path / "c-hello-hardened.spdx.sigstore.json").write_text("old")
    assert main(["sign", str(artifact)]) == 2
    assert main(["attest", str(artifact), "--type", "spdx"]) == 2
    assert github_token_endpoint.hits == []
    assert all("already exists" in line for line in _errors(capsys))


def test_sign_and_attest_modules_do_not_import_sigstore() -> None:
    code = (
        "import sys\n"
        "import sbomsign.sign, sbomsign._cli.sign, sbomsign._cli.attest, sbomsign._internal.ci\n"
        "from sbomsign._cli import main\n"
        "main(['scan', '--help'])\n"
        "assert 'sigstore' not in sys.modules\n"
    )
    root = Path(__file__).resolve().parents[3]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SBOMSIGN_")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


# -- keyless, with sigstore-python's signer replaced by a fake ----------------------------------


class _FakeBundle:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def to_json(self) -> str:
        return json.dumps(self.doc)


class _FakeSigner:
    """Records what sbomsign hands to sigstore-python; fails for the digests in `fail_on`."""

    def __init__(self) -> None:
        self.fail_on: set[str] = set()
        self.lock = threading.Lock()
        self.signed: list[str] = []

    def sign_artifact(self, hashed: Any) -> _FakeBundle:
        time.sleep(0.05)
        if hashed.digest.hex() in self.fail_on:
            raise requests.ConnectionError("rekor down")
        with self.lock:
            self.signed.append(hashed.digest.hex())
        return _FakeBundle({"messageDigest": hashed.digest.hex()})

    def sign_dsse(self, statement: Any) -> _FakeBundle:
        # `_contents`: the bytes sigstore-python puts in the DSSE payload and signs.
        return _FakeBundle({"payload": base64.b64encode(statement._contents).decode()})


@pytest.fixture
def fake_sigstore(monkeypatch: pytest.MonkeyPatch) -> _FakeSigner:
    from sbomsign._internal.sigstore import sign as ss  # imports sigstore: only in these tests

    fake = _FakeSigner()

    @contextlib.contextmanager
    def signer(self: Any, token: Any, *, cache: bool = True) -> Iterator[_FakeSigner]:
        yield fake

    monkeypatch.setattr(ss.SigningContext, "signer", signer)  # type: ignore[attr-defined]
    return fake


def test_keyless_sign_writes_every_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_sigstore: _FakeSigner
) -> None:
    artifacts = [_copy(tmp_path, n) for n in ("c-hello-hardened", "go-linux-loong64")]
    config = _trust_config(tmp_path, "http://127.0.0.1:1")
    argv = ["sign", *map(str, artifacts), "--identity-token", _mint()]
    assert main([*argv, "--trust-config", str(config)]) == 0
    [identity] = _errors(capsys)
    assert identity.startswith("sbomsign sign: signing as https://github.com/octo/app/")
    for artifact in artifacts:
        doc = json.loads((tmp_path / f"{artifact.name}.sigstore.json").read_bytes())
        assert doc == {"messageDigest": _sha256(artifact)}


def test_keyless_sign_failure_keeps_the_signed_bundles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_sigstore: _FakeSigner
) -> None:
    good, bad = (_copy(tmp_path, n) for n in ("c-hello-hardened", "go-linux-loong64"))
    fake_sigstore.fail_on = {_sha256(bad)}
    config = _trust_config(tmp_path, "http://127.0.0.1:1")
    argv = ["sign", str(good), str(bad), "--identity-token", _mint()]
    assert main([*argv, "--trust-config", str(config)]) == 3
    _, error = _errors(capsys)
    assert error == (
        "sbomsign sign: error: Rekor (127.0.0.1:1): cannot log the signature: connection failed"
    )
    assert _files(tmp_path) == {good.name, bad.name, f"{good.name}.sigstore.json"}


def test_keyless_attest_signs_the_statement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_sigstore: _FakeSigner
) -> None:
    artifact = _copy(tmp_path, "go-linux-loong64")
    config = _trust_config(tmp_path, "http://127.0.0.1:1")
    argv = ["attest", str(artifact), "--type", "cyclonedx", "--identity-token", _mint()]
    assert main([*argv, "--trust-config", str(config)]) == 0
    doc = json.loads((tmp_path / "go-linux-loong64.cyclonedx.sigstore.json").read_bytes())
    statement = intoto.parse_statement(base64.b64decode(doc["payload"]))
    assert statement.predicate_type == "https://cyclonedx.org/bom"
    assert statement.subjects_with_sha256(_sha256(artifact))
    assert sbom.read(json.dumps(statement.predicate).encode()).artifacts


def test_token_from_sbomsign_variable_is_used_but_never_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _mint(exp=1_000_000)
    monkeypatch.setenv("SBOMSIGN_IDENTITY_TOKEN", token)
    assert main(["sign", "--help"]) == 0
    assert main(["attest", "--help"]) == 0
    assert token not in capsys.readouterr().out
    artifact = _copy(tmp_path, "c-hello-hardened")
    assert main(["sign", str(artifact)]) == 3
    [error] = _errors(capsys)
    assert "identity token expired" in error
