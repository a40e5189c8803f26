"""Stateful property test of the pure domain core: random command sequences against an in-memory registry.

The machine keeps the facts exactly as the services store them (registry/services/*.py): each accepted plan is
applied the way the service applies it, a refused command changes nothing. After every step the queue is
queried as of the current instant and of instants before and after it, and the invariants of SPEC §3–§4 are
checked: one effective seizure per lot, gap-free ranks in registration order, nothing live on a disposed lot,
split parts that weigh exactly the parent, terms within the statutory maximum, and a history that never
changes its mind (what has ended at t is ended, the same way, at every later t').
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from registry.rules import decisions
from registry.rules.errors import DomainError
from registry.rules.queue import disposer_case_id, lot_status, queue_at
from registry.rules.terms import MAX_TERM_YEARS, beijing_date, end_of_term, max_term_end
from registry.rules.values import CaseFacts, HoldFacts, LotFacts, UnitFacts


def renewal_limit(last_day: date, years: int) -> date:
    """The latest last day one renewal may reach: a maximum term that starts the day after `last_day` ends
    on the eve of that start's anniversary (29 February's anniversary in a common year is 1 March), so a
    term ending 28 February 2027 renews for one year to 29 February 2028. The model's own arithmetic."""
    start = last_day + timedelta(days=1)
    if (start.month, start.day) == (2, 29) and not _leap(start.year + years):
        return date(start.year + years, 2, 28)  # the anniversary is 1 March
    return start.replace(year=start.year + years) - timedelta(days=1)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


UTC = timezone.utc
US = timedelta(microseconds=1)
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
QUANTUM = Decimal("0.0001")

UNITS = {u.code: u for u in (
    UnitFacts("SH-HIGH", "court", ()),
    UnitFacts("SH-BAOSHAN", "court", ("SH-HIGH",)),
    UnitFacts("SH-YANGPU", "court", ("SH-HIGH",)),
    UnitFacts("SH-POLICE", "police", ()),
)}
UNIT_CODES = sorted(UNITS)
ENDED = ("released", "expired", "executed", "voided")

units = st.sampled_from(UNIT_CODES)
# None: the unit entitled to act (the case's acting unit, or for a lot the disposer's); mostly, not always
actors = st.one_of(st.none(), st.none(), st.none(), units)
case_ids = st.sampled_from([1, 2, 3, 4])
picks = st.integers(0, 10_000)
deltas = st.one_of(
    st.integers(1, 24 * 60).map(lambda m: timedelta(minutes=m)),
    st.integers(1, 120).map(lambda d: timedelta(days=d)),
    st.integers(121, 1200).map(lambda d: timedelta(days=d, hours=7)),
)


def initial_cases() -> dict[int, CaseFacts]:
    return {
        1: CaseFacts(1, "(2026)沪0113执1号", "execution", "SH-BAOSHAN", "SH-BAOSHAN"),
        2: CaseFacts(2, "(2026)沪0113财保2号", "preservation", "SH-BAOSHAN", "SH-BAOSHAN"),
        3: CaseFacts(3, "(2026)沪0110执3号", "execution", "SH-YANGPU", "SH-YANGPU"),
        4: CaseFacts(4, "沪公经立字4号", "criminal", "SH-POLICE", "SH-POLICE"),
    }


