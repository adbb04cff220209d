"""`sbomsign.policy`: loading and validating policies, and every rule passing and failing.

The evidence is built by hand from real scans of tests/assets/bin plus `Signer` and
`VerifiedAttestation` values: that is the policy's input (the signatures themselves are
verified elsewhere).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from sbomsign import policy, sbom
from sbomsign._internal import keys
from sbomsign.errors import InputError
from sbomsign.models import Artifact, ComponentKind, Inventory
from sbomsign.policy import Policy, RuleResult
from sbomsign.verify import (
    ArtifactEvidence,
    BundleFailure,
    Signer,
    Subject,
    VerifiedAttestation,
    VerifiedSignature,
)

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "tests" / "assets" / "bin"
POLICIES = ROOT / "policies"

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
GITHUB = "https://token.actions.githubusercontent.com"
REPO = "https://github.com/example-org/example-service"
TAG = "refs/tags/v1.4.2"
RELEASE = f"{REPO}/.github/workflows/release.yml@{TAG}"
CDX = "https://cyclonedx.org/bom"
SLSA_V1 = "https://slsa.dev/provenance/v1"


# --- building the evidence --------------------------------------------------------------


@cache
def scanned(name: str) -> Artifact:
    from sbomsign.scan import scan_paths

    inv = scan_paths([str(BIN / name)], jobs=1)
    assert not inv.problems, inv.problems
    return inv.artifacts[0]


def keyless(identity: str = RELEASE, issuer: str = GITHUB, **overrides: str | None) -> Signer:
    """A Fulcio signer as the release workflow of REPO on tag v1.4.2 would be."""
    claims: dict[str, str | None] = {
        "build_signer_uri": identity,
        "build_trigger": "push",
        "runner_environment": "github-hosted",
        "source_repository_ref": TAG,
        "source_repository_uri": REPO,
    }
    claims.update(overrides)
    pairs = tuple(sorted((k, v) for k, v in claims.items() if v is not None))
    signed = int((NOW - timedelta(days=1)).timestamp())
    return Signer(
        "keyless",
        identity=identity,
        issuer=issuer,
        claims=pairs,
        signed_at=signed,
        transparency_log=True,
    )


@cache
def release_key() -> tuple[bytes, str]:
    """A managed key: (PEM public key, key hint)."""
    key = keys.generate()
    return keys.public_key_pem(key.public_key), key.hint


@cache
def other_key() -> tuple[bytes, str]:
    key = keys.generate()
    return keys.public_key_pem(key.public_key), key.hint


def key_signer(which: tuple[bytes, str] | None = None, name: str = "keys/release.pub") -> Signer:
    _, hint = which or release_key()
    return Signer("key", key_hint=hint, key_name=name)


def signature(
    artifact: Artifact, signer: Signer | None = None, bundle: str = ""
) -> VerifiedSignature:
    return VerifiedSignature(
        bundle or f"{artifact.name}.sigstore.json", signer or keyless(), artifact.digests.sha256
    )


def subjects(artifact: Artifact) -> tuple[Subject, ...]:
    return (Subject(artifact.name, (("sha256", artifact.digests.sha256),)),)


def sbom_attestation(
    artifact: Artifact,
    signer: Signer | None = None,
    *,
    fmt: str = "cyclonedx-json",
    described: Artifact | None = None,
    created: datetime | None = None,
    ntia: bool = True,
    bundle: str = "",
) -> VerifiedAttestation:
    """An SBOM attestation about `artifact` whose document describes `described`."""
    doc = sbom.write(
        described or artifact,
        fmt,
        supplier="Example Org" if ntia else None,
        author="Organization: Example Org" if ntia else None,
        timestamp=created or NOW - timedelta(days=2),
    )
    cyclonedx = fmt.startswith("cyclonedx")
    predicate: Any = json.loads(doc) if fmt.endswith("json") else doc.decode()
    return VerifiedAttestation(
        bundle=bundle or f"{artifact.name}.{'cyclonedx' if cyclonedx else 'spdx'}.sigstore.json",
        signer=signer or keyless(),
        statement_type="https://in-toto.io/Statement/v1",
        predicate_type=CDX if cyclonedx else "https://spdx.dev/Document/v2.3",
        predicate_kind="cyclonedx" if cyclonedx else "spdx",
        subjects=subjects(artifact),
        predicate=predicate,
        sbom=sbom.read(doc),
        sbom_document=doc,
    )


def provenance_v1(builder: str = RELEASE, repository: str = REPO, ref: str = TAG) -> dict[str, Any]:
    """The predicate GitHub's actions/attest-build-provenance writes (buildtypes workflow/v1)."""
    return {
        "buildDefinition": {
            "buildType": "https://actions.github.io/buildtypes/workflow/v1",
            "externalParameters": {
                "workflow": {
                    "ref": ref,
                    "repository": repository,
                    "path": ".github/workflows/release.yml",
                },
            },
            "internalParameters": {"github": {"event_name": "push"}},
            "resolvedDependencies": [
                {"uri": f"git+{repository}@{ref}", "digest": {"gitCommit": "a" * 40}}
            ],
        },
        "runDetails": {
            "builder": {"id": builder},
            "metadata": {"invocationId": f"{repository}/actions/runs/1/attempts/1"},
        },
    }


def provenance_v02(
    builder: str = RELEASE, repository: str = REPO, ref: str = TAG
) -> dict[str, Any]:
    return {
        "builder": {"id": builder},
        "buildType": "https://github.com/slsa-framework/slsa-github-generator/go@v1",
        "invocation": {
            "configSource": {
                "uri": f"git+{repository}@{ref}",
                "digest": {"sha1": "a" * 40},
                "entryPoint": ".github/workflows/release.yml",
            },
        },
    }


def attestation(
    artifact: Artifact,
    predicate: Any,
    *,
    predicate_type: str = SLSA_V1,
    kind: str = "slsa-provenance",
    signer: Signer | None = None,
    bundle: str = "",
    digest: str = "",
) -> VerifiedAttestation:
    subject = (Subject(artifact.name, (("sha256", digest or artifact.digests.sha256),)),)
    return VerifiedAttestation(
        bundle=bundle or f"{artifact.name}.{kind}.sigstore.json",
        signer=signer or keyless(),
        statement_type="https://in-toto.io/Statement/v1",
        predicate_type=predicate_type,
        predicate_kind=kind,
        subjects=subject,
        predicate=predicate,
    )


def evidence(
    artifact: Artifact,
    *,
    signatures: tuple[VerifiedSignature, ...] | None = None,
    attestations: tuple[VerifiedAttestation, ...] = (),
    failures: tuple[BundleFailure, ...] = (),
    with_file: bool = True,
) -> ArtifactEvidence:
    return ArtifactEvidence(
        name=artifact.name if with_file else f"sha256:{artifact.digests.sha256}",
        sha256=artifact.digests.sha256,
        inventory=Inventory(artifacts=(artifact,)) if with_file else None,
        signatures=(signature(artifact),) if signatures is None else signatures,
        attestations=attestations,
        failures=failures,
    )


# --- policies built in the tests --------------------------------------------------------


def document(**spec: Any) -> dict[str, Any]:
    """A policy document: a keyless release signer, the artifact signature required, + spec."""
    body: dict[str, Any] = {
        "signers": {
            "release": {
                "keyless": {
                    "issuer": GITHUB,
                    "identityRegexp": r"https://github\.com/example-org/example-service/"
                    r"\.github/workflows/release\.yml@refs/tags/v.+",
                }
            }
        },
        "artifactSignature": {"required": True},
    }
    body.update(spec)
    return {
        "apiVersion": "sbomsign.dev/v1",
        "kind": "Policy",
        "metadata": {"name": "test"},
        "spec": body,
    }


def make(doc: dict[str, Any]) -> Policy:
    return policy.load(yaml.safe_dump(doc, sort_keys=False).encode(), source="test.yaml")


def make_spec(**spec: Any) -> Policy:
    return make(document(**spec))


def shipped(name: str) -> Policy:
    path = POLICIES / f"{name}.yaml"
    return policy.load(path.read_bytes(), source=str(path))


def by_rule(results: list[RuleResult]) -> dict[str, list[RuleResult]]:
    out: dict[str, list[RuleResult]] = {}
    for r in results:
        out.setdefault(r.rule, []).append(r)
    return out


def failed(results: list[RuleResult]) -> dict[str, str]:
    """rule -> message of the failed results (the first one per rule)."""
    out: dict[str, str] = {}
    for r in results:
        if not r.passed:
            out.setdefault(r.rule, r.message)
    return out


def assert_all_pass(results: list[RuleResult]) -> None:
    assert results
    assert failed(results) == {}


