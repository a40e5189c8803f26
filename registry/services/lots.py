"""Registering, splitting and searching lots; disposal-right transfers and objections."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import bindparam, delete, insert, select, true, tuple_
from sqlalchemy.orm import Session

from ..models import CardKey, DisposalTransfer, Hold, Lot, LotStanding, Objection
from ..rules import Conflict, DomainError, HoldFacts, LotFacts, decisions, lot_status, queue_at
from .cards import deletion_keys, within_one_edit
from .facts import active_read, lot_facts, not_found, one_case, require_active
from .ledger_log import ledger_time
from . import standing
from .sets import among
from .tx import Tx, run_write

LOT_FIELDS = ("card_no", "custodian", "commodity", "weight_t", "location", "owner", "property_class")


def lot_record(lot: dict[str, Any]) -> dict[str, Any]:
    """A lot as the ledger carries it: every field, weights as exact decimal strings."""
    return {**{f: lot[f] for f in LOT_FIELDS}, "weight_t": f"{Decimal(lot['weight_t']):.4f}",
            "id": lot["id"], "parent_id": lot.get("parent_id")}


def _clashes(session: Session, lots: list[dict[str, Any]]) -> list[Conflict]:
    keys = [(lot["custodian"], lot["card_no"]) for lot in lots]
    taken = {(c, n): i for c, n, i in session.execute(
        select(Lot.custodian, Lot.card_no, Lot.id).where(tuple_(Lot.custodian, Lot.card_no).in_(keys)))}
    seen: set[tuple[str, str]] = set()
    clashes = []
    for key in keys:
        if key in taken or key in seen:
            clashes.append(Conflict(taken.get(key), key[1], "card_no_taken",
                                    detail=f"card number {key[1]} is already registered at {key[0]}"))
        seen.add(key)
    return clashes


def _insert_lots(tx: Tx, lots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [{**lot, "registered_at": tx.now} for lot in lots]
    ids = tx.session.scalars(insert(Lot).returning(Lot.id, sort_by_parameter_order=True), rows).all()
    created = [{**row, "id": lot_id} for row, lot_id in zip(rows, ids)]
    keys = [{"key": k, "lot_id": lot["id"]} for lot in created for k in deletion_keys(lot["card_no"])]
    tx.session.execute(insert(CardKey), keys)
    return created


NearMiss = tuple[int, str]  # (lot id, card number) of a lot one edit away


def near_misses(session: Session, custodian: str, card_nos: Iterable[str]) -> dict[str, list[NearMiss]]:
    """For each card number, the lots at `custodian` whose card number is one edit from it (not equal), in id
    order: one query through the deletion keys (`CardKey`), however many card numbers."""
    wanted = list(dict.fromkeys(card_nos))
    keys_of = {card: deletion_keys(card) for card in wanted}
    keys = set().union(*keys_of.values()) if wanted else set()
    if not keys:
        return {}
    by_key: dict[str, set[NearMiss]] = {}
    for key, lot_id, card_no in session.execute(
            select(CardKey.key, Lot.id, Lot.card_no).join(Lot, Lot.id == CardKey.lot_id)
            .where(Lot.custodian == custodian, among(session, CardKey.key, keys))):
        by_key.setdefault(key, set()).add((lot_id, card_no))
    found = {}
    for card in wanted:
        candidates = set().union(*(by_key.get(k, ()) for k in keys_of[card]))
        found[card] = sorted(c for c in candidates if c[1] != card and within_one_edit(c[1], card))
    return found


@dataclass(frozen=True)
class Registered:
    """The new lots' ids in request order, and for each the lots already at its custodian one edit away."""

    ids: list[int]
    similar: dict[int, list[NearMiss]]


def register_lots(session: Session, actor: str, lots: list[dict[str, Any]], idem=None) -> Registered:
    """Register every lot or none; a card number may appear once per custodian. A card number one edit from
    one already there is registered all the same, and the near misses are named (a typo is often a twin)."""
    def work(tx: Tx) -> Registered:
        require_active(session, actor)
        clashes = _clashes(session, lots)
        if clashes:
            raise DomainError("card_no_taken", f"{len(clashes)} card number(s) already registered", clashes)
        similar = _similar(session, lots)
        created = _insert_lots(tx, lots)
        tx.record("lot.registered", {"lots": [lot_record(lot) for lot in created]})
        return Registered([lot["id"] for lot in created],
                          {lot["id"]: near for lot, near in zip(created, similar)})
    return run_write(session, actor, work, idem, reads=[active_read(actor)])


def _similar(session: Session, lots: list[dict[str, Any]]) -> list[list[NearMiss]]:
    """Per lot, the near misses already registered at its custodian (lots of this request are not among them)."""
    cards_by_custodian: dict[str, list[str]] = {}
    for lot in lots:
        cards_by_custodian.setdefault(lot["custodian"], []).append(lot["card_no"])
    near = {custodian: near_misses(session, custodian, cards) for custodian, cards in cards_by_custodian.items()}
    return [near[lot["custodian"]].get(lot["card_no"], []) for lot in lots]


