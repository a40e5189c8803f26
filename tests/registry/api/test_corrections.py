"""Corrections of a lot (POST /lots/{id}/corrections, SPEC §3, §5) through HTTP on both backends: by the unit
that registered the lot or an admin, in canonical form, with the values before and after in the ledger and in
the lot's view, and every refusal leaving the registry as it was."""
from __future__ import annotations

import json
from contextlib import contextmanager

from sqlalchemy import select

from helpers import (API, YARD, assert_audit_clean, assert_problem, checkpoint, execute, ledger_size, ledger_types,
                     lot_body, lot_view, ok, open_case, register_lots, seize, split)
from ledger.chain import Entry
from ledger.replay import Replay, differences, empty_state
from registry.models import CardKey
from registry.services.cards import deletion_keys

B_NO, Y_NO = "（2026）沪0113执31号", "（2026）沪0110执32号"
DOC = {"document_no": "（2026）沪0113执31号之更正", "reason": "登记时卡号录入错误"}


def correct(unit, lot: dict | int, **values):
    lot_id = lot if isinstance(lot, int) else lot["id"]
    return unit.post(f"{API}/lots/{lot_id}/corrections", json={**DOC, **values})


def entry(reader, seq: int) -> dict:
    lines = reader.get(f"{API}/ledger/entries?start={seq}&end={seq + 1}").get_data(as_text=True).splitlines()
    return json.loads(lines[0])


@contextmanager
def no_trace(reader):
    """Neither the signed tree nor any recorded fact (GET /ledger/state) changes within the block."""
    def recorded():
        r = reader.get(f"{API}/ledger/state")
        assert r.status_code == 200
        return checkpoint(reader), r.get_data()
    before = recorded()
    yield
    assert recorded() == before


def replayed_and_shown(reader) -> tuple[dict, dict]:
    """What an auditor gets: the replay of every entry, and the registry's own export (GET /ledger/state)."""
    replayed = Replay()
    for line in reader.get(f"{API}/ledger/entries?start=0&end={ledger_size(reader)}").get_data().splitlines():
        replayed.apply(Entry.from_bytes(line))
    head, *lines = reader.get(f"{API}/ledger/state").get_data().decode().splitlines()
    shown = empty_state()
    for table, key, record in map(json.loads, lines):
        shown[table][key] = record
    return replayed.state, shown


def card_keys(session, lot_id: int) -> set[str]:
    session.rollback()
    found = set(session.scalars(select(CardKey.key).where(CardKey.lot_id == lot_id)))
    session.rollback()
    return found


