"""Appending whole perfect subtrees to a compact range: the verifier's batched path equals leaf by leaf."""

from __future__ import annotations

import pytest

from ledger.merkle import CompactRange, leaf_hash, perfect_root, root_from_leaves, subtree_roots

HASHES = [leaf_hash(f"entry {i}".encode()) for i in range(300)]


def _pushed(leaves: list[bytes]) -> CompactRange:
    tree = CompactRange.empty()
    for leaf in leaves:
        tree.push(leaf)
    return tree


@pytest.mark.parametrize("start", [0, 1, 2, 3, 5, 8, 13, 64, 100, 255, 256])
def test_subtree_roots_extend_like_pushing_each_leaf(start: int) -> None:
    for count in range(0, 45):
        tree = _pushed(HASHES[:start])
        tree.extend(subtree_roots(HASHES[start:start + count], start))
        assert tree == _pushed(HASHES[:start + count]), (start, count)
        assert tree.root() == root_from_leaves(HASHES[:start + count])


def test_chunks_of_any_alignment_build_the_same_tree() -> None:
    for width in (1, 2, 4, 8, 16, 32):
        tree = CompactRange.empty()
        for start in range(0, len(HASHES), width):
            tree.extend(subtree_roots(HASHES[start:start + width], start))
        assert tree == _pushed(HASHES)


def test_subtree_roots_are_aligned_perfect_subtrees() -> None:
    assert subtree_roots([], 7) == []
    roots = subtree_roots(HASHES[6:16], 6)  # [6, 8) [8, 16)
    assert [level for level, _ in roots] == [1, 3]
    assert roots[1][1] == perfect_root(HASHES[8:16]) == root_from_leaves(HASHES[8:16])


@pytest.mark.parametrize("size", [1, 2, 4, 8, 256])
def test_perfect_root(size: int) -> None:
    assert perfect_root(HASHES[:size]) == root_from_leaves(HASHES[:size])


@pytest.mark.parametrize("size", [0, 3, 6, 100])
def test_perfect_root_needs_a_power_of_two(size: int) -> None:
    with pytest.raises(ValueError):
        perfect_root(HASHES[:size])


def test_push_subtree_checks_alignment_and_size() -> None:
    tree = _pushed(HASHES[:2])
    with pytest.raises(ValueError, match="cannot start"):
        tree.push_subtree(2, HASHES[0])  # 4 leaves cannot start at leaf 2
    with pytest.raises(ValueError, match="32 bytes"):
        tree.push_subtree(1, b"short")
    tree.push_subtree(1, perfect_root(HASHES[2:4]))
    assert tree == _pushed(HASHES[:4])
