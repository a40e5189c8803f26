"""Table-driven tests of every rule in SPEC §4 against the pure domain core (registry/rules).

Everything runs on a fixed clock: explicit, aware UTC instants. Beijing is UTC+8, so a term whose last day
is D ends at 24:00 Beijing on D, i.e. at 16:00 UTC on D.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from registry.rules import decisions, units
from registry.rules.errors import Conflict, DomainError
from registry.rules.queue import disposer_case_id, lot_flags, lot_status, queue_at
from registry.rules.terms import BEIJING, anniversary, beijing_date, end_of_term, max_term_end, term_end_from
from registry.rules.values import CaseFacts, HoldFacts, LotFacts, UnitFacts

UTC = timezone.utc
US = timedelta(microseconds=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def bj(*args: int) -> datetime:
    """An instant given as Beijing wall-clock time, returned in UTC."""
    return datetime(*args, tzinfo=BEIJING).astimezone(UTC)


# --- units --------------------------------------------------------------------------------------------------
HIGH = UnitFacts("SH-HIGH-COURT", "court", ())
INTER = UnitFacts("SH-NO2-INTER-COURT", "court", ("SH-HIGH-COURT",))
BAOSHAN = UnitFacts("SH-BAOSHAN-COURT", "court", ("SH-NO2-INTER-COURT", "SH-HIGH-COURT"))
YANGPU = UnitFacts("SH-YANGPU-COURT", "court", ("SH-NO2-INTER-COURT", "SH-HIGH-COURT"))
PUDONG = UnitFacts("SH-PUDONG-COURT", "court", ("SH-HIGH-COURT",))
WUXI = UnitFacts("JS-WUXI-COURT", "court", ("JS-HIGH-COURT",))
POLICE = UnitFacts("SH-POLICE-ECON", "police", ())
POLICE2 = UnitFacts("SH-POLICE-BAOSHAN", "police", ())
AUDITOR = UnitFacts("AUDIT-1", "auditor", ())
ADMIN = UnitFacts("OPERATOR", "admin", ())

# --- cases ------------------------------------------------------------------------------------------------
EXE = CaseFacts(1, "(2026)沪0113执100号", "execution", BAOSHAN.code, BAOSHAN.code, frozenset({PUDONG.code}))
EXE2 = CaseFacts(2, "(2026)沪0110执200号", "execution", YANGPU.code, YANGPU.code)
PRES = CaseFacts(3, "(2026)沪0113财保300号", "preservation", BAOSHAN.code, BAOSHAN.code)
CRIM = CaseFacts(4, "沪公经立字〔2026〕400号", "criminal", POLICE.code, POLICE.code)
EXE5 = CaseFacts(5, "(2026)沪0115执500号", "execution", PUDONG.code, PUDONG.code)
CASES = {c.id: c for c in (EXE, EXE2, PRES, CRIM, EXE5)}

T0 = utc(2026, 3, 2, 1)  # 09:00 Beijing on 2 March 2026


def hold(sid: int, case: CaseFacts, pos: int, at: datetime = T0, days: int = 730, lot: int = 1,
         **kw) -> HoldFacts:
    return HoldFacts(sid, lot, case.id, pos, at, days, **kw)


def mklot(*holds: HoldFacts, id: int = 1, cls: str = "movable", weight: str = "10.0000", **kw) -> LotFacts:
    holds = tuple(replace(h, lot_id=id) for h in holds)
    return LotFacts(id, f"CARD-{id:04d}", "上海铁路宝山站货场", Decimal(weight), cls, holds=holds,
                    cases=dict(CASES), **kw)


def table(lot: LotFacts, now: datetime) -> dict[int, tuple[str, int | None]]:
    """seizure_id -> (status, rank) as of now, live and ended alike."""
    q = queue_at(lot, now)
    return {v.hold.seizure_id: (v.status, v.rank) for v in q.live + q.ended}


def view(lot: LotFacts, sid: int, now: datetime):
    v = queue_at(lot, now).of_seizure(sid)
    assert v is not None
    return v


def end(h: HoldFacts, at: datetime, status: str = "released") -> HoldFacts:
    return replace(h, ended_at=at, end_status=status)


def refused(call, *args, **kw) -> DomainError:
    with pytest.raises(DomainError) as info:
        call(*args, **kw)
    return info.value


# ====================================================================================================
# Terms: calendar helpers
# ====================================================================================================

@pytest.mark.parametrize("start, cls, last_day", [
    (date(2026, 1, 10), "movable", date(2028, 1, 9)),       # SPEC: a 2-year term from 10 Jan ends 9 Jan
    (date(2026, 1, 10), "real_estate", date(2029, 1, 9)),
    (date(2026, 1, 10), "deposit", date(2027, 1, 9)),
    (date(2026, 3, 1), "movable", date(2028, 2, 29)),       # ends on a leap day
    (date(2026, 3, 2), "deposit", date(2027, 3, 1)),
    (date(2025, 12, 31), "movable", date(2027, 12, 30)),
    (date(2026, 1, 1), "deposit", date(2026, 12, 31)),
    (date(2028, 2, 29), "movable", date(2030, 2, 28)),      # the eve of 1 March, its anniversary
])
def test_max_term_end(start, cls, last_day):
    assert max_term_end(start, cls) == last_day


@pytest.mark.parametrize("day, years, expected", [
    (date(2026, 1, 10), 2, date(2028, 1, 10)),
    (date(2026, 1, 10), 3, date(2029, 1, 10)),
    (date(2024, 2, 29), 1, date(2025, 3, 1)),   # 29 February's anniversary in a common year
    (date(2024, 2, 29), 4, date(2028, 2, 29)),
    (date(2025, 2, 28), 3, date(2028, 2, 28)),
])
def test_anniversary(day, years, expected):
    assert anniversary(day, years) == expected


@pytest.mark.parametrize("start, days, cls, expected", [
    (date(2026, 1, 10), 1, "movable", date(2026, 1, 10)),       # one day: ends the same day
    (date(2026, 1, 10), 30, "movable", date(2026, 2, 8)),
    (date(2026, 1, 10), 730, "movable", date(2028, 1, 9)),      # exactly the maximum
    (date(2026, 1, 10), 731, "movable", date(2028, 1, 9)),      # never beyond it
    (date(2026, 1, 10), 10_000, "deposit", date(2027, 1, 9)),
    (date(2026, 1, 10), 10_000, "real_estate", date(2029, 1, 9)),
    (date(2026, 4, 1), 10, "movable", date(2026, 4, 10)),
])
def test_term_end_from(start, days, cls, expected):
    assert term_end_from(start, days, cls) == expected


@pytest.mark.parametrize("last_day, instant", [
    (date(2026, 1, 9), utc(2026, 1, 9, 16)),
    (date(2026, 3, 31), utc(2026, 3, 31, 16)),
    (date(2027, 12, 31), utc(2027, 12, 31, 16)),
    (date(2028, 2, 29), utc(2028, 2, 29, 16)),
])
def test_end_of_term_is_24h_beijing(last_day, instant):
    got = end_of_term(last_day)
    assert got == instant
    assert got.utcoffset() == timedelta(0)
    assert got.astimezone(BEIJING).date() == last_day + timedelta(days=1)
    assert got.astimezone(BEIJING).hour == 0


@pytest.mark.parametrize("instant, day", [
    (utc(2026, 1, 9, 15, 59, 59, 999999), date(2026, 1, 9)),
    (utc(2026, 1, 9, 16), date(2026, 1, 10)),
    (utc(2026, 3, 1, 23), date(2026, 3, 2)),
])
def test_beijing_date(instant, day):
    assert beijing_date(instant) == day


# ====================================================================================================
# §4.1 Rank is registration order
# ====================================================================================================

def test_rank_is_position_order_not_id_or_tuple_order():
    lot = mklot(hold(30, EXE2, pos=7, at=T0 + timedelta(hours=2)),
                hold(10, CRIM, pos=9, at=T0 + timedelta(hours=3)),
                hold(20, EXE, pos=3, at=T0))
    q = queue_at(lot, T0 + timedelta(days=1))
    assert [(v.hold.seizure_id, v.status, v.rank) for v in q.live] == [
        (20, "effective", 1), (30, "queued", 2), (10, "queued", 3)]
    assert q.effective.hold.seizure_id == 20
    assert q.ended == ()


@pytest.mark.parametrize("ended, expected_live", [
    ({}, [(1, 1), (2, 2), (3, 3), (4, 4)]),
    ({2: "released"}, [(1, 1), (3, 2), (4, 3)]),
    ({1: "released"}, [(2, 1), (3, 2), (4, 3)]),
    ({1: "released", 3: "released"}, [(2, 1), (4, 2)]),
    ({1: "released", 2: "released", 3: "released", 4: "released"}, []),
])
def test_exactly_one_effective_and_ranks_close_gaps(ended, expected_live):
    holds = [hold(i, c, pos=i, at=T0 + timedelta(minutes=i))
             for i, c in enumerate((EXE, EXE2, PRES, CRIM), 1)]
    at = T0 + timedelta(days=2)
    holds = [end(h, at, ended[h.seizure_id]) if h.seizure_id in ended else h for h in holds]
    q = queue_at(mklot(*holds), at)
    assert [(v.hold.seizure_id, v.rank) for v in q.live] == expected_live
    assert sum(v.status == "effective" for v in q.live) == (1 if expected_live else 0)
    assert all(v.status == "queued" for v in q.live[1:])
    assert sorted(v.hold.seizure_id for v in q.ended) == sorted(ended)
    assert all(v.status == "released" and v.rank is None for v in q.ended)


def test_a_seizure_registered_after_as_of_is_not_shown():
    lot = mklot(hold(1, EXE, 1, at=T0), hold(2, EXE2, 2, at=T0 + timedelta(hours=1)))
    assert table(lot, T0 + timedelta(minutes=59)) == {1: ("effective", 1)}
    assert table(lot, T0 + timedelta(hours=1)) == {1: ("effective", 1), 2: ("queued", 2)}
    assert table(lot, T0 - US) == {}


@pytest.mark.parametrize("holds, rank", [
    ((), 1),
    ((hold(1, EXE2, 1),), 2),
    ((hold(1, EXE2, 1), hold(2, CRIM, 2)), 3),
    ((end(hold(1, EXE2, 1), T0 + timedelta(hours=1)), hold(2, CRIM, 2)), 2),     # released ones do not count
    ((hold(1, EXE2, 1, days=1),), 1),                                             # expired on 2 March
])
def test_seize_joins_the_end_of_the_queue(holds, rank):
    now = T0 + timedelta(days=2)
    plans = decisions.seize(EXE, BAOSHAN.code, [mklot(*holds)], now, now, None)
    assert [(p.lot_id, p.rank) for p in plans] == [(1, rank)]
    assert plans[0].term_days is None  # the default: the maximum, counted from when it takes effect


@pytest.mark.parametrize("mine, term_end", [
    (hold(5, EXE, 1), date(2028, 2, 29)),              # effective: its term as it runs
    (hold(5, EXE, 2), None),                           # queued: no term runs yet
])
def test_a_case_cannot_hold_two_live_seizures_on_one_lot(mine, term_end):
    lot = mklot(hold(4, EXE2, 1 if mine.position == 2 else 2), mine)
    err = refused(decisions.seize, EXE, BAOSHAN.code, [lot], T0 + timedelta(days=1), T0, None)
    assert err.code == "already_seized_by_case"
    assert err.conflicts == [Conflict(1, "CARD-0001", "already_seized_by_case", EXE.id, EXE.number,
                                      BAOSHAN.code, "seizure 5 of this case is live", term_end)]


@pytest.mark.parametrize("mine", [
    end(hold(5, EXE, 1), T0 + timedelta(hours=1)),      # released
    hold(5, EXE, 1, days=1),                            # expired 24:00 on 2 March
])
def test_after_its_seizure_ended_a_case_may_seize_again_at_the_end(mine):
    lot = mklot(mine, hold(6, EXE2, 2))
    plans = decisions.seize(EXE, BAOSHAN.code, [lot], T0 + timedelta(days=1), T0, None)
    assert [p.rank for p in plans] == [2]


def test_seizure_refused_on_closed_lots_names_every_blocking_lot():
    now = T0 + timedelta(days=1)
    free = mklot(id=1)
    disposed = mklot(id=2, disposed_at=T0)
    split = mklot(id=3, split_at=T0)
    mine = mklot(hold(9, EXE, 1), id=4)
    free2 = mklot(id=5)
    err = refused(decisions.seize, EXE, BAOSHAN.code, [free, disposed, split, mine, free2], now, now, None)
    assert err.code == err.conflicts[0].code == "lot_disposed"  # mixed reasons: the first lot's
    assert [(c.lot_id, c.card_no, c.code) for c in err.conflicts] == [
        (2, "CARD-0002", "lot_disposed"), (3, "CARD-0003", "lot_split"),
        (4, "CARD-0004", "already_seized_by_case")]


@pytest.mark.parametrize("closed, code", [("disposed_at", "lot_disposed"), ("split_at", "lot_split")])
def test_seizure_refused_on_two_closed_lots_of_one_kind(closed, code):
    now = T0 + timedelta(days=1)
    lots = [mklot(id=1), mklot(id=2, **{closed: T0}), mklot(id=3, **{closed: T0})]
    err = refused(decisions.seize, EXE, BAOSHAN.code, lots, now, now, None)
    assert err.code == code
    assert [c.lot_id for c in err.conflicts] == [2, 3]
    assert {c.code for c in err.conflicts} == {code}


def test_a_lot_closed_after_the_instant_does_not_block():
    now = T0 + timedelta(days=1)
    lot = mklot(id=1, disposed_at=now + US)
    assert [p.rank for p in decisions.seize(EXE, BAOSHAN.code, [lot], now, now, None)] == [1]


def test_seize_only_by_the_acting_unit():
    for actor in (PUDONG.code, YANGPU.code, HIGH.code):  # PUDONG assists EXE: still may not seize
        err = refused(decisions.seize, EXE, actor, [mklot()], T0, T0, None)
        assert err.code == "forbidden"


@pytest.mark.parametrize("served_at, ok", [
    (T0 + timedelta(minutes=5), True),
    (T0 + timedelta(minutes=5) + US, False),
    (T0 - timedelta(days=400), True),
])
def test_served_at_may_not_be_in_the_future(served_at, ok):
    if ok:
        assert decisions.seize(EXE, BAOSHAN.code, [mklot()], T0, served_at, None)
    else:
        err = refused(decisions.seize, EXE, BAOSHAN.code, [mklot()], T0, served_at, None)
        assert err.code == "validation_error" and "served_at" in err.errors


# ====================================================================================================
# §4.2 Release promotes
# ====================================================================================================

R = bj(2026, 5, 5, 15, 30)  # a release at 15:30 Beijing on 5 May 2026


def _three():
    return mklot(hold(1, EXE, 1, days=730), hold(2, EXE2, 2, T0 + timedelta(hours=1), days=100),
                 hold(3, CRIM, 3, T0 + timedelta(hours=2), days=100))


def test_release_of_the_effective_promotes_the_next_at_that_instant():
    lot = _three()
    promoted = decisions.release(EXE, BAOSHAN.code, 1, [lot], R)
    assert promoted == [(1, 2, EXE2.id)]
    after = replace(lot, holds=(end(lot.holds[0], R),) + lot.holds[1:])
    q = queue_at(after, R)
    assert [(v.hold.seizure_id, v.status, v.rank) for v in q.live] == [(2, "effective", 1), (3, "queued", 2)]
    assert q.effective.effective_from == R
    assert q.effective.term_end == date(2026, 8, 12)  # 100 days from 5 May (Beijing)
    assert [(v.hold.seizure_id, v.status, v.ended_at) for v in q.ended] == [(1, "released", R)]
    assert table(after, R - US) == {1: ("effective", 1), 2: ("queued", 2), 3: ("queued", 3)}


def test_release_of_a_queued_seizure_leaves_the_effective_one():
    lot = _three()
    assert decisions.release(EXE2, YANGPU.code, 2, [lot], R) == []
    after = replace(lot, holds=(lot.holds[0], end(lot.holds[1], R), lot.holds[2]))
    q = queue_at(after, R)
    assert [(v.hold.seizure_id, v.status, v.rank) for v in q.live] == [(1, "effective", 1), (3, "queued", 2)]
    assert q.effective.effective_from == T0
    assert q.effective.term_end == date(2028, 2, 29)  # 730 days from 2 March 2026


def test_release_promotes_the_next_live_skipping_ended_ones():
    lot = _three()
    lot = replace(lot, holds=(lot.holds[0], end(lot.holds[1], R - timedelta(days=1)), lot.holds[2]))
    assert decisions.release(EXE, BAOSHAN.code, 1, [lot], R) == [(1, 3, CRIM.id)]
    after = replace(lot, holds=(end(lot.holds[0], R),) + lot.holds[1:])
    assert table(after, R) == {3: ("effective", 1), 1: ("released", None), 2: ("released", None)}
    assert view(after, 3, R).effective_from == R


def test_release_of_the_last_promotes_nothing_and_frees_the_lot():
    lot = mklot(hold(1, EXE, 1))
    assert decisions.release(EXE, BAOSHAN.code, 1, [lot], R) == []
    after = replace(lot, holds=(end(lot.holds[0], R),))
    assert lot_status(after, queue_at(after, R), R) == "free"
    assert lot_status(after, queue_at(after, R - US), R - US) == "seized"


def test_release_at_the_instant_a_seizure_became_effective_by_expiry():
    lot = mklot(hold(1, EXE2, 1, days=30), hold(2, EXE, 2, days=730), hold(3, CRIM, 3, days=5))
    e = utc(2026, 3, 31, 16)
    assert view(lot, 2, e).status == "effective"
    assert decisions.release(EXE, BAOSHAN.code, 2, [lot], e) == [(1, 3, CRIM.id)]
    after = replace(lot, holds=(lot.holds[0], end(lot.holds[1], e), lot.holds[2]))
    assert table(after, e) == {1: ("expired", None), 2: ("released", None), 3: ("effective", 1)}
    assert view(after, 3, e).effective_from == e
    assert view(after, 3, e).term_end == date(2026, 4, 5)
    assert table(after, e - US) == {1: ("effective", 1), 2: ("queued", 2), 3: ("queued", 3)}


def test_release_on_many_lots_promotes_where_it_was_effective():
    a = mklot(hold(1, EXE, 1), hold(2, EXE2, 2), id=1)
    b = mklot(hold(7, CRIM, 1), hold(1, EXE, 2), id=2)
    c = mklot(hold(1, EXE, 1), hold(3, PRES, 2), hold(4, CRIM, 3), id=3)
    assert decisions.release(EXE, BAOSHAN.code, 1, [a, b, c], R) == [(1, 2, EXE2.id), (3, 3, PRES.id)]


@pytest.mark.parametrize("lot, code", [
    (mklot(hold(1, EXE, 1, days=30)), "seizure_expired"),                    # ended 24:00 on 31 March
    (mklot(end(hold(1, EXE, 1), T0 + timedelta(days=1))), "seizure_ended"),
    (mklot(hold(2, EXE2, 1)), "lot_not_in_seizure"),
])
def test_release_of_what_is_not_live(lot, code):
    err = refused(decisions.release, EXE, BAOSHAN.code, 1, [lot], R)
    assert err.code == code
    assert [(c.lot_id, c.code) for c in err.conflicts] == [(1, code)]


@pytest.mark.parametrize("closed, code", [("disposed_at", "lot_disposed"), ("split_at", "lot_split")])
def test_release_and_renewal_are_refused_on_a_closed_lot(closed, code):
    """A split lot's seizures live on in its parts; a disposed lot's have ended."""
    lot = mklot(hold(1, EXE, 1), hold(2, EXE2, 2), **{closed: T0 + timedelta(days=1)})
    for call, args in ((decisions.release, (EXE, BAOSHAN.code, 1, [lot], R)),
                       (decisions.renew, (EXE, BAOSHAN.code, 1, [lot], R, date(2028, 12, 31)))):
        err = refused(call, *args)
        assert err.code == code
        assert [(c.lot_id, c.code) for c in err.conflicts] == [(1, code)]


def test_release_is_all_or_nothing():
    ok = mklot(hold(1, EXE, 1), hold(2, EXE2, 2), id=1)
    expired = mklot(hold(1, EXE, 1, days=30), id=2)
    gone = mklot(end(hold(1, EXE, 1), T0 + timedelta(days=1)), id=3)
    err = refused(decisions.release, EXE, BAOSHAN.code, 1, [ok, expired, gone], R)
    assert err.code == "seizure_expired"
    assert [(c.lot_id, c.code) for c in err.conflicts] == [(2, "seizure_expired"), (3, "seizure_ended")]


# ====================================================================================================
# §4.3 Terms
# ====================================================================================================

@pytest.mark.parametrize("cls, maximum", [
    ("movable", date(2028, 3, 1)), ("real_estate", date(2029, 3, 1)), ("deposit", date(2027, 3, 1))])
def test_term_may_not_exceed_the_statutory_maximum(cls, maximum):
    lot = mklot(cls=cls)
    plans = decisions.seize(EXE, BAOSHAN.code, [lot], T0, T0, maximum)
    assert plans[0].term_days == (maximum - date(2026, 3, 2)).days + 1
    err = refused(decisions.seize, EXE, BAOSHAN.code, [lot], T0, T0, maximum + timedelta(days=1))
    assert err.code == "term_too_long"
    assert [(c.lot_id, c.code) for c in err.conflicts] == [(1, "term_too_long")]
    assert err.errors == {"term_end": [f"{cls}: at most {maximum}"]}


def test_term_too_long_names_only_the_lots_whose_class_it_exceeds():
    lots = [mklot(id=1, cls="movable"), mklot(id=2, cls="deposit"), mklot(id=3, cls="real_estate"),
            mklot(id=4, cls="deposit")]
    err = refused(decisions.seize, EXE, BAOSHAN.code, lots, T0, T0, date(2027, 9, 1))
    assert err.code == "term_too_long"
    assert [c.lot_id for c in err.conflicts] == [2, 4]


@pytest.mark.parametrize("cls, last_day", [
    ("movable", date(2028, 3, 1)), ("real_estate", date(2029, 3, 1)), ("deposit", date(2027, 3, 1))])
def test_default_term_is_the_maximum(cls, last_day):
    plans = decisions.seize(EXE, BAOSHAN.code, [mklot(cls=cls)], T0, T0, None)
    assert plans[0].term_days is None
    seized = mklot(hold(1, EXE, 1, days=plans[0].term_days), cls=cls)
    v = view(seized, 1, T0)
    assert (v.status, v.effective_from, v.term_end) == ("effective", T0, last_day)
    assert table(seized, end_of_term(last_day) - US) == {1: ("effective", 1)}
    assert table(seized, end_of_term(last_day)) == {1: ("expired", None)}


def test_today_is_the_beijing_date():
    now = utc(2026, 1, 9, 16, 30)  # 00:30 on 10 January in Beijing
    plans = decisions.seize(EXE, BAOSHAN.code, [mklot()], now, now, None)
    seized = mklot(hold(1, EXE, 1, at=now, days=plans[0].term_days))
    assert view(seized, 1, now).term_end == date(2028, 1, 9)
    # a term may end on "today" in Beijing even though it is still 9 January in UTC ...
    assert decisions.seize(EXE, BAOSHAN.code, [mklot()], now, now, date(2026, 1, 10))[0].term_days == 1
    # ... but not on the day before
    err = refused(decisions.seize, EXE, BAOSHAN.code, [mklot()], now, now, date(2026, 1, 9))
    assert err.code == "validation_error" and "term_end" in err.errors


@pytest.mark.parametrize("now, status", [
    (utc(2026, 3, 31, 15, 59, 59, 999999), "effective"),
    (utc(2026, 3, 31, 16), "expired"),
    (utc(2026, 3, 31, 16) + US, "expired"),
])
def test_expiry_at_exactly_24h_beijing(now, status):
    lot = mklot(hold(1, EXE, 1, days=30))  # 2 March .. 31 March
    v = view(lot, 1, now)
    assert v.status == status
    assert v.term_end == date(2026, 3, 31)
    assert v.ended_at == (utc(2026, 3, 31, 16) if status == "expired" else None)
    assert lot_status(lot, queue_at(lot, now), now) == ("seized" if status == "effective" else "free")


def _chain():
    return mklot(hold(1, EXE, 1, days=30), hold(2, EXE2, 2, T0 + timedelta(hours=1), days=10),
                 hold(3, CRIM, 3, T0 + timedelta(hours=2), days=5))


@pytest.mark.parametrize("now, expected", [
    (utc(2026, 3, 31, 15, 59, 59, 999999), {1: ("effective", 1), 2: ("queued", 2), 3: ("queued", 3)}),
    (utc(2026, 3, 31, 16), {1: ("expired", None), 2: ("effective", 1), 3: ("queued", 2)}),
    (utc(2026, 4, 10, 15, 59, 59, 999999), {1: ("expired", None), 2: ("effective", 1), 3: ("queued", 2)}),
    (utc(2026, 4, 10, 16), {1: ("expired", None), 2: ("expired", None), 3: ("effective", 1)}),
    (utc(2026, 4, 15, 15, 59, 59, 999999), {1: ("expired", None), 2: ("expired", None), 3: ("effective", 1)}),
    (utc(2026, 4, 15, 16), {1: ("expired", None), 2: ("expired", None), 3: ("expired", None)}),
    (utc(2030, 1, 1), {1: ("expired", None), 2: ("expired", None), 3: ("expired", None)}),
])
def test_a_chain_of_expiries_promotes_in_turn(now, expected):
    assert table(_chain(), now) == expected


@pytest.mark.parametrize("sid, effective_from, term_end, ended_at", [
    (1, T0, date(2026, 3, 31), utc(2026, 3, 31, 16)),
    (2, utc(2026, 3, 31, 16), date(2026, 4, 10), utc(2026, 4, 10, 16)),   # term starts 1 April (Beijing)
    (3, utc(2026, 4, 10, 16), date(2026, 4, 15), utc(2026, 4, 15, 16)),
])
def test_a_queued_term_starts_when_it_becomes_effective(sid, effective_from, term_end, ended_at):
    v = view(_chain(), sid, utc(2026, 6, 1))
    assert (v.status, v.effective_from, v.term_end, v.ended_at) == (
        "expired", effective_from, term_end, ended_at)


def test_as_of_in_the_future_shows_due_expiries_and_promotions():
    lot = _chain()
    now = T0 + timedelta(days=1)
    future = utc(2026, 4, 2)
    assert queue_at(lot, now).effective.hold.seizure_id == 1
    q = queue_at(lot, future)
    assert q.effective.hold.seizure_id == 2 and q.effective.effective_from == utc(2026, 3, 31, 16)
    assert disposer_case_id(lot, q) == EXE2.id
    assert "criminal_civil" in lot_flags(lot, q, future)
    assert lot_flags(lot, q, future) == ["criminal_civil", "expiring"]
    # nothing is deleted: the expired one is in the history
    assert [(v.hold.seizure_id, v.status) for v in q.ended] == [(1, "expired")]


def test_a_queued_seizure_released_before_its_turn_is_skipped_by_expiry():
    lot = _chain()
    lot = replace(lot, holds=(lot.holds[0], end(lot.holds[1], utc(2026, 3, 20)), lot.holds[2]))
    assert table(lot, utc(2026, 3, 31, 16)) == {
        1: ("expired", None), 2: ("released", None), 3: ("effective", 1)}
    assert view(lot, 3, utc(2026, 4, 1)).term_end == date(2026, 4, 5)


@pytest.mark.parametrize("cls, registered, released, expected_end", [
    # registered with the default term over a span with no 29 February, promoted so that its maximum term
    # spans one: it must still end on the maximum counted from its promotion (Beijing date)
    ("movable", bj(2026, 1, 10, 10), bj(2027, 6, 1, 10), date(2029, 5, 31)),
    ("real_estate", bj(2029, 1, 10, 10), bj(2030, 6, 1, 10), date(2033, 5, 31)),
    ("deposit", bj(2027, 1, 10, 10), bj(2027, 6, 1, 10), date(2028, 5, 31)),
])
def test_a_default_queued_term_is_the_maximum_from_its_promotion_across_a_leap_day(cls, registered, released,
                                                                                   expected_end):
    first = hold(1, EXE2, 1, at=registered - timedelta(hours=1), days=None)
    lot = mklot(first, cls=cls)
    (plan,) = decisions.seize(EXE, BAOSHAN.code, [lot], registered, registered, None)
    lot = replace(lot, holds=(end(first, released), hold(2, EXE, 2, at=registered, days=plan.term_days)))
    v = view(lot, 2, released)
    assert (v.status, v.effective_from) == ("effective", released)
    assert v.term_end == expected_end == max_term_end(beijing_date(released), cls)


def test_a_default_queued_term_is_the_maximum_from_its_promotion_without_a_leap_day():
    registered, released = bj(2029, 1, 10, 10), bj(2030, 1, 10, 10)
    first = hold(1, EXE2, 1, at=registered - timedelta(hours=1))
    lot = mklot(first)
    (plan,) = decisions.seize(EXE, BAOSHAN.code, [lot], registered, registered, None)
    lot = replace(lot, holds=(end(first, released), hold(2, EXE, 2, at=registered, days=plan.term_days)))
    assert view(lot, 2, released).term_end == date(2032, 1, 9)


# ====================================================================================================
# §4.4 Renewal
# ====================================================================================================

RENEW_AT = utc(2026, 3, 20)
A30 = hold(1, EXE, 1, days=30)       # effective 2 March .. 31 March 2026


@pytest.mark.parametrize("cls, new_last_day, code", [
    ("movable", date(2026, 4, 1), None),
    ("movable", date(2028, 3, 31), None),                   # exactly one maximum beyond the current end
    ("movable", date(2028, 4, 1), "term_too_long"),
    ("real_estate", date(2029, 3, 31), None),
    ("real_estate", date(2029, 4, 1), "term_too_long"),
    ("deposit", date(2027, 3, 31), None),
    ("deposit", date(2027, 4, 1), "term_too_long"),
    ("movable", date(2026, 3, 31), "term_not_extended"),
    ("movable", date(2026, 3, 25), "term_not_extended"),
])
def test_renewal_extends_by_at_most_one_maximum(cls, new_last_day, code):
    lot = mklot(A30, hold(2, EXE2, 2), cls=cls)
    if code is None:
        assert decisions.renew(EXE, BAOSHAN.code, 1, [lot], RENEW_AT, new_last_day) == [(1, new_last_day)]
    else:
        err = refused(decisions.renew, EXE, BAOSHAN.code, 1, [lot], RENEW_AT, new_last_day)
        assert err.code == code
        assert [(c.lot_id, c.code) for c in err.conflicts] == [(1, code)]
        assert "term_end" in err.errors


def test_renewal_keeps_rank_and_moves_the_expiry():
    lot = mklot(A30, hold(2, EXE2, 2, days=10))
    (plan,) = decisions.renew(EXE, BAOSHAN.code, 1, [lot], RENEW_AT, date(2026, 12, 31))
    v = view(lot, 1, RENEW_AT)
    renewed = replace(lot, holds=(replace(A30, term_end=plan[1], effective_from=v.effective_from),
                                  lot.holds[1]))
    assert table(renewed, utc(2026, 4, 1)) == {1: ("effective", 1), 2: ("queued", 2)}
    assert table(renewed, utc(2026, 12, 31, 15, 59, 59, 999999)) == {1: ("effective", 1), 2: ("queued", 2)}
    assert table(renewed, utc(2026, 12, 31, 16)) == {1: ("expired", None), 2: ("effective", 1)}
    assert view(renewed, 2, utc(2027, 1, 1)).term_end == date(2027, 1, 10)
    assert view(renewed, 1, utc(2026, 4, 1)).effective_from == T0


def test_a_second_renewal_counts_from_the_renewed_end():
    lot = mklot(replace(A30, term_end=date(2026, 12, 31), effective_from=T0))
    now = utc(2026, 12, 1)
    assert decisions.renew(EXE, BAOSHAN.code, 1, [lot], now, date(2028, 12, 31)) == [(1, date(2028, 12, 31))]
    err = refused(decisions.renew, EXE, BAOSHAN.code, 1, [lot], now, date(2029, 1, 1))
    assert err.code == "term_too_long"


@pytest.mark.parametrize("now, code", [
    (utc(2026, 3, 31, 15, 59, 59, 999999), None),
    (utc(2026, 3, 31, 16), "seizure_expired"),
    (utc(2026, 6, 1), "seizure_expired"),
])
def test_renewal_only_before_expiry(now, code):
    lot = mklot(A30)
    if code is None:
        plans = decisions.renew(EXE, BAOSHAN.code, 1, [lot], now, date(2026, 6, 30))
        assert plans == [(1, date(2026, 6, 30))]
    else:
        err = refused(decisions.renew, EXE, BAOSHAN.code, 1, [lot], now, date(2026, 6, 30))
        assert err.code == code and err.conflicts[0].lot_id == 1


def test_a_queued_seizure_cannot_be_renewed():
    lot = mklot(A30, hold(2, EXE2, 2))
    err = refused(decisions.renew, EXE2, YANGPU.code, 2, [lot], RENEW_AT, date(2026, 12, 31))
    assert err.code == "seizure_queued"
    assert [(c.lot_id, c.code) for c in err.conflicts] == [(1, "seizure_queued")]


def test_renewal_is_all_or_nothing():
    a = mklot(A30, id=1)
    b = mklot(hold(9, EXE2, 1), hold(1, EXE, 2), id=2)
    c = mklot(end(hold(1, EXE, 1), utc(2026, 3, 10)), id=3)
    err = refused(decisions.renew, EXE, BAOSHAN.code, 1, [a, b, c], RENEW_AT, date(2026, 12, 31))
    assert err.code == "seizure_queued"
    assert [(x.lot_id, x.code) for x in err.conflicts] == [(2, "seizure_queued"), (3, "seizure_ended")]


# ====================================================================================================
# §4.5 Who may renew, release, dispose and split
# ====================================================================================================

@pytest.mark.parametrize("actor, ok", [
    (BAOSHAN.code, True),          # acting
    (PUDONG.code, False),          # assisting: may dispose and split but not release or renew
    (YANGPU.code, False),
    (HIGH.code, False),            # not even a superior court
    (POLICE.code, False),
])
def test_only_the_acting_unit_renews_and_releases(actor, ok):
    lot = mklot(hold(1, EXE, 1), hold(2, EXE2, 2))
    for call, args in ((decisions.renew, (EXE, actor, 1, [lot], RENEW_AT, date(2028, 12, 31))),
                       (decisions.release, (EXE, actor, 1, [lot], RENEW_AT))):
        if ok:
            call(*args)
        else:
            err = refused(call, *args)
            assert err.code == "forbidden" and err.conflicts == []
            assert BAOSHAN.code in err.detail


@pytest.mark.parametrize("actor, ok", [
    (BAOSHAN.code, True), (PUDONG.code, True), (YANGPU.code, False), (HIGH.code, False)])
def test_acting_and_assisting_units_dispose(actor, ok):
    lot = mklot(hold(1, EXE, 1), hold(2, EXE2, 2))
    if ok:
        assert decisions.dispose(EXE, actor, [lot], R, False).executed == [(1, 1)]
    else:
        assert refused(decisions.dispose, EXE, actor, [lot], R, False).code == "forbidden"


@pytest.mark.parametrize("actor, ok", [
    (BAOSHAN.code, True), (PUDONG.code, True),     # acting and assisting units of the effective holder
    (YANGPU.code, False),                          # acting unit of a queued case
    (HIGH.code, False), (POLICE.code, False)])
def test_acting_and_assisting_units_of_the_holder_split(actor, ok):
    lot = mklot(hold(1, EXE, 1), hold(2, EXE2, 2))
    weights = [Decimal("4.0000"), Decimal("6.0000")]
    if ok:
        q = decisions.split(lot, actor, weights, R)
        assert [(v.hold.seizure_id, v.rank) for v in q.live] == [(1, 1), (2, 2)]
    else:
        err = refused(decisions.split, lot, actor, weights, R)
        assert err.code == "forbidden"


# ====================================================================================================
# §4.6 Disposal right
# ====================================================================================================

def _held():
    """EXE's seizure 11 effective; EXE2's 12 and PRES's 13 queued."""
    return mklot(hold(11, EXE, 1), hold(12, EXE2, 2, T0 + timedelta(hours=1)),
                 hold(13, PRES, 3, T0 + timedelta(hours=2)), weight="2.0312")


