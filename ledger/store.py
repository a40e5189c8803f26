"""An in-memory node store: the reference for the ``fetch`` interface proofs read through."""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from ledger.merkle import CompactRange, Key, Node, leaf_hash


class MemoryNodeStore:
    """Keeps every complete node of a growing tree in a dict, as a database table would."""

    def __init__(self) -> None:
        self.nodes: dict[Key, bytes] = {}
        self.range = CompactRange.empty()
        self.fetches = 0

    @property
    def size(self) -> int:
        """Number of leaves appended."""
        return self.range.size

    def put(self, nodes: Iterable[Node]) -> None:
        """Store nodes as reported by ``CompactRange.append``."""
        for level, index, digest in nodes:
            self.nodes[(level, index)] = digest

    def append_entry(self, entry: bytes) -> None:
        """Append one entry's leaf and store the nodes it completes."""
        self.put(self.range.append(leaf_hash(entry)))

    def fetch(self, keys: Sequence[Key]) -> Mapping[Key, bytes]:
        """Return the stored hashes of ``keys`` (counting calls, so tests can check there is one)."""
        self.fetches += 1
        return {key: self.nodes[key] for key in keys if key in self.nodes}
