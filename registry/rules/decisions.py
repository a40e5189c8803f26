"""Commands decided against facts and an instant: each returns a plan or raises DomainError. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Sequence

from .errors import Conflict, DomainError, refuse_if
from .queue import QueueView, disposer_case_id, lot_flags, lot_status, queue_at
from .terms import CLOCK_SKEW, beijing_date, max_term_end, term_days
from .units import require_active
from .values import CaseFacts, LotFacts, UnitFacts

CASE_KINDS_BY_UNIT = {"court": ("preservation", "execution"), "police": ("criminal",)}
DISPOSING_CASE_KINDS = ("execution", "criminal")


def forbid(detail: str) -> DomainError:
    return DomainError("forbidden", detail)


def conflict(lot: LotFacts, code: str, case_id: int | None = None, unit: str | None = None,
             detail: str = "", term_end: date | None = None) -> Conflict:
    case = lot.cases.get(case_id) if case_id is not None else None
    return Conflict(lot.id, lot.card_no, code, case_id, case.number if case else None,
                    unit or (case.acting_unit if case else None), detail, term_end)


def require_acting(case: CaseFacts, actor: str, act: str) -> None:
    if actor != case.acting_unit:
        raise forbid(f"only {case.acting_unit}, acting for case {case.number}, may {act}")


def open_case(actor: UnitFacts, kind: str) -> None:
    require_active(actor.code, actor.active)
    if kind not in CASE_KINDS_BY_UNIT.get(actor.kind, ()):
        raise forbid(f"a {actor.kind} unit may not open {kind} cases")


def _closed(lot: LotFacts, now: datetime) -> Conflict | None:
    status = lot_status(lot, QueueView((), ()), now)
    if status == "disposed":
        return conflict(lot, "lot_disposed", detail="the lot has been disposed of")
    if status == "split":
        return conflict(lot, "lot_split", detail="the lot was split; seize its parts")
    return None


@dataclass(frozen=True)
class SeizePlan:
    lot_id: int
    term_days: int | None
    rank: int


def seize(case: CaseFacts, actor: str, lots: list[LotFacts], now: datetime, served_at: datetime,
          last_day: date | None) -> list[SeizePlan]:
    """Seize every lot or none; a new seizure always joins the end of each lot's queue."""
    require_acting(case, actor, "seize for it")
    if served_at > now + CLOCK_SKEW:
        raise DomainError("validation_error", "served_at is in the future",
                          errors={"served_at": ["must not be in the future"]})
    today = beijing_date(now)
    if last_day is not None and last_day < today:
        raise DomainError("validation_error", "term_end is in the past",
                          errors={"term_end": ["must be today or later (Beijing time)"]})
    conflicts, too_long, plans = [], [], []
    for lot in lots:
        closed = _closed(lot, now)
        queue = queue_at(lot, now)
        mine = next((v for v in queue.live if v.hold.case_id == case.id), None)
        if closed:
            conflicts.append(closed)
        elif mine:
            conflicts.append(conflict(lot, "already_seized_by_case", case.id,
                                      detail=f"seizure {mine.hold.seizure_id} of this case is live",
                                      term_end=mine.term_end))
        limit = max_term_end(today, lot.property_class)
        if last_day is not None and last_day > limit:
            too_long.append(conflict(lot, "term_too_long", detail=f"{lot.property_class}: at most {limit}"))
        days = term_days(today, last_day) if last_day is not None else None
        plans.append(SeizePlan(lot.id, days, len(queue.live) + 1))
    refuse_if(conflicts, "the seizure was not recorded on any lot")
    if too_long:
        raise DomainError("term_too_long", "the term exceeds the statutory maximum", too_long,
                          {"term_end": [c.detail for c in too_long]})
    return plans


def _own_live_hold(lot: LotFacts, seizure_id: int, now: datetime) -> Conflict | None:
    if (closed := _closed(lot, now)):
        return closed  # a split lot's seizures live on in its parts; a disposed lot's have ended
    view = queue_at(lot, now).of_seizure(seizure_id)
    if view is None:
        return conflict(lot, "lot_not_in_seizure", detail="this seizure is not on the lot")
    if view.status == "expired":
        return conflict(lot, "seizure_expired", detail=f"expired at {view.ended_at.isoformat()}; "
                        "only a new seizure at the end of the queue can follow")
    if not view.live:
        return conflict(lot, "seizure_ended", detail=f"already {view.status}")
    return None


