"""The registry's story through HTTP (SPEC §3–§5): queues, release, renewal, transfers, disposal, split.

Every test that writes ends by replaying the ledger against the tables (`assert_audit_clean`).
"""
from __future__ import annotations

from decimal import Decimal

from registry.api.schemas import CheckLot, CheckOut, ConflictOut

from helpers import (API, YARD, assert_audit_clean, assert_conflict, assert_problem, check, execute, history,
                     ids, ledger_size, ledger_types, lot_view, nothing_changes, notifications, ok, open_case,
                     per_lot, queue, register_lots, release, renew, seize, seizure_view, split, transfer,
                     weight_sum)

# Case numbers as the registry writes them (the year bracket full-width): the stories compare them verbatim.
W_NO, B_NO, Y_NO, P_NO = "（2025）苏02执保88号", "（2025）沪0113执1234号", "（2025）沪0110执77号", "沪公经立字（2025）77号"


def test_queue_in_registration_order_release_promotes_and_history_keeps_the_ended(app, session, units, clock):
    b, w, y = units["baoshan"], units["wuxi"], units["yangpu"]
    lots = register_lots(b, ["23.4567", "24.0001", "22.9999", "25.5000"])
    cw, cb, cy = open_case(w, W_NO, "preservation"), open_case(b, B_NO), open_case(y, Y_NO)

    sw = seize(w, cw, lots[:2], "(2025)苏02执保88号之一", term_end="2026-04-30")
    assert [(x["rank"], x["status"], x["term_end"]) for x in sw["lots"]] == [(1, "effective", "2026-04-30")] * 2
    clock.advance(hours=2)
    sb = seize(b, cb, lots[:3], "(2025)沪0113执1234号之一")
    assert {i: (x["rank"], x["status"]) for i, x in per_lot(sb).items()} == {
        lots[0]["id"]: (2, "queued"), lots[1]["id"]: (2, "queued"), lots[2]["id"]: (1, "effective")}
    assert per_lot(sb)[lots[0]["id"]]["term_end"] is None  # a queued term has not started
    clock.advance(hours=1)
    # served a month before the others, but recorded last: rank is registration order, served_at is data
    sy = seize(y, cy, lots[1:3], "(2025)沪0110执77号之一", kind="distrain", served_at="2026-02-01T08:00:00+08:00")
    assert {i: (x["rank"], x["status"]) for i, x in per_lot(sy).items()} == {
        lots[1]["id"]: (3, "queued"), lots[2]["id"]: (2, "queued")}
    assert sy["served_at"].startswith("2026-02-01T00:00:00") and sy["recorded_at"] > sb["recorded_at"]

    view = lot_view(units["auditor"], lots[1])
    assert view["status"] == "seized" and view["flags"] == [] and view["history"] == []
    assert [{k: s[k] for k in ("seizure_id", "case_id", "case_number", "unit", "kind", "document_no", "rank",
                               "status", "term_end")} for s in view["seizures"]] == [
        {"seizure_id": sw["id"], "case_id": cw["id"], "case_number": W_NO, "unit": "JS-WUXI-COURT",
         "kind": "seal", "document_no": "(2025)苏02执保88号之一", "rank": 1, "status": "effective",
         "term_end": "2026-04-30"},
        {"seizure_id": sb["id"], "case_id": cb["id"], "case_number": B_NO, "unit": "SH-BAOSHAN-COURT",
         "kind": "seal", "document_no": "(2025)沪0113执1234号之一", "rank": 2, "status": "queued",
         "term_end": None},
        {"seizure_id": sy["id"], "case_id": cy["id"], "case_number": Y_NO, "unit": "SH-YANGPU-COURT",
         "kind": "distrain", "document_no": "(2025)沪0110执77号之一", "rank": 3, "status": "queued",
         "term_end": None}]
    assert view["disposer"] == {"case_id": cw["id"], "unit": "JS-WUXI-COURT"}
    free = lot_view(b, lots[3])
    assert (free["status"], free["seizures"], free["history"], free["disposer"]) == ("free", [], [], None)

    clock.advance(days=3)
    size = ledger_size(b)
    r = ok(release(w, sw, "(2025)苏02执保88号之二"))
    assert ledger_size(b) == size + 1 and ledger_types(b, size) == ["seizure.released"]
    assert sorted((p["lot_id"], p["seizure_id"], p["case_id"]) for p in r["promoted"]) == [
        (lots[0]["id"], sb["id"], cb["id"]), (lots[1]["id"], sb["id"], cb["id"])]
    released = per_lot(r["seizure"])
    assert {(x["rank"], x["status"]) for x in released.values()} == {(None, "released")}
    instant = released[lots[1]["id"]]["ended_at"]
    assert instant.startswith("2026-03-05T04:00:00")

    view = lot_view(y, lots[1])
    assert queue(y, lots[1]) == [(sb["id"], 1, "effective"), (sy["id"], 2, "queued")]
    head = view["seizures"][0]
    assert head["effective_from"] == instant  # effective from the release instant, no further act
    assert head["term_end"] == "2028-03-04"   # its default two-year term starts then: 5 Mar 2026 .. 4 Mar 2028
    assert view["history"] == [{**view["history"][0], "seizure_id": sw["id"], "case_number": W_NO,
                                "unit": "JS-WUXI-COURT", "rank": None, "status": "released",
                                "term_end": "2026-04-30", "ended_at": instant}]
    assert view["disposer"] == {"case_id": cb["id"], "unit": "SH-BAOSHAN-COURT"}
    # the seizure itself, read later, says the same
    assert {i: (x["rank"], x["status"]) for i, x in per_lot(seizure_view(y, sb)).items()} == {
        lots[0]["id"]: (1, "effective"), lots[1]["id"]: (1, "effective"), lots[2]["id"]: (1, "effective")}

    # releasing one lot of a seizure leaves the others held
    r = ok(release(b, sb, "(2025)沪0113执1234号之二", lot_ids=[lots[2]["id"]]))
    assert [(p["lot_id"], p["seizure_id"]) for p in r["promoted"]] == [(lots[2]["id"], sy["id"])]
    assert queue(b, lots[2]) == [(sy["id"], 1, "effective")]
    assert history(b, lots[2]) == [(sb["id"], None, "released")]
    assert {i: x["status"] for i, x in per_lot(seizure_view(b, sb)).items()} == {
        lots[0]["id"]: "effective", lots[1]["id"]: "effective", lots[2]["id"]: "released"}
    assert_audit_clean(app, session, b)


