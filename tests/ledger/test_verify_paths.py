"""The verifier's batched and multi-process paths give exactly the verdicts of the entry-by-entry check.

``_reference`` is the verifier as it was before batching (entry by entry, ``parse_canonical`` on every
line): every path must accept the same ledgers and name the same first bad entry with the same message.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Callable, Iterator

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sample_log import ORIGIN, Log, make_log, tree_root
from test_verify import CORRUPTIONS
from ledger import verify
from ledger.chain import FIELDS, decode_entry, entry_hash
from ledger.checkpoint import Checkpoint
from ledger.encoding import ZERO_HASH, canonical_object, parse_canonical
from ledger.errors import VerificationError
from ledger.merkle import EMPTY_ROOT, CompactRange, leaf_hash
from ledger.verify import verify_entries

Outcome = tuple[Any, ...]


def _reference(lines: list[bytes], checkpoint: Checkpoint, previous: Checkpoint | None = None) -> Outcome:
    """The entry-by-entry verifier, kept as the reference: ("ok", report fields) or ("error", message, seq)."""
    try:
        return ("ok", *_reference_report(lines, checkpoint, previous))
    except VerificationError as exc:
        return ("error", str(exc), exc.seq)


def _reference_report(lines: list[bytes], checkpoint: Checkpoint, previous: Checkpoint | None) -> tuple[Any, ...]:
    watch = previous.size if previous is not None else -1
    tree = CompactRange.empty()
    prev, seq, seen_root = ZERO_HASH, 0, EMPTY_ROOT if watch == 0 else None
    for line in lines[:checkpoint.size]:
        try:
            obj = parse_canonical(line)
        except ValueError:
            obj = decode_entry(line, seq)
        if not (type(obj) is dict and obj.keys() == FIELDS and obj["prev"] == prev and obj["seq"] == seq
                and type(obj["seq"]) is int and obj["v"] == 1 and type(obj["v"]) is int
                and type(obj["data"]) is dict and type(obj["time"]) is str and type(obj["actor"]) is str
                and type(obj["type"]) is str):
            raise verify._link_error(seq, decode_entry(line, seq))
        prev = hashlib.sha256(line).hexdigest()
        tree.push(leaf_hash(line))
        seq += 1
        if seq == watch:
            seen_root = tree.root()
    if tree.size < checkpoint.size:
        raise VerificationError(f"ledger truncated: {tree.size} entries, checkpoint says {checkpoint.size}",
                                seq=tree.size)
    if tree.root() != checkpoint.root:
        raise verify._root_error(checkpoint.size)
    if previous is not None and seen_root != previous.root:
        raise VerificationError(f"inconsistent with the checkpoint seen before: the first {previous.size} "
                                "entries do not have its root (history was rewritten)")
    extra = max(len(lines) - checkpoint.size, 0)
    return checkpoint.size, tree.root(), checkpoint.size + extra, extra


MODES = ["entries", "chunks", "workers", "bytes"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """entries: one by one with a callback; chunks: batches of 4 here; workers: 2 processes, chunks of 8;
    bytes: 2 processes, chunks of 1 to 4 entries (their size in bytes decides)."""
    monkeypatch.setattr(verify, "CHUNK", 4)
    monkeypatch.setattr(verify, "WORKER_CHUNK", 8)
    monkeypatch.setattr(verify, "PARALLEL_MIN", 0)
    monkeypatch.setattr(verify, "WORKERS", 1 if request.param in ("entries", "chunks") else 2)
    if request.param == "bytes":
        monkeypatch.setattr(verify, "CHUNK_BYTES", 250)
    return str(request.param)


def _run(mode: str, lines: list[bytes], checkpoint: Checkpoint, previous: Checkpoint | None = None,
         progress: Callable[[int], None] | None = None) -> Outcome:
    seen: list[int] = []
    callback = (lambda entry: seen.append(entry.seq)) if mode == "entries" else None
    try:
        report = verify_entries(iter(lines), checkpoint, previous=previous, progress=progress,
                                entry_callback=callback)
    except VerificationError as exc:
        return ("error", str(exc), exc.seq)
    if callback is not None:
        assert seen == list(range(checkpoint.size))
    return ("ok", report.size, report.root, report.entries, report.extra)


@pytest.mark.parametrize("name, corrupt, pattern, seq", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_corruptions_name_the_same_entry_on_every_path(log: Log, mode: str, name: str,
                                                       corrupt: Callable[[list[bytes]], list[bytes]],
                                                       pattern: str, seq: int) -> None:
    lines = corrupt(list(log.lines))
    outcome = _run(mode, lines, log.checkpoint())
    assert outcome == _reference(lines, log.checkpoint())
    assert outcome[0] == "error" and outcome[2] == seq


@pytest.mark.parametrize("k", [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 48, 49])
@pytest.mark.parametrize("change", ["byte", "space", "relink", "newline", "drop"])
def test_damage_at_chunk_edges(log: Log, mode: str, k: int, change: str) -> None:
    lines = list(log.lines)
    if change == "byte":
        lines[k] = lines[k].replace(b"KH-", b"KX-")
    elif change == "space":
        lines[k] = lines[k].replace(b',"seq":', b', "seq":')
    elif change == "relink":  # canonical, but naming another prev: the link before k is broken
        lines[k] = _rewrite(lines[k], lambda obj: obj.update(prev="ab" * 32))
    elif change == "newline":  # two lines where there was one
        lines[k] = lines[k].replace(b'"type":', b'"type":\n')
    else:
        del lines[k]
    outcome = _run(mode, lines, log.checkpoint())
    assert outcome == _reference(lines, log.checkpoint())
    assert outcome[0] == "error"


@pytest.mark.parametrize("old", [0, 1, 5, 8, 13, 16, 30, 32, 50])
@pytest.mark.parametrize("size", [40, 50])
def test_previous_checkpoint_at_any_size(log: Log, mode: str, old: int, size: int) -> None:
    if old > size:
        return
    good = _run(mode, log.lines, log.checkpoint(size), log.checkpoint(old))
    assert good == ("ok", size, tree_root(log.lines[:size]), 50, 50 - size)
    forged = make_log(old, actor="FORGER").checkpoint() if old else Checkpoint(ORIGIN, 0, bytes(32))
    bad = _run(mode, log.lines, log.checkpoint(size), forged)
    assert bad == _reference(log.lines, log.checkpoint(size), forged)
    assert bad[0] == "error" and "inconsistent" in bad[1]


@pytest.mark.parametrize("every", [1, 3, 8, 20, 50, 64])
def test_progress_counts_the_same(log: Log, mode: str, monkeypatch: pytest.MonkeyPatch, every: int) -> None:
    monkeypatch.setattr(verify, "PROGRESS_EVERY", every)
    counts: list[int] = []
    _run(mode, log.lines, log.checkpoint(), progress=counts.append)
    assert counts == [n for n in range(every, 51, every)] + ([50] if 50 % every else [])
    lines = list(log.lines)
    lines[21] = lines[21].replace(b"KH-", b"KX-")  # found at entry 22, whose prev names the real 21
    counts.clear()
    assert _run(mode, lines, log.checkpoint(), progress=counts.append)[0] == "error"
    assert counts == [n for n in range(every, 23, every)]


def _rewrite(line: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    obj = json.loads(line)
    change(obj)
    return rfc8785.dumps(obj)


def _chain(objs: list[dict[str, Any]]) -> list[bytes]:
    lines, prev = [], ZERO_HASH
    for seq, obj in enumerate(objs):
        line = rfc8785.dumps({**obj, "seq": seq, "prev": prev, "v": 1})
        lines.append(line)
        prev = entry_hash(line)
    return lines


UNUSUAL = [  # canonical entries the fast pattern or the fast data check leaves to the exact path
    {"actor": "沪公安", "time": "t", "type": "x", "data": {}},  # non-ASCII outside data
    {"actor": 'quote " and \\ back', "time": "t\n", "type": "\x7f", "data": {"a": 1}},  # escapes outside data
    {"actor": "a", "time": "t", "type": "x", "data": {"\U0001F600": 1, "\ue000": 2}},  # UTF-16 key order
    {"actor": "a", "time": "t", "type": "x", "data": {"emoji": "\U0001F600"}},
    {"actor": "a", "time": "t", "type": "x", "data": {"big": 2**53 - 1, "neg": -(2**53 - 1), "id": "1234567890123456"}},
    {"actor": "a", "time": "t", "type": "x", "data": {"s": "\u2028\x00\x1f\"\\/", "n": None, "l": [True, [], {}]}},
    {"actor": "", "time": "", "type": "", "data": {"": ""}},
]


def test_unusual_but_canonical_entries_pass_every_path(mode: str) -> None:
    lines = _chain(UNUSUAL * 4)
    checkpoint = Checkpoint(ORIGIN, len(lines), tree_root(lines))
    assert _run(mode, lines, checkpoint) == ("ok", len(lines), checkpoint.root, len(lines), 0)


def test_a_lost_worker_costs_only_speed(log: Log, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "WORKER_CHUNK", 8)
    monkeypatch.setattr(verify, "PARALLEL_MIN", 0)
    monkeypatch.setattr(verify, "WORKERS", 2)
    calls = {"n": 0}
    real = verify._check_alone

    def flaky(lines: list[bytes], start: int) -> Any:  # in the worker: fails, then dies, then works
        calls["n"] += 1
        if start == 8:
            raise RuntimeError("worker bug")
        if start == 24:
            os._exit(3)
        return real(lines, start)

    monkeypatch.setattr(verify, "_check_alone", flaky)
    assert _run("workers", log.lines, log.checkpoint()) == ("ok", 50, log.checkpoint().root, 50, 0)
    lines = list(log.lines)
    lines[40] = lines[40].replace(b"KH-", b"KX-")
    assert _run("workers", lines, log.checkpoint()) == _reference(lines, log.checkpoint())


@pytest.mark.slow
def test_a_worker_dying_while_taking_a_chunk_stalls_nothing(log: Log, monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger import parallel
    monkeypatch.setattr(verify, "WORKER_CHUNK", 4)
    monkeypatch.setattr(verify, "PARALLEL_MIN", 0)
    monkeypatch.setattr(verify, "WORKERS", 2)
    monkeypatch.setattr(parallel, "_WAIT", 0.05)
    calls = {"n": 0}
    real = parallel._read_into

    def dying(fd: int, view: memoryview) -> bool:  # the third read in a worker: holding the pipe's lock
        calls["n"] += 1
        if calls["n"] == 3:
            os._exit(4)
        return real(fd, view)

    monkeypatch.setattr(parallel, "_read_into", dying)
    assert _run("workers", log.lines, log.checkpoint()) == ("ok", 50, log.checkpoint().root, 50, 0)


_LINES = make_log(40).lines


@st.composite
def _damaged(draw: st.DrawFn) -> list[bytes]:
    lines = list(_LINES)
    for _ in range(draw(st.integers(1, 2))):
        k = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["byte", "insert", "delete", "dup", "swap", "data", "truncate", "extra"]))
        if kind == "byte":
            at = draw(st.integers(0, len(lines[k]) - 1))
            lines[k] = lines[k][:at] + bytes([draw(st.integers(0, 255))]) + lines[k][at + 1:]
        elif kind == "insert":
            at = draw(st.integers(0, len(lines[k])))
            extra = draw(st.sampled_from([b" ", b"\n", b"0", b",", b'"', b"\\", b"\xf0"]))
            lines[k] = lines[k][:at] + extra + lines[k][at:]
        elif kind == "delete":
            del lines[k]
        elif kind == "dup":
            lines.insert(k, lines[k])
        elif kind == "swap" and k + 1 < len(lines):
            lines[k], lines[k + 1] = lines[k + 1], lines[k]
        elif kind == "data":  # still canonical, unless the integer is beyond 2^53
            value = draw(st.one_of(st.integers(-(2**60), 2**60), st.text(max_size=3), st.booleans(), st.none()))
            lines[k] = _with_data(lines[k], value)
        elif kind == "truncate":
            lines = lines[:k]
        elif kind == "extra":
            lines.append(lines[k])
        if not lines:
            break
    return lines


def _with_data(line: bytes, value: Any) -> bytes:
    try:
        obj = json.loads(line)
        obj["data"]["x"] = value
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, TypeError, KeyError):  # already damaged
        return line


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_damaged(), size=st.sampled_from([40, 33, 8]), old=st.sampled_from([None, 0, 7, 8, 20]))
def test_damaged_ledgers_get_the_reference_verdict(mode: str, lines: list[bytes], size: int,
                                                   old: int | None) -> None:
    checkpoint = Checkpoint(ORIGIN, size, tree_root(_LINES[:size]))
    previous = None if old is None or old > size else Checkpoint(ORIGIN, old, tree_root(_LINES[:old]))
    assert _run(mode, lines, checkpoint, previous) == _reference(lines, checkpoint, previous)


def _synthetic(n: int) -> Iterator[bytes]:
    prev = ZERO_HASH
    for seq in range(n):
        line = (f'{{"actor":"U1","data":{{"lot":{seq},"text":"卡号"}},"prev":"{prev}","seq":{seq},'
                f'"time":"2024-01-01T00:00:00.000000Z","type":"lot.registered","v":1}}').encode()
        yield line
        prev = hashlib.sha256(line).hexdigest()


@pytest.mark.slow
def test_default_chunks_and_workers_on_a_larger_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "PARALLEL_MIN", 0)
    monkeypatch.setattr(verify, "WORKERS", 2)
    n = 3 * verify.WORKER_CHUNK + 123
    lines = list(_synthetic(n))
    checkpoint = Checkpoint(ORIGIN, n, tree_root(lines))
    previous = Checkpoint(ORIGIN, verify.WORKER_CHUNK + 7, tree_root(lines[:verify.WORKER_CHUNK + 7]))
    assert verify_entries(iter(lines), checkpoint, previous=previous).root == checkpoint.root
    lines[2 * verify.WORKER_CHUNK + 5] = lines[2 * verify.WORKER_CHUNK + 5].replace(b"U1", b"U2")
    with pytest.raises(VerificationError, match=rf"entry {2 * verify.WORKER_CHUNK + 5} does not hash") as caught:
        verify_entries(iter(lines), checkpoint)
    assert caught.value.seq == 2 * verify.WORKER_CHUNK + 5


def test_long_entries_make_short_chunks() -> None:
    lines = [b"x" * (1000 if 10 <= i < 20 else 10) for i in range(40)]
    chunks = list(verify._chunks(iter(lines), 13, 8, 2000))
    assert [(start, len(chunk)) for start, chunk in chunks] == [  # 13: the root there is needed
        (0, 8), (8, 5), (13, 1), (14, 2), (16, 2), (18, 2), (20, 2), (22, 2), (24, 8), (32, 8)]
    assert [line for _, chunk in chunks for line in chunk] == lines


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=4), st.recursive(
    st.none() | st.booleans() | st.integers(-(2**54), 2**54) | st.text() | st.floats(allow_nan=True),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8), max_size=5), st.booleans(), st.sampled_from([(",", ":"), (", ", ": ")]))
def test_canonical_object_never_accepts_what_rfc8785_rejects(value: dict[str, Any], ascii_only: bool,
                                                             separators: tuple[str, str]) -> None:
    for data in (rfc8785.dumps(value) if _encodable(value) else None,
                 json.dumps(value, ensure_ascii=ascii_only, separators=separators).encode()):
        if data is None:
            continue
        found = canonical_object(data)
        if found is not None:
            assert _encodable(found) and rfc8785.dumps(found) == data and found == json.loads(data)


def _encodable(value: Any) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(_encodable(v) for v in value.values())
    if isinstance(value, list):
        return all(_encodable(v) for v in value)
    try:
        rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, ValueError):
        return False
    return True


def test_canonical_object_proves_the_usual_data() -> None:
    for line in _LINES:
        data = json.loads(line)["data"]
        assert canonical_object(rfc8785.dumps(data)) == data
    for data in (b'{"a":1.0}', b'{"a":NaN}', b'{"a": 1}', b'{"b":1,"a":2}', b'{"a":1,"a":1}', b'{"a":-0}',
                 b'{"a":9007199254740992}', b'{"a":"\\u0041"}', b'[1]', b'{"a":1}x', b'{"a":"\xff"}',
                 '{"\U00010000":1}'.encode()):
        assert canonical_object(data) is None, data
