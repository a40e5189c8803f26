"""Operations: backup and restore, graceful shutdown, and retries with an Idempotency-Key racing each other."""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from tests.conftest import postgres_database
from tests.system.harness import Server, audit, call
from tests.system.test_concurrency import _ledger_verifies, _open, _register

pytestmark = pytest.mark.slow


def _postgres_url(url: str) -> str:
    return url.replace("+psycopg", "")


@pytest.mark.parametrize("system", ["postgresql"], indirect=True)
def test_backup_and_restore_verifies_against_the_checkpoint_taken_before(system, tmp_path):
    """The documented procedure: pg_dump plus a copy of the key file; restore; the auditor's state still holds."""
    servers, tokens, url, key_file = system
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    lots = _register(servers[0].url, tokens["COURT-0"], 20, "BAK")
    case = _open(servers[0].url, tokens["COURT-0"], "(2026)backup")
    status, _ = call(servers[0].url, tokens["COURT-0"], "POST", "/seizures", {
        "case_id": case, "kind": "seal", "document_no": "B-1", "served_at": "2026-01-01T00:00:00Z",
        "lot_ids": lots[:5]})
    assert status == 201
    _ledger_verifies(servers[0], tokens, tmp_path)  # the auditor's state now holds this checkpoint
    backup = tmp_path / "backup"
    backup.mkdir()
    subprocess.run(["pg_dump", "--format=custom", f"--file={backup / 'registry.dump'}", _postgres_url(url)],
                   check=True, timeout=120)
    shutil.copy2(key_file, backup / "ledger.key")
    _register(servers[0].url, tokens["COURT-0"], 3, "AFTER")  # written after the backup: lost by a restore
    generator = postgres_database()
    restored = next(generator)
    try:
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={_postgres_url(restored)}",
                        str(backup / "registry.dump")], check=True, timeout=120)
        server = Server(restored, str(backup / "ledger.key"), workers=1).start(str(tmp_path))
        try:
            status, key = call(server.url, tokens["AUDITOR"], "GET", "/ledger/key")
            assert status == 200 and key == call(servers[0].url, tokens["AUDITOR"], "GET", "/ledger/key")[1]
            _ledger_verifies(server, tokens, tmp_path)  # consistent with the checkpoint seen before the backup
            status, body = call(server.url, tokens["AUDITOR"], "GET", "/lots?card_no=BAK-0000")
            assert status == 200 and len(body["items"]) == 1
            status = call(server.url, tokens["COURT-0"], "POST", "/lots", {"lots": [{
                "card_no": "AFTER-RESTORE", "custodian": "Yard", "commodity": "Al", "weight_t": "1.0000"}]})[0]
            assert status == 201  # the restored registry takes writes and keeps its chain
            assert audit(restored, str(backup / "ledger.key"))[0] == []
        finally:
            server.stop()
    finally:
        generator.close()


def test_graceful_shutdown_finishes_the_request_in_flight(system, tmp_path):
    servers, tokens, url, key_file = system
    lots = [{"card_no": f"GRACE-{i:04d}", "custodian": "Yard", "commodity": "铝锭", "weight_t": "1.0001",
             "location": "东区" * 20} for i in range(1000)]
    answer: dict[str, object] = {}
    request = threading.Thread(target=lambda: answer.update(
        result=call(servers[1].url, tokens["COURT-0"], "POST", "/lots", {"lots": lots}, timeout=60)))
    request.start()
    time.sleep(0.15)  # the request is in a worker now
    os.kill(servers[1].process.pid, signal.SIGTERM)
    request.join(timeout=60)
    status, body = answer["result"]
    assert status == 201 and len(body["lots"]) == 1000
    assert servers[1].process.wait(timeout=30) == 0, servers[1].log()
    status, found = call(servers[0].url, tokens["AUDITOR"], "GET", "/lots?card_no=GRACE-0999")
    assert status == 200 and found["items"][0]["card_no"] == "GRACE-0999"
    assert audit(url, key_file)[0] == []


def _retry(args):
    base, token, body, key, barrier = args
    barrier.wait(timeout=60)
    return call(base, token, "POST", "/seizures", body, headers={"Idempotency-Key": key})


def test_retries_racing_with_one_idempotency_key_make_one_seizure(system, tmp_path):
    """A client that times out and retries, twice at once through both instances: one seizure, one entry."""
    servers, tokens, url, key_file = system
    lots = _register(servers[0].url, tokens["COURT-0"], 3, "IDEM")
    case = _open(servers[0].url, tokens["COURT-0"], "(2026)idem")
    body = {"case_id": case, "kind": "seal", "document_no": "I-1", "served_at": "2026-01-01T00:00:00Z",
            "lot_ids": lots}
    before = int(call(servers[0].url, tokens["AUDITOR"], "GET", "/ledger/checkpoint")[1].splitlines()[1])
    context = mp.get_context("spawn")
    barrier = context.Manager().Barrier(4)
    with context.Pool(4) as pool:
        answers = pool.map(_retry, [(servers[n % 2].url, tokens["COURT-0"], body, "retry-7f3a", barrier)
                                    for n in range(4)])
    assert {status for status, _ in answers} == {201}
    assert len({json.dumps(answer, sort_keys=True) for _, answer in answers}) == 1, "retries saw different answers"
    after = int(call(servers[0].url, tokens["AUDITOR"], "GET", "/ledger/checkpoint")[1].splitlines()[1])
    assert after == before + 1
    status, lot = call(servers[0].url, tokens["AUDITOR"], "GET", f"/lots/{lots[0]}")
    assert [s["case_id"] for s in lot["seizures"]] == [case]
    assert audit(url, key_file)[0] == []