def test_a_correction_end_to_end_with_its_history_and_a_clean_audit(app, session, units, clock):
    b, auditor = units["baoshan"], units["auditor"]
    lot, other = register_lots(b, ["10.0000", "2.0000"])
    registered_at = lot_view(auditor, lot)["as_of"]
    clock.advance(hours=1)
    size = ledger_size(b)
    done = ok(correct(b, lot, card_no="ｚｊ－ｃｕ－７７７７", weight_t="10.5000", commodity="1#电解铜",
                      location="B区-7", owner="上海某金属贸易有限公司\u3000"), 201)
    new = {"card_no": "ZJ-CU-7777", "weight_t": "10.5000", "commodity": "1#电解铜", "location": "B区-7"}
    old = {"card_no": "ZJ-AL-0001", "weight_t": "10.0000", "commodity": "A00铝锭", "location": "A区-ZJ-AL-0001"}
    assert (done["old"], done["new"]) == (old, new)  # the owner, canonical, is the one it had: not a change
    assert (done["lot_id"], done["unit"], done["document_no"], done["reason"]) == (
        lot["id"], "SH-BAOSHAN-COURT", DOC["document_no"], DOC["reason"])
    assert {k: done["lot"][k] for k in new} == new and done["lot"]["registered_by"] == "SH-BAOSHAN-COURT"

    assert ledger_types(b, size) == ["lot.corrected"]
    recorded = entry(b, size)
    assert recorded["actor"] == "SH-BAOSHAN-COURT"
    assert recorded["data"] == {"id": done["id"], "lot_id": lot["id"], **DOC, "old": old, "new": new}

    shown = lot_view(auditor, lot)
    assert {k: shown[k] for k in new} == new
    assert shown["corrections"] == [{k: v for k, v in done.items() if k != "lot"}]
    then = lot_view(auditor, lot, registered_at)  # as of before the correction: the values it had
    assert {k: then[k] for k in old} == old and then["corrections"] == []

    assert [x["id"] for x in ok(b.get(f"{API}/lots?card_no=zj-cu-7777"))["items"]] == [lot["id"]]
    assert ok(b.get(f"{API}/lots?card_no=ZJ-AL-0001"))["items"] == []
    # the near-miss keys follow the new card number: one typo from it finds the lot, from the old one not
    assert card_keys(session, lot["id"]) == set(deletion_keys("ZJ-CU-7777"))
    assert [x["id"] for x in ok(b.get(f"{API}/lots?q=ZJ-CU-7778"))["items"]] == [lot["id"]]
    assert [x["id"] for x in ok(b.get(f"{API}/lots?q=ZJ-AL-0001"))["items"]] == [other["id"]]
    similar = ok(b.post(f"{API}/lots", json={"lots": [lot_body("ZJ-CU-7778", "1.0000")]}), 201)["lots"][0]
    assert similar["similar"] == [{"lot_id": lot["id"], "card_no": "ZJ-CU-7777"}]

    clock.advance(hours=1)
    between = lot_view(auditor, lot)["as_of"]
    clock.advance(hours=1)
    again = ok(correct(units["admin"], lot, weight_t="10.4999", owner=""), 201)  # an admin; the owner not known
    assert (again["old"], again["new"]) == ({"weight_t": "10.5000", "owner": "上海某金属贸易有限公司"},
                                            {"weight_t": "10.4999", "owner": ""})
    assert [c["id"] for c in lot_view(auditor, lot)["corrections"]] == [done["id"], again["id"]]
    assert (lot_view(auditor, lot, between)["weight_t"], lot_view(auditor, lot, between)["owner"]) == (
        "10.5000", "上海某金属贸易有限公司")
    assert lot_view(b, lot)["weight_t"] == "10.4999"
    replayed, shown = replayed_and_shown(auditor)
    assert list(differences(replayed, shown)) == []
    assert shown["lot_corrections"][str(again["id"])] == {
        "lot_id": lot["id"], "unit": "OPERATOR", **DOC, "old": again["old"], "new": again["new"],
        "at": shown["lot_corrections"][str(again["id"])]["at"]}
    assert shown["lots"][str(lot["id"])]["weight_t"] == "10.4999"
    assert_audit_clean(app, session, b)


def test_a_card_number_another_lot_has_is_refused_naming_it(app, session, units):
    b = units["baoshan"]
    lot, other = register_lots(b, ["10.0000", "2.0000"])
    (elsewhere,) = register_lots(b, ["1.0000"], prefix="ZJ-AL", custodian="上海铁路北站货场")
    with no_trace(units["auditor"]):
        problem = assert_problem(correct(b, lot, card_no=" zj‐al‐0002 ", location="C区"), 409, "card_no_taken")
        [conflict] = problem["conflicts"]
        assert (conflict["lot_id"], conflict["card_no"], conflict["code"]) == (other["id"], "ZJ-AL-0002",
                                                                               "card_no_taken")
        problem = assert_problem(correct(b, lot, card_no="ZJ-AL-0001"), 409, "lot_unchanged")  # its own number
        assert_problem(correct(b, lot, card_no="ｚｊ-al-0001", weight_t="10.0000"), 409, "lot_unchanged")
    # the same card number at another custodian is another lot's business
    assert elsewhere["card_no"] == "ZJ-AL-0001"
    ok(correct(b, elsewhere, card_no="ZJ-AL-0002"), 201)
    assert_audit_clean(app, session, b)


