"""One write = one transaction = one ledger entry, with idempotent retries.

The shape of every command: lock the ledger head (first statement), take the ledger's instant as `now`,
load facts, let the rules decide, apply the plan to the tables, append the entry, remember the response
for the Idempotency-Key, commit. Any exception rolls everything back, so a refused request leaves no trace.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, TypeVar

from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from ..db import begin_write
from ..models import IdempotencyRecord
from ..rules import DomainError
from . import head_seen
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

    def record(self, type_: str, data: dict[str, Any],
               rows: tuple[RowsWithEntry, dict[str, Any]] | None = None) -> None:
        if self.recorded:
            raise RuntimeError("one write, one ledger entry")
        append(self.session, self.head, self.now, self.actor, type_, data, rows)
        self.recorded = True


def clock() -> datetime:
    override = current_app.config.get("CLOCK") if has_app_context() else None
    return override() if override else utcnow()


def run_write(session: Session, actor: str, work: Callable[[Tx], T], idem: Idempotency | None = None,
              reserve: str | None = None) -> T:
    """Run `work` as one serialised write; commit only if it recorded its entry.

    `reserve` names a sequence: on PostgreSQL its next value comes with the lock as `tx.reserved_id`, so the
    write can name its new row in the entry and send the row with it (`Tx.record`'s `rows`).
    """
    try:
        begin_write(session)
        reserved = None
        if reserve is not None and dialect(session) == "postgresql":
            head, reserved = lock_head_reserving(session, reserve)
        else:
            head = lock_head(session)
        if idem is not None:
            _replay_if_seen(session, actor, idem)
        tx = Tx(session, head, next_instant(head, clock()), actor, reserved)
        result = work(tx)
        if not tx.recorded:
            raise RuntimeError("a write must record a ledger entry")
        if idem is not None:
            status, body = idem.render(result)
            session.add(IdempotencyRecord(unit_code=actor, key=idem.key, fingerprint=idem.fingerprint,
                                          status=status, body=json.dumps(body, ensure_ascii=False),
                                          created_at=tx.now))
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise


def _replay_if_seen(session: Session, actor: str, idem: Idempotency) -> None:
    seen = session.get(IdempotencyRecord, (actor, idem.key))
    if seen is None:
        return
    if seen.fingerprint != idem.fingerprint:
        raise DomainError("idempotency_key_reused", "this Idempotency-Key was used with another request",
                          errors={"Idempotency-Key": ["already used with a different body"]})
    raise Replayed(seen.status, json.loads(seen.body))


def read_now(session: Session) -> datetime:
    """The instant a read is answered at: never before the last committed write, whatever this host's clock."""
    last = head_seen.last_time(session)
    now = clock()
    return last if last is not None and last > now else now
