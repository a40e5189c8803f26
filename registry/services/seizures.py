"""Seizing, releasing and renewing: the 轮候 queue kept by registration order."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import Date, bindparam, insert, select, update
from sqlalchemy.orm import Session

from ..driver import Direct
from ..models import Hold, Renewal, Seizure
from ..types import UTCDateTime
from ..rules import DomainError, HoldFacts, beijing_date, decisions, lot_status, max_term_end, queue_at
from .facts import active_read, case_and_lots, case_and_lots_read, lot_facts, not_found, one_case, require_active
from .ledger_log import RowsWithEntry, ledger_time
from . import standing
from .tx import Tx, run_write


@dataclass(frozen=True)
class Seized:
    """A new seizure and, per lot, where it stands at the instant it was recorded."""

    seizure: Seizure
    lots: list[dict[str, Any]]


def _standing(lot, plan, now: datetime, requested: date | None) -> dict[str, Any]:
    effective = plan.rank == 1
    last_day = (requested or max_term_end(beijing_date(now), lot.property_class)) if effective else None
    return {"lot_id": lot.id, "card_no": lot.card_no, "rank": plan.rank,
            "status": "effective" if effective else "queued", "effective_from": now if effective else None,
            "term_end": last_day, "ended_at": None}


def seize(session: Session, actor: str, case_id: int, kind: str, document_no: str, served_at: datetime,
          term_end: date | None, lot_ids: list[int], idem=None) -> Seized:
    """One seizure on every listed lot or on none; each lot's rank is its place in the queue."""
    def work(tx: Tx) -> Seized:
        require_active(session, actor)
        case, lots = case_and_lots(session, case_id, lot_ids)
        plans = decisions.seize(case, actor, lots, tx.now, served_at, term_end)
        # A plain value, not added to the session: the unit of work costs more than the two inserts.
        seizure = Seizure(case_id=case_id, unit_code=actor, kind=kind, document_no=document_no,
                          served_at=served_at.astimezone(timezone.utc), recorded_at=tx.now, term_end=term_end)
        position = tx.head.size  # the seq of this seizure's ledger entry: registration order
        held = [(p.lot_id, p.term_days) for p in plans]
        after = [standing.with_holds(lot, [HoldFacts(0, lot.id, case_id, position, tx.now, p.term_days)])
                 for lot, p in zip(lots, plans)]
        rows = None
        if tx.reserved_id is None:
            seizure.id = _insert_seizure(session, seizure, position, held)
        else:  # PostgreSQL: the seizure and its holds go in with the entry, one round trip under the lock
            seizure.id = tx.reserved_id
            rows = (_SEIZURE_WITH_ENTRY, {**_seizure_values(seizure), "seizure_id": seizure.id,
                                          "position": position, "lot_ids": [i for i, _ in held],
                                          "term_days": [d for _, d in held]})
        tx.record("seizure.registered", {
            "id": seizure.id, "case_id": case_id, "kind": kind, "document_no": document_no,
            "served_at": ledger_time(served_at), "term_end": term_end.isoformat() if term_end else None,
            "lots": [{"lot_id": p.lot_id, "term_days": p.term_days} for p in plans]}, rows)
        standing.store(tx, after)
        return Seized(seizure, [_standing(lot, plan, tx.now, term_end) for lot, plan in zip(lots, plans)])
    return run_write(session, actor, work, idem, reserve="seizures_id_seq",
                     reads=[active_read(actor), case_and_lots_read(session, case_id, lot_ids)])


def _seizure_values(seizure: Seizure) -> dict[str, Any]:
    return {c: getattr(seizure, c) for c in _SEIZURE_COLUMNS}


def _insert_seizure(session: Session, seizure: Seizure, position: int, lots: list[tuple[int, int | None]]) -> int:
    """Insert the seizure and its holds; return its id (SQLite: the id comes from the insert)."""
    connection = session.connection()
    [(seizure_id,)] = _INSERT_SEIZURE.rows(connection, _seizure_values(seizure))
    _INSERT_HOLD.run_many(connection, [{"seizure_id": seizure_id, "lot_id": lot_id, "case_id": seizure.case_id,
                                        "position": position, "registered_at": seizure.recorded_at,
                                        "term_days": term_days} for lot_id, term_days in lots])
    return seizure_id


_SEIZURE_COLUMNS = ("case_id", "unit_code", "kind", "document_no", "served_at", "recorded_at", "term_end")
_INSERT_SEIZURE = Direct(insert(Seizure.__table__).values({c: bindparam(c) for c in _SEIZURE_COLUMNS})
                         .returning(Seizure.id))
_HOLD_COLUMNS = ("seizure_id", "lot_id", "case_id", "position", "registered_at", "term_days")
_INSERT_HOLD = Direct(insert(Hold.__table__).values({c: bindparam(c) for c in _HOLD_COLUMNS}))
# The seizure (its id reserved with the head lock) and all its holds, written with its ledger entry.
_SEIZURE_WITH_ENTRY = RowsWithEntry(
    """
    seizure AS (INSERT INTO seizures (id, case_id, unit_code, kind, document_no, served_at, recorded_at, term_end)
                VALUES (:seizure_id, :case_id, :unit_code, :kind, :document_no, :served_at, :recorded_at,
                        :term_end)),
         holds AS (INSERT INTO holds (seizure_id, lot_id, case_id, position, registered_at, term_days)
                   SELECT :seizure_id, lot.id, :case_id, :position, :recorded_at, lot.term_days
                   FROM unnest(CAST(:lot_ids AS bigint[]), CAST(:term_days AS integer[])) AS lot(id, term_days))""",
    (bindparam("served_at", type_=UTCDateTime()), bindparam("recorded_at", type_=UTCDateTime()),
     bindparam("term_end", type_=Date())))


