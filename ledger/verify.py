"""The auditor's core: verify an exported ledger against a signed checkpoint, streaming.

Memory stays flat whatever the ledger size: entries are checked one at a time and only the
compact range of the Merkle tree (≤ 64 hashes) is kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from itertools import islice
from typing import Callable, Iterable, Iterator, Sequence

from ledger.chain import FIELDS, Entry, decode_entry
from ledger.checkpoint import Checkpoint
from ledger.encoding import ZERO_HASH, parse_canonical
from ledger.errors import VerificationError
from ledger.merkle import EMPTY_ROOT, CompactRange, verify_consistency

PROGRESS_EVERY = 100_000

ProofFetch = Callable[[int, int], Sequence[bytes]]
"""Returns the consistency proof between two tree sizes (old, new), e.g. from the service."""


@dataclass(frozen=True)
class VerifyReport:
    """What a successful verification covered."""

    size: int  # entries covered by the checkpoint, all verified
    root: bytes
    entries: int  # entries read, including the extra ones
    extra: int  # entries after the checkpoint's size: read but not covered by its signature
    previous_size: int | None  # size of the earlier checkpoint shown consistent, if one was given


def verify_entries(lines: Iterable[bytes], checkpoint: Checkpoint, *, previous: Checkpoint | None = None,
                   consistency_proof_fetch: ProofFetch | None = None,
                   progress: Callable[[int], None] | None = None,
                   entry_callback: Callable[[Entry], None] | None = None) -> VerifyReport:
    """Verify entries against ``checkpoint``; VerificationError names the first bad entry.

    ``lines`` yields each entry's exact bytes, without newline.

    Checks each entry's canonical form, seq and prev link, then the Merkle root after
    ``checkpoint.size`` entries. With ``previous`` (a checkpoint seen earlier), also checks the
    new tree extends it: the root of its first ``previous.size`` entries is recomputed while
    streaming, and ``consistency_proof_fetch``, if given, supplies an RFC 9162 proof checked too.
    ``entry_callback`` sees each verified entry in order (e.g. to replay the state).
    """
    if previous is not None:
        _check_previous(previous, checkpoint, consistency_proof_fetch)
    it = iter(lines)
    watch = previous.size if previous is not None else -1
    tree, seen_root = _stream(islice(it, checkpoint.size), watch, progress, entry_callback)
    if tree.size < checkpoint.size:
        raise VerificationError(f"ledger truncated: {tree.size} entries, checkpoint says {checkpoint.size}",
                                seq=tree.size)
    root = tree.root()
    if root != checkpoint.root:
        raise _root_error(checkpoint.size)
    if previous is not None and seen_root != previous.root:
        raise VerificationError(f"inconsistent with the checkpoint seen before: the first {previous.size} "
                                "entries do not have its root (history was rewritten)")
    extra = sum(1 for _ in it)
    return VerifyReport(checkpoint.size, root, checkpoint.size + extra, extra,
                        previous.size if previous is not None else None)


def _root_error(size: int) -> VerificationError:
    if size == 0:
        return VerificationError("the checkpoint of the empty ledger has a wrong root")
    # Links were intact, so the last entry differs from what was signed.
    return VerificationError(f"Merkle root of the {size} entries does not match the checkpoint: "
                             f"entry {size - 1} differs from what was signed (earlier ones may have been "
                             "rewritten with their links)", seq=size - 1)


def _check_previous(previous: Checkpoint, checkpoint: Checkpoint, fetch: ProofFetch | None) -> None:
    if previous.origin != checkpoint.origin:
        raise VerificationError(f"checkpoint origin {checkpoint.origin!r} differs from the one seen before "
                                f"({previous.origin!r})")
    if previous.size > checkpoint.size:
        raise VerificationError(f"inconsistent with the checkpoint seen before: the ledger shrank from "
                                f"{previous.size} to {checkpoint.size} entries")
    if fetch is not None and 0 < previous.size < checkpoint.size:
        proof = fetch(previous.size, checkpoint.size)
        try:
            verify_consistency(previous.size, checkpoint.size, previous.root, checkpoint.root, proof)
        except VerificationError as exc:
            raise VerificationError(f"inconsistent with the checkpoint seen before: {exc}") from None


def _stream(lines: Iterator[bytes], watch: int, progress: Callable[[int], None] | None,
            callback: Callable[[Entry], None] | None) -> tuple[CompactRange, bytes | None]:
    """Check entries in order, feeding the tree; return it and its root at size ``watch``."""
    tree = CompactRange.empty()
    push, sha256 = tree.push, hashlib.sha256
    prev, seq, seen_root = ZERO_HASH, 0, EMPTY_ROOT if watch == 0 else None
    for line in lines:
        try:
            obj = parse_canonical(line)
        except ValueError:
            obj = decode_entry(line, seq)  # raises, naming the entry and the reason
        # One expression for the common case. Matching the computed hash also proves prev is
        # well-formed hex; `type(...) is int` because True == 1.
        if not (type(obj) is dict and obj.keys() == FIELDS and obj["prev"] == prev and obj["seq"] == seq
                and type(obj["seq"]) is int and obj["v"] == 1 and type(obj["v"]) is int
                and type(obj["data"]) is dict and type(obj["time"]) is str and type(obj["actor"]) is str
                and type(obj["type"]) is str):
            raise _link_error(seq, decode_entry(line, seq))
        prev = sha256(line).hexdigest()
        push(sha256(b"\x00" + line).digest())
        if callback is not None:
            callback(Entry(seq, obj["time"], obj["actor"], obj["type"], obj["data"], obj["prev"]))
        seq += 1
        if seq == watch:
            seen_root = tree.root()
        if progress is not None and not seq % PROGRESS_EVERY:
            progress(seq)
    if progress is not None and seq % PROGRESS_EVERY:
        progress(seq)
    return tree, seen_root


def _link_error(seq: int, obj: dict[str, object]) -> VerificationError:
    if obj["seq"] != seq:
        return VerificationError(f"entry {seq}: seq is {obj['seq']}, expected {seq} (entries missing, "
                                 "duplicated or reordered)", seq=seq)
    if seq == 0:
        return VerificationError("entry 0: prev must be 64 zeros", seq=0)
    return VerificationError(f"entry {seq - 1} does not hash to the prev recorded in entry {seq}: "
                             f"entry {seq - 1} was altered (or entry {seq}'s prev was)", seq=seq - 1)
