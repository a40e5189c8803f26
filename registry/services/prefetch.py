"""Rows a write read together with its lock (PostgreSQL), waiting for the code that asks for them.

A write's first reads go in the lock's round trip (`ledger_log.lock_head`'s `reads`); the code that needs
those rows asks `rows` for them, which hands them over once for the same statement and parameters, and
otherwise reads them then. They belong to the write's transaction alone: `forget` drops what is left when
it ends.
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy.orm import Session

from ..driver import Direct
from ..pipeline import Result

_KEY = "registry.prefetched"


def keep(session: Session, answers: Iterable[Result]) -> None:
    session.info.setdefault(_KEY, []).extend(answers)


def rows(session: Session, statement: Direct, params: dict[str, Any]) -> list[tuple]:
    """The rows of `statement` with `params`: those that came with the lock, else read now."""
    answers = session.info.get(_KEY)
    if answers:
        for i, answer in enumerate(answers):
            if answer.statement is statement and answer.params == params:
                del answers[i]
                return answer.rows
    return statement.rows(session.connection(), params)


def forget(session: Session) -> None:
    session.info.pop(_KEY, None)
