"""The `sbom` rule family: what the attested SBOMs must say (describesArtifact, coversBinary,
ntia, profile, maxAge, deny, minimumVersions; allowedLicenses is judged by `licences`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sbomsign.errors import Error
from sbomsign.models import Component, Inventory
from sbomsign.policy._context import Evaluation, _component_label, _component_version, _get
from sbomsign.policy._describe import _listing
from sbomsign.policy._model import (
    _DURATION,
    _DURATION_UNITS,
    _MAX_LISTED,
    _Deny,
    _Minimum,
    _purl_parts,
    _Sbom,
    _Selector,
)
from sbomsign.policy.rules.licences import licenses
from sbomsign.verify import VerifiedAttestation

if TYPE_CHECKING:
    from sbomsign.policy._compile import _Builder


def sbom(ev: Evaluation, rules: _Sbom) -> None:
    sboms = ev.sboms()
    if rules.needs_sbom and not sboms:
        for key, on in (
            ("describesArtifact", rules.describes_artifact),
            ("coversBinary", rules.covers_binary),
            ("ntia", rules.ntia),
            ("profile", bool(rules.profile)),
            ("maxAge", bool(rules.max_age)),
        ):
            if on:
                ev.add(
                    f"sbom.{key}", False, "no verified SBOM attestation from an allowed signer"
                )
    for att in sboms:
        if att.sbom is None:
            for key, on in (
                ("describesArtifact", rules.describes_artifact),
                ("coversBinary", rules.covers_binary),
            ):
                if on:
                    ev.add(f"sbom.{key}", False, "the SBOM could not be read", att.bundle)
        else:
            if rules.describes_artifact:
                describes(ev, att, att.sbom)
            if rules.covers_binary:
                covers(ev, att, att.sbom)
        if rules.ntia:
            ntia(ev, att)
        if rules.profile:
            profile(ev, att, rules.profile)
        if rules.max_age is not None:
            max_age(ev, att, rules.max_age, rules.max_age_text)
    if rules.deny or rules.minimums or rules.licenses is not None:
        component_rules(ev, rules, sboms)


def describes(ev: Evaluation, att: VerifiedAttestation, inv: Inventory) -> None:
    found = ev.sbom_artifact(inv)
    if found is not None:
        ev.add(
            "sbom.describesArtifact",
            True,
            f"describes {found.name} sha256:{ev.ev.sha256}",
            att.bundle,
        )
        return
    described = (
        ", ".join(
            f"{a.name} sha256:{a.digests.sha256 or '?'}" for a in inv.artifacts[:_MAX_LISTED]
        )
        or "no artifact"
    )
    ev.add(
        "sbom.describesArtifact",
        False,
        f"the SBOM describes {described}, not sha256:{ev.ev.sha256}",
        att.bundle,
    )


def covers(ev: Evaluation, att: VerifiedAttestation, inv: Inventory) -> None:
    own = ev.own_artifact()
    if own is None:
        ev.add(
            "sbom.coversBinary",
            False,
            "needs the artifact file, to compare the SBOM with the binary's own inventory",
            att.bundle,
        )
        return
    described = ev.sbom_artifact(inv)
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
        ev.add(
            "sbom.coversBinary",
            False,
            f"the SBOM omits {len(missing)} component(s) found in the binary: "
            f"{_listing(missing)}",
            att.bundle,
        )
    else:
        ev.add(
            "sbom.coversBinary",
            True,
            f"lists all {len(own.components)} component(s) found in the binary",
            att.bundle,
        )


def _document_check(ev: Evaluation, att: VerifiedAttestation, rule: str,
                    check: Callable[[bytes, str], list[str]], missing: str,
                    passed: str) -> None:
    """A check of the attested document's own fields: the rule passes when `check` finds
    nothing; otherwise it fails listing (the first of) what is missing."""
    if not att.sbom_document:
        ev.add(rule, False, "the SBOM document is not available", att.bundle)
        return
    try:
        problems = check(att.sbom_document, att.bundle or "<sbom>")
    except Error as e:
        ev.add(rule, False, e.diagnostics(), att.bundle)
        return
    if not problems:
        ev.add(rule, True, passed, att.bundle)
        return
    listed = "; ".join(problems[:_MAX_LISTED]) + ("; ..." if len(problems) > _MAX_LISTED
                                                  else "")
    ev.add(rule, False, missing.format(n=len(problems)) + listed, att.bundle)


def ntia(ev: Evaluation, att: VerifiedAttestation) -> None:
    from sbomsign.sbom import ntia_problems

    _document_check(ev, att, "sbom.ntia", ntia_problems, "NTIA minimum elements missing: ",
                    "has the NTIA minimum elements")


def profile(ev: Evaluation, att: VerifiedAttestation, name: str) -> None:
    """A buyer's profile's required fields (BSI TR-03183-2 v2.1.0, the OpenChain Telco SBOM
    Guide), in the attested document itself."""
    from sbomsign.sbom import PROFILE_CHECKS

    title, problems_of = PROFILE_CHECKS[name]
    _document_check(ev, att, "sbom.profile", problems_of,
                    title + ": {n} required field(s) missing: ",
                    f"has every field {title} requires")


def max_age(ev: Evaluation, att: VerifiedAttestation, limit: timedelta, limit_text: str) -> None:
    times = []
    stated = _sbom_timestamp(att)
    if stated is not None:
        times.append(stated)
    if att.signer.signed_at is not None:
        times.append(datetime.fromtimestamp(att.signer.signed_at, UTC))
    if not times:
        ev.add(
            "sbom.maxAge",
            False,
            "the SBOM states no creation time and the signature no signing time",
            att.bundle,
        )
        return
    # NOTE: an SBOM is at least as old as its signature; the earlier time is the honest
    # one, and a document claiming to be newer than its signature cannot make it younger.
    created = min(times)
    age = ev.now - created
    when = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    if age > limit:
        ev.add(
            "sbom.maxAge",
            False,
            f"the SBOM is {_age_text(age)} old (from {when}), more than {limit_text}",
            att.bundle,
        )
    else:
        ev.add(
            "sbom.maxAge",
            True,
            f"the SBOM is {_age_text(age)} old (from {when}), within {limit_text}",
            att.bundle,
        )


def component_rules(ev: Evaluation, rules: _Sbom, sboms: Sequence[VerifiedAttestation]) -> None:
    sources: list[tuple[str, Sequence[Component]]] = []
    own = ev.own_artifact()
    if own is not None:
        sources.append(("the binary", own.components))
    for att in sboms:
        if att.sbom is not None:
            described = ev.sbom_artifact(att.sbom)
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
            ev.add(
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
        deny(ev, rules.deny, components.values(), where)
    if rules.minimums:
        minimums(ev, rules.minimums, components.values(), where)
    if rules.licenses is not None:
        licenses(ev, rules.licenses, components.values(), where)


def deny(
    ev: Evaluation, entries: Sequence[_Deny], components: Iterable[Component], where: str
) -> None:
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
        ev.add("sbom.deny", False, f"denied component(s) in {where}: {_listing(hits)}")
    else:
        ev.add("sbom.deny", True, f"no denied component in {where}")


def minimums(
    ev: Evaluation, entries: Sequence[_Minimum], components: Iterable[Component], where: str
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
        ev.add(
            "sbom.minimumVersions",
            False,
            f"below the minimum version in {where}: {_listing(low)}",
        )
    elif ok:
        ev.add("sbom.minimumVersions", True, _listing(ok))
    else:
        ev.add(
            "sbom.minimumVersions",
            True,
            f"no component in {where} is subject to a minimum version",
        )


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


def _coverage_keys(c: Component) -> tuple[tuple[str, ...] | None, tuple[str, str]]:
    parts = _purl_parts(c.purl)
    purl_key = None
    if parts is not None:
        ptype, namespace, name, _, version = parts
        purl_key = (ptype, namespace, name, version)
    return purl_key, (c.name, c.version)


def check(ev: Evaluation) -> None:
    """Add this family's results to `ev`."""
    if ev.spec.sbom is not None:
        sbom(ev, ev.spec.sbom)


