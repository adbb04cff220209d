"""An RFC 6962 Merkle tree (section 2.1) with inclusion and consistency proofs.

The log keeps only leaf hashes; interior hashes of complete subtrees are cached because they
never change once the subtree is full, so proofs stay cheap as the log grows. The two
`verify_*` functions check proofs independently of the tree (RFC 9162 section 2.1.3/2.1.4)
and are what the tests use to check the log's answers without trusting the log.
"""

from __future__ import annotations

import hashlib

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """MTH of a single entry: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only list of leaf hashes and the RFC 6962 functions over its prefixes."""

    def __init__(self) -> None:
        """An empty tree."""
        self._leaves: list[bytes] = []
        self._full: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        """The number of leaves."""
        return len(self._leaves)

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash; returns its index."""
        self._leaves.append(leaf)
        return len(self._leaves) - 1

    def leaf(self, index: int) -> bytes:
        """The leaf hash at `index`."""
        return self._leaves[index]

    def _mth(self, start: int, n: int) -> bytes:
        """MTH(D[start:start+n])."""
        if n == 0:
            return EMPTY_ROOT
        if n == 1:
            return self._leaves[start]
        # NOTE: only subtrees whose size is a power of two are complete in every larger tree,
        # so only those are safe to cache.
        full = n & (n - 1) == 0
        if full and (start, n) in self._full:
            return self._full[(start, n)]
        k = _split(n)
        value = node_hash(self._mth(start, k), self._mth(start + k, n - k))
        if full:
            self._full[(start, n)] = value
        return value

    def root(self, size: int | None = None) -> bytes:
        """The root hash of the first `size` leaves (all of them by default)."""
        n = len(self._leaves) if size is None else size
        self._check_size(n)
        return self._mth(0, n)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]), ordered from the leaf's sibling up to the root's child."""
        n = len(self._leaves) if size is None else size
        self._check_size(n)
        if not 0 <= index < n:
            raise ValueError(f"leaf {index} is not in a tree of size {n}")
        return self._path(index, 0, n)

    def _path(self, m: int, start: int, n: int) -> list[bytes]:
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*self._path(m, start, k), self._mth(start + k, n - k)]
        return [*self._path(m - k, start + k, n - k), self._mth(start, k)]

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """PROOF(first, D[0:second]): shows the first `first` leaves are a prefix."""
        n = len(self._leaves) if second is None else second
        self._check_size(n)
        if not 0 <= first <= n:
            raise ValueError(f"size {first} is not within a tree of size {n}")
        if first in (0, n):
            return []
        return self._subproof(first, 0, n, True)

    def _subproof(self, m: int, start: int, n: int, whole: bool) -> list[bytes]:
        if m == n:
            return [] if whole else [self._mth(start, n)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, start, k, whole), self._mth(start + k, n - k)]
        return [*self._subproof(m - k, start + k, n - k, False), self._mth(start, k)]

    def _check_size(self, n: int) -> None:
        if not 0 <= n <= len(self._leaves):
            raise ValueError(f"tree size {n} is beyond the log's {len(self._leaves)} entries")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """Whether `proof` shows leaf hash `leaf` at `index` in the tree of `size` with `root`."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    """Whether `proof` shows the tree of size `first` is a prefix of the one of size `second`."""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    nodes = list(proof)
    # NOTE: when the old tree is a complete subtree its root is the first node of the path
    # but the proof leaves it out (RFC 9162 2.1.4.2 step 1).
    if first & (first - 1) == 0:
        nodes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
