"""Hostile input (SPEC §5: "Bad input is never a 500"), on both backends.

Every hostile request gets a clear 4xx `application/problem+json` with a stable `code` (and, on 422, the field
it blames), never a 500, and nothing is stored: the signed checkpoint, the JSON of the lots, seizure and case
involved, and the lot list are the same afterwards (`nothing_changes`), and the ledger replays to exactly
the tables (`assert_audit_clean`). Free text may hold HTML or SQL; it comes back verbatim as a JSON string,
never as something a browser would render. Tokens never reach the logs; every response carries the security
headers. The limiter on failed authentications is tested in test_edges.py.

Bugs this suite found are kept at the end: fixed ones as regression tests, open ones as strict xfails
(`BUG: …`), which fail today and must pass once fixed.
"""
from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text

from helpers import (API, SERVED, assert_audit_clean, ledger_size, lot_body, nothing_changes, ok, open_case,
                     register_lots, seize, seize_body)
from registry import create_app
from registry.api import auth
from registry.config import TestingConfig

SQL = "'; DROP TABLE lots; --"
SQL_CASES = "x'); DROP TABLE cases; --"
HTML = "<script>alert(1)</script>"
LONG = "长" * 10_000
HUGE = 10**30
CASE_NO = "(2026)沪0113执恶1号"
PROBLEM = "application/problem+json"


@pytest.fixture
def world(units):
    """Baoshan's case holds the effective seizure on one of two lots; the auditor reads."""
    b = units["baoshan"]
    lots = register_lots(b, ["10.0000", "20.0000"], prefix="HOST")
    case = open_case(b, CASE_NO)
    made = seize(b, case, lots[:1], "沪0113执恶封1号")
    return SimpleNamespace(b=b, admin=units["admin"], reader=units["auditor"], lots=lots, case=case,
                           seizure=made, units=units)


def send(unit, method: str, path: str, body: Any = None, raw: bytes | str | None = None,
         content_type: str = "application/json", headers: dict | None = None):
    if raw is not None:
        return unit.client.open(path, method=method, data=raw, content_type=content_type,
                                headers=unit._headers(headers))
    if method == "GET":
        return unit.get(path, headers=headers)
    return unit.post(path, json=body, headers=headers)


def refused(r, status: int, code: str | None, field: str | None, label: object) -> dict:
    """A 4xx problem+json with the stable code, blaming `field` (a dotted path) when given."""
    assert r.status_code == status, (label, r.status_code, r.get_data(as_text=True)[:500])
    assert r.mimetype == PROBLEM, (label, r.headers.get("Content-Type"))
    assert r.headers.get("X-Content-Type-Options") == "nosniff", label
    body = r.get_json()
    for key in ("type", "title", "status", "detail", "code"):
        assert key in body, (label, f"problem lacks {key}", body)
    assert body["status"] == status, (label, body)
    if code is not None:
        assert body["code"] == code, (label, body)
    if field is not None:
        assert field in body.get("errors", {}), (label, f"want an error on {field}", body)
    return body


def lot_with(**fields: Any) -> dict:
    return {"lots": [{**lot_body("BAD-1", "1.0000"), **fields}]}


def many_lots(n: int) -> dict:
    return {"lots": [lot_body(f"MANY-{i:05d}", "1.0000") for i in range(n)]}


