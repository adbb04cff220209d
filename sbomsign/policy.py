"""Stage 5: the policy — who may sign, what must be attested, and rules over what was verified.

A policy is a YAML document (`apiVersion: sbomsign.dev/v1`, `kind: Policy`) validated by the
JSON Schema shipped with the package (`sbomsign/_internal/policy_schema.json`); unknown keys
are errors. `policies/README.md` documents every key, with examples.

- `load` reads a policy file's bytes; `from_flags` turns `--certificate-identity`,
  `--certificate-oidc-issuer`, `--key` ... into the same kind of `Policy`.
- `evaluate` judges one artifact's `ArtifactEvidence` (what `sbomsign.verify` proved) and
  returns one `RuleResult` per check. It is pure: no files, no network, no clock (`now` is
  given).

The gate fails closed: a required item that is missing, present only as a bundle that failed
verification, signed by someone not allowed, or a rule that cannot be checked (no file for a
binary rule, no SBOM, a CEL error, an unreadable version) gives a failed result with the
reason. Nothing in this module reads files: key files named by a policy are read by the
caller (`Policy.key_files`, then `Policy.with_keys`).

Rule ids (`RuleResult.rule`), stable for reports and SARIF:
`bundle`, `signature`, `attestation[<type>]`, `provenance.builderId`,
`provenance.sourceRepository`, `provenance.ref`, `sbom.describesArtifact`, `sbom.coversBinary`,
`sbom.ntia`, `sbom.maxAge`, `sbom.deny`, `sbom.minimumVersions`, `sbom.allowedLicenses`,
`binary.architectures`, `binary.pie`, `binary.nx`, `binary.relro`, `binary.stackProtector`,
`binary.fortify`, `binary.static`, `binary.cgo`, `binary.stripped`, `binary.goVersion`,
`rules[<name>]`.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sbomsign.errors import Error, InputError
from sbomsign.models import Artifact, Binary, Component, ComponentKind, Inventory
from sbomsign.verify import (
    KIND_CYCLONEDX,
    KIND_SLSA_PROVENANCE,
    KIND_SPDX,
    ArtifactEvidence,
    Signer,
    VerifiedAttestation,
    VerifiedSignature,
)

if TYPE_CHECKING:
    from sbomsign._internal.cel import Program
    from sbomsign._internal.versions import Range

__all__ = ["API_VERSION", "Policy", "RuleResult", "evaluate", "from_flags", "load", "schema"]

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
    max_age: timedelta | None = None
    max_age_text: str = ""
    deny: tuple[_Deny, ...] = ()
    minimums: tuple[_Minimum, ...] = ()
    licenses: frozenset[str] | None = None
    """Lowercased SPDX ids, or None when licences are not checked."""

    @property
    def needs_sbom(self) -> bool:
        return self.describes_artifact or self.covers_binary or self.ntia or bool(self.max_age)


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


# --- loading ----------------------------------------------------------------------------


def load(text: bytes, *, source: str = "<policy>") -> Policy:
    """Read and validate a policy document.

    The YAML is read safely (no tags, duplicate keys rejected), validated against the shipped
    JSON Schema, then regular expressions, purls, version ranges, durations, inline keys and
    CEL expressions are compiled, so every error surfaces here.

    Raises:
        InputError: one line naming `source`, the JSON path of the first problem and why.
    """
    doc = _parse_yaml(text, source)
    return _from_document(doc, text, source)


#: The attestation `type` short names of the schema.
_TYPE_NAMES = frozenset({"sbom", "cyclonedx", "spdx", "slsa-provenance", "vsa", "*"})


def from_flags(
    *,
    identity: str | None = None,
    identity_regexp: str | None = None,
    issuer: str | None = None,
    keys: Sequence[str] = (),
    require_attestations: Sequence[str] = (),
) -> Policy:
    """The policy the `verify` flags describe, when no policy file is given.

    The artifact signature is required and must come from the keyless identity
    (`identity` or `identity_regexp`, with `issuer`, as `sigstore verify identity` asks) or
    from one of the `keys` (the names under which the caller hands those keys to the
    verifier). Every attestation present must come from the same signers; the types in
    `require_attestations` (`sbom`, `cyclonedx`, `spdx`, `slsa-provenance`, `vsa`, a URI, or
    `*` for any) are required.

    Raises:
        InputError: nothing to verify against, an identity without an issuer (or the
            reverse), both identity forms, or a bad regular expression.
    """
    if identity and identity_regexp:
        raise InputError("give --certificate-identity or --certificate-identity-regexp, not both")
    signers: dict[str, Any] = {}
    if identity or identity_regexp:
        if not issuer:
            raise InputError(
                "--certificate-identity needs --certificate-oidc-issuer (the identity "
                "alone does not say who vouched for it)"
            )
        keyless: dict[str, Any] = {"issuer": issuer}
        if identity:
            keyless["identity"] = identity
        else:
            try:
                re.compile(identity_regexp or "")
            except re.error as e:
                raise InputError(
                    f"--certificate-identity-regexp: bad regular expression: {e}"
                ) from e
            keyless["identityRegexp"] = identity_regexp
        signers["certificate"] = {"keyless": keyless}
    elif issuer:
        raise InputError(
            "--certificate-oidc-issuer needs --certificate-identity or "
            "--certificate-identity-regexp"
        )
    for i, path in enumerate(dict.fromkeys(keys)):
        signers["key" if i == 0 else f"key-{i + 1}"] = {"key": {"file": path}}
    if not signers:
        raise InputError(
            "nothing to verify against: give --policy, --key, or --certificate-identity "
            "(or --certificate-identity-regexp) with --certificate-oidc-issuer"
        )
    wanted = dict.fromkeys(require_attestations)
    for i, t in enumerate(wanted):
        # NOTE: the same rule as the schema's attestation `type` (a flags policy is not
        # validated against the schema at run time).
        if t not in _TYPE_NAMES and not re.fullmatch(r"https?://\S+", t):
            raise InputError(
                f"<command line>: $.spec.attestations[{i}].type: {t!r} is not one of "
                f"{', '.join(sorted(_TYPE_NAMES))} or a predicate-type URI"
            )
    attestations: list[dict[str, Any]] = [
        {"type": t, "required": True} for t in wanted if t != _ANY_TYPE
    ]
    attestations.append({"type": _ANY_TYPE, "required": _ANY_TYPE in wanted})
    doc = {
        "apiVersion": API_VERSION,
        "kind": "Policy",
        "metadata": {
            "name": "command-line",
            "description": "built from the verify command's flags",
        },
        "spec": {
            "signers": signers,
            "artifactSignature": {"required": True},
            "attestations": attestations,
        },
    }
    # NOTE: the digest covers a canonical form of what the flags asked for, so reports and
    # VSAs still identify the policy that was applied.
    text = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return _from_document(doc, text, "<command line>", flags=True)


def _from_document(doc: Any, text: bytes, source: str, *, flags: bool = False) -> Policy:
    if not isinstance(doc, dict):
        raise InputError(f"{source}: a policy is a YAML mapping with apiVersion, kind, spec")
    version = doc.get("apiVersion")
    if version != API_VERSION:
        raise InputError(
            f"{source}: $.apiVersion: unsupported apiVersion {version!r} "
            f"(this sbomsign reads {API_VERSION})"
        )
    if not flags:
        # NOTE: a flags policy is built above from checked values, never from user text; its
        # shape is covered by a test against the schema, and skipping jsonschema here keeps
        # the plain `verify --key`/`--certificate-identity` gate fast.
        _validate(doc, source)
    spec = _Builder(source).spec(doc.get("spec") or {}, flags=flags)
    metadata = doc["metadata"]
    return Policy(
        name=metadata["name"],
        description=metadata.get("description", ""),
        source=source,
        digest=hashlib.sha256(text).hexdigest(),
        _spec=spec,
    )


def _parse_yaml(text: bytes, source: str) -> Any:
    import yaml

    class _Loader(yaml.SafeLoader):
        """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` may be overridden by the keys written beside it
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is not a string", key_node.start_mark
                )
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        loader.flatten_mapping(node)
        return {
            loader.construct_object(k, deep=True): loader.construct_object(v, deep=True)
            for k, v in node.value
        }

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        what = " ".join(str(p) for p in (e.context, e.problem) if p)
        raise InputError(f"{source}: {where}{what or 'malformed YAML'}") from e
    except yaml.YAMLError as e:
        raise InputError(f"{source}: malformed YAML: {e}") from e


_SCHEMA: dict[str, Any] | None = None


def _schema() -> dict[str, Any]:
    global _SCHEMA
    if _SCHEMA is None:
        from importlib import resources

        data = resources.files("sbomsign._internal").joinpath("policy_schema.json").read_text()
        _SCHEMA = json.loads(data)
    return _SCHEMA


def schema() -> dict[str, Any]:
    """The JSON Schema of policy documents (a copy)."""
    copy: dict[str, Any] = json.loads(json.dumps(_schema()))
    return copy


def _import_jsonschema() -> Any:
    """`jsonschema`, imported without its optional IRI format checker.

    NOTE: when `rfc3987-syntax` is installed (jsonschema's `format-nongpl` extra, which
    cyclonedx-python-lib's validators pull in), importing jsonschema compiles dozens of
    grammars, about two seconds per process. The policy schema uses no string formats, so the
    gate blocks that import for its own use; a process that already imported it keeps it.
    """
    import sys

    blocked = "rfc3987_syntax" not in sys.modules and "jsonschema" not in sys.modules
    if blocked:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    try:
        import jsonschema
        import jsonschema.exceptions
    finally:
        if blocked:
            del sys.modules["rfc3987_syntax"]
    return jsonschema


def _validate(doc: Any, source: str) -> None:
    jsonschema = _import_jsonschema()
    Draft202012Validator = jsonschema.Draft202012Validator  # noqa: N806
    relevance = jsonschema.exceptions.relevance

    errors = list(Draft202012Validator(_schema()).iter_errors(doc))
    if not errors:
        return
    best = max(errors, key=relevance)
    raise InputError(f"{source}: {_describe(best)}")


def _json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", str(p)):
            out += f".{p}"
        else:
            out += f"[{json.dumps(str(p))}]"
    return out


def _exactly_one(schemas: Any) -> list[str] | None:
    """The keys of a `oneOf: [{required: [a]}, {required: [b]}]`, else None."""
    if not isinstance(schemas, list):
        return None
    keys: list[str] = []
    for s in schemas:
        if not (isinstance(s, dict) and set(s) == {"required"} and len(s["required"]) == 1):
            return None
        keys.append(s["required"][0])
    return keys


def _listing(values: Iterable[Any]) -> str:
    items = [str(v) for v in values]
    if len(items) > _MAX_LISTED:
        items = [*items[:_MAX_LISTED], "..."]
    return ", ".join(items)


def _describe(error: Any) -> str:
    """One line for a jsonschema ValidationError: the JSON path and what is wrong."""
    path = list(error.absolute_path)
    where = _json_path(path)
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    if "propertyNames" in error.absolute_schema_path:
        names = (
            error.validator_value
            if kind == "enum"
            else next(
                (e.validator_value for e in error.context or () if e.validator == "enum"), None
            )
        )
        if names:
            return (
                f"{_json_path([*path, instance])}: unknown name {instance!r} "
                f"(expected one of {_listing(names)})"
            )
        return f"{_json_path([*path, instance])}: {instance!r} is not a valid name"
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        extra = next((k for k in instance if k not in allowed), None)
        if extra is not None:
            close = difflib.get_close_matches(str(extra), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = f"; known keys: {_listing(allowed)}" if allowed and not close else ""
            return f"{_json_path([*path, extra])}: unknown key{hint}{known}"
    if kind in ("oneOf", "anyOf"):
        keys = _exactly_one(error.validator_value)
        if keys is not None and isinstance(instance, dict):
            present = [k for k in keys if k in instance]
            if present:
                return f"{where}: give only one of {', '.join(keys)}"
            return f"{where}: give one of {', '.join(keys)}"
        if not isinstance(instance, dict) and schema.get("title"):
            return f"{where}: {instance!r} is not {schema['title'].replace('`', '')}"
        if error.context:
            # Prefer what is wrong inside the branch that has the instance's type.
            context = [e for e in error.context if e.validator != "type"] or list(error.context)
            context.sort(key=lambda e: (e.validator != "additionalProperties", -len(e.path)))
            return _describe(context[0])
    if kind == "not" and isinstance(error.validator_value, dict):
        keys = error.validator_value.get("required")
        if keys:
            return f"{where}: give only one of {', '.join(keys)}"
    if kind == "required":
        missing = next((k for k in error.validator_value if k not in instance), "?")
        return f"{where}: missing required key {missing!r}"
    if kind == "const":
        return f"{where}: must be {error.validator_value!r}, not {instance!r}"
    if kind == "enum":
        return f"{where}: {instance!r} is not one of {_listing(error.validator_value)}"
    if kind == "type":
        wanted = error.validator_value
        words = {
            "object": "a mapping",
            "array": "a list",
            "string": "a string",
            "boolean": "true or false",
            "integer": "an integer",
            "number": "a number",
        }
        text = words.get(wanted, str(wanted)) if isinstance(wanted, str) else str(wanted)
        hint = ""
        if wanted == "string" and isinstance(instance, int | float | bool):
            hint = " (quote it: YAML read it as a number or boolean)"
        return f"{where}: must be {text}, not {instance!r}{hint}"
    if kind == "pattern":
        if schema.get("title"):
            return f"{where}: {instance!r} is not a valid {schema['title'].replace('`', '')}"
        return f"{where}: {instance!r} does not match {error.validator_value}"
    if kind in ("minLength", "minProperties"):
        return f"{where}: must not be empty"
    if kind == "minItems":
        return f"{where}: needs at least {error.validator_value} item(s)"
    if kind == "uniqueItems":
        return f"{where}: has duplicate items"
    return f"{where}: {' '.join(error.message.split())}"


