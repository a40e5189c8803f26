"""Appending to the ledger inside the caller's transaction, and reading it back with proofs."""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Sequence

from sqlalchemy import LargeBinary, String, bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.chain import Entry, entry_hash
from ledger.checkpoint import Checkpoint as SignedTree, sign_checkpoint
from ledger.merkle import CompactRange, leaf_hash

from ..db import end_read
from ..driver import Direct
from ..models import Checkpoint, LedgerEntry, LedgerHead, LedgerNode
from ..pipeline import Batch
from ..types import UTCDateTime
from . import credentials, head_seen, prefetch

TICK = timedelta(microseconds=1)


def ledger_time(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Head:
    """The ledger head as locked by this write, moved forward by its append."""

    size: int
    last_hash: str
    last_time: datetime | None
    frontier: bytes


_HEAD = (LedgerHead.size, LedgerHead.last_hash, LedgerHead.last_time, LedgerHead.frontier)
# The lock also confirms the caller's token when one is owed (see `credentials`): no query of its own.
_LOCK = Direct(select(*_HEAD, credentials.LIVE).where(LedgerHead.id == 1).with_for_update())
_LOCK_AND_RESERVE = Direct(select(*_HEAD, credentials.LIVE,
                                  func.nextval(bindparam("sequence", type_=String()).cast(REGCLASS)))
                           .where(LedgerHead.id == 1).with_for_update())


def lock_head(session: Session, reads: Sequence[tuple[Direct, dict[str, Any]]] = ()) -> Head:
    """Lock the one head row; every write takes this lock first, so the ledger has one total order.

    `reads`: statements the write will read first; on PostgreSQL they are sent with the lock, and their
    rows wait in `prefetch`."""
    [(*head, live)] = _lock(session, _LOCK, credentials.params(session), reads)
    credentials.settle(session, live)
    return Head(*head)


def lock_head_reserving(session: Session, sequence: str,
                        reads: Sequence[tuple[Direct, dict[str, Any]]] = ()) -> tuple[Head, int]:
    """`lock_head`, also taking the next id of a PostgreSQL sequence in the same round trip.

    With its id known before it is inserted, a new row can go in with its ledger entry: see `RowsWithEntry`.
    """
    [(*head, live, reserved)] = _lock(session, _LOCK_AND_RESERVE,
                                      {"sequence": sequence, **credentials.params(session)}, reads)
    credentials.settle(session, live)
    return Head(*head), reserved


def _lock(session: Session, lock: Direct, params: dict[str, Any],
          reads: Sequence[tuple[Direct, dict[str, Any]]]) -> list[tuple]:
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return lock.rows(connection, params)
    # One round trip: BEGIN (unless authentication already began the transaction), the lock, the reads.
    batch = Batch(connection)
    batch.begin()
    locked = batch.add(lock, params)
    answers = [batch.add(statement, read_params) for statement, read_params in reads]
    batch.send()
    prefetch.keep(session, answers)
    return locked.rows


@dataclass(frozen=True)
class RowsWithEntry:
    """PostgreSQL: data-modifying CTEs (`name AS (INSERT …)`, comma-separated) sent in the statement that
    appends the entry, so a write's own rows cost no round trip under the head lock. Their parameters must
    not reuse the append's names (seq, body, time, levels, indexes, hashes, size, last_hash, last_time,
    frontier); `binds` type those that need it."""

    ctes: str
    binds: tuple[Any, ...] = ()


def next_instant(head: Head, clock: datetime) -> datetime:
    """Ledger time never goes backwards, and two entries never share an instant, whatever the clocks do."""
    return clock if head.last_time is None or clock > head.last_time else head.last_time + TICK


def append(session: Session, head: Head, now: datetime, actor: str, type_: str, data: dict[str, Any],
           rows: tuple[RowsWithEntry, dict[str, Any]] | None = None, batch: Batch | None = None) -> Entry:
    """Write one entry and its new Merkle nodes, and move the head: O(log n) work, no reads.

    `rows` (PostgreSQL only): the write's own rows, written by the same statement. `batch` (PostgreSQL
    only): queue the statement there instead of sending it now."""
    entry = Entry(seq=head.size, time=ledger_time(now), actor=actor, type=type_, data=data, prev=head.last_hash)
    body = entry.to_bytes()
    frontier = CompactRange.from_bytes(head.frontier)
    nodes = frontier.append(leaf_hash(body))
    moved = Head(entry.seq + 1, entry_hash(body), now, frontier.to_bytes())
    # The head lock is held until commit, so every statement here delays every other write: statements run
    # on the driver (`Direct`), and one round trip on PostgreSQL.
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        also, params = rows if rows is not None else (None, {})
        statement = _append_postgresql(also)
        values = {"seq": entry.seq, "body": body, "time": now, "levels": [n[0] for n in nodes],
                  "indexes": [n[1] for n in nodes], "hashes": [n[2] for n in nodes], **vars(moved), **params}
        if batch is not None:
            batch.add(statement, values)
        else:
            statement.run(connection, values)
    elif rows is not None or batch is not None:
        raise ValueError("rows with the entry and batches are PostgreSQL's")
    else:
        _INSERT_ENTRY.run(connection, {"seq": entry.seq, "body": body, "time": now})
        _INSERT_NODE.run_many(connection, [{"level": lv, "index": ix, "hash": h} for lv, ix, h in nodes])
        _MOVE_HEAD.run(connection, vars(moved))
    head.size, head.last_hash, head.last_time, head.frontier = moved.size, moved.last_hash, now, moved.frontier
    return entry


_INSERT_ENTRY = Direct(insert(LedgerEntry.__table__).values({c: bindparam(c) for c in ("seq", "body", "time")}))
_INSERT_NODE = Direct(insert(LedgerNode.__table__).values({c: bindparam(c) for c in ("level", "index", "hash")}))
_MOVE_HEAD = Direct(update(LedgerHead.__table__).where(LedgerHead.id == 1).values(
    size=bindparam("size"), last_hash=bindparam("last_hash"), last_time=bindparam("last_time"),
    frontier=bindparam("frontier")))
_APPEND_POSTGRESQL = """
    WITH {rows}entry AS (INSERT INTO ledger_entries (seq, body, time) VALUES (:seq, :body, :time)),
         nodes AS (INSERT INTO ledger_nodes (level, index, hash)
                   SELECT * FROM unnest(CAST(:levels AS integer[]), CAST(:indexes AS bigint[]),
                                        CAST(:hashes AS bytea[])))
    UPDATE ledger_head SET size = :size, last_hash = :last_hash, last_time = :last_time, frontier = :frontier
    WHERE id = 1"""
_APPEND_BINDS = (bindparam("body", type_=LargeBinary()), bindparam("time", type_=UTCDateTime()),
                 bindparam("last_time", type_=UTCDateTime()), bindparam("frontier", type_=LargeBinary()))


@functools.cache
def _append_postgresql(rows: RowsWithEntry | None):
    """The append statement, with a write's own rows in front when given; built once per kind of write."""
    if rows is None:
        return Direct(text(_APPEND_POSTGRESQL.format(rows="")).bindparams(*_APPEND_BINDS))
    return Direct(text(_APPEND_POSTGRESQL.format(rows=f"{rows.ctes},\n         "))
                  .bindparams(*_APPEND_BINDS, *rows.binds))


@dataclass(frozen=True)
class Signer:
    origin: str
    private_key: Any

    def sign(self, size: int, root: bytes) -> str:
        return sign_checkpoint(SignedTree(self.origin, size, root), self.origin, self.private_key)


def current_checkpoint(session: Session, signer: Signer) -> str:
    """The checkpoint for every committed entry, signing and keeping a new one when the tree has grown."""
    head = session.get(LedgerHead, 1)
    latest = session.scalars(select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1)).first()
    if latest is not None and latest.size == head.size:
        return latest.note
    if latest is not None and latest.size > head.size:
        raise RuntimeError("the head is behind the last signed checkpoint")
    size, note = head.size, signer.sign(head.size, CompactRange.from_bytes(head.frontier).root())
    end_read(session)
    try:
        with session.begin():
            session.add(Checkpoint(size=size, note=note, signed_at=datetime.now(timezone.utc)))
    except IntegrityError:  # another worker signed this size first: serve theirs, never two for one size
        return session.scalars(select(Checkpoint.note).where(Checkpoint.size == size)).one()
    return note