def only(results: list[RuleResult], rule: str) -> RuleResult:
    found = [r for r in results if r.rule == rule]
    assert len(found) == 1, (rule, results)
    return found[0]


def run(pol: Policy, ev: ArtifactEvidence) -> list[RuleResult]:
    results = policy.evaluate(pol, ev, now=NOW)
    for r in results:
        assert "\n" not in r.message, r
        assert r.message, r
    return results


# --- the shipped policies ---------------------------------------------------------------


def test_the_schema_is_a_valid_json_schema() -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(policy.schema())


def test_every_object_in_the_schema_refuses_unknown_keys() -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, where
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    walk(policy.schema(), "#")


@pytest.mark.parametrize("name", ["baseline", "release-static-go", "airgapped"])
def test_shipped_policies_load(name: str) -> None:
    pol = shipped(name)
    assert pol.name == name
    assert pol.description
    assert pol.digest == hashlib.sha256((POLICIES / f"{name}.yaml").read_bytes()).hexdigest()


def test_every_shipped_policy_is_documented() -> None:
    readme = (POLICIES / "README.md").read_text()
    for path in POLICIES.glob("*.yaml"):
        assert path.name in readme
    # Every key of the schema appears in the README.
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(policy.schema())
    missing = sorted(n for n in names if f"`{n}`" not in readme)
    assert missing == []


def readme_examples() -> list[str]:
    text = (POLICIES / "README.md").read_text()
    return [block.split("```", 1)[0] for block in text.split("```yaml\n")[1:]]


@pytest.mark.parametrize("block", readme_examples())
def test_readme_examples_are_valid(block: str) -> None:
    fragment = yaml.safe_load(block)
    if "apiVersion" in fragment:
        return  # the skeleton of the top level, with empty sections
    doc = document(
        signers={"release-workflow": {"keyless": KEYLESS}, "release-key": {"key": {"file": "k"}}},
        attestations=[{"type": "*"}],
    )
    doc["spec"].update(fragment)
    make(doc)


def test_baseline_passes_a_signed_artifact_with_its_sbom() -> None:
    go = scanned("go-linux-amd64")
    ci = keyless(f"{REPO}/.github/workflows/ci.yml@refs/heads/main")
    ev = evidence(go, signatures=(signature(go, ci),), attestations=(sbom_attestation(go, ci),))
    results = run(shipped("baseline"), ev)
    assert_all_pass(results)
    assert {r.rule for r in results} == {"signature", "attestation[sbom]", "sbom.describesArtifact"}


def test_baseline_accepts_spdx_and_fails_without_an_sbom() -> None:
    go = scanned("go-linux-amd64")
    ev = evidence(go, attestations=(sbom_attestation(go, fmt="spdx-json"),))
    assert_all_pass(run(shipped("baseline"), ev))
    results = run(shipped("baseline"), evidence(go))
    assert failed(results) == {
        "attestation[sbom]": "no verified sbom attestation from an allowed signer",
        "sbom.describesArtifact": "no verified SBOM attestation from an allowed signer",
    }


def test_baseline_rejects_another_repository() -> None:
    go = scanned("go-linux-amd64")
    other = keyless(
        "https://github.com/mallory/fork/.github/workflows/ci.yml@refs/heads/main",
        source_repository_uri="https://github.com/mallory/fork",
    )
    ev = evidence(
        go, signatures=(signature(go, other),), attestations=(sbom_attestation(go, other),)
    )
    bad = failed(run(shipped("baseline"), ev))
    assert set(bad) == {"signature", "attestation[sbom]", "sbom.describesArtifact"}
    assert "does not match" in bad["signature"]


def release_evidence(artifact: Artifact, **kw: Any) -> ArtifactEvidence:
    atts = (
        sbom_attestation(artifact),
        attestation(artifact, provenance_v1()),
    )
    return evidence(artifact, attestations=kw.pop("attestations", atts), **kw)


def with_go_version(artifact: Artifact, version: str) -> Artifact:
    """The artifact as if built with another toolchain (the assets are built with 1.19)."""
    binaries = tuple(
        dataclasses.replace(b, go=dataclasses.replace(b.go, go_version=version)) if b.go else b
        for b in artifact.binaries
    )
    return dataclasses.replace(artifact, binaries=binaries)


def test_release_static_go_passes_a_release_of_a_recent_toolchain() -> None:
    loong = with_go_version(scanned("go-linux-loong64"), "go1.23.4")
    results = run(shipped("release-static-go"), release_evidence(loong))
    assert_all_pass(results)
    rules = {r.rule for r in results}
    assert {
        "binary.architectures",
        "binary.static",
        "binary.cgo",
        "binary.goVersion",
        "sbom.coversBinary",
        "sbom.ntia",
        "provenance.builderId",
        "rules[pie-needs-full-relro]",
        "rules[clean-checkout]",
    } <= rules


def test_release_static_go_on_the_real_assets() -> None:
    # The fixtures are built with Go 1.19.8: only the toolchain rule fails.
    loong = scanned("go-linux-loong64")
    bad = failed(run(shipped("release-static-go"), release_evidence(loong)))
    assert bad == {"binary.goVersion": "built with go1.19.8, wanted >= 1.22.7"}

    cgo = with_go_version(scanned("go-linux-amd64-cgo"), "go1.23.4")
    bad = failed(run(shipped("release-static-go"), release_evidence(cgo)))
    assert bad["binary.cgo"] == "CGO_ENABLED=1, wanted CGO_ENABLED=0"
    assert bad["binary.static"] == "dynamically linked, wanted statically linked"

    dirty = with_go_version(scanned("go-linux-amd64-vcs-dirty"), "go1.23.4")
    bad = failed(run(shipped("release-static-go"), release_evidence(dirty)))
    assert bad == {
        "rules[clean-checkout]": "built from a checkout with uncommitted changes "
        "(vcs.modified=true)"
    }

    mips = with_go_version(scanned("go-linux-mips"), "go1.23.4")
    bad = failed(run(shipped("release-static-go"), release_evidence(mips)))
    assert bad == {
        "binary.architectures": "architecture mips is not one of x86_64, aarch64, "
        "loongarch64, riscv64, ppc64le, s390x"
    }


def test_release_static_go_rejects_a_branch_build() -> None:
    loong = with_go_version(scanned("go-linux-loong64"), "go1.23.4")
    branch = f"{REPO}/.github/workflows/release.yml@refs/heads/main"
    signer = keyless(branch, source_repository_ref="refs/heads/main")
    ev = release_evidence(
        loong,
        signatures=(signature(loong, signer),),
        attestations=(
            sbom_attestation(loong, signer),
            attestation(loong, provenance_v1(branch, ref="refs/heads/main"), signer=signer),
        ),
    )
    bad = failed(run(shipped("release-static-go"), ev))
    assert {"signature", "attestation[cyclonedx]", "attestation[slsa-provenance]"} <= set(bad)
    # Nothing from that signer is accepted, so the rules that need an attestation fail too.
    assert bad["sbom.coversBinary"] == "no verified SBOM attestation from an allowed signer"
    assert bad["provenance.ref"] == "no verified SLSA provenance attestation from an allowed signer"


def test_airgapped_policy_with_the_managed_key() -> None:
    pem, _ = release_key()
    pol = shipped("airgapped")
    assert pol.key_files() == ["keys/release.pub"]
    assert pol.keys() == ()
    pol = pol.with_keys({"keys/release.pub": pem})
    assert pol.keys() == (("keys/release.pub", pem),)

    c = scanned("c-hello-hardened")
    signer = key_signer()
    ev = evidence(
        c, signatures=(signature(c, signer),), attestations=(sbom_attestation(c, signer),)
    )
    assert_all_pass(run(pol, ev))

    # Another key: nothing is accepted.
    stranger = key_signer(other_key(), name="keys/release.pub")
    ev = evidence(
        c, signatures=(signature(c, stranger),), attestations=(sbom_attestation(c, stranger),)
    )
    bad = failed(run(pol, ev))
    assert "release-key: a different key" in bad["signature"]
    assert "release-key: a different key" in bad["attestation[sbom]"]

    # Any other attestation beside the artifact must come from the key too.
    vsa = attestation(
        c,
        {"verificationResult": "PASSED"},
        kind="vsa",
        predicate_type="https://slsa.dev/verification_summary/v1",
        signer=stranger,
    )
    ev = evidence(
        c, signatures=(signature(c, signer),), attestations=(sbom_attestation(c, signer), vsa)
    )
    bad = failed(run(pol, ev))
    assert list(bad) == ["attestation[*]"]


# --- loading: YAML, schema, and compile-time errors -------------------------------------


