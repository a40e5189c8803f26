"""Refused requests (SPEC §2, §4, §5): the right status and stable code, every blocking lot named with its
holder, and nothing changed — the ledger size and the JSON of every lot, seizure and case are as before.
"""
from __future__ import annotations

from datetime import timedelta

from helpers import (API, assert_audit_clean, assert_conflict, assert_problem, check, conflicts_of, execute,
                     iso, ledger_size, ledger_types, lot_view, nothing_changes, ok, open_case, per_lot, queue,
                     register_lots, release, renew, seize, seize_body, split, try_seize)

W_NO, B_NO, P_NO = "（2026）苏02执3号", "（2026）沪0113执5号", "沪公经立字（2026）9号"  # canonical


def test_only_the_acting_unit_renews_or_releases_and_only_an_executable_case_disposes(app, session, units):
    b, w = units["baoshan"], units["wuxi"]
    lots = register_lots(b, ["10.0000", "11.0000"])
    cb, cw = open_case(b, B_NO), open_case(w, "(2026)苏02执保3号", "preservation")
    sb, sw = seize(b, cb, lots[:1], "B-1"), seize(w, cw, lots[1:], "W-1")
    with nothing_changes(units["auditor"], lots, [sb, sw], [cb, cw]):
        for who in ("yangpu", "wuxi", "high", "police", "auditor", "admin"):
            assert_problem(renew(units[who], sb, "2028-06-30", "续"), 403, "forbidden")
            assert_problem(release(units[who], sb, "解"), 403, "forbidden")
        for who in ("police", "yangpu", "wuxi", "high", "auditor"):  # only the case's acting (or assisting) court
            assert_problem(execute(units[who], cb, lots[:1], "交付"), 403, "forbidden")
        problem = assert_problem(execute(w, cw, lots[1:], "交付"), 409, "case_not_executable")
        assert "conflicts" not in problem or problem["conflicts"] == []
        assert check(w, cw, lots[1:])["clear"] is True  # the lot itself is clear: the case kind refuses it
    ok(renew(b, sb, "2028-06-30", "B-续"))  # the acting unit may, so the refusals above were about who asked
    assert ok(release(b, sb, "B-解"))["promoted"] == []
    assert_audit_clean(app, session, b)


def test_seizing_twice_or_a_disposed_or_split_lot_refuses_every_lot(app, session, units):
    b, w = units["baoshan"], units["wuxi"]
    lots = register_lots(b, ["1.0000", "2.0000", "3.0000", "4.0000", "5.0000"])
    taken, gone, cut, free1, free2 = lots
    cb, cw = open_case(b, B_NO), open_case(w, W_NO)
    sb = seize(b, cb, [taken], "B-1")
    seize(w, cw, [gone, cut], "W-1")
    ok(execute(w, cw, [gone], "W-交付"), 201)
    parts = ok(split(w, cut, [("ZJ-AL-0003-A", "1.0000"), ("ZJ-AL-0003-B", "2.0000")], "拆"), 201)["lots"]

    with nothing_changes(units["auditor"], lots + parts, [sb]):
        problem = assert_problem(try_seize(b, cb, [free1, taken, free2], "B-2"), 409, "already_seized_by_case")
        assert len(conflicts_of(problem)) == 1
        assert_conflict(problem, taken, "already_seized_by_case", cb)
        problem = assert_problem(try_seize(b, cb, [free1, gone, free2], "B-2"), 409, "lot_disposed")
        assert [c["lot_id"] for c in conflicts_of(problem)] == [gone["id"]]
        problem = assert_problem(try_seize(b, cb, [free1, cut, free2], "B-2"), 409, "lot_split")
        assert [c["lot_id"] for c in conflicts_of(problem)] == [cut["id"]]
        # several reasons at once: every blocking lot is named with its own reason, the free ones are not
        problem = assert_problem(try_seize(b, cb, [free1, taken, gone, cut, free2], "B-2"), 409)
        assert sorted((c["lot_id"], c["code"]) for c in conflicts_of(problem)) == [
            (taken["id"], "already_seized_by_case"), (gone["id"], "lot_disposed"), (cut["id"], "lot_split")]
    for lot in (free1, free2):
        assert lot_view(b, lot)["status"] == "free"
    again = per_lot(seize(b, cb, [free1, free2, *parts], "B-2"))  # the same request without the blocked lots
    assert [(again[lot["id"]]["rank"], again[lot["id"]]["status"]) for lot in [free1, free2, *parts]] == [
        (1, "effective"), (1, "effective"), (2, "queued"), (2, "queued")]
    assert_audit_clean(app, session, b)


