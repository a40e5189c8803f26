"""Builders and checks shared by the API story, refusal and time tests (SPEC §3–§5), all through HTTP.

Only the audit (`assert_audit_clean`) looks past HTTP: it replays the whole ledger into a fresh state and
compares it with the registry's tables, as `seizure-registry audit` does.
"""
from __future__ import annotations

import base64
import json
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterable, Iterator

from registry.audit import run_audit
from registry.rules.identifiers import case_number

API = "/api/v1"
YARD = "上海铁路东站货场"
OWNER = "上海某金属贸易有限公司"
BEIJING = timezone(timedelta(hours=8))
SERVED = "2026-03-01T00:00:00Z"  # before the test clock starts (2026-03-02 09:00 Beijing)
PROBLEM_FIELDS = ("type", "title", "status", "detail", "code")
CONFLICT_FIELDS = ("lot_id", "card_no", "code", "holder_case_id", "holder_case_number", "holder_unit",
                   "holder_unit_name", "term_end")
LIVE = ("effective", "queued")


# -- responses ------------------------------------------------------------------------------------------------
def ok(r, status: int = 200) -> Any:
    """The JSON body of a response that must have this status."""
    assert r.status_code == status, f"{r.status_code} (wanted {status}): {r.get_data(as_text=True)}"
    return r.get_json()


def assert_problem(r, status: int, code: str | None = None, context: object = "") -> dict:
    """An RFC 9457 problem with this status (and code); returns its body."""
    assert r.status_code == status, (context, r.status_code, r.get_data(as_text=True))
    assert r.mimetype == "application/problem+json", (context, r.headers.get("Content-Type"))
    body = r.get_json()
    missing = [f for f in PROBLEM_FIELDS if f not in body]
    assert not missing, (context, f"problem lacks {missing}: {body}")
    assert body["status"] == status, (context, body)
    if code is not None:
        assert body["code"] == code, (context, body)
    return body


def conflicts_of(problem: dict) -> list[dict]:
    """The problem's conflicts, each checked to carry every field SPEC §5 names."""
    found = problem.get("conflicts")
    assert isinstance(found, list) and found, f"a 409 names what blocked it: {problem}"
    for c in found:
        missing = [f for f in CONFLICT_FIELDS if f not in c]
        assert not missing, f"conflict lacks {missing}: {c}"
    return found


def assert_conflict(problem: dict, lot: dict, code: str, holder_case: dict | None = None,
                    holder_unit: str | None = None) -> dict:
    """Exactly one conflict on `lot` with this code, naming the holder case (id, number, acting unit)."""
    mine = [c for c in conflicts_of(problem) if c["lot_id"] == lot["id"] and c["code"] == code]
    assert len(mine) == 1, f"want one {code} on lot {lot['id']}: {problem}"
    c = mine[0]
    assert c["card_no"] == lot["card_no"], c
    if holder_case is not None:
        assert (c["holder_case_id"], c["holder_case_number"]) == (holder_case["id"], holder_case["number"]), c
        assert c["holder_unit"] == (holder_unit or holder_case["acting_unit"]), c
    elif holder_unit is not None:
        assert c["holder_unit"] == holder_unit, c
    return c


# -- the ledger and the audit ---------------------------------------------------------------------------------
def checkpoint(reader) -> tuple[str, int, bytes]:
    """The signed checkpoint's body: origin, tree size, root hash (text/plain, C2SP tlog-checkpoint)."""
    r = reader.get(f"{API}/ledger/checkpoint")
    assert r.status_code == 200 and r.mimetype == "text/plain", r.get_data(as_text=True)
    lines = r.get_data(as_text=True).split("\n")
    root = base64.b64decode(lines[2], validate=True)
    assert lines[0] and len(root) == 32, lines
    return lines[0], int(lines[1]), root


def ledger_size(reader) -> int:
    return checkpoint(reader)[1]


