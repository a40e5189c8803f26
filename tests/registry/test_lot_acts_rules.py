"""Who may touch a lot itself (SPEC §3, §4.7): split it, file or lift an objection on it, correct it — tables
over the pure rules (registry/rules), on a fixed clock."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from registry.rules import decisions, lot_acts
from registry.rules.errors import DomainError
from registry.rules.values import CaseFacts, HoldFacts, LotFacts

T0 = datetime(2026, 3, 2, 1, tzinfo=timezone.utc)
NOW = T0 + timedelta(days=10)
HIGH, BAOSHAN, YANGPU, PUDONG, WUXI = "SH-HIGH-COURT", "SH-BAOSHAN-COURT", "SH-YANGPU-COURT", "SH-PUDONG-COURT", \
    "JS-WUXI-COURT"
POLICE = "SH-POLICE-ECON"
# Baoshan's case, Pudong assisting, holds the effective seizure; Yangpu's queues behind it.
EXE = CaseFacts(1, "(2026)沪0113执100号", "execution", BAOSHAN, BAOSHAN, frozenset({PUDONG}))
QUEUED = CaseFacts(2, "(2026)沪0110执200号", "execution", YANGPU, YANGPU)
CRIM = CaseFacts(3, "沪公经立字〔2026〕300号", "criminal", POLICE, POLICE)
CASES = {c.id: c for c in (EXE, QUEUED, CRIM)}
PARENTS = {BAOSHAN: HIGH, YANGPU: "SH-NO2-INTER-COURT", PUDONG: HIGH, POLICE: None}


def lot(*cases: CaseFacts, registered_by: str = BAOSHAN, **kw) -> LotFacts:
    """A lot of 10 t with one live seizure per case given, in that order, registered by `registered_by`."""
    holds = tuple(HoldFacts(10 + i, 1, c.id, i + 1, T0 + timedelta(hours=i), None) for i, c in enumerate(cases))
    return LotFacts(1, "AL-0001", "上海铁路宝山站货场", Decimal("10.0000"), "movable", holds=holds, cases=CASES,
                    registered_by=registered_by, **kw)


def refused(call, *args) -> DomainError:
    with pytest.raises(DomainError) as info:
        call(*args)
    return info.value


WEIGHTS = [Decimal("4.0000"), Decimal("6.0000")]


# -- split --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("actor, admin, ok", [
    (BAOSHAN, False, True),    # registered it
    ("OPERATOR", True, True),  # an admin
    (YANGPU, False, False),    # any other court
    (POLICE, False, False),
])
def test_a_free_lot_is_split_by_its_registering_unit_or_an_admin(actor, admin, ok):
    free = lot()
    if ok:
        assert decisions.split(free, actor, WEIGHTS, NOW, admin).live == ()
    else:
        err = refused(decisions.split, free, actor, WEIGHTS, NOW, admin)
        assert err.code == "forbidden" and BAOSHAN in err.detail and "admin" in err.detail


@pytest.mark.parametrize("actor, admin, ok", [
    (YANGPU, False, True),     # acting for the effective holder, though Baoshan registered the lot
    (PUDONG, False, False),    # assisting another case
    (BAOSHAN, False, False),   # registered it, but a seizure of another unit's case holds it
    ("OPERATOR", True, False),  # an admin neither: the holder decides how its goods are divided
])
def test_a_seized_lot_is_split_by_the_holders_units_only(actor, admin, ok):
    held = lot(QUEUED, EXE)
    if ok:
        assert [v.hold.case_id for v in decisions.split(held, actor, WEIGHTS, NOW, admin).live] == [2, 1]
    else:
        err = refused(decisions.split, held, actor, WEIGHTS, NOW, admin)
        assert err.code == "forbidden" and f"{YANGPU} (acting)" in err.detail and QUEUED.number in err.detail


def test_a_refused_split_names_the_assisting_units_too():
    err = refused(decisions.split, lot(EXE), YANGPU, WEIGHTS, NOW, False)
    assert f"{BAOSHAN} (acting) or {PUDONG} (assisting)" in err.detail


# -- objections ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("actor, ok", [
    (BAOSHAN, True),              # acting for the effective holder
    (YANGPU, True),               # acting for a case queued on the lot
    (HIGH, True),                 # superior court of the effective holder's acting unit
    ("SH-NO2-INTER-COURT", False),  # superior of a queued case's unit only
    (PUDONG, False),              # assisting the holder: not a court the holder's case is with
    (WUXI, False),                # no part in the lot
])
def test_an_objection_is_filed_by_a_court_holding_a_live_seizure_or_the_holders_superior(actor, ok):
    held = lot(EXE, QUEUED)
    if ok:
        assert lot_acts.file_objection(held, actor, PARENTS, NOW) is None
    else:
        err = refused(lot_acts.file_objection, held, actor, PARENTS, NOW)
        assert err.code == "forbidden" and err.conflicts == []
        assert all(unit in err.detail for unit in (BAOSHAN, YANGPU, HIGH)), err.detail


def test_no_objection_on_a_lot_no_case_holds():
    for actor in (BAOSHAN, HIGH):
        err = refused(lot_acts.file_objection, lot(), actor, PARENTS, NOW)
        assert err.code == "forbidden" and "no case holds a live seizure" in err.detail


def test_an_ended_seizure_gives_no_right_to_object():
    held = lot(QUEUED, EXE)
    released = replace(held, holds=(replace(held.holds[0], ended_at=T0 + timedelta(days=1), end_status="released"),
                                    held.holds[1]))
    assert lot_acts.file_objection(released, BAOSHAN, PARENTS, NOW) is None  # now the effective holder
    assert lot_acts.file_objection(released, HIGH, PARENTS, NOW) is None
    assert refused(lot_acts.file_objection, released, YANGPU, PARENTS, NOW).code == "forbidden"


@pytest.mark.parametrize("actor, ok", [(BAOSHAN, True), (HIGH, True), ("SUPREME", False), (YANGPU, False)])
def test_an_objection_is_lifted_by_the_court_that_filed_it_or_its_superior(actor, ok):
    if ok:
        assert lot_acts.lift_objection(BAOSHAN, HIGH, actor) is None
    else:
        err = refused(lot_acts.lift_objection, BAOSHAN, HIGH, actor)
        assert err.code == "forbidden" and BAOSHAN in err.detail and HIGH in err.detail


def test_an_objection_filed_by_a_court_without_a_superior_is_lifted_by_it_alone():
    assert lot_acts.lift_objection(WUXI, None, WUXI) is None
    err = refused(lot_acts.lift_objection, WUXI, None, HIGH)
    assert err.detail == f"only {WUXI}, which filed it, may lift this objection"


# -- corrections --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("actor, admin, ok", [
    (BAOSHAN, False, True), ("OPERATOR", True, True), (YANGPU, False, False), (HIGH, False, False)])
def test_a_lot_is_corrected_by_its_registering_unit_or_an_admin(actor, admin, ok):
    for held in (lot(), lot(QUEUED)):
        if ok:
            assert lot_acts.correct(held, actor, admin, {"card_no", "owner"}, NOW) is None
        else:
            err = refused(lot_acts.correct, held, actor, admin, {"card_no"}, NOW)
            assert err.code == "forbidden" and BAOSHAN in err.detail and "admin" in err.detail


@pytest.mark.parametrize("holders, actor, admin, ok", [
    ((), BAOSHAN, False, True),            # free
    ((EXE,), BAOSHAN, False, True),        # seized only for cases the registering unit acts for
    ((QUEUED,), BAOSHAN, False, False),    # another unit's case holds a live seizure
    ((EXE, QUEUED), BAOSHAN, False, False),  # queued behind its own, all the same
    ((EXE, QUEUED), "OPERATOR", True, True),
])
def test_a_weight_correction_on_a_lot_another_units_case_holds_needs_an_admin(holders, actor, admin, ok):
    held = lot(*holders)
    if ok:
        assert lot_acts.correct(held, actor, admin, {"weight_t"}, NOW) is None
    else:
        err = refused(lot_acts.correct, held, actor, admin, {"weight_t", "location"}, NOW)
        assert err.code == "forbidden" and "admin" in err.detail and QUEUED.number in err.detail
        assert EXE.number not in err.detail  # its own case is no reason
        assert lot_acts.correct(held, actor, admin, {"location", "card_no"}, NOW) is None  # the rest is its own


@pytest.mark.parametrize("closed, code", [("disposed_at", "lot_disposed"), ("split_at", "lot_split")])
def test_a_closed_lot_is_not_corrected(closed, code):
    err = refused(lot_acts.correct, lot(**{closed: T0 + timedelta(days=1)}), BAOSHAN, False, {"card_no"}, NOW)
    assert err.code == code and [c.lot_id for c in err.conflicts] == [1]
    assert refused(lot_acts.correct, lot(**{closed: T0 + timedelta(days=1)}), YANGPU, False, {"card_no"},
                   NOW).code == "forbidden"  # who may comes first


def test_a_correction_that_changes_nothing_is_refused():
    assert refused(lot_acts.correct, lot(), BAOSHAN, False, set(), NOW).code == "lot_unchanged"
    assert refused(lot_acts.correct, lot(), YANGPU, False, set(), NOW).code == "forbidden"
