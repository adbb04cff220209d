"""The local Fulcio: a code-signing CA that certifies ephemeral keys for OIDC identities.

It speaks Fulcio's v2 REST API (`POST /api/v2/signingCert`, `GET /api/v2/trustBundle`,
`GET /api/v2/configuration`) as sigstore-python's client uses it:

1. authenticate the token: its issuer must be one this CA is configured for; the signature
   is checked against the issuer's JWKS, fetched through the issuer's discovery document as
   Fulcio does; the audience must include `sigstore`; it must not be expired or not yet valid;
2. check proof of possession: the CSR's self-signature, or for a bare public key a signature
   over the identity (the email for people, `sub` otherwise);
3. issue a 10-minute leaf under the intermediate: no subject, the identity as a critical SAN,
   code-signing EKU, and the OID 1.3.6.1.4.1.57264.1.* extensions filled from the claims as
   fulcio's docs/oid-info.md maps them;
4. embed an SCT (RFC 6962 section 3.2, precertificate entry) signed by this instance's CT log
   key, whose log ID is SHA-256 of that key's SubjectPublicKeyInfo.

Answers are `{"signedCertificateEmbeddedSct": {"chain": {"certificates": [leaf, CA...]}}}`;
refusals are Fulcio's gRPC-gateway errors: 401 (code 16) for the token, 400 (code 3) for the
request.
"""

from __future__ import annotations

import datetime
import json
import struct
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat import asn1
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from tests.sigstore_local import _crypto
from tests.sigstore_local._http import HttpError, Request, Response, Service
from tests.sigstore_local.oidc import AUDIENCE, GITHUB_SERVER_URL

IssuerType = Literal["email", "github-workflow", "gitlab-pipeline"]

#: How long leaf certificates are valid, as on the public instance.
LEAF_LIFETIME = datetime.timedelta(minutes=10)
#: How long the CA certificates are valid.
CA_LIFETIME = datetime.timedelta(days=3650)
#: Seconds of clock skew tolerated on a token's `nbf`/`iat`.
LEEWAY = 60

SCT_LIST_OID = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
_FULCIO = "1.3.6.1.4.1.57264.1."

# Fulcio's gRPC status codes, which its REST gateway puts in error bodies.
_INVALID_ARGUMENT = 3
_UNAUTHENTICATED = 16

# GitHub claims Fulcio needs to describe a workflow; a token without them is refused.
_GITHUB_REQUIRED = (
    "sub",
    "repository",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "ref",
    "sha",
    "workflow_ref",
    "workflow_sha",
    "job_workflow_ref",
    "job_workflow_sha",
    "event_name",
    "runner_environment",
    "run_id",
    "run_attempt",
)


def _unauthenticated(message: str) -> HttpError:
    return HttpError(401, message, _UNAUTHENTICATED)


def _bad_request(message: str) -> HttpError:
    return HttpError(400, message, _INVALID_ARGUMENT)


@dataclass(frozen=True)
class Principal:
    """Who a verified token identifies, and what its certificate will say about it."""

    issuer: str
    san: x509.GeneralName
    challenge: str
    """What a bare public key's proof of possession must sign (Fulcio's "challenge claim")."""
    extensions: tuple[tuple[str, bytes], ...]
    """(dotted OID, extnValue bytes) of the Fulcio extensions, in OID order."""


def _raw(value: str) -> bytes:
    # NOTE: .1 to .6 predate the DER rule and hold the bare UTF-8 bytes (oid-info.md).
    return value.encode()


def _der(value: str) -> bytes:
    # NOTE: .8 onwards hold a DER UTF8String (oid-info.md, "Extension values").
    return asn1.encode_der(value)


