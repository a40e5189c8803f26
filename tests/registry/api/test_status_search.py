"""`GET /lots?status=` answered by the database gives exactly what the rules give, lot by lot, at any time.

A mixed registry (free, seized, queued, expired, promoted on expiry or release, released, renewed, disposed,
split lots of every property class) is searched at instants the test clock moves to, page by page, and
compared with `rules.lot_status` over every lot.
"""
from __future__ import annotations

import pytest
from sqlalchemy import text

from registry.rules import lot_status, queue_at
from registry.services.facts import lot_facts
from registry.services.tx import read_now

from helpers import API, assert_audit_clean, execute, ok, open_case, register_lots, release, renew, seize, split

STATUSES = ("free", "seized", "disposed", "split")


def _registry(units) -> tuple[list[dict], dict]:
    """Every kind of lot a search may meet, registered and seized by the Baoshan court."""
    b = units["baoshan"]
    movable = register_lots(b, ["1.0000"] * 8, prefix="MV")
    deposit = register_lots(b, ["2.0000"] * 5, prefix="DP", property_class="deposit")
    estate = register_lots(b, ["3.0000"] * 2, prefix="RE", property_class="real_estate")
    c1, c2, c3 = (open_case(b, f"（2026）沪0113执{n}号") for n in (1, 2, 3))
    seize(b, c1, [movable[1], movable[2], movable[5], movable[6], estate[0]], "封1")  # maximum terms
    seize(b, c2, [movable[2], deposit[0], deposit[1]], "封2", term_end="2026-03-10")  # short ones
    seize(b, c3, [movable[2], deposit[0], deposit[1], deposit[3]], "封3")  # queued behind, counted on promotion
    first = seize(b, c1, [deposit[2], movable[3], movable[4], estate[1]], "封4", term_end="2026-06-30")
    seize(b, c2, [deposit[2], movable[4]], "封5", term_end="2026-05-31")  # queued, released before its turn
    later = seize(b, c3, [deposit[4], movable[7]], "封6", term_end="2026-04-15")
    ok(release(b, first, "解1", [movable[3]["id"]]))  # released: free again
    ok(execute(b, c1, [movable[5]], "执1"), 201)  # disposed
    ok(split(b, movable[6], [("MV-0007-1", "0.4000"), ("MV-0007-2", "0.6000")], "拆1"), 201)
    return movable + deposit + estate, {"b": b, "c1": c1, "c2": c2, "c3": c3, "first": first, "later": later}


def _searched(reader, status: str, extra: str = "") -> list[int]:
    """Every lot id `GET /lots?status=` returns, following the cursor two lots at a time."""
    found, cursor = [], None
    while True:
        page = ok(reader.get(f"{API}/lots?status={status}&limit=2{extra}" + (f"&cursor={cursor}" if cursor else "")))
        found += [lot["id"] for lot in page["items"]]
        assert all(lot["status"] == status for lot in page["items"]), page
        cursor = page["next"]
        if cursor is None:
            return found


def _by_rules(app, session) -> dict[str, list[int]]:
    """Each lot's status by the rules, as of the instant a read is answered at (never before the last write)."""
    session.rollback()  # a fresh snapshot: the requests committed since
    with app.app_context():
        now = read_now(session)
        ids = [i for (i,) in session.execute(text("SELECT id FROM lots ORDER BY id"))]
        facts = lot_facts(session, ids)
        session.rollback()
    judged = {status: [] for status in STATUSES}
    for f in facts:
        judged[lot_status(f, queue_at(f, now), now)].append(f.id)
    return judged


def _moments(clock, units, made):
    """The instants searched, with the acts done on the way."""
    yield "start"
    clock.advance(days=5)
    yield "a short term has ended; its queue moved on"
    ok(release(made["b"], made["later"], "解6"))
    yield "released after a promotion"
    ok(renew(made["b"], made["first"], "2027-06-30", "续4"))
    clock.advance(days=120)
    yield "renewed, the short terms over"
    clock.advance(days=240)
    yield "a deposit's year counted from its registration is over, not from its promotion"
    clock.advance(days=20)
    yield "the promoted deposit terms are over"
    clock.advance(days=400)
    yield "the renewal is over"
    clock.advance(days=380)
    yield "maximum movable terms are over"
    clock.advance(days=400)
    yield "everything is over"


