"""Terms as the law counts them (SPEC §4.3), end to end through HTTP on both databases.

An effective seizure's term counts from the Beijing date it was served, that day not counted; a queued one's
from the day it becomes effective. The term policy row (kind of case × kind of seizure × class of property)
sets the maximum, the renewal and whether there is a term at all: a criminal case's seal or distraint of goods
has none unless its document sets one. A seizure recorded before the table keeps the term it had.
"""
from __future__ import annotations

from datetime import datetime, timezone

from registry.models import Hold, Seizure
from registry.rules import HoldFacts
from registry.services import standing
from registry.services.facts import lot_facts
from registry.services.ledger_log import ledger_time
from registry.services.tx import run_write

from helpers import (API, assert_audit_clean, assert_problem, beijing_midnight_after, check, history, iso,
                     lot_view, nothing_changes, ok, open_case, per_lot, queue, register_lots, release, renew,
                     seize, seizure_view, split, try_seize)

P_NO, B_NO, Y_NO = "沪公经立字（2026）5号", "（2026）沪0113执5号", "（2026）沪0110执5号"
APPROVAL = "沪公经冻批（2026）2号"


def _entry(view: dict, seizure: dict) -> dict:
    return next(s for s in view["seizures"] + view["history"] if s["seizure_id"] == seizure["id"])


def test_an_effective_term_counts_from_the_day_of_service_and_a_queued_one_from_its_promotion(app, session,
                                                                                             units, clock):
    b, y = units["baoshan"], units["yangpu"]
    lot, deposit = register_lots(b, ["3.0000"]), register_lots(b, ["1.0000"], prefix="DP", property_class="deposit")
    cb, cy = open_case(b, B_NO), open_case(y, Y_NO)
    # served on 20 January (Beijing), recorded on 2 March: two years from 21 January
    sb = seize(b, cb, lot + deposit, "B-1", served_at="2026-01-20T02:00:00Z")
    assert {x["lot_id"]: x["term_end"] for x in sb["lots"]} == {lot[0]["id"]: "2028-01-20",
                                                                deposit[0]["id"]: "2027-01-20"}
    entry = _entry(lot_view(y, lot[0]), sb)
    assert (entry["term_end"], entry["no_fixed_term"], entry["term_rule"], entry["term_days"]) == (
        "2028-01-20", False, "civil.movable", None)
    assert _entry(lot_view(y, deposit[0]), sb)["term_rule"] == "civil.deposit"
    sy = seize(y, cy, lot, "Y-1", served_at="2026-01-20T02:00:00Z")
    entry = _entry(lot_view(y, lot[0]), sy)
    assert (entry["status"], entry["term_end"], entry["no_fixed_term"], entry["term_rule"]) == (
        "queued", None, False, "civil.movable")
    # promoted at 24:00 on 20 January 2028: from 21 January, that day counted, two years end 20 January 2030
    clock.now = beijing_midnight_after("2028-01-20")
    entry = _entry(lot_view(y, lot[0]), sy)
    assert (entry["status"], entry["effective_from"][:19], entry["term_end"]) == (
        "effective", "2028-01-20T16:00:00", "2030-01-20")
    assert_audit_clean(app, session, y)


def test_criminal_freezes_run_six_months_or_a_year_on_a_named_approval_document(app, session, units, clock):
    p = units["police"]
    funds = register_lots(units["baoshan"], ["1.0000", "2.0000"], prefix="CF", property_class="deposit")
    cp = open_case(p, P_NO, "criminal")
    ordinary = seize(p, cp, funds[:1], "冻1", kind="freeze")  # served 1 March (Beijing)
    major = seize(p, cp, funds[1:], "冻2", kind="freeze", approval_document_no=APPROVAL)
    assert (ordinary["lots"][0]["term_end"], ordinary["approval_document_no"]) == ("2026-09-01", None)
    assert (major["lots"][0]["term_end"], major["approval_document_no"]) == ("2027-03-01", APPROVAL)
    assert seizure_view(p, major)["approval_document_no"] == APPROVAL
    assert _entry(lot_view(p, funds[1]), major)["term_rule"] == "criminal.freeze.deposit.major"
    # one renewal adds at most six months (a year for the major case) beyond the current last day
    with nothing_changes(units["auditor"], funds, [ordinary, major]):
        problem = assert_problem(renew(p, ordinary, "2027-03-02", "续1"), 422, "term_too_long")
        assert problem["errors"] == {"term_end": ["at most 2027-03-01"]}
        assert_problem(renew(p, major, "2028-03-02", "续2"), 422, "term_too_long")
    assert per_lot(ok(renew(p, ordinary, "2027-03-01", "续1")))[funds[0]["id"]]["term_end"] == "2027-03-01"
    assert per_lot(ok(renew(p, major, "2028-03-01", "续2")))[funds[1]["id"]]["term_end"] == "2028-03-01"
    clock.now = beijing_midnight_after("2027-03-01")
    assert [s["status"] for s in lot_view(p, funds[0])["history"]] == ["expired"]
    assert_audit_clean(app, session, p)


