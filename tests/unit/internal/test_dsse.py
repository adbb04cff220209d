"""DSSE envelopes and in-toto statements."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from sbomsign._internal import intoto, keys
from sbomsign._internal.sigstore import dsse
from sbomsign.errors import InputError

SHA = "a" * 64

# -- PAE and envelopes -------------------------------------------------------------------------


def test_pae_spec_example() -> None:
    # secure-systems-lab/dsse protocol.md, "Signature definition" example.
    got = dsse.pae("http://example.com/HelloWorld", b"hello world")
    assert got == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def test_pae_counts_bytes_not_characters() -> None:
    assert dsse.pae("t/é", "ü".encode()) == b"DSSEv1 4 t/\xc3\xa9 2 \xc3\xbc"


@pytest.mark.parametrize("kind", keys.ALGORITHMS)
def test_sign_envelope_verifies(kind: str) -> None:
    key = keys.generate(kind)
    payload = b'{"_type":"x"}'
    env = dsse.sign_envelope(payload, intoto.PAYLOAD_TYPE, key)
    assert set(env) == {"payload", "payloadType", "signatures"}
    assert base64.b64decode(env["payload"]) == payload
    assert env["payloadType"] == "application/vnd.in-toto+json"
    [sig] = env["signatures"]
    assert sig["keyid"] == key.hint
    raw = base64.b64decode(sig["sig"])
    signed = b"DSSEv1 28 application/vnd.in-toto+json 13 " + payload
    assert dsse.envelope_pae(env) == signed
    pub = key.public_key
    if isinstance(pub, ed25519.Ed25519PublicKey):
        pub.verify(raw, signed)
    else:
        alg = hashes.SHA384() if kind == "ecdsa-p384" else hashes.SHA256()
        pub.verify(raw, signed, ec.ECDSA(alg))


def test_parse_envelope_accepts_url_safe_unpadded_base64() -> None:
    payload = b"\xfb\xff\xfe"  # encodes to '+//+' in the standard alphabet
    env = {
        "payload": base64.urlsafe_b64encode(payload).decode().rstrip("="),
        "payloadType": "t",
        "signatures": [{"sig": "AAEC"}],
    }
    parsed = dsse.parse_envelope(env)
    assert parsed.payload == payload
    assert parsed.signatures == (dsse.Signature(b"\x00\x01\x02", None),)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ([], "not a JSON object"),
        ({"payload": "", "signatures": [{"sig": ""}]}, "no payloadType"),
        ({"payload": "!!", "payloadType": "t", "signatures": [{"sig": ""}]}, "not base64"),
        ({"payload": "", "payloadType": "t", "signatures": []}, "no signatures"),
        ({"payload": "", "payloadType": "t", "signatures": [{"sig": "", "keyid": 1}]}, "keyid"),
        ({"payload": "A", "payloadType": "t", "signatures": [{"sig": ""}]}, "not base64"),
    ],
)
def test_parse_envelope_errors(env: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        dsse.parse_envelope(env)


# -- in-toto statements ------------------------------------------------------------------------


def test_statement_v1_is_deterministic() -> None:
    got = intoto.build_statement(
        [("app", {"sha256": SHA.upper()})], intoto.PREDICATE_CYCLONEDX, {"b": 1, "a": "é"}
    )
    assert (
        got
        == (
            '{"_type":"https://in-toto.io/Statement/v1","predicate":{"a":"é","b":1},'
            '"predicateType":"https://cyclonedx.org/bom",'
            f'"subject":[{{"digest":{{"sha256":"{SHA}"}},"name":"app"}}]}}'
        ).encode()
    )


def test_statement_roundtrip() -> None:
    subjects: list[intoto.Subject | tuple[str, dict[str, str]]] = [
        intoto.Subject("a", {"sha256": SHA}),
        ("b", {"sha512": "b" * 128, "x": "y"}),
    ]
    data = intoto.build_statement(subjects, intoto.PREDICATE_SPDX, {"spdxVersion": "SPDX-2.3"})
    st = intoto.parse_statement(data)
    assert st.type == intoto.STATEMENT_V1
    assert st.predicate_type == "https://spdx.dev/Document/v2.3"
    assert st.predicate == {"spdxVersion": "SPDX-2.3"}
    assert [s.name for s in st.subjects] == ["a", "b"]
    assert st.subjects_with_sha256(SHA.upper()) == (intoto.Subject("a", {"sha256": SHA}),)


def test_statement_v0_1_from_cosign_is_read() -> None:
    doc = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://cosign.sigstore.dev/attestation/v1",
        "subject": [{"name": "app", "digest": {"sha256": SHA}}],
        "predicate": {"Data": "raw", "Timestamp": "2024-01-01T00:00:00Z"},
        "unknownField": True,
    }
    st = intoto.parse_statement(json.dumps(doc).encode())
    assert st.type == intoto.STATEMENT_V0_1
    assert st.predicate["Data"] == "raw"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"_type":"https://in-toto.io/Statement/v2"}', "unsupported in-toto statement type"),
        (b'{"_type":"https://in-toto.io/Statement/v1","subject":[]}', "no subject"),
        (
            b'{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a"}]}',
            "no digest",
        ),
        (
            b'{"_type":"https://in-toto.io/Statement/v1",'
            b'"subject":[{"name":"a","digest":{"sha256":"xyz"}}]}',
            "not 64 hex",
        ),
        (
            b'{"_type":"https://in-toto.io/Statement/v1",'
            b'"subject":[{"name":"a","digest":{"sha256":"' + SHA.encode() + b'"}}]}',
            "no predicateType",
        ),
    ],
)
def test_parse_statement_errors(doc: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        intoto.parse_statement(doc)


def test_build_statement_errors() -> None:
    with pytest.raises(InputError, match="at least one subject"):
        intoto.build_statement([], intoto.PREDICATE_VSA, {})
    with pytest.raises(InputError, match="no digest"):
        intoto.build_statement([("a", {})], intoto.PREDICATE_VSA, {})
    with pytest.raises(InputError, match="predicate type"):
        intoto.build_statement([("a", {"sha256": SHA})], "", {})
    with pytest.raises(InputError, match="cannot serialise"):
        intoto.build_statement([("a", {"sha256": SHA})], "t", {"x": float("nan")})


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("https://cyclonedx.org/bom", "cyclonedx"),
        ("https://cyclonedx.org/bom/v1.4", "cyclonedx"),
        ("https://cyclonedx.org/schema", "cyclonedx"),
        ("https://spdx.dev/Document", "spdx"),
        ("https://spdx.dev/Document/v2.3", "spdx"),
        ("https://spdx.dev/Document/v3", "spdx"),
        ("https://slsa.dev/provenance/v1", "slsa-provenance"),
        ("https://slsa.dev/provenance/v0.2", "slsa-provenance"),
        ("https://slsa.dev/verification_summary/v1", "vsa"),
        ("https://example.com/other", None),
    ],
)
def test_predicate_kind(uri: str, kind: str | None) -> None:
    assert intoto.predicate_kind(uri) == kind