def test_only_the_effective_holder_may_dispose():
    lot = _held()
    assert decisions.disposal_conflicts(EXE, lot, R, False) == []
    assert decisions.disposal_conflicts(EXE2, lot, R, False) == [
        Conflict(1, "CARD-0001", "not_effective_holder", EXE.id, EXE.number, BAOSHAN.code,
                 f"the case queues at rank 2; case {EXE.number} may dispose of it",
                 queue_at(lot, R).effective.term_end)]
    err = refused(decisions.dispose, EXE2, YANGPU.code, [lot], R, False)
    assert err.code == "not_effective_holder"
    assert [(c.holder_case_id, c.holder_case_number, c.holder_unit) for c in err.conflicts] == [
        (EXE.id, EXE.number, BAOSHAN.code)]


@pytest.mark.parametrize("holds, code", [
    ((hold(11, EXE, 1), hold(12, EXE2, 2, T0 + timedelta(hours=1))), "not_effective_holder"),   # queued
    ((hold(11, EXE, 1),), "not_seized_by_case"),                                               # not in the queue
    ((hold(11, EXE, 1), end(hold(12, EXE2, 2, T0 + timedelta(hours=1)), T0 + timedelta(days=1))),
     "not_seized_by_case"),                                                                     # its own released
])
def test_a_case_queued_behind_the_holder_is_told_apart_from_one_with_no_seizure(holds, code):
    lot = mklot(*holds)
    (c,) = decisions.disposal_conflicts(EXE2, lot, R, False)
    assert (c.code, c.holder_case_id, c.holder_unit) == (code, EXE.id, BAOSHAN.code)
    assert c.term_end == queue_at(lot, R).effective.term_end is not None  # the holder's term, for a clerk to act on


