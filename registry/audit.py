"""The registry's tables as the ledger's replay sees them, and the audit that compares the two.

`records` is the one producer of that view: the audit and GET /ledger/state both read it, one record at a
time, from plain rows fetched in batches (server-side cursors on PostgreSQL), so neither holds the whole
registry in memory. Every record is keyed and shaped exactly as `ledger.replay` builds it.
"""
from __future__ import annotations

import itertools
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Generator, Iterable, Iterator

from sqlalchemy import Connection, DateTime, Select, select, type_coerce
from sqlalchemy.engine import Row
from sqlalchemy.orm import InstrumentedAttribute, Session

from ledger.chain import Entry
from ledger.replay import TABLES, Record, Replay, State, compare_records, empty_state, hold_key

from . import models as m
from .services import standing
from .services.facts import lot_facts
from .services.ledger_log import ledger_size

BATCH = 2_000  # rows per fetch from the database
CHUNK_RECORDS = 500  # lines (~120 KB) handed to the server at a time: one write per line would dominate


def _utc(column: InstrumentedAttribute[Any]) -> Any:
    """A UTCDateTime column read as the naive UTC value it stores, skipping the aware-datetime round trip."""
    return type_coerce(column, DateTime()).label(column.key)


def _t(value: datetime | None) -> str | None:
    # services.ledger_log.ledger_time of the stored naive UTC instant; isoformat is ~3x faster than strftime.
    return value.isoformat(timespec="microseconds") + "Z" if value is not None else None


