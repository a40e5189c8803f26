"""Fixtures shared by every suite: the two database backends the registry runs on.

PostgreSQL tests create and drop their own database on the server named by REGISTRY_TEST_POSTGRES_URL
(default: postgres on 127.0.0.1:5432). Without a reachable server that half is skipped with the reason,
unless REGISTRY_REQUIRE_POSTGRES=1 (as in CI), where an unreachable server fails the run.
"""
from __future__ import annotations

import os
import uuid

import pytest

POSTGRES_ADMIN_URL = os.environ.get("REGISTRY_TEST_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("REGISTRY_REQUIRE_POSTGRES") == "1"


def _postgres_reason() -> str | None:
    try:
        import psycopg
        with psycopg.connect(POSTGRES_ADMIN_URL.replace("+psycopg", ""), connect_timeout=3):
            return None
    except Exception as error:  # the reason is shown in the skip
        return f"PostgreSQL at {POSTGRES_ADMIN_URL.split('@')[-1]} unreachable: {error}".strip()


_REASON = _postgres_reason()


def postgres_database():
    """A fresh, empty PostgreSQL database; dropped afterwards."""
    import psycopg
    if _REASON is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"REGISTRY_REQUIRE_POSTGRES=1 but {_REASON}")
        pytest.skip(_REASON)
    name = f"registry_test_{uuid.uuid4().hex[:12]}"
    admin = POSTGRES_ADMIN_URL.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """The URL of an empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        yield from postgres_database()


def pytest_terminal_summary(terminalreporter):
    """Say how many tests passed on each database backend, so a run shows both really ran."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            for backend in ("sqlite", "postgresql"):
                if f"[{backend}" in nodeid or f"-{backend}]" in nodeid or f"-{backend}-" in nodeid:
                    counts.setdefault(backend, {}).setdefault(outcome, 0)
                    counts[backend][outcome] += 1
    for backend, by_outcome in sorted(counts.items()):
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(by_outcome.items()))
        terminalreporter.write_line(f"backend {backend}: {summary}")