def test_a_criminal_civil_conflict_names_the_other_case_and_its_term():
    lot = _mixed(EXE, CRIM)
    (c,) = decisions.disposal_conflicts(EXE, lot, R, False)
    assert (c.code, c.holder_case_id, c.term_end) == ("criminal_civil_conflict", CRIM.id, None)  # queued: no term
    lot = _mixed(CRIM, EXE)
    codes = [(c.code, c.holder_case_id, c.term_end) for c in decisions.disposal_conflicts(EXE, lot, R, False)]
    assert codes == [("not_effective_holder", CRIM.id, queue_at(lot, R).effective.term_end),
                     ("criminal_civil_conflict", CRIM.id, queue_at(lot, R).effective.term_end)]


def test_an_unknown_card_number_refuses_the_whole_disposal_named_first():
    unknown = Conflict(None, "AL-9", "unknown_card_no", detail="no lot AL-9", suggestions=((1, "AL-1"),))
    lot = _held()
    err = refused(decisions.dispose, EXE, BAOSHAN.code, [lot], R, False, [unknown])
    assert err.code == "unknown_card_no" and err.conflicts == [unknown]
    err = refused(decisions.dispose, EXE2, YANGPU.code, [lot], R, False, [unknown])
    assert [c.code for c in err.conflicts] == ["unknown_card_no", "not_effective_holder"]
    assert decisions.dispose(EXE, BAOSHAN.code, [lot], R, False, []).executed == [(1, 11)]


