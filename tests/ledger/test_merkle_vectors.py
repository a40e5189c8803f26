"""RFC 6962 / RFC 9162 known answers.

Source: transparency-dev/merkle, proof/verify_test.go (the vectors of Google's
certificate-transparency reference tests): leaves, roots for sizes 1..8, inclusion and
consistency proofs. Roots and inclusion proofs reproduce with pymerkle, an independent
implementation (its inclusion path is the leaf hash followed by the RFC proof):

    python - <<'EOF'
    from pymerkle import InmemoryTree
    leaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]
    tree = InmemoryTree.init_from_entries([bytes.fromhex(leaf) for leaf in leaves])
    print([tree.get_root(size).hex() for size in range(1, 9)])
    print([h.hex() for h in tree.prove_inclusion(6, 8).path[1:]])  # leaf index 5 (pymerkle counts from 1)
    EOF

The consistency proofs reproduce with `go test ./proof/` in transparency-dev/merkle.
The corruptions below are that file's corruptInclusionProof / corruptConsistencyProof.
"""

from __future__ import annotations

import hashlib

import pytest

from ledger.errors import VerificationError
from ledger.merkle import (EMPTY_ROOT, CompactRange, consistency_proof, inclusion_proof, leaf_hash, node_hash,
                           root_from_leaves, verify_consistency, verify_inclusion)
from ledger.store import MemoryNodeStore

LEAVES = [bytes.fromhex(x) for x in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f"]]
ROOTS = [bytes.fromhex(x) for x in [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]]


def h(hexes: str) -> list[bytes]:
    return [bytes.fromhex(x) for x in hexes.split()]


# (0-based leaf index, tree size, proof)
INCLUSION = [
    (0, 1, []),
    (0, 8, h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7 "
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e "
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (5, 8, h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b "
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0 "
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (2, 3, h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (1, 5, h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d "
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e "
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
]

# (old size, new size, proof)
CONSISTENCY = [
    (1, 1, []),
    (1, 8, h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7 "
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e "
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (6, 8, h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a "
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0 "
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (2, 5, h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e "
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
    (6, 7, h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a "
             "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f "
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
]

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
LEAF_HASHES = [leaf_hash(leaf) for leaf in LEAVES]


@pytest.fixture(scope="module")
def store() -> MemoryNodeStore:
    nodes = MemoryNodeStore()
    for leaf in LEAVES:
        nodes.append_entry(leaf)
    return nodes


def test_hash_primitives() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest() == ROOTS[0]
    assert node_hash(ROOTS[0], LEAF_HASHES[1]) == ROOTS[1]
    assert root_from_leaves([]) == EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_roots(size: int, store: MemoryNodeStore) -> None:
    tree = CompactRange.empty()
    for leaf in LEAF_HASHES[:size]:
        tree.append(leaf)
    assert root_from_leaves(LEAF_HASHES[:size]) == tree.root() == ROOTS[size - 1]


@pytest.mark.parametrize("index, size, proof", INCLUSION)
def test_inclusion_known_answers(index: int, size: int, proof: list[bytes], store: MemoryNodeStore) -> None:
    assert inclusion_proof(index, size, store.fetch) == proof
    verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOTS[size - 1])


@pytest.mark.parametrize("old, new, proof", CONSISTENCY)
def test_consistency_known_answers(old: int, new: int, proof: list[bytes], store: MemoryNodeStore) -> None:
    assert consistency_proof(old, new, store.fetch) == proof
    verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], proof)


def _flip(proof: list[bytes], i: int, bit: int) -> list[bytes]:
    return [bytes([p[0] ^ bit]) + p[1:] if j == i else p for j, p in enumerate(proof)]


def _inclusion_probes(index: int, size: int, proof: list[bytes]) -> list[tuple]:
    leaf, root = LEAF_HASHES[index], ROOTS[size - 1]
    probes = [(leaf, index - 1, size, proof, root), (leaf, index + 1, size, proof, root),
              (leaf, index ^ 2, size, proof, root), (leaf, index, size * 2, proof, root),
              (leaf, index, size // 2, proof, root), (leaf_hash(b"WrongLeaf"), index, size, proof, root),
              (leaf, index, size, proof, EMPTY_ROOT), (leaf, index, size, proof, SOME_HASH),
              (leaf, index, size, [*proof, b""], root), (leaf, index, size, [*proof, root], root),
              (leaf, index, size, [b"", *proof], root), (leaf, index, size, [root, *proof], root)]
    probes += [(leaf, index, size, _flip(proof, i, 8), root) for i in range(len(proof))]
    if proof:
        probes.append((leaf, index, size, proof[:-1], root))
    if len(proof) > 1:
        probes.append((leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root))
    return probes


@pytest.mark.parametrize("probe", [p for vector in INCLUSION for p in _inclusion_probes(*vector)])
def test_corrupted_inclusion_fails(probe: tuple) -> None:
    with pytest.raises(VerificationError):
        verify_inclusion(*probe)


def _consistency_probes(old: int, new: int, proof: list[bytes]) -> list[tuple]:
    r1, r2 = ROOTS[old - 1], ROOTS[new - 1]
    probes = [(old - 1, new, r1, r2, proof), (old + 1, new, r1, r2, proof), (old ^ 2, new, r1, r2, proof),
              (old, new * 2, r1, r2, proof), (old, new // 2, r1, r2, proof), (old, new, SOME_HASH, r2, proof),
              (old, new, r1, SOME_HASH, proof), (old, new, r2, r1, proof)]
    proofs = [[], [*proof, b""], [*proof, r1], [*proof, r2], [b"", *proof], [r1, *proof], [r2, *proof],
              [proof[0], *proof], proof[:-1], *(_flip(proof, i, 16) for i in range(len(proof)))]
    return probes + [(old, new, r1, r2, bad) for bad in proofs]


@pytest.mark.parametrize("probe", [p for v in CONSISTENCY if v[2] for p in _consistency_probes(*v)])
def test_corrupted_consistency_fails(probe: tuple) -> None:
    with pytest.raises(VerificationError):
        verify_consistency(*probe)


@pytest.mark.parametrize("old, new, old_root, new_root, proof, ok", [
    (0, 0, ROOTS[0], ROOTS[0], [], True),
    (0, 1, ROOTS[0], ROOTS[1], [], True),  # anything extends the empty tree
    (1, 1, ROOTS[1], ROOTS[1], [], True),
    (0, 0, ROOTS[0], ROOTS[1], [], False),
    (1, 1, ROOTS[0], ROOTS[1], [], False),
    (1, 0, ROOTS[0], ROOTS[1], [], False),
    (2, 1, ROOTS[0], ROOTS[1], [], False),
    (1, 2, ROOTS[0], ROOTS[1], [], False),
    (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
    (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
    (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
])
def test_consistency_edge_cases(old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes],
                                ok: bool) -> None:
    if ok:
        verify_consistency(old, new, old_root, new_root, proof)
    else:
        with pytest.raises(VerificationError):
            verify_consistency(old, new, old_root, new_root, proof)


@pytest.mark.parametrize("leaf, root", [(ROOTS[0], ROOTS[0]), (ROOTS[0], b""), (b"", ROOTS[0]), (b"", b"")])
def test_single_leaf_inclusion(leaf: bytes, root: bytes) -> None:
    if leaf == root == ROOTS[0]:
        verify_inclusion(leaf, 0, 1, [], root)
    else:
        with pytest.raises(VerificationError):
            verify_inclusion(leaf, 0, 1, [], root)