def error_of(text: bytes | dict[str, Any]) -> str:
    data = text if isinstance(text, bytes) else yaml.safe_dump(text, sort_keys=False).encode()
    with pytest.raises(InputError) as info:
        policy.load(data, source="p.yaml")
    message = info.value.diagnostics()
    assert "\n" not in message
    assert message.startswith("p.yaml: ")
    assert info.value.exit_code == 2
    return message.removeprefix("p.yaml: ")


def full_document() -> dict[str, Any]:
    """A document using every section, for the unknown-key tests."""
    return document(
        signers={
            "release": {
                "keyless": {
                    "issuer": GITHUB,
                    "identity": RELEASE,
                    "claims": {"source_repository_ref": {"regexp": "refs/.*"}},
                }
            },
            "offline": {"key": {"file": "keys/release.pub"}},
        },
        attestations=[{"type": "cyclonedx", "signers": ["release"]}, {"type": "slsa-provenance"}],
        provenance={"builderId": RELEASE},
        sbom={
            "describesArtifact": True,
            "deny": [{"purl": "pkg:golang/x/y", "versions": "<1"}],
            "minimumVersions": [{"purl": "pkg:golang/stdlib", "version": "1.22.5"}],
        },
        binary={"pie": True, "goVersion": {"minimum": "1.22"}},
        rules=[{"name": "r", "expression": "true", "message": "m"}],
    )


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ((), "$.bogus"),
        (("metadata",), "$.metadata.bogus"),
        (("spec",), "$.spec.bogus"),
        (("spec", "signers", "release"), "$.spec.signers.release.bogus"),
        (("spec", "signers", "release", "keyless"), "$.spec.signers.release.keyless.bogus"),
        (
            ("spec", "signers", "release", "keyless", "claims", "source_repository_ref"),
            "$.spec.signers.release.keyless.claims.source_repository_ref.bogus",
        ),
        (("spec", "signers", "offline", "key"), "$.spec.signers.offline.key.bogus"),
        (("spec", "artifactSignature"), "$.spec.artifactSignature.bogus"),
        (("spec", "attestations", 0), "$.spec.attestations[0].bogus"),
        (("spec", "provenance"), "$.spec.provenance.bogus"),
        (("spec", "sbom"), "$.spec.sbom.bogus"),
        (("spec", "sbom", "deny", 0), "$.spec.sbom.deny[0].bogus"),
        (("spec", "sbom", "minimumVersions", 0), "$.spec.sbom.minimumVersions[0].bogus"),
        (("spec", "binary"), "$.spec.binary.bogus"),
        (("spec", "binary", "goVersion"), "$.spec.binary.goVersion.bogus"),
        (("spec", "rules", 0), "$.spec.rules[0].bogus"),
    ],
)
def test_unknown_keys_are_errors_with_their_path(where: tuple[Any, ...], expected: str) -> None:
    doc = full_document()
    make(copy.deepcopy(doc))  # the document itself is valid
    node: Any = doc
    for step in where:
        node = node[step]
    node["bogus"] = True
    assert error_of(doc).startswith(f"{expected}: unknown key")


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        (
            ("spec", "artifactSignatures"),
            "$.spec.artifactSignatures: unknown key (did you mean 'artifactSignature'?)",
        ),
        (("spec", "sbom", "maxage"), "$.spec.sbom.maxage: unknown key (did you mean 'maxAge'?)"),
        (("spec", "binary", "stackprotector"), "did you mean 'stackProtector'?"),
    ],
)
def test_typos_get_a_suggestion(typo: tuple[str, ...], suggestion: str) -> None:
    doc = full_document()
    node: Any = doc
    for step in typo[:-1]:
        node = node[step]
    node[typo[-1]] = True
    assert suggestion in error_of(doc)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"apiVersion": "sbomsign.dev/v2"},
            "$.apiVersion: unsupported apiVersion 'sbomsign.dev/v2' (this sbomsign reads "
            "sbomsign.dev/v1)",
        ),
        ({"kind": "ClusterPolicy"}, "$.kind: must be 'Policy', not 'ClusterPolicy'"),
        ({"metadata": {}}, "$.metadata: missing required key 'name'"),
        (
            {"metadata": {"name": "has space"}},
            "$.metadata.name: 'has space' is not a valid policy name",
        ),
        ({"spec": []}, "$.spec: must be a mapping"),
    ],
)
def test_top_level_errors(change: dict[str, Any], expected: str) -> None:
    doc = document()
    doc.update(change)
    assert error_of(doc).startswith(expected)


def spec_error(**spec: Any) -> str:
    return error_of(document(**spec))


