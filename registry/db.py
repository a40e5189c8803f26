"""Engine and one session per request.

Reads on PostgreSQL run in REPEATABLE READ so a view built from several queries sees one snapshot (a view
that usually needs one query may run it outside any transaction, see `read_by_statement`). Writes
must start with the ledger-head lock as their first statement, in READ COMMITTED on PostgreSQL (so the lock,
once granted, sees everything committed before it) and as BEGIN IMMEDIATE on SQLite (so two writers never
both hold a read snapshot and deadlock on upgrade).
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable, Iterator, TypeVar

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from . import pipeline
from .driver import Direct
from .sqlite_writers import QueuedWriterConnection

log = logging.getLogger("registry.db")
T = TypeVar("T")


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        _create_private(make_url(url).database)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False,
                                                  "factory": QueuedWriterConnection}, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, isolation_level="REPEATABLE READ", **kwargs)
    _ping_when_idle(engine)
    pipeline.watch(engine)
    return engine


def _create_private(path: str | None) -> None:
    """Create a missing SQLite database file 0600: SQLite gives its -wal and -shm files the same mode."""
    if not path or path == ":memory:" or path.startswith("file:") or os.path.exists(path):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # another process made it a moment ago
        pass
    except OSError:  # no such folder, no permission: SQLite's own connection error says so
        pass


IDLE_BEFORE_PING = 5.0  # seconds


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before reuse only if it sat idle: one that served a request a moment ago is
    alive, and pinging it would add a round trip to every request (pool_pre_ping does). A connection that
    dies in use anyway (the server restarted under load) fails that request with 503, and SQLAlchemy then
    drops every pooled connection opened before it."""
    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < IDLE_BEFORE_PING:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # any failure: let the pool open a fresh connection instead
            raise DisconnectionError(f"idle connection is dead: {error}") from error


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        begin = conn.get_execution_options().get("sqlite_begin", "BEGIN")
        if begin == "BEGIN IMMEDIATE":
            conn.connection.dbapi_connection.queue_for_write()
        _SQLITE_BEGIN[begin].run(conn)  # on the driver: every request begins at least one transaction


_SQLITE_BEGIN = {begin: Direct(text(begin)) for begin in ("BEGIN", "BEGIN IMMEDIATE")}


def write_options(session: Session) -> dict[str, str]:
    name = session.get_bind().dialect.name
    return {"sqlite_begin": "BEGIN IMMEDIATE"} if name == "sqlite" else {"isolation_level": "READ COMMITTED"}


_WRITING = "registry.writing"


def _marked(session: Session, key: str) -> bool:
    """Whether the session's current transaction is the one marked under `key` (a later one is not)."""
    return session.in_transaction() and session.info.get(key) is session.get_transaction()


def _open_marked_on_postgresql(session: Session, options: dict[str, str], key: str) -> None:
    """On PostgreSQL and outside a transaction: begin one with `options`, marked under `key`."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options=options)
        session.info[key] = session.get_transaction()


def end_read(session: Session) -> None:
    """End a read transaction with COMMIT, which for a read is the same as ROLLBACK but cheaper here.

    psycopg forgets every prepared statement of a connection on ROLLBACK (it cannot tell a read from undone
    DDL) and sends DEALLOCATE ALL: ending reads that way would have every statement parsed and planned anew
    on every request. Reads have nothing to undo. A write transaction still open here (one that neither
    committed nor rolled back) is rolled back: half a write is never kept.
    """
    if not session.in_transaction():
        return
    if _marked(session, _WRITING):
        session.rollback()
    else:
        session.commit()


_STATEMENT_READS = "registry.statement_reads"


class SnapshotNeeded(Exception):
    """A read running statement by statement needs a second statement: start it over in one snapshot."""


def read_by_statement(session: Session) -> None:
    """On PostgreSQL, run this request's first reads outside any transaction (autocommit).

    A view that reads everything it shows in one statement is consistent without a transaction: the
    statement is its snapshot. So is a view whose later statements read only rows that never change once
    committed, within what its first statement saw (a proof's Merkle nodes, for a size no larger than the
    ledger's then). Either costs no BEGIN and no COMMIT, two of a lot view's four round trips.
    A view that finds it needs more calls `more_reads`, and `in_one_snapshot` starts it over in a
    REPEATABLE READ transaction.
    """
    _open_marked_on_postgresql(session, {"isolation_level": "AUTOCOMMIT"}, _STATEMENT_READS)


def more_reads(session: Session) -> None:
    """Call before a read that must agree with the reads before it."""
    if _marked(session, _STATEMENT_READS):
        raise SnapshotNeeded()


def in_one_snapshot(session: Session, read: Callable[[], T]) -> T:
    """`read()`, started over in one snapshot if it was reading statement by statement and needs more."""
    try:
        return read()
    except SnapshotNeeded:
        session.info.pop(_STATEMENT_READS, None)
        end_read(session)  # no round trip: nothing was begun; the next statement begins REPEATABLE READ
        return read()


_WRITE_OPENED = "registry.write_opened"


def open_write_early(session: Session) -> None:
    """On PostgreSQL, let a request that is going to write authenticate inside its write transaction.

    Authentication is a request's first query; run in a read transaction of its own it would cost a BEGIN
    and a COMMIT more per write. In READ COMMITTED the head lock that follows still sees everything committed
    before it was granted. On SQLite a write transaction holds the one writer lock from BEGIN IMMEDIATE, so
    there authentication stays outside it.
    """
    _open_marked_on_postgresql(session, write_options(session), _WRITE_OPENED)


def begin_write(session: Session) -> None:
    """End any read transaction and start a write one whose first statement will be the head lock."""
    if not _marked(session, _WRITE_OPENED):  # else opened by open_write_early; only reads have run in it
        end_read(session)
        session.connection(execution_options=write_options(session))
    session.info.pop(_WRITE_OPENED, None)
    session.info[_WRITING] = session.get_transaction()


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def dispose(self) -> None:
        self.engine.dispose()


def init_app(app: Flask, url: str) -> Database:
    database = Database(url)
    app.extensions["registry.db"] = database
    app.teardown_appcontext(close_session)
    return database


def database() -> Database:
    return current_app.extensions["registry.db"]


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = database().sessions()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    """End the request's session. Its connection may have died with the database: drop it, never fail."""
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        if _exc is None:
            try:
                end_read(session)
            except SQLAlchemyError:  # a failed statement left it aborted: close() below rolls it back
                pass
        session.close()
    except DBAPIError as error:
        log.warning("discarding a broken database connection: %s", error.orig)
        session.invalidate()


class StreamedBody:
    """A streamed response body read through a session of its own, closed with the body.

    Flask tears the request down (closing the request's session) when the view returns, before a streamed
    body is read; the request's session used after that would silently start a new transaction (a new
    snapshot) on a connection nobody returns to the pool. This session is closed once the body is read to
    the end, or when the WSGI server calls close() (it always does, read or not). `produce(session)` runs
    now, so its first reads (and errors) happen before the response starts.
    """

    def __init__(self, produce: Callable[[Session], Iterator[bytes]]) -> None:
        self._session = database().sessions()
        try:
            self._chunks = produce(self._session)
        except BaseException:
            self._session.close()
            raise

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._chunks
        finally:
            self.close()

    def close(self) -> None:
        try:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()
        finally:
            self._session.close()
