"""The compiled policy: signers, requirements and rule parts, and `Policy` itself.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sbomsign.errors import Error, InputError
from sbomsign.models import Component
from sbomsign.verify import (
    KIND_CYCLONEDX,
    KIND_SPDX,
    Signer,
    VerifiedAttestation,
)

if TYPE_CHECKING:
    from sbomsign._internal.cel import Program
    from sbomsign._internal.versions import Range

#: The `apiVersion` this module reads.
API_VERSION = "sbomsign.dev/v1"

_SBOM_KINDS = (KIND_CYCLONEDX, KIND_SPDX)
_SHORT_TYPES = ("cyclonedx", "spdx", "slsa-provenance", "vsa")
#: The short type that stands for either SBOM format.
_SBOM_TYPE = "sbom"
_ANY_TYPE = "*"
# NOTE: Go's GOARCH names for the architectures the binary readers normalise differently.
_ARCH_ALIASES = {
    "amd64": "x86_64",
    "arm64": "aarch64",
    "386": "i386",
    "loong64": "loongarch64",
    "mipsle": "mipsel",
    "mips64le": "mips64el",
}
_RELRO_ORDER = {"none": 0, "partial": 1, "full": 2}
_DURATION = re.compile(r"([0-9]+)([wdhms])")
_DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
# purl types whose namespace and name compare case-insensitively (their type definitions
# lowercase them); Go module paths and most others are case-sensitive.
_CASELESS_PURL_TYPES = frozenset({"alpm", "apk", "bitbucket", "composer", "deb", "github", "pypi"})
_MAX_LISTED = 8


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one check."""

    rule: str
    """Stable id: `signature`, `attestation[cyclonedx]`, `sbom.deny`, `rules[no-cgo]`, ..."""
    passed: bool
    message: str
    """One line: what was found, or why it failed."""
    bundle: str = ""
    """The bundle the result is about, when there is one."""


# --- the compiled policy ----------------------------------------------------------------


@dataclass(frozen=True)
class _Match:
    """An exact string or a regular expression that must match the whole value."""

    exact: str | None = None
    regexp: re.Pattern[str] | None = None

    def test(self, value: str) -> bool:
        if self.regexp is not None:
            return self.regexp.fullmatch(value) is not None
        return value == self.exact

    def describe(self) -> str:
        if self.regexp is not None:
            return f"/{self.regexp.pattern}/"
        return repr(self.exact)


@dataclass(frozen=True)
class _Signer:
    name: str
    kind: str
    """`keyless` or `key`."""
    issuer: _Match | None = None
    identity: _Match | None = None
    claims: tuple[tuple[str, _Match], ...] = ()
    key_file: str = ""
    key_pem: bytes | None = None
    key_hint: str = ""

    def mismatch(self, signer: Signer) -> str | None:
        """Why `signer` is not this one, or None when it is."""
        if signer.kind != self.kind:
            return f"{self.name}: not a {self.kind} signer"
        if self.kind == "key":
            if self.key_hint:
                if signer.key_hint == self.key_hint:
                    return None
                return f"{self.name}: a different key"
            # NOTE: without the PEM (`from_flags`, which the caller gives the key file to
            # verify) the key is known by the name it was given to the verifier under.
            if signer.key_name == self.key_file:
                return None
            return f"{self.name}: a different key"
        if self.issuer is None or self.identity is None:
            # The schema makes both required; fail closed should a caller build one without.
            return f"{self.name}: no issuer and identity to compare with"
        if not self.issuer.test(signer.issuer):
            return f"{self.name}: issuer {signer.issuer!r} is not {self.issuer.describe()}"
        if not self.identity.test(signer.identity):
            return (
                f"{self.name}: identity {signer.identity!r} does not match "
                f"{self.identity.describe()}"
            )
        for claim, match in self.claims:
            value = signer.claim(claim)
            if value is None:
                return f"{self.name}: the certificate has no {claim} claim"
            if not match.test(value):
                return f"{self.name}: claim {claim} {value!r} does not match {match.describe()}"
        return None