def test_delivery_blocked_on_one_of_five_lots_disposes_none(app, session, units):
    b, w = units["baoshan"], units["wuxi"]
    lots = register_lots(b, ["20.1111", "20.2222", "20.3333", "20.4444", "20.5555"])
    cb, cw = open_case(b, B_NO), open_case(w, W_NO)
    sw = seize(w, cw, lots[2:3], "W-1")
    sb = seize(b, cb, lots, "B-1")
    assert per_lot(sb)[lots[2]["id"]]["rank"] == 2

    with nothing_changes(units["auditor"], lots, [sb, sw]):
        problem = assert_problem(execute(b, cb, lots, "B-交付"), 409, "not_effective_holder")
        (c,) = conflicts_of(problem)
        assert c == {**c, "lot_id": lots[2]["id"], "card_no": "ZJ-AL-0003", "code": "not_effective_holder",
                     "holder_case_id": cw["id"], "holder_case_number": W_NO, "holder_unit": "JS-WUXI-COURT"}
    for lot in lots:
        assert lot_view(b, lot)["status"] == "seized"
    done = ok(execute(b, cb, lots[:2] + lots[3:], "B-交付"), 201)
    assert done["total_weight_t"] == "81.3332"
    assert queue(b, lots[2]) == [(sw["id"], 1, "effective"), (sb["id"], 2, "queued")]
    assert_audit_clean(app, session, b)


def test_criminal_civil_needs_an_override_and_an_objection_blocks_until_its_court_lifts_it(app, session, units):
    b, p, y = units["baoshan"], units["police"], units["yangpu"]
    mixed, claimed = register_lots(b, ["7.5000", "8.2500"])
    cb, cp = open_case(b, B_NO), open_case(p, P_NO, "criminal")
    sb = seize(b, cb, [mixed, claimed], "B-1")
    sp = seize(p, cp, [mixed], "沪公经扣字〔2026〕3号", kind="distrain")
    objection = ok(y.post(f"{API}/lots/{claimed['id']}/objections",
                          json={"document_no": "(2026)沪0110执异1号", "claimant": "案外人某公司"}), 201)
    assert lot_view(b, mixed)["flags"] == ["criminal_civil"]
    assert lot_view(b, claimed)["flags"] == ["objection"]
    assert lot_view(b, claimed)["objections"] == [objection["id"]]

    with nothing_changes(units["auditor"], [mixed, claimed], [sb, sp]):
        problem = assert_problem(execute(b, cb, [mixed], "B-交付"), 409, "criminal_civil_conflict")
        assert_conflict(problem, mixed, "criminal_civil_conflict", cp, "SH-POLICE-ECON")
        problem = assert_problem(execute(b, cb, [claimed], "B-交付"), 409, "objection_pending")
        c = assert_conflict(problem, claimed, "objection_pending", holder_unit="SH-YANGPU-COURT")
        assert c["holder_case_id"] is None
        # the override answers the criminal/civil question only: the objection still blocks, and only it
        problem = assert_problem(execute(b, cb, [mixed, claimed], "B-交付", override="沪高法协〔2026〕1号"),
                                 409, "objection_pending")
        assert [c["lot_id"] for c in conflicts_of(problem)] == [claimed["id"]]
        lift = {"document_no": "(2026)沪0113执异1号"}
        for who in ("baoshan", "high"):  # only the court that filed it lifts it
            assert_problem(units[who].post(f"{API}/objections/{objection['id']}/lift", json=lift), 403, "forbidden")
        assert_problem(p.post(f"{API}/objections/{objection['id']}/lift", json=lift), 403, "forbidden")
    lifted = ok(y.post(f"{API}/objections/{objection['id']}/lift", json={"document_no": "(2026)沪0110执异1号之一"}))
    assert lifted["id"] == objection["id"] and lifted["lifted_at"] is not None
    assert lot_view(b, claimed)["flags"] == [] and lot_view(b, claimed)["objections"] == []
    with nothing_changes(units["auditor"], [mixed, claimed]):
        assert_problem(y.post(f"{API}/objections/{objection['id']}/lift", json={"document_no": "again"}), 409)

    done = ok(execute(b, cb, [mixed, claimed], "B-交付", override="沪高法协〔2026〕1号"), 201)
    assert done["override_document_no"] == "沪高法协〔2026〕1号" and done["total_weight_t"] == "15.7500"
    assert per_lot(done)[mixed["id"]]["voided"] == [sp["id"]]
    assert_audit_clean(app, session, b)


