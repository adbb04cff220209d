"""Loading a policy: YAML (duplicate keys refused), the JSON Schema, and `--key`/identity flags.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from sbomsign.errors import InputError
from sbomsign.policy._compile import _Builder
from sbomsign.policy._describe import _describe
from sbomsign.policy._model import _ANY_TYPE, API_VERSION, Policy

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


#: Bounds on a policy document: its size, how deeply it nests, and how many nodes it has once
#: every alias is expanded ("billion laughs": ten levels of ten aliases are 10^10 nodes).
MAX_POLICY_BYTES = 1 << 20
MAX_POLICY_DEPTH = 64
MAX_POLICY_NODES = 100_000


def _check_shape(text: bytes, source: str) -> None:
    """Refuse a document beyond the bounds before it is composed.

    PyYAML composes and constructs recursively and expands aliases into shared objects that
    the schema check then walks once per reference, so both a deep and an alias-bomb document
    are stopped here, from the parser's events (which need neither recursion nor expansion).
    """
    import yaml

    if len(text) > MAX_POLICY_BYTES:
        raise InputError(
            f"{source}: the policy is {len(text)} bytes; the limit is {MAX_POLICY_BYTES}"
        )
    depth = 0
    sizes: list[int] = [0]  # expanded node counts of the open collections; [0] is the stream
    anchored: dict[str, int] = {}
    anchors: list[str | None] = []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_POLICY_DEPTH:
                raise InputError(
                    f"{source}: the policy nests deeper than {MAX_POLICY_DEPTH} levels"
                )
            sizes.append(1)
            anchors.append(event.anchor)
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            size, anchor = sizes.pop(), anchors.pop()
        elif isinstance(event, yaml.AliasEvent):
            size, anchor = anchored.get(event.anchor or "", 1), None
        elif isinstance(event, yaml.ScalarEvent):
            size, anchor = 1, event.anchor
        else:
            continue
        if anchor:
            anchored[anchor] = size
        sizes[-1] += size
        if sizes[-1] > MAX_POLICY_NODES:
            raise InputError(
                f"{source}: the policy expands to more than {MAX_POLICY_NODES} nodes"
                " (aliases included)"
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
        _check_shape(text, source)
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

        from sbomsign.policy.rules import FAMILIES

        # NOTE: `schema.json` is the document's frame; each rule family ships its own part
        # (`rules/<family>.schema.json`: its keys of `spec` and its definitions), added here
        # in the registry's order.
        doc = json.loads(resources.files("sbomsign.policy").joinpath("schema.json").read_text())
        rules = resources.files("sbomsign.policy.rules")
        for family in FAMILIES:
            part = json.loads(rules.joinpath(f"{family.name}.schema.json").read_text())
            doc["$defs"]["spec"]["properties"].update(part["spec"])
            doc["$defs"].update(part["$defs"])
        _SCHEMA = doc
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
