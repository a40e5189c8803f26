"""Many client processes racing through two app instances against one database: every rule must hold."""
from __future__ import annotations

import multiprocessing as mp
import os
import random
import subprocess
import sys
from collections import Counter

import pytest

from tests.system.harness import audit, call

pytestmark = pytest.mark.slow
CLIENTS = 16
LOTS = 50


def _retrying(base, token, method, path, body):
    """Clients retry a 503 (busy database), as the Retry-After header asks; anything else is final."""
    for _ in range(50):
        status, payload = call(base, token, method, path, body)
        if status != 503:
            return status, payload
    return status, payload


def _seize_all(args):
    """One client: its own case seizes every lot, in a random order, five lots a request."""
    bases, token, case_id, lot_ids, seed = args
    order = random.Random(seed).sample(lot_ids, len(lot_ids))
    seen = []
    for n, start in enumerate(range(0, len(order), 5)):
        status, body = _retrying(bases[n % 2], token, "POST", "/seizures", {
            "case_id": case_id, "kind": "seal", "document_no": f"D-{case_id}-{n}",
            "served_at": "2026-01-01T00:00:00Z", "lot_ids": order[start:start + 5]})
        seen.append((status, body))
    return seen


def _register(base, token, count, prefix):
    lots = [{"card_no": f"{prefix}-{i:04d}", "custodian": "Yard", "commodity": "Al", "weight_t": "1.0000"}
            for i in range(count)]
    status, body = call(base, token, "POST", "/lots", {"lots": lots})
    assert status == 201, body
    return [lot["id"] for lot in body["lots"]]


def _open(base, token, number, kind="execution"):
    status, body = call(base, token, "POST", "/cases", {"number": number, "kind": kind})
    assert status == 201, body
    return body["id"]


