"""The auditor's core: verify an exported ledger against a signed checkpoint, streaming.

Memory stays flat whatever the ledger size: entries are checked in batches of bounded size and only
the compact range of the Merkle tree (≤ 64 hashes) is kept. A batch's leaves are hashed into perfect
subtrees before joining the range. Large ledgers are checked by worker processes, one per core
(``ledger.parallel``), batch by batch in order; every path names the first bad entry as the
entry-by-entry check would.
"""

from __future__ import annotations

import hashlib
import os
import re
from binascii import hexlify
from dataclasses import dataclass
from itertools import islice
from typing import Any, Callable, Iterable, Iterator, Sequence

from ledger.chain import FIELDS, Entry, decode_entry
from ledger.checkpoint import Checkpoint
from ledger.encoding import ZERO_HASH, canonical_object, parse_canonical
from ledger.errors import VerificationError
from ledger.merkle import EMPTY_ROOT, CompactRange, subtree_roots, verify_consistency

PROGRESS_EVERY = 100_000
CHUNK = 256
"""Entries checked as one batch (a power of two: an aligned chunk is one perfect subtree of the tree)."""
WORKER_CHUNK = 4096
"""Entries per batch handed to a worker process (a power of two too)."""
CHUNK_BYTES = 1 << 20
"""Batches of long entries hold fewer of them, so that a batch stays near this size (or one entry)."""
PARALLEL_MIN = 1 << 16
"""Smaller ledgers are checked in this process alone: worker processes would cost more than they save."""
WORKERS: int | None = None
"""Worker processes for large ledgers: None for one per usable core; fewer than 2 means none."""


def _entry_pattern(text: bytes) -> re.Pattern[bytes]:
    string = b'"' + text + b'*"'
    return re.compile(b'\\{"actor":' + string + b',"data":(\\{.*\\}),"prev":"(.{64})","seq":(0|[1-9][0-9]*),'
                      b'"time":' + string + b',"type":' + string + b',"v":1\\}', re.DOTALL)


# An entry in canonical form as the registry writes them: keys in order, top-level strings without escapes
# or control characters, a canonical integer `seq`, `v` exactly 1. A match leaves `prev` to compare with the
# hash it must name (lowercase hex: checking its characters here would be redundant), `data` to check
# (``canonical_object``) and, unless the strings outside it are ASCII (the first pattern), the line's
# UTF-8. Anything else takes the exact path, ``_exact_ok``.
_ENTRY_ASCII = _entry_pattern(rb'[ !#-\[\]-\x7f]')
_ENTRY = _entry_pattern(rb'[^"\\\x00-\x1f]')
_HEX64 = re.compile(rb"[0-9a-f]{64}")

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
    tree, seen_root = _stream(islice(it, checkpoint.size), checkpoint.size, watch, progress,
                              entry_callback)
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


def _stream(lines: Iterator[bytes], size: int, watch: int, progress: Callable[[int], None] | None,
            callback: Callable[[Entry], None] | None) -> tuple[CompactRange, bytes | None]:
    """Check up to ``size`` entries in order, feeding the tree; return it and its root at size ``watch``."""
    chain = _Chain(watch, progress)
    if callback is not None:
        _stream_entries(lines, chain, callback)
    else:
        workers = _workers() if size >= PARALLEL_MIN else 0
        if workers >= 2:
            from ledger.parallel import check_in_workers
            check_in_workers(chain, _chunks(lines, watch, WORKER_CHUNK, 4 * CHUNK_BYTES), workers)
        else:
            for _, chunk in _chunks(lines, watch, CHUNK, CHUNK_BYTES):
                chain.check(chunk)
    chain.finish()
    return chain.tree, chain.seen_root


def _workers() -> int:
    if WORKERS is not None:
        return WORKERS
    if os.name != "posix":  # pragma: no cover - the worker pipes use os.readv
        return 0
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return min(cores, 8)


