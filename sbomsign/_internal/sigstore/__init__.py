"""Sigstore, ours: verification natively, signing through sigstore-python.

Verification (cryptography and rfc3161-client only; importing sigstore-python costs more than
a whole verification, so the gate never does):

- `bundle` — Sigstore bundle JSON (v0.1–v0.3) into a `ParsedBundle`; `dsse` — DSSE envelopes,
  PAE, signing and verification with a managed key;
- `trustroot` — `trusted_root.json`: CAs, logs, TSAs and their validity periods, and the
  log/CT keys they hold;
- `rekor` — transparency-log entries: parsing, inclusion proofs, checkpoints, promises;
  `merkle` — RFC 6962 proofs and signed-note checkpoints;
- `bodies` — what an entry body must record, one row per entry kind and version
  (`ENTRY_KINDS`), shared by keyless and managed-key verification;
- `tsa` — RFC 3161 timestamps; `certs` — Fulcio chains, the certificate profile, SCTs and
  the identity and claims a certificate names;
- `keyless` — a keyless bundle end to end; `managed` — the log entries of a managed-key bundle.

Signing: `sign` is the only module of sbomsign that imports sigstore-python (keyless signing,
trust configs, OIDC tokens). Importing this package imports nothing from sigstore.
"""
