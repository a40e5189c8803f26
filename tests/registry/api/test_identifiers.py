"""Identifiers as people type them, end to end on SQLite and PostgreSQL (SPEC §3, §5; issue 18 points 1–4):
every variant of a card number, custodian, owner and case number finds or collides with the one record; a
near miss is registered and pointed out; the check and delivery take card numbers as typed; and every
conflict names the holder's unit by name and the holder's term."""
from __future__ import annotations

from helpers import (API, assert_audit_clean, assert_problem, conflicts_of, lot_view, nothing_changes, ok,
                     open_case, seize)

YARD = "上海铁路某货场"
CARD_VARIANTS = ("ＡＬ-2025-0001", "al-2025-0001", "AL-2025-0001 ", "AL‐2025‐0001", "ＡＬ－２０２５－０００１")
YARD_VARIANTS = (YARD, YARD + " ", " " + YARD, YARD + "\u3000", "上海铁路某货场\t")


def lot(card_no: str, custodian: str = YARD, weight: str = "10.0000", **extra) -> dict:
    return {"card_no": card_no, "custodian": custodian, "commodity": "A00铝锭", "weight_t": weight, **extra}


def registered(unit, *lots: dict) -> list[dict]:
    return ok(unit.post(f"{API}/lots", json={"lots": list(lots)}), 201)["lots"]


def found(reader, **query) -> list[int]:
    return [x["id"] for x in ok(reader.get(f"{API}/lots", query_string=query))["items"]]


def test_every_variant_of_a_card_custodian_and_owner_finds_or_collides_with_the_one_lot(app, session, units):
    court, police, reader = units["baoshan"], units["police"], units["auditor"]
    (first,) = registered(court, lot(CARD_VARIANTS[0], YARD + " ", owner=" 某金属贸易有限公司\u3000 "))
    assert (first["card_no"], first["custodian"], first["owner"]) == ("AL-2025-0001", YARD, "某金属贸易有限公司")
    with nothing_changes(reader, [first]):
        for card in CARD_VARIANTS:
            for custodian in YARD_VARIANTS:
                assert found(reader, card_no=card, custodian=custodian) == [first["id"]], (card, custodian)
                problem = assert_problem(police.post(f"{API}/lots", json={"lots": [lot(card, custodian)]}), 409,
                                         "card_no_taken", (card, custodian))
                assert [(c["lot_id"], c["card_no"]) for c in conflicts_of(problem)] == [
                    (first["id"], "AL-2025-0001")], problem
        for owner in ("某金属贸易有限公司", " 某金属贸易有限公司", "某金属贸易有限公司\u3000"):
            assert found(reader, owner=owner) == [first["id"]], owner
        # two variants of one card in one request are one card twice
        problem = assert_problem(court.post(f"{API}/lots", json={"lots": [lot("bx-1"), lot("ＢＸ-1")]}), 409,
                                 "card_no_taken")
        assert [c["card_no"] for c in problem["conflicts"]] == ["BX-1"]
        # a typo search (q) takes the card as typed too
        assert found(reader, q="ａｌ-2025-0002") == [first["id"]]
    # the same card at another custodian is another lot
    (other,) = registered(police, lot("al-2025-0001", "无锡物流仓库"))
    assert found(reader, card_no="AL-2025-0001") == [first["id"], other["id"]]
    assert_audit_clean(app, session, reader)


REFUSED = [
    ("AL-2025\u200b-0001", "card_no", "U+200B"),       # zero-width space
    ("\u202eAL-2025-0001", "card_no", "U+202E"),       # right-to-left override
    ("АL-2025-0001", "card_no", "scripts"),            # Cyrillic А among Latin letters
    ("   ", "card_no", "empty"),
    ("\u3000", "card_no", "empty"),
]