def rewrite_identifiers(session: Session, actor: str, lot_id: int, values: dict[str, str]) -> Lot:
    """Write a lot's card number, custodian or owner in the forms given (their canonical forms): one
    `lot.updated` entry naming the fields that change. A card number another lot has at the custodian is
    refused (`card_no_taken`), and so is a change to the values the lot already has (`lot_unchanged`)."""
    def work(tx: Tx) -> Lot:
        lot = session.get(Lot, lot_id)
        if lot is None:
            raise not_found("lot", lot_id)
        changed = {field: value for field, value in values.items() if getattr(lot, field) != value}
        if not changed:
            raise DomainError("lot_unchanged", f"lot {lot_id} already has these values; nothing was changed")
        custodian, card_no = changed.get("custodian", lot.custodian), changed.get("card_no", lot.card_no)
        other = session.scalar(select(Lot.id).where(Lot.custodian == custodian, Lot.card_no == card_no,
                                                    Lot.id != lot_id))
        if other is not None:
            raise DomainError("card_no_taken", f"lot {other} has card number {card_no} at {custodian}",
                              [Conflict(other, card_no, "card_no_taken", detail=f"lot {other} has it")])
        if "card_no" in changed:  # the near-miss keys follow the card number
            session.execute(delete(CardKey).where(CardKey.lot_id == lot_id))
            session.execute(insert(CardKey), [{"key": k, "lot_id": lot_id} for k in deletion_keys(card_no)])
        for field, value in changed.items():
            setattr(lot, field, value)
        tx.record("lot.updated", {"id": lot_id, **changed})
        return lot
    return run_write(session, actor, work)


def split_lot(session: Session, actor: str, lot_id: int, parts: list[dict[str, Any]], document_no: str,
              idem=None) -> list[int]:
    """Split a lot into parts whose weights sum exactly to it; live seizures carry over with their ranks."""
    def work(tx: Tx) -> list[int]:
        (lot,) = lot_facts(session, [lot_id])
        parent = session.get(Lot, lot_id)
        queue = decisions.split(lot, actor, [p["weight_t"] for p in parts], tx.now)
        children = [{f: p.get(f, getattr(parent, f)) for f in LOT_FIELDS} | {"parent_id": lot_id} for p in parts]
        clashes = _clashes(session, children)
        if clashes:
            raise DomainError("card_no_taken", "a part's card number is already registered", clashes)
        created = _insert_lots(tx, children)
        carried = [_carried(view) for view in queue.live]
        holds = [{**c, "lot_id": child["id"], "registered_at": view.hold.registered_at}
                 for child in created for c, view in zip(carried, queue.live)]
        if holds:
            session.execute(insert(Hold), holds)
            standing.store(tx, [_part_facts(child, holds) for child in created])
        parent.split_at = tx.now
        session.flush()  # before the parent's bound: the split's own update marks it unknown
        standing.store(tx, [lot], closed=True)
        tx.record("lot.split", {"lot_id": lot_id, "document_no": document_no,
                                "parts": [lot_record(c) for c in created],
                                "holds": [_carried_record(c) for c in carried]})
        return [c["id"] for c in created]
    return run_write(session, actor, work, idem)


def _part_facts(part: dict[str, Any], holds: list[dict[str, Any]]) -> LotFacts:
    """A new part as the rules see it: the holds it carries."""
    return LotFacts(part["id"], part["card_no"], part["custodian"], part["weight_t"], part["property_class"],
                    holds=tuple(HoldFacts(h["seizure_id"], h["lot_id"], h["case_id"], h["position"],
                                          h["registered_at"], h["term_days"], h["term_end"], h["effective_from"])
                                for h in holds if h["lot_id"] == part["id"]))


def _carried(view) -> dict[str, Any]:
    """A live hold as each part inherits it: same seizure, case, position and term."""
    h = view.hold
    effective = view.status == "effective"
    return {"seizure_id": h.seizure_id, "case_id": h.case_id, "position": h.position, "term_days": h.term_days,
            "term_end": view.term_end if effective else None,
            "effective_from": view.effective_from if effective else None}


def _carried_record(carried: dict[str, Any]) -> dict[str, Any]:
    term_end, since = carried["term_end"], carried["effective_from"]
    return {**carried, "term_end": term_end.isoformat() if term_end else None,
            "effective_from": ledger_time(since) if since else None}


def transfer_disposal(session: Session, actor: str, lot_id: int, to_case_id: int, document_no: str,
                      idem=None) -> DisposalTransfer:
    """移送处分权: the effective holder lets another case dispose of the lot; ranks do not change."""
    def work(tx: Tx) -> DisposalTransfer:
        (lot,) = lot_facts(session, [lot_id])
        to_case = one_case(session, to_case_id)
        from_case, from_seizure = decisions.transfer_disposal(lot, actor, to_case, tx.now)
        row = DisposalTransfer(lot_id=lot_id, from_case_id=from_case, from_seizure_id=from_seizure,
                               to_case_id=to_case_id, document_no=document_no, at=tx.now)
        session.add(row)
        session.flush()
        tx.record("lot.disposal_transferred", {"id": row.id, "lot_id": lot_id, "from_case_id": from_case,
                                               "from_seizure_id": from_seizure, "to_case_id": to_case_id,
                                               "document_no": document_no})
        return row
    return run_write(session, actor, work, idem)


