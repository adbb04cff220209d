"""`sbomsign scan` end to end, in-process: output, files, exit codes, stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sbomsign._cli import main
from sbomsign.models import INVENTORY_SCHEMA
from tests.conftest import BIN


def test_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(BIN / "go-linux-loong64")]) == 0
    out = capsys.readouterr().out
    assert "elf loongarch64 64-bit little-endian linux" in out
    assert "pkg:golang/stdlib@1.19" in out
    assert "GOARCH=loong64" in out


def test_json_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "inv.json"
    assert main(["scan", "--format", "json", "-o", str(out), str(BIN / "c-hello-hardened")]) == 0
    assert capsys.readouterr().out == ""
    doc = json.loads(out.read_text())
    assert doc["schema"] == INVENTORY_SCHEMA
    (art,) = doc["artifacts"]
    assert art["binaries"][0]["hardening"]["relro"] == "full"
    assert {c["ref"] for c in art["components"]} >= {
        "pkg:deb/debian/hello@1.0-1?arch=amd64&distro=debian-12"
    }


def test_bad_file_exit_2_and_others_still_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "empty"
    bad.write_bytes(b"")
    code = main(["scan", "--format", "json", str(bad), str(BIN / "go-linux-riscv64")])
    assert code == 2
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert [Path(a["path"]).name for a in doc["artifacts"]] == ["go-linux-riscv64"]
    assert doc["problems"] == [{"path": str(bad), "message": "empty file", "exit_code": 2}]
    lines = [ln for ln in captured.err.splitlines() if ln]
    assert lines == [f"sbomsign scan: error: {bad}: empty file"]


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan"]) == 2
    assert main(["scan", "--format", "yaml", str(BIN)]) == 2
    assert main(["scan", "--jobs", "-1", str(BIN / "c-hello-plain")]) == 2
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_python_m_entry_point(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "sbomsign", "scan", "--format", "json", str(BIN / "go-linux-386")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["artifacts"][0]["binaries"][0]["arch"] == "i386"


def test_json_validates_against_the_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    import jsonschema

    from sbomsign._internal import inventory_schema

    shipped = json.loads(
        (Path(inventory_schema.__file__).with_name("inventory_schema.json")).read_text()
    )
    # The shipped file is exactly what the model gives (regenerate with
    # `python -m sbomsign._internal.inventory_schema`).
    assert shipped == inventory_schema.schema()
    assert main(["scan", "--format", "json", str(BIN)]) == 0
    doc = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(shipped)
    jsonschema.validate(doc, shipped)
    assert len(doc["artifacts"]) > 30


def test_the_shipped_file_names_are_the_clis() -> None:
    # The GitHub Action's runner reads this file before sbomsign is installed; it must say
    # what the CLI does (`python -m sbomsign._cli.file_names` rewrites it).
    from sbomsign._cli import file_names

    assert file_names.FILE.read_text() == file_names.render()
    data = json.loads(file_names.FILE.read_text())
    assert data["sbomSuffixes"]["cyclonedx-json"] == ".cdx.json"
    assert data["bundleSuffix"] == ".sigstore.json"