class Registry(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.step = 0
        self.cases = initial_cases()
        self.lots: dict[int, LotFacts] = {
            1: LotFacts(1, "AL-0001", "宝山站", Decimal("10.0000"), "movable"),
            2: LotFacts(2, "RE-0002", "宝山站", Decimal("3.1416"), "real_estate"),
            3: LotFacts(3, "DP-0003", "宝山站", Decimal("2.0312"), "deposit"),
        }
        self.created = {1: START, 2: START, 3: START}
        self.parts: dict[int, list[int]] = {}
        self.renewals: dict[tuple[int, int], int] = {}
        self.times = [START]
        self.next_seizure = 100
        self.next_lot = 4

    # --- the model ------------------------------------------------------------------------------------------

    def facts(self, lot_id: int) -> LotFacts:
        return replace(self.lots[lot_id], cases=self.cases)

    def pick_lots(self, picks_: list[int]) -> list[LotFacts]:
        ids = sorted(self.lots)
        return [self.facts(i) for i in dict.fromkeys(ids[p % len(ids)] for p in picks_)]

    def all_holds(self) -> list[tuple[int, HoldFacts]]:
        return [(lot.id, h) for lot in self.lots.values() for h in lot.holds]

    def live_holds(self) -> list[tuple[int, HoldFacts]]:
        return [(lot.id, v.hold) for lot in self.lots.values() if self.is_open(lot, self.now)
                for v in queue_at(lot, self.now).live]

    def disposer_of(self, lot: LotFacts) -> int | None:
        return disposer_case_id(lot, queue_at(lot, self.now))

    def put_hold(self, lot_id: int, seizure_id: int, **changes) -> None:
        lot = self.lots[lot_id]
        self.lots[lot_id] = replace(lot, holds=tuple(
            replace(h, **changes) if h.seizure_id == seizure_id else h for h in lot.holds))

    def snapshot(self):
        return dict(self.lots), dict(self.cases), self.now

    def refused(self, before, error: DomainError) -> None:
        assert self.snapshot() == before, "a refused command changed the model"
        assert error.code
        for c in error.conflicts:
            assert c.code, c

    def tick(self) -> None:
        self.step += 1

    def is_open(self, lot: LotFacts, at: datetime) -> bool:
        return lot_status(lot, queue_at(lot, at), at) not in ("disposed", "split")

    # --- commands -------------------------------------------------------------------------------------------

    @rule(case_id=case_ids, actor=actors, lot_picks=st.lists(picks, min_size=1, max_size=3),
          term=st.one_of(st.none(), st.none(), st.integers(0, 400), st.integers(-2, 1200)))
    def seize(self, case_id, actor, lot_picks, term):
        self.tick()
        case = self.cases[case_id]
        actor = actor or case.acting_unit
        lots = self.pick_lots(lot_picks)
        today = beijing_date(self.now)
        last_day = None if term is None else today + timedelta(days=term)
        before = self.snapshot()
        expected_ok = (actor == case.acting_unit and (last_day is None or last_day >= today)
                       and all(self.is_open(lot, self.now)
                               and all(v.hold.case_id != case_id for v in queue_at(lot, self.now).live)
                               and (last_day is None or last_day <= max_term_end(today, lot.property_class))
                               for lot in lots))
        try:
            plans = decisions.seize(case, actor, lots, self.now, self.now, last_day)
        except DomainError as error:
            self.refused(before, error)
            assert not expected_ok, error
            return
        assert expected_ok
        assert [p.lot_id for p in plans] == [lot.id for lot in lots]
        sid = self.next_seizure
        self.next_seizure += 1
        for lot, plan in zip(lots, plans):
            assert plan.rank == len(queue_at(lot, self.now).live) + 1
            assert plan.term_days is None if last_day is None else plan.term_days >= 1
            new = HoldFacts(sid, lot.id, case_id, self.step, self.now, plan.term_days)
            self.lots[lot.id] = replace(self.lots[lot.id], holds=self.lots[lot.id].holds + (new,))
            v = queue_at(self.facts(lot.id), self.now).of_seizure(sid)
            assert (v.status, v.rank) == ("effective" if plan.rank == 1 else "queued", plan.rank)
            if plan.rank == 1:
                assert v.effective_from == self.now
                assert v.term_end == (last_day or max_term_end(today, lot.property_class))

    @initialize(seizures=st.lists(st.tuples(case_ids, st.lists(picks, min_size=1, max_size=3)), max_size=4))
    def some_seizures_to_start_with(self, seizures):
        for case_id, lot_picks in seizures:
            self.seize(case_id, None, lot_picks, None)
            self.now += timedelta(minutes=1)
        self.times.append(self.now)

    @rule(case_id=case_ids, lot_picks=st.lists(picks, min_size=1, max_size=3))
    def seize_by_the_acting_unit(self, case_id, lot_picks):
        self.seize(case_id, None, lot_picks, None)

    @rule(pick=picks, actor=actors, every_lot=st.booleans(), live_only=st.booleans())
    def release(self, pick, actor, every_lot, live_only):
        self.tick()
        holds = self.live_holds() if live_only else self.all_holds()
        if not holds:
            return
        lot_id, hold = holds[pick % len(holds)]
        sid = hold.seizure_id
        case = self.cases[hold.case_id]
        actor = actor or case.acting_unit
        if every_lot:  # as the service does without lot_ids: the open lots it still holds, else all of them
            mine = [self.facts(i) for i, h in self.all_holds() if h.seizure_id == sid]
            live = [lot for lot in mine if (v := queue_at(lot, self.now).of_seizure(sid)) and v.live
                    and self.is_open(lot, self.now)]
            lots = live or mine
        else:
            lots = [self.facts(lot_id)]
        before = self.snapshot()
        views = {lot.id: queue_at(lot, self.now) for lot in lots}
        expected_ok = actor == case.acting_unit and all(
            views[lot.id].of_seizure(sid).live and self.is_open(lot, self.now) for lot in lots)
        try:
            promoted = decisions.release(case, actor, sid, lots, self.now)
        except DomainError as error:
            self.refused(before, error)
            assert not expected_ok, error
            return
        assert expected_ok
        expected = [(lot.id, q.live[1].hold.seizure_id, q.live[1].hold.case_id) for lot in lots
                    if (q := views[lot.id]).live[0].hold.seizure_id == sid and len(q.live) > 1]
        assert promoted == expected
        for lot in lots:
            self.put_hold(lot.id, sid, ended_at=self.now, end_status="released")
            after = queue_at(self.facts(lot.id), self.now)
            assert after.of_seizure(sid).status == "released"
            was = views[lot.id]
            if was.live[0].hold.seizure_id == sid:
                if len(was.live) > 1:
                    assert after.effective.hold.seizure_id == was.live[1].hold.seizure_id
                    assert after.effective.effective_from == self.now
                else:
                    assert after.live == ()
            else:
                assert after.effective.hold == was.effective.hold
                assert after.effective.effective_from == was.effective.effective_from
                assert after.effective.term_end == was.effective.term_end
            assert [v.hold.seizure_id for v in after.live] == [
                v.hold.seizure_id for v in was.live if v.hold.seizure_id != sid]

    @rule(pick=picks, actor=actors, live_only=st.booleans(),
          extra=st.one_of(st.integers(1, 800), st.integers(-40, 1200), st.sampled_from([0, "max", "max+1"])))
    def renew(self, pick, actor, extra, live_only):
        self.tick()
        holds = self.live_holds() if live_only else self.all_holds()
        if not holds:
            return
        lot_id, hold = holds[pick % len(holds)]
        sid = hold.seizure_id
        case = self.cases[hold.case_id]
        actor = actor or case.acting_unit
        lot = self.facts(lot_id)
        v = queue_at(lot, self.now).of_seizure(sid)
        base = v.term_end or beijing_date(self.now)
        limit = renewal_limit(base, MAX_TERM_YEARS[lot.property_class])
        new_last_day = {"max": limit, "max+1": limit + timedelta(days=1)}.get(extra) \
            or base + timedelta(days=extra)
        before = self.snapshot()
        expected_ok = (actor == case.acting_unit and v.status == "effective" and self.is_open(lot, self.now)
                       and new_last_day > v.term_end
                       and new_last_day <= renewal_limit(v.term_end, MAX_TERM_YEARS[lot.property_class]))
        try:
            plans = decisions.renew(case, actor, sid, [lot], self.now, new_last_day)
        except DomainError as error:
            self.refused(before, error)
            assert not expected_ok, error
            return
        assert expected_ok
        assert plans == [(lot_id, new_last_day)]
        self.put_hold(lot_id, sid, term_end=new_last_day, effective_from=v.effective_from)
        self.renewals[(lot_id, sid)] = self.renewals.get((lot_id, sid), 0) + 1
        after = queue_at(self.facts(lot_id), self.now).of_seizure(sid)
        assert (after.status, after.rank, after.effective_from, after.term_end) == (
            "effective", 1, v.effective_from, new_last_day)

    @rule(delta=deltas)
    def advance(self, delta):
        self.tick()
        self.now += delta
        self.times.append(self.now)

    @rule(pick=picks, just_before=st.booleans())
    def advance_to_an_expiry(self, pick, just_before):
        """Move to the instant an effective seizure expires, or one microsecond before it."""
        self.tick()
        expiries = sorted({end_of_term(q.effective.term_end) for lot in self.lots.values()
                           if (q := queue_at(lot, self.now)).effective is not None})
        if not expiries:
            return
        target = expiries[pick % len(expiries)]
        if just_before and target - US > self.now:
            target -= US
        self.now = target
        self.times.append(self.now)

    @rule(case_id=case_ids, actor=units, mode=st.sampled_from(["elevate", "designate", "assist", "takeover"]),
          to_unit=units)
    def transfer_case(self, case_id, actor, mode, to_unit):
        self.tick()
        case = self.cases[case_id]
        before = self.snapshot()
        try:
            decisions.transfer_case(case, UNITS[actor], mode, UNITS[to_unit], UNITS[case.acting_unit])
        except DomainError as error:
            self.refused(before, error)
            return
        assert UNITS[to_unit].kind == "court"
        if mode == "takeover":
            assert case.kind == "criminal" and actor == case.acting_unit == "SH-POLICE"
        else:
            # a superior court of the acting unit; or (an extension) the acting court itself designating or
            # adding a court under it
            assert actor in UNITS[case.acting_unit].ancestors or (
                mode != "elevate" and actor == case.acting_unit and actor in UNITS[to_unit].ancestors)
        queues = {i: queue_at(self.facts(i), self.now) for i in self.lots}
        if mode == "assist":
            self.cases[case_id] = replace(case, assisting_units=case.assisting_units | {to_unit})
        else:
            self.cases[case_id] = replace(case, acting_unit=to_unit)
        for i, q in queues.items():  # ranks and terms are untouched
            assert queue_at(self.facts(i), self.now) == q

    @rule(case_id=case_ids, actor=actors)
    def convert(self, case_id, actor):
        self.tick()
        case = self.cases[case_id]
        actor = actor or case.acting_unit
        before = self.snapshot()
        try:
            decisions.convert(case, actor)
        except DomainError as error:
            self.refused(before, error)
            assert case.kind != "preservation" or actor != case.acting_unit
            return
        assert case.kind == "preservation" and actor == case.acting_unit
        self.cases[case_id] = replace(case, kind="execution", number=case.number + "(执)")

    @rule(pick=picks, actor=actors, to_case=case_ids)
    def transfer_disposal(self, pick, actor, to_case):
        self.tick()
        (lot,) = self.pick_lots([pick])
        head = queue_at(lot, self.now).effective
        actor = actor or (self.cases[head.hold.case_id].acting_unit if head else UNIT_CODES[pick % 4])
        before = self.snapshot()
        try:
            from_case, from_seizure = decisions.transfer_disposal(lot, actor, self.cases[to_case], self.now)
        except DomainError as error:
            self.refused(before, error)
            return
        q = queue_at(lot, self.now)
        assert self.is_open(lot, self.now)
        assert (from_case, from_seizure) == (q.effective.hold.case_id, q.effective.hold.seizure_id)
        assert from_case != to_case
        assert actor == self.cases[from_case].acting_unit
        transfers = self.lots[lot.id].disposal_transfers + ((from_seizure, to_case),)
        self.lots[lot.id] = replace(self.lots[lot.id], disposal_transfers=transfers)
        after = self.facts(lot.id)
        assert queue_at(after, self.now) == q
        assert disposer_case_id(after, q) == to_case

    @rule(pick=picks, actor=actors, n=st.integers(1, 3), off=st.sampled_from([0, 0, 0, 1, -1]))
    def split(self, pick, actor, n, off):
        self.tick()
        (lot,) = self.pick_lots([pick])
        disposer = self.disposer_of(lot)
        if actor is None:
            may = sorted(self.cases[disposer].assisting_units | {self.cases[disposer].acting_unit}) \
                if disposer else UNIT_CODES
            actor = may[pick % len(may)]
        units_ = int(lot.weight_t / QUANTUM)
        if units_ < n + 1:
            return
        weights = [QUANTUM * (units_ // n)] * (n - 1)
        weights.append(lot.weight_t - sum(weights, Decimal(0)) + off * QUANTUM)
        before = self.snapshot()
        q = queue_at(lot, self.now)
        disposer = disposer_case_id(lot, q)
        expected_ok = (self.is_open(lot, self.now) and off == 0
                       and (disposer is None or self.cases[disposer].may_dispose(actor)))
        try:
            carried = decisions.split(lot, actor, weights, self.now)
        except DomainError as error:
            self.refused(before, error)
            assert not expected_ok, error
            return
        assert expected_ok
        assert carried == q
        children = []
        for k, weight in enumerate(weights):
            child_id = self.next_lot
            self.next_lot += 1
            holds = tuple(HoldFacts(
                v.hold.seizure_id, child_id, v.hold.case_id, v.hold.position, v.hold.registered_at,
                v.hold.term_days,
                term_end=v.term_end if v.status == "effective" else None,
                effective_from=v.effective_from if v.status == "effective" else None) for v in carried.live)
            self.lots[child_id] = LotFacts(child_id, f"{lot.card_no}-{k + 1}", lot.custodian, weight,
                                           lot.property_class, holds=holds)
            self.created[child_id] = self.now
            for v in carried.live:
                if (lot.id, v.hold.seizure_id) in self.renewals:
                    self.renewals[(child_id, v.hold.seizure_id)] = self.renewals[(lot.id, v.hold.seizure_id)]
            children.append(child_id)
        self.lots[lot.id] = replace(self.lots[lot.id], split_at=self.now)
        self.parts[lot.id] = children
        parent = self.facts(lot.id)
        assert lot_status(parent, queue_at(parent, self.now), self.now) == "split"
        for child_id in children:
            child = self.facts(child_id)
            for at in (self.now, self.now + timedelta(days=400), self.now + timedelta(days=4000)):
                assert _live(queue_at(child, at)) == _live(queue_at(parent, at))

    @rule(case_id=st.one_of(st.none(), st.none(), case_ids), actor=actors,
          lot_picks=st.lists(picks, min_size=1, max_size=3), override=st.booleans())
    def dispose(self, case_id, actor, lot_picks, override):
        self.tick()
        lots = self.pick_lots(lot_picks)
        case = self.cases[case_id or self.disposer_of(lots[0]) or 1]
        may = sorted(case.assisting_units | {case.acting_unit})
        actor = actor or may[lot_picks[0] % len(may)]
        before = self.snapshot()
        queues = {lot.id: queue_at(lot, self.now) for lot in lots}
        expected_ok = (case.may_dispose(actor) and case.kind in ("execution", "criminal")
                       and all(self._may_dispose(case, lot, queues[lot.id], override) for lot in lots))
        try:
            plan = decisions.dispose(case, actor, lots, self.now, override)
        except DomainError as error:
            self.refused(before, error)
            assert not expected_ok, error
            if error.code not in ("forbidden", "case_not_executable"):
                assert error.conflicts
                assert {c.lot_id for c in error.conflicts} == {
                    lot.id for lot in lots if not self._may_dispose(case, lot, queues[lot.id], override)}
            return
        assert expected_ok
        assert plan.total_weight_t == sum((lot.weight_t for lot in lots), Decimal(0))
        pairs = plan.executed + plan.voided
        assert len(pairs) == len(set(pairs))
        assert set(pairs) == {(lot.id, v.hold.seizure_id) for lot in lots for v in queues[lot.id].live}
        assert plan.executed == [(lot.id, v.hold.seizure_id) for lot in lots for v in queues[lot.id].live
                                 if v.rank == 1 or v.hold.case_id == case.id]
        for status, which in (("executed", plan.executed), ("voided", plan.voided)):
            for lot_id, sid in which:
                self.put_hold(lot_id, sid, ended_at=self.now, end_status=status)
        for lot in lots:
            self.lots[lot.id] = replace(self.lots[lot.id], disposed_at=self.now)
            after = self.facts(lot.id)
            q = queue_at(after, self.now)
            assert q.live == () and lot_status(after, q, self.now) == "disposed"

    @rule(pick=picks)
    def dispose_as_the_disposer(self, pick):
        self.dispose(None, None, [pick], True)

    def _may_dispose(self, case: CaseFacts, lot: LotFacts, q, override: bool) -> bool:
        """An independent statement of §4.6–§4.7 (there are no objections in this model)."""
        if not self.is_open(lot, self.now) or not q.live:
            return False
        head = q.live[0].hold  # the right was handed on by the effective seizure, and lapses with it
        disposer = next((to for frm, to in reversed(lot.disposal_transfers) if frm == head.seizure_id),
                        head.case_id)
        kinds = {self.cases[v.hold.case_id].kind == "criminal" for v in q.live}
        return disposer == case.id and (override or kinds != {True, False})

    @rule(offsets=st.lists(st.tuples(st.booleans(), deltas), min_size=1, max_size=4))
    def look_back_and_ahead(self, offsets):
        """`as_of` at random instants before and after now: the same invariants hold."""
        instants = sorted({max(START, self.now - d) if back else self.now + d for back, d in offsets} | {self.now})
        for lot_id in self.lots:
            self.check_lot(self.facts(lot_id), instants)

    # --- invariants -----------------------------------------------------------------------------------------

    def instants(self) -> list[datetime]:
        found = {self.now, self.now - US, self.now + timedelta(days=1), self.now + timedelta(days=800),
                 self.now + timedelta(days=4000), *self.times[-3:]}
        for lot in self.lots.values():
            head = queue_at(lot, self.now).effective
            if head is not None:
                e = end_of_term(head.term_end)
                found |= {e - US, e}
        return sorted(t for t in found if t >= START)

    @invariant()
    def split_parts_weigh_the_parent(self):
        for parent, children in self.parts.items():
            assert sum((self.lots[c].weight_t for c in children), Decimal(0)) == self.lots[parent].weight_t
            assert self.lots[parent].split_at is not None

    @invariant()
    def queues_are_consistent_at_every_instant(self):
        instants = self.instants()
        for lot_id in self.lots:
            self.check_lot(self.facts(lot_id), instants)

    def teardown(self):
        instants = sorted(set(self.times) | {t + US for t in self.times} | {t - US for t in self.times}
                          | set(self.instants()))
        for lot_id in self.lots:
            self.check_lot(self.facts(lot_id), instants)

    def check_lot(self, lot: LotFacts, instants: list[datetime]) -> None:
        years = MAX_TERM_YEARS[lot.property_class]
        previous = None
        for t in instants:
            q = queue_at(lot, t)
            shown = q.live + q.ended
            assert sorted(v.hold.seizure_id for v in shown) == sorted(
                h.seizure_id for h in lot.holds if h.registered_at <= t), "nothing is deleted"
            # §4.1: one effective, ranks 1..n in registration order, one live seizure per case
            assert [v.rank for v in q.live] == list(range(1, len(q.live) + 1))
            assert [v.status for v in q.live] == ["effective", *["queued"] * (len(q.live) - 1)][:len(q.live)]
            positions = [v.hold.position for v in q.live]
            assert positions == sorted(positions) and len(set(positions)) == len(positions)
            assert len({v.hold.case_id for v in q.live}) == len(q.live)
            for v in q.ended:
                assert v.status in ENDED and v.rank is None and v.ended_at is not None and v.ended_at <= t
            if lot.disposed_at is not None and t >= lot.disposed_at:
                assert q.live == (), "a disposed lot has no live seizure"
                assert lot_status(lot, q, t) == "disposed"
            # §4.3: the effective term is bounded by the maximum from its start plus one maximum per renewal
            head = q.effective
            if head is not None:
                assert head.effective_from is not None and head.term_end is not None
                assert end_of_term(head.term_end) > t
                assert end_of_term(head.term_end) > head.effective_from
                if t >= self.created[lot.id]:
                    assert head.effective_from <= t
                bound = max_term_end(beijing_date(head.effective_from), lot.property_class)
                for _ in range(self.renewals.get((lot.id, head.hold.seizure_id), 0)):
                    bound = renewal_limit(bound, years)
                assert head.term_end <= bound
                assert head.term_end >= beijing_date(head.effective_from)
            # monotonic history: once ended, ended the same way; a live rank never grows
            if previous is not None:
                before_t, before_q = previous
                now_views = {v.hold.seizure_id: v for v in shown}
                for v in before_q.ended:
                    later = now_views[v.hold.seizure_id]
                    assert (later.status, later.ended_at) == (v.status, v.ended_at), (
                        f"seizure {v.hold.seizure_id} on lot {lot.id}: {v.status} at {before_t}, "
                        f"{later.status} at {t}")
                for v in before_q.live:
                    later = now_views[v.hold.seizure_id]
                    if later.live:
                        assert later.rank <= v.rank
                    if v.status == "effective" and later.live:
                        assert later.status == "effective" and later.effective_from == v.effective_from
            previous = (t, q)


def _live(q) -> list[tuple[int, int, str, datetime | None, date | None]]:
    return [(v.hold.seizure_id, v.rank, v.status, v.effective_from, v.term_end) for v in q.live]


Registry.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None, database=None,
                                      suppress_health_check=[HealthCheck.too_slow])
TestRegistry = Registry.TestCase