KEYLESS = {"issuer": GITHUB, "identity": RELEASE}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"signers": {"a": {"keyless": {"issuer": GITHUB}}}},
            "$.spec.signers.a.keyless: give one of identity, identityRegexp",
        ),
        (
            {"signers": {"a": {"keyless": {**KEYLESS, "identityRegexp": ".*"}}}},
            "$.spec.signers.a.keyless: give only one of identity, identityRegexp",
        ),
        (
            {"signers": {"a": {"keyless": {"identity": RELEASE}}}},
            "$.spec.signers.a.keyless: give one of issuer, issuerRegexp",
        ),
        ({"signers": {"a": {}}}, "$.spec.signers.a: give one of keyless, key"),
        (
            {"signers": {"a": {"keyless": KEYLESS, "key": {"file": "k.pub"}}}},
            "$.spec.signers.a: give only one of keyless, key",
        ),
        (
            {"signers": {"a": {"key": {"file": "k.pub", "pem": "x"}}}},
            "$.spec.signers.a.key: give only one of file, pem",
        ),
        (
            {"signers": {"a b": {"keyless": KEYLESS}}},
            "$.spec.signers[\"a b\"]: 'a b' is not a valid name",
        ),
        (
            {"signers": {"a": {"keyless": {**KEYLESS, "claims": {"source_repo": "x"}}}}},
            "$.spec.signers.a.keyless.claims.source_repo: unknown name 'source_repo' (expected "
            "one of issuer, issuer_v1, github_workflow_trigger",
        ),
        (
            {"signers": {"a": {"keyless": {**KEYLESS, "claims": {"1.3.6.1.4.1.57264.2.1": "x"}}}}},
            '$.spec.signers.a.keyless.claims["1.3.6.1.4.1.57264.2.1"]: unknown name',
        ),
        (
            {"signers": {"a": {"keyless": {**KEYLESS, "claims": {"build_trigger": 5}}}}},
            "$.spec.signers.a.keyless.claims.build_trigger: 5 is not a string, or {regexp: ...}",
        ),
        (
            {
                "signers": {
                    "a": {"keyless": {**KEYLESS, "claims": {"build_trigger": {"regex": "x"}}}}
                }
            },
            "$.spec.signers.a.keyless.claims.build_trigger.regex: unknown key (did you mean "
            "'regexp'?)",
        ),
        (
            {"attestations": [{"type": "cyclondx"}]},
            "$.spec.attestations[0].type: 'cyclondx' is not sbom, cyclonedx, spdx, "
            "slsa-provenance, vsa, * or a predicate-type URI",
        ),
        (
            {"attestations": [{"required": True}]},
            "$.spec.attestations[0]: missing required key 'type'",
        ),
        (
            {"artifactSignature": {"required": "yes"}},
            "$.spec.artifactSignature.required: must be true or false, not 'yes'",
        ),
        (
            {"artifactSignature": {"signers": []}},
            "$.spec.artifactSignature.signers: needs at least 1 item(s)",
        ),
        ({"provenance": {}}, "$.spec.provenance: must not be empty"),
        (
            {"provenance": {"ref": TAG, "refRegexp": "refs/.*"}},
            "$.spec.provenance: give only one of ref, refRegexp",
        ),
        ({"sbom": {"maxAge": "30days"}}, "$.spec.sbom.maxAge: '30days' is not a valid duration"),
        ({"sbom": {"deny": [{"versions": "<1"}]}}, "$.spec.sbom.deny[0]: give one of purl, name"),
        (
            {"sbom": {"deny": [{"purl": "pkg:golang/x/y@v1.0.0"}]}},
            "$.spec.sbom.deny[0].purl: 'pkg:golang/x/y@v1.0.0' is not a valid purl without version",
        ),
        (
            {"sbom": {"minimumVersions": [{"purl": "pkg:golang/stdlib"}]}},
            "$.spec.sbom.minimumVersions[0]: missing required key 'version'",
        ),
        (
            {"binary": {"architectures": ["amd64", "loongarch"]}},
            "$.spec.binary.architectures[1]: 'loongarch' is not one of x86_64",
        ),
        (
            {"binary": {"relro": "fully"}},
            "$.spec.binary.relro: 'fully' is not one of none, partial, full",
        ),
        (
            {"binary": {"goVersion": {"minimum": 1.22}}},
            "$.spec.binary.goVersion.minimum: must be a string, not 1.22 (quote it: YAML read it "
            "as a number or boolean)",
        ),
        ({"rules": [{"name": "r"}]}, "$.spec.rules[0]: missing required key 'expression'"),
    ],
)
def test_schema_errors(spec: dict[str, Any], expected: str) -> None:
    assert spec_error(**spec).startswith(expected)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"signers": {"a": {"keyless": {"issuer": GITHUB, "identityRegexp": "(unclosed"}}}},
            "$.spec.signers.a.keyless.identityRegexp: bad regular expression",
        ),
        (
            {
                "signers": {
                    "a": {"keyless": {**KEYLESS, "claims": {"build_trigger": {"regexp": "["}}}}
                }
            },
            "$.spec.signers.a.keyless.claims.build_trigger.regexp: bad regular expression",
        ),
        (
            {"signers": {"a": {"key": {"pem": "not a key"}}}},
            "$.spec.signers.a.key.pem: not a PEM public key",
        ),
        (
            {"artifactSignature": {"signers": ["relase"]}},
            "$.spec.artifactSignature.signers[0]: no signer 'relase' in spec.signers (did you mean "
            "'release'?)",
        ),
        (
            {"attestations": [{"type": "sbom"}, {"type": "sbom"}]},
            "$.spec.attestations[1].type: type 'sbom' is listed twice",
        ),
        (
            {
                "artifactSignature": {"required": False},
                "attestations": [{"type": "sbom", "required": False}],
            },
            "$.spec: the policy requires no artifact signature and no attestation",
        ),
        ({"signers": {}}, "$.spec.artifactSignature: no signers: define spec.signers"),
        (
            {"provenance": {"builderId": "x"}},
            "$.spec.provenance: needs a slsa-provenance entry in spec.attestations",
        ),
        (
            {"attestations": [{"type": "vsa"}], "sbom": {"ntia": True}},
            "$.spec.sbom: needs a cyclonedx or spdx entry in spec.attestations",
        ),
        ({"sbom": {"deny": [{"purl": "golang/x"}]}}, "$.spec.sbom.deny[0].purl: 'golang/x' is not"),
        (
            {"sbom": {"deny": [{"purl": "pkg:golang/x/y", "versions": "<1.0,"}]}},
            "$.spec.sbom.deny[0].versions: range '<1.0,' has an empty constraint",
        ),
        (
            {"sbom": {"deny": [{"purl": "pkg:golang/x/y", "versions": "<latest"}]}},
            "$.spec.sbom.deny[0].versions: 'latest' is not a semantic version",
        ),
        (
            {"sbom": {"minimumVersions": [{"purl": "pkg:golang/stdlib", "version": "1.22.x"}]}},
            "$.spec.sbom.minimumVersions[0].version: '1.22.x' is not a Go toolchain version",
        ),
        (
            {"binary": {"goVersion": {"minimum": "devel"}}},
            "$.spec.binary.goVersion.minimum: 'devel' is not a Go toolchain version",
        ),
        (
            {"rules": [{"name": "r", "expression": "1 +"}]},
            "$.spec.rules[0].expression: CEL syntax error at line 1 column 3",
        ),
        (
            {"rules": [{"name": "r", "expression": "true"}, {"name": "r", "expression": "true"}]},
            "$.spec.rules[1].name: rule name 'r' is used twice",
        ),
    ],
)
def test_compile_time_errors(spec: dict[str, Any], expected: str) -> None:
    assert spec_error(**spec).startswith(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            b"apiVersion: sbomsign.dev/v1\nkind: Policy\nkind: Policy\n",
            "line 3 column 1: duplicate key 'kind'",
        ),
        (
            b"apiVersion: sbomsign.dev/v1\nspec: {signers: {a: 1, a: 2}}\n",
            "line 2 column 24: duplicate key 'a'",
        ),
        (b"apiVersion: [\n", "line 2 column 1:"),
        (b"- a\n- b\n", "a policy is a YAML mapping"),
        (b"", "a policy is a YAML mapping"),
        (b"? [a]\n: b\n", "line 1 column 3: key ['a'] is not a string"),
        (b"!!python/object:os.system {}\n", "line 1 column 1:"),
        (b"kind: Policy\n", "$.apiVersion: unsupported apiVersion None"),
        (b"a: 1\n---\nb: 2\n", "line 2 column 1: expected a single document"),
    ],
)
def test_yaml_errors(text: bytes, expected: str) -> None:
    assert error_of(text).startswith(expected)


def test_yaml_anchors_and_merge_keys() -> None:
    text = f"""
apiVersion: sbomsign.dev/v1
kind: Policy
metadata: {{name: anchors}}
spec:
  signers:
    release:
      keyless: &release
        issuer: {GITHUB}
        identity: {RELEASE}
    other:
      keyless:
        <<: *release
        identity: someone@example.com
  artifactSignature: {{signers: [release, other]}}
""".encode()
    pol = policy.load(text)
    go = scanned("go-linux-amd64")
    email = keyless("someone@example.com")
    assert_all_pass(run(pol, evidence(go, signatures=(signature(go, email),))))


def test_digest_is_of_the_exact_bytes() -> None:
    text = (POLICIES / "baseline.yaml").read_bytes()
    a = policy.load(text)
    b = policy.load(text + b"\n# a comment changes the digest\n")
    assert a.digest == hashlib.sha256(text).hexdigest()
    assert a.digest != b.digest
    assert a.source == "<policy>"


def test_key_files_and_with_keys() -> None:
    pem, hint = release_key()
    pol = make_spec(
        signers={
            "a": {"key": {"file": "keys/a.pub"}},
            "b": {"key": {"file": "keys/a.pub"}},
            "c": {"key": {"pem": pem.decode()}},
        }
    )
    assert pol.key_files() == ["keys/a.pub"]
    assert pol.keys() == (("signers.c", pem),)
    loaded = pol.with_keys({"keys/a.pub": pem.decode()})
    assert loaded.keys() == (("keys/a.pub", pem), ("signers.c", pem))
    assert loaded.digest == pol.digest
    with pytest.raises(InputError, match="the policy names no key file 'other.pub'"):
        pol.with_keys({"other.pub": pem})
    with pytest.raises(InputError, match="test.yaml: key file keys/a.pub: not a PEM public key"):
        pol.with_keys({"keys/a.pub": b"garbage"})
    with pytest.raises(InputError, match="is a private key"):
        pol.with_keys(
            {"keys/a.pub": b"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"}
        )
    # Key signers match by key id once the PEM is known.
    c = scanned("c-hello-plain")
    ok = evidence(c, signatures=(signature(c, Signer("key", key_hint=hint, key_name="any")),))
    assert_all_pass(run(loaded, ok))


# --- from_flags ---------------------------------------------------------------------------


def test_from_flags_keyless_identity() -> None:
    pol = policy.from_flags(identity=RELEASE, issuer=GITHUB)
    assert pol.source == "<command line>"
    assert pol.key_files() == []
    go = scanned("go-linux-amd64")
    ev = evidence(go, attestations=(sbom_attestation(go),))
    results = run(pol, ev)
    assert_all_pass(results)
    assert {r.rule for r in results} == {"signature", "attestation[*]"}

    other = keyless(f"{REPO}/.github/workflows/ci.yml@refs/heads/main")
    ev = evidence(go, attestations=(sbom_attestation(go, other),))
    assert "identity" in failed(run(pol, ev))["attestation[*]"]
    ev = evidence(go, signatures=(signature(go, keyless(issuer="https://accounts.google.com")),))
    assert "issuer 'https://accounts.google.com' is not" in failed(run(pol, ev))["signature"]


def test_from_flags_identity_regexp_and_required_attestations() -> None:
    pol = policy.from_flags(
        identity_regexp=r"https://github\.com/example-org/.*",
        issuer=GITHUB,
        require_attestations=["cyclonedx", "slsa-provenance"],
    )
    go = scanned("go-linux-amd64")
    bad = failed(run(pol, evidence(go, attestations=(sbom_attestation(go),))))
    assert bad == {
        "attestation[slsa-provenance]": "no verified slsa-provenance attestation from an "
        "allowed signer"
    }
    ev = evidence(go, attestations=(sbom_attestation(go), attestation(go, provenance_v1())))
    assert_all_pass(run(pol, ev))


def test_from_flags_requiring_any_attestation() -> None:
    pol = policy.from_flags(keys=["release.pub"], require_attestations=["*", "*"])
    c = scanned("c-hello-plain")
    signer = key_signer(name="release.pub")
    bad = failed(run(pol, evidence(c, signatures=(signature(c, signer),))))
    assert bad == {"attestation[*]": "no verified attestation from an allowed signer"}
    ev = evidence(
        c, signatures=(signature(c, signer),), attestations=(sbom_attestation(c, signer),)
    )
    assert_all_pass(run(pol, ev))