def test_terms_beyond_the_maximum_future_service_and_unknown_ids_are_refused(app, session, units, clock):
    b = units["baoshan"]
    movable, = register_lots(b, ["1.0000"], prefix="MV")
    house, = register_lots(b, ["1.0000"], prefix="RE", property_class="real_estate")
    deposit, = register_lots(b, ["1.0000"], prefix="DP", property_class="deposit")
    cb = open_case(b, B_NO)
    # 2 March 2026 (Beijing): movable 2 years, real estate 3, deposit 1 — the last day is the day before
    limits = [(movable, "2028-03-01", "2028-03-02"), (house, "2029-03-01", "2029-03-02"),
              (deposit, "2027-03-01", "2027-03-02")]
    soon, late = clock.now + timedelta(minutes=2), clock.now + timedelta(minutes=10)
    lots = [movable, house, deposit]
    with nothing_changes(units["auditor"], lots, cases=[cb]):
        for lot, _, too_far in limits:
            problem = assert_problem(try_seize(b, cb, [lot], "B-1", term_end=too_far), 422, "term_too_long")
            assert "term_end" in problem["errors"]
        problem = assert_problem(try_seize(b, cb, [movable], "B-1", served_at=iso(late)), 422, "validation_error")
        assert "served_at" in problem["errors"]
        assert_problem(try_seize(b, cb, [movable], "B-1", term_end="2026-03-01"), 422, "validation_error")
        assert_problem(try_seize(b, {"id": 999999}, [movable], "B-1"), 404, "not_found")
        assert_problem(try_seize(b, cb, [movable, {"id": 999999}], "B-1"), 404, "not_found")
        for path in ("lots", "seizures", "cases"):
            assert_problem(b.get(f"{API}/{path}/999999"), 404, "not_found")
        assert_problem(renew(b, 999999, "2027-01-01", "续"), 404, "not_found")
        assert_problem(release(b, 999999, "解"), 404, "not_found")
        assert_problem(execute(b, {"id": 999999}, [movable], "交付"), 404, "not_found")
        assert_problem(execute(b, cb, [{"id": 999999}], "交付"), 404, "not_found")
        assert_problem(b.post(f"{API}/executions/check", json={"case_id": 999999, "lot_ids": [movable["id"]]}),
                       404, "not_found")
        assert_problem(b.post(f"{API}/lots/999999/split", json={
            "parts": [{"card_no": "a", "weight_t": "1.0000"}, {"card_no": "b", "weight_t": "1.0000"}],
            "document_no": "拆"}), 404, "not_found")
        assert_problem(b.post(f"{API}/lots/999999/objections", json={"document_no": "异"}), 404, "not_found")
        assert_problem(b.post(f"{API}/objections/999999/lift", json={"document_no": "异"}), 404, "not_found")
        assert_problem(b.post(f"{API}/cases/999999/transfers", json={
            "mode": "assist", "to_unit": "SH-YANGPU-COURT", "document_no": "x"}), 404, "not_found")
    # at the limits, and served a moment ahead of the registry's clock (within the allowed skew): recorded
    for lot, last_day, _ in limits:
        made = seize(b, cb, [lot], f"B-{lot['card_no']}", term_end=last_day, served_at=iso(soon))
        assert per_lot(made)[lot["id"]]["term_end"] == last_day
    assert_audit_clean(app, session, b)


