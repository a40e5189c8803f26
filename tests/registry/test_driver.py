"""Statements run on the driver (`registry.driver.Direct`) read and write exactly what SQLAlchemy would,
inside the caller's transaction, and fail the way SQLAlchemy's own statements fail."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from registry.driver import Direct
from registry.models import LedgerEntry, LedgerHead, Lot

AT = datetime(2026, 3, 2, 1, 2, 3, 456789, tzinfo=timezone.utc)
ENTRY = insert(LedgerEntry.__table__).values({c: bindparam(c) for c in ("seq", "body", "time")})
ENTRIES = select(LedgerEntry.seq, LedgerEntry.body, LedgerEntry.time).where(LedgerEntry.seq >= bindparam("from"))


@pytest.fixture
def engine(app):
    return app.extensions["registry.db"].engine  # an empty registry: the head at size 0, no entries


def test_rows_written_on_the_driver_read_back_the_same_through_sqlalchemy_and_the_reverse(engine):
    with engine.begin() as connection:
        Direct(ENTRY).run(connection, {"seq": 0, "body": b"\x00{json}\xff", "time": AT})
        connection.execute(ENTRY, {"seq": 1, "body": b"second", "time": AT + timedelta(microseconds=1)})
        through_driver = Direct(ENTRIES).rows(connection, {"from": 0})
        through_sqlalchemy = [tuple(row) for row in connection.execute(ENTRIES, {"from": 0})]
    assert through_driver == through_sqlalchemy
    assert through_driver == [(0, b"\x00{json}\xff", AT), (1, b"second", AT + timedelta(microseconds=1))]
    assert through_driver[0][2].tzinfo == timezone.utc  # the column's type converted it, as SQLAlchemy does


def test_own_values_many_rows_and_returning(engine):
    head = Direct(select(LedgerHead.size, LedgerHead.last_time).where(LedgerHead.id == 1))  # `== 1`: its own value
    move = Direct(update(LedgerHead.__table__).where(LedgerHead.id == 1)
                  .values(size=bindparam("size"), last_time=bindparam("last_time")))
    returning = Direct(ENTRY.returning(LedgerEntry.seq, LedgerEntry.time))
    with engine.begin() as connection:
        assert head.rows(connection) == [(0, None)]
        move.run(connection, {"size": 7, "last_time": AT})
        [row] = head.rows(connection)
        assert row == (7, AT) and (row.size, row.last_time) == (7, AT)  # by position and by column name
        Direct(ENTRY).run_many(connection, [{"seq": i, "body": b"x", "time": AT} for i in range(3)])
        assert [seq for seq, *_ in Direct(ENTRIES).rows(connection, {"from": 1})] == [1, 2]
        assert returning.rows(connection, {"seq": 3, "body": b"y", "time": AT}) == [(3, AT)]


def test_a_driver_statement_commits_and_rolls_back_with_its_transaction(engine):
    with engine.connect() as connection:
        with connection.begin() as transaction:
            Direct(ENTRY).run(connection, {"seq": 0, "body": b"kept?", "time": AT})
            transaction.rollback()
        assert Direct(ENTRIES).rows(connection, {"from": 0}) == []
        connection.commit()


def test_driver_errors_are_sqlalchemy_errors_and_listeners_see_the_statement(engine):
    seen = []
    listener = lambda _c, _cur, statement, *_: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with engine.connect() as connection:
            Direct(ENTRY).run(connection, {"seq": 0, "body": b"a", "time": AT})
            with pytest.raises(IntegrityError):  # the same seq twice: what the error handlers expect to see
                Direct(ENTRY).run(connection, {"seq": 0, "body": b"b", "time": AT})
            connection.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(seen) == 2 and all(s.startswith("INSERT INTO ledger_entries") for s in seen)


def test_statements_it_cannot_run_as_sqlalchemy_would_are_refused(engine):
    expanding = Direct(select(LedgerEntry.seq).where(LedgerEntry.seq.in_(bindparam("seqs", expanding=True))))
    defaulted = Direct(insert(Lot.__table__).values(card_no=bindparam("card_no")))  # location: a Python default
    with engine.connect() as connection:
        with pytest.raises(ValueError, match="fixed SQL"):
            expanding.rows(connection, {"seqs": [1, 2]})
        with pytest.raises(ValueError, match="column defaults"):
            defaulted.run(connection, {"card_no": "X"})
