"""Least privilege on PostgreSQL: the service's role writes rows through the API and can do nothing else.

`seizure-registry db upgrade --grant-to ROLE` runs the migrations as the owner and grants the service role;
docs/postgresql-roles.md shows exactly the statements the code runs.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from registry import create_app
from registry.config import TestingConfig
from registry.roles import grant_statements
from registry.services.units import OPERATOR, create_unit

from tests.conftest import postgres_database
from tests.registry.api.helpers import API, ok, open_case, register_lots, release, seize

DOC = Path(__file__).resolve().parents[2] / "docs" / "postgresql-roles.md"
CLI = os.path.join(os.path.dirname(sys.executable), "seizure-registry")

# What the service role must never manage to do: the ledger stays append-only even for the service itself.
FORBIDDEN = [
    "UPDATE ledger_entries SET body = body",
    "DELETE FROM ledger_entries",
    "TRUNCATE ledger_entries",
    "UPDATE ledger_nodes SET hash = hash",
    "DELETE FROM checkpoints",
    "DELETE FROM ledger_head",
    "DELETE FROM holds",
    "UPDATE holds SET position = position",
    "TRUNCATE holds",
    "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only",
    "ALTER TABLE ledger_entries DISABLE TRIGGER ALL",
    "DROP TRIGGER ledger_entries_append_only ON ledger_entries",
    "DROP TRIGGER ledger_head_forward ON ledger_head",
    "DROP TABLE ledger_entries",
    "DROP TABLE lots CASCADE",
    "ALTER TABLE lots ADD COLUMN forged text",
    "CREATE TABLE forged (id integer)",
    "DROP FUNCTION registry_append_only() CASCADE",
]


def _seizure_registry(url: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "REGISTRY_DATABASE_URL": url, "REGISTRY_LEDGER_KEY_FILE": str(tmp_path / "ledger.key")}
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def roles():
    """A fresh database owned by a new owner role, a new service role; all dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    owner, service = f"registry_owner_{suffix}", f"registry_service_{suffix}"
    generator = postgres_database()
    url = next(generator)
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {owner} LOGIN")
        conn.execute(f"CREATE ROLE {service} LOGIN")
        conn.execute(f'ALTER DATABASE "{url.rsplit("/", 1)[1]}" OWNER TO {owner}')
    try:
        yield _as(url, owner), _as(url, service), service
    finally:
        next(generator, None)
        with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {service}")
            conn.execute(f"DROP ROLE IF EXISTS {owner}")


class _Court:
    """A test client speaking with one unit's token, as the helpers expect."""

    def __init__(self, client, code: str, token: str):
        self.client, self.code, self.headers = client, code, {"Authorization": f"Bearer {token}"}

    def get(self, path):
        return self.client.get(path, headers=self.headers)

    def post(self, path, json=None, headers=None):
        return self.client.post(path, json=json, headers={**self.headers, **(headers or {})})


def _as(url: str, role: str) -> str:
    """The same database, connected as another role (trust authentication on the test server)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{role}@{rest.split('@', 1)[1]}"


def _service_writes(service_url: str, tmp_path: Path, clock) -> None:
    """A unit, lots, a case, a seizure and its release, through the API with the service's role."""
    app = create_app({**{k: getattr(TestingConfig, k) for k in dir(TestingConfig) if k.isupper()},
                      "DATABASE_URL": service_url, "LEDGER_KEY_FILE": str(tmp_path / "ledger.key"), "CLOCK": clock})
    try:
        session = app.extensions["registry.db"].sessions()
        with app.app_context():
            issued = create_unit(session, OPERATOR, "SH-BAOSHAN-COURT", "上海市宝山区人民法院", "court", None)
        session.close()
        court = _Court(app.test_client(), "SH-BAOSHAN-COURT", issued.token)
        lots = register_lots(court, ["2.0000", "3.5000"])
        case = open_case(court, "（2026）沪0113执1号")
        seizure = seize(court, case, lots, "（2026）沪0113执1号之一")
        ok(release(court, seizure, "（2026）沪0113执1号之二", [lots[0]["id"]]))
        assert ok(court.get(f"{API}/lots?status=seized"))["items"][0]["id"] == lots[1]["id"]
        assert court.get(f"{API}/ledger/checkpoint").status_code == 200  # stores a signed checkpoint row
    finally:
        app.extensions["registry.db"].dispose()


def test_the_service_role_writes_rows_and_nothing_else(roles, tmp_path, clock):
    owner_url, service_url, service = roles
    done = _seizure_registry(owner_url, "db", "upgrade", "--grant-to", service, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{service}: " in done.stdout and "grants applied" in done.stdout
    _service_writes(service_url, tmp_path, clock)
    engine = create_engine(service_url)
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar()
        assert before == 5  # the unit, the lots, the case, the seizure, the release
        for statement in FORBIDDEN:
            with pytest.raises(DBAPIError, match=r"(?i)permission denied|must be owner|append-only"):
                with engine.begin() as conn:
                    conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar() == before
            assert conn.execute(text("SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%append_only'")).scalar() == 3
    finally:
        engine.dispose()
    audited = _seizure_registry(service_url, "audit", tmp_path=tmp_path)  # starts as `serve` does: at the head
    assert audited.returncode == 0 and "audit ok: 5 entries" in audited.stdout, audited.stderr
    again = _seizure_registry(owner_url, "db", "upgrade", "--grant-to", service, tmp_path=tmp_path)
    assert again.returncode == 0, again.stderr  # re-applying the grants after an upgrade is safe


def test_grant_to_a_missing_role_or_on_sqlite_is_a_usage_error_and_migrates_nothing(roles, tmp_path):
    owner_url, _, _ = roles
    for url, said in ((owner_url, "no PostgreSQL role nobody_here"),
                      (f"sqlite:///{tmp_path / 'registry.db'}", "needs PostgreSQL")):
        done = _seizure_registry(url, "db", "upgrade", "--grant-to", "nobody_here", tmp_path=tmp_path)
        assert done.returncode == 2, done.stderr
        assert said in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr
        engine = create_engine(url)
        try:
            assert inspect(engine).get_table_names() == []
        finally:
            engine.dispose()
    done = _seizure_registry(owner_url, "db", "upgrade", "--grant-to", "Robert'); DROP", tmp_path=tmp_path)
    assert done.returncode == 2 and "lower-case letters" in done.stderr, done.stderr


def test_the_documented_grants_are_the_ones_the_code_runs():
    doc = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- grants: begin -->\n```sql\n(.*?)```\n<!-- grants: end -->", doc, re.S)
    assert block is not None, "docs/postgresql-roles.md lost its grants block"
    assert block.group(1) == "".join(f"{s};\n" for s in grant_statements("registry_service", "registry_owner"))
