"""The format-neutral writer pieces: subjects, the dependency graph, property bags, identifiers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sbom_samples as s

from sbomsign._internal.sbom.common import (
    Edge,
    artifact_ref,
    artifact_version,
    composition_complete,
    dependency_edges,
    format_comment_properties,
    make_subject,
    parse_actor,
    parse_comment_properties,
    release_name,
    spdx_id,
)
from sbomsign._internal.sbom.properties import (
    artifact_properties,
    binaries_from_properties,
    component_properties,
)
from sbomsign._internal.sbom.timestamp import resolve_timestamp
from sbomsign.errors import SbomError
from sbomsign.models import ComponentKind


def test_go_graph_artifact_main_modules() -> None:
    a = s.go_artifact()
    aref = artifact_ref(a)
    edges = dependency_edges(a)
    main = "pkg:golang/example.com/demo@v1.2.3"
    assert Edge(aref, main, "static") in edges
    assert Edge(aref, "shared-library:libc.so.6", "dynamic") in edges
    assert {e.target for e in edges if e.source == main} == {
        "pkg:golang/golang.org/x/sys@v0.20.0",
        "pkg:golang/github.com/New/Thing@v1.2.0",
        "pkg:golang/example.com/local",
        "pkg:golang/stdlib@1.22.7",
    }
    # Modules hang off the main module only, never off the artifact directly.
    assert {e.target for e in edges if e.source == aref} == {main, "shared-library:libc.so.6"}


def test_rust_and_package_note_graph() -> None:
    a = s.c_artifact()
    aref = artifact_ref(a)
    edges = dependency_edges(a)
    assert Edge(aref, "pkg:cargo/hello-rs@0.1.0", "static") in edges
    assert Edge("pkg:cargo/hello-rs@0.1.0", "pkg:cargo/serde@1.0.200", "depends") in edges
    assert Edge("pkg:cargo/hello-rs@0.1.0", "pkg:cargo/cc@1.0.90", "depends") in edges
    note = "pkg:rpm/fedora/hello@1.0-1.fc40?arch=x86_64&distro=fedora-40"
    assert Edge(note, aref, "contains") in edges
    assert Edge(aref, "shared-library:libfoo.so.2", "dynamic") in edges
    # Every component is in the graph.
    touched = {e.source for e in edges} | {e.target for e in edges}
    assert {c.ref for c in a.components} <= touched


def test_versions_and_names() -> None:
    assert artifact_version(s.go_artifact()) == "v1.2.3"
    assert artifact_version(s.c_artifact()) == "1.0-1.fc40"
    assert artifact_version(s.fat_artifact()) == "sha256:" + "f" * 64
    arts = [s.go_artifact(), s.go_artifact("aarch64", "arm64", "b")]
    assert release_name(arts) == "demo-linux"
    assert release_name([s.go_artifact(), s.fat_artifact()]) == "artifacts"


def test_merged_subject_dedupes_and_records_owners() -> None:
    amd, arm = s.go_artifact(), s.go_artifact("aarch64", "arm64", "b", extra_dep=True)
    sub = make_subject([arm, amd, amd], merge=True)
    assert [a.name for a in sub.artifacts] == ["demo-linux-amd64", "demo-linux-arm64"]
    refs = [c.ref for c in sub.components]
    assert refs == sorted(set(refs))
    assert sub.owners["pkg:golang/golang.org/x/exp@v0.1.0"] == (artifact_ref(arm),)
    assert set(sub.owners["pkg:golang/stdlib@1.22.7"]) == {artifact_ref(amd), artifact_ref(arm)}
    main = next(c for c in sub.components if c.kind is ComponentKind.GO_MAIN_MODULE)
    assert "pkg:golang/golang.org/x/exp@v0.1.0" in main.depends_on


def test_subject_refuses_nothing_or_unmerged_many() -> None:
    with pytest.raises(SbomError):
        make_subject([], merge=False)
    with pytest.raises(SbomError):
        make_subject([s.go_artifact(), s.c_artifact()], merge=False)


def test_h1_is_a_property_never_a_hash() -> None:
    a = s.go_artifact()
    dep = next(c for c in a.components if c.name == "github.com/Old/Thing")
    props = dict(component_properties(dep))
    assert props["sbomsign:go:h1"] == "h1:old="
    assert props["sbomsign:go:replace:path"] == "github.com/New/Thing"
    assert props["sbomsign:go:replace:version"] == "v1.2.0"
    assert props["sbomsign:go:replace:h1"] == "h1:new="
    assert props["sbomsign:kind"] == "go-module"


def test_binary_properties_round_trip() -> None:
    for a in (s.go_artifact(), s.fat_artifact()):
        props = artifact_properties(a)
        assert props == sorted(props)
        back = binaries_from_properties(props, a.components)
        assert [(b.format, b.arch, b.bits, b.os, b.file_type, b.slice_offset, b.hardening)
                for b in back] == [
            (b.format, b.arch, b.bits, b.os, b.file_type, b.slice_offset, b.hardening)
            for b in a.binaries
        ]
    go = dict(artifact_properties(s.go_artifact()))
    assert go["sbomsign:go:build:GOARCH"] == "amd64"
    assert go["sbomsign:go:build:CGO_ENABLED"] == "1"
    assert go["sbomsign:go:build:vcs.revision"] == "0123456789abcdef"
    assert go["sbomsign:hardening:relro"] == "full"
    assert go["sbomsign:binary:arch"] == "x86_64"
    fat = dict(artifact_properties(s.fat_artifact()))
    assert fat["sbomsign:slice:1:binary:arch"] == "aarch64"


def test_composition_complete_only_for_pure_go() -> None:
    assert not composition_complete(s.go_artifact())  # CGO_ENABLED=1
    assert not composition_complete(s.c_artifact())


def test_comment_properties() -> None:
    pairs = [("sbomsign:a", "x=y"), ("sbomsign:b", "two\nlines")]
    text = format_comment_properties(pairs)
    assert parse_comment_properties(text + "\nfree text\nother:x=1") == [
        ("sbomsign:a", "x=y"), ("sbomsign:b", "two lines")
    ]


def test_actors() -> None:
    assert parse_actor("ACME Corp") == ("organization", "ACME Corp", "")
    assert parse_actor("Person: Jane Doe (jane@example.org)") == (
        "person", "Jane Doe", "jane@example.org")
    assert parse_actor("Organization: ACME <sec@acme.example>") == (
        "organization", "ACME", "sec@acme.example")
    with pytest.raises(SbomError):
        parse_actor("  ")


def test_timestamps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert resolve_timestamp(None) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    given = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert resolve_timestamp(given) == datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(SbomError, match="SOURCE_DATE_EPOCH"):
        resolve_timestamp(None)
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    now = resolve_timestamp(None)
    assert abs((datetime.now(UTC) - now).total_seconds()) < 60


def test_spdx_ids_are_valid_and_distinct() -> None:
    a = spdx_id("GoModule", "github.com/Foo/Bar v2", "pkg:golang/github.com/Foo/Bar@v2")
    b = spdx_id("GoModule", "github.com/Foo/Bar v2", "pkg:golang/github.com/Foo/Bar@v3")
    assert a != b
    assert a.startswith("SPDXRef-GoModule-github.com-Foo-Bar-v2-")