def test_only_the_registering_unit_or_an_admin_corrects_and_a_weight_another_units_case_holds_needs_an_admin(
        app, session, units):
    b, y = units["baoshan"], units["yangpu"]
    held, own, free = register_lots(b, ["10.0000", "5.0000", "2.0000"])
    cy, cb = open_case(y, Y_NO), open_case(b, B_NO)
    seize(y, cy, [held], "Y-1")
    seize(b, cb, [own], "B-1")
    with no_trace(units["auditor"]):
        for who in ("yangpu", "high", "police", "auditor"):
            problem = assert_problem(correct(units[who], free, location="D区"), 403, "forbidden")
            if who != "auditor":  # the auditor is refused for its kind, before the lot is read
                assert "SH-BAOSHAN-COURT" in problem["detail"] and "admin" in problem["detail"], problem
        problem = assert_problem(correct(b, held, weight_t="9.9000", location="D区"), 403, "forbidden")
        assert cy["number"] in problem["detail"] and "admin" in problem["detail"], problem
    ok(correct(b, held, location="D区-1"), 201)  # what no case decides on is the registering unit's
    ok(correct(b, own, weight_t="5.1000"), 201)  # seized only for a case it acts for itself
    done = ok(correct(units["admin"], held, weight_t="9.9000"), 201)
    assert done["unit"] == "OPERATOR" and done["new"] == {"weight_t": "9.9000"}
    assert lot_view(b, held)["seizures"][0]["case_id"] == cy["id"]  # the queue is untouched
    assert_audit_clean(app, session, b)


def test_a_disposed_or_split_lot_is_not_corrected(app, session, units):
    b = units["baoshan"]
    gone, cut = register_lots(b, ["10.0000", "4.0000"])
    cb = open_case(b, B_NO)
    seize(b, cb, [gone], "B-1")
    ok(execute(b, cb, [gone], "B-交付"), 201)
    ok(split(b, cut, [("ZJ-AL-0002-A", "1.0000"), ("ZJ-AL-0002-B", "3.0000")], "拆"), 201)
    with no_trace(units["auditor"]):
        assert_problem(correct(b, gone, weight_t="9.0000"), 409, "lot_disposed")
        assert_problem(correct(units["admin"], cut, card_no="ZJ-AL-0009"), 409, "lot_split")
        assert_problem(correct(b, 999999, location="X"), 404, "not_found")
    assert_audit_clean(app, session, b)


BAD = [
    ({"location": "X"}, "document_no", {"document_no": ""}),
    ({"location": "X"}, "reason", {"reason": None}),
    ({}, "_schema", {}),                                           # nothing to correct
    ({"weight_t": 10.5}, "weight_t", {}),                          # a JSON number
    ({"weight_t": "10.00001"}, "weight_t", {}),                    # a fifth decimal
    ({"weight_t": "0"}, "weight_t", {}),
    ({"weight_t": "-1.0000"}, "weight_t", {}),
    ({"card_no": "ZJ-AL\u200b-0009"}, "card_no", {}),              # a zero-width space
    ({"card_no": "\u0410L-2025-0001"}, "card_no", {}),             # a Cyrillic А among Latin letters
    ({"card_no": "   "}, "card_no", {}),
    ({"card_no": "A" * 101}, "card_no", {}),
    ({"commodity": ""}, "commodity", {}),
    ({"location": "A\x00"}, "location", {}),
    ({"custodian": "上海铁路北站货场"}, "custodian", {}),          # not a particular a correction changes
    ({"property_class": "deposit"}, "property_class", {}),
]


def test_bad_input_is_422_naming_the_field_and_changes_nothing(app, session, units):
    b = units["baoshan"]
    (lot,) = register_lots(b, ["10.0000"])
    with no_trace(units["auditor"]):
        for values, field, doc in BAD:
            body = {**DOC, **doc, **values}
            body = {k: v for k, v in body.items() if v is not None}
            problem = assert_problem(b.post(f"{API}/lots/{lot['id']}/corrections", json=body), 422,
                                     "validation_error", values)
            assert field in problem["errors"], (values, problem)


def test_a_retried_correction_is_answered_once_and_recorded_once(app, session, units):
    b = units["baoshan"]
    (lot,) = register_lots(b, ["10.0000"])
    key = {"Idempotency-Key": "correction-1"}
    size = ledger_size(b)
    first = ok(b.post(f"{API}/lots/{lot['id']}/corrections", json={**DOC, "location": "E区"}, headers=key), 201)
    assert ok(b.post(f"{API}/lots/{lot['id']}/corrections", json={**DOC, "location": "E区"}, headers=key),
              201) == first
    assert ledger_size(b) == size + 1
    assert_problem(b.post(f"{API}/lots/{lot['id']}/corrections", json={**DOC, "location": "F区"}, headers=key),
                   422, "idempotency_key_reused")
    assert lot_view(b, lot)["location"] == "E区" and YARD == lot_view(b, lot)["custodian"]
    assert_audit_clean(app, session, b)
