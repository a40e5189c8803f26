"""Load the facts the rules decide on, in a few set-based queries, optionally as of an instant."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import Case, CaseAssistant, CaseTransfer, DisposalTransfer, Hold, Lot, Objection, Renewal, Unit
from ..rules import CaseFacts, DomainError, HoldFacts, LotFacts, UnitFacts


def not_found(what: str, key: object) -> DomainError:
    return DomainError("not_found", f"no {what} {key}")


def unit_facts(session: Session, code: str) -> UnitFacts:
    unit = session.get(Unit, code)
    if unit is None:
        raise not_found("unit", code)
    ancestors: list[str] = []
    parent = unit.parent_code
    while parent is not None and parent not in ancestors:
        ancestors.append(parent)
        parent = session.scalar(select(Unit.parent_code).where(Unit.code == parent))
    return UnitFacts(unit.code, unit.kind, tuple(ancestors))


def case_facts(session: Session, case_ids: Iterable[int], as_of: datetime | None = None) -> dict[int, CaseFacts]:
    """Cases by id; with `as_of`, acting and assisting units as they stood then."""
    ids = set(case_ids)
    if not ids:
        return {}
    cases = session.execute(select(Case.id, Case.number, Case.kind, Case.owner_unit, Case.acting_unit,
                                   Case.previous_number).where(Case.id.in_(ids))).all()
    assists: dict[int, set[str]] = {}
    query = select(CaseAssistant.case_id, CaseAssistant.unit_code).where(CaseAssistant.case_id.in_(ids))
    if as_of is not None:
        query = query.where(CaseAssistant.since <= as_of)
    for case_id, unit_code in session.execute(query):
        assists.setdefault(case_id, set()).add(unit_code)
    acting = {c.id: c.acting_unit for c in cases}
    kinds = {c.id: c.kind for c in cases}
    numbers = {c.id: c.number for c in cases}
    if as_of is not None:
        _rewind(session, cases, as_of, acting, kinds, numbers)
    return {c.id: CaseFacts(c.id, numbers[c.id], kinds[c.id], c.owner_unit, acting[c.id],
                            frozenset(assists.get(c.id, ()))) for c in cases}


def _rewind(session: Session, cases: list, as_of: datetime, acting: dict, kinds: dict,
            numbers: dict) -> None:
    """Undo the transfers and conversions made after `as_of`, newest first."""
    later = session.scalars(select(CaseTransfer).where(CaseTransfer.case_id.in_(acting), CaseTransfer.at > as_of)
                            .order_by(CaseTransfer.at.desc())).all()
    previous = {c.id: c.previous_number for c in cases}
    for t in later:
        if t.mode in ("elevate", "designate", "takeover"):
            acting[t.case_id] = t.from_unit
        elif t.mode == "convert":
            kinds[t.case_id], numbers[t.case_id] = "preservation", previous[t.case_id]


def one_case(session: Session, case_id: int) -> CaseFacts:
    found = case_facts(session, [case_id])
    if case_id not in found:
        raise not_found("case", case_id)
    return found[case_id]


def lot_facts(session: Session, lot_ids: Iterable[int], as_of: datetime | None = None,
              missing_ok: bool = False) -> list[LotFacts]:
    """Lots with their holds, objections, disposal transfers and the cases involved, in request order."""
    wanted = list(dict.fromkeys(lot_ids))
    # Plain rows, not ORM objects: building identity-mapped instances cost more than the queries.
    lots = {lot.id: lot for lot in session.execute(select(*LOT_COLUMNS).where(Lot.id.in_(wanted)))
            if as_of is None or lot.registered_at <= as_of}
    missing = [i for i in wanted if i not in lots]
    if missing and not missing_ok:
        raise DomainError("not_found", f"no lot {', '.join(map(str, missing))}")
    holds: dict[int, list[HoldFacts]] = {}
    rewound = _before_renewals(session, lots, as_of) if as_of is not None else {}
    for h in session.execute(select(*HOLD_COLUMNS).where(Hold.lot_id.in_(lots))):
        holds.setdefault(h.lot_id, []).append(_hold(h, as_of, rewound.get((h.seizure_id, h.lot_id))))
    lines = lineage(session, lots.values())
    related = {i for line in lines.values() for i in line}
    by_lot = _pending_objections(session, related, as_of)
    by_lot_transfers = _disposal_transfers(session, related, as_of)
    # What binds a lot binds its parts: objections and disposal rights on an ancestor still hold.
    objections = {i: [u for a in lines[i] for u in by_lot.get(a, ())] for i in lots}
    transfers = {i: [t for a in reversed(lines[i]) for t in by_lot_transfers.get(a, ())] for i in lots}
    case_ids = {h.case_id for hs in holds.values() for h in hs} | {to for ts in transfers.values() for _, to in ts}
    cases = case_facts(session, case_ids, as_of)
    return [_lot(lots[i], as_of, tuple(holds.get(i, ())), tuple(objections.get(i, ())),
                 tuple(transfers.get(i, ())), cases) for i in wanted if i in lots]


LOT_COLUMNS = (Lot.id, Lot.card_no, Lot.custodian, Lot.weight_t, Lot.property_class, Lot.parent_id,
               Lot.registered_at, Lot.disposed_at, Lot.split_at)
HOLD_COLUMNS = (Hold.seizure_id, Hold.lot_id, Hold.case_id, Hold.position, Hold.registered_at, Hold.term_days,
                Hold.term_end, Hold.effective_from, Hold.ended_at, Hold.end_status)


def lineage(session: Session, lots: Iterable[Lot]) -> dict[int, list[int]]:
    """Each lot's id followed by its ancestors' ids (a split part, its parent, …)."""
    parents = {lot.id: lot.parent_id for lot in lots}
    wanted = {p for p in parents.values() if p is not None and p not in parents}
    while wanted:
        rows = session.execute(select(Lot.id, Lot.parent_id).where(Lot.id.in_(wanted))).all()
        parents.update(dict(rows))
        wanted = {p for _, p in rows if p is not None and p not in parents}
    lines = {}
    for lot in lots:
        line, current = [], lot.id
        while current is not None:
            line.append(current)
            current = parents.get(current)
        lines[lot.id] = line
    return lines


def _before_renewals(session: Session, lot_ids, as_of: datetime) -> dict[tuple[int, int], Renewal]:
    """Per hold, the first renewal after `as_of`: its prior facts are the ones in force at `as_of`."""
    first: dict[tuple[int, int], Renewal] = {}
    for r in session.scalars(select(Renewal).where(Renewal.lot_id.in_(lot_ids), Renewal.at > as_of)
                             .order_by(Renewal.at.desc())):
        first[(r.seizure_id, r.lot_id)] = r
    return first


def _hold(h: Hold, as_of: datetime | None, renewal: Renewal | None = None) -> HoldFacts:
    ended = h.ended_at is not None and (as_of is None or h.ended_at <= as_of)
    if renewal is not None:
        term_end, since = renewal.prior_term_end, renewal.prior_effective_from
    else:
        term_end, since = h.term_end, h.effective_from
    return HoldFacts(h.seizure_id, h.lot_id, h.case_id, h.position, h.registered_at, h.term_days, term_end,
                     since, h.ended_at if ended else None, h.end_status if ended else None)


def _lot(lot: Lot, as_of: datetime | None, holds, objections, transfers, cases) -> LotFacts:
    def when(t: datetime | None) -> datetime | None:
        return t if t is not None and (as_of is None or t <= as_of) else None
    return LotFacts(lot.id, lot.card_no, lot.custodian, lot.weight_t, lot.property_class, when(lot.disposed_at),
                    when(lot.split_at), holds, objections, transfers, cases)


def _pending_objections(session: Session, lot_ids, as_of: datetime | None) -> dict[int, list[str]]:
    query = select(Objection).where(Objection.lot_id.in_(lot_ids))
    if as_of is None:
        query = query.where(Objection.lifted_at.is_(None))
    else:
        query = query.where(Objection.filed_at <= as_of,
                            or_(Objection.lifted_at.is_(None), Objection.lifted_at > as_of))
    found: dict[int, list[str]] = {}
    for o in session.scalars(query.order_by(Objection.id)):
        found.setdefault(o.lot_id, []).append(o.unit_code)
    return found


def _disposal_transfers(session: Session, lot_ids, as_of: datetime | None) -> dict[int, list[tuple[int, int]]]:
    query = select(DisposalTransfer).where(DisposalTransfer.lot_id.in_(lot_ids))
    if as_of is not None:
        query = query.where(DisposalTransfer.at <= as_of)
    found: dict[int, list[tuple[int, int]]] = {}
    for t in session.scalars(query.order_by(DisposalTransfer.id)):
        found.setdefault(t.lot_id, []).append((t.from_seizure_id, t.to_case_id))
    return found
