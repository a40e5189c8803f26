"""The ledger as an auditor meets it: the whole story verified, tampering caught, a third party agrees."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pymerkle
import pytest
from sqlalchemy import text

from ledger import cli as ledger_cli
from ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from ledger.replay import Replay, differences
from ledger.chain import Entry
from registry.audit import run_audit, snapshot
from registry.demo import play


@pytest.fixture
def story(database_url, capsys):
    """The railway-yard story played through the API on a fresh database; returns (app, auditor headers)."""
    app = play(database_url)
    capsys.readouterr()
    client = app.test_client()
    from registry.services.units import OPERATOR, create_unit
    session = app.extensions["registry.db"].sessions()
    with app.app_context():
        token = create_unit(session, OPERATOR, "AUDIT-2", "审计", "auditor", None).token
    session.close()
    yield app, client, {"Authorization": f"Bearer {token}"}
    app.extensions["registry.db"].dispose()


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
    return code, out.out + out.err


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
    shown = client.get("/api/v1/ledger/state", headers=headers).get_json()
    assert shown["size"] == replayed.size
    assert list(differences(replayed.state, shown["state"])) == []
    assert shown["state"]["executions"]["1"]["total_weight_t"] == "496.8014"
    session = app.extensions["registry.db"].sessions()
    with app.app_context():
        assert run_audit(session)[0] == []
        assert snapshot(session) == replayed.state
    session.close()


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
