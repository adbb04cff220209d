"""Time the verify gate against sigstore-python's `sigstore verify identity --offline`.

    .venv/bin/python benchmarks/bench_verify.py [--repeat N] [--many N]

Material is made here, keyless through the private Sigstore instance (tests/sigstore_local on
127.0.0.1): one fixture binary with its signature bundle and two attestations (CycloneDX and
SPDX). Each command runs in a fresh process, one after the other; wall time is the best of
`--repeat` runs. Printed:

- `sigstore verify identity --offline` on the signature bundle alone (its CLI cannot check the
  attestations), and `sbomsign verify` on the artifact with all three bundles — the ratio is the
  issue's target (<= 0.5);
- `sbomsign verify` of `--many` artifacts in one invocation versus that many invocations;
- the public staging instance's Rekor v2 bundle (tile log, RFC 3161 timestamp) against
  `sigstore --staging verify identity --offline`, and the same bundle without its log entry
  (the shape of GitHub's instance for private repositories, which sigstore-python cannot
  verify) through `sbomsign verify --tlog-threshold 0 --timestamp-threshold 1` alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent


def best_wall(cmd: list[str], repeat: int, env: dict[str, str] | None = None) -> float:
    """Best wall time of `repeat` fresh runs; the command must succeed."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, env=env or os.environ, check=False)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.decode()[-2000:]}")
        best = min(best, wall)
    return best


def main() -> int:
    """Make the material, run both verifiers, print the ratios."""
    from tests.sigstore_local.instance import LocalSigstore

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--many", type=int, default=100)
    args = ap.parse_args()
    sbomsign = [str(BIN / "sbomsign")]
    work = Path(tempfile.mkdtemp(prefix="sbomsign-bench-verify-"))
    try:
        with LocalSigstore(work / "sigstore") as inst:
            env = dict(os.environ, SIGSTORE_ID_TOKEN=inst.email_token("alice@example.com"))
            cfg, root = str(inst.trust_config_path), str(inst.trusted_root_path)
            art = work / "demo-svc-linux-loong64"
            shutil.copy(ROOT / "tests/assets/bin/go-linux-loong64", art)
            subprocess.run([*sbomsign, "sign", "--trust-config", cfg, str(art)], env=env,
                           check=True, capture_output=True)
            for kind in ("cyclonedx", "spdx"):
                subprocess.run([*sbomsign, "attest", "--trust-config", cfg, "--type", kind,
                                str(art)], env=env, check=True, capture_output=True)
            identity = ["--certificate-identity", "alice@example.com",
                        "--certificate-oidc-issuer", inst.issuer]
            theirs = best_wall(
                [str(BIN / "sigstore"), "--trust-config", cfg, "verify", "identity", "--offline",
                 "--bundle", f"{art}.sigstore.json", "--cert-identity", "alice@example.com",
                 "--cert-oidc-issuer", inst.issuer, str(art)], args.repeat)
            ours = best_wall([*sbomsign, "verify", "--trusted-root", root, *identity, str(art)],
                             args.repeat)
            print(f"{'sigstore verify identity --offline (signature only)':55} {theirs:7.3f} s")
            print(f"{'sbomsign verify (signature + 2 attestations)':55} {ours:7.3f} s"
                  f"  {ours / theirs:5.2f}x")

            many = work / "many"
            many.mkdir()
            for i in range(args.many):
                f = many / f"artifact-{i:03d}"
                f.write_bytes(os.urandom(4096))
            subprocess.run([*sbomsign, "sign", "--trust-config", cfg,
                            *[str(p) for p in sorted(many.iterdir())]], env=env, check=True,
                           capture_output=True)
            files = sorted(p for p in many.iterdir() if not p.name.endswith(".json"))
            one = best_wall([*sbomsign, "verify", "--trusted-root", root, *identity,
                             *[str(p) for p in files]], 1)
            start = time.perf_counter()
            for p in files:
                subprocess.run([*sbomsign, "verify", "--trusted-root", root, *identity, str(p)],
                               check=True, capture_output=True)
            separate = time.perf_counter() - start
            print(f"{f'sbomsign verify, {args.many} artifacts in one invocation':55} {one:7.3f} s")
            print(f"{f'sbomsign verify, {args.many} invocations':55} {separate:7.3f} s"
                  f"  {one / separate:5.2f}x")
        _public_bundles(sbomsign, work, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _public_bundles(sbomsign: list[str], work: Path, repeat: int) -> None:
    import json

    public = ROOT / "tests" / "assets" / "public-bundles"
    artifact = public / "staging-rekor-v2.txt"
    bundle = public / "staging-rekor-v2.txt.sigstore.json"
    identity = ("jku@goto.fi", "https://github.com/login/oauth")
    theirs = best_wall(
        [str(BIN / "sigstore"), "--staging", "verify", "identity", "--offline", "--bundle",
         str(bundle), "--cert-identity", identity[0], "--cert-oidc-issuer", identity[1],
         str(artifact)], repeat)
    flags = ["--certificate-identity", identity[0], "--certificate-oidc-issuer", identity[1]]
    root = public / "staging-trusted_root.json"
    ours = best_wall([*sbomsign, "verify", "--trusted-root", str(root), "--bundle", str(bundle),
                      *flags, str(artifact)], repeat)
    print(f"{'sigstore --staging verify identity (Rekor v2 + TSA)':55} {theirs:7.3f} s")
    print(f"{'sbomsign verify (Rekor v2 + TSA)':55} {ours:7.3f} s  {ours / theirs:5.2f}x")
    doc = json.loads(bundle.read_bytes())
    doc["verificationMaterial"]["tlogEntries"] = []
    logless = work / "logless.sigstore.json"
    logless.write_text(json.dumps(doc))
    ours = best_wall([*sbomsign, "verify", "--trusted-root", str(root), "--bundle", str(logless),
                      "--tlog-threshold", "0", "--timestamp-threshold", "1", *flags,
                      str(artifact)], repeat)
    print(f"{'sbomsign verify (no log entry, TSA only)':55} {ours:7.3f} s")


if __name__ == "__main__":
    raise SystemExit(main())