def test_the_holder_unit_named_is_the_current_acting_unit():
    moved = replace(EXE, acting_unit=INTER.code)  # elevated
    lot = replace(_held(), cases={**CASES, EXE.id: moved})
    (c,) = decisions.disposal_conflicts(EXE2, lot, R, False)
    assert (c.code, c.holder_case_id, c.holder_unit) == ("not_effective_holder", EXE.id, INTER.code)


def test_dispose_executes_the_holder_and_voids_every_queued_one():
    lot = _held()
    other = mklot(hold(4, EXE, 1, lot=2), hold(5, CRIM, 2, lot=2), id=2, weight="3.5000")
    plan = decisions.dispose(EXE, BAOSHAN.code, [lot, other], R, override=True)
    assert plan.executed == [(1, 11), (2, 4)]
    assert plan.voided == [(1, 12), (1, 13), (2, 5)]
    assert plan.total_weight_t == Decimal("5.5312")
    assert str(plan.total_weight_t) == "5.5312"
    # applying it as the service does ends every seizure on the lot
    ended = (end(lot.holds[0], R, "executed"), end(lot.holds[1], R, "voided"), end(lot.holds[2], R, "voided"))
    done = replace(lot, disposed_at=R, holds=ended)
    q = queue_at(done, R)
    assert q.live == ()
    assert [(v.hold.seizure_id, v.status) for v in q.ended] == [
        (11, "executed"), (12, "voided"), (13, "voided")]
    assert lot_status(done, q, R) == "disposed"
    assert lot_status(done, queue_at(done, R - US), R - US) == "seized"