def test_idempotency_key_replays_the_first_response_and_refuses_another_body(app, session, units):
    b, w = units["baoshan"], units["wuxi"]
    lots = register_lots(b, ["3.3333", "4.4444"])
    cb, cw = open_case(b, B_NO), open_case(w, W_NO)
    key = {"Idempotency-Key": "seize-7f3a"}
    size = ledger_size(b)
    first = b.post(f"{API}/seizures", json=seize_body(cb, lots, "B-1"), headers=key)
    assert first.status_code == 201, first.get_json()
    assert ledger_size(b) == size + 1
    with nothing_changes(units["auditor"], lots, [first.get_json()["id"]]):
        retry = b.post(f"{API}/seizures", json=seize_body(cb, lots, "B-1"), headers=key)
        assert (retry.status_code, retry.get_json()) == (201, first.get_json())
        problem = assert_problem(b.post(f"{API}/seizures", json=seize_body(cb, lots, "B-2"), headers=key), 422,
                                 "idempotency_key_reused")
        assert "Idempotency-Key" in problem["errors"]
        problem = assert_problem(b.post(f"{API}/seizures", json=seize_body(cb, lots[:1], "B-1"), headers=key), 422,
                                 "idempotency_key_reused")
    for lot in lots:
        assert queue(b, lot) == [(first.get_json()["id"], 1, "effective")]  # one seizure
    assert ledger_types(b, size) == ["seizure.registered"]  # one ledger entry

    # keys belong to the unit: another unit's request under the same key is its own
    other = ok(w.post(f"{API}/seizures", json=seize_body(cw, lots, "W-1"), headers=key), 201)
    assert other["id"] != first.get_json()["id"] and {x["rank"] for x in other["lots"]} == {2}

    # a disposal retried after a lost response does not fail as "already disposed"
    size = ledger_size(b)
    key = {"Idempotency-Key": "deliver-1"}
    done = ok(execute(b, cb, lots, "B-交付", headers=key), 201)
    assert ok(execute(b, cb, lots, "B-交付", headers=key), 201) == done
    assert ledger_types(b, size) == ["execution.recorded"]
    assert_problem(execute(b, cb, lots, "B-交付书", headers=key), 422, "idempotency_key_reused")
    assert ledger_size(b) == size + 1
    assert_audit_clean(app, session, b)


def test_a_pending_objection_still_blocks_the_parts_of_a_split_lot(app, session, units):
    b, y = units["baoshan"], units["yangpu"]
    (lot,) = register_lots(b, ["10.0000"])
    cb = open_case(b, B_NO)
    seize(b, cb, [lot], "B-1")
    ok(y.post(f"{API}/lots/{lot['id']}/objections", json={"document_no": "(2026)沪0110执异2号",
                                                          "claimant": "案外人某公司"}), 201)
    r = split(b, lot, [("ZJ-AL-0001-A", "4.0000"), ("ZJ-AL-0001-B", "6.0000")], "拆分")
    if r.status_code != 201:  # refusing the split while the objection is pending would do as well
        assert_problem(r, 409, "objection_pending")
    parts = r.get_json()["lots"] if r.status_code == 201 else []
    with nothing_changes(units["auditor"], [lot, *parts]):
        for part in parts:
            assert "objection" in lot_view(b, part)["flags"]
            problem = assert_problem(execute(b, cb, [part], "B-交付"), 409, "objection_pending")
            assert_conflict(problem, part, "objection_pending", holder_unit="SH-YANGPU-COURT")
    assert_audit_clean(app, session, b)
