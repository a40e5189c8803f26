"""RFC 9162 §2.1 Merkle tree: hashing, the compact range, proofs from stored nodes, verification.

Nodes are addressed ``(level, index)``: the perfect subtree of ``2**level`` leaves covering leaves
``[index * 2**level, (index + 1) * 2**level)``. A writer stores every such node once it is complete
(``CompactRange.append`` reports them); proofs then need O(log n) stored nodes, read in one call.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, Mapping, Sequence

from ledger.errors import VerificationError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root of the empty tree."""

Key = tuple[int, int]
Node = tuple[int, int, bytes]
Fetch = Callable[[Sequence[Key]], Mapping[Key, bytes]]
"""Reads stored nodes: given (level, index) keys, returns their hashes (all of them)."""

_sha256 = hashlib.sha256


def leaf_hash(entry: bytes) -> bytes:
    """Return SHA-256(0x00 ‖ entry)."""
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 ‖ left ‖ right)."""
    return _sha256(b"\x01" + left + right).digest()


def _split(width: int) -> int:
    """Largest power of two strictly below ``width`` (≥ 2): where MTH splits."""
    return 1 << ((width - 1).bit_length() - 1)


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the root of the tree over ``leaf_hashes`` (MTH, computed level by level)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        # An odd last node is promoted unchanged, as MTH's split makes it a right subtree.
        level = paired + level[len(paired) * 2:]
    return level[0]


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Root over perfect subtrees given left to right, largest first (right-to-left fold)."""
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


