"""Load the facts the rules decide on, in a few set-based queries, optionally as of an instant."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import and_, bindparam, exists, literal_column, null, or_, select, union_all
from sqlalchemy.orm import Session

from ..db import more_reads
from ..driver import Direct
from ..models import (Case, CaseAssistant, CaseTransfer, DisposalTransfer, Hold, Lot, Objection, Renewal, Seizure,
                      Unit)
from ..rules import CaseFacts, DomainError, HoldFacts, LotFacts, UnitFacts
from ..rules import units as unit_rules
from . import head_seen, prefetch
from .sets import among, among_or_one, among_param, dialect, listed, listed_or_one, prebuilt


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
    return UnitFacts(unit.code, unit.kind, tuple(ancestors), unit.active)


_ACTIVE = Direct(select(Unit.active).where(Unit.code == bindparam("code")))


def active_read(code: str) -> tuple[Direct, dict[str, Any]]:
    """The statement `require_active` reads, with its parameters: a write sends it with its lock."""
    return _ACTIVE, {"code": code}


def require_active(session: Session, code: str) -> None:
    """Refuse (`unit_inactive`) an act by a deactivated unit."""
    found = prefetch.rows(session, *active_read(code))
    if not found:
        raise not_found("unit", code)
    unit_rules.require_active(code, found[0][0])


CASE_COLUMNS = (Case.number, Case.kind, Case.owner_unit, Case.acting_unit, Case.previous_number)


def case_facts(session: Session, case_ids: Iterable[int], as_of: datetime | None = None) -> dict[int, CaseFacts]:
    """Cases by id; with `as_of`, acting and assisting units as they stood then."""
    ids = set(case_ids)
    if not ids:
        return {}
    name, one = dialect(session), len(ids) == 1
    rows = session.connection().execute(_cases_statement(name, as_of is not None, one),
                                        {"ids": listed_or_one(name, list(ids), one), "as_of": as_of}).all()
    return _cases(session, rows, as_of)


@prebuilt
def _cases_statement(dialect_name: str, timed: bool, one: bool):
    return select(Case.id.label("case_id"), *CASE_COLUMNS, _ASSISTANT) \
        .outerjoin(CaseAssistant, _assisting(Case.id, timed)).where(among_or_one(dialect_name, Case.id, "ids", one))


_ASSISTANT = CaseAssistant.unit_code.label("assistant")


def _assisting(case_id, timed: bool):
    """Join condition for a case's assisting units (one row each); `timed`: as they stood at :as_of."""
    condition = CaseAssistant.case_id == case_id
    return and_(condition, CaseAssistant.since <= bindparam("as_of")) if timed else condition


def _cases(session: Session, rows, as_of: datetime | None) -> dict[int, CaseFacts]:
    """CaseFacts from rows holding case_id, the CASE_COLUMNS and an assistant (or None) each."""
    cases, assists = {}, {}
    for row in rows:
        cases.setdefault(row.case_id, row)
        if row.assistant is not None:
            assists.setdefault(row.case_id, set()).add(row.assistant)
    acting = {i: c.acting_unit for i, c in cases.items()}
    kinds = {i: c.kind for i, c in cases.items()}
    numbers = {i: c.number for i, c in cases.items()}
    if as_of is not None:
        _rewind(session, cases, as_of, acting, kinds, numbers)
    return {i: CaseFacts(i, numbers[i], kinds[i], c.owner_unit, acting[i], frozenset(assists.get(i, ())))
            for i, c in cases.items()}


def _rewind(session: Session, cases: dict, as_of: datetime, acting: dict, kinds: dict,
            numbers: dict) -> None:
    """Undo the transfers and conversions made after `as_of`, newest first."""
    later = session.scalars(select(CaseTransfer).where(among(session, CaseTransfer.case_id, acting),
                                                       CaseTransfer.at > as_of)
                            .order_by(CaseTransfer.at.desc())).all()
    for t in later:
        if t.mode in ("elevate", "designate", "takeover"):
            acting[t.case_id] = t.from_unit
        elif t.mode == "convert":
            kinds[t.case_id], numbers[t.case_id] = "preservation", cases[t.case_id].previous_number