def test_identifiers_that_cannot_be_one_are_422_naming_the_field_on_every_path(units):
    court, reader = units["baoshan"], units["auditor"]
    case = open_case(court, "(2026)沪0113执1号")
    with nothing_changes(reader):
        for typed, field, why in REFUSED:
            problem = assert_problem(court.post(f"{API}/lots", json={"lots": [lot(typed)]}), 422, "validation_error")
            assert any(why in m for m in problem["errors"][f"lots.0.{field}"]), (typed, problem)
            problem = assert_problem(reader.get(f"{API}/lots", query_string={"card_no": typed}), 422,
                                     "validation_error", typed)
            assert "card_no" in problem["errors"], problem
            problem = assert_problem(court.post(f"{API}/executions/check", json={
                "case_id": case["id"], "card_nos": ["AL-1", typed], "custodian": YARD}), 422, "validation_error")
            assert "card_nos.1" in problem["errors"], problem
        for body, field in (({"lots": [lot("A-1", "上海\u200d货场")]}, "lots.0.custodian"),
                            ({"lots": [lot("A-1", " ")]}, "lots.0.custodian"),
                            ({"lots": [lot("A-1", owner="某\u2066公司")]}, "lots.0.owner")):
            assert field in assert_problem(court.post(f"{API}/lots", json=body), 422)["errors"], body
        for number in ("(2026)沪0113执\u200b2号", "  "):
            problem = assert_problem(court.post(f"{API}/cases", json={"number": number, "kind": "execution"}), 422)
            assert "number" in problem["errors"], number
            assert "number" in assert_problem(reader.get(f"{API}/cases", query_string={"number": number}),
                                              422)["errors"]
    # an owner may be unknown: blank is the empty owner, not a refusal
    (blank,) = registered(court, lot("A-2", owner="  "))
    assert blank["owner"] == ""


def test_every_variant_of_a_case_number_finds_or_collides_with_the_one_case(app, session, units):
    court, other, reader = units["baoshan"], units["yangpu"], units["auditor"]
    case = open_case(court, "(2025)沪0113执1号")
    assert case["number"] == "（2025）沪0113执1号"
    preservation = open_case(other, "(2025)沪0110财保1号", "preservation")
    with nothing_changes(reader, cases=[case, preservation]):
        for typed in ("(2025)沪0113执1号", "（2025）沪0113执1号", "(２０２５)沪0113执1号", "〔2025〕沪0113执1号",
                      "[2025] 沪0113执1号", "【2025】沪0113执1号 "):
            items = ok(reader.get(f"{API}/cases", query_string={"number": typed}))["items"]
            assert [c["id"] for c in items] == [case["id"]], typed
            problem = assert_problem(other.post(f"{API}/cases", json={"number": typed, "kind": "execution"}), 409,
                                     "case_number_taken", typed)
            (c,) = conflicts_of(problem)
            assert (c["holder_case_id"], c["holder_case_number"], c["holder_unit"], c["holder_unit_name"]) == (
                case["id"], case["number"], "SH-BAOSHAN-COURT", "上海市宝山区人民法院"), c
            problem = assert_problem(other.post(f"{API}/cases/{preservation['id']}/convert", json={
                "number": typed, "document_no": "转执行裁定"}), 409, "case_number_taken", typed)
            assert conflicts_of(problem)[0]["holder_case_id"] == case["id"]
    assert_audit_clean(app, session, reader)


def test_a_card_one_edit_from_another_at_the_custodian_is_registered_with_the_similar_lots(units):
    court, police = units["baoshan"], units["police"]
    first, second = registered(court, lot("AL-2025-0001"), lot("ZN-7000"))
    assert first["similar"] == second["similar"] == []
    near = registered(police, lot("al-2025-0011"), lot("AL-2025-001"), lot("AL-2025-0001-A"), lot("AL-2025-9999"),
                      lot("AL-2025-0001", "无锡物流仓库"))
    assert [x["similar"] for x in near] == [
        [{"lot_id": first["id"], "card_no": "AL-2025-0001"}],         # one substitution
        [{"lot_id": first["id"], "card_no": "AL-2025-0001"}],         # one deletion
        [],                                                            # two insertions away
        [],
        [],                                                            # another custodian
    ]
    # a lot registered in the same request is not pointed out (it is no existing lot), the ones before are
    again = registered(court, lot("ZN-7001"), lot("ZN-7002"))
    assert again[0]["similar"] == again[1]["similar"] == [{"lot_id": second["id"], "card_no": "ZN-7000"}]
    assert "similar" not in lot_view(court, first)


