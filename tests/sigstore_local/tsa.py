"""An RFC 3161 timestamp authority, as Sigstore's timestamp-authority serves one.

`POST /api/v1/timestamp` takes a DER `TimeStampReq` (what sigstore-python and cosign send, the
SHA-256 of a signature as the message imprint, a nonce) and answers a DER `TimeStampResp`
whose token is a CMS `SignedData` over a `TSTInfo`: signed attributes content type,
message digest and ESS `signingCertificateV2` (the hash of the TSA's certificate, as RFC 5816
asks), signed with ECDSA P-256/SHA-256, the TSA's leaf certificate included. The chain is a
self-signed root and a leaf with the critical `timeStamping` extended key usage, the shape the
trusted root's `timestampAuthorities` entry describes.

`faults.status` makes it fail like the other services; `granted = False` makes it answer a
well-formed refusal (`rejection`), which a client must not take for a timestamp.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.sigstore_local import _crypto
from tests.sigstore_local._http import HttpError, Request, Response, Service

#: The TSA's policy OID (a private arc; Sigstore's TSA has its own).
POLICY = "1.3.6.1.4.1.57264.99.1"
LIFETIME = datetime.timedelta(days=3650)


class TimestampAuthority(Service):
    """The TSA service, its keys and certificates kept under `keys_dir` and `certs_dir`."""

    name = "tsa"

    def __init__(self, keys_dir: Path, certs_dir: Path, created: datetime.datetime, *,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        """Load the TSA's keys and chain from disk, creating what is missing."""
        super().__init__(host, port)
        self.root_key = _crypto.load_or_create_ec(keys_dir / "tsa-root.pem")
        self.key = _crypto.load_or_create_ec(keys_dir / "tsa-leaf.pem")
        root_path, leaf_path = certs_dir / "tsa-root.crt.pem", certs_dir / "tsa-leaf.crt.pem"
        if root_path.exists() and leaf_path.exists():
            self.root = x509.load_pem_x509_certificate(root_path.read_bytes())
            self.leaf = x509.load_pem_x509_certificate(leaf_path.read_bytes())
        else:
            self.root, self.leaf = self._make_chain(created)
            certs_dir.mkdir(parents=True, exist_ok=True)
            root_path.write_bytes(self.root.public_bytes(serialization.Encoding.PEM))
            leaf_path.write_bytes(self.leaf.public_bytes(serialization.Encoding.PEM))
        self.granted = True
        self.issued: list[bytes] = []
        self._serials = itertools.count(1)
        self.route("POST", "/api/v1/timestamp", self._timestamp)

    @property
    def timestamp_url(self) -> str:
        """Where clients send timestamp requests."""
        return f"{self.url}/api/v1/timestamp"

    @property
    def chain(self) -> list[x509.Certificate]:
        """Leaf first, as a trusted root's `certChain` lists it."""
        return [self.leaf, self.root]

    def _make_chain(self, created: datetime.datetime) -> tuple[x509.Certificate,
                                                                 x509.Certificate]:
        org = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore-local")
        root_name = x509.Name([org, x509.NameAttribute(NameOID.COMMON_NAME, "sigstore-local-tsa")])
        leaf_name = x509.Name([org, x509.NameAttribute(NameOID.COMMON_NAME,
                                                       "sigstore-local-tsa-signing")])
        root_pub, leaf_pub = self.root_key.public_key(), self.key.public_key()
        root = (
            x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_pub).serial_number(x509.random_serial_number())
            .not_valid_before(created).not_valid_after(created + LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_pub), critical=False)
            .sign(self.root_key, hashes.SHA256())
        )
        leaf = (
            x509.CertificateBuilder().subject_name(leaf_name).issuer_name(root_name)
            .public_key(leaf_pub).serial_number(x509.random_serial_number())
            .not_valid_before(created).not_valid_after(created + LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            # RFC 3161 2.3: the TSA's certificate has exactly this EKU, marked critical.
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                           critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_pub),
                           critical=False)
            .sign(self.root_key, hashes.SHA256())
        )
        return root, leaf

    def _timestamp(self, request: Request) -> Response:
        from asn1crypto import tsp

        if (request.headers.get("Content-Type") or "").startswith("application/json"):
            imprint, nonce = _json_request(request.body)
        else:
            try:
                query = tsp.TimeStampReq.load(request.body)
                imprint = query["message_imprint"]
                imprint.native  # noqa: B018 - parses it: a malformed request fails here
                nonce = query["nonce"].native
            except ValueError as e:
                raise HttpError(400, f"not a timestamp request: {e}") from e
        if not self.granted:
            refused = tsp.TimeStampResp({"status": {"status": "rejection",
                                                    "fail_info": {"bad_request"}}})
            return Response(200, refused.dump(), content_type="application/timestamp-reply")
        token = self.token(imprint, nonce)
        answer = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})
        body = answer.dump()
        self.issued.append(body)
        return Response(200, body, content_type="application/timestamp-reply")

    def token(self, imprint: Any, nonce: int | None,
              when: datetime.datetime | None = None) -> Any:
        """The CMS ContentInfo of a timestamp over `imprint` (an asn1crypto MessageImprint)."""
        from asn1crypto import cms, tsp
        from asn1crypto import x509 as ax509

        info: dict[str, Any] = {
            "version": "v1",
            "policy": POLICY,
            "message_imprint": imprint,
            "serial_number": next(self._serials),
            "gen_time": (when or datetime.datetime.now(datetime.UTC)).replace(microsecond=0),
            "accuracy": {"seconds": 1},
        }
        if nonce is not None:
            info["nonce"] = nonce
        tst = tsp.TSTInfo(info)
        tst_der = tst.dump()
        leaf_der = self.leaf.public_bytes(serialization.Encoding.DER)
        leaf = ax509.Certificate.load(leaf_der)
        attrs = cms.CMSAttributes([
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]},
            {"type": "signing_certificate_v2", "values": [
                {"certs": [{"cert_hash": hashlib.sha256(leaf_der).digest()}]}]},
        ])
        signature = self.key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
                "issuer": leaf.issuer, "serial_number": leaf.serial_number}}),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": attrs,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": signature,
        })
        signed = cms.SignedData({
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "tst_info", "content": tst},
            "certificates": [leaf],
            "signer_infos": [signer],
        })
        return cms.ContentInfo({"content_type": "signed_data", "content": signed})


def _json_request(body: bytes) -> tuple[Any, int | None]:
    """(MessageImprint, nonce) of the timestamp authority's JSON request form, which
    sigstore-js sends: `{"artifactHash": base64, "hashAlgorithm": "sha256", "nonce": n}`."""
    import base64
    import json

    from asn1crypto import tsp

    try:
        doc = json.loads(body)
        algorithm = {"sha256": "sha256", "sha384": "sha384", "sha512": "sha512"}[
            doc["hashAlgorithm"]]
        digest = base64.b64decode(doc["artifactHash"], validate=True)
        nonce = doc.get("nonce")
    except (ValueError, KeyError, TypeError) as e:
        raise HttpError(400, f"not a timestamp request: {e}") from e
    if len(digest) != {"sha256": 32, "sha384": 48, "sha512": 64}[algorithm]:
        raise HttpError(400, "not a timestamp request: the hash has the wrong length")
    imprint = tsp.MessageImprint({"hash_algorithm": {"algorithm": algorithm},
                                  "hashed_message": digest})
    return imprint, nonce if isinstance(nonce, int) else None
