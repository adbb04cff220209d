"""sbomsign: inventory compiled binaries, write SBOMs, sign and verify them.

Public modules (import them explicitly; importing `sbomsign` itself loads nothing heavy):

- `sbomsign.errors`: the exception hierarchy, each error with a user-facing message and exit code.
- `sbomsign.models`: the inventory model (frozen dataclasses) every other layer consumes.
- `sbomsign.scan`: binaries (ELF, PE, Mach-O) to an `Inventory`.
- `sbomsign.sbom`: CycloneDX and SPDX writers and readers.
- `sbomsign.sign`: Sigstore bundles and in-toto attestations, keyless or with managed keys.
- `sbomsign.verify`: signature and attestation verification.
- `sbomsign.policy`: the release policy evaluated by the verify gate.

Everything under `sbomsign._internal` and `sbomsign._cli` is private.
"""

__version__ = "0.1.0"
