#!/usr/bin/env python3
"""Build a file-based Go module proxy from module sources.

Usage: goproxy.py SRC_DIR OUT_DIR

SRC_DIR holds one directory per module version, named "<module path>@<version>"
(for example "example.com/Acme/Widgets@v0.4.1"). OUT_DIR receives the layout the
go command reads through GOPROXY=file://OUT_DIR:

    <escaped module>/@v/list
    <escaped module>/@v/<version>.info
    <escaped module>/@v/<version>.mod
    <escaped module>/@v/<version>.zip   (entries "<module>@<version>/<file>")

Upper-case letters in module paths are escaped as "!" plus the lower-case
letter, as the module proxy protocol requires. Output is deterministic: fixed
timestamps, sorted zip entries.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import zipfile
from pathlib import Path

# Commit time reported by every .info file.
INFO_TIME = "2024-01-01T00:00:00Z"
ZIP_DATE = (2024, 1, 1, 0, 0, 0)
VERSION_RE = re.compile(r"^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")


def escape(path: str) -> str:
    return "".join("!" + c.lower() if c.isupper() else c for c in path)


def version_key(v: str) -> tuple[int, ...]:
    core = v[1:].split("-", 1)[0]
    return tuple(int(x) for x in core.split("."))


def find_module_dirs(src: Path) -> list[tuple[str, str, Path]]:
    found = []
    for d in sorted(p for p in src.rglob("*@*") if p.is_dir()):
        rel = d.relative_to(src).as_posix()
        module, _, version = rel.rpartition("@")
        if "@" in module or not VERSION_RE.match(version):
            continue
        if not (d / "go.mod").is_file():
            raise SystemExit(f"{d}: missing go.mod")
        found.append((module, version, d))
    return found


def write_zip(dest: Path, module: str, version: str, root: Path) -> None:
    prefix = f"{module}@{version}/"
    files = sorted(p for p in root.rglob("*") if p.is_file())
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            info = zipfile.ZipInfo(prefix + f.relative_to(root).as_posix(), ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, f.read_bytes())


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    if out.exists():
        shutil.rmtree(out)
    versions: dict[str, list[str]] = {}
    for module, version, d in find_module_dirs(src):
        declared = (d / "go.mod").read_text().split("\n", 1)[0].split()
        if declared[:1] != ["module"]:
            raise SystemExit(f"{d}/go.mod: first line must be the module directive")
        vdir = out / escape(module) / "@v"
        vdir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(d / "go.mod", vdir / f"{version}.mod")
        (vdir / f"{version}.info").write_text(
            json.dumps({"Version": version, "Time": INFO_TIME}) + "\n"
        )
        write_zip(vdir / f"{version}.zip", module, version, d)
        versions.setdefault(module, []).append(version)
    for module, vs in versions.items():
        vs.sort(key=version_key)
        (out / escape(module) / "@v" / "list").write_text("".join(v + "\n" for v in vs))
    for module, vs in sorted(versions.items()):
        print(f"goproxy: {module} {' '.join(vs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
