"""Where each lot stands, kept beside it so the lot list finds free or seized lots without walking queues.

A lot's status at an instant is a walk of its queue (`rules.queue_at`): expiries chain, and nothing is
written when a term runs out at 24:00. But from a lot's latest act on, the walk has one answer for every
later instant: seized before `rules.seized_until`, free from then on. So every write that changes a lot's
holds, disposes of it or splits it stores that bound in `lot_standing` (`store`), with the write's instant
(`facts_at`) and, for a disposed or split lot, when it stopped standing (`closed_at`). The lot list reads
the narrow table in id order, and the rules judge only the lots whose bound does not answer for the instant
asked: unknown or stored by a write after that instant.

The database keeps the bound from lying whoever writes (migration 0006): a new lot gets its row, free from
its registration, and a change to a lot's holds, its disposal or its split makes the bound unknown
(`facts_at` NULL) until the write stores the new one after its last such statement. A write that does not
(an earlier release's instance, a bulk load) leaves it unknown: answered by the rules, slower, never wrong,
until `db upgrade` computes it again (`refresh`).

The table is derived, not a fact: the ledger's replay leaves it out, and the audit recomputes every known
bound with the rules (`differences`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import ARRAY, BigInteger, and_, bindparam, func, not_, or_, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from ..driver import Direct
from ..models import Hold, Lot, LotStanding, Renewal
from ..rules import HoldFacts, LotFacts, latest_act, seized_until
from ..types import UTCDateTime
from .facts import lot_facts
from .tx import Tx


def _now() -> Any:
    return bindparam("now", type_=UTCDateTime())


def known() -> ColumnElement[bool]:
    """The stored bound answers for `now`: stored by the lot's latest act, no later than `now`."""
    return and_(LotStanding.facts_at.is_not(None), LotStanding.facts_at <= _now())


@dataclass(frozen=True)
class StatusFilter:
    """Candidates for a status, and the condition under which a candidate is certain without the rules."""

    candidates: ColumnElement[bool]
    certain: ColumnElement[bool] | None  # None: every candidate is certain
    by_standing: bool  # the candidates are rows of lot_standing, joined to their lots


def status_filter(status: str) -> StatusFilter:
    """The SQL for `status` as of the parameter `now`; a lot whose bound is not known is a candidate of every
    status, left to the rules."""
    if status == "disposed":  # IS NOT NULL: the partial index's condition, stated for SQLite's planner
        return StatusFilter(and_(Lot.disposed_at.is_not(None), Lot.disposed_at <= _now()), None, False)
    if status == "split":
        return StatusFilter(and_(Lot.split_at.is_not(None), Lot.split_at <= _now(),
                                 or_(Lot.disposed_at.is_(None), Lot.disposed_at > _now())), None, False)
    seized = and_(LotStanding.seized_until.is_not(None), LotStanding.seized_until > _now())
    wanted = seized if status == "seized" else not_(seized)
    return StatusFilter(or_(and_(known(), LotStanding.closed_at.is_(None), wanted), not_(known())), known(), True)


# -- keeping it ------------------------------------------------------------------------------------------------

def with_holds(lot: LotFacts, added: Iterable[HoldFacts] = (),
               changed: dict[int, dict[str, Any]] | None = None) -> LotFacts:
    """The lot's facts after a write: `added` holds, and the fields `changed[seizure_id]` of its own."""
    changed = changed or {}
    holds = tuple(replace(h, **changed[h.seizure_id]) if h.seizure_id in changed else h for h in lot.holds)
    return replace(lot, holds=holds + tuple(added))


def bounds(lots: Iterable[LotFacts], at: datetime, closed: bool = False) -> list[dict[str, Any]]:
    """Each lot's standing after a write at `at` (`closed`: the write disposed of or split the lots), as the
    parameters of `store`."""
    return [{"lot": lot.id, "until": seized_until(lot), "at": at, "closed": at if closed else None}
            for lot in lots]


_STORE = Direct(update(LotStanding.__table__).where(LotStanding.__table__.c.lot_id == bindparam("lot"))
                .values(seized_until=bindparam("until", type_=UTCDateTime()),
                        facts_at=bindparam("at", type_=UTCDateTime()),
                        closed_at=bindparam("closed", type_=UTCDateTime())))
# PostgreSQL, sent with COMMIT after the entry's statement: every lot's bound in one statement.
_STORE_ALL = Direct(text(
    "UPDATE lot_standing SET seized_until = lot.until, facts_at = :at, closed_at = :closed "
    "FROM unnest(CAST(:lots AS bigint[]), CAST(:untils AS timestamp[])) AS lot(id, until) "
    "WHERE lot_standing.lot_id = lot.id").bindparams(
        bindparam("lots", type_=ARRAY(BigInteger())), bindparam("untils", type_=ARRAY(UTCDateTime())),
        bindparam("at", type_=UTCDateTime()), bindparam("closed", type_=UTCDateTime())))