def compile_selector(b: _Builder, entry: Mapping[str, Any], path: list[Any]) -> _Selector:
    if "name" in entry:
        return _Selector(entry["name"], name=entry["name"])
    text = entry["purl"]
    parts = _purl_parts(text)
    if parts is None:
        raise b.fail([*path, "purl"], f"{text!r} is not a purl")
    ptype, namespace, name, qualifiers, _ = parts
    return _Selector(text, purl=(ptype, namespace, name, tuple(sorted(qualifiers.items()))))


def compile_scheme(b: _Builder, selector: _Selector) -> str | None:
    from sbomsign._internal.versions import scheme_for

    if selector.purl is None:
        return None
    return scheme_for(selector.purl[0], selector.purl[2], selector.purl[1])


def compile_sbom(b: _Builder, doc: Mapping[str, Any], path: list[Any]) -> _Sbom:
    from sbomsign._internal import versions

    deny = []
    for i, entry in enumerate(doc.get("deny") or []):
        epath = [*path, "deny", i]
        selector = compile_selector(b, entry, epath)
        try:
            rng = versions.parse_range(entry.get("versions", "*"))
            scheme = compile_scheme(b, selector)
            if scheme:
                rng.check(scheme)
        except versions.VersionError as e:
            raise b.fail([*epath, "versions"], str(e)) from e
        deny.append(_Deny(selector, rng, entry.get("reason", "")))
    minimums = []
    for i, entry in enumerate(doc.get("minimumVersions") or []):
        epath = [*path, "minimumVersions", i]
        selector = compile_selector(b, entry, epath)
        scheme = compile_scheme(b, selector)
        try:
            versions.check(entry["version"], scheme or "generic")
        except versions.VersionError as e:
            raise b.fail([*epath, "version"], str(e)) from e
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
        profile=str(doc.get("profile", "")),
        max_age=max_age,
        max_age_text=doc.get("maxAge", ""),
        deny=tuple(deny),
        minimums=tuple(minimums),
        licenses=licenses,
    )
