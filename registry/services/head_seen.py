"""What a read transaction's first query saw of the ledger head, so later reads need no query of their own.

Authentication is the first query of every API request; it also reads the head's time and size (`COLUMNS`).
In the same transaction (one snapshot on PostgreSQL's REPEATABLE READ and on SQLite) a second read of the
head would return the same values, so `read_now` and the ledger routes reuse them.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import LedgerHead

_KEY = "registry.ledger_head_seen"
COLUMNS = (select(LedgerHead.last_time).where(LedgerHead.id == 1).scalar_subquery().label("ledger_time"),
           select(LedgerHead.size).where(LedgerHead.id == 1).scalar_subquery().label("ledger_size"))
"""Columns to add to a transaction's first query; pass its row to `saw`."""


def saw(session: Session, row: Any) -> None:
    session.info[_KEY] = (session.get_transaction(), row.ledger_time, row.ledger_size)


def _seen(session: Session) -> tuple[Any, ...] | None:
    seen = session.info.get(_KEY)
    return seen if seen is not None and seen[0] is session.get_transaction() else None


def last_time(session: Session) -> datetime | None:
    seen = _seen(session)
    return seen[1] if seen is not None else session.scalar(select(LedgerHead.last_time).where(LedgerHead.id == 1))


def size(session: Session) -> int:
    seen = _seen(session)
    if seen is not None and seen[2] is not None:
        return int(seen[2])
    return session.scalar(select(LedgerHead.size).where(LedgerHead.id == 1)) or 0
