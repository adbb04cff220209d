"""Keyless signing through sigstore-python, as far as it can be tested without a Sigstore
instance: tokens, trust configs, bounded failures of Fulcio, and (with sigstore's signer
replaced by a recording fake) what sbomsign hands to sigstore-python and how results and
failures of parallel signing come back."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from sbomsign import sign
from sbomsign._internal import intoto
from sbomsign._internal.sigstore import sign as ss
from sbomsign.errors import InputError, NetworkError, SigningError

GITHUB = "https://token.actions.githubusercontent.com"
WORKFLOW = "octo/app/.github/workflows/release.yml@refs/tags/v1.0.0"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(**claims: Any) -> str:
    """An ES256 JWT with GitHub-like claims, valid for 10 minutes; `None` drops a claim."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": GITHUB,
        "sub": "repo:octo/app:ref:refs/tags/v1.0.0",
        "aud": "sigstore",
        "iat": now,
        "exp": now + 600,
        "job_workflow_ref": WORKFLOW,
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    key = ec.generate_private_key(ec.SECP256R1())
    signing_input = _b64(b'{"alg":"ES256","typ":"JWT"}') + "." + _b64(json.dumps(body).encode())
    r, s = utils.decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def _service(url: str) -> dict[str, Any]:
    return {
        "url": url,
        "majorApiVersion": 1,
        "validFor": {"start": "2020-01-01T00:00:00Z"},
        "operator": "sbomsign-tests",
    }


def trust_config(fulcio: str, rekor: str | None = None, **changes: Any) -> bytes:
    """A client trust config whose Fulcio and Rekor are at the given URLs."""
    doc: dict[str, Any] = {
        "mediaType": ss.CLIENT_TRUST_CONFIG_MEDIA_TYPE,
        "trustedRoot": {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [],
            "certificateAuthorities": [],
            "ctlogs": [],
            "timestampAuthorities": [],
        },
        "signingConfig": {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [_service(fulcio)],
            "oidcUrls": [],
            "rekorTlogUrls": [_service(rekor or fulcio)],
            "tsaUrls": [],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        },
    }
    doc.update(changes)
    return json.dumps(doc).encode()


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # Requests to 127.0.0.1 must not be sent to a proxy the machine may have configured.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


# -- identity tokens ---------------------------------------------------------------------------


def test_github_token_names_the_workflow() -> None:
    info = ss.token_info(mint())
    assert info.issuer == GITHUB
    assert info.identity == f"https://github.com/{WORKFLOW}"


def test_email_and_generic_identities() -> None:
    google = ss.token_info(
        mint(iss="https://accounts.google.com", email="dev@example.com", job_workflow_ref=None)
    )
    assert google.identity == "dev@example.com"
    other = ss.token_info(mint(iss="https://issuer.example", sub="svc-1", job_workflow_ref=None))
    assert other.identity == "svc-1"
    gitlab = ss.token_info(
        mint(
            iss="https://gitlab.com",
            sub="project_path:g/p:ref_type:branch:ref:main",
            ci_config_ref_uri="gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main",
        )
    )
    assert gitlab.identity == "https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main"


def test_audience_list_with_sigstore_is_accepted() -> None:
    assert ss.token_info(mint(aud=["other", "sigstore"])).issuer == GITHUB


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("not-a-jwt", "not a JWT"),
        ("a.b", "not a JWT"),
        ("eyJhbGciOiJub25lIn0.!!!.sig", "not a JWT"),
        (f"x.{_b64(b'[1, 2]')}.y", "not a JSON object"),
        # NOTE: minted when the test runs, not when it is collected: a token lives ten
        # minutes, and a full run can take longer than that to reach this test.
        (lambda: mint(aud="other"), "audience other, not 'sigstore'"),
        (lambda: mint(exp=int(time.time()) - 60), "expired at"),
        (lambda: mint(iat=int(time.time()) + 3600, exp=int(time.time()) + 7200),
         "not valid yet"),
        (lambda: mint(sub=None), "no 'sub' claim"),
        (lambda: mint(exp="soon"), "'exp' claim is not a number"),
    ],
)
def test_bad_tokens_are_environment_errors(token: str | Callable[[], str], message: str) -> None:
    with pytest.raises(NetworkError, match=message) as info:
        ss.token_info(token() if callable(token) else token)
    assert info.value.exit_code == 3
    assert "\n" not in info.value.diagnostics()


def test_token_sigstore_rejects_is_wrapped() -> None:
    # Our checks pass; sigstore-python also wants the issuer's identity claim (`email` for
    # Google) and refuses the token without it.
    token = mint(iss="https://accounts.google.com", job_workflow_ref=None)
    with pytest.raises(NetworkError, match="identity token rejected: .*'email' claim"):
        ss.token_info(token)


# -- trust configs -----------------------------------------------------------------------------


