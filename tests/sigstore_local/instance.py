"""`LocalSigstore`: the OIDC provider, Fulcio and Rekor together, and the files describing them.

State lives in one directory, so stopping and starting again on the same directory is a
restart: same keys, same CA, same log (and, when they are free, the same ports). On every
start the directory gets:

- `trust_config.json`: the client trust config (media type
  `application/vnd.dev.sigstore.clienttrustconfig.v0.1+json`) that
  `ClientTrustConfig.from_json` and `sbomsign --trust-config` read;
- `trusted_root.json`: the trusted root alone (`...trustedroot+json;version=0.1`), what a
  verifier needs;
- `signing_config.json`: the signing config alone (`...signingconfig.v0.2+json`);
- `instance.json`: the URLs, the runner's ID-token endpoint and its bearer token, and the
  creation time and ports a restart reuses;
- `keys/` (PEM private keys), `ca/` (CA certificates) and `rekor/` (the log).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from tests.sigstore_local import _crypto
from tests.sigstore_local.fulcio import CertificateAuthority, Fulcio
from tests.sigstore_local.oidc import Alg, GitHubWorkflow, GitLabPipeline, OidcProvider
from tests.sigstore_local.rekor import LogStore, Rekor
from tests.sigstore_local.rekor_v2 import RekorV2
from tests.sigstore_local.tsa import TimestampAuthority

TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
SIGNING_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.signingconfig.v0.2+json"
CLIENT_TRUST_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
#: The `operator` of every service in the signing config.
OPERATOR = "sigstore-local"
#: Rekor API version served (and written in the signing config).
REKOR_API_VERSION = 1


def _rfc3339(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_json(path: Path, obj: Any) -> None:
    # NOTE: replaced atomically so a client reading the file while a restart rewrites it
    # never sees half a document.
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def _public_key(key: ec.EllipticCurvePrivateKey, start: str) -> dict[str, Any]:
    return {
        "rawBytes": _crypto.b64(_crypto.spki_der(key.public_key())),
        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        "validFor": {"start": start},
    }


class LocalSigstore:
    """A private Sigstore instance on loopback ports, kept in `directory`.

    Use `start()`/`stop()` or `with LocalSigstore(dir) as instance:`. While running, the
    services are `oidc`, `fulcio` and `rekor` (each has `url` and `faults`).
    """

    def __init__(
        self, directory: Path | str, *, host: str = "127.0.0.1", base_port: int | None = None,
        tsa: bool = False, rekor_v2: bool = False, logless: bool = False,
    ) -> None:
        """Prepare an instance kept in `directory` (created if missing); nothing runs yet.

        `host` is an IPv4 loopback address (127.0.0.1 by default).

        `base_port` pins the ports: the OIDC provider on it, Fulcio on the next, Rekor on the
        one after. Without it the ports of the previous run are reused when free, else the
        system picks free ones.

        `tsa`: also run an RFC 3161 timestamp authority (`tsa`), named in the trusted root and
        the signing config, so that keyless bundles carry signed timestamps.

        `logless`: the shape of GitHub's instance for private repositories: the trusted root
        names no transparency log (the TSA, which this implies, vouches for the time). The
        logs still run, since sigstore-python cannot sign without one; what they record is
        then outside what the root trusts.

        `rekor_v2`: also run a Rekor v2 log (`rekor_v2`, with the TSA, since a v2 log vouches
        for no time); the signing config names it instead of the v1 log, the trusted root
        both.
        """
        # NOTE: anyone who can reach the instance can mint tokens (/mint), so it only ever
        # listens on the loopback interface.
        if not ipaddress.ip_address(host).is_loopback or ":" in host:
            raise ValueError(f"{host} is not an IPv4 loopback address")
        self.directory = Path(directory)
        self.host = host
        self.base_port = base_port
        self.startup_seconds = 0.0
        """How long the last `start()` took."""
        self._oidc: OidcProvider | None = None
        self._fulcio: Fulcio | None = None
        self._rekor: Rekor | None = None
        self._tsa: TimestampAuthority | None = None
        self._rekor_v2: RekorV2 | None = None
        self.with_tsa = tsa or rekor_v2 or logless
        self.logless = logless
        self.with_rekor_v2 = rekor_v2
        self._created = datetime.datetime.now(datetime.UTC)

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        """`instance.json`."""
        return self.directory / "instance.json"

    def _load_state(self) -> dict[str, Any]:
        if self.state_path.exists():
            state = json.loads(self.state_path.read_text())
            if isinstance(state, dict):
                return state
        # NOTE: backdated a minute so that validity periods that start at creation already
        # hold for a client whose clock is slightly behind.
        created = int(time.time()) - 60
        return {"created": created, "actions_id_token_request_token": secrets.token_urlsafe(24)}

    def start(self) -> Self:
        """Start the three services and (re)write the instance's files."""
        if self._rekor is not None:
            return self
        began = time.monotonic()
        self.directory.mkdir(parents=True, exist_ok=True)
        state = self._load_state()
        created = datetime.datetime.fromtimestamp(int(state["created"]), datetime.UTC)
        saved = state.get("ports")
        ports: dict[str, Any] = saved if isinstance(saved, dict) else {}
        if self.base_port is not None:
            ports = {
                "oidc": self.base_port,
                "fulcio": self.base_port + 1,
                "rekor": self.base_port + 2,
            }
        keys = self.directory / "keys"

        oidc = OidcProvider(keys, host=self.host, port=int(ports.get("oidc") or 0))
        oidc.actions_request_token = str(state["actions_id_token_request_token"])
        ca = CertificateAuthority(keys, self.directory / "ca", created)
        store = LogStore(self.directory / "rekor")
        rekor = Rekor(
            store,
            _crypto.load_or_create_ec(keys / "rekor.pem"),
            host=self.host,
            port=int(ports.get("rekor") or 0),
        )
        try:
            oidc.start()
            # NOTE: the CA is configured with the issuer URLs, which exist once the OIDC
            # provider has its port.
            fulcio = Fulcio(
                ca,
                {oidc.issuer: "email", oidc.github_issuer: "github-workflow",
                 oidc.gitlab_issuer: "gitlab-pipeline"},
                host=self.host,
                port=int(ports.get("fulcio") or 0),
            )
            fulcio.start()
            rekor.start()
            if self.with_tsa:
                self._tsa = TimestampAuthority(keys, self.directory / "tsa", created,
                                               host=self.host, port=int(ports.get("tsa") or 0))
                self._tsa.start()
            if self.with_rekor_v2:
                self._rekor_v2 = RekorV2(_crypto.load_or_create_ec(keys / "rekor-v2.pem"),
                                         host=self.host,
                                         port=int(ports.get("rekor_v2") or 0))
                self._rekor_v2.start()
        except BaseException:
            for service in (rekor, oidc):
                service.stop()
            raise
        self._oidc, self._fulcio, self._rekor = oidc, fulcio, rekor
        self._created = created
        state["ports"] = {"oidc": oidc.port, "fulcio": fulcio.port, "rekor": rekor.port,
                          **({"tsa": self._tsa.port} if self._tsa is not None else {}),
                          **({"rekor_v2": self._rekor_v2.port}
                             if self._rekor_v2 is not None else {})}
        self._write_files(state)
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop every service (the state stays on disk for a restart)."""
        for service in (self._rekor_v2, self._tsa, self._rekor, self._fulcio, self._oidc):
            if service is not None:
                service.stop()
        self._oidc = self._fulcio = self._rekor = None
        self._tsa = None
        self._rekor_v2 = None

    def __enter__(self) -> Self:
        """Start."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        self.stop()

    # -- services ------------------------------------------------------------------------------

    @property
    def oidc(self) -> OidcProvider:
        """The OIDC provider (running)."""
        if self._oidc is None:
            raise RuntimeError("the instance is not running")
        return self._oidc

    @property
    def fulcio(self) -> Fulcio:
        """The CA (running)."""
        if self._fulcio is None:
            raise RuntimeError("the instance is not running")
        return self._fulcio

    @property
    def rekor(self) -> Rekor:
        """The transparency log (running)."""
        if self._rekor is None:
            raise RuntimeError("the instance is not running")
        return self._rekor

    def reset_faults(self) -> None:
        """Turn off every fault switch of every service."""
        for service in (self.oidc, self.fulcio, self.rekor):
            service.faults.reset()
        self.fulcio.corrupt_sct = False
        self.rekor.store.clock_offset = 0

    # -- tokens --------------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """The OIDC issuer for people (certificates name their email)."""
        return self.oidc.issuer

    @property
    def github_issuer(self) -> str:
        """The OIDC issuer for GitHub-Actions-shaped workflow tokens."""
        return self.oidc.github_issuer

    @property
    def gitlab_issuer(self) -> str:
        """The OIDC issuer playing a GitLab instance (pipeline ID tokens)."""
        return self.oidc.gitlab_issuer

    def gitlab_token(self, pipeline: GitLabPipeline | None = None) -> str:
        """A GitLab CI pipeline ID token (see `OidcProvider.gitlab_token`)."""
        return self.oidc.gitlab_token(pipeline)

    def email_token(self, email: str = "alice@example.com", **kwargs: Any) -> str:
        """A person's ID token (see `OidcProvider.email_token` for the options)."""
        return self.oidc.email_token(email, **kwargs)

    def github_token(
        self, workflow: GitHubWorkflow | None = None, *, alg: Alg = "RS256", **kwargs: Any
    ) -> str:
        """A workflow ID token (see `OidcProvider.github_token` for the options)."""
        return self.oidc.github_token(workflow, alg=alg, **kwargs)

    def actions_env(self) -> dict[str, str]:
        """The environment of a GitHub Actions job allowed to request ID tokens."""
        return {
            "GITHUB_ACTIONS": "true",
            "ACTIONS_ID_TOKEN_REQUEST_URL": self.oidc.actions_request_url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.oidc.actions_request_token,
        }

    # -- trust files ---------------------------------------------------------------------------

    @property
    def trust_config_path(self) -> Path:
        """The client trust config file."""
        return self.directory / "trust_config.json"

    @property
    def trusted_root_path(self) -> Path:
        """The trusted root file."""
        return self.directory / "trusted_root.json"

    @property
    def signing_config_path(self) -> Path:
        """The signing config file."""
        return self.directory / "signing_config.json"

    def trusted_root(self) -> dict[str, Any]:
        """The trusted root (JSON object): the CA chain, the log key and the CT log key."""
        ca, rekor = self.fulcio.ca, self.rekor
        start = _rfc3339(self._created)
        return {
            "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
            "tlogs": [] if self.logless else [
                {
                    "baseUrl": rekor.url,
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": _public_key(rekor.key, start),
                    "logId": {"keyId": _crypto.b64(rekor.log_id)},
                },
                *([{
                    "baseUrl": self._rekor_v2.url,
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": _public_key(self._rekor_v2.key, start),
                    "logId": {"keyId": _crypto.b64(self._rekor_v2.log_id)},
                }] if self._rekor_v2 is not None else []),
            ],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "sigstore-local", "commonName": "sigstore-local"},
                    "uri": self.fulcio.url,
                    "certChain": {
                        "certificates": [
                            {"rawBytes": _crypto.b64(c.public_bytes(Encoding.DER))}
                            for c in ca.chain
                        ]
                    },
                    "validFor": {"start": start},
                }
            ],
            "ctlogs": [
                {
                    # NOTE: no CT log API is served; the key only signs the CA's SCTs.
                    "baseUrl": f"{self.fulcio.url}/ct",
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": _public_key(ca.ct_key, start),
                    "logId": {"keyId": _crypto.b64(ca.ct_log_id)},
                }
            ],
            "timestampAuthorities": [self._tsa_entry(start)] if self._tsa is not None else [],
        }

    @property
    def rekor_v2(self) -> RekorV2:
        """The Rekor v2 log (only with `rekor_v2=True`, while running)."""
        if self._rekor_v2 is None:
            raise RuntimeError("the instance runs no Rekor v2 log")
        return self._rekor_v2

    @property
    def tsa(self) -> TimestampAuthority:
        """The timestamp authority (only with `tsa=True`, while running)."""
        if self._tsa is None:
            raise RuntimeError("the instance runs no timestamp authority")
        return self._tsa

    def _tsa_entry(self, start: str) -> dict[str, Any]:
        tsa = self.tsa
        return {
            "subject": {"organization": "sigstore-local", "commonName": "sigstore-local-tsa"},
            "uri": tsa.timestamp_url,
            "certChain": {"certificates": [
                {"rawBytes": _crypto.b64(c.public_bytes(Encoding.DER))} for c in tsa.chain]},
            "validFor": {"start": start},
        }

    def signing_config(self) -> dict[str, Any]:
        """The signing config (JSON object): where to get tokens, certificates, log entries."""
        valid = {"start": _rfc3339(self._created)}

        def service(url: str, version: int = 1) -> dict[str, Any]:
            return {"url": url, "majorApiVersion": version, "validFor": valid, "operator": OPERATOR}

        return {
            "mediaType": SIGNING_CONFIG_MEDIA_TYPE,
            "caUrls": [service(self.fulcio.url)],
            "oidcUrls": [service(self.oidc.issuer)],
            "rekorTlogUrls": [service(self._rekor_v2.url, 2) if self._rekor_v2 is not None
                              else service(self.rekor.url, REKOR_API_VERSION)],
            "tsaUrls": [service(self._tsa.timestamp_url)] if self._tsa is not None else [],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        }

    def trust_config(self) -> dict[str, Any]:
        """The client trust config (JSON object): trusted root and signing config."""
        return {
            "mediaType": CLIENT_TRUST_CONFIG_MEDIA_TYPE,
            "trustedRoot": self.trusted_root(),
            "signingConfig": self.signing_config(),
        }

    def trust_config_json(self) -> str:
        """The client trust config as JSON text."""
        return json.dumps(self.trust_config())

    def _write_files(self, state: dict[str, Any]) -> None:
        _write_json(self.trusted_root_path, self.trusted_root())
        _write_json(self.signing_config_path, self.signing_config())
        _write_json(self.trust_config_path, self.trust_config())
        state.update(
            {
                "oidc_issuer": self.oidc.issuer,
                "github_issuer": self.oidc.github_issuer,
                "fulcio_url": self.fulcio.url,
                "rekor_url": self.rekor.url,
                "rekor_api_version": REKOR_API_VERSION,
                "mint_url": f"{self.oidc.url}/mint",
                "actions_id_token_request_url": self.oidc.actions_request_url,
                "trust_config": str(self.trust_config_path),
                "trusted_root": str(self.trusted_root_path),
                "signing_config": str(self.signing_config_path),
            }
        )
        _write_json(self.state_path, state)