def ledger_types(reader, start: int, end: int | None = None) -> list[str]:
    """The `type` of each ledger entry in [start, end)."""
    query = f"start={start}" + (f"&end={end}" if end is not None else "")
    r = reader.get(f"{API}/ledger/entries?{query}")
    assert r.status_code == 200, r.get_data(as_text=True)
    return [json.loads(line)["type"] for line in r.get_data(as_text=True).splitlines() if line]


def assert_audit_clean(app, session, reader=None) -> int:
    """Replaying the whole ledger gives exactly the registry's tables; returns the ledger size."""
    session.rollback()  # a fresh snapshot: this session may have read (or written units) earlier
    try:
        with app.app_context():
            diffs, size = run_audit(session)
    finally:
        session.rollback()
    assert diffs == [], diffs
    if reader is not None:
        assert ledger_size(reader) == size
    return size


# -- builders -------------------------------------------------------------------------------------------------
def lot_body(card_no: str, weight: str, custodian: str = YARD, **extra: Any) -> dict:
    return {"card_no": card_no, "custodian": custodian, "commodity": "A00铝锭", "weight_t": weight,
            "owner": OWNER, "location": f"A区-{card_no}", **extra}


def register_lots(unit, weights: Iterable[str], prefix: str = "ZJ-AL", custodian: str = YARD,
                  **extra: Any) -> list[dict]:
    """Register one lot per weight, card numbers prefix-0001, prefix-0002, …"""
    body = {"lots": [lot_body(f"{prefix}-{i + 1:04d}", w, custodian, **extra) for i, w in enumerate(weights)]}
    lots = ok(unit.post(f"{API}/lots", json=body), 201)["lots"]
    assert [lot["card_no"] for lot in lots] == [lot["card_no"] for lot in body["lots"]]
    return lots


def open_case(unit, number: str, kind: str = "execution") -> dict:
    case = ok(unit.post(f"{API}/cases", json={"number": number, "kind": kind, "applicant": "债权人",
                                              "respondent": OWNER}), 201)
    assert case["number"] == case_number(number) and case["acting_unit"] == unit.code, case
    return case


def ids(lots: Iterable[dict]) -> list[int]:
    return [lot["id"] for lot in lots]


def seize_body(case: dict, lots: Iterable[dict], document_no: str, served_at: str = SERVED,
               term_end: str | None = None, kind: str = "seal") -> dict:
    body = {"case_id": case["id"], "kind": kind, "document_no": document_no, "served_at": served_at,
            "lot_ids": ids(lots)}
    if term_end is not None:
        body["term_end"] = term_end
    return body


def try_seize(unit, case: dict, lots: Iterable[dict], document_no: str, headers: dict | None = None, **kw: Any):
    return unit.post(f"{API}/seizures", json=seize_body(case, lots, document_no, **kw), headers=headers)


def seize(unit, case: dict, lots: Iterable[dict], document_no: str, **kw: Any) -> dict:
    """A seizure that must be recorded; returns the 201 body."""
    lots = list(lots)
    seizure = ok(try_seize(unit, case, lots, document_no, **kw), 201)
    assert seizure["case_id"] == case["id"] and seizure["document_no"] == document_no, seizure
    assert sorted(x["lot_id"] for x in seizure["lots"]) == sorted(ids(lots)), seizure
    return seizure


def per_lot(seizure: dict) -> dict[int, dict]:
    """A seizure's lots by lot id."""
    return {x["lot_id"]: x for x in seizure["lots"]}


def release(unit, seizure: dict | int, document_no: str, lot_ids: list[int] | None = None):
    sid = seizure if isinstance(seizure, int) else seizure["id"]
    body = {"document_no": document_no, "reason": "申请人撤回申请"}
    if lot_ids is not None:
        body["lot_ids"] = lot_ids
    return unit.post(f"{API}/seizures/{sid}/release", json=body)


def renew(unit, seizure: dict | int, term_end: str, document_no: str):
    sid = seizure if isinstance(seizure, int) else seizure["id"]
    return unit.post(f"{API}/seizures/{sid}/renew", json={"term_end": term_end, "document_no": document_no})


def transfer(unit, case: dict, mode: str, to_unit: str, document_no: str):
    return unit.post(f"{API}/cases/{case['id']}/transfers",
                     json={"mode": mode, "to_unit": to_unit, "document_no": document_no})