def _claim(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise _unauthenticated(f"token is missing the {name!r} claim")
    return value


def email_principal(issuer: str, claims: dict[str, Any]) -> Principal:
    """Fulcio's "email" issuer type: the verified `email` claim is the identity."""
    email = _claim(claims, "email")
    if claims.get("email_verified") is not True:
        raise _unauthenticated("email_verified claim is not true")
    return Principal(
        issuer=issuer,
        san=x509.RFC822Name(email),
        challenge=email,
        extensions=((_FULCIO + "1", _raw(issuer)), (_FULCIO + "8", _der(issuer))),
    )


def github_principal(issuer: str, claims: dict[str, Any]) -> Principal:
    """Fulcio's "github-workflow" issuer type: the job's workflow is the identity."""
    c = {name: _claim(claims, name) for name in _GITHUB_REQUIRED}
    server = GITHUB_SERVER_URL
    repo_url = f"{server}/{c['repository']}"
    exts: list[tuple[str, bytes]] = [
        (_FULCIO + "1", _raw(issuer)),
        (_FULCIO + "2", _raw(c["event_name"])),
        (_FULCIO + "3", _raw(c["sha"])),
    ]
    if isinstance(claims.get("workflow"), str):
        exts.append((_FULCIO + "4", _raw(claims["workflow"])))
    exts += [
        (_FULCIO + "5", _raw(c["repository"])),
        (_FULCIO + "6", _raw(c["ref"])),
        (_FULCIO + "8", _der(issuer)),
        (_FULCIO + "9", _der(f"{server}/{c['job_workflow_ref']}")),
        (_FULCIO + "10", _der(c["job_workflow_sha"])),
        (_FULCIO + "11", _der(c["runner_environment"])),
        (_FULCIO + "12", _der(repo_url)),
        (_FULCIO + "13", _der(c["sha"])),
        (_FULCIO + "14", _der(c["ref"])),
        (_FULCIO + "15", _der(c["repository_id"])),
        (_FULCIO + "16", _der(f"{server}/{c['repository_owner']}")),
        (_FULCIO + "17", _der(c["repository_owner_id"])),
        (_FULCIO + "18", _der(f"{server}/{c['workflow_ref']}")),
        (_FULCIO + "19", _der(c["workflow_sha"])),
        (_FULCIO + "20", _der(c["event_name"])),
        (
            _FULCIO + "21",
            _der(f"{repo_url}/actions/runs/{c['run_id']}/attempts/{c['run_attempt']}"),
        ),
    ]
    if isinstance(claims.get("repository_visibility"), str):
        exts.append((_FULCIO + "22", _der(claims["repository_visibility"])))
    if isinstance(claims.get("environment"), str):
        exts.append((_FULCIO + "23", _der(claims["environment"])))
    return Principal(
        issuer=issuer,
        san=x509.UniformResourceIdentifier(f"{server}/{c['job_workflow_ref']}"),
        challenge=c["sub"],
        extensions=tuple(exts),
    )


_GITLAB_REQUIRED = ("sub", "project_path", "project_id", "namespace_path", "namespace_id",
                    "ref", "ref_type", "sha", "ci_config_ref_uri", "ci_config_sha",
                    "pipeline_source", "job_id", "runner_environment")


def gitlab_principal(issuer: str, claims: dict[str, Any]) -> Principal:
    """Fulcio's "gitlab-pipeline" issuer type (its GitLab CI configuration): the pipeline's
    configuration file at its ref is the identity; the issuer is the GitLab instance."""
    c = {name: _claim(claims, name) for name in _GITLAB_REQUIRED}
    config = f"https://{c['ci_config_ref_uri']}"
    repo_url = f"{issuer}/{c['project_path']}"
    kind = "tags" if c["ref_type"] == "tag" else "heads"
    exts: list[tuple[str, bytes]] = [
        (_FULCIO + "8", _der(issuer)),
        (_FULCIO + "9", _der(config)),
        (_FULCIO + "10", _der(c["ci_config_sha"])),
        (_FULCIO + "11", _der(c["runner_environment"])),
        (_FULCIO + "12", _der(repo_url)),
        (_FULCIO + "13", _der(c["sha"])),
        (_FULCIO + "14", _der(f"refs/{kind}/{c['ref']}")),
        (_FULCIO + "15", _der(c["project_id"])),
        (_FULCIO + "16", _der(f"{issuer}/{c['namespace_path']}")),
        (_FULCIO + "17", _der(c["namespace_id"])),
        (_FULCIO + "18", _der(config)),
        (_FULCIO + "19", _der(c["ci_config_sha"])),
        (_FULCIO + "20", _der(c["pipeline_source"])),
        (_FULCIO + "21", _der(f"{repo_url}/-/jobs/{c['job_id']}")),
    ]
    if isinstance(claims.get("project_visibility"), str):
        exts.append((_FULCIO + "22", _der(claims["project_visibility"])))
    return Principal(issuer=issuer, san=x509.UniformResourceIdentifier(config),
                     challenge=c["sub"], extensions=tuple(exts))


class _IssuerKeys:
    """The JWKS of one issuer, fetched through its discovery document and cached.

    Keys are fetched again when a token names a key ID not seen yet (key rotation), at most
    once per token.
    """

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self._keys: dict[str, tuple[str, ec.EllipticCurvePublicKey | rsa.RSAPublicKey]] = {}
        self._lock = threading.Lock()

    # NOTE: no proxy: the issuer is on loopback, and an http_proxy from the environment
    # (common in CI) would send the JWKS request elsewhere.
    _opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _get(self, url: str) -> Any:
        try:
            with self._opener.open(url, timeout=5) as resp:
                return json.loads(resp.read())
        except (OSError, ValueError) as e:
            raise _unauthenticated(f"cannot fetch {url}: {e}") from e

    def _refresh(self) -> None:
        config = self._get(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
        if not isinstance(config, dict) or config.get("issuer") != self.issuer:
            raise _unauthenticated(f"discovery document of {self.issuer} names another issuer")
        jwks = self._get(str(config.get("jwks_uri")))
        keys = {}
        for jwk in jwks.get("keys", []) if isinstance(jwks, dict) else []:
            try:
                keys[str(jwk.get("kid"))] = _crypto.from_jwk(jwk)
            except _crypto.CryptoError:
                continue  # keys of kinds this CA does not accept are skipped, as go-oidc does
        self._keys = keys

    def find(
        self, kid: str | None
    ) -> list[tuple[str, ec.EllipticCurvePublicKey | rsa.RSAPublicKey]]:
        with self._lock:
            if not self._keys or (kid is not None and kid not in self._keys):
                self._refresh()
            if kid is not None:
                return [self._keys[kid]] if kid in self._keys else []
            return list(self._keys.values())


class CertificateAuthority:
    """The CA's keys and certificates (root, intermediate) and its CT log key, kept on disk."""

    def __init__(self, keys_dir: Path, certs_dir: Path, created: datetime.datetime) -> None:
        """Load them from disk, creating whatever is missing (first start)."""
        self.root_key = _crypto.load_or_create_ec(keys_dir / "fulcio-root.pem", ec.SECP384R1())
        self.intermediate_key = _crypto.load_or_create_ec(
            keys_dir / "fulcio-intermediate.pem", ec.SECP384R1()
        )
        self.ct_key = _crypto.load_or_create_ec(keys_dir / "ctlog.pem")
        root_path = certs_dir / "fulcio-root.crt.pem"
        inter_path = certs_dir / "fulcio-intermediate.crt.pem"
        if root_path.exists() and inter_path.exists():
            self.root = x509.load_pem_x509_certificate(root_path.read_bytes())
            self.intermediate = x509.load_pem_x509_certificate(inter_path.read_bytes())
        else:
            self.root, self.intermediate = self._make_ca(created)
            certs_dir.mkdir(parents=True, exist_ok=True)
            root_path.write_bytes(self.root.public_bytes(serialization.Encoding.PEM))
            inter_path.write_bytes(self.intermediate.public_bytes(serialization.Encoding.PEM))
        self.ct_log_id = _crypto.key_id(self.ct_key.public_key())

    def _make_ca(self, created: datetime.datetime) -> tuple[x509.Certificate, x509.Certificate]:
        org = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore-local")
        root_name = x509.Name([org, x509.NameAttribute(NameOID.COMMON_NAME, "sigstore-local")])
        inter_name = x509.Name(
            [org, x509.NameAttribute(NameOID.COMMON_NAME, "sigstore-local-intermediate")]
        )
        root_pub = self.root_key.public_key()
        inter_pub = self.intermediate_key.public_key()
        ca_usage = x509.KeyUsage(
            digital_signature=False,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        root = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(root_pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(created)
            .not_valid_after(created + CA_LIFETIME)
            .add_extension(ca_usage, critical=True)
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_pub), critical=False)
            .sign(self.root_key, hashes.SHA384())
        )
        intermediate = (
            x509.CertificateBuilder()
            .subject_name(inter_name)
            .issuer_name(root_name)
            .public_key(inter_pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(created)
            .not_valid_after(created + CA_LIFETIME)
            .add_extension(ca_usage, critical=True)
            # NOTE: Fulcio's intermediate is restricted to code signing, like its leaves.
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(inter_pub), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(root_pub), critical=False
            )
            .sign(self.root_key, hashes.SHA384())
        )
        return root, intermediate

    @property
    def chain(self) -> list[x509.Certificate]:
        """The CA chain a leaf is issued under, issuer first: [intermediate, root]."""
        return [self.intermediate, self.root]

    def issue(
        self, public_key: _crypto.PublicKey, principal: Principal, *, corrupt_sct: bool = False
    ) -> x509.Certificate:
        """A leaf for `public_key` naming `principal`, with an embedded SCT."""
        now = datetime.datetime.fromtimestamp(int(time.time()), datetime.UTC)
        issuer_pub = self.intermediate_key.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.intermediate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + LEAF_LIFETIME)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_pub), False)
            # NOTE: critical because the subject is empty (RFC 5280 4.2.1.6).
            .add_extension(x509.SubjectAlternativeName([principal.san]), critical=True)
        )
        for oid, value in principal.extensions:
            builder = builder.add_extension(
                x509.UnrecognizedExtension(ObjectIdentifier(oid), value), critical=False
            )

        # The SCT signs the precertificate's TBSCertificate: the final certificate's TBS
        # without the SCT list (RFC 6962 3.2). Build once with a placeholder list in the
        # final position and let cryptography strip it, so both TBSs are byte-identical.
        def with_scts(sct_list: bytes) -> x509.Certificate:
            ext = x509.UnrecognizedExtension(SCT_LIST_OID, asn1.encode_der(sct_list))
            return builder.add_extension(ext, critical=False).sign(
                self.intermediate_key, hashes.SHA384()
            )

        placeholder = with_scts(self._sct_list(b"", 0))
        tbs = placeholder.tbs_precertificate_bytes
        timestamp = int(time.time() * 1000)
        signed = self._sct_signed_data(timestamp, _crypto.key_id(issuer_pub), tbs)
        signature = _crypto.sign_ecdsa(self.ct_key, signed)
        if corrupt_sct:
            signature = signature[:-1] + bytes([signature[-1] ^ 0x01])
        leaf = with_scts(self._sct_list(signature, timestamp))
        if leaf.tbs_precertificate_bytes != tbs:
            raise HttpError(500, "precertificate TBS changed between builds")
        return leaf

    @staticmethod
    def _sct_signed_data(timestamp: int, issuer_key_hash: bytes, tbs: bytes) -> bytes:
        # digitally-signed struct of RFC 6962 3.2: v1, certificate_timestamp, timestamp,
        # precert_entry, PreCert{issuer_key_hash, TBSCertificate<1..2^24-1>}, no extensions.
        return (
            struct.pack("!BBQH", 0, 0, timestamp, 1)
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + struct.pack("!H", 0)
        )

    def _sct_list(self, signature: bytes, timestamp: int) -> bytes:
        # SignedCertificateTimestamp (RFC 6962 3.2) inside a SignedCertificateTimestampList
        # (3.3): both are TLS vectors with 16-bit lengths.
        sct = (
            struct.pack("!B", 0)
            + self.ct_log_id
            + struct.pack("!QH", timestamp, 0)
            + struct.pack("!BBH", 4, 3, len(signature))  # sha256, ecdsa
            + signature
        )
        item = struct.pack("!H", len(sct)) + sct
        return struct.pack("!H", len(item)) + item