# -- bodies ---------------------------------------------------------------------------------------------------
def body_cases(w) -> list[tuple[str, str, str, Any, dict, int, str, str | None]]:
    """(label, method, path, body, options, status, code, blamed field)"""
    case_id, lot_id, other_id, seizure_id = w.case["id"], w.lots[0]["id"], w.lots[1]["id"], w.seizure["id"]
    seizure = {"case_id": case_id, "kind": "seal", "document_no": "恶封", "served_at": SERVED, "lot_ids": [other_id]}
    execution = {"case_id": case_id, "kind": "delivery", "document_no": "交", "lot_ids": [lot_id], "recipient": "r"}
    case = {"number": "(2026)恶2号", "kind": "execution"}
    renew, release = f"{API}/seizures/{seizure_id}/renew", f"{API}/seizures/{seizure_id}/release"
    lots, cases, seizures, executions = f"{API}/lots", f"{API}/cases", f"{API}/seizures", f"{API}/executions"
    raw = "raw"
    rows: list[tuple[str, str, str, Any, dict, int, str, str | None]] = [
        # not JSON, or not a JSON object
        ("malformed JSON", "POST", lots, None, {raw: '{"lots": ['}, 400, "bad_request", None),
        ("JSON with trailing garbage", "POST", lots, None, {raw: '{"lots": []} x'}, 400, "bad_request", None),
        ("form-encoded under a JSON type", "POST", lots, None, {raw: "lots=1&x=2"}, 400, "bad_request", None),
        ("invalid UTF-8", "POST", cases, None, {raw: b'{"number": "\xff\xfe", "kind": "execution"}'}, 400,
         "bad_request", None),
        ("a JSON array", "POST", lots, [lot_body("ARR-1", "1.0000")], {}, 422, "validation_error", "_schema"),
        ("a JSON string", "POST", cases, "execution", {}, 422, "validation_error", "_schema"),
        ("a JSON number", "POST", seizures, HUGE, {}, 422, "validation_error", "_schema"),
        ("JSON null", "POST", executions, None, {raw: "null"}, 422, "validation_error", "_schema"),
        ("an empty body", "POST", cases, None, {raw: ""}, 422, "validation_error", "number"),
        # unknown fields, at the top and nested
        ("unknown top-level field", "POST", cases, {**case, "acting_unit": "SH-HIGH-COURT"}, {}, 422,
         "validation_error", "acting_unit"),
        ("unknown nested field", "POST", lots, lot_with(id=1), {}, 422, "validation_error", "lots.0.id"),
        ("unknown field on a seizure", "POST", seizures, {**seizure, "rank": 1}, {}, 422, "validation_error",
         "rank"),
        # wrong types
        ("lots as an object", "POST", lots, {"lots": lot_body("OBJ-1", "1.0000")}, {}, 422, "validation_error",
         "lots"),
        ("a lot as a string", "POST", lots, {"lots": ["ZJ-1"]}, {}, 422, "validation_error", "lots.0._schema"),
        ("case_id as a string", "POST", seizures, {**seizure, "case_id": str(case_id)}, {}, 422,
         "validation_error", "case_id"),
        ("case_id as a float", "POST", seizures, {**seizure, "case_id": float(case_id)}, {}, 422,
         "validation_error", "case_id"),
        ("case_id as a boolean", "POST", seizures, {**seizure, "case_id": True}, {}, 422, "validation_error",
         "case_id"),
        ("lot_ids as an object", "POST", seizures, {**seizure, "lot_ids": {"0": other_id}}, {}, 422,
         "validation_error", "lot_ids"),
        ("lot ids as strings", "POST", seizures, {**seizure, "lot_ids": [str(other_id)]}, {}, 422,
         "validation_error", "lot_ids.0"),
        ("kind as a list", "POST", cases, {**case, "kind": ["execution"]}, {}, 422, "validation_error", "kind"),
        ("number as a number", "POST", cases, {**case, "number": 2026}, {}, 422, "validation_error", "number"),
        # huge and non-positive ids
        ("case_id 10**30", "POST", seizures, {**seizure, "case_id": HUGE}, {}, 422, "validation_error", "case_id"),
        ("lot id 10**30", "POST", seizures, {**seizure, "lot_ids": [HUGE]}, {}, 422, "validation_error",
         "lot_ids.0"),
        ("case_id 0", "POST", seizures, {**seizure, "case_id": 0}, {}, 422, "validation_error", "case_id"),
        ("case_id -1", "POST", executions, {**execution, "case_id": -1}, {}, 422, "validation_error", "case_id"),
        ("to_case_id 10**30", "POST", f"{API}/lots/{lot_id}/disposal-transfer",
         {"to_case_id": HUGE, "document_no": "移"}, {}, 422, "validation_error", "to_case_id"),
        ("case_id 1e400 (infinity)", "POST", seizures, None,
         {raw: '{"case_id": 1e400, "kind": "seal", "document_no": "d", "served_at": "%s", "lot_ids": [%d]}'
          % (SERVED, other_id)}, 422, "validation_error", "case_id"),
        # weights: decimal strings with at most 4 decimals, positive
        ("weight as a JSON number", "POST", lots, lot_with(weight_t=1.5), {}, 422, "validation_error",
         "lots.0.weight_t"),
        ("negative weight", "POST", lots, lot_with(weight_t="-1.0000"), {}, 422, "validation_error",
         "lots.0.weight_t"),
        ("zero weight", "POST", lots, lot_with(weight_t="0.0000"), {}, 422, "validation_error", "lots.0.weight_t"),
        ("5-decimal weight", "POST", lots, lot_with(weight_t="1.00001"), {}, 422, "validation_error",
         "lots.0.weight_t"),
        ("exponent weight", "POST", lots, lot_with(weight_t="1e3"), {}, 422, "validation_error", "lots.0.weight_t"),
        ("NaN weight string", "POST", lots, lot_with(weight_t="NaN"), {}, 422, "validation_error",
         "lots.0.weight_t"),
        ("Infinity weight string", "POST", lots, lot_with(weight_t="Infinity"), {}, 422, "validation_error",
         "lots.0.weight_t"),
        ("-Infinity weight string", "POST", lots, lot_with(weight_t="-Infinity"), {}, 422, "validation_error",
         "lots.0.weight_t"),
        ("NaN literal weight", "POST", lots, None,
         {raw: '{"lots": [{"card_no": "N", "custodian": "c", "commodity": "a", "weight_t": NaN}]}'}, 422,
         "validation_error", "lots.0.weight_t"),
        ("Infinity literal weight", "POST", lots, None,
         {raw: '{"lots": [{"card_no": "N", "custodian": "c", "commodity": "a", "weight_t": Infinity}]}'}, 422,
         "validation_error", "lots.0.weight_t"),
        ("weight 10**30", "POST", lots, lot_with(weight_t=str(HUGE)), {}, 422, "validation_error",
         "lots.0.weight_t"),
        ("weight with a comma", "POST", lots, lot_with(weight_t="1,5"), {}, 422, "validation_error",
         "lots.0.weight_t"),
        ("weight with blanks", "POST", lots, lot_with(weight_t=" 1.5"), {}, 422, "validation_error",
         "lots.0.weight_t"),
        ("weight in full-width digits", "POST", lots, lot_with(weight_t="１.５"), {}, 422, "validation_error",
         "lots.0.weight_t"),
        ("hex weight", "POST", lots, lot_with(weight_t="0x10"), {}, 422, "validation_error", "lots.0.weight_t"),
        ("SQL in a weight", "POST", lots, lot_with(weight_t=f"1.0{SQL}"), {}, 422, "validation_error",
         "lots.0.weight_t"),
        ("HTML in a weight", "POST", lots, lot_with(weight_t=HTML), {}, 422, "validation_error", "lots.0.weight_t"),
        ("weight as an object", "POST", lots, lot_with(weight_t={"t": "1"}), {}, 422, "validation_error",
         "lots.0.weight_t"),
        ("negative part weight", "POST", f"{API}/lots/{other_id}/split",
         {"parts": [{"card_no": "P1", "weight_t": "-1.0000"}, {"card_no": "P2", "weight_t": "21.0000"}],
          "document_no": "拆"}, {}, 422, "validation_error", "parts.0.weight_t"),
        # control characters and 10,000-character strings in text
        ("NUL in a card number", "POST", lots, lot_with(card_no="ZJ\x00-1"), {}, 422, "validation_error",
         "lots.0.card_no"),
        ("ESC in a custodian", "POST", lots, lot_with(custodian="\x1b[31m货场"), {}, 422, "validation_error",
         "lots.0.custodian"),
        ("DEL in an owner", "POST", lots, lot_with(owner="某公司\x7f"), {}, 422, "validation_error", "lots.0.owner"),
        ("NUL in a case number", "POST", cases, {**case, "number": "(2026)\x00号"}, {}, 422, "validation_error",
         "number"),
        ("ESC in an applicant", "POST", cases, {**case, "applicant": "\x1b]0;pwned\x07"}, {}, 422,
         "validation_error", "applicant"),
        ("NUL in a document number", "POST", seizures, {**seizure, "document_no": "封\x00"}, {}, 422,
         "validation_error", "document_no"),
        ("NUL in a release reason", "POST", release, {"document_no": "解", "reason": "a\x00b"}, {}, 422,
         "validation_error", "reason"),
        ("NUL in a recipient", "POST", executions, {**execution, "recipient": "\x00"}, {}, 422,
         "validation_error", "recipient"),
        ("10,000-char card number", "POST", lots, lot_with(card_no=LONG), {}, 422, "validation_error",
         "lots.0.card_no"),
        ("10,000-char case number", "POST", cases, {**case, "number": LONG}, {}, 422, "validation_error", "number"),
        ("10,000-char applicant", "POST", cases, {**case, "applicant": LONG}, {}, 422, "validation_error",
         "applicant"),
        ("10,000-char document number", "POST", seizures, {**seizure, "document_no": LONG}, {}, 422,
         "validation_error", "document_no"),
        ("10,000-char release reason", "POST", release, {"document_no": "解", "reason": LONG}, {}, 422,
         "validation_error", "reason"),
        ("10,000-char claimant", "POST", f"{API}/lots/{lot_id}/objections", {"document_no": "异", "claimant": LONG},
         {}, 422, "validation_error", "claimant"),
        ("10,000-char card number to check", "POST", f"{executions}/check",
         {"case_id": case_id, "card_nos": [LONG], "custodian": "c"}, {}, 422, "validation_error", "card_nos.0"),
        ("empty card number", "POST", lots, lot_with(card_no=""), {}, 422, "validation_error", "lots.0.card_no"),
        # SQL and HTML in typed fields (enums, dates, codes, ids)
        ("SQL in a case kind", "POST", cases, {**case, "kind": SQL}, {}, 422, "validation_error", "kind"),
        ("HTML in a case kind", "POST", cases, {**case, "kind": HTML}, {}, 422, "validation_error", "kind"),
        ("SQL in a seizure kind", "POST", seizures, {**seizure, "kind": SQL}, {}, 422, "validation_error", "kind"),
        ("SQL in a property class", "POST", lots, lot_with(property_class=SQL), {}, 422, "validation_error",
         "lots.0.property_class"),
        ("SQL in an execution kind", "POST", executions, {**execution, "kind": SQL}, {}, 422, "validation_error",
         "kind"),
        ("SQL in a case id", "POST", seizures, {**seizure, "case_id": f"1{SQL}"}, {}, 422, "validation_error",
         "case_id"),
        ("SQL in a lot id", "POST", executions, {**execution, "lot_ids": [f"{lot_id} OR 1=1"]}, {}, 422,
         "validation_error", "lot_ids.0"),
        ("SQL in served_at", "POST", seizures, {**seizure, "served_at": f"2026-03-01T00:00:00Z{SQL}"}, {}, 422,
         "validation_error", "served_at"),
        ("HTML in served_at", "POST", seizures, {**seizure, "served_at": HTML}, {}, 422, "validation_error",
         "served_at"),
        ("SQL in term_end", "POST", seizures, {**seizure, "term_end": f"2027-01-01{SQL}"}, {}, 422,
         "validation_error", "term_end"),
        ("SQL in a renewal's term_end", "POST", renew, {"term_end": SQL, "document_no": "续"}, {}, 422,
         "validation_error", "term_end"),
        ("SQL in a transfer mode", "POST", f"{cases}/{case_id}/transfers",
         {"mode": SQL, "to_unit": "SH-HIGH-COURT", "document_no": "移"}, {}, 422, "validation_error", "mode"),
        ("SQL in a unit code", "POST", f"{cases}/{case_id}/transfers",
         {"mode": "elevate", "to_unit": SQL, "document_no": "移"}, {}, 422, "validation_error", "to_unit"),
        ("HTML in a unit code", "POST", f"{cases}/{case_id}/transfers",
         {"mode": "elevate", "to_unit": HTML, "document_no": "移"}, {}, 422, "validation_error", "to_unit"),
        # dates and datetimes
        ("30 February served_at", "POST", seizures, {**seizure, "served_at": "2026-02-30T00:00:00Z"}, {}, 422,
         "validation_error", "served_at"),
        ("naive served_at", "POST", seizures, {**seizure, "served_at": "2026-03-01T00:00:00"}, {}, 422,
         "validation_error", "served_at"),
        ("date-only served_at", "POST", seizures, {**seizure, "served_at": "2026-03-01"}, {}, 422,
         "validation_error", "served_at"),
        ("served_at as epoch seconds", "POST", seizures, {**seizure, "served_at": 1772323200}, {}, 422,
         "validation_error", "served_at"),
        ("hour 25 served_at", "POST", seizures, {**seizure, "served_at": "2026-03-01T25:00:00Z"}, {}, 422,
         "validation_error", "served_at"),
        ("30 February term_end", "POST", seizures, {**seizure, "term_end": "2026-02-30"}, {}, 422,
         "validation_error", "term_end"),
        ("month 13 term_end", "POST", renew, {"term_end": "2027-13-01", "document_no": "续"}, {}, 422,
         "validation_error", "term_end"),
        ("datetime as term_end", "POST", seizures, {**seizure, "term_end": "2027-01-01T00:00:00Z"}, {}, 422,
         "validation_error", "term_end"),
        # empty, repeated and too many items
        ("no lots", "POST", lots, {"lots": []}, {}, 422, "validation_error", "lots"),
        ("1001 lots", "POST", lots, many_lots(1001), {}, 422, "validation_error", "lots"),
        ("empty lot_ids", "POST", seizures, {**seizure, "lot_ids": []}, {}, 422, "validation_error", "lot_ids"),
        ("duplicate lot_ids", "POST", seizures, {**seizure, "lot_ids": [other_id, other_id]}, {}, 422,
         "validation_error", "lot_ids"),
        ("duplicate lot_ids to dispose", "POST", executions, {**execution, "lot_ids": [lot_id, lot_id]}, {}, 422,
         "validation_error", "lot_ids"),
        ("duplicate lot_ids to release", "POST", release,
         {"document_no": "解", "reason": "r", "lot_ids": [lot_id, lot_id]}, {}, 422, "validation_error",
         "lot_ids"),
        ("1001 lot_ids", "POST", seizures, {**seizure, "lot_ids": list(range(1, 1002))}, {}, 422,
         "validation_error", "lot_ids"),
        ("1001 card numbers to check", "POST", f"{executions}/check",
         {"case_id": case_id, "card_nos": [f"C{i}" for i in range(1001)], "custodian": "c"}, {}, 422,
         "validation_error", "card_nos"),
        ("a split into one part", "POST", f"{API}/lots/{other_id}/split",
         {"parts": [{"card_no": "P1", "weight_t": "20.0000"}], "document_no": "拆"}, {}, 422, "validation_error",
         "parts"),
        ("check naming no lots", "POST", f"{executions}/check", {"case_id": case_id}, {}, 422, "validation_error",
         "lot_ids"),
        # headers
        ("10,000-char Idempotency-Key", "POST", cases, case, {"headers": {"Idempotency-Key": "k" * 10_000}}, 422,
         "validation_error", "Idempotency-Key"),
    ]
    return rows


