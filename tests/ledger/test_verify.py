"""verify_entries: names the first bad entry, streams in flat memory, checks earlier checkpoints."""

from __future__ import annotations

import hashlib
import json
import re
import tracemalloc
from typing import Callable, Iterator

import pytest
import rfc8785

from sample_log import ORIGIN, Log, make_log, tree_root
from ledger import verify
from ledger.chain import Entry
from ledger.checkpoint import Checkpoint
from ledger.errors import VerificationError
from ledger.merkle import leaf_hash
from ledger.store import MemoryNodeStore
from ledger.verify import verify_entries


def _fails(lines: list[bytes], checkpoint: Checkpoint, pattern: str, seq: int | None = None,
           **kwargs: object) -> None:
    with pytest.raises(VerificationError, match=pattern) as caught:
        verify_entries(lines, checkpoint, **kwargs)  # type: ignore[arg-type]
    if seq is not None:
        assert caught.value.seq == seq


def test_good_ledger_passes(log: Log) -> None:
    report = verify_entries(iter(log.lines), log.checkpoint())
    assert (report.size, report.root, report.entries, report.extra, report.previous_size) == (
        50, tree_root(log.lines), 50, 0, None)


def test_empty_ledger_passes() -> None:
    assert verify_entries([], Checkpoint(ORIGIN, 0, hashlib.sha256().digest())).size == 0
    _fails([], Checkpoint(ORIGIN, 0, bytes(32)), "empty ledger has a wrong root")


@pytest.mark.parametrize("k", [0, 1, 17, 48])
def test_one_changed_byte_names_the_entry(log: Log, k: int) -> None:
    lines = list(log.lines)
    lines[k] = lines[k].replace(b"KH-", b"KX-")
    _fails(lines, log.checkpoint(), rf"\bentry {k}\b", seq=k)


def test_changed_last_entry_is_caught_by_the_root(log: Log) -> None:
    lines = log.lines[:-1] + [log.lines[-1].replace(b"KH-", b"KX-")]
    _fails(lines, log.checkpoint(), r"Merkle root .* entry 49\b", seq=49)


def _rewrite(line: bytes, change: Callable[[dict], None]) -> bytes:
    obj = json.loads(line)
    change(obj)
    return rfc8785.dumps(obj)


CORRUPTIONS: list[tuple[str, Callable[[list[bytes]], list[bytes]], str, int]] = [
    ("extra space", lambda ls: ls[:5] + [ls[5].replace(b'"seq":', b'"seq": ')] + ls[6:],
     "entry 5: not in canonical", 5),
    ("float", lambda ls: ls[:5] + [_rewrite(ls[5], lambda o: o["data"].update(w=1.5))] + ls[6:],
     "entry 5: floats", 5),
    ("bad json", lambda ls: ls[:3] + [ls[3][:-1]] + ls[4:], "entry 3: not valid JSON", 3),
    ("blank line", lambda ls: ls[:3] + [b""] + ls[3:], "entry 3: not valid JSON", 3),
    ("version", lambda ls: ls[:8] + [_rewrite(ls[8], lambda o: o.update(v=2))] + ls[9:],
     "entry 8: unsupported", 8),
    ("missing entry", lambda ls: ls[:10] + ls[11:], "entry 10: seq is 11", 10),
    ("duplicated entry", lambda ls: ls[:10] + [ls[9]] + ls[10:], "entry 10: seq is 9", 10),
    ("swapped entries", lambda ls: ls[:10] + [ls[11], ls[10]] + ls[12:], "entry 10: seq is 11", 10),
    ("first prev", lambda ls: [_rewrite(ls[0], lambda o: o.update(prev="1" * 64))] + ls[1:],
     "entry 0: prev", 0),
    ("relinked prev", lambda ls: ls[:20] + [_rewrite(ls[20], lambda o: o.update(prev="a" * 64))] + ls[21:],
     "entry 19 does not hash to the prev recorded in entry 20", 19),
    ("truncated", lambda ls: ls[:-10], "ledger truncated: 40 entries, checkpoint says 50", 40),
    ("emptied", lambda ls: [], "ledger truncated: 0 entries, checkpoint says 50", 0),
]