def _key_hint(pem: bytes, label: str) -> str:
    from sbomsign._internal import keys

    try:
        return keys.hint(keys.load_public_key(pem, name=label))
    except Error as e:
        raise InputError(e.diagnostics()) from e


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


class _Builder:
    """Turns the validated document into the compiled `_Spec`; errors name the JSON path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: Sequence[Any], message: str) -> InputError:
        return InputError(f"{self.source}: {_json_path(path)}: {message}")

    def regexp(self, text: str, path: Sequence[Any]) -> re.Pattern[str]:
        try:
            return re.compile(text)
        except re.error as e:
            raise self.fail(path, f"bad regular expression: {e}") from e

    def match(self, obj: Mapping[str, Any], key: str, path: Sequence[Any]) -> _Match | None:
        if key in obj:
            return _Match(exact=obj[key])
        if key + "Regexp" in obj:
            return _Match(regexp=self.regexp(obj[key + "Regexp"], [*path, key + "Regexp"]))
        return None

    def spec(self, doc: Mapping[str, Any], *, flags: bool) -> _Spec:
        path: list[Any] = ["spec"]
        signers = tuple(
            self.signer(name, entry, [*path, "signers", name])
            for name, entry in (doc.get("signers") or {}).items()
        )
        names = tuple(s.name for s in signers)
        signature = None
        if "artifactSignature" in doc:
            signature = self.requirement(
                "", doc["artifactSignature"], names, [*path, "artifactSignature"]
            )
        attestations: list[_Requirement] = []
        for i, entry in enumerate(doc.get("attestations") or []):
            req = self.requirement(entry["type"], entry, names, [*path, "attestations", i])
            if any(a.type == req.type for a in attestations):
                raise self.fail(
                    [*path, "attestations", i, "type"], f"type {req.type!r} is listed twice"
                )
            attestations.append(req)
        required = (signature is not None and signature.required) or any(
            a.required for a in attestations
        )
        if not required:
            raise self.fail(
                path,
                "the policy requires no artifact signature and no attestation, "
                "so it would pass an unsigned artifact",
            )
        provenance = None
        if "provenance" in doc:
            provenance = self.provenance(doc["provenance"], [*path, "provenance"])
            self.needs_kind(
                attestations, (KIND_SLSA_PROVENANCE,), [*path, "provenance"], "slsa-provenance"
            )
        sbom = self.sbom(doc["sbom"], [*path, "sbom"]) if "sbom" in doc else None
        if sbom is not None and sbom.needs_sbom:
            self.needs_kind(attestations, _SBOM_KINDS, [*path, "sbom"], "cyclonedx or spdx")
        binary = self.binary(doc["binary"]) if "binary" in doc else None
        rules = self.rules(doc.get("rules") or [], [*path, "rules"])
        return _Spec(
            signers,
            signature,
            tuple(attestations),
            provenance,
            sbom,
            binary,
            rules,
            from_flags=flags,
        )

    def needs_kind(
        self,
        attestations: Sequence[_Requirement],
        kinds: Sequence[str],
        path: Sequence[Any],
        wanted: str,
    ) -> None:
        from sbomsign._internal.intoto import predicate_kind

        for a in attestations:
            if a.type == _ANY_TYPE or (a.type == _SBOM_TYPE and set(kinds) & set(_SBOM_KINDS)):
                return
            kind = a.type if a.type in _SHORT_TYPES else predicate_kind(a.type)
            if kind in kinds:
                return
        raise self.fail(
            path,
            f"needs a {wanted} entry in spec.attestations (other attestation types are ignored)",
        )

    def signer(self, name: str, entry: Mapping[str, Any], path: list[Any]) -> _Signer:
        if "key" in entry:
            key = entry["key"]
            if "pem" in key:
                pem = key["pem"].encode()
                hint = _key_hint(pem, f"{self.source}: {_json_path([*path, 'key', 'pem'])}")
                return _Signer(name, "key", key_pem=pem, key_hint=hint)
            return _Signer(name, "key", key_file=key["file"])
        keyless = entry["keyless"]
        kpath = [*path, "keyless"]
        claims = []
        for claim, value in (keyless.get("claims") or {}).items():
            if isinstance(value, str):
                claims.append((claim, _Match(exact=value)))
            else:
                regexp = self.regexp(value["regexp"], [*kpath, "claims", claim, "regexp"])
                claims.append((claim, _Match(regexp=regexp)))
        return _Signer(
            name,
            "keyless",
            issuer=self.match(keyless, "issuer", kpath),
            identity=self.match(keyless, "identity", kpath),
            claims=tuple(claims),
        )

    def requirement(
        self, type_: str, entry: Mapping[str, Any], names: tuple[str, ...], path: list[Any]
    ) -> _Requirement:
        wanted = entry.get("signers")
        if wanted is None:
            if not names:
                raise self.fail(path, "no signers: define spec.signers")
            wanted = list(names)
        for i, n in enumerate(wanted):
            if n not in names:
                close = difflib.get_close_matches(n, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.fail([*path, "signers", i], f"no signer {n!r} in spec.signers{hint}")
        return _Requirement(type_, bool(entry.get("required", True)), tuple(wanted))

    def provenance(self, doc: Mapping[str, Any], path: list[Any]) -> _Provenance:
        repository = None
        if "sourceRepository" in doc:
            repository = _Match(exact=_normal_repository(doc["sourceRepository"]))
        elif "sourceRepositoryRegexp" in doc:
            repository = _Match(
                regexp=self.regexp(doc["sourceRepositoryRegexp"], [*path, "sourceRepositoryRegexp"])
            )
        return _Provenance(
            builder=self.match(doc, "builderId", path),
            repository=repository,
            ref=self.match(doc, "ref", path),
        )

    def selector(self, entry: Mapping[str, Any], path: list[Any]) -> _Selector:
        if "name" in entry:
            return _Selector(entry["name"], name=entry["name"])
        text = entry["purl"]
        parts = _purl_parts(text)
        if parts is None:
            raise self.fail([*path, "purl"], f"{text!r} is not a purl")
        ptype, namespace, name, qualifiers, _ = parts
        return _Selector(text, purl=(ptype, namespace, name, tuple(sorted(qualifiers.items()))))

    def scheme(self, selector: _Selector) -> str | None:
        from sbomsign._internal.versions import scheme_for

        if selector.purl is None:
            return None
        return scheme_for(selector.purl[0], selector.purl[2], selector.purl[1])

    def sbom(self, doc: Mapping[str, Any], path: list[Any]) -> _Sbom:
        from sbomsign._internal import versions

        deny = []
        for i, entry in enumerate(doc.get("deny") or []):
            epath = [*path, "deny", i]
            selector = self.selector(entry, epath)
            try:
                rng = versions.parse_range(entry.get("versions", "*"))
                scheme = self.scheme(selector)
                if scheme:
                    rng.check(scheme)
            except versions.VersionError as e:
                raise self.fail([*epath, "versions"], str(e)) from e
            deny.append(_Deny(selector, rng, entry.get("reason", "")))
        minimums = []
        for i, entry in enumerate(doc.get("minimumVersions") or []):
            epath = [*path, "minimumVersions", i]
            selector = self.selector(entry, epath)
            scheme = self.scheme(selector)
            try:
                versions.check(entry["version"], scheme or "generic")
            except versions.VersionError as e:
                raise self.fail([*epath, "version"], str(e)) from e
            minimums.append(_Minimum(selector, entry["version"]))
        max_age = None
        if "maxAge" in doc:
            seconds = sum(int(n) * _DURATION_UNITS[u] for n, u in _DURATION.findall(doc["maxAge"]))
            max_age = timedelta(seconds=seconds)
        licenses = None
        if "allowedLicenses" in doc:
            licenses = frozenset(x.strip().lower() for x in doc["allowedLicenses"])
        return _Sbom(
            describes_artifact=bool(doc.get("describesArtifact")),
            covers_binary=bool(doc.get("coversBinary")),
            ntia=bool(doc.get("ntia")),
            max_age=max_age,
            max_age_text=doc.get("maxAge", ""),
            deny=tuple(deny),
            minimums=tuple(minimums),
            licenses=licenses,
        )

    def binary(self, doc: Mapping[str, Any]) -> _Binary:
        from sbomsign._internal import versions

        archs = tuple(dict.fromkeys(_ARCH_ALIASES.get(a, a) for a in doc.get("architectures", [])))
        flags = tuple(
            (k, bool(doc[k]))
            for k in ("pie", "nx", "stackProtector", "fortify", "static", "cgo", "stripped")
            if k in doc
        )
        minimum = ""
        if "goVersion" in doc:
            minimum = doc["goVersion"]["minimum"]
            try:
                versions.check(minimum, "go")
            except versions.VersionError as e:
                raise self.fail(["spec", "binary", "goVersion", "minimum"], str(e)) from e
        return _Binary(archs, flags, doc.get("relro", ""), minimum)

    def rules(self, entries: Sequence[Mapping[str, Any]], path: list[Any]) -> tuple[_Rule, ...]:
        if not entries:
            return ()
        from sbomsign._internal import cel

        rules: list[_Rule] = []
        for i, entry in enumerate(entries):
            if any(r.name == entry["name"] for r in rules):
                raise self.fail([*path, i, "name"], f"rule name {entry['name']!r} is used twice")
            try:
                program = cel.compile(entry["expression"])
            except cel.CelError as e:
                raise self.fail([*path, i, "expression"], e.message) from e
            rules.append(_Rule(entry["name"], program, entry.get("message", "")))
        return tuple(rules)


# --- evaluation -------------------------------------------------------------------------


def evaluate(policy: Policy, evidence: ArtifactEvidence, *, now: datetime) -> list[RuleResult]:
    """Judge one artifact's verified evidence against the policy.

    Returns one result per check, in a stable order: bundle failures, the artifact signature,
    attestations, provenance, SBOM, binary and custom rules. The artifact passes when every
    result passed. `now` (timezone-aware) is used for `maxAge` and CEL's `now`.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return _Evaluation(policy._spec, evidence, now).run()