def test_renewal_before_expiry_keeps_rank_and_moves_term_end(app, session, units, clock):
    b, w = units["baoshan"], units["wuxi"]
    lots = register_lots(b, ["10.0000", "12.5000"])
    cw, cb = open_case(w, W_NO), open_case(b, B_NO)
    sw = seize(w, cw, lots, "W-1", term_end="2026-04-30")
    sb = seize(b, cb, lots, "B-1")
    clock.advance(days=40)
    size = ledger_size(b)
    renewed = ok(renew(w, sw, "2026-10-31", "W-续1"))
    assert ledger_types(b, size) == ["seizure.renewed"]
    assert renewed["id"] == sw["id"]
    assert {(x["rank"], x["status"], x["term_end"]) for x in renewed["lots"]} == {(1, "effective", "2026-10-31")}
    for lot in lots:
        assert queue(b, lot) == [(sw["id"], 1, "effective"), (sb["id"], 2, "queued")]
        assert lot_view(b, lot)["seizures"][0]["term_end"] == "2026-10-31"
    # past the old end nothing expires: the new last day counts
    clock.advance(days=30)
    assert queue(b, lots[0]) == [(sw["id"], 1, "effective"), (sb["id"], 2, "queued")]
    # a renewal extends by at most the statutory maximum (movable: 2 years) and must extend
    assert_problem(renew(w, sw, "2028-11-01", "W-续2"), 422, "term_too_long")
    assert_problem(renew(w, sw, "2026-10-30", "W-续2"), 422, "term_not_extended")
    ok(renew(w, sw, "2028-10-31", "W-续2"))
    assert lot_view(b, lots[1])["seizures"][0]["term_end"] == "2028-10-31"
    assert_audit_clean(app, session, b)