def _ledger_verifies(server, tokens, tmp_path):
    status, key = call(server.url, tokens["AUDITOR"], "GET", "/ledger/key")
    assert status == 200
    verifier = os.path.join(os.path.dirname(sys.executable), "seizure-ledger")
    token_file = tmp_path / "auditor.token"
    token_file.write_text(tokens["AUDITOR"] + "\n")
    result = subprocess.run([verifier, "verify", "--url", server.url, "--token-file", str(token_file),
                             "--key", key.strip(), "--state", str(tmp_path / "verify-state")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def _queue_is_sound(server, token, lot_id):
    status, lot = call(server.url, token, "GET", f"/lots/{lot_id}")
    assert status == 200
    ranks = [s["rank"] for s in lot["seizures"]]
    assert ranks == list(range(1, len(ranks) + 1))
    assert [s["status"] for s in lot["seizures"]].count("effective") == (1 if ranks else 0)
    return lot


def test_many_cases_seize_the_same_lots(system, tmp_path):
    servers, tokens, url, key_file = system
    bases = [s.url for s in servers]
    courts = [f"COURT-{i}" for i in range(4)]
    lot_ids = _register(bases[0], tokens[courts[0]], LOTS, "RACE")
    cases = [(courts[i % 4], _open(bases[i % 2], tokens[courts[i % 4]], f"(2026)race{i}")) for i in range(CLIENTS)]
    with mp.get_context("spawn").Pool(CLIENTS) as pool:
        results = pool.map(_seize_all, [(bases, tokens[unit], case_id, lot_ids, n)
                                        for n, (unit, case_id) in enumerate(cases)])
    answered = [r for client in results for r in client]
    assert Counter(status for status, _ in answered) == {201: CLIENTS * LOTS // 5}
    ranks_seen: dict[int, list[int]] = {}
    for _, seizure in answered:
        for lot in seizure["lots"]:
            ranks_seen.setdefault(lot["lot_id"], []).append(lot["rank"])
    for lot_id in lot_ids:
        assert sorted(ranks_seen[lot_id]) == list(range(1, CLIENTS + 1)), "two clients saw the same rank"
        lot = _queue_is_sound(servers[1], tokens["AUDITOR"], lot_id)
        assert len(lot["seizures"]) == CLIENTS
    seized_ids = {seizure["id"] for _, seizure in answered}
    status, lines = call(bases[0], tokens["AUDITOR"], "GET", "/ledger/entries?start=0")
    import json
    recorded = {json.loads(line)["data"]["id"] for line in lines.splitlines()
                if json.loads(line)["type"] == "seizure.registered"}
    assert seized_ids <= recorded, "a 201 the client saw is missing from the ledger"
    _ledger_verifies(servers[0], tokens, tmp_path)
    assert audit(url, key_file)[0] == []
    print(f"held: {CLIENTS} client processes, {len(answered)} seizure requests ({len(answered) * 5} lot seizures) "
          f"on {LOTS} lots through 2 instances; every lot ranks 1..{CLIENTS}, one effective; "
          f"{len(seized_ids)} acknowledged seizures all in the ledger; lost: 0")


def _deliver(args):
    base, token, case_id, lot_ids, barrier = args
    outcomes = []
    for lot_id in lot_ids:
        barrier.wait(timeout=60)
        status, body = _retrying(base, token, "POST", "/executions", {
            "case_id": case_id, "kind": "delivery", "document_no": f"X-{lot_id}", "lot_ids": [lot_id],
            "recipient": "winner"})
        outcomes.append((lot_id, status, body.get("code") if status != 201 else None))
    return outcomes


def test_two_units_deliver_the_same_lot_at_once(system, tmp_path):
    servers, tokens, url, key_file = system
    rounds = 100 if "postgresql" in url else 40
    lot_ids = _register(servers[0].url, tokens["COURT-0"], rounds, "DLV")
    case_id = _open(servers[0].url, tokens["COURT-0"], "(2026)deliver")
    status, _ = call(servers[0].url, tokens["HIGH"], "POST", f"/cases/{case_id}/transfers",
                     {"mode": "assist", "to_unit": "COURT-1", "document_no": "A-1"})
    assert status == 201
    status, _ = call(servers[0].url, tokens["COURT-0"], "POST", "/seizures", {
        "case_id": case_id, "kind": "seal", "document_no": "S", "served_at": "2026-01-01T00:00:00Z",
        "lot_ids": lot_ids})
    assert status == 201
    context = mp.get_context("spawn")
    barrier = context.Manager().Barrier(2)
    with context.Pool(2) as pool:
        a, b = pool.map(_deliver, [(servers[0].url, tokens["COURT-0"], case_id, lot_ids, barrier),
                                   (servers[1].url, tokens["COURT-1"], case_id, lot_ids, barrier)])
    for (lot_id, status_a, code_a), (_, status_b, code_b) in zip(a, b):
        assert sorted([status_a, status_b]) == [201, 409], (lot_id, status_a, code_a, status_b, code_b)
        assert {code_a, code_b} == {None, "lot_disposed"}
    status, executions = call(servers[0].url, tokens["AUDITOR"], "GET", f"/lots?case_id={case_id}&status=disposed"
                              f"&limit=1000")
    assert len(executions["items"]) == rounds
    assert audit(url, key_file)[0] == []
    _ledger_verifies(servers[1], tokens, tmp_path)
    print(f"held: {rounds} rounds of two units delivering one lot at once through two instances: "
          f"{rounds} x (one 201, one 409 lot_disposed)")


def _churn(args):
    """Seize, release and renew at random on a small set of lots; every answer must be a clean one."""
    bases, token, case_id, lot_ids, seed = args
    rng = random.Random(seed)
    mine: list[int] = []
    statuses = []
    for n in range(25):
        action = rng.choice(["seize", "seize", "release", "renew"]) if mine else "seize"
        base = bases[n % 2]
        if action == "seize":
            status, body = _retrying(base, token, "POST", "/seizures", {
                "case_id": case_id, "kind": "seal", "document_no": f"C-{seed}-{n}",
                "served_at": "2026-01-01T00:00:00Z", "lot_ids": rng.sample(lot_ids, 2)})
            if status == 201:
                mine.append(body["id"])
        elif action == "release":
            status, body = _retrying(base, token, "POST", f"/seizures/{mine.pop(rng.randrange(len(mine)))}/release",
                                     {"document_no": f"R-{seed}-{n}", "reason": "paid"})
        else:
            status, body = _retrying(base, token, "POST", f"/seizures/{rng.choice(mine)}/renew",
                                     {"document_no": f"N-{seed}-{n}", "term_end": "2027-12-31"})
        statuses.append((action, status, body.get("code") if isinstance(body, dict) else body))
    return statuses


def test_releases_and_renewals_race_seizures(system, tmp_path):
    servers, tokens, url, key_file = system
    bases = [s.url for s in servers]
    lot_ids = _register(bases[0], tokens["COURT-0"], 8, "CHURN")
    clients = 8
    cases = [(f"COURT-{i % 4}", _open(bases[0], tokens[f"COURT-{i % 4}"], f"(2026)churn{i}")) for i in range(clients)]
    with mp.get_context("spawn").Pool(clients) as pool:
        results = pool.map(_churn, [(bases, tokens[unit], case_id, lot_ids, n) for n, (unit, case_id) in
                                    enumerate(cases)])
    outcomes = Counter((action, status, code if status >= 400 else None)
                       for client in results for action, status, code in client)
    allowed = {201, 200, 409, 422}
    assert all(status in allowed for (_, status, _) in outcomes), outcomes
    assert all(code in ("already_seized_by_case", "seizure_queued", "term_not_extended", "seizure_ended", None)
               for (_, status, code) in outcomes), outcomes
    for lot_id in lot_ids:
        _queue_is_sound(servers[0], tokens["AUDITOR"], lot_id)
    assert audit(url, key_file)[0] == []
    _ledger_verifies(servers[0], tokens, tmp_path)
    print(f"held: {clients} clients, {sum(outcomes.values())} seize/release/renew requests on {len(lot_ids)} lots: "
          f"{dict(sorted(((a, s), n) for (a, s, _), n in outcomes.items()))}")
