"""A shared database with two app instances in front of it: gunicorn with 4 workers, and a second one."""
from __future__ import annotations

import pytest

from tests.conftest import postgres_database
from tests.system.harness import Server, make_units

UNITS = [("OPERATOR", "admin", None), ("HIGH", "court", None), ("AUDITOR", "auditor", None)] + \
        [(f"COURT-{i}", "court", "HIGH") for i in range(4)]


@pytest.fixture(params=["postgresql", "sqlite"])
def system(request, tmp_path):
    """(servers, tokens, database_url, key_file) with the units above created."""
    if request.param == "postgresql":
        generator = postgres_database()
        url = next(generator)
    else:
        generator, url = None, f"sqlite:///{tmp_path / 'registry.db'}"
    key_file = str(tmp_path / "ledger.key")
    tokens = make_units(url, key_file, UNITS)
    servers = [Server(url, key_file, workers=4), Server(url, key_file, workers=2)]
    try:
        for server in servers:
            server.start(str(tmp_path))
        yield servers, tokens, url, key_file
    finally:
        for server in servers:
            server.stop()
        if generator is not None:
            generator.close()