class CompactRange:
    """The right frontier of the tree: one hash per perfect subtree, at most 64 hashes.

    Enough to append leaves and compute the root without the rest of the tree.
    """

    __slots__ = ("size", "_hashes")

    def __init__(self, size: int, hashes: Sequence[bytes]) -> None:
        if size < 0 or len(hashes) != bin(size).count("1"):
            raise ValueError(f"a compact range of size {size} needs {bin(max(size, 0)).count('1')} hashes")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError("hashes must be 32 bytes")
        self.size = size
        self._hashes = list(hashes)

    @classmethod
    def empty(cls) -> CompactRange:
        """Return the range of the empty tree."""
        return cls(0, [])

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The perfect subtree roots, left (largest) to right."""
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> list[Node]:
        """Append a leaf HASH; return every node completed by it, leaf first (level 0), then upward."""
        if len(leaf) != HASH_SIZE:
            raise ValueError("append takes a 32-byte leaf hash")
        index, node, level = self.size, leaf, 0
        created = [(0, index, leaf)]
        while (index >> level) & 1:
            node = node_hash(self._hashes.pop(), node)
            level += 1
            created.append((level, index >> level, node))
        self._hashes.append(node)
        self.size += 1
        return created

    def push(self, leaf: bytes) -> None:
        """Append a leaf hash without reporting nodes (the verifier's hot path)."""
        hashes, size, node = self._hashes, self.size, leaf
        while size & 1:
            node = _sha256(b"\x01" + hashes.pop() + node).digest()
            size >>= 1
        hashes.append(node)
        self.size += 1

    def push_subtree(self, level: int, node: bytes) -> None:
        """Append the root of a perfect subtree of ``2**level`` leaves; the size must be a multiple of it.

        Same result as pushing its leaves one by one (the verifier hashes whole chunks of leaves at once).
        """
        size = self.size
        if level < 0 or size & ((1 << level) - 1):
            raise ValueError(f"a subtree of 2**{level} leaves cannot start at leaf {size}")
        if len(node) != HASH_SIZE:
            raise ValueError("hashes must be 32 bytes")
        hashes, carry = self._hashes, size >> level
        while carry & 1:
            node = _sha256(b"\x01" + hashes.pop() + node).digest()
            carry >>= 1
        hashes.append(node)
        self.size = size + (1 << level)

    def extend(self, subtrees: Iterable[tuple[int, bytes]]) -> None:
        """Append perfect subtrees given as (level, root), left to right, e.g. from ``subtree_roots``."""
        for level, node in subtrees:
            self.push_subtree(level, node)

    def root(self) -> bytes:
        """Return the root of the tree of ``size`` leaves."""
        return _fold(self._hashes) if self._hashes else EMPTY_ROOT

    def to_bytes(self) -> bytes:
        """Serialize as 8-byte big-endian size followed by the hashes."""
        return self.size.to_bytes(8, "big") + b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> CompactRange:
        """Parse ``to_bytes()`` output; ValueError if malformed."""
        if len(data) < 8 or (len(data) - 8) % HASH_SIZE:
            raise ValueError("malformed compact range")
        body = data[8:]
        hashes = [body[i:i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)]
        return cls(int.from_bytes(data[:8], "big"), hashes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CompactRange) and (self.size, self._hashes) == (other.size, other._hashes)

    def __repr__(self) -> str:
        return f"CompactRange(size={self.size}, hashes={len(self._hashes)})"




def perfect_subtrees(start: int, end: int) -> list[Key]:
    """Split leaves [start, end) into maximal aligned perfect subtrees, left to right."""
    keys = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def perfect_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the root over a power-of-two number of leaf hashes, hashed level by level."""
    nodes = leaf_hashes
    if not nodes or len(nodes) & (len(nodes) - 1):
        raise ValueError("perfect_root needs a power-of-two number of leaves")
    sha = _sha256
    while len(nodes) > 1:
        nodes = [sha(b"\x01" + left + right).digest() for left, right in zip(nodes[0::2], nodes[1::2])]
    return nodes[0]


def subtree_roots(leaf_hashes: Sequence[bytes], start: int) -> list[tuple[int, bytes]]:
    """Roots of the maximal aligned perfect subtrees of leaves ``[start, start + len(leaf_hashes))``.

    Returned as (level, root), left to right: what ``CompactRange.extend`` appends when its size is ``start``.
    """
    roots, offset = [], 0
    for level, _ in perfect_subtrees(start, start + len(leaf_hashes)):
        width = 1 << level
        roots.append((level, perfect_root(leaf_hashes[offset:offset + width])))
        offset += width
    return roots


def _check_subtree(start: int, end: int) -> None:
    # MTH(D[start:end]) is a node of some tree iff start is aligned to the smallest power >= width.
    width = end - start
    if start < 0 or width < 1 or start % (1 << (width - 1).bit_length()):
        raise ValueError(f"[{start}, {end}) is not a subtree range")


def _assemble(ranges: Iterable[tuple[int, int]], fetch: Fetch) -> list[bytes]:
    """Fetch, in one call, the nodes composing each subtree range, and return the range roots."""
    ranges = list(ranges)
    parts = [perfect_subtrees(start, end) for start, end in ranges]
    wanted = sorted({key for keys in parts for key in keys})
    found = fetch(wanted) if wanted else {}
    missing = [key for key in wanted if key not in found]
    if missing:
        raise KeyError(f"node store lacks nodes {missing}")
    return [_fold([found[key] for key in keys]) for keys in parts]


def subtree_root(start: int, end: int, fetch: Fetch) -> bytes:
    """Return MTH(D[start:end]) from stored nodes; ValueError if that range is not a subtree."""
    _check_subtree(start, end)
    return _assemble([(start, end)], fetch)[0]


def root_at(size: int, fetch: Fetch) -> bytes:
    """Return the root of the tree of the first ``size`` leaves from stored nodes (one fetch)."""
    if size < 0:
        raise ValueError("size must be non-negative")
    return _assemble([(0, size)], fetch)[0] if size else EMPTY_ROOT


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose roots form PATH(index, D[size]) (RFC 9162 §2.1.3.1), bottom-up."""
    if not 0 <= index < size:
        raise ValueError(f"no inclusion proof for index {index} in a tree of size {size}")
    ranges, start, end = [], 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """Leaf ranges whose roots form PROOF(old, D[new]) (RFC 9162 §2.1.4.1), in proof order."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    ranges, start, m, n, whole = [], 0, old, new, True
    while m != n:
        k = _split(n)
        if m <= k:
            ranges.append((start + k, start + n))
            n = k
        else:
            ranges.append((start, start + k))
            start, m, n, whole = start + k, m - k, n - k, False
    if not whole:
        ranges.append((start, start + n))
    return ranges[::-1]


def inclusion_proof(index: int, size: int, fetch: Fetch) -> list[bytes]:
    """Return the inclusion proof of leaf ``index`` in the tree of ``size`` leaves, from stored nodes."""
    return _assemble(inclusion_ranges(index, size), fetch)


def consistency_proof(old: int, new: int, fetch: Fetch) -> list[bytes]:
    """Return the consistency proof from size ``old`` to ``new`` from stored nodes (empty if old is 0)."""
    return _assemble(consistency_ranges(old, new), fetch)


def _check_hashes(proof: Sequence[bytes], *named: bytes) -> None:
    if any(len(h) != HASH_SIZE for h in (*proof, *named)):
        raise VerificationError("proof and hashes must be 32-byte SHA-256 values")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` (a leaf HASH) is leaf ``index`` of the tree with ``root`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise VerificationError(f"inclusion: index {index} is outside a tree of size {size}")
    _check_hashes(proof, leaf, root)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise VerificationError(f"inclusion of leaf {index} in size {size}: proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError(f"inclusion of leaf {index} in size {size}: proof too short")
    if r != root:
        raise VerificationError(f"inclusion of leaf {index} in size {size}: root mismatch")


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Check that the tree of size ``new`` extends the tree of size ``old`` (RFC 9162 §2.1.4.2)."""
    what = f"consistency from size {old} to {new}"
    if not 0 <= old <= new:
        raise VerificationError(f"{what}: sizes out of order")
    _check_hashes(proof, old_root, new_root)
    if old == new or old == 0:
        # Nothing to prove; equal sizes still need equal roots.
        if proof or (old == new and old_root != new_root):
            raise VerificationError(f"{what}: roots differ or proof is not empty")
        return
    if not proof:
        raise VerificationError(f"{what}: empty proof")
    fr, sr = _consistency_roots(old, new, old_root, proof, what)
    if fr != old_root:
        raise VerificationError(f"{what}: old root mismatch")
    if sr != new_root:
        raise VerificationError(f"{what}: new root mismatch")


def _consistency_roots(old: int, new: int, old_root: bytes, proof: Sequence[bytes],
                       what: str) -> tuple[bytes, bytes]:
    if old & (old - 1) == 0:  # the old tree is a perfect subtree: its root is the implicit first element
        proof = [old_root, *proof]
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise VerificationError(f"{what}: proof too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError(f"{what}: proof too short")
    return fr, sr