def test_valid_trust_config() -> None:
    config = ss.parse_trust_config(trust_config("http://127.0.0.1:1"))
    assert config.signing_config.get_fulcio().url == "http://127.0.0.1:1"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"{", "not JSON"),
        (b"[]", "not a JSON object"),
        (
            json.dumps({"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}),
            "is a trusted root",
        ),
        (json.dumps({"mediaType": "application/json"}), "media type 'application/json'"),
        (
            json.dumps({"mediaType": ss.CLIENT_TRUST_CONFIG_MEDIA_TYPE}),
            "not a valid client trust config: trustedRoot: Field required",
        ),
    ],
)
def test_malformed_trust_configs_are_input_errors(data: bytes | str, message: str) -> None:
    raw = data if isinstance(data, bytes) else data.encode()
    with pytest.raises(InputError, match=message) as info:
        ss.parse_trust_config(raw, "tc.json")
    assert info.value.exit_code == 2
    assert info.value.diagnostics().startswith("tc.json: ")
    assert "\n" not in info.value.diagnostics()


def test_trust_config_without_a_usable_fulcio() -> None:
    doc = json.loads(trust_config("http://127.0.0.1:1"))
    doc["signingConfig"]["caUrls"] = []
    with pytest.raises(InputError, match="No valid Fulcio CA"):
        ss.parse_trust_config(json.dumps(doc).encode(), "tc.json")
    doc = json.loads(trust_config("http://127.0.0.1:1"))
    doc["signingConfig"]["rekorTlogUrls"][0]["validFor"] = {
        "start": "2020-01-01T00:00:00Z",
        "end": "2021-01-01T00:00:00Z",
    }
    with pytest.raises(InputError, match="No valid Rekor"):
        ss.parse_trust_config(json.dumps(doc).encode(), "tc.json")


# -- Fulcio unreachable / silent ---------------------------------------------------------------


def test_unreachable_fulcio_fails_fast() -> None:
    config = ss.parse_trust_config(trust_config(f"http://127.0.0.1:{closed_port()}"))
    session = ss.KeylessSession(mint(), config)
    start = time.monotonic()
    with pytest.raises(NetworkError) as info, session:
        pass
    assert time.monotonic() - start < 10
    message = info.value.diagnostics()
    assert message.startswith("Fulcio (127.0.0.1:")
    assert "cannot get a signing certificate: connection refused" in message


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        server.close()


def test_silent_fulcio_times_out(silent_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # sigstore-python passes no timeout; ours must bound the wait anyway.
    monkeypatch.setattr(ss, "READ_TIMEOUT", 0.5)
    config = ss.parse_trust_config(trust_config(silent_server))
    start = time.monotonic()
    with pytest.raises(NetworkError, match="cannot get a signing certificate: timed out"):
        with ss.KeylessSession(mint(), config):
            pass
    assert time.monotonic() - start < 5


def test_keyless_one_shot_functions_fail_with_network_error(tmp_path: Path) -> None:
    config = trust_config(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(NetworkError, match="connection refused"):
        sign.sign_artifact_keyless(b"data", mint(), trust_config=config)
    statement = intoto.build_statement([("a", {"sha256": "0" * 64})], "https://x.example/p", {})
    with pytest.raises(NetworkError, match="connection refused"):
        sign.attest_keyless(statement, mint(), trust_config=config)
    with pytest.raises(InputError):
        sign.sign_artifact_keyless(b"data", mint(), trust_config=b"{")


# -- what is handed to sigstore-python (its signer replaced by a fake) --------------------------


class FakeBundle:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def to_json(self) -> str:
        return json.dumps(self.doc)


class FakeSigner:
    """Stands in for sigstore's Signer: records inputs, fails on request."""

    def __init__(self, fail_on: set[bytes] | None = None, delay: float = 0.0) -> None:
        self.fail_on = fail_on or set()
        self.delay = delay
        self.threads: set[str] = set()
        self.calls: list[Any] = []
        self.lock = threading.Lock()

    def _record(self, item: Any, key: bytes) -> None:
        with self.lock:
            self.calls.append(item)
            self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        if key in self.fail_on:
            raise requests.ConnectionError("boom")

    def sign_artifact(self, hashed: Any) -> FakeBundle:
        self._record(hashed, hashed.digest)
        return FakeBundle(
            {"algorithm": hashed.algorithm.value, "digest": hashed.digest.hex()}
        )

    def sign_dsse(self, statement: Any) -> FakeBundle:
        # NOTE: `_contents` is what sigstore-python base64-encodes into the DSSE payload and
        # signs (its `dsse._sign`); checking it checks the signed bytes.
        contents: bytes = statement._contents
        self._record(statement, contents)
        return FakeBundle({"payload": base64.b64encode(contents).decode()})


@pytest.fixture
def fake_signer(monkeypatch: pytest.MonkeyPatch) -> FakeSigner:
    fake = FakeSigner()

    @contextlib.contextmanager
    def signer(self: Any, token: Any, *, cache: bool = True) -> Iterator[FakeSigner]:
        assert cache is True  # one certificate for the whole run
        assert str(token).count(".") == 2
        yield fake

    # sigstore's SigningContext, as sbomsign's wrapper sees it.
    monkeypatch.setattr(ss.SigningContext, "signer", signer)  # type: ignore[attr-defined]
    return fake


def _config() -> ss.TrustConfig:
    return ss.parse_trust_config(trust_config("http://127.0.0.1:1", "http://127.0.0.1:2"))


def test_statement_bytes_are_signed_as_given(fake_signer: FakeSigner) -> None:
    # Deliberately not canonical JSON: spacing and key order must survive.
    statement = (
        b'{"predicate": {"b": 1, "a": 2},  "_type": "https://in-toto.io/Statement/v1",'
        b' "subject": [{"name": "app", "digest": {"sha256": "' + b"ab" * 32 + b'"}}],'
        b' "predicateType": "https://example.com/p/v1"}'
    )
    with ss.KeylessSession(mint(), _config()) as session:
        bundle = json.loads(session.sign_statement(statement))
    assert base64.b64decode(bundle["payload"]) == statement


def test_refused_statement_is_an_input_error(fake_signer: FakeSigner) -> None:
    v01 = json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "subject": [{"name": "a", "digest": {"sha256": "00" * 32}}],
            "predicateType": "https://example.com/p",
            "predicate": {},
        }
    ).encode()
    with ss.KeylessSession(mint(), _config()) as session:
        with pytest.raises(InputError, match="refused by sigstore"):
            session.sign_statement(v01)
    assert fake_signer.calls == []