def release(case: CaseFacts, actor: str, seizure_id: int, lots: list[LotFacts],
            now: datetime) -> list[tuple[int, int, int]]:
    """Release on the given lots; returns (lot_id, seizure_id, case_id) of every seizure it promotes."""
    require_acting(case, actor, "release its seizures")
    conflicts = [c for lot in lots if (c := _own_live_hold(lot, seizure_id, now))]
    refuse_if(conflicts, "nothing was released")
    promoted = []
    for lot in lots:
        head = queue_at(lot, now).effective
        if head is not None and head.hold.seizure_id == seizure_id:
            queue = queue_at(lot, now).live
            if len(queue) > 1:
                nxt = queue[1].hold
                promoted.append((lot.id, nxt.seizure_id, nxt.case_id))
    return promoted


def renew(case: CaseFacts, actor: str, seizure_id: int, lots: list[LotFacts], now: datetime,
          new_last_day: date) -> list[tuple[int, date]]:
    """Renewal (续封) before expiry keeps the rank; each renewal extends by at most the maximum term."""
    require_acting(case, actor, "renew its seizures")
    conflicts, too_long, plans = [], [], []
    for lot in lots:
        if (c := _own_live_hold(lot, seizure_id, now)):
            conflicts.append(c)
            continue
        view = queue_at(lot, now).of_seizure(seizure_id)
        if view.status == "queued":
            conflicts.append(conflict(lot, "seizure_queued",
                                      detail="a queued seizure's term starts when it becomes effective"))
            continue
        limit = max_term_end(view.term_end + timedelta(days=1), lot.property_class)  # one maximum beyond
        if new_last_day <= view.term_end:
            too_long.append(conflict(lot, "term_not_extended", detail=f"the term already ends {view.term_end}"))
        elif new_last_day > limit:
            too_long.append(conflict(lot, "term_too_long", detail=f"at most {limit}"))
        plans.append((lot.id, new_last_day))
    refuse_if(conflicts, "nothing was renewed")
    if too_long:
        raise DomainError(too_long[0].code, "the new term is not allowed", too_long,
                          {"term_end": [c.detail for c in too_long]})
    return plans


def disposal_conflicts(case: CaseFacts, lot: LotFacts, now: datetime, override: bool) -> list[Conflict]:
    """Why `case` may not dispose of `lot` now; empty when it may."""
    if (closed := _closed(lot, now)):
        return [closed]
    queue = queue_at(lot, now)
    if not queue.live:
        return [conflict(lot, "not_seized", detail="no live seizure on the lot")]
    found = []
    disposer = disposer_case_id(lot, queue)
    holder_term = queue.live[0].term_end  # the disposal right lasts as long as the effective seizure
    if disposer != case.id:
        holder = f"case {lot.cases[disposer].number}" if disposer in lot.cases else "another case"
        mine = next((v for v in queue.live if v.hold.case_id == case.id), None)
        if mine is None:  # not in the queue at all: waiting will not help, only a seizure of its own
            found.append(conflict(lot, "not_seized_by_case", disposer, term_end=holder_term,
                                  detail=f"the case holds no live seizure on the lot; {holder} may dispose of it"))
        else:
            found.append(conflict(lot, "not_effective_holder", disposer, term_end=holder_term,
                                  detail=f"the case queues at rank {mine.rank}; {holder} may dispose of it"))
    for unit in lot.pending_objection_units:
        found.append(conflict(lot, "objection_pending", unit=unit, detail="an objection is pending"))
    if "criminal_civil" in lot_flags(lot, queue, now) and not override:
        other = next(v for v in queue.live if lot.cases[v.hold.case_id].is_civil != case.is_civil)
        found.append(conflict(lot, "criminal_civil_conflict", other.hold.case_id, term_end=other.term_end,
                              detail="criminal and civil seizures: needs override_document_no"))
    return found


@dataclass(frozen=True)
class DisposePlan:
    executed: list[tuple[int, int]]   # (lot_id, seizure_id)
    voided: list[tuple[int, int]]
    total_weight_t: Decimal


def dispose(case: CaseFacts, actor: str, lots: list[LotFacts], now: datetime, override: bool,
            unknown: Sequence[Conflict] = ()) -> DisposePlan:
    """Dispose of every lot or none: the disposing seizures become executed, every other live one voided.

    `unknown`: the card numbers given that name no lot; any one refuses the whole disposal, named first."""
    if not case.may_dispose(actor):
        raise forbid(f"only the acting or an assisting unit of case {case.number} may dispose for it")
    if case.kind not in DISPOSING_CASE_KINDS:
        raise DomainError("case_not_executable", f"a {case.kind} case must be converted to execution first")
    conflicts = [*unknown, *(c for lot in lots for c in disposal_conflicts(case, lot, now, override))]
    refuse_if(conflicts, "nothing was disposed of")
    executed, voided = [], []
    for lot in lots:
        queue = queue_at(lot, now)
        for view in queue.live:
            disposing = view is queue.effective or view.hold.case_id == case.id
            (executed if disposing else voided).append((lot.id, view.hold.seizure_id))
    return DisposePlan(executed, voided, sum((lot.weight_t for lot in lots), Decimal("0.0000")))


