"""Rows a write read together with its lock (PostgreSQL), waiting for the code that asks for them.

A write's first read goes in the lock's round trip (`ledger_log.lock_head`'s `reads`); the code that needs
those rows still asks for them the usual way and gets them here, once, for the same statement and
parameters. They belong to the write's transaction alone: `forget` drops what is left when it ends.
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy.orm import Session

from ..driver import Direct
from ..pipeline import Result

_KEY = "registry.prefetched"


def keep(session: Session, answers: Iterable[Result]) -> None:
    session.info.setdefault(_KEY, []).extend(answers)


def take(session: Session, statement: Direct, params: dict[str, Any]) -> list[tuple] | None:
    """The rows of `statement` with `params` if they came with the lock; else None: read them now."""
    answers = session.info.get(_KEY)
    if answers:
        for i, answer in enumerate(answers):
            if answer.statement is statement and answer.params == params:
                del answers[i]
                return answer.rows
    return None


def forget(session: Session) -> None:
    session.info.pop(_KEY, None)