def test_hostile_bodies_are_refused_with_a_problem_and_store_nothing(app, session, world):
    w = world
    rows = body_cases(w)
    assert len(rows) >= 90
    units_before = w.admin.get(f"{API}/units").get_json()
    with nothing_changes(w.reader, w.lots, [w.seizure], [w.case]):
        for label, method, path, body, options, status, code, field in rows:
            r = send(w.b, method, path, body, **options)
            refused(r, status, code, field, label)
        for label, body, field in ADMIN_CASES:  # the operator's own endpoint
            refused(w.admin.post(f"{API}/units", json=body), 422, "validation_error", field, label)
    assert w.admin.get(f"{API}/units").get_json() == units_before
    assert_audit_clean(app, session, w.reader)


ADMIN_CASES = [
    ("SQL in a unit code", {"code": SQL, "name": "n", "kind": "court"}, "code"),
    ("HTML in a unit code", {"code": HTML, "name": "n", "kind": "court"}, "code"),
    ("10,000-char unit code", {"code": "A" * 10_000, "name": "n", "kind": "court"}, "code"),
    ("SQL in a unit kind", {"code": "X-1", "name": "n", "kind": SQL}, "kind"),
    ("a superuser kind", {"code": "X-1", "name": "n", "kind": "superuser"}, "kind"),
    ("SQL in a parent code", {"code": "X-1", "name": "n", "kind": "court", "parent": SQL}, "parent"),
    ("NUL in a unit name", {"code": "X-1", "name": "法院\x00", "kind": "court"}, "name"),
    ("10,000-char unit name", {"code": "X-1", "name": LONG, "kind": "court"}, "name"),
    ("choosing one's own token", {"code": "X-1", "name": "n", "kind": "court", "token": "a.b"}, "token"),
    ("a code as a number", {"code": 42, "name": "n", "kind": "court"}, "code"),
]


