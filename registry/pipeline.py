"""PostgreSQL: a write's statements, with its BEGIN or COMMIT, sent in one message and answered in one read.

A write holds the ledger-head lock from its lock statement to its COMMIT, and every statement sent alone is
a round trip: the worker sends, PostgreSQL wakes, answers, and the worker wakes. On a virtual machine each
wake-up costs both processes CPU time, and every round trip under the lock delays every other write. The
statements of a write that do not depend on each other's answers therefore go together: BEGIN, the head
lock and the write's first read; then the ledger append and COMMIT. PostgreSQL runs them in order, each
read in READ COMMITTED taking its snapshot when it starts, so a read queued after the lock sees everything
committed before the lock was granted, as it would if sent after the lock's answer.

This uses libpq's pipeline mode on the connection's `pgconn` (psycopg's documented way to "send low level
commands"): every command is queued in libpq's buffer and written at once with one Sync. psycopg's own
`Connection.pipeline()` writes BEGIN with a Sync of its own and flushes after each statement, which in
measurements here saved no CPU over plain statements (bench/README.md, third and sixth passes).

Each statement is a `Direct` statement: compiled once, its parameters through the columns' types and then
psycopg's own adapters (a `Transformer` of the connection), prepared once per connection (by SQL and
parameter types, as psycopg's own prepared statements are), its rows typed as `Direct.rows` types them.
Errors are psycopg's exception classes, handed to SQLAlchemy's handling like every other statement's.
Statement event listeners see each statement, with no cursor (None).
"""
from __future__ import annotations

import re
import select
import weakref
from dataclasses import dataclass, field
from typing import Any, Sequence

from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy import Connection, Engine, event
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from .driver import Direct, _typed_rows, _typed_values

_NUMBERED = PGDialect_psycopg(paramstyle="numeric_dollar")  # only to render `$1`-style SQL for libpq
_STATE = "registry.pipeline"
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)


@dataclass(frozen=True)
class _Numbered:
    sql: bytes
    text: str
    names: tuple[str, ...]  # bind names in the order of $1, $2, …


@dataclass
class _Step:
    """One command as sent: BEGIN or COMMIT (no result), a Prepare (`prepared`), or a statement."""

    sql: bytes
    text: str
    result: Result | None = None
    values: Sequence[Any] = ()
    types: tuple[int, ...] = ()
    formats: tuple[Any, ...] = ()
    name: bytes = b""
    prepare: bool = False
    key: tuple[bytes, tuple[int, ...]] | None = None
    prepared: tuple[Any, bytes] | None = None


_numbered: weakref.WeakKeyDictionary[Direct, _Numbered] = weakref.WeakKeyDictionary()


def _numbered_sql(statement: Direct) -> _Numbered:
    found = _numbered.get(statement)
    if found is None:
        compiled = statement.statement.compile(dialect=_NUMBERED)
        found = _numbered[statement] = _Numbered(compiled.string.encode(), compiled.string,
                                                 tuple(compiled.positiontup or ()))
    return found


@dataclass
class _ConnectionState:
    """What one database connection keeps between batches: its adapters, and which statements it prepared."""

    raw: Any  # the psycopg connection these belong to
    transformer: Transformer
    prepared: dict[tuple[bytes, tuple[int, ...]], bytes] = field(default_factory=dict)
    named: int = 0
    unsure: bool = False  # psycopg may have sent DEALLOCATE ALL since: see `watch`


class Result:
    """A queued statement's rows, once the batch has been sent."""

    rows: list[tuple]

    def __init__(self, statement: Direct, params: Any):
        self.statement, self.params, self.rows = statement, params, []