def test_elevate_assist_and_designate_change_who_acts_but_never_a_rank(app, session, units, clock):
    high, b, y, w = units["high"], units["baoshan"], units["yangpu"], units["wuxi"]
    lots = register_lots(b, ["8.0000", "9.0000", "10.0000"])
    cw, cb = open_case(w, W_NO), open_case(b, B_NO)
    sb = seize(b, cb, lots, "B-1")
    sw = seize(w, cw, lots, "W-1")
    ranks = {lot["id"]: queue(b, lot) for lot in lots}

    with nothing_changes(w, lots, [sb], [cb]):  # only a superior court of the acting unit transfers a case
        assert_problem(transfer(w, cb, "elevate", "JS-WUXI-COURT", "x"), 403, "forbidden")
        assert_problem(transfer(b, cb, "designate", "SH-YANGPU-COURT", "x"), 403, "forbidden")
        assert_problem(transfer(y, cb, "elevate", "SH-HIGH-COURT", "x"), 403, "forbidden")
    case = ok(transfer(high, cb, "elevate", "SH-HIGH-COURT", "(2025)沪执监3号"), 201)
    assert (case["acting_unit"], case["owner_unit"], case["number"]) == ("SH-HIGH-COURT", "SH-BAOSHAN-COURT", B_NO)
    assert ok(b.get(f"{API}/cases/{cb['id']}"))["acting_unit"] == "SH-HIGH-COURT"
    assert {lot["id"]: queue(b, lot) for lot in lots} == ranks
    assert lot_view(w, lots[0])["disposer"] == {"case_id": cb["id"], "unit": "SH-HIGH-COURT"}
    assert lot_view(w, lots[0])["seizures"][0]["unit"] == "SH-HIGH-COURT"

    with nothing_changes(w, lots, [sb]):  # the old acting unit has lost the case
        assert_problem(renew(b, sb, "2028-06-30", "B-续"), 403, "forbidden")
        assert_problem(release(b, sb, "B-解"), 403, "forbidden")
    ok(renew(high, sb, "2028-06-30", "沪执监3号续"))
    assert {lot["id"]: queue(b, lot) for lot in lots} == ranks

    case = ok(transfer(high, cb, "assist", "SH-YANGPU-COURT", "(2025)沪执监3号之一"), 201)
    assert case["acting_unit"] == "SH-HIGH-COURT" and case["assisting_units"] == ["SH-YANGPU-COURT"]
    with nothing_changes(w, lots, [sb]):  # assisting: may dispose and split, not release
        assert_problem(release(y, sb, "Y-解"), 403, "forbidden")
    parts = ok(split(y, lots[2], [("ZJ-AL-0003-1", "4.0000"), ("ZJ-AL-0003-2", "6.0000")], "拆分书"), 201)["lots"]
    assert [queue(b, p) for p in parts] == [ranks[lots[2]["id"]]] * 2
    done = ok(execute(y, cb, lots[:1], "(2025)沪执1234号交付书"), 201)
    assert done["total_weight_t"] == "8.0000"
    assert history(b, lots[0]) == [(sb["id"], None, "executed"), (sw["id"], None, "voided")]

    # 指令执行: the superior court makes another court act for a case; ranks stay
    cd = open_case(b, "(2025)沪0113执2000号")
    sd = seize(b, cd, lots[1:2], "D-1")
    before = queue(b, lots[1])
    assert before[-1] == (sd["id"], 3, "queued")
    case = ok(transfer(high, cd, "designate", "SH-YANGPU-COURT", "(2025)沪执监4号"), 201)
    assert case["acting_unit"] == "SH-YANGPU-COURT" and case["transfers"][-1]["mode"] == "designate"
    assert queue(b, lots[1]) == before
    with nothing_changes(w, lots[1:2], [sd]):
        assert_problem(release(b, sd, "D-解"), 403, "forbidden")
    assert ok(release(y, sd, "D-解"))["promoted"] == []  # queued: nothing to promote
    assert history(b, lots[1]) == [(sd["id"], None, "released")]
    assert_audit_clean(app, session, b)