def test_from_flags_keys_match_by_the_name_given_to_the_verifier() -> None:
    pol = policy.from_flags(keys=["release.pub", "backup.pub"])
    assert pol.key_files() == [] and pol.keys() == ()
    c = scanned("c-hello-plain")
    ok = evidence(c, signatures=(signature(c, key_signer(name="backup.pub")),))
    assert_all_pass(run(pol, ok))
    bad = evidence(c, signatures=(signature(c, key_signer(name="elsewhere.pub")),))
    assert "key: a different key; key-2: a different key" in failed(run(pol, bad))["signature"]
    keyless_sig = evidence(c, signatures=(signature(c, keyless()),))
    assert "not a key signer" in failed(run(pol, keyless_sig))["signature"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "nothing to verify against"),
        ({"identity": RELEASE}, "--certificate-identity needs --certificate-oidc-issuer"),
        ({"identity_regexp": ".*"}, "--certificate-identity needs --certificate-oidc-issuer"),
        ({"issuer": GITHUB}, "--certificate-oidc-issuer needs --certificate-identity"),
        ({"identity": RELEASE, "identity_regexp": ".*", "issuer": GITHUB}, "not both"),
        ({"identity_regexp": "(", "issuer": GITHUB}, "--certificate-identity-regexp: bad regular"),
        ({"keys": ["k.pub"], "require_attestations": ["cyclondx"]}, "$.spec.attestations[0].type"),
    ],
)
def test_from_flags_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as info:
        policy.from_flags(**kwargs)
    assert message in info.value.diagnostics()


# --- signatures, attestations, bundles ----------------------------------------------------


def keyless_policy(**claims: Any) -> Policy:
    return make_spec(
        signers={"release": {"keyless": {"issuer": GITHUB, "identity": RELEASE, "claims": claims}}}
    )


def test_signature_claims() -> None:
    pol = keyless_policy(
        source_repository_uri=REPO, source_repository_ref={"regexp": r"refs/tags/v[0-9.]+"}
    )
    go = scanned("go-linux-amd64")
    ok = only(run(pol, evidence(go)), "signature")
    assert ok.passed and ok.bundle == "go-linux-amd64.sigstore.json"
    assert ok.message == f"signed by {RELEASE} (issuer {GITHUB}) (signer release)"

    for signer, why in [
        (
            keyless(source_repository_ref="refs/heads/main"),
            "claim source_repository_ref 'refs/heads/main' does not match /refs/tags/v[0-9.]+/",
        ),
        (
            keyless(source_repository_uri="https://github.com/mallory/fork"),
            "claim source_repository_uri 'https://github.com/mallory/fork' does not match "
            f"'{REPO}'",
        ),
        (keyless(source_repository_uri=None), "the certificate has no source_repository_uri claim"),
        (keyless(RELEASE + "x"), "does not match"),
        (keyless(issuer="https://gitlab.com"), "issuer 'https://gitlab.com' is not"),
    ]:
        results = run(pol, evidence(go, signatures=(signature(go, signer),)))
        bad = [r for r in results if not r.passed]
        assert [r.rule for r in bad] == ["signature", "signature"]
        assert why in bad[0].message
        assert bad[1].message == "no verified artifact signature from an allowed signer"


def test_claims_by_name_and_by_dotted_oid() -> None:
    pol = keyless_policy(
        token_subject="repo:example-org/example-service:ref:" + TAG,
        **{"1.3.6.1.4.1.57264.1.99": {"regexp": "future-.*"}},
    )
    go = scanned("go-linux-amd64")
    signer = keyless(
        token_subject="repo:example-org/example-service:ref:" + TAG,
        **{"1.3.6.1.4.1.57264.1.99": "future-value"},
    )
    assert_all_pass(run(pol, evidence(go, signatures=(signature(go, signer),))))
    bad = failed(run(pol, evidence(go)))
    assert "release: the certificate has no token_subject claim" in bad["signature"]
    partial = keyless(token_subject="repo:example-org/example-service:ref:" + TAG)
    bad = failed(run(pol, evidence(go, signatures=(signature(go, partial),))))
    assert "the certificate has no 1.3.6.1.4.1.57264.1.99 claim" in bad["signature"]


def test_regexps_match_the_whole_value() -> None:
    pol = make_spec(
        signers={
            "r": {
                "keyless": {
                    "issuer": GITHUB,
                    "identityRegexp": r"https://github\.com/example-org/.*",
                }
            }
        }
    )
    go = scanned("go-linux-amd64")
    evil = keyless("https://evil.example/?https://github.com/example-org/x")
    assert failed(run(pol, evidence(go, signatures=(signature(go, evil),))))


def test_every_signature_must_be_from_an_allowed_signer() -> None:
    go = scanned("go-linux-amd64")
    stranger = signature(
        go,
        keyless("mallory@example.com", "https://accounts.google.com"),
        bundle="extra.sigstore.json",
    )
    results = run(make_spec(), evidence(go, signatures=(signature(go), stranger)))
    sig = by_rule(results)["signature"]
    assert [r.passed for r in sig] == [True, False]
    assert sig[1].bundle == "extra.sigstore.json"


def test_signature_over_another_digest_fails() -> None:
    go = scanned("go-linux-amd64")
    other = dataclasses.replace(signature(go), sha256="0" * 64)
    results = run(make_spec(), evidence(go, signatures=(other,)))
    assert [(r.passed, r.message) for r in results] == [
        (False, f"the signature covers sha256:{'0' * 64}, not this artifact"),
        (False, "no verified artifact signature from an allowed signer"),
    ]


def test_bundle_failures_fail_and_are_named_when_something_is_missing() -> None:
    go = scanned("go-linux-amd64")
    failure = BundleFailure("go-linux-amd64.sigstore.json", "signature does not verify")
    results = run(make_spec(), evidence(go, signatures=(), failures=(failure,)))
    assert results[0] == RuleResult(
        "bundle",
        False,
        "could not be verified: signature does not verify",
        "go-linux-amd64.sigstore.json",
    )
    assert failed(results)["signature"] == (
        "no verified artifact signature from an allowed signer (1 bundle(s) failed "
        "verification: go-linux-amd64.sigstore.json)"
    )


def test_optional_items_that_are_absent_give_no_result() -> None:
    pol = make_spec(
        artifactSignature={"required": False}, attestations=[{"type": "slsa-provenance"}]
    )
    go = scanned("go-linux-amd64")
    results = run(
        pol, evidence(go, signatures=(), attestations=(attestation(go, provenance_v1()),))
    )
    assert [r.rule for r in results] == ["attestation[slsa-provenance]"]


def test_attestation_types_by_uri_and_unknown_types() -> None:
    custom = "https://example.com/attestations/test-results/v1"
    pol = make_spec(attestations=[{"type": custom}, {"type": CDX + "/v1.5"}])
    go = scanned("go-linux-amd64")
    results = run(pol, evidence(go))
    # A required predicate type nobody attested is a failure with the reason.
    assert failed(results) == {
        f"attestation[{custom}]": f"no verified {custom} attestation from an allowed signer",
        f"attestation[{CDX}/v1.5]": f"no verified {CDX}/v1.5 attestation from an allowed signer",
    }
    tests = attestation(go, {"passed": 12}, predicate_type=custom, kind="other")
    cdx15 = dataclasses.replace(sbom_attestation(go), predicate_type=CDX + "/v1.5/")
    assert_all_pass(run(pol, evidence(go, attestations=(tests, cdx15))))


def test_unlisted_attestations_are_ignored_and_invisible_to_rules() -> None:
    pol = make_spec(
        attestations=[{"type": "cyclonedx"}],
        rules=[
            {"name": "no-vsa", "expression": "!attestations.exists(a, a.kind == 'vsa')"},
            {"name": "one", "expression": "size(attestations) == 1"},
        ],
    )
    go = scanned("go-linux-amd64")
    vsa = attestation(
        go,
        {},
        kind="vsa",
        predicate_type="https://slsa.dev/verification_summary/v1",
        signer=keyless("mallory@example.com", "https://accounts.google.com"),
    )
    results = run(pol, evidence(go, attestations=(sbom_attestation(go), vsa)))
    assert_all_pass(results)
    assert all(r.bundle != vsa.bundle for r in results)


def test_attestation_about_another_artifact_fails() -> None:
    go = scanned("go-linux-amd64")
    att = attestation(go, provenance_v1(), digest="f" * 64)
    pol = make_spec(attestations=[{"type": "slsa-provenance"}])
    bad = [r for r in run(pol, evidence(go, attestations=(att,))) if not r.passed]
    assert [r.message for r in bad] == [
        "no subject of the statement is this artifact",
        "no verified slsa-provenance attestation from an allowed signer",
    ]