def fetch_nodes(session: Session, also: Sequence[tuple[int, int]] = ()):
    """A node fetcher for ledger.merkle; `also` are nodes read with its first query and served from memory."""
    known: dict[tuple[int, int], bytes] = {}
    extra = list(also)
    postgresql = session.get_bind().dialect.name == "postgresql"

    def fetch(keys: Sequence[tuple[int, int]]) -> Mapping[tuple[int, int], bytes]:
        wanted = list(dict.fromkeys(k for k in (*keys, *extra) if k not in known))
        extra.clear()
        if wanted:
            params = {"levels": [lv for lv, _ in wanted], "indexes": [ix for _, ix in wanted]} if postgresql \
                else {"keys": json.dumps(wanted)}
            rows = (_NODES_POSTGRESQL if postgresql else _NODES_SQLITE).rows(session.connection(), params)
            known.update(((level, index), bytes(h)) for level, index, h in rows)
        return {k: known[k] for k in keys if k in known}
    return fetch


# One statement whatever the number of nodes, each found by its primary key; every proof sends it.
_NODES_POSTGRESQL = Direct(text("""
    SELECT n.level, n.index, n.hash
    FROM unnest(CAST(:levels AS integer[]), CAST(:indexes AS bigint[])) AS k(level, index)
    JOIN ledger_nodes AS n ON n.level = k.level AND n.index = k.index"""))
_NODES_SQLITE = Direct(text("""
    SELECT n.level, n."index", n.hash FROM json_each(:keys) AS k
    JOIN ledger_nodes AS n ON n.level = json_extract(k.value, '$[0]') AND n."index" = json_extract(k.value, '$[1]')"""))


def ledger_size(session: Session) -> int:
    return head_seen.size(session)


def entries(session: Session, start: int, end: int) -> list[bytes]:
    rows = session.scalars(select(LedgerEntry.body).where(LedgerEntry.seq >= start, LedgerEntry.seq < end)
                           .order_by(LedgerEntry.seq))
    return [bytes(b) for b in rows]