@pytest.mark.parametrize("name, corrupt, pattern, seq", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_corruption_names_the_first_bad_entry(log: Log, name: str,
                                              corrupt: Callable[[list[bytes]], list[bytes]],
                                              pattern: str, seq: int) -> None:
    _fails(corrupt(list(log.lines)), log.checkpoint(), pattern, seq=seq)


def test_a_consistently_rewritten_history_fails_on_the_root(log: Log) -> None:
    other = make_log(50, actor="FORGER")  # valid, linked entries, but not the ones that were signed
    _fails(other.lines, log.checkpoint(), "Merkle root")


def test_entries_after_the_checkpoint_are_counted_not_covered(log: Log) -> None:
    report = verify_entries(log.lines, log.checkpoint(40))
    assert (report.size, report.entries, report.extra) == (40, 50, 10)
    assert report.root == tree_root(log.lines[:40])


@pytest.mark.parametrize("old", [0, 1, 30, 32, 50])
def test_consistent_previous_checkpoint(log: Log, old: int) -> None:
    report = verify_entries(log.lines, log.checkpoint(), previous=log.checkpoint(old))
    assert report.previous_size == old


@pytest.mark.parametrize("previous, pattern", [
    (lambda log: make_log(30, actor="FORGER").checkpoint(),
     "inconsistent with the checkpoint seen before: the first 30"),
    (lambda log: Checkpoint(ORIGIN, 60, bytes(32)), "inconsistent .* shrank from 60 to 50"),
    (lambda log: Checkpoint("elsewhere", 30, log.checkpoint(30).root), "origin"),
    (lambda log: Checkpoint(ORIGIN, 0, bytes(32)), "inconsistent"),
])
def test_inconsistent_previous_checkpoint(log: Log, previous: Callable[[Log], Checkpoint],
                                          pattern: str) -> None:
    _fails(log.lines, log.checkpoint(), pattern, previous=previous(log))


@pytest.fixture(scope="module")
def proofs(log: Log) -> Callable[[int, int], list[bytes]]:
    from ledger.merkle import consistency_proof
    nodes = MemoryNodeStore()
    for line in log.lines:
        nodes.append_entry(line)
    return lambda old, new: consistency_proof(old, new, nodes.fetch)


def test_consistency_proof_is_fetched_and_checked(log: Log,
                                                  proofs: Callable[[int, int], list[bytes]]) -> None:
    asked: list[tuple[int, int]] = []
    fetch = lambda old, new: asked.append((old, new)) or proofs(old, new)  # noqa: E731
    verify_entries(log.lines, log.checkpoint(), previous=log.checkpoint(30), consistency_proof_fetch=fetch)
    assert asked == [(30, 50)]
    bad = lambda old, new: [bytes(32)] * len(proofs(old, new))  # noqa: E731
    _fails(log.lines, log.checkpoint(), "inconsistent with the checkpoint seen before: consistency",
           previous=log.checkpoint(30), consistency_proof_fetch=bad)


def test_callback_sees_every_verified_entry_in_order(log: Log) -> None:
    seen: list[Entry] = []
    verify_entries(log.lines, log.checkpoint(40), entry_callback=seen.append)
    assert seen == [Entry.from_bytes(line) for line in log.lines[:40]]


def test_progress(log: Log, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "PROGRESS_EVERY", 20)
    counts: list[int] = []
    verify_entries(log.lines, log.checkpoint(), progress=counts.append)
    assert counts == [20, 40, 50]


def _synthetic(n: int) -> Iterator[bytes]:
    """Canonical entries made by string formatting, so a large ledger costs little to build."""
    prev = "0" * 64
    for seq in range(n):
        line = (f'{{"actor":"U1","data":{{"lot":{seq},"text":"卡号"}},"prev":"{prev}","seq":{seq},'
                f'"time":"2024-01-01T00:00:00.000000Z","type":"lot.registered","v":1}}').encode()
        yield line
        prev = hashlib.sha256(line).hexdigest()


def test_memory_stays_flat() -> None:
    n = 10_000
    checkpoint = Checkpoint(ORIGIN, n, tree_root(list(_synthetic(n))))
    tracemalloc.start()
    try:
        report = verify_entries(_synthetic(n), checkpoint,
                                previous=Checkpoint(ORIGIN, 0, hashlib.sha256().digest()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.size == n
    assert peak < 200_000  # the entries alone are ~2.4 MB


def test_leaf_hashes_are_of_the_exact_bytes(log: Log) -> None:
    assert log.checkpoint().root == tree_root(log.lines)
    assert leaf_hash(log.lines[0]) == hashlib.sha256(b"\x00" + log.lines[0]).digest()
    assert re.fullmatch(rb"\{.*\}", log.lines[0])
