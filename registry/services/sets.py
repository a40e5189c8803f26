"""A list of keys bound as one parameter, so a query's text does not grow with the list.

`column.in_(values)` renders one placeholder per value: a 500-card check sends a statement of 500 casts that
SQLAlchemy renders and psycopg re-parses on every request (psycopg caches only short statements), and whose
plan PostgreSQL cannot reuse. Bound as one array (PostgreSQL) or one JSON text (SQLite's json_each), the
statement is the same for every list length, so it can also be built once and reused (`prebuilt`): building
a select costs more than running it.
"""
from __future__ import annotations

import functools
import json
from typing import Any, Callable, Iterable, TypeVar

from sqlalchemy import ColumnElement, String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

F = TypeVar("F", bound=Callable[..., Any])


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def among(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values`, with `values` bound as a single parameter."""
    name = dialect(session)
    return _among(name, column, bindparam(None, listed(name, values), type_=_param_type(name, column)))


def among_param(dialect_name: str, column: Any, key: str) -> ColumnElement[bool]:
    """`column IN :key`, for a prebuilt statement; the parameter's value comes from `listed`."""
    return _among(dialect_name, column, bindparam(key, type_=_param_type(dialect_name, column)))


def _param_type(dialect_name: str, column: Any) -> Any:
    return _array_of(column.type) if dialect_name == "postgresql" else String()


def _among(dialect_name: str, column: Any, param: Any) -> ColumnElement[bool]:
    if dialect_name == "postgresql":
        return column == any_(param)
    keys = select(literal_column("value")).select_from(func.json_each(param))
    return column.in_(keys.scalar_subquery())


def among_or_one(dialect_name: str, column: Any, key: str, one: bool) -> ColumnElement[bool]:
    """`among_param`, or `column = :key` for a statement that takes one key (its value from `listed_or_one`).

    PostgreSQL plans `= ANY($1)` anew on every execution (a generic plan guesses ten keys and looks dearer
    than the custom one), which for a join costs more than running it; the plan of `= $1` is reused.
    """
    return column == bindparam(key, type_=column.type) if one else among_param(dialect_name, column, key)


def listed_or_one(dialect_name: str, values: list[Any], one: bool) -> Any:
    return values[0] if one else listed(dialect_name, values)


def listed(dialect_name: str, values: Iterable[Any]) -> Any:
    """The value of an `among_param` parameter: an array on PostgreSQL, JSON text on SQLite."""
    items = list(values)
    return items if dialect_name == "postgresql" else json.dumps(items)


def prebuilt(build: F) -> F:
    """Build a statement once per distinct arguments (a dialect name and flags), then reuse it."""
    return functools.cache(build)  # type: ignore[return-value]


_ARRAYS: dict[Any, ARRAY] = {}


def _array_of(item_type: Any) -> ARRAY:
    # One ARRAY type per column type: a new type object would be re-examined for the statement cache key
    # on every query.
    array = _ARRAYS.get(item_type)
    if array is None:
        array = _ARRAYS[item_type] = ARRAY(item_type)
    return array
