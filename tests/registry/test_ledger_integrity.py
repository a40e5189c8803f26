"""The ledger as an auditor meets it: the whole story verified, tampering caught, a third party agrees."""
from __future__ import annotations

import base64
import json
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pymerkle
import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from ledger import cli as ledger_cli
from ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from ledger.replay import Replay, State, differences, empty_state
from ledger.chain import Entry
from registry.audit import run_audit, snapshot
from registry.demo import play


@pytest.fixture
def story(database_url, capsys, tmp_path):
    """The railway-yard story played through the API on a fresh database; returns (app, auditor headers)."""
    app = play(database_url, str(tmp_path))
    capsys.readouterr()
    client = app.test_client()
    from registry.services.units import OPERATOR, create_unit
    session = app.extensions["registry.db"].sessions()
    with app.app_context():
        token = create_unit(session, OPERATOR, "AUDIT-2", "审计", "auditor", None).token
    session.close()
    yield app, client, {"Authorization": f"Bearer {token}"}
    app.extensions["registry.db"].dispose()


def test_the_demo_command_tells_the_story_and_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    import tempfile

    from registry.cli import main
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the demo makes its folder
    assert main(["demo"]) == 0
    out, err = capsys.readouterr()
    assert "496.8014" in out and "no differences" in out, out
    assert [json.loads(line)["logger"] for line in err.splitlines()] == ["registry.signing"], err  # the key, once
    assert list(tmp_path.iterdir()) == []


def export(client, headers, folder: Path) -> list[str]:
    """What an auditor downloads: the verifier key, the signed checkpoint and every entry."""
    key = client.get("/api/v1/ledger/key", headers=headers).get_data(as_text=True).strip()
    note = client.get("/api/v1/ledger/checkpoint", headers=headers).get_data(as_text=True)
    size = int(note.splitlines()[1])
    entries = client.get(f"/api/v1/ledger/entries?start=0&end={size}", headers=headers).get_data()
    (folder / "entries.jsonl").write_bytes(entries)
    (folder / "checkpoint").write_text(note, encoding="utf-8")
    return ["verify", "--entries", str(folder / "entries.jsonl"), "--checkpoint", str(folder / "checkpoint"),
            "--key", key, "--state", str(folder / "state")]


def verify(args, capsys) -> tuple[int, str]:
    code = ledger_cli.main(args)
    out = capsys.readouterr()
    # a service served in this process writes its request log to the same stderr; only the verifier's lines count
    said = [line for line in (out.out + out.err).splitlines(keepends=True) if '"logger": "registry.' not in line]
    return code, "".join(said)


def sql(app, statement: str) -> None:
    with app.extensions["registry.db"].engine.begin() as conn:
        conn.execute(text(statement))


def drop_triggers(app) -> None:
    """What an operator with database access could do to rewrite history."""
    if app.extensions["registry.db"].engine.dialect.name == "postgresql":
        for table in ("ledger_entries", "ledger_nodes", "checkpoints", "ledger_head"):
            sql(app, f"ALTER TABLE {table} DISABLE TRIGGER USER")
    else:
        for name in ("ledger_entries_no_update", "ledger_entries_no_delete", "ledger_nodes_no_delete",
                     "checkpoints_no_delete", "ledger_head_forward"):
            sql(app, f"DROP TRIGGER {name}")


def test_the_whole_story_verifies_and_rebuilds_from_the_ledger_alone(story, tmp_path, capsys):
    app, client, headers = story
    code, out = verify(export(client, headers, tmp_path), capsys)
    assert code == 0, out
    assert out.startswith("ok: ")
    replayed = Replay()
    for line in (tmp_path / "entries.jsonl").read_bytes().splitlines():
        replayed.apply(Entry.from_bytes(line))
    size, shown = shown_state(client.get("/api/v1/ledger/state", headers=headers))
    assert size == replayed.size
    assert list(differences(replayed.state, shown)) == []
    assert shown["executions"]["1"]["total_weight_t"] == "496.8014"
    session = app.extensions["registry.db"].sessions()
    with app.app_context():
        assert run_audit(session)[0] == []
        assert snapshot(session) == replayed.state
    session.close()


