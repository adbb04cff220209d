"""`scripts/offline-bundle`: one archive that installs sbomsign on a host without a network.

Built here for this machine's platform and Python only (the default is both Linux
architectures and three Python versions), signed with the golden release key; then unpacked
and installed into a fresh virtual environment with pip's network cut off, and used."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import ASSETS, BIN

ROOT = Path(__file__).resolve().parents[2]
MATERIAL = ASSETS / "golden" / "material"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("offline")
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    done = subprocess.run(
        ["scripts/offline-bundle", str(out), "--platform", platform.machine(), "--python", py,
         "--key", str(MATERIAL / "release.key")],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    archive = Path(done.stdout.strip().splitlines()[-1])
    assert archive.parent == out and archive.name.endswith(".tar.gz")
    return archive


def test_the_archive_is_signed_described_and_verifies(bundle: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sbomsign", "verify", "--key",
                           str(MATERIAL / "release.pub"), str(bundle)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pass  signature: signed by key" in done.stdout
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
        top = names[0].split("/")[0]
        assert {f"{top}/install.sh", f"{top}/requirements.txt"} <= set(names)
        wheels = [n for n in names if n.startswith(f"{top}/wheelhouse/") and n.endswith(".whl")]
        sboms = [n for n in names if n.startswith(f"{top}/sboms/")]
        assert any("/sbomsign-" in w for w in wheels) and any("/lief-" in w for w in wheels)
        assert len(sboms) == len(wheels)
        requirements = tar.extractfile(f"{top}/requirements.txt")
        assert requirements is not None
        text = requirements.read().decode()
    assert text.count("--hash=sha256:") >= len(wheels)



def test_the_archive_has_one_sbom_of_everything_in_it(bundle: Path) -> None:
    # Beside the archive: one document naming every wheel inside it as a pypi package and
    # the native libraries of each wheel, owned by it; attested with the same key.
    doc = json.loads(Path(f"{bundle}.cdx.json").read_text())
    assert doc["metadata"]["component"]["name"] == bundle.name
    with tarfile.open(bundle) as tar:
        wheels = [n.rsplit("/", 1)[1] for n in tar.getnames() if n.endswith(".whl")]
    pypi = {c["bom-ref"] for c in doc["components"] if c["bom-ref"].startswith("pkg:pypi/")}
    assert len(pypi) == len(wheels)
    lief = next(r for r in pypi if r.startswith("pkg:pypi/lief@"))
    edges = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert edges[lief], "lief's wheel holds its native extension"
    spdx = json.loads(Path(f"{bundle}.spdx.json").read_text())
    assert any(p.get("name") == "lief" for p in spdx["packages"])
    done = subprocess.run([sys.executable, "-m", "sbomsign", "verify", "--key",
                           str(MATERIAL / "release.pub"), "--format", "json", str(bundle)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (artifact,) = json.loads(done.stdout)["artifacts"]
    assert [a["predicateType"] for a in artifact["attestations"]] == [
        "https://cyclonedx.org/bom"]


def test_it_installs_and_runs_with_no_network(bundle: Path, tmp_path: Path) -> None:
    with tarfile.open(bundle) as tar:
        tar.extractall(tmp_path, filter="data")
    (top,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    # pip is told to use no index and no configuration, and any connection it tried would go
    # to a closed port: the install can only come from the bundle.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, http_proxy="http://127.0.0.1:9",
               https_proxy="http://127.0.0.1:9", no_proxy="")
    venv = tmp_path / "venv"
    done = subprocess.run([str(top / "install.sh"), str(venv)], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sbomsign" in done.stdout
    scan = subprocess.run([str(venv / "bin" / "sbomsign"), "scan", "--format", "json",
                           str(BIN / "go-linux-loong64")], capture_output=True, text=True,
                          timeout=120, check=False)
    assert scan.returncode == 0, scan.stderr
    (artifact,) = json.loads(scan.stdout)["artifacts"]
    assert artifact["binaries"][0]["go"]["go_version"] == "go1.19.8"