def one_case(session: Session, case_id: int) -> CaseFacts:
    found = case_facts(session, [case_id])
    if case_id not in found:
        raise not_found("case", case_id)
    return found[case_id]


def case_and_lots(session: Session, case_id: int, lot_ids: Iterable[int]) -> tuple[CaseFacts, list[LotFacts]]:
    """`one_case` and `lot_facts` in one statement: a write decides on both under the ledger-head lock,
    where every round trip delays every other write."""
    loaded = load_lots(session, lot_ids, with_case=case_id)
    assert loaded.case is not None
    return loaded.case, loaded.facts


def case_and_lots_read(session: Session, case_id: int, lot_ids: Iterable[int]) -> tuple[Direct, dict[str, Any]]:
    """The statement `case_and_lots` sends first, with its parameters: a write sends it with its lock."""
    return _first_read(dialect(session), list(dict.fromkeys(lot_ids)), None, False, case_id)


def _first_read(name: str, wanted: list[int], as_of: datetime | None, for_view: bool,
                with_case: int | None) -> tuple[Direct, dict[str, Any]]:
    one = len(wanted) == 1
    return (_lots_query(name, as_of is not None, for_view, one, with_case is not None),
            {"ids": listed_or_one(name, wanted, one), "as_of": as_of, "case_id": with_case})


def lot_facts(session: Session, lot_ids: Iterable[int], as_of: datetime | None = None,
              missing_ok: bool = False) -> list[LotFacts]:
    """Lots with their holds, objections, disposal transfers and the cases involved, in request order."""
    return load_lots(session, lot_ids, as_of, missing_ok).facts


@dataclass(frozen=True)
class LoadedLots:
    """Lots as the rules see them, plus, for a view, what a clerk reads beside them."""

    facts: list[LotFacts]  # in request order
    rows: dict[int, Any]  # the lot rows; every column when loaded for a view
    seizures: dict[int, Any] = field(default_factory=dict)  # seizure id → (kind, document_no), for a view
    objection_ids: dict[int, list[int]] = field(default_factory=dict)  # pending objections binding each lot
    case: CaseFacts | None = None  # the case asked for with `with_case`


def load_lots(session: Session, lot_ids: Iterable[int], as_of: datetime | None = None, missing_ok: bool = False,
              for_view: bool = False, with_case: int | None = None) -> LoadedLots:
    """One query for any number of lots, their holds and cases; one more only for lots that have ever had an
    objection or a disposal transfer, or that are parts of a split lot. `with_case`: that case's facts come
    with the same query (not found: 404 for the case before any lot)."""
    wanted = list(dict.fromkeys(lot_ids))
    name = dialect(session)
    if as_of is not None and wanted:
        more_reads(session)
    rewound = _before_renewals(session, wanted, as_of) if as_of is not None and wanted else {}
    lots: dict[int, Any] = {}
    holds: dict[int, dict[int, HoldFacts]] = {}
    seizures: dict[int, Any] = {}
    case_rows, asked_case_rows, bound = [], [], False
    # Plain rows through the Core connection, fetched at once: ORM loading cost more than the query.
    rows = prefetch.rows(session, *_first_read(name, wanted, as_of, for_view, with_case))
    for row in rows:
        if row.id is None:  # a row of the case asked for
            asked_case_rows.append(row)
            continue
        if as_of is not None and row.registered_at > as_of:
            continue
        lots.setdefault(row.id, row)
        bound = bound or row.ever_bound or row.parent_id is not None
        if row.seizure_id is None:
            continue
        holds.setdefault(row.id, {})[row.seizure_id] = _hold(row, as_of, rewound.get((row.seizure_id, row.id)))
        case_rows.append(row)
        if for_view:
            seizures[row.seizure_id] = (row.seizure_kind, row.document_no)
    if for_view and rows:
        head_seen.saw(session, rows[0])  # the ledger's time, in the same snapshot as the lot
    asked_case = None
    if with_case is not None:
        asked_case = _cases(session, asked_case_rows, as_of).get(with_case)
        if asked_case is None:
            raise not_found("case", with_case)
    missing = [i for i in wanted if i not in lots]
    if missing and not missing_ok:
        raise DomainError("not_found", f"no lot {', '.join(map(str, missing))}")
    if bound:  # objections, transfers or a parent lot: more to read, and it must agree with these rows
        more_reads(session)
    lines = lineage(session, lots.values())
    related = {i for line in lines.values() for i in line}
    by_lot, by_lot_transfers, ids_by_lot = _bindings(session, related, as_of) if bound else ({}, {}, {})
    # What binds a lot binds its parts: objections and disposal rights on an ancestor still hold.
    objections = {i: [u for a in lines[i] for u in by_lot.get(a, ())] for i in lots}
    transfers = {i: [t for a in reversed(lines[i]) for t in by_lot_transfers.get(a, ())] for i in lots}
    cases = _cases(session, case_rows, as_of)
    targets = {to for ts in transfers.values() for _, to in ts} - cases.keys()
    cases.update(case_facts(session, targets, as_of))
    facts = [_lot(lots[i], as_of, tuple(sorted(holds.get(i, {}).values(), key=_by_position)),
                  tuple(objections.get(i, ())), tuple(transfers.get(i, ())), cases) for i in wanted if i in lots]
    objection_ids = {i: sorted(o for a in lines[i] for o in ids_by_lot.get(a, ())) for i in lots} if for_view else {}
    return LoadedLots(facts, lots, seizures, objection_ids, asked_case)


