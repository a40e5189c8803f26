"""Pooled PostgreSQL connections: reused without a ping while busy, checked before reuse after sitting idle."""
from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from registry import db

from tests.conftest import postgres_database


@pytest.fixture
def postgres_url():
    yield from postgres_database()


def _kill_pooled_connection(engine, url: str) -> int:
    """Terminate, from outside, the server process behind the one connection in the pool."""
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return pid


def test_an_idle_dead_connection_is_replaced_before_use(postgres_url, monkeypatch):
    engine = db.make_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        dead = _kill_pooled_connection(engine, postgres_url)
        monkeypatch.setattr(db, "IDLE_BEFORE_PING", 0.0)  # as if it had sat idle for a while
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != dead
    finally:
        engine.dispose()


def test_a_busy_connection_is_not_pinged_and_one_failure_clears_the_pool(postgres_url):
    engine = db.make_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        _kill_pooled_connection(engine, postgres_url)
        with pytest.raises(OperationalError):  # the request that meets it fails (503 at the API) ...
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        with engine.connect() as conn:  # ... and the next one gets a fresh connection
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