def _d(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _w(value: Decimal) -> str:
    return f"{value:.4f}"


def _rows(conn: Connection, statement: Select[Any]) -> Iterator[Row[Any]]:
    with conn.execute(statement.execution_options(yield_per=BATCH)) as result:
        for batch in result.partitions():  # a list per fetch: cheaper per row than fetching one at a time
            yield from batch


class _Children:
    """Values of a child table grouped by parent id, read in parent id order alongside the parents (a merge
    join), so no table is held in memory whole."""

    def __init__(self, rows: Iterable[Row[Any]]) -> None:  # rows of (parent id, value), in parent id order
        self._groups = itertools.groupby(rows, key=lambda row: row[0])
        self._next = next(self._groups, None)

    def of(self, parent_id: int) -> list[Any]:
        while self._next is not None and self._next[0] < parent_id:
            self._next = next(self._groups, None)
        if self._next is None or self._next[0] != parent_id:
            return []
        values = sorted(row[1] for row in self._next[1])  # sorted here: the database's collation may differ
        self._next = next(self._groups, None)
        return values


def records(session: Session) -> Iterator[Record]:
    """Every recorded fact in the tables as (table, key, record), table by table in `TABLES` order.

    All reads go through the session's transaction, so they see the snapshot of its first read (REPEATABLE
    READ on PostgreSQL, one read transaction on SQLite in WAL mode) as long as the caller keeps it open.
    """
    conn = session.connection()
    for table in TABLES:
        yield from _PRODUCERS[table](conn)


def _units(conn: Connection) -> Iterator[Record]:
    u = m.Unit
    for code, name, kind, parent, created_at, active in _rows(
            conn, select(u.code, u.name, u.kind, u.parent_code, _utc(u.created_at), u.active).order_by(u.code)):
        yield "units", code, {"name": name, "kind": kind, "parent": parent, "created_at": _t(created_at),
                              "active": bool(active)}


def _tokens(conn: Connection) -> Iterator[Record]:
    t = m.Token
    for token_id, unit, revoked_at in _rows(conn, select(t.id, t.unit_code, _utc(t.revoked_at)).order_by(t.id)):
        yield "tokens", token_id, {"unit": unit, "revoked_at": _t(revoked_at)}


def _lots(conn: Connection) -> Iterator[Record]:
    lot = m.Lot
    for (lot_id, card_no, custodian, commodity, location, owner, property_class, parent_id, weight_t,
         registered_at, disposed_at, split_at) in _rows(
            conn, select(lot.id, lot.card_no, lot.custodian, lot.commodity, lot.location, lot.owner,
                         lot.property_class, lot.parent_id, lot.weight_t, _utc(lot.registered_at),
                         _utc(lot.disposed_at), _utc(lot.split_at)).order_by(lot.id)):
        yield "lots", str(lot_id), {"card_no": card_no, "custodian": custodian, "commodity": commodity,
                                    "location": location, "owner": owner, "property_class": property_class,
                                    "parent_id": parent_id, "weight_t": _w(weight_t),
                                    "registered_at": _t(registered_at), "disposed_at": _t(disposed_at),
                                    "split_at": _t(split_at)}


def _cases(conn: Connection) -> Iterator[Record]:
    c, a = m.Case, m.CaseAssistant
    assisting = _Children(_rows(conn, select(a.case_id, a.unit_code).order_by(a.case_id)))
    for case_id, number, kind, applicant, respondent, owner_unit, acting_unit, previous_number, opened_at in _rows(
            conn, select(c.id, c.number, c.kind, c.applicant, c.respondent, c.owner_unit, c.acting_unit,
                         c.previous_number, _utc(c.opened_at)).order_by(c.id)):
        yield "cases", str(case_id), {"number": number, "kind": kind, "applicant": applicant,
                                      "respondent": respondent, "owner_unit": owner_unit,
                                      "acting_unit": acting_unit, "assisting_units": assisting.of(case_id),
                                      "previous_number": previous_number, "opened_at": _t(opened_at)}


def _case_transfers(conn: Connection) -> Iterator[Record]:
    t = m.CaseTransfer
    # The ledger does not number transfers: the replay keys them '<case>:<n>', n counting in order per case.
    rows = _rows(conn, select(t.case_id, t.mode, t.from_unit, t.to_unit, t.document_no, _utc(t.at))
                 .order_by(t.case_id, t.id))
    for case_id, group in itertools.groupby(rows, key=lambda row: row[0]):
        for n, (_, mode, from_unit, to_unit, document_no, at) in enumerate(group):
            yield "case_transfers", f"{case_id}:{n}", {"mode": mode, "from_unit": from_unit, "to_unit": to_unit,
                                                       "document_no": document_no, "at": _t(at)}


def _seizures(conn: Connection) -> Iterator[Record]:
    s = m.Seizure
    for seizure_id, case_id, unit, kind, document_no, served_at, recorded_at, term_end in _rows(
            conn, select(s.id, s.case_id, s.unit_code, s.kind, s.document_no, _utc(s.served_at),
                         _utc(s.recorded_at), s.term_end).order_by(s.id)):
        yield "seizures", str(seizure_id), {"case_id": case_id, "unit": unit, "kind": kind,
                                            "document_no": document_no, "served_at": _t(served_at),
                                            "recorded_at": _t(recorded_at), "term_end": _d(term_end)}


def _holds(conn: Connection) -> Iterator[Record]:
    h = m.Hold
    for (seizure_id, lot_id, case_id, position, registered_at, term_days, term_end, effective_from, ended_at,
         end_status, end_document_no) in _rows(
            conn, select(h.seizure_id, h.lot_id, h.case_id, h.position, _utc(h.registered_at), h.term_days,
                         h.term_end, _utc(h.effective_from), _utc(h.ended_at), h.end_status, h.end_document_no)
            .order_by(h.seizure_id, h.lot_id)):
        yield "holds", hold_key(seizure_id, lot_id), {
            "case_id": case_id, "position": position, "registered_at": _t(registered_at), "term_days": term_days,
            "term_end": _d(term_end), "effective_from": _t(effective_from), "ended_at": _t(ended_at),
            "end_status": end_status, "end_document_no": end_document_no}


def _renewals(conn: Connection) -> Iterator[Record]:
    r = m.Renewal
    # Keyed '<seizure>:<lot>:<n>' by the replay, n counting in order per hold.
    rows = _rows(conn, select(r.seizure_id, r.lot_id, r.term_end, r.document_no, _utc(r.at))
                 .order_by(r.seizure_id, r.lot_id, r.id))
    for (seizure_id, lot_id), group in itertools.groupby(rows, key=lambda row: (row[0], row[1])):
        for n, (_, _, term_end, document_no, at) in enumerate(group):
            yield "renewals", f"{hold_key(seizure_id, lot_id)}:{n}", {
                "term_end": _d(term_end), "document_no": document_no, "at": _t(at)}


def _executions(conn: Connection) -> Iterator[Record]:
    x, el = m.Execution, m.ExecutionLot
    lots_of = _Children(_rows(conn, select(el.execution_id, el.lot_id).order_by(el.execution_id)))
    for execution_id, case_id, unit, kind, document_no, recipient, override_document_no, total_weight_t, at in _rows(
            conn, select(x.id, x.case_id, x.unit_code, x.kind, x.document_no, x.recipient, x.override_document_no,
                         x.total_weight_t, _utc(x.at)).order_by(x.id)):
        yield "executions", str(execution_id), {
            "case_id": case_id, "unit": unit, "kind": kind, "document_no": document_no, "recipient": recipient,
            "override_document_no": override_document_no, "total_weight_t": _w(total_weight_t),
            "lot_ids": lots_of.of(execution_id), "at": _t(at)}


def _disposal_transfers(conn: Connection) -> Iterator[Record]:
    t = m.DisposalTransfer
    for transfer_id, lot_id, from_case_id, from_seizure_id, to_case_id, document_no, at in _rows(
            conn, select(t.id, t.lot_id, t.from_case_id, t.from_seizure_id, t.to_case_id, t.document_no,
                         _utc(t.at)).order_by(t.id)):
        yield "disposal_transfers", str(transfer_id), {
            "lot_id": lot_id, "from_case_id": from_case_id, "from_seizure_id": from_seizure_id,
            "to_case_id": to_case_id, "document_no": document_no, "at": _t(at)}


def _objections(conn: Connection) -> Iterator[Record]:
    o = m.Objection
    for objection_id, lot_id, unit, claimant, document_no, filed_at, lifted_at, lift_document_no in _rows(
            conn, select(o.id, o.lot_id, o.unit_code, o.claimant, o.document_no, _utc(o.filed_at),
                         _utc(o.lifted_at), o.lift_document_no).order_by(o.id)):
        yield "objections", str(objection_id), {
            "lot_id": lot_id, "unit": unit, "claimant": claimant, "document_no": document_no,
            "filed_at": _t(filed_at), "lifted_at": _t(lifted_at), "lift_document_no": lift_document_no}


_PRODUCERS: dict[str, Callable[[Connection], Iterator[Record]]] = {
    "units": _units, "tokens": _tokens, "lots": _lots, "cases": _cases, "seizures": _seizures, "holds": _holds,
    "executions": _executions, "disposal_transfers": _disposal_transfers, "objections": _objections,
    "renewals": _renewals, "case_transfers": _case_transfers,
}


def snapshot(session: Session) -> State:
    """Every recorded fact in the tables, in memory: table → key → record, as ledger.replay builds them."""
    state = empty_state()
    for table, key, record in records(session):
        state[table][key] = record
    return state


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
    size = ledger_size(session)  # the first read: the snapshot the replay and the tables are both read from
    rebuilt = replay(session, size, progress)
    differences = list(compare_records(rebuilt.state, records(session)))
    return differences + list(standing_differences(session)), size


def standing_differences(session: Session, batch: int = BATCH) -> Iterator[str]:
    """Every lot's stored status bound against the one the rules give from its facts, in the same snapshot:
    the lot list relies on it, and a write that forgot it would answer `status` wrongly."""
    last = 0
    while ids := list(session.scalars(select(m.Lot.id).where(m.Lot.id > last).order_by(m.Lot.id).limit(batch))):
        yield from standing.differences(session, lot_facts(session, ids))
        last = ids[-1]


def state_lines(session: Session) -> Generator[bytes, None, None]:
    """GET /ledger/state as JSON Lines: {"size": N}, then one [table, key, record] per line, in chunks.

    The ledger size is read now, before the caller starts streaming: that first read fixes the snapshot every
    record is then read from, so the records are exactly the replay of the first N entries. The caller must
    keep the session's transaction open until the iterator is exhausted or closed.
    """
    size = ledger_size(session)
    return _chunks(size, records(session))


def _chunks(size: int, shown: Iterator[Record]) -> Generator[bytes, None, None]:
    yield _lines([{"size": size}])
    while batch := list(itertools.islice(shown, CHUNK_RECORDS)):
        yield _lines(batch)


def _lines(values: list[Any]) -> bytes:
    return "".join(["".join(_encode(value, 0)) + "\n" for value in values]).encode()


# Built once, the C encoder is ~2x faster than json.dumps, which rebuilds it on every call (as ledger.encoding).
# Records hold only str, int, None and lists of them: no default, no float, no cycle to check.
_encode: Callable[[Any, int], tuple[str, ...]] = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, None, json.encoder.encode_basestring, None, ":", ",", False, False, False)
