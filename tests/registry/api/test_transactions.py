"""How requests use their database transactions: what keeps a busy registry's requests cheap.

Reads end with COMMIT, never ROLLBACK: psycopg forgets every prepared statement of a connection on ROLLBACK,
so the queries every request repeats would be parsed and planned anew each time. A write by a token the
process has authenticated before is one transaction: the write's lock statement confirms the token. A first
write authenticates inside its write transaction on PostgreSQL, and before the writer lock on SQLite. A write
still open when its request ends is rolled back, never committed.
"""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, text

from ledger.merkle import verify_consistency, verify_inclusion
from registry.db import begin_write, close_session, get_session
from registry.services.ledger_log import append, lock_head
from registry.services.tx import utcnow

from helpers import API, assert_audit_clean, checkpoint, lot_view, ok, open_case, register_lots, seize, split, try_seize

PRUDENT_NO = "(2025)沪0113执1234号"


@contextmanager
def transactions(app):
    """Count the transactions begun, committed and rolled back on the app's engine."""
    engine = app.extensions["registry.db"].engine
    seen = {"begin": 0, "commit": 0, "rollback": 0}
    listeners = {name: (lambda *_a, _name=name: seen.__setitem__(_name, seen[_name] + 1)) for name in seen}
    for name, listener in listeners.items():
        event.listen(engine, name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners.items():
            event.remove(engine, name, listener)


@contextmanager
def autocommit_flags(app):
    """On PostgreSQL, whether each statement sent ran outside any transaction (autocommit); empty on SQLite."""
    engine = app.extensions["registry.db"].engine
    flags: list[bool] = []

    def statement(connection, *_args):
        if engine.dialect.name == "postgresql":
            flags.append(connection.connection.dbapi_connection.autocommit)

    event.listen(engine, "before_cursor_execute", statement)
    try:
        yield flags
    finally:
        event.remove(engine, "before_cursor_execute", statement)


def test_reads_end_with_commit_and_keep_their_prepared_statements(app, session, units):
    b = units["baoshan"]
    [lot] = register_lots(b, ["23.4567"])
    seize(b, open_case(b, PRUDENT_NO), [lot], f"{PRUDENT_NO}之一")
    with transactions(app) as seen:
        views = [lot_view(units["auditor"], lot) for _ in range(8)]
        missing = units["auditor"].get(f"{API}/lots/999999")
    assert missing.status_code == 404
    assert seen == {"begin": 9, "commit": 9, "rollback": 0}
    assert all(v == views[0] for v in views)
    engine = app.extensions["registry.db"].engine
    if engine.dialect.name == "postgresql":
        # One request at a time: the pool has one connection, and it still holds the views' statements.
        with engine.connect() as connection:
            prepared = connection.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()
        assert prepared >= 2  # authentication and the lot's query, at least


def test_a_write_is_one_transaction_and_a_refused_one_rolls_back(app, session, units):
    b = units["baoshan"]
    lots = register_lots(b, ["23.4567", "24.0001"])  # baoshan's token is now known to this process
    case = open_case(b, PRUDENT_NO)
    with transactions(app) as seen:
        seized = seize(b, case, lots, f"{PRUDENT_NO}之一")
    assert seen == {"begin": 1, "commit": 1, "rollback": 0}
    assert [(x["rank"], x["status"]) for x in seized["lots"]] == [(1, "effective")] * 2
    police = units["police"]
    police.get(f"{API}/lots/{lots[0]['id']}")
    with transactions(app) as seen:
        refused = try_seize(police, case, lots, "沪公经立字〔2025〕77号")  # not the police's case
    assert refused.status_code == 403
    assert seen == {"begin": 1, "commit": 0, "rollback": 1}
    y = units["yangpu"]
    again = seize(y, open_case(y, "(2025)沪0110执77号"), lots, "(2025)沪0110执77号之一")
    assert again["id"] > seized["id"]
    assert [(x["rank"], x["status"]) for x in again["lots"]] == [(2, "queued")] * 2
    assert assert_audit_clean(app, session) > 0


def test_a_first_write_authenticates_in_full(app, session, units):
    """A token this process has not seen yet is authenticated by a query: inside the write transaction on
    PostgreSQL, in a read transaction before the writer lock on SQLite."""
    b = units["baoshan"]
    lots = register_lots(b, ["23.4567"])
    case = open_case(b, PRUDENT_NO)
    app.extensions.pop("registry.known_tokens", None)  # as a freshly started worker
    postgresql = app.extensions["registry.db"].engine.dialect.name == "postgresql"
    with transactions(app) as seen:
        seize(b, case, lots, f"{PRUDENT_NO}之一")
    assert seen == ({"begin": 1, "commit": 1, "rollback": 0} if postgresql
                    else {"begin": 2, "commit": 2, "rollback": 0})


def test_a_plain_lot_view_reads_in_one_statement_and_any_other_in_one_snapshot(app, session, units, clock):
    b, y = units["baoshan"], units["yangpu"]
    plain, objected, parent = register_lots(b, ["23.4567", "24.0001", "30.0000"])
    case = open_case(b, PRUDENT_NO)
    seize(b, case, [plain, objected, parent], f"{PRUDENT_NO}之一")
    ok(y.post(f"{API}/lots/{objected['id']}/objections", json={"document_no": "执异1号", "claimant": "案外人"}),
       201)
    parts = ok(split(b, parent, [("ZJ-AL-0003-1", "10.0000"), ("ZJ-AL-0003-2", "20.0000")], "分割1号"), 201)["lots"]
    clock.advance(minutes=5)
    postgresql = app.extensions["registry.db"].engine.dialect.name == "postgresql"
    with autocommit_flags(app) as autocommit:
        views = {}
        for name, lot in (("plain", plain), ("objected", objected), ("parent", parent),
                          ("part", parts[0])):
            autocommit.clear()
            views[name] = (lot_view(units["auditor"], lot), list(autocommit))
        autocommit.clear()
        seize(y, open_case(y, "(2025)沪0110执77号"), [plain], "(2025)沪0110执77号之一")
        written = list(autocommit)
    assert views["plain"][0]["seizures"][0]["status"] == "effective" and views["plain"][0]["objections"] == []
    assert views["objected"][0]["objections"] != [] and "objection" in views["objected"][0]["flags"]
    assert views["parent"][0]["status"] == "split" and len(views["parent"][0]["children"]) == 2
    assert views["part"][0]["parent_id"] == parent["id"]
    assert [s["case_id"] for s in views["part"][0]["seizures"]] == [case["id"]]  # the parent's queue carries on
    assert all(v["as_of"] == views["plain"][0]["as_of"] for v, _ in views.values())  # the ledger did not move
    if postgresql:
        # Authentication and the lot's one statement, outside any transaction; the others start over in one.
        assert views["plain"][1] == [True, True]
        assert written and not any(written)  # the pooled connection is back in transactions for a write
        for name in ("objected", "parent", "part"):
            flags = views[name][1]
            assert flags[:2] == [True, True] and flags[2:] and not any(flags[2:]), (name, flags)


def test_proofs_read_outside_any_transaction_and_prove_what_the_checkpoint_signed(app, session, units):
    """A proof's nodes never change once committed: on PostgreSQL it needs no BEGIN and no COMMIT, and a proof
    for a signed size still verifies against that checkpoint's root after the ledger has grown."""
    b = units["baoshan"]
    lots = register_lots(b, ["23.4567", "24.0001", "30.0000"])
    auditor = units["auditor"]
    _, old, old_root = checkpoint(auditor)
    seize(b, open_case(b, PRUDENT_NO), lots, f"{PRUDENT_NO}之一")
    _, new, new_root = checkpoint(auditor)
    postgresql = app.extensions["registry.db"].engine.dialect.name == "postgresql"
    with autocommit_flags(app) as autocommit:
        inclusion = ok(auditor.get(f"{API}/ledger/proof/inclusion?index={old - 1}&size={old}"))
        included = list(autocommit)
        autocommit.clear()
        consistency = ok(auditor.get(f"{API}/ledger/proof/consistency?old={old}&new={new}"))
        consistent = list(autocommit)
    verify_inclusion(bytes.fromhex(inclusion["leaf_hash"]), old - 1, old,
                     [bytes.fromhex(h) for h in inclusion["hashes"]], old_root)
    verify_consistency(old, new, old_root, new_root, [bytes.fromhex(h) for h in consistency["hashes"]])
    if postgresql:  # authentication with the ledger size, then the nodes: each its own snapshot
        assert included == [True, True] and consistent == [True, True], (included, consistent)


def test_a_write_left_open_is_rolled_back_at_the_end_of_the_request(app, session, units):
    b = units["baoshan"]
    [lot] = register_lots(b, ["23.4567"])
    before = assert_audit_clean(app, session)
    with app.test_request_context():
        session_of_request = get_session()
        begin_write(session_of_request)
        head = lock_head(session_of_request)
        append(session_of_request, head, utcnow(), b.code, "lot.registered", {"lots": []})
        close_session()  # as at the end of a request whose code never committed nor rolled back
    assert assert_audit_clean(app, session) == before  # no trace of the half write
    assert lot_view(units["auditor"], lot)["status"] == "free"
