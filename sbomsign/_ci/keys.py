"""The checks of the signing and verifying inputs: keys, identities, OIDC credentials."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sbomsign._ci.common import KeyMaterial, Problem

if TYPE_CHECKING:
    from sbomsign._ci.inputs import Reader

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
_ENCRYPTED_PEM = ("ENCRYPTED", "Proc-Type: 4,ENCRYPTED")


def key_materials(read: Reader, value: str, *, what: str) -> tuple[KeyMaterial, ...]:
    """Keys in the `key` input: PEM blocks (a secret's text), `pkcs11:` URIs, or file paths."""
    if "-----BEGIN" in value:
        blocks = [m.group(0) for m in _PEM_BLOCK.finditer(value)]
        if not blocks:
            read.problem("key", f"looks like PEM but has no complete -----BEGIN/-----END "
                                f"block ({what})")
        return tuple(KeyMaterial(pem=b + "\n") for b in blocks)
    keys: list[KeyMaterial] = []
    for line in (ln.strip() for ln in value.splitlines()):
        if not line:
            continue
        if line.startswith("pkcs11:"):
            keys.append(KeyMaterial(uri=line))
            continue
        path = read.path(line)
        if not path.is_file():
            read.problem("key", f"{line}: no such file ({what})")
        else:
            keys.append(KeyMaterial(path=path))
    return tuple(keys)


def key_text(key: KeyMaterial) -> str:
    """The key's PEM text, as far as the checks need it ("" for a URI or unreadable file)."""
    if key.pem is not None:
        return key.pem
    if key.path is not None:
        try:
            # NOTE: only the PEM labels are looked at; a key is a few hundred bytes.
            return key.path.read_text(errors="replace")[:65536]
        except OSError:
            return ""
    return ""


def _signing_key(read: Reader, raw_key: str) -> tuple[KeyMaterial, ...]:
    """The private key of `sign: key`, checked."""
    if not raw_key:
        read.problems.append(Problem(f"sign is 'key' but {read.system.hints['missing-key']}",
                                     title="sbomsign: missing key"))
        return ()
    keys = key_materials(read, raw_key, what="the private signing key")
    if len(keys) > 1:
        read.problem("key", "give one private key to sign with")
    password = read.raw("key-password") or read.env.get("COSIGN_PASSWORD")
    for key in keys:
        text = key_text(key)
        if "PRIVATE KEY" not in text and key.uri is None:
            read.problem("key", "not a private key (sign: key needs the private key; the "
                                "public key is for verify mode)")
        elif any(m in text for m in _ENCRYPTED_PEM) and not password:
            read.problems.append(Problem(
                f"the key is encrypted but {read.system.hints['missing-password']}",
                title="sbomsign: missing key password"))
    return keys


def produce_checks(read: Reader, sign: str, attest: list[str]) -> tuple[KeyMaterial, ...]:
    """The checks of produce mode; the signing key, when there is one."""
    raw_key = read.raw("key")
    keys: tuple[KeyMaterial, ...] = ()
    if sign == "key":
        keys = _signing_key(read, raw_key)
    elif raw_key:
        read.system.annotate("warning", f"sign is {sign!r}: {read.label('key')} is ignored",
                             title="sbomsign: key ignored")
    if sign == "keyless" and not read.system.has_oidc(read.env):
        read.problems.append(Problem(
            "sign is 'keyless' but the job has no OIDC credential: "
            + read.system.hints["no-oidc"], title="sbomsign: no OIDC credential"))
    if "slsa-provenance" in attest and not read.system.provenance:
        # NOTE: the predicate describes a GitHub Actions run from its variables; on another
        # system `sbomsign attest` would refuse it only after the SBOMs were signed.
        read.problem("attest", "slsa-provenance describes a GitHub Actions workflow run; "
                               "on this CI system attest cyclonedx, spdx or spdx3")
    if sign == "none" and attest:
        read.problems.append(Problem(
            f"attest ({', '.join(attest)}) needs signing, but sign is 'none': set "
            f"{read.system.name_of('sign', read.mode)} to keyless or key, or "
            f"{read.system.name_of('attest', read.mode)} to ''",
            title="sbomsign: bad input attest"))
    return keys


def _public_keys(read: Reader, raw_key: str) -> tuple[KeyMaterial, ...]:
    """The public keys of verify mode, checked."""
    if not raw_key:
        return ()
    keys = key_materials(read, raw_key, what="a public key that may sign")
    for key in keys:
        if "PRIVATE KEY" in key_text(key):
            read.problem("key", "in verify mode the key is the PUBLIC key; never hand the "
                                "private key to a verifying job")
        if key.uri is not None:
            read.problem("key", "verify mode takes public key files or PEM text, not "
                                "pkcs11: URIs")
    return keys


def verify_checks(read: Reader, policy: Path | None) -> tuple[KeyMaterial, ...]:
    """The checks of verify mode: who may sign must be said once; the public keys."""
    name = read.system.name_of
    raw_key = read.raw("key")
    identity = read.raw("certificate-identity")
    identity_re = read.raw("certificate-identity-regexp")
    keys = _public_keys(read, raw_key)
    ident, ident_re = name("certificate-identity", "verify"), name(
        "certificate-identity-regexp", "verify")
    if identity and identity_re:
        read.problems.append(Problem(f"give {ident} or {ident_re}, not both",
                                     title="sbomsign: bad input certificate-identity"))
    if policy is not None and (raw_key or identity or identity_re):
        read.problems.append(Problem(
            f"the policy names the allowed signers: leave {name('key', 'verify')} and "
            f"{ident}* empty when {name('policy', 'verify')} is set",
            title="sbomsign: bad input policy"))
    if policy is None and not raw_key and not (identity or identity_re) and not read.raw(
            "policy"):
        read.problems.append(Problem(
            f"verify mode needs to know who may sign: set {name('policy', 'verify')} (see "
            f"sbomsign's policies/), or {name('key', 'verify')} (a public key), or "
            f"{ident}[-regexp] with {name('certificate-oidc-issuer', 'verify')}",
            title="sbomsign: nothing to verify against"))
    if (identity or identity_re) and not read.raw("certificate-oidc-issuer"):
        read.problems.append(Problem(
            f"{ident} needs {name('certificate-oidc-issuer', 'verify')}"
            + read.system.hints["issuer"],
            title="sbomsign: bad input certificate-oidc-issuer"))
    return keys

