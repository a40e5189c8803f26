"""Statements run straight on the database driver: those every write sends, and the query of lots.

Every write holds the one ledger-head lock from its first statement to its COMMIT, so what SQLAlchemy does
around each statement (the compiled-cache lookup, which hashes the whole statement, an execution context, a
result object: some 40 µs on a small machine, more than SQLite takes to run the statement) is paid by every
write in turn. A `Direct` statement is still written as a Core statement and typed by its columns: it is
compiled once per dialect, its parameters go through the type conversions SQLAlchemy would apply, and it
runs on the DBAPI connection of the caller's transaction, so it commits and rolls back with everything else.
Its rows are named tuples (by position, and by column name like SQLAlchemy's rows), converted by the result
types of its columns; NULL stays None without a call, as it does through every type the registry uses. Driver
errors are handed to SQLAlchemy's own handling (its exception classes, and a lost connection invalidated),
and statement event listeners still see the statement.

Only statements with fixed SQL qualify (no `IN` lists expanded at execution, no literal rendering) that
name every value they write (no column defaults computed in Python).
"""
from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None  # positional paramstyles: bind names in placeholder order
    escaped: dict[str, str]  # bind name → the name in the SQL, where the dialect had to change it
    defaults: dict[str, Any]  # binds with a value of their own (`id == 1`)
    processors: dict[str, Callable[[Any], Any]]
    row: Any  # a namedtuple class, None for text without declared columns: rows by position and by name
    converted: tuple[tuple[int, Callable[[Any], Any]], ...]  # result columns whose type converts the value


class Direct:
    """A Core statement run on the driver: `rows(connection, params)`, `run(connection, params)`,
    `run_many(connection, rows_of_params)`."""

    def __init__(self, statement: ClauseElement):
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = _compile(self.statement, dialect)
        return found

    def _execute(self, connection: Connection, params: Sequence[dict[str, Any]], many: bool) -> Any:
        compiled = self._compiled(connection.dialect)
        bound = [_bind(compiled, p) for p in params]
        parameters = bound if many else bound[0]
        dispatch = connection.dispatch
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            if dispatch.before_cursor_execute:
                dispatch.before_cursor_execute(connection, cursor, compiled.sql, parameters, None, many)
            if many:
                cursor.executemany(compiled.sql, parameters)
            else:
                cursor.execute(compiled.sql, parameters)
            if dispatch.after_cursor_execute:
                dispatch.after_cursor_execute(connection, cursor, compiled.sql, parameters, None, many)
            return cursor
        except connection.dialect.loaded_dbapi.Error as error:
            cursor.close()
            # SQLAlchemy's own handling: its exception classes, and a lost connection invalidated in the pool.
            connection._handle_dbapi_exception(error, compiled.sql, parameters, cursor, None)

    def rows(self, connection: Connection, params: dict[str, Any] | None = None) -> list[tuple]:
        cursor = self._execute(connection, [params or {}], many=False)
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        return _typed_rows(self._compiled(connection.dialect), fetched)

    def run(self, connection: Connection, params: dict[str, Any] | None = None) -> None:
        self._execute(connection, [params or {}], many=False).close()

    def run_many(self, connection: Connection, params: Sequence[dict[str, Any]]) -> None:
        self._execute(connection, params, many=True).close()


def _typed_rows(compiled: _Compiled, fetched: Sequence[Sequence[Any]]) -> list[tuple]:
    if compiled.row is None:  # text without declared columns: the driver's values as they are
        return [tuple(row) for row in fetched]
    make, converted = compiled.row._make, compiled.converted
    if not converted:
        return [make(row) for row in fetched]
    rows = []
    for raw in fetched:
        values = list(raw)
        for i, convert in converted:
            value = values[i]
            if value is not None:  # NULL reads as None through every type here: no call for it
                values[i] = convert(value)
        rows.append(make(values))
    return rows


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("a Direct statement must have fixed SQL: no expanding or literal-execute parameters")
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise ValueError("a Direct statement must name every value: no column defaults computed in Python")
    binds = compiled.binds
    processors = {}
    for name, bind in binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
    defaults = {name: bind.effective_value for name, bind in binds.items()
                if not bind.required and bind.callable is None}
    # What the statement returns (a SELECT's columns, RETURNING's), as SQLAlchemy itself reads its results.
    columns = compiled._result_columns
    converted = tuple((i, convert) for i, column in enumerate(columns)
                      if (convert := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None)
    row = namedtuple("Row", [column.keyname for column in columns], rename=True) if columns else None
    return _Compiled(compiled.string, tuple(compiled.positiontup) if compiled.positional else None,
                     dict(compiled.escaped_bind_names or {}), defaults, processors, row, converted)


def _bind(compiled: _Compiled, params: dict[str, Any]) -> Any:
    values = _typed_values(compiled, params)
    if compiled.names is not None:
        return tuple(values[name] for name in compiled.names)
    if compiled.escaped:
        return {compiled.escaped.get(name, name): value for name, value in values.items()}
    return values


def _typed_values(compiled: _Compiled, params: dict[str, Any]) -> dict[str, Any]:
    """Every bind's value by its name: the statement's own values, then the caller's, through their types."""
    values = {**compiled.defaults, **params}
    for name, process in compiled.processors.items():
        if name in values:
            values[name] = process(values[name])
    return values