LOT_COLUMNS = (Lot.id, Lot.card_no, Lot.custodian, Lot.weight_t, Lot.property_class, Lot.parent_id,
               Lot.registered_at, Lot.disposed_at, Lot.split_at)
VIEW_COLUMNS = (*LOT_COLUMNS, Lot.commodity, Lot.location, Lot.owner)
HOLD_COLUMNS = (Hold.seizure_id, Hold.case_id, Hold.position, Hold.registered_at.label("hold_registered_at"),
                Hold.term_days, Hold.term_end, Hold.effective_from, Hold.ended_at, Hold.end_status)


@prebuilt
def _lots_statement(dialect_name: str, timed: bool, for_view: bool, one: bool, with_case: bool = False):
    """Lots with their holds, the holds' cases and the cases' assisting units: a row per hold and assistant
    (one for a lot without holds). `ever_bound`: an objection or disposal transfer was ever recorded on it.
    For a view, also the ledger head's time and size (`head_seen`)."""
    ever_bound = or_(exists().where(Objection.lot_id == Lot.id), exists().where(DisposalTransfer.lot_id == Lot.id))
    query = select(*(VIEW_COLUMNS if for_view else LOT_COLUMNS), ever_bound.label("ever_bound"), *HOLD_COLUMNS,
                   *CASE_COLUMNS, _ASSISTANT, *(head_seen.COLUMNS if for_view else ())) \
        .outerjoin(Hold, Hold.lot_id == Lot.id).outerjoin(Case, Case.id == Hold.case_id) \
        .outerjoin(CaseAssistant, _assisting(Hold.case_id, timed))
    if for_view:
        query = query.add_columns(Seizure.kind.label("seizure_kind"), Seizure.document_no) \
            .outerjoin(Seizure, Seizure.id == Hold.seizure_id)
    query = query.where(among_or_one(dialect_name, Lot.id, "ids", one))
    if not with_case:
        return query
    # The case asked for, as rows shaped like the others with no lot: its id where a hold's case id goes.
    shape = [null().label(c.name) for c in query.selected_columns]
    at = {c.name: i for i, c in enumerate(query.selected_columns)}
    for column in (Case.id.label("case_id"), *CASE_COLUMNS, _ASSISTANT):
        shape[at[column.name]] = column
    case = select(*shape).select_from(Case).outerjoin(CaseAssistant, _assisting(Case.id, timed)) \
        .where(Case.id == bindparam("case_id"))
    return union_all(query, case)