def execute(unit, case: dict, lots: Iterable[dict], document_no: str, kind: str = "delivery",
            override: str | None = None, headers: dict | None = None):
    body = {"case_id": case["id"], "kind": kind, "document_no": document_no, "lot_ids": ids(lots),
            "recipient": "某银行股份有限公司上海分行"}
    if override is not None:
        body["override_document_no"] = override
    return unit.post(f"{API}/executions", json=body, headers=headers)


def check(unit, case: dict, lots: Iterable[dict] | None = None, card_nos: list[str] | None = None,
          custodian: str = YARD) -> dict:
    body: dict[str, Any] = {"case_id": case["id"]}
    if card_nos is not None:
        body.update(card_nos=card_nos, custodian=custodian)
    else:
        body["lot_ids"] = ids(lots or [])
    return ok(unit.post(f"{API}/executions/check", json=body))


def split(unit, lot: dict, parts: list[tuple[str, str]], document_no: str):
    return unit.post(f"{API}/lots/{lot['id']}/split", json={
        "parts": [{"card_no": c, "weight_t": w} for c, w in parts], "document_no": document_no})


# -- reading --------------------------------------------------------------------------------------------------
def lot_view(reader, lot: dict | int, as_of: str | None = None) -> dict:
    lot_id = lot if isinstance(lot, int) else lot["id"]
    path = f"{API}/lots/{lot_id}" + (f"?as_of={as_of.replace('+', '%2B')}" if as_of else "")
    return ok(reader.get(path))


def queue(reader, lot: dict | int, as_of: str | None = None) -> list[tuple[int, int, str]]:
    """The live queue as (seizure_id, rank, status), in the order the lot view lists it."""
    return [(s["seizure_id"], s["rank"], s["status"]) for s in lot_view(reader, lot, as_of)["seizures"]]


def history(reader, lot: dict | int, as_of: str | None = None) -> list[tuple[int, Any, str]]:
    return [(s["seizure_id"], s["rank"], s["status"]) for s in lot_view(reader, lot, as_of)["history"]]


def seizure_view(reader, seizure: dict | int) -> dict:
    sid = seizure if isinstance(seizure, int) else seizure["id"]
    return ok(reader.get(f"{API}/seizures/{sid}"))


def notifications(unit, after: str | None = None) -> list[dict]:
    path = f"{API}/notifications" + (f"?after={after}" if after else "")
    return ok(unit.get(path))["items"]


@contextmanager
def nothing_changes(reader, lots: Iterable[dict | int] = (), seizures: Iterable[dict | int] = (),
                    cases: Iterable[dict] = ()) -> Iterator[None]:
    """The signed tree (size and root) and the JSON of every named lot, seizure and case, and of the lot list,
    are the same after the block."""
    lot_ids = [x if isinstance(x, int) else x["id"] for x in lots]
    seizure_ids = [x if isinstance(x, int) else x["id"] for x in seizures]

    def state() -> tuple:
        return (checkpoint(reader), [lot_view(reader, i) for i in lot_ids],
                [seizure_view(reader, i) for i in seizure_ids],
                [ok(reader.get(f"{API}/cases/{c['id']}")) for c in cases],
                ok(reader.get(f"{API}/lots?limit=1000"))["items"])
    before = state()
    yield
    after = state()
    assert after[0] == before[0], f"the ledger moved from {before[0][1]} to {after[0][1]} entries"
    assert after == before


# -- time -----------------------------------------------------------------------------------------------------
def beijing_midnight_after(day: str) -> datetime:
    """24:00 Beijing time of `day`, i.e. the instant a term ending that day ends (as UTC)."""
    d = date.fromisoformat(day) + timedelta(days=1)
    return datetime(d.year, d.month, d.day, tzinfo=BEIJING).astimezone(timezone.utc)


def iso(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def weight_sum(weights: Iterable[str]) -> str:
    return f"{sum((Decimal(w) for w in weights), Decimal(0)):.4f}"