@dataclass(frozen=True)
class _Requirement:
    """`artifactSignature`, or one entry of `attestations`."""

    type: str
    required: bool
    signers: tuple[str, ...]

    @property
    def rule(self) -> str:
        return f"attestation[{self.type}]" if self.type else "signature"

    def covers(self, att: VerifiedAttestation) -> bool:
        """True when the entry names the attestation's predicate type (`*` aside)."""
        if self.type == _SBOM_TYPE:
            return att.predicate_kind in _SBOM_KINDS
        if self.type in _SHORT_TYPES:
            return att.predicate_kind == self.type
        return att.predicate_type.rstrip("/") == self.type.rstrip("/")


@dataclass(frozen=True)
class _Provenance:
    builder: _Match | None = None
    repository: _Match | None = None
    ref: _Match | None = None


@dataclass(frozen=True)
class _Selector:
    """Which components an entry of `deny` / `minimumVersions` is about."""

    text: str
    purl: tuple[str, str, str, tuple[tuple[str, str], ...]] | None = None
    """(type, namespace, name, qualifiers) of a purl given without version."""
    name: str = ""

    def matches(self, component: Component) -> bool:
        if self.purl is None:
            return component.name == self.name
        parsed = _purl_parts(component.purl)
        if parsed is None:
            return False
        ptype, namespace, name, qualifiers, _ = parsed
        want_type, want_ns, want_name, want_qualifiers = self.purl
        if (ptype, namespace, name) != (want_type, want_ns, want_name):
            return False
        return all(qualifiers.get(k) == v for k, v in want_qualifiers)


@dataclass(frozen=True)
class _Deny:
    selector: _Selector
    versions: Range
    reason: str = ""


@dataclass(frozen=True)
class _Minimum:
    selector: _Selector
    version: str


@dataclass(frozen=True)
class _Sbom:
    describes_artifact: bool = False
    covers_binary: bool = False
    ntia: bool = False
    profile: str = ""
    """A buyer's profile every SBOM must meet (`bsi`, `openchain-telco`), or ""."""
    max_age: timedelta | None = None
    max_age_text: str = ""
    deny: tuple[_Deny, ...] = ()
    minimums: tuple[_Minimum, ...] = ()
    licenses: frozenset[str] | None = None
    """Lowercased SPDX ids, or None when licences are not checked."""

    @property
    def needs_sbom(self) -> bool:
        return (self.describes_artifact or self.covers_binary or self.ntia
                or bool(self.profile) or bool(self.max_age))


@dataclass(frozen=True)
class _Binary:
    architectures: tuple[str, ...] = ()
    flags: tuple[tuple[str, bool], ...] = ()
    """(policy key, wanted) for pie, nx, stackProtector, fortify, static, cgo, stripped."""
    relro: str = ""
    go_minimum: str = ""


@dataclass(frozen=True)
class _Rule:
    name: str
    program: Program
    message: str


@dataclass(frozen=True)
class _Spec:
    signers: tuple[_Signer, ...] = ()
    signature: _Requirement | None = None
    attestations: tuple[_Requirement, ...] = ()
    provenance: _Provenance | None = None
    sbom: _Sbom | None = None
    binary: _Binary | None = None
    rules: tuple[_Rule, ...] = ()
    from_flags: bool = False
    thresholds: tuple[int | None, int | None] = (None, None)
    """`verification.tlogThreshold` and `.timestampThreshold`, None where unset."""


