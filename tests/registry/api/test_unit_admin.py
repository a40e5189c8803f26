"""Unit administration (SPEC §2, §5): PATCH /units/{code}, the list filters, deactivation and reactivation.

Every change is one `unit.updated` ledger entry, and after each test the ledger's replay equals the tables.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from helpers import (API, SERVED, assert_audit_clean, assert_problem, checkpoint, ledger_size, ledger_types,
                     lot_body, nothing_changes, ok, open_case, register_lots, seize, transfer)
from registry.services.units import OPERATOR, update_unit

BAOSHAN = f"{API}/units/SH-BAOSHAN-COURT"


def patch(admin, code: str, body: dict):
    return admin.patch(f"{API}/units/{code}", json=body)


def last_entry(reader) -> dict:
    size = ledger_size(reader)
    r = reader.get(f"{API}/ledger/entries?start={size - 1}&end={size}")
    return json.loads(r.get_data(as_text=True))


@pytest.mark.parametrize("body, shown", [
    ({"name": "上海市宝山区人民法院（新）"}, {"name": "上海市宝山区人民法院（新）", "parent": "SH-HIGH-COURT"}),
    ({"parent": None}, {"parent": None}),
    ({"parent": "JS-WUXI-COURT"}, {"parent": "JS-WUXI-COURT"}),
    ({"active": False}, {"active": False}),
    ({"name": "宝山", "parent": None, "active": False}, {"name": "宝山", "parent": None, "active": False}),
])
def test_each_field_changes_with_one_ledger_entry_naming_what_changed(app, session, units, body, shown):
    admin, reader = units["admin"], units["auditor"]
    before = ledger_size(reader)
    unit = ok(patch(admin, "SH-BAOSHAN-COURT", body))
    assert {k: unit[k] for k in shown} == shown
    assert ok(reader.get(BAOSHAN)) == unit
    assert ledger_types(reader, before) == ["unit.updated"]
    entry = last_entry(reader)
    assert entry["actor"] == "OPERATOR" and entry["data"] == {"code": "SH-BAOSHAN-COURT", **body}
    assert_audit_clean(app, session, reader)


def test_only_the_fields_that_change_are_recorded(app, session, units):
    admin, reader = units["admin"], units["auditor"]
    ok(patch(admin, "SH-BAOSHAN-COURT", {"name": "上海市宝山区人民法院", "active": False}))
    assert last_entry(reader)["data"] == {"code": "SH-BAOSHAN-COURT", "active": False}
    assert_audit_clean(app, session, reader)


def test_a_unit_is_created_active_and_shown_so(units):
    r = units["admin"].post(f"{API}/units", json={"code": "SH-JINGAN-COURT", "name": "静安", "kind": "court",
                                                  "parent": "SH-HIGH-COURT"})
    assert ok(r, 201)["active"] is True
    assert ok(units["baoshan"].get(f"{API}/units/SH-JINGAN-COURT"))["active"] is True


@pytest.mark.parametrize("who", ["high", "baoshan", "police", "auditor"])
def test_only_an_admin_changes_units(units, who):
    with nothing_changes(units["auditor"]):
        assert_problem(patch(units[who], "SH-BAOSHAN-COURT", {"name": "改名"}), 403, "forbidden")
        assert_problem(patch(units[who], "SH-BAOSHAN-COURT", {"active": False}), 403, "forbidden")
    assert ok(units["auditor"].get(BAOSHAN))["name"] == "上海市宝山区人民法院"


def test_an_unknown_unit_is_404(units):
    with nothing_changes(units["auditor"]):
        assert_problem(patch(units["admin"], "NO-SUCH-COURT", {"name": "无"}), 404, "not_found")
        assert_problem(patch(units["admin"], "SH-BAOSHAN-COURT", {"parent": "NO-SUCH-COURT"}), 422,
                       "validation_error")


@pytest.mark.parametrize("body, field", [
    ({}, "_schema"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "坏\u0000名"}, "name"),
    ({"name": 7}, "name"),
    ({"parent": "lower-case"}, "parent"),
    ({"parent": ""}, "parent"),
    ({"parent": 1}, "parent"),
    ({"active": "false"}, "active"),
    ({"active": 0}, "active"),
    ({"active": None}, "active"),
    ({"kind": "police"}, "kind"),
    ({"code": "SH-NEW-COURT"}, "code"),
])
def test_bad_values_are_422_naming_the_field_and_change_nothing(units, body, field):
    with nothing_changes(units["auditor"]):
        problem = assert_problem(patch(units["admin"], "SH-BAOSHAN-COURT", body), 422, "validation_error")
    assert field in problem["errors"], problem


def test_a_move_into_a_cycle_is_refused(units):
    admin = units["admin"]
    with nothing_changes(units["auditor"]):
        for code, parent in (("SH-HIGH-COURT", "SH-BAOSHAN-COURT"), ("SH-BAOSHAN-COURT", "SH-BAOSHAN-COURT")):
            problem = assert_problem(patch(admin, code, {"parent": parent}), 422, "parent_cycle")
            assert "parent" in problem["errors"]
    ok(units["admin"].post(f"{API}/units", json={"code": "SH-LOW-COURT", "name": "下级", "kind": "court",
                                                 "parent": "SH-BAOSHAN-COURT"}), 201)
    assert_problem(patch(admin, "SH-HIGH-COURT", {"parent": "SH-LOW-COURT"}), 422, "parent_cycle")  # two below
    ok(patch(admin, "SH-LOW-COURT", {"parent": "SH-HIGH-COURT"}))  # a move up is no cycle


@pytest.mark.parametrize("code, parent", [
    ("SH-BAOSHAN-COURT", "SH-POLICE-ECON"),  # a court under police
    ("SH-POLICE-ECON", "SH-HIGH-COURT"),     # police under a court
    ("AUDIT-1", "SH-HIGH-COURT"),            # auditors have no parent
    ("SH-BAOSHAN-COURT", "AUDIT-1"),
    ("SH-BAOSHAN-COURT", "OPERATOR"),
])
def test_a_parent_of_another_kind_is_refused_on_move_and_on_create(units, code, parent):
    admin = units["admin"]
    with nothing_changes(units["auditor"]):
        problem = assert_problem(patch(admin, code, {"parent": parent}), 422, "parent_kind_mismatch")
        assert "parent" in problem["errors"]
        kind = ok(admin.get(f"{API}/units/{code}"))["kind"]
        r = admin.post(f"{API}/units", json={"code": "NEW-1", "name": "新", "kind": kind, "parent": parent})
        assert_problem(r, 422, "parent_kind_mismatch")
    assert_problem(admin.get(f"{API}/units/NEW-1"), 404, "not_found")


def test_an_admin_cannot_lock_its_own_unit_out(units):
    with nothing_changes(units["auditor"]):
        problem = assert_problem(patch(units["admin"], "OPERATOR", {"active": False}), 422, "validation_error")
    assert "active" in problem["errors"]
    assert ok(units["admin"].get(f"{API}/units/OPERATOR"))["active"] is True


def test_a_change_to_the_same_values_is_refused_and_records_nothing(units):
    with nothing_changes(units["auditor"]):
        for body in ({"name": "上海市宝山区人民法院"}, {"parent": "SH-HIGH-COURT"}, {"active": True}):
            assert_problem(patch(units["admin"], "SH-BAOSHAN-COURT", body), 409, "unit_unchanged")


def test_the_list_filters_by_parent_and_kind(units):
    reader = units["police"]

    def codes(query: str) -> list[str]:
        return [u["code"] for u in ok(reader.get(f"{API}/units{query}"))["items"]]
    assert codes("?parent=SH-HIGH-COURT") == ["SH-BAOSHAN-COURT", "SH-YANGPU-COURT"]
    assert codes("?kind=court") == ["JS-WUXI-COURT", "SH-BAOSHAN-COURT", "SH-HIGH-COURT", "SH-YANGPU-COURT"]
    assert codes("?kind=police") == ["SH-POLICE-ECON"]
    assert codes("?kind=police&parent=SH-HIGH-COURT") == []
    assert codes("?parent=SH-BAOSHAN-COURT") == []
    assert len(codes("")) == len(units)
    ok(units["admin"].patch(BAOSHAN, json={"parent": None}))
    assert codes("?parent=SH-HIGH-COURT") == ["SH-YANGPU-COURT"]
    for query in ("?kind=judge", "?parent=lower", "?parent=", "?kind="):
        assert_problem(reader.get(f"{API}/units{query}"), 422, "validation_error", query)


def test_deactivation_stops_a_known_token_at_once_and_keeps_the_units_cases_readable(app, session, units):
    admin, b, reader = units["admin"], units["baoshan"], units["auditor"]
    [lot] = register_lots(b, ["3.0000"], prefix="DEACT")  # a write: this process now knows Baoshan's token
    case = open_case(b, "(2026)沪0113执77号")
    made = seize(b, case, [lot], "(2026)沪0113执77号之一")
    ok(patch(admin, "SH-BAOSHAN-COURT", {"active": False}))
    with nothing_changes(reader, [lot], [made], [case]):
        assert_problem(b.post(f"{API}/lots", json={"lots": [lot_body("DEACT-2", "1.0000")]}), 401,
                       "unauthenticated")
        assert_problem(b.post(f"{API}/cases", json={"number": "(2026)沪0113执78号", "kind": "execution"}), 401,
                       "unauthenticated")
        assert_problem(b.get(f"{API}/lots/{lot['id']}"), 401, "unauthenticated")
    assert ok(reader.get(f"{API}/cases/{case['id']}"))["acting_unit"] == "SH-BAOSHAN-COURT"
    assert ok(reader.get(f"{API}/lots/{lot['id']}"))["seizures"][0]["unit"] == "SH-BAOSHAN-COURT"
    assert ok(reader.get(BAOSHAN))["active"] is False
    # no case is handed to a deactivated court
    other = open_case(units["yangpu"], "(2026)沪0110执77号")
    with nothing_changes(reader, cases=[other]):
        assert_problem(transfer(units["high"], other, "designate", "SH-BAOSHAN-COURT", "指1"), 409, "unit_inactive")
    # reactivated, its tokens work again
    ok(patch(admin, "SH-BAOSHAN-COURT", {"active": True}))
    assert ok(b.get(f"{API}/lots/{lot['id']}"))["id"] == lot["id"]
    register_lots(b, ["1.0000"], prefix="BACK")
    assert ledger_types(reader, 0).count("unit.updated") == 2
    assert_audit_clean(app, session, reader)


def test_a_deactivation_by_another_process_refuses_the_next_write_of_a_known_token(app, session, units):
    """The deactivation is not made through this app, so nothing it keeps in memory learns of it: the
    write's lock statement must refuse the token by itself (SPEC §2: its tokens stop at once)."""
    b, reader = units["baoshan"], units["auditor"]
    case = open_case(b, "(2026)沪0113执88号")  # a write: the token is now known
    [lot] = register_lots(b, ["2.0000"], prefix="ELSEWHERE")
    with app.app_context():
        update_unit(session, OPERATOR, "SH-BAOSHAN-COURT", {"active": False})
    before = checkpoint(reader)
    body = {"case_id": case["id"], "kind": "seal", "document_no": "封88", "served_at": SERVED,
            "lot_ids": [lot["id"]]}
    assert_problem(b.post(f"{API}/seizures", json=body), 401, "unauthenticated")
    assert_problem(b.post(f"{API}/seizures", json=body, headers={"Idempotency-Key": "k-88"}), 401,
                   "unauthenticated")
    assert_problem(b.get(f"{API}/cases/{case['id']}"), 401, "unauthenticated")
    assert checkpoint(reader) == before
    assert units["yangpu"].post(f"{API}/cases", json={"number": "(2026)沪0110执88号", "kind": "execution"}) \
        .status_code == 201  # other units' known tokens still write
    assert_audit_clean(app, session, reader)