class Batch:
    """`begin()`, `add(statement, params)` (returns a `Result`), `commit()`, then `send()`: one round trip."""

    def __init__(self, connection: Connection):
        if connection.dialect.name != "postgresql":
            raise ValueError("a batch is a PostgreSQL pipeline")
        self._connection = connection
        self._raw = connection.connection.dbapi_connection
        info = connection.connection.info  # cleared with the DBAPI connection if it is ever replaced
        state = info.get(_STATE)
        if state is None or state.raw is not self._raw:
            state = info[_STATE] = _ConnectionState(self._raw, Transformer(self._raw))
        if state.unsure:
            try:
                _recheck(state)
            except connection.dialect.loaded_dbapi.Error as error:
                connection._handle_dbapi_exception(error, None, None, None, None)
        self._state: _ConnectionState = state
        self._commands: list[tuple[str, Any]] = []  # ("command", SQL) or ("statement", Result)
        self._preparing: dict[tuple[bytes, tuple[int, ...]], bytes] = {}  # prepared by this batch

    def begin(self) -> None:
        """Open the transaction with the connection's isolation settings, unless one is open already."""
        raw = self._raw
        if raw.autocommit:
            raise ValueError("a write batch runs in a transaction: the connection is in autocommit")
        if raw.pgconn.transaction_status == pq.TransactionStatus.IDLE:
            self._commands.append(("command", _begin_command(raw)))

    def add(self, statement: Direct, params: dict[str, Any] | None = None) -> Result:
        result = Result(statement, params or {})
        self._commands.append(("statement", result))
        return result

    def commit(self) -> None:
        self._commands.append(("command", b"COMMIT"))

    def send(self) -> None:
        """Send everything queued, read every answer; the first error is raised as SQLAlchemy would raise it."""
        connection, pgconn = self._connection, self._raw.pgconn
        dispatch = connection.dispatch
        # What can fail in Python (adapting parameters, listeners) happens before the pipeline opens, so a
        # connection is never left in it with half a batch queued.
        steps = [self._step(kind, what) for kind, what in self._commands]
        if dispatch.before_cursor_execute:
            for step in steps:
                if step.result is not None:
                    dispatch.before_cursor_execute(connection, None, step.text, step.result.params, None, False)
        sent: list[_Step] = []
        failure: tuple[Exception, str | None, Any] | None = None
        try:
            pgconn.enter_pipeline_mode()
            try:
                for step in steps:
                    if step.result is None:
                        pgconn.send_query_params(step.sql, None)
                        sent.append(step)
                        continue
                    if step.prepare:
                        pgconn.send_prepare(step.name, step.sql, param_types=step.types)
                        sent.append(_Step(step.sql, step.text, prepared=(step.key, step.name)))
                    pgconn.send_query_prepared(step.name, step.values, param_formats=step.formats)
                    sent.append(step)
                pgconn.pipeline_sync()
                _flush(pgconn)
                failure = self._read(pgconn, sent)
            finally:
                if pgconn.pipeline_status != pq.PipelineStatus.OFF:
                    try:
                        pgconn.exit_pipeline_mode()
                    except self._connection.dialect.loaded_dbapi.Error:
                        pass  # a connection that failed mid-batch: the error raised below invalidates it
        except self._connection.dialect.loaded_dbapi.Error as error:  # the connection itself failed
            failure = (error, None, None)
        if failure is not None:
            error, sql, params = failure
            # SQLAlchemy's own handling: its exception classes, and a lost connection invalidated in the pool.
            connection._handle_dbapi_exception(error, sql, params, None, None)
        if dispatch.after_cursor_execute:
            for step in steps:
                if step.result is not None:
                    dispatch.after_cursor_execute(connection, None, step.text, step.result.params, None, False)

    def _step(self, kind: str, what: Any) -> _Step:
        if kind == "command":
            return _Step(what, what.decode())
        result: Result = what
        numbered = _numbered_sql(result.statement)
        compiled = result.statement._compiled(self._connection.dialect)
        typed = _typed_values(compiled, result.params)
        values = [typed[name] for name in numbered.names]
        transformer = self._state.transformer
        dumped = transformer.dump_sequence(values, [PyFormat.AUTO] * len(values))
        types = tuple(transformer.types or ())
        key = (numbered.sql, types)
        name = self._state.prepared.get(key) or self._preparing.get(key)
        prepare = name is None
        if prepare:
            self._state.named += 1
            name = self._preparing[key] = f"registry_{self._state.named}".encode()
        return _Step(numbered.sql, numbered.text, result, dumped, types, tuple(transformer.formats or ()), name,
                     prepare, key)

    def _read(self, pgconn: Any, sent: list[_Step]) -> tuple[Exception, str | None, Any] | None:
        """Every answer up to the Sync, in the order sent; the first error, if any, to raise."""
        failure = None
        for step in sent:
            result = _next_result(pgconn)
            if result.status in _OK:
                if step.prepared is not None:
                    key, name = step.prepared
                    self._state.prepared[key] = name
                elif step.result is not None and result.status == pq.ExecStatus.TUPLES_OK:
                    transformer = self._state.transformer
                    transformer.set_pgresult(result)
                    fetched = transformer.load_rows(0, result.ntuples, tuple)
                    step.result.rows = _typed_rows(step.result.statement._compiled(self._connection.dialect),
                                                   fetched)
            elif result.status == pq.ExecStatus.FATAL_ERROR and failure is None:
                failure = (errors.error_from_result(result, encoding=self._raw.info.encoding), step.text,
                           step.result.params if step.result is not None else None)
            # PIPELINE_ABORTED: skipped after the error, which is the one raised
        last = _next_result(pgconn)
        if last.status != pq.ExecStatus.PIPELINE_SYNC:
            raise errors.InternalError(f"a batch ended with {pq.ExecStatus(last.status).name}, not its Sync")
        return failure


