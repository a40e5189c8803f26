"""PostgreSQL batches (`registry.pipeline.Batch`): several statements and the transaction's BEGIN or COMMIT in
one round trip, answering exactly what the statements sent one by one answer, failing as they fail, and
surviving psycopg's DEALLOCATE ALL of every prepared statement."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import bindparam, event, insert, select, text
from sqlalchemy.exc import IntegrityError

from registry.driver import Direct
from registry.models import LedgerEntry, LedgerHead
from registry.pipeline import Batch

from helpers import execute, open_case, register_lots, seize, try_seize

AT = datetime(2026, 3, 2, 1, 2, 3, 456789, tzinfo=timezone.utc)
ENTRY = Direct(insert(LedgerEntry.__table__).values({c: bindparam(c) for c in ("seq", "body", "time")}))
ENTRIES = Direct(select(LedgerEntry.seq, LedgerEntry.body, LedgerEntry.time)
                 .where(LedgerEntry.seq >= bindparam("from")).order_by(LedgerEntry.seq))
HEAD = Direct(select(LedgerHead.size, LedgerHead.last_time).where(LedgerHead.id == 1).with_for_update())


@pytest.fixture
def engine(app):
    return app.extensions["registry.db"].engine  # an empty registry: the head at size 0, no entries


def _server_statements(connection) -> set[str]:
    return set(connection.execute(text("SELECT name FROM pg_prepared_statements")).scalars())


def test_a_batch_answers_what_each_statement_answers_alone_and_commits_with_them(engine):
    with engine.connect() as connection:
        if engine.dialect.name != "postgresql":
            with pytest.raises(ValueError, match="PostgreSQL"):
                Batch(connection)
            return
        batch = Batch(connection)
        batch.begin()
        head = batch.add(HEAD)
        written = batch.add(ENTRY, {"seq": 0, "body": b"\x00{json}\xff", "time": AT})
        read = batch.add(ENTRIES, {"from": 0})
        batch.send()
        assert head.rows == [(0, None)] and head.rows[0].size == 0  # by position and by column name
        assert written.rows == []
        assert read.rows == [(0, b"\x00{json}\xff", AT)] and read.rows[0].time.tzinfo == timezone.utc
        assert read.rows == ENTRIES.rows(connection, {"from": 0})  # the same rows through the cursor
        closing = Batch(connection)
        closing.add(ENTRY, {"seq": 1, "body": b"second", "time": AT})
        closing.commit()
        closing.send()
        connection.commit()  # SQLAlchemy's bookkeeping: the server has committed already
    with engine.connect() as connection:
        assert [row.seq for row in ENTRIES.rows(connection, {"from": 0})] == [0, 1]


def test_an_error_fails_the_batch_as_sqlalchemy_fails_and_nothing_of_it_is_kept(engine):
    if engine.dialect.name != "postgresql":
        return  # no batches on SQLite (see the test above)
    with engine.connect() as connection:
        connection.execute(ENTRY.statement, {"seq": 0, "body": b"first", "time": AT})
        connection.commit()
        batch = Batch(connection)
        batch.begin()
        batch.add(ENTRY, {"seq": 1, "body": b"kept?", "time": AT})
        batch.add(ENTRY, {"seq": 0, "body": b"again", "time": AT})  # the same seq twice
        batch.commit()  # never runs: the error aborts the rest of the batch
        with pytest.raises(IntegrityError, match="ledger_entries"):
            batch.send()
        connection.rollback()
        assert [row.body for row in ENTRIES.rows(connection, {"from": 0})] == [b"first"]
        connection.commit()


def test_batches_prepare_again_what_psycopg_deallocated_on_rollback(engine):
    """psycopg sends DEALLOCATE ALL on ROLLBACK once it has prepared statements of its own."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        for _ in range(2):
            batch = Batch(connection)
            batch.begin()
            batch.add(ENTRIES, {"from": 0})
            batch.send()
            connection.commit()
        ours = {name for name in _server_statements(connection) if name.startswith("registry_")}
        assert ours  # prepared once, then reused
        for _ in range(6):  # psycopg prepares a statement of its own after 5 runs
            connection.execute(text("SELECT count(*) FROM ledger_entries")).scalar()
        assert any(name.startswith("_pg3_") for name in _server_statements(connection))
        connection.rollback()  # and DEALLOCATE ALL
        assert _server_statements(connection) == set()
        batch = Batch(connection)
        batch.begin()
        read = batch.add(ENTRIES, {"from": 0})
        batch.send()
        assert read.rows == []
        assert any(name.startswith("registry_") for name in _server_statements(connection))
        connection.commit()


def test_a_seizure_on_postgresql_is_two_round_trips(app, session, units):
    """BEGIN, the head lock and the lots and case it decides on in one; its rows, the ledger entry, the
    Idempotency-Key's response and COMMIT in the other. A refused write in between (ROLLBACK, DEALLOCATE ALL)
    changes nothing of that."""
    b = units["baoshan"]
    lots = register_lots(b, ["23.4567", "24.0001", "25.0000"])
    case = open_case(b, "(2025)沪0113执1234号")
    engine = app.extensions["registry.db"].engine
    sent, alone = [], []
    send = Batch.send
    listener = lambda _c, cursor, statement, *_: alone.append(statement) if cursor is not None else None  # noqa
    event.listen(engine, "before_cursor_execute", listener)
    try:
        Batch.send = lambda self: (sent.append(self), send(self))[1]  # type: ignore[method-assign]
        seize(b, case, [lots[0]], "(2025)沪0113执1234号之一")
        refused = try_seize(b, case, [lots[0]], "(2025)沪0113执1234号之二")
        assert refused.status_code == 409  # this case holds the lot already
        seize(b, case, [lots[1], lots[2]], "(2025)沪0113执1234号之三", headers={"Idempotency-Key": "k-3"})
        again = try_seize(b, case, [lots[1], lots[2]], "(2025)沪0113执1234号之三", headers={"Idempotency-Key": "k-3"})
        assert again.status_code == 201  # the remembered response, replayed
    finally:
        Batch.send = send  # type: ignore[method-assign]
        event.remove(engine, "before_cursor_execute", listener)
    if engine.dialect.name == "postgresql":
        # The refused one: its lock batch, then ROLLBACK, and after it (no lock held) the names of the units
        # its conflicts name. The replay: its lock batch, with the remembered response, and no entry.
        assert len(sent) == 2 + 1 + 2 + 1
        assert [s.split("\n")[0] for s in alone] == ["SELECT units.code, units.name "], alone
    else:
        assert sent == [] and len(alone) > 0


def test_a_delivery_on_postgresql_reads_its_lots_and_case_with_the_lock(app, session, units):
    b = units["baoshan"]
    lots = register_lots(b, ["23.4567", "24.0001"])
    case = open_case(b, "(2025)沪0113执1234号")
    seize(b, case, lots, "(2025)沪0113执1234号之一")
    engine = app.extensions["registry.db"].engine
    alone = []
    listener = lambda _c, cursor, statement, *_: alone.append(statement) if cursor is not None else None  # noqa
    event.listen(engine, "before_cursor_execute", listener)
    try:
        delivered = execute(b, case, lots, "(2025)沪0113执1234号之二")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert delivered.status_code == 201, delivered.get_json()
    lots_read_alone = [s for s in alone if s.lstrip().startswith("SELECT lots.id")]
    if engine.dialect.name == "postgresql":
        assert lots_read_alone == []  # it came with the lock
    else:
        assert len(lots_read_alone) == 1