def test_artifacts_are_signed_by_digest(fake_signer: FakeSigner) -> None:
    data = b"x" * 3_000_000
    with sign.KeylessSigner(mint(), trust_config=trust_config("http://127.0.0.1:1")) as signer:
        assert signer.identity == f"https://github.com/{WORKFLOW}"
        doc = json.loads(signer.sign_artifact(io.BytesIO(data)))
        assert json.loads(signer.sign_artifact(data)) == doc
        digest = sign.ArtifactDigest.sha256(hashlib.sha256(data).hexdigest())
        assert json.loads(signer.sign_artifact(digest)) == doc
        with pytest.raises(SigningError, match="sha256"):
            signer.sign_artifact(sign.ArtifactDigest("sha512", hashlib.sha512(data).digest()))
    assert doc == {"algorithm": "SHA2_256", "digest": hashlib.sha256(data).hexdigest()}


def test_signer_must_be_entered() -> None:
    signer = sign.KeylessSigner(mint(), trust_config=trust_config("http://127.0.0.1:1"))
    with pytest.raises(SigningError, match="inside its `with` block"):
        signer.sign_artifact(b"x")


def test_many_artifacts_in_parallel_keep_their_order(fake_signer: FakeSigner) -> None:
    fake_signer.delay = 0.05
    blobs = [bytes([i]) * 100 for i in range(12)]
    with sign.KeylessSigner(mint(), trust_config=trust_config("http://127.0.0.1:1")) as signer:
        start = time.monotonic()
        results = signer.sign_artifacts(blobs)
        elapsed = time.monotonic() - start
    assert [json.loads(r)["digest"] for r in results if isinstance(r, bytes)] == [
        hashlib.sha256(b).hexdigest() for b in blobs
    ]
    assert len(fake_signer.threads) > 1
    assert elapsed < 12 * 0.05  # parallel, not one after the other


def test_a_failed_submission_stops_the_rest(fake_signer: FakeSigner) -> None:
    blobs = [bytes([i]) * 10 for i in range(30)]
    fake_signer.fail_on = {hashlib.sha256(blobs[0]).digest()}
    fake_signer.delay = 0.02
    with sign.KeylessSigner(mint(), trust_config=trust_config("http://127.0.0.1:1")) as signer:
        results = signer.sign_artifacts(blobs)
    assert len(results) == 30
    first = results[0]
    assert isinstance(first, NetworkError)
    assert first.diagnostics() == "Rekor (127.0.0.1:1): cannot log the signature: connection failed"
    errors = [r for r in results if isinstance(r, NetworkError)]
    assert any("an earlier signature failed" in e.message for e in errors)
    assert len(fake_signer.calls) < 30  # nothing new was submitted after the failure


def test_many_statements(fake_signer: FakeSigner) -> None:
    statements = [
        intoto.build_statement([(f"a{i}", {"sha256": f"{i:064x}"})], "https://x.example/p", {})
        for i in range(5)
    ]
    with sign.KeylessSigner(mint(), trust_config=trust_config("http://127.0.0.1:1")) as signer:
        results = signer.attest_many(statements)
        single = signer.attest(statements[0])
    payloads = [base64.b64decode(json.loads(r)["payload"]) for r in results if isinstance(r, bytes)]
    assert payloads == statements
    assert base64.b64decode(json.loads(single)["payload"]) == statements[0]


def test_describe_sigstore_failures() -> None:
    class FulcioClientError(Exception):
        pass

    class RekorClientError(Exception):
        pass

    assert ss._describe(FulcioClientError("token audience mismatch")) == "token audience mismatch"
    assert ss._describe(RekorClientError("")) == "the server refused the request"
    expired = ss.ExpiredIdentity()  # type: ignore[attr-defined]
    assert ss._describe(expired) == "the identity token has expired"
    assert ss._describe(ValueError("x\ny")) == "ValueError: x y"
