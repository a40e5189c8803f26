"""The schema is made by migrations alone and matches the models; the ledger tables are append-only.

Both tests run on SQLite and PostgreSQL (the `database_url` fixture of tests/conftest.py).
"""
from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from registry.db import make_engine
from registry.migrate import alembic_config, upgrade
from registry.models import Base


def differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "compare_server_default": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_build_exactly_the_models(database_url):
    assert tables(database_url) == set()
    upgrade(database_url)
    assert set(Base.metadata.tables) <= tables(database_url)
    assert differences(database_url) == []
    upgrade(database_url)  # a second run (a restart) changes nothing
    assert differences(database_url) == []
    # and every migration goes down cleanly and up again
    command.downgrade(alembic_config(database_url), "base")
    assert tables(database_url) <= {"alembic_version"}
    upgrade(database_url)
    assert differences(database_url) == []


APPEND_ONLY_STATEMENTS = [
    "UPDATE ledger_entries SET seq = seq",
    "UPDATE ledger_entries SET body = :forged",
    "DELETE FROM ledger_entries",
    "DELETE FROM ledger_entries WHERE seq = (SELECT MAX(seq) FROM ledger_entries)",
    "UPDATE ledger_nodes SET hash = :forged",
    "DELETE FROM ledger_nodes",
    "UPDATE checkpoints SET note = 'forged'",
    "DELETE FROM checkpoints",
    "UPDATE ledger_head SET size = 0",
    "DELETE FROM ledger_head",
]


def test_ledger_rows_refuse_update_and_delete(app, units):
    admin = units["admin"]
    r = admin.post("/api/v1/units", json={"code": "SZ-FUTIAN-COURT", "name": "深圳市福田区人民法院", "kind": "court"})
    assert r.status_code == 201, r.get_json()
    checkpoint = admin.get("/api/v1/ledger/checkpoint")  # also stores a signed checkpoint row
    assert checkpoint.status_code == 200
    engine = app.extensions["registry.db"].engine

    def snapshot():
        with engine.connect() as conn:
            return {table: sorted(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                                  for row in conn.execute(text(f"SELECT * FROM {table}")))
                    for table in ("ledger_entries", "ledger_nodes", "checkpoints", "ledger_head")}

    before = snapshot()
    assert before["ledger_entries"] and before["ledger_nodes"] and before["checkpoints"]
    for statement in APPEND_ONLY_STATEMENTS:
        with pytest.raises(DBAPIError, match=r"(?i)append-only|only moves forward"):
            with engine.begin() as conn:
                conn.execute(text(statement), {"forged": b"forged"} if ":forged" in statement else {})
        assert snapshot() == before, statement
    # the service still works, and its ledger still grows
    r = admin.post("/api/v1/units", json={"code": "SZ-NANSHAN-COURT", "name": "深圳市南山区人民法院", "kind": "court"})
    assert r.status_code == 201, r.get_json()
    after = admin.get("/api/v1/ledger/checkpoint").get_data(as_text=True).split("\n")
    assert int(after[1]) == int(checkpoint.get_data(as_text=True).split("\n")[1]) + 1
