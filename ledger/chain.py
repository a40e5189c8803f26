"""Ledger entries and the hash chain that links them (SPEC §6)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from ledger.encoding import ZERO_HASH, canonical, parse_canonical
from ledger.errors import VerificationError

VERSION = 1
FIELDS = frozenset({"v", "seq", "time", "actor", "type", "data", "prev"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TEXT_FIELDS = ("time", "actor", "type")


@dataclass(frozen=True)
class Entry:
    """One ledger entry; its identity is the canonical bytes ``to_bytes()``."""

    seq: int
    time: str
    actor: str
    type: str
    data: dict[str, Any]
    prev: str

    def to_bytes(self) -> bytes:
        """Return the canonical RFC 8785 bytes that are hashed and chained."""
        return canonical({"v": VERSION, "seq": self.seq, "time": self.time, "actor": self.actor,
                          "type": self.type, "data": self.data, "prev": self.prev})

    @classmethod
    def from_bytes(cls, data: bytes) -> Entry:
        """Parse entry bytes; VerificationError unless they are a well-formed canonical entry."""
        obj = decode_entry(data)
        return cls(obj["seq"], obj["time"], obj["actor"], obj["type"], obj["data"], obj["prev"])


def decode_entry(data: bytes, seq: int | None = None) -> dict[str, Any]:
    """Parse entry bytes into their JSON object, checking canonical form and field types.

    ``seq`` (the expected position, if known) only serves to name the entry in errors.
    """
    try:
        obj = parse_canonical(data)
    except ValueError as exc:
        raise VerificationError(f"{_name(seq)}: {exc}", seq=seq) from None
    problem = _field_problem(obj)
    if problem:
        raise VerificationError(f"{_name(seq, obj)}: {problem}", seq=_seq_of(seq, obj))
    return obj  # type: ignore[no-any-return]


def _field_problem(obj: Any) -> str | None:
    if type(obj) is not dict or obj.keys() != FIELDS:
        return f"fields must be exactly {sorted(FIELDS)}"
    if type(obj["v"]) is not int or obj["v"] != VERSION:
        return f"unsupported version {obj['v']!r}"
    if type(obj["seq"]) is not int or obj["seq"] < 0:
        return "seq must be a non-negative integer"
    if not all(type(obj[name]) is str for name in _TEXT_FIELDS):
        return "time, actor and type must be strings"
    if type(obj["data"]) is not dict:
        return "data must be an object"
    if type(obj["prev"]) is not str or not _HEX64.fullmatch(obj["prev"]):
        return "prev must be 64 lowercase hex digits"
    return None


def _seq_of(seq: int | None, obj: Any) -> int | None:
    if seq is not None:
        return seq
    found = obj.get("seq") if type(obj) is dict else None
    return found if type(found) is int else None


def _name(seq: int | None, obj: Any = None) -> str:
    found = _seq_of(seq, obj)
    return "entry" if found is None else f"entry {found}"


def entry_hash(data: bytes) -> str:
    """Return the hex SHA-256 of entry bytes: the ``prev`` the next entry must hold."""
    return hashlib.sha256(data).hexdigest()


def check_link(prev_hash: str, entry: Entry, expected_seq: int) -> None:
    """Check that ``entry`` sits at ``expected_seq`` right after the entry hashing to ``prev_hash``."""
    if entry.seq != expected_seq:
        raise VerificationError(f"entry {expected_seq}: seq is {entry.seq}", seq=expected_seq)
    if entry.prev != prev_hash:
        raise VerificationError(
            f"entry {expected_seq}: prev {entry.prev} is not the hash {prev_hash} of the entry before",
            seq=expected_seq)


__all__ = ["Entry", "FIELDS", "VERSION", "ZERO_HASH", "check_link", "decode_entry", "entry_hash"]
