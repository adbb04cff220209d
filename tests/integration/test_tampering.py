"""The verify tampering matrix: every value of real, passing bundles and of the trust they are
verified against, changed one at a time; not one changed input may verify.

The bundles are the public Sigstore instances' own (keyless: message signatures with Rekor v1
entries, a Rekor v2 entry with an RFC 3161 timestamp) and the golden managed-key ones (a
message signature and DSSE attestations). For each: every leaf of the bundle JSON is changed
(a bit of the decoded bytes for base64, +1 for numbers, one character for other text); the
artifact changes by one bit; for keyless bundles the expected identity and issuer change, and
every leaf of the trusted root's entries that the verification uses (found by dropping the
others) changes. The README quotes the count of cases.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sbomsign.errors import Error
from sbomsign.verify import TrustMaterial, verify_bundle
from tests.conftest import ASSETS, BIN

PUBLIC = ASSETS / "public-bundles"
MATERIAL = ASSETS / "golden" / "material"


@dataclass(frozen=True)
class Case:
    name: str
    artifact: Path
    bundle: Path
    root: Path | None = None
    identity: tuple[str, str] | None = None


KEYLESS = [
    Case("staging-v0.3", PUBLIC / "bundle_v3.txt", PUBLIC / "bundle_v3.txt.sigstore",
         PUBLIC / "staging-trusted_root.json",
         ("william@yossarian.net", "https://github.com/login/oauth")),
    Case("production-github-v0.2", PUBLIC / "bundle_v3_github.whl",
         PUBLIC / "bundle_v3_github.whl.sigstore", PUBLIC / "production-trusted_root.json",
         ("https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml"
          "@refs/tags/v0.1.2", "https://token.actions.githubusercontent.com")),
    Case("staging-rekor-v2-tsa", PUBLIC / "staging-rekor-v2.txt",
         PUBLIC / "staging-rekor-v2.txt.sigstore.json", PUBLIC / "staging-trusted_root.json",
         ("jku@goto.fi", "https://github.com/login/oauth")),
]
MANAGED = [
    Case(f"managed-{p.name.removesuffix('.sigstore.json')}", BIN / "go-linux-loong64", p)
    for p in sorted(MATERIAL.glob("go-linux-loong64*.sigstore.json"))
]
CASES = KEYLESS + MANAGED


def _passes(case: Case, bundle: bytes, artifact: bytes, root: bytes | None,
            identity: tuple[str, str] | None) -> bool:
    """True when the bundle verifies and, keyless, names the expected signer."""
    if root is None:
        trust = TrustMaterial(keys=(("release.pub", (MATERIAL / "release.pub").read_bytes()),))
    else:
        trust = TrustMaterial(trusted_root=root)
    try:
        verified = verify_bundle(bundle, sha256=hashlib.sha256(artifact).hexdigest(),
                                 trust=trust, name=case.name)
    except Error:
        return False
    if identity is None:
        return True
    return (verified.signer.identity, verified.signer.issuer) == identity


def _genuine(case: Case) -> tuple[bytes, bytes, bytes | None]:
    root = case.root.read_bytes() if case.root else None
    return case.bundle.read_bytes(), case.artifact.read_bytes(), root


def _leaves(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _leaves(value, (*path, i))
    else:
        yield path


def _changed(value: Any, key: Any) -> Any:
    """The same kind of value, different: what an attacker who edits one field produces."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    assert isinstance(value, str)
    if key == "start":
        return "2099-01-01T00:00:00Z"  # a validity period that begins after the signing
    if key == "end":
        return "2000-01-01T00:00:00Z"  # and one that ended before it
    if value.isdigit():
        return str(int(value) + 1)
    if len(value) >= 8:
        try:
            raw = bytearray(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            pass
        else:
            raw[len(raw) // 2] ^= 0x01
            return base64.b64encode(bytes(raw)).decode()
    middle = len(value) // 2
    return value[:middle] + ("x" if value[middle:middle + 1] != "x" else "y") + value[middle + 1:]


def _set(doc: Any, path: tuple[Any, ...]) -> Any:
    changed = copy.deepcopy(doc)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = _changed(target[path[-1]], path[-1])
    return changed


def _dump(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def _checkpoints(text: str) -> Iterator[tuple[str, str]]:
    """A signed checkpoint changed one part at a time: each note line, each signature."""
    note, _, signatures = text.partition("\n\n")
    lines = note.split("\n")
    for i, line in enumerate(lines):
        yield f"line{i}", "\n".join([*lines[:i], _changed(line, None), *lines[i + 1:]]) + (
            "\n\n" + signatures)
    # A Rekor v1 signature line's name ("— rekor.sigstore.dev ...") is a label that is not
    # signed and that no verifier reads (sigstore-go included); a v2 (tile) log's note is
    # opened by a verifier of that name, so there it is changed too.
    v1 = re.fullmatch(r".* - [0-9]+", lines[0]) is not None
    for i, line in enumerate(signatures.splitlines()):
        dash, name, encoded = line.split(" ")
        for what, changed in (("name", [dash, _changed(name, None), encoded]),
                              ("signature", [dash, name, _changed(encoded, None)])):
            if what == "name" and v1:
                continue
            rest = signatures.splitlines()
            rest[i] = " ".join(changed)
            yield f"{what}{i}", note + "\n\n" + "\n".join(rest) + "\n"


# A managed-key bundle's `publicKey.hint` is not signed and, as in sigstore-go, only orders
# the keys tried (clients spell it differently); it is the one leaf not changed.
_UNSIGNED = {("verificationMaterial", "publicKey", "hint")}


def _bundle_mutations(case: Case) -> Iterator[tuple[str, bytes]]:
    doc = json.loads(case.bundle.read_bytes())
    for path in _leaves(doc):
        if path in _UNSIGNED:
            continue
        where = ".".join(map(str, path))
        if path[-1] != "envelope" or "checkpoint" not in path:
            yield where, _dump(_set(doc, path))
            continue
        for part, text in _checkpoints(_get(doc, path)):
            changed = copy.deepcopy(doc)
            _get(changed, path[:-1])[path[-1]] = text
            yield f"{where}:{part}", _dump(changed)


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


# Entries of a trusted root that a verification may use: each list's elements.
_ROOT_LISTS = ("certificateAuthorities", "tlogs", "ctlogs", "timestampAuthorities")
# Leaves of a used entry that no verifier reads (names for people and URLs of services).
_UNREAD = {"baseUrl", "uri", "organization", "commonName"}


def _used_root(case: Case) -> dict[str, Any]:
    """The trusted root reduced to the entries this bundle's verification needs."""
    bundle, artifact, root = _genuine(case)
    doc = json.loads(root or b"{}")
    for name in _ROOT_LISTS:
        for entry in list(doc.get(name, [])):
            trial = copy.deepcopy(doc)
            trial[name].remove(entry)
            if _passes(case, bundle, artifact, _dump(trial), case.identity):
                doc = trial
    return doc


def _root_mutations(case: Case) -> Iterator[tuple[str, bytes]]:
    doc = _used_root(case)
    assert _passes(case, *_genuine(case)[:2], _dump(doc), case.identity)
    for name in _ROOT_LISTS:
        for path in _leaves(doc.get(name, []), (name,)):
            if path[-1] in _UNREAD or "hashAlgorithm" in path or "keyDetails" in path:
                continue
            yield "root:" + ".".join(map(str, path)), _dump(_set(doc, path))


def _mutations(case: Case) -> Iterator[tuple[str, bytes, bytes, bytes | None, Any]]:
    bundle, artifact, root = _genuine(case)
    for where, changed in _bundle_mutations(case):
        yield where, changed, artifact, root, case.identity
    flipped = bytearray(artifact)
    flipped[len(flipped) // 2] ^= 0x01
    yield "artifact", bundle, bytes(flipped), root, case.identity
    if case.identity is not None:
        identity, issuer = case.identity
        yield "identity", bundle, artifact, root, (identity + "x", issuer)
        yield "issuer", bundle, artifact, root, (identity, issuer + "x")
        for where, changed in _root_mutations(case):
            yield where, bundle, artifact, changed, case.identity


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_genuine_input_verifies(case: Case) -> None:
    assert _passes(case, *_genuine(case), case.identity)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_no_single_change_verifies(case: Case) -> None:
    accepted = [m[0] for m in _mutations(case) if _passes(case, *m[1:])]
    assert accepted == [], f"changed inputs that verified: {accepted}"


def test_the_matrix_is_as_large_as_the_readme_says() -> None:
    counts = {case.name: sum(1 for _ in _mutations(case)) for case in CASES}
    assert all(n >= 5 for n in counts.values()), counts
    assert sum(counts.values()) == 145, counts
    for case in KEYLESS:
        assert sum(1 for _ in _root_mutations(case)) >= 5, case.name