def test_per_type_signers() -> None:
    pem, _ = release_key()
    pol = make_spec(
        signers={
            "release": {"keyless": {"issuer": GITHUB, "identity": RELEASE}},
            "sbom-key": {"key": {"pem": pem.decode()}},
        },
        artifactSignature={"signers": ["release"]},
        attestations=[{"type": "cyclonedx", "signers": ["sbom-key"]}],
    )
    go = scanned("go-linux-amd64")
    assert_all_pass(run(pol, evidence(go, attestations=(sbom_attestation(go, key_signer()),))))
    bad = failed(run(pol, evidence(go, attestations=(sbom_attestation(go),))))
    assert "sbom-key: not a key signer" in bad["attestation[cyclonedx]"]
    # The artifact signature may not come from the SBOM key.
    bad = failed(run(pol, evidence(go, signatures=(signature(go, key_signer()),))))
    assert "release: not a keyless signer" in bad["signature"]


# --- provenance ---------------------------------------------------------------------------


def provenance_policy(**constraints: Any) -> Policy:
    return make_spec(attestations=[{"type": "slsa-provenance"}], provenance=constraints)


@pytest.mark.parametrize("predicate", [provenance_v1(), provenance_v02()])
def test_provenance_passes_for_v1_and_v02(predicate: dict[str, Any]) -> None:
    go = scanned("go-linux-amd64")
    pol = provenance_policy(
        builderId=RELEASE,
        sourceRepository=REPO + ".git/",
        refRegexp=r"refs/tags/v[0-9]+\.[0-9]+\.[0-9]+",
    )
    results = run(pol, evidence(go, attestations=(attestation(go, predicate),)))
    assert_all_pass(results)
    assert only(results, "provenance.sourceRepository").message == f"sourceRepository is '{REPO}'"


def test_provenance_source_form_of_other_builders() -> None:
    go = scanned("go-linux-amd64")
    predicate = {
        "buildDefinition": {"externalParameters": {"source": {"uri": f"git+{REPO}.git@{TAG}"}}},
        "runDetails": {"builder": {"id": "https://builder.example/v1"}},
    }
    pol = provenance_policy(
        builderIdRegexp=r"https://builder\.example/.*", sourceRepository=REPO, ref=TAG
    )
    assert_all_pass(run(pol, evidence(go, attestations=(attestation(go, predicate),))))


def test_provenance_failures() -> None:
    go = scanned("go-linux-amd64")
    pol = provenance_policy(builderId=RELEASE, sourceRepository=REPO, ref=TAG)
    wrong = provenance_v1(
        "https://github.com/mallory/x/.github/workflows/b.yml@refs/heads/x",
        "https://github.com/mallory/x",
        "refs/heads/x",
    )
    bad = failed(run(pol, evidence(go, attestations=(attestation(go, wrong),))))
    assert bad == {
        "provenance.builderId": "builderId 'https://github.com/mallory/x/.github/workflows/b.yml"
        f"@refs/heads/x' does not match '{RELEASE}'",
        "provenance.sourceRepository": "sourceRepository 'https://github.com/mallory/x' does not "
        f"match '{REPO}'",
        "provenance.ref": f"ref 'refs/heads/x' does not match '{TAG}'",
    }
    empty = attestation(go, {"runDetails": {}})
    bad = failed(run(pol, evidence(go, attestations=(empty,))))
    assert bad["provenance.ref"] == "the provenance does not state a ref"
    bad = failed(run(pol, evidence(go)))
    assert bad["provenance.builderId"] == (
        "no verified SLSA provenance attestation from an allowed signer"
    )


# --- SBOM rules -----------------------------------------------------------------------------


def sbom_policy(**rules: Any) -> Policy:
    return make_spec(attestations=[{"type": "sbom"}], sbom=rules)


def test_describes_artifact() -> None:
    go = scanned("go-linux-amd64")
    pol = sbom_policy(describesArtifact=True)
    assert_all_pass(run(pol, evidence(go, attestations=(sbom_attestation(go),))))
    # A genuine SBOM of another build, attested for this artifact.
    replay = sbom_attestation(go, described=scanned("go-linux-arm64"))
    bad = failed(run(pol, evidence(go, attestations=(replay,))))
    assert bad["sbom.describesArtifact"].startswith(
        f"the SBOM describes go-linux-arm64 sha256:{scanned('go-linux-arm64').digests.sha256}, "
        f"not sha256:{go.digests.sha256}"
    )


@pytest.mark.parametrize("fmt", ["cyclonedx-json", "spdx-json", "cyclonedx-xml", "spdx-tv"])
def test_covers_binary_passes_for_every_format(fmt: str) -> None:
    go = scanned("go-linux-loong64")
    results = run(
        sbom_policy(coversBinary=True), evidence(go, attestations=(sbom_attestation(go, fmt=fmt),))
    )
    assert only(results, "sbom.coversBinary").message == (
        f"lists all {len(go.components)} component(s) found in the binary"
    )


def test_covers_binary_fails_when_the_sbom_omits_a_component() -> None:
    go = scanned("go-linux-loong64")
    stdlib = next(c for c in go.components if c.kind is ComponentKind.GO_STDLIB)
    module = next(c for c in go.components if c.name == "example.com/lib/strutil")
    trimmed = dataclasses.replace(
        go, components=tuple(c for c in go.components if c not in (stdlib, module))
    )
    att = sbom_attestation(go, described=trimmed)
    bad = failed(run(sbom_policy(coversBinary=True), evidence(go, attestations=(att,))))
    assert bad == {
        "sbom.coversBinary": "the SBOM omits 2 component(s) found in the binary: "
        "pkg:golang/example.com/lib/strutil@v1.2.0, "
        "pkg:golang/stdlib@1.19.8"
    }
    # Shared libraries have no purl: matched by name (and version).
    c = scanned("c-hello-hardened")
    no_libc = dataclasses.replace(
        c, components=tuple(x for x in c.components if x.name != "libc.so.6")
    )
    bad = failed(
        run(
            sbom_policy(coversBinary=True),
            evidence(c, attestations=(sbom_attestation(c, described=no_libc),)),
        )
    )
    assert bad["sbom.coversBinary"].endswith(": libc.so.6")


def test_covers_binary_needs_the_file() -> None:
    go = scanned("go-linux-loong64")
    bad = failed(
        run(
            sbom_policy(coversBinary=True),
            evidence(go, attestations=(sbom_attestation(go),), with_file=False),
        )
    )
    assert bad["sbom.coversBinary"].startswith("needs the artifact file")


def test_ntia() -> None:
    go = scanned("go-linux-amd64")
    pol = sbom_policy(ntia=True)
    assert_all_pass(run(pol, evidence(go, attestations=(sbom_attestation(go),))))
    bad = failed(run(pol, evidence(go, attestations=(sbom_attestation(go, ntia=False),))))
    assert bad["sbom.ntia"].startswith("NTIA minimum elements missing: no author of the SBOM")
    broken = dataclasses.replace(sbom_attestation(go), sbom_document=b"{not json")
    assert "malformed JSON" in failed(run(pol, evidence(go, attestations=(broken,))))["sbom.ntia"]


@pytest.mark.parametrize("fmt", ["cyclonedx-json", "spdx-json", "cyclonedx-xml", "spdx-tv"])
def test_max_age_reads_the_document_time(fmt: str) -> None:
    go = scanned("go-linux-amd64")
    pol = sbom_policy(maxAge="30d")
    recent = sbom_attestation(
        go,
        fmt=fmt,
        created=NOW - timedelta(days=2),
        signer=dataclasses.replace(keyless(), signed_at=None),
    )
    assert only(run(pol, evidence(go, attestations=(recent,))), "sbom.maxAge").message == (
        "the SBOM is 2d0h old (from 2025-05-30T12:00:00Z), within 30d"
    )
    old = sbom_attestation(
        go,
        fmt=fmt,
        created=NOW - timedelta(days=45),
        signer=dataclasses.replace(keyless(), signed_at=None),
    )
    assert failed(run(pol, evidence(go, attestations=(old,))))["sbom.maxAge"] == (
        "the SBOM is 45d0h old (from 2025-04-17T12:00:00Z), more than 30d"
    )