@prebuilt
def _lots_query(dialect_name: str, timed: bool, for_view: bool, one: bool, with_case: bool = False) -> Direct:
    """`_lots_statement` run on the driver: every write and every lot view sends it (see `registry.driver`)."""
    return Direct(_lots_statement(dialect_name, timed, for_view, one, with_case))


def _by_position(hold: HoldFacts) -> int:
    return hold.position


def lineage(session: Session, lots: Iterable[Any]) -> dict[int, list[int]]:
    """Each lot's id followed by its ancestors' ids (a split part, its parent, …)."""
    parents = {lot.id: lot.parent_id for lot in lots}
    wanted = {p for p in parents.values() if p is not None and p not in parents}
    while wanted:
        rows = session.connection().execute(select(Lot.id, Lot.parent_id).where(among(session, Lot.id, wanted))).all()
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
    for r in session.scalars(select(Renewal).where(among(session, Renewal.lot_id, lot_ids), Renewal.at > as_of)
                             .order_by(Renewal.at.desc())):
        first[(r.seizure_id, r.lot_id)] = r
    return first


def _hold(h: Any, as_of: datetime | None, renewal: Renewal | None = None) -> HoldFacts:
    """From a row of _lots_statement: the lot's columns, then its hold's."""
    ended = h.ended_at is not None and (as_of is None or h.ended_at <= as_of)
    if renewal is not None:
        term_end, since = renewal.prior_term_end, renewal.prior_effective_from
    else:
        term_end, since = h.term_end, h.effective_from
    return HoldFacts(h.seizure_id, h.id, h.case_id, h.position, h.hold_registered_at, h.term_days, term_end,
                     since, h.ended_at if ended else None, h.end_status if ended else None)


def _lot(lot: Lot, as_of: datetime | None, holds, objections, transfers, cases) -> LotFacts:
    def when(t: datetime | None) -> datetime | None:
        return t if t is not None and (as_of is None or t <= as_of) else None
    return LotFacts(lot.id, lot.card_no, lot.custodian, lot.weight_t, lot.property_class, when(lot.disposed_at),
                    when(lot.split_at), holds, objections, transfers, cases)


def _bindings(session: Session, lot_ids, as_of: datetime | None):
    """Pending objections and disposal transfers on these lots, in one query, oldest first.

    Returns the objecting units and the (from_seizure_id, to_case_id) transfers per lot, and the pending
    objections' ids per lot.
    """
    if not lot_ids:
        return {}, {}, {}
    name = dialect(session)
    rows = session.connection().execute(_bindings_statement(name, as_of is not None),
                                        {"ids": listed(name, lot_ids), "as_of": as_of}).all()
    units: dict[int, list[str]] = {}
    moved: dict[int, list[tuple[int, int]]] = {}
    ids: dict[int, list[int]] = {}
    for row in sorted(rows, key=lambda r: r.id):
        if row.what == "objection":
            units.setdefault(row.lot_id, []).append(row.unit)
            ids.setdefault(row.lot_id, []).append(row.id)
        else:
            moved.setdefault(row.lot_id, []).append((row.from_seizure_id, row.to_case_id))
    return units, moved, ids


@prebuilt
def _bindings_statement(dialect_name: str, timed: bool):
    as_of = bindparam("as_of")
    pending = and_(Objection.filed_at <= as_of, or_(Objection.lifted_at.is_(None), Objection.lifted_at > as_of)) \
        if timed else Objection.lifted_at.is_(None)
    objections = select(literal_column("'objection'").label("what"), Objection.id, Objection.lot_id,
                        Objection.unit_code.label("unit"), null().label("from_seizure_id"),
                        null().label("to_case_id")) \
        .where(among_param(dialect_name, Objection.lot_id, "ids"), pending)
    transfers = select(literal_column("'transfer'"), DisposalTransfer.id, DisposalTransfer.lot_id, null(),
                       DisposalTransfer.from_seizure_id, DisposalTransfer.to_case_id) \
        .where(among_param(dialect_name, DisposalTransfer.lot_id, "ids"))
    if timed:
        transfers = transfers.where(DisposalTransfer.at <= as_of)
    return union_all(objections, transfers)
