"""What sbomsign and syft report for each kind of binary, on the same real files, and what the
version-string classifiers cost.

    .venv/bin/python benchmarks/bench_kinds.py [--repeat N]

The files come from Debian 12's own packages (`apt-get download`, cached in .cache/debs, as the
tests fetch them) and from tests/assets/bin; the truth for each is the package's upstream
version (or, for the fixtures built here, what went into them). Each tool runs in a fresh
process on one file at a time (`sbomsign scan FILE --format json`, `syft scan file:FILE -o
json`), one after the other. The table lists every component each reports, by name@version.

The classifier cost is measured in this process: a directory holding every file above is
scanned (one worker) with the built-in classifier table and with an empty one; the difference
over the full time is the share the classifiers take (the target is at most 10%).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench import syft_bin  # noqa: E402
from tests.images import debs, run  # noqa: E402

#: (kind, Debian package or "" for a fixture, file, what the truth is).
KINDS = [
    ("C program, version string", "bash", "bin/bash", "bash {v}"),
    ("C program, version string", "busybox", "bin/busybox", "busybox {v}"),
    ("C program, version string", "jq", "usr/bin/jq", "jq {v}"),
    ("C program, version string", "nginx", "usr/sbin/nginx", "nginx {v}"),
    ("C program, version string", "redis-tools", "usr/bin/redis-cli", "redis {v}"),
    ("C program, version string", "curl", "usr/bin/curl", "curl {v}"),
    ("C library, version string", "libssl3", "usr/lib/x86_64-linux-gnu/libcrypto.so.3",
     "openssl {v}"),
    ("C library, version string", "libsqlite3-0", "usr/lib/x86_64-linux-gnu/libsqlite3.so.0",
     "sqlite {v}"),
    ("C library, version string", "zlib1g", "lib/x86_64-linux-gnu/libz.so.1", "zlib {v}"),
    ("Windows DLL, version resource", "libz-mingw-w64",
     "usr/x86_64-w64-mingw32/lib/zlib1.dll", "zlib {v}"),
    ("Go program, GOPATH build (no modules)", "age", "usr/bin/age",
     "filippo.io/age {v}, its modules, stdlib"),
    ("Go program, GOPATH build (no modules)", "shfmt", "usr/bin/shfmt",
     "mvdan.cc/sh {v}, its modules, stdlib"),
    ("Rust program, no cargo-auditable", "ripgrep", "usr/bin/rg",
     "ripgrep {v} and its crates"),
    ("Go program, modules", "", "go-linux-amd64", "main module, 5 modules, stdlib"),
    ("Rust program, cargo-auditable", "", "c-hello-rust-audit", "5 crates"),
    ("C program, package note", "", "pe-hello-pkgnote.exe", "mingw64-hello 1.0-1.fc40"),
]


def _upstream(deb: Path) -> str:
    version = run("dpkg-deb", "-f", deb, "Version").strip()
    upstream = re.sub(r"^\d+:", "", version).rsplit("-", 1)[0]
    m = re.match(r"\d+(?:\.\d+)*", upstream)
    return m.group() if m else upstream


def _files(work: Path) -> list[tuple[str, Path, str]]:
    """(kind, file, truth) for every row, the packages unpacked under `work`."""
    packages = tuple(sorted({p for _, p, _, _ in KINDS if p}))
    unpacked = {}
    for deb in debs(packages):
        name = run("dpkg-deb", "-f", deb, "Package").strip()
        run("dpkg-deb", "-x", deb, work / name)
        unpacked[name] = _upstream(deb)
    out = []
    for kind, package, member, truth in KINDS:
        if package:
            path = (work / package / member).resolve()
            out.append((kind, path, truth.format(v=unpacked[package])))
        else:
            out.append((kind, ROOT / "tests" / "assets" / "bin" / member, truth))
    return out


def _sbomsign(path: Path) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "sbomsign", "scan", str(path), "--format",
                           "json"], capture_output=True, text=True, check=True)
    (artifact,) = json.loads(done.stdout)["artifacts"]
    return sorted(f"{c['name']}@{c.get('version') or '?'}" for c in artifact["components"]
                  if c.get("linking") not in ("dynamic", "dlopen"))


def _syft(path: Path) -> list[str]:
    done = subprocess.run([syft_bin(), "scan", f"file:{path}", "-o", "json", "-q"],
                          capture_output=True, text=True, check=True)
    return sorted(f"{a['name']}@{a.get('version') or '?'}"
                  for a in json.loads(done.stdout)["artifacts"])


def _shown(items: list[str], truth: str) -> str:
    """The components reported: all of a few; of many, the count, those the truth names, then
    those with a version."""
    if not items:
        return "nothing"
    if len(items) <= 3:
        return ", ".join(items)
    named = truth.split()[0].split("/")[-1]
    first = sorted(items, key=lambda i: (named not in i, i.endswith("@?"), i))[:2]
    versioned = sum(not i.endswith("@?") for i in items)
    return f"{len(items)} ({versioned} with a version): " + ", ".join(first) + ", …"


def _classifier_share(files: list[Path], repeat: int) -> tuple[float, float]:
    """Seconds to scan a directory of `files` with the built-in classifiers and without."""
    from sbomsign._internal.binary.detectors import classifiers
    from sbomsign.scan import scan_paths

    with tempfile.TemporaryDirectory() as d:
        for i, f in enumerate(files):
            shutil.copy(f, Path(d) / f"{i:02d}-{f.name}")

        def best() -> float:
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                scan_paths([d], jobs=1)
                times.append(time.perf_counter() - start)
            return min(times)

        with_table = best()
        saved = classifiers.builtin
        classifiers.builtin = lambda: ()  # type: ignore[assignment]  # forked workers see it
        try:
            without = best()
        finally:
            classifiers.builtin = saved  # type: ignore[method-assign]
    return with_table, without


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        rows = _files(Path(work))
        print("| kind | file | truth | sbomsign | syft |")
        print("|---|---|---|---|---|")
        for kind, path, truth in rows:
            print(f"| {kind} | `{path.name}` | {truth} | {_shown(_sbomsign(path), truth)} "
                  f"| {_shown(_syft(path), truth)} |")
        with_table, without = _classifier_share([p for _, p, _ in rows], args.repeat)
    share = (with_table - without) / with_table if with_table else 0.0
    print(f"\nclassifiers: directory scan {with_table:.3f} s with the table, {without:.3f} s "
          f"without: {share:.1%} of the wall time (target <= 10%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