def test_disposal_transfer_lets_the_other_case_dispose():
    lot = replace(_held(), disposal_transfers=((11, EXE5.id),))  # (from the effective seizure, to a case)
    q = queue_at(lot, R)
    assert disposer_case_id(lot, q) == EXE5.id
    assert [v.hold.seizure_id for v in q.live] == [11, 12, 13]  # ranks unchanged
    assert decisions.disposal_conflicts(EXE5, lot, R, False) == []
    (c,) = decisions.disposal_conflicts(EXE, lot, R, False)
    assert (c.code, c.holder_case_id, c.holder_case_number, c.holder_unit) == (
        "not_effective_holder", EXE5.id, EXE5.number, PUDONG.code)
    plan = decisions.dispose(EXE5, PUDONG.code, [lot], R, False)
    assert plan.executed == [(1, 11)] and plan.voided == [(1, 12), (1, 13)]


def test_the_latest_transfer_of_the_holder_wins():
    lot = replace(_held(), disposal_transfers=((11, EXE5.id), (12, PRES.id), (11, EXE2.id)))
    assert disposer_case_id(lot, queue_at(lot, R)) == EXE2.id
    # a transfer naming another seizure (even one of the holder's case) does not count
    lot = replace(_held(), disposal_transfers=((12, EXE5.id), (1, EXE5.id)))
    assert disposer_case_id(lot, queue_at(lot, R)) == EXE.id