# -- query strings and paths ------------------------------------------------------------------------------------
def query_cases(w) -> list[tuple[str, str, int, str, str | None]]:
    lot = f"{API}/lots/{w.lots[0]['id']}"
    return [
        ("limit 10**30", f"{API}/lots?limit={HUGE}", 422, "validation_error", "limit"),
        ("limit -1", f"{API}/lots?limit=-1", 422, "validation_error", "limit"),
        ("limit 0", f"{API}/cases?limit=0", 422, "validation_error", "limit"),
        ("limit 1001", f"{API}/cases?limit=1001", 422, "validation_error", "limit"),
        ("limit 1.5", f"{API}/notifications?limit=1.5", 422, "validation_error", "limit"),
        ("limit with SQL", f"{API}/lots?limit=5;DROP TABLE lots", 422, "validation_error", "limit"),
        ("case_id 10**30", f"{API}/lots?case_id={HUGE}", 422, "validation_error", "case_id"),
        ("case_id with SQL", f"{API}/lots?case_id=1 OR 1=1", 422, "validation_error", "case_id"),
        ("status with SQL", f"{API}/lots?status=free' OR '1'='1", 422, "validation_error", "status"),
        ("status with HTML", f"{API}/lots?status={HTML}", 422, "validation_error", "status"),
        ("10,000-char card_no filter", f"{API}/lots?card_no={'K' * 10_000}", 422, "validation_error", "card_no"),
        ("10,000-char q", f"{API}/lots?q={'K' * 10_000}", 422, "validation_error", "q"),
        ("empty q", f"{API}/lots?q=", 422, "validation_error", "q"),
        ("10,000-char number", f"{API}/cases?number={'K' * 10_000}", 422, "validation_error", "number"),
        ("forged cursor", f"{API}/lots?cursor=' OR 1=1 --", 422, "validation_error", "cursor"),
        ("negative cursor", f"{API}/cases?cursor=LTE", 422, "validation_error", "cursor"),
        ("10,000-char cursor", f"{API}/lots?cursor={'A' * 10_000}", 422, "validation_error", "cursor"),
        ("unknown parameter on search", f"{API}/lots?colour=red", 422, "validation_error", "colour"),
        ("parameter in the wrong case", f"{API}/lots?LIMIT=5", 422, "validation_error", "LIMIT"),
        ("unknown parameter on a lot", f"{lot}?asof=2026-03-01T00:00:00Z", 422, "validation_error", "asof"),
        ("unknown parameter on cases", f"{API}/cases?acting_unit=X", 422, "validation_error", "acting_unit"),
        ("unknown parameter on notifications", f"{API}/notifications?unit=SH-HIGH-COURT", 422,
         "validation_error", "unit"),
        ("unknown parameter on entries", f"{API}/ledger/entries?start=0&format=csv", 422, "validation_error",
         "format"),
        ("30 February as_of", f"{lot}?as_of=2026-02-30T00:00:00Z", 422, "validation_error", "as_of"),
        ("naive as_of", f"{lot}?as_of=2026-03-01T00:00:00", 422, "validation_error", "as_of"),
        ("SQL in as_of", f"{lot}?as_of=2026-03-01{SQL}", 422, "validation_error", "as_of"),
        ("HTML in as_of", f"{lot}?as_of={HTML}", 422, "validation_error", "as_of"),
        ("SQL in after", f"{API}/notifications?after={SQL}", 422, "validation_error", "after"),
        ("30 February after", f"{API}/notifications?after=2026-02-30T00:00:00Z", 422, "validation_error", "after"),
        ("entries from -1", f"{API}/ledger/entries?start=-1", 422, "validation_error", "start"),
        ("entries from 10**30", f"{API}/ledger/entries?start={HUGE}", 422, "validation_error", None),
        ("entries to 10**30", f"{API}/ledger/entries?start=0&end={HUGE}", 422, "validation_error", "end"),
        ("entries with SQL", f"{API}/ledger/entries?start=0;DELETE FROM ledger_entries", 422, "validation_error",
         "start"),
        ("entries without start", f"{API}/ledger/entries", 422, "validation_error", "start"),
        ("inclusion at 10**30", f"{API}/ledger/proof/inclusion?index={HUGE}&size={HUGE}", 422, "validation_error",
         None),
        ("inclusion at -1", f"{API}/ledger/proof/inclusion?index=-1&size=1", 422, "validation_error", "index"),
        ("consistency to 10**30", f"{API}/ledger/proof/consistency?old=1&new={HUGE}", 422, "validation_error",
         None),
        ("consistency old > new", f"{API}/ledger/proof/consistency?old=3&new=2", 422, "validation_error", None),
        ("lot 10**30", f"{API}/lots/{HUGE}", 404, "not_found", None),
        ("lot 0", f"{API}/lots/0", 404, "not_found", None),
        ("lot -1", f"{API}/lots/-1", 404, "not_found", None),
        ("lot id with SQL", f"{API}/lots/1 OR 1=1", 404, "not_found", None),
        ("seizure 10**30", f"{API}/seizures/{HUGE}", 404, "not_found", None),
        ("case id with SQL", f"{API}/cases/1;DROP TABLE cases", 404, "not_found", None),
        ("unit code with SQL", f"{API}/units/{SQL}", 404, "not_found", None),
        ("10,000-char unit code", f"{API}/units/{'A' * 10_000}", 404, "not_found", None),
    ]