def get_seizure(session: Session, seizure_id: int) -> Seizure:
    seizure = session.get(Seizure, seizure_id)
    if seizure is None:
        raise not_found("seizure", seizure_id)
    return seizure


def _lot_ids(session: Session, seizure_id: int, wanted: list[int] | None) -> list[int]:
    held = list(session.scalars(select(Hold.lot_id).where(Hold.seizure_id == seizure_id).order_by(Hold.lot_id)))
    if wanted is None:
        return held
    stray = [i for i in wanted if i not in held]
    if stray:
        raise DomainError("validation_error", f"seizure {seizure_id} is not on lot(s) {stray}",
                          errors={"lot_ids": [f"not in this seizure: {stray}"]})
    return list(dict.fromkeys(wanted))


def _live_lot_ids(lots, seizure_id: int, now: datetime, *statuses: str) -> list[int]:
    """The lots where the seizure is still live (or in one of `statuses`), the lot neither split nor disposed."""
    wanted = statuses or ("effective", "queued")
    return [lot.id for lot in lots if lot_status(lot, queue_at(lot, now), now) in ("free", "seized")
            and (v := queue_at(lot, now).of_seizure(seizure_id)) is not None and v.status in wanted]


def release(session: Session, actor: str, seizure_id: int, document_no: str, reason: str,
            lot_ids: list[int] | None, idem=None) -> tuple[int, list[tuple[int, int, int]]]:
    """Release on all (or the listed) lots; the next in each queue becomes effective at this instant."""
    def work(tx: Tx) -> tuple[int, list[tuple[int, int, int]]]:
        seizure = get_seizure(session, seizure_id)
        lots = lot_facts(session, _lot_ids(session, seizure_id, lot_ids))
        if lot_ids is None:  # "all its lots" means the ones it still holds
            lots = [lot for lot in lots if lot.id in _live_lot_ids(lots, seizure_id, tx.now)] or lots
        promoted = decisions.release(one_case(session, seizure.case_id), actor, seizure_id, lots, tx.now)
        released = [lot.id for lot in lots]
        session.execute(update(Hold).where(Hold.seizure_id == seizure_id, Hold.lot_id.in_(released)).values(
            ended_at=tx.now, end_status="released", end_document_no=document_no))
        ended = {seizure_id: {"ended_at": tx.now, "end_status": "released"}}
        standing.store(tx, [standing.with_holds(lot, changed=ended) for lot in lots])
        tx.record("seizure.released", {"seizure_id": seizure_id, "lot_ids": released,
                                       "document_no": document_no, "reason": reason})
        return seizure_id, promoted
    return run_write(session, actor, work, idem)


def renew(session: Session, actor: str, seizure_id: int, term_end: date, document_no: str,
          lot_ids: list[int] | None, idem=None) -> int:
    """续封: a new last day for the effective seizure on each lot, keeping its rank."""
    def work(tx: Tx) -> int:
        seizure = get_seizure(session, seizure_id)
        lots = lot_facts(session, _lot_ids(session, seizure_id, lot_ids))
        if lot_ids is None:  # "the seizure" means the lots where its term is running; queued ones wait
            lots = [lot for lot in lots if lot.id in _live_lot_ids(lots, seizure_id, tx.now, "effective")] or lots
        plans = decisions.renew(one_case(session, seizure.case_id), actor, seizure_id, lots, tx.now, term_end)
        previous = _current_terms(lots, seizure_id, tx.now)
        recorded = {h.lot_id: h for lot in lots for h in lot.holds if h.seizure_id == seizure_id}
        for lot_id, last_day in plans:
            session.execute(update(Hold).where(Hold.seizure_id == seizure_id, Hold.lot_id == lot_id)
                            .values(term_end=last_day, effective_from=previous[lot_id][1]))
            session.add(Renewal(seizure_id=seizure_id, lot_id=lot_id, previous_term_end=previous[lot_id][0],
                                prior_term_end=recorded[lot_id].term_end,
                                prior_effective_from=recorded[lot_id].effective_from,
                                term_end=last_day, document_no=document_no, at=tx.now))
        renewed = dict(plans)
        standing.store(tx, [standing.with_holds(lot, changed={seizure_id: {"term_end": renewed[lot.id],
                                                                     "effective_from": previous[lot.id][1]}})
                               for lot in lots if lot.id in renewed])
        tx.record("seizure.renewed", {"seizure_id": seizure_id, "document_no": document_no,
                                      "term_end": term_end.isoformat(),
                                      "lots": [{"lot_id": lot_id, "effective_from": ledger_time(previous[lot_id][1])}
                                               for lot_id, _ in plans]})
        return seizure_id
    return run_write(session, actor, work, idem)


def _current_terms(lots, seizure_id: int, now: datetime) -> dict[int, tuple[date, datetime]]:
    """Fixing the start along with the new last day keeps the walk's answer stable for this hold."""
    found: dict[int, Any] = {}
    for lot in lots:
        view = queue_at(lot, now).of_seizure(seizure_id)
        if view is not None and view.term_end is not None:
            found[lot.id] = (view.term_end, view.effective_from)
    return found