def split(lot: LotFacts, actor: str, weights: list[Decimal], now: datetime) -> QueueView:
    """A split carries every live seizure to each part with its rank; returns the queue to carry."""
    if (closed := _closed(lot, now)):
        raise DomainError(closed.code, closed.detail, [closed])
    queue = queue_at(lot, now)
    disposer = disposer_case_id(lot, queue)
    if disposer is not None and not lot.cases[disposer].may_dispose(actor):
        raise forbid("only the acting or an assisting unit of the case holding the effective seizure may split")
    if sum(weights, Decimal(0)) != lot.weight_t:
        raise DomainError("weights_do_not_sum", f"the parts weigh {sum(weights, Decimal(0))} t, "
                          f"the lot {lot.weight_t} t", errors={"parts": ["weights must sum to the lot's"]})
    return queue


def transfer_disposal(lot: LotFacts, actor: str, to_case: CaseFacts, now: datetime) -> tuple[int, int]:
    """The effective holder hands its disposal right to another case; ranks stay.

    Returns (from case, from seizure): the right is the effective seizure's and lapses with it.
    """
    if (closed := _closed(lot, now)):
        raise DomainError(closed.code, closed.detail, [closed])
    head = queue_at(lot, now).effective
    if head is None:
        raise DomainError("not_seized", "no live seizure on the lot", [conflict(lot, "not_seized")])
    holder = lot.cases[head.hold.case_id]
    require_acting(holder, actor, "transfer its disposal right")
    if to_case.id == holder.id:
        raise DomainError("validation_error", "the case already holds the disposal right",
                          errors={"to_case_id": ["must be another case"]})
    return holder.id, head.hold.seizure_id


def transfer_case(case: CaseFacts, actor: UnitFacts, mode: str, to_unit: UnitFacts,
                  acting: UnitFacts) -> None:
    """提级 / 指令 / 协同 by a superior court of the acting unit; takeover by the police unit acting.

    Elevate, designate and assist move a case between courts: a criminal case acted for by a police unit
    reaches a court only by takeover. No case is handed to a deactivated unit.
    """
    if mode != "takeover" and acting.kind != "court":
        raise DomainError("case_not_at_court", f"case {case.number} is acted for by the {acting.kind} unit "
                          f"{acting.code}; {mode} applies only to cases a court acts for, and a criminal "
                          "case reaches a court only by takeover")
    if mode == "takeover":
        if case.kind != "criminal" or actor.code != case.acting_unit or actor.kind != "police":
            raise forbid("only the police unit acting for a criminal case may hand it over")
        if to_unit.kind != "court":
            raise DomainError("validation_error", "a case is handed over to a court",
                              errors={"to_unit": ["must be a court"]})
        require_active(to_unit.code, to_unit.active)
        return
    # A court acting for a case (after elevation, say) may itself designate or add a court under it.
    ordering_own = mode != "elevate" and actor.code == case.acting_unit and actor.code in to_unit.ancestors
    may_order = actor.code in acting.ancestors or ordering_own
    if actor.kind != "court" or not may_order:
        raise forbid(f"only a superior court of {case.acting_unit}, or the court itself for designation "
                     f"and assistance, may {mode} this case")
    if to_unit.kind != "court":
        raise DomainError("validation_error", "the unit must be a court", errors={"to_unit": ["must be a court"]})
    if mode == "elevate" and to_unit.code not in acting.ancestors:
        raise DomainError("validation_error", "elevation goes to a superior court of the acting unit",
                          errors={"to_unit": ["must be a superior court of the acting unit"]})
    if mode in ("designate", "assist") and actor.code not in to_unit.ancestors:
        raise DomainError("validation_error", f"{mode} names a court under {actor.code}",
                          errors={"to_unit": [f"must be a court under {actor.code}"]})
    if mode != "assist" and to_unit.code == case.acting_unit or \
            mode == "assist" and (to_unit.code in case.assisting_units or to_unit.code == case.acting_unit):
        raise DomainError("validation_error", f"{to_unit.code} already acts for the case",
                          errors={"to_unit": ["already acts for the case"]})
    require_active(to_unit.code, to_unit.active)


def convert(case: CaseFacts, actor: str) -> None:
    require_acting(case, actor, "convert it")
    if case.kind != "preservation":
        raise DomainError("case_not_preservation", f"case {case.number} is a {case.kind} case")
