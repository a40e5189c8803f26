"""One write = one transaction = one ledger entry, with idempotent retries.

The shape of every command: lock the ledger head (first statement), take the ledger's instant as `now`,
load facts, let the rules decide, apply the plan to the tables, append the entry, remember the response
for the Idempotency-Key, commit. Any exception rolls everything back, so a refused request leaves no trace.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Sequence, TypeVar

from flask import current_app, has_app_context
from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from ..db import begin_write
from ..driver import Direct
from ..models import IdempotencyRecord
from ..pipeline import Batch
from ..rules import DomainError
from . import head_seen, prefetch
from .holders import name_holders
from .ledger_log import Head, RowsWithEntry, append, lock_head, lock_head_reserving, next_instant
from .sets import dialect

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Idempotency:
    """A client's retry key: `render` turns the use case's result into the response to remember."""

    key: str
    fingerprint: str
    render: Callable[[Any], tuple[int, Any]]


class Replayed(Exception):
    """The same Idempotency-Key and body were seen before: answer with the first response."""

    def __init__(self, status: int, body: Any):
        super().__init__(status)
        self.status, self.body = status, body


@dataclass
class Tx:
    session: Session
    head: Head
    now: datetime
    actor: str
    reserved_id: int | None = None  # see run_write's `reserve`
    recorded: bool = False
    # PostgreSQL: the entry's statement waits here, to go with COMMIT. Recording is a write's last statement.
    closing: Batch | None = None

    def record(self, type_: str, data: dict[str, Any],
               rows: tuple[RowsWithEntry, dict[str, Any]] | None = None) -> None:
        if self.recorded:
            raise RuntimeError("one write, one ledger entry")
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            self.closing = Batch(connection)
        append(self.session, self.head, self.now, self.actor, type_, data, rows, self.closing)
        self.recorded = True

    def remember(self, statement: Direct, params: dict[str, Any]) -> None:
        """A row the write keeps after its entry (the Idempotency-Key's response): sent with COMMIT."""
        if self.closing is not None:
            self.closing.add(statement, params)
        else:
            statement.run(self.session.connection(), params)

    def commit(self) -> None:
        """Send the entry (if it waits) and COMMIT: one round trip on PostgreSQL, unless the session still
        has ORM changes to flush, which must follow the entry's rows and precede COMMIT."""
        closing, self.closing = self.closing, None
        session = self.session
        if closing is not None:
            pending = session.new or session.dirty or session.deleted
            if not pending:
                closing.commit()
            closing.send()
        session.commit()  # after a COMMIT sent above: SQLAlchemy's bookkeeping; the driver sends nothing


def clock() -> datetime:
    override = current_app.config.get("CLOCK") if has_app_context() else None
    return override() if override else utcnow()


def run_write(session: Session, actor: str, work: Callable[[Tx], T], idem: Idempotency | None = None,
              reserve: str | None = None, reads: Sequence[tuple[Direct, dict[str, Any]]] = ()) -> T:
    """Run `work` as one serialised write; commit only if it recorded its entry.

    `reserve` names a sequence: on PostgreSQL its next value comes with the lock as `tx.reserved_id`, so the
    write can name its new row in the entry and send the row with it (`Tx.record`'s `rows`). `reads`: the
    statements `work` reads first, with their parameters; on PostgreSQL they are sent with the lock and
    their rows wait for `work` in `prefetch`.
    """
    try:
        begin_write(session)
        reserved = None
        if idem is not None:  # whether the key was seen is read with the lock too
            reads = [*reads, _seen_read(actor, idem)]
        if reserve is not None and dialect(session) == "postgresql":
            head, reserved = lock_head_reserving(session, reserve, reads)
        else:
            head = lock_head(session, reads)
        if idem is not None:
            _replay_if_seen(session, actor, idem)
        tx = Tx(session, head, next_instant(head, clock()), actor, reserved)
        result = work(tx)
        if not tx.recorded:
            raise RuntimeError("a write must record a ledger entry")
        if idem is not None:
            status, body = idem.render(result)
            tx.remember(_REMEMBER, {"unit_code": actor, "key": idem.key, "fingerprint": idem.fingerprint,
                                    "status": status, "body": json.dumps(body, ensure_ascii=False),
                                    "created_at": tx.now})
        tx.commit()
        return result
    except DomainError as refused:
        session.rollback()
        if refused.conflicts:  # read after the rollback: the write's lock is not held for the names
            refused.conflicts = name_holders(session, refused.conflicts)
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        prefetch.forget(session)


_REMEMBER = Direct(insert(IdempotencyRecord.__table__).values(
    {c: bindparam(c) for c in ("unit_code", "key", "fingerprint", "status", "body", "created_at")}))


_SEEN = Direct(select(IdempotencyRecord.fingerprint, IdempotencyRecord.status, IdempotencyRecord.body)
               .where(IdempotencyRecord.unit_code == bindparam("unit_code"),
                      IdempotencyRecord.key == bindparam("key")))


def _seen_read(actor: str, idem: Idempotency) -> tuple[Direct, dict[str, Any]]:
    return _SEEN, {"unit_code": actor, "key": idem.key}


def _replay_if_seen(session: Session, actor: str, idem: Idempotency) -> None:
    found = prefetch.rows(session, *_seen_read(actor, idem))
    if not found:
        return
    [seen] = found
    if seen.fingerprint != idem.fingerprint:
        raise DomainError("idempotency_key_reused", "this Idempotency-Key was used with another request",
                          errors={"Idempotency-Key": ["already used with a different body"]})
    raise Replayed(seen.status, json.loads(seen.body))


def read_now(session: Session) -> datetime:
    """The instant a read is answered at: never before the last committed write, whatever this host's clock."""
    last = head_seen.last_time(session)
    now = clock()
    return last if last is not None and last > now else now
