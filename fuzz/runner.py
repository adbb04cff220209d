"""Run the fuzz harnesses of `fuzz/harnesses.py` with atheris (libFuzzer), or replay corpora.

    .venv/bin/python fuzz/runner.py --seconds 10            # every harness, 10 s each (CI)
    .venv/bin/python fuzz/runner.py sbom_read --seconds 3600 # one harness, an hour (releases)
    .venv/bin/python fuzz/runner.py --replay                # every seed and finding, no fuzzing

Each harness runs in its own process, one after the other, from a scratch copy of its seed
corpus (`fuzz/corpus/<name>/`), with a per-input time limit (`--input-timeout`) and a memory
limit (`--rss-mb`). An input that lets anything but sbomsign's own error escape, hangs, or
uses too much memory is written to `fuzz/findings/<name>-...` and the run exits 1; a finding
that has been fixed is kept in `fuzz/regressions/<name>/` as a regression seed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
CORPUS = FUZZ / "corpus"
FINDINGS = FUZZ / "findings"
#: Fixed findings, kept apart from the seeds `fuzz/seeds.py` rebuilds.
REGRESSIONS = FUZZ / "regressions"


def _child(name: str, libfuzzer_args: list[str]) -> None:
    import atheris

    sys.path.insert(0, str(ROOT))
    with atheris.instrument_imports(include=["sbomsign"]):
        import harnesses

        try:
            # The parsers are imported on first use; import them here, instrumented.
            harnesses.check(name, b"")
        except Exception:  # noqa: S110 - an empty input's outcome is not the point here
            pass
    atheris.Setup([sys.argv[0], *libfuzzer_args], lambda data: harnesses.check(name, data))
    atheris.Fuzz()


def _fuzz(name: str, seconds: int, input_timeout: int, rss_mb: int) -> bool:
    FINDINGS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"sbomsign-fuzz-{name}-") as scratch:
        corpus = Path(scratch) / "corpus"
        shutil.copytree(CORPUS / name, corpus)
        for fixed in sorted((REGRESSIONS / name).glob("*")):
            shutil.copy(fixed, corpus / f"regression-{fixed.name}")
        args = [
            f"-max_total_time={seconds}",
            f"-timeout={input_timeout}",
            f"-rss_limit_mb={rss_mb}",
            f"-artifact_prefix={FINDINGS}/{name}-",
            "-print_final_stats=1",
            str(corpus),
        ]
        started = time.monotonic()
        proc = subprocess.run(  # noqa: S603 - this very script, with fixed arguments
            [sys.executable, __file__, "--child", name, "--", *args],
            capture_output=True,
            text=True,
            check=False,
        )
    runs = next(
        (line.split(":")[-1].strip() for line in proc.stderr.splitlines()
         if line.startswith("stat::number_of_executed_units")),
        "?",
    )
    took = time.monotonic() - started
    verdict = "ok" if proc.returncode == 0 else "FINDING"
    print(f"{name:20} {verdict:8} {runs:>9} executions in {took:5.1f} s")
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
    return proc.returncode == 0


def _replay() -> bool:
    sys.path.insert(0, str(FUZZ))
    import harnesses

    ok = True
    for name in harnesses.HARNESSES:
        files = [*sorted((CORPUS / name).glob("*")), *sorted((REGRESSIONS / name).glob("*")),
                 *sorted(FINDINGS.glob(f"{name}-*"))]
        for path in files:
            try:
                harnesses.check(name, path.read_bytes())
            except Exception as e:  # noqa: BLE001 - every escape is reported
                ok = False
                print(f"{name}: {path.name}: {type(e).__name__}: {e}", file=sys.stderr)
        print(f"{name:20} replayed {len(files)} inputs")
    return ok


def main() -> int:
    """Fuzz or replay; exit 1 on any finding."""
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[4:])
        return 0
    sys.path.insert(0, str(FUZZ))
    import harnesses

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="harnesses (default: all)")
    ap.add_argument("--seconds", type=int, default=10, help="fuzzing time per harness")
    ap.add_argument("--input-timeout", type=int, default=10, help="seconds one input may take")
    ap.add_argument("--rss-mb", type=int, default=2048, help="memory limit of a harness")
    ap.add_argument("--replay", action="store_true", help="only replay seeds and findings")
    args = ap.parse_args()
    if args.replay:
        return 0 if _replay() else 1
    names = args.names or list(harnesses.HARNESSES)
    unknown = [n for n in names if n not in harnesses.HARNESSES]
    if unknown:
        ap.error(f"unknown harness {unknown[0]!r} (one of {', '.join(harnesses.HARNESSES)})")
    results = [_fuzz(n, args.seconds, args.input_timeout, args.rss_mb) for n in names]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