class Fulcio(Service):
    """The Fulcio service."""

    name = "fulcio"

    def __init__(
        self,
        ca: CertificateAuthority,
        issuers: dict[str, IssuerType],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """A CA trusting tokens from `issuers` (issuer URL -> Fulcio issuer type)."""
        super().__init__(host, port)
        self.ca = ca
        self.issuers = dict(issuers)
        self.corrupt_sct = False
        """Switch: issue certificates whose SCT signature is wrong (a broken CT log)."""
        self.issued: list[x509.Certificate] = []
        """Every leaf issued since start, oldest first."""
        self._keys: dict[str, _IssuerKeys] = {}
        self._lock = threading.Lock()
        self.route("POST", "/api/v2/signingCert", self._signing_cert)
        self.route("GET", "/api/v2/trustBundle", self._trust_bundle)
        self.route("GET", "/api/v2/configuration", self._configuration)

    def error_response(self, error: HttpError) -> Response:
        """Fulcio's gRPC-gateway error body: `{code, message, details}`."""
        return Response.json(
            error.status, {"code": error.code, "message": error.message, "details": []}
        )

    # -- authentication ------------------------------------------------------------------------

    def authenticate(self, token: str) -> Principal:
        """Verify an ID token as Fulcio does and say whom it identifies.

        Raises:
            HttpError: 401 for any reason not to trust the token.
        """
        try:
            header, claims, signing_input, signature = _crypto.jws_parts(token)
        except _crypto.CryptoError as e:
            raise _unauthenticated(f"malformed identity token: {e}") from e
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or issuer not in self.issuers:
            raise _unauthenticated(f"token issuer {issuer!r} is not trusted by this CA")
        alg = header.get("alg")
        kid = header.get("kid")
        with self._lock:
            keys = self._keys.setdefault(issuer, _IssuerKeys(issuer))
        candidates = [k for a, k in keys.find(kid if isinstance(kid, str) else None) if a == alg]
        if not candidates:
            raise _unauthenticated(f"no {alg} key {kid!r} in the JWKS of {issuer}")
        for key in candidates:
            try:
                _crypto.jws_verify(str(alg), key, signing_input, signature)
                break
            except _crypto.CryptoError:
                continue
        else:
            raise _unauthenticated("token signature does not verify against the issuer's keys")

        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if AUDIENCE not in audiences:
            raise _unauthenticated(f"token audience {aud!r} does not include {AUDIENCE!r}")
        now = time.time()
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise _unauthenticated("token has no numeric 'exp' claim")
        if now >= exp:
            raise _unauthenticated("token is expired")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if isinstance(value, int | float) and value > now + LEEWAY:
                raise _unauthenticated(f"token is not valid yet ({name} is in the future)")

        if self.issuers[issuer] == "email":
            return email_principal(issuer, claims)
        if self.issuers[issuer] == "gitlab-pipeline":
            return gitlab_principal(issuer, claims)
        return github_principal(issuer, claims)

    # -- HTTP ----------------------------------------------------------------------------------

    def _signing_cert(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise _bad_request("request body is not a JSON object")
        token = _bearer(request)
        credentials = body.get("credentials")
        if token is None and isinstance(credentials, dict):
            value = credentials.get("oidcIdentityToken")
            token = value if isinstance(value, str) else None
        if not token:
            raise _unauthenticated("no identity token (Authorization: Bearer, or credentials)")
        principal = self.authenticate(token)
        public_key = self._proven_key(body, principal)
        leaf = self.ca.issue(public_key, principal, corrupt_sct=self.corrupt_sct)
        with self._lock:
            self.issued.append(leaf)
        chain = [leaf, *self.ca.chain]
        pems = [c.public_bytes(serialization.Encoding.PEM).decode() for c in chain]
        return Response.json(
            201, {"signedCertificateEmbeddedSct": {"chain": {"certificates": pems}}}
        )

    def _proven_key(self, body: dict[str, Any], principal: Principal) -> _crypto.PublicKey:
        """The key to certify, once its holder has proven possession of the private key."""
        csr_field = body.get("certificateSigningRequest")
        key_request = body.get("publicKeyRequest")
        if (csr_field is None) == (key_request is None):
            raise _bad_request("give exactly one of certificateSigningRequest, publicKeyRequest")
        try:
            if csr_field is not None:
                raw = _crypto.unb64(csr_field, "certificateSigningRequest")
                try:
                    csr = (
                        x509.load_pem_x509_csr(raw)
                        if raw.lstrip().startswith(b"-----")
                        else x509.load_der_x509_csr(raw)
                    )
                except ValueError as e:
                    raise _bad_request(f"certificateSigningRequest is not a CSR: {e}") from e
                if not csr.is_signature_valid:
                    raise _bad_request("CSR signature does not verify: no proof of possession")
                return _crypto.check_key_strength(csr.public_key())
            return self._proven_bare_key(key_request, principal)
        except _crypto.CryptoError as e:
            raise _bad_request(str(e)) from e

    @staticmethod
    def _proven_bare_key(key_request: Any, principal: Principal) -> _crypto.PublicKey:
        if not isinstance(key_request, dict):
            raise _bad_request("publicKeyRequest is not an object")
        public = key_request.get("publicKey")
        content = public.get("content") if isinstance(public, dict) else None
        if not isinstance(content, str):
            raise _bad_request("publicKeyRequest.publicKey.content is missing")
        try:
            if content.lstrip().startswith("-----"):
                key = serialization.load_pem_public_key(content.encode())
            else:
                key = serialization.load_der_public_key(_crypto.unb64(content, "public key"))
        except ValueError as e:
            raise _bad_request(f"publicKeyRequest.publicKey is not a public key: {e}") from e
        checked = _crypto.check_key_strength(key)
        proof = _crypto.unb64(key_request.get("proofOfPossession"), "proofOfPossession")
        try:
            _crypto.verify_message(checked, proof, principal.challenge.encode())
        except _crypto.CryptoError as e:
            raise _bad_request(
                "proofOfPossession is not a signature of the identity by this key"
            ) from e
        return checked

    def _trust_bundle(self, request: Request) -> Response:
        pems = [c.public_bytes(serialization.Encoding.PEM).decode() for c in self.ca.chain]
        return Response.json(200, {"chains": [{"certificates": pems}]})

    def _configuration(self, request: Request) -> Response:
        return Response.json(
            200,
            {
                "issuers": [
                    {
                        "issuerUrl": url,
                        "audience": AUDIENCE,
                        "challengeClaim": "email" if kind == "email" else "sub",
                    }
                    for url, kind in self.issuers.items()
                ]
            },
        )


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("Authorization") or ""
    scheme, _, value = auth.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None
