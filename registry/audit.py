"""The registry's tables as the ledger's replay sees them, and the audit that compares the two."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.chain import Entry
from ledger.replay import Replay, State, differences, empty_state, hold_key

from . import models as m
from .services.ledger_log import ledger_size, ledger_time

LOT_FIELDS = ("card_no", "custodian", "commodity", "location", "owner", "property_class", "parent_id")


def _t(value: datetime | None) -> str | None:
    return ledger_time(value) if value is not None else None


def _d(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _w(value: Decimal) -> str:
    return f"{value:.4f}"


def snapshot(session: Session) -> State:
    """Every recorded fact in the tables, keyed and formatted exactly as ledger.replay builds them."""
    state = empty_state()
    for u in session.scalars(select(m.Unit)):
        state["units"][u.code] = {"name": u.name, "kind": u.kind, "parent": u.parent_code,
                                  "created_at": _t(u.created_at)}
    for t in session.scalars(select(m.Token)):
        state["tokens"][t.id] = {"unit": t.unit_code, "revoked_at": _t(t.revoked_at)}
    for lot in session.scalars(select(m.Lot)):
        state["lots"][str(lot.id)] = {**{f: getattr(lot, f) for f in LOT_FIELDS}, "weight_t": _w(lot.weight_t),
                                      "registered_at": _t(lot.registered_at), "disposed_at": _t(lot.disposed_at),
                                      "split_at": _t(lot.split_at)}
    _cases(session, state)
    _seizures(session, state)
    _others(session, state)
    return state


def _cases(session: Session, state: State) -> None:
    assisting: dict[int, list[str]] = {}
    for a in session.scalars(select(m.CaseAssistant)):
        assisting.setdefault(a.case_id, []).append(a.unit_code)
    for c in session.scalars(select(m.Case)):
        state["cases"][str(c.id)] = {"number": c.number, "kind": c.kind, "applicant": c.applicant,
                                     "respondent": c.respondent, "owner_unit": c.owner_unit,
                                     "acting_unit": c.acting_unit, "assisting_units": sorted(assisting.get(c.id, [])),
                                     "previous_number": c.previous_number, "opened_at": _t(c.opened_at)}
    counts: dict[int, int] = {}
    for t in session.scalars(select(m.CaseTransfer).order_by(m.CaseTransfer.id)):
        n = counts[t.case_id] = counts.get(t.case_id, -1) + 1
        state["case_transfers"][f"{t.case_id}:{n}"] = {"mode": t.mode, "from_unit": t.from_unit,
                                                       "to_unit": t.to_unit, "document_no": t.document_no,
                                                       "at": _t(t.at)}


def _seizures(session: Session, state: State) -> None:
    for s in session.scalars(select(m.Seizure)):
        state["seizures"][str(s.id)] = {"case_id": s.case_id, "unit": s.unit_code, "kind": s.kind,
                                        "document_no": s.document_no, "served_at": _t(s.served_at),
                                        "recorded_at": _t(s.recorded_at), "term_end": _d(s.term_end)}
    for h in session.scalars(select(m.Hold)):
        state["holds"][hold_key(h.seizure_id, h.lot_id)] = {
            "case_id": h.case_id, "position": h.position, "registered_at": _t(h.registered_at),
            "term_days": h.term_days, "term_end": _d(h.term_end), "effective_from": _t(h.effective_from),
            "ended_at": _t(h.ended_at), "end_status": h.end_status, "end_document_no": h.end_document_no}
    counts: dict[str, int] = {}
    for r in session.scalars(select(m.Renewal).order_by(m.Renewal.id)):
        key = hold_key(r.seizure_id, r.lot_id)
        n = counts[key] = counts.get(key, -1) + 1
        state["renewals"][f"{key}:{n}"] = {"term_end": _d(r.term_end), "document_no": r.document_no,
                                           "at": _t(r.at)}


def _others(session: Session, state: State) -> None:
    lots_of: dict[int, list[int]] = {}
    for el in session.scalars(select(m.ExecutionLot)):
        lots_of.setdefault(el.execution_id, []).append(el.lot_id)
    for x in session.scalars(select(m.Execution)):
        state["executions"][str(x.id)] = {"case_id": x.case_id, "unit": x.unit_code, "kind": x.kind,
                                          "document_no": x.document_no, "recipient": x.recipient,
                                          "override_document_no": x.override_document_no,
                                          "total_weight_t": _w(x.total_weight_t),
                                          "lot_ids": sorted(lots_of.get(x.id, [])), "at": _t(x.at)}
    for t in session.scalars(select(m.DisposalTransfer)):
        state["disposal_transfers"][str(t.id)] = {"lot_id": t.lot_id, "from_case_id": t.from_case_id,
                                                  "from_seizure_id": t.from_seizure_id,
                                                  "to_case_id": t.to_case_id, "document_no": t.document_no,
                                                  "at": _t(t.at)}
    for o in session.scalars(select(m.Objection)):
        state["objections"][str(o.id)] = {"lot_id": o.lot_id, "unit": o.unit_code, "claimant": o.claimant,
                                          "document_no": o.document_no, "filed_at": _t(o.filed_at),
                                          "lifted_at": _t(o.lifted_at), "lift_document_no": o.lift_document_no}


def replay(session: Session, size: int, progress: Callable[[int], None] | None = None) -> Replay:
    """Replay the first `size` stored entries, in batches, into a fresh state."""
    rebuilt = Replay()
    for start in range(0, size, 10_000):
        rows = session.scalars(select(m.LedgerEntry.body).where(m.LedgerEntry.seq >= start,
                                                                m.LedgerEntry.seq < min(start + 10_000, size))
                               .order_by(m.LedgerEntry.seq))
        for body in rows:
            rebuilt.apply(Entry.from_bytes(bytes(body)))
        if progress is not None and size > 10_000:
            progress(min(start + 10_000, size))
    return rebuilt


def run_audit(session: Session, progress: Callable[[int], None] | None = None) -> tuple[list[str], int]:
    """Differences between the live tables and the replay of the whole ledger, read in one snapshot."""
    size = ledger_size(session)
    live = snapshot(session)
    rebuilt = replay(session, size, progress)
    return list(differences(rebuilt.state, live)), size


def state_export(session: Session) -> dict[str, Any]:
    """The tables' facts and the ledger size they correspond to, from one read snapshot."""
    return {"size": ledger_size(session), "state": snapshot(session)}