def file_objection(session: Session, actor: str, lot_id: int, document_no: str, claimant: str,
                   idem=None) -> Objection:
    """案外人异议: a court records a third party's objection; disposal is blocked until it lifts it."""
    def work(tx: Tx) -> Objection:
        lot_facts(session, [lot_id])
        row = Objection(lot_id=lot_id, unit_code=actor, claimant=claimant, document_no=document_no,
                        filed_at=tx.now)
        session.add(row)
        session.flush()
        tx.record("objection.filed", {"id": row.id, "lot_id": lot_id, "unit": actor, "claimant": claimant,
                                      "document_no": document_no})
        return row
    return run_write(session, actor, work, idem)


def lift_objection(session: Session, actor: str, objection_id: int, document_no: str, idem=None) -> Objection:
    def work(tx: Tx) -> Objection:
        row = session.get(Objection, objection_id)
        if row is None:
            raise not_found("objection", objection_id)
        if row.unit_code != actor:
            raise DomainError("forbidden", f"only {row.unit_code}, which filed it, may lift this objection")
        if row.lifted_at is not None:
            raise DomainError("objection_lifted", "the objection was already lifted")
        row.lifted_at, row.lift_document_no = tx.now, document_no
        tx.record("objection.lifted", {"id": objection_id, "document_no": document_no})
        return row
    return run_write(session, actor, work, idem)


@dataclass(frozen=True)
class LotQuery:
    card_no: str | None = None
    custodian: str | None = None
    owner: str | None = None
    location: str | None = None
    status: str | None = None
    case_id: int | None = None
    q: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        position = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except ValueError:
        position = -1
    if not 0 <= position < 2**62:
        raise DomainError("validation_error", "bad cursor", errors={"cursor": ["not a cursor from this API"]})
    return position


def search_lots(session: Session, query: LotQuery, cursor: str | None, limit: int,
                now: datetime) -> tuple[list[Lot], str | None]:
    """Lots matching every filter, in id order; status is judged as of `now`.

    The database finds the candidates with its indexes; the rules judge only the candidates whose stored
    status bound does not answer (see `standing`) and the near misses of `q`, page by page until the page is
    full."""
    conditions = [Lot.id > bindparam("after")]
    for field in ("card_no", "custodian", "owner"):
        if getattr(query, field):
            conditions.append(getattr(Lot, field) == getattr(query, field))
    if query.location:
        conditions.append(Lot.location.contains(query.location, autoescape=True))
    if query.case_id is not None:
        # The case's holds from the cursor on: a range of (case_id, lot_id), not every lot the case ever held.
        conditions.append(Lot.id.in_(select(Hold.lot_id).where(Hold.case_id == query.case_id,
                                                               Hold.lot_id > bindparam("after"))))
    if query.q:
        keys = list(deletion_keys(query.q))
        conditions.append(Lot.id.in_(select(CardKey.lot_id).where(CardKey.key.in_(keys))))
    certain: Any = true()
    statement, order = select(Lot), Lot.id
    if query.status:
        wanted = standing.status_filter(query.status)
        conditions.append(wanted.candidates)
        certain = true() if wanted.certain is None else wanted.certain
        if wanted.by_standing:  # lot_standing walked in lot order: narrow rows, each lot read only if it may match
            statement = statement.join(LotStanding, LotStanding.lot_id == Lot.id)
            conditions.append(LotStanding.lot_id > bindparam("after"))
            order = LotStanding.lot_id
    statement = statement.add_columns(certain.label("certain")).where(*conditions).order_by(order).limit(limit + 1)
    params = {"now": now}
    found: list[Lot] = []
    after = decode_cursor(cursor)
    while len(found) < limit + 1:
        batch = session.execute(statement, {**params, "after": after}).all()
        found += _keep(session, batch, query, now)
        if len(batch) < limit + 1:
            break
        after = batch[-1][0].id
    page = found[:limit]
    return page, encode_cursor(page[-1].id) if len(found) > limit else None


def _keep(session: Session, rows: list[Any], query: LotQuery, now: datetime) -> list[Lot]:
    """The candidates that really match: near misses within one edit; a status SQL could not settle, by the rules."""
    if query.q:
        rows = [row for row in rows if within_one_edit(row[0].card_no, query.q)]
    unsettled = [row[0].id for row in rows if not row[1]]
    if query.status and unsettled:
        facts = {f.id: f for f in lot_facts(session, unsettled)}
        judged = {i for i, f in facts.items() if lot_status(f, queue_at(f, now), now) == query.status}
        rows = [row for row in rows if row[1] or row[0].id in judged]
    return [row[0] for row in rows]