def test_check_and_delivery_by_card_numbers_as_typed_name_holders_by_name_and_term(app, session, units):
    b, w, reader = units["baoshan"], units["wuxi"], units["auditor"]
    lots = registered(b, lot("AL-2025-0001"), lot("AL-2025-0002"), lot("AL-2025-0003", weight="2.5000"),
                      lot("AL-2025-0009"))
    cb, cw = open_case(b, "(2026)沪0113执9号"), open_case(w, "(2026)苏02执9号")
    sb = seize(b, cb, lots[:2], "B-1", term_end="2027-03-01")
    seize(w, cw, lots[1:2], "W-1")
    typed = ["ａｌ－２０２５－０００１", "AL-2025-0002", " al-2025-0003", "AL‐2025‐0004", "AL-2025-0003X"]
    with nothing_changes(reader, lots, [sb], [cb, cw]):
        answer = ok(w.post(f"{API}/executions/check", json={"case_id": cw["id"], "card_nos": typed,
                                                            "custodian": YARD + " "}))
    got = answer["lots"]
    assert [(x["lot_id"], x["card_no"], x.get("card_no_as_typed")) for x in got] == [
        (lots[0]["id"], "AL-2025-0001", typed[0]), (lots[1]["id"], "AL-2025-0002", None),
        (lots[2]["id"], "AL-2025-0003", typed[2]), (None, "AL-2025-0004", typed[3]),
        (None, "AL-2025-0003X", None)]
    assert [x["clear"] for x in got] == [False] * 5 and answer["total_weight_t"] == "0.0000"
    # no seizure of its own on the first lot; queued behind Baoshan on the second; the third is free
    holder = {"holder_case_id": cb["id"], "holder_case_number": cb["number"], "holder_unit": "SH-BAOSHAN-COURT",
              "holder_unit_name": "上海市宝山区人民法院", "term_end": "2027-03-01"}
    (first,), (second,), (third,) = (x["conflicts"] for x in got[:3])
    assert first == {**first, "code": "not_seized_by_case", **holder}, first
    assert second == {**second, "code": "not_effective_holder", **holder}, second
    assert third["code"] == "not_seized" and third["holder_unit_name"] is None
    (unknown,) = got[3]["conflicts"]
    assert (unknown["code"], unknown["card_no"], unknown["card_no_as_typed"]) == (
        "unknown_card_no", "AL-2025-0004", typed[3])
    assert unknown["suggestions"] == [{"lot_id": x["id"], "card_no": x["card_no"]} for x in lots]  # one edit each
    assert got[4]["conflicts"][0]["suggestions"] == [{"lot_id": lots[2]["id"], "card_no": "AL-2025-0003"}]

    # a delivery naming one unknown card number is refused whole, naming it, with every other blocking lot
    body = {"case_id": cb["id"], "kind": "delivery", "document_no": "交付-1", "recipient": "申请执行人",
            "custodian": YARD, "card_nos": ["al-2025-0001", "AL-2025-0003", "AL-2025-00O2"]}
    with nothing_changes(reader, lots, [sb], [cb, cw]):
        problem = assert_problem(b.post(f"{API}/executions", json=body), 409, "unknown_card_no")
    conflicts = conflicts_of(problem)
    assert [(c["code"], c["card_no"], c.get("card_no_as_typed")) for c in conflicts] == [
        ("unknown_card_no", "AL-2025-00O2", None), ("not_seized", "AL-2025-0003", None)]
    assert conflicts[0]["suggestions"] == [{"lot_id": lots[1]["id"], "card_no": "AL-2025-0002"}]
    # a delivery by lot id that another case holds names its holder by name and term
    problem = assert_problem(w.post(f"{API}/executions", json={
        "case_id": cw["id"], "kind": "delivery", "document_no": "交付-W", "recipient": "申请执行人",
        "lot_ids": [lots[1]["id"]]}), 409, "not_effective_holder")
    assert conflicts_of(problem)[0] == {**conflicts_of(problem)[0], **holder}

    body["card_nos"] = ["ａｌ－２０２５－０００１", "AL-2025-0002"]
    done = ok(b.post(f"{API}/executions", json=body), 201)
    assert [(x["lot_id"], x["card_no"], x.get("card_no_as_typed")) for x in done["lots"]] == [
        (lots[0]["id"], "AL-2025-0001", "ａｌ－２０２５－０００１"), (lots[1]["id"], "AL-2025-0002", None)]
    assert done["total_weight_t"] == "20.0000"
    assert lot_view(reader, lots[1])["status"] == "disposed"
    assert_audit_clean(app, session, reader)


def test_lots_are_named_by_ids_or_by_distinct_card_numbers_at_a_custodian(units):
    b = units["baoshan"]
    case = open_case(b, "(2026)沪0113执10号")
    base = {"case_id": case["id"], "kind": "delivery", "document_no": "交付", "recipient": "申请执行人"}
    for path, extra in (("/executions/check", {"case_id": case["id"]}), ("/executions", base)):
        for body, field in (({"card_nos": ["AL-1", "ａｌ-1"], "custodian": YARD}, "card_nos"),
                            ({"card_nos": ["AL-1"]}, "custodian"),
                            ({"card_nos": ["AL-1"], "custodian": YARD, "lot_ids": [1]}, "lot_ids"),
                            ({}, "lot_ids")):
            problem = assert_problem(b.post(f"{API}{path}", json={**extra, **body}), 422, "validation_error", body)
            assert field in problem["errors"], (path, body, problem)