def test_police_takeover_and_conversion_keep_seizures_ranks_and_terms(app, session, units, clock):
    b, w, p = units["baoshan"], units["wuxi"], units["police"]
    lots = register_lots(b, ["5.0000", "6.0000", "7.0000"])
    cw, cp = open_case(w, W_NO, "preservation"), open_case(p, P_NO, "criminal")
    sw = seize(w, cw, lots[:2], "W-1", term_end="2026-12-31")
    sp = seize(p, cp, lots[1:], "沪公经扣字〔2025〕12号", kind="distrain")
    assert lot_view(b, lots[1])["flags"] == ["criminal_civil"]
    views = {lot["id"]: lot_view(b, lot)["seizures"] for lot in lots}

    case = ok(transfer(p, cp, "takeover", "SH-BAOSHAN-COURT", "沪公经移字〔2026〕1号"), 201)
    assert (case["kind"], case["acting_unit"], case["owner_unit"]) == ("criminal", "SH-BAOSHAN-COURT",
                                                                       "SH-POLICE-ECON")
    for lot in lots:
        assert [{**s, "unit": None} for s in lot_view(b, lot)["seizures"]] == \
            [{**s, "unit": None} for s in views[lot["id"]]]
    assert lot_view(b, lots[2])["seizures"][0]["unit"] == "SH-BAOSHAN-COURT"
    with nothing_changes(b, lots, [sp]):
        assert_problem(renew(p, sp, "2027-12-31", "P-续"), 403, "forbidden")
        assert_problem(release(p, sp, "P-解"), 403, "forbidden")
    # the court continues the seizure: it renews where it is effective (lot_ids: queued terms have not started)
    renewed = per_lot(ok(b.post(f"{API}/seizures/{sp['id']}/renew", json={
        "term_end": "2028-06-30", "document_no": "(2026)沪0113刑初1号续", "lot_ids": [lots[2]["id"]]})))
    assert (renewed[lots[2]["id"]]["rank"], renewed[lots[2]["id"]]["status"],
            renewed[lots[2]["id"]]["term_end"]) == (1, "effective", "2028-06-30")
    assert queue(b, lots[1]) == [(sw["id"], 1, "effective"), (sp["id"], 2, "queued")]

    # preservation → execution: a new number, the same seizures, ranks and terms
    new_no = "（2026）苏02执12号"
    before = {lot["id"]: lot_view(b, lot)["seizures"] for lot in lots[:2]}
    case = ok(w.post(f"{API}/cases/{cw['id']}/convert", json={"number": new_no, "document_no": "转执行裁定"}), 201)
    assert (case["id"], case["kind"], case["number"], case["previous_number"]) == (cw["id"], "execution", new_no,
                                                                                   W_NO)
    for lot in lots[:2]:
        after = lot_view(b, lot)["seizures"]
        assert [{**s, "case_number": None} for s in after] == [{**s, "case_number": None} for s in before[lot["id"]]]
        assert after[0]["case_number"] == new_no and after[0]["term_end"] == "2026-12-31"
    assert ok(b.get(f"{API}/cases?number={new_no}"))["items"][0]["id"] == cw["id"]
    ok(execute(w, cw, lots[:1], "(2026)苏02执12号交付书"), 201)  # now an execution case may dispose
    assert history(b, lots[0]) == [(sw["id"], None, "executed")]
    assert_audit_clean(app, session, b)


