"""`sbomsign sbom` end to end, in-process: files and names, formats, exit codes, stderr."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sbomsign import sbom
from sbomsign._cli import main

BIN = Path(__file__).resolve().parents[2] / "assets" / "bin"
GO = "go-linux-amd64"
RELEASE = ("go-linux-amd64", "go-linux-arm64", "go-linux-loong64")
ALL = "cyclonedx-json,cyclonedx-xml,spdx-json,spdx-tv"
SUFFIXES = (".cdx.json", ".cdx.xml", ".spdx.json", ".spdx")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SBOMSIGN_SUPPLIER", "SBOMSIGN_AUTHOR", "SBOMSIGN_FORMAT",
                "SBOMSIGN_SPEC_VERSION", "SOURCE_DATE_EPOCH"):
        monkeypatch.delenv(var, raising=False)


def copy(tmp_path: Path, *names: str) -> list[Path]:
    out = []
    for name in names:
        target = tmp_path / name
        shutil.copyfile(BIN / name, target)
        out.append(target)
    return out


def test_default_is_cyclonedx_json_beside_the_artifact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (art,) = copy(tmp_path, GO)
    assert main(["sbom", str(art)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    doc = json.loads((tmp_path / f"{GO}.cdx.json").read_text())
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.6"
    assert doc["metadata"]["component"]["name"] == GO
    assert sorted(p.name for p in tmp_path.iterdir()) == [GO, f"{GO}.cdx.json"]


def test_all_formats_into_output_dir(tmp_path: Path) -> None:
    out = tmp_path / "sboms" / "nested"
    args = ["sbom", str(BIN / GO), str(BIN / "c-hello-hardened"), "--format", ALL,
            "--output-dir", str(out), "--supplier", "Example Corp", "--author", "Release Bot"]
    assert main(args) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{a}{s}" for a in (GO, "c-hello-hardened") for s in SUFFIXES)
    for path in out.iterdir():
        data = path.read_bytes()
        assert sbom.ntia_problems(data, path.name) == []
        (art,) = sbom.read(data, path.name).artifacts
        assert path.name.startswith(art.name)


def test_repeated_format_option(tmp_path: Path) -> None:
    args = ["sbom", str(BIN / GO), "--format", "spdx-json", "--format", "spdx-tv,spdx-json",
            "--output-dir", str(tmp_path)]
    assert main(args) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{GO}.spdx", f"{GO}.spdx.json"]


def test_merge_default_name_and_place(tmp_path: Path) -> None:
    arts = copy(tmp_path, *RELEASE)
    args = ["sbom", *map(str, arts), "--merge", "--format", ALL]
    assert main(args) == 0
    for suffix in SUFFIXES:
        path = tmp_path / f"go-linux.merged{suffix}"
        inv = sbom.read(path.read_bytes(), path.name)
        assert sorted(a.name for a in inv.artifacts) == sorted(RELEASE)
    assert not list(tmp_path.glob(f"{GO}.*"))  # no per-artifact documents


def test_merge_to_named_file(tmp_path: Path) -> None:
    out = tmp_path / "release.spdx.json"
    args = ["sbom", *(str(BIN / n) for n in RELEASE), "--merge", "--format", "spdx-json",
            "-o", str(out)]
    assert main(args) == 0
    assert len(sbom.read(out.read_bytes()).artifacts) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["release.spdx.json"]


def test_stdout(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["sbom", str(BIN / GO), "--format", "cyclonedx-xml", "-o", "-"]) == 0
    out = capsysbinary.readouterr().out
    assert sbom.detect(out) is sbom.SbomFormat.CYCLONEDX_XML
    assert sbom.read(out).artifacts[0].name == GO


def test_env_supplier_author_and_ntia(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    monkeypatch.setenv("SBOMSIGN_SUPPLIER", "Organization: Example Corp (sec@example.org)")
    monkeypatch.setenv("SBOMSIGN_AUTHOR", "Person: Jane Doe")
    for fmt in ALL.split(","):
        assert main(["sbom", str(BIN / "c-hello-hardened"), "--format", fmt, "-o", "-"]) == 0
        assert sbom.ntia_problems(capsysbinary.readouterr().out) == []
    monkeypatch.delenv("SBOMSIGN_SUPPLIER")
    assert main(["sbom", str(BIN / GO), "--format", "spdx-json", "-o", "-"]) == 0
    out = capsysbinary.readouterr().out
    assert any("supplier" in p for p in sbom.ntia_problems(out))
    assert json.loads(out)["packages"][0]["supplier"] == "NOASSERTION"


def test_spec_version(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["sbom", str(BIN / GO), "--spec-version", "1.5", "-o", "-"]) == 0
    assert json.loads(capsysbinary.readouterr().out)["specVersion"] == "1.5"
    # The version is meant for CycloneDX; SPDX stays 2.3 beside it.
    assert main(["sbom", str(BIN / GO), "--spec-version", "2.3", "--format", "spdx-tv",
                 "-o", "-"]) == 0
    assert b"SPDXVersion: SPDX-2.3" in capsysbinary.readouterr().out


def test_reproducible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    runs = []
    for i in range(2):
        out = tmp_path / str(i)
        assert main(["sbom", *(str(BIN / n) for n in RELEASE), "--format", ALL,
                     "--output-dir", str(out)]) == 0
        assert main(["sbom", *(str(BIN / n) for n in RELEASE), "--format", ALL, "--merge",
                     "--output-dir", str(out)]) == 0
        runs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert len(runs[0]) == 4 * 4
    assert runs[0] == runs[1]


def test_unreadable_artifacts_reported_others_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (good,) = copy(tmp_path, GO)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    text = tmp_path / "notes.txt"
    text.write_text("not a binary\n")
    assert main(["sbom", str(empty), str(good), str(text), "--format", "spdx-json"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert f"sbomsign sbom: error: {empty}: empty file" in err
    assert any(line.startswith(f"sbomsign sbom: error: {text}: ") for line in err)
    assert (tmp_path / f"{GO}.spdx.json").is_file()
    assert not (tmp_path / "empty.spdx.json").exists()


def test_nothing_readable_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert main(["sbom", str(empty)]) == 2
    assert main(["sbom", str(tmp_path / "missing")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("args", [
    ["--format", "yaml"],
    ["--format", "spdx-json,cyclonedx-json", "-o", "x.json"],
    ["-o", "x.json", "--output-dir", "d"],
    ["--spec-version", "1.4"],
    ["--spec-version", "1.5", "--format", "spdx-json"],
    ["--jobs", "-1"],
    ["--supplier", "(nobody@example.org)"],
])
def test_usage_errors(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (art,) = copy(tmp_path, GO)
    assert main(["sbom", str(art), *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()
    assert sorted(p.name for p in tmp_path.iterdir()) == [GO]


def test_output_names_one_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "one.cdx.json"
    assert main(["sbom", *(str(BIN / n) for n in RELEASE), "-o", str(out)]) == 2
    assert "--merge" in capsys.readouterr().err
    assert not out.exists()


def test_write_failure_leaves_nothing_half_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    code = main(["sbom", str(BIN / GO), "--output-dir", str(blocker / "sub")])
    assert code == 2
    assert "sbomsign sbom: error:" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["not-a-dir"]


def test_no_temporary_files_left(tmp_path: Path) -> None:
    assert main(["sbom", str(BIN / GO), "--format", ALL, "--output-dir", str(tmp_path)]) == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_help_documents_merged_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sbom", "--help"]) == 0
    out = capsys.readouterr().out
    assert "<prefix>.merged.cdx.json" in out
    assert "SOURCE_DATE_EPOCH" in out


def test_scan_does_not_import_sbom_libraries() -> None:
    code = (
        "import sys\n"
        "from sbomsign._cli import main\n"
        f"main(['scan', {str(BIN / GO)!r}])\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('cyclonedx', 'spdx_tools', 'py_serializable', 'lxml')]\n"
        "sys.stderr.write(repr(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=120)
    assert result.stderr == "[]"