def _signer_text(s: Signer) -> str:
    if s.kind == "keyless":
        return f"{s.identity} (issuer {s.issuer})"
    return f"key {s.key_name or s.key_hint}"


def _signer_json(s: Signer) -> dict[str, Any]:
    return {
        "kind": s.kind,
        "identity": s.identity,
        "issuer": s.issuer,
        "claims": dict(s.claims),
        "keyHint": s.key_hint,
        "keyName": s.key_name,
        "signedAt": s.signed_at,
        # NOTE: celpy's timestamp() takes no integer, so the time is also given in RFC 3339.
        "signedTime": (
            datetime.fromtimestamp(s.signed_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if s.signed_at is not None
            else None
        ),
        "transparencyLog": s.transparency_log,
        "timestamped": s.timestamped,
    }


def _normal_repository(uri: str) -> str:
    text = uri.strip().removeprefix("git+").rstrip("/")
    return text.removesuffix(".git")


def _split_source(uri: str) -> tuple[str, str]:
    """(repository, ref) of a `git+https://host/org/repo@refs/tags/v1` source URI."""
    m = re.fullmatch(r"(?P<repo>.+?)@(?P<ref>refs/\S+)", uri.strip())
    if m:
        return _normal_repository(m["repo"]), m["ref"]
    repo, sep, rest = uri.strip().rpartition("@")
    if sep and "/" not in rest:
        # A commit or a short ref after the last `@` (not the user@ of an ssh URI).
        return _normal_repository(repo), rest
    return _normal_repository(uri), ""


def _get(obj: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def _provenance_facts(predicate: Any) -> dict[str, str]:
    """builderId, sourceRepository and ref of a SLSA v1 or v0.2 provenance predicate."""
    facts: dict[str, str] = {}
    if not isinstance(predicate, dict):
        return facts
    if "runDetails" in predicate or "buildDefinition" in predicate:
        builder = _get(predicate, "runDetails", "builder", "id")
        external = _get(predicate, "buildDefinition", "externalParameters")
        workflow = _get(external, "workflow")
        source = _get(external, "source")
        if isinstance(workflow, dict):
            # GitHub's actions/attest and the SLSA GitHub generator:
            # {"repository": "https://github.com/org/repo", "ref": "refs/tags/v1", "path": ...}
            if isinstance(workflow.get("repository"), str):
                facts["sourceRepository"] = _normal_repository(workflow["repository"])
            if isinstance(workflow.get("ref"), str):
                facts["ref"] = workflow["ref"]
        elif isinstance(source, str | dict):
            uri = source if isinstance(source, str) else source.get("uri")
            if isinstance(uri, str):
                repo, ref = _split_source(uri)
                facts["sourceRepository"] = repo
                if ref:
                    facts["ref"] = ref
    else:
        builder = _get(predicate, "builder", "id")
        uri = _get(predicate, "invocation", "configSource", "uri")
        if isinstance(uri, str):
            repo, ref = _split_source(uri)
            facts["sourceRepository"] = repo
            if ref:
                facts["ref"] = ref
    if isinstance(builder, str):
        facts["builderId"] = builder
    return facts


def _sbom_timestamp(att: VerifiedAttestation) -> datetime | None:
    """The creation time the SBOM document states (CycloneDX metadata.timestamp, SPDX
    creationInfo.created), or None."""
    text: Any = None
    pred = att.predicate
    if isinstance(pred, dict):
        text = _get(pred, "metadata", "timestamp") or _get(pred, "creationInfo", "created")
    if not isinstance(text, str) and att.sbom_document:
        # XML and tag-value documents: a scan for the one field is enough here.
        doc = att.sbom_document[: 1 << 20].decode("utf-8", "replace")
        m = re.search(r"<timestamp>\s*([^<\s]+)\s*</timestamp>", doc) or re.search(
            r"^Created:\s*(\S+)", doc, re.MULTILINE
        )
        text = m.group(1) if m else None
    if not isinstance(text, str):
        return None
    try:
        ts = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _age_text(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        return f"{seconds // 86400}d{(seconds % 86400) // 3600}h"
    if seconds >= 3600:
        return f"{seconds // 3600}h{(seconds % 3600) // 60}m"
    return f"{max(seconds, 0)}s"


def _component_label(c: Component) -> str:
    if c.purl:
        return c.purl
    return f"{c.name}@{c.version}" if c.version else c.name


def _component_version(c: Component) -> tuple[str, str]:
    """(version, scheme) of a component: the purl's version where it has one (for a replaced
    Go module, the replacement), else the component's."""
    from sbomsign._internal.versions import scheme_for

    parts = _purl_parts(c.purl)
    if parts is not None:
        ptype, namespace, name, _, version = parts
        return version or c.version, scheme_for(ptype, name, namespace)
    if c.kind is ComponentKind.GO_STDLIB:
        return c.version, "go"
    if c.kind in (ComponentKind.GO_MODULE, ComponentKind.GO_MAIN_MODULE, ComponentKind.RUST_CRATE):
        return c.version, "semver"
    return c.version, "generic"


def _coverage_keys(c: Component) -> tuple[tuple[str, ...] | None, tuple[str, str]]:
    parts = _purl_parts(c.purl)
    purl_key = None
    if parts is not None:
        ptype, namespace, name, _, version = parts
        purl_key = (ptype, namespace, name, version)
    return purl_key, (c.name, c.version)


def _license_allowed(expression: str, allowed: frozenset[str]) -> bool | None:
    """Whether an SPDX license expression is satisfied by the allowed ids; None when the
    licence is not known (NOASSERTION, NONE) or the expression cannot be read."""
    tokens: list[str] = re.findall(r"\(|\)|[^\s()]+", expression)
    if not tokens or all(t.upper() in ("NOASSERTION", "NONE") for t in tokens):
        return None
    pos = 0

    def peek() -> str:
        return tokens[pos].upper() if pos < len(tokens) else ""

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def primary() -> bool:
        if peek() == "(":
            take()
            value = disjunction()
            if take() != ")":
                raise ValueError("unbalanced parentheses")
            return value
        ident = take()
        if ident.upper() in ("AND", "OR", "WITH", ")"):
            raise ValueError(f"unexpected {ident}")
        if peek() == "WITH":
            take()
            exception = take()
            # An exception only relaxes the licence: allowing the licence allows it with
            # the exception too; `X WITH Y` may also be allowed as a whole.
            return (
                f"{ident} with {exception}".lower() in allowed
                or ident.lower().removesuffix("+") in allowed
                or ident.lower() in allowed
            )
        return ident.lower() in allowed or ident.lower().removesuffix("+") in allowed

    def conjunction() -> bool:
        value = primary()
        while peek() == "AND":
            take()
            value = primary() and value
        return value

    def disjunction() -> bool:
        value = conjunction()
        while peek() == "OR":
            take()
            value = conjunction() or value
        return value

    try:
        result = disjunction()
    except (ValueError, IndexError):
        return False
    return result if pos == len(tokens) else False


class _Evaluation:
    """One run of `evaluate`: collects the results."""

    def __init__(self, spec: _Spec, evidence: ArtifactEvidence, now: datetime) -> None:
        self.spec = spec
        self.ev = evidence
        self.now = now
        self.results: list[RuleResult] = []
        self.signers = {s.name: s for s in spec.signers}
        self.accepted_signatures: list[VerifiedSignature] = []
        self.accepted: list[VerifiedAttestation] = []

    def add(self, rule: str, passed: bool, message: str, bundle: str = "") -> None:
        self.results.append(RuleResult(rule, passed, " ".join(message.split()), bundle))

    def run(self) -> list[RuleResult]:
        for f in self.ev.failures:
            self.add("bundle", False, f"could not be verified: {f.reason}", f.bundle)
        self.signature()
        self.attestations()
        if self.spec.provenance is not None:
            self.provenance(self.spec.provenance)
        if self.spec.sbom is not None:
            self.sbom(self.spec.sbom)
        if self.spec.binary is not None:
            self.binary(self.spec.binary)
        if self.spec.rules:
            self.custom_rules(self.spec.rules)
        return self.results

    # signers ------------------------------------------------------------------------

    def allowed(self, req: _Requirement, signer: Signer) -> tuple[bool, str]:
        reasons = []
        for name in req.signers:
            why = self.signers[name].mismatch(signer)
            if why is None:
                return True, f"signed by {_signer_text(signer)} (signer {name})"
            reasons.append(why)
        return False, (
            f"signed by {_signer_text(signer)}, not an allowed signer: " + "; ".join(reasons)
        )

    def unverified(self) -> str:
        if not self.ev.failures:
            return ""
        return (
            f" ({len(self.ev.failures)} bundle(s) failed verification: "
            + ", ".join(f.bundle for f in self.ev.failures[:_MAX_LISTED])
            + ")"
        )

    def signature(self) -> None:
        req = self.spec.signature
        if req is None:
            return
        for sig in self.ev.signatures:
            if sig.sha256 != self.ev.sha256:
                self.add(
                    req.rule,
                    False,
                    f"the signature covers sha256:{sig.sha256}, not this artifact",
                    sig.bundle,
                )
                continue
            ok, message = self.allowed(req, sig.signer)
            self.add(req.rule, ok, message, sig.bundle)
            if ok:
                self.accepted_signatures.append(sig)
        if req.required and not self.accepted_signatures:
            self.add(
                req.rule,
                False,
                "no verified artifact signature from an allowed signer" + self.unverified(),
            )

    def attestations(self) -> None:
        specific = [r for r in self.spec.attestations if r.type != _ANY_TYPE]
        wildcard = next((r for r in self.spec.attestations if r.type == _ANY_TYPE), None)
        found: dict[str, int] = {r.type: 0 for r in self.spec.attestations}
        for att in self.ev.attestations:
            reqs = [r for r in specific if r.covers(att)]
            if not reqs and wildcard is not None:
                reqs = [wildcard]
            if not reqs:
                continue  # a type the policy does not mention: ignored, invisible to rules
            ok_all = True
            for req in reqs:
                if not any(
                    s.digests and dict(s.digests).get("sha256") == self.ev.sha256
                    for s in att.subjects
                ):
                    ok, message = False, "no subject of the statement is this artifact"
                else:
                    ok, message = self.allowed(req, att.signer)
                    message = f"{att.predicate_type}: {message}"
                self.add(req.rule, ok, message, att.bundle)
                ok_all = ok_all and ok
                if ok:
                    found[req.type] += 1
            if ok_all:
                self.accepted.append(att)
        for req in self.spec.attestations:
            if req.required and not found[req.type]:
                what = "attestation" if req.type == _ANY_TYPE else f"{req.type} attestation"
                self.add(
                    req.rule,
                    False,
                    f"no verified {what} from an allowed signer" + self.unverified(),
                )

    # provenance ---------------------------------------------------------------------

    def provenance(self, prov: _Provenance) -> None:
        checks = [
            (k, m)
            for k, m in (
                ("builderId", prov.builder),
                ("sourceRepository", prov.repository),
                ("ref", prov.ref),
            )
            if m is not None
        ]
        provs = [a for a in self.accepted if a.predicate_kind == KIND_SLSA_PROVENANCE]
        if not provs:
            for key, _ in checks:
                self.add(
                    f"provenance.{key}",
                    False,
                    "no verified SLSA provenance attestation from an allowed signer",
                )
            return
        for att in provs:
            facts = _provenance_facts(att.predicate)
            for key, match in checks:
                value = facts.get(key)
                if value is None:
                    self.add(
                        f"provenance.{key}",
                        False,
                        f"the provenance does not state a {key}",
                        att.bundle,
                    )
                elif match.test(value):
                    self.add(f"provenance.{key}", True, f"{key} is {value!r}", att.bundle)
                else:
                    self.add(
                        f"provenance.{key}",
                        False,
                        f"{key} {value!r} does not match {match.describe()}",
                        att.bundle,
                    )

    # SBOM ---------------------------------------------------------------------------

    def own_artifact(self) -> Artifact | None:
        """The scanned artifact file, when it was present and is this digest."""
        inv = self.ev.inventory
        if inv is None:
            return None
        return next((a for a in inv.artifacts if a.digests.sha256 == self.ev.sha256), None)

    def sboms(self) -> list[VerifiedAttestation]:
        return [a for a in self.accepted if a.predicate_kind in _SBOM_KINDS]

    def sbom_artifact(self, inv: Inventory) -> Artifact | None:
        return next((a for a in inv.artifacts if a.digests.sha256 == self.ev.sha256), None)

    def sbom(self, rules: _Sbom) -> None:
        sboms = self.sboms()
        if rules.needs_sbom and not sboms:
            for key, on in (
                ("describesArtifact", rules.describes_artifact),
                ("coversBinary", rules.covers_binary),
                ("ntia", rules.ntia),
                ("maxAge", bool(rules.max_age)),
            ):
                if on:
                    self.add(
                        f"sbom.{key}", False, "no verified SBOM attestation from an allowed signer"
                    )
        for att in sboms:
            if att.sbom is None:
                for key, on in (
                    ("describesArtifact", rules.describes_artifact),
                    ("coversBinary", rules.covers_binary),
                ):
                    if on:
                        self.add(f"sbom.{key}", False, "the SBOM could not be read", att.bundle)
            else:
                if rules.describes_artifact:
                    self.describes(att, att.sbom)
                if rules.covers_binary:
                    self.covers(att, att.sbom)
            if rules.ntia:
                self.ntia(att)
            if rules.max_age is not None:
                self.max_age(att, rules.max_age, rules.max_age_text)
        if rules.deny or rules.minimums or rules.licenses is not None:
            self.component_rules(rules, sboms)

    def describes(self, att: VerifiedAttestation, inv: Inventory) -> None:
        found = self.sbom_artifact(inv)
        if found is not None:
            self.add(
                "sbom.describesArtifact",
                True,
                f"describes {found.name} sha256:{self.ev.sha256}",
                att.bundle,
            )
            return
        described = (
            ", ".join(
                f"{a.name} sha256:{a.digests.sha256 or '?'}" for a in inv.artifacts[:_MAX_LISTED]
            )
            or "no artifact"
        )
        self.add(
            "sbom.describesArtifact",
            False,
            f"the SBOM describes {described}, not sha256:{self.ev.sha256}",
            att.bundle,
        )

    def covers(self, att: VerifiedAttestation, inv: Inventory) -> None:
        own = self.own_artifact()
        if own is None:
            self.add(
                "sbom.coversBinary",
                False,
                "needs the artifact file, to compare the SBOM with the binary's own inventory",
                att.bundle,
            )
            return
        described = self.sbom_artifact(inv)
        listed = (
            described.components if described else [c for a in inv.artifacts for c in a.components]
        )
        purls: set[tuple[str, ...]] = set()
        names: set[tuple[str, str]] = set()
        for c in listed:
            purl_key, name_key = _coverage_keys(c)
            if purl_key is not None:
                purls.add(purl_key)
            names.add(name_key)
        missing = []
        for c in own.components:
            purl_key, name_key = _coverage_keys(c)
            if (purl_key is None or purl_key not in purls) and name_key not in names:
                missing.append(_component_label(c))
        if missing:
            self.add(
                "sbom.coversBinary",
                False,
                f"the SBOM omits {len(missing)} component(s) found in the binary: "
                f"{_listing(missing)}",
                att.bundle,
            )
        else:
            self.add(
                "sbom.coversBinary",
                True,
                f"lists all {len(own.components)} component(s) found in the binary",
                att.bundle,
            )

    def ntia(self, att: VerifiedAttestation) -> None:
        from sbomsign.sbom import ntia_problems

        if not att.sbom_document:
            self.add("sbom.ntia", False, "the SBOM document is not available", att.bundle)
            return
        try:
            problems = ntia_problems(att.sbom_document, att.bundle or "<sbom>")
        except Error as e:
            self.add("sbom.ntia", False, e.diagnostics(), att.bundle)
            return
        if problems:
            self.add(
                "sbom.ntia",
                False,
                f"NTIA minimum elements missing: {'; '.join(problems[:_MAX_LISTED])}"
                + ("; ..." if len(problems) > _MAX_LISTED else ""),
                att.bundle,
            )
        else:
            self.add("sbom.ntia", True, "has the NTIA minimum elements", att.bundle)

    def max_age(self, att: VerifiedAttestation, limit: timedelta, limit_text: str) -> None:
        times = []
        stated = _sbom_timestamp(att)
        if stated is not None:
            times.append(stated)
        if att.signer.signed_at is not None:
            times.append(datetime.fromtimestamp(att.signer.signed_at, UTC))
        if not times:
            self.add(
                "sbom.maxAge",
                False,
                "the SBOM states no creation time and the signature no signing time",
                att.bundle,
            )
            return
        # NOTE: an SBOM is at least as old as its signature; the earlier time is the honest
        # one, and a document claiming to be newer than its signature cannot make it younger.
        created = min(times)
        age = self.now - created
        when = created.strftime("%Y-%m-%dT%H:%M:%SZ")
        if age > limit:
            self.add(
                "sbom.maxAge",
                False,
                f"the SBOM is {_age_text(age)} old (from {when}), more than {limit_text}",
                att.bundle,
            )
        else:
            self.add(
                "sbom.maxAge",
                True,
                f"the SBOM is {_age_text(age)} old (from {when}), within {limit_text}",
                att.bundle,
            )

    def component_rules(self, rules: _Sbom, sboms: Sequence[VerifiedAttestation]) -> None:
        sources: list[tuple[str, Sequence[Component]]] = []
        own = self.own_artifact()
        if own is not None:
            sources.append(("the binary", own.components))
        for att in sboms:
            if att.sbom is not None:
                described = self.sbom_artifact(att.sbom)
                listed = (
                    described.components
                    if described
                    else tuple(c for a in att.sbom.artifacts for c in a.components)
                )
                sources.append((att.bundle or "the SBOM", listed))
        keys = [
            k
            for k, on in (
                ("deny", bool(rules.deny)),
                ("minimumVersions", bool(rules.minimums)),
                ("allowedLicenses", rules.licenses is not None),
            )
            if on
        ]
        if not sources:
            for key in keys:
                self.add(
                    f"sbom.{key}",
                    False,
                    "no components to check: no artifact file and no verified SBOM",
                )
            return
        components: dict[str, Component] = {}
        for _, comps in sources:
            for c in comps:
                components.setdefault(c.ref, c)
        where = " and ".join(label for label, _ in sources)
        if rules.deny:
            self.deny(rules.deny, components.values(), where)
        if rules.minimums:
            self.minimums(rules.minimums, components.values(), where)
        if rules.licenses is not None:
            self.licenses(rules.licenses, components.values(), where)

    def deny(self, entries: Sequence[_Deny], components: Iterable[Component], where: str) -> None:
        from sbomsign._internal.versions import VersionError

        hits = []
        for c in components:
            for entry in entries:
                if not entry.selector.matches(c):
                    continue
                version, scheme = _component_version(c)
                note = ""
                if not entry.versions.any:
                    if not version:
                        note = ", version unknown"
                    else:
                        try:
                            if not entry.versions.contains(version, scheme):
                                continue
                        except VersionError:
                            note = f", version {version!r} unreadable"
                why = f": {entry.reason}" if entry.reason else ""
                hits.append(
                    f"{_component_label(c)} (denied {entry.selector.text} "
                    f"{entry.versions.text}{note}{why})"
                )
        if hits:
            self.add("sbom.deny", False, f"denied component(s) in {where}: {_listing(hits)}")
        else:
            self.add("sbom.deny", True, f"no denied component in {where}")

    def minimums(
        self, entries: Sequence[_Minimum], components: Iterable[Component], where: str
    ) -> None:
        from sbomsign._internal.versions import VersionError, compare

        comps = list(components)
        low, ok = [], []
        for entry in entries:
            for c in comps:
                if not entry.selector.matches(c):
                    continue
                version, scheme = _component_version(c)
                try:
                    if compare(version, entry.version, scheme) < 0:
                        low.append(f"{_component_label(c)} < {entry.version}")
                    else:
                        ok.append(f"{_component_label(c)} >= {entry.version}")
                except VersionError:
                    low.append(
                        f"{_component_label(c)} (version {version!r} cannot be "
                        f"compared with {entry.version})"
                    )
        if low:
            self.add(
                "sbom.minimumVersions",
                False,
                f"below the minimum version in {where}: {_listing(low)}",
            )
        elif ok:
            self.add("sbom.minimumVersions", True, _listing(ok))
        else:
            self.add(
                "sbom.minimumVersions",
                True,
                f"no component in {where} is subject to a minimum version",
            )

    def licenses(
        self, allowed: frozenset[str], components: Iterable[Component], where: str
    ) -> None:
        bad = []
        judged = 0
        for c in components:
            verdicts = [_license_allowed(expr, allowed) for expr in c.licenses]
            known = [v for v in verdicts if v is not None]
            if not known:
                continue  # no licence information: not judged
            judged += 1
            if not all(known):
                bad.append(f"{_component_label(c)} ({' AND '.join(c.licenses)})")
        if bad:
            self.add(
                "sbom.allowedLicenses", False, f"licence(s) not allowed in {where}: {_listing(bad)}"
            )
        else:
            self.add(
                "sbom.allowedLicenses",
                True,
                f"{judged} component(s) with a known licence, all allowed",
            )

    # binary -------------------------------------------------------------------------

    def binaries(self) -> tuple[Sequence[Binary], str] | None:
        """The binary facts to judge, and where they come from; None when there are none."""
        own = self.own_artifact()
        if own is not None and own.binaries:
            return own.binaries, ""
        if self.ev.inventory is not None:
            return None
        for att in self.sboms():
            if att.sbom is not None:
                described = self.sbom_artifact(att.sbom)
                if described is not None and described.binaries:
                    return described.binaries, f" (from the attested SBOM {att.bundle})"
        return None

    def binary(self, rules: _Binary) -> None:
        keys = []
        if rules.architectures:
            keys.append("architectures")
        keys.extend(k for k, _ in rules.flags)
        if rules.relro:
            keys.append("relro")
        if rules.go_minimum:
            keys.append("goVersion")
        found = self.binaries()
        if found is None:
            if self.ev.inventory is not None:
                message = "the scanned file is not this artifact (its digest differs)"
            else:
                message = (
                    "binary rules need the artifact file (no verified SBOM describing "
                    "this artifact carries its binary facts)"
                )
            for key in keys:
                self.add(f"binary.{key}", False, message)
            return
        bins, origin = found
        checks: dict[str, Callable[[Binary], tuple[bool, str]]] = {}
        if rules.architectures:
            allowed = rules.architectures
            checks["architectures"] = lambda b: (
                b.arch in allowed,
                f"architecture {b.arch}"
                + ("" if b.arch in allowed else f" is not one of {', '.join(allowed)}"),
            )
        for key, wanted in rules.flags:
            checks[key] = _flag_check(key, wanted)
        if rules.relro:
            checks["relro"] = _relro_check(rules.relro)
        if rules.go_minimum:
            checks["goVersion"] = _go_check(rules.go_minimum)
        for key in keys:
            outcomes = [(b, *checks[key](b)) for b in bins]
            passed = all(ok for _, ok, _ in outcomes)
            shown = [(b, msg) for b, ok, msg in outcomes if ok == passed]

            def label(b: Binary, msg: str) -> str:
                return f"{msg} ({b.arch})" if len(bins) > 1 else msg

            self.add(f"binary.{key}", passed, "; ".join(label(b, m) for b, m in shown) + origin)

    # custom rules -------------------------------------------------------------------

    def custom_rules(self, rules: Sequence[_Rule]) -> None:
        from sbomsign._internal import cel

        inv = self.ev.inventory
        variables = {
            "artifact": {"name": self.ev.name, "sha256": self.ev.sha256},
            "inventory": inv.to_json() if inv is not None else None,
            "attestations": [
                {
                    "bundle": a.bundle,
                    "predicateType": a.predicate_type,
                    "kind": a.predicate_kind,
                    "signer": _signer_json(a.signer),
                    "subjects": [{"name": s.name, "digest": dict(s.digests)} for s in a.subjects],
                    "predicate": a.predicate,
                    "sbom": a.sbom.to_json() if a.sbom is not None else None,
                }
                for a in self.accepted
            ],
            "signatures": [
                {"bundle": s.bundle, "sha256": s.sha256, "signer": _signer_json(s.signer)}
                for s in self.accepted_signatures
            ],
        }
        try:
            bindings = cel.bind(variables, now=self.now)
        except (ValueError, TypeError) as e:
            for rule in rules:
                self.add(f"rules[{rule.name}]", False, f"cannot bind the variables: {e}")
            return
        for rule in rules:
            rid = f"rules[{rule.name}]"
            try:
                ok = rule.program.evaluate(bindings)
            except cel.CelError as e:
                hint = " (no artifact file: `inventory` is null)" if inv is None else ""
                self.add(rid, False, f"evaluation error: {e.message}{hint}")
                continue
            if ok:
                self.add(rid, True, "holds")
            else:
                self.add(rid, False, rule.message or f"does not hold: {rule.program.source}")


def _flag_check(key: str, wanted: bool) -> Callable[[Binary], tuple[bool, str]]:
    words = {
        "pie": ("position-independent", "not position-independent"),
        "nx": ("non-executable stack and data (NX)", "executable stack or data (no NX)"),
        "stackProtector": ("stack protector", "no stack protector"),
        "fortify": ("fortified (_FORTIFY_SOURCE)", "not fortified"),
        "static": ("statically linked", "dynamically linked"),
        "cgo": ("CGO_ENABLED=1", "CGO_ENABLED=0"),
        "stripped": ("stripped", "not stripped"),
    }[key]

    def value(b: Binary) -> bool | None:
        if key == "static":
            return b.linkage.static
        if key == "cgo":
            setting = b.go.setting("CGO_ENABLED") if b.go is not None else None
            return None if setting is None else setting == "1"
        attr = {"stackProtector": "stack_protector"}.get(key, key)
        result: bool | None = getattr(b.hardening, attr)
        return result

    def check(b: Binary) -> tuple[bool, str]:
        got = value(b)
        if got is None:
            if key == "cgo" and b.go is None:
                return False, "not a Go binary (no build info), CGO_ENABLED unknown"
            if key == "cgo":
                return False, "the build info does not record CGO_ENABLED"
            return False, f"{key} is unknown for this {b.format} binary"
        text = words[0] if got else words[1]
        return got == wanted, text + (
            "" if got == wanted else f", wanted {words[0] if wanted else words[1]}"
        )

    return check


def _relro_check(minimum: str) -> Callable[[Binary], tuple[bool, str]]:
    def check(b: Binary) -> tuple[bool, str]:
        got = b.hardening.relro
        if got is None or got not in _RELRO_ORDER:
            return False, f"RELRO is unknown for this {b.format} binary"
        ok = _RELRO_ORDER[got] >= _RELRO_ORDER[minimum]
        return ok, f"RELRO {got}" + ("" if ok else f", wanted at least {minimum}")

    return check


def _go_check(minimum: str) -> Callable[[Binary], tuple[bool, str]]:
    from sbomsign._internal.versions import VersionError, compare

    def check(b: Binary) -> tuple[bool, str]:
        if b.go is None:
            return False, "not a Go binary (no build info)"
        try:
            ok = compare(b.go.go_version, minimum, "go") >= 0
        except VersionError:
            return False, f"Go version {b.go.go_version!r} cannot be compared"
        return ok, f"built with {b.go.go_version}" + ("" if ok else f", wanted >= {minimum}")

    return check