def test_disposal_right_transfer_lets_another_case_dispose_without_changing_ranks(app, session, units):
    b, w, y = units["baoshan"], units["wuxi"], units["yangpu"]
    lots = register_lots(b, ["31.2500", "1.0000"])
    cw, cb, cy = open_case(w, W_NO), open_case(b, B_NO), open_case(y, Y_NO)
    sw, sb, sy = seize(w, cw, lots, "W-1"), seize(b, cb, lots[:1], "B-1"), seize(y, cy, lots[:1], "Y-1")
    ranks = queue(b, lots[0])
    assert ranks == [(sw["id"], 1, "effective"), (sb["id"], 2, "queued"), (sy["id"], 3, "queued")]

    with nothing_changes(b, lots):  # only the effective holder's acting unit may hand the right over
        r = b.post(f"{API}/lots/{lots[0]['id']}/disposal-transfer", json={"to_case_id": cb["id"], "document_no": "x"})
        assert_problem(r, 403, "forbidden")
    moved = ok(w.post(f"{API}/lots/{lots[0]['id']}/disposal-transfer",
                      json={"to_case_id": cb["id"], "document_no": "(2025)苏02执88号移送处分函"}), 201)
    assert (moved["lot_id"], moved["from_case_id"], moved["to_case_id"]) == (lots[0]["id"], cw["id"], cb["id"])
    view = lot_view(y, lots[0])
    assert view["disposer"] == {"case_id": cb["id"], "unit": "SH-BAOSHAN-COURT"}
    assert queue(y, lots[0]) == ranks
    assert lot_view(y, lots[1])["disposer"] == {"case_id": cw["id"], "unit": "JS-WUXI-COURT"}

    with nothing_changes(b, lots):  # the holder handed its right away on this lot
        problem = assert_problem(execute(w, cw, lots[:1], "W-交付"), 409, "not_effective_holder")
        assert_conflict(problem, lots[0], "not_effective_holder", cb)
    done = ok(execute(b, cb, lots[:1], "B-交付"), 201)
    assert done["total_weight_t"] == "31.2500"
    assert per_lot(done)[lots[0]["id"]]["voided"] == [sy["id"]]
    assert lot_view(b, lots[0])["status"] == "disposed"
    assert sorted(history(b, lots[0])) == sorted([(sw["id"], None, "executed"), (sb["id"], None, "executed"),
                                                  (sy["id"], None, "voided")])
    assert queue(b, lots[1]) == [(sw["id"], 1, "effective")]
    assert_audit_clean(app, session, b)