def shown_state(response) -> tuple[int, State]:
    """GET /ledger/state read back: the size on its first line, then table → key → record from the others."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/jsonl"
    head, *lines = response.get_data().decode("utf-8").split("\n")[:-1]  # every line ends with a newline
    state = empty_state()
    for line in lines:
        table, key, record = json.loads(line)
        assert key not in state[table], f"{table} {key} shown twice"
        state[table][key] = record
    return json.loads(head)["size"], state


def test_pages_of_entries_give_their_connections_back(story):
    """An auditor pages through a big ledger: each streamed page must return its connection to the pool."""
    app, client, headers = story
    pool = app.extensions["registry.db"].engine.pool
    size = int(client.get("/api/v1/ledger/checkpoint", headers=headers).get_data(as_text=True).split("\n")[1])
    pages = [client.get(f"/api/v1/ledger/entries?start={i}&end={i + 1}", headers=headers).get_data()
             for i in range(size)]
    assert pool.checkedout() == 0, "a page of entries kept its connection"
    assert len(pages) == size and all(page.count(b"\n") == 1 for page in pages)
    client.get(f"/api/v1/ledger/entries?start=0&end={size}", headers=headers, buffered=False).close()  # unread
    assert pool.checkedout() == 0, "a page closed unread kept its connection"


def test_the_state_is_one_snapshot_even_when_a_write_commits_while_it_streams(story):
    from registry.services.units import OPERATOR, create_unit
    app, client, headers = story
    pool = app.extensions["registry.db"].engine.pool
    response = client.get("/api/v1/ledger/state", headers=headers, buffered=False)  # size read, no record yet
    session = app.extensions["registry.db"].sessions()
    with app.app_context():
        create_unit(session, OPERATOR, "LATE-COURT", "迟到的法院", "court", None)  # commits entry `size`
    session.close()
    size, shown = shown_state(response)
    response.close()
    assert pool.checkedout() == 0, "the export's snapshot outlived its response"
    client.get("/api/v1/ledger/state", headers=headers, buffered=False).close()  # the client went away unread
    assert pool.checkedout() == 0, "an export closed unread kept its snapshot"
    assert "LATE-COURT" not in shown["units"]
    replayed = Replay()
    for line in client.get(f"/api/v1/ledger/entries?start=0&end={size}", headers=headers).get_data().splitlines():
        replayed.apply(Entry.from_bytes(line))
    assert list(differences(replayed.state, shown)) == []
    size_after, shown_after = shown_state(client.get("/api/v1/ledger/state", headers=headers))
    assert size_after == size + 1 and "LATE-COURT" in shown_after["units"]


@contextmanager
def served(app) -> Iterator[str]:
    """The app over real HTTP (werkzeug, threaded) on a free loopback port, for `seizure-ledger verify --url`."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_rows_changed_removed_or_added_by_sql_are_named_by_verify_url(story, capsys, monkeypatch):
    app, client, headers = story
    key = client.get("/api/v1/ledger/key", headers=headers).get_data(as_text=True).strip()
    monkeypatch.setenv("SEIZURE_LEDGER_TOKEN", headers["Authorization"].removeprefix("Bearer "))
    with served(app) as url:
        args = ["verify", "--url", url, "--key", key]
        code, out = verify(args, capsys)
        assert code == 0 and "the service's state equals the replay" in out, out
        sql(app, "UPDATE lots SET weight_t = weight_t + 1 WHERE id = 17")
        sql(app, "DELETE FROM objections WHERE id = 1")
        sql(app, "INSERT INTO units (code, name, kind, parent_code, created_at) "
                 "VALUES ('GHOST', '幽灵法院', 'court', NULL, '2026-03-02 09:00:00')")
        code, out = verify(args, capsys)
    assert code == 1, out
    found = out.strip().removeprefix("FAILED: the service's state differs from the replay of its ledger: ")
    extra, changed, missing = found.split("; ")  # in the order the service streams its tables, then what it lacks
    assert extra == "units GHOST: in the registry, not in the ledger", out
    weight = r"'(\d+\.\d{4})' in the registry, '(?!\1)\d+\.\d{4}' by the ledger"
    assert re.fullmatch(f"lots 17: weight_t is {weight}", changed), out
    assert missing == "objections 1: in the ledger, missing from the registry", out


def test_a_row_changed_by_sql_is_named_by_the_audit(story):
    app, _, _ = story
    sql(app, "UPDATE holds SET position = position + 1000 WHERE seizure_id = 3 AND lot_id = 2")
    sql(app, "UPDATE lots SET weight_t = weight_t + 1 WHERE id = 17")
    session = app.extensions["registry.db"].sessions()
    with app.app_context():
        found, _ = run_audit(session)
    session.close()
    assert any(d.startswith("holds 3:2: position is") for d in found), found
    assert any(d.startswith("lots 17: weight_t is") for d in found), found
    assert len(found) == 2


def test_one_changed_byte_is_named_by_verify(story, tmp_path, capsys):
    app, client, headers = story
    args = export(client, headers, tmp_path)
    drop_triggers(app)
    with app.extensions["registry.db"].engine.begin() as conn:
        body = bytes(conn.execute(text("SELECT body FROM ledger_entries WHERE seq = 12")).scalar_one())
        forged = body.replace(b'"seal"', b'"seaL"', 1)
        assert forged != body
        conn.execute(text("UPDATE ledger_entries SET body = :b WHERE seq = 12"), {"b": forged})
    export(client, headers, tmp_path)
    code, out = verify(args, capsys)
    assert code == 1
    assert "entry 12" in out, out


