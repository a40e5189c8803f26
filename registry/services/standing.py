"""A lot's status as of an instant, as SQL conditions the database answers with its indexes.

`disposed` and `split` are columns. `seized` and `free` depend on the walk of `rules.queue_at`, whose
expiries chain (a queued seizure's term counts from when the one before it ends), so SQL gives two bounds
per hold and the rules decide only the lots between them:

- a hold is *open* when registered by `now` and not ended by an act (release, execution, voiding) by `now`;
  only an open hold can be live;
- an open hold is *surely live* when its own term runs past `now` counted from its registration, the earliest
  it can have started (a renewed or carried hold has its last day recorded: exact);
- an open hold is *surely over* when it had to start at its registration (every hold before it on the lot
  had ended by an act by then) and a maximum term from then is over, or its recorded last day is past.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, not_, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement, FunctionElement, bindparam
from sqlalchemy.types import DateTime

from ..models import Hold, Lot
from ..rules.terms import (PROPERTY_CLASSES, beijing_date, beijing_midnight, earliest_start_in_force,
                           end_of_term)
from ..types import UTCDateTime


class plus_days(FunctionElement):
    """`instant + days` for a timestamp column and an integer column. SQLite's answer drops fractions of a
    second, so there it errs early, which makes `surely live` err towards asking the rules."""

    type = DateTime()
    inherit_cache = True


@compiles(plus_days, "postgresql")
def _plus_days_pg(element, compiler, **kw) -> str:
    instant, days = list(element.clauses)
    return f"({compiler.process(instant, **kw)} + make_interval(days => {compiler.process(days, **kw)}))"


@compiles(plus_days)
def _plus_days(element, compiler, **kw) -> str:
    instant, days = list(element.clauses)
    return f"datetime({compiler.process(instant, **kw)}, '+' || {compiler.process(days, **kw)} || ' days')"


def _at(name: str) -> Any:
    return bindparam(name, type_=UTCDateTime())


def instants(now: datetime) -> dict[str, Any]:
    """The parameters of the conditions below as of `now`."""
    today = beijing_date(now)
    return {"now": now, "today": today, "day_after": end_of_term(today),
            **{f"since_{c}": beijing_midnight(earliest_start_in_force(today, c)) for c in PROPERTY_CLASSES}}


def _since_for_class() -> ColumnElement:
    """The earliest registration from which a maximum term of the lot's class still runs."""
    return case(*((Lot.property_class == c, _at(f"since_{c}")) for c in PROPERTY_CLASSES), else_=_at("now"))


def _open(hold) -> ColumnElement[bool]:
    return and_(hold.lot_id == Lot.id, hold.registered_at <= _at("now"),
                or_(hold.ended_at.is_(None), hold.ended_at > _at("now")))


def _surely_live(hold) -> ColumnElement[bool]:
    recorded = and_(hold.term_end.is_not(None), hold.term_end >= bindparam("today"))
    counted = and_(hold.term_end.is_(None), hold.registered_at >= _since_for_class(),
                   or_(hold.term_days.is_(None),
                       plus_days(hold.registered_at, hold.term_days) >= _at("day_after")))
    return and_(_open(hold), or_(recorded, counted))


def _surely_over(hold) -> ColumnElement[bool]:
    earlier = aliased(Hold)
    started_at_registration = not_(exists().where(
        earlier.lot_id == hold.lot_id, earlier.position < hold.position,
        or_(earlier.ended_at.is_(None), earlier.ended_at > hold.registered_at)))
    past_maximum = and_(hold.term_end.is_(None), hold.effective_from.is_(None),
                        hold.registered_at < _since_for_class(), started_at_registration)
    return or_(and_(hold.term_end.is_not(None), hold.term_end < bindparam("today")), past_maximum)


def standing() -> ColumnElement[bool]:
    """Neither disposed of nor split by `now`."""
    return and_(or_(Lot.disposed_at.is_(None), Lot.disposed_at > _at("now")),
                or_(Lot.split_at.is_(None), Lot.split_at > _at("now")))


def surely_seized() -> ColumnElement[bool]:
    return exists().where(_surely_live(Hold))


def maybe_seized() -> ColumnElement[bool]:
    return exists().where(_open(Hold), not_(_surely_over(Hold)))


@dataclass(frozen=True)
class StatusFilter:
    """Candidates for a status, and the condition under which a candidate is certain without the rules."""

    candidates: ColumnElement[bool]
    certain: ColumnElement[bool] | None  # None: every candidate is certain


def status_filter(status: str) -> StatusFilter:
    """The SQL for `status` as of the instant bound by `instants`."""
    if status == "disposed":  # IS NOT NULL: the partial index's condition, stated for SQLite's planner
        return StatusFilter(and_(Lot.disposed_at.is_not(None), Lot.disposed_at <= _at("now")), None)
    if status == "split":
        return StatusFilter(and_(Lot.split_at.is_not(None), Lot.split_at <= _at("now"),
                                 or_(Lot.disposed_at.is_(None), Lot.disposed_at > _at("now"))), None)
    if status == "seized":
        return StatusFilter(and_(standing(), maybe_seized()), surely_seized())
    return StatusFilter(and_(standing(), not_(surely_seized())), not_(maybe_seized()))