def test_execution_check_by_lot_ids_and_by_card_numbers_changes_nothing(app, session, units):
    b, w, y = units["baoshan"], units["wuxi"], units["yangpu"]
    lots = register_lots(b, ["22.1234", "23.0000", "24.5000", "25.0001", "21.9999"])
    cw, cb = open_case(w, W_NO), open_case(b, B_NO)
    seize(w, cw, lots[1:2], "W-1")
    seize(b, cb, lots[:4], "B-1")
    objection = ok(y.post(f"{API}/lots/{lots[2]['id']}/objections",
                          json={"document_no": "(2026)沪0110执异7号", "claimant": "上海某物流有限公司"}), 201)
    assert objection["unit"] == "SH-YANGPU-COURT"
    assert lot_view(b, lots[2])["flags"] == ["objection"]

    with nothing_changes(units["auditor"], lots):
        by_id = check(y, cb, lots)
        by_card = check(b, cb, card_nos=[lot["card_no"] for lot in lots] + ["ZJ-AL-9999"])
    assert by_id["clear"] is False and by_id["total_weight_t"] == weight_sum(["22.1234", "25.0001"])
    assert [(x["lot_id"], x["card_no"], x["weight_t"], x["clear"]) for x in by_id["lots"]] == [
        (lot["id"], lot["card_no"], lot["weight_t"], i in (0, 3)) for i, lot in enumerate(lots)]
    assert [x["conflicts"] for x in by_id["lots"]][0] == []
    assert_conflict(by_id["lots"][1], lots[1], "not_effective_holder", cw)
    assert_conflict(by_id["lots"][2], lots[2], "objection_pending", holder_unit="SH-YANGPU-COURT")
    assert [c["code"] for c in by_id["lots"][4]["conflicts"]] == ["not_seized"]
    assert by_card["lots"][:5] == by_id["lots"] and by_card["total_weight_t"] == by_id["total_weight_t"]
    # The answer is built by hand for speed: it must carry exactly the documented fields (the as-typed card
    # number only where it differs, suggestions only for an unknown card number).
    optional = {"card_no_as_typed", "suggestions"}
    assert set(by_card) == set(CheckOut().fields)
    assert all(set(x) == set(CheckLot().fields) - optional for x in by_card["lots"])
    assert all(set(c) == set(ConflictOut().fields) - optional for x in by_card["lots"][:5] for c in x["conflicts"])
    assert set(by_card["lots"][5]["conflicts"][0]) == set(ConflictOut().fields) - {"card_no_as_typed"}
    unknown = by_card["lots"][5]
    assert (unknown["card_no"], unknown["clear"], unknown["conflicts"][0]["code"]) == (
        "ZJ-AL-9999", False, "unknown_card_no")
    only_clear = check(b, cb, [lots[0], lots[3]])
    assert only_clear["clear"] is True and only_clear["total_weight_t"] == "47.1235"
    assert_problem(b.post(f"{API}/executions/check", json={"case_id": cb["id"], "card_nos": ["ZJ-AL-0001"]}),
                   422, "validation_error")
    assert_audit_clean(app, session, b)


def test_delivery_of_several_lots_executes_the_holder_and_voids_the_queue(app, session, units, clock):
    b, w, y = units["baoshan"], units["wuxi"], units["yangpu"]
    weights = ["23.4567", "24.0001", "22.9999", "25.5000", "0.0433"]
    lots = register_lots(b, weights)
    cb, cw, cy = open_case(b, B_NO), open_case(w, W_NO, "preservation"), open_case(y, Y_NO)
    sb = seize(b, cb, lots, "B-1")
    clock.advance(hours=1)
    sw = seize(w, cw, lots[:2], "W-1")
    sy = seize(y, cy, lots[1:3], "Y-1")
    queued = [n for n in notifications(y) if n["type"] == "queued"]
    assert sorted((n["lot_id"], n["seizure_id"], n["behind_case_id"], n["behind_case_number"], n["behind_unit"])
                  for n in queued) == [(lot["id"], sy["id"], cb["id"], B_NO, "SH-BAOSHAN-COURT") for lot in lots[1:3]]
    assert all(n["card_no"] in ("ZJ-AL-0002", "ZJ-AL-0003") for n in queued)

    clock.advance(days=2)
    size = ledger_size(b)
    before = lot_view(b, lots[1])
    clock.advance(seconds=1)
    done = ok(execute(b, cb, lots, "(2025)沪0113执1234号交付书"), 201)
    assert ledger_types(b, size) == ["execution.recorded"]
    assert (done["case_id"], done["kind"]) == (cb["id"], "delivery")
    assert done["total_weight_t"] == weight_sum(weights) == "96.0000"
    assert Decimal(done["total_weight_t"]) == sum(Decimal(x) for x in weights)
    assert [(x["lot_id"], x["weight_t"], sorted(x["voided"])) for x in done["lots"]] == [
        (lots[0]["id"], weights[0], [sw["id"]]), (lots[1]["id"], weights[1], sorted([sw["id"], sy["id"]])),
        (lots[2]["id"], weights[2], [sy["id"]]), (lots[3]["id"], weights[3], []), (lots[4]["id"], weights[4], [])]

    for lot in lots:
        view = lot_view(units["auditor"], lot)
        assert (view["status"], view["seizures"], view["disposer"]) == ("disposed", [], None)
        assert ok(b.get(f"{API}/lots?status=disposed"))["items"][lots.index(lot)]["id"] == lot["id"]
    assert sorted(history(b, lots[1])) == sorted([(sb["id"], None, "executed"), (sw["id"], None, "voided"),
                                                  (sy["id"], None, "voided")])
    assert lot_view(b, lots[1], as_of=before["as_of"]) == before  # the record before the delivery stays readable
    assert {x["status"] for x in seizure_view(b, sb)["lots"]} == {"executed"}
    assert {(x["rank"], x["status"]) for x in seizure_view(b, sw)["lots"]} == {(None, "voided")}
    voided = [n for n in notifications(w) if n["type"] == "voided"]
    assert sorted((n["lot_id"], n["seizure_id"], n["case_number"]) for n in voided) == [
        (lots[0]["id"], sw["id"], W_NO), (lots[1]["id"], sw["id"], W_NO)]
    assert {n["at"] for n in voided} == {seizure_view(b, sw)["lots"][0]["ended_at"]}
    assert sorted(n["lot_id"] for n in notifications(y) if n["type"] == "voided") == ids(lots[1:3])
    assert [n for n in notifications(b) if n["type"] == "voided"] == []
    with nothing_changes(b, lots):  # disposed is final
        assert_problem(execute(b, cb, lots[:1], "again"), 409, "lot_disposed")
    assert_audit_clean(app, session, b)