def test_max_age_uses_the_earlier_of_document_and_signing_time() -> None:
    go = scanned("go-linux-amd64")
    pol = sbom_policy(maxAge="720h")
    # A fresh-looking document signed long ago is as old as its signature.
    signed = int((NOW - timedelta(days=60)).timestamp())
    att = sbom_attestation(
        go,
        created=NOW - timedelta(hours=1),
        signer=dataclasses.replace(keyless(), signed_at=signed),
    )
    assert "60d0h old" in failed(run(pol, evidence(go, attestations=(att,))))["sbom.maxAge"]
    # No time at all: cannot be checked, so it fails.
    undated = dataclasses.replace(
        att,
        predicate={},
        sbom_document=b"{}",
        signer=dataclasses.replace(keyless(), signed_at=None),
    )
    assert failed(run(pol, evidence(go, attestations=(undated,))))["sbom.maxAge"] == (
        "the SBOM states no creation time and the signature no signing time"
    )


def test_deny() -> None:
    go = scanned("go-linux-loong64")
    ev = evidence(go, attestations=(sbom_attestation(go),))
    hit = sbom_policy(
        deny=[
            {
                "purl": "pkg:golang/example.com/lib/codec/v2",
                "versions": ">=2.0.0, <2.3.1",
                "reason": "CVE-0000-0001",
            }
        ]
    )
    assert failed(run(hit, ev)) == {
        "sbom.deny": (
            "denied component(s) in the binary and go-linux-loong64.cyclonedx.sigstore.json: "
            "pkg:golang/example.com/lib/codec/v2@v2.3.0 "
            "(denied pkg:golang/example.com/lib/codec/v2 >=2.0.0, <2.3.1: CVE-0000-0001)"
        )
    }
    miss = sbom_policy(
        deny=[
            {"purl": "pkg:golang/example.com/lib/codec/v2", "versions": "<2.3.0"},
            {"purl": "pkg:golang/example.com/lib/codec", "versions": "*"},
        ]
    )
    assert only(run(miss, ev), "sbom.deny").passed
    # Replaced modules are judged by what was compiled in (the replacement's purl).
    fork = sbom_policy(deny=[{"purl": "pkg:golang/example.com/lib/fork"}])
    assert "pkg:golang/example.com/lib/fork@v1.1.0" in failed(run(fork, ev))["sbom.deny"]
    stdlib = sbom_policy(deny=[{"purl": "pkg:golang/stdlib", "versions": "<go1.20"}])
    assert "pkg:golang/stdlib@1.19.8" in failed(run(stdlib, ev))["sbom.deny"]


def test_deny_by_name_and_unknown_versions_fail_closed() -> None:
    c = scanned("c-hello-hardened")
    ev = evidence(c, attestations=(sbom_attestation(c),))
    by_name = sbom_policy(deny=[{"name": "liblz4.so.1"}])
    assert "liblz4.so.1 (denied liblz4.so.1 *)" in failed(run(by_name, ev))["sbom.deny"]
    ranged = sbom_policy(deny=[{"name": "libzstd.so.1", "versions": "<1.5.0"}])
    assert "version unknown" in failed(run(ranged, ev))["sbom.deny"]
    deb = sbom_policy(deny=[{"purl": "pkg:deb/debian/hello", "versions": "<1.0-2"}])
    assert "pkg:deb/debian/hello@1.0-1" in failed(run(deb, ev))["sbom.deny"]
    qualified = sbom_policy(deny=[{"purl": "pkg:deb/debian/hello?arch=arm64"}])
    assert only(run(qualified, ev), "sbom.deny").passed


def test_minimum_versions() -> None:
    go = scanned("go-linux-loong64")
    ev = evidence(go, attestations=(sbom_attestation(go),))
    low = sbom_policy(minimumVersions=[{"purl": "pkg:golang/stdlib", "version": "1.22.5"}])
    assert failed(run(low, ev)) == {
        "sbom.minimumVersions": (
            "below the minimum version in the binary and go-linux-loong64.cyclonedx.sigstore.json: "
            "pkg:golang/stdlib@1.19.8 < 1.22.5"
        )
    }
    ok = sbom_policy(
        minimumVersions=[
            {"purl": "pkg:golang/stdlib", "version": "go1.19.8"},
            {"name": "example.com/lib/strutil", "version": "v1.2.0"},
        ]
    )
    assert only(run(ok, ev), "sbom.minimumVersions").message == (
        "pkg:golang/stdlib@1.19.8 >= go1.19.8, pkg:golang/example.com/lib/strutil@v1.2.0 >= v1.2.0"
    )
    absent = sbom_policy(
        minimumVersions=[{"purl": "pkg:golang/golang.org/x/net", "version": "v0.33.0"}]
    )
    assert only(run(absent, ev), "sbom.minimumVersions").passed
    # A version that cannot be compared fails.
    main = sbom_policy(minimumVersions=[{"name": "example.com/sbomsign/demo", "version": "v1.0.0"}])
    assert "cannot be compared" in failed(run(main, ev))["sbom.minimumVersions"]


def test_allowed_licenses() -> None:
    go = scanned("go-linux-loong64")
    ev = evidence(go, attestations=(sbom_attestation(go),))
    result = only(run(sbom_policy(allowedLicenses=["bsd-3-clause"]), ev), "sbom.allowedLicenses")
    assert result.message == "1 component(s) with a known licence, all allowed"
    bad = failed(run(sbom_policy(allowedLicenses=["MIT"]), ev))
    assert bad["sbom.allowedLicenses"].endswith("pkg:golang/stdlib@1.19.8 (BSD-3-Clause)")


def test_licences_given_by_name_are_judged() -> None:
    """A licence named in words (CycloneDX `license.name`, as an OS package's `GPL` is
    written) is allowed only where the list names it, as an expression of that one word."""
    from dataclasses import replace

    from sbomsign.models import Component, ComponentKind

    go = scanned("go-linux-loong64")
    named = Component(ComponentKind.OS_PACKAGE, "tzdata", "1", "pkg:deb/debian/tzdata@1",
                      license_names=("public-domain",))
    attested = replace(go, components=(*go.components, named))
    ev = evidence(go, attestations=(sbom_attestation(go, described=attested),))
    bad = failed(run(sbom_policy(allowedLicenses=["bsd-3-clause"]), ev))
    assert bad["sbom.allowedLicenses"].endswith("pkg:deb/debian/tzdata@1 (public-domain)")
    result = only(run(sbom_policy(allowedLicenses=["bsd-3-clause", "public-domain"]), ev),
                  "sbom.allowedLicenses")
    assert result.message == "2 component(s) with a known licence, all allowed"


@pytest.mark.parametrize(
    ("expression", "allowed"),
    [
        ("MIT", True),
        ("GPL-3.0-only", False),
        ("MIT OR GPL-3.0-only", True),
        ("MIT AND GPL-3.0-only", False),
        ("(Apache-2.0 OR GPL-3.0-only) AND MIT", True),
        ("GPL-2.0-only WITH Classpath-exception-2.0", True),
        ("Apache-2.0+", True),
        ("MIT AND (", False),
        ("NOASSERTION", None),
    ],
)
def test_licence_expressions(expression: str, allowed: bool | None) -> None:
    from sbomsign.policy.rules.licences import _license_allowed

    ids = frozenset({"mit", "apache-2.0", "gpl-2.0-only with classpath-exception-2.0"})
    assert _license_allowed(expression, ids) is allowed


def test_component_rules_need_components() -> None:
    go = scanned("go-linux-loong64")
    pol = sbom_policy(deny=[{"purl": "pkg:golang/x/y"}])
    bad = failed(run(pol, evidence(go, with_file=False)))
    assert bad["sbom.deny"] == "no components to check: no artifact file and no verified SBOM"
    # Without the file, the attested SBOM is still judged.
    only_sbom = evidence(go, attestations=(sbom_attestation(go),), with_file=False)
    assert only(run(pol, only_sbom), "sbom.deny").message == (
        "no denied component in go-linux-loong64.cyclonedx.sigstore.json"
    )


# --- binary rules ---------------------------------------------------------------------------


def binary_result(name: str, **rules: Any) -> RuleResult:
    artifact = scanned(name)
    (result,) = [
        r for r in run(make_spec(binary=rules), evidence(artifact)) if r.rule.startswith("binary.")
    ]
    return result