def test_a_transfer_from_a_case_no_longer_holding_lapses():
    lot = replace(_held(), disposal_transfers=((11, EXE5.id),))
    released = replace(lot, holds=(end(lot.holds[0], R),) + lot.holds[1:])
    q = queue_at(released, R)
    assert disposer_case_id(released, q) == EXE2.id
    assert decisions.disposal_conflicts(EXE2, released, R, False) == []
    (c,) = decisions.disposal_conflicts(EXE5, released, R, False)  # the transfer held no seizure of its own
    assert (c.code, c.holder_case_id) == ("not_seized_by_case", EXE2.id)
    assert decisions.disposal_conflicts(EXE, released, R, False)[0].holder_case_id == EXE2.id
    # ... and lapses as well by expiry, as of any later instant
    expiring = replace(lot, holds=(replace(lot.holds[0], term_days=30),) + lot.holds[1:])
    assert disposer_case_id(expiring, queue_at(expiring, utc(2026, 3, 31, 15))) == EXE5.id
    assert disposer_case_id(expiring, queue_at(expiring, utc(2026, 3, 31, 16))) == EXE2.id


def test_a_lapsed_transfer_does_not_revive_with_a_new_seizure():
    first = hold(21, EXE, 1, days=30)                                  # expires 24:00 31 March
    lot = mklot(first, hold(22, EXE2, 2, T0 + timedelta(hours=1), days=10),
                hold(23, EXE, 3, utc(2026, 4, 5), days=100),            # EXE seizes again, at the end
                disposal_transfers=((21, EXE5.id),))                    # made while seizure 21 was effective
    assert disposer_case_id(lot, queue_at(lot, utc(2026, 3, 31, 15))) == EXE5.id
    assert disposer_case_id(lot, queue_at(lot, utc(2026, 4, 5))) == EXE2.id
    later = utc(2026, 4, 20)                              # 22 expired 24:00 10 April; 23 effective
    q = queue_at(lot, later)
    assert q.effective.hold.seizure_id == 23
    assert disposer_case_id(lot, q) == EXE.id
    assert decisions.disposal_conflicts(EXE, lot, later, False) == []
    assert decisions.disposal_conflicts(EXE5, lot, later, False)[0].code == "not_seized_by_case"


def test_transfer_disposal_decision():
    lot = _held()
    # returns (from case, from seizure)
    assert decisions.transfer_disposal(lot, BAOSHAN.code, EXE5, R) == (EXE.id, 11)
    promoted = replace(lot, holds=(end(lot.holds[0], R),) + lot.holds[1:])
    assert decisions.transfer_disposal(promoted, YANGPU.code, EXE5, R) == (EXE2.id, 12)
    for actor in (PUDONG.code, YANGPU.code, HIGH.code):  # assisting or queued units may not
        assert refused(decisions.transfer_disposal, lot, actor, EXE5, R).code == "forbidden"
    err = refused(decisions.transfer_disposal, lot, BAOSHAN.code, EXE, R)
    assert err.code == "validation_error" and "to_case_id" in err.errors
    err = refused(decisions.transfer_disposal, mklot(), BAOSHAN.code, EXE5, R)
    assert err.code == "not_seized" and err.conflicts[0].lot_id == 1
    err = refused(decisions.transfer_disposal, replace(lot, disposed_at=T0), BAOSHAN.code, EXE5, R)
    assert err.code == "lot_disposed"
    err = refused(decisions.transfer_disposal, replace(lot, split_at=T0), BAOSHAN.code, EXE5, R)
    assert err.code == "lot_split"


def test_a_preservation_case_cannot_dispose():
    lot = mklot(hold(3, PRES, 1))
    err = refused(decisions.dispose, PRES, BAOSHAN.code, [lot], R, False)
    assert err.code == "case_not_executable"
    converted = replace(PRES, kind="execution")
    lot = replace(lot, cases={**CASES, PRES.id: converted})
    assert decisions.dispose(converted, BAOSHAN.code, [lot], R, False).executed == [(1, 3)]


@pytest.mark.parametrize("lot, code", [
    (mklot(), "not_seized"),
    (mklot(end(hold(1, EXE, 1), T0 + timedelta(days=1))), "not_seized"),
    (mklot(hold(1, EXE, 1, days=30)), "not_seized"),                     # expired on 31 March
    (mklot(hold(1, EXE, 1), disposed_at=T0 + timedelta(days=1)), "lot_disposed"),
    (mklot(hold(1, EXE, 1), split_at=T0 + timedelta(days=1)), "lot_split"),
])
def test_disposal_of_a_lot_not_held(lot, code):
    assert [(c.lot_id, c.code) for c in decisions.disposal_conflicts(EXE, lot, R, False)] == [(1, code)]
    err = refused(decisions.dispose, EXE, BAOSHAN.code, [lot], R, False)
    assert err.code == code


def test_disposal_is_all_or_nothing_and_names_every_blocking_lot():
    mine = mklot(hold(1, EXE, 1), id=1)
    theirs = mklot(hold(2, EXE2, 1, lot=2), hold(1, EXE, 2, lot=2), id=2)
    free = mklot(id=3)
    also_mine = mklot(hold(1, EXE, 1, lot=4), id=4)
    err = refused(decisions.dispose, EXE, BAOSHAN.code, [mine, theirs, free, also_mine], R, False)
    assert err.code == err.conflicts[0].code
    assert [(c.lot_id, c.code, c.holder_case_id, c.holder_unit) for c in err.conflicts] == [
        (2, "not_effective_holder", EXE2.id, YANGPU.code), (3, "not_seized", None, None)]


# ====================================================================================================
# §4.7 Flag, don't decide
# ====================================================================================================

def _mixed(first=EXE, second=CRIM):
    return mklot(hold(1, first, 1), hold(2, second, 2))


@pytest.mark.parametrize("lot, now, flags", [
    (_mixed(), R, ["criminal_civil"]),
    (_mixed(CRIM, EXE), R, ["criminal_civil"]),
    (mklot(hold(1, EXE, 1), hold(2, EXE2, 2), hold(3, PRES, 3)), R, []),
    (mklot(hold(1, EXE, 1), end(hold(2, CRIM, 2), T0 + timedelta(days=1))), R, []),
    (mklot(hold(1, CRIM, 1, days=30), hold(2, EXE, 2)), R, []),   # the criminal one expired 31 March
    (mklot(hold(1, CRIM, 1, days=30), hold(2, EXE, 2)), utc(2026, 3, 20), ["criminal_civil", "expiring"]),
    (mklot(), R, []),
    (mklot(pending_objection_units=(YANGPU.code,)), R, ["objection"]),
])
def test_flags(lot, now, flags):
    assert lot_flags(lot, queue_at(lot, now), now) == flags


def test_criminal_civil_disposal_needs_an_override():
    lot = _mixed()
    err = refused(decisions.dispose, EXE, BAOSHAN.code, [lot], R, False)
    assert err.code == "criminal_civil_conflict"
    assert [(c.lot_id, c.code, c.holder_case_id, c.holder_case_number, c.holder_unit)
            for c in err.conflicts] == [
        (1, "criminal_civil_conflict", CRIM.id, CRIM.number, POLICE.code)]
    plan = decisions.dispose(EXE, BAOSHAN.code, [lot], R, True)
    assert plan.executed == [(1, 1)] and plan.voided == [(1, 2)]


def test_criminal_civil_conflict_names_the_civil_side_for_a_criminal_holder():
    taken = replace(CRIM, acting_unit=BAOSHAN.code)   # taken over by a court
    lot = replace(_mixed(CRIM, EXE2), cases={**CASES, CRIM.id: taken})
    (c,) = decisions.disposal_conflicts(taken, lot, R, False)
    assert (c.code, c.holder_case_id, c.holder_unit) == ("criminal_civil_conflict", EXE2.id, YANGPU.code)
    assert decisions.disposal_conflicts(taken, lot, R, True) == []


def test_a_pending_objection_blocks_disposal_even_with_override():
    lot = mklot(hold(1, EXE, 1), pending_objection_units=(YANGPU.code,))
    for override in (False, True):
        err = refused(decisions.dispose, EXE, BAOSHAN.code, [lot], R, override)
        assert err.code == "objection_pending"
        assert [(c.lot_id, c.code, c.holder_unit) for c in err.conflicts] == [
            (1, "objection_pending", YANGPU.code)]
    assert decisions.dispose(EXE, BAOSHAN.code, [replace(lot, pending_objection_units=())], R, False).executed


def test_every_reason_on_one_lot_is_listed():
    lot = replace(_mixed(EXE2, CRIM), pending_objection_units=(HIGH.code,))
    codes = [c.code for c in decisions.disposal_conflicts(EXE, lot, R, False)]
    assert codes == ["not_seized_by_case", "objection_pending", "criminal_civil_conflict"]


# ====================================================================================================
# Split
# ====================================================================================================