def test_status_search_equals_the_rules_as_time_moves(app, session, units, clock):
    lots, made = _registry(units)
    reader = units["auditor"]
    seen = set()
    for moment in _moments(clock, units, made):
        judged = _by_rules(app, session)
        for status in STATUSES:
            assert _searched(reader, status) == judged[status], (moment, status, clock.now)
            assert _searched(reader, status, f"&case_id={made['c3']['id']}") == \
                [i for i in judged[status] if i in _held_by(app, session, made["c3"]["id"])], (moment, status)
        seen |= {s for s, found in judged.items() if found}
        seen |= {("seized", "free")[bool(judged["free"])]}
    assert seen == set(STATUSES)


def _held_by(app, session, case_id: int) -> set[int]:
    session.rollback()
    with app.app_context():
        held = {i for (i,) in session.execute(text("SELECT lot_id FROM holds WHERE case_id = :c"), {"c": case_id})}
        session.rollback()
    return held


def _forget(app, session, sql: str) -> None:
    """Change lot_standing behind the service's back, as an upgrade or an earlier version's write leaves it."""
    session.rollback()
    with app.app_context():
        session.execute(text(sql))
        session.commit()


def test_lots_whose_bound_is_unknown_or_newer_than_the_instant_are_judged_by_the_rules(app, session, units,
                                                                                        clock):
    lots, made = _registry(units)
    reader = units["auditor"]
    ids = [lot["id"] for lot in lots]
    # Unknown (just upgraded) for every other lot; for one, stored as if written after the instant asked.
    _forget(app, session, f"UPDATE lot_standing SET facts_at = NULL WHERE lot_id IN ({','.join(map(str, ids[::2]))})")
    _forget(app, session, f"UPDATE lot_standing SET facts_at = '2999-01-01 00:00:00', seized_until = NULL "
                          f"WHERE lot_id = {ids[1]}")
    for moment in ("now", "after every term"):
        judged = _by_rules(app, session)
        for status in STATUSES:
            assert _searched(reader, status) == judged[status], (moment, status)
        clock.advance(days=2000)


def _unknown(app, session) -> set[int]:
    session.rollback()
    with app.app_context():
        found = {i for (i,) in session.execute(text("SELECT lot_id FROM lot_standing WHERE facts_at IS NULL"))}
        session.rollback()
    return found


def test_a_write_that_stores_no_bound_leaves_it_unknown_and_db_upgrade_computes_it(app, session, units):
    from registry.services.standing import refresh

    lots, made = _registry(units)
    ids = [lot["id"] for lot in lots]
    assert _unknown(app, session) == set()  # every write of this version stored its lots' bounds
    # Writes that store none, as an instance of an earlier release makes: the database marks the bounds unknown.
    _forget(app, session, f"UPDATE holds SET term_end = term_end WHERE lot_id = {ids[2]}")
    _forget(app, session, f"UPDATE lots SET disposed_at = disposed_at WHERE id = {ids[5]}")
    assert _unknown(app, session) == {ids[2], ids[5]}
    judged = _by_rules(app, session)
    for status in STATUSES:
        assert _searched(units["auditor"], status) == judged[status], status
    assert_audit_clean(app, session)
    session.rollback()
    with app.app_context():
        assert refresh(session) == 2
        assert refresh(session) == 0
    assert _unknown(app, session) == set()
    assert_audit_clean(app, session)


def test_the_audit_checks_every_stored_bound_against_the_rules(app, session, units):
    lots, made = _registry(units)
    seized = _by_rules(app, session)["seized"][0]
    _forget(app, session, f"UPDATE lot_standing SET seized_until = NULL WHERE lot_id = {seized}")
    listed = ok(units["auditor"].get(f"{API}/lots?status=free&limit=100"))["items"]
    assert seized in [lot["id"] for lot in listed]  # the list trusts a known bound; the audit does not
    with pytest.raises(AssertionError) as wrong:
        assert_audit_clean(app, session)
    assert f"lot_standing: lot {seized} stored seized until None" in str(wrong.value)
    _forget(app, session, f"DELETE FROM lot_standing WHERE lot_id = {seized}")
    with pytest.raises(AssertionError) as missing:
        assert_audit_clean(app, session)
    assert f"lot_standing: lot {seized} has no row" in str(missing.value)
