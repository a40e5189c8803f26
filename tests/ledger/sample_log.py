"""Ledgers and keys built with the ledger package alone, as an exporting service would."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.chain import Entry, entry_hash
from ledger.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from ledger.encoding import ZERO_HASH
from ledger.merkle import CompactRange, leaf_hash

ORIGIN = "registry.example/ledger"


def make_entries(n: int, actor: str = "SH-POL-03") -> list[bytes]:
    """``n`` chained entries with realistic data, including non-ASCII text; ``actor`` varies the history."""
    lines, prev = [], ZERO_HASH
    for seq in range(n):
        data = {"case": f"(2024)沪0115执{seq}号", "lots": [{"card": f"KH-{seq:06d}", "weight_kg": 1000 + seq}],
                "note": "tab\there" if seq % 7 == 3 else None}
        body = Entry(seq, f"2024-05-01T10:00:{seq % 60:02d}.000000Z", actor, "seizure.registered", data,
                     prev).to_bytes()
        lines.append(body)
        prev = entry_hash(body)
    return lines


def tree_root(lines: list[bytes]) -> bytes:
    tree = CompactRange.empty()
    for line in lines:
        tree.push(leaf_hash(line))
    return tree.root()


@dataclass(frozen=True)
class Log:
    """A signed log: its entries, a checkpoint over all of them and the key that signed it."""

    lines: list[bytes]
    key: Ed25519PrivateKey
    vkey: str

    def checkpoint(self, size: int | None = None) -> Checkpoint:
        size = len(self.lines) if size is None else size
        return Checkpoint(ORIGIN, size, tree_root(self.lines[:size]))

    def note(self, size: int | None = None) -> str:
        return sign_checkpoint(self.checkpoint(size), ORIGIN, self.key)


def make_log(n: int, actor: str = "SH-POL-03", key: Ed25519PrivateKey | None = None) -> Log:
    key = key or Ed25519PrivateKey.generate()
    return Log(make_entries(n, actor), key, verifier_key(ORIGIN, key.public_key()))