def watch(engine: Engine) -> None:
    """Keep each connection's list of prepared statements true.

    psycopg sends DEALLOCATE ALL, dropping every prepared statement of the connection including these,
    when it rolls back a transaction or runs a statement that reports DROP, ALTER, ROLLBACK, DISCARD ALL or
    DEALLOCATE ALL, as long as it has prepared statements of its own (it cannot tell a read from undone DDL).
    Each of those marks the connection's list unsure; the next batch on it asks the server which of its
    statements are still there (one query, after a refused or failed request only).
    """
    @event.listens_for(engine, "rollback")
    def on_rollback(connection: Connection) -> None:
        if connection.invalidated:  # its DBAPI connection is gone, and these with it
            return
        _unsure_if_open(connection.connection.dbapi_connection, connection.connection.info)

    @event.listens_for(engine, "reset")
    def on_reset(dbapi_connection: Any, record: Any, reset_state: Any) -> None:
        _unsure_if_open(dbapi_connection, record.info)

    @event.listens_for(engine, "after_cursor_execute")
    def on_statement(connection: Connection, cursor: Any, *_args: Any) -> None:
        if cursor is not None and _DISCARDING(getattr(cursor, "statusmessage", None) or ""):
            _mark_unsure(connection.connection.info)


_DISCARDING = re.compile(r"^(?:DROP|ALTER|ROLLBACK|DISCARD ALL|DEALLOCATE ALL)\b").match  # as psycopg's own test


def _unsure_if_open(dbapi_connection: Any, info: dict[str, Any]) -> None:
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is not None and pgconn.transaction_status != pq.TransactionStatus.IDLE:
        _mark_unsure(info)


def _mark_unsure(info: dict[str, Any]) -> None:
    state = info.get(_STATE)
    if state is not None:
        state.unsure = True


def _recheck(state: _ConnectionState) -> None:
    """Keep only the statements the server still has (a plain query: safe inside a transaction too)."""
    pgconn = state.raw.pgconn
    result = pgconn.exec_params(b"SELECT name FROM pg_prepared_statements WHERE name LIKE 'registry\\_%'", None)
    if result.status != pq.ExecStatus.TUPLES_OK:
        raise errors.error_from_result(result, encoding=state.raw.info.encoding)
    there = {result.get_value(i, 0) for i in range(result.ntuples)}
    state.prepared = {key: name for key, name in state.prepared.items() if name in there}
    state.unsure = False


def _begin_command(raw: Any) -> bytes:
    parts = ["BEGIN"]
    if raw.isolation_level is not None:
        parts.append("ISOLATION LEVEL " + raw.isolation_level.name.replace("_", " "))
    if raw.read_only is not None:
        parts.append("READ ONLY" if raw.read_only else "READ WRITE")
    if raw.deferrable is not None:
        parts.append("DEFERRABLE" if raw.deferrable else "NOT DEFERRABLE")
    return " ".join(parts).encode()


def _flush(pgconn: pq.abc.PGconn) -> None:
    while pgconn.flush():  # 1: libpq could not write all of it yet
        _wait(pgconn.socket, select.POLLOUT)


def _next_result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult:
    """The next result of the pipeline, skipping the end-of-command markers (None) between them."""
    while True:
        while pgconn.is_busy():
            _wait(pgconn.socket, select.POLLIN)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is not None:
            return result


def _wait(fd: int, event: int) -> None:
    poller = select.poll()
    poller.register(fd, event | select.POLLERR | select.POLLHUP)
    poller.poll()  # a lost connection wakes it too: libpq then reports the error