def test_a_criminal_seal_of_goods_has_no_fixed_term_and_says_so_everywhere(app, session, units, clock):
    p, b = units["police"], units["baoshan"]
    goods = register_lots(b, ["5.0000", "6.0000"], prefix="CG")
    cp, cb = open_case(p, P_NO, "criminal"), open_case(b, B_NO)
    sp = seize(p, cp, goods, "封1")
    assert [(x["term_end"], x["no_fixed_term"]) for x in sp["lots"]] == [(None, True), (None, True)]
    sb = seize(b, cb, goods, "B-1")
    entry = _entry(lot_view(b, goods[0]), sb)
    assert (entry["status"], entry["rank"], entry["term_end"], entry["no_fixed_term"]) == ("queued", 2, None, False)
    # years on, nothing has expired: the lot is seized until someone acts, and never flagged as expiring
    clock.now = datetime(2036, 3, 2, 1, tzinfo=timezone.utc)
    view = lot_view(b, goods[0])
    head = view["seizures"][0]
    assert (head["seizure_id"], head["term_end"], head["no_fixed_term"], head["term_rule"]) == (
        sp["id"], None, True, "criminal.goods.movable")
    assert (view["status"], view["flags"]) == ("seized", ["criminal_civil"])
    listed = ok(b.get(f"{API}/lots?status=seized&limit=100"))["items"]
    assert {lot["id"] for lot in goods} <= {lot["id"] for lot in listed}
    answer = check(b, cb, goods)
    assert not answer["clear"]
    conflict = next(c for c in answer["lots"][0]["conflicts"] if c["code"] == "not_effective_holder")
    assert (conflict["holder_case_id"], conflict["term_end"], conflict["no_fixed_term"]) == (cp["id"], None, True)
    with nothing_changes(units["auditor"], goods, [sp]):
        problem = assert_problem(renew(p, sp, "2037-12-31", "续"), 409, "no_fixed_term")
        assert [(c["lot_id"], c["no_fixed_term"]) for c in problem["conflicts"]] == [
            (goods[0]["id"], True), (goods[1]["id"], True)]
    # released, the next in line takes effect at that instant, its two years counted from that day
    promoted = ok(release(p, sp, "解", [goods[0]["id"]]))["promoted"]
    assert promoted == [{"lot_id": goods[0]["id"], "seizure_id": sb["id"], "case_id": cb["id"]}]
    assert queue(b, goods[0]) == [(sb["id"], 1, "effective")]
    assert lot_view(b, goods[0])["seizures"][0]["term_end"] == "2038-03-01"
    assert history(b, goods[0]) == [(sp["id"], None, "released")]
    # the document may set a term: then it is a term like any other, with no statutory maximum
    fixed = seize(p, cp, goods[:1], "扣2", kind="distrain", term_end="2099-12-31")
    assert (fixed["lots"][0]["status"], fixed["lots"][0]["no_fixed_term"]) == ("queued", False)
    assert_audit_clean(app, session, b)


def test_seizures_the_law_does_not_provide_and_misplaced_approvals_are_refused(app, session, units):
    p, b = units["police"], units["baoshan"]
    goods = register_lots(b, ["5.0000"], prefix="CG")
    funds = register_lots(b, ["1.0000"], prefix="CF", property_class="deposit")
    land = register_lots(b, ["9.0000"], prefix="CR", property_class="real_estate")
    cp, cb = open_case(p, P_NO, "criminal"), open_case(b, B_NO)
    with nothing_changes(units["auditor"], goods + funds + land):
        problem = assert_problem(try_seize(p, cp, goods + funds + land, "冻", kind="freeze"), 422,
                                 "seizure_kind_not_applicable")
        assert [c["lot_id"] for c in problem["conflicts"]] == [goods[0]["id"], land[0]["id"]]
        assert problem["errors"]["kind"] == ["a criminal case may not freeze movable property",
                                             "a criminal case may not freeze real_estate property"]
        assert_problem(try_seize(p, cp, land, "扣", kind="distrain"), 422, "seizure_kind_not_applicable")
        assert_problem(try_seize(p, cp, funds, "封", kind="seal"), 422, "seizure_kind_not_applicable")
        for case, kind in ((cb, "freeze"), (cp, "seal")):
            problem = assert_problem(try_seize(units["baoshan" if case is cb else "police"], case, funds, "文",
                                               kind=kind, approval_document_no=APPROVAL), 422, "validation_error")
            assert list(problem["errors"]) == ["approval_document_no"]
        assert_problem(try_seize(p, cp, funds, "冻", kind="freeze", approval_document_no=""), 422,
                       "validation_error")
        # served so long ago that the longest term has run out
        problem = assert_problem(try_seize(b, cb, goods, "封", served_at="2024-03-01T02:00:00Z"), 422,
                                 "term_already_ended")
        assert problem["errors"] == {"served_at": [
            "civil.movable: counted from the day of service, 2024-03-01, the longest term ended on 2026-03-01"]}
    assert_audit_clean(app, session, b)