def test_deleting_the_last_entries_fails_against_the_saved_checkpoint(story, tmp_path, capsys):
    app, client, headers = story
    args = export(client, headers, tmp_path)
    assert verify(args, capsys)[0] == 0  # the auditor's state now holds this checkpoint
    size = int((tmp_path / "checkpoint").read_text().splitlines()[1])
    drop_triggers(app)
    keep = size - 10
    from ledger.merkle import CompactRange
    frontier = CompactRange.empty()
    with app.extensions["registry.db"].engine.begin() as conn:
        for (body,) in conn.execute(text(f"SELECT body FROM ledger_entries WHERE seq < {keep} ORDER BY seq")):
            frontier.push(leaf_hash(bytes(body)))
            last = bytes(body)
        conn.execute(text(f"DELETE FROM ledger_entries WHERE seq >= {keep}"))
        conn.execute(text("DELETE FROM checkpoints"))
        from ledger.chain import entry_hash
        conn.execute(text("UPDATE ledger_head SET size = :s, last_hash = :h, frontier = :f WHERE id = 1"),
                     {"s": keep, "h": entry_hash(last), "f": frontier.to_bytes()})
    export(client, headers, tmp_path)  # a freshly signed, self-consistent, shorter history
    assert int((tmp_path / "checkpoint").read_text().splitlines()[1]) == keep
    code, out = verify(args, capsys)
    assert code == 1 and "inconsistent with the checkpoint seen before" in out, out


def test_a_checkpoint_signed_by_another_key_is_rejected(story, tmp_path, capsys):
    app, client, headers = story
    args = export(client, headers, tmp_path)
    from ledger.checkpoint import load_or_create_key, verifier_key
    other = verifier_key("seizure-registry.local/ledger", load_or_create_key(tmp_path / "other.key").public_key())
    args[args.index("--key") + 1] = other
    code, out = verify(args, capsys)
    assert code == 1 and out.startswith("FAILED:"), out


def test_the_served_tree_agrees_with_an_independent_implementation(story):
    """Roots, inclusion and consistency proofs of the live ledger, checked with pymerkle (RFC 9162)."""
    _, client, headers = story
    note = client.get("/api/v1/ledger/checkpoint", headers=headers).get_data(as_text=True)
    size, root = int(note.splitlines()[1]), base64.b64decode(note.splitlines()[2])
    lines = client.get(f"/api/v1/ledger/entries?start=0&end={size}", headers=headers).get_data().splitlines()
    reference = pymerkle.InmemoryTree.init_from_entries(lines)
    assert reference.get_root(size) == root
    for index, at in [(0, 1), (0, size), (size // 2, size), (size - 1, size), (3, 7)]:
        proof = client.get(f"/api/v1/ledger/proof/inclusion?index={index}&size={at}", headers=headers).get_json()
        hashes = [bytes.fromhex(h) for h in proof["hashes"]]
        assert hashes == reference.prove_inclusion(index + 1, at).path[1:]
        assert bytes.fromhex(proof["leaf_hash"]) == leaf_hash(lines[index])
        verify_inclusion(leaf_hash(lines[index]), index, at, hashes, reference.get_root(at))
    for old, new in [(1, size), (size // 3, size), (5, 8), (size - 1, size)]:
        proof = client.get(f"/api/v1/ledger/proof/consistency?old={old}&new={new}", headers=headers).get_json()
        verify_consistency(old, new, reference.get_root(old), reference.get_root(new),
                           [bytes.fromhex(h) for h in proof["hashes"]])


def test_proofs_and_ranges_out_of_range_are_422(story):
    _, client, headers = story
    for query in ("proof/inclusion?index=5&size=5", "proof/inclusion?index=0&size=100000",
                  "proof/inclusion?index=-1&size=3", "proof/inclusion?size=3", "proof/consistency?old=9&new=3",
                  "proof/consistency?old=1&new=100000", "entries?start=5&end=3", "entries?start=0&end=100000"):
        response = client.get(f"/api/v1/ledger/{query}", headers=headers)
        assert response.status_code == 422, query
        assert response.content_type == "application/problem+json"
        assert response.get_json()["errors"], query


def test_the_ledger_refuses_update_and_delete(story):
    app, _, _ = story
    for statement in ("UPDATE ledger_entries SET seq = seq WHERE seq = 0", "DELETE FROM ledger_entries WHERE seq = 0",
                      "DELETE FROM checkpoints", "UPDATE ledger_head SET size = 0"):
        with pytest.raises(Exception, match="append-only|only moves forward"):
            sql(app, statement)