def test_hostile_query_strings_and_paths_are_refused(app, session, world):
    w = world
    rows = query_cases(w)
    with nothing_changes(w.reader, w.lots, [w.seizure], [w.case]):
        for label, path, status, code, field in rows:
            refused(w.b.get(path), status, code, field, label)
        # a path id 10**30 on a write is not found either, and is not a 500
        refused(w.b.post(f"{API}/seizures/{HUGE}/release", json={"document_no": "解", "reason": "r"}), 404,
                "not_found", None, "release 10**30")
    assert_audit_clean(app, session, w.reader)


# -- free text: stored verbatim, answered as JSON -------------------------------------------------------------
def assert_json_verbatim(r, status: int = 200) -> Any:
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == "application/json", r.headers.get("Content-Type")
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert "html" not in r.headers.get("Content-Type", "")
    return r.get_json()


def test_html_and_sql_in_free_text_are_stored_verbatim_and_returned_as_json_strings(app, session, world):
    w = world
    b, admin, reader = w.b, w.admin, w.reader
    texts = {"card_no": "<img src=x onerror=alert(1)>", "custodian": SQL, "commodity": "Robert'); DROP TABLE cases;--",
             "location": HTML, "owner": '" OR ""="'}
    lot = assert_json_verbatim(b.post(f"{API}/lots", json={"lots": [{**texts, "weight_t": "3.0000"}]}), 201)["lots"][0]
    case = assert_json_verbatim(b.post(f"{API}/cases", json={
        "number": SQL_CASES, "kind": "execution", "applicant": HTML, "respondent": "</script><svg onload=alert(1)>"}),
        201)
    unit = assert_json_verbatim(admin.post(f"{API}/units", json={"code": "XSS-COURT", "name": HTML, "kind": "court"}),
                                201)
    objection = assert_json_verbatim(b.post(f"{API}/lots/{lot['id']}/objections", json={
        "document_no": HTML, "claimant": SQL}), 201)

    # stored verbatim but for the canonical form of identifiers (a card number has no spaces, ASCII upper-case)
    stored = {**texts, "card_no": "<IMGSRC=XONERROR=ALERT(1)>"}
    for key, value in stored.items():
        assert lot[key] == value, (key, lot)
    shown = assert_json_verbatim(reader.get(f"{API}/lots/{lot['id']}"))
    assert {k: shown[k] for k in texts} == stored
    found = assert_json_verbatim(reader.get(f"{API}/lots", query_string={"custodian": SQL}))["items"]
    assert [x["id"] for x in found] == [lot["id"]]
    found = assert_json_verbatim(reader.get(f"{API}/lots", query_string={"card_no": texts["card_no"]}))["items"]
    assert [x["id"] for x in found] == [lot["id"]]
    found = assert_json_verbatim(reader.get(f"{API}/lots", query_string={"location": "<script>"}))["items"]
    assert [x["id"] for x in found] == [lot["id"]]
    shown = assert_json_verbatim(reader.get(f"{API}/cases/{case['id']}"))
    assert (shown["number"], shown["applicant"], shown["respondent"]) == (
        SQL_CASES.replace(" ", ""), HTML, "</script><svg onload=alert(1)>")
    found = assert_json_verbatim(reader.get(f"{API}/cases", query_string={"number": SQL_CASES}))["items"]
    assert [x["id"] for x in found] == [case["id"]]
    assert assert_json_verbatim(reader.get(f"{API}/units/XSS-COURT"))["name"] == HTML == unit["name"]
    assert (objection["document_no"], objection["claimant"]) == (HTML, SQL)
    # the raw bytes hold the text as a JSON string (escaped or not), never interpreted
    raw = reader.get(f"{API}/cases/{case['id']}").get_data(as_text=True)
    assert '"applicant":' in raw.replace(" ", "")
    # nothing was dropped: every table still answers, the other lots are still there
    with app.app_context():
        for table in ("lots", "cases", "units", "seizures", "ledger_entries"):
            assert session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() > 0, table
    session.rollback()
    assert len(reader.get(f"{API}/lots?limit=1000").get_json()["items"]) == 3
    assert_audit_clean(app, session, reader)


