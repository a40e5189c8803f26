"""Crash safety: kill -9 of the service, or an immediate stop of PostgreSQL, in the middle of a write load.

Afterwards the last committed state must be intact: the audit and the auditor's verifier pass, no entry is
half-written, and every request a client saw succeed is there.
"""
from __future__ import annotations

import http.client
import multiprocessing as mp
import os
import shutil
import subprocess
import time
from contextlib import contextmanager

import pytest

from tests.system.harness import audit, call
from tests.system.test_concurrency import _ledger_verifies

pytestmark = pytest.mark.slow
WRITERS = 6


def _write_until_refused(args):
    """Register lots one at a time until the service stops answering; return the card numbers it accepted."""
    base, token, prefix, stop_at = args
    accepted, n = [], 0
    while time.monotonic() < stop_at:
        card = f"{prefix}-{n:05d}"
        try:
            status, _ = call(base, token, "POST", "/lots", {"lots": [{
                "card_no": card, "custodian": "Yard", "commodity": "Al", "weight_t": "1.2345"}]}, timeout=10)
        except (OSError, http.client.HTTPException):
            break  # the server is gone: what it never fully answered may or may not be there, never half
        if status == 201:
            accepted.append(card)
        elif status != 503:
            raise AssertionError(f"unexpected {status}")
        n += 1
    return accepted


@contextmanager
def _load(server, token, seconds):
    """Writers in their own processes; yields their async result, and always reaps them."""
    pool = mp.get_context("spawn").Pool(WRITERS)
    try:
        stop_at = time.monotonic() + seconds
        yield pool.map_async(_write_until_refused, [(server.url, token, f"W{i}", stop_at) for i in range(WRITERS)])
    finally:
        pool.terminate()
        pool.join()


def _ledger_size(server, token) -> int:
    status, note = call(server.url, token, "GET", "/ledger/checkpoint")
    assert status == 200
    return int(note.splitlines()[1])


def _until_written(server, token, entries: int) -> None:
    """Crash only once the load is really writing, however busy the machine is."""
    start, deadline = _ledger_size(server, token), time.monotonic() + 60
    while _ledger_size(server, token) < start + entries:
        assert time.monotonic() < deadline, "the load did not get going"
        time.sleep(0.1)


def _all_there(server, token, accepted):
    for card in accepted:
        status, body = call(server.url, token, "GET", f"/lots?card_no={card}")
        assert status == 200 and len(body["items"]) == 1, f"{card} was acknowledged but is missing"


def test_kill_9_of_the_service_mid_load_loses_nothing(system, tmp_path):
    servers, tokens, url, key_file = system
    with _load(servers[0], tokens["COURT-0"], seconds=60) as result:
        _until_written(servers[1], tokens["AUDITOR"], 40)
        servers[0].kill()
        servers[1].kill()
        accepted = [card for batch in result.get(timeout=60) for card in batch]
    assert len(accepted) >= 30  # the ledger grew by 40 first; a few answers may die with the server
    servers[0].process = None
    servers[0].start(str(tmp_path))
    _all_there(servers[0], tokens["AUDITOR"], accepted)
    assert audit(url, key_file)[0] == []
    _ledger_verifies(servers[0], tokens, tmp_path)
    print(f"held: kill -9 of both instances under {WRITERS} writers; {len(accepted)} acknowledged writes, "
          f"all present after restart; audit and verify pass; lost: 0")


def _cluster() -> str | None:
    if os.geteuid() != 0 or shutil.which("pg_ctlcluster") is None or not os.path.isdir("/etc/postgresql"):
        return None
    return sorted(os.listdir("/etc/postgresql"))[-1]


@pytest.mark.parametrize("system", ["postgresql"], indirect=True)
def test_immediate_stop_of_postgresql_mid_load_loses_nothing(system, tmp_path):
    servers, tokens, url, key_file = system
    version = _cluster()
    if version is None:
        pytest.skip("needs root and a local pg_ctlcluster to stop the server")
    with _load(servers[0], tokens["COURT-0"], seconds=10) as result:
        _until_written(servers[0], tokens["AUDITOR"], 40)
        try:  # like pulling the plug: no shutdown checkpoint, recovery from the WAL on start
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "stop", "-m",
                            "immediate"], check=True, timeout=60)
            time.sleep(1)
        finally:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True,
                           timeout=120)
        accepted = [card for batch in result.get(timeout=120) for card in batch]
    assert len(accepted) >= 30  # the ledger grew by 40 first; a few answers may die with the server
    deadline = time.monotonic() + 30
    while call(servers[0].url, tokens["AUDITOR"], "GET", "/lots?limit=1")[0] != 200:
        assert time.monotonic() < deadline, "the service did not reconnect"
        time.sleep(0.5)
    _all_there(servers[0], tokens["AUDITOR"], accepted)
    assert audit(url, key_file)[0] == []
    _ledger_verifies(servers[0], tokens, tmp_path)
    print(f"held: immediate stop of PostgreSQL under {WRITERS} writers; {len(accepted)} acknowledged writes, "
          f"all present after recovery; audit and verify pass; lost: 0")