def _chunks(lines: Iterator[bytes], watch: int, most: int, size: int) -> Iterator[tuple[int, list[bytes]]]:
    """Cut the entries into chunks ``(first seq, lines)`` of up to ``most`` entries, one ending at ``watch``.

    A chunk ends at a multiple of its length, a power of two, so most are one perfect subtree each; while
    entries are long, chunks hold fewer of them, to stay near ``size`` bytes (or one entry).
    """
    start, count = 0, most
    while True:
        end = (start // count + 1) * count
        if start < watch < end:
            end = watch
        chunk = list(islice(lines, end - start))
        if not chunk:
            return
        yield start, chunk
        start += len(chunk)
        fits = size * len(chunk) // max(sum(map(len, chunk)), 1)
        count = min(most, 1 << max(fits.bit_length() - 1, 0))


class _Chain:
    """A verification in progress: the tree so far, the hash the next entry must name, progress."""

    def __init__(self, watch: int, progress: Callable[[int], None] | None) -> None:
        self.tree = CompactRange.empty()
        self.seq = 0
        self.prev = ZERO_HASH.encode()  # lowercase hex, as entries hold it
        self.watch = watch
        self.seen_root = EMPTY_ROOT if watch == 0 else None
        self.progress = progress

    def check(self, lines: Sequence[bytes]) -> None:
        """Check the next entries, in this process; VerificationError names the first bad one."""
        leaves: list[bytes] = []
        good, prev = _scan(lines, self.seq, self.prev, leaves)
        self._advance(good, prev, subtree_roots(leaves, self.seq))
        if good < len(lines):
            raise _entry_error(lines[good], self.seq, self.prev)

    def take(self, count: int, first_prev: bytes, last_prev: bytes, roots: list[tuple[int, bytes]]) -> bool:
        """Accept the next ``count`` entries, found good on their own (``_check_alone``), if they link on.

        False (nothing accepted) if the first of them does not name the last entry's hash.
        """
        if first_prev != self.prev:
            return False
        self._advance(count, last_prev, roots)
        return True

    def _advance(self, count: int, prev: bytes, roots: Iterable[tuple[int, bytes]]) -> None:
        before = self.seq
        self.tree.extend(roots)
        self.prev = prev
        self.seq = seq = before + count
        if before < self.watch == seq:
            self.seen_root = self.tree.root()
        if self.progress is not None:
            every = PROGRESS_EVERY
            for done in range((before // every + 1) * every, seq + 1, every):
                self.progress(done)

    def finish(self) -> None:
        if self.progress is not None and self.seq % PROGRESS_EVERY:
            self.progress(self.seq)


def _scan(lines: Sequence[bytes], seq: int, prev: bytes, leaves: list[bytes]) -> tuple[int, bytes]:
    """Check ``lines`` as entries ``seq``, ``seq + 1``, … following the entry whose hex hash is ``prev``.

    Appends the leaf hash of each good entry to ``leaves`` and stops at the first bad one. Returns how
    many were good and the hex hash of the last of them (``prev`` if none). The exact verdict of
    ``_exact_ok`` on every entry; the patterns and ``canonical_object`` only spare most entries its cost.
    """
    sha256, ascii_match, match, data_ok = hashlib.sha256, _ENTRY_ASCII.fullmatch, _ENTRY.fullmatch, canonical_object
    hashes = [hexlify(sha256(line).digest()) for line in lines]  # what the next entry must name
    good = 0
    for line, found in zip(lines, map(ascii_match, lines)):
        if found is None:
            found = match(line)
            try:
                line.decode()  # the strings outside `data` are not ASCII: they must be UTF-8
            except UnicodeDecodeError:
                found = None
        if found is None:
            fast = False
        else:
            data, named, number = found.groups()
            fast = named == prev and number == b"%d" % seq and data_ok(data) is not None
        if not fast and not _exact_ok(line, seq, prev):
            break
        prev = hashes[good]
        seq += 1
        good += 1
    leaves += [sha256(b"\x00" + line).digest() for line in lines[:good]]
    return good, prev


def _exact_ok(line: bytes, seq: int, prev: bytes) -> bool:
    """Whether ``line`` is a well-formed canonical entry ``seq`` naming ``prev``: the reference check."""
    try:
        obj = parse_canonical(line)
    except ValueError:
        return False
    return _fits(obj, seq, prev.decode("ascii"))


def _fits(obj: Any, seq: int, prev: str) -> bool:
    # Matching the computed hash also proves prev is well-formed hex; `type(...) is int` because True == 1.
    return (type(obj) is dict and obj.keys() == FIELDS and obj["prev"] == prev and obj["seq"] == seq
            and type(obj["seq"]) is int and obj["v"] == 1 and type(obj["v"]) is int
            and type(obj["data"]) is dict and type(obj["time"]) is str and type(obj["actor"]) is str
            and type(obj["type"]) is str)


def _entry_error(line: bytes, seq: int, prev: bytes) -> VerificationError:
    """The error naming bad entry ``seq``: its form or fields (raised here), else its seq or prev link."""
    obj = decode_entry(line, seq)  # raises, naming the entry and the reason
    if _fits(obj, seq, prev.decode("ascii")):  # pragma: no cover - _scan and _exact_ok disagree
        raise AssertionError(f"entry {seq} was rejected, yet it is a good entry")
    return _link_error(seq, obj)


def _check_alone(lines: Sequence[bytes], start: int) -> tuple[int, bytes, bytes, list[tuple[int, bytes]]]:
    """Check a chunk without the entries before it (in a worker): all but the first entry's prev link.

    Returns how many entries were good, the prev the first one names, the hex hash of the last good one
    and, if all were good, the roots of their subtrees for ``_Chain.take``; a chunk not wholly good is
    checked again by ``_Chain.check``, which names the first bad entry.
    """
    first = _named_prev(lines[0])
    if first is None:
        return 0, b"", b"", []
    leaves: list[bytes] = []
    good, last = _scan(lines, start, first, leaves)
    return good, first, last, subtree_roots(leaves, start) if good == len(lines) else []


def _named_prev(line: bytes) -> bytes | None:
    """The prev an entry names, if it is one (lowercase hex; None if the line cannot tell)."""
    found = _ENTRY_ASCII.fullmatch(line) or _ENTRY.fullmatch(line)
    if found is not None:
        named = found.group(2)
    else:
        try:
            obj = parse_canonical(line)
        except ValueError:
            return None
        text = obj.get("prev") if type(obj) is dict else None
        named = text.encode("utf-8", "replace") if type(text) is str else b""
    return named if _HEX64.fullmatch(named) else None


def _stream_entries(lines: Iterator[bytes], chain: _Chain, callback: Callable[[Entry], None]) -> None:
    """Check entries one by one, showing each good one to ``callback`` (e.g. to replay the state)."""
    push, sha256 = chain.tree.push, hashlib.sha256
    prev, seq, watch, every, progress = chain.prev.decode(), chain.seq, chain.watch, PROGRESS_EVERY, chain.progress
    for line in lines:
        try:
            obj = parse_canonical(line)
        except ValueError:
            obj = decode_entry(line, seq)  # raises, naming the entry and the reason
        if not _fits(obj, seq, prev):
            raise _link_error(seq, decode_entry(line, seq))
        prev = sha256(line).hexdigest()
        push(sha256(b"\x00" + line).digest())
        callback(Entry(seq, obj["time"], obj["actor"], obj["type"], obj["data"], obj["prev"]))
        seq += 1
        if seq == watch:
            chain.seen_root = chain.tree.root()
        if progress is not None and not seq % every:
            progress(seq)
    chain.seq, chain.prev = seq, prev.encode()


def _link_error(seq: int, obj: dict[str, object]) -> VerificationError:
    if obj["seq"] != seq:
        return VerificationError(f"entry {seq}: seq is {obj['seq']}, expected {seq} (entries missing, "
                                 "duplicated or reordered)", seq=seq)
    if seq == 0:
        return VerificationError("entry 0: prev must be 64 zeros", seq=0)
    return VerificationError(f"entry {seq - 1} does not hash to the prev recorded in entry {seq}: "
                             f"entry {seq - 1} was altered (or entry {seq}'s prev was)", seq=seq - 1)