@dataclass(frozen=True)
class Policy:
    """A loaded, validated policy. Build it with `load` or `from_flags`."""

    name: str
    """`metadata.name`."""
    description: str
    """`metadata.description` (may be empty)."""
    source: str
    """Where the policy came from (the file name given to `load`, or `<command line>`)."""
    digest: str
    """sha256 (lowercase hex) of the exact policy bytes, for reports and the VSA."""
    _spec: _Spec = field(repr=False)

    @property
    def needs_artifact_inventory(self) -> bool:
        """Whether evaluating needs the artifact file's inventory (`ArtifactEvidence.inventory`).

        Binary rules, `sbom.coversBinary`, component rules and CEL rules look at it; a policy
        about signers and attestations only does not, and the gate can skip scanning the file.
        """
        spec = self._spec
        sbom = spec.sbom
        return bool(
            spec.binary is not None
            or spec.rules
            or (
                sbom is not None
                and (sbom.covers_binary or sbom.deny or sbom.minimums or sbom.licenses is not None)
            )
        )

    def key_files(self) -> list[str]:
        """Key files the policy names, relative to the policy file's directory, in order.

        The caller reads them and passes their contents to `with_keys`; this module does no
        file I/O. Empty for a policy from `from_flags`, whose keys the caller already holds.
        """
        if self._spec.from_flags:
            return []
        files: list[str] = []
        for s in self._spec.signers:
            if s.kind == "key" and s.key_file and s.key_file not in files:
                files.append(s.key_file)
        return files

    def with_keys(self, keys: Mapping[str, bytes | str]) -> Policy:
        """This policy with the PEM contents of its key files (`{path: pem}`).

        Raises:
            InputError: a path the policy does not name, or a key that is not a PEM public
                key of a supported type.
        """
        known = set(self.key_files())
        unknown = sorted(set(keys) - known)
        if unknown:
            raise InputError(f"{self.source}: the policy names no key file {unknown[0]!r}")
        signers = []
        for s in self._spec.signers:
            if s.kind == "key" and s.key_file in keys:
                raw = keys[s.key_file]
                pem = raw.encode() if isinstance(raw, str) else raw
                hint = _key_hint(pem, f"{self.source}: key file {s.key_file}")
                s = dataclasses.replace(s, key_pem=pem, key_hint=hint)
            signers.append(s)
        spec = dataclasses.replace(self._spec, signers=tuple(signers))
        return dataclasses.replace(self, _spec=spec)

    def thresholds(self) -> tuple[int | None, int | None]:
        """The keyless thresholds the policy sets (`spec.verification`): transparency-log
        entries and RFC 3161 timestamps, None where it sets none."""
        return self._spec.thresholds

    def keys(self) -> tuple[tuple[str, bytes], ...]:
        """The managed public keys the policy trusts, as (name, PEM), for `TrustMaterial.keys`.

        Key files appear once `with_keys` has supplied them; inline keys are named
        `signers.<name>`.
        """
        out: dict[str, bytes] = {}
        for s in self._spec.signers:
            if s.kind == "key" and s.key_pem is not None:
                out.setdefault(s.key_file or f"signers.{s.name}", s.key_pem)
        return tuple(out.items())


def _purl_parts(
    purl: str,
) -> tuple[str, str, str, dict[str, str], str] | None:
    """(type, namespace, name, qualifiers, version) of a purl, case-folded where the type is
    case-insensitive; None when it is not a purl."""
    if not purl:
        return None
    from sbomsign._internal.purl import parse_purl

    try:
        ptype, namespace, name, version, qualifiers, _ = parse_purl(purl)
    except InputError:
        return None
    if ptype in _CASELESS_PURL_TYPES:
        namespace, name = namespace.lower(), name.lower()
    return ptype, namespace, name, qualifiers, version


def _key_hint(pem: bytes, label: str) -> str:
    from sbomsign._internal import keys

    try:
        return keys.hint(keys.load_public_key(pem, name=label))
    except Error as e:
        raise InputError(e.diagnostics()) from e


def _normal_repository(uri: str) -> str:
    text = uri.strip().removeprefix("git+").rstrip("/")
    return text.removesuffix(".git")