# -- size limits ------------------------------------------------------------------------------------------------
def test_bodies_over_the_size_limit_are_413_and_1000_lots_still_fit(app, session, world):
    w = world
    limit = app.config["MAX_CONTENT_LENGTH"]
    with nothing_changes(w.reader, w.lots):
        big = b'{"lots": [' + b" " * limit + b"]}"
        refused(send(w.b, "POST", f"{API}/lots", raw=big), 413, "payload_too_large", None, "over the limit")
        padded = {**lot_body("BIG-1", "1.0000"), "owner": "x" * (limit + 1)}
        refused(w.b.post(f"{API}/lots", json={"lots": [padded]}), 413, "payload_too_large", None, "one huge field")
        refused(w.b.post(f"{API}/cases", json={"number": "n" * (limit + 10), "kind": "execution"}), 413,
                "payload_too_large", None, "a huge case number")
        refused(w.b.post(f"{API}/lots", json=many_lots(1001)), 422, "validation_error", "lots", "1001 lots")
    size = ledger_size(w.reader)
    made = ok(w.b.post(f"{API}/lots", json=many_lots(1000)), 201)["lots"]
    assert len(made) == 1000 and len({x["id"] for x in made}) == 1000
    assert ledger_size(w.reader) == size + 1  # one request, one entry
    assert_audit_clean(app, session, w.reader)


