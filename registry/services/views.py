"""Read models: what a clerk sees of a lot, a seizure, a case, as of any instant."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import in_one_snapshot, more_reads
from ..models import Case, CaseTransfer, Hold, Lot
from ..rules import HoldView, LotFacts, QueueView, disposer_case_id, lot_flags, lot_status, queue_at
from .cases import assisting_units, get_case
from .facts import load_lots, lot_facts
from .seizures import get_seizure
from .tx import read_now


def lot_summary(lot: Lot, facts: LotFacts, now: datetime, queue: QueueView | None = None) -> dict[str, Any]:
    queue = queue or queue_at(facts, _frozen_at(facts, now))
    return {"id": lot.id, "card_no": lot.card_no, "commodity": lot.commodity, "weight_t": lot.weight_t,
            "location": lot.location, "custodian": lot.custodian, "owner": lot.owner,
            "property_class": lot.property_class, "parent_id": lot.parent_id,
            "status": lot_status(facts, queue, now), "flags": lot_flags(facts, queue, now)}


def _frozen_at(facts: LotFacts, now: datetime) -> datetime:
    """A split lot's queue is shown as it stood when it was split; its parts carry it on."""
    return min(now, facts.split_at) if facts.split_at is not None else now


def lot_summaries(session: Session, lots: list[Lot], now: datetime) -> list[dict[str, Any]]:
    facts = {f.id: f for f in lot_facts(session, [lot.id for lot in lots])}
    return [lot_summary(lot, facts[lot.id], now) for lot in lots]


def lot_view(session: Session, lot_id: int, as_of: datetime | None = None) -> dict[str, Any]:
    """The lot, its live queue in rank order, its ended seizures, who may dispose, now or as of `as_of`.

    Now, a lot with one statement's worth of facts (no split, objection or transfer) is read in that one
    statement, the ledger's time included (see `db.read_by_statement`).
    """
    return in_one_snapshot(session, lambda: _lot_view(session, lot_id, as_of))


def _lot_view(session: Session, lot_id: int, as_of: datetime | None) -> dict[str, Any]:
    # Now, nothing recorded lies after the instant, so nothing needs undoing (no rewind).
    loaded = load_lots(session, [lot_id], as_of=as_of, for_view=True)
    now = as_of if as_of is not None else read_now(session)  # the ledger's time as the lot's query saw it
    (facts,), lot = loaded.facts, loaded.rows[lot_id]
    queue = queue_at(facts, _frozen_at(facts, now))
    disposer = disposer_case_id(facts, queue)
    children = []
    if facts.split_at is not None:
        more_reads(session)
        children = session.scalars(select(Lot.id).where(Lot.parent_id == lot_id, Lot.registered_at <= now)
                                   .order_by(Lot.id)).all()
    return {**lot_summary(lot, facts, now, queue), "as_of": now,
            "seizures": [_entry(v, facts, loaded.seizures) for v in queue.live],
            "history": [_entry(v, facts, loaded.seizures) for v in queue.ended],
            "disposer": {"case_id": disposer, "unit": facts.cases[disposer].acting_unit} if disposer else None,
            "children": list(children), "objections": loaded.objection_ids.get(lot_id, [])}


def _entry(view: HoldView, facts: LotFacts, seizures: dict[int, tuple[str, str]]) -> dict[str, Any]:
    case = facts.cases[view.hold.case_id]
    kind, document_no = seizures[view.hold.seizure_id]
    return {"seizure_id": view.hold.seizure_id, "case_id": case.id, "case_number": case.number,
            "unit": case.acting_unit, "kind": kind, "document_no": document_no, "rank": view.rank,
            "status": view.status, "registered_at": view.hold.registered_at, "effective_from": view.effective_from,
            "term_end": view.term_end, "term_days": view.hold.term_days, "ended_at": view.ended_at}


def seizure_view(session: Session, seizure_id: int, now: datetime) -> dict[str, Any]:
    seizure = get_seizure(session, seizure_id)
    lot_ids = session.scalars(select(Hold.lot_id).where(Hold.seizure_id == seizure_id).order_by(Hold.lot_id))
    lots = []
    for facts in lot_facts(session, list(lot_ids)):
        view = queue_at(facts, _frozen_at(facts, now)).of_seizure(seizure_id)
        lots.append({"lot_id": facts.id, "card_no": facts.card_no, "rank": view.rank, "status": view.status,
                     "effective_from": view.effective_from, "term_end": view.term_end,
                     "ended_at": view.ended_at})
    return {"id": seizure.id, "case_id": seizure.case_id, "unit": seizure.unit_code, "kind": seizure.kind,
            "document_no": seizure.document_no, "served_at": seizure.served_at,
            "recorded_at": seizure.recorded_at, "term_end": seizure.term_end, "lots": lots}


def case_view(session: Session, case_id: int) -> dict[str, Any]:
    case = get_case(session, case_id)
    return case_dict(session, case)


def case_dict(session: Session, case: Case) -> dict[str, Any]:
    transfers = session.scalars(select(CaseTransfer).where(CaseTransfer.case_id == case.id)
                                .order_by(CaseTransfer.id))
    return {"id": case.id, "number": case.number, "kind": case.kind, "applicant": case.applicant,
            "respondent": case.respondent, "owner_unit": case.owner_unit, "acting_unit": case.acting_unit,
            "assisting_units": assisting_units(session, case.id), "previous_number": case.previous_number,
            "opened_at": case.opened_at,
            "transfers": [{"mode": t.mode, "from_unit": t.from_unit, "to_unit": t.to_unit,
                           "document_no": t.document_no, "at": t.at} for t in transfers]}
