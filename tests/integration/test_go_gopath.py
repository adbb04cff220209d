"""Go programs built without module information (GOPATH mode, as Debian builds them): the
modules are inferred from the function table. Debian's own `Built-Using` field, which names
the Go library packages each program was built with, is the ground truth."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sbomsign.models import ComponentKind
from sbomsign.scan import scan_file
from tests.images import debs, run

#: Debian package -> (its program, the main module its path falls in).
CASES = {"age": ("usr/bin/age", "filippo.io/age"),
         "shfmt": ("usr/bin/shfmt", "mvdan.cc/sh/v3")}
#: Debian names some Go libraries by their old import paths.
_DEBIAN_ALIASES = {"golang-go.crypto": "golang-golang-x-crypto"}


def debian_name(module: str) -> str:
    """The Debian source package dh-make-golang names a Go module's library after."""
    host, _, rest = module.partition("/")
    host = {"github.com": "github", "golang.org": "golang"}.get(host, host.rsplit(".", 1)[0])
    return "golang-" + "-".join([host.replace(".", "-"), *re.split(r"[/.]", rest)]).lower()


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, tuple[Path, set[str], str]]:
    out = {}
    for deb in debs(tuple(CASES)):
        package = run("dpkg-deb", "-f", deb, "Package").strip()
        built_using = run("dpkg-deb", "-f", deb, "Built-Using")
        names = {_DEBIAN_ALIASES.get(n, n) for n in re.findall(r"(golang-[^\s(,]+)", built_using)}
        root = tmp_path_factory.mktemp(package)
        run("dpkg-deb", "-x", deb, root)
        version = run("dpkg-deb", "-f", deb, "Version").strip()
        out[package] = (root / CASES[package][0], names, "v" + version.split("-")[0])
    return out


@pytest.mark.parametrize("package", sorted(CASES))
def test_modules_of_a_gopath_build(package: str,
                                   programs: dict[str, tuple[Path, set[str], str]]) -> None:
    program, built_using, version = programs[package]
    artifact = scan_file(str(program))
    assert artifact.go is not None and artifact.go.main is None and not artifact.go.deps
    inferred = [c for c in artifact.components if c.found_by == "go pclntab"]
    (main,) = [c for c in inferred if c.kind is ComponentKind.GO_MAIN_MODULE]
    assert main.name == CASES[package][1]
    libraries = {debian_name(c.name) for c in inferred if c.kind is ComponentKind.GO_MODULE}
    # every module inferred is one Debian built it with (a library all of whose code the
    # linker dropped leaves no function, so Built-Using may name more)
    assert libraries and libraries <= built_using, (libraries, built_using)
    for c in inferred:
        if c is main:
            continue
        assert not c.version and c.purl == f"pkg:golang/{c.name}"
        (evidence,) = c.evidence
        assert evidence.confidence == 0.5 and "no version" in evidence.note
    # the main program's version: the one version-like string standing alone in its read-only
    # data, which is the Debian package's upstream version; said to be weak evidence
    assert (main.version, main.purl) == (version, f"pkg:golang/{main.name}@{version}")
    names, found = main.evidence
    assert names.confidence == 0.5 and found.confidence == 0.3
    assert found.location == ".rodata" and "only version-like string" in found.note
    assert any("GOPATH build" in w for b in artifact.binaries for w in b.warnings)


def test_module_builds_are_left_to_their_build_info() -> None:
    root = Path(__file__).resolve().parents[2]
    artifact = scan_file(str(root / "tests" / "assets" / "bin" / "go-linux-amd64"))
    assert not [c for c in artifact.components if c.found_by == "go pclntab"]