@pytest.mark.parametrize(
    ("asset", "rules", "passed", "message"),
    [
        (
            "go-linux-loong64",
            {"architectures": ["loong64", "x86_64"]},
            True,
            "architecture loongarch64",
        ),
        (
            "go-linux-amd64",
            {"architectures": ["loongarch64"]},
            False,
            "architecture x86_64 is not one of loongarch64",
        ),
        ("c-hello-hardened", {"pie": True}, True, "position-independent"),
        (
            "c-hello-plain",
            {"pie": True},
            False,
            "not position-independent, wanted position-independent",
        ),
        ("c-hello-hardened", {"nx": True}, True, "non-executable stack and data (NX)"),
        (
            "pe-hello-unhardened.exe",
            {"nx": True},
            False,
            "executable stack or data (no NX), wanted non-executable stack and data (NX)",
        ),
        ("c-hello-hardened", {"relro": "full"}, True, "RELRO full"),
        ("c-hello-aarch64", {"relro": "full"}, False, "RELRO partial, wanted at least full"),
        ("c-hello-aarch64", {"relro": "partial"}, True, "RELRO partial"),
        ("pe-hello.exe", {"relro": "partial"}, False, "RELRO is unknown for this pe binary"),
        ("c-hello-hardened", {"stackProtector": True}, True, "stack protector"),
        (
            "c-hello-plain",
            {"stackProtector": True},
            False,
            "no stack protector, wanted stack protector",
        ),
        (
            "go-linux-amd64",
            {"stackProtector": True},
            False,
            "stackProtector is unknown for this elf binary",
        ),
        ("c-hello-hardened", {"fortify": True}, True, "fortified (_FORTIFY_SOURCE)"),
        (
            "c-hello-plain",
            {"fortify": True},
            False,
            "not fortified, wanted fortified (_FORTIFY_SOURCE)",
        ),
        ("c-hello-static", {"static": True}, True, "statically linked"),
        ("c-hello-plain", {"static": True}, False, "dynamically linked, wanted statically linked"),
        ("go-linux-amd64", {"cgo": False}, True, "CGO_ENABLED=0"),
        ("go-linux-amd64-cgo", {"cgo": False}, False, "CGO_ENABLED=1, wanted CGO_ENABLED=0"),
        (
            "c-hello-plain",
            {"cgo": False},
            False,
            "not a Go binary (no build info), CGO_ENABLED unknown",
        ),
        ("fzf-0.20.0-go1.13", {"cgo": False}, False, "the build info does not record CGO_ENABLED"),
        ("go-linux-amd64-stripped", {"stripped": True}, True, "stripped"),
        ("go-linux-amd64", {"stripped": True}, False, "not stripped, wanted stripped"),
        ("c-hello-plain", {"stripped": False}, True, "not stripped"),
        ("go-linux-amd64", {"goVersion": {"minimum": "1.19"}}, True, "built with go1.19.8"),
        (
            "go-linux-amd64",
            {"goVersion": {"minimum": "go1.19.9"}},
            False,
            "built with go1.19.8, wanted >= go1.19.9",
        ),
        (
            "c-hello-plain",
            {"goVersion": {"minimum": "1.19"}},
            False,
            "not a Go binary (no build info)",
        ),
    ],
)
def test_binary_rules(asset: str, rules: dict[str, Any], passed: bool, message: str) -> None:
    result = binary_result(asset, **rules)
    assert (result.passed, result.message) == (passed, message)
    assert result.rule == f"binary.{next(iter(rules))}"


def test_every_slice_of_a_fat_binary_is_judged() -> None:
    result = binary_result("go-darwin-universal", pie=True)
    assert not result.passed
    assert result.message == "not position-independent, wanted position-independent (x86_64)"
    result = binary_result("go-darwin-universal", architectures=["x86_64", "aarch64"])
    assert result.message == "architecture x86_64 (x86_64); architecture aarch64 (aarch64)"


def test_binary_rules_without_the_file() -> None:
    go = scanned("go-linux-loong64")
    pol = make_spec(
        attestations=[{"type": "sbom"}], binary={"architectures": ["loongarch64"], "cgo": False}
    )
    # The attested SBOM carries the binary facts: they are used, and said so.
    results = run(pol, evidence(go, attestations=(sbom_attestation(go),), with_file=False))
    assert only(results, "binary.cgo").message == (
        "CGO_ENABLED=0 (from the attested SBOM go-linux-loong64.cyclonedx.sigstore.json)"
    )
    assert_all_pass(results)
    # Nothing to judge: fail closed.
    bad = failed(
        run(
            pol,
            evidence(
                go,
                attestations=(sbom_attestation(go, described=scanned("go-linux-arm64")),),
                with_file=False,
            ),
        )
    )
    assert bad["binary.architectures"].startswith("binary rules need the artifact file")
    assert bad["binary.cgo"].startswith("binary rules need the artifact file")


def test_binary_rules_refuse_a_scan_of_another_file() -> None:
    go = scanned("go-linux-loong64")
    other = Inventory(artifacts=(scanned("go-linux-arm64"),))
    ev = dataclasses.replace(evidence(go), inventory=other)
    bad = failed(run(make_spec(binary={"static": True}), ev))
    assert bad == {"binary.static": "the scanned file is not this artifact (its digest differs)"}


# --- custom CEL rules -----------------------------------------------------------------------


def test_cel_rules_over_inventory_attestations_and_signatures() -> None:
    go = scanned("go-linux-loong64")
    pol = make_spec(
        attestations=[{"type": "sbom"}, {"type": "slsa-provenance"}],
        rules=[
            {
                "name": "loong",
                "expression": "inventory.artifacts.all(a, "
                "a.binaries.all(b, b.arch == 'loongarch64'))",
            },
            {
                "name": "go-toolchain",
                "expression": "inventory.artifacts.all(a, a.binaries.all(b, "
                "versionCompare(b.go.go_version, '1.22', 'go') >= 0))",
                "message": "toolchain too old",
            },
            {
                "name": "tagged",
                "expression": "signatures.all(s, "
                "s.signer.claims.source_repository_ref.startsWith('refs/tags/'))",
            },
            {
                "name": "provenance-repo",
                "expression": "attestations.exists(a, a.kind == 'slsa-provenance' && "
                f"a.predicate.buildDefinition.externalParameters.workflow.repository == '{REPO}')",
            },
            {
                "name": "sbom-has-stdlib",
                "expression": "attestations.exists(a, a.sbom != null && a.sbom.artifacts.exists(x, "
                "x.components.exists(c, c.kind == 'go-stdlib')))",
            },
            {"name": "digest", "expression": f"artifact.sha256 == '{go.digests.sha256}'"},
            {
                "name": "fresh",
                "expression": "signatures.all(s, "
                "now - timestamp(s.signer.signedTime) < duration('48h'))",
            },
            {"name": "broken", "expression": "inventory.nothing == 1"},
        ],
    )
    ev = evidence(go, attestations=(sbom_attestation(go), attestation(go, provenance_v1())))
    results = by_rule(run(pol, ev))
    assert [r.passed for r in results["rules[loong]"]] == [True]
    assert results["rules[go-toolchain]"][0] == RuleResult(
        "rules[go-toolchain]", False, "toolchain too old"
    )
    for name in ("tagged", "provenance-repo", "sbom-has-stdlib", "digest", "fresh"):
        assert results[f"rules[{name}]"][0].passed, results[f"rules[{name}]"]
    broken = results["rules[broken]"][0]
    assert not broken.passed
    assert broken.message == "evaluation error: no such member in mapping: 'nothing'"


def test_cel_rule_without_the_file_fails_with_a_hint() -> None:
    go = scanned("go-linux-loong64")
    pol = make_spec(
        rules=[{"name": "loong", "expression": "inventory.artifacts.all(a, a.name != '')"}]
    )
    bad = failed(run(pol, evidence(go, with_file=False)))
    assert bad["rules[loong]"].startswith("evaluation error:")
    assert bad["rules[loong]"].endswith("(no artifact file: `inventory` is null)")


def test_cel_false_without_a_message_shows_the_expression() -> None:
    go = scanned("go-linux-loong64")
    pol = make_spec(rules=[{"name": "never", "expression": "size(signatures) > 5"}])
    assert failed(run(pol, evidence(go))) == {"rules[never]": "does not hold: size(signatures) > 5"}


def test_evaluate_accepts_a_naive_now_as_utc() -> None:
    go = scanned("go-linux-amd64")
    results = policy.evaluate(make_spec(), evidence(go), now=NOW.replace(tzinfo=None))
    assert_all_pass(results)


@pytest.mark.parametrize(
    "flags",
    [
        {"keys": ["a.pub", "b.pub"]},
        {"identity": "alice@example.com", "issuer": "https://issuer.example"},
        {"identity_regexp": "^https://github.com/o/r/.+$", "issuer": "https://i.example",
         "require_attestations": ["sbom", "*"]},
    ],
)
def test_flag_policies_conform_to_the_schema(
    flags: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A flags policy skips schema validation at run time (its document is built, not read);
    # this proves every such document is one the schema accepts.
    import jsonschema

    from sbomsign import policy as policy_mod
    from sbomsign.policy import _load

    seen: list[Any] = []
    real = _load._from_document

    def spy(doc: Any, text: bytes, source: str, *, flags: bool = False) -> Policy:
        seen.append(doc)
        return real(doc, text, source, flags=flags)

    monkeypatch.setattr(_load, "_from_document", spy)
    policy_mod.from_flags(**flags)
    (doc,) = seen
    jsonschema.validate(doc, policy_mod.schema())