# -- seizures recorded before the term table ------------------------------------------------------------------

def _recorded_before_the_table(app, session, unit: str, case_id: int, lot_ids: list[int], kind: str,
                               served_at: datetime) -> int:
    """A seizure written as the registry wrote them before its term table: rows and a ledger entry that name
    no term rule and fix no last day, every lot's term left to its class's civil maximum from when it takes
    effect."""
    def work(tx) -> int:
        lots = lot_facts(session, lot_ids)
        seizure = Seizure(case_id=case_id, unit_code=unit, kind=kind, document_no="旧1", served_at=served_at,
                          recorded_at=tx.now, term_end=None)
        session.add(seizure)
        session.flush()
        position = tx.head.size
        session.add_all([Hold(seizure_id=seizure.id, lot_id=i, case_id=case_id, position=position,
                              registered_at=tx.now, term_days=None) for i in lot_ids])
        session.flush()
        tx.record("seizure.registered", {
            "id": seizure.id, "case_id": case_id, "kind": kind, "document_no": "旧1",
            "served_at": ledger_time(served_at), "term_end": None,
            "lots": [{"lot_id": i, "term_days": None} for i in lot_ids]})
        standing.store(tx, [standing.with_holds(lot, [HoldFacts(seizure.id, lot.id, case_id, position, tx.now,
                                                                None)]) for lot in lots])
        return seizure.id
    session.rollback()
    with app.app_context():
        return run_write(session, unit, work)


def test_a_seizure_recorded_before_the_term_table_keeps_the_term_it_had(app, session, units, clock):
    p, b = units["police"], units["baoshan"]
    goods = register_lots(b, ["5.0000", "6.0000"], prefix="CG")
    funds = register_lots(b, ["1.0000"], prefix="CF", property_class="deposit")
    cp, cb = open_case(p, P_NO, "criminal"), open_case(b, B_NO)
    ahead = seize(b, cb, funds, "B-1", term_end="2026-03-31")
    served = datetime(2026, 1, 5, 2, tzinfo=timezone.utc)
    old = _recorded_before_the_table(app, session, p.code, cp["id"], [goods[0]["id"], funds[0]["id"]],
                                     "distrain", served)
    new = seize(p, cp, goods[1:], "扣新", kind="distrain", served_at=iso(served))
    # then: two civil years from the day it was recorded (2 March 2026, counted), whatever the case; now the
    # same seizure has no fixed term
    entry = _entry(lot_view(b, goods[0]), {"id": old})
    assert (entry["term_end"], entry["no_fixed_term"], entry["term_rule"]) == ("2028-03-01", False, None)
    assert per_lot(seizure_view(b, old))[goods[0]["id"]]["term_end"] == "2028-03-01"
    assert _entry(lot_view(b, goods[1]), new)["no_fixed_term"] is True
    # queued behind a civil seizure, it runs the civil year from its promotion, not a criminal freeze's months
    clock.now = beijing_midnight_after("2026-03-31")
    entry = _entry(lot_view(b, funds[0]), {"id": old})
    assert (entry["status"], entry["term_end"]) == ("effective", "2027-03-31")
    # it renews by one civil maximum, and splits with its term
    with nothing_changes(units["auditor"], goods + funds, [old]):
        assert_problem(renew(p, old, "2030-03-02", "续0"), 422, "term_too_long")
    ok(p.post(f"{API}/seizures/{old}/renew", json={"term_end": "2030-03-01", "document_no": "续1",
                                                    "lot_ids": [goods[0]["id"]]}), 200)
    parts = ok(split(p, goods[0], [("CG-0001-1", "2.0000"), ("CG-0001-2", "3.0000")], "拆"), 201)["lots"]
    assert [lot_view(b, part["id"])["seizures"][0]["term_end"] for part in parts] == ["2030-03-01"] * 2
    clock.now = beijing_midnight_after("2030-03-01")
    assert [lot_view(b, part["id"])["status"] for part in parts] == ["free", "free"]
    assert lot_view(b, goods[1])["status"] == "seized"
    assert ahead["lots"][0]["term_end"] == "2026-03-31"
    assert_audit_clean(app, session, b)