def test_split_carries_every_live_seizure_to_each_part_with_its_rank(app, session, units, clock):
    b, w = units["baoshan"], units["wuxi"]
    (lot, other) = register_lots(b, ["10.0000", "3.0000"])
    cb, cw = open_case(b, B_NO), open_case(w, W_NO)
    sb = seize(b, cb, [lot, other], "B-1", term_end="2027-01-31")
    clock.advance(days=1)
    sw = seize(w, cw, [lot], "W-1")
    before = lot_view(b, lot)

    with nothing_changes(b, [lot, other]):
        problem = assert_problem(split(b, lot, [("P-1", "6.0000"), ("P-2", "3.9999")], "拆1"), 422,
                                 "weights_do_not_sum")
        assert "parts" in problem["errors"]
        assert_problem(split(b, lot, [("P-1", "6.0000"), ("P-2", "4.0001")], "拆1"), 422, "weights_do_not_sum")
        assert_problem(split(w, lot, [("P-1", "6.0000"), ("P-2", "4.0000")], "拆1"), 403, "forbidden")
        assert_problem(split(b, lot, [("ZJ-AL-0002", "6.0000"), ("P-2", "4.0000")], "拆1"), 409, "card_no_taken")
    clock.advance(hours=1)
    size = ledger_size(b)
    parts = ok(split(b, lot, [("ZJ-AL-0001-A", "6.1234"), ("ZJ-AL-0001-B", "3.8766")], "(2025)沪0113执1234号拆分"),
               201)["lots"]
    assert ledger_types(b, size) == ["lot.split"]
    assert [(p["card_no"], p["weight_t"], p["parent_id"], p["status"], p["custodian"]) for p in parts] == [
        ("ZJ-AL-0001-A", "6.1234", lot["id"], "seized", YARD), ("ZJ-AL-0001-B", "3.8766", lot["id"], "seized", YARD)]
    parent = lot_view(b, lot)
    assert parent["status"] == "split" and parent["children"] == ids(parts)
    assert parent["weight_t"] == "10.0000"
    keep = ("seizure_id", "case_id", "case_number", "unit", "rank", "status", "term_end", "effective_from")
    for part in parts:
        view = lot_view(b, part)
        assert [{k: s[k] for k in keep} for s in view["seizures"]] == \
            [{k: s[k] for k in keep} for s in before["seizures"]]
        assert view["disposer"] == {"case_id": cb["id"], "unit": "SH-BAOSHAN-COURT"}
    assert queue(b, parts[0]) == [(sb["id"], 1, "effective"), (sw["id"], 2, "queued")]
    assert lot_view(b, parts[0])["seizures"][0]["term_end"] == "2027-01-31"
    assert set(per_lot(seizure_view(b, sw))) >= set(ids(parts))
    with nothing_changes(b, [lot, other, *parts]):  # the parent is gone for new acts
        assert_problem(split(b, lot, [("X-1", "5.0000"), ("X-2", "5.0000")], "拆2"), 409, "lot_split")

    r = ok(release(b, sb, "B-解1", lot_ids=[parts[0]["id"]]))
    assert [(x["lot_id"], x["seizure_id"]) for x in r["promoted"]] == [(parts[0]["id"], sw["id"])]
    assert queue(b, parts[0]) == [(sw["id"], 1, "effective")]
    assert queue(b, parts[1]) == [(sb["id"], 1, "effective"), (sw["id"], 2, "queued")]
    done = ok(execute(b, cb, parts[1:], "B-交付"), 201)
    assert done["total_weight_t"] == "3.8766"
    assert_audit_clean(app, session, b)


