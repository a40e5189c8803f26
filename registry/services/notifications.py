"""Notifications for a unit, derived from the queues of its cases' lots at the time asked.

A unit hears of its own seizures (queued behind another case, made effective, expired, voided, expiring) and,
while its seizure is the effective one on a lot, of every other case that joins the queue there.

Nothing is stored: promotion and expiry happen at an instant without any act, so the only way to tell a
unit about them without a background job is to derive them, the same way the lot view derives status.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import Case, CaseAssistant, Hold
from ..rules import HoldView, LotFacts, end_of_term, queue_at
from ..rules.terms import EXPIRING_WINDOW
from .facts import lot_facts
from .ledger_log import ledger_time
from .holders import names_of


def _unit_case_ids(session: Session, unit: str) -> set[int]:
    assisted = select(CaseAssistant.case_id).where(CaseAssistant.unit_code == unit)
    return set(session.scalars(select(Case.id).where(
        or_(Case.acting_unit == unit, Case.owner_unit == unit, Case.id.in_(assisted)))))


def notifications(session: Session, unit: str, now: datetime, after: str | None, limit: int
                  ) -> tuple[list[dict[str, Any]], str | None]:
    """The unit's notifications with an id greater than `after`, oldest first (ids sort by time)."""
    cases = _unit_case_ids(session, unit)
    lot_ids = set(session.scalars(select(Hold.lot_id).where(Hold.case_id.in_(cases)))) if cases else set()
    found = [n for lot in lot_facts(session, sorted(lot_ids)) for n in _lot_events(lot, cases, now)]
    found = sorted((n for n in found if after is None or n["id"] > after), key=lambda n: n["id"])
    page = found[:limit]
    names = names_of(session, {n[k] for n in page for k in ("unit", "behind_unit", "joined_unit") if n[k]})
    for n in page:
        for k in ("unit", "behind_unit", "joined_unit"):
            n[f"{k}_name"] = names.get(n[k]) if n[k] else None
    return page, page[-1]["id"] if len(found) > limit else None


def _lot_events(lot: LotFacts, cases: set[int], now: datetime) -> Iterator[dict[str, Any]]:
    queue = queue_at(lot, now)
    for view in queue.live + queue.ended:
        if view.hold.case_id in cases:
            yield from _hold_events(lot, view, now)
    yield from _joined(lot, cases, now)


def _joined(lot: LotFacts, cases: set[int], now: datetime) -> Iterator[dict[str, Any]]:
    """Another case's seizure registered while one of the unit's cases held the effective one on the lot."""
    for hold in lot.holds:
        if hold.registered_at > now:
            continue
        at_once = queue_at(lot, hold.registered_at)
        head, joined = at_once.effective, at_once.of_seizure(hold.seizure_id)
        if (head is None or joined is None or head.hold.case_id not in cases or head.hold.case_id == hold.case_id
                or joined.rank is None or joined.status != "queued"):
            continue
        event = _event("joined_queue", hold.registered_at, lot, head)
        other = lot.cases.get(hold.case_id)
        event.update(id=f"{ledger_time(hold.registered_at)}~joined_queue~{hold.seizure_id}~{lot.id}",
                     joined_case_id=hold.case_id, joined_case_number=other.number if other else None,
                     joined_unit=other.acting_unit if other else None, rank=joined.rank)
        yield event


def _hold_events(lot: LotFacts, view: HoldView, now: datetime) -> Iterator[dict[str, Any]]:
    hold = view.hold
    if view.effective_from is None or view.effective_from > hold.registered_at:
        then = queue_at(lot, hold.registered_at)
        ahead, mine = then.effective, then.of_seizure(hold.seizure_id)
        if ahead is not None and ahead.hold.seizure_id != hold.seizure_id:
            queued = _event("queued", hold.registered_at, lot, view, lot.cases.get(ahead.hold.case_id))
            queued["rank"] = mine.rank if mine is not None else None  # its place when it joined
            yield queued
    if view.effective_from is not None and view.effective_from > hold.registered_at:
        yield _event("effective", view.effective_from, lot, view)
    if view.status in ("expired", "voided"):
        yield _event(view.status, view.ended_at, lot, view)
    if view.status == "effective" and view.term_end is not None:
        # It enters the 30-day window at the later of "30 days before the end" and "became effective".
        warn_at = max(end_of_term(view.term_end) - EXPIRING_WINDOW, view.effective_from or hold.registered_at)
        if warn_at <= now:
            yield _event("expiring", warn_at, lot, view)


def _event(kind: str, at: datetime, lot: LotFacts, view: HoldView, other=None) -> dict[str, Any]:
    case = lot.cases.get(view.hold.case_id)
    return {"id": f"{ledger_time(at)}~{kind}~{view.hold.seizure_id}~{lot.id}", "type": kind, "at": at,
            "lot_id": lot.id, "card_no": lot.card_no, "seizure_id": view.hold.seizure_id,
            "case_id": view.hold.case_id, "case_number": case.number if case else None,
            "unit": case.acting_unit if case else None, "term_end": view.term_end, "rank": view.rank,
            "behind_case_id": other.id if other else None, "behind_case_number": other.number if other else None,
            "behind_unit": other.acting_unit if other else None,
            "joined_case_id": None, "joined_case_number": None, "joined_unit": None}
