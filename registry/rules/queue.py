"""The 轮候 queue of one lot as of an instant.

Stored facts record only acts (registration, release, renewal, disposal, split). Expiry and the promotion
that follows it are not stored: they are derived here from the facts and the instant asked about, so every
response is right at its request time and `as_of` in the past or the future is the same computation.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from .terms import EXPIRING_WINDOW, end_of_term, term_end_from, beijing_date
from .values import HoldFacts, LotFacts


@dataclass(frozen=True)
class HoldView:
    hold: HoldFacts
    status: str                      # effective | queued | released | expired | executed | voided
    rank: int | None
    effective_from: datetime | None
    term_end: date | None
    ended_at: datetime | None

    @property
    def live(self) -> bool:
        return self.status in ("effective", "queued")


@dataclass(frozen=True)
class QueueView:
    live: tuple[HoldView, ...]       # rank order; live[0] is effective
    ended: tuple[HoldView, ...]      # history, in the order they ended

    @property
    def effective(self) -> HoldView | None:
        return self.live[0] if self.live else None

    def of_seizure(self, seizure_id: int) -> HoldView | None:
        return next((v for v in self.live + self.ended if v.hold.seizure_id == seizure_id), None)


def queue_at(lot: LotFacts, now: datetime) -> QueueView:
    """Walk the holds in registration order: each becomes effective when the one before it ends."""
    live: list[HoldView] = []
    ended: list[HoldView] = []
    free_at: datetime | None = None
    for hold in sorted(lot.holds, key=lambda h: h.position):
        if hold.registered_at > now:
            continue
        act_end = hold.ended_at if hold.ended_at is not None and hold.ended_at <= now else None
        if live:
            if act_end is None:
                live.append(HoldView(hold, "queued", len(live) + 1, None, None, None))
            else:
                ended.append(HoldView(hold, hold.end_status or "released", None, None, None, act_end))
            continue
        start = hold.effective_from or max(hold.registered_at, free_at or hold.registered_at)
        if act_end is not None and act_end <= start:
            ended.append(HoldView(hold, hold.end_status or "released", None, None, None, act_end))
            continue
        last_day = hold.term_end or term_end_from(beijing_date(start), hold.term_days, lot.property_class)
        expiry = end_of_term(last_day)
        if act_end is not None and act_end <= expiry:
            ended.append(HoldView(hold, hold.end_status or "released", None, start, last_day, act_end))
            free_at = act_end
        elif expiry <= now:
            ended.append(HoldView(hold, "expired", None, start, last_day, expiry))
            free_at = expiry
        else:
            live.append(HoldView(hold, "effective", 1, start, last_day, None))
    ended.sort(key=lambda v: (v.ended_at, v.hold.position))
    return QueueView(tuple(live), tuple(ended))


# Later than any term the rules can give; `queue_at` there has ended every hold that has a term.
_LATER_THAN_EVERY_TERM = datetime(9000, 1, 1, tzinfo=timezone.utc)
# What `seized_until` says of a hold with no last day: seized until someone acts.
UNTIL_AN_ACT = datetime(9999, 12, 31, tzinfo=timezone.utc)


def seized_until(lot: LotFacts) -> datetime | None:
    """The instant the lot's last live seizure expires if no one acts on the lot again; None: none will.

    At every instant from the lot's latest act on (a registration or an end of one of its holds), the walk
    is the walk at a later instant up to the first hold whose term runs past that instant, and that hold is
    then effective: so the lot is seized at such an instant exactly when it is before this one. The lot
    list answers `status` with it (`services.standing`)."""
    queue = queue_at(lot, _LATER_THAN_EVERY_TERM)
    if queue.live:
        return UNTIL_AN_ACT
    return max((v.ended_at for v in queue.ended if v.status == "expired"), default=None)


def latest_act(lot: LotFacts) -> datetime | None:
    """The latest registration or ended hold among the lot's holds: `seized_until` holds from then on."""
    return max((t for h in lot.holds for t in (h.registered_at, h.ended_at) if t is not None), default=None)


def lot_status(lot: LotFacts, queue: QueueView, now: datetime) -> str:
    if lot.disposed_at is not None and lot.disposed_at <= now:
        return "disposed"
    if lot.split_at is not None and lot.split_at <= now:
        return "split"
    return "seized" if queue.live else "free"


def lot_flags(lot: LotFacts, queue: QueueView, now: datetime) -> list[str]:
    flags = []
    kinds = {lot.cases[v.hold.case_id].is_civil for v in queue.live if v.hold.case_id in lot.cases}
    if kinds == {True, False}:
        flags.append("criminal_civil")
    if lot.pending_objection_units:
        flags.append("objection")
    head = queue.effective
    if head is not None and head.term_end is not None and end_of_term(head.term_end) - now <= EXPIRING_WINDOW:
        flags.append("expiring")
    return flags


def disposer_case_id(lot: LotFacts, queue: QueueView) -> int | None:
    """The effective holder's case, or the case its effective seizure most recently handed the right to."""
    head = queue.effective
    if head is None:
        return None
    for from_seizure, to_case in reversed(lot.disposal_transfers):
        if from_seizure == head.hold.seizure_id:
            return to_case
    return head.hold.case_id