@pytest.mark.parametrize("weights, ok", [
    (["4.0000", "6.0000"], True),
    (["4", "6"], True),
    (["2.0312", "2.0312", "5.9376"], True),
    (["10.0000"], True),
    (["4.0000", "5.9999"], False),
    (["4.0000", "6.0001"], False),
    (["10.0001"], False),
])
def test_split_weights_must_sum_exactly(weights, ok):
    lot = mklot(hold(1, EXE, 1), hold(2, EXE2, 2))
    parts = [Decimal(w) for w in weights]
    if ok:
        q = decisions.split(lot, BAOSHAN.code, parts, R)
        assert q == queue_at(lot, R)
        assert [(v.hold.seizure_id, v.status, v.rank) for v in q.live] == [
            (1, "effective", 1), (2, "queued", 2)]
        assert q.effective.term_end == date(2028, 2, 29) and q.effective.effective_from == T0
    else:
        err = refused(decisions.split, lot, BAOSHAN.code, parts, R)
        assert err.code == "weights_do_not_sum"
        assert "parts" in err.errors


@pytest.mark.parametrize("closed, code", [("disposed_at", "lot_disposed"), ("split_at", "lot_split")])
def test_a_closed_lot_cannot_be_split(closed, code):
    lot = mklot(hold(1, EXE, 1), **{closed: T0})
    err = refused(decisions.split, lot, BAOSHAN.code, [Decimal("10")], R)
    assert err.code == code and [c.lot_id for c in err.conflicts] == [1]


def test_the_disposal_right_holder_may_split():
    lot = replace(_held(), disposal_transfers=((11, EXE5.id),))
    assert decisions.split(lot, PUDONG.code, [Decimal("2.0312")], R).effective.hold.seizure_id == 11
    assert refused(decisions.split, lot, YANGPU.code, [Decimal("2.0312")], R).code == "forbidden"


def test_split_children_carry_ranks_and_terms():
    lot = mklot(hold(1, EXE, 1, days=30), hold(2, EXE2, 2, days=10))
    now = utc(2026, 3, 20)
    q = decisions.split(lot, BAOSHAN.code, [Decimal("3"), Decimal("7")], now)
    child = mklot(*[replace(v.hold, lot_id=2,
                            term_end=v.term_end if v.status == "effective" else None,
                            effective_from=v.effective_from if v.status == "effective" else None)
                    for v in q.live], id=2, weight="3")
    assert table(child, now) == table(lot, now) == {1: ("effective", 1), 2: ("queued", 2)}
    for at in (utc(2026, 3, 31, 16) - US, utc(2026, 3, 31, 16), utc(2026, 4, 10, 16)):
        assert table(child, at) == table(lot, at)


def test_split_after_a_promotion_carries_the_promoted_start():
    lot = mklot(hold(1, EXE, 1, days=30), hold(2, EXE2, 2, days=10), hold(3, CRIM, 3, days=5))
    now = utc(2026, 4, 2)                                   # 1 expired 24:00 31 March; 2 effective since then
    q = decisions.split(lot, YANGPU.code, [Decimal("3"), Decimal("7")], now)
    assert [(v.hold.seizure_id, v.status, v.effective_from) for v in q.live] == [
        (2, "effective", utc(2026, 3, 31, 16)), (3, "queued", None)]
    child = mklot(*[replace(v.hold, lot_id=2,
                            term_end=v.term_end if v.status == "effective" else None,
                            effective_from=v.effective_from if v.status == "effective" else None)
                    for v in q.live], id=2, weight="3")
    v = view(child, 2, now)
    assert (v.status, v.rank, v.effective_from, v.term_end) == (
        "effective", 1, utc(2026, 3, 31, 16), date(2026, 4, 10))
    assert table(child, utc(2026, 4, 10, 16)) == {2: ("expired", None), 3: ("effective", 1)}
    assert view(child, 3, utc(2026, 4, 11)).term_end == date(2026, 4, 15)


# ====================================================================================================
# Case transfers, opening and conversion
# ====================================================================================================

BAOSHAN_CASE = replace(EXE, assisting_units=frozenset({PUDONG.code}))


@pytest.mark.parametrize("case, actor, mode, to_unit, acting, code", [
    # elevate 提级: by a superior court of the acting unit, to a superior court of it
    (BAOSHAN_CASE, INTER, "elevate", INTER, BAOSHAN, None),
    (BAOSHAN_CASE, HIGH, "elevate", INTER, BAOSHAN, None),
    (BAOSHAN_CASE, HIGH, "elevate", HIGH, BAOSHAN, None),
    (BAOSHAN_CASE, BAOSHAN, "elevate", INTER, BAOSHAN, "forbidden"),       # the acting unit itself
    (BAOSHAN_CASE, YANGPU, "elevate", INTER, BAOSHAN, "forbidden"),        # a sibling
    (BAOSHAN_CASE, WUXI, "elevate", WUXI, BAOSHAN, "forbidden"),           # another province
    (BAOSHAN_CASE, POLICE, "elevate", INTER, BAOSHAN, "forbidden"),
    (BAOSHAN_CASE, INTER, "elevate", YANGPU, BAOSHAN, "validation_error"),  # not an ancestor
    (BAOSHAN_CASE, HIGH, "elevate", PUDONG, BAOSHAN, "validation_error"),
    # designate 指令: by a superior court to a court under it
    (BAOSHAN_CASE, INTER, "designate", YANGPU, BAOSHAN, None),
    (BAOSHAN_CASE, HIGH, "designate", PUDONG, BAOSHAN, None),
    (BAOSHAN_CASE, HIGH, "designate", YANGPU, BAOSHAN, None),
    (BAOSHAN_CASE, INTER, "designate", PUDONG, BAOSHAN, "validation_error"),  # not under INTER
    (BAOSHAN_CASE, INTER, "designate", WUXI, BAOSHAN, "validation_error"),
    (BAOSHAN_CASE, INTER, "designate", BAOSHAN, BAOSHAN, "validation_error"),  # already acting
    (BAOSHAN_CASE, INTER, "designate", POLICE, BAOSHAN, "validation_error"),   # not a court
    (BAOSHAN_CASE, YANGPU, "designate", YANGPU, BAOSHAN, "forbidden"),
    (BAOSHAN_CASE, WUXI, "designate", YANGPU, BAOSHAN, "forbidden"),
    # assist 协同: by a superior court, adding a court under it
    (BAOSHAN_CASE, INTER, "assist", YANGPU, BAOSHAN, None),
    (BAOSHAN_CASE, HIGH, "assist", PUDONG, BAOSHAN, "validation_error"),   # already assisting
    (BAOSHAN_CASE, INTER, "assist", BAOSHAN, BAOSHAN, "validation_error"),  # already acting
    (BAOSHAN_CASE, INTER, "assist", WUXI, BAOSHAN, "validation_error"),
    (BAOSHAN_CASE, BAOSHAN, "assist", YANGPU, BAOSHAN, "refused"),        # the acting unit, a sibling court
    (BAOSHAN_CASE, AUDITOR, "assist", YANGPU, BAOSHAN, "forbidden"),
    # extension: once elevated, the acting court itself may designate or add a court under it
    (replace(BAOSHAN_CASE, acting_unit=HIGH.code), HIGH, "designate", BAOSHAN, HIGH, None),
    (replace(BAOSHAN_CASE, acting_unit=HIGH.code), HIGH, "assist", YANGPU, HIGH, None),
    (replace(BAOSHAN_CASE, acting_unit=HIGH.code), HIGH, "elevate", HIGH, HIGH, "forbidden"),
    (replace(BAOSHAN_CASE, acting_unit=HIGH.code), INTER, "designate", BAOSHAN, HIGH, "forbidden"),
    # takeover: only the police unit acting for a criminal case, to a court
    (CRIM, POLICE, "takeover", BAOSHAN, POLICE, None),
    (CRIM, POLICE, "takeover", WUXI, POLICE, None),
    (CRIM, POLICE, "takeover", POLICE2, POLICE, "validation_error"),
    (CRIM, POLICE2, "takeover", BAOSHAN, POLICE, "forbidden"),
    (CRIM, BAOSHAN, "takeover", BAOSHAN, POLICE, "forbidden"),
    (replace(CRIM, acting_unit=BAOSHAN.code), BAOSHAN, "takeover", YANGPU, BAOSHAN, "forbidden"),
    (replace(EXE, acting_unit=POLICE.code), POLICE, "takeover", BAOSHAN, POLICE, "forbidden"),  # not criminal
    # elevate, designate and assist apply only to cases a court acts for: a criminal case reaches a court
    # only by takeover, even from a court recorded above the police unit
    (CRIM, HIGH, "elevate", HIGH, replace(POLICE, ancestors=(HIGH.code,)), "case_not_at_court"),
    (CRIM, HIGH, "designate", BAOSHAN, replace(POLICE, ancestors=(HIGH.code,)), "case_not_at_court"),
    (CRIM, HIGH, "assist", BAOSHAN, replace(POLICE, ancestors=(HIGH.code,)), "case_not_at_court"),
    (CRIM, POLICE, "assist", BAOSHAN, POLICE, "case_not_at_court"),
    (replace(CRIM, acting_unit=BAOSHAN.code), INTER, "elevate", INTER, BAOSHAN, None),  # after takeover
    (replace(CRIM, acting_unit=BAOSHAN.code), INTER, "assist", YANGPU, BAOSHAN, None),
    # no case is handed to a deactivated unit; an unauthorised actor still hears 403 first
    (BAOSHAN_CASE, INTER, "designate", replace(YANGPU, active=False), BAOSHAN, "unit_inactive"),
    (BAOSHAN_CASE, INTER, "assist", replace(YANGPU, active=False), BAOSHAN, "unit_inactive"),
    (BAOSHAN_CASE, HIGH, "elevate", replace(INTER, active=False), BAOSHAN, "unit_inactive"),
    (CRIM, POLICE, "takeover", replace(BAOSHAN, active=False), POLICE, "unit_inactive"),
    (BAOSHAN_CASE, WUXI, "designate", replace(YANGPU, active=False), BAOSHAN, "forbidden"),
])
def test_transfer_case(case, actor, mode, to_unit, acting, code):
    if code is None:
        assert decisions.transfer_case(case, actor, mode, to_unit, acting) is None
    else:
        err = refused(decisions.transfer_case, case, actor, mode, to_unit, acting)
        assert err.code == code or code == "refused" and err.code in ("forbidden", "validation_error")
        if code == "validation_error":
            assert "to_unit" in err.errors


