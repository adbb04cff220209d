"""The OpenChain Telco SBOM Guide profile: the Telco working group's own validator
(`openchain-telco-sbom-validator`, PyPI) passes sbomsign's SPDX JSON and tag-value of every
fixture binary and test image, against guides 1.1 and 1.2, in its default and strict modes;
breaking one required field makes it (and sbomsign's own check) fail; the values the profile
fills in are the honest ones the README names."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sbomsign import sbom
from sbomsign.errors import SbomError
from sbomsign.models import ComponentKind, Inventory
from sbomsign.scan import scan_file, scan_paths
from tests.images import build

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "tests" / "assets" / "bin"
FIXTURES = sorted(p.name for p in BIN.iterdir() if p.is_file())
SUPPLIER = "Organization: Example Telco Ltd (sbom@example.com)"
AUTHOR = "Organization: Example Telco Ltd Release Engineering (release@example.com)"
MODES = [(guide, strict) for guide in ("1.1", "1.2") for strict in (False, True)]


@pytest.fixture(scope="module")
def validate() -> Callable[[Path], list[str]]:
    """The Telco validator, in this process: its problems in every guide version and mode."""
    from openchain_telco_sbom_validator.validator import Validator

    validator = Validator()

    def run(path: Path) -> list[str]:
        found = []
        logging.disable(logging.CRITICAL)  # it logs each problem besides returning it
        try:
            for guide, strict in MODES:
                with contextlib.redirect_stdout(io.StringIO()):
                    ok, problems = validator.validate(str(path), strict=strict,
                                                      guide_version=guide)
                found += [f"{guide}{' strict' if strict else ''}: {p.SPDX_ID}: {p.Reason}"
                          for p in problems]
                assert ok == (not problems)
        finally:
            logging.disable(logging.NOTSET)
        return found

    return run


def _write(subject: Any, fmt: str, dest: Path, **kwargs: Any) -> Path:
    dest.write_bytes(sbom.write(subject, fmt, supplier=SUPPLIER, author=AUTHOR,
                                profile="openchain-telco", **kwargs))
    return dest


def _both(subject: Any, tmp_path: Path, validate: Callable[[Path], list[str]]) -> None:
    from ntia_conformance_checker import SbomChecker

    for fmt, suffix in (("spdx-json", ".spdx.json"), ("spdx-tv", ".spdx")):
        path = _write(subject, fmt, tmp_path / f"doc{suffix}")
        assert validate(path) == []
        assert sbom.telco_problems(path.read_bytes(), path.name) == []
        # the validator runs ntia-conformance-checker too; asked directly, it agrees
        assert SbomChecker(str(path)).compliant


@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_passes_the_telco_validator(name: str, tmp_path: Path,
                                                  validate: Callable[[Path], list[str]]) -> None:
    _both(scan_file(str(BIN / name)), tmp_path, validate)


def test_every_test_image_passes_the_telco_validator(tmp_path: Path,
                                                     validate: Callable[[Path], list[str]]
                                                     ) -> None:
    images = build(ROOT / ".cache" / "images")
    names = [f"oci-dir:{images / 'oci'}:distroless", f"oci-dir:{images / 'oci'}:glibc",
             f"docker-archive:{images / 'glibc.docker.tar'}",
             f"oci-dir:{ROOT / 'tests' / 'assets' / 'images' / 'demo-oci'}"]
    for name in names:
        inventory = scan_paths([name], jobs=2)
        assert not inventory.problems and inventory.containers
        _both(inventory, tmp_path, validate)
    index = scan_paths([f"oci-dir:{images / 'oci'}:svc"], jobs=2)
    assert len(index.containers) == 3
    for container in index.containers:
        _both_container(index, container, tmp_path, validate)


def _both_container(inventory: Inventory, container: Any, tmp_path: Path,
                    validate: Callable[[Path], list[str]]) -> None:
    path = tmp_path / "platform.spdx.json"
    path.write_bytes(sbom.write(inventory, "spdx-json", supplier=SUPPLIER, author=AUTHOR,
                                profile="openchain-telco", container=container))
    assert validate(path) == []


def test_a_merged_release_passes(tmp_path: Path, validate: Callable[[Path], list[str]]) -> None:
    builds = [scan_file(str(BIN / n)) for n in ("go-linux-amd64", "go-linux-arm64",
                                                 "go-linux-loong64")]
    path = _write(builds, "spdx-json", tmp_path / "release.spdx.json", merge=True)
    assert validate(path) == []
    doc = json.loads(path.read_text())
    stdlib = next(p for p in doc["packages"] if p["name"] == "stdlib")
    # compiled into three files, its checksum is the first one's, and the others are named
    assert "also compiled into go-linux-arm64, go-linux-loong64" in stdlib["comment"]


def _package(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in doc["packages"] if p["name"] == name)


def test_the_values_filled_in_are_the_honest_ones(tmp_path: Path) -> None:
    program = scan_file(str(BIN / "go-linux-loong64"))
    doc = json.loads(_write(program, "spdx-json", tmp_path / "d.spdx.json").read_text())
    artifact = _package(doc, "go-linux-loong64")
    file_sums = {c["algorithm"]: c["checksumValue"] for c in artifact["checksums"]}
    module = next(c for c in program.components
                  if c.kind is ComponentKind.GO_MODULE and c.go_sum)
    package = _package(doc, module.name)
    # a compiled-in module: the delivered file's checksums, said so, and never its h1: sum
    assert {c["algorithm"]: c["checksumValue"] for c in package["checksums"]} == file_sums
    assert ("sbomsign:telco:checksum-of=go-linux-loong64, the delivered file this package "
            "is compiled into") in package["comment"]
    assert module.go_sum.removeprefix("h1:") not in json.dumps(package["checksums"])
    # the distribution source is the supplier; nothing is derived from the module path
    assert package["supplier"] == SUPPLIER and "originator" not in package
    # the (devel) main module states the file's digest as its version, and says so
    main = next(p for p in doc["packages"] if p["SPDXID"].startswith("SPDXRef-GoMain-"))
    assert main["versionInfo"] == "sha256:" + file_sums["SHA256"]
    assert "sbomsign:telco:stated-version=" in main["comment"]
    assert any(c.startswith("Organization: Example Telco Ltd Release")
               for c in doc["creationInfo"]["creators"])
    # read back, the components are what the build recorded
    back = sbom.read(json.dumps(doc).encode(), "d.spdx.json").artifacts[0]
    recorded = {c.name: c.version for c in program.components}
    assert {c.name: c.version for c in back.components} == recorded


def test_libraries_the_file_does_not_hold_are_known_unknowns(tmp_path: Path) -> None:
    program = scan_file(str(BIN / "c-hello-plain"))
    for fmt, suffix in (("spdx-json", ".spdx.json"), ("spdx-tv", ".spdx")):
        path = _write(program, fmt, tmp_path / f"c{suffix}")
        text = path.read_text()
        assert "libc.so.6: a library the file loads that this delivery does not hold" in text
        back = sbom.read(path.read_bytes(), path.name)
        assert [a.name for a in back.artifacts] == ["c-hello-plain"]
    doc = json.loads((tmp_path / "c.spdx.json").read_text())
    assert [p["name"] for p in doc["packages"]] == ["c-hello-plain"]
    unknown = [r for r in doc["relationships"] if r["relatedSpdxElement"] == "NOASSERTION"]
    assert [r["relationshipType"] for r in unknown] == ["DYNAMIC_LINK"]
    # an OS package inside an image keeps its own maintainer, as the originator
    images = build(ROOT / ".cache" / "images")
    inventory = scan_paths([f"oci-dir:{images / 'oci'}:glibc"], jobs=2)
    doc = json.loads(sbom.write(inventory, "spdx-json", supplier=SUPPLIER, author=AUTHOR,
                                profile="openchain-telco"))
    libc6 = _package(doc, "libc6")
    assert libc6["supplier"] == SUPPLIER
    assert libc6["originator"].startswith("Organization: GNU Libc Maintainers")
    assert "which this package is installed in" in libc6["comment"]
    assert not [r for r in doc["relationships"] if r["relatedSpdxElement"] == "NOASSERTION"]


@pytest.mark.parametrize(("break_it", "validator_says", "check_says"), [
    (lambda d: d["creationInfo"].pop("comment"), "CreatorComment is missing", "CreatorComment"),
    (lambda d: d["creationInfo"].update(creators=["Tool: sbomsign-0.1.0"]),
     "no Creator field with Organization", "Organization keyword"),
    (lambda d: d["packages"][1].pop("supplier"), "no package supplier and no package originator",
     "PackageSupplier or PackageOriginator: 1 component(s)"),
    (lambda d: d["packages"][1].pop("checksums"), "Both PackageChecksum and PackageVerification",
     "PackageChecksum or PackageVerificationCode: 1 component(s)"),
    (lambda d: d["packages"][1].pop("versionInfo"), "Package without a version",
     "PackageVersion: 1 component(s)"),
])
def test_breaking_a_required_field_fails_both_checks(
        break_it: Callable[[dict[str, Any]], Any], validator_says: str, check_says: str,
        tmp_path: Path, validate: Callable[[Path], list[str]]) -> None:
    program = scan_file(str(BIN / "go-linux-loong64"))
    doc = json.loads(sbom.write(program, "spdx-json", supplier=SUPPLIER, author=AUTHOR,
                                profile="openchain-telco"))
    break_it(doc)
    path = tmp_path / "broken.spdx.json"
    path.write_text(json.dumps(doc))
    assert any(validator_says in p for p in validate(path))
    assert any(check_says in line for line in sbom.telco_problems(path.read_bytes(), "b"))


def test_the_profile_refuses_what_it_cannot_write() -> None:
    program = scan_file(str(BIN / "go-linux-loong64"))
    with pytest.raises(SbomError, match="SPDX 2.3"):
        sbom.write(program, "cyclonedx-json", supplier=SUPPLIER, author=AUTHOR,
                   profile="openchain-telco")
    with pytest.raises(SbomError, match="needs --supplier"):
        sbom.write(program, "spdx-json", author=AUTHOR, profile="openchain-telco")
    with pytest.raises(SbomError, match="Organization keyword"):
        sbom.write(program, "spdx-json", supplier=SUPPLIER, author="Person: Jo (jo@example.com)",
                   profile="openchain-telco")


def test_the_check_command_and_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    from sbomsign._cli import main

    program = str(BIN / "go-linux-loong64")
    good = tmp_path / "good.spdx"
    assert main(["sbom", program, "--format", "spdx-tv", "-o", str(good), "--supplier", SUPPLIER,
                 "--author", AUTHOR, "--profile", "openchain-telco"]) == 0
    plain = tmp_path / "plain.spdx.json"
    assert main(["sbom", program, "--format", "spdx-json", "-o", str(plain)]) == 0
    cdx = tmp_path / "doc.cdx.json"
    assert main(["sbom", program, "-o", str(cdx)]) == 0
    capsys.readouterr()
    assert main(["sbom", "--check", "openchain-telco", str(good)]) == 0
    assert "OpenChain Telco SBOM Guide 1.2: every required field present" in \
        capsys.readouterr().out
    assert main(["sbom", "--check", "openchain-telco", str(good), str(plain)]) == 1
    out = capsys.readouterr().out
    assert f"{plain}: OpenChain Telco SBOM Guide 1.2:" in out
    assert "3.5 Creator with the Organization keyword" in out
    assert main(["sbom", "--check", "openchain-telco", str(cdx)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "reads SPDX 2" in err


def test_a_policy_can_require_the_telco_profile() -> None:
    from tests.profile_policy import profile_results

    program = scan_file(str(BIN / "go-linux-loong64"))

    def results(data: bytes) -> dict[str, Any]:
        return profile_results("openchain-telco", data, "spdx", "https://spdx.dev/Document")

    good = sbom.write(program, "spdx-json", supplier=SUPPLIER, author=AUTHOR,
                      profile="openchain-telco")
    assert results(good)["sbom.profile"].passed
    failed = results(sbom.write(program, "spdx-json"))["sbom.profile"]
    assert not failed.passed
    assert "OpenChain Telco SBOM Guide 1.2" in failed.message
    assert "PackageSupplier or PackageOriginator" in failed.message