def _gopath_build(go_tool: str, root: Path, main_go: str, *flags: str) -> Path:
    import os
    import subprocess

    (root / "src" / "example.com" / "tool" / "lib").mkdir(parents=True)
    (root / "src" / "example.com" / "tool" / "lib" / "lib.go").write_text(
        'package lib\n\nimport "fmt"\n\nfunc Greet(v ...string) { fmt.Println("tool", v) }\n')
    (root / "src" / "example.com" / "tool" / "main.go").write_text(main_go)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "CGO_"))}
    env.update(GO111MODULE="off", GOPATH=str(root), CGO_ENABLED="0",
               GOCACHE=os.environ.get("GOCACHE", str(root / "cache")))
    out = root / "tool"
    subprocess.run([go_tool, "build", "-trimpath", *flags, "-o", str(out), "."],
                   cwd=root / "src" / "example.com" / "tool", env=env, check=True,
                   capture_output=True)
    return out


def test_a_gopath_main_version_only_when_one_string_can_be_it(go_tool: str,
                                                              tmp_path: Path) -> None:
    main_go = ('package main\n\nimport "example.com/tool/lib"\n\nvar Version = "dev"\n\n'
               'func main() { lib.Greet(Version) }\n')
    one = _gopath_build(go_tool, tmp_path / "one", main_go, "-ldflags=-X main.Version=2.4.6")
    (main,) = [c for c in scan_file(str(one)).components
               if c.kind is ComponentKind.GO_MAIN_MODULE]
    assert (main.name, main.version) == ("example.com/tool", "v2.4.6")
    # a second version-like string: either could be the program's, so neither is claimed
    two = _gopath_build(go_tool, tmp_path / "two", main_go.replace(
        "lib.Greet(Version)", "lib.Greet(Version, Proto)") + 'const Proto = "\\x011.3.0\\x00"\n',
        "-ldflags=-X main.Version=2.4.6")
    (main,) = [c for c in scan_file(str(two)).components
               if c.kind is ComponentKind.GO_MAIN_MODULE]
    assert main.name == "example.com/tool" and main.version == ""


#: More of Debian's GOPATH builds: package -> (program, its main module). Their versions carry
#: repack suffixes (`1.1.5+ds1`, `2.23.0+dfsg1`, `1.19.2~ds1`) that are not the program's.
MORE = {"runc": ("usr/sbin/runc", "github.com/opencontainers/runc"),
        "gh": ("usr/bin/gh", "github.com/cli/cli/v2"),
        "caddy": ("usr/bin/caddy", "github.com/caddyserver/caddy/v2"),
        "syncthing": ("usr/bin/syncthing", "github.com/syncthing/syncthing")}


@pytest.mark.parametrize("package", sorted(MORE))
def test_the_main_program_and_its_version(package: str, tmp_path: Path) -> None:
    (deb,) = debs((package,))
    version = run("dpkg-deb", "-f", deb, "Version").strip()
    upstream = re.match(r"\d+(?:\.\d+)*", version)
    assert upstream is not None, version
    run("dpkg-deb", "-x", deb, tmp_path)
    artifact = scan_file(str(tmp_path / MORE[package][0]))
    (main,) = [c for c in artifact.components if c.kind is ComponentKind.GO_MAIN_MODULE]
    assert (main.name, main.version) == (MORE[package][1], f"v{upstream.group()}")


def test_modules_on_go_hosts_and_escaped_paths(tmp_path: Path) -> None:
    # Debian's etcd: its own module and bbolt live on go.etcd.io (a `go.` host, not a runtime
    # symbol), and the linker writes gopkg.in/yaml.v2's functions as gopkg.in/yaml%2ev2.*
    (deb,) = debs(("etcd-server",))
    run("dpkg-deb", "-x", deb, tmp_path)
    artifact = scan_file(str(tmp_path / "usr" / "bin" / "etcd"))
    named = {c.name: c.kind for c in artifact.components if c.found_by == "go pclntab"}
    assert named["go.etcd.io/etcd"] is ComponentKind.GO_MAIN_MODULE
    assert named["go.etcd.io/bbolt"] is ComponentKind.GO_MODULE
    assert "gopkg.in/yaml.v2" in named and not any("%" in n for n in named)