def store(tx: Tx, lots: Iterable[LotFacts], closed: bool = False) -> None:
    """Every write that changes a lot's holds, disposes of it or splits it calls this with the lots' facts
    after it, once its statements that change them have run (their triggers mark the bound unknown).
    `closed`: the write disposed of or split the lots. After the entry is recorded on PostgreSQL, the
    update goes with COMMIT, costing no round trip."""
    rows = bounds(lots, tx.now, closed)
    if not rows:
        return
    if tx.closing is not None:
        tx.remember(_STORE_ALL, {"lots": [r["lot"] for r in rows], "untils": [r["until"] for r in rows],
                                 "at": tx.now, "closed": rows[0]["closed"]})
    else:
        _STORE.run_many(tx.session.connection(), rows)


# -- after an upgrade, and for the audit -----------------------------------------------------------------------

_standing = LotStanding.__table__  # Core: the ORM would try to sync the rows it holds
_REFRESH = (update(_standing)
            .where(_standing.c.lot_id == bindparam("lot"), _standing.c.facts_at.is_(None))
            .values(seized_until=bindparam("until", type_=UTCDateTime()),
                    facts_at=bindparam("at", type_=UTCDateTime()),
                    closed_at=bindparam("closed", type_=UTCDateTime())))


def refresh(session: Session, batch: int = 1000) -> int:
    """Compute every unknown bound with the rules; return how many were stored. `db upgrade` runs it. A lot
    written meanwhile keeps what its write stored: only a bound still unknown is updated."""
    unknown = list(session.scalars(select(LotStanding.lot_id).where(LotStanding.facts_at.is_(None))
                                   .order_by(LotStanding.lot_id)))
    session.rollback()
    stored = 0
    for start in range(0, len(unknown), batch):
        ids = unknown[start:start + batch]
        lots = lot_facts(session, ids)
        acts = _latest_acts(session, ids)
        rows = [{"lot": lot.id, "until": seized_until(lot), "at": acts[lot.id],
                 "closed": min(filter(None, (lot.disposed_at, lot.split_at)), default=None)} for lot in lots]
        result = session.connection().execute(_REFRESH, rows)
        stored += result.rowcount if result.rowcount is not None and result.rowcount >= 0 else len(rows)
        session.commit()
    return stored


def _latest_acts(session: Session, lot_ids: list[int]) -> dict[int, datetime]:
    """The latest act on each lot: its registration, disposal or split, a hold registered, ended or renewed."""
    latest: dict[int, datetime] = {}
    for lot_id, *times in session.execute(select(Lot.id, Lot.registered_at, Lot.disposed_at, Lot.split_at)
                                          .where(Lot.id.in_(lot_ids))):
        latest[lot_id] = max(t for t in times if t is not None)
    for lot_id_column, at in ((Hold.lot_id, Hold.registered_at), (Hold.lot_id, Hold.ended_at),
                              (Renewal.lot_id, Renewal.at)):
        query = select(lot_id_column, func.max(at)).where(lot_id_column.in_(lot_ids)).group_by(lot_id_column)
        for lot_id, last in session.execute(query):
            if last is not None:
                latest[lot_id] = max(latest[lot_id], last)
    return latest


def differences(session: Session, lots: Iterable[LotFacts]) -> list[str]:
    """The audit's check of the lots given: each lot has a row, and a known bound is the one the rules give,
    stored no earlier than the lot's latest act."""
    lots = list(lots)
    rows = {r.lot_id: r for r in session.execute(select(LotStanding).where(
        LotStanding.lot_id.in_([lot.id for lot in lots]))).scalars()}
    found = []
    for lot in lots:
        row = rows.get(lot.id)
        if row is None:
            found.append(f"lot_standing: lot {lot.id} has no row")
            continue
        if row.facts_at is None:
            continue
        closed = min(filter(None, (lot.disposed_at, lot.split_at)), default=None)
        expected = seized_until(lot)
        if row.seized_until != expected or row.closed_at != closed:
            found.append(f"lot_standing: lot {lot.id} stored seized until {row.seized_until}, closed "
                         f"{row.closed_at}; its facts give {expected}, {closed}")
        latest = max(filter(None, (latest_act(lot), closed)), default=None)
        if latest is not None and row.facts_at < latest:
            found.append(f"lot_standing: lot {lot.id} stored at {row.facts_at}, before its act at {latest}")
    return found