# -- secrets in logs --------------------------------------------------------------------------------------------
def test_tokens_never_reach_the_logs(app, units, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    admin, court = units["admin"], units["baoshan"]
    client = app.test_client()
    secrets = {admin.token, court.token}
    token_id, secret = court.token.split(".", 1)
    made = admin.post(f"{API}/units", json={"code": "LOG-COURT", "name": "日志", "kind": "court"})
    assert made.status_code == 201, made.get_json()
    fresh = made.get_json()["token"]
    made = admin.post(f"{API}/units", json={"code": "LOG-COURT-2", "name": "日志2", "kind": "court"},
                      headers={"Idempotency-Key": "log-unit-2"})
    assert made.status_code == 201, made.get_json()
    replayed = admin.post(f"{API}/units", json={"code": "LOG-COURT-2", "name": "日志2", "kind": "court"},
                          headers={"Idempotency-Key": "log-unit-2"})
    assert replayed.status_code == 201
    secrets |= {fresh, made.get_json()["token"]}
    assert client.get(f"{API}/units", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    wrong = [f"{token_id}.{secret[::-1]}", f"{token_id}.", f"Bearer-{secret}", secret, f"{court.token}x",
             "0123456789abcdef." + secret]
    for bad in wrong:
        assert client.get(f"{API}/lots", headers={"Authorization": f"Bearer {bad}"}).status_code == 401
    assert client.get(f"{API}/lots", headers={"Authorization": f"Basic {court.token}"}).status_code == 401
    assert court.post(f"{API}/cases", json={"number": "x", "kind": "nope"}).status_code == 422
    assert court.get(f"{API}/lots/999999").status_code == 404

    records = caplog.records
    assert len([r for r in records if r.name == "registry.requests"]) >= 12  # the requests were logged
    assert {"LOG-COURT", "OPERATOR"} <= {getattr(r, "fields", {}).get("unit") for r in records}
    parts = {s for token in secrets for s in (token, token.split(".", 1)[1])} | {secret[::-1]}
    for record in records:
        logged = " ".join(str(x) for x in (record.getMessage(), record.args, record.exc_text,
                                           getattr(record, "__dict__", {})))
        leaked = [p for p in parts if p in logged]
        assert not leaked, (record.name, record.getMessage()[:300])
    assert not [p for p in parts if p in caplog.text]
    written = capsys.readouterr().err  # the JSON lines the service writes to stderr
    assert '"logger": "registry.requests"' in written and not [p for p in parts if p in written]


# -- security headers -------------------------------------------------------------------------------------------
def test_every_response_carries_the_security_headers(app, world):
    w = world
    client = app.test_client()
    responses = {
        "200 JSON": w.reader.get(f"{API}/lots/{w.lots[0]['id']}"),
        "201 JSON": w.b.post(f"{API}/cases", json={"number": "(2026)头1号", "kind": "execution"}),
        "text/plain": w.reader.get(f"{API}/ledger/checkpoint"),
        "JSON Lines": w.reader.get(f"{API}/ledger/entries?start=0&end=1"),
        "401": client.get(f"{API}/lots"),
        "403": w.reader.post(f"{API}/cases", json={"number": "(2026)头2号", "kind": "execution"}),
        "404": w.reader.get(f"{API}/lots/999999"),
        "405": client.delete(f"{API}/lots"),
        "409": w.b.post(f"{API}/cases", json={"number": "(2026)头1号", "kind": "execution"}),
        "413": send(w.b, "POST", f"{API}/lots", raw=b"{" + b" " * (app.config["MAX_CONTENT_LENGTH"] + 1) + b"}"),
        "422": w.b.post(f"{API}/cases", json={"number": "", "kind": "execution"}),
        "openapi": client.get("/api/v1/openapi.json"),
        "healthz": client.get("/healthz"),
    }
    for label, r in responses.items():
        r.get_data()
        assert r.status_code < 500, (label, r.status_code)
        assert r.headers.get("X-Content-Type-Options") == "nosniff", label
        assert r.headers.get("X-Frame-Options") == "DENY", label
        assert r.headers.get("Cache-Control") == "no-store", (label, r.headers.get("Cache-Control"))
        csp = r.headers.get("Content-Security-Policy", "")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, (label, csp)
        assert r.headers.get("X-Request-Id"), label
    docs = client.get("/api/v1/docs", follow_redirects=True)
    assert docs.status_code == 200
    assert docs.headers.get("X-Content-Type-Options") == "nosniff"
    assert "frame-ancestors 'none'" in docs.headers.get("Content-Security-Policy", "")
    # a request id is echoed only when it is harmless
    r = w.reader.get(f"{API}/units", headers={"X-Request-Id": "<script>alert(1)</script>"})
    assert r.headers["X-Request-Id"] != "<script>alert(1)</script>" and "<" not in r.headers["X-Request-Id"]


# -- inputs that broke the registry once (found by this suite, fixed since): regression checks ------------
NUL_QUERIES = [f"{API}/lots?card_no=ZJ%00", f"{API}/lots?q=ZJ%00", f"{API}/lots?custodian=%00",
               f"{API}/lots?owner=%00", f"{API}/lots?location=%00", f"{API}/cases?number=%00",
               f"{API}/units/SH%00"]


def nul_in_query_and_path_text_is_refused(app, session, world):
    with nothing_changes(world.reader):
        for path in NUL_QUERIES:
            refused(world.b.get(path), 422 if "?" in path else 404, None, None, path)


def lone_surrogates_in_text_are_refused(app, session, world):
    with nothing_changes(world.reader, world.lots):
        for raw, field in (('{"number": "\\ud800", "kind": "execution"}', "number"),
                           ('{"lots": [{"card_no": "A\\udfff", "custodian": "c", "commodity": "a", '
                            '"weight_t": "1.0000"}]}', "lots.0.card_no")):
            path = f"{API}/cases" if field == "number" else f"{API}/lots"
            refused(send(world.b, "POST", path, raw=raw), 422, "validation_error", field, raw)


def json_beyond_the_parsers_limits_is_refused(app, session, world):
    with nothing_changes(world.reader):
        deep = "[" * 100_000 + "]" * 100_000
        refused(send(world.b, "POST", f"{API}/cases", raw=deep), 400, "bad_request", None, "deep nesting")
        digits = '{"case_id": 1' + "0" * 5000 + ', "lot_ids": [1]}'
        r = send(world.b, "POST", f"{API}/executions/check", raw=digits)
        assert r.status_code in (400, 422), r.status_code
        refused(r, r.status_code, None, None, "5000-digit integer")


def instants_beyond_the_calendar_are_refused(app, session, world):
    w = world
    with nothing_changes(w.reader, w.lots, [w.seizure], [w.case]):
        refused(w.b.get(f"{API}/lots/{w.lots[0]['id']}?as_of=9999-12-31T23:59:59-14:00"), 422,
                "validation_error", "as_of", "as_of")
        refused(w.b.get(f"{API}/notifications?after=0001-01-01T00:00:00%2B14:00"), 422, "validation_error",
                "after", "after")
        refused(w.b.post(f"{API}/seizures", json=seize_body(w.case, w.lots[1:], "封",
                                                            served_at="0001-01-01T00:00:00+14:00")), 422,
                "validation_error", "served_at", "served_at")


def typed_fields_refuse_a_trailing_newline(app, session, world):
    w = world
    with nothing_changes(w.reader, w.lots):
        refused(w.admin.post(f"{API}/units", json={"code": "EVIL\n", "name": "n", "kind": "court"}), 422,
                "validation_error", "code", "code + newline")
        refused(w.admin.post(f"{API}/units", json={"code": "A" * 64 + "\n", "name": "n", "kind": "court"}), 422,
                "validation_error", "code", "64-char code + newline")
        refused(w.b.post(f"{API}/lots", json=lot_with(weight_t="2.5\n")), 422, "validation_error",
                "lots.0.weight_t", "weight + newline")
        refused(w.b.post(f"{API}/cases/{w.case['id']}/transfers", json={
            "mode": "elevate", "to_unit": "SH-HIGH-COURT\n", "document_no": "移"}), 422, "validation_error",
            "to_unit", "to_unit + newline")


def malformed_bearer_tokens_are_401(app, session, world):
    client = app.test_client()
    token_id = world.b.token.split(".", 1)[0]
    with nothing_changes(world.reader):
        for bearer in (f"{token_id}\x00.x", "\x00.\x00", f"{token_id}'--.x", "ü.ß", "a" * 10_000,
                       f"{token_id}.{HTML}", f"{SQL}.{SQL}"):
            r = client.get(f"{API}/lots", headers={"Authorization": f"Bearer {bearer}"})
            refused(r, 401, "unauthenticated", None, repr(bearer[:40]))


def unknown_query_parameters_are_refused_everywhere(app, session, world):
    w = world
    paths = [f"{API}/units?name=court", f"{API}/units/SH-BAOSHAN-COURT?expand=token",
             f"{API}/cases/{w.case['id']}?as_of=2026-01-01T00:00:00Z",
             f"{API}/seizures/{w.seizure['id']}?as_of=2026-01-01T00:00:00Z", f"{API}/ledger/checkpoint?size=1",
             f"{API}/ledger/key?format=pem", f"{API}/ledger/state?table=lots"]
    with nothing_changes(w.reader, w.lots, [w.seizure], [w.case]):
        for path in paths:
            refused(w.b.get(path), 422, "validation_error", None, path)
        refused(w.b.post(f"{API}/cases?dry_run=1", json={"number": "(2026)试1号", "kind": "execution"}), 422,
                "validation_error", None, "POST with dry_run")


def a_new_units_token_is_not_stored_in_clear(app, session, world):
    body = {"code": "CLEAR-COURT", "name": "明文", "kind": "court"}
    r = world.admin.post(f"{API}/units", json=body, headers={"Idempotency-Key": "unit-clear-1"})
    assert r.status_code == 201, r.get_json()
    secret = r.get_json()["token"].split(".", 1)[1]
    session.rollback()
    with app.app_context():
        stored = [str(row) for row in session.execute(text("SELECT * FROM idempotency_records"))]
        stored += [str(row) for row in session.execute(text("SELECT * FROM tokens"))]
        stored += [str(row) for row in session.execute(text("SELECT body FROM ledger_entries"))]
    session.rollback()
    assert not [row for row in stored if secret in row]


def an_undeclared_method_is_405_even_with_query_parameters(app, session, world):
    w = world
    with nothing_changes(w.reader, w.lots):
        for method, path in (("TRACE", f"{API}/ledger/entries?start=0&end=1"), ("PUT", f"{API}/lots?limit=5"),
                             ("DELETE", f"{API}/lots/{w.lots[0]['id']}?as_of=2026-03-01T00:00:00Z"),
                             ("PATCH", f"{API}/notifications?limit=5")):
            r = w.b.client.open(path, method=method, headers=w.b._headers(None))
            refused(r, 405, "method_not_allowed", None, (method, path))
            assert method not in r.headers.get("Allow", method), (method, path, r.headers.get("Allow"))


REGRESSIONS = [nul_in_query_and_path_text_is_refused, lone_surrogates_in_text_are_refused,
               json_beyond_the_parsers_limits_is_refused, instants_beyond_the_calendar_are_refused,
               typed_fields_refuse_a_trailing_newline, malformed_bearer_tokens_are_401,
               unknown_query_parameters_are_refused_everywhere, a_new_units_token_is_not_stored_in_clear,
               an_undeclared_method_is_405_even_with_query_parameters]


def test_inputs_that_once_broke_the_registry_are_refused(app, session, world):
    """Each check was a bug (a 500, a stored refusal, a token in clear, a wrong status); all run, all reported."""
    failures = []
    for check in REGRESSIONS:
        try:
            check(app, session, world)
        except AssertionError as error:
            failures.append(f"{check.__name__}: {str(error)[:600]}")
    assert not failures, "\n".join(failures)
    assert_audit_clean(app, session, world.reader)


def test_the_largest_weights_do_not_overflow_a_disposal(app, world):
    """1000 lots of the largest weight the API accepts are disposed of in one request, with the exact total."""
    w = world
    for heavy, total in (("999999999999.9999", "999999999999999.9000"), ("999999999.9999", "999999999999.9000")):
        r = w.b.post(f"{API}/lots", json={"lots": [lot_body(f"HEAVY-{heavy[:4]}-{i:04d}", heavy)
                                                   for i in range(1000)]})
        if r.status_code == 422:  # too heavy to register at all: refusing it up front is fine
            refused(r, 422, "validation_error", "lots.0.weight_t", heavy)
            continue
        lots = ok(r, 201)["lots"]
        case = open_case(w.b, f"(2026)沪0113执重{len(heavy)}号")
        seize(w.b, case, lots, "重封")
        size = ledger_size(w.reader)
        r = w.b.post(f"{API}/executions", json={"case_id": case["id"], "kind": "auction", "document_no": "拍",
                                                "lot_ids": [x["id"] for x in lots], "recipient": "买受人"})
        assert r.status_code == 201, r.get_data(as_text=True)[:300]
        assert r.get_json()["total_weight_t"] == total
        assert ledger_size(w.reader) == size + 1
        return
    raise AssertionError("no weight in the list is accepted")
