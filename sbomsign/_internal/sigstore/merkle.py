"""RFC 6962 Merkle inclusion proofs and signed-note checkpoints.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sbomsign._internal.sigstore._json import _bytes
from sbomsign._internal.sigstore.trustroot import _DIGITS

if TYPE_CHECKING:
    pass

# NOTE: cryptography's x509 module is imported in the functions that read certificates:
# managed-key bundles without log entries never need it, and it is a noticeable part of
# start-up.


def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether `proof` shows `leaf` (the entry, unhashed) at `index` in the tree `root`.

    RFC 9162 2.1.3.2's algorithm over RFC 6962 hashing: it also rejects proofs of the wrong
    length.
    """
    if index >= size:
        return False
    fn, sn, r = index, size - 1, _leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint (C2SP signed-note around a tlog-checkpoint body)."""

    origin: str
    size: int
    root_hash: bytes
    note: bytes
    """The signed text: the body lines, each with its newline."""
    signatures: tuple[tuple[str, bytes, bytes], ...]
    """(signer name, 4-byte key hint, signature) per signature line."""


# One signature line of a signed note: em dash, space, name, space, base64, newline.
_NOTE_SIGNATURE = re.compile("\u2014 (\\S+) (\\S+)\n")


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a signed checkpoint.

    Raises:
        ValueError: it is malformed.
    """
    # NOTE: as sigstore-python (after Rekor's signed_note.go): exactly one blank line splits
    # the note from the signatures; signature lines are found by pattern, others ignored.
    if text.count("\n\n") != 1:
        raise ValueError("the note must have exactly one blank line")
    split = text.index("\n\n")
    note, block = text[: split + 1], text[split + 2 :]
    if not block or not block.endswith("\n"):
        raise ValueError("the signature block must end with a newline")
    signatures = []
    for name, encoded in _NOTE_SIGNATURE.findall(block):
        raw = _bytes(encoded, "a checkpoint signature")
        if len(raw) < 5:
            raise ValueError("a checkpoint signature is too short")
        signatures.append((name, raw[:4], raw[4:]))
    lines = note.strip().split("\n")
    if len(lines) < 3 or not lines[0]:
        raise ValueError("the checkpoint needs an origin, a size and a root hash")
    # NOTE: Stricter than sigstore-python, which reads the size with int() (signs, spaces
    # and underscores pass) and the hash with lenient base64: a log writes neither.
    if not _DIGITS.fullmatch(lines[1]):
        raise ValueError("the checkpoint's tree size is not a decimal number")
    return Checkpoint(
        origin=lines[0],
        size=int(lines[1]),
        root_hash=_bytes(lines[2], "the checkpoint's root hash"),
        note=note.encode("utf-8"),
        signatures=tuple(signatures),
    )