@pytest.mark.parametrize("unit, kind, ok", [
    (BAOSHAN, "preservation", True), (BAOSHAN, "execution", True), (BAOSHAN, "criminal", False),
    (POLICE, "criminal", True), (POLICE, "execution", False), (POLICE, "preservation", False),
    (AUDITOR, "execution", False), (AUDITOR, "criminal", False),
    (ADMIN, "execution", False), (ADMIN, "criminal", False),
])
def test_open_case(unit, kind, ok):
    if ok:
        assert decisions.open_case(unit, kind) is None
    else:
        assert refused(decisions.open_case, unit, kind).code == "forbidden"
    assert refused(decisions.open_case, replace(unit, active=False), kind).code == "unit_inactive"


# ====================================================================================================
# Units: codes, names, parents (SPEC §2: a unit's parent is of its own kind; never a cycle)
# ====================================================================================================

@pytest.mark.parametrize("code, name, kind, fields", [
    ("SH-BAOSHAN-COURT", "上海市宝山区人民法院", "court", ()),
    ("A", "x", "auditor", ()),
    ("0_1-2", "Ünïcode 名", "police", ()),
    ("X" * 64, "n" * 200, "admin", ()),
    ("X" * 65, "n", "court", ("code",)),
    ("sh-court", "n", "court", ("code",)),
    ("-COURT", "n", "court", ("code",)),
    ("SH COURT", "n", "court", ("code",)),
    ("SH-COURT\n", "n", "court", ("code",)),
    ("", "n", "court", ("code",)),
    ("ＳＨ", "n", "court", ("code",)),   # full-width letters are not the code's letters
    ("C", "", "court", ("name",)),
    ("C", "  ", "court", ("name",)),
    ("C", "n" * 201, "court", ("name",)),
    ("C", "a\x00b", "court", ("name",)),
    ("C", "\ud800", "court", ("name",)),
    ("C", "n", "judge", ("kind",)),
    ("bad", "", "judge", ("code", "name", "kind")),
])
def test_unit_codes_names_and_kinds(code, name, kind, fields):
    if not fields:
        assert units.check_unit(code, name, kind) is None
    else:
        err = refused(units.check_unit, code, name, kind)
        assert err.code == "validation_error" and sorted(err.errors) == sorted(fields)


@pytest.mark.parametrize("kind, parent_kind, ok", [
    ("court", None, True), ("court", "court", True), ("court", "police", False), ("court", "auditor", False),
    ("court", "admin", False), ("police", None, True), ("police", "police", True), ("police", "court", False),
    ("auditor", None, True), ("auditor", "auditor", False), ("auditor", "court", False),
    ("admin", None, True), ("admin", "admin", False),
])
def test_a_units_parent_is_of_its_own_kind(kind, parent_kind, ok):
    if ok:
        assert units.check_parent(kind, parent_kind) is None
    else:
        err = refused(units.check_parent, kind, parent_kind)
        assert err.code == "parent_kind_mismatch" and "parent" in err.errors
    assert set(units.PARENT_KINDS) == set(units.UNIT_KINDS)


@pytest.mark.parametrize("code, parent, parent_ancestors, ok", [
    (BAOSHAN.code, None, (), True),
    (BAOSHAN.code, WUXI.code, WUXI.ancestors, True),
    (BAOSHAN.code, HIGH.code, HIGH.ancestors, True),
    (BAOSHAN.code, BAOSHAN.code, BAOSHAN.ancestors, False),           # itself
    (HIGH.code, INTER.code, INTER.ancestors, False),                  # its child
    (HIGH.code, BAOSHAN.code, BAOSHAN.ancestors, False),              # its grandchild
    (INTER.code, PUDONG.code, PUDONG.ancestors, True),                # a sibling
])
def test_a_move_never_makes_a_cycle(code, parent, parent_ancestors, ok):
    if ok:
        assert units.check_move(code, parent, parent_ancestors) is None
    else:
        assert refused(units.check_move, code, parent, parent_ancestors).code == "parent_cycle"


@pytest.mark.parametrize("case, actor, code", [
    (PRES, BAOSHAN.code, None),
    (replace(PRES, assisting_units=frozenset({PUDONG.code})), PUDONG.code, "forbidden"),
    (PRES, YANGPU.code, "forbidden"),
    (PRES, HIGH.code, "forbidden"),
    (EXE, BAOSHAN.code, "case_not_preservation"),
    (CRIM, POLICE.code, "case_not_preservation"),
])
def test_convert(case, actor, code):
    if code is None:
        assert decisions.convert(case, actor) is None
    else:
        assert refused(decisions.convert, case, actor).code == code


def test_transfers_and_conversion_keep_ranks_and_terms():
    lot = mklot(hold(1, PRES, 1), hold(2, EXE2, 2))
    before = table(lot, R), view(lot, 1, R).term_end
    for changed in (replace(PRES, kind="execution", number="(2026)沪0113执999号"),
                    replace(PRES, acting_unit=INTER.code),
                    replace(PRES, assisting_units=frozenset({YANGPU.code}))):
        moved = replace(lot, cases={**CASES, PRES.id: changed})
        assert (table(moved, R), view(moved, 1, R).term_end) == before


# ====================================================================================================
# Flags: expiring; status; disposer
# ====================================================================================================

EXPIRY = utc(2026, 3, 31, 16)
EXPIRY60 = utc(2026, 4, 30, 16)  # 60 days: 2 March .. 30 April


@pytest.mark.parametrize("now, expiring", [
    (EXPIRY60 - timedelta(days=30) - US, False),
    (EXPIRY60 - timedelta(days=30), True),
    (EXPIRY60 - US, True),
    (EXPIRY60, False),   # expired: no effective seizure any more
    (T0, False),
])
def test_expiring_within_30_days_of_the_effective_term(now, expiring):
    lot = mklot(hold(1, EXE, 1, days=60))
    assert ("expiring" in lot_flags(lot, queue_at(lot, now), now)) is expiring


def test_expiring_looks_only_at_the_effective_seizure():
    lot = mklot(hold(1, EXE, 1, days=730), hold(2, EXE2, 2, days=1))
    assert lot_flags(lot, queue_at(lot, R), R) == []
    renewed = mklot(replace(hold(1, EXE, 1), term_end=date(2026, 5, 20), effective_from=T0))
    assert lot_flags(renewed, queue_at(renewed, R), R) == ["expiring"]


@pytest.mark.parametrize("lot, now, status", [
    (mklot(), R, "free"),
    (mklot(hold(1, EXE, 1)), R, "seized"),
    (mklot(hold(1, EXE, 1)), T0 - US, "free"),
    (mklot(hold(1, EXE, 1, days=30)), EXPIRY, "free"),
    (mklot(disposed_at=R), R, "disposed"),
    (mklot(hold(1, EXE, 1), disposed_at=R), R - US, "seized"),
    (mklot(hold(1, EXE, 1), split_at=R), R, "split"),
    (mklot(split_at=R), R - US, "free"),
])
def test_lot_status(lot, now, status):
    assert lot_status(lot, queue_at(lot, now), now) == status


def test_disposer_of_a_free_lot_is_none():
    lot = mklot(disposal_transfers=((1, EXE2.id),))
    assert disposer_case_id(lot, queue_at(lot, R)) is None