def test_patch_honours_idempotency_keys(app, session, units):
    admin, reader = units["admin"], units["auditor"]
    headers = {"Idempotency-Key": "rename-1"}
    first = ok(admin.patch(BAOSHAN, json={"name": "宝山一"}, headers=headers))
    size = ledger_size(reader)
    assert ok(admin.patch(BAOSHAN, json={"name": "宝山一"}, headers=headers)) == first
    assert ledger_size(reader) == size
    assert_problem(admin.patch(BAOSHAN, json={"name": "宝山二"}, headers=headers), 422, "idempotency_key_reused")
    assert_audit_clean(app, session, reader)


def test_a_deactivated_unit_can_no_longer_open_cases_register_lots_or_seize(app, session, units):
    """Its tokens are refused first (401); a caller that names the unit without a token (the command line, an
    import) hears `unit_inactive`, and nothing is recorded."""
    from registry.rules import DomainError
    from registry.services import cases, lots, seizures
    b, reader = units["baoshan"], units["auditor"]
    [lot] = register_lots(b, ["4.0000"], prefix="SLEEP")
    case = open_case(b, "(2026)沪0113执99号")
    ok(patch(units["admin"], "SH-BAOSHAN-COURT", {"active": False}))
    before = checkpoint(reader)
    acts = [lambda: lots.register_lots(session, "SH-BAOSHAN-COURT", [lot_body("SLEEP-2", "1.0000")]),
            lambda: cases.open_case(session, "SH-BAOSHAN-COURT", {"number": "(2026)沪0113执100号",
                                                                  "kind": "execution"}),
            lambda: seizures.seize(session, "SH-BAOSHAN-COURT", case["id"], "seal", "封99",
                                   datetime(2026, 3, 1, tzinfo=timezone.utc), None, [lot["id"]])]
    with app.app_context():
        for act in acts:
            with pytest.raises(DomainError) as refused:
                act()
            assert refused.value.code == "unit_inactive"
    assert checkpoint(reader) == before
    assert_problem(b.post(f"{API}/lots", json={"lots": [lot_body("SLEEP-3", "1.0000")]}), 401, "unauthenticated")
    assert_audit_clean(app, session, reader)