def test_release_after_a_split_promotes_on_the_parts_only(app, session, units):
    b, w = units["baoshan"], units["wuxi"]
    (lot,) = register_lots(b, ["10.0000"])
    cb, cw = open_case(b, B_NO), open_case(w, W_NO)
    sb, sw = seize(b, cb, [lot], "B-1"), seize(w, cw, [lot], "W-1")
    parts = ok(split(b, lot, [("ZJ-AL-0001-A", "4.0000"), ("ZJ-AL-0001-B", "6.0000")], "拆分"), 201)["lots"]
    r = ok(release(b, sb, "B-解"))
    for p in r["promoted"]:  # every promotion reported is one the lot view shows
        assert queue(b, p["lot_id"])[:1] == [(p["seizure_id"], 1, "effective")], p
    assert sorted(p["lot_id"] for p in r["promoted"]) == ids(parts)
    assert {p["seizure_id"] for p in r["promoted"]} == {sw["id"]}  # Wuxi's, next in the parent's queue
    assert_audit_clean(app, session, units["auditor"])


def test_a_free_lot_can_be_split(app, session, units):
    b = units["baoshan"]
    (lot,) = register_lots(b, ["5.0000"])
    r = split(b, lot, [("ZJ-AL-0001-A", "2.5000"), ("ZJ-AL-0001-B", "2.5000")], "拆分")
    assert r.status_code == 201, r.get_data(as_text=True)
    parts = r.get_json()["lots"]
    assert [(p["status"], p["parent_id"]) for p in parts] == [("free", lot["id"])] * 2
    assert lot_view(b, lot)["status"] == "split"
    assert_audit_clean(app, session, b)


def test_the_disposal_right_carries_to_the_parts_of_a_split(app, session, units):
    b, w = units["baoshan"], units["wuxi"]
    (lot,) = register_lots(b, ["10.0000"])
    cw, cb = open_case(w, W_NO), open_case(b, B_NO)
    seize(w, cw, [lot], "W-1")
    seize(b, cb, [lot], "B-1")
    ok(w.post(f"{API}/lots/{lot['id']}/disposal-transfer", json={"to_case_id": cb["id"], "document_no": "移送"}), 201)
    parts = ok(split(b, lot, [("ZJ-AL-0001-A", "4.0000"), ("ZJ-AL-0001-B", "6.0000")], "拆分"), 201)["lots"]
    for part in parts:
        assert lot_view(b, part)["disposer"] == {"case_id": cb["id"], "unit": "SH-BAOSHAN-COURT"}
    assert ok(execute(b, cb, parts[:1], "交付"), 201)["total_weight_t"] == "4.0000"
    assert_audit_clean(app, session, units["auditor"])
