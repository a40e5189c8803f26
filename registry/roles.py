"""Least privilege on PostgreSQL: migrations run as the owner role, the service as a role that only
reads and writes rows.

The service role may SELECT and INSERT on every registry table and UPDATE only the columns the service
changes. It owns nothing, so it can neither ALTER, DROP nor TRUNCATE a table nor disable the triggers
that keep the ledger append-only, and it may not UPDATE or DELETE ledger rows.
"""
from __future__ import annotations

import re

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url

from .models import Base

# What the service changes in place; every other table it only reads and appends to. None: every column
# (a unit's name, parent and state are changed by its administration commands).
UPDATED = {
    "ledger_head": ("size", "last_hash", "last_time", "frontier"),
    "lots": ("disposed_at", "split_at"),
    "lot_standing": ("facts_at", "seized_until", "closed_at"),
    "holds": ("term_end", "effective_from", "ended_at", "end_status", "end_document_no"),
    "cases": ("acting_unit", "number", "kind", "previous_number"),
    "objections": ("lifted_at", "lift_document_no"),
    "tokens": ("revoked_at",),
    "units": None,
}
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class GrantRefused(Exception):
    """The grants cannot be applied as asked; the message says how to fix it."""


def _checked(role: str) -> str:
    if not ROLE_NAME.fullmatch(role):
        raise GrantRefused(f"role name {role!r}: use lower-case letters, digits and _ (at most 63)")
    return role


def grant_statements(role: str, owner: str) -> list[str]:
    """The statements that give `role` the service's privileges on `owner`'s tables, in the order they run."""
    role, owner = _checked(role), _checked(owner)
    statements = [f"GRANT USAGE ON SCHEMA public TO {role}"]
    for table in (t.name for t in Base.metadata.sorted_tables):
        statements.append(f"GRANT SELECT, INSERT ON {table} TO {role}")
        columns = UPDATED.get(table, ())
        if columns is None:
            statements.append(f"GRANT UPDATE ON {table} TO {role}")
        elif columns:
            statements.append(f"GRANT UPDATE ({', '.join(columns)}) ON {table} TO {role}")
    return statements + [
        f"GRANT SELECT ON alembic_version TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # A table a later migration adds is readable and appendable at once; its UPDATEs wait for the re-grant.
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}"]


def _owner(connection: Connection, role: str) -> str:
    """The role running the migrations, after checking that `role` exists and is another one."""
    if connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}) is None:
        raise GrantRefused(f"no PostgreSQL role {role}: create it first (docs/postgresql-roles.md)")
    owner = connection.scalar(text("SELECT current_user"))
    if owner == role:
        raise GrantRefused(f"{role} runs the migrations: give the service a role of its own")
    return _checked(owner)


def _postgresql(url: str) -> None:
    if make_url(url).get_backend_name() != "postgresql":
        raise GrantRefused("--grant-to needs PostgreSQL: a SQLite database has no roles")


def check_grantee(url: str, role: str) -> None:
    """Refuse before any migration runs: SQLite has no roles; the role must exist and not be the owner."""
    _postgresql(url)
    _checked(role)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            _owner(connection, role)
    finally:
        engine.dispose()


def grant_service_role(url: str, role: str) -> list[str]:
    """Grant `role` the service's privileges on the database at `url`, connected as its owner; return them."""
    _postgresql(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            statements = grant_statements(role, _owner(connection, role))
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()
    return statements
