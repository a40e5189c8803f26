"""Who may touch a lot (SPEC §3, §4.7), through HTTP on both backends: the unit that registered a lot, the
units acting for the cases that hold it, and their superior courts. Every refusal is 403 naming who may, and
changes nothing."""
from __future__ import annotations

from helpers import (API, assert_audit_clean, assert_problem, ledger_types, lot_view, nothing_changes, ok, open_case,
                     register_lots, seize, split)

B_NO, Y_NO, S_NO = "（2026）沪0113执21号", "（2026）沪0110执22号", "（2026）苏05执23号"
PARTS = [("ZJ-AL-0001-A", "4.0000"), ("ZJ-AL-0001-B", "6.0000")]


def objection(unit, lot: dict, document_no: str):
    return unit.post(f"{API}/lots/{lot['id']}/objections", json={"document_no": document_no, "claimant": "案外人某公司"})


def lift(unit, filed: dict, document_no: str):
    return unit.post(f"{API}/objections/{filed['id']}/lift", json={"document_no": document_no})


def test_a_lot_names_the_unit_that_registered_it_and_its_parts_inherit_it(app, session, units):
    b, p = units["baoshan"], units["police"]
    (lot,) = register_lots(b, ["10.0000"])
    (other,) = register_lots(p, ["3.0000"], prefix="PSB-AL")
    assert (lot["registered_by"], other["registered_by"]) == ("SH-BAOSHAN-COURT", "SH-POLICE-ECON")
    assert lot_view(units["auditor"], lot)["registered_by"] == "SH-BAOSHAN-COURT"
    parts = ok(split(units["admin"], lot, PARTS, "拆分书"), 201)["lots"]  # an admin splits it
    assert [part["registered_by"] for part in parts] == ["SH-BAOSHAN-COURT"] * 2
    listed = ok(b.get(f"{API}/lots?limit=10"))["items"]
    assert {x["id"]: x["registered_by"] for x in listed} == {
        lot["id"]: "SH-BAOSHAN-COURT", other["id"]: "SH-POLICE-ECON",
        parts[0]["id"]: "SH-BAOSHAN-COURT", parts[1]["id"]: "SH-BAOSHAN-COURT"}
    assert_audit_clean(app, session, b)


def test_a_free_lot_is_split_by_the_unit_that_registered_it_or_an_admin(app, session, units):
    b = units["baoshan"]
    mine, theirs = register_lots(b, ["10.0000", "10.0000"])
    with nothing_changes(units["auditor"], [mine, theirs]):
        for who in ("yangpu", "high", "police"):
            problem = assert_problem(split(units[who], mine, PARTS, "拆"), 403, "forbidden")
            assert "SH-BAOSHAN-COURT" in problem["detail"] and "admin" in problem["detail"], problem
        assert_problem(split(units["auditor"], mine, PARTS, "拆"), 403, "forbidden")
    ok(split(b, mine, PARTS, "拆分书1"), 201)
    ok(split(units["admin"], theirs, [("ZJ-AL-0002-A", "5.0000"), ("ZJ-AL-0002-B", "5.0000")], "拆分书2"), 201)
    assert_audit_clean(app, session, b)


def test_a_seized_lot_is_split_by_the_holders_units_not_by_the_registering_unit(app, session, units):
    b, y = units["baoshan"], units["yangpu"]
    (lot,) = register_lots(b, ["10.0000"])
    cy = open_case(y, Y_NO)
    seize(y, cy, [lot], "Y-1")
    with nothing_changes(units["auditor"], [lot]):
        for who in ("baoshan", "admin", "high"):
            problem = assert_problem(split(units[who], lot, PARTS, "拆"), 403, "forbidden")
            assert "SH-YANGPU-COURT (acting)" in problem["detail"] and cy["number"] in problem["detail"], problem
    parts = ok(split(y, lot, PARTS, "(2026)沪0110执22号之二"), 201)["lots"]
    assert [part["registered_by"] for part in parts] == ["SH-BAOSHAN-COURT"] * 2  # still the registering unit's
    assert_audit_clean(app, session, b)


def test_an_objection_is_filed_by_a_court_with_a_live_seizure_on_the_lot_or_the_holders_superior(
        app, session, units, make_unit):
    b, y, high = units["baoshan"], units["yangpu"], units["high"]
    js_high = make_unit("JS-HIGH-COURT", "court", name="江苏省高级人民法院")
    suzhou = make_unit("JS-SUZHOU-COURT", "court", "JS-HIGH-COURT", "苏州市中级人民法院")
    free, held = register_lots(b, ["1.0000", "2.0000"])
    cb, cs = open_case(b, B_NO), open_case(suzhou, S_NO)
    seize(b, cb, [held], "B-1")
    seize(suzhou, cs, [held], "S-1")  # queued behind Baoshan
    before = ledger_types(b, 0)
    with nothing_changes(units["auditor"], [free, held]):
        for who in (b, high, units["wuxi"]):  # no case holds the free lot: nobody
            problem = assert_problem(objection(who, free, "异"), 403, "forbidden")
            assert "no case holds a live seizure" in problem["detail"]
        for who in (units["wuxi"], y, js_high):  # no part in it; a sister court; a queued case's superior only
            problem = assert_problem(objection(who, held, "异"), 403, "forbidden")
            for named in ("SH-BAOSHAN-COURT", "JS-SUZHOU-COURT", "SH-HIGH-COURT"):
                assert named in problem["detail"], problem
        assert_problem(objection(units["police"], held, "异"), 403, "forbidden")  # objections go to courts
    filed = [ok(objection(who, held, f"异{n}"), 201) for n, who in enumerate((b, suzhou, high))]
    assert [f["unit"] for f in filed] == ["SH-BAOSHAN-COURT", "JS-SUZHOU-COURT", "SH-HIGH-COURT"]
    assert lot_view(b, held)["objections"] == [f["id"] for f in filed]
    assert len(ledger_types(b, 0)) == len(before) + 3
    assert_audit_clean(app, session, b)


def test_an_objection_is_lifted_by_the_court_that_filed_it_or_that_courts_superior(app, session, units, make_unit):
    b, y, high = units["baoshan"], units["yangpu"], units["high"]
    (held,) = register_lots(b, ["5.0000"])
    cb = open_case(b, B_NO)
    seize(b, cb, [held], "B-1")
    by_baoshan, by_high = ok(objection(b, held, "异1"), 201), ok(objection(high, held, "异2"), 201)
    with nothing_changes(units["auditor"], [held]):
        for who in (y, units["wuxi"]):
            problem = assert_problem(lift(who, by_baoshan, "撤"), 403, "forbidden")
            assert "SH-BAOSHAN-COURT" in problem["detail"] and "SH-HIGH-COURT" in problem["detail"], problem
        problem = assert_problem(lift(b, by_high, "撤"), 403, "forbidden")  # not the superior's, from below
        assert problem["detail"] == "only SH-HIGH-COURT, which filed it, may lift this objection"
    assert ok(lift(high, by_baoshan, "(2026)沪执异撤1号"))["lifted_at"] is not None  # the superior court
    assert lot_view(b, held)["objections"] == [by_high["id"]]
    ok(lift(high, by_high, "(2026)沪执异撤2号"))
    assert lot_view(b, held)["flags"] == []
    assert_audit_clean(app, session, b)
