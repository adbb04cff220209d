"""The only package that imports sigstore-python: `sign` (keyless signing) and `verify`.

Importing this package imports nothing from sigstore; each submodule loads what it needs, so
a managed-key verification never pays for sigstore's import.
"""
